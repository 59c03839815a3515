"""Where names in the settings become components; the pipeline's one source of them.

- embeddings: ``RAG_EMBEDDING`` (minilm-onnx | hash | openai), chosen in :mod:`rag.embeddings`
- vector store location: ``RAG_CHROMA_URL`` (Chroma server) or ``RAG_INDEX_DIR`` (embedded),
  opened by :mod:`rag.store`
- answerer: ``RAG_ANSWERER`` (extractive | openai | top-chunk), chosen here: it is the one
  provider above the answer and generate stages, so neither stage has to know the other's answerer.

Implementations are imported lazily; a missing one raises :class:`ProviderError` saying what to install.

>>> make_answerer(Settings(answerer="top-chunk"), embeddings=None).name
'top-chunk'
"""

from __future__ import annotations

from rag.embeddings import embedding_name, make_embeddings
from rag.extras import ProviderError
from rag.settings import Settings
from rag.store import make_chroma_client

__all__ = ["make_answerer", "make_embeddings", "embedding_name", "make_chroma_client", "ProviderError"]


def make_answerer(settings: Settings, embeddings):
    """The answerer named by ``settings.answer.answerer`` (an :class:`rag.objects.Answerer`)."""
    if settings.answer.answerer == "openai":
        try:
            from rag.generate import OpenAIAnswerer
        except ImportError as exc:
            raise ProviderError(
                f"the openai answerer needs langchain-openai and openai ({exc}): pip install -e ."
            ) from None
        return OpenAIAnswerer(settings, embeddings)
    if settings.answer.answerer == "top-chunk":
        from rag.answer import TopChunkAnswerer

        return TopChunkAnswerer(settings, embeddings)
    from rag.answer import ExtractiveAnswerer

    return ExtractiveAnswerer(settings, embeddings)
