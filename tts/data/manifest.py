"""The prepared-data folder: ``manifest.json`` + ``train.jsonl`` / ``val.jsonl`` + cached wavs and mels.

This module owns the on-disk format (reading it back as a :class:`Manifest`, writing it atomically)
and the two corpus-level decisions made from it: the train/val split and the mel statistics.

Split: every id gets a fixed pseudo-random score in [0, 1) from the SHA-1 of the id. With a fraction ``f`` the
validation set is ``{id : score < f}``; with a count ``N`` it is the previous validation set (what
is still in the corpus) topped up with the lowest-scoring new ids. Either way an utterance never
moves between splits as the corpus grows, so validation losses stay comparable across re-runs.

Statistics: per-bin mean and standard deviation of the raw log-mels of the train split, combined
file by file with Chan et al.'s parallel update of (count, mean, M2) in float64 ("Updating formulae
and a pairwise algorithm for computing sample variances", 1979), so the result does not depend on
the order or on how many workers read the files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from tts.audio import AudioConfig
    from tts.text import Tokenizer

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
SPLITS = {"train": "train.jsonl", "val": "val.jsonl"}
ROW_KEYS = ("id", "speaker", "text", "normalized", "phonemes", "n_samples", "n_frames", "wav", "mel")


@dataclass
class Manifest:
    """A prepared data folder, as read by :func:`load_manifest`."""

    root: Path
    audio: AudioConfig
    tokenizer: Tokenizer
    speakers: list[str]
    mel_mean: torch.Tensor  #: (n_mels,) raw log-mel mean over the train split
    mel_std: torch.Tensor  #: (n_mels,)
    splits: dict[str, str] = field(default_factory=lambda: dict(SPLITS))
    summary: dict[str, Any] = field(default_factory=dict)
    #: speaker -> espeak language of its phonemes (empty in folders prepared before it was recorded)
    languages: dict[str, str] = field(default_factory=dict)

    def speaker_id(self, name: str) -> int:
        """Index of speaker ``name`` (its position in ``speakers``)."""
        try:
            return self.speakers.index(name)
        except ValueError:
            raise ValueError(f"unknown speaker {name!r}; manifest has {self.speakers}") from None

    def rows(self, split: str) -> list[dict[str, Any]]:
        """Utterance rows of ``split`` (``"train"`` or ``"val"``) in file order."""
        if split not in self.splits:
            raise ValueError(
                f"unknown split {split!r}; {self.root / MANIFEST_FILE} has {sorted(self.splits)}"
            )
        return read_jsonl(self.root / self.splits[split])

    def path(self, relative: str) -> Path:
        """Absolute path of a file named relative to the data folder (``row["mel"]``…)."""
        return self.root / relative


def load_manifest(data_dir: str | Path) -> Manifest:
    """Read ``DATA/manifest.json``; raises a clear error if it is missing or not this format."""
    import torch

    from tts.audio import AudioConfig
    from tts.core.config import from_dict
    from tts.text import Tokenizer

    root = Path(data_dir)
    path = root / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found; create it with `tts-train prepare CORPUS {root}`")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
    version = d.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {version!r} is not supported (expected {FORMAT_VERSION})")
    missing = [k for k in ("audio", "tokenizer", "speakers", "mel_mean", "mel_std") if k not in d]
    if missing:
        raise ValueError(f"{path} lacks {missing}")
    audio = from_dict(AudioConfig, d["audio"])
    mean = torch.tensor(d["mel_mean"], dtype=torch.float32)
    std = torch.tensor(d["mel_std"], dtype=torch.float32)
    if mean.shape != (audio.n_mels,) or std.shape != (audio.n_mels,):
        raise ValueError(f"{path}: mel_mean/mel_std must have {audio.n_mels} values")
    return Manifest(
        root=root,
        audio=audio,
        tokenizer=Tokenizer.from_dict(d["tokenizer"]),
        speakers=list(d["speakers"]),
        mel_mean=mean,
        mel_std=std,
        splits=dict(d.get("splits", SPLITS)),
        summary=dict(d.get("summary", {})),
        languages={str(k): str(v) for k, v in d.get("languages", {}).items()},
    )


# ---------------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------------


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file next to ``path`` and rename it over ``path``."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    """``np.save`` through a temp file + rename, so a killed run never leaves a truncated array."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines file (blank lines ignored)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found; re-run `tts-train prepare`")
    with p.open("r", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Atomically write one compact JSON object per line (UTF-8, non-ASCII kept readable)."""
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------------------------


def split_score(uid: str) -> float:
    """Fixed pseudo-random number in [0, 1) for an utterance id (independent of the corpus)."""
    return int.from_bytes(hashlib.sha1(uid.encode("utf-8")).digest()[:8], "big") / 2.0**64


def choose_val(
    ids: list[str],
    *,
    val_size: int | None = 100,
    val_fraction: float | None = None,
    previous_val: Iterable[str] = (),
) -> set[str]:
    """Validation ids, stable under corpus growth (see the module docstring).

    At most half of ``ids`` go to validation so a tiny corpus still trains.
    """
    if val_fraction is not None:
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
        val = {u for u in ids if split_score(u) < val_fraction}
        if len(val) > len(ids) // 2:
            val = set(sorted(val, key=lambda u: (split_score(u), u))[: len(ids) // 2])
        return val
    n = int(val_size or 0)
    if n < 0:
        raise ValueError(f"val_size must be >= 0, got {n}")
    n = min(n, len(ids) // 2)
    present = set(ids)
    kept = sorted((u for u in set(previous_val) if u in present), key=lambda u: (split_score(u), u))
    val = set(kept[:n])
    if len(val) < n:
        rest = sorted((u for u in ids if u not in val), key=lambda u: (split_score(u), u))
        val.update(rest[: n - len(val)])
    return val


# ---------------------------------------------------------------------------------------------
# Mel statistics
# ---------------------------------------------------------------------------------------------


def mel_moments(path: str | Path) -> tuple[int, np.ndarray, np.ndarray]:
    """``(count, mean (M,), M2 (M,))`` over the frames of one cached mel ``(M, T)`` (float64)."""
    mel = np.load(path, mmap_mode="r")
    x = np.asarray(mel, dtype=np.float64)
    mean = x.mean(axis=1)
    m2 = np.square(x - mean[:, None]).sum(axis=1)
    return x.shape[1], mean, m2


def combine_moments(
    a: tuple[int, np.ndarray, np.ndarray], b: tuple[int, np.ndarray, np.ndarray]
) -> tuple[int, np.ndarray, np.ndarray]:
    """Chan et al. (1979) pairwise merge of two (count, mean, M2) summaries."""
    na, ma, sa = a
    nb, mb, sb = b
    if na == 0:
        return b
    if nb == 0:
        return a
    n = na + nb
    delta = mb - ma
    return n, ma + delta * (nb / n), sa + sb + np.square(delta) * (na * nb / n)


def finish_moments(
    moments: tuple[int, np.ndarray, np.ndarray], n_mels: int
) -> tuple[list[float], list[float]]:
    """``(mean, std)`` lists; an empty split gives zeros and ones (identity normalisation)."""
    n, mean, m2 = moments
    if n == 0:
        return [0.0] * n_mels, [1.0] * n_mels
    std = np.sqrt(np.maximum(m2 / n, 1e-10))
    return [float(v) for v in mean], [float(v) for v in std]
