"""Is the mel VAE transparent? Copy-synthesis with and without a VAE round trip, over several speakers.

For the first N sentences of each speaker of a held-out folder (``HELDOUT/SPEAKER/`` in LJSpeech
layout: ``metadata.csv`` + ``wavs/``) the teacher recording becomes a log-mel (22050 Hz), which is
vocoded twice:

    mel   vocoder(mel)                                  — the reference copy-synthesis
    vae   vocoder(VAE.decode(VAE.encode(mel))[:, :T])   — the same after a VAE round trip

Both sets are scored against the teacher recording with every judge of ``tts.eval.score`` (ASR
WER/CER, DNSMOS, MCD, PESQ, STOI, log-F0 RMSE); the mean round-trip |Δ log-mel| is recorded too.
The question is the WER difference VAE − mel, pooled over speakers: its 95 % confidence interval
comes from a paired bootstrap over utterances (Efron & Tibshirani 1993, *An Introduction to the
Bootstrap*; Koehn 2004, *Statistical Significance Tests for Machine Translation Evaluation*, for
the paired form): utterances are resampled with replacement, the same indices for both systems,
and the corpus-level WER (total word errors / total reference words) of each is recomputed. The
VAE is called transparent ("within noise") when the interval contains 0.

    python benchmarks/vae_transparency.py --vae pretrained/vae.safetensors \
        --heldout data/synthetic-heldout --speakers bdl,slt,clb,alan --n 15 --jobs 2

``--out DIR`` keeps the wavs (``DIR/{mel,vae}/SPEAKER/wavs/ID.wav`` with a ``metadata.csv`` each,
so a folder can be rescored with ``tts-eval dir``); ``--json``/``--markdown`` write the results
(the JSON has every per-utterance row).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tts.audio import AudioConfig, load_audio, log_mel, save_audio
from tts.eval.score import ScoreOptions, Utterance, markdown_table, score_utterances, summarize
from tts.eval.voice import heldout_utterances
from tts.models.vae.mel_vae import load_vae
from tts.models.vocoder import load_vocoder

SAMPLE_RATE = 22050
SYSTEMS = ("mel", "vae")
COLUMNS = {"mel": "original mel → vocoder", "vae": "VAE round trip → vocoder"}
TABLE_KEYS = ("n", "wer", "cer", "dnsmos_ovrl", "mcd_db", "pesq_wb", "stoi", "f0_rmse_cents")


def paired_bootstrap_wer_ci(
    errors_a: Sequence[float],
    errors_b: Sequence[float],
    ref_words: Sequence[float],
    n_resamples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Corpus-level WER difference B − A with a paired percentile-bootstrap confidence interval.

    ``errors_a[i]``, ``errors_b[i]``: word errors of systems A and B on utterance i; ``ref_words[i]``:
    its reference word count. Each resample draws utterance indices with replacement (the same for
    both systems) and recomputes ``sum(errors) / sum(ref_words)`` of each. Returns
    ``(diff, lo, hi)`` as fractions (×100 for percentage points); deterministic for a given ``seed``.
    Works for character error rates too (pass character counts).
    """
    a, b, r = (np.asarray(x, dtype=np.float64) for x in (errors_a, errors_b, ref_words))
    n = len(r)
    if not (len(a) == len(b) == n) or n == 0:
        raise ValueError(f"need equally long, non-empty inputs, got {len(a)}, {len(b)}, {n}")
    if r.sum() <= 0:
        raise ValueError("the reference has no words")
    if n_resamples < 1 or not 0 < confidence < 1:
        raise ValueError(f"need n_resamples >= 1 and 0 < confidence < 1, got {n_resamples}, {confidence}")
    diff = float((b.sum() - a.sum()) / r.sum())
    rng = np.random.default_rng(seed)
    d = b - a
    stats = np.empty(n_resamples)
    chunk = max(1, 2_000_000 // n)  # bounds the (chunk, n) index matrix
    for start in range(0, n_resamples, chunk):
        k = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(k, n))
        stats[start : start + k] = d[idx].sum(axis=1) / np.maximum(r[idx].sum(axis=1), 1e-12)
    alpha = 1 - confidence
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return diff, float(lo), float(hi)


