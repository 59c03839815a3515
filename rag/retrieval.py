"""Retrieval: hybrid search over the index, dense (Chroma) + lexical (BM25),
fused with reciprocal rank fusion into typed :class:`Passage` objects.

>>> r = Retriever(settings, embeddings, client)  # doctest: +SKIP
>>> [p.source for p in r.search("Which resolutions were cited?", 3)]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import re
import time

import numpy as np

from .health import store_error
from .indexing import open_collection, stored_chunks, vector_store
from .settings import Settings
from .text import corpus_identifiers, sentence_spans, tokens
from .types import Chunk, Passage
from .units import Unit, chunk_units, passage_units, unit_key
from .unitstore import UnitStore

log = logging.getLogger(__name__)

_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
RRF_K = 60  # the constant from Cormack et al.; damps the weight of top ranks


class IndexMissing(RuntimeError):
    """No index exists yet at the configured location."""


class Retriever:
    """Holds the Chroma store and a BM25 index over the same chunks.

    The BM25 side is rebuilt when the collection's generation stamp changes, so
    a re-index by another process is picked up on the next query.
    """

    def __init__(self, settings: Settings, embeddings, client, unit_store: UnitStore | None = None) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self._unit_store = unit_store
        self._client = client
        self._generation: str | None = None
        self.chunks: list[Chunk] = []
        self._bm25 = None
        self.refresh()

    def refresh(self) -> None:
        """Reload chunks and BM25 if the index changed since the last load."""
        collection = open_collection(self._client, self.settings, create=False)
        try:
            count = collection.count() if collection is not None else 0
        except Exception as exc:  # a server that froze or went away after the collection was found
            raise store_error(exc, self.settings) from None
        if count == 0:
            raise IndexMissing(f"no index at {self.settings.index_location}; run `rag index`")
        generation = (collection.metadata or {}).get("rag_generation")
        if generation == self._generation and self._bm25 is not None:
            return
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s forces DEBUG on import

        self._collection = collection
        self._store = vector_store(self._client, self.settings, self.embeddings)
        self.chunks = stored_chunks(collection)
        self._by_id = {c.id: i for i, c in enumerate(self.chunks)}
        self._by_source: dict[str, list[Chunk]] = {}
        self._file_terms: dict[str, set[str]] = {}
        for c in self.chunks:
            self._by_source.setdefault(c.source, []).append(c)
        bm25 = bm25s.BM25()
        # bm25s rejects empty token lists; a placeholder keeps row numbers aligned.
        bm25.index([tokens(c.search_text) or ["\x00"] for c in self.chunks], show_progress=False)
        self._bm25 = bm25
        self.idf = _term_statistics(self.chunks)
        self.identifiers = set().union(*(corpus_identifiers(c.search_text) for c in self.chunks))
        self.years: dict[str, set[str]] = {}  # years each file mentions (a question's dates narrow its evidence)
        for c in self.chunks:
            self.years.setdefault(c.source, set()).update(_YEAR.findall(c.text))
        # The weight of a word the corpus never uses: that of a rare corpus word (90th
        # percentile), not the rarest, so one paraphrased word does not outweigh a question.
        self.absent_weight = float(np.percentile(list(self.idf.values()), 90)) if self.idf else 1.0
        self.vocab_sorted = sorted(self.idf)
        self._generation = generation
        log.info("retriever loaded %d chunks (generation %s)", len(self.chunks), generation)

    def chunk(self, chunk_id: str) -> Chunk | None:
        """The stored chunk with this id (with its blocks), or None."""
        i = self._by_id.get(chunk_id)
        return self.chunks[i] if i is not None else None

    def file_terms(self, source: str) -> set[str]:
        """Every token of ``source`` (computed on first use)."""
        if source not in self._file_terms:
            self._file_terms[source] = set().union(*(tokens(c.search_text) for c in self._by_source.get(source, [])))
        return self._file_terms[source]

    def file_identifiers(self, source: str) -> set[str]:
        """The code-like words of ``source``, lower-cased (computed on first use)."""
        key = "\x00ident:" + source
        if key not in self._file_terms:
            self._file_terms[key] = set().union(*(corpus_identifiers(c.search_text)
                                                  for c in self._by_source.get(source, [])))
        return self._file_terms[key]

    def previous_passage(self, passage: Passage) -> Passage | None:
        """The chunk just before ``passage`` in its file, as a passage (or None)."""
        chunk = self.chunk(passage.chunk_id)
        prev = self._previous(chunk) if chunk is not None else None
        return _as_passage(prev) if prev is not None else None

    def next_passage(self, passage: Passage) -> Passage | None:
        """The chunk that follows ``passage`` in its file, as a passage (or None)."""
        chunks = self._by_source.get(passage.source, [])
        for c in chunks:
            if c.start >= passage.end - 8 and c.id != passage.chunk_id:
                return _as_passage(c)
        return None

    def heading_span(self, source: str, pos: int, title: str) -> tuple[Passage, int, int] | None:
        """The heading block titled ``title`` nearest before ``pos`` in ``source``."""
        for c in reversed(self._by_source.get(source, [])):
            if c.start > pos:
                continue
            for b in reversed(c.blocks):
                if b.kind in ("heading", "term") and b.start < pos and \
                        " ".join(c.text[b.start - c.start:b.end - c.start].split()) == title:
                    return _as_passage(c), b.start, b.end
        return None

    def units(self, passage: Passage) -> list[Unit]:
        """The answer units of a retrieved passage (see :func:`rag.units.chunk_units`)."""
        chunk = self.chunk(passage.chunk_id)
        if chunk is None:
            return passage_units(passage, ())
        return chunk_units(chunk, self._previous(chunk), passage)

    def unit_vectors(self, units: list[Unit]) -> np.ndarray:
        """Embeddings of the units' readings: stored at index time, else computed now
        (and stored for next time)."""
        by_chunk: dict[str, list[Unit]] = {}
        for u in units:
            by_chunk.setdefault(u.passage.chunk_id, []).append(u)
        stored = self._unit_store.get(list(by_chunk)) if self._unit_store else {}
        missing = [u for u in units if unit_key(u) not in stored.get(u.passage.chunk_id, {})]
        if missing:
            vecs = self.embeddings.embed_documents([u.reading for u in missing])
            fresh: dict[str, dict] = {}
            for u, v in zip(missing, vecs):
                stored.setdefault(u.passage.chunk_id, {})[unit_key(u)] = np.asarray(v, dtype=np.float32)
                fresh[u.passage.chunk_id] = stored[u.passage.chunk_id]
            if self._unit_store:
                self._unit_store.put(fresh)
        return np.stack([stored[u.passage.chunk_id][unit_key(u)] for u in units])

    def _previous(self, chunk: Chunk) -> Chunk | None:
        """The chunk just before ``chunk`` in its file (as indexing saw it)."""
        same = self._by_source.get(chunk.source, [])
        i = next((k for k, c in enumerate(same) if c.id == chunk.id), 0)
        return same[i - 1] if i > 0 else None

    def lexical_scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (aligned with ``self.chunks``)."""
        q = tokens(query)
        if not q:
            return np.zeros(len(self.chunks))
        return np.asarray(self._bm25.get_scores(q), dtype=float)

    def search(self, query: str, k: int, query_vector: list[float] | None = None,
               timings: dict | None = None) -> list[Passage]:
        """Top-k passages by fused dense + lexical rank. ``timings``, when given,
        receives seconds per stage: ``embed_query``, ``dense``, ``lexical``, ``fusion``."""
        clock = _Clock(timings)
        pool = max(k * 3, 20)
        qv = query_vector if query_vector is not None else self.embeddings.embed_query(query)
        clock.lap("embed_query")
        try:
            dense = self._store.similarity_search_by_vector_with_relevance_scores(qv, k=min(pool, len(self.chunks)))
        except Exception as exc:
            raise store_error(exc, self.settings) from None
        dense_sim: dict[str, float] = {}
        for doc, distance in dense:
            dense_sim[doc.id] = 1.0 - float(distance)  # cosine space: distance = 1 - cos
        clock.lap("dense")
        lex = self.lexical_scores(query)
        lex_order = [i for i in np.argsort(-lex)[:pool] if lex[i] > 0]
        clock.lap("lexical")

        fused: dict[str, float] = {}
        for rank, cid in enumerate(dense_sim):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, i in enumerate(lex_order):
            cid = self.chunks[i].id
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)

        out: list[Passage] = []
        for cid, score in sorted(fused.items(), key=lambda kv: -kv[1])[:k]:
            if cid not in self._by_id:
                continue  # deleted between the two searches
            c = self.chunks[self._by_id[cid]]
            out.append(Passage(c.id, c.source, c.start, c.end, c.text, round(score, 6),
                               dense_score=round(dense_sim[cid], 4) if cid in dense_sim else None,
                               lexical_score=round(float(lex[self._by_id[cid]]), 4),
                               heading_path=c.heading_path))
        clock.lap("fusion")
        return out


class _Clock:
    """Adds the seconds since the previous lap to ``timings[name]`` (no-op without a dict)."""

    def __init__(self, timings: dict | None) -> None:
        self.timings = timings
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.timings is not None:
            self.timings[name] = self.timings.get(name, 0.0) + now - self._t
        self._t = now


def _as_passage(c: Chunk) -> Passage:
    """A stored chunk as a passage that was not ranked (score 0)."""
    return Passage(c.id, c.source, c.start, c.end, c.text, 0.0, heading_path=c.heading_path)


def inverse_frequency(n_chunks: int, df: int) -> float:
    """BM25-style IDF of a term found in ``df`` of ``n_chunks`` chunks."""
    return math.log(1 + (n_chunks - df + 0.5) / (df + 0.5))


def _term_statistics(chunks: list[Chunk]) -> dict[str, float]:
    """IDF of every corpus token (by chunk)."""
    df: dict[str, int] = {}
    for c in chunks:
        for t in set(tokens(c.text)):
            df[t] = df.get(t, 0) + 1
    n = len(chunks)
    return {t: inverse_frequency(n, d) for t, d in df.items()}
