"""Short-time Fourier transforms in numpy, in the framing of :class:`tts.audio.MelSpectrogram`, and
phase refinement for the iSTFT vocoder (torch-free: used by both backends).

Framing (as :mod:`tts.models.vocoder.istft`): ``L = T · hop`` samples are reflect-padded by
``pad = (n_fft − hop) / 2`` on both sides and cut into ``T`` un-centred frames, so frame ``t`` is
centred on sample ``t · hop + hop / 2``; the inverse overlap-adds the windowed frames, divides by
the window-square envelope (the least-squares inverse of Griffin & Lim 1984) and crops ``pad``
samples from each side, giving exactly ``T · hop`` samples. Periodic Hann window of ``n_fft``.

:func:`refine_phase` is the fast Griffin-Lim algorithm (Perraudin, Balazs & Søndergaard 2013:
Griffin-Lim's alternating projections — onto consistent spectrograms, ``stft(istft(X))``, and onto
the given magnitude — with a momentum term) started from the vocoder's own phase instead of
random phase, as a few consistency iterations after a neural phase estimate. Measured on 60
held-out recordings (copy-synthesis with the shipped vocoder, docs/vocoder.md): DNSMOS OVRL 2.71 →
2.79 with 2 iterations, 2.80 with 4; the network's phase alone is not consistent across the
75 % frame overlap, and the inconsistency is heard as a noise floor (DNSMOS BAK 3.82 → 3.92).

Each iteration widens the span of frames that a frame's samples depend on by ``n_fft / hop − 1``
frames on each side, which streaming adds to its window context.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _fft():
    """scipy's FFT (float32, SIMD: 5x numpy's on 1024-point frames) when installed, else numpy's."""
    try:
        import scipy.fft as f
    except ImportError:  # pragma: no cover - scipy comes with librosa
        return np.fft
    return f


def import_fft_in_background() -> None:
    """Start importing scipy's FFT on a daemon thread, so that a short-lived process (``tts-synth``)
    overlaps the import (0.14 s on the 2-core machine) with loading the voice and the first model
    calls instead of paying it at the first phase refinement. Idempotent; a no-op once imported."""
    global _PRELOAD
    if _PRELOAD is not None or "scipy.fft" in sys.modules:
        return

    def load() -> None:
        with contextlib.suppress(ImportError):  # scipy comes with librosa; numpy's FFT otherwise
            import scipy.fft  # noqa: F401

    _PRELOAD = threading.Thread(target=load, name="tts-fft-import", daemon=True)
    _PRELOAD.start()


_PRELOAD: threading.Thread | None = None


def hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window (``torch.hann_window(n_fft)``), float32."""
    n = np.arange(n_fft, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)


def _check(n_fft: int, hop: int) -> None:
    if n_fft % hop != 0 or (n_fft - hop) % 2 != 0:
        raise ValueError(f"n_fft {n_fft} must be a multiple of hop {hop} (and n_fft - hop even)")


def _analysis(wav: np.ndarray, n_fft: int, hop: int, window: np.ndarray) -> np.ndarray:
    """``(B, T · hop)`` float32 -> complex64 ``(B, T, F)``, frames on the middle axis."""
    b, n = wav.shape
    t, r, pad = n // hop, n_fft // hop, (n_fft - hop) // 2
    x = np.pad(wav, ((0, 0), (pad, pad)), mode="reflect" if n > pad else "constant")
    blocks = x.reshape(b, t + r - 1, hop)  # frame k = blocks k .. k + r - 1
    frames = np.concatenate([blocks[:, j : j + t] for j in range(r)], axis=-1)  # (B, T, n_fft)
    frames *= window
    return _fft().rfft(frames, axis=-1).astype(np.complex64, copy=False)


def _envelope_inverse(t: int, n_fft: int, hop: int, window: np.ndarray) -> np.ndarray:
    """``1 / Σ window²`` of ``t`` overlap-added frames, ``(T + r − 1, hop)``."""
    r = n_fft // hop
    env = np.zeros((t + r - 1, hop), np.float32)
    w2 = (window * window).reshape(r, hop)
    for j in range(r):
        env[j : j + t] += w2[j]
    return 1.0 / np.maximum(env, np.float32(1e-8))


def _synthesis(spec: np.ndarray, n_fft: int, hop: int, window: np.ndarray, env_inv: np.ndarray) -> np.ndarray:
    """complex ``(B, T, F)`` -> ``(B, T · hop)`` float32 (windowed overlap-add / envelope, cropped)."""
    b, t, _ = spec.shape
    r, pad = n_fft // hop, (n_fft - hop) // 2
    frames = _fft().irfft(spec, n=n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= window
    out = np.zeros((b, t + r - 1, hop), np.float32)
    parts = frames.reshape(b, t, r, hop)
    for j in range(r):
        out[:, j : j + t] += parts[:, :, j]
    out *= env_inv
    y = out.reshape(b, -1)
    return np.ascontiguousarray(y[:, pad:-pad] if pad else y)


def stft(wav: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """``wav (B, L)`` -> complex64 ``(B, n_fft/2 + 1, ceil(L / hop))`` (``tts.models.vocoder.istft.stft``)."""
    _check(n_fft, hop)
    wav = np.atleast_2d(np.asarray(wav, dtype=np.float32))
    n = wav.shape[1]
    wav = np.pad(wav, ((0, 0), (0, -(-n // hop) * hop - n)))
    return _analysis(wav, n_fft, hop, hann(n_fft)).transpose(0, 2, 1)


def istft(spec: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """complex ``(B, F, T)`` -> ``(B, T · hop)`` float32, the least-squares inverse of :func:`stft`."""
    _check(n_fft, hop)
    w = hann(n_fft)
    return _synthesis(spec.transpose(0, 2, 1), n_fft, hop, w, _envelope_inverse(spec.shape[2], n_fft, hop, w))


def refinement_context(iterations: int, n_fft: int = 1024, hop: int = 256) -> int:
    """Frames of streaming context that ``iterations`` refinement steps add on each side."""
    return (n_fft // hop - 1) * iterations


def refine_phase(
    log_mag: np.ndarray,
    phase: np.ndarray,
    iterations: int,
    n_fft: int = 1024,
    hop: int = 256,
    momentum: float = 0.99,
    workers: int | None = None,
) -> np.ndarray:
    """Waveform ``(B, T · hop)`` from a magnitude and a starting phase, ``(B, F, T)`` each, after
    ``iterations`` fast-Griffin-Lim steps (0: the plain inverse STFT).

    ``workers`` (default: up to 2, the CPU count) threads refine consecutive stretches of frames,
    each with :func:`refinement_context` + ``n_fft / hop`` frames of context on both sides, so the
    result equals the one-stretch computation to float rounding (tested); scipy's FFTs and numpy's
    element-wise ops release the GIL, so the threads run in parallel. Stretches shorter than four
    contexts are not split."""
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    _check(n_fft, hop)
    log_mag, phase = np.asarray(log_mag, dtype=np.float32), np.asarray(phase, dtype=np.float32)
    t = log_mag.shape[-1]
    workers = min(2, os.cpu_count() or 1) if workers is None else int(workers)
    ctx = refinement_context(iterations, n_fft, hop) + n_fft // hop
    pieces = min(workers, t // (4 * ctx)) if iterations > 0 else 1
    if pieces <= 1:
        return _refine(log_mag, phase, iterations, n_fft, hop, momentum)
    bounds = [round(i * t / pieces) for i in range(pieces + 1)]

    def stretch(i: int) -> np.ndarray:
        lo, hi = bounds[i], bounds[i + 1]
        a, z = max(0, lo - ctx), min(t, hi + ctx)
        y = _refine(log_mag[..., a:z], phase[..., a:z], iterations, n_fft, hop, momentum)
        return y[:, (lo - a) * hop : (hi - a) * hop]

    with ThreadPoolExecutor(pieces) as pool:
        return np.concatenate(list(pool.map(stretch, range(pieces))), axis=1)


def _refine(
    log_mag: np.ndarray, phase: np.ndarray, iterations: int, n_fft: int, hop: int, momentum: float
) -> np.ndarray:
    # frames on the middle axis throughout (the FFTs' layout), updates in place: ~35 % faster than
    # going through stft()/istft() with their transposes
    mag = np.exp(np.asarray(log_mag, dtype=np.float32)).transpose(0, 2, 1).copy()
    phase = np.asarray(phase, dtype=np.float32).transpose(0, 2, 1)
    spec = np.empty(mag.shape, np.complex64)
    spec.real, spec.imag = np.cos(phase), np.sin(phase)
    spec *= mag
    w = hann(n_fft)
    env_inv = _envelope_inverse(mag.shape[1], n_fft, hop, w)
    m = np.float32(momentum)
    scale = np.empty(mag.shape, np.float32)
    prev = None
    for _ in range(iterations):
        proj = _analysis(_synthesis(spec, n_fft, hop, w, env_inv), n_fft, hop, w)
        if prev is None:
            spec = proj.copy()
        else:  # spec = proj + m (proj - prev)
            np.subtract(proj, prev, out=spec)
            spec *= m
            spec += proj
        prev = proj
        np.abs(spec, out=scale)  # |spec| = mag, phase of the accelerated projection
        np.maximum(scale, np.float32(1e-12), out=scale)
        np.divide(mag, scale, out=scale)
        spec *= scale
    return _synthesis(spec, n_fft, hop, w, env_inv)
