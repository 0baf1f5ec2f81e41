"""Exponential moving average of model weights (Polyak & Juditsky, 1992).

The EMA copy is what gets validated and exported for inference: it is smoother than the raw
weights, which matters a lot for diffusion models (Ho et al., 2020; Karras et al., 2022) and for
GAN generators. The copy is kept in fp32 on the training device whatever the training precision.

Early in training a fixed decay of 0.999 would keep the random initialisation for ~1000 steps,
so the effective decay ramps up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates
(the ``num_updates`` rule of TensorFlow's ``ExponentialMovingAverage``).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn


class EMA:
    """An fp32 shadow copy of ``module`` updated with ``ema = d·ema + (1 − d)·weights``.

    Buffers (normalisation statistics, mel stats …) are copied, not averaged.
    """

    def __init__(self, module: nn.Module, decay: float, *, warmup: bool = True) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.warmup = warmup
        self.updates = 0
        self.module = copy.deepcopy(module).float().eval().requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next :meth:`update` will use."""
        if not self.warmup:
            return self.decay
        n = self.updates
        return min(self.decay, (1.0 + n) / (10.0 + n))

    @torch.no_grad()
    def update(self, module: nn.Module) -> None:
        """Move the shadow weights towards ``module``'s current weights."""
        d = self.current_decay()
        src = dict(module.named_parameters())
        ema_params, new_params = [], []
        for name, p in self.module.named_parameters():
            ema_params.append(p)
            new_params.append(src[name].detach().to(p.dtype))
        if ema_params:
            torch._foreach_lerp_(ema_params, new_params, 1.0 - d)
        src_buffers = dict(module.named_buffers())
        for name, b in self.module.named_buffers():
            b.copy_(src_buffers[name])
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
