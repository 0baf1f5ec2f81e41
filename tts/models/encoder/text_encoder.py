"""Phoneme encoder: token ids -> hidden states ``h`` and the "average latent" ``mu``.

Grad-TTS (Popov et al., 2021, "Grad-TTS: A Diffusion Probabilistic Model for Text-to-Speech") and
Matcha-TTS (Mehta et al., 2024, "Matcha-TTS: A fast TTS architecture with conditional flow
matching") lineage: embedding -> convolutional prenet -> pre-norm transformer blocks -> a 1x1
projection into the latent space. Positions enter through rotary embeddings on queries and keys
(Su et al., 2021, "RoFormer: Enhanced Transformer with Rotary Position Embedding"), which encode
relative offsets without a learned table, so any sentence length works.

Letters: B batch, N tokens, D model width, C latent channels, S speaker-embedding width.
Every op is masked so padding never changes the outputs at valid positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tts.models.nn import length_mask


@dataclass(frozen=True)
class TextEncoderConfig:
    """Phoneme encoder hyper-parameters."""

    dim: int = 192  # model width D
    n_layers: int = 4  # transformer blocks
    n_heads: int = 2
    ffn_dim: int = 768  # hidden width of each block's feed-forward net
    ffn_kernel: int = 1  # 1 = position-wise MLP; 3 = conv FFN as in Glow-TTS/Matcha (3x the params)
    prenet_layers: int = 3
    prenet_kernel: int = 5
    dropout: float = 0.1
    rope_base: float = 10_000.0

    def __post_init__(self) -> None:
        if self.dim % self.n_heads or (self.dim // self.n_heads) % 2:
            raise ValueError(f"encoder dim {self.dim} must split into {self.n_heads} heads of even width")
        if self.ffn_kernel % 2 == 0 or self.prenet_kernel % 2 == 0:
            raise ValueError("encoder kernel sizes must be odd (symmetric 'same' padding)")


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over channels of a channel-first tensor: (B, C, T) -> (B, C, T).

    Normalises each time step on its own, so (unlike GroupNorm) padding never leaks into the
    statistics of valid frames.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


def rotary_tables(n: int, dim: int, base: float, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables of RoFormer rotary embeddings: -> two (n, dim) tensors."""
    inv_freq = base ** (-torch.arange(0, dim, 2, device=device, dtype=torch.float32) / dim)
    angles = torch.arange(n, device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate feature pairs (i, i + dim/2) by position-dependent angles. x: (..., n, dim)."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos.to(x.dtype) + rotated * sin.to(x.dtype)


class RotarySelfAttention(nn.Module):
    """Multi-head self-attention with rotary positions and a key-padding mask."""

    def __init__(self, dim: int, n_heads: int, dropout: float, rope_base: float) -> None:
        super().__init__()
        self.n_heads, self.rope_base, self.dropout = n_heads, rope_base, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """x: (B, N, D), key_mask: (B, N) bool -> (B, N, D)."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        cos, sin = rotary_tables(n, d // self.n_heads, self.rope_base, x.device)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        # Padded queries still see every valid key, so no row is fully masked (no NaN).
        attn_mask = key_mask[:, None, None, :]
        p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=p)
        return self.out(y.transpose(1, 2).reshape(b, n, d))


class FeedForward(nn.Module):
    """Two-layer feed-forward net; with ``kernel > 1`` its layers are convolutions over time."""

    def __init__(self, dim: int, hidden: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(dim, hidden, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(hidden, dim, kernel, padding=kernel // 2)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, D, N), mask: (B, 1, N) float -> (B, D, N)."""
        y = self.drop(F.gelu(self.conv1(x * mask)))
        return self.conv2(y * mask) * mask


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attn(norm(x)); x + ffn(norm(x)). Works channel-first (B, D, N)."""

    def __init__(self, cfg: TextEncoderConfig) -> None:
        super().__init__()
        self.norm1 = ChannelNorm(cfg.dim)
        self.attn = RotarySelfAttention(cfg.dim, cfg.n_heads, cfg.dropout, cfg.rope_base)
        self.norm2 = ChannelNorm(cfg.dim)
        self.ffn = FeedForward(cfg.dim, cfg.ffn_dim, cfg.ffn_kernel, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, D, N), mask: (B, 1, N) float -> (B, D, N)."""
        a = self.attn(self.norm1(x).transpose(1, 2), mask[:, 0].bool()).transpose(1, 2)
        x = x + self.drop(a) * mask
        return x + self.drop(self.ffn(self.norm2(x), mask))


class ConvPrenet(nn.Module):
    """Conv -> ReLU -> norm -> dropout stack with a residual path (Glow-TTS prenet): local context
    (neighbouring phonemes) before attention."""

    def __init__(self, dim: int, n_layers: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(dim, dim, kernel, padding=kernel // 2) for _ in range(n_layers))
        self.norms = nn.ModuleList(ChannelNorm(dim) for _ in range(n_layers))
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Conv1d(dim, dim, 1)
        nn.init.zeros_(self.proj.weight)  # starts as the identity map
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, D, N), mask: (B, 1, N) float -> (B, D, N)."""
        y = x
        for conv, norm in zip(self.convs, self.norms):
            y = self.drop(norm(F.relu(conv(y * mask))))
        return (x + self.proj(y * mask)) * mask


class TextEncoder(nn.Module):
    """Token ids (+ speaker) -> ``h`` (B, D, N) and ``mu`` (B, C, N) in the VAE latent space."""

    def __init__(self, cfg: TextEncoderConfig, n_symbols: int, latent_channels: int, speaker_dim: int = 0):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(n_symbols, cfg.dim)
        nn.init.normal_(self.embed.weight, 0.0, cfg.dim**-0.5)
        self.prenet = ConvPrenet(cfg.dim, cfg.prenet_layers, cfg.prenet_kernel, cfg.dropout)
        # The speaker enters additively before the transformer, so every block can use it.
        self.speaker_proj = nn.Linear(speaker_dim, cfg.dim) if speaker_dim > 0 else None
        self.blocks = nn.ModuleList(TransformerBlock(cfg) for _ in range(cfg.n_layers))
        self.norm = ChannelNorm(cfg.dim)
        self.proj_mu = nn.Conv1d(cfg.dim, latent_channels, 1)

    def forward(
        self, tokens: torch.Tensor, token_lengths: torch.Tensor, g: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """tokens: (B, N) long, token_lengths: (B,), g: (B, S) or None
        -> h (B, D, N), mu (B, C, N), mask (B, 1, N) float."""
        mask = length_mask(token_lengths, tokens.shape[1], self.embed.weight.dtype)
        # sqrt(D) scaling keeps the embedding on the same scale as the residual stream.
        x = self.embed(tokens).transpose(1, 2) * self.cfg.dim**0.5 * mask
        x = self.prenet(x, mask)
        if self.speaker_proj is not None:
            if g is None:
                raise ValueError("this encoder is multi-speaker: pass a speaker embedding")
            x = (x + self.speaker_proj(g)[:, :, None]) * mask
        for block in self.blocks:
            x = block(x, mask)
        h = self.norm(x) * mask
        return h, self.proj_mu(h) * mask, mask
