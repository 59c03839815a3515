"""Hand-made documents and a retriever over them, for the unit tests of the answering core.

No Chroma, no lexicon, no model: a document is a list of blocks written in the test, its
chunks are runs of those blocks, and :class:`FakeRetriever` exposes exactly what
``ExtractiveAnswerer.score_units`` and ``ExtractiveAnswerer.window`` read from the real
``rag.retrieval.Retriever`` (units, unit_vectors, idf, absent_weight, file_terms,
file_identifiers, years, chunk, previous_passage, next_passage, heading_span), computed
the same way on these few chunks. Unit vectors come from the deterministic, model-free
``HashEmbeddings`` (a unit's similarity to the question is its share of hashed words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.answer.extractive import Scored, Signals
from rag.embeddings import HashEmbeddings
from rag.text import corpus_identifiers, tokens
from rag.objects import Block, Chunk, Passage
from rag.retrieval.units import Unit, chunk_units

_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
HASH = HashEmbeddings()


@dataclass(frozen=True)
class Doc:
    source: str
    text: str
    blocks: tuple[Block, ...]
    chunks: tuple[Chunk, ...]


def document(source: str, parts: list[tuple[str, str]], chunks: list[tuple[int, int]] | None = None,
             sep: str = "\n\n") -> Doc:
    """A document of ``parts`` ((kind, text) blocks joined by ``sep``). A ``heading`` block
    titles the blocks after it (``("heading2", ...)`` is a level-2 heading under the last
    level-1 one). ``chunks`` are [first, last) block index ranges (default: one chunk)."""
    text, blocks, path = "", [], []
    for kind, body in parts:
        if text:
            text += sep
        start, end = len(text), len(text) + len(body)
        text += body
        if kind.startswith("heading"):
            level = int(kind[7:] or 1)
            path = path[:level - 1]
            blocks.append(Block("heading", start, end, level, tuple(path)))
            path.append(body)
        else:
            blocks.append(Block(kind, start, end, 0, tuple(path)))
    out = []
    for n, (a, b) in enumerate(chunks or [(0, len(blocks))]):
        s, e = blocks[a].start, blocks[b - 1].end
        out.append(Chunk(f"{source}#{n}", source, s, e, text[s:e], "sha-" + source, " > ".join(blocks[a].headings),
                         tuple(blocks[a:b])))
    return Doc(source, text, tuple(blocks), tuple(out))


def as_passage(c: Chunk, score: float = 1.0) -> Passage:
    return Passage(c.id, c.source, c.start, c.end, c.text, score, heading_path=c.heading_path)


class FakeRetriever:
    """What the extractive answerer reads from a retriever, over hand-made documents.

    ``idf`` defaults to 1.0 for every token of the corpus and ``absent_weight`` to 1.0, so
    a unit's coverage is the plain share of the question's terms it mentions (dates 0.3)."""

    def __init__(self, *docs: Doc, idf: dict[str, float] | None = None, absent_weight: float = 1.0) -> None:
        self.docs = {d.source: d for d in docs}
        self._chunks = {c.id: c for d in docs for c in d.chunks}
        self.idf = idf if idf is not None else {t: 1.0 for c in self._chunks.values() for t in tokens(c.search_text)}
        self.absent_weight = absent_weight
        self.years = {d.source: {y for c in d.chunks for y in _YEAR.findall(c.text)} or None for d in docs}
        self.embedded: list[str] = []  # the readings unit_vectors was asked for

    def passage(self, source: str, n: int = 0, score: float = 1.0) -> Passage:
        return as_passage(self.docs[source].chunks[n], score)

    # -- as rag.retrieval.Retriever ------------------------------------------------------
    def chunk(self, chunk_id: str) -> Chunk | None:
        return self._chunks.get(chunk_id)

    def _neighbour(self, chunk: Chunk, step: int) -> Chunk | None:
        chunks = self.docs[chunk.source].chunks
        i = chunks.index(chunk) + step
        return chunks[i] if 0 <= i < len(chunks) else None

    def previous_passage(self, passage: Passage) -> Passage | None:
        prev = self._neighbour(self._chunks[passage.chunk_id], -1)
        return as_passage(prev, 0.0) if prev is not None else None

    def next_passage(self, passage: Passage) -> Passage | None:
        nxt = self._neighbour(self._chunks[passage.chunk_id], 1)
        return as_passage(nxt, 0.0) if nxt is not None else None

    def units(self, passage: Passage) -> list[Unit]:
        chunk = self._chunks[passage.chunk_id]
        return chunk_units(chunk, self._neighbour(chunk, -1), passage)

    def unit_vectors(self, units: list[Unit]) -> np.ndarray:
        self.embedded += [u.reading for u in units]
        return np.asarray(HASH.embed_documents([u.reading for u in units]), dtype=np.float32)

    def file_terms(self, source: str) -> set[str]:
        return set().union(*(tokens(c.search_text) for c in self.docs[source].chunks))

    def file_identifiers(self, source: str) -> set[str]:
        return set().union(*(corpus_identifiers(c.search_text) for c in self.docs[source].chunks))

    def heading_span(self, source: str, pos: int, title: str) -> tuple[Passage, int, int] | None:
        for c in reversed([c for c in self.docs[source].chunks if c.start <= pos]):
            for b in reversed(c.blocks):
                if b.kind in ("heading", "term") and b.start < pos and \
                        " ".join(c.text[b.start - c.start:b.end - c.start].split()) == title:
                    return as_passage(c, 0.0), b.start, b.end
        return None


def scored(unit: Unit, dense: float = 0.5, cover_own: float = 0.5, score: float | None = None,
           **signals) -> Scored:
    """A unit with hand-set signals (what ``window`` reads: dense, cover_own, kind_in_heading)."""
    sig = Signals(**{"dense": dense, "cover": cover_own, "cover_own": cover_own, "kind": 0.0, "kind_asked": "other",
                     "attr_words": [], "attr_missing": [], **signals})
    return Scored(unit, score if score is not None else 0.725 * dense + cover_own, sig)
