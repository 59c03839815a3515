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
  and the latest manifest; its transaction is the writer's switch.

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

import contextlib
import json
import logging
import math
import os
import shutil
import sqlite3
import threading
import uuid
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .text import corpus_identifiers, tokens

log = logging.getLogger(__name__)

VERSION = 2
K1, B = 1.5, 0.75  # bm25s's defaults, kept so scores match the full rebuilds before
_EMPTY = "\x00"  # a chunk without tokens counts as one placeholder token (as bm25s needed)
KEEP_MANIFESTS = 3
MERGE_FACTOR = 8  # segments of one size tier merged together (sizes in powers of MERGE_FACTOR)
MAX_DELETED = 0.5  # a segment with more of its rows deleted than this is rewritten


def folder(index_dir: Path, collection: str) -> Path:
    return Path(index_dir) / f"lexicon-{collection}"


def inverse_frequency(n_chunks: int, df: int) -> float:
    """BM25-style IDF of a term found in ``df`` of ``n_chunks`` chunks."""
    return math.log(1 + (n_chunks - df + 0.5) / (df + 0.5))


def token_row(chunk) -> tuple[str, str, int, int, str, str]:
    """What the token store keeps of a chunk: the tokens of its text under its heading path."""
    return (chunk.id, chunk.source, chunk.start, chunk.end, " ".join(tokens(chunk.search_text)),
            " ".join(sorted(corpus_identifiers(chunk.search_text))))


