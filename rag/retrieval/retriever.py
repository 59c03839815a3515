"""Retrieval: hybrid search over the index, dense (Chroma) + lexical (BM25),
fused with reciprocal rank fusion into typed :class:`Passage` objects.

>>> r = Retriever(settings, embeddings, client)  # doctest: +SKIP
>>> [p.source for p in r.search("Which resolutions were cited?", 3)]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.store import index_busy, store_error
from rag.store import chunk_from_record, iter_chunks, lexicon_diff, open_collection
from rag.store import Lexicon
from rag.store import lexicon_folder
from rag.store import TokenStore, commit_lexicon, writer_lock
from rag.settings import Settings
from rag.text import corpus_identifiers, tokens
from rag.objects import Chunk, Passage
from rag.retrieval.units import Unit, chunk_units, passage_units, unit_key
from rag.store import UnitStore

log = logging.getLogger(__name__)

_YEAR = re.compile(r"\b(?:1[5-9]|20)\d\d\b")
RRF_K = 60  # the constant from Cormack et al.; damps the weight of top ranks
CHUNK_CACHE = 5000  # fetched chunks kept in memory
HEADING_LOOKBACK = 8  # chunks searched backwards for the heading that dates a unit


class IndexMissing(RuntimeError):
    """No index exists yet at the configured location."""


class Retriever:
    """Dense search in Chroma, BM25 from the saved lexicon (:mod:`rag.store.lexicon`),
    and the stored chunks they point to, fetched from Chroma as needed: nothing
    at start-up or per question grows with the size of the corpus but BM25's
    vectorised scoring.

    A re-index by another process (a new generation stamp) is picked up on the
    next query.
    """

    def __init__(self, settings: Settings, embeddings, client, unit_store: UnitStore | None = None) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self._unit_store = unit_store
        self._client = client
        self._generation: str | None = None
        self._lexicon: Lexicon | None = None
        self.refresh()

    @property
    def generation(self) -> str | None:
        """The index generation loaded (a new one after every index run that wrote)."""
        return self._generation

    # -- loading ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the lexicon if the index changed since the last load."""
        collection = open_collection(self._client, self.settings, create=False)
        try:
            count = collection.count() if collection is not None else 0
        except Exception as exc:  # a server that froze or went away after the collection was found
            raise store_error(exc, self.settings) from None
        if count == 0:
            raise IndexMissing(f"no index at {self.settings.index_location}; run `rag index`")
        meta = collection.metadata or {}
        generation = meta.get("rag_generation")
        if generation == self._generation and self._lexicon is not None:
            return
        self._collection = collection
        fp = meta.get("rag_fingerprint", "")
        lexicon = Lexicon.load(self.settings.store.index_dir, self.settings.store.collection, generation, fp)
        # While `rag index` runs (or after one was interrupted) the collection holds more or fewer
        # chunks than the last commit: that commit's lexicon still serves, dense search sees the rest.
        if lexicon is None or (len(lexicon.ids) != count and meta.get("rag_complete") is not False):
            lexicon = self._build_lexicon(collection, generation, fp)
        self._lexicon = lexicon
        self._chunks: dict[str, Chunk] = {}  # fetched chunks, by id (bounded below)
        self._ranges: dict[str, tuple[int, int]] = {}
        for i, source in enumerate(lexicon.sources):  # rows are sorted by source, then offset
            lo, _ = self._ranges.get(source, (i, i))
            self._ranges[source] = (lo, i + 1)
        self._file_terms: dict[str, set[str]] = {}
        self.idf = lexicon.idf
        self.vocab_sorted = lexicon.vocab_sorted
        self.identifiers = lexicon.identifiers
        self.years = _Years(self)
        # The weight of a word the corpus never uses: that of a rare corpus word (90th
        # percentile), not the rarest, so one paraphrased word does not outweigh a question.
        self.absent_weight = float(np.percentile(list(self.idf.values()), 90)) if self.idf else 1.0
        self._generation = generation
        log.info("retriever ready: %d chunks (generation %s)", len(lexicon.ids), generation)

    def _build_lexicon(self, collection, generation: str | None, fp: str) -> Lexicon:
        """The lexicon from Chroma's records (an index written elsewhere or by an older
        version), saved beside the index when the folder is writable and no writer
        holds it; otherwise built in a private temporary folder."""
        log.warning("building the lexical index from the store at %s (once)", self.settings.index_location)
        base = lexicon_folder(self.settings.store.index_dir, self.settings.store.collection)
        with contextlib.ExitStack() as stack:
            try:
                if index_busy(self.settings) or not stack.enter_context(writer_lock(base, wait=False)):
                    # `rag index` is writing the index and will save the lexicon itself: build a private one.
                    raise OSError("index busy")
                store = TokenStore(base / "tokens.sqlite3")
                where = self.settings.store.index_dir
            except (OSError, sqlite3.Error):
                tmp = Path(tempfile.mkdtemp(prefix="rag-lexicon-"))
                base = lexicon_folder(tmp, self.settings.store.collection)
                base.mkdir(parents=True)
                store, where = TokenStore(base / "tokens.sqlite3"), tmp
            try:
                rows, _ = lexicon_diff(store, collection, deleted=store.ids())
                commit_lexicon(base, store, generation or "", fp, added=rows, reset=True)
                lexicon = Lexicon.load(where, self.settings.store.collection, generation or "", fp)
                if lexicon is None:
                    raise RuntimeError(f"the lexicon built at {base} could not be loaded")
                return lexicon
            finally:
                store.close()
                if where != self.settings.store.index_dir:
                    # A private copy: loaded (memory-mapped files stay readable once unlinked), so not left in /tmp.
                    shutil.rmtree(where, ignore_errors=True)

    # -- chunks ---------------------------------------------------------------------------
    def chunk(self, chunk_id: str) -> Chunk | None:
        """The stored chunk with this id (with its blocks), or None."""
        return self._fetch([chunk_id]).get(chunk_id)

    def _fetch(self, ids: list[str]) -> dict[str, Chunk]:
        """The chunks with these ids (those that still exist), from the cache or the
        store. The result does not depend on the cache, which another thread may clear."""
        cache = self._chunks
        have = {i: cache[i] for i in dict.fromkeys(ids) if i in cache}
        want = [i for i in dict.fromkeys(ids) if i not in have]
        if want:
            try:
                got = self._collection.get(ids=want, include=["documents", "metadatas"])
            except Exception as exc:
                raise store_error(exc, self.settings) from None
            if len(self._chunks) + len(want) > CHUNK_CACHE:
                self._chunks = {}  # bounded memory; a new dict, so readers of the old one are unaffected
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                have[cid] = self._chunks[cid] = chunk_from_record(cid, text, meta)
        return have

    def _row_chunk(self, row: int) -> Chunk | None:
        return self.chunk(self._lexicon.ids[row])

    def source_chunks(self, source: str) -> list[Chunk]:
        """Every chunk of one file, in order."""
        lo, hi = self._ranges.get(source, (0, 0))
        ids = self._lexicon.ids[lo:hi]
        got = self._fetch(ids)
        return [got[i] for i in ids if i in got]

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk (read from the store: for corpus-wide work, not per question)."""
        return list(iter_chunks(self._collection))

    def sample(self, n: int) -> list[Chunk]:
        """Up to ``n`` chunks, the same ones for a given index (for example questions)."""
        step = max(1, len(self._lexicon.ids) // n)
        ids = self._lexicon.ids[::step][:n]
        got = self._fetch(ids)
        return [got[i] for i in ids if i in got]

    def containing(self, terms: list[str], skip_sources=(), page: int = 200):
        """The chunks that hold every one of ``terms`` (stems), in file order, fetched a
        page at a time; files in ``skip_sources`` (which the caller may fill while
        iterating) are not fetched again."""
        rows = None
        for t in terms:
            held = set(self._lexicon.holding(t).tolist())
            rows = held if rows is None else rows & held
        pending = sorted(rows or ())
        while pending:
            batch, rest = [], []
            for r in pending:
                if self._lexicon.sources[r] in skip_sources:
                    continue
                (batch if len(batch) < page else rest).append(r)
            pending = rest
            ids = [self._lexicon.ids[r] for r in batch]
            got = self._fetch(ids)
            yield from (got[i] for i in ids if i in got)

    def file_terms(self, source: str) -> set[str]:
        """Every token of ``source`` (computed on first use)."""
        if source not in self._file_terms:
            self._file_terms[source] = set().union(*(tokens(c.search_text) for c in self.source_chunks(source)))
        return self._file_terms[source]

    def file_identifiers(self, source: str) -> set[str]:
        """The code-like words of ``source``, lower-cased (computed on first use)."""
        key = "\x00ident:" + source
        if key not in self._file_terms:
            self._file_terms[key] = set().union(*(corpus_identifiers(c.search_text)
                                                  for c in self.source_chunks(source)))
        return self._file_terms[key]

    def _neighbour(self, chunk: Chunk, step: int) -> Chunk | None:
        row = self._lexicon.row.get(chunk.id)
        if row is None:
            return None
        other = row + step
        if 0 <= other < len(self._lexicon.ids) and self._lexicon.sources[other] == chunk.source:
            return self._row_chunk(other)
        return None

    def _previous(self, chunk: Chunk) -> Chunk | None:
        """The chunk just before ``chunk`` in its file (as indexing saw it)."""
        return self._neighbour(chunk, -1)

    def previous_passage(self, passage: Passage) -> Passage | None:
        """The chunk just before ``passage`` in its file, as a passage (or None)."""
        chunk = self.chunk(passage.chunk_id)
        prev = self._previous(chunk) if chunk is not None else None
        return _as_passage(prev) if prev is not None else None

    def next_passage(self, passage: Passage) -> Passage | None:
        """The chunk that follows ``passage`` in its file, as a passage (or None)."""
        chunk = self.chunk(passage.chunk_id)
        nxt = self._neighbour(chunk, 1) if chunk is not None else None
        return _as_passage(nxt) if nxt is not None else None

    def heading_span(self, source: str, pos: int, title: str) -> tuple[Passage, int, int] | None:
        """The heading block titled ``title`` nearest before ``pos`` in ``source``."""
        lo, hi = self._ranges.get(source, (0, 0))
        rows = [r for r in range(lo, hi) if self._lexicon.starts[r] <= pos]
        for r in reversed(rows[-HEADING_LOOKBACK:]):
            c = self._row_chunk(r)
            if c is None:
                continue
            for b in reversed(c.blocks):
                if b.kind in ("heading", "term") and b.start < pos and \
                        " ".join(c.text[b.start - c.start:b.end - c.start].split()) == title:
                    return _as_passage(c), b.start, b.end
        return None

    # -- answer units -----------------------------------------------------------------------
    def units(self, passage: Passage) -> list[Unit]:
        """The answer units of a retrieved passage (see :func:`rag.retrieval.units.chunk_units`)."""
        chunk = self.chunk(passage.chunk_id)
        if chunk is None:
            return passage_units(passage, ())
        return chunk_units(chunk, self._previous(chunk), passage)

    def unit_vectors(self, units: list[Unit]) -> np.ndarray:
        """Embeddings of the units' readings: stored by an earlier question, else computed
        now and stored for the next one."""
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

    # -- search ---------------------------------------------------------------------------------
    def search(self, query: str, k: int, query_vector: list[float] | None = None,
               timings: dict | None = None) -> list[Passage]:
        """Top-k passages by fused dense + lexical rank. ``timings``, when given,
        receives seconds per stage: ``embed_query``, ``dense``, ``lexical``, ``fusion``."""
        clock = _Clock(timings)
        lex_idx = self._lexicon
        pool = max(k * 3, 20)
        qv = query_vector if query_vector is not None else self.embeddings.embed_query(query)
        clock.lap("embed_query")
        try:
            dense = self._collection.query(query_embeddings=[list(map(float, qv))],
                                           n_results=min(pool, len(lex_idx.ids)),
                                           include=["documents", "metadatas", "distances"])
        except Exception as exc:
            raise store_error(exc, self.settings) from None
        dense_sim: dict[str, float] = {}
        cache = self._chunks
        for cid, text, meta, distance in zip(dense["ids"][0], dense["documents"][0], dense["metadatas"][0],
                                             dense["distances"][0]):
            dense_sim[cid] = 1.0 - float(distance)  # cosine space: distance = 1 - cos
            if cid not in cache:
                cache[cid] = chunk_from_record(cid, text, meta)
        clock.lap("dense")
        lex = lex_idx.scores(tokens(query))
        top = np.argpartition(-lex, min(pool, len(lex) - 1))[:pool] if len(lex) > pool else np.arange(len(lex))
        lex_order = [int(i) for i in top[np.argsort(-lex[top])] if lex[i] > 0]
        clock.lap("lexical")

        fused: dict[str, float] = {}
        for rank, cid in enumerate(dense_sim):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, i in enumerate(lex_order):
            cid = lex_idx.ids[i]
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        got = self._fetch([cid for cid, _ in best])
        out: list[Passage] = []
        for cid, score in best:
            c = got.get(cid)
            if c is None:
                continue  # deleted between the two searches
            row = lex_idx.row.get(cid)
            out.append(Passage(c.id, c.source, c.start, c.end, c.text, round(score, 6),
                               dense_score=round(dense_sim[cid], 4) if cid in dense_sim else None,
                               lexical_score=round(float(lex[row]), 4) if row is not None else 0.0,
                               heading_path=c.heading_path))
        clock.lap("fusion")
        return out


class _Years:
    """Years each file mentions, looked up per file on first use (a question's dates
    narrow its evidence)."""

    def __init__(self, retriever: Retriever) -> None:
        self._r = retriever
        self._seen: dict[str, set[str]] = {}

    def get(self, source: str, default=None):
        if source not in self._seen:
            self._seen[source] = {y for c in self._r.source_chunks(source) for y in _YEAR.findall(c.text)}
        return self._seen[source] or default


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
