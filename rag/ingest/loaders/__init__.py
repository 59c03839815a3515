"""Loaders: one file in, its text and its structure out.

Each format yields :class:`~rag.objects.Block` objects (heading, paragraph, list
item, table row, code, field, term) over one text, the text that citations
point into. Soft-wrapped lines inside a block become one line; navigation,
tables of contents, pilcrows and page chrome are dropped. ``.txt`` files are
the exception: their text is the file itself (blocks point into it), so a
quote from a plain-text file is always ``Path(f).read_text()[start:end]``.

>>> parsed = parse_text("# Title\\n\\nSome *soft*\\nwrapped text.", ".md")
>>> parsed.text
'Title\\n\\nSome soft wrapped text.'
>>> [(b.kind, b.headings) for b in parsed.blocks]
[('heading', ()), ('paragraph', ('Title',))]
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from rag.ingest.loaders.base import Parsed, ReadOptions, TextBuilder

__all__ = ["Parsed", "ReadOptions", "TextBuilder", "parse_text", "parse_pdf", "parse_bytes", "parse_path", "FORMATS"]

# Suffix -> what is read from it (README "Your own documents" says the same).
FORMATS = {
    ".txt": "plain text", ".md": "Markdown", ".markdown": "Markdown", ".html": "HTML", ".htm": "HTML",
    ".pdf": "PDF", ".docx": "Word", ".pptx": "PowerPoint", ".xlsx": "Excel", ".csv": "CSV", ".tsv": "TSV",
    ".odt": "OpenDocument text", ".epub": "EPUB e-book", ".eml": "e-mail",
    ".png": "image (OCR)", ".jpg": "image (OCR)", ".jpeg": "image (OCR)", ".tif": "image (OCR)",
    ".tiff": "image (OCR)",
}
# Decoded as UTF-8 by us; every other format is read by its library from a file.
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")


def precheck(path) -> None:
    """Cheap checks that need no parser (ValueError with the reason): a zip
    archive of sane unpacked size for office files and e-books, an image that
    starts like its type, a PDF header, no NUL bytes in text formats, headers
    first in a mail."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".docx", ".pptx", ".xlsx", ".odt", ".epub"):
        from rag.ingest.loaders.zipguard import check_zip

        check_zip(path, suffix)
        return
    with open(path, "rb") as f:
        head = f.read(8192)
    if suffix == ".pdf":
        if b"%PDF-" not in head[:1024]:
            raise ValueError("not a PDF (no %PDF header: damaged, or another format)")
    elif suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        from rag.ingest.loaders.ocr import check_magic

        check_magic(head, suffix)
    elif suffix in (".eml", ".csv", ".tsv"):
        if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ValueError("binary file (contains NUL bytes)")
        if suffix == ".eml" and not _MAIL_START.match(head.lstrip(b"\r\n")):
            raise ValueError("not an e-mail message (no mail headers)")


_MAIL_START = re.compile(rb"(?:From |[!-9;-~]+:)")


def parse_bytes(name: str, data: bytes, options: ReadOptions | None = None) -> Parsed:
    """Text and structure of a file's bytes, by the suffix of ``name``: what the
    reading budget's worker calls on the bytes it read once from the file it
    opened (:mod:`rag.ingest.loaders.budget`). Text formats are decoded here; the
    others are parsed from a private copy (their libraries and Tesseract want a
    file), never from the corpus path again.

    >>> parse_bytes("a.md", b"# Hi\\r\\n\\nThere.").text
    'Hi\\n\\nThere.'
    """
    suffix = os.path.splitext(name)[1].lower()
    if suffix in TEXT_SUFFIXES:
        return _parse_text_bytes(data, suffix)
    with tempfile.TemporaryDirectory(prefix="rag-read-") as tmp:
        copy = Path(tmp) / f"file{suffix}"
        copy.write_bytes(data)
        del data
        return parse_path(copy, options)


def parse_path(path, options: ReadOptions | None = None, depth: int = 0) -> Parsed:
    """Parse one file by its suffix (any of :data:`FORMATS`); ValueError with a
    short reason when it cannot be read. ``depth`` counts mails inside mails.
    Runs where the budget runs it (:func:`parse_bytes`), on files of its own."""
    path = Path(path)
    options = options or ReadOptions()
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _parse_text_bytes(path.read_bytes(), suffix)
    precheck(path)
    if suffix == ".pdf":
        from rag.ingest.loaders.pdf import parse_pdf as _pdf

        return _pdf(path, options)
    if suffix == ".docx":
        from rag.ingest.loaders.word import parse_docx

        return parse_docx(path)
    if suffix == ".pptx":
        from rag.ingest.loaders.slides import parse_pptx

        return parse_pptx(path)
    if suffix == ".xlsx":
        from rag.ingest.loaders.sheets import parse_xlsx

        return parse_xlsx(path)
    if suffix in (".csv", ".tsv"):
        from rag.ingest.loaders.sheets import parse_csv

        return parse_csv(path, "\t" if suffix == ".tsv" else None)
    if suffix == ".odt":
        from rag.ingest.loaders.opendoc import parse_odt

        return parse_odt(path)
    if suffix == ".epub":
        from rag.ingest.loaders.ebook import parse_epub

        return parse_epub(path)
    if suffix == ".eml":
        from rag.ingest.loaders.mail import parse_eml

        return parse_eml(path, lambda part: parse_path(part, options, depth + 1), tuple(FORMATS), depth)
    if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        from rag.ingest.loaders.ocr import parse_image

        return parse_image(path, options)
    raise ValueError(f"unsupported file type {suffix or '(none)'}")


def _parse_text_bytes(data: bytes, suffix: str) -> Parsed:
    if b"\x00" in data[:8192]:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    # Universal newlines, as Path.read_text applies them: the text users and checkers see.
    return parse_text(text.replace("\r\n", "\n").replace("\r", "\n"), suffix)


def parse_text(text: str, suffix: str) -> Parsed:
    """Parse decoded file content by its suffix (``.txt``, ``.md``, ``.html``...)."""
    suffix = suffix.lower()
    if suffix in (".html", ".htm"):
        from rag.ingest.loaders.html import parse_html

        return parse_html(text)
    if suffix in (".md", ".markdown"):
        from rag.ingest.loaders.markdown import parse_markdown

        return parse_markdown(text)
    from rag.ingest.loaders.plain import parse_plain

    return parse_plain(text)


def parse_pdf(path, options: ReadOptions | None = None) -> Parsed:
    """Parse a PDF file (raises ValueError with a short reason when unreadable)."""
    from rag.ingest.loaders.pdf import parse_pdf as _parse

    return _parse(path, options)
