"""The `rag` command: its parsing in-process (click's CliRunner), and as a real subprocess."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import rag.cli
from rag.cli import PLUGIN_GROUP, cli
from rag.ingest.loading import document_text

REPO = Path(__file__).resolve().parents[1]


def run(args, env_extra, timeout=300):
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.fixture
def env(corpus, tmp_path):
    return {"RAG_CORPUS_DIR": str(corpus), "RAG_INDEX_DIR": str(tmp_path / "index")}


@pytest.mark.slow
def test_index_then_ask_json_then_reindex_is_a_noop(env, corpus):
    first = run(["index"], env)
    assert first.returncode == 0, first.stderr
    assert "files added: 5" in first.stdout and "chunks embedded:" in first.stdout

    asked = run(["ask", "--json", "Which UN Security Council resolutions were cited?"], env)
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)
    assert data["refused"] is False and "2231" in data["text"]
    for c in data["citations"]:
        assert document_text(corpus / c["source"])[c["start"]:c["end"]] == c["quote"]

    again = run(["index"], env)
    assert "chunks embedded: 0," in again.stdout

    checked = run(["index", "--full-check"], env)
    assert checked.returncode == 0, checked.stderr
    assert "unchanged: 5" in checked.stdout and "chunks embedded: 0," in checked.stdout


@pytest.mark.slow
def test_ask_prints_answer_then_numbered_sources(env):
    out = run(["ask", "Where is MCAS Futenma to be relocated?"], env)
    assert out.returncode == 0, out.stderr
    assert "Henoko" in out.stdout and "Sources:" in out.stdout
    assert "[1] 002_14833195580d7924.txt" in out.stdout


@pytest.mark.parametrize("args,extra,code,message", [
    (["ask", "   "], {}, 1, "question is empty"),
    (["ask", "x" * 2500], {}, 1, "too long"),
    (["ask", "hello?"], {"RAG_TOP_K": "lots"}, 2, "RAG_TOP_K"),
    (["ask", "hello?"], {"RAG_CORPUS_DIR": "/nonexistent/corpus"}, 1, "/nonexistent/corpus"),
    (["index"], {"RAG_CHROMA_URL": "http://127.0.0.1:9"}, 1, "cannot reach the Chroma server"),
])
def test_errors_exit_non_zero_with_one_clear_line(env, args, extra, code, message):
    out = run(args, {**env, **extra})
    assert out.returncode == code
    assert message in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_rag_index_into_a_log_file_shows_progress_lines_and_quiet_shows_none(env, tmp_path):
    # `rag index > log.txt`: stdout is a file, not a terminal, so progress comes as lines there.
    log = tmp_path / "log.txt"
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-m", "rag.cli", "index", "--progress-every", "0.2"], stdout=out,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, **env}, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    progress = [ln for ln in lines if ln.startswith("indexing: ")]
    assert progress[0] == "indexing: 5 files to read (0 unchanged)"
    assert len(progress) >= 4, lines  # the run takes seconds: a line every 0.2 s
    assert any(" so far)" in ln and "chunks stored" in ln for ln in progress[1:-1])
    assert progress[-1].startswith("indexing: 5/5 files read, ") and "done in" in progress[-1]
    assert lines.index(progress[-1]) < lines.index(next(ln for ln in lines if ln.startswith("Index: ")))
    assert "\r" not in log.read_text() and "it/s" not in log.read_text()  # lines, not a bar's redraws

    quiet = run(["index", "--quiet", "--rebuild"], env)
    assert quiet.returncode == 0, quiet.stderr
    assert "indexing:" not in quiet.stdout + quiet.stderr and "chunks embedded: 31" in quiet.stdout
    bad = run(["index", "--progress-every", "0"], env)
    assert bad.returncode == 2 and "expected seconds" in bad.stderr


@pytest.mark.parametrize("command,module,extra", [(["eval"], "matplotlib", "eval"), (["ui"], "gradio", "ui")])
def test_a_command_whose_extra_is_missing_says_what_to_install(env, tmp_path, command, module, extra):
    # An installed package that fails to import is what a venv without the extra looks like to Python.
    shadow = tmp_path / "shadow" / module
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f"raise ImportError('No module named {module}')\n")
    out = run(command, {**env, "PYTHONPATH": f"{shadow.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"},
              timeout=60)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert f"need {module}, which is not installed: pip install -e '.[{extra}]'" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


# In-process: click's CliRunner, the real commands (nothing mocked but the entry-point list of the plugin tests).

def invoke(args, env=None):
    return CliRunner().invoke(cli, args, env=env, prog_name="rag")


def command(name):
    with click.Context(cli) as ctx:
        return cli.get_command(ctx, name)


def test_help_lists_every_command_the_plugins_included():
    out = invoke(["--help"])
    assert out.exit_code == 0
    listed = [line.split()[0] for line in out.output.split("Commands:\n", 1)[1].splitlines() if line.strip()]
    assert listed == ["index", "ask", "eval", "ui", "serve", "embed-server"]
    assert invoke(["-h"]).output == out.output


@pytest.mark.parametrize("name", ["index", "ask", "eval", "ui", "serve"])
def test_corpus_options_are_one_declaration_shared_by_every_command(name):
    options = {p.name: p for p in command(name).params}
    reference = {p.name: p for p in command("index").params}
    for dest, flag, var in [("corpus_dir", "--corpus-dir", "RAG_CORPUS_DIR"), ("index_dir", "--index-dir", "RAG_INDEX_DIR"),
                            ("chroma_url", "--chroma-url", "RAG_CHROMA_URL")]:
        assert options[dest].opts == [flag] and var in options[dest].help
        assert (options[dest].help, options[dest].metavar) == (reference[dest].help, reference[dest].metavar)
    assert source_count("--corpus-dir") == 1  # declared in one place in the whole code


def source_count(text: str) -> int:
    files = [p for pkg in ("rag", "ui", "evals") for p in (REPO / pkg).rglob("*.py")]
    return sum(p.read_text(encoding="utf-8").count(f'"{text}"') for p in files)


def test_the_options_override_the_environment(tmp_path):
    missing = tmp_path / "no-such-corpus"
    out = invoke(["ask", "--corpus-dir", str(missing), "--index-dir", str(tmp_path / "ix"), "hello?"],
                 env={"RAG_CORPUS_DIR": str(REPO / "seeds")})
    assert out.exit_code == 1 and str(missing) in out.stderr and out.stderr.startswith("error: ")
    assert len(out.stderr.splitlines()) == 1
    bad = invoke(["ask", "--top-k", "0", "hello?"], env={"RAG_TOP_K": "6"})
    assert bad.exit_code == 2 and "top_k" in bad.stderr.lower()
    refused = invoke(["serve", "--host", "0.0.0.0", "--index-dir", str(tmp_path / "api")], env={"RAG_API_KEY": ""})
    assert refused.exit_code == 2 and "refusing to serve on 0.0.0.0 without an API key" in refused.stderr
    ui = invoke(["ui", "--host", "0.0.0.0", "--index-dir", str(tmp_path / "ui")], env={"RAG_UI_AUTH": ""})
    assert ui.exit_code == 2 and "refusing to serve on 0.0.0.0 without a password" in ui.stderr
    assert not (tmp_path / "api").exists() and not (tmp_path / "ui").exists()  # refused before any work
    port = invoke(["ui", "--port", "0"], env={"RAG_UI_PORT": "7860"})
    assert port.exit_code == 2 and "RAG_UI_PORT / --port='0' is invalid: expected 1-65535" in port.stderr


@pytest.mark.parametrize("args,message", [
    ([], "Usage: rag"),
    (["bogus"], "No such command 'bogus'"),
    (["index", "--progress-every", "0"], "expected seconds between 0.1 and 3600, got '0'"),
    (["index", "--progress-every", "soon"], "expected seconds between 0.1 and 3600, got 'soon'"),
    (["index", "--progress", "-q"], "--quiet: not allowed with --progress"),
    (["index", "--no-such-flag"], "No such option '--no-such-flag'"),
    (["ask"], "Missing argument 'QUESTION'"),
    (["ask", "--answerer", "top-chunk", "q"], "'top-chunk' is not one of 'extractive', 'openai'"),
    (["serve", "--port", "http"], "'http' is not a valid integer"),
    (["eval", "--answerer", "gpt"], "'gpt' is not one of 'extractive', 'openai', 'top-chunk'"),
    (["eval", "--compare", "only-one.json"], "'--compare' requires 2 arguments"),
    (["embed-server", "--port", "x"], "'x' is not a valid integer"),
])
def test_usage_errors_exit_2_with_the_usage(args, message):
    out = invoke(args)
    assert out.exit_code == 2, out.output
    assert message in out.stderr


def test_main_returns_the_exit_code_and_prints_one_error_line(capsys):
    assert rag.cli.main(["ask", "   "]) == 1
    assert capsys.readouterr().err == "error: question is empty: ask something about the corpus\n"
    assert rag.cli.main(["index", "--progress-every", "0"]) == 2
    assert "expected seconds" in capsys.readouterr().err
    assert rag.cli.main(["--help"]) == 0 and "embed-server" in capsys.readouterr().out
    with pytest.raises(ValueError, match="empty"):
        rag.cli.main(["--debug", "ask", "   "])


def test_rag_eval_still_takes_a_leading_double_dash():
    # `rag eval -- --out DIR` was the documented way past the old argparse REMAINDER argument.
    out = invoke(["eval", "--", "--help"])
    assert out.exit_code == 0 and "Usage: rag eval [OPTIONS] [SUITE]..." in out.output


def test_the_library_does_not_import_the_eval_or_ui_packages():
    for path in (REPO / "rag").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            assert not [n for n in names if n.split(".")[0] in ("ui", "evals")], (path, node.lineno)
    loaded = subprocess.run([sys.executable, "-c", "import sys, rag.cli; rag.cli.main(['index', '--help']); "
                             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ui', 'evals')))"],
                            capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0 and loaded.stdout.strip().endswith("[]"), loaded


@pytest.fixture
def plugins(monkeypatch, tmp_path):
    """Two plugins beside the installed ones: one that works, one whose dependency is missing."""
    (tmp_path / "good_plugin.py").write_text(
        "import click\nfrom rag.cli import corpus_options, settings_from\n\n"
        "@click.command(short_help='print the settings it gets')\n@corpus_options\n"
        "def command(**overrides):\n    s = settings_from(overrides)\n"
        "    print(s.ingest.corpus_dir, s.store.index_dir, s.store.chroma_url)\n")
    (tmp_path / "needy_plugin.py").write_text("import no_such_dependency_here\n")
    (tmp_path / "picky_plugin.py").write_text(  # says itself what it needs, as rag/extras.py does
        "from rag.extras import require\nrequire('no_such_charts', 'charts', 'rag picky\\'s charts')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    installed = list(rag.cli.entry_points(group=PLUGIN_GROUP))
    extra = [EntryPoint("good", "good_plugin:command", PLUGIN_GROUP),
             EntryPoint("needy", "needy_plugin:command [fancy]", PLUGIN_GROUP),
             EntryPoint("picky", "picky_plugin:command [charts]", PLUGIN_GROUP)]
    monkeypatch.setattr(rag.cli, "entry_points", lambda group: [*installed, *extra] if group == PLUGIN_GROUP else [])


def test_a_plugin_command_gets_the_shared_options(plugins, tmp_path):
    out = invoke(["good", "--corpus-dir", "/srv/docs", "--chroma-url", "http://127.0.0.1:8000"],
                 env={"RAG_CORPUS_DIR": "/elsewhere", "RAG_INDEX_DIR": str(tmp_path / "ix")})
    assert out.exit_code == 0, out.output
    assert out.stdout == f"/srv/docs {tmp_path / 'ix'} http://127.0.0.1:8000\n"


def test_a_plugin_whose_extra_is_missing_is_listed_and_says_what_to_install(plugins):
    listed = invoke(["--help"])
    assert listed.exit_code == 0
    assert "good" in listed.output and "needy" in listed.output and "[fancy] extra" in listed.output
    out = invoke(["needy", "--whatever", "x"])
    assert out.exit_code == 2
    assert out.stderr == ("error: rag needy needs no_such_dependency_here, which is not installed: "
                          "pip install -e '.[fancy]' (in the repository; or pip install 'rag-citations[fancy]')\n")
    picky = invoke(["picky"])
    assert picky.exit_code == 2 and picky.stderr.startswith(
        "error: rag picky's charts need no_such_charts, which is not installed: pip install -e '.[charts]'")


def test_rag_eval_reads_a_suite_without_corpus_from_corpus_dir(tmp_path):
    suite = tmp_path / "nocorpus.yaml"
    suite.write_text("name: nocorpus\ncases:\n  - id: one\n    category: facts\n    question: Who?\n"
                     "    facts: [[\"x\"]]\n", encoding="utf-8")
    missing = tmp_path / "not-here"
    out = invoke(["eval", str(suite), "--corpus-dir", str(missing), "--index-dir", str(tmp_path / "ix"),
                  "--out", str(tmp_path / "out"), "--no-progress"])
    assert out.exit_code == 2 and out.stderr.startswith("error: ") and str(missing) in out.stderr, out.output


def test_debug_shows_why_a_plugin_did_not_import(plugins):
    out = invoke(["--debug", "needy"])
    assert isinstance(out.exception, ModuleNotFoundError) and out.exception.name == "no_such_dependency_here"
