"""What every synthesizer shares, torch-free: :class:`Audio`, text preparation, the sentence loop
and the acoustic pipeline.

``SynthesizerBase`` turns text into sentences, phonemes and token ids (:meth:`prepare`), runs
them sentence by sentence (:meth:`synthesize`, :meth:`stream`) or in padded batches
(:meth:`synthesize_batch`) and joins sentences with a short pause. Between the networks
everything is numpy and shared (:meth:`_acoustic`, :mod:`tts.core.pipeline`: durations, length
regulation, noise, the ODE sampler with guidance; speaker blends; streaming windows and their
phase carry). A backend supplies only the networks, as functions on numpy arrays:

- ``_encoder(tokens, lengths, speakers, g)`` -> ``mu, x_mask, logw, g``; ``_denoiser(x, t, mu,
  mask, g)`` -> velocity; ``_vae_decoder(z, lengths)`` -> mel; ``_speaker_table()`` -> ``(K, S)``;
  ``_acoustic_shape()`` (:class:`tts.core.pipeline.AcousticShape`);
- ``_vocode(mel, mel_lengths)``, and for streaming within a sentence ``_vocode_window(window, s,
  e, anchor)`` and ``_vocoder_restarts_phase()`` (the windowing itself, ``_vocode_chunks``, is
  shared);
- ``_inference()`` (a context held around model calls), ``_acoustic_stage()`` (a context around
  the acoustic networks, e.g. their thread count) and ``_denoiser_workers()`` (how many halves of
  a denoiser batch run side by side);
- ``_default_context_frames()``: the streaming context when the constructor is given none (the
  vocoder's receptive field).

The backends are :class:`tts.runtime.torch.Synthesizer` (PyTorch) and
:class:`tts.runtime.onnx.OnnxSynthesizer` (onnxruntime, no torch import); :func:`tts.load` picks.

The voice is a :class:`tts.core.voice.Voice` (``config``, ``tokenizer``, ``add_blank``, ``speakers``,
``audio``, ``options(...)``): :class:`tts.runtime.torch.LoadedVoice` or :class:`tts.runtime.onnx.OnnxVoice`.

Text control (docs/text-control.md), shared by both backends here: SSML input (:mod:`tts.text.ssml`),
a pronunciation lexicon (:mod:`tts.text.pronunciations`), word timestamps (:attr:`Audio.words`,
read from the predicted durations and mapped back to the input by :mod:`tts.text.frontend`) and
speaker blends (``speaker="af_heart:0.7,bf_emma:0.3"``, :func:`parse_speaker`; the backends mix the
speaker embeddings).

Letters used for shapes: B batch, N tokens, M mel bins, T mel frames, L samples.
"""

from __future__ import annotations

import difflib
import math
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from tts.core.output import BREAK, PAUSE, Audio, Word
from tts.core.voice import SynthesisOptions, Voice, parse_speaker
from tts.text.frontend import load_lexicons, speaker_arg, word_token_spans
from tts.text.ssml import runs_of

if TYPE_CHECKING:
    from tts.core.pipeline import AcousticShape
    from tts.text.frontend import Utterance
    from tts.text.pronunciations import Lexicon

    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack


@dataclass(frozen=True)
class PreparedText:
    """A text checked and converted to token ids, sentence by sentence (see :meth:`Synthesizer.prepare`)."""

    text: str
    sentences: tuple[str, ...]
    phonemes: tuple[str, ...]
    token_ids: tuple[tuple[int, ...], ...]
    #: the front end's view of each sentence (words, speaker, rate, pauses, breaks); () when built by hand
    utterances: tuple[Utterance, ...] = ()


