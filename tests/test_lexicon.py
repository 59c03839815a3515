"""The lexicon saved beside the index (rag/store/lexicon.py): it matches the collection
after every kind of re-index, and a missing or stale one is rebuilt, not trusted."""

from __future__ import annotations

import shutil

import pytest

from rag import Settings, ask, build_index
from rag.store.chroma import open_collection
from rag.store.lexicon import Lexicon, folder
from rag.pipeline import engine_for
from rag.store.chroma import make_chroma_client
from rag.retrieval.retriever import Retriever
from rag.text import tokens
from rag.embeddings import make_embeddings


@pytest.fixture
def settings(corpus, tmp_path):
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def collection_state(settings):
    col = open_collection(make_chroma_client(settings), settings, create=False)
    meta = col.metadata or {}
    got = col.get(include=["documents", "metadatas"])
    # what the lexicon indexes of a chunk: its heading path and its text
    docs = {cid: f"{m.get('heading_path', '')}\n\n{text}" for cid, text, m in
            zip(got["ids"], got["documents"], got["metadatas"])}
    return meta.get("rag_generation"), meta.get("rag_fingerprint", ""), docs


def saved_lexicon(settings):
    generation, fp, docs = collection_state(settings)
    return Lexicon.load(settings.store.index_dir, settings.store.collection, generation, fp), docs


def assert_matches(lex, docs):
    assert lex is not None, "no lexicon saved for the current collection state"
    assert sorted(lex.ids) == sorted(docs)
    # rows are in file order, so neighbours are neighbours in the file
    places = list(zip(lex.sources, lex.starts))
    assert places == sorted(places)
    # BM25 scores a word exactly in the chunks that hold it
    word = tokens("alliance")[0]  # tokens are stems
    scores = lex.scores([word])
    holders = {cid for cid, text in docs.items() if word in tokens(text)}
    assert holders, "seeds should mention the word"
    assert {lex.ids[i] for i, s in enumerate(scores) if s > 0} == holders
    assert {lex.ids[int(r)] for r in lex.holding(word)} == holders


def test_index_saves_a_lexicon_matching_the_collection(settings):
    build_index(settings, progress=False)
    lex, docs = saved_lexicon(settings)
    assert_matches(lex, docs)


def test_edit_add_and_delete_keep_the_lexicon_in_step(settings, corpus):
    build_index(settings, progress=False)
    victim = sorted(corpus.glob("*.txt"))[0]
    victim.unlink()
    edited = sorted(corpus.glob("*.txt"))[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\nThe zyxquorp treaty was signed in 2031.\n",
                      encoding="utf-8")
    (corpus / "new.txt").write_text("A brand new file about the flibbertigibbet accord.\n", encoding="utf-8")
    build_index(settings, progress=False)
    lex, docs = saved_lexicon(settings)
    assert_matches(lex, docs)
    assert victim.name not in set(lex.sources)
    for word, source in (("zyxquorp", edited.name), ("flibbertigibbet", "new.txt")):
        rows = lex.holding(tokens(word)[0])
        assert [lex.sources[int(r)] for r in rows] == [source]


def test_a_deleted_lexicon_is_rebuilt_from_the_store_and_answers_are_unchanged(settings):
    build_index(settings, progress=False)
    q = "Which documents mention the Senkaku Islands?"
    before = ask(q, settings=settings)
    shutil.rmtree(folder(settings.store.index_dir, settings.store.collection))
    engine_for.cache_clear()  # as a new process would: nothing loaded
    after = ask(q, settings=settings)
    assert after.text == before.text and not after.refused
    lex, docs = saved_lexicon(settings)
    assert_matches(lex, docs)


def test_a_stale_lexicon_is_not_trusted(settings, corpus):
    build_index(settings, progress=False)
    old = folder(settings.store.index_dir, settings.store.collection)
    keep = settings.store.index_dir.parent / "old-lexicon"
    shutil.copytree(old, keep)
    (corpus / "new.txt").write_text("The quuxbarian protocol governs the new port.\n", encoding="utf-8")
    build_index(settings, progress=False)
    shutil.rmtree(old)
    shutil.copytree(keep, old)  # another version of the lexicon, from before the re-index
    retriever = Retriever(settings, make_embeddings(settings), make_chroma_client(settings))
    hits = retriever.search("quuxbarian protocol", k=3)
    assert hits and hits[0].source == "new.txt"
    lex, docs = saved_lexicon(settings)
    assert_matches(lex, docs)


def test_containing_skips_files_already_found(settings):
    build_index(settings, progress=False)
    retriever = Retriever(settings, make_embeddings(settings), make_chroma_client(settings))
    term = tokens("Senkaku")[0]
    every = list(retriever.containing([term]))
    assert len({c.source for c in every}) >= 2
    assert all(term in tokens(c.text + " " + c.heading_path) for c in every)
    seen: dict[str, bool] = {}
    firsts = []
    for c in retriever.containing([term], skip_sources=seen, page=1):
        if c.source not in seen:
            seen[c.source] = True
            firsts.append(c)
    assert sorted(c.source for c in firsts) == sorted({c.source for c in every})
    assert len(firsts) == len({c.source for c in every})


def test_while_rag_index_holds_the_lock_a_reader_builds_a_private_lexicon(settings, tmp_path, monkeypatch):
    from rag.store.health import index_lock

    build_index(settings, progress=False)
    shutil.rmtree(folder(settings.store.index_dir, settings.store.collection))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    with index_lock(settings):  # as a running `rag index` would
        retriever = Retriever(settings, make_embeddings(settings), make_chroma_client(settings))
        hits = retriever.search("Senkaku Islands", k=3)
    assert hits and all(h.text for h in hits)
    assert not folder(settings.store.index_dir, settings.store.collection).exists()  # left to the indexer
    assert list(scratch.iterdir()) == []  # the private copy is not left behind


def test_the_lexicon_is_committed_before_readers_see_the_new_generation(settings, corpus, monkeypatch):
    # Readers switch on the generation stamp; the lexicon of that generation must already be
    # there, or a reader (on any host) would rebuild it from Chroma.
    from rag.ingest import indexing

    build_index(settings, progress=False)
    seen = []
    real = indexing._set_meta

    def spy(collection, **values):
        if "rag_generation" in values:
            seen.append(Lexicon.is_current(settings.store.index_dir, settings.store.collection, values["rag_generation"],
                                           values["rag_fingerprint"]))
        real(collection, **values)

    monkeypatch.setattr(indexing, "_set_meta", spy)
    (corpus / "new.txt").write_text("The zyxquorp treaty was signed in 2031.\n", encoding="utf-8")
    build_index(settings, progress=False)
    assert seen == [True]


def test_a_reader_during_a_run_uses_the_last_commit_instead_of_rebuilding(settings, caplog):
    # `rag index` has added chunks but not switched the generation yet (or was interrupted).
    build_index(settings, progress=False)
    col = open_collection(make_chroma_client(settings), settings, create=False)
    col.modify(metadata={**col.metadata, "rag_complete": False})
    got = col.get(limit=1, include=["embeddings", "documents", "metadatas"])
    col.add(ids=["extra-chunk"], embeddings=got["embeddings"], documents=got["documents"],
            metadatas=got["metadatas"])
    caplog.set_level("WARNING")
    retriever = Retriever(settings, make_embeddings(settings), make_chroma_client(settings))
    assert "building the lexical index" not in caplog.text
    assert retriever.search("Senkaku Islands", k=3)
