"""ONNX export of a vocoder, and an onnxruntime-backed vocoder with the same call interface.

    tts-voice export-vocoder --checkpoint vocoder.safetensors --out vocoder.onnx [--opset 17]

The graph has one input ``mel (B, M, T)`` and one output ``wav (B, T·hop)``, both with dynamic batch
and time axes. The iSTFT generator exports because its inverse STFT is real-valued
(:mod:`tts.vocoder.istft`); HiFi-GAN exports once weight norm is folded. The vocoder config is
stored in the model's metadata (``vocoder_config``), so :class:`OnnxVocoder` knows its audio settings.
After writing, the export runs onnxruntime on a test input and refuses a graph whose output
differs from PyTorch's by more than ``--tolerance``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from tts.audio import AudioConfig
from tts.config import from_dict
from tts.onnx_options import cpu_session
from tts.vocoder.generators import Vocoder

METADATA_KEY = "vocoder_config"


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


class OnnxVocoder(Vocoder):
    """A vocoder run by onnxruntime on the CPU. ``forward(mel: (B, M, T)) -> wav (B, T·hop)``.

    Tensors in, tensors out (on the input's device), like the PyTorch generators; ``audio`` is the
    AudioConfig stored at export (the default one when the file has no metadata).
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        try:
            import onnxruntime  # noqa: F401
        except ImportError as e:
            raise ImportError(
                "running an ONNX vocoder needs onnxruntime: pip install 'latent-tts[onnx]'"
            ) from e

        from tts.checkpoint import CheckpointError

        if not Path(path).is_file():
            raise CheckpointError(f"ONNX vocoder not found: {path}")
        try:
            self.session = cpu_session(str(path), threads or torch.get_num_threads(), spin=True)
        except Exception as e:  # onnxruntime raises its own exception types for bad files
            raise CheckpointError(f"{path} is not a loadable ONNX model: {e}") from e
        meta = self.session.get_modelmeta().custom_metadata_map
        cfg = json.loads(meta[METADATA_KEY]) if METADATA_KEY in meta else {}
        self.audio = from_dict(AudioConfig, cfg.get("audio"))
        istft = cfg.get("istft") or {}
        self.integrates_phase = istft.get("phase") == "instantaneous"
        if cfg.get("generator") == "istft":  # receptive field, as ISTFTGenerator.context_frames
            from tts.vocoder.generators import ISTFTGeneratorConfig, istft_context_frames

            layers = istft.get("num_layers", ISTFTGeneratorConfig.num_layers)
            kernel = istft.get("kernel_size", ISTFTGeneratorConfig.kernel_size)
            self.context_frames = istft_context_frames(layers, kernel, self.audio)
        self.path = Path(path)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        from tts.vocoder.generators import check_mel

        check_mel(mel, self.audio.n_mels)
        x = mel.detach().to("cpu", torch.float32).contiguous().numpy()
        (wav,) = self.session.run(["wav"], {"mel": x})
        return torch.from_numpy(np.ascontiguousarray(wav)).to(mel.device)


def max_abs_difference(generator: Vocoder, onnx_path: str | Path, n_frames: int = 50, seed: int = 0) -> float:
    """Largest |eager - onnxruntime| sample on a random log-mel of ``n_frames`` frames."""
    gen = torch.Generator().manual_seed(seed)
    mel = torch.randn(1, generator.audio.n_mels, n_frames, generator=gen) - 5.0
    with torch.no_grad():
        eager = generator(mel)
    onnx_out = OnnxVocoder(onnx_path, threads=1)(mel)
    return float((eager - onnx_out).abs().max())
