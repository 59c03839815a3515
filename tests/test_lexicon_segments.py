"""The segmented lexicon (rag/store/lexicon.py) on its own: after any sequence of edits,
adds and deletes it scores exactly as BM25 rebuilt from scratch (bm25s, the
engine it replaces, as the oracle), an edit writes only what changed, and a crash
at any point of a commit leaves the previous commit readable and the next commit
whole."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from rag.store import lexicon, lexicon_writer
from rag.store.lexicon import Lexicon, folder
from rag.store.lexicon_writer import TokenStore, commit

WORDS = [f"w{i}" for i in range(300)] + ["alpha", "beta", "gamma"]


def make_row(rng: random.Random, source: str, start: int, tag: str = "") -> tuple:
    n = rng.randint(0, 40)  # some chunks have no tokens at all
    toks = [rng.choice(WORDS[: rng.choice([20, 300])]) for _ in range(n)]
    idents = sorted({f"id_{rng.randint(0, 30)}" for _ in range(rng.randint(0, 2))})
    cid = f"{source}:{start}:{tag}:{rng.random():.12f}"
    return (cid, source, start, start + 100, " ".join(toks), " ".join(idents))


def reference(rows: list[tuple]):
    """BM25 rebuilt from scratch with bm25s, rows in file order."""
    import bm25s

    rows = sorted(rows, key=lambda r: (r[1], r[2]))
    model = bm25s.BM25()
    model.index([r[4].split() or [lexicon.EMPTY_TOKEN] for r in rows], show_progress=False)
    return rows, model


def check(tmp_path, live: dict[str, tuple], generation: str) -> Lexicon:
    lex = Lexicon.load(tmp_path, "c", generation, "fp")
    assert lex is not None
    rows, model = reference(list(live.values()))
    assert lex.ids == [r[0] for r in rows]
    assert list(zip(lex.sources, lex.starts)) == [(r[1], r[2]) for r in rows]
    vocab = model.vocab_dict
    for query in (["alpha"], ["w1", "w2", "w1"], ["w150", "beta", "nothing"], ["gamma", "w0", "w19"]):
        known = [t for t in query if t in vocab]
        want = np.asarray(model.get_scores(known), dtype=float) if known else np.zeros(len(rows))
        np.testing.assert_allclose(lex.scores(query), want, rtol=2e-5, atol=1e-6)
        for t in query:
            holders = [i for i, r in enumerate(rows) if t in r[4].split()]
            assert lex.holding(t).tolist() == holders
    df: dict[str, int] = {}
    for r in rows:
        for t in set(r[4].split()):
            df[t] = df.get(t, 0) + 1
    assert lex.idf == pytest.approx({t: lexicon.inverse_frequency(len(rows), n) for t, n in df.items()}, rel=1e-5)
    assert lex.vocab_sorted == sorted(df)
    assert lex.identifiers == {i for r in rows for i in r[5].split()}
    return lex


def test_random_edits_score_exactly_as_a_rebuild(tmp_path):
    rng = random.Random(7)
    base = folder(tmp_path, "c")
    store = TokenStore(base / "tokens.sqlite3")
    live: dict[str, tuple] = {}
    first = [make_row(rng, f"f{f:03d}", s * 100) for f in range(60) for s in range(rng.randint(1, 6))]
    live.update((r[0], r) for r in first)
    commit(base, store, "g0", "fp", added=first)
    check(tmp_path, live, "g0")
    for step in range(1, 25):
        files = sorted({r[1] for r in live.values()})
        deleted, added = [], []
        for source in rng.sample(files, rng.randint(1, 3)):  # edit: some chunks replaced
            old = [r for r in live.values() if r[1] == source]
            for r in rng.sample(old, rng.randint(0, len(old))):
                deleted.append(r[0])
                added.append(make_row(rng, source, r[2], tag=f"s{step}"))
        if rng.random() < 0.4:  # a file removed
            gone = rng.choice(files)
            deleted += [r[0] for r in live.values() if r[1] == gone and r[0] not in deleted]
        if rng.random() < 0.5:  # a file added
            added += [make_row(rng, f"new{step:03d}", s * 100) for s in range(rng.randint(1, 4))]
        for cid in deleted:
            live.pop(cid)
        live.update((r[0], r) for r in added)
        commit(base, store, f"g{step}", "fp", deleted=deleted, added=added)
        check(tmp_path, live, f"g{step}")
    meta = json.loads((base / "meta.json").read_text())
    assert len(meta["segments"]) <= 2 * lexicon_writer.MERGE_FACTOR  # small segments are merged as they pile up
    store.close()


def test_an_edit_writes_only_what_changed(tmp_path):
    rng = random.Random(3)
    base = folder(tmp_path, "c")
    store = TokenStore(base / "tokens.sqlite3")
    rows = [make_row(rng, f"f{f:04d}", s * 100) for f in range(500) for s in range(4)]
    first = commit(base, store, "g0", "fp", added=rows)
    victim = [r for r in rows if r[1] == "f0042"]
    new = [make_row(rng, "f0042", r[2], tag="edit") for r in victim]
    second = commit(base, store, "g1", "fp", deleted=[r[0] for r in victim], added=new)
    big = first["segments"][0]["name"]
    assert big in [s["name"] for s in second["segments"]]  # the big segment is kept, not rewritten
    small = [s for s in second["segments"] if s["name"] != big]
    assert [s["rows"] for s in small] == [len(new)]
    kept = next(s for s in second["segments"] if s["name"] == big)
    assert kept["live"] == len(rows) - len(victim) and kept["deleted"]
    live = {r[0]: r for r in rows if r[1] != "f0042"} | {r[0]: r for r in new}
    check(tmp_path, live, "g1")
    # The previous commit is still readable (a reader that saw generation g0 a moment ago).
    check(tmp_path, {r[0]: r for r in rows}, "g0")
    store.close()


@pytest.mark.parametrize("crash_in", ["_write_segment", "_write_npy", "_write_json", "publish"])
def test_a_crash_during_a_commit_leaves_the_previous_one_and_the_next_commit_repairs(tmp_path, monkeypatch,
                                                                                       crash_in):
    rng = random.Random(11)
    base = folder(tmp_path, "c")
    store = TokenStore(base / "tokens.sqlite3")
    rows = [make_row(rng, f"f{f:03d}", s * 100) for f in range(40) for s in range(3)]
    commit(base, store, "g0", "fp", added=rows)
    victim = [r for r in rows if r[1] == "f007"]
    new = [make_row(rng, "f007", r[2], tag="edit") for r in victim] + [make_row(rng, "zz", 0)]

    def boom(*args, **kwargs):
        raise KeyboardInterrupt("killed")

    with monkeypatch.context() as m:
        m.setattr(lexicon_writer, crash_in, boom)
        with pytest.raises(KeyboardInterrupt):
            commit(base, store, "g1", "fp", deleted=[r[0] for r in victim], added=new)
    store.close()
    check(tmp_path, {r[0]: r for r in rows}, "g0")  # readers still have the last commit
    # The next run (as rag index after an interruption) commits the changes it still sees.
    store = TokenStore(base / "tokens.sqlite3")
    commit(base, store, "g2", "fp", deleted=[r[0] for r in victim], added=new)
    live = {r[0]: r for r in rows if r[1] != "f007"} | {r[0]: r for r in new}
    check(tmp_path, live, "g2")
    store.close()


def test_a_version_1_token_store_is_taken_over_without_reading_chroma(tmp_path):
    import sqlite3

    rng = random.Random(5)
    base = folder(tmp_path, "c")
    base.mkdir(parents=True)
    rows = [make_row(rng, f"f{f:03d}", s * 100) for f in range(30) for s in range(2)]
    db = sqlite3.connect(base / "tokens.sqlite3")
    db.execute("CREATE TABLE chunks (id TEXT PRIMARY KEY, source TEXT, start INTEGER, end INTEGER, tokens TEXT, "
               "idents TEXT)")
    db.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    (base / "meta.json").write_text(json.dumps({"version": 1, "generation": "g0", "fingerprint": "fp"}))
    assert Lexicon.load(tmp_path, "c", "g0", "fp") is None  # the old format is not read
    store = TokenStore(base / "tokens.sqlite3")
    commit(base, store, "g0", "fp")
    check(tmp_path, {r[0]: r for r in rows}, "g0")
    store.close()
