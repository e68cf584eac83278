"""Exact effective-horizon analyses of deterministic finite-horizon MDPs (Laidlaw, Russell & Dragan, NeurIPS 2023).

Definitions (time steps ``t = 0..T-1``, ``A`` actions, uniformly random exploration policy):

* ``Q^rand_t``: Q of the random policy; ``Q*_t``, ``V*_t``: optimal; ``Q^worst_t``: of the minimising policy.
  Following the authors' analysis code, the random policy's value at each state is clamped into
  ``[V^worst_t, V*_t]`` (it guards against rounding).
* ``Q^1 = Q^rand`` and ``Q^{i+1}_t(s,a) = R(s,a) + max_{a'} Q^i_{t+1}(s',a')`` for ``t < T-1`` (the last step
  keeps ``Q^1``): ``k - 1`` steps of Q-value iteration from the random policy's Q.
* **min_k** (k-QVI-solvability, paper Def. 5.1): the smallest ``k`` such that at every state reachable from the
  start by following argmax actions of ``Q^k`` (ties all followed), every argmax action is optimal
  (``Q*_t(s,a) >= V*_t(s) - 1e-4``). **epw** (effective planning window): the same search started from the
  immediate rewards instead of ``Q^rand``.
* **Simple effective-horizon bound** (paper Thm 5.4, the form the authors' code evaluates): with
  ``sigma^2_t(s,a) <= (Q^rand - Q^worst)(Q* - Q^worst)`` propagated by the same max-backups as ``Q^k``,
  for each ``k``: over the states reachable by actions whose ``Q^k`` exceeds the best sub-optimal action's,
  ``gap_t(s) = max_a Q^k_t(s,a) - max_{a sub-optimal} Q^k_t(s,a)`` (k fails if an argmax is sub-optimal),
  ``m_t(s) = max(1, ceil(16 sigma^2_t(s) / gap_t(s)^2 * ln(2 T A^k)))``, ``H_k = k + log_A max m``, and
  ``H_bar = min(T, min_k H_k)`` (``k`` runs while ``k < H_bar``).

Rewards are used in float64 (BRIDGE files store float32: cast first). Only states reachable from the start
at step ``t`` matter. A deterministic MDP is the special case of :mod:`rltheory.algorithms.effective_horizon.stochastic_analysis`
(one successor per pair), so the Numba kernels are those of that module; the functions here check determinism
and keep the deterministic names and outputs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..._validation import check_type
from ...models.tabular import TabularMDP
from ._kernels import csr_arrays, eh_search, exploration_q, qvi_search
from .stochastic_analysis import PRECISION

__all__ = ["PRECISION", "deterministic_arrays", "ExplorationValues", "exploration_values", "min_k", "epw",
           "EffectiveHorizon", "simple_effective_horizon", "analyze"]

def deterministic_arrays(mdp: TabularMDP):
    """Successor array, rewards and horizon of a deterministic, time-homogeneous finite-horizon MDP.

    Parameters
    ----------
    mdp : TabularMDP
        Time-homogeneous, finite horizon, exactly one successor per ``(s, a)``.

    Returns
    -------
    nxt : ndarray of int, shape (S, A)
        ``nxt[s, a]``: the successor of ``(s, a)``.
    R : ndarray, shape (S, A)
        Rewards as float64.
    T : int
        Horizon.

    Raises
    ------
    TypeError
        ``mdp`` is not a :class:`TabularMDP`.
    ValueError
        The MDP is discounted, time-dependent or stochastic.
    """
    check_type("mdp", mdp, TabularMDP)
    if not mdp.finite_horizon or not mdp.time_homogeneous:
        raise ValueError("mdp: effective-horizon analyses need a time-homogeneous finite-horizon MDP")
    ip, ix, dt = mdp.csr_arrays
    nnz_rows = np.diff(ip)
    pos = dt > 0
    if np.any(np.add.reduceat(pos.astype(np.int64), ip[:-1]) != 1) or np.any(nnz_rows < 1):
        raise ValueError("mdp: transitions must be deterministic (one successor per (s, a))")
    first = ip[:-1] + np.array([np.flatnonzero(dt[a:b] > 0)[0] for a, b in zip(ip[:-1], ip[1:])])
    nxt = ix[first].reshape(mdp.S, mdp.A).astype(np.int64)
    return nxt, np.ascontiguousarray(mdp.R, dtype=np.float64), mdp.horizon


@dataclass(frozen=True)
class ExplorationValues:
    """Q-functions of the exploration analysis (module docstring), each of shape ``(T, S, A)``.

    Attributes
    ----------
    Q_rand, Q_opt, Q_worst : ndarray, shape (T, S, A)
        Q of the uniformly random policy (clamped into ``[V^worst, V*]``), the optimal and the minimising policy.
    V_opt : ndarray, shape (T, S)
        ``V*_t(s) = max_a Q*_t(s, a)``.
    visitable : ndarray of bool, shape (T, S)
        States reachable at step ``t`` from the start (under any actions).
    """

    Q_rand: np.ndarray
    Q_opt: np.ndarray
    Q_worst: np.ndarray
    V_opt: np.ndarray
    visitable: np.ndarray


def _prepared(mdp: TabularMDP):
    deterministic_arrays(mdp)  # refuses stochastic models with a clear error
    ip, ix, dt, R, T, mu0 = csr_arrays(mdp)
    Qr, Qo, Qw, Vo = exploration_q(ip, ix, dt, R, T)
    return ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo[:T].copy()


def _reachable(nxt, mu0, T):
    vis = np.zeros((T, mu0.shape[0]), dtype=bool)
    vis[0] = mu0 > 0
    for t in range(T - 1):
        vis[t + 1, np.unique(nxt[vis[t]])] = True
    return vis


def exploration_values(mdp: TabularMDP) -> ExplorationValues:
    """``Q^rand``, ``Q*``, ``Q^worst`` and ``V*`` of a deterministic MDP, with the reachable states.

    ``Q^pi_t(s, a) = R(s, a) + V^pi_{t+1}(nxt(s, a))``, ``V_T = 0``, for the uniformly random, optimal and minimising
    policies.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon.

    Returns
    -------
    ExplorationValues
    """
    ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo = _prepared(mdp)
    return ExplorationValues(Qr, Qo, Qw, Vo, _reachable(deterministic_arrays(mdp)[0], mu0, T))


def min_k(mdp: TabularMDP, *, precision: float = PRECISION) -> int:
    """Smallest ``k`` for which acting greedily on ``Q^k`` (``k - 1`` QVI steps from ``Q^rand``) is optimal.

    ``Q^1 = Q^rand``, ``Q^{i+1}_t(s, a) = R(s, a) + max_{a'} Q^i_{t+1}(s', a')`` (paper Def. 5.1, k-QVI-solvability);
    ``k`` is accepted when every argmax action of ``Q^k`` at every state reached by argmax actions satisfies
    ``Q*_t(s, a) >= V*_t(s) - precision``.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon.
    precision : float
        Tolerance under which an action counts as optimal (default :data:`PRECISION`).

    Returns
    -------
    int
        ``min_k`` in ``1..T + 1``, or -1 if no ``k`` up to ``T + 1`` is accepted.
    """
    ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo = _prepared(mdp)
    return int(qvi_search(ip, ix, dt, R, T, mu0, Qo, Vo, Qr, precision))


def epw(mdp: TabularMDP, *, precision: float = PRECISION) -> int:
    """Effective planning window: as :func:`min_k`, with the iteration started from the immediate rewards.

    ``Q^1_t(s, a) = R(s, a)`` instead of ``Q^rand``; the same acceptance rule.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon.
    precision : float
        Tolerance under which an action counts as optimal (default :data:`PRECISION`).

    Returns
    -------
    int
        The smallest accepted ``k``, or -1.
    """
    ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo = _prepared(mdp)
    return int(qvi_search(ip, ix, dt, R, T, mu0, Qo, Vo, np.broadcast_to(R, Qr.shape), precision))


@dataclass(frozen=True)
class EffectiveHorizon:
    """The simple effective-horizon bound and its per-``k`` terms.

    Attributes
    ----------
    value : float
        ``H_bar = min(T, min_k H_k)``, ``H_k = k + log_A m_k``.
    ks, ms : list of int
        The lookaheads ``k`` whose bound applies and their ``m_k`` (Python ints, exact).
    gaps, vars : list of float
        The gap and variance proxy that attain each ``m_k``.
    """

    value: float
    ks: list = field(default_factory=list)
    ms: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    vars: list = field(default_factory=list)


def simple_effective_horizon(mdp: TabularMDP, *, precision: float = PRECISION, k_max: int | None = None) -> EffectiveHorizon:
    """The simple effective-horizon bound (Laidlaw et al. 2023, Thm 5.4; module docstring).

    ``m_k = max(1, ceil(16 sigma^2 / gap^2 ln(2 T A^k)))`` maximised over the reached ``(t, s)``,
    ``H_k = k + log_A m_k``, ``H_bar = min(T, min_k H_k)``.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon.
    precision : float
        Tolerance under which an action counts as optimal (default :data:`PRECISION`).
    k_max : int, optional
        Largest lookahead tried (default and cap ``T``).

    Returns
    -------
    EffectiveHorizon
    """
    ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo = _prepared(mdp)
    kk = T if k_max is None else min(int(k_max), T)
    H_bar, ks, ms, gaps, vars_, _ = eh_search(ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo, kk, precision, False)
    return EffectiveHorizon(H_bar, ks, ms, gaps, vars_)


def analyze(mdp: TabularMDP) -> dict:
    """``min_k``, ``epw``, the simple effective horizon and the classical horizon ``T`` of one MDP, for reports.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon.

    Returns
    -------
    dict
        Keys ``horizon``, ``min_k``, ``epw``, ``effective_horizon``, ``ks``, ``ms``, ``S``, ``A``.
    """
    eh = simple_effective_horizon(mdp)
    return {"horizon": mdp.horizon, "min_k": min_k(mdp), "epw": epw(mdp), "effective_horizon": eh.value,
            "ks": eh.ks, "ms": eh.ms, "S": mdp.S, "A": mdp.A}
