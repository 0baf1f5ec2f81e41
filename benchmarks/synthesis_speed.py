"""End-to-end synthesis speed of a voice on the CPU: real-time factor, time to first audio, cold start,
peak memory and parameter counts.

    nice -n 5 python benchmarks/synthesis_speed.py --voice pretrained --threads 2 --repeats 5 \
        --json speed.json

What is measured (every timing after one warm-up call, median of ``--repeats`` runs, seed 0, torch
limited to ``--threads`` intra-op threads, ``OMP_WAIT_POLICY=PASSIVE`` unless set — as ``tts-synth``):

- RTF (compute seconds / audio seconds) of ``Synthesizer.synthesize`` on a fixed 10-word sentence and a
  fixed 60-word, four-sentence paragraph, at the voice's default ODE steps and at 2/4/8/16 steps, and
  the same for ``OnnxSynthesizer`` when the voice has an ONNX export (what ``tts-synth`` runs);
- time to first audio of ``Synthesizer.stream`` (first chunk of the first sentence) at default steps;
- the vocoder alone (the voice's and the weight-free Griffin-Lim fallback) on the paragraph's mel,
  and end to end with Griffin-Lim, as a reference;
- resident memory of the process: before and after loading the voice, and its peak while synthesising;
- cold start: wall time of a fresh ``tts-synth`` process writing one short sentence to a wav
  (median of 3; the page cache is warm after the first run, so this is interpreter + imports +
  loading + synthesis, not disk);
- parameters of acoustic model, VAE and vocoder.

Timings come from :func:`tts.eval.speed.measure_speed`. They are only comparable between runs on an
idle machine: the 1-minute load average is printed at the start and the end, with a warning above 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tts.core.names import PRECISIONS  # torch-free
from tts.eval.speed import describe_machine, machine_facts  # torch-free

SENTENCE = "Please call me back when you have a free moment."
PARAGRAPH = (
    "The old lighthouse stood at the edge of the cliff for more than a century. Every night its lamp "
    "swept across the dark water, guiding fishing boats safely home. When the keeper finally retired, "
    "the town decided to keep the light burning. Volunteers now climb the narrow stairs each evening, "
    "and children still wave at the passing ships far below."
)
STEPS = (2, 4, 8, 16)
LOAD_WARNING = 1.5  #: 1-minute load average above which the numbers are not comparable


def warn_if_busy(load1: float, when: str) -> None:
    if load1 > LOAD_WARNING:
        print(
            f"WARNING: 1-minute load average {load1:.2f} {when} (> {LOAD_WARNING}): other processes "
            "compete for the cores; these numbers are upper bounds, not comparable to an idle machine",
            flush=True,
        )


def voice_identity(folder: str | Path) -> dict[str, str]:
    """Which weights were measured: the acoustic file's SHA-256 prefix and modification time (UTC)."""
    from tts.core.files import file_sha256

    path = Path(folder) / "acoustic.safetensors"
    mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return {"acoustic_sha256": file_sha256(path)[:12], "acoustic_mtime": mtime}


def count_params(module: Any) -> int:
    return sum(p.numel() for p in module.parameters()) if hasattr(module, "parameters") else 0


def tts_synth_command() -> list[str]:
    """The ``tts-synth`` next to this interpreter (the venv's), else ``python -m tts.cli.synth``."""
    script = Path(sys.executable).parent / "tts-synth"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tts.cli.synth"]


