"""Exact optimum of a submodular-reward MDP by dynamic programming over visited-set bitmasks.

``F`` depends on the history only through the set of visited states, so the MDP on the augmented state
``(h, s, B)`` — ``B`` the visited set *including* ``s`` — is an ordinary finite-horizon MDP with a terminal
reward ``F(B)``:

    U_{H-1}(s, B) = F(B),    U_h(s, B) = max_a sum_{s'} P_h(s'|s,a) U_{h+1}(s', B u {s'}),
    OPT = sum_{s_0} mu0(s_0) U_0(s_0, {s_0}),

the optimal value over all history-dependent policies (ours; the construction the SubRL notes propose;
Prajapat et al. 2024, Sec. 3 state that optimal SubRL policies are non-Markovian in general). Cost
``H * S * 2^S * A * S``; refused above :data:`MAX_DP_STATES` states.

Markov policies ``pi[h, s]``: :func:`markov_value` evaluates one exactly by a forward pass over the
distribution of ``(s, B)``; since each decision ``(h, s)`` is used at most once per trajectory, ``J`` is
multilinear in the per-``(h, s)`` action distributions and a deterministic Markov policy attains the best
Markov value, which :func:`best_markov` finds by enumeration (small instances) or coordinate ascent.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
from numba import njit

from .._validation import as_generator, check_int
from ..models.submodular import SubmodularMDP

__all__ = ["MAX_DP_STATES", "SubmodularOptimum", "exact_optimum", "markov_value", "best_markov"]

#: Largest number of states for the bitmask DP (2^16 masks x S x H doubles per layer stay < 100 MB).
MAX_DP_STATES = 16


@njit(cache=True)
def _bitmask_dp(P4, table, H, S, A, U0, pol):
    """Backward DP over (h, s, B). ``U0`` (S, 2^S) receives U_0; ``pol`` (H, S, 2^S) int8 the argmax."""
    nm = table.shape[0]
    nxt = np.empty((S, nm))
    cur = np.empty((S, nm))
    for s in range(S):
        for B in range(nm):
            nxt[s, B] = table[B]
            pol[H - 1, s, B] = 0
    hp = P4.shape[0]
    for h in range(H - 2, -1, -1):
        Ph = P4[h if hp > 1 else 0]
        for s in range(S):
            bit = 1 << s
            for B in range(nm):
                if not (B & bit):
                    cur[s, B] = -np.inf
                    continue
                best = -np.inf
                ba = 0
                for a in range(A):
                    acc = 0.0
                    for t in range(S):
                        p = Ph[s, a, t]
                        if p != 0.0:
                            acc += p * nxt[t, B | (1 << t)]
                    if acc > best:
                        best = acc
                        ba = a
                cur[s, B] = best
                pol[h, s, B] = ba
        nxt, cur = cur, nxt  # every entry of cur is rewritten at the next step
    # element loops, not ``U0[:, :] = nxt``: a slice assignment compiles Numba's shape-mismatch message
    # formatting (string code that Numba compiles in every process)
    for s in range(S):
        for B in range(nm):
            U0[s, B] = nxt[s, B]


@njit(cache=True)
def context_policy_value(P4, table, H, S, A, probs, hist, mu0):
    """Exact ``J(pi) = E[F(B_{H-1})]`` of a stochastic context policy, by a forward pass over the law of ``(s, B)``.

    ``d_0(s, {s}) = mu0(s)``, ``d_{h+1}(t, B u {t}) += d_h(s, B) pi_h(a | x) P_h(t | s, a)``,
    ``J = sum_{s, B} d_{H-1}(s, B) F(B)``, with context ``x = s`` (Markov) or ``x = s * 2^S + B`` (``hist``).

    Parameters
    ----------
    P4 : ndarray, shape (hp, S, A, S)
        Transitions, ``hp`` in {1, H}.
    table : ndarray, shape (2^S,)
        ``F(B)`` for every bitmask ``B``.
    H, S, A : int
        Horizon and sizes.
    probs : ndarray, shape (H, S, A) or (H, S * 2^S, A)
        Action probabilities per context.
    hist : bool
        Contexts are ``(s, B)`` (True) or ``s`` (False).
    mu0 : ndarray, shape (S,)
        Initial distribution.

    Returns
    -------
    float
        ``J(pi)``.
    """
    nm = table.shape[0]
    dist = np.zeros((S, nm))
    for s in range(S):
        dist[s, 1 << s] = mu0[s]
    new = np.zeros((S, nm))
    hp = P4.shape[0]
    for h in range(H - 1):
        Ph = P4[h if hp > 1 else 0]
        new[:, :] = 0.0  # a scalar fill compiles no shape check
        for s in range(S):
            for B in range(nm):
                w = dist[s, B]
                if w == 0.0:
                    continue
                x = s * nm + B if hist else s
                for a in range(A):
                    pa = probs[h, x, a]
                    if pa == 0.0:
                        continue
                    for t in range(S):
                        p = Ph[s, a, t]
                        if p != 0.0:
                            new[t, B | (1 << t)] += w * pa * p
        dist, new = new, dist  # swap, not ``dist[:, :] = new`` (see _bitmask_dp); new is zeroed before reuse
    J = 0.0
    for s in range(S):
        for B in range(nm):
            J += dist[s, B] * table[B]
    return J


def _onehot_markov(pi, A):
    probs = np.zeros(pi.shape + (A,))
    np.put_along_axis(probs, pi[..., None], 1.0, axis=-1)
    return probs


@dataclass(frozen=True)
class SubmodularOptimum:
    """``value``: OPT over history-dependent policies; ``U0[s, B]``: value-to-go at step 0;
    ``policy[h, s, B]``: an optimal action given the visited set ``B`` (bit s set)."""

    value: float
    U0: np.ndarray
    policy: np.ndarray


def dp_arrays(smdp: SubmodularMDP):
    """The arrays of the bitmask DP: transitions and the table of ``F``, after the size guard.

    Parameters
    ----------
    smdp : SubmodularMDP
        At most :data:`MAX_DP_STATES` states.

    Returns
    -------
    P4 : ndarray, shape (hp, S, A, S)
        C-contiguous transitions.
    table : ndarray, shape (2^S,)
        ``F(B)`` for every bitmask ``B``.
    """
    if not isinstance(smdp, SubmodularMDP):
        raise TypeError(f"smdp: expected a SubmodularMDP, got {type(smdp).__name__}")
    S = smdp.S
    if S > MAX_DP_STATES:
        raise ValueError(
            f"smdp: exact bitmask DP needs H*S*2^S*A*S work and S*2^S memory; S={S} exceeds "
            f"MAX_DP_STATES={MAX_DP_STATES}")
    return np.ascontiguousarray(smdp.mdp.P4()), np.ascontiguousarray(smdp.F.table())


def exact_optimum(smdp: SubmodularMDP) -> SubmodularOptimum:
    """Optimal expected ``F(visited)`` over all (history-dependent) policies, by the bitmask DP.

    Parameters
    ----------
    smdp : SubmodularMDP
        The submodular MDP.

    Returns
    -------
    SubmodularOptimum
        The optimal value and the DP tables.
    """
    P4, table = dp_arrays(smdp)
    S, A, H = smdp.S, smdp.A, smdp.horizon
    U0 = np.empty((S, table.size))
    pol = np.zeros((H, S, table.size), dtype=np.int8)
    _bitmask_dp(P4, table, H, S, A, U0, pol)
    mu0 = smdp.mdp.mu0
    val = float(sum(mu0[s] * U0[s, 1 << s] for s in range(S) if mu0[s] > 0))
    return SubmodularOptimum(val, U0, pol)


def markov_value(smdp: SubmodularMDP, policy) -> float:
    """Exact ``J(pi) = E[F(visited)]`` of a deterministic Markov policy ``policy[h, s]`` (int, shape (H, S)).

    Parameters
    ----------
    smdp : SubmodularMDP
        The submodular MDP.
    policy : array_like of int
        ``pi[h, s]``, shape ``(H, S)``.

    Returns
    -------
    float
        ``J(pi)``.
    """
    P4, table = dp_arrays(smdp)
    pi = np.asarray(policy)
    if pi.dtype.kind not in "iu":
        raise TypeError(f"policy: expected an integer array of actions, got dtype={pi.dtype}")
    if pi.shape != (smdp.horizon, smdp.S):
        raise ValueError(f"policy: expected shape {(smdp.horizon, smdp.S)}, got {pi.shape}")
    if pi.min() < 0 or pi.max() >= smdp.A:
        raise ValueError(f"policy: actions must lie in [0, {smdp.A})")
    probs = _onehot_markov(pi.astype(np.int64), smdp.A)
    return float(context_policy_value(P4, table, smdp.horizon, smdp.S, smdp.A, probs, False, smdp.mdp.mu0))


def best_markov(smdp: SubmodularMDP, *, max_enumerate: int = 50_000, restarts: int = 8, seed=0):
    """Best deterministic Markov policy ``pi[h, s]`` and its value.

    Exhaustive over all ``A^(H-1)S`` policies (the last step's action does not matter) when that count is at most
    ``max_enumerate`` (exact: a deterministic Markov policy attains the best Markov value, see the module doc);
    otherwise coordinate ascent from ``restarts`` random starts, which returns a lower bound on the best
    Markov value. Returns ``(value, policy, exact: bool)``.

    Parameters
    ----------
    smdp : SubmodularMDP
        The submodular MDP.
    max_enumerate : int
        Largest number of policies enumerated exhaustively.
    restarts : int
        Number of random starts of coordinate ascent.
    seed : int or numpy.random.Generator
        Seed of the random starts.

    Returns
    -------
    value : float
        ``J(pi)`` of the best policy found.
    policy : numpy.ndarray
        ``pi[h, s]``, int, shape ``(H, S)``.
    exact : bool
        Whether the enumeration was exhaustive (``value`` is then the best Markov value).
    """
    P4, table = dp_arrays(smdp)
    max_enumerate = check_int("max_enumerate", max_enumerate, low=0)
    restarts = check_int("restarts", restarts, low=1)
    S, A, H = smdp.S, smdp.A, smdp.horizon
    mu0 = smdp.mdp.mu0
    n_dec = (H - 1) * S
    if A ** n_dec <= max_enumerate:
        best_v, best_pi = -np.inf, None
        pi = np.zeros((H, S), dtype=np.int64)
        for acts in product(range(A), repeat=n_dec):
            pi[:H - 1] = np.asarray(acts, dtype=np.int64).reshape(H - 1, S) if n_dec else pi[:H - 1]
            v = context_policy_value(P4, table, H, S, A, _onehot_markov(pi, A), False, mu0)
            if v > best_v:
                best_v, best_pi = v, pi.copy()
        return float(best_v), best_pi, True
    rng = as_generator("seed", seed)
    best_v, best_pi = -np.inf, None
    for _ in range(restarts):
        pi = rng.integers(0, A, size=(H, S)).astype(np.int64)
        v = context_policy_value(P4, table, H, S, A, _onehot_markov(pi, A), False, mu0)
        improved = True
        while improved:
            improved = False
            for h in range(H - 1):
                for s in range(S):
                    keep = pi[h, s]
                    for a in range(A):
                        if a == keep:
                            continue
                        pi[h, s] = a
                        va = context_policy_value(P4, table, H, S, A, _onehot_markov(pi, A), False, mu0)
                        if va > v + 1e-12:
                            v, keep, improved = va, a, True
                    pi[h, s] = keep
        if v > best_v:
            best_v, best_pi = v, pi.copy()
    return float(best_v), best_pi, False
