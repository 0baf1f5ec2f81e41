"""Character offsets through normalisation: which characters of the user's input each spoken word
came from.

The normaliser is a chain of regular-expression rewrites, so instead of threading offsets through
every rule, its output is aligned back to its input afterwards: a character-level longest-common-
subsequence diff (``difflib.SequenceMatcher``, Ratcliff/Obershelp) of the case-folded strings.
Words the normaliser kept ("Smith") align character for character; what it rewrote sits between
two unchanged stretches, so a generated word maps to the whole rewritten stretch — "forty-two
dollars and fifty cents" all map to "$42.50". Spoken words whose input spans overlap or share a
whitespace-delimited input token are then grouped into one :class:`WordGroup`: a caption word.

:class:`SourceText` carries a string together with, per character, the ``[start, end)`` span of
the original input it stands for; plain text maps to itself, SSML text (:mod:`tts.text.ssml`) maps
into the markup and generated text (``<say-as>``, ``<sub>``) to its element's content.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from tts.text.normalize import OVERRIDE_RE


@dataclass(frozen=True)
class SourceText:
    """``text`` and, for each of its characters ``i``, the input span ``[starts[i], ends[i])``."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def __post_init__(self) -> None:
        if not len(self.starts) == len(self.ends) == len(self.text):
            raise ValueError("SourceText needs one start and one end per character")

    @classmethod
    def identity(cls, text: str, offset: int = 0) -> SourceText:
        """``text`` standing for itself at ``offset`` in the input."""
        starts = tuple(range(offset, offset + len(text)))
        return cls(text, starts, tuple(s + 1 for s in starts))

    @classmethod
    def generated(cls, text: str, start: int, end: int) -> SourceText:
        """``text`` that replaces the input span ``[start, end)`` as a whole (an alias, a say-as)."""
        return cls(text, (start,) * len(text), (end,) * len(text))

    def __add__(self, other: SourceText) -> SourceText:
        return SourceText(self.text + other.text, self.starts + other.starts, self.ends + other.ends)

    def __len__(self) -> int:
        return len(self.text)

    def slice(self, a: int, b: int) -> SourceText:
        return SourceText(self.text[a:b], self.starts[a:b], self.ends[a:b])

    def span(self, a: int, b: int) -> tuple[int, int]:
        """Input span of ``text[a:b]``; an empty range maps to the point where it would be."""
        if b > a:
            return min(self.starts[a:b]), max(self.ends[a:b])
        if a < len(self.text):
            return self.starts[a], self.starts[a]
        end = self.ends[-1] if self.text else 0
        return end, end


@dataclass(frozen=True)
class WordGroup:
    """One caption word: input span ``[char_start, char_end)`` and the spoken words it covers."""

    char_start: int
    char_end: int
    words: tuple[int, ...]  #: indices into the spoken words, consecutive


def word_ranges(text: str) -> list[tuple[int, int]]:
    """Spoken words of ``text`` as ``[start, end)`` ranges: each ``[[...]]`` override is one word
    (brackets included); elsewhere a whitespace-delimited token with a letter or digit, stripped
    of the punctuation around it ("(hello)," -> "hello")."""
    out: list[tuple[int, int]] = []
    pos = 0
    for m in [*OVERRIDE_RE.finditer(text), None]:
        end = m.start() if m is not None else len(text)
        for t in re.finditer(r"\S+", text[pos:end]):
            a, b = pos + t.start(), pos + t.end()
            while a < b and not text[a].isalnum():
                a += 1
            while b > a and not text[b - 1].isalnum():
                b -= 1
            if b > a:
                out.append((a, b))
        if m is not None:
            out.append((m.start(), m.end()))
            pos = m.end()
    return out


def _fold(text: str) -> list[str]:
    """Per-character case folding that keeps one item per character (``"İ".lower()`` has two)."""
    return [low if len(low := ch.lower()) == 1 else ch for ch in text]


def align_words(source: str, normalized: str, words: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The range of ``source`` each of ``words`` (ranges in ``normalized``, the normaliser's output
    for ``source``) came from, in order and monotone: a later word never starts before an earlier.

    A word's range covers the source characters its characters align with (a rewritten stretch as a
    whole) plus source letters and periods the normaliser dropped right after it ("Dr." -> "Doctor").
    A word made only of inserted characters gets an empty range at its insertion point.
    """
    ops = difflib.SequenceMatcher(None, _fold(source), _fold(normalized), autojunk=False).get_opcodes()
    lo = [0] * (len(normalized) + 1)  # per normalised character: source range [lo, hi)
    hi = [0] * (len(normalized) + 1)
    dropped = [False] * (len(source) + 1)
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            for k in range(j2 - j1):
                lo[j1 + k], hi[j1 + k] = i1 + k, i1 + k + 1
        elif tag in ("replace", "insert"):
            for j in range(j1, j2):
                lo[j], hi[j] = i1, i2
        else:  # delete
            for i in range(i1, i2):
                dropped[i] = True
    out: list[tuple[int, int]] = []
    floor = 0
    for a, b in words:
        s = max(min(lo[a:b], default=0), floor)
        e = max(max(hi[a:b], default=0), s)
        while e > s and e < len(source) and dropped[e] and (source[e].isalnum() or source[e] == "."):
            e += 1
        if source[s:e].strip():  # a rewritten stretch may take the spaces around it along
            while source[s].isspace():
                s += 1
            while source[e - 1].isspace():
                e -= 1
        floor = s
        out.append((s, e))
    return out


def group_words(source: SourceText, ranges: list[tuple[int, int]]) -> list[WordGroup]:
    """Group consecutive spoken words into caption words.

    ``ranges``: each word's range in ``source.text`` (:func:`align_words`). Words are grouped when
    their input spans overlap or they come from one whitespace-delimited token of ``source.text``;
    a word with an empty range joins its predecessor (or its successor when it is first). Groups
    are ordered and do not overlap.
    """
    token = _token_ids(source.text)
    groups: list[list] = []  # [char_start, char_end, [word indices], last token id]
    for i, (a, b) in enumerate(ranges):
        s, e = source.span(a, b)
        first_tok = token[a] if b > a else -1
        last_tok = token[b - 1] if b > a else -1
        if groups and (b <= a or s < groups[-1][1] or (first_tok >= 0 and first_tok == groups[-1][3])):
            g = groups[-1]
            g[1] = max(g[1], e)
            g[2].append(i)
            g[3] = last_tok if b > a else g[3]
        else:
            groups.append([s, e, [i], last_tok])
    if (
        len(groups) > 1
        and len(groups[0][2]) == 1
        and ranges[groups[0][2][0]][1] <= ranges[groups[0][2][0]][0]
    ):
        empty = groups.pop(0)  # an empty first word joins the next group
        groups[0][2][:0] = empty[2]
    return [WordGroup(s, max(s, e), tuple(ix)) for s, e, ix, _ in groups]


def _token_ids(text: str) -> list[int]:
    """Per character: the index of its whitespace-delimited token, -1 for whitespace."""
    ids = [-1] * len(text)
    for k, m in enumerate(re.finditer(r"\S+", text)):
        for i in range(m.start(), m.end()):
            ids[i] = k
    return ids
