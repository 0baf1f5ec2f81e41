"""Torch-free file helpers: atomic audio writes, the file mode they get, and ``CheckpointError``.

Kept apart from :mod:`tts.audio` (which needs torch for its mel front end) so that the ONNX
runtime (:mod:`tts.runtime.onnx`) can write its output without importing torch.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}  #: suffix -> soundfile format


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, of the wrong kind, or incompatible (``tts.models.checkpoint``)."""


def default_file_mode() -> int:
    """The mode an ordinary ``open(..., "w")`` would give (mkstemp files are 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_audio(path: str | Path, wav: np.ndarray, sample_rate: int) -> Path:
    """Write mono audio as 16-bit PCM wav or flac (by suffix), atomically (temp file + rename).

    Nothing is left under ``path`` if writing fails. ``wav: (L,)`` float in [-1, 1] (clipped).
    """
    import soundfile as sf

    p = Path(path)
    fmt = AUDIO_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ValueError(f"unsupported output format {p.suffix!r} for {p}; use .wav or .flac")
    wav = np.clip(np.asarray(wav, dtype=np.float32).reshape(-1), -1.0, 1.0)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OSError(f"output directory does not exist: {parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=p.suffix, dir=parent)
    os.close(fd)
    os.chmod(tmp, default_file_mode())
    try:
        sf.write(tmp, wav, sample_rate, format=fmt, subtype="PCM_16")
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (checkpoints record their parts', set-up scripts pin assets')."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
