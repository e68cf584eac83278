"""Exact effective-horizon analyses of deterministic finite-horizon MDPs (Laidlaw, Russell & Dragan, NeurIPS 2023).

Definitions (time steps ``t = 0..T-1``, ``A`` actions, uniformly random exploration policy):

* ``Q^rand_t``: Q of the random policy; ``Q*_t``, ``V*_t``: optimal; ``Q^worst_t``: of the minimising policy.
  Following the authors' analysis code, the random policy's value at each state is clamped into
  ``[V^worst_t, V*_t]`` (it guards against rounding).
* ``Q^1 = Q^rand`` and ``Q^{i+1}_t(s,a) = R(s,a) + max_{a'} Q^i_{t+1}(s',a')`` for ``t < T-1`` (the last step
  keeps ``Q^1``): ``k - 1`` steps of Q-value iteration from the random policy's Q.
* **min_k** (k-QVI-solvability, paper Def. 5.1): the smallest ``k`` such that at every state reachable from the
  start by following argmax actions of ``Q^k`` (ties all followed), every argmax action is optimal
  (``Q*_t(s,a) >= V*_t(s) - 1e-4``). **epw** (effective planning window): the same search started from the
  immediate rewards instead of ``Q^rand``.
* **Simple effective-horizon bound** (paper Thm 5.4, the form the authors' code evaluates): with
  ``sigma^2_t(s,a) <= (Q^rand - Q^worst)(Q* - Q^worst)`` propagated by the same max-backups as ``Q^k``,
  for each ``k``: over the states reachable by actions whose ``Q^k`` exceeds the best sub-optimal action's,
  ``gap_t(s) = max_a Q^k_t(s,a) - max_{a sub-optimal} Q^k_t(s,a)`` (k fails if an argmax is sub-optimal),
  ``m_t(s) = max(1, ceil(16 sigma^2_t(s) / gap_t(s)^2 * ln(2 T A^k)))``, ``H_k = k + log_A max m``, and
  ``H_bar = min(T, min_k H_k)`` (``k`` runs while ``k < H_bar``).

Rewards are used in float64 (BRIDGE files store float32: cast first). Only states visitable from state 0 at
step ``t`` matter; all kernels are Numba on plain arrays: ``nxt`` (S, A) int64 successor, ``R`` (S, A).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..models.tabular import TabularMDP

__all__ = ["PRECISION", "deterministic_arrays", "ExplorationValues", "exploration_values", "min_k", "epw",
           "EffectiveHorizon", "simple_effective_horizon", "analyze"]

#: Tolerance under which an action counts as optimal (the authors' REWARD_PRECISION).
PRECISION = 1e-4


def deterministic_arrays(mdp: TabularMDP):
    """``(nxt, R, T)``: successor array (S, A), rewards (S, A) float64, horizon — for a deterministic,
    time-homogeneous finite-horizon MDP. Raises ValueError otherwise."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not mdp.finite_horizon or not mdp.time_homogeneous:
        raise ValueError("mdp: effective-horizon analyses need a time-homogeneous finite-horizon MDP")
    ip, ix, dt = mdp.csr_arrays
    nnz_rows = np.diff(ip)
    pos = dt > 0
    if np.any(np.add.reduceat(pos.astype(np.int64), ip[:-1]) != 1) or np.any(nnz_rows < 1):
        raise ValueError("mdp: transitions must be deterministic (one successor per (s, a))")
    first = ip[:-1] + np.array([np.flatnonzero(dt[a:b] > 0)[0] for a, b in zip(ip[:-1], ip[1:])])
    nxt = ix[first].reshape(mdp.S, mdp.A).astype(np.int64)
    return nxt, np.ascontiguousarray(mdp.R, dtype=np.float64), mdp.horizon


@njit(cache=True)
def _visitable(nxt, T):
    S, A = nxt.shape
    vis = np.zeros((T, S), dtype=np.bool_)
    vis[0, 0] = True
    for t in range(T - 1):
        for s in range(S):
            if vis[t, s]:
                for a in range(A):
                    vis[t + 1, nxt[s, a]] = True
    return vis


