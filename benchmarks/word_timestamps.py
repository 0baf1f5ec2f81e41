"""Accuracy of ``Audio.words``: word boundaries against Whisper-base word timestamps (faster-whisper).

    python benchmarks/word_timestamps.py [--voice pretrained] [--limit 30] [--speaker NAME]
        [--sentences HELDOUT/metadata.csv]

Speaks held-out sentences (``--sentences``: an LJSpeech-layout ``metadata.csv``, else a built-in list)
with
the ONNX runtime, transcribes the audio with Whisper base (``word_timestamps=True``), pairs our words
with Whisper's by a longest-common-subsequence match on their letters (only words both agree on
count) and reports the mean and median absolute start and end differences in milliseconds.
Whisper's own word timestamps (cross-attention + DTW) are themselves off by tens of milliseconds,
so this bounds our error from above rather than measuring it exactly.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

import numpy as np

FALLBACK = [
    "The quick brown fox jumps over the lazy dog.",
    "Dr. Smith paid $42.50 at 3:30 pm on Friday.",
    "She sells sea shells by the sea shore.",
]


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--voice", default=None)
    ap.add_argument("--speaker", default=None, help="default: the voice's own")
    ap.add_argument("--sentences", type=Path, default=None, help="a held-out metadata.csv (id|text|…)")
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from faster_whisper import WhisperModel

    from tts.eval.whisper import whisper_model_dir
    from tts.runtime.onnx import OnnxSynthesizer

    meta = args.sentences
    if meta is not None:
        texts = [ln.split("|")[1] for ln in meta.read_text(encoding="utf-8").splitlines() if "|" in ln]
    else:
        texts = FALLBACK
    texts = texts[: args.limit]
    synth = OnnxSynthesizer.from_pretrained(args.voice, threads=args.threads)
    asr = WhisperModel(
        str(whisper_model_dir("base")), device="cpu", compute_type="int8", cpu_threads=args.threads
    )
    d_start, d_end, matched, total = [], [], 0, 0
    for text in texts:
        audio = synth.synthesize(text, speaker=args.speaker, seed=0)
        wav = audio.samples
        import librosa

        wav16 = librosa.resample(wav, orig_sr=audio.sample_rate, target_sr=16000)
        segments, _ = asr.transcribe(wav16, language="en", word_timestamps=True, beam_size=5)
        theirs = [w for s in segments for w in s.words]
        ours = audio.words
        total += len(ours)
        a = [_key(w.text) for w in ours]
        b = [_key(w.word) for w in theirs]
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag != "equal":
                continue
            for i, j in zip(range(i1, i2), range(j1, j2)):
                d_start.append(abs(ours[i].start - theirs[j].start))
                d_end.append(abs(ours[i].end - theirs[j].end))
                matched += 1
    ds, de = np.array(d_start) * 1000, np.array(d_end) * 1000
    print(f"{len(texts)} sentences, {total} words, {matched} matched with Whisper base")
    print(
        f"start: mean {ds.mean():.0f} ms, median {np.median(ds):.0f} ms, p90 {np.percentile(ds, 90):.0f} ms"
    )
    print(
        f"end:   mean {de.mean():.0f} ms, median {np.median(de):.0f} ms, p90 {np.percentile(de, 90):.0f} ms"
    )
    print(f"boundaries (start and end): mean {np.concatenate([ds, de]).mean():.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
