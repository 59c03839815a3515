"""`rag.as_retriever()` and `rag.as_runnable()` in LangChain: LangChain's own
standard retriever tests, plus LCEL composition, over a real MiniLM + Chroma
index of the seeds."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough
from langchain_tests.integration_tests import RetrieversIntegrationTests

import rag
from rag import Answer, Settings, as_retriever, as_runnable, ask, build_index
from rag.serve.langchain_adapter import CorpusRetriever, passage_document
from rag.ingest.loading import document_text
from rag.objects import Passage

QUESTION = "Which UN Security Council resolutions were cited?"


class TestCorpusRetrieverStandard(RetrieversIntegrationTests):
    """LangChain's standard suite (langchain-tests), unmodified."""

    @pytest.fixture(autouse=True)
    def _index(self, seeds_settings):
        type(self).settings = seeds_settings  # autouse fixtures run before the suite's `retriever` fixture

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return CorpusRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"settings": self.settings}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def test_documents_carry_source_offsets_chunk_id_and_score(seeds_settings):
    docs = as_retriever(seeds_settings, k=4).invoke(QUESTION)
    assert len(docs) == 4 and isinstance(as_retriever(seeds_settings), BaseRetriever)
    for d in docs:
        assert set(d.metadata) >= {"source", "start", "end", "chunk_id", "score"}
        assert d.metadata.get("heading_path", "x")  # present only when non-empty
        text = document_text(seeds_settings.ingest.corpus_dir / d.metadata["source"])
        assert text[d.metadata["start"]:d.metadata["end"]] == d.page_content
        assert d.id == d.metadata["chunk_id"]
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    assert "2231" in docs[0].page_content


def test_heading_path_is_in_metadata_when_the_chunk_sits_under_headings(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    filler = "The handbook describes duties at the station in some detail for new staff. " * 4
    (corpus / "guide.md").write_text(
        f"# Lighthouse handbook\n\n{filler}\n\n## Night watch\n\n"
        "The keeper lights the lamp at dusk and logs every passing ship in the ledger.\n", encoding="utf-8")
    (corpus / "plain.txt").write_text("A plain file about gardening tomatoes in summer.\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding="hash", chunk_size=200,
                        chunk_overlap=0)
    build_index(settings, progress=False)
    docs = {d.metadata["source"] + ":" + d.page_content[:20]: d
            for d in as_retriever(settings, k=10).invoke("When does the keeper light the lamp?")}
    lamp = next(d for d in docs.values() if "lights the lamp" in d.page_content)
    assert lamp.metadata["heading_path"] == "Lighthouse handbook > Night watch"
    plain = next(d for d in docs.values() if d.metadata["source"] == "plain.txt")
    assert "heading_path" not in plain.metadata
    text = document_text(corpus / "guide.md")
    assert text[lamp.metadata["start"]:lamp.metadata["end"]] == lamp.page_content


def test_passage_document_copies_every_field():
    p = Passage("c1", "guide.md", 10, 20, "Some text.", 0.03, heading_path="A > B")
    d = passage_document(p)
    assert (d.id, d.page_content) == ("c1", "Some text.")
    assert d.metadata == {"source": "guide.md", "start": 10, "end": 20, "chunk_id": "c1", "score": 0.03,
                          "heading_path": "A > B"}


def test_retriever_returns_what_ask_retrieved(seeds_settings):
    answer = ask(QUESTION, settings=seeds_settings)
    docs = as_retriever(seeds_settings).invoke(QUESTION)  # k defaults to settings.retrieval.top_k, as in ask()
    assert [d.metadata["chunk_id"] for d in docs] == [p.chunk_id for p in answer.passages]


def test_bad_k_and_bad_queries_raise_clear_errors(seeds_settings):
    with pytest.raises(ValueError, match="k must be an integer between 1 and 100"):
        as_retriever(seeds_settings).invoke(QUESTION, k=0)
    with pytest.raises(ValueError, match="question is empty"):
        as_retriever(seeds_settings).invoke("   ")


def test_retriever_composes_in_lcel(seeds_settings):
    def cite_sources(docs: list[Document]) -> str:
        return "\n".join(f"[{i}] {d.metadata['source']}" for i, d in enumerate(docs, 1))

    chain = RunnableParallel(context=as_retriever(seeds_settings, k=2) | cite_sources,
                             question=RunnablePassthrough()) | RunnableLambda(
        lambda x: f"Q: {x['question']}\n{x['context']}")
    out = chain.invoke(QUESTION)
    assert out.startswith(f"Q: {QUESTION}\n[1] ") and out.count("\n[") == 2
    assert len(as_retriever(seeds_settings, k=1).batch([QUESTION, "Where is MCAS Futenma to be relocated?"])) == 2


def test_runnable_maps_questions_and_history_to_answers(seeds_settings):
    runnable = as_runnable(seeds_settings)
    assert isinstance(runnable, Runnable) and rag.as_runnable is as_runnable
    answer = runnable.invoke(QUESTION)
    direct = ask(QUESTION, settings=seeds_settings)
    assert isinstance(answer, Answer) and (answer.text, answer.citations) == (direct.text, direct.citations)

    history = [("When will Japan resume two-plus-two security talks with Russia?", "On March 20 in Tokyo.")]
    follow = runnable.invoke({"question": "Why were those talks put on hold?", "history": history})
    assert not follow.refused and "Crimea" in follow.text
    alone = runnable.invoke({"question": "Why were those talks put on hold?"})
    assert alone.trace["query"] == "Why were those talks put on hold?"  # no history: nothing to lean on

    texts = (runnable | (lambda a: [c.source for c in a.citations])).batch([QUESTION, "What is the capital of France?"])
    assert texts[0] and texts[1] == []
    with pytest.raises(ValueError, match="unknown keys"):
        runnable.invoke({"query": QUESTION})


async def test_runnable_and_retriever_work_async(seeds_settings):
    answer = await as_runnable(seeds_settings).ainvoke(QUESTION)
    docs = await as_retriever(seeds_settings, k=2).ainvoke(QUESTION)
    assert answer.citations and len(docs) == 2
