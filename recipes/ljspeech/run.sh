#!/usr/bin/env bash
# LJSpeech recipe: check data → prepare → VAE → cache latents → acoustic model → vocoder → voice folder
# → evaluate. Works on any corpus in LJSpeech layout; every stage resumes or skips what is done.
#
#   bash recipes/ljspeech/run.sh --data /path/to/LJSpeech-1.1 [options] [-- flags for every training stage]
#
# Stages: 0 check data  1 prepare  2 vae  3 latents  4 acoustic  5 vocoder  6 voice folder  7 evaluate
#
# Options:
#   --data DIR            corpus in LJSpeech layout: metadata.csv (id|text[|normalized[|speaker]]) + wavs/
#   --out DIR             where everything lands (default runs/ljspeech): data/ vae/ acoustic/ vocoder/
#                         voice/ eval/
#   --stage N, --stop-stage N   run stages N..M only (default 0..7)
#   --configs DIR         vae.toml, acoustic.toml, vocoder.toml (default: recipes/ljspeech/configs)
#   --device DEV          cpu, cuda … for training and latents (default: the GPU if there is one)
#   --threads N           torch threads per process (default: PyTorch's choice)
#   --jobs N              worker processes of the prepare stage (default 4)
#   --prepare-opts "..."  more flags for `tts-train prepare`, e.g. "--val-size 50 --trim-silence"
#   --eval-opts "..."     more flags for `tts-eval voice`, e.g. "--limit 50 --jobs 8"
#   --nproc-per-node N    training processes (GPUs) per machine; more than 1 trains under torchrun
#   --nnodes N --node-rank R --rdzv-endpoint HOST:PORT [--rdzv-id ID]
#                         several machines: the same command on each, --out on a shared file system
#   --dry-run             print the commands instead of running them
# Flags after -- go to every training stage (tts-train vae|acoustic|vocoder), e.g. -- --max-steps 1000.
# Environment: PYTHON (default: the repository's .venv/bin/python, else python3).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

usage() { sed -n '2,/^# Environment/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 2; }
whole() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 must be a whole number, got '$2'"; }

data="" out="runs/ljspeech" stage=0 stop_stage=7 configs="$here/configs" device="" threads="" jobs=4
prepare_opts="" eval_opts="" nproc=1 nnodes=1 node_rank=0 rdzv="" rdzv_id="ljspeech" dry_run=0
extra_args=()
value_opts=" --data --out --stage --stop-stage --configs --device --threads --jobs --prepare-opts \
--eval-opts --nproc-per-node --nnodes --node-rank --rdzv-endpoint --rdzv-id "
while (( $# )); do
  opt=$1
  case $opt in
    -h|--help) usage; exit 0 ;;
    --dry-run) dry_run=1; shift; continue ;;
    --) shift; extra_args=("$@"); break ;;
  esac
  [[ $value_opts == *" $opt "* ]] || die "unknown option '$opt' (see --help)"
  (( $# >= 2 )) || die "$opt needs a value"
  val=$2
  shift 2
  case $opt in
    --data) data=$val ;;
    --out) out=$val ;;
    --stage) whole "$opt" "$val"; stage=$val ;;
    --stop-stage) whole "$opt" "$val"; stop_stage=$val ;;
    --configs) configs=$val ;;
    --device) device=$val ;;
    --threads) whole "$opt" "$val"; threads=$val ;;
    --jobs) whole "$opt" "$val"; jobs=$val ;;
    --prepare-opts) prepare_opts=$val ;;
    --eval-opts) eval_opts=$val ;;
    --nproc-per-node) whole "$opt" "$val"; nproc=$val ;;
    --nnodes) whole "$opt" "$val"; nnodes=$val ;;
    --node-rank) whole "$opt" "$val"; node_rank=$val ;;
    --rdzv-endpoint) rdzv=$val ;;
    --rdzv-id) rdzv_id=$val ;;
  esac
done
(( stage <= stop_stage && stop_stage <= 7 )) || die "need 0 <= --stage <= --stop-stage <= 7"
(( nproc >= 1 && nnodes >= 1 )) || die "--nproc-per-node and --nnodes must be >= 1"
(( node_rank < nnodes )) || die "--node-rank $node_rank must be below --nnodes $nnodes"
(( nnodes == 1 )) || [[ -n $rdzv ]] || die "--nnodes $nnodes needs --rdzv-endpoint HOST:PORT of node 0"
for f in vae acoustic vocoder; do [[ -f $configs/$f.toml ]] || die "no $configs/$f.toml (see --configs)"; done

