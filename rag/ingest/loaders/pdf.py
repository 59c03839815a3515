"""PDF: text lines with their font and position (pypdf) regrouped into blocks.

pypdf gives lines; a document needs paragraphs. From each line's font size,
font name, indent and vertical position this module tells headings (a larger
or bold font), code (a monospaced font), list items (a bullet or number), page
headers and footers (lines at the page edge that repeat from page to page, and
page numbers: dropped) and paragraph breaks (a wider gap, an indent, a short
line that ends a sentence). Wrapped lines are joined, end-of-line hyphens
removed ("regres- sion" -> "regression") and footnote marks dropped.
Pages with no text layer but an image (scans) are read by OCR when Tesseract
is installed (:mod:`.ocr`), and named as not read when it is not.

>>> parse_pdf("report.pdf").blocks[0].kind  # doctest: +SKIP
'heading'
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from rag.ingest.loaders.base import Parsed, ReadOptions, TextBuilder

_MONO = re.compile(r"mono|courier|consol|menlo|cmtt|typewriter|code|lmtt|inconsolata|sfmono|\btt", re.IGNORECASE)
_BOLD = re.compile(r"bold|black|heavy|semibold|demi|cmbx|\+bx|-bx", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[•◦▪‣∙●○■□–—*-]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+\S")
_SECTION = re.compile(r"^\s*(?:(?:chapter|section|part|appendix)\s+)?(?:\d+|[A-Z])(?:\.\d+)*\.?\s+[A-Z]", re.IGNORECASE)
_PAGE_NO = re.compile(r"^\s*(?:page\s+)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.IGNORECASE)
_LEADERS = re.compile(r"(?:\.\s?){4,}\s*(?:\d{1,4}|[ivxlc]{1,6})\s*$")
# "hist . 37, 70", "locale, 12, 45", "Rprofile 27": a term (a few words) and page numbers.
_INDEX_ENTRY = re.compile(r"^(?=.{1,60}$)(?:\S+\s){0,4}?\S+(?:\s\.\s\d{1,4}|,\s\d{1,4}|\s\d{1,4})(?:,\s?\d{1,4})*\s*$")
_END = re.compile(r"[.!?:;][\"'”’)\]]*$")


@dataclass
class _Line:
    page: int
    text: str
    y: float
    x: float
    size: float
    mono: bool
    bold: bool
    top: bool  # in the top or bottom band of its page
    first: bool
    last: bool


def parse_pdf(path, options: ReadOptions | None = None) -> Parsed:
    """Blocks of a PDF file; ValueError with a short reason when it cannot be read."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:  # pragma: no cover - a core dependency
        raise ValueError("PDF support needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(str(Path(path)))
        if reader.is_encrypted:
            raise ValueError("encrypted PDF")
        lines: list[_Line] = []
        scanned: list[int] = []  # pages with an image and no text layer
        for n, page in enumerate(reader.pages):
            page_lines = _page_lines(page, n)
            if not page_lines and _has_image(page):
                scanned.append(n)
            lines += page_lines
    except ValueError:
        raise
    except PyPdfError as exc:
        raise ValueError(f"unreadable PDF ({exc})") from None
    except Exception as exc:  # pypdf raises assorted errors on broken files
        raise ValueError(f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    if scanned:
        return _with_scans(Path(path), _drop_chrome(lines), scanned, options or ReadOptions())
    return _blocks(_drop_chrome(lines))


def _has_image(page) -> bool:
    """Does the page draw an image (directly or inside a form)?"""
    try:
        stack = [(page.get("/Resources"), 0)]
        while stack:
            res, depth = stack.pop()
            res = res.get_object() if res is not None else None
            if not res or "/XObject" not in res:
                continue
            for obj in res["/XObject"].get_object().values():
                obj = obj.get_object()
                if obj.get("/Subtype") == "/Image":
                    return True
                if obj.get("/Subtype") == "/Form" and depth < 3:
                    stack.append((obj.get("/Resources"), depth + 1))
    except Exception:  # a broken resource dictionary: no image we can find
        return False
    return False


def _with_scans(path: Path, lines: list[_Line], scanned: list[int], options: ReadOptions) -> Parsed:
    """The text pages' blocks with the scanned pages read by OCR in between, or
    named as not read (with how to enable OCR) when it cannot run."""
    from rag.ingest.loaders.ocr import MAX_OCR_PAGES, add_ocr_text, ocr_pdf_page, unavailable

    reason = unavailable(options, pdf=True)
    if reason and not lines:
        raise ValueError(f"no text layer (a scanned PDF?): {reason}")
    texts: dict[int, str] = {}
    failed: dict[str, list[int]] = {}
    for n in ([] if reason else scanned[:MAX_OCR_PAGES]):
        try:
            texts[n] = ocr_pdf_page(path, n, options)
        except ValueError as exc:
            failed.setdefault(str(exc), []).append(n)
    if reason:
        failed[f"no text layer (scanned?): {reason}"] = scanned
    elif len(scanned) > MAX_OCR_PAGES:
        failed[f"scanned, over the {MAX_OCR_PAGES}-page OCR limit"] = scanned[MAX_OCR_PAGES:]
    if not lines and not any(t.strip() for t in texts.values()):
        raise ValueError(f"no text layer, and OCR read nothing ({'; '.join(failed) or 'blank pages'})")
    out = TextBuilder()
    spans = []
    run: list[_Line] = []
    by_page: dict[int, list[_Line]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    for n in sorted(set(by_page) | set(texts)):
        if n in texts:
            if run:
                _blocks(run, out)
                run = []
            span = add_ocr_text(out, texts[n])
            if span:
                spans.append(span)
        else:
            run += by_page[n]
    if run:
        _blocks(run, out)
    built = out.build()
    skipped = tuple(("", f"{_pages(pages)} not read: {why}") for why, pages in failed.items())
    return Parsed(built.text, built.blocks, ocr=tuple(spans), skipped=skipped)


def _pages(pages: list[int]) -> str:
    """0-based page indexes as people number them: "page 3", "pages 3-5, 8"."""
    ranges: list[list[int]] = []
    for n in sorted(pages):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1][1] = n
        else:
            ranges.append([n, n])
    text = ", ".join(f"{a + 1}" if a == b else f"{a + 1}-{b + 1}" for a, b in ranges)
    return f"page {text}" if len(pages) == 1 else f"pages {text}"


def _page_lines(page, n: int) -> list[_Line]:
    runs: list[tuple[str, float, float, float, str]] = []

    def visit(text, cm, tm, font, size):
        # Position in page space: the text matrix through the current transformation matrix.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = (abs(tm[3]) or abs(tm[0]) or 1.0) * (abs(cm[3]) or abs(cm[0]) or 1.0)
        name = str((font or {}).get("/BaseFont", "")) if hasattr(font, "get") else ""
        runs.append((text, x, y, float(size or 0) * scale, name))

    page.extract_text(visitor_text=visit)
    try:
        height = float(page.mediabox.height)
        bottom = float(page.mediabox.bottom)
    except Exception:
        height, bottom = 792.0, 0.0
    out: list[_Line] = []
    cur: list[tuple[str, float, float, float, str]] = []

    def close() -> None:
        if not cur:
            return
        sizes = Counter()
        for text, _, _, size, _ in cur:
            sizes[round(size, 1)] += len(text.strip())
        main = sizes.most_common(1)[0][0] if sizes else 0.0
        # Footnote marks: tiny runs of digits/symbols inside a line of bigger text.
        pieces = [r for r in cur if not (main and r[3] < 0.75 * main and len(r[0].strip()) <= 3
                                         and not r[0].strip().isalpha())]
        text = "".join(r[0] for r in pieces).replace("\n", " ")
        if text.strip():
            chars = sum(len(r[0].strip()) for r in pieces) or 1
            mono = sum(len(r[0].strip()) for r in pieces if _MONO.search(r[4])) / chars
            bold = sum(len(r[0].strip()) for r in pieces if _BOLD.search(r[4])) / chars
            ys = [r[2] for r in pieces if r[0].strip()] or [pieces[0][2]]
            xs = [r[1] for r in pieces if r[0].strip()] or [pieces[0][1]]
            y = ys[0]
            rel = (y - bottom) / height if height else 0.5
            out.append(_Line(n, text.strip(), y, min(xs), main, mono >= 0.8, bold >= 0.8,
                             rel > 0.9 or rel < 0.1, False, False))
        cur.clear()

    for run in runs:
        parts = run[0].split("\n")
        for i, part in enumerate(parts):
            if part:
                cur.append((part, run[1], run[2], run[3], run[4]))
            if i < len(parts) - 1:
                close()
    close()
    if out:
        out[0].first = True
        out[-1].last = True
    return out


def _norm(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _drop_chrome(lines: list[_Line]) -> list[_Line]:
    """Page numbers, table-of-contents lines, and running heads/feet: lines at the
    page edge that repeat on three or more pages, or that carry the page number
    ("Chapter 2: Basics 17": its number minus the page index is the same on many pages)."""
    pages = {ln.page for ln in lines}
    edge = [ln for ln in lines if (ln.first or ln.last) and ln.top]
    counts = Counter(_norm(ln.text) for ln in edge)
    offsets = Counter(_page_offset(ln) for ln in edge)
    offsets.pop(None, None)
    # A line at the page edge on three pages (on every page of a short file) is a running head.
    min_repeat = 3 if len(pages) >= 3 else len(pages) + 1
    index_run = _index_lines(lines)
    keep = []
    for i, ln in enumerate(lines):
        if _LEADERS.search(ln.text) or i in index_run:
            continue
        if (ln.first or ln.last) and _PAGE_NO.match(ln.text):
            continue
        if ln.top and (ln.first or ln.last) and (
                counts[_norm(ln.text)] >= min_repeat or offsets.get(_page_offset(ln), 0) >= min_repeat):
            continue
        keep.append(ln)
    return keep


def _index_lines(lines: list[_Line]) -> set[int]:
    """Lines of a back-of-book index ("hist . 37, 70"): runs of five or more
    entries that end in page numbers. They point at pages; they state nothing."""
    hits = [bool(_INDEX_ENTRY.match(ln.text)) for ln in lines]
    out: set[int] = set()
    i = 0
    while i < len(hits):
        if not hits[i]:
            i += 1
            continue
        j = i
        while j < len(hits) and (hits[j] or (j + 1 < len(hits) and hits[j + 1])):
            j += 1
        if sum(hits[i:j]) >= 5:
            out.update(range(i, j))
        i = j
    return out


def _page_offset(ln: _Line) -> int | None:
    """Printed page number minus page index, for a line that starts or ends with a number."""
    m = re.match(r"^\s*(\d{1,4})\s+\S", ln.text) or re.search(r"\S\s+(\d{1,4})\s*$", ln.text)
    return int(m.group(1)) - ln.page if m else None


def _blocks(lines: list[_Line], out: TextBuilder | None = None) -> Parsed:
    out = TextBuilder() if out is None else out
    if not lines:
        return out.build()
    sizes = Counter()
    for ln in lines:
        sizes[round(ln.size, 1)] += len(ln.text)
    body = sizes.most_common(1)[0][0] or 10.0
    heading_sizes = sorted({round(ln.size, 1) for ln in lines if ln.size >= body * 1.15 and len(ln.text) < 120},
                           reverse=True)
    level_of = {s: min(i + 1, 6) for i, s in enumerate(heading_sizes)}
    margin = median(ln.x for ln in lines if abs(ln.size - body) < 0.6) if lines else 0.0
    gaps = [a.y - b.y for a, b in zip(lines, lines[1:]) if a.page == b.page and 0 < a.y - b.y < body * 3]
    gap = median(gaps) if gaps else body * 1.2
    right = sorted(len(ln.text) for ln in lines if abs(ln.size - body) < 0.6 and not ln.mono)
    full = right[int(len(right) * 0.8)] if right else 80

    kind: str | None = None
    buf: list[_Line] = []

    def flush() -> None:
        nonlocal kind, buf
        if not buf:
            return
        if kind == "heading":
            out.heading(" ".join(ln.text for ln in buf), buf[0]._level)  # type: ignore[attr-defined]
        elif kind == "code":
            out.add("code", "\n".join(ln.text for ln in buf), keep_lines=True)
        else:
            out.add(kind or "paragraph", _join(buf))
        kind, buf = None, []

    prev: _Line | None = None
    for ln in lines:
        level = _heading_level(ln, body, level_of)
        if level:
            if not (kind == "heading" and prev is not None and prev.page == ln.page
                    and buf[0]._level == level and ln.y < prev.y and prev.y - ln.y < ln.size * 1.6):  # type: ignore[attr-defined]
                flush()
                kind = "heading"
            ln._level = level  # type: ignore[attr-defined]
            buf.append(ln)
            prev = ln
            continue
        if ln.mono:
            if kind != "code":
                flush()
                kind = "code"
            buf.append(ln)
            prev = ln
            continue
        new_block = kind in (None, "heading", "code")
        if not new_block and prev is not None:
            same_page = prev.page == ln.page
            wide_gap = same_page and prev.y - ln.y > gap * 1.35
            indent = ln.x > margin + body * 0.8 and kind != "list_item"
            ended = bool(_END.search(prev.text)) and len(prev.text) < full * 0.85
            new_block = wide_gap or indent or ended or (not same_page and bool(_END.search(prev.text)))
            if new_block and not _END.search(prev.text) and ln.text[:1].islower():
                new_block = False  # a sentence goes on after a page break or a wide gap
        if _BULLET.match(ln.text):
            flush()
            kind = "list_item"
        elif new_block:
            flush()
            kind = "paragraph"
        buf.append(ln)
        prev = ln
    flush()
    return out.build()


def _heading_level(ln: _Line, body: float, level_of: dict) -> int:
    # Headings may end with "?" (FAQs) but not like a sentence or a clause.
    if len(ln.text) >= 120 or ln.text.rstrip().endswith((".", ",", ";")):
        return 0
    size = round(ln.size, 1)
    if size in level_of and len(ln.text.split()) <= 16:
        return level_of[size]
    if ln.bold and not ln.mono and _SECTION.match(ln.text) and len(ln.text.split()) <= 12:
        depth = len(re.match(r"\s*(?:\w+\s+)?([\d.]+|[A-Z])", ln.text).group(1).strip(".").split("."))
        return min(6, len(level_of) + depth)
    return 0


def _join(lines: list[_Line]) -> str:
    """Wrapped lines as one text: hyphens at line ends removed before a lower-case
    continuation, no space after a line ending inside a URL."""
    text = lines[0].text
    for ln in lines[1:]:
        nxt = ln.text
        if re.search(r"[A-Za-z]-$", text) and nxt[:1].islower():
            text = text[:-1] + nxt
        elif re.search(r"(?:https?://|www\.)\S*[/.]$", text):
            text += nxt
        else:
            text += " " + nxt
    return text
