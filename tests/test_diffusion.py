"""Latent diffusion decoder: samplers on an exactly solvable flow, the U-Net, the OT-CFM objective."""

from __future__ import annotations

import math

import pytest
import torch

from tts.models.diffusion import SAMPLERS, DenoiserConfig, FlowConfig, FlowMatching, UNet1d

SIGMA_MIN = 1e-4


def gaussian_ot_field(m: torch.Tensor, s: torch.Tensor):
    """Exact OT-CFM velocity E[x1 - (1 - sigma_min) x0 | x_t] for data N(m, s^2), noise N(0, 1).

    x_t = sigma_t x0 + t x1 is Gaussian, so the conditional mean is linear in x_t. The ODE maps
    x0 to m + sqrt(s^2 + sigma_min^2) x0 at t = 1.
    """

    def velocity(x: torch.Tensor, t: float) -> torch.Tensor:
        sig = 1 - (1 - SIGMA_MIN) * t
        var = sig**2 + t**2 * s**2
        return m + (t * s**2 - (1 - SIGMA_MIN) * sig) / var * (x - t * m)

    return velocity


@pytest.fixture(scope="module")
def gaussian_problem():
    g = torch.Generator().manual_seed(0)
    m = torch.randn(4000, generator=g, dtype=torch.float64) * 2
    s = torch.rand(4000, generator=g, dtype=torch.float64) * 0.9 + 0.1
    x0 = torch.randn(4000, generator=g, dtype=torch.float64)
    exact = m + torch.sqrt(s**2 + SIGMA_MIN**2) * x0
    return gaussian_ot_field(m, s), x0, exact


def rms_error(name: str, problem, steps: int) -> float:
    field, x0, exact = problem
    return float((SAMPLERS[name](field, x0, steps, sigma_min=SIGMA_MIN) - exact).pow(2).mean().sqrt())


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_reaches_the_data_distribution(name: str) -> None:
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(200_000, generator=g, dtype=torch.float64)
    steps = {"euler": 128, "heun": 16, "dpmpp2m": 32}[name]  # enough for 1 % accuracy at each order
    out = SAMPLERS[name](
        gaussian_ot_field(torch.tensor(1.5), torch.tensor(0.5)), x0, steps, sigma_min=SIGMA_MIN
    )
    assert abs(float(out.mean()) - 1.5) < 0.01
    assert abs(float(out.std()) - 0.5) < 0.01


def test_convergence_orders(gaussian_problem) -> None:
    def order(name: str, steps: int) -> float:
        return math.log2(
            rms_error(name, gaussian_problem, steps) / rms_error(name, gaussian_problem, 2 * steps)
        )

    assert 0.8 < order("euler", 32) < 1.2  # first order
    assert order("heun", 32) > 1.8  # second order
    # Second order over the useful range; the first-order final step shows only far beyond it.
    assert order("dpmpp2m", 8) > 1.5


@pytest.mark.parametrize(("steps", "dpm_factor"), [(4, 0.8), (8, 0.5)])
def test_higher_order_samplers_beat_euler_at_equal_steps(
    gaussian_problem, steps: int, dpm_factor: float
) -> None:
    euler = rms_error("euler", gaussian_problem, steps)
    assert rms_error("heun", gaussian_problem, steps) < 0.2 * euler
    assert rms_error("dpmpp2m", gaussian_problem, steps) < dpm_factor * euler


def test_one_step_samplers_agree_and_bad_steps_fail() -> None:
    field = gaussian_ot_field(torch.tensor(0.3), torch.tensor(0.7))
    x0 = torch.randn(10, dtype=torch.float64)
    # With no history DPM-Solver++ on this path is exactly Euler (DDIM).
    torch.testing.assert_close(SAMPLERS["dpmpp2m"](field, x0, 1), SAMPLERS["euler"](field, x0, 1))
    for sampler in SAMPLERS.values():
        with pytest.raises(ValueError, match="steps"):
            sampler(field, x0, 0)


TINY = DenoiserConfig(channels=(8, 16, 16), blocks_per_level=1, mid_blocks=1, emb_dim=16, attention_heads=2)


def randomized_unet(speaker_dim: int = 0) -> UNet1d:
    net = UNet1d(TINY, latent_channels=3, speaker_dim=speaker_dim)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return net.eval()


