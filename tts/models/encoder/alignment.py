"""Monotonic alignment search (MAS) — Kim et al., 2020, "Glow-TTS: A Generative Flow for
Text-to-Speech via Monotonic Alignment Search".

Given the log-likelihood ``log_p[n, t]`` of latent frame ``t`` under token ``n``'s distribution,
MAS finds the hard alignment that maximises the total log-likelihood subject to: every frame
belongs to exactly one token, tokens appear in order without skipping, each token gets at least
one frame, the path starts at (0, 0) and ends at (N-1, T-1). Dynamic programming:

    Q[n, t] = log_p[n, t] + max(Q[n, t-1], Q[n-1, t-1])

then backtracking from (N-1, T-1). O(N*T) per utterance.

Two interchangeable back ends: a serial numba ``@njit`` kernel over the batch (about a
millisecond per batch; numba belongs to the ``[train]`` extra and is imported only when MAS first
runs, so inference never needs it) and a numpy fallback vectorised over the batch.

Letters: B batch, N tokens, T latent frames, C latent channels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch

from tts.models.precision import fp32_region

BACKENDS = ("auto", "numba", "numpy")


def gaussian_log_likelihood(z: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """log N(z_t; mu_n, I) summed over channels, for every (token, frame) pair.

    Expands ||z - mu||^2 so no (B, C, N, T) tensor is built. z: (B, C, T), mu: (B, C, N) -> (B, N, T).
    """
    c = z.shape[1]
    # fp32 even under bf16 autocast: MAS compares sums of many of these numbers.
    with fp32_region(z.device):
        z, mu = z.float(), mu.float()
        zz = (z * z).sum(dim=1, keepdim=True)  # (B, 1, T)
        mm = (mu * mu).sum(dim=1).unsqueeze(-1)  # (B, N, 1)
        cross = torch.bmm(mu.transpose(1, 2), z)  # (B, N, T)
        return -0.5 * (zz - 2.0 * cross + mm) - 0.5 * c * math.log(2.0 * math.pi)


def monotonic_alignment_search(
    log_p: torch.Tensor, token_lengths: torch.Tensor, frame_lengths: torch.Tensor, backend: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Most likely monotonic hard alignment of tokens to frames.

    log_p: (B, N, T), token_lengths: (B,), frame_lengths: (B,)
    -> path (B, N, T) float (1 where frame t belongs to token n, 0 on padding), durations (B, N) long.
    Needs ``token_lengths <= frame_lengths`` per item (each token takes at least one frame).
    """
    if backend not in BACKENDS:
        raise ValueError(f"MAS backend must be one of {BACKENDS}, got {backend!r}")
    if log_p.dim() != 3:
        raise ValueError(f"log_p must be (B, N, T), got shape {tuple(log_p.shape)}")
    b, n, t = log_p.shape
    n_tok = token_lengths.detach().cpu().long().numpy().astype(np.int64)
    n_frm = frame_lengths.detach().cpu().long().numpy().astype(np.int64)
    if n_tok.shape != (b,) or n_frm.shape != (b,):
        raise ValueError("token_lengths and frame_lengths must have shape (B,)")
    if (n_tok < 1).any() or (n_tok > n).any() or (n_frm < 1).any() or (n_frm > t).any():
        raise ValueError(f"lengths out of range for log_p of shape {tuple(log_p.shape)}")
    bad = np.nonzero(n_frm < n_tok)[0]
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"cannot align item {i}: {n_tok[i]} tokens but only {n_frm[i]} frames "
            "(each token needs >= 1 frame)"
        )
    lp = log_p.detach().cpu().double().numpy()
    kernel = _numba_kernel() if backend in ("auto", "numba") else None
    if kernel is None and backend == "numba":
        raise ValueError("MAS backend 'numba' requested but numba is not installed (pip install numba)")
    path = np.zeros((b, n, t), dtype=np.float32)
    if kernel is not None:
        kernel(lp, n_tok, n_frm, path)
    else:
        _mas_numpy(lp, n_tok, n_frm, path)
    out = torch.from_numpy(path).to(log_p.device)
    return out, out.sum(dim=-1).long()


def _mas_serial(log_p: np.ndarray, n_tok: np.ndarray, n_frm: np.ndarray, path: np.ndarray) -> None:
    """One utterance after another; compiled by numba. Writes into ``path`` (B, N, T)."""
    neg_inf = -np.inf
    for b in range(log_p.shape[0]):
        n_max, t_max = n_tok[b], n_frm[b]
        q = np.full((n_max, t_max), neg_inf)
        q[0, 0] = log_p[b, 0, 0]
        for t in range(1, t_max):
            # Reachable tokens at frame t: at most t (one frame each so far) and at least
            # n_max - (t_max - t) (enough frames left for the rest).
            lo = max(0, n_max - t_max + t)
            hi = min(n_max - 1, t)
            for n in range(lo, hi + 1):
                stay = q[n, t - 1]
                move = q[n - 1, t - 1] if n > 0 else neg_inf
                q[n, t] = log_p[b, n, t] + max(stay, move)
        n = n_max - 1
        for t in range(t_max - 1, -1, -1):
            path[b, n, t] = 1.0
            if n > 0 and (n == t or q[n - 1, t - 1] > q[n, t - 1]):
                n -= 1


@lru_cache(maxsize=1)
def _numba_kernel() -> Callable[..., None] | None:
    try:
        import numba
    except ImportError:
        return None
    try:  # the on-disk cache saves seconds of compilation per process
        return numba.njit(cache=True, nogil=True)(_mas_serial)
    except RuntimeError:  # no writable cache location
        return numba.njit(nogil=True)(_mas_serial)


def _mas_numpy(log_p: np.ndarray, n_tok: np.ndarray, n_frm: np.ndarray, path: np.ndarray) -> None:
    """The same DP vectorised over batch and tokens (loops over frames only)."""
    b, n, t = log_p.shape
    tok = np.arange(n)[None, :]
    q = np.full((b, n, t), -np.inf)
    q[:, 0, 0] = log_p[:, 0, 0]
    for j in range(1, t):
        valid = (tok <= j) & (tok >= (n_tok - n_frm + j)[:, None]) & (tok < n_tok[:, None])
        valid &= (j < n_frm)[:, None]
        prev = q[:, :, j - 1]
        moved = np.concatenate([np.full((b, 1), -np.inf), prev[:, :-1]], axis=1)
        q[:, :, j] = np.where(valid, log_p[:, :, j] + np.maximum(prev, moved), -np.inf)
    rows = np.arange(b)
    cur = n_tok - 1
    for j in range(t - 1, -1, -1):
        active = j < n_frm
        path[rows[active], cur[active], j] = 1.0
        if j == 0:
            break
        prev_n = np.maximum(cur - 1, 0)
        move = (cur > 0) & ((cur == j) | (q[rows, prev_n, j - 1] > q[rows, cur, j - 1]))
        cur = np.where(active & move, cur - 1, cur)
