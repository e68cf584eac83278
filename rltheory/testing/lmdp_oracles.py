"""Brute-force oracles for latent MDPs: exact values by enumerating histories and policies (tiny instances only).

They share no code with the belief-DP of :mod:`rltheory.solvers.lmdp`, so a test can compare the two: the value of a
deterministic history-dependent policy ``pi`` is ``V^pi = sum_m w_m sum_s nu_m(s) alpha^pi_{m,1}(s)`` with

    alpha^pi_{m,h}(tau) = R_m(s_h, a) + sum_{s'} P_m(s'|s_h, a) alpha^pi_{m,h+1}(tau o (a, r, s')),  a = pi(tau)

(Zhou, Wang & Du, ICML 2023, Sec. 3), evaluated here by recursion over every history.
"""
from __future__ import annotations

import itertools

import numpy as np

from .._validation import check_int
from ..models.latent import LatentMDP

__all__ = ["evaluate_history_policy", "brute_force_value"]


def _check_lmdp(lmdp):
    if not isinstance(lmdp, LatentMDP):
        raise TypeError(f"lmdp: expected a LatentMDP, got {type(lmdp).__name__}")
    return lmdp


def evaluate_history_policy(lmdp: LatentMDP, policy, *, max_histories: int = 200_000) -> tuple[float, np.ndarray]:
    """Exact value of any deterministic history-dependent policy by enumerating histories (exponential in ``H``).

    Parameters
    ----------
    lmdp : LatentMDP
    policy : callable
        ``policy(h, states, actions, rewards) -> action`` on the observable history (tuples).
    max_histories : int
        Largest number of distinct histories queried.

    Returns
    -------
    V : float
        ``sum_m w_m sum_s nu_m(s) alpha^pi_{m,1}(s)``.
    alpha : ndarray, shape (M, S)
        ``alpha^pi_{m,1}(s)`` (Zhou, Wang & Du 2023, Sec. 3).

    Raises
    ------
    ValueError
        Past ``max_histories`` histories, or when ``policy`` returns an invalid action.
    """
    _check_lmdp(lmdp)
    M, S, H = lmdp.M, lmdp.S, lmdp.horizon
    P, R = lmdp.P, lmdp.R
    count = [0]
    cache = {}

    def act(h, states, actions, rewards):
        key = (states, actions, rewards)
        if key not in cache:
            count[0] += 1
            if count[0] > max_histories:
                raise ValueError(f"evaluate_history_policy: more than max_histories={max_histories} histories")
            a = policy(h, states, actions, rewards)
            cache[key] = check_int(f"policy: action at h={h}", a, low=0, high=lmdp.A - 1)
        return cache[key]

    def alpha_m(m, h, states, actions, rewards):
        s = states[-1]
        a = act(h, states, actions, rewards)
        r = float(R[m, s, a])
        if h == H - 1:
            return r
        tot = r
        for sp in np.flatnonzero(P[m, s, a] > 0):
            tot += P[m, s, a, sp] * alpha_m(m, h + 1, states + (int(sp),), actions + (a,), rewards + (r,))
        return tot

    alpha = np.zeros((M, S))
    for m in range(M):
        for s in range(S):
            alpha[m, s] = alpha_m(m, 0, (s,), (), ())
    return float((lmdp.weights[:, None] * lmdp.mu0 * alpha).sum()), alpha


def brute_force_value(lmdp: LatentMDP, *, max_policies: int = 2_000_000) -> float:
    """``V*`` by enumerating every deterministic history-dependent policy (tiny instances only).

    Histories are the observable ``(states, actions, rewards)`` prefixes reachable under some context; a policy is one
    action per history, ``V* = max_pi V^pi`` over the ``A^#histories`` policies.

    Parameters
    ----------
    lmdp : LatentMDP
    max_policies : int
        Largest number of policies enumerated.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When ``A^#histories > max_policies``.
    """
    _check_lmdp(lmdp)
    M, S, A, H = lmdp.M, lmdp.S, lmdp.A, lmdp.horizon
    P, R = lmdp.P, lmdp.R
    hist = []  # all observable histories (any action sequence) with positive probability under some context
    frontier = [((s,), (), ()) for s in range(S) if lmdp.mu0[:, s].max() > 0]
    for h in range(H):
        hist.extend(frontier)
        if h == H - 1:
            break
        nxt = set()
        for states, actions, rewards in frontier:
            s = states[-1]
            for a in range(A):
                for m in range(M):
                    # history reachable under context m? (check likelihood > 0)
                    lik = lmdp.mu0[m, states[0]]
                    for t in range(len(actions)):
                        lik *= (R[m, states[t], actions[t]] == rewards[t]) * P[m, states[t], actions[t], states[t + 1]]
                    if lik <= 0:
                        continue
                    r = float(R[m, s, a])
                    for sp in np.flatnonzero(P[m, s, a] > 0):
                        nxt.add((states + (int(sp),), actions + (a,), rewards + (r,)))
        frontier = sorted(nxt)
    if A ** len(hist) > max_policies:
        raise ValueError(f"brute_force_value: {A}^{len(hist)} policies exceed max_policies={max_policies}")
    index = {k: i for i, k in enumerate(hist)}
    best = -np.inf
    for choice in itertools.product(range(A), repeat=len(hist)):
        v, _ = evaluate_history_policy(lmdp, lambda h, st, ac, rw: choice[index[(st, ac, rw)]])
        best = max(best, v)
    return float(best)
