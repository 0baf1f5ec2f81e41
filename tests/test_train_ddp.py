"""The training loop under ``torchrun`` with 2 CPU processes (gloo): gradient sync, rank-0-only
checkpoints, sharded data, cross-rank validation means, signal agreement and exact resume."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from tts.models.checkpoint import load_state

SCRIPT = """
import os, sys
sys.path.insert(0, {tests!r})
import torch
from torch import nn
import tts.models.checkpoint
from test_train_loop import ToyDataset, ToyGAN, ToyTask, _cfg
from tts.train.loop import train

run, out = sys.argv[1], sys.argv[2]
rank = int(os.environ["RANK"])
saves = []
real_save = tts.models.checkpoint.save_state
def recording_save(path, state):
    saves.append(os.path.basename(str(path)))
    return real_save(path, state)
tts.models.checkpoint.save_state = recording_save

class Both(ToyGAN):
    # two DDP modules, a discriminator run twice per step, grad accumulation, validation
    name = "toy-gan-ddp"
    seen = []
    def train_dataset(self):
        return ToyDataset(32, noise=0.1)
    def val_dataset(self):
        return ToyDataset(6, seed=1)
    def training_step(self, modules, batch, step):
        self.seen.append(batch["x"].sum().item())
        self.mods = modules
        real, fake = batch["x"][:, :2], modules["generator"](batch["x"][:, 2:])
        scores = modules["discriminator"](torch.cat([real, fake.detach()]))
        n = len(real)
        d_loss = nn.functional.softplus(-scores[:n]).mean() + nn.functional.softplus(scores[n:]).mean()
        yield "discriminator", d_loss, {{}}
        yield "generator", nn.functional.softplus(-modules["discriminator"](fake)).mean(), {{}}
    def validation_step(self, modules, batch):
        return {{"g_norm": modules["generator"](batch["x"][:, 2:]).norm().item() + rank}}

task = Both()
m = train(task, _cfg(max_steps=6, grad_accum=2, ckpt_every=3, val_every=3, log_every=2), run)

# exact resume under DDP: Ctrl-C reaches rank 0 only, both ranks stop after the same step
cfg = _cfg(max_steps=12, ckpt_every=4, val_every=3, log_every=2)
straight = ToyTask(dropout=0.2, noise=0.1)
train(straight, cfg, run + "-a")
first = ToyTask(dropout=0.2, noise=0.1, stop_at=5 if rank == 0 else None)
stopped = train(first, cfg, run + "-b")
second = ToyTask(dropout=0.2, noise=0.1)
train(second, cfg, run + "-b", resume=True)
ddp = all(isinstance(v, nn.parallel.DistributedDataParallel) for v in task.mods.values())
params = {{n: {{k: v.clone() for k, v in v.module.state_dict().items()}} for n, v in task.mods.items()}}
state = {{"params": params, "ddp": ddp, "saves": saves, "seen": task.seen, "metrics": m,
         "straight": straight.losses, "resumed": first.losses + second.losses, "stopped_at": stopped["step"]}}
torch.save(state, os.path.join(out, f"rank{{rank}}.pt"))
"""


def test_two_cpu_processes_stay_in_sync(tmp_path: Path) -> None:
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)))
    run, out = tmp_path / "run", tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(script),
        str(run),
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r0, r1 = (torch.load(out / f"rank{r}.pt", weights_only=False) for r in (0, 1))
    assert r0["ddp"] and r1["ddp"]
    for name in ("generator", "discriminator"):  # gradients were all-reduced: identical weights
        for k, v in r0["params"][name].items():
            torch.testing.assert_close(r1["params"][name][k], v, rtol=0, atol=0)
    assert r0["saves"][:2] == ["step_00000003.pt", "step_00000006.pt"] and r1["saves"] == []
    assert r0["seen"] != r1["seen"]  # each rank trains on its own shard
    assert len(r0["seen"]) == 12  # 6 steps x 2 micro-batches
    # validation metrics are averaged over ranks (each rank adds its rank number: mean + 0.5)
    assert r0["metrics"]["val/g_norm"] == r1["metrics"]["val/g_norm"]
    state = load_state(run / "checkpoints" / "last.pt")
    assert state["step"] == 6 and state["world_size"] == 2 and len(state["rng"]) == 2
    for r in (r0, r1):
        assert r["stopped_at"] == 6 and len(r["straight"]) == 12
        torch.testing.assert_close(torch.tensor(r["resumed"]), torch.tensor(r["straight"]), rtol=0, atol=1e-6)
    assert r0["straight"] != r1["straight"]  # different shards and dropout noise per rank
