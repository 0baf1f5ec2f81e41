"""Numbers to English words: cardinals, ordinals, years, decades, decimals, fractions, digits.

American conventions: no "and" inside cardinals ("one hundred five"), hyphenated tens
("forty-two"), years read in pairs ("nineteen ninety-nine") except 2000-2009 and round
thousands ("two thousand five").  Everything here is pure and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]  # fmt: skip
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = [
    "thousand", "million", "billion", "trillion", "quadrillion", "quintillion", "sextillion", "septillion",
    "octillion", "nonillion", "decillion",
]  # fmt: skip
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
# Denominators with their own names; everything else uses the ordinal ("fifths", "sixteenths").
_FRACTION_NAMES = {2: ("half", "halves"), 4: ("quarter", "quarters")}
# Beyond this many digits nobody reads a number as a cardinal: read it digit by digit.
MAX_CARDINAL_DIGITS = 15


def _below_thousand(n: int) -> str:
    """Words for 0 < n < 1000."""
    parts = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        parts.append(f"{_ONES[hundreds]} hundred")
    if rest:
        if rest < 20:
            parts.append(_ONES[rest])
        else:
            tens, ones = divmod(rest, 10)
            parts.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    return " ".join(parts)


def cardinal(n: int) -> str:
    """Cardinal words: 1234567 -> "one million two hundred thirty-four thousand five hundred sixty-seven"."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 20:
        return _ONES[n]
    if n >= 1000 ** (len(_SCALES) + 1):
        return digits(str(n))
    groups = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    words = []
    for power in range(len(groups) - 1, -1, -1):
        if groups[power]:
            chunk = _below_thousand(groups[power])
            words.append(chunk if power == 0 else f"{chunk} {_SCALES[power - 1]}")
    return " ".join(words)


def ordinal_word(words: str) -> str:
    """Turn the last word of a cardinal phrase into its ordinal ("twenty-one" -> "twenty-first")."""
    head, sep, last = max(words.rpartition(" "), words.rpartition("-"), key=lambda p: len(p[0]))
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def ordinal(n: int) -> str:
    """Ordinal words: 1 -> "first", 22 -> "twenty-second", 103 -> "one hundred third"."""
    return ordinal_word(cardinal(n))


