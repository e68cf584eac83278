"""Mutants of HF-UCRL-RFE++ for the check ``rfe_linear_mixture`` (reward-free protocol,
:mod:`rltheory.algorithms.reward_free.protocol`).

Each factory builds the reference learner (:func:`proofs_checks.rfe_linear_mixture.reference_learner`, i.e.
:class:`~rltheory.algorithms.reward_free.hf_ucrl_rfe.HFUCRLRFELearner` at the check's ``c_beta`` and ``M``) with one
realistic bug. The check must fail on every one that is not listed as a legitimate variant in ``CHECK.mutants``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from rltheory.algorithms.reward_free._common import sherman_morrison
from rltheory.algorithms.reward_free.hf_ucrl_rfe import HFUCRLRFELearner, _update_step
from rltheory._backup import lm_backward as _lm_backward
from rltheory.models.tabular import readonly

from ..framework import Mutant
from .settings import C_BETA, M_ORDERS


def _ref(phi, H, K, B, seed, **kw):
    kw.setdefault("c_beta", C_BETA)
    kw.setdefault("M", M_ORDERS)
    return HFUCRLRFELearner(phi, H, K, B, seed, **kw)


class _Uniform(HFUCRLRFELearner):
    def explore_policy(self):
        super().explore_policy()  # keeps the pseudo-values the regression targets are built from
        return np.full((self.H, self.S, self.A), 1.0 / self.A)


def uniform_exploration(phi, H, K, B, seed):
    """Explores with uniformly random actions (the regression, HOME and planning unchanged)."""
    return _Uniform(phi, H, K, B, seed, c_beta=C_BETA, M=M_ORDERS)


def radius_x0_01(phi, H, K, B, seed):
    """Every confidence radius (uncertainty, bonus, HOME error bars) 100 times too small."""
    return _ref(phi, H, K, B, seed, c_beta=C_BETA * 0.01)


def radius_x100(phi, H, K, B, seed):
    """Every confidence radius 100 times too large."""
    return _ref(phi, H, K, B, seed, c_beta=C_BETA * 100.0)


def no_uncertainty_reward(phi, H, K, B, seed):
    """The exploration DP without the uncertainty pseudo-reward ``u`` (``explore="off"``): it plans on bonuses
    of zero pseudo-values and takes the first action."""
    return _ref(phi, H, K, B, seed, explore="off")


def unprojected_planning(phi, H, K, B, seed):
    """Plans with the regression centre itself, not projected onto the rows-sum-to-1 constraint."""
    return _ref(phi, H, K, B, seed, project=False)


@njit(cache=True)
def _episode_update_unweighted(phi, verts, psiv, Vh, best_vertex, states, actions, th, Sig, Sinv, bvec, phis, ys, f):
    """The reference's :func:`_episode_update` with every HOME weight replaced by 1 (plain ridge regression)."""
    S, d = phi.shape[0], phi.shape[3]
    M = phis.shape[1]
    for h in range(actions.shape[0]):
        s, a, t = states[h], actions[h], states[h + 1]
        for m in range(M):
            p = 2.0 ** m
            for j in range(S):
                f[j] = Vh[h + 1, j] ** p
            for i in range(d):
                acc = 0.0
                for j in range(S):
                    acc += phi[s, a, j, i] * f[j]
                phis[0, m, i] = acc
                phis[1, m, i] = psiv[best_vertex[s, a], s, a, i]
            ys[0, m] = f[t]
            ys[1, m] = verts[best_vertex[s, a], t]
        for X in range(2):
            for m in range(M):
                x = phis[X, m]
                for i in range(d):
                    bvec[X, m, i] += x[i] * ys[X, m]
                    for j in range(d):
                        Sig[X, m, i, j] += x[i] * x[j]
                sherman_morrison(Sinv[X, m], x, 1.0)


class _Unweighted(HFUCRLRFELearner):
    def _update_series(self, states, actions, beta):
        phis, ys, _, f = self._bufs
        _episode_update_unweighted(self.phi, self.verts, self.psiv, self.Vh, self.best_vertex, states, actions, self.th,
                                   self.Sig, self.Sinv, self.bvec, phis, ys, f)


def unweighted_regression(phi, H, K, B, seed):
    """No variance weighting: both series are plain (unweighted) ridge regressions."""
    return _Unweighted(phi, H, K, B, seed, c_beta=C_BETA, M=M_ORDERS)


