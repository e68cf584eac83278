"""Shared Numba kernels of finite-horizon greedy backward induction (private; used by the models and algorithms).

One step ``h`` of a greedy backup, ``V_h(s) = max_a Q_h(s, a)`` with the first maximising action as the policy,
is :func:`greedy_max`; every tabular and linear-mixture planner of the package computes its ``Q_h`` and calls it.
For linear mixture MDPs (Zhang, Zhang & Gu, ICML 2023) the summation oracle
``psi_V(s, a) = sum_{s'} phi(s'|s, a) V(s')`` (:func:`psi_oracle`) gives ``[P V](s, a) = <psi_V(s, a), theta>``,
and :func:`mixture_q` forms ``Q_h(s, a) = clip(b(s, a) + <psi_{V_{h+1}}(s, a), theta>)`` from any per-pair base
term ``b`` (reward, reward plus bonus, bonus alone). The sums run over ``i = 0..d-1`` in order, starting from
``b``, so every caller gets the same floating-point result as a loop written inline.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["greedy_max", "psi_oracle", "mixture_q", "lm_backward", "lm_evaluate", "box_simplex_max"]


@njit(cache=True)
def greedy_max(Qh, best0, Vh, pih):
    """One greedy step: ``Vh[s] = max_a Qh[s, a]``, ``pih[s]`` = the first maximising action.

    Parameters
    ----------
    Qh : ndarray, shape (S, A)
        Action values of step ``h``.
    best0 : float
        Starting value of the running maximum (``-inf``, or a value below every possible ``Q``, e.g. ``-1.0`` for
        values clipped at 0); an action is taken only when its value is strictly larger, so ties go to the first.
    Vh : ndarray, shape (S,)
        Output values.
    pih : ndarray of int, shape (S,)
        Output actions (0 when no value exceeds ``best0``).
    """
    S, A = Qh.shape
    for s in range(S):
        best = best0
        ba = 0
        for a in range(A):
            q = Qh[s, a]
            if q > best:
                best = q
                ba = a
        Vh[s] = best
        pih[s] = ba


@njit(cache=True)
def psi_oracle(phi, V, out):
    """The summation oracle ``out[s, a, i] = sum_t phi[s, a, t, i] V[t]`` (terms with ``V[t] = 0`` skipped).

    Parameters
    ----------
    phi : ndarray, shape (S, A, S, d)
        Basis measures ``phi_i(s'|s, a)``.
    V : ndarray, shape (S,)
        Next-step values.
    out : ndarray, shape (S, A, d)
        Output ``psi_V``.
    """
    S, A, S2, d = phi.shape
    for s in range(S):
        for a in range(A):
            for i in range(d):
                out[s, a, i] = 0.0
            for t in range(S2):
                v = V[t]
                if v != 0.0:
                    for i in range(d):
                        out[s, a, i] += phi[s, a, t, i] * v


@njit(cache=True)
def mixture_q(base, ps, theta, clip, lo, hi, Qh):
    """``Qh[s, a] = base[s, a] + sum_i ps[s, a, i] theta[i]``, clipped to ``[lo, hi]`` when ``clip``.

    Parameters
    ----------
    base : ndarray, shape (S, A)
        Per-pair term added first (reward, reward plus bonus, or bonus).
    ps : ndarray, shape (S, A, d)
        Oracle features ``psi_{V_{h+1}}`` (:func:`psi_oracle`).
    theta : ndarray, shape (d,)
        Mixture parameter.
    clip : bool
        Whether to clip.
    lo, hi : float
        Clipping range (``q > hi`` gives ``hi``, else ``q < lo`` gives ``lo``; NaN passes unchanged).
    Qh : ndarray, shape (S, A)
        Output.
    """
    S, A, d = ps.shape
    for s in range(S):
        for a in range(A):
            q = base[s, a]
            for i in range(d):
                q += ps[s, a, i] * theta[i]
            if clip:
                if q > hi:
                    q = hi
                elif q < lo:
                    q = lo
            Qh[s, a] = q


@njit(cache=True)
def lm_backward(phi, theta, R3, H, clip, V, Q, pi):
    """Backward induction of a linear mixture MDP through the summation oracle.

    ``Q_h(s, a) = r_h(s, a) + <psi_{V_{h+1}}(s, a), theta>`` (clipped to [0, 1] when ``clip``, the paper's
    ``min{1, .}``), ``V_h = max_a Q_h``, ``V_H = 0``.

    Parameters
    ----------
    phi : ndarray, shape (S, A, S, d)
        Basis measures.
    theta : ndarray, shape (d,)
        Mixture parameter (true or estimated).
    R3 : ndarray, shape (hr, S, A)
        Rewards, ``hr`` in {1, H}.
    H : int
        Horizon.
    clip : bool
        Clip ``Q`` to [0, 1].
    V : ndarray, shape (H + 1, S)
        Output values.
    Q : ndarray, shape (H, S, A)
        Output action values.
    pi : ndarray of int, shape (H, S)
        Output greedy (first argmax) policy.
    """
    S, A, _, d = phi.shape
    hr = R3.shape[0]
    ps = np.empty((S, A, d))
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        psi_oracle(phi, V[h + 1], ps)
        mixture_q(R3[h if hr > 1 else 0], ps, theta, clip, 0.0, 1.0, Q[h])
        greedy_max(Q[h], -np.inf, V[h], pi[h])


@njit(cache=True)
def lm_evaluate(phi, theta, R3, H, pi, V):
    """Value of the deterministic Markov policy ``pi[h, s]`` through the summation oracle.

    ``V_h(s) = r_h(s, a) + <psi_{V_{h+1}}(s, a), theta>`` with ``a = pi[h, s]``, ``V_H = 0``, no clipping.

    Parameters
    ----------
    phi : ndarray, shape (S, A, S, d)
        Basis measures.
    theta : ndarray, shape (d,)
        Mixture parameter.
    R3 : ndarray, shape (hr, S, A)
        Rewards, ``hr`` in {1, H}.
    H : int
        Horizon.
    pi : ndarray of int, shape (H, S)
        Policy.
    V : ndarray, shape (H + 1, S)
        Output values.
    """
    S, A, _, d = phi.shape
    hr = R3.shape[0]
    ps = np.empty((S, A, d))
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        psi_oracle(phi, V[h + 1], ps)
        Rh = R3[h if hr > 1 else 0]
        for s in range(S):
            a = pi[h, s]
            q = Rh[s, a]
            for i in range(d):
                q += ps[s, a, i] * theta[i]
            V[h, s] = q


@njit(cache=True)
def box_simplex_max(vals, lo, up, order, n, rem):
    """``max_p sum_j p_j vals_j`` over ``lo <= p <= up``, ``sum_j p_j = 1`` (first ``n`` entries), given ``order``:
    indices sorted by ``vals`` descending, and ``rem = 1 - sum lo``. Greedy: start from ``lo`` and pour the
    remaining mass into the largest values first (optimal for this linear programme)."""
    out = 0.0
    for j in range(n):
        out += lo[j] * vals[j]
    for t in range(n):
        j = order[t]
        if rem <= 0.0:
            break
        add = min(up[j] - lo[j], rem)
        if add > 0.0:
            out += add * vals[j]
            rem -= add
    return out
