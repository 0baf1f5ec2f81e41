#!/usr/bin/env bash
# Set up latent-tts in ./.venv (CPU).
#   bash scripts/setup.sh            core install: enough to synthesise speech
#   bash scripts/setup.sh --dev      + training, evaluation, ONNX and test tools
#   bash scripts/setup.sh --dev --system-packages
#                                    + Debian packages the tests use when present (flite, espeak-ng, sox,
#                                      qemu-user to emulate an AVX2-only CPU,
#                                      chromium for the tts-serve web page test); needs root and apt-get
# Environment: PYTHON (default python3), VENV (default .venv), TORCH_SPEC (default torch==2.13.0).
# torch is installed first and pinned so pip never swaps in a multi-GB CUDA build on a CPU machine;
# set TORCH_INDEX_URL (e.g. the PyTorch CPU wheel index) on machines that do not carry the CPU wheel locally.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
system_packages=0
for arg in "$@"; do
  case "$arg" in
    --dev) extras="[dev]" ;;
    --system-packages) system_packages=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

if [[ $system_packages == 1 ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    missing=()
    for p in flite espeak-ng sox qemu-user chromium; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if (( ${#missing[@]} )); then
      echo ">> apt-get install ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
  else
    echo ">> not root or no apt-get: skipping system packages (tests that need flite/espeak-ng/chromium will skip)"
  fi
fi

[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo ">> installing $TORCH_SPEC (CPU)"
  if [[ -n ${TORCH_INDEX_URL:-} ]]; then
    "${pip[@]}" install "$TORCH_SPEC" --index-url "$TORCH_INDEX_URL"
  else
    "${pip[@]}" install "$TORCH_SPEC"
  fi
fi
torch_version=$("$VENV/bin/python" -c "import torch; print(torch.__version__.split('+')[0])")
echo ">> installing latent-tts$extras (torch $torch_version kept)"
constraint=$(mktemp)
echo "torch==$torch_version" > "$constraint"
"${pip[@]}" install -e ".$extras" -c "$constraint"
if [[ $extras == "[dev]" ]]; then
  echo ">> installing the DistillMOS and Resemblyzer judges (--no-deps: no torchaudio)"
  "${pip[@]}" install --no-deps --require-hashes -r scripts/judges-no-deps.txt
fi
rm -f "$constraint"
echo ">> ready: $VENV/bin/tts-synth --help"
