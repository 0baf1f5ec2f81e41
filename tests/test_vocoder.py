"""Vocoder building blocks: inverse STFT, generators, discriminators, losses, Griffin-Lim, files, ONNX."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tts.audio import AudioConfig, MelSpectrogram, log_mel
from tts.core.config import from_dict, override, to_dict
from tts.models.checkpoint import CheckpointError, save_weights
from tts.models.vocoder import VocoderConfig, build_generator, load_vocoder, save_vocoder
from tts.models.vocoder.generators import ISTFTGeneratorConfig
from tts.models.vocoder.griffin_lim import GriffinLim
from tts.models.vocoder.hifigan import HiFiGANConfig
from tts.models.vocoder.istft import InverseSTFT, stft
from tts.models.vocoder.load import warm_start
from tts.train.discriminators import Discriminator, DiscriminatorConfig
from tts.train.vocoder import VocoderTrainConfig
from tts.train.vocoder_losses import (
    MultiResolutionSTFTLoss,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)

HOP = 256
TINY_ISTFT = VocoderConfig(istft=ISTFTGeneratorConfig(dim=32, intermediate_dim=64, num_layers=2))
TINY_IF = VocoderConfig(
    istft=ISTFTGeneratorConfig(dim=32, intermediate_dim=64, num_layers=2, phase="instantaneous")
)
TINY_HIFIGAN = VocoderConfig(
    generator="hifigan",
    hifigan=HiFiGANConfig(
        upsample_initial_channel=32,
        upsample_rates=(8, 8, 4),
        upsample_kernel_sizes=(16, 16, 8),
        resblock="2",
        resblock_kernel_sizes=(3, 5),
        resblock_dilation_sizes=((1, 2), (2, 6)),
    ),
)
TINY_DISC = DiscriminatorConfig(
    kinds=("mpd", "mrd", "msd"),
    periods=(2, 3),
    mpd_channels=(4, 8, 8),
    mrd_resolutions=((512, 128, 512), (256, 64, 256)),
    mrd_channels=4,
    msd_scales=2,
    msd_channels=(4, 8, 16, 16),
)


def _mel(seconds: float, speech_like_wav, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    wav = torch.from_numpy(speech_like_wav(seconds, seed=seed))
    return wav, log_mel(wav).unsqueeze(0)


# ---------------------------------------------------------------------------------- inverse STFT


def test_inverse_stft_matches_torch_istft() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 40 * HOP)
    window = torch.hann_window(1024)
    spec = torch.stft(x, 1024, HOP, 1024, window, center=True, return_complex=True)
    ref = torch.istft(spec, 1024, HOP, 1024, window, center=True)
    out = InverseSTFT(1024, HOP, padding=512)(spec.real, spec.imag)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-4)


@pytest.mark.parametrize("n_samples", [40 * HOP, 40 * HOP - 100])
def test_stft_roundtrip_is_time_aligned_with_the_mel_framing(n_samples: int) -> None:
    torch.manual_seed(1)
    x = torch.randn(1, n_samples)
    spec = stft(x)
    n_frames = math.ceil(n_samples / HOP)
    assert spec.shape == (1, 513, n_frames)
    # the same frames as THE mel: identical magnitudes
    torch.testing.assert_close(spec.abs(), MelSpectrogram().magnitude(x), rtol=1e-4, atol=1e-3)
    y = InverseSTFT()(spec.real, spec.imag)
    assert y.shape == (1, n_frames * HOP)
    padded = torch.nn.functional.pad(x, (0, n_frames * HOP - n_samples))
    torch.testing.assert_close(y, padded, rtol=0, atol=1e-4)


def test_inverse_stft_rejects_bad_geometry() -> None:
    with pytest.raises(ValueError, match="win_length"):
        InverseSTFT(512, 128, win_length=1024)
    with pytest.raises(ValueError, match="gaps"):
        InverseSTFT(1024, 512, win_length=256)


def test_istft_generator_head_is_aligned_with_ground_truth_spectrum(speech_like_wav) -> None:
    """Feed the true magnitude + phase through the generator's head: the known signal comes back,
    same length, cross-correlation peak at lag 0."""
    wav, mel = _mel(0.5, speech_like_wav)
    gen = build_generator(TINY_ISTFT).eval()
    spec = stft(wav)
    gen.spectrum = lambda m: (spec.real, spec.imag)  # bypass the (untrained) network
    with torch.no_grad():
        out = gen(mel)[0]
    n = mel.shape[-1] * HOP
    assert out.shape == (n,)
    ref = torch.nn.functional.pad(wav, (0, n - wav.shape[0]))
    lags = range(-HOP, HOP + 1)
    xcorr = [float(torch.dot(out[max(0, k) : n + min(0, k)], ref[max(0, -k) : n - max(0, k)])) for k in lags]
    assert list(lags)[int(np.argmax(xcorr))] == 0
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-4)


# ---------------------------------------------------------------------------------- generators


@pytest.mark.parametrize("kind", ["istft", "hifigan_v1", "hifigan_v2", "hifigan_v3"])
def test_every_generator_returns_frames_times_hop_samples(kind: str) -> None:
    torch.manual_seed(0)
    cfg = TINY_ISTFT if kind == "istft" else VocoderConfig(generator=kind)
    gen = build_generator(cfg).eval()
    mel = torch.randn(2, 80, 7) - 5
    with torch.no_grad():
        wav = gen(mel)
        assert wav.shape == (2, 7 * HOP)
        assert torch.isfinite(wav).all()
        gen.remove_weight_norm()
        folded = gen(mel)
    torch.testing.assert_close(folded, wav, rtol=1e-4, atol=1e-5)  # folding weight norm changes nothing


def test_generator_rejects_bad_mels() -> None:
    gen = build_generator(TINY_ISTFT)
    with pytest.raises(ValueError, match=r"\(B, 80, T\)"):
        gen(torch.zeros(1, 40, 10))
    with pytest.raises(ValueError, match="empty"):
        gen(torch.zeros(1, 80, 0))


def test_vocoder_config_validates_and_round_trips() -> None:
    for cfg in (VocoderConfig(), TINY_HIFIGAN):
        assert from_dict(VocoderConfig, to_dict(cfg)) == cfg
    train = override(VocoderTrainConfig(istft=TINY_ISTFT.istft), {"discriminator": to_dict(TINY_DISC)})
    assert from_dict(VocoderTrainConfig, to_dict(train)) == train and train.model() == TINY_ISTFT
    with pytest.raises(ValueError, match="unknown vocoder generator"):
        VocoderConfig(generator="wavenet")
    with pytest.raises(ValueError, match="only used with generator = 'hifigan'"):
        VocoderConfig(hifigan=HiFiGANConfig())
    with pytest.raises(ValueError, match="multiple of the hop"):
        VocoderTrainConfig(segment_samples=8000)
    with pytest.raises(ValueError, match="multiply to"):
        build_generator(
            VocoderConfig(generator="hifigan", hifigan=HiFiGANConfig(upsample_rates=(8, 8, 2, 4)))
        )
    with pytest.raises(ValueError, match="discriminator kinds"):
        DiscriminatorConfig(kinds=("mcd",))


# ---------------------------------------------------------------------------------- discriminators + losses


def test_discriminator_judges_real_and_fake_in_one_call() -> None:
    torch.manual_seed(0)
    disc = Discriminator(TINY_DISC)
    real, fake = torch.randn(2, 4096) * 0.1, torch.randn(2, 4096) * 0.1
    rs, fs, rf, ff = disc(real, fake)
    n_branches = len(TINY_DISC.periods) + len(TINY_DISC.mrd_resolutions) + TINY_DISC.msd_scales
    assert len(rs) == len(fs) == len(rf) == len(ff) == n_branches
    for r, f in zip(rs, fs):
        assert r.shape == f.shape and r.shape[0] == 2 and r.dim() == 2
    for r_maps, f_maps in zip(rf, ff):
        assert len(r_maps) == len(f_maps) >= 3
        assert all(a.shape == b.shape and a.shape[0] == 2 for a, b in zip(r_maps, f_maps))
    # one call equals judging each batch separately (no cross-batch statistics)
    alone, _ = disc.judge(real)
    for a, r in zip(alone, rs):
        torch.testing.assert_close(a, r, rtol=1e-4, atol=1e-5)
    loss = discriminator_loss(rs, fs)
    loss.backward()
    assert all(p.grad is not None for p in disc.parameters())
    with pytest.raises(ValueError, match="must match"):
        disc(real, fake[:, :-1])


def test_gan_losses_have_the_least_squares_optimum() -> None:
    ones, zeros = [torch.ones(2, 5), torch.ones(2, 3)], [torch.zeros(2, 5), torch.zeros(2, 3)]
    assert float(discriminator_loss(ones, zeros)) == 0.0
    assert float(discriminator_loss(zeros, ones)) == pytest.approx(4.0)
    assert float(generator_adversarial_loss(ones)) == 0.0
    assert float(generator_adversarial_loss(zeros)) == pytest.approx(2.0)
    fm = [[torch.ones(2, 3), torch.zeros(2, 4)]]
    assert float(feature_matching_loss(fm, fm)) == 0.0
    shifted = [[torch.ones(2, 3) + 0.5, torch.zeros(2, 4)]]
    assert float(feature_matching_loss(fm, shifted)) == pytest.approx(0.5)


def test_multi_resolution_stft_loss(speech_like_wav) -> None:
    loss = MultiResolutionSTFTLoss(((512, 128, 512), (256, 64, 256)))
    wav = torch.from_numpy(speech_like_wav(0.3))[None]
    sc, mag = loss(wav, wav)
    assert float(sc) < 1e-3 and float(mag) < 1e-3
    sc_n, mag_n = loss(wav + 0.05 * torch.randn_like(wav), wav)
    sc_q, mag_q = loss(0.5 * wav, wav)
    assert float(sc_n) > 0.1 and float(mag_n) > 0.1
    # halving the amplitude: |S - S/2| / |S| = 0.5; log distance ln 2 except where both hit the floor
    assert float(sc_q) == pytest.approx(0.5, abs=0.01) and 0.3 < float(mag_q) <= math.log(2) + 1e-4


# ---------------------------------------------------------------------------------- Griffin-Lim


def test_griffin_lim_audio_reproduces_the_mel(speech_like_wav) -> None:
    wav, mel = _mel(0.6, speech_like_wav, seed=3)
    out = load_vocoder("griffin-lim")(mel)
    assert out.shape == (1, mel.shape[-1] * HOP)
    voiced = mel > -8  # silence carries no information for the check
    err = float((log_mel(out) - mel).abs()[voiced].mean())
    one_pass = float((log_mel(GriffinLim(n_iter=1)(mel)) - mel).abs()[voiced].mean())
    assert err < 0.25, err
    assert err < 0.8 * one_pass  # the iterations do the work
    torch.testing.assert_close(load_vocoder("griffin-lim")(mel), out)  # deterministic


# ---------------------------------------------------------------------------------- files


@pytest.mark.parametrize("cfg", [TINY_ISTFT, TINY_IF, TINY_HIFIGAN], ids=["istft", "istft-if", "hifigan"])
def test_save_load_gives_identical_audio(tmp_path: Path, cfg: VocoderConfig) -> None:
    torch.manual_seed(0)
    gen = build_generator(cfg).eval()  # HiFi-GAN still carries weight norm here
    mel = torch.randn(1, 80, 9) - 5
    path = save_vocoder(tmp_path / "v.safetensors", gen, cfg, {"step": 7})
    loaded = load_vocoder(path)
    assert not loaded.training
    with torch.no_grad():
        torch.testing.assert_close(loaded(mel), gen(mel), rtol=1e-5, atol=1e-6)
    # warm start into a fresh training generator (weight norm re-derived from the folded weights)
    fresh = build_generator(cfg).eval()
    warm_start(fresh, cfg, path)
    with torch.no_grad():
        torch.testing.assert_close(fresh(mel), gen(mel), rtol=1e-5, atol=1e-6)


def test_loading_refuses_wrong_or_broken_files(tmp_path: Path) -> None:
    bad_kind = save_weights(tmp_path / "vae.safetensors", {"w": torch.zeros(2)}, "vae", {})
    with pytest.raises(CheckpointError, match="'vae' model"):
        load_vocoder(bad_kind)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_vocoder(junk)
    with pytest.raises(CheckpointError, match="not found"):
        load_vocoder(tmp_path / "missing.safetensors")
    bad_cfg = save_weights(tmp_path / "cfg.safetensors", {"w": torch.zeros(2)}, "vocoder", {"generator": "x"})
    with pytest.raises(CheckpointError, match="invalid config"):
        load_vocoder(bad_cfg)
    wrong = save_weights(
        tmp_path / "wrong.safetensors", {"w": torch.zeros(2)}, "vocoder", to_dict(TINY_ISTFT)
    )
    with pytest.raises(CheckpointError, match="does not match"):
        load_vocoder(wrong)
    path = save_vocoder(tmp_path / "v.safetensors", build_generator(TINY_ISTFT), TINY_ISTFT)
    with pytest.raises(CheckpointError, match="istft"):
        warm_start(build_generator(TINY_HIFIGAN), TINY_HIFIGAN, path)


# ---------------------------------------------------------------------------------- ONNX


@pytest.mark.parametrize("cfg", [TINY_ISTFT, TINY_IF, TINY_HIFIGAN], ids=["istft", "istft-if", "hifigan"])
def test_onnx_export_matches_eager(tmp_path: Path, cfg: VocoderConfig) -> None:
    pytest.importorskip("onnxruntime")
    from tts.cli.train import main

    torch.manual_seed(0)
    src = save_vocoder(tmp_path / "v.safetensors", build_generator(cfg), cfg)
    out = tmp_path / "v.onnx"
    assert main(["export-onnx", "--checkpoint", str(src), "--out", str(out)]) == 0
    eager, runtime = load_vocoder(src), load_vocoder(out)
    assert runtime.audio == AudioConfig()
    mel = torch.randn(2, 80, 45) - 5  # another batch size and length than the export example
    with torch.no_grad():
        expected = eager(mel)
    got = runtime(mel)
    assert got.shape == expected.shape == (2, 45 * HOP)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-3)


def test_phase_losses_ignore_whole_turns_and_see_frame_to_frame_errors(speech_like_wav) -> None:
    """APNet's anti-wrapping phase losses: zero for the true phase shifted by whole turns, positive
    for a phase that drifts from frame to frame (the frame-rate buzz), and the amplitude term is the
    log-magnitude MSE."""
    from tts.train.vocoder_losses import amplitude_phase_losses, anti_wrap

    x = torch.tensor([0.0, 2 * math.pi, -4 * math.pi + 0.1, math.pi - 0.1])
    torch.testing.assert_close(anti_wrap(x), torch.tensor([0.0, 0.0, 0.1, math.pi - 0.1]), atol=1e-5, rtol=0)
    wav, _ = _mel(0.5, speech_like_wav)
    spec = stft(wav)
    log_mag = torch.log(spec.abs().clamp(min=1e-5))
    turns = 2 * math.pi * torch.randint(-3, 4, spec.shape).float()
    amp, phase = amplitude_phase_losses(log_mag, torch.angle(spec) + turns, spec)
    assert float(amp) < 1e-8 and float(phase) < 1e-3
    drift = torch.rand(1, 1, spec.shape[-1]) * 2 * math.pi  # a random rotation per frame
    amp2, phase2 = amplitude_phase_losses(log_mag + 0.5, torch.angle(spec) + drift, spec)
    assert float(amp2) == pytest.approx(0.25, rel=1e-4)
    assert float(phase2) > 1.0


def test_phase_floor_ignores_the_noise_floor_and_keeps_the_partials(speech_like_wav) -> None:
    """``floor_db``: scrambling the phase of bins far below their frame's peak leaves the floored
    phase loss at zero (the plain mean sees it); scrambling the loud bins still shows."""
    from tts.train.vocoder_losses import amplitude_phase_losses

    wav, _ = _mel(0.5, speech_like_wav)
    spec = stft(wav)
    log_mag = torch.log(spec.abs().clamp(min=1e-5))
    quiet = log_mag < log_mag.amax(dim=1, keepdim=True) - 40 * math.log(10) / 20
    assert 0.05 < quiet.float().mean() < 0.95
    noise = torch.rand(spec.shape, generator=torch.Generator().manual_seed(0)) * 2 * math.pi
    scrambled_quiet = torch.where(quiet, noise, torch.angle(spec))
    _, plain = amplitude_phase_losses(log_mag, scrambled_quiet, spec)
    _, floored = amplitude_phase_losses(log_mag, scrambled_quiet, spec, floor_db=40.0)
    assert float(plain) > 0.3 and float(floored) < 1e-3
    scrambled_loud = torch.where(quiet, torch.angle(spec), noise)
    _, floored_loud = amplitude_phase_losses(log_mag, scrambled_loud, spec, floor_db=40.0)
    assert float(floored_loud) > 1.0


def _steady_tone_generator(cfg: VocoderConfig, k: int) -> torch.nn.Module:
    """A generator whose head ignores the mel: magnitude 1 in bin ``k``, ~0 elsewhere, phase offset 0."""
    gen = build_generator(cfg).eval()
    with torch.no_grad():
        gen.head.weight.zero_()
        gen.head.bias.zero_()
        gen.head.bias[: gen.n_bins] = -20.0
        gen.head.bias[k] = 0.0
    return gen


def test_instantaneous_phase_turns_a_steady_spectrum_into_a_tone_not_a_frame_rate_buzz() -> None:
    """The reason for phase = "instantaneous": the same spectrum at every frame. With absolute phase
    the frames are identical, so the output repeats every hop (an 86 Hz buzz); with the integrated
    phase advance it is the bin's steady sinusoid."""
    k, n_frames = 10, 120  # 10 · 22050 / 1024 = 215 Hz, not a multiple of the 86 Hz frame rate
    mel = torch.zeros(1, 80, n_frames) - 5
    envelopes = {}
    for name, cfg in (("absolute", TINY_ISTFT), ("instantaneous", TINY_IF)):
        with torch.no_grad():
            wav = _steady_tone_generator(cfg, k)(mel)[0, 8 * HOP : -8 * HOP].numpy()
        spec = np.abs(np.fft.rfft(wav * np.hanning(len(wav))))
        freqs = np.fft.rfftfreq(len(wav), 1 / 22050)
        envelopes[name] = (np.abs(wav).reshape(-1, 32).max(axis=1), freqs[int(np.argmax(spec))])
    env, peak = envelopes["instantaneous"]
    assert abs(peak - k * 22050 / 1024) < 5.0
    assert env.std() / env.mean() < 0.05  # a constant-amplitude tone
    env_abs, _ = envelopes["absolute"]
    assert env_abs.std() / env_abs.mean() > 0.2  # amplitude-modulated at the frame rate


