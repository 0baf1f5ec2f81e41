#!/usr/bin/env bash
# Train (or resume) one stage of the Kokoro-distilled voice in the background, detached from this shell:
#   bash recipes/synthetic/train_kokoro.sh vae|acoustic|vocoder
# Each start first prepares what data/synthetic-kokoro holds so far (re-runs add the clips rendered since;
# the speakers that speakers.json declares get their ids at once), then trains
# recipes/synthetic/configs/STAGE-kokoro.toml in runs/kokoro/STAGE: resumed from its last checkpoint when
# there is one, else warm-started from the shipped weights in pretrained/. The acoustic stage first caches
# latents with runs/kokoro/vae/export.safetensors (the fine-tuned VAE). Logs to runs/kokoro/STAGE.log,
# process id in runs/kokoro/STAGE.pid; safe to kill at any time (checkpoints are atomic).
# Environment: NICE (default 15), THREADS (default 1), CORPUS (default data/synthetic-kokoro),
# DATA (default data/kokoro-prepared), RUNS (default runs/kokoro), VAE (default RUNS/vae/export.safetensors).
set -euo pipefail
cd "$(dirname "$0")/../.."

STAGE=${1:?usage: train_kokoro.sh vae|acoustic|vocoder}
case $STAGE in
  vae | acoustic | vocoder) ;;
  *) echo "unknown stage '$STAGE' (vae, acoustic or vocoder)" >&2; exit 2 ;;
esac
CORPUS=${CORPUS:-data/synthetic-kokoro}
DATA=${DATA:-data/kokoro-prepared}
RUNS=${RUNS:-runs/kokoro}
RUN=$RUNS/$STAGE
VAE=${VAE:-$RUNS/vae/export.safetensors}
LOG="$RUN.log"
PIDFILE="$RUN.pid"
mkdir -p "$RUNS"

if [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "already training $STAGE (pid $(cat "$PIDFILE")); log: $LOG" >&2
  exit 1
fi
if [[ -f $RUN/checkpoints/last.pt ]]; then
  start=(--resume)
else
  start=(--init-from "pretrained/$STAGE.safetensors")
fi
extra=()
if [[ $STAGE == acoustic ]]; then
  extra=(--vae "$VAE")
  # the shipped acoustic model predicts the shipped VAE's latents: its text encoder and durations carry over
  [[ ${start[0]} == --init-from ]] && extra+=(--init-across-vaes)
fi
if [[ $STAGE == acoustic && ! -f $VAE ]]; then
  echo "no fine-tuned VAE at $VAE: run 'train_kokoro.sh vae' first (or set VAE=...)" >&2
  exit 2
fi
echo "=== $(date '+%F %T') prepare $CORPUS -> $DATA, then train $RUN (${start[*]})" >>"$LOG"
nohup setsid nice -n "${NICE:-15}" bash -c '
  set -e
  threads=$0 stage=$1 corpus=$2 data=$3 run=$4 vae=$5; shift 5
  export OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE
  .venv/bin/tts-train prepare "$corpus" "$data" --val-size 16 --jobs 1 --no-progress
  if [ "$stage" = acoustic ]; then .venv/bin/tts-train latents --data "$data" --vae "$vae"; fi
  exec .venv/bin/tts-train "$stage" --data "$data" --run-dir "$run" \
    --config "recipes/synthetic/configs/$stage-kokoro.toml" --threads "$threads" "$@"
' "${THREADS:-1}" "$STAGE" "$CORPUS" "$DATA" "$RUN" "$VAE" "${start[@]}" "${extra[@]}" >>"$LOG" 2>&1 </dev/null &
echo $! >"$PIDFILE"
echo "training $STAGE in the background: pid $!, log $LOG"
