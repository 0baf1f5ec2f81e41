"""The SSML subset (tts.text.ssml) and the pronunciation lexicon (tts.text.pronunciations)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tts.text.alignment import SourceText
from tts.text.frontend import Run, analyse
from tts.text.pronunciations import Lexicon
from tts.text.ssml import SSMLWarning, parse_ssml


def utterances(ssml: str, lexicon: Lexicon | None = None):
    return analyse(parse_ssml(ssml), lexicon=lexicon, input_text=ssml)


def test_break_inside_a_sentence_and_between_sentences() -> None:
    doc = '<speak>Hello <break time="500ms"/> world. <break time="1.5s"/>Next one.</speak>'
    first, second = utterances(doc)
    assert first.breaks == ((1, 0.5),) and [w.text for w in first.words] == ["Hello", "world"]
    assert second.pause == pytest.approx(1.5)
    assert parse_ssml('<speak>a <break strength="none"/> b</speak>')[0].breaks == ((2, 0.0),)


def test_word_offsets_point_into_the_markup() -> None:
    doc = (
        '<speak>Pay <say-as interpret-as="cardinal">42</say-as> &amp; '
        '<sub alias="World Wide Web">WWW</sub>.</speak>'
    )
    (u,) = utterances(doc)
    assert [doc[w.char_start : w.char_end] for w in u.words] == ["Pay", "42", "&amp;", "WWW"]
    assert "fˈɔːɹɾitˈuː" in u.phonemes and "wˈɜːld" in u.phonemes


@pytest.mark.parametrize(
    ("kind", "fmt", "text", "spoken"),
    [
        ("characters", "", "abc", "ˈeɪ bˈiː sˈiː"),
        ("ordinal", "", "3", "θˈɜːd"),
        ("digits", "", "42", "fˈoːɹ tˈuː"),
        ("date", "dmy", "25/12/2024", "dᵻsˈɛmbɚ"),
        ("telephone", "", "555-12", "fˈaɪv fˈaɪv fˈaɪv, wˈʌn tˈuː"),
    ],
)
def test_say_as(kind: str, fmt: str, text: str, spoken: str) -> None:
    f = f' format="{fmt}"' if fmt else ""
    (u,) = utterances(f'<speak><say-as interpret-as="{kind}"{f}>{text}</say-as></speak>')
    assert spoken in u.phonemes


def test_phoneme_voice_prosody_and_emphasis() -> None:
    doc = (
        '<speak><phoneme alphabet="ipa" ph="təmˈɑːtoʊ">tomato</phoneme> <voice name="bob">said '
        '<prosody rate="x-slow">slowly</prosody></voice> <emphasis>now</emphasis>.</speak>'
    )
    a, b, c, d = utterances(doc)
    assert a.phonemes == "təmˈɑːtoʊ" and a.words[0].text == "tomato"
    assert (b.speaker, b.rate, b.pause) == ("bob", 1.0, 0.0)
    assert (c.speaker, c.rate) == ("bob", 0.6)
    assert d.speaker is None and "nˈaʊ" in d.phonemes


def test_p_and_s_split_sentences_and_unknown_tags_warn() -> None:
    with pytest.warns(SSMLWarning, match="unknown SSML element <foo>"):
        us = utterances("<speak><s>one thing</s><s>two <foo>things</foo></s></speak>")
    assert [u.text.strip() for u in us] == ["one thing", "two things"]
    assert us[1].pause is None  # the voice's sentence pause


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ("<speak>oops <b></speak>", "line 1, column 18: mismatched tag"),
        ("<speak>\nline two <break time='x'/></speak>", "line 2, column 10"),
        ("<speak><prosody rate='9000%'>x</prosody></speak>", "prosody rate"),
        ('<!DOCTYPE s [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><speak>&b;</speak>', "document type"),
        ('<speak><break time="100s"/></speak>', "longer than"),
    ],
)
def test_bad_ssml_is_a_value_error_with_its_place(doc: str, match: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            parse_ssml(doc)


# ------------------------------------------------------------------------------ lexicon
def test_lexicon_case_rules_ipa_and_respelling() -> None:
    lex = Lexicon.from_text("# names\nnguyen\t/ŋwɪn/\nUS\tyou ess\nSQL\tsequel\n\n")
    (u,) = analyse([Run(SourceText.identity("NGUYEN and us, SQL."))], lexicon=lex)
    assert u.phonemes.startswith("ŋwɪn") and "sˈiːkwəl" in u.phonemes and "jˈuː ˈɛs" not in u.phonemes
    assert lex.lookup("Nguyen").ipa and lex.lookup("US").text == "you ess" and lex.lookup("us") is None


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ok\tfine\nno tab here\n", "lex.tsv:2: expected WORD<TAB>PRONUNCIATION"),
        ("two words\tx\n", "lex.tsv:1: the word must be a single word"),
        ("word\t\n", "lex.tsv:1: empty pronunciation"),
        ("word\tx\ty\n", "lex.tsv:1: more than two columns"),
        ("word\tx1\n", "lex.tsv:1: a respelling is letters"),
    ],
)
def test_bad_lexicon_lines_name_the_line(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "lex.tsv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        Lexicon.load(p)
