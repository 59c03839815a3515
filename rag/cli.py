"""The ``rag`` command: index, ask, eval, ui.

    rag index                      # sync the index with the corpus (progress: a bar, or lines in a log)
    rag ask "Which resolutions were cited?"  [--json]
    rag eval [SUITE ...]           # see evals/README.md
    rag ui                         # the Gradio chat app
    rag serve                      # the OpenAI-compatible API with citations

Errors print one line and exit non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from rag.ingest import DEFAULT_EVERY
from rag.safety import guard_handlers, guard_http_loggers, mask_credentials, printable
from rag.settings import Settings, SettingsError

EXIT_ERROR = 1
EXIT_USAGE = 2


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds between 0.1 and 3600, got {text!r}")
    return value


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    for name in ("corpus_dir", "index_dir", "chroma_url", "top_k", "answerer"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings.from_env(**overrides)


def cmd_index(args: argparse.Namespace) -> int:
    from rag.ingest import build_index
    from rag.ingest import for_command_line

    progress = for_command_line(quiet=args.quiet, bar=args.progress, every=args.progress_every)
    report = build_index(_settings(args), progress=progress, rebuild=args.rebuild, full_check=args.full_check)
    print(report.summary())
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag import ask

    answer = ask(args.question, settings=_settings(args))
    if args.json:
        print(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(answer.text)
    for w in answer.warnings:
        print(f"warning: {w}")
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            print(f"  [{c.marker}] {printable(c.source)} ({c.start}-{c.end}): \"{c.quote}\"")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    try:
        from evals.runner import main as eval_main
    except ImportError as exc:
        raise SettingsError(f"the eval runner is not installed ({exc}); run `pip install -e .` in the repo") from None
    return eval_main(args.rest)


def cmd_ui(args: argparse.Namespace) -> int:
    from rag.extras import require

    require("gradio", "ui", "rag ui (the chat UI) and its tests")
    try:
        from ui.app import main as ui_main
    except ImportError as exc:
        raise SettingsError(f"the UI is not installed ({exc}); run `pip install -e '.[ui]'` in the repo") from None
    return ui_main(args.rest)


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.serve import main as serve_main

    return serve_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Cited answers from a document corpus, offline.")
    p.add_argument("-v", "--verbose", action="store_true", help="log what goes into each answer")
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--corpus-dir", dest="corpus_dir", help="corpus folder (RAG_CORPUS_DIR)")
        sp.add_argument("--index-dir", dest="index_dir", help="index folder (RAG_INDEX_DIR)")
        sp.add_argument("--chroma-url", dest="chroma_url", help="Chroma server URL (RAG_CHROMA_URL)")

    sp = sub.add_parser("index", help="index the corpus (incremental)")
    common(sp)
    shown = sp.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true",
                       help="always show the progress bar (on stderr); by default it shows on a terminal, and "
                            "when stdout is not one (a log, a service, CI) a progress line goes there instead "
                            "every few seconds")
    shown.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary")
    sp.add_argument("--progress-every", dest="progress_every", type=_seconds, default=DEFAULT_EVERY, metavar="SECONDS",
                    help=f"seconds between progress lines when not on a terminal (default {DEFAULT_EVERY:g})")
    sp.add_argument("--rebuild", action="store_true", help="drop the index and rebuild it from the corpus")
    sp.add_argument("--full-check", dest="full_check", action="store_true",
                    help="read and hash every file, not only those whose size or time changed")
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("ask", help="ask a question")
    common(sp)
    sp.add_argument("question")
    sp.add_argument("--json", action="store_true", help="print the whole Answer as JSON")
    sp.add_argument("--top-k", dest="top_k", type=int)
    sp.add_argument("--answerer", choices=["extractive", "openai"])
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("eval", help="run eval suites (rag eval --help)", add_help=False)
    sp.add_argument("rest", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_eval)

    sp = sub.add_parser("ui", help="start the chat UI (rag ui --help)", add_help=False)
    sp.add_argument("rest", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_ui)

    sp = sub.add_parser("serve", help="serve an OpenAI-compatible API (rag serve --help)", add_help=False)
    sp.add_argument("rest", nargs=argparse.REMAINDER)
    sp.set_defaults(func=cmd_serve)
    return p


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
    argv = [_argv_text(a) for a in (sys.argv[1:] if argv is None else list(argv))]
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command in ("eval", "ui", "serve"):
        # argparse's REMAINDER drops options that come first ("rag eval --out X"): pass everything on.
        args.rest = argv[argv.index(args.command) + 1:]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("chromadb").setLevel(logging.WARNING)
    # HTTP client loggers print request URLs, credentials included: quiet and mask them.
    secrets = tuple(v for k, v in os.environ.items() if k in ("RAG_LLM_API_KEY", "OPENAI_API_KEY",
                                                                  "RAG_EMBEDDING_API_KEY") and v)
    guard_http_loggers(*secrets, force_quiet=True)
    guard_handlers(*secrets)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        kind = "error" if isinstance(exc, (ValueError, RuntimeError, OSError, ImportError)) else \
            f"unexpected error ({type(exc).__name__})"
        # One line: messages may carry file names or server text with newlines.
        print(f"{kind}: {' '.join(mask_credentials(str(exc)).split())}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, (SettingsError,)) else EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
