"""Vocoder: log-mel ``(B, M, T)`` → waveform ``(B, T·hop)``.

- :mod:`~tts.vocoder.istft` — STFT in the mel's framing and an ONNX-exportable inverse STFT
- :mod:`~tts.vocoder.generators` — default ConvNeXt + inverse-STFT-head generator (Vocos lineage)
- :mod:`~tts.vocoder.hifigan` — HiFi-GAN V1/V2/V3 upsampling generators
- :mod:`~tts.vocoder.griffin_lim` — weight-free fallback
- :mod:`~tts.vocoder.load` — inference files; :mod:`~tts.vocoder.onnx_export` — ONNX export/runtime

Training parts (discriminators, losses, ``VocoderTrainConfig``) are in :mod:`tts.train`.
"""

from tts.vocoder.config import GENERATOR_KINDS, VocoderConfig, build_generator
from tts.vocoder.generators import Vocoder
from tts.vocoder.load import GRIFFIN_LIM, load_vocoder, save_vocoder

__all__ = [
    "GENERATOR_KINDS",
    "GRIFFIN_LIM",
    "Vocoder",
    "VocoderConfig",
    "build_generator",
    "load_vocoder",
    "save_vocoder",
]
