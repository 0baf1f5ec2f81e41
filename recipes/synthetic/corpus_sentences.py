"""Extract natural English sentences (8–25 words) from Debian main text packages, deterministically.

Sources (all read offline from installed packages):
- ``fortunes`` / ``fortunes-min``: ``/usr/share/games/fortunes/*`` — entries separated by ``%`` lines;
  attributions (``-- Author``) and indented verse are dropped.
- ``dict-devil``: ``/usr/share/dictd/devil.dict.dz`` (gzip-compatible dictzip) — Bierce's definitions;
  headwords (``ABSURDITY, n.``) are stripped, indented verse is dropped.
- ``bible-kjv`` (+ ``bible-kjv-text``): verses via ``bible -f gen1:1-rev22:21`` (one verse per line).
- ``wordnet-base``: quoted usage examples in ``/usr/share/wordnet/data.*``.

Filters keep sentences a rule-based synthesiser reads correctly and an ASR dictionary knows: only
letters, spaces and plain punctuation; one sentence-final ``.``/``!``/``?``; no all-caps words; no
digits (numbers would be verbalised differently by the teacher and by our normaliser); every word in
the CMU pronouncing dictionary shipped with pocketsphinx (so held-out WER has no out-of-vocabulary words).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

FORTUNE_DIR = Path("/usr/share/games/fortunes")
DEVIL_DICT = Path("/usr/share/dictd/devil.dict.dz")
WORDNET_DIR = Path("/usr/share/wordnet")
# Quotations from copyrighted fiction and song lyrics: left out to keep the corpus clean of them.
FORTUNE_EXCLUDE = {"pratchett", "startrek", "songs-poems", "ascii-art", "translate-me"}


@dataclass(frozen=True)
class FilterConfig:
    """What a usable sentence looks like."""

    min_words: int = 8  #: fewer words carry too little prosody
    max_words: int = 25  #: longer sentences make slow, memory-hungry training batches
    max_chars: int = 180  #: guards against very long words


_ALLOWED = re.compile(r"""^[A-Za-z][A-Za-z ,;:'"!?.\-]*[.!?]"?$""")
_WORD = re.compile(r"[A-Za-z]+(?:['\-][A-Za-z]+)*")
_SMART = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2014": " -- "})
# End of sentence: terminal punctuation (+ closing quote) then space and an upper-case letter or quote.
_SPLIT = re.compile(r"""(?<=[.!?])("?)\s+(?=["A-Z])""")


def clean(text: str) -> str:
    """Straight quotes, single spaces, no spaces before punctuation."""
    text = " ".join(text.translate(_SMART).split())
    return re.sub(r"\s+([,;:!?.])", r"\1", text)


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph at sentence-final punctuation (rule-based; enough for filtered prose)."""
    parts, start = [], 0
    for m in _SPLIT.finditer(paragraph):
        parts.append(paragraph[start : m.start()] + m.group(1))
        start = m.end()
    parts.append(paragraph[start:])
    return [p.strip() for p in parts if p.strip()]


def load_vocabulary(path: Path | None = None) -> set[str]:
    """Lower-case words of the CMU dictionary in the pocketsphinx wheel (variants ``word(2)`` folded)."""
    if path is None:
        import pocketsphinx

        path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    words = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.split(" ", 1)[0]
            words.add(w.split("(", 1)[0])
    return words


def reject_reason(sentence: str, vocab: set[str] | None, cfg: FilterConfig = FilterConfig()) -> str | None:
    """Why ``sentence`` is not usable, or ``None`` when it passes every filter."""
    s = sentence
    if len(s) > cfg.max_chars:
        return "too long"
    if not _ALLOWED.match(s):
        return "characters"
    if re.search(r"[.!?]", s.rstrip('"')[:-1]):
        return "inner sentence punctuation"
    if s.count('"') % 2:
        return "unbalanced quotes"
    if "--" in s or re.search(r"(^|\s)-|-(\s|$)|[,;:][^\s\"]|\s'|'(\s|$)", s):
        return "dashes or stray apostrophes"
    tokens = s.split()
    if tokens[0].endswith(":"):
        return "speaker tag"
    words = _WORD.findall(s)
    if not cfg.min_words <= len(words) <= cfg.max_words:
        return "word count"
    if any(len(w) > 1 and w.isupper() for w in words):
        return "all caps"
    if vocab is not None:
        for w in words:
            parts = [w.lower()] if w.lower() in vocab else w.lower().split("-")
            if any(p not in vocab for p in parts):
                return "not in dictionary"
    return None


def dedup_key(sentence: str) -> str:
    """Letters only, lower case: near-duplicates (punctuation/case variants) share a key."""
    return re.sub(r"[^a-z]", "", sentence.lower())


def stable_hash(sentence: str) -> str:
    return hashlib.sha1(dedup_key(sentence).encode()).hexdigest()


def exact_hash(sentence: str) -> str:
    """SHA-1 of the sentence as written (digits included): orders template sentences."""
    return hashlib.sha1(sentence.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Sources: each yields cleaned candidate sentences in a fixed order
# ---------------------------------------------------------------------------------------------


def _paragraph_sentences(paragraph_lines: list[str]) -> list[str]:
    return split_sentences(clean(" ".join(paragraph_lines)))


def fortune_sentences(root: Path = FORTUNE_DIR) -> Iterator[str]:
    """Sentences of prose paragraphs in the fortune files (attributions and verse dropped)."""
    files = sorted(
        p for p in root.iterdir() if p.is_file() and not p.suffix and p.name not in FORTUNE_EXCLUDE
    )
    for path in files:
        text = path.read_text(encoding="latin-1")
        for entry in re.split(r"^%\s*$", text, flags=re.M):
            yield from _prose_sentences(entry.splitlines())


def _prose_sentences(lines: list[str]) -> Iterator[str]:
    para: list[str] = []
    indented = False
    for line in [*lines, ""]:
        if line.strip().startswith("--"):  # attribution: the rest of the entry is the source
            break
        if not line.strip():
            if para and not indented:
                yield from _paragraph_sentences(para)
            para, indented = [], False
            continue
        if not para and line[:1] in (" ", "\t"):
            indented = True  # verse, dialogue layout or code: not prose
        para.append(line)
    if para and not indented:
        yield from _paragraph_sentences(para)


_HEADWORD = re.compile(r"^[A-Z][A-Z' \-]*(?:, [A-Z][A-Z' \-]*)*,\s+[a-z.]+\s+")


def devil_sentences(path: Path = DEVIL_DICT) -> Iterator[str]:
    """Sentences of the Devil's Dictionary definitions (headwords stripped)."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        text = f.read()
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines or lines[0].startswith((" ", "\t", "00-database")):
            continue
        para = _HEADWORD.sub("", " ".join(lines))
        yield from split_sentences(clean(para))


def bible_sentences(bible_cmd: str = "bible") -> Iterator[str]:
    """Sentences of the King James Version verses (``LORD``/``GOD`` in small capitals → Lord/God)."""
    out = subprocess.run(
        [bible_cmd, "-f", "gen1:1-rev22:21"], input="", capture_output=True, text=True, check=True
    ).stdout
    for line in out.splitlines():
        verse = line.split(" ", 1)[1] if " " in line else ""
        verse = re.sub(r"\bLORD\b", "Lord", re.sub(r"\bGOD\b", "God", verse))
        yield from split_sentences(clean(verse))


def wordnet_sentences(root: Path = WORDNET_DIR) -> Iterator[str]:
    """Quoted usage examples from WordNet glosses (a full stop added when missing)."""
    for pos in ("noun", "verb", "adj", "adv"):
        with open(root / f"data.{pos}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue  # licence header
                for ex in re.findall(r'"([^"]+)"', line.split("|", 1)[1]):
                    ex = clean(ex)
                    if ex and ex[-1] not in ".!?":
                        ex += "."
                    if ex[:1].islower():
                        ex = ex[0].upper() + ex[1:]
                    yield ex


SOURCES = {
    "fortunes": fortune_sentences,
    "dict-devil": devil_sentences,
    "bible-kjv": bible_sentences,
    "wordnet-base": wordnet_sentences,
}


def select(
    candidates: Iterable[tuple[str, str]], vocab: set[str] | None, cfg: FilterConfig = FilterConfig()
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Filter and de-duplicate ``(source, sentence)`` pairs, keeping the first occurrence.

    Returns the kept pairs (in input order) and a count of rejections by reason.
    """
    seen: set[str] = set()
    kept, reasons = [], {}
    for src, s in candidates:
        why = reject_reason(s, vocab, cfg)
        key = dedup_key(s)
        if why is None and key in seen:
            why = "duplicate"
        if why is not None:
            reasons[why] = reasons.get(why, 0) + 1
            continue
        seen.add(key)
        kept.append((src, s))
    return kept, reasons


def split_heldout(sentences: list[str], n_heldout: int, key=stable_hash) -> tuple[list[str], list[str]]:
    """Deterministic held-out split: the ``n_heldout`` sentences with the smallest SHA-1 of their key.

    Both lists come back ordered by that hash (a fixed pseudo-random order that mixes the sources).
    ``key`` (default: letters-only) may be :func:`exact_hash` for sentences that differ only in digits.
    """
    ordered = sorted(sentences, key=key)
    return ordered[n_heldout:], ordered[:n_heldout]


# ---------------------------------------------------------------------------------------------
# The wider mix for the Kokoro corpus: long sentences, short questions/exclamations, numbers
# ---------------------------------------------------------------------------------------------

#: long sentences: 26–40 words, for prosody over several clauses
LONG = FilterConfig(min_words=26, max_words=40, max_chars=260)
#: short questions and exclamations (the 8-word floor of the base list leaves few of them)
SHORT = FilterConfig(min_words=4, max_words=7)
_NUMERIC_RAW = re.compile(r"""^[A-Za-z0-9$"][A-Za-z0-9 ,;:'"!?.$%/\-]*[.!?]"?$""")


def is_question_or_exclamation(sentence: str) -> bool:
    return sentence.rstrip('"')[-1:] in ("?", "!")


def numeric_reject_reason(sentence: str, vocab: set[str] | None, normalize) -> str | None:
    """Like :func:`reject_reason` for a sentence with digits: the raw text may hold digits, ``$ % /``
    and inner ``.``/``:`` in numbers; the filters (and the dictionary check) apply to its normalised
    form, which is what the teacher reads and what a model is trained on."""
    if not re.search(r"\d", sentence):
        return "no digits"
    if not _NUMERIC_RAW.match(sentence):
        return "characters"
    if re.search(r"[.!?](?!\d)", sentence.rstrip('"')[:-1]):
        return "inner sentence punctuation"
    if any(len(w) > 1 and w.isupper() for w in re.findall(r"[A-Za-z]+", sentence)):
        return "all caps"
    spoken = normalize(sentence)
    if re.search(r"\d", spoken):
        return "digits left after normalising"
    return reject_reason(spoken, vocab)


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_NUMBER_TEMPLATES = (
    "The meeting starts at {time} on {day}, {month} {date}.",
    "It costs ${price}, about {pct}% more than it did in {year}.",
    "Flight {n3} leaves from gate {n2} at {time}, so please be there early.",
    "In {year}, the town had {big} people and {n2} schools.",
    "Bake it for {n2} minutes at {temp} degrees, then let it cool for {n1} hours.",
    "Is it really {n3} miles from here to the coast?",
    "We sold {big} tickets in {n1} days!",
    "The temperature dropped to {n2} degrees by {time} last night.",
    "Please call me back before {time} on {day}.",
    "Did you know that the bridge is {big} feet long?",
    "Room {n3} is on the {ord} floor, next to the library.",
    "The price went up from ${price} to ${price2} in {n1} weeks.",
    "She was born on {month} {date}, {year}, in a small village.",
    "Only {pct}% of the votes were counted by {time}.",
    "What happened on the {ord} of {month}, {year}?",
    "That is {n2} out of {n3}, almost {pct}%!",
    "Turn left after {n1} blocks and walk for about {n2} minutes.",
    "The train from platform {n1} was {n2} minutes late again!",
    "He ran {n1} miles in {n2} minutes and {n2b} seconds.",
    "Can you lend me ${n2} until {day}?",
)  # fmt: skip


def number_sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` template sentences with numbers, times, dates, prices and percentages (seeded, so fixed).

    Sources give few sentences with digits (fortunes avoid them); these templates make numbers a
    steady part of the mix so the normaliser's spoken forms are in the training audio.
    """
    import random

    rng = random.Random(seed)

    def ordinal(n: int) -> str:
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"

    out: list[str] = []
    for k in range(count):
        template = _NUMBER_TEMPLATES[k % len(_NUMBER_TEMPLATES)]
        hour, minute = rng.randint(1, 12), rng.choice((0, 5, 10, 15, 20, 30, 40, 45, 50))
        slots = {
            "time": f"{hour}:{minute:02d}" if minute else f"{hour} o'clock",
            "day": rng.choice(_DAYS),
            "month": rng.choice(_MONTHS),
            "date": ordinal(rng.randint(1, 28)),
            "ord": ordinal(rng.randint(1, 30)),
            "price": f"{rng.randint(2, 900)}.{rng.randint(0, 99):02d}",
            "price2": f"{rng.randint(2, 900)}.{rng.randint(0, 99):02d}",
            "pct": str(rng.randint(2, 98)),
            "year": str(rng.randint(1850, 2030)),
            "big": f"{rng.randint(1, 99)},{rng.randint(0, 999):03d}",
            "temp": str(rng.choice((325, 350, 375, 400, 425))),
            "n1": str(rng.randint(2, 9)),
            "n2": str(rng.randint(10, 59)),
            "n2b": str(rng.randint(10, 59)),
            "n3": str(rng.randint(100, 999)),
        }
        out.append(template.format(**slots))
    return out
