"""README.md's commands, run as written, and its sample outputs, checked to be current.

Every line of every ```bash block in README.md must match a rule below, which
says how it runs here: as written (in a sandbox with this venv activated, a
small corpus in ``~/notes``, ``seeds/`` and a fresh index), as a server in the
background on a free port (the README's port numbers are replaced), as a
cheaper stand-in for a slow command (said why), or not at all (said why). A new
command in README without a rule fails this test: README's commands stay true.

The sample outputs (``<!-- sample: ... -->`` blocks) are made by
``docs/samples.py``; ``--check`` must find them current.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SEEDS, free_port

pytestmark = pytest.mark.slow

README = REPO / "README.md"
VENV_BIN = Path(sys.executable).parent
SERVER_PORTS = (7860, 8000, 8080, 8081, 8082, 8090)  # the ports README names, and one for a stand-in

# (regex on a README line, how it runs: None = as written; "SKIP: why"; "SERVE <url>" = in the
# background until <url> answers; anything else = the command run instead, said why in a comment).
RULES: list[tuple[str, str | None]] = [
    (r"^python3 -m venv \.venv && \.venv/bin/pip install -e '\.\[ui\]' && \.venv/bin/rag index && \.venv/bin/rag ui$",
     # The venv and its install are the ones this test runs in; then index and serve as written.
     ".venv/bin/rag index && SERVE http://127.0.0.1:{7860}/ .venv/bin/rag ui --port {7860}"),
    (r"^bash tests/run\.sh$", "bash -n tests/run.sh  # syntax only: running it is CI itself"),
    (r"^RAG_CORPUS_DIR=~/notes RAG_INDEX_DIR=~/\.cache/notes-index rag (index|ask .*)$", None),
    (r"^RAG_CORPUS_DIR=~/notes RAG_INDEX_DIR=~/\.cache/notes-index rag ui$",
     "SERVE http://127.0.0.1:{7860}/ RAG_CORPUS_DIR=~/notes RAG_INDEX_DIR=~/.cache/notes-index rag ui --port {7860}"),
    (r"^rag index( --quiet > index\.log| --full-check| --rebuild)?$", None),
    (r"^rag (-v )?ask ", None),
    (r"^rag eval$", "rag eval evals/seeds.yaml --case fact-took-office --no-baseline --out eval-all"
                    "  # every suite takes ~12 min: one case of one suite"),
    (r"^rag eval my_suite\.yaml --out /tmp/eval$", "rag eval my_suite.yaml --out eval-mine  # a one-case suite"),
    (r"^rag eval --compare OLD\.json NEW\.json$", "rag eval --compare eval-all/seeds.json eval-mine/mine.json"),
    (r"^rag ui$", "SERVE http://127.0.0.1:{7860}/ rag ui --port {7860}"),
    (r"^rag serve$", "SERVE http://127.0.0.1:{8090}/healthz rag serve --port {8090}"),
    (r"^rag embed-server$", "SERVE http://127.0.0.1:{8081}/health rag embed-server --port {8081}"),
    (r"^export RAG_API_KEY=\$\(openssl rand -hex 16\)$", None),
    (r"^curl -s http://127\.0\.0\.1:8090/v1/chat/completions ", None),
    (r"^export RAG_ANSWERER=openai RAG_LLM_MODEL=gpt-4o-mini$", None),
    (r"^export RAG_LLM_API_KEY=sk-\.\.\.$", None),
    # Nothing listens on the (free) port: the answer falls back to the extractive one, with a warning.
    (r"^export RAG_LLM_BASE_URL=http://127\.0\.0\.1:8080/v1$", None),
    (r"^bash tests/install_local_llm\.sh$", "LOCAL_LLM"),
    (r"^\.venv/bin/python -m rag\.generate\.local_llm --port 8080$", "LOCAL_LLM"),
    (r"^RAG_ANSWERER=openai RAG_LLM_BASE_URL=http://127\.0\.0\.1:8080/v1 RAG_LLM_MODEL=smollm2 +\.venv/bin/rag ask ",
     "LOCAL_LLM"),
    (r"^\.venv/bin/chroma run --path /srv/chroma-data --host 127\.0\.0\.1 --port 8000$",
     "SERVE http://127.0.0.1:{8000}/api/v2/heartbeat .venv/bin/chroma run --path chroma-data --host 127.0.0.1 "
     "--port {8000}  # a folder of the sandbox, not /srv"),
    (r"^RAG_CHROMA_URL=http://127\.0\.0\.1:8000 \.venv/bin/rag (index|ask .*)$", None),
    (r"^export RAG_EMBEDDING=openai RAG_EMBEDDING_MODEL=all-MiniLM-L6-v2$", None),
    (r"^export RAG_EMBEDDING_BASE_URL=http://10\.0\.0\.5:8080/v1$",
     "SERVE http://127.0.0.1:{8082}/health .venv/bin/rag embed-server --port {8082} && "
     "export RAG_EMBEDDING_BASE_URL=http://127.0.0.1:{8082}/v1  # this machine's embedding server: tests "
     "reach 127.0.0.1 only"),
    (r"^export RAG_EMBEDDING_API_KEY=\.\.\.$", None),
    (r"^rag index && rag ask \"Which resolutions were cited\?\"$", None),
    (r"^\.venv/bin/rag embed-server --port 8081$",
     "SERVE http://127.0.0.1:{8081}/health .venv/bin/rag embed-server --port {8081}"),
    (r"^RAG_EMBEDDING=openai RAG_EMBEDDING_BASE_URL=http://127\.0\.0\.1:8081/v1 +RAG_EMBEDDING_MODEL=all-MiniLM-L6-v2 "
     r"\.venv/bin/rag index$", None),
    (r"^\.venv/bin/python benchmarks/run\.py( |$)",
     "SKIP: an hour (15 min for the quick one); tests/test_benchmarks.py runs benchmarks/run.py end to end "
     "at a tiny size"),
]


def readme_sections() -> dict[str, list[str]]:
    """README's ```bash commands by section (continuations joined, comments dropped): the blocks
    of one section run as one script, as a reader would type them one after another."""
    sections: dict[str, list[str]] = {}
    for part in re.split(r"(?m)^(?=## )", README.read_text(encoding="utf-8")):
        title = part.split("\n", 1)[0].lstrip("# ").strip()
        for m in re.finditer(r"```bash\n(.*?)```", part, re.DOTALL):
            for line in m.group(1).replace("\\\n", " ").splitlines():
                line = re.sub(r"\s+#\s.*$", "", line).strip()  # "cmd   # comment"
                if line:
                    sections.setdefault(title, []).append(line)
    return sections


def rule_for(line: str) -> str | None:
    hits = [how for pattern, how in RULES if re.search(pattern, line)]
    assert len(hits) == 1, f"README command without exactly one rule in tests/test_readme.py: {line!r} ({hits})"
    return hits[0]


def test_every_readme_command_has_a_rule():
    lines = [line for section in readme_sections().values() for line in section]
    assert len(lines) > 30
    for line in lines:
        rule_for(line)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A folder standing for the repository root, with this venv as .venv, and a HOME with ~/notes."""
    root = tmp_path_factory.mktemp("readme")
    (root / ".venv").symlink_to(VENV_BIN.parent)
    for name in ("tests", "benchmarks", "evals"):
        (root / name).symlink_to(REPO / name)
    shutil.copytree(SEEDS, root / "seeds")
    notes = root / "home" / "notes"
    notes.mkdir(parents=True)
    (notes / "pricing.md").write_text("# Pricing\n\nWe decided to keep the basic plan at 9 euros a month and to "
                                      "drop the yearly discount.\n", encoding="utf-8")
    (root / "my_suite.yaml").write_text(
        "name: mine\ncorpus: seeds\ncases:\n  - id: took-office\n    category: facts\n"
        "    question: On what date did Rex Tillerson assume the post of Secretary of State?\n"
        "    facts: [[\"Feb. 1\", \"February 1\"]]\n    sources: [003_570d4b081ac06c31.txt]\n", encoding="utf-8")
    return root


