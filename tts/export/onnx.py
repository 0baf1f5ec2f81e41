"""ONNX exports: a whole voice for the torch-free runtime (:mod:`tts.runtime.onnx`), or one vocoder.

    tts-voice export-onnx [--voice DIR] [--out DIR/onnx] [--opset 17] [--vocoder-weights int8|fp32]
                          [--denoiser-weights int8|fp32] [--vae-weights int8|fp32]

Writes four graphs and a manifest into ``VOICE/onnx/``::

    encoder.onnx      tokens (B, N) int64, lengths (B,), [speakers (B,)]
                      -> mu (B, C, N), x_mask (B, 1, N), logw (B, 1, N), [g (B, S)]
    denoiser.onnx     x (B, C, T), t (B,), mu (B, C, T), mask (B, 1, T), [g (B, S)] -> v (B, C, T)
                      (T a multiple of the U-Net's downsampling factor: the runtime pads)
    vae_decoder.onnx  z (B, C, T), lengths (B,) -> mel (B, M, T·r)
    vocoder.onnx      iSTFT vocoder: mel (B, M, T) -> log_mag, phase (B, n_fft/2+1, T); the inverse
                      STFT (and the optional phase refinement) is numpy, :mod:`tts.core.spectral`
                      other vocoders: mel (B, M, T) -> wav (B, T·hop) (:func:`export_onnx`)
    manifest.json     symbol table, speakers, audio and model settings, and the sha256 of the
                      three ``.safetensors`` files the graphs were made from

An iSTFT vocoder's ConvNeXt blocks are stored with int8 weights by default (``vocoder_weights``,
:func:`quantize_vocoder`): dynamic quantisation (Jacob et al. 2018: per-output-channel symmetric
int8 weights, each activation tensor quantised to uint8 on the fly), run by onnxruntime's integer
matrix kernels, exactly on every x86-64 CPU, VNNI or not (sessions from :mod:`tts.core.onnx_options`).
It roughly halves the vocoder network's time on a CPU for no measurable loss of quality (paired
scores in docs/benchmarks.md); the export is refused when the int8 waveform strays from the fp32
one (``MIN_INT8_SNR_DB``). The head stays fp32 (quantising it is slower and the phase needs the
precision); the PyTorch backend keeps its fp32/bf16 vocoder.

The denoiser's convolutions and the VAE decoder's convolutions and matrix products are stored as
int8 too by default (``denoiser_weights``, ``vae_weights``; :func:`quantize_static_graph`): static
quantisation (Jacob et al. 2018) in onnxruntime's QDQ form — per-output-channel symmetric int8 weights,
uint8 activations whose ranges are calibrated (min/max) on the inputs the voice itself gives these
graphs while speaking :data:`CALIBRATION_TEXTS` (every speaker, the voice's default steps and
guidance; :func:`calibration_inputs`). onnxruntime fuses them into integer kernels (``QLinearConv``),
exact on every x86-64 CPU with the same session options as the vocoder. Measured on the shipped voice
(AMD EPYC, 2 threads, docs/benchmarks.md): the U-Net 2.2x faster, a sentence end to end 13 % faster,
DistillMOS and WER on 100 held-out sentences unchanged. The export is refused when an int8 graph's
output on held-back calibration inputs strays from the fp32 graph's by more than ``MIN_INT8_SNR_DB``.

Only the networks are graphs; everything with data-dependent control flow (durations, length
regulation, the ODE sampler loop with classifier-free guidance, padding) is numpy in the runtime,
so every axis is dynamic and the graphs are traced once with the TorchScript exporter (no
onnxscript needed). Each graph is checked against PyTorch on an input of another length than the
one it was traced with, and the export is refused when they differ by more than ``tolerance``.

One vocoder alone (:func:`export_onnx`, run by :class:`tts.models.vocoder.onnx.OnnxVocoder`)::

    tts-voice export-vocoder --checkpoint vocoder.safetensors --out vocoder.onnx [--opset 17]

The graph has one input ``mel (B, M, T)`` and one output ``wav (B, T·hop)``, both with dynamic batch
and time axes. The iSTFT generator exports because its inverse STFT is real-valued
(:mod:`tts.models.vocoder.istft`); HiFi-GAN exports once weight norm is folded. The vocoder config is
stored in the model's metadata (``vocoder_config``), so :class:`~tts.models.vocoder.onnx.OnnxVocoder`
knows its audio settings. After writing, the export runs onnxruntime on a test input and refuses a
graph whose output differs from PyTorch's by more than ``--tolerance``.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from tts.core.config import to_dict
from tts.core.files import file_sha256
from tts.core.names import ONNX_DIR, ONNX_FORMAT, ONNX_MANIFEST, VOCODER_WEIGHTS
from tts.core.onnx_options import cpu_session
from tts.core.voice import ACOUSTIC_FILE, VAE_FILE, VOCODER_FILE
from tts.models.checkpoint import CheckpointError
from tts.models.vocoder.onnx import METADATA_KEY, OnnxVocoder
from tts.runtime.torch import load_voice

if TYPE_CHECKING:
    from tts.models.vocoder.generators import Vocoder


class _Encoder(nn.Module):
    """Text encoder + duration predictor (+ speaker embedding) as one graph."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.m = model

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor, speakers: torch.Tensor | None = None):
        g = None if speakers is None else self.m.speaker_emb(speakers)
        h, mu, x_mask = self.m.encoder(tokens, lengths, g)
        logw = self.m.duration(h, x_mask, g).reshape(x_mask.shape)
        return (mu, x_mask, logw) if g is None else (mu, x_mask, logw, g)


