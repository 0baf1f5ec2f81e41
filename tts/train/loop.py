"""The one training loop shared by every stage (mel VAE, acoustic model, vocoder GAN).

A stage is a :class:`~tts.train.task.TrainTask`; this module owns the generic machinery: one
AdamW per module, warm-up + decay LR, gradient accumulation and clipping, EMA weights, bf16
autocast on CUDA, DDP under ``torchrun``, validation, logging, atomic checkpoints, exact
``resume`` and graceful SIGINT/SIGTERM. Run-dir layout::

    RUN/checkpoints/step_%08d.pt, RUN/checkpoints/last.pt   full training states (rank 0)
    RUN/export.safetensors                                  inference weights via task.export
    RUN/tb/  RUN/train.log  RUN/config.json

CLI helpers (:func:`add_train_arguments`, :func:`train_config_from_args`,
:func:`load_stage_config`) let every stage expose the same flags.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tts import checkpoint as ckpt_io
from tts.checkpoint import CheckpointError
from tts.config import from_dict, load_toml, override, to_dict
from tts.train import distributed as D
from tts.train.ema import EMA
from tts.train.logger import RunLogger, latest_checkpoint, point_last, prune_checkpoints, write_json
from tts.train.schedule import LR_DECAYS, build_adamw, hyperparameters, lr_factor, set_lr
from tts.train.task import TrainTask


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
    """bf16 autocast on CUDA; CPU always trains in fp32."""
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


class _Runner:
    """Everything one :func:`train` call holds: modules, optimisers, EMA, data, logger."""

    def __init__(
        self, task: TrainTask, cfg: TrainConfig, run_dir: Path, device: str | torch.device | None
    ) -> None:
        if not isinstance(task, TrainTask):
            raise TypeError(f"train() needs a TrainTask, got {type(task).__name__}")
        self.task, self.cfg, self.run_dir = task, cfg, run_dir
        self.ckpt_dir = run_dir / "checkpoints"
        self.ctx = D.setup(device)
        self.log = RunLogger(run_dir, enabled=False, start_step=0, max_steps=0)
        self.step = 0
        self.metrics: dict[str, float] = {}
        self._sums: dict[str, Any] = {}
        self._counts: dict[str, int] = {}
        self._nonfinite_run = 0
        self._stop_signal: int | None = None
        self._old_handlers: dict[int, Any] = {}

    # ------------------------------------------------------------------------------ set-up
    def _build(self, init_from: str | Path | None) -> None:
        cfg, dev = self.cfg, self.ctx.device
        D.seed_everything(cfg.seed)  # identical initial weights on every rank
        raw = self.task.build_modules()
        if not raw or not all(isinstance(m, nn.Module) for m in raw.values()):
            raise ValueError(f"{self.task.name}.build_modules() must return a non-empty dict of nn.Module")
        self.raw = {name: m.to(dev) for name, m in raw.items()}
        if init_from is not None:
            self.task.load_pretrained(self.raw, str(init_from))
        self.params = {n: [p for p in m.parameters() if p.requires_grad] for n, m in self.raw.items()}
        overrides = self.task.optimizer_overrides()
        unknown = sorted(set(overrides) - set(self.raw))
        if unknown:
            raise ValueError(
                f"optimizer_overrides() names unknown modules {unknown}; modules: {sorted(self.raw)}"
            )
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        for name, module in self.raw.items():
            opt = build_adamw(
                module,
                lr=cfg.lr,
                betas=cfg.betas,
                weight_decay=cfg.weight_decay,
                overrides=overrides.get(name, {}),
            )
            if opt is not None:
                self.optimizers[name] = opt
                module.train()
        ema_names = tuple(self.task.ema_modules())
        missing = sorted(set(ema_names) - set(self.raw))
        if missing:
            raise ValueError(f"ema_modules() names unknown modules {missing}; modules: {sorted(self.raw)}")
        self.emas = {name: EMA(self.raw[name], cfg.ema_decay) for name in ema_names}

    def _wrap(self) -> None:
        # find_unused_parameters: a task attribute (bool, or a collection of module names) for
        # modules whose forward leaves some parameters out of the loss graph
        unused = getattr(self.task, "find_unused_parameters", False)
        self.modules = {}
        for n, m in self.raw.items():
            find = unused if isinstance(unused, bool) else n in unused
            wrap = n in self.optimizers
            self.modules[n] = D.wrap_ddp(m, self.ctx, find_unused_parameters=find) if wrap else m
        self._ddp = [m for m in self.modules.values() if isinstance(m, nn.parallel.DistributedDataParallel)]

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self._amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------------------ run
    def fit(self, *, resume: bool, init_from: str | Path | None) -> dict[str, float]:
        cfg, ctx = self.cfg, self.ctx
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        if ctx.device.type == "cuda":  # TF32 for the fp32 parts (outside autocast): free speed on Ampere+
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        self._amp = cfg.amp and ctx.device.type == "cuda" and torch.cuda.is_bf16_supported()
        self._build(None if resume else init_from)
        state, rng = self._restore() if resume else (None, None)
        self._resumed = state is not None
        self._wrap()
        self.stream, self.val_loader = D.build_data(
            self.task, self.ctx, batch_size=cfg.batch_size, seed=cfg.seed, num_workers=cfg.num_workers,
            epoch=state["epoch"] if state else 0, position=state["position"] if state else 0,
        )  # fmt: skip
        self.log = RunLogger(self.run_dir, enabled=ctx.is_main, start_step=self.step, max_steps=cfg.max_steps)
        self._write_config(init_from)
        n_params = {n: sum(p.numel() for p in m.parameters()) for n, m in self.raw.items()}
        self.log.info(
            f"{self.task.name}: device {ctx.device}, {torch.get_num_threads()} threads/process, world size "
            f"{ctx.world_size}, amp {'bf16' if self._amp else 'off'}, parameters "
            + ", ".join(f"{n} {c / 1e6:.2f} M" for n, c in n_params.items())
        )
        if state is None:
            if init_from is not None:
                self.log.info(f"warm start from {init_from}")
            D.seed_everything(cfg.seed + 1 + ctx.rank)  # per-rank dropout/augmentation noise
        else:
            where = f"epoch {self.stream.epoch}, batch {self.stream.position}"
            self.log.info(f"resumed at step {self.step} ({where}) from {self._resume_path}")
            old, new = state.get("train_config", {}), to_dict(cfg)
            changed = {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}
            if changed:
                self.log.info(f"training settings changed since the checkpoint (old, new): {changed}")
            if init_from is not None:
                self.log.info(f"--init-from {init_from} ignored: resuming")
            if rng is not None:
                D.restore_rng(rng, ctx.device)
            else:
                self.log.info(
                    f"the checkpoint was written by {len(state.get('rng') or [])} processes, this run has "
                    f"{ctx.world_size}: random streams restart from the seed (not an exact continuation)"
                )
                D.seed_everything(cfg.seed + 1 + ctx.rank + self.step)
        self._install_signal_handlers()
        return self._loop()

    def _loop(self) -> dict[str, float]:
        cfg = self.cfg
        self._val_step = self._logged_step = self.step
        self._saved_step = self.step if self._resumed else -1  # a fresh run always ends with a checkpoint
        self._t_log, t0, step0 = time.monotonic(), time.monotonic(), self.step
        stopped = False
        while self.step < cfg.max_steps:
            self._train_step()
            self.step += 1
            self.log.advance()
            if self.step % cfg.log_every == 0:
                self._log_train()
            if self.val_loader is not None and self.step % cfg.val_every == 0:
                self._validate()
            if self.step % cfg.ckpt_every == 0:
                self._save()
            if D.any_rank(self.ctx, self._stop_signal is not None):
                stopped = True
                break
        if self._logged_step != self.step:
            self._log_train()
        if not stopped and self.val_loader is not None and self._val_step != self.step:
            self._validate()
        if self._saved_step != self.step:
            self._save()
        elapsed = time.monotonic() - t0
        done = self.step - step0
        self.log.info(
            f"{'stopped by signal' if stopped else 'finished'} at step {self.step}: {done} steps in "
            f"{elapsed:.1f} s ({done / max(elapsed, 1e-9):.3f} steps/s)"
            + ("; continue with --resume" if stopped else "")
        )
        return {"step": float(self.step), **self.metrics}

    # ------------------------------------------------------------------------------ one step
    def _train_step(self) -> None:
        cfg = self.cfg
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        updated: set[str] = set()
        for micro in range(cfg.grad_accum):
            batch = self.task.device_transfer(next(self.stream), self.ctx.device)
            with contextlib.ExitStack() as stack:
                if micro < cfg.grad_accum - 1:  # all-reduce gradients once, on the last micro-batch
                    for m in self._ddp:
                        stack.enter_context(m.no_sync())
                updated |= self._micro_step(batch)
        factor = lr_factor(
            self.step,
            warmup_steps=cfg.warmup_steps,
            max_steps=cfg.max_steps,
            decay=cfg.lr_decay,
            min_ratio=cfg.min_lr_ratio,
        )
        skipped = []
        for name, opt in self.optimizers.items():
            params = self.params[name]
            if name not in updated or all(p.grad is None for p in params):
                continue
            lr = set_lr(opt, factor)
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip if cfg.grad_clip > 0 else math.inf)
            self._add(f"lr/{name}", lr)
            if not torch.isfinite(norm):
                skipped.append(name)  # same on every rank: gradients are already all-reduced
                continue
            self._add(f"grad_norm/{name}", norm)
            opt.step()
            if name in self.emas:
                self.emas[name].update(self.raw[name])
        self._nonfinite_run = self._nonfinite_run + 1 if skipped else 0
        if skipped:
            self.log.info(f"step {self.step}: non-finite gradients in {skipped}; update skipped")
            if self._nonfinite_run >= _MAX_NONFINITE_STEPS:
                raise FloatingPointError(
                    f"non-finite gradients for {self._nonfinite_run} steps in a row (step {self.step}); "
                    "lower the learning rate, check the data, or resume from an earlier checkpoint"
                )

    def _micro_step(self, batch: Any) -> set[str]:
        """Run one micro-batch through the task's generator, backpropagating each yielded loss."""
        seen: list[str] = []
        gen = self.task.training_step(self.modules, batch, self.step)
        try:
            while True:
                with self._autocast():
                    try:
                        name, loss, logs = next(gen)
                    except StopIteration:
                        break
                self._check_loss(name, loss, seen)
                (loss.float() / self.cfg.grad_accum).backward()
                seen.append(name)
                if f"loss/{name}" not in logs:
                    self._add(f"loss/{name}", loss.detach())
                for key, value in logs.items():
                    self._add(key, value)
                # Later losses of this micro-batch (the generator loss, which runs through the
                # discriminator) must not leak gradients into a module that already has its own.
                for p in self.params[name]:
                    p.requires_grad_(False)
        finally:
            gen.close()
            for name in seen:
                for p in self.params[name]:
                    p.requires_grad_(True)
        return set(seen)

    def _check_loss(self, name: str, loss: Any, seen: list[str]) -> None:
        where = f"{self.task.name}.training_step"
        if name not in self.optimizers:
            raise ValueError(
                f"{where} yielded a loss for {name!r}, not a trainable module {sorted(self.optimizers)}"
            )
        if name in seen:
            raise ValueError(f"{where} yielded two losses for {name!r} in one step; sum them into one")
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError(f"{where}: the loss for {name!r} must be a scalar tensor")
        if not loss.requires_grad:
            raise ValueError(f"{where}: the loss for {name!r} does not depend on any trainable parameter")

    # ------------------------------------------------------------------------------ logging
    def _add(self, key: str, value: Any) -> None:
        """Accumulate a scalar for the next log line (tensors stay on device: no sync per step)."""
        if isinstance(value, torch.Tensor):
            value = value.detach().float().mean()
        self._sums[key] = self._sums.get(key, 0.0) + value
        self._counts[key] = self._counts.get(key, 0) + 1

    def _log_train(self) -> None:
        local = {k: (float(v), self._counts[k]) for k, v in self._sums.items()}
        self._sums.clear()
        self._counts.clear()
        values = D.mean_over_ranks(self.ctx, local)
        now = time.monotonic()
        rate = (self.step - self._logged_step) / max(now - self._t_log, 1e-9)
        self._t_log, self._logged_step = now, self.step
        self.metrics.update(values)
        self.log.step_line(self.step, self.cfg.max_steps, values, rate)

    # ------------------------------------------------------------------------------ validation
    def _inference_modules(self) -> dict[str, nn.Module]:
        """EMA copies where kept, else the raw (un-wrapped) training modules."""
        return {n: self.emas[n].module if n in self.emas else m for n, m in self.raw.items()}

    def _validate(self) -> None:
        dev, loader = self.ctx.device, self.val_loader
        if loader is None:
            return
        modules = self._inference_modules()
        modes = {n: m.training for n, m in modules.items()}
        rng = D.capture_rng(dev)
        D.seed_everything(self.cfg.seed + 7919)  # same noise every validation; training RNG untouched
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        try:
            for m in modules.values():
                m.eval()
            with torch.no_grad():
                for i, batch in enumerate(loader):
                    batch = self.task.device_transfer(batch, dev)
                    with self._autocast():
                        metrics = self.task.validation_step(modules, batch)
                    for k, v in metrics.items():
                        sums[k] = sums.get(k, 0.0) + float(v)
                        counts[k] = counts.get(k, 0) + 1
                    if i == 0 and self.ctx.is_main and self.log.writer is not None:
                        self._log_media(modules, batch)
        finally:
            D.restore_rng(rng, dev)
            for n, m in modules.items():
                m.train(modes[n])
        local = {k: (sums[k], counts[k]) for k in sums}
        values = {f"val/{k}": v for k, v in D.mean_over_ranks(self.ctx, local).items()}
        self._val_step = self.step
        self.metrics.update(values)
        self.log.val_line(self.step, values)

    def _log_media(self, modules: dict[str, nn.Module], batch: Any) -> None:
        # pictures and audio are a convenience: a failure there must not end a long run
        try:
            self.task.log_media(self.log.writer, modules, batch, self.step)
        except Exception as e:  # any plotting or encoding error
            self.log.info(f"step {self.step}: log_media failed ({type(e).__name__}: {e}); continuing")

    # ------------------------------------------------------------------------------ checkpoints
    def _save(self) -> None:
        """Checkpoint + export on rank 0 (every rank's RNG state included); all ranks wait."""
        rng = D.all_gather_object(self.ctx, D.capture_rng(self.ctx.device))
        if self.ctx.is_main:
            state = {
                "task": self.task.name,
                "step": self.step,
                "epoch": self.stream.epoch,
                "position": self.stream.position,
                "world_size": self.ctx.world_size,
                "modules": {n: m.state_dict() for n, m in self.raw.items()},
                "ema": {n: e.state_dict() for n, e in self.emas.items()},
                "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
                # the LR is a pure function of the step (tts.train.schedule); kept for inspection
                "schedulers": {n: {"lr": o.param_groups[0]["lr"]} for n, o in self.optimizers.items()},
                "rng": rng,
                "train_config": to_dict(self.cfg),
                "metadata": self.task.metadata(),
            }
            path = ckpt_io.save_state(self.ckpt_dir / f"step_{self.step:08d}.pt", state)
            point_last(path)
            prune_checkpoints(self.ckpt_dir, self.cfg.keep_checkpoints)
            self.task.export(self._inference_modules(), str(self.run_dir / "export.safetensors"), self.step)
            self.log.info(f"step {self.step}: saved checkpoints/{path.name} and export.safetensors")
            self.log.flush()
        D.barrier(self.ctx)
        self._saved_step = self.step

    def _restore(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Load weights/EMA/optimisers/step from the newest checkpoint; returns it and this rank's RNG."""
        path = latest_checkpoint(self.ckpt_dir)
        if path is None:
            raise CheckpointError(
                f"--resume: no checkpoint in {self.ckpt_dir}; check --run-dir or start without --resume"
            )
        self._resume_path = path
        state = ckpt_io.load_state(path, map_location="cpu")  # load_state_dict moves tensors to the device
        if state.get("task") != self.task.name:
            raise CheckpointError(f"{path} was written by task {state.get('task')!r}, not {self.task.name!r}")
        for kind, targets in (("modules", self.raw), ("optimizers", self.optimizers)):
            saved = state.get(kind, {})
            if set(saved) != set(targets):
                raise CheckpointError(
                    f"{path}: {kind} {sorted(saved)} do not match this task's {sorted(targets)}"
                )
        try:
            for name, module in self.raw.items():
                module.load_state_dict(state["modules"][name])
            for name, ema in self.emas.items():
                if name in state.get("ema", {}):
                    ema.load_state_dict(state["ema"][name])
                else:  # EMA newly enabled for this module: start it from the weights
                    self.emas[name] = EMA(self.raw[name], self.cfg.ema_decay)
            for name, opt in self.optimizers.items():
                configured = hyperparameters(opt)
                opt.load_state_dict(state["optimizers"][name])
                for group, hp in zip(opt.param_groups, configured):
                    group.update(hp)  # the current config's LR/decay win over the saved ones
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{path} does not fit the model built from the current config: {e}") from e
        self.step = int(state["step"])
        rngs = state.get("rng") or []
        return state, (rngs[self.ctx.rank] if len(rngs) == self.ctx.world_size else None)

    def _write_config(self, init_from: str | Path | None) -> None:
        if self.ctx.is_main:
            info = {
                "task": self.task.name,
                "train": to_dict(self.cfg),
                "metadata": self.task.metadata(),
                "world_size": self.ctx.world_size,
                "device": str(self.ctx.device),
                "resumed_at_step": self.step if self._resumed else None,
                "init_from": str(init_from) if init_from and not self._resumed else None,
                "torch": torch.__version__,
            }
            write_json(self.run_dir / "config.json", info)

    # ------------------------------------------------------------------------------ signals
    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, frame: Any) -> None:
            if self._stop_signal is not None:  # a second signal: stop now, without saving
                raise KeyboardInterrupt
            self._stop_signal = signum
            if self.ctx.is_main:
                print(
                    f"\n{signal.Signals(signum).name}: finishing this step and saving a checkpoint "
                    "(send again to abort without saving)",
                    file=sys.stderr,
                    flush=True,
                )

        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[sig] = signal.signal(sig, handler)

    def close(self) -> None:
        for sig, old in self._old_handlers.items():
            signal.signal(sig, old)
        self._old_handlers.clear()
        self.log.close()