def section_script(lines: list[str], ports: dict[int, int]) -> tuple[str, list[str]]:
    """A bash script running one README section's commands by their rules, and what was skipped (and why).
    Servers run in their own process group, stopped when the script ends."""
    script = ["set -euo pipefail", "GROUPS_=()",
              "stop() { for g in ${GROUPS_[@]+\"${GROUPS_[@]}\"}; do kill -TERM -- -$g 2>/dev/null || true; done; }",
              "trap stop EXIT",
              "serve() { local url=$1; shift; setsid bash -c \"$*\" > \"serve-$RANDOM.log\" 2>&1 & GROUPS_+=($!);"
              " for _ in $(seq 900); do curl -fsS -o /dev/null \"$url\" && return 0; sleep 0.2; done;"
              " echo \"never answered: $url\" >&2; return 1; }"]
    skipped = []
    for line in lines:
        how = rule_for(line)
        if how == "LOCAL_LLM":
            from rag.generate.local_llm import missing

            how = f"SKIP: the local model server is not installed ({', '.join(missing())}); tests/run.sh " \
                  "installs it, then this runs" if missing() else (
                  "SERVE http://127.0.0.1:{8080}/v1/models " + line if "rag.generate.local_llm" in line else None)
        if how is not None and how.startswith("SKIP:"):
            skipped.append(f"{line}  -> {how}")
            continue
        cmd = line if how is None else how
        cmd = re.sub(r"\s+#\s.*$", "", cmd)
        for readme_port, port in ports.items():  # README's ports -> free ones
            cmd = cmd.replace(f"{{{readme_port}}}", str(port)).replace(f":{readme_port}", f":{port}") \
                     .replace(f"--port {readme_port}", f"--port {port}")
        parts = cmd.split(" && ")
        for part in parts:
            if part.startswith("SERVE "):
                _, url, rest = part.split(" ", 2)
                script.append(f"serve {url} {sh_quote(rest)}")
            else:
                script.append(part)
    return "\n".join(script) + "\n", skipped


def sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.mark.parametrize("section", list(readme_sections()))
def test_readme_section_runs_as_written(sandbox, section, tmp_path):
    ports = {p: free_port() for p in SERVER_PORTS}
    script, skipped = section_script(readme_sections()[section], ports)
    for line in skipped:
        print("skipped:", line)
    if script.count("\n") <= 6:
        pytest.skip("every command of this section is skipped: " + "; ".join(skipped))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    env.update(HOME=str(sandbox / "home"), PATH=f"{sandbox / '.venv' / 'bin'}{os.pathsep}{env['PATH']}",
               VIRTUAL_ENV=str(sandbox / ".venv"), RAG_CORPUS_DIR=str(sandbox / "seeds"),
               RAG_INDEX_DIR=str(tmp_path / "index"), ANONYMIZED_TELEMETRY="False",
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    done = subprocess.run(["bash", "-c", script], cwd=sandbox, env=env, capture_output=True, text=True,
                          timeout=900)
    logs = "".join(p.read_text(errors="replace")[-2000:] for p in sandbox.glob("serve-*.log"))
    assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}\n{logs}"
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-3000:]


def test_readme_samples_are_what_the_commands_print_now():
    done = subprocess.run([sys.executable, str(REPO / "docs" / "samples.py"), "--check"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
