"""Word (.docx) through python-docx: headings from Word's heading styles (or a
paragraph's outline level), paragraphs, list items, and table rows labelled
with the table's header row, in document order. Headers, footers, comments
and text boxes are left out.

>>> [b.kind for b in parse_docx("minutes.docx").blocks][:2]  # doctest: +SKIP
['heading', 'paragraph']
"""

from __future__ import annotations

import re

from rag.ingest.loaders.base import Parsed, TextBuilder, add_table, parser_errors
from rag.ingest.loaders.zipguard import check_zip

_HEADING = re.compile(r"^heading\s*([1-9])$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def parse_docx(path) -> Parsed:
    """Blocks of a .docx file; ValueError with a short reason when it cannot be read."""
    check_zip(path, ".docx")
    import docx
    from docx.table import Table

    with parser_errors(".docx"):
        document = docx.Document(str(path))
        items = list(document.iter_inner_content())
        out = TextBuilder()
        chains = [[] if isinstance(item, Table) else _style_chain(item) for item in items]
        # A document with a Title paragraph puts its Heading 1s under it.
        shift = 1 if any(names[:1] == ["title"] for names in chains) else 0
        for item, names in zip(items, chains):
            if isinstance(item, Table):
                add_table(out, _table_rows(item))
                continue
            text = item.text
            if not text.strip():
                continue
            level = _heading_level(item, names)
            if names and names[0] == "title":
                out.heading(text, 1)
            elif level:
                out.heading(text, min(level + shift, 6))
            elif _is_list_item(item, names):
                out.add("list_item", text)
            else:
                out.add("paragraph", text)
        return out.build()


def _style_chain(paragraph) -> list[str]:
    """Lower-case names of the paragraph's style and the styles it is based on."""
    names = []
    try:
        style = paragraph.style
        while style is not None and len(names) < 10:
            names.append((style.name or "").strip().lower())
            style = style.base_style
    except Exception:  # a style that points at a missing one
        pass
    return names


def _heading_level(paragraph, names: list[str]) -> int:
    for name in names:
        m = _HEADING.match(name)
        if m:
            return int(m.group(1))
    # An outline level set on the paragraph (custom heading styles, other languages' style names).
    for el in (paragraph._p, *(_style_elements(paragraph))):
        lvl = el.find(f"{_W}pPr/{_W}outlineLvl")
        if lvl is not None:
            try:
                value = int(lvl.get(f"{_W}val"))
            except (TypeError, ValueError):
                continue
            if 0 <= value <= 8:  # 9 is "body text"
                return min(value + 1, 6)
    return 0


def _style_elements(paragraph) -> list:
    try:
        style = paragraph.style
        return [style.element] if style is not None else []
    except Exception:
        return []


def _is_list_item(paragraph, names: list[str]) -> bool:
    if paragraph._p.find(f"{_W}pPr/{_W}numPr") is not None:
        return True
    return any(n.startswith("list") for n in names[:1])


def _table_rows(table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells, seen = [], None
        for cell in row.cells:
            if seen is not None and cell._tc is seen:
                continue  # a merged cell is returned once per grid column it spans
            seen = cell._tc
            cells.append(cell.text)
        rows.append(cells)
    return rows
