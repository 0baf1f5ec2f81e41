"""``tts-eval`` — measure intelligibility, quality proxies, distances and speed (see docs/evaluation.md).

Judges: Whisper WER/CER (base; --asr whisper-tiny.en is faster; pocketsphinx when Whisper is missing),
DistillMOS, DNSMOS, speaker similarity to --reference recordings (SIM), MCD/F0 to the references.

tts-eval dir WAV_DIR [--metadata META] [--reference REF_DIR]    score a folder of wavs
tts-eval voice --voice DIR|default --heldout HELDOUT_DIR [--speaker S]
                                    synthesise held-out sentences, score, compare with the teacher
tts-eval copysynth SRC_DIR OUT_DIR [--vocoder griffin-lim|FILE]   mel → vocoder copies of a folder
tts-eval speed [--voice DIR|default] [--threads 2] [--stream]     RTF, time to first audio, memory
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tts.core.names import BACKENDS, PRECISIONS  # torch-free
from tts.eval.judges import ASR_CHOICES, JudgeMissing  # torch-free

SPEED_TEXTS = (
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore, and the shells she sells are surely sea shells.",
    "A journey of a thousand miles begins with a single step.",
    "It was a bright cold day in April, and the clocks were striking thirteen.",
    "Please call me back when you have a moment to talk about the plans for next week.",
)


def _positive(s: str) -> int:
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {v}")
    return v


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jobs", type=_positive, default=2, help="scoring processes (default 2)")
    p.add_argument("--threads", type=_positive, default=1, help="threads per scoring process")
    p.add_argument("--limit", type=_positive, default=None, help="only the first N utterances")
    p.add_argument(
        "--asr",
        choices=("auto", *ASR_CHOICES),
        default="auto",
        help="recogniser for WER/CER (auto: whisper-base, else pocketsphinx)",
    )
    p.add_argument("--no-asr", action="store_true", help="skip WER/CER")
    p.add_argument("--no-distillmos", action="store_true", help="skip DistillMOS")
    p.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS")
    p.add_argument("--no-sim", action="store_true", help="skip speaker similarity to the references")
    p.add_argument("--json", type=Path, default=None, help="write summary + per-utterance rows here")
    p.add_argument("--markdown", type=Path, default=None, help="write the tables here")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tts-eval", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("dir", help="score a folder of wavs against a metadata file")
    d.add_argument("wav_dir", type=Path)
    d.add_argument(
        "--metadata", type=Path, default=None, help="id|text[...] file (default WAV_DIR/metadata.csv)"
    )
    d.add_argument("--reference", type=Path, default=None, help="folder of reference wavs (same ids)")
    d.add_argument(
        "--cache", action="store_true", help="keep scores in WAV_DIR/.tts-eval-cache.json (fixed audio)"
    )
    _common(d)

    v = sub.add_parser("voice", help="synthesise held-out sentences and compare with the teacher")
    v.add_argument("--voice", default="default", help="voice folder, or 'default'")
    v.add_argument("--heldout", type=Path, required=True, help="teacher folder (metadata.csv + wavs/)")
    v.add_argument("--speaker", default=None, help="speaker name of a multi-speaker voice")
    v.add_argument(
        "--out", type=Path, default=None, help="where our wavs go (default runs/eval/VOICE-SPEAKER)"
    )
    v.add_argument("--vocoder", default=None, help="override the voice's vocoder (griffin-lim, onnx, FILE)")
    v.add_argument("--steps", type=_positive, default=None)
    v.add_argument("--temperature", type=float, default=None)
    v.add_argument("--guidance", type=float, default=None, help="classifier-free guidance (voice default)")
    v.add_argument("--length-scale", type=float, default=1.0, help="> 1 is slower speech")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--precision", choices=PRECISIONS, default="auto", help="tts.models.precision")
    v.add_argument("--synth-threads", type=_positive, default=2, help="torch threads for synthesis")
    v.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="auto (default): the ONNX runtime when the voice has an export, as tts-synth; or torch, onnx",
    )
    _common(v)

    c = sub.add_parser("copysynth", help="re-synthesise a folder from its mels with a vocoder")
    c.add_argument("src", type=Path, help="folder with metadata.csv + wavs/")
    c.add_argument("out", type=Path)
    c.add_argument("--vocoder", default="griffin-lim")
    c.add_argument("--precision", choices=PRECISIONS, default="auto", help="tts.models.precision")
    c.add_argument("--phase-iterations", type=int, default=0, help="phase refinement after an iSTFT vocoder")
    c.add_argument(
        "--vae", type=Path, default=None, help="round-trip each mel through this mel VAE before the vocoder"
    )
    c.add_argument("--score", action="store_true", help="then score the copies against the sources")
    _common(c)

    s = sub.add_parser("speed", help="RTF, time to first audio and peak memory of a voice")
    s.add_argument("--voice", default="default")
    s.add_argument("--speaker", default=None)
    s.add_argument("--texts", type=Path, default=None, help="one sentence per line (default: 5 built in)")
    s.add_argument("--threads", type=_positive, default=2)
    s.add_argument("--repeats", type=_positive, default=3)
    s.add_argument("--stream", action="store_true", help="time Synthesizer.stream (first chunk latency)")
    s.add_argument("--vocoder", default=None)
    s.add_argument("--precision", choices=PRECISIONS, default="auto", help="tts.models.precision")
    s.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="auto (default): the ONNX runtime when the voice has an export, as tts-synth; or torch, onnx",
    )
    s.add_argument("--json", type=Path, default=None)
    return p


def _options(args: argparse.Namespace, distance: bool = True):
    """Score options from the flags. A judge whose package is missing is skipped with a one-line note
    naming the package; an explicitly requested ``--asr`` that is missing is an error."""
    from tts.eval.judges import missing, pick_asr
    from tts.eval.score import ScoreOptions

    asr, note = (None, None) if args.no_asr else pick_asr(args.asr)
    notes = [note] if note else []

    def available(judge: str, wanted: bool) -> bool:
        why = missing(judge) if wanted else None
        if why:
            notes.append(f"{judge} skipped: {why}")
        return wanted and why is None

    opts = ScoreOptions(
        asr=asr,
        dnsmos=available("dnsmos", not args.no_dnsmos),
        distillmos=available("distillmos", not args.no_distillmos),
        sim=available("sim", distance and not args.no_sim),
        distance=distance,
        jobs=args.jobs,
        threads=args.threads,
    )
    for n in dict.fromkeys(notes):
        print(f"tts-eval: {n}", file=sys.stderr)
    return opts


def _write(args: argparse.Namespace, tables: str, payload: dict[str, Any], rows: list[dict]) -> None:
    from tts.eval.score import utterance_table

    print(tables)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(tables + "\n" + utterance_table(rows), encoding="utf-8")


def cmd_dir(args: argparse.Namespace) -> int:
    from tts.eval.score import (
        Utterance,
        find_wav,
        markdown_table,
        read_metadata,
        score_utterances,
        summarize,
    )

    meta = args.metadata or args.wav_dir / "metadata.csv"
    rows_meta = read_metadata(meta)[: args.limit]
    utts = [
        Utterance(
            uid,
            find_wav(args.wav_dir, uid),
            text,
            find_wav(args.reference, uid) if args.reference else None,
        )
        for uid, text in rows_meta
    ]
    opts = _options(args, distance=args.reference is not None)
    if args.cache:
        from tts.eval.voice import score_with_cache

        rows = score_with_cache(utts, opts, args.wav_dir)
    else:
        rows = score_utterances(utts, opts)
    summary = summarize(rows)
    _write(args, markdown_table({str(args.wav_dir): summary}), {"summary": summary, "rows": rows}, rows)
    return 0


def _load_synth(
    voice: str, vocoder: str | None, threads: int, precision: str = "auto", backend: str = "auto"
):
    """The voice's synthesizer on ``backend`` (:func:`tts.runtime.load.load`, as ``tts-synth`` picks it)."""
    from tts.runtime.load import load

    return load(
        None if voice == "default" else voice, backend, threads=threads, vocoder=vocoder, precision=precision
    )


