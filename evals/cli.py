"""``rag eval``: a plugin command of ``rag`` (entry point ``rag.commands``, see rag/cli.py).

Importing this module is cheap (``rag --help`` does, to list the command): the
runner, and with it the answering machinery, loads only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from rag.cli import CONTEXT, answerer_option, corpus_options, top_k_option
from rag.settings import ANSWERERS


class _EvalCommand(click.Command):
    def parse_args(self, ctx, args):
        # `rag eval -- --out DIR`: the way evals/README.md once gave to pass options first; still accepted.
        return super().parse_args(ctx, args[1:] if args[:1] == ["--"] else args)


@click.command("eval", cls=_EvalCommand, context_settings=CONTEXT,
               short_help="run eval suites")
@click.argument("suites", nargs=-1, type=click.Path(path_type=Path), metavar="[SUITE]...")
@click.option("--no-baseline", is_flag=True, help="do not score the top-chunk baseline beside the answerer")
@answerer_option(*ANSWERERS, help="answerer to evaluate (default: RAG_ANSWERER)")
@top_k_option(help="passages to retrieve (default: RAG_TOP_K)")
@click.option("--out", type=click.Path(path_type=Path), help="output folder (default: evals/reports/<timestamp>)")
@corpus_options
@click.option("--case", "cases", multiple=True, metavar="ID",
              help="run only cases whose id matches (glob; repeatable)")
@click.option("--no-progress", is_flag=True,
              help="hide the progress bar (hidden anyway when stderr is not a terminal)")
@click.option("--compare", nargs=2, type=click.Path(path_type=Path), metavar="OLD NEW",
              help="compare two result JSON files")
def command(suites: tuple[Path, ...], no_baseline: bool, out: Path | None, index_dir: str | None,
            cases: tuple[str, ...], no_progress: bool, compare: tuple[Path, Path] | None, **overrides) -> None:
    """Run eval suites (format: evals/README.md); SUITE files default to every *.yaml in evals/.

    Exit status: 0 all thresholds met, 1 a threshold missed, 2 bad suite or arguments.
    --index-dir is the index for the suites' corpus.
    """
    from .runner import run

    code = run(list(suites), baseline=not no_baseline, out=out, index_dir=Path(index_dir) if index_dir else None,
               cases=list(cases) or None, progress=not no_progress, compare_files=compare, **overrides)
    click.get_current_context().exit(code)
