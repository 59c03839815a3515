#!/usr/bin/env bash
# Install everything the tests need (idempotent) into .venv, then run the test
# suite and the seeds eval suite. This is the README's test command and what CI runs.
#   bash tests/run.sh --quick [PYTEST ARGS]: for development, only the tests not marked
#   slow (pytest -m "not slow"), after installing what they need: no browser, no local
#   model, no eval suites.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0
if [ "${1:-}" = "--quick" ]; then
  QUICK=1
  shift
fi
export ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1

step() { printf '\n== %s\n' "$*"; }

ocr_tools() {
  step "Tesseract OCR and Poppler for the OCR tests (Debian packages)"
  if ! command -v tesseract >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1 \
      || ! tesseract --list-langs 2>/dev/null | grep -x eng >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq tesseract-ocr tesseract-ocr-eng poppler-utils >/dev/null
  fi
  tesseract --version 2>&1 | sed -n 1p
}

step "python environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if [ "$QUICK" = 1 ]; then
  ocr_tools
  step "quick tests (not marked slow; bash tests/run.sh runs them all)"
  start=$(date +%s)
  .venv/bin/python -m pytest -m "not slow" "$@"
  echo "quick tests took $(( $(date +%s) - start ))s"
  exit 0
fi

step "headless Chromium for the browser test (Debian package)"
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
chromium --version

ocr_tools

step "axe-core for the accessibility scan (npm package, into .test-deps/, git-ignored)"
AXE_VERSION=4.14.1
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq npm >/dev/null
fi
if ! grep -q "\"version\": \"$AXE_VERSION\"" .test-deps/node_modules/axe-core/package.json 2>/dev/null; then
  npm install --prefix .test-deps --no-audit --no-fund --no-save --silent "axe-core@$AXE_VERSION"
fi
echo "axe-core $AXE_VERSION"

if [ -f tests/install_local_llm.sh ]; then
  step "local OpenAI-compatible model server (llama.cpp + SmolLM2)"
  bash tests/install_local_llm.sh
fi

step "tests"
.venv/bin/python -m pytest "$@"

step "eval suites (every evals/*.yaml)"
.venv/bin/rag eval
