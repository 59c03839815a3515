"""The lexical index engines we considered, on the same tokenised chunks: build,
one edited file, query latency, and how often each one's top 20 agrees with BM25
rebuilt from scratch (bm25s). The figures behind the choice in docs/SCALING.md.

    .venv/bin/python benchmarks/run.py --sizes 100k --minilm-up-to 0 --keep     # an index to read
    .venv/bin/python benchmarks/lexical_engines.py /tmp/rag-bench/index-100k/lexicon-corpus/tokens.sqlite3

Engines: ``bm25s`` (what rag used before: the whole matrix rebuilt after any
change), ``segments`` (rag.store.lexicon: immutable segments, BM25 at query time),
``sqlite`` (postings in SQLite, one row per term and chunk, statistics kept up
to date), ``tantivy`` (the Rust engine's Python bindings, if installed:
``pip install tantivy``; its own BM25, k1=1.2, over the same tokens). The
edit replaces the chunks of one file (as `rag index` does after an edit).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.store import lexicon, lexicon_writer  # noqa: E402

TOP = 20


def load_rows(path: Path, limit: int | None) -> list[tuple]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    sql = "SELECT id, source, start, end, tokens, idents FROM chunks ORDER BY source, start"
    rows = db.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
    db.close()
    return rows


def top(scores: np.ndarray, ids: list[str]) -> list[str]:
    k = min(TOP, len(scores) - 1)
    best = np.argpartition(-scores, k)[:k + 1]
    return [ids[i] for i in best[np.argsort(-scores[best], kind="stable")] if scores[i] > 0][:TOP]


class Bm25s:
    name = "bm25s (full rebuild)"

    def build(self, rows):
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self.rows = sorted(rows, key=lambda r: (r[1], r[2]))
        self.ids = [r[0] for r in self.rows]
        self.model = bm25s.BM25()
        self.model.index([r[4].split() or ["\x00"] for r in self.rows], show_progress=False)

    def edit(self, deleted, added):
        gone = set(deleted)
        self.build([r for r in self.rows if r[0] not in gone] + list(added))

    def query(self, toks):
        known = [t for t in toks if t in self.model.vocab_dict]
        scores = np.asarray(self.model.get_scores(known), dtype=float) if known else np.zeros(len(self.ids))
        return top(scores, self.ids)


class Segments:
    name = "segments (rag.store.lexicon)"

    def __init__(self, work: Path):
        self.work = work

    def build(self, rows):
        self.base = lexicon.folder(self.work, "bench")
        shutil.rmtree(self.base, ignore_errors=True)
        self.store = lexicon_writer.TokenStore(self.base / "tokens.sqlite3")
        self.gen = 0
        lexicon_writer.commit(self.base, self.store, "g0", "fp", added=list(rows), reset=True)
        self.lex = lexicon.Lexicon.load(self.work, "bench", "g0", "fp")

    def edit(self, deleted, added):
        self.gen += 1
        lexicon_writer.commit(self.base, self.store, f"g{self.gen}", "fp", deleted=list(deleted), added=list(added))

    def reload(self):
        self.lex = lexicon.Lexicon.load(self.work, "bench", f"g{self.gen}", "fp")

    def query(self, toks):
        return top(self.lex.scores(toks), self.lex.ids)


class SqlitePostings:
    name = "sqlite postings"

    def __init__(self, work: Path):
        self.path = work / "postings.sqlite3"

    def build(self, rows):
        self.path.unlink(missing_ok=True)
        self.db = sqlite3.connect(str(self.path))
        self.db.executescript("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE chunks (row INTEGER PRIMARY KEY, id TEXT UNIQUE, len INTEGER, tokens TEXT);
            CREATE TABLE postings (term TEXT, row INTEGER, tf INTEGER, PRIMARY KEY (term, row)) WITHOUT ROWID;
            CREATE TABLE df (term TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID;
            CREATE TABLE stats (k TEXT PRIMARY KEY, v INTEGER);""")
        self._add(rows)

    def _add(self, rows):
        with self.db:
            for cid, _, _, _, toks, _ in rows:
                words = toks.split() or ["\x00"]
                cur = self.db.execute("INSERT INTO chunks (id, len, tokens) VALUES (?, ?, ?)", (cid, len(words), toks))
                row = cur.lastrowid
                counts = Counter(words)
                self.db.executemany("INSERT INTO postings VALUES (?, ?, ?)", [(t, row, n) for t, n in counts.items()])
                self.db.executemany("INSERT INTO df VALUES (?, 1) ON CONFLICT(term) DO UPDATE SET n = n + 1",
                                    [(t,) for t in counts])

    def edit(self, deleted, added):
        with self.db:
            for cid in deleted:
                got = self.db.execute("SELECT row, tokens FROM chunks WHERE id = ?", (cid,)).fetchone()
                if got is None:
                    continue
                row, toks = got
                terms = set(toks.split() or ["\x00"])
                self.db.executemany("DELETE FROM postings WHERE term = ? AND row = ?", [(t, row) for t in terms])
                self.db.executemany("UPDATE df SET n = n - 1 WHERE term = ?", [(t,) for t in terms])
                self.db.execute("DELETE FROM chunks WHERE row = ?", (row,))
        self._add(added)

    def query(self, toks):
        n, total = self.db.execute("SELECT count(*), sum(len) FROM chunks").fetchone()
        avgdl = total / n
        scores: dict[int, float] = {}
        for t in toks:
            got = self.db.execute("SELECT n FROM df WHERE term = ?", (t,)).fetchone()
            if not got or not got[0]:
                continue
            idf = math.log(1 + (n - got[0] + 0.5) / (got[0] + 0.5))
            rows = self.db.execute("SELECT p.row, p.tf, c.len FROM postings p JOIN chunks c ON c.row = p.row "
                                   "WHERE p.term = ?", (t,)).fetchall()
            arr = np.asarray(rows, dtype=float)
            s = idf * arr[:, 1] / (arr[:, 1] + 1.5 * (0.25 + 0.75 * arr[:, 2] / avgdl))
            for r, v in zip(arr[:, 0].astype(int).tolist(), s.tolist()):
                scores[r] = scores.get(r, 0.0) + v
        best = sorted(scores.items(), key=lambda kv: -kv[1])[:TOP]
        ids = dict(self.db.execute(f"SELECT row, id FROM chunks WHERE row IN ({','.join('?' * len(best))})",
                                   [r for r, _ in best]).fetchall()) if best else {}
        return [ids[r] for r, _ in best]


