"""Process group, sharded resumable data, and per-rank RNG state for the training loop.

One command serves one CPU process and a multi-node GPU cluster: under ``torchrun`` the
environment carries ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` and a process group is created (gloo
on CPU, NCCL on CUDA); without it everything degrades to plain single-process calls.
"""

from __future__ import annotations

import atexit
import inspect
import os
import random
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the job."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return default if value in (None, "") else int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def resolve_device(requested: str | torch.device | None, local_rank: int = 0) -> torch.device:
    """``None``/"auto" → CUDA (this process's local GPU) when available, else CPU."""
    if requested is None or str(requested) == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(requested)
    except RuntimeError as e:
        raise ValueError(f"invalid device {requested!r}: {e}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {requested!r} requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


def setup(requested_device: str | torch.device | None = None) -> DistContext:
    """Read the torchrun environment, pick the device and join/create the process group."""
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    device = resolve_device(requested_device, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        # Destroyed at exit, not at the end of train(): a process group cannot be re-created under
        # torchrun's shared store, and one script may train several stages in a row.
        atexit.register(_destroy_group)
    if dist.is_initialized():
        world_size, rank = dist.get_world_size(), dist.get_rank()
    return DistContext(rank, local_rank, world_size, device)


def _destroy_group() -> None:
    """Tear the process group down at exit, all ranks together: a rank that destroys its gloo group
    while a peer is still tearing down its own can abort in the C++ runtime ("terminate called
    without an active exception", seen once under heavy load after a finished run). A monitored
    barrier (gloo) lines the ranks up first; a peer that is gone makes it fail within 60 s, and the
    group is then left to the process exit."""
    if not dist.is_initialized():
        return
    try:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=timedelta(seconds=60))
        dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - a peer is gone: nothing left to synchronise with
        pass


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def all_gather_object(ctx: DistContext, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order."""
    if not ctx.enabled:
        return [obj]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def mean_over_ranks(ctx: DistContext, local: dict[str, tuple[float, int]]) -> dict[str, float]:
    """Merge ``{key: (sum, count)}`` from every rank into ``{key: mean}``.

    Goes through ``all_gather_object`` so ranks may report different keys without deadlocking.
    """
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for part in all_gather_object(ctx, local):
        for k, (s, c) in part.items():
            sums[k] = sums.get(k, 0.0) + s
            counts[k] = counts.get(k, 0) + c
    return {k: sums[k] / counts[k] for k in sorted(sums) if counts[k]}


def any_rank(ctx: DistContext, flag: bool) -> bool:
    """True on every rank when ``flag`` is true on at least one (e.g. a stop signal)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([int(flag)], device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def wrap_ddp(module: nn.Module, ctx: DistContext, *, find_unused_parameters: bool) -> nn.Module:
    """DDP-wrap ``module`` when distributed and it has trainable parameters.

    ``broadcast_buffers=False``: buffers here are constants (mel statistics) or normalisation
    statistics; re-broadcasting them at every forward costs time and breaks modules that are
    run twice per step (a GAN discriminator). Initial buffers are still synced at wrap time.
    """
    if not ctx.enabled or not any(p.requires_grad for p in module.parameters()):
        return module
    ddp = nn.parallel.DistributedDataParallel
    # newer PyTorch renames the option (and keeps the sync at wrap time, which is what we want)
    no_sync = (
        {"forward_sync_buffers": False}
        if "forward_sync_buffers" in inspect.signature(ddp).parameters
        else {"broadcast_buffers": False}
    )
    return ddp(
        module,
        device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None,
        find_unused_parameters=find_unused_parameters,
        **no_sync,
    )


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


# ----------------------------------------------------------------------------------------- RNG


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def capture_rng(device: torch.device) -> dict[str, Any]:
    """Python, NumPy, torch (CPU) and this process's CUDA generator states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu(), device)


# ---------------------------------------------------------------------------------------- data


def default_batches(
    n_items: int, batch_size: int, *, rank: int, world_size: int, seed: int, epoch: int, train: bool
) -> list[list[int]]:
    """This rank's batches of one epoch: a DistributedSampler shard cut into ``batch_size`` chunks.

    Training drops a final short batch (when at least one full batch exists) so every step sees
    the same batch size; every rank gets the same number of batches (the sampler pads).
    """
    sampler = DistributedSampler(
        range(n_items), num_replicas=world_size, rank=rank, shuffle=train, seed=seed, drop_last=False
    )
    sampler.set_epoch(epoch)
    idx = list(sampler)
    batches = [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
    if train and len(batches) > 1 and len(batches[-1]) < batch_size:
        batches.pop()
    return batches


def _worker_init(worker_id: int) -> None:
    # Ctrl-C and a group-wide SIGTERM reach the loader workers too; the main process handles them
    # (finish the step, save) and then shuts its workers down, so they must not die first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class _EpochBatches:
    """A batch sampler whose epoch and start offset the stream sets before each pass."""

    def __init__(self, make_batches: Callable[[int], list[list[int]]]) -> None:
        self.make_batches = make_batches
        self.epoch = 0
        self.start = 0

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.make_batches(self.epoch)[self.start :]


class BatchStream:
    """Endless, resumable stream of collated batches, epoch after epoch.

    Each epoch's batch order is a function of ``(seed, epoch, rank)`` only, and the stream counts
    the batches it has handed out, so ``(epoch, position)`` saved in a checkpoint restarts the
    data exactly where it stopped: the consumed batches of the current epoch are skipped as index
    lists, without loading them. Randomness drawn inside ``Dataset.__getitem__`` is exactly
    reproducible with ``num_workers=0`` (it uses the restored global RNG); with workers, derive
    it from the item index and epoch if exact resume matters.
    """

    def __init__(
        self,
        dataset: Dataset,
        make_batches: Callable[[int], list[list[int]]],
        *,
        collate_fn: Callable[[list[Any]], Any] | None,
        num_workers: int,
        pin_memory: bool,
        seed: int,
        epoch: int = 0,
        position: int = 0,
    ) -> None:
        self._sampler = _EpochBatches(make_batches)
        self.epoch, self.position = epoch, position
        # a private generator: creating a loader iterator must not draw from the global RNG,
        # or a resumed run (which starts mid-epoch) would see a different random stream
        self.loader = DataLoader(
            dataset,
            batch_sampler=self._sampler,
            collate_fn=collate_fn,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=num_workers > 0,
            worker_init_fn=_worker_init,
            generator=torch.Generator().manual_seed(seed),
        )
        self._it: Iterator[Any] | None = None

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Any:
        for _ in range(2):
            if self._it is None:
                self._sampler.epoch, self._sampler.start = self.epoch, self.position
                self._it = iter(self.loader)
            try:
                batch = next(self._it)
            except StopIteration:
                self._it = None
                self.epoch, self.position = self.epoch + 1, 0
                continue
            self.position += 1
            return batch
        raise ValueError(
            f"the training data gives no batches in epoch {self.epoch}: the dataset is empty or "
            "smaller than one batch per process"
        )


def task_batches(
    task: Any, dataset: Dataset, ctx: DistContext, *, batch_size: int, seed: int, epoch: int, train: bool
) -> list[list[int]]:
    """This rank's batches for one epoch: the task's sampler if it has one, else :func:`default_batches`."""
    where = dict(rank=ctx.rank, world_size=ctx.world_size, seed=seed, epoch=epoch, train=train)
    custom = task.batch_sampler(dataset, **where)
    if custom is None:
        return default_batches(len(dataset), batch_size, **where)  # type: ignore[arg-type]
    if hasattr(custom, "set_epoch"):
        custom.set_epoch(epoch)
    return [list(b) for b in custom]


def build_data(
    task: Any, ctx: DistContext, *, batch_size: int, seed: int, num_workers: int, epoch: int, position: int
) -> tuple[BatchStream, DataLoader | None]:
    """The endless training stream (starting at ``epoch``/``position``) and the validation loader."""
    pin = ctx.device.type == "cuda"
    collate = task.collate_fn()
    train_ds = task.train_dataset()

    def epoch_batches(e: int) -> list[list[int]]:
        return task_batches(task, train_ds, ctx, batch_size=batch_size, seed=seed, epoch=e, train=True)

    stream = BatchStream(
        train_ds, epoch_batches, collate_fn=collate, num_workers=num_workers, pin_memory=pin,
        seed=seed + ctx.rank, epoch=epoch, position=position,
    )  # fmt: skip
    val_ds = task.val_dataset()
    if val_ds is None or len(val_ds) == 0:
        return stream, None
    val_batches = task_batches(task, val_ds, ctx, batch_size=batch_size, seed=seed, epoch=0, train=False)
    val_loader = DataLoader(
        val_ds, batch_sampler=val_batches, collate_fn=collate, num_workers=num_workers, pin_memory=pin,
        worker_init_fn=_worker_init, generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip
    return stream, val_loader