@njit(cache=True)
def _episode_update_target_at_s(phi, verts, psiv, Vh, best_vertex, states, actions, th, Sig, Sinv, SinvF, bvec, beta,
                                alpha, gamma, phis, ys, sig2, f):
    """The reference's update with the regression target read at the current state ``s_h`` instead of the next
    state ``s_{h+1}`` (an off-by-one in the time index of the trajectory)."""
    S, d = phi.shape[0], phi.shape[3]
    M = phis.shape[1]
    for h in range(actions.shape[0]):
        s, a = states[h], actions[h]
        for m in range(M):
            p = 2.0 ** m
            for j in range(S):
                f[j] = Vh[h + 1, j] ** p
            for i in range(d):
                acc = 0.0
                for j in range(S):
                    acc += phi[s, a, j, i] * f[j]
                phis[0, m, i] = acc
                phis[1, m, i] = psiv[best_vertex[s, a], s, a, i]
            ys[0, m] = f[s]
            ys[1, m] = verts[best_vertex[s, a], s]
        _update_step(phis, ys, th, Sig, Sinv, SinvF, bvec, beta, alpha, gamma, sig2)


class _TargetAtS(HFUCRLRFELearner):
    def _update_series(self, states, actions, beta):
        phis, ys, sig2, f = self._bufs
        _episode_update_target_at_s(self.phi, self.verts, self.psiv, self.Vh, self.best_vertex, states, actions, self.th,
                                    self.Sig, self.Sinv, self.SinvF, self.bvec, beta, self.alpha, self.gamma, phis,
                                    ys, sig2, f)


def target_at_current_state(phi, H, K, B, seed):
    """Regression targets ``V(s_h)`` instead of ``V(s_{h+1})`` (off by one step along the trajectory)."""
    return _TargetAtS(phi, H, K, B, seed, c_beta=C_BETA, M=M_ORDERS)


class _ShortPlan(HFUCRLRFELearner):
    def plan(self, reward):
        R = np.asarray(reward, dtype=np.float64)
        R3 = np.ascontiguousarray(R if R.ndim == 3 else R[None])
        H1 = self.H - 1
        V = np.empty((H1 + 1, self.S))
        Q = np.empty((H1, self.S, self.A))
        pi = np.zeros((self.H, self.S), dtype=np.int64)
        R3s = R3 if R3.shape[0] == 1 else np.ascontiguousarray(R3[:H1])
        _lm_backward(self.phi, readonly(self.planning_theta()), R3s, H1, True, V, Q, pi[:H1])
        return pi


def planning_horizon_minus_one(phi, H, K, B, seed):
    """Planning by backward induction over ``H - 1`` steps (the loop starts at ``V_{H-1} = 0``): the policy of the
    first ``H - 1`` steps is optimal for the truncated problem, the last step takes action 0."""
    return _ShortPlan(phi, H, K, B, seed, c_beta=C_BETA, M=M_ORDERS)


_P = "proofs_checks.rfe_linear_mixture.mutants:"
UNPROJECTED_REASON = (
    "legitimate: the paper plans with its own estimate and never projects it (Alg. 4 line 23); the row-sum "
    "projection is our addition for the reference. Measured: on every instance of the learner claims its planning "
    "errors equal the reference's or nearly (the decisions there depend on the sign of mu, which the projection "
    "does not move); the projection's benefit, a K^-1/2 instead of ~K^-1/4 decay of the estimate's value error on "
    "random instances, is measured on the reference by keps_random (not a learner claim)")

#: The catalogue (``CHECK.mutants``); ``legitimate`` non-empty = a legitimate variant, with the measured reason.
MUTANTS = [
    Mutant("uniform_exploration", "exploration actions uniformly at random (regression, HOME and planner unchanged)",
           _P + "uniform_exploration"),
    Mutant("radius_x0.01", "every confidence radius 100x too small (uncertainty, bonus, HOME error bars, certificate)",
           _P + "radius_x0_01"),
    Mutant("radius_x100", "every confidence radius 100x too large (pseudo-values saturate; ties take the first "
           "action)", _P + "radius_x100"),
    Mutant("no_uncertainty_reward", "exploration DP without the uncertainty pseudo-reward u (explore='off')",
           _P + "no_uncertainty_reward"),
    Mutant("unweighted_regression", "no variance weighting: both series are plain ridge regressions (HOME weights 1)",
           _P + "unweighted_regression"),
    Mutant("target_at_current_state", "regression targets V(s_h) instead of V(s_{h+1}) (off by one along the "
           "trajectory)", _P + "target_at_current_state"),
    Mutant("planning_horizon_minus_one", "planning by backward induction over H - 1 steps (the last step takes "
           "action 0)", _P + "planning_horizon_minus_one"),
    Mutant("unprojected_planning", "plans with the regression centre, not projected onto the rows-sum-to-1 "
           "constraint", _P + "unprojected_planning", legitimate=UNPROJECTED_REASON),
]
