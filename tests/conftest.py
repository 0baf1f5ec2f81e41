"""Shared test fixtures: generated audio and tiny LJSpeech-layout corpora (no downloads)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

# (text, normalized) pairs; quotes and abbreviations on purpose (LJSpeech has unbalanced quotes)
SENTENCES: list[tuple[str, str]] = [
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ('He said "hello" to me.', 'He said "hello" to me.'),
    ("Dr. Smith lives at 42 Main St.", "Doctor Smith lives at forty-two Main Street."),
    ("Why not try again?", "Why not try again?"),
    ('"Open the door, he cried', '"Open the door, he cried'),
    ("Birds sing in the early morning.", "Birds sing in the early morning."),
    ("It cost 3 dollars in 1999.", "It cost three dollars in nineteen ninety-nine."),
    ("Rain fell; the river rose.", "Rain fell; the river rose."),
]


def speech_like(seconds: float, sample_rate: int = 22050, seed: int = 0) -> np.ndarray:
    """A voiced, speech-like test signal: float32 ``(round(seconds * sample_rate),)`` in [-0.6, 0.6].

    Harmonics of a gliding f0 (90–220 Hz, with vibrato) under a slow formant-like tilt, amplitude
    modulated at a syllable rate (3–5 Hz), a little breath noise, and 0.1 s of silence at each end.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    f0_start, f0_end = rng.uniform(90, 220, size=2)
    f0 = np.linspace(f0_start, f0_end, n) * (1 + 0.03 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    formant = rng.uniform(400, 1200)
    wav = np.zeros(n)
    for k in range(1, 30):
        freq = k * f0
        amp = np.where(freq < sample_rate / 2 - 200, 1 / k, 0.0) * (
            1 + 2 * np.exp(-(((freq - formant) / 300) ** 2))
        )
        wav += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    syllable = 0.5 * (1 - np.cos(2 * np.pi * rng.uniform(3, 5) * t))
    wav = wav * (0.2 + 0.8 * syllable) + 0.01 * rng.standard_normal(n)
    edge = min(n // 4, int(0.1 * sample_rate))
    env = np.ones(n)
    env[:edge] = 0.0
    env[n - edge :] = 0.0
    wav *= env
    return (0.6 * wav / max(1e-9, np.abs(wav).max())).astype(np.float32)


def write_ljspeech_corpus(
    root: Path,
    n: int = 6,
    *,
    sample_rate: int = 16000,
    seed: int = 0,
    columns: int = 3,
    speakers: Sequence[str] | None = None,
    durations: Sequence[float] | None = None,
) -> Path:
    """Write ``root/metadata.csv`` + ``root/wavs/LJ000-NNNN.wav`` (16-bit) and return ``root``.

    ``columns``: 2 (``id|text``), 3 (``id|text|normalized``) or 4 (+ speaker, cycling ``speakers``).
    Durations are 0.5–2 s unless given.
    """
    import soundfile as sf

    root.mkdir(parents=True, exist_ok=True)
    (root / "wavs").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    speakers = list(speakers or ["alice", "bob"])
    lines = []
    for i in range(n):
        uid = f"LJ000-{i:04d}"
        text, norm = SENTENCES[i % len(SENTENCES)]
        seconds = durations[i] if durations is not None else float(rng.uniform(0.5, 2.0))
        sf.write(
            root / "wavs" / f"{uid}.wav", speech_like(seconds, sample_rate, seed * 1000 + i), sample_rate
        )
        fields = [uid, text, norm, speakers[i % len(speakers)]][:columns]
        lines.append("|".join(fields))
    (root / "metadata.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def speech_like_wav() -> Callable[..., np.ndarray]:
    """Factory: ``speech_like_wav(seconds, sample_rate=22050, seed=0) -> (L,) float32``."""
    return speech_like


@pytest.fixture(scope="session")
def make_ljspeech_corpus() -> Callable[..., Path]:
    """Factory: ``make_ljspeech_corpus(root, n=6, sample_rate=16000, seed=0, columns=3, ...) -> root``."""
    return write_ljspeech_corpus


@pytest.fixture
def ljspeech_corpus(tmp_path: Path) -> Path:
    """A fresh 6-utterance, 16 kHz, 3-column LJSpeech-layout corpus in ``tmp_path/corpus``."""
    return write_ljspeech_corpus(tmp_path / "corpus", 6)


@pytest.fixture(scope="session")
def prepared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared data folder (``tts-train prepare`` output) of 6 clips, 1 of them in val. Read-only."""
    from tts.data.prepare import PrepareConfig, prepare_corpus

    root = tmp_path_factory.mktemp("prepared")
    corpus = write_ljspeech_corpus(root / "corpus", 6, durations=[0.6, 1.9, 0.9, 1.2, 0.5, 1.5])
    prepare_corpus(corpus, root / "data", PrepareConfig(val_size=1), jobs=1, progress=False)
    return root / "data"
