"""Distances to reference audio: the mel-cepstrum transform, MCD with DTW, F0/voicing error, PESQ/STOI."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from tts.audio import load_audio
from tts.eval.distance import (
    MCDConfig,
    copy_synthesis_scores,
    envelope_to_mcep,
    freqt_matrix,
    mel_cepstral_distortion,
)


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> dict[str, tuple[np.ndarray, int]]:
    """One sentence by two flite voices, plus another sentence by the first, at 22.05 kHz."""
    if shutil.which("flite") is None:
        pytest.skip("flite not installed")
    d = tmp_path_factory.mktemp("flite")
    out = {}
    for name, voice, text in [
        ("a", "slt", "The quick brown fox jumps over the lazy dog."),
        ("b", "rms", "The quick brown fox jumps over the lazy dog."),
        ("c", "slt", "Every good story needs a beginning and an end."),
    ]:
        p = d / f"{name}.wav"
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(p)], check=True, capture_output=True)
        out[name] = load_audio(p, sample_rate=22050)
    return out


def test_freqt_is_identity_without_warping():
    c = np.random.default_rng(0).normal(size=40)
    np.testing.assert_allclose(freqt_matrix(40, 39, 0.0) @ c, c, atol=1e-12)


def test_warped_cepstrum_reproduces_the_log_spectrum_on_the_warped_axis():
    """Σ c̃_m cos(m β(ω)) must equal Σ c_m cos(m ω), β the all-pass (mel) warping of ω."""
    rng = np.random.default_rng(1)
    c = np.zeros(257)
    c[:20] = rng.normal(size=20) * np.exp(-np.arange(20) / 4)
    alpha = 0.42
    ct = freqt_matrix(257, 150, alpha) @ c
    w = np.linspace(0, np.pi, 64)
    beta = w + 2 * np.arctan(alpha * np.sin(w) / (1 - alpha * np.cos(w)))
    log_h = np.cos(np.outer(w, np.arange(257))) @ c
    log_ht = np.cos(np.outer(beta, np.arange(151))) @ ct
    np.testing.assert_allclose(log_ht, log_h, atol=1e-8)


def test_mcep_c0_is_mean_log_amplitude():
    env = np.full((3, 513), 4.0)  # flat power 4 → log amplitude ln 2 everywhere, nothing else
    mc = envelope_to_mcep(env, 24, 0.42)
    np.testing.assert_allclose(mc[:, 0], np.log(2.0), atol=1e-9)
    np.testing.assert_allclose(mc[:, 1:], 0.0, atol=1e-9)


def test_mcd_identical_shifted_and_different(voices):
    a, sr = voices["a"]
    same = mel_cepstral_distortion(a, a, sr)
    assert same["mcd_db"] == pytest.approx(0.0, abs=1e-6)
    assert same["f0_rmse_cents"] == pytest.approx(0.0, abs=1e-6) and same["vuv_error"] == 0.0
    delayed = np.concatenate([np.zeros(1234, np.float32), a, np.zeros(500, np.float32)])
    import librosa

    stretched = librosa.effects.time_stretch(a, rate=1.1).astype(np.float32)
    d_delay = mel_cepstral_distortion(a, delayed, sr)["mcd_db"]
    d_stretch = mel_cepstral_distortion(a, stretched, sr)["mcd_db"]
    d_voice = mel_cepstral_distortion(a, voices["b"][0], sr)["mcd_db"]
    d_text = mel_cepstral_distortion(a, voices["c"][0], sr)["mcd_db"]
    # a delay only moves the analysis frames against the pitch pulses (≈ 1.5–2.5 dB on buzzy flite
    # speech); a phase-vocoder stretch also smears; another voice or another sentence is far away
    assert d_delay < 3.0 and d_stretch < 7.0, (d_delay, d_stretch)
    assert d_delay < d_stretch < min(d_voice, d_text), (d_delay, d_stretch, d_voice, d_text)
    assert min(d_voice, d_text) > 7.5, (d_voice, d_text)
    # the result does not depend on the caller's sample rate
    a16 = load_audio_resampled(a, sr, 16000)
    assert mel_cepstral_distortion(a16, a16, 16000)["mcd_db"] == pytest.approx(0.0, abs=1e-6)


def load_audio_resampled(wav: np.ndarray, sr: int, target: int) -> np.ndarray:
    from tts.audio import resample

    return resample(wav, sr, target)


def test_f0_error_sees_a_pitch_shift(voices):
    import librosa

    a, sr = voices["a"]
    up = librosa.effects.pitch_shift(a, sr=sr, n_steps=2.0).astype(np.float32)
    r = mel_cepstral_distortion(a, up, sr, MCDConfig())
    assert 120 < r["f0_rmse_cents"] < 400, r  # two semitones = 200 cents (+ octave errors of DIO)


def test_pesq_stoi_only_for_aligned_signals(voices):
    a, sr = voices["a"]
    rng = np.random.default_rng(0)
    noisy = (a + 0.05 * rng.normal(size=a.shape)).astype(np.float32)
    clean = copy_synthesis_scores(a, np.concatenate([a, np.zeros(200, np.float32)]), sr)
    bad = copy_synthesis_scores(a, noisy, sr)
    assert clean["pesq_wb"] > 4.4 and clean["stoi"] > 0.99
    assert bad["pesq_wb"] < clean["pesq_wb"] - 1.5 and bad["stoi"] < clean["stoi"]
    assert copy_synthesis_scores(a, a[: len(a) // 2], sr) == {}  # not a copy: no sample-wise scores


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="mono"):
        mel_cepstral_distortion(np.zeros(0, np.float32), np.zeros(100, np.float32), 16000)
