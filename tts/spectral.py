"""Short-time Fourier transforms in numpy, in the framing of :class:`tts.audio.MelSpectrogram`, and
phase refinement for the iSTFT vocoder (torch-free: used by both backends).

Framing (as :mod:`tts.vocoder.istft`): ``L = T · hop`` samples are reflect-padded by
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

import numpy as np


def _fft():
    """scipy's FFT (float32, SIMD: 5x numpy's on 1024-point frames) when installed, else numpy's."""
    try:
        import scipy.fft as f
    except ImportError:  # pragma: no cover - scipy comes with librosa
        return np.fft
    return f


def hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window (``torch.hann_window(n_fft)``), float32."""
    n = np.arange(n_fft, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)).astype(np.float32)


def _check(n_fft: int, hop: int) -> None:
    if n_fft % hop != 0 or (n_fft - hop) % 2 != 0:
        raise ValueError(f"n_fft {n_fft} must be a multiple of hop {hop} (and n_fft - hop even)")


def stft(wav: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """``wav (B, L)`` -> complex64 ``(B, n_fft/2 + 1, ceil(L / hop))`` (``tts.vocoder.istft.stft``)."""
    _check(n_fft, hop)
    wav = np.atleast_2d(np.asarray(wav, dtype=np.float32))
    b, n = wav.shape
    t = -(-n // hop)
    pad = (n_fft - hop) // 2
    x = np.pad(wav, ((0, 0), (0, t * hop - n)))
    x = np.pad(x, ((0, 0), (pad, pad)), mode="reflect" if x.shape[1] > pad else "constant")
    r = n_fft // hop
    blocks = x.reshape(b, t + r - 1, hop)  # frame k = blocks k .. k + r - 1
    frames = np.concatenate([blocks[:, j : j + t] for j in range(r)], axis=-1)  # (B, T, n_fft)
    spec = _fft().rfft(frames * hann(n_fft), axis=-1)
    return spec.transpose(0, 2, 1).astype(np.complex64, copy=False)


def istft(spec: np.ndarray, n_fft: int = 1024, hop: int = 256) -> np.ndarray:
    """complex ``(B, F, T)`` -> ``(B, T · hop)`` float32, the least-squares inverse of :func:`stft`."""
    _check(n_fft, hop)
    b, _, t = spec.shape
    r, pad = n_fft // hop, (n_fft - hop) // 2
    w = hann(n_fft)
    frames = _fft().irfft(spec.transpose(0, 2, 1), n=n_fft, axis=-1).astype(np.float32, copy=False) * w
    out = np.zeros((b, t + r - 1, hop), np.float32)
    env = np.zeros((t + r - 1, hop), np.float32)
    w2 = (w * w).reshape(r, hop)
    parts = frames.reshape(b, t, r, hop)
    for j in range(r):
        out[:, j : j + t] += parts[:, :, j]
        env[j : j + t] += w2[j]
    y = (out / np.maximum(env, 1e-8)).reshape(b, -1)
    return np.ascontiguousarray(y[:, pad:-pad] if pad else y)


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
) -> np.ndarray:
    """Waveform ``(B, T · hop)`` from a magnitude and a starting phase, ``(B, F, T)`` each, after
    ``iterations`` fast-Griffin-Lim steps (0: the plain inverse STFT)."""
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    mag = np.exp(np.asarray(log_mag, dtype=np.float32))
    phase = np.asarray(phase, dtype=np.float32)
    spec = mag * np.cos(phase) + 1j * (mag * np.sin(phase))  # complex64 (exp(1j·φ) would be complex128)
    prev = None
    for _ in range(iterations):
        proj = stft(istft(spec, n_fft, hop), n_fft, hop)
        accel = proj if prev is None else proj + np.float32(momentum) * (proj - prev)
        prev = proj
        spec = accel * (mag / np.maximum(np.abs(accel), np.float32(1e-12)))  # |spec| = mag, phase of accel
    return istft(spec, n_fft, hop)