_MAX_NONFINITE_STEPS = 25


def train(
    task: TrainTask,
    cfg: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    init_from: str | Path | None = None,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """Train ``task`` into ``run_dir``; returns the final metrics (``step``, last train averages, ``val/*``).

    ``resume`` continues exactly from ``RUN/checkpoints/last.pt`` (a missing checkpoint is a
    :class:`~tts.checkpoint.CheckpointError`); ``init_from`` warm-starts a fresh run (and its
    EMA) from inference weights through ``task.load_pretrained``. ``device``: ``None``/"auto"
    picks this process's GPU when there is one. Under ``torchrun`` every rank calls this; the
    process group it joins stays up for later calls in the same process and closes at exit.
    """
    runner = _Runner(task, cfg, Path(run_dir), device)
    try:
        return runner.fit(resume=resume, init_from=init_from)
    finally:
        runner.close()


# ------------------------------------------------------------------------------------------ CLI


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


_FLAG_FIELDS = ("max_steps", "threads", "batch_size", "log_every", "val_every", "ckpt_every")


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


def train_from_args(task: TrainTask, args: argparse.Namespace, base: TrainConfig) -> dict[str, float]:
    """:func:`train` with everything taken from :func:`add_train_arguments` flags."""
    cfg = train_config_from_args(args, base)
    return train(task, cfg, args.run_dir, resume=args.resume, init_from=args.init_from, device=args.device)


def train_config_from_dict(d: dict[str, Any] | None) -> TrainConfig:
    """Rebuild a :class:`TrainConfig` saved in a checkpoint or ``config.json``."""
    return from_dict(TrainConfig, d)


__all__ = [
    "TrainConfig",
    "add_train_arguments",
    "load_stage_config",
    "train",
    "train_config_from_args",
    "train_config_from_dict",
    "train_from_args",
    "to_dict",
]
