"""Grapheme-to-phoneme conversion with espeak-ng through ``phonemizer`` (IPA, stress, punctuation).

Library selection (lazy, cached): ``TTS_ESPEAK=auto`` (default) uses a system libespeak-ng when
one is installed and otherwise the ``espeakng-loader`` wheel, which ships the library and its
data; ``TTS_ESPEAK=system`` or ``TTS_ESPEAK=wheel`` forces one.  One backend per
(language, library) is built on first use and reused: building one costs ~0.2 s.

Inline overrides: ``Hello [[h ə l ˈoʊ]] world`` -> the bracket content is copied into the output
as one word with its whitespace removed (write two spans for two words); the rest is phonemised.
"""

from __future__ import annotations

import ctypes.util
import functools
import logging
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from tts.text.normalize import normalize as normalize_text
from tts.text.normalize import split_overrides

ESPEAK_ENV = "TTS_ESPEAK"
DEFAULT_MAX_CHARS = 100_000
# The marks phonemizer hides from espeak and restores in the output: exactly the tokenizer's.
PUNCTUATION_MARKS = ';:,.!?¡¿—…"«»“”'

log = logging.getLogger(__name__)
_LOCK = threading.Lock()  # espeak keeps global state: build and call backends one at a time
_BACKENDS: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class EspeakLibrary:
    """Which libespeak-ng to load: ``kind`` is "system" or "wheel"; ``data_path`` None = built-in."""

    kind: str
    library: str
    data_path: str | None


def find_espeak(mode: str | None = None) -> EspeakLibrary:
    """Resolve the espeak-ng library for ``mode`` ("auto" | "system" | "wheel"; default ``$TTS_ESPEAK``).

    Raises ``ValueError`` for an unknown mode and ``RuntimeError`` when no library can be found.
    """
    mode = (mode or os.environ.get(ESPEAK_ENV) or "auto").strip().lower()
    if mode not in ("auto", "system", "wheel"):
        raise ValueError(f"{ESPEAK_ENV} must be auto, system or wheel, got {mode!r}")
    if mode in ("auto", "system"):
        system = os.environ.get("PHONEMIZER_ESPEAK_LIBRARY") or _find_library(ctypes.util.find_library)
        if system:
            return EspeakLibrary("system", system, None)
        if mode == "system":
            raise RuntimeError(
                f"{ESPEAK_ENV}=system but no libespeak-ng was found; install espeak-ng "
                f"(e.g. apt install espeak-ng) or set {ESPEAK_ENV}=wheel"
            )
    try:
        import espeakng_loader
    except ImportError:
        raise RuntimeError(
            "no espeak-ng library: install the system package espeak-ng or `pip install espeakng-loader`"
        ) from None
    return EspeakLibrary("wheel", espeakng_loader.get_library_path(), espeakng_loader.get_data_path())


@functools.lru_cache(maxsize=4)
def _find_library(finder: Any) -> str | None:
    """``finder("espeak-ng")``, once per finder: ``ctypes.util.find_library`` runs ``ldconfig -p`` in a
    subprocess (1-3 ms on every sentence otherwise); keyed by the finder so a patched one is asked."""
    return finder("espeak-ng")


def get_backend(language: str = "en-us", espeak: str | None = None) -> Any:
    """The shared phonemizer ``EspeakBackend`` for ``language`` (built once, then cached).

    Raises ``ValueError`` for a language espeak-ng does not know.
    """
    lib = find_espeak(espeak)
    key = (language, lib.library)
    with _LOCK:
        if key not in _BACKENDS:
            _BACKENDS[key] = _build_backend(language, lib)
        return _BACKENDS[key]


def _build_backend(language: str, lib: EspeakLibrary) -> Any:
    from phonemizer.backend import EspeakBackend
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    # phonemizer reads the library and data path from class attributes while it builds the backend;
    # set them for this build only so backends for different libraries can live side by side.
    saved = (
        getattr(EspeakWrapper, "_ESPEAK_LIBRARY", None),
        getattr(EspeakWrapper, "_ESPEAK_DATA_PATH", None),
    )
    EspeakWrapper.set_library(lib.library)
    EspeakWrapper.set_data_path(lib.data_path)
    try:
        backend = EspeakBackend(
            language,
            punctuation_marks=PUNCTUATION_MARKS,
            preserve_punctuation=True,
            with_stress=True,
            language_switch="remove-flags",
            words_mismatch="ignore",
            logger=_quiet_logger(),
        )
    except RuntimeError as e:
        if "not supported" in str(e) or "invalid voice" in str(e):
            raise ValueError(f"espeak-ng does not support language {language!r}") from e
        raise
    finally:
        EspeakWrapper.set_library(saved[0])
        EspeakWrapper.set_data_path(saved[1])
    log.debug("espeak-ng %s backend for %s from %s", lib.kind, language, lib.library)
    return backend


