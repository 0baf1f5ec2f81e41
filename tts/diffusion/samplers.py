"""The ODE samplers live in :mod:`tts.samplers` (torch-free, shared with the ONNX runtime)."""

from tts.samplers import SAMPLERS, VelocityFn, sample_dpmpp_2m, sample_euler, sample_heun

__all__ = ["SAMPLERS", "VelocityFn", "sample_dpmpp_2m", "sample_euler", "sample_heun"]
