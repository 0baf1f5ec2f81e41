"""latent-tts: small, fast, trainable text-to-speech (latent mel diffusion + iSTFT vocoder)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["OnnxSynthesizer", "Synthesizer", "__version__", "load"]

if TYPE_CHECKING:
    from tts.runtime.load import load
    from tts.runtime.onnx import OnnxSynthesizer
    from tts.runtime.torch import Synthesizer


def __getattr__(name: str) -> Any:  # lazy: `import tts` must not import torch
    if name == "load":  # torch-free until it picks the PyTorch backend
        from tts.runtime.load import load

        return load
    if name == "Synthesizer":
        from tts.runtime.load import prefer_passive_openmp

        prefer_passive_openmp()  # before torch loads (tts.runtime.load: spinning threads under load)
        from tts.runtime.torch import Synthesizer

        return Synthesizer
    if name == "OnnxSynthesizer":  # torch-free
        from tts.runtime.onnx import OnnxSynthesizer

        return OnnxSynthesizer
    raise AttributeError(name)
