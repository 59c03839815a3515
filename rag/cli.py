"""The ``rag`` command: one click group, one declaration of the options its commands share.

    rag index                      # sync the index with the corpus (progress: a bar, or lines in a log)
    rag ask "Which resolutions were cited?"  [--json]
    rag serve                      # the OpenAI-compatible API with citations
    rag embed-server               # the bundled MiniLM over the OpenAI embeddings API
    rag eval [SUITE ...]           # see evals/README.md   (a plugin: evals/cli.py)
    rag ui                         # the Gradio chat app   (a plugin: ui/cli.py)

Errors print one line and exit non-zero; ``--debug`` shows the traceback.

Commands beyond the built-in ones come from the ``rag.commands`` entry-point
group (pyproject.toml), loaded only when named (or listed by ``rag --help``), so
that this package never imports ``evals`` or ``ui``. A plugin is a click command
built from the decorators below::

    @click.command(context_settings=CONTEXT, short_help="...")
    @corpus_options
    def command(**overrides):
        settings = settings_from(overrides)

An entry point whose import fails (its extra is not installed) is still listed,
and running it says which extra to install.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from importlib.metadata import entry_points

import click

from rag.ingest import DEFAULT_EVERY
from rag.safety import guard_handlers, guard_http_loggers, mask_credentials, printable
from rag.settings import Settings, SettingsError

__all__ = ["CONTEXT", "PLUGIN_GROUP", "answerer_option", "cli", "corpus_options", "main", "settings_from", "top_k_option"]

EXIT_ERROR = 1
EXIT_USAGE = 2
PLUGIN_GROUP = "rag.commands"
CONTEXT = {"help_option_names": ["-h", "--help"]}  # context_settings of every command, plugins too
ORDER = ("index", "ask", "eval", "ui", "serve", "embed-server")  # how `rag --help` lists them; others follow

# The options every command over the corpus and index shares, declared once; each overrides its RAG_* variable.
_CORPUS_OPTIONS = (
    click.option("--corpus-dir", "corpus_dir", metavar="DIR", help="corpus folder (RAG_CORPUS_DIR)"),
    click.option("--index-dir", "index_dir", metavar="DIR", help="index folder (RAG_INDEX_DIR)"),
    click.option("--chroma-url", "chroma_url", metavar="URL", help="Chroma server URL (RAG_CHROMA_URL)"),
)


def corpus_options(f):
    """``--corpus-dir``, ``--index-dir``, ``--chroma-url`` on a command: keyword arguments of
    the same names, None when not given (then ``RAG_CORPUS_DIR`` etc. apply)."""
    for option in reversed(_CORPUS_OPTIONS):
        f = option(f)
    return f


def answerer_option(*choices: str, help: str = "the answerer (RAG_ANSWERER)"):
    """``--answerer``, one of ``choices``: keyword argument ``answerer``."""
    return click.option("--answerer", "answerer", type=click.Choice(choices), help=help)


def top_k_option(help: str = "passages to retrieve (RAG_TOP_K)"):
    """``--top-k N``: keyword argument ``top_k``."""
    return click.option("--top-k", "top_k", type=int, metavar="N", help=help)


def settings_from(overrides: dict) -> Settings:
    """:meth:`Settings.from_env` with the options that were given (not None) as overrides."""
    return Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})


class _Seconds(click.ParamType):
    name = "seconds"

    def convert(self, value, param, ctx):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = -1.0
        if not 0.1 <= seconds <= 3600:
            self.fail(f"expected seconds between 0.1 and 3600, got {value!r}", param, ctx)
        return seconds


def _missing(name: str, error: Exception, extras: list[str]) -> click.Command:
    """What a plugin command whose import failed becomes: listed, and saying what to install when run."""
    if isinstance(error, SettingsError):  # the plugin's own require() said which extra (rag/extras.py)
        problem = error
    else:
        from rag.extras import MissingExtra

        extra = extras[0] if extras else name
        module = getattr(error, "name", None) or str(error)
        problem = MissingExtra(f"rag {name} needs {module.split('.')[0]}, which is not installed: "
                               f"pip install -e '.[{extra}]' (in the repository; or pip install "
                               f"'rag-citations[{extra}]')")

    def run(**_):
        raise problem

    hint = f"[{extras[0]}] extra" if extras else "its package"
    return click.Command(name, callback=run, help=f"(not installed: needs the {hint}) {problem}",
                         short_help=f"(needs the {hint}, not installed)", add_help_option=False,
                         context_settings={"ignore_unknown_options": True},  # any arguments: the same message
                         params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)])


class RagGroup(click.Group):
    """Built-in commands, then the ``rag.commands`` entry points (loaded when named), and
    today's error contract: one ``error: ...`` line, exit 1 (2 for settings), ``--debug`` raises."""

    def _plugins(self) -> dict:
        return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP) if ep.name not in self.commands}

    def list_commands(self, ctx) -> list[str]:
        names = [*self.commands, *self._plugins()]
        return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))

    def get_command(self, ctx, name):
        if name in self.commands:
            return self.commands[name]
        ep = self._plugins().get(name)
        if ep is None:
            return None
        try:
            command = ep.load()
        except (ImportError, SettingsError) as exc:
            if ctx.params.get("debug"):
                raise
            return _missing(name, exc, list(ep.extras))
        if not isinstance(command, click.Command):
            raise click.ClickException(f"entry point {ep.value} ({PLUGIN_GROUP}) is not a click command")
        return command

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            ctx.exit(130)
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            kind = "error" if isinstance(exc, (ValueError, RuntimeError, OSError, ImportError)) else \
                f"unexpected error ({type(exc).__name__})"
            # One line: messages may carry file names or server text with newlines.
            print(f"{kind}: {' '.join(mask_credentials(str(exc)).split())}", file=sys.stderr)
            ctx.exit(EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_ERROR)


