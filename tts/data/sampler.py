"""Length-bucketed batch sampler with a frame budget, sharded across DDP ranks.

Batches are sized by padded frames, not by utterance count: a batch holds as many utterances as
fit ``len(batch) * max_len <= max_frames``, so short clips come in large batches and long clips in
small ones and every step costs about the same (the "dynamic batching" of ESPnet/fairseq).

Per epoch (deterministic in ``(seed, epoch)``, identical on every rank):

1. shuffle the indices and cut them into pools of ``pool_size`` items (all indices in one pool
   when not shuffling);
2. sort each pool by length and pack it greedily into batches under the frame budget; items of
   similar length share a batch, so little padding, while the pools keep batch membership random
   across epochs;
3. shuffle the batch order; if the batch count is not a multiple of ``world_size``, split the
   largest batches in two (each half still fits the budget) until it is, so every rank gets the
   same number of batches and every index is used exactly once per epoch (only when there are
   fewer splittable items than ranks are whole batches repeated);
4. rank ``r`` takes batches ``r, r + world_size, …``.

Items longer than ``max_frames`` can never fit: they are left out with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np

log = logging.getLogger(__name__)


class FrameBucketSampler:
    """``lengths``: frames per dataset item. Yields lists of dataset indices (one batch each)."""

    def __init__(
        self,
        lengths: Sequence[int],
        max_frames: int,
        *,
        rank: int = 0,
        world_size: int = 1,
        seed: int = 0,
        epoch: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
        pool_size: int | None = None,
    ) -> None:
        if max_frames <= 0:
            raise ValueError(f"max_frames must be positive, got {max_frames}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, world_size={world_size}")
        self.lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if (self.lengths < 0).any():
            raise ValueError("lengths must be >= 0")
        self.max_frames = int(max_frames)
        self.rank, self.world_size = rank, world_size
        self.seed, self.epoch = seed, epoch
        self.shuffle, self.drop_last = shuffle, drop_last
        too_long = np.flatnonzero(self.lengths > self.max_frames)
        if too_long.size:
            log.warning(
                "FrameBucketSampler: %d of %d items exceed max_frames=%d (longest %d); they are left out",
                too_long.size,
                len(self.lengths),
                self.max_frames,
                int(self.lengths.max()),
            )
        self.usable = np.flatnonzero(self.lengths <= self.max_frames)
        if pool_size is None:  # ~64 batches per pool: random membership, still little padding
            mean = max(1.0, float(self.lengths[self.usable].mean())) if self.usable.size else 1.0
            pool_size = int(64 * max(1.0, self.max_frames / mean))
        self.pool_size = max(1, int(pool_size))
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self._rank_batches())

    def __iter__(self) -> Iterator[list[int]]:
        yield from (list(b) for b in self._rank_batches())

    def _rank_batches(self) -> list[list[int]]:
        if self._cache is None or self._cache[0] != self.epoch:
            self._cache = (self.epoch, self.all_batches()[self.rank :: self.world_size])
        return self._cache[1]

    def all_batches(self) -> list[list[int]]:
        """This epoch's batches for all ranks together (rank ``r`` gets ``[r::world_size]``)."""
        rng = np.random.default_rng([self.seed, self.epoch])
        idx = self.usable
        if self.shuffle:
            idx = rng.permutation(idx)
            pools = [idx[i : i + self.pool_size] for i in range(0, len(idx), self.pool_size)]
        else:
            pools = [idx]
        batches: list[list[int]] = []
        for pool in pools:
            # stable sort on (length, index order) keeps the result independent of the sort algorithm
            batches.extend(self._pack(pool[np.argsort(self.lengths[pool], kind="stable")]))
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return self._balance(batches)

    def _pack(self, sorted_idx: np.ndarray) -> list[list[int]]:
        """Greedy packing of ascending lengths: the newest item is the longest of its batch."""
        batches: list[list[int]] = []
        cur: list[int] = []
        for i, n in zip(sorted_idx.tolist(), self.lengths[sorted_idx].tolist()):
            if cur and (len(cur) + 1) * max(n, 1) > self.max_frames:
                batches.append(cur)
                cur = []
            cur.append(i)
        if cur:
            batches.append(cur)
        return batches

    def _balance(self, batches: list[list[int]]) -> list[list[int]]:
        w = self.world_size
        if w == 1 or not batches or len(batches) % w == 0:
            return batches
        if self.drop_last:
            return batches[: len(batches) - len(batches) % w]
        while len(batches) % w:
            j = max(range(len(batches)), key=lambda k: len(batches[k]))
            big = batches[j]
            if len(big) < 2:  # fewer items than ranks: repeat batches rather than leave a rank idle
                need = w - len(batches) % w
                return batches + [batches[k % len(batches)] for k in range(need)]
            half = len(big) // 2
            batches[j : j + 1] = [big[:half], big[half:]]
        return batches
