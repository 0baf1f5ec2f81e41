"""``benchmarks/ab_speed.py``: voices timed in one process, interleaved sentence by sentence."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from tiny_voice import ALL_FP32, build_tiny_voice

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from tts.cli.voice import main as voice_main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("ab_speed", ROOT / "benchmarks" / "ab_speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ab_speed_times_every_voice_on_the_same_sentences(tmp_path: Path, capsys) -> None:
    folder = build_tiny_voice(tmp_path / "voice", vocoder_phase="instantaneous")
    assert voice_main(["export-onnx", "--voice", str(folder), *ALL_FP32]) == 0
    sents = tmp_path / "s.txt"
    sents.write_text("Hello there.\n\nHow are you today?\n", encoding="utf-8")
    ab = _script()
    assert (
        ab.main([str(folder), str(folder), "--sentences", str(sents), "--threads", "1", "--repeats", "2"])
        == 0
    )
    out = capsys.readouterr().out
    assert "2 sentences x 2" in out
    lines = [ln for ln in out.splitlines() if "RTF" in ln]
    assert len(lines) == 2 and "(1.000x the first)" in lines[0]
    assert ab.main([str(tmp_path / "nowhere"), "--sentences", str(sents)]) == 2
    steal = ab.steal_ticks()
    assert steal is None or 0 <= steal[0] <= steal[1]
