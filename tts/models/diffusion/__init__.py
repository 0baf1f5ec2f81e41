"""Latent diffusion decoder: ``denoiser`` (the 1-D U-Net), ``objective`` (OT-CFM loss, guidance,
sampling wrapper) and ``samplers`` (Euler, Heun, DPM-Solver++(2M))."""

from tts.core.samplers import SAMPLERS, sample_dpmpp_2m, sample_euler, sample_heun
from tts.models.diffusion.denoiser import DenoiserConfig, UNet1d
from tts.models.diffusion.objective import FlowConfig, FlowMatching

__all__ = [
    "SAMPLERS",
    "DenoiserConfig",
    "FlowConfig",
    "FlowMatching",
    "UNet1d",
    "sample_dpmpp_2m",
    "sample_euler",
    "sample_heun",
]