class SynthesisKwargs(TypedDict, total=False):
    """The synthesis settings that :meth:`SynthesizerBase.synthesize`, :meth:`~SynthesizerBase.stream`
    and :meth:`~SynthesizerBase.synthesize_batch` take by name (with ``speaker``, their second
    argument). Left out or ``None``, ``steps``, ``temperature``, ``sampler`` and ``guidance`` take
    the voice's ``voice.json`` (then the acoustic model's own defaults); ``ValueError`` when out of
    range (:class:`tts.core.voice.SynthesisOptions`), ``TypeError`` for a name not listed here."""

    steps: int | None  #: ODE steps of the latent diffusion decoder (more: slower, slightly cleaner)
    temperature: float | None  #: scale of the starting noise (0: deterministic and flatter)
    length_scale: float  #: > 1 slower speech, < 1 faster (default 1.0)
    seed: int | None  #: the same seed, text and settings give the same audio (None: fresh noise)
    sampler: str | None  #: the ODE solver, a name from :data:`tts.core.samplers.SAMPLERS`
    guidance: float | None  #: classifier-free guidance weight (0: off)


#: the names :class:`SynthesisKwargs` accepts
SYNTHESIS_KWARGS = tuple(SynthesisKwargs.__annotations__)


#: streaming context (mel frames on each side of a vocoder window) for vocoders that do not say
DEFAULT_CONTEXT_FRAMES = 32


