"""Plain text: the file itself is the text; blocks mark its structure.

Paragraphs are separated by blank lines; inside one, soft-wrapped lines are one
block (the sentence splitter joins them), while short separate lines (a title
block, an address) are a block each. A short line with no closing
punctuation standing alone before a paragraph is a heading, as are lines
underlined with ``===``/``---`` and Markdown-style ``# Title`` lines; lines
opening with a bullet or a number are list items.

>>> p = parse_plain("INTRODUCTION\\n\\nThe tool reads every file of the folder you give it and keeps\\nthem.\\n\\n- one\\n- two\\n")
>>> [(b.kind, p.text[b.start:b.end]) for b in p.blocks]
[('heading', 'INTRODUCTION'), ('paragraph', 'The tool reads every file of the folder you give it and keeps\\nthem.'), ('list_item', '- one'), ('list_item', '- two')]
"""

from __future__ import annotations

import re

from rag.objects import Block
from rag.ingest.loaders.base import Parsed

_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
BULLET = re.compile(r"^[ \t]*(?:[-*•‣◦▪–]|\(?\d{1,3}[.)]|\(?[a-z][.)])[ \t]+\S")
_UNDERLINE = re.compile(r"^[ \t]*(?:={3,}|-{3,}|~{3,})[ \t]*$")
_HASH = re.compile(r"^(#{1,6})[ \t]+\S")


def parse_plain(text: str) -> Parsed:
    """Blocks of a plain-text file; ``Parsed.text`` is ``text`` unchanged."""
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []

    def add(kind: str, s: int, e: int, level: int = 0) -> None:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e <= s:
            return
        if kind == "heading":
            while stack and stack[-1][0] >= level:
                stack.pop()
            blocks.append(Block(kind, s, e, level, tuple(t for _, t in stack)))
            stack.append((level, " ".join(text[s:e].lstrip("#").split())))
        else:
            blocks.append(Block(kind, s, e, 0, tuple(t for _, t in stack)))

    pos = 0
    spans = []
    for m in _PARAGRAPHS.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    for i, (s, e) in enumerate(spans):
        lines = _lines(text, s, e)
        if not lines:
            continue
        nxt = spans[i + 1] if i + 1 < len(spans) else None
        first = text[lines[0][0]:lines[0][1]]
        if len(lines) == 2 and _UNDERLINE.match(text[lines[1][0]:lines[1][1]]):
            add("heading", lines[0][0], lines[0][1], 1 if "=" in text[lines[1][0]:lines[1][1]] else 2)
            continue
        if len(lines) == 1 and _HASH.match(first):
            add("heading", lines[0][0], lines[0][1], len(_HASH.match(first).group(1)))
            continue
        if len(lines) == 1 and nxt is not None and is_title(first):
            add("heading", lines[0][0], lines[0][1], 1 if first.isupper() else 2)
            continue
        if any(BULLET.match(text[a:b]) for a, b in lines):
            # Items run until the next bullet; lines before the first one are a paragraph.
            start = lines[0][0]
            kind = "paragraph"
            for a, b in lines:
                if BULLET.match(text[a:b]):
                    add(kind, start, a)
                    start, kind = a, "list_item"
            add(kind, start, lines[-1][1])
            continue
        if len(lines) > 1 and not _wrapped(text, lines):
            for a, b in lines:  # separate lines (a title block, an address): each its own block
                add("paragraph", a, b)
            continue
        add("paragraph", s, e)
    return Parsed(text, tuple(blocks))


def _wrapped(text: str, lines: list[tuple[int, int]]) -> bool:
    """Are these lines one paragraph wrapped at a width (every line but the last
    nearly as long as the longest), rather than separate short lines?"""
    widths = [b - a for a, b in lines]
    longest = max(widths)
    if longest < 50:
        return False
    return all(w >= 0.6 * longest or text[a:b].rstrip().endswith(("-", ",", ";"))
               for (a, b), w in zip(lines[:-1], widths[:-1]))


def _lines(text: str, s: int, e: int) -> list[tuple[int, int]]:
    out = []
    pos = s
    for line in text[s:e].split("\n"):
        if line.strip():
            out.append((pos, pos + len(line)))
        pos += len(line) + 1
    return out


def is_title(line: str) -> bool:
    """A heading-like line: short, no closing punctuation, mostly capitalised words."""
    line = line.strip()
    if not line or len(line) > 80 or line.endswith((".", ",", ";", ":", "?", "!", '"', "”")):
        return False
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", line)]
    if not words or len(words) > 12:
        return False
    caps = sum(1 for w in words if w[0].isupper())
    return caps / len(words) >= 0.5
