"""Voice folders: where a voice lives, what ``voice.json`` says, and the settings of a call.

A voice folder holds everything needed to speak::

    VOICE/acoustic.safetensors   kind "acoustic": phoneme encoder + durations + latent diffusion decoder;
                                 meta holds the symbol table, speaker names and ``add_blank``
    VOICE/vae.safetensors        kind "vae": the mel VAE whose latents the acoustic model predicts
    VOICE/vocoder.safetensors    kind "vocoder" (optional: Griffin-Lim is used, with a warning, when absent)
    VOICE/vocoder.onnx           optional ONNX export of the vocoder (``vocoder="onnx"``)
    VOICE/voice.json             name, language, default speaker and sampling settings (:class:`VoiceConfig`)

The default voice is ``pretrained/`` at the repository root (found from the installed package in
an editable install); the environment variable ``TTS_VOICE_DIR`` points elsewhere.

Everything here is cheap and torch-free, so the CLI can resolve a voice, read its language and
fail on a missing folder before importing torch. Loading the models is the PyTorch backend's
(:func:`tts.runtime.torch.load_voice`); building a voice folder is :func:`tts.export.assemble.assemble_voice`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tts.core.files import file_sha256
from tts.core.names import DURATION_ROUNDING, SAMPLERS

if TYPE_CHECKING:
    from tts.text import Tokenizer

ENV_VAR = "TTS_VOICE_DIR"
ACOUSTIC_FILE = "acoustic.safetensors"
VAE_FILE = "vae.safetensors"
VOCODER_FILE = "vocoder.safetensors"
ONNX_VOCODER_FILE = "vocoder.onnx"
VOICE_FILE = "voice.json"


def _checkpoint_error() -> type[ValueError]:
    from tts.core.files import CheckpointError  # torch-free (tts.models.checkpoint re-exports it)

    return CheckpointError


class VoiceNotFoundError(FileNotFoundError):
    """No voice folder (or no acoustic model in it) where one was looked for."""


@dataclass(frozen=True)
class VoiceConfig:
    """Contents of ``voice.json``; every field is optional in the file."""

    name: str = "voice"  #: shown by ``tts-synth --list-speakers`` and in logs
    language: str = "en-us"  #: espeak-ng language used for phonemisation
    description: str = ""  #: free text (provenance, licence …); the model card has the details
    speaker: str | None = None  #: default speaker name (None: the first one)
    steps: int | None = None  #: default ODE steps of the latent diffusion decoder (None: the model's)
    temperature: float | None = None  #: default scale of the starting noise (None: the model's)
    sampler: str | None = None  #: default ODE sampler: euler | heun | dpmpp2m (None: the model's)
    guidance: float = 0.0  #: default classifier-free guidance weight (0 = off)
    sentence_pause: float = 0.25  #: seconds of silence between sentences of a long text
    #: frames from predicted durations: "ceil" or "round" (None: the model's); see docs/acoustic.md
    duration_rounding: str | None = None
    #: fast Griffin-Lim iterations after an iSTFT vocoder's predicted phase (0 = off; tts.core.spectral)
    phase_iterations: int = 0
    #: speaker -> espeak-ng language of that speaker's phonemes, where it is not ``language`` (e.g. a
    #: British speaker, trained on en-gb phonemes, in an en-us voice); ``tts-voice assemble`` fills it
    #: from the acoustic model's training data
    languages: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.temperature is not None and self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; choose from {', '.join(SAMPLERS)}")
        if self.guidance < 0 or self.sentence_pause < 0 or self.phase_iterations < 0:
            raise ValueError("guidance, sentence_pause and phase_iterations must be >= 0")
        if self.duration_rounding not in (None, *DURATION_ROUNDING):
            raise ValueError(
                f"duration_rounding must be one of {DURATION_ROUNDING}, got {self.duration_rounding!r}"
            )

    def save(self, path: str | Path) -> Path:
        """Write as JSON (``VOICE/voice.json``)."""
        from tts.core.config import to_dict

        p = Path(path)
        p.write_text(json.dumps(to_dict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return p


def default_voice_dir() -> Path:
    """``$TTS_VOICE_DIR`` if set, else ``pretrained/`` beside the ``tts`` package (repository root)."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / "pretrained"


