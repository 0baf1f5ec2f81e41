"""The default vocoder generator: a ConvNeXt backbone at the mel frame rate and an inverse-STFT head.

Vocos (Siuzdak 2023, "Vocos: Closing the gap between time-domain and Fourier-based neural vocoders
for audio synthesis") and iSTFTNet (Kaneko et al. 2022) predict STFT magnitude and phase and let an
inverse STFT do the upsampling, instead of learning ``hop``× upsampling with transposed convolutions
(HiFi-GAN). All the network's work happens at the frame rate (86 frames/s), which is why it is
tens of times cheaper than HiFi-GAN V1 on a CPU (docs/vocoder.md); Vocos reports similar quality.

    mel (B, M, T) ─ Conv1d(k=7) ─ LayerNorm ─ N × ConvNeXtBlock ─ LayerNorm ─ Linear → (B, 2F, T)
        → log|X| (B, F, T), phase φ (B, F, T) → X = |X| e^{iφ} → InverseSTFT → wav (B, T·hop)

With ``phase = "absolute"`` the phase is predicted as an unconstrained angle and enters only through
``cos``/``sin``, which makes it periodic for free (Vocos). A network that is shift-equivariant in time
cannot, however, make the phase of a steady sound *advance* from frame to frame: for a quasi-stationary
mel it predicts nearly the same phase at every frame, and the overlap-add of identical frames is a
buzz at the frame rate (sr / hop = 86 Hz), heard as a wrong pitch. On short training segments it
learns to read the position from the zero padding at the segment edges, which does not exist in the
middle of a whole utterance (measured: pitch right when vocoding 32-frame pieces, locked to 86 Hz on
whole utterances; docs/vocoder.md).

``phase = "instantaneous"`` predicts the phase advance per frame instead and integrates it, as a phase
vocoder does (Flanagan & Golden 1966; GANSynth, Engel et al. 2019, models "instantaneous frequency"
the same way): bin ``k`` advances by its centre frequency ``2π·k·hop / n_fft`` plus a predicted
deviation ``δ_k(t)``, and a locally predicted offset ``ψ_k(t)`` sets the relation between
neighbouring bins (group delay)::

    φ_k(t) = Σ_{τ ≤ t} wrap(2π·k·hop / n_fft + δ_k(τ)) + ψ_k(t)

The advance is a local property of the spectrum (which partial falls into the bin), so a
shift-equivariant network can predict it; the running sum supplies the clock. Letters: B batch,
M mel bins, T frames, D channels, F bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from tts.audio import AudioConfig
from tts.models.nn import ConvNeXtBlock
from tts.models.precision import fp32_region
from tts.models.vocoder.istft import InverseSTFT

PHASE_MODES = ("absolute", "instantaneous")


def wrap_angle(x: torch.Tensor) -> torch.Tensor:
    """``x`` mapped to [-π, π] (same cosine and sine)."""
    return x - 2 * math.pi * torch.round(x / (2 * math.pi))


class Vocoder(nn.Module):
    """What every vocoder offers: ``forward(mel: (B, M, T) raw log-mel) -> wav (B, T·hop)``, its
    ``audio`` settings, and weight-norm folding for inference (a no-op where there is none)."""

    audio: AudioConfig
    #: the output phase is integrated over time (``phase = "instantaneous"``): vocoding a signal in
    #: independent windows would restart the integral at every window
    integrates_phase: bool = False
    #: mel frames of context on each side that make vocoding a window of a mel equal to vocoding
    #: the whole mel (the receptive field's half-width; a safe bound where it is not computed)
    context_frames: int = 32

    def remove_weight_norm(self) -> None:
        """Fold weight normalisation into plain weights (inference, export)."""

    def apply_weight_norm(self) -> None:
        """Re-parametrise with weight normalisation (training)."""

    def bf16_matmuls(self) -> int:
        """Run the big matrix multiplies in bf16 (inference only, :mod:`tts.models.precision`); returns how
        many layers changed (0: nothing here profits)."""
        return 0


@dataclass(frozen=True)
class ISTFTGeneratorConfig:
    """Sizes of the ConvNeXt + iSTFT-head generator."""

    dim: int = 256  #: backbone channels D (the CPU default; Vocos uses 512)
    intermediate_dim: int = 768  #: ConvNeXt MLP width (3·D as in Vocos)
    num_layers: int = 8  #: ConvNeXt blocks
    kernel_size: int = 7  #: depthwise convolution width, frames
    max_magnitude: float = 100.0  #: linear magnitude ceiling; keeps an untrained head from overflowing
    #: "absolute": the head predicts each frame's phase (Vocos); "instantaneous": it predicts the
    #: phase advance per frame, integrated over time (see the module docstring)
    phase: str = "absolute"

    def __post_init__(self) -> None:
        if self.phase not in PHASE_MODES:
            raise ValueError(f"ISTFTGeneratorConfig.phase must be one of {PHASE_MODES}, got {self.phase!r}")
        if min(self.dim, self.intermediate_dim, self.num_layers) < 1:
            raise ValueError(f"ISTFTGeneratorConfig sizes must be positive: {self}")
        if not self.max_magnitude > 0:
            raise ValueError(f"max_magnitude must be > 0, got {self.max_magnitude}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd to keep frames aligned, got {self.kernel_size}")


class ISTFTGenerator(Vocoder):
    """ConvNeXt backbone + magnitude/phase head + inverse STFT. ``forward(mel: (B, M, T)) -> (B, T·hop)``."""

    def __init__(self, cfg: ISTFTGeneratorConfig, audio: AudioConfig) -> None:
        super().__init__()
        self.cfg, self.audio = cfg, audio
        d = cfg.dim
        self.embed = nn.Conv1d(audio.n_mels, d, cfg.kernel_size, padding=cfg.kernel_size // 2)
        self.norm_in = nn.LayerNorm(d, eps=1e-6)
        self.blocks = nn.ModuleList(
            ConvNeXtBlock(d, cfg.intermediate_dim, cfg.kernel_size, 1.0 / cfg.num_layers)
            for _ in range(cfg.num_layers)
        )
        self.norm_out = nn.LayerNorm(d, eps=1e-6)
        self.n_bins = audio.n_fft // 2 + 1
        self.head = nn.Linear(d, 2 * self.n_bins)
        self.istft = InverseSTFT(audio.n_fft, audio.hop_length, audio.win_length)
        self.log_max_magnitude = math.log(cfg.max_magnitude)
        self.integrates_phase = cfg.phase == "instantaneous"
        self._receptive_frames = istft_context_frames(cfg.num_layers, cfg.kernel_size, audio)
        #: inference only: fast Griffin-Lim iterations from the predicted phase (:mod:`tts.core.spectral`);
        #: set from ``voice.json`` (``phase_iterations``) by :func:`tts.runtime.torch.load_voice`
        self.phase_iterations = 0
        if self.integrates_phase:
            # deviation of each bin's phase advance from its centre frequency; zero at the start, so a
            # warm start from an "absolute" model begins as a phase vocoder at the bin centres
            self.advance_head = nn.Linear(d, self.n_bins)
            nn.init.zeros_(self.advance_head.weight)
            nn.init.zeros_(self.advance_head.bias)
            k = torch.arange(self.n_bins, dtype=torch.float64)
            centre = wrap_angle(2 * math.pi * k * audio.hop_length / audio.n_fft)
            self.register_buffer("centre_advance", centre.float().view(1, -1, 1), persistent=False)

    @property
    def context_frames(self) -> int:  # type: ignore[override]
        """The receptive field, widened by ``n_fft / hop - 1`` frames per phase iteration."""
        from tts.core.spectral import refinement_context

        a = self.audio
        return self._receptive_frames + refinement_context(self.phase_iterations, a.n_fft, a.hop_length)

    def bf16_matmuls(self) -> int:
        """The ConvNeXt blocks' pointwise layers only: the head, the phase integral and the inverse
        STFT stay fp32 (phase errors accumulate along the running sum)."""
        from tts.models.precision import linears_to_bf16

        return linears_to_bf16(self.blocks)

    def log_magnitude_and_phase(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The head's raw outputs, ``(B, M, T) -> 2 × (B, F, T)``: natural-log magnitude (clamped
        at ``log(max_magnitude)``) and phase as an unwrapped angle, both fp32."""
        x = self.embed(mel)
        x = self.norm_in(x.transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        with fp32_region(mel.device):
            # the exp and the inverse STFT's sums over 1026 bins need fp32 (bf16 hisses at -48 dB)
            feats = self.norm_out(x.transpose(1, 2)).float()
            h = self.head(feats).transpose(1, 2)  # (B, 2F, T)
            # clamping the log (not the exp) bounds the magnitude without an inf·0 gradient
            log_mag, phase = h[:, : self.n_bins].clamp(max=self.log_max_magnitude), h[:, self.n_bins :]
            if self.integrates_phase:
                advance = wrap_angle(self.centre_advance + self.advance_head(feats).transpose(1, 2))
                phase = torch.cumsum(advance, dim=-1) + phase
            return log_mag, phase

    @staticmethod
    def _real_imag(log_mag: torch.Tensor, phase: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``exp(log_mag) · e^{i·phase}`` as real and imaginary parts (fp32)."""
        with fp32_region(log_mag.device):
            mag = torch.exp(log_mag)
            return mag * torch.cos(phase), mag * torch.sin(phase)

    def spectrum(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Predicted STFT real and imaginary parts, ``(B, M, T) -> 2 × (B, F, T)``."""
        return self._real_imag(*self.log_magnitude_and_phase(mel))

    def waveform(self, log_mag: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        """Inverse STFT of ``exp(log_mag) · e^{i·phase}``: ``2 × (B, F, T) -> (B, T·hop)``; with
        ``phase_iterations`` > 0 (inference, no gradient) after that many phase-refinement steps."""
        if self.phase_iterations > 0 and not torch.is_grad_enabled():
            from tts.core.spectral import refine_phase

            a = self.audio
            wav = refine_phase(
                log_mag.float().cpu().numpy(),
                phase.float().cpu().numpy(),
                self.phase_iterations,
                a.n_fft,
                a.hop_length,
            )
            return torch.from_numpy(wav).to(log_mag.device)
        real, imag = self._real_imag(log_mag, phase)
        with fp32_region(log_mag.device):
            return self.istft(real, imag)

    def forward(self, mel: torch.Tensor, return_spectrum: bool = False):
        """``mel (B, M, T) -> wav (B, T·hop)``; with ``return_spectrum`` the tuple
        ``(wav, log_magnitude, phase)`` for the training losses that look at the head directly."""
        check_mel(mel, self.audio.n_mels)
        if not return_spectrum:
            if self.phase_iterations > 0:
                return self.waveform(*self.log_magnitude_and_phase(mel))
            real, imag = self.spectrum(mel)
            with fp32_region(mel.device):
                return self.istft(real, imag)
        log_mag, phase = self.log_magnitude_and_phase(mel)
        return self.waveform(log_mag, phase), log_mag, phase


def istft_context_frames(num_layers: int, kernel_size: int, audio: AudioConfig) -> int:
    """Receptive-field half-width in frames of an iSTFT generator's samples: each kernel-k conv (the
    input conv and one per block) sees k // 2 frames to each side, and the overlap-add of the
    inverse STFT mixes each sample with the frames whose n_fft-long windows cover it."""
    return (num_layers + 1) * (kernel_size // 2) + -(-audio.n_fft // (2 * audio.hop_length)) + 1


def check_mel(mel: torch.Tensor, n_mels: int) -> None:
    """Raise ``ValueError`` unless ``mel`` is ``(B, n_mels, T)`` with ``T >= 1`` (no-op while exporting)."""
    if torch.jit.is_tracing():
        return
    if mel.dim() != 3 or mel.shape[1] != n_mels:
        raise ValueError(f"vocoder expects a log-mel of shape (B, {n_mels}, T), got {tuple(mel.shape)}")
    if mel.shape[-1] == 0:
        raise ValueError("vocoder got an empty log-mel (T = 0 frames)")
