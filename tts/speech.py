"""What every synthesizer shares, torch-free: :class:`Audio`, text preparation, the sentence loop.

``SynthesizerBase`` turns text into sentences, phonemes and token ids (:meth:`prepare`), runs its
backend sentence by sentence (:meth:`synthesize`, :meth:`stream`) or in padded batches
(:meth:`synthesize_batch`) and joins sentences with a short pause. A backend supplies five hooks:
``_inference()`` (a context held around model calls), ``_generator(seed)`` (its random source),
``_acoustic(token_ids, opts, gen)`` (token ids of B sentences → mel ``(B, M, T)``, mel lengths,
mel frames per token), ``_vocode(mel, mel_lengths)``, and for streaming within a sentence
``_vocode_window(window, s, e, anchor)`` and ``_vocoder_restarts_phase()`` (the windowing itself,
``_vocode_chunks``, is shared). The
backends are :class:`tts.synthesizer.Synthesizer` (PyTorch) and
:class:`tts.onnx_runtime.OnnxSynthesizer` (onnxruntime, no torch import).

A voice object passed to the base provides ``config`` (:class:`tts.voice.VoiceConfig`),
``tokenizer``, ``add_blank``, ``speakers``, ``audio`` (``sample_rate``, ``hop_length``) and
``options(...)`` (:class:`tts.voice.VoiceOptionsMixin`).

Letters used for shapes: B batch, N tokens, M mel bins, T mel frames, L samples.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tts.voice import SynthesisOptions

PAUSE = "<pause>"  #: token label of the silence between sentences in ``Audio.tokens``


@dataclass
class Audio:
    """Synthesised speech and how it lines up with the phonemes.

    ``tokens[i]`` (a symbol of the voice's tokenizer, the blank included, or ``"<pause>"``) lasts
    ``durations[i]`` seconds; the durations add up to ``duration``. Stream chunks carry the
    sentence's text, phonemes and alignment on their first chunk only.
    """

    samples: np.ndarray  #: (L,) float32, nominally in [-1, 1] (clipped by save / to_pcm16)
    sample_rate: int
    text: str = ""
    phonemes: str = ""
    tokens: list[str] = field(default_factory=list)
    durations: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  #: (N,) seconds

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def save(self, path: str | Path) -> Path:
        """Write a 16-bit ``.wav`` or ``.flac`` (by suffix) atomically: nothing is left on failure."""
        from tts.files import write_audio

        return write_audio(path, self.samples, self.sample_rate)

    def to_pcm16(self) -> bytes:
        """Little-endian signed 16-bit mono PCM (what ``tts-synth --raw`` writes)."""
        return (np.clip(self.samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()

    @classmethod
    def concatenate(cls, parts: Sequence[Audio]) -> Audio:
        """Join chunks (e.g. from :meth:`Synthesizer.stream`) into one ``Audio``."""
        if not parts:
            raise ValueError("nothing to concatenate")
        return cls(
            samples=np.concatenate([p.samples for p in parts]).astype(np.float32),
            sample_rate=parts[0].sample_rate,
            text=" ".join(p.text for p in parts if p.text),
            phonemes=" ".join(p.phonemes for p in parts if p.phonemes),
            tokens=[t for p in parts for t in p.tokens],
            durations=np.concatenate([p.durations for p in parts]).astype(np.float32),
        )


@dataclass(frozen=True)
class PreparedText:
    """A text checked and converted to token ids, sentence by sentence (see :meth:`Synthesizer.prepare`)."""

    text: str
    sentences: tuple[str, ...]
    phonemes: tuple[str, ...]
    token_ids: tuple[tuple[int, ...], ...]


class SynthesizerBase:
    """Text handling and the sentence loop of a synthesizer; see the module docstring for the hooks.

    Thread safety: one lock serialises the models, so a synthesizer may be shared by threads;
    calls interleave sentence by sentence rather than run in parallel.
    """

    backend: str = ""  #: "torch" or "onnx": what runs the models

    def __init__(
        self, voice: Any, *, max_chars: int | None = 20_000, chunk_frames: int = 64, context_frames: int = 32
    ) -> None:
        if chunk_frames < 1 or context_frames < 1:
            raise ValueError("chunk_frames and context_frames must be >= 1")
        self.voice = voice
        self.max_chars = max_chars  #: longest accepted text (characters); None = no limit
        self.chunk_frames = chunk_frames  #: mel frames of the first streaming window (later ones grow)
        #: extra frames on each side of a window (then cropped); the backends default it to the
        #: vocoder's receptive field, so streamed audio equals one-shot audio
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

    def phonemize(self, text: str) -> str:
        """The IPA the model will read for ``text`` (normalised, with stress and punctuation)."""
        from tts.text import phonemize

        return phonemize(text, language=self.language)

    def prepare(self, text: str | PreparedText) -> PreparedText:
        """Validate ``text``, split it into sentences, phonemise (one espeak call) and tokenise.

        Raises ``ValueError`` for empty or too long text and text with nothing to pronounce.
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
        from tts.text import split_sentences

        sentences = [s for s in split_sentences(text) if s.strip()]
        kept = []
        for sent, ph in zip(sentences, self._phonemize_sentences(sentences)):
            ids = self.voice.tokenizer.encode(ph, add_blank=self.voice.add_blank) if ph else []
            if ids and any(ch.isalpha() for ch in ph):
                kept.append((sent, ph, tuple(ids)))
        if not kept:
            raise ValueError(f"nothing pronounceable in text {_clip(text)!r}")
        return PreparedText(text, *(tuple(col) for col in zip(*kept)))

    def _phonemize_sentences(self, sentences: list[str]) -> list[str]:
        """One espeak call for all sentences; "" for a sentence with nothing to say (e.g. "...")."""
        from tts.text import phonemize, phonemize_batch

        try:
            return phonemize_batch(sentences, language=self.language) if sentences else []
        except ValueError:  # one bad sentence fails the batch: redo one by one, dropping silent ones
            out = []
            for sent in sentences:
                try:
                    out.append(phonemize(sent, language=self.language))
                except ValueError as e:
                    if "nothing pronounceable" not in str(e):
                        raise
                    out.append("")
            return out

    # ------------------------------------------------------------------ public synthesis
    def synthesize(
        self,
        text: str | PreparedText,
        speaker: str | int | None = None,
        steps: int | None = None,
        temperature: float | None = None,
        length_scale: float = 1.0,
        seed: int | None = None,
        sampler: str | None = None,
        guidance: float | None = None,
    ) -> Audio:
        """Speak ``text`` (any length: split into sentences joined by a short pause).

        ``length_scale`` > 1 is slower speech; ``seed`` makes the output reproducible;
        ``steps``/``temperature``/``sampler``/``guidance`` default to the voice's ``voice.json``.
        Returns :class:`Audio` with ``samples: (L,)``.
        """
        prep = self.prepare(text)
        opts = self.voice.options(speaker, steps, temperature, length_scale, sampler, guidance)
        return Audio.concatenate(list(self._stream(prep, opts, self._generator(seed), chunked=False)))

    def stream(
        self,
        text: str | PreparedText,
        speaker: str | int | None = None,
        steps: int | None = None,
        temperature: float | None = None,
        length_scale: float = 1.0,
        seed: int | None = None,
        sampler: str | None = None,
        guidance: float | None = None,
    ) -> Iterator[Audio]:
        """Like :meth:`synthesize`, but yields ``Audio`` chunks as soon as each is vocoded.

        The concatenated chunks equal :meth:`synthesize`'s samples up to the small differences of
        vocoding in overlapping windows. Input errors are raised here, not at the first ``next()``.
        """
        prep = self.prepare(text)
        opts = self.voice.options(speaker, steps, temperature, length_scale, sampler, guidance)
        return self._stream(prep, opts, self._generator(seed), chunked=True)

    def synthesize_batch(
        self,
        texts: Sequence[str | PreparedText],
        speaker: str | int | None = None,
        steps: int | None = None,
        temperature: float | None = None,
        length_scale: float = 1.0,
        seed: int | None = None,
        sampler: str | None = None,
        guidance: float | None = None,
        batch_size: int = 16,
    ) -> list[Audio]:
        """Speak many texts with padded, batched inference (``batch_size`` sentences at a time).

        Sentences are sorted by length to keep padding small. Results match :meth:`synthesize`
        closely but not bit for bit: the starting noise is drawn per batch, not per sentence.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        preps = []
        for i, t in enumerate(texts):
            try:
                preps.append(self.prepare(t))
            except ValueError as e:
                raise ValueError(f"texts[{i}]: {e}") from e
        opts = self.voice.options(speaker, steps, temperature, length_scale, sampler, guidance)
        gen = self._generator(seed)
        flat = [(i, j) for i, p in enumerate(preps) for j in range(len(p.token_ids))]
        order = sorted(range(len(flat)), key=lambda k: len(preps[flat[k][0]].token_ids[flat[k][1]]))
        done: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        for start in range(0, len(order), batch_size):
            keys = [flat[k] for k in order[start : start + batch_size]]
            with self._inference():
                mel, mel_lengths, durations = self._acoustic(
                    [preps[i].token_ids[j] for i, j in keys], opts, gen
                )
                wavs = self._vocode(mel, mel_lengths)
            for key, wav, dur in zip(keys, wavs, durations):
                done[key] = (wav, dur)
        return [
            Audio.concatenate(
                self._with_pauses(
                    [self._sentence_audio(p, j, *done[(i, j)]) for j in range(len(p.token_ids))]
                )
            )
            for i, p in enumerate(preps)
        ]

    # ------------------------------------------------------------------ backend hooks
    def _inference(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _generator(self, seed: int | None) -> Any:
        raise NotImplementedError

    def _acoustic(
        self, token_ids: Sequence[Sequence[int]], opts: SynthesisOptions, gen: Any
    ) -> tuple[Any, list[int], list[np.ndarray]]:
        raise NotImplementedError

    def _vocode(self, mel: Any, mel_lengths: Sequence[int]) -> list[np.ndarray]:
        raise NotImplementedError

    def _vocoder_restarts_phase(self) -> bool:
        """True when the vocoder integrates its phase and cannot carry it across windows."""
        raise NotImplementedError

    def _vocode_window(self, window: Any, s: int, e: int, anchor: Any) -> tuple[np.ndarray, Any]:
        """Vocode one streaming window ``(1, M, T_w)`` whose own frames are ``[s, e)``, continuing
        an integrated phase from ``anchor``; returns the samples and the next anchor."""
        raise NotImplementedError

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

    def _sentence_audio(
        self, prep: PreparedText, j: int, wav: np.ndarray, mel_durations: np.ndarray
    ) -> Audio:
        sec_per_frame = self.voice.audio.hop_length / self.sample_rate
        ids = prep.token_ids[j]
        return Audio(
            samples=wav.astype(np.float32, copy=False),
            sample_rate=self.sample_rate,
            text=prep.sentences[j],
            phonemes=prep.phonemes[j],
            tokens=[self.voice.tokenizer.symbols[i] for i in ids],
            durations=(mel_durations * sec_per_frame).astype(np.float32),
        )

    def _pause(self) -> Audio:
        hop = self.voice.audio.hop_length
        n = int(round(self.voice.config.sentence_pause * self.sample_rate / hop)) * hop
        return Audio(
            np.zeros(n, np.float32),
            self.sample_rate,
            tokens=[PAUSE],
            durations=np.array([n / self.sample_rate], np.float32),
        )

    def _with_pauses(self, parts: list[Audio]) -> list[Audio]:
        out: list[Audio] = []
        for k, part in enumerate(parts):
            if k and self.voice.config.sentence_pause > 0:
                out.append(self._pause())
            out.append(part)
        return out

    def _stream(self, prep: PreparedText, opts: SynthesisOptions, gen: Any, chunked: bool) -> Iterator[Audio]:
        for j, ids in enumerate(prep.token_ids):
            if j and self.voice.config.sentence_pause > 0:
                yield self._pause()
            with self._inference():
                mel, mel_lengths, durations = self._acoustic([ids], opts, gen)
            pieces = self._vocode_chunks(mel[..., : mel_lengths[0]], chunked)
            first = next(pieces)
            yield self._sentence_audio(prep, j, first, durations[0])
            for wav in pieces:
                yield Audio(wav, self.sample_rate)


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
