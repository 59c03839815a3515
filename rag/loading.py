"""Loading: find corpus files and turn each into a :class:`Document`.

A document's ``text`` is what citations point into. For ``.txt``/``.md`` it is
the file decoded as UTF-8 exactly as ``Path.read_text(encoding="utf-8")``
returns it, so ``Path(f).read_text(encoding="utf-8")[c.start:c.end] == c.quote``.
For ``.html`` it is the visible text, for ``.pdf`` the extracted text
(see :func:`document_text`).

>>> from pathlib import Path
>>> docs, skipped = load_corpus(Path("seeds"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
from html.parser import HTMLParser
from pathlib import Path

from .types import Document, Skipped

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_FILE_BYTES = 50 * 1024 * 1024


class CorpusError(ValueError):
    """The corpus folder is missing or holds nothing to index."""


def load_corpus(corpus_dir: Path) -> tuple[list[Document], list[Skipped]]:
    """Load every supported file under ``corpus_dir`` (recursively).

    Bad files are skipped and reported by name; one bad file never aborts the run.
    Raises :class:`CorpusError` naming the path when the folder is missing.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(f"corpus folder not found: {root} (set RAG_CORPUS_DIR)")
    docs: list[Document] = []
    skipped: list[Skipped] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue  # hidden files and folders (.git, .DS_Store) are not content
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append(Skipped(rel, f"unsupported file type {path.suffix or '(none)'}"))
            continue
        try:
            text = document_text(path)
        except (OSError, ValueError) as exc:
            skipped.append(Skipped(rel, str(exc)))
            continue
        if not text.strip():
            skipped.append(Skipped(rel, "empty (no text)"))
            continue
        docs.append(Document(rel, text, hashlib.sha256(text.encode("utf-8")).hexdigest()))
    for s in skipped:
        log.warning("skipped %s: %s", s.source, s.reason)
    return docs, skipped


def document_text(path: Path) -> str:
    """The text of one file, as citations index into it. Raises ValueError
    with a short reason for binary, undecodable, oversized or broken files."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"too large ({size} bytes > {MAX_FILE_BYTES})")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _pdf_text(path)
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    # read_text applies universal newlines; that is the text users and checkers see.
    text = path.read_text(encoding="utf-8")
    if suffix in (".html", ".htm"):
        return html_visible_text(text)
    return text


class _VisibleText(HTMLParser):
    _HIDDEN = {"script", "style", "head", "title", "noscript", "template", "svg"}
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
              "section", "article", "header", "footer", "blockquote", "pre", "table", "ul", "ol"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def html_visible_text(html: str) -> str:
    """Visible text of an HTML page: no scripts, styles or head; blocks are
    separated by one blank line (so the splitter sees paragraphs).

    >>> html_visible_text("<p>Hi <b>there</b></p><script>x()</script>")
    'Hi there'
    """
    p = _VisibleText()
    p.feed(html)
    p.close()
    lines = [" ".join(line.split()) for line in "".join(p.parts).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _pdf_text(path: Path) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:  # pragma: no cover - pypdf is a core dependency
        raise ValueError("PDF support needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise ValueError("encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except PyPdfError as exc:
        raise ValueError(f"unreadable PDF ({exc})") from None
    except Exception as exc:  # pypdf raises assorted errors on broken files
        raise ValueError(f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    return "\n\n".join(p for p in pages if p)
