"""Latent-MDP instances for Zhou, Wang & Du (ICML 2023). The paper's lower-bound construction (hard instances with a
symmetrisation argument) could **not** be retrieved; the families below are **our reconstruction** (note
the LMDP paper note §II.5) — they have the stated properties (``Gamma = 2``, regret scale
``sqrt(Var* M S A K)``, total reward at most 1) but are not the paper's instances.

* :func:`lmdp_identify_then_bandit` — context revealed in-episode by a deterministic bit chain, then a uniformly
  random leaf (binary tree, ``Gamma = 2``) whose ``A``-armed Bernoulli bandit has a context-and-leaf-specific best
  arm with gap ``gap``; optional "safe exit" at the start (the lure that traps a learner without bonus);
* :func:`lmdp_k_dependent_gap` — ``min(1/4, c sqrt(M L A / K))``, the gap making the family K-dependent;
* :func:`lmdp_probe` — contexts differ only at one probe pair; beliefs change only on probe visits;
* :func:`lmdp_deterministic` — random deterministic transitions and initial states (``Var*_A = 0``);
* :func:`random_lmdp` — random LMDP with a given maximal transition degree ``Gamma`` (attained);
* :func:`lmdp_horizon_chain` — safe exit vs a lazy random walk whose value is spread over ``H - 1`` steps (horizon
  dependence of per-step bonuses).
"""
from __future__ import annotations


import numpy as np

from rltheory import LatentMDP
from rltheory._validation import as_generator, check_int, check_probability, check_real

__all__ = ["lmdp_identify_then_bandit", "lmdp_k_dependent_gap", "lmdp_probe", "lmdp_deterministic", "random_lmdp",
           "lmdp_horizon_chain"]


def lmdp_k_dependent_gap(K: int, M: int, n_leaves: int, A: int, *, c: float = 0.5, cap: float = 0.25) -> float:
    """``min(cap, c sqrt(M n_leaves A / K))``: each (context, leaf) bandit is pulled about ``K/(M n_leaves)`` times.
    ``cap`` in ``(0, 1/2]`` (the gap is a probability shift from 1/2).

    Parameters
    ----------
    K : int
        Number of episodes.
    M, n_leaves, A : int
        Contexts, leaves and actions of :func:`lmdp_identify_then_bandit`.
    c : float
        Positive constant.
    cap : float
        Largest gap, in ``(0, 1/2]``.

    Returns
    -------
    float
        ``min(cap, c sqrt(M n_leaves A / K))``.
    """
    K, M, n_leaves, A = (check_int(n, x, low=1) for x, n in ((K, "K"), (M, "M"), (n_leaves, "n_leaves"), (A, "A")))
    check_real("c", c, low=0.0, low_open=True)
    check_real("cap", cap, low=0.0, high=0.5, low_open=True)
    return float(min(cap, c * np.sqrt(M * n_leaves * A / K)))