def no_voice_message(folder: Path) -> str:
    return (
        f"no voice installed yet: {folder} has no {ACOUSTIC_FILE}. The default voice ships in pretrained/ "
        "of the source repository (use an editable install of a full clone); or train one "
        f"(recipes/synthetic/README.md, docs/training.md) and pass --voice DIR or set ${ENV_VAR} "
        "to its folder"
    )


def resolve_voice_dir(path: str | Path | None = None) -> tuple[Path, Path]:
    """Return ``(voice_folder, acoustic_file)``.

    ``path`` may be a voice folder or the acoustic ``.safetensors`` file inside one (its siblings
    are then the VAE, vocoder and ``voice.json``). ``None`` means :func:`default_voice_dir`.
    Raises :class:`VoiceNotFoundError` with a how-to-get-a-voice message when nothing is there.
    """
    if path is None:
        folder = default_voice_dir()
        acoustic = folder / ACOUSTIC_FILE
        if not acoustic.is_file():
            raise VoiceNotFoundError(no_voice_message(folder))
        return folder, acoustic
    p = Path(path).expanduser()
    if p.is_file():
        return p.parent, p
    if p.is_dir():
        acoustic = p / ACOUSTIC_FILE
        if not acoustic.is_file():
            raise VoiceNotFoundError(f"voice folder {p} has no {ACOUSTIC_FILE}")
        return p, acoustic
    raise VoiceNotFoundError(f"voice folder or checkpoint not found: {p}")


def load_voice_config(folder: str | Path) -> VoiceConfig:
    """Read ``folder/voice.json``; a missing file gives the defaults, a malformed one a CheckpointError."""
    from tts.core.config import from_dict

    p = Path(folder) / VOICE_FILE
    if not p.is_file():
        return VoiceConfig()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return from_dict(VoiceConfig, data)
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError) as e:
        raise _checkpoint_error()(f"{p} is not a valid voice.json: {e}") from e


@dataclass(frozen=True)
class SynthesisOptions:
    """Settings of one synthesis call, resolved against the voice's defaults (:meth:`Voice.options`)."""

    speaker: int  #: speaker id (index into ``Voice.speakers``)
    steps: int
    temperature: float
    length_scale: float
    sampler: str
    guidance: float
    duration_rounding: str = "ceil"
    #: a blend of speakers: ``((speaker id, weight), ...)``, weights summing to 1 (empty: ``speaker``
    #: alone, which is then the blend's dominant speaker)
    speaker_mix: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if not self.temperature >= 0:  # also refuses NaN
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.length_scale < float("inf"):
            raise ValueError(f"length_scale must be a positive number, got {self.length_scale}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; choose from {', '.join(SAMPLERS)}")
        if not self.guidance >= 0:
            raise ValueError(f"guidance must be >= 0, got {self.guidance}")


