"""Exact planning in linear mixture MDPs (Zhang, Zhang & Gu, ICML 2023) through the summation oracle.

For :class:`~rltheory.models.linear_mixture.LinearMixtureMDP` with basis ``phi`` and parameter ``theta``,
``[P V](s, a) = <psi_V(s, a), theta>`` with ``psi_V(s, a) = sum_{s'} phi(s'|s, a) V(s')``, so backward induction

    Q_h(s, a) = r_h(s, a) + <psi_{V_{h+1}}(s, a), theta>,    V_h(s) = max_a Q_h(s, a),    V_H = 0

needs only the oracle (paper §2.6, Phase II with ``theta = theta*``). With an estimated ``theta`` the paper clips
``Q`` at 1 (``min{1, .}``); ``clip=True`` clips to [0, 1]. The kernels are shared with the reward-free learners
(:mod:`rltheory._backup`); results have the :class:`~rltheory.solvers.SolveResult` shape.
"""
from __future__ import annotations

import numpy as np

from .._backup import lm_backward
from ..models.linear_mixture import LinearMixtureMDP
from ..models.tabular import readonly
from .api import SolveResult

__all__ = ["solve_linear_mixture", "linear_mixture_value", "suboptimality"]


def _check_mdp(mdp):
    if not isinstance(mdp, LinearMixtureMDP):
        raise TypeError(f"mdp: expected a LinearMixtureMDP, got {type(mdp).__name__}")


def solve_linear_mixture(mdp: LinearMixtureMDP, rewards=None, theta=None, *, clip: bool = False) -> SolveResult:
    """Backward induction through the summation oracle (module docstring).

    Parameters
    ----------
    mdp : LinearMixtureMDP
        The model (its ``phi``, horizon and, by default, rewards and ``theta*``).
    rewards : array_like, shape (S, A) or (H, S, A), optional
        Rewards, validated with the model's normalisation; default the model's.
    theta : array_like, shape (d,), optional
        Mixture parameter; default ``theta*``. Another theta (e.g. an estimate) is not required to give a
        probability kernel.
    clip : bool
        Clip every ``Q_h(s, a)`` to [0, 1].

    Returns
    -------
    SolveResult
        ``V (H+1, S)``, ``Q (H, S, A)``, greedy ``policy (H, S)`` (first maximising action),
        ``method="oracle_backward_induction"``, ``nit=1``, ``converged=True``; ``error_bound`` is NaN (no
        rounding bound is computed for the oracle's sums).
    """
    _check_mdp(mdp)
    R3 = mdp.rewards3(rewards)
    th = readonly(mdp.theta_arg(theta))  # read-only as theta* is: one compiled signature of the kernel
    H, S, A = mdp.horizon, mdp.S, mdp.A
    V = np.empty((H + 1, S))
    Q = np.empty((H, S, A))
    pi = np.zeros((H, S), dtype=np.int64)
    lm_backward(mdp.phi, th, R3, H, bool(clip), V, Q, pi)
    return SolveResult(V, Q, pi, float("nan"), 1, "oracle_backward_induction", {}, converged=True)


def linear_mixture_value(mdp: LinearMixtureMDP, rewards=None) -> float:
    """Optimal value of the initial distribution, ``V*_0(mu0; r) = mu0 @ V*_0``, in the true model.

    Parameters
    ----------
    mdp : LinearMixtureMDP
    rewards : array_like, shape (S, A) or (H, S, A), optional
        Default the model's.

    Returns
    -------
    float
    """
    return float(mdp.mu0 @ solve_linear_mixture(mdp, rewards).V[0])


def suboptimality(mdp: LinearMixtureMDP, policy, rewards=None) -> float:
    """``V*_0(mu0; r) - V^pi_0(mu0; r)`` in the true model (exact, rounding below 0 cleared).

    Parameters
    ----------
    mdp : LinearMixtureMDP
    policy : array_like of int, shape (H, S) or (S,)
        Deterministic Markov policy.
    rewards : array_like, shape (S, A) or (H, S, A), optional
        Default the model's.

    Returns
    -------
    float
        ``max(V* - V^pi, 0)`` with ``V^pi`` from :meth:`LinearMixtureMDP.evaluate`.
    """
    return max(linear_mixture_value(mdp, rewards) - mdp.evaluate(policy, rewards), 0.0)
