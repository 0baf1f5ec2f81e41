"""``Synthesizer``: text in, waveform out with PyTorch — the programmatic API behind ``tts-synth``.

Text handling, the sentence loop, pauses and batching are :class:`tts.speech.SynthesizerBase`'s;
this class runs the models. One method per way of using the pipeline::

    text ─split_sentences─▶ sentences ─phonemize─▶ IPA ─Tokenizer─▶ ids            (prepare)
    ids ─AcousticModel.synthesize─▶ latents (B, C, T_lat) ─MelVAE.decode─▶ mel (B, M, T)   (_acoustic)
    mel ─vocoder─▶ wav (B, T·hop)                                                 (_vocode / _vocode_chunks)

``synthesize`` runs sentence by sentence and joins them with a short pause; ``stream`` yields the
same audio as it is produced (the vocoder runs on overlapping windows of each sentence's mel, the
first one 64 frames long, so the first samples arrive after one small window);
``synthesize_batch`` pads many sentences into one batch for throughput.

Thread safety: one lock serialises the models, so a ``Synthesizer`` may be shared by threads;
calls interleave sentence by sentence (and window by window when streaming) rather than run in
parallel. For real parallelism use one ``Synthesizer`` per process. ``threads`` sets torch's
*process-wide* intra-op thread count.

Threads per stage (CPU, N >= 2 threads): the text encoder, the denoiser and the VAE decoder are
small convolution stacks whose ops are too short to share between threads (on the 2-core machine
the guided U-Net step of a 10-word sentence takes 33 ms on two threads, 17 ms on one), so that stage
runs on N / 2 threads, with the denoiser's batch — a guided step's conditional and unconditional
halves — split over two calls side by side, on N / 2 threads each (13 ms on the 2-core machine);
the vocoder's wide matrix multiplies then get all N threads again. Measured on that sentence:
122 → 97 ms.

Letters used for shapes: B batch, N tokens, C latent channels, T_lat latent frames, M mel bins,
T mel frames, L samples.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts.speech import BREAK, PAUSE, Audio, PreparedText, SynthesizerBase, Word
from tts.text.pronunciations import Lexicon
from tts.voice import LoadedVoice, SynthesisOptions, load_voice

__all__ = ["BREAK", "DEFAULT_CONTEXT_FRAMES", "PAUSE", "Audio", "PreparedText", "Synthesizer", "Word"]

#: streaming context (mel frames on each side of a vocoder window) for vocoders that do not say
DEFAULT_CONTEXT_FRAMES = 32


class Synthesizer(SynthesizerBase):
    """Text-to-speech with one voice (acoustic model + mel VAE + vocoder).

    >>> synth = Synthesizer.from_pretrained()                     # doctest: +SKIP
    >>> synth.synthesize("Hello there.", seed=0).save("hello.wav")  # doctest: +SKIP
    """

    backend = "torch"

    def __init__(
        self,
        voice: LoadedVoice,
        *,
        max_chars: int | None = 20_000,
        chunk_frames: int = 64,
        context_frames: int | None = None,
        lexicon: str | Path | Lexicon | None = None,
    ) -> None:
        if context_frames is None:  # enough for windowed vocoding to equal one-shot vocoding
            context_frames = int(getattr(voice.vocoder, "context_frames", DEFAULT_CONTEXT_FRAMES))
        super().__init__(
            voice,
            max_chars=max_chars,
            chunk_frames=chunk_frames,
            context_frames=context_frames,
            lexicon=lexicon,
        )
        self.voice: LoadedVoice = voice
        self._device = next(voice.acoustic.parameters()).device

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
        else fp32), ``"fp32"`` or ``"bf16"`` (:mod:`tts.precision`). ``phase_iterations``: phase
        refinement steps after an iSTFT vocoder (default: ``voice.json``'s; :mod:`tts.spectral`).
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

    def _run_halves(
        self,
        net: Any,
        x: torch.Tensor,
        t: torch.Tensor,
        mu: torch.Tensor,
        mask: torch.Tensor,
        g: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``net`` on a batch of two or more as two halves side by side: the first on a helper
        thread, the second on the caller's, each with the caller's intra-op thread count (set by
        :meth:`_acoustic` to half the synthesizer's; see the module docstring)."""
        if x.shape[0] < 2:
            return net(x, t, mu, mask, g)
        threads = torch.get_num_threads()

        def half(**inputs: torch.Tensor | None) -> torch.Tensor:
            if torch.get_num_threads() != threads:  # per thread under OpenMP: the helper sets its own
                torch.set_num_threads(threads)
            with torch.inference_mode():  # thread-local as well
                return net(**inputs)

        return self._in_halves(half, torch.cat, x=x, t=t, mu=mu, mask=mask, g=g)

    def _generator(self, seed: int | None) -> torch.Generator | None:
        if seed is None:
            return None
        return torch.Generator(device=self._device).manual_seed(int(seed))

    def _acoustic(
        self, token_ids: Sequence[Sequence[int]], opts: SynthesisOptions, gen: torch.Generator | None
    ) -> tuple[torch.Tensor, list[int], list[np.ndarray]]:
        """Token ids of B sentences -> raw log-mel ``(B, M, T)``, mel lengths, mel frames per token."""
        lengths = torch.tensor([len(t) for t in token_ids], dtype=torch.long)
        tokens = torch.zeros(len(token_ids), int(lengths.max()), dtype=torch.long)
        for b, ids in enumerate(token_ids):
            tokens[b, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        threads = torch.get_num_threads()
        split = self._device.type == "cpu" and threads >= 2  # threads per stage: module docstring
        mix = getattr(opts, "speaker_mix", ())
        blend = None
        if mix:  # a speaker blend: the weighted mean of the speakers' embeddings, (B, S)
            table = self.voice.acoustic.speaker_emb
            if table is None:
                raise ValueError("a single-speaker voice cannot blend speakers")
            g = sum(w * table.weight[i] for i, w in mix)
            blend = g.unsqueeze(0).expand(len(token_ids), -1)
        with self._torch_threads(threads // 2 if split else threads):
            out = self.voice.acoustic.synthesize(
                tokens.to(self._device),
                lengths.to(self._device),
                torch.full((len(token_ids),), opts.speaker, dtype=torch.long, device=self._device),
                speaker_embedding=blend,
                steps=opts.steps,
                temperature=opts.temperature,
                length_scale=opts.length_scale,
                sampler=opts.sampler,
                guidance=opts.guidance,
                generator=gen,
                rounding=opts.duration_rounding,
                runner=self._run_halves if split else None,
            )
            latents, latent_lengths = out["latents"], out["latent_lengths"]
            mel, mel_lengths = self.voice.vae.decode(latents, latent_lengths)
        ratio = mel.shape[-1] // latents.shape[-1]  # the VAE's time downsampling
        durations = [
            (out["durations"][b, : len(ids)].float() * ratio).cpu().numpy() for b, ids in enumerate(token_ids)
        ]
        return mel, [int(n) for n in mel_lengths], durations

    def _vocode(self, mel: torch.Tensor, mel_lengths: Sequence[int]) -> list[np.ndarray]:
        """``mel: (B, M, T)`` -> one waveform ``(mel_lengths[b] * hop,)`` per item."""
        floor = math.log(self.voice.audio.log_clamp)  # padded frames read as silence, not as garbage
        frames = torch.arange(mel.shape[-1], device=mel.device)
        lengths = torch.tensor(list(mel_lengths), device=mel.device)
        mel = mel.masked_fill(frames[None, None, :] >= lengths[:, None, None], floor)
        wav = self.voice.vocoder(mel).float().cpu().numpy()
        hop = self.voice.audio.hop_length
        return [np.ascontiguousarray(wav[b, : n * hop]) for b, n in enumerate(mel_lengths)]

    def _insert_silence(self, mel: torch.Tensor, at: Sequence[tuple[int, int]]) -> torch.Tensor:
        """``mel: (1, M, T)`` with ``n`` floor frames before frame ``f`` for each ``(f, n)``."""
        floor = math.log(self.voice.audio.log_clamp)
        parts, prev = [], 0
        for f, n in at:
            parts += [mel[..., prev:f], mel.new_full((*mel.shape[:-1], n), floor)]
            prev = f
        return torch.cat([*parts, mel[..., prev:]], dim=-1)

    def _vocoder_restarts_phase(self) -> bool:
        """A phase-integrating vocoder whose phase cannot be carried between windows (ONNX export)."""
        from tts.vocoder.generators import ISTFTGenerator

        voc = self.voice.vocoder
        return bool(getattr(voc, "integrates_phase", False)) and not isinstance(voc, ISTFTGenerator)

    def _vocode_window(
        self, window: torch.Tensor, s: int, e: int, anchor: torch.Tensor | None
    ) -> tuple[np.ndarray, torch.Tensor | None]:
        """Vocode one streaming window ``(1, M, T_w)`` whose own frames are ``[s, e)``.

        A vocoder that integrates its phase over time (``ISTFTGenerator`` with
        ``phase = "instantaneous"``) would restart the integral in every window, and the seams would
        join two copies of each partial with unrelated phases. Its phase is therefore shifted so
        that frame ``s - 1`` has the ``anchor`` phase the previous window gave it; the phase of frame
        ``e - 1`` is returned as the next anchor. Other vocoders are stateless: ``(wav, None)``.
        """
        from tts.vocoder.generators import ISTFTGenerator

        voc = self.voice.vocoder
        if not (isinstance(voc, ISTFTGenerator) and voc.integrates_phase):
            return self._vocode(window, [window.shape[-1]])[0], None
        log_mag, phase = voc.log_magnitude_and_phase(window)
        if anchor is not None and s > 0:
            phase = phase + (anchor - phase[..., s - 1]).unsqueeze(-1)
        wav = voc.waveform(log_mag, phase)[0].float().cpu().numpy()
        return wav, phase[..., e - 1]
