"""Synthesis workers: N threads, one synthesizer each, fed from one bounded queue of jobs.

Synthesis is CPU-bound and the ONNX runtime releases the GIL inside each graph call, so plain
threads run N requests in parallel. A :class:`tts.runtime.base.SynthesizerBase` serialises its own
calls with a lock (two requests on one instance would interleave sentence by sentence, not run
in parallel), so every worker gets its own synthesizer; the ONNX ones share one loaded voice —
its onnxruntime sessions accept concurrent ``run`` calls — so N workers cost one copy of the
weights (:func:`tts.serve.voice.load_synthesizers`).

What stays bounded, whatever the clients do:

* jobs: ``workers`` running plus at most ``max_queue`` waiting; :meth:`SynthesisPool.submit`
  raises :class:`PoolBusy` beyond that (the HTTP layer answers 503 with ``Retry-After``);
* audio in flight per job: a worker blocks after ``buffer_chunks`` chunks the event loop has not
  taken yet, so a slow reader slows its own worker instead of filling memory;
* time: the reader gives up after its deadline and :meth:`Job.cancel` stops the worker between
  chunks; a job cancelled while still queued is skipped when a worker takes it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tts.core.output import Audio
from tts.runtime.base import SynthesizerBase

log = logging.getLogger("tts.serve")

_END = object()  #: a job's last item: synthesis finished
_CANCELLED = object()  #: put by :meth:`Job.cancel` so a waiting reader wakes up


class PoolBusy(Exception):
    """Every worker is busy and the queue is full: try again later."""


class JobCancelled(Exception):
    """The job was cancelled (client gone, deadline passed, server stopping)."""


@dataclass(frozen=True)
class SpeechRequest:
    """What to say and how; ``None`` fields take the voice's defaults."""

    text: str
    speaker: str | None = None
    length_scale: float = 1.0  #: > 1 slower (the API's ``speed`` is its inverse)
    seed: int | None = None
    steps: int | None = None


class Job:
    """One request's synthesis: produced by a worker thread, consumed on the event loop.

    The worker hands over :class:`Audio` chunks with :meth:`_emit`; the loop reads them with
    :meth:`next`, which returns ``None`` after the last one and raises what the synthesizer
    raised (``ValueError`` for text it cannot speak). At most ``buffer_chunks`` chunks wait
    between the two.
    """

    def __init__(self, request: SpeechRequest, loop: asyncio.AbstractEventLoop, buffer_chunks: int = 4):
        if buffer_chunks < 1:
            raise ValueError(f"buffer_chunks must be >= 1, got {buffer_chunks}")
        self.request = request
        self.cancelled = threading.Event()
        self._loop = loop
        self._items: asyncio.Queue[Any] = asyncio.Queue()  # bounded by _slots, not by maxsize
        self._slots = threading.Semaphore(buffer_chunks)

    # ------------------------------------------------------------------ event-loop side
    async def next(self, timeout: float | None = None) -> Audio | None:
        """The next chunk, ``None`` at the end; ``asyncio.TimeoutError`` after ``timeout`` seconds,
        :class:`JobCancelled` once cancelled, or the synthesizer's own exception."""
        if self.cancelled.is_set():
            raise JobCancelled
        item = await asyncio.wait_for(self._items.get(), timeout)
        if item is _CANCELLED or self.cancelled.is_set():
            raise JobCancelled
        self._slots.release()
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def cancel(self) -> None:
        """Stop the job: the worker quits at its next chunk (or skips the job if not started).
        Safe to call more than once, from the event loop's thread."""
        if not self.cancelled.is_set():
            self.cancelled.set()
            self._items.put_nowait(_CANCELLED)

    # ------------------------------------------------------------------ worker side
    def _emit(self, item: Any) -> bool:
        """Hand ``item`` to the reader, waiting while ``buffer_chunks`` are unread; False once
        the job is cancelled (or the event loop is gone)."""
        while not self._slots.acquire(timeout=0.1):
            if self.cancelled.is_set():
                return False
        if self.cancelled.is_set():
            return False
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is reading any more
            self.cancelled.set()
            return False
        return True


