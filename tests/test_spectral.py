"""numpy STFT / inverse STFT and phase refinement (``tts.core.spectral``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tts.core.spectral import istft, refine_phase, stft
from tts.models.vocoder.istft import InverseSTFT
from tts.models.vocoder.istft import stft as torch_stft


def test_numpy_stft_and_inverse_match_the_torch_ones() -> None:
    x = np.random.default_rng(0).normal(size=(2, 256 * 40 + 17)).astype(np.float32)
    spec = stft(x)
    ref = torch_stft(torch.from_numpy(x)).numpy()
    assert spec.shape == ref.shape == (2, 513, 41) and spec.dtype == np.complex64
    assert np.abs(spec - ref).max() < 1e-4
    y = istft(spec)
    y_ref = InverseSTFT()(torch.from_numpy(spec.real.copy()), torch.from_numpy(spec.imag.copy())).numpy()
    assert y.shape == (2, 41 * 256) and np.abs(y - y_ref).max() < 1e-5
    assert np.abs(y[:, : x.shape[1]] - x).max() < 1e-5  # a consistent spectrogram comes back exactly


def test_refine_phase_makes_a_random_phase_consistent() -> None:
    """Fast Griffin-Lim from a bad phase: the spectrogram of the result moves towards the target
    magnitude with every iteration; zero iterations is the plain inverse STFT."""
    rng = np.random.default_rng(1)
    t = np.arange(256 * 60) / 22050
    x = (np.sin(2 * np.pi * 220 * t) + 0.5 * np.sin(2 * np.pi * 660 * t)).astype(np.float32)[None]
    spec = stft(x)
    log_mag = np.log(np.abs(spec) + 1e-5)
    start = rng.uniform(-np.pi, np.pi, spec.shape).astype(np.float32)
    np.testing.assert_allclose(
        refine_phase(log_mag, start, 0), istft(np.exp(log_mag) * np.exp(1j * start)), atol=1e-5
    )
    errors = []
    for k in (0, 2, 8):
        y = refine_phase(log_mag, start, k)
        errors.append(np.abs(np.abs(stft(y)) - np.exp(log_mag)).mean())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.5 * errors[0]
    with pytest.raises(ValueError, match="iterations"):
        refine_phase(log_mag, start, -1)


def test_torch_refinement_matches_numpy_and_carries_gradient() -> None:
    """``tts.models.vocoder.istft.refine_phase`` (training) = ``tts.core.spectral.refine_phase``
    (inference), and gradient reaches the predicted magnitude and phase through the iterations."""
    from tts.models.vocoder.istft import refine_phase as torch_refine

    rng = np.random.default_rng(2)
    log_mag = rng.normal(-2.0, 1.0, (2, 513, 30)).astype(np.float32)
    phase = rng.uniform(-np.pi, np.pi, log_mag.shape).astype(np.float32)
    lm, ph = torch.tensor(log_mag, requires_grad=True), torch.tensor(phase, requires_grad=True)
    for k in (0, 2):
        y = torch_refine(lm, ph, k, InverseSTFT())
        ref = refine_phase(log_mag, phase, k)
        assert y.shape == ref.shape == (2, 30 * 256)
        assert np.abs(y.detach().numpy() - ref).max() < 1e-4 * np.abs(ref).max()
    y.square().sum().backward()
    assert torch.isfinite(lm.grad).all() and lm.grad.abs().sum() > 0
    assert torch.isfinite(ph.grad).all() and ph.grad.abs().sum() > 0


def test_refinement_split_over_threads_equals_one_stretch() -> None:
    """``workers`` threads refine stretches with enough context that the seams do not show."""
    rng = np.random.default_rng(3)
    log_mag = rng.normal(-3.0, 1.0, (1, 513, 300)).astype(np.float32)
    phase = rng.uniform(-np.pi, np.pi, log_mag.shape).astype(np.float32)
    for k in (1, 6):
        one = refine_phase(log_mag, phase, k, workers=1)
        for w in (2, 3):
            assert np.abs(refine_phase(log_mag, phase, k, workers=w) - one).max() <= 1e-6 * np.abs(one).max()
    short = log_mag[..., :40]  # under four contexts: one stretch
    np.testing.assert_array_equal(
        refine_phase(short, phase[..., :40], 6, workers=2), refine_phase(short, phase[..., :40], 6, workers=1)
    )


def test_fft_import_in_background_is_idempotent() -> None:
    """``tts-synth`` starts scipy's FFT import on a daemon thread before loading the voice; a second
    call starts nothing, and once it is imported the call is a no-op."""
    import subprocess
    import sys

    code = (
        "import sys, tts.core.spectral as s; assert 'scipy.fft' not in sys.modules; "
        "s.import_fft_in_background(); t = s._PRELOAD; s.import_fft_in_background(); "
        "assert s._PRELOAD is t and t.daemon; t.join(60); assert 'scipy.fft' in sys.modules"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
