"""``tts-train prepare CORPUS OUT``: turn an LJSpeech-layout corpus into a prepared data folder.

Per utterance: read the wav and resample it to 22 050 Hz, optionally trim leading/trailing silence
and level the loudness, write it as a 16-bit wav, then cache the raw log-mel of *that stored wav*
(so the cache equals ``MelSpectrogram`` of what the datasets read). Texts are normalised (or the
corpus' normalized column is used) and phonemised in batches, except the rows that the corpus's
``phonemes.tsv`` pins (:func:`pinned_phonemes`). Then come the train/val split, the
per-bin mel statistics of the train split, ``train.jsonl``/``val.jsonl`` and ``manifest.json``
(format: ``docs/data.md``).

Bad rows never stop a run: each is skipped with a warning, counted per reason in the summary and
listed in ``OUT/skipped.jsonl``.

Incremental: ``OUT/prepare_cache.jsonl`` records per id a key of the processing settings and of the
source wav's size and mtime, the outcome, the processed length and the phonemes. A re-run reuses
every utterance whose key matches (and whose cached files exist), so only new or changed ones are
processed. Files are written to a temp name and renamed, and a cache line is appended only once
both files of an utterance exist, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tts.data import manifest as mf
from tts.data.ljspeech import Utterance, read_metadata
from tts.data.process import (
    AudioJob,
    AudioOptions,
    ParallelMap,
    duration_status,
    phonemize_all,
    process_audio,
)
from tts.data.process import progress as progress_bar

log = logging.getLogger(__name__)

CACHE_FILE = "prepare_cache.jsonl"
SKIPPED_FILE = "skipped.jsonl"
LOGGED_SKIPS = 20  #: skips of one reason logged one by one; the rest only in SKIPPED_FILE
CACHE_VERSION = 1  # bump when the audio processing changes meaning: invalidates every cached clip
CACHED_FAILURES = ("unreadable_wav", "silent_audio")  # depend only on the source file and the settings
LENGTH_REASONS = ("too_short", "too_long")  # re-judged from the cached length: limits are not in the key


@dataclass(frozen=True)
class PrepareConfig:
    """Options of the prepare stage."""

    audio: AudioOptions = field(default_factory=AudioOptions)  #: per-clip processing and length limits
    language: str = "en-us"  #: espeak language for phonemisation
    val_size: int = 100  #: validation utterances (ignored when ``val_fraction`` is set)
    val_fraction: float | None = None  #: share of utterances for validation instead of a count


def default_jobs() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def prepare_corpus(
    corpus_dir: str | Path,
    out_dir: str | Path,
    cfg: PrepareConfig | None = None,
    *,
    jobs: int | None = None,
    speaker: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Prepare ``corpus_dir`` into ``out_dir`` (incrementally) and return the summary.

    ``summary``: ``rows, kept, train, val, processed, reused, skipped {reason: n}, hours,
    speakers {name: n}`` (also stored in ``manifest.json``). ``speaker`` names rows without a 4th
    column (default: the corpus folder name); ``force`` ignores the cache.
    """
    corpus, out = Path(corpus_dir), Path(out_dir)
    if not corpus.is_dir():
        raise FileNotFoundError(f"corpus folder {corpus} does not exist")
    if out.resolve() == corpus.resolve():
        raise ValueError(
            "the output folder must differ from the corpus folder (its wavs/ would be overwritten)"
        )
    jobs = max(1, jobs if jobs is not None else default_jobs())
    return _Run(corpus, out, cfg or PrepareConfig(), speaker, force, progress).execute(jobs)


def speaker_languages(corpus: Path) -> dict[str, str]:
    """``{speaker: espeak language}`` from the corpus's ``speakers.json`` (written by the synthetic
    recipe: British Kokoro voices are rendered from en-gb phonemes); empty when there is none, so every
    speaker is phonemised in ``PrepareConfig.language``."""
    path = Path(corpus) / "speakers.json"
    if not path.is_file():
        return {}
    return {
        str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).get("languages", {}).items()
    }


#: ``id<TAB>language<TAB>phonemes`` per line, beside ``metadata.csv``: the phonemes each clip was rendered
#: from (written by the synthetic recipe's corpus builder for teachers that read our phonemes)
PHONEMES_FILE = "phonemes.tsv"


