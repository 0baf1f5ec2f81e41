"""Our voice beside its peers, on the same held-out sentences, the same thread count, one run:
speed (RTF, time to first audio), size (parameters) and the judges of ``tts-eval`` (Whisper-base WER,
DistillMOS, DNSMOS OVRL, speaker similarity to the teacher's recordings).

    nice -n 10 python benchmarks/peers.py --limit 60 --threads 2 --out runs/peers \
        --reference data/synthetic-heldout/slt --json runs/peers/peers.json --markdown runs/peers/peers.md

Systems (a missing one is skipped with the reason):

- ``ours-onnx``: the shipped voice through the torch-free ONNX runtime (``tts.OnnxSynthesizer``, what
  ``tts-synth`` runs), its default speaker;
- ``ours-torch``: the same voice through PyTorch (``tts.Synthesizer``);
- ``kokoro-af_heart``, ``kokoro-am_michael``: Kokoro-82M v1.0 int8 ONNX, its best American voices,
  reading our frontend's phonemes (``tts.eval.peers.KokoroPeer``; assets: ``scripts/setup_peers.sh``);
- ``piper-joe``: Piper en_US-joe-medium (VITS) through ``piper-tts`` (``tts.eval.peers.PiperPeer``);
- ``teacher`` (with ``--reference``): the teacher's recordings of the same sentences, scored only.

Timing: one warm-up sentence per system and path (excluded), then every sentence once, one after the other, on
``--threads`` threads. RTF = total synthesis seconds / total audio seconds. Time to first audio = median
over the first ``--ttfa-sentences`` sentences of the time until the first chunk: our voices stream
(``stream``); Kokoro and Piper give a held-out sentence (one sentence each) in one piece, so theirs is the
whole sentence's synthesis. Every system writes ``OUT/SYSTEM/wavs/ID.wav`` + ``metadata.csv``, so
``tts-eval dir OUT/SYSTEM`` re-scores any of them independently. SIM compares each utterance with the
speaker embedding of the ``--reference`` recordings, so it is reported for our voice (whose teacher they
are) and the teacher itself; a peer is another speaker and gets none.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tts.eval.speed import describe_machine, machine_facts

HELDOUT = Path("recipes/synthetic/sentences/heldout.txt")
SYSTEMS = ("ours-onnx", "ours-torch", "kokoro-af_heart", "kokoro-am_michael", "piper-joe")


# ------------------------------------------------------------------------------------------------
# systems: name -> (synthesize(text) -> (samples, sr), first_chunk(text) -> iterator, parameters)
# ------------------------------------------------------------------------------------------------


def _ours(backend: str, threads: int) -> tuple[Callable, Callable, int]:
    if backend == "onnx":
        from tts import OnnxSynthesizer

        synth: Any = OnnxSynthesizer.from_pretrained(None, threads=threads)
    else:
        from tts import Synthesizer

        synth = Synthesizer.from_pretrained(None, threads=threads)
    params = _our_parameters()

    def speak(text: str) -> tuple[Any, int]:
        a = synth.synthesize(text, seed=0)
        return a.samples, a.sample_rate

    def stream(text: str) -> Iterator[Any]:
        return synth.stream(text, seed=0)

    return speak, stream, params


def _our_parameters() -> int:
    """Parameters the shipped voice runs at inference: acoustic model + VAE decoder + vocoder (the
    VAE's encoder, 0.8 M, is stored but only used in training)."""
    import math

    from safetensors import safe_open

    from tts.core.voice import ACOUSTIC_FILE, VAE_FILE, VOCODER_FILE, default_voice_dir

    total = 0
    for name in (ACOUSTIC_FILE, VAE_FILE, VOCODER_FILE):
        with safe_open(str(default_voice_dir() / name), "np") as f:
            for k in f.keys():  # noqa: SIM118 (safe_open is not iterable)
                if not (name == VAE_FILE and k.startswith("encoder.")):
                    total += math.prod(f.get_slice(k).get_shape())
    return total


def _peer(name: str, threads: int) -> tuple[Callable, Callable, int]:
    from tts.eval.peers import KokoroPeer, PiperPeer

    p: Any = PiperPeer(threads=threads) if name == "piper-joe" else KokoroPeer(name.split("-", 1)[1], threads)
    return p.synthesize, lambda text: iter([p.synthesize(text)]), int(p.parameters)


def load_system(name: str, threads: int) -> tuple[Callable, Callable, int]:
    if name.startswith("ours-"):
        return _ours(name.removeprefix("ours-"), threads)
    return _peer(name, threads)


# ------------------------------------------------------------------------------------------------
# one system: synthesise every sentence once, timed
# ------------------------------------------------------------------------------------------------


def run_system(
    name: str, rows: list[tuple[str, str]], out: Path, threads: int, ttfa_sentences: int
) -> dict[str, Any]:
    """Synthesise ``rows`` (id, text) with system ``name`` into ``out/wavs``; speed figures."""
    import numpy as np

    from tts.audio import save_audio
    from tts.eval.speed import time_one

    t0 = time.perf_counter()
    speak, stream, params = load_system(name, threads)
    load_s = time.perf_counter() - t0
    speak(rows[0][1])  # warm-up, both paths
    for _ in stream(rows[0][1]):
        pass
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    synth_s = audio_s = 0.0
    for uid, text in rows:
        t = time.perf_counter()
        wav, sr = speak(text)
        synth_s += time.perf_counter() - t
        wav = np.asarray(wav, dtype=np.float32).reshape(-1)
        audio_s += wav.size / sr
        save_audio(out / "wavs" / f"{uid}.wav", wav, sr)
    (out / "metadata.csv").write_text("".join(f"{u}|{t}\n" for u, t in rows), encoding="utf-8")
    ttfa = [time_one(stream, text)[0] for _, text in rows[:ttfa_sentences]]
    return {
        "parameters": params,
        "load_s": load_s,
        "synth_s": synth_s,
        "audio_s": audio_s,
        "rtf": synth_s / audio_s,
        "ttfa_ms": 1000 * statistics.median(ttfa),
        "streams": name.startswith("ours-"),
    }


def score_system(folder: Path, jobs: int, references: dict[str, Path] | None = None) -> dict[str, Any]:
    """``tts-eval dir`` judges on ``folder``: summary + rows; SIM when ``references`` (text → the
    teacher's recording of it) is given."""
    from tts.eval.score import ScoreOptions, Utterance, find_wav, read_metadata, score_utterances, summarize

    refs = references or {}
    utts = [
        Utterance(u, find_wav(folder, u), t, refs.get(t)) for u, t in read_metadata(folder / "metadata.csv")
    ]
    rows = score_utterances(utts, ScoreOptions(asr="whisper-base", distance=False, jobs=jobs, threads=1))
    return {"summary": summarize(rows), "rows": rows}


def teacher_recordings(folder: Path) -> dict[str, Path]:
    """text → wav of a held-out teacher folder (``metadata.csv`` + ``wavs/``)."""
    from tts.eval.score import find_wav, read_metadata

    return {t: find_wav(folder, u) for u, t in read_metadata(folder / "metadata.csv")}


# ------------------------------------------------------------------------------------------------


def table(results: dict[str, dict[str, Any]]) -> str:
    """The markdown table of docs/benchmarks.md."""

    def f(v: Any, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    lines = [
        "| system | parameters | RTF | first audio (ms) | Whisper-base WER % | CER % | DistillMOS "
        "| DNSMOS OVRL | SIM to teacher |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        s, sp = r["scores"]["summary"], r.get("speed") or {}
        params = f"{sp['parameters'] / 1e6:.1f} M" if sp.get("parameters") else "–"
        lines.append(
            f"| {name} | {params} | {f(sp.get('rtf'), '.3f')} | {f(sp.get('ttfa_ms'), '.0f')} "
            f"| {100 * s['wer']:.1f} | {100 * s['cer']:.1f} | {s['distillmos']:.2f} | {s['dnsmos_ovrl']:.2f} "
            f"| {f(s.get('sim'), '.3f')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sentences", type=Path, default=HELDOUT, help="one sentence per line")
    p.add_argument("--limit", type=int, default=60, help="the first N sentences")
    p.add_argument("--threads", type=int, default=2, help="synthesis threads, every system")
    p.add_argument("--jobs", type=int, default=2, help="scoring processes")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated, from " + ", ".join(SYSTEMS))
    p.add_argument("--reference", type=Path, default=None, help="the teacher's held-out folder (SIM)")
    p.add_argument("--ttfa-sentences", type=int, default=10, help="sentences timed for first audio")
    p.add_argument("--out", type=Path, default=Path("runs/peers"))
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--markdown", type=Path, default=None)
    p.add_argument(
        "--score-only",
        action="store_true",
        help="re-score the folders of an earlier run; speed figures are read from its --json",
    )
    args = p.parse_args(argv)

    lines = [ln.strip() for ln in args.sentences.read_text(encoding="utf-8").splitlines() if ln.strip()]
    rows = [(f"heldout_{i:05d}", t) for i, t in enumerate(lines[: args.limit], 1)]
    facts = machine_facts()
    print(f"{describe_machine(facts)} | {len(rows)} sentences", flush=True)
    results: dict[str, dict[str, Any]] = {}
    if args.score_only:
        if args.json is None or not args.json.is_file():
            raise SystemExit("--score-only needs the --json file of the run that synthesised the folders")
        earlier = json.loads(args.json.read_text(encoding="utf-8"))
        facts = {**earlier["machine"], "rescored": facts["date"]}
        results = {n: {"speed": r["speed"]} for n, r in earlier["results"].items() if r.get("speed")}
    for name in [] if args.score_only else args.systems.split(","):
        try:
            speed = run_system(name, rows, args.out / name, args.threads, args.ttfa_sentences)
        except (ImportError, FileNotFoundError, ValueError) as e:
            print(f"{name}: skipped ({e})", file=sys.stderr, flush=True)
            continue
        print(f"{name}: RTF {speed['rtf']:.3f}, first audio {speed['ttfa_ms']:.0f} ms", flush=True)
        results[name] = {"speed": speed}
    refs = teacher_recordings(args.reference) if args.reference else None
    if refs is not None:
        missing = [t for _, t in rows if t not in refs]
        if missing:
            raise SystemExit(f"{args.reference} has no recording of {missing[0][:60]!r}")
        teacher = args.out / "teacher"
        (teacher / "wavs").mkdir(parents=True, exist_ok=True)
        for uid, text in rows:  # the teacher's files under our ids, so every folder scores alike
            link = teacher / "wavs" / f"{uid}.wav"
            link.unlink(missing_ok=True)
            link.symlink_to(refs[text].resolve())
        (teacher / "metadata.csv").write_text("".join(f"{u}|{t}\n" for u, t in rows), encoding="utf-8")
        results["teacher"] = {}
    for name in results:
        with_sim = refs is not None and (name.startswith("ours-") or name == "teacher")
        results[name]["scores"] = score_system(args.out / name, args.jobs, refs if with_sim else None)
    facts["load_avg_end"] = os.getloadavg()
    md = table(results)
    print(md)
    command = " ".join(sys.argv) if not args.score_only else earlier["command"]
    payload = {"machine": facts, "command": command, "sentences": len(rows), "results": results}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=float) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(md, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
