"""README's sample outputs, produced by running what README shows, so they cannot go stale.

    .venv/bin/python docs/samples.py            # rewrite every sample in README.md
    .venv/bin/python docs/samples.py --check    # exit 1, with a diff, if README's samples are stale

A sample is the fenced block right after a ``<!-- sample: NAME -->`` line in
README.md. Each is made by running the code or command README shows above it, on
``seeds/`` with a fresh index in a temporary folder and ``rag serve`` on a free
port. ``--check`` compares with what is there after blanking what changes from run
to run (ids, timestamps, timings, the temporary paths, the number of progress lines).
tests/test_readme.py runs ``--check``.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
MARK = re.compile(r"<!-- sample: ([\w-]+) -->\n```(\w*)\n(.*?)```", re.DOTALL)
API_KEY = "change-me-0123456789"  # the key README's client example uses
README_PORT = 8090


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def code_before(text: str, name: str, lang: str = "python") -> str:
    """The last ``lang`` block before the ``name`` sample: the code whose output it is."""
    at = text.index(f"<!-- sample: {name} -->")
    blocks = list(re.finditer(rf"```{lang}\n(.*?)```", text[:at], re.DOTALL))
    return blocks[-1].group(1)


def run_python(code: str, port: int | None = None) -> str:
    """What ``code`` prints (README's examples use the default settings: the env set in main)."""
    if port is not None:
        code = code.replace(f"127.0.0.1:{README_PORT}", f"127.0.0.1:{port}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<README>", "exec"), {"__name__": "__readme__"})
    return out.getvalue()


class Server:
    """``rag serve`` on a free port with README's example key, for the HTTP samples."""

    def __init__(self, env: dict) -> None:
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(self.port)],
                                     env={**env, "RAG_API_KEY": API_KEY}, stdout=self.log, stderr=subprocess.STDOUT)
        import httpx

        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise SystemExit("rag serve did not start:\n" + self.log.read().decode(errors="replace"))
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.25)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def make_samples(text: str, env: dict, index_dir: Path) -> dict[str, str]:
    """Every sample README asks for, freshly made."""
    import httpx

    from rag import ask

    wanted = {m.group(1) for m in MARK.finditer(text)}
    out: dict[str, str] = {}
    # `rag index > log.txt` on a fresh index: progress lines, then the summary.
    log = index_dir.parent / "log.txt"
    with log.open("w") as f:
        subprocess.run([sys.executable, "-m", "rag.cli", "index"], stdout=f, env=env, check=True)
    out["index-log"] = log.read_text().replace(str(index_dir), "/path/to/index")
    out["index-summary"] = out["index-log"][out["index-log"].index("Index: "):]
    if "python-ask" in wanted:
        out["python-ask"] = run_python(code_before(text, "python-ask"))
    if "python-refusal" in wanted:
        question = "What is the capital of France?"
        out["python-refusal"] = f'>>> ask("{question}").text\n{ask(question).text!r}\n'
    if "langchain" in wanted:
        out["langchain"] = run_python(code_before(text, "langchain"))
    if wanted & {"serve-json", "serve-stream", "openai-client"}:
        server = Server(env)
        url = f"http://127.0.0.1:{server.port}/v1/chat/completions"
        headers = {"Authorization": f"Bearer {API_KEY}"}
        try:
            if "serve-json" in wanted:
                body = json.loads(re.search(r"-d '(.*?)'", code_before(text, "serve-json", "bash")).group(1))
                out["serve-json"] = json.dumps(httpx.post(url, json=body, headers=headers, timeout=60).json(),
                                               indent=2, ensure_ascii=False) + "\n"
            if "serve-stream" in wanted:
                body = {"model": "rag", "stream": True,
                        "messages": [{"role": "user", "content": "What is the capital of France?"}]}
                with httpx.stream("POST", url, json=body, headers=headers, timeout=60) as r:
                    out["serve-stream"] = "".join(line + "\n\n" for line in r.iter_lines() if line).rstrip() + "\n"
            if "openai-client" in wanted:
                out["openai-client"] = run_python(code_before(text, "openai-client"), server.port)
        finally:
            server.close()
    return out


def fill(text: str, samples: dict[str, str]) -> str:
    def put(m: re.Match) -> str:
        body = samples.get(m.group(1), m.group(3))
        return f"<!-- sample: {m.group(1)} -->\n```{m.group(2)}\n{body}```"
    return MARK.sub(put, text)


def normalized(text: str) -> str:
    """``text`` with what changes from run to run blanked out."""
    text = re.sub(r"chatcmpl-[0-9a-f]+", "chatcmpl-ID", text)
    text = re.sub(r'("created": ?)\d+', r"\g<1>0", text)
    text = re.sub(r"(seconds: )[\d.]+", r"\g<1>N", text)
    text = re.sub(r"\d+(?:\.\d+)? (?:chunks/s|s|ms|min)\b", "N", text)
    # Progress lines come every few seconds: how many there are depends on the machine.
    return re.sub(r"(?m)^indexing: .* so far\)\n", "", text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 if stale")
    args = p.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    work = Path(tempfile.mkdtemp(prefix="rag-readme-"))
    try:
        index_dir = work / "index"
        env = {**os.environ, "RAG_CORPUS_DIR": str(REPO / "seeds"), "RAG_INDEX_DIR": str(index_dir),
               "RAG_ANSWERER": "extractive", "ANONYMIZED_TELEMETRY": "False"}
        for var in ("RAG_CHROMA_URL", "RAG_LLM_BASE_URL", "RAG_LLM_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                    "RAG_EMBEDDING", "RAG_TOP_K"):
            env.pop(var, None)
        os.environ.clear()
        os.environ.update(env)  # the README's Python examples read their settings from the environment
        new = fill(text, make_samples(text, env, index_dir))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.check:
        README.write_text(new, encoding="utf-8")
        print(f"wrote {len(MARK.findall(new))} samples into {README.relative_to(REPO)}")
        return 0
    if normalized(new) == normalized(text):
        print("README's samples are current")
        return 0
    diff = difflib.unified_diff(normalized(text).splitlines(), normalized(new).splitlines(), "README.md",
                                "what README shows now produces", lineterm="", n=1)
    print("\n".join(diff))
    print("\nREADME's sample outputs are stale: run .venv/bin/python docs/samples.py", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
