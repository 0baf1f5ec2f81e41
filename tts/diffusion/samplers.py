"""Deterministic ODE samplers for the flow-matching decoder (k-diffusion style).

Every sampler is a small stateless function with one signature::

    sample_x(velocity_fn, x0, steps, sigma_min=1e-4) -> x1

``velocity_fn(x, t) -> v`` is the learned field of the probability-flow ODE ``dx/dt = v(x, t)``,
``x0`` the starting noise at ``t = 0`` (already scaled by the temperature) and the result the
sample at ``t = 1``. The time grid is uniform. ``sigma_min`` describes the OT-CFM path
``x_t = t x1 + (1 - (1 - sigma_min) t) x0`` (see ``objective.py``); only samplers that convert the
velocity into a data prediction use it.

Function evaluations (NFE) per call: Euler ``steps``, Heun ``2 * steps``, DPM-Solver++(2M) ``steps``.
Shapes: x0 and the result are any tensor shape, typically (B, C, T).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

VelocityFn = Callable[[torch.Tensor, float], torch.Tensor]


def _check(steps: int) -> None:
    if steps < 1:
        raise ValueError(f"sampler steps must be >= 1, got {steps}")


def sample_euler(
    velocity_fn: VelocityFn, x0: torch.Tensor, steps: int, sigma_min: float = 1e-4
) -> torch.Tensor:
    """Explicit Euler method on the probability-flow ODE (as in Matcha-TTS). First order.

    For the OT path it coincides with DDIM / first-order DPM-Solver++. x0: (B, C, T) -> (B, C, T).
    """
    _check(steps)
    x, h = x0, 1.0 / steps
    for i in range(steps):
        x = x + h * velocity_fn(x, i * h)
    return x


def sample_heun(
    velocity_fn: VelocityFn, x0: torch.Tensor, steps: int, sigma_min: float = 1e-4
) -> torch.Tensor:
    """Heun's second-order method (explicit trapezoidal rule; Karras et al., 2022, "Elucidating the
    Design Space of Diffusion-Based Generative Models", Algorithm 1 without stochastic churn).

    The OT-CFM field is finite at t = 1, so unlike the Karras sigma schedule the last step is
    corrected too. x0: (B, C, T) -> (B, C, T).
    """
    _check(steps)
    x, h = x0, 1.0 / steps
    for i in range(steps):
        t = i * h
        d = velocity_fn(x, t)
        x_pred = x + h * d
        x = x + 0.5 * h * (d + velocity_fn(x_pred, t + h))
    return x


def sample_dpmpp_2m(
    velocity_fn: VelocityFn, x0: torch.Tensor, steps: int, sigma_min: float = 1e-4
) -> torch.Tensor:
    """DPM-Solver++(2M) (Lu et al., 2022, "DPM-Solver++: Fast Solver for Guided Sampling of
    Diffusion Probabilistic Models", Algorithm 2), written for the OT-CFM path.

    With ``alpha_t = t`` and ``sigma_t = 1 - (1 - sigma_min) t`` the velocity gives the data
    prediction ``x1_hat = sigma_t v + (1 - sigma_min) x``, and the ODE is linear in ``x`` with
    that forcing: ``d(x / sigma_t)/dt = x1_hat / sigma_t^2``. As in DPM-Solver++ the linear part is
    integrated exactly and ``x1_hat`` is approximated by the two-point (multistep) polynomial
    through the current and previous data predictions. One change for this path: the polynomial is
    in ``t`` rather than in ``lambda = log(alpha / sigma)``, because ``lambda`` is -inf at ``t = 0``
    and jumps to ``log(1 / sigma_min)`` in the last step, which makes the lambda-form degrade to
    first order at both ends on a uniform grid (measured: no better than Euler at 4-8 steps).
    The weights then have closed forms (below). Second order; one NFE per step; the first step is
    first order (no history), where it equals Euler. x0: (B, C, T) -> (B, C, T).
    """
    _check(steps)
    k = 1.0 - sigma_min
    x, h = x0, 1.0 / steps
    prev: torch.Tensor | None = None
    for i in range(steps):
        t, s = i * h, (i + 1) * h
        st, ss = 1.0 - k * t, 1.0 - k * s
        x1_hat = st * velocity_fn(x, t) + k * x
        # sigma_s * int_t^s 1 / sigma^2  and  sigma_s * int_t^s (tau - t) / sigma^2 (exact).
        w0 = (s - t) / st
        xlogx = ss * math.log(ss / st) if ss > 0 else 0.0
        w1 = (st - ss + xlogx) / (k * k)
        x_next = (ss / st) * x + w0 * x1_hat
        if prev is not None:
            x_next = x_next + w1 * (x1_hat - prev) / h
        x, prev = x_next, x1_hat
    return x


SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {
    "euler": sample_euler,
    "heun": sample_heun,
    "dpmpp2m": sample_dpmpp_2m,
}
