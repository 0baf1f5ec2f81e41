"""Speak with onnxruntime and numpy only: the same pipeline as :class:`tts.synthesizer.Synthesizer`
without importing torch.

Importing torch takes 1.5–2 s of a 2–3 s ``tts-synth`` cold start on the 2-core machine, while
onnxruntime imports in 0.25 s; onnxruntime also runs the diffusion U-Net about twice as fast as
eager PyTorch at one-sentence sizes (docs/benchmarks.md). A voice folder gets the four graphs with
``tts-voice export-onnx`` (:mod:`tts.onnx_export`), into ``VOICE/onnx/``::

    ids ─encoder.onnx─▶ mu, logw ─numpy: durations, length regulation─▶ mu_y (B, C, T_lat)
    noise ─ODE sampler (tts.samplers) over denoiser.onnx, guidance in numpy─▶ latents
    latents ─vae_decoder.onnx─▶ mel (B, M, T) ─vocoder.onnx─▶ wav (B, T·hop)

Text handling, sentences, pauses and batching are :class:`tts.speech.SynthesizerBase`'s, so
``OnnxSynthesizer`` has the ``Synthesizer`` API (``synthesize``, ``stream``,
``synthesize_batch``, ``prepare``, ``speakers`` …). Differences: the starting noise comes from
numpy's generator, so a seed gives other (equally likely) audio than the PyTorch backend with the
same seed — with ``temperature=0`` the two agree to float rounding (tested). Everything runs in
fp32 except an iSTFT vocoder exported with int8 block weights (the default, :mod:`tts.onnx_export`).
With two or more threads the denoiser's batch runs as two parallel halves (:meth:`_denoise`).
``stream`` vocodes long sentences in overlapping windows as the PyTorch backend does: the
exported iSTFT vocoder returns its magnitude and phase, so the integrated phase is carried from one
window to the next in numpy.
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

from tts.files import CheckpointError
from tts.names import ONNX_DIR, ONNX_FORMAT, ONNX_MANIFEST
from tts.onnx_options import session_options
from tts.spectral import refinement_context
from tts.speech import SynthesizerBase
from tts.text import Tokenizer
from tts.text.pronunciations import Lexicon
from tts.voice import (
    ACOUSTIC_FILE,
    VAE_FILE,
    VOCODER_FILE,
    SynthesisOptions,
    VoiceConfig,
    VoiceOptionsMixin,
    complete_voice_config,
    load_voice_config,
    resolve_voice_dir,
)

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
class OnnxVoice(VoiceOptionsMixin):
    """A voice folder's ONNX export, loaded: sessions plus what is needed to feed them."""

    folder: Path
    config: VoiceConfig
    tokenizer: Tokenizer
    speakers: list[str]
    add_blank: bool
    audio: OnnxAudioSettings
    manifest: dict[str, Any]
    sessions: dict[str, Any]
    input_names: dict[
        str, set[str]
    ]  #: per graph, the inputs it takes (single-speaker graphs take no speaker)
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
    # session_options also makes the int8 vocoder exact on CPUs without VNNI (tts.onnx_options).
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


def durations_from_log(logw: np.ndarray, mask: np.ndarray, length_scale: float, rounding: str) -> np.ndarray:
    """``ceil(exp(logw) · length_scale)`` (or ``round``) frames, at least 1 per valid token, 0 on
    padding: ``(B, N)`` int64 (as ``tts.encoder.duration.durations_from_log``)."""
    w = np.exp(logw.astype(np.float32)) * np.float32(length_scale)
    d = np.ceil(w) if rounding == "ceil" else np.round(w)
    return (np.maximum(d, 1).astype(np.int64) * (mask > 0)).astype(np.int64)


