"""Loaders: one file in, its text and its structure out.

Each format yields :class:`~rag.types.Block` objects (heading, paragraph, list
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

from .base import Parsed, TextBuilder

__all__ = ["Parsed", "TextBuilder", "parse_text", "parse_pdf"]


def parse_text(text: str, suffix: str) -> Parsed:
    """Parse decoded file content by its suffix (``.txt``, ``.md``, ``.html``...)."""
    suffix = suffix.lower()
    if suffix in (".html", ".htm"):
        from .html import parse_html

        return parse_html(text)
    if suffix in (".md", ".markdown"):
        from .markdown import parse_markdown

        return parse_markdown(text)
    from .plain import parse_plain

    return parse_plain(text)


def parse_pdf(source) -> Parsed:
    """Parse a PDF, a path or a binary file object (raises ValueError with a short reason when unreadable)."""
    from .pdf import parse_pdf as _parse

    return _parse(source)
