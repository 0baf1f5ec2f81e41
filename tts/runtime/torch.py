"""``Synthesizer``: text in, waveform out with PyTorch — the backend for GPUs, bf16, other vocoders.

Text handling, the sentence loop, pauses, batching and the acoustic pipeline between the networks
(durations, length regulation, noise, the ODE sampler with guidance: :mod:`tts.core.pipeline`) are
:class:`tts.runtime.base.SynthesizerBase`'s, shared with :class:`tts.runtime.onnx.OnnxSynthesizer`; this
class supplies the networks as numpy functions (``_encoder``, ``_denoiser``, ``_vae_decoder``) and
the vocoder. The same seed gives the same audio as the ONNX backend, to float rounding::

    ids ─_encoder─▶ mu, logw ─pipeline─▶ latents (B, C, T_lat) ─_vae_decoder─▶ mel (B, M, T)
    mel ─vocoder─▶ wav (B, T·hop)                            (_vocode / _vocode_window when streaming)

Thread safety: one lock serialises the models, so a ``Synthesizer`` may be shared by threads;
calls interleave sentence by sentence (and window by window when streaming) rather than run in
parallel. For real parallelism use one ``Synthesizer`` per process. ``threads`` sets torch's
*process-wide* intra-op thread count.

Threads per stage (CPU, N >= 2 threads): the text encoder, the denoiser and the VAE decoder are
small convolution stacks whose ops are too short to share between threads, so that stage runs on
N / 2 threads, with the denoiser's batch — a guided step's conditional and unconditional halves —
split over two calls side by side on N / 2 threads each; the vocoder's wide matrix multiplies then
get all N threads again (timings in docs/benchmarks.md).

Letters used for shapes: B batch, N tokens, C latent channels, T_lat latent frames, M mel bins,
T mel frames, L samples.

:func:`load_voice` loads a voice folder's three models for it (:class:`LoadedVoice`), cross-checked
against each other; the folder format and ``voice.json`` are :mod:`tts.core.voice`'s (torch-free).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from tts.core.files import CheckpointError
from tts.core.names import PRECISIONS
from tts.core.output import BREAK, PAUSE, Audio, Word
from tts.core.pipeline import AcousticShape
from tts.core.voice import (
    ONNX_VOCODER_FILE,
    VAE_FILE,
    VOCODER_FILE,
    Voice,
    check_compatible,
    complete_voice_config,
    config_differences,
    load_voice_config,
    resolve_voice_dir,
)
from tts.runtime.base import DEFAULT_CONTEXT_FRAMES, PreparedText, SynthesizerBase

if TYPE_CHECKING:
    from tts.models.acoustic import AcousticModel
    from tts.models.vae.mel_vae import MelVAE

__all__ = [
    "BREAK",
    "DEFAULT_CONTEXT_FRAMES",
    "PAUSE",
    "Audio",
    "LoadedVoice",
    "PreparedText",
    "Synthesizer",
    "Word",
    "load_voice",
]


@dataclass
class LoadedVoice(Voice):
    """A voice on PyTorch: its three models plus what is needed to feed them."""

    acoustic: AcousticModel
    vae: MelVAE
    vocoder: nn.Module  #: ``forward(mel (B, M, T)) -> wav (B, T·hop)``
    vocoder_name: str  #: the vocoder file, or "griffin-lim"
    precision: str = "fp32"  #: "fp32" or "bf16" (:mod:`tts.models.precision`)


def read_header(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(config, meta)`` from a safetensors header without reading the tensors."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            h = fh.metadata() or {}
        return json.loads(h.get("config", "{}")), json.loads(h.get("meta", "{}"))
    except Exception as e:  # safetensors, OS and JSON errors alike mean an unusable file
        raise CheckpointError(f"checkpoint {path} is corrupt or not a safetensors file: {e}") from e


def _vocoder_path(folder: Path, spec: str | Path | None) -> Path | None:
    """The vocoder file for a choice (``None`` = Griffin-Lim); warns when falling back."""
    if spec is None or spec == "default":
        p = folder / VOCODER_FILE
        if p.is_file():
            return p
        warnings.warn(
            f"{folder} has no {VOCODER_FILE}; using the Griffin-Lim fallback (robotic sound quality)",
            stacklevel=4,
        )
        return None
    if spec == "griffin-lim":
        return None
    p = folder / ONNX_VOCODER_FILE if spec == "onnx" else Path(spec).expanduser()
    if not p.is_file():
        hint = " (write it with `tts-train export-onnx`)" if spec == "onnx" else ""
        raise CheckpointError(f"vocoder file not found: {p}{hint}")
    return p


def load_voice(
    path: str | Path | None = None,
    device: str = "cpu",
    vocoder: str | Path | None = None,
    precision: str | None = "auto",
    phase_iterations: int | None = None,
) -> LoadedVoice:
    """Load and cross-check the acoustic model, VAE and vocoder of a voice folder.

    ``vocoder``: ``None``/``"default"`` (the folder's ``vocoder.safetensors``, else Griffin-Lim with
    a warning), ``"griffin-lim"``, ``"onnx"`` (the folder's ``vocoder.onnx``) or a vocoder file path.
    ``precision``: ``"fp32"``, ``"bf16"`` (the VAE's and vocoder's pointwise layers multiply in bf16,
    :mod:`tts.models.precision`) or ``"auto"`` (bf16 on a CPU with AMX, else fp32).
    ``phase_iterations`` overrides ``voice.json``'s (phase refinement after an iSTFT vocoder).
    """
    if precision not in PRECISIONS and precision is not None:
        raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    folder, acoustic_path = resolve_voice_dir(path)  # cheap checks first, heavy imports after
    cfg = load_voice_config(folder)
    vae_path = folder / VAE_FILE
    if not vae_path.is_file():
        raise CheckpointError(f"voice folder {folder} has no {VAE_FILE} (the acoustic model needs its VAE)")
    voc_path = _vocoder_path(folder, vocoder)
    check_compatible(read_header(acoustic_path), read_header(vae_path), vae_path)

    from tts.audio import AudioConfig
    from tts.core.config import from_dict, to_dict
    from tts.models.acoustic import load_acoustic
    from tts.models.vae.mel_vae import load_vae
    from tts.text import Tokenizer

    acoustic, meta = load_acoustic(acoustic_path, device)
    if "tokenizer" not in meta:
        raise CheckpointError(f"{acoustic_path} has no symbol table (meta 'tokenizer'); re-export it")
    try:
        tokenizer = Tokenizer.from_dict(meta["tokenizer"])
        audio = from_dict(AudioConfig, meta.get("audio"))
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{acoustic_path}: unreadable symbol table or audio settings: {e}") from e
    vae = load_vae(vae_path, device)
    voc: nn.Module
    if voc_path is None:
        from tts.models.vocoder.griffin_lim import GriffinLim

        voc, voc_name = GriffinLim(audio).to(device).eval(), "griffin-lim"
    else:
        from tts.models.vocoder import load_vocoder

        voc, voc_name = load_vocoder(voc_path, device), str(voc_path)
    voc_audio = getattr(voc, "audio", None)
    if voc_audio is not None and voc_audio != audio:
        raise CheckpointError(
            f"vocoder {voc_path} and acoustic model use different audio settings: "
            f"{config_differences(to_dict(voc_audio), to_dict(audio))}"
        )
    speakers = [str(s) for s in meta.get("speakers", [])]
    m = acoustic.cfg  # voice.json settings left out fall back to the model's own defaults
    cfg = complete_voice_config(
        cfg, folder, speakers, m.steps, m.temperature, m.sampler, m.duration.rounding, phase_iterations
    )
    from tts.models.precision import apply_precision

    precision = apply_precision(precision, device, vae, voc)
    if hasattr(voc, "phase_iterations"):  # an iSTFT vocoder: phase refinement at inference
        voc.phase_iterations = int(cfg.phase_iterations)
    return LoadedVoice(
        folder=folder,
        config=cfg,
        acoustic=acoustic.eval(),
        vae=vae.eval(),
        vocoder=voc.eval(),
        vocoder_name=voc_name,
        tokenizer=tokenizer,
        speakers=speakers,
        add_blank=bool(meta.get("add_blank", False)),
        audio=audio,
        precision=precision,
    )


class Synthesizer(SynthesizerBase):
    """Text-to-speech with one voice (acoustic model + mel VAE + vocoder).

    >>> synth = Synthesizer.from_pretrained()                     # doctest: +SKIP
    >>> synth.synthesize("Hello there.", seed=0).save("hello.wav")  # doctest: +SKIP
    """

    voice: LoadedVoice
    backend = "torch"
    # set by _acoustic_stage for the networks it runs: torch threads per call, denoiser halves
    _stage_threads: int | None = None
    _workers = 1

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        device: str = "cpu",
        vocoder: str | Path | None = None,
        threads: int | None = None,
        precision: str = "auto",
        phase_iterations: int | None = None,
        **kwargs: Any,
    ) -> Synthesizer:
        """Load a voice folder (default: the shipped ``pretrained/`` voice or ``$TTS_VOICE_DIR``).

        ``vocoder``: ``None``/``"default"`` (the voice's own, Griffin-Lim if it has none),
        ``"griffin-lim"``, ``"onnx"`` (``vocoder.onnx`` in the folder) or a path to a vocoder file.
        ``precision``: ``"auto"`` (bf16 matrix multiplies in the VAE and vocoder on a CPU with AMX,
        else fp32), ``"fp32"`` or ``"bf16"`` (:mod:`tts.models.precision`). ``phase_iterations``: phase
        refinement steps after an iSTFT vocoder (default: ``voice.json``'s; :mod:`tts.core.spectral`).
        ``threads`` sets torch's process-wide thread count; other keyword arguments go to the
        constructor (``max_chars``, ``chunk_frames``, ``context_frames``, ``lexicon``). Raises
        ``CheckpointError`` for missing, corrupt or mismatched parts and ``FileNotFoundError``
        when no voice is installed.
        """
        if threads is not None:
            if int(threads) < 1:
                raise ValueError(f"threads must be >= 1, got {threads}")
            torch.set_num_threads(int(threads))
        voice = load_voice(
            path, device=device, vocoder=vocoder, precision=precision, phase_iterations=phase_iterations
        )
        return cls(voice, **kwargs)

    # ------------------------------------------------------------------ internals
    def _default_context_frames(self) -> int:
        return int(getattr(self.voice.vocoder, "context_frames", DEFAULT_CONTEXT_FRAMES))

    @cached_property
    def _device(self) -> torch.device:
        return next(self.voice.acoustic.parameters()).device

    @contextmanager
    def _inference(self) -> Iterator[None]:
        with self._lock, torch.inference_mode():
            yield

    @staticmethod
    @contextmanager
    def _torch_threads(n: int) -> Iterator[None]:
        """torch's intra-op thread count set to ``n`` for a block, then restored."""
        prev = torch.get_num_threads()
        if n == prev:
            yield
            return
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(prev)

    @contextmanager
    def _acoustic_stage(self) -> Iterator[None]:
        """On a CPU with N >= 2 threads the acoustic networks run on N / 2 threads and the
        denoiser's batch in two halves side by side (module docstring); the vocoder gets N again."""
        n = torch.get_num_threads()
        split = self._device.type == "cpu" and n >= 2
        self._stage_threads, self._workers = (n // 2, 2) if split else (n, 1)
        with self._torch_threads(self._stage_threads):
            yield

    def _acoustic_shape(self) -> AcousticShape:
        model, vae = self.voice.acoustic, self.voice.vae
        return AcousticShape(
            int(model.decoder.net.factor), int(vae.cfg.downsample), float(model.decoder.cfg.sigma_min)
        )

    def _tensor(self, a: np.ndarray | None) -> torch.Tensor | None:
        return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(self._device)

    def _encoder(
        self, tokens: np.ndarray, lengths: np.ndarray, speakers: np.ndarray | None, g: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """The network ``tts-voice export-onnx`` writes as ``encoder.onnx``: speaker embedding,
        text encoder and duration predictor."""
        model = self.voice.acoustic
        emb = self._tensor(g)
        if emb is None and model.speaker_emb is not None:
            emb = model.speaker_emb(self._tensor(speakers))
        h, mu, x_mask = model.encoder(self._tensor(tokens), self._tensor(lengths), emb)
        logw = model.duration(h, x_mask, emb).reshape(x_mask.shape)
        mu_np, mask_np, logw_np = (t.float().cpu().numpy() for t in (mu, x_mask, logw))
        return mu_np, mask_np, logw_np, (None if emb is None else emb.float().cpu().numpy())

    def _denoiser(self, **inputs: np.ndarray | None) -> np.ndarray:
        """The U-Net on a batch. On a helper thread (:meth:`_in_halves`) it sets that thread's torch
        thread count and inference mode, both of which are per thread."""
        if self._stage_threads is not None and torch.get_num_threads() != self._stage_threads:
            torch.set_num_threads(self._stage_threads)
        with torch.inference_mode():
            args = {k: self._tensor(v) for k, v in inputs.items()}
            return self.voice.acoustic.decoder.net(**args).float().cpu().numpy()

    def _denoiser_workers(self) -> int:
        return self._workers

    def _vae_decoder(self, z: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        mel, _ = self.voice.vae.decode(self._tensor(z), self._tensor(lengths))
        return mel.float().cpu().numpy()

    def _speaker_table(self) -> np.ndarray:
        table = self.voice.acoustic.speaker_emb
        if table is None or len(self.speakers) < 2:
            raise ValueError("a single-speaker voice cannot blend speakers")
        return table.weight.detach().float().cpu().numpy()

    def _vocode(self, mel: np.ndarray, mel_lengths: Sequence[int]) -> list[np.ndarray]:
        """``mel: (B, M, T)`` -> one waveform ``(mel_lengths[b] * hop,)`` per item."""
        mel = self._tensor(mel)
        floor = math.log(self.voice.audio.log_clamp)  # padded frames read as silence, not as garbage
        frames = torch.arange(mel.shape[-1], device=mel.device)
        lengths = torch.tensor(list(mel_lengths), device=mel.device)
        mel = mel.masked_fill(frames[None, None, :] >= lengths[:, None, None], floor)
        wav = self.voice.vocoder(mel).float().cpu().numpy()
        hop = self.voice.audio.hop_length
        return [np.ascontiguousarray(wav[b, : n * hop]) for b, n in enumerate(mel_lengths)]

    def _vocoder_restarts_phase(self) -> bool:
        """A phase-integrating vocoder whose phase cannot be carried between windows (ONNX export)."""
        from tts.models.vocoder.generators import ISTFTGenerator

        voc = self.voice.vocoder
        return bool(getattr(voc, "integrates_phase", False)) and not isinstance(voc, ISTFTGenerator)

    def _window_spectrum(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool] | None:
        from tts.models.vocoder.generators import ISTFTGenerator

        voc = self.voice.vocoder
        if not (isinstance(voc, ISTFTGenerator) and voc.integrates_phase):
            return None  # stateless: windows are vocoded whole
        log_mag, phase = voc.log_magnitude_and_phase(self._tensor(window))
        return log_mag.float().cpu().numpy(), phase.float().cpu().numpy(), True

    def _spectrum_wave(self, log_mag: np.ndarray, phase: np.ndarray) -> np.ndarray:
        wav = self.voice.vocoder.waveform(self._tensor(log_mag), self._tensor(phase))
        return wav[0].float().cpu().numpy()
