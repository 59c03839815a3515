"""The cheap no-op re-index: files whose size and times match the last run are
not read; real Chroma in a temp dir, real files."""

from __future__ import annotations

import os

import pytest

from rag import Settings, build_index

from rag.ingest import filestate, embedloop as ingest
from rag.store.chroma import open_collection, stored_chunks
from rag.store.chroma import make_chroma_client


@pytest.fixture
def settings(corpus, tmp_path):
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash")


@pytest.fixture
def reads(monkeypatch):
    """Sources read from disk by the indexer, in order."""
    seen: list[str] = []
    real = ingest.load_file

    def counting(root, rel, budget):
        seen.append(rel)
        return real(root, rel, budget)

    monkeypatch.setattr(ingest, "load_file", counting)
    return seen


@pytest.fixture
def settled(monkeypatch):
    """Files in these tests were written a moment ago; don't treat them as racy."""
    monkeypatch.setattr(filestate, "RACY_SECONDS", 0.0)


def chunks_in(settings):
    return stored_chunks(open_collection(make_chroma_client(settings), settings, create=False))


def test_unchanged_reindex_reads_no_file(settings, reads, settled):
    first = build_index(settings, progress=False)
    assert len(reads) == 5 and first.chunks_embedded == first.chunks_total
    reads.clear()
    again = build_index(settings, progress=False)
    assert reads == [] and again.files_unchanged == 5 and again.chunks_embedded == 0
    assert again.chunks_total == first.chunks_total


def test_touched_file_is_read_and_hashed_but_not_reembedded(settings, corpus, reads, settled):
    build_index(settings, progress=False)
    target = corpus / "002_14833195580d7924.txt"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    reads.clear()
    report = build_index(settings, progress=False)
    assert reads == [target.name] and report.chunks_embedded == 0 and report.files_unchanged == 5
    reads.clear()
    assert build_index(settings, progress=False).files_unchanged == 5 and reads == []


def test_same_size_edit_with_mtime_set_back_is_still_found(settings, corpus, reads, settled):
    # The edit keeps the size and restores the mtime; the inode change time (ctime) moves anyway.
    build_index(settings, progress=False)
    target = corpus / "001_0df1e04c0dd6828e.txt"
    st = target.stat()
    text = target.read_text(encoding="utf-8")
    i = text.index("Japan")
    target.write_text(text[:i] + "Japon" + text[i + 5:], encoding="utf-8")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert target.stat().st_size == st.st_size and target.stat().st_mtime_ns == st.st_mtime_ns
    reads.clear()
    report = build_index(settings, progress=False)
    assert reads == [target.name] and report.files_updated == [target.name] and report.chunks_embedded >= 1
    assert any("Japon" in c.text for c in chunks_in(settings) if c.source == target.name)


def test_deleted_and_new_files_without_reading_the_rest(settings, corpus, reads, settled):
    build_index(settings, progress=False)
    (corpus / "003_570d4b081ac06c31.txt").unlink()
    (corpus / "new.md").write_text("# New\n\nThe Kyoto garden opened in 1991.", encoding="utf-8")
    reads.clear()
    report = build_index(settings, progress=False)
    assert reads == ["new.md"]
    assert report.files_removed == ["003_570d4b081ac06c31.txt"] and report.files_added == ["new.md"]
    assert report.chunks_removed > 0 and report.files_unchanged == 4
    assert {c.source for c in chunks_in(settings)} == {p.name for p in corpus.iterdir()}


def test_indexed_file_that_becomes_unreadable_loses_its_chunks(settings, corpus, settled):
    build_index(settings, progress=False)
    (corpus / "000_6cae30295beecc41.txt").write_bytes(b"\xff\xfe\x00broken")
    report = build_index(settings, progress=False)
    assert report.files_removed == ["000_6cae30295beecc41.txt"] and report.chunks_removed > 0
    assert [s.source for s in report.skipped] == ["000_6cae30295beecc41.txt"]
    assert "000_6cae30295beecc41.txt" not in {c.source for c in chunks_in(settings)}
    # Still skipped (and named) on the next run, which reads nothing.
    again = build_index(settings, progress=False)
    assert [s.source for s in again.skipped] == ["000_6cae30295beecc41.txt"] and again.files_unchanged == 4


