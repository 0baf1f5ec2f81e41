"""A tiny random-weight voice folder built with the real model classes and file writers.

Used by the synthesizer and ``tts-synth`` tests: it loads through exactly the code path of a
trained voice (``tts.runtime.torch.load_voice``) but is a few hundred kB and synthesises in milliseconds.
Random weights speak noise, which is all these tests need: shapes, determinism, durations,
streaming, batching, errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

SPEAKERS = ("alice", "bob")
#: tts-voice export-onnx options for an all-fp32 export (the graphs that match PyTorch to 1e-3)
ALL_FP32 = ("--vocoder-weights", "fp32", "--denoiser-weights", "fp32", "--vae-weights", "fp32")
LATENT_CHANNELS = 4


def build_tiny_voice(
    folder: str | Path,
    *,
    speakers: tuple[str, ...] = SPEAKERS,
    vocoder: bool = True,
    onnx: bool = False,
    vae_latent_channels: int = LATENT_CHANNELS,
    vocoder_sample_rate: int = 22050,
    vocoder_phase: str = "absolute",
    seed: int = 0,
    voice_json: dict | None = None,
    languages: dict[str, str] | None = None,
) -> Path:
    """Write ``acoustic.safetensors``, ``vae.safetensors``, ``vocoder.safetensors`` (unless
    ``vocoder=False``) and ``voice.json`` into ``folder`` and return it.

    ``onnx=True`` also exports the vocoder to ``vocoder.onnx``. ``vae_latent_channels`` or
    ``vocoder_sample_rate`` other than the defaults build a voice whose parts do not fit together
    (for the mismatch checks).
    """
    from tts.audio import AudioConfig
    from tts.core.config import to_dict
    from tts.core.files import file_sha256
    from tts.models.acoustic import AcousticConfig, AcousticModel
    from tts.models.checkpoint import save_weights
    from tts.models.diffusion.denoiser import DenoiserConfig
    from tts.models.encoder.duration import DurationConfig
    from tts.models.encoder.text_encoder import TextEncoderConfig
    from tts.models.vae.mel_vae import MelVAE, MelVAEConfig, vae_tensors
    from tts.models.vocoder import VocoderConfig, build_generator, save_vocoder
    from tts.models.vocoder.generators import ISTFTGeneratorConfig
    from tts.text import Tokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    audio = AudioConfig()

    vae_cfg = MelVAEConfig(
        latent_channels=vae_latent_channels,
        downsample=2,
        hidden_channels=16,
        encoder_blocks=1,
        decoder_blocks=1,
    )
    vae = MelVAE(vae_cfg).eval()
    vae.set_mel_stats(torch.full((audio.n_mels,), -5.0), torch.full((audio.n_mels,), 2.0))
    vae_path = save_weights(
        folder / "vae.safetensors",
        vae_tensors(vae),
        "vae",
        to_dict(vae_cfg),
        {"audio": to_dict(audio), "latent_scale": 1.0},
    )

    tok = Tokenizer.default()
    cfg = AcousticConfig(
        n_symbols=len(tok),
        n_speakers=len(speakers),
        latent_channels=LATENT_CHANNELS,
        speaker_dim=8,
        encoder=TextEncoderConfig(dim=32, n_layers=1, n_heads=2, ffn_dim=64, prenet_layers=1),
        duration=DurationConfig(channels=32, n_layers=1),
        decoder=DenoiserConfig(channels=(16, 32), blocks_per_level=1, mid_blocks=1, emb_dim=16),
        steps=2,
    )
    model = AcousticModel(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():  # zero-initialised output layers would make the decoder a no-op
            if p.dim() > 1 and not p.any():
                p.normal_(0.0, 0.1)
        # e^0.4 ≈ 1.5 -> 2 latent frames per token: speech-like lengths from random weights
        model.duration.proj.weight.mul_(0.1)
        model.duration.proj.bias.fill_(0.4)
    meta = {
        "tokenizer": tok.to_dict(),
        "speakers": list(speakers),
        "add_blank": True,
        "audio": to_dict(audio),
        "latent_downsample": vae_cfg.downsample,
        "vae_sha256": file_sha256(vae_path),
        "step": 0,
    }
    if languages is not None:  # speaker -> language of its training phonemes (tts-train acoustic writes it)
        meta["languages"] = dict(languages)
    save_weights(folder / "acoustic.safetensors", model.state_dict(), "acoustic", to_dict(cfg), meta)

    if vocoder:
        voc_audio = AudioConfig(sample_rate=vocoder_sample_rate)
        voc_cfg = VocoderConfig(
            istft=ISTFTGeneratorConfig(dim=16, intermediate_dim=32, num_layers=1, phase=vocoder_phase),
            audio=voc_audio,
        )
        generator = build_generator(voc_cfg)
        if vocoder_phase == "instantaneous":  # a random phase-advance head, not the zero start
            torch.nn.init.normal_(generator.advance_head.weight, std=0.1)
        voc_path = save_vocoder(folder / "vocoder.safetensors", generator, voc_cfg)
        if onnx:
            from tts.export.onnx import export_onnx
            from tts.models.vocoder import load_vocoder

            export_onnx(load_vocoder(voc_path), folder / "vocoder.onnx", to_dict(voc_cfg))
    info = {
        "name": "tiny",
        "language": "en-us",
        "speaker": speakers[0],
        "steps": 2,
        "temperature": 0.667,
        "sampler": "euler",
        **(voice_json or {}),
    }
    (folder / "voice.json").write_text(json.dumps(info), encoding="utf-8")
    return folder
