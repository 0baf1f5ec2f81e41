"""A subset of SSML (W3C Speech Synthesis Markup Language 1.1, https://www.w3.org/TR/speech-synthesis11/)
-> the front end's :class:`tts.text.frontend.Run` s, with every spoken character mapped back to its
position in the markup (so word timestamps point into the SSML the caller passed).

Supported (section numbers of SSML 1.1):

* ``speak`` (3.1.1) root; ``p`` and ``s`` (3.1.8) start a new sentence;
* ``break`` (3.2.3): ``time`` ("500ms", "1.5s") or ``strength`` (none 0, x-weak 0.1, weak 0.2,
  medium 0.4, strong 0.7, x-strong 1.0 s); a break inside a sentence is silence at that point;
* ``prosody rate`` (3.2.4): x-slow 0.6, slow 0.8, medium 1, fast 1.25, x-fast 1.5, or a percentage
  ("150%"); other prosody attributes are ignored with a warning;
* ``phoneme`` (3.1.10) with ``alphabet="ipa"`` (or none) and ``ph``: spoken as an ``[[ipa]]`` override;
* ``say-as interpret-as`` (3.1.9; values from the W3C "SSML say-as" note): characters / spell-out,
  cardinal, ordinal, digits, date (``format`` mdy, dmy, ymd, md, dm, ym, my, y, m, d), time,
  telephone;
* ``sub alias`` (3.1.11); ``voice name`` (3.2.1; a speaker name or a blend "af_heart:0.7,bf_emma:0.3");
* ``emphasis`` (3.2.2): accepted and spoken plainly — the model has no emphasis control.

Unknown elements are dropped with an :class:`SSMLWarning` and their text is spoken. Malformed XML
raises ``ValueError`` naming the line and column. Parsed with the standard library's expat with
document type declarations refused outright (what ``defusedxml`` calls ``forbid_dtd``), so no
entity can be declared: no "billion laughs" expansion, no external entities.
"""

from __future__ import annotations

import re
import warnings
import xml.parsers.expat
from dataclasses import dataclass, field
from typing import Any

from tts.text.alignment import SourceText
from tts.text.frontend import Run
from tts.text.numbers import cardinal, ordinal

MAX_BREAK = 30.0  #: seconds; a longer break is refused
BREAK_STRENGTH = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7, "x-strong": 1.0}
RATES = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
_KNOWN = {"speak", "p", "s", "break", "prosody", "phoneme", "say-as", "sub", "voice", "emphasis"}
_MONTHS = "January February March April May June July August September October November December".split()  # noqa: SIM905
_DIGITS = "zero one two three four five six seven eight nine".split()  # noqa: SIM905


class _Located(ValueError):
    """An error that already names its line and column."""


class SSMLWarning(UserWarning):
    """Part of an SSML document was ignored (an unknown element or attribute value)."""


@dataclass
class _State:
    speaker: str | None = None
    rate: float = 1.0


@dataclass
class _Parse:
    text: str
    b2c: list[int]
    runs: list[Run] = field(default_factory=list)
    cur: SourceText = field(default_factory=lambda: SourceText("", (), ()))
    breaks: list[tuple[int, float]] = field(default_factory=list)
    state: _State = field(default_factory=_State)
    new_sentence: bool = True
    stack: list[tuple[str, _State, dict, int]] = field(default_factory=list)
    capture: list | None = None  # text inside phoneme / say-as / sub: [(SourceText), ...]
    capture_depth: int = 0


def parse_ssml(ssml: str) -> list[Run]:
    """SSML text -> runs (see the module docstring). Text that does not start with ``<speak`` is
    wrapped in ``<speak>...</speak>`` first (offsets still index ``ssml``)."""
    wrapped = not ssml.lstrip().startswith("<")
    doc = f"<speak>{ssml}</speak>" if wrapped else ssml
    raw = doc.encode("utf-8")
    b2c = [0] * (len(raw) + 1)
    pos = 0
    for i, ch in enumerate(doc):
        n = len(ch.encode("utf-8"))
        for k in range(n):
            b2c[pos + k] = i
        pos += n
    b2c[len(raw)] = len(doc)
    st = _Parse(doc, b2c)
    p = xml.parsers.expat.ParserCreate()

    def forbid(*_: object) -> None:
        raise ValueError("SSML may not contain a document type declaration or entity declarations")

    p.StartDoctypeDeclHandler = forbid
    p.EntityDeclHandler = forbid
    p.UnparsedEntityDeclHandler = forbid
    p.ExternalEntityRefHandler = forbid
    shift = len("<speak>") if wrapped else 0

    def located(handler: Any) -> Any:  # errors name the element's line and column, not the parser's
        def run(*args: Any) -> None:
            try:
                handler(st, p, *args)
            except _Located:
                raise
            except ValueError as e:
                line, col = (
                    p.CurrentLineNumber,
                    p.CurrentColumnNumber + 1 - (shift if p.CurrentLineNumber == 1 else 0),
                )
                raise _Located(f"SSML line {line}, column {col}: {e}") from None

        return run

    p.StartElementHandler = located(_start)
    p.EndElementHandler = located(_end)
    p.CharacterDataHandler = located(_data)
    try:
        p.Parse(raw, True)
    except _Located as e:
        raise ValueError(str(e)) from None
    except xml.parsers.expat.ExpatError as e:
        line, col = e.lineno, e.offset + 1 - (shift if e.lineno == 1 else 0)
        raise ValueError(
            f"malformed SSML at line {line}, column {col}: {xml.parsers.expat.errors.messages[e.code]}"
        ) from None
    except ValueError as e:
        raise ValueError(
            f"SSML line {p.CurrentLineNumber}, column {p.CurrentColumnNumber + 1}: {e}"
        ) from None
    _close_run(st, new_sentence=True)
    shift = len("<speak>") if wrapped else 0
    if shift:
        return [_shift(r, -shift) for r in st.runs]
    return st.runs


