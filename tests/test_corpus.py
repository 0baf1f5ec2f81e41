"""Synthetic corpus recipe: teacher engines, sentence filters, build determinism and resumability.

Only Debian-main engines (flite, espeak-ng) are exercised; a test is skipped when its binary is absent.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "synthetic"
sys.path.insert(0, str(RECIPE))

import build_corpus as bc  # noqa: E402
import corpus_sentences as cs  # noqa: E402
import teacher_engines as te  # noqa: E402

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite not installed")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")

SENTENCES = [
    "The quick brown fox jumps over the lazy dog today.",
    "A small boat drifted slowly across the quiet lake at dawn.",
    "She wrote the letter carefully and sent it the next morning.",
    "Every good story needs a beginning, a middle and an end.",
    "They walked home together under a sky full of bright stars.",
]


# ------------------------------------------------------------------------------------------------
# engines
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine,voice",
    [pytest.param("flite", "slt", marks=needs_flite), pytest.param("espeak-ng", "en-us", marks=needs_espeak)],
)
def test_engine_renders_deterministic_wav(tmp_path, engine, voice):
    import soundfile as sf

    eng = te.get_engine(engine)
    assert eng.is_installed()
    a = eng.render(SENTENCES[0], voice, tmp_path / "a.wav")
    b = eng.render(SENTENCES[0], voice, tmp_path / "b.wav")
    info = sf.info(str(a))
    assert info.channels == 1 and info.subtype == "PCM_16"
    assert 1.0 < info.duration < 10.0
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "b.wav"]  # no temp files left


@pytest.mark.parametrize("voice", ["lyubov", "evgeniy-eng"])
def test_non_lgpl_rhvoice_voices_are_refused(tmp_path, voice):
    eng = te.get_engine("rhvoice")
    with pytest.raises(ValueError, match="refusing voice"):
        eng.render("Hello there, this is a test sentence.", voice, tmp_path / "x.wav")
    with pytest.raises(ValueError, match="refusing voice"):
        bc.main(["--engine", "rhvoice", "--voices", f"bdl,{voice}", "--out", str(tmp_path / "c")])
    assert not (tmp_path / "c").exists()  # refused before any work


def test_unknown_engine_voice_and_empty_text(tmp_path):
    with pytest.raises(ValueError, match="unknown engine"):
        te.get_engine("sam")
    with pytest.raises(ValueError, match="no voice"):
        te.get_engine("flite").render("Some words here.", "nobody", tmp_path / "x.wav")
    with pytest.raises(ValueError, match="empty"):
        te.get_engine("flite").render("   ", "slt", tmp_path / "x.wav")


def test_list_voices_explains_installation():
    text = te.describe_engines()
    for name in ("rhvoice", "flite", "festival", "espeak-ng"):
        assert name in text
    assert "non-free" in te.RHVoice.install and "Components:" in te.RHVoice.install
    assert "apt-get install -y rhvoice rhvoice-english" in te.RHVoice.install
    assert "lyubov" in text and "evgeniy-eng" in text


# ------------------------------------------------------------------------------------------------
# corpus build
# ------------------------------------------------------------------------------------------------


def _build(tmp_path: Path, out: Path, *extra: str) -> int:
    sents = tmp_path / "sents.txt"
    sents.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    args = ["--engine", "flite", "--voices", "slt,rms", "--sentences", str(sents), "--out", str(out), *extra]
    return bc.main(args)


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "wavs").glob("*.wav"))}


@needs_flite
def test_build_layout_metadata_and_determinism(tmp_path):
    import soundfile as sf

    a, b = tmp_path / "a", tmp_path / "b"
    assert _build(tmp_path, a, "--per-voice", "2", "--jobs", "1") == 0
    assert _build(tmp_path, b, "--per-voice", "2", "--jobs", "2") == 0
    assert (a / "DONE").is_file()
    rows = [r.split("|") for r in (a / "metadata.csv").read_text(encoding="utf-8").splitlines()]
    assert [r[0] for r in rows] == ["slt_00001", "slt_00002", "rms_00001", "rms_00002"]
    assert all(len(r) == 4 for r in rows)
    assert [r[3] for r in rows] == ["slt", "slt", "rms", "rms"]
    assert len({r[1] for r in rows}) == 4  # each voice reads different sentences
    assert {r[1] for r in rows} <= set(SENTENCES)
    for r in rows:
        info = sf.info(str(a / "wavs" / f"{r[0]}.wav"))
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
    fa = _files(a)
    assert len(fa) == 4 and fa == _files(b)  # byte-identical, independent of job count
    assert (a / "metadata.csv").read_bytes() == (b / "metadata.csv").read_bytes()


@needs_flite
def test_build_resumes_only_missing_files(tmp_path):
    out = tmp_path / "c"
    assert _build(tmp_path, out, "--per-voice", "2", "--jobs", "1") == 0
    before = _files(out)
    kept = out / "wavs" / "slt_00001.wav"
    mtime = kept.stat().st_mtime_ns
    (out / "wavs" / "rms_00002.wav").unlink()
    (out / "wavs" / "slt_00002.wav").write_bytes(b"RIFF broken")  # an invalid file is redone
    (out / "wavs" / ".rms_00001.wav.tmp.wav").write_bytes(b"junk")  # interrupted temp file
    assert _build(tmp_path, out, "--per-voice", "2", "--jobs", "1") == 0
    assert kept.stat().st_mtime_ns == mtime  # valid files are not re-rendered
    assert _files(out) == before
    assert not list((out / "wavs").glob(".*"))


@needs_flite
def test_changed_sentences_are_rendered_again(tmp_path):
    out, fresh = tmp_path / "c", tmp_path / "fresh"
    assert _build(tmp_path, out, "--per-voice", "2", "--jobs", "1") == 0
    before = (out / "metadata.csv").read_text(encoding="utf-8")
    # a new seed assigns other sentences to the same ids: stale wavs must not survive
    assert _build(tmp_path, out, "--per-voice", "2", "--jobs", "1", "--seed", "7") == 0
    assert _build(tmp_path, fresh, "--per-voice", "2", "--jobs", "1", "--seed", "7") == 0
    assert _files(out) == _files(fresh)
    assert (out / "metadata.csv").read_bytes() == (fresh / "metadata.csv").read_bytes()
    assert (out / "metadata.csv").read_text(encoding="utf-8") != before


@needs_flite
def test_output_folder_refuses_another_engine(tmp_path):
    out = tmp_path / "c"
    assert _build(tmp_path, out, "--per-voice", "1", "--jobs", "1") == 0
    with pytest.raises(SystemExit, match="engine 'flite'"):
        bc.main(["--engine", "espeak-ng", "--voices", "en-us", "--per-voice", "1", "--out", str(out)])


@needs_flite
def test_heldout_mode_writes_one_folder_per_voice(tmp_path):
    out = tmp_path / "h"
    assert _build(tmp_path, out, "--heldout", "--jobs", "1") == 0
    for v in ("slt", "rms"):
        rows = (out / v / "metadata.csv").read_text(encoding="utf-8").splitlines()
        assert [r.split("|")[1] for r in rows] == SENTENCES  # every voice reads the whole list
        assert all(r.split("|")[3] == v for r in rows)
        assert len(list((out / v / "wavs").glob("*.wav"))) == len(SENTENCES)
    assert (out / "DONE").is_file()


def test_assign_sentences_is_disjoint_and_seeded():
    sents = [f"sentence number {i} is here" for i in range(50)]
    a = bc.assign_sentences(sents, ["x", "y", "z"], 10, seed=3)
    assert a == bc.assign_sentences(sents, ["x", "y", "z"], 10, seed=3)
    assert a != bc.assign_sentences(sents, ["x", "y", "z"], 10, seed=4)
    flat = [s for v in a.values() for s in v]
    assert len(flat) == len(set(flat)) == 30
    with pytest.raises(ValueError, match="needed"):
        bc.assign_sentences(sents, ["x", "y"], 30, seed=0)


def test_render_order_takes_the_voices_in_turn():
    items = [
        bc.Item(f"{v}_{i}", v, "t", Path(f"{v}_{i}.wav"))
        for v, n in (("a", 3), ("b", 1), ("c", 2))
        for i in range(n)
    ]
    order = [it.id for it in bc.round_robin(items)]
    assert order == ["a_0", "b_0", "c_0", "a_1", "c_1", "a_2"]
    assert bc.round_robin([]) == []


def test_sentence_file_rejects_separator(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("a|b c d e f g h i\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"'\|'"):
        bc.read_sentences(p)


# ------------------------------------------------------------------------------------------------
# sentence filters and the shipped lists
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence,reason",
    [
        ("The old man walked slowly down the long and dusty road.", None),
        ('He said, "Nothing lasts forever, not even the rain."', None),
        ("Too short to keep here.", "word count"),
        ("Bank error in your favor, collect all of the money now $200.", "characters"),
        ("In 1951 they moved to the city and never came back.", "characters"),
        ("He stopped. Then he walked on down the road and went home.", "inner sentence punctuation"),
        ("WARNING this product contains small parts and is not for kids.", "all caps"),
        ("The glorp frobnicated the wibbly zorkmid all through the night.", "not in dictionary"),
        ("It was the best of times -- it was the worst of times indeed.", "dashes or stray apostrophes"),
        ('She said "hello and then she left the room without a word.', "unbalanced quotes"),
        ("Q: why did the chicken cross the road to the other side?", "speaker tag"),
        ("the sentence has no final punctuation at all in this case", "characters"),
    ],
)
def test_reject_reason(sentence, reason):
    vocab = {w.lower() for w in cs._WORD.findall(" ".join(SENTENCES + [sentence]))} - {
        "glorp",
        "frobnicated",
        "wibbly",
        "zorkmid",
    }
    assert cs.reject_reason(sentence, vocab) == reason


def test_split_clean_dedup_and_heldout_split():
    assert cs.split_sentences('He ran. "Stop!" she cried. Then it ended.') == [
        "He ran.",
        '"Stop!" she cried.',
        "Then it ended.",
    ]
    assert cs.clean("\u201cHi,\u201d  he said ,\tsmiling .") == '"Hi," he said, smiling.'
    kept, reasons = cs.select([("a", SENTENCES[0]), ("b", SENTENCES[0].upper().lower().capitalize())], None)
    assert len(kept) == 1 and reasons == {"duplicate": 1}
    sents = [f"Sentence {chr(97 + i)} here." for i in range(20)]
    train, held = cs.split_heldout(sents, 5)
    assert len(held) == 5 and not set(train) & set(held)
    assert cs.split_heldout(list(reversed(sents)), 5) == (train, held)  # independent of input order


def test_shipped_lists_are_clean_and_disjoint():
    train = bc.read_sentences(bc.SENTENCES / "train.txt")
    held = bc.read_sentences(bc.SENTENCES / "heldout.txt")
    assert len(held) >= 200 and len(train) >= 6000
    assert not {cs.dedup_key(s) for s in train} & {cs.dedup_key(s) for s in held}
    assert len({cs.dedup_key(s) for s in train}) == len(train)
    try:
        vocab = cs.load_vocabulary()
    except ImportError:
        vocab = None
    bad = [s for s in train + held if cs.reject_reason(s, vocab) is not None]
    assert not bad, bad[:3]
    assert (bc.SENTENCES / "PROVENANCE.md").is_file()


def test_wav_validity_check(tmp_path):
    assert not bc.is_valid_wav(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav")
    assert not bc.is_valid_wav(bad)


# ------------------------------------------------------------------------------------------------
# Kokoro teacher and the wider sentence mix
# ------------------------------------------------------------------------------------------------


def _have_kokoro() -> bool:
    return te.Kokoro().is_installed()


needs_kokoro = pytest.mark.skipif(
    not _have_kokoro(), reason="Kokoro assets absent: run scripts/setup_peers.sh"
)


def test_kokoro_voices_and_languages():
    k = te.get_engine("kokoro")
    assert {"af_heart", "am_michael", "bf_emma", "bm_george"} <= set(k.voices) and len(k.voices) == 28
    assert (k.language("af_heart"), k.language("bm_george")) == ("en-us", "en-gb")
    with pytest.raises(ValueError, match="no voice"):
        k.check_voice("jf_alpha")  # Japanese: our frontend does not phonemise it


def test_trim_silence_keeps_the_pad():
    import numpy as np

    sr = 24000
    tone = 0.5 * np.sin(2 * np.pi * 200 * np.arange(sr) / sr)
    audio = np.concatenate([np.zeros(sr // 2), tone, np.full(sr, 1e-5)])
    out = te.trim_silence(audio, sr, pad_s=0.1)
    assert abs(out.size - (sr + 2 * sr // 10)) <= sr // 100  # the tone plus 0.1 s each side
    assert np.abs(out[: sr // 20]).max() == 0  # the leading pad is silence


@needs_kokoro
def test_kokoro_build_writes_languages_and_resamples(tmp_path):
    import json

    import soundfile as sf

    sentences = tmp_path / "s.txt"
    sentences.write_text("Is it ten miles?\nWhat a day!\n", encoding="utf-8")
    out = tmp_path / "k"
    args = ["--engine", "kokoro", "--voices", "af_heart,bm_george", "--per-voice", "1"]
    assert bc.main([*args, "--sentences", str(sentences), "--out", str(out), "--jobs", "1"]) == 0
    speakers = json.loads((out / "speakers.json").read_text(encoding="utf-8"))
    assert speakers["languages"] == {"af_heart": "en-us", "bm_george": "en-gb"}
    for wav in sorted((out / "wavs").glob("*.wav")):
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels) == (22050, 1) and 0.5 < info.duration < 4


def test_progress_lines_report_rate_and_eta(capsys):
    p = bc.Progress(total=4, desc="kokoro", log_every=0.0)
    p.update(2.0)
    p.update(2.0)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "2/4 utt" in err[-1] and "RTF" in err[-1] and "ETA" in err[-1]


def test_number_sentences_are_seeded_and_pass_the_numeric_filter():
    from tts.text import normalize

    a, b = cs.number_sentences(60, seed=0), cs.number_sentences(60, seed=0)
    assert a == b and a != cs.number_sentences(60, seed=1)
    assert all(any(ch.isdigit() for ch in s) for s in a)
    assert all(cs.numeric_reject_reason(s, None, normalize) is None for s in a), a[:3]


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The train left at 7:45 and arrived three hours later.", None),
        ("There were no numbers in this sentence at all.", "no digits"),
        ("MIRACLE ON 42ND STREET is a very old film indeed.", "all caps"),
        ("It cost 5 dollars. Then it cost 6 more dollars.", "inner sentence punctuation"),
        ("Send 5 dollars to me @ home right now please.", "characters"),
    ],
)
def test_numeric_reject_reason(sentence, reason):
    from tts.text import normalize

    assert cs.numeric_reject_reason(sentence, None, normalize) == reason


def test_mix_lists_are_disjoint_and_varied():
    train = bc.read_sentences(bc.SENTENCES / "mix-train.txt")
    held = bc.read_sentences(bc.SENTENCES / "mix-heldout.txt")
    base_train = bc.read_sentences(bc.SENTENCES / "train.txt")
    assert len(train) == 12000 and len(held) >= 260 and len(set(train)) == len(train)
    assert not set(held) & set(train)
    assert held[:200] == bc.read_sentences(bc.SENTENCES / "heldout.txt")
    # prose held out by its letters-only key; only template sentences (with digits) may share wording
    letters_train = {cs.dedup_key(s) for s in train + base_train}
    shared = [s for s in held if cs.dedup_key(s) in letters_train]
    assert all(any(ch.isdigit() for ch in s) for s in shared)
    share = {
        "numbers": sum(any(ch.isdigit() for ch in s) for s in train) / len(train),
        "questions/exclamations": sum(map(cs.is_question_or_exclamation, train)) / len(train),
        "long": sum(len(s.split()) > 25 for s in train) / len(train),
    }
    assert all(v >= 0.1 for v in share.values()), share


def test_select_voices_picks_a_spread():
    import select_voices

    held = bc.read_sentences(bc.SENTENCES / "mix-heldout.txt")
    picked = select_voices.pick_sentences(held, 20)
    assert len(picked) == len(set(picked)) == 20
    assert sum(s in held[:200] for s in picked) == 12
    assert any(any(ch.isdigit() for ch in s) for s in picked)


def test_wider_heldout_list_is_the_picker_s_100_and_holds_the_20():
    import select_voices

    held = bc.read_sentences(bc.SENTENCES / "mix-heldout.txt")
    wide = bc.read_sentences(bc.SENTENCES / "mix-heldout-100.txt")
    assert wide == select_voices.pick_sentences(held, 100)
    assert set(select_voices.pick_sentences(held, 20)) <= set(wide)


def test_development_list_is_held_out_and_apart_from_the_test_100():
    held = bc.read_sentences(bc.SENTENCES / "mix-heldout.txt")
    wide = set(bc.read_sentences(bc.SENTENCES / "mix-heldout-100.txt"))
    dev = bc.read_sentences(bc.SENTENCES / "mix-dev-40.txt")
    base, added = [s for s in held[:200] if s not in wide], held[200:]
    groups = [[s for s in added[i : i + 20] if s not in wide] for i in range(0, len(added), 20)]
    assert dev == base[:24] + [s for g in groups for s in g[:4]]
    assert len(set(dev)) == 40 and not set(dev) & wide


# ------------------------------------------------------------------------------------------------
# phonemes pinned with the corpus (teachers that read our frontend's phonemes)
# ------------------------------------------------------------------------------------------------


class _PhonemeEngine(te.Engine):
    """Reads phonemes like Kokoro; its 'frontend' is a prefix the test changes, and its audio's length
    says which phonemes it spoke (100 samples per symbol at 24 kHz)."""

    name = "phoneme-test"
    voices = ("v1",)
    reads_phonemes = True
    frontend = "a"

    def is_installed(self) -> bool:
        return True

    @staticmethod
    def language(voice: str) -> str:
        return "en-us"

    def phonemes(self, texts: list[str], voice: str) -> list[str]:
        return [self.frontend * (1 + i % 3) + "ə" * len(t.split()) for i, t in enumerate(texts)]

    def _run(self, text: str, voice: str, out_wav: Path) -> None:
        raise AssertionError("a phoneme-reading engine renders from the pinned phonemes")

    def _run_phonemes(self, phonemes: str, voice: str, out_wav: Path) -> None:
        import numpy as np
        import soundfile as sf

        t = np.arange(2400 * len(phonemes)) / 24000
        sf.write(str(out_wav), 0.3 * np.sin(2 * np.pi * 220 * t), 24000, subtype="PCM_16")


def _pinned(out: Path) -> dict[str, str]:
    rows = [line.split("\t") for line in (out / "phonemes.tsv").read_text(encoding="utf-8").splitlines()]
    assert all(len(r) == 3 and r[1] == "en-us" for r in rows)
    return {r[0]: r[2] for r in rows}


def test_phonemes_are_pinned_with_the_audio_and_prepare_reads_them(tmp_path, monkeypatch):
    import json

    import soundfile as sf

    from tts.data.prepare import PrepareConfig, prepare_corpus

    monkeypatch.setitem(te.ENGINES, _PhonemeEngine.name, _PhonemeEngine)
    sents = tmp_path / "sents.txt"
    sents.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    out = tmp_path / "c"
    args = ["--engine", _PhonemeEngine.name, "--voices", "v1", "--per-voice", "3", "--jobs", "1"]
    args += ["--sentences", str(sents), "--out", str(out)]
    assert bc.main(args) == 0
    first = _pinned(out)
    assert sorted(first) == ["v1_00001", "v1_00002", "v1_00003"]
    assert all(p.startswith("a") for p in first.values())

    def frames(uid: str) -> int:  # the audio says which phonemes were spoken: 2 205 samples per symbol
        return sf.info(str(out / "wavs" / f"{uid}.wav")).frames

    assert all(frames(u) == 2205 * len(p) for u, p in first.items())

    # the frontend changes while the corpus is still being rendered: finished clips keep their phonemes
    monkeypatch.setattr(_PhonemeEngine, "frontend", "b")
    (out / "wavs" / "v1_00002.wav").unlink()
    assert bc.main(args) == 0
    second = _pinned(out)
    assert second["v1_00001"] == first["v1_00001"] and second["v1_00003"] == first["v1_00003"]
    assert second["v1_00002"].startswith("b")  # rendered again, from today's phonemes
    assert all(frames(u) == 2205 * len(p) for u, p in second.items())

    # data preparation trains on what the audio says, not on what the frontend would say now
    prepared = tmp_path / "p"
    prepare_corpus(out, prepared, PrepareConfig(val_size=0), jobs=1, progress=False)
    rows = [json.loads(line) for line in (prepared / "prepare_cache.jsonl").read_text().splitlines()]
    assert {r["id"]: r["phonemes"] for r in rows} == second
