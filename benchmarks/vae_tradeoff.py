"""Mel VAE trade-off: latent channels C and downsampling r vs reconstruction and training speed.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/vae_tradeoff.py --data data/synthetic-prepared
    python benchmarks/vae_tradeoff.py --wavs data/synthetic/wavs --utterances 300 --steps 200

Every configuration trains from the same seed on the same batches (``--batch`` random crops of
``--segment`` mel frames, AdamW, constant LR after a short warm-up) for ``--steps`` steps, then
reports the validation reconstruction L1 in log-mel units (posterior mean, whole held-out
utterances), the KL per latent element and training steps/s. Mels come from a prepared data
folder (``tts-train prepare``) or, before one exists, straight from a folder of wavs (log-mels
computed with ``tts.audio``; every 10th file held out).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from tts.models.vae.mel_vae import MelVAE, MelVAEConfig, vae_loss


def load_mels(args: argparse.Namespace) -> tuple[list[torch.Tensor], list[torch.Tensor], str]:
    """``(train mels, val mels, description)``; each mel ``(80, T)`` raw log-mel."""
    if args.data and (Path(args.data) / "manifest.json").is_file():
        from tts.data.manifest import load_manifest

        m = load_manifest(args.data)
        rows = m.rows("train")[: args.utterances]
        val_rows = m.rows("val")[: args.val_utterances]
        train = [torch.from_numpy(np.load(m.path(r["mel"]))) for r in rows]
        val = [torch.from_numpy(np.load(m.path(r["mel"]))) for r in val_rows]
        return train, val, f"prepared folder {args.data}"
    if not args.wavs:
        raise SystemExit(f"no prepared folder at {args.data!r}; give --wavs DIR to compute mels from wavs")
    from tts.audio import load_audio, log_mel

    files = sorted(Path(args.wavs).glob("*.wav"))[: args.utterances + args.val_utterances]
    if len(files) < 20:
        raise SystemExit(f"{args.wavs}: need at least 20 wavs, found {len(files)}")
    mels = [log_mel(load_audio(f, 22050)[0]) for f in files]
    val = mels[::10][: args.val_utterances]
    train = [m for i, m in enumerate(mels) if i % 10]
    return train, val, f"{len(files)} wavs from {args.wavs}"


def batches(train: list[torch.Tensor], n: int, batch: int, segment: int, seed: int):
    """The same ``n`` batches of random crops for every configuration."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        idx = torch.randint(len(train), (batch,), generator=g)
        out = torch.full((batch, 80, segment), -11.5)
        lengths = []
        for j, i in enumerate(idx.tolist()):
            mel = train[i]
            start = int(torch.randint(max(1, mel.shape[1] - segment + 1), (), generator=g))
            crop = mel[:, start : start + segment]
            out[j, :, : crop.shape[1]] = crop
            lengths.append(crop.shape[1])
        yield out, torch.tensor(lengths)


@torch.no_grad()
def evaluate(vae: MelVAE, val: list[torch.Tensor]) -> tuple[float, float, float]:
    """``(L1 in log-mel units, KL per latent element, posterior std / std of posterior means)``; the
    last is the noise the decoder learned to tolerate, in units of the scaled (unit-variance) latent."""
    vae.eval()
    err = kl = frames = 0.0
    means, stds = [], []
    for mel in val:
        recon, mean, logvar = vae(mel[None], torch.tensor([mel.shape[1]]))
        err += float((recon - mel[None]).abs().sum())
        frames += mel.numel()
        kl += float((0.5 * (mean.square() + logvar.exp() - 1 - logvar)).sum())
        means.append(mean.flatten())
        stds.append(torch.exp(0.5 * logvar).flatten())
    vae.train()
    means_, stds_ = torch.cat(means), torch.cat(stds)
    return err / frames, kl / means_.numel(), float(stds_.mean() / means_.std())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/synthetic-prepared")
    p.add_argument("--wavs", default=None)
    p.add_argument("--utterances", type=int, default=300)
    p.add_argument("--val-utterances", type=int, default=24)
    p.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32])
    p.add_argument("--downsample", type=int, nargs="+", default=[2, 4])
    p.add_argument("--hidden", type=int, default=MelVAEConfig.hidden_channels)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--segment", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    train, val, where = load_mels(args)
    cat = torch.cat(train, dim=1)
    mean, std = cat.mean(dim=1), cat.std(dim=1).clamp(min=1e-3)
    print(
        f"data: {where}; {len(train)} train / {len(val)} val utterances; {args.steps} steps of "
        f"{args.batch}×{args.segment} frames, lr {args.lr}, {args.threads} thread(s)"
    )
    print(f"{'C':>3} {'r':>2} {'params':>8} {'steps/s':>8}", end="")
    print(f" {'val L1 (log-mel)':>17} {'KL/elem':>8} {'σ_post':>7}")
    for r in args.downsample:
        for c in args.channels:
            torch.manual_seed(0)
            cfg = MelVAEConfig(latent_channels=c, downsample=r, hidden_channels=args.hidden)
            vae = MelVAE(cfg)
            vae.set_mel_stats(mean, std)
            opt = torch.optim.AdamW(vae.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.01)
            t0 = time.perf_counter()
            for step, (mels, lengths) in enumerate(batches(train, args.steps, args.batch, args.segment, 1)):
                for group in opt.param_groups:
                    group["lr"] = args.lr * min(1.0, (step + 1) / 20)
                recon, mu, logvar = vae(mels, lengths)
                loss = vae_loss(cfg, recon, mels, mu, logvar, vae.mel_std, lengths)["loss"]
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
                opt.step()
            speed = args.steps / (time.perf_counter() - t0)
            l1, kl, noise = evaluate(vae, val)
            n = sum(q.numel() for q in vae.parameters()) / 1e6
            print(f"{c:>3} {r:>2} {n:>7.2f}M {speed:>8.2f} {l1:>17.4f} {kl:>8.3f} {noise:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