def lmdp_identify_then_bandit(M: int, n_leaves: int, A: int, *, horizon: int, gap: float, v: float = 1.0,
                              safe: float | None = None, seed=0) -> LatentMDP:
    """Identify-then-bandit LMDP (our reconstruction of a hard family, note §II.5).

    States: ``start``; for each bit ``j < d = ceil(log2 M)`` two states ``bit_j = 0/1`` (deterministic, context ``m``
    walks through the states of its bits: the context is identified after ``d`` steps, ``Gamma = 1`` there); a
    binary tree of depth ``L = log2(n_leaves)`` walked uniformly at random (``Gamma = 2``) to a leaf; at leaf ``i``
    action ``a`` moves to the absorbing ``good`` state w.p. ``1/2 + gap [a = a*_{m,i}]``, else to the absorbing
    ``bad`` state. ``good`` pays ``v/(H - t_good)`` per step (``t_good = d + L + 2`` steps to reach it), so the
    largest return is ``v <= 1`` for every ``H`` (horizon padding only rescales per-step rewards). The best arms
    ``a*_{m,i}`` are drawn from ``seed``. With ``safe`` (in (0, v)) action 0 at ``start`` becomes a *safe exit* to
    an absorbing state paying ``safe/(H-1)`` per step (return ``safe``), every other action enters the
    identification chain (a lure: greedy learners that try the exit first never leave it).
    Mixing weights uniform, all contexts start in ``start``.

    Parameters
    ----------
    M : int
        Number of contexts.
    n_leaves : int
        Number of leaves, a power of two.
    A : int
        Number of actions, at least 2.
    horizon : int
        Finite horizon ``H``, at least ``d + L + 3``.
    gap : float
        Success advantage in ``[0, 1/2]`` of the best arm.
    v : float
        Largest return, in ``[0, 1]``.
    safe : float, optional
        Return of the safe exit, in ``(0, v)``.
    seed : int or numpy.random.Generator
        Seed of the best arms.

    Returns
    -------
    LatentMDP
        The LMDP.
    """
    M = check_int("M", M, low=1)
    n_leaves = check_int("n_leaves", n_leaves, low=1)
    if n_leaves & (n_leaves - 1):
        raise ValueError(f"n_leaves: must be a power of two, got {n_leaves}")
    A = check_int("A", A, low=2)
    H = check_int("horizon", horizon, low=1)
    check_real("gap", gap, low=0.0, high=0.5)
    v = check_probability("v", v)
    d = int(np.ceil(np.log2(M))) if M > 1 else 0
    L = int(np.log2(n_leaves))
    t_good = 1 + d + L + 1  # steps before reaching good/bad (start, bits, tree, leaf action)
    if H < t_good + 1:
        raise ValueError(f"horizon: must be >= {t_good + 1} for M={M}, n_leaves={n_leaves}, got {H}")
    if safe is not None:
        check_real("safe", safe, low=0.0, high=v, low_open=True, high_open=True)
    rng = as_generator("seed", seed)
    best = rng.integers(0, A, size=(M, n_leaves))
    # state indices
    start = 0
    bit = lambda j, b: 1 + 2 * j + b  # noqa: E731
    tree0 = 1 + 2 * d  # tree nodes in heap order: node k has children 2k+1, 2k+2; leaves at k >= n_leaves - 1
    n_tree = 2 * n_leaves - 1
    good, bad = tree0 + n_tree, tree0 + n_tree + 1
    exit_ = bad + 1
    S = bad + 1 + (safe is not None)
    P = np.zeros((M, S, A, S))
    R = np.zeros((M, S, A))
    for m in range(M):
        bits = [(m >> j) & 1 for j in range(d)]
        first = bit(0, bits[0]) if d else tree0
        P[m, start, :, first] = 1.0
        if safe is not None:
            P[m, start, 0, :] = 0.0
            P[m, start, 0, exit_] = 1.0
            P[m, exit_, :, exit_] = 1.0
            R[m, exit_, :] = safe / (H - 1)
        for j in range(d):
            nxt = bit(j + 1, bits[j + 1]) if j + 1 < d else tree0
            for b in (0, 1):  # the off-path bit state is unreachable in context m; give it the same successor
                P[m, bit(j, b), :, nxt] = 1.0
        for k in range(n_tree):
            s = tree0 + k
            if k < n_leaves - 1:
                P[m, s, :, tree0 + 2 * k + 1] = 0.5
                P[m, s, :, tree0 + 2 * k + 2] = 0.5
            else:
                i = k - (n_leaves - 1)
                P[m, s, :, good] = 0.5
                P[m, s, :, bad] = 0.5
                P[m, s, best[m, i], good] += gap
                P[m, s, best[m, i], bad] -= gap
        P[m, good, :, good] = 1.0
        P[m, bad, :, bad] = 1.0
        R[m, good, :] = v / (H - t_good)
    mu0 = np.zeros(S)
    mu0[start] = 1.0
    return LatentMDP(P, R, np.full(M, 1.0 / M), mu0, horizon=H,
                     name=f"identify_then_bandit(M={M}, leaves={n_leaves}, A={A}, H={H}, gap={gap:.4g}, v={v:g})")


