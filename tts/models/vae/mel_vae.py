"""Mel VAE: compresses an 80-bin log-mel into a short, low-channel latent the diffusion decoder models.

A variational auto-encoder (Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014) trained
first and then frozen, so the acoustic model does diffusion in a small, smooth latent space instead
of on mels — the latent-diffusion idea of Rombach et al., "High-Resolution Image Synthesis with
Latent Diffusion Models", CVPR 2022: a mildly KL-regularised auto-encoder, with latents multiplied
by a stored factor (``latent_scale`` = 1 / std of posterior means) so they have unit variance.

Both halves are 1-D convolutional stacks of ConvNeXt blocks (Liu et al., "A ConvNet for the
2020s", CVPR 2022, in the 1-D form Vocos uses): depthwise conv → LayerNorm over channels →
pointwise MLP → layer scale → residual. Time is halved per level by a strided conv (encoder) and
doubled by nearest-neighbour upsampling + conv (decoder; avoids the checkerboard artefacts of
transposed convs, Odena et al. 2016). Every block is followed by a length mask, and the channel
LayerNorm is per frame, so padding a batch never changes a valid frame's output: a padded item
sees exactly the zeros a lone item sees from its convs' own zero padding.

Letters: B batch, M mel bins, T mel frames, C latent channels, L latent frames (``ceil(T / r)``),
H hidden channels, r = ``downsample``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tts.models.checkpoint import CheckpointError, load_weights, no_default_init
from tts.models.nn import ConvNeXtBlock, length_mask

Tensors2 = tuple[torch.Tensor, torch.Tensor]
Tensors3 = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class MelVAEConfig:
    """Architecture and loss weights of the mel VAE (stored in every checkpoint)."""

    n_mels: int = 80  #: mel bins of the input/output log-mel
    latent_channels: int = 16  #: C, channels of the latent
    downsample: int = 2  #: r, mel frames per latent frame (a power of two; 1 = no downsampling)
    hidden_channels: int = 192  #: H, width of every conv stack
    encoder_blocks: int = 2  #: ConvNeXt blocks per resolution level in the encoder
    decoder_blocks: int = 3  #: ConvNeXt blocks per resolution level in the decoder (it does the hard part)
    kernel_size: int = 7  #: depthwise kernel of the ConvNeXt blocks (odd)
    io_kernel_size: int = 5  #: kernel of the mel-side input/output convs (odd)
    expansion: int = 2  #: pointwise MLP width = expansion · H
    kl_weight: float = 1e-3  #: weight of the per-element KL term (mean over latent elements)
    l1_weight: float = 1.0  #: weight of L1 reconstruction in normalised-mel space
    l2_weight: float = 0.0  #: optional extra MSE reconstruction term (normalised space)
    logvar_min: float = -30.0  #: posterior log-variance clamp (numerical safety, as in LDM)
    logvar_max: float = 20.0

    def __post_init__(self) -> None:
        r = self.downsample
        if r < 1 or r & (r - 1):
            raise ValueError(f"MelVAEConfig.downsample must be a power of two ≥ 1, got {r}")
        for name in ("n_mels", "latent_channels", "hidden_channels", "expansion"):
            if getattr(self, name) < 1:
                raise ValueError(f"MelVAEConfig.{name} must be ≥ 1, got {getattr(self, name)}")
        for name in ("kernel_size", "io_kernel_size"):
            if getattr(self, name) % 2 == 0:
                raise ValueError(f"MelVAEConfig.{name} must be odd (symmetric 'same' padding)")
        if self.encoder_blocks < 0 or self.decoder_blocks < 0:
            raise ValueError("MelVAEConfig.encoder_blocks/decoder_blocks must be ≥ 0")

    @property
    def levels(self) -> int:
        """Number of ×2 down/up-sampling stages (log2 r)."""
        return int(math.log2(self.downsample))

    def architecture(self) -> dict[str, int]:
        """The fields that shape the weights (loss weights and clamps excluded)."""
        return {name: getattr(self, name) for name in ARCHITECTURE_FIELDS}


ARCHITECTURE_FIELDS = (
    "n_mels", "latent_channels", "downsample", "hidden_channels", "encoder_blocks", "decoder_blocks",
    "kernel_size", "io_kernel_size", "expansion",
)  # fmt: skip


class _Stack(nn.Module):
    """A run of ConvNeXt blocks at one resolution, each followed by the length mask."""

    def __init__(self, n: int, cfg: MelVAEConfig, layer_scale: float) -> None:
        super().__init__()
        h = cfg.hidden_channels
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(h, cfg.expansion * h, cfg.kernel_size, layer_scale, eps=1e-5) for _ in range(n)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x


class Encoder(nn.Module):
    """``(normalised mel (B, M, T_pad), lengths (B,)) -> stats (B, 2C, T_pad / r)``; T_pad multiple of r."""

    def __init__(self, cfg: MelVAEConfig) -> None:
        super().__init__()
        h, k = cfg.hidden_channels, cfg.io_kernel_size
        scale = 1.0 / max(1, cfg.encoder_blocks * (cfg.levels + 1))
        self.conv_in = nn.Conv1d(cfg.n_mels, h, k, padding=k // 2)
        self.stacks = nn.ModuleList(_Stack(cfg.encoder_blocks, cfg, scale) for _ in range(cfg.levels + 1))
        # kernel 4, stride 2, pad 1 maps an even length L to exactly L / 2
        self.downs = nn.ModuleList(nn.Conv1d(h, h, 4, stride=2, padding=1) for _ in range(cfg.levels))
        self.norm_out = nn.LayerNorm(h)
        self.conv_out = nn.Conv1d(h, 2 * cfg.latent_channels, 1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = length_mask(lengths, x.shape[-1])
        x = self.conv_in(x * mask) * mask
        for i, stack in enumerate(self.stacks):
            x = stack(x, mask)
            if i < len(self.downs):
                lengths = torch.div(lengths + 1, 2, rounding_mode="floor")  # ceil(len / 2)
                x = self.downs[i](x)
                mask = length_mask(lengths, x.shape[-1])
                x = x * mask
        x = self.norm_out(x.transpose(1, 2)).transpose(1, 2)
        return self.conv_out(x) * mask


class Decoder(nn.Module):
    """``(latent (B, C, L), lengths (B,)) -> normalised mel (B, M, L * r)`` (masked to ``lengths * r``)."""

    def __init__(self, cfg: MelVAEConfig) -> None:
        super().__init__()
        h, k = cfg.hidden_channels, cfg.io_kernel_size
        scale = 1.0 / max(1, cfg.decoder_blocks * (cfg.levels + 1))
        self.conv_in = nn.Conv1d(cfg.latent_channels, h, 3, padding=1)
        self.stacks = nn.ModuleList(_Stack(cfg.decoder_blocks, cfg, scale) for _ in range(cfg.levels + 1))
        self.ups = nn.ModuleList(nn.Conv1d(h, h, 3, padding=1) for _ in range(cfg.levels))
        self.norm_out = nn.LayerNorm(h)
        self.conv_out = nn.Conv1d(h, cfg.n_mels, k, padding=k // 2)

    def forward(self, z: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = length_mask(lengths, z.shape[-1])
        x = self.conv_in(z * mask) * mask
        for i, stack in enumerate(self.stacks):
            x = stack(x, mask)
            if i < len(self.ups):
                lengths = lengths * 2
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
                mask = length_mask(lengths, x.shape[-1])
                x = self.ups[i](x) * mask
        x = self.norm_out(x.transpose(1, 2)).transpose(1, 2)
        return self.conv_out(x) * mask


class MelVAE(nn.Module):
    """Mel ↔ latent auto-encoder working on raw log-mels (normalises internally with stored stats).

    Buffers: ``mel_mean``, ``mel_std`` (M,) — per-bin statistics of the training corpus;
    ``latent_scale`` () — multiplies posterior means in :meth:`encode` and divides latents in
    :meth:`decode`, so the acoustic model sees unit-variance latents.
    """

    mel_mean: torch.Tensor
    mel_std: torch.Tensor
    latent_scale: torch.Tensor

    def __init__(self, cfg: MelVAEConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or MelVAEConfig()
        self.encoder = Encoder(self.cfg)
        self.decoder = Decoder(self.cfg)
        self.register_buffer("mel_mean", torch.zeros(self.cfg.n_mels))
        self.register_buffer("mel_std", torch.ones(self.cfg.n_mels))
        self.register_buffer("latent_scale", torch.tensor(1.0))

    def bf16_matmuls(self) -> int:
        """Run the ConvNeXt blocks' pointwise layers in bf16 (inference only, :mod:`tts.models.precision`);
        returns how many layers changed."""
        from tts.models.precision import linears_to_bf16

        return linears_to_bf16(self.encoder) + linears_to_bf16(self.decoder)

    # -- normalisation ------------------------------------------------------------------------

    def set_mel_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store per-bin corpus statistics; ``mean, std: (M,)``, ``std > 0``."""
        mean, std = torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32)
        m = self.cfg.n_mels
        if mean.shape != (m,) or std.shape != (m,):
            raise ValueError(
                f"mel stats must have shape ({m},), got {tuple(mean.shape)} and {tuple(std.shape)}"
            )
        if not torch.isfinite(mean).all() or not (std > 0).all():
            raise ValueError("mel stats must be finite with std > 0")
        self.mel_mean.copy_(mean)
        self.mel_std.copy_(std)

    def normalize(self, mel: torch.Tensor) -> torch.Tensor:
        """Raw log-mel ``(B, M, T)`` → zero-mean/unit-std per bin."""
        return (mel - self.mel_mean[:, None]) / self.mel_std[:, None]

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize`, ``(B, M, T)``."""
        return x * self.mel_std[:, None] + self.mel_mean[:, None]

    # -- core ---------------------------------------------------------------------------------

    def _check(
        self, mel: torch.Tensor, lengths: torch.Tensor | None, channels: int, what: str
    ) -> torch.Tensor:
        if mel.dim() != 3 or mel.shape[1] != channels or mel.shape[-1] < 1:
            raise ValueError(f"{what} must have shape (B, {channels}, T ≥ 1), got {tuple(mel.shape)}")
        if lengths is None:
            return torch.full((mel.shape[0],), mel.shape[-1], dtype=torch.long, device=mel.device)
        if lengths.shape != (mel.shape[0],):
            raise ValueError(f"{what} lengths must have shape ({mel.shape[0]},), got {tuple(lengths.shape)}")
        if int(lengths.min()) < 1 or int(lengths.max()) > mel.shape[-1]:
            raise ValueError(f"{what} lengths must lie in [1, {mel.shape[-1]}], got {lengths.tolist()}")
        return lengths.long()

    def posterior(self, mel: torch.Tensor, mel_lengths: torch.Tensor | None = None) -> Tensors3:
        """Unscaled posterior ``(mean, logvar, latent_lengths)``; ``mel: (B, M, T)`` raw log-mel,
        ``mean, logvar: (B, C, ceil(T / r))`` (zero beyond each item's latent length)."""
        return self._posterior(mel, self._check(mel, mel_lengths, self.cfg.n_mels, "mel"))

    def _posterior(self, mel: torch.Tensor, mel_lengths: torch.Tensor) -> Tensors3:
        r = self.cfg.downsample
        t = mel.shape[-1]
        t_pad = -(-t // r) * r
        x = F.pad(self.normalize(mel), (0, t_pad - t))
        stats = self.encoder(x, mel_lengths)
        mean, logvar = stats.chunk(2, dim=1)
        latent_lengths = torch.div(mel_lengths + r - 1, r, rounding_mode="floor")
        mask = length_mask(latent_lengths, mean.shape[-1])
        logvar = logvar.clamp(self.cfg.logvar_min, self.cfg.logvar_max) * mask
        return mean, logvar, latent_lengths

    def forward(
        self, mel: torch.Tensor, mel_lengths: torch.Tensor | None = None, sample: bool | None = None
    ) -> Tensors3:
        """Training pass. ``mel: (B, M, T)`` raw log-mel → ``(recon (B, M, T) raw log-mel, masked to
        mel_lengths; mean, logvar (B, C, L) unscaled)``. Samples ``z ~ q(z|x)`` when ``sample`` (default:
        in training mode), else decodes the posterior mean."""
        mel_lengths = self._check(mel, mel_lengths, self.cfg.n_mels, "mel")
        mean, logvar, latent_lengths = self._posterior(mel, mel_lengths)
        sample = self.training if sample is None else sample
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar) if sample else mean
        x = self.decoder(z, latent_lengths)[..., : mel.shape[-1]]
        recon = self.denormalize(x) * length_mask(mel_lengths, mel.shape[-1])
        return recon, mean, logvar

    def encode(self, mel: torch.Tensor, mel_lengths: torch.Tensor | None = None) -> Tensors2:
        """``mel: (B, M, T)`` raw log-mel → ``(z: (B, C, ceil(T / r)) = latent_scale · posterior mean,
        latent_lengths: (B,))``; frames beyond an item's latent length are zero."""
        mean, _, latent_lengths = self.posterior(mel, mel_lengths)
        return mean * self.latent_scale, latent_lengths

    def decode(self, z: torch.Tensor, latent_lengths: torch.Tensor | None = None) -> Tensors2:
        """``z: (B, C, L)`` scaled latent → ``(mel: (B, M, L · r) raw log-mel, mel_lengths = L_i · r)``.
        Frames beyond an item's length are set to the per-bin mean of the corpus' log-mel."""
        latent_lengths = self._check(z, latent_lengths, self.cfg.latent_channels, "latent")
        x = self.decoder(z / self.latent_scale, latent_lengths)
        return self.denormalize(x), latent_lengths * self.cfg.downsample

    # -- latent scale ---------------------------------------------------------------------------

    @torch.no_grad()
    def estimate_latent_scale(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> float:
        """1 / std of the posterior means over every valid latent element of ``batches``
        (``(mel (B, M, T), mel_lengths (B,))`` pairs); does not modify the module."""
        was_training = self.training
        self.eval()
        n, s, s2 = 0, 0.0, 0.0
        try:
            for mel, lengths in batches:
                dev = self.mel_mean.device
                mean, _, latent_lengths = self.posterior(mel.to(dev), lengths.to(dev))
                mask = length_mask(latent_lengths, mean.shape[-1]).expand_as(mean).bool()
                vals = mean.float()[mask].double()
                n, s, s2 = n + vals.numel(), s + float(vals.sum()), s2 + float(vals.square().sum())
        finally:
            self.train(was_training)
        if n < 2:
            raise ValueError("estimate_latent_scale needs at least one non-empty batch")
        var = max(s2 / n - (s / n) ** 2, 0.0)
        if var < 1e-12:
            raise ValueError("posterior means have (near) zero variance; cannot scale the latent")
        return 1.0 / math.sqrt(var)

    def set_latent_scale(self, scale: float) -> None:
        """Store the factor :meth:`encode` multiplies posterior means by (finite, > 0)."""
        if not math.isfinite(scale) or scale <= 0:
            raise ValueError(f"latent_scale must be finite and > 0, got {scale}")
        self.latent_scale.fill_(float(scale))


def vae_loss(
    cfg: MelVAEConfig,
    recon: torch.Tensor,
    mel: torch.Tensor,
    mean: torch.Tensor,
    logvar: torch.Tensor,
    mel_std: torch.Tensor,
    mel_lengths: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Masked VAE loss. ``recon, mel: (B, M, T)`` raw log-mel; ``mean, logvar: (B, C, L)``.

    Reconstruction is measured in normalised-mel space (``|Δ| / std``, so every bin counts alike);
    KL(q(z|x) ‖ N(0, I)) is averaged over valid latent elements. Returns ``loss``, ``recon_l1``
    (normalised), ``recon_l1_logmel`` (log-mel units), ``kl`` (and ``recon_l2`` if weighted).
    """
    mask = length_mask(mel_lengths, mel.shape[-1])
    n_mel = mask.sum() * mel.shape[1]
    diff = (recon.float() - mel.float()) * mask
    l1_raw = diff.abs().sum() / n_mel
    l1 = (diff.abs() / mel_std[:, None]).sum() / n_mel
    r = cfg.downsample
    lmask = length_mask(torch.div(mel_lengths + r - 1, r, rounding_mode="floor"), mean.shape[-1])
    mean, logvar = mean.float(), logvar.float()
    kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar) * lmask
    kl = kl.sum() / (lmask.sum() * mean.shape[1])
    out = {"recon_l1": l1, "recon_l1_logmel": l1_raw, "kl": kl}
    loss = cfg.l1_weight * l1 + cfg.kl_weight * kl
    if cfg.l2_weight > 0:
        out["recon_l2"] = (diff / mel_std[:, None]).square().sum() / n_mel
        loss = loss + cfg.l2_weight * out["recon_l2"]
    out["loss"] = loss
    return out


# ------------------------------------------------------------------------------------------ files


def vae_tensors(vae: MelVAE, latent_scale: float | None = None) -> dict[str, torch.Tensor]:
    """The tensors of an inference file: every weight and buffer (optionally another ``latent_scale``)."""
    tensors = {k: v.detach().float().cpu() for k, v in vae.state_dict().items()}
    if latent_scale is not None:
        tensors["latent_scale"] = torch.tensor(float(latent_scale))
    return tensors


def config_from_file(config: dict[str, Any], path: str | Path) -> MelVAEConfig:
    """Rebuild the :class:`MelVAEConfig` stored in a file; a foreign/invalid one is a CheckpointError."""
    from tts.core.config import from_dict

    try:
        return from_dict(MelVAEConfig, config)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: not a MelVAE config this version can build: {e}") from e


def load_vae(path: str | Path, device: str | torch.device = "cpu", *, audio: Any = None) -> MelVAE:
    """Rebuild a frozen (eval, no grad) :class:`MelVAE` from an inference file written by the VAE stage.

    Raises :class:`~tts.models.checkpoint.CheckpointError` for a missing/corrupt file, a file of another
    kind, weights that do not fit the stored config, or — when ``audio`` (an ``AudioConfig``) is
    given — a VAE trained on mels made with other settings.
    """
    tensors, config, meta = load_weights(path, "vae")
    if audio is not None and "audio" in meta:
        from tts.core.config import to_dict

        if meta["audio"] != to_dict(audio):
            raise CheckpointError(
                f"{path} was trained on mels with other audio settings: {meta['audio']} vs {to_dict(audio)}"
            )
    with no_default_init():  # every parameter is loaded next
        vae = MelVAE(config_from_file(config, path))
    try:
        vae.load_state_dict(tensors, assign=True)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not fit the stored MelVAE config: {e}") from e
    if not (torch.isfinite(vae.latent_scale) and vae.latent_scale > 0):
        raise CheckpointError(f"{path}: invalid latent_scale {float(vae.latent_scale)}")
    return vae.to(device).eval().requires_grad_(False)
