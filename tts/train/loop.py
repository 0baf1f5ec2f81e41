"""The one training loop shared by every stage (mel VAE, acoustic model, vocoder GAN).

A stage is a :class:`~tts.train.task.TrainTask`; this module owns the generic machinery: one
AdamW per module, warm-up + decay LR, gradient accumulation and clipping, EMA weights, bf16
autocast (CUDA; CPU on request), DDP under ``torchrun``, validation, logging, atomic checkpoints, exact
``resume`` and graceful SIGINT/SIGTERM. Run-dir layout::

    RUN/checkpoints/step_%08d.pt, RUN/checkpoints/last.pt   full training states (rank 0)
    RUN/export.safetensors                                  inference weights via task.export
    RUN/tb/  RUN/train.log  RUN/config.json

The settings (:class:`~tts.train.config.TrainConfig`) and the CLI helpers every stage shares
live in :mod:`tts.train.config` (re-exported here); building the modules, optimisers and EMAs
and saving/restoring checkpoints in :mod:`tts.train.state`. :func:`train_from_args` runs
:func:`train` from those flags.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tts.core.config import to_dict
from tts.train import distributed as D
from tts.train.config import (  # re-exported (__all__): older imports name this module
    TrainConfig,
    add_train_arguments,
    load_stage_config,
    train_config_from_args,
    train_config_from_dict,
)
from tts.train.logger import RunLogger
from tts.train.schedule import lr_factor, set_lr
from tts.train.state import build_training_state, restore_checkpoint, save_checkpoint, write_run_config
from tts.train.task import TrainTask


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
            return torch.autocast(self.ctx.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------------------ run
    def fit(self, *, resume: bool, init_from: str | Path | None) -> dict[str, float]:
        cfg, ctx = self.cfg, self.ctx
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        if ctx.device.type == "cuda":  # TF32 for the fp32 parts (outside autocast): free speed on Ampere+
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        if ctx.device.type == "cuda":
            self._amp = cfg.amp and torch.cuda.is_bf16_supported()
        else:
            self._amp = cfg.amp and cfg.cpu_amp and ctx.device.type == "cpu"
        D.seed_everything(cfg.seed)  # identical initial weights on every rank
        self.raw, self.params, self.optimizers, self.emas = build_training_state(
            self.task, cfg, ctx.device, init_from=None if resume else init_from
        )
        state, rng = self._restore() if resume else (None, None)
        self._resumed = state is not None
        self._wrap()
        self.stream, self.val_loader = D.build_data(
            self.task, self.ctx, batch_size=cfg.batch_size, seed=cfg.seed, num_workers=cfg.num_workers,
            epoch=state["epoch"] if state else 0, position=state["position"] if state else 0,
        )  # fmt: skip
        self.log = RunLogger(self.run_dir, enabled=ctx.is_main, start_step=self.step, max_steps=cfg.max_steps)
        if ctx.is_main:
            write_run_config(
                self.run_dir, task=self.task, cfg=cfg, world_size=ctx.world_size, device=ctx.device,
                step=self.step, resumed=self._resumed, init_from=init_from,
            )  # fmt: skip
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
            path = save_checkpoint(
                self.ckpt_dir, task=self.task, cfg=self.cfg, step=self.step, epoch=self.stream.epoch,
                position=self.stream.position, world_size=self.ctx.world_size, modules=self.raw,
                emas=self.emas, optimizers=self.optimizers, rng=rng,
            )  # fmt: skip
            self.task.export(self._inference_modules(), str(self.run_dir / "export.safetensors"), self.step)
            self.log.info(f"step {self.step}: saved checkpoints/{path.name} and export.safetensors")
            self.log.flush()
        D.barrier(self.ctx)
        self._saved_step = self.step

    def _restore(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Load weights/EMA/optimisers/step from the newest checkpoint; returns it and this rank's RNG."""
        self._resume_path, state = restore_checkpoint(
            self.ckpt_dir, task=self.task, cfg=self.cfg, modules=self.raw, emas=self.emas,
            optimizers=self.optimizers,
        )  # fmt: skip
        self.step = int(state["step"])
        rngs = state.get("rng") or []
        return state, (rngs[self.ctx.rank] if len(rngs) == self.ctx.world_size else None)

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
    :class:`~tts.models.checkpoint.CheckpointError`); ``init_from`` warm-starts a fresh run (and its
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


def train_from_args(task: TrainTask, args: argparse.Namespace, base: TrainConfig) -> dict[str, float]:
    """:func:`train` with everything taken from :func:`add_train_arguments` flags."""
    cfg = train_config_from_args(args, base)
    return train(task, cfg, args.run_dir, resume=args.resume, init_from=args.init_from, device=args.device)


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