@njit(cache=True)
def _values(nxt, R, T):
    S, A = nxt.shape
    Qr = np.zeros((T, S, A))
    Qo = np.zeros((T, S, A))
    Qw = np.zeros((T, S, A))
    Vr = np.zeros((T + 1, S))
    Vo = np.zeros((T + 1, S))
    Vw = np.zeros((T + 1, S))
    for t in range(T - 1, -1, -1):
        for s in range(S):
            for a in range(A):
                n = nxt[s, a]
                Qr[t, s, a] = R[s, a] + Vr[t + 1, n]
                Qo[t, s, a] = R[s, a] + Vo[t + 1, n]
                Qw[t, s, a] = R[s, a] + Vw[t + 1, n]
            vo = Qo[t, s, 0]
            vw = Qw[t, s, 0]
            tot = 0.0
            for a in range(A):
                vo = max(vo, Qo[t, s, a])
                vw = min(vw, Qw[t, s, a])
                tot += Qr[t, s, a]
            vr = tot / A
            vr = min(vo, vr)
            vr = max(vw, vr)
            Vo[t, s] = vo
            Vw[t, s] = vw
            Vr[t, s] = vr
    return Qr, Qo, Qw, Vo


@njit(cache=True)
def _backup(cur, nxt, R, T):
    """One max-backup ``cur_t <- R + max_a' cur_{t+1}(s', a')`` for t < T-1, reading the previous iterate."""
    S, A = nxt.shape
    for t in range(T - 1):
        for s in range(S):
            for a in range(A):
                n = nxt[s, a]
                m = cur[t + 1, n, 0]
                for b in range(1, A):
                    if cur[t + 1, n, b] > m:
                        m = cur[t + 1, n, b]
                cur[t, s, a] = R[s, a] + m


@njit(cache=True)
def _max_backup(var, nxt, T):
    S, A = nxt.shape
    for t in range(T - 1):
        for s in range(S):
            for a in range(A):
                n = nxt[s, a]
                m = 0.0
                for b in range(A):
                    if var[t + 1, n, b] > m:
                        m = var[t + 1, n, b]
                var[t, s, a] = m


@njit(cache=True)
def _greedy_ok(cur, Qo, Vo, nxt, vis, T, prec):
    """Every argmax action at every state reachable along argmax actions is optimal."""
    S, A = nxt.shape
    can = np.zeros((T, S), dtype=np.bool_)
    can[0, 0] = True
    for t in range(T):
        for s in range(S):
            if not (vis[t, s] and can[t, s]):
                continue
            mq = cur[t, s, 0]
            for a in range(1, A):
                mq = max(mq, cur[t, s, a])
            for a in range(A):
                if cur[t, s, a] >= mq:
                    if Qo[t, s, a] < Vo[t, s] - prec:
                        return False
                    if t < T - 1:
                        can[t + 1, nxt[s, a]] = True
    return True


@njit(cache=True)
def _min_k(cur, Qo, Vo, nxt, R, vis, T, prec):
    k = 1
    while True:
        if _greedy_ok(cur, Qo, Vo, nxt, vis, T, prec):
            return k
        if k > T + 1:  # Q^k = Q* for k >= T: cannot happen for a consistent MDP
            return -1
        _backup(cur, nxt, R, T)
        k += 1


@njit(cache=True)
def _k_bound(cur, var, Qo, Vo, nxt, vis, T, prec, log_term):
    """For one k: (works, max over reachable (t, s) of 16 var / gap^2 * log_term, its gap, its var)."""
    S, A = nxt.shape
    can = np.zeros((T, S), dtype=np.bool_)
    can[0, 0] = True
    best = -1.0
    bgap = 0.0
    bvar = 0.0
    for t in range(T):
        for s in range(S):
            if not (vis[t, s] and can[t, s]):
                continue
            mq = -np.inf
            msub = -np.inf
            mvar = 0.0
            for a in range(A):
                q = cur[t, s, a]
                mq = max(mq, q)
                if Qo[t, s, a] < Vo[t, s] - prec:
                    msub = max(msub, q)
                mvar = max(mvar, var[t, s, a])
            if mq == msub:
                return False, 0.0, 0.0, 0.0
            gap = mq - msub
            x = 16.0 * mvar / (gap * gap) * log_term
            if x > best:
                best = x
                bgap = gap
                bvar = mvar
            if t < T - 1:
                for a in range(A):
                    if cur[t, s, a] > msub:
                        can[t + 1, nxt[s, a]] = True
    return True, best, bgap, bvar