def plural_word(words: str) -> str:
    """Pluralise the last word of a number phrase ("nineteen eighty" -> "nineteen eighties")."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith("x"):
        return words + "es"
    return words + "s"


def year(n: int) -> str:
    """Year words: 1999 -> "nineteen ninety-nine", 2005 -> "two thousand five", 1905 -> "nineteen oh five"."""
    if not 1000 <= n <= 9999:
        return cardinal(n)
    high, low = divmod(n, 100)
    if n % 1000 < 10 and (n >= 2000 or n % 1000 == 0):
        return cardinal(n)  # 2000, 2005, 3000: "two thousand five"
    if n < 1010:
        return cardinal(n)  # 1001-1009 are rare and read like counts
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {_ONES[low]}"
    return f"{cardinal(high)} {cardinal(low)}"


def decade(n: int) -> str:
    """Decade words: 1980 -> "nineteen eighties", 2010 -> "twenty tens", 80 -> "eighties"."""
    return plural_word(year(n) if n >= 1000 else cardinal(n))


def digits(text: str) -> str:
    """Digit by digit: "007" -> "zero zero seven"."""
    return " ".join(_ONES[int(ch)] for ch in text if ch.isdigit())


def number(text: str) -> str:
    """Words for a numeral string with optional sign, thousands commas and decimals.

    "1,234.5" -> "one thousand two hundred thirty-four point five"; "-3" -> "minus three";
    ".5" -> "point five"; "007" -> "zero zero seven"; "1.2.3" -> "one point two point three".
    """
    text = text.strip()
    sign = ""
    if text[:1] in ("-", "+", "\u2212"):
        sign = "plus " if text[0] == "+" else "minus "
        text = text[1:]
    integer, _, frac = text.replace(",", "").partition(".")
    if "." in frac:  # version numbers, IP addresses
        return sign + " point ".join(number(part) for part in text.split(".") if part)
    if len(integer) > MAX_CARDINAL_DIGITS or (len(integer) > 1 and integer.startswith("0")):
        words = digits(integer)
    else:
        words = cardinal(int(integer)) if integer else ""
    if frac:
        words = f"{words} point {digits(frac)}".strip()
    return sign + words


def fraction(numerator: int, denominator: int) -> str:
    """Fraction words: 1/2 -> "one half", 3/4 -> "three quarters", 5/8 -> "five eighths"."""
    if denominator <= 1:
        return f"{cardinal(numerator)} over {cardinal(denominator)}"
    if denominator in _FRACTION_NAMES:
        singular, plural = _FRACTION_NAMES[denominator]
    elif denominator <= 100:
        singular = ordinal(denominator)
        plural = singular + "s"
    else:
        return f"{cardinal(numerator)} over {cardinal(denominator)}"
    return f"{cardinal(numerator)} {singular if numerator == 1 else plural}"


# --------------------------------------------------------------------------- numerals in running text
# Each pass below rewrites one kind of numeral into words.  They run in a fixed order (most specific
# first) so that, say, "$1,200" is read as money before the generic number pass sees "1,200".

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"  # 1,234.5 | 12.5 | .5
_MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
]  # fmt: skip
_MONTH_ABBR = {m[:3]: m for m in _MONTHS} | {"Sept": "September"}
_MONTH_RE = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"  # noqa: E501
_CURRENCIES = {  # symbol -> (singular, plural, minor singular, minor plural); None: no minor unit spoken
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", None, None),
    "₹": ("rupee", "rupees", None, None),
    "₩": ("won", "won", None, None),
    "₽": ("ruble", "rubles", None, None),
}
_CURRENCY_CODES = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
_MAGNITUDES = {"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion"}
_MAGNITUDES |= {"t": "trillion", "tn": "trillion"}
# Words that make a following bare four-digit number a year ("in 2019" -> "twenty nineteen").
_YEAR_CONTEXT = {
    "in", "since", "from", "by", "until", "till", "til", "to", "through", "of", "year", "years", "circa",
    "around", "before", "after", "during", "early", "mid", "late", "spring", "summer", "autumn", "fall",
    "winter", "class", "vintage", "between",
} | {m.lower() for m in _MONTHS}  # fmt: skip
_ERA_RE = re.compile(r"\s*(BC|AD|BCE|CE|B\.C\.|A\.D\.)(?!\w)")


def _sentence_period(m: re.Match[str]) -> str:
    """ "." when a consumed trailing period (as in "a.m.") also ended the sentence."""
    if not m.group(0).endswith("."):
        return ""
    return "." if re.match(r"[\"')\]]*(?:\s*$|\s+[\"'(\[]?[A-Z0-9])", m.string[m.end() :]) else ""


def _money(amount: str, symbol: str, magnitude: str | None) -> str:
    singular, plural, minor_one, minor_many = _CURRENCIES[symbol]
    amount = amount.replace(",", "")
    if magnitude:
        return f"{number(amount)} {magnitude} {plural}"
    whole, _, cents = amount.partition(".")
    if cents and (len(cents) != 2 or minor_one is None):
        return f"{number(amount)} {plural}"
    w, c = int(whole or 0), int(cents or 0)
    parts = []
    if w or not c:
        parts.append(f"{number(whole or '0')} {singular if w == 1 else plural}")
    if c:
        parts.append(f"{cardinal(c)} {minor_one if c == 1 else minor_many}")
    return " and ".join(parts)


def _currency(m: re.Match[str]) -> str:
    sign, symbol, amount, word, abbr = m.groups()
    magnitude = word.lower() if word else _MAGNITUDES.get(abbr.lower()) if abbr else None
    return ("minus " if sign else "") + _money(amount, symbol.replace("US$", "$"), magnitude)


def _time(m: re.Match[str]) -> str:
    hour, minute, second, ampm = int(m["h"]), m["m"], m["s"], m["ap"]
    words = "zero" if hour == 0 else cardinal(hour)
    if minute and minute != "00":
        words += f" oh {_ONES[int(minute)]}" if minute[0] == "0" else f" {cardinal(int(minute))}"
    elif minute and not ampm:
        words += " hundred" if hour > 12 else " o'clock"
    if second and second != "00":
        words += f" and {cardinal(int(second))} second{'' if second == '01' else 's'}"
    if ampm:
        words += f" {ampm.lower()} m" + _sentence_period(m)
    return words


def _date(month: str, day: str | None, yr: str | None, day_first: bool = False) -> str:
    month = _MONTH_ABBR.get(month, month)
    if not day:
        return f"{month} {year(int(yr))}" if yr else month
    words = f"the {ordinal(int(day))} of {month}" if day_first else f"{month} {ordinal(int(day))}"
    if yr:
        y = int(yr)
        words += ", " + (year(y) if len(yr) == 4 else (cardinal(y) if y >= 10 else f"oh {_ONES[y]}"))
    return words


def _numeric_date(m: re.Match[str]) -> str:
    a, b, yr = m["a"], m["b"], m["y"]
    if m["iso"]:
        return _date(_MONTHS[int(b) - 1], m["c"], m["iso"])
    if int(a) > 12:  # 25/12/2020 can only be day/month/year
        return _date(_MONTHS[int(b) - 1], a, yr, day_first=True)
    return _date(_MONTHS[int(a) - 1], b, yr)


def _range(m: re.Match[str]) -> str:
    a, b = m[1], m[2]
    if "=" in m.string and re.search(r"\s-\s", m.group(0)):  # 5 - 3 = 2
        return f"{number(a)} minus {number(b)}"
    if len(a) == 4 and 1100 <= int(a) <= 2099 and len(b) in (2, 4):  # 1990-1995, 1990-95
        b_words = (
            year(int(b)) if len(b) == 4 else (cardinal(int(b)) if int(b) >= 10 else f"oh {_ONES[int(b)]}")
        )
        return f"{year(int(a))} to {b_words}"
    return f"{number(a)} to {number(b)}"


def _mixed_fraction(m: re.Match[str]) -> str:
    whole, num, den = int(m[1]), int(m[2]), int(m[3])
    part = fraction(num, den)
    if num == 1 and den in (2, 4):
        part = "a " + part.split(" ", 1)[1]
    return f"{cardinal(whole)} and {part}"


def _fraction(m: re.Match[str]) -> str:
    num, den = int(m[1]), int(m[2])
    if num >= den or den > 100:  # 24/7, 50/50, 9/11 are read as two numbers
        return f"{cardinal(num)} {cardinal(den)}"
    return fraction(num, den)


def _plain_number(m: re.Match[str]) -> str:
    text = m.group(0)
    before = re.findall(r"[A-Za-z]+", m.string[max(0, m.start() - 20) : m.start()])
    if before and before[-1].lower() in ("call", "dial") and len(text) <= 4:
        return digits(text)  # "call 911"
    if re.fullmatch(r"\d{4}", text):
        n = int(text)
        context = bool(before) and before[-1].lower() in _YEAR_CONTEXT
        if 1100 <= n <= 1999 or (1000 <= n <= 2099 and context) or _ERA_RE.match(m.string, m.end()):
            return year(n)
    return number(text)


_Pass = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
_PASSES: list[_Pass] = [
    # dates: 2020-01-15, 12/25/2020, January 5(th)(, 2020), 5(th) (of) January (2020), May 2020
    (
        re.compile(
            r"\b(?:(?P<iso>\d{4})-(?P<b2>0?[1-9]|1[0-2])-(?P<c>0?[1-9]|[12]\d|3[01])"
            r"|(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4}|\d{2}))\b"
        ),
        lambda m: (
            _numeric_date(m) if m["iso"] is None else _date(_MONTHS[int(m["b2"]) - 1], m["c"], m["iso"])
        ),
    ),
    (
        re.compile(rf"\b{_MONTH_RE}\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?![\d:])(?:,?\s+(\d{{4}})\b)?"),
        lambda m: _date(m[1], m[2], m[3]),
    ),
    (
        re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}\b\.?(?:,?\s+(\d{{4}})\b)?"),
        lambda m: _date(m[2], m[1], m[3], day_first=True).removeprefix(
            "the " if re.search(r"\bthe\s+$", m.string[: m.start()], re.IGNORECASE) else ""
        ),
    ),
    (re.compile(rf"\b{_MONTH_RE}\.?\s+(\d{{4}})\b"), lambda m: _date(m[1], None, m[2])),
    # times: 3:30 pm, 10:05, 7 a.m., 14:00
    (
        re.compile(
            r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?"
            r"(?:\s?(?P<ap>[AaPp])\.?\s?[Mm](?![A-Za-z])\.?)?"
        ),
        _time,
    ),
    (
        re.compile(r"\b(?P<h>1[0-2]|0?[1-9])(?P<m>)(?P<s>)\s?(?P<ap>[AaPp])\.?\s?[Mm](?![A-Za-z])\.?"),
        _time,
    ),
    # money: $42.50, -$5, €1.5 million, $2B, £3.05, 42.50 USD, 99¢
    (
        re.compile(
            rf"(?<![\w$€£¥₹₩₽])(-|\u2212)?(US\$|[$€£¥₹₩₽])\s?({_NUM})"
            r"(?:\s?(thousand|million|billion|trillion)\b|(bn|mn|tn|[kKmMbBtT])\b)?",
            re.IGNORECASE,
        ),
        _currency,
    ),
    (
        re.compile(rf"(?<![\w.])({_NUM})\s?(USD|EUR|GBP|JPY|INR)\b"),
        lambda m: _money(m[1], _CURRENCY_CODES[m[2]], None),
    ),
    (
        re.compile(rf"\b(USD|EUR|GBP|JPY|INR)\s?({_NUM})(?![\d.,]\d)"),
        lambda m: _money(m[2], _CURRENCY_CODES[m[1]], None),
    ),
    (re.compile(r"\b(\d+)\s?¢"), lambda m: f"{cardinal(int(m[1]))} {'cent' if m[1] == '1' else 'cents'}"),
    # percentages: 50%, 3.5 %, -2%, 5-10%
    (
        re.compile(rf"(?<![\w.])(?:({_NUM})\s?(?:-|–|to)\s?)?([-\u2212]?(?:{_NUM}))\s?%"),
        lambda m: (f"{number(m[1])} to " if m[1] else "") + f"{number(m[2])} percent",
    ),
    (re.compile(rf"(?<![\w.])([-\u2212]?(?:{_NUM}))\s?‰"), lambda m: f"{number(m[1])} per mille"),
    # ordinals: 1st, 22nd, 103rd, 1,000th
    (
        re.compile(r"\b(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th|ST|ND|RD|TH)\b"),
        lambda m: ordinal(int(m[1].replace(",", ""))),
    ),
    # decades: 1980s, 2010s, '90s, 80's
    (
        re.compile(r"(?<![\w'])(?:'?([1-9]0)|([12]\d\d0))'?s\b"),
        lambda m: decade(int(m[1] or m[2])),
    ),
]

_LATE_PASSES: list[_Pass] = [
    # phone numbers: (555) 123-4567, 555-123-4567, 555-1234
    (
        re.compile(r"(?<![\w-])(?:\((\d{3})\)\s?|(\d{3})[-.])?(\d{3})-(\d{4})(?![\w-])"),
        lambda m: ", ".join(digits(g) for g in m.groups() if g),
    ),
    # ranges: 10-20, 1990–1995, 1990-95 (a spaced minus in an equation stays a minus)
    (re.compile(r"(?<![\w.,-])(\d+)\s?[-–]\s?(\d+)(?![\w.,]\d|[\w-])"), _range),
    # heights: 5'10" -> five foot ten; multipliers: 3x -> three times
    (
        re.compile(r"\b(\d)'\s?(\d{1,2})(?:\"|'')"),
        lambda m: f"{cardinal(int(m[1]))} foot {cardinal(int(m[2]))}",
    ),
    (re.compile(r"\b(\d+(?:\.\d+)?)[xX×](?![\w-])(?!\s?\d)"), lambda m: f"{number(m[1])} times"),
    # dimensions: 4x4, 1920 x 1080
    (re.compile(r"(?<=\d)\s?[xX×]\s?(?=\d)"), lambda m: " by "),
    # fractions: 2 1/2, 3/4, 24/7
    (re.compile(r"(?<![\w/.])(\d+)\s(\d+)/(\d+)(?![\w/.]|\.\d)"), _mixed_fraction),
    (re.compile(r"(?<![\w/.])(\d+)/(\d+)(?![\w/]|\.\d)"), _fraction),
    # a minus sign: -5, (-3.2)
    (re.compile(r"(?<![\w)\]])[-\u2212](?=\.?\d)"), lambda m: "minus "),
    # numbers glued to letters: 3D, MP3, COVID-19
    (re.compile(r"(?<=\d)(?=[A-Za-z])|(?<=[A-Za-z])-?(?=\d)"), lambda m: " "),
    # everything else: cardinals, decimals, separators, years, version numbers
    (re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)*|(?<![\w.])\.\d+"), _plain_number),
]


def expand_numerals(text: str) -> str:
    """Rewrite every numeral in ``text`` as words (money, times, dates, ordinals, years, ...)."""
    for pattern, repl in _PASSES:
        text = pattern.sub(repl, text)
    return text


def expand_remaining_numbers(text: str) -> str:
    """Second stage (after units and symbols): phone numbers, ranges, fractions, plain numbers."""
    for pattern, repl in _LATE_PASSES:
        text = pattern.sub(repl, text)
    return text
