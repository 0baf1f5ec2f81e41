"""Weight-free vocoder: mel → linear magnitude → fast Griffin-Lim phase reconstruction.

1. The log-mel is exponentiated and mapped back to an STFT magnitude by non-negative least squares
   against the Slaney filterbank: a clamped pseudo-inverse as the start, refined by multiplicative
   updates (Lee & Seung 2001), which keep the magnitude non-negative without a solver.
2. Phase comes from the fast Griffin-Lim algorithm (Perraudin, Balazs & Søndergaard 2013), Griffin &
   Lim's (1984) alternating projections between "has this magnitude" and "is a consistent STFT"
   with a momentum step ``c_n = t_n + α (t_n - t_{n-1})``, which converges in far fewer iterations.

Same call interface as the neural generators, so it is the fallback when no vocoder is trained.
Letters: B batch, M mel bins, F = n_fft / 2 + 1 bins, T frames.
"""

from __future__ import annotations

import math
from typing import cast

import torch

from tts.audio import AudioConfig, MelSpectrogram
from tts.models.vocoder.generators import Vocoder, check_mel
from tts.models.vocoder.istft import InverseSTFT, stft


class GriffinLim(Vocoder):
    """``forward(mel: (B, M, T) raw log-mel) -> wav (B, T·hop)``; deterministic for a given ``seed``."""

    mel_basis: torch.Tensor
    mel_pinv: torch.Tensor

    def __init__(
        self,
        audio: AudioConfig | None = None,
        n_iter: int = 32,
        momentum: float = 0.99,
        nnls_iter: int = 30,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if n_iter < 1 or not 0.0 <= momentum < 1.0:
            raise ValueError(f"need n_iter >= 1 and 0 <= momentum < 1, got {n_iter}, {momentum}")
        self.audio = audio or AudioConfig()
        self.n_iter, self.momentum, self.nnls_iter, self.seed = n_iter, momentum, nnls_iter, seed
        basis = cast(torch.Tensor, MelSpectrogram(self.audio).mel_basis)  # (M, F): the mel's filterbank
        self.register_buffer("mel_basis", basis, persistent=False)
        self.register_buffer("mel_pinv", torch.linalg.pinv(basis.double()).float(), persistent=False)
        a = self.audio
        self.istft = InverseSTFT(a.n_fft, a.hop_length, a.win_length)

    def mel_to_magnitude(self, mel: torch.Tensor) -> torch.Tensor:
        """Non-negative least-squares STFT magnitude for a log-mel, ``(B, M, T) -> (B, F, T)``."""
        target = torch.exp(mel.float())
        # floor at the log clamp: multiplicative updates cannot move an exact zero
        mag = (self.mel_pinv @ target).clamp(min=self.audio.log_clamp)
        basis_t = self.mel_basis.T
        numerator = basis_t @ target
        for _ in range(self.nnls_iter):
            mag = mag * numerator / (basis_t @ (self.mel_basis @ mag)).clamp(min=1e-10)
        return mag

    @torch.no_grad()
    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        check_mel(mel, self.audio.n_mels)
        a = self.audio
        mag = self.mel_to_magnitude(mel)
        gen = torch.Generator(device="cpu").manual_seed(self.seed)
        phase = torch.rand(mag.shape, generator=gen).to(mag.device) * (2 * math.pi)
        c = torch.polar(mag, phase)
        t_prev = torch.zeros_like(c)
        for _ in range(self.n_iter):
            # project onto "has the target magnitude", then onto "is the STFT of a signal"
            x = c * (mag / c.abs().clamp(min=1e-8))
            t = stft(self.istft(x.real, x.imag), a.n_fft, a.hop_length, a.win_length)
            c = t + self.momentum * (t - t_prev)
            t_prev = t
        x = c * (mag / c.abs().clamp(min=1e-8))
        return self.istft(x.real, x.imag)
