#!/usr/bin/env bash
# Set up the development environment and run the test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev --system-packages
.venv/bin/ruff check tts tests recipes benchmarks
# one thread per process: several tests start subprocesses, and oversubscribed OpenMP threads spin
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
exec .venv/bin/python -m pytest -q "$@"
