"""The shared training loop on tiny deterministic tasks (CPU, single process)."""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from tts.models import checkpoint
from tts.models.checkpoint import CheckpointError, load_state, load_weights, save_weights
from tts.train.config import TrainConfig, add_train_arguments, load_stage_config, train_config_from_args
from tts.train.ema import EMA
from tts.train.loop import train
from tts.train.schedule import lr_factor
from tts.train.task import TrainTask

# ----------------------------------------------------------------------------------- toy tasks


class ToyDataset(Dataset):
    """y = x·w + 0.5 with fixed x; optional per-item noise drawn from the global RNG."""

    def __init__(self, n: int, seed: int = 0, noise: float = 0.0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x @ torch.tensor([0.5, -1.0, 0.25, 1.0]) + 0.5
        self.noise = noise

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        x = self.x[i]
        if self.noise:
            x = x + self.noise * torch.randn(4)
        return {"x": x, "y": self.y[i]}


class ToyTask(TrainTask):
    """Tiny MLP regression; records every training loss; can signal itself at a given step."""

    name = "toy"

    def __init__(
        self,
        n: int = 24,
        dropout: float = 0.0,
        noise: float = 0.0,
        stop_at: int | None = None,
        sleep: float = 0.0,
    ) -> None:
        self.n, self.dropout, self.noise, self.stop_at, self.sleep = n, dropout, noise, stop_at, sleep
        self.losses: list[float] = []
        self.exports: list[int] = []

    def build_modules(self) -> dict[str, nn.Module]:
        net = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(self.dropout), nn.Linear(16, 1))
        return {"net": net}

    def ema_modules(self) -> tuple[str, ...]:
        return ("net",)

    def train_dataset(self) -> Dataset:
        return ToyDataset(self.n, noise=self.noise)

    def val_dataset(self) -> Dataset:
        return ToyDataset(8, seed=1)

    def training_step(self, modules, batch, step):
        loss = F.mse_loss(modules["net"](batch["x"]).squeeze(-1), batch["y"])
        self.losses.append(loss.item())
        if self.sleep:
            time.sleep(self.sleep)
        if self.stop_at is not None and step == self.stop_at:
            os.kill(os.getpid(), signal.SIGINT)  # an operator's Ctrl-C in the middle of a step
        yield "net", loss, {"mse": loss.detach()}

    def validation_step(self, modules, batch):
        return {"mse": F.mse_loss(modules["net"](batch["x"]).squeeze(-1), batch["y"]).item()}

    def export(self, modules, path, step):
        self.exports.append(step)
        save_weights(path, modules["net"].state_dict(), "toy", {"hidden": 16}, {"step": step})

    def load_pretrained(self, modules, path):
        tensors, _, _ = load_weights(path, "toy")
        modules["net"].load_state_dict(tensors)


class ToyGAN(TrainTask):
    """Two modules, two losses. The discriminator's own loss has zero gradient, so it must stay
    exactly where it started unless the generator loss leaks into it."""

    name = "toy-gan"

    def build_modules(self) -> dict[str, nn.Module]:
        return {
            "generator": nn.Linear(2, 2),
            "discriminator": nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)),
        }

    def ema_modules(self) -> tuple[str, ...]:
        return ("generator",)

    def train_dataset(self) -> Dataset:
        return ToyDataset(16)

    def training_step(self, modules, batch, step):
        real = batch["x"][:, :2]
        fake = modules["generator"](batch["x"][:, 2:])
        scores = modules["discriminator"](torch.cat([real, fake.detach()]))
        yield "discriminator", 0.0 * scores.sum(), {}
        yield "generator", -modules["discriminator"](fake).mean(), {}

    def export(self, modules, path, step):
        save_weights(path, modules["generator"].state_dict(), "toy", {}, {})


def _cfg(**kw) -> TrainConfig:
    base = dict(
        max_steps=20,
        batch_size=4,
        lr=3e-2,
        warmup_steps=2,
        log_every=1,
        val_every=5,
        ckpt_every=5,
        ema_decay=0.9,
        weight_decay=0.0,
        threads=1,
    )
    return TrainConfig(**{**base, **kw})


