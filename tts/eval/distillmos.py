"""Naturalness judge: DistillMOS (Stahl & Gamper, ICASSP 2025, "Distillation and Pruning for Scalable
Self-Supervised Representation-Based Speech Quality Assessment").

A 17 MB convolution + transformer network (complex compressed STFT → CNN → transformer → attention
pooling) distilled from XLS-R-SQA, a quality predictor on XLS-R self-supervised features trained on
listener ratings; it predicts a 1–5 MOS from 16 kHz audio. Like DNSMOS it is a proxy, not a listening
test: compare systems on the same sentences. Clips are
peak-normalised by the model itself, and scored on 7.68 s windows (shorter clips are zero-padded;
longer ones are averaged over windows with at most 1 s hop).

The ``distillmos`` wheel (MIT, weights inside) imports torchaudio at the top of its model module,
only for its own command line. This project does not depend on torchaudio: when it is absent, a
placeholder module stands in for the duration of that one import and is removed right after, so
no other code can mistake it for torchaudio. The weights are then loaded into the model class here
(``weights_only``), without the class's print-and-load path.

Letters used for shapes: L samples.
"""

from __future__ import annotations

import sys
import types
from contextlib import contextmanager
from importlib.util import find_spec

import numpy as np

from tts.eval.judges import require

DISTILLMOS_SAMPLE_RATE = 16000


@contextmanager
def _torchaudio_placeholder():
    """Let a module that only names torchaudio at import time load without it (see module doc)."""
    if "torchaudio" in sys.modules or find_spec("torchaudio") is not None:
        yield
        return
    sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    try:
        yield
    finally:
        sys.modules.pop("torchaudio", None)


def load_distillmos():
    """The DistillMOS network (``torch.nn.Module`` in eval mode) with the wheel's weights."""
    require("distillmos")
    import torch

    with _torchaudio_placeholder():
        from distillmos.sqa import DEFAULT_WEIGHTS_CHKPT, ConvTransformerSQAModel

    model = ConvTransformerSQAModel(load_weights=False)
    state = torch.load(DEFAULT_WEIGHTS_CHKPT, map_location="cpu", weights_only=True)["model"]
    model.load_state_dict(state)
    return model.eval()


class DistillMOSScorer:
    """``scorer(wav, sr) -> float``: DistillMOS of one clip (1–5, higher is better)."""

    def __init__(self) -> None:
        self._model = load_distillmos()

    def __call__(self, wav: np.ndarray, sample_rate: int) -> float:
        """Score ``wav: (L,)`` float audio at ``sample_rate`` (resampled to 16 kHz)."""
        import torch

        if wav.ndim != 1 or wav.size == 0:
            raise ValueError(f"expected non-empty mono audio (L,), got shape {wav.shape}")
        if sample_rate != DISTILLMOS_SAMPLE_RATE:
            from tts.audio import resample

            wav = resample(wav.astype(np.float32), sample_rate, DISTILLMOS_SAMPLE_RATE)
        x = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))[None]
        with torch.inference_mode():
            return float(self._model(x).reshape(-1)[0])