def _quiet_logger() -> logging.Logger:
    # phonemizer warns about every word-count mismatch and language switch; keep only its errors.
    # A detached Logger (not registered with logging) so no global logging state changes.
    return logging.Logger("tts.text.espeak", level=logging.ERROR)


def phonemize(
    text: str,
    language: str = "en-us",
    normalize: bool = True,
    *,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    espeak: str | None = None,
) -> str:
    """IPA with stress marks and punctuation for ``text``: ``"Hello!"`` -> ``"həlˈoʊ!"``.

    ``normalize`` runs ``tts.text.normalize`` first for English (numbers, abbreviations, symbols).  Raises
    ``ValueError`` for empty text, text with nothing pronounceable, text longer than ``max_chars``
    (None: no limit), unbalanced ``[[`` overrides and unsupported languages.
    """
    return phonemize_batch([text], language, normalize, max_chars=max_chars, espeak=espeak)[0]


def phonemize_batch(
    texts: list[str],
    language: str = "en-us",
    normalize: bool = True,
    *,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    espeak: str | None = None,
) -> list[str]:
    """``phonemize`` for many texts with one espeak call (the data preparation path).

    texts: N strings -> N IPA strings, in order.  Any invalid text raises ``ValueError`` naming its
    index; callers that want to skip bad rows retry them one by one.
    """
    if isinstance(texts, str):
        raise TypeError("phonemize_batch takes a list of strings; use phonemize() for one text")
    return [ph for ph, _ in _phonemize_plans(texts, language, normalize, max_chars, espeak)]


def phonemize_words(
    texts: list[str],
    language: str = "en-us",
    *,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    espeak: str | None = None,
) -> list[tuple[str, list[tuple[int, int]]]]:
    """Phonemes of already normalised ``texts`` and where each word went: per text
    ``(phonemes, ranges)`` with ``ranges[i]`` the ``[start, end)`` slice of ``phonemes`` (its
    attached punctuation excluded) that ``tts.text.alignment.word_ranges(text)[i]`` became.

    ``phonemes`` is exactly ``phonemize(text, normalize=False)``. espeak usually returns one phoneme
    word per input word; where it merges or splits words, the piece's words are phonemised one by
    one as well and the piece's phoneme words are shared out in proportion to those lengths.
    """
    return _phonemize_plans(texts, language, False, max_chars, espeak)


def _phonemize_plans(
    texts: list[str], language: str, normalize: bool, max_chars: int | None, espeak: str | None
) -> list[tuple[str, list[tuple[int, int]]]]:
    labels = [f"text {i}: " if len(texts) > 1 else "" for i in range(len(texts))]
    plans = [_plan(text, labels[i], language, normalize, max_chars) for i, text in enumerate(texts)]
    jobs = [piece for plan in plans for kind, piece, _, _ in plan if kind == "espeak"]
    phonemes = _run_espeak(jobs, language, espeak)
    results: list[tuple[str, list[tuple[int, int]]]] = []
    mismatched: list[tuple[int, int, int, int, list[str]]] = []  # text, first word, piece start/end, words
    k = 0
    for i, plan in enumerate(plans):
        out = ""
        ranges: list[tuple[int, int]] = []
        for kind, piece, spaced, words in plan:
            if kind == "espeak":
                piece, k = phonemes[k], k + 1
            if piece:
                if out and spaced:
                    out += " "
                a, out = len(out), out + piece
            else:
                a = len(out)
            if kind == "punct":
                continue
            found = _phoneme_words(out, a, len(out))
            if len(found) != len(words):  # espeak merged or split words: shared out below
                mismatched.append((i, len(ranges), a, len(out), words))
                found = [(a, a)] * len(words)
            ranges.extend(found)
        if not any(ch.isalpha() for ch in out):
            raise ValueError(f"{labels[i]}nothing pronounceable in {_clip(texts[i])!r}")
        results.append((out, ranges))
    if mismatched:
        alone = _run_espeak([w for *_, words in mismatched for w in words], language, espeak)
        n = 0
        for i, first, a, b, words in mismatched:
            lengths = [sum(ch.isalpha() for ch in ph) for ph in alone[n : n + len(words)]]
            n += len(words)
            results[i][1][first : first + len(words)] = _share_out(results[i][0], a, b, lengths)
    return results


def _phoneme_words(phonemes: str, a: int, b: int) -> list[tuple[int, int]]:
    """Words (space-separated, with a letter) of ``phonemes[a:b]``, without their punctuation."""
    out = []
    for m in re.finditer(r"\S+", phonemes[a:b]):
        s, e = a + m.start(), a + m.end()
        while s < e and phonemes[s] in PUNCTUATION_MARKS:
            s += 1
        while e > s and phonemes[e - 1] in PUNCTUATION_MARKS:
            e -= 1
        if any(ch.isalpha() for ch in phonemes[s:e]):
            out.append((s, e))
    return out


