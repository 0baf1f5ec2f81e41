"""The torch-free ONNX runtime (``tts.runtime.onnx``) and the voice export (``tts.export.onnx``),
on a tiny random-weight voice, against the PyTorch ``Synthesizer``."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_voice import ALL_FP32, SPEAKERS, build_tiny_voice

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from tts.cli.synth import main as synth_main  # noqa: E402
from tts.cli.voice import main as voice_main  # noqa: E402
from tts.core.pipeline import durations_from_log, regulate_length  # noqa: E402
from tts.models.checkpoint import CheckpointError  # noqa: E402
from tts.runtime.onnx import OnnxSynthesizer  # noqa: E402
from tts.runtime.torch import Synthesizer  # noqa: E402

SHORT = "Hello there, how are you?"
TWO = "The quick brown fox jumps over the lazy dog. Then it runs away!"
LONG = "A rather long sentence, with several clauses, that keeps going for quite a while before it ends."
ROOT = Path(__file__).resolve().parent.parent
PRETRAINED = ROOT / "pretrained"


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny voice exported with an fp32 vocoder: the runtime must then match PyTorch to 1e-3."""
    folder = build_tiny_voice(tmp_path_factory.mktemp("voice"), vocoder_phase="instantaneous")
    assert voice_main(["export-onnx", "--voice", str(folder), *ALL_FP32]) == 0
    return folder


@pytest.fixture(scope="module")
def onnx_synth(voice_dir: Path) -> OnnxSynthesizer:
    return OnnxSynthesizer.from_pretrained(voice_dir, threads=1)


@pytest.fixture(scope="module")
def torch_synth(voice_dir: Path) -> Synthesizer:
    return Synthesizer.from_pretrained(voice_dir, threads=1, precision="fp32")


def test_export_writes_graphs_and_manifest(voice_dir: Path) -> None:
    d = voice_dir / "onnx"
    assert {p.name for p in d.iterdir()} >= {
        "encoder.onnx",
        "denoiser.onnx",
        "vae_decoder.onnx",
        "vocoder.onnx",
        "manifest.json",
    }
    m = json.loads((d / "manifest.json").read_text())
    assert m["speakers"] == list(SPEAKERS) and m["speaker_conditioned"]
    assert max(m["max_difference"].values()) < 1e-3
    assert m["vocoder_weights"] == "fp32" and "vocoder_int8_snr_db" not in m


def test_int8_vocoder_export(voice_dir: Path, tmp_path: Path) -> None:
    """The default export stores the vocoder's ConvNeXt MatMuls as int8: a smaller graph whose
    audio stays close to the fp32 graph's (same durations, high signal-to-error ratio)."""
    import onnx

    folder = tmp_path / "v"
    shutil.copytree(voice_dir, folder, ignore=shutil.ignore_patterns("onnx"))
    only_vocoder = ["--denoiser-weights", "fp32", "--vae-weights", "fp32"]
    assert voice_main(["export-onnx", "--voice", str(folder), *only_vocoder]) == 0
    m = json.loads((folder / "onnx" / "manifest.json").read_text())
    assert m["vocoder_weights"] == "int8" and m["vocoder_int8_snr_db"] >= 20.0
    fp32 = onnx.load(str(voice_dir / "onnx" / "vocoder.onnx")).graph.node
    blocks = [n for n in fp32 if n.op_type == "MatMul" and "/blocks." in n.name]
    ops = [n.op_type for n in onnx.load(str(folder / "onnx" / "vocoder.onnx")).graph.node]
    assert len(blocks) >= 2 and ops.count("MatMulInteger") == len(blocks)  # pw1 and pw2 of each block
    assert ops.count("MatMul") == sum(n.op_type == "MatMul" for n in fp32) - len(blocks)  # the head: fp32
    for g in ("encoder", "vae_decoder"):  # only the vocoder changes
        assert (folder / "onnx" / f"{g}.onnx").read_bytes() == (voice_dir / "onnx" / f"{g}.onnx").read_bytes()
    a = OnnxSynthesizer.from_pretrained(folder, threads=1).synthesize(TWO, temperature=0.0)
    b = OnnxSynthesizer.from_pretrained(voice_dir, threads=1).synthesize(TWO, temperature=0.0)
    assert len(a.samples) == len(b.samples)
    np.testing.assert_array_equal(a.durations, b.durations)
    snr = 10 * np.log10(np.sum(b.samples**2) / np.sum((a.samples - b.samples) ** 2))
    assert 15.0 < snr < 200.0  # close, and not the fp32 graph under another name
    with pytest.raises(ValueError, match="vocoder_weights"):
        from tts.export.onnx import export_voice_onnx

        export_voice_onnx(folder, vocoder_weights="int4")


