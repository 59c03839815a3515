"""The pieces every loader shares: a builder that lays blocks out in one text,
keeping the heading path of each block.

>>> b = TextBuilder()
>>> b.heading("Install", 1); b.add("paragraph", "Run  the\\n installer.")
>>> p = b.build()
>>> p.text, p.blocks[1].headings
('Install\\n\\nRun the installer.', ('Install',))
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Callable

from rag.objects import Block

# Permalink marks and zero-width characters that page generators sprinkle into text.
_CHROME = re.compile("[\u00b6\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Level of a heading made up by the loader (a bold-only line, a term): below any real one.
PSEUDO_LEVEL = 7


def clean_inline(text: str) -> str:
    """One line: whitespace collapsed, pilcrows and invisible characters dropped.

    >>> clean_inline("  Logging\\n HOWTO\u00b6 ")
    'Logging HOWTO'
    """
    return " ".join(_CHROME.sub("", text).split())


@dataclass(frozen=True)
class Parsed:
    """A parsed document: ``text`` and its blocks (offsets into ``text``).

    ``ocr``: spans of ``text`` read by OCR from images (the viewer says so).
    ``parts``: documents inside this one, by name (a mail's attachments), each
    cited as ``file#name``. ``skipped``: what was left out, as (part name or
    "", reason): an attachment, scanned pages with no OCR, rows over a limit.
    """

    text: str
    blocks: tuple[Block, ...] = ()
    ocr: tuple[tuple[int, int], ...] = ()
    parts: tuple[tuple[str, "Parsed"], ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ReadOptions:
    """How files are read. ``ocr``: read scanned pages and images with
    Tesseract when it is installed. ``on_ocr_page`` is called before each page
    or image goes to OCR (a reader under a deadline grants it more time)."""

    ocr: bool = True
    ocr_page_seconds: float = 120.0
    on_ocr_page: Callable[[], None] | None = field(default=None, compare=False)


@contextlib.contextmanager
def parser_errors(kind: str):
    """Turn whatever a third-party parser raises on a damaged file into a
    ValueError "unreadable .docx (KeyError: ...)"; MemoryError passes (the
    reading budget reports it)."""
    try:
        yield
    except (ValueError, MemoryError):
        raise
    except Exception as exc:  # parsers raise assorted errors on damaged parts
        raise ValueError(f"unreadable {kind} ({type(exc).__name__}: {str(exc)[:120]})") from None


def row_text(header: list[str] | None, cells: list[str]) -> str:
    """A table row labelled with its column headers; cells without a header
    stand alone; a table without a header row reads "cell | cell".

    >>> row_text(["Region", "Q3 revenue", ""], ["North", "1.2M", "note"])
    'Region: North; Q3 revenue: 1.2M; note'
    >>> row_text(None, ["North", "", "1.2M"])
    'North | 1.2M'
    """
    if not header:
        return " | ".join(c for c in cells if c)
    pieces = []
    for i, cell in enumerate(cells):
        if not cell:
            continue
        h = header[i] if i < len(header) else ""
        pieces.append(f"{h}: {cell}" if h else cell)
    return "; ".join(pieces)


@dataclass
class TextBuilder:
    """Appends blocks separated by a blank line, tracking the heading path."""

    parts: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    length: int = 0
    _stack: list[tuple[int, str]] = field(default_factory=list)

    def heading(self, text: str, level: int) -> None:
        """A heading of ``level`` (1 = top); it closes headings at its level or below."""
        text = clean_inline(text).rstrip("#").rstrip()
        if not text:
            return
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._append("heading", text, level)
        self._stack.append((level, text))

    def push_context(self, text: str) -> int:
        """A term or bold line that titles what follows (a definition's term, a
        signature): it joins the heading path until :meth:`pop_context`. Returns
        a mark for ``pop_context``."""
        mark = len(self._stack)
        text = clean_inline(text)
        if text:
            self._append("term", text, PSEUDO_LEVEL)
            self._stack.append((PSEUDO_LEVEL, text))
        return mark

    def pop_context(self, mark: int) -> None:
        """Forget contexts pushed since ``mark`` (headings stay)."""
        while len(self._stack) > mark and self._stack[-1][0] >= PSEUDO_LEVEL:
            self._stack.pop()

    def add(self, kind: str, text: str, *, keep_lines: bool = False) -> None:
        """A block of ``kind``; its whitespace is collapsed unless ``keep_lines`` (code)."""
        if keep_lines:
            lines = [_CHROME.sub("", line).rstrip() for line in text.split("\n")]
            while lines and not lines[0].strip():
                lines.pop(0)
            while lines and not lines[-1].strip():
                lines.pop()
            text = "\n".join(lines)
        else:
            text = clean_inline(text)
        if text.strip():
            self._append(kind, text, 0)

    def extend(self, parsed: Parsed, base_level: int = 0) -> None:
        """Append the blocks of another parsed text (a chapter, a mail body),
        its headings ``base_level`` levels deeper."""
        for b in parsed.blocks:
            piece = parsed.text[b.start:b.end]
            if b.kind == "heading":
                self.heading(piece, min(b.level + base_level, PSEUDO_LEVEL - 1))
            elif b.kind == "term":
                self._append("term", clean_inline(piece), PSEUDO_LEVEL)
            else:
                self.add(b.kind, piece, keep_lines=b.kind == "code")

    @property
    def headings(self) -> tuple[str, ...]:
        return tuple(t for _, t in self._stack)

    def _append(self, kind: str, text: str, level: int) -> None:
        if self.parts:
            self.parts.append("\n\n")
            self.length += 2
        start = self.length
        self.parts.append(text)
        self.length += len(text)
        self.blocks.append(Block(kind, start, self.length, level, self.headings))

    def build(self) -> Parsed:
        return Parsed("".join(self.parts), tuple(self.blocks))


_NUMBER = re.compile(r"^[\s$€£¥%+\-.,:/()\d]*$")


def add_table(out: TextBuilder, rows: list[list[str]]) -> None:
    """A table as ``table_row`` blocks, labelled by its first row when that
    reads as a header (every cell short text, none a number); a one-column
    table is paragraphs."""
    rows = [[clean_inline(c) for c in r] for r in rows]
    rows = [r for r in rows if any(r)]
    if not rows:
        return
    if max(len(r) for r in rows) == 1:
        for r in rows:
            out.add("paragraph", r[0])
        return
    first = rows[0]
    header = first if len(rows) > 1 and all(c and len(c) <= 60 and not _NUMBER.match(c) for c in first) else None
    for r in rows[1:] if header else rows:
        out.add("table_row", row_text(header, r))
