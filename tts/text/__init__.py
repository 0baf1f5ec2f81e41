"""Text front end: normalise -> split sentences -> phonemise (espeak-ng IPA) -> token ids.

Importing this package is cheap: ``phonemizer`` (and espeak) load on the first ``phonemize`` call.
"""

from __future__ import annotations

from tts.text.normalize import normalize
from tts.text.phonemize import phonemize, phonemize_batch
from tts.text.sentences import split_sentences
from tts.text.tokenizer import Tokenizer

__all__ = ["Tokenizer", "normalize", "phonemize", "phonemize_batch", "split_sentences"]
