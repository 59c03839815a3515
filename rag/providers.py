"""The one place where providers are chosen by name and imported lazily.

- embeddings: ``RAG_EMBEDDING`` (minilm-onnx | hash | openai)
- vector store location: ``RAG_CHROMA_URL`` (Chroma server) or ``RAG_INDEX_DIR`` (embedded)
- answerer: ``RAG_ANSWERER`` (extractive | openai | top-chunk)
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlparse

from .settings import Settings

log = logging.getLogger(__name__)


class ProviderError(RuntimeError):
    """A provider could not be set up; the message says what to do."""


def make_embeddings(settings: Settings):
    """The LangChain ``Embeddings`` named by ``settings.embeddings.provider``."""
    if settings.embeddings.provider == "openai":
        try:
            from .remote_embeddings import OpenAIEmbeddings
        except ImportError as exc:
            raise ProviderError(f"the openai embedder needs the openai package ({exc}): pip install -e .") from None
        return OpenAIEmbeddings.from_settings(settings)
    from .embeddings import HashEmbeddings, MiniLMOnnxEmbeddings

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
    # test_embedding_name_is_the_models_own checks them against rag.embeddings.
    return {"hash": "hash-256", "minilm-onnx": "all-MiniLM-L6-v2-onnx-int8"}[settings.embeddings.provider]


def make_chroma_client(settings: Settings, *, write: bool = False):
    """A Chroma client: ``HttpClient`` when RAG_CHROMA_URL is set, else a
    ``PersistentClient`` on RAG_INDEX_DIR. Telemetry is always off.

    Every request to a server is bounded by RAG_CHROMA_TIMEOUT. A read-only
    index folder is opened as a private copy (readers only; ``write=True``
    raises an error naming the folder instead). Failures raise errors naming
    the path or URL and the variable to change.
    """
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError:
        raise ProviderError("Chroma is not installed: pip install chromadb==1.5.9") from None
    from .health import forget_client, readable_path, store_error, unwritable, writable

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.store.chroma_url:
        u = urlparse(settings.store.chroma_url)
        port = u.port or (443 if u.scheme == "https" else 8000)
        try:
            # chromadb's own session has no timeout (timeout=None, fixed in its code) and
            # talks to the server while it is built: check the server with a bounded request first.
            _heartbeat(settings.store.chroma_url, settings.store.chroma_timeout)
            client = chromadb.HttpClient(host=u.hostname, port=port, ssl=u.scheme == "https",
                                         settings=chroma_settings)
            _bound_session(client, settings.store.chroma_timeout)
            client.heartbeat()
        except Exception as exc:
            raise ProviderError(
                f"cannot reach the Chroma server at {settings.store.chroma_url} ({type(exc).__name__}: {exc}); "
                "start one with `chroma run --path DIR --host 127.0.0.1 --port 8000` or unset RAG_CHROMA_URL "
                f"(requests wait at most RAG_CHROMA_TIMEOUT={settings.store.chroma_timeout:g}s)"
            ) from None
        return client
    path = settings.store.index_dir
    if write:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise unwritable(settings, exc) from None
        if not writable(path):
            raise unwritable(settings, PermissionError(13, "not writable"))
    else:
        path, _ = readable_path(settings)
        if not path.exists():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise unwritable(settings, exc) from None
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        forget_client(path)  # chromadb keeps the half-built client cached; the next try needs a fresh one
        raise store_error(exc, settings) from None


def _heartbeat(url: str, timeout: float) -> None:
    import urllib.request

    with urllib.request.urlopen(url.rstrip("/") + "/api/v2/heartbeat", timeout=timeout) as r:
        r.read(1024)


def _bound_session(client, timeout: float) -> None:
    """Give chromadb's HTTP session a timeout (its constructor hard-codes none)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is None:  # pragma: no cover - a chromadb upgrade moved it; the heartbeat above still bounds start-up
        log.warning("could not set a timeout on the Chroma client; a frozen server may hang requests")
        return
    session.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))


def make_answerer(settings: Settings, embeddings):
    """The answerer named by ``settings.answer.answerer``."""
    if settings.answer.answerer == "openai":
        try:
            from .generation import OpenAIAnswerer
        except ImportError as exc:
            raise ProviderError(
                f"the openai answerer needs langchain-openai and openai ({exc}): pip install -e ."
            ) from None
        return OpenAIAnswerer(settings, embeddings)
    if settings.answer.answerer == "top-chunk":
        from .baseline import TopChunkAnswerer

        return TopChunkAnswerer(settings, embeddings)
    from .answering import ExtractiveAnswerer

    return ExtractiveAnswerer(settings, embeddings)
