"""Datasets over a prepared data folder (``tts-train prepare``).

``TTSDataset`` gives phoneme ids + cached mel (+ cached VAE latent) per utterance, for the VAE and
acoustic stages. ``WavSegmentDataset`` gives fixed-length random waveform segments for the vocoder.
Arrays are opened lazily per item (mels memory-mapped, wav segments read by offset), so a 13 000
utterance corpus costs only its row list in memory.

Shapes: N tokens, M mel bins, T mel frames, C latent channels, T_lat latent frames, S samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from tts.data.manifest import Manifest, load_manifest

LATENT_DIR = "latents"


class TTSDataset(Dataset):
    """Item: ``{"id": str, "speaker": int, "tokens": (N,) long, "mel": (M, T) float}``
    (+ ``"latent": (C, T_lat)`` when ``with_latents``). ``lengths``: mel frames per item."""

    def __init__(
        self, data_dir: str | Path, split: str = "train", with_latents: bool = False, add_blank: bool = True
    ) -> None:
        self.manifest: Manifest = load_manifest(data_dir)
        self.root = self.manifest.root
        self.split = split
        self.with_latents = with_latents
        self.rows = self.manifest.rows(split)
        spk = {name: i for i, name in enumerate(self.manifest.speakers)}
        tok = self.manifest.tokenizer
        self._tokens = [
            np.asarray(tok.encode(r["phonemes"], add_blank=add_blank), dtype=np.int64) for r in self.rows
        ]
        self._speakers = [spk[r["speaker"]] for r in self.rows]
        if with_latents:
            missing = [r["id"] for r in self.rows if not self.latent_path(r).is_file()]
            if missing:
                raise FileNotFoundError(
                    f"{len(missing)} of {len(self.rows)} {split} latents missing in {self.root / LATENT_DIR} "
                    f"(first: {missing[0]}); cache them with `tts-train latents --data {self.root}`"
                )

    def latent_path(self, row: dict[str, Any]) -> Path:
        return self.root / LATENT_DIR / f"{row['id']}.npy"

    @property
    def lengths(self) -> list[int]:
        """Mel frames per item (for length bucketing)."""
        return [int(r["n_frames"]) for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.rows[index]
        mel = np.load(self.root / row["mel"], mmap_mode="r")
        if mel.shape != (self.manifest.audio.n_mels, row["n_frames"]):
            raise ValueError(
                f"{self.root / row['mel']} has shape {mel.shape}, the manifest says "
                f"({self.manifest.audio.n_mels}, {row['n_frames']}); re-run `tts-train prepare`"
            )
        item = {
            "id": row["id"],
            "speaker": self._speakers[index],
            "tokens": torch.from_numpy(self._tokens[index]),
            "mel": torch.from_numpy(np.array(mel, dtype=np.float32)),
        }
        if self.with_latents:
            lat = np.load(self.latent_path(row), mmap_mode="r")
            if lat.ndim != 2:
                raise ValueError(
                    f"{self.latent_path(row)}: expected a (C, T_lat) array, got shape {lat.shape}"
                )
            item["latent"] = torch.from_numpy(np.array(lat, dtype=np.float32))
        return item


class WavSegmentDataset(Dataset):
    """Waveform segments for vocoder training.

    Item: ``{"id": str, "speaker": int, "wav": (S,) float, "length": int}`` where ``length`` counts
    the real (not zero-padded) samples. With ``random_segment`` (training) ``S == segment_samples``,
    taken at a random frame-aligned offset; clips shorter than that are zero-padded at the end. Without it
    (validation) the whole clip, cropped to a multiple of ``hop_length`` so mels and wavs align.

    Offsets: with ``seed=None`` they come from torch's global generator (seeded per DataLoader
    worker, so runs are reproducible under ``torch.manual_seed`` and differ every epoch); with an
    integer seed they are a pure function of ``(seed, epoch, index)`` — call :meth:`set_epoch` each
    epoch to get new segments.
    """

    def __init__(
        self,
        data_dir: str | Path,
        split: str = "train",
        segment_samples: int = 8192,
        seed: int | None = None,
        random_segment: bool = True,
    ) -> None:
        self.manifest = load_manifest(data_dir)
        self.root = self.manifest.root
        self.hop = self.manifest.audio.hop_length
        if random_segment and (segment_samples <= 0 or segment_samples % self.hop):
            raise ValueError(
                f"segment_samples must be a positive multiple of {self.hop}, got {segment_samples}"
            )
        self.rows = self.manifest.rows(split)
        spk = {name: i for i, name in enumerate(self.manifest.speakers)}
        self._speakers = [spk[r["speaker"]] for r in self.rows]
        self.segment_samples = segment_samples
        self.seed = seed
        self.random_segment = random_segment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    @property
    def lengths(self) -> list[int]:
        """Mel frames per item (for length bucketing)."""
        return [int(r["n_frames"]) for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def _offset(self, index: int, n: int) -> int:
        # frame-aligned, so a segment matches mel frames [offset / hop, (offset + S) / hop)
        last = (n - self.segment_samples) // self.hop
        if last <= 0:
            return 0
        if self.seed is None:
            return self.hop * int(torch.randint(0, last + 1, ()).item())
        return self.hop * int(np.random.default_rng([self.seed, self.epoch, index]).integers(0, last + 1))

    def __getitem__(self, index: int) -> dict[str, Any]:
        import soundfile as sf

        row = self.rows[index]
        path = self.root / row["wav"]
        n = int(row["n_samples"])
        if self.random_segment:
            start = self._offset(index, n)
            stop = min(n, start + self.segment_samples)
        else:
            start, stop = 0, max(self.hop, n - n % self.hop)
        try:
            wav, _ = sf.read(str(path), start=start, stop=min(stop, n), dtype="float32", always_2d=True)
        except Exception as e:
            raise ValueError(f"cannot read {path}: {e}; re-run `tts-train prepare`") from e
        wav = wav[:, 0]
        length = len(wav)
        size = self.segment_samples if self.random_segment else stop - start
        if length < size:
            wav = np.pad(wav, (0, size - length))
        return {
            "id": row["id"],
            "speaker": self._speakers[index],
            "wav": torch.from_numpy(wav),
            "length": length,
        }
