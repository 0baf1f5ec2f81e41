"""Layers shared by the networks: the length mask and the 1-D ConvNeXt block.

Letters: B batch, D channels, T frames.
"""

from __future__ import annotations

import torch
from torch import nn


def length_mask(
    lengths: torch.Tensor, max_len: int | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """``lengths: (B,) -> (B, 1, max_len)`` mask, 1 (True) on the valid frames of each item.

    ``max_len`` defaults to the longest length; ``dtype=torch.bool`` gives a boolean mask."""
    max_len = int(lengths.max()) if max_len is None else max_len  # no int(): a traced shape stays dynamic
    valid = torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]
    return valid.unsqueeze(1).to(dtype)


class ConvNeXtBlock(nn.Module):
    """Depthwise conv → LayerNorm → pointwise MLP (GELU) → layer scale, with a residual: the 1-D
    ConvNeXt block (Liu et al., "A ConvNet for the 2020s", CVPR 2022) as Vocos uses it.

    ``forward(x: (B, D, T), mask: (B, 1, T) | None) -> (B, D, T)``; with a mask the output is
    masked, so padded frames stay zero. ``layer_scale`` starts the residual branch small (CaiT),
    which keeps a deep stack close to the identity at initialisation.
    """

    def __init__(
        self, dim: int, hidden_dim: int, kernel_size: int, layer_scale: float, eps: float = 1e-6
    ) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.pw1 = nn.Linear(dim, hidden_dim)
        self.act = nn.GELU()
        self.pw2 = nn.Linear(hidden_dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale)))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.dwconv(x).transpose(1, 2)  # (B, T, D): LayerNorm and Linear act on the last axis
        h = self.pw2(self.act(self.pw1(self.norm(h))))
        out = x + (self.gamma * h).transpose(1, 2)
        return out if mask is None else out * mask

    def bf16_matmuls(self) -> int:
        """bf16 pointwise layers with a bf16 hidden activation (:func:`tts.models.precision.bf16_mlp`)."""
        from tts.models.precision import bf16_mlp

        self.pw1, self.pw2 = bf16_mlp(self.pw1, self.pw2)
        return 2
