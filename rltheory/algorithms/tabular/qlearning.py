"""Tabular Q-learning for finite-horizon MDPs with epsilon-greedy exploration, whole loop in Numba.

A reference learner for the effective-horizon experiments (Laidlaw et al. 2023 compare bounds with the sample
complexity of practical, randomly exploring learners). Update after each transition of episode k
(per-step tables, as in Jin, Allen-Zhu, Bubeck & Jordan, NeurIPS 2018, Alg. 1 without the bonus):

``Q_h(s,a) <- (1 - alpha_n) Q_h(s,a) + alpha_n (r + max_{a'} Q_{h+1}(s', a'))``, ``alpha_n = (H + 1) / (H + n)``,

``n`` the number of visits of ``(h, s, a)`` so far, ``Q_H = 0``, ``Q`` initialised to ``q_init``. Actions are
epsilon-greedy with uniform tie-breaking among argmax actions (so an untouched table explores uniformly).

After the episodes listed in ``checkpoints`` the greedy policy (first argmax) is evaluated exactly on the true
model; :func:`qlearning` returns its value at each checkpoint. ``stop_at_optimal=True`` ends the run at the first
checkpoint whose greedy value is within ``OPTIMAL_TOL`` of ``V*`` (later checkpoints stay NaN): the episodes before
the stop draw the same random numbers, so :meth:`QLearningResult.first_optimal` is the same as without it. Randomness: Numba's generator seeded with
``np.random.seed(seed)`` inside the kernel (reproducible for a seed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..._sampling import cumulative, cumulative_rows, sample
from ...models.tabular import TabularMDP
from ...solvers.api import solve
from .ucbvi import OPTIMAL_TOL, _policy_value

__all__ = ["QLearningResult", "qlearning", "geometric_checkpoints"]


@njit(cache=True)
def _qlearning_loop(P4, R3, mu0, H, K, eps, q_init, seed, checkpoints, values, stop_value):
    np.random.seed(seed)
    hp = P4.shape[0]
    hr = R3.shape[0]
    S = P4.shape[1]
    A = P4.shape[2]
    cdf = cumulative_rows(P4)
    cmu = cumulative(mu0)
    Q = np.full((H + 1, S, A), q_init)
    Q[H] = 0.0
    N = np.zeros((H, S, A))
    pi = np.zeros((H, S), dtype=np.int64)
    Vbuf = np.empty((H + 1, S))
    ties = np.empty(A, dtype=np.int64)
    c = 0
    for ep in range(K):
        s = sample(cmu, np.random.random())
        for h in range(H):
            if np.random.random() < eps:
                a = np.random.randint(0, A)
            else:
                m = Q[h, s, 0]
                for b in range(1, A):
                    m = max(m, Q[h, s, b])
                nt = 0
                for b in range(A):
                    if Q[h, s, b] >= m:
                        ties[nt] = b
                        nt += 1
                a = ties[np.random.randint(0, nt)]
            k = h if hp > 1 else 0
            r = R3[h if hr > 1 else 0, s, a]
            t = sample(cdf[k, s, a], np.random.random())
            N[h, s, a] += 1.0
            alpha = (H + 1.0) / (H + N[h, s, a])
            nv = Q[h + 1, t, 0]
            for b in range(1, A):
                nv = max(nv, Q[h + 1, t, b])
            Q[h, s, a] = (1.0 - alpha) * Q[h, s, a] + alpha * (r + nv)
            s = t
        while c < checkpoints.shape[0] and checkpoints[c] == ep + 1:
            for h in range(H):
                for x in range(S):
                    ba = 0
                    for b in range(1, A):
                        if Q[h, x, b] > Q[h, x, ba]:
                            ba = b
                    pi[h, x] = ba
            values[c] = _policy_value(P4, R3, pi, mu0, H, S, Vbuf)
            c += 1
            if values[c - 1] >= stop_value:  # stop_value = inf: never
                return


def geometric_checkpoints(K: int, per_doubling: int = 4) -> np.ndarray:
    """Episode counts 1, 2, ... up to ``K`` (every count up to ``per_doubling``, then ``per_doubling`` per
    doubling, always including ``K``)."""
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
        raise ValueError(f"K: must be a positive int, got {K!r}")
    pts = np.unique(np.round(np.logspace(0, np.log2(K), int(np.ceil(np.log2(K) * per_doubling)) + 1, base=2.0)))
    pts = np.unique(np.concatenate([pts, [K]])).astype(np.int64)
    return pts[(pts >= 1) & (pts <= K)]


@dataclass(frozen=True)
class QLearningResult:
    """Exact value of the greedy policy after ``checkpoints[i]`` episodes: ``values[i]``; ``v_star``."""

    checkpoints: np.ndarray
    values: np.ndarray
    v_star: float
    epsilon: float
    seed: int
    stopped_at_optimal: bool = False

    def first_optimal(self, tol: float = OPTIMAL_TOL) -> float:
        """Episodes until the greedy policy was first optimal (within ``tol``), ``inf`` if never. After
        ``stop_at_optimal`` only ``tol >= OPTIMAL_TOL`` is answerable."""
        if self.stopped_at_optimal and tol < OPTIMAL_TOL:
            raise ValueError(f"tol: the run stopped at a greedy value >= V* - {OPTIMAL_TOL:g}; got tol={tol!r}")
        hit = np.flatnonzero(self.values >= self.v_star - tol)
        return float(self.checkpoints[hit[0]]) if hit.size else float("inf")


def qlearning(mdp: TabularMDP, K: int, *, seed: int, epsilon: float = 0.1, q_init: float = 0.0,
              checkpoints=None, stop_at_optimal: bool = False) -> QLearningResult:
    """Run epsilon-greedy tabular Q-learning for ``K`` episodes (module docstring); checkpoints default to
    :func:`geometric_checkpoints`; ``stop_at_optimal``: end at the first optimal checkpoint (module docstring)."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not mdp.finite_horizon:
        raise ValueError("mdp: Q-learning here is for finite-horizon MDPs (horizon=H)")
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
        raise ValueError(f"K: must be a positive int, got {K!r}")
    if not (0.0 <= float(epsilon) <= 1.0):
        raise ValueError(f"epsilon: must lie in [0, 1], got {epsilon!r}")
    if not np.isfinite(q_init):
        raise ValueError(f"q_init: must be finite, got {q_init!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed: must be an int in [0, 2^32), got {seed!r}")
    if not isinstance(stop_at_optimal, bool):
        raise TypeError(f"stop_at_optimal: expected a bool, got {type(stop_at_optimal).__name__}")
    cps = geometric_checkpoints(int(K)) if checkpoints is None else np.unique(np.asarray(checkpoints, dtype=np.int64))
    if cps.size == 0 or cps[0] < 1 or cps[-1] > K:
        raise ValueError(f"checkpoints: must be episode counts in [1, K={K}]")
    values = np.full(cps.size, np.nan)
    v_star = float(mdp.mu0 @ solve(mdp).V[0])
    _qlearning_loop(np.ascontiguousarray(mdp.P4()), np.ascontiguousarray(mdp.R3()), np.ascontiguousarray(mdp.mu0),
                    mdp.horizon, int(K), float(epsilon), float(q_init), int(seed), cps, values,
                    v_star - OPTIMAL_TOL if stop_at_optimal else np.inf)
    return QLearningResult(cps, values, v_star, float(epsilon), int(seed), bool(stop_at_optimal))
