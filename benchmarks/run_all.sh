#!/usr/bin/env bash
# The benchmarks behind docs/benchmarks.md, with the settings used for the published numbers.
#   bash benchmarks/run_all.sh VOICE_DIR OUT_DIR
# Writes OUT_DIR/{synthesis_speed,quality_vs_steps}.{json,md,log}, OUT_DIR/quality_vs_steps.png and
# OUT_DIR/results.md (both tables, ready for docs/benchmarks.md). About 6 minutes on 2 idle cores.
# Run it on an otherwise idle machine: speed numbers printed under load are upper bounds.
# Environment: PYTHON (default .venv/bin/python), HELDOUT (default data/synthetic-heldout).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: bash benchmarks/run_all.sh VOICE_DIR OUT_DIR" >&2
  exit 2
fi
voice=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
heldout=${HELDOUT:-$root/data/synthetic-heldout}
if [ ! -f "$voice/acoustic.safetensors" ]; then
  echo "run_all.sh: error: $voice is not a voice folder (no acoustic.safetensors)" >&2
  exit 2
fi
mkdir -p "$out"
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
start=$(date +%s)

# speed: 2 threads, median of 5 runs after a warm-up; cold start median of 3
"$py" "$root/benchmarks/synthesis_speed.py" --voice "$voice" --threads 2 --repeats 5 \
  --json "$out/synthesis_speed.json" --markdown "$out/synthesis_speed.md" 2>&1 | tee "$out/synthesis_speed.log"
speed_s=$(($(date +%s) - start))

# quality: 10 held-out sentences x 4 speakers at each of 2/4/8/16 steps (160 syntheses), seed 0
"$py" "$root/benchmarks/quality_vs_steps.py" --voice "$voice" --heldout "$heldout" \
  --speakers bdl,slt,clb,alan --n 10 --steps 2,4,8,16 --seed 0 --jobs 2 --threads 2 \
  --plot "$out/quality_vs_steps.png" --json "$out/quality_vs_steps.json" \
  --markdown "$out/quality_vs_steps.md" 2>&1 | tee "$out/quality_vs_steps.log"
total_s=$(($(date +%s) - start))

{
  echo "## Speed"
  echo
  cat "$out/synthesis_speed.md"
  echo
  echo "## Quality against steps"
  echo
  cat "$out/quality_vs_steps.md"
} >"$out/results.md"
echo "run_all.sh: speed ${speed_s} s, quality $((total_s - speed_s)) s, total ${total_s} s; tables in $out/results.md"
