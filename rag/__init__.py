"""Question answering over a document corpus with verifiable citations.

>>> from rag import ask
>>> answer = ask("Which UN Security Council resolutions were cited?")  # doctest: +SKIP
>>> print(answer.text)  # doctest: +SKIP
"""

from .indexing import build_index
from .langchain_adapter import as_retriever, as_runnable
from .pipeline import ask, ask_stream
from .settings import Settings
from .types import Answer, Citation, IndexReport, Passage

__all__ = ["ask", "ask_stream", "build_index", "as_retriever", "as_runnable", "Settings", "Answer", "Citation",
           "Passage", "IndexReport"]
