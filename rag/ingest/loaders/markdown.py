"""Markdown: rendered to plain text as blocks (CommonMark + tables, via markdown-it-py).

Inline markup is rendered as a reader sees it: emphasis and code marks
dropped, links reduced to their text, images and raw HTML tags dropped. Front
matter is skipped and MkDocs-style admonitions (``!!! note``) are read as text,
not as indented code.

>>> p = parse_markdown("---\\ntitle: x\\n---\\n# Setup\\n\\n| Option | Default |\\n|---|---|\\n| `port` | 8000 |\\n")
>>> p.text
'Setup\\n\\nOption: port; Default: 8000'
"""

from __future__ import annotations

import re

from rag.ingest.loaders.base import Parsed, TextBuilder

_FRONT_MATTER = re.compile(r"\A(?:---|\+\+\+)[ \t]*\n.*?\n(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
# MkDocs Material icon shortcodes (":material-github:") render as pictures, not words.
_ICON = re.compile(r":(?:material|fontawesome|octicons|simple)-[a-z0-9-]+:")
# MkDocs admonitions (!!! note "Title", ??? collapsible) and content tabs (=== "Windows").
_ADMONITION = re.compile(r"^(?P<indent>[ \t]*)(?:(?:!!!|\?\?\?\+?)[ \t]+\w[\w-]*(?:[ \t]+\"(?P<title>[^\"]*)\")?"
                         r"|===\+?[ \t]+\"(?P<tab>[^\"]*)\")[ \t]*$")


def parse_markdown(text: str) -> Parsed:
    """Blocks of a Markdown document (see the module docstring)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - a core dependency
        raise ValueError("Markdown support needs markdown-it-py: pip install markdown-it-py") from None
    text = _FRONT_MATTER.sub("", text, count=1)
    tokens = MarkdownIt("commonmark").enable("table").parse(_unfold_admonitions(text))
    return _Renderer().render(tokens)


def _unfold_admonitions(text: str) -> str:
    """``!!! note "Title"`` + an indented body -> the title as a line and the body dedented."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _ADMONITION.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = len(m.group("indent").expandtabs(4))
        if m.group("tab"):
            out += [f"{m.group('indent')}**{m.group('tab')}**", ""]  # a tab's name titles its content
        elif m.group("title"):
            out += [m.group("indent") + m.group("title"), ""]
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i].expandtabs(4)) -
                                  len(lines[i].expandtabs(4).lstrip()) >= indent + 4):
            out.append(lines[i].expandtabs(4)[indent + 4:] if lines[i].strip() else "")
            i += 1
    return "\n".join(out)


