"""``VocoderConfig``: what defines a vocoder network, and the generator factory.

The config is stored in every exported vocoder file; :func:`build_generator` rebuilds the network
from it (nanoGPT style), so a file is self-describing. How a vocoder is *trained* (discriminators,
loss weights, segment length) is :class:`tts.train.vocoder.VocoderTrainConfig`, which extends this
class: loading a vocoder for inference never imports the training code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tts.audio import AudioConfig
from tts.models.vocoder.generators import ISTFTGenerator, ISTFTGeneratorConfig, Vocoder
from tts.models.vocoder.hifigan import HIFIGAN_PRESETS, HiFiGANConfig, HiFiGANGenerator

GENERATOR_KINDS = ("istft", *HIFIGAN_PRESETS, "hifigan")
#: settings that vocoder files written before the model/training split stored with the model;
#: they describe the training run only and are dropped when such a file is read
TRAINING_KEYS = ("discriminator", "loss", "adversarial_start_step", "segment_samples")


@dataclass(frozen=True)
class VocoderConfig:
    """A vocoder network: generator kind and sizes, and the mel it reads.

    ``generator`` is ``"istft"`` (default: ConvNeXt + inverse-STFT head), ``"hifigan_v1"``,
    ``"hifigan_v2"``, ``"hifigan_v3"`` (the paper's presets) or ``"hifigan"`` (sizes from ``hifigan``).
    """

    generator: str = "istft"  #: generator architecture (see above)
    #: ConvNeXt sizes (the default is d=256 x 8 blocks, 3.6 M parameters)
    istft: ISTFTGeneratorConfig = field(default_factory=ISTFTGeneratorConfig)
    #: HiFi-GAN sizes for generator = "hifigan"; None for the presets and for "istft"
    hifigan: HiFiGANConfig | None = None
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

    def hifigan_sizes(self) -> HiFiGANConfig:
        """The HiFi-GAN sizes in effect (preset or explicit)."""
        if self.generator == "istft":
            raise ValueError("the istft generator has no HiFi-GAN sizes")
        return self.hifigan if self.hifigan is not None else HIFIGAN_PRESETS[self.generator]

    def model(self) -> VocoderConfig:
        """The network's own settings (a training config's, without the training ones)."""
        return VocoderConfig(
            generator=self.generator, istft=self.istft, hifigan=self.hifigan, audio=self.audio
        )


def stored_model_config(config: dict[str, Any]) -> dict[str, Any]:
    """A vocoder file's stored config without the training settings older files kept in it."""
    return {k: v for k, v in config.items() if k not in TRAINING_KEYS}


def build_generator(cfg: VocoderConfig) -> Vocoder:
    """A fresh generator for ``cfg``: ``forward(mel: (B, M, T)) -> wav (B, T·hop)``."""
    if cfg.generator == "istft":
        return ISTFTGenerator(cfg.istft, cfg.audio)
    return HiFiGANGenerator(cfg.hifigan_sizes(), cfg.audio)
