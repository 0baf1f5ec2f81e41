"""Score a set of utterances with every judge: ASR error rates (Whisper, or pocketsphinx as the
fallback), DistillMOS, DNSMOS, speaker similarity and distances to reference recordings.

Each utterance is scored on its own in a worker process (the judges keep no state between files),
so results do not depend on file order or on the number of jobs. Corpus-level WER/CER are total
errors over total reference words/characters; the other metrics are means over utterances.
Speaker similarity is the one metric that needs the whole set: each utterance's embedding is compared
with the speaker embedding of *all* the reference recordings (:mod:`tts.eval.similarity`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Utterance:
    """One file to score: its id, audio, the text it should say and an optional reference recording."""

    id: str
    wav: Path
    text: str
    reference_wav: Path | None = None


@dataclass(frozen=True)
class ScoreOptions:
    """Which judges run, and how parallel."""

    asr: str | None = "whisper-base"  #: recogniser for WER/CER (``tts.eval.judges.ASR_CHOICES``), or None
    dnsmos: bool = True  #: DNSMOS P.835 + P.808
    distillmos: bool = True  #: DistillMOS
    sim: bool = True  #: speaker similarity to the ``reference_wav`` recordings (when given)
    distance: bool = True  #: MCD / F0 / voicing (and PESQ/STOI when aligned) to ``reference_wav``
    jobs: int = 1  #: worker processes
    threads: int = 1  #: threads per worker (onnxruntime, torch)


def read_metadata(path: str | Path) -> list[tuple[str, str]]:
    """``(id, text)`` pairs of an LJSpeech-style ``id|text[|normalized[|speaker]]`` file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"metadata file not found: {path}")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        f = [x.strip() for x in line.split("|")]
        if len(f) < 2 or not f[0] or not f[1]:
            raise ValueError(f"{path}:{n}: expected 'id|text[|normalized[|speaker]]', got {line[:80]!r}")
        rows.append((f[0], f[1]))
    if not rows:
        raise ValueError(f"{path} has no rows")
    return rows


def find_wav(folder: str | Path, uid: str) -> Path:
    """``folder/ID.wav`` or, for an LJSpeech-layout folder, ``folder/wavs/ID.wav``."""
    folder = Path(folder)
    for p in (folder / f"{uid}.wav", folder / "wavs" / f"{uid}.wav"):
        if p.is_file():
            return p
    raise ValueError(f"no audio for {uid!r} in {folder} (looked for {uid}.wav and wavs/{uid}.wav)")


# ------------------------------------------------------------------------------------------------
# per-process judges
# ------------------------------------------------------------------------------------------------

_JUDGES: dict[str, Any] = {}