def _params(module: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


# ------------------------------------------------------------------------------------- tests


def test_loss_decreases_and_run_dir_layout(tmp_path: Path) -> None:
    task = ToyTask()
    metrics = train(task, _cfg(max_steps=40, ckpt_every=20), tmp_path)
    first, last = sum(task.losses[:6]) / 6, sum(task.losses[-6:]) / 6
    assert last < 0.5 * first
    assert metrics["step"] == 40 and "val/mse" in metrics and "loss/net" in metrics
    assert (tmp_path / "config.json").is_file() and (tmp_path / "export.safetensors").is_file()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "last.pt",
        "step_00000020.pt",
        "step_00000040.pt",
    ]
    log = (tmp_path / "train.log").read_text()
    assert "steps/s" in log and "step 40/40" in log and "val/mse" in log
    tensors, _, meta = load_weights(tmp_path / "export.safetensors", "toy")
    assert meta["step"] == 40 and task.exports == [20, 40]
    state = load_state(tmp_path / "checkpoints" / "last.pt")
    ema = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.0), nn.Linear(16, 1))
    ema.load_state_dict(state["ema"]["net"]["module"])
    assert all(torch.equal(tensors[k], v) for k, v in ema.state_dict().items())  # export = EMA weights
    assert state["train_config"]["max_steps"] == 40 and state["step"] == 40


def test_grad_accumulation_matches_big_batch(tmp_path: Path) -> None:
    runs = {}
    for name, cfg in {"big": _cfg(batch_size=8), "accum": _cfg(batch_size=4, grad_accum=2)}.items():
        train(
            ToyTask(n=32), dataclass_replace(cfg, max_steps=3, ckpt_every=100, val_every=100), tmp_path / name
        )
        state = load_state(tmp_path / name / "checkpoints" / "last.pt")
        runs[name] = torch.cat([v.flatten() for v in state["modules"]["net"].values()])
    torch.testing.assert_close(runs["accum"], runs["big"], rtol=1e-5, atol=1e-6)


def dataclass_replace(cfg: TrainConfig, **kw) -> TrainConfig:
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def test_ema_math() -> None:
    net = nn.Linear(3, 1)
    net.register_buffer("stat", torch.zeros(1))
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema = EMA(net, 0.9, warmup=False)
    with torch.no_grad():
        net.weight.fill_(3.0)
        net.stat.fill_(5.0)
    ema.update(net)
    torch.testing.assert_close(ema.module.weight, torch.full((1, 3), 0.9 * 1.0 + 0.1 * 3.0))
    assert ema.module.stat.item() == 5.0  # buffers are copied, not averaged
    assert not ema.module.weight.requires_grad
    warm = EMA(net.to(torch.bfloat16), 0.999)
    assert warm.module.weight.dtype == torch.float32
    assert warm.current_decay() == pytest.approx(0.1)  # (1 + 0) / (10 + 0): early updates follow fast
    for _ in range(10_000):
        warm.updates += 1
    assert warm.current_decay() == 0.999


def test_lr_schedule_values() -> None:
    kw = dict(warmup_steps=10, max_steps=110, min_ratio=0.1)
    assert lr_factor(0, decay="cosine", **kw) == pytest.approx(0.1)
    assert lr_factor(9, decay="cosine", **kw) == pytest.approx(1.0)
    assert lr_factor(60, decay="cosine", **kw) == pytest.approx(0.55)  # half-way: (1 + 0.1) / 2
    assert lr_factor(110, decay="cosine", **kw) == pytest.approx(0.1)
    assert lr_factor(500, decay="cosine", **kw) == pytest.approx(0.1)
    assert lr_factor(60, decay="exponential", **kw) == pytest.approx(math.sqrt(0.1))
    assert lr_factor(110, decay="exponential", **kw) == pytest.approx(0.1)
    assert lr_factor(77, decay="constant", **kw) == 1.0
    with pytest.raises(ValueError, match="lr_decay"):
        lr_factor(0, decay="linear", **kw)


def test_lr_written_to_optimiser_and_logged(tmp_path: Path) -> None:
    train(ToyTask(), _cfg(max_steps=10, warmup_steps=2, min_lr_ratio=0.2, ckpt_every=10), tmp_path)
    state = load_state(tmp_path / "checkpoints" / "last.pt")
    expected = 3e-2 * lr_factor(9, warmup_steps=2, max_steps=10, decay="cosine", min_ratio=0.2)
    assert state["optimizers"]["net"]["param_groups"][0]["lr"] == pytest.approx(expected)
    assert "lr/net 0.0300" in (tmp_path / "train.log").read_text()  # step 2: end of warm-up


