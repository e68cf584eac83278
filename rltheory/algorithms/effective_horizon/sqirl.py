"""SQIRL — Shallow Q-Iteration via Reinforcement Learning (Laidlaw, Zhu, Russell & Dragan, ICLR 2024, Alg. 1).

For each step ``t = 0..T-1`` in turn, with the policy ``pi_0..pi_{t-1}`` already learned:

1. collect ``m`` episodes that follow ``pi`` for steps ``< t`` and act uniformly at random from step ``t`` on;
2. with ``k' = min(k, T - t)``: regress the Monte-Carlo return-to-go at step ``t + k' - 1`` on ``(s, a)``
   (an estimate of ``Q^1 = Q^rand`` there), then ``k' - 1`` steps of fitted-Q iteration backwards,
   ``Q^{j+1}_u(s,a) ~ r + max_{a'} Q^j_{u+1}(s', a')`` on the transitions at step ``u``;
3. ``pi_t(s) = argmax_a Q^{k'}_t(s, a)``.

Episodes used: ``T m``. The paper's Theorem (sample complexity exponential only in the stochastic effective
horizon) holds for any regression oracle with in-distribution generalisation; here the oracle is pluggable:

* ``regressor="tabular"`` (default): the per-(s, a) sample mean (Numba), the natural oracle for a tabular MDP;
  actions never tried at a state are excluded from the max and the argmax (ties: lowest index);
* a :class:`LinearRegressor` on given features ``phi`` (S, A, d) — ridge least squares;
* any object with ``fit(X, y) -> predict`` where ``X`` is an (n, 2) int array of (s, a) pairs and ``predict``
  maps such an array to values.

Structure read from the authors' implementation (``effective_horizon/sb3/algorithms/sqirl.py``: per-timestep
episode collection, ``planning_depth`` Q-networks trained on value targets, Q frozen per timestep); the code here
is ours. Randomness: episodes of step ``t`` come from a Numba generator seeded with ``seed * 1_000_003 + t``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..._sampling import cumulative, cumulative_rows, sample
from ..._validation import check_int, check_real, check_seed, check_type
from ...models.tabular import TabularMDP
from ...solvers import evaluate, solve
from ..result import LearnerResult
from .analysis import PRECISION
from .search import doubling_search

__all__ = ["SQIRLResult", "sqirl", "sqirl_sample_complexity", "LinearRegressor"]


@njit(cache=True)
def _collect(cdf, cmu, R, T, t, kk, m, pi, seed, ss, aa, rr, nn, gg):
    """m episodes: follow ``pi`` before step t, random from t. Records (s, a, r, s', return-to-go) at steps
    t..t+kk-1 into ``[e, j]`` slots of the output arrays."""
    np.random.seed(seed)
    S, A = R.shape
    for e in range(m):
        s = sample(cmu, np.random.random())
        for u in range(t):
            a = pi[u, s]
            s = sample(cdf[0, s, a], np.random.random())
        rew = np.empty(T - t)
        for u in range(t, T):
            a = np.random.randint(0, A)
            s2 = sample(cdf[0, s, a], np.random.random())
            j = u - t
            rew[j] = R[s, a]
            if j < kk:
                ss[e, j] = s
                aa[e, j] = a
                rr[e, j] = R[s, a]
                nn[e, j] = s2
            s = s2
        g = 0.0
        for j in range(T - t - 1, -1, -1):
            g += rew[j]
            if j < kk:
                gg[e, j] = g


@njit(cache=True)
def _tabular_fit(S, A, s, a, y):
    """Per-(s, a) sample means; NaN where (s, a) has no sample."""
    tot = np.zeros((S, A))
    cnt = np.zeros((S, A))
    for i in range(s.shape[0]):
        tot[s[i], a[i]] += y[i]
        cnt[s[i], a[i]] += 1.0
    out = np.full((S, A), np.nan)
    for x in range(S):
        for b in range(A):
            if cnt[x, b] > 0:
                out[x, b] = tot[x, b] / cnt[x, b]
    return out


@njit(cache=True)
def _nanmax_rows(Q):
    S, A = Q.shape
    out = np.zeros(S)
    arg = np.zeros(S, dtype=np.int64)
    for x in range(S):
        best = -np.inf
        ba = 0
        for b in range(A):
            if Q[x, b] == Q[x, b] and Q[x, b] > best:
                best = Q[x, b]
                ba = b
        out[x] = best if best > -np.inf else 0.0
        arg[x] = ba
    return out, arg


class LinearRegressor:
    """Ridge least squares on features ``phi`` (S, A, d): ``fit(X, y)`` returns ``predict(X) = phi[X] w``."""

    def __init__(self, phi, ridge: float = 1e-6):
        phi = np.asarray(phi, dtype=np.float64)
        if phi.ndim != 3:
            raise ValueError(f"phi: expected shape (S, A, d), got {phi.shape}")
        if not np.all(np.isfinite(phi)):
            raise ValueError("phi: contains NaN or inf")
        ridge = check_real("ridge", ridge, low=0.0)
        self.phi, self.ridge = phi, float(ridge)

    def fit(self, X, y):
        """Ridge least squares ``w = (F^T F + ridge I)^{-1} F^T y`` with ``F = phi[X[:, 0], X[:, 1]]``.

        Parameters
        ----------
        X : ndarray of int, shape (n, 2)
            State-action pairs.
        y : ndarray, shape (n,)
            Targets.

        Returns
        -------
        callable
            ``predict(Xq) = phi[Xq[:, 0], Xq[:, 1]] @ w``.
        """
        F = self.phi[X[:, 0], X[:, 1]]
        w = np.linalg.solve(F.T @ F + self.ridge * np.eye(F.shape[1]), F.T @ y)
        return lambda Xq: self.phi[Xq[:, 0], Xq[:, 1]] @ w


def _fit_table(regressor, S, A, s, a, y):
    if regressor == "tabular":
        return _tabular_fit(S, A, s, a, y)
    predict = regressor.fit(np.stack([s, a], axis=1), y)
    # the fitted function on every pair; pairs without data are still excluded below, as for the tabular oracle
    grid = np.stack(np.meshgrid(np.arange(S), np.arange(A), indexing="ij"), axis=-1).reshape(-1, 2)
    out = np.asarray(predict(grid), dtype=np.float64).reshape(S, A)
    seen = _tabular_fit(S, A, s, a, np.zeros_like(y))
    out[np.isnan(seen)] = np.nan
    return out


@dataclass(frozen=True)
class SQIRLResult(LearnerResult):
    """Outcome of one SQIRL run.

    Attributes
    ----------
    policy : ndarray of int, shape (T, S)
        The learned Markov policy.
    value, v_star : float
        Its exact value and ``V*`` (``mu0``-weighted).
    optimal : bool
        ``value >= v_star - tol``.
    k, m : int
        Depth and episodes per step.
    regressor : str
        ``"tabular"`` or the regressor's class name.
    method, episodes, seed
        ``"sqirl"``, the episodes used (``T m``) and the seed (:class:`~rltheory.algorithms.result.LearnerResult`).
    """

    policy: np.ndarray  # (T, S) int
    value: float
    v_star: float
    optimal: bool
    k: int
    m: int
    regressor: str


def sqirl(mdp: TabularMDP, k: int, m: int, *, seed: int, regressor="tabular", tol: float = PRECISION) -> SQIRLResult:
    """Run SQIRL (module docstring) with depth ``k`` and ``m`` episodes per step.

    At step ``t``, ``m`` episodes follow the policy learned so far up to ``t`` and act uniformly at random after;
    ``k`` steps of fitted Q-iteration on their returns give ``pi_t = argmax_a Q_t``.

    Parameters
    ----------
    mdp : TabularMDP
        Time-homogeneous, finite horizon.
    k : int
        Depth of the fitted Q-iteration.
    m : int
        Episodes per step.
    seed : int
        Seed in ``[0, 2^32)``.
    regressor : "tabular" or object
        ``"tabular"`` (empirical means) or an object with ``fit(X, y) -> predict`` (e.g. :class:`LinearRegressor`).
    tol : float
        Optimality tolerance of the result.

    Returns
    -------
    SQIRLResult
        The learned policy, evaluated exactly.
    """
    check_type("mdp", mdp, TabularMDP)
    if not mdp.finite_horizon or not mdp.time_homogeneous or mdp.R3().shape[0] != 1:
        raise ValueError("mdp: SQIRL here needs a time-homogeneous finite-horizon MDP")
    k, m = check_int("k", k, low=1), check_int("m", m, low=1)
    seed = check_seed("seed", seed, high=2**32 - 1)
    if not (isinstance(regressor, str) and regressor == "tabular") and not hasattr(regressor, "fit"):
        raise TypeError("regressor: expected 'tabular' or an object with fit(X, y) -> predict")
    S, A, T = mdp.S, mdp.A, mdp.horizon
    R = np.ascontiguousarray(mdp.R3()[0])
    cdf = cumulative_rows(np.ascontiguousarray(mdp.P4()))
    cmu = cumulative(np.ascontiguousarray(mdp.mu0))
    pi = np.zeros((T, S), dtype=np.int64)
    m = int(m)
    for t in range(T):
        kk = min(int(k), T - t)
        ss = np.zeros((m, kk), dtype=np.int64)
        aa = np.zeros((m, kk), dtype=np.int64)
        nn = np.zeros((m, kk), dtype=np.int64)
        rr = np.zeros((m, kk))
        gg = np.zeros((m, kk))
        _collect(cdf, cmu, R, T, t, kk, m, pi, (int(seed) * 1_000_003 + t) % 2**32, ss, aa, rr, nn, gg)
        j = kk - 1
        Q = _fit_table(regressor, S, A, ss[:, j], aa[:, j], gg[:, j])
        for j in range(kk - 2, -1, -1):
            vnext, _ = _nanmax_rows(Q)
            Q = _fit_table(regressor, S, A, ss[:, j], aa[:, j], rr[:, j] + vnext[nn[:, j]])
        pi[t] = _nanmax_rows(Q)[1]
    v = float(mdp.mu0 @ evaluate(mdp, pi)[0])
    v_star = float(mdp.mu0 @ solve(mdp).V[0])
    name = regressor if isinstance(regressor, str) else type(regressor).__name__
    return SQIRLResult(pi, v, v_star, bool(v >= v_star - tol), int(k), m, name, method="sqirl", episodes=T * m,
                       seed=int(seed))


def sqirl_sample_complexity(mdp: TabularMDP, k: int, *, seeds, success: float = 0.5, m_max: int = 2**14,
                            regressor="tabular", tol: float = PRECISION):
    """Smallest ``m`` in ``1, 2, 4, ..., m_max`` for which SQIRL(k, m) is ``tol``-optimal on a ``success`` fraction of seeds.

    In stochastic MDPs with near-ties an ``epsilon``-optimality ``tol`` is the meaningful target (ICLR 2024 states its
    bounds for epsilon-optimal policies).

    Parameters
    ----------
    mdp : TabularMDP
        Time-homogeneous, finite horizon.
    k : int
        Depth.
    seeds : iterable of int
        Seeds of the runs.
    success : float
        Required fraction, in (0, 1].
    m_max : int
        Largest ``m`` tried.
    regressor : "tabular" or object
        As in :func:`sqirl`.
    tol : float
        Optimality tolerance.

    Returns
    -------
    tuple
        ``(m, episodes = T m)`` or ``(None, None)``.
    """
    def run(m, s):
        r = sqirl(mdp, k, m, seed=s, regressor=regressor, tol=tol)
        return r.optimal, r.episodes

    return doubling_search(run, seeds, success=success, m_max=m_max)
