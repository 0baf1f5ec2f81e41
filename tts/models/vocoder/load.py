"""Vocoder inference files: write (weight norm folded), read, rebuild, warm-start.

A vocoder file is a ``kind = "vocoder"`` safetensors (:mod:`tts.models.checkpoint`) whose config is
``to_dict(VocoderConfig)`` — audio settings included — and whose tensors are the generator's
state dict with weight normalisation folded into plain weights (what inference and ONNX use).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch.nn.utils import parametrize

from tts.audio import AudioConfig
from tts.core.config import from_dict, to_dict
from tts.models.checkpoint import CheckpointError, load_weights, no_default_init, save_weights
from tts.models.vocoder.config import VocoderConfig, build_generator, stored_model_config
from tts.models.vocoder.generators import Vocoder

GRIFFIN_LIM = "griffin-lim"


def inference_state_dict(generator: Vocoder) -> dict[str, torch.Tensor]:
    """The generator's weights with weight norm folded in (the module itself is left untouched).

    Computed from the parametrised weights rather than by folding a deep copy: copies of a
    parametrised module share its generated class, and folding one would break the other.
    """
    state = {k: v for k, v in generator.state_dict().items() if ".parametrizations." not in k}
    for name, module in generator.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            state[f"{name}.weight"] = module.weight
    return {k: v.detach().cpu().clone() for k, v in state.items()}


def save_vocoder(
    path: str | Path, generator: Vocoder, cfg: VocoderConfig, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``generator`` (built from ``cfg``) as a self-describing ``kind = "vocoder"`` file."""
    n_params = sum(p.numel() for p in generator.parameters())
    return save_weights(
        path,
        inference_state_dict(generator),
        "vocoder",
        to_dict(cfg.model()),
        {"parameters": n_params, **(meta or {})},
    )


def read_vocoder(path: str | Path) -> tuple[VocoderConfig, dict[str, torch.Tensor], dict[str, Any]]:
    """``(config, plain weights, meta)`` of a vocoder file; ``CheckpointError`` if it is not one."""
    tensors, config, meta = load_weights(path, kind="vocoder")
    try:
        cfg = from_dict(VocoderConfig, stored_model_config(config))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"vocoder file {path} has an invalid config: {e}") from e
    return cfg, tensors, meta


def _load_plain(
    generator: Vocoder, tensors: dict[str, torch.Tensor], path: str | Path, assign: bool = False
) -> None:
    try:
        generator.load_state_dict(tensors, strict=True, assign=assign)
    except RuntimeError as e:  # missing/unexpected keys or shape mismatches
        raise CheckpointError(f"vocoder file {path} does not match its own config: {e}") from e


def load_vocoder(
    spec: str | Path, device: str | torch.device = "cpu", audio: AudioConfig | None = None
) -> Vocoder:
    """A ready-to-run vocoder (eval mode): ``forward(mel: (B, M, T)) -> wav (B, T·hop)``.

    ``spec`` is a vocoder ``.safetensors`` file, an exported ``.onnx`` file (run by onnxruntime,
    see :class:`tts.models.vocoder.onnx.OnnxVocoder`) or ``"griffin-lim"`` (weight-free fallback for
    ``audio``, or the default :class:`tts.audio.AudioConfig`). The module's ``audio`` attribute is
    its AudioConfig.
    """
    if str(spec) == GRIFFIN_LIM:
        from tts.models.vocoder.griffin_lim import GriffinLim

        return GriffinLim(audio).to(device).eval()
    if Path(spec).suffix.lower() == ".onnx":
        from tts.models.vocoder.onnx import OnnxVocoder

        return OnnxVocoder(spec)
    cfg, tensors, _ = read_vocoder(spec)
    with no_default_init():  # every parameter is loaded next
        generator = build_generator(cfg)
    generator.remove_weight_norm()
    _load_plain(generator, tensors, spec, assign=True)
    return generator.to(device).eval()


def warm_start(generator: Vocoder, cfg: VocoderConfig, path: str | Path) -> None:
    """Load a vocoder file into a training ``generator`` (which may carry weight norm).

    The file must hold the same architecture as ``cfg``; loss weights, discriminators and schedule
    may differ (fine-tuning on new mels with a new recipe is the point of a warm start).
    """
    file_cfg, tensors, _ = read_vocoder(path)
    # an "absolute"-phase iSTFT generator may start an "instantaneous" one: same weights, plus a
    # phase-advance head that starts at zero (the bin centre frequencies)
    upgrade = (
        cfg.generator == "istft"
        and file_cfg.istft.phase == "absolute"
        and cfg.istft.phase == "instantaneous"
        and dataclasses.replace(file_cfg.istft, phase=cfg.istft.phase) == cfg.istft
    )
    for name in ("generator", "istft", "hifigan", "audio"):
        if getattr(file_cfg, name) != getattr(cfg, name) and not (upgrade and name == "istft"):
            theirs, mine = getattr(file_cfg, name), getattr(cfg, name)
            raise CheckpointError(f"vocoder file {path} has {name} = {theirs!r}, this run has {mine!r}")
    # rebuild plain → load → re-apply weight norm, so g and v are derived from the file's weights
    plain = build_generator(cfg)
    plain.remove_weight_norm()
    if upgrade:
        tensors = {
            **{k: v for k, v in plain.state_dict().items() if k.startswith("advance_head.")},
            **tensors,
        }
    _load_plain(plain, tensors, path)
    plain.apply_weight_norm()
    generator.load_state_dict(plain.state_dict(), strict=True)
