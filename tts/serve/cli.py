"""tts-serve — speak over HTTP (an OpenAI-compatible speech API and a web page) and Wyoming.

    tts-serve                                   http://127.0.0.1:8000 with the shipped voice
    tts-serve --port 8080 --voice runs/myvoice --workers 2
    tts-serve --host 0.0.0.0 --api-key SECRET   reachable from the network: require a key
    tts-serve --wyoming tcp://0.0.0.0:10200     HTTP and Wyoming (Home Assistant) side by side
    tts-serve --wyoming tcp://127.0.0.1:10200 --no-http

    curl -s localhost:8000/v1/audio/speech -H 'Content-Type: application/json' \\
         -d '{"input": "Hello there.", "voice": "af_heart"}' -o hello.wav

Exit status: 0 stopped, 2 bad options or no usable voice. See docs/serve.md.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import sys
from typing import NoReturn

PROG = "tts-serve"
ENV_API_KEY = "TTS_SERVE_API_KEY"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see {PROG} --help)\n")


def _positive(kind: type) -> object:
    def parse(s: str) -> object:
        try:
            v = kind(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {s!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {s}")
        return v

    return parse


def build_parser() -> argparse.ArgumentParser:
    from tts import __version__

    p = _Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--host", default="127.0.0.1", help="HTTP address to listen on (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    p.add_argument("--voice", metavar="DIR", help="voice folder (default: pretrained/ or $TTS_VOICE_DIR)")
    p.add_argument(
        "--workers", type=_positive(int), help="synthesis workers (default: one per core, at most 8)"
    )
    p.add_argument("--threads", type=_positive(int), help="threads per worker (default: the cores / workers)")
    p.add_argument(
        "--queue", type=int, default=32, help="requests that may wait for a worker; more get 503 (default 32)"
    )
    p.add_argument(
        "--timeout",
        type=_positive(float),
        default=60.0,
        help="seconds a request may take in all (default 60)",
    )
    p.add_argument("--max-chars", type=_positive(int), default=4096, help="longest input text (default 4096)")
    p.add_argument(
        "--api-key",
        default=os.environ.get(ENV_API_KEY) or None,
        help=f"require 'Authorization: Bearer KEY' on every request (default: ${ENV_API_KEY}, else none)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser pages from ORIGIN (e.g. https://example.org, or *) to call the API; repeatable",
    )
    p.add_argument(
        "--wyoming", metavar="URI", help="also serve the Wyoming protocol, e.g. tcp://127.0.0.1:10200"
    )
    p.add_argument("--no-http", action="store_true", help="serve only Wyoming (needs --wyoming)")
    p.add_argument("--access-log", action="store_true", help="log every HTTP request")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(args: argparse.Namespace) -> None:
    """Load the voice, start the workers and run the HTTP and/or Wyoming servers until stopped."""
    from tts.serve.app import ServeSettings, create_app
    from tts.serve.voice import default_workers, load_synthesizers
    from tts.serve.workers import SynthesisPool

    log = logging.getLogger("tts.serve")
    workers = args.workers or default_workers()
    synths = load_synthesizers(args.voice, workers, args.threads, args.max_chars)
    pool = SynthesisPool(synths, max_queue=args.queue)
    s = synths[0]
    log.info(
        "voice %s (%s, %s backend, speakers %s): %d workers, queue %d",
        s.voice.config.name,
        s.voice.folder,
        s.backend,
        ", ".join(s.speakers) or "-",
        workers,
        args.queue,
    )
    tasks = []
    try:
        if args.wyoming:
            from tts.serve.wyoming import run_wyoming

            tasks.append(asyncio.create_task(run_wyoming(args.wyoming, pool, args.timeout)))
        if not args.no_http:
            import uvicorn

            settings = ServeSettings(
                api_key=args.api_key,
                cors_origins=tuple(args.cors_origin),
                max_chars=args.max_chars,
                timeout=args.timeout,
            )
            config = uvicorn.Config(
                create_app(pool, settings),
                host=args.host,
                port=args.port,
                log_level=args.log_level,
                access_log=args.access_log,
                # a last bound on open connections (uvicorn answers 503 beyond it); the queue
                # and its JSON 503 come long before for anything that asks for speech
                limit_concurrency=max(256, 8 * (workers + args.queue)),
                timeout_keep_alive=5,
            )
            tasks.append(asyncio.create_task(uvicorn.Server(config).serve()))
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            t.result()  # a server that stopped by itself (e.g. uvicorn after Ctrl-C, or a bind error)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pool.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # for a PyTorch fallback (docs/usage.md)
    logging.basicConfig(level=args.log_level.upper(), format=f"{PROG}: %(levelname)s: %(message)s")
    if args.no_http and not args.wyoming:
        print(f"{PROG}: error: --no-http leaves nothing to serve: add --wyoming URI", file=sys.stderr)
        return 2
    if args.queue < 0:
        print(f"{PROG}: error: --queue must be >= 0, got {args.queue}", file=sys.stderr)
        return 2
    if not args.no_http and not _is_loopback(args.host) and not args.api_key:
        logging.getLogger("tts.serve").warning(
            "listening on %s without --api-key: anyone who can reach this port can use it", args.host
        )
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0
    except (FileNotFoundError, ValueError) as e:  # no voice, a broken voice, a bad --wyoming URI
        print(f"{PROG}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
