"""Text normaliser: numbers, money, times, dates, abbreviations, Roman numerals, symbols, acronyms."""

from __future__ import annotations

import re

import pytest

from tts.text import normalize, split_sentences
from tts.text.normalize import split_overrides
from tts.text.numbers import cardinal, decade, fraction, number, ordinal, year

CASES = [
    ("$42.50", "forty-two dollars and fifty cents"),
    ("$1", "one dollar"),
    ("$1.00", "one dollar"),
    ("$0.99", "ninety-nine cents"),
    ("£3.05", "three pounds and five pence"),
    ("£1.01", "one pound and one penny"),
    ("€1.5 million", "one point five million euros"),
    ("$2B", "two billion dollars"),
    ("$5bn", "five billion dollars"),
    ("$3.2M", "three point two million dollars"),
    ("€20", "twenty euros"),
    ("¥100", "one hundred yen"),
    ("-$5", "minus five dollars"),
    ("It costs 42.50 USD.", "It costs forty-two dollars and fifty cents."),
    ("99¢", "ninety-nine cents"),
    ("$1,000,000", "one million dollars"),
    ("1", "one"),
    ("0", "zero"),
    ("13", "thirteen"),
    ("42", "forty-two"),
    ("100", "one hundred"),
    ("101", "one hundred one"),
    ("999", "nine hundred ninety-nine"),
    ("1000", "one thousand"),
    ("1,234,567", "one million two hundred thirty-four thousand five hundred sixty-seven"),
    ("12,000", "twelve thousand"),
    ("1000000000", "one billion"),
    ("-5", "minus five"),
    ("-3.5", "minus three point five"),
    ("3.14", "three point one four"),
    ("0.5", "zero point five"),
    (".5", "point five"),
    ("007", "zero zero seven"),
    ("1st", "first"),
    ("2nd", "second"),
    ("3rd", "third"),
    ("4th", "fourth"),
    ("11th", "eleventh"),
    ("12th", "twelfth"),
    ("13th", "thirteenth"),
    ("21st", "twenty-first"),
    ("22nd", "twenty-second"),
    ("103rd", "one hundred third"),
    ("1,000th", "one thousandth"),
    ("in 1999", "in nineteen ninety-nine"),
    ("in 2005", "in two thousand five"),
    ("in 2019", "in twenty nineteen"),
    ("in 1066", "in ten sixty-six"),
    ("from 1900 to 1905", "from nineteen hundred to nineteen oh five"),
    ("the 2010s", "the twenty tens"),
    ("the 1980s", "the nineteen eighties"),
    ("the 1900s", "the nineteen hundreds"),
    ("the 2000s", "the two thousands"),
    ("the '90s", "the nineties"),
    ("in her 30s", "in her thirties"),
    ("50%", "fifty percent"),
    ("3.5%", "three point five percent"),
    ("5-10%", "five to ten percent"),
    ("-2%", "minus two percent"),
    ("3:30 pm", "three thirty p m"),
    ("3:30 p.m.", "three thirty p m."),
    ("10:05", "ten oh five"),
    ("7 am", "seven a m"),
    ("7 a.m.", "seven a m."),
    ("11am", "eleven a m"),
    ("12:00", "twelve o'clock"),
    ("15:00", "fifteen hundred"),
    ("10:00 AM", "ten a m"),
    ("Meet at 7 a.m. Then leave.", "Meet at seven a m. Then leave."),
    ("January 5, 2020", "January fifth, twenty twenty"),
    ("Jan. 5", "January fifth"),
    ("Dec 25", "December twenty-fifth"),
    ("on 12/25/2020", "on December twenty-fifth, twenty twenty"),
    ("2020-01-15", "January fifteenth, twenty twenty"),
    ("the 5th of November", "the fifth of November"),
    ("July 4th, 1776", "July fourth, seventeen seventy-six"),
    ("May 2020", "May twenty twenty"),
    ("Mr. Smith", "Mister Smith"),
    ("Mrs. Smith", "Missus Smith"),
    ("Ms. Jones", "Miz Jones"),
    ("Mr Smith", "Mister Smith"),
    ("Dr. Jones", "Doctor Jones"),
    ("Mulholland Dr.", "Mulholland Drive."),
    ("St. Louis", "Saint Louis"),
    ("Main St.", "Main Street."),
    ("He lives on Main St. The house is red.", "He lives on Main Street. The house is red."),
    ("St. John St.", "Saint John Street."),
    ("Prof. Xavier", "Professor Xavier"),
    ("John Smith Jr. is here.", "John Smith Junior is here."),
    ("Gen. Patton", "General Patton"),
    ("Capt. Hook", "Captain Hook"),
    ("Mt. Everest", "Mount Everest"),
    ("Acme Inc. is big.", "Acme Incorporated is big."),
    ("apples, pears, etc.", "apples, pears, et cetera."),
    ("apples, pears, etc. and more", "apples, pears, et cetera and more"),
    ("cats vs. dogs", "cats versus dogs"),
    ("e.g. apples", "for example apples"),
    ("i.e. pears", "that is pears"),
    ("approx. 5 km", "approximately five kilometers"),
    ("No. 5", "Number five"),
    ("see fig. 3", "see figure three"),
    ("a fig. tree", "a fig. tree"),
    ("the U.S. Army", "the U S Army"),
    ("in the U.S. Then we left.", "in the U S. Then we left."),
    ("Ph.D. student", "P H D student"),
    ("Chapter IV", "Chapter four"),
    ("Part II", "Part two"),
    ("Henry VIII", "Henry the eighth"),
    ("Louis XIV", "Louis the fourteenth"),
    ("Elizabeth II", "Elizabeth the second"),
    ("King George III", "King George the third"),
    ("Pope John Paul II", "Pope John Paul the second"),
    ("World War II", "World War two"),
    ("WWII", "World War two"),
    ("Super Bowl LII", "Super Bowl fifty-two"),
    ("Apollo XI", "Apollo eleven"),
    ("Then I went home.", "Then I went home."),
    ("Vitamin C", "Vitamin C"),
    ("A & B", "A and B"),
    ("1 + 2 = 3", "one plus two equals three"),
    ("5 - 3 = 2", "five minus three equals two"),
    ("email me @ home", "email me at home"),
    ("#1", "number one"),
    ("It's 72°F outside.", "It's seventy-two degrees Fahrenheit outside."),
    ("30°C", "thirty degrees Celsius"),
    ("90°", "ninety degrees"),
    ("x²", "x squared"),
    ("The FBI", "The F B I"),
    ("NASA", "Nasa"),
    ("the CEOs", "the C E O's"),
    ("IBM's logo", "I B M's logo"),
    ("HTML", "H T M L"),
    ("USA", "U S A"),
    ("NATO", "Nato"),
    ("OK", "okay"),
    ("I am HAPPY", "I am happy"),
    ("STOP THAT NOW PLEASE", "stop that now please"),
    ("café", "café"),
    ("naïve résumé", "naïve résumé"),
    ("“Hello,” she said.", '"Hello," she said.'),
    ("It’s fine — really.", "It's fine — really."),
    ("Wait...", "Wait…"),
    ("Hi!!!", "Hi!"),
    ("What?!", "What?!"),
    ("Hello   world", "Hello world"),
    ("Hello (world) again.", "Hello, world, again."),
    ("10 km", "ten kilometers"),
    ("The wall is 3m high.", "The wall is three meters high."),
    ("He ran it in 2h 15m.", "He ran it in two hours fifteen minutes."),
    ("It took 1 hr, 1m.", "It took one hour, one minute."),
    ("5 mph", "five miles per hour"),
    ("2 kg", "two kilograms"),
    ("1 kg", "one kilogram"),
    ("a 10-km race", "a ten-kilometer race"),
    ("5 ft. tall", "five feet tall"),
    ("100 MB", "one hundred megabytes"),
    ("pages 10-20", "pages ten to twenty"),
    ("1990-1995", "nineteen ninety to nineteen ninety-five"),
    ("1990-95", "nineteen ninety to ninety-five"),
    ("He won 3-2.", "He won three to two."),
    ("call 555-1234", "call five five five, one two three four"),
    ("call (555) 123-4567", "call five five five, one two three, four five six seven"),
    ("version 1.2.3", "version one point two point three"),
    ("COVID-19", "Covid nineteen"),
    ("MP3", "M P three"),
    ("3D", "three D"),
    ("4x4", "four by four"),
    ("1920 x 1080", "nineteen twenty by ten eighty"),
    ("1/2", "one half"),
    ("3/4", "three quarters"),
    ("2 1/2", "two and a half"),
    ("½", "one half"),
    ("24/7", "twenty-four seven"),
    ("AT&T", "A T and T"),
    ("C++", "C plus plus"),
    ("and/or", "and or"),
    ("john.doe@example.com", "john dot doe at example dot com"),
    ("www.example.com", "w w w dot example dot com"),
    ("the author(s)", "the authors"),
    ("Hello [[h ə l ˈoʊ]] world", "Hello [[h ə l ˈoʊ]] world"),
    ("Wall St. Journal", "Wall Street Journal"),
    ("$3.50/hr", "three dollars and fifty cents per hour"),
    ("USD 5", "five dollars"),
    ("We need 3x more.", "We need three times more."),
    ("He is 5'10\" tall.", "He is five foot ten tall."),
    ("Call 911!", "Call nine one one!"),
    ("We met in Feb. and again in Sept.", "We met in February and again in September."),
    ("MR. BROOKS: Objection.", "Mister brooks: Objection."),
    ("Attorney General Edwin Meese III said", "Attorney General Edwin Meese the third said"),
    ("Let it get in YOUR way. No STATEMENTS.", "Let it get in your way. No statements."),
    ("Tom & Jerry, 2+2=4", "Tom and Jerry, two plus two equals four"),
    ("In 1492, Columbus sailed.", "In fourteen ninety-two, Columbus sailed."),
    ("Mary Malone and John Lee", "Mary Malone and John Lee"),  # names that start like Roman numerals
    ("Take a lump of figs.", "Take a lump of figs."),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_normalize_cases(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (19, "nineteen"),
        (20, "twenty"),
        (45, "forty-five"),
        (110, "one hundred ten"),
        (1001, "one thousand one"),
        (20_000_019, "twenty million nineteen"),
        (-12, "minus twelve"),
        (10**33, "one decillion"),
        (10**36, " ".join(["one"] + ["zero"] * 36)),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert cardinal(n) == words


def test_ordinal_year_decade_fraction_number() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 5, 8, 9, 12, 20, 40, 101)] == [
        "first", "second", "third", "fifth", "eighth", "ninth", "twelfth", "twentieth", "fortieth",
        "one hundred first",
    ]  # fmt: skip
    assert year(1999) == "nineteen ninety-nine"
    assert year(2005) == "two thousand five"
    assert year(2010) == "twenty ten"
    assert year(1905) == "nineteen oh five"
    assert year(1800) == "eighteen hundred"
    assert year(2000) == "two thousand"
    assert decade(1980) == "nineteen eighties"
    assert decade(2010) == "twenty tens"
    assert decade(60) == "sixties"
    assert fraction(1, 3) == "one third"
    assert fraction(2, 3) == "two thirds"
    assert fraction(5, 8) == "five eighths"
    assert fraction(1, 4) == "one quarter"
    assert fraction(3, 1000) == "three over one thousand"
    assert number("1,234.05") == "one thousand two hundred thirty-four point zero five"
    assert (
        number("1234567890123456789")
        == "one two three four five six seven eight nine zero one two three four five six seven eight nine"
    )  # noqa: E501