def _init_worker(threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # torch is a core dependency, but the judges do not need it
        pass
    _JUDGES["threads"] = threads


def _judge(name: str) -> Any:
    """The worker's instance of judge ``name`` (an ASR name, ``dnsmos``, ``distillmos`` or ``sim``)."""
    if name not in _JUDGES:
        threads = _JUDGES.get("threads", 1)
        if name == "dnsmos":
            from tts.eval.dnsmos import DNSMOSScorer

            _JUDGES[name] = DNSMOSScorer(threads=threads)
        elif name == "distillmos":
            from tts.eval.distillmos import DistillMOSScorer

            _JUDGES[name] = DistillMOSScorer()
        elif name == "sim":
            from tts.eval.similarity import SpeakerEncoder

            _JUDGES[name] = SpeakerEncoder()
        else:
            from tts.eval.asr import make_asr

            _JUDGES[name] = make_asr(name, threads=threads)
    return _JUDGES[name]


def score_one(utt: Utterance, opts: ScoreOptions) -> dict[str, Any]:
    """All requested metrics of one utterance (a flat dict of numbers and strings)."""
    from tts.audio import load_audio

    wav, sr = load_audio(utt.wav)
    row: dict[str, Any] = {"id": utt.id, "text": utt.text, "duration_s": len(wav) / sr}
    if opts.asr:
        from tts.eval.asr import error_counts, normalizer_for

        hyp = _judge(opts.asr).transcribe(wav, sr)
        e = error_counts(utt.text, hyp, normalizer=normalizer_for(opts.asr))
        row.update(asr=opts.asr, hyp=hyp, ref_words=e.ref_words, word_errors=e.word_errors, wer=e.wer)
        row.update(ref_chars=e.ref_chars, char_errors=e.char_errors, cer=e.cer)
    if opts.distillmos:
        row["distillmos"] = _judge("distillmos")(wav, sr)
    if opts.dnsmos:
        row.update({f"dnsmos_{k}": v for k, v in _judge("dnsmos")(wav, sr).items()})
    if opts.sim and utt.reference_wav is not None:
        # embeddings travel back to the parent, which compares them with the reference speaker
        row["_emb"] = _judge("sim").embed(wav, sr)
        row["_ref_emb"] = _judge("sim").embed(*load_audio(utt.reference_wav))
    if opts.distance and utt.reference_wav is not None:
        from tts.eval.distance import copy_synthesis_scores, mel_cepstral_distortion

        ref, _ = load_audio(utt.reference_wav, sample_rate=sr)
        row.update(mel_cepstral_distortion(ref, wav, sr))
        row.pop("frames", None)
        row.update(copy_synthesis_scores(ref, wav, sr))
    return row


def _score_task(args: tuple[Utterance, ScoreOptions]) -> dict[str, Any]:
    return score_one(*args)


def score_utterances(utts: Sequence[Utterance], opts: ScoreOptions = ScoreOptions()) -> list[dict[str, Any]]:
    """Score every utterance; rows come back in input order whatever ``opts.jobs``."""
    if opts.jobs < 1 or opts.threads < 1:
        raise ValueError(f"jobs and threads must be >= 1, got {opts.jobs}, {opts.threads}")
    if not utts:
        raise ValueError("no utterances to score")
    from tqdm import tqdm

    if opts.asr and opts.asr.startswith("whisper"):
        from tts.eval.whisper import whisper_model_dir

        whisper_model_dir(opts.asr.removeprefix("whisper-"))  # assemble once, before the workers start
    tasks = [(u, opts) for u in utts]
    if opts.jobs == 1:
        _init_worker(opts.threads)
        rows = [_score_task(t) for t in tqdm(tasks, unit="utt", desc="scoring", leave=False)]
    else:
        import multiprocessing as mp

        # spawn: the parent may hold torch thread pools (e.g. after synthesis); forked copies can deadlock
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(
            opts.jobs, mp_context=ctx, initializer=_init_worker, initargs=(opts.threads,)
        ) as ex:
            it = ex.map(_score_task, tasks, chunksize=4)
            rows = list(tqdm(it, total=len(tasks), unit="utt", leave=False))
    _add_speaker_similarity(rows, utts)
    return rows


def _add_speaker_similarity(rows: list[dict[str, Any]], utts: Sequence[Utterance]) -> None:
    """``sim`` of each row: cosine of its embedding with the reference recordings' speaker embedding
    (each distinct reference file counted once). Drops the embeddings from the rows."""
    from tts.eval.similarity import cosine, speaker_embedding

    refs: dict[Path, np.ndarray] = {}
    for row, u in zip(rows, utts):
        if "_ref_emb" in row and u.reference_wav is not None:
            refs[Path(u.reference_wav)] = row.pop("_ref_emb")
    if not refs:
        return
    speaker = speaker_embedding(list(refs.values()))
    for row in rows:
        if "_emb" in row:
            row["sim"] = cosine(row.pop("_emb"), speaker)


# ------------------------------------------------------------------------------------------------
# summaries
# ------------------------------------------------------------------------------------------------

MEAN_KEYS = (
    "distillmos",
    "sim",
    "dnsmos_ovrl",
    "dnsmos_sig",
    "dnsmos_bak",
    "dnsmos_p808",
    "mcd_db",
    "f0_rmse_cents",
    "vuv_error",
    "pesq_wb",
    "stoi",
)


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Corpus-level WER/CER (error totals) and means of the other metrics (NaNs skipped)."""
    out: dict[str, Any] = {"n": len(rows), "audio_s": float(sum(r["duration_s"] for r in rows))}
    if rows and "word_errors" in rows[0]:
        out["asr"] = rows[0].get("asr", "pocketsphinx")
        out["wer"] = sum(r["word_errors"] for r in rows) / max(sum(r["ref_words"] for r in rows), 1)
        out["cer"] = sum(r["char_errors"] for r in rows) / max(sum(r["ref_chars"] for r in rows), 1)
    for k in MEAN_KEYS:
        vals = [r[k] for r in rows if k in r and not math.isnan(r[k])]
        if vals:
            out[k] = float(np.mean(vals))
    return out


LABELS = {
    "n": "utterances",
    "audio_s": "audio (s)",
    "asr": "ASR",
    "wer": "WER %",
    "cer": "CER %",
    "distillmos": "DistillMOS",
    "sim": "SIM (Resemblyzer)",
    "dnsmos_ovrl": "DNSMOS OVRL",
    "dnsmos_sig": "DNSMOS SIG",
    "dnsmos_bak": "DNSMOS BAK",
    "dnsmos_p808": "DNSMOS P.808",
    "mcd_db": "MCD (dB)",
    "f0_rmse_cents": "log-F0 RMSE (cents)",
    "vuv_error": "V/UV error %",
    "pesq_wb": "PESQ (WB)",
    "stoi": "STOI",
}
_PERCENT = {"wer", "cer", "vuv_error"}


def _fmt(key: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, str):
        return v
    if key in _PERCENT:
        return f"{100 * v:.1f}"
    if key == "n":
        return str(int(v))
    if key in ("audio_s", "f0_rmse_cents"):
        return f"{v:.0f}"
    if key == "sim":
        return f"{v:.3f}"
    return f"{v:.2f}"


def markdown_table(columns: dict[str, dict[str, Any]]) -> str:
    """A metric × system table: ``columns`` maps a column name to a summary dict."""
    names = list(columns)
    keys = [k for k in LABELS if any(k in c for c in columns.values())]
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for k in keys:
        lines.append(f"| {LABELS[k]} | " + " | ".join(_fmt(k, columns[n].get(k)) for n in names) + " |")
    return "\n".join(lines) + "\n"


def utterance_table(rows: Sequence[dict[str, Any]], limit: int | None = None) -> str:
    """Per-utterance markdown: id, WER, DistillMOS, DNSMOS OVRL, SIM, MCD, reference and recognised text."""
    head = "| id | WER % | DistillMOS | OVRL | SIM | MCD | reference | recognised |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in list(rows)[:limit]:
        cells = [
            r["id"],
            _fmt("wer", r.get("wer")),
            _fmt("distillmos", r.get("distillmos")),
            _fmt("dnsmos_ovrl", r.get("dnsmos_ovrl")),
            _fmt("sim", r.get("sim")),
            _fmt("mcd_db", r.get("mcd_db")),
            r.get("text", "").replace("|", "/"),
            r.get("hyp", "").replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
