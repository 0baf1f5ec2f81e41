"""Where does vocoder copy-synthesis lose DNSMOS: magnitude or phase?

    python benchmarks/phase_diagnosis.py --heldout data/synthetic-heldout --n 6 \\
        --vocoder pretrained/vocoder.safetensors [--iterations 2,4]

For the first ``--n`` held-out recordings of each speaker: THE log-mel → the iSTFT vocoder's
predicted log-magnitude and phase, then DNSMOS P.835 (OVRL / SIG / BAK, means) of waveforms built
from mixtures of the predicted and the recording's own STFT (same framing, ``tts.core.spectral``):
the recording, the vocoder's output, vocoder magnitude + true phase, true magnitude + vocoder
phase, true phase only in bins within 30 dB of their frame's peak or only below 4 kHz, and the
vocoder's output after each number of phase-refinement iterations (``tts.core.spectral.refine_phase``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--heldout", type=Path, required=True, help="folder of SPEAKER/ held-out sets")
    p.add_argument("--speakers", default="bdl,slt,clb,alan")
    p.add_argument("--n", type=int, default=6, help="recordings per speaker")
    p.add_argument("--vocoder", required=True, help="an iSTFT vocoder .safetensors")
    p.add_argument("--iterations", default="2,4", help="phase-refinement iteration counts to score")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    import torch

    from tts.audio import AudioConfig, MelSpectrogram, load_audio
    from tts.core.spectral import istft, refine_phase, stft
    from tts.eval.dnsmos import DNSMOSScorer
    from tts.eval.voice import heldout_utterances
    from tts.models.vocoder import load_vocoder

    torch.set_num_threads(args.threads)
    cfg = AudioConfig()
    mel_fn = MelSpectrogram(cfg)
    voc = load_vocoder(args.vocoder, "cpu")
    if not hasattr(voc, "log_magnitude_and_phase"):
        raise SystemExit(f"{args.vocoder}: not an iSTFT vocoder")
    judge = DNSMOSScorer(threads=args.threads)
    iterations = [int(k) for k in args.iterations.split(",") if k]
    scores: dict[str, list[tuple[float, float, float]]] = {}

    def add(name: str, wav: np.ndarray) -> None:
        s = judge(np.asarray(wav, np.float32).reshape(-1), cfg.sample_rate)
        scores.setdefault(name, []).append((s["ovrl"], s["sig"], s["bak"]))

    def build(log_mag: np.ndarray, phase: np.ndarray) -> np.ndarray:
        return istft((np.exp(log_mag) * (np.cos(phase) + 1j * np.sin(phase))).astype(np.complex64))

    n_bins = cfg.n_fft // 2 + 1
    low = (np.arange(n_bins) * cfg.sample_rate / cfg.n_fft < 4000)[None, :, None]
    with torch.inference_mode():
        for spk in args.speakers.split(","):
            rows = heldout_utterances(args.heldout / spk, args.n)
            for utt in rows:
                wav, _ = load_audio(utt.wav, sample_rate=cfg.sample_rate)
                mel = mel_fn(torch.from_numpy(wav)[None])
                x = np.pad(wav, (0, mel.shape[-1] * cfg.hop_length - len(wav)))[None]
                spec = stft(x, cfg.n_fft, cfg.hop_length)
                true_lm, true_ph = np.log(np.maximum(np.abs(spec), 1e-5)), np.angle(spec)
                lm, ph = (t.float().numpy() for t in voc.log_magnitude_and_phase(mel))
                loud = true_lm > true_lm.max(axis=1, keepdims=True) - 30 * np.log(10) / 20
                add("recording", x)
                add("vocoder", build(lm, ph))
                add("vocoder magnitude + true phase", build(lm, true_ph))
                add("true magnitude + vocoder phase", build(true_lm, ph))
                add("true phase only within 30 dB of the frame peak", build(lm, np.where(loud, true_ph, ph)))
                add("true phase only below 4 kHz", build(lm, np.where(low, true_ph, ph)))
                for k in iterations:
                    add(f"vocoder + {k} refinement iterations", refine_phase(lm, ph, k))
            print(f"{spk}: {len(rows)} recordings", flush=True)
    print(f"\nDNSMOS means over {len(scores['recording'])} recordings\n")
    print("| magnitude / phase | OVRL | SIG | BAK |\n|---|---|---|---|")
    for name, vals in scores.items():
        o, s, b = np.mean(vals, axis=0)
        print(f"| {name} | {o:.2f} | {s:.2f} | {b:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