def test_keep_checkpoints_prunes_oldest(tmp_path: Path) -> None:
    train(ToyTask(), _cfg(max_steps=10, ckpt_every=2, keep_checkpoints=2, val_every=100), tmp_path)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["last.pt", "step_00000008.pt", "step_00000010.pt"]
    assert load_state(tmp_path / "checkpoints" / "last.pt")["step"] == 10


def test_failed_checkpoint_write_leaves_previous_intact(tmp_path: Path, monkeypatch) -> None:
    train(ToyTask(), _cfg(max_steps=4, ckpt_every=4), tmp_path)

    def broken_save(obj, f, *a, **kw):
        Path(f).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        train(ToyTask(), _cfg(max_steps=8, ckpt_every=4), tmp_path, resume=True)
    monkeypatch.undo()
    files = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert files == ["last.pt", "step_00000004.pt"]  # no temp or partial file left behind
    assert load_state(tmp_path / "checkpoints" / "last.pt")["step"] == 4


def test_resume_continues_exactly(tmp_path: Path) -> None:
    """20 steps straight == 10 steps, Ctrl-C, resume 10 (LR schedule, data order mid-epoch, dropout
    and data-noise RNG all restored)."""
    cfg = _cfg(max_steps=20, ckpt_every=4, val_every=3)
    straight = ToyTask(dropout=0.2, noise=0.1)
    train(straight, cfg, tmp_path / "a")
    first = ToyTask(dropout=0.2, noise=0.1, stop_at=9)
    metrics = train(first, cfg, tmp_path / "b")
    assert metrics["step"] == 10 and len(first.losses) == 10
    assert load_state(tmp_path / "b" / "checkpoints" / "last.pt")["position"] == 4  # 6 batches/epoch
    second = ToyTask(dropout=0.2, noise=0.1)
    train(second, cfg, tmp_path / "b", resume=True)
    torch.testing.assert_close(
        torch.tensor(first.losses + second.losses), torch.tensor(straight.losses), rtol=0, atol=1e-6
    )
    a = load_state(tmp_path / "a" / "checkpoints" / "last.pt")
    b = load_state(tmp_path / "b" / "checkpoints" / "last.pt")
    for k, v in a["modules"]["net"].items():
        torch.testing.assert_close(b["modules"]["net"][k], v, rtol=0, atol=1e-6)
    for k, v in a["ema"]["net"]["module"].items():
        torch.testing.assert_close(b["ema"]["net"]["module"][k], v, rtol=0, atol=1e-6)


def test_resume_without_checkpoint_is_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(ToyTask(), _cfg(), tmp_path, resume=True)


def test_init_from_warm_starts_weights_and_ema(tmp_path: Path) -> None:
    train(ToyTask(), _cfg(max_steps=6, ckpt_every=6), tmp_path / "a")
    exported, _, _ = load_weights(tmp_path / "a" / "export.safetensors", "toy")
    train(ToyTask(), _cfg(max_steps=0), tmp_path / "b", init_from=tmp_path / "a" / "export.safetensors")
    state = load_state(tmp_path / "b" / "checkpoints" / "last.pt")
    for k, v in exported.items():
        assert torch.equal(state["modules"]["net"][k], v)
        assert torch.equal(state["ema"]["net"]["module"][k], v)


def test_gan_task_steps_both_optimisers_without_leaking(tmp_path: Path) -> None:
    task = ToyGAN()
    torch.manual_seed(1234)  # the loop seeds the same way before build_modules
    train(task, _cfg(max_steps=3, ckpt_every=3), tmp_path)
    torch.manual_seed(1234)
    init = task.build_modules()
    state = load_state(tmp_path / "checkpoints" / "last.pt")
    for name in ("generator", "discriminator"):
        assert state["optimizers"][name]["state"][0]["step"].item() == 3  # stepped every step
    trained_d = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    trained_d.load_state_dict(state["modules"]["discriminator"])
    torch.testing.assert_close(_params(trained_d), _params(init["discriminator"]), rtol=0, atol=0)
    assert not torch.equal(state["modules"]["generator"]["weight"], init["generator"].weight)


