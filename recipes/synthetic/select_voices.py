#!/usr/bin/env python3
"""Pick Kokoro teacher voices by measurement: Whisper-base WER and DistillMOS on held-out sentences.

    python recipes/synthetic/select_voices.py --voices af_heart,am_michael,bf_emma,bm_george

Renders ``--n`` sentences of ``sentences/mix-heldout.txt`` (a fixed spread over its categories: base
held-out prose, numbers, long sentences, short questions/exclamations) with every voice through the
corpus builder, i.e. exactly as a training corpus is made (our frontend's phonemes, 22 050 Hz), into
``OUT/VOICE/`` (resumable), then scores each voice: corpus WER with Whisper base and Whisper's
normaliser (``tts.eval.asr``), mean DistillMOS (``tts.eval.distillmos``). Prints a Markdown table
and writes ``OUT/scores.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import build_corpus

HERE = Path(__file__).resolve().parent
CANDIDATES = "af_heart,af_bella,am_michael,am_fenrir,bf_emma,bm_george"


def pick_sentences(heldout: list[str], n: int) -> list[str]:
    """``n`` held-out sentences: 60 % from the base list (its first 200 lines), the rest spread evenly
    over the mix's added categories (20 lines each, in file order)."""
    base, added = heldout[:200], heldout[200:]
    n_base = round(n * 0.6)
    groups = [added[i : i + 20] for i in range(0, len(added), 20)]
    per_group = (n - n_base) // max(len(groups), 1)
    picked = base[:n_base] + [s for g in groups for s in g[:per_group]]
    return picked + base[n_base : n_base + n - len(picked)]


def score_voice(folder: Path, asr, mos) -> dict[str, float]:
    """Corpus WER/CER and mean DistillMOS of one rendered voice folder (``metadata.csv`` + ``wavs/``)."""
    from tts.audio import load_audio
    from tts.eval.asr import corpus_error_rates

    refs, hyps, scores, seconds = [], [], [], 0.0
    for line in (folder / "metadata.csv").read_text(encoding="utf-8").splitlines():
        uid, raw = line.split("|")[:2]
        wav, sr = load_audio(folder / "wavs" / f"{uid}.wav")
        refs.append(raw)
        hyps.append(asr.transcribe(wav, sr))
        scores.append(mos(wav, sr))
        seconds += wav.size / sr
    rates = corpus_error_rates(refs, hyps, normalizer="whisper")
    return {
        "wer": rates["wer"],
        "cer": rates["cer"],
        "distillmos": sum(scores) / len(scores),
        "seconds": seconds,
        "utterances": len(refs),
        "transcripts": [{"ref": r, "hyp": h} for r, h in zip(refs, hyps)],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--voices", default=CANDIDATES)
    p.add_argument("--n", type=int, default=20, help="held-out sentences per voice")
    p.add_argument("--out", type=Path, default=Path("data/kokoro-voice-selection"))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    heldout = build_corpus.read_sentences(HERE / "sentences" / "mix-heldout.txt")
    args.out.mkdir(parents=True, exist_ok=True)
    sentences = args.out / "sentences.txt"
    sentences.write_text("\n".join(pick_sentences(heldout, args.n)) + "\n", encoding="utf-8")
    render = ["--engine", "kokoro", "--voices", args.voices, "--heldout", "--sentences", str(sentences)]
    render += ["--out", str(args.out / "audio"), "--jobs", "1", "--threads", str(args.threads)]
    if build_corpus.main(render) != 0:
        return 1

    from tts.eval.asr import make_asr
    from tts.eval.distillmos import DistillMOSScorer

    asr, mos = make_asr("whisper-base", threads=args.threads), DistillMOSScorer()
    results = {v: score_voice(args.out / "audio" / v, asr, mos) for v in args.voices.split(",")}
    (args.out / "scores.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print("| voice | accent | Whisper-base WER | CER | DistillMOS | audio (s) |")
    print("|---|---|---|---|---|---|")
    for v, r in results.items():
        accent = "American" if v.startswith("a") else "British"
        print(
            f"| {v} | {accent} | {100 * r['wer']:.1f} % | {100 * r['cer']:.1f} % | {r['distillmos']:.2f} "
            f"| {r['seconds']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
