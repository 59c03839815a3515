"""Incremental indexing against a real embedded Chroma in a temp dir."""

from __future__ import annotations

import pytest

from rag import Settings, build_index
from rag.ingest import indexing
from rag.embeddings import embedding_name
from rag.store.unitstore import FILE_NAME as UNIT_FILE, UnitStore
from rag.store.chroma import open_collection, stored_chunks
from rag.ingest.loading import CorpusError
from rag.store.chroma import make_chroma_client
from rag.embeddings import make_embeddings


@pytest.fixture
def settings(corpus, tmp_path):
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


@pytest.fixture(scope="module")
def embeddings():
    return make_embeddings(Settings())


class CountingEmbeddings:
    """Wraps the real embedder, counts texts embedded, can fail after N calls."""

    def __init__(self, inner, fail_after_calls: int | None = None):
        self.inner, self.texts, self.calls, self.fail_after = inner, 0, 0, fail_after_calls

    def embed_documents(self, texts):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += 1
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def chunks_in(settings):
    return stored_chunks(open_collection(make_chroma_client(settings), settings, create=False))


def test_first_run_then_unchanged_corpus_embeds_nothing(settings, embeddings):
    counter = CountingEmbeddings(embeddings)
    first = build_index(settings, embeddings=counter, progress=False)
    assert len(first.files_added) == 5 and first.chunks_embedded == first.chunks_total > 5
    # Each chunk text once, nothing else: answer units are embedded by the first question that reads them.
    assert counter.texts == first.chunks_total
    again = CountingEmbeddings(embeddings)
    second = build_index(settings, embeddings=again, progress=False)
    assert second.chunks_embedded == 0 and again.texts == 0
    assert second.files_unchanged == 5 and not (second.files_added or second.files_updated)
    assert (settings.store.index_dir / "manifest.json").exists()


def test_editing_one_file_reembeds_only_its_chunks(settings, embeddings, corpus):
    build_index(settings, embeddings=embeddings, progress=False)
    before = {c.id: c for c in chunks_in(settings)}
    target = corpus / "004_5dafd41b89f38992.txt"
    target.write_text(target.read_text(encoding="utf-8") + "\n\nA new closing paragraph about Hokkaido.",
                      encoding="utf-8")
    counter = CountingEmbeddings(embeddings)
    report = build_index(settings, embeddings=counter, progress=False)
    after = {c.id: c for c in chunks_in(settings)}
    new_ids = after.keys() - before.keys()
    assert report.files_updated == ["004_5dafd41b89f38992.txt"] and report.files_unchanged == 4
    assert new_ids and all(after[i].source == target.name for i in new_ids)
    assert report.chunks_embedded == len(new_ids) and counter.texts == len(new_ids)
    assert all(before[i].source == target.name for i in before.keys() - after.keys())
    assert any("Hokkaido" in after[i].text for i in new_ids)


def test_deleted_file_chunks_are_removed(settings, embeddings, corpus):
    build_index(settings, embeddings=embeddings, progress=False)
    (corpus / "003_570d4b081ac06c31.txt").unlink()
    report = build_index(settings, embeddings=embeddings, progress=False)
    assert report.files_removed == ["003_570d4b081ac06c31.txt"] and report.chunks_removed > 0
    assert report.chunks_embedded == 0
    assert {c.source for c in chunks_in(settings)} == {p.name for p in corpus.iterdir()}


def test_changed_chunking_settings_trigger_full_rebuild(settings, embeddings):
    build_index(settings, embeddings=embeddings, progress=False)
    smaller = settings.replace(chunk_size=400, chunk_overlap=50)
    report = build_index(smaller, embeddings=embeddings, progress=False)
    assert report.rebuilt and "fingerprint" in report.rebuild_reason
    chunks = chunks_in(smaller)
    assert report.chunks_embedded == report.chunks_total == len(chunks)
    assert max(c.end - c.start for c in chunks) <= 400
    assert build_index(smaller, embeddings=embeddings, progress=False).chunks_embedded == 0


def test_changed_embedding_model_triggers_full_rebuild(settings, embeddings):
    build_index(settings, embeddings=embeddings, progress=False)
    report = build_index(settings.replace(embedding="hash"), progress=False)
    assert report.rebuilt and report.chunks_embedded == report.chunks_total


def test_interrupted_run_is_repaired_without_duplicates(settings, embeddings, monkeypatch):
    monkeypatch.setattr(indexing, "ADD_BATCH", 4)
    with pytest.raises(KeyboardInterrupt):
        build_index(settings, embeddings=CountingEmbeddings(embeddings, fail_after_calls=2), progress=False)
    partial = chunks_in(settings)
    assert 0 < len(partial) == 8
    counter = CountingEmbeddings(embeddings)
    report = build_index(settings, embeddings=counter, progress=False)
    final = chunks_in(settings)
    assert len(final) == len({c.id for c in final}) == report.chunks_total
    assert report.chunks_embedded == report.chunks_total - 8
    assert counter.texts == report.chunks_embedded
    assert {c.source for c in final} == {c.source for c in partial} | set(report.files_added) | set(
        report.files_updated)
    assert len({c.source for c in final}) == 5