def pinned_phonemes(corpus: Path) -> dict[str, tuple[str, str]]:
    """``{id: (espeak language, phonemes)}`` from the corpus's ``phonemes.tsv``; empty when there is none.

    A teacher that reads our frontend's phonemes (Kokoro in ``recipes/synthetic``) spoke exactly these,
    so preparation uses them rather than phonemising the text again: a corpus rendered over weeks stays
    consistent with its audio when the normaliser or espeak-ng changes in between."""
    path = Path(corpus) / PHONEMES_FILE
    if not path.is_file():
        return {}
    pinned: dict[str, tuple[str, str]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0] or not fields[1]:
            raise ValueError(f"{path}:{n}: expected 'id<TAB>language<TAB>phonemes', got {line[:80]!r}")
        pinned[fields[0]] = (fields[1], fields[2].strip())
    return pinned


class _Run:
    """State of one prepare run; each phase narrows the utterances that go on to the next."""

    def __init__(
        self, corpus: Path, out: Path, cfg: PrepareConfig, speaker: str | None, force: bool, progress: bool
    ):
        from tts.audio import AudioConfig
        from tts.core.config import to_dict
        from tts.text import Tokenizer

        self.corpus, self.out, self.cfg, self.progress = corpus, out, cfg, progress
        self.audio = AudioConfig()
        self.tok = Tokenizer.default()
        self.utts, bad = read_metadata(corpus, speaker)
        self.n_rows = len(self.utts) + len(bad)
        self.skipped: list[dict[str, Any]] = []
        self.skip_counts: Counter[str] = Counter()
        for b in bad:
            self.skip(b.id, b.reason, b.detail, b.line)
        a = cfg.audio
        self.settings = json.dumps(
            [CACHE_VERSION, to_dict(self.audio), a.trim_silence, a.trim_top_db, a.loudness_dbfs, a.min_peak]
        )
        self.cache = {} if force else _load_cache(out / CACHE_FILE)
        self.keys: dict[str, str] = {}  # id -> key of (settings, source file)
        self.norms: dict[str, str] = {}
        self.phonemes: dict[str, str] = {}
        self.languages = speaker_languages(corpus)  # speaker -> espeak language, from speakers.json
        self.pinned = pinned_phonemes(corpus)  # id -> (language, phonemes) its audio was rendered from
        self.language: dict[str, str] = {}  # id -> the language its phonemes are in
        self.n_samples: dict[str, int] = {}  # kept ids -> stored length
        self.unknown: Counter[str] = Counter()  # phoneme symbol -> utterances using it
        self.processed = self.reused = 0

    def skip(self, uid: str, reason: str, detail: str, line: int) -> None:
        self.skipped.append({"id": uid, "reason": reason, "detail": detail, "line": line})
        self.skip_counts[reason] += 1
        n = self.skip_counts[reason]
        if n <= LOGGED_SKIPS:
            log.warning("skipping %s (metadata line %d): %s: %s", uid, line, reason, detail)
        elif n == LOGGED_SKIPS + 1:  # a corpus still being rendered has thousands of missing wavs
            log.warning("more '%s' skips are not logged one by one: all are in %s", reason, SKIPPED_FILE)

    def execute(self, jobs: int) -> dict[str, Any]:
        for d in (self.out, self.out / "wavs", self.out / "mels"):
            d.mkdir(parents=True, exist_ok=True)
        utts = self.check_sources(self.utts)
        utts = self.prepare_text(utts)
        with ParallelMap(jobs) as pmap:
            kept = self.prepare_audio(utts, pmap)
            return self.write_outputs(kept, pmap)

    def check_sources(self, utts: list[Utterance]) -> list[Utterance]:
        """Drop rows whose wav is missing; key the others by settings + source size and mtime."""
        found = []
        for u in utts:
            try:
                st = u.wav_path.stat()
            except OSError:
                self.skip(u.id, "missing_wav", f"{u.wav_path} not found", u.line)
                continue
            sig = f"{self.settings}|{u.id}|{st.st_size}|{st.st_mtime_ns}"
            self.keys[u.id] = hashlib.sha1(sig.encode()).hexdigest()
            found.append(u)
        return found

    def prepare_text(self, utts: list[Utterance]) -> list[Utterance]:
        """Normalise (unless the corpus has a normalized column) and phonemise; drop failures."""
        from tts.text import normalize

        for u in utts:
            lang = self.languages.get(u.speaker, self.cfg.language)
            if u.id in self.pinned:  # what the audio says wins over what the frontend says today
                lang, self.phonemes[u.id] = self.pinned[u.id]
            self.language[u.id] = lang
            if not u.text and not u.normalized:
                self.skip(u.id, "empty_text", "no text", u.line)
                continue
            try:
                norm = " ".join(u.normalized.split()) if u.normalized else normalize(u.text).strip()
            except Exception as e:  # the normaliser's failure on one row is that row's problem only
                self.skip(u.id, "text_failed", f"normalisation failed: {e}", u.line)
                continue
            if not norm:
                self.skip(u.id, "empty_text", "text is empty after normalisation", u.line)
                continue
            self.norms[u.id] = norm
            c = self.cache.get(u.id)
            fresh = c and c.get("normalized") == norm and c.get("language") == lang and c.get("phonemes")
            if u.id not in self.phonemes and fresh:
                self.phonemes[u.id] = c["phonemes"]
        todo = [uid for uid in self.norms if uid not in self.phonemes]
        for lang in sorted({self.language[i] for i in todo}):
            ids = [i for i in todo if self.language[i] == lang]
            self.phonemes.update(zip(ids, phonemize_all([self.norms[i] for i in ids], lang, self.progress)))
        good = []
        for u in utts:
            if u.id not in self.norms:
                continue
            ph = self.phonemes[u.id]
            unknown = self.tok.unknown(ph)
            if not ph or all(ch in unknown or ch.isspace() for ch in ph):
                self.skip(u.id, "text_failed", f"no known phonemes for {self.norms[u.id]!r}", u.line)
                continue
            self.unknown.update(unknown)  # dropped by the tokenizer; reported so the inventory can grow
            good.append(u)
        if self.unknown:
            log.warning("phoneme symbols outside the tokenizer inventory (dropped): %s", sorted(self.unknown))
        return good

    def prepare_audio(self, utts: list[Utterance], pmap: ParallelMap) -> list[Utterance]:
        """Reuse up-to-date cache entries (results and failures alike), process the rest."""
        todo: list[AudioJob] = []
        line = {u.id: u.line for u in utts}
        for u in utts:
            wav_out, mel_out = self.out / "wavs" / f"{u.id}.wav", self.out / "mels" / f"{u.id}.npy"
            c = self.cache.get(u.id)
            if c and c.get("audio_key") == self.keys[u.id]:
                if c.get("status") in CACHED_FAILURES:
                    self.skip(u.id, c["status"], str(c.get("detail", "")), u.line)
                    continue
                if isinstance(c.get("n_samples"), int) and c.get("status") in ("ok", *LENGTH_REASONS):
                    status = duration_status(c["n_samples"], self.audio.sample_rate, self.cfg.audio)
                    if status != "ok":
                        reason, _, detail = status.partition(": ")
                        self.skip(u.id, reason, detail, u.line)
                        continue
                    if c.get("files") and wav_out.is_file() and mel_out.is_file():
                        self.n_samples[u.id] = c["n_samples"]
                        continue
            todo.append(AudioJob(u.id, str(u.wav_path), str(wav_out), str(mel_out), self.cfg.audio))
        self.reused, self.processed = len(self.n_samples), len(todo)
        with (self.out / CACHE_FILE).open("a", encoding="utf-8") as log_fh:
            for uid, status, n in progress_bar(pmap(process_audio, todo), len(todo), "audio", self.progress):
                reason, _, detail = status.partition(": ")
                if reason == "ok":
                    self.n_samples[uid] = n
                else:
                    self.skip(uid, reason, detail, line[uid])
                    if reason not in CACHED_FAILURES + LENGTH_REASONS:
                        continue  # unexpected errors are retried by the next run
                self.cache[uid] = self.cache_entry(uid, reason, detail, n)
                log_fh.write(json.dumps(self.cache[uid], ensure_ascii=False) + "\n")
                log_fh.flush()  # the line exists only once both files do: a killed run resumes here
        return [u for u in utts if u.id in self.n_samples]

    def cache_entry(self, uid: str, status: str, detail: str, n: int) -> dict[str, Any]:
        return {
            "id": uid,
            "audio_key": self.keys[uid],
            "status": status,
            "detail": detail,
            "n_samples": n,
            "files": status == "ok",  # the wav and mel of this id were written
            "normalized": self.norms[uid],
            "phonemes": self.phonemes[uid],
            "language": self.language.get(uid, self.cfg.language),
        }

    def write_outputs(self, kept: list[Utterance], pmap: ParallelMap) -> dict[str, Any]:
        """Split, statistics, jsonl files, compacted cache, and the manifest (written last)."""
        from tts.core.config import to_dict

        rows = {u.id: self.row(u) for u in kept}
        prev = _previous(self.out)
        val = mf.choose_val(
            list(rows),
            val_size=self.cfg.val_size,
            val_fraction=self.cfg.val_fraction,
            previous_val=prev["val"],
        )
        train_ids = sorted(u for u in rows if u not in val)
        stats_key = hashlib.sha1(json.dumps([[u, self.keys[u]] for u in train_ids]).encode()).hexdigest()
        if prev["stats_key"] == stats_key:  # same train clips as last time: same statistics
            mean, std = prev["mel_mean"], prev["mel_std"]
        else:
            moments: tuple[Any, Any, Any] = (0, 0.0, 0.0)
            paths = [str(self.out / rows[u]["mel"]) for u in train_ids]
            for m in progress_bar(pmap(mf.mel_moments, paths), len(paths), "mel stats", self.progress):
                moments = mf.combine_moments(moments, m)
            mean, std = mf.finish_moments(moments, self.audio.n_mels)

        for u in kept:  # phonemes of reused clips may have changed: keep one current line per id
            self.cache[u.id] = self.cache_entry(u.id, "ok", "", self.n_samples[u.id])
        mf.write_jsonl(self.out / CACHE_FILE, [self.cache[k] for k in sorted(self.cache)])
        # Speaker ids: those of the previous run first (ids stay stable), then the voices the corpus's
        # speakers.json declares, in its order, even before any clip of theirs exists (a model can be
        # sized for the whole corpus while it is still being rendered), then any other speaker, sorted.
        present = {r["speaker"] for r in rows.values()} | set(self.languages)
        speakers = [s for s in prev["speakers"] if s in present]
        speakers += [s for s in self.languages if s not in speakers]
        speakers += sorted(present - set(speakers))
        mf.write_jsonl(self.out / mf.SPLITS["train"], [rows[u.id] for u in kept if u.id not in val])
        mf.write_jsonl(self.out / mf.SPLITS["val"], [rows[u.id] for u in kept if u.id in val])
        mf.write_jsonl(self.out / SKIPPED_FILE, sorted(self.skipped, key=lambda r: r["line"]))
        summary = {
            "corpus": str(self.corpus),
            "rows": self.n_rows,
            "kept": len(rows),
            "train": len(rows) - len(val),
            "val": len(val),
            "processed": self.processed,
            "reused": self.reused,
            "skipped": dict(sorted(Counter(s["reason"] for s in self.skipped).items())),
            "hours": round(sum(self.n_samples.values()) / self.audio.sample_rate / 3600, 4),
            "speakers": dict(sorted(Counter(r["speaker"] for r in rows.values()).items())),
            "unknown_symbols": dict(sorted(self.unknown.items())),
            "settings": to_dict(self.cfg),
            "stats_key": stats_key,
        }
        manifest = {
            "format_version": mf.FORMAT_VERSION,
            "audio": to_dict(self.audio),
            "tokenizer": self.tok.to_dict(),
            "speakers": speakers,
            # the language each speaker's phonemes are in: a voice speaks each in its own
            "languages": {s: self.languages.get(s, self.cfg.language) for s in speakers},
            "mel_mean": mean,
            "mel_std": std,
            "splits": dict(mf.SPLITS),
            "summary": summary,
        }
        mf.write_json(
            self.out / mf.MANIFEST_FILE, manifest
        )  # last: its presence means the folder is complete
        return summary

    def row(self, u: Utterance) -> dict[str, Any]:
        n = self.n_samples[u.id]
        return {
            "id": u.id,
            "speaker": u.speaker,
            "text": u.text,
            "normalized": self.norms[u.id],
            "phonemes": self.phonemes[u.id],
            "n_samples": n,
            "n_frames": self.audio.n_frames(n),
            "wav": f"wavs/{u.id}.wav",
            "mel": f"mels/{u.id}.npy",
        }


