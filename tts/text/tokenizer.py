"""Phoneme symbols <-> integer ids.  The symbol table is saved in every checkpoint.

Default inventory (fixed; append only, never reorder, or old checkpoints read the wrong ids):
id 0 is the pad/blank ``_``, then punctuation and space, then every IPA symbol espeak-ng emits for
English (en-us, en-gb: checked on ~44 000 words and 4 000 sentences), a broad set of further IPA
letters and diacritics for other espeak voices and language switches, and the basic Latin letters.
``encode(..., add_blank=True)`` puts the blank between and around symbols (Glow-TTS/VITS practice).
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

PAD = "_"
_PUNCTUATION = ';:,.!?¡¿—…"«»“” '
_LATIN = "abcdefghijklmnopqrstuvwxyz"
# English espeak output (letters outside a-z), by frequency.
_IPA_ENGLISH = "ˈɪəːˌæɛʊɑɚʌðʃɔɡɾᵻɐŋʒɜθɒʔ\u0329\u0303ʲçɬ"
# Further IPA from the Unicode IPA block and friends (other voices, language switches).
_IPA_MORE = (
    "ɓɕɖɗɘəɛɜɝɞɟɠɢɣɤɥɦɧɨɫɭɮɯɰɱɲɳɴɵɶɷɸɹɺɻɽɿʀʁʂʄʈʉʋʍʎʏʐʑʕʘʙʛʜʝʟʡʢʣʤʥʦʧʨ"
    "βχøœħɐᵊᵿ"
    "ʰʱʷʼˀˑ˞ˠˡˤ˥˦˧˨˩"
    "\u0306\u0308\u030a\u031a\u031d\u031e\u031f\u0320\u0324\u0325\u032a\u032f\u0330\u0334\u0339\u033a\u033b\u033c\u0361"
    "↑↓"
)


def _default_symbols() -> list[str]:
    symbols = [PAD]
    for ch in _PUNCTUATION + _IPA_ENGLISH + _LATIN + _IPA_MORE:
        if ch not in symbols:
            symbols.append(ch)
    return symbols


class UnknownSymbolWarning(UserWarning):
    """``Tokenizer.encode`` met symbols outside its inventory and dropped them."""


class Tokenizer:
    """Maps phoneme strings (one symbol per character) to ids and back; ``pad_id == 0``."""

    pad_id = 0

    def __init__(self, symbols: Sequence[str]):
        symbols = list(symbols)
        if not symbols or symbols[0] != PAD:
            raise ValueError(f"the first symbol must be the pad/blank {PAD!r}")
        bad = [s for s in symbols if not isinstance(s, str) or len(s) != 1]
        if bad:
            raise ValueError(f"symbols must be single characters, got {bad[:5]!r}")
        if len(set(symbols)) != len(symbols):
            dupes = sorted({s for s in symbols if symbols.count(s) > 1})
            raise ValueError(f"duplicate symbols: {dupes!r}")
        self._symbols = symbols
        self._ids = {s: i for i, s in enumerate(symbols)}

    @classmethod
    def default(cls) -> Tokenizer:
        """The fixed inventory: pad, punctuation + space, English espeak IPA, Latin letters, more IPA."""
        return cls(_default_symbols())

    @property
    def symbols(self) -> list[str]:
        return list(self._symbols)

    def __len__(self) -> int:
        return len(self._symbols)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and other._symbols == self._symbols

    def __hash__(self) -> int:
        return hash(tuple(self._symbols))

    def __repr__(self) -> str:
        return f"Tokenizer({len(self)} symbols)"

    def unknown(self, phonemes: str) -> set[str]:
        """Symbols of ``phonemes`` that are not in the inventory."""
        return {ch for ch in phonemes if ch not in self._ids}

    def encode(self, phonemes: str, add_blank: bool = True) -> list[int]:
        """Ids for ``phonemes``: (N chars) -> (N,) or, with ``add_blank``, (2N+1,) ``[0, s1, 0, s2, ..., 0]``.

        Symbols outside the inventory are dropped with one ``UnknownSymbolWarning`` per call.
        The pad ``_`` in the input is treated as unknown (it is reserved for padding/blanks).
        """
        if not isinstance(phonemes, str):
            raise TypeError(f"phonemes must be a str, got {type(phonemes).__name__}")
        ids, unknown = [], []
        for ch in phonemes:
            i = self._ids.get(ch, 0)
            if i == 0:
                if ch not in unknown:
                    unknown.append(ch)
            else:
                ids.append(i)
        if unknown:
            listed = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in unknown)
            warnings.warn(f"dropped phoneme symbols not in the inventory: {listed}", UnknownSymbolWarning, 2)
        if add_blank and ids:
            blanked = [self.pad_id] * (2 * len(ids) + 1)
            blanked[1::2] = ids
            return blanked
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Phoneme string for ``ids``; pad/blank ids are skipped.  Raises ``ValueError`` on bad ids."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self._symbols):
                raise ValueError(f"token id {i} out of range for {len(self)} symbols")
            if i != self.pad_id:
                out.append(self._symbols[i])
        return "".join(out)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        return {"format_version": 1, "pad": PAD, "symbols": list(self._symbols)}

    @classmethod
    def from_dict(cls, d: Any) -> Tokenizer:
        """Rebuild from ``to_dict()`` output; refuses anything malformed with a ``ValueError``."""
        if not isinstance(d, dict):
            raise ValueError(f"tokenizer data must be a dict, got {type(d).__name__}")
        unknown_keys = set(d) - {"format_version", "pad", "symbols"}
        if unknown_keys:
            raise ValueError(f"unknown tokenizer keys: {sorted(unknown_keys)}")
        if d.get("format_version", 1) != 1:
            raise ValueError(f"unsupported tokenizer format_version {d.get('format_version')!r}")
        if d.get("pad", PAD) != PAD:
            raise ValueError(f"tokenizer pad must be {PAD!r}, got {d.get('pad')!r}")
        symbols = d.get("symbols")
        if not isinstance(symbols, list):
            raise ValueError("tokenizer data needs a 'symbols' list")
        return cls(symbols)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the table as JSON (atomically) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, ensure_ascii=False, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Read a table written by ``save``; ``ValueError`` if it is not valid tokenizer JSON."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not a tokenizer JSON file ({e})") from e
        return cls.from_dict(data)
