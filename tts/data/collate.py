"""Batch padding for ``TTSDataset`` / ``WavSegmentDataset`` items.

Every padded tensor comes with its lengths, so models build masks with
``torch.arange(T)[None] < lengths[:, None]``. Padding values: token id 0 (the tokenizer's pad/blank),
log-mel ``log(1e-5)`` (the log of the magnitude floor, i.e. digital silence, so un-masked
convolutions at the edges see silence rather than a loud constant), latents and wavs 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

MEL_PAD_VALUE = math.log(1e-5)  # == log of AudioConfig.log_clamp


def pad_stack(tensors: Sequence[torch.Tensor], value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad along the last axis and stack: ``[(..., L_i)] -> ((B, ..., max L), lengths (B,))``."""
    if not tensors:
        raise ValueError("cannot collate an empty batch")
    lengths = torch.tensor([t.shape[-1] for t in tensors], dtype=torch.long)
    lead = tensors[0].shape[:-1]
    for t in tensors:
        if t.shape[:-1] != lead:
            raise ValueError(f"cannot batch tensors of shapes {tuple(tensors[0].shape)} and {tuple(t.shape)}")
    out = torch.full((len(tensors), *lead, int(lengths.max())), value, dtype=tensors[0].dtype)
    for i, t in enumerate(tensors):
        out[i, ..., : t.shape[-1]] = t
    return out, lengths


def collate_tts(items: list[dict[str, Any]]) -> dict[str, Any]:
    """``ids: list[str]``, ``tokens (B, N) long``, ``token_lengths (B,)``, ``mels (B, M, T)``,
    ``mel_lengths (B,)``, ``speakers (B,)`` and, when items carry them, ``latents (B, C, T_lat)`` +
    ``latent_lengths (B,)``."""
    tokens, token_lengths = pad_stack([it["tokens"] for it in items], 0)
    mels, mel_lengths = pad_stack([it["mel"] for it in items], MEL_PAD_VALUE)
    batch: dict[str, Any] = {
        "ids": [it["id"] for it in items],
        "tokens": tokens,
        "token_lengths": token_lengths,
        "mels": mels,
        "mel_lengths": mel_lengths,
        "speakers": torch.tensor([int(it["speaker"]) for it in items], dtype=torch.long),
    }
    if "latent" in items[0]:
        batch["latents"], batch["latent_lengths"] = pad_stack([it["latent"] for it in items], 0.0)
    return batch


def collate_wavs(items: list[dict[str, Any]]) -> dict[str, Any]:
    """``ids``, ``wavs (B, S)`` (zero-padded), ``wav_lengths (B,)`` real samples, ``speakers (B,)``."""
    wavs, lengths = pad_stack([it["wav"] for it in items], 0.0)
    # items may already be zero-padded to a fixed segment: their own "length" is the real extent
    lengths = torch.tensor(
        [int(it.get("length", n)) for it, n in zip(items, lengths.tolist())], dtype=torch.long
    )
    return {
        "ids": [it["id"] for it in items],
        "wavs": wavs,
        "wav_lengths": lengths,
        "speakers": torch.tensor([int(it["speaker"]) for it in items], dtype=torch.long),
    }
