"""``tts.load``: a voice's synthesizer on the backend that suits it (torch-free until it picks PyTorch).

Two backends run the same voice (same API, :class:`tts.runtime.base.SynthesizerBase`):

- ``"onnx"``: :class:`tts.runtime.onnx.OnnxSynthesizer`, the voice's ``onnx/`` export on onnxruntime
  and numpy. Never imports torch: the fast start and the fast path on a CPU.
- ``"torch"``: :class:`tts.runtime.torch.Synthesizer`, the ``.safetensors`` weights on PyTorch: GPUs,
  another vocoder than the voice's own, bf16.

``backend="auto"`` (the default of ``tts.load``, ``tts-synth``, ``tts-eval`` and ``tts-serve``)
takes ONNX when the voice has an export and nothing torch-only is asked for (a device other than
the CPU, another vocoder, ``precision="bf16"``); an export that cannot be used (stale, broken,
onnxruntime missing) then gives a warning and PyTorch. :func:`load_many` makes the same choice for
several synthesizers of one voice (``tts-serve``'s workers), sharing the ONNX graphs among them.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

from tts.core.names import BACKENDS
from tts.runtime.base import SynthesizerBase


def prefer_passive_openmp() -> None:
    """Make OpenMP's idle threads sleep rather than spin, unless the user chose (``OMP_WAIT_POLICY``).

    torch's OpenMP threads spin-wait by default; on a machine where anything else runs (a server's
    other requests, a training job) the spinning threads take the cores the work needs, and a
    sentence through PyTorch measured 8x slower on a loaded 2-core machine (RTF 1.04 against 0.13).
    The setting is read when torch loads, so it is made only before the first ``import torch``."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def torch_only(device: str = "cpu", vocoder: str | Path | None = None, precision: str = "auto") -> list[str]:
    """What of these settings only the PyTorch backend implements (empty: ONNX can run them)."""
    out = []
    if device != "cpu":
        out.append(f"device={device!r}")
    if vocoder not in (None, "default"):
        out.append(f"vocoder={str(vocoder)!r}")
    if precision == "bf16":
        out.append("precision='bf16'")
    return out


def load(
    voice: str | Path | None = None,
    backend: str = "auto",
    *,
    threads: int | None = None,
    device: str = "cpu",
    vocoder: str | Path | None = None,
    precision: str = "auto",
    phase_iterations: int | None = None,
    **kwargs: Any,
) -> SynthesizerBase:
    """A synthesizer for ``voice`` (a folder; default: the shipped voice or ``$TTS_VOICE_DIR``).

    ``backend``: ``"auto"``, ``"onnx"`` or ``"torch"`` (module docstring). ``threads``: CPU threads
    (per graph for ONNX; torch's process-wide count for PyTorch). ``device``, ``vocoder`` and
    ``precision`` are PyTorch's (:meth:`Synthesizer.from_pretrained`); other keyword arguments go
    to the synthesizer (``max_chars``, ``lexicon``, ...). Raises ``ValueError`` for an unknown
    backend or torch-only settings with ``backend="onnx"``, ``FileNotFoundError`` when there is no
    voice (or, for ``"onnx"``, no export) and ``CheckpointError`` for broken files.
    """
    (synth,) = load_many(
        voice,
        1,
        backend,
        threads=threads,
        device=device,
        vocoder=vocoder,
        precision=precision,
        phase_iterations=phase_iterations,
        **kwargs,
    )
    return synth


def load_many(
    voice: str | Path | None,
    count: int,
    backend: str = "auto",
    *,
    threads: int | None = None,
    device: str = "cpu",
    vocoder: str | Path | None = None,
    precision: str = "auto",
    phase_iterations: int | None = None,
    **kwargs: Any,
) -> list[SynthesizerBase]:
    """``count`` synthesizers of ``voice`` on the backend :func:`load` picks, for threads that
    synthesise side by side (``tts-serve``'s workers); the arguments are :func:`load`'s.

    Each synthesizer has its own lock, so they run in parallel. On ONNX they share one loaded
    voice (its graphs are loaded once; onnxruntime sessions may be ``run`` from several threads at
    once); on PyTorch each loads its own model.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
    needs_torch = torch_only(device, vocoder, precision)
    if backend == "onnx" and needs_torch:
        drop = ", ".join(needs_torch)
        raise ValueError(
            f"the ONNX backend runs on the CPU in fp32 with the voice's own vocoder: drop {drop}"
        )
    if backend != "torch" and not needs_torch:
        onnx = _load_onnx(
            voice,
            count,
            explicit=backend == "onnx",
            threads=threads,
            phase_iterations=phase_iterations,
            **kwargs,
        )
        if onnx is not None:
            return onnx
    prefer_passive_openmp()
    from tts.runtime.torch import Synthesizer

    return [
        Synthesizer.from_pretrained(
            voice,
            device=device,
            vocoder=vocoder,
            threads=threads,
            precision=precision,
            phase_iterations=phase_iterations,
            **kwargs,
        )
        for _ in range(count)
    ]


def _load_onnx(
    voice: str | Path | None,
    count: int,
    explicit: bool,
    threads: int | None,
    phase_iterations: int | None,
    **kwargs: Any,
) -> list[SynthesizerBase] | None:
    """``count`` ONNX synthesizers sharing one loaded voice, or None when ``auto`` should fall
    back to PyTorch."""
    from tts.core.voice import resolve_voice_dir
    from tts.runtime.onnx import OnnxSynthesizer, onnx_export_dir

    folder, _ = resolve_voice_dir(voice)  # FileNotFoundError: no voice at all
    if onnx_export_dir(folder) is None and not explicit:
        return None
    try:
        first = OnnxSynthesizer.from_pretrained(
            folder, threads=threads, phase_iterations=phase_iterations, **kwargs
        )
    except FileNotFoundError:
        raise
    except (ImportError, ValueError) as e:  # no onnxruntime, or a stale/broken export
        if explicit:
            raise
        warnings.warn(f"ONNX export of {folder} not usable ({e}); using PyTorch", stacklevel=4)
        return None
    return [first, *(OnnxSynthesizer(first.voice, **kwargs) for _ in range(count - 1))]
