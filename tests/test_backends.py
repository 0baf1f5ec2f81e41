"""``tts.load``: the library picks the backend (ONNX export when usable, else PyTorch), not the CLIs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tiny_voice import ALL_FP32, build_tiny_voice

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import tts  # noqa: E402
from tts.cli.voice import main as voice_main  # noqa: E402
from tts.runtime.load import load, load_many, torch_only  # noqa: E402
from tts.serve.voice import load_synthesizers  # noqa: E402


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A voice with an ONNX export and the same voice without one."""
    root = tmp_path_factory.mktemp("voices")
    plain = build_tiny_voice(root / "plain", vocoder_phase="instantaneous")
    exported = root / "exported"
    shutil.copytree(plain, exported)
    assert voice_main(["export-onnx", "--voice", str(exported), *ALL_FP32]) == 0
    return exported, plain


def test_auto_takes_the_export_when_there_is_one(voices: tuple[Path, Path]) -> None:
    exported, plain = voices
    assert tts.load is load  # the package attribute is the function
    assert load(exported, threads=1).backend == "onnx"
    assert load(plain, threads=1).backend == "torch"
    assert load(exported, "torch", threads=1).backend == "torch"
    assert load(exported, precision="bf16", threads=1).backend == "torch"  # torch-only: auto gives PyTorch


def test_explicit_onnx_refuses_what_it_cannot_do(voices: tuple[Path, Path]) -> None:
    exported, plain = voices
    assert torch_only() == [] and torch_only("cuda", "griffin-lim", "bf16") == [
        "device='cuda'",
        "vocoder='griffin-lim'",
        "precision='bf16'",
    ]
    with pytest.raises(ValueError, match="drop vocoder='griffin-lim'"):
        load(exported, "onnx", vocoder="griffin-lim")
    with pytest.raises(FileNotFoundError, match="export-onnx"):
        load(plain, "onnx")
    with pytest.raises(ValueError, match="unknown backend 'tensorflow'"):
        load(exported, "tensorflow")


def test_a_stale_export_falls_back_with_a_warning(voices: tuple[Path, Path], tmp_path: Path) -> None:
    exported, _ = voices
    stale = tmp_path / "stale"
    shutil.copytree(exported, stale)
    manifest = stale / "onnx" / "manifest.json"
    m = json.loads(manifest.read_text())
    m["source_sizes"]["vocoder.safetensors"] += 1  # as if the vocoder had changed after the export
    manifest.write_text(json.dumps(m))
    with pytest.warns(UserWarning, match="using PyTorch"):
        assert load(stale, threads=1).backend == "torch"
    with pytest.raises(ValueError, match="re-export"):
        load(stale, "onnx")


def test_the_server_picks_the_backend_tts_load_picks(
    voices: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """tts-serve's workers come from load_many, so the backend choice lives in one place: the
    same as tts.load's for a voice with an export, without one and with a stale one; the ONNX
    workers share one loaded voice (graphs loaded once), the PyTorch ones have a model each."""
    exported, plain = voices
    stale = tmp_path / "stale"
    shutil.copytree(exported, stale)
    manifest = stale / "onnx" / "manifest.json"
    m = json.loads(manifest.read_text())
    m["source_sizes"]["vocoder.safetensors"] += 1
    manifest.write_text(json.dumps(m))
    with pytest.warns(UserWarning, match="using PyTorch"):
        backends = {"stale": (load(stale, threads=1).backend, load_synthesizers(stale, 2, 1)[0].backend)}
    for name, voice in (("exported", exported), ("plain", plain)):
        backends[name] = (load(voice, threads=1).backend, load_synthesizers(voice, 2, 1)[0].backend)
    assert backends == {
        "exported": ("onnx", "onnx"),
        "plain": ("torch", "torch"),
        "stale": ("torch", "torch"),
    }

    onnx = load_synthesizers(exported, workers=3, threads=1, max_chars=100)
    assert [s.backend for s in onnx] == ["onnx"] * 3 and len({id(s) for s in onnx}) == 3
    assert all(s.voice is onnx[0].voice and s.max_chars == 100 for s in onnx)
    assert len({id(s._lock) for s in onnx}) == 3  # each worker its own lock: they run in parallel
    caplog.clear()
    with caplog.at_level("WARNING", logger="tts.serve"):
        torch_ = load_synthesizers(plain, workers=2, threads=1)
    assert "serving with PyTorch" in caplog.text
    assert [s.backend for s in torch_] == ["torch"] * 2
    assert torch_[0].voice.acoustic is not torch_[1].voice.acoustic
    with pytest.raises(ValueError, match="count must be >= 1"):
        load_many(exported, 0)


def test_both_backends_speak_the_same_text(voices: tuple[Path, Path]) -> None:
    exported, _ = voices
    a = load(exported, "onnx", threads=1).synthesize("Hello there.", temperature=0.0)
    b = load(exported, "torch", threads=1, precision="fp32").synthesize("Hello there.", temperature=0.0)
    assert a.tokens == b.tokens and len(a.samples) == len(b.samples)


@pytest.mark.parametrize("guidance", [0.0, 0.7])
def test_one_pipeline_the_same_seed_gives_the_same_audio_on_both_backends(
    voices: tuple[Path, Path], guidance: float
) -> None:
    """Durations, noise, sampler and guidance are one numpy implementation (tts.core.pipeline): only the
    networks differ, so a seed gives the same speech on either backend, with noise (temperature
    > 0), in a batch and a blend of speakers, to float rounding."""
    exported, _ = voices
    onnx = load(exported, "onnx", threads=1)
    torch_ = load(exported, "torch", threads=1, precision="fp32")
    for speaker in (None, "alice:0.6,bob:0.4" if len(onnx.speakers) > 1 else None):
        a = onnx.synthesize("Hello there, how are you?", seed=7, guidance=guidance, speaker=speaker)
        b = torch_.synthesize("Hello there, how are you?", seed=7, guidance=guidance, speaker=speaker)
        np.testing.assert_array_equal(a.durations, b.durations)
        assert np.abs(a.samples - b.samples).max() < 2e-3 * max(1.0, np.abs(b.samples).max())
    other = onnx.synthesize("Hello there, how are you?", seed=8, guidance=guidance)
    assert np.abs(other.samples - a.samples).max() > 1e-2  # the seed matters
    xs = onnx.synthesize_batch(["One.", "Two words."], seed=3, guidance=guidance)
    ys = torch_.synthesize_batch(["One.", "Two words."], seed=3, guidance=guidance)
    for x, y in zip(xs, ys):
        assert len(x.samples) == len(y.samples) and np.abs(x.samples - y.samples).max() < 2e-3


def test_loading_pytorch_through_tts_makes_openmp_wait_passively() -> None:
    """Before torch loads, ``tts.Synthesizer`` / ``tts.load`` default OMP_WAIT_POLICY to PASSIVE (a
    user's own setting wins); spinning OpenMP threads slow PyTorch down badly on a busy machine."""
    import os
    import subprocess
    import sys

    code = "import os, tts; tts.Synthesizer; print(os.environ.get('OMP_WAIT_POLICY'))"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "PASSIVE", run.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert run.stdout.strip() == "ACTIVE", run.stderr


def test_tts_voice_reports_bad_input_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert voice_main(["export-onnx", "--voice", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tts-voice: error:") and err.count("\n") == 1
    args = ["assemble", "--out", str(tmp_path / "v"), "--acoustic", str(tmp_path / "a.safetensors")]
    assert voice_main([*args, "--vae", str(tmp_path / "b.safetensors")]) == 2
    assert "does not exist" in capsys.readouterr().err
