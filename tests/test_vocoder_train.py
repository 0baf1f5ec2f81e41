"""The vocoder training stage: both phases of the step, overfitting a batch, the loop and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tts.core.config import override, to_dict
from tts.models.vocoder import load_vocoder
from tts.models.vocoder.generators import ISTFTGeneratorConfig
from tts.train.discriminators import DiscriminatorConfig
from tts.train.vocoder import VocoderDataConfig, VocoderTask, VocoderTrainConfig

TINY = VocoderTrainConfig(
    istft=ISTFTGeneratorConfig(dim=32, intermediate_dim=64, num_layers=2),
    discriminator=DiscriminatorConfig(
        periods=(2, 3), mpd_channels=(4, 8, 8), mrd_resolutions=((512, 128, 512),), mrd_channels=4
    ),
    segment_samples=2048,
)


def _pickled_globals(path: Path) -> set[str]:
    """``module.name`` of every class or function a ``torch.save`` file pickles by reference."""
    import pickletools
    import zipfile

    with zipfile.ZipFile(path) as z:
        data = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    found, strings = set(), []
    for op, arg, _ in pickletools.genops(data):
        if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
            strings.append(arg)
        elif op.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
        elif op.name == "STACK_GLOBAL":
            found.add(f"{strings[-2]}.{strings[-1]}")
    assert any(g.startswith("torch.") for g in found)  # the file was read
    return found


def _batch(speech_like_wav, n: int = 2, samples: int = 2048) -> dict[str, torch.Tensor]:
    wavs = torch.stack(
        [torch.from_numpy(speech_like_wav(0.3, seed=i)[1000 : 1000 + samples]) for i in range(n)]
    )
    return {"wavs": wavs, "wav_lengths": torch.full((n,), samples)}


def test_step_is_reconstruction_only_before_the_adversarial_start(prepared_data_dir, speech_like_wav) -> None:
    task = VocoderTask(prepared_data_dir, override(TINY, {"adversarial_start_step": 10}))
    torch.manual_seed(0)
    modules = task.build_modules()
    batch = _batch(speech_like_wav)
    early = list(task.training_step(modules, batch, step=9))
    assert [name for name, _, _ in early] == ["generator"]
    assert set(early[0][2]) == {
        "train/mel_l1",
        "train/stft_sc",
        "train/stft_mag",
        "train/amplitude",
        "train/phase",
    }
    late = list(task.training_step(modules, batch, step=10))
    assert [name for name, _, _ in late] == ["discriminator", "generator"]
    assert {"train/adversarial", "train/feature_matching"} <= set(late[1][2])
    # the GAN generator loss adds the adversarial terms to the same reconstruction loss
    assert float(late[1][1].detach()) > float(early[0][1].detach())


def test_a_few_steps_lower_the_reconstruction_loss(prepared_data_dir, speech_like_wav) -> None:
    task = VocoderTask(prepared_data_dir, override(TINY, {"adversarial_start_step": 1000}))
    torch.manual_seed(0)
    gen = task.build_modules()["generator"]
    opt = torch.optim.AdamW(gen.parameters(), lr=3e-3)
    batch = _batch(speech_like_wav)
    losses, logs = [], []
    for step in range(25):
        ((_, loss, log),) = task.training_step({"generator": gen}, batch, step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        logs.append({k: float(v) for k, v in log.items()})
    assert losses[-1] < 0.8 * losses[0], losses
    # every term moves, the magnitude ones fast
    for key, factor in (("mel_l1", 0.75), ("amplitude", 0.65), ("phase", 0.95)):
        first, last = logs[0][f"train/{key}"], logs[-1][f"train/{key}"]
        assert last < factor * first, (key, first, last)


def test_refine_iterations_make_the_losses_judge_the_refined_waveform(
    prepared_data_dir, speech_like_wav
) -> None:
    """With ``refine_iterations`` the waveform terms see the phase-refined output (what inference
    with ``phase_iterations`` plays), the spectrum terms still the head's prediction; the loss
    stays differentiable; only the iSTFT generator can be refined."""
    batch = _batch(speech_like_wav)
    logs = {}
    for k in (0, 2):
        task = VocoderTask(
            prepared_data_dir,
            override(TINY, {"adversarial_start_step": 1000, "loss": {"refine_iterations": k}}),
        )
        torch.manual_seed(0)
        gen = task.build_modules()["generator"]
        ((_, loss, log),) = task.training_step({"generator": gen}, batch, 0)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in gen.parameters())
        logs[k] = {key: float(v) for key, v in log.items()}
    assert logs[0]["train/mel_l1"] != logs[2]["train/mel_l1"]
    assert logs[0]["train/amplitude"] == logs[2]["train/amplitude"]
    with pytest.raises(ValueError, match="refine_iterations"):
        VocoderTask(
            prepared_data_dir, override(TINY, {"generator": "hifigan_v3", "loss": {"refine_iterations": 2}})
        )


def test_task_rejects_mismatched_audio_settings(prepared_data_dir) -> None:
    with pytest.raises(ValueError, match="audio settings"):
        VocoderTask(prepared_data_dir, override(TINY, {"audio": {"sample_rate": 16000}}))


def test_train_export_resume_and_warm_start(prepared_data_dir, tmp_path: Path) -> None:
    from tts.cli.train import main

    recipe = tmp_path / "vocoder.toml"
    model = to_dict(override(TINY, {"adversarial_start_step": 2}))
    del model["audio"]  # recipes leave the audio settings to the data
    recipe.write_text(
        _toml({"model": model, "data": {"val_items": 1}, "train": {"batch_size": 2, "warmup_steps": 1}})
    )
    run = tmp_path / "run"
    common = ["--data", str(prepared_data_dir), "--config", str(recipe), "--log-every", "1", "--threads", "1"]
    assert main(["vocoder", *common, "--run-dir", str(run), "--max-steps", "3", "--val-every", "3"]) == 0
    log = (run / "train.log").read_text()
    assert "loss/discriminator" in log and "val/mel_l1" in log
    if (run / "tb").is_dir():  # tensorboard installed: validation wrote audio + mel image events
        assert any(p.stat().st_size > 1000 for p in (run / "tb").iterdir())
    vocoder = load_vocoder(run / "export.safetensors")
    mel = torch.randn(1, 80, 5) - 5
    assert vocoder(mel).shape == (1, 5 * 256)
    # resume continues the same run; warm start begins a new one from the exported generator
    assert main(["vocoder", *common, "--run-dir", str(run), "--max-steps", "4", "--resume"]) == 0
    assert "resumed at step 3" in (run / "train.log").read_text()
    # configs are stored as plain dicts: no project class is pickled, so a state resumes whatever
    # module a class has moved to
    assert not [g for g in _pickled_globals(run / "checkpoints" / "last.pt") if g.split(".")[0] == "tts"]
    warm = tmp_path / "warm"
    init = ["--init-from", str(run / "export.safetensors")]
    assert main(["vocoder", *common, "--run-dir", str(warm), "--max-steps", "1", *init]) == 0
    assert "warm start from" in (warm / "train.log").read_text()


def test_validation_metric_masks_padding(prepared_data_dir, speech_like_wav) -> None:
    task = VocoderTask(prepared_data_dir, TINY, VocoderDataConfig(val_items=2))
    torch.manual_seed(0)
    gen = task.build_modules()["generator"].eval()
    one = _batch(speech_like_wav, n=1, samples=2048)
    padded = {"wavs": torch.nn.functional.pad(one["wavs"], (0, 1024)), "wav_lengths": one["wav_lengths"]}
    with torch.no_grad():
        a = task.validation_step({"generator": gen}, one)["mel_l1"]
        b = task.validation_step({"generator": gen}, padded)["mel_l1"]
    assert a == pytest.approx(b, rel=0.05)  # padded frames do not dilute the metric


def test_input_vae_feeds_the_generator_round_tripped_mels(
    prepared_data_dir, speech_like_wav, tmp_path
) -> None:
    from tiny_voice import build_tiny_voice

    vae = str(build_tiny_voice(tmp_path / "v") / "vae.safetensors")
    hop = TINY.audio.hop_length
    data = VocoderDataConfig(input_vae=vae, input_vae_context=4)
    task = VocoderTask(prepared_data_dir, override(TINY, {"adversarial_start_step": 1000}), data)
    assert task.train_dataset().segment_samples == TINY.segment_samples + 2 * 4 * hop  # context read around
    wavs = _batch(speech_like_wav, n=2, samples=TINY.segment_samples + 8 * hop)["wavs"]
    real, mel, mel_in = task._mels(wavs, train=True)
    assert real.shape == (2, TINY.segment_samples) and torch.equal(real, wavs[:, 4 * hop : -4 * hop])
    assert mel.shape == mel_in.shape == (2, TINY.audio.n_mels, TINY.segment_samples // hop)
    assert torch.equal(mel, task.mel(wavs)[..., 4:-4])  # the target is the real mel of the kept frames
    assert (mel - mel_in).abs().mean() > 1e-3  # the generator hears the VAE's version
    torch.manual_seed(0)
    modules = task.build_modules()
    ((_, loss, _),) = task.training_step(
        modules, {"wavs": wavs, "wav_lengths": torch.full((2,), wavs.shape[1])}, 0
    )
    assert torch.isfinite(loss)
    # validation: whole utterances, no context cropped, the round trip always
    real_v, mel_v, in_v = task._mels(wavs[:1], train=False)
    assert real_v.shape == wavs[:1].shape and (mel_v - in_v).abs().mean() > 1e-3
    # a fraction of 0 gives every training item the real mel
    none = VocoderTask(prepared_data_dir, TINY, VocoderDataConfig(input_vae=vae, input_vae_fraction=0.0))
    _, mel0, in0 = none._mels(wavs, train=True)
    assert torch.equal(mel0, in0)
    with pytest.raises(ValueError, match="input_vae_fraction"):
        VocoderDataConfig(input_vae=vae, input_vae_fraction=1.5)


def _toml(tables: dict) -> str:
    """A minimal TOML writer for nested tables of numbers/strings/lists (tomllib only reads)."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    lines: list[str] = []

    def table(name: str, d: dict) -> None:
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {value(v)}" for k, v in d.items() if not isinstance(v, dict) and v is not None)
        for k, v in d.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)

    for name, d in tables.items():
        table(name, d)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "recipe",
    sorted((Path(__file__).resolve().parents[1] / "recipes" / "synthetic" / "configs").glob("vocoder*.toml")),
)
def test_synthetic_vocoder_recipes_parse(recipe: Path) -> None:
    """Every vocoder recipe of the default voice builds its configs (a typo fails here, not an hour
    into a run) and keeps the shipped generator's shape, so ``--init-from`` chains them."""
    from tts.core.config import load_toml
    from tts.train.config import TrainConfig
    from tts.train.vocoder import STAGE_TABLES

    stage = load_toml(recipe)
    assert set(stage) <= set(STAGE_TABLES)
    cfg = override(VocoderTrainConfig(), stage["model"])
    override(TrainConfig(), stage["train"])
    override(VocoderDataConfig(), stage.get("data", {}))
    assert cfg.generator == "istft" and (cfg.istft.dim, cfg.istft.num_layers) == (384, 8)
