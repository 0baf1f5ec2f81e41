"""bf16 matrix multiplies for inference (``tts.models.precision``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tts.audio import AudioConfig
from tts.models import precision
from tts.models.precision import BF16Linear, linears_to_bf16, resolve_precision
from tts.models.vae.mel_vae import MelVAE, MelVAEConfig
from tts.models.vocoder.generators import ISTFTGenerator, ISTFTGeneratorConfig


def test_bf16_linear_matches_linear_to_bf16_rounding() -> None:
    torch.manual_seed(0)
    lin = nn.Linear(64, 96)
    x = torch.randn(3, 50, 64)
    fast = BF16Linear(lin)
    y, ref = fast(x), lin(x)
    assert y.dtype == torch.float32 and y.shape == ref.shape
    rel = ((y - ref).norm() / ref.norm()).item()
    assert 0 < rel < 1e-2  # rounded, but only at the bf16 level (2^-9 per operand)
    assert sum(p.numel() for p in fast.parameters()) == sum(p.numel() for p in lin.parameters())
    assert not any(p.requires_grad for p in fast.parameters())  # inference only: nothing to train
    no_bias = BF16Linear(nn.Linear(64, 8, bias=False))
    assert no_bias(x).shape == (3, 50, 8)


def test_linears_to_bf16_replaces_nested_linears_only() -> None:
    net = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Sequential(nn.Conv1d(8, 8, 3), nn.Linear(8, 2)))
    assert linears_to_bf16(net) == 2
    assert isinstance(net[0], BF16Linear) and isinstance(net[2][1], BF16Linear)
    assert isinstance(net[2][0], nn.Conv1d)
    assert linears_to_bf16(net) == 0  # idempotent


def test_convnext_mlp_keeps_its_hidden_activation_in_bf16() -> None:
    """In a ConvNeXt block the wide hidden activation goes bf16 → GELU → bf16 product (no fp32
    round trip); the block's output is fp32 and close to the fp32 block's."""
    from tts.models.nn import ConvNeXtBlock

    torch.manual_seed(0)
    block = ConvNeXtBlock(32, 96, 7, layer_scale=0.5).eval()
    x = torch.randn(2, 32, 40)
    with torch.no_grad():
        ref = block(x)
        assert block.bf16_matmuls() == 2
        hidden = block.act(block.pw1(torch.randn(2, 40, 32)))
        y = block(x)
    assert block.pw1.bf16_output and not block.pw2.bf16_output
    assert hidden.dtype == torch.bfloat16 and y.dtype == torch.float32
    assert 0 < ((y - ref).norm() / (ref - x).norm()).item() < 2e-2


def test_vocoder_keeps_its_head_and_phase_in_fp32() -> None:
    torch.manual_seed(0)
    voc = ISTFTGenerator(
        ISTFTGeneratorConfig(dim=32, intermediate_dim=64, num_layers=2, phase="instantaneous"), AudioConfig()
    ).eval()
    mel = torch.randn(1, 80, 40) - 4
    with torch.inference_mode():
        ref = voc(mel)
        assert voc.bf16_matmuls() == 4  # two blocks × (pw1, pw2)
        got = voc(mel)
    assert isinstance(voc.head, nn.Linear) and isinstance(voc.advance_head, nn.Linear)
    assert got.shape == ref.shape and got.dtype == torch.float32
    assert ((got - ref).norm() / ref.norm()).item() < 0.05


def test_vae_bf16_decode_is_close() -> None:
    torch.manual_seed(0)
    vae = MelVAE(MelVAEConfig(hidden_channels=32, encoder_blocks=1, decoder_blocks=1)).eval()
    z = torch.randn(1, vae.cfg.latent_channels, 12)
    with torch.inference_mode():
        ref, _ = vae.decode(z, torch.tensor([12]))
        assert vae.bf16_matmuls() > 0
        got, _ = vae.decode(z, torch.tensor([12]))
    assert (got - ref).abs().max().item() < 0.05 * ref.abs().max().item()


def test_auto_precision_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "bf16_matmul_fast", lambda device="cpu": True)
    assert resolve_precision("auto") == "bf16" and resolve_precision(None) == "bf16"
    monkeypatch.setattr(precision, "bf16_matmul_fast", lambda device="cpu": False)
    assert resolve_precision("auto") == "fp32"
    assert resolve_precision("bf16") == "bf16" and resolve_precision("fp32") == "fp32"
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("int8")


def test_no_fast_bf16_off_the_cpu() -> None:
    assert precision.bf16_matmul_fast("meta") is False


def test_apply_precision_switches_only_for_bf16() -> None:
    calls = []

    class Switchable(nn.Module):
        def bf16_matmuls(self) -> int:
            calls.append(self)
            return 1

    a, plain = Switchable(), nn.Identity()
    assert precision.apply_precision("fp32", "cpu", a, plain) == "fp32" and calls == []
    assert precision.apply_precision("bf16", "cpu", a, plain) == "bf16" and calls == [a]
