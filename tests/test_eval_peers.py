"""Peer systems (tts.eval.peers): the espeak → misaki mapping, asset checks, and — when
``scripts/setup_peers.sh`` has been run — Kokoro and Piper rendering speech."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tts.eval import peers
from tts.eval.peers import (
    KOKORO_VOCAB,
    PeerAssetsMissing,
    espeak_to_kokoro,
    kokoro_assets,
    kokoro_language,
    piper_assets,
    split_tokens,
)


def _have_kokoro() -> bool:
    try:
        kokoro_assets().voice("af_heart")
    except PeerAssetsMissing:
        return False
    return True


def _have_piper() -> bool:
    try:
        piper_assets()
        import piper  # noqa: F401
    except (PeerAssetsMissing, ImportError):
        return False
    return True


needs_kokoro = pytest.mark.skipif(
    not _have_kokoro(), reason="Kokoro assets absent: run scripts/setup_peers.sh"
)
needs_piper = pytest.mark.skipif(
    not _have_piper(), reason="Piper voice or piper-tts absent: run scripts/setup_peers.sh"
)


def test_import_is_light():
    code = (
        "import sys, tts.eval.peers; print(sorted({'torch', 'onnxruntime', 'phonemizer'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_vocab_is_kokoro_v1():
    assert len(KOKORO_VOCAB) == 114
    assert len(set(KOKORO_VOCAB.values())) == 114 and 0 not in KOKORO_VOCAB.values()
    assert (KOKORO_VOCAB[" "], KOKORO_VOCAB["ˈ"], KOKORO_VOCAB["ᵻ"], KOKORO_VOCAB["\u0303"]) == (
        16,
        156,
        177,
        17,
    )


@pytest.mark.parametrize(
    ("ipa", "language", "expected"),
    [
        ("dʒˈɔɪ, bˈoʊt!", "en-us", "ʤˈY, bˈOt!"),  # affricate ligature, diphthongs as capitals
        ("maɪ fˈɑːðɚ", "en-us", "mI fˈɑðəɹ"),  # no length marks in American; r-coloured schwa spelled out
        ("hɜː tʃˈɜːtʃ", "en-us", "hɜɹ ʧˈɜɹʧ"),
        ("bˈʌʔn̩ bˈɑːɾəlz", "en-us", "bˈʌtᵊn bˈɑɾᵊlz"),  # glottal t, syllabic n and l
        (
            "ɡˌəʊ hˈəʊm ðˈeə nˌiə",
            "en-gb",
            "ɡˌQ hˈQm ðˈɛː nˌɪə",
        ),  # British keeps ː, has Q and centring diphthongs
        ("ɐpˈaɹəntli", "en-gb", "əpˈaɹəntli"),
        ("ɬaʊ ʔ ç", "en-us", "lW t k"),
        ("stˈoːɹm", "en-us", "stˈɔɹm"),
        ("sˈɛd, aɪ hæv. aɪ θˈɪŋk ðɪ ˈaɪ", "en-us", "sˈɛd, ˈI hæv. ˈI θˈɪŋk ðɪ ˈI"),  # pronoun I stressed
    ],
)
def test_espeak_to_kokoro(ipa: str, language: str, expected: str):
    out = espeak_to_kokoro(ipa, language)
    assert out == expected
    assert all(ch in KOKORO_VOCAB for ch in out)


def test_espeak_to_kokoro_drops_unknown_symbols_and_refuses_other_languages():
    assert espeak_to_kokoro("ha\u0361lo ʘ", "en-us") == "halo "
    with pytest.raises(ValueError, match="en-us and en-gb"):
        espeak_to_kokoro("a", "fr-fr")


def test_kokoro_language():
    assert kokoro_language("af_heart") == "en-us"
    assert kokoro_language("bm_george") == "en-gb"
    for bad in ("jf_alpha", "zm_yunxi", "heart"):
        with pytest.raises(ValueError, match="English Kokoro voice"):
            kokoro_language(bad)


def test_split_tokens_respects_the_limit_and_prefers_punctuation():
    space, comma = KOKORO_VOCAB[" "], KOKORO_VOCAB[","]
    word = [KOKORO_VOCAB["a"]] * 9
    ids = (word + [comma, space]) * 100  # 1 100 tokens, a comma every 11
    pieces = split_tokens(ids, limit=100)
    assert all(0 < len(p) <= 100 for p in pieces)
    assert all(p[-1] == comma for p in pieces[:-1])
    assert sum(len(p) for p in pieces) == len(ids) - len(pieces)  # the spaces at cuts and the end are dropped
    no_punct = ([KOKORO_VOCAB["a"]] * 9 + [space]) * 50
    assert all(len(p) <= 100 and p[-1] != space for p in split_tokens(no_punct, limit=100))
    assert split_tokens(ids[:50], limit=100) == [ids[:50]]


def test_missing_assets_name_the_setup_script(tmp_path, monkeypatch):
    monkeypatch.setenv(peers.PEERS_ENV, str(tmp_path))
    with pytest.raises(PeerAssetsMissing, match="setup_peers.sh"):
        kokoro_assets()
    with pytest.raises(PeerAssetsMissing, match="setup_peers.sh"):
        piper_assets()
    (tmp_path / "kokoro").mkdir()
    (tmp_path / peers.KOKORO_MODEL).write_bytes(b"not a model")
    with pytest.raises(PeerAssetsMissing, match="bytes"):
        kokoro_assets()


@needs_kokoro
def test_kokoro_renders_our_phonemes_deterministically():
    kokoro = peers.KokoroPeer("af_heart", threads=1)
    phonemes = kokoro.phonemize("Hello there, Joe.")
    assert phonemes == "həlˈO ðˈɛɹ, ʤˈO."
    audio, sr = kokoro.synthesize_phonemes(phonemes)
    again, _ = kokoro.synthesize_phonemes(phonemes)
    assert sr == 24_000 and audio.dtype == np.float32
    assert 0.5 < audio.size / sr < 3.0
    assert 0.05 < np.abs(audio).max() <= 1.0
    np.testing.assert_array_equal(audio, again)


@needs_piper
def test_piper_renders_speech():
    piper = peers.PiperPeer(threads=1)
    audio, sr = piper.synthesize("Hello there.")
    assert sr == 22_050 and audio.dtype == np.float32
    assert 0.3 < audio.size / sr < 3.0 and np.abs(audio).max() > 0.05
    from_phonemes, _ = piper.synthesize_phonemes("həlˈoʊ ðˈɛɹ.")
    assert 0.3 < from_phonemes.size / sr < 3.0
