"""``tts-voice`` — voice folder tools.

    tts-voice assemble --out DIR --acoustic A --vae V [--vocoder W] [--speaker S] ...
                              build a voice folder from the exported stage weights (checked to fit)
    tts-voice export-onnx [--voice DIR] [--out DIR/onnx] [--vocoder-weights int8|fp32]
                          [--denoiser-weights int8|fp32] [--vae-weights int8|fp32]
                              export a whole voice for the torch-free ONNX runtime (tts-synth's default)
    tts-voice export-vocoder --checkpoint vocoder.safetensors --out vocoder.onnx
                              export one vocoder to a waveform graph (``OnnxVocoder``)

Every sub-command checks what it wrote (the exports against PyTorch) and exits 1 on a failed check,
2 on bad arguments or unreadable inputs, with a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tts.core.names import DURATION_ROUNDING, VOCODER_WEIGHTS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tts-voice", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    a = sub.add_parser("assemble", help="build a voice folder from exported stage weights")
    a.add_argument("--out", required=True)
    a.add_argument("--acoustic", required=True)
    a.add_argument("--vae", required=True)
    a.add_argument("--vocoder", default=None)
    a.add_argument("--name", default=None)
    a.add_argument("--speaker", default=None, help="default speaker")
    a.add_argument("--steps", type=int, default=None, help="default ODE steps")
    a.add_argument("--temperature", type=float, default=None, help="default noise temperature")
    a.add_argument("--guidance", type=float, default=0.0, help="default classifier-free guidance weight")
    a.add_argument(
        "--phase-iterations", type=int, default=0, help="phase refinement steps after the vocoder (default 0)"
    )
    a.add_argument("--language", default="en-us", help="espeak-ng language (default: %(default)s)")
    a.add_argument(
        "--duration-rounding", choices=DURATION_ROUNDING, default=None, help="default: the model's"
    )

    e = sub.add_parser("export-onnx", help="export a voice folder for the torch-free ONNX runtime")
    e.add_argument("--voice", default=None, help="voice folder (default: the shipped voice)")
    e.add_argument("--out", default=None, help="output folder (default: VOICE/onnx)")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    e.add_argument("--tolerance", type=float, default=1e-3, help="max |PyTorch - onnxruntime| accepted")
    e.add_argument(
        "--vocoder-weights",
        choices=VOCODER_WEIGHTS,
        default=VOCODER_WEIGHTS[0],
        help="an iSTFT vocoder's ConvNeXt weights: int8 (default, faster) or fp32 (tts.export.onnx)",
    )
    e.add_argument(
        "--denoiser-weights",
        choices=VOCODER_WEIGHTS,
        default=VOCODER_WEIGHTS[0],
        help="the U-Net's convolutions: int8 (default, calibrated on the voice's own inputs) or fp32",
    )
    e.add_argument(
        "--vae-weights",
        choices=VOCODER_WEIGHTS,
        default=VOCODER_WEIGHTS[0],
        help="the VAE decoder's convolutions and matrix products: int8 (default, calibrated) or fp32",
    )

    add_export_vocoder_arguments(sub.add_parser("export-vocoder", help="export one vocoder to an ONNX graph"))
    return parser


def add_export_vocoder_arguments(v: argparse.ArgumentParser) -> None:
    """Arguments of ``export-vocoder`` (also ``tts-train export-onnx``)."""
    v.add_argument("--checkpoint", required=True, help="vocoder .safetensors (export of `tts-train vocoder`)")
    v.add_argument("--out", required=True, help="output .onnx file")
    v.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    v.add_argument(
        "--tolerance", type=float, default=1e-3, help="max |PyTorch - onnxruntime| accepted on a test input"
    )


def _assemble(args: argparse.Namespace) -> int:
    from tts.core.voice import VoiceConfig
    from tts.export.assemble import assemble_voice

    cfg = VoiceConfig(
        name=args.name or Path(args.out).name,
        language=args.language,
        speaker=args.speaker,
        steps=args.steps,
        temperature=args.temperature,
        guidance=args.guidance,
        duration_rounding=args.duration_rounding,
        phase_iterations=args.phase_iterations,
    )
    folder = assemble_voice(args.out, args.acoustic, args.vae, args.vocoder, cfg)
    print(f"voice folder ready: {folder}")
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    from tts.export.onnx import export_voice_onnx

    out = export_voice_onnx(
        args.voice,
        args.out,
        opset=args.opset,
        tolerance=args.tolerance,
        vocoder_weights=args.vocoder_weights,
        denoiser_weights=args.denoiser_weights,
        vae_weights=args.vae_weights,
    )
    size = sum(f.stat().st_size for f in out.glob("*.onnx")) / 1e6
    print(f"ONNX export ready: {out} ({size:.1f} MB)")
    return 0


def export_vocoder(args: argparse.Namespace) -> int:
    """``export-vocoder``: write the graph, check it against PyTorch (exit 1 when it differs)."""
    from tts.core.config import to_dict
    from tts.export.onnx import export_onnx, max_abs_difference
    from tts.models.vocoder.load import load_vocoder, read_vocoder

    cfg, _, _ = read_vocoder(args.checkpoint)
    generator = load_vocoder(args.checkpoint)
    out = export_onnx(generator, args.out, config=to_dict(cfg), opset=args.opset)
    diff = max_abs_difference(generator, out)
    size = out.stat().st_size / 1e6
    print(f"wrote {out} ({size:.1f} MB, {cfg.generator}); max |torch - onnxruntime| = {diff:.2e}")
    if not diff <= args.tolerance:
        out.unlink()
        print(
            f"tts-voice: error: onnxruntime output differs by {diff:.2e} > {args.tolerance}", file=sys.stderr
        )
        return 1
    return 0


COMMANDS = {"assemble": _assemble, "export-onnx": _export_onnx, "export-vocoder": export_vocoder}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](args)
    except (FileNotFoundError, ValueError) as e:  # no voice, a missing part, a broken or mismatched file
        print(f"tts-voice: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
