"""The LJSpeech recipe end to end: ``recipes/ljspeech/run.sh`` on a generated LJSpeech-layout corpus
with the tiny configs of ``tests/configs/tiny``: every stage's output, a voice that speaks, a second
run that resumes and skips instead of starting over, the missing-corpus message and bad options,
Ctrl-C stopping the driver after the running stage, and the torchrun command lines of the multi-GPU
and multi-node flags (checked against torchrun's and each stage's own argument parsers).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tts.core.config import load_toml

REPO = Path(__file__).resolve().parents[1]
RUN_SH = REPO / "recipes" / "ljspeech" / "run.sh"
TINY = REPO / "tests" / "configs" / "tiny"
N_CLIPS = 8  # 7 train + 1 val (--val-size 1)
STAGES = ("vae", "acoustic", "vocoder")
# Distances only: ASR and DNSMOS load models that take longer than the whole rest of the recipe.
EVAL_OPTS = "--jobs 1 --threads 1 --synth-threads 1 --no-asr --no-dnsmos"


def run_recipe(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        ["bash", str(RUN_SH), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def max_steps(stage: str) -> int:
    return int(load_toml(TINY / f"{stage}.toml")["train"]["max_steps"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def commands(log: str) -> list[list[str]]:
    """The commands run.sh printed (``>> CMD``), split into words."""
    return [shlex.split(line[3:]) for line in log.splitlines() if line.startswith(">> /")]


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory, make_ljspeech_corpus) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("recipe")
    durations = [1.2, 1.8, 2.0, 1.0, 1.6, 1.4, 1.7, 1.3]  # long enough for every text's phonemes
    corpus = make_ljspeech_corpus(root / "LJSpeech-1.1", N_CLIPS, durations=durations)
    out = root / "out"
    args = [
        "--data", str(corpus), "--out", str(out), "--configs", str(TINY), "--device", "cpu",
        "--threads", "1", "--jobs", "1", "--prepare-opts", "--val-size 1", "--eval-opts", EVAL_OPTS,
    ]  # fmt: skip
    proc = run_recipe(*args)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    return SimpleNamespace(corpus=corpus, out=out, args=args, log=log)


def test_every_stage_leaves_its_output(recipe: SimpleNamespace) -> None:
    from tts.data.manifest import load_manifest
    from tts.models.checkpoint import load_state, load_weights
    from tts.train.latents import check_latent_cache

    out = recipe.out
    data = load_manifest(out / "data")
    assert len(data.rows("train")) == N_CLIPS - 1 and len(data.rows("val")) == 1
    assert data.speakers == ["LJSpeech-1.1"]  # 3-column metadata: the corpus folder names the speaker

    info = check_latent_cache(out / "data", out / "vae" / "export.safetensors")  # complete, this VAE's
    channels = load_toml(TINY / "vae.toml")["model"]["latent_channels"]
    assert info["count"] == N_CLIPS and info["latent_channels"] == channels
    for row in data.rows("train") + data.rows("val"):
        latent = np.load(out / "data" / "latents" / f"{row['id']}.npy")
        assert latent.shape == (channels, -(-row["n_frames"] // 2)) and np.isfinite(latent).all()

    for stage in STAGES:
        run = out / stage
        load_weights(run / "export.safetensors", stage)  # refuses a file of another kind
        assert load_state(run / "checkpoints" / "last.pt")["step"] == max_steps(stage)
        assert f"finished at step {max_steps(stage)}" in (run / "train.log").read_text()
        # the voice folder holds exactly the exported weights
        assert sha256(out / "voice" / f"{stage}.safetensors") == sha256(run / "export.safetensors")
    assert (out / "voice" / "voice.json").is_file()

    # the stages ran once each, in pipeline order, through their command-line interfaces
    ran = [" ".join(c[2:4]) for c in commands(recipe.log) if c[1] == "-m"]
    pipeline = [f"tts.cli.train {s}" for s in ("prepare", "vae", "latents", "acoustic", "vocoder")]
    pipeline += ["tts.cli.voice assemble", "tts.cli.eval voice"]
    if "evaluation skipped" in recipe.log:  # a checkout without the eval extra
        pipeline.pop()
    assert ran == pipeline

    if "evaluation skipped" in recipe.log:  # a checkout without the eval extra
        assert "pip install -e '.[eval]'" in recipe.log
    else:
        report = json.loads((out / "eval" / "eval.json").read_text())
        assert report["ours"]["n"] == report["teacher"]["n"] == 1  # the val split, spoken and compared
        assert (out / "eval" / "voice" / "wavs" / f"{data.rows('val')[0]['id']}.wav").is_file()


def test_the_voice_speaks(recipe: SimpleNamespace) -> None:
    from tts import Synthesizer

    synth = Synthesizer.from_pretrained(recipe.out / "voice")
    assert synth.speakers == ["LJSpeech-1.1"] and synth.sample_rate == 22050
    audio = synth.synthesize("The cat sat on the mat.", seed=0)
    wav = audio.samples
    assert wav.dtype == np.float32 and wav.ndim == 1 and np.isfinite(wav).all()
    assert 0.2 < audio.duration < 10.0  # ~20 phonemes: a fraction of a second to a few seconds
    assert np.sqrt(np.mean(wav**2)) > 1e-4  # not silence


def test_second_run_resumes_and_skips(recipe: SimpleNamespace) -> None:
    out = recipe.out

    def snapshot() -> dict[str, object]:
        files = {p: p.stat().st_mtime_ns for p in (out / "data" / "latents").glob("*.npy")}
        for stage in STAGES:
            files.update({p: p.stat().st_mtime_ns for p in (out / stage).glob("checkpoints/*.pt")})
            export = out / stage / "export.safetensors"
            files[export] = export.stat().st_mtime_ns
        files.update({p: p.stat().st_mtime_ns for p in (out / "voice").iterdir()})
        return files

    before = snapshot()
    proc = run_recipe(*recipe.args)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert snapshot() == before  # no checkpoint, export, latent or voice file was rewritten

    assert f"reused {N_CLIPS} from the cache" in log and "processed 0 new or changed" in log
    assert f"latents: 0 encoded, {N_CLIPS} already cached" in log
    for stage in STAGES:
        cmd = next(c for c in commands(log) if c[1:4] == ["-m", "tts.cli.train", stage])
        assert "--resume" in cmd
        assert f"resumed at step {max_steps(stage)}" in (out / stage / "train.log").read_text()
    assert "is newer than every export: kept" in log
    if "evaluation skipped" not in log:
        assert "eval.json is newer than the voice: kept" in log


def test_missing_corpus_exits_2_and_says_where_to_get_it(tmp_path: Path) -> None:
    for args in (["--data", str(tmp_path / "LJSpeech-1.1")], []):
        proc = run_recipe(*args, "--out", str(tmp_path / "out"), timeout=30)
        assert proc.returncode == 2
        assert "no LJSpeech-layout corpus" in proc.stderr
        assert "https://keithito.com/LJ-Speech-Dataset/" in proc.stderr
        assert not (tmp_path / "out").exists()


def test_bad_options_and_missing_earlier_stages_exit_2(tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "out")]
    for args, message in [
        (["--bogus"], "unknown option '--bogus'"),
        (["--stage", "8"], "--stop-stage <= 7"),
        (["--stage", "two"], "--stage must be a whole number"),
        (["--nnodes", "2"], "needs --rdzv-endpoint"),
        (["--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "h:1"], "--node-rank 2 must be below"),
        (["--configs", str(tmp_path)], "vae.toml"),
        (["--stage", "4", *out], "run stage 3 first"),
        (["--stage", "6", "--stop-stage", "6", *out], "run stage 4 first"),
    ]:
        proc = run_recipe(*args, timeout=30)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)


def _check_training_commands(log: str, torchrun: list[str]) -> None:
    """Every training stage runs under torchrun with ``torchrun`` flags; both argument lists parse."""
    from torch.distributed.run import get_args_parser

    from tts.cli.train import STAGES as CLI_STAGES

    cmds = commands(log)
    trained = []
    for cmd in cmds:
        if cmd[1:3] != ["-m", "torch.distributed.run"]:
            assert "tts.cli.train" not in cmd[2:4] or cmd[3] not in STAGES, cmd  # no bare training run
            continue
        tr = get_args_parser().parse_args(cmd[3:])  # torchrun's own parser: the flags exist
        assert tr.module and tr.training_script == "tts.cli.train"
        assert cmd[3 : 3 + len(torchrun)] == torchrun
        stage, stage_args = tr.training_script_args[0], tr.training_script_args[1:]
        parser = argparse.ArgumentParser()
        importlib.import_module(CLI_STAGES[stage][0]).add_arguments(parser)
        parsed = parser.parse_args(stage_args)  # the stage accepts every flag run.sh gives it
        assert parsed.max_steps == 7 and parsed.run_dir.endswith(stage)
        trained.append(stage)
    assert trained == list(STAGES)


def test_dry_run_multi_gpu_and_multi_node_commands(tmp_path: Path) -> None:
    base = ["--out", str(tmp_path / "out"), "--stage", "2", "--stop-stage", "7", "--dry-run"]
    proc = run_recipe(*base, "--nproc-per-node", "8", "--device", "cuda", "--", "--max-steps", "7")
    assert proc.returncode == 0, proc.stderr
    _check_training_commands(proc.stdout, ["--standalone", "--nproc-per-node", "8"])
    assert not (tmp_path / "out").exists()  # a dry run writes nothing

    multi = ["--nnodes", "2", "--nproc-per-node", "8", "--rdzv-endpoint", "node0:29500"]
    for rank in ("0", "1"):
        proc = run_recipe(*base, *multi, "--node-rank", rank, "--", "--max-steps", "7")
        assert proc.returncode == 0, proc.stderr
        flags = ["--nnodes", "2", "--node-rank", rank, "--nproc-per-node", "8", "--rdzv-backend", "c10d"]
        _check_training_commands(proc.stdout, [*flags, "--rdzv-endpoint", "node0:29500"])
        once = [c for c in commands(proc.stdout) if c[3] in ("latents", "assemble", "voice")]
        # latents, the voice folder and evaluation happen once, on node 0
        assert bool(once) == (rank == "0") and ("runs on node 0 only" in proc.stdout) == (rank == "1")


def test_ctrl_c_stops_after_the_running_stage(tmp_path: Path) -> None:
    """A stage that saves and exits normally on SIGINT must not be followed by the next stage."""
    import signal
    import time

    log, ready = tmp_path / "calls.log", tmp_path / "ready"
    fake = tmp_path / "python"  # stands in for the interpreter: records its calls, "trains" until SIGINT
    fake.write_text(
        f"""#!/usr/bin/env bash
