"""The text front end as one step: runs of text -> utterances with phonemes and word spans.

    Run (plain text, or a stretch of SSML with one speaker and rate)
      ─split_sentences─▶ sentences ─normalize─▶ words ─Lexicon─▶ ─phonemize_words─▶ IPA
                                          └─align_words / group_words─▶ caption words with input offsets

Each :class:`Utterance` is what the acoustic model speaks in one go: a sentence, or the part of
one between a change of speaker or rate. Its :class:`SpokenWord` s carry the character span of the
user's input (through normalisation, ``[[IPA]]`` overrides and SSML markup) and the slice of the
utterance's phonemes they became, from which the synthesizer reads word timestamps.
Torch-free; both backends call it through :meth:`tts.runtime.base.SynthesizerBase.prepare`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tts.text.alignment import SourceText, align_words, group_words, word_ranges
from tts.text.normalize import normalize
from tts.text.phonemize import phonemize_words
from tts.text.pronunciations import Lexicon
from tts.text.sentences import split_sentences


@dataclass(frozen=True)
class Run:
    """A stretch of text spoken with one speaker and rate."""

    source: SourceText
    speaker: str | None = None  #: a name or blend ("af_heart:0.7,bf_emma:0.3"); None = the call's speaker
    rate: float = 1.0  #: speaking rate (2.0 = twice as fast)
    #: (position in ``source.text``, seconds): silence at that point
    breaks: tuple[tuple[int, float], ...] = ()
    new_sentence: bool = True  #: False: continues the previous run's sentence (no pause between)


@dataclass(frozen=True)
class SpokenWord:
    """A word of the input as spoken: its input text and span, and its phonemes' slice."""

    text: str
    char_start: int
    char_end: int
    phoneme_start: int
    phoneme_end: int


@dataclass(frozen=True)
class Utterance:
    """One acoustic unit (see the module docstring)."""

    text: str  #: the input text of the sentence (or part of one)
    phonemes: str
    words: tuple[SpokenWord, ...]
    speaker: str | None = None
    rate: float = 1.0
    pause: float | None = None  #: silence before, seconds; None: the voice's sentence pause (0 first)
    breaks: tuple[tuple[int, float], ...] = ()  #: (word index k > 0, seconds): silence before word k
    pause_after: float = 0.0  #: silence after (a break at the very end of the text)


@dataclass
class _Sentence:
    run: Run
    a: int  # range in run.source.text
    b: int
    normalized: str
    lexed: str
    ranges: list[tuple[int, int]]  # per normalised word: its range in ``lexed``


def analyse(
    runs: list[Run],
    language: str = "en-us",
    lexicon: Lexicon | None = None,
    input_text: str | None = None,
    espeak: str | None = None,
    language_of: Callable[[str | None], str] | None = None,
) -> list[Utterance]:
    """Runs -> utterances (sentences with nothing pronounceable are dropped; their breaks stay).

    ``input_text`` is what the character spans index (for :attr:`SpokenWord.text`).
    ``language_of(run speaker)`` gives the espeak language of a run's sentences where speakers
    differ (a British speaker in an American voice); by default all are in ``language``. Raises
    ``ValueError`` for unbalanced ``[[`` overrides and unsupported languages.
    """
    english = language.startswith("en")
    sentences: list[_Sentence] = []
    for run in runs:
        text, pos = run.source.text, 0
        for sent in split_sentences(text):
            m = re.compile(r"\s+".join(map(re.escape, sent.split()))).search(text, pos)
            a, b = (m.start(), m.end()) if m else (pos, len(text))
            pos = b
            norm = normalize(text[a:b]) if english else " ".join(text[a:b].split())
            if not norm:
                continue
            groups = None
            if lexicon:  # the input words, to look up whole ("NGUYEN" before it is spelled out)
                src = run.source.slice(a, b)
                spans = align_words(src.text, norm, word_ranges(norm))
                groups = [(g.words, _input_word(src, spans, g.words)) for g in group_words(src, spans)]
            lexed, ranges = (lexicon or Lexicon()).apply(norm, groups)
            sentences.append(_Sentence(run, a, b, norm, lexed, ranges))
    langs = [language_of(sent.run.speaker) if language_of else language for sent in sentences]
    phonemes: list[tuple[str, list[tuple[int, int]]] | None] = [None] * len(sentences)
    for lang in dict.fromkeys(langs):  # one espeak call per language
        idx = [i for i, x in enumerate(langs) if x == lang]
        for i, ph in zip(idx, _phonemize([sentences[i] for i in idx], lang, espeak)):
            phonemes[i] = ph
    kept = [(sent, ph) for sent, ph in zip(sentences, phonemes) if ph is not None]
    analysed = [_words(sent, ph[0], ph[1], input_text) for sent, ph in kept]
    pauses: list[float | None] = [None] * len(kept)
    inside: list[list[tuple[int, float]]] = [[] for _ in kept]
    trailing = 0.0

    def owe(i: int, seconds: float) -> None:  # a break replaces the default pause before utterance i
        nonlocal trailing
        if i >= len(kept):
            trailing += seconds
        else:
            pauses[i] = (pauses[i] or 0.0) + seconds

    first = 0  # index of the run's first kept utterance
    for run in runs:
        idx = [i for i, (sent, _) in enumerate(kept) if sent.run is run]
        if idx and not run.new_sentence and idx[0] > 0:
            pauses[idx[0]] = 0.0
        after = idx[-1] + 1 if idx else first
        for p, seconds in run.breaks:
            target = next((i for i in idx if kept[i][0].b > p), None)
            if target is None:
                owe(after, seconds)
                continue
            starts = analysed[target][1]
            k = next((j for j, st in enumerate(starts) if st >= p), len(starts))
            if k == 0:
                owe(target, seconds)
            elif k == len(starts):
                owe(target + 1, seconds)
            else:
                inside[target].append((k, seconds))
        first = after
    out = [
        Utterance(
            sent.run.source.text[sent.a : sent.b],
            ph[0],
            tuple(words),
            sent.run.speaker,
            sent.run.rate,
            pauses[i],
            tuple(inside[i]),
        )
        for i, ((sent, ph), (words, _)) in enumerate(zip(kept, analysed))
    ]
    if out and trailing:
        u = out[-1]
        out[-1] = Utterance(u.text, u.phonemes, u.words, u.speaker, u.rate, u.pause, u.breaks, trailing)
    return out


