"""Intelligibility: offline ASR and word/character error rates (jiwer).

The default recogniser is Whisper (:mod:`tts.eval.whisper`); pocketsphinx stays as the fallback when
Whisper is not installed. :func:`make_asr` builds either; :func:`error_counts` scores a transcript with
the normaliser that suits the recogniser (Whisper's English normaliser for Whisper).

pocketsphinx (CMU Sphinx, Huggins-Daines et al. 2006) ships a US-English acoustic model, a trigram
language model and the CMU dictionary in its PyPI wheel, so it runs with no download. It is a weak
recogniser: its WER on clean synthetic speech is 15–20 %, so compare systems on the *same*
sentences and read differences, not absolute values.

Decoding is independent of file order: a reused decoder keeps its cepstral-mean estimate from the
previous utterance, so each file starts from the decoder's initial CMN vector and is decoded as one
whole utterance (``full_utt=True``: CMN computed on the utterance itself).

Letters used for shapes: L samples.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

ASR_SAMPLE_RATE = 16000  #: the pocketsphinx en-us model's rate


def whisper_normalize(text: str) -> str:
    """Whisper's English text normaliser (Radford et al. 2022, appendix C; PyPI ``whisper-normalizer``).

    Lower case, no punctuation, spelled-out numbers → digits ("seven" and "7" agree), British →
    American spelling, contractions and fillers standardised.
    """
    return _whisper_normalizer()(text)


@lru_cache(maxsize=1)
def _whisper_normalizer():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


NORMALIZERS = ("project", "whisper")


def make_asr(name: str, threads: int = 1):
    """A recogniser with ``transcribe(wav, sr) -> str``: ``whisper-base``, ``whisper-tiny.en`` or
    ``pocketsphinx``. Raises :class:`tts.eval.judges.JudgeMissing` (one line) if not installed."""
    from tts.eval.judges import require

    require(name)
    if name.startswith("whisper-"):
        from tts.eval.whisper import WhisperASR

        return WhisperASR(name.removeprefix("whisper-"), threads=threads)
    if name == "pocketsphinx":
        return PocketsphinxASR()
    raise ValueError(f"unknown recogniser {name!r}")


def normalizer_for(asr: str) -> str:
    """The text normaliser WER uses with recogniser ``asr``."""
    return "whisper" if asr.startswith("whisper") else "project"


def normalize_for_wer(text: str) -> str:
    """Lower-case words for scoring: project normaliser (numbers → words), no punctuation.

    Hyphens split words; apostrophes inside words stay (``don't``); everything else but letters goes.
    """
    from tts.text import normalize

    text = normalize(text).lower().replace("-", " ")
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(w for w in words if w)


class PocketsphinxASR:
    """A pocketsphinx decoder that transcribes one utterance at a time, order-independently."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder

        self._decoder = Decoder(samprate=ASR_SAMPLE_RATE, loglevel="FATAL")
        self._cmn0 = self._decoder.get_cmn(False)  # the model's initial cepstral mean

    def transcribe(self, wav: np.ndarray, sample_rate: int) -> str:
        """Recognised words (lower case) of ``wav: (L,)`` float in [-1, 1] at ``sample_rate``."""
        if wav.ndim != 1 or wav.size == 0:
            raise ValueError(f"expected non-empty mono audio (L,), got shape {wav.shape}")
        if sample_rate != ASR_SAMPLE_RATE:
            from tts.audio import resample

            wav = resample(wav.astype(np.float32), sample_rate, ASR_SAMPLE_RATE)
        pcm = (np.clip(wav, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
        d = self._decoder
        d.set_cmn(self._cmn0)  # forget the previous utterance's channel estimate
        d.start_utt()
        d.process_raw(pcm, no_search=False, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""

    def transcribe_file(self, path: str | Path) -> str:
        from tts.audio import load_audio

        wav, _ = load_audio(path, sample_rate=ASR_SAMPLE_RATE)
        return self.transcribe(wav, ASR_SAMPLE_RATE)


@dataclass(frozen=True)
class ErrorCounts:
    """Alignment counts of one or many utterances; rates are errors / reference units."""

    ref_words: int
    word_errors: int
    ref_chars: int
    char_errors: int

    @property
    def wer(self) -> float:
        return self.word_errors / max(self.ref_words, 1)

    @property
    def cer(self) -> float:
        return self.char_errors / max(self.ref_chars, 1)

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(
            self.ref_words + other.ref_words,
            self.word_errors + other.word_errors,
            self.ref_chars + other.ref_chars,
            self.char_errors + other.char_errors,
        )


def error_counts(
    reference: str, hypothesis: str, normalize: bool = True, normalizer: str = "project"
) -> ErrorCounts:
    """Word and character edit counts (Levenshtein, via jiwer) of one utterance.

    Both texts go through the same normaliser unless ``normalize=False``: ``"project"``
    (:func:`normalize_for_wer`, for pocketsphinx) or ``"whisper"`` (:func:`whisper_normalize`).
    Characters are counted on the words joined by single spaces. Raises ``ValueError`` for an empty
    reference.
    """
    import jiwer

    if normalizer not in NORMALIZERS:
        raise ValueError(f"unknown normalizer {normalizer!r}; choose from {NORMALIZERS}")
    fn = whisper_normalize if normalizer == "whisper" else normalize_for_wer
    ref = " ".join(fn(reference).split()) if normalize else " ".join(reference.split())
    hyp = " ".join(fn(hypothesis).split()) if normalize else " ".join(hypothesis.split())
    if not ref:
        raise ValueError(f"reference text is empty after normalisation: {reference!r}")
    w = jiwer.process_words(ref, hyp)
    c = jiwer.process_characters(ref, hyp)
    return ErrorCounts(
        ref_words=w.hits + w.substitutions + w.deletions,
        word_errors=w.substitutions + w.deletions + w.insertions,
        ref_chars=c.hits + c.substitutions + c.deletions,
        char_errors=c.substitutions + c.deletions + c.insertions,
    )


def corpus_error_rates(
    references: Sequence[str], hypotheses: Sequence[str], normalizer: str = "project"
) -> dict[str, float]:
    """Corpus-level WER and CER: total errors over total reference words/characters (not a mean of rates)."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("no utterances to score")
    total = ErrorCounts(0, 0, 0, 0)
    for r, h in zip(references, hypotheses):
        total = total + error_counts(r, h, normalizer=normalizer)
    return {"wer": total.wer, "cer": total.cer, "ref_words": total.ref_words, "ref_chars": total.ref_chars}
