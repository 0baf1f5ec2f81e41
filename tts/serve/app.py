"""The HTTP API: an ASGI (Starlette) app over a :class:`tts.serve.workers.SynthesisPool`.

Routes::

    POST /v1/audio/speech   the OpenAI "create speech" request (platform.openai.com/docs/api-reference/audio);
                            the audio streams back (HTTP/1.1 chunked) as it is synthesised
    GET  /v1/voices         the voice's speakers (the values of "voice")
    GET  /v1/models         the one model, in OpenAI's list shape
    GET  /health            liveness and the pool's counters
    GET  /                  a one-page web UI (tts/serve/page.html; no outside assets)

Request body of ``/v1/audio/speech`` (JSON object): ``input`` (required, ≤ ``max_chars``
characters, else 413), ``model`` (accepted, ignored), ``voice`` (a speaker; default the voice's
own), ``response_format`` (``wav`` default, ``pcm``, ``flac``), ``speed`` (0.25–4.0) and the
extensions ``seed`` (int: the same seed, the same audio) and ``steps`` (1–``max_steps`` ODE
steps). Unknown keys are ignored, as OpenAI clients may send newer fields (``instructions``).

Errors are JSON (:mod:`tts.serve.errors`) with 4xx for anything the client can fix, 503 with
``Retry-After`` when the queue is full, 504 when a request outlives ``timeout`` before its first
audio. A stream that fails after its first bytes is cut off (no final chunk), so the client sees
a truncated response rather than a short file that looks whole.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tts.serve.errors import ApiError, error_body, error_response
from tts.serve.formats import CONTENT_TYPES, FORMATS, STREAMED, flac_bytes, pcm16, wav_header
from tts.serve.workers import Job, JobCancelled, PoolBusy, SpeechRequest, SynthesisPool

log = logging.getLogger("tts.serve")

SPEED_RANGE = (0.25, 4.0)  #: OpenAI's range for ``speed``


@dataclass(frozen=True)
class ServeSettings:
    """Limits and security settings of the HTTP server (``tts-serve`` options)."""

    api_key: str | None = None  #: when set, requests need ``Authorization: Bearer <key>``
    cors_origins: tuple[str, ...] = ()  #: origins allowed to call the API from a browser; none by default
    max_chars: int = 4096  #: longest ``input`` (OpenAI's limit); longer: 413
    max_body: int = 64 * 1024  #: largest request body in bytes; larger: 413
    timeout: float = 60.0  #: seconds a request may wait and run before its audio is complete
    max_steps: int = 32  #: highest ``steps`` a client may ask for (cost grows with it)
    retry_after: int = 1  #: seconds in the ``Retry-After`` of a 503


def parse_speech_request(
    payload: Any, speakers: list[str], settings: ServeSettings
) -> tuple[SpeechRequest, str]:
    """Check a decoded ``/v1/audio/speech`` body; returns the request and its format or raises
    :class:`ApiError` (400, or 413 for too long an input)."""
    if not isinstance(payload, dict):
        raise ApiError(400, "the request body must be a JSON object")
    text = payload.get("input")
    if not isinstance(text, str):
        raise ApiError(400, "'input' is required: the text to speak, a string", "input")
    if not text.strip():
        raise ApiError(400, "'input' is empty", "input")
    if len(text) > settings.max_chars:
        raise ApiError(413, f"'input' is {len(text)} characters, the limit is {settings.max_chars}", "input")
    voice = payload.get("voice")
    if voice is not None and (not isinstance(voice, str) or voice not in speakers):
        raise ApiError(400, f"unknown voice {voice!r}; this server has: {', '.join(speakers)}", "voice")
    fmt = payload.get("response_format", "wav")
    if fmt not in FORMATS:
        raise ApiError(
            400,
            f"response_format {fmt!r} is not supported; use one of: {', '.join(FORMATS)}",
            "response_format",
        )
    speed = payload.get("speed", 1.0)
    lo, hi = SPEED_RANGE
    if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not lo <= speed <= hi:
        raise ApiError(400, f"'speed' must be a number from {lo} to {hi}, got {speed!r}", "speed")
    seed = payload.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise ApiError(400, f"'seed' must be a non-negative integer, got {seed!r}", "seed")
    steps = payload.get("steps")
    if steps is not None and (
        isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= settings.max_steps
    ):
        raise ApiError(
            400, f"'steps' must be an integer from 1 to {settings.max_steps}, got {steps!r}", "steps"
        )
    if payload.get("stream_format", "audio") != "audio":
        raise ApiError(400, "only stream_format 'audio' is supported", "stream_format")
    return SpeechRequest(text, voice, 1.0 / float(speed), seed, steps), fmt


class SpeechStream:
    """The ASGI response of one speech job: waits for its first chunk (answering 4xx/5xx JSON
    if the job fails before), then sends headers and streams the audio, cancelling the job when
    the client disconnects or the deadline passes."""

    def __init__(self, job: Job, fmt: str, sample_rate: int, deadline: float) -> None:
        self.job, self.fmt, self.sample_rate, self.deadline = job, fmt, sample_rate, deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.create_task(self._cancel_on_disconnect(receive))
        try:
            await self._respond(send)
        finally:
            self.job.cancel()
            watcher.cancel()

    async def _cancel_on_disconnect(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.job.cancel()

    def _left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    async def _respond(self, send: Send) -> None:
        try:
            first = await self.job.next(self._left())
        except JobCancelled:
            return  # the client left before its audio began
        except asyncio.TimeoutError:
            await _send_error(send, 504, "synthesis did not start before the request timeout")
            return
        except ValueError as e:  # the synthesizer refused the text (e.g. nothing pronounceable)
            await _send_error(send, 400, str(e), "input")
            return
        except Exception as e:
            await _send_error(send, 500, str(e))
            return
        headers = [
            (b"content-type", CONTENT_TYPES[self.fmt].encode()),
            (b"cache-control", b"no-store"),
            (b"x-sample-rate", str(self.sample_rate).encode()),
        ]
        chunks = [] if first is None else [first.samples]
        if self.fmt not in STREAMED:  # flac: the whole audio, then one body
            try:
                while (chunk := await self.job.next(self._left())) is not None:
                    chunks.append(chunk.samples)
            except (JobCancelled, asyncio.TimeoutError):
                return
            body = flac_bytes(np.concatenate(chunks) if chunks else np.zeros(0, np.float32), self.sample_rate)
            headers.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        head = wav_header(self.sample_rate) if self.fmt == "wav" else b""
        await send(
            {"type": "http.response.body", "body": head + b"".join(map(pcm16, chunks)), "more_body": True}
        )
        try:
            while (chunk := await self.job.next(self._left())) is not None:
                await send({"type": "http.response.body", "body": pcm16(chunk.samples), "more_body": True})
        except JobCancelled:
            return  # the client left: nothing more to send
        except (asyncio.TimeoutError, OSError) as e:
            log.warning("speech stream cut off: %s", type(e).__name__)
            return  # no final body message: the connection closes, the client sees a truncated stream
        except Exception:
            log.exception("speech stream failed")
            return
        await send({"type": "http.response.body", "body": b""})


async def _send_error(send: Send, status: int, message: str, param: str | None = None) -> None:
    body = error_body(status, message, param)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is {declared} bytes, the limit is {limit}")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise ApiError(413, f"request body is over the limit of {limit} bytes")
    return bytes(body)


class BearerAuth:
    """ASGI middleware: with a key set, every request but the page itself (``GET /``, which
    holds no data and which a browser cannot fetch with a header) needs
    ``Authorization: Bearer <key>`` (RFC 6750 §2.1); otherwise 401 with ``WWW-Authenticate``."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app, self._key = app, f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"] in ("GET", "HEAD") and scope["path"] == "/"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"authorization", b"")
        if hmac.compare_digest(given, self._key):
            await self.app(scope, receive, send)
            return
        body = error_body(401, "a valid API key is required: send 'Authorization: Bearer KEY'")
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"www-authenticate", b"Bearer"),
        ]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_app(pool: SynthesisPool, settings: ServeSettings | None = None) -> Starlette:
    """The ASGI app serving ``pool``'s voice with ``settings``."""
    settings = settings or ServeSettings()
    synth = pool.synthesizer
    speakers = synth.speakers
    cfg = synth.voice.config
    default_speaker = cfg.speaker if cfg.speaker is not None else (speakers[0] if speakers else None)
    page = resources.files("tts.serve").joinpath("page.html").read_text(encoding="utf-8")

    async def speech(request: Request) -> Response | SpeechStream:
        start = time.monotonic()
        body = await _read_body(request, settings.max_body)
        try:
            payload = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ApiError(400, f"the request body is not valid JSON: {e}") from None
        req, fmt = parse_speech_request(payload, speakers, settings)
        job = Job(req, asyncio.get_running_loop())
        try:
            pool.submit(job)
        except PoolBusy:
            raise ApiError(
                503,
                "the server is busy: every worker is taken and the queue is full; retry later",
                headers={"Retry-After": str(settings.retry_after)},
            ) from None
        return SpeechStream(job, fmt, synth.sample_rate, start + settings.timeout)

    async def voices(request: Request) -> Response:
        return JSONResponse(
            {
                "voices": [{"name": s, "default": s == default_speaker} for s in speakers],
                "default": default_speaker,
                "voice": cfg.name,
                "language": cfg.language,
                "sample_rate": synth.sample_rate,
                "formats": list(FORMATS),
            }
        )

    async def models(request: Request) -> Response:
        return JSONResponse(
            {"object": "list", "data": [{"id": "latent-tts", "object": "model", "owned_by": "latent-tts"}]}
        )

    async def health(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "voice": cfg.name, "backend": synth.backend, **vars(pool.stats())}
        )

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"cache-control": "no-cache"})

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(ApiError(exc.status_code, str(exc.detail), headers=exc.headers))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return error_response(ApiError(500, "internal server error"))

    middleware = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
                expose_headers=["x-sample-rate"],
            )
        )
    if settings.api_key:
        middleware.append(Middleware(BearerAuth, api_key=settings.api_key))
    routes = [
        Route("/v1/audio/speech", speech, methods=["POST"]),  # type: ignore[arg-type]
        Route("/v1/voices", voices, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/", index, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: server_error},
    )