class _Denoiser(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x, t, mu, mask, g=None):
        return self.net(x, t, mu, mask, g)


class _VocoderSpectrum(nn.Module):
    def __init__(self, vocoder: nn.Module) -> None:
        super().__init__()
        self.vocoder = vocoder

    def forward(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.vocoder.log_magnitude_and_phase(mel)


class _VAEDecoder(nn.Module):
    def __init__(self, vae: nn.Module) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, z: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z, lengths)[0]


def _export(
    module: nn.Module, args: tuple, path: Path, names: list[str], outputs: list[str], axes: dict, opset: int
):
    module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,  # needs no onnxscript; the graphs have no data-dependent control flow
        )


def _max_difference(module: nn.Module, path: Path, inputs: dict[str, torch.Tensor]) -> float:
    sess = cpu_session(str(path))
    with torch.no_grad():
        ref = module(*inputs.values())
    ref = ref if isinstance(ref, tuple) else (ref,)
    got = sess.run(None, {k: v.numpy() for k, v in inputs.items()})
    return max(float(np.abs(r.numpy() - o).max()) for r, o in zip(ref, got))


MIN_INT8_SNR_DB = 20.0  #: an int8 graph whose output strays further from the fp32 graph's is refused


def quantize_vocoder(path: Path) -> int:
    """Rewrite the iSTFT vocoder graph at ``path`` with int8 weights in its ConvNeXt blocks'
    MatMuls (dynamic quantisation, per output channel; see the module docstring); returns how
    many MatMuls were quantised. Deterministic: the same graph gives the same bytes."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(path))
    nodes = [n.name for n in graph.graph.node if n.op_type == "MatMul" and "/blocks." in n.name]
    if not nodes:
        raise CheckpointError(f"{path}: no ConvNeXt block MatMuls to quantise")
    tmp = path.with_name(path.stem + ".int8.tmp.onnx")
    try:
        with _quiet_quantiser():
            quantize_dynamic(
                str(path),
                str(tmp),
                per_channel=True,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul"],
                nodes_to_quantize=nodes,
            )
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(nodes)


@contextmanager
def _quiet_quantiser() -> Iterator[None]:
    """onnxruntime's quantiser logs notes ("consider pre-processing", ...) on the root logger: only
    errors while it runs."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


#: what the voice speaks to calibrate the int8 graphs' activation ranges: statements, a question, an
#: exclamation, numbers, a long sentence (read in the voice's language; any text would do, these
#: cover the range of its inputs)
CALIBRATION_TEXTS = (
    "The birch canoe slid on the smooth planks.",
    "Where were you on the night of the third of March?",
    "What a wonderful surprise!",
    "It cost 42 dollars and 17 cents, or about 39 euros.",
    "A rather long sentence, with several clauses, keeps going for quite a while, "
    "and then, at last, it ends.",
    "Please call Stella.",
    "Glue the sheet to the dark blue background.",
    "She sells sea shells by the sea shore; the shells she sells are surely sea shells.",
)


