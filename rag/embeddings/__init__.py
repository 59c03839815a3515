"""Embedding models, chosen by name (``RAG_EMBEDDING``) and imported lazily.

- ``minilm-onnx`` (default): all-MiniLM-L6-v2, int8 ONNX, shipped in a wheel (:mod:`rag.embeddings.local`)
- ``hash``: a deterministic, model-free embedder for tests (:mod:`rag.embeddings.local`)
- ``openai``: any OpenAI-compatible ``/v1/embeddings`` server (:mod:`rag.embeddings.remote`)

>>> embedding_name(Settings(embedding="hash"))
'hash-256'
"""

from __future__ import annotations

import os

from rag.extras import ProviderError
from rag.lazy import exports
from rag.settings import Settings

_EXPORTS = {
    "HashEmbeddings": "local",
    "MiniLMOnnxEmbeddings": "local",
    "OpenAIEmbeddings": "remote",
    "EmbeddingServiceError": "remote",
}
__all__ = ["make_embeddings", "embedding_name", "available_cores", *sorted(_EXPORTS)]
__getattr__, __dir__ = exports(__name__, _EXPORTS)


def make_embeddings(settings: Settings):
    """The LangChain ``Embeddings`` named by ``settings.embeddings.provider``."""
    if settings.embeddings.provider == "openai":
        try:
            from rag.embeddings.remote import OpenAIEmbeddings
        except ImportError as exc:
            raise ProviderError(f"the openai embedder needs the openai package ({exc}): pip install -e .") from None
        return OpenAIEmbeddings.from_settings(settings)
    from rag.embeddings.local import HashEmbeddings, MiniLMOnnxEmbeddings

    if settings.embeddings.provider == "hash":
        return HashEmbeddings()
    cores = settings.embeddings.threads or available_cores()
    return MiniLMOnnxEmbeddings(threads=cores, bulk_sessions=cores)


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def embedding_name(settings: Settings) -> str:
    """Name recorded in the index fingerprint (without loading the model). For
    a remote model it is the model name: a different model forces a rebuild,
    the same model behind another URL does not."""
    if settings.embeddings.provider == "openai":
        return f"openai:{settings.embeddings.model}"
    # Literal names, so that fingerprinting imports no model code (a no-op `rag index` stays light);
    # test_embedding_name_is_the_models_own checks them against rag.embeddings.local.
    return {"hash": "hash-256", "minilm-onnx": "all-MiniLM-L6-v2-onnx-int8"}[settings.embeddings.provider]
