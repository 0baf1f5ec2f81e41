"""``tts-train`` — data preparation and training, one sub-command per pipeline stage.

    tts-train prepare  CORPUS_DIR OUT_DIR      resample, phonemise, cache mels, split train/val
    tts-train vae      --data OUT_DIR ...      train the mel VAE
    tts-train latents  --data OUT_DIR ...      cache VAE latents for the acoustic model
    tts-train acoustic --data OUT_DIR ...      train encoder + durations + latent diffusion decoder
    tts-train vocoder  --data OUT_DIR ...      train the vocoder (iSTFT head or HiFi-GAN)
    tts-train export-onnx ...                  export a vocoder to ONNX (= tts-voice export-vocoder)

Each stage module exposes ``add_arguments(parser)`` and ``run(args) -> int`` (or the functions named in
``ENTRY_POINTS``); they are imported
only when their sub-command is used, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

STAGES: dict[str, tuple[str, str]] = {
    "prepare": ("tts.data.prepare", "prepare an LJSpeech-layout corpus (mels, phonemes, splits)"),
    "vae": ("tts.train.vae", "train the mel VAE"),
    "latents": ("tts.train.latents", "cache VAE latents of a prepared corpus"),
    "acoustic": ("tts.train.acoustic", "train the phoneme encoder + latent diffusion decoder"),
    "vocoder": ("tts.train.vocoder", "train the vocoder"),
    "export-onnx": ("tts.cli.voice", "export a vocoder to ONNX (as tts-voice export-vocoder)"),
}
#: stages whose module names its functions otherwise than ``add_arguments`` / ``run``
ENTRY_POINTS = {"export-onnx": ("add_export_vocoder_arguments", "export_vocoder")}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="tts-train", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="stage", metavar="STAGE")
    for name, (_, help_) in STAGES.items():
        sub.add_parser(name, help=help_, add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in STAGES:
        if argv and argv[0] not in ("-h", "--help"):
            parser.print_usage(sys.stderr)
            choices = ", ".join(STAGES)
            print(f"tts-train: error: unknown stage {argv[0]!r}; choose from {choices}", file=sys.stderr)
            return 2
        parser.print_help()
        return 0
    module_name, help_ = STAGES[argv[0]]
    module = importlib.import_module(module_name)
    stage_parser = argparse.ArgumentParser(prog=f"tts-train {argv[0]}", description=help_)
    add_arguments, run = ENTRY_POINTS.get(argv[0], ("add_arguments", "run"))
    getattr(module, add_arguments)(stage_parser)
    args = stage_parser.parse_args(argv[1:])
    return int(getattr(module, run)(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
