"""Phoneme encoder, duration predictor / length regulator and monotonic alignment search.

``text_encoder`` (ids -> h, mu) -> ``duration`` (log durations, length regulator) -> ``alignment``
(MAS, training only).
"""

from tts.models.encoder.duration import (
    DurationConfig,
    DurationPredictor,
    durations_from_log,
    expand,
    path_from_durations,
    regulate_length,
)
from tts.models.encoder.text_encoder import TextEncoder, TextEncoderConfig

__all__ = [
    "DurationConfig",
    "DurationPredictor",
    "TextEncoder",
    "TextEncoderConfig",
    "durations_from_log",
    "expand",
    "path_from_durations",
    "regulate_length",
]
