"""Numba kernels of the hindsight-LMDP learners (private to :mod:`rltheory.algorithms.lmdp`): episodes of a true
LMDP under a belief plan or a Markov policy, the learners' visit counts, and exact Markov-policy values."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..._sampling import sample


@njit(cache=True)
def play_plan(Pcdf, R, wcdf, mu0cdf, H, edge_ptr, edge_child, edge_sp, edge_r, pol, root, fb, states, actions,
               rewards):
    """Sample one episode of the true LMDP under a belief plan (walk its node graph; off the plan, the Markov
    fallback ``fb[h, s]``) into ``states (H+1,)``, ``actions (H,)``, ``rewards (H,)``; returns the context.

    Draws from Numba's global RNG in a fixed order: context, initial state, then one successor per step (also
    at the last step), so that every path that plays the same plans sees the same episodes."""
    A = Pcdf.shape[2]
    m = sample(wcdf, np.random.random())
    s = sample(mu0cdf[m], np.random.random())
    states[0] = s
    node = root[s]
    for h in range(H):
        if node >= 0:
            a = pol[node]
        else:
            a = fb[h, s]
        r = R[m, s, a]
        sp = sample(Pcdf[m, s, a], np.random.random())
        actions[h] = a
        rewards[h] = r
        states[h + 1] = sp
        if node >= 0 and h < H - 1:
            e0 = edge_ptr[node * A + a]
            e1 = edge_ptr[node * A + a + 1]
            nxt = -1
            for e in range(e0, e1):
                if edge_sp[e] == sp and edge_r[e] == r:
                    nxt = edge_child[e]
                    break
            node = nxt
        s = sp
    return m


@njit(cache=True)
def episode_return(rewards):
    """``sum_h rewards[h]`` added left to right (the order of :func:`play_episodes`)."""
    g = 0.0
    for h in range(rewards.shape[0]):
        g += rewards[h]
    return g


@njit(cache=True)
def count_episode(N, Nsas, nc, ninit, m, states, actions):
    """Add one episode of context ``m`` to the counts; returns whether some ``N[m, s, a]`` reached a power of
    two (the doubling event that starts a new planning epoch)."""
    doubled = False
    for h in range(actions.shape[0]):
        s = states[h]
        a = actions[h]
        c = N[m, s, a] + 1.0
        N[m, s, a] = c
        Nsas[m, s, a, states[h + 1]] += 1.0
        ci = np.int64(c)
        if ci & (ci - 1) == 0:
            doubled = True
    nc[m] += 1.0
    ninit[m, states[0]] += 1.0
    return doubled


@njit(cache=True)
def play_episodes(Pcdf, R, wcdf, mu0cdf, H, k0, K, edge_ptr, edge_child, edge_sp, edge_r, pol, root, fb,
              N, Nsas, nc, ninit, returns, contexts):
    """Play episodes k0, k0+1, ... with a fixed plan until a doubling event or K; returns the next episode index."""
    states = np.empty(H + 1, dtype=np.int64)
    actions = np.empty(H, dtype=np.int64)
    rewards = np.empty(H)
    k = k0
    while k < K:
        m = play_plan(Pcdf, R, wcdf, mu0cdf, H, edge_ptr, edge_child, edge_sp, edge_r, pol, root, fb, states,
                       actions, rewards)
        doubled = count_episode(N, Nsas, nc, ninit, m, states, actions)
        returns[k] = episode_return(rewards)
        contexts[k] = m
        k += 1
        if doubled:
            break
    return k


@njit(cache=True)
def play_markov(Pcdf, R, wcdf, mu0cdf, H, act, pcdf, stochastic, states, actions, rewards):
    """One episode under a Markov policy: ``act[h, s]`` (deterministic) or, with ``stochastic``, an action drawn
    from the cumulative rows ``pcdf[h, s]`` before the successor. Returns the context."""
    m = sample(wcdf, np.random.random())
    s = sample(mu0cdf[m], np.random.random())
    states[0] = s
    for h in range(H):
        if stochastic:
            a = sample(pcdf[h, s], np.random.random())
        else:
            a = act[h, s]
        sp = sample(Pcdf[m, s, a], np.random.random())
        actions[h] = a
        rewards[h] = R[m, s, a]
        states[h + 1] = sp
        s = sp
    return m


@njit(cache=True)
def markov_value(P, R, w, mu0, H, probs):
    """Exact value of the Markov policy ``probs[h, s, a]`` in the LMDP: forward pass of the state distribution of
    each context. Returns ``(V, V_m)``."""
    M, S, A, _ = P.shape
    vm = np.zeros(M)
    d = np.empty(S)
    dn = np.empty(S)
    for m in range(M):
        for s in range(S):
            d[s] = mu0[m, s]
        for h in range(H):
            for s in range(S):
                dn[s] = 0.0
            for s in range(S):
                x = d[s]
                if x <= 0.0:
                    continue
                for a in range(A):
                    p = x * probs[h, s, a]
                    if p <= 0.0:
                        continue
                    vm[m] += p * R[m, s, a]
                    for sp in range(S):
                        dn[sp] += p * P[m, s, a, sp]
            for s in range(S):
                d[s] = dn[s]
    v = 0.0
    for m in range(M):
        v += w[m] * vm[m]
    return v, vm


@njit(cache=True)
def seed_numba(seed):
    np.random.seed(seed)


@njit(cache=True)
def empirical_model_kernel(N, Nsas, nc, ninit):
    """The arrays of :func:`rltheory.algorithms.lmdp.hindsight.empirical_model`, element by element with NumPy's
    operations (``Nsas / max(N, 1)`` on known pairs, ``(n_m + 1) / (n + M)``, ``ninit / max(n_m, 1)`` or ``1 / S``):
    the same values without the temporaries of the vectorised form.

    Returns
    -------
    known : ndarray of bool, shape (M, S, A)
    Phat : ndarray, shape (M, S, A, S)
    belief : ndarray, shape (M, S)
    """
    M, S, A = N.shape
    known = np.empty((M, S, A), dtype=np.bool_)
    Phat = np.empty((M, S, A, S))
    belief = np.empty((M, S))
    total = 0.0
    for m in range(M):
        total += nc[m]  # episode counts: integers, so the sum is exact in any order
    den = total + M
    for m in range(M):
        what = (nc[m] + 1.0) / den
        cm = nc[m] if nc[m] > 1.0 else 1.0
        for s in range(S):
            for a in range(A):
                n = N[m, s, a]
                known[m, s, a] = n > 0
                d = n if n > 1.0 else 1.0
                for t in range(S):
                    Phat[m, s, a, t] = Nsas[m, s, a, t] / d if n > 0 else 0.0
            nu = ninit[m, s] / cm if nc[m] > 0 else 1.0 / S
            belief[m, s] = what * nu
    return known, Phat, belief
