"""The latent diffusion decoder network: a 1-D U-Net predicting a velocity field.

Input: the noisy latent ``x_t`` concatenated with the condition ``mu_expanded`` (the encoder's
average latent, repeated per frame); a sinusoidal embedding of ``t`` plus the speaker embedding
modulate every residual block (FiLM: scale and shift after the block's second norm, as in the
improved-DDPM U-Net). Pre-activation ResNet blocks of two kernel-3 convolutions (Grad-TTS /
Matcha-TTS decoders use the same block), strided-conv downsampling and nearest-neighbour +
conv upsampling, one skip connection per level. Self-attention is optional and only at the
bottleneck, where sequences are 4x shorter (``attention_heads=0`` = none).

The network knows nothing about the training objective; ``objective.py`` wraps it.

Letters: B batch, C latent channels, T latent frames, S speaker width, K channels of a level.
Frames past each length are masked after every op and the channel-wise LayerNorm never mixes
frames, so padding does not change outputs at valid frames. Lengths not divisible by
2**levels are padded internally and cropped back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tts.models.encoder.text_encoder import ChannelNorm


@dataclass(frozen=True)
class DenoiserConfig:
    """1-D U-Net hyper-parameters."""

    channels: tuple[int, ...] = (128, 192, 256)  # per resolution: T, T/2, T/4 (two down levels)
    blocks_per_level: int = 2
    mid_blocks: int = 2
    emb_dim: int = 128  # time (+ speaker) embedding width fed to every block's FiLM
    attention_heads: int = 0  # bottleneck self-attention; 0 = none
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not self.channels:
            raise ValueError("denoiser channels must name at least one level")
        if self.blocks_per_level < 1:
            raise ValueError("denoiser blocks_per_level must be >= 1")
        if self.attention_heads and self.channels[-1] % self.attention_heads:
            raise ValueError("bottleneck channels must divide into attention_heads")


def timestep_embedding(t: torch.Tensor, dim: int, scale: float = 1000.0) -> torch.Tensor:
    """Transformer-style sinusoidal features of t in [0, 1] (scaled up so low frequencies still
    separate nearby times). t: (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = scale * t.float()[:, None] * freqs[None, :]
    return torch.cat([args.sin(), args.cos()], dim=-1)


class ResBlock(nn.Module):
    """norm -> SiLU -> conv -> norm * (1 + scale) + shift -> SiLU -> dropout -> conv, plus a skip."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = ChannelNorm(c_in)
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = ChannelNorm(c_out, elementwise_affine=False)  # FiLM provides the affine part
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """x: (B, K_in, T), mask: (B, 1, T), emb: (B, E) SiLU-activated -> (B, K_out, T)."""
        h = self.conv1(F.silu(self.norm1(x)) * mask)
        scale, shift = self.film(emb)[:, :, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.drop(F.silu(h)) * mask)
        return (h + self.skip(x)) * mask


class BottleneckAttention(nn.Module):
    """Pre-norm multi-head self-attention over frames with a key-padding mask (no positions:
    the convolutions around it already carry them)."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = ChannelNorm(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.out = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, K, T), mask: (B, 1, T) -> (B, K, T)."""
        b, k, t = x.shape
        q, kk, v = (
            self.qkv(self.norm(x)).view(b, 3, self.heads, k // self.heads, t).transpose(-1, -2).unbind(1)
        )
        y = F.scaled_dot_product_attention(q, kk, v, attn_mask=mask.bool()[:, :, None, :])
        return (x + self.out(y.transpose(-1, -2).reshape(b, k, t))) * mask


class UNet1d(nn.Module):
    """Velocity network v(x_t, t | mu_expanded, speaker)."""

    def __init__(self, cfg: DenoiserConfig, latent_channels: int, speaker_dim: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        ch, e = cfg.channels, cfg.emb_dim
        self.time_mlp = nn.Sequential(nn.Linear(ch[0], e), nn.SiLU(), nn.Linear(e, e))
        self.speaker_proj = nn.Linear(speaker_dim, e) if speaker_dim > 0 else None
        self.conv_in = nn.Conv1d(2 * latent_channels, ch[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for i, c in enumerate(ch):
            c_prev = ch[max(i - 1, 0)]
            self.down.append(
                nn.ModuleList(
                    ResBlock(c_prev if j == 0 else c, c, e, cfg.dropout) for j in range(cfg.blocks_per_level)
                )
            )
            if i < len(ch) - 1:
                self.downsample.append(nn.Conv1d(c, c, 3, stride=2, padding=1))
        self.mid = nn.ModuleList(ResBlock(ch[-1], ch[-1], e, cfg.dropout) for _ in range(cfg.mid_blocks))
        self.attn = BottleneckAttention(ch[-1], cfg.attention_heads) if cfg.attention_heads else None
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in range(len(ch) - 2, -1, -1):
            self.upsample.append(nn.Conv1d(ch[i + 1], ch[i], 3, padding=1))
            self.up.append(
                nn.ModuleList(
                    ResBlock(2 * ch[i] if j == 0 else ch[i], ch[i], e, cfg.dropout)
                    for j in range(cfg.blocks_per_level)
                )
            )
        self.norm_out = ChannelNorm(ch[0])
        self.conv_out = nn.Conv1d(ch[0], latent_channels, 3, padding=1)
        # Zero output layer: the untrained network predicts v = 0, a stable start for flow matching.
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    @property
    def factor(self) -> int:
        return 2 ** (len(self.cfg.channels) - 1)

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        mu: torch.Tensor,
        mask: torch.Tensor,
        g: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """x, mu: (B, C, T), t: (B,) in [0, 1], mask: (B, 1, T), g: (B, S) or None -> v (B, C, T)."""
        t_len = x.shape[-1]
        pad = (-t_len) % self.factor
        if pad:
            x, mu, mask = (F.pad(a, (0, pad)) for a in (x, mu, mask))
        emb = self.time_mlp(timestep_embedding(t, self.cfg.channels[0]).to(x.dtype))
        if self.speaker_proj is not None:
            if g is None:
                raise ValueError("this decoder is multi-speaker: pass a speaker embedding")
            emb = emb + self.speaker_proj(g)
        emb = F.silu(emb)

        h = self.conv_in(torch.cat([x, mu], dim=1) * mask) * mask
        skips, masks = [], [mask]
        for i, blocks in enumerate(self.down):
            for block in blocks:
                h = block(h, masks[-1], emb)
            if i < len(self.downsample):
                skips.append(h)
                masks.append(masks[-1][:, :, ::2])  # frame 2k survives stride-2 conv at k
                h = self.downsample[i](h) * masks[-1]
        for block in self.mid:
            h = block(h, masks[-1], emb)
        if self.attn is not None:
            h = self.attn(h, masks[-1])
        for upsample, blocks in zip(self.upsample, self.up):
            masks.pop()
            h = upsample(F.interpolate(h, scale_factor=2.0, mode="nearest") * masks[-1]) * masks[-1]
            h = torch.cat([h, skips.pop()], dim=1)
            for block in blocks:
                h = block(h, masks[-1], emb)
        v = self.conv_out(F.silu(self.norm_out(h)) * mask) * mask
        return v[:, :, :t_len]