def lmdp_probe(M: int, S: int, A: int, *, horizon: int, eta: float = 0.1, seed=0) -> LatentMDP:
    """Probe family (our reconstruction, note §II.5): states ``0..S-1`` (``S >= 3``); the probe pair ``(0, 0)`` moves
    to state 1 w.p. ``p_m`` and to 2 otherwise (``p_m`` spread over ``[0.15, 0.85]``); every other pair moves to
    ``(s + a + 1) mod S`` w.p. ``1 - eta`` and stays w.p. ``eta`` (``Gamma = 2`` for ``eta > 0``). Context ``m``
    rewards its own action ``m mod A`` with ``1/H`` per step, so the agent must infer ``m`` (the belief changes only
    on probe visits). All contexts start in state 0, weights from ``seed`` (Dirichlet(2)).

    Parameters
    ----------
    M : int
        Number of contexts.
    S : int
        Number of states, at least 3.
    A : int
        Number of actions, at least 2.
    horizon : int
        Finite horizon ``H``.
    eta : float
        Probability in ``[0, 1]`` of staying outside the probe pair.
    seed : int or numpy.random.Generator
        Seed of the weights.

    Returns
    -------
    LatentMDP
        The LMDP.
    """
    M = check_int("M", M, low=1)
    S = check_int("S", S, low=3)
    A = check_int("A", A, low=2)
    H = check_int("horizon", horizon, low=1)
    eta = check_probability("eta", eta)
    rng = as_generator("seed", seed)
    P = np.zeros((M, S, A, S))
    R = np.zeros((M, S, A))
    ps = np.linspace(0.15, 0.85, M) if M > 1 else np.array([0.5])
    for m in range(M):
        for s in range(S):
            for a in range(A):
                P[m, s, a, (s + a + 1) % S] += 1.0 - eta
                P[m, s, a, s] += eta
        P[m, 0, 0, :] = 0.0
        P[m, 0, 0, 1] = ps[m]
        P[m, 0, 0, 2] = 1.0 - ps[m]
        R[m, 1:, m % A] = 1.0 / H
    w = rng.dirichlet(np.full(M, 2.0))
    mu0 = np.zeros(S)
    mu0[0] = 1.0
    return LatentMDP(P, R, w, mu0, horizon=H, name=f"probe(M={M}, S={S}, A={A}, H={H}, eta={eta:g})")


def lmdp_deterministic(M: int, S: int, A: int, *, horizon: int, seed=0) -> LatentMDP:
    """Deterministic LMDP: random deterministic transitions and initial state per context, rewards in
    ``{0, 1/H}`` (``Var*_A = 0``: every context's return is deterministic given the policy). Weights uniform.

    Parameters
    ----------
    M, S, A : int
        Numbers of contexts, states and actions.
    horizon : int
        Finite horizon ``H``.
    seed : int or numpy.random.Generator
        Seed of the tables.

    Returns
    -------
    LatentMDP
        The deterministic LMDP.
    """
    M, S, A = check_int("M", M, low=1), check_int("S", S, low=1), check_int("A", A, low=1)
    H = check_int("horizon", horizon, low=1)
    rng = as_generator("seed", seed)
    P = np.zeros((M, S, A, S))
    nxt = rng.integers(0, S, size=(M, S, A))
    np.put_along_axis(P, nxt[..., None], 1.0, axis=3)
    R = rng.integers(0, 2, size=(M, S, A)) / H
    mu0 = np.zeros((M, S))
    mu0[np.arange(M), rng.integers(0, S, size=M)] = 1.0
    return LatentMDP(P, R, np.full(M, 1.0 / M), mu0, horizon=H, name=f"deterministic(M={M}, S={S}, A={A}, H={H})")