def test_bad_files_are_skipped_and_reported_not_fatal(settings, embeddings, corpus):
    (corpus / "bad.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    (corpus / "empty.md").write_text("", encoding="utf-8")
    report = build_index(settings, embeddings=embeddings, progress=False)
    assert {s.source for s in report.skipped} == {"bad.txt", "empty.md"}
    assert len(report.files_added) == 5
    # Grouped by reason, each reason once with the files it applies to.
    assert "  skipped, by reason:\n" in report.summary()
    assert "    binary file (contains NUL bytes) (1): bad.txt" in report.summary()
    assert "    empty (no text) (1): empty.md" in report.summary()


def test_empty_or_missing_corpus_names_the_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="empty"):
        build_index(Settings(corpus_dir=tmp_path / "empty", index_dir=tmp_path / "ix"))
    with pytest.raises(CorpusError, match="missing"):
        build_index(Settings(corpus_dir=tmp_path / "missing", index_dir=tmp_path / "ix"))


def test_unit_vectors_are_embedded_by_the_first_question_kept_and_dropped_with_their_chunks(settings, corpus):
    from rag import ask
    from rag.retrieval.retriever import Retriever

    build_index(settings, progress=False)
    store = UnitStore(settings.store.index_dir / UNIT_FILE, embedding_name(settings))
    ids = {c.id for c in chunks_in(settings)}
    assert store.chunk_ids() == set()  # indexing embedded chunk texts only
    calls = []
    original = Retriever.unit_vectors

    def counting(self, units):
        before = self._unit_store.get(list({u.passage.chunk_id for u in units})) if self._unit_store else {}
        calls.append(sum(1 for u in units if u.passage.chunk_id not in before))
        return original(self, units)

    Retriever.unit_vectors = counting
    try:
        question = "Which UN Security Council resolutions were cited?"
        first = ask(question, settings=settings)
        assert "2270" in first.text
        read = store.chunk_ids()
        assert read and read <= ids and calls[-1] > 0  # the passages it read, now kept
        again = ask(question, settings=settings)
        assert again.text == first.text and calls[-1] == 0  # nothing embedded the second time
    finally:
        Retriever.unit_vectors = original
    sources = {c.id: c.source for c in chunks_in(settings)}
    gone = next(sources[i] for i in read)
    (corpus / gone).unlink()
    build_index(settings, progress=False)
    assert store.chunk_ids() == {i for i in read if sources[i] != gone}


def test_a_second_indexer_says_it_waits_only_when_it_really_does(tmp_path):
    # A reader asking "is an index run busy?" holds the lock for an instant; an indexer
    # starting then must not tell the user it waits for another `rag index`.
    import threading
    import time

    from rag.store.health import LOCK_FILE, file_lock, index_busy, index_lock

    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    settings.store.index_dir.mkdir()

    def hold(seconds: float, taken: threading.Event) -> None:
        with file_lock(settings.store.index_dir / LOCK_FILE):
            taken.set()
            time.sleep(seconds)

    for seconds, expect_note in ((0.05, False), (1.5, True)):
        notes: list[str] = []
        taken = threading.Event()
        holder = threading.Thread(target=hold, args=(seconds, taken))
        holder.start()
        assert taken.wait(5)
        started = time.monotonic()
        with index_lock(settings, wait_note=notes.append):
            waited = time.monotonic() - started
            assert index_busy(settings)  # seen from another lock object, as another process would
        holder.join(5)
        assert bool(notes) is expect_note, (seconds, notes)
        assert waited >= seconds * 0.5
        if expect_note:
            assert "another `rag index` is updating" in notes[0] and "waiting for it to finish" in notes[0]
    assert not index_busy(settings)


def test_unit_vectors_are_forgotten_in_batches_past_sqlite_bound_value_limit(tmp_path):
    import numpy as np

    store = UnitStore(tmp_path / UNIT_FILE, "m")
    ids = [f"c{i:05d}" for i in range(1_234)]
    store.put({cid: {(0, 5, -1): np.full(4, i, np.float32)} for i, cid in enumerate(ids)})
    assert store.chunk_ids() == set(ids)
    store.forget(ids[:1_001])
    assert store.chunk_ids() == set(ids[1_001:])
    assert store.keep_only(set(ids[1_200:])) == 199
    assert store.chunk_ids() == set(ids[1_200:])
    assert store.get([ids[1_233]])[ids[1_233]][(0, 5, -1)].tolist() == [1_233.0] * 4
    store.close()
