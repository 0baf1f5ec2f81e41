#!/usr/bin/env python3
"""Render an LJSpeech-layout corpus with a teacher engine (see README.md in this folder).

    python recipes/synthetic/build_corpus.py --engine rhvoice --voices bdl,slt,clb,alan \\
        --per-voice 1500 --out data/synthetic --jobs 2
    python recipes/synthetic/build_corpus.py --engine rhvoice --voices bdl,slt,clb,alan \\
        --heldout --out data/synthetic-heldout
    python recipes/synthetic/build_corpus.py --list-voices

Training mode writes ``OUT/wavs/VOICE_NNNNN.wav`` (22 050 Hz mono 16-bit) and ``OUT/metadata.csv`` with
rows ``id|raw|normalized|speaker``, and for a teacher that reads our frontend's phonemes (Kokoro)
``OUT/phonemes.tsv``: the phonemes each clip is rendered from, pinned at first sight (``tts-train
prepare`` uses them, so later frontend changes cannot drift from the audio); each voice reads
different sentences of ``sentences/train.txt`` (a seeded shuffle cut into consecutive slices, in the
order the voices are given). Held-out mode writes
every sentence of ``sentences/heldout.txt`` for every voice into ``OUT/VOICE/`` (same layout) — the
teacher audio for evaluation. Existing valid wavs are kept (resumable), every file is written
atomically, and the same inputs give byte-identical files. ``OUT/DONE`` marks a complete build.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from teacher_engines import describe_engines, get_engine

HERE = Path(__file__).resolve().parent
SENTENCES = HERE / "sentences"
SAMPLE_RATE = 22050


@dataclass(frozen=True)
class Item:
    """One utterance to render."""

    id: str
    voice: str
    text: str
    wav: Path
    phonemes: str = ""  #: what the engine speaks (engines that read our phonemes; see pin_phonemes)


def read_sentences(path: Path) -> list[str]:
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    out = [ln for ln in lines if ln]
    if not out:
        raise ValueError(f"no sentences in {path}")
    bad = [s for s in out if "|" in s]
    if bad:
        raise ValueError(f"{path}: sentences must not contain '|' (metadata separator): {bad[0]!r}")
    return out


def assign_sentences(
    sentences: list[str], voices: list[str], per_voice: int, seed: int
) -> dict[str, list[str]]:
    """Give each voice ``per_voice`` different sentences: a seeded shuffle cut into consecutive slices."""
    need = per_voice * len(voices)
    if need > len(sentences):
        raise ValueError(
            f"{len(voices)} voices × {per_voice} = {need} sentences needed, only {len(sentences)}"
        )
    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    return {
        v: [sentences[j] for j in order[i * per_voice : (i + 1) * per_voice]] for i, v in enumerate(voices)
    }


def normalizer():
    """The project's text normaliser, or an identity with a warning while it does not exist yet."""
    try:
        from tts.text import normalize

        return normalize
    except ImportError:
        warnings.warn(
            "tts.text.normalize is not available: the 'normalized' column repeats the raw text; "
            "rerun with --metadata-only once it exists",
            stacklevel=2,
        )
        return lambda s: " ".join(s.split())


def is_valid_wav(path: Path, sample_rate: int = SAMPLE_RATE) -> bool:
    """A finished corpus file: readable, mono, at ``sample_rate``, not empty."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:
        return False
    return info.samplerate == sample_rate and info.channels == 1 and info.frames > 0


def render_item(engine_name: str, item: Item, sample_rate: int = SAMPLE_RATE) -> tuple[str, float]:
    """Render one utterance at the engine's rate, resample, write ``item.wav``. Returns (id, seconds)."""
    from tts.audio import load_audio, save_audio

    engine = get_engine(engine_name)
    with tempfile.TemporaryDirectory(prefix="tts-corpus-") as tmp:
        native = engine.render(item.text, item.voice, Path(tmp) / "native.wav", item.phonemes or None)
        wav, _ = load_audio(native, sample_rate=sample_rate)
    if wav.size < sample_rate // 10:
        raise RuntimeError(f"{item.id}: engine output is shorter than 0.1 s for {item.text!r}")
    save_audio(item.wav, wav, sample_rate)
    return item.id, wav.size / sample_rate


