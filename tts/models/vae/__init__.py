"""Mel VAE: 80-bin log-mel ↔ C-channel latent at 1/r of the mel frame rate (see ``mel_vae.py``)."""

from tts.models.vae.mel_vae import MelVAE, MelVAEConfig, load_vae, vae_loss

__all__ = ["MelVAE", "MelVAEConfig", "load_vae", "vae_loss"]
