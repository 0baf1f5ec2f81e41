"""The acoustic pipeline between the networks, in numpy: one implementation for both backends.

Inference runs four networks — the encoder (with the duration predictor), the denoiser, the VAE
decoder and the vocoder — which each backend supplies as a plain function on numpy arrays
(onnxruntime graphs, or the PyTorch modules behind a numpy call). Everything in between is here
and is the same for both, so a seed gives the same audio on either backend (to float rounding)::

    ids ─pad_tokens─▶ tokens (B, N) ─encoder─▶ mu (B, C, N), x_mask (B, 1, N), logw (B, 1, N)
        ─durations_from_log─▶ frames per token (B, N) ─regulate_length─▶ mu_y, mask (B, ·, T_lat)
    noise ─ODE sampler (tts.core.samplers) over guided_velocity(denoiser)─▶ latents (B, C, T_lat)

Grad-TTS / Matcha-TTS lineage: durations are ``ceil(exp(logw) · length_scale)`` frames of the
expanded "average latent" ``mu_y`` (Popov et al. 2021); the decoder integrates the probability-flow
ODE of conditional flow matching (Lipman et al. 2023) from Gaussian noise scaled by the temperature;
classifier-free guidance (Ho & Salimans 2022) extrapolates from the unconditional velocity (``mu``
zeroed) to the conditional one.

Letters: B batch, N tokens, C latent channels, T_lat latent frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: ``denoise(x, t, mu, mask, g) -> v``: the denoiser on a batch, all numpy
Denoise = Callable[..., np.ndarray]


@dataclass(frozen=True)
class AcousticShape:
    """What the pipeline needs to know of a voice's networks besides their functions."""

    unet_factor: int  #: the denoiser's time downsampling: latent lengths are padded to a multiple
    vae_downsample: int  #: mel frames per latent frame
    sigma_min: float  #: the flow's noise floor at t = 1 (``tts.models.diffusion.objective.FlowConfig``)


def pad_tokens(token_ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Token id sequences -> zero-padded ``tokens (B, N)`` int64 and ``lengths (B,)`` int64."""
    lengths = np.array([len(t) for t in token_ids], np.int64)
    tokens = np.zeros((len(token_ids), int(lengths.max())), np.int64)
    for i, ids in enumerate(token_ids):
        tokens[i, : len(ids)] = ids
    return tokens, lengths


def durations_from_log(logw: np.ndarray, mask: np.ndarray, length_scale: float, rounding: str) -> np.ndarray:
    """``ceil(exp(logw) · length_scale)`` (or ``round``) frames, at least 1 per valid token, 0 on
    padding: ``logw, mask: (B, N)`` -> ``(B, N)`` int64 (as
    ``tts.models.encoder.duration.durations_from_log``, the training-time twin)."""
    w = np.exp(logw.astype(np.float32)) * np.float32(length_scale)
    d = np.ceil(w) if rounding == "ceil" else np.round(w)
    return (np.maximum(d, 1).astype(np.int64) * (mask > 0)).astype(np.int64)


def regulate_length(
    mu: np.ndarray, durations: np.ndarray, multiple: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat token ``n``'s column of ``mu (B, C, N)`` ``durations[b, n]`` times -> ``mu_y (B, C, T)``,
    frame mask ``(B, 1, T)`` and lengths ``(B,)``; ``T`` is the longest length rounded up to
    ``multiple`` (the U-Net's downsampling factor; the extra frames are masked)."""
    lengths = durations.sum(axis=1)
    t = int(math.ceil(int(lengths.max()) / multiple) * multiple)
    b, c, _ = mu.shape
    mu_y = np.zeros((b, c, t), np.float32)
    mask = np.zeros((b, 1, t), np.float32)
    for i in range(b):
        n = int(lengths[i])
        mu_y[i, :, :n] = np.repeat(mu[i], durations[i], axis=-1)
        mask[i, :, :n] = 1.0
    return mu_y, mask, lengths


def guided_velocity(
    denoise: Denoise, mu: np.ndarray, mask: np.ndarray, g: np.ndarray | None, guidance: float
) -> Callable[[np.ndarray, float], np.ndarray]:
    """The ODE's velocity ``v(x (B, C, T), t) -> (B, C, T)`` for the samplers: the denoiser on the
    masked state; with ``guidance > 0`` the conditional and unconditional fields in one batched call
    of ``2B`` and ``v_c + guidance · (v_c - v_u)``."""
    b = mu.shape[0]
    if guidance > 0:
        mu2, mask2 = np.concatenate([mu, np.zeros_like(mu)]), np.concatenate([mask, mask])
        g2 = None if g is None else np.concatenate([g, g])

    def velocity(x: np.ndarray, t: float) -> np.ndarray:
        x = (x * mask).astype(np.float32)
        if guidance == 0:
            return denoise(x=x, t=np.full((b,), t, np.float32), mu=mu, mask=mask, g=g)
        v = denoise(x=np.concatenate([x, x]), t=np.full((2 * b,), t, np.float32), mu=mu2, mask=mask2, g=g2)
        v_c, v_u = v[:b], v[b:]
        return v_c + np.float32(guidance) * (v_c - v_u)

    return velocity


def sample_latents(
    denoise: Denoise,
    mu_y: np.ndarray,
    mask: np.ndarray,
    g: np.ndarray | None,
    *,
    steps: int,
    sampler: str,
    temperature: float,
    guidance: float,
    sigma_min: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Integrate the flow from ``temperature``-scaled noise to latents ``(B, C, T)``, zero off the mask."""
    from tts.core.samplers import SAMPLERS

    x0 = rng.standard_normal(mu_y.shape, dtype=np.float32) * np.float32(temperature)
    velocity = guided_velocity(denoise, mu_y, mask, g, float(guidance))
    return SAMPLERS[sampler](velocity, x0 * mask, steps, sigma_min=float(sigma_min)) * mask
