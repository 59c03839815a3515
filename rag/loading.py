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
import io
import logging
import os
import stat
from pathlib import Path

from .loaders import Parsed, parse_pdf, parse_text
from .loaders.budget import Budget, read_within_budget
from .safety import printable
from .types import Document, Skipped

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_FILE_BYTES = Budget.max_bytes


class CorpusError(ValueError):
    """The corpus folder is missing or holds nothing to index."""


def load_corpus(corpus_dir: Path, budget: Budget | None = None) -> tuple[list[Document], list[Skipped]]:
    """Load every supported file under ``corpus_dir`` (recursively), each under
    ``budget`` (:mod:`rag.loaders.budget`).

    Bad files are skipped and reported by name; one bad file never aborts the run.
    The corpus folder is a boundary: a symbolic link that leads outside it is
    skipped and named, never read. Raises :class:`CorpusError` naming the path
    when the folder is missing.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(f"corpus folder not found: {printable(str(root))} (set RAG_CORPUS_DIR)")
    files, skipped = corpus_files(root)
    docs: list[Document] = []
    for rel in files:
        loaded = load_document(root, rel, budget)
        (docs if isinstance(loaded, Document) else skipped).append(loaded)
    skipped.sort(key=lambda s: s.source)
    for s in skipped:
        log.warning("skipped %s: %s", printable(s.source), s.reason)
    return docs, skipped


def corpus_files(root: Path, stats: dict | None = None) -> tuple[list[str], list[Skipped]]:
    """The files :func:`load_corpus` reads (sorted relative POSIX paths), found
    without reading any, and what it skips by name alone (unsupported types).
    ``stats``, when given, receives each file's ``stat()`` result (taken while walking)."""
    files, skipped = walk_corpus(Path(root), stats)
    supported = []
    for rel in files:
        suffix = os.path.splitext(rel)[1]
        if suffix.lower() in SUPPORTED_SUFFIXES:
            supported.append(rel)
        else:
            skipped.append(Skipped(rel, f"unsupported file type {printable(suffix) or '(none)'}"))
    return supported, skipped


def load_document(root: Path, rel: str, budget: Budget | None = None) -> Document | Skipped:
    """One file (``rel`` under ``root``) as a Document, or Skipped with the reason
    (which names no path: it is shown in summaries and the UI)."""
    try:
        parsed = parse_file(Path(root) / rel, root=Path(root), budget=budget)
    except OSError as exc:  # e.g. the file vanished after the folder was walked
        return Skipped(rel, printable(f"cannot read it ({exc.strerror or type(exc).__name__})"))
    except ValueError as exc:
        return Skipped(rel, printable(str(exc)))
    text = parsed.text
    if "\x00" in text:
        # parse_file looks at the first 8 KB only; a NUL anywhere means binary.
        return Skipped(rel, "binary file (contains NUL bytes)")
    if not text.strip():
        return Skipped(rel, "empty (no text)")
    return Document(rel, text, hashlib.sha256(text.encode("utf-8")).hexdigest(), parsed.blocks)


def walk_corpus(root: Path, stats: dict | None = None) -> tuple[list[str], list[Skipped]]:
    """(regular files under ``root`` as sorted relative POSIX paths, skipped entries).

    Iterative (any depth; no recursion limit), hidden entries ignored, each real
    folder visited once (link loops end), and every symbolic link resolved: one
    that leaves ``root`` is skipped. FIFOs, sockets and devices are skipped
    (reading a FIFO would block forever), as are names that are not valid UTF-8.

    >>> walk_corpus(Path("seeds"))[0][:1]  # doctest: +SKIP
    ['000_6cae30295beecc41.txt']
    """
    real_root = os.path.realpath(root)
    files: list[str] = []
    skipped: list[Skipped] = []
    seen_dirs = {real_root}
    stack: list[tuple[str, str]] = [(str(root), "")]  # (path on disk, path relative to root)
    while stack:
        folder, rel_folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            skipped.append(Skipped(rel_folder or ".", f"cannot read folder ({exc.strerror or exc})"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # hidden files and folders (.git, .DS_Store) are not content
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                skipped.append(Skipped(rel, "file name is not valid UTF-8 (rename it)"))
                continue
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not _inside(target, real_root):
                        skipped.append(Skipped(rel, "symbolic link leads outside the corpus folder"))
                        continue
                    st = os.stat(target)
                else:
                    target, st = entry.path, entry.stat(follow_symlinks=False)
            except OSError:
                skipped.append(Skipped(rel, "broken symbolic link or unreadable entry"))
                continue
            if stat.S_ISDIR(st.st_mode):
                real = os.path.realpath(target)
                if real not in seen_dirs:
                    seen_dirs.add(real)
                    stack.append((entry.path, rel))
            elif stat.S_ISREG(st.st_mode):
                files.append(rel)
                if stats is not None:
                    stats[rel] = st
            else:
                skipped.append(Skipped(rel, "not a regular file (FIFO, socket or device)"))
    files.sort()
    return files, skipped


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def document_text(path: Path, *, root: Path | None = None, budget: Budget | None = None) -> str:
    """The text of one file, as citations index into it. Raises ValueError
    with a short reason for binary, undecodable, oversized or broken files,
    and for files over their ``budget``; with ``root``, for a file that is not
    inside that folder when it is opened.

    ``.txt``: the file as ``Path.read_text(encoding="utf-8")`` returns it.
    ``.md``, ``.html``, ``.pdf``: the rendered text (see :mod:`rag.loaders`).
    """
    return parse_file(path, root=root, budget=budget).text


def parse_file(path: Path, *, root: Path | None = None, budget: Budget | None = None) -> Parsed:
    """Text and structure (blocks) of one file, parsed in a worker process under
    ``budget`` (:mod:`rag.loaders.budget`: time, memory and size limits);
    ValueError as for :func:`document_text`."""
    return read_within_budget(Path(path), root, budget or Budget())


def parse_bytes(name: str, data: bytes) -> Parsed:
    """Text and structure of a file's bytes, by the suffix of ``name``: the
    loaders' dispatch. It runs in the budget's worker process, on bytes the
    worker read once (a loader never opens a path itself); a new format is
    added here and is read under the budget like every other.

    >>> parse_bytes("a.md", b"# Hi\\r\\n\\nThere.").text
    'Hi\\n\\nThere.'
    """
    suffix = os.path.splitext(name)[1].lower()
    if suffix == ".pdf":
        return parse_pdf(io.BytesIO(data))
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    # Universal newlines, as Path.read_text applies them: the text users and checkers see.
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=None).read()
    return parse_text(text, suffix)


def html_visible_text(html: str) -> str:
    """Visible text of an HTML page, blocks separated by a blank line.

    >>> html_visible_text("<p>Hi <b>there</b></p><script>x()</script>")
    'Hi there'
    """
    return parse_text(html, ".html").text