def _input_word(src: SourceText, spans: list[tuple[int, int]], words: tuple[int, ...]) -> str:
    """The text of ``src`` a group of words came from (generated SSML text stands for itself)."""
    return src.text[min(spans[i][0] for i in words) : max(spans[i][1] for i in words)]


def _phonemize(
    sentences: list[_Sentence], language: str, espeak: str | None
) -> list[tuple[str, list[tuple[int, int]]] | None]:
    """One espeak call for all; a sentence with nothing to say (e.g. "...") gives None."""
    texts = [s.lexed for s in sentences]
    if not texts:
        return []
    try:
        return list(phonemize_words(texts, language, max_chars=None, espeak=espeak))
    except ValueError:  # one bad sentence fails the batch: redo one by one, dropping silent ones
        out: list[tuple[str, list[tuple[int, int]]] | None] = []
        for t in texts:
            try:
                out.append(phonemize_words([t], language, max_chars=None, espeak=espeak)[0])
            except ValueError as e:
                if "nothing pronounceable" not in str(e):
                    raise
                out.append(None)
        return out


def _words(
    sent: _Sentence, phonemes: str, token_ph: list[tuple[int, int]], input_text: str | None
) -> tuple[list[SpokenWord], list[int]]:
    """Caption words of a sentence and each one's start in ``run.source.text``."""
    source = sent.run.source.slice(sent.a, sent.b)
    norm_words = word_ranges(sent.normalized)
    ranges = align_words(source.text, sent.normalized, norm_words)
    tokens = word_ranges(sent.lexed)
    # phonemes of each normalised word: the lexed tokens inside its range (a respelling may be several)
    word_ph: list[tuple[int, int]] = []
    t = 0
    for a, b in sent.ranges:
        lo = hi = None
        while t < len(tokens) and tokens[t][0] < b:
            if tokens[t][1] > a:
                s, e = token_ph[t]
                lo = s if lo is None else min(lo, s)
                hi = e if hi is None else max(hi, e)
            t += 1
        at = word_ph[-1][1] if word_ph else 0
        word_ph.append((lo, hi) if lo is not None and hi is not None else (at, at))
    out, starts = [], []
    for g in group_words(source, ranges):
        ph0 = min(word_ph[i][0] for i in g.words)
        ph1 = max(word_ph[i][1] for i in g.words)
        text = input_text[g.char_start : g.char_end] if input_text is not None else ""
        out.append(SpokenWord(text, g.char_start, g.char_end, ph0, max(ph0, ph1)))
        starts.append(sent.a + min(ranges[i][0] for i in g.words))
    return out, starts


def word_token_spans(utt: Utterance, tokenizer: Any, add_blank: bool, n_tokens: int) -> list[tuple[int, int]]:
    """Token range ``[a, b)`` of each word of ``utt``: its symbols and, with blanks, the blank on
    either side (symbols outside the inventory are dropped by the tokenizer, and here too)."""
    known = np.zeros(len(utt.phonemes) + 1, np.int64)  # symbols kept before each phoneme position
    for i, ch in enumerate(utt.phonemes):
        known[i + 1] = known[i] + (1 if tokenizer.unknown(ch) == set() and ch != "_" else 0)
    out = []
    for w in utt.words:
        k0, k1 = int(known[w.phoneme_start]), int(known[w.phoneme_end])
        a, b = (2 * k0, 2 * k1 + 1) if add_blank else (k0, k1)
        if k1 == k0:
            b = a
        out.append((min(a, n_tokens), min(b, n_tokens)))
    return out


def load_lexicons(folder: str | Path | None, extra: str | Path | Lexicon | None) -> Lexicon:
    """A voice folder's ``lexicon.tsv`` (if any) with ``extra`` (a path or a Lexicon) over it."""
    from tts.text.pronunciations import LEXICON_FILE, Lexicon

    lex = Lexicon()
    if folder is not None and (Path(folder) / LEXICON_FILE).is_file():
        lex = Lexicon.load(Path(folder) / LEXICON_FILE)
    if extra is not None:
        lex = lex.merged(extra if isinstance(extra, Lexicon) else Lexicon.load(extra))
    return lex


def speaker_arg(s: Any) -> Any:
    return int(s) if isinstance(s, str) and s.isdigit() else s
