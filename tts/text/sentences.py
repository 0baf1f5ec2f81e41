"""Sentence splitting for long text, so synthesis can start on the first sentence while the rest waits.

Rule-based (in the spirit of Punkt, Kiss & Strunk 2006, with a hand-made abbreviation list instead
of a learned one): a sentence ends at ``. ! ? …`` (plus closing quotes/brackets) followed by
whitespace and a word that does not start in lower case, unless the period belongs to an
abbreviation ("Mr.", "e.g.", "No.") or an initial ("J. R. R. Tolkien").  Blank lines always end a
sentence.  Sentences longer than ``max_len`` are cut at the last ``; : —`` or ``,`` (else space)
before the limit.  ``[[...]]`` overrides are never cut.
"""

from __future__ import annotations

import re

from tts.text import lexicon as lx

DEFAULT_MAX_LEN = 300

# Periods after these (lower-cased) words never end a sentence: a name or a number follows.
_NO_BREAK = {t.lower() for t in lx.TITLES} | {
    "dr", "st", "mt", "ft", "no", "nos", "vs", "v", "e.g", "i.e", "cf", "approx", "fig", "figs", "vol",
    "vols", "ch", "pp", "p", "pg", "para", "ca", "c", "viz", "op", "art", "sec", "eq", "ref", "dept", "est",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "gen",
}  # fmt: skip
_END_RE = re.compile(r"([.!?…]+)([\"'”’»)\]]*)(\s+)(?=\S)")
_PLACEHOLDER = "\ue001{}\ue002"


def split_sentences(text: str, max_len: int = DEFAULT_MAX_LEN) -> list[str]:
    """Sentences of ``text`` in order, stripped, each at most ``max_len`` characters where possible.

    Pieces with nothing to say (punctuation only) are dropped; returns ``[]`` for blank text.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if max_len < 20:
        raise ValueError(f"max_len must be at least 20, got {max_len}")
    overrides: list[str] = []

    def hide(m: re.Match[str]) -> str:
        overrides.append(m[0])
        return _PLACEHOLDER.format(len(overrides) - 1)

    hidden = re.sub(r"\[\[.*?\]\]", hide, text, flags=re.DOTALL)
    sentences = []
    for block in _blocks(hidden):
        for sentence in _split_block(block):
            sentences.extend(_split_long(sentence, max_len))
    out = []
    for sentence in sentences:
        has_override = "\ue001" in sentence
        sentence = re.sub("\ue001(\\d+)\ue002", lambda m: overrides[int(m[1])], sentence).strip()
        if has_override or any(ch.isalnum() for ch in sentence):
            out.append(sentence)
    return out


def _blocks(text: str) -> list[str]:
    """Paragraphs, and lines that stand alone (headings, list items), each whitespace-collapsed."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", text):
        current = ""
        for line in paragraph.splitlines():
            line = line.strip()
            if not line:
                continue
            starts_item = bool(re.match(r"([-*•]|\d+[.)])\s", line))
            heading_before = current and not re.search(r"[.!?…:;,\"'”’)]$", current) and len(current) < 50
            if current and (starts_item or (heading_before and not line[0].islower())):
                blocks.append(current)
                current = ""
            current = f"{current} {line}" if current else line
        if current:
            blocks.append(current)
    return [" ".join(b.split()) for b in blocks]


def _split_block(text: str) -> list[str]:
    pieces, start = [], 0
    for m in _END_RE.finditer(text):
        if _is_boundary(text, m):
            pieces.append(text[start : m.end(2)])
            start = m.end()
    pieces.append(text[start:])
    return [p for p in pieces if p.strip()]


def _is_boundary(text: str, m: re.Match[str]) -> bool:
    nxt = text[m.end() :]
    if nxt[0].islower():
        return False  # '"Why?" she asked', 'approx. five', 'e.g. apples'
    if m[1] != ".":
        return True
    word = re.search(r"(\S*)$", text[: m.start()])[1].lstrip("\"'“‘([")  # type: ignore[index]
    if word.lower() in _NO_BREAK:
        return False
    if re.fullmatch(r"[A-Za-z]|(?:[A-Za-z]\.)+[A-Za-z]", word):  # initials, U.S., a.m.
        next_word = re.match(r"[\"'“‘(]*([\w']+)", nxt)
        return next_word is not None and next_word[1] in lx.NEW_SENTENCE_WORDS
    return True


def _split_long(sentence: str, max_len: int) -> list[str]:
    out = []
    sentence = sentence.strip()
    while len(sentence) > max_len:
        window = sentence[: max_len + 1]
        cut = -1
        for pattern in (r"[;:—]\s", r",\s", r"\s"):
            matches = [m.end() for m in re.finditer(pattern, window) if m.end() >= max_len // 3]
            if matches:
                cut = matches[-1]
                break
        if cut <= 0:  # one enormous word: cut where we must
            cut = max_len
        out.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        out.append(sentence)
    return out