def copy_synthesize(args: argparse.Namespace, out: Path) -> tuple[dict[str, list[Utterance]], list[dict]]:
    """Write the wav sets under ``out``; returns ``({system: utterances}, round-trip info per utterance)``."""
    vae = load_vae(args.vae, audio=AudioConfig())
    vocoder = load_vocoder(args.vocoder)
    utts: dict[str, list[Utterance]] = {s: [] for s in SYSTEMS}
    info: list[dict] = []
    heldout = Path(args.heldout)
    with torch.inference_mode():
        for spk in args.speakers:
            teacher = heldout_utterances(heldout / spk, args.n)
            for s in SYSTEMS:
                (out / s / spk / "wavs").mkdir(parents=True, exist_ok=True)
                text = "".join(f"{u.id}|{u.text}\n" for u in teacher)
                (out / s / spk / "metadata.csv").write_text(text, encoding="utf-8")
            for u in teacher:
                wav, _ = load_audio(u.wav, sample_rate=SAMPLE_RATE)
                mel = log_mel(wav).unsqueeze(0)  # (1, 80, T)
                z, zl = vae.encode(mel, torch.tensor([mel.shape[-1]]))
                mel_vae = vae.decode(z, zl)[0][..., : mel.shape[-1]]
                l1 = float((mel_vae - mel).abs().mean())
                for s, m in (("mel", mel), ("vae", mel_vae)):
                    path = save_audio(out / s / spk / "wavs" / f"{u.id}.wav", vocoder(m)[0], SAMPLE_RATE)
                    utts[s].append(Utterance(u.id, path, u.text, reference_wav=u.wav))
                info.append({"id": u.id, "speaker": spk, "frames": mel.shape[-1], "logmel_l1": l1})
                print(f"{spk}/{u.id}: round-trip log-mel L1 {l1:.3f}", flush=True)
    return utts, info


def wer_line(name: str, diff: float, lo: float, hi: float, confidence: float = 0.95) -> str:
    ci = f"{100 * confidence:.0f} % CI {100 * lo:+.2f} … {100 * hi:+.2f}"
    return f"{name} difference VAE − mel: {100 * diff:+.2f} pp ({ci})"


def verdict(diff: float, lo: float, hi: float) -> str:
    if lo <= 0 <= hi:
        return f"within noise: the 95 % CI of the WER difference contains 0 (VAE − mel {100 * diff:+.2f} pp)"
    if diff > 0:
        return f"VAE costs {100 * diff:.2f} pp WER (95 % CI {100 * lo:.2f} … {100 * hi:.2f})"
    return f"VAE lowers WER by {-100 * diff:.2f} pp (95 % CI {-100 * hi:.2f} … {-100 * lo:.2f})"


