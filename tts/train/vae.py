"""``tts-train vae``: train the mel VAE (first model stage; frozen afterwards).

Loss: masked L1 reconstruction in normalised-mel space + ``kl_weight`` · KL (see
:func:`tts.models.vae.mel_vae.vae_loss`). On CPU the default trains on random crops of ``segment_frames``
mel frames (the conv stacks see a few dozen frames, so crops lose nothing and give each batch
many utterances); on GPU, or with ``segment_frames = 0``, on whole utterances bucketed by frames.
The exported file holds the EMA weights, the mel statistics and ``latent_scale``, recomputed at
every export from ``scale_utterances`` training utterances so it always matches the weights.

``--decoder-only`` (with ``--init-from VAE``) fine-tunes the decoder of a trained VAE with its
encoder frozen: the latents — and so the cached latents and every acoustic model trained on them —
stay valid. The export keeps the file's ``latent_scale`` and records the latent space it decodes as
``latent_space_sha256`` (the original file's hash), which the voice loader accepts in place of the
VAE hash an acoustic model recorded.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tts.core.config import override, to_dict
from tts.models.checkpoint import CheckpointError, load_weights, save_weights
from tts.models.vae.mel_vae import MelVAE, MelVAEConfig, config_from_file, vae_loss, vae_tensors
from tts.train.task import Batch, TrainTask

STAGE_TABLES = ("model", "data", "train")


@dataclass(frozen=True)
class VAEDataConfig:
    """Data options of the VAE stage (the ``[data]`` table of a stage TOML)."""

    segment_frames: int = 128  #: >0: train on random crops this long (``TrainConfig.batch_size`` per batch)
    max_frames: int = 8000  #: padded mel frames per batch when training on whole utterances
    val_max_frames: int = 16000  #: padded mel frames per validation batch
    scale_utterances: int = 256  #: training utterances whose posterior means set ``latent_scale``
    media_items: int = 2  #: validation utterances drawn (original vs reconstruction) in TensorBoard

    def __post_init__(self) -> None:
        if self.segment_frames < 0:
            raise ValueError(f"VAEDataConfig.segment_frames must be ≥ 0, got {self.segment_frames}")
        for name in ("max_frames", "val_max_frames", "scale_utterances"):
            if getattr(self, name) < 1:
                raise ValueError(f"VAEDataConfig.{name} must be ≥ 1, got {getattr(self, name)}")


def _unwrap(module: nn.Module) -> MelVAE:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module  # type: ignore[return-value]


def random_crop(mels: torch.Tensor, lengths: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop every item to a random window of ``size`` valid frames (shorter items are kept whole).

    ``mels: (B, M, T) -> (B, M, min(T, size))``, ``lengths -> min(lengths, size)``. Offsets come
    from torch's global CPU generator, which the training loop seeds per rank and restores on resume.
    """
    b, m, t = mels.shape
    if t <= size:
        return mels, lengths
    room = (lengths.cpu() - size).clamp(min=0)
    start = (torch.rand(b) * (room + 1).float()).long().clamp(max=room)
    idx = (start[:, None] + torch.arange(size)[None, :]).clamp(max=t - 1).to(mels.device)
    return mels.gather(2, idx[:, None, :].expand(b, m, size)), lengths.clamp(max=size)


