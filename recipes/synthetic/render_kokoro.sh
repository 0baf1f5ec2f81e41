#!/usr/bin/env bash
# Render (or resume) the Kokoro training corpus in the background, detached from this shell:
#   bash recipes/synthetic/render_kokoro.sh [VOICES] [PER_VOICE]
# VOICES: comma-separated, default af_heart (the chosen set is in README.md). Keep the order when resuming,
# and add voices only at the end: each voice reads its own slice of the seeded shuffle. Writes data/synthetic-kokoro/
# (LJSpeech layout), logs rate and ETA to data/synthetic-kokoro.log, and records its process id in
# data/synthetic-kokoro.pid. Safe to kill at any time; run the same command again to resume.
# Environment: NICE (default 15), JOBS (rendering processes, default 1), THREADS (onnxruntime threads per
# process, default 1), OUT (default data/synthetic-kokoro).
set -euo pipefail
cd "$(dirname "$0")/../.."

VOICES=${1:-af_heart}
PER_VOICE=${2:-2000}
OUT=${OUT:-data/synthetic-kokoro}
LOG="$OUT.log"
PIDFILE="$OUT.pid"
mkdir -p "$(dirname "$OUT")"

if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "already rendering (pid $(cat "$PIDFILE")); log: $LOG" >&2
  exit 1
fi
echo "=== $(date '+%F %T') start: voices $VOICES, $PER_VOICE per voice" >>"$LOG"
nohup setsid nice -n "${NICE:-15}" .venv/bin/python recipes/synthetic/build_corpus.py --engine kokoro \
  --voices "$VOICES" --per-voice "$PER_VOICE" --sentences recipes/synthetic/sentences/mix-train.txt \
  --out "$OUT" --jobs "${JOBS:-1}" --threads "${THREADS:-1}" >>"$LOG" 2>&1 </dev/null &
echo $! >"$PIDFILE"
echo "rendering in the background: pid $!, log $LOG"
