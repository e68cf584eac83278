"""Numba kernels and array preparation of the effective-horizon analyses (private to this package).

All kernels work on the CSR arrays ``(ip, ix, dt)`` of a time-homogeneous finite-horizon
:class:`~rltheory.models.TabularMDP` (rows ``s * A + a``), time-homogeneous rewards ``R (S, A)`` and horizon ``T``;
the definitions they compute are those of :mod:`.stochastic_analysis` and :mod:`.analysis`.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..._validation import check_type
from ...models.tabular import TabularMDP, readonly


def csr_arrays(mdp: TabularMDP):
    check_type("mdp", mdp, TabularMDP)
    if not mdp.finite_horizon or not mdp.time_homogeneous:
        raise ValueError("mdp: effective-horizon analyses need a time-homogeneous finite-horizon MDP")
    ip, ix, dt = mdp.csr_arrays
    R = np.ascontiguousarray(mdp.R, dtype=np.float64)
    if R.ndim != 2:
        raise ValueError("mdp: effective-horizon analyses need time-homogeneous rewards (S, A)")
    R = readonly(R)  # as the model's own rewards: one compiled signature per kernel
    return (np.ascontiguousarray(ip, dtype=np.int64), np.ascontiguousarray(ix, dtype=np.int64),
            np.ascontiguousarray(dt, dtype=np.float64), R, int(mdp.horizon),
            np.ascontiguousarray(mdp.mu0, dtype=np.float64))


@njit(cache=True)
def exploration_q(ip, ix, dt, R, T):
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
def backup_stoch(cur, ip, ix, dt, R, T):
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
def max_backup_stoch(var, ip, ix, dt, T):
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
def greedy_ok_stoch(cur, Qo, Vo, ip, ix, dt, mu0, T, prec):
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
def k_bound_stoch(cur, var, Qo, Vo, ip, ix, dt, mu0, T, prec, log_term):
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
def greedy_return(cur, ip, ix, dt, R, mu0, T):
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


def eh_search(ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo, k_max, precision, greedy_returns):
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
            J.append(float(greedy_return(cur, ip, ix, dt, R, mu0, T)))
        if k < H_bar:
            works, x, gap, v = k_bound_stoch(cur, var, Qo, Vo, ip, ix, dt, mu0, T, precision,
                                              math.log(2 * T * float(A) ** k))
            if works:
                m = max(1, math.ceil(x)) if np.isfinite(x) else 1
                ks.append(k)
                ms.append(int(m))
                gaps.append(float(gap))
                vars_.append(float(v))
                H_bar = min(H_bar, k + math.log(m) / math.log(A)) if A > 1 else min(H_bar, float(k))
        backup_stoch(cur, ip, ix, dt, R, T)
        max_backup_stoch(var, ip, ix, dt, T)
    return H_bar, ks, ms, gaps, vars_, J


def qvi_search(ip, ix, dt, R, T, mu0, Qo, Vo, start, precision):
    """Smallest k (<= T + 1) with every greedy policy on Q^k optimal, starting from ``start``; -1 if none."""
    cur = start.copy()
    for k in range(1, T + 2):
        if greedy_ok_stoch(cur, Qo, Vo, ip, ix, dt, mu0, T, precision):
            return k
        backup_stoch(cur, ip, ix, dt, R, T)
    return -1