def cmd_voice(args: argparse.Namespace) -> int:
    from tts.eval.score import markdown_table, score_utterances, summarize
    from tts.eval.voice import compare, heldout_utterances, score_with_cache, synthesize_to

    teacher_utts = heldout_utterances(args.heldout, args.limit)
    synth = _load_synth(args.voice, args.vocoder, args.synth_threads, args.precision, args.backend)
    name = "default" if args.voice == "default" else Path(args.voice).name
    out = args.out or Path("runs/eval") / f"{name}-{args.speaker or 'voice'}"

    def speak(text: str):
        return synth.synthesize(
            text,
            speaker=args.speaker,
            steps=args.steps,
            temperature=args.temperature,
            guidance=args.guidance,
            length_scale=args.length_scale,
            seed=args.seed,
        )

    ours_utts = synthesize_to(speak, teacher_utts, out)
    ours_rows = score_utterances(ours_utts, _options(args))
    teacher_rows = score_with_cache(teacher_utts, _options(args, distance=False), args.heldout)
    ours, teacher = summarize(ours_rows), summarize(teacher_rows)
    tables = markdown_table({"ours": ours, "teacher": teacher})
    payload = {
        "voice": args.voice,
        "speaker": args.speaker,
        "heldout": str(args.heldout),
        "ours": ours,
        "teacher": teacher,
        "ours_minus_teacher": compare(ours, teacher),
        "rows": ours_rows,
        "teacher_rows": teacher_rows,
    }
    _write(args, tables, payload, ours_rows)
    return 0


