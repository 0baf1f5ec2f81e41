"""Reader for LJSpeech-layout corpora: ``CORPUS/metadata.csv`` + ``CORPUS/wavs/ID.wav``.

``metadata.csv`` has one utterance per line, fields separated by ``|``:

- ``id|text``                       (2 columns)
- ``id|text|normalized``            (3 columns, LJSpeech-1.1 itself)
- ``id|text|normalized|speaker``    (4 columns; the normalized field may be empty)

Lines are split on ``|`` and nothing else: LJSpeech texts contain unbalanced ``"`` characters
that a quoting CSV parser would swallow across lines. The default speaker is the corpus folder
name. Blank lines and lines starting with ``#`` are ignored. Malformed rows (a missing text field,
an id that is not a plain file name, a repeated id) are reported, never fatal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

METADATA_FILE = "metadata.csv"
WAV_DIR = "wavs"

# Ids name files (wavs/ID.wav, mels/ID.npy): no separators, no leading dot, no control characters.
_VALID_ID = re.compile(r"^[^/\\\x00-\x1f.][^/\\\x00-\x1f]*$")


@dataclass(frozen=True)
class Utterance:
    """One metadata row. ``normalized`` is ``""`` when the corpus has no normalized column."""

    id: str
    text: str
    normalized: str
    speaker: str
    wav_path: Path
    line: int  #: 1-based line number in metadata.csv, for messages


@dataclass(frozen=True)
class BadRow:
    """A metadata line that could not become an :class:`Utterance`."""

    line: int
    id: str
    reason: str  #: "malformed_row" | "duplicate_id"
    detail: str


def parse_line(line: str) -> list[str]:
    """Split one metadata line into stripped fields (no CSV quoting: ``"`` is ordinary text)."""
    return [f.strip() for f in line.rstrip("\r\n").split("|")]


def iter_metadata(corpus_dir: str | Path, default_speaker: str | None = None) -> Iterator[Utterance | BadRow]:
    """Yield an :class:`Utterance` or a :class:`BadRow` per non-blank line of ``metadata.csv``."""
    root = Path(corpus_dir)
    meta = root / METADATA_FILE
    if not meta.is_file():
        raise FileNotFoundError(
            f"{meta} not found: an LJSpeech-layout corpus needs metadata.csv (id|text|normalized) and wavs/"
        )
    speaker0 = default_speaker or root.resolve().name or "speaker"
    seen: set[str] = set()
    # utf-8-sig drops a byte-order mark; bad bytes become U+FFFD instead of aborting the whole read
    with meta.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            fields = parse_line(raw)
            uid = fields[0]
            if len(fields) < 2 or len(fields) > 4:
                yield BadRow(
                    lineno, uid, "malformed_row", f"expected 2-4 '|'-separated fields, got {len(fields)}"
                )
                continue
            if not _VALID_ID.match(uid):
                yield BadRow(lineno, uid, "malformed_row", f"invalid utterance id {uid!r}")
                continue
            if uid in seen:
                yield BadRow(lineno, uid, "duplicate_id", f"id {uid!r} already appeared earlier")
                continue
            seen.add(uid)
            normalized = fields[2] if len(fields) >= 3 else ""
            speaker = fields[3] if len(fields) == 4 and fields[3] else speaker0
            yield Utterance(uid, fields[1], normalized, speaker, root / WAV_DIR / f"{uid}.wav", lineno)


def read_metadata(
    corpus_dir: str | Path, default_speaker: str | None = None
) -> tuple[list[Utterance], list[BadRow]]:
    """All rows of an LJSpeech-layout corpus: ``(utterances, bad_rows)`` in file order."""
    good: list[Utterance] = []
    bad: list[BadRow] = []
    for item in iter_metadata(corpus_dir, default_speaker):
        if isinstance(item, Utterance):
            good.append(item)
        else:
            bad.append(item)
    return good, bad
