"""``VocoderConfig``: everything that defines a vocoder and its training, and the generator factory.

The config is stored in every exported vocoder file; :func:`build_generator` rebuilds the network
from it (nanoGPT style), so a file is self-describing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tts.audio import AudioConfig
from tts.vocoder.discriminators import DiscriminatorConfig
from tts.vocoder.generators import ISTFTGenerator, ISTFTGeneratorConfig, Vocoder
from tts.vocoder.hifigan import HIFIGAN_PRESETS, HiFiGANConfig, HiFiGANGenerator
from tts.vocoder.losses import VocoderLossConfig

GENERATOR_KINDS = ("istft", *HIFIGAN_PRESETS, "hifigan")


@dataclass(frozen=True)
class VocoderConfig:
    """A vocoder: generator kind and sizes, discriminators, loss weights and training schedule.

    ``generator`` is ``"istft"`` (default: ConvNeXt + inverse-STFT head), ``"hifigan_v1"``,
    ``"hifigan_v2"``, ``"hifigan_v3"`` (the paper's presets) or ``"hifigan"`` (sizes from ``hifigan``).
    """

    generator: str = "istft"  #: generator architecture (see above)
    #: ConvNeXt sizes; the default d=256 × 8 blocks is 3.6 M parameters, RTF ≈ 0.015 on one CPU core
    istft: ISTFTGeneratorConfig = field(default_factory=ISTFTGeneratorConfig)
    #: HiFi-GAN sizes for generator = "hifigan"; None for the presets and for "istft"
    hifigan: HiFiGANConfig | None = None
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: VocoderLossConfig = field(default_factory=VocoderLossConfig)
    #: steps of reconstruction-only (mel + MR-STFT) pre-training before the GAN losses start
    adversarial_start_step: int = 0
    segment_samples: int = 8192  #: training segment length, a multiple of the hop
    audio: AudioConfig = field(default_factory=AudioConfig)  #: the mel the vocoder reads

    def __post_init__(self) -> None:
        if self.generator not in GENERATOR_KINDS:
            raise ValueError(f"unknown vocoder generator {self.generator!r}; choose from {GENERATOR_KINDS}")
        if self.hifigan is not None and self.generator != "hifigan":
            raise ValueError(
                f"a [hifigan] size table is only used with generator = 'hifigan', not {self.generator!r} "
                "(the hifigan_v1/v2/v3 presets have fixed sizes)"
            )
        if self.generator == "hifigan" and self.hifigan is None:
            raise ValueError("generator = 'hifigan' needs a [hifigan] size table")
        if self.adversarial_start_step < 0:
            raise ValueError(f"adversarial_start_step must be >= 0, got {self.adversarial_start_step}")
        hop = self.audio.hop_length
        if self.segment_samples < 4 * hop or self.segment_samples % hop:
            raise ValueError(f"segment_samples must be a multiple of the hop ({hop}) and >= {4 * hop}")

    def hifigan_sizes(self) -> HiFiGANConfig:
        """The HiFi-GAN sizes in effect (preset or explicit)."""
        if self.generator == "istft":
            raise ValueError("the istft generator has no HiFi-GAN sizes")
        return self.hifigan if self.hifigan is not None else HIFIGAN_PRESETS[self.generator]


def build_generator(cfg: VocoderConfig) -> Vocoder:
    """A fresh generator for ``cfg``: ``forward(mel: (B, M, T)) -> wav (B, T·hop)``."""
    if cfg.generator == "istft":
        return ISTFTGenerator(cfg.istft, cfg.audio)
    return HiFiGANGenerator(cfg.hifigan_sizes(), cfg.audio)
