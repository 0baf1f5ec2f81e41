"""Audio I/O and THE log-mel spectrogram used by every stage (data prep, VAE, vocoder, evaluation).

Settings (``AudioConfig`` defaults) are the LJSpeech ones shared by HiFi-GAN and Matcha-TTS:
22 050 Hz, n_fft = win = 1024, hop 256, 80 Slaney mel bins over 0–8 kHz, natural log of the
magnitude clamped at 1e-5.

Framing convention: a waveform of ``L`` samples gives ``T = ceil(L / hop)`` frames. The signal is
zero-padded on the right to ``T * hop`` samples and then reflect-padded by ``(n_fft - hop) / 2`` on
both sides before an un-centred STFT, so frame ``t`` is centred on sample ``t * hop + hop / 2`` and a
vocoder producing ``hop`` samples per frame returns exactly ``T * hop`` samples.

Letters used for shapes: B batch, L samples, T mel frames, M mel bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from tts.core.files import write_audio


@dataclass(frozen=True)
class AudioConfig:
    """Signal-processing settings; stored in every checkpoint so models stay comparable."""

    sample_rate: int = 22050  #: Hz, mono
    n_fft: int = 1024  #: FFT size
    win_length: int = 1024  #: Hann window length (≤ n_fft)
    hop_length: int = 256  #: samples per mel frame
    n_mels: int = 80  #: mel bins
    fmin: float = 0.0  #: lowest mel filter edge, Hz
    fmax: float = 8000.0  #: highest mel filter edge, Hz
    log_clamp: float = 1e-5  #: magnitude floor before the natural log

    def n_frames(self, n_samples: int) -> int:
        """Number of mel frames for ``n_samples`` samples (ceil)."""
        return math.ceil(n_samples / self.hop_length)


# ---------------------------------------------------------------------------------------------
# I/O
# ---------------------------------------------------------------------------------------------


def load_audio(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a wav/flac/ogg file as mono float32 in [-1, 1], resampled to ``sample_rate`` if given.

    Returns ``(wav: (L,), sr)``. Raises ``ValueError`` for unreadable or empty files.
    """
    import soundfile as sf

    try:
        wav, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises several types (LibsndfileError, RuntimeError…)
        raise ValueError(f"cannot read audio file {path}: {e}") from e
    wav = wav.mean(axis=1)
    if wav.size == 0:
        raise ValueError(f"audio file {path} is empty")
    if sample_rate is not None and sr != sample_rate:
        wav = resample(wav, sr, sample_rate)
        sr = sample_rate
    return np.ascontiguousarray(wav, dtype=np.float32), int(sr)


def resample(wav: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (soxr high quality via librosa). ``wav: (L,)``."""
    if orig_sr == target_sr:
        return wav
    import librosa

    return librosa.resample(wav, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq").astype(np.float32)


def save_audio(path: str | Path, wav: np.ndarray | torch.Tensor, sample_rate: int) -> Path:
    """Write mono audio as 16-bit PCM wav or flac (by suffix), atomically (temp file + rename).

    Nothing is left under ``path`` if writing fails. ``wav: (L,)`` float in [-1, 1].
    """
    if isinstance(wav, torch.Tensor):
        wav = wav.detach().cpu().float().numpy()
    return write_audio(path, wav, sample_rate)


def peak_normalize(wav: np.ndarray, peak: float = 0.95) -> np.ndarray:
    """Scale so that max |wav| == ``peak`` (silence is returned unchanged)."""
    m = float(np.max(np.abs(wav))) if wav.size else 0.0
    return wav if m < 1e-8 else (wav * (peak / m)).astype(np.float32)


def loudness_normalize(wav: np.ndarray, target_dbfs: float = -23.0, peak: float = 0.99) -> np.ndarray:
    """Scale to an RMS level of ``target_dbfs`` dBFS, then limit the peak to ``peak``.

    A simple RMS loudness (not ITU-R BS.1770 gating): enough to level a TTS corpus.
    """
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if wav.size else 0.0
    if rms < 1e-8:
        return wav
    out = wav * (10 ** (target_dbfs / 20) / rms)
    m = float(np.max(np.abs(out)))
    if m > peak:
        out = out * (peak / m)
    return out.astype(np.float32)


def trim_silence(wav: np.ndarray, top_db: float = 40.0, margin: int = 2205) -> np.ndarray:
    """Cut leading/trailing audio quieter than ``top_db`` below the peak, keeping ``margin`` samples."""
    import librosa

    _, (start, end) = librosa.effects.trim(wav, top_db=top_db, frame_length=1024, hop_length=256)
    start, end = max(0, start - margin), min(len(wav), end + margin)
    return wav[start:end] if end > start else wav


# ---------------------------------------------------------------------------------------------
# Log-mel spectrogram
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    import librosa

    return librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=False, norm="slaney"
    )


class MelSpectrogram(nn.Module):
    """Differentiable, batched log-mel spectrogram (``torch.stft`` + librosa's Slaney filterbank).

    ``forward(wav: (B, L) or (L,)) -> (B, M, ceil(L / hop))`` (natural-log magnitude mel).
    Works on any device; buffers follow ``.to(device)``.
    """

    def __init__(self, cfg: AudioConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or AudioConfig()
        c = self.cfg
        if (c.n_fft - c.hop_length) % 2:
            raise ValueError("n_fft - hop_length must be even for symmetric padding")
        basis = _mel_basis(c.sample_rate, c.n_fft, c.n_mels, c.fmin, c.fmax)
        self.register_buffer("mel_basis", torch.from_numpy(basis).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(c.win_length), persistent=False)

    def magnitude(self, wav: torch.Tensor) -> torch.Tensor:
        """Linear STFT magnitude, ``(B, L) -> (B, n_fft // 2 + 1, T)``."""
        c = self.cfg
        if wav.dim() == 1:
            wav = wav.unsqueeze(0)
        n_frames = math.ceil(wav.shape[-1] / c.hop_length)
        pad = (c.n_fft - c.hop_length) // 2
        wav = nn.functional.pad(wav, (0, n_frames * c.hop_length - wav.shape[-1]))
        # reflect padding needs pad < length; very short inputs fall back to zero padding
        mode = "reflect" if wav.shape[-1] > pad else "constant"
        wav = nn.functional.pad(wav.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)
        spec = torch.stft(
            wav.float(),
            c.n_fft,
            hop_length=c.hop_length,
            win_length=c.win_length,
            window=self.window,
            center=False,
            return_complex=True,
        )
        # sqrt(re² + im² + eps) keeps the gradient finite at zero magnitude
        return torch.sqrt(spec.real.square() + spec.imag.square() + 1e-9)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(self.mel_basis, self.magnitude(wav))
        return torch.log(torch.clamp(mel, min=self.cfg.log_clamp))


_DEFAULT_MEL: dict[AudioConfig, MelSpectrogram] = {}


def log_mel(wav: np.ndarray | torch.Tensor, cfg: AudioConfig | None = None) -> torch.Tensor:
    """Convenience wrapper: ``(L,) -> (M, T)`` or ``(B, L) -> (B, M, T)`` with a cached module."""
    cfg = cfg or AudioConfig()
    mod = _DEFAULT_MEL.get(cfg)
    if mod is None:
        mod = _DEFAULT_MEL[cfg] = MelSpectrogram(cfg)
    x = torch.as_tensor(wav, dtype=torch.float32)
    squeeze = x.dim() == 1
    out = mod.to(x.device)(x)
    return out[0] if squeeze else out
