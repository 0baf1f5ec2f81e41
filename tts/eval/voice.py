"""Whole-voice evaluations: synthesise held-out sentences and compare with the teacher's recordings,
and copy-synthesis (mel → vocoder) of a folder as a reference degradation.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tts.eval.score import (
    ScoreOptions,
    Utterance,
    find_wav,
    read_metadata,
    score_utterances,
)

CACHE_NAME = ".tts-eval-cache.json"
CACHE_VERSION = 2  #: 2: rows carry the recogniser, DistillMOS and SIM


def _file_key(p: Path) -> str:
    st = p.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def score_with_cache(utts: Sequence[Utterance], opts: ScoreOptions, cache_dir: Path) -> list[dict[str, Any]]:
    """:func:`score_utterances` with results kept in ``cache_dir/.tts-eval-cache.json``.

    Meant for fixed audio such as teacher recordings, scored again at every evaluation otherwise.
    An entry is reused only for the same file (size, mtime), text and judge options.
    """
    path = cache_dir / CACHE_NAME
    opt_key = json.dumps(
        {k: v for k, v in asdict(opts).items() if k in ("asr", "dnsmos", "distillmos", "sim", "distance")}
    )
    cache: dict[str, Any] = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION:
                cache = data.get("rows", {})
        except (OSError, ValueError):
            cache = {}

    def key(u: Utterance) -> str:
        return f"{_file_key(u.wav)}|{u.text}|{opt_key}"

    todo = [u for u in utts if cache.get(u.id, {}).get("key") != key(u)]
    if todo:
        for u, row in zip(todo, score_utterances(todo, opts)):
            cache[u.id] = {"key": key(u), "row": row}
        try:
            fd, tmp = tempfile.mkstemp(prefix=".tts-eval-cache.", dir=cache_dir)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": CACHE_VERSION, "rows": cache}, f)
            os.replace(tmp, path)
        except OSError:  # a read-only data folder only costs a re-scoring next time
            pass
    return [cache[u.id]["row"] for u in utts]


def heldout_utterances(heldout: Path, limit: int | None = None) -> list[Utterance]:
    """Teacher utterances of a held-out folder (``metadata.csv`` + ``wavs/``)."""
    rows = read_metadata(heldout / "metadata.csv")[:limit]
    return [Utterance(uid, find_wav(heldout, uid), text) for uid, text in rows]


def synthesize_to(
    synth_fn: Callable[[str], Any], utts: Sequence[Utterance], out_dir: Path
) -> list[Utterance]:
    """Write ``synth_fn(text)`` (an ``Audio``) as ``out_dir/wavs/ID.wav`` for every utterance.

    Returns utterances of the new files, each with the teacher's file as ``reference_wav``. Also writes
    ``out_dir/metadata.csv`` so the folder can be scored again with ``tts-eval dir``.
    """
    from tqdm import tqdm

    wav_dir = out_dir / "wavs"
    wav_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for u in tqdm(utts, unit="utt", desc="synthesising"):
        path = wav_dir / f"{u.id}.wav"
        synth_fn(u.text).save(path)
        out.append(Utterance(u.id, path, u.text, reference_wav=u.wav))
    (out_dir / "metadata.csv").write_text("".join(f"{u.id}|{u.text}\n" for u in utts), encoding="utf-8")
    return out


def copy_synthesis(
    src: Path,
    out_dir: Path,
    vocoder: str = "griffin-lim",
    limit: int | None = None,
    threads: int = 1,
    precision: str = "fp32",
    phase_iterations: int = 0,
    vae: str | Path | None = None,
) -> list[Utterance]:
    """Re-synthesise each wav of ``src`` from its 80-bin log-mel with ``vocoder``
    (``precision``: see :mod:`tts.models.precision`; ``phase_iterations``: phase refinement after an iSTFT
    vocoder, as ``voice.json``'s, :mod:`tts.core.spectral`).

    With ``vae`` (a mel-VAE weights file) the mel makes a round trip through it first (encoder's
    posterior mean → decoder), so the copies measure what the VAE and the vocoder lose together:
    the ceiling of an acoustic model that predicts that VAE's latents exactly.

    Writes ``out_dir/wavs/ID.wav`` + ``out_dir/metadata.csv``; returns utterances whose reference is
    the source file. ``vocoder``: ``"griffin-lim"`` or a vocoder file (see
    ``tts.models.vocoder.load_vocoder``).
    """
    import torch
    from tqdm import tqdm

    from tts.audio import AudioConfig, MelSpectrogram, load_audio, save_audio
    from tts.models.precision import apply_precision
    from tts.models.vocoder import load_vocoder

    torch.set_num_threads(threads)
    cfg = AudioConfig()
    mel_fn = MelSpectrogram(cfg)
    voc = load_vocoder(vocoder, "cpu")
    apply_precision(precision, "cpu", voc)
    mel_vae = None
    if vae is not None:
        from tts.models.vae import load_vae

        mel_vae = load_vae(vae, "cpu").eval()
    if phase_iterations:
        if not hasattr(voc, "phase_iterations"):
            raise ValueError(f"phase refinement needs an iSTFT vocoder, not {vocoder}")
        voc.phase_iterations = int(phase_iterations)
    rows = read_metadata(src / "metadata.csv")[:limit]
    (out_dir / "wavs").mkdir(parents=True, exist_ok=True)
    out = []
    with torch.inference_mode():
        for uid, text in tqdm(rows, unit="utt", desc="copy-synthesis"):
            ref = find_wav(src, uid)
            wav, _ = load_audio(ref, sample_rate=cfg.sample_rate)
            mel = mel_fn(torch.from_numpy(wav)[None])
            if mel_vae is not None:
                z, _ = mel_vae.encode(mel)
                mel = mel_vae.decode(z)[0][..., : mel.shape[-1]]
            y = voc(mel)[0].float().numpy()
            path = save_audio(out_dir / "wavs" / f"{uid}.wav", y, cfg.sample_rate)
            out.append(Utterance(uid, path, text, reference_wav=ref))
    (out_dir / "metadata.csv").write_text("".join(f"{u}|{t}\n" for u, t in rows), encoding="utf-8")
    return out


def compare(ours: dict[str, Any], teacher: dict[str, Any]) -> dict[str, Any]:
    """Differences ours − teacher for the metrics both have (WER: lower is better; DNSMOS: higher)."""
    return {
        k: ours[k] - teacher[k]
        for k in ours
        if k in teacher
        and k != "n"
        and isinstance(ours[k], (int, float))
        and isinstance(teacher[k], (int, float))
    }
