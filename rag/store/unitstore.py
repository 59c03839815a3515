"""Vectors of answer units (sentences, list items, rows), kept beside the index.

The extractive answerer compares the question with every unit of the
retrieved passages. The first question that reads a passage embeds its units
(tens of milliseconds; embedding every chunk's ~5.5 units at index time made
``rag index`` five times slower than the embedder), and this store keeps the
vectors (float16) in one SQLite file in the index folder, one row per chunk, so
no passage's units are embedded twice.

It is a cache keyed by content: a row is found by chunk id (which derives from
the chunk's text and structure) and each vector by the unit's span and lead-in,
so a stale row can never be used for changed text, deleting the file is safe
(vectors are recomputed and stored again on demand), and several processes may
share it. With a Chroma server, it lives in ``RAG_INDEX_DIR`` on each client.

>>> store = UnitStore(Path("/tmp/ix/units.sqlite3"))  # doctest: +SKIP
>>> store.get(["c1"])  # doctest: +SKIP
{'c1': {(0, 42, -1): array([...], dtype=float32)}}
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FILE_NAME = "units.sqlite3"
Key = tuple[int, int, int]  # (start, end, lead start or -1)


class UnitStore:
    """Per-chunk unit vectors in SQLite; every method is safe to call from threads."""

    def __init__(self, path: Path, model: str) -> None:
        self.path = Path(path)
        self.model = model  # vectors of another embedding model are never mixed in
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._disabled = False

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is None and not self._disabled:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError as exc:
                # A damaged file: it only held a cache, so start a new one.
                log.warning("unit vectors at %s are damaged (%s): starting them afresh", self.path, exc)
                try:
                    self.path.unlink()
                    self._db = self._open()
                except (OSError, sqlite3.Error) as again:
                    self._give_up(again)
            except (OSError, sqlite3.Error) as exc:
                self._give_up(exc)
        return self._db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), timeout=10, check_same_thread=False)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS units (chunk_id TEXT, model TEXT, keys TEXT, vecs BLOB, "
                       "PRIMARY KEY (chunk_id, model))")
            db.execute("SELECT count(*) FROM units").fetchone()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _give_up(self, exc: Exception) -> None:
        # A read-only index folder: answer anyway, embedding units as needed.
        log.warning("unit vectors unavailable at %s (%s): embedding them per question", self.path, exc)
        self._disabled = True

    def get(self, chunk_ids: list[str]) -> dict[str, dict[Key, np.ndarray]]:
        """The stored vectors of these chunks (chunks with none are left out)."""
        if not chunk_ids:
            return {}
        with self._lock:
            db = self._conn()
            if db is None:
                return {}
            marks = ",".join("?" * len(chunk_ids))
            try:
                rows = db.execute(f"SELECT chunk_id, keys, vecs FROM units WHERE model = ? AND chunk_id IN ({marks})",
                                  [self.model, *chunk_ids]).fetchall()
            except sqlite3.Error as exc:
                log.warning("cannot read unit vectors from %s: %s", self.path, exc)
                return {}
        out: dict[str, dict[Key, np.ndarray]] = {}
        for cid, keys, blob in rows:
            ks = [tuple(k) for k in json.loads(keys)]
            mat = np.frombuffer(blob, dtype=np.float16).reshape(len(ks), -1).astype(np.float32)
            out[cid] = dict(zip(ks, mat))
        return out

    def put(self, rows: dict[str, dict[Key, np.ndarray]]) -> None:
        """Store (replace) the unit vectors of some chunks."""
        if not rows:
            return
        data = []
        for cid, vecs in rows.items():
            keys = list(vecs)
            mat = np.stack([vecs[k] for k in keys]).astype(np.float16) if keys else np.zeros((0, 0), np.float16)
            data.append((cid, self.model, json.dumps(keys), mat.tobytes()))
        with self._lock:
            db = self._conn()
            if db is None:
                return
            try:
                with db:
                    db.executemany("INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?)", data)
            except sqlite3.Error as exc:
                log.warning("cannot store unit vectors in %s: %s", self.path, exc)

    def chunk_ids(self) -> set[str]:
        """Chunks whose vectors are stored (for this model)."""
        with self._lock:
            db = self._conn()
            if db is None:
                return set()
            try:
                return {r[0] for r in db.execute("SELECT chunk_id FROM units WHERE model = ?", [self.model])}
            except sqlite3.Error:
                return set()

    def forget(self, chunk_ids: list[str]) -> None:
        """Drop the vectors of these chunks (deleted from the index)."""
        with self._lock:
            db = self._conn()
            if db is None:
                return
            try:
                _delete(db, chunk_ids)
            except sqlite3.Error as exc:
                log.warning("cannot prune unit vectors in %s: %s", self.path, exc)

    def keep_only(self, chunk_ids: set[str]) -> int:
        """Forget the vectors of chunks that are no longer indexed; returns how many rows went."""
        with self._lock:
            db = self._conn()
            if db is None:
                return 0
            try:
                stored = {r[0] for r in db.execute("SELECT DISTINCT chunk_id FROM units")}
                gone = sorted(stored - chunk_ids)
                _delete(db, gone)
                return len(gone)
            except sqlite3.Error as exc:
                log.warning("cannot prune unit vectors in %s: %s", self.path, exc)
                return 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _delete(db: sqlite3.Connection, chunk_ids: list[str]) -> None:
    """Drop these chunks' rows in one transaction (in batches: SQLite caps the bound values)."""
    with db:
        for i in range(0, len(chunk_ids), 500):
            part = chunk_ids[i:i + 500]
            db.execute(f"DELETE FROM units WHERE chunk_id IN ({','.join('?' * len(part))})", part)
