#!/usr/bin/env bash
# LJSpeech recipe (works on any corpus in LJSpeech layout): data check → prepare → VAE → latents →
# acoustic model → vocoder → voice folder → evaluation. Every stage resumes where it stopped.
#
#   bash recipes/ljspeech/run.sh --data /path/to/LJSpeech-1.1 [--out runs/ljspeech]
#        [--stage 0] [--stop-stage 7] [--configs recipes/ljspeech/configs]
#        [--nproc-per-node 1] [--nnodes 1 --node-rank 0 --rdzv-endpoint HOST:PORT] [--device cuda]
#
# Stages: 0 check data  1 prepare  2 vae  3 latents  4 acoustic  5 vocoder  6 voice folder  7 evaluate
# Multi-GPU: --nproc-per-node 8. Multi-node: add --nnodes N --node-rank R --rdzv-endpoint HOST:PORT on each node.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

data="" out="runs/ljspeech" stage=0 stop_stage=7 configs="$here/configs"
nproc=1 nnodes=1 node_rank=0 rdzv="" device="" jobs=${JOBS:-4} extra_args=()
while (( $# )); do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --stage) stage=$2; shift 2 ;;
    --stop-stage) stop_stage=$2; shift 2 ;;
    --configs) configs=$2; shift 2 ;;
    --nproc-per-node) nproc=$2; shift 2 ;;
    --nnodes) nnodes=$2; shift 2 ;;
    --node-rank) node_rank=$2; shift 2 ;;
    --rdzv-endpoint) rdzv=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --) shift; extra_args=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

py=${PYTHON:-$root/.venv/bin/python}
[[ -x $py ]] || py=python3
prepared="$out/data"
run() { echo ">> $*"; "$@"; }
# Training stages run under torchrun when more than one process is asked for.
train() {
  local stage_name=$1; shift
  local dev=(); [[ -n $device ]] && dev=(--device "$device")
  local resume=(); [[ -f $out/$stage_name/checkpoints/last.pt ]] && resume=(--resume)
  if (( nproc > 1 || nnodes > 1 )); then
    local rdz=(--standalone); [[ -n $rdzv ]] && rdz=(--rdzv-backend c10d --rdzv-endpoint "$rdzv")
    run "$py" -m torch.distributed.run "${rdz[@]}" --nnodes "$nnodes" --node-rank "$node_rank" \
      --nproc-per-node "$nproc" -m tts.cli.train "$stage_name" "$@" "${dev[@]}" "${resume[@]}" "${extra_args[@]}"
  else
    run "$py" -m tts.cli.train "$stage_name" "$@" "${dev[@]}" "${resume[@]}" "${extra_args[@]}"
  fi
}
in_range() { (( stage <= $1 && $1 <= stop_stage )); }

if in_range 0; then
  if [[ -z $data || ! -f $data/metadata.csv || ! -d $data/wavs ]]; then
    cat >&2 <<MSG
run.sh: no LJSpeech-layout corpus at '${data:-<not given>}' (need metadata.csv and wavs/).
Get LJSpeech-1.1 (2.6 GB) from https://keithito.com/LJ-Speech-Dataset/ , unpack it, and pass
--data /path/to/LJSpeech-1.1 — or point --data at any corpus in the same layout.
MSG
    exit 2
  fi
  echo ">> corpus: $data ($(wc -l < "$data/metadata.csv") rows)"
fi
if in_range 1; then run "$py" -m tts.cli.train prepare "$data" "$prepared" --jobs "$jobs"; fi
if in_range 2; then train vae --data "$prepared" --run-dir "$out/vae" --config "$configs/vae.toml"; fi
if in_range 3; then run "$py" -m tts.cli.train latents --data "$prepared" --vae "$out/vae/export.safetensors"; fi
if in_range 4; then
  train acoustic --data "$prepared" --run-dir "$out/acoustic" --config "$configs/acoustic.toml" \
    --vae "$out/vae/export.safetensors"
fi
if in_range 5; then train vocoder --data "$prepared" --run-dir "$out/vocoder" --config "$configs/vocoder.toml"; fi
if in_range 6; then
  run "$py" -m tts.voice assemble --out "$out/voice" --acoustic "$out/acoustic/export.safetensors" \
    --vae "$out/vae/export.safetensors" --vocoder "$out/vocoder/export.safetensors"
fi
if in_range 7; then
  if [[ -f $prepared/val.jsonl ]]; then
    run "$py" -m tts.cli.eval prepared --voice "$out/voice" --data "$prepared" --split val \
      --json "$out/eval.json" --markdown "$out/eval.md"
  fi
fi
echo ">> done (stages $stage..$stop_stage) — voice folder: $out/voice"
