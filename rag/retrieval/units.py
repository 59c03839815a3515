"""Answer units: the pieces of retrieved passages that a reader can use as an answer.

A unit is a whole sentence of a paragraph, a whole list item (with the sentence
that introduces the list, when that sentence ends with a colon), a table row
(which carries its column headers), or a field ("Default: 5 seconds").
Headings, terms, signatures and code are never units: they are the context of
the units under them (``Unit.headings``) and count toward a unit's match with
the question, but an answer never consists of a title alone.

>>> from rag.objects import Block, Passage
>>> text = "Setup\\n\\nRun it. Then stop."
>>> p = Passage("c1", "a.md", 0, len(text), text, 1.0)
>>> blocks = (Block("heading", 0, 5, 1), Block("paragraph", 7, len(text), 0, ("Setup",)))
>>> [(u.kind, u.text, u.headings) for u in passage_units(p, blocks)]
[('sentence', 'Run it.', ('Setup',)), ('sentence', 'Then stop.', ('Setup',))]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.text import sentence_spans
from rag.objects import Block, Passage

# A list item or row longer than this is split into sentences instead.
MAX_UNIT_CHARS = 360
# A code block this short is quoted with the sentence that introduces it.
MAX_CODE_CHARS = 240
_CONTEXT_KINDS = ("heading", "term", "code")
_ENDED = re.compile(r"[.!?][\"'”’)\]]*\s*$")


@dataclass(frozen=True)
class Unit:
    """A candidate answer at document offsets ``[start, end)`` of ``passage.source``.

    ``lead`` is the span of the sentence that introduces it (a list's "...the
    following:"), quoted before it; ``before`` the text just before it in its
    block (context only, never quoted).
    """

    passage: Passage
    start: int
    end: int
    text: str
    kind: str  # sentence | list_item | table_row | field
    headings: tuple[str, ...] = ()
    lead: tuple[int, int] | None = None
    lead_text: str = ""
    lead_passage: Passage | None = None  # holds the lead-in when it is not in ``passage``
    before: str = ""
    first_in_block: bool = True

    @property
    def reading(self) -> str:
        """What the unit says, with its lead-in: the text to embed and to score."""
        return f"{self.lead_text} {self.text}" if self.lead_text else self.text


def passage_units(passage: Passage, blocks: tuple[Block, ...] | list[Block],
                  lead_before: tuple[Passage, int, int] | None = None) -> list[Unit]:
    """The units of one passage. ``blocks`` are the chunk's blocks (document
    offsets); without them the passage is one paragraph. ``lead_before`` is the
    sentence just before the passage (in the passage that holds it, start,
    end), so a list that opens the passage keeps its lead-in."""
    text, base = passage.text, passage.start
    if not blocks:
        blocks = (Block("paragraph", passage.start, passage.end),)
    units: list[Unit] = []
    lead: tuple[int, int, str] | None = None
    holder: Passage | None = None
    if lead_before is not None:
        hp, ls, le = lead_before
        ltext = hp.text[ls - hp.start:le - hp.start]
        if ltext.rstrip().endswith(":"):
            lead, holder = (ls, le, ltext), hp
    for b in blocks:
        s, e = max(b.start, passage.start), min(b.end, passage.end)
        if e <= s:
            continue
        body = text[s - base:e - base]
        if b.kind in _CONTEXT_KINDS:
            if b.kind != "code":
                lead, holder = None, None  # a new title ends the lead-in of a list above it
            continue
        whole = b.kind in ("list_item", "table_row", "field") and e - s <= MAX_UNIT_CHARS
        if whole:
            lead_span = (lead[0], lead[1]) if lead and b.kind == "list_item" else None
            units.append(Unit(passage, s, e, body, b.kind, b.headings, lead_span,
                              lead[2] if lead_span else "", holder if lead_span else None))
            continue
        spans = sentence_spans(body, base=s, lines=False)
        code = _code_after(blocks, b, passage)
        prev = ""
        for i, (a, z) in enumerate(spans):
            last = text[a - base:z - base].rstrip()
            if code is not None and i == len(spans) - 1 and (last.endswith(":") or not _ENDED.search(last)):
                # "...run:" or "The default setting is" + the code it introduces: one answer.
                z = code.end
            if i == 0 and b.kind == "paragraph" and text[a - base:a - base + 1].islower() and units and \
                    units[-1].kind == "sentence" and not _ENDED.search(units[-1].text) and z - units[-1].start <= \
                    MAX_UNIT_CHARS and _only_code_between(blocks, units[-1].end, a):
                # "...by using the expression [code] which gives...": one sentence around an example.
                a = units.pop().start
            sent = text[a - base:z - base]
            lead_span = (lead[0], lead[1]) if lead and i == 0 and b.kind == "list_item" else None
            units.append(Unit(passage, a, z, sent, "sentence" if b.kind == "paragraph" else b.kind,
                              b.headings, lead_span, lead[2] if lead_span else "", holder if lead_span else None,
                              prev, i == 0))
            prev = sent
        if b.kind == "paragraph":
            # The paragraph's last sentence introduces what follows when it ends with a colon.
            last = spans[-1] if spans else None
            lead = (last[0], last[1], text[last[0] - base:last[1] - base]) if last and \
                text[last[0] - base:last[1] - base].rstrip().endswith(":") else None
            holder = None
    return units


def _code_after(blocks, block: Block, passage: Passage) -> Block | None:
    """The short code block right after ``block`` inside the passage, if any."""
    i = list(blocks).index(block)
    if i + 1 < len(blocks):
        nxt = blocks[i + 1]
        if nxt.kind == "code" and nxt.end <= passage.end and nxt.end - nxt.start <= MAX_CODE_CHARS:
            return nxt
    return None


def _only_code_between(blocks, end: int, start: int) -> bool:
    """Only code blocks (at least one) lie between offsets ``end`` and ``start``, or
    ``end`` closes a code block (a sentence already extended over its short example)
    and nothing lies between."""
    between = [b for b in blocks if b.start >= end and b.end <= start]
    if between:
        return all(b.kind == "code" for b in between)
    return any(b.kind == "code" and b.end == end for b in blocks)


def chunk_units(chunk, previous=None, passage: Passage | None = None) -> list[Unit]:
    """The units of a stored chunk (its blocks), with a lead-in from ``previous``
    (the chunk just before it in its file) when that ends with a colon. The same
    call at index time and at question time gives the same units, so their
    vectors can be computed once (see :mod:`rag.store.unitstore`)."""
    p = passage or Passage(chunk.id, chunk.source, chunk.start, chunk.end, chunk.text, 0.0,
                           heading_path=chunk.heading_path)
    lead = None
    if previous is not None and previous.source == chunk.source and previous.end <= chunk.start + 8:
        spans = sentence_spans(previous.text, base=previous.start, lines=False)
        if spans:
            holder = Passage(previous.id, previous.source, previous.start, previous.end, previous.text, 0.0,
                             heading_path=previous.heading_path)
            lead = (holder, *spans[-1])
    return passage_units(p, chunk.blocks, lead)


def unit_key(u: Unit) -> tuple[int, int, int]:
    """What identifies a unit's vector within its chunk: its span and its lead-in."""
    return (u.start, u.end, u.lead[0] if u.lead else -1)