def calibration_inputs(folder: Path, repeats: int = 2) -> dict[str, list[dict[str, np.ndarray]]]:
    """The inputs the voice in ``folder`` gives its denoiser and VAE decoder while speaking
    :data:`CALIBRATION_TEXTS` ``repeats`` times (each time with other seeds, every speaker in turn),
    through the PyTorch backend in fp32: ``{"denoiser": [...], "vae_decoder": [...]}``, each a list of
    feeds named as the graphs' inputs."""
    from tts.runtime.torch import Synthesizer

    synth = Synthesizer.from_pretrained(folder, threads=1, precision="fp32", phase_iterations=0)
    feeds: dict[str, list[dict[str, np.ndarray]]] = {"denoiser": [], "vae_decoder": []}
    denoiser, vae_decoder = synth._denoiser, synth._vae_decoder

    def record_denoiser(**inputs: np.ndarray | None) -> np.ndarray:
        feeds["denoiser"].append(
            {k: np.array(v, dtype=np.float32) for k, v in inputs.items() if v is not None}
        )
        return denoiser(**inputs)

    def record_vae(z: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        feeds["vae_decoder"].append({"z": np.array(z, np.float32), "lengths": np.array(lengths, np.int64)})
        return vae_decoder(z, lengths)

    synth._denoiser, synth._vae_decoder = record_denoiser, record_vae  # type: ignore[method-assign]
    speakers = synth.speakers or [None]
    k = 0
    for r in range(repeats):
        for text in CALIBRATION_TEXTS:
            synth.synthesize(text, seed=1000 * r + k, speaker=speakers[k % len(speakers)])
            k += 1
    return feeds


def quantize_static_graph(
    path: Path, feeds: list[dict[str, np.ndarray]], op_types: list[str], check_every: int = 4
) -> float:
    """Rewrite the graph at ``path`` with static int8 quantisation of its ``op_types`` nodes (QDQ,
    per-channel int8 weights, uint8 activations with min/max ranges calibrated on ``feeds``; see the
    module docstring). Every ``check_every``-th feed is held back from the calibration and used to
    measure the int8 output against the fp32 one: returns that signal-to-error ratio in dB (the
    first output, all held-back feeds together)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(feeds) < 2:
        raise CheckpointError(f"{path}: too few calibration inputs ({len(feeds)}) to quantise")
    fp32 = cpu_session(str(path))
    names = {i.name for i in fp32.get_inputs()}
    feeds = [{k: v for k, v in f.items() if k in names} for f in feeds]
    held = feeds[::check_every]
    calib = [f for i, f in enumerate(feeds) if i % check_every]

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(calib)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    ref = [fp32.run(None, f)[0] for f in held]
    pre = path.with_name(path.stem + ".pre.tmp.onnx")
    tmp = path.with_name(path.stem + ".int8.tmp.onnx")
    try:
        with _quiet_quantiser():
            quant_pre_process(str(path), str(pre), skip_symbolic_shape=True)
            quantize_static(
                str(pre),
                str(tmp),
                _Reader(),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=op_types,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        int8 = cpu_session(str(tmp))
        got = [int8.run(None, f)[0] for f in held]
        tmp.replace(path)
    finally:
        for t in (pre, tmp, pre.with_name(pre.name + ".data")):
            t.unlink(missing_ok=True)
    signal = sum(float(np.sum(r.astype(np.float64) ** 2)) for r in ref)
    error = sum(float(np.sum((r.astype(np.float64) - g) ** 2)) for r, g in zip(ref, got))
    return float(10 * np.log10(signal / max(error, 1e-20)))


def export_onnx(generator: Vocoder, path: str | Path, config: dict | None = None, opset: int = 17) -> Path:
    """Write ``generator`` (weight norm already folded, eval mode) as ONNX with dynamic B and T axes."""
    try:
        import onnx
    except ImportError as e:
        raise ImportError("ONNX export needs the onnx package: pip install 'latent-tts[onnx]'") from e

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n_mels = generator.audio.n_mels
    example = torch.randn(1, n_mels, 32) - 5.0  # a plausible log-mel level; values do not shape the graph
    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter is deprecated in favour of the dynamo one, which needs onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            generator,
            (example,),
            str(p),
            input_names=["mel"],
            output_names=["wav"],
            dynamic_axes={"mel": {0: "batch", 2: "frames"}, "wav": {0: "batch", 1: "samples"}},
            opset_version=opset,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles these graphs
        )
    model = onnx.load(str(p))
    if config is not None:
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, json.dumps(config)
    onnx.checker.check_model(model)
    onnx.save(model, str(p))
    return p


def max_abs_difference(generator: Vocoder, onnx_path: str | Path, n_frames: int = 50, seed: int = 0) -> float:
    """Largest |eager - onnxruntime| sample on a random log-mel of ``n_frames`` frames."""
    gen = torch.Generator().manual_seed(seed)
    mel = torch.randn(1, generator.audio.n_mels, n_frames, generator=gen) - 5.0
    with torch.no_grad():
        eager = generator(mel)
    onnx_out = OnnxVocoder(onnx_path, threads=1)(mel)
    return float((eager - onnx_out).abs().max())


def export_voice_onnx(
    voice_dir: str | Path | None = None,
    out: str | Path | None = None,
    opset: int = 17,
    tolerance: float = 1e-3,
    vocoder_weights: str = "int8",
    denoiser_weights: str = "int8",
    vae_weights: str = "int8",
) -> Path:
    """Export the voice in ``voice_dir`` (default: the shipped one) to ``out`` (default
    ``VOICE/onnx``); returns the folder. Raises ``CheckpointError`` when a graph's onnxruntime
    output differs from PyTorch's by more than ``tolerance`` (the fp32 graphs, before an iSTFT
    vocoder is quantised) or the int8 vocoder's waveform is under ``MIN_INT8_SNR_DB`` from the fp32
    one, or an int8 denoiser's or VAE decoder's output is under it from its fp32 graph's.
    ``vocoder_weights``: "int8" (default; iSTFT vocoders only, others stay fp32) or "fp32";
    ``denoiser_weights``, ``vae_weights``: "int8" (default, statically quantised) or "fp32"."""
    for name, value in (
        ("vocoder_weights", vocoder_weights),
        ("denoiser_weights", denoiser_weights),
        ("vae_weights", vae_weights),
    ):
        if value not in VOCODER_WEIGHTS:
            raise ValueError(f"{name} must be one of {VOCODER_WEIGHTS}, got {value!r}")
    from tts.models.vocoder.generators import ISTFTGenerator, Vocoder
    from tts.models.vocoder.load import read_vocoder

    voice = load_voice(voice_dir, precision="fp32", phase_iterations=0)  # refinement runs in numpy
    folder = voice.folder
    voc_file = folder / VOCODER_FILE
    if not isinstance(voice.vocoder, Vocoder) or not voc_file.is_file():
        raise CheckpointError(f"{folder} has no {VOCODER_FILE}: the ONNX runtime needs a trained vocoder")
    out_dir = Path(out) if out is not None else folder / ONNX_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    model, vae = voice.acoustic.eval(), voice.vae.eval()
    net = model.decoder.net
    multi = model.speaker_emb is not None
    torch.manual_seed(0)
    diffs: dict[str, float] = {}

    # encoder + durations: traced at N = 23, checked at N = 31 with a shorter second item
    tok = torch.randint(1, len(voice.tokenizer.symbols), (2, 23))
    enc_in = {"tokens": tok, "lengths": torch.tensor([23, 17])}
    enc_out, enc_axes = ["mu", "x_mask", "logw"], {"tokens": {0: "B", 1: "N"}, "lengths": {0: "B"}}
    if multi:
        enc_in["speakers"] = torch.zeros(2, dtype=torch.long)
        enc_out.append("g")
        enc_axes["speakers"] = {0: "B"}
    enc_axes.update(
        {"mu": {0: "B", 2: "N"}, "x_mask": {0: "B", 2: "N"}, "logw": {0: "B", 2: "N"}, "g": {0: "B"}}
    )
    enc = _Encoder(model)
    _export(enc, tuple(enc_in.values()), out_dir / "encoder.onnx", list(enc_in), enc_out, enc_axes, opset)
    check = dict(
        enc_in, tokens=torch.randint(1, len(voice.tokenizer.symbols), (2, 31)), lengths=torch.tensor([31, 12])
    )
    if multi:
        check["speakers"] = torch.tensor([0, len(voice.speakers) - 1])
    diffs["encoder"] = _max_difference(enc, out_dir / "encoder.onnx", check)

    # denoiser: traced at a length that needs no padding (the runtime pads), checked at another
    c, f = net.conv_out.out_channels, net.factor

    def den_inputs(b: int, t: int) -> dict[str, torch.Tensor]:
        mask = torch.ones(b, 1, t)
        mask[-1, :, t // 2 :] = 0
        d = {"x": torch.randn(b, c, t), "t": torch.full((b,), 0.3), "mu": torch.randn(b, c, t), "mask": mask}
        if multi:
            d["g"] = model.speaker_emb(torch.zeros(b, dtype=torch.long)).detach()
        return d

    den_in = den_inputs(2, 8 * f)
    den_axes = {k: {0: "B", 2: "T"} for k in ("x", "mu", "mask", "v")} | {"t": {0: "B"}, "g": {0: "B"}}
    den = _Denoiser(net)
    _export(den, tuple(den_in.values()), out_dir / "denoiser.onnx", list(den_in), ["v"], den_axes, opset)
    diffs["denoiser"] = _max_difference(den, out_dir / "denoiser.onnx", den_inputs(3, 13 * f))

    # VAE decoder
    lat = vae.cfg.latent_channels
    dec = _VAEDecoder(vae)
    dec_axes = {"z": {0: "B", 2: "T"}, "lengths": {0: "B"}, "mel": {0: "B", 2: "F"}}
    _export(
        dec,
        (torch.randn(2, lat, 20), torch.tensor([20, 11])),
        out_dir / "vae_decoder.onnx",
        ["z", "lengths"],
        ["mel"],
        dec_axes,
        opset,
    )
    diffs["vae_decoder"] = _max_difference(
        dec, out_dir / "vae_decoder.onnx", {"z": torch.randn(2, lat, 33), "lengths": torch.tensor([33, 9])}
    )

    voc = voice.vocoder
    if isinstance(voc, ISTFTGenerator):  # the spectrum; numpy does the inverse STFT (faster)
        from tts.core.spectral import istft

        spec = _VocoderSpectrum(voc)
        axes = {"mel": {0: "B", 2: "T"}, "log_mag": {0: "B", 2: "T"}, "phase": {0: "B", 2: "T"}}
        mel = torch.randn(1, voice.audio.n_mels, 40) - 5.0
        _export(spec, (mel,), out_dir / "vocoder.onnx", ["mel"], ["log_mag", "phase"], axes, opset)
        mel_check = torch.randn(2, voice.audio.n_mels, 57) - 5.0

        def onnx_wav() -> np.ndarray:
            sess = cpu_session(str(out_dir / "vocoder.onnx"))  # exact int8 on every x86 CPU
            log_mag, phase = sess.run(None, {"mel": mel_check.numpy()})
            spec_np = np.exp(log_mag) * (np.cos(phase) + 1j * np.sin(phase))
            return istft(spec_np.astype(np.complex64), voice.audio.n_fft, voice.audio.hop_length)

        with torch.no_grad():
            ref = voc(mel_check).numpy()
        diffs["vocoder"] = float(np.abs(ref - onnx_wav()).max())
        if vocoder_weights == "int8":
            quantize_vocoder(out_dir / "vocoder.onnx")
            err = ref - onnx_wav()
            int8_snr = float(10 * np.log10(np.sum(ref**2) / max(float(np.sum(err**2)), 1e-20)))
            if not int8_snr >= MIN_INT8_SNR_DB:
                raise CheckpointError(
                    f"the int8 vocoder is {int8_snr:.1f} dB from the fp32 one (< {MIN_INT8_SNR_DB:g}); "
                    "export with --vocoder-weights fp32"
                )
        vocoder_output = "spectrum"
        vocoder_context = int(voc._receptive_frames)  # without phase refinement (added at run time)
    else:  # its own exporter (metadata with the vocoder config)
        voc_cfg, _, _ = read_vocoder(voc_file)
        export_onnx(voc, out_dir / "vocoder.onnx", config=to_dict(voc_cfg), opset=opset)
        diffs["vocoder"] = max_abs_difference(voc, out_dir / "vocoder.onnx")
        vocoder_output = "wav"
        vocoder_context = int(voc.context_frames)
    quantized = vocoder_output == "spectrum" and vocoder_weights == "int8"

    bad = {k: v for k, v in diffs.items() if not v <= tolerance}
    if bad:
        raise CheckpointError(f"onnxruntime differs from PyTorch by more than {tolerance:g}: {bad}")

    # the denoiser and the VAE decoder: int8, calibrated on what the voice feeds them
    static = {  # graph: (its node types to quantise, the option that keeps it fp32)
        "denoiser": (["Conv"], "--denoiser-weights"),
        "vae_decoder": (["Conv", "MatMul"], "--vae-weights"),
    }
    if denoiser_weights != "int8":
        del static["denoiser"]
    if vae_weights != "int8":
        del static["vae_decoder"]
    snrs: dict[str, float] = {}
    if static:
        feeds = calibration_inputs(folder)
        for g, (ops, flag) in static.items():
            snrs[g] = quantize_static_graph(out_dir / f"{g}.onnx", feeds[g], ops)
            if not snrs[g] >= MIN_INT8_SNR_DB:
                raise CheckpointError(
                    f"the int8 {g} is {snrs[g]:.1f} dB from the fp32 one (< {MIN_INT8_SNR_DB:g}); "
                    f"export with {flag} fp32"
                )
    mcfg = model.cfg
    manifest: dict[str, Any] = {
        "format": ONNX_FORMAT,
        "sources": {name: file_sha256(folder / name) for name in (ACOUSTIC_FILE, VAE_FILE, VOCODER_FILE)},
        # checked at every load (cheap); the sha256 above by the tests of the shipped voice
        "source_sizes": {
            name: (folder / name).stat().st_size for name in (ACOUSTIC_FILE, VAE_FILE, VOCODER_FILE)
        },
        "tokenizer": voice.tokenizer.to_dict(),
        "speakers": list(voice.speakers),
        "add_blank": voice.add_blank,
        "audio": to_dict(voice.audio),
        "speaker_conditioned": multi,
        "latent_channels": c,
        "unet_factor": f,
        "vae_downsample": int(vae.cfg.downsample),
        "sigma_min": float(model.decoder.cfg.sigma_min),
        "vocoder_output": vocoder_output,
        "vocoder_integrates_phase": bool(getattr(voc, "integrates_phase", False)),
        "vocoder_context_frames": vocoder_context,
        # int8: the ConvNeXt blocks' weights; max_difference["vocoder"] is the fp32 graph's, and
        # vocoder_int8_snr_db the int8 waveform's signal-to-error ratio to the fp32 one
        "vocoder_weights": "int8" if quantized else "fp32",
        **({"vocoder_int8_snr_db": round(int8_snr, 2)} if quantized else {}),
        # int8 (static, calibrated): *_int8_snr_db, the output's signal-to-error ratio to the fp32
        # graph's on held-back calibration inputs; max_difference is the fp32 graph's
        "denoiser_weights": "int8" if "denoiser" in static else "fp32",
        "vae_decoder_weights": "int8" if "vae_decoder" in static else "fp32",
        **{f"{g}_int8_snr_db": round(v, 2) for g, v in snrs.items()},
        "defaults": {
            "steps": mcfg.steps,
            "temperature": mcfg.temperature,
            "sampler": mcfg.sampler,
            "duration_rounding": mcfg.duration.rounding,
        },
        "max_difference": diffs,
        "opset": opset,
    }
    (out_dir / ONNX_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return out_dir
