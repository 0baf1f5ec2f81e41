"""LJSpeech-layout metadata reader: column variants, quotes, malformed rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tts.data.ljspeech import read_metadata


def _corpus(tmp_path: Path, text: str, name: str = "myvoice") -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / "metadata.csv").write_text(text, encoding="utf-8")
    return root


def test_three_columns_ljspeech_style(tmp_path):
    root = _corpus(
        tmp_path,
        "LJ001-0001|Printing, in the only sense|Printing, in the only sense\n"
        "LJ001-0002|in 1850 it was|in eighteen fifty it was\n",
    )
    utts, bad = read_metadata(root)
    assert bad == []
    assert [u.id for u in utts] == ["LJ001-0001", "LJ001-0002"]
    assert utts[1].text == "in 1850 it was"
    assert utts[1].normalized == "in eighteen fifty it was"
    assert utts[0].speaker == "myvoice"  # default: the folder name
    assert utts[0].wav_path == root / "wavs" / "LJ001-0001.wav"
    assert utts[1].line == 2


def test_two_columns_and_speaker_override(tmp_path):
    root = _corpus(tmp_path, "a1|Hello there.\na2|General Kenobi.\n")
    utts, bad = read_metadata(root, default_speaker="obi")
    assert bad == []
    assert [(u.id, u.text, u.normalized, u.speaker) for u in utts] == [
        ("a1", "Hello there.", "", "obi"),
        ("a2", "General Kenobi.", "", "obi"),
    ]


def test_four_columns_speaker_and_empty_normalized(tmp_path):
    root = _corpus(tmp_path, "x|Text one.|Text one.|bdl\ny|Text two.||slt\nz|Text three.|Text three.|\n")
    utts, bad = read_metadata(root)
    assert bad == []
    assert [(u.speaker, u.normalized) for u in utts] == [
        ("bdl", "Text one."),
        ("slt", ""),
        ("myvoice", "Text three."),
    ]


def test_quotes_do_not_confuse_the_parser(tmp_path):
    # LJSpeech has unbalanced quotes; a quoting CSV parser would merge these lines
    root = _corpus(
        tmp_path,
        'q1|"He said, go away|"He said, go away\n'
        'q2|and then "nothing" happened.|and then "nothing" happened.\n'
        'q3|The end."|The end."\n',
    )
    utts, bad = read_metadata(root)
    assert bad == []
    assert [u.text for u in utts] == ['"He said, go away', 'and then "nothing" happened.', 'The end."']


def test_malformed_rows_are_reported_not_fatal(tmp_path):
    root = _corpus(
        tmp_path,
        "\ufeffgood1|fine|fine\n"  # byte-order mark at the start
        "just-an-id\n"
        "\n"
        "too|many|fields|here|really\n"
        "../escape|bad id|bad id\n"
        "good1|duplicate|duplicate\n"
        "good2|also fine\r\n",
    )
    utts, bad = read_metadata(root)
    assert [u.id for u in utts] == ["good1", "good2"]
    assert utts[1].text == "also fine"
    assert [(b.line, b.reason) for b in bad] == [
        (2, "malformed_row"),
        (4, "malformed_row"),
        (5, "malformed_row"),
        (6, "duplicate_id"),
    ]


def test_missing_metadata_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="metadata.csv"):
        read_metadata(tmp_path)


def test_large_metadata_is_linear(tmp_path):
    rows = "".join(f"LJ{i:06d}|Some text number {i}.|Some text number {i}.\n" for i in range(13100))
    utts, bad = read_metadata(_corpus(tmp_path, rows))
    assert len(utts) == 13100 and not bad