def test_paragraph_of_mixed_text_has_no_digits_or_symbols_left() -> None:
    text = (
        "On Jan. 5, 2020 at 3:30 pm, Dr. Smith (age 42) paid $1,234.56 — about 15% more than in 1999 — "
        "for 2 kg of coffee at 221 Baker St. in the U.K.; see fig. 3 & No. 7 #hashtag @home "
        "100°F ~5 * 2 = 10!\n\n"
        "Chapter IV begins here"
    )
    out = normalize(text)
    assert not re.search(r"[0-9$%&@#°~*=()]", out), out
    allowed = set(";:,.!?¡¿—…\"'- ")
    assert all(ch.isalpha() or ch in allowed for ch in out), out
    assert "January fifth, twenty twenty" in out
    assert "one thousand two hundred thirty-four dollars and fifty-six cents" in out
    assert out.endswith("Chapter four begins here")
    assert "here. Chapter" not in out and "equals ten!" in out


def test_paragraph_break_becomes_a_full_stop() -> None:
    assert normalize("A heading\n\nThe text.") == "A heading. The text."
    assert normalize("One line\nnext line") == "One line next line"


def test_overrides_are_copied_verbatim() -> None:
    text = "Say [[ˈtoʊ.meɪ.toʊ  $5]] and [[x]], then 5 [[y]]!"
    out = normalize(text)
    assert out == "Say [[ˈtoʊ.meɪ.toʊ  $5]] and [[x]], then five [[y]]!"
    assert [c for o, c in split_overrides(out) if o] == ["ˈtoʊ.meɪ.toʊ  $5", "x", "y"]


