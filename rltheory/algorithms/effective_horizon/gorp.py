"""GORP — Greedy Over Random Policy (Laidlaw, Russell & Dragan, NeurIPS 2023, Alg. 1), for deterministic MDPs.

For each step ``t = 0..T-1`` in turn, with the actions ``a_0..a_{t-1}`` already committed: for each of the
``A^k'`` action sequences of length ``k' = min(k, T - t)``, run ``m`` episodes that follow the committed prefix,
then the sequence, then uniformly random actions to the end; commit the first action of the sequence with the
highest mean return (ties: the first sequence in lexicographic order). Episodes used:
``m * sum_t A^{min(k, T-t)}``. With ``k`` and ``m = m_k`` of the simple effective-horizon bound
(:func:`rltheory.algorithms.effective_horizon.analysis.simple_effective_horizon`) the paper's Theorem 5.4 guarantees an
optimal policy with probability at least 1/2, i.e. sample complexity ``O(T A^k m_k) = O(T A^{H_k})``.

The rollouts of one decision run in a Numba kernel; randomness comes from Numba's generator seeded with
``np.random.seed(seed)`` inside the kernel (reproducible for a seed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..._validation import check_int, check_seed
from ...models.tabular import TabularMDP
from ...solvers import solve
from ..result import LearnerResult
from .analysis import PRECISION, deterministic_arrays
from .search import doubling_search

__all__ = ["GORPResult", "gorp", "gorp_sample_complexity"]


@njit(cache=True)
def _gorp(nxt, R, T, k, m, seed, actions):
    np.random.seed(seed)
    S, A = nxt.shape
    s = 0
    episodes = 0
    seq = np.zeros(k, dtype=np.int64)
    for t in range(T):
        kk = min(k, T - t)
        n_seq = A ** kk
        best = -np.inf
        best_first = 0
        for j in range(n_seq):
            x = j
            for i in range(kk - 1, -1, -1):
                seq[i] = x % A
                x //= A
            total = 0.0
            for _ in range(m):
                st = s
                g = 0.0
                for i in range(kk):
                    g += R[st, seq[i]]
                    st = nxt[st, seq[i]]
                for _u in range(t + kk, T):
                    a = np.random.randint(0, A)
                    g += R[st, a]
                    st = nxt[st, a]
                total += g
            episodes += m
            mean = total / m
            if mean > best:
                best = mean
                best_first = seq[0]
        actions[t] = best_first
        s = nxt[s, best_first]
    return episodes


@dataclass(frozen=True)
class GORPResult(LearnerResult):
    """Outcome of one GORP run.

    Attributes
    ----------
    actions : ndarray of int, shape (T,)
        The committed open-loop plan.
    value : float
        Its exact return from the start.
    v_star : float
        ``V*`` of the start state.
    optimal : bool
        ``value >= v_star - PRECISION``.
    method, episodes, seed
        ``"gorp"``, the episodes (rollouts) GORP used and the seed (:class:`~rltheory.algorithms.result.LearnerResult`).
    """

    actions: np.ndarray
    value: float
    v_star: float
    optimal: bool


def gorp(mdp: TabularMDP, k: int, m: int, *, seed: int) -> GORPResult:
    """Run GORP with lookahead ``k`` and ``m`` rollouts per action sequence (module docstring).

    At each step ``t`` every action sequence ``a_{1:k}`` is rolled out ``m`` times (then uniformly random actions to
    the horizon); GORP commits to the first action of the sequence with the highest mean return.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon.
    k : int
        Lookahead, ``A^k <= 10^7``.
    m : int
        Rollouts per action sequence.
    seed : int
        Seed in ``[0, 2^32)`` of the rollouts.

    Returns
    -------
    GORPResult
        The plan, its exact return and whether it is optimal within :data:`PRECISION`.
    """
    nxt, R, T = deterministic_arrays(mdp)
    k, m = check_int("k", k, low=1), check_int("m", m, low=1)
    if mdp.A ** min(k, T) > 10**7:
        raise ValueError(f"k: A^k = {mdp.A}^{k} action sequences per step is too many")
    seed = check_seed("seed", seed, high=2**32 - 1)
    actions = np.zeros(T, dtype=np.int64)
    episodes = _gorp(nxt, R, T, int(k), int(m), int(seed), actions)
    s, v = 0, 0.0
    for a in actions:
        v += R[s, a]
        s = nxt[s, a]
    v_star = float(solve(mdp).V[0, 0])
    return GORPResult(actions, float(v), v_star, bool(v >= v_star - PRECISION), method="gorp", episodes=int(episodes),
                      seed=int(seed))


def gorp_sample_complexity(mdp: TabularMDP, k: int, *, seeds, success: float = 0.5, m_max: int = 2**16):
    """Smallest ``m`` in ``1, 2, 4, ..., m_max`` for which GORP(k, m) is optimal on a ``success`` fraction of seeds.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon.
    k : int
        Lookahead.
    seeds : iterable of int
        Seeds of the runs.
    success : float
        Required fraction, in (0, 1].
    m_max : int
        Largest ``m`` tried.

    Returns
    -------
    tuple
        ``(m, episodes)`` (episodes of one GORP run at that ``m``), or ``(None, None)`` (:func:`.search.doubling_search`).
    """
    def run(m, s):
        r = gorp(mdp, k, m, seed=s)
        return r.optimal, r.episodes

    return doubling_search(run, seeds, success=success, m_max=m_max)
