"""Citations: build them from evidence spans, parse ``[n]`` markers (also in a
model's answer: marker lists, sentences with their markers), renumber densely,
and check the contract ``file_text[start:end] == quote``.

>>> parse_markers("A [2]. B [1][3].")
[2, 1, 3]
>>> renumber("A [2]. B [2][5].", {2: 1, 5: 2})
'A [1]. B [1][2].'
"""

from __future__ import annotations

import re
from rag.objects import Answer, Citation, Passage

MARKER = re.compile(r"\[(\d{1,3})\]")


def parse_markers(text: str) -> list[int]:
    """Marker numbers in order of appearance (repeats kept)."""
    return [int(m.group(1)) for m in MARKER.finditer(text)]


def renumber(text: str, mapping: dict[int, int]) -> str:
    """Rewrite ``[old]`` to ``[new]``; markers not in ``mapping`` are removed."""
    def sub(m: re.Match) -> str:
        new = mapping.get(int(m.group(1)))
        return f"[{new}]" if new is not None else ""

    out = MARKER.sub(sub, text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", out)).strip()


def citation_from_span(marker: int, passage: Passage, start: int, end: int) -> Citation:
    """A citation of ``passage`` text at absolute file offsets ``[start, end)``."""
    if not passage.start <= start < end <= passage.end:
        raise ValueError(f"span {start}:{end} lies outside passage {passage.chunk_id}")
    quote = passage.text[start - passage.start:end - passage.start]
    return Citation(marker=marker, source=passage.source, quote=quote, start=start, end=end)


# -- markers in a model's answer ------------------------------------------------

_LEADING_MARKERS = re.compile(r"(?:\s*\[\d{1,3}\])+")  # used with .match(text, pos)
_MARKER_LIST = re.compile(r"\[\s*(?:passages?\s*)?(\d{1,3}(?:\s*(?:,|and|&)\s*(?:passages?\s*)?\d{1,3})*)\s*\]",
                          re.IGNORECASE)

def normalize_markers(text: str) -> str:
    """Rewrite marker lists models like to write into separate markers.

    >>> normalize_markers("A [1, 2]. B [Passage 3]. C [4 and 5].")
    'A [1][2]. B [3]. C [4][5].'
    """
    def sub(m: re.Match) -> str:
        return "".join(f"[{n}]" for n in re.findall(r"\d{1,3}", m.group(1)))

    return _MARKER_LIST.sub(sub, text)


def claim_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans of an answer, markers attached to the sentence they follow
    (also when written after the full stop: "Tokyo. [1] Then...").

    >>> t = "He went to Tokyo. [1] He met Abe [2]."
    >>> [t[s:e] for s, e in claim_spans(t)]
    ['He went to Tokyo. [1]', 'He met Abe [2].']
    """
    from rag.text import sentence_spans

    out: list[list[int]] = []
    for s, e in sentence_spans(text):
        lead = _LEADING_MARKERS.match(text, s)
        if lead and out:
            out[-1][1] = lead.end()
            s = lead.end()
            while s < e and text[s].isspace():
                s += 1
        if s >= e:
            continue
        if out and not any(ch.isalnum() for ch in MARKER.sub("", text[s:e])):
            out[-1][1] = e  # markers-only fragment
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def strip_markers(text: str) -> str:
    """The sentence without its markers, spaces tidied.

    >>> strip_markers("He met Abe [2] in Tokyo [1].")
    'He met Abe in Tokyo.'
    """
    return _tidy(MARKER.sub("", text))


def _tidy(text: str) -> str:
    out = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", out).strip()


def rewrite_markers(sentence: str, new_numbers: list[int | None]) -> str:
    """Replace the sentence's markers, in order, by ``new_numbers`` (None
    removes one); a marker repeated right after itself is dropped.

    >>> rewrite_markers("A [3][7] and B [3].", [1, None, 1])
    'A [1] and B [1].'
    """
    it = iter(new_numbers)

    def sub(m: re.Match) -> str:
        new = next(it, None)
        return f"[{new}]" if new is not None else ""

    out = MARKER.sub(sub, sentence)
    out = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", out)
    return _tidy(out)


class CitationBook:
    """Assigns dense marker numbers in order of first use; one citation per
    distinct quoted span (two sentences citing different parts of one passage
    get two markers, each with the quote that supports it).

    >>> book = CitationBook()
    >>> p = Passage("c", "a.txt", 0, 20, "One two. Three four.", 1.0)
    >>> book.add(p, 9, 20), book.add(p, 0, 8), book.add(p, 9, 20)
    (1, 2, 1)
    """

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._by_span: dict[tuple[str, int, int], int] = {}

    def add(self, passage: Passage, start: int, end: int) -> int:
        key = (passage.source, start, end)
        if key not in self._by_span:
            n = len(self.citations) + 1
            self.citations.append(citation_from_span(n, passage, start, end))
            self._by_span[key] = n
        return self._by_span[key]


def merge_answers(parts: list[tuple[str, Answer]]) -> Answer:
    """One answer from the answers to the parts of a compound question:
    markers renumbered densely across parts (a span cited twice keeps one
    marker), parts the corpus cannot answer named in the text and warnings.
    Refused only when every part is. A sentence that two parts both answer with
    is said once, and each warning appears once.

    >>> a = Answer("X [1]", [Citation(1, "a.txt", "X", 0, 1)])
    >>> b = Answer("Y [1]", [Citation(1, "b.txt", "Y", 5, 6)])
    >>> m = merge_answers([("q1?", a), ("q2?", b)])
    >>> m.text, [c.marker for c in m.citations]
    ('X [1] Y [2]', [1, 2])
    >>> merge_answers([("q1?", a), ("q2?", a)]).text
    'X [1]'
    """
    answered = [(q, a) for q, a in parts if not a.refused]
    if not answered:
        reasons = "; ".join(f"{q} ({a.trace.get('refusal_reason', 'no answer')})" for q, a in parts)
        first = parts[0][1]
        return Answer(text=first.text.split(":")[0] + f": {reasons}.", refused=True,
                      warnings=list(dict.fromkeys(w for _, a in parts for w in a.warnings)),
                      trace={"part_answers": [{"question": q, **a.trace} for q, a in parts]})
    citations: list[Citation] = []
    by_span: dict[tuple[str, int, int], int] = {}
    texts: list[str] = []
    said: set[str] = set()
    warnings: list[str] = []
    for q, a in parts:
        warnings += a.warnings
        if a.refused:
            texts.append(f"(The corpus does not answer: {q})")
            warnings.append(f"no answer in the corpus for: {q}")
            continue
        mapping: dict[int, int] = {}
        for c in a.citations:
            key = (c.source, c.start, c.end)
            if key not in by_span:
                by_span[key] = len(citations) + 1
                citations.append(Citation(by_span[key], c.source, c.quote, c.start, c.end))
            mapping[c.marker] = by_span[key]
        text = _without_repeats(renumber(a.text, mapping), said)
        if text:
            texts.append(text)
    text = " ".join(texts)
    used = list(dict.fromkeys(parse_markers(text)))
    if used != [c.marker for c in citations]:  # a repeated sentence took the only use of a citation
        dense = {old: new for new, old in enumerate(used, start=1)}
        text = renumber(text, dense)
        citations = [Citation(dense[c.marker], c.source, c.quote, c.start, c.end)
                     for c in sorted(citations, key=lambda c: dense.get(c.marker, 0)) if c.marker in dense]
    return Answer(text=text, citations=citations, refused=False, warnings=list(dict.fromkeys(warnings)),
                  trace={"part_answers": [{"question": q, **a.trace} for q, a in parts]})


def _without_repeats(text: str, said: set[str]) -> str:
    """``text`` without the sentences already in ``said`` (which it extends);
    unchanged when it repeats none."""
    spans = claim_spans(text)
    keys = [" ".join(strip_markers(text[s:e]).lower().split()) for s, e in spans]
    if not any(k and k in said for k in keys):
        said.update(keys)
        return text
    kept = []
    for (s, e), key in zip(spans, keys):
        if key and key in said:
            continue
        said.add(key)
        kept.append(text[s:e])
    return " ".join(kept)
