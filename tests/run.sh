#!/usr/bin/env bash
# Install everything the tests need (idempotent) into .venv, then run the tests, fastest first,
# and the eval suites. This is the README's test command and what CI runs.
#   bash tests/run.sh [PYTEST ARGS]: stages install -> unit -> integration -> slow -> evals, each
#   timed, with a summary line of all stage times at the end. Every test runs in exactly one
#   stage (tests/conftest.py gives each test one of the markers unit, integration, slow).
#   bash tests/run.sh --quick [PYTEST ARGS]: for development, only the tests not marked slow
#   (unit + integration: pytest -m "not slow"), after installing what they need: no browser,
#   no local model, no eval suites.
# PYTEST ARGS go to every pytest stage; a stage they leave empty (pytest exit code 5) passes.
# The integration, slow and quick stages run on RAG_TEST_WORKERS pytest-xdist workers (default: one per
# core, at most 4), a whole test file per worker so module fixtures are built once; most of these
# tests wait on servers, browsers and subprocesses, so two workers on 2 cores cut the run by a
# third. RAG_TEST_WORKERS=0 runs them in this process (for --pdb, or -s to see prints).
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0
if [ "${1:-}" = "--quick" ]; then
  QUICK=1
  shift
fi
WORKERS=${RAG_TEST_WORKERS:-$(n=$(nproc 2>/dev/null || echo 2); echo $(( n > 4 ? 4 : n )))}
case "$WORKERS" in ''|*[!0-9]*) echo "RAG_TEST_WORKERS must be a whole number (0 = no workers), not '$WORKERS'" >&2; exit 2;; esac
PARALLEL=(-n "$WORKERS" --dist loadfile)
[ "$WORKERS" -gt 0 ] || PARALLEL=(-p no:xdist)

export ANONYMIZED_TELEMETRY=False GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1

step() { printf '\n== %s\n' "$*"; }

# Stage timing: stage_start NAME ... stage_end; the summary is printed on exit, also on failure.
STAGES=()
STAGE=""
STAGE_T0=0
RUN_T0=$(date +%s)
stage_start() { STAGE=$1; STAGE_T0=$(date +%s); }
stage_end() {
  local took=$(( $(date +%s) - STAGE_T0 ))
  STAGES+=("$STAGE ${took}s")
  echo "-- stage $STAGE took ${took}s"
  STAGE=""
}
summary() {
  local rc=$?
  [ -n "$STAGE" ] && STAGES+=("$STAGE $(( $(date +%s) - STAGE_T0 ))s (failed)")
  local joined="" s
  for s in "${STAGES[@]}"; do joined+="${joined:+, }$s"; done
  printf '\n== stage times: %s; total %ss%s\n' "$joined" "$(( $(date +%s) - RUN_T0 ))" \
    "$([ "$rc" -eq 0 ] || echo " (exit code $rc)")"
}
trap summary EXIT

# pytest -m MARKERS [PYTEST ARGS]; exit code 5 (no test collected: the args leave this stage
# empty) passes, any other failure stops the run.
run_pytest() {
  local rc=0
  .venv/bin/python -m pytest "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "(no test of this stage is selected)"
  elif [ "$rc" -ne 0 ]; then
    exit "$rc"
  fi
}

ocr_tools() {
  step "Tesseract OCR and Poppler for the OCR tests (Debian packages)"
  if ! command -v tesseract >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1 \
      || ! tesseract --list-langs 2>/dev/null | grep -x eng >/dev/null; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq tesseract-ocr tesseract-ocr-eng poppler-utils >/dev/null
  fi
  tesseract --version 2>&1 | sed -n 1p
}

stage_start install
step "python environment (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if [ "$QUICK" = 1 ]; then
  ocr_tools
  stage_end
  stage_start quick
  step "quick tests: unit + integration (not marked slow; bash tests/run.sh runs them all)"
  run_pytest -m "not slow" "${PARALLEL[@]}" "$@"
  stage_end
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
stage_end

stage_start unit
step "unit tests (tests/unit: the answering core on hand-made passages)"
# Without args, collect tests/unit only (collecting the whole suite takes longer than these tests).
run_pytest -m unit "${@:-tests/unit}"
stage_end

stage_start integration
step "integration tests (every other test not marked slow)"
run_pytest -m integration "${PARALLEL[@]}" "$@"
stage_end

stage_start slow
step "slow tests (real model, servers, browser, end-to-end runs)"
run_pytest -m "slow and not unit" "${PARALLEL[@]}" "$@"
stage_end

stage_start evals
step "eval suites (every evals/*.yaml)"
.venv/bin/rag eval
stage_end
