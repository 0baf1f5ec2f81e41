"""Vocoder speed: parameters and real-time factor (RTF = compute time / audio duration) on the CPU.

    OMP_NUM_THREADS=2 python benchmarks/vocoder_speed.py --threads 2 --seconds 5
    python benchmarks/vocoder_speed.py --generators istft hifigan_v1 --onnx --bf16 --train-step

Random weights (speed does not depend on them); weight norm folded, eval mode, no_grad — what
inference runs. Each number is the best of ``--repeats`` timed runs after one warm-up run: on a
shared machine the fastest run is the one least disturbed by other processes (``timeit``'s rule).
``--train-step`` also times one generator-only (reconstruction) step and one full GAN step
(generator + discriminators, forward and backward) on a batch of ``--batch`` × 8192 samples.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from tts.core.config import override
from tts.models.vocoder.config import GENERATOR_KINDS, build_generator
from tts.train.vocoder import VocoderTrainConfig


def _best_time(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, oneDNN kernels
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _train_step_times(cfg: VocoderTrainConfig, batch: int, repeats: int) -> tuple[float, float]:
    from tts.audio import MelSpectrogram
    from tts.train.discriminators import Discriminator
    from tts.train.vocoder_losses import (
        MultiResolutionSTFTLoss,
        discriminator_loss,
        feature_matching_loss,
        generator_adversarial_loss,
    )

    gen, disc = build_generator(cfg), Discriminator(cfg.discriminator)
    mel_fn, stft_loss = MelSpectrogram(cfg.audio), MultiResolutionSTFTLoss(cfg.loss.stft_resolutions)
    wav = 0.1 * torch.randn(batch, cfg.segment_samples)
    mel = mel_fn(wav)

    def reconstruction() -> None:
        fake = gen(mel)
        loss = (mel_fn(fake) - mel).abs().mean() * 45 + sum(stft_loss(fake, wav))
        loss.backward()

    def gan() -> None:
        fake = gen(mel)
        r, f, _, _ = disc(wav, fake.detach())
        discriminator_loss(r, f).backward()
        _, f, rf, ff = disc(wav, fake)
        loss = generator_adversarial_loss(f) + 2 * feature_matching_loss(rf, ff)
        loss = loss + (mel_fn(fake) - mel).abs().mean() * 45 + sum(stft_loss(fake, wav))
        loss.backward()

    return _best_time(reconstruction, repeats), _best_time(gan, max(1, repeats // 2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--generators", nargs="+", default=["istft", "hifigan_v1"], choices=GENERATOR_KINDS[:-1]
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0, help="audio duration to synthesise")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--dim", type=int, default=None, help="override the iSTFT generator's dim (and 3·dim MLP)"
    )
    parser.add_argument("--layers", type=int, default=None, help="override the iSTFT generator's block count")
    parser.add_argument("--onnx", action="store_true", help="also time onnxruntime on the exported graph")
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="also time bf16 matrix multiplies (tts.models.precision; AMX CPUs)",
    )
    parser.add_argument(
        "--phase-iterations",
        type=int,
        default=0,
        help="also time the iSTFT generator with this many phase-refinement steps (tts.core.spectral)",
    )
    parser.add_argument("--train-step", action="store_true", help="also time training steps")
    parser.add_argument("--batch", type=int, default=8, help="training batch for --train-step")
    parser.add_argument("--config", default=None, help="vocoder TOML whose [model] table to use")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    base = VocoderTrainConfig()
    if args.config:
        from tts.core.config import load_toml

        base = override(base, load_toml(args.config).get("model", {}))
    istft = {}
    if args.dim:
        istft.update(dim=args.dim, intermediate_dim=3 * args.dim)
    if args.layers:
        istft["num_layers"] = args.layers
    print(
        f"torch {torch.__version__}, {args.threads} threads, {args.seconds:g} s of audio, "
        f"best of {args.repeats}"
    )
    for kind in args.generators:
        cfg = override(base, {"generator": kind, "istft": istft} if kind == "istft" else {"generator": kind})
        gen = build_generator(cfg).eval()
        gen.remove_weight_norm()
        params = sum(p.numel() for p in gen.parameters())
        n_frames = round(args.seconds * cfg.audio.sample_rate / cfg.audio.hop_length)
        mel = torch.randn(1, cfg.audio.n_mels, n_frames) - 5.0
        audio_s = n_frames * cfg.audio.hop_length / cfg.audio.sample_rate
        with torch.inference_mode():
            t = _best_time(lambda g=gen, x=mel: g(x), args.repeats)
        sizes = f"d={cfg.istft.dim}, {cfg.istft.num_layers} blocks" if kind == "istft" else ""
        line = (
            f"{kind:<11} {sizes:<20} params {params / 1e6:6.2f} M   RTF {t / audio_s:.4f} ({t * 1e3:.0f} ms)"
        )
        if args.bf16:
            import copy

            fast = copy.deepcopy(gen)
            if fast.bf16_matmuls():
                with torch.inference_mode():
                    t_bf16 = _best_time(lambda g=fast, x=mel: g(x), args.repeats)
                line += f"   bf16 matmuls RTF {t_bf16 / audio_s:.4f}"
        if args.phase_iterations and hasattr(gen, "phase_iterations"):
            gen.phase_iterations = args.phase_iterations
            with torch.inference_mode():
                t_pi = _best_time(lambda g=gen, x=mel: g(x), args.repeats)
            gen.phase_iterations = 0
            line += f"   + {args.phase_iterations} phase iterations RTF {t_pi / audio_s:.4f}"
        if args.onnx:
            from tts.export.onnx import export_onnx
            from tts.models.vocoder.onnx import OnnxVocoder

            with tempfile.TemporaryDirectory() as tmp:
                path = export_onnx(gen, Path(tmp) / "v.onnx")
                ort_gen = OnnxVocoder(path, threads=args.threads)
                t_ort = _best_time(lambda g=ort_gen, x=mel: g(x), args.repeats)
            line += f"   onnxruntime RTF {t_ort / audio_s:.4f}"
        print(line, flush=True)
        if args.train_step:
            rec, gan = _train_step_times(cfg, args.batch, args.repeats)
            print(
                f"{'':<11} train step ({args.batch}×{cfg.segment_samples}): "
                f"reconstruction {rec:.2f} s, GAN {gan:.2f} s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
