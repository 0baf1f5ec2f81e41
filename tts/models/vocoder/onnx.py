"""An exported vocoder graph run by onnxruntime behind the PyTorch vocoder interface: :class:`OnnxVocoder`.

The graph (``tts-voice export-vocoder``, :func:`tts.export.onnx.export_onnx`) has one input
``mel (B, M, T)`` and one output ``wav (B, T·hop)``; the vocoder config is stored in the model's
metadata (``vocoder_config``), so :class:`OnnxVocoder` knows its audio settings. It is what
:func:`tts.models.vocoder.load.load_vocoder` returns for an ``.onnx`` file (the PyTorch backend's
``vocoder="onnx"``). Tensors in and out: it imports torch (the torch-free runtime,
:mod:`tts.runtime.onnx`, runs a voice's graphs itself).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from tts.audio import AudioConfig
from tts.core.config import from_dict
from tts.core.onnx_options import cpu_session
from tts.models.vocoder.generators import Vocoder

METADATA_KEY = "vocoder_config"


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

        from tts.models.checkpoint import CheckpointError

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
            from tts.models.vocoder.generators import ISTFTGeneratorConfig, istft_context_frames

            layers = istft.get("num_layers", ISTFTGeneratorConfig.num_layers)
            kernel = istft.get("kernel_size", ISTFTGeneratorConfig.kernel_size)
            self.context_frames = istft_context_frames(layers, kernel, self.audio)
        self.path = Path(path)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        from tts.models.vocoder.generators import check_mel

        check_mel(mel, self.audio.n_mels)
        x = mel.detach().to("cpu", torch.float32).contiguous().numpy()
        (wav,) = self.session.run(["wav"], {"mel": x})
        return torch.from_numpy(np.ascontiguousarray(wav)).to(mel.device)
