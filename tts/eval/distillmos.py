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

Resampling matters here. DistillMOS's own command line resamples with torchaudio's default windowed-sinc
filter (Hann window, 6 zero crossings, cut-off at 0.99 of the lower Nyquist), whose gentle roll-off
leaves little energy near 8 kHz; a steep resampler (soxr "HQ") keeps it, and the network hears it: on
the 22.05 kHz output of our mel-based voice and on RHVoice, scores came out 0.19–0.26 lower with soxr than
with the reference filter (12 sentences each), on 24 kHz Kokoro 0.12 higher; on Piper they agreed.
:func:`sinc_resample` implements the reference filter here (no torchaudio), so the scores are those of the
published pipeline.

Letters used for shapes: L samples.
"""

from __future__ import annotations

import math
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


def sinc_resample(
    wav: np.ndarray, orig_sr: int, new_sr: int, zero_crossings: int = 6, rolloff: float = 0.99
) -> np.ndarray:
    """Band-limited resampling by windowed-sinc interpolation (J. O. Smith, "Digital Audio Resampling
    Home Page", bandlimited interpolation), with the parameters of torchaudio's default ``Resample``:
    a Hann-windowed sinc (``cos²`` of the scaled time) over ``zero_crossings`` zero crossings, cut off
    at ``rolloff`` × the lower Nyquist frequency. The rates are reduced by their GCD and every output
    phase gets its own kernel, applied as one strided convolution. ``wav: (L,)`` → ``(ceil(L·new/orig),)``.
    """
    import torch

    if orig_sr == new_sr:
        return wav.astype(np.float32)
    g = math.gcd(orig_sr, new_sr)
    up, down = new_sr // g, orig_sr // g  # output phases per `down` input samples
    cutoff = min(up, down) * rolloff
    width = math.ceil(zero_crossings * down / cutoff)
    taps = torch.arange(-width, width + down, dtype=torch.float64)[None, :] / down  # (1, K)
    t = (taps - torch.arange(up, dtype=torch.float64)[:, None] / up) * cutoff  # (up, K), in zero crossings
    t = t.clamp(-zero_crossings, zero_crossings)
    window = torch.cos(t * math.pi / (2 * zero_crossings)) ** 2
    t = t * math.pi
    kernels = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t) * window * (cutoff / down)
    x = torch.from_numpy(np.asarray(wav, dtype=np.float64)).reshape(1, 1, -1)
    x = torch.nn.functional.pad(x, (width, width + down))
    y = torch.nn.functional.conv1d(x, kernels[:, None, :], stride=down)  # (1, up, frames)
    n_out = math.ceil(up * wav.shape[-1] / down)
    return y[0].T.reshape(-1)[:n_out].numpy().astype(np.float32)


class DistillMOSScorer:
    """``scorer(wav, sr) -> float``: DistillMOS of one clip (1–5, higher is better)."""

    def __init__(self) -> None:
        self._model = load_distillmos()

    def __call__(self, wav: np.ndarray, sample_rate: int) -> float:
        """Score ``wav: (L,)`` float audio at ``sample_rate`` (resampled to 16 kHz with the reference
        filter, :func:`sinc_resample`)."""
        import torch

        if wav.ndim != 1 or wav.size == 0:
            raise ValueError(f"expected non-empty mono audio (L,), got shape {wav.shape}")
        wav = sinc_resample(wav, sample_rate, DISTILLMOS_SAMPLE_RATE)
        x = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))[None]
        with torch.inference_mode():
            return float(self._model(x).reshape(-1)[0])
