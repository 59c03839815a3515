"""Spreadsheets: .xlsx through openpyxl (cached values, not formulas), .csv
and .tsv through the standard csv module.

Each sheet is a heading (its name); its header row is the first row with two
or more filled cells, and every row after it reads "Header: value; Header:
value" ("Region: North; Q3 revenue: 1.2M"). Single cells above the header (a
title) are headings under the sheet's name. Empty rows and cells are left
out; a file stops being read after :data:`MAX_ROWS` rows (empty ones
included), and the parts not read are named.

>>> p = parse_csv_text("Region,Q3 revenue\\nNorth,1.2M\\n", ",")
>>> p.text
'Region: North; Q3 revenue: 1.2M'
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Iterable

from rag.ingest.loaders.base import Parsed, TextBuilder, clean_inline, parser_errors, row_text
from rag.ingest.loaders.zipguard import check_zip

MAX_ROWS = 100_000  # rows read per file, empty ones included (a sheet of a million empty rows)
MAX_COLUMNS = 512
_HEADER_SEARCH = 20  # filled rows looked at for the header row
_NUMERIC = re.compile(r"^[\s$€£¥%+\-.,\d]+$")


def parse_xlsx(path) -> Parsed:
    """Blocks of an .xlsx workbook; ValueError with a short reason when it cannot be read."""
    check_zip(path, ".xlsx")
    import openpyxl

    out = TextBuilder()
    skipped: list[tuple[str, str]] = []
    budget = [MAX_ROWS]
    with parser_errors(".xlsx"):
        wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
        try:
            for ws in wb.worksheets:
                if budget[0] <= 0:
                    skipped.append(("", f"sheet {ws.title!r} not read: the file has more than {MAX_ROWS:,} rows"))
                    continue
                # Files can declare any size (A1:XFD1048576); read the rows that are there.
                ws.reset_dimensions()
                out.heading(ws.title, 1)
                rows = (([_cell(c) for c in row[:MAX_COLUMNS]], len(row) > MAX_COLUMNS)
                        for row in ws.iter_rows())
                _table(out, rows, budget, skipped, f"sheet {ws.title!r}")
        finally:
            wb.close()
    parsed = out.build()
    return Parsed(parsed.text, parsed.blocks, skipped=tuple(skipped))


def parse_csv(path, delimiter: str | None = None) -> Parsed:
    """Blocks of a .csv or .tsv file (delimiter sniffed for .csv: , ; tab or |)."""
    raw = Path(path).read_bytes()
    text = _decode(raw)
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:16384], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    return parse_csv_text(text, delimiter)


def parse_csv_text(text: str, delimiter: str) -> Parsed:
    """Blocks of delimited text (see :func:`parse_csv`)."""
    out = TextBuilder()
    skipped: list[tuple[str, str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = (([clean_inline(c) for c in row[:MAX_COLUMNS]], len(row) > MAX_COLUMNS) for row in reader)
    try:
        _table(out, rows, [MAX_ROWS], skipped, "")
    except csv.Error as exc:
        raise ValueError(f"malformed {'TSV' if delimiter == chr(9) else 'CSV'} ({exc})") from None
    parsed = out.build()
    return Parsed(parsed.text, parsed.blocks, skipped=tuple(skipped))


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("binary file (contains NUL bytes)")
    for encoding in ("utf-8-sig", "utf-16") if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("not valid UTF-8 or Windows-1252 text")


def _table(out: TextBuilder, rows: Iterable[tuple[list[str], bool]], budget: list[int],
           skipped: list[tuple[str, str]], where: str) -> None:
    """Rows (cells as text, cut-off flag) as a table under its header row; ``budget``
    holds the rows the file may still read."""
    header: list[str] | None = None
    waiting: list[list[str]] = []  # filled rows before the header was found
    wide = False
    n = 0
    for cells, cut in rows:
        n += 1
        if n > budget[0]:
            skipped.append(("", f"{where + ': ' if where else ''}rows after {MAX_ROWS:,} not read (limit per file)"))
            break
        wide = wide or cut
        if not any(cells):
            continue
        if header is None:
            if sum(1 for c in cells if c) >= 2:
                for title in waiting:
                    _title_row(out, title)
                header, waiting = cells, []
            else:
                waiting.append(cells)
                if len(waiting) >= _HEADER_SEARCH:  # a one-column list, not a table
                    for title in waiting:
                        out.add("paragraph", " | ".join(c for c in title if c))
                    header, waiting = [], []
            continue
        out.add("table_row", row_text(header, cells))
    budget[0] -= n
    for title in waiting:
        out.add("paragraph", " | ".join(c for c in title if c))
    if wide:
        skipped.append(("", f"{where + ': ' if where else ''}columns after {MAX_COLUMNS} not read"))


def _title_row(out: TextBuilder, cells: list[str]) -> None:
    text = " ".join(c for c in cells if c)
    if len(text) <= 80 and not _NUMERIC.match(text):
        out.heading(text, 2)
    else:
        out.add("paragraph", text)


def _cell(cell) -> str:
    """A cell's value as it reads: whole numbers without ".0", dates as ISO dates,
    percentages with "%"."""
    v = getattr(cell, "value", None)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        fmt = getattr(cell, "number_format", "") or ""
        if "%" in fmt:
            return f"{_number(v * 100)}%"
        return _number(v)
    if isinstance(v, dt.datetime):
        if (v.hour, v.minute, v.second) == (0, 0, 0):
            return v.date().isoformat()
        return v.isoformat(sep=" ", timespec="minutes")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return clean_inline(str(v))


def _number(v: float) -> str:
    if isinstance(v, int):
        return str(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.12g}"
