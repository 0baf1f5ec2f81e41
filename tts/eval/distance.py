"""Distances to reference audio: mel-cepstral distortion, log-F0 error and voicing error (DTW-aligned),
and PESQ / STOI for time-aligned copies (vocoder copy-synthesis).

Mel-cepstrum: the WORLD spectral envelope (DIO + StoneMask F0, CheapTrick envelope; Morise et al.,
IEICE 2016) on a 5 ms grid, turned into a real cepstrum of the log amplitude and warped to the mel
scale with the all-pass frequency-warping recursion of Oppenheim & Johnson (1972) — the ``freqt``
operation of SPTK — order 24, at 16 kHz with α = 0.42 (the usual value for that rate). This is the
usual TTS practice (e.g. ESPnet's MCD evaluation), so values are comparable to published ones in
magnitude. The analysis runs at 16 kHz on purpose: the project's mels stop at 8 kHz, so energy above
8 kHz is not something a mel vocoder can be judged on (at 22.05 kHz, Griffin-Lim copies of teacher
speech scored 12 dB, nearly all of it from the empty 8–11 kHz band; at 16 kHz they score 3.5 dB).

MCD (Kubichek, "Mel-cepstral distance measure for objective speech quality assessment", 1993):
``(10 / ln 10) · sqrt(2 · Σ_{d=1..24} (c_d − ĉ_d)²)`` dB per frame (c_0, the energy, is left out),
averaged over the frame pairs of a dynamic-time-warping path (Euclidean cost on c_1..c_24), after
trimming leading/trailing silence. Log-F0 RMSE (cents) is taken on path pairs voiced in both signals;
the voicing error is the fraction of pairs whose voiced/unvoiced decision differs.

PESQ (ITU-T P.862.2 wide-band, 16 kHz) and STOI (Taal et al. 2011) compare sample-aligned signals,
so they are computed only when the lengths match to within 1 % (vocoding a mel returns ``T·hop``
samples: a few hundred more than the source), after cropping to the shorter one.

Letters used for shapes: L samples, T frames, D cepstral coefficients.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class MCDConfig:
    """Analysis settings of :func:`mel_cepstral_distortion`."""

    sample_rate: int = 16000  #: both signals are resampled to this rate (band 0–8 kHz, as our mels)
    frame_period_ms: float = 5.0  #: WORLD analysis hop
    order: int = 24  #: mel-cepstral order (coefficients c_0..c_order; c_0 is not scored)
    alpha: float = 0.42  #: all-pass constant approximating the mel scale at 16 kHz (0.455 at 22.05 kHz)
    fft_size: int = 1024  #: CheapTrick FFT size
    f0_floor: float = 60.0  #: Hz, DIO search range
    f0_ceil: float = 500.0
    trim_db: float = 40.0  #: leading/trailing audio quieter than this below the peak is cut


@lru_cache(maxsize=1)
def _world():
    """pyworld's extension module.

    pyworld 0.3.5's ``__init__`` imports ``pkg_resources``, which setuptools ≥ 81 no longer ships;
    the compiled module itself needs only numpy, so it is loaded directly when the package fails.
    """
    try:
        return importlib.import_module("pyworld")
    except ImportError as e:
        spec = importlib.util.find_spec("pyworld")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("pyworld is not installed: pip install 'latent-tts[eval]'") from e
        for folder in spec.submodule_search_locations:
            for so in sorted(Path(folder).glob("pyworld*.so")) + sorted(Path(folder).glob("pyworld*.pyd")):
                ext = importlib.util.spec_from_file_location("pyworld", so)
                if ext is not None and ext.loader is not None:
                    mod = importlib.util.module_from_spec(ext)
                    ext.loader.exec_module(mod)
                    return mod
        raise


@lru_cache(maxsize=8)
def freqt_matrix(in_len: int, order: int, alpha: float) -> np.ndarray:
    """Linear map from a cepstrum ``c[0..in_len-1]`` to the ``alpha``-warped cepstrum ``c̃[0..order]``.

    Frequency warping is linear in the cepstrum, so the Oppenheim–Johnson recursion is run once on the
    identity and reused as a matrix. Returns ``W: (order + 1, in_len)``.
    """
    eye = np.eye(in_len)
    d = np.zeros((order + 1, in_len))
    beta = 1.0 - alpha * alpha
    for i in range(in_len - 1, -1, -1):  # feed input coefficients from the highest down
        prev = d.copy()
        d[0] = eye[i] + alpha * prev[0]
        if order >= 1:
            d[1] = beta * prev[0] + alpha * prev[1]
        for j in range(2, order + 1):
            d[j] = prev[j - 1] + alpha * (prev[j] - d[j - 1])
    return d


def envelope_to_mcep(power_envelope: np.ndarray, order: int, alpha: float) -> np.ndarray:
    """Mel-cepstrum of a power spectral envelope.

    ``power_envelope: (T, F)`` with ``F = n_fft/2 + 1`` → ``(T, order + 1)``. The one-sided cepstrum
    of the log *amplitude* is ``irfft(log P)`` with the first and Nyquist terms halved.
    """
    n_fft = 2 * (power_envelope.shape[1] - 1)
    c = np.fft.irfft(np.log(np.maximum(power_envelope, 1e-20)), n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    c[:, 0] *= 0.5
    c[:, -1] *= 0.5
    return c @ freqt_matrix(c.shape[1], order, alpha).T


def world_features(
    wav: np.ndarray, sample_rate: int, cfg: MCDConfig = MCDConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """Mel-cepstrum and F0 on the WORLD grid.

    ``wav: (L,)`` → ``mcep (T, order + 1)``, ``f0 (T,)`` in Hz (0 = unvoiced).
    """
    from tts.audio import resample, trim_silence

    if wav.ndim != 1 or wav.size == 0:
        raise ValueError(f"expected non-empty mono audio (L,), got shape {wav.shape}")
    x = resample(wav.astype(np.float32), sample_rate, cfg.sample_rate)
    x = trim_silence(x, top_db=cfg.trim_db, margin=int(0.05 * cfg.sample_rate)).astype(np.float64)
    pw = _world()
    f0, t = pw.dio(
        x, cfg.sample_rate, f0_floor=cfg.f0_floor, f0_ceil=cfg.f0_ceil, frame_period=cfg.frame_period_ms
    )
    f0 = pw.stonemask(x, f0, t, cfg.sample_rate)
    sp = pw.cheaptrick(x, f0, t, cfg.sample_rate, fft_size=cfg.fft_size)
    return envelope_to_mcep(sp, cfg.order, cfg.alpha), f0


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimum-cost monotonic alignment of ``a: (Ta, D)`` and ``b: (Tb, D)`` (Euclidean frame cost).

    Returns ``(P, 2)`` index pairs in time order.
    """
    import librosa

    _, wp = librosa.sequence.dtw(X=a.T, Y=b.T, metric="euclidean")
    return np.ascontiguousarray(wp[::-1])


