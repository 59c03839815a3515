"""Question answering over a document corpus with verifiable citations.

>>> from rag import ask
>>> answer = ask("Which UN Security Council resolutions were cited?")  # doctest: +SKIP
>>> print(answer.text)  # doctest: +SKIP
"""

from rag.settings import Settings
from rag.objects import Answer, Citation, IndexReport, Passage

_LAZY = {"ask": ".pipeline", "ask_stream": ".pipeline", "engine": ".pipeline", "validate_question": ".pipeline",
         "build_index": ".ingest.indexing"}

__all__ = ["ask", "ask_stream", "engine", "validate_question", "build_index", "as_retriever", "as_runnable", "Settings", "Answer", "Citation",
           "Passage", "IndexReport"]


def as_retriever(settings: Settings | None = None, k: int | None = None):
    """A LangChain ``BaseRetriever`` over the index (see :mod:`rag.serve.langchain_adapter`).

    >>> docs = as_retriever(k=3).invoke("Who is the Japanese Foreign Minister?")  # doctest: +SKIP
    """
    from rag.serve import as_retriever as make  # LangChain's retriever module costs ~1 s to import

    return make(settings, k)


def as_runnable(settings: Settings | None = None):
    """A LangChain Runnable mapping a question (or ``{"question", "history"}``) to an :class:`Answer`.

    >>> as_runnable().invoke("When did Tillerson take office?").citations  # doctest: +SKIP
    """
    from rag.serve import as_runnable as make

    return make(settings)


def __getattr__(name: str):
    # ask() and build_index() are imported on first use, so that `import rag` (and `rag index`
    # finding nothing changed) does not load the answering and indexing machinery.
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
