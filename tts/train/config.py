"""Training settings shared by every stage, and the command-line flags that set them.

:class:`TrainConfig` holds the generic optimisation settings of :func:`tts.train.loop.train`
(steps, batch, AdamW, LR schedule, accumulation, clipping, EMA, AMP, logging and checkpoint
intervals). It is serialised into every training checkpoint and ``RUN/config.json``
(:func:`train_config_from_dict` rebuilds it). Values come, in increasing priority, from the
stage's defaults, the ``[train]`` table of a stage TOML (``--config``), then the CLI flags that
:func:`add_train_arguments` adds to every stage (:func:`train_config_from_args`).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Any

from tts.core.config import from_dict, load_toml, override
from tts.train.schedule import LR_DECAYS


@dataclass(frozen=True)
class TrainConfig:
    """Generic optimisation settings; a stage TOML's ``[train]`` table overrides them."""

    max_steps: int = 100_000
    """Optimiser steps to train for; a resumed run continues up to this count."""
    batch_size: int = 16
    """Items per micro-batch per process (ignored when the task supplies a batch sampler)."""
    lr: float = 2e-4
    """Peak AdamW learning rate (per-module overrides come from ``task.optimizer_overrides``)."""
    betas: tuple[float, float] = (0.8, 0.99)
    """AdamW betas."""
    weight_decay: float = 0.01
    """Decoupled weight decay, applied to matrices/kernels only (not biases, gains, embeddings' 1-D)."""
    warmup_steps: int = 1000
    """Linear LR warm-up length in steps."""
    lr_decay: str = "cosine"
    """Decay after warm-up: ``cosine`` | ``exponential`` | ``constant``."""
    min_lr_ratio: float = 0.05
    """Final LR as a fraction of ``lr`` (reached at ``max_steps``)."""
    grad_clip: float = 1.0
    """Max global grad norm per module; 0 disables clipping (the norm is still logged)."""
    grad_accum: int = 1
    """Micro-batches accumulated per optimiser step (effective batch = this × batch × processes)."""
    ema_decay: float = 0.999
    """EMA decay for ``task.ema_modules()`` (ramped up early in training)."""
    amp: bool = True
    """bf16 autocast on CUDA (where the GPU supports bf16)."""
    cpu_amp: bool = False
    """bf16 autocast on CPU too (with ``amp``). Off by default: it pays only where the CPU multiplies
    bf16 natively (AMX or AVX512-BF16; measured in docs/benchmarks.md) and is slower elsewhere. Losses
    and spectral transforms stay fp32 either way."""
    seed: int = 1234
    """Seed for model init, data order and all RNGs."""
    num_workers: int = 0
    """DataLoader worker processes per training process."""
    log_every: int = 50
    """Steps between ``train.log``/TensorBoard lines (averaged over the interval)."""
    val_every: int = 1000
    """Steps between validations (when the task has a validation set)."""
    ckpt_every: int = 1000
    """Steps between checkpoints + exports (one is also written at the end or on a signal)."""
    keep_checkpoints: int = 2
    """Newest ``step_*.pt`` files kept besides ``last.pt``; 0 keeps all."""
    threads: int = 0
    """``torch.set_num_threads`` per process when > 0 (0 leaves PyTorch's default)."""

    def __post_init__(self) -> None:
        positive = ("batch_size", "grad_accum", "log_every", "val_every", "ckpt_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("max_steps", "warmup_steps", "num_workers", "keep_checkpoints", "threads"):
            if getattr(self, name) < 0:
                raise ValueError(f"TrainConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(f"TrainConfig.betas must be two numbers in [0, 1), got {self.betas}")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"TrainConfig.lr_decay must be one of {LR_DECAYS}, got {self.lr_decay!r}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"TrainConfig.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("TrainConfig.weight_decay and grad_clip must be >= 0")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"TrainConfig.ema_decay must be in [0, 1), got {self.ema_decay}")


def add_train_arguments(parser: argparse.ArgumentParser, *, default_run_dir: str | None = None) -> None:
    """The training flags every stage shares (CLI flags win over the TOML ``[train]`` table)."""
    g = parser.add_argument_group("training")
    g.add_argument(
        "--run-dir",
        required=default_run_dir is None,
        default=default_run_dir,
        help="run folder: checkpoints, train.log, tb/, export.safetensors"
        + (f" (default {default_run_dir})" if default_run_dir else ""),
    )
    g.add_argument(
        "--config",
        metavar="TOML",
        help="recipe file: [train] overrides the training settings, [model]/[data] configure the stage",
    )
    g.add_argument("--resume", action="store_true", help="continue exactly from RUN/checkpoints/last.pt")
    g.add_argument("--init-from", metavar="WEIGHTS", help="warm start from inference weights (.safetensors)")
    g.add_argument("--max-steps", type=int, help="optimiser steps to train for")
    g.add_argument("--device", help="cpu, cuda, cuda:1 … (default: the local GPU if any, else cpu)")
    g.add_argument("--threads", type=int, help="torch threads per process (0 = PyTorch default)")
    g.add_argument("--batch-size", type=int, help="items per micro-batch per process")
    g.add_argument("--log-every", type=int, help="steps between log lines")
    g.add_argument("--val-every", type=int, help="steps between validations")
    g.add_argument("--ckpt-every", type=int, help="steps between checkpoints")
    g.add_argument(
        "--cpu-amp",
        action="store_const",
        const=True,
        help="bf16 autocast on CPU (pays on CPUs with AMX or AVX512-BF16, slower elsewhere)",
    )


_FLAG_FIELDS = ("max_steps", "threads", "batch_size", "log_every", "val_every", "ckpt_every", "cpu_amp")


def load_stage_config(args: argparse.Namespace) -> dict[str, Any]:
    """The whole ``--config`` TOML as a dict (``{}`` without one); stages read ``[model]``/``[data]``."""
    path = getattr(args, "config", None)
    return load_toml(path) if path else {}


def train_config_from_args(args: argparse.Namespace, base: TrainConfig) -> TrainConfig:
    """``base`` ← TOML ``[train]`` table ← explicit CLI flags (unknown TOML keys are an error)."""
    table = load_stage_config(args).get("train", {})
    if not isinstance(table, dict):
        raise ValueError(f"{args.config}: [train] must be a table")
    cfg = override(base, table)
    flags = {name: getattr(args, name) for name in _FLAG_FIELDS if getattr(args, name, None) is not None}
    return dataclasses.replace(cfg, **flags) if flags else cfg


def train_config_from_dict(d: dict[str, Any] | None) -> TrainConfig:
    """Rebuild a :class:`TrainConfig` saved in a checkpoint or ``config.json``."""
    return from_dict(TrainConfig, d)


__all__ = [
    "TrainConfig",
    "add_train_arguments",
    "load_stage_config",
    "train_config_from_args",
    "train_config_from_dict",
]