def test_absolute_phase_vocoder_warm_starts_an_instantaneous_one(tmp_path: Path) -> None:
    torch.manual_seed(0)
    gen = build_generator(TINY_ISTFT)
    path = save_vocoder(tmp_path / "v.safetensors", gen, TINY_ISTFT)
    fresh = build_generator(TINY_IF)
    warm_start(fresh, TINY_IF, path)
    torch.testing.assert_close(fresh.head.weight, gen.head.weight)
    assert float(fresh.advance_head.weight.abs().sum()) == 0.0
    with pytest.raises(CheckpointError, match="istft"):  # the other way round is not an upgrade
        warm_start(
            build_generator(TINY_ISTFT), TINY_ISTFT, save_vocoder(tmp_path / "i.safetensors", fresh, TINY_IF)
        )


def test_istft_context_frames_cover_the_receptive_field() -> None:
    """Vocoding a window with ``context_frames`` of mel on each side gives the whole-mel samples of
    the window's own frames (what streaming relies on); one frame less of context does not."""
    from tts.audio import AudioConfig
    from tts.models.vocoder.generators import ISTFTGenerator, ISTFTGeneratorConfig

    torch.manual_seed(0)
    cfg = ISTFTGeneratorConfig(dim=16, intermediate_dim=32, num_layers=3, kernel_size=5)
    voc = ISTFTGenerator(cfg, AudioConfig()).eval()
    for p in voc.parameters():  # random weights everywhere, so every tap matters
        torch.nn.init.normal_(p, std=0.3)
    assert voc.context_frames == (3 + 1) * 2 + 1024 // 512 + 1
    hop, mel = voc.audio.hop_length, torch.randn(1, 80, 80) - 4
    s, e = 30, 50
    with torch.inference_mode():
        whole = voc(mel)[0, s * hop : e * hop]

        def window(x: int) -> torch.Tensor:
            out = voc(mel[..., s - x : e + x])[0]
            return out[x * hop : (x + e - s) * hop]

        assert torch.allclose(window(voc.context_frames), whole, atol=1e-5)
        assert not torch.allclose(window(voc.context_frames - 4), whole, atol=1e-5)


def test_vocoder_files_keep_the_network_not_the_training(tmp_path: Path) -> None:
    """A vocoder file stores the network's config only; files from before the model/training
    split (training settings stored with the model, like the shipped voice's) still load."""
    from tts.models.checkpoint import load_weights, save_weights

    train_cfg = VocoderTrainConfig(istft=TINY_ISTFT.istft, segment_samples=2048)
    gen = build_generator(train_cfg)
    path = save_vocoder(tmp_path / "v.safetensors", gen, train_cfg)
    tensors, config, meta = load_weights(path, kind="vocoder")
    assert set(config) == {"generator", "istft", "hifigan", "audio"}
    old = save_weights(tmp_path / "old.safetensors", tensors, "vocoder", to_dict(train_cfg), meta)
    mel = torch.randn(1, 80, 12) - 5.0
    with torch.no_grad():
        torch.testing.assert_close(load_vocoder(old)(mel), load_vocoder(path)(mel))