class Tantivy:
    name = "tantivy"

    def __init__(self, work: Path):
        self.path = work / "tantivy"

    def build(self, rows):
        import tantivy

        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir()
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("body", stored=False, tokenizer_name="whitespace")
        self.schema = sb.build()
        self.index = tantivy.Index(self.schema, path=str(self.path))
        self.writer = self.index.writer(heap_size=200_000_000, num_threads=1)
        for r in rows:
            self.writer.add_document(tantivy.Document(id=r[0], body=r[4] or "\x00"))
        self.writer.commit()
        self.writer.wait_merging_threads()
        self.writer = self.index.writer(heap_size=50_000_000, num_threads=1)
        self.reload()

    def edit(self, deleted, added):
        import tantivy

        for cid in deleted:
            self.writer.delete_documents_by_term("id", cid)
        for r in added:
            self.writer.add_document(tantivy.Document(id=r[0], body=r[4] or "\x00"))
        self.writer.commit()

    def reload(self):
        self.index.reload()
        self.searcher = self.index.searcher()

    def query(self, toks):
        import tantivy

        terms = [tantivy.Query.term_query(self.schema, "body", t) for t in toks]
        if not terms:
            return []
        q = tantivy.Query.boolean_query([(tantivy.Occur.Should, t) for t in terms])
        hits = self.searcher.search(q, TOP).hits
        return [self.searcher.doc(addr)["id"][0] for _, addr in hits]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tokens", type=Path, help="a lexicon's tokens.sqlite3 (written by rag index)")
    ap.add_argument("--limit", type=int, help="use only the first N chunks")
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = ap.parse_args()
    rows = load_rows(args.tokens, args.limit)
    rng = random.Random(5)
    # Queries: a few words drawn from random chunks (what a question shares with its answer).
    queries = []
    for r in rng.sample(rows, args.queries):
        words = r[4].split()
        if words:
            queries.append(rng.sample(words, min(len(words), rng.randint(2, 6))))
    # The edit: every chunk of one file replaced by a changed version.
    source = rows[len(rows) // 2][1]
    old = [r for r in rows if r[1] == source]
    new = [(r[0] + "-edited", r[1], r[2], r[3], r[4] + " harbour", r[5]) for r in old]
    work = Path(tempfile.mkdtemp(prefix="lexical-engines-"))
    engines = [Bm25s(), Segments(work), SqlitePostings(work)]
    try:
        import tantivy  # noqa: F401

        engines.append(Tantivy(work))
    except ImportError:
        print("tantivy not installed: skipped (pip install tantivy)", file=sys.stderr)
    results = {"chunks": len(rows), "edited_chunks": len(old), "queries": len(queries),
               "load_start": os.getloadavg()[0], "engines": {}}
    reference = None
    try:
        for e in engines:
            t = time.perf_counter()
            e.build(rows)
            build = time.perf_counter() - t
            t = time.perf_counter()
            e.edit([r[0] for r in old], new)
            getattr(e, "reload", lambda: None)()
            edit = time.perf_counter() - t
            tops = [e.query(q) for q in queries]  # warm
            lat = []
            for q in queries:
                t = time.perf_counter()
                e.query(q)
                lat.append(time.perf_counter() - t)
            if reference is None:
                reference = tops
            agree = statistics.mean(len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(tops, reference))
            lat.sort()
            results["engines"][e.name] = {"build_s": build, "edit_s": edit, "query_p50_ms": lat[len(lat) // 2] * 1000,
                                          "query_p95_ms": lat[int(len(lat) * 0.95)] * 1000,
                                          "top20_agreement": agree, "load": os.getloadavg()[0]}
            print(f"{e.name:24s} build {build:7.2f} s  edit one file {edit * 1000:8.1f} ms  "
                  f"query p50 {lat[len(lat) // 2] * 1000:6.2f} ms p95 {lat[int(len(lat) * 0.95)] * 1000:6.2f} ms  "
                  f"top-20 agreement {agree:.3f}  (load {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
