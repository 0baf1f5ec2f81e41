"""Training objective and sampling wrapper around the velocity network.

**Optimal-transport conditional flow matching** (OT-CFM; Lipman et al., 2023, "Flow Matching for
Generative Modeling"; equivalently rectified flow, Liu et al., 2023, "Flow Straight and Fast"),
as used by Matcha-TTS (Mehta et al., 2024). With noise ``x0 ~ N(0, I)`` at ``t = 0`` and data
``x1`` at ``t = 1``:

    x_t = (1 - (1 - sigma_min) t) x0 + t x1,        target u = x1 - (1 - sigma_min) x0,

and the loss is the masked mean squared error between ``v_theta(x_t, t | mu)`` and ``u``. The
learned field defines the probability-flow ODE ``dx/dt = v(x, t)``; its paths are nearly straight,
which is why a handful of Euler/Heun/DPM-Solver++ steps (``samplers.py``) suffice. At inference
``x0`` is Gaussian noise scaled by a temperature (< 1 trades variety for stability).

**Classifier-free guidance** (Ho & Salimans, 2022): during training the condition ``mu_expanded``
is replaced by zeros with probability ``cfg_dropout`` per utterance, so the same network also
learns the unconditional field; at inference ``v = v_c + w (v_c - v_u)`` with ``w = guidance``
(``w = 0`` is plain conditional sampling at one network call per step; ``w > 0`` costs two, done
as one batched call).

Letters: B batch, C latent channels, T latent frames, S speaker width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from tts.core.samplers import SAMPLERS
from tts.models.diffusion.denoiser import DenoiserConfig, UNet1d


@dataclass(frozen=True)
class FlowConfig:
    """Flow-matching objective options."""

    sigma_min: float = 1e-4  # width of the conditional path at the data end
    cfg_dropout: float = 0.1  # probability of training a step without the text condition

    def __post_init__(self) -> None:
        if not 0.0 <= self.sigma_min < 1.0:
            raise ValueError(f"sigma_min must be in [0, 1), got {self.sigma_min}")
        if not 0.0 <= self.cfg_dropout < 1.0:
            raise ValueError(f"cfg_dropout must be in [0, 1), got {self.cfg_dropout}")


class FlowMatching(nn.Module):
    """OT-CFM wrapper owning the velocity network: ``loss`` for training, ``sample`` for inference."""

    def __init__(self, cfg: FlowConfig, net_cfg: DenoiserConfig, latent_channels: int, speaker_dim: int = 0):
        super().__init__()
        self.cfg = cfg
        self.net = UNet1d(net_cfg, latent_channels, speaker_dim)

    def loss(
        self,
        x1: torch.Tensor,
        mask: torch.Tensor,
        mu: torch.Tensor,
        g: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Masked MSE of the predicted velocity at a random time per utterance.

        x1 (data latents), mu (mu_expanded): (B, C, T), mask: (B, 1, T) -> scalar.
        """
        b = x1.shape[0]
        sig = self.cfg.sigma_min
        t = _rand((b,), generator, x1)
        x0 = gaussian_noise(x1.shape, generator, x1)
        tt = t[:, None, None]
        x_t = (1 - (1 - sig) * tt) * x0 + tt * x1
        u = x1 - (1 - sig) * x0
        if self.training and self.cfg.cfg_dropout > 0:
            keep = (_rand((b,), generator, x1) >= self.cfg.cfg_dropout).to(mu.dtype)
            mu = mu * keep[:, None, None]
        v = self.net(x_t * mask, t, mu, mask, g)
        return ((v - u) ** 2 * mask).sum() / (mask.sum() * x1.shape[1]).clamp(min=1)

    def velocity(
        self,
        x: torch.Tensor,
        t: float,
        mu: torch.Tensor,
        mask: torch.Tensor,
        g: torch.Tensor | None = None,
        guidance: float = 0.0,
    ) -> torch.Tensor:
        """Guided velocity at time t. x, mu: (B, C, T), mask: (B, 1, T) -> (B, C, T)
        (training-time sampling; the synthesizers use :func:`tts.core.pipeline.guided_velocity`)."""
        b = x.shape[0]
        net = self.net
        if guidance == 0.0:
            return net(x, x.new_full((b,), t), mu, mask, g)
        # Conditional and unconditional fields in one batched call.
        g2 = None if g is None else torch.cat([g, g])
        v = net(
            torch.cat([x, x]),
            x.new_full((2 * b,), t),
            torch.cat([mu, torch.zeros_like(mu)]),
            torch.cat([mask, mask]),
            g2,
        )
        v_c, v_u = v.chunk(2)
        return v_c + guidance * (v_c - v_u)

    def sample(
        self,
        x0: torch.Tensor,
        mu: torch.Tensor,
        mask: torch.Tensor,
        g: torch.Tensor | None = None,
        steps: int = 6,
        sampler: str = "euler",
        guidance: float = 0.0,
    ) -> torch.Tensor:
        """Integrate the ODE from noise x0 (t=0) to latents (t=1).

        x0, mu: (B, C, T), mask: (B, 1, T) -> x1 (B, C, T), zero past each length.
        """
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose from {sorted(SAMPLERS)}")
        if guidance < 0:
            raise ValueError(f"guidance must be >= 0, got {guidance}")

        def velocity_fn(x: torch.Tensor, t: float) -> torch.Tensor:
            return self.velocity(x * mask, t, mu, mask, g, guidance)

        return SAMPLERS[sampler](velocity_fn, x0 * mask, steps, sigma_min=self.cfg.sigma_min) * mask


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    dev = generator.device if generator is not None else like.device
    return torch.rand(shape, generator=generator, device=dev).to(like.device, like.dtype)


def gaussian_noise(shape: torch.Size, generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """N(0, I) noise of ``shape`` on ``like``'s device and dtype, drawn on the generator's device
    (a CPU generator seeds the same noise whichever device the model runs on)."""
    dev = generator.device if generator is not None else like.device
    return torch.randn(shape, generator=generator, device=dev).to(like.device, like.dtype)
