"""Text normalisation: written English -> the words a person would say, ready for espeak.

A fixed sequence of regular-expression passes (the classic rule-based front end, cf. Sproat et al.,
"Normalization of non-standard words", Computer Speech & Language 2001): Unicode clean-up ->
shouting -> e-mails/URLs -> numerals with context (dates, times, money, percent, ordinals,
decades) -> abbreviations and titles -> units -> Roman numerals -> remaining numbers -> symbols ->
acronyms -> punctuation clean-up.  Deterministic; ``[[...]]`` phoneme overrides pass through.

espeak must only see letters and the punctuation the tokenizer knows: with
``preserve_punctuation=True`` it silently drops the text after symbols such as ``$42.50``.
"""

from __future__ import annotations

import re
import unicodedata

from tts.text import lexicon as lx
from tts.text.numbers import cardinal, expand_numerals, expand_remaining_numbers, number, ordinal

OVERRIDE_RE = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
PUNCTUATION = ';:,.!?¡¿—…"'  # what survives normalisation besides letters, apostrophes and hyphens
_PARAGRAPH = "\ue000"  # private-use placeholder for a blank line while cleaning
_TERMINAL_AFTER = re.compile(r"[\"')\]]*(?:\s*$|\s+[\"'(\[]?[A-Z])")  # what follows a sentence end


def split_overrides(text: str) -> list[tuple[bool, str]]:
    """Split ``text`` into ``(is_override, chunk)`` pairs; override chunks exclude the brackets.

    Raises ``ValueError`` for an unbalanced ``[[`` or ``]]``.
    """
    parts: list[tuple[bool, str]] = []
    pos = 0
    for m in OVERRIDE_RE.finditer(text):
        parts.append((False, text[pos : m.start()]))
        parts.append((True, m.group(1)))
        pos = m.end()
    parts.append((False, text[pos:]))
    for is_override, chunk in parts:
        if is_override and ("[[" in chunk or "]]" in chunk):
            raise ValueError(f"nested phoneme override in [[{chunk}]]")
        if not is_override and ("[[" in chunk or "]]" in chunk):
            raise ValueError(f"unbalanced phoneme override brackets near {chunk.strip()[:40]!r}")
    return [(o, c) for o, c in parts if o or c]


