"""Inference precision: bf16 matrix multiplies on CPUs that have matrix units for them.

Most of a synthesis call is spent in the pointwise (``Linear``) layers of the ConvNeXt blocks of
the vocoder and of the VAE decoder. On a CPU with Intel AMX (``amx_bf16``: Sapphire Rapids and
later) or AVX-512 BF16 dot products (AMD Zen 4 and later) oneDNN multiplies bf16 matrices with fp32
accumulation several times faster than fp32 ones. :class:`BF16Linear` does only that multiply in
bf16: its input is rounded to bf16, the product comes back as fp32, the bias is added in fp32, and
everything around it (norms, residual sums, the vocoder's magnitude/phase head, the phase integral
and the inverse STFT) stays fp32. Inside a ConvNeXt MLP (``pw2(gelu(pw1(x)))``, :func:`bf16_mlp`)
the wide hidden activation stays bf16 from the first product through the GELU into the second:
its two fp32 round trips would cost more than the products themselves on short inputs, and the
second product rounds it to bf16 anyway. The rounding error of one layer is about 2⁻⁹ relative.

``precision="auto"`` (the default of :func:`tts.runtime.torch.load_voice`) picks ``"bf16"`` on a CPU with
AMX or AVX-512 BF16 and ``"fp32"`` everywhere else, because without either bf16 is emulated and
slower than fp32. Training does not use these layers; its bf16 is autocast (CUDA, or CPU with
``TrainConfig.cpu_amp``), and :func:`fp32_region` marks the blocks that stay fp32 under it. Speed and
quality effects, measured per CPU: docs/benchmarks.md and docs/usage.md.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from tts.core.names import PRECISIONS


def fp32_region(device: torch.device) -> contextlib.AbstractContextManager:
    """A block that runs in fp32 even inside bf16 autocast (CUDA, or CPU with ``TrainConfig.cpu_amp``):
    sums of many terms (alignment log-likelihoods), the phase integral and the inverse STFT."""
    if device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


def bf16_matmul_fast(device: str | torch.device = "cpu") -> bool:
    """True when bf16 matrix multiplies are native on ``device``: a CPU with AMX tiles or with
    AVX-512 BF16 dot products (``avx512_bf16``: Cooper Lake, AMD Zen 4 and later)."""
    if torch.device(device).type != "cpu":
        return False
    for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):  # private in torch 2.x
        probe = getattr(torch.cpu, name, None)
        try:
            if probe is not None and probe():
                return True
        except Exception:  # noqa: BLE001 - a failing capability probe means "not supported"
            continue
    return False


def resolve_precision(precision: str | None, device: str | torch.device = "cpu") -> str:
    """``"auto"``/``None`` → ``"bf16"`` where :func:`bf16_matmul_fast`, else ``"fp32"``."""
    precision = precision or "auto"
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if bf16_matmul_fast(device) else "fp32"
    return precision


def apply_precision(precision: str | None, device: str | torch.device, *models: nn.Module) -> str:
    """Resolve ``precision`` (:func:`resolve_precision`) and, for ``"bf16"``, let each model that
    offers ``bf16_matmuls()`` (VAE, vocoders) switch its big multiplies; returns the precision used."""
    precision = resolve_precision(precision, device)
    if precision == "bf16":
        for model in models:
            switch = getattr(model, "bf16_matmuls", None)
            if switch is not None:
                switch()
    return precision


class BF16Linear(nn.Module):
    """Inference stand-in for an ``nn.Linear``: bf16 × bf16 product (fp32 accumulate).

    ``forward(x: (..., in)) -> (..., out)``: fp32 out with the bias added in fp32, or, with
    ``bf16_output``, bf16 out with the bias added by the product (for a layer whose output feeds
    another bf16 product, see :func:`bf16_mlp`).
    """

    def __init__(self, linear: nn.Linear, bf16_output: bool = False) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.bf16_output = bf16_output
        # frozen parameters (not buffers), so parameter counts and ``.to()`` treat them as weights
        self.weight = nn.Parameter(linear.weight.detach().to(torch.bfloat16), requires_grad=False)
        bias, dtype = linear.bias, torch.bfloat16 if bf16_output else torch.float32
        self.bias = nn.Parameter(bias.detach().to(dtype), requires_grad=False) if bias is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bf16_output:
            return F.linear(x.to(torch.bfloat16), self.weight, self.bias)
        y = F.linear(x.to(torch.bfloat16), self.weight).float()
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, bf16_output={self.bf16_output}"
        )


def bf16_mlp(pw1: nn.Linear, pw2: nn.Linear) -> tuple[BF16Linear, BF16Linear]:
    """The two layers of a ``pw2(act(pw1(x)))`` MLP with its hidden activation kept in bf16:
    ``pw1`` returns bf16 (the elementwise activation runs on it), ``pw2`` takes it and returns fp32."""
    return BF16Linear(pw1, bf16_output=True), BF16Linear(pw2)


def linears_to_bf16(module: nn.Module) -> int:
    """Replace every ``nn.Linear`` under ``module`` by a :class:`BF16Linear` (in place, for
    inference only: the replacements' parameters are frozen); a submodule with its own
    ``bf16_matmuls()`` (a ConvNeXt block: :func:`bf16_mlp`) switches itself. Returns how many
    layers were replaced."""
    count = 0
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear):
            setattr(module, name, BF16Linear(child))
            count += 1
        elif callable(getattr(child, "bf16_matmuls", None)):
            count += child.bf16_matmuls()
        else:
            count += linears_to_bf16(child)
    return count
