"""The lexical side of the index, kept beside Chroma: BM25 over every chunk, the
corpus's term statistics (IDF), and its code-like words, saved by ``rag index``
and memory-mapped by a new process, so that starting up and asking cost the same
at 2,000 chunks as at 100,000 (no chunk text is read at start-up).

Files, in ``<index>/lexicon-<collection>/``:

* ``tokens.sqlite3``: every chunk's tokens (and place), kept up to date one
  chunk at a time: what the other files are rebuilt from without re-reading or
  re-tokenising unchanged documents;
* ``bm25/``: the BM25 matrix (bm25s), one column per chunk in ``chunks.json``'s order;
* ``chunks.json``: chunk ids, sources and offsets in that order;
* ``identifiers.json``: the corpus's code-like words;
* ``meta.json``: the collection generation and fingerprint it was built for.

A lexicon that does not match the collection (another process re-indexed, an
older index, a Chroma server indexed elsewhere) is rebuilt from Chroma's records
on first use and saved when the folder is writable.

>>> lex = Lexicon.load(Path("index"), "corpus", generation, fingerprint)  # doctest: +SKIP
>>> lex.scores(["wal", "checkpoint"]).argmax()  # the best BM25 row  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import numpy as np

from .text import corpus_identifiers, tokens

log = logging.getLogger(__name__)

VERSION = 1
_EMPTY = "\x00"  # bm25s rejects documents without tokens; a placeholder keeps columns aligned


def folder(index_dir: Path, collection: str) -> Path:
    return Path(index_dir) / f"lexicon-{collection}"


def inverse_frequency(n_chunks: int, df: int) -> float:
    """BM25-style IDF of a term found in ``df`` of ``n_chunks`` chunks."""
    return math.log(1 + (n_chunks - df + 0.5) / (df + 0.5))


class TokenStore:
    """Per-chunk tokens in SQLite, updated as chunks come and go."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30)
        self.db.execute("CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, source TEXT, start INTEGER, "
                        "end INTEGER, tokens TEXT, idents TEXT)")

    def add(self, rows: list[tuple[str, str, int, int, str, str]]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?, ?)", rows)

    def delete(self, ids: list[str]) -> None:
        with self.db:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                self.db.execute(f"DELETE FROM chunks WHERE id IN ({','.join('?' * len(part))})", part)

    def ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def rows(self):
        return self.db.execute("SELECT id, source, start, end, tokens, idents FROM chunks ORDER BY source, start")

    def close(self) -> None:
        self.db.close()


def token_row(chunk) -> tuple[str, str, int, int, str, str]:
    """What the token store keeps of a chunk: the tokens of its text under its heading path."""
    return (chunk.id, chunk.source, chunk.start, chunk.end, " ".join(tokens(chunk.search_text)),
            " ".join(sorted(corpus_identifiers(chunk.search_text))))


def rebuild(index_dir: Path, collection: str, generation: str, fingerprint: str, store: TokenStore) -> "Lexicon":
    """Build BM25, term statistics and identifiers from the token store and save
    them atomically (a reader never sees half a lexicon)."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s forces DEBUG on import
    ids, sources, starts, ends, docs = [], [], [], [], []
    idents: set[str] = set()
    for cid, source, start, end, toks, ids_ in store.rows():
        ids.append(cid)
        sources.append(source)
        starts.append(start)
        ends.append(end)
        docs.append(toks.split() or [_EMPTY])
        idents.update(ids_.split())
    bm25 = bm25s.BM25()
    bm25.index(docs, show_progress=False)
    target = folder(index_dir, collection)
    tmp = Path(tempfile.mkdtemp(prefix=".lexicon-", dir=target.parent))
    try:
        bm25.save(str(tmp / "bm25"))
        (tmp / "chunks.json").write_text(json.dumps({"ids": ids, "sources": sources, "starts": starts,
                                                     "ends": ends}), encoding="utf-8")
        (tmp / "identifiers.json").write_text(json.dumps(sorted(idents)), encoding="utf-8")
        (tmp / "meta.json").write_text(json.dumps({"version": VERSION, "generation": generation,
                                                   "fingerprint": fingerprint, "chunks": len(ids)}),
                                       encoding="utf-8")
        for name in ("bm25", "chunks.json", "identifiers.json", "meta.json"):
            old = target / name
            if old.is_dir():
                shutil.rmtree(old)
            os.replace(tmp / name, old)  # meta.json last: it says the set is complete
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Lexicon.load(index_dir, collection, generation, fingerprint)


class Lexicon:
    """A loaded lexicon: BM25 (memory-mapped), chunk places, IDF and identifiers."""

    def __init__(self, bm25, ids: list[str], sources: list[str], starts: list[int], ends: list[int],
                 identifiers: set[str]) -> None:
        self.bm25 = bm25
        self.ids = ids
        self.sources = sources
        self.starts = starts
        self.ends = ends
        self.row = {cid: i for i, cid in enumerate(ids)}
        self.identifiers = identifiers
        n = len(ids)
        indptr = np.asarray(bm25.scores["indptr"])
        df = np.diff(indptr)
        self._term_of = bm25.vocab_dict
        self.idf = {t: inverse_frequency(n, int(df[j])) for t, j in bm25.vocab_dict.items() if t != _EMPTY and t}
        self.vocab_sorted = sorted(self.idf)

    @staticmethod
    def _saved_meta(index_dir: Path, collection: str, generation: str | None, fingerprint: str) -> dict | None:
        """The saved lexicon's meta.json when it was built for this collection state, else None."""
        try:
            meta = json.loads((folder(index_dir, collection) / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        current = (meta.get("version"), meta.get("generation"), meta.get("fingerprint")) == \
            (VERSION, generation, fingerprint)
        return meta if current else None

    @classmethod
    def is_current(cls, index_dir: Path, collection: str, generation: str | None, fingerprint: str) -> bool:
        """Whether the saved lexicon was built for this collection state (reads only its meta.json)."""
        return cls._saved_meta(index_dir, collection, generation, fingerprint) is not None

    @classmethod
    def load(cls, index_dir: Path, collection: str, generation: str | None, fingerprint: str) -> "Lexicon | None":
        """The saved lexicon for this collection state, or None (missing, stale or damaged)."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        base = folder(index_dir, collection)
        meta = cls._saved_meta(index_dir, collection, generation, fingerprint)
        if meta is None:
            return None
        try:
            places = json.loads((base / "chunks.json").read_text(encoding="utf-8"))
            identifiers = set(json.loads((base / "identifiers.json").read_text(encoding="utf-8")))
            bm25 = bm25s.BM25.load(str(base / "bm25"), mmap=True)
        except (OSError, ValueError, KeyError) as exc:
            log.info("no usable lexicon at %s (%s)", base, exc)
            return None
        if len(places["ids"]) != meta.get("chunks"):
            return None
        return cls(bm25, places["ids"], places["sources"], places["starts"], places["ends"], identifiers)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk, in :attr:`ids` order."""
        known = [t for t in query_tokens if t in self._term_of]
        if not known:
            return np.zeros(len(self.ids))
        return np.asarray(self.bm25.get_scores(known), dtype=float)

    def holding(self, term: str) -> np.ndarray:
        """Rows of the chunks that contain ``term``."""
        j = self._term_of.get(term)
        if j is None:
            return np.zeros(0, dtype=np.int64)
        indptr, indices = self.bm25.scores["indptr"], self.bm25.scores["indices"]
        return np.asarray(indices[indptr[j]:indptr[j + 1]], dtype=np.int64)
