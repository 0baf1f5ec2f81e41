"""Quality against ODE steps: intelligibility, distance to the teacher and a naturalness proxy of a voice
at several step counts of the latent diffusion decoder, next to the teacher's own scores.

    nice -n 5 python benchmarks/quality_vs_steps.py --voice pretrained --heldout data/synthetic-heldout \\
        --speakers bdl,slt,clb,alan --n 12 --steps 2,4,8,16 --jobs 2 \\
        --plot docs/quality_vs_steps.png --json quality.json --markdown quality.md

For every speaker, the first ``--n`` sentences of ``HELDOUT/SPEAKER/metadata.csv`` (never used in
training) are synthesised at each step count (seed ``--seed``, the voice's default temperature and
sampler) and scored with the ``tts.eval`` judges: pocketsphinx WER/CER against the text, DTW
mel-cepstral distortion, log-F0 RMSE and voicing error against the teacher's recording of the same
sentence, and DNSMOS P.835. The teacher recordings are scored by the same ASR and DNSMOS judges
(results cached in ``HELDOUT/SPEAKER/.tts-eval-cache.json``, so a rerun scores only our audio).
WER/CER are corpus-level (errors over reference words/characters, pooled over the speakers); the
other metrics are means over utterances.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tts.core.names import PRECISIONS  # torch-free

SHOWN = ("n", "wer", "cer", "mcd_db", "f0_rmse_cents", "vuv_error", "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak")


def _ints(s: str) -> list[int]:
    try:
        vals = [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {s!r}")
    return vals


def _shown(summary: dict[str, Any]) -> dict[str, Any]:
    # PESQ/STOI need sample-aligned audio: they are meaningless between synthesis and a recording
    return {k: v for k, v in summary.items() if k in SHOWN}


def synthesize_all(args: argparse.Namespace, work: Path) -> tuple[dict, dict, dict[int, float], Any]:
    """Synthesise every (speaker, steps) set. Returns (teacher utts per speaker, our utts per
    (speaker, steps), synthesis seconds per steps, the loaded voice's settings)."""
    import torch

    from tts import Synthesizer
    from tts.eval.voice import heldout_utterances, synthesize_to

    synth = Synthesizer.from_pretrained(args.voice, threads=args.threads, precision=args.precision)
    print(f"voice {args.voice}: {synth.voice.precision} matrix multiplies", flush=True)
    missing = [s for s in args.speakers if s not in synth.speakers]
    if missing:
        raise ValueError(f"voice {args.voice} has no speaker {missing}; it has {synth.speakers}")
    teacher = {s: heldout_utterances(args.heldout / s, args.n) for s in args.speakers}
    ours, seconds = {}, dict.fromkeys(args.steps, 0.0)
    for steps in args.steps:
        for spk in args.speakers:

            def speak(text: str, s: int = steps, k: str = spk) -> Any:
                t0 = time.perf_counter()
                audio = synth.synthesize(text, speaker=k, steps=s, seed=args.seed)
                seconds[s] += time.perf_counter() - t0
                return audio

            ours[spk, steps] = synthesize_to(speak, teacher[spk], work / spk / f"steps{steps:02d}")
    torch.set_num_threads(1)  # the scoring workers get the cores
    return teacher, ours, seconds, synth.voice.config


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tts.core.files import file_sha256
    from tts.eval.score import ScoreOptions, markdown_table, score_utterances, summarize
    from tts.eval.voice import score_with_cache

    acoustic = Path(args.voice) / "acoustic.safetensors"
    ident = {
        "acoustic_sha256": file_sha256(acoustic)[:12],
        "acoustic_mtime": datetime.fromtimestamp(acoustic.stat().st_mtime, timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"
        ),
    }
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_start = os.getloadavg()
    print(f"{date} | load average {' '.join(f'{x:.2f}' for x in load_start)}", flush=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="quality-vs-steps.") as tmp:
        work = args.out or Path(tmp)
        teacher_utts, ours_utts, synth_s, vcfg = synthesize_all(args, work)
        t_synth = time.perf_counter() - t0
        keys = list(ours_utts)
        flat = [u for k in keys for u in ours_utts[k]]
        opts = ScoreOptions(asr=True, dnsmos=True, distance=True, jobs=args.jobs, threads=1)
        rows = score_utterances(flat, opts)
    t_score = time.perf_counter() - t0 - t_synth
    by_key, i = {}, 0
    for k in keys:
        by_key[k] = rows[i : i + len(ours_utts[k])]
        i += len(ours_utts[k])
    teacher_opts = ScoreOptions(asr=True, dnsmos=True, distance=False, jobs=args.jobs, threads=1)
    teacher_rows = {
        s: score_with_cache(teacher_utts[s], teacher_opts, args.heldout / s) for s in args.speakers
    }
    t_teacher = time.perf_counter() - t0 - t_synth - t_score

    teacher = _shown(summarize([r for s in args.speakers for r in teacher_rows[s]]))
    pooled = {
        steps: _shown(summarize([r for s in args.speakers for r in by_key[s, steps]])) for steps in args.steps
    }
    per_speaker = {
        s: {
            "teacher": _shown(summarize(teacher_rows[s])),
            **{str(steps): _shown(summarize(by_key[s, steps])) for steps in args.steps},
        }
        for s in args.speakers
    }
    audio_s = {
        steps: sum(r["duration_s"] for s in args.speakers for r in by_key[s, steps]) for steps in args.steps
    }
    columns = {"teacher": teacher} | {f"{k} steps": pooled[k] for k in args.steps}
    table = markdown_table(columns)
    table += (
        f"| synthesis RTF, {args.threads} threads | – | "
        + " | ".join(f"{synth_s[k] / max(audio_s[k], 1e-9):.3f}" for k in args.steps)
        + " |\n"
    )
    lines = [
        "| speaker | teacher WER % | " + " | ".join(f"WER % / MCD, {k} steps" for k in args.steps) + " |"
    ]
    lines.append("|---|---|" + "---|" * len(args.steps))
    for s in args.speakers:
        d = per_speaker[s]
        cells = [
            f"{100 * d[str(k)]['wer']:.1f} / {d[str(k)].get('mcd_db', float('nan')):.2f}" for k in args.steps
        ]
        lines.append(f"| {s} | {100 * d['teacher']['wer']:.1f} | " + " | ".join(cells) + " |")
    header = (
        f"Voice `{args.voice}` (acoustic {ident['acoustic_sha256']}, {ident['acoustic_mtime']}), "
        f"measured {date}: {args.n} held-out sentences × {len(args.speakers)} speaker(s) "
        f"({', '.join(args.speakers)}) per column, seed {args.seed}, {vcfg.sampler} sampler, "
        f"temperature {vcfg.temperature} (voice default: {vcfg.steps} steps)."
    )
    md = header + "\n\n" + table + "\n" + "\n".join(lines) + "\n"
    load_end = os.getloadavg()
    print(
        f"\nsynthesis {t_synth:.0f} s, scoring {t_score:.0f} s, teacher scoring {t_teacher:.0f} s "
        f"(cached entries are free) | load average at the end {' '.join(f'{x:.2f}' for x in load_end)}",
        flush=True,
    )
    return {
        "benchmark": "quality_vs_steps",
        "voice": args.voice,
        "voice_identity": ident,
        "date": date,
        "load_avg_start": list(load_start),
        "load_avg_end": list(load_end),
        "settings": {
            "heldout": str(args.heldout),
            "speakers": args.speakers,
            "n": args.n,
            "steps": args.steps,
            "seed": args.seed,
            "sampler": vcfg.sampler,
            "temperature": vcfg.temperature,
            "default_steps": vcfg.steps,
            "threads": args.threads,
            "jobs": args.jobs,
        },
        "teacher": teacher,
        "ours": {str(k): v for k, v in pooled.items()},
        "synthesis_rtf": {str(k): synth_s[k] / max(audio_s[k], 1e-9) for k in args.steps},
        "per_speaker": per_speaker,
        "seconds": {"synthesis": t_synth, "scoring": t_score, "teacher_scoring": t_teacher},
        "rows": {f"{s}/{k}": by_key[s, k] for s, k in keys},
        "teacher_rows": teacher_rows,
        "markdown": md,
    }


def plot(res: dict[str, Any], path: Path) -> None:
    """WER, MCD and DNSMOS OVRL against steps (teacher as a dashed line) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = res["settings"]["steps"]
    panels = (
        ("wer", "WER %", 100.0),
        ("mcd_db", "MCD to teacher (dB)", 1.0),
        ("dnsmos_ovrl", "DNSMOS OVRL", 1.0),
    )
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, (key, label, scale) in zip(axes, panels):
        for d in res["per_speaker"].values():  # faint: each speaker; bold: pooled
            ys = [d[str(k)].get(key, float("nan")) * scale for k in steps]
            ax.plot(steps, ys, "-", color="tab:blue", alpha=0.25, lw=1)
        ys = [res["ours"][str(k)].get(key, float("nan")) * scale for k in steps]
        ax.plot(steps, ys, "o-", color="tab:blue", lw=2, label="ours")
        if key in res["teacher"]:
            ax.axhline(res["teacher"][key] * scale, color="tab:red", ls="--", label="teacher")
        ax.set_xscale("log", base=2)
        ax.set_xticks(steps, [str(k) for k in steps])
        if key == "wer":
            ax.set_ylim(bottom=0)
        ax.set_xlabel("ODE steps")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    s = res["settings"]
    fig.suptitle(
        f"{Path(res['voice']).name}, {res['date'][:10]}: {s['n']} held-out sentences × {len(s['speakers'])} "
        f"speaker(s) per point (faint lines: single speakers)",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def check_inputs(args: argparse.Namespace) -> str | None:
    """A readable reason why the inputs cannot work, or None."""
    voice = Path(args.voice)
    if not (voice / "acoustic.safetensors").is_file():
        what = "does not exist" if not voice.exists() else "has no acoustic.safetensors"
        return f"voice folder {voice} {what}"
    for s in args.speakers:
        if not (args.heldout / s / "metadata.csv").is_file():
            return f"no held-out set for speaker {s!r}: {args.heldout / s / 'metadata.csv'} not found"
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--voice", required=True, help="voice folder")
    p.add_argument(
        "--heldout", type=Path, default=Path("data/synthetic-heldout"), help="HELDOUT/SPEAKER/ sets"
    )
    p.add_argument("--speakers", default="bdl", help="comma-separated (default bdl)")
    p.add_argument("--n", type=int, default=30, help="first N sentences per speaker")
    p.add_argument("--steps", type=_ints, default=[2, 4, 8, 16])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2, help="scoring processes")
    p.add_argument("--threads", type=int, default=2, help="torch threads for synthesis")
    p.add_argument(
        "--precision", choices=PRECISIONS, default="auto", help="tts.models.precision (default: auto)"
    )
    p.add_argument("--out", type=Path, default=None, help="keep our wavs here (default: a temporary folder)")
    p.add_argument("--plot", type=Path, default=None, help="write a PNG here")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    args.speakers = [s.strip() for s in args.speakers.split(",") if s.strip()]
    if args.n < 1 or args.jobs < 1 or args.threads < 1 or not args.speakers:
        p.error("--n, --jobs and --threads must be >= 1 and --speakers non-empty")
    problem = check_inputs(args)
    if problem:
        print(f"quality_vs_steps.py: error: {problem}", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))  # before torch is imported
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        res = run(args)
    except (ValueError, FileNotFoundError) as e:  # CheckpointError is a ValueError
        print(f"quality_vs_steps.py: error: {e}", file=sys.stderr)
        return 2
    print("\n" + res["markdown"])
    if args.plot:
        plot(res, args.plot)
        print(f"wrote {args.plot}")
    for path, text in ((args.json, json.dumps(res, indent=2) + "\n"), (args.markdown, res["markdown"])):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
