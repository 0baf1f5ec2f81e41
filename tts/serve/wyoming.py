"""The Wyoming protocol (github.com/OHF-Voice/wyoming; PyPI ``wyoming``) for Home Assistant.

Wyoming is JSON-lines events over TCP, each optionally followed by a binary payload. A text-to-
speech service answers:

* ``describe`` → ``info`` with one TTS program holding this voice, its language and its speakers;
* ``synthesize {text, voice: {name, speaker}}`` → ``audio-start {rate, width 2, channels 1}``,
  ``audio-chunk``… (16-bit PCM, each as soon as the synthesizer yields it, so the first sentence
  plays while the next is computed) and ``audio-stop``;
* the streaming form (wyoming ≥ 1.7, used by Home Assistant for LLM replies):
  ``synthesize-start``, ``synthesize-chunk {text}``…, ``synthesize-stop`` → one audio stream in
  which each complete sentence is spoken as soon as its text has arrived, then
  ``synthesize-stopped``. A ``synthesize`` sent alongside a streaming session (clients send it
  for servers without streaming) is ignored.

Requests share the HTTP server's worker pool and queue; a full queue or bad text answers an
``error`` event. The speaker is ``voice.speaker``, else ``voice.name`` when it names a speaker,
else the voice's default.
"""

from __future__ import annotations

import asyncio
import logging
import re
from functools import partial
from typing import Any

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice, TtsVoiceSpeaker
from wyoming.server import AsyncEventHandler, AsyncServer
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    SynthesizeVoice,
)

from tts import __version__
from tts.serve.formats import pcm16
from tts.serve.workers import Job, JobCancelled, PoolBusy, SpeechRequest, SynthesisPool

log = logging.getLogger("tts.serve")
PROGRAM = "latent-tts"
#: a sentence end inside streamed text: terminal punctuation, closing quotes/brackets, then space
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*\s+")
ATTRIBUTION = Attribution(name="latent-tts", url="")  # no public home page to point to yet


def describe(pool: SynthesisPool) -> Info:
    """The ``info`` answer: one streaming-capable TTS program with this voice and its speakers."""
    synth = pool.synthesizer
    cfg = synth.voice.config
    voice = TtsVoice(
        name=cfg.name,
        attribution=ATTRIBUTION,
        installed=True,
        description=cfg.description or f"latent-tts voice {cfg.name}",
        version=__version__,
        languages=[cfg.language],
        speakers=[TtsVoiceSpeaker(name=s) for s in synth.speakers] or None,
    )
    program = TtsProgram(
        name=PROGRAM,
        attribution=ATTRIBUTION,
        installed=True,
        description="Latent mel diffusion text to speech",
        version=__version__,
        voices=[voice],
        supports_synthesize_streaming=True,
    )
    return Info(tts=[program])


class SpeechHandler(AsyncEventHandler):
    """One client connection (see the module docstring for the events)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        pool: SynthesisPool,
        timeout: float,
    ) -> None:
        super().__init__(reader, writer)
        self.pool, self.timeout = pool, timeout
        self.rate = pool.synthesizer.sample_rate
        self._job: Job | None = None
        self._streaming = False  # inside synthesize-start … synthesize-stop
        self._pending = ""  # streamed text not spoken yet (an unfinished sentence)
        self._speaker: str | None = None
        self._started = False  # audio-start sent for this streaming session

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(describe(self.pool).event())
        elif SynthesizeStart.is_type(event.type):
            start = SynthesizeStart.from_event(event)
            self._streaming, self._pending, self._started = True, "", False
            self._speaker = self._pick_speaker(start.voice)
        elif SynthesizeChunk.is_type(event.type) and self._streaming:
            self._pending += SynthesizeChunk.from_event(event).text
            await self._speak_complete_sentences()
        elif SynthesizeStop.is_type(event.type) and self._streaming:
            text, self._pending = self._pending, ""
            if text.strip():
                await self._speak(text, self._speaker, start=not self._started, stop=False)
            self._streaming = False
            if not self._started:
                await self.write_event(AudioStart(rate=self.rate, width=2, channels=1).event())
            await self.write_event(AudioStop().event())
            await self.write_event(SynthesizeStopped().event())
        elif Synthesize.is_type(event.type) and not self._streaming:
            request = Synthesize.from_event(event)
            await self._speak(request.text, self._pick_speaker(request.voice), start=True, stop=True)
        return True

    async def disconnect(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _pick_speaker(self, voice: SynthesizeVoice | None) -> str | None:
        speakers = self.pool.synthesizer.speakers
        for name in (voice.speaker, voice.name) if voice is not None else ():
            if name in speakers:
                return name
        return None

    async def _speak_complete_sentences(self) -> None:
        """Speak the streamed text up to its last sentence end that more text follows."""
        ends = list(_SENTENCE_END.finditer(self._pending))
        if not ends:
            return
        cut = ends[-1].end()
        done, self._pending = self._pending[:cut], self._pending[cut:]
        if done.strip():
            await self._speak(done, self._speaker, start=not self._started, stop=False)

    async def _speak(self, text: str, speaker: str | None, *, start: bool, stop: bool) -> None:
        """Synthesise ``text`` through the pool and write its audio events (``audio-start``
        first when ``start``, ``audio-stop`` last when ``stop``)."""
        loop = asyncio.get_running_loop()
        job = Job(SpeechRequest(text, speaker), loop)
        try:
            self.pool.submit(job)
        except PoolBusy:
            await self.write_event(
                Error(text="server busy: the synthesis queue is full", code="busy").event()
            )
            return
        self._job = job
        deadline = loop.time() + self.timeout
        try:
            chunk = await job.next(max(0.0, deadline - loop.time()))
            if start:
                await self.write_event(AudioStart(rate=self.rate, width=2, channels=1).event())
                self._started = True
            while chunk is not None:
                audio = pcm16(chunk.samples)
                await self.write_event(AudioChunk(rate=self.rate, width=2, channels=1, audio=audio).event())
                chunk = await job.next(max(0.0, deadline - loop.time()))
            if stop:
                await self.write_event(AudioStop().event())
        except ValueError as e:  # empty text, nothing pronounceable: the client's to fix
            if self._streaming:
                log.info("wyoming: skipped text with nothing to say: %s", e)
            else:
                await self.write_event(Error(text=str(e), code="bad-text").event())
        except (asyncio.TimeoutError, JobCancelled):
            await self.write_event(Error(text="synthesis timed out", code="timeout").event())
        finally:
            job.cancel()
            self._job = None


async def run_wyoming(uri: str, pool: SynthesisPool, timeout: float, ready: Any = None) -> None:
    """Serve Wyoming on ``uri`` (``tcp://HOST:PORT`` or ``unix://PATH``) until cancelled;
    ``ready`` (an ``asyncio.Event``) is set once it listens."""
    server = AsyncServer.from_uri(uri)
    await server.start(partial(SpeechHandler, pool=pool, timeout=timeout))
    log.info("wyoming: listening on %s", uri)
    if ready is not None:
        ready.set()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
