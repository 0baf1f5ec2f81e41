"""FrameBucketSampler invariants and collate padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tts.data.collate import MEL_PAD_VALUE, collate_tts, collate_wavs
from tts.data.sampler import FrameBucketSampler


def _lengths(n: int = 500, seed: int = 0) -> list[int]:
    return np.random.default_rng(seed).integers(30, 900, size=n).tolist()


def _epoch(lengths, max_frames, world_size, epoch=0, seed=0, **kw):
    return [
        list(
            FrameBucketSampler(
                lengths, max_frames, rank=r, world_size=world_size, seed=seed, epoch=epoch, **kw
            )
        )
        for r in range(world_size)
    ]


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_every_index_once_budget_and_equal_batches(world_size):
    lengths = _lengths()
    per_rank = _epoch(lengths, 4000, world_size)
    flat = [i for batches in per_rank for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))  # each index exactly once across ranks
    assert len({len(b) for b in per_rank}) == 1  # same number of batches on every rank
    for batches in per_rank:
        assert len(batches) == len(
            FrameBucketSampler(lengths, 4000, rank=0, world_size=world_size)
        )  # __len__ matches iteration
        for b in batches:
            assert b and len(b) * max(lengths[i] for i in b) <= 4000


def test_bucketing_keeps_padding_low():
    lengths = _lengths(2000)
    batches = [b for r in _epoch(lengths, 6000, 1) for b in r]
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert sum(lengths) / padded > 0.9  # random batching of these lengths would waste ~50 %
    assert len(batches) < 1.15 * sum(lengths) / 6000 + 1


def test_deterministic_and_epoch_dependent():
    lengths = _lengths()
    a = _epoch(lengths, 4000, 2, epoch=3, seed=7)
    assert a == _epoch(lengths, 4000, 2, epoch=3, seed=7)
    assert a != _epoch(lengths, 4000, 2, epoch=4, seed=7)
    assert a != _epoch(lengths, 4000, 2, epoch=3, seed=8)
    s = FrameBucketSampler(lengths, 4000, seed=7)
    s.set_epoch(3)
    first = list(s)
    s.set_epoch(4)
    assert list(s) != first
    s.set_epoch(3)
    assert list(s) == first
    # batch membership changes too, not only the order of the batches
    sets = lambda bs: {frozenset(b) for b in bs}  # noqa: E731
    assert sets(first) != sets(_epoch(lengths, 4000, 1, epoch=4, seed=7)[0])


def test_no_shuffle_is_sorted_and_stable():
    lengths = _lengths(100)
    batches = _epoch(lengths, 3000, 1, shuffle=False)[0]
    flat = [i for b in batches for i in b]
    assert [lengths[i] for i in flat] == sorted(lengths)
    assert batches == _epoch(lengths, 3000, 1, epoch=5, shuffle=False)[0]


def test_uneven_batches_split_rather_than_repeat():
    lengths = [100] * 9  # budget 300 -> 3 batches of 3; 2 ranks need an even count
    per_rank = _epoch(lengths, 300, 2)
    assert len(per_rank[0]) == len(per_rank[1]) == 2
    assert sorted(i for r in per_rank for b in r for i in b) == list(range(9))
    dropped = _epoch(lengths, 300, 2, drop_last=True)
    assert len(dropped[0]) == len(dropped[1]) == 1


def test_tiny_dataset_more_ranks_than_items():
    per_rank = _epoch([10], 100, 3)
    assert [len(r) for r in per_rank] == [1, 1, 1]  # the single item is repeated so no rank idles


def test_too_long_items_are_left_out(caplog):
    lengths = [50, 5000, 60, 70]
    with caplog.at_level("WARNING"):
        batches = _epoch(lengths, 1000, 1)[0]
    assert sorted(i for b in batches for i in b) == [0, 2, 3]
    assert "max_frames" in caplog.text


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_frames"):
        FrameBucketSampler([1, 2], 0)
    with pytest.raises(ValueError, match="rank"):
        FrameBucketSampler([1, 2], 10, rank=2, world_size=2)


def test_large_dataset_is_fast():
    import time

    lengths = _lengths(13100)
    t0 = time.perf_counter()
    s = FrameBucketSampler(lengths, 8000, world_size=4, rank=1)
    n = sum(1 for _ in s)
    assert n == len(s) and time.perf_counter() - t0 < 2.0


def test_collate_tts_pads_and_reports_lengths():
    items = [
        {"id": "a", "speaker": 0, "tokens": torch.tensor([3, 4, 5]), "mel": torch.zeros(80, 7)},
        {"id": "b", "speaker": 2, "tokens": torch.tensor([6]), "mel": torch.ones(80, 4)},
    ]
    b = collate_tts(items)
    assert b["ids"] == ["a", "b"]
    assert b["tokens"].tolist() == [[3, 4, 5], [6, 0, 0]] and b["tokens"].dtype == torch.long
    assert b["token_lengths"].tolist() == [3, 1]
    assert b["mels"].shape == (2, 80, 7) and b["mel_lengths"].tolist() == [7, 4]
    assert torch.all(b["mels"][1, :, :4] == 1) and torch.all(b["mels"][1, :, 4:] == MEL_PAD_VALUE)
    assert b["speakers"].tolist() == [0, 2]
    assert "latents" not in b
    mask = torch.arange(7)[None] < b["mel_lengths"][:, None]
    assert mask.sum().item() == 11

    items[0]["latent"], items[1]["latent"] = torch.ones(8, 4), torch.ones(8, 2)
    b = collate_tts(items)
    assert b["latents"].shape == (2, 8, 4) and b["latent_lengths"].tolist() == [4, 2]
    assert b["latents"][1, :, 2:].abs().sum() == 0


def test_collate_wavs_uses_item_lengths():
    items = [
        {"id": "a", "speaker": 1, "wav": torch.ones(16), "length": 10},
        {"id": "b", "speaker": 0, "wav": torch.ones(12)},
    ]
    b = collate_wavs(items)
    assert b["wavs"].shape == (2, 16) and b["wav_lengths"].tolist() == [10, 12]
    assert b["wavs"][1, 12:].abs().sum() == 0 and b["speakers"].tolist() == [1, 0]


def test_collate_rejects_mismatched_shapes():
    items = [
        {"id": "a", "speaker": 0, "tokens": torch.tensor([1]), "mel": torch.zeros(80, 3)},
        {"id": "b", "speaker": 0, "tokens": torch.tensor([1]), "mel": torch.zeros(40, 3)},
    ]
    with pytest.raises(ValueError, match="shapes"):
        collate_tts(items)
