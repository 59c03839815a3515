"""Retrieval: a question -> the passages that may answer it.

Dense search in Chroma fused with keyword search over the lexicon, passages
grown around the hits (:mod:`.retriever`), and the answer units a passage is
split into, with their vectors read from the unit store (:mod:`.units`).

>>> from rag.retrieval import Retriever  # doctest: +SKIP
"""

from rag.lazy import exports

_EXPORTS = {
    "Retriever": "retriever",
    "IndexMissing": "retriever",
    "Unit": "units",
    "passage_units": "units",
    "chunk_units": "units",
    "unit_key": "units",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = exports(__name__, _EXPORTS)
