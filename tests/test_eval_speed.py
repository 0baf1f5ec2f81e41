"""measure_speed: RTF, time to first audio (whole and streamed output), warm-up exclusion, peak memory."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pytest

from tts.eval.speed import measure_speed, time_one

SR = 22050


@dataclass
class FakeAudio:
    samples: np.ndarray
    sample_rate: int


def test_rtf_of_a_whole_utterance_callable():
    def synth(text: str):
        time.sleep(0.02)
        return np.zeros(SR, np.float32), SR  # 1 s of audio in ≈ 20 ms

    r = measure_speed(synth, ["a", "b"], threads=None, repeats=3, warmup=1)
    assert 0.015 < r["rtf"] < 0.2
    assert r["audio_s"] == pytest.approx(2.0)
    assert r["ttfa_ms"] == pytest.approx(r["compute_s"] / 2 * 1000, rel=0.5)  # whole synthesis
    assert len(r["rtf_runs"]) == 3 and r["n_texts"] == 2


def test_streaming_ttfa_is_the_first_chunk():
    def stream(text: str):
        time.sleep(0.01)
        yield FakeAudio(np.zeros(SR // 2, np.float32), SR)
        time.sleep(0.08)
        yield FakeAudio(np.zeros(SR // 2, np.float32), SR)

    first, total, dur = time_one(stream, "x")
    assert first < 0.06 < total and dur == pytest.approx(1.0)
    r = measure_speed(stream, ["x"], threads=None, repeats=2, warmup=0)
    assert r["ttfa_ms"] < 60 and r["rtf"] > 0.08


def test_warmup_is_excluded():
    calls = []

    def synth(text: str):
        if not calls:
            time.sleep(0.5)  # first-call initialisation
        calls.append(text)
        return FakeAudio(np.zeros(SR, np.float32), SR)

    r = measure_speed(synth, ["a"], threads=None, repeats=3, warmup=1)
    assert r["rtf"] < 0.2 and len(calls) == 4


def test_peak_memory_sees_a_large_allocation():
    def synth(text: str):
        buf = np.ones(80 * 2**20 // 8)  # 80 MB, touched
        time.sleep(0.03)
        return np.zeros(int(buf[0]) * SR, np.float32), SR

    r = measure_speed(synth, ["a"], threads=None, repeats=1, warmup=0)
    assert r["peak_rss_increase_mb"] > 60


def test_threads_are_set_and_restored():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    seen = []

    def synth(text: str):
        seen.append(torch.get_num_threads())
        return np.zeros(100, np.float32), SR

    measure_speed(synth, ["a"], threads=1, repeats=1, warmup=0)
    assert seen == [1] and torch.get_num_threads() == before


def test_bad_arguments():
    def ok(text: str):
        return np.zeros(100, np.float32), SR

    with pytest.raises(ValueError):
        measure_speed(ok, [], threads=None)
    with pytest.raises(ValueError):
        measure_speed(ok, ["a"], threads=None, repeats=0)
    with pytest.raises(TypeError, match="synth_fn must return"):
        measure_speed(lambda t: [1, 2, 3], ["a"], threads=None)
    with pytest.raises(ValueError, match="no audio"):
        measure_speed(lambda t: iter(()), ["a"], threads=None, warmup=0)


def test_machine_facts_name_the_cpu_and_its_int8_kernels(monkeypatch):
    import subprocess
    import sys

    from tts.core import onnx_options
    from tts.eval.speed import ISA_FLAGS, describe_machine, machine_facts

    facts = machine_facts()
    assert facts["cpu"] and facts["cores"] >= 1 and set(facts["isa"]) <= set(ISA_FLAGS)
    assert facts["int8_kernels"] == (
        "exact u8u8 (no AVX512-VNNI)" if onnx_options.int8_needs_exact_kernels() else "VNNI"
    )
    monkeypatch.setattr(onnx_options, "int8_needs_exact_kernels", lambda: True)  # an AVX2-only CPU
    line = describe_machine(machine_facts())
    assert facts["cpu"] in line and "int8 kernels: exact u8u8" in line and "load average" in line
    # benchmark headers must not pull in torch: a torch-free runtime is measured as it runs
    code = "import sys; import tts.eval.speed as s; s.machine_facts(); sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