def test_bad_yield_is_clear_error(tmp_path: Path) -> None:
    class Bad(ToyTask):
        def training_step(self, modules, batch, step):
            yield "nope", modules["net"](batch["x"]).mean(), {}

    with pytest.raises(ValueError, match="not a trainable module"):
        train(Bad(), _cfg(max_steps=1), tmp_path)


def test_sigterm_saves_and_exits_zero(tmp_path: Path) -> None:
    """SIGTERM to the whole process group (main process + loader workers, as a job scheduler
    does): the current step finishes, a checkpoint is written, the exit status is 0."""
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_train_loop import ToyTask, _cfg\n"
        "from tts.train.loop import train\n"
        "cfg = _cfg(max_steps=100000, ckpt_every=100000, num_workers=1, grad_accum=2)\n"
        "m = train(ToyTask(sleep=0.02), cfg, sys.argv[1])\n"
        "print('FINAL', int(m['step']))\n"
    )
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(run)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log = run / "train.log"
        if log.is_file() and "step 3/" in log.read_text():
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    step = load_state(run / "checkpoints" / "last.pt")["step"]
    assert 3 <= step < 100000 and f"FINAL {step}" in out
    assert "stopped by signal" in (run / "train.log").read_text()
    assert (run / "export.safetensors").is_file()


def test_cli_flags_override_toml(tmp_path: Path) -> None:
    toml = tmp_path / "stage.toml"
    toml.write_text("[model]\nwidth = 8\n\n[train]\nlr = 1e-3\nmax_steps = 500\nbetas = [0.5, 0.9]\n")
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    args = parser.parse_args(["--run-dir", "r", "--config", str(toml), "--max-steps", "7", "--resume"])
    cfg = train_config_from_args(args, TrainConfig(batch_size=3))
    assert (cfg.lr, cfg.max_steps, cfg.betas, cfg.batch_size) == (1e-3, 7, (0.5, 0.9), 3)
    assert args.resume is True and args.init_from is None and args.device is None
    assert load_stage_config(args)["model"] == {"width": 8}
    toml.write_text("[train]\nlearning_rate = 1.0\n")
    with pytest.raises(ValueError, match="unknown option"):
        train_config_from_args(args, TrainConfig())
    with pytest.raises(ValueError, match="lr_decay"):
        TrainConfig(lr_decay="linear")
    with pytest.raises(SystemExit):
        parser.parse_args([])  # --run-dir is required without a stage default


def test_batch_stream_resumes_mid_epoch_with_workers() -> None:
    """Epochs follow each other; a stream restarted at (epoch, position) continues identically,
    also with worker processes; a task batch sampler gets each epoch number."""
    from tts.train.distributed import BatchStream, DistContext, task_batches

    class Bucketed(ToyTask):
        epochs: list[int] = []

        def batch_sampler(self, dataset, *, rank, world_size, seed, epoch, train):
            self.epochs.append(epoch)
            g = torch.Generator().manual_seed(seed + epoch)
            order = torch.randperm(len(dataset), generator=g).tolist()
            return [order[:3], order[3:7], order[7:]]  # uneven sizes are the sampler's business

    task, ds = Bucketed(n=10), ToyDataset(10)

    def batches(epoch: int) -> list[list[int]]:
        return task_batches(task, ds, DistContext(), batch_size=4, seed=5, epoch=epoch, train=True)

    def stream(workers: int, epoch: int = 0, position: int = 0) -> BatchStream:
        return BatchStream(ds, batches, collate_fn=None, num_workers=workers, pin_memory=False, seed=0,
                           epoch=epoch, position=position)  # fmt: skip

    full = stream(0)
    ref = [next(full)["x"] for _ in range(8)]
    assert (full.epoch, full.position) == (2, 2) and [len(b) for b in ref[:3]] == [3, 4, 3]
    assert not torch.equal(ref[0], ref[3])  # epoch 1 is reshuffled
    resumed = stream(2, epoch=1, position=1)
    for expected in ref[4:]:
        torch.testing.assert_close(next(resumed)["x"], expected)
    assert {0, 1, 2} <= set(Bucketed.epochs)


