"""The networks, in PyTorch: acoustic model (:mod:`~tts.models.acoustic`: encoder, durations and the
latent diffusion decoder), mel VAE, vocoders, their shared layers (:mod:`~tts.models.nn`), weight
files (:mod:`~tts.models.checkpoint`) and inference precision (:mod:`~tts.models.precision`)."""