class TokenStore:
    """The writer's record (SQLite): per chunk its tokens and where it sits in the
    segments, and the manifest of the last commit. Changed only by :func:`commit`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30)
        self.db.execute("CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, source TEXT, start INTEGER, "
                        "end INTEGER, tokens TEXT, idents TEXT)")
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(chunks)")}
        with self.db:
            if "seg" not in cols:  # a version-1 store: its chunks are in no segment yet
                self.db.execute("ALTER TABLE chunks ADD COLUMN seg TEXT")
                self.db.execute("ALTER TABLE chunks ADD COLUMN row INTEGER")
            self.db.execute("CREATE INDEX IF NOT EXISTS chunks_seg ON chunks (seg)")
            self.db.execute("CREATE INDEX IF NOT EXISTS chunks_source ON chunks (source)")
            self.db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT)")

    def _delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            self.db.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)

    def ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def rows(self, ids: list[str]) -> list[tuple]:
        """(id, tokens, idents, seg, row) of these chunks (those that exist)."""
        out = []
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            out += self.db.execute(f"SELECT id, tokens, idents, seg, row FROM chunks WHERE id IN "
                                   f"({','.join('?' * len(part))})", part).fetchall()
        return out

    def ids_by_source(self, sources: list[str]) -> dict[str, set[str]]:
        """Chunk ids of these sources (those that have any)."""
        out: dict[str, set[str]] = {}
        for i in range(0, len(sources), 500):
            part = sources[i:i + 500]
            for cid, source in self.db.execute(f"SELECT id, source FROM chunks WHERE source IN "
                                               f"({','.join('?' * len(part))})", part):
                out.setdefault(source, set()).add(cid)
        return out

    def manifest(self) -> dict | None:
        row = self.db.execute("SELECT value FROM state WHERE key = 'manifest'").fetchone()
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        self.db.close()


# -- segments ------------------------------------------------------------------------

@dataclass
class _Built:
    name: str
    ids: list[str]
    df: Counter
    idents: Counter
    total_len: int


def _count(toks: str) -> tuple[Counter, int]:
    words = toks.split() or [_EMPTY]
    return Counter(words), len(words)


def _write_segment(base: Path, rows: list[tuple], term_id: dict[str, int], terms: list[str]) -> _Built:
    """Write rows (id, source, start, end, tokens, idents) as a new segment; new
    terms are appended to ``terms``/``term_id``."""
    rows = sorted(rows, key=lambda r: (r[1], r[2]))  # file order, as readers list rows
    tids: list[int] = []
    tfs: list[int] = []
    lens: list[int] = []
    dl: list[int] = []
    df: Counter = Counter()
    idents: Counter = Counter()
    for _, _, _, _, toks, ids_ in rows:
        counts, n = _count(toks)
        lens.append(len(counts))
        dl.append(n)
        for t, c in counts.items():
            j = term_id.get(t)
            if j is None:
                j = term_id[t] = len(terms)
                terms.append(t)
            tids.append(j)
            tfs.append(c)
        df.update(counts.keys())
        idents.update(ids_.split())
    doclen = np.asarray(dl, dtype=np.int32)
    tid = np.asarray(tids, dtype=np.int64)
    local = np.repeat(np.arange(len(rows), dtype=np.int32), np.asarray(lens, dtype=np.int64))
    order = np.argsort(tid, kind="stable")  # by term, rows ascending within a term
    indptr = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum(np.bincount(tid, minlength=len(terms)), out=indptr[1:])
    indices = local[order]
    tf = np.asarray(tfs, dtype=np.float32)[order]
    name = f"seg-{uuid.uuid4().hex[:16]}"
    tmp = base / f".{name}.tmp"
    tmp.mkdir()
    for fname, arr in (("indptr", indptr), ("indices", indices), ("tf", tf), ("doclen", doclen)):
        np.save(tmp / f"{fname}.npy", arr)
    (tmp / "places.json").write_text(json.dumps({"ids": [r[0] for r in rows], "sources": [r[1] for r in rows],
                                                 "starts": [r[2] for r in rows], "ends": [r[3] for r in rows]}),
                                     encoding="utf-8")
    _fsync_dir(tmp)
    os.replace(tmp, base / name)
    return _Built(name, [r[0] for r in rows], df, idents, int(doclen.sum()))


def _fsync_dir(path: Path) -> None:
    for p in path.iterdir():
        with open(p, "rb") as f:
            os.fsync(f.fileno())


def _write_new(base: Path, prefix: str, suffix: str, write) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:16]}{suffix}"
    tmp = base / f".{name}.tmp"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, base / name)
    return name


def _write_json(base: Path, prefix: str, data) -> str:
    return _write_new(base, prefix, ".json", lambda f: f.write(json.dumps(data).encode("utf-8")))


def _write_npy(base: Path, prefix: str, arr: np.ndarray) -> str:
    return _write_new(base, prefix, ".npy", lambda f: np.save(f, arr))


def _replace_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(data))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# -- the writer ------------------------------------------------------------------------

LOCK = ".writer.lock"


@contextlib.contextmanager
def writer_lock(base: Path, *, wait: bool = True):
    """One writer at a time per lexicon folder, across processes (and hosts, on a
    shared file system with working locks: NFSv4, SMB). Yields False when
    ``wait`` is False and another writer holds it."""
    import fcntl

    base.mkdir(parents=True, exist_ok=True)
    fd = os.open(base / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def commit(base: Path, store: TokenStore, generation: str, fingerprint: str, *,
           deleted: list[str] = (), added: list[tuple] = (), reset: bool = False) -> dict:
    """Apply chunk deletions and additions (:func:`token_row` tuples) to the lexicon in
    ``base`` and commit it for ``generation``; ``reset`` starts from nothing (the lexicon
    is then exactly ``added``). Returns the new manifest. Costs what changed, plus the
    global statistics (O(vocabulary)); the token store changes in one transaction with
    the manifest, so a crash anywhere leaves the previous commit."""
    base.mkdir(parents=True, exist_ok=True)
    prev = None if reset else store.manifest()
    if prev is not None and (prev.get("version") != VERSION or not _files_exist(base, prev)):
        log.warning("lexicon in %s is of another version or incomplete: rebuilding it from the token store", base)
        prev = None
    everything = prev is None  # no usable commit: every chunk of the store goes into the new segment
    if everything:
        prev = {"segments": [], "terms": None, "df": None, "idents": None, "chunks": 0, "total_len": 0}
    terms: list[str] = json.loads((base / prev["terms"]).read_text(encoding="utf-8")) if prev["terms"] else []
    term_id = {t: i for i, t in enumerate(terms)}
    n_terms_before = len(terms)
    df = np.load(base / prev["df"]).astype(np.int64) if prev["df"] else np.zeros(0, dtype=np.int64)
    idents = Counter(json.loads((base / prev["idents"]).read_text(encoding="utf-8"))) if prev["idents"] else Counter()
    n_chunks, total_len = int(prev["chunks"]), int(prev["total_len"])
    segments = {s["name"]: dict(s) for s in prev["segments"]}
    stats = _Stats(term_id, df, idents)

    # Deletions: replaced or removed chunks leave their segment (a row mask) and the statistics.
    drop = set(deleted) | {r[0] for r in added}
    dead: dict[str, list[int]] = {}
    for cid, toks, ids_, seg, row in ([] if everything else store.rows(sorted(drop))):
        if seg in segments:
            dead.setdefault(seg, []).append(row)
            n_chunks -= 1
            total_len -= stats.remove(toks, ids_)
    masks: dict[str, np.ndarray] = {}
    for seg, rows in dead.items():
        s = segments[seg]
        mask = np.load(base / s["deleted"]).copy() if s.get("deleted") else np.zeros(s["rows"], dtype=bool)
        mask[rows] = True
        masks[seg] = mask
        s["live"] = int(s["rows"] - mask.sum())

    # The new segment: the added chunks, those no segment holds, and tiers of small segments merged in.
    select = "SELECT id, source, start, end, tokens, idents FROM chunks"
    if reset:
        rows = []
    elif everything:
        rows = [r for r in store.db.execute(select) if r[0] not in drop]
    else:
        rows = [r for r in store.db.execute(select + " WHERE seg IS NULL") if r[0] not in drop]
    rows += list(added)
    for name in _to_merge(list(segments.values()), len(rows)):
        segments.pop(name)
        masks.pop(name, None)
        for r in store.db.execute(select + " WHERE seg = ?", (name,)):
            if r[0] not in drop:  # the live rows, counted again by the new segment
                rows.append(r)
                n_chunks -= 1
                total_len -= stats.remove(r[4], r[5])
    df = stats.df
    built = None
    if rows:
        built = _write_segment(base, rows, term_id, terms)
        df = np.concatenate([df, np.zeros(len(terms) - len(df), dtype=np.int64)])
        for j, n in _by_id(built.df, term_id):
            df[j] += n
        idents.update(built.idents)
        n_chunks += len(built.ids)
        total_len += built.total_len
        segments[built.name] = {"name": built.name, "rows": len(built.ids), "live": len(built.ids),
                                "deleted": None}
    for seg, mask in masks.items():
        if segments[seg]["live"] == 0:
            segments.pop(seg)
        else:
            segments[seg]["deleted"] = _write_npy(base, "del", mask)
    changed = bool(dead or rows or everything)
    manifest = {
        "version": VERSION, "generation": generation, "fingerprint": fingerprint,
        "chunks": n_chunks, "total_len": total_len,
        "segments": sorted(segments.values(), key=lambda s: -s["rows"]),
        "terms": _write_json(base, "terms", terms) if len(terms) != n_terms_before or not prev["terms"]
        else prev["terms"],
        "df": _write_npy(base, "df", df.astype(np.int32)) if changed else prev["df"],
        "idents": _write_json(base, "idents", {k: v for k, v in sorted(idents.items()) if v > 0})
        if changed else prev["idents"],
    }
    # The writer's switch: the token store learns the changes and the manifest in one transaction.
    with store.db:
        if reset:
            store.db.execute("DELETE FROM chunks")
        store._delete(sorted(set(deleted)))
        store.db.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)", added)
        if built is not None:
            store.db.executemany("UPDATE chunks SET seg = ?, row = ? WHERE id = ?",
                                 [(built.name, i, cid) for i, cid in enumerate(built.ids)])
        store.db.execute("INSERT OR REPLACE INTO state VALUES ('manifest', ?)", (json.dumps(manifest),))
    publish(base, manifest)
    return manifest


class _Stats:
    """Document frequencies and identifier counts, taken down chunk by chunk."""

    def __init__(self, term_id: dict[str, int], df: np.ndarray, idents: Counter) -> None:
        self.term_id, self.df, self.idents = term_id, df, idents

    def remove(self, toks: str, ids_: str) -> int:
        counts, n = _count(toks)
        for t in counts:
            j = self.term_id.get(t)
            if j is not None:
                self.df[j] -= 1
        self.idents.subtract(ids_.split())
        return n


def publish(base: Path, manifest: dict) -> None:
    """The readers' switch: the manifest under its generation, then meta.json;
    files no recent manifest names are removed."""
    _replace_json(base / f"manifest-{manifest['generation']}.json", manifest)
    _replace_json(base / "meta.json", manifest)
    _collect(base)


def _by_id(counts: Counter, term_id: dict[str, int]):
    for t, n in counts.items():
        j = term_id.get(t)
        if j is not None:
            yield j, n


def _to_merge(segments: list[dict], incoming: int) -> list[str]:
    """Segments to fold into the new one: those mostly deleted, and every segment of
    the smallest tier that holds MERGE_FACTOR or more (counting the incoming one)."""
    out = [s["name"] for s in segments if s["live"] < s["rows"] * (1 - MAX_DELETED)]
    size = incoming
    while True:
        tier = max(1, size)
        same = [s for s in segments if s["name"] not in out and s["live"] < tier * MERGE_FACTOR]
        if len(same) + 1 < MERGE_FACTOR:
            return out
        out += [s["name"] for s in same]
        size += sum(s["live"] for s in same)


def _files_exist(base: Path, manifest: dict) -> bool:
    names = [manifest.get("terms"), manifest.get("df"), manifest.get("idents")]
    names += [s["name"] for s in manifest.get("segments", [])]
    names += [s["deleted"] for s in manifest.get("segments", []) if s.get("deleted")]
    return all(n is None or (base / n).exists() for n in names)


def _referenced(manifest: dict) -> set[str]:
    names = {manifest.get("terms"), manifest.get("df"), manifest.get("idents")}
    for s in manifest.get("segments", []):
        names |= {s["name"], s.get("deleted")}
    return {n for n in names if n}


def _collect(base: Path) -> None:
    """Remove what no recent manifest names (and leftovers of interrupted writes)."""
    manifests = sorted(base.glob("manifest-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    keep: set[str] = set()
    for p in manifests[KEEP_MANIFESTS:]:
        p.unlink(missing_ok=True)
    for p in manifests[:KEEP_MANIFESTS]:
        try:
            keep |= _referenced(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    for p in base.iterdir():
        name = p.name
        stale_tmp = name.startswith(".") and name.endswith(".tmp")
        ours = name.split("-", 1)[0] in ("seg", "del", "terms", "df", "idents")
        if (ours and name not in keep) or stale_tmp:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    for old in ("bm25", "chunks.json", "identifiers.json"):  # version 1's files
        p = base / old
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink(missing_ok=True)


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
        col = places[name]
        cols[name] = list(col) if live is None else [col[i] for i in live.tolist()]
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
    out = {name: [] for name in cols}
    prev = 0
    for (source, start, k, r), pos in zip(others, at):
        for name in cols:
            out[name].extend(cols[name][prev:pos])
            out[name].append(segments[k][0][name][r])
        prev = pos
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
        self.idf = {t: float(idf[j]) for j, t in enumerate(terms) if df[j] > 0 and t != _EMPTY and t}
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
