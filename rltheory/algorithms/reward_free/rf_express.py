"""Tabular RF-Express (Menard, Domingues, Jonsson, Kaufmann, Shariff & Valko, ICML 2021), run on
``LinearMixtureMDP.to_tabular()``: the baseline that ignores the linear structure. Exploration loop in Numba.

Per-step scale (``r_h in [0, 1]``, values in ``[0, H]``), time-homogeneous empirical model ``P^(s'|s,a)`` from counts
``n(s,a)``. Each episode: ``W_h(s,a) = min{H, c 15 H^2 beta(n)/n + (1 + 1/H) sum_{s'} P^(s'|s,a) max_{a'} W_{h+1}(s',a')}``,
``W_H = 0``, ``W = H`` for unvisited pairs (ties in the greedy step broken uniformly at random), with ``beta(n) = log(3 S A H / delta) + S log(8 e (n + 1))``; act greedily on
``W``. ``c`` is ``c_beta``. Planning for a normalised reward ``r``: backward induction on ``P^`` (unvisited rows
uniform) for ``H r``; ``certificate = (3 e sqrt(W_0(s_1)) + W_0(s_1)) / H`` (the stopping quantity of the paper,
normalised; ``W_0(s_1) = max_a W_0(s_1, a)``).

We keep homogeneous counts since the instances are time-homogeneous (the paper's version counts per step h).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..._sampling import cumulative, cumulative_rows, sample
from ...models.linear_mixture import LinearMixtureMDP
from ._common import RFEResult, check_common, planning_errors, with_common_parameters

__all__ = ["rf_express"]


@njit(cache=True)
def _w_values(N, Nsas, H, c, logterm, S, W, pi):
    # Not the shared greedy step of rltheory._backup: ties are broken uniformly at random, drawing from Numba's RNG
    # in the order of the loop, and the draws are part of the reproducible run.
    A = N.shape[1]
    Wmax = np.zeros(S)
    for h in range(H - 1, -1, -1):
        newmax = np.empty(S)
        for s in range(S):
            best = -1.0
            ba = 0
            nties = 0
            for a in range(A):
                n = N[s, a]
                if n == 0:
                    w = float(H)
                else:
                    beta = logterm + S * np.log(8.0 * np.e * (n + 1.0))
                    acc = 0.0
                    for t in range(S):
                        acc += Nsas[s, a, t] * Wmax[t]
                    w = c * 15.0 * H * H * beta / n + (1.0 + 1.0 / H) * acc / n
                    if w > H:
                        w = float(H)
                W[h, s, a] = w
                if w > best:
                    best = w
                    ba = a
                    nties = 1
                elif w == best:  # ties (e.g. all W clipped at H) broken uniformly at random
                    nties += 1
                    if np.random.random() * nties < 1.0:
                        ba = a
            newmax[s] = best
            pi[h, s] = ba
        Wmax = newmax


@njit(cache=True)
def _rfx_loop(P, mu0, H, K, c, delta, seed, ckpt, out_N, out_Nsas, out_cert):
    np.random.seed(seed)
    S, A, _ = P.shape
    cdf = cumulative_rows(P.reshape((1, S, A, S)))[0]
    cmu = cumulative(mu0)
    N = np.zeros((S, A))
    Nsas = np.zeros((S, A, S))
    W = np.zeros((H, S, A))
    pi = np.zeros((H, S), dtype=np.int64)
    logterm = np.log(3.0 * S * A * H / delta)
    ci = 0
    for k in range(1, K + 2):
        _w_values(N, Nsas, H, c, logterm, S, W, pi)
        if ci < ckpt.shape[0] and ckpt[ci] == k - 1:
            out_N[ci] = N
            out_Nsas[ci] = Nsas
            w0 = 0.0
            for s in range(S):
                m = W[0, s].max()
                w0 += mu0[s] * m
            out_cert[ci] = (3.0 * np.e * np.sqrt(w0) + w0) / H
            ci += 1
        if k == K + 1:
            break
        s = sample(cmu, np.random.random())
        for h in range(H):
            a = pi[h, s]
            t = sample(cdf[s, a], np.random.random())
            N[s, a] += 1.0
            Nsas[s, a, t] += 1.0
            s = t


@with_common_parameters
def rf_express(mdp: LinearMixtureMDP, K: int, *, seed: int, c_beta: float = 0.02, delta: float = 0.1,
               test_rewards=None, checkpoints=None) -> RFEResult:
    """Run tabular RF-Express on ``mdp.to_tabular()`` for ``K`` episodes; plan on the empirical model.

    Parameters
    ----------
    {common_parameters}

    Returns
    -------
    RFEResult
    """
    K, seed, c_beta, delta, rewards, ck = check_common(mdp, K, seed, c_beta, delta, test_rewards, checkpoints)
    tab = mdp.to_tabular()
    S, A, H = tab.S, tab.A, tab.horizon
    out_N = np.zeros((ck.size, S, A))
    out_Nsas = np.zeros((ck.size, S, A, S))
    out_cert = np.zeros(ck.size)
    _rfx_loop(np.ascontiguousarray(tab.P), np.ascontiguousarray(tab.mu0), H, K, c_beta, delta, seed, ck, out_N,
              out_Nsas, out_cert)

    def plan_fn(r, N, Nsas):
        Phat = np.where(N[..., None] > 0, Nsas / np.maximum(N, 1.0)[..., None], 1.0 / S)
        R3 = r if r.ndim == 3 else np.broadcast_to(r, (H, S, A))
        V = np.zeros(S)
        pi = np.zeros((H, S), dtype=np.int64)
        for h in range(H - 1, -1, -1):
            Q = R3[h] + Phat @ V
            pi[h] = Q.argmax(axis=1)
            V = Q.max(axis=1)
        return pi

    errors = np.stack([planning_errors(mdp, lambda r, N=N, Nsas=Nsas: plan_fn(r, N, Nsas), rewards)
                       for N, Nsas in zip(out_N, out_Nsas)])
    return RFEResult("RF-Express (tabular)", ck, errors, errors.max(axis=1), out_cert, c_beta, delta, seed,
                     "exact (tabular backward induction on W)", "backward induction on the empirical model",
                     {"visits": out_N[-1], "log_term": math.log(3 * S * A * H / delta)})
