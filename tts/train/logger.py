"""What a training run writes into its folder: ``train.log``, TensorBoard, the checkpoint files.

Only rank 0 writes; on other ranks :class:`RunLogger` is a no-op. ``train.log`` is plain text with
the step, averaged losses, learning rates and steps/s, so a background run can be followed with
``tail -f`` and its speed read off after the fact. Checkpoints are ``checkpoints/step_%08d.pt``
plus ``checkpoints/last.pt`` (the same file under a stable name).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm


def _fmt(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.3e}" if abs(value) < 1e-3 or abs(value) >= 1e4 else f"{value:.4f}"


class RunLogger:
    """Text log + optional TensorBoard writer + tqdm bar for one run directory."""

    def __init__(self, run_dir: Path, *, enabled: bool, start_step: int, max_steps: int) -> None:
        self.enabled = enabled
        self.writer: Any = None
        self._file = None
        self._bar = None
        if not enabled:
            return
        run_dir.mkdir(parents=True, exist_ok=True)
        self._file = (run_dir / "train.log").open("a", encoding="utf-8", buffering=1)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.info("tensorboard is not installed; TensorBoard logging is off (pip install tensorboard)")
        else:
            self.writer = SummaryWriter(log_dir=str(run_dir / "tb"), purge_step=start_step or None)
        if sys.stderr.isatty():
            self._bar = tqdm(
                total=max_steps, initial=start_step, unit="step", dynamic_ncols=True, file=sys.stderr
            )

    def info(self, message: str) -> None:
        """A timestamped line in ``train.log`` and on stderr."""
        if not self.enabled:
            return
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        if self._file is not None:
            self._file.write(line + "\n")
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def scalars(self, values: dict[str, float], step: int, *, prefix: str = "") -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            self.writer.add_scalar(prefix + key, value, step)

    def step_line(self, step: int, max_steps: int, values: dict[str, float], steps_per_s: float) -> None:
        """Log one ``log_every`` summary: text line, TensorBoard scalars, bar postfix."""
        if not self.enabled:
            return
        eta = (max_steps - step) / steps_per_s if steps_per_s > 0 else float("inf")
        body = " | ".join(f"{k} {_fmt(v)}" for k, v in sorted(values.items()))
        self.info(f"step {step}/{max_steps} | {body} | {steps_per_s:.3f} steps/s | eta {_duration(eta)}")
        self.scalars({**values, "perf/steps_per_s": steps_per_s}, step)
        if self._bar is not None:
            losses = {k: _fmt(v) for k, v in values.items() if k.startswith("loss")}
            self._bar.set_postfix(losses, refresh=False)

    def val_line(self, step: int, values: dict[str, float]) -> None:
        if not self.enabled or not values:
            return
        body = " | ".join(f"{k} {_fmt(v)}" for k, v in sorted(values.items()))
        self.info(f"step {step} validation | {body}")
        self.scalars(values, step)
        self.flush()

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self._file is not None:
            self._file.close()
            self._file = None


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


# ------------------------------------------------------------------------------- run-dir files


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def latest_checkpoint(ckpt_dir: Path) -> Path | None:
    """``last.pt``, else the highest ``step_*.pt``, else ``None``."""
    last = ckpt_dir / "last.pt"
    if last.is_file():
        return last
    steps = sorted(ckpt_dir.glob("step_*.pt"))
    return steps[-1] if steps else None


def point_last(path: Path) -> None:
    """Make ``last.pt`` the same file as ``path`` (hard link, else a copy), replaced atomically."""
    last = path.with_name("last.pt")
    tmp = path.with_name(".last.pt.tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(path, tmp)
    except OSError:  # file systems without hard links
        shutil.copyfile(path, tmp)
    os.replace(tmp, last)


def prune_checkpoints(ckpt_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` ``step_*.pt`` files (``keep`` 0: keep all)."""
    if keep <= 0:
        return
    for old in sorted(ckpt_dir.glob("step_*.pt"))[:-keep]:
        old.unlink(missing_ok=True)