def _shift(run: Run, d: int) -> Run:
    s = run.source
    src = SourceText(s.text, tuple(max(0, x + d) for x in s.starts), tuple(max(0, x + d) for x in s.ends))
    return Run(src, run.speaker, run.rate, run.breaks, run.new_sentence)


def _where(st: _Parse, p: xml.parsers.expat.XMLParserType) -> int:
    return st.b2c[min(p.CurrentByteIndex, len(st.b2c) - 1)]


def _close_run(st: _Parse, new_sentence: bool) -> None:
    """End the current run; the next one starts a new sentence if ``new_sentence``."""
    if st.cur.text.strip() or st.breaks:
        st.runs.append(Run(st.cur, st.state.speaker, st.state.rate, tuple(st.breaks), st.new_sentence))
        st.new_sentence = new_sentence
    else:
        st.new_sentence = st.new_sentence or new_sentence
    st.cur, st.breaks = SourceText("", (), ()), []


def _emit(st: _Parse, piece: SourceText) -> None:
    if st.capture is not None:
        st.capture.append(piece)
    else:
        st.cur = st.cur + piece


def _data(st: _Parse, p: xml.parsers.expat.XMLParserType, data: str) -> None:
    c0 = _where(st, p)
    raw = st.text
    if raw.startswith("&", c0):  # an entity or character reference: the whole reference
        end = raw.find(";", c0) + 1 or c0 + 1
        _emit(st, SourceText.generated(data, c0, end))
        return
    if raw.startswith("<![CDATA[", c0):
        c0 += len("<![CDATA[")
    starts, ends, i = [], [], c0
    for ch in data:  # expat turns "\r\n" into "\n"
        width = 2 if ch == "\n" and raw.startswith("\r\n", i) else 1
        starts.append(i)
        ends.append(i + width)
        i += width
    _emit(st, SourceText(data, tuple(starts), tuple(ends)))


def _start(st: _Parse, p: xml.parsers.expat.XMLParserType, name: str, attrs: dict) -> None:
    at = _where(st, p)
    prev = st.state
    if st.capture is not None:  # markup inside phoneme / say-as / sub: its text counts, tags do not
        warnings.warn(f"SSML <{name}> inside another element's text is ignored", SSMLWarning, 2)
        st.stack.append((name, prev, attrs, at))
        return
    state = _State(prev.speaker, prev.rate)
    if name in ("p", "s"):
        _close_run(st, new_sentence=True)
    elif name == "break":
        st.breaks.append((len(st.cur.text), _break_seconds(attrs)))
    elif name == "prosody":
        for key in attrs:
            if key != "rate":
                warnings.warn(f"SSML <prosody {key}> is not supported; ignored", SSMLWarning, 2)
        if "rate" in attrs:
            state.rate = prev.rate * _rate(attrs["rate"])
            _close_run(st, new_sentence=False)
    elif name == "voice":
        if "name" in attrs:
            state.speaker = attrs["name"].strip()
            _close_run(st, new_sentence=False)
    elif name in ("phoneme", "say-as", "sub"):
        st.capture = []
    elif name not in _KNOWN:
        warnings.warn(f"unknown SSML element <{name}> dropped; its text is spoken", SSMLWarning, 2)
    st.stack.append((name, prev, attrs, at))
    st.state = state


def _end(st: _Parse, p: xml.parsers.expat.XMLParserType, name: str) -> None:
    _, prev, attrs, at = st.stack.pop()
    if (
        st.capture is not None
        and name in ("phoneme", "say-as", "sub")
        and not any(n in ("phoneme", "say-as", "sub") for n, *_ in st.stack)
    ):
        pieces, st.capture = st.capture, None
        content = SourceText("", (), ())
        for piece in pieces:
            content = content + piece
        end = st.text.find(">", _where(st, p)) + 1
        a, b = content.span(0, len(content)) if content.text else (at, end)
        spoken = _spoken(name, attrs, content.text)
        if spoken is None:
            _emit(st, content)
        else:
            _emit(st, SourceText.generated(f" {spoken} ", a, b))
        return
    if st.capture is not None:
        return
    if name in ("p", "s"):
        _close_run(st, new_sentence=True)
    elif st.state.rate != prev.rate or st.state.speaker != prev.speaker:
        _close_run(st, new_sentence=False)
    st.state = prev


