"""The pieces every loader shares: a builder that lays blocks out in one text,
keeping the heading path of each block.

>>> b = TextBuilder()
>>> b.heading("Install", 1); b.add("paragraph", "Run  the\\n installer.")
>>> p = b.build()
>>> p.text, p.blocks[1].headings
('Install\\n\\nRun the installer.', ('Install',))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..types import Block

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
    """A parsed document: ``text`` and its blocks (offsets into ``text``)."""

    text: str
    blocks: tuple[Block, ...] = ()


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