@dataclass(frozen=True)
class ExplorationValues:
    Q_rand: np.ndarray
    Q_opt: np.ndarray
    Q_worst: np.ndarray
    V_opt: np.ndarray
    visitable: np.ndarray


def exploration_values(mdp: TabularMDP) -> ExplorationValues:
    nxt, R, T = deterministic_arrays(mdp)
    Qr, Qo, Qw, Vo = _values(nxt, R, T)
    return ExplorationValues(Qr, Qo, Qw, Vo[:T], _visitable(nxt, T))


def min_k(mdp: TabularMDP, *, precision: float = PRECISION) -> int:
    """Smallest k for which acting greedily on ``Q^k`` (k-1 QVI steps from ``Q^rand``) is optimal."""
    nxt, R, T = deterministic_arrays(mdp)
    Qr, Qo, Qw, Vo = _values(nxt, R, T)
    return int(_min_k(Qr.copy(), Qo, Vo[:T].copy(), nxt, R, _visitable(nxt, T), T, precision))


def epw(mdp: TabularMDP, *, precision: float = PRECISION) -> int:
    """Effective planning window: as :func:`min_k`, starting from the immediate rewards."""
    nxt, R, T = deterministic_arrays(mdp)
    Qr, Qo, Qw, Vo = _values(nxt, R, T)
    cur = np.broadcast_to(R, (T,) + R.shape).copy()
    return int(_min_k(cur, Qo, Vo[:T].copy(), nxt, R, _visitable(nxt, T), T, precision))


@dataclass(frozen=True)
class EffectiveHorizon:
    """``value``: the simple bound H_bar; ``ks``, ``ms`` (Python ints, exact), ``gaps``, ``vars``: per working k."""

    value: float
    ks: list = field(default_factory=list)
    ms: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    vars: list = field(default_factory=list)


def simple_effective_horizon(mdp: TabularMDP, *, precision: float = PRECISION, k_max: int | None = None) -> EffectiveHorizon:
    """The simple effective-horizon bound (Laidlaw et al. 2023, Thm 5.4), see the module docstring."""
    nxt, R, T = deterministic_arrays(mdp)
    S, A = nxt.shape
    Qr, Qo, Qw, Vo = _values(nxt, R, T)
    vis = _visitable(nxt, T)
    var = (Qr - Qw) * (Qo - Qw)
    cur = Qr.copy()
    Vo = Vo[:T].copy()
    H_bar = float(T)
    ks, ms, gaps, vars_ = [], [], [], []
    k = 1
    while k < H_bar and (k_max is None or k <= k_max):
        log_term = math.log(2 * T * float(A) ** k)
        works, x, gap, v = _k_bound(cur, var, Qo, Vo, nxt, vis, T, precision, log_term)
        if works:
            m = max(1, math.ceil(x)) if np.isfinite(x) else 1
            ks.append(k)
            ms.append(int(m))
            gaps.append(float(gap))
            vars_.append(float(v))
            H_bar = min(H_bar, k + math.log(m) / math.log(A)) if A > 1 else min(H_bar, float(k))
        _backup(cur, nxt, R, T)
        _max_backup(var, nxt, T)
        k += 1
    return EffectiveHorizon(H_bar, ks, ms, gaps, vars_)


def analyze(mdp: TabularMDP) -> dict:
    """min_k, epw, the simple effective horizon, and the classical horizon T, for reports."""
    eh = simple_effective_horizon(mdp)
    return {"horizon": mdp.horizon, "min_k": min_k(mdp), "epw": epw(mdp), "effective_horizon": eh.value,
            "ks": eh.ks, "ms": eh.ms, "S": mdp.S, "A": mdp.A}
