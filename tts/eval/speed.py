"""Speed of a synthesis callable: real-time factor, time to first audio, peak memory.

``synth_fn(text)`` returns either the whole utterance — ``(samples, sample_rate)`` or an object with
``.samples`` and ``.sample_rate`` (``tts.Synthesizer.synthesize``) — or an iterator of such chunks
(``Synthesizer.stream``). Time to first audio is the time until the first chunk exists (for a
non-streaming callable: the whole synthesis). Warm-up calls are excluded; each figure is the median
over ``repeats`` runs of the text set, with torch limited to ``threads`` intra-op threads.

Peak memory is the process's resident set size sampled every 2 ms by a background thread while the
measured runs execute (Linux ``/proc/self/statm``; elsewhere the lifetime peak from ``getrusage``).

:func:`machine_facts` is the header every benchmark prints and stores with its numbers: which CPU, which
of its vector extensions matter for the int8 and bf16 kernels, and which int8 kernels onnxruntime runs.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

#: CPU flags (``/proc/cpuinfo`` names) that decide the speed of the int8, bf16 and fp32 kernels
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile")


def machine_facts() -> dict[str, Any]:
    """Date, CPU model, cores (all and usable), :data:`ISA_FLAGS` present, the int8 kernels onnxruntime
    runs here (``tts.core.onnx_options``), library versions, ``OMP_WAIT_POLICY`` and the load average.
    Torch-free: versions come from the installed packages' metadata."""
    from tts.core.onnx_options import int8_needs_exact_kernels

    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():  # the first CPU's lines
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:  # not Linux
        pass
    model = model or platform.processor() or "unknown"

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "-"

    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": model,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "isa": [f for f in ISA_FLAGS if f in flags],
        "int8_kernels": "exact u8u8 (no AVX512-VNNI)" if int8_needs_exact_kernels() else "VNNI",
        "python": platform.python_version(),
        "torch": version("torch"),
        "onnxruntime": version("onnxruntime"),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "load_avg_start": list(os.getloadavg()),
    }


def describe_machine(facts: dict[str, Any]) -> str:
    """One header line for :func:`machine_facts`."""
    return (
        f"{facts['date']} | {facts['cpu']} ({', '.join(facts['isa']) or 'no AVX2'}; int8 kernels: "
        f"{facts['int8_kernels']}) | {facts['cores']} cores ({facts['usable_cores']} usable) | "
        f"python {facts['python']}, torch {facts['torch']}, onnxruntime {facts['onnxruntime']} | "
        f"OMP_WAIT_POLICY={facts['omp_wait_policy']} | "
        f"load average {' '.join(f'{x:.2f}' for x in facts['load_avg_start'])}"
    )


def _chunk(x: Any) -> tuple[int, int]:
    """(number of samples, sample rate) of one chunk."""
    if hasattr(x, "samples") and hasattr(x, "sample_rate"):
        return int(np.asarray(x.samples).reshape(-1).size), int(x.sample_rate)
    if isinstance(x, tuple) and len(x) == 2:
        return int(np.asarray(x[0]).reshape(-1).size), int(x[1])
    raise TypeError(
        f"synth_fn must return (samples, sr), an Audio-like object or an iterator of them; got {type(x)}"
    )


def _is_whole(result: Any) -> bool:
    return hasattr(result, "samples") or (isinstance(result, tuple) and len(result) == 2)


def time_one(synth_fn: Callable[[str], Any], text: str) -> tuple[float, float, float]:
    """Run ``synth_fn(text)`` to the end. Returns (seconds to first audio, total seconds, audio seconds)."""
    t0 = time.perf_counter()
    result = synth_fn(text)
    if _is_whole(result):
        n, sr = _chunk(result)
        total = time.perf_counter() - t0
        return total, total, n / sr
    first, n_total, sr = None, 0, 1
    for chunk in result:
        if first is None:
            first = time.perf_counter() - t0
        n, sr = _chunk(chunk)
        n_total += n
    total = time.perf_counter() - t0
    if first is None:
        raise ValueError(f"synth_fn produced no audio for {text[:60]!r}")
    return first, total, n_total / sr


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class PeakMemory:
    """Context manager sampling RSS in a thread; ``.peak`` and ``.baseline`` in bytes."""

    def __init__(self, interval_s: float = 0.002) -> None:
        self.interval_s = interval_s
        self.baseline = self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakMemory:
        self.baseline = self.peak = _rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def _set_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads (if torch is in use); returns the previous value."""
    if threads is None or "torch" not in sys.modules:
        return None
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    return prev


def measure_speed(
    synth_fn: Callable[[str], Any],
    texts: Sequence[str] | Iterable[str],
    threads: int | None = 1,
    repeats: int = 3,
    warmup: int = 1,
) -> dict[str, Any]:
    """Median real-time factor, time to first audio and peak memory of ``synth_fn`` over ``texts``.

    RTF = synthesis seconds / audio seconds for the whole text set (< 1 is faster than real time).
    Returns a dict: ``rtf``, ``rtf_runs``, ``ttfa_ms`` (median over texts of the per-text median),
    ``ttfa_ms_max``, ``ttfa_first_text_ms``, ``compute_s``, ``audio_s``, ``peak_rss_mb``,
    ``peak_rss_increase_mb``, ``threads``, ``repeats``, ``n_texts``.
    """
    texts = list(texts)
    if not texts:
        raise ValueError("measure_speed needs at least one text")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats}, {warmup}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    prev = _set_threads(threads)
    try:
        for _ in range(warmup):  # first calls pay for lazy initialisation, allocator growth, caches
            time_one(synth_fn, texts[0])
        rtfs: list[float] = []
        computes: list[float] = []
        ttfa: list[list[float]] = [[] for _ in texts]
        audio_s = 0.0
        with PeakMemory() as mem:
            for _ in range(repeats):
                compute = audio = 0.0
                for i, text in enumerate(texts):
                    first, total, dur = time_one(synth_fn, text)
                    ttfa[i].append(first)
                    compute += total
                    audio += dur
                rtfs.append(compute / max(audio, 1e-9))
                computes.append(compute)
                audio_s = audio
    finally:
        if prev is not None:
            _set_threads(prev)
    per_text = [statistics.median(t) * 1000 for t in ttfa]
    return {
        "rtf": statistics.median(rtfs),
        "rtf_runs": rtfs,
        "ttfa_ms": statistics.median(per_text),
        "ttfa_ms_max": max(per_text),
        "ttfa_first_text_ms": per_text[0],
        "compute_s": statistics.median(computes),
        "audio_s": audio_s,
        "peak_rss_mb": mem.peak / 2**20,
        "peak_rss_increase_mb": (mem.peak - mem.baseline) / 2**20,
        "threads": threads,
        "repeats": repeats,
        "n_texts": len(texts),
    }