def report(res: dict[str, Any]) -> str:
    s = res["summary"]
    cols = {COLUMNS[k]: {m: s[k][m] for m in TABLE_KEYS if m in s[k]} for k in SYSTEMS}
    w, c = res["wer_difference"], res["cer_difference"]
    lines = [
        f"## Mel VAE transparency — {res['vae']}, vocoder {res['vocoder']}",
        "",
        f"{s['mel']['n']} utterances ({', '.join(res['speakers'])}; first {res['n_per_speaker']} each), "
        f"pooled over speakers.",
        "",
        markdown_table(cols),
        f"Round-trip log-mel L1 (mean |Δ| per utterance, averaged): {res['logmel_l1']:.3f}",
        "",
        wer_line("WER", w["diff"], w["lo"], w["hi"])
        + f"; paired bootstrap over utterances, {res['bootstrap']} resamples, seed {res['seed']}",
        wer_line("CER", c["diff"], c["lo"], c["hi"]),
        "",
        f"**Verdict: {res['verdict']}**",
        "",
        "| speaker | utterances | WER mel % | WER VAE % | Δ pp | log-mel L1 |",
        "|---|---|---|---|---|---|",
    ]
    for spk, p in res["per_speaker"].items():
        wm, wv = 100 * p["mel"]["wer"], 100 * p["vae"]["wer"]
        lines.append(
            f"| {spk} | {p['mel']['n']} | {wm:.1f} | {wv:.1f} | {wv - wm:+.1f} | {p['logmel_l1']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vae", required=True, help="VAE inference file (.safetensors)")
    p.add_argument("--heldout", required=True, help="folder of SPEAKER/ folders (metadata.csv + wavs/)")
    p.add_argument("--speakers", default="bdl,slt,clb,alan", help="comma-separated speaker folders")
    p.add_argument("--n", type=int, default=15, help="first N sentences of each speaker")
    p.add_argument("--vocoder", default="griffin-lim", help="griffin-lim or a vocoder .safetensors/.onnx")
    p.add_argument("--jobs", type=int, default=2, help="scoring worker processes")
    p.add_argument("--threads", type=int, default=1, help="threads for synthesis and per scoring worker")
    p.add_argument("--out", help="keep the wavs here (default: a temporary folder, deleted)")
    p.add_argument("--json", help="write everything, per-utterance rows included, to this file")
    p.add_argument("--markdown", help="write the report to this file")
    p.add_argument("--bootstrap", type=int, default=10000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = p.parse_args()
    args.speakers = [s.strip() for s in args.speakers.split(",") if s.strip()]
    if not args.speakers or args.n < 1:
        p.error("need at least one speaker and --n >= 1")
    for spk in args.speakers:
        if not (Path(args.heldout) / spk / "metadata.csv").is_file():
            p.error(f"no {Path(args.heldout) / spk / 'metadata.csv'}")
    torch.set_num_threads(args.threads)

    opts = ScoreOptions(asr=True, dnsmos=True, distance=True, jobs=args.jobs, threads=args.threads)
    with tempfile.TemporaryDirectory(prefix="vae-transparency-") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        utts, info = copy_synthesize(args, out)
        rows = {s: score_utterances(utts[s], opts) for s in SYSTEMS}
    for s in SYSTEMS:
        for row, i in zip(rows[s], info):
            row["speaker"] = i["speaker"]
            if s == "vae":
                row["logmel_l1"] = i["logmel_l1"]

    mel_rows, vae_rows = rows["mel"], rows["vae"]
    refs = [r["ref_words"] for r in mel_rows]
    wd, wlo, whi = paired_bootstrap_wer_ci(
        [r["word_errors"] for r in mel_rows],
        [r["word_errors"] for r in vae_rows],
        refs,
        args.bootstrap,
        args.seed,
    )
    cd, clo, chi = paired_bootstrap_wer_ci(
        [r["char_errors"] for r in mel_rows],
        [r["char_errors"] for r in vae_rows],
        [r["ref_chars"] for r in mel_rows],
        args.bootstrap,
        args.seed,
    )
    per_speaker = {}
    for spk in args.speakers:
        keep = [i for i, r in enumerate(mel_rows) if r["speaker"] == spk]
        per_speaker[spk] = {
            "mel": summarize([mel_rows[i] for i in keep]),
            "vae": summarize([vae_rows[i] for i in keep]),
            "logmel_l1": float(np.mean([info[i]["logmel_l1"] for i in keep])),
        }
    res: dict[str, Any] = {
        "vae": args.vae,
        "vocoder": args.vocoder,
        "heldout": args.heldout,
        "speakers": args.speakers,
        "n_per_speaker": args.n,
        "bootstrap": args.bootstrap,
        "seed": args.seed,
        "summary": {s: summarize(rows[s]) for s in SYSTEMS},
        "logmel_l1": float(np.mean([i["logmel_l1"] for i in info])),
        "wer_difference": {"diff": wd, "lo": wlo, "hi": whi, "confidence": 0.95},
        "cer_difference": {"diff": cd, "lo": clo, "hi": chi, "confidence": 0.95},
        "verdict": verdict(wd, wlo, whi),
        "per_speaker": per_speaker,
        "rows": rows,
    }
    md = report(res)
    print("\n" + md)
    if args.markdown:
        Path(args.markdown).write_text(md, encoding="utf-8")
    if args.json:  # NaN (e.g. PESQ on a file it rejects) → null, so the file is strict JSON
        safe = json.loads(json.dumps(res, default=str), parse_constant=lambda _: None)
        Path(args.json).write_text(json.dumps(safe, indent=1, allow_nan=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
