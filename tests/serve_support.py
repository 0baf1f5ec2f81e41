"""Helpers for the ``tts-serve`` tests: a tiny voice with its ONNX export, uvicorn on a free port
in a thread, and a synthesizer wrapper that holds its stream at a gate (to catch the server
mid-stream: first bytes out before the text is done, cancellation, timeouts, a full queue)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tiny_voice import ALL_FP32, build_tiny_voice


def build_served_voice(folder: Path) -> Path:
    """A tiny random-weight voice (speakers alice, bob) with the ONNX export tts-serve runs."""
    from tts.cli.voice import main as voice_main

    build_tiny_voice(folder)
    assert voice_main(["export-onnx", "--voice", str(folder), *ALL_FP32]) == 0
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served(str):
    """The URL of a server started by :func:`running`; ``.connections()`` counts its open ones."""

    server: Any

    def connections(self) -> int:
        return len(self.server.server_state.connections)


@contextmanager
def running(app: Any) -> Iterator[Served]:
    """Serve the ASGI ``app`` with uvicorn on a free loopback port in a thread; yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        url = Served(f"http://127.0.0.1:{port}")
        url.server = server
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


class Gated:
    """A synthesizer whose streams stop at a gate: before their first chunk (``before_first``)
    or after it, until :attr:`gate` is set. Everything else is the wrapped synthesizer's."""

    def __init__(self, synth: Any, before_first: bool = False) -> None:
        self.synth = synth
        self.before_first = before_first
        self.gate = threading.Event()
        self.started = threading.Event()  #: a stream began (a worker took the job)
        self.closed = threading.Event()  #: a stream ended or was closed early
        self.chunks_out = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.synth, name)

    def stream(self, text: str, **options: Any) -> Iterator[Any]:
        inner = self.synth.stream(text, **options)  # input errors raise here, as the real one does

        def held() -> Iterator[Any]:
            try:
                self.started.set()
                if self.before_first:
                    self.gate.wait(30)
                for i, chunk in enumerate(inner):
                    yield chunk
                    self.chunks_out += 1
                    if i == 0 and not self.before_first:
                        self.gate.wait(30)
            finally:
                self.closed.set()

        return held()
