"""Word timings to files: JSON (one object per word), SubRip ``.srt`` and WebVTT ``.vtt`` captions.

The JSON is a list of ``{"word", "start", "end", "char_start", "char_end"}`` (seconds; offsets into
the text that was spoken, :class:`tts.core.output.Word`). Captions group consecutive words into cues of
at most ``MAX_CUE_WORDS`` words and ``MAX_CUE_CHARS`` characters, cut early at a pause of
``CUE_GAP`` seconds or more; cue times are those of their first and last word. Formats: SubRip as
commonly implemented (``HH:MM:SS,mmm``); WebVTT per the W3C WebVTT recommendation (``WEBVTT``
header, ``HH:MM:SS.mmm``). Files are written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tts.core.files import default_file_mode
from tts.core.output import Word

TIMESTAMP_FORMATS = (".json", ".srt", ".vtt")
MAX_CUE_WORDS = 8
MAX_CUE_CHARS = 42
CUE_GAP = 0.2


def words_to_json(words: Sequence[Word]) -> str:
    return json.dumps([w.to_dict() for w in words], ensure_ascii=False, indent=1) + "\n"


def cues(words: Sequence[Word]) -> list[tuple[float, float, str]]:
    """Caption cues ``(start, end, text)`` (see the module docstring)."""
    out: list[tuple[float, float, str]] = []
    group: list[Word] = []
    for w in words:
        text = " ".join(x.text for x in [*group, w])
        if group and (
            len(group) >= MAX_CUE_WORDS or len(text) > MAX_CUE_CHARS or w.start - group[-1].end >= CUE_GAP
        ):
            out.append((group[0].start, group[-1].end, " ".join(x.text for x in group)))
            group = []
        group.append(w)
    if group:
        out.append((group[0].start, group[-1].end, " ".join(x.text for x in group)))
    return out


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def words_to_srt(words: Sequence[Word]) -> str:
    blocks = [
        f"{i}\n{_clock(a, ',')} --> {_clock(b, ',')}\n{' '.join(text.split())}\n"
        for i, (a, b, text) in enumerate(cues(words), 1)
    ]
    return "\n".join(blocks)


def words_to_vtt(words: Sequence[Word]) -> str:
    blocks = [
        f"{_clock(a, '.')} --> {_clock(b, '.')}\n{' '.join(text.split()).replace('-->', '->')}\n"
        for a, b, text in cues(words)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def write_timestamps(path: str | Path, words: Sequence[Word]) -> Path:
    """Write ``words`` as JSON, SRT or VTT, chosen by the suffix of ``path``; ``ValueError`` for others."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in TIMESTAMP_FORMATS:
        raise ValueError(f"timestamps file {p}: name it .json, .srt or .vtt")
    text = {".json": words_to_json, ".srt": words_to_srt, ".vtt": words_to_vtt}[suffix](words)
    parent = p.parent if str(p.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