def parse_speaker(spec: Any, names: Sequence[str]) -> tuple[str | int | None, tuple[tuple[int, float], ...]]:
    """A speaker argument -> ``(speaker, mix)``: a plain name/index/None passes through with no mix;
    a blend — ``"af_heart:0.7,bf_emma:0.3"``, ``{"af_heart": 0.7, "bf_emma": 0.3}`` or
    ``[("af_heart", 0.7), ...]`` — gives its dominant speaker and the weights normalised to sum 1.
    Raises ``ValueError`` for unknown names and weights that are not positive finite numbers."""
    if isinstance(spec, str) and ":" in spec:
        pairs: list[tuple[Any, Any]] = []
        for part in spec.split(","):
            name, sep, weight = part.strip().rpartition(":")
            if not sep or not name.strip():
                raise ValueError(f"speaker blend must look like 'name:weight,name:weight', got {spec!r}")
            pairs.append((name.strip(), weight.strip()))
    elif isinstance(spec, dict):
        pairs = list(spec.items())
    elif isinstance(spec, (list, tuple)):
        pairs = [tuple(p) for p in spec]  # type: ignore[misc]
    else:
        return spec, ()
    valid = ", ".join(names) if names else "(single-speaker voice)"
    mix: dict[int, float] = {}
    for name, weight in pairs:
        if isinstance(name, str) and name.isdigit():
            name = int(name)
        if isinstance(name, str) and name in names:
            sid = list(names).index(name)
        elif isinstance(name, int) and not isinstance(name, bool) and 0 <= name < len(names):
            sid = name
        else:
            raise ValueError(f"unknown speaker {name!r} in blend {spec!r}; this voice has: {valid}")
        try:
            w = float(weight)
        except (TypeError, ValueError):
            raise ValueError(f"speaker weight for {name!r} must be a number, got {weight!r}") from None
        if not (w > 0 and math.isfinite(w)):
            raise ValueError(f"speaker weights must be positive, got {weight!r} for {name!r}")
        mix[sid] = mix.get(sid, 0.0) + w
    if not mix:
        raise ValueError("empty speaker blend")
    total = sum(mix.values())
    blend = tuple(sorted(((i, w / total) for i, w in mix.items()), key=lambda x: -x[1]))
    if len(blend) == 1:
        return blend[0][0], ()
    return blend[0][0], blend


class VoiceOptionsMixin:
    """Speaker lookup and per-call settings of a voice; needs ``config`` and ``speakers``
    (shared by :class:`tts.runtime.torch.LoadedVoice` and the ONNX runtime's voice)."""

    config: VoiceConfig
    speakers: list[str]

    def speaker_id(self, speaker: str | int | None = None) -> int:
        """Index of a speaker given by name or index (``None``: the voice's default)."""
        names = self.speakers
        if speaker is None:
            speaker = self.config.speaker if self.config.speaker is not None else 0
        if isinstance(speaker, str) and speaker in names:
            return names.index(speaker)
        if isinstance(speaker, int) and not isinstance(speaker, bool) and 0 <= speaker < max(1, len(names)):
            return speaker
        valid = ", ".join(names) if names else "(single-speaker voice)"
        raise ValueError(f"unknown speaker {speaker!r}; this voice has: {valid}")

    def language_of(self, speaker: str | int | None = None) -> str:
        """The espeak-ng language ``speaker`` (a name, index, blend or ``None`` for the default) reads
        in: its entry in ``voice.json``'s ``languages``, else the voice's ``language``. A blend reads in
        the language of its heaviest part."""
        if not self.config.languages or not self.speakers:
            return self.config.language
        dominant, _ = parse_speaker(speaker, self.speakers)
        name = self.speakers[self.speaker_id(dominant)]
        return self.config.languages.get(name, self.config.language)

    def options(
        self,
        speaker: str | int | None = None,
        steps: int | None = None,
        temperature: float | None = None,
        length_scale: float = 1.0,
        sampler: str | None = None,
        guidance: float | None = None,
    ) -> SynthesisOptions:
        """Per-call settings; ``None`` takes the voice's default. Raises ``ValueError`` when invalid."""
        c = self.config
        speaker, mix = parse_speaker(speaker, self.speakers)
        return SynthesisOptions(
            speaker=self.speaker_id(speaker),
            steps=int(c.steps if steps is None else steps),  # type: ignore[arg-type]
            temperature=float(c.temperature if temperature is None else temperature),  # type: ignore[arg-type]
            length_scale=float(length_scale),
            sampler=str(c.sampler if sampler is None else sampler),
            guidance=float(c.guidance if guidance is None else guidance),
            duration_rounding=str(c.duration_rounding),
            speaker_mix=mix,
        )


