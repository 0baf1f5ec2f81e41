"""Speak with onnxruntime and numpy only: :class:`OnnxSynthesizer`, the fast CPU backend.

It never imports torch (onnxruntime imports several times faster), and onnxruntime runs the small
networks of one sentence faster than eager PyTorch (docs/benchmarks.md). A voice folder gets its
four graphs with ``tts-voice export-onnx`` (:mod:`tts.export.onnx`), into ``VOICE/onnx/``::

    ids ─encoder.onnx─▶ mu, logw ─pipeline (numpy)─▶ latents ─vae_decoder.onnx─▶ mel (B, M, T)
    mel ─vocoder.onnx─▶ log-magnitude, phase ─numpy inverse STFT (+ phase refinement)─▶ wav (B, T·hop)

Everything between the graphs (durations, length regulation, noise, the ODE sampler over
``denoiser.onnx`` with guidance, speaker blends, sentences, streaming) is
:class:`tts.runtime.base.SynthesizerBase`'s and :mod:`tts.core.pipeline`'s, shared with the PyTorch
:class:`tts.runtime.torch.Synthesizer`: same API, and the same seed gives the same audio to float
rounding (for an all-fp32 export). By default the export stores three graphs in int8 — the iSTFT
vocoder's blocks, the U-Net's convolutions and the VAE decoder (:mod:`tts.export.onnx`) — which run
exactly on every x86-64 CPU (:mod:`tts.core.onnx_options`) and stay close to fp32; the encoder (whose
durations set the timing) stays fp32. With two or
more threads the denoiser's batch runs as two parallel halves. ``stream`` vocodes long sentences in
overlapping windows: the exported iSTFT vocoder returns its magnitude and phase, so an integrated
phase is carried from one window to the next in numpy.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tts.core.files import CheckpointError
from tts.core.names import ONNX_DIR, ONNX_FORMAT, ONNX_MANIFEST
from tts.core.onnx_options import session_options
from tts.core.pipeline import AcousticShape
from tts.core.spectral import refinement_context
from tts.core.voice import (
    ACOUSTIC_FILE,
    VAE_FILE,
    VOCODER_FILE,
    Voice,
    complete_voice_config,
    load_voice_config,
    resolve_voice_dir,
)
from tts.runtime.base import DEFAULT_CONTEXT_FRAMES, SynthesizerBase
from tts.text import Tokenizer

GRAPHS = ("encoder", "denoiser", "vae_decoder", "vocoder")


def onnx_export_dir(folder: str | Path) -> Path | None:
    """``VOICE/onnx`` when it holds an export (a manifest), else None. Cheap: no file is read."""
    d = Path(folder) / ONNX_DIR
    return d if (d / ONNX_MANIFEST).is_file() else None


@dataclass(frozen=True)
class OnnxAudioSettings:
    """The audio settings the runtime needs (a torch-free subset of ``tts.audio.AudioConfig``)."""

    sample_rate: int
    hop_length: int
    n_fft: int
    n_mels: int
    log_clamp: float


@dataclass
class OnnxVoice(Voice):
    """A voice folder's ONNX export, loaded: sessions plus what is needed to feed them."""

    manifest: dict[str, Any]
    sessions: dict[str, Any]
    #: per graph, the inputs it takes (single-speaker graphs take no speaker)
    input_names: dict[str, set[str]]
    vocoder_name: str = "onnx"
    precision: str = "fp32"
    #: the denoiser's batch is split into this many parts run side by side (its session has
    #: ``threads // denoiser_workers`` intra-op threads); see :meth:`OnnxSynthesizer._denoise`
    denoiser_workers: int = 1


