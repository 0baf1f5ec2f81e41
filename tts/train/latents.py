"""``tts-train latents``: cache the trained VAE's latents of every prepared utterance.

Writes ``DATA/latents/ID.npy`` (float32 ``(C, ceil(T / r))``, the scaled posterior mean of
:meth:`tts.models.vae.MelVAE.encode`) for the train and val splits, each file atomically, and
``DATA/latents/info.json`` naming the VAE (SHA-256 of its file), its ``latent_scale``, ``C`` and
``r``. A re-run with the same VAE only encodes what is missing or malformed; a run with another
VAE file re-encodes everything. :func:`check_latent_cache` lets a consumer (the acoustic stage)
refuse an incomplete cache or one made by a different VAE.

Batching is exact: the VAE masks padded frames, so a padded batch gives every item the latent it
would get alone (``tests/test_vae.py`` pins this).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

INFO_FILE = "info.json"
INFO_VERSION = 1


def read_info(data_dir: str | Path) -> dict[str, Any] | None:
    """``DATA/latents/info.json`` as a dict, or ``None`` when absent or unreadable."""
    from tts.data.dataset import LATENT_DIR

    p = Path(data_dir) / LATENT_DIR / INFO_FILE
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def check_latent_cache(data_dir: str | Path, vae_path: str | Path | None = None) -> dict[str, Any]:
    """The cache's ``info.json`` if it is complete (and made with ``vae_path``, when given);
    otherwise a ``ValueError`` saying how to rebuild it."""
    from tts.core.files import file_sha256

    info = read_info(data_dir)
    fix = f"run `tts-train latents --data {data_dir} --vae VAE.safetensors`"
    if info is None or not info.get("complete"):
        raise ValueError(f"{data_dir}: the latent cache is missing or incomplete; {fix}")
    if vae_path is not None and info.get("vae_sha256") != file_sha256(vae_path):
        raise ValueError(f"{data_dir}: the latent cache was made with another VAE than {vae_path}; {fix}")
    return info


def _valid(path: Path, shape: tuple[int, int]) -> bool:
    """An existing latent file with the expected header (reads the header only)."""
    try:
        arr = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return False
    return arr.dtype == np.float32 and arr.shape == shape


def cache_latents(
    data_dir: str | Path,
    vae_path: str | Path,
    *,
    device: str = "cpu",
    max_frames: int = 20000,
    splits: tuple[str, ...] = ("train", "val"),
    force: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Encode every utterance of ``splits`` missing from the cache; returns the final ``info`` dict
    (with ``encoded`` and ``kept`` counts of this run)."""
    import torch

    from tts.core.files import file_sha256
    from tts.data.collate import MEL_PAD_VALUE, pad_stack
    from tts.data.dataset import LATENT_DIR
    from tts.data.manifest import atomic_save_npy, load_manifest, write_json
    from tts.models.checkpoint import CheckpointError
    from tts.models.vae.mel_vae import load_vae

    if max_frames < 1:
        raise ValueError(f"max_frames must be ≥ 1, got {max_frames}")
    data_dir = Path(data_dir)
    manifest = load_manifest(data_dir)
    vae = load_vae(vae_path, device, audio=manifest.audio)
    cfg = vae.cfg
    if cfg.n_mels != manifest.audio.n_mels:
        raise CheckpointError(
            f"{vae_path} expects {cfg.n_mels}-bin mels, {data_dir} has {manifest.audio.n_mels}"
        )
    out_dir = data_dir / LATENT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    info = {
        "format_version": INFO_VERSION,
        "vae": str(Path(vae_path).resolve()),
        "vae_sha256": file_sha256(vae_path),
        "latent_scale": float(vae.latent_scale),
        "latent_channels": cfg.latent_channels,
        "downsample": cfg.downsample,
        "n_mels": cfg.n_mels,
        "complete": False,
    }
    old = read_info(data_dir)
    # Files of unknown provenance (no info, another VAE, a forced run) are all re-encoded; the
    # incomplete info is written first so a killed run never passes for a finished one.
    trust_existing = not force and old is not None and old.get("vae_sha256") == info["vae_sha256"]
    write_json(out_dir / INFO_FILE, info)

    r, c = cfg.downsample, cfg.latent_channels
    todo, kept = [], 0
    for split in splits:
        for row in manifest.rows(split):
            shape = (c, -(-int(row["n_frames"]) // r))
            if trust_existing and _valid(out_dir / f"{row['id']}.npy", shape):
                kept += 1
            else:
                todo.append(row)
    todo.sort(key=lambda row: int(row["n_frames"]))
    batches: list[list[dict[str, Any]]] = []
    cur: list[dict[str, Any]] = []
    for row in todo:  # ascending lengths: the padded size of a batch is len(batch) · its last length
        if cur and (len(cur) + 1) * int(row["n_frames"]) > max_frames:
            batches.append(cur)
            cur = []
        cur.append(row)
    if cur:
        batches.append(cur)

    t0 = time.monotonic()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="utt", desc="latents")
    with torch.inference_mode():
        for rows in batches:
            mels = [np.load(data_dir / row["mel"]) for row in rows]
            for row, mel in zip(rows, mels):
                if mel.shape != (cfg.n_mels, int(row["n_frames"])):
                    raise ValueError(
                        f"{data_dir / row['mel']} has shape {mel.shape}; re-run `tts-train prepare`"
                    )
            mel_batch, lengths = pad_stack([torch.from_numpy(m) for m in mels], MEL_PAD_VALUE)
            z, z_len = vae.encode(mel_batch.to(device), lengths.to(device))
            latents = z.float().cpu().numpy()
            for i, row in enumerate(rows):
                atomic_save_npy(
                    out_dir / f"{row['id']}.npy", np.ascontiguousarray(latents[i, :, : int(z_len[i])])
                )
            if bar is not None:
                bar.update(len(rows))
    if bar is not None:
        bar.close()
    info.update(complete=True, count=kept + len(todo), splits=list(splits))
    write_json(out_dir / INFO_FILE, info)
    return {**info, "encoded": len(todo), "kept": kept, "seconds": time.monotonic() - t0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="DIR", help="prepared data folder")
    parser.add_argument(
        "--vae", required=True, metavar="FILE", help="trained VAE inference weights (RUN/export.safetensors)"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda … (default: cuda when available)")
    parser.add_argument("--max-frames", type=int, default=20000, help="padded mel frames per batch")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = PyTorch default)")
    parser.add_argument("--force", action="store_true", help="re-encode every utterance")


def run(args: argparse.Namespace) -> int:
    import torch

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    info = cache_latents(
        args.data, args.vae, device=device, max_frames=args.max_frames, force=args.force, progress=True
    )
    print(
        f"latents: {info['encoded']} encoded, {info['kept']} already cached ({info['seconds']:.1f} s); "
        f"C={info['latent_channels']}, r={info['downsample']}, latent_scale={info['latent_scale']:.4g} "
        f"-> {Path(args.data) / 'latents'}"
    )
    return 0