@dataclass
class Voice(VoiceOptionsMixin):
    """What every loaded voice has, whichever backend runs it (:class:`tts.runtime.torch.LoadedVoice`
    for PyTorch, :class:`tts.runtime.onnx.OnnxVoice` for onnxruntime): what the text side and the
    sentence loop of :class:`tts.runtime.base.SynthesizerBase` need."""

    folder: Path
    config: VoiceConfig  #: voice.json, gaps filled from the acoustic model's own defaults
    tokenizer: Tokenizer
    speakers: list[str]
    add_blank: bool
    #: ``sample_rate``, ``hop_length``, ``n_fft``, ``n_mels``, ``log_clamp`` (an ``AudioConfig``
    #: or the ONNX runtime's torch-free subset of it)
    audio: Any


def config_differences(a: dict[str, Any], b: dict[str, Any]) -> str:
    return ", ".join(f"{k} {a[k]} vs {b[k]}" for k in sorted(a) if k in b and a[k] != b[k])


def check_compatible(
    acoustic: tuple[dict[str, Any], dict[str, Any]],
    vae: tuple[dict[str, Any], dict[str, Any]],
    vae_path: Path,
) -> None:
    """Refuse an acoustic model and VAE that were not trained together.

    Each part is ``(config, meta)`` from its file header. Compared: latent channels, the VAE's
    time downsampling, the audio/mel settings and the VAE file hash the acoustic model recorded.
    A fact missing on either side (hand-made files) is skipped; a fact present on both must agree.
    """
    err = _checkpoint_error()
    (a_cfg, a_meta), (v_cfg, v_meta) = acoustic, vae
    pairs = [
        ("latent channels", a_cfg.get("latent_channels"), v_cfg.get("latent_channels")),
        ("latent downsampling", a_meta.get("latent_downsample"), v_cfg.get("downsample")),
        ("mel bins", (a_meta.get("audio") or {}).get("n_mels"), v_cfg.get("n_mels")),
    ]
    for what, a, v in pairs:
        if a is not None and v is not None and a != v:
            raise err(f"acoustic model and VAE {vae_path} do not fit: {what} {a} vs {v}")
    a_audio, v_audio = a_meta.get("audio"), v_meta.get("audio")
    diff = (
        config_differences(a_audio, v_audio)
        if isinstance(a_audio, dict) and isinstance(v_audio, dict)
        else ""
    )
    if diff:
        raise err(f"acoustic model and VAE {vae_path} use different audio settings: {diff}")
    want = a_meta.get("vae_sha256")
    # a VAE whose decoder was fine-tuned with its encoder frozen keeps the latent space of the file it
    # started from, and names that file's hash in ``latent_space_sha256``
    if want and want not in (file_sha256(vae_path), v_meta.get("latent_space_sha256")):
        raise err(f"the acoustic model was trained with another VAE (sha256 {want[:12]}…) than {vae_path}")


def complete_voice_config(
    cfg: VoiceConfig,
    folder: Path,
    speakers: list[str],
    steps: int,
    temperature: float,
    sampler: str,
    duration_rounding: str,
    phase_iterations: int | None = None,
) -> VoiceConfig:
    """``voice.json`` settings left out, filled with the model's own defaults, and
    ``phase_iterations`` overriding the file's when given; refuses a default speaker the model
    does not have (``CheckpointError``). Shared by both backends' loaders."""
    if cfg.speaker is not None and cfg.speaker not in speakers:
        raise _checkpoint_error()(
            f"{folder / VOICE_FILE}: default speaker {cfg.speaker!r} is not one of {speakers}"
        )
    unknown = sorted(set(cfg.languages) - set(speakers))
    if unknown:
        raise _checkpoint_error()(
            f"{folder / VOICE_FILE}: languages name speakers the model does not have: {unknown}"
        )
    if phase_iterations is not None:
        cfg = replace(cfg, phase_iterations=int(phase_iterations))  # validated by VoiceConfig
    return replace(
        cfg,
        steps=steps if cfg.steps is None else cfg.steps,
        temperature=temperature if cfg.temperature is None else cfg.temperature,
        sampler=sampler if cfg.sampler is None else cfg.sampler,
        duration_rounding=cfg.duration_rounding or duration_rounding,
    )
