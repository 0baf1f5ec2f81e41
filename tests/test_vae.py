"""Mel VAE: shapes, masking, latent scale, overfitting, export/load, the vae and latents stages."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tts.models.checkpoint import CheckpointError, load_weights, save_weights
from tts.models.vae.mel_vae import MelVAE, MelVAEConfig, load_vae, vae_loss

TINY = {"hidden_channels": 24, "encoder_blocks": 1, "decoder_blocks": 1, "latent_channels": 4}


def tiny(**kw) -> MelVAE:
    torch.manual_seed(0)
    vae = MelVAE(MelVAEConfig(**{**TINY, **kw})).eval()
    vae.set_mel_stats(torch.linspace(-8, -3, 80), torch.linspace(1.5, 2.5, 80))
    return vae


def random_mels(
    lengths: list[int], pad_value: float = 0.0, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t = max(lengths)
    mels = torch.full((len(lengths), 80, t), pad_value)
    for i, n in enumerate(lengths):
        mels[i, :, :n] = -5.0 + 2.0 * torch.randn(80, n, generator=g)
    return mels, torch.tensor(lengths)


# ------------------------------------------------------------------------------------ model


@pytest.mark.parametrize("r", [1, 2, 4])
def test_shapes_and_lengths_with_odd_lengths(r: int) -> None:
    vae = tiny(downsample=r)
    mels, lengths = random_mels([1, 7, 33])
    z, z_len = vae.encode(mels, lengths)
    assert z.shape == (3, 4, math.ceil(33 / r))
    assert z_len.tolist() == [math.ceil(n / r) for n in (1, 7, 33)]
    assert torch.all(z[1, :, z_len[1] :] == 0)  # beyond an item's latent length: zeros
    mel, mel_len = vae.decode(z, z_len)
    assert mel.shape == (3, 80, z.shape[-1] * r)
    assert mel_len.tolist() == (z_len * r).tolist()
    recon, mean, logvar = vae(mels, lengths)
    assert recon.shape == mels.shape and mean.shape == logvar.shape == z.shape
    assert torch.all(recon[0, :, 1:] == 0)  # training output masked to the mel length


def test_padding_does_not_change_valid_outputs() -> None:
    vae = tiny(downsample=4)
    lengths = [29, 50, 13]
    mels, lens = random_mels(lengths, pad_value=100.0)  # loud garbage in the padding
    z, z_len = vae.encode(mels, lens)
    dec, _ = vae.decode(z, z_len)
    recon, _, _ = vae(mels, lens)
    for i, n in enumerate(lengths):
        zi, zl = vae.encode(mels[i : i + 1, :, :n], lens[i : i + 1])
        torch.testing.assert_close(z[i : i + 1, :, : zl[0]], zi, atol=1e-5, rtol=1e-5)
        di, dl = vae.decode(zi, zl)
        torch.testing.assert_close(dec[i : i + 1, :, : dl[0]], di, atol=1e-5, rtol=1e-5)
        ri, _, _ = vae(mels[i : i + 1, :, :n], lens[i : i + 1])
        torch.testing.assert_close(recon[i : i + 1, :, :n], ri, atol=1e-5, rtol=1e-5)


def test_latent_scale_applied_consistently() -> None:
    vae = tiny()
    mels, lens = random_mels([40, 31])
    mean, _, _ = vae.posterior(mels, lens)
    dec1, _ = vae.decode(*vae.encode(mels, lens))
    scale = vae.estimate_latent_scale([(mels, lens)])
    vae.set_latent_scale(scale)
    z, z_len = vae.encode(mels, lens)
    torch.testing.assert_close(z, mean * scale)
    valid = torch.cat([z[i, :, : z_len[i]].flatten() for i in range(2)])
    assert abs(float(valid.detach().std(unbiased=False)) - 1.0) < 1e-4  # unit variance on the measured data
    dec2, _ = vae.decode(z, z_len)
    torch.testing.assert_close(dec1, dec2, atol=1e-5, rtol=1e-5)  # decode undoes the scale
    with pytest.raises(ValueError, match="latent_scale"):
        vae.set_latent_scale(0.0)


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="power of two"):
        MelVAEConfig(downsample=3)
    with pytest.raises(ValueError, match="odd"):
        MelVAEConfig(kernel_size=4)
    vae = tiny()
    with pytest.raises(ValueError, match=r"shape \(B, 80"):
        vae.encode(torch.zeros(2, 60, 10))
    with pytest.raises(ValueError, match="lengths must lie"):
        vae.encode(torch.zeros(2, 80, 10), torch.tensor([10, 11]))
    with pytest.raises(ValueError, match=r"shape \(B, 4"):
        vae.decode(torch.zeros(1, 3, 5))
    with pytest.raises(ValueError, match="std > 0"):
        vae.set_mel_stats(torch.zeros(80), torch.zeros(80))


def test_tiny_vae_overfits_one_batch(speech_like_wav) -> None:
    from tts.audio import log_mel

    mels = torch.stack([log_mel(speech_like_wav(0.75, seed=s))[:, :64] for s in range(4)])
    lens = torch.tensor([64, 64, 50, 37])
    torch.manual_seed(0)
    vae = MelVAE(MelVAEConfig(**TINY))
    vae.set_mel_stats(mels.mean(dim=(0, 2)), mels.std(dim=(0, 2)) + 1e-3)
    opt = torch.optim.AdamW(vae.parameters(), lr=3e-3)
    losses = []
    for _ in range(100):
        recon, mean, logvar = vae(mels, lens)
        out = vae_loss(vae.cfg, recon, mels, mean, logvar, vae.mel_std, lens)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["recon_l1"].detach()))
    assert losses[-1] < losses[0] / 4, losses[::20]  # measured: 0.89 → 0.17 (÷5.2)


# ------------------------------------------------------------------------------- stage / files


def tiny_task(data_dir: Path, **model):
    from tts.train.vae import VAEDataConfig, VAETask

    return VAETask(data_dir, MelVAEConfig(**{**TINY, **model}), VAEDataConfig(segment_frames=32))


def test_training_step_validation_and_crop(prepared_data_dir: Path) -> None:
    from tts.data.collate import collate_tts

    task = tiny_task(prepared_data_dir)
    torch.manual_seed(0)
    modules = task.build_modules()
    assert torch.allclose(modules["vae"].mel_mean, task.manifest.mel_mean)
    ds = task.train_dataset()
    batch = collate_tts([ds[i] for i in range(len(ds))])
    ((name, loss, logs),) = list(task.training_step(modules, batch, 0))
    assert name == "vae" and loss.requires_grad and loss.ndim == 0
    assert {"train/recon_l1", "train/kl", "train/recon_l1_logmel"} <= set(logs)
    val = task.validation_step(modules, batch)
    assert val["recon_l1_logmel"] > 0 and math.isfinite(val["kl"])

    class Writer:
        images: list = []

        def add_image(self, tag, img, step, dataformats):
            self.images.append((tag, tuple(img.shape), dataformats))

    task.log_media(Writer(), modules, batch, 1)
    assert Writer.images[0] == ("vae/mel_0", (160, int(batch["mel_lengths"][0])), "HW")


def test_export_load_identical_and_mismatch_errors(prepared_data_dir: Path, tmp_path: Path) -> None:
    task = tiny_task(prepared_data_dir, downsample=4)
    modules = task.build_modules()
    path = tmp_path / "vae.safetensors"
    task.export(modules, str(path), step=7)
    _, config, meta = load_weights(path, "vae")
    assert meta["step"] == 7 and meta["latent_scale"] > 0 and config["downsample"] == 4
    loaded = load_vae(path)
    assert not any(p.requires_grad for p in loaded.parameters()) and not loaded.training
    vae = modules["vae"].eval()
    vae.set_latent_scale(meta["latent_scale"])
    mels, lens = random_mels([45, 30])
    z, zl = vae.encode(mels, lens)
    z2, zl2 = loaded.encode(mels, lens)
    assert torch.equal(z, z2) and torch.equal(zl, zl2)
    assert torch.equal(vae.decode(z, zl)[0], loaded.decode(z, zl)[0])

    task.load_pretrained(task.build_modules(), str(path))  # same architecture: fine
    with pytest.raises(CheckpointError, match="architecture"):
        tiny_task(prepared_data_dir, downsample=2).load_pretrained(task.build_modules(), str(path))
    bad = tmp_path / "bad.safetensors"
    tensors, config, meta = load_weights(path)
    save_weights(bad, tensors, "vae", {**config, "hidden_channels": 8}, meta)
    with pytest.raises(CheckpointError, match="do not fit"):
        load_vae(bad)
    save_weights(bad, tensors, "vocoder", config, meta)
    with pytest.raises(CheckpointError, match="expected 'vae'"):
        load_vae(bad)


def test_cli_trains_then_caches_latents_incrementally(prepared_data_dir: Path, tmp_path: Path) -> None:
    from tts.cli.train import main
    from tts.data.manifest import load_manifest
    from tts.train.latents import check_latent_cache

    data = tmp_path / "data"
    shutil.copytree(prepared_data_dir, data)
    cfg = tmp_path / "vae.toml"
    cfg.write_text(
        "[model]\nhidden_channels = 16\nencoder_blocks = 1\ndecoder_blocks = 1\nlatent_channels = 3\n"
        "[data]\nsegment_frames = 24\nscale_utterances = 4\n"
        "[train]\nbatch_size = 2\nwarmup_steps = 1\nlog_every = 2\nval_every = 3\nckpt_every = 3\n"
    )
    run = tmp_path / "run"
    assert (
        main(["vae", "--data", str(data), "--run-dir", str(run), "--config", str(cfg), "--max-steps", "3"])
        == 0
    )
    vae_path = run / "export.safetensors"
    vae = load_vae(vae_path)
    assert vae.cfg.latent_channels == 3 and float(vae.latent_scale) != 1.0

    assert main(["latents", "--data", str(data), "--vae", str(vae_path), "--device", "cpu"]) == 0
    manifest = load_manifest(data)
    rows = manifest.rows("train") + manifest.rows("val")
    info = check_latent_cache(data, vae_path)
    assert info["count"] == len(rows) and info["latent_channels"] == 3 and info["downsample"] == 2
    assert info["latent_scale"] == pytest.approx(float(vae.latent_scale))
    for row in rows:
        lat = np.load(data / "latents" / f"{row['id']}.npy")
        assert lat.dtype == np.float32 and lat.shape == (3, math.ceil(row["n_frames"] / 2))
    row = rows[0]  # a batched cache entry equals encoding that utterance alone
    mel = torch.from_numpy(np.load(data / row["mel"]))[None]
    z, _ = vae.encode(mel)
    np.testing.assert_allclose(np.load(data / "latents" / f"{row['id']}.npy"), z[0].numpy(), atol=1e-5)

    from tts.train.latents import cache_latents

    again = cache_latents(data, vae_path)
    assert again["encoded"] == 0 and again["kept"] == len(rows)
    (data / "latents" / f"{row['id']}.npy").unlink()
    np.save(data / "latents" / f"{rows[1]['id']}.npy", np.zeros((3, 1), np.float32))  # malformed
    assert cache_latents(data, vae_path)["encoded"] == 2

    other = tmp_path / "other.safetensors"  # another VAE file: the whole cache is stale
    tensors, config, meta = load_weights(vae_path)
    save_weights(other, {**tensors, "latent_scale": torch.tensor(2.0)}, "vae", config, meta)
    with pytest.raises(ValueError, match="another VAE"):
        check_latent_cache(data, other)
    assert cache_latents(data, other)["encoded"] == len(rows)
    assert json.loads((data / "latents" / "info.json").read_text())["latent_scale"] == 2.0


def test_decoder_only_fine_tuning_keeps_the_latent_space(prepared_data_dir: Path, tmp_path: Path) -> None:
    """``--decoder-only``: the encoder (so every latent) is bit-identical after training, the decoder
    moved, the latent scale is the original's and the export names the original file's hash."""
    from tts.cli.train import main
    from tts.core.files import file_sha256

    cfg = tmp_path / "vae.toml"
    cfg.write_text(
        "[model]\nhidden_channels = 16\nencoder_blocks = 1\ndecoder_blocks = 1\nlatent_channels = 3\n"
        "[data]\nsegment_frames = 24\nscale_utterances = 4\n"
        "[train]\nbatch_size = 2\nwarmup_steps = 1\nlog_every = 2\nval_every = 100\nckpt_every = 100\n"
        "lr = 3e-3\n"
    )
    common = ["vae", "--data", str(prepared_data_dir), "--config", str(cfg), "--max-steps", "4"]
    assert main([*common, "--run-dir", str(tmp_path / "a")]) == 0
    first = tmp_path / "a" / "export.safetensors"
    with pytest.raises(ValueError, match="--init-from"):
        main([*common, "--run-dir", str(tmp_path / "x"), "--decoder-only"])
    assert main([*common, "--run-dir", str(tmp_path / "b"), "--init-from", str(first), "--decoder-only"]) == 0
    second = tmp_path / "b" / "export.safetensors"
    (t1, _, m1), (t2, _, m2) = load_weights(first), load_weights(second)
    encoder = [k for k in t1 if k.startswith("encoder.")]
    decoder = [k for k in t1 if k.startswith("decoder.")]
    assert encoder and decoder
    assert all(torch.equal(t1[k], t2[k]) for k in encoder)
    assert any(not torch.equal(t1[k], t2[k]) for k in decoder)
    assert m2["latent_scale"] == m1["latent_scale"]
    assert m2["latent_space_sha256"] == file_sha256(first)
    # a second decoder-only round keeps naming the first file's latent space
    assert (
        main([*common, "--run-dir", str(tmp_path / "c"), "--init-from", str(second), "--decoder-only"]) == 0
    )
    _, _, m3 = load_weights(tmp_path / "c" / "export.safetensors")
    assert m3["latent_space_sha256"] == file_sha256(first)
