"""Short-time Fourier transforms in the framing of :class:`tts.audio.MelSpectrogram`, with an inverse
made of real-valued ops only, so it exports to ONNX.

Framing (same as the mel): ``L = T * hop`` samples are reflect-padded by ``pad = (n_fft - hop) / 2``
on both sides and cut into ``T`` un-centred frames, so frame ``t`` is centred on sample
``t * hop + hop / 2``. The inverse overlap-adds ``T`` windowed frames into ``(T - 1) * hop + n_fft``
samples, divides by the window-square envelope (least-squares ISTFT, Griffin & Lim 1984) and crops
``pad`` samples from each side: exactly ``T * hop`` samples, time-aligned with the input.

``torch.istft`` cannot be exported (complex tensors). Here the inverse real DFT, the synthesis
window and the overlap-add are one ``conv_transpose1d`` whose kernel is the windowed inverse-DFT
basis: output channel 0 receives, at time ``t * hop + n``, ``sum_k basis[k, n] * X[k, t]`` — a matmul
with the basis followed by overlap-add, in one op that ONNX runtimes implement well.

Letters: B batch, F = n_fft / 2 + 1 frequency bins, T frames, L samples.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def _padded_window(win_length: int, n_fft: int) -> torch.Tensor:
    """Periodic Hann window of ``win_length`` centred in ``n_fft`` (as ``torch.stft`` pads it)."""
    w = torch.hann_window(win_length, dtype=torch.float64)
    left = (n_fft - win_length) // 2
    return F.pad(w, (left, n_fft - win_length - left))


def stft(wav: torch.Tensor, n_fft: int = 1024, hop_length: int = 256, win_length: int = 1024) -> torch.Tensor:
    """Complex STFT framed like ``MelSpectrogram.magnitude``: ``(B, L) -> (B, F, ceil(L / hop))``."""
    if wav.dim() == 1:
        wav = wav.unsqueeze(0)
    n_frames = math.ceil(wav.shape[-1] / hop_length)
    pad = (n_fft - hop_length) // 2
    wav = F.pad(wav, (0, n_frames * hop_length - wav.shape[-1]))
    mode = "reflect" if wav.shape[-1] > pad else "constant"
    wav = F.pad(wav.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)
    window = torch.hann_window(win_length, device=wav.device, dtype=wav.dtype)
    return torch.stft(wav, n_fft, hop_length, win_length, window, center=False, return_complex=True)


class InverseSTFT(nn.Module):
    """Least-squares inverse STFT from real/imaginary parts, built from ONNX-exportable ops.

    ``forward(real: (B, F, T), imag: (B, F, T)) -> (B, (T - 1) * hop + n_fft - 2 * padding)``.
    With the default ``padding = (n_fft - hop) / 2`` that is ``T * hop`` samples in the mel framing;
    ``padding = n_fft / 2`` reproduces ``torch.istft(center=True)``.
    """

    kernel: torch.Tensor
    window_sq: torch.Tensor

    def __init__(
        self,
        n_fft: int = 1024,
        hop_length: int = 256,
        win_length: int | None = None,
        padding: int | None = None,
    ) -> None:
        super().__init__()
        win_length = win_length or n_fft
        if win_length > n_fft:
            raise ValueError(f"win_length {win_length} must be <= n_fft {n_fft}")
        if hop_length > win_length:
            raise ValueError(
                f"hop_length {hop_length} > win_length {win_length} leaves gaps in the overlap-add"
            )
        self.n_fft, self.hop_length = n_fft, hop_length
        self.padding = (n_fft - hop_length) // 2 if padding is None else padding
        if not 0 <= self.padding < n_fft:
            raise ValueError(f"padding must be in [0, n_fft), got {self.padding}")
        window = _padded_window(win_length, n_fft)
        n_bins = n_fft // 2 + 1
        n = torch.arange(n_fft, dtype=torch.float64)
        k = torch.arange(n_bins, dtype=torch.float64)
        angle = 2 * math.pi * k[:, None] * n[None, :] / n_fft  # (F, n_fft)
        # irfft weights: DC and Nyquist count once, the other bins twice (Hermitian symmetry)
        scale = torch.full((n_bins, 1), 2.0 / n_fft, dtype=torch.float64)
        scale[0] = scale[-1] = 1.0 / n_fft
        cos_basis = scale * torch.cos(angle) * window
        sin_basis = -scale * torch.sin(angle) * window
        kernel = torch.cat([cos_basis, sin_basis], dim=0).unsqueeze(1)  # (2F, 1, n_fft)
        self.register_buffer("kernel", kernel.float(), persistent=False)
        self.register_buffer("window_sq", window.square().float().view(1, 1, -1), persistent=False)

    def forward(self, real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
        x = torch.cat([real, imag], dim=1)
        y = F.conv_transpose1d(x, self.kernel, stride=self.hop_length)  # (B, 1, (T-1)*hop + n_fft)
        # window-square envelope for this many frames; ones_like keeps the time axis dynamic in ONNX
        envelope = F.conv_transpose1d(torch.ones_like(x[:1, :1]), self.window_sq, stride=self.hop_length)
        y = y / envelope.clamp(min=1e-8)
        # a negative stop index keeps the crop free of shape arithmetic in the exported graph
        return y[:, 0, self.padding : -self.padding] if self.padding else y[:, 0]


def refine_phase(
    log_mag: torch.Tensor, phase: torch.Tensor, iterations: int, istft: InverseSTFT, momentum: float = 0.99
) -> torch.Tensor:
    """Differentiable twin of :func:`tts.core.spectral.refine_phase`: ``iterations`` fast-Griffin-Lim steps
    (Perraudin, Balazs & Søndergaard 2013) from ``exp(log_mag) · e^{i·phase}``, ``(B, F, T)`` each,
    then the inverse STFT, ``(B, T · hop)``. Training through it lets the losses judge the waveform
    that inference with ``phase_iterations`` produces (``VocoderLossConfig.refine_iterations``)."""
    mag = torch.exp(log_mag.float())
    phase = phase.float()
    real, imag = mag * torch.cos(phase), mag * torch.sin(phase)
    n_fft, hop = istft.n_fft, istft.hop_length
    prev: torch.Tensor | None = None
    for _ in range(iterations):
        proj = stft(istft(real, imag), n_fft, hop, n_fft)
        accel = proj if prev is None else proj + momentum * (proj - prev)
        prev = proj
        scale = mag / torch.sqrt(accel.real.square() + accel.imag.square() + 1e-20)
        real, imag = accel.real * scale, accel.imag * scale
    return istft(real, imag)