class _Renderer:
    def __init__(self) -> None:
        self.out = TextBuilder()
        self.items: list[list] = []  # open list items: [mark, emitted]
        self.pending: list[tuple[str, float]] = []  # list items waiting: (text, link share)
        self.lists = 0
        self.header: list[str] | None = None
        self.row: list[str] | None = None
        self.in_head = False

    def render(self, tokens) -> Parsed:
        heading: int | None = None
        for tok in tokens:
            t = tok.type
            if t == "heading_open":
                heading = int(tok.tag[1])
            elif t == "heading_close":
                heading = None
            elif t in ("bullet_list_open", "ordered_list_open"):
                if not self.lists:
                    self._flush_items()
                self.lists += 1
            elif t in ("bullet_list_close", "ordered_list_close"):
                self.lists -= 1
                if not self.lists:
                    self._flush_items()
            elif t == "list_item_open":
                self.items.append([len(self.out._stack), False])
            elif t == "list_item_close":
                mark, _ = self.items.pop()
                self.out.pop_context(mark)
            elif t == "thead_open":
                self.in_head = True
            elif t == "thead_close":
                self.in_head = False
            elif t == "table_open":
                self._flush_items()
                self.header = None
            elif t == "tr_open":
                self.row = []
            elif t == "tr_close":
                self._end_row()
            elif t in ("fence", "code_block"):
                self._flush_items()
                self.out.add("code", tok.content, keep_lines=True)
            elif t == "html_block":
                self._html(tok.content)
            elif t == "inline":
                text, link_share, bold_only = _inline(tok)
                if self.row is not None:
                    self.row.append(text.strip().rstrip(","))
                elif heading is not None:
                    self._flush_items()
                    self.out.heading(text, heading)
                else:
                    self._paragraph(text, link_share, bold_only)
        self._flush_items()
        return self.out.build()

    def _paragraph(self, text: str, link_share: float, bold_only: bool) -> None:
        text = " ".join(text.split())
        if not text:
            return
        in_item = bool(self.items)
        if bold_only and len(text) <= 160 and not text.endswith((".", ":", "!", ";", ",")):
            self._flush_items()
            self.out.pop_context(self.items[-1][0] if in_item else self._floor())
            self.out.push_context(text)  # "**Options**": titles what follows
            if in_item:
                self.items[-1][1] = True
            return
        if in_item and not self.items[-1][1]:
            self.items[-1][1] = True
            self.pending.append((text, link_share))
            if link_share < 0.8:
                self._flush_items()
            return
        self._flush_items()
        self.out.add("paragraph", text)

    def _floor(self) -> int:
        depth = len(self.out._stack)
        while depth and self.out._stack[depth - 1][0] >= 7:
            depth -= 1
        return depth

    def _flush_items(self) -> None:
        # Unlike HTML pages, Markdown sources carry no menus: a list of links is content
        # ("Projects using Hatch: Armory, in-toto..."), kept.
        items, self.pending = self.pending, []
        for text, _ in items:
            self.out.add("list_item", " ".join(text.rstrip(", ").split()))

    def _end_row(self) -> None:
        cells, self.row = self.row or [], None
        cells = [" ".join(c.split()) for c in cells]
        if self.in_head or self.header is None and not any(cells):
            self.header = cells
            return
        if self.header and len(self.header) == len(cells):
            text = "; ".join(f"{h}: {c}" if h and c else c for h, c in zip(self.header, cells) if c)
        else:
            text = " | ".join(c for c in cells if c)
        if text:
            self.out.add("table_row", text)

    def _html(self, content: str) -> None:
        from rag.ingest.loaders.html import parse_html

        parsed = parse_html(content)
        for b in parsed.blocks:
            piece = parsed.text[b.start:b.end]
            if b.kind == "heading":
                self.out.heading(piece, b.level)
            elif b.kind == "term":
                self.out.add("term", piece)
            else:
                self.out.add(b.kind, piece, keep_lines=b.kind == "code")


def _inline(tok) -> tuple[str, float, bool]:
    """(text, share of it inside links, whether it is all bold) of an inline token."""
    parts: list[str] = []
    link = 0
    linked = 0
    strong = 0
    plain_chars = 0
    for child in tok.children or []:
        t = child.type
        if t == "link_open":
            link += 1
        elif t == "link_close":
            link = max(0, link - 1)
        elif t == "strong_open":
            strong += 1
        elif t == "strong_close":
            strong = max(0, strong - 1)
        elif t in ("text", "code_inline"):
            parts.append(child.content)
            if link:
                linked += len(child.content.strip())
            if not strong:
                plain_chars += len(child.content.strip())
        elif t in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif t == "html_inline" and re.match(r"</(?:li|dd|dt|p|div|td|th)>", child.content, re.IGNORECASE):
            parts.append(", " if child.content.lower() == "</li>" else " ")  # "<ul><li>v1</li><li>v2</li>" in a cell
        elif t == "html_inline" and re.match(r"<(?:br|hr|p|div|li|ul|ol)\b", child.content, re.IGNORECASE):
            parts.append(" ")
        # images and other raw inline HTML are not text
    text = _ICON.sub("", "".join(parts))
    chars = max(1, len(text.strip()))
    return text, linked / chars, plain_chars == 0 and bool(text.strip())