@pytest.mark.parametrize("bad", ["Hello [[h ə", "Hello ]] there", "[[a [[b]] c]]"])
def test_unbalanced_overrides_raise(bad: str) -> None:
    with pytest.raises(ValueError, match="override"):
        normalize(bad)


def test_blank_and_non_text_input() -> None:
    assert normalize("") == ""
    assert normalize(" \n\t ") == ""
    assert normalize("--- !!!") == ""
    with pytest.raises(TypeError):
        normalize(None)  # type: ignore[arg-type]


def test_deterministic_and_idempotent_on_normalised_text() -> None:
    text = "Mr. Smith's 3 cats cost $42.50 in 1999; Henry VIII and the FBI, e.g. at 7 am."
    once = normalize(text)
    assert normalize(text) == once
    assert normalize(once) == once


def test_unicode_cleanup() -> None:
    assert normalize("\u201cQuoted\u201d \u2018single\u2019 don\u2019t") == "\"Quoted\" 'single' don't"
    assert normalize("a\u00a0b\u200bc") == "a bc"
    assert normalize("ﬁne ＡＢＣ") == "fine A B C"
    assert normalize("x -- y") == "x — y"
    assert normalize("Zoë's café") == "Zoë's café"  # espeak reads accented Latin letters itself
    assert normalize("١٢ apples") == "twelve apples"  # non-ASCII digits