def _load_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Last valid line per id; a line cut short by a killed run is ignored."""
    cache: dict[str, dict[str, Any]] = {}
    if path.is_file():
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    cache[entry["id"]] = entry
    return cache


def _previous(out: Path) -> dict[str, Any]:
    """What the last complete run decided: speaker order, validation ids, train statistics."""
    prev: dict[str, Any] = {"speakers": [], "val": [], "stats_key": None}
    try:
        m = json.loads((out / mf.MANIFEST_FILE).read_text(encoding="utf-8"))
        val = [r["id"] for r in mf.read_jsonl(out / m["splits"]["val"])]
        prev = {
            "speakers": list(m["speakers"]),
            "val": val,
            "stats_key": m["summary"]["stats_key"],
            "mel_mean": m["mel_mean"],
            "mel_std": m["mel_std"],
        }
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no usable previous run: start afresh
    return prev


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a, d = AudioOptions(), PrepareConfig()
    p = parser.add_argument
    p(
        "corpus",
        type=Path,
        help="LJSpeech-layout folder: metadata.csv (id|text[|normalized[|speaker]]) + wavs/",
    )
    p("out", type=Path, help="output data folder (created; re-runs only process new or changed clips)")
    p(
        "--speaker",
        default=None,
        help="speaker of rows without a 4th column (default: the corpus folder name)",
    )
    p("--min-seconds", type=float, default=a.min_seconds, help="skip shorter clips (default: %(default)s)")
    p("--max-seconds", type=float, default=a.max_seconds, help="skip longer clips (default: %(default)s)")
    p("--trim-silence", action="store_true", help="trim leading and trailing silence")
    p("--trim-top-db", type=float, default=a.trim_top_db, help="silence threshold below the peak, dB")
    p(
        "--loudness-dbfs",
        type=float,
        default=None,
        metavar="DBFS",
        help="normalise clips to this RMS level, e.g. -23",
    )
    p("--language", default=d.language, help="espeak language (default: %(default)s)")
    g = parser.add_mutually_exclusive_group()
    g.add_argument(
        "--val-size", type=int, default=d.val_size, help="validation utterances (default: %(default)s)"
    )
    g.add_argument("--val-fraction", type=float, default=None, help="validation share instead of a count")
    p("--jobs", type=int, default=default_jobs(), help="worker processes (default: %(default)s)")
    p("--force", action="store_true", help="ignore the cache and reprocess everything")
    p("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    opts = AudioOptions(
        min_seconds=args.min_seconds,
        max_seconds=args.max_seconds,
        trim_silence=args.trim_silence,
        trim_top_db=args.trim_top_db,
        loudness_dbfs=args.loudness_dbfs,
    )
    cfg = PrepareConfig(opts, args.language, args.val_size, args.val_fraction)
    try:
        s = prepare_corpus(
            args.corpus,
            args.out,
            cfg,
            jobs=args.jobs,
            speaker=args.speaker,
            force=args.force,
            progress=not args.no_progress,
        )
    except (FileNotFoundError, ValueError) as e:
        print(f"tts-train prepare: error: {e}", file=sys.stderr)
        return 2
    print(format_summary(s, args.out))
    if s["kept"] == 0:
        print("tts-train prepare: error: no usable utterances", file=sys.stderr)
        return 1
    return 0


def format_summary(s: dict[str, Any], out: str | Path) -> str:
    """Human-readable form of :func:`prepare_corpus`'s summary."""
    speakers = ", ".join(f"{k} {v}" for k, v in s["speakers"].items()) or "none"
    skipped = ", ".join(f"{k} {v}" for k, v in s["skipped"].items()) or "none"
    return (
        f"prepared {s['kept']} of {s['rows']} utterances into {out}: {s['hours']:.2f} h "
        f"(train {s['train']}, val {s['val']})\n"
        f"processed {s['processed']} new or changed, reused {s['reused']} from the cache\n"
        f"skipped {sum(s['skipped'].values())}: {skipped}\n"
        f"speakers ({len(s['speakers'])}): {speakers}"
    )