def test_int8_denoiser_and_vae_decoder_export(voice_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The default export also stores the U-Net's convolutions and the VAE decoder's convolutions and
    matrix products as int8 (static quantisation calibrated on the voice's own inputs): integer
    kernels in both graphs, the encoder untouched, and the audio close to the all-fp32 export's."""
    import onnx

    import tts.export.onnx as export

    folder = tmp_path / "v"
    shutil.copytree(voice_dir, folder, ignore=shutil.ignore_patterns("onnx"))
    assert voice_main(["export-onnx", "--voice", str(folder), "--vocoder-weights", "fp32"]) == 0
    m = json.loads((folder / "onnx" / "manifest.json").read_text())
    assert m["denoiser_weights"] == m["vae_decoder_weights"] == "int8" and m["vocoder_weights"] == "fp32"
    assert m["denoiser_int8_snr_db"] >= 20.0 and m["vae_decoder_int8_snr_db"] >= 20.0
    for g, ops in (("denoiser", {"Conv"}), ("vae_decoder", {"Conv", "MatMul"})):
        nodes = onnx.load(str(folder / "onnx" / f"{g}.onnx")).graph.node
        dequantised = {n.output[0] for n in nodes if n.op_type == "DequantizeLinear"}
        fp32 = [n for n in onnx.load(str(voice_dir / "onnx" / f"{g}.onnx")).graph.node if n.op_type in ops]
        q = [n for n in nodes if n.op_type in ops and n.input[0] in dequantised and n.input[1] in dequantised]
        assert len(fp32) >= 2 and len(q) == len(fp32), g  # every one reads int8 activations and weights
    for g in ("encoder", "vocoder"):
        assert (folder / "onnx" / f"{g}.onnx").read_bytes() == (voice_dir / "onnx" / f"{g}.onnx").read_bytes()
    a = OnnxSynthesizer.from_pretrained(folder, threads=1).synthesize(TWO, temperature=0.0)
    b = OnnxSynthesizer.from_pretrained(voice_dir, threads=1).synthesize(TWO, temperature=0.0)
    np.testing.assert_array_equal(a.durations, b.durations)
    snr = 10 * np.log10(np.sum(b.samples**2) / np.sum((a.samples - b.samples) ** 2))
    assert 10.0 < snr < 200.0  # close, and not the fp32 graphs under another name
    # an int8 graph too far from its fp32 one is refused, naming the way out
    monkeypatch.setattr(export, "MIN_INT8_SNR_DB", 500.0)
    with pytest.raises(CheckpointError, match="--denoiser-weights fp32"):
        export.export_voice_onnx(folder, vocoder_weights="fp32")
    with pytest.raises(CheckpointError, match="--vae-weights fp32"):
        export.export_voice_onnx(folder, vocoder_weights="fp32", denoiser_weights="fp32")
    with pytest.raises(ValueError, match="denoiser_weights"):
        export.export_voice_onnx(folder, denoiser_weights="int4")


@pytest.mark.parametrize("guidance", [0.0, 0.7])
def test_denoiser_halves_run_side_by_side(voice_dir: Path, guidance: float) -> None:
    """With two threads the denoiser's batch (a guided step's two halves, or a batch of texts) runs
    as two one-thread halves in parallel: the same audio as one thread, in one or many sentences."""
    one = OnnxSynthesizer.from_pretrained(voice_dir, threads=1)
    two = OnnxSynthesizer.from_pretrained(voice_dir, threads=2)
    assert one.voice.denoiser_workers == 1 and two.voice.denoiser_workers == 2
    calls = []
    run = two._run
    two._run = lambda graph, **kw: (
        calls.append((graph, len(kw["x"]) if graph == "denoiser" else 0)) or run(graph, **kw)
    )
    for texts in ([SHORT], [SHORT, TWO, LONG]):
        calls.clear()
        a = one.synthesize_batch(texts, seed=1, guidance=guidance)
        b = two.synthesize_batch(texts, seed=1, guidance=guidance)
        for x, y in zip(a, b):
            np.testing.assert_allclose(x.samples, y.samples, atol=1e-5)
        sizes = [n for g, n in calls if g == "denoiser"]  # per ODE step: two halves, or one item
        pairs = list(zip(sizes[::2], sizes[1::2]))
        if len(texts) == 1 and not guidance:
            assert set(sizes) == {1}
        else:
            assert len(sizes) % 2 == 0 and all(0 <= p - q <= 1 for p, q in pairs)
            assert not guidance or all(p == q for p, q in pairs)


@pytest.mark.parametrize("guidance", [0.0, 0.7])
@pytest.mark.parametrize("sampler", ["euler", "dpmpp2m"])
def test_onnx_matches_pytorch_without_noise(
    onnx_synth: OnnxSynthesizer, torch_synth: Synthesizer, guidance: float, sampler: str
) -> None:
    """With temperature 0 the start is zero noise in both backends: same durations, same audio."""
    opts = dict(temperature=0.0, guidance=guidance, sampler=sampler, steps=3, speaker=SPEAKERS[1])
    a, b = onnx_synth.synthesize(TWO, **opts), torch_synth.synthesize(TWO, **opts)
    assert len(a.samples) == len(b.samples)
    np.testing.assert_allclose(a.durations, b.durations)
    assert a.tokens == b.tokens
    assert np.abs(a.samples - b.samples).max() < 1e-3 * max(1.0, np.abs(b.samples).max())


def test_onnx_phase_iterations_match_pytorch(tmp_path: Path, voice_dir: Path) -> None:
    folder = tmp_path / "v"
    shutil.copytree(voice_dir, folder)
    cfg = json.loads((folder / "voice.json").read_text())
    (folder / "voice.json").write_text(json.dumps({**cfg, "phase_iterations": 2}))
    a = OnnxSynthesizer.from_pretrained(folder, threads=1).synthesize(TWO, temperature=0.0)
    b = Synthesizer.from_pretrained(folder, threads=1, precision="fp32").synthesize(TWO, temperature=0.0)
    assert len(a.samples) == len(b.samples)
    assert np.abs(a.samples - b.samples).max() < 1e-3


def test_phase_iterations_override(voice_dir: Path, tmp_path: Path) -> None:
    assert OnnxSynthesizer.from_pretrained(voice_dir, phase_iterations=3).voice.config.phase_iterations == 3
    synth = Synthesizer.from_pretrained(voice_dir, phase_iterations=3)
    assert synth.voice.vocoder.phase_iterations == 3 and synth.voice.config.phase_iterations == 3
    with pytest.raises(ValueError, match="phase_iterations"):
        OnnxSynthesizer.from_pretrained(voice_dir, phase_iterations=-1)
    outs = {}
    for k in ("0", "2"):
        out = tmp_path / f"p{k}.wav"
        assert (
            synth_main(
                [SHORT, "--voice", str(voice_dir), "-o", str(out), "--seed", "0", "--phase-iterations", k]
            )
            == 0
        )
        outs[k] = out.read_bytes()
    assert outs["0"] != outs["2"]
    assert (
        synth_main(
            [SHORT, "--voice", str(voice_dir), "-o", str(tmp_path / "x.wav"), "--phase-iterations", "-1"]
        )
        == 2
    )


def test_onnx_batch_and_stream_match_pytorch(onnx_synth: OnnxSynthesizer, torch_synth: Synthesizer) -> None:
    texts = [SHORT, TWO]
    batch = onnx_synth.synthesize_batch(texts, temperature=0.0)
    for a, b in zip(batch, torch_synth.synthesize_batch(texts, temperature=0.0)):
        assert len(a.samples) == len(b.samples) and a.tokens == b.tokens
        assert np.abs(a.samples - b.samples).max() < 1e-3
    one = onnx_synth.synthesize(TWO, temperature=0.0)
    chunks = list(onnx_synth.stream(TWO, temperature=0.0))
    assert len(chunks) >= 3  # sentence, pause, sentence (each in windows when long)
    np.testing.assert_allclose(np.concatenate([c.samples for c in chunks]), one.samples, atol=1e-4)


@pytest.mark.parametrize("iterations", [0, 2])
def test_onnx_streams_long_sentences_in_windows(voice_dir: Path, iterations: int) -> None:
    """The exported vocoder returns magnitude and phase, so a long sentence is vocoded in windows
    with the integrated phase carried across them: more than one chunk, same audio as one shot."""
    synth = OnnxSynthesizer.from_pretrained(voice_dir, threads=1, phase_iterations=iterations)
    torch_synth = Synthesizer.from_pretrained(
        voice_dir, threads=1, precision="fp32", phase_iterations=iterations
    )
    assert synth.context_frames == torch_synth.context_frames
    one = synth.synthesize(LONG, temperature=0.0)
    chunks = list(synth.stream(LONG, temperature=0.0))
    assert len(chunks) > 2 and len(chunks[0].samples) == synth.chunk_frames * 256
    joined = np.concatenate([c.samples for c in chunks])
    assert len(joined) == len(one.samples)
    assert np.abs(joined - one.samples).max() < 1e-3 * np.abs(one.samples).max()


def test_onnx_seed_reproducible_and_speakers_listed(onnx_synth: OnnxSynthesizer) -> None:
    a, b, c = (onnx_synth.synthesize(SHORT, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.samples, b.samples)
    assert not np.allclose(a.samples, c.samples)
    assert onnx_synth.speakers == list(SPEAKERS)
    with pytest.raises(ValueError, match="unknown speaker"):
        onnx_synth.synthesize(SHORT, speaker="nobody")
    with pytest.raises(ValueError, match="empty"):
        onnx_synth.synthesize("   ")


def test_numpy_durations_and_length_regulation_match_torch() -> None:
    import torch

    from tts.models.encoder.duration import durations_from_log as t_durations
    from tts.models.encoder.duration import regulate_length as t_regulate

    rng = np.random.default_rng(0)
    logw = rng.normal(1.0, 1.0, (3, 9)).astype(np.float32)
    mask = np.ones((3, 9), np.float32)
    mask[1, 6:] = 0
    for rounding in ("ceil", "round"):
        d = durations_from_log(logw, mask, 1.3, rounding)
        ref = t_durations(torch.from_numpy(logw), torch.from_numpy(mask), 1.3, rounding).numpy()
        np.testing.assert_array_equal(d, ref)
    mu = rng.normal(size=(3, 4, 9)).astype(np.float32)
    mu_y, y_mask, lengths = regulate_length(mu, d, multiple=4)
    t_mu, t_mask, t_len = (x.numpy() for x in t_regulate(torch.from_numpy(mu), torch.from_numpy(d)))
    n = t_mu.shape[-1]
    assert mu_y.shape[-1] % 4 == 0 and mu_y.shape[-1] - n < 4
    np.testing.assert_array_equal(lengths, t_len)
    np.testing.assert_allclose(mu_y[..., :n] * y_mask[..., :n], t_mu * t_mask)
    assert not y_mask[..., n:].any()


def test_runtime_does_not_import_torch(voice_dir: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from tts.runtime.onnx import OnnxSynthesizer; "
        f"s = OnnxSynthesizer.from_pretrained({str(voice_dir)!r}, threads=1); "
        f"s.synthesize('Hi there.', seed=0).save({str(tmp_path / 'x.wav')!r}); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "x.wav").stat().st_size > 1000


def test_missing_stale_and_broken_exports(voice_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "v"
    shutil.copytree(voice_dir, folder)
    (folder / "onnx" / "denoiser.onnx").write_bytes(b"not onnx")
    with pytest.raises(CheckpointError, match="denoiser.onnx"):
        OnnxSynthesizer.from_pretrained(folder)
    (folder / "onnx" / "denoiser.onnx").unlink()
    with pytest.raises(CheckpointError, match="missing denoiser.onnx"):
        OnnxSynthesizer.from_pretrained(folder)
    shutil.copy(voice_dir / "onnx" / "denoiser.onnx", folder / "onnx" / "denoiser.onnx")
    with open(folder / "vocoder.safetensors", "ab") as f:  # weights changed after the export
        f.write(b"\0" * 16)
    with pytest.raises(CheckpointError, match="re-export"):
        OnnxSynthesizer.from_pretrained(folder)
    shutil.rmtree(folder / "onnx")
    with pytest.raises(FileNotFoundError, match="export-onnx"):
        OnnxSynthesizer.from_pretrained(folder)


def test_cli_backends(
    voice_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tts-synth")
    out = tmp_path / "a.wav"

    def backend_of(*extra: str) -> str:
        caplog.clear()
        assert synth_main([SHORT, "--voice", str(voice_dir), "-o", str(out), "-v", *extra]) == 0
        assert out.stat().st_size > 1000
        return "onnx" if "onnx backend" in caplog.text else "torch" if "torch backend" in caplog.text else "?"

    assert backend_of("--seed", "0") == "onnx"
    assert backend_of("--backend", "torch") == "torch"
    assert backend_of("--precision", "bf16") == "torch"  # a torch-only option: auto picks PyTorch
    code = synth_main([SHORT, "--voice", str(voice_dir), "-o", str(out), "--backend=onnx", "--device=cuda"])
    assert code == 2 and "--device cuda" in capsys.readouterr().err
    no_export = build_tiny_voice(tmp_path / "plain")
    code = synth_main([SHORT, "--voice", str(no_export), "-o", str(tmp_path / "b.wav"), "--backend", "onnx"])
    assert code == 2 and "export-onnx" in capsys.readouterr().err
    assert not (tmp_path / "b.wav").exists()


def test_cli_auto_falls_back_to_torch_on_a_stale_export(
    voice_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "v"
    shutil.copytree(voice_dir, folder)
    m = json.loads((folder / "onnx" / "manifest.json").read_text())
    m["source_sizes"]["vocoder.safetensors"] += 1  # as if the vocoder had changed after the export
    (folder / "onnx" / "manifest.json").write_text(json.dumps(m))
    out = tmp_path / "a.wav"
    assert synth_main([SHORT, "--voice", str(folder), "-o", str(out)]) == 0
    assert "using PyTorch" in capsys.readouterr().err and out.is_file()
    code = synth_main([SHORT, "--voice", str(folder), "-o", str(out), "--backend", "onnx"])
    assert code == 2 and "re-export" in capsys.readouterr().err


def test_eval_tools_can_use_the_onnx_backend(voice_dir: Path) -> None:
    from tts.cli.eval import _load_synth

    assert isinstance(_load_synth(str(voice_dir), None, 1), OnnxSynthesizer)  # auto: the export, as tts-synth
    assert isinstance(_load_synth(str(voice_dir), None, 1, backend="onnx"), OnnxSynthesizer)
    assert isinstance(_load_synth(str(voice_dir), None, 1, precision="fp32", backend="torch"), Synthesizer)
    assert isinstance(_load_synth(str(voice_dir), "griffin-lim", 1), Synthesizer)  # torch-only option
    with pytest.raises(ValueError, match="vocoder"):
        _load_synth(str(voice_dir), "griffin-lim", 1, backend="onnx")


@pytest.mark.skipif(not (PRETRAINED / "onnx" / "manifest.json").is_file(), reason="no shipped ONNX export")
def test_shipped_onnx_export_is_from_the_shipped_weights() -> None:
    from tts.core.files import file_sha256

    m = json.loads((PRETRAINED / "onnx" / "manifest.json").read_text())
    for name, sha in m["sources"].items():
        assert file_sha256(PRETRAINED / name) == sha, f"pretrained/onnx is stale for {name}: re-export"
    synth = OnnxSynthesizer.from_pretrained(PRETRAINED, threads=1)
    audio = synth.synthesize("Hello world.", seed=0)
    assert 0.3 < audio.duration < 5.0 and np.abs(audio.samples).max() > 0.01
