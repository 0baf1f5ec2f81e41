"""Data pipeline: LJSpeech-layout corpus → prepared folder (wavs, mels, phonemes, splits) → batches.

``ljspeech`` reads a corpus, ``prepare`` (with ``process``) builds the prepared folder
(``tts-train prepare``), ``manifest`` reads it back, ``dataset`` / ``sampler`` / ``collate`` feed the
training stages. The format is described in ``docs/data.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tts.data.collate import collate_tts, collate_wavs
    from tts.data.dataset import TTSDataset, WavSegmentDataset
    from tts.data.ljspeech import read_metadata
    from tts.data.manifest import Manifest, load_manifest
    from tts.data.prepare import PrepareConfig, prepare_corpus
    from tts.data.sampler import FrameBucketSampler

_EXPORTS = {
    "collate_tts": "tts.data.collate",
    "collate_wavs": "tts.data.collate",
    "TTSDataset": "tts.data.dataset",
    "WavSegmentDataset": "tts.data.dataset",
    "read_metadata": "tts.data.ljspeech",
    "Manifest": "tts.data.manifest",
    "load_manifest": "tts.data.manifest",
    "PrepareConfig": "tts.data.prepare",
    "prepare_corpus": "tts.data.prepare",
    "FrameBucketSampler": "tts.data.sampler",
}
__all__ = [
    "FrameBucketSampler",
    "Manifest",
    "PrepareConfig",
    "TTSDataset",
    "WavSegmentDataset",
    "collate_tts",
    "collate_wavs",
    "load_manifest",
    "prepare_corpus",
    "read_metadata",
]


def __getattr__(name: str) -> Any:  # lazy: importing tts.data must not import torch
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'tts.data' has no attribute {name!r}")
