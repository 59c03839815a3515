"""The lexical side of the index, kept beside Chroma: BM25 over every chunk, the
corpus's term statistics (IDF) and its code-like words, in immutable segments
(the Lucene model), so that an edit costs what it changes and a new process
memory-maps what is there instead of rebuilding anything.

Files, in ``<index>/lexicon-<collection>/``:

* ``seg-<id>/``: a segment, never changed once written: its chunks' ids and
  places (``places.json``), token counts (``doclen.npy``) and term postings by
  global term id (``indptr.npy``, ``indices.npy``, ``tf.npy``);
* ``del-<id>.npy``: which rows of a segment are deleted (chunks edited or removed since);
* ``terms-<id>.json``: the global term list (ids only ever appended), ``df-<id>.npy``
  how many live chunks hold each term, ``idents-<id>.json`` the code-like words with counts;
* ``manifest-<generation>.json``: one commit: the files above that make up the
  lexicon of that collection generation (the last few are kept, so a reader that
  saw the previous generation a moment ago still finds its files);
* ``meta.json``: a copy of the latest manifest;
* ``tokens.sqlite3``: the writer's record: every chunk's tokens and segment row,
  and the latest manifest; its transaction is the writer's switch
  (:mod:`rag.store.lexicon_writer` writes all of these; this module reads them).

BM25 (bm25s's Lucene variant, the same formula and parameters) is scored at query
time from the segments' term frequencies and the live statistics, so a commit
writes one small segment, the deletions of the segments it touched and the global
statistics (O(vocabulary)); small segments are merged a tier at a time. Every file
is written under a new name and the manifest is switched last (``os.replace``):
a crash at any point leaves the previous commit whole, and readers on other
hosts sharing the folder never see half a commit.

>>> lex = Lexicon.load(Path("index"), "corpus", generation, fingerprint)  # doctest: +SKIP
>>> lex.scores(["wal", "checkpoint"]).argmax()  # the best BM25 row  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

VERSION = 2
K1, B = 1.5, 0.75  # bm25s's defaults, kept so scores match the full rebuilds before
EMPTY_TOKEN = "\x00"  # a chunk without tokens counts as one placeholder token (as bm25s needed)


def folder(index_dir: Path, collection: str) -> Path:
    return Path(index_dir) / f"lexicon-{collection}"


def inverse_frequency(n_chunks: int, df: int) -> float:
    """BM25-style IDF of a term found in ``df`` of ``n_chunks`` chunks."""
    return math.log(1 + (n_chunks - df + 0.5) / (df + 0.5))


# -- the reader ------------------------------------------------------------------------

class _Segment:
    """A loaded segment: memory-mapped postings and its rows' places."""

    def __init__(self, path: Path) -> None:
        # Memory-mapped, seen as plain arrays (slicing a np.memmap costs more than the slice itself).
        self.indptr = np.load(path / "indptr.npy", mmap_mode="r").view(np.ndarray)
        self.indices = np.load(path / "indices.npy", mmap_mode="r").view(np.ndarray)
        self.tf = np.load(path / "tf.npy", mmap_mode="r").view(np.ndarray)
        self.doclen = np.load(path / "doclen.npy")
        self.places = json.loads((path / "places.json").read_text(encoding="utf-8"))


_SEGMENTS: dict[str, _Segment] = {}  # immutable files: a reload reads only new segments
_SEGMENTS_LOCK = threading.Lock()


def _segment(path: Path) -> _Segment:
    key = str(path)
    with _SEGMENTS_LOCK:
        seg = _SEGMENTS.get(key)
    if seg is None:
        seg = _Segment(path)
        with _SEGMENTS_LOCK:
            if len(_SEGMENTS) > 256:
                _SEGMENTS.clear()
            _SEGMENTS[key] = seg
    return seg


@dataclass
class _Order:
    ids: list[str]
    sources: list[str]
    starts: list[int]
    ends: list[int]
    to_row: list[np.ndarray]  # per segment: its rows' places in the lists above (-1: deleted)


def _file_order(segments: list[tuple[dict, np.ndarray | None]]) -> _Order:
    """The live rows of all segments in file order. Each segment is in file order
    already; the largest is taken whole (sliced around its deleted rows) and the
    rows of the others are inserted where they belong, so that loading costs list
    copies, not a sort of every row."""
    if not segments:
        return _Order([], [], [], [], [])
    big = max(range(len(segments)), key=lambda k: len(segments[k][0]["ids"]))
    places, mask = segments[big]
    live = None if mask is None else np.flatnonzero(~mask)
    cols = {}
    for name in ("ids", "sources", "starts", "ends"):
        col = places[name]  # shared with the segment cache, never changed
        cols[name] = col if live is None else [col[i] for i in live.tolist()]
    others = []  # (source, start, segment, row) of the other segments' live rows
    for k, (p, m) in enumerate(segments):
        if k != big:
            rows = range(len(p["ids"])) if m is None else np.flatnonzero(~m).tolist()
            others += [(p["sources"][r], p["starts"][r], k, r) for r in rows]
    others.sort()
    n_big = len(cols["ids"])
    srcs, starts = cols["sources"], cols["starts"]
    at = []  # where each of ``others`` goes, as an index into the big segment's live rows
    for source, start, _, _ in others:
        lo, hi = bisect_left(srcs, source), bisect_right(srcs, source)
        at.append(lo + bisect_left(starts[lo:hi], start))
    out = {name: [] for name in cols} if others else cols
    prev = 0
    for (source, start, k, r), pos in zip(others, at):
        for name in cols:
            out[name].extend(cols[name][prev:pos])
            out[name].append(segments[k][0][name][r])
        prev = pos
    if others:
        for name in cols:
            out[name].extend(cols[name][prev:])
    # Global rows: a big-segment row moves down by the rows inserted before it.
    at_arr = np.asarray(at, dtype=np.int64)
    shift = np.searchsorted(at_arr, np.arange(n_big), side="right")
    to_row = [np.full(len(p["ids"]), -1, dtype=np.int64) for p, _ in segments]
    local = np.arange(n_big) if live is None else live
    to_row[big][local] = np.arange(n_big) + shift
    for m, ((_, _, k, r), pos) in enumerate(zip(others, at)):
        to_row[k][r] = pos + m
    return _Order(out["ids"], out["sources"], out["starts"], out["ends"], to_row)