_MCD_K = 10.0 / math.log(10.0) * math.sqrt(2.0)


def mel_cepstral_distortion(
    reference: np.ndarray, degraded: np.ndarray, sample_rate: int, cfg: MCDConfig = MCDConfig()
) -> dict[str, float]:
    """DTW-aligned MCD (dB), log-F0 RMSE (cents) and voicing error of ``degraded`` against ``reference``.

    ``reference, degraded: (L,)`` at ``sample_rate``. ``f0_rmse_cents`` is NaN when no aligned pair is
    voiced in both.
    """
    ref_mc, ref_f0 = world_features(reference, sample_rate, cfg)
    deg_mc, deg_f0 = world_features(degraded, sample_rate, cfg)
    path = dtw_path(ref_mc[:, 1:], deg_mc[:, 1:])
    diff = ref_mc[path[:, 0], 1:] - deg_mc[path[:, 1], 1:]
    mcd = float(np.mean(_MCD_K * np.sqrt(np.sum(diff * diff, axis=1))))
    fr, fd = ref_f0[path[:, 0]], deg_f0[path[:, 1]]
    vr, vd = fr > 0, fd > 0
    both = vr & vd
    cents = 1200.0 * np.log2(fr[both] / fd[both]) if both.any() else np.zeros(0)
    return {
        "mcd_db": mcd,
        "f0_rmse_cents": float(np.sqrt(np.mean(cents**2))) if cents.size else float("nan"),
        "vuv_error": float(np.mean(vr != vd)),
        "frames": int(len(path)),
    }


def copy_synthesis_scores(
    reference: np.ndarray, degraded: np.ndarray, sample_rate: int, tolerance: float = 0.01
) -> dict[str, float]:
    """Wide-band PESQ and STOI of sample-aligned signals ``(L,)``.

    Returns ``{}`` when the lengths differ by more than ``tolerance`` (relative).
    """
    from tts.audio import resample

    n = min(len(reference), len(degraded))
    if n == 0 or abs(len(reference) - len(degraded)) > tolerance * max(len(reference), len(degraded)):
        return {}
    ref = resample(reference[:n].astype(np.float32), sample_rate, 16000).astype(np.float64)
    deg = resample(degraded[:n].astype(np.float32), sample_rate, 16000).astype(np.float64)
    out: dict[str, float] = {}
    try:
        from pesq import pesq

        out["pesq_wb"] = float(pesq(16000, ref, deg, "wb"))
    except Exception:  # pesq raises on signals it finds no speech in; report nothing rather than a fake
        out["pesq_wb"] = float("nan")
    from pystoi import stoi

    out["stoi"] = float(stoi(ref, deg, 16000, extended=False))
    return out
