"""What a synthesizer returns: :class:`Audio` (samples, the phonemes' alignment, the words' times)
and :class:`Word`. Torch-free.

Letters used for shapes: N tokens, L samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

PAUSE = "<pause>"  #: token label of the silence between sentences in ``Audio.tokens``
BREAK = "<break>"  #: token label of an SSML ``<break>`` inside a sentence


@dataclass(frozen=True)
class Word:
    """A word of the input text and when it is spoken: ``start``/``end`` in seconds from the start
    of the :class:`Audio` that carries it, ``[char_start, char_end)`` its characters in the text
    (or SSML) the caller passed, ``text`` those characters ("$42.50" is one word)."""

    text: str
    start: float
    end: float
    char_start: int
    char_end: int

    def to_dict(self) -> dict[str, Any]:
        """The ``--timestamps`` JSON object: ``word``, ``start``, ``end``, ``char_start``, ``char_end``."""
        return {
            "word": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "char_start": self.char_start,
            "char_end": self.char_end,
        }

    def shifted(self, seconds: float) -> Word:
        return replace(self, start=self.start + seconds, end=self.end + seconds)


@dataclass
class Audio:
    """Synthesised speech and how it lines up with the phonemes.

    ``tokens[i]`` (a symbol of the voice's tokenizer, the blank included, or ``"<pause>"``) lasts
    ``durations[i]`` seconds; the durations add up to ``duration``. Stream chunks carry the
    sentence's text, phonemes and alignment on their first chunk only.
    """

    samples: np.ndarray  #: (L,) float32, nominally in [-1, 1] (clipped by save / to_pcm16)
    sample_rate: int
    text: str = ""
    phonemes: str = ""
    tokens: list[str] = field(default_factory=list)
    durations: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  #: (N,) seconds
    #: the input's words with their times in this audio (a stream chunk: the words that start in it)
    words: list[Word] = field(default_factory=list)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def save(self, path: str | Path) -> Path:
        """Write a 16-bit ``.wav`` or ``.flac`` (by suffix) atomically: nothing is left on failure."""
        from tts.core.files import write_audio

        return write_audio(path, self.samples, self.sample_rate)

    def to_pcm16(self) -> bytes:
        """Little-endian signed 16-bit mono PCM (what ``tts-synth --raw`` writes)."""
        return (np.clip(self.samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()

    @classmethod
    def concatenate(cls, parts: Sequence[Audio]) -> Audio:
        """Join chunks (e.g. from :meth:`Synthesizer.stream`) into one ``Audio``."""
        if not parts:
            raise ValueError("nothing to concatenate")
        words, offset = [], 0
        for p in parts:
            words.extend(w.shifted(offset / p.sample_rate) for w in p.words)
            offset += len(p.samples)
        return cls(
            samples=np.concatenate([p.samples for p in parts]).astype(np.float32),
            sample_rate=parts[0].sample_rate,
            text=" ".join(p.text for p in parts if p.text),
            phonemes=" ".join(p.phonemes for p in parts if p.phonemes),
            tokens=[t for p in parts for t in p.tokens],
            durations=np.concatenate([p.durations for p in parts]).astype(np.float32),
            words=words,
        )
