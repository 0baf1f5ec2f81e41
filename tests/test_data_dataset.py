"""Datasets over a prepared folder: items, lazy loading, latents, wav segments, a DataLoader pass."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from tts.data.collate import collate_tts, collate_wavs
from tts.data.dataset import TTSDataset, WavSegmentDataset
from tts.data.manifest import load_manifest
from tts.data.sampler import FrameBucketSampler


def test_tts_items(prepared_data_dir):
    ds = TTSDataset(prepared_data_dir, "train")
    m = load_manifest(prepared_data_dir)
    assert len(ds) == 5 and len(TTSDataset(prepared_data_dir, "val")) == 1
    assert ds.lengths == [r["n_frames"] for r in m.rows("train")]
    for i in range(len(ds)):
        item = ds[i]
        row = m.rows("train")[i]
        assert item["id"] == row["id"] and item["speaker"] == 0
        assert item["tokens"].dtype == torch.long
        assert item["tokens"].tolist() == m.tokenizer.encode(row["phonemes"], add_blank=True)
        assert item["tokens"][0::2].eq(0).all()  # blanks interleaved
        assert item["mel"].dtype == torch.float32 and item["mel"].shape == (80, row["n_frames"])
        assert torch.equal(item["mel"], torch.from_numpy(np.load(prepared_data_dir / row["mel"])))
    no_blank = TTSDataset(prepared_data_dir, "train", add_blank=False)[0]["tokens"]
    assert len(ds[0]["tokens"]) == 2 * len(no_blank) + 1
    with pytest.raises(ValueError, match="split"):
        TTSDataset(prepared_data_dir, "test")


def test_latents_required_then_loaded(prepared_data_dir, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(prepared_data_dir, data)
    with pytest.raises(FileNotFoundError, match="tts-train latents"):
        TTSDataset(data, "train", with_latents=True)
    (data / "latents").mkdir()
    m = load_manifest(data)
    for r in m.rows("train"):
        np.save(data / "latents" / f"{r['id']}.npy", np.full((8, -(-r["n_frames"] // 2)), 0.5, np.float32))
    ds = TTSDataset(data, "train", with_latents=True)
    batch = collate_tts([ds[0], ds[1]])
    assert batch["latents"].shape[:2] == (2, 8)
    assert batch["latent_lengths"].tolist() == [-(-n // 2) for n in ds.lengths[:2]]


def test_bad_mel_cache_is_a_clear_error(prepared_data_dir, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(prepared_data_dir, data)
    row = load_manifest(data).rows("train")[0]
    np.save(data / row["mel"], np.zeros((80, 3), np.float32))
    with pytest.raises(ValueError, match="re-run"):
        TTSDataset(data, "train")[0]
    with pytest.raises(FileNotFoundError, match="tts-train prepare"):
        load_manifest(tmp_path / "nothing")


def test_dataloader_with_bucket_sampler(prepared_data_dir):
    ds = TTSDataset(prepared_data_dir, "train")
    sampler = FrameBucketSampler(ds.lengths, max_frames=250, seed=1)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate_tts)
    seen = []
    for batch in loader:
        assert batch["mels"].shape[0] * batch["mels"].shape[2] <= 250
        assert batch["mel_lengths"].max() == batch["mels"].shape[2]
        assert batch["token_lengths"].max() == batch["tokens"].shape[1]
        seen += batch["ids"]
    assert sorted(seen) == sorted(r["id"] for r in ds.rows)


def test_wav_segments(prepared_data_dir):
    ds = WavSegmentDataset(prepared_data_dir, "train", segment_samples=4096, seed=3)
    rows = ds.rows
    for i, r in enumerate(rows):
        item = ds[i]
        assert item["wav"].shape == (4096,) and item["wav"].dtype == torch.float32
        full, _ = sf.read(str(prepared_data_dir / r["wav"]), dtype="float32")
        if r["n_samples"] >= 4096:
            assert item["length"] == 4096
            # the segment is a frame-aligned slice of the stored clip
            starts = [
                s
                for s in range(0, r["n_samples"] - 4095, 256)
                if np.array_equal(full[s : s + 4096], item["wav"])
            ]
            assert starts
        else:
            assert item["length"] == r["n_samples"] and item["wav"][r["n_samples"] :].abs().sum() == 0
    # deterministic in (seed, epoch, index); other epochs give other segments
    long_i = max(range(len(rows)), key=lambda i: rows[i]["n_samples"])
    again = WavSegmentDataset(prepared_data_dir, "train", segment_samples=4096, seed=3)
    assert torch.equal(ds[long_i]["wav"], again[long_i]["wav"])
    picks = set()
    for epoch in range(8):
        again.set_epoch(epoch)
        picks.add(again[long_i]["wav"][:64].sum().item())
    assert len(picks) > 2
    with pytest.raises(ValueError, match="multiple"):
        WavSegmentDataset(prepared_data_dir, segment_samples=1000)


def test_wav_segments_seedless_follow_torch_rng(prepared_data_dir):
    ds = WavSegmentDataset(prepared_data_dir, "train", segment_samples=2048)
    i = max(range(len(ds)), key=lambda k: ds.rows[k]["n_samples"])
    torch.manual_seed(0)
    a = ds[i]["wav"]
    torch.manual_seed(0)
    assert torch.equal(a, ds[i]["wav"])


def test_wav_validation_items_and_collate(prepared_data_dir):
    ds = WavSegmentDataset(prepared_data_dir, "train", random_segment=False)
    items = [ds[i] for i in range(len(ds))]
    for item, r in zip(items, ds.rows):
        assert item["wav"].shape[0] == r["n_samples"] - r["n_samples"] % 256 == item["length"]
    batch = collate_wavs(items)
    assert batch["wavs"].shape == (len(items), max(it["length"] for it in items))
    assert batch["wav_lengths"].tolist() == [it["length"] for it in items]
    assert batch["ids"] == [r["id"] for r in ds.rows]
