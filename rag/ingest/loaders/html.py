"""HTML: visible content as blocks, without navigation, menus or page chrome.

When the page marks its main content (``<main>``, ``role="main"``, or a single
``<article>``), only that is read. Tables become one block per row, each cell
labelled with its column header ("Level: CRITICAL; Numeric value: 50");
definition lists become fields ("Author: Vinay Sajip") or, when the definition
is long, a term that titles the paragraphs under it; lists whose items are all
links (tables of contents, menus) are dropped.

>>> p = parse_html("<nav><a href=x>Home</a></nav><main><h1>Guide¶</h1><p>Hello\\n  world.</p></main>")
>>> p.text
'Guide\\n\\nHello world.'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from rag.ingest.loaders.base import PSEUDO_LEVEL, Parsed, TextBuilder, clean_inline

# Never content.
_SKIP_TAGS = {"script", "style", "head", "title", "noscript", "template", "svg", "nav", "aside", "footer",
              "form", "button", "select", "option", "textarea", "iframe", "object", "canvas", "dialog", "menu"}
_SKIP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar", "toolbar",
               "dialog"}
# Class/id words that mark chrome in the page generators people use (Sphinx, MkDocs,
# Docusaurus, Javadoc, Doxygen, Hugo themes...).
_SKIP_WORDS = {"nav", "navbar", "navigation", "sidebar", "sphinxsidebar", "sidenav", "menu", "breadcrumb",
               "breadcrumbs", "toc", "toctree", "related", "footer", "headerlink", "skip", "pager", "pagination",
               "masthead", "topbar", "searchbox", "hidden", "visually", "sr", "screen", "copybtn", "anchorjs",
               "permalink", "edit", "printfooter", "catlinks", "mw", "jump"}
_SKIP_LINK_WORDS = {"headerlink", "anchorjs", "permalink", "copybtn", "skip"}
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "blockquote", "li", "ul", "ol", "dl", "dt",
               "dd", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "pre", "h1", "h2", "h3", "h4", "h5",
               "h6", "figure", "figcaption", "caption", "hr", "address", "details", "summary", "center"}
_VOID = {"br", "img", "hr", "input", "meta", "link", "wbr", "area", "base", "col", "embed", "source", "track"}
_WORD_SPLIT = re.compile(r"[\s_\-]+")
_LABEL = re.compile(r"[A-Z][a-z]+(?: [A-Za-z][a-z]+){0,2}")  # "Note", "See also", "Example"
_MAIN = re.compile(r"<main\b|role\s*=\s*[\"']?main\b", re.IGNORECASE)
# A definition longer than this titles its paragraphs instead of reading as one field.
_FIELD_CHARS = 300


def parse_html(html: str) -> Parsed:
    """Blocks of an HTML page (see the module docstring)."""
    parser = _Blocks(main_only=bool(_MAIN.search(html)))
    parser.feed(html)
    parser.close()
    return parser.finish()


@dataclass
class _Table:
    header: list[str] | None = None
    in_head: bool = False
    row: list[tuple[str, bool, int]] | None = None  # (text, is_header_cell, colspan)
    cell: list[str] | None = None
    cell_is_th: bool = False
    cell_span: int = 1
    rows: int = 0


@dataclass
class _Item:
    """An open list item: its own text is a list_item, later paragraphs in it are paragraphs."""

    mark: int
    emitted: bool = False


@dataclass
class _Def:
    """An open definition-list entry: the term waits until we know how long its definition is."""

    term: str = ""
    parts: list[str] = field(default_factory=list)
    mark: int | None = None  # set once the term was pushed as a context


class _Blocks(HTMLParser):
    def __init__(self, main_only: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.out = TextBuilder()
        self.main_only = main_only
        self._main_depth = 0  # open main-content elements
        self._skip: list[tuple[str, int]] = []  # (tag, nesting) of the element being skipped
        self._open: list[str] = []  # open block tags (lenient: unclosed ones are popped later)
        self._buf: list[str] = []
        self._link_chars = 0
        self._in_link = 0
        self._bold = 0
        self._pre = 0
        self._heading: int | None = None
        self._bold_only = True
        self._tables: list[_Table] = []
        self._items: list[_Item] = []
        self._lists = 0  # open ul/ol elements
        self._defs: list[_Def] = []
        self._pending_items: list[tuple[str, float]] = []  # list items of the current list: (text, link share)
        self._main_tag: str | None = None

    # -- skipping -------------------------------------------------------------
    def _skippable(self, tag: str, attrs: dict, block: bool) -> bool:
        if tag in _SKIP_TAGS:
            return True
        if "hidden" in attrs or attrs.get("aria-hidden") == "true":
            return True
        if (attrs.get("role") or "").lower() in _SKIP_ROLES:
            return True
        style = (attrs.get("style") or "").replace(" ", "").lower()
        if "display:none" in style or "visibility:hidden" in style:
            return True
        words = set(_WORD_SPLIT.split(((attrs.get("class") or "") + " " + (attrs.get("id") or "")).lower()))
        # Class words only judge containers: a link classed "toc-backref" inside a heading is its text.
        return bool(words & (_SKIP_WORDS if block else _SKIP_LINK_WORDS))

    def _is_main(self, tag: str, attrs: dict) -> bool:
        return tag == "main" or (attrs.get("role") or "").lower() == "main"

    # -- parser events ------------------------------------------------------------
    def handle_starttag(self, tag, attrs):
        attrs = {k.lower(): (v or "") for k, v in attrs}
        if self._skip:
            if tag == self._skip[-1][0] and tag not in _VOID:
                self._skip[-1] = (tag, self._skip[-1][1] + 1)
            return
        if tag not in _VOID and self._skippable(tag, attrs, block=tag in _BLOCK_TAGS or tag == "span"):
            # A skipped container inside a list item, cell... still ends the text before it.
            self._skip.append((tag, 1))
            return
        if self.main_only and self._main_depth == 0:
            if self._is_main(tag, attrs):
                self._main_depth = 1
                self._main_tag = tag
            return
        if self.main_only and tag == self._main_tag:
            self._main_depth += 1
        if tag in _BLOCK_TAGS:
            self._block_start(tag)
        elif tag == "br":
            self._data("\n" if self._pre else " ")
        elif tag == "a":
            self._in_link += 1
        elif tag in ("b", "strong"):
            self._bold += 1
        elif tag == "sup":
            self._data("^")
        # Images are not text: their alt text is often "logo" or a file name.

    def handle_endtag(self, tag):
        if self._skip:
            name, depth = self._skip[-1]
            if tag == name:
                if depth > 1:
                    self._skip[-1] = (name, depth - 1)
                else:
                    self._skip.pop()
            return
        if self.main_only and self._main_depth == 0:
            return
        if tag in _BLOCK_TAGS:
            self._block_end(tag)
        elif tag == "a":
            self._in_link = max(0, self._in_link - 1)
        elif tag in ("b", "strong"):
            self._bold = max(0, self._bold - 1)
        if self.main_only and tag == self._main_tag:
            self._main_depth -= 1

    def handle_data(self, data):
        if self._skip or (self.main_only and self._main_depth == 0):
            return
        self._data(data)

    def _data(self, data: str) -> None:
        if not data:
            return
        if not self._pre and data.strip() and not self._bold:
            self._bold_only = False
        if self._in_link:
            self._link_chars += len(data.strip())
        if self._tables and self._tables[-1].cell is not None:
            self._tables[-1].cell.append(data)
        else:
            self._buf.append(data)

    # -- blocks ------------------------------------------------------------------------
    def _block_start(self, tag: str) -> None:
        table = self._tables[-1] if self._tables else None
        in_cell = table is not None and table.cell is not None
        if in_cell and tag not in ("td", "th", "tr", "table", "thead", "tbody", "tfoot"):
            return  # paragraphs, lists... inside a cell are part of the cell's text
        self._flush()
        # Lenient HTML: a new item/cell/row/term closes the open one.
        if tag == "li":
            self._close_until("li", stop_at=("ul", "ol"))
        elif tag in ("dt", "dd"):
            self._close_until("dd", stop_at=("dl",))
            self._close_until("dt", stop_at=("dl",))
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "p":
            self._close_until("p", stop_at=("li", "dd", "td", "th", "div", "blockquote", "section"))
        self._open.append(tag)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = int(tag[1])
        elif tag == "pre":
            self._pre += 1
        elif tag == "li":
            self._items.append(_Item(mark=len(self.out._stack)))
        elif tag in ("ul", "ol"):
            if not self._lists:
                self._flush_items()
            self._lists += 1
        elif tag == "dt":
            if self._defs:
                self._end_def()
            self._defs.append(_Def())
        elif tag == "table":
            self._tables.append(_Table())
        elif tag == "thead" and table is not None:
            table.in_head = True
        elif tag in ("tbody", "tfoot") and table is not None:
            table.in_head = False
        elif tag in ("td", "th") and table is not None:
            table.cell, table.cell_is_th, table.cell_span = [], tag == "th", 1
        elif tag == "tr" and table is not None:
            table.row = []
        self._bold_only = True

    def _block_end(self, tag: str) -> None:
        table = self._tables[-1] if self._tables else None
        if table is not None and table.cell is not None and tag not in ("td", "th", "tr", "table"):
            return
        if tag not in self._open:
            return  # a stray end tag
        self._flush()
        while self._open:
            top = self._open.pop()
            self._closed(top)
            if top == tag:
                break
        self._bold_only = True

    def _close_until(self, tag: str, stop_at: tuple[str, ...]) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i] in stop_at:
                return
            if self._open[i] == tag:
                while len(self._open) > i:
                    self._closed(self._open.pop())
                return

    def _closed(self, tag: str) -> None:
        """Bookkeeping when an element ends (its text was already flushed)."""
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self._heading = None
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        elif tag == "li" and self._items:
            item = self._items.pop()
            self.out.pop_context(item.mark)
        elif tag in ("ul", "ol"):
            self._lists = max(0, self._lists - 1)
            if not self._lists:
                self._flush_items()
        elif tag == "dd" and self._defs:
            self._end_def()
        elif tag == "dl":
            while self._defs:
                self._end_def()
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table" and self._tables:
            self._end_cell()
            self._end_row()
            self._tables.pop()

    def _flush(self) -> None:
        """Emit the text gathered since the last block boundary."""
        raw = "".join(self._buf)
        self._buf = []
        link_share = self._link_chars / max(1, len(raw.strip()))
        self._link_chars = 0
        if not raw.strip():
            return
        inner = self._innermost("li", "dt", "dd")
        if self._heading is not None:
            self._flush_items()
            self._settle_defs()
            self.out.heading(raw, self._heading)
            return
        if self._pre:
            self._flush_items()
            self._settle_defs()
            self.out.add("code", raw, keep_lines=True)
            return
        text = clean_inline(raw)
        if not text:
            return
        if self._defs and inner == "dt":
            self._defs[-1].term += " " + text
            return
        if self._defs and inner == "dd":
            d = self._defs[-1]
            if d.mark is None and sum(len(p) for p in d.parts) + len(text) <= _FIELD_CHARS and len(d.parts) < 1:
                d.parts.append(text)  # may still turn out to be a short field
                return
            self._term_as_context(d)
            self.out.add("paragraph", text)
            return
        if self._bold_only and len(text) <= 160 and not text.endswith((".", ":", "!", ";", ",")) \
                and len(text.split()) <= 15:
            # A bold-only short line titles what follows ("Maximum length of a string"), also
            # inside a list item (then until the item ends).
            self._flush_items()
            self._settle_defs()
            in_item = bool(self._items) and inner == "li"
            # The next bold title replaces this one (within the same list item, or outside lists).
            self.out.pop_context(self._items[-1].mark if in_item else self._context_floor())
            self.out.push_context(text)
            if in_item:
                self._items[-1].emitted = True
            return
        if inner == "li":
            self._settle_defs()
        if self._items and inner == "li" and not self._items[-1].emitted:
            self._items[-1].emitted = True
            # Lists of links (tables of contents, menus) wait: they are dropped if all items are links.
            self._pending_items.append((text, link_share))
            if link_share < 0.8:
                self._flush_items()
            return
        self._flush_items()
        if link_share >= 0.9 and len(text) < 80:
            return  # "Previous topic", "Next »", "Show Source": links alone are navigation
        if _LABEL.fullmatch(text):
            self.out.add("term", text)  # a label ("Note", "Example"): context, never an answer
            return
        self.out.add("paragraph", text)

    def _context_floor(self) -> int:
        """Stack depth below which contexts belong to open definitions or items."""
        marks = [d.mark + 1 for d in self._defs if d.mark is not None] + [i.mark for i in self._items]
        depth = len(self.out._stack)
        while depth and self.out._stack[depth - 1][0] >= PSEUDO_LEVEL:
            depth -= 1
        return max([depth] + marks)

    def _innermost(self, *tags: str) -> str | None:
        """The innermost open element among ``tags``."""
        for tag in reversed(self._open):
            if tag in tags:
                return tag
        return None

    def _flush_items(self) -> None:
        """Emit waiting list items unless they form a list of links (three or more)."""
        items, self._pending_items = self._pending_items, []
        if len(items) >= 3 and all(share >= 0.8 for _, share in items):
            return
        for text, _ in items:
            self.out.add("list_item", text)

    def _settle_defs(self) -> None:
        """Structured content (a list, code, a table) inside a definition: its term titles it."""
        if self._defs and "dd" in self._open:
            self._term_as_context(self._defs[-1])

    def _term_as_context(self, d: _Def) -> None:
        if d.mark is None:
            d.mark = self.out.push_context(d.term)
            for part in d.parts:
                self.out.add("paragraph", part)
            d.parts = []

    def _end_def(self) -> None:
        d = self._defs.pop()
        term = clean_inline(d.term)
        if d.mark is not None:
            self.out.pop_context(d.mark)
        elif term and d.parts:
            sep = " " if term.endswith(":") else ": "
            self.out.add("field", term + sep + " ".join(d.parts))
        elif term:
            mark = self.out.push_context(term)  # a term with no definition (yet): a signature
            self.out.pop_context(mark)
        elif d.parts:
            for part in d.parts:
                self.out.add("paragraph", part)

    # -- tables ---------------------------------------------------------------------------
    def _end_cell(self) -> None:
        t = self._tables[-1] if self._tables else None
        if t is None or t.cell is None:
            return
        if t.row is None:
            t.row = []
        t.row.append((clean_inline("".join(t.cell)), t.cell_is_th, t.cell_span))
        t.cell = None

    def _end_row(self) -> None:
        t = self._tables[-1] if self._tables else None
        if t is None or not t.row:
            if t is not None:
                t.row = None
            return
        row, t.row = t.row, None
        if (t.in_head or all(is_th for _, is_th, _ in row)) and t.header is None:
            t.header = [text for text, _, _ in row]
            return
        t.rows += 1
        cells = [text for text, _, _ in row]
        if t.header and len(t.header) == len(cells):
            pieces = [f"{h}: {c}" if h and c else c for h, c in zip(t.header, cells) if c]
            text = "; ".join(pieces)
        else:
            text = " | ".join(c for c in cells if c)
        if text:
            self._flush_items()
            self._settle_defs()
            self.out.add("table_row", text)

    def finish(self) -> Parsed:
        self._flush()
        while self._open:
            self._closed(self._open.pop())
        self._flush_items()
        return self.out.build()