if [[ -n ${PYTHON:-} ]]; then
  py=$(command -v "$PYTHON") || die "PYTHON=$PYTHON is not a program"
elif [[ -x $root/.venv/bin/python ]]; then
  py=$root/.venv/bin/python
else
  py=$(command -v python3) || die "no python3 found; set PYTHON"
fi
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's tts package, installed or not
prepared="$out/data" voice="$out/voice" eval_dir="$out/eval"
dev=() thr=()
[[ -n $device ]] && dev=(--device "$device")
[[ -n $threads ]] && thr=(--threads "$threads")

# Ctrl-C reaches the running stage too, which saves a checkpoint and exits normally: stop after it
# instead of going on to the next stage.
interrupted=0
trap 'interrupted=1' INT TERM
run() {  # print a command (quoted, ready to paste) and run it
  printf '>>'
  printf ' %q' "$@"
  echo
  (( dry_run )) || "$@"
  if (( interrupted )); then
    echo ">> interrupted: run the same command again to resume" >&2
    exit 130
  fi
}
in_range() {
  (( stage <= $1 && $1 <= stop_stage )) || return 1
  t_stage=$SECONDS
}
took() {
  if (( dry_run )); then return 0; fi
  local s=$(( SECONDS - t_stage ))
  printf '>> stage %d took %dh%02dm%02ds\n' "$1" $(( s / 3600 )) $(( s / 60 % 60 )) $(( s % 60 ))
}
# The data check and preparation, latents, the voice folder and evaluation run on node 0 only; the
# other nodes go straight to the training stages, where torchrun's rendezvous waits for node 0.
on_node0() {
  (( node_rank == 0 )) && return 0
  echo ">> stage $1: runs on node 0 only"
  return 1
}
# An output of an earlier stage. Nodes other than 0 do not check: they reach each training stage
# through torchrun's rendezvous, which waits until node 0 has made what that stage reads.
need() {
  [[ -e $1 ]] || (( dry_run || node_rank > 0 )) || die "missing $1: run stage $2 first (--stage $2)"
}
# One training stage: resumed when its run folder has a checkpoint; under torchrun for > 1 process.
train() {
  local name=$1
  shift
  local resume=()
  if [[ -f $out/$name/checkpoints/last.pt ]]; then
    resume=(--resume)
    echo ">> $name: continuing from $out/$name/checkpoints/last.pt (a finished run stops at once)"
  fi
  local cmd=(-m tts.cli.train "$name" "$@" --run-dir "$out/$name" --config "$configs/$name.toml"
    "${dev[@]}" "${thr[@]}" "${resume[@]}" "${extra_args[@]}")
  if (( nproc == 1 && nnodes == 1 )); then
    run "$py" "${cmd[@]}"
  elif (( nnodes == 1 )); then
    run "$py" -m torch.distributed.run --standalone --nproc-per-node "$nproc" "${cmd[@]}"
  else
    run "$py" -m torch.distributed.run --nnodes "$nnodes" --node-rank "$node_rank" --nproc-per-node "$nproc" \
      --rdzv-backend c10d --rdzv-endpoint "$rdzv" --rdzv-id "$rdzv_id-$name" "${cmd[@]}"
  fi
}

if in_range 0 && on_node0 0; then
  if [[ -z $data || ! -f $data/metadata.csv || ! -d $data/wavs ]]; then
    cat >&2 <<MSG
run.sh: no LJSpeech-layout corpus at '${data:-(no --data given)}': it needs metadata.csv and wavs/.
Get LJSpeech-1.1 (2.6 GB) from https://keithito.com/LJ-Speech-Dataset/ :
    wget https://data.keithito.com/data/speech/LJSpeech-1.1.tar.bz2 && tar -xjf LJSpeech-1.1.tar.bz2
then pass --data /path/to/LJSpeech-1.1, or point --data at any corpus in the same layout
(recipes/ljspeech/README.md, "Another corpus").
MSG
    exit 2
  fi
  rows=$(grep -c . "$data/metadata.csv" || true)
  wavs=$(find "$data/wavs" -maxdepth 1 -name '*.wav' | wc -l)
  (( rows > 0 && wavs > 0 )) || die "$data has $rows rows in metadata.csv and $wavs .wav files in wavs/"
  echo ">> stage 0: $data: $rows rows in metadata.csv, $wavs files in wavs/"
