"""Vocoder quality by copy-synthesis: held-out teacher recordings → log-mel → each vocoder → scores,
next to the recordings' own scores.

    nice -n 5 python benchmarks/vocoder_quality.py --heldout data/synthetic-heldout \\
        --speakers bdl,slt,clb,alan --n 15 --jobs 2 \\
        --vocoder griffin-lim --vocoder pretrained/vocoder.safetensors \\
        --json vq.json --markdown vq.md

For every speaker the first ``--n`` sentences of ``HELDOUT/SPEAKER/metadata.csv`` (never used in
training) are turned into THE log-mel (:class:`tts.audio.MelSpectrogram`) and vocoded by every
``--vocoder`` (``griffin-lim`` or an exported vocoder file) with :func:`tts.eval.voice.copy_synthesis`.
The copies are scored by the ``tts.eval`` judges: pocketsphinx WER/CER against the text, DNSMOS
P.835, and against the sample-aligned original PESQ (wide-band), STOI, DTW mel-cepstral distortion,
log-F0 RMSE and voicing error. The originals get the same ASR and DNSMOS judges (cached in
``HELDOUT/SPEAKER/.tts-eval-cache.json``). WER/CER are corpus-level, pooled over speakers; the other
metrics are means over utterances. The ``OVRL ratio`` row is the copy's DNSMOS OVRL over the
original's (the vocoder target is ≥ 0.95).
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tts.eval.score import ScoreOptions, markdown_table, score_utterances, summarize
    from tts.eval.voice import copy_synthesis, heldout_utterances, score_with_cache

    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{date} | load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    t0 = time.perf_counter()
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with tempfile.TemporaryDirectory(prefix="vocoder-quality.") as tmp:
        work = args.out or Path(tmp)
        for i, voc in enumerate(args.vocoder):
            utts = []
            for spk in args.speakers:
                out = work / f"vocoder{i}" / spk
                utts.append(
                    copy_synthesis(
                        args.heldout / spk,
                        out,
                        voc,
                        args.n,
                        args.threads,
                        args.precision,
                        args.phase_iterations,
                    )
                )
            opts = ScoreOptions(asr=True, dnsmos=True, distance=True, jobs=args.jobs, threads=1)
            flat = score_utterances([u for group in utts for u in group], opts)
            rows[voc], k = {}, 0
            for spk, group in zip(args.speakers, utts):
                rows[voc][spk] = flat[k : k + len(group)]
                k += len(group)
    teacher_opts = ScoreOptions(asr=True, dnsmos=True, distance=False, jobs=args.jobs, threads=1)
    teacher = {
        s: score_with_cache(heldout_utterances(args.heldout / s, args.n), teacher_opts, args.heldout / s)
        for s in args.speakers
    }
    pooled_teacher = summarize([r for s in args.speakers for r in teacher[s]])
    columns = {"original": pooled_teacher}
    for voc in args.vocoder:
        columns[_label(voc)] = summarize([r for s in args.speakers for r in rows[voc][s]])
    table = markdown_table(columns)
    ovrl = pooled_teacher["dnsmos_ovrl"]
    table += (
        "| OVRL ratio to the original | 1.00 | "
        + " | ".join(f"{columns[_label(v)]['dnsmos_ovrl'] / ovrl:.2f}" for v in args.vocoder)
        + " |\n"
    )
    lines = ["| speaker | original WER % / OVRL | " + " | ".join(_label(v) for v in args.vocoder) + " |"]
    lines.append("|---|---|" + "---|" * len(args.vocoder))
    per_speaker: dict[str, dict[str, Any]] = {}
    for s in args.speakers:
        t = summarize(teacher[s])
        per_speaker[s] = {"original": t} | {_label(v): summarize(rows[v][s]) for v in args.vocoder}
        cells = [
            "{:.1f} / {:.2f} / PESQ {:.2f} / F0 {:.0f}".format(
                100 * d["wer"], d["dnsmos_ovrl"], d.get("pesq_wb", float("nan")), d["f0_rmse_cents"]
            )
            for d in (per_speaker[s][_label(v)] for v in args.vocoder)
        ]
        lines.append(f"| {s} | {100 * t['wer']:.1f} / {t['dnsmos_ovrl']:.2f} | " + " | ".join(cells) + " |")
    seconds = time.perf_counter() - t0
    header = (
        f"Copy-synthesis of {args.n} held-out sentences × {len(args.speakers)} speaker(s) "
        f"({', '.join(args.speakers)}), measured {date}, {seconds:.0f} s.\n\n"
    )
    markdown = header + table + "\nPer speaker (WER % / DNSMOS OVRL / PESQ / log-F0 RMSE cents):\n\n"
    markdown += "\n".join(lines) + "\n"
    return {
        "date": date,
        "speakers": args.speakers,
        "n": args.n,
        "vocoders": args.vocoder,
        "pooled": columns,
        "per_speaker": per_speaker,
        "rows": {v: rows[v] for v in args.vocoder},
        "seconds": seconds,
        "markdown": markdown,
    }


def _label(vocoder: str) -> str:
    return vocoder if vocoder == "griffin-lim" else Path(vocoder).parent.name + "/" + Path(vocoder).name


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--heldout", type=Path, required=True, help="folder of SPEAKER/ held-out teacher sets")
    p.add_argument("--speakers", default="bdl,slt,clb,alan", help="comma-separated (default: %(default)s)")
    p.add_argument("--n", type=int, default=15, help="sentences per speaker (default: %(default)s)")
    p.add_argument(
        "--vocoder", action="append", required=True, help="griffin-lim or a vocoder file; repeat to compare"
    )
    p.add_argument(
        "--precision", choices=PRECISIONS, default="fp32", help="tts.models.precision (default: fp32)"
    )
    p.add_argument(
        "--phase-iterations", type=int, default=0, help="phase refinement after iSTFT vocoders (default 0)"
    )
    p.add_argument("--jobs", type=int, default=2, help="scoring processes (default: %(default)s)")
    p.add_argument("--threads", type=int, default=1, help="torch threads while vocoding (default: 1)")
    p.add_argument("--out", type=Path, help="keep the copies here (default: a temporary folder)")
    p.add_argument("--json", type=Path)
    p.add_argument("--markdown", type=Path)
    args = p.parse_args(argv)
    args.speakers = [s for s in args.speakers.split(",") if s]
    for s in args.speakers:
        if not (args.heldout / s / "metadata.csv").is_file():
            print(f"error: {args.heldout / s / 'metadata.csv'} not found", file=sys.stderr)
            return 2
    result = run(args)
    print(result["markdown"])
    if args.json:
        payload = {k: v for k, v in result.items() if k != "markdown"}
        args.json.write_text(json.dumps(payload, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(result["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
