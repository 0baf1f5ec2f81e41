"""The int8 graphs compute the same numbers on every x86-64 CPU (``tts.core.onnx_options``): the
vocoder's dynamically quantised blocks, and the statically quantised (QDQ) denoiser and VAE decoder.

The host may have VNNI (exact int8 products) or not (AVX2's saturating u8s8 path): to test the
other kind of CPU wherever the suite runs, the graph is also run under ``qemu-x86_64 -cpu Haswell``,
an AVX2 CPU without AVX-512 or VNNI, emulated (Debian ``qemu-user``; skipped without it). The
outputs with the project's session options must equal the host's; the same graph with onnxruntime's
default options is also run there, to show the emulated CPU really takes the saturating path for
this graph (else the test could not fail).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_voice import build_tiny_voice

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from tts.cli.voice import main as voice_main  # noqa: E402

QEMU = shutil.which("qemu-x86_64")

# Runs in a fresh interpreter (native or emulated): the int8 graph with the project's options and
# with onnxruntime's defaults, on one fixed mel; saves both outputs.
RUNNER = """
import sys
import numpy as np
import onnxruntime as ort
from tts.core.onnx_options import session_options

graph, mel, out = sys.argv[1:4]
feed = dict(np.load(mel)) if mel.endswith(".npz") else {"mel": np.load(mel)}
exact = ort.InferenceSession(graph, session_options(1), providers=["CPUExecutionProvider"])
plain = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
np.savez(out, exact=exact.run(None, feed)[0], plain=plain.run(None, feed)[0])
"""
PRETRAINED_ONNX = Path(__file__).resolve().parents[1] / "pretrained" / "onnx"


@pytest.fixture(scope="module")
def int8_vocoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_tiny_voice(tmp_path_factory.mktemp("voice"), vocoder_phase="instantaneous")
    assert voice_main(["export-onnx", "--voice", str(folder)]) == 0  # int8 by default
    return folder / "onnx" / "vocoder.onnx"


def _run(
    cmd_prefix: list[str], graph: Path, tmp: Path, name: str, feed: Path | None = None
) -> dict[str, np.ndarray]:
    mel = feed or tmp / "mel.npy"
    if not mel.exists():
        rng = np.random.default_rng(0)
        np.save(mel, (rng.standard_normal((1, 80, 48)) * 2.0 - 4.0).astype(np.float32))
    out = tmp / f"{name}.npz"
    script = tmp / "runner.py"
    script.write_text(RUNNER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run(
        [*cmd_prefix, sys.executable, str(script), str(graph), str(mel), str(out)],
        check=True,
        env=env,
        timeout=600,
        capture_output=True,
    )
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("vnni", [True, False])
def test_session_options_ask_for_exact_int8_where_vnni_is_missing(
    vnni: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exact (u8u8) kernels only where the fast ones can saturate: onnxruntime would apply the
    switch on VNNI CPUs too, where it only costs time."""
    import tts.core.onnx_options as oo

    monkeypatch.setattr(oo, "int8_needs_exact_kernels", lambda: not vnni)
    opts = oo.session_options(3)
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert opts.intra_op_num_threads == 3 and opts.inter_op_num_threads == 1
    if vnni:
        with pytest.raises(Exception, match="config"):  # onnxruntime: no such entry
            opts.get_session_config_entry(oo.EXACT_INT8_KEY)
    else:
        assert opts.get_session_config_entry(oo.EXACT_INT8_KEY) == "1"


def test_the_cpu_probe_reads_cpuid() -> None:
    """numpy's CPUID probe answers (a VNNI flag is there to read) on any x86-64 CPU."""
    from tts.core.onnx_options import int8_needs_exact_kernels

    assert isinstance(int8_needs_exact_kernels(), bool)


@pytest.mark.skipif(QEMU is None, reason="needs qemu-x86_64 (Debian qemu-user) to emulate an AVX2-only CPU")
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 only")
def test_int8_vocoder_equal_on_avx2_without_vnni(int8_vocoder: Path, tmp_path: Path) -> None:
    host = _run([], int8_vocoder, tmp_path, "host")
    avx2 = _run([str(QEMU), "-cpu", "Haswell"], int8_vocoder, tmp_path, "avx2")
    # the project's options: the same integer arithmetic on both CPUs (float rounding at most)
    np.testing.assert_allclose(avx2["exact"], host["exact"], atol=1e-4)
    # onnxruntime's defaults on the emulated AVX2 CPU saturate: the test sees the failure it guards
    # against (on a VNNI host the defaults are exact, so "plain" equals "exact" there)
    assert np.abs(avx2["plain"] - host["exact"]).max() > 1e-2


@pytest.mark.skipif(QEMU is None, reason="needs qemu-x86_64 (Debian qemu-user) to emulate an AVX2-only CPU")
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 only")
@pytest.mark.parametrize("graph", ["denoiser", "vae_decoder"])
def test_shipped_int8_graphs_equal_on_avx2_without_vnni(graph: str, tmp_path: Path) -> None:
    """The shipped voice's statically quantised graphs (QLinearConv / QLinearMatMul once onnxruntime
    fuses them): the same numbers on the emulated AVX2 CPU as on the host with the project's
    options, while onnxruntime's defaults saturate there (the real weights and activation ranges
    are large enough to; measured 8 % and 17 % of the output's peak)."""
    import json

    manifest = json.loads((PRETRAINED_ONNX / "manifest.json").read_text())
    if manifest.get(f"{graph}_weights") != "int8":
        pytest.skip(f"the shipped {graph} graph is not int8")
    rng = np.random.default_rng(0)
    t, c = 100, int(manifest["latent_channels"])
    if graph == "denoiser":
        feed = {
            "x": rng.standard_normal((1, c, t)).astype(np.float32),
            "t": np.array([0.3], np.float32),
            "mu": (2.0 * rng.standard_normal((1, c, t))).astype(np.float32),
            "mask": np.ones((1, 1, t), np.float32),
        }
        import onnxruntime as ort

        inputs = {
            i.name: i.shape for i in ort.InferenceSession(str(PRETRAINED_ONNX / "denoiser.onnx")).get_inputs()
        }
        if "g" in inputs:
            feed["g"] = rng.standard_normal((1, int(inputs["g"][1]))).astype(np.float32)
    else:
        feed = {"z": (2.0 * rng.standard_normal((1, c, t))).astype(np.float32), "lengths": np.array([t])}
    path = tmp_path / "feed.npz"
    np.savez(path, **feed)
    host = _run([], PRETRAINED_ONNX / f"{graph}.onnx", tmp_path, "host", path)
    avx2 = _run([str(QEMU), "-cpu", "Haswell"], PRETRAINED_ONNX / f"{graph}.onnx", tmp_path, "avx2", path)
    peak = np.abs(host["exact"]).max()
    np.testing.assert_allclose(avx2["exact"], host["exact"], atol=1e-5 * peak)
    assert np.abs(avx2["plain"] - host["exact"]).max() > 1e-2 * peak