def cmd_copysynth(args: argparse.Namespace) -> int:
    from tts.eval.score import markdown_table, score_utterances, summarize
    from tts.eval.voice import copy_synthesis

    utts = copy_synthesis(
        args.src,
        args.out,
        args.vocoder,
        args.limit,
        args.threads,
        args.precision,
        args.phase_iterations,
        vae=args.vae,
    )
    print(f"wrote {len(utts)} files to {args.out / 'wavs'}")
    if args.score:
        rows = score_utterances(utts, _options(args))
        summary = summarize(rows)
        _write(
            args,
            markdown_table({f"{args.vocoder} copy" + (" via VAE" if args.vae else ""): summary}),
            {"summary": summary, "rows": rows},
            rows,
        )
    return 0


def cmd_speed(args: argparse.Namespace) -> int:
    from tts.eval.speed import measure_speed

    texts = list(SPEED_TEXTS)
    if args.texts:
        texts = [ln.strip() for ln in args.texts.read_text(encoding="utf-8").splitlines() if ln.strip()]
    synth = _load_synth(args.voice, args.vocoder, args.threads, args.precision, args.backend)
    fn = synth.stream if args.stream else synth.synthesize
    res = measure_speed(lambda t: fn(t, speaker=args.speaker, seed=0), texts, args.threads, args.repeats)
    res.update(voice=args.voice, stream=args.stream)
    print(
        f"RTF {res['rtf']:.4f} | time to first audio {res['ttfa_ms']:.0f} ms (median), "
        f"{res['ttfa_first_text_ms']:.0f} ms (1st text) | peak RSS {res['peak_rss_mb']:.0f} MB "
        f"| {args.threads} threads, {res['n_texts']} texts × {args.repeats}"
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


COMMANDS = {"dir": cmd_dir, "voice": cmd_voice, "copysynth": cmd_copysynth, "speed": cmd_speed}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError, JudgeMissing) as e:
        print(f"tts-eval: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