def regulate_length(
    mu: np.ndarray, durations: np.ndarray, multiple: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat token ``n``'s column of ``mu (B, C, N)`` ``durations[b, n]`` times -> ``mu_y (B, C, T)``,
    frame mask ``(B, 1, T)`` and lengths ``(B,)``; ``T`` is the longest length rounded up to
    ``multiple`` (the U-Net's downsampling factor; the extra frames are masked)."""
    lengths = durations.sum(axis=1)
    t = int(math.ceil(int(lengths.max()) / multiple) * multiple)
    b, c, _ = mu.shape
    mu_y = np.zeros((b, c, t), np.float32)
    mask = np.zeros((b, 1, t), np.float32)
    for i in range(b):
        n = int(lengths[i])
        mu_y[i, :, :n] = np.repeat(mu[i], durations[i], axis=-1)
        mask[i, :, :n] = 1.0
    return mu_y, mask, lengths


class OnnxSynthesizer(SynthesizerBase):
    """Text-to-speech with a voice's ONNX export; the API of :class:`tts.synthesizer.Synthesizer`.

    >>> synth = OnnxSynthesizer.from_pretrained()                  # doctest: +SKIP
    >>> synth.synthesize("Hello there.", seed=0).save("hello.wav")   # doctest: +SKIP
    """

    voice: OnnxVoice
    backend = "onnx"

    def __init__(
        self,
        voice: OnnxVoice,
        *,
        max_chars: int | None = 20_000,
        chunk_frames: int = 64,
        context_frames: int | None = None,
        lexicon: str | Path | Lexicon | None = None,
    ) -> None:
        if context_frames is None:  # the vocoder's receptive field, widened by the phase refinement
            a = voice.audio
            context_frames = int(voice.manifest.get("vocoder_context_frames", 32))
            context_frames += refinement_context(voice.config.phase_iterations, a.n_fft, a.hop_length)
        super().__init__(
            voice,
            max_chars=max_chars,
            chunk_frames=chunk_frames,
            context_frames=context_frames,
            lexicon=lexicon,
        )
        self._speaker_table: np.ndarray | None = None  # (K, S), read from the encoder on first use
        self._blend_encoder: Any = None  # the encoder graph taking an embedding g (speaker blends)

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
    @contextmanager
    def _inference(self) -> Iterator[None]:
        with self._lock:
            yield

    def _generator(self, seed: int | None) -> np.random.Generator:
        return np.random.default_rng(seed)

    def _run(self, graph: str, **inputs: np.ndarray | None) -> list[np.ndarray]:
        wanted = self.voice.input_names[graph]
        return self.voice.sessions[graph].run(None, {k: v for k, v in inputs.items() if k in wanted})

    def _denoise(self, **inputs: np.ndarray | None) -> np.ndarray:
        """The denoiser's velocity for a batch; with ``voice.denoiser_workers`` = 2 and a batch of
        two or more (a guided step's conditional and unconditional halves), the halves run side by
        side: the second on the caller's thread, the first on a helper thread (onnxruntime releases
        the GIL and lets one session run concurrently)."""
        if self.voice.denoiser_workers < 2 or int(inputs["x"].shape[0]) < 2:  # type: ignore[union-attr]
            return self._run("denoiser", **inputs)[0]
        return self._in_halves(lambda **half: self._run("denoiser", **half)[0], np.concatenate, **inputs)

    def _acoustic(
        self, token_ids: Sequence[Sequence[int]], opts: SynthesisOptions, gen: np.random.Generator
    ) -> tuple[np.ndarray, list[int], list[np.ndarray]]:
        """Token ids of B sentences -> raw log-mel ``(B, M, T)``, mel lengths, mel frames per token."""
        m = self.voice.manifest
        b = len(token_ids)
        lengths = np.array([len(t) for t in token_ids], np.int64)
        tokens = np.zeros((b, int(lengths.max())), np.int64)
        for i, ids in enumerate(token_ids):
            tokens[i, : len(ids)] = ids
        mix = getattr(opts, "speaker_mix", ())
        if mix:
            g = np.repeat(self._blend(mix)[None], b, axis=0)
            mu, x_mask, logw = self._encode_embedding(tokens, lengths, g)[:3]
        else:
            speakers = np.full((b,), opts.speaker, np.int64)
            mu, x_mask, logw, *rest = self._run("encoder", tokens=tokens, lengths=lengths, speakers=speakers)
            g = rest[0] if rest else None
        durations = durations_from_log(logw[:, 0], x_mask[:, 0], opts.length_scale, opts.duration_rounding)
        if int(durations.sum(axis=1).min()) < 1:
            raise ValueError("every utterance needs at least one latent frame (all durations are 0)")
        mu_y, mask, lat_lengths = regulate_length(mu, durations, int(m["unet_factor"]))
        x0 = gen.standard_normal(mu_y.shape, dtype=np.float32) * np.float32(opts.temperature)
        guidance = float(opts.guidance)
        if guidance > 0:  # conditional and unconditional fields in one batched call
            mu2, mask2 = np.concatenate([mu_y, np.zeros_like(mu_y)]), np.concatenate([mask, mask])
            g2 = None if g is None else np.concatenate([g, g])

        def velocity(x: np.ndarray, t: float) -> np.ndarray:
            x = (x * mask).astype(np.float32)
            if guidance == 0:
                return self._denoise(x=x, t=np.full((b,), t, np.float32), mu=mu_y, mask=mask, g=g)
            v = self._denoise(
                x=np.concatenate([x, x]), t=np.full((2 * b,), t, np.float32), mu=mu2, mask=mask2, g=g2
            )
            v_c, v_u = v[:b], v[b:]
            return v_c + np.float32(guidance) * (v_c - v_u)

        from tts.samplers import SAMPLERS

        z = SAMPLERS[opts.sampler](velocity, x0 * mask, opts.steps, sigma_min=float(m["sigma_min"])) * mask
        t_lat = int(lat_lengths.max())
        z = np.ascontiguousarray(z[:, :, :t_lat], dtype=np.float32)
        (mel,) = self._run("vae_decoder", z=z, lengths=lat_lengths)
        r = int(m["vae_downsample"])
        per_token = [(durations[i, : len(ids)] * r).astype(np.float32) for i, ids in enumerate(token_ids)]
        return mel, [int(n) * r for n in lat_lengths], per_token

    def _vocode(self, mel: np.ndarray, mel_lengths: Sequence[int]) -> list[np.ndarray]:
        """``mel: (B, M, T)`` -> one waveform ``(mel_lengths[b] * hop,)`` per item."""
        mel = np.array(mel, dtype=np.float32)  # a copy: padded frames are overwritten
        for i, n in enumerate(mel_lengths):
            mel[i, :, n:] = math.log(self.voice.audio.log_clamp)  # padding reads as silence
        a = self.voice.audio
        if self.voice.manifest.get("vocoder_output") == "spectrum":  # iSTFT vocoder: numpy inverse
            from tts.spectral import refine_phase

            log_mag, phase = self._run("vocoder", mel=mel)
            wav = refine_phase(log_mag, phase, self.voice.config.phase_iterations, a.n_fft, a.hop_length)
        else:
            (wav,) = self._run("vocoder", mel=mel)
        hop = a.hop_length
        return [np.ascontiguousarray(wav[i, : n * hop], dtype=np.float32) for i, n in enumerate(mel_lengths)]

    # ------------------------------------------------------------------ speaker blends
    def _blend(self, mix: Sequence[tuple[int, float]]) -> np.ndarray:
        """The weighted mean of the speakers' embeddings ``(S,)``. The table is read once from the
        encoder graph, which returns each speaker's embedding ``g``."""
        if self._speaker_table is None:
            n = len(self.voice.speakers)
            if "speakers" not in self.voice.input_names["encoder"] or n < 2:
                raise ValueError("a single-speaker voice cannot blend speakers")
            out = self._run(
                "encoder",
                tokens=np.ones((n, 1), np.int64),
                lengths=np.ones(n, np.int64),
                speakers=np.arange(n, dtype=np.int64),
            )
            self._speaker_table = np.asarray(out[3], np.float32)
        return sum(np.float32(w) * self._speaker_table[i] for i, w in mix).astype(np.float32)

    def _encode_embedding(self, tokens: np.ndarray, lengths: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
        """The encoder on a speaker embedding ``g: (B, S)`` instead of speaker ids.

        A graph with a ``g`` input is fed directly. The graphs ``tts.onnx_export`` writes take ids
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
        width = int(self._speaker_table.shape[1])  # type: ignore[union-attr]
        graph.input.append(onnx.helper.make_tensor_value_info("g", onnx.TensorProto.FLOAT, ["B", width]))
        options = self.voice.sessions["encoder"].get_session_options()
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def _insert_silence(self, mel: np.ndarray, at: Sequence[tuple[int, int]]) -> np.ndarray:
        """``mel: (1, M, T)`` with ``n`` floor frames before frame ``f`` for each ``(f, n)``."""
        floor = np.float32(math.log(self.voice.audio.log_clamp))
        parts, prev = [], 0
        for f, n in at:
            parts += [mel[..., prev:f], np.full((*mel.shape[:-1], n), floor, np.float32)]
            prev = f
        return np.concatenate([*parts, mel[..., prev:]], axis=-1)

    def _vocoder_restarts_phase(self) -> bool:
        """An exported wav graph that integrates its phase (older exports) cannot be windowed."""
        m = self.voice.manifest
        return m.get("vocoder_output") != "spectrum" and bool(m.get("vocoder_integrates_phase", True))

    def _vocode_window(
        self, window: np.ndarray, s: int, e: int, anchor: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """One streaming window (as ``Synthesizer._vocode_window``): an integrated phase is shifted
        so that frame ``s - 1`` has the previous window's ``anchor``; returns the phase of frame
        ``e - 1`` as the next anchor."""
        m, a = self.voice.manifest, self.voice.audio
        if m.get("vocoder_output") != "spectrum":
            return self._vocode(window, [window.shape[-1]])[0], None
        log_mag, phase = self._run("vocoder", mel=np.ascontiguousarray(window, dtype=np.float32))
        if not m.get("vocoder_integrates_phase", False):
            anchor = None
        elif anchor is not None and s > 0:
            phase = phase + (anchor - phase[..., s - 1])[..., None]
        from tts.spectral import refine_phase

        wav = refine_phase(log_mag, phase, self.voice.config.phase_iterations, a.n_fft, a.hop_length)[0]
        return wav, (phase[..., e - 1] if m.get("vocoder_integrates_phase", False) else None)
