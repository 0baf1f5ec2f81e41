"""``tts-serve``: the OpenAI-style speech API, its limits and the Wyoming protocol, on a tiny voice.

Three ways in: ``tts-serve`` started as the README says (a subprocess on a free port, HTTP and
Wyoming), the app under uvicorn in a thread (to hold a stream at a gate), and the app in-process
through Starlette's test client (the input checks)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("wyoming")
httpx = pytest.importorskip("httpx")

import soundfile as sf  # noqa: E402
from serve_support import Gated, build_served_voice, free_port, running  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from tts.serve.app import ServeSettings, create_app  # noqa: E402
from tts.serve.formats import wav_header  # noqa: E402
from tts.serve.voice import load_synthesizers  # noqa: E402
from tts.serve.workers import SynthesisPool  # noqa: E402

SPEECH = "/v1/audio/speech"
TWO = "The quick brown fox jumps over the lazy dog. Then it runs away into the woods!"
THREE = "One sentence here. A second one follows. And a third one ends it."


@pytest.fixture(scope="module")
def voice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_served_voice(tmp_path_factory.mktemp("served-voice"))


@pytest.fixture(scope="module")
def synths(voice_dir: Path) -> list:
    return load_synthesizers(voice_dir, workers=2, threads=1)


@pytest.fixture
def client(synths: list) -> Iterator[TestClient]:
    pool = SynthesisPool(synths, max_queue=4)
    with TestClient(create_app(pool, ServeSettings(max_chars=200, max_body=2048))) as c:
        yield c
    pool.close()


def decode(body: bytes) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(io.BytesIO(body), dtype="float32")
    return samples, rate


# ---------------------------------------------------------------------------------------------
# tts-serve as a user starts it: HTTP and Wyoming in one process
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(voice_dir: Path) -> Iterator[tuple[str, int]]:
    port, wport = free_port(), free_port()
    cmd = [sys.executable, "-m", "tts.serve", "--port", str(port), "--voice", str(voice_dir)]
    cmd += ["--workers", "2", "--wyoming", f"tcp://127.0.0.1:{wport}", "--log-level", "warning"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"tts-serve did not start: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.1)
    yield url, wport
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_wav_from_the_speech_endpoint(server: tuple[str, int]) -> None:
    url, _ = server
    r = httpx.post(
        f"{url}{SPEECH}", json={"model": "tts-1", "input": TWO, "voice": "bob", "seed": 1}, timeout=30
    )
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert "content-length" not in r.headers  # streamed: chunked transfer encoding
    samples, rate = decode(r.content)
    assert rate == 22050 and len(samples) > rate // 2 and np.abs(samples).max() > 0.01
    again = httpx.post(f"{url}{SPEECH}", json={"input": TWO, "voice": "bob", "seed": 1}, timeout=30)
    assert again.content == r.content  # same seed, same audio


def test_sixteen_simultaneous_requests_all_answered(server: tuple[str, int]) -> None:
    url, _ = server

    def speak(i: int) -> tuple[int, int]:
        r = httpx.post(f"{url}{SPEECH}", json={"input": f"Request number {i}. {TWO}"}, timeout=60)
        return r.status_code, len(r.content)

    with ThreadPoolExecutor(16) as ex:
        results = list(ex.map(speak, range(16)))
    assert all(code == 200 and size > 44 for code, size in results), results


def test_bad_requests_get_json_errors_and_the_server_keeps_serving(server: tuple[str, int]) -> None:
    url, _ = server
    r = httpx.post(f"{url}{SPEECH}", json={"input": "   "})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(f"{url}{SPEECH}", json={"input": "Hi.", "voice": "alloy"})
    assert r.status_code == 400 and "alice, bob" in r.json()["error"]["message"]
    r = httpx.post(
        f"{url}{SPEECH}", content=b'{"input": "Hi.",', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["error"]["message"]
    r = httpx.get(url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html") and "Speak" in r.text
    assert httpx.get(f"{url}/health").json()["status"] == "ok"


def test_the_openai_client(server: tuple[str, int]) -> None:
    """The documented ``openai`` example: streamed wav, the extensions in ``extra_body``, errors."""
    openai = pytest.importorskip("openai")
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="bob", input=TWO, response_format="wav", extra_body={"seed": 1}
    ) as response:
        audio = b"".join(response.iter_bytes())
    samples, rate = decode(audio)
    assert rate == 22050 and np.abs(samples).max() > 0.01
    with pytest.raises(openai.BadRequestError, match="alice, bob"):
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hi.", response_format="wav")


def test_wyoming_describe_and_synthesize(server: tuple[str, int]) -> None:
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient
    from wyoming.info import Describe, Info
    from wyoming.tts import Synthesize, SynthesizeVoice

    _, wport = server

    async def round_trip() -> tuple[Info, list[str], bytes]:
        async with AsyncTcpClient("127.0.0.1", wport, read_timeout=30) as c:
            await c.write_event(Describe().event())
            info = Info.from_event(await c.read_event())
            voice = SynthesizeVoice(name=info.tts[0].voices[0].name, speaker="bob")
            await c.write_event(Synthesize(TWO, voice=voice).event())
            types, audio = [], b""
            while True:
                ev = await c.read_event()
                types.append(ev.type)
                if AudioStart.is_type(ev.type):
                    assert AudioStart.from_event(ev).rate == 22050
                if AudioChunk.is_type(ev.type):
                    audio += AudioChunk.from_event(ev).audio
                if AudioStop.is_type(ev.type) or ev.type == "error":
                    return info, types, audio

    info, types, audio = asyncio.run(round_trip())
    voice = info.tts[0].voices[0]
    assert voice.languages == ["en-us"] and [s.name for s in voice.speakers] == ["alice", "bob"]
    assert types[0] == "audio-start" and types[-1] == "audio-stop" and types.count("audio-chunk") >= 2
    pcm = np.frombuffer(audio, "<i2")
    assert len(pcm) > 22050 // 2 and np.abs(pcm).max() > 300


def test_wyoming_streaming_text(server: tuple[str, int]) -> None:
    """synthesize-start / -chunk / -stop: sentences are spoken as their text completes, in one
    audio stream, then synthesize-stopped; the compatibility `synthesize` is ignored."""
    from wyoming.audio import AudioChunk
    from wyoming.client import AsyncTcpClient
    from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

    _, wport = server

    async def stream() -> list[str]:
        async with AsyncTcpClient("127.0.0.1", wport, read_timeout=30) as c:
            await c.write_event(SynthesizeStart().event())
            for piece in ("One sentence ", "here. A second ", "one follows. And the end"):
                await c.write_event(SynthesizeChunk(piece).event())
            await c.write_event(Synthesize("One sentence here. A second one follows. And the end").event())
            await c.write_event(SynthesizeStop().event())
            types = []
            while (ev := await c.read_event()) is not None:
                types.append(ev.type)
                if AudioChunk.is_type(ev.type):
                    assert AudioChunk.from_event(ev).audio
                if ev.type == "synthesize-stopped":
                    return types
            return types

    types = asyncio.run(stream())
    assert types[0] == "audio-start" and types.count("audio-start") == 1
    assert types[-2:] == ["audio-stop", "synthesize-stopped"] and types.count("audio-chunk") >= 3


# ---------------------------------------------------------------------------------------------
# Streaming, cancellation, queue and timeout: uvicorn in a thread, a stream held at a gate
# ---------------------------------------------------------------------------------------------


def test_first_bytes_leave_before_the_text_is_done(synths: list) -> None:
    gated = Gated(synths[0])
    pool = SynthesisPool([gated], max_queue=2)
    try:
        body = {"input": THREE, "seed": 0}
        with (
            running(create_app(pool)) as url,
            httpx.Client(timeout=30) as http,
            http.stream("POST", f"{url}{SPEECH}", json=body) as r,
        ):
            assert r.status_code == 200
            parts = r.iter_bytes()
            first = next(parts)
            assert first.startswith(wav_header(22050)[:4]) and gated.chunks_out <= 1
            assert not gated.gate.is_set()  # the rest of the text waits behind the gate
            gated.gate.set()
            audio = first + b"".join(parts)
        samples, _ = decode(audio)
        whole = synths[0].synthesize(THREE, seed=0).samples
        assert len(samples) == len(whole)  # the streamed file is the whole text
    finally:
        gated.gate.set()
        pool.close()


def test_a_client_that_leaves_cancels_its_work(synths: list) -> None:
    gated = Gated(synths[0])
    pool = SynthesisPool([gated], max_queue=2)
    try:
        with running(create_app(pool)) as url:
            with (
                httpx.Client(timeout=30) as http,
                http.stream("POST", f"{url}{SPEECH}", json={"input": THREE}) as r,
            ):
                next(r.iter_bytes())  # the first chunk arrived; now hang up
            deadline = time.monotonic() + 10
            while url.connections() and time.monotonic() < deadline:
                time.sleep(0.02)  # until the server has seen the client go
            time.sleep(0.1)
            gated.gate.set()
            assert gated.closed.wait(10)
            deadline = time.monotonic() + 10
            while pool.stats().cancelled < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            stats = pool.stats()
            assert stats.cancelled == 1 and stats.completed == 0 and gated.chunks_out < 5
            assert httpx.post(f"{url}{SPEECH}", json={"input": "Still here."}, timeout=30).status_code == 200
    finally:
        gated.gate.set()
        pool.close()


def test_full_queue_answers_503_with_retry_after(synths: list) -> None:
    gated = Gated(synths[0], before_first=True)
    pool = SynthesisPool([gated], max_queue=1)
    try:
        with running(create_app(pool)) as url, ThreadPoolExecutor(2) as ex:
            post = lambda: httpx.post(f"{url}{SPEECH}", json={"input": "Hello."}, timeout=30)  # noqa: E731
            running_one = ex.submit(post)
            assert gated.started.wait(10)  # the worker holds the first request
            queued = ex.submit(post)
            deadline = time.monotonic() + 10
            while pool.stats().queued < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            r = post()
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert r.json()["error"]["type"] == "server_busy"
            gated.gate.set()
            assert running_one.result().status_code == 200 and queued.result().status_code == 200
    finally:
        gated.gate.set()
        pool.close()


def test_request_timeout_answers_504(synths: list) -> None:
    gated = Gated(synths[0], before_first=True)
    pool = SynthesisPool([gated], max_queue=1)
    try:
        with running(create_app(pool, ServeSettings(timeout=0.5))) as url:
            r = httpx.post(f"{url}{SPEECH}", json={"input": "Hello."}, timeout=30)
            assert r.status_code == 504 and r.json()["error"]["type"] == "timeout"
            gated.gate.set()
            assert gated.closed.wait(10)  # the timed-out job was cancelled, not left running
    finally:
        gated.gate.set()
        pool.close()


# ---------------------------------------------------------------------------------------------
# Input checks, formats, security: the app in-process
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"input": ""}, 400, "input"),
        ({}, 400, "input"),
        ({"input": 42}, 400, "input"),
        ({"input": "x" * 201}, 413, "input"),
        ({"input": "Hi.", "voice": "nobody"}, 400, "voice"),
        ({"input": "Hi.", "response_format": "mp3"}, 400, "response_format"),
        ({"input": "Hi.", "speed": 0.1}, 400, "speed"),
        ({"input": "Hi.", "speed": "fast"}, 400, "speed"),
        ({"input": "Hi.", "seed": -1}, 400, "seed"),
        ({"input": "Hi.", "steps": 0}, 400, "steps"),
        ({"input": "Hi.", "steps": 1000}, 400, "steps"),
        ({"input": "?!"}, 400, "input"),  # nothing pronounceable: refused by the synthesizer
        ([1, 2], 400, None),
    ],
)
def test_bad_input_is_a_4xx_json_error(
    client: TestClient, body: object, status: int, param: str | None
) -> None:
    r = client.post(SPEECH, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and err["type"] and err["param"] == param


def test_malformed_and_oversized_bodies(client: TestClient) -> None:
    r = client.post(SPEECH, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = client.post(SPEECH, content=b"\xff\xfe", headers={"content-type": "application/json"})
    assert r.status_code == 400
    r = client.post(SPEECH, content=json.dumps({"input": "a" * 5000}).encode())
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"]
    assert client.get("/nowhere").status_code == 404 and "error" in client.get("/nowhere").json()
    assert client.get(SPEECH).status_code == 405
    assert client.post(SPEECH, json={"input": "Fine after all that."}).status_code == 200


@pytest.mark.parametrize("fmt", ["wav", "pcm", "flac"])
def test_formats_and_speed(client: TestClient, fmt: str) -> None:
    base = {"input": TWO, "seed": 3, "response_format": fmt}
    normal = client.post(SPEECH, json=base)
    fast = client.post(SPEECH, json={**base, "speed": 2.0})
    assert normal.status_code == fast.status_code == 200
    assert normal.headers["x-sample-rate"] == "22050"
    if fmt == "pcm":
        assert normal.headers["content-type"] == "audio/pcm"
        n, n_fast = len(normal.content) // 2, len(fast.content) // 2
    else:
        n, n_fast = len(decode(normal.content)[0]), len(decode(fast.content)[0])
    assert n_fast < 0.75 * n


def test_voices_models_and_health(client: TestClient) -> None:
    v = client.get("/v1/voices").json()
    assert [x["name"] for x in v["voices"]] == ["alice", "bob"] and v["default"] == "alice"
    assert client.get("/v1/models").json()["data"][0]["id"] == "latent-tts"
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["workers"] == 2 and h["backend"] == "onnx"


def test_api_key(synths: list) -> None:
    pool = SynthesisPool(synths, max_queue=2)
    try:
        with TestClient(create_app(pool, ServeSettings(api_key="s3cret"))) as c:
            r = c.post(SPEECH, json={"input": "Hi there."})
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert r.json()["error"]["type"] == "authentication_error"
            assert c.get("/v1/voices", headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert c.get("/health").status_code == 401
            ok = c.post(SPEECH, json={"input": "Hi there."}, headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200
            assert c.get("/").status_code == 200  # the page itself holds no data; its calls need the key
    finally:
        pool.close()


def test_cors_only_when_asked(synths: list) -> None:
    pool = SynthesisPool(synths, max_queue=2)
    origin = {"Origin": "https://example.org"}
    try:
        with TestClient(create_app(pool)) as c:
            assert "access-control-allow-origin" not in c.get("/v1/voices", headers=origin).headers
        with TestClient(create_app(pool, ServeSettings(cors_origins=("https://example.org",)))) as c:
            r = c.get("/v1/voices", headers=origin)
            assert r.headers["access-control-allow-origin"] == "https://example.org"
            other = c.get("/v1/voices", headers={"Origin": "https://evil.example"})
            assert "access-control-allow-origin" not in other.headers
    finally:
        pool.close()


def test_cli_refuses_bad_options(voice_dir: Path) -> None:
    from tts.serve.cli import main

    assert main(["--no-http"]) == 2
    assert main(["--voice", str(voice_dir / "missing"), "--port", str(free_port())]) == 2
    with pytest.raises(SystemExit) as e:
        main(["--workers", "0"])
    assert e.value.code == 2


def test_pool_workers_run_in_parallel_threads(synths: list) -> None:
    """Two workers, two requests: both are active at once (one synthesizer each, no shared lock)."""
    gates = [Gated(s, before_first=True) for s in synths]
    pool = SynthesisPool(gates, max_queue=0)
    try:
        with running(create_app(pool)) as url, ThreadPoolExecutor(2) as ex:
            futures = [
                ex.submit(httpx.post, f"{url}{SPEECH}", json={"input": "Hi."}, timeout=30) for _ in gates
            ]
            assert all(g.started.wait(10) for g in gates) and pool.stats().active == 2
            busy = httpx.post(f"{url}{SPEECH}", json={"input": "Hi."}, timeout=30)
            assert busy.status_code == 503  # max_queue=0: no worker idle, nothing may wait
            for g in gates:
                g.gate.set()
            assert [f.result().status_code for f in futures] == [200, 200]
    finally:
        for g in gates:
            g.gate.set()
        pool.close()


def test_closed_pools_leave_no_worker_threads() -> None:
    names = [t.name for t in threading.enumerate()]
    assert not any(n.startswith("tts-serve-worker") for n in names), names
