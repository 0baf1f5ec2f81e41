"""The acoustic model: phonemes -> VAE latents.

``AcousticModel`` = phoneme encoder (``tts/models/encoder``: ids -> h, mu) + duration predictor + length
regulator, aligned in training by monotonic alignment search, + the latent flow-matching decoder
(``tts/models/diffusion``). Grad-TTS (Popov et al., 2021) / Matcha-TTS (Mehta et al., 2024) recipe,
operating on VAE latents instead of mels.

Training losses (``forward``), each a per-element mean:
- prior: NLL of the latents under N(mu_expanded, I) along the MAS path (Grad-TTS "encoder loss");
  it is what makes MAS find sensible alignments and gives the decoder a meaningful condition;
- duration: MSE between predicted and MAS log durations (Glow-TTS);
- diffusion: the OT-CFM velocity loss of the decoder at a random time (``objective.py``).

Inference (``synthesize``): encode -> predict durations -> expand mu -> integrate the decoder's
ODE from temperature-scaled noise with a few sampler steps.

Letters: B batch, N tokens, T latent frames, C latent channels, D encoder width, S speaker width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tts.core.samplers import SAMPLERS
from tts.models.diffusion.denoiser import DenoiserConfig
from tts.models.diffusion.objective import FlowConfig, FlowMatching, gaussian_noise
from tts.models.encoder.alignment import gaussian_log_likelihood, monotonic_alignment_search
from tts.models.encoder.duration import (
    DurationConfig,
    DurationPredictor,
    durations_from_log,
    expand,
    regulate_length,
)
from tts.models.encoder.text_encoder import TextEncoder, TextEncoderConfig
from tts.models.nn import length_mask


@dataclass(frozen=True)
class AcousticConfig:
    """Acoustic model configuration (stored in every checkpoint; rebuilt from it on load)."""

    n_symbols: int = 256  # tokenizer size; the training stage sets it from the data's tokenizer
    n_speakers: int = 1  # 1 = single speaker (no speaker embedding)
    latent_channels: int = 16  # C of the VAE latent; set from the cached latents
    speaker_dim: int = 64  # S, width of the shared speaker embedding
    encoder: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    duration: DurationConfig = field(default_factory=DurationConfig)
    decoder: DenoiserConfig = field(default_factory=DenoiserConfig)
    flow: FlowConfig = field(default_factory=FlowConfig)
    prior_weight: float = 1.0
    duration_weight: float = 1.0
    diffusion_weight: float = 1.0
    # Inference defaults (each can be overridden per call).
    steps: int = 4
    temperature: float = 0.667
    sampler: str = "euler"

    def __post_init__(self) -> None:
        if self.n_symbols < 2:
            raise ValueError(f"n_symbols must be >= 2, got {self.n_symbols}")
        if self.n_speakers < 1:
            raise ValueError(f"n_speakers must be >= 1, got {self.n_speakers}")
        if self.latent_channels < 1:
            raise ValueError(f"latent_channels must be >= 1, got {self.latent_channels}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; choose from {sorted(SAMPLERS)}")
        if self.steps < 1 or self.temperature < 0:
            raise ValueError("steps must be >= 1 and temperature >= 0")

    @property
    def multi_speaker(self) -> bool:
        return self.n_speakers > 1


class AcousticModel(nn.Module):
    """Phoneme encoder + durations + latent flow-matching decoder."""

    def __init__(self, cfg: AcousticConfig) -> None:
        super().__init__()
        self.cfg = cfg
        s = cfg.speaker_dim if cfg.multi_speaker else 0
        self.speaker_emb = nn.Embedding(cfg.n_speakers, s) if s else None
        self.encoder = TextEncoder(cfg.encoder, cfg.n_symbols, cfg.latent_channels, s)
        self.duration = DurationPredictor(cfg.duration, cfg.encoder.dim, s)
        self.decoder = FlowMatching(cfg.flow, cfg.decoder, cfg.latent_channels, s)

    def _speaker(
        self, speakers: torch.Tensor | None, batch: int, device: torch.device
    ) -> torch.Tensor | None:
        if self.speaker_emb is None:
            return None
        if speakers is None:
            speakers = torch.zeros(batch, dtype=torch.long, device=device)
        if speakers.shape != (batch,):
            raise ValueError(f"speakers must have shape ({batch},), got {tuple(speakers.shape)}")
        if int(speakers.min()) < 0 or int(speakers.max()) >= self.cfg.n_speakers:
            raise ValueError(f"speaker ids must be in [0, {self.cfg.n_speakers}), got {speakers.tolist()}")
        return self.speaker_emb(speakers)

    def _check_tokens(self, tokens: torch.Tensor, token_lengths: torch.Tensor) -> None:
        if tokens.dim() != 2 or token_lengths.shape != tokens.shape[:1]:
            raise ValueError(f"tokens must be (B, N) with token_lengths (B,), got {tuple(tokens.shape)}")
        if int(token_lengths.min()) < 1 or int(token_lengths.max()) > tokens.shape[1]:
            raise ValueError(f"token_lengths must be in [1, {tokens.shape[1]}], got {token_lengths.tolist()}")
        if int(tokens.min()) < 0 or int(tokens.max()) >= self.cfg.n_symbols:
            raise ValueError(f"token ids must be in [0, {self.cfg.n_symbols}) (tokenizer/model mismatch?)")

    def forward(
        self,
        tokens: torch.Tensor,
        token_lengths: torch.Tensor,
        latents: torch.Tensor,
        latent_lengths: torch.Tensor,
        speakers: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Training losses.

        tokens: (B, N) long, token_lengths: (B,), latents: (B, C, T), latent_lengths: (B,),
        speakers: (B,) long or None -> dict of scalar ``loss``, ``prior_loss``, ``duration_loss``,
        ``diffusion_loss``, plus for logging ``attn`` (B, N, T) MAS path, ``durations`` (B, N) MAS
        durations, ``log_durations`` (B, N) predicted and ``mu_expanded`` (B, C, T).
        ``generator`` fixes the flow-matching noise and times (deterministic validation).
        """
        self._check_tokens(tokens, token_lengths)
        if latents.dim() != 3 or latents.shape[1] != self.cfg.latent_channels:
            raise ValueError(
                f"latents must be (B, {self.cfg.latent_channels}, T), got {tuple(latents.shape)}"
            )
        b = tokens.shape[0]
        g = self._speaker(speakers, b, tokens.device)
        h, mu, x_mask = self.encoder(tokens, token_lengths, g)
        logw = self.duration(h.detach(), x_mask, g)
        y_mask = length_mask(latent_lengths, latents.shape[-1], latents.dtype)
        latents = latents * y_mask

        with torch.no_grad():
            log_p = gaussian_log_likelihood(latents, mu)
            attn, durations = monotonic_alignment_search(log_p, token_lengths, latent_lengths)
        mu_y = expand(mu, attn)

        n_frames = y_mask.sum() * self.cfg.latent_channels
        prior = (0.5 * ((latents - mu_y) ** 2 + math.log(2 * math.pi)) * y_mask).sum() / n_frames
        logw_target = torch.log(durations.clamp(min=1).float()) * x_mask[:, 0]
        duration = ((logw.float() - logw_target) ** 2).sum() / token_lengths.sum()
        diffusion = self.decoder.loss(latents, y_mask, mu_y, g, generator=generator)
        c = self.cfg
        loss = c.prior_weight * prior + c.duration_weight * duration + c.diffusion_weight * diffusion
        return {
            "loss": loss,
            "prior_loss": prior.detach(),
            "duration_loss": duration.detach(),
            "diffusion_loss": diffusion.detach(),
            "attn": attn,
            "durations": durations,
            "log_durations": logw.detach(),
            "mu_expanded": mu_y.detach(),
        }

    @torch.no_grad()
    def synthesize(
        self,
        tokens: torch.Tensor,
        token_lengths: torch.Tensor,
        speakers: torch.Tensor | None = None,
        steps: int | None = None,
        temperature: float | None = None,
        length_scale: float = 1.0,
        sampler: str | None = None,
        guidance: float = 0.0,
        generator: torch.Generator | None = None,
        durations: torch.Tensor | None = None,
        rounding: str | None = None,
    ) -> dict[str, torch.Tensor]:
        """Latents for token sequences.

        tokens: (B, N) long, token_lengths: (B,), speakers: (B,) or None
        -> ``latents`` (B, C, T) (zero past each length), ``latent_lengths`` (B,), ``durations`` (B, N).
        ``steps``/``temperature``/``sampler`` default to the config; ``length_scale`` > 1 is slower
        speech; ``guidance`` is the classifier-free guidance weight (0 = off); ``generator`` seeds
        the starting noise; ``durations`` (B, N) replaces the predicted ones (e.g. ground truth);
        ``rounding`` ("ceil" | "round") turns predicted durations into frames (default: the config's).
        Training-time inference (validation, tests); the synthesizers run :mod:`tts.core.pipeline`.
        """
        self._check_tokens(tokens, token_lengths)
        steps = self.cfg.steps if steps is None else steps
        temperature = self.cfg.temperature if temperature is None else temperature
        sampler = self.cfg.sampler if sampler is None else sampler
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        b = tokens.shape[0]
        g = self._speaker(speakers, b, tokens.device)
        h, mu, x_mask = self.encoder(tokens, token_lengths, g)
        if durations is None:
            logw = self.duration(h, x_mask, g)
            rounding = self.cfg.duration.rounding if rounding is None else rounding
            durations = durations_from_log(logw, x_mask, length_scale, rounding)
        elif durations.shape != tokens.shape:
            raise ValueError(f"durations must have shape {tuple(tokens.shape)}, got {tuple(durations.shape)}")
        else:
            durations = durations.long() * x_mask[:, 0].long()
        if int(durations.sum(1).min()) < 1:
            raise ValueError("every utterance needs at least one latent frame (all durations are 0)")
        mu_y, y_mask, lengths = regulate_length(mu, durations)
        noise = gaussian_noise(mu_y.shape, generator, mu_y) * temperature
        z = self.decoder.sample(noise, mu_y, y_mask, g, steps, sampler, guidance)
        return {"latents": z, "latent_lengths": lengths, "durations": durations}


def load_acoustic(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[AcousticModel, dict[str, Any]]:
    """Rebuild an exported acoustic model from its own config (eval mode) -> (model, meta).

    ``meta`` holds ``tokenizer`` (the symbol table), ``speakers``, ``add_blank``, ``audio``,
    ``vae_sha256`` and the training ``step``. Raises ``CheckpointError`` for a wrong or broken file.
    """
    from tts.core.config import from_dict
    from tts.models.checkpoint import CheckpointError, load_weights, no_default_init

    tensors, config, meta = load_weights(path, "acoustic", device=device)
    try:
        cfg = from_dict(AcousticConfig, config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: acoustic config does not fit this version: {e}") from e
    with no_default_init():  # every parameter is loaded next
        model = AcousticModel(cfg)
    try:
        model.load_state_dict(tensors, assign=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not match the stored config: {e}") from e
    return model.to(device).eval(), meta
