"""``rag serve``: run the API (:mod:`rag.serve.app`) with uvicorn.

    rag serve                                   # http://127.0.0.1:8090/v1, no key
    RAG_API_KEY=$(openssl rand -hex 16) rag serve --host 0.0.0.0   # reachable from the network

Anything but a loopback address needs ``RAG_API_KEY``, otherwise it refuses to start.
Connections and requests follow the rules of :mod:`rag.serve.httpguard` (timeouts,
per-client limits, host names, JSON bodies, body size).

>>> server = start_in_thread(create_app(Settings()), "127.0.0.1", 8091)  # doctest: +SKIP
>>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import sys

from rag.serve.httpguard import RunningServer, server_config
from rag.ingest import build_index
from rag import engine
from rag.settings import Settings
from rag.serve.access import check_bind
from rag.serve.app import create_app, index_status, model_ids

__all__ = ["RunningServer", "check_access", "run", "start_in_thread"]


def check_access(host: str, settings: Settings) -> None:
    """Refuse to serve beyond loopback without an API key.

    >>> check_access("127.0.0.1", Settings())
    >>> check_access("0.0.0.0", Settings(api_key="k" * 16))
    """
    check_bind(host, protected=bool(settings.serve.api_key), refusal=(
        f"refusing to serve on {host} without an API key: anyone who can reach this machine could "
        "read the corpus. Set RAG_API_KEY (e.g. `export RAG_API_KEY=$(openssl rand -hex 16)`), "
        "or bind to 127.0.0.1 (the default)."))


def start_in_thread(app, host: str = "127.0.0.1", port: int = 8090) -> RunningServer:
    """Serve ``app`` from a background thread under the limits of
    :mod:`rag.serve.httpguard`; returns once it accepts connections."""
    return RunningServer(app, host, port).start()


def warm_up(settings: Settings) -> str | None:
    """Build the index if there is none and load the model, so the first request
    is not the slow one. Returns the index summary when it had to build."""
    loaded = engine(settings)
    summary = None
    if not index_status(settings)["present"]:
        summary = build_index(settings, embeddings=loaded.embeddings, progress=False).summary()
    loaded.retriever  # noqa: B018 - loads chunks and BM25
    loaded.embeddings.embed_query("warm up")
    return summary


def run(settings: Settings) -> int:
    """``rag serve`` (options in rag/cli.py): warm up, then serve until Ctrl+C; returns the exit code."""
    import uvicorn

    check_access(settings.serve.host, settings)  # before any slow start-up work
    summary = warm_up(settings)
    if summary:
        print(summary, file=sys.stderr)
    app = create_app(settings)
    host = settings.serve.host
    shown = f"[{host}]" if ":" in host else host
    print(f"OpenAI-compatible API on http://{shown}:{settings.serve.port}/v1 "
          f"(models: {', '.join(model_ids(settings))}"
          f"{'; key required' if settings.serve.api_key else ''}) — Ctrl+C to stop", file=sys.stderr, flush=True)
    uvicorn.Server(server_config(app, host, settings.serve.port)).run()
    return 0
