"""The one place where providers are chosen by name and imported lazily.

- embeddings: ``RAG_EMBEDDING`` (minilm-onnx | hash)
- vector store location: ``RAG_CHROMA_URL`` (Chroma server) or ``RAG_INDEX_DIR`` (embedded)
- answerer: ``RAG_ANSWERER`` (extractive | openai)
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from .settings import Settings


class ProviderError(RuntimeError):
    """A provider could not be set up; the message says what to do."""


def make_embeddings(settings: Settings):
    """The LangChain ``Embeddings`` named by ``settings.embedding``."""
    from .embeddings import HashEmbeddings, MiniLMOnnxEmbeddings

    if settings.embedding == "hash":
        return HashEmbeddings()
    return MiniLMOnnxEmbeddings()


def embedding_name(settings: Settings) -> str:
    """Name recorded in the index fingerprint (without loading the model)."""
    from .embeddings import MINILM_NAME

    return {"hash": "hash-256", "minilm-onnx": MINILM_NAME}[settings.embedding]


def make_chroma_client(settings: Settings):
    """A Chroma client: ``HttpClient`` when RAG_CHROMA_URL is set, else a
    ``PersistentClient`` on RAG_INDEX_DIR. Telemetry is always off."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError:
        raise ProviderError("Chroma is not installed: pip install chromadb==1.5.9") from None
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        u = urlparse(settings.chroma_url)
        port = u.port or (443 if u.scheme == "https" else 8000)
        try:
            client = chromadb.HttpClient(host=u.hostname, port=port, ssl=u.scheme == "https",
                                         settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:
            raise ProviderError(
                f"cannot reach the Chroma server at {settings.chroma_url} ({type(exc).__name__}: {exc}); "
                "start one with `chroma run --path DIR --host 127.0.0.1 --port 8000` or unset RAG_CHROMA_URL"
            ) from None
        return client
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.index_dir), settings=chroma_settings)


def make_answerer(settings: Settings, embeddings):
    """The answerer named by ``settings.answerer``."""
    if settings.answerer == "openai":
        try:
            from .generation import OpenAIAnswerer
        except ImportError as exc:
            raise ProviderError(
                f"the openai answerer needs langchain-openai and openai ({exc}): pip install -e ."
            ) from None
        return OpenAIAnswerer(settings, embeddings)
    from .answering import ExtractiveAnswerer

    return ExtractiveAnswerer(settings, embeddings)
