"""Is the mel VAE transparent? Vocode held-out teacher mels with and without a VAE round trip.

For the first N utterances of a held-out folder (LJSpeech layout) this writes two folders of wavs:

    OUT/mel/      vocoder(mel)                      — the reference copy-synthesis
    OUT/vae/      vocoder(VAE.decode(VAE.encode(mel)))

and prints the commands that score both with ``tts-eval dir`` (ASR WER, DNSMOS, MCD to the
teacher). The VAE passes its quality bar when the two score the same within noise.

    python benchmarks/vae_copysynth.py --vae pretrained/vae.safetensors \
        --heldout data/synthetic-heldout/bdl --n 30 --vocoder griffin-lim --out runs/vae-copysynth
"""

from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

import torch

from tts.audio import load_audio, log_mel, save_audio
from tts.vae.mel_vae import load_vae
from tts.vocoder import load_vocoder


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vae", required=True)
    p.add_argument("--heldout", required=True, help="teacher folder: metadata.csv + wavs/")
    p.add_argument("--vocoder", default="griffin-lim", help="griffin-lim or a vocoder .safetensors")
    p.add_argument("--n", type=int, default=30)
    p.add_argument("--out", required=True)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    heldout, out = Path(args.heldout), Path(args.out)
    rows = list(csv.reader((heldout / "metadata.csv").open(encoding="utf-8"), delimiter="|"))[: args.n]
    vae = load_vae(args.vae)
    vocoder = load_vocoder(args.vocoder)
    sr = vae_sr = 22050
    for sub in ("mel", "vae"):
        (out / sub / "wavs").mkdir(parents=True, exist_ok=True)
        with (out / sub / "metadata.csv").open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write("|".join(r) + "\n")
    with torch.inference_mode():
        for r in rows:
            wav, _ = load_audio(heldout / "wavs" / f"{r[0]}.wav", sample_rate=vae_sr)
            mel = log_mel(wav).unsqueeze(0)  # (1, 80, T)
            lengths = torch.tensor([mel.shape[-1]])
            z, zl = vae.encode(mel, lengths)
            mel_vae, _ = vae.decode(z, zl)
            mel_vae = mel_vae[..., : mel.shape[-1]]
            save_audio(out / "mel" / "wavs" / f"{r[0]}.wav", vocoder(mel)[0], sr)
            save_audio(out / "vae" / "wavs" / f"{r[0]}.wav", vocoder(mel_vae)[0], sr)
            print(f"{r[0]}: log-mel L1 after the VAE round trip {float((mel_vae - mel).abs().mean()):.3f}")
    shutil.copy(heldout / "metadata.csv", out / "teacher-metadata.csv")
    for sub in ("mel", "vae"):
        print(
            f"tts-eval dir {out / sub / 'wavs'} --metadata {out / sub / 'metadata.csv'} "
            f"--reference {heldout / 'wavs'} --json {out / sub}.json --markdown {out / sub}.md"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
