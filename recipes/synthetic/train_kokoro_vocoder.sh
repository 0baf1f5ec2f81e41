#!/usr/bin/env bash
# Train (or resume) the vocoder on the Kokoro corpus in the background, detached from this shell:
#   bash recipes/synthetic/train_kokoro_vocoder.sh
# Prepares what data/synthetic-kokoro holds so far (re-runs add the clips rendered since), then trains
# recipes/synthetic/configs/vocoder-kokoro.toml in runs/kokoro/vocoder, warm-started from the shipped
# vocoder on a fresh run and resumed from its last checkpoint otherwise. Logs to runs/kokoro/vocoder.log,
# process id in runs/kokoro/vocoder.pid; safe to kill at any time (checkpoints are atomic).
# Environment: NICE (default 15), THREADS (default 1), CORPUS (default data/synthetic-kokoro),
# DATA (default data/kokoro-prepared), RUN (default runs/kokoro/vocoder).
set -euo pipefail
cd "$(dirname "$0")/../.."

CORPUS=${CORPUS:-data/synthetic-kokoro}
DATA=${DATA:-data/kokoro-prepared}
RUN=${RUN:-runs/kokoro/vocoder}
LOG="$RUN.log"
PIDFILE="$RUN.pid"
mkdir -p "$(dirname "$RUN")"

if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "already training (pid $(cat "$PIDFILE")); log: $LOG" >&2
  exit 1
fi
if [[ -f $RUN/checkpoints/last.pt ]]; then
  start=(--resume)
else
  start=(--init-from pretrained/vocoder.safetensors)
fi
echo "=== $(date '+%F %T') prepare $CORPUS -> $DATA, then train $RUN (${start[*]})" >>"$LOG"
nohup setsid nice -n "${NICE:-15}" bash -c '
  set -e
  OMP_NUM_THREADS=$0 .venv/bin/tts-train prepare "$1" "$2" --val-size 16 --jobs 1 --no-progress
  OMP_NUM_THREADS=$0 OMP_WAIT_POLICY=PASSIVE exec .venv/bin/tts-train vocoder --data "$2" --run-dir "$3" \
    --config recipes/synthetic/configs/vocoder-kokoro.toml --threads "$0" "${@:4}"
' "${THREADS:-1}" "$CORPUS" "$DATA" "$RUN" "${start[@]}" >>"$LOG" 2>&1 </dev/null &
echo $! >"$PIDFILE"
echo "training in the background: pid $!, log $LOG"