def _worker(args: tuple[str, Item]) -> tuple[str, float, str]:
    try:
        uid, dur = render_item(*args)
        return uid, dur, ""
    except Exception as e:  # reported by the parent; one bad sentence must not kill the build
        return args[1].id, 0.0, f"{type(e).__name__}: {e}"


def write_metadata(path: Path, items: list[Item], normalize) -> None:
    """Atomically write ``id|raw|normalized|speaker`` rows."""
    rows = [f"{it.id}|{it.text}|{' '.join(normalize(it.text).split())}|{it.voice}" for it in items]
    fd, tmp = tempfile.mkstemp(prefix=".metadata.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    os.replace(tmp, path)


def pin_phonemes(path: Path, items: list[Item], engine) -> list[Item]:
    """Write ``phonemes.tsv`` (``id<TAB>language<TAB>phonemes``, atomically) beside ``path`` and return
    ``items`` carrying their phonemes.

    A clip that exists keeps the phonemes recorded when it was rendered; every other item gets our
    frontend's phonemes of today (a clip rendered before this file existed gets them too: it was made
    from the frontend of its day, the best record there is). So audio, the phonemes a model trains on
    (``tts.data.prepare.pinned_phonemes``) and the text agree however long the corpus takes to render.
    """
    from tts.data.prepare import PHONEMES_FILE, pinned_phonemes

    old = pinned_phonemes(path.parent)
    out: dict[str, tuple[str, str]] = {}
    todo: dict[str, list[Item]] = {}
    for it in items:
        lang = engine.language(it.voice)
        if it.id in old and old[it.id][0] == lang and is_valid_wav(it.wav):
            out[it.id] = old[it.id]
        else:
            todo.setdefault(it.voice, []).append(it)
    for voice, group in todo.items():
        lang = engine.language(voice)
        for it, ph in zip(group, engine.phonemes([it.text for it in group], voice)):
            out[it.id] = (lang, ph.strip())
    fd, tmp = tempfile.mkstemp(prefix=".phonemes.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("".join(f"{it.id}\t{out[it.id][0]}\t{out[it.id][1]}\n" for it in items))
    os.replace(tmp, path.parent / PHONEMES_FILE)
    return [replace(it, phonemes=out[it.id][1]) for it in items]


def write_speakers(path: Path, engine, voices: list[str]) -> None:
    """``speakers.json``: the espeak language each speaker was rendered in (``en-gb`` for British
    Kokoro voices), so data preparation phonemises every speaker as its audio was made."""
    language = getattr(engine, "language", lambda v: "en-us")
    data = {"engine": engine.name, "languages": {v: language(v) for v in voices}}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def invalidate_changed(path: Path, items: list[Item]) -> int:
    """Delete wavs whose recorded text or speaker differs from the plan; returns how many.

    The metadata is written before rendering, so it records what every existing wav says. Wavs that
    have no row (or no metadata at all) cannot be verified and are rendered again.
    """
    old: dict[str, tuple[str, str]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            f = line.split("|")
            if len(f) >= 4:
                old[f[0]] = (f[1], f[3])
    n = 0
    for it in items:
        if it.wav.exists() and old.get(it.id) != (it.text, it.voice):
            it.wav.unlink()
            n += 1
    return n


def check_engine(out: Path, engine: str, mode: str) -> None:
    """Refuse to mix engines (or modes) in one output folder."""
    for name in ("corpus.json", "build.json"):
        f = out / name
        if f.is_file():
            prev = json.loads(f.read_text(encoding="utf-8"))
            if (prev.get("engine"), prev.get("mode")) != (engine, mode):
                raise SystemExit(
                    f"{out} holds a {prev.get('mode')} corpus from engine {prev.get('engine')!r}; "
                    f"use another --out for {mode} with {engine!r}"
                )
    (out / "build.json").write_text(json.dumps({"engine": engine, "mode": mode}) + "\n", encoding="utf-8")


def render_all(
    engine_name: str, items: list[Item], jobs: int, log_every: float = 60.0
) -> tuple[float, list[str]]:
    """Render the missing items (skipping valid existing files). Returns (seconds of audio, errors).

    Progress: a tqdm bar on a terminal; otherwise (a background run writing to a log) one line every
    ``log_every`` seconds with the count, the audio made, the real-time factor and the ETA.
    """
    for d in {it.wav.parent for it in items}:
        d.mkdir(parents=True, exist_ok=True)
        for stale in d.glob(".*.wav"):  # temp files of an interrupted run
            stale.unlink()
    todo = round_robin([it for it in items if not is_valid_wav(it.wav)])
    print(f"{len(items) - len(todo)} of {len(items)} utterances already done", file=sys.stderr)
    errors: list[str] = []
    total = 0.0
    tasks = [(engine_name, it) for it in todo]
    progress = Progress(len(tasks), engine_name, log_every)
    if jobs <= 1:
        results = map(_worker, tasks)
        pool = None
    else:
        pool = mp.get_context("fork").Pool(jobs)
        results = pool.imap_unordered(_worker, tasks, chunksize=4)
    try:
        for uid, dur, err in results:
            total += dur
            if err:
                errors.append(f"{uid}: {err}")
            progress.update(dur)
    finally:
        progress.close()
        if pool is not None:
            pool.close()
            pool.join()
    return total, errors


def round_robin(items: list[Item]) -> list[Item]:
    """Order the work one utterance per voice in turn, so every voice's share grows together and a
    model can train on all speakers while the corpus is still being rendered (each voice keeps its order)."""
    by_voice: dict[str, list[Item]] = {}
    for it in items:
        by_voice.setdefault(it.voice, []).append(it)
    queues = list(by_voice.values())
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


class Progress:
    """A tqdm bar on a terminal, else periodic log lines: ``done/total, audio h, RTF, ETA``."""

    def __init__(self, total: int, desc: str, log_every: float) -> None:
        self.total, self.desc, self.log_every = total, desc, log_every
        self.done, self.audio = 0, 0.0
        self.t0 = self.last = time.time()
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="utt", desc=desc)

    def update(self, seconds_of_audio: float) -> None:
        self.done += 1
        self.audio += seconds_of_audio
        if self.bar is not None:
            self.bar.update()
        elif time.time() - self.last >= self.log_every or self.done == self.total:
            self.last = time.time()
            print(self.line(), file=sys.stderr, flush=True)

    def line(self) -> str:
        wall = time.time() - self.t0
        rate = self.done / max(wall, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        return (
            f"{time.strftime('%Y-%m-%d %H:%M:%S')} {self.desc}: {self.done}/{self.total} utt, "
            f"{self.audio / 3600:.3f} h audio in {wall / 3600:.2f} h wall "
            f"(RTF {wall / max(self.audio, 1e-9):.2f}), "
            f"ETA {eta / 3600:.1f} h"
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def plan(args: argparse.Namespace, voices: list[str]) -> dict[Path, list[Item]]:
    """Metadata file → its items, for training or held-out mode."""
    if args.heldout:
        sents = read_sentences(args.sentences or SENTENCES / "heldout.txt")
        return {
            args.out / v / "metadata.csv": [
                Item(f"{v}_{k:05d}", v, s, args.out / v / "wavs" / f"{v}_{k:05d}.wav")
                for k, s in enumerate(sents, 1)
            ]
            for v in voices
        }
    sents = read_sentences(args.sentences or SENTENCES / "train.txt")
    per = assign_sentences(sents, voices, args.per_voice, args.seed)
    items = [
        Item(f"{v}_{k:05d}", v, s, args.out / "wavs" / f"{v}_{k:05d}.wav")
        for v in voices
        for k, s in enumerate(per[v], 1)
    ]
    return {args.out / "metadata.csv": items}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--list-voices", action="store_true", help="show engines, voices, install commands")
    p.add_argument("--engine", default="rhvoice")
    p.add_argument("--voices", default="bdl,slt,clb,alan", help="comma-separated voice names")
    p.add_argument("--per-voice", type=int, default=1500, help="training sentences per voice")
    p.add_argument("--out", type=Path, default=Path("data/synthetic"))
    p.add_argument("--heldout", action="store_true", help="render the held-out list for every voice")
    p.add_argument("--sentences", type=Path, default=None, help="sentence list (default: the shipped one)")
    p.add_argument("--seed", type=int, default=0, help="sentence assignment seed")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads per job (kokoro)")
    p.add_argument("--log-every", type=float, default=60.0, help="seconds between progress lines in a log")
    p.add_argument("--metadata-only", action="store_true", help="only rewrite metadata (e.g. new normaliser)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list_voices:
        print(describe_engines())
        return 0
    engine = get_engine(args.engine)
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    if not voices or len(set(voices)) != len(voices):
        raise SystemExit(f"--voices must list distinct voices, got {args.voices!r}")
    for v in voices:
        engine.check_voice(v)  # refuses unknown and licence-forbidden voices before any work
    if args.per_voice < 1 or args.jobs < 1 or args.threads < 1:
        raise SystemExit("--per-voice, --jobs and --threads must be ≥ 1")
    if hasattr(engine, "threads"):
        type(engine).threads = args.threads  # read by every render, in this process and forked workers
    if not args.metadata_only and not engine.is_installed():
        raise SystemExit(f"engine {engine.name} is not installed; install with:\n{engine.install}")

    jobs = plan(args, voices)
    mode = "heldout" if args.heldout else "train"
    args.out.mkdir(parents=True, exist_ok=True)
    check_engine(args.out, engine.name, mode)
    done_flag = args.out / "DONE"
    done_flag.unlink(missing_ok=True)
    norm = normalizer()
    previous = _previous_summary(args.out)
    for meta, items in jobs.items():
        meta.parent.mkdir(parents=True, exist_ok=True)
        if not args.metadata_only:
            changed = invalidate_changed(meta, items)
            if changed:
                print(
                    f"{meta}: {changed} wavs no longer match their sentence; rendering again", file=sys.stderr
                )
        write_metadata(meta, items, norm)  # first: it records what each wav will say
        write_speakers(meta.parent / "speakers.json", engine, sorted({it.voice for it in items}))
        if engine.reads_phonemes:
            jobs[meta] = pin_phonemes(meta, items, engine)
    all_items = [it for items in jobs.values() for it in items]
    t0 = time.time()
    errors: list[str] = []
    if not args.metadata_only:
        _, errors = render_all(engine.name, all_items, args.jobs, args.log_every)
    wall = time.time() - t0
    if errors:
        print(f"{len(errors)} utterances failed:\n" + "\n".join(errors[:20]), file=sys.stderr)
        return 1
    missing = [it.id for it in all_items if not is_valid_wav(it.wav)]
    if missing:
        print(f"{len(missing)} wavs missing, e.g. {missing[:5]}", file=sys.stderr)
        return 1
    if args.metadata_only and previous:  # keep the timing of the run that rendered the audio
        wall = previous.get("render_wall_seconds", wall)
    summary = corpus_summary(args, engine.name, voices, all_items, wall)
    (args.out / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    done_flag.write_text(json.dumps(summary) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    return 0


def _previous_summary(out: Path) -> dict:
    f = out / "corpus.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}


def corpus_summary(args, engine: str, voices: list[str], items: list[Item], wall: float) -> dict:
    import soundfile as sf

    seconds = sum(sf.info(str(it.wav)).frames for it in items) / SAMPLE_RATE
    src = args.sentences or SENTENCES / ("heldout.txt" if args.heldout else "train.txt")
    return {
        "engine": engine,
        "voices": voices,
        "mode": "heldout" if args.heldout else "train",
        "utterances": len(items),
        "hours": round(seconds / 3600, 3),
        "sample_rate": SAMPLE_RATE,
        "seed": args.seed,
        "per_voice": None if args.heldout else args.per_voice,
        "sentences_sha1": hashlib.sha1(Path(src).read_bytes()).hexdigest(),
        "render_wall_seconds": round(wall, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
