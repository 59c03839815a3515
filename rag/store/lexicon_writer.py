"""Writing the lexicon (see :mod:`rag.store.lexicon` for its files): the token store,
new segments, commits and their switch, merges, and removing what no recent
commit names. One writer at a time per folder (:func:`writer_lock`).

>>> store = TokenStore(folder(Path("index"), "corpus") / "tokens.sqlite3")  # doctest: +SKIP
>>> commit(folder(Path("index"), "corpus"), store, generation, fp, deleted=old_ids, added=rows)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.store.lexicon import EMPTY_TOKEN, VERSION, folder  # noqa: F401  (folder: for callers and the example)
from rag.text import corpus_identifiers, tokens

log = logging.getLogger(__name__)

KEEP_MANIFESTS = 3
MERGE_FACTOR = 8  # segments of one size tier merged together (sizes in powers of MERGE_FACTOR)
MAX_DELETED = 0.5  # a segment with more of its rows deleted than this is rewritten


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
    words = toks.split() or [EMPTY_TOKEN]
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
    from filelock import Timeout

    from rag.store.health import file_lock

    base.mkdir(parents=True, exist_ok=True)
    lock = file_lock(base / LOCK)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


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