def test_empty_training_data_is_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no batches"):
        train(ToyTask(n=0), _cfg(max_steps=2), tmp_path)


def test_non_finite_gradients_skip_the_update(tmp_path: Path) -> None:
    class Spiky(ToyTask):
        def training_step(self, modules, batch, step):
            loss = F.mse_loss(modules["net"](batch["x"]).squeeze(-1), batch["y"])
            yield "net", loss * float("nan") if step in self.bad else loss, {}

    task = Spiky()
    task.bad = {1}
    train(task, _cfg(max_steps=3, ckpt_every=100, val_every=100), tmp_path / "a")
    state = load_state(tmp_path / "a" / "checkpoints" / "last.pt")
    assert state["optimizers"]["net"]["state"][0]["step"].item() == 2  # step 1 was skipped
    assert all(torch.isfinite(v).all() for v in state["modules"]["net"].values())
    assert "non-finite gradients" in (tmp_path / "a" / "train.log").read_text()
    task.bad = set(range(100))
    with pytest.raises(FloatingPointError, match="in a row"):
        train(task, _cfg(max_steps=100, ckpt_every=100, val_every=100), tmp_path / "b")


def test_adamw_groups_and_overrides() -> None:
    from tts.train.schedule import build_adamw

    net = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8))
    opt = build_adamw(net, lr=1e-3, betas=(0.8, 0.99), weight_decay=0.1, overrides={"lr": 5e-4})
    decayed, plain = opt.param_groups
    assert [p.shape for p in decayed["params"]] == [torch.Size([8, 4])]  # biases and gains: no decay
    assert (decayed["weight_decay"], plain["weight_decay"], decayed["base_lr"]) == (0.1, 0.0, 5e-4)
    with pytest.raises(ValueError, match="momentum"):
        build_adamw(net, lr=1e-3, betas=(0.8, 0.99), weight_decay=0.1, overrides={"momentum": 0.9})
    assert (
        build_adamw(net.requires_grad_(False), lr=1e-3, betas=(0.8, 0.99), weight_decay=0.0, overrides={})
        is None
    )


def test_failing_log_media_does_not_stop_training(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")  # log_media needs a TensorBoard writer

    class Media(ToyTask):
        def log_media(self, writer, modules, batch, step):
            raise RuntimeError("no plotting backend")

    assert train(Media(), _cfg(max_steps=2, val_every=1), tmp_path)["step"] == 2
    assert "log_media failed (RuntimeError: no plotting backend)" in (tmp_path / "train.log").read_text()


class DtypeProbe(ToyTask):
    """Records the dtype a linear layer computes in, and the dtype inside ``fp32_region``."""

    def __init__(self) -> None:
        super().__init__()
        self.dtypes: list[tuple[torch.dtype, torch.dtype]] = []

    def training_step(self, modules, batch, step):
        from tts.models.precision import fp32_region

        out = modules["net"](batch["x"]).squeeze(-1)
        with fp32_region(out.device):
            exact = modules["net"][0](batch["x"])
        self.dtypes.append((out.dtype, exact.dtype))
        yield "net", F.mse_loss(out.float(), batch["y"]), {}


def test_cpu_amp_autocasts_only_on_request(tmp_path: Path) -> None:
    off, on = DtypeProbe(), DtypeProbe()
    train(off, _cfg(max_steps=3, val_every=10), tmp_path / "off")
    assert set(off.dtypes) == {(torch.float32, torch.float32)}  # CPU default: fp32 throughout
    metrics = train(on, _cfg(max_steps=3, val_every=10, cpu_amp=True), tmp_path / "on")
    assert set(on.dtypes) == {(torch.bfloat16, torch.float32)}  # matmuls in bf16, fp32 regions exact
    assert math.isfinite(metrics["loss/net"]) and "amp bf16" in (tmp_path / "on" / "train.log").read_text()
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    flag, no_flag = parser.parse_args(["--run-dir", "r", "--cpu-amp"]), parser.parse_args(["--run-dir", "r"])
    assert train_config_from_args(flag, TrainConfig()).cpu_amp
    assert not train_config_from_args(no_flag, TrainConfig()).cpu_amp
