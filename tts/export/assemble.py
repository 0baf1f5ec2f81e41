"""``assemble_voice``: a voice folder from exported stage weights (``tts-voice assemble``).

The folder's format (file names, ``voice.json``) is :mod:`tts.core.voice`'s; the parts are checked
against each other by loading them (:func:`tts.runtime.torch.load_voice`), which imports torch.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from tts.core.voice import ACOUSTIC_FILE, VAE_FILE, VOCODER_FILE, VOICE_FILE, VoiceConfig, VoiceNotFoundError
from tts.runtime.torch import load_voice, read_header


def assemble_voice(
    out: str | Path,
    acoustic: str | Path,
    vae: str | Path,
    vocoder: str | Path | None = None,
    config: VoiceConfig | None = None,
) -> Path:
    """Copy exported stage weights into a voice folder and write its ``voice.json``.

    The three files are checked against each other first (:func:`tts.core.voice.check_compatible`
    via :func:`load_voice`), so a folder that cannot speak is never written.
    """
    import shutil

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    parts = [(acoustic, ACOUSTIC_FILE), (vae, VAE_FILE)]
    if vocoder is not None:
        parts.append((vocoder, VOCODER_FILE))
    for src, _ in parts:
        if not Path(src).is_file():
            raise VoiceNotFoundError(f"cannot assemble a voice: {src} does not exist")
    for src, name in parts:
        tmp = folder / f".{name}.tmp"
        shutil.copyfile(src, tmp)
        os.replace(tmp, folder / name)
    cfg = config or VoiceConfig(name=folder.name)
    if not cfg.languages:  # each speaker reads in the language its training phonemes were in
        _, meta = read_header(folder / ACOUSTIC_FILE)
        langs = meta.get("languages") or {}
        cfg = replace(cfg, languages={str(k): str(v) for k, v in langs.items() if v != cfg.language})
    cfg.save(folder / VOICE_FILE)
    load_voice(folder)  # refuses parts that do not fit together
    return folder
