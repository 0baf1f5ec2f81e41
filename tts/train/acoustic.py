"""``tts-train acoustic``: train the phoneme encoder + durations + latent flow-matching decoder.

Reads a prepared data folder whose VAE latents were cached by ``tts-train latents``
(``DATA/latents/ID.npy``, ``(C, T_lat)``, plus ``DATA/latents/info.json``), batches utterances by
mel frames, and trains :class:`~tts.models.acoustic.AcousticModel` with an EMA copy that is exported for
inference (kind ``"acoustic"``). Alignment needs no external aligner: MAS inside the model.

    tts-train acoustic --data DATA --run-dir runs/acoustic --config recipes/.../acoustic.toml [--vae VAE]
"""

from __future__ import annotations

import argparse
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from tts.core.config import from_dict, override, to_dict
from tts.models.acoustic import AcousticConfig, AcousticModel, load_acoustic
from tts.models.checkpoint import CheckpointError, load_weights, save_weights
from tts.models.encoder.duration import durations_from_log
from tts.models.nn import length_mask
from tts.train.task import Batch, TrainTask

__all__ = ["AcousticDataConfig", "AcousticTask", "add_arguments", "load_acoustic", "run"]

log = logging.getLogger(__name__)

STAGE_TABLES = ("model", "data", "train")
#: Fields of AcousticConfig that the data decides (tokenizer, speakers, cached latents).
DATA_FIELDS = ("n_symbols", "n_speakers", "latent_channels")
#: Stage defaults under the recipe's ``[train]`` table.
DEFAULT_TRAIN = {"max_steps": 200_000, "lr": 2e-4, "betas": (0.9, 0.99), "warmup_steps": 1000}


@dataclass(frozen=True)
class AcousticDataConfig:
    """Data options of the acoustic stage (the ``[data]`` table of a stage TOML)."""

    max_frames: int = 6000  #: padded mel frames per training batch (length-bucketed)
    val_max_frames: int = 12000  #: padded mel frames per validation batch
    add_blank: bool = False  #: intersperse blank ids (see docs/acoustic.md: off at latent rates)
    media_items: int = 2  #: validation utterances drawn in TensorBoard

    def __post_init__(self) -> None:
        if self.max_frames < 1 or self.val_max_frames < 1 or self.media_items < 0:
            raise ValueError("AcousticDataConfig: max_frames/val_max_frames must be >= 1, media_items >= 0")


class _Alignable(Dataset):
    """The items of a ``TTSDataset`` that MAS can align (at least one latent frame per token)."""

    def __init__(self, dataset: Any, downsample: int) -> None:
        self.dataset = dataset
        tok = [len(t) for t in dataset._tokens]
        frames = [math.ceil(n / downsample) for n in dataset.lengths]
        self.index = [i for i, (n, t) in enumerate(zip(tok, frames)) if t >= n]
        self.dropped = len(dataset) - len(self.index)

    @property
    def lengths(self) -> list[int]:
        full = self.dataset.lengths
        return [full[i] for i in self.index]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.dataset[self.index[i]]


def _unwrap(module: nn.Module) -> AcousticModel:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module  # type: ignore[return-value]


def _image(x: torch.Tensor) -> torch.Tensor:
    """(H, W) -> (H, W) in [0, 1], row 0 at the bottom when shown."""
    x = x.detach().float().cpu()
    lo, hi = float(x.min()), float(x.max())
    return ((x - lo) / max(hi - lo, 1e-5)).clamp(0, 1).flip(0)