@pytest.mark.parametrize("length", [1, 5, 13, 16])
def test_unet_padding_does_not_change_valid_frames(length: int) -> None:
    net = randomized_unet(speaker_dim=4)
    g = torch.Generator().manual_seed(length)
    x, mu = torch.randn(1, 3, length, generator=g), torch.randn(1, 3, length, generator=g)
    t, spk = torch.rand(1, generator=g), torch.randn(1, 4, generator=g)
    alone = net(x, t, mu, torch.ones(1, 1, length), spk)
    assert alone.shape == (1, 3, length)
    pad = 7
    xp = torch.cat([x, 5 * torch.randn(1, 3, pad, generator=g)], -1)
    mup = torch.cat([mu, 5 * torch.randn(1, 3, pad, generator=g)], -1)
    mask = torch.cat([torch.ones(1, 1, length), torch.zeros(1, 1, pad)], -1)
    padded = net(xp, t, mup, mask, spk)
    torch.testing.assert_close(padded[..., :length], alone, atol=1e-5, rtol=1e-5)
    assert torch.all(padded[..., length:] == 0)


def test_unet_conditioning_and_zero_init() -> None:
    net = randomized_unet(speaker_dim=4)
    x, mu = torch.randn(2, 3, 12), torch.randn(2, 3, 12)
    mask, spk = torch.ones(2, 1, 12), torch.randn(2, 4)
    base = net(x, torch.tensor([0.3, 0.3]), mu, mask, spk)
    assert not torch.allclose(base, net(x, torch.tensor([0.7, 0.7]), mu, mask, spk))  # time
    assert not torch.allclose(base, net(x, torch.tensor([0.3, 0.3]), mu.flip(0), mask, spk))  # condition
    assert not torch.allclose(base, net(x, torch.tensor([0.3, 0.3]), mu, mask, spk.flip(0)))  # speaker
    with pytest.raises(ValueError, match="multi-speaker"):
        net(x, torch.tensor([0.3, 0.3]), mu, mask)
    fresh = UNet1d(TINY, latent_channels=3)
    assert torch.all(fresh(x, torch.rand(2), mu, mask) == 0)  # zero output layer: v = 0 at start


def test_flow_matching_loss_uses_the_ot_target() -> None:
    flow = FlowMatching(FlowConfig(sigma_min=0.1, cfg_dropout=0.0), TINY, latent_channels=3)
    x1 = torch.randn(2, 3, 10)
    mask = torch.ones(2, 1, 10)
    mask[1, :, 6:] = 0
    loss = flow.loss(x1, mask, torch.randn(2, 3, 10), generator=torch.Generator().manual_seed(5))
    # The fresh network predicts v = 0, so the loss is the masked mean of u^2, u = x1 - 0.9 x0,
    # with x0 drawn right after t from the same generator.
    g = torch.Generator().manual_seed(5)
    torch.rand(2, generator=g)
    x0 = torch.randn(x1.shape, generator=g)
    expected = ((x1 - 0.9 * x0) ** 2 * mask).sum() / (mask.sum() * 3)
    torch.testing.assert_close(loss, expected)
    # Padding content does not enter the loss.
    x1b = x1.clone()
    x1b[1, :, 6:] = 100.0
    loss_b = flow.loss(x1b, mask, torch.randn(2, 3, 10), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(loss_b, loss)


def test_classifier_free_guidance() -> None:
    flow = FlowMatching(FlowConfig(), TINY, latent_channels=3)
    flow.net = randomized_unet()
    x, mu, mask = torch.randn(2, 3, 9), torch.randn(2, 3, 9), torch.ones(2, 1, 9)
    v_c = flow.velocity(x, 0.4, mu, mask)
    v_u = flow.velocity(x, 0.4, torch.zeros_like(mu), mask)
    torch.testing.assert_close(flow.velocity(x, 0.4, mu, mask, guidance=2.0), v_c + 2.0 * (v_c - v_u))
    with pytest.raises(ValueError, match="guidance"):
        flow.sample(x, mu, mask, guidance=-1.0)
    with pytest.raises(ValueError, match="unknown sampler"):
        flow.sample(x, mu, mask, sampler="ddpm")


def test_condition_dropout_only_in_training() -> None:
    flow = FlowMatching(FlowConfig(cfg_dropout=0.5), TINY, latent_channels=3)
    flow.net = randomized_unet()
    x1, mu, mask = torch.randn(8, 3, 9), torch.randn(8, 3, 9), torch.ones(8, 1, 9)

    def loss(train: bool, cond: torch.Tensor) -> torch.Tensor:
        flow.train(train)
        return flow.loss(x1, mask, cond, generator=torch.Generator().manual_seed(0))

    assert torch.equal(loss(False, mu), loss(False, mu))
    assert not torch.allclose(loss(True, mu), loss(False, mu))  # some conditions were dropped
    torch.testing.assert_close(loss(True, torch.zeros_like(mu)), loss(False, torch.zeros_like(mu)))
