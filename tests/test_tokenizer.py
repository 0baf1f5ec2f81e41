"""Tokenizer: fixed inventory, blanks, unknown symbols, JSON round trip, coverage of espeak English."""

from __future__ import annotations

import json
import warnings

import pytest

from tts.text import Tokenizer, phonemize_batch
from tts.text.tokenizer import UnknownSymbolWarning

PARAGRAPH = (
    'On Jan. 5, 2020, Dr. Smith paid $42.50 for 3 books at 7:30 pm. "Isn\'t it odd?" she asked; '
    "the FBI, NASA and Henry VIII's heirs were thoroughly unimpressed — really! "
    "Rhythm, judgment, squirrels, pleasure, thought, anchovy, bottle, button and mirror; "
    "about 15% of 1,234 pages in the 1990s… Zoë's café served crème brûlée with jalapeño sauce. "
    "Whose measure is this? Ah, the quixotic zephyr vexed a jaunty sphinx, Mr. Vaughn said."
)


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.default()


def test_default_inventory_layout(tok: Tokenizer) -> None:
    symbols = tok.symbols
    assert symbols[0] == "_" and tok.pad_id == 0
    assert symbols[:17] == list('_;:,.!?¡¿—…"«»“” ')  # pinned: checkpoints depend on these ids
    assert len(tok) == len(symbols) == len(set(symbols))
    for ch in "ˈˌːʰɾɚɝᵻɐʔəɪʊæɑɔʌθðʃʒŋɡɹɛɜɒabcdefghijklmnopqrstuvwxyz":
        assert ch in symbols, ch
    assert Tokenizer.default() == tok and Tokenizer.default().symbols == symbols


def test_encode_decode_round_trip_with_and_without_blanks(tok: Tokenizer) -> None:
    ph = "həlˈoʊ, wˈɜːld!"
    plain = tok.encode(ph, add_blank=False)
    assert len(plain) == len(ph) and 0 not in plain
    assert tok.decode(plain) == ph
    blanked = tok.encode(ph)
    assert len(blanked) == 2 * len(ph) + 1
    assert blanked[0::2] == [0] * (len(ph) + 1) and blanked[1::2] == plain
    assert tok.decode(blanked) == ph
    assert tok.encode("") == [] and tok.encode("", add_blank=False) == []


def test_unknown_symbols_warn_once_and_are_dropped(tok: Tokenizer) -> None:
    with pytest.warns(UnknownSymbolWarning) as record:
        ids = tok.encode("a☃b☃c€_", add_blank=False)
    assert len(record) == 1
    message = str(record[0].message)
    assert "☃" in message and "€" in message and "'_'" in message
    assert tok.decode(ids) == "abc"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tok.encode("abc")  # known symbols: no warning at all


def test_decode_rejects_bad_ids(tok: Tokenizer) -> None:
    with pytest.raises(ValueError, match="out of range"):
        tok.decode([1, len(tok)])
    with pytest.raises(ValueError):
        tok.decode([-1])


def test_dict_and_json_round_trip(tok: Tokenizer, tmp_path) -> None:
    assert Tokenizer.from_dict(tok.to_dict()) == tok
    path = tok.save(tmp_path / "sub" / "symbols.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["symbols"] == tok.symbols and data["format_version"] == 1
    loaded = Tokenizer.load(path)
    assert loaded == tok and loaded.encode("həlˈoʊ") == tok.encode("həlˈoʊ")
    custom = Tokenizer(["_", " ", "a", "b"])
    assert Tokenizer.load(custom.save(tmp_path / "c.json")).symbols == ["_", " ", "a", "b"]


@pytest.mark.parametrize(
    "bad",
    [
        ["_", "a"],
        {"symbols": "abc"},
        {},
        {"symbols": ["a", "_"]},
        {"symbols": ["_", "ab"]},
        {"symbols": ["_", "a", "a"]},
        {"symbols": ["_", 3]},
        {"symbols": ["_", "a"], "extra": 1},
        {"symbols": ["_", "a"], "format_version": 9},
        {"symbols": ["_", "a"], "pad": "#"},
    ],
)
def test_from_dict_refuses_malformed_input(bad) -> None:
    with pytest.raises(ValueError):
        Tokenizer.from_dict(bad)


def test_load_refuses_non_json(tmp_path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a tokenizer JSON"):
        Tokenizer.load(path)


@pytest.mark.parametrize("language", ["en-us", "en-gb"])
def test_realistic_paragraph_has_no_unknown_symbols(tok: Tokenizer, language: str) -> None:
    sentences = [s.strip() + "." for s in PARAGRAPH.split(".") if s.strip()]
    for ph in phonemize_batch(sentences, language=language):
        assert tok.unknown(ph) == set(), ph
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert tok.decode(tok.encode(ph)) == ph