def normalize(text: str) -> str:
    """Written text -> speakable words: ``"Dr. Smith paid $42.50"`` -> ``"Doctor Smith paid forty-two
    dollars and fifty cents"``.  ``[[...]]`` spans are copied verbatim; returns ``""`` for blank text.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    parts = split_overrides(text)
    pieces = []
    for i, (is_override, chunk) in enumerate(parts):
        if is_override:
            pieces.append(f"[[{chunk}]]")
            continue
        words = _normalize_plain(chunk, first=i == 0, last=i == len(parts) - 1)
        lead = " " if chunk[:1].isspace() and i > 0 else ""
        trail = " " if chunk[-1:].isspace() and words and i < len(parts) - 1 else ""
        pieces.append(lead + words + trail if words else lead)
    out = "".join(pieces).strip()
    if not any(ch.isalnum() for ch in OVERRIDE_RE.sub("", out)) and not OVERRIDE_RE.search(out):
        return ""  # nothing to say: "!!! ???"
    return out


def _normalize_plain(text: str, first: bool = True, last: bool = True) -> str:
    text = _clean_unicode(text)
    text = _calm_shouting(text)
    text = _expand_web(text)
    text = expand_numerals(text)
    text = _expand_units(text)
    text = _expand_abbreviations(text)
    text = _expand_roman(text)
    text = lx.SYMBOL_BEFORE_DIGIT_RE.sub(lambda m: f" {lx.SYMBOL_BEFORE_DIGIT[m[1]]} ", text)
    text = expand_remaining_numbers(text)
    text = _expand_symbols(text)
    text = _expand_acronyms(text)
    return _clean_punctuation(text, first, last)


# --------------------------------------------------------------------------- Unicode
def _clean_unicode(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"\n\s*\n", _PARAGRAPH, text)  # a paragraph break becomes a full stop below
    text = re.sub(r"\s", " ", text)
    if text.isascii() and text.isprintable():  # the common case: nothing below can apply
        chars = [text.replace("`", "'")]
    else:
        chars = [_clean_char(ch) for ch in text]
    text = "".join(chars)
    text = re.sub(r"(\d)\s?([½⅓⅔¼¾⅛⅜⅝⅞])", r"\1 \2", text)
    text = re.sub("[½⅓⅔¼¾⅛⅜⅝⅞]", lambda m: lx.VULGAR_FRACTIONS[m[0]], text)
    text = re.sub(rf"(?<=[^\s.!?…:;])\s*{_PARAGRAPH}", ". ", text).replace(_PARAGRAPH, " ")
    text = re.sub(r"\.\s?\.\s?\.", "…", text)
    return re.sub(r"\s*(?:--+|—|―)\s*", " — ", text)


def _clean_char(ch: str) -> str:
    if ch in lx.CHAR_MAP:
        return lx.CHAR_MAP[ch]
    if ch.isdigit() and not ch.isascii():
        return str(unicodedata.digit(ch, ""))
    if "\uff01" <= ch <= "\uff5e":  # full-width ASCII
        return chr(ord(ch) - 0xFEE0)
    if unicodedata.category(ch) in ("Cc", "Cf"):
        return ""
    return ch


def _calm_shouting(text: str) -> str:
    """Lower-case runs of three or more all-caps words (keeping real acronyms for later)."""

    def calm(m: re.Match[str]) -> str:
        return re.sub(r"[A-Z][A-Z']*", lambda w: w[0] if _keep_caps(w[0]) else w[0].lower(), m[0])

    return re.sub(r"\b[A-Z][A-Z']*(?:[\s,;:.!?\"-]+[A-Z][A-Z']*\b){2,}", calm, text)


def _keep_caps(word: str) -> bool:
    return len(word) == 1 or word in lx.ACRONYM_WORDS or not _reads_as_word(word)


# --------------------------------------------------------------------------- e-mail and web
def _spell_web(text: str) -> str:
    text = re.sub(r"^https?://", "", text)
    text = re.sub(r"^www\.", "w w w dot ", text)
    for sym, word in ((".", "dot"), ("/", "slash"), ("@", "at"), ("_", "underscore"), ("-", "dash")):
        text = text.replace(sym, f" {word} ")
    return re.sub(r"[^\w\s]", " ", text)


def _expand_web(text: str) -> str:
    text = re.sub(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", lambda m: _spell_web(m[0]), text)
    text = re.sub(r"\b(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]']", lambda m: _spell_web(m[0]), text)
    return re.sub(r"\b[a-z0-9-]+\.(?:com|org|net|edu|gov|io)\b", lambda m: _spell_web(m[0]), text)


# --------------------------------------------------------------------------- abbreviations
def _ends_sentence(m: re.Match[str]) -> bool:
    return bool(_TERMINAL_AFTER.match(m.string, m.end()))


def _prev_word(m: re.Match[str]) -> str:
    words = re.findall(r"[\w']+[.,;:!?]?", m.string[max(0, m.start() - 40) : m.start()])
    return words[-1] if words else ""


def _saint_or_street(m: re.Match[str], saint: str, street: str) -> str:
    prev = _prev_word(m)
    nxt = m.string[m.end() : m.end() + 3]
    follows_name = bool(re.match(r"\s+[A-Z]", nxt))
    after_name = bool(re.fullmatch(r"[A-Z][\w']*", prev)) and prev not in lx.SENTENCE_STARTERS
    if follows_name and not after_name:
        return saint
    # "Wall St. Journal": only a typical sentence opener shows that the period also ended a sentence
    nxt_word = re.match(r"[\"')\]]*(\s*$|\s+[\"'(]?(\w+))", m.string[m.end() :])
    ends = nxt_word is not None and (not nxt_word[2] or nxt_word[2] in lx.NEW_SENTENCE_WORDS)
    return street + ("." if m[0].endswith(".") and ends else "")


def _abbreviation(m: re.Match[str]) -> str:
    word = m[1]
    key = word if word in lx.ABBREVIATIONS else word.lower()
    expansion, can_end = lx.ABBREVIATIONS[key]
    if word[0].isupper() and expansion[0].islower():
        expansion = expansion[0].upper() + expansion[1:]
    return expansion + ("." if can_end and m[0].endswith(".") and _ends_sentence(m) else "")


def _expand_abbreviations(text: str) -> str:
    text = re.sub(r"\b[Ee]\.\s?g\.(?=\W|$)|\beg\.(?=,)", "for example", text)
    text = re.sub(r"\b[Ii]\.\s?e\.(?=\W|$)", "that is", text)
    text = re.sub(r"\ba\.k\.a\.?|\baka\b", "also known as", text)
    text = re.sub(
        r"\b([Nn])o(s?)\.\s?(?=\d)|\b(N)o()\s(?=\d)", lambda m: f"{m[1] or m[3]}umber{m[2] or ''} ", text
    )
    text = re.sub(
        r"\bPh\.\s?D\.?", lambda m: "P H D" + ("." if m[0].endswith(".") and _ends_sentence(m) else ""), text
    )
    text = re.sub(r"\bSt\.?(?=\s|$|[,;:])", lambda m: _saint_or_street(m, "Saint", "Street"), text)
    text = re.sub(r"\bDr\.?(?=\s|$|[,;:])", lambda m: _saint_or_street(m, "Doctor", "Drive"), text)
    text = re.sub(r"\bFt\.?(?=\s+[A-Z])", "Fort", text)
    text = re.sub(rf"\b({lx.TITLE_RE}|{lx.TITLE_RE.upper()})(?:\.|(?=\s+[A-Z]))", _title, text)
    text = re.sub(rf"\b({lx.ABBREVIATION_RE})\.", _abbreviation, text)
    text = re.sub(
        rf"\b({lx.NUMBERED_RE})\.\s?(?=\d|[IVXLC]+\b)", lambda m: lx.NUMBERED[m[1].lower()] + " ", text
    )
    text = re.sub(r"\b(vs|etc)\b(?!\.)", lambda m: lx.ABBREVIATIONS[m[1]][0], text)
    text = re.sub(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.", _month, text)
    text = re.sub(r"\b(Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.", _weekday, text)
    # dotted letters: U.S., U.S.A., D.C., p.m. -> "U S", "U S A", "D C", "P M"
    dotted = r"\b(?:[A-Za-z]\.){2,}|\b(?:[A-Za-z]\.)+[A-Za-z]\b"
    return re.sub(dotted, lambda m: _dotted(m), text)


def _title(m: re.Match[str]) -> str:
    title = m[1] if m[1] in lx.TITLES else m[1].capitalize()
    if not m[0].endswith(".") and title not in lx.TITLES_WITHOUT_PERIOD:
        return m[0]
    return lx.TITLES[title]


def _month(m: re.Match[str]) -> str:
    full = next(name for name in lx.MONTHS if name.startswith(m[1][:3]))
    return full + ("." if _ends_sentence(m) else "")


def _weekday(m: re.Match[str]) -> str:
    full = next(name for name in lx.WEEKDAYS if name.startswith(m[1][:3]))
    return full + ("." if _ends_sentence(m) else "")


def _dotted(m: re.Match[str]) -> str:
    letters = " ".join(ch.upper() for ch in m[0] if ch.isalpha())
    nxt = re.match(r"[\"')\]]*(\s*$|\s+[\"'(]?(\w+))", m.string[m.end() :])
    ends = nxt is not None and (not nxt[2] or nxt[2] in lx.NEW_SENTENCE_WORDS)  # "U.S. Army" vs "U.S. Then"
    return letters + ("." if m[0].endswith(".") and ends else "")


# --------------------------------------------------------------------------- units
_HOURS_BEFORE = re.compile(r"\d\s?(?:h|hrs?)\.?,?\s*$")


def _unit(m: re.Match[str]) -> str:
    amount, joiner, unit = m[1], m[2], m[3]
    singular, plural = lx.UNITS[unit]
    if unit == "m" and _HOURS_BEFORE.search(m.string[max(0, m.start() - 12) : m.start()]):
        singular, plural = "minute", "minutes"  # "2h 15m": minutes, not meters
    if joiner == "-":  # "a 10-km run" -> "a ten-kilometer run"
        return f"{number(amount)}-{singular}"
    one = amount.lstrip("+-\u2212") == "1"
    return f"{number(amount)} {singular if one else plural}"


_UNIT_AFTER_NUMBER = re.compile(
    rf"(?<![\w.])([-\u2212]?\d[\d,]*(?:\.\d+)?|\.\d+)([\s-]?)({lx.UNIT_RE})(?![\w/²³])(?:\.(?=\s+[a-z]))?"
)


def _expand_units(text: str) -> str:
    return _UNIT_AFTER_NUMBER.sub(_unit, text)


# --------------------------------------------------------------------------- Roman numerals
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_ROMAN = r"(?=[MDCLXVI]+\b)M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"


def roman_to_int(numeral: str) -> int:
    """Value of a valid Roman numeral ("XIV" -> 14)."""
    total = 0
    for ch, nxt in zip(numeral, numeral[1:] + " "):
        value = _ROMAN_VALUES[ch]
        total += -value if nxt in _ROMAN_VALUES and _ROMAN_VALUES[nxt] > value else value
    return total


def _roman(m: re.Match[str]) -> str:
    before, name, numeral = m["before"] or "", m["name"], m["num"]
    value = roman_to_int(numeral)
    if name.lower() in lx.ROMAN_KEYWORDS or name == "War":
        if numeral == "I" and not name[0].isupper():
            return m[0]
        return f"{before}{name} {cardinal(value)}"
    regnal = name in lx.REGNAL_NAMES or before.strip() in lx.REGNAL_TITLES
    if regnal:
        return f"{before}{name} the {ordinal(value)}"
    if len(numeral) >= 2 and re.fullmatch("[IVX]+", numeral) and name[0].isupper():
        if before and before[0].isupper() and value <= 4:  # Edwin Meese III, John Smith II
            return f"{before}{name} the {ordinal(value)}"
        return f"{before}{name} {cardinal(value)}"  # Rocky II, Apollo XI
    return m[0]


def _expand_roman(text: str) -> str:
    text = re.sub(r"\bWW(II|I)\b", lambda m: f"World War {cardinal(roman_to_int(m[1]))}", text)
    pattern = rf"(?P<before>\b[A-Z][a-z]+\s+)?\b(?P<name>[A-Za-z][a-z]+\.?)\s+(?P<num>{_ROMAN})\b(?!['’-]\w)"
    return re.sub(pattern, _roman, text)


# --------------------------------------------------------------------------- symbols and acronyms
def _expand_symbols(text: str) -> str:
    text = re.sub(r"\b([A-Z]{1,3})&([A-Z]{1,3})\b", lambda m: f"{' '.join(m[1])} and {' '.join(m[2])}", text)
    text = re.sub(r"\b(?:OK|Ok|ok)\b(?!')", "okay", text)
    text = re.sub(rf"(?<=\w)\s?/\s?({lx.PER_UNIT_RE})\b", lambda m: f" per {lx.PER_UNITS[m[1]]}", text)
    text = re.sub(r"\bw/o\b", "without", text)
    text = re.sub(r"\bw/(?=\s)", "with", text)
    text = re.sub(r"\band/or\b", "and or", text)
    text = re.sub(r"\b(he|his|him|s)/(she|her|he)\b", r"\1 or \2", text)
    text = re.sub(r"#(?=[A-Za-z])", " hashtag ", text)
    text = re.sub(r"(?<=[A-Za-z])\+\+", " plus plus ", text)
    text = re.sub(r"(?<!\s)[<>]|[<>](?!\s)", " ", text)  # "<nick>", ">quote": not comparisons
    return "".join(f" {lx.SYMBOLS[ch]} " if ch in lx.SYMBOLS else ch for ch in text)


def _reads_as_word(word: str) -> bool:
    """Is an all-caps word read as a word ("NASA", "STOP", "YOURS") rather than spelled ("HTML", "CIA")?"""
    if word in lx.ACRONYM_WORDS or word in lx.COMMON_SHORT_WORDS:
        return True
    if word in lx.SPELLED or len(word) <= 3:
        return False
    low = word.lower()
    if not re.search("[aeiouy]", low) or re.search("[^aeiouy]{4}", low):
        return False
    if len(word) == 4:  # short ones are mostly initialisms unless clearly word-shaped
        return bool(lx.PRONOUNCEABLE_RE.fullmatch(low))
    onset = re.match("[^aeiouy]*", low)[0]  # type: ignore[index]
    return len(onset) <= 1 or onset in lx.ONSETS


def _acronym(m: re.Match[str]) -> str:
    word, suffix = m[1], m[2] or ""
    if word in lx.ACRONYM_WORDS:
        return lx.ACRONYM_WORDS[word] + suffix
    if _reads_as_word(word):
        return word.lower() + suffix  # a shouted ordinary word
    return " ".join(word) + ("'s" if suffix else "")


def _expand_acronyms(text: str) -> str:
    return re.sub(r"\b([A-Z]{2,})('?s)?\b", _acronym, text)


def _clean_punctuation(text: str, first: bool = True, last: bool = True) -> str:
    text = re.sub(r"(?<=\w)\((s|es)\)", r"\1", text)  # "author(s)"
    text = re.sub(r"\s*[(\[{]\s*", ", ", text)
    text = re.sub(r"\s*[)\]}]\s*", ", ", text)
    text = re.sub(r"(?<![\w'])-+|-+(?![\w'])", " — ", text)  # a free-standing hyphen is a dash
    text = re.sub(r"\s*–\s*", " — ", text)
    if text.isascii():
        text = re.sub(r"[^A-Za-z ;:,.!?\"'-]", " ", text)
    else:  # letters and marks of any script stay: espeak reads them (language switch or letter names)
        keep = set(PUNCTUATION) | {"'", "-", " "}
        text = "".join(ch if ch in keep or unicodedata.category(ch)[0] in "LM" else " " for ch in text)
    text = re.sub(r"(?<!\w)'+(?!\w)", " ", text)  # lone quote marks
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?…])", r"\1", text)
    text = re.sub(r"([!?])[!?]*", lambda m: m[0][:2] if m[0][:2] in ("?!", "!?") else m[1], text)
    text = re.sub(r"\.{2,}", "…", text)
    text = re.sub(r"(\s*—)+", " —", text)
    text = re.sub(r"[,;:]+\s*(?=[.!?…;:—])|,+(?=,)", "", text)  # ", ." -> "."
    text = re.sub(r"([.!?…;:—])(\s*,)+", r"\1", text)
    if first:
        text = re.sub(r"^[\s,;:.—]+", "", text)
    if last:
        text = re.sub(r"[\s,;:—]+$", "", text)
    return re.sub(r"\s+", " ", text).strip()
