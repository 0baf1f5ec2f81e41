"""G2P through phonemizer + espeak-ng: output shape, overrides, batching, errors, library selection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tts.text import phonemize, phonemize_batch
from tts.text.phonemize import ESPEAK_ENV, find_espeak, get_backend

SENTENCES = [
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "Dr. Smith paid $42.50 on Jan. 5, 2020, didn't he?",
    "Henry VIII had six wives; the FBI has none.",
    'She said: "It\'s 3:30 pm" — and left…',
    "Vitamin A, B and C.",
    "Hello [[h ə l ˈoʊ]] world.",
]


@pytest.fixture(scope="module", autouse=True)
def backend():
    """Build the shared espeak backend once for the whole module (construction is the slow part)."""
    return get_backend("en-us")


def test_hello_has_ipa_with_stress() -> None:
    ph = phonemize("hello")
    assert "h" in ph and "ˈ" in ph
    assert ph == ph.strip() and "  " not in ph


def test_punctuation_is_kept() -> None:
    ph = phonemize("Hello, world! Are you there?")
    assert ph.count(",") == 1 and "!" in ph and ph.endswith("?")


def test_text_after_a_currency_amount_is_not_dropped() -> None:
    # espeak with preserve_punctuation loses everything after "$42.50" unless we normalise first
    ph = phonemize("It costs $42.50 today.")
    assert "dˈɑːlɚz" in ph and "sˈɛnts" in ph
    assert ph.endswith("tədˈeɪ.")


def test_without_normalisation_espeak_reads_plain_words() -> None:
    assert phonemize("hello world", normalize=False) == phonemize("hello world")


def test_override_passes_through_verbatim() -> None:
    ph = phonemize("Say [[t ˈɛ s t]] now")
    words = ph.split(" ")
    assert words[1] == "tˈɛst"  # spaces inside the brackets are dropped
    assert len(words) == 3
    assert phonemize("[[ə]], [[b]]!") == "ə, b!"
    assert phonemize("[[ðə]] [[kwˈɪk]]") == "ðə kwˈɪk"  # two spans = two words
    assert phonemize("5 [[x]]").startswith("fˈaɪv x")


def test_letter_a_is_said_as_a_letter() -> None:
    assert "ɐ" not in phonemize("the A I lab")
    assert "ɐ" not in phonemize("vitamin A")
    assert "ɐ" not in phonemize("at 7 am")
    assert "ɐ" in phonemize("a cat")  # the article stays an article


def test_newlines_and_spaces_collapse() -> None:
    assert phonemize("hello\n  world") == phonemize("hello world")
    assert phonemize("hello\n\nworld") == phonemize("hello. world")  # a blank line ends a sentence


def test_batch_equals_single_and_keeps_order() -> None:
    batch = phonemize_batch(SENTENCES)
    assert len(batch) == len(SENTENCES)
    assert batch == [phonemize(s) for s in SENTENCES]
    assert phonemize_batch([]) == []


@pytest.mark.parametrize("bad", ["", "   \n", "!!! ???", "---", "Hello [[ ]]", "Hello [[abc", "( * )"])
def test_invalid_text_raises_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        phonemize(bad)


def test_length_limit() -> None:
    with pytest.raises(ValueError, match="too long"):
        phonemize("word " * 30, max_chars=100)
    assert phonemize("word " * 30, max_chars=None)


def test_batch_error_names_the_bad_text() -> None:
    with pytest.raises(ValueError, match="text 1"):
        phonemize_batch(["fine", "!!!", "also fine"])
    with pytest.raises(TypeError):
        phonemize_batch("not a list")  # type: ignore[arg-type]


def test_unsupported_language() -> None:
    with pytest.raises(ValueError, match="language"):
        phonemize("hello", language="xx-nope")


def test_british_english() -> None:
    assert "ɒ" in phonemize("hot pot", language="en-gb")


def test_backend_is_cached(backend) -> None:
    assert get_backend("en-us") is backend


# --------------------------------------------------------------------------- library selection
def test_mode_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ESPEAK_ENV, "wheel")
    assert find_espeak().kind == "wheel"
    monkeypatch.setenv(ESPEAK_ENV, "bogus")
    with pytest.raises(ValueError, match=ESPEAK_ENV):
        find_espeak()


def test_auto_falls_back_to_the_wheel_without_a_system_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHONEMIZER_ESPEAK_LIBRARY", raising=False)
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    assert find_espeak("auto").kind == "wheel"
    with pytest.raises(RuntimeError, match="no libespeak-ng"):
        find_espeak("system")


def test_wheel_library_phonemises_even_when_a_system_one_exists() -> None:
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    before = EspeakWrapper._ESPEAK_LIBRARY
    lib = find_espeak("wheel")
    assert lib.kind == "wheel" and Path(lib.library).is_file() and Path(str(lib.data_path)).is_dir()
    ph = phonemize("hello world", espeak="wheel")
    assert ph.startswith("h") and "ˈ" in ph and "w" in ph
    assert phonemize_batch(["one", "two"], espeak="wheel")[1].startswith("t")
    # the wheel backend did not replace the default one, and the global library choice is restored
    assert before == EspeakWrapper._ESPEAK_LIBRARY
    assert phonemize("hello world") == ph


def test_importing_tts_text_loads_neither_torch_nor_phonemizer() -> None:
    code = "import sys, tts.text; print('torch' in sys.modules, 'phonemizer' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_other_languages_skip_the_english_normaliser() -> None:
    german = phonemize("Ich habe 3 Katzen.", language="de")
    assert "θɹ" not in german  # not the English "three"
    assert german.endswith(".")