def random_lmdp(M: int, S: int, A: int, *, horizon: int, Gamma: int, seed=0) -> LatentMDP:
    """Random LMDP whose transition rows have between 1 and ``Gamma`` successors (Dirichlet(1) weights), with at
    least one row of exactly ``Gamma`` (so ``.Gamma == Gamma``); rewards uniform in ``[0, 1/H]``; random weights and
    initial distributions.

    Parameters
    ----------
    M, S, A : int
        Numbers of contexts, states and actions.
    horizon : int
        Finite horizon ``H``.
    Gamma : int
        Largest number of successors of a row, in ``[1, S]``.
    seed : int or numpy.random.Generator
        Seed of the tables.

    Returns
    -------
    LatentMDP
        The random LMDP.
    """
    M, S, A = check_int("M", M, low=1), check_int("S", S, low=1), check_int("A", A, low=1)
    H = check_int("horizon", horizon, low=1)
    G = check_int("Gamma", Gamma, low=1, high=S)
    rng = as_generator("seed", seed)
    P = np.zeros((M, S, A, S))
    for m in range(M):
        for s in range(S):
            for a in range(A):
                k = G if (m, s, a) == (0, 0, 0) else int(rng.integers(1, G + 1))
                sup = rng.choice(S, size=k, replace=False)
                P[m, s, a, sup] = rng.dirichlet(np.ones(k))
    R = rng.random((M, S, A)) / H
    return LatentMDP(P, R, rng.dirichlet(np.ones(M) * 2), rng.dirichlet(np.ones(S), size=M), horizon=H,
                     name=f"random_lmdp(M={M}, S={S}, A={A}, H={H}, Gamma={G})")


def lmdp_horizon_chain(M: int, n_chain: int, *, horizon: int, gap: float = 0.1, spread: float = 0.3,
                       seed=0) -> LatentMDP:
    """Horizon-padding family (our construction for the horizon-dependence check, note §II.6 L2-e).

    From ``start`` action 1 is a *safe exit* to an absorbing state paying ``0.5/(H-1)`` per step (return 0.5);
    action 0 enters a lazy random walk on ``n_chain`` states (``Gamma = 2``: stay or move one step
    around the cycle, each w.p. 1/2) that starts at chain state ``m mod n_chain`` in context ``m``; chain state
    ``i`` pays ``(0.5 - gap + spread * z_{m,i}) / (H-1)`` per step with signs ``z`` of mean zero per context
    (drawn from ``seed``). Every return is at most 1, the risky branch is worth about ``0.5 - gap`` — the exit is
    optimal — and its value is spread over all ``H - 1`` steps, so per-step Hoeffding bonuses (value range 1 per
    step) add up to order ``H sqrt(S iota / N)`` while variance-aware bonuses add up to an ``H``-free amount.

    Parameters
    ----------
    M : int
        Number of contexts.
    n_chain : int
        Length of the cycle, at least 2.
    horizon : int
        Finite horizon ``H``, at least 2.
    gap : float
        How much the exit's return 0.5 beats the risky branch, in ``[0, 1]``.
    spread : float
        Amplitude in ``[0, 1]`` of the per-context reward signs.
    seed : int or numpy.random.Generator
        Seed of the signs ``z``.

    Returns
    -------
    LatentMDP
        The LMDP.
    """
    M = check_int("M", M, low=1)
    n = check_int("n_chain", n_chain, low=2)
    H = check_int("horizon", horizon, low=2)
    gap = check_probability("gap", gap)
    spread = check_probability("spread", spread)
    if 0.5 - gap - spread < 0 or 0.5 - gap + spread > 1:
        raise ValueError(f"gap, spread: per-step rewards (0.5 - gap +- spread)/(H-1) must lie in [0, 1/(H-1)], "
                         f"got gap={gap}, spread={spread}")
    rng = as_generator("seed", seed)
    start, exit_ = 0, 1
    S = 2 + n
    A = 2
    P = np.zeros((M, S, A, S))
    R = np.zeros((M, S, A))
    for m in range(M):
        z = np.where(np.arange(n) % 2 == 0, 1.0, -1.0) if n % 2 == 0 else np.zeros(n)
        z = rng.permutation(z)
        P[m, start, 1, exit_] = 1.0
        P[m, start, 0, 2 + (m % n)] = 1.0
        P[m, exit_, :, exit_] = 1.0
        R[m, exit_, :] = 0.5 / (H - 1)
        for i in range(n):
            P[m, 2 + i, :, 2 + i] += 0.5
            P[m, 2 + i, :, 2 + (i + 1) % n] += 0.5
            R[m, 2 + i, :] = (0.5 - gap + spread * z[i]) / (H - 1)
    mu0 = np.zeros(S)
    mu0[start] = 1.0
    return LatentMDP(P, R, np.full(M, 1.0 / M), mu0, horizon=H,
                     name=f"horizon_chain(M={M}, n={n}, H={H}, gap={gap:g})")