def _share_out(phonemes: str, a: int, b: int, lengths: list[int]) -> list[tuple[int, int]]:
    """Share the phoneme words of ``phonemes[a:b]`` among words whose phonemes alone have ``lengths``
    letters: a phoneme word goes to the word its middle falls in (in proportion), so the ranges stay
    in order; a word that gets none has an empty range where it would be."""
    found = _phoneme_words(phonemes, a, b)
    total_in = sum(lengths) or 1
    total_out = sum(e - s for s, e in found) or 1
    bounds, acc = [], 0
    for n in lengths:
        acc += n
        bounds.append(acc / total_in)
    out: list[tuple[int, int] | None] = [None] * len(lengths)
    done = 0
    for s, e in found:
        mid = (done + (e - s) / 2) / total_out
        done += e - s
        w = min(next((j for j, x in enumerate(bounds) if mid <= x), len(lengths) - 1), len(lengths) - 1)
        prev = out[w]
        out[w] = (s, e) if prev is None else (prev[0], e)
    last = a
    for j, r in enumerate(out):
        if r is None:
            out[j] = (last, last)
        else:
            last = r[1]
    return out  # type: ignore[return-value]


def _plan(text: str, label: str, language: str, normalize: bool, max_chars: int | None) -> list[tuple]:
    """Pieces of one text: ("espeak", words, spaced, [word, ...]) | ("ipa", phonemes, spaced, [it]) |
    ("punct", marks, _, []); the word lists follow ``tts.text.alignment.word_ranges``."""
    if not isinstance(text, str):
        raise TypeError(f"{label}text must be a str, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{label}text is empty")
    if max_chars is not None and len(text) > max_chars:
        raise ValueError(f"{label}text is too long ({len(text)} characters, limit {max_chars})")
    # The normaliser writes English words; other languages go to espeak as written (it reads their numbers).
    source = normalize_text(text) if normalize and language.startswith("en") else text
    plan: list[tuple] = []
    gap = False  # whitespace before the next piece
    for is_override, chunk in split_overrides(source):
        if is_override:
            ipa = "".join(chunk.split())
            if not ipa:
                raise ValueError(f"{label}empty phoneme override [[{chunk}]]")
            plan.append(("ipa", ipa, gap, [ipa]))
            gap = False
            continue
        words = " ".join(chunk.split())
        if language.startswith("en"):
            words = _english_letter_fixes(words)
        spaced = gap or chunk[:1].isspace()
        if any(ch.isalnum() for ch in words):
            tokens = [t for t in words.split() if any(ch.isalnum() for ch in t)]
            plan.append(("espeak", words, spaced, tokens))
        elif any(ch in PUNCTUATION_MARKS for ch in words):
            plan.append(("punct", "".join(ch for ch in words if ch in PUNCTUATION_MARKS), False, []))
        gap = chunk[-1:].isspace()
    if not plan or all(kind == "punct" for kind, *_ in plan):
        raise ValueError(f"{label}nothing pronounceable in {_clip(text)!r}")
    return plan


def _english_letter_fixes(words: str) -> str:
    """Make espeak say the letter "A" where it is one ("F B I", "vitamin A", "a m"), not the article."""
    words = re.sub(r"\ba m\b", "eigh m", words)

    def letter_a(m: re.Match[str]) -> str:
        before = re.search(r"(\S+)\s+$", m.string[: m.start()])
        after = re.match(r"\s+(\S+)", m.string[m.end() :])
        prev = before[1] if before else ""
        nxt = after[1] if after else ""
        in_spelling = re.fullmatch(r"[A-Z]", prev) or re.fullmatch(r"[A-Z][.,;:!?]?", nxt)
        if in_spelling or re.fullmatch(r"[A-Za-z][\w'-]*", prev):  # "F B I", "A I", "vitamin A"
            return "eigh"
        return m[0]

    return re.sub(r"(?<![\w'])A(?![\w'])", letter_a, words)


def _run_espeak(jobs: list[str], language: str, espeak: str | None) -> list[str]:
    if not jobs:
        return []
    from phonemizer.separator import Separator

    backend = get_backend(language, espeak)
    separator = Separator(phone="", syllable="", word=" ")
    with _LOCK:
        out = backend.phonemize(jobs, separator=separator, strip=True)
        if len(out) != len(jobs):  # phonemizer merges lines in rare corner cases: go one by one
            out = [(backend.phonemize([job], separator=separator, strip=True) or [""])[0] for job in jobs]
    return [re.sub(r"\s+", " ", line).strip() for line in out]


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


__all__ = [
    "DEFAULT_MAX_CHARS",
    "find_espeak",
    "get_backend",
    "phonemize",
    "phonemize_batch",
    "phonemize_words",
]
