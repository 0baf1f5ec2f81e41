"""Discriminators for adversarial vocoder training.

- **MPD**, multi-period (Kong et al. 2020, HiFi-GAN): the waveform folded into ``(L / p, p)`` for
  periods 2, 3, 5, 7, 11, judged by 2-D convolutions along the first axis — each sub-discriminator
  sees one phase of each period, which exposes periodic (pitch) structure.
- **MRD**, multi-resolution (Jang et al. 2021, UnivNet; used by Vocos): 2-D convolutions over STFT
  magnitudes at several resolutions — penalises over-smoothed spectra and phase artefacts that
  show up as smeared harmonics.
- **MSD**, multi-scale (Kumar et al. 2019, MelGAN; HiFi-GAN): grouped 1-D convolutions on the raw,
  2× and 4× average-pooled waveform.

:class:`Discriminator` takes ``(real, fake)`` in one call (one forward per backward, as DDP needs)
and runs them as one batch. Channel widths are configurable: full size on a GPU, narrow ones make
the adversarial phase affordable on a CPU. Letters: B batch, L samples, F bins, T frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import weight_norm

LRELU_SLOPE = 0.1
DISCRIMINATOR_KINDS = ("mpd", "mrd", "msd")

# (scores per sub-discriminator, feature maps per sub-discriminator)
Judgement = tuple[list[torch.Tensor], list[list[torch.Tensor]]]


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Which discriminators to use and how wide they are."""

    kinds: tuple[str, ...] = ("mpd", "mrd")  #: any of "mpd", "mrd", "msd"
    periods: tuple[int, ...] = (2, 3, 5, 7, 11)  #: MPD periods (primes avoid overlapping views)
    mpd_channels: tuple[int, ...] = (32, 128, 512, 1024, 1024)  #: MPD conv widths (HiFi-GAN sizes)
    mrd_resolutions: tuple[tuple[int, int, int], ...] = (
        (2048, 512, 2048),
        (1024, 256, 1024),
        (512, 128, 512),
    )
    mrd_channels: int = 32  #: MRD conv width (n_fft, hop, win per resolution above)
    msd_scales: int = 3  #: MSD: raw waveform + (scales - 1) average-pooled copies
    msd_channels: tuple[int, ...] = (16, 64, 256, 1024, 1024, 1024)  #: MSD conv widths

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))
        object.__setattr__(self, "mrd_resolutions", tuple(tuple(r) for r in self.mrd_resolutions))
        for name in ("periods", "mpd_channels", "msd_channels"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        unknown = set(self.kinds) - set(DISCRIMINATOR_KINDS)
        if not self.kinds or unknown:
            raise ValueError(
                f"discriminator kinds must be a non-empty subset of {DISCRIMINATOR_KINDS}, got {self.kinds}"
            )
        if any(len(r) != 3 for r in self.mrd_resolutions):
            raise ValueError(f"mrd_resolutions must be (n_fft, hop, win) triples, got {self.mrd_resolutions}")
        if len(self.mpd_channels) < 2 or len(self.msd_channels) < 3:
            raise ValueError("mpd_channels needs >= 2 widths and msd_channels >= 3 widths")


class PeriodDiscriminator(nn.Module):
    """One MPD branch: fold ``(B, 1, L)`` into ``(B, 1, L / p, p)``, then strided ``(5, 1)`` convolutions."""

    def __init__(self, period: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.period = period
        widths = (1, *channels)
        self.convs = nn.ModuleList(
            # all but the last conv stride by 3 along time; the last keeps resolution (HiFi-GAN)
            weight_norm(
                nn.Conv2d(c_in, c_out, (5, 1), (3 if i < len(channels) - 1 else 1, 1), padding=(2, 0))
            )
            for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:]))
        )
        self.post = weight_norm(nn.Conv2d(channels[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, _, n = x.shape
        if n % self.period:
            x = F.pad(x, (0, self.period - n % self.period), mode="reflect")
        x = x.view(b, 1, -1, self.period)
        fmaps = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmaps.append(x)
        x = self.post(x)
        fmaps.append(x)
        return x.flatten(1), fmaps


class ResolutionDiscriminator(nn.Module):
    """One MRD branch: 2-D convolutions over the ``(F, T)`` STFT magnitude at one resolution."""

    window: torch.Tensor

    def __init__(self, resolution: tuple[int, int, int], channels: int) -> None:
        super().__init__()
        self.n_fft, self.hop, self.win = resolution
        self.register_buffer("window", torch.hann_window(self.win), persistent=False)
        c = channels
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv2d(1, c, (3, 9), padding=(1, 4))),
                # strides along time only: frequency resolution is what this branch is for
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 9), stride=(1, 2), padding=(1, 4))),
                weight_norm(nn.Conv2d(c, c, (3, 3), padding=(1, 1))),
            ]
        )
        self.post = weight_norm(nn.Conv2d(c, 1, (3, 3), padding=(1, 1)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        spec = torch.stft(
            x.squeeze(1).float(),
            self.n_fft,
            self.hop,
            self.win,
            self.window,
            center=True,
            return_complex=True,
        )
        x = torch.sqrt(spec.real.square() + spec.imag.square() + 1e-9).unsqueeze(1)  # (B, 1, F, T)
        fmaps = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmaps.append(x)
        x = self.post(x)
        fmaps.append(x)
        return x.flatten(1), fmaps


class ScaleDiscriminator(nn.Module):
    """One MSD branch: grouped strided 1-D convolutions on the waveform ``(B, 1, L)``."""

    def __init__(self, channels: tuple[int, ...]) -> None:
        super().__init__()
        layers = [nn.Conv1d(1, channels[0], 15, padding=7)]
        for c_in, c_out in zip(channels[:-2], channels[1:-1]):
            # grouped convs keep the wide layers cheap (MelGAN); groups = c_in / 4
            layers.append(nn.Conv1d(c_in, c_out, 41, stride=4, groups=max(1, c_in // 4), padding=20))
        layers.append(nn.Conv1d(channels[-2], channels[-1], 5, padding=2))
        self.convs = nn.ModuleList(weight_norm(m) for m in layers)
        self.post = weight_norm(nn.Conv1d(channels[-1], 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        fmaps = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmaps.append(x)
        x = self.post(x)
        fmaps.append(x)
        return x.flatten(1), fmaps


class Discriminator(nn.Module):
    """All configured sub-discriminators.

    ``forward(real: (B, L), fake: (B, L)) -> (real_scores, fake_scores, real_fmaps, fake_fmaps)``:
    lists with one entry per sub-discriminator (scores ``(B, *)``; feature maps a list per branch).
    """

    def __init__(self, cfg: DiscriminatorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        branches: list[nn.Module] = []
        if "mpd" in cfg.kinds:
            branches += [PeriodDiscriminator(p, cfg.mpd_channels) for p in cfg.periods]
        if "mrd" in cfg.kinds:
            branches += [ResolutionDiscriminator(r, cfg.mrd_channels) for r in cfg.mrd_resolutions]
        self.branches = nn.ModuleList(branches)
        self.scale_branches = nn.ModuleList(
            ScaleDiscriminator(cfg.msd_channels) for _ in range(cfg.msd_scales if "msd" in cfg.kinds else 0)
        )

    def judge(self, wav: torch.Tensor) -> Judgement:
        """Scores and feature maps of every branch for one batch ``wav: (B, L)``."""
        x = wav.unsqueeze(1)
        scores, fmaps = [], []
        for branch in self.branches:
            s, f = branch(x)
            scores.append(s)
            fmaps.append(f)
        for i, branch in enumerate(self.scale_branches):
            if i:  # each further MSD scale halves the sample rate (MelGAN's average pooling)
                x = F.avg_pool1d(x, 4, 2, padding=2)
            s, f = branch(x)
            scores.append(s)
            fmaps.append(f)
        return scores, fmaps

    def forward(
        self, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[list[torch.Tensor]], list[list[torch.Tensor]]]:
        if real.shape != fake.shape:
            raise ValueError(f"real {tuple(real.shape)} and fake {tuple(fake.shape)} waveforms must match")
        b = real.shape[0]
        scores, fmaps = self.judge(torch.cat([real, fake], dim=0))
        return (
            [s[:b] for s in scores],
            [s[b:] for s in scores],
            [[f[:b] for f in fm] for fm in fmaps],
            [[f[b:] for f in fm] for fm in fmaps],
        )