class AcousticTask(TrainTask):
    """The acoustic stage on a prepared data folder with cached latents."""

    name = "acoustic"

    def __init__(
        self,
        data_dir: str | Path,
        model_overrides: dict[str, Any] | None = None,
        data_cfg: AcousticDataConfig | None = None,
        vae: str | Path | None = None,
        *,
        init_across_vaes: bool = False,
    ) -> None:
        from tts.data.manifest import load_manifest
        from tts.train.latents import check_latent_cache

        self.data_dir = Path(data_dir)
        self.data_cfg = data_cfg or AcousticDataConfig()
        self.manifest = load_manifest(self.data_dir)
        # Refuses an incomplete cache, or one made by another VAE than ``vae``.
        self.latents = check_latent_cache(self.data_dir, vae)
        missing = [k for k in ("latent_channels", "downsample") if k not in self.latents]
        if missing:
            raise ValueError(f"{self.data_dir}/latents/info.json lacks {missing}; re-run `tts-train latents`")
        facts = {
            "n_symbols": len(self.manifest.tokenizer),
            "n_speakers": max(1, len(self.manifest.speakers)),
            "latent_channels": self.latents["latent_channels"],
        }
        overrides = dict(model_overrides or {})
        clash = {k: (overrides[k], v) for k, v in facts.items() if k in overrides and overrides[k] != v}
        if clash:
            raise ValueError(f"[model] options disagree with the data (config, data): {clash}")
        self.model_cfg = override(AcousticConfig(**facts), overrides)
        self.vae_path = Path(vae) if vae is not None else None
        self.init_across_vaes = init_across_vaes
        self.vae_sha256: str | None = self.latents.get("vae_sha256")
        self._vae: nn.Module | None = None
        self._datasets: dict[str, Any] = {}

    # -- data -----------------------------------------------------------------------------------

    def _dataset(self, split: str) -> _Alignable:
        from tts.data.dataset import TTSDataset

        if split not in self._datasets:
            full = TTSDataset(self.data_dir, split, with_latents=True, add_blank=self.data_cfg.add_blank)
            ds = _Alignable(full, self.latents["downsample"])
            if ds.dropped:
                log.warning(
                    "%s: %d of %d %s utterances have fewer latent frames than tokens; left out",
                    self.data_dir,
                    ds.dropped,
                    len(full),
                    split,
                )
            self._datasets[split] = ds
        return self._datasets[split]

    def train_dataset(self) -> Dataset:
        ds = self._dataset("train")
        if len(ds) == 0:
            raise ValueError(f"{self.data_dir}: no alignable utterance in the train split")
        return ds

    def val_dataset(self) -> Dataset | None:
        ds = self._dataset("val")
        return ds if len(ds) else None

    def batch_sampler(self, dataset, *, rank: int, world_size: int, seed: int, epoch: int, train: bool):
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
        keys = ("tokens", "token_lengths", "latents", "latent_lengths", "speakers")
        return {k: batch[k].to(device, non_blocking=True) for k in keys}

    # -- model ----------------------------------------------------------------------------------

    def build_modules(self) -> dict[str, nn.Module]:
        return {"acoustic": AcousticModel(self.model_cfg)}

    def ema_modules(self) -> tuple[str, ...]:
        return ("acoustic",)

    @staticmethod
    def _forward(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        return model(
            batch["tokens"],
            batch["token_lengths"],
            batch["latents"],
            batch["latent_lengths"],
            batch["speakers"],
        )

    def training_step(self, modules: dict[str, nn.Module], batch: Batch, step: int):
        out = self._forward(modules["acoustic"], batch)
        logs = {f"train/{k}": out[k] for k in ("prior_loss", "duration_loss", "diffusion_loss")}
        yield "acoustic", out["loss"], logs

    def validation_step(self, modules: dict[str, nn.Module], batch: Batch) -> dict[str, float]:
        model = _unwrap(modules["acoustic"])
        out = self._forward(model, batch)
        metrics = {k: float(out[k]) for k in ("loss", "prior_loss", "duration_loss", "diffusion_loss")}
        mask = length_mask(batch["token_lengths"], batch["tokens"].shape[1], torch.bool)[:, 0]
        pred = durations_from_log(out["log_durations"], mask, 1.0, model.cfg.duration.rounding)
        mas = out["durations"]
        metrics["duration_mae_frames"] = float((pred - mas).abs()[mask].float().mean())
        metrics["length_ratio"] = float((pred.sum(1).float() / mas.sum(1).float()).mean())
        return metrics

    def log_media(self, writer: Any, modules: dict[str, nn.Module], batch: Batch, step: int) -> None:
        model = _unwrap(modules["acoustic"])
        n = min(self.data_cfg.media_items, batch["tokens"].shape[0])
        if n == 0:
            return
        sub = {k: v[:n] for k, v in batch.items()}
        out = self._forward(model, sub)
        gen = torch.Generator(device=sub["tokens"].device).manual_seed(0)
        # Ground-truth (MAS) durations so generated and target latents line up frame by frame.
        syn = model.synthesize(
            sub["tokens"], sub["token_lengths"], sub["speakers"], durations=out["durations"], generator=gen
        )
        vae = self._load_vae(sub["latents"].device)
        for i in range(n):
            n_tok, t = int(sub["token_lengths"][i]), int(sub["latent_lengths"][i])
            writer.add_image(
                f"acoustic/alignment_{i}", _image(out["attn"][i, :n_tok, :t]), step, dataformats="HW"
            )
            target, prior, pred = (
                sub["latents"][i, :, :t],
                out["mu_expanded"][i, :, :t],
                syn["latents"][i, :, :t],
            )
            # target above mu_expanded above the generated latent
            writer.add_image(
                f"acoustic/latent_{i}", _image(torch.cat([pred, prior, target])), step, dataformats="HW"
            )
            if vae is not None:
                lengths = torch.tensor([t], device=target.device)
                mels = [vae.decode(z[None], lengths)[0][0] for z in (pred, target)]
                writer.add_image(f"acoustic/mel_{i}", _image(torch.cat(mels)), step, dataformats="HW")

    def _load_vae(self, device: torch.device) -> nn.Module | None:
        if self.vae_path is None:
            return None
        if self._vae is None:
            from tts.models.vae.mel_vae import load_vae

            self._vae = load_vae(self.vae_path, device).eval()
        return self._vae

    def metadata(self) -> dict[str, Any]:
        return {
            "model": to_dict(self.model_cfg),
            "data": to_dict(self.data_cfg),
            "audio": to_dict(self.manifest.audio),
            "tokenizer": self.manifest.tokenizer.to_dict(),
            "speakers": list(self.manifest.speakers),
            "add_blank": self.data_cfg.add_blank,
            "latents": self.latents,
            "vae_sha256": self.vae_sha256,
        }

    # -- inference weights ------------------------------------------------------------------------

    def export(self, modules: dict[str, nn.Module], path: str, step: int) -> None:
        model = _unwrap(modules["acoustic"])
        tok = self.manifest.tokenizer.to_dict()
        meta = {
            "symbols": tok,
            "tokenizer": tok,  # the name the voice loader reads
            "speakers": list(self.manifest.speakers),
            "languages": dict(self.manifest.languages),  # speaker -> the language of its phonemes
            "add_blank": self.data_cfg.add_blank,
            "audio": to_dict(self.manifest.audio),
            "latent_downsample": self.latents["downsample"],
            "vae_sha256": self.vae_sha256,
            "step": step,
        }
        save_weights(path, model.state_dict(), "acoustic", to_dict(model.cfg), meta)

    def load_pretrained(self, modules: dict[str, nn.Module], path: str) -> None:
        """Warm start (fine-tuning) from exported weights of the same architecture and symbol table.

        Speakers are matched by name: rows of known speakers are copied, new speakers start fresh.
        """
        tensors, config, meta = load_weights(path, "acoustic")
        try:
            theirs = from_dict(AcousticConfig, config)
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: acoustic config does not fit this version: {e}") from e
        mine = self.model_cfg
        for key in ("encoder", "duration", "decoder", "latent_channels", "speaker_dim", "n_symbols"):
            if getattr(mine, key) != getattr(theirs, key):
                raise CheckpointError(
                    f"{path}: {key} differs (file {getattr(theirs, key)}, config {getattr(mine, key)})"
                )
        file_tok = meta.get("tokenizer") or meta.get("symbols")
        if file_tok is not None and file_tok.get("symbols") != self.manifest.tokenizer.to_dict().get(
            "symbols"
        ):
            raise CheckpointError(f"{path}: trained with a different symbol table than {self.data_dir}")
        theirs_vae, mine_vae = meta.get("vae_sha256"), self.vae_sha256
        if theirs_vae and mine_vae and theirs_vae != mine_vae and not self.init_across_vaes:
            # its decoder predicts another VAE's latents: fine-tuning would start from a wrong target
            raise CheckpointError(
                f"{path}: trained on latents of another VAE (sha256 {theirs_vae[:12]}) than the cache in "
                f"{self.data_dir}/latents ({mine_vae[:12]}); re-cache the latents with that VAE, or pass "
                "--init-across-vaes to warm-start anyway (after a VAE fine-tune: the decoder re-learns)"
            )
        model = _unwrap(modules["acoustic"])
        state = model.state_dict()
        emb = tensors.pop("speaker_emb.weight", None)
        if emb is not None and "speaker_emb.weight" in state:
            old = [str(s) for s in meta.get("speakers", [])]
            for row, name in enumerate(self.manifest.speakers):
                if name in old and old.index(name) < emb.shape[0]:
                    state["speaker_emb.weight"][row] = emb[old.index(name)]
        for key, value in tensors.items():
            if key in state:
                if state[key].shape != value.shape:
                    raise CheckpointError(
                        f"{path}: {key} has shape {tuple(value.shape)}, expected {tuple(state[key].shape)}"
                    )
                state[key] = value
        missing = sorted(k for k in state if k not in tensors and k != "speaker_emb.weight")
        if missing:
            log.warning(
                "%s: %d tensors not in the file start fresh (e.g. %s)", path, len(missing), missing[0]
            )
        model.load_state_dict(state)


# ------------------------------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tts.train.config import add_train_arguments

    parser.add_argument(
        "--data", required=True, metavar="DIR", help="prepared data folder with cached latents"
    )
    parser.add_argument(
        "--vae",
        metavar="FILE",
        help="the VAE (.safetensors) the latents came from: decoded "
        "mel images in TensorBoard and its hash checked and stored",
    )
    parser.add_argument(
        "--init-across-vaes",
        action="store_true",
        help="let --init-from weights trained on another VAE's latents warm-start this run (after a "
        "VAE fine-tune moved the latent space: text encoder and durations carry over, the decoder re-learns)",
    )
    add_train_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tts.train.config import TrainConfig, load_stage_config
    from tts.train.loop import train_from_args

    stage = load_stage_config(args)
    unknown = sorted(set(stage) - set(STAGE_TABLES))
    if unknown:
        raise ValueError(
            f"{args.config}: unknown table(s) {unknown}; an acoustic recipe has {list(STAGE_TABLES)}"
        )
    data_cfg = override(AcousticDataConfig(), stage.get("data"))
    task = AcousticTask(
        args.data, stage.get("model"), data_cfg, vae=args.vae, init_across_vaes=args.init_across_vaes
    )
    metrics = train_from_args(task, args, override(TrainConfig(), DEFAULT_TRAIN))
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()) if k.startswith(("val/", "step")))
    print(f"acoustic: {shown}; inference weights in {Path(args.run_dir) / 'export.safetensors'}")
    return 0
