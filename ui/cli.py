"""``rag ui``: a plugin command of ``rag`` (entry point ``rag.commands``, see rag/cli.py).

Importing this module is cheap (``rag --help`` does, to list the command): Gradio
and the app load only when the command runs, after checking the ``ui`` extra (so
the help repeats ui.app's DEFAULT_HOST and DEFAULT_PORT rather than import them).
"""

from __future__ import annotations

import click

from rag.cli import CONTEXT, corpus_options
from rag.extras import require


@click.command("ui", context_settings=CONTEXT, short_help="start the chat UI")
@click.option("--host", help="address to bind (RAG_UI_HOST, default 127.0.0.1); "
                             "non-loopback addresses need RAG_UI_AUTH=user:password")
@click.option("--port", help="port (RAG_UI_PORT, default 7860)")
@corpus_options
def command(host: str | None, port: str | None, **overrides) -> None:
    """Serve the chat UI (Gradio)."""
    require("gradio", "ui", "rag ui (the chat UI) and its tests")
    from .app import run

    click.get_current_context().exit(run(host, port, **overrides))
