"""Monotonic alignment search: valid paths, optimality against brute force, both back ends."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from tts.models.encoder import alignment
from tts.models.encoder.alignment import gaussian_log_likelihood, monotonic_alignment_search


def brute_force_durations(log_p: np.ndarray, n: int, t: int) -> list[int]:
    """Best monotonic alignment by enumerating every split of t frames into n non-empty runs."""
    best, best_d = -math.inf, None
    for cuts in itertools.combinations(range(1, t), n - 1):
        bounds = [0, *cuts, t]
        score = sum(log_p[k, bounds[k] : bounds[k + 1]].sum() for k in range(n))
        if score > best:
            best, best_d = score, [bounds[k + 1] - bounds[k] for k in range(n)]
    return best_d


def assert_valid_path(path: torch.Tensor, n: int, t: int) -> None:
    p = path[:n, :t]
    assert torch.all(path[n:] == 0) and torch.all(path[:, t:] == 0), "path leaks into padding"
    assert torch.all(p.sum(0) == 1), "every frame belongs to exactly one token"
    assert torch.all(p.sum(1) >= 1), "every token gets at least one frame"
    owner = p.argmax(0)
    assert owner[0] == 0 and owner[-1] == n - 1, "path starts at token 0 and ends at the last token"
    steps = owner[1:] - owner[:-1]
    assert torch.all((steps == 0) | (steps == 1)), "tokens in order, none skipped"


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_matches_brute_force_and_is_valid(backend: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(25):
        b, n_max, t_max = 3, 5, 9
        log_p = torch.tensor(rng.normal(size=(b, n_max, t_max)), dtype=torch.float32)
        n_tok = torch.tensor(rng.integers(1, n_max + 1, size=b))
        n_frm = torch.tensor([rng.integers(int(k), t_max + 1) for k in n_tok])
        path, durations = monotonic_alignment_search(log_p, n_tok, n_frm, backend=backend)
        assert path.shape == (b, n_max, t_max) and durations.dtype == torch.long
        for i in range(b):
            n, t = int(n_tok[i]), int(n_frm[i])
            assert_valid_path(path[i], n, t)
            assert durations[i, :n].tolist() == brute_force_durations(log_p[i].double().numpy(), n, t)
            assert int(durations[i].sum()) == t


def test_backends_agree_on_large_batch() -> None:
    g = torch.Generator().manual_seed(1)
    log_p = torch.randn(6, 40, 120, generator=g)
    n_tok = torch.tensor([40, 33, 1, 20, 39, 7])
    n_frm = torch.tensor([120, 70, 5, 20, 101, 119])
    a, da = monotonic_alignment_search(log_p, n_tok, n_frm, backend="numba")
    b, db = monotonic_alignment_search(log_p, n_tok, n_frm, backend="numpy")
    assert torch.equal(a, b) and torch.equal(da, db)
    assert da[3, :20].tolist() == [1] * 20  # as many frames as tokens: the diagonal is forced


def test_recovers_planted_alignment() -> None:
    g = torch.Generator().manual_seed(2)
    mu = torch.randn(1, 8, 6, generator=g) * 2
    durations = torch.tensor([[3, 1, 4, 2, 5, 1]])
    z = torch.repeat_interleave(mu, durations[0], dim=2) + 0.1 * torch.randn(1, 8, 16, generator=g)
    _, found = monotonic_alignment_search(
        gaussian_log_likelihood(z, mu), torch.tensor([6]), torch.tensor([16])
    )
    assert torch.equal(found, durations)


def test_gaussian_log_likelihood_matches_direct_formula() -> None:
    g = torch.Generator().manual_seed(3)
    z, mu = torch.randn(2, 5, 7, generator=g), torch.randn(2, 5, 4, generator=g)
    direct = torch.distributions.Normal(mu[:, :, :, None], 1.0).log_prob(z[:, :, None, :]).sum(1)
    torch.testing.assert_close(gaussian_log_likelihood(z, mu), direct, rtol=1e-5, atol=1e-4)


def test_too_few_frames_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="3 tokens but only 2 frames"):
        monotonic_alignment_search(torch.zeros(1, 3, 4), torch.tensor([3]), torch.tensor([2]))
    with pytest.raises(ValueError, match="out of range"):
        monotonic_alignment_search(torch.zeros(1, 3, 4), torch.tensor([4]), torch.tensor([4]))
    with pytest.raises(ValueError, match="backend"):
        monotonic_alignment_search(torch.zeros(1, 3, 4), torch.tensor([3]), torch.tensor([4]), backend="cuda")


def test_falls_back_to_numpy_without_numba(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alignment, "_numba_kernel", lambda: None)
    log_p = torch.randn(2, 4, 9, generator=torch.Generator().manual_seed(4))
    lengths = (torch.tensor([4, 3]), torch.tensor([9, 6]))
    path, durations = monotonic_alignment_search(log_p, *lengths)  # "auto" -> numpy
    _, expected = monotonic_alignment_search(log_p, *lengths, backend="numpy")
    assert torch.equal(durations, expected)
    assert_valid_path(path[1], 3, 6)
    with pytest.raises(ValueError, match="numba is not installed"):
        monotonic_alignment_search(log_p, *lengths, backend="numba")
