"""OpenDocument text (.odt) through odfpy: headings with their outline level,
paragraphs, list items, and table rows labelled with the table's header row,
in document order. Footnotes, comments and frames are left out.

>>> parse_odt("minutes.odt").blocks[0].kind  # doctest: +SKIP
'heading'
"""

from __future__ import annotations

from rag.ingest.loaders.base import Parsed, TextBuilder, add_table, parser_errors
from rag.ingest.loaders.zipguard import check_zip

_SKIP = {"note", "annotation", "tracked-changes", "frame", "sequence-decls", "variable-decls",
         "table-of-content", "alphabetical-index", "bibliography"}


def parse_odt(path) -> Parsed:
    """Blocks of an .odt file; ValueError with a short reason when it cannot be read."""
    check_zip(path, ".odt")
    from odf.opendocument import load

    with parser_errors(".odt"):
        body = load(str(path)).text
        out = TextBuilder()
        shift = 1 if any(_name(el) == "p" and _style(el) == "Title" for el in _walk(body)) else 0
        _children(out, body, shift, in_list=False)
        return out.build()


def _children(out: TextBuilder, element, shift: int, in_list: bool) -> None:
    for el in element.childNodes:
        name = _name(el)
        if name is None or name in _SKIP:
            continue
        if name == "h":
            try:
                level = int(el.getAttribute("outlinelevel") or 1)
            except ValueError:
                level = 1
            out.heading(_text(el), max(1, min(level + shift, 6)))
        elif name == "p":
            if _style(el) == "Title":
                out.heading(_text(el), 1)
            else:
                out.add("list_item" if in_list else "paragraph", _text(el))
        elif name == "table":
            add_table(out, [[_text(cell) for cell in _cells(row)] for row in _rows(el)])
        elif name in ("list", "list-item", "list-header"):
            _children(out, el, shift, in_list=True)
        else:  # sections, divisions and the like
            _children(out, el, shift, in_list)


def _rows(table) -> list:
    rows = []
    for el in table.childNodes:
        name = _name(el)
        if name == "table-row":
            rows.append(el)
        elif name in ("table-header-rows", "table-rows", "table-row-group"):
            rows += _rows(el)
    return rows


def _cells(row) -> list:
    return [el for el in row.childNodes if _name(el) in ("table-cell", "covered-table-cell")]


def _text(element) -> str:
    """The element's text: spaces, tabs and line breaks as written; notes and comments left out."""
    parts: list[str] = []
    for el in element.childNodes:
        if el.nodeType == el.TEXT_NODE:
            parts.append(str(el.data))
            continue
        name = _name(el)
        if name in _SKIP:
            continue
        if name == "s":
            try:
                parts.append(" " * min(int(el.getAttribute("c") or 1), 100))
            except ValueError:
                parts.append(" ")
        elif name == "tab":
            parts.append("\t")
        elif name == "line-break":
            parts.append("\n")
        elif name == "p":  # paragraphs inside a table cell
            parts.append(_text(el) + "\n")
        else:
            parts.append(_text(el))
    return "".join(parts)


def _walk(element):
    stack = [element]
    while stack:
        el = stack.pop()
        yield el
        stack.extend(c for c in el.childNodes if c.nodeType == c.ELEMENT_NODE)


def _name(el) -> str | None:
    q = getattr(el, "qname", None)
    return q[1] if isinstance(q, tuple) and len(q) == 2 else None


def _style(el) -> str:
    try:
        return el.getAttribute("stylename") or ""
    except ValueError:  # an element without that attribute in its grammar
        return ""