def load_onnx_voice(
    path: str | Path | None = None,
    threads: int | None = None,
    spin: bool = False,
    phase_iterations: int | None = None,
) -> OnnxVoice:
    """Load the ONNX export of a voice folder (default: the shipped voice); ``threads``:
    onnxruntime's intra-op threads (default: its choice); ``spin``: let idle threads spin-wait;
    ``phase_iterations`` overrides ``voice.json``'s.

    Raises ``FileNotFoundError`` when there is no voice or no export, and ``CheckpointError``
    for an unreadable manifest or graph, or an export made from other weights than the folder's
    (its manifest records their sizes; a changed file means a stale export).
    """
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ImportError("the ONNX runtime needs onnxruntime: pip install onnxruntime") from e

    folder, _ = resolve_voice_dir(path)
    d = onnx_export_dir(folder)
    if d is None:
        raise FileNotFoundError(
            f"voice folder {folder} has no ONNX export ({ONNX_DIR}/{ONNX_MANIFEST}); "
            f"make one with: tts-voice export-onnx --voice {folder}"
        )
    try:
        manifest = json.loads((d / ONNX_MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format") != ONNX_FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}, this version reads {ONNX_FORMAT}")
        tokenizer = Tokenizer.from_dict(manifest["tokenizer"])
        a = manifest["audio"]
        audio = OnnxAudioSettings(
            int(a["sample_rate"]),
            int(a["hop_length"]),
            int(a["n_fft"]),
            int(a["n_mels"]),
            float(a["log_clamp"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{d / ONNX_MANIFEST}: unreadable ONNX manifest: {e}") from e
    sizes = manifest.get("source_sizes", {})
    for name in (ACOUSTIC_FILE, VAE_FILE, VOCODER_FILE):
        f = folder / name
        if name in sizes and f.is_file() and f.stat().st_size != sizes[name]:
            raise CheckpointError(
                f"{d} was exported from another {name} than {f}; "
                f"re-export with: tts-voice export-onnx --voice {folder}"
            )

    # threads that spin while waiting take the cores others need (the reason tts-synth sets
    # OMP_WAIT_POLICY=PASSIVE for torch); measured on the 2-core machine: a sentence 2x faster
    # without spinning when anything else runs, PyTorch in the same process included.
    # session_options also makes the int8 vocoder exact on CPUs without VNNI (tts.core.onnx_options).
    def options(intra_op: int) -> Any:
        return session_options(intra_op, spin)  # intra_op 0: onnxruntime's choice

    # The U-Net's small convolutions hardly use a second thread (a sentence's guided step, batch 2:
    # 12.9 ms on 1 thread, 10.4-12.7 ms on 2), while two batch-1 halves on one thread each take
    # 7.3 ms side by side: so with >= 2 threads the denoiser runs its batch as two parallel halves.
    cores = int(threads) if threads else (os.cpu_count() or 1)
    denoiser_workers = 2 if cores >= 2 else 1
    sessions = {}
    for name in GRAPHS:
        p = d / f"{name}.onnx"
        if not p.is_file():
            raise CheckpointError(f"ONNX export {d} is missing {p.name}")
        intra_op = int(threads) if threads else 0
        if name == "denoiser":
            intra_op = max(1, cores // denoiser_workers)
        try:
            sessions[name] = ort.InferenceSession(
                str(p), options(intra_op), providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own exception types for bad files
            raise CheckpointError(f"{p} is not a loadable ONNX model: {e}") from e
    d = manifest.get("defaults", {})
    speakers = [str(s) for s in manifest.get("speakers", [])]
    cfg = complete_voice_config(
        load_voice_config(folder),
        folder,
        speakers,
        d.get("steps"),
        d.get("temperature"),
        d.get("sampler"),
        d.get("duration_rounding", "ceil"),
        phase_iterations,
    )
    return OnnxVoice(
        folder=folder,
        config=cfg,
        tokenizer=tokenizer,
        speakers=speakers,
        add_blank=bool(manifest.get("add_blank", False)),
        audio=audio,
        manifest=manifest,
        sessions=sessions,
        input_names={name: {i.name for i in sess.get_inputs()} for name, sess in sessions.items()},
        denoiser_workers=denoiser_workers,
    )


class OnnxSynthesizer(SynthesizerBase):
    """Text-to-speech with a voice's ONNX export; the API of :class:`tts.runtime.torch.Synthesizer`.

    >>> synth = OnnxSynthesizer.from_pretrained()                  # doctest: +SKIP
    >>> synth.synthesize("Hello there.", seed=0).save("hello.wav")   # doctest: +SKIP
    """

    voice: OnnxVoice
    backend = "onnx"
    _speakers: np.ndarray | None = None  # (K, S), read from the encoder on first use
    _blend_encoder: Any = None  # the encoder graph taking an embedding g (speaker blends), made on first use

    @classmethod
    def from_pretrained(
        cls,
        path: str | Path | None = None,
        threads: int | None = None,
        phase_iterations: int | None = None,
        **kwargs: Any,
    ) -> OnnxSynthesizer:
        """Load ``VOICE/onnx`` (default voice: the shipped one); ``threads``: onnxruntime's
        intra-op threads per graph (default: its choice); ``phase_iterations``: phase refinement
        steps (default: ``voice.json``'s). Other keyword arguments go to the constructor
        (``max_chars``, ``lexicon``)."""
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        return cls(load_onnx_voice(path, threads, phase_iterations=phase_iterations), **kwargs)

    # ------------------------------------------------------------------ backend hooks
    def _default_context_frames(self) -> int:
        """The vocoder's receptive field, widened by the phase refinement."""
        a = self.voice.audio
        frames = int(self.voice.manifest.get("vocoder_context_frames", DEFAULT_CONTEXT_FRAMES))
        return frames + refinement_context(self.voice.config.phase_iterations, a.n_fft, a.hop_length)

    @contextmanager
    def _inference(self) -> Iterator[None]:
        with self._lock:
            yield

    def _run(self, graph: str, **inputs: np.ndarray | None) -> list[np.ndarray]:
        wanted = self.voice.input_names[graph]
        return self.voice.sessions[graph].run(None, {k: v for k, v in inputs.items() if k in wanted})

    def _acoustic_shape(self) -> AcousticShape:
        m = self.voice.manifest
        return AcousticShape(int(m["unet_factor"]), int(m["vae_downsample"]), float(m["sigma_min"]))

    def _encoder(
        self, tokens: np.ndarray, lengths: np.ndarray, speakers: np.ndarray | None, g: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        if g is not None:
            mu, x_mask, logw = self._encode_embedding(tokens, lengths, g)[:3]
            return mu, x_mask, logw, g
        mu, x_mask, logw, *rest = self._run("encoder", tokens=tokens, lengths=lengths, speakers=speakers)
        return mu, x_mask, logw, (rest[0] if rest else None)

    def _denoiser(self, **inputs: np.ndarray | None) -> np.ndarray:
        return self._run("denoiser", **inputs)[0]  # onnxruntime releases the GIL: halves run in parallel

    def _denoiser_workers(self) -> int:
        return self.voice.denoiser_workers

    def _vae_decoder(self, z: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return self._run("vae_decoder", z=z, lengths=lengths)[0]

    def _vocode(self, mel: np.ndarray, mel_lengths: Sequence[int]) -> list[np.ndarray]:
        """``mel: (B, M, T)`` -> one waveform ``(mel_lengths[b] * hop,)`` per item."""
        mel = np.array(mel, dtype=np.float32)  # a copy: padded frames are overwritten
        for i, n in enumerate(mel_lengths):
            mel[i, :, n:] = math.log(self.voice.audio.log_clamp)  # padding reads as silence
        a = self.voice.audio
        if self.voice.manifest.get("vocoder_output") == "spectrum":  # iSTFT vocoder: numpy inverse
            from tts.core.spectral import refine_phase

            log_mag, phase = self._run("vocoder", mel=mel)
            wav = refine_phase(log_mag, phase, self.voice.config.phase_iterations, a.n_fft, a.hop_length)
        else:
            (wav,) = self._run("vocoder", mel=mel)
        hop = a.hop_length
        return [np.ascontiguousarray(wav[i, : n * hop], dtype=np.float32) for i, n in enumerate(mel_lengths)]

    # ------------------------------------------------------------------ speaker blends
    def _speaker_table(self) -> np.ndarray:
        """The speakers' embeddings ``(K, S)``, read once from the encoder graph (which returns
        each speaker's embedding ``g``)."""
        if self._speakers is None:
            n = len(self.voice.speakers)
            if "speakers" not in self.voice.input_names["encoder"] or n < 2:
                raise ValueError("a single-speaker voice cannot blend speakers")
            out = self._run(
                "encoder",
                tokens=np.ones((n, 1), np.int64),
                lengths=np.ones(n, np.int64),
                speakers=np.arange(n, dtype=np.int64),
            )
            self._speakers = np.asarray(out[3], np.float32)
        return self._speakers

    def _encode_embedding(self, tokens: np.ndarray, lengths: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        """The encoder on a speaker embedding ``g: (B, S)`` instead of speaker ids.

        A graph with a ``g`` input is fed directly. The graphs ``tts.export.onnx`` writes take ids
        (a ``Gather`` from the embedding table makes ``g``): for those the graph is rewritten once,
        in memory, to take ``g`` as an input instead (needs the ``onnx`` package), so a blend
        runs the very network of the PyTorch backend — the same audio at temperature 0.
        """
        if "g" in self.voice.input_names["encoder"]:
            return self._run("encoder", tokens=tokens, lengths=lengths, g=g)
        if self._blend_encoder is None:
            self._blend_encoder = self._encoder_taking_embedding()
        return self._blend_encoder.run(None, {"tokens": tokens, "lengths": lengths, "g": g})

    def _encoder_taking_embedding(self) -> Any:
        try:
            import onnx
        except ImportError:
            raise ValueError(
                "speaker blending with this ONNX export needs the onnx package (pip install onnx)"
            ) from None
        import onnxruntime as ort

        path = self.voice.folder / ONNX_DIR / "encoder.onnx"
        model = onnx.load(str(path))
        graph = model.graph
        gather = [n for n in graph.node if list(n.output) == ["g"] and "speakers" in n.input]
        if len(gather) != 1:
            raise ValueError(f"{path}: cannot find the speaker embedding lookup to blend speakers")
        graph.node.remove(gather[0])
        for init in [t for t in graph.initializer if t.name == gather[0].input[0]]:
            graph.initializer.remove(init)  # the embedding table: only the lookup used it
        for o in [o for o in graph.output if o.name == "g"]:
            graph.output.remove(o)
        for i in [i for i in graph.input if i.name == "speakers"]:
            graph.input.remove(i)
        width = int(self._speaker_table().shape[1])
        graph.input.append(onnx.helper.make_tensor_value_info("g", onnx.TensorProto.FLOAT, ["B", width]))
        options = self.voice.sessions["encoder"].get_session_options()
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def _vocoder_restarts_phase(self) -> bool:
        """An exported wav graph that integrates its phase (older exports) cannot be windowed."""
        m = self.voice.manifest
        return m.get("vocoder_output") != "spectrum" and bool(m.get("vocoder_integrates_phase", True))

    def _window_spectrum(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool] | None:
        m = self.voice.manifest
        if m.get("vocoder_output") != "spectrum":
            return None
        log_mag, phase = self._run("vocoder", mel=np.ascontiguousarray(window, dtype=np.float32))
        return log_mag, phase, bool(m.get("vocoder_integrates_phase", False))

    def _spectrum_wave(self, log_mag: np.ndarray, phase: np.ndarray) -> np.ndarray:
        from tts.core.spectral import refine_phase

        a = self.voice.audio
        return refine_phase(log_mag, phase, self.voice.config.phase_iterations, a.n_fft, a.hop_length)[0]
