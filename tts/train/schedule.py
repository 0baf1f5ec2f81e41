"""Learning-rate schedule: linear warm-up, then cosine / exponential / constant decay.

The schedule is a pure function of the optimiser step, so resuming needs nothing but the step
count: the loop writes ``base_lr * lr_factor(step)`` into every parameter group before each
update (the per-module base LR lives in the group as ``base_lr`` and travels with the
optimiser's state dict). Cosine decay follows SGDR (Loshchilov & Hutter, 2017) without
restarts; warm-up follows Goyal et al. (2017).
"""

from __future__ import annotations

import math

import torch

LR_DECAYS = ("cosine", "exponential", "constant")


def lr_factor(step: int, *, warmup_steps: int, max_steps: int, decay: str, min_ratio: float) -> float:
    """Multiplier of the base LR for optimiser step ``step`` (0-based).

    Warm-up: ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps (never exactly 0,
    so step 0 already learns). Then, with progress ``p`` going 0 → 1 from the end of warm-up to
    ``max_steps``: cosine ``min + (1 - min)(1 + cos πp) / 2``, exponential ``min ** p``, or 1.
    Past ``max_steps`` the factor stays at its final value (``min_ratio``, or 1 for constant).
    """
    if decay not in LR_DECAYS:
        raise ValueError(f"unknown lr_decay {decay!r}; choose from {LR_DECAYS}")
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if decay == "constant":
        return 1.0
    span = max(1, max_steps - warmup_steps)
    p = min(1.0, max(0.0, (step - warmup_steps) / span))
    if decay == "cosine":
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))
    # exponential: geometric interpolation from 1 to min_ratio (min_ratio 0 would mean "drop to 0 at once")
    return max(min_ratio, 1e-12) ** p


def set_lr(optimizer: torch.optim.Optimizer, factor: float) -> float:
    """Set every group's ``lr`` to ``base_lr * factor``; returns the first group's new LR."""
    for group in optimizer.param_groups:
        group["lr"] = group["base_lr"] * factor
    return float(optimizer.param_groups[0]["lr"])


_OVERRIDE_KEYS = ("lr", "weight_decay", "betas", "eps")


def build_adamw(
    module: torch.nn.Module, *, lr: float, betas: tuple[float, float], weight_decay: float, overrides: dict
) -> torch.optim.AdamW | None:
    """AdamW over ``module``'s trainable parameters (``None`` when it has none).

    Weight decay applies to tensors with ≥ 2 dims (weights, kernels, embeddings); biases and norm
    gains are not decayed (the AdamW paper's decoupled decay; the usual exclusion as in nanoGPT).
    ``overrides`` may set ``lr``, ``weight_decay``, ``betas``, ``eps``.
    """
    unknown = sorted(set(overrides) - set(_OVERRIDE_KEYS))
    if unknown:
        raise ValueError(f"optimizer override keys {unknown} not supported; valid: {list(_OVERRIDE_KEYS)}")
    lr = float(overrides.get("lr", lr))
    wd = float(overrides.get("weight_decay", weight_decay))
    b = overrides.get("betas", betas)
    eps = float(overrides.get("eps", 1e-8))
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        return None
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": wd, "base_lr": lr},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0, "base_lr": lr},
    ]
    groups = [g for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=lr, betas=(float(b[0]), float(b[1])), eps=eps)


def hyperparameters(optimizer: torch.optim.Optimizer) -> list[dict]:
    """The configured (not stateful) settings of each group, to re-apply after loading a state."""
    keys = ("base_lr", "weight_decay", "betas", "eps")
    return [{k: g[k] for k in keys} for g in optimizer.param_groups]
