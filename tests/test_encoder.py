"""Phoneme encoder, rotary attention, duration predictor and length regulator."""

from __future__ import annotations

import pytest
import torch

from tts.models.encoder import (
    DurationConfig,
    DurationPredictor,
    TextEncoder,
    TextEncoderConfig,
    durations_from_log,
    path_from_durations,
    regulate_length,
)
from tts.models.encoder.text_encoder import apply_rotary, rotary_tables
from tts.models.nn import length_mask

TINY = TextEncoderConfig(dim=32, n_layers=2, n_heads=2, ffn_dim=64, ffn_kernel=3, dropout=0.1)


def randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial weights everywhere (zero-initialised layers would hide masking bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return module.eval()


def test_encoder_shapes_and_masking() -> None:
    enc = randomize(TextEncoder(TINY, n_symbols=20, latent_channels=6))
    tokens = torch.randint(1, 20, (3, 9), generator=torch.Generator().manual_seed(1))
    lengths = torch.tensor([9, 5, 1])
    h, mu, mask = enc(tokens, lengths)
    assert h.shape == (3, 32, 9) and mu.shape == (3, 6, 9) and mask.shape == (3, 1, 9)
    assert torch.all(h[1, :, 5:] == 0) and torch.all(mu[2, :, 1:] == 0)
    # Valid outputs do not depend on padding: same item alone, and with different pad contents.
    for i, n in enumerate(lengths.tolist()):
        h1, mu1, _ = enc(tokens[i : i + 1, :n], lengths[i : i + 1])
        torch.testing.assert_close(h1, h[i : i + 1, :, :n], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(mu1, mu[i : i + 1, :, :n], atol=1e-5, rtol=1e-5)
    garbage = tokens.clone()
    garbage[1, 5:] = 7
    torch.testing.assert_close(enc(garbage, lengths)[1][1, :, :5], mu[1, :, :5])


def test_multi_speaker_encoder_uses_the_speaker() -> None:
    enc = randomize(TextEncoder(TINY, n_symbols=20, latent_channels=6, speaker_dim=8))
    tokens, lengths = torch.randint(1, 20, (2, 7)), torch.tensor([7, 7])
    g = torch.randn(2, 8)
    _, mu_a, _ = enc(tokens, lengths, g)
    _, mu_b, _ = enc(tokens, lengths, g.flip(0))
    assert not torch.allclose(mu_a, mu_b)
    with pytest.raises(ValueError, match="multi-speaker"):
        enc(tokens, lengths)


def test_rotary_scores_depend_only_on_offset() -> None:
    cos, sin = rotary_tables(12, 8, 10_000.0, torch.device("cpu"))
    q, k = torch.randn(8), torch.randn(8)
    qs = apply_rotary(q.expand(12, 8), cos, sin)
    ks = apply_rotary(k.expand(12, 8), cos, sin)
    scores = qs @ ks.T  # scores[i, j] = <R_i q, R_j k>
    torch.testing.assert_close(scores[3, 1], scores[10, 8])
    torch.testing.assert_close(scores[0, 5], scores[6, 11])
    torch.testing.assert_close(qs.norm(dim=-1), q.norm().expand(12))  # a rotation


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="heads"):
        TextEncoderConfig(dim=30, n_heads=4)
    with pytest.raises(ValueError, match="odd"):
        TextEncoderConfig(prenet_kernel=4)
    with pytest.raises(ValueError, match="rounding"):
        DurationConfig(rounding="floor")


def test_duration_predictor_masks_and_uses_speaker() -> None:
    pred = randomize(DurationPredictor(DurationConfig(channels=16), in_dim=32, speaker_dim=4))
    h = torch.randn(2, 32, 6)
    mask = length_mask(torch.tensor([6, 3]), 6)
    g = torch.randn(2, 4)
    logw = pred(h, mask, g)
    assert logw.shape == (2, 6) and torch.all(logw[1, 3:] == 0)
    torch.testing.assert_close(pred(h[1:, :, :3], mask[1:, :, :3], g[1:]), logw[1:, :3], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(pred(h, mask, g.flip(0)), logw)


def test_durations_from_log_rounding_and_scale() -> None:
    logw = torch.log(torch.tensor([[0.2, 1.0, 2.4, 3.6, 9.0]]))
    mask = torch.tensor([[1, 1, 1, 1, 0]])
    assert durations_from_log(logw, mask).tolist() == [[1, 1, 3, 4, 0]]  # ceil, >= 1, 0 on padding
    assert durations_from_log(logw, mask, rounding="round").tolist() == [[1, 1, 2, 4, 0]]
    assert durations_from_log(logw, mask, length_scale=2.0).tolist() == [[1, 2, 5, 8, 0]]
    with pytest.raises(ValueError, match="length_scale"):
        durations_from_log(logw, mask, length_scale=0.0)


def test_length_regulator_repeats_each_token() -> None:
    durations = torch.tensor([[2, 1, 3], [1, 2, 0]])
    path = path_from_durations(durations)
    assert path.shape == (2, 3, 6)
    assert path[0].argmax(0).tolist() == [0, 0, 1, 2, 2, 2]
    assert path[1].sum().item() == 3 and torch.all(path[1, :, 3:] == 0)
    mu = torch.arange(12.0).view(2, 2, 3)
    expanded, mask, lengths = regulate_length(mu, durations)
    assert lengths.tolist() == [6, 3]
    assert expanded[0, 0].tolist() == [0, 0, 1, 2, 2, 2]
    assert expanded[1, 1].tolist() == [9, 10, 10, 0, 0, 0]
    assert mask[:, 0].tolist() == [[1] * 6, [1, 1, 1, 0, 0, 0]]
    torch.testing.assert_close(expanded[0], torch.repeat_interleave(mu[0], durations[0], dim=1))
