"""NumPy-loop baseline for the online-learning inner loop: UCBVI with a Hoeffding bonus.

UCBVI-CH (Azar, Osband & Munos 2017, Alg. 1 with the Hoeffding bonus ``b = c H sqrt(L / N)``): before
every episode k, plan on the empirical model with optimism,

    Q_h(s,a) = min(H - h, R(s,a) + sum_{s'} Phat(s'|s,a) V_{h+1}(s') + c (H - h) sqrt(L / N(s,a)))
    (Q_h(s,a) = H - h while N(s,a) = 0),   V_h = max_a Q_h,   L = log(5 S A H K / delta),

then act greedily for H steps in the true MDP and update the counts ``N(s,a)``, ``N(s,a,s')``.
Rewards are the known means ``R(s,a)`` (the usual simplification: only P is learned).

This is the *baseline*: planning is vectorised NumPy (one (S*A, S) matvec per step), the rollout a
Python loop. ``rltheory_ucbvi`` is the hook for the Numba implementation in
``rltheory.algorithms.tabular.ucbvi`` (another developer's module): when it is importable with a
recognised signature, the benchmark times it on the same instance.
"""
from __future__ import annotations

import inspect

import numpy as np

__all__ = ["ucbvi_numpy", "rltheory_ucbvi"]


def ucbvi_numpy(P, R, H: int, K: int, *, seed: int, c: float = 1.0, delta: float = 0.1, s0: int = 0) -> np.ndarray:
    """Run K episodes of UCBVI-CH on the (time-homogeneous) MDP ``P[s,a,s']``, ``R[s,a]``; returns the
    (K,) array of episode returns. Seeded: the same seed gives the same returns bit for bit."""
    P = np.asarray(P, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    S, A = R.shape
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(P, axis=-1)
    L = np.log(5.0 * S * A * H * K / delta)
    N = np.zeros((S, A))
    Nsas = np.zeros((S, A, S))
    Q = np.empty((H, S, A))
    V = np.zeros((H + 1, S))
    ret = np.empty(K)
    steps_left = (H - np.arange(H)).astype(np.float64)
    for k in range(K):
        n1 = np.maximum(N, 1.0)
        Phat2 = (Nsas / n1[:, :, None]).reshape(S * A, S)
        root = np.sqrt(L / n1)
        unvisited = N == 0
        for h in range(H - 1, -1, -1):
            q = R + (Phat2 @ V[h + 1]).reshape(S, A) + c * steps_left[h] * root
            q = np.minimum(q, steps_left[h])
            q[unvisited] = steps_left[h]
            Q[h] = q
            V[h] = q.max(axis=1)
        u = rng.random(H)
        s = s0
        total = 0.0
        for h in range(H):
            a = int(np.argmax(Q[h, s]))
            total += R[s, a]
            s2 = int(np.searchsorted(cdf[s, a], u[h], side="right"))
            if s2 >= S:
                s2 = S - 1
            N[s, a] += 1.0
            Nsas[s, a, s2] += 1.0
            s = s2
        ret[k] = total
    return ret


_EPISODE_KW = ("K", "episodes", "n_episodes", "num_episodes")


def rltheory_ucbvi():
    """Hook: ``(callable(mdp, K, seed) -> object, note)`` for ``rltheory.algorithms.tabular.ucbvi``, or
    ``(None, reason)`` when it is not importable or its signature is not recognised (then tell the
    benchmark how to call it here)."""
    try:
        from rltheory.algorithms.tabular import ucbvi  # type: ignore[attr-defined]
    except ImportError as exc:
        return None, f"rltheory.algorithms.tabular.ucbvi not importable ({exc})"
    fn = getattr(ucbvi, "ucbvi", ucbvi) if inspect.ismodule(ucbvi) else ucbvi
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None, "ucbvi: signature not inspectable"
    kw = next((k for k in _EPISODE_KW if k in params), None)
    if kw is None or "seed" not in params:
        return None, f"ucbvi{inspect.signature(fn)}: no episode-count/seed parameter recognised; adapt benchmarks/ucbvi_numpy.py"

    def run(mdp, K, seed):
        return fn(mdp, **{kw: K}, seed=seed)
    return run, f"rltheory.algorithms.tabular.ucbvi(mdp, {kw}=K, seed=...)"
