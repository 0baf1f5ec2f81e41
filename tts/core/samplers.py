"""Deterministic ODE samplers for the flow-matching decoder (k-diffusion style).

Every sampler is a small stateless function with one signature::

    sample_x(velocity_fn, x0, steps, sigma_min=1e-4) -> x1

``velocity_fn(x, t) -> v`` is the learned field of the probability-flow ODE ``dx/dt = v(x, t)``,
``x0`` the starting noise at ``t = 0`` (already scaled by the temperature) and the result the
sample at ``t = 1``. The time grid is uniform. ``sigma_min`` describes the OT-CFM path
``x_t = t x1 + (1 - (1 - sigma_min) t) x0`` (see ``objective.py``); only samplers that convert the
velocity into a data prediction use it.

Function evaluations (NFE) per call: Euler ``steps``, Heun ``2 * steps``, DPM-Solver++(2M) ``steps``.
Shapes: x0 and the result are any tensor shape, typically (B, C, T). The samplers use only
arithmetic on their arrays, so they run on torch tensors (:mod:`tts.models.diffusion`) and on numpy arrays
(the torch-free ONNX runtime, :mod:`tts.runtime.onnx`) alike; this module does not import torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Array = Any  #: a torch tensor or a numpy array
VelocityFn = Callable[[Array, float], Array]


def _check(steps: int) -> None:
    if steps < 1:
        raise ValueError(f"sampler steps must be >= 1, got {steps}")


def sample_euler(velocity_fn: VelocityFn, x0: Array, steps: int, sigma_min: float = 1e-4) -> Array:
    """Explicit Euler method on the probability-flow ODE (as in Matcha-TTS). First order.

    For the OT path it coincides with DDIM / first-order DPM-Solver++. x0: (B, C, T) -> (B, C, T).
    """
    _check(steps)
    x, h = x0, 1.0 / steps
    for i in range(steps):
        x = x + h * velocity_fn(x, i * h)
    return x


def sample_heun(velocity_fn: VelocityFn, x0: Array, steps: int, sigma_min: float = 1e-4) -> Array:
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


def sample_dpmpp_2m(velocity_fn: VelocityFn, x0: Array, steps: int, sigma_min: float = 1e-4) -> Array:
    """DPM-Solver++(2M) (Lu et al., 2022, "DPM-Solver++: Fast Solver for Guided Sampling of
    Diffusion Probabilistic Models", Algorithm 2) in its data-prediction form on the OT-CFM path.

    The path is ``x_t = alpha_t x1 + sigma_t x0`` with ``alpha_t = t`` and
    ``sigma_t = 1 - (1 - sigma_min) t``, so the velocity gives the data prediction
    ``x1_hat = sigma_t v + (1 - sigma_min) x``. Each step integrates the linear part exactly and
    takes ``x1_hat`` linear in ``lambda = log(alpha / sigma)`` through the current and previous
    predictions::

        x_s = (sigma_s / sigma_t) x_t + (alpha_s - alpha_t sigma_s / sigma_t) D,
        D = (1 + 1 / 2r) x1_hat_t - (1 / 2r) x1_hat_prev,   r = h_prev / h.

    On this path ``lambda(0) = -inf``, so the first two steps are first order (``r`` infinite),
    and the last step, which jumps to ``lambda = log(1 / sigma_min)``, is first order too (the
    "lower_order_final" rule of DPM-Solver, as k-diffusion does for its final step to sigma = 0);
    a first-order step here is exactly an Euler step. One NFE per step; measured on an exactly
    solvable flow it beats Euler from 4 steps and converges at about second order up to 16
    steps (docs/acoustic.md). x0: (B, C, T) -> (B, C, T).
    """
    _check(steps)
    k = 1.0 - sigma_min
    x, h = x0, 1.0 / steps
    prev: Array | None = None
    for i in range(steps):
        t, s = i * h, (i + 1) * h
        st, ss = 1.0 - k * t, 1.0 - k * s
        x1_hat = st * velocity_fn(x, t) + k * x
        d = x1_hat
        if 2 <= i < steps - 1 and prev is not None:
            lam_p, lam_t, lam_s = (math.log(u / (1.0 - k * u)) for u in (t - h, t, s))
            c = (lam_s - lam_t) / (2.0 * (lam_t - lam_p))  # 1 / (2r)
            d = (1.0 + c) * x1_hat - c * prev
        x = (ss / st) * x + (s - t * ss / st) * d
        prev = x1_hat
    return x


SAMPLERS: dict[str, Callable[..., Array]] = {
    "euler": sample_euler,
    "heun": sample_heun,
    "dpmpp2m": sample_dpmpp_2m,
}
