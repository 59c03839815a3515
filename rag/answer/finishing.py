"""Finishing: the last step of ``ask()``, making an answer's text read well
without touching what it cites.

Two things go wrong when sentences are quoted out of their paragraphs:

* a sentence taken from the middle of a quotation brings its closing mark but
  not its opening one (``capabilities.” [1]``), or the reverse;
* a sentence that introduces a statement (``... said Secretary Clinton:``)
  is quoted without the statement.

:func:`balance_quotes` completes the pair in the answer text; each
:class:`~rag.Citation` keeps its verbatim quote. :func:`finish_answer` also
extends a citation that ends on a lead-in colon to the sentence it introduces
(still verbatim: the new quote is the file's text between the new offsets).

>>> balance_quotes("We intend to continue. [1]")
'We intend to continue. [1]'
>>> balance_quotes("to develop capabilities.” [1] “We oppose it [2]")
'“to develop capabilities.” [1] “We oppose it” [2]'
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

from rag.answer.citations import MARKER, renumber
from rag.settings import Settings
from rag.text import sentence_spans
from rag.objects import MAX_ANSWER_CHARS, Answer, Citation

log = logging.getLogger(__name__)

# An answer segment is the text between runs of markers: "text [1][2] text [3]".
_MARKERS_RUN = re.compile(r"(\s*(?:\[\d{1,3}\])+)")
_LEAD_IN = re.compile(r":[\s\"“]*$")
MAX_EXTENSION_CHARS = 600  # the introduced statement is one sentence, not a whole page


def balance_quotes(text: str) -> str:
    """``text`` with unpaired double quote marks completed, segment by segment
    (a segment is the text before a run of ``[n]`` markers). Text whose marks
    already pair up is returned unchanged.

    >>> balance_quotes('He said "we will act. [1]')
    'He said "we will act." [1]'
    >>> balance_quotes("“Both sides agree.” [1]")
    '“Both sides agree.” [1]'
    >>> balance_quotes('To make it fit, set width="10" and height="20" there. [1]')
    'To make it fit, set width="10" and height="20" there. [1]'
    """
    if _balanced(text):
        return text
    parts = _MARKERS_RUN.split(text)
    return "".join(p if i % 2 else _balance_segment(p) for i, p in enumerate(parts))


def _quote_events(text: str) -> list[tuple[int, str, str]]:
    """(position, "open"/"close", style) for each double quote mark; straight
    marks are opening after a space or bracket, closing otherwise."""
    events = []
    for i, ch in enumerate(text):
        if ch == "“":
            events.append((i, "open", "curly"))
        elif ch == "”":
            events.append((i, "close", "curly"))
        elif ch == '"':
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            opening = (before.isspace() or before in "([{—–-") and not after.isspace()
            events.append((i, "open" if opening else "close", "straight"))
    return events


def _unpaired(text: str) -> dict[str, tuple[int, int]]:
    """Per style: (closing marks with no opening before them, opening marks left open)."""
    out = {}
    for style in ("curly", "straight"):
        depth = missing_open = 0
        for _, kind, s in _quote_events(text):
            if s != style:
                continue
            if kind == "open":
                depth += 1
            elif depth:
                depth -= 1
            else:
                missing_open += 1
        out[style] = (missing_open, depth)
    return out


def _balanced(text: str) -> bool:
    return all(v == (0, 0) for v in _unpaired(text).values())


def _balance_segment(segment: str) -> str:
    """At most one mark added at each end per style: quote marks complete a
    quotation cut by the sentence boundary, they never pile up."""
    core = segment.strip()
    if not core:
        return segment
    lead = segment[:len(segment) - len(segment.lstrip())]
    trail = segment[len(segment.rstrip()):]
    missing_open, left_open = _unpaired(core)["curly"]
    core = "“" * min(missing_open, 1) + core + "”" * min(left_open, 1)
    # Straight marks look alike opening and closing, and also mark attributes (width="10"),
    # inches and code: an even number of them is left alone; an odd one gets its partner.
    straight = [(i, kind) for i, kind, style in _quote_events(core) if style == "straight"]
    inches = any(i and core[i - 1].isdigit() for i, _ in straight)  # 'a 5" screen'
    if len(straight) % 2 and not inches:
        first_closes = straight[0][1] == "close"
        core = '"' + core if first_closes else core + '"'
    return lead + core + trail


def finish_answer(answer: Answer, settings: Settings) -> Answer:
    """The answer with quote marks balanced and no statement cut off after its
    lead-in colon. Citations stay verbatim; refusals pass through unchanged.

    >>> a = Answer("He said: “we will act. [1]", [Citation(1, "a.txt", "He said: “we will act.", 0, 22)])
    >>> finish_answer(a, Settings()).text
    'He said: “we will act.” [1]'
    """
    if answer.refused or not answer.citations:
        return answer
    try:
        answer = _complete_lead_ins(answer, settings)
    except Exception as exc:  # the unfinished answer is still a correct one
        log.warning("could not complete a lead-in: %s", exc)
    text = balance_quotes(answer.text)
    if text == answer.text:
        return answer
    return Answer(text=text, citations=answer.citations, refused=answer.refused, warnings=answer.warnings,
                  passages=answer.passages, trace=answer.trace)


def _complete_lead_ins(answer: Answer, settings: Settings) -> Answer:
    """Extend each quoted sentence that ends on a lead-in colon, when the answer
    does not go on with what it introduces, to the sentence that follows it in
    the file; a later citation that the extension now contains is merged into it."""
    by_marker = {c.marker: c for c in answer.citations}
    segments = _segments(answer.text)
    changed = False
    for i, (seg, markers) in enumerate(segments):
        if len(markers) != 1 or markers[0] not in by_marker or not _LEAD_IN.search(seg):
            continue
        c = by_marker[markers[0]]
        if seg.strip() != " ".join(c.quote.split()):
            continue  # a model's own words, not a quoted sentence
        nxt = segments[i + 1][1] if i + 1 < len(segments) else []
        text = _document_text(settings, c.source)
        if text[c.start:c.end] != c.quote:
            continue  # the file changed since indexing: leave the citation as it is
        if nxt and nxt[0] in by_marker and by_marker[nxt[0]].source == c.source \
                and not text[c.end:by_marker[nxt[0]].start].strip():
            continue  # the answer already goes on with the introduced statement
        spans = sentence_spans(text[c.end:c.end + MAX_EXTENSION_CHARS], base=c.end)
        if not spans:
            continue
        new_end = spans[0][1]
        if len(answer.text) + (new_end - c.end) > MAX_ANSWER_CHARS:
            continue  # an answer stays short enough to read; the viewer shows what follows
        by_marker[c.marker] = Citation(c.marker, c.source, text[c.start:new_end], c.start, new_end)
        segments[i] = (" " + " ".join(text[c.start:new_end].split()), markers)
        changed = True
    if not changed:
        return answer
    # A later sentence that the extension now quotes is not repeated.
    old = {c.marker: c for c in answer.citations}
    grown = [c for m, c in by_marker.items() if c.end != old[m].end]

    def contained(m: int) -> bool:
        c = by_marker[m]
        return any(g.marker != m and g.source == c.source and g.start <= c.start and c.end <= g.end for g in grown)

    kept = [(seg, ms) for seg, ms in segments if not (ms and all(contained(m) for m in ms))]
    order = [m for _, ms in kept for m in ms]
    mapping = {old_n: new_n for new_n, old_n in enumerate(dict.fromkeys(order), start=1)}
    text = renumber("".join(seg + "".join(f" [{m}]" for m in ms) for seg, ms in kept).strip(), mapping)
    citations = sorted((Citation(mapping[c.marker], c.source, c.quote, c.start, c.end)
                        for c in by_marker.values() if c.marker in mapping), key=lambda c: c.marker)
    return Answer(text=text, citations=citations, refused=answer.refused, warnings=answer.warnings,
                  passages=answer.passages, trace={**answer.trace, "lead_ins_completed": True})


def _segments(text: str) -> list[tuple[str, list[int]]]:
    """``"A [1] B [2][3]"`` -> ``[("A", [1]), (" B", [2, 3])]``; trailing text
    without markers is a segment with none."""
    parts = _MARKERS_RUN.split(text)
    out = []
    for i in range(0, len(parts), 2):
        seg = parts[i]
        markers = [int(m) for m in MARKER.findall(parts[i + 1])] if i + 1 < len(parts) else []
        if seg or markers:
            out.append((seg, markers))
    return out


def _document_text(settings: Settings, source: str) -> str:
    from rag.ingest import split_source

    root = Path(settings.ingest.corpus_dir).resolve()
    path = (root / source).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"{source!r} is outside the corpus")
    st = split_source(path)[0].stat()  # a mail's attachment (mail.eml#a.pdf) changes with the mail
    return _cached_text(path, root, st.st_mtime_ns, st.st_size, settings)


@lru_cache(maxsize=8)
def _cached_text(path: Path, root: Path, mtime_ns: int, size: int, settings: Settings) -> str:
    # Parsing a PDF takes a second or more: not once per answer.
    from rag.ingest import document_text

    return document_text(path, settings, root=root)