@dataclass
class PoolStats:
    """Counters since start; ``queued`` and ``active`` are the current numbers."""

    workers: int
    max_queue: int
    queued: int = 0
    active: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    rejected: int = 0


class SynthesisPool:
    """``len(synthesizers)`` worker threads taking jobs from a queue of at most ``max_queue``.

    >>> pool = SynthesisPool([synth_a, synth_b], max_queue=32)    # doctest: +SKIP
    >>> job = Job(SpeechRequest("Hello."), asyncio.get_running_loop())
    >>> pool.submit(job)                                          # PoolBusy when full
    >>> while (chunk := await job.next(timeout=30)) is not None: ...
    """

    def __init__(self, synthesizers: Sequence[SynthesizerBase], max_queue: int = 32) -> None:
        if not synthesizers:
            raise ValueError("a pool needs at least one synthesizer")
        if max_queue < 0:
            raise ValueError(f"max_queue must be >= 0, got {max_queue}")
        self.synthesizers = list(synthesizers)
        # admission is counted (``_outstanding``), so the queue itself needs no bound
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._max_queue = max_queue
        self._outstanding = 0  # jobs submitted and not finished: queued + running
        self._lock = threading.Lock()
        self._stats = PoolStats(workers=len(self.synthesizers), max_queue=max_queue)
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, args=(s,), name=f"tts-serve-worker-{i}", daemon=True)
            for i, s in enumerate(self.synthesizers)
        ]
        for t in self._threads:
            t.start()

    @property
    def synthesizer(self) -> SynthesizerBase:
        """The first worker's synthesizer (for the voice's speakers, sample rate, language)."""
        return self.synthesizers[0]

    def stats(self) -> PoolStats:
        with self._lock:
            s = PoolStats(**vars(self._stats))
            s.queued = self._outstanding - s.active
        return s

    def submit(self, job: Job) -> None:
        """Queue ``job``; raises :class:`PoolBusy` when every worker has a job and ``max_queue``
        more already wait."""
        with self._lock:
            if self._closed:
                raise PoolBusy("the server is stopping")
            if self._outstanding >= self._stats.workers + self._max_queue:
                self._stats.rejected += 1
                raise PoolBusy
            self._outstanding += 1
            self._jobs.put_nowait(job)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers after their current chunk; queued jobs are cancelled unread."""
        with self._lock:
            self._closed = True
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.cancelled.set()
        for _ in self._threads:
            self._jobs.put(None)  # room: the queue was just emptied and nothing more is accepted
        for t in self._threads:
            t.join(timeout)

    # ------------------------------------------------------------------ the workers
    def _work(self, synth: SynthesizerBase) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            if job.cancelled.is_set():
                self._count("cancelled", finished=True)
                continue
            with self._lock:
                self._stats.active += 1
            outcome = "failed"
            try:
                outcome = self._run(synth, job)
            finally:
                with self._lock:
                    self._stats.active -= 1
                self._count(outcome, finished=True)

    @staticmethod
    def _run(synth: SynthesizerBase, job: Job) -> str:
        """Stream ``job`` through ``synth``; returns the counter to bump."""
        r = job.request
        chunks = None
        try:
            chunks = synth.stream(
                r.text, speaker=r.speaker, steps=r.steps, length_scale=r.length_scale, seed=r.seed
            )
            for chunk in chunks:
                if not job._emit(chunk):
                    return "cancelled"
            return "completed" if job._emit(_END) else "cancelled"
        except ValueError as e:  # the text or an option: the client's mistake, reported to it
            return "failed" if job._emit(e) else "cancelled"
        except Exception as e:  # a bug or a broken voice: logged here, a 500 for the client
            log.exception("synthesis failed for %d characters of text", len(r.text))
            return (
                "failed" if job._emit(RuntimeError(f"synthesis failed: {type(e).__name__}")) else "cancelled"
            )
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a generator stopped early releases what it holds now

    def _count(self, what: str, finished: bool = False) -> None:
        with self._lock:
            setattr(self._stats, what, getattr(self._stats, what) + 1)
            self._outstanding -= finished
