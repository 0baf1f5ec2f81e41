"""Property-based tests (hypothesis) of the normaliser, the SSML parser and the word-span mapping:
no crash on arbitrary Unicode; word spans ordered, inside the input, covering every spoken word."""

from __future__ import annotations

import warnings

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tts.text import normalize  # noqa: E402
from tts.text.alignment import SourceText, align_words, group_words, word_ranges  # noqa: E402
from tts.text.ssml import parse_ssml  # noqa: E402

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# text that looks like what people write: words, numbers, money, symbols, punctuation, any Unicode
pieces = st.one_of(
    st.sampled_from(["Dr.", "$42.50", "3:30 pm", "1999", "U.S.", "NASA", "5%", "&", "—", "(x)", "[[h ə]]"]),
    st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True),
    st.from_regex(r"[0-9]{1,6}(\.[0-9]{1,2})?", fullmatch=True),
    st.text(max_size=6),
)
texts = st.lists(pieces, max_size=12).map(" ".join)


@FAST
@given(st.text(max_size=80))
def test_normalize_never_crashes_on_unicode(text: str) -> None:
    try:
        out = normalize(text)
    except ValueError as e:  # only unbalanced [[ ]] overrides are refused
        assert "override" in str(e)
        return
    assert isinstance(out, str) and out == out.strip()


@FAST
@given(texts)
def test_word_spans_are_ordered_inside_the_input_and_cover_every_word(text: str) -> None:
    try:
        norm = normalize(text)
    except ValueError:
        return
    words = word_ranges(norm)
    ranges = align_words(text, norm, words)
    groups = group_words(SourceText.identity(text), ranges)
    assert [i for g in groups for i in g.words] == list(range(len(words)))  # every word, once, in order
    end = 0
    for g in groups:
        assert end <= g.char_start <= g.char_end <= len(text)
        end = g.char_end


@FAST
@given(st.text(max_size=60))
def test_ssml_parser_never_crashes(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for doc in (text, f"<speak>{text}</speak>", f'<speak><s>{text}</s><break time="1s"/></speak>'):
            try:
                runs = parse_ssml(doc)
            except ValueError:
                continue
            for run in runs:
                assert all(0 <= a <= b <= len(doc) for a, b in zip(run.source.starts, run.source.ends))
