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


def split_heldout(sentences: list[str], n_heldout: int) -> tuple[list[str], list[str]]:
    """Deterministic held-out split: the ``n_heldout`` sentences with the smallest SHA-1 of their key.

    Both lists come back ordered by that hash (a fixed pseudo-random order that mixes the sources).
    """
    ordered = sorted(sentences, key=stable_hash)
    return ordered[n_heldout:], ordered[:n_heldout]
