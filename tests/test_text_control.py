"""Word timestamps, SSML, lexicons and speaker blends through both backends and ``tts-synth``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_voice import build_tiny_voice

from tts.cli.synth import main
from tts.core.output import Audio
from tts.core.voice import parse_speaker
from tts.runtime.torch import Synthesizer

TEXT = "Dr. Smith paid $42.50 at 3:30 pm. Then he left!"
SPOKEN = ["Dr.", "Smith", "paid", "$42.50", "at", "3:30", "pm", "Then", "he", "left"]


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_tiny_voice(tmp_path_factory.mktemp("voice"))
    pytest.importorskip("onnx")
    from tts.export.onnx import export_voice_onnx

    export_voice_onnx(folder, vocoder_weights="fp32", denoiser_weights="fp32", vae_weights="fp32")
    return folder


@pytest.fixture(scope="module", params=["torch", "onnx"])
def synth(request: pytest.FixtureRequest, voice_dir: Path):
    if request.param == "torch":
        return Synthesizer.from_pretrained(voice_dir, threads=1, precision="fp32")
    from tts.runtime.onnx import OnnxSynthesizer

    return OnnxSynthesizer.from_pretrained(voice_dir, threads=1)


def test_words_are_the_input_words_in_order_within_the_audio(synth) -> None:
    audio = synth.synthesize(TEXT, seed=0)
    assert [w.text for w in audio.words] == SPOKEN
    assert [TEXT[w.char_start : w.char_end] for w in audio.words] == SPOKEN
    starts = [w.start for w in audio.words]
    assert starts == sorted(starts) and all(w.start < w.end <= audio.duration + 1e-6 for w in audio.words)
    assert all(a.end <= b.start + 1e-6 for a, b in zip(audio.words, audio.words[1:]))
    money = audio.words[3]  # five spoken words: the longest
    assert money.end - money.start > 2 * max(w.end - w.start for w in audio.words[:3])


def test_stream_chunks_carry_their_words(synth) -> None:
    text = TEXT + " A rather long sentence, with several clauses, that keeps going for quite a while."
    chunks = list(synth.stream(text, seed=0))
    assert sum(len(c.words) for c in chunks) == len(synth.synthesize(text, seed=0).words)
    for c in chunks:
        assert all(0 <= w.start < c.duration for w in c.words)
    joined = Audio.concatenate(chunks)
    one = synth.synthesize(text, seed=0)
    np.testing.assert_allclose([w.start for w in joined.words], [w.start for w in one.words], atol=1e-6)


def test_a_break_adds_the_silence_it_asks_for(synth) -> None:
    plain = synth.synthesize("Hello world.", seed=0)
    brk = synth.synthesize('<speak>Hello <break time="500ms"/> world.</speak>', seed=0)
    assert brk.duration - plain.duration == pytest.approx(0.5, abs=256 / 22050)
    hello, world = brk.words
    assert world.start - hello.end >= 0.5 - 1e-3
    k = brk.tokens.index("<break>")  # silent mel frames (random weights do not vocode them as silence)
    assert brk.durations[k] == pytest.approx(0.5, abs=256 / 22050)
    assert brk.durations.sum() == pytest.approx(brk.duration, abs=1e-4)


def test_ssml_voice_and_rate(synth) -> None:
    normal = synth.synthesize("<speak>Slow words here.</speak>", seed=0, temperature=0)
    slow = synth.synthesize('<speak><prosody rate="50%">Slow words here.</prosody></speak>', seed=0)
    assert slow.duration > 1.6 * normal.duration
    bob = synth.synthesize('<speak><voice name="bob">Slow words here.</voice></speak>', seed=0, temperature=0)
    ref = synth.synthesize("Slow words here.", speaker="bob", seed=0, temperature=0)
    np.testing.assert_allclose(bob.samples, ref.samples, atol=1e-5)
    with pytest.raises(ValueError, match="unknown speaker 'carol'"):
        synth.synthesize('<speak><voice name="carol">x</voice></speak>')


def test_blended_speaker_speaks_between_the_two(synth) -> None:
    a = synth.synthesize("Hello there.", speaker="alice", temperature=0)
    b = synth.synthesize("Hello there.", speaker="bob", temperature=0)
    mix = synth.synthesize("Hello there.", speaker="alice:0.5,bob:0.5", temperature=0)
    assert np.isfinite(mix.samples).all() and np.abs(mix.samples).max() > 0
    assert not np.allclose(mix.samples[: len(a.samples)], a.samples[: len(mix.samples)])
    same = synth.synthesize("Hello there.", speaker={"alice": 2.0}, temperature=0)
    np.testing.assert_array_equal(same.samples, a.samples)
    assert len(b.samples) > 0


def test_blends_agree_across_backends(voice_dir: Path) -> None:
    from tts.runtime.onnx import OnnxSynthesizer

    t = Synthesizer.from_pretrained(voice_dir, threads=1, precision="fp32")
    o = OnnxSynthesizer.from_pretrained(voice_dir, threads=1)
    kw = dict(speaker="alice:0.3,bob:0.7", temperature=0)
    np.testing.assert_allclose(
        t.synthesize("Hello there.", **kw).samples, o.synthesize("Hello there.", **kw).samples, atol=1e-3
    )


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("alice:0,bob:1", "positive"),
        ("alice:-1", "positive"),
        ("alice:x", "number"),
        ("zed:1,bob:1", "unknown"),
    ],
)
def test_bad_blends_are_refused(spec: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_speaker(spec, ["alice", "bob"])


def test_lexicon_of_the_voice_and_the_caller(voice_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    for f in voice_dir.iterdir():
        if f.is_file():
            (tmp_path / "v" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "v" / "lexicon.tsv").write_text("nguyen\t/ŋwɪn/\n", encoding="utf-8")
    synth = Synthesizer.from_pretrained(tmp_path / "v", threads=1)
    assert synth.phonemize("Mr. Nguyen.") == "mˈɪstɚ ŋwɪn."
    user = tmp_path / "user.tsv"
    user.write_text("nguyen\twin\n", encoding="utf-8")
    assert "wˈɪn" in Synthesizer.from_pretrained(tmp_path / "v", threads=1, lexicon=user).phonemize("Nguyen")


# ------------------------------------------------------------------------------------ CLI
def test_cli_timestamps_json_srt_vtt(voice_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.wav"
    for suffix in (".json", ".srt", ".vtt"):
        ts = tmp_path / f"o{suffix}"
        assert main([TEXT, "-o", str(out), "--voice", str(voice_dir), "--timestamps", str(ts), "-q"]) == 0
    words = json.loads((tmp_path / "o.json").read_text())
    assert [w["word"] for w in words] == SPOKEN
    assert all(set(w) == {"word", "start", "end", "char_start", "char_end"} for w in words)
    from tts.audio import load_audio

    wav, sr = load_audio(out)
    assert words[-1]["end"] <= len(wav) / sr + 1e-3
    assert (tmp_path / "o.vtt").read_text().startswith("WEBVTT\n\n00:00:00.000 --> ")
    assert (tmp_path / "o.srt").read_text().startswith("1\n00:00:00,000 --> ")


def test_cli_break_blend_lexicon_and_errors(
    voice_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from tts.audio import load_audio

    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    assert main(["Hello world.", "-o", str(a), "--voice", str(voice_dir), "--seed", "0", "-q"]) == 0
    ssml = 'Hello <break time="500ms"/> world.'
    assert main([ssml, "--ssml", "-o", str(b), "--voice", str(voice_dir), "--seed", "0", "-q"]) == 0
    assert (len(load_audio(b)[0]) - len(load_audio(a)[0])) / 22050 == pytest.approx(0.5, abs=0.02)
    mix = tmp_path / "mix.wav"
    assert (
        main(["Hi.", "--speaker", "alice:0.7,bob:0.3", "-o", str(mix), "--voice", str(voice_dir), "-q"]) == 0
    )
    assert np.abs(load_audio(mix)[0]).max() > 0
    lex = tmp_path / "lex.tsv"
    lex.write_text("hello\t/hɛˈloʊ/\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["Hello world.", "--phonemes", "--voice", str(voice_dir)]) == 0
    assert main(["Hello world.", "--phonemes", "--voice", str(voice_dir), "--lexicon", str(lex)]) == 0
    plain, lexed = capsys.readouterr().out.splitlines()
    assert plain.startswith("həlˈoʊ") and lexed.startswith("hɛˈloʊ")
    lex.write_text("hello\n", encoding="utf-8")
    bad = [
        (["<speak>oops <b></speak>", "-o", str(b)], "line 1, column 18"),
        (["Hi.", "--speaker", "alice:0.7,bob:0", "-o", str(b)], "positive"),
        (["Hi.", "--speaker", "alice:1,zed:1", "-o", str(b)], "unknown speaker"),
        (["Hi.", "--lexicon", str(lex), "-o", str(b)], "lex.tsv:1"),
        (["Hi.", "--timestamps", str(tmp_path / "t.txt"), "-o", str(b)], ".json, .srt or .vtt"),
    ]
    for args, match in bad:
        capsys.readouterr()
        assert main([*args, "--voice", str(voice_dir)]) == 2, args
        assert match in capsys.readouterr().err
