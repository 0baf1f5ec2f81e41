"""The training state of a :func:`tts.train.loop.train` run: built, checkpointed, restored.

:func:`build_training_state` builds a task's modules, one AdamW per trainable module and the EMA
copies. A checkpoint is one ``torch.save`` dict, written atomically (:func:`tts.models.checkpoint.save_state`)
by rank 0 as ``RUN/checkpoints/step_%08d.pt``, with ``last.pt`` pointed at the newest and old
``step_*.pt`` files pruned. Its keys: ``task``, ``step``, ``epoch``, ``position`` (the data
stream's place), ``world_size``, ``modules``, ``ema``, ``optimizers``, ``schedulers`` (the LR,
for inspection only), ``rng`` (one RNG state per process), ``train_config`` and ``metadata``
(``task.metadata()``). ``RUN/config.json`` records how a run was started or resumed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from tts.core.config import to_dict
from tts.models import checkpoint as ckpt_io
from tts.models.checkpoint import CheckpointError
from tts.train.config import TrainConfig
from tts.train.ema import EMA
from tts.train.logger import latest_checkpoint, point_last, prune_checkpoints, write_json
from tts.train.schedule import build_adamw, hyperparameters
from tts.train.task import TrainTask


class TrainingState(NamedTuple):
    """The objects a run trains and checkpoints, built from its task (keyed by module name)."""

    modules: dict[str, nn.Module]
    """``task.build_modules()`` on the device (raw: never DDP-wrapped)."""
    params: dict[str, list[nn.Parameter]]
    """Each module's trainable parameters."""
    optimizers: dict[str, torch.optim.Optimizer]
    """One AdamW per module that has trainable parameters."""
    emas: dict[str, EMA]
    """EMA copies of ``task.ema_modules()``."""


def build_training_state(
    task: TrainTask, cfg: TrainConfig, device: torch.device, *, init_from: str | Path | None
) -> TrainingState:
    """Build the task's modules (warm-started from ``init_from`` when given), optimisers and EMAs.

    Seed the RNGs first: every rank must build identical initial weights.
    """
    raw = task.build_modules()
    if not raw or not all(isinstance(m, nn.Module) for m in raw.values()):
        raise ValueError(f"{task.name}.build_modules() must return a non-empty dict of nn.Module")
    modules = {name: m.to(device) for name, m in raw.items()}
    if init_from is not None:
        task.load_pretrained(modules, str(init_from))
    params = {n: [p for p in m.parameters() if p.requires_grad] for n, m in modules.items()}
    overrides = task.optimizer_overrides()
    unknown = sorted(set(overrides) - set(modules))
    if unknown:
        raise ValueError(f"optimizer_overrides() names unknown modules {unknown}; modules: {sorted(modules)}")
    optimizers: dict[str, torch.optim.Optimizer] = {}
    for name, module in modules.items():
        opt = build_adamw(
            module,
            lr=cfg.lr,
            betas=cfg.betas,
            weight_decay=cfg.weight_decay,
            overrides=overrides.get(name, {}),
        )
        if opt is not None:
            optimizers[name] = opt
            module.train()
    ema_names = tuple(task.ema_modules())
    missing = sorted(set(ema_names) - set(modules))
    if missing:
        raise ValueError(f"ema_modules() names unknown modules {missing}; modules: {sorted(modules)}")
    emas = {name: EMA(modules[name], cfg.ema_decay) for name in ema_names}
    return TrainingState(modules, params, optimizers, emas)


