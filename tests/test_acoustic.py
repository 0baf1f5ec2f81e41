"""The acoustic model (encoder + MAS + durations + flow-matching decoder) and its training stage."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from tts.core.config import load_toml, to_dict
from tts.models.acoustic import AcousticConfig, AcousticModel, load_acoustic
from tts.models.checkpoint import CheckpointError, save_weights
from tts.models.diffusion import DenoiserConfig, FlowConfig
from tts.models.encoder import DurationConfig, TextEncoderConfig

TINY_PARTS = {
    "speaker_dim": 8,
    "encoder": TextEncoderConfig(dim=32, n_layers=1, n_heads=2, ffn_dim=64, prenet_layers=1, dropout=0.0),
    "duration": DurationConfig(channels=32, dropout=0.0),
    "decoder": DenoiserConfig(channels=(16, 32), emb_dim=16, blocks_per_level=1, mid_blocks=1),
}


def tiny(n_symbols: int = 12, n_speakers: int = 1, latent_channels: int = 4, **kw) -> AcousticConfig:
    return AcousticConfig(
        n_symbols=n_symbols, n_speakers=n_speakers, latent_channels=latent_channels, **{**TINY_PARTS, **kw}
    )


def synthetic_batch(n_utts: int, n_symbols: int = 12, channels: int = 4, seed: int = 0):
    """Utterances whose latent frames are per-symbol mean vectors (+ small noise), each repeated for
    a known duration of 1-4 frames, so the true alignment is known. No symbol repeats back to back
    (two equal neighbours would make the boundary between them ambiguous)."""
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(n_symbols, channels, generator=g) * 1.5
    seqs, durs = [], []
    for _ in range(n_utts):
        n = int(torch.randint(6, 10, (1,), generator=g))
        seq = [int(torch.randint(1, n_symbols, (1,), generator=g))]
        while len(seq) < n:
            c = int(torch.randint(1, n_symbols, (1,), generator=g))
            if c != seq[-1]:
                seq.append(c)
        seqs.append(torch.tensor(seq))
        durs.append(torch.randint(1, 5, (n,), generator=g))
    token_lengths = torch.tensor([len(s) for s in seqs])
    latent_lengths = torch.tensor([int(d.sum()) for d in durs])
    tokens = torch.zeros(n_utts, int(token_lengths.max()), dtype=torch.long)
    durations = torch.zeros_like(tokens)
    latents = torch.zeros(n_utts, channels, int(latent_lengths.max()))
    for b, (seq, d) in enumerate(zip(seqs, durs)):
        tokens[b, : len(seq)], durations[b, : len(seq)] = seq, d
        z = table[seq].repeat_interleave(d, dim=0).T
        latents[b, :, : z.shape[1]] = z + 0.1 * torch.randn(z.shape, generator=g)
    return tokens, token_lengths, latents, latent_lengths, durations


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="sampler"):
        AcousticConfig(sampler="ddim")
    with pytest.raises(ValueError, match="n_speakers"):
        AcousticConfig(n_speakers=0)


def test_forward_losses_and_alignment() -> None:
    torch.manual_seed(0)
    model = AcousticModel(tiny(n_speakers=3))
    tokens, tl, latents, ll, _ = synthetic_batch(3)
    out = model(tokens, tl, latents, ll, torch.tensor([0, 2, 1]))
    for key in ("loss", "prior_loss", "duration_loss", "diffusion_loss"):
        assert out[key].dim() == 0 and torch.isfinite(out[key])
    torch.testing.assert_close(out["loss"], out["prior_loss"] + out["duration_loss"] + out["diffusion_loss"])
    assert out["attn"].shape == (3, tokens.shape[1], latents.shape[2])
    assert torch.equal(out["durations"].sum(1), ll) and torch.all(out["durations"][tokens > 0] >= 1)
    assert out["mu_expanded"].shape == latents.shape
    out["loss"].backward()
    assert all(p.grad is not None for p in model.parameters()), "every parameter is trained"
    with pytest.raises(ValueError, match="speaker ids"):
        model(tokens, tl, latents, ll, torch.tensor([0, 3, 1]))
    with pytest.raises(ValueError, match="latents must be"):
        model(tokens, tl, latents[:, :3], ll, torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="token ids"):
        model(tokens + 20, tl, latents, ll, torch.tensor([0, 1, 1]))


def test_synthesize_is_seeded_and_respects_options() -> None:
    torch.manual_seed(0)
    model = AcousticModel(tiny(n_speakers=2)).eval()
    tokens, tl, *_ = synthetic_batch(2)
    spk = torch.tensor([0, 1])

    def run(seed: int | None = 0, **kw):
        gen = None if seed is None else torch.Generator().manual_seed(seed)
        return model.synthesize(tokens, tl, spk, generator=gen, **kw)

    a, b, c = run(0), run(0), run(1)
    assert torch.equal(a["latents"], b["latents"]) and not torch.allclose(a["latents"], c["latents"])
    assert a["latents"].shape == (2, 4, int(a["latent_lengths"].max()))
    assert torch.equal(a["latent_lengths"], a["durations"].sum(1))
    assert torch.all(a["durations"][tokens > 0] >= 1) and torch.all(a["durations"][tokens == 0] == 0)
    short = int(a["latent_lengths"].argmin())
    assert torch.all(a["latents"][short, :, int(a["latent_lengths"][short]) :] == 0)
    # Temperature 0 starts from the zero vector: the seed no longer matters.
    assert torch.equal(run(0, temperature=0.0)["latents"], run(1, temperature=0.0)["latents"])
    assert torch.all(run(0, length_scale=2.0)["latent_lengths"] >= 2 * a["latent_lengths"] - tl)
    for sampler in ("euler", "heun", "dpmpp2m"):
        out = run(3, sampler=sampler, steps=2, guidance=1.5)
        assert torch.isfinite(out["latents"]).all()
    forced = torch.full_like(tokens, 2) * (tokens > 0)
    assert torch.equal(run(0, durations=forced)["latent_lengths"], 2 * tl)


def test_export_load_roundtrip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = AcousticModel(tiny(n_speakers=2)).eval()
    with torch.no_grad():
        for p in model.decoder.net.conv_out.parameters():  # make the decoder's output non-trivial
            p.normal_(0, 0.1)
    meta = {"tokenizer": {"symbols": ["_", "a"]}, "speakers": ["x", "y"], "add_blank": True, "step": 7}
    path = save_weights(
        tmp_path / "acoustic.safetensors", model.state_dict(), "acoustic", to_dict(model.cfg), meta
    )
    loaded, loaded_meta = load_acoustic(path)
    assert loaded_meta == meta and loaded.cfg == model.cfg and not loaded.training
    tokens, tl, *_ = synthetic_batch(2)
    args = (tokens, tl, torch.tensor([1, 0]))
    a = model.synthesize(*args, generator=torch.Generator().manual_seed(4))
    b = loaded.synthesize(*args, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a["latents"], b["latents"]) and torch.equal(a["durations"], b["durations"])
    save_weights(tmp_path / "vae.safetensors", {}, "vae", {})
    with pytest.raises(CheckpointError, match="expected 'acoustic'"):
        load_acoustic(tmp_path / "vae.safetensors")
    cfg = to_dict(model.cfg)
    cfg["decoder"]["channels"] = [16, 48]
    save_weights(tmp_path / "bad.safetensors", model.state_dict(), "acoustic", cfg)
    with pytest.raises(CheckpointError, match="do not match"):
        load_acoustic(tmp_path / "bad.safetensors")


def test_tiny_model_overfits_and_finds_the_true_alignment() -> None:
    """Per-symbol latent means with known durations: MAS + prior loss must recover the planted
    alignment, the duration predictor the durations, the decoder the latents."""
    torch.manual_seed(0)
    tokens, tl, latents, ll, true = synthetic_batch(16)
    model = AcousticModel(
        tiny(
            duration=DurationConfig(channels=32, dropout=0.0, rounding="round"),
            flow=FlowConfig(cfg_dropout=0.0),
        )
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)  # fast mu updates lock MAS on quickly
    losses = []
    for step in range(150):
        out = model(tokens, tl, latents, ll, generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        losses.append(float(out["loss"].detach()))
    valid = tokens > 0
    assert np.mean(losses[-10:]) < losses[0] / 3.5, losses[::10]
    # Prior NLL floor with 0.1 noise: 0.5 log(2 pi) + 0.5 * 0.01 = 0.924.
    assert float(out["prior_loss"]) < 0.95
    mas = out["durations"]
    assert float((mas == true)[valid].float().mean()) >= 0.9
    assert float((mas - true).abs()[valid].float().mean()) <= 0.2
    model.eval()
    syn = model.synthesize(tokens, tl, generator=torch.Generator().manual_seed(0))
    assert float((syn["durations"] - true).abs()[valid].float().mean()) <= 0.3
    syn = model.synthesize(tokens, tl, durations=true, generator=torch.Generator().manual_seed(0))
    mse = float(((syn["latents"] - latents) ** 2).sum() / (ll.sum() * latents.shape[1]))
    variance = float((latents**2).sum() / (ll.sum() * latents.shape[1]))
    assert mse < 0.1 * variance


# ------------------------------------------------------------------------ training stage (tts-train)


@pytest.fixture
def latent_data_dir(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A prepared data folder (conftest) plus a cache of random 4-channel latents at the mel frame
    rate, as if made by ``tts-train latents`` with the tiny VAE in ``tmp_path/vae.safetensors``."""
    try:
        from tts.text import Tokenizer  # noqa: F401
    except ImportError:
        pytest.skip("the text frontend (tts.text) is not available")
    from tts.core.files import file_sha256
    from tts.models.vae.mel_vae import MelVAE, MelVAEConfig, vae_tensors

    vae_cfg = MelVAEConfig(
        latent_channels=4, downsample=1, hidden_channels=8, encoder_blocks=0, decoder_blocks=0
    )
    vae = save_weights(tmp_path / "vae.safetensors", vae_tensors(MelVAE(vae_cfg)), "vae", to_dict(vae_cfg))
    data = tmp_path / "data"
    shutil.copytree(request.getfixturevalue("prepared_data_dir"), data)
    (data / "latents").mkdir()
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for line in (data / f"{split}.jsonl").read_text().splitlines():
            row = json.loads(line)
            lat = rng.standard_normal((4, row["n_frames"])).astype(np.float32)
            np.save(data / "latents" / f"{row['id']}.npy", lat)
    info = {"complete": True, "latent_channels": 4, "downsample": 1, "vae_sha256": file_sha256(vae)}
    (data / "latents" / "info.json").write_text(json.dumps(info))
    return data


