"""Where does a voice lose quality? The same held-out recordings through each stage of the pipeline.

For the first N utterances of a held-out folder of teacher recordings (LJSpeech layout) this scores,
with the judges of ``tts-eval`` (Whisper WER/CER, DistillMOS, speaker similarity to the recordings,
MCD / log-F0 / voicing against them):

    recordings      the teacher's audio itself (the ceiling)
    vocoder         its log-mel vocoded                              (what the vocoder loses)
    vae+vocoder     its log-mel through the VAE round trip, vocoded  (+ what the VAE loses)
    voice           the voice speaking the sentence from text        (+ what the acoustic model loses)

Each stage's DistillMOS is also given as a fraction of the recordings'. A stage is skipped when its
file is not given (``--vae``, ``--voice``). The losses chain: the VAE row includes the vocoder's loss
and the voice row both, so the gap between consecutive rows is what one stage costs.

    python benchmarks/stage_losses.py --heldout data/kokoro-voice-selection/audio/af_heart \\
        --vocoder runs/kokoro/vocoder/export.safetensors --vae runs/kokoro/vae/export.safetensors \\
        --voice runs/kokoro/voice --speaker af_heart --out runs/eval/stages-af_heart \\
        --json runs/eval/stages-af_heart.json --markdown runs/eval/stages-af_heart.md

Every stage writes ``OUT/STAGE/wavs/ID.wav`` + ``metadata.csv`` (re-score one with ``tts-eval dir``).
The recordings' scores are cached beside them, as ``tts-eval voice`` does.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from tts.eval.score import ScoreOptions, markdown_table, score_utterances, summarize
from tts.eval.voice import copy_synthesis, heldout_utterances, score_with_cache, synthesize_to

STAGES = ("recordings", "vocoder", "vae+vocoder", "voice")


def stage_losses(args: argparse.Namespace) -> dict[str, Any]:
    opts = ScoreOptions(
        asr=None if args.no_asr else args.asr,
        dnsmos=False,
        distillmos=True,
        sim=not args.no_sim,
        distance=True,
        jobs=args.jobs,
        threads=args.threads,
    )
    teacher = heldout_utterances(args.heldout, args.limit)
    summaries: dict[str, dict[str, Any]] = {}
    rows: dict[str, list[dict[str, Any]]] = {}
    rows["recordings"] = score_with_cache(teacher, replace(opts, distance=False), args.heldout)
    copies = {"vocoder": None, "vae+vocoder": args.vae} if args.vocoder else {}
    for stage, vae in copies.items():
        if stage == "vae+vocoder" and vae is None:
            continue
        utts = copy_synthesis(
            args.heldout,
            args.out / stage,
            str(args.vocoder),
            args.limit,
            args.threads,
            "fp32",
            args.phase_iterations,
            vae=vae,
        )
        rows[stage] = score_utterances(utts, opts)
    if args.voice is not None:
        from tts.runtime.load import load

        synth = load(str(args.voice), args.backend, threads=args.threads)
        utts = synthesize_to(
            lambda text: synth.synthesize(text, speaker=args.speaker, seed=args.seed),
            teacher,
            args.out / "voice",
        )
        rows["voice"] = score_utterances(utts, opts)
    for stage in STAGES:
        if stage in rows:
            summaries[stage] = summarize(rows[stage])
    ceiling = summaries["recordings"].get("distillmos")
    for s in summaries.values():
        if ceiling and s.get("distillmos") is not None:
            s["distillmos_ratio"] = s["distillmos"] / ceiling
    return {"heldout": str(args.heldout), "speaker": args.speaker, "summary": summaries, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--heldout", type=Path, required=True, help="teacher recordings: metadata.csv + wavs/")
    p.add_argument("--vocoder", type=Path, default=None, help="vocoder weights for the copy-synthesis stages")
    p.add_argument("--phase-iterations", type=int, default=6, help="as the voice's voice.json (shipped: 6)")
    p.add_argument("--vae", type=Path, default=None, help="mel-VAE weights for the round-trip stage")
    p.add_argument("--voice", type=Path, default=None, help="voice folder for the text-to-speech stage")
    p.add_argument("--speaker", default=None, help="the voice's speaker that the recordings' teacher is")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None, help="only the first N utterances")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--asr", default="whisper-base")
    p.add_argument("--no-asr", action="store_true")
    p.add_argument("--no-sim", action="store_true")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    if not (args.heldout / "metadata.csv").is_file():
        print(f"stage_losses: no metadata.csv in {args.heldout}", file=sys.stderr)
        return 2
    res = stage_losses(args)
    table = markdown_table(res["summary"])
    ratios = " | ".join(
        f"{k} {v['distillmos_ratio']:.2f}x" for k, v in res["summary"].items() if "distillmos_ratio" in v
    )
    print(table + f"\nDistillMOS / recordings: {ratios}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(table + f"\nDistillMOS / recordings: {ratios}\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
