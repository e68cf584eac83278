"""Bounds of horizon-free reward-free exploration for linear mixture MDPs (Zhang, Zhang & Gu, ICML 2023).

* ``rfe_lm_upper`` — Thm 2.6.3 / Cor. 2.6.4 (dissertation numbering): HF-UCRL-RFE++ needs
  ``K = O~(d^2 eps^-2)`` episodes (total reward in [0, 1]; polylog in H, independent of S and A).
  Equivalently the planning error after K episodes is ``O~(d/sqrt(K) + d^2/K)``; ``rfe_lm_error_upper`` keeps
  the leading ``d/sqrt(K)`` term.
* ``rfe_lm_upper_per_step`` — Cor. 2.6.6: ``O~(H^2 d^2 eps^-2)`` for per-step rewards in [0, 1] (run on r/H).
* ``rfe_lm_lower`` — Thm 2.6.8: ``Omega(d^2 eps^-2)`` for any reward-free algorithm (B > 1), on the 3-state,
  ``2^(d-1)``-action instance of :func:`mdps.hard_linear_mixture_rfe`; ``rfe_lm_error_lower``: the equivalent
  ``Omega(d/sqrt(K))`` error after K episodes; ``rfe_lm_lower_per_step``: Cor. 2.6.10, ``Omega~(H^2 d^2 eps^-2)``.
* ``ucrl_rfe_upper`` — UCRL-RFE (Zhang, Zhou & Gu 2021, Thm 2.4.3): ``O~(H^5 d^2 eps^-2)`` for per-step rewards.

The Õ hides polylog(K, H, 1/delta) factors; the logs kept below are the leading ones of the explicit bound
(``beta ~ sqrt(d) log``); the constant C (default 1) is not the theorem's (the explicit bound is vacuous at
simulable K, note §I.4.1).
"""
import sympy as _sp

from rltheory.bounds.core import Bound, sym

_d, _eps, _H, _K, _C, _delta = (sym(n) for n in ("d", "eps", "H", "K", "C", "delta"))
_SRC = "Zhang, Zhang & Gu, ICML 2023, Optimal Horizon-Free Reward-Free Exploration for Linear Mixture MDPs"
_ASSUME = ("linear mixture MDP, time-homogeneous P = <phi, theta*>", "||theta*|| <= B, ||psi_V|| <= 1 for V in [0,1]^S",
           "total reward of every trajectory in [0, 1]", "probability >= 1 - delta")

RFE_LM_UPPER = Bound(
    "rfe_lm_upper", _C * _d ** 2 / _eps ** 2 * _sp.log(_H * _d / (_eps * _delta)) ** 2, kind="upper",
    source=_SRC + ", Thm 2.6.3 / Cor. 2.6.4 (dissertation numbering)", assumptions=_ASSUME,
    notes="episodes K(eps); polylog in H; lower-order O~(d^2/eps) term dropped")
RFE_LM_ERROR_UPPER = Bound(
    "rfe_lm_error_upper", _C * _d / _sp.sqrt(_K) * _sp.log(_K * _H / _delta), kind="upper",
    source=_SRC + ", Thm 2.6.3", assumptions=_ASSUME,
    notes="planning error V* - V^pi_r after K episodes, uniformly over rewards; the lower-order d^2/K term and "
          "further polylog factors dropped")
RFE_LM_UPPER_PER_STEP = Bound(
    "rfe_lm_upper_per_step", _C * _H ** 2 * _d ** 2 / _eps ** 2 * _sp.log(_H * _d / (_eps * _delta)) ** 2,
    kind="upper", source=_SRC + ", Cor. 2.6.6",
    assumptions=_ASSUME[:2] + ("per-step rewards r_h in [0, 1] (total <= H)", "probability >= 1 - delta"))
RFE_LM_LOWER = Bound(
    "rfe_lm_lower", _C * _d ** 2 / _eps ** 2, kind="lower", source=_SRC + ", Thm 2.6.8",
    assumptions=("B > 1", "total reward in [0, 1]", "any reward-free algorithm, worst case over instances"),
    notes="instance: mdps.hard_linear_mixture_rfe (3 states, 2^(d-1) actions, gap sqrt(delta0/K)/(4 sqrt 2))")
RFE_LM_ERROR_LOWER = Bound(
    "rfe_lm_error_lower", _C * _d / _sp.sqrt(_K), kind="lower", source=_SRC + ", Thm 2.6.8 (error form)",
    assumptions=("B > 1", "total reward in [0, 1]", "K >= 3 d^2"))
RFE_LM_LOWER_PER_STEP = Bound(
    "rfe_lm_lower_per_step", _C * _H ** 2 * _d ** 2 / _eps ** 2, kind="lower", source=_SRC + ", Cor. 2.6.10",
    assumptions=("B > 1", "per-step rewards r_h in [0, 1]"))
UCRL_RFE_UPPER = Bound(
    "ucrl_rfe_upper", _C * _H ** 5 * _d ** 2 / _eps ** 2 * _sp.log(_H * _d / (_eps * _delta)) ** 2, kind="upper",
    source="Zhang, Zhou & Gu, NeurIPS 2021, Reward-Free Model-Based RL with Linear Function Approximation, Thm 2.4.3 "
           "of Zhang's dissertation", assumptions=_ASSUME[:2] + ("per-step rewards r_h in [0, 1]",))

BOUNDS = (RFE_LM_UPPER, RFE_LM_ERROR_UPPER, RFE_LM_UPPER_PER_STEP, RFE_LM_LOWER, RFE_LM_ERROR_LOWER,
          RFE_LM_LOWER_PER_STEP, UCRL_RFE_UPPER)
