"""Serve: the HTTP side. The OpenAI-compatible API (``rag serve``, :mod:`.app`,
:mod:`.server`, request/response shapes in :mod:`.schema`, the answer pool in
:mod:`.pool`), the embedding server (``rag embed-server``, :mod:`.embeddings`),
the LangChain adapter (:mod:`.langchain_adapter`), and the HTTP/1.1 front all
our servers (and the UI) run behind (:mod:`.httpguard`: timeouts, limits,
Host allow-list). Everything here is an adapter over ``ask()``.

>>> from rag.serve import create_app, start_in_thread  # doctest: +SKIP
>>> server = start_in_thread(create_app(Settings()), "127.0.0.1", 8091)  # doctest: +SKIP
"""

from rag.lazy import exports

_EXPORTS = {
    "create_app": "app",
    "run": "server",
    "run_embedding_server": "embeddings:run",
    "start_in_thread": "server",
    "EmbeddingServer": "embeddings",
    "CorpusRetriever": "langchain_adapter",
    "as_retriever": "langchain_adapter",
    "as_runnable": "langchain_adapter",
    "Guard": "httpguard",
    "Limits": "httpguard",
    "RunningServer": "httpguard",
    "server_config": "httpguard",
    "is_loopback": "access",
    "allowed_hosts": "access",
    "check_bind": "access",
    "check_key": "access",
    "serve_embeddings": "embeddings",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = exports(__name__, _EXPORTS)
