"""Vocoder: log-mel ``(B, M, T)`` → waveform ``(B, T·hop)``.

- :mod:`~tts.models.vocoder.istft` — STFT in the mel's framing and an ONNX-exportable inverse STFT
- :mod:`~tts.models.vocoder.generators` — default ConvNeXt + inverse-STFT-head generator (Vocos lineage)
- :mod:`~tts.models.vocoder.hifigan` — HiFi-GAN V1/V2/V3 upsampling generators
- :mod:`~tts.models.vocoder.griffin_lim` — weight-free fallback
- :mod:`~tts.models.vocoder.load` — inference files; :mod:`~tts.models.vocoder.onnx` — an exported
  graph on onnxruntime (``OnnxVocoder``), written by :func:`tts.export.onnx.export_onnx`

Training parts (discriminators, losses, ``VocoderTrainConfig``) are in :mod:`tts.train`.
"""

from tts.models.vocoder.config import GENERATOR_KINDS, VocoderConfig, build_generator
from tts.models.vocoder.generators import Vocoder
from tts.models.vocoder.load import GRIFFIN_LIM, load_vocoder, save_vocoder

__all__ = [
    "GENERATOR_KINDS",
    "GRIFFIN_LIM",
    "Vocoder",
    "VocoderConfig",
    "build_generator",
    "load_vocoder",
    "save_vocoder",
]
