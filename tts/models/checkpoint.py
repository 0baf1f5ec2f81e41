"""Self-describing checkpoints.

Two kinds of file:

- **inference weights** (``*.safetensors``): tensors + a JSON header holding ``format_version``,
  ``kind`` (``"vae"``, ``"acoustic"``, ``"vocoder"``), the model ``config`` dict, and any extra
  JSON-able ``meta`` (symbol table, speaker names, training steps …). Loading rebuilds the model
  from what is in the file (nanoGPT style) and refuses a wrong kind or a newer format with a
  clear message. These are the small EMA weights shipped in ``pretrained/``.
- **training states** (``*.pt``): everything needed to resume (weights, EMA, optimisers,
  schedulers, step, RNG states, sampler position, config). Written atomically: temp file in the
  same folder, fsync, then ``os.replace`` — a run killed mid-write leaves the previous checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from tts.core.files import CheckpointError, default_file_mode

FORMAT_VERSION = 1


_INIT_LOCK = threading.Lock()


@contextlib.contextmanager
def no_default_init() -> Iterator[None]:
    """Build modules without their default random initialisation, for weights about to be loaded.

    ``Linear``, convolutions, ``Embedding`` and ``LayerNorm`` skip ``reset_parameters`` inside the
    block (their tensors are left uninitialised), which is most of the time a model spends in
    ``__init__`` on a CPU. Only for modules whose every parameter is then overwritten by a strict
    ``load_state_dict``; the patch is process-wide while the block runs (serialised by a lock).
    """
    from torch import nn

    classes = (nn.Linear, nn.modules.conv._ConvNd, nn.Embedding, nn.LayerNorm)
    with _INIT_LOCK:
        saved = [(c, c.__dict__["reset_parameters"]) for c in classes]
        try:
            for c in classes:
                c.reset_parameters = lambda self: None  # type: ignore[method-assign]
            yield
        finally:
            for c, fn in saved:
                c.reset_parameters = fn  # type: ignore[method-assign]


def _atomic_write(path: Path, write_fn) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, default_file_mode())
    try:
        write_fn(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_weights(
    path: str | Path,
    tensors: dict[str, torch.Tensor],
    kind: str,
    config: dict[str, Any],
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write inference weights + config as one safetensors file (atomic)."""
    from safetensors.torch import save_file

    p = Path(path)
    header = {
        "format_version": str(FORMAT_VERSION),
        "kind": kind,
        "config": json.dumps(config),
        "meta": json.dumps(meta or {}),
    }
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    _atomic_write(p, lambda tmp: save_file(tensors, tmp, metadata=header))
    return p


def load_weights(
    path: str | Path, kind: str | None = None, device: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Read ``(tensors, config, meta)`` from an inference file, checking kind and format version."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    try:
        with safe_open(str(p), framework="pt") as fh:
            header = fh.metadata() or {}
        tensors = load_file(str(p), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"checkpoint {p} is corrupt or not a safetensors file: {e}") from e
    if "format_version" not in header or "config" not in header:
        raise CheckpointError(f"checkpoint {p} has no config header (not written by this project?)")
    version = int(header["format_version"])
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {p} has format version {version}; this install reads up to {FORMAT_VERSION} "
            "— upgrade the package"
        )
    if kind is not None and header.get("kind") != kind:
        raise CheckpointError(f"checkpoint {p} holds a {header.get('kind')!r} model, expected {kind!r}")
    return tensors, json.loads(header["config"]), json.loads(header.get("meta", "{}"))


def save_state(path: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write a full training state (``torch.save``)."""
    p = Path(path)
    state = {"format_version": FORMAT_VERSION, **state}
    _atomic_write(p, lambda tmp: torch.save(state, tmp))
    return p


def load_state(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a training state written by :func:`save_state`."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"training checkpoint not found: {p}")
    try:
        state = torch.load(p, map_location=map_location, weights_only=False)
    except Exception as e:  # pickle/zip errors come in many types
        raise CheckpointError(f"training checkpoint {p} is corrupt: {e}") from e
    if not isinstance(state, dict) or "format_version" not in state:
        raise CheckpointError(f"{p} is not a training checkpoint of this project")
    return state
