"""Load one synthesizer per worker for the server, on the backend :func:`tts.load` would pick.

The choice is :func:`tts.runtime.load.load_many`'s, the same as ``tts-synth``'s: a voice with a
usable ONNX export (the shipped one has it) runs on onnxruntime without torch, its graphs loaded
once and shared by every worker's :class:`OnnxSynthesizer` (each with its own lock, so workers run
in parallel); otherwise PyTorch, one :class:`Synthesizer` per worker — torch's thread count is
process-wide, so each gets ``threads`` of it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tts.runtime.base import SynthesizerBase

log = logging.getLogger("tts.serve")


def default_workers(cores: int | None = None) -> int:
    """One worker per core, at most 8: a worker on one thread uses a core fully, and one request
    per core gives the best throughput under load (time to first audio grows only with the queue)."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(8, cores))


def load_synthesizers(
    voice: str | Path | None,
    workers: int,
    threads: int | None = None,
    max_chars: int | None = 4096,
) -> list[SynthesizerBase]:
    """``workers`` synthesizers for ``voice`` (default: the shipped voice); ``threads`` per worker
    (default: the cores divided among the workers). Raises ``FileNotFoundError`` when there is
    no voice and ``ValueError`` (``CheckpointError``) for a broken one."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    from tts.runtime.load import load_many

    synths = load_many(voice, workers, threads=threads, max_chars=max_chars)
    if synths[0].backend == "torch":
        folder = synths[0].voice.folder
        log.warning(
            "%s has no usable ONNX export: serving with PyTorch (slower; tts-voice export-onnx)",
            folder,
        )
    return synths
