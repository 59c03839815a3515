"""LangChain adapters: the corpus as a ``BaseRetriever`` and ``ask()`` as a Runnable.

Both run the same code as :func:`rag.ask` (hybrid dense + BM25 retrieval over
the configured index), so they compose in LCEL without a second pipeline.

>>> from rag import as_retriever, as_runnable
>>> docs = as_retriever(k=3).invoke("Which resolutions were cited?")  # doctest: +SKIP
>>> docs[0].metadata["source"], docs[0].metadata["start"]  # doctest: +SKIP
('000_6cae30295beecc41.txt', 2464)
>>> as_runnable().invoke("When did Tillerson take office?").citations  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict, Field

from rag import ask, engine, validate_question
from rag.settings import Settings
from rag.objects import Answer, Passage


def passage_document(p: Passage) -> Document:
    """A retrieved passage as a LangChain ``Document`` (``id`` = chunk id).

    >>> passage_document(Passage("c1", "a.txt", 0, 5, "Hello", 0.03)).metadata["end"]
    5
    """
    metadata: dict[str, Any] = {"source": p.source, "start": p.start, "end": p.end, "chunk_id": p.chunk_id,
                                "score": p.score}
    if p.heading_path:
        metadata["heading_path"] = p.heading_path
    return Document(page_content=p.text, metadata=metadata, id=p.chunk_id)


class CorpusRetriever(BaseRetriever):
    """Hybrid (dense + BM25, rank-fused) retrieval over the corpus index.

    ``k`` passages per query (default ``settings.retrieval.top_k``); ``invoke(q, k=2)``
    overrides it per call. ``metadata["score"]`` is the fused score (higher is better);
    ``start``/``end`` are offsets into the source file's text.

    >>> CorpusRetriever(settings=Settings(), k=2).k
    2
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    settings: Settings = Field(default_factory=Settings.from_env)
    k: int | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None) -> list[Document]:
        k = k if k is not None else self.k if self.k is not None else self.settings.retrieval.top_k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
            raise ValueError(f"k must be an integer between 1 and 100, not {k!r}")
        q = validate_question(query, self.settings.answer.max_question_chars)
        retriever = engine(self.settings).retriever
        return [passage_document(p) for p in retriever.search(q, k)]


def as_retriever(settings: Settings | None = None, k: int | None = None) -> CorpusRetriever:
    """A LangChain retriever over the same hybrid search that :func:`rag.ask` uses.

    Builds the index first if there is none.

    >>> retriever = as_retriever(k=3)  # doctest: +SKIP
    >>> chain = retriever | (lambda docs: [d.metadata["source"] for d in docs])  # doctest: +SKIP
    """
    return CorpusRetriever(settings=settings or Settings.from_env(), k=k)


def as_runnable(settings: Settings | None = None) -> Runnable:
    """A Runnable mapping a question (or ``{"question": ..., "history": [...]}``)
    to an :class:`~rag.Answer`, so ``ask()`` composes in LCEL.

    >>> chain = as_runnable() | (lambda a: a.text)  # doctest: +SKIP
    >>> chain.invoke({"question": "When did he arrive?", "history": [("Who visited Tokyo?", "...")]})  # doctest: +SKIP
    """
    fixed = settings

    def _ask(question: str | dict) -> Answer:
        history = None
        if isinstance(question, dict):
            unknown = set(question) - {"question", "history"}
            if unknown or "question" not in question:
                raise ValueError("expected a question string or {'question': ..., 'history': [...]}"
                                 + (f"; unknown keys: {sorted(unknown)}" if unknown else ""))
            question, history = question["question"], question.get("history")
        return ask(question, history=history, settings=fixed or Settings.from_env())

    return RunnableLambda(_ask, name="rag_ask")
