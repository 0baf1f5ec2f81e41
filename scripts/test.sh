#!/usr/bin/env bash
# Set up the development environment and run the test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev --system-packages
.venv/bin/ruff check tts tests recipes benchmarks
exec .venv/bin/python -m pytest -q "$@"
