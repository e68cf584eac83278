"""Seeded benchmark instances: Garnet MDPs (Archibald, McKinnon & Thomas 1995; Bhatnagar et al. 2009)
and RiverSwim (Strehl & Littman 2008).

``garnet`` prefers ``mdps.garnet`` when that package provides it (``generator="auto"``) and otherwise
uses the local generator below, so the benchmark runs on a tree where ``mdps`` is not written yet.
The generator actually used is recorded in the JSON results.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from rltheory.models import TabularMDP

__all__ = ["garnet", "garnet_local", "riverswim", "riverswim_local"]


def _distinct_successors(rng: np.random.Generator, n_rows: int, S: int, k: np.ndarray) -> np.ndarray:
    """``(n_rows, kmax)`` int64 array whose first ``k[r]`` entries of row ``r`` are distinct states in
    ``[0, S)`` drawn uniformly without replacement (rows with a repeat are redrawn), sorted; the rest -1."""
    kmax = int(k.max())
    cols = np.arange(kmax)
    valid = cols[None, :] < k[:, None]
    out = np.full((n_rows, kmax), -1, dtype=np.int64)
    todo = np.arange(n_rows)
    while todo.size:
        draw = rng.integers(0, S, size=(todo.size, kmax))
        draw = np.where(valid[todo], draw, S + cols[None, :])  # padding: distinct, sorts last
        draw.sort(axis=1)
        dup = (np.diff(draw, axis=1) == 0).any(axis=1)
        ok = todo[~dup]
        out[ok] = np.where(valid[ok], draw[~dup], -1)
        todo = todo[dup]
    return out


def garnet_local(S: int, A: int, branching, *, seed: int, gamma: float | None = 0.99, horizon: int | None = None,
                 sparse: bool = False) -> TabularMDP:
    """Garnet(S, A, b): each (s, a) moves to ``b`` distinct uniformly chosen states with probabilities
    from a uniform split of [0, 1] (Dirichlet(1, ..., 1)); rewards ``R(s, a) ~ U[0, 1]``.

    ``branching`` is an int ``b`` (``b >= S`` gives full support) or a pair ``(b_min, b_max)``: then
    ``b ~ U{b_min..b_max}`` independently per (s, a). ``sparse`` stores P as CSR. Seeded, bit-for-bit.
    """
    rng = np.random.default_rng(seed)
    n = S * A
    if np.ndim(branching) == 0:
        k = np.full(n, min(int(branching), S), dtype=np.int64)
    else:
        lo, hi = (int(x) for x in branching)
        k = rng.integers(min(lo, S), min(hi, S) + 1, size=n)
    kw = {"gamma": gamma} if horizon is None else {"horizon": horizon}
    if (k >= S).all():  # full support: Dirichlet(1) over all states, dense
        w = rng.exponential(size=(n, S))
        P = (w / w.sum(axis=1, keepdims=True)).reshape(S, A, S)
        R = rng.random((S, A))
        return TabularMDP(sp.csr_matrix(P.reshape(n, S)) if sparse else P, R, name=f"garnet({S},{A},{S})", **kw)
    idx = _distinct_successors(rng, n, S, k)
    w = rng.exponential(size=idx.shape)
    w[idx < 0] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    mask = idx >= 0
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(k, out=indptr[1:])
    M = sp.csr_matrix((w[mask], idx[mask], indptr), shape=(n, S))
    R = rng.random((S, A))
    P = M if sparse else M.toarray().reshape(S, A, S)
    return TabularMDP(P, R, name=f"garnet({S},{A},{branching})", **kw)


def garnet(S: int, A: int, branching, *, seed: int, gamma: float = 0.99, sparse: bool = False,
           generator: str = "auto") -> tuple[TabularMDP, str]:
    """A discounted Garnet MDP and the name of the generator used (``"mdps.garnet"`` or ``"local"``).

    ``generator="auto"`` uses ``mdps.garnet(S, A, b, seed=..., gamma=..., sparse=...)`` when importable
    (a pair ``branching`` is passed there as its rounded mean, since that API takes one ``b``), else the
    local generator; ``"local"`` forces the local one.
    """
    if generator not in ("auto", "local", "mdps"):
        raise ValueError(f"generator: expected 'auto', 'local' or 'mdps', got {generator!r}")
    if generator != "local":
        try:
            from mdps import garnet as _g  # type: ignore[attr-defined]
        except ImportError:
            if generator == "mdps":
                raise
        else:
            b = branching if np.ndim(branching) == 0 else int(round(sum(branching) / 2))
            mdp = _g(S, A, b, seed=seed, gamma=gamma, sparse=sparse)
            return mdp, "mdps.garnet"
    return garnet_local(S, A, branching, seed=seed, gamma=gamma, sparse=sparse), "local"


def riverswim_local(S: int = 6, horizon: int = 20) -> TabularMDP:
    """RiverSwim (Strehl & Littman 2008; transition probabilities as in Osband et al. 2013).

    Action 0 (left) moves to ``s-1`` (stays at 0) deterministically; action 1 (right) moves right w.p.
    0.35, stays w.p. 0.6 and drifts left w.p. 0.05 (at 0: right 0.4 / stay 0.6; at S-1: stay 0.6 /
    left 0.4). Rewards ``R(0, left) = 0.005``, ``R(S-1, right) = 1``. Start state 0.
    """
    if S < 2:
        raise ValueError(f"S: RiverSwim needs at least 2 states, got {S}")
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == 0:
            P[s, 1, 0], P[s, 1, 1] = 0.6, 0.4
        elif s == S - 1:
            P[s, 1, s], P[s, 1, s - 1] = 0.6, 0.4
        else:
            P[s, 1, s + 1], P[s, 1, s], P[s, 1, s - 1] = 0.35, 0.6, 0.05
    R = np.zeros((S, 2))
    R[0, 0] = 0.005
    R[S - 1, 1] = 1.0
    return TabularMDP(P, R, horizon=horizon, mu0=0, name=f"riverswim({S})")


def riverswim(S: int = 20, horizon: int = 20) -> tuple[TabularMDP, str]:
    """RiverSwim from ``mdps.riverswim`` when importable, else :func:`riverswim_local`."""
    try:
        from mdps import riverswim as _r  # type: ignore[attr-defined]
    except ImportError:
        return riverswim_local(S, horizon), "local"
    try:
        return _r(S, horizon=horizon), "mdps.riverswim"
    except TypeError:
        return riverswim_local(S, horizon), "local"
