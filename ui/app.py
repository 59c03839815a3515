"""The Gradio chat app: ``rag ui`` serves it on http://127.0.0.1:7860.

    rag ui                                  # 127.0.0.1:7860, no login
    RAG_UI_PORT=8080 rag ui                 # another port
    RAG_UI_AUTH=alice:s3cret rag ui --host 0.0.0.0   # reachable from the network

Anything but a loopback address needs ``RAG_UI_AUTH`` ("user:password"),
otherwise the app refuses to start.

>>> from ui.app import build_app, serve  # doctest: +SKIP
>>> server = serve(build_app(Settings()), "127.0.0.1", 7861, block=False)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import sys

from rag import Settings, build_index
from rag.serve import check_bind
from rag.store import index_exists
from rag.settings import SettingsError

from .corpus import MAX_UPLOAD_BYTES, Corpus

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
CHAT_CONCURRENCY = 2  # two CPU cores: more parallel answers only queue inside onnxruntime


class AccessError(SettingsError):
    """The app would be reachable from the network without a password."""


def parse_auth(raw: str | None) -> tuple[str, str] | None:
    """``RAG_UI_AUTH`` ("user:password") as a pair, None when unset. A blank
    user or password, or one of spaces only, is refused: it would protect nothing.

    >>> parse_auth("alice:pa:ss")
    ('alice', 'pa:ss')
    """
    if raw is None or raw == "":
        return None
    user, sep, password = raw.partition(":")
    if not sep or not user.strip() or not password.strip():
        raise AccessError("RAG_UI_AUTH must look like user:password, neither of them blank")
    if user != user.strip():
        # The sign-in form strips the user name: " alice" could never sign in.
        raise AccessError("RAG_UI_AUTH: the user name must not begin or end with spaces")
    return user, password


def check_access(host: str, auth: tuple[str, str] | None) -> None:
    """Refuse to serve beyond loopback without credentials."""
    check_bind(host, protected=auth is not None, error=AccessError, refusal=(
        f"refusing to serve on {host} without a password: anyone who can reach this machine "
        "could read the corpus and change it. Set RAG_UI_AUTH=user:password, or bind to "
        f"{DEFAULT_HOST} (the default)."))


def build_app(settings: Settings):
    """The Blocks app over ``settings`` (nothing is served until :func:`serve`)."""
    from .layout import layout

    return layout(settings, Corpus(settings))


def serve(app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          auth: tuple[str, str] | None = None, block: bool = True, quiet: bool = False,
          settings: Settings | None = None):
    """Queue ``app`` and serve it; with ``block=False`` return once it listens.

    Returns ``(server, url, None)`` like Gradio's ``launch()``; ``app.close()``
    stops the server. Gradio is mounted in our own uvicorn server so that the
    connection limits of :mod:`rag.serve.httpguard` apply, behind the request rules
    of :func:`ui.security.guarded` (host names, origin, sign-in on every route,
    body limits). Access is checked here too, so no caller can skip it.
    """
    import gradio as gr
    from fastapi import FastAPI
    from rag.serve import RunningServer, server_config

    from .security import guarded
    from .style import CSS, JS, theme

    settings = settings or Settings()
    check_access(host, auth)
    app.queue(default_concurrency_limit=CHAT_CONCURRENCY, max_size=64)
    root = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    gr.mount_gradio_app(
        root, app, path="/", auth=auth, server_name=host, server_port=port,
        auth_message="Sign in to the corpus assistant (credentials are set by RAG_UI_AUTH).",
        show_error=True, max_file_size=MAX_UPLOAD_BYTES, ssr_mode=False, pwa=False, mcp_server=False,
        enable_monitoring=False, footer_links=["api", "settings"], run_history=False,
        theme=theme(), css=CSS, js=JS,
    )
    # Gradio checks that a file named in a request was uploaded by a client only once the app
    # "has launched"; mounting never sets it, and without it a request naming any server path
    # (/etc/passwd) would be read as an upload.
    app.has_launched = True
    asgi = guarded(root, host=host, auth=auth is not None, settings=settings)
    if block:
        import uvicorn

        if not quiet:
            print(f"Chat UI on {_url(host, port)}" + (" (login required)" if auth else "")
                  + " — Ctrl+C to stop", file=sys.stderr, flush=True)
        uvicorn.Server(server_config(asgi, host, port)).run()
        return None, _url(host, port), None
    server = RunningServer(asgi, host, port).start()
    app.server = server  # Blocks.close() stops it
    return server, server.url + "/", None


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def address(host: str | None = None, port: str | int | None = None, environ=None) -> tuple[str, int]:
    """The (host, port) to serve on: the flags, else RAG_UI_HOST / RAG_UI_PORT, else the defaults.

    >>> address(None, None, {"RAG_UI_PORT": "8123"})
    ('127.0.0.1', 8123)
    """
    env = os.environ if environ is None else environ
    host = host or env.get("RAG_UI_HOST") or DEFAULT_HOST
    raw = port if port is not None else env.get("RAG_UI_PORT") or DEFAULT_PORT
    try:
        port = int(raw)
        if not 1 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise SettingsError(f"RAG_UI_PORT / --port={raw!r} is invalid: expected 1-65535") from None
    return host, port


def run(host: str | None = None, port: str | int | None = None, **overrides) -> int:
    """``rag ui`` (options in ui/cli.py): index if there is no index yet, then serve until Ctrl+C.
    ``overrides`` are Settings fields (None: from the environment). Returns the exit code."""
    try:
        host, port = address(host, port)
        auth = parse_auth(os.environ.get("RAG_UI_AUTH"))
        check_access(host, auth)  # before any slow start-up work
        settings = Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not index_exists(settings):
        print(f"No index at {settings.index_location} yet: indexing {settings.ingest.corpus_dir} first…",
              file=sys.stderr)
        print(build_index(settings).summary(), file=sys.stderr)
    serve(build_app(settings), host, port, auth=auth, settings=settings)
    return 0