class Lexicon:
    """A loaded lexicon: rows are the live chunks in file order (source, then
    offset); BM25 over them, IDF, and identifiers."""

    def __init__(self, base: Path, manifest: dict) -> None:
        segs = [(_segment(base / s["name"]),
                 np.load(base / s["deleted"]) if s.get("deleted") else None) for s in manifest["segments"]]
        self._parts = []
        order = _file_order([(seg.places, mask) for seg, mask in segs])
        self.ids, self.sources, self.starts, self.ends = order.ids, order.sources, order.starts, order.ends
        self.row = dict(zip(self.ids, range(len(self.ids))))
        n = len(self.ids)
        avgdl = (manifest["total_len"] / n) if n else 1.0
        for (seg, mask), to_row in zip(segs, order.to_row):
            self._parts.append((seg, to_row, (K1 * (1 - B + B * seg.doclen / avgdl)).astype(np.float32),
                                mask is not None))
        terms = json.loads((base / manifest["terms"]).read_text(encoding="utf-8")) if manifest["terms"] else []
        df = np.load(base / manifest["df"]) if manifest["df"] else np.zeros(0, dtype=np.int32)
        self._term_of = {t: j for j, t in enumerate(terms)}
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self._idf = np.where(df > 0, idf, 0).astype(np.float32)
        self.idf = {t: float(idf[j]) for j, t in enumerate(terms) if df[j] > 0 and t != EMPTY_TOKEN and t}
        self.vocab_sorted = sorted(self.idf)
        self.identifiers = set(json.loads((base / manifest["idents"]).read_text(encoding="utf-8"))) \
            if manifest["idents"] else set()

    @staticmethod
    def _manifest(index_dir: Path, collection: str, generation: str | None, fingerprint: str) -> dict | None:
        """The saved manifest of this collection state, else None."""
        base = folder(index_dir, collection)
        for name in ("meta.json", f"manifest-{generation}.json"):
            try:
                meta = json.loads((base / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if (meta.get("version"), meta.get("generation"), meta.get("fingerprint")) == \
                    (VERSION, generation, fingerprint):
                return meta
        return None

    @classmethod
    def is_current(cls, index_dir: Path, collection: str, generation: str | None, fingerprint: str) -> bool:
        """Whether a saved lexicon was committed for this collection state (reads one small file)."""
        return cls._manifest(index_dir, collection, generation, fingerprint) is not None

    @classmethod
    def load(cls, index_dir: Path, collection: str, generation: str | None, fingerprint: str) -> "Lexicon | None":
        """The saved lexicon for this collection state, or None (missing, stale or damaged)."""
        base = folder(index_dir, collection)
        meta = cls._manifest(index_dir, collection, generation, fingerprint)
        if meta is None:
            return None
        try:
            lex = cls(base, meta)
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            log.info("no usable lexicon at %s (%s)", base, exc)
            return None
        if len(lex.ids) != meta.get("chunks"):
            return None
        return lex

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk, in :attr:`ids` order (a repeated query word counts twice)."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        for t in query_tokens:
            j = self._term_of.get(t)
            if j is None or not self._idf[j]:
                continue
            w = self._idf[j]
            for seg, to_row, norm, has_deleted in self._parts:
                if j + 1 >= len(seg.indptr):
                    continue
                lo, hi = int(seg.indptr[j]), int(seg.indptr[j + 1])
                if lo == hi:
                    continue
                local = seg.indices[lo:hi]
                tf = seg.tf[lo:hi]
                rows = to_row[local]
                contrib = w * tf / (tf + norm[local])
                if has_deleted:
                    live = rows >= 0
                    rows, contrib = rows[live], contrib[live]
                out[rows] += contrib  # rows are distinct within one term's postings
        return out.astype(float)

    def holding(self, term: str) -> np.ndarray:
        """Rows of the chunks that contain ``term``, ascending."""
        j = self._term_of.get(term)
        if j is None:
            return np.zeros(0, dtype=np.int64)
        parts = []
        for seg, to_row, _, _ in self._parts:
            if j + 1 < len(seg.indptr):
                rows = to_row[seg.indices[int(seg.indptr[j]):int(seg.indptr[j + 1])]]
                parts.append(rows[rows >= 0])
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
