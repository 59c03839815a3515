"""Citations: build them from evidence spans, parse ``[n]`` markers, renumber
densely, and check the contract ``file_text[start:end] == quote``.

>>> parse_markers("A [2]. B [1][3].")
[2, 1, 3]
>>> renumber("A [2]. B [2][5].", {2: 1, 5: 2})
'A [1]. B [1][2].'
"""

from __future__ import annotations

import re

from .types import Citation, Passage

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


def check_citation(citation: Citation, file_text: str) -> bool:
    """True when the quote sits verbatim at its offsets in the file's text."""
    return file_text[citation.start:citation.end] == citation.quote
