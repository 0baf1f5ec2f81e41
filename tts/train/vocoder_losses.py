"""Vocoder losses: least-squares GAN, feature matching, multi-resolution STFT.

- Least-squares GAN (Mao et al. 2017, as in HiFi-GAN): D pushes real scores to 1 and fake to 0;
  G pushes fake scores to 1. Summed over sub-discriminators, mean over their outputs.
- Feature matching (Larsen et al. 2016; Kumar et al. 2019): L1 between the discriminator's
  intermediate activations on real and generated audio — a learned perceptual distance.
- Multi-resolution STFT (Yamamoto et al. 2020, Parallel WaveGAN): spectral convergence
  ``||S - Ŝ||_F / ||S||_F`` + L1 of log magnitudes, averaged over three resolutions, so no single
  time/frequency trade-off dominates.
- Amplitude and anti-wrapping phase losses (Ai & Ling 2023, APNet, §3.3) for generators that
  predict an STFT (the iSTFT head): MSE between predicted and true log magnitudes, and for the
  phase ``f(x) = |x - 2π·round(x / 2π)|`` applied to the instantaneous phase error, to the error of
  its difference along frequency (group delay) and along time (instantaneous frequency). Magnitude
  losses cannot see phase, and a phase that is wrong from frame to frame is heard as a buzz at the
  frame rate; the time-difference term targets exactly that, without a discriminator.

The mel L1 term uses THE log-mel (:class:`tts.audio.MelSpectrogram`) and lives in the training task.
Letters: B batch, L samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class VocoderLossConfig:
    """Loss weights (HiFi-GAN's: mel 45, feature matching 2, adversarial 1)."""

    mel_weight: float = 45.0  #: L1 between log-mels of generated and real audio
    stft_weight: float = 1.0  #: multi-resolution STFT loss (spectral convergence + log magnitude)
    adversarial_weight: float = 1.0  #: least-squares generator loss
    feature_matching_weight: float = 2.0  #: L1 between discriminator feature maps
    #: MSE of predicted vs true log STFT magnitude (APNet's 45); iSTFT-head generators only
    amplitude_weight: float = 45.0
    #: anti-wrapping phase losses, instantaneous phase + group delay + time difference (APNet's 100);
    #: iSTFT-head generators only
    phase_weight: float = 100.0
    #: phase errors count only in bins whose true magnitude is within this many dB of their frame's
    #: loudest bin (0 = every bin, APNet's plain mean); see :func:`amplitude_phase_losses`
    phase_floor_db: float = 0.0
    #: the mel, STFT and adversarial terms judge the waveform after this many phase-refinement
    #: iterations (``tts.models.vocoder.istft.refine_phase``, differentiable), as inference with
    #: ``voice.json`` ``phase_iterations`` makes it; iSTFT-head generators only
    refine_iterations: int = 0
    #: (n_fft, hop, win) per resolution — Parallel WaveGAN's three
    stft_resolutions: tuple[tuple[int, int, int], ...] = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))

    def __post_init__(self) -> None:
        object.__setattr__(self, "stft_resolutions", tuple(tuple(r) for r in self.stft_resolutions))
        if any(len(r) != 3 for r in self.stft_resolutions):
            raise ValueError(
                f"stft_resolutions must be (n_fft, hop, win) triples, got {self.stft_resolutions}"
            )
        weights = (
            self.mel_weight,
            self.stft_weight,
            self.adversarial_weight,
            self.feature_matching_weight,
            self.amplitude_weight,
            self.phase_weight,
            self.phase_floor_db,
            self.refine_iterations,
        )
        if min(weights) < 0:
            raise ValueError(f"loss weights must be >= 0: {self}")