# --------------------------------------------------------------------------- sentence splitting
SPLIT_CASES = [
    ("Hello world. How are you? I'm fine!", ["Hello world.", "How are you?", "I'm fine!"]),
    ("Mr. Smith met Dr. Jones at St. Paul's. Bye.", ["Mr. Smith met Dr. Jones at St. Paul's.", "Bye."]),
    ("He paid $3.50 for e.g. coffee. Then he left.", ["He paid $3.50 for e.g. coffee.", "Then he left."]),
    ('"Stop!" she cried. Then it ended.', ['"Stop!" she cried.', "Then it ended."]),
    ('He left. "Hi," she said.', ["He left.", '"Hi," she said.']),
    ("Wait… What? Really?!", ["Wait…", "What?", "Really?!"]),
    ("J. R. R. Tolkien wrote books.", ["J. R. R. Tolkien wrote books."]),
    ("The U.S. Army came. At 5 p.m. Then we ate.", ["The U.S. Army came.", "At 5 p.m.", "Then we ate."]),
    ("No. 5 is here. Yes, approx. 3.5 million.", ["No. 5 is here.", "Yes, approx. 3.5 million."]),
    ("Fruit, nuts, etc. The end.", ["Fruit, nuts, etc.", "The end."]),
    ("A heading\n\nBody text here. More.", ["A heading", "Body text here.", "More."]),
    ("This line is long enough to be wrapped prose and it\ncontinues on the next line.",
     ["This line is long enough to be wrapped prose and it continues on the next line."]),
    ("Shopping list\n- eggs\n- milk", ["Shopping list", "- eggs", "- milk"]),
    ("Say [[a. b]] now. Next one.", ["Say [[a. b]] now.", "Next one."]),
    ("Hello. --- . !!! World.", ["Hello.", "World."]),
    ("", []),
    ("   \n  ", []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SPLIT_CASES)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_long_sentences_are_cut_at_punctuation_within_the_limit() -> None:
    clause = "the quick brown fox jumps over the lazy dog"
    text = ", ".join([clause] * 20) + "; and then it stopped."
    parts = split_sentences(text, max_len=120)
    assert len(parts) > 5
    assert all(len(p) <= 120 for p in parts)
    assert all(p.endswith((",", ";", ".")) for p in parts)  # cut after punctuation, not mid-clause
    assert " ".join(parts) == text


def test_long_word_runs_and_overrides_survive_cutting() -> None:
    text = "x" * 500 + " done."
    parts = split_sentences(text, max_len=100)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
    assert all(len(p) <= 100 for p in parts)
    ovr = "[[" + "ə " * 30 + "]]"
    text = ("word " * 15 + ovr + " ") * 3
    parts = split_sentences(text, max_len=100)
    assert sum(p.count(ovr) for p in parts) == 3
    with pytest.raises(ValueError):
        split_sentences("text", max_len=5)
