"""Numba kernels of the tabular learners (private to :mod:`rltheory.algorithms.tabular`): UCBVI's optimistic
backward induction and whole-run loop, exact values of deterministic and randomised Markov policies, episodes of the
true MDP, and the Q-learning loop. Arrays: ``P4 (hp, S, A, S)``, ``R3 (hr, S, A)`` with ``hp, hr`` in ``{1, H}``."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..._backup import greedy_max
from ..._sampling import cumulative, cumulative_rows, sample


@njit(cache=True)
def ucbvi_plan(R3, Nsa, Nsas, Vmax, H, S, A, bonus_kind, scale, L, Q, V, pi, var_linear=False, optimistic=True,
          n_off=0.0, h_stop=0, cap_shift=0):
    """One optimistic backward induction on the empirical model; fills Q (H,S,A), V (H+1,S), pi (H,S).

    The last five arguments are deliberate deviations for mutation analysis (defaults: the algorithm):
    ``var_linear`` makes the Bernstein variance term decay as 1/N instead of 1/sqrt(N), ``optimistic=False``
    values unvisited pairs by their reward alone, ``n_off`` adds an off-by-one to the counts (``N + n_off`` in
    the empirical transition and the bonus), ``h_stop = 1`` ends the backward induction before step 0 (an
    off-by-one in the loop over the horizon: ``Q_0``, ``V_0`` and ``pi_0`` keep their previous values),
    ``cap_shift = 1`` clips the optimistic ``Q_h`` of visited pairs at ``Vmax_{h+1}`` instead of ``Vmax_h`` (an
    off-by-one in the cap)."""
    hr = R3.shape[0]
    hp = Nsa.shape[0]
    vrange = Vmax[0]
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, h_stop - 1, -1):
        Rh = R3[h if hr > 1 else 0]
        k = h if hp > 1 else 0
        Vn = V[h + 1]
        for s in range(S):
            for a in range(A):
                n = Nsa[k, s, a]
                if n == 0:
                    q = Vmax[h] if (bonus_kind > 0 and optimistic) else Rh[s, a]
                else:
                    if n_off != 0.0:
                        n = n + n_off
                    m = 0.0
                    m2 = 0.0
                    for t in range(S):
                        c = Nsas[k, s, a, t]
                        if c != 0:
                            p = c / n
                            m += p * Vn[t]
                            m2 += p * Vn[t] * Vn[t]
                    q = Rh[s, a] + m
                    if bonus_kind == 1:
                        q += scale * 7.0 * vrange * L / np.sqrt(n)
                    elif bonus_kind == 2:
                        var = m2 - m * m
                        if var < 0.0:
                            var = 0.0
                        if var_linear:
                            q += scale * (np.sqrt(8.0 * L * var) / n + 14.0 * vrange * L / (3.0 * n))
                        else:
                            q += scale * (np.sqrt(8.0 * L * var / n) + 14.0 * vrange * L / (3.0 * n))
                    if bonus_kind > 0 and q > Vmax[h + cap_shift]:
                        q = Vmax[h + cap_shift]
                Q[h, s, a] = q
        greedy_max(Q[h], -np.inf, V[h], pi[h])


@njit(cache=True)
def policy_value(P4, R3, pi, mu0, H, S, Vbuf):
    hp = P4.shape[0]
    hr = R3.shape[0]
    for s in range(S):
        Vbuf[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        Ph = P4[h if hp > 1 else 0]
        Rh = R3[h if hr > 1 else 0]
        for s in range(S):
            a = pi[h, s]
            acc = 0.0
            row = Ph[s, a]
            for t in range(S):
                acc += row[t] * Vbuf[h + 1, t]
            Vbuf[h, s] = Rh[s, a] + acc
    v = 0.0
    for s in range(S):
        v += mu0[s] * Vbuf[0, s]
    return v


@njit(cache=True)
def break_ties_randomly(Q, pi, H, S, A, ties):
    """Replace ``pi[h, s]`` by a uniformly drawn action among the argmax actions of ``Q[h, s]``."""
    for h in range(H):
        for s in range(S):
            m = Q[h, s, pi[h, s]]
            nt = 0
            for a in range(A):
                if Q[h, s, a] >= m:
                    ties[nt] = a
                    nt += 1
            if nt > 1:
                pi[h, s] = ties[np.random.randint(0, nt)]


@njit(cache=True)
def ucbvi_loop(P4, R3, mu0, H, K, bonus_kind, scale, delta, v_star, seed, regret, returns, random_ties, stop_tol,
                var_linear=False, optimistic=True, n_off=0.0, explore_episodes=-1, h_stop=0, cap_shift=0):
    """Fills ``regret``/``returns`` episode by episode; returns the number of episodes run (``K`` unless
    ``stop_tol >= 0`` and an episode's pseudo-regret fell to ``stop_tol`` earlier). ``explore_episodes >= 0``
    switches the bonus off (greedy, no optimism) from that episode on (a mutant that stops exploring)."""
    np.random.seed(seed)
    hp = P4.shape[0]
    S = P4.shape[1]
    A = P4.shape[2]
    cdf = cumulative_rows(P4)
    cmu = cumulative(mu0)
    hr = R3.shape[0]
    Vmax = np.zeros(H + 1)
    for h in range(H - 1, -1, -1):
        Rh = R3[h if hr > 1 else 0]
        Vmax[h] = Vmax[h + 1] + Rh.max()
    Nsa = np.zeros((hp, S, A))
    Nsas = np.zeros((hp, S, A, S))
    Q = np.empty((H, S, A))
    V = np.empty((H + 1, S))
    Vbuf = np.empty((H + 1, S))
    pi = np.zeros((H, S), dtype=np.int64)
    ties = np.empty(A, dtype=np.int64)
    L = np.log(5.0 * S * A * K * H / delta)
    for ep in range(K):
        bk = bonus_kind if (explore_episodes < 0 or ep < explore_episodes) else 0
        ucbvi_plan(R3, Nsa, Nsas, Vmax, H, S, A, bk, scale, L, Q, V, pi, var_linear, optimistic, n_off, h_stop,
                   cap_shift)
        if random_ties:
            break_ties_randomly(Q, pi, H, S, A, ties)
        regret[ep] = v_star - policy_value(P4, R3, pi, mu0, H, S, Vbuf)
        s = sample(cmu, np.random.random())
        g = 0.0
        for h in range(H):
            a = pi[h, s]
            g += R3[h if hr > 1 else 0, s, a]
            k = h if hp > 1 else 0
            t = sample(cdf[k, s, a], np.random.random())
            Nsa[k, s, a] += 1.0
            Nsas[k, s, a, t] += 1.0
            s = t
        returns[ep] = g
        if stop_tol >= 0.0 and regret[ep] <= stop_tol:
            return ep + 1
    return K


@njit(cache=True)
def seed_numba(seed):
    np.random.seed(seed)


@njit(cache=True)
def randomised_policy_value(P4, R3, pr, mu0, H, V):
    """``V^pi_0(mu0)`` of a randomised (H, S, A) policy by backward induction on the true model.

    Kept apart from :func:`policy_value`: each action's value is summed from the reward first
    (``r + sum_t P V``), so a one-hot policy does not round exactly as the deterministic evaluation does."""
    hp = P4.shape[0]
    hr = R3.shape[0]
    S = P4.shape[1]
    A = P4.shape[2]
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        Ph = P4[h if hp > 1 else 0]
        Rh = R3[h if hr > 1 else 0]
        for s in range(S):
            tot = 0.0
            for a in range(A):
                w = pr[h, s, a]
                if w != 0.0:
                    acc = Rh[s, a]
                    for t in range(S):
                        acc += Ph[s, a, t] * V[h + 1, t]
                    tot += w * acc
            V[h, s] = tot
    v = 0.0
    for s in range(S):
        v += mu0[s] * V[0, s]
    return v


@njit(cache=True)
def play_episode(cdf, cmu, R3, pi, pr, randomised, H, states, actions, rewards):
    """One episode of the true MDP under ``pi`` (deterministic) or ``pr`` (randomised), from Numba's generator."""
    hp = cdf.shape[0]
    hr = R3.shape[0]
    A = cdf.shape[2]
    s = sample(cmu, np.random.random())
    states[0] = s
    for h in range(H):
        if randomised:
            u = np.random.random()
            c = 0.0
            a = A - 1
            for b in range(A):
                c += pr[h, s, b]
                if u < c:
                    a = b
                    break
        else:
            a = pi[h, s]
        rewards[h] = R3[h if hr > 1 else 0, s, a]
        actions[h] = a
        s = sample(cdf[h if hp > 1 else 0, s, a], np.random.random())
        states[h + 1] = s


@njit(cache=True)
def qlearning_loop(P4, R3, mu0, H, K, eps, q_init, seed, checkpoints, values, stop_value):
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
            values[c] = policy_value(P4, R3, pi, mu0, H, S, Vbuf)
            c += 1
            if values[c - 1] >= stop_value:  # stop_value = inf: never
                return
