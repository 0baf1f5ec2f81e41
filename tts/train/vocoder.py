"""``tts-train vocoder``: train the vocoder on waveform segments of a prepared data folder.

Each training batch is ``B`` random segments of ``segment_samples`` samples; their log-mel is
computed on the fly with THE :class:`tts.audio.MelSpectrogram`, so input and target stay aligned
by construction. Two phases:

1. ``step < adversarial_start_step``: reconstruction only — ``45 · L1(mel) + MR-STFT`` on the
   generator, plus for the iSTFT head APNet's amplitude and anti-wrapping phase losses on the
   predicted spectrum (``tts.train.vocoder_losses``). No discriminator runs, which makes steps ~50×
   cheaper on a CPU; the phase losses teach frame-to-frame phase coherence that the magnitude
   losses cannot see.
2. afterwards the HiFi-GAN recipe: the discriminator step (least squares, real vs detached fake)
   is yielded first, then the generator step (adversarial + feature matching + the reconstruction
   terms). The discriminator module exists from step 0, so resuming across the switch is trivial.

Validation vocodes whole held-out utterances and reports the mel L1; TensorBoard gets the audio
and mel images. The export (``kind = "vocoder"``) holds the EMA generator with weight norm folded.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from tts.audio import AudioConfig, MelSpectrogram
from tts.core.config import override, to_dict
from tts.models.vocoder.config import VocoderConfig, build_generator
from tts.models.vocoder.generators import Vocoder, fp32_region
from tts.models.vocoder.istft import refine_phase, stft
from tts.models.vocoder.load import save_vocoder, warm_start
from tts.train.discriminators import Discriminator, DiscriminatorConfig
from tts.train.task import Batch, TrainTask
from tts.train.vocoder_losses import (
    MultiResolutionSTFTLoss,
    VocoderLossConfig,
    amplitude_phase_losses,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)

STAGE_TABLES = ("model", "data", "train")


@dataclass(frozen=True)
class VocoderTrainConfig(VocoderConfig):
    """A vocoder and how to train it (the ``[model]`` table of a vocoder recipe): the network's
    settings (:class:`~tts.models.vocoder.config.VocoderConfig`, all that an exported file keeps) plus
    the discriminators, the loss weights, the GAN warm-up and the training segment length."""

    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: VocoderLossConfig = field(default_factory=VocoderLossConfig)
    #: steps of reconstruction-only (mel + MR-STFT) pre-training before the GAN losses start
    adversarial_start_step: int = 0
    segment_samples: int = 8192  #: training segment length, a multiple of the hop

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.adversarial_start_step < 0:
            raise ValueError(f"adversarial_start_step must be >= 0, got {self.adversarial_start_step}")
        hop = self.audio.hop_length
        if self.segment_samples < 4 * hop or self.segment_samples % hop:
            raise ValueError(f"segment_samples must be a multiple of the hop ({hop}) and >= {4 * hop}")


@dataclass(frozen=True)
class VocoderDataConfig:
    """Data options of the vocoder stage (the ``[data]`` table of a stage TOML)."""

    val_items: int = 8  #: held-out utterances vocoded whole at each validation (spread over the split)
    log_media: bool = True  #: TensorBoard audio (real, generated) + mel image of the first of them
    #: a mel-VAE file: the generator hears mels after a round trip through it (what it gets in a voice,
    #: where every mel comes from that VAE's decoder), while the losses still compare with the real
    #: audio; "" = the real mels
    input_vae: str = ""
    input_vae_fraction: float = 1.0  #: share of training items given the round trip (the rest: real mels)
    #: mel frames of context on each side of a training segment for the round trip (then cropped), so
    #: the VAE's convolutions see the segment as they see it inside an utterance
    input_vae_context: int = 32

    def __post_init__(self) -> None:
        if self.val_items < 1:
            raise ValueError(f"VocoderDataConfig.val_items must be >= 1, got {self.val_items}")
        if not 0.0 <= self.input_vae_fraction <= 1.0:
            raise ValueError(f"input_vae_fraction must be in [0, 1], got {self.input_vae_fraction}")
        if self.input_vae_context < 0:
            raise ValueError(f"input_vae_context must be >= 0, got {self.input_vae_context}")


def _generator(modules: dict[str, nn.Module]) -> Vocoder:
    """The generator without its DDP wrapper."""
    g = modules["generator"]
    return cast(Vocoder, g.module if isinstance(g, nn.parallel.DistributedDataParallel) else g)


class VocoderTask(TrainTask):
    """The vocoder stage on a prepared data folder (``WavSegmentDataset`` + ``collate_wavs``)."""

    name = "vocoder"

    def __init__(
        self,
        data_dir: str | Path,
        cfg: VocoderTrainConfig | None = None,
        data_cfg: VocoderDataConfig | None = None,
    ) -> None:
        from tts.data.manifest import load_manifest

        self.data_dir = Path(data_dir)
        self.manifest = load_manifest(self.data_dir)
        cfg = cfg or VocoderTrainConfig()
        # the data decides the audio settings; a recipe that names different ones is a mistake
        if cfg.audio != self.manifest.audio:
            if cfg.audio != AudioConfig():
                raise ValueError(
                    f"the vocoder config's audio settings {cfg.audio} differ from the data's "
                    f"{self.manifest.audio} ({self.data_dir})"
                )
            cfg = dataclasses.replace(cfg, audio=self.manifest.audio)
        if cfg.loss.refine_iterations and cfg.generator != "istft":
            raise ValueError(
                f"refine_iterations needs the iSTFT generator (it refines a predicted spectrum), "
                f"not {cfg.generator!r}"
            )
        self.cfg = cfg
        self.data_cfg = data_cfg or VocoderDataConfig()
        self.mel = MelSpectrogram(cfg.audio)
        self.stft_loss = MultiResolutionSTFTLoss(cfg.loss.stft_resolutions)
        self._datasets: dict[str, Any] = {}
        self.input_vae: nn.Module | None = None
        if self.data_cfg.input_vae:
            from tts.models.vae import load_vae

            self.input_vae = load_vae(self.data_cfg.input_vae, "cpu", audio=cfg.audio).eval()
            self.input_vae.requires_grad_(False)
        #: context frames read around each training segment (cropped after the VAE round trip)
        self.context = self.data_cfg.input_vae_context if self.input_vae is not None else 0

    # -- data -----------------------------------------------------------------------------------

    def _dataset(self, split: str):
        from tts.data.dataset import WavSegmentDataset

        if split not in self._datasets:
            train = split == "train"
            segment = self.cfg.segment_samples + 2 * self.context * self.cfg.audio.hop_length
            self._datasets[split] = WavSegmentDataset(
                self.data_dir, split, segment_samples=segment, random_segment=train
            )
        return self._datasets[split]

    def train_dataset(self):
        ds = self._dataset("train")
        if len(ds) == 0:
            raise ValueError(f"{self.data_dir}: the train split is empty")
        return ds

    def val_dataset(self):
        ds = self._dataset("val")
        return ds if len(ds) else None

    def batch_sampler(self, dataset, *, rank: int, world_size: int, seed: int, epoch: int, train: bool):
        if train:
            return None  # fixed-size segments: plain batches of TrainConfig.batch_size
        # validation: whole utterances one at a time (no padding), a fixed spread over the split
        n = len(dataset)
        k = min(n, self.data_cfg.val_items)
        picks = sorted({i * n // k for i in range(k)})
        mine = picks[rank::world_size] or picks[:1]
        return [[i] for i in mine]

    def collate_fn(self):
        from tts.data.collate import collate_wavs

        return collate_wavs

    def device_transfer(self, batch: Batch, device: torch.device) -> Batch:
        return {
            "wavs": batch["wavs"].to(device, non_blocking=True),
            "wav_lengths": batch["wav_lengths"].to(device),
        }

    # -- model ----------------------------------------------------------------------------------

    def build_modules(self) -> dict[str, nn.Module]:
        return {
            "generator": build_generator(self.cfg),
            "discriminator": Discriminator(self.cfg.discriminator),
        }

    def ema_modules(self) -> tuple[str, ...]:
        return ("generator",)

    def _to(self, device: torch.device) -> None:
        if self.mel.mel_basis.device != device:
            self.mel.to(device)
            self.stft_loss.to(device)
            if self.input_vae is not None:
                self.input_vae.to(device)

    @torch.no_grad()
    def _mels(self, real: torch.Tensor, train: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``real (B, L)`` → ``(real, target mel, generator's input mel)``: without an input VAE both
        mels are the real one; with it the input is the VAE round trip (for ``input_vae_fraction`` of
        the training items), and training segments lose their context frames after the round trip."""
        with fp32_region(real.device):
            mel = self.mel(real.float())
        if self.input_vae is None:
            return real, mel, mel
        with fp32_region(real.device):
            z, _ = self.input_vae.encode(mel)
            rt = self.input_vae.decode(z)[0][..., : mel.shape[-1]]
        if train and self.data_cfg.input_vae_fraction < 1.0:
            pick = torch.rand(mel.shape[0], device=mel.device) < self.data_cfg.input_vae_fraction
            rt = torch.where(pick[:, None, None], rt, mel)
        c = self.context if train else 0
        if c:
            hop = self.cfg.audio.hop_length
            real, mel, rt = real[:, c * hop : -c * hop], mel[..., c:-c], rt[..., c:-c]
        return real, mel, rt

    @property
    def uses_spectrum_losses(self) -> bool:
        """Whether the amplitude/phase losses apply: an iSTFT-head generator and a non-zero weight."""
        w = self.cfg.loss
        return self.cfg.generator == "istft" and (w.amplitude_weight > 0 or w.phase_weight > 0)

    def reconstruction_losses(
        self,
        fake: torch.Tensor,
        real: torch.Tensor,
        mel: torch.Tensor,
        spectrum: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Mel L1 and MR-STFT terms, ``fake, real: (B, L)``, ``mel: (B, M, L / hop)`` of ``real``;
        with the generator's ``spectrum = (log_magnitude, phase)`` also the amplitude/phase terms."""
        w = self.cfg.loss
        with fp32_region(fake.device):
            fake = fake.float()
            mel_l1 = torch.mean(torch.abs(self.mel(fake) - mel))
            sc, mag = self.stft_loss(fake, real.float())
            out = {"mel_l1": mel_l1, "stft_sc": sc, "stft_mag": mag}
            total = w.mel_weight * mel_l1 + w.stft_weight * (sc + mag)
            if spectrum is not None:
                a = self.cfg.audio
                with torch.no_grad():
                    target = stft(real.float(), a.n_fft, a.hop_length, a.win_length)
                absolute = self.cfg.istft.phase == "absolute"
                amplitude, phase = amplitude_phase_losses(
                    *spectrum, target, absolute=absolute, floor_db=w.phase_floor_db
                )
                out.update(amplitude=amplitude, phase=phase)
                total = total + w.amplitude_weight * amplitude + w.phase_weight * phase
        out["total"] = total
        return out

    def training_step(self, modules: dict[str, nn.Module], batch: Batch, step: int):
        self._to(batch["wavs"].device)
        real, mel, mel_in = self._mels(batch["wavs"], train=True)
        spectrum = None
        if self.uses_spectrum_losses:
            fake, *spectrum = modules["generator"](mel_in, return_spectrum=True)
            if self.cfg.loss.refine_iterations > 0:
                with fp32_region(fake.device):
                    fake = refine_phase(*spectrum, self.cfg.loss.refine_iterations, _generator(modules).istft)
        else:
            fake = modules["generator"](mel_in)
        rec = self.reconstruction_losses(fake, real, mel, spectrum)
        logs = {f"train/{k}": v.detach() for k, v in rec.items() if k != "total"}
        if step < self.cfg.adversarial_start_step:
            yield "generator", rec["total"], logs
            return
        disc, w = modules["discriminator"], self.cfg.loss
        real_scores, fake_scores, _, _ = disc(real, fake.detach())
        yield "discriminator", discriminator_loss(real_scores, fake_scores), {}
        # the loop has frozen the discriminator's parameters: this pass only carries gradient to G
        _, fake_scores, real_fmaps, fake_fmaps = disc(real, fake)
        adv = generator_adversarial_loss(fake_scores)
        fm = feature_matching_loss(real_fmaps, fake_fmaps)
        g_loss = rec["total"] + w.adversarial_weight * adv + w.feature_matching_weight * fm
        logs.update({"train/adversarial": adv.detach(), "train/feature_matching": fm.detach()})
        yield "generator", g_loss, logs

    def _vocode(
        self, modules: dict[str, nn.Module], batch: Batch
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self._to(batch["wavs"].device)
        real, mel, mel_in = self._mels(batch["wavs"], train=False)
        gen, k = _generator(modules), self.cfg.loss.refine_iterations
        if k > 0:  # judge what inference with phase_iterations = k plays
            with fp32_region(real.device):
                fake = refine_phase(*gen.log_magnitude_and_phase(mel_in), k, gen.istft)
        else:
            fake = gen(mel_in).float()
        return real, mel, fake

    def validation_step(self, modules: dict[str, nn.Module], batch: Batch) -> dict[str, float]:
        real, mel, fake = self._vocode(modules, batch)
        hop = self.cfg.audio.hop_length
        frames = (batch["wav_lengths"] + hop - 1) // hop
        mask = (torch.arange(mel.shape[-1], device=mel.device)[None] < frames[:, None]).unsqueeze(1)
        with fp32_region(real.device):
            err = torch.abs(self.mel(fake) - mel) * mask
        return {"mel_l1": float(err.sum() / (mask.sum() * mel.shape[1]).clamp(min=1))}

    def log_media(self, writer: Any, modules: dict[str, nn.Module], batch: Batch, step: int) -> None:
        if not self.data_cfg.log_media:
            return
        real, mel, fake = self._vocode(modules, batch)
        sr = self.cfg.audio.sample_rate
        n = int(batch["wav_lengths"][0])
        writer.add_audio("vocoder/generated", fake[0, :n].clamp(-1, 1).cpu(), step, sample_rate=sr)
        writer.add_audio("vocoder/real", real[0, :n].cpu(), step, sample_rate=sr)
        with fp32_region(real.device):
            pair = torch.cat([mel[0], self.mel(fake[:1])[0]], dim=0).float().cpu()  # real above generated
        lo, hi = float(mel[0].min()), float(mel[0].max())
        writer.add_image(
            "vocoder/mel", ((pair - lo) / max(hi - lo, 1e-5)).clamp(0, 1).flip(0), step, dataformats="HW"
        )

    def metadata(self) -> dict[str, Any]:
        return {"model": to_dict(self.cfg), "data": to_dict(self.data_cfg)}

    # -- inference weights ------------------------------------------------------------------------

    def export(self, modules: dict[str, nn.Module], path: str, step: int) -> None:
        save_vocoder(path, _generator(modules), self.cfg, {"step": step})

    def load_pretrained(self, modules: dict[str, nn.Module], path: str) -> None:
        """Warm start the generator from an exported vocoder of the same architecture (the
        discriminator starts fresh: fine-tuning on new mels re-learns it quickly)."""
        warm_start(_generator(modules), self.cfg, path)


# ------------------------------------------------------------------------------------------ CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tts.train.config import add_train_arguments

    parser.add_argument(
        "--data", required=True, metavar="DIR", help="prepared data folder (tts-train prepare)"
    )
    add_train_arguments(parser)


#: Stage defaults under the recipe's ``[train]`` table: HiFi-GAN's optimiser (AdamW, 2e-4, β = 0.8, 0.99).
DEFAULT_TRAIN = {
    "max_steps": 200_000,
    "batch_size": 16,
    "lr": 2e-4,
    "betas": (0.8, 0.99),
    "warmup_steps": 1000,
}


def run(args: argparse.Namespace) -> int:
    from tts.train.config import TrainConfig, load_stage_config
    from tts.train.loop import train_from_args

    stage = load_stage_config(args)
    unknown = sorted(set(stage) - set(STAGE_TABLES))
    if unknown:
        raise ValueError(
            f"{args.config}: unknown table(s) {unknown}; a vocoder recipe has {list(STAGE_TABLES)}"
        )
    task = VocoderTask(
        args.data,
        override(VocoderTrainConfig(), stage.get("model")),
        override(VocoderDataConfig(), stage.get("data")),
    )
    metrics = train_from_args(task, args, override(TrainConfig(), DEFAULT_TRAIN))
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()) if k.startswith(("val/", "step")))
    print(f"vocoder: {shown}; inference weights in {Path(args.run_dir) / 'export.safetensors'}")
    return 0
