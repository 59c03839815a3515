"""Loading: find corpus files and turn each into :class:`Document` objects.

A document's ``text`` is what citations point into. For ``.txt`` it is the
file decoded as UTF-8 exactly as ``Path.read_text(encoding="utf-8")`` returns
it, so ``Path(f).read_text(encoding="utf-8")[c.start:c.end] == c.quote``. For
every other format it is the rendered text (see :func:`document_text` and
:mod:`rag.ingest.loaders`); ``Document.blocks`` describe its structure (headings,
paragraphs, list items, table rows...). A mail's attachments are documents of
their own, ``mail.eml#report.pdf``, and ``document_text`` reads those too.

Every file, in every format, is parsed in a worker process under a time,
memory and size budget (:mod:`rag.ingest.loaders.budget`; ``RAG_PARSE_TIMEOUT``,
``RAG_PARSE_MEMORY_MB``): a hostile file is skipped and named, never hangs or
exhausts the run, and never holds up another caller.

>>> from pathlib import Path
>>> docs, skipped = load_corpus(Path("seeds"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from pathlib import Path

from rag.ingest.loaders import FORMATS, Parsed, ReadOptions, parse_text
from rag.ingest.loaders.budget import Budget, read_within_budget
from rag.safety import printable
from rag.settings import Settings
from rag.objects import Document, Skipped

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = tuple(FORMATS)
# "mail.eml#report.pdf": an attachment of mail.eml (see rag.ingest.loaders.mail).
_PART = re.compile(r"\.eml#", re.IGNORECASE)


class CorpusError(ValueError):
    """The corpus folder is missing or holds nothing to index."""


def load_corpus(corpus_dir: Path, settings: Settings | None = None) -> tuple[list[Document], list[Skipped]]:
    """Load every supported file under ``corpus_dir`` (recursively); ``settings``
    say how (OCR, the parsing budget; default: from the environment).

    Bad files are skipped and reported by name; one bad file never aborts the run.
    The corpus folder is a boundary: a symbolic link that leads outside it is
    skipped and named, never read. Raises :class:`CorpusError` naming the path
    when the folder is missing.
    """
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(f"corpus folder not found: {printable(str(root))} (set RAG_CORPUS_DIR)")
    files, skipped = corpus_files(root)
    budget = Budget.from_settings(settings or Settings.from_env())
    docs: list[Document] = []
    for rel in files:
        got, lost = load_file(root, rel, budget)
        docs += got
        skipped += lost
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
        if _PART.search(rel):
            skipped.append(Skipped(rel, "the name contains '.eml#', which names mail attachments: rename it"))
        elif suffix.lower() in SUPPORTED_SUFFIXES:
            supported.append(rel)
        else:
            skipped.append(Skipped(rel, f"unsupported file type {printable(suffix) or '(none)'}"))
    return supported, skipped


def load_file(root: Path, rel: str, budget: Budget) -> tuple[list[Document], list[Skipped]]:
    """One file (``rel`` under ``root``, read under ``budget``) as its documents
    (the file's own, then its attachments') and what of it was skipped, with the
    reasons (which name no path: they are shown in summaries and the UI)."""
    try:
        parsed = read_within_budget(Path(root) / rel, Path(root), budget)
    except OSError as exc:  # e.g. the file vanished after the folder was walked; no path in the reason
        return [], [Skipped(rel, printable(f"cannot read it ({exc.strerror or type(exc).__name__})"))]
    except ValueError as exc:
        return [], [Skipped(rel, printable(str(exc)))]
    docs: list[Document] = []
    skipped: list[Skipped] = []
    _flatten(rel, parsed, docs, skipped)
    return docs, skipped


def _flatten(source: str, parsed: Parsed, docs: list[Document], skipped: list[Skipped]) -> None:
    text = parsed.text
    if "\x00" in text:
        # The loaders look at the first 8 KB only; a NUL anywhere means binary.
        skipped.append(Skipped(source, "binary file (contains NUL bytes)"))
    elif not text.strip():
        skipped.append(Skipped(source, "empty (no text)"))
    else:
        docs.append(Document(source, text, hashlib.sha256(text.encode("utf-8")).hexdigest(), parsed.blocks))
    for name, reason in parsed.skipped:
        skipped.append(Skipped(f"{source}#{name}" if name else source, printable(reason)))
    for name, part in parsed.parts:
        _flatten(f"{source}#{name}", part, docs, skipped)


def file_of(source: str) -> str:
    """The corpus file a source is in: itself, or the mail an attachment came from.

    >>> file_of("inbox/notice.eml#report.pdf"), file_of("a.txt")
    ('inbox/notice.eml', 'a.txt')
    """
    m = _PART.search(source)
    return source[:m.start() + 4] if m else source


def split_source(path: Path) -> tuple[Path, list[str]]:
    """(file, attachment names) of a source path: ``x/mail.eml#a.eml#b.pdf`` ->
    ``(x/mail.eml, ["a.eml", "b.pdf"])``; a file that exists is itself."""
    path = Path(path)
    text = str(path)
    m = _PART.search(text)
    if m is None or path.is_file():
        return path, []
    return Path(text[:m.start() + 4]), text[m.end():].split("#")


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
    # (path on disk, path relative to root, real path): a folder's real path is its parent's plus
    # its name unless it is a link, so realpath() runs only on links (on every folder it made a
    # deep tree quadratic: 19 s for 1,200 levels).
    stack: list[tuple[str, str, str]] = [(str(root), "", real_root)]
    while stack:
        folder, rel_folder, real_folder = stack.pop()
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
                    target = real = os.path.realpath(entry.path)
                    if not _inside(target, real_root):
                        skipped.append(Skipped(rel, "symbolic link leads outside the corpus folder"))
                        continue
                    st = os.stat(target)
                else:
                    target, st = entry.path, entry.stat(follow_symlinks=False)
                    real = os.path.join(real_folder, entry.name)
            except OSError:
                skipped.append(Skipped(rel, "broken symbolic link or unreadable entry"))
                continue
            if stat.S_ISDIR(st.st_mode):
                if real not in seen_dirs:
                    seen_dirs.add(real)
                    stack.append((entry.path, rel, real))
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


def document_text(path: Path, settings: Settings | None = None, *, root: Path | None = None) -> str:
    """The text of one corpus source (a file, or ``mail.eml#report.pdf``), as
    citations index into it. Raises ValueError with a short reason for binary,
    undecodable, oversized or broken files. ``settings`` must read files as the
    index did (OCR on or off); default: from the environment.

    ``.txt``: the file as ``Path.read_text(encoding="utf-8")`` returns it.
    Other formats: the rendered text (see :mod:`rag.ingest.loaders`).
    """
    return read_source(path, settings, root=root).text


def read_source(path: Path, settings: Settings | None = None, *, root: Path | None = None) -> Parsed:
    """Text, structure and the spans read by OCR of one corpus source (see
    :func:`document_text`): a file, or an attachment inside one
    (``corpus/mail.eml#report.pdf``), read under the budget; with ``root``,
    ValueError for a file that is not inside that folder when it is opened."""
    container, names = split_source(Path(path))
    parsed = read_within_budget(container, root, Budget.from_settings(settings or Settings.from_env()))
    for name in names:
        found = dict(parsed.parts).get(name)
        if found is None:
            raise ValueError(f"{container.name} has no readable attachment {name!r}")
        parsed = found
    return parsed


def html_visible_text(html: str) -> str:
    """Visible text of an HTML page, blocks separated by a blank line.

    >>> html_visible_text("<p>Hi <b>there</b></p><script>x()</script>")
    'Hi there'
    """
    return parse_text(html, ".html").text


def reader_signature(settings: Settings) -> str:
    """What this machine can read that another might not (OCR of images, of PDF
    pages): an index run reads every file again when it changes.

    >>> reader_signature(Settings(ocr=False))
    'ocr-images=no ocr-pdf=no'
    """
    from rag.ingest.loaders.ocr import unavailable

    options = ReadOptions(ocr=settings.ingest.ocr)
    return (f"ocr-images={'no' if unavailable(options) else 'yes'} "
            f"ocr-pdf={'no' if unavailable(options, pdf=True) else 'yes'}")


def unread_note(skipped: list[tuple[str, str]], shown: int = 3) -> str:
    """The sentence a refusal ends with when the last index run skipped files:
    the answer may be in one of them.

    >>> unread_note([("minutes.docx", "not a valid .docx file"), ("a.zip", "unsupported file type .zip")])
    '2 files could not be read: minutes.docx (not a valid .docx file); a.zip (unsupported file type .zip).'
    """
    if not skipped:
        return ""
    named = "; ".join(f"{printable(s)} ({printable(r)})" for s, r in skipped[:shown])
    more = f"; and {len(skipped) - shown} more (`rag index` lists them)" if len(skipped) > shown else ""
    return f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} could not be read: {named}{more}."