class SynthesizerBase:
    """Text handling and the sentence loop of a synthesizer; see the module docstring for the hooks.

    Thread safety: one lock serialises the models, so a synthesizer may be shared by threads;
    calls interleave sentence by sentence rather than run in parallel.
    """

    backend: str = ""  #: "torch" or "onnx": what runs the models

    def __init__(
        self,
        voice: Voice,
        *,
        max_chars: int | None = 20_000,
        chunk_frames: int = 64,
        context_frames: int | None = None,
        lexicon: str | Path | Lexicon | None = None,
    ) -> None:
        self.voice = voice
        if context_frames is None:
            context_frames = self._default_context_frames()
        if chunk_frames < 1 or context_frames < 1:
            raise ValueError("chunk_frames and context_frames must be >= 1")
        #: pronunciations applied after normalisation: the voice's ``lexicon.tsv``, then ``lexicon``
        self.lexicon = load_lexicons(getattr(voice, "folder", None), lexicon)
        self.max_chars = max_chars  #: longest accepted text (characters); None = no limit
        self.chunk_frames = chunk_frames  #: mel frames of the first streaming window (later ones grow)
        #: extra frames on each side of a window (then cropped); by default the vocoder's receptive
        #: field (:meth:`_default_context_frames`), so streamed audio equals one-shot audio
        self.context_frames = context_frames
        self._lock = threading.RLock()
        self._pool: Any = None  # the helper thread of _in_halves, made on first use

    # ------------------------------------------------------------------ properties and text
    @property
    def sample_rate(self) -> int:
        return self.voice.audio.sample_rate

    @property
    def speakers(self) -> list[str]:
        """Speaker names of this voice (index = speaker id)."""
        return list(self.voice.speakers)

    @property
    def language(self) -> str:
        return self.voice.config.language

    def phonemize(self, text: str, ssml: bool | None = None, speaker: str | int | None = None) -> str:
        """The IPA the model will read for ``text`` (normalised, lexicon applied, with stress and
        punctuation; sentences joined by spaces). ``ssml``, ``speaker``: as in :meth:`prepare`."""
        return " ".join(self.prepare(text, ssml=ssml, speaker=speaker).phonemes)

    def prepare(
        self, text: str | PreparedText, ssml: bool | None = None, speaker: str | int | None = None
    ) -> PreparedText:
        """Validate ``text``, split it into sentences, phonemise (one espeak call per language) and
        tokenise.

        ``ssml``: read ``text`` as SSML (:mod:`tts.text.ssml`); ``None`` (default) does so when it
        starts with ``<speak``. ``speaker``: who will say it (default: the voice's), for its language
        (``voice.json`` ``languages``: a British speaker reads en-gb phonemes); SSML voices use their
        own. Raises ``ValueError`` for empty or too long text, text with nothing to pronounce,
        malformed SSML (naming line and column) and unknown SSML voices or speakers.
        """
        if isinstance(text, PreparedText):
            return text
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("text is empty")
        if self.max_chars is not None and len(text) > self.max_chars:
            raise ValueError(
                f"text is too long ({len(text)} characters, limit {self.max_chars}); "
                "split it, or raise Synthesizer.max_chars"
            )
        from tts.text.frontend import analyse

        language_of = None
        if self.voice.config.languages:

            def language_of(run_speaker: str | None) -> str:
                return self.voice.language_of(speaker if run_speaker is None else speaker_arg(run_speaker))

        utterances = analyse(
            runs_of(text, ssml), self.language, self.lexicon, input_text=text, language_of=language_of
        )
        kept = []
        for utt in utterances:
            ids = self.voice.tokenizer.encode(utt.phonemes, add_blank=self.voice.add_blank)
            if ids and any(ch.isalpha() for ch in utt.phonemes):
                if utt.speaker is not None:
                    parse_speaker(utt.speaker, self.speakers)  # unknown SSML voices fail here
                    if ":" not in utt.speaker:
                        self.voice.speaker_id(speaker_arg(utt.speaker))
                kept.append((utt.text, utt.phonemes, tuple(ids), utt))
        if not kept:
            raise ValueError(f"nothing pronounceable in text {_clip(text)!r}")
        return PreparedText(text, *(tuple(col) for col in zip(*kept)))

    # ------------------------------------------------------------------ public synthesis
    def synthesize(
        self,
        text: str | PreparedText,
        speaker: str | int | None = None,
        *,
        ssml: bool | None = None,
        **options: Unpack[SynthesisKwargs],
    ) -> Audio:
        """Speak ``text`` (any length: split into sentences joined by a short pause).

        ``speaker``: a name, an index or a blend (``"af_heart:0.7,bf_emma:0.3"``, :func:`parse_speaker`);
        default from ``voice.json``. ``options``: ``steps``, ``temperature``, ``length_scale``,
        ``seed``, ``sampler``, ``guidance`` (:class:`SynthesisKwargs`). ``ssml``: see
        :meth:`prepare`. Returns :class:`Audio` with ``samples: (L,)`` and ``words``.
        """
        opts, gen = self._options("synthesize", speaker, options)
        prep = self.prepare(text, ssml=ssml, speaker=speaker)
        return Audio.concatenate(list(self._stream(prep, opts, gen, chunked=False)))

    def stream(
        self,
        text: str | PreparedText,
        speaker: str | int | None = None,
        *,
        ssml: bool | None = None,
        **options: Unpack[SynthesisKwargs],
    ) -> Iterator[Audio]:
        """Like :meth:`synthesize` (same arguments), but yields ``Audio`` chunks as soon as each
        is vocoded.

        The concatenated chunks equal :meth:`synthesize`'s samples up to the small differences of
        vocoding in overlapping windows. Input errors are raised here, not at the first ``next()``.
        """
        opts, gen = self._options("stream", speaker, options)
        prep = self.prepare(text, ssml=ssml, speaker=speaker)
        return self._stream(prep, opts, gen, chunked=True)

    def synthesize_batch(
        self,
        texts: Sequence[str | PreparedText],
        speaker: str | int | None = None,
        *,
        batch_size: int = 16,
        ssml: bool | None = None,
        **options: Unpack[SynthesisKwargs],
    ) -> list[Audio]:
        """Speak many texts with padded, batched inference (``batch_size`` sentences at a time);
        ``speaker``, ``ssml`` and ``options`` as in :meth:`synthesize`.

        Sentences are sorted by length to keep padding small. Results match :meth:`synthesize`
        closely but not bit for bit: the starting noise is drawn per batch, not per sentence.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        opts, gen = self._options("synthesize_batch", speaker, options)
        preps = []
        for i, t in enumerate(texts):
            try:
                preps.append(self.prepare(t, ssml=ssml, speaker=speaker))
            except ValueError as e:
                raise ValueError(f"texts[{i}]: {e}") from e
        flat = [(i, j) for i, p in enumerate(preps) for j in range(len(p.token_ids))]
        unit_opts = {key: self._unit_options(opts, preps[key[0]], key[1]) for key in flat}
        groups: dict[SynthesisOptions, list[tuple[int, int]]] = {}
        for key in flat:  # one batch holds one speaker and rate
            groups.setdefault(unit_opts[key], []).append(key)
        done: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        for group_opts, keys_all in groups.items():
            keys_all.sort(key=lambda k: len(preps[k[0]].token_ids[k[1]]))
            for start in range(0, len(keys_all), batch_size):
                keys = keys_all[start : start + batch_size]
                with self._inference():
                    mel, mel_lengths, durations = self._acoustic(
                        [preps[i].token_ids[j] for i, j in keys], group_opts, gen
                    )
                    if any(_breaks(preps[i], j) for i, j in keys):  # silences go into each mel
                        wavs = []
                        for b, ((i, j), n, d) in enumerate(zip(keys, mel_lengths, durations)):
                            one = self._mel_with_breaks(mel[b : b + 1, :, :n], preps[i], j, d)
                            wavs.append(self._vocode(one, [int(one.shape[-1])])[0])
                    else:
                        wavs = self._vocode(mel, mel_lengths)
                for key, wav, dur in zip(keys, wavs, durations):
                    done[key] = (wav, dur)
        out = []
        for i, p in enumerate(preps):
            parts = []
            for j in range(len(p.token_ids)):
                pause = self._pause_before(p, j)
                if pause > 0:
                    parts.append(self._silence(pause))
                parts.append(self._sentence_audio(p, j, *done[(i, j)]))
            if _pause_after(p) > 0:
                parts.append(self._silence(_pause_after(p)))
            out.append(Audio.concatenate(parts))
        return out

    def _options(
        self, method: str, speaker: Any, options: SynthesisKwargs
    ) -> tuple[SynthesisOptions, np.random.Generator]:
        """A call's settings resolved against the voice (``voice.options``; a speaker blend
        included) and its noise generator (from ``seed``), checked before any work is done.
        ``TypeError`` names an unknown option as Python would for ``method``, with the known ones."""
        unknown = [k for k in options if k not in SYNTHESIS_KWARGS]
        if unknown:
            close = difflib.get_close_matches(unknown[0], SYNTHESIS_KWARGS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(
                f"{method}() got an unexpected keyword argument {unknown[0]!r}{hint}; "
                f"the synthesis options are {', '.join(SYNTHESIS_KWARGS)}"
            )
        opts = self.voice.options(
            speaker,
            steps=options.get("steps"),
            temperature=options.get("temperature"),
            length_scale=options.get("length_scale", 1.0),
            sampler=options.get("sampler"),
            guidance=options.get("guidance"),
        )
        return opts, self._generator(options.get("seed"))

    def _unit_options(self, opts: SynthesisOptions, prep: PreparedText, j: int) -> SynthesisOptions:
        """The call's options with sentence ``j``'s SSML voice and rate."""
        if not prep.utterances:
            return opts
        utt = prep.utterances[j]
        if utt.speaker is not None:
            speaker = self.voice.options(speaker_arg(utt.speaker))
            opts = replace(opts, speaker=speaker.speaker, speaker_mix=speaker.speaker_mix)
        if utt.rate != 1.0:
            opts = replace(opts, length_scale=opts.length_scale / utt.rate)
        return opts

    # ------------------------------------------------------------------ backend hooks
    def _default_context_frames(self) -> int:
        """Mel frames of context on each side of a streaming window when the constructor is given
        none: enough for windowed vocoding to equal one-shot vocoding (the vocoder's receptive field).
        Called by the constructor once ``self.voice`` is set."""
        return DEFAULT_CONTEXT_FRAMES

    def _inference(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _acoustic_stage(self) -> AbstractContextManager[None]:
        """A context held around the acoustic networks (encoder, denoiser, VAE decoder)."""
        return nullcontext()

    def _acoustic_shape(self) -> AcousticShape:
        raise NotImplementedError

    def _encoder(
        self, tokens: np.ndarray, lengths: np.ndarray, speakers: np.ndarray | None, g: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``tokens (B, N)``, ``lengths (B,)`` and speaker ids ``(B,)`` or embeddings ``g (B, S)``
        -> ``mu (B, C, N)``, ``x_mask (B, 1, N)``, ``logw (B, 1, N)``, ``g (B, S)`` (None when the
        voice has one speaker)."""
        raise NotImplementedError

    def _denoiser(self, **inputs: np.ndarray | None) -> np.ndarray:
        """``x (B, C, T), t (B,), mu (B, C, T), mask (B, 1, T), g (B, S) | None`` -> velocity ``(B, C, T)``.
        May run on a helper thread (:meth:`_in_halves`)."""
        raise NotImplementedError

    def _denoiser_workers(self) -> int:
        """Parts a denoiser batch of two or more is split into, run side by side (1 or 2)."""
        return 1

    def _vae_decoder(self, z: np.ndarray, lengths: np.ndarray) -> Any:
        """Latents ``z (B, C, T_lat)``, ``lengths (B,)`` -> raw log-mel ``(B, M, T_lat · r)``."""
        raise NotImplementedError

    def _speaker_table(self) -> np.ndarray:
        """The speaker embeddings ``(K, S)``; ``ValueError`` for a single-speaker voice."""
        raise NotImplementedError

    def _vocode(self, mel: Any, mel_lengths: Sequence[int]) -> list[np.ndarray]:
        raise NotImplementedError

    def _vocoder_restarts_phase(self) -> bool:
        """True when the vocoder integrates its phase and cannot carry it across windows."""
        raise NotImplementedError

    def _window_spectrum(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool] | None:
        """For streaming: the vocoder's ``log_mag, phase (1, F, T_w)`` of a mel window and whether
        that phase is integrated over time (so must be carried between windows); None when the
        vocoder gives only waveforms (then windows are vocoded with :meth:`_vocode`)."""
        raise NotImplementedError

    def _spectrum_wave(self, log_mag: np.ndarray, phase: np.ndarray) -> np.ndarray:
        """``(1, F, T)`` magnitude and phase -> waveform ``(T·hop,)`` (inverse STFT, phase refinement)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the acoustic pipeline
    def _generator(self, seed: int | None) -> np.random.Generator:
        return np.random.default_rng(seed)

    def _acoustic(
        self, token_ids: Sequence[Sequence[int]], opts: SynthesisOptions, gen: np.random.Generator
    ) -> tuple[np.ndarray, list[int], list[np.ndarray]]:
        """Token ids of B sentences -> raw log-mel ``(B, M, T)``, mel lengths, mel frames per token:
        the backend's networks joined by :mod:`tts.core.pipeline`."""
        from tts.core.pipeline import durations_from_log, pad_tokens, regulate_length, sample_latents

        shape = self._acoustic_shape()
        tokens, lengths = pad_tokens(token_ids)
        b = len(token_ids)
        mix = getattr(opts, "speaker_mix", ())
        with self._acoustic_stage():
            if mix:  # a blend: the weighted mean of the speakers' embeddings
                g: np.ndarray | None = np.repeat(self._blend(mix)[None], b, axis=0)
                mu, x_mask, logw, _ = self._encoder(tokens, lengths, None, g)
            else:
                speakers = np.full((b,), opts.speaker, np.int64)
                mu, x_mask, logw, g = self._encoder(tokens, lengths, speakers, None)
            rounding = opts.duration_rounding
            durations = durations_from_log(logw[:, 0], x_mask[:, 0], opts.length_scale, rounding)
            if int(durations.sum(axis=1).min()) < 1:
                raise ValueError("every utterance needs at least one latent frame (all durations are 0)")
            mu_y, mask, lat_lengths = regulate_length(mu, durations, shape.unet_factor)
            z = sample_latents(
                self._denoise,
                mu_y,
                mask,
                g,
                steps=opts.steps,
                sampler=opts.sampler,
                temperature=opts.temperature,
                guidance=opts.guidance,
                sigma_min=shape.sigma_min,
                rng=gen,
            )
            z = np.ascontiguousarray(z[:, :, : int(lat_lengths.max())], dtype=np.float32)
            mel = self._vae_decoder(z, lat_lengths)
        r = shape.vae_downsample
        per_token = [(durations[i, : len(ids)] * r).astype(np.float32) for i, ids in enumerate(token_ids)]
        return mel, [int(n) * r for n in lat_lengths], per_token

    def _denoise(self, **inputs: np.ndarray | None) -> np.ndarray:
        """The denoiser on a batch; with two workers and a batch of two or more (a guided step's
        conditional and unconditional halves, or several sentences) as two halves side by side."""
        if self._denoiser_workers() < 2 or int(inputs["x"].shape[0]) < 2:  # type: ignore[union-attr]
            return self._denoiser(**inputs)
        return self._in_halves(self._denoiser, np.concatenate, **inputs)

    def _blend(self, mix: Sequence[tuple[int, float]]) -> np.ndarray:
        """The weighted mean ``(S,)`` of the embeddings of the speakers in ``mix``."""
        table = self._speaker_table()
        return sum(np.float32(w) * table[i] for i, w in mix).astype(np.float32)  # type: ignore[union-attr]

    def _vocode_window(
        self, window: np.ndarray, s: int, e: int, anchor: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Vocode one streaming window ``(1, M, T_w)`` whose own frames are ``[s, e)``.

        A vocoder that integrates its phase over time (an iSTFT head with ``phase =
        "instantaneous"``) would restart the integral in every window, and the seams would join two
        copies of each partial with unrelated phases. Its phase is therefore shifted so that frame
        ``s - 1`` has the ``anchor`` phase the previous window gave it; the phase of frame ``e - 1``
        is returned as the next anchor. Other vocoders are stateless: ``(wav, None)``."""
        spectrum = self._window_spectrum(window)
        if spectrum is None:
            return self._vocode(window, [window.shape[-1]])[0], None
        log_mag, phase, integrated = spectrum
        if not integrated:
            return self._spectrum_wave(log_mag, phase), None
        if anchor is not None and s > 0:
            phase = phase + (anchor - phase[..., s - 1])[..., None]
        return self._spectrum_wave(log_mag, phase), phase[..., e - 1]

    def _insert_silence(self, mel: np.ndarray, at: Sequence[tuple[int, int]]) -> np.ndarray:
        """``mel: (1, M, T)`` with ``n`` silent frames (the log floor) inserted before frame ``f``
        for each ``(f, n)`` of ``at`` (ascending) -> ``(1, M, T + Σn)``."""
        floor = np.float32(math.log(self.voice.audio.log_clamp))
        parts, prev = [], 0
        for f, n in at:
            parts += [mel[..., prev:f], np.full((*mel.shape[:-1], n), floor, np.float32)]
            prev = f
        return np.concatenate([*parts, mel[..., prev:]], axis=-1)

    # ------------------------------------------------------------------ shared internals
    def _in_halves(self, run: Callable[..., Any], cat: Callable[[list[Any]], Any], **inputs: Any) -> Any:
        """``run(**inputs)`` on a batch (axis 0 of every input; ``None`` inputs pass through) as two
        halves side by side — the first on a helper thread, the second on the caller's — joined by
        ``cat([first, second])``. Both backends run the guided denoiser's conditional and
        unconditional halves this way (their module docstrings measure why); ``run`` must release
        the GIL while it computes (onnxruntime and torch ops do)."""
        b = int(inputs["x"].shape[0])
        h = (b + 1) // 2
        first = {k: None if v is None else v[:h] for k, v in inputs.items()}
        second = {k: None if v is None else v[h:] for k, v in inputs.items()}
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="tts-denoiser")
        job = self._pool.submit(run, **first)
        rest = run(**second)
        return cat([job.result(), rest])

    def _vocode_chunks(self, mel: Any, chunked: bool = True) -> Iterator[np.ndarray]:
        """Vocode ``mel: (1, M, T)`` in windows with ``context_frames`` of context on each side
        (in one piece when not ``chunked`` or short).

        The first window has ``chunk_frames`` frames (quick first audio); each next one doubles, up
        to 8×, because playback is by then ahead and bigger windows waste less work on context.
        Each window's output is cropped to its own frames and the seams are cross-faded over one
        hop, so the joined output has exactly ``T * hop`` samples and differs from one-shot
        vocoding only where the vocoder's receptive field exceeds the context.
        """
        n, hop, X = mel.shape[-1], self.voice.audio.hop_length, self.context_frames
        if self._vocoder_restarts_phase():
            chunked = False  # correct audio first: whole sentences, first audio comes later
        if not chunked or n <= self.chunk_frames + X:
            with self._inference():
                yield self._vocode(mel, [n])[0]
            return
        fade = np.linspace(0.0, 1.0, hop + 2, dtype=np.float32)[1:-1]
        carry: np.ndarray | None = None
        anchor: Any = None
        s, size = 0, self.chunk_frames
        while s < n:
            e = min(n, s + size)
            if n - e <= X:  # a sliver of a last window costs more in context than it saves
                e = n
            a, b = max(0, s - X), min(n, e + X)
            with self._inference():
                wav, anchor = self._vocode_window(mel[..., a:b], s - a, e - a, anchor)
            seg = wav[(s - a) * hop : (e - a) * hop + (hop if e < n else 0)].copy()
            if carry is not None:
                seg[:hop] = carry * (1.0 - fade) + seg[:hop] * fade
            carry, seg = (seg[-hop:], seg[:-hop]) if e < n else (None, seg)
            yield seg
            s, size = e, min(2 * size, 8 * self.chunk_frames)

    def _alignment(
        self, prep: PreparedText, j: int, mel_durations: np.ndarray
    ) -> tuple[list[str], np.ndarray, list[Word], list[tuple[int, int]]]:
        """Sentence ``j``'s token labels, durations (mel frames, ``<break>`` silences included), words
        (times from the sentence's start) and the silences to insert into its mel ``(frame, n)``."""
        ids = prep.token_ids[j]
        tokens = [self.voice.tokenizer.symbols[i] for i in ids]
        frames = np.asarray(mel_durations, np.float32)
        if not prep.utterances:
            return tokens, frames, [], []
        utt = prep.utterances[j]
        spans = word_token_spans(utt, self.voice.tokenizer, self.voice.add_blank, len(ids))
        hop, inserts = self.voice.audio.hop_length, []
        ends = np.concatenate([[0.0], np.cumsum(frames)])
        for k, seconds in sorted(utt.breaks):  # silence before word k: the blank before its first symbol
            t = spans[k][0]
            inserts.append((t, int(round(seconds * self.sample_rate / hop))))
        shift = np.zeros(len(ids) + 1, np.float32)  # frames inserted before each token boundary
        for t, n in inserts:
            shift[t:] += n
        words = []
        sec = hop / self.sample_rate
        for w, (a, b) in zip(utt.words, spans):
            start = (ends[a] + shift[a]) * sec
            end = (ends[b] + shift[b - 1 if b > a else a]) * sec
            words.append(Word(w.text, float(start), float(max(start, end)), w.char_start, w.char_end))
        for i in range(len(words) - 1):  # neighbours may share a blank: the earlier word ends first
            if words[i].end > words[i + 1].start:
                words[i] = replace(words[i], end=max(words[i].start, words[i + 1].start))
        for t, n in reversed(inserts):
            tokens.insert(t, BREAK)
            frames = np.insert(frames, t, np.float32(n))
        return tokens, frames, words, [(int(ends[t]), n) for t, n in inserts]

    def _mel_with_breaks(self, mel: Any, prep: PreparedText, j: int, mel_durations: np.ndarray) -> Any:
        """``mel: (1, M, T)`` of sentence ``j`` with its ``<break>`` silences inserted."""
        inserts = self._alignment(prep, j, mel_durations)[3]
        return self._insert_silence(mel, inserts) if inserts else mel

    def _sentence_audio(
        self,
        prep: PreparedText,
        j: int,
        wav: np.ndarray,
        mel_durations: np.ndarray,
        words: list[Word] | None = None,
    ) -> Audio:
        sec_per_frame = self.voice.audio.hop_length / self.sample_rate
        tokens, frames, all_words, _ = self._alignment(prep, j, mel_durations)
        return Audio(
            samples=wav.astype(np.float32, copy=False),
            sample_rate=self.sample_rate,
            text=prep.sentences[j],
            phonemes=prep.phonemes[j],
            tokens=tokens,
            durations=(frames * sec_per_frame).astype(np.float32),
            words=all_words if words is None else words,
        )

    def _silence(self, seconds: float, label: str = PAUSE) -> Audio:
        """``seconds`` of silence, rounded to whole mel frames."""
        hop = self.voice.audio.hop_length
        n = int(round(seconds * self.sample_rate / hop)) * hop
        return Audio(
            np.zeros(n, np.float32),
            self.sample_rate,
            tokens=[label],
            durations=np.array([n / self.sample_rate], np.float32),
        )

    def _pause(self) -> Audio:
        return self._silence(self.voice.config.sentence_pause)

    def _pause_before(self, prep: PreparedText, j: int) -> float:
        """Seconds of silence before sentence ``j``: an SSML break's, else the voice's sentence
        pause (none before the first sentence, nor inside a sentence split by a voice or rate change)."""
        pause = prep.utterances[j].pause if prep.utterances else None
        if pause is None:
            return self.voice.config.sentence_pause if j else 0.0
        return pause

    def _with_pauses(self, parts: list[Audio]) -> list[Audio]:
        out: list[Audio] = []
        for k, part in enumerate(parts):
            if k and self.voice.config.sentence_pause > 0:
                out.append(self._pause())
            out.append(part)
        return out

    def _stream(self, prep: PreparedText, opts: SynthesisOptions, gen: Any, chunked: bool) -> Iterator[Audio]:
        for j, ids in enumerate(prep.token_ids):
            pause = self._pause_before(prep, j)
            if pause > 0:
                yield self._silence(pause)
            with self._inference():
                mel, mel_lengths, durations = self._acoustic([ids], self._unit_options(opts, prep, j), gen)
                mel = self._mel_with_breaks(mel[..., : mel_lengths[0]], prep, j, durations[0])
            words = self._alignment(prep, j, durations[0])[2]
            pieces = self._vocode_chunks(mel, chunked)
            # each chunk carries the words that start in it, timed from the chunk's start
            first = next(pieces)
            offset, w = len(first), 0
            w_end = _words_before(words, w, offset / self.sample_rate)
            nxt = next(pieces, None)
            if nxt is None:
                w_end = len(words)
            yield self._sentence_audio(prep, j, first, durations[0], words[w:w_end])
            w = w_end
            while nxt is not None:
                wav, nxt = nxt, next(pieces, None)
                w_end = (
                    len(words)
                    if nxt is None
                    else _words_before(words, w, (offset + len(wav)) / self.sample_rate)
                )
                at = offset / self.sample_rate
                yield Audio(wav, self.sample_rate, words=[x.shifted(-at) for x in words[w:w_end]])
                offset, w = offset + len(wav), w_end
        if _pause_after(prep) > 0:
            yield self._silence(_pause_after(prep))


def _words_before(words: list[Word], w: int, t: float) -> int:
    """Index after the words from ``w`` on that start before ``t`` seconds."""
    while w < len(words) and words[w].start < t:
        w += 1
    return w


def _breaks(prep: PreparedText, j: int) -> bool:
    return bool(prep.utterances and prep.utterances[j].breaks)


def _pause_after(prep: PreparedText) -> float:
    return prep.utterances[-1].pause_after if prep.utterances else 0.0


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
