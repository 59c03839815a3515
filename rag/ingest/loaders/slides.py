"""PowerPoint (.pptx) through python-pptx: each slide's title is a heading
("Slide 4" when it has none), then its text in reading order (top to bottom,
left to right): bullet points as list items, text boxes as paragraphs, tables
as rows labelled with their header row, and the speaker notes under the term
"Speaker notes". Charts and pictures are left out.

>>> parse_pptx("review.pptx").blocks[0].kind  # doctest: +SKIP
'heading'
"""

from __future__ import annotations

from rag.ingest.loaders.base import Parsed, TextBuilder, add_table, clean_inline, parser_errors
from rag.ingest.loaders.zipguard import check_zip


def parse_pptx(path) -> Parsed:
    """Blocks of a .pptx file; ValueError with a short reason when it cannot be read."""
    check_zip(path, ".pptx")
    import pptx
    from pptx.enum.shapes import PP_PLACEHOLDER

    titles = {PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE, PP_PLACEHOLDER.VERTICAL_TITLE}
    bodies = {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT, PP_PLACEHOLDER.VERTICAL_BODY,
              PP_PLACEHOLDER.VERTICAL_OBJECT}
    out = TextBuilder()
    with parser_errors(".pptx"):
        deck = pptx.Presentation(str(path))
        for n, slide in enumerate(deck.slides, start=1):
            shapes = _reading_order(slide.shapes)
            title = next((s for s in shapes if _placeholder(s) in titles and s.has_text_frame), None)
            title_text = clean_inline(title.text_frame.text) if title is not None else ""
            out.heading(title_text or f"Slide {n}", 1)
            for shape in shapes:
                if shape is not title:
                    _shape(out, shape, _placeholder(shape) in bodies)
            if slide.has_notes_slide:
                notes = slide.notes_slide.notes_text_frame
                paragraphs = [p.text for p in notes.paragraphs if p.text.strip()] if notes is not None else []
                if paragraphs:
                    mark = out.push_context("Speaker notes")
                    for p in paragraphs:
                        out.add("paragraph", p)
                    out.pop_context(mark)
    return out.build()


def _placeholder(shape):
    try:
        return shape.placeholder_format.type if shape.is_placeholder else None
    except Exception:
        return None


def _reading_order(shapes) -> list:
    return sorted(shapes, key=lambda s: ((s.top or 0) // 20000, s.left or 0))  # rows ~0.2 cm tall


def _shape(out: TextBuilder, shape, is_body: bool) -> None:
    if shape.shape_type is not None and int(shape.shape_type) == 6:  # MSO_SHAPE_TYPE.GROUP
        for inner in _reading_order(shape.shapes):
            _shape(out, inner, False)
        return
    if getattr(shape, "has_table", False) and shape.has_table:
        add_table(out, [[cell.text for cell in row.cells] for row in shape.table.rows])
        return
    if not getattr(shape, "has_text_frame", False) or not shape.has_text_frame:
        return
    paragraphs = [p.text for p in shape.text_frame.paragraphs if p.text.strip()]
    kind = "list_item" if is_body and len(paragraphs) > 1 else "paragraph"
    for p in paragraphs:
        out.add(kind, p)
