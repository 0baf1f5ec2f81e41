"""The contract between the one training loop (``tts/train/loop.py``) and each stage.

A stage (mel VAE, acoustic model, vocoder) is a :class:`TrainTask`: it owns its models, data and
losses; the loop owns everything generic — optimisers (one AdamW per module), LR schedule,
gradient accumulation and clipping, EMA, AMP, DDP wrapping, validation cadence, TensorBoard,
atomic checkpoints, ``--resume`` and signal handling.

``training_step`` is a generator so adversarial stages fit the same loop: it yields
``(module_name, loss, logs)`` once per optimiser in the order they must be updated. The loop calls
``loss.backward()`` as soon as a loss is yielded, and after the last micro-batch of an accumulation
window steps the optimiser of every module that received gradients. A GAN step therefore reads::

    y_hat = modules["generator"](mel)
    yield "discriminator", d_loss(modules["discriminator"](y, y_hat.detach())), {...}
    yield "generator", g_loss(modules["discriminator"](y, y_hat), ...), {...}

(discriminators take real and fake in one call so DDP sees one forward per backward).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

Batch = dict[str, Any]


class TrainTask(abc.ABC):
    """One training stage. Subclasses set ``name`` and implement the abstract methods."""

    name: str = "task"

    @abc.abstractmethod
    def build_modules(self) -> dict[str, nn.Module]:
        """Fresh trainable modules by name; each gets its own AdamW optimiser."""

    def ema_modules(self) -> tuple[str, ...]:
        """Names of modules that keep an EMA copy (the ones exported for inference)."""
        return ()

    def optimizer_overrides(self) -> dict[str, dict[str, float]]:
        """Per-module AdamW overrides, e.g. ``{"discriminator": {"lr": 1e-4}}``."""
        return {}

    @abc.abstractmethod
    def train_dataset(self) -> Dataset: ...

    def val_dataset(self) -> Dataset | None:
        return None

    def batch_sampler(
        self, dataset: Dataset, *, rank: int, world_size: int, seed: int, epoch: int, train: bool
    ) -> Iterable[list[int]] | None:
        """Optional batch sampler (e.g. length-bucketed by frames); ``None`` = plain batches of
        ``TrainConfig.batch_size`` drawn by a DistributedSampler. Must be deterministic in
        ``(seed, epoch)`` and shard by ``rank``/``world_size``."""
        return None

    def collate_fn(self) -> Callable[[list[Any]], Batch] | None:
        return None

    @abc.abstractmethod
    def training_step(
        self, modules: dict[str, nn.Module], batch: Batch, step: int
    ) -> Iterator[tuple[str, torch.Tensor, dict[str, float]]]:
        """Yield ``(module_name, loss, logs)`` per optimiser, in update order."""

    def validation_step(self, modules: dict[str, nn.Module], batch: Batch) -> dict[str, float]:
        """Scalar metrics for one validation batch (averaged by the loop). Runs under no_grad."""
        return {}

    def log_media(  # noqa: B027 - optional hook, empty by default
        self, writer: Any, modules: dict[str, nn.Module], batch: Batch, step: int
    ) -> None:
        """Optional TensorBoard images/audio for one validation batch (rank 0 only)."""

    def metadata(self) -> dict[str, Any]:
        """JSON-able facts stored in every checkpoint (model config, symbols, mel stats …)."""
        return {}

    @abc.abstractmethod
    def export(self, modules: dict[str, nn.Module], path: str, step: int) -> None:
        """Write inference weights (called with the EMA modules) via
        ``tts.models.checkpoint.save_weights``."""

    def load_pretrained(self, modules: dict[str, nn.Module], path: str) -> None:
        """Warm-start ``modules`` from inference weights written by :meth:`export`."""
        raise NotImplementedError(f"{self.name}: warm start from inference weights is not supported")

    def device_transfer(self, batch: Batch, device: torch.device) -> Batch:
        return {
            k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
            for k, v in batch.items()
        }