def save_checkpoint(
    ckpt_dir: Path,
    *,
    task: TrainTask,
    cfg: TrainConfig,
    step: int,
    epoch: int,
    position: int,
    world_size: int,
    modules: dict[str, nn.Module],
    emas: dict[str, EMA],
    optimizers: dict[str, torch.optim.Optimizer],
    rng: list[Any],
) -> Path:
    """Write ``step_%08d.pt`` atomically, point ``last.pt`` at it and prune old ones; returns its path.

    ``modules`` are the raw (un-wrapped) training modules; ``rng`` holds every rank's RNG state.
    """
    state = {
        "task": task.name,
        "step": step,
        "epoch": epoch,
        "position": position,
        "world_size": world_size,
        "modules": {n: m.state_dict() for n, m in modules.items()},
        "ema": {n: e.state_dict() for n, e in emas.items()},
        "optimizers": {n: o.state_dict() for n, o in optimizers.items()},
        # the LR is a pure function of the step (tts.train.schedule); kept for inspection
        "schedulers": {n: {"lr": o.param_groups[0]["lr"]} for n, o in optimizers.items()},
        "rng": rng,
        "train_config": to_dict(cfg),
        "metadata": task.metadata(),
    }
    path = ckpt_io.save_state(ckpt_dir / f"step_{step:08d}.pt", state)
    point_last(path)
    prune_checkpoints(ckpt_dir, cfg.keep_checkpoints)
    return path


def restore_checkpoint(
    ckpt_dir: Path,
    *,
    task: TrainTask,
    cfg: TrainConfig,
    modules: dict[str, nn.Module],
    emas: dict[str, EMA],
    optimizers: dict[str, torch.optim.Optimizer],
) -> tuple[Path, dict[str, Any]]:
    """Load weights/EMA/optimisers in place from the newest checkpoint; returns its path and state.

    An EMA that the checkpoint lacks (newly enabled) is replaced in ``emas`` by a fresh copy of
    its module. The current config's LR and weight decay win over the optimisers' saved ones.
    Raises :class:`~tts.models.checkpoint.CheckpointError` when there is no checkpoint or it does not fit.
    """
    path = latest_checkpoint(ckpt_dir)
    if path is None:
        raise CheckpointError(
            f"--resume: no checkpoint in {ckpt_dir}; check --run-dir or start without --resume"
        )
    state = ckpt_io.load_state(path, map_location="cpu")  # load_state_dict moves tensors to the device
    if state.get("task") != task.name:
        raise CheckpointError(f"{path} was written by task {state.get('task')!r}, not {task.name!r}")
    for kind, targets in (("modules", modules), ("optimizers", optimizers)):
        saved = state.get(kind, {})
        if set(saved) != set(targets):
            raise CheckpointError(
                f"{path}: {kind} {sorted(saved)} do not match this task's {sorted(targets)}"
            )
    try:
        for name, module in modules.items():
            module.load_state_dict(state["modules"][name])
        for name, ema in emas.items():
            if name in state.get("ema", {}):
                ema.load_state_dict(state["ema"][name])
            else:  # EMA newly enabled for this module: start it from the weights
                emas[name] = EMA(modules[name], cfg.ema_decay)
        for name, opt in optimizers.items():
            configured = hyperparameters(opt)
            opt.load_state_dict(state["optimizers"][name])
            for group, hp in zip(opt.param_groups, configured):
                group.update(hp)  # the current config's LR/decay win over the saved ones
    except (RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path} does not fit the model built from the current config: {e}") from e
    return path, state


def write_run_config(
    run_dir: Path,
    *,
    task: TrainTask,
    cfg: TrainConfig,
    world_size: int,
    device: torch.device,
    step: int,
    resumed: bool,
    init_from: str | Path | None,
) -> None:
    """Write ``RUN/config.json``: task, settings, metadata, world, and how this run began."""
    info = {
        "task": task.name,
        "train": to_dict(cfg),
        "metadata": task.metadata(),
        "world_size": world_size,
        "device": str(device),
        "resumed_at_step": step if resumed else None,
        "init_from": str(init_from) if init_from and not resumed else None,
        "torch": torch.__version__,
    }
    write_json(run_dir / "config.json", info)


__all__ = [
    "TrainingState",
    "build_training_state",
    "restore_checkpoint",
    "save_checkpoint",
    "write_run_config",
]
