"""HiFi-GAN generators V1, V2 and V3 (Kong, Kim & Bae 2020, "HiFi-GAN: Generative Adversarial Networks
for Efficient and High Fidelity Speech Synthesis").

    mel (B, M, T) ─ Conv1d(k=7) ─ [LeakyReLU ─ ConvTranspose1d(×u_i) ─ MRF_i] × stages
                  ─ LeakyReLU ─ Conv1d ─ tanh → wav (B, T·∏u_i)

A multi-receptive-field fusion (MRF) block averages residual blocks of several kernel sizes and
dilations. Each transposed convolution with kernel ``k`` and stride ``u`` is padded by ``(k - u) / 2``,
so every stage multiplies the length by exactly ``u`` and the output has ``T · hop`` samples.
Weight normalisation is used for training; :meth:`HiFiGANGenerator.remove_weight_norm` folds it
into plain weights for inference and export. Letters: B batch, M mel bins, T frames, C channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from tts.audio import AudioConfig
from tts.models.vocoder.generators import Vocoder, check_mel

LRELU_SLOPE = 0.1


@dataclass(frozen=True)
class HiFiGANConfig:
    """HiFi-GAN generator sizes; the defaults are V1 (13.9 M parameters)."""

    upsample_initial_channel: int = 512  #: channels after the input convolution; halved per stage
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)  #: per-stage upsampling; product must equal hop
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)  #: transposed-conv kernels (k - u even)
    resblock: str = "1"  #: "1" (two convs per dilation) or "2" (one conv per dilation, V3)
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)  #: MRF kernel sizes
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))  #: per kernel

    def __post_init__(self) -> None:
        # TOML gives lists; store tuples so configs compare equal after a save → load round trip
        object.__setattr__(self, "upsample_rates", tuple(self.upsample_rates))
        object.__setattr__(self, "upsample_kernel_sizes", tuple(self.upsample_kernel_sizes))
        object.__setattr__(self, "resblock_kernel_sizes", tuple(self.resblock_kernel_sizes))
        object.__setattr__(
            self, "resblock_dilation_sizes", tuple(tuple(d) for d in self.resblock_dilation_sizes)
        )
        if self.resblock not in ("1", "2"):
            raise ValueError(f"HiFiGANConfig.resblock must be '1' or '2', got {self.resblock!r}")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise ValueError("upsample_rates and upsample_kernel_sizes must have the same length")
        for u, k in zip(self.upsample_rates, self.upsample_kernel_sizes):
            if k < u or (k - u) % 2:
                raise ValueError(
                    f"upsample kernel {k} with rate {u}: need k >= u and k - u even for exact lengths"
                )
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ValueError("resblock_kernel_sizes and resblock_dilation_sizes must have the same length")
        if self.upsample_initial_channel % (2 ** len(self.upsample_rates)):
            raise ValueError("upsample_initial_channel must be divisible by 2 ** number of stages")


HIFIGAN_PRESETS: dict[str, HiFiGANConfig] = {
    "hifigan_v1": HiFiGANConfig(),
    "hifigan_v2": HiFiGANConfig(upsample_initial_channel=128),
    "hifigan_v3": HiFiGANConfig(
        upsample_initial_channel=256,
        upsample_rates=(8, 8, 4),
        upsample_kernel_sizes=(16, 16, 8),
        resblock="2",
        resblock_kernel_sizes=(3, 5, 7),
        resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)),
    ),
}


def _conv(channels: int, kernel_size: int, dilation: int) -> nn.Conv1d:
    # "same" padding for odd kernels at any dilation
    return nn.Conv1d(
        channels, channels, kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1) // 2
    )


class ResBlock(nn.Module):
    """HiFi-GAN residual block. Type "1": per dilation, LReLU → dilated conv → LReLU → conv, + skip.
    Type "2": per dilation, LReLU → dilated conv, + skip. ``forward(x: (B, C, L)) -> (B, C, L)``."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...], kind: str) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(_conv(channels, kernel_size, d) for d in dilations)
        self.convs2 = (
            nn.ModuleList(_conv(channels, kernel_size, 1) for _ in dilations) if kind == "1" else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs1):
            h = conv(F.leaky_relu(x, LRELU_SLOPE))
            if self.convs2 is not None:
                h = self.convs2[i](F.leaky_relu(h, LRELU_SLOPE))
            x = x + h
        return x


class HiFiGANGenerator(Vocoder):
    """HiFi-GAN upsampling generator. ``forward(mel: (B, M, T)) -> wav (B, T·hop)`` in [-1, 1]."""

    def __init__(self, cfg: HiFiGANConfig, audio: AudioConfig) -> None:
        super().__init__()
        if math.prod(cfg.upsample_rates) != audio.hop_length:
            raise ValueError(
                f"HiFi-GAN upsample rates {cfg.upsample_rates} multiply to {math.prod(cfg.upsample_rates)}, "
                f"but the mel hop is {audio.hop_length}"
            )
        self.cfg, self.audio = cfg, audio
        ch = cfg.upsample_initial_channel
        self.conv_pre = nn.Conv1d(audio.n_mels, ch, 7, padding=3)
        self.ups = nn.ModuleList()
        self.mrfs = nn.ModuleList()
        for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes)):
            c_in, c_out = ch // 2**i, ch // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(c_in, c_out, k, stride=u, padding=(k - u) // 2))
            self.mrfs.append(
                nn.ModuleList(
                    ResBlock(c_out, rk, rd, cfg.resblock)
                    for rk, rd in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes)
                )
            )
        self.conv_post = nn.Conv1d(ch // 2 ** len(cfg.upsample_rates), 1, 7, padding=3)
        for m in [*self.ups, *self.mrfs.modules(), self.conv_post]:
            if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
                nn.init.normal_(m.weight, 0.0, 0.01)  # the paper's init: small weights keep early audio quiet
        self.apply_weight_norm()

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        check_mel(mel, self.audio.n_mels)
        x = self.conv_pre(mel)
        for up, mrf in zip(self.ups, self.mrfs):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            blocks = cast(nn.ModuleList, mrf)
            x = sum(block(x) for block in blocks) / len(blocks)
        # the reference uses LeakyReLU's default slope (0.01) before the output conv
        x = self.conv_post(F.leaky_relu(x))
        return torch.tanh(x).squeeze(1)

    def _convs(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]

    def apply_weight_norm(self) -> None:
        """Reparametrise every convolution as ``g · v / ||v||`` (training); idempotent."""
        for m in self._convs():
            if not parametrize.is_parametrized(m, "weight"):
                weight_norm(m)

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights (inference, export); idempotent."""
        for m in self._convs():
            if parametrize.is_parametrized(m, "weight"):
                parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
