"""Which of two or more voice folders synthesises faster, on a machine whose speed drifts.

The 2-core benchmark VMs change speed by up to 2x within an hour (the host's other tenants: the
hypervisor's *steal* time, ``st`` in ``vmstat``), so two runs one after the other can differ more
than the change being measured. This script loads every voice (``OnnxSynthesizer``, the runtime of
``tts-synth``) in one process and synthesises each held-out sentence with each of them in turn, the
order rotating from sentence to sentence, so that a slow minute costs every voice alike. It prints
each voice's RTF (total synthesis seconds / total audio seconds), its ratio to the first voice's,
and the CPU time the hypervisor stole meanwhile (from ``/proc/stat``; above a few per cent our
fine-grained threads wait on each other and every RTF rises).

    python benchmarks/ab_speed.py pretrained runs/voice-other --repeats 2 --threads 2

The voices should speak the same audio length (same acoustic model) for the ratio to be a speed ratio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HELDOUT = Path(__file__).resolve().parents[1] / "recipes" / "synthetic" / "sentences" / "mix-heldout-100.txt"


def steal_ticks() -> tuple[int, int] | None:
    """(steal, total) CPU ticks so far, from the first line of ``/proc/stat``; None off Linux."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("voices", nargs="+", help="voice folders with an ONNX export (the first is the reference)")
    p.add_argument("--sentences", type=Path, default=HELDOUT, help="one sentence per line")
    p.add_argument("--limit", type=int, default=100, help="the first N sentences")
    p.add_argument("--repeats", type=int, default=1, help="passes over the sentences")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.repeats < 1 or args.limit < 1 or args.threads < 1:
        p.error("--repeats, --limit and --threads must be >= 1")

    from tts.runtime.onnx import OnnxSynthesizer

    try:
        sents = [s.strip() for s in args.sentences.read_text(encoding="utf-8").splitlines() if s.strip()]
    except OSError as e:
        p.error(f"cannot read {args.sentences}: {e}")
    sents = sents[: args.limit]
    if not sents:
        p.error(f"{args.sentences} has no sentences")
    labels = [
        v if args.voices.count(v) == 1 else f"{v} #{args.voices[: i + 1].count(v)}"
        for i, v in enumerate(args.voices)
    ]
    try:
        synths = {
            k: OnnxSynthesizer.from_pretrained(v, threads=args.threads) for k, v in zip(labels, args.voices)
        }
    except (FileNotFoundError, ValueError) as e:  # CheckpointError is a ValueError
        print(f"ab_speed: {e}")
        return 2
    for s in synths.values():  # warm-up: sessions, arenas, the FFT import
        s.synthesize(sents[0], seed=args.seed)
    names = list(synths)
    spent = dict.fromkeys(names, 0.0)
    audio = dict.fromkeys(names, 0.0)
    st0 = steal_ticks()
    for r in range(args.repeats):
        for i, text in enumerate(sents):
            k = (i + r) % len(names)
            for name in names[k:] + names[:k]:
                t = time.perf_counter()
                a = synths[name].synthesize(text, seed=args.seed)
                spent[name] += time.perf_counter() - t
                audio[name] += a.duration
    st1 = steal_ticks()
    print(f"{len(sents)} sentences x {args.repeats}, {args.threads} threads, order rotating per sentence")
    ref = spent[names[0]] / audio[names[0]]
    for name in names:
        rtf = spent[name] / audio[name]
        print(
            f"  {name}: RTF {rtf:.4f} ({rtf / ref:.3f}x the first), "
            f"{audio[name] / args.repeats:.1f} s of audio"
        )
    if st0 and st1 and st1[1] > st0[1]:
        print(
            "  CPU time stolen by the hypervisor meanwhile: "
            f"{100 * (st1[0] - st0[0]) / (st1[1] - st0[1]):.1f} %"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
