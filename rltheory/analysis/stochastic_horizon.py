"""Effective-horizon analyses of stochastic finite-horizon MDPs (Laidlaw, Zhu, Russell & Dragan, ICLR 2024).

The same objects as in :mod:`rltheory.analysis.effective_horizon`, with expectations over next states
(``T`` steps ``t = 0..T-1``, ``A`` actions, uniformly random exploration policy):

* ``Q^1 = Q^rand``; ``Q^{i+1}_t(s,a) = R(s,a) + sum_{s'} P(s'|s,a) max_{a'} Q^i_{t+1}(s',a')`` for ``t < T-1``
  (the last step keeps ``Q^1``): ``k - 1`` steps of Q-value iteration from the random policy's Q-function.
* **k-QVI-solvability** (ICLR 2024, Sec. 3): every policy greedy on ``Q^k`` is optimal. We test it as the
  authors' analysis code does for the deterministic case: at every state reached with positive probability
  when the argmax actions of ``Q^k`` are followed (ties all followed), every argmax action is optimal
  (``Q*_t(s,a) >= V*_t(s) - 1e-4``). ``min_k`` is the smallest such k; ``greedy_returns[i-1]`` is the exact
  return ``J_i`` of the policy greedy on ``Q^i`` (first argmax), as in the authors' sticky-action analysis.
* **Stochastic effective horizon — our reconstruction.** The exact constants of the ICLR 2024 paper's
  definition were not available to us; we use the form of the deterministic simple bound (NeurIPS 2023,
  Thm 5.4) with expectations: over the states reached with positive probability along actions whose ``Q^k``
  exceeds the best sub-optimal action's, ``gap_t(s) = max_a Q^k_t(s,a) - max_{a sub-optimal} Q^k_t(s,a)``;
  ``sigma^2_t(s,a) = (Q^rand - Q^worst)(Q* - Q^worst)`` (a Bhatia-Davis-type bound on the variance of a
  random-policy return, valid for stochastic MDPs too) propagated by a max over next states in the support
  and next actions; ``m_k = max(1, ceil(max_{t,s} 16 sigma^2 / gap^2 ln(2 T A^k)))``,
  ``H_k = k + log_A m_k``, ``H_bar = min(T, min_k H_k)``. On a deterministic MDP every quantity equals the one
  of :func:`~rltheory.analysis.effective_horizon.simple_effective_horizon` (tested). The paper's exact form
  would replace :func:`_k_bound_stoch`.

Kernels are Numba on the model's CSR arrays (rows ``s * A + a``), so thousands of states x tens of steps are
cheap; only time-homogeneous finite-horizon models are accepted (like the deterministic analyses).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..models.tabular import TabularMDP

__all__ = ["PRECISION", "StochasticAnalysis", "stochastic_analysis", "qvi_iterates"]

#: Tolerance under which an action counts as optimal (the authors' REWARD_PRECISION).
PRECISION = 1e-4


def _arrays(mdp: TabularMDP):
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not mdp.finite_horizon or not mdp.time_homogeneous:
        raise ValueError("mdp: effective-horizon analyses need a time-homogeneous finite-horizon MDP")
    ip, ix, dt = mdp.csr_arrays
    R = np.ascontiguousarray(mdp.R, dtype=np.float64)
    if R.ndim != 2:
        raise ValueError("mdp: effective-horizon analyses need time-homogeneous rewards (S, A)")
    return (np.ascontiguousarray(ip, dtype=np.int64), np.ascontiguousarray(ix, dtype=np.int64),
            np.ascontiguousarray(dt, dtype=np.float64), R, int(mdp.horizon),
            np.ascontiguousarray(mdp.mu0, dtype=np.float64))


@njit(cache=True)
def _values_stoch(ip, ix, dt, R, T):
    S, A = R.shape
    Qr = np.zeros((T, S, A))
    Qo = np.zeros((T, S, A))
    Qw = np.zeros((T, S, A))
    Vr = np.zeros((T + 1, S))
    Vo = np.zeros((T + 1, S))
    Vw = np.zeros((T + 1, S))
    for t in range(T - 1, -1, -1):
        for s in range(S):
            for a in range(A):
                row = s * A + a
                er = 0.0
                eo = 0.0
                ew = 0.0
                for j in range(ip[row], ip[row + 1]):
                    p = dt[j]
                    n = ix[j]
                    er += p * Vr[t + 1, n]
                    eo += p * Vo[t + 1, n]
                    ew += p * Vw[t + 1, n]
                Qr[t, s, a] = R[s, a] + er
                Qo[t, s, a] = R[s, a] + eo
                Qw[t, s, a] = R[s, a] + ew
            vo = Qo[t, s, 0]
            vw = Qw[t, s, 0]
            tot = 0.0
            for a in range(A):
                vo = max(vo, Qo[t, s, a])
                vw = min(vw, Qw[t, s, a])
                tot += Qr[t, s, a]
            Vo[t, s] = vo
            Vw[t, s] = vw
            Vr[t, s] = max(vw, min(vo, tot / A))  # clamp against rounding, as in the deterministic analysis
    return Qr, Qo, Qw, Vo


@njit(cache=True)
def _backup_stoch(cur, ip, ix, dt, R, T):
    """``cur_t <- R + E_{s'} max_{a'} cur_{t+1}(s', a')`` for t < T-1 (reads only step t+1, so in place from t=0)."""
    S, A = R.shape
    for t in range(T - 1):
        vmax = np.empty(S)
        for n in range(S):
            m = cur[t + 1, n, 0]
            for b in range(1, A):
                if cur[t + 1, n, b] > m:
                    m = cur[t + 1, n, b]
            vmax[n] = m
        for s in range(S):
            for a in range(A):
                row = s * A + a
                e = 0.0
                for j in range(ip[row], ip[row + 1]):
                    e += dt[j] * vmax[ix[j]]
                cur[t, s, a] = R[s, a] + e


@njit(cache=True)
def _max_backup_stoch(var, ip, ix, dt, T):
    S = var.shape[1]
    A = var.shape[2]
    for t in range(T - 1):
        for s in range(S):
            for a in range(A):
                row = s * A + a
                m = 0.0
                for j in range(ip[row], ip[row + 1]):
                    if dt[j] > 0:
                        n = ix[j]
                        for b in range(A):
                            if var[t + 1, n, b] > m:
                                m = var[t + 1, n, b]
                var[t, s, a] = m


@njit(cache=True)
def _greedy_ok_stoch(cur, Qo, Vo, ip, ix, dt, mu0, T, prec):
    S = cur.shape[1]
    A = cur.shape[2]
    can = np.zeros((T, S), dtype=np.bool_)
    for s in range(S):
        can[0, s] = mu0[s] > 0
    for t in range(T):
        for s in range(S):
            if not can[t, s]:
                continue
            mq = cur[t, s, 0]
            for a in range(1, A):
                mq = max(mq, cur[t, s, a])
            for a in range(A):
                if cur[t, s, a] >= mq:
                    if Qo[t, s, a] < Vo[t, s] - prec:
                        return False
                    if t < T - 1:
                        row = s * A + a
                        for j in range(ip[row], ip[row + 1]):
                            if dt[j] > 0:
                                can[t + 1, ix[j]] = True
    return True


@njit(cache=True)
def _k_bound_stoch(cur, var, Qo, Vo, ip, ix, dt, mu0, T, prec, log_term):
    """For one k: (works, max over reached (t, s) of 16 var / gap^2 * log_term, its gap, its var)."""
    S = cur.shape[1]
    A = cur.shape[2]
    can = np.zeros((T, S), dtype=np.bool_)
    for s in range(S):
        can[0, s] = mu0[s] > 0
    best = -1.0
    bgap = 0.0
    bvar = 0.0
    for t in range(T):
        for s in range(S):
            if not can[t, s]:
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
                        row = s * A + a
                        for j in range(ip[row], ip[row + 1]):
                            if dt[j] > 0:
                                can[t + 1, ix[j]] = True
    return True, best, bgap, bvar


@njit(cache=True)
def _greedy_return(cur, ip, ix, dt, R, mu0, T):
    """Exact return of the policy greedy on ``cur`` (first argmax)."""
    S, A = R.shape
    V = np.zeros(S)
    for t in range(T - 1, -1, -1):
        Vn = np.empty(S)
        for s in range(S):
            ba = 0
            for a in range(1, A):
                if cur[t, s, a] > cur[t, s, ba]:
                    ba = a
            row = s * A + ba
            e = 0.0
            for j in range(ip[row], ip[row + 1]):
                e += dt[j] * V[ix[j]]
            Vn[s] = R[s, ba] + e
        V = Vn
    out = 0.0
    for s in range(S):
        out += mu0[s] * V[s]
    return out


def qvi_iterates(mdp: TabularMDP, k_max: int) -> list:
    """``[Q^1, ..., Q^k_max]``, each (T, S, A): Q of the random policy and k-1 Q-value-iteration steps from it."""
    ip, ix, dt, R, T, _ = _arrays(mdp)
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 1:
        raise ValueError(f"k_max: must be a positive int, got {k_max!r}")
    cur = _values_stoch(ip, ix, dt, R, T)[0].copy()
    out = [cur.copy()]
    for _ in range(int(k_max) - 1):
        _backup_stoch(cur, ip, ix, dt, R, T)
        out.append(cur.copy())
    return out


@dataclass(frozen=True)
class StochasticAnalysis:
    """``min_k`` (-1 if not found up to ``k_max``), ``epw``, ``greedy_returns`` J_1..J_kmax, returns of the
    optimal / random / worst policies, and the effective-horizon reconstruction (``value``, per-k ``ks``, ``ms``,
    ``gaps``, ``vars``)."""

    min_k: int
    epw: int
    greedy_returns: list
    optimal_return: float
    random_return: float
    worst_return: float
    value: float
    ks: list = field(default_factory=list)
    ms: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    vars: list = field(default_factory=list)


def _eh_search(ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo, k_max, precision, greedy_returns):
    """The effective-horizon search over k = 1..k_max (module docstring); with ``greedy_returns`` also J_k."""
    A = R.shape[1]
    cur = Qr.copy()
    var = (Qr - Qw) * (Qo - Qw)
    H_bar = float(T)
    ks, ms, gaps, vars_, J = [], [], [], [], []
    for k in range(1, k_max + 1):
        if not greedy_returns and k >= H_bar:
            break
        if greedy_returns:
            J.append(float(_greedy_return(cur, ip, ix, dt, R, mu0, T)))
        if k < H_bar:
            works, x, gap, v = _k_bound_stoch(cur, var, Qo, Vo, ip, ix, dt, mu0, T, precision,
                                              math.log(2 * T * float(A) ** k))
            if works:
                m = max(1, math.ceil(x)) if np.isfinite(x) else 1
                ks.append(k)
                ms.append(int(m))
                gaps.append(float(gap))
                vars_.append(float(v))
                H_bar = min(H_bar, k + math.log(m) / math.log(A)) if A > 1 else min(H_bar, float(k))
        _backup_stoch(cur, ip, ix, dt, R, T)
        _max_backup_stoch(var, ip, ix, dt, T)
    return H_bar, ks, ms, gaps, vars_, J


def _qvi_search(ip, ix, dt, R, T, mu0, Qo, Vo, start, precision):
    """Smallest k (<= T + 1) with every greedy policy on Q^k optimal, starting from ``start``; -1 if none."""
    cur = start.copy()
    for k in range(1, T + 2):
        if _greedy_ok_stoch(cur, Qo, Vo, ip, ix, dt, mu0, T, precision):
            return k
        _backup_stoch(cur, ip, ix, dt, R, T)
    return -1


def stochastic_analysis(mdp: TabularMDP, *, k_max: int = 5, precision: float = PRECISION) -> StochasticAnalysis:
    """All the analyses of the module docstring for one time-homogeneous finite-horizon MDP.

    ``min_k`` and ``epw`` are searched up to ``T + 1`` (Q^k = Q* once k >= T); ``greedy_returns`` and the
    effective-horizon search stop at ``k_max`` (the bound's search also stops once ``k >= H_bar``)."""
    ip, ix, dt, R, T, mu0 = _arrays(mdp)
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or k_max < 1:
        raise ValueError(f"k_max: must be a positive int, got {k_max!r}")
    S, A = R.shape
    Qr, Qo, Qw, Vo = _values_stoch(ip, ix, dt, R, T)
    Vo = Vo[:T].copy()

    def search(start):
        return _qvi_search(ip, ix, dt, R, T, mu0, Qo, Vo, start, precision)

    mk = search(Qr)
    w = search(np.broadcast_to(R, (T, S, A)))
    H_bar, ks, ms, gaps, vars_, J = _eh_search(ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo, int(k_max), precision, True)
    ret = lambda Q: float(mu0 @ Q[0].max(axis=1))  # noqa: E731
    rand = float(mu0 @ Qr[0].mean(axis=1))
    worst = float(mu0 @ Qw[0].min(axis=1))
    return StochasticAnalysis(int(mk), int(w), J, ret(Qo), rand, worst, H_bar, ks, ms, gaps, vars_)
