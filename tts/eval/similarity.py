"""Speaker similarity (SIM): cosine of speaker embeddings, with Resemblyzer's voice encoder.

The encoder (PyPI ``Resemblyzer``, weights in the wheel) is the GE2E speaker-verification network of
Wan et al. (ICASSP 2018, "Generalized End-to-End Loss for Speaker Verification"): three LSTM layers
over 40-band mels of 1.6 s partial windows, averaged into one L2-normalised 256-d utterance
embedding. Audio is resampled to 16 kHz, brought up to -30 dBFS and stripped of long pauses by
WebRTC's voice activity detector (Resemblyzer's own preprocessing) before embedding.

A speaker's embedding is the L2-normalised mean of its utterance embeddings (as GE2E's centroids).
SIM of an utterance = cosine with the speaker embedding of the *reference recordings* of the voice
it imitates: 1 is the same voice; measured here with flite, other sentences of the same voice score
≈ 0.85–0.9 and another voice ≈ 0.6.

Letters used for shapes: L samples, N utterances, E = 256 embedding size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tts.eval.judges import require

SIM_SAMPLE_RATE = 16000


class SpeakerEncoder:
    """``encoder.embed(wav, sr) -> (E,)``: unit-norm speaker embedding of one utterance."""

    def __init__(self) -> None:
        require("sim")
        import warnings

        with warnings.catch_warnings():  # Resemblyzer 0.1.4 imports a deprecated scipy.ndimage path
            warnings.simplefilter("ignore", DeprecationWarning)
            from resemblyzer import VoiceEncoder

        self._enc = VoiceEncoder("cpu", verbose=False)

    def embed(self, wav: np.ndarray, sample_rate: int) -> np.ndarray:
        """``wav: (L,)`` float audio → ``(E,)`` float32 with norm 1."""
        from resemblyzer import preprocess_wav

        from tts.audio import resample

        if wav.ndim != 1 or wav.size == 0:
            raise ValueError(f"expected non-empty mono audio (L,), got shape {wav.shape}")
        wav16 = resample(wav.astype(np.float32), sample_rate, SIM_SAMPLE_RATE)
        trimmed = preprocess_wav(wav16)
        if trimmed.size < SIM_SAMPLE_RATE // 10:  # the VAD found (almost) no speech: embed it all
            trimmed = wav16
        return _unit(self._enc.embed_utterance(trimmed))


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = float(np.linalg.norm(x))
    if n == 0.0:
        raise ValueError("zero embedding")
    return x / n


def speaker_embedding(embeddings: Sequence[np.ndarray]) -> np.ndarray:
    """L2-normalised mean of utterance embeddings ``N × (E,)`` → ``(E,)``."""
    if len(embeddings) == 0:
        raise ValueError("no embeddings")
    return _unit(np.mean(np.stack([_unit(e) for e in embeddings]), axis=0))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings ``(E,)``, in [-1, 1]."""
    return float(np.dot(_unit(a), _unit(b)))
