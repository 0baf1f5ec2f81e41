"""A language per speaker: a British speaker in an American voice reads en-gb phonemes, as it was trained."""

from __future__ import annotations

import json

import pytest
from tiny_voice import build_tiny_voice

from tts.core.voice import VoiceConfig, load_voice_config
from tts.export.assemble import assemble_voice
from tts.models.checkpoint import CheckpointError
from tts.runtime.torch import load_voice


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    return build_tiny_voice(tmp_path_factory.mktemp("parts"), languages={"alice": "en-us", "bob": "en-gb"})


def test_assemble_takes_each_speakers_language_from_the_training_data(parts, tmp_path):
    folder = assemble_voice(
        tmp_path / "v",
        parts / "acoustic.safetensors",
        parts / "vae.safetensors",
        parts / "vocoder.safetensors",
    )
    assert load_voice_config(folder).languages == {"bob": "en-gb"}  # only where it differs from the voice's
    voice = load_voice(folder)
    assert voice.language_of("bob") == "en-gb"
    assert voice.language_of("alice") == voice.language_of(None) == voice.language_of(0) == "en-us"
    assert voice.language_of("alice:0.3,bob:0.7") == "en-gb"  # a blend reads as its heaviest part
    assert voice.language_of("alice:0.7,bob:0.3") == "en-us"
    with pytest.raises(ValueError, match="unknown speaker"):
        voice.language_of("carol")


def test_an_explicit_config_wins_and_unknown_speakers_are_refused(parts, tmp_path):
    folder = assemble_voice(
        tmp_path / "v",
        parts / "acoustic.safetensors",
        parts / "vae.safetensors",
        parts / "vocoder.safetensors",
        config=VoiceConfig(languages={"alice": "en-gb"}),
    )
    assert load_voice_config(folder).languages == {"alice": "en-gb"}
    cfg = json.loads((folder / "voice.json").read_text())
    (folder / "voice.json").write_text(json.dumps({**cfg, "languages": {"carol": "en-gb"}}))
    with pytest.raises(CheckpointError, match="carol"):
        load_voice(folder)


def test_each_speaker_is_phonemised_in_its_language(parts, tmp_path, capsys):
    from tts import Synthesizer
    from tts.cli import synth as cli

    folder = assemble_voice(
        tmp_path / "v",
        parts / "acoustic.safetensors",
        parts / "vae.safetensors",
        parts / "vocoder.safetensors",
    )
    synth = Synthesizer.from_pretrained(folder)
    us, gb = synth.phonemize("tomato", speaker="alice"), synth.phonemize("tomato", speaker="bob")
    assert us != gb and "eɪ" in us and "ɑː" in gb  # təmˈeɪɾoʊ / təmˈɑːtəʊ
    assert synth.phonemize("tomato") == us  # the default speaker (the first) is American
    # SSML voices switch language with the speaker, sentence by sentence
    ssml = '<speak>tomato <voice name="bob">tomato</voice></speak>'
    assert synth.phonemize(ssml) == f"{us} {gb}"
    assert synth.synthesize("tomato", speaker="bob", seed=0).duration > 0
    # tts-synth --phonemes reads voice.json the same way, without loading the model
    assert cli.main(["tomato", "--voice", str(folder), "--speaker", "bob", "--phonemes"]) == 0
    assert capsys.readouterr().out.strip() == gb
