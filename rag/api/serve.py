"""``rag serve``: run the API (:mod:`rag.api.app`) with uvicorn.

    rag serve                                   # http://127.0.0.1:8090/v1, no key
    RAG_API_KEY=$(openssl rand -hex 16) rag serve --host 0.0.0.0   # reachable from the network

Anything but a loopback address needs ``RAG_API_KEY``, otherwise it refuses to start.
Connections and requests follow the rules of :mod:`rag.httpguard` (timeouts,
per-client limits, host names, JSON bodies, body size).

>>> server = start_in_thread(create_app(Settings()), "127.0.0.1", 8091)  # doctest: +SKIP
>>> server.stop()  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import sys

from ..httpguard import RunningServer, is_loopback, server_config
from ..indexing import build_index
from ..pipeline import engine
from ..settings import Settings, SettingsError
from .app import create_app, index_status, model_ids

__all__ = ["RunningServer", "check_access", "is_loopback", "main", "start_in_thread"]


def check_access(host: str, settings: Settings) -> None:
    """Refuse to serve beyond loopback without an API key.

    >>> check_access("127.0.0.1", Settings())
    >>> check_access("0.0.0.0", Settings(api_key="k" * 16))
    """
    if not is_loopback(host) and not settings.serve.api_key:
        raise SettingsError(
            f"refusing to serve on {host} without an API key: anyone who can reach this machine could "
            "read the corpus. Set RAG_API_KEY (e.g. `export RAG_API_KEY=$(openssl rand -hex 16)`), "
            "or bind to 127.0.0.1 (the default).")


def start_in_thread(app, host: str = "127.0.0.1", port: int = 8090) -> RunningServer:
    """Serve ``app`` from a background thread under the limits of
    :mod:`rag.httpguard`; returns once it accepts connections."""
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


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="rag serve",
                                description="Serve the corpus as an OpenAI-compatible chat API with citations.")
    p.add_argument("--host", help="address to bind (RAG_SERVE_HOST, default 127.0.0.1); "
                                  "non-loopback addresses need RAG_API_KEY")
    p.add_argument("--port", type=int, help="port (RAG_SERVE_PORT, default 8090)")
    p.add_argument("--workers", type=int, help="answering threads (RAG_SERVE_WORKERS, default 2)")
    p.add_argument("--corpus-dir", dest="corpus_dir", help="corpus folder (RAG_CORPUS_DIR)")
    p.add_argument("--index-dir", dest="index_dir", help="index folder (RAG_INDEX_DIR)")
    p.add_argument("--chroma-url", dest="chroma_url", help="Chroma server URL (RAG_CHROMA_URL)")
    p.add_argument("--answerer", choices=["extractive", "openai"], help="the 'rag' model's answerer (RAG_ANSWERER)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``rag serve``; returns the exit code."""
    import uvicorn

    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    overrides = {name: value for name, value in (
        ("serve_host", args.host), ("serve_port", args.port), ("serve_workers", args.workers),
        ("corpus_dir", args.corpus_dir), ("index_dir", args.index_dir), ("chroma_url", args.chroma_url),
        ("answerer", args.answerer)) if value is not None}
    settings = Settings.from_env(**overrides)
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
