"""Load one synthesizer per worker for the server, the way ``tts-synth`` picks its backend.

A voice with an ONNX export (the shipped one has it) runs on onnxruntime without torch: the
graphs are loaded once and every worker wraps them in its own :class:`OnnxSynthesizer` (its own
lock, so workers run in parallel; onnxruntime sessions are safe to ``run`` from several threads).
A voice without an export falls back to PyTorch with one :class:`Synthesizer` per worker —
torch's thread count is process-wide, so each gets ``threads`` of it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tts.speech import SynthesizerBase

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
    from tts.onnx_runtime import OnnxSynthesizer, load_onnx_voice, onnx_export_dir
    from tts.voice import resolve_voice_dir

    folder, _ = resolve_voice_dir(voice)
    if onnx_export_dir(folder) is not None:
        shared = load_onnx_voice(folder, threads)
        return [OnnxSynthesizer(shared, max_chars=max_chars) for _ in range(workers)]
    log.warning("%s has no ONNX export: serving with PyTorch (slower; tts-voice export-onnx)", folder)
    from tts.synthesizer import Synthesizer

    return [Synthesizer.from_pretrained(folder, threads=threads, max_chars=max_chars) for _ in range(workers)]
