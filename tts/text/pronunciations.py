"""A user's pronunciation lexicon: fixed pronunciations for words the G2P gets wrong.

File format (UTF-8, ``.tsv``): one entry per line, ``WORD<TAB>PRONUNCIATION``; blank lines and
lines starting with ``#`` are skipped. The pronunciation is either

* IPA, written between slashes (``/ˈŋwɪn/``) or containing any non-ASCII character: the model
  reads it as written, like an inline ``[[...]]`` override; or
* a respelling in plain letters (``Win``, ``nuh win``): spoken by espeak instead of the word.

Case rules: an all-lowercase word matches the word in any capitalisation (``nguyen`` matches
"Nguyen" and "NGUYEN"); a word with a capital letter matches only that exact spelling (``US``
matches "US" but not "us"); an exact match wins over a case-insensitive one. Entries apply after
normalisation: first to each input word as a whole (without the punctuation around it), replacing
everything the normaliser made of it ("NGUYEN", which it would spell out letter by letter), then to
each normalised word ("$5" has become "five dollars": an entry for "dollars" applies there).
"Nguyen's" is not "Nguyen". Later entries (and a user lexicon over a voice's own ``lexicon.tsv``)
override earlier ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from tts.text.alignment import word_ranges

LEXICON_FILE = "lexicon.tsv"  #: a voice's own lexicon, in its folder


@dataclass(frozen=True)
class Pronunciation:
    """What a lexicon word becomes: IPA (read as written) or a respelling (given to espeak)."""

    text: str
    ipa: bool

    def replacement(self) -> str:
        """The normalised-text form: ``[[ipa]]`` or the respelling."""
        return f"[[{self.text}]]" if self.ipa else self.text


@dataclass
class Lexicon:
    """Word -> :class:`Pronunciation`, with the case rules of the module docstring."""

    exact: dict[str, Pronunciation] = field(default_factory=dict)
    folded: dict[str, Pronunciation] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.exact) + len(self.folded)

    def __bool__(self) -> bool:
        return len(self) > 0

    def add(self, word: str, pronunciation: str) -> None:
        """Add one entry; raises ``ValueError`` for an empty or multi-word word or pronunciation."""
        word, pron = word.strip(), pronunciation.strip()
        if not word or any(ch.isspace() for ch in word):
            raise ValueError(f"the word must be a single word, got {word!r}")
        ipa = len(pron) >= 2 and pron[0] == pron[-1] == "/"
        if ipa:
            pron = pron[1:-1].strip()
        ipa = ipa or not pron.isascii()
        if not pron:
            raise ValueError(f"empty pronunciation for {word!r}")
        if ipa:
            pron = "".join(pron.split())  # one override word, as [[...]] reads it
            if "[" in pron or "]" in pron:
                raise ValueError(f"IPA for {word!r} may not contain brackets: {pron!r}")
        elif not all(ch.isalpha() or ch in " '-" for ch in pron):
            raise ValueError(f"a respelling is letters, spaces, hyphens and apostrophes; got {pron!r}")
        entry = Pronunciation(pron, ipa)
        if word == word.lower():
            self.folded[word] = entry
        else:
            self.exact[word] = entry

    def lookup(self, word: str) -> Pronunciation | None:
        """The entry for ``word`` as it appears in the text (exact spelling first)."""
        return self.exact.get(word) or self.folded.get(word.lower())

    def merged(self, other: Lexicon | None) -> Lexicon:
        """A new lexicon with ``other``'s entries over this one's."""
        if not other:
            return self
        return Lexicon({**self.exact, **other.exact}, {**self.folded, **other.folded})

    @classmethod
    def from_text(cls, text: str, name: str = "lexicon") -> Lexicon:
        """Parse the TSV format; errors name ``name`` and the line: ``"lex.tsv:3: no TAB ..."``."""
        lex = cls()
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if "\t" not in line:
                raise ValueError(f"{name}:{n}: expected WORD<TAB>PRONUNCIATION, found no TAB in {line!r}")
            word, pron = line.split("\t", 1)
            if "\t" in pron.strip():
                raise ValueError(f"{name}:{n}: more than two columns in {line!r}")
            try:
                lex.add(word, pron)
            except ValueError as e:
                raise ValueError(f"{name}:{n}: {e}") from None
        return lex

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Lexicon:
        """Read a lexicon file; ``ValueError`` (naming the line) for bad content or an unreadable file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"cannot read lexicon {p}: {getattr(e, 'strerror', None) or e}") from e
        return cls.from_text(text, str(p))

    def apply(
        self, normalized: str, groups: list[tuple[tuple[int, ...], str]] | None = None
    ) -> tuple[str, list[tuple[int, int]]]:
        """Replace the lexicon's words in normalised text.

        ``groups``: the normalised words that came from one input word, with that word's text
        (``tts.text.alignment.group_words``): an input word in the lexicon replaces all of them
        ("NGUYEN", which the normaliser spells out, still matches ``nguyen``); other words are looked
        up one by one. Returns the new text and, for each word of ``normalized`` (``word_ranges``),
        its range in the new text (words replaced together share one range).
        """
        words = word_ranges(normalized)
        if not self:
            return normalized, words
        units: list[tuple[list[int], Pronunciation | None]] = []
        for ix, source in groups or [((i,), "") for i in range(len(words))]:
            key = source.strip(".,;:!?\"'()[]{}")
            whole = self.lookup(key) if key and not key.startswith("[[") else None
            if whole is not None:
                units.append((list(ix), whole))
            else:
                units.extend(([i], self._word(normalized, words[i])) for i in ix)
        out, ranges, pos, length = [], [(0, 0)] * len(words), 0, 0
        for ix, entry in units:
            a, b = words[ix[0]][0], words[ix[-1]][1]
            new = entry.replacement() if entry else normalized[a:b]
            out.append(normalized[pos:a])
            length += a - pos
            if entry is None:  # unchanged words keep their own ranges
                for i in ix:
                    ranges[i] = (length + words[i][0] - a, length + words[i][1] - a)
            else:
                for i in ix:
                    ranges[i] = (length, length + len(new))
            out.append(new)
            length += len(new)
            pos = b
        out.append(normalized[pos:])
        return "".join(out), ranges

    def _word(self, text: str, rng: tuple[int, int]) -> Pronunciation | None:
        a, b = rng
        return None if text.startswith("[[", a) else self.lookup(text[a:b])
