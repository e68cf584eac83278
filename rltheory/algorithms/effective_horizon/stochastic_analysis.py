"""Effective-horizon analyses of stochastic finite-horizon MDPs (Laidlaw, Zhu, Russell & Dragan, ICLR 2024).

The same objects as in :mod:`rltheory.algorithms.effective_horizon.analysis`, with expectations over next states
(``T`` steps ``t = 0..T-1``, ``A`` actions, uniformly random exploration policy):

* ``Q^1 = Q^rand``; ``Q^{i+1}_t(s,a) = R(s,a) + sum_{s'} P(s'|s,a) max_{a'} Q^i_{t+1}(s',a')`` for ``t < T-1``
  (the last step keeps ``Q^1``): ``k - 1`` steps of Q-value iteration from the random policy's Q-function.
* **k-QVI-solvability** (ICLR 2024, Sec. 3): every policy greedy on ``Q^k`` is optimal. We test it as the
  authors' analysis code does for the deterministic case: at every state reached with positive probability
  when the argmax actions of ``Q^k`` are followed (ties all followed), every argmax action is optimal
  (``Q*_t(s,a) >= V*_t(s) - 1e-4``). ``min_k`` is the smallest such k; ``greedy_returns[i-1]`` is the exact
  return ``J_i`` of the policy greedy on ``Q^i`` (first argmax), as in the authors' sticky-action analysis.
* **Stochastic effective horizon — our reconstruction.** The exact constants of the ICLR 2024 paper's
  definition were not available to us; we use the form of the deterministic simple bound (NeurIPS 2023,
  Thm 5.4) with expectations: over the states reached with positive probability along actions whose ``Q^k``
  exceeds the best sub-optimal action's, ``gap_t(s) = max_a Q^k_t(s,a) - max_{a sub-optimal} Q^k_t(s,a)``;
  ``sigma^2_t(s,a) = (Q^rand - Q^worst)(Q* - Q^worst)`` (a Bhatia-Davis-type bound on the variance of a
  random-policy return, valid for stochastic MDPs too) propagated by a max over next states in the support
  and next actions; ``m_k = max(1, ceil(max_{t,s} 16 sigma^2 / gap^2 ln(2 T A^k)))``,
  ``H_k = k + log_A m_k``, ``H_bar = min(T, min_k H_k)``. On a deterministic MDP every quantity equals the one
  of :func:`~rltheory.algorithms.effective_horizon.analysis.simple_effective_horizon` (tested). The paper's exact form
  would replace the kernel ``k_bound_stoch`` of :mod:`._kernels`.

Kernels are Numba on the model's CSR arrays (rows ``s * A + a``), so thousands of states x tens of steps are
cheap; only time-homogeneous finite-horizon models are accepted (like the deterministic analyses).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..._validation import check_int
from ...models.tabular import TabularMDP
from ._kernels import backup_stoch, csr_arrays, eh_search, exploration_q, qvi_search

__all__ = ["PRECISION", "StochasticAnalysis", "stochastic_analysis", "qvi_iterates"]

#: Tolerance under which an action counts as optimal (the authors' REWARD_PRECISION).
PRECISION = 1e-4


def qvi_iterates(mdp: TabularMDP, k_max: int) -> list:
    """The Q-value-iteration iterates ``[Q^1, ..., Q^k_max]`` from the random policy's Q-function.

    ``Q^1 = Q^rand``, ``Q^{i+1}_t(s, a) = R(s, a) + sum_{s'} P(s'|s, a) max_{a'} Q^i_{t+1}(s', a')`` for ``t < T-1``.

    Parameters
    ----------
    mdp : TabularMDP
        Time-homogeneous, finite horizon.
    k_max : int
        Number of iterates, ``>= 1``.

    Returns
    -------
    list of ndarray, each of shape (T, S, A)
    """
    ip, ix, dt, R, T, _ = csr_arrays(mdp)
    k_max = check_int("k_max", k_max, low=1)
    cur = exploration_q(ip, ix, dt, R, T)[0].copy()
    out = [cur.copy()]
    for _ in range(int(k_max) - 1):
        backup_stoch(cur, ip, ix, dt, R, T)
        out.append(cur.copy())
    return out


@dataclass(frozen=True)
class StochasticAnalysis:
    """Results of :func:`stochastic_analysis`.

    Attributes
    ----------
    min_k, epw : int
        Smallest accepted ``k`` from ``Q^rand`` / from the rewards (-1 if none up to ``T + 1``).
    greedy_returns : list of float
        ``J_1..J_kmax``: exact returns of the policies greedy on ``Q^1..Q^kmax`` (first argmax).
    optimal_return, random_return, worst_return : float
        ``mu0``-weighted values of the optimal, uniformly random and minimising policies.
    value : float
        The effective-horizon reconstruction ``H_bar = min(T, min_k H_k)``.
    ks, ms, gaps, vars : list
        Per accepted ``k``: ``k``, ``m_k``, the attaining gap and variance proxy.
    """

    min_k: int
    epw: int
    greedy_returns: list
    optimal_return: float
    random_return: float
    worst_return: float
    value: float
    ks: list = field(default_factory=list)
    ms: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    vars: list = field(default_factory=list)


def stochastic_analysis(mdp: TabularMDP, *, k_max: int = 5, precision: float = PRECISION) -> StochasticAnalysis:
    """All the analyses of the module docstring for one time-homogeneous finite-horizon MDP.

    ``min_k`` and ``epw`` are searched up to ``T + 1`` (``Q^k = Q*`` once ``k >= T``); ``greedy_returns`` and the
    effective-horizon search stop at ``k_max`` (the bound's search also stops once ``k >= H_bar``).

    Parameters
    ----------
    mdp : TabularMDP
        Time-homogeneous, finite horizon, time-homogeneous rewards.
    k_max : int
        Largest ``k`` of the greedy returns and the effective-horizon search.
    precision : float
        Tolerance under which an action counts as optimal.

    Returns
    -------
    StochasticAnalysis
    """
    ip, ix, dt, R, T, mu0 = csr_arrays(mdp)
    k_max = check_int("k_max", k_max, low=1)
    S, A = R.shape
    Qr, Qo, Qw, Vo = exploration_q(ip, ix, dt, R, T)
    Vo = Vo[:T].copy()

    def search(start):
        return qvi_search(ip, ix, dt, R, T, mu0, Qo, Vo, start, precision)

    mk = search(Qr)
    w = search(np.broadcast_to(R, (T, S, A)))
    H_bar, ks, ms, gaps, vars_, J = eh_search(ip, ix, dt, R, T, mu0, Qr, Qo, Qw, Vo, int(k_max), precision, True)
    ret = lambda Q: float(mu0 @ Q[0].max(axis=1))  # noqa: E731
    rand = float(mu0 @ Qr[0].mean(axis=1))
    worst = float(mu0 @ Qw[0].min(axis=1))
    return StochasticAnalysis(int(mk), int(w), J, ret(Qo), rand, worst, H_bar, ks, ms, gaps, vars_)