TINY_TOML = """
[model]
speaker_dim = 8
encoder = {dim = 32, n_layers = 1, n_heads = 2, ffn_dim = 64, prenet_layers = 1}
duration = {channels = 32}
decoder = {channels = [16, 32], emb_dim = 16, blocks_per_level = 1, mid_blocks = 1}

[data]
max_frames = 400
add_blank = false  # the fixture's clips are short: with blanks some have more tokens than frames

[train]
log_every = 1
val_every = 2
ckpt_every = 2
warmup_steps = 1
"""


def test_tts_train_acoustic_end_to_end(latent_data_dir: Path, tmp_path: Path) -> None:
    from tts.cli.train import main
    from tts.core.files import file_sha256
    from tts.data.manifest import load_manifest
    from tts.train.acoustic import AcousticTask

    cfg = tmp_path / "acoustic.toml"
    cfg.write_text(TINY_TOML)
    vae = tmp_path / "vae.safetensors"  # made by the fixture; its hash is in latents/info.json
    run = tmp_path / "run"
    common = ["--data", str(latent_data_dir), "--config", str(cfg), "--device", "cpu", "--threads", "1"]
    assert main(["acoustic", *common, "--run-dir", str(run), "--max-steps", "2", "--vae", str(vae)]) == 0
    model, meta = load_acoustic(run / "export.safetensors")
    assert meta["vae_sha256"] == file_sha256(vae)
    assert any(p.name.startswith("events") for p in (run / "tb").iterdir())  # media written with the VAE
    manifest = load_manifest(latent_data_dir)
    assert meta["tokenizer"] == manifest.tokenizer.to_dict() == meta["symbols"]
    assert meta["speakers"] == manifest.speakers and meta["add_blank"] is False and meta["step"] == 2
    assert model.cfg.n_symbols == len(manifest.tokenizer) and model.cfg.latent_channels == 4
    assert model.cfg.n_speakers == max(1, len(manifest.speakers))
    assert "val/duration_mae_frames" in (run / "train.log").read_text()  # validation ran
    # Warm start from the export: a fresh run begins from the same weights.
    task = AcousticTask(latent_data_dir, load_toml(cfg)["model"])
    modules = task.build_modules()
    task.load_pretrained(modules, str(run / "export.safetensors"))
    for (name, a), b in zip(modules["acoustic"].state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(ValueError, match="disagree with the data"):
        AcousticTask(latent_data_dir, {"latent_channels": 8})
    info = latent_data_dir / "latents" / "info.json"
    info.write_text(json.dumps({**json.loads(info.read_text()), "vae_sha256": "0" * 64}))
    with pytest.raises(ValueError, match="made with another VAE"):
        AcousticTask(latent_data_dir, vae=vae)
    # ... and a warm start from weights trained on another VAE's latents is refused
    other = AcousticTask(latent_data_dir, load_toml(cfg)["model"])
    with pytest.raises(CheckpointError, match="latents of another VAE"):
        other.load_pretrained(other.build_modules(), str(run / "export.safetensors"))
    # unless asked for (after a VAE fine-tune): then the weights carry over as they are
    across = AcousticTask(latent_data_dir, load_toml(cfg)["model"], init_across_vaes=True)
    moved = across.build_modules()
    across.load_pretrained(moved, str(run / "export.safetensors"))
    for (name, a), b in zip(moved["acoustic"].state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    assert math.isfinite(float(next(task.training_step(modules, _first_batch(task), 0))[1].detach()))


def _first_batch(task):
    ds = task.train_dataset()
    return task.collate_fn()([ds[i] for i in range(min(2, len(ds)))])
