"""Per-utterance work of the prepare stage: audio → stored 16-bit wav + cached log-mel; texts → phonemes.

The audio worker runs in a spawned process pool (``ParallelMap``); it never raises: every outcome is
a status string, ``"ok"`` or ``"reason: detail"`` with the reasons listed in ``AUDIO_REASONS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: skip reasons the audio worker can return (``processing_error`` = anything unexpected)
AUDIO_REASONS = ("unreadable_wav", "silent_audio", "too_short", "too_long", "processing_error")
PHONEMIZE_CHUNK = 256  # texts per espeak call: amortises its start-up, still gives a live progress bar


@dataclass(frozen=True)
class AudioOptions:
    """How each clip is processed before its mel is cached (sample rate etc.: ``tts.audio.AudioConfig``)."""

    min_seconds: float = 0.3  #: shorter clips (after trimming) are skipped
    max_seconds: float = 20.0  #: longer clips are skipped (they blow up padded batches)
    trim_silence: bool = False  #: cut leading/trailing silence (``tts.audio.trim_silence``)
    trim_top_db: float = 40.0  #: silence threshold below the peak, dB
    loudness_dbfs: float | None = None  #: RMS level to normalise every clip to (e.g. -23); None keeps levels
    min_peak: float = 1e-4  #: clips whose peak stays below this (-80 dBFS) count as silent


@dataclass(frozen=True)
class AudioJob:
    uid: str
    src: str  #: source audio file
    out_wav: str  #: 22 050 Hz 16-bit copy to write
    out_mel: str  #: float32 (n_mels, T) .npy to write
    opts: AudioOptions


def duration_status(n_samples: int, sample_rate: int, opts: AudioOptions) -> str:
    """``"ok"``, ``"too_short: …"`` or ``"too_long: …"``."""
    seconds = n_samples / sample_rate
    if seconds < opts.min_seconds:
        return f"too_short: {seconds:.2f} s < {opts.min_seconds} s"
    if seconds > opts.max_seconds:
        return f"too_long: {seconds:.2f} s > {opts.max_seconds} s"
    return "ok"


def process_audio(job: AudioJob) -> tuple[str, str, int]:
    """Process one clip: ``(uid, status, n_samples)`` where ``n_samples`` is the stored length."""
    try:
        return _process_audio(job)
    except Exception as e:  # one bad file must not stop a 13 000-file run
        return job.uid, f"processing_error: {type(e).__name__}: {e}", 0


_MEL: list[Any] = []  # this process' MelSpectrogram, built on first use


def _process_audio(job: AudioJob) -> tuple[str, str, int]:
    import numpy as np
    import torch

    from tts.audio import (
        AudioConfig,
        MelSpectrogram,
        load_audio,
        loudness_normalize,
        save_audio,
        trim_silence,
    )
    from tts.data.manifest import atomic_save_npy

    opts, sr = job.opts, AudioConfig().sample_rate
    try:
        wav, _ = load_audio(job.src, sample_rate=sr)
    except ValueError as e:
        return job.uid, f"unreadable_wav: {e}", 0
    if not np.isfinite(wav).all():
        return job.uid, "unreadable_wav: non-finite samples", 0
    if opts.trim_silence:
        wav = trim_silence(wav, top_db=opts.trim_top_db)
    peak = float(np.abs(wav).max())
    if peak < opts.min_peak:
        return job.uid, f"silent_audio: peak {peak:.1e} < {opts.min_peak}", len(wav)
    if opts.loudness_dbfs is not None:
        wav = loudness_normalize(wav, target_dbfs=opts.loudness_dbfs)
    elif peak > 0.999:  # resampler overshoot would otherwise clip in the 16-bit file
        wav = wav * np.float32(0.999 / peak)
    status = duration_status(len(wav), sr, opts)
    if status != "ok":
        return job.uid, status, len(wav)
    save_audio(job.out_wav, wav, sr)
    stored, _ = load_audio(job.out_wav)  # 16-bit quantised: exactly what the datasets will read
    if not _MEL:
        _MEL.append(MelSpectrogram(AudioConfig()))
    with torch.no_grad():
        mel = _MEL[0](torch.from_numpy(stored)[None])[0].numpy().astype(np.float32)
    atomic_save_npy(job.out_mel, mel)
    return job.uid, "ok", len(stored)


def phonemize_all(texts: list[str], language: str, progress: bool = False) -> list[str]:
    """Phonemes per (already normalised) text; ``""`` where phonemisation failed.

    Texts go to ``tts.text.phonemize_batch`` in chunks; a chunk that fails is retried text by text so
    one bad text costs only itself.
    """
    from tqdm import tqdm

    from tts.text import phonemize_batch

    def one_by_one(chunk: list[str]) -> list[str]:
        res = []
        for t in chunk:
            try:
                res.append(phonemize_batch([t], language=language, normalize=False)[0])
            except Exception as e:
                log.warning("phonemisation failed for %r: %s", t[:80], e)
                res.append("")
        return res

    out: list[str] = []
    with tqdm(total=len(texts), desc="phonemize", unit="utt", disable=not progress or not texts) as bar:
        for i in range(0, len(texts), PHONEMIZE_CHUNK):
            chunk = texts[i : i + PHONEMIZE_CHUNK]
            try:
                res = list(phonemize_batch(chunk, language=language, normalize=False))
                if len(res) != len(chunk):
                    raise ValueError(f"phonemize_batch gave {len(res)} results for {len(chunk)} texts")
            except Exception:
                res = one_by_one(chunk)
            out.extend((r or "").strip() for r in res)
            bar.update(len(chunk))
    return out


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)  # the pool provides the parallelism


class ParallelMap:
    """``with ParallelMap(jobs) as pmap: pmap(fn, items)`` — ordered map over a process pool.

    ``jobs <= 1`` runs in this process. The pool is spawned (not forked: forking a process whose
    torch/OpenMP threads already ran can deadlock) on first use and reused for later maps.
    """

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._ex: Any = None

    def __enter__(self) -> ParallelMap:
        return self

    def __call__(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterable[Any]:
        if self.jobs <= 1 or len(items) <= 1:
            return map(fn, items)
        if self._ex is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            ctx = mp.get_context("spawn")
            self._ex = ProcessPoolExecutor(self.jobs, mp_context=ctx, initializer=_init_worker)
        return self._ex.map(fn, items, chunksize=max(1, min(16, len(items) // (8 * self.jobs))))

    def __exit__(self, *exc: object) -> None:
        if self._ex is not None:
            self._ex.shutdown(cancel_futures=True)


def progress(it: Iterable[Any], total: int, desc: str, enabled: bool) -> Iterator[Any]:
    """tqdm bar over ``it`` (nothing shown when disabled or empty)."""
    from tqdm import tqdm

    yield from tqdm(it, total=total, desc=desc, unit="utt", disable=not enabled or total == 0)
