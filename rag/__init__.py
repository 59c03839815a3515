"""Question answering over a document corpus with verifiable citations.

>>> from rag import ask
>>> answer = ask("Which UN Security Council resolutions were cited?")  # doctest: +SKIP
>>> print(answer.text)  # doctest: +SKIP
"""

from .indexing import build_index
from .pipeline import ask, ask_stream
from .settings import Settings
from .types import Answer, Citation, IndexReport, Passage

__all__ = ["ask", "ask_stream", "build_index", "Settings", "Answer", "Citation", "Passage", "IndexReport"]
