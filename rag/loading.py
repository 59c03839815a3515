"""Loading: find corpus files and turn each into a :class:`Document`.

A document's ``text`` is what citations point into. For ``.txt`` it is the
file decoded as UTF-8 exactly as ``Path.read_text(encoding="utf-8")`` returns
it, so ``Path(f).read_text(encoding="utf-8")[c.start:c.end] == c.quote``. For
``.md``, ``.html`` and ``.pdf`` it is the rendered text (see
:func:`document_text` and :mod:`rag.loaders`); ``Document.blocks`` describe its
structure (headings, paragraphs, list items, table rows...).

>>> from pathlib import Path
>>> docs, skipped = load_corpus(Path("seeds"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from .loaders import Parsed, parse_pdf, parse_text
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
            parsed = parse_file(path)
        except (OSError, ValueError) as exc:
            skipped.append(Skipped(rel, str(exc)))
            continue
        text = parsed.text
        if not text.strip():
            skipped.append(Skipped(rel, "empty (no text)"))
            continue
        docs.append(Document(rel, text, hashlib.sha256(text.encode("utf-8")).hexdigest(), parsed.blocks))
    for s in skipped:
        log.warning("skipped %s: %s", s.source, s.reason)
    return docs, skipped


def document_text(path: Path) -> str:
    """The text of one file, as citations index into it. Raises ValueError
    with a short reason for binary, undecodable, oversized or broken files.

    ``.txt``: the file as ``Path.read_text(encoding="utf-8")`` returns it.
    ``.md``, ``.html``, ``.pdf``: the rendered text (see :mod:`rag.loaders`).
    """
    return parse_file(path).text


def parse_file(path: Path) -> Parsed:
    """Text and structure (blocks) of one file; ValueError as for :func:`document_text`."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"too large ({size} bytes > {MAX_FILE_BYTES})")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return parse_pdf(path)
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    # read_text applies universal newlines; that is the text users and checkers see.
    return parse_text(path.read_text(encoding="utf-8"), suffix)


def html_visible_text(html: str) -> str:
    """Visible text of an HTML page, blocks separated by a blank line.

    >>> html_visible_text("<p>Hi <b>there</b></p><script>x()</script>")
    'Hi there'
    """
    return parse_text(html, ".html").text