fi
if in_range 1 && on_node0 1; then
  [[ -n $data ]] || die "stage 1 needs --data"
  # shellcheck disable=SC2086  # --prepare-opts is a list of flags
  run "$py" -m tts.cli.train prepare "$data" "$prepared" --jobs "$jobs" $prepare_opts
  took 1
fi
if in_range 2; then
  need "$prepared/manifest.json" 1
  train vae --data "$prepared"
  took 2
fi
if in_range 3 && on_node0 3; then
  need "$out/vae/export.safetensors" 2
  run "$py" -m tts.cli.train latents --data "$prepared" --vae "$out/vae/export.safetensors" \
    "${dev[@]}" "${thr[@]}"
  took 3
fi
if in_range 4; then
  need "$prepared/latents/info.json" 3
  train acoustic --data "$prepared" --vae "$out/vae/export.safetensors"
  took 4
fi
if in_range 5; then
  need "$prepared/manifest.json" 1
  train vocoder --data "$prepared"
  took 5
fi
if in_range 6 && on_node0 6; then
  parts=("$out/acoustic/export.safetensors" "$out/vae/export.safetensors" "$out/vocoder/export.safetensors")
  need "${parts[0]}" 4
  need "${parts[1]}" 2
  need "${parts[2]}" 5
  fresh=1
  for p in "${parts[@]}"; do [[ $voice/acoustic.safetensors -nt $p ]] || fresh=0; done
  if (( fresh )); then
    echo ">> stage 6: $voice is newer than every export: kept"
  else
    run "$py" -m tts.cli.voice assemble --out "$voice" --acoustic "${parts[0]}" --vae "${parts[1]}" \
      --vocoder "${parts[2]}" --name "$(basename "$out")"
  fi
  took 6
fi
if in_range 7 && on_node0 7; then
  need "$voice/acoustic.safetensors" 6
  need "$prepared/val.jsonl" 1
  missing=$("$py" -c "import importlib.util as u
print(' '.join(m for m in ('tts.cli.eval', 'pocketsphinx', 'jiwer', 'speechmos', 'pesq', 'pystoi')
               if u.find_spec(m) is None))") || missing="(python failed)"
  if [[ ! -s $prepared/val.jsonl ]] && (( ! dry_run )); then
    echo ">> stage 7: the val split is empty (prepare with --val-size > 0): nothing to evaluate"
  elif [[ -n $missing ]]; then
    echo ">> stage 7: evaluation skipped: the eval extra is not installed (missing: $missing)." \
      "Install it with: pip install -e '.[eval]'"
  elif [[ $eval_dir/eval.json -nt $voice/acoustic.safetensors ]]; then
    echo ">> stage 7: $eval_dir/eval.json is newer than the voice: kept (delete it to score again)"
  else
    # The val split as a held-out folder for `tts-eval voice`: its texts and the prepared recordings
    # (22.05 kHz copies of the corpus), which the voice's own renderings are compared with.
    run mkdir -p "$eval_dir/heldout"
    to_csv="import json, sys; rows = [json.loads(x) for x in open(sys.argv[1], encoding='utf-8') \
if x.strip()]; open(sys.argv[2], 'w', encoding='utf-8').write(''.join(r['id'] + '|' + r['text'] + '\n' \
for r in rows))"
    echo ">> $eval_dir/heldout/metadata.csv: id|text of $prepared/val.jsonl"
    (( dry_run )) || "$py" -c "$to_csv" "$prepared/val.jsonl" "$eval_dir/heldout/metadata.csv"
    wav_dir=$(cd "$prepared" 2>/dev/null && pwd || echo "$prepared")/wavs
    run ln -sfn "$wav_dir" "$eval_dir/heldout/wavs"
    # shellcheck disable=SC2086  # --eval-opts is a list of flags
    run "$py" -m tts.cli.eval voice --voice "$voice" --heldout "$eval_dir/heldout" --out "$eval_dir/voice" \
      --json "$eval_dir/eval.json" --markdown "$eval_dir/eval.md" $eval_opts
  fi
  took 7
fi
echo ">> done: stages $stage to $stop_stage; voice folder $voice"
