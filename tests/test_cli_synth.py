"""``tts-synth`` end to end: subprocess runs for the main paths, in-process ``main()`` for the errors."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tiny_voice import SPEAKERS, build_tiny_voice

from tts.audio import load_audio
from tts.cli.synth import main

SENTENCES = [
    "The first sentence is here.",
    "Another one follows it closely.",
    "Streaming should start long before the end.",
    "Each sentence is synthesised on its own.",
    "The vocoder then runs in overlapping windows.",
]


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_voice(tmp_path_factory.mktemp("voice"))


def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None, env: dict | None = None):
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tts.cli.synth", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
    )


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tts-synth: error: ")
    return lines[0]


# --------------------------------------------------------------------------------- subprocess


def test_writes_a_wav_and_reports_timing(voice_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    r = run_cli("Hello there.", "-o", str(out), "--voice", str(voice_dir), "--seed", "0")
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout and "RTF" in r.stdout
    wav, sr = load_audio(out)
    assert sr == 22050 and len(wav) > 0.2 * sr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hello.wav"]


def test_file_from_stdin_gives_numbered_outputs(voice_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "outdir"
    lines = "First line.\n\nSecond line, longer.\nThird.\n"
    r = run_cli("--file", "-", "-o", str(out), "--voice", str(voice_dir), "--seed", "1", stdin=lines)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["0001.wav", "0002.wav", "0003.wav"]
    assert "3 files" in r.stdout
    assert load_audio(out / "0002.wav")[0].size > load_audio(out / "0003.wav")[0].size


def test_raw_streams_before_the_text_is_done(voice_dir: Path) -> None:
    text = " ".join(SENTENCES * 2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tts.cli.synth", text, "--raw", "--voice", str(voice_dir), "--steps", "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read1(4096)  # returns as soon as the first chunk is flushed
    t_first = t_last = time.perf_counter()
    still_running = proc.poll() is None
    rest = b""
    while block := proc.stdout.read1(1 << 16):
        rest += block
        t_last = time.perf_counter()  # when the last audio arrived (process exit comes later)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert len(first) > 0 and still_running
    # the CLI's own synthesis time (summary on stderr) vs what we saw on the pipe: a CLI that held
    # the audio back until the end would deliver it all within a moment
    synth_seconds = float(re.search(r"of audio in ([0-9.]+) s", err)[1])
    assert t_last - t_first > 0.5 * synth_seconds, (t_last - t_first, synth_seconds)
    pcm = np.frombuffer(first + rest, dtype="<i2")
    assert len(pcm) > 5 * 22050 and np.abs(pcm).max() > 0


def test_phonemes_need_no_model(tmp_path: Path) -> None:
    r = run_cli("--phonemes", "Hello world.", env={"TTS_VOICE_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert "ˈ" in r.stdout and "w" in r.stdout and len(r.stdout.strip().splitlines()) == 1


def test_help_and_version_do_not_import_torch() -> None:
    code = (
        "import sys\nfrom tts.cli.synth import main\n"
        "for a in (['--help'], ['--version']):\n"
        "    try:\n        main(a)\n    except SystemExit as e:\n        assert e.code == 0\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "--speed" in r.stdout and "tts-synth 0." in r.stdout


# ----------------------------------------------------------------------------------- in-process


def test_list_speakers(voice_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--list-speakers", "--voice", str(voice_dir)]) == 0
    assert capsys.readouterr().out.split() == list(SPEAKERS)


@pytest.mark.parametrize("text_arg", [["-"], []])
def test_text_from_stdin(
    voice_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    text_arg: list,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Read from standard input."))  # a pipe, not a terminal
    out = tmp_path / "stdin.flac"
    assert main([*text_arg, "-o", str(out), "--voice", str(voice_dir), "-q"]) == 0
    assert load_audio(out)[1] == 22050 and capsys.readouterr().out == ""


def test_missing_cuda_is_an_input_error(
    voice_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(["Hi.", "-o", str(tmp_path / "x.wav"), "--voice", str(voice_dir), "--device", "cuda"]) == 2
    assert "no CUDA device" in one_error_line(capsys.readouterr().err)


def test_no_voice_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTS_VOICE_DIR", str(tmp_path))
    assert main(["Hi.", "-o", str(tmp_path / "x.wav")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "no voice installed yet" in line and "train one" in line
    assert list(tmp_path.iterdir()) == []


def test_openmp_threads_sleep_unless_told_otherwise(
    capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert main(["--phonemes", "Hi."]) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert main(["--phonemes", "Hi."]) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_speed_and_format_options(voice_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    base = ["Hello there, friend.", "--voice", str(voice_dir), "--seed", "0", "-q"]
    assert main([*base, "-o", str(tmp_path / "normal.wav")]) == 0
    assert main([*base, "--speed", "2", "-o", str(tmp_path / "fast.wav")]) == 0
    assert main([*base, "--format", "flac", "-o", str(tmp_path / "noext")]) == 0
    normal, fast = load_audio(tmp_path / "normal.wav")[0], load_audio(tmp_path / "fast.wav")[0]
    assert len(fast) < 0.75 * len(normal)
    assert (tmp_path / "noext.flac").is_file()
    assert main([*base, "--guidance", "0.5", "-o", str(tmp_path / "guided.wav")]) == 0
    guided = load_audio(tmp_path / "guided.wav")[0]
    assert len(guided) == len(normal) and not np.allclose(guided, normal)  # same durations, other field
    assert capsys.readouterr().out == ""
    assert run_main([*base, "--guidance", "-1", "-o", str(tmp_path / "bad.wav")]) == 2


@pytest.fixture(scope="module")
def bad_voices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad_voices")
    (root / "empty").mkdir()
    corrupt = build_tiny_voice(root / "corrupt")
    data = (corrupt / "acoustic.safetensors").read_bytes()
    (corrupt / "acoustic.safetensors").write_bytes(data[: len(data) // 3])
    build_tiny_voice(root / "mismatch", vocoder_sample_rate=16000)
    garbage = build_tiny_voice(root / "garbage")
    (garbage / "vae.safetensors").write_bytes(b"\x00garbage" * 10)
    return root


def run_main(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's own errors
        return int(e.code or 0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["", "-o", "{out}"], "text is empty"),
        (["Hi.", "-o", "{out}", "--speaker", "carol"], "unknown speaker 'carol'; this voice has: alice, bob"),
        (["...", "-o", "{out}"], "nothing pronounceable"),
        (["--file", "{tmp}/missing.txt", "-o", "{tmp}/dir"], "cannot read --file"),
        (["Hi.", "-o", "{tmp}/no/such/dir/x.wav"], "output directory does not exist"),
        (["Hi.", "-o", "{tmp}"], "is a directory"),
        (["Hi.", "-o", "{tmp}/x.mp3"], "name it .wav or .flac"),
        (["Hi.", "--file", "{tmp}/lines.txt"], "either TEXT or --file"),
        (["Hi.", "-o", "{out}", "--voice", "{bad}/empty"], "has no acoustic.safetensors"),
        (["Hi.", "-o", "{out}", "--voice", "{bad}/corrupt"], "acoustic.safetensors is corrupt"),
        (["Hi.", "-o", "{out}", "--voice", "{bad}/garbage"], "vae.safetensors is corrupt"),
        (["Hi.", "-o", "{out}", "--voice", "{bad}/mismatch"], "different audio settings"),
        (["Hi.", "-o", "{out}", "--steps", "0"], "--steps: must be >= 1"),
        (["--file", "{tmp}/lines.txt", "-o", "{tmp}/numbered"], "lines.txt, line 3: nothing pronounceable"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_output(
    voice_dir: Path, bad_voices: Path, tmp_path: Path, capsys: pytest.CaptureFixture, args: list, match: str
) -> None:
    (tmp_path / "lines.txt").write_text("Fine.\n\n?!\nAlso fine.\n", encoding="utf-8")
    before = set(tmp_path.rglob("*"))
    argv = [a.format(out=tmp_path / "out.wav", tmp=tmp_path, bad=bad_voices) for a in args]
    if "--voice" not in argv:
        argv += ["--voice", str(voice_dir)]
    assert run_main(argv) == 2
    assert match in one_error_line(capsys.readouterr().err)
    assert set(tmp_path.rglob("*")) == before  # nothing written, not even a temp file or folder