class VAETask(TrainTask):
    """The mel VAE stage on a prepared data folder (``TTSDataset`` + ``collate_tts``)."""

    name = "vae"

    def __init__(
        self,
        data_dir: str | Path,
        model_cfg: MelVAEConfig | None = None,
        data_cfg: VAEDataConfig | None = None,
        decoder_only_from: str | Path | None = None,
    ) -> None:
        from tts.data.manifest import load_manifest

        self.data_dir = Path(data_dir)
        #: decoder-only fine-tuning: (latent_scale, latent_space_sha256) of the VAE it starts from
        self.frozen_latents: tuple[float, str] | None = None
        if decoder_only_from is not None:
            from tts.core.files import file_sha256

            _, _, meta = load_weights(decoder_only_from, "vae")
            if "latent_scale" not in meta:
                raise CheckpointError(f"{decoder_only_from}: no latent_scale in its metadata")
            space = meta.get("latent_space_sha256") or file_sha256(decoder_only_from)
            self.frozen_latents = (float(meta["latent_scale"]), str(space))
        self.model_cfg = model_cfg or MelVAEConfig()
        self.data_cfg = data_cfg or VAEDataConfig()
        self.manifest = load_manifest(self.data_dir)
        if self.manifest.audio.n_mels != self.model_cfg.n_mels:
            raise ValueError(
                f"{self.data_dir} has {self.manifest.audio.n_mels}-bin mels but MelVAEConfig.n_mels is "
                f"{self.model_cfg.n_mels}"
            )
        self._datasets: dict[str, Any] = {}

    # -- data -----------------------------------------------------------------------------------

    def _dataset(self, split: str):
        from tts.data.dataset import TTSDataset

        if split not in self._datasets:
            self._datasets[split] = TTSDataset(self.data_dir, split)
        return self._datasets[split]

    def train_dataset(self):
        ds = self._dataset("train")
        if len(ds) == 0:
            raise ValueError(f"{self.data_dir}: the train split is empty")
        return ds

    def val_dataset(self):
        ds = self._dataset("val")
        return ds if len(ds) else None

    def batch_sampler(self, dataset, *, rank: int, world_size: int, seed: int, epoch: int, train: bool):
        if train and self.data_cfg.segment_frames > 0:
            return None  # fixed-size crops: plain batches of TrainConfig.batch_size
        from tts.data.sampler import FrameBucketSampler

        max_frames = self.data_cfg.max_frames if train else self.data_cfg.val_max_frames
        return FrameBucketSampler(
            dataset.lengths,
            max_frames,
            rank=rank,
            world_size=world_size,
            seed=seed,
            epoch=epoch,
            shuffle=train,
        )

    def collate_fn(self):
        from tts.data.collate import collate_tts

        return collate_tts

    def device_transfer(self, batch: Batch, device: torch.device) -> Batch:
        # the VAE needs only the mels; skip moving tokens etc.
        return {
            "mels": batch["mels"].to(device, non_blocking=True),
            "mel_lengths": batch["mel_lengths"].to(device),
        }

    # -- model ----------------------------------------------------------------------------------

    def build_modules(self) -> dict[str, nn.Module]:
        vae = MelVAE(self.model_cfg)
        vae.set_mel_stats(self.manifest.mel_mean, self.manifest.mel_std)
        if self.frozen_latents is not None:
            vae.encoder.requires_grad_(False)  # AdamW, clipping and DDP skip parameters without grads
        return {"vae": vae}

    def ema_modules(self) -> tuple[str, ...]:
        return ("vae",)

    def training_step(self, modules: dict[str, nn.Module], batch: Batch, step: int):
        mels, lengths = batch["mels"], batch["mel_lengths"]
        if self.data_cfg.segment_frames > 0:
            mels, lengths = random_crop(mels, lengths, self.data_cfg.segment_frames)
        recon, mean, logvar = modules["vae"](mels, lengths)
        out = vae_loss(self.model_cfg, recon, mels, mean, logvar, _unwrap(modules["vae"]).mel_std, lengths)
        logs = {f"train/{k}": v.detach() for k, v in out.items() if k != "loss"}
        yield "vae", out["loss"], logs

    @torch.no_grad()
    def validation_step(self, modules: dict[str, nn.Module], batch: Batch) -> dict[str, float]:
        vae = _unwrap(modules["vae"])
        mels, lengths = batch["mels"], batch["mel_lengths"]
        recon, mean, logvar = vae(mels, lengths, sample=False)
        out = vae_loss(self.model_cfg, recon, mels, mean, logvar, vae.mel_std, lengths)
        return {k: float(out[k]) for k in ("recon_l1_logmel", "recon_l1", "kl")}

    def log_media(self, writer: Any, modules: dict[str, nn.Module], batch: Batch, step: int) -> None:
        vae = _unwrap(modules["vae"])
        mels, lengths = batch["mels"], batch["mel_lengths"]
        n = min(self.data_cfg.media_items, mels.shape[0])
        with torch.no_grad():
            recon, _, _ = vae(mels[:n], lengths[:n], sample=False)
        for i in range(n):
            t = int(lengths[i])
            pair = torch.cat([mels[i, :, :t], recon[i, :, :t]], dim=0).float().cpu()  # original above recon
            lo, hi = float(mels[i, :, :t].min()), float(mels[i, :, :t].max())
            img = ((pair - lo) / max(hi - lo, 1e-5)).clamp(0, 1).flip(0)  # low bins at the bottom
            writer.add_image(f"vae/mel_{i}", img, step, dataformats="HW")

    def metadata(self) -> dict[str, Any]:
        return {
            "model": to_dict(self.model_cfg),
            "data": to_dict(self.data_cfg),
            "audio": to_dict(self.manifest.audio),
            "mel_mean": self.manifest.mel_mean.tolist(),
            "mel_std": self.manifest.mel_std.tolist(),
        }

    # -- inference weights ------------------------------------------------------------------------

    def _scale_batches(self, batch_size: int = 16):
        """Mel batches of ``scale_utterances`` training items spread evenly over the split (sorted by
        length to limit padding); deterministic, so every export measures the same utterances."""
        from tts.data.collate import collate_tts

        ds = self._dataset("train")
        n = len(ds)
        k = min(n, self.data_cfg.scale_utterances)
        lengths = ds.lengths
        idx = sorted({i * n // k for i in range(k)}, key=lambda i: lengths[i])
        for s in range(0, len(idx), batch_size):
            batch = collate_tts([ds[i] for i in idx[s : s + batch_size]])
            yield batch["mels"], batch["mel_lengths"]

    def export(self, modules: dict[str, nn.Module], path: str, step: int) -> None:
        vae = _unwrap(modules["vae"])
        meta: dict[str, Any] = {"step": step, "audio": to_dict(self.manifest.audio)}
        if self.frozen_latents is not None:
            scale, meta["latent_space_sha256"] = self.frozen_latents
        else:
            scale = vae.estimate_latent_scale(self._scale_batches())
        meta["latent_scale"] = scale
        save_weights(path, vae_tensors(vae, latent_scale=scale), "vae", to_dict(vae.cfg), meta)

    def load_pretrained(self, modules: dict[str, nn.Module], path: str) -> None:
        """Warm start from an exported VAE with the same architecture (loss weights may differ).
        The file's mel statistics are kept: its weights were learned with that normalisation."""
        tensors, config, _ = load_weights(path, "vae")
        file_cfg = config_from_file(config, path)
        mine, theirs = self.model_cfg.architecture(), file_cfg.architecture()
        if mine != theirs:
            diff = {k: (theirs[k], mine[k]) for k in mine if mine[k] != theirs[k]}
            raise CheckpointError(f"{path}: VAE architecture differs from the config (file, config): {diff}")
        vae = _unwrap(modules["vae"])
        try:
            vae.load_state_dict(tensors)
        except RuntimeError as e:
            raise CheckpointError(f"{path}: weights do not fit the VAE: {e}") from e


# ------------------------------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tts.train.config import add_train_arguments

    parser.add_argument(
        "--data", required=True, metavar="DIR", help="prepared data folder (tts-train prepare)"
    )
    add_train_arguments(parser)
    parser.add_argument(
        "--decoder-only",
        action="store_true",
        help="fine-tune only the decoder of the --init-from VAE (encoder frozen: latents stay valid)",
    )


#: Stage defaults under the recipe's ``[train]`` table (plain AdamW betas suit an auto-encoder).
DEFAULT_TRAIN = {"max_steps": 20_000, "lr": 3e-4, "betas": (0.9, 0.99), "warmup_steps": 500}


def run(args: argparse.Namespace) -> int:
    from tts.train.config import TrainConfig, load_stage_config
    from tts.train.loop import train_from_args

    stage = load_stage_config(args)
    unknown = sorted(set(stage) - set(STAGE_TABLES))
    if unknown:
        raise ValueError(f"{args.config}: unknown table(s) {unknown}; a VAE recipe has {list(STAGE_TABLES)}")
    if args.decoder_only and not args.init_from:
        raise ValueError("--decoder-only fine-tunes a trained VAE: give it with --init-from VAE.safetensors")
    task = VAETask(
        args.data,
        override(MelVAEConfig(), stage.get("model")),
        override(VAEDataConfig(), stage.get("data")),
        decoder_only_from=args.init_from if args.decoder_only else None,
    )
    metrics = train_from_args(task, args, override(TrainConfig(), DEFAULT_TRAIN))
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()) if k.startswith(("val/", "step")))
    print(f"vae: {shown}; inference weights in {Path(args.run_dir) / 'export.safetensors'}")
    return 0