def discriminator_loss(real_scores: list[torch.Tensor], fake_scores: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares discriminator loss ``Σ_k E[(1 - D_k(y))²] + E[D_k(ŷ)²]`` (scalar)."""
    loss = real_scores[0].new_zeros(())
    for r, f in zip(real_scores, fake_scores):
        loss = loss + torch.mean((1 - r.float()) ** 2) + torch.mean(f.float() ** 2)
    return loss


def generator_adversarial_loss(fake_scores: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares generator loss ``Σ_k E[(1 - D_k(ŷ))²]`` (scalar)."""
    loss = fake_scores[0].new_zeros(())
    for f in fake_scores:
        loss = loss + torch.mean((1 - f.float()) ** 2)
    return loss


def feature_matching_loss(
    real_fmaps: list[list[torch.Tensor]], fake_fmaps: list[list[torch.Tensor]]
) -> torch.Tensor:
    """``Σ_k Σ_l E|D_k^l(y) - D_k^l(ŷ)|`` with the real features detached (a target, not trained here)."""
    loss = real_fmaps[0][0].new_zeros(())
    for real_branch, fake_branch in zip(real_fmaps, fake_fmaps):
        for r, f in zip(real_branch, fake_branch):
            loss = loss + torch.mean(torch.abs(r.detach().float() - f.float()))
    return loss


def anti_wrap(x: torch.Tensor) -> torch.Tensor:
    """``|x - 2π·round(x / 2π)|``: the distance of an angle difference to the nearest multiple of 2π."""
    return torch.abs(x - 2 * math.pi * torch.round(x / (2 * math.pi)))


def amplitude_phase_losses(
    log_mag: torch.Tensor,
    phase: torch.Tensor,
    target: torch.Tensor,
    absolute: bool = True,
    floor_db: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """APNet's amplitude and phase losses against a complex STFT ``target`` in the same framing.

    ``log_mag, phase: (B, F, T)`` predicted natural-log magnitude and angle; returns
    ``(amplitude, phase)``: the MSE of log magnitudes and the sum of the mean anti-wrapped
    instantaneous-phase, group-delay (difference along F) and instantaneous-frequency (difference
    along T) errors. ``absolute=False`` leaves out the instantaneous-phase term, for a phase that is
    integrated over time from an arbitrary start (its absolute value carries no information).

    ``floor_db > 0`` averages the phase errors only over bins whose true magnitude is within
    ``floor_db`` dB of the loudest bin of their frame (both bins of a difference). The phase of the
    noise floor is unpredictable from a mel and inaudible next to the partials, yet in a plain mean
    those bins are most of the loss; measured on the shipped vocoder, giving it the true phase only
    where the magnitude is within 30 dB of the frame's peak recovers nearly all that the true phase
    everywhere does for DNSMOS (docs/vocoder.md).
    """
    target = target.to(torch.complex64)
    true_log_mag = torch.log(target.abs().clamp(min=1e-5))
    true_phase = torch.angle(target)
    amplitude = torch.mean((log_mag.float() - true_log_mag) ** 2)
    err = phase.float()
    if floor_db > 0:
        floor = true_log_mag.amax(dim=1, keepdim=True) - floor_db * math.log(10.0) / 20.0
        keep = (true_log_mag > floor).float()
    else:
        keep = torch.ones_like(true_log_mag)

    def masked_mean(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return torch.sum(x * w) / w.sum().clamp(min=1.0)

    gd = masked_mean(
        anti_wrap(torch.diff(err, dim=1) - torch.diff(true_phase, dim=1)), keep[:, 1:] * keep[:, :-1]
    )
    iaf = masked_mean(
        anti_wrap(torch.diff(err, dim=2) - torch.diff(true_phase, dim=2)), keep[..., 1:] * keep[..., :-1]
    )
    if absolute:  # the instantaneous-phase term
        return amplitude, masked_mean(anti_wrap(err - true_phase), keep) + gd + iaf
    return amplitude, gd + iaf


class MultiResolutionSTFTLoss(nn.Module):
    """``forward(fake: (B, L), real: (B, L)) -> (spectral_convergence, log_magnitude)``, each averaged
    over the resolutions."""

    def __init__(self, resolutions: tuple[tuple[int, int, int], ...]) -> None:
        super().__init__()
        self.resolutions = resolutions
        for i, (_, _, win) in enumerate(resolutions):
            self.register_buffer(f"window_{i}", torch.hann_window(win), persistent=False)

    def _magnitude(self, x: torch.Tensor, i: int) -> torch.Tensor:
        n_fft, hop, win = self.resolutions[i]
        spec = torch.stft(x.float(), n_fft, hop, win, getattr(self, f"window_{i}"), return_complex=True)
        return torch.sqrt(spec.real.square() + spec.imag.square() + 1e-9)

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sc = fake.new_zeros((), dtype=torch.float32)
        mag = fake.new_zeros((), dtype=torch.float32)
        for i in range(len(self.resolutions)):
            s_fake, s_real = self._magnitude(fake, i), self._magnitude(real, i)
            sc = sc + torch.linalg.norm(s_real - s_fake) / torch.linalg.norm(s_real).clamp(min=1e-6)
            mag = mag + torch.mean(
                torch.abs(torch.log(s_real.clamp(min=1e-5)) - torch.log(s_fake.clamp(min=1e-5)))
            )
        n = len(self.resolutions)
        return sc / n, mag / n
