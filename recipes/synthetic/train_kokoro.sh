#!/usr/bin/env bash
# Train (or resume) one stage of the Kokoro-distilled voice in the background, detached from this shell:
#   bash recipes/synthetic/train_kokoro.sh vae|acoustic|vocoder|vocoder-gan
# Each start first prepares what data/synthetic-kokoro holds so far (re-runs add the clips rendered since;
# the speakers that speakers.json declares get their ids at once), then trains
# recipes/synthetic/configs/STAGE-kokoro.toml in runs/kokoro/STAGE: resumed from its last checkpoint when
# there is one, else warm-started from the shipped weights in pretrained/. vocoder-gan is the vocoder's
# adversarial phase as a run of its own (configs/vocoder-gan-kokoro.toml). The acoustic stage first caches
# latents with the VAE: runs/kokoro/vae/export.safetensors when a VAE fine-tune exists, else the shipped
# (already Kokoro fine-tuned) pretrained/vae.safetensors. Logs to runs/kokoro/STAGE.log, process id in
# runs/kokoro/STAGE.pid; safe to kill at any time (checkpoints are atomic).
# Environment: NICE (default 15), THREADS (default 1), CPU_AMP (1: bf16 autocast, for CPUs with AMX or
# AVX512-BF16), STEPS (the run's length, --max-steps: the learning rate's cosine decays to it; default the
# config's), CORPUS (default data/synthetic-kokoro),
# DATA (default data/kokoro-prepared), RUNS (default runs/kokoro), VAE (default as above).
set -euo pipefail
cd "$(dirname "$0")/../.."

STAGE=${1:?usage: train_kokoro.sh vae|acoustic|vocoder|vocoder-gan}
case $STAGE in
  vae | acoustic | vocoder | vocoder-gan) ;;
  *) echo "unknown stage '$STAGE' (vae, acoustic, vocoder or vocoder-gan)" >&2; exit 2 ;;
esac
TASK=${STAGE%-gan}  # the tts-train stage
CORPUS=${CORPUS:-data/synthetic-kokoro}
DATA=${DATA:-data/kokoro-prepared}
RUNS=${RUNS:-runs/kokoro}
RUN=$RUNS/$STAGE
if [[ -z ${VAE:-} ]]; then
  VAE=$RUNS/vae/export.safetensors
  [[ -f $VAE ]] || VAE=pretrained/vae.safetensors
fi
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
  start=(--init-from "pretrained/$TASK.safetensors")
fi
extra=()
if [[ ${CPU_AMP:-0} == 1 ]]; then
  extra+=(--cpu-amp)
fi
if [[ -n ${STEPS:-} ]]; then
  extra+=(--max-steps "$STEPS")
fi
if [[ $STAGE == acoustic ]]; then
  extra+=(--vae "$VAE")
  # the shipped acoustic model predicts the shipped VAE's latents; over another VAE's latents only its
  # text encoder and durations carry over
  if [[ ${start[0]} == --init-from ]] && ! cmp -s "$VAE" pretrained/vae.safetensors; then
    extra+=(--init-across-vaes)
  fi
fi
if [[ $STAGE == acoustic && ! -f $VAE ]]; then
  echo "no fine-tuned VAE at $VAE: run 'train_kokoro.sh vae' first (or set VAE=...)" >&2
  exit 2
fi
echo "=== $(date '+%F %T') prepare $CORPUS -> $DATA, then train $RUN (${start[*]})" >>"$LOG"
nohup setsid nice -n "${NICE:-15}" bash -c '
  set -e
  threads=$0 stage=$1 corpus=$2 data=$3 run=$4 vae=$5 task=$6; shift 6
  export OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE
  .venv/bin/tts-train prepare "$corpus" "$data" --val-size 16 --jobs 1 --no-progress
  if [ "$stage" = acoustic ]; then .venv/bin/tts-train latents --data "$data" --vae "$vae"; fi
  exec .venv/bin/tts-train "$task" --data "$data" --run-dir "$run" \
    --config "recipes/synthetic/configs/$stage-kokoro.toml" --threads "$threads" "$@"
' "${THREADS:-1}" "$STAGE" "$CORPUS" "$DATA" "$RUN" "$VAE" "$TASK" "${start[@]}" "${extra[@]}" >>"$LOG" 2>&1 </dev/null &
echo $! >"$PIDFILE"
echo "training $STAGE in the background: pid $!, log $LOG"
