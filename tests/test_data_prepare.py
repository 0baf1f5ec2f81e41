"""``tts-train prepare``: bad rows counted not fatal, cache contents, statistics, split, incremental runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from tts.audio import MelSpectrogram, load_audio
from tts.data import manifest as mf
from tts.data.manifest import load_manifest
from tts.data.prepare import CACHE_FILE, PrepareConfig, prepare_corpus
from tts.data.process import AudioOptions

N_GOOD = 8
EXPECTED_SKIPS = {
    "empty_text": 1,
    "malformed_row": 1,
    "missing_wav": 1,
    "silent_audio": 1,
    "text_failed": 1,
    "too_long": 1,
    "unreadable_wav": 2,
}


def _add_bad_rows(corpus: Path, speech_like_wav) -> None:
    wavs = corpus / "wavs"
    (wavs / "bad-corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage, not audio" * 3)
    sf.write(wavs / "bad-zero.wav", np.zeros(0, dtype=np.float32), 16000)  # valid header, no samples
    sf.write(wavs / "bad-empty.wav", speech_like_wav(1.0, 16000), 16000)
    sf.write(wavs / "bad-unspeakable.wav", speech_like_wav(1.0, 16000), 16000)
    sf.write(wavs / "bad-long.wav", speech_like_wav(3.0, 16000), 16000)
    sf.write(wavs / "bad-silent.wav", np.zeros(16000, dtype=np.float32), 16000)
    with (corpus / "metadata.csv").open("a", encoding="utf-8") as fh:
        fh.write("bad-corrupt|A corrupt file.|A corrupt file.\n")
        fh.write("bad-zero|An empty file.|An empty file.\n")
        fh.write("bad-missing|No wav for this one.|No wav for this one.\n")
        fh.write("bad-empty||\n")
        fh.write("bad-unspeakable|?! ...|— — —\n")  # nothing pronounceable: phonemisation fails
        fh.write("bad-long|A clip that is far too long.|A clip that is far too long.\n")
        fh.write("bad-silent|Nothing to hear.|Nothing to hear.\n")
        fh.write("no-fields-at-all\n")


CFG = PrepareConfig(audio=AudioOptions(max_seconds=2.5), val_size=2)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, make_ljspeech_corpus, speech_like_wav):
    root = tmp_path_factory.mktemp("prep")
    corpus = make_ljspeech_corpus(root / "corpus", N_GOOD)
    _add_bad_rows(corpus, speech_like_wav)
    summary = prepare_corpus(corpus, root / "out", CFG, jobs=1, progress=False)
    return corpus, root / "out", summary


def test_bad_rows_are_skipped_and_counted(prepared):
    _, out, s = prepared
    assert s["rows"] == N_GOOD + 8
    assert s["kept"] == N_GOOD and s["train"] == N_GOOD - 2 and s["val"] == 2
    assert s["skipped"] == EXPECTED_SKIPS
    assert s["processed"] == N_GOOD + 4  # good + corrupt + zero + long + silent reached the audio step
    assert s["speakers"] == {"corpus": N_GOOD}
    assert 0 < s["hours"] < N_GOOD * 2.0 / 3600
    skipped = mf.read_jsonl(out / "skipped.jsonl")
    assert {r["id"]: r["reason"] for r in skipped}["bad-corrupt"] == "unreadable_wav"
    assert all(r["detail"] and r["line"] > N_GOOD for r in skipped)
    assert not (out / "wavs" / "bad-long.wav").exists() and not (out / "mels" / "bad-silent.npy").exists()


def test_rows_and_cached_files(prepared):
    corpus, out, _ = prepared
    rows = mf.read_jsonl(out / "train.jsonl") + mf.read_jsonl(out / "val.jsonl")
    assert sorted(r["id"] for r in rows) == [f"LJ000-{i:04d}" for i in range(N_GOOD)]
    mel_fn = MelSpectrogram()
    for r in rows:
        assert tuple(r) == mf.ROW_KEYS
        assert r["speaker"] == "corpus" and r["phonemes"] and r["normalized"]
        info = sf.info(str(out / r["wav"]))
        assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
        assert info.frames == r["n_samples"] and r["n_frames"] == -(-r["n_samples"] // 256)
        src_seconds = sf.info(str(corpus / "wavs" / f"{r['id']}.wav")).duration
        assert abs(r["n_samples"] / 22050 - src_seconds) < 2e-3  # resampled 16 kHz -> 22.05 kHz
        mel = np.load(out / r["mel"])
        assert mel.dtype == np.float32 and mel.shape == (80, r["n_frames"])
        wav, _ = load_audio(out / r["wav"])
        expected = mel_fn(torch.from_numpy(wav)[None])[0].numpy()
        np.testing.assert_allclose(mel, expected, atol=1e-5)
    by_id = {r["id"]: r for r in rows}
    assert by_id["LJ000-0002"]["text"] == "Dr. Smith lives at 42 Main St."
    assert by_id["LJ000-0002"]["normalized"] == "Doctor Smith lives at forty-two Main Street."


def test_manifest_and_statistics(prepared):
    _, out, s = prepared
    m = load_manifest(out)
    assert m.speakers == ["corpus"] and m.audio.sample_rate == 22050
    assert m.summary["skipped"] == EXPECTED_SKIPS
    assert len(m.rows("train")) == s["train"] and len(m.rows("val")) == 2
    mels = np.concatenate([np.load(out / r["mel"]) for r in m.rows("train")], axis=1).astype(np.float64)
    np.testing.assert_allclose(m.mel_mean.numpy(), mels.mean(axis=1), atol=1e-4)
    np.testing.assert_allclose(m.mel_std.numpy(), mels.std(axis=1), atol=1e-4)
    assert m.mel_mean.shape == (80,) and bool((m.mel_std > 0).all())
    assert float(m.mel_mean.min()) > -12 and float(m.mel_mean.max()) < 5  # log-mel range of real-ish audio
    d = json.loads((out / "manifest.json").read_text())
    assert d["format_version"] == 1 and d["splits"] == {"train": "train.jsonl", "val": "val.jsonl"}
    assert d["tokenizer"] == m.tokenizer.to_dict()


def test_split_is_deterministic(prepared):
    _, out, _ = prepared
    ids = [f"LJ000-{i:04d}" for i in range(N_GOOD)]
    val = {r["id"] for r in mf.read_jsonl(out / "val.jsonl")}
    assert val == mf.choose_val(ids, val_size=2)
    assert val == mf.choose_val(list(reversed(ids)), val_size=2)


def test_val_set_is_stable_as_the_corpus_grows():
    ids = [f"utt{i}" for i in range(200)]
    val = mf.choose_val(ids, val_size=10)
    grown = ids + [f"new{i}" for i in range(2000)]
    assert mf.choose_val(grown, val_size=10, previous_val=val) == val
    frac = mf.choose_val(ids, val_size=None, val_fraction=0.1)
    assert frac == mf.choose_val(grown, val_size=None, val_fraction=0.1) & set(ids)
    assert 5 < len(frac) < 40
    assert len(mf.choose_val(ids[:3], val_size=100)) == 1  # never more than half
    with pytest.raises(ValueError):
        mf.choose_val(ids, val_fraction=1.5)


def test_moments_merge_matches_numpy():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(4, n)) for n in (1, 7, 30)]
    acc = (0, 0.0, 0.0)
    for p in parts:
        acc = mf.combine_moments(acc, (p.shape[1], p.mean(1), ((p - p.mean(1, keepdims=True)) ** 2).sum(1)))
    mean, std = mf.finish_moments(acc, 4)
    allx = np.concatenate(parts, axis=1)
    np.testing.assert_allclose(mean, allx.mean(1)) and np.testing.assert_allclose(std, allx.std(1))


def _snapshot(out: Path) -> dict[str, tuple[int, bytes]]:
    files = {}
    for p in sorted(out.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            files[str(p.relative_to(out))] = (p.stat().st_mtime_ns, p.read_bytes())
    return files


def test_incremental_reruns(tmp_path, make_ljspeech_corpus, speech_like_wav):
    corpus = make_ljspeech_corpus(tmp_path / "corpus", 4, seed=3)
    (corpus / "wavs" / "broken.wav").write_bytes(b"not a wav file at all")
    with (corpus / "metadata.csv").open("a") as fh:
        fh.write("broken|Broken audio.|Broken audio.\n")
    out = tmp_path / "out"
    cfg = PrepareConfig(val_size=1)
    s1 = prepare_corpus(corpus, out, cfg, jobs=1, progress=False)
    assert (s1["processed"], s1["kept"], s1["skipped"]) == (5, 4, {"unreadable_wav": 1})
    before = _snapshot(out)
    manifest1 = json.loads((out / "manifest.json").read_text())

    s2 = prepare_corpus(corpus, out, cfg, jobs=1, progress=False)
    assert (s2["processed"], s2["reused"], s2["skipped"]) == (0, 4, {"unreadable_wav": 1})
    after = _snapshot(out)
    for name in ("train.jsonl", "val.jsonl", "skipped.jsonl", CACHE_FILE):
        assert after[name][1] == before[name][1], name
    for name in before:
        if name.startswith(("wavs/", "mels/")):
            assert after[name] == before[name], f"{name} was rewritten"
    manifest2 = json.loads((out / "manifest.json").read_text())
    for k in ("speakers", "mel_mean", "mel_std", "tokenizer", "audio"):
        assert manifest2[k] == manifest1[k]

    # a new row: only it is processed; the validation set does not move
    sf.write(corpus / "wavs" / "extra.wav", speech_like_wav(0.8, 24000, seed=9), 24000)
    with (corpus / "metadata.csv").open("a") as fh:
        fh.write("extra|One more sentence.\n")
    val1 = {r["id"] for r in mf.read_jsonl(out / "val.jsonl")}
    s3 = prepare_corpus(corpus, out, cfg, jobs=1, progress=False)
    assert (s3["processed"], s3["reused"], s3["kept"]) == (1, 4, 5)
    assert {r["id"] for r in mf.read_jsonl(out / "val.jsonl")} == val1
    assert load_manifest(out).mel_mean.tolist() != manifest1["mel_mean"]  # statistics include the new clip

    # a changed source file, a lost mel (killed run) and a torn cache line: just those are redone
    sf.write(corpus / "wavs" / "LJ000-0001.wav", speech_like_wav(1.1, 16000, seed=42), 16000)
    os.utime(corpus / "wavs" / "LJ000-0001.wav", ns=(1, 1))
    (out / "mels" / "LJ000-0002.npy").unlink()
    with (out / CACHE_FILE).open("a") as fh:
        fh.write('{"id": "LJ000-0003", "audio_ke')
    s4 = prepare_corpus(corpus, out, cfg, jobs=1, progress=False)
    assert (s4["processed"], s4["reused"], s4["kept"]) == (2, 3, 5)
    row1 = next(
        r
        for r in load_manifest(out).rows("train") + load_manifest(out).rows("val")
        if r["id"] == "LJ000-0001"
    )
    assert abs(row1["n_samples"] - round(1.1 * 22050)) < 30

    # changed processing settings invalidate every clip; --force does too
    trim = PrepareConfig(audio=AudioOptions(trim_silence=True), val_size=1)
    s5 = prepare_corpus(corpus, out, trim, jobs=1, progress=False)
    assert s5["processed"] == 6
    assert prepare_corpus(corpus, out, cfg, jobs=1, force=True, progress=False)["processed"] == 6


def test_options_trim_loudness_and_speakers(tmp_path, make_ljspeech_corpus):
    corpus = make_ljspeech_corpus(
        tmp_path / "multi", 4, columns=4, speakers=["bdl", "alan"], sample_rate=22050
    )
    for p in (corpus / "wavs").glob("*.wav"):  # add 0.5 s of silence at both ends
        wav, sr = sf.read(p, dtype="float32")
        sf.write(p, np.pad(wav, (sr // 2, sr // 2)), sr)
    opts = AudioOptions(trim_silence=True, loudness_dbfs=-20.0)
    s = prepare_corpus(
        corpus, tmp_path / "out", PrepareConfig(audio=opts, val_size=0), jobs=1, progress=False
    )
    assert s["speakers"] == {"alan": 2, "bdl": 2} and s["val"] == 0
    m = load_manifest(tmp_path / "out")
    assert m.speakers == ["alan", "bdl"]
    for r in m.rows("train"):
        src = sf.info(str(corpus / "wavs" / f"{r['id']}.wav")).frames
        original = src - 22050  # the generated clip already had 0.1 s of silence at each end
        # padding cut; the 0.1 s margin is kept and the detector works in 1024-sample frames
        assert original - 1024 < r["n_samples"] < original + 2 * 1024 + 512
        wav, _ = load_audio(tmp_path / "out" / r["wav"])
        rms_db = 20 * np.log10(np.sqrt(np.mean(wav.astype(np.float64) ** 2)))
        assert abs(rms_db + 20.0) < 0.5


def test_cli_end_to_end(tmp_path, make_ljspeech_corpus, capsys):
    from tts.cli.train import main

    corpus = make_ljspeech_corpus(tmp_path / "corpus", 5, columns=2)
    out = tmp_path / "out"
    rc = main(["prepare", str(corpus), str(out), "--jobs", "2", "--val-size", "1", "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "prepared 5 of 5 utterances" in text and "processed 5" in text and "corpus 5" in text
    m = load_manifest(out)
    assert len(m.rows("train")) == 4 and len(m.rows("val")) == 1
    rc = main(["prepare", str(corpus), str(out), "--no-progress", "--val-size", "1"])
    assert rc == 0 and "processed 0 new" in capsys.readouterr().out

    assert main(["prepare", str(tmp_path / "nope"), str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["prepare", str(corpus), str(corpus)]) == 2


def test_corpus_with_nothing_usable(tmp_path):
    from tts.cli.train import main

    corpus = tmp_path / "empty"
    (corpus / "wavs").mkdir(parents=True)
    (corpus / "metadata.csv").write_text("a|no wav here\n")
    assert main(["prepare", str(corpus), str(tmp_path / "out"), "--no-progress"]) == 1
    assert load_manifest(tmp_path / "out").summary["skipped"] == {"missing_wav": 1}


def test_copied_output_folder_still_loads(prepared, tmp_path):
    _, out, _ = prepared
    shutil.copytree(out, tmp_path / "moved")
    m = load_manifest(tmp_path / "moved")
    assert m.path(m.rows("train")[0]["mel"]).is_file()  # rows hold relative paths


def test_speakers_json_sets_the_language_per_speaker(tmp_path, make_ljspeech_corpus):
    from tts.text import phonemize

    corpus = make_ljspeech_corpus(tmp_path / "mixed", 4, columns=4, speakers=["bm_george", "af_heart"])
    (corpus / "speakers.json").write_text(json.dumps({"languages": {"bm_george": "en-gb"}}), encoding="utf-8")
    prepare_corpus(corpus, tmp_path / "out", PrepareConfig(val_size=0), jobs=1, progress=False)
    rows = [json.loads(line) for line in (tmp_path / "out" / CACHE_FILE).read_text().splitlines()]
    speaker_of = {
        line.split("|")[0]: line.split("|")[3] for line in (corpus / "metadata.csv").read_text().splitlines()
    }
    for r in rows:
        lang = "en-gb" if speaker_of[r["id"]] == "bm_george" else "en-us"
        assert r["language"] == lang
        assert r["phonemes"] == phonemize(r["normalized"], lang, normalize=False)
    assert {r["language"] for r in rows} == {"en-gb", "en-us"}


def test_speakers_declared_in_speakers_json_get_ids_before_their_clips_exist(tmp_path, make_ljspeech_corpus):
    corpus = make_ljspeech_corpus(tmp_path / "growing", 4, columns=4, speakers=["af_heart"])
    declared = {"af_heart": "en-us", "am_michael": "en-us", "bf_emma": "en-gb"}
    (corpus / "speakers.json").write_text(json.dumps({"languages": declared}), encoding="utf-8")
    out = tmp_path / "out"
    prepare_corpus(corpus, out, PrepareConfig(val_size=0), jobs=1, progress=False)
    m = load_manifest(out)
    assert list(m.speakers) == ["af_heart", "am_michael", "bf_emma"]  # the model is sized for all three
    assert m.languages == declared  # and knows which language each one's phonemes are in
    assert json.loads((out / "manifest.json").read_text())["summary"]["speakers"] == {"af_heart": 4}
    # ids stay put when the corpus grows: a resumed run keeps its speaker table
    prepare_corpus(corpus, out, PrepareConfig(val_size=0), jobs=1, progress=False)
    assert list(load_manifest(out).speakers) == ["af_heart", "am_michael", "bf_emma"]


def test_many_skips_of_one_kind_are_logged_briefly_and_listed_in_full(tmp_path, make_ljspeech_corpus, caplog):
    from tts.data.prepare import LOGGED_SKIPS, SKIPPED_FILE

    corpus = make_ljspeech_corpus(tmp_path / "growing", 3)
    n_missing = LOGGED_SKIPS + 15  # rows planned but not rendered yet
    with (corpus / "metadata.csv").open("a", encoding="utf-8") as f:
        f.writelines(
            f"later_{i:03d}|Not rendered yet, number {i}.|Not rendered yet, number {i}.\n"
            for i in range(n_missing)
        )
    with caplog.at_level("WARNING", logger="tts.data.prepare"):
        prepare_corpus(corpus, tmp_path / "out", PrepareConfig(val_size=0), jobs=1, progress=False)
    lines = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("skipping") and "missing_wav" in m for m in lines) == LOGGED_SKIPS
    assert sum("not logged one by one" in m for m in lines) == 1
    listed = (tmp_path / "out" / SKIPPED_FILE).read_text().splitlines()
    assert len(listed) == n_missing  # the file still lists every one


def test_pinned_phonemes_win_over_the_frontend(tmp_path, make_ljspeech_corpus):
    from tts.data.prepare import PHONEMES_FILE
    from tts.text import phonemize

    corpus = make_ljspeech_corpus(tmp_path / "pinned", 3, columns=4, speakers=["af_heart"])
    ids = [line.split("|")[0] for line in (corpus / "metadata.csv").read_text().splitlines()]
    (corpus / PHONEMES_FILE).write_text(f"{ids[0]}\ten-gb\thəlˈəʊ wˈɜːld\n", encoding="utf-8")
    out = tmp_path / "out"
    prepare_corpus(corpus, out, PrepareConfig(val_size=0), jobs=1, progress=False)
    rows = {r["id"]: r for r in map(json.loads, (out / CACHE_FILE).read_text().splitlines())}
    assert (rows[ids[0]]["phonemes"], rows[ids[0]]["language"]) == ("həlˈəʊ wˈɜːld", "en-gb")
    for uid in ids[1:]:  # rows the file does not pin are phonemised as before
        assert rows[uid]["phonemes"] == phonemize(rows[uid]["normalized"], "en-us", normalize=False)
    # a re-run with an emptied pin file phonemises that row again (the cache does not keep the pin)
    (corpus / PHONEMES_FILE).write_text("", encoding="utf-8")
    prepare_corpus(corpus, out, PrepareConfig(val_size=0), jobs=1, progress=False)
    rows = {r["id"]: r for r in map(json.loads, (out / CACHE_FILE).read_text().splitlines())}
    assert rows[ids[0]]["language"] == "en-us"


def test_a_broken_phonemes_file_is_a_clear_error(tmp_path, make_ljspeech_corpus):
    from tts.data.prepare import PHONEMES_FILE

    corpus = make_ljspeech_corpus(tmp_path / "broken", 2, columns=4, speakers=["af_heart"])
    (corpus / PHONEMES_FILE).write_text("only-an-id\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"phonemes.tsv:1: expected 'id<TAB>language<TAB>phonemes'"):
        prepare_corpus(corpus, tmp_path / "out", PrepareConfig(val_size=0), jobs=1, progress=False)