@click.group(cls=RagGroup, context_settings=CONTEXT, help="Cited answers from a document corpus, offline.")
@click.option("-v", "--verbose", is_flag=True, help="log what goes into each answer")
@click.option("--debug", is_flag=True, help="show tracebacks on errors")
def cli(verbose: bool, debug: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("chromadb").setLevel(logging.WARNING)
    # HTTP client loggers print request URLs, credentials included: quiet and mask them.
    secrets = tuple(v for k, v in os.environ.items() if k in ("RAG_LLM_API_KEY", "OPENAI_API_KEY",
                                                                  "RAG_EMBEDDING_API_KEY") and v)
    guard_http_loggers(*secrets, force_quiet=True)
    guard_handlers(*secrets)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


@cli.command(context_settings=CONTEXT, short_help="index the corpus (incremental)")
@corpus_options
@click.option("--progress", is_flag=True,
              help="always show the progress bar (on stderr); by default it shows on a terminal, and when stdout "
                   "is not one (a log, a service, CI) a progress line goes there instead every few seconds")
@click.option("-q", "--quiet", is_flag=True, help="no progress, only the summary")
@click.option("--progress-every", type=_Seconds(), default=DEFAULT_EVERY, metavar="SECONDS",
              help=f"seconds between progress lines when not on a terminal (default {DEFAULT_EVERY:g})")
@click.option("--rebuild", is_flag=True, help="drop the index and rebuild it from the corpus")
@click.option("--full-check", is_flag=True, help="read and hash every file, not only those whose size or time changed")
def index(progress: bool, quiet: bool, progress_every: float, rebuild: bool, full_check: bool, **overrides) -> None:
    """Index the corpus: only files added, changed or removed since the last run are read."""
    if progress and quiet:
        raise click.UsageError("--quiet: not allowed with --progress")
    from rag import build_index
    from rag.ingest import for_command_line

    shown = for_command_line(quiet=quiet, bar=progress, every=progress_every)
    report = build_index(settings_from(overrides), progress=shown, rebuild=rebuild, full_check=full_check)
    print(report.summary())


@cli.command(context_settings=CONTEXT, short_help="ask a question")
@corpus_options
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="print the whole Answer as JSON")
@top_k_option()
@answerer_option("extractive", "openai")
def ask(question: str, as_json: bool, **overrides) -> None:
    """Answer QUESTION from the corpus, with numbered sources."""
    from rag import ask as answer_question

    answer = answer_question(question, settings=settings_from(overrides))
    if as_json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    print(answer.text)
    for w in answer.warnings:
        print(f"warning: {w}")
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"  [{c.marker}] {printable(c.source)} ({c.start}-{c.end}): \"{c.quote}\"")


@cli.command(context_settings=CONTEXT, short_help="serve an OpenAI-compatible API")
@click.option("--host", "serve_host", help="address to bind (RAG_SERVE_HOST, default 127.0.0.1); "
                                           "non-loopback addresses need RAG_API_KEY")
@click.option("--port", "serve_port", type=int, help="port (RAG_SERVE_PORT, default 8090)")
@click.option("--workers", "serve_workers", type=int, help="answering threads (RAG_SERVE_WORKERS, default 2)")
@corpus_options
@answerer_option("extractive", "openai", help="the 'rag' model's answerer (RAG_ANSWERER)")
def serve(**overrides) -> None:
    """Serve the corpus as an OpenAI-compatible chat API with citations."""
    from rag.serve import run

    ctx = click.get_current_context()
    ctx.exit(run(settings_from(overrides)))


@cli.command("embed-server", context_settings=CONTEXT, short_help="serve the bundled embedding model (OpenAI API)")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind; off loopback it needs --api-key")
@click.option("--port", type=int, default=8081, show_default=True)
@click.option("--model", "models", multiple=True,
              help="model name(s) to answer to (default all-MiniLM-L6-v2); repeat for aliases")
@click.option("--threads", type=int, default=0, help="cores to embed on (default: all)")
@click.option("--api-key", envvar="RAG_EMBEDDING_API_KEY",
              help="required from clients (default RAG_EMBEDDING_API_KEY); needed off loopback")
def embed_server(host: str, port: int, models: tuple[str, ...], threads: int, api_key: str | None) -> None:
    """Serve the bundled MiniLM over the OpenAI embeddings API (POST /v1/embeddings)."""
    from rag.serve import run_embedding_server as run

    click.get_current_context().exit(run(host, port, models, threads, api_key))


def _argv_text(arg) -> str:
    """An argument as text. Python decodes undecodable argv bytes to lone
    surrogates (``$'Caf\\xe9'`` -> ``'Caf\\udce9'``), which nothing downstream can
    encode: read the raw bytes as UTF-8, else Latin-1 (what such bytes
    usually are)."""
    if isinstance(arg, bytes):
        raw = arg
    else:
        try:
            arg.encode("utf-8")
            return arg
        except UnicodeEncodeError:
            raw = os.fsencode(arg)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def main(argv: list[str] | None = None) -> int:
    """Run ``rag`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = [_argv_text(a) for a in (sys.argv[1:] if argv is None else list(argv))]
    try:
        code = cli.main(args=argv, prog_name="rag", standalone_mode=False)
    except click.exceptions.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        print("interrupted", file=sys.stderr)
        return 130
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