echo "$*" >> {log}
if [[ $* == *"tts.cli.train vae"* ]]; then
  sleep 60 > /dev/null 2>&1 &
  trap 'kill $!; echo saved >> {log}; exit 0' INT
  touch {ready}
  wait
fi
"""
    )
    fake.chmod(0o755)
    (tmp_path / "out" / "data").mkdir(parents=True)
    (tmp_path / "out" / "data" / "manifest.json").write_text("{}")
    proc = subprocess.Popen(
        ["bash", str(RUN_SH), "--out", str(tmp_path / "out"), "--stage", "2", "--stop-stage", "5"],
        env={**os.environ, "PYTHON": str(fake)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        # with SIGINT handled as in a terminal: a runner started in the background (`cmd &` without
        # job control, nohup) passes SIGINT on ignored, and bash cannot trap a signal ignored at entry
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120  # generous: a loaded machine can be slow to get there
        while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), "run.sh never reached the vae stage"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and "run the same command again to resume" in err
    calls = log.read_text().splitlines()
    assert calls[-1] == "saved" and "tts.cli.train vae" in calls[-2]
    assert not any("latents" in c for c in calls)


def test_full_size_configs_fit_their_stages_and_the_readme() -> None:
    """``recipes/ljspeech/configs`` parse into every stage's settings, with the sizes, batches and
    step counts that ``recipes/ljspeech/README.md`` states (its time estimates rest on them)."""
    from tts.core.config import override
    from tts.models.acoustic import AcousticConfig, AcousticModel
    from tts.models.vae.mel_vae import MelVAE, MelVAEConfig
    from tts.models.vocoder import build_generator
    from tts.text import Tokenizer
    from tts.train.acoustic import AcousticDataConfig
    from tts.train.config import TrainConfig
    from tts.train.discriminators import Discriminator
    from tts.train.vae import VAEDataConfig
    from tts.train.vocoder import VocoderDataConfig, VocoderTrainConfig

    def millions(module) -> float:
        return round(sum(p.numel() for p in module.parameters()) / 1e6, 2)

    cfg = {s: load_toml(REPO / "recipes" / "ljspeech" / "configs" / f"{s}.toml") for s in STAGES}
    train = {s: override(TrainConfig(), cfg[s]["train"]) for s in STAGES}
    assert {s: t.max_steps for s, t in train.items()} == {
        "vae": 100_000,
        "acoustic": 300_000,
        "vocoder": 10**6,
    }

    vae = override(MelVAEConfig(), cfg["vae"]["model"])
    assert override(VAEDataConfig(), cfg["vae"]["data"]).max_frames == 32_000
    assert millions(MelVAE(vae)) == 8.52 and vae.latent_channels == 16

    facts = {"n_symbols": len(Tokenizer.default()), "n_speakers": 1, "latent_channels": vae.latent_channels}
    acoustic = AcousticModel(override(AcousticConfig(**facts), cfg["acoustic"]["model"]))
    assert override(AcousticDataConfig(), cfg["acoustic"]["data"]).max_frames == 20_000
    assert millions(acoustic) == 18.34

    vocoder = override(VocoderTrainConfig(), cfg["vocoder"]["model"])
    override(VocoderDataConfig(), cfg["vocoder"]["data"])
    assert (train["vocoder"].batch_size, vocoder.segment_samples) == (16, 16384)
    assert (
        millions(build_generator(vocoder)) == 13.72
        and millions(Discriminator(vocoder.discriminator)) == 41.39
    )