def _break_seconds(attrs: dict) -> float:
    if "time" in attrs:
        m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)\s*", attrs["time"])
        if not m:
            raise ValueError(f'<break time="{attrs["time"]}">: expected e.g. "500ms" or "1.5s"')
        seconds = float(m[1]) / (1000.0 if m[2] == "ms" else 1.0)
        if seconds > MAX_BREAK:
            raise ValueError(f"<break> of {seconds:g} s is longer than {MAX_BREAK:g} s")
        return seconds
    strength = attrs.get("strength", "medium")
    if strength not in BREAK_STRENGTH:
        raise ValueError(f'<break strength="{strength}">: choose from {", ".join(BREAK_STRENGTH)}')
    return BREAK_STRENGTH[strength]


def _rate(value: str) -> float:
    v = value.strip()
    if v in RATES:
        return RATES[v]
    m = re.fullmatch(r"(\d+(?:\.\d*)?)%", v)
    if m and 10.0 <= float(m[1]) <= 1000.0:
        return float(m[1]) / 100.0
    raise ValueError(f'<prosody rate="{value}">: use x-slow … x-fast or a percentage from 10% to 1000%')


def _spoken(name: str, attrs: dict, text: str) -> str | None:
    """What a phoneme / sub / say-as element says instead of its text (None: the text itself)."""
    if name == "sub":
        if "alias" not in attrs:
            warnings.warn("<sub> without alias: its text is spoken", SSMLWarning, 3)
            return None
        return " ".join(attrs["alias"].split()) or None
    if name == "phoneme":
        if attrs.get("alphabet", "ipa").lower() != "ipa" or not attrs.get("ph", "").strip():
            warnings.warn('<phoneme> needs alphabet="ipa" and ph: its text is spoken', SSMLWarning, 3)
            return None
        ph = "".join(attrs["ph"].split())
        if "[" in ph or "]" in ph:
            raise ValueError("<phoneme ph> may not contain brackets")
        return f"[[{ph}]]"
    kind = attrs.get("interpret-as", "")
    try:
        out = _say_as(kind, attrs.get("format", ""), text.strip())
    except (ValueError, IndexError):
        out = None
        warnings.warn(
            f'<say-as interpret-as="{kind}"> cannot read {text.strip()!r}; spoken as written', SSMLWarning, 3
        )
    return out


def _say_as(kind: str, fmt: str, text: str) -> str | None:
    if kind in ("characters", "spell-out"):
        return " ".join(_DIGITS[int(ch)] if ch.isdigit() else ch.upper() for ch in text if ch.isalnum())
    if kind == "cardinal":
        return cardinal(int(text.replace(",", "")))
    if kind == "ordinal":
        return ordinal(int(re.sub(r"(?i)(st|nd|rd|th)$", "", text).replace(",", "")))
    if kind == "digits":
        return " ".join(_DIGITS[int(ch)] for ch in text if ch.isdigit())
    if kind == "telephone":
        groups = [g for g in re.split(r"[^0-9]+", text.replace("+", " plus ")) if g]
        lead = "plus " if text.strip().startswith("+") else ""
        return lead + ", ".join(" ".join(_DIGITS[int(ch)] for ch in g) for g in groups)
    if kind == "date":
        return _date(fmt or "mdy", text)
    if kind == "time":
        return text  # the normaliser reads "3:30pm", "15:45"
    warnings.warn(f'<say-as interpret-as="{kind}"> is not supported; spoken as written', SSMLWarning, 4)
    return None


def _date(fmt: str, text: str) -> str:
    parts = [x for x in re.split(r"[-/.\s]+", text) if x]
    if len(parts) != len(fmt) or not set(fmt) <= set("ymd"):
        raise ValueError(text)
    fields = dict(zip(fmt, parts))
    words = []
    if "m" in fields:
        words.append(_MONTHS[int(fields["m"]) - 1])
    if "d" in fields:
        words.append(ordinal(int(fields["d"])))
    if "y" in fields:
        from tts.text.numbers import year

        y = int(fields["y"])
        words.append(("," if "d" in fields else "") + " " + (year(y) if 1000 <= y <= 2999 else cardinal(y)))
    return " ".join(words).replace(" ,", ",").strip()


def runs_of(text: str, ssml: bool | None = None) -> list[Any]:
    """The front end's runs for ``text``: SSML (``ssml`` True, or None and ``text`` starts with
    ``<speak``) through :func:`tts.text.ssml.parse_ssml`, else one plain run."""
    if ssml is None:
        ssml = text.lstrip().startswith("<speak")
    if ssml:
        return parse_ssml(text)
    return [Run(SourceText.identity(text))]