def cold_start(
    voice: str, threads: int, precision: str = "auto", runs: int = 3, backend: str = "torch"
) -> dict[str, Any]:
    """Wall seconds of ``tts-synth SENTENCE --voice VOICE -o X.wav --backend BACKEND`` in a new
    process, median of ``runs``."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cold.wav"
        cmd = tts_synth_command() + [SENTENCE, "--voice", voice, "-o", str(out), "--seed", "0"]
        cmd += ["--threads", str(threads), "--backend", backend, "-q"]
        cmd += ["--precision", precision] if backend == "torch" else []
        for _ in range(runs):
            out.unlink(missing_ok=True)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0 or not out.is_file():
                raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return {"median_s": statistics.median(times), "runs_s": times, "command": "tts-synth", "backend": backend}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from tts import Synthesizer
    from tts.audio import log_mel
    from tts.eval.speed import PeakMemory, measure_speed
    from tts.models.vocoder import load_vocoder

    torch.set_num_threads(args.threads)
    facts = machine_facts()
    print(describe_machine(facts), flush=True)
    warn_if_busy(facts["load_avg_start"][0], "at the start")

    with PeakMemory() as load_mem:
        synth = Synthesizer.from_pretrained(args.voice, threads=args.threads, precision=args.precision)
    v = synth.voice
    params = {
        "acoustic": count_params(v.acoustic),
        "vae": count_params(v.vae),
        "vocoder": count_params(v.vocoder),
    }
    params["total"] = sum(params.values())
    default_steps = v.config.steps
    ident = voice_identity(args.voice)
    print(
        f"voice {args.voice} (acoustic.safetensors {ident['acoustic_sha256']}, {ident['acoustic_mtime']}): "
        f"default steps {default_steps}, sampler {v.config.sampler}, "
        f"temperature {v.config.temperature}, speaker {args.speaker or v.config.speaker}, "
        f"vocoder {Path(v.vocoder_name).name}, precision {v.precision} | "
        f"params (M): acoustic {params['acoustic'] / 1e6:.2f}, "
        f"VAE {params['vae'] / 1e6:.2f}, vocoder {params['vocoder'] / 1e6:.2f}, "
        f"total {params['total'] / 1e6:.2f}",
        flush=True,
    )
    texts = {"sentence": SENTENCE, "paragraph": PARAGRAPH}
    speed = {"threads": args.threads, "repeats": args.repeats, "warmup": 1, "precision": v.precision}

    def measure(fn: Any, text: str) -> dict[str, Any]:
        return measure_speed(fn, [text], threads=args.threads, repeats=args.repeats, warmup=1)

    rtf_rows = []
    print(f"\nRTF (synthesize, median of {args.repeats}, {args.threads} threads)", flush=True)
    for steps in [default_steps] + [s for s in args.steps if s != default_steps]:
        for name, text in texts.items():

            def speak(t: str, s: int = steps) -> Any:
                return synth.synthesize(t, speaker=args.speaker, steps=s, seed=0)

            r = measure(speak, text)
            row = {
                "text": name,
                "words": len(text.split()),
                "steps": steps,
                "default": steps == default_steps,
                "rtf": r["rtf"],
                "compute_s": r["compute_s"],
                "audio_s": r["audio_s"],
                "peak_rss_mb": r["peak_rss_mb"],
            }
            rtf_rows.append(row)
            tag = " (default)" if row["default"] else ""
            print(
                f"  {name:<9} {row['words']:>2} words {r['audio_s']:5.1f} s audio  steps {steps:>2}{tag:<10} "
                f"RTF {r['rtf']:.4f}  ({r['compute_s'] * 1e3:.0f} ms)",
                flush=True,
            )

    print("\nstreaming (Synthesizer.stream, default steps): time to first audio", flush=True)
    stream_rows = []
    for name, text in texts.items():
        r = measure(lambda t: synth.stream(t, speaker=args.speaker, seed=0), text)
        stream_rows.append({"text": name, "ttfa_ms": r["ttfa_first_text_ms"], "rtf": r["rtf"]})
        print(
            f"  {name:<9} first audio after {r['ttfa_first_text_ms']:.0f} ms (RTF {r['rtf']:.4f})", flush=True
        )

    peak = max(r["peak_rss_mb"] for r in rtf_rows)
    memory = {
        "rss_before_load_mb": load_mem.baseline / 2**20,
        "rss_loaded_mb": load_mem.peak / 2**20,
        "peak_rss_synthesis_mb": peak,
    }
    print(
        f"\nmemory: RSS {memory['rss_before_load_mb']:.0f} MB with torch imported, "
        f"{memory['rss_loaded_mb']:.0f} MB after loading the voice, peak {peak:.0f} MB while synthesising",
        flush=True,
    )

    reference = None
    if not args.no_griffin_lim:
        audio = synth.synthesize(PARAGRAPH, speaker=args.speaker, seed=0)
        mel = log_mel(audio.samples, v.audio)[None]  # (1, M, T): a realistic mel of the paragraph's length
        gl = load_vocoder("griffin-lim", "cpu").eval()
        sr = synth.sample_rate

        def vocode(m: Any) -> Any:
            def fn(_: str) -> tuple[Any, int]:
                with torch.inference_mode():
                    return m(mel)[0].numpy(), sr

            return fn

        ours = measure(vocode(v.vocoder), "mel")
        gl_alone = measure(vocode(gl), "mel")
        gl_synth = Synthesizer(replace(v, vocoder=gl, vocoder_name="griffin-lim"))
        gl_e2e = measure(lambda t: gl_synth.synthesize(t, speaker=args.speaker, seed=0), SENTENCE)
        ours_e2e = next(r for r in rtf_rows if r["default"] and r["text"] == "sentence")
        reference = {
            "vocoder_alone_rtf": {"voice": ours["rtf"], "griffin_lim": gl_alone["rtf"]},
            "sentence_end_to_end_rtf": {"voice": ours_e2e["rtf"], "griffin_lim": gl_e2e["rtf"]},
            "mel_frames": int(mel.shape[-1]),
        }
        print(
            f"\nvocoder alone on the paragraph's mel ({mel.shape[-1]} frames): "
            f"{Path(v.vocoder_name).name} RTF {ours['rtf']:.4f}, Griffin-Lim RTF {gl_alone['rtf']:.4f}\n"
            f"sentence end to end, default steps: {Path(v.vocoder_name).name} RTF {ours_e2e['rtf']:.4f}, "
            f"Griffin-Lim RTF {gl_e2e['rtf']:.4f}",
            flush=True,
        )

    onnx = None
    if not args.no_onnx:
        from tts.runtime.onnx import OnnxSynthesizer, onnx_export_dir

        if onnx_export_dir(synth.voice.folder) is None:
            print("\nno ONNX export in the voice folder: ONNX runtime not measured", flush=True)
        else:
            osynth = OnnxSynthesizer.from_pretrained(args.voice, threads=args.threads)
            onnx = {"rtf": {}, "ttfa_ms": {}, "rtf_steps": []}
            print("\nONNX runtime (tts-synth's backend for voices with an export), default steps", flush=True)
            for name, text in texts.items():
                r = measure(lambda t: osynth.synthesize(t, speaker=args.speaker, seed=0), text)
                st = measure(lambda t: osynth.stream(t, speaker=args.speaker, seed=0), text)
                onnx["rtf"][name], onnx["ttfa_ms"][name] = r["rtf"], st["ttfa_first_text_ms"]
                onnx["rtf_steps"].append(
                    {
                        "text": name,
                        "steps": default_steps,
                        "default": True,
                        "rtf": r["rtf"],
                        "audio_s": r["audio_s"],
                    }
                )
                ttfa = st["ttfa_first_text_ms"]
                print(f"  {name:<9} RTF {r['rtf']:.4f}, stream first audio after {ttfa:.0f} ms", flush=True)
            for steps in [s for s in args.steps if s != default_steps]:
                for name, text in texts.items():

                    def ospeak(t: str, n: int = steps) -> Any:
                        return osynth.synthesize(t, speaker=args.speaker, steps=n, seed=0)

                    r = measure(ospeak, text)
                    onnx["rtf_steps"].append(
                        {
                            "text": name,
                            "steps": steps,
                            "default": False,
                            "rtf": r["rtf"],
                            "audio_s": r["audio_s"],
                        }
                    )
                    print(f"  {name:<9} steps {steps:2d} RTF {r['rtf']:.4f}", flush=True)

    cold = None
    if not args.no_cold_start:
        cold = {"torch": cold_start(args.voice, args.threads, args.precision, backend="torch")}
        if onnx is not None:
            cold["onnx"] = cold_start(args.voice, args.threads, backend="onnx")
        for backend, c in cold.items():
            print(
                f"\ncold start ({backend} backend): tts-synth to a written wav, one short sentence: "
                f"{c['median_s']:.2f} s (median of 3: {', '.join(f'{t:.2f}' for t in c['runs_s'])})",
                flush=True,
            )

    facts["load_avg_end"] = list(os.getloadavg())
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in facts['load_avg_end'])}")
    warn_if_busy(max(facts["load_avg_start"][0], facts["load_avg_end"][0]), "during the run")
    return {
        "benchmark": "synthesis_speed",
        "voice": args.voice,
        "voice_identity": ident,
        "machine": facts,
        "settings": speed | {"seed": 0, "speaker": args.speaker or v.config.speaker},
        "voice_defaults": {
            "steps": default_steps,
            "sampler": v.config.sampler,
            "temperature": v.config.temperature,
            "vocoder": Path(v.vocoder_name).name,
        },
        "texts": texts,
        "params": params,
        "rtf": rtf_rows,
        "stream": stream_rows,
        "memory": memory,
        "reference": reference,
        "onnx": onnx,
        "cold_start": cold,
    }


def markdown(res: dict[str, Any]) -> str:
    """The result tables of ``res`` (as returned by :func:`run`) in markdown."""
    m, d = res["machine"], res["voice_defaults"]
    load = "/".join(f"{x:.2f}" for x in m["load_avg_start"])
    ident = res["voice_identity"]
    lines = [
        f"Voice `{res['voice']}` (acoustic {ident['acoustic_sha256']}, {ident['acoustic_mtime']}), "
        f"measured {m['date']}; {m['cpu']}, {m['cores']} cores, torch {m['torch']}, "
        f"{res['settings']['threads']} threads, {res['settings'].get('precision', 'fp32')} matrix "
        f"multiplies, median of {res['settings']['repeats']}, load average at start {load}.",
        "",
        "| text | audio (s) | " + " | ".join(f"{s} steps" for s in _steps(res)) + " |",
        "|---|---|" + "---|" * len(_steps(res)),
    ]
    for name in res["texts"]:
        rows = {r["steps"]: r for r in res["rtf"] if r["text"] == name}
        cells = [
            f"**{rows[s]['rtf']:.4f}**" if rows[s]["default"] else f"{rows[s]['rtf']:.4f}"
            for s in _steps(res)
        ]
        audio = next(iter(rows.values()))["audio_s"]
        lines.append(
            f"| {name} ({len(res['texts'][name].split())} words) | {audio:.1f} | " + " | ".join(cells) + " |"
        )
    lines += ["", f"RTF of `synthesize`; bold: the voice's default ({d['steps']} steps, {d['sampler']}).", ""]
    onnx_rows = (res.get("onnx") or {}).get("rtf_steps") or []
    if onnx_rows:
        steps = sorted({r["steps"] for r in onnx_rows})
        lines += [
            "| ONNX runtime: text | audio (s) | " + " | ".join(f"{s} steps" for s in steps) + " |",
            "|---|---|" + "---|" * len(steps),
        ]
        for name in res["texts"]:
            rows = {r["steps"]: r for r in onnx_rows if r["text"] == name}
            cells = [
                f"**{rows[s]['rtf']:.4f}**" if rows[s]["default"] else f"{rows[s]['rtf']:.4f}"
                for s in steps
                if s in rows
            ]
            audio = next(iter(rows.values()))["audio_s"]
            lines.append(f"| {name} | {audio:.1f} | " + " | ".join(cells) + " |")
        lines += ["", "RTF of `OnnxSynthesizer.synthesize` (tts-synth's backend), same texts and seed.", ""]
    lines += ["| measure | value |", "|---|---|"]
    for r in res["stream"]:
        lines.append(f"| time to first audio, `stream`, {r['text']} | {r['ttfa_ms']:.0f} ms |")
    for backend, c in (res["cold_start"] or {}).items():
        lines.append(
            f"| cold start, `tts-synth --backend {backend}` to a wav, one sentence | {c['median_s']:.2f} s |"
        )
    if res.get("onnx"):
        o = res["onnx"]
        lines.append(
            "| ONNX runtime, default steps: RTF sentence / paragraph | "
            f"{o['rtf']['sentence']:.4f} / {o['rtf']['paragraph']:.4f} |"
        )
        lines.append(
            f"| ONNX runtime: time to first audio, `stream`, sentence | {o['ttfa_ms']['sentence']:.0f} ms |"
        )
    mem = res["memory"]
    rss = (mem["rss_before_load_mb"], mem["rss_loaded_mb"], mem["peak_rss_synthesis_mb"])
    lines.append(
        "| process RSS: torch imported / voice loaded / peak while synthesising | "
        + " / ".join(f"{x:.0f}" for x in rss)
        + " MB |"
    )
    p = res["params"]
    lines.append(
        f"| parameters: acoustic + VAE + vocoder | {p['acoustic'] / 1e6:.2f} + {p['vae'] / 1e6:.2f} + "
        f"{p['vocoder'] / 1e6:.2f} = {p['total'] / 1e6:.2f} M |"
    )
    ref = res["reference"]
    if ref:
        lines.append(
            f"| vocoder alone RTF: {d['vocoder']} / Griffin-Lim | {ref['vocoder_alone_rtf']['voice']:.4f} / "
            f"{ref['vocoder_alone_rtf']['griffin_lim']:.4f} |"
        )
        e2e = ref["sentence_end_to_end_rtf"]
        lines.append(
            f"| sentence end to end RTF: {d['vocoder']} / Griffin-Lim | "
            f"{e2e['voice']:.4f} / {e2e['griffin_lim']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def _steps(res: dict[str, Any]) -> list[int]:
    return sorted({r["steps"] for r in res["rtf"]})


def _steps_list(s: str) -> list[int]:
    try:
        steps = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None
    if not steps or min(steps) < 1:
        raise argparse.ArgumentTypeError(f"steps must be >= 1, got {s!r}")
    return steps


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--voice", required=True, help="voice folder (acoustic.safetensors, vae.safetensors, ...)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--precision", choices=PRECISIONS, default="auto", help="tts.models.precision (default: auto)"
    )
    p.add_argument("--steps", type=_steps_list, default=list(STEPS), help="step counts besides the default")
    p.add_argument("--speaker", default=None, help="default: the voice's")
    p.add_argument("--no-cold-start", action="store_true", help="skip the tts-synth subprocess runs")
    p.add_argument("--no-griffin-lim", action="store_true", help="skip the Griffin-Lim reference")
    p.add_argument("--no-onnx", action="store_true", help="skip the ONNX runtime (VOICE/onnx export)")
    p.add_argument("--json", type=Path, default=None, help="write all results here")
    p.add_argument("--markdown", type=Path, default=None, help="write the result tables here")
    args = p.parse_args(argv)
    if args.threads < 1 or args.repeats < 1:
        p.error("--threads and --repeats must be >= 1")
    folder = Path(args.voice)
    if not (folder / "acoustic.safetensors").is_file():
        what = "does not exist" if not folder.exists() else "has no acoustic.safetensors"
        print(f"synthesis_speed.py: error: voice folder {folder} {what}", file=sys.stderr)
        return 2
    # before torch is imported: fixed threads, and no spinning OpenMP workers (tts-synth does the same)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        res = run(args)
    except (ValueError, FileNotFoundError, RuntimeError) as e:  # CheckpointError is a ValueError
        print(f"synthesis_speed.py: error: {e}", file=sys.stderr)
        return 2
    md = markdown(res)
    print("\n" + md)
    for path, text in ((args.json, json.dumps(res, indent=2) + "\n"), (args.markdown, md)):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
