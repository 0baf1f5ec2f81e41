"""tts-eval end to end on tiny flite folders: dir, voice (with a stand-in synthesiser), copysynth."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("pocketsphinx")

from tts.audio import load_audio, save_audio  # noqa: E402
from tts.cli import eval as cli  # noqa: E402
from tts.eval.judges import missing  # noqa: E402

TEXTS = {
    "t_00001": "The quick brown fox jumps over the lazy dog today.",
    "t_00002": "She wrote the letter carefully and sent it the next morning.",
}


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    """An LJSpeech-layout held-out folder rendered by flite (22.05 kHz)."""
    if shutil.which("flite") is None:
        pytest.skip("flite not installed")
    root = tmp_path_factory.mktemp("heldout")
    (root / "wavs").mkdir()
    for uid, text in TEXTS.items():
        raw = root / f"{uid}.raw.wav"
        subprocess.run(
            ["flite", "-voice", "rms", "-t", text, "-o", str(raw)], check=True, capture_output=True
        )
        save_audio(root / "wavs" / f"{uid}.wav", load_audio(raw, 22050)[0], 22050)
        raw.unlink()
    (root / "metadata.csv").write_text(
        "".join(f"{u}|{t}|{t}|rms\n" for u, t in TEXTS.items()), encoding="utf-8"
    )
    return root


def test_dir_scores_a_folder_against_itself(teacher, tmp_path, capsys):
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    rc = cli.main(
        ["dir", str(teacher), "--reference", str(teacher), "--jobs", "1", "--no-dnsmos"]
        + ["--json", str(out_json), "--markdown", str(out_md)]
    )
    assert rc == 0
    res = json.loads(out_json.read_text())
    assert res["summary"]["n"] == 2 and 0.0 <= res["summary"]["wer"] <= 0.4
    assert res["summary"]["mcd_db"] == pytest.approx(0.0, abs=1e-6)
    assert res["summary"]["stoi"] > 0.99
    if missing("sim") is None:
        assert res["summary"]["sim"] > 0.95  # against the mean of its own recordings
    assert [r["id"] for r in res["rows"]] == list(TEXTS)
    md = out_md.read_text()
    assert "| WER % |" in md and "quick brown fox" in md
    assert "| MCD (dB) |" in capsys.readouterr().out


def test_voice_compares_with_the_teacher(teacher, tmp_path, monkeypatch):
    from tts.runtime.torch import Audio

    by_text = {t: teacher / "wavs" / f"{u}.wav" for u, t in TEXTS.items()}
    seen = {}

    class StandIn:  # says exactly what the teacher said
        def synthesize(self, text, speaker=None, steps=None, temperature=None, seed=None, **kw):
            seen["speaker"], seen["seed"], seen["guidance"] = speaker, seed, kw.get("guidance")
            return Audio(*load_audio(by_text[text]))

    monkeypatch.setattr(cli, "_load_synth", lambda *a, **k: StandIn())
    out = tmp_path / "ours"
    args = ["voice", "--voice", "default", "--heldout", str(teacher), "--speaker", "rms", "--out", str(out)]
    rc = cli.main(
        args + ["--jobs", "1", "--no-dnsmos", "--json", str(tmp_path / "v.json"), "--guidance", "0.5"]
    )
    assert rc == 0
    assert seen == {"speaker": "rms", "seed": 0, "guidance": 0.5}
    res = json.loads((tmp_path / "v.json").read_text())
    assert res["ours"]["wer"] == pytest.approx(res["teacher"]["wer"])
    assert res["ours_minus_teacher"]["wer"] == pytest.approx(0.0)
    assert res["ours"]["mcd_db"] == pytest.approx(0.0, abs=1e-6)
    assert sorted(p.name for p in (out / "wavs").iterdir()) == [f"{u}.wav" for u in TEXTS]
    assert (teacher / ".tts-eval-cache.json").is_file()  # teacher scores are kept for the next run
    cache = json.loads((teacher / ".tts-eval-cache.json").read_text())
    assert set(cache["rows"]) == set(TEXTS)


def test_copysynth_griffin_lim(teacher, tmp_path):
    out = tmp_path / "gl"
    rc = cli.main(
        ["copysynth", str(teacher), str(out), "--limit", "1", "--score", "--no-asr", "--no-dnsmos"]
        + ["--jobs", "1", "--json", str(tmp_path / "gl.json")]
    )
    assert rc == 0
    res = json.loads((tmp_path / "gl.json").read_text())["summary"]
    assert res["n"] == 1
    assert 0.5 < res["mcd_db"] < 8.0  # a degraded copy: not identical, not another voice
    assert 0.5 < res["stoi"] < 0.999


def test_copysynth_phase_iterations_need_an_istft_vocoder(teacher, tmp_path, capsys):
    from tiny_voice import build_tiny_voice

    voc = build_tiny_voice(tmp_path / "v", vocoder_phase="instantaneous") / "vocoder.safetensors"
    common = [str(teacher), "--limit", "1", "--jobs", "1", "--phase-iterations", "2"]
    assert cli.main(["copysynth", common[0], str(tmp_path / "a"), *common[1:], "--vocoder", str(voc)]) == 0
    assert len(list((tmp_path / "a" / "wavs").glob("*.wav"))) == 1
    assert cli.main(["copysynth", common[0], str(tmp_path / "b"), *common[1:]]) == 2  # Griffin-Lim
    assert "iSTFT vocoder" in capsys.readouterr().err


def test_copysynth_through_a_vae(teacher, tmp_path):
    import numpy as np
    from tiny_voice import build_tiny_voice

    voice = build_tiny_voice(tmp_path / "v")
    common = [str(teacher), "--limit", "1", "--jobs", "1", "--vocoder", str(voice / "vocoder.safetensors")]
    assert cli.main(["copysynth", common[0], str(tmp_path / "a"), *common[1:]]) == 0
    assert (
        cli.main(
            [
                "copysynth",
                common[0],
                str(tmp_path / "b"),
                *common[1:],
                "--vae",
                str(voice / "vae.safetensors"),
            ]
        )
        == 0
    )
    (a,) = (tmp_path / "a" / "wavs").glob("*.wav")
    b = tmp_path / "b" / "wavs" / a.name
    wa, wb = load_audio(a)[0], load_audio(b)[0]
    assert len(wa) == len(wb)  # the round trip keeps every frame
    assert np.abs(wa - wb).max() > 1e-3  # and the (untrained) VAE changes the mel
    missing_vae = tmp_path / "nope.safetensors"
    assert (
        cli.main(["copysynth", common[0], str(tmp_path / "c"), *common[1:], "--vae", str(missing_vae)]) == 2
    )


def test_speed_command_times_a_voice(tmp_path, monkeypatch, capsys):
    import numpy as np

    from tts.runtime.torch import Audio

    class StandIn:
        def synthesize(self, text, speaker=None, seed=None):
            return Audio(np.zeros(22050, np.float32), 22050)

        def stream(self, text, speaker=None, seed=None):
            yield Audio(np.zeros(11025, np.float32), 22050)
            yield Audio(np.zeros(11025, np.float32), 22050)

    monkeypatch.setattr(cli, "_load_synth", lambda *a, **k: StandIn())
    for extra in ([], ["--stream"]):
        out = tmp_path / f"s{len(extra)}.json"
        assert cli.main(["speed", "--threads", "1", "--repeats", "2", "--json", str(out), *extra]) == 0
        res = json.loads(out.read_text())
        assert res["audio_s"] == pytest.approx(len(cli.SPEED_TEXTS)) and res["stream"] == bool(extra)
    assert "RTF" in capsys.readouterr().out


def test_voice_and_speed_with_a_real_synthesizer(teacher, tmp_path):
    """The real ``Synthesizer`` path, on a tiny random-weight voice (it speaks noise)."""
    from tiny_voice import build_tiny_voice

    voice = build_tiny_voice(tmp_path / "voice")
    out = tmp_path / "ours"
    args = ["voice", "--voice", str(voice), "--heldout", str(teacher), "--speaker", "alice"]
    rc = cli.main(
        args
        + ["--out", str(out), "--jobs", "1", "--no-asr", "--no-dnsmos", "--json", str(tmp_path / "v.json")]
    )
    assert rc == 0
    res = json.loads((tmp_path / "v.json").read_text())
    assert res["ours"]["n"] == 2 and res["ours"]["mcd_db"] > 3.0  # noise is far from the teacher
    rc = cli.main(
        ["speed", "--voice", str(voice), "--speaker", "bob", "--threads", "1", "--repeats", "1", "--stream"]
    )
    assert rc == 0


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert cli.main(["dir", str(tmp_path)]) == 2
    assert "metadata file not found" in capsys.readouterr().err
    (tmp_path / "metadata.csv").write_text("x_1|Some text here.\n", encoding="utf-8")
    assert cli.main(["dir", str(tmp_path)]) == 2
    assert "no audio for 'x_1'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["dir", str(tmp_path), "--jobs", "0"])