def test_store_changed_by_someone_else_means_every_file_is_read(settings, reads, settled):
    build_index(settings, progress=False)
    collection = open_collection(make_chroma_client(settings), settings, create=False)
    victim = chunks_in(settings)[0]
    collection.delete(ids=[victim.id])  # another process edits the store...
    collection.modify(metadata={**collection.metadata, "rag_generation": "someone-else"})  # ...and says so
    reads.clear()
    report = build_index(settings, progress=False)
    assert sorted(reads) == sorted(c.name for c in settings.ingest.corpus_dir.iterdir())
    assert report.chunks_embedded == 1 and victim.id in {c.id for c in chunks_in(settings)}


def test_full_check_reads_every_file(settings, reads, settled):
    build_index(settings, progress=False)
    reads.clear()
    report = build_index(settings, progress=False, full_check=True)
    assert len(reads) == 5 and report.files_unchanged == 5 and report.chunks_embedded == 0


def test_files_changed_moments_before_a_run_are_read_again_next_time(settings, reads):
    # Same-tick edits could go unseen by a size+time check (git's "racy clean"):
    # files this fresh are recorded as "read again".
    build_index(settings, progress=False)
    reads.clear()
    report = build_index(settings, progress=False)
    assert len(reads) == 5 and report.chunks_embedded == 0 and report.files_unchanged == 5


def test_record_is_per_collection_and_corpus(settings, tmp_path, corpus, reads, settled):
    build_index(settings, progress=False)
    other = settings.replace(collection="other-corpus")
    reads.clear()
    assert build_index(other, progress=False).files_added and len(reads) == 5
    assert filestate.state_path(settings) != filestate.state_path(other)


def test_unchanged_reindex_opens_no_chroma(settings, settled, monkeypatch):
    first = build_index(settings, progress=False)
    from rag.ingest import indexing

    def no_chroma(*args, **kwargs):
        raise AssertionError("Chroma opened for a corpus and index that did not change")

    import chromadb

    monkeypatch.setattr(chromadb, "PersistentClient", no_chroma)
    monkeypatch.setattr(chromadb, "HttpClient", no_chroma)
    monkeypatch.setattr(indexing, "repair_store", no_chroma)
    again = build_index(settings, progress=False)
    assert again.files_unchanged == 5 and again.chunks_total == first.chunks_total and again.chunks_embedded == 0


def test_a_touched_index_is_checked_again(settings, settled, reads, monkeypatch):
    # The index files changed since the record (another process, damage): the full run checks the store.
    from rag.store import repair

    build_index(settings, progress=False)
    db = settings.store.index_dir / "chroma.sqlite3"
    os.utime(db, ns=(db.stat().st_atime_ns, db.stat().st_mtime_ns + 10**9))
    calls = []
    real = repair.check_store
    monkeypatch.setattr(repair, "check_store", lambda *a, **k: calls.append(1) or real(*a, **k))
    reads.clear()
    again = build_index(settings, progress=False)
    assert calls and again.files_unchanged == 5 and reads == []


def test_a_no_op_rag_index_imports_neither_chroma_nor_numpy(settings, settled, tmp_path):
    import subprocess
    import sys

    build_index(settings, progress=False)
    code = ("import sys; from rag.cli import main; rc = main(['index']); "
            "print('heavy:', sorted(m for m in ('chromadb', 'numpy', 'onnxruntime', 'langchain_core') "
            "if m in sys.modules)); sys.exit(rc)")
    env = {**os.environ, "RAG_CORPUS_DIR": str(settings.ingest.corpus_dir),
           "RAG_INDEX_DIR": str(settings.store.index_dir),
           "RAG_EMBEDDING": "hash"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "unchanged: 5" in proc.stdout and "heavy: []" in proc.stdout, proc.stdout


def test_embedding_names_in_the_fingerprint_are_the_models_own():
    from rag.embeddings.local import HashEmbeddings, MiniLMOnnxEmbeddings
    from rag.embeddings import embedding_name

    assert embedding_name(Settings(embedding="hash")) == HashEmbeddings.name
    assert embedding_name(Settings(embedding="minilm-onnx")) == MiniLMOnnxEmbeddings.name
