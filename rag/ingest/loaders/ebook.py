"""E-books (.epub) through ebooklib: the chapters in reading order (the spine),
each read as HTML (headings, paragraphs, lists, tables: see :mod:`.html`). A
chapter without headings of its own gets its title from the table of
contents. Navigation documents, images and styles are left out.

>>> parse_epub("handbook.epub").blocks[0].kind  # doctest: +SKIP
'heading'
"""

from __future__ import annotations

import posixpath
import warnings

from rag.ingest.loaders.base import Parsed, TextBuilder, parser_errors
from rag.ingest.loaders.html import parse_html
from rag.ingest.loaders.zipguard import check_zip


def parse_epub(path) -> Parsed:
    """Blocks of an .epub file; ValueError with a short reason when it cannot be read."""
    check_zip(path, ".epub")
    import ebooklib
    from ebooklib import epub

    with parser_errors(".epub"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ebooklib warns about its own option defaults
            book = epub.read_epub(str(path), {"ignore_ncx": False})
        titles = _toc_titles(book.toc)
        chapters = []
        for idref, *_ in book.spine:
            item = book.get_item_with_id(idref)
            if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
                continue
            chapters.append((item.get_name(), item.get_content()))
    out = TextBuilder()
    for name, content in chapters:
        chapter = parse_html(_decode(content))
        if not chapter.blocks:
            continue
        if not any(b.kind == "heading" for b in chapter.blocks) and titles.get(name):
            out.heading(titles[name], 1)
        out.extend(chapter)
    return out.build()


def _toc_titles(toc) -> dict[str, str]:
    """Chapter file name -> its title in the table of contents (the first one that points at it)."""
    out: dict[str, str] = {}
    stack = list(toc) if isinstance(toc, (list, tuple)) else [toc]
    while stack:
        entry = stack.pop(0)
        if isinstance(entry, (list, tuple)):
            stack[:0] = list(entry)
            continue
        href = getattr(entry, "href", None)
        title = getattr(entry, "title", None)
        if href and title:
            out.setdefault(posixpath.normpath(href.split("#", 1)[0]), str(title))
    return out


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16", "replace")
    for encoding in ("utf-8", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("utf-8", "replace")
