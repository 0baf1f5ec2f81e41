"""Load test of ``tts-serve``: C concurrent clients POSTing ``/v1/audio/speech`` for a fixed time.

    nice -n 5 python benchmarks/serve_load.py --voice pretrained --clients 16 64 --duration 120 \
        --json serve_load.json

Starts ``tts-serve`` on a free loopback port (or uses ``--url``, which must be a loopback
address), warms it up, then for each client count runs that many closed-loop clients for
``--duration`` seconds: each sends a sentence from a fixed list (``wav``, the voice's default
speaker), reads the streamed response to its end, and sends the next. A 503 is counted and the
client waits its ``Retry-After`` before trying again, as a well-behaved client would. Requests in
flight at the deadline finish and count; nothing runs longer than the deadline plus the server's
request timeout.

Reported per client count: completed requests per second, p50/p95 time to first byte (headers
and the first audio) and to last byte of the 200s, seconds of audio per second, every non-200
status and transport error, and the server's peak resident memory during the phase (sampled
from ``/proc/PID/status`` every 0.2 s; ``VmHWM`` for the process's lifetime as well). The clients
run in this process on the same cores as the server: on a small machine they take part of the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tts.eval.speed import machine_facts

TEXTS = (
    "Please call me back when you have a free moment.",
    "The train to the city leaves at half past seven every morning.",
    "She opened the window and the cool evening air filled the room.",
    "Thank you for waiting. Your order is on its way and should arrive tomorrow.",
    "The meeting has been moved to Thursday afternoon, in the small conference room.",
    "Turn left at the next corner, then walk straight ahead for two blocks.",
    "It looks like rain today, so bring an umbrella if you go out.",
    "The museum is open from nine to five, and entry is free on Sundays.",
)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0–1) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def ms(seconds: float) -> float | None:
    """Milliseconds, rounded; None for NaN (no such requests)."""
    return None if seconds != seconds else round(1000 * seconds)


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def client_loop(http: Any, url: str, deadline: float, index: int, results: list[dict]) -> None:
    """One closed-loop client until ``deadline``."""
    k = index
    while time.monotonic() < deadline:
        text = TEXTS[k % len(TEXTS)]
        k += 1
        t0 = time.monotonic()
        rec: dict[str, Any] = {"start": t0}
        try:
            async with http.stream("POST", url, json={"input": text, "response_format": "wav"}) as r:
                rec["status"] = r.status_code
                ttfb = None
                size = 0
                async for part in r.aiter_bytes():
                    if ttfb is None and part:
                        ttfb = time.monotonic() - t0
                    size += len(part)
                rec.update(ttfb=ttfb, ttlb=time.monotonic() - t0, bytes=size)
                if r.status_code == 503:
                    results.append(rec)
                    await asyncio.sleep(float(r.headers.get("retry-after", "1")))
                    continue
        except Exception as e:  # a transport error is a result too
            rec.update(status=f"error: {type(e).__name__}", ttlb=time.monotonic() - t0)
        results.append(rec)


async def run_phase(url: str, clients: int, duration: float, pid: int | None) -> dict[str, Any]:
    import httpx

    results: list[dict] = []
    peak = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), limits=limits) as http:
        deadline = time.monotonic() + duration
        tasks = [asyncio.create_task(client_loop(http, url, deadline, i, results)) for i in range(clients)]
        while not all(t.done() for t in tasks):
            if pid is not None:
                peak = max(peak, rss_kib(pid))
            await asyncio.sleep(0.2)
        await asyncio.gather(*tasks)
    ok = [r for r in results if r.get("status") == 200]
    elapsed = max(r["start"] + r["ttlb"] for r in results) - min(r["start"] for r in results)
    audio_seconds = sum((r["bytes"] - 44) / 2 / 22050 for r in ok)
    return {
        "clients": clients,
        "duration_s": round(elapsed, 1),
        "requests": len(results),
        "ok": len(ok),
        "statuses": dict(Counter(str(r.get("status")) for r in results)),
        "requests_per_s": round(len(ok) / elapsed, 2),
        "audio_s_per_s": round(audio_seconds / elapsed, 2),
        "ttfb_p50_ms": ms(percentile([r["ttfb"] for r in ok], 0.5)),
        "ttfb_p95_ms": ms(percentile([r["ttfb"] for r in ok], 0.95)),
        "ttlb_p50_ms": ms(percentile([r["ttlb"] for r in ok], 0.5)),
        "ttlb_p95_ms": ms(percentile([r["ttlb"] for r in ok], 0.95)),
        "rejected_503_ttlb_p50_ms": ms(
            percentile([r["ttlb"] for r in results if r.get("status") == 503], 0.5)
        ),
        "server_peak_rss_mib": round(peak / 1024, 1) if pid is not None else None,
    }


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "tts.serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--queue",
        str(args.queue),
    ]
    if args.voice:
        cmd += ["--voice", args.voice]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    proc = subprocess.Popen(cmd)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"tts-serve exited with status {proc.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("tts-serve did not start within 120 s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--voice", default="pretrained", help="voice folder for the server it starts (default pretrained)"
    )
    p.add_argument("--url", help="an already running server on this machine (loopback only)")
    p.add_argument("--clients", type=int, nargs="+", default=[16, 64], help="client counts (default 16 64)")
    p.add_argument("--duration", type=float, default=120.0, help="seconds per client count (default 120)")
    p.add_argument("--workers", type=int, help="tts-serve --workers (default: its own)")
    p.add_argument("--queue", type=int, default=32, help="tts-serve --queue (default 32)")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        p.error("--url must be a loopback address: load tests stay on this machine")

    proc, url = (None, args.url.rstrip("/")) if args.url else start_server(args)
    pid = proc.pid if proc else None
    report: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_facts(),
        "server": {},
        "phases": [],
    }
    try:
        import httpx

        report["server"] = httpx.get(url + "/health").json()
        for text in TEXTS:  # warm-up: first calls of onnxruntime and espeak
            httpx.post(url + "/v1/audio/speech", json={"input": text}, timeout=60)
        for c in args.clients:
            phase = asyncio.run(run_phase(url + "/v1/audio/speech", c, args.duration, pid))
            print(json.dumps(phase), flush=True)
            report["phases"].append(phase)
        if pid is not None:
            report["server_vm_hwm_mib"] = round(rss_kib(pid, "VmHWM") / 1024, 1)
        report["machine"]["load_avg_end"] = list(os.getloadavg())
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "phases"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
