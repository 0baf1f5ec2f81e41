"""Duration predictor and length regulator.

The predictor is the small convolutional network of Glow-TTS/Grad-TTS: it reads the *detached*
encoder states (so the duration loss does not pull the text representation towards what is easy
to time) plus the speaker, and predicts log durations in latent frames. The length regulator
(FastSpeech) repeats each token's ``mu`` for its number of frames, written as a product with a hard
alignment path so training (MAS path) and inference (predicted durations) share one code path.

Letters: B batch, N tokens, T latent frames, D encoder width, C latent channels, S speaker width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tts.core.names import DURATION_ROUNDING
from tts.models.encoder.text_encoder import ChannelNorm
from tts.models.nn import length_mask


@dataclass(frozen=True)
class DurationConfig:
    """Duration predictor hyper-parameters."""

    channels: int = 256
    kernel_size: int = 3
    n_layers: int = 2
    dropout: float = 0.1
    # "ceil" (Grad-TTS/Matcha) never shortens a token; "round" has no upward bias, which matters
    # more at coarse latent frame rates where half a frame is a sizeable part of a phoneme.
    rounding: str = "ceil"

    def __post_init__(self) -> None:
        if self.rounding not in DURATION_ROUNDING:
            raise ValueError(f"duration rounding must be one of {DURATION_ROUNDING}, got {self.rounding!r}")


class DurationPredictor(nn.Module):
    """(conv -> ReLU -> norm -> dropout) x n_layers -> 1x1 conv: h -> log durations."""

    def __init__(self, cfg: DurationConfig, in_dim: int, speaker_dim: int = 0) -> None:
        super().__init__()
        self.speaker_proj = nn.Linear(speaker_dim, in_dim) if speaker_dim > 0 else None
        dims = [in_dim] + [cfg.channels] * cfg.n_layers
        k = cfg.kernel_size
        self.convs = nn.ModuleList(nn.Conv1d(a, b, k, padding=k // 2) for a, b in zip(dims[:-1], dims[1:]))
        self.norms = nn.ModuleList(ChannelNorm(cfg.channels) for _ in range(cfg.n_layers))
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Conv1d(cfg.channels, 1, 1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        """h: (B, D, N) (detach it first), mask: (B, 1, N), g: (B, S) or None -> logw (B, N)."""
        x = h
        if self.speaker_proj is not None:
            if g is None:
                raise ValueError("this duration predictor is multi-speaker: pass a speaker embedding")
            x = x + self.speaker_proj(g)[:, :, None]
        for conv, norm in zip(self.convs, self.norms):
            x = self.drop(norm(F.relu(conv(x * mask))))
        return (self.proj(x * mask) * mask)[:, 0]


def durations_from_log(
    logw: torch.Tensor, mask: torch.Tensor, length_scale: float = 1.0, rounding: str = "ceil"
) -> torch.Tensor:
    """Integer frame counts from predicted log durations, at least 1 per valid token.

    ``durations = ceil(exp(logw) * length_scale)`` (or ``round``). logw: (B, N), mask: (B, 1, N) or
    (B, N) -> durations (B, N) long, 0 on padding.
    """
    if length_scale <= 0:
        raise ValueError(f"length_scale must be > 0, got {length_scale}")
    if rounding not in DURATION_ROUNDING:
        raise ValueError(f"duration rounding must be one of {DURATION_ROUNDING}, got {rounding!r}")
    m = mask.reshape(logw.shape).bool()
    w = torch.exp(logw.float()) * length_scale
    d = torch.ceil(w) if rounding == "ceil" else torch.round(w)
    return (d.clamp(min=1).long() * m).long()


def path_from_durations(durations: torch.Tensor, max_frames: int | None = None) -> torch.Tensor:
    """Hard monotonic alignment from durations: token n owns frames [cum[n-1], cum[n]).

    durations: (B, N) long -> path (B, N, T) float with T = max_frames or the longest total.
    """
    cum = torch.cumsum(durations, dim=1)
    t = int(cum[:, -1].max()) if max_frames is None else max_frames
    frames = torch.arange(t, device=durations.device)[None, None, :]
    return ((frames < cum[:, :, None]) & (frames >= (cum - durations)[:, :, None])).float()


def expand(mu: torch.Tensor, path: torch.Tensor) -> torch.Tensor:
    """Length regulator: mu (B, C, N), path (B, N, T) -> mu_expanded (B, C, T)."""
    return torch.bmm(mu, path.to(mu.dtype))


def regulate_length(
    mu: torch.Tensor, durations: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """mu (B, C, N), durations (B, N) long -> mu_expanded (B, C, T), frame mask (B, 1, T),
    latent_lengths (B,)."""
    lengths = durations.sum(dim=1)
    path = path_from_durations(durations)
    mask = length_mask(lengths, path.shape[-1], mu.dtype)
    return expand(mu, path), mask, lengths
