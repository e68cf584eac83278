"""Mutants of SubPO for the ``"set_function"`` protocol (:mod:`proofs_checks._set_function`).

Each factory ``(S, A, H, seed) -> learner`` is the reference :class:`~proofs_checks._set_function.SubPOLearner`
with one realistic slip.
"""
from __future__ import annotations

import numpy as np

from .._set_function import SubPOLearner
from ..framework import Mutant


def markov_features(S, A, H, seed):
    """No history features: the policy sees ``(h, s)`` only (a Markov policy)."""
    return SubPOLearner(S, A, H, seed, history=False)


def cumulative_credit(S, A, H, seed):
    """Credits step ``h`` with ``sum_{t >= h} F(B_{t+1})`` instead of the marginal gains (the SubRL authors' code)."""
    return SubPOLearner(S, A, H, seed, credit="cumulative")


def immediate_credit(S, A, H, seed):
    """Credits step ``h`` with its own marginal gain only (no return-to-go): a myopic, greedy-like learner."""
    return SubPOLearner(S, A, H, seed, credit="immediate")


def step_size_too_small(S, A, H, seed):
    """The step size divided by 100 (e.g. a per-episode rate applied to a batch mean)."""
    return SubPOLearner(S, A, H, seed, lr=0.02)


def gradient_descent(S, A, H, seed):
    """The sign of the update flipped (descent on ``J``)."""
    return SubPOLearner(S, A, H, seed, sign=-1.0)


def no_baseline(S, A, H, seed):
    """REINFORCE without the per-step batch-mean baseline (unbiased, higher variance)."""
    return SubPOLearner(S, A, H, seed, baseline=False)


def step_size_too_large(S, A, H, seed):
    """The batch sum instead of the batch mean in the update: the step is ``batch`` (64) times too large."""
    return SubPOLearner(S, A, H, seed, lr=2.0 * 64)


class _NoMinusPi(SubPOLearner):
    def _score_terms(self, adv, p, actions):
        g = np.zeros_like(p)
        g[np.arange(len(actions)), actions] = adv
        return g


def no_minus_pi(S, A, H, seed):
    """The softmax score ``grad log pi(a) = e_a - pi`` without its ``-pi`` term: the step is
    ``adv e_a``, whose mean ``pi(a) (Q(x, a) - b_h)`` is biased wherever ``V(x) != b_h``."""
    return _NoMinusPi(S, A, H, seed)


class _EpisodeReturn(SubPOLearner):
    def _returns(self, values):
        return np.repeat(values[:, -1:], self.H - 1, axis=1)


def episode_return_credit(S, A, H, seed):
    """Every step credited with the whole episode's ``F(B_{H-1})`` instead of the return-to-go
    ``F(B_{H-1}) - F(B_h)``: the extra ``F(B_h)`` is fixed before ``a_h``, so the estimator stays unbiased."""
    return _EpisodeReturn(S, A, H, seed)


class _ScalarBaseline(SubPOLearner):
    def _advantages(self, G):
        return G - G.mean()


def scalar_baseline(S, A, H, seed):
    """One scalar baseline (the batch mean of ``G`` over episodes and steps) instead of one per step: still
    independent of ``a_h``, so unbiased."""
    return _ScalarBaseline(S, A, H, seed)


class _Uniform:
    def __init__(self, A):
        self.A = A

    def act(self, h, states, visited):
        return np.full((len(states), self.A), 1.0 / self.A)

    def update(self, states, actions, values):
        pass


def uniform_no_learning(S, A, H, seed):
    """Never learns: the uniformly random policy."""
    return _Uniform(A)


_MUT = __name__ + ":"

MUTANTS = [
    Mutant("markov_features", "no history features: the policy sees (h, s) only", _MUT + "markov_features"),
    Mutant("cumulative_credit", "step h credited with sum_{t >= h} F(B_{t+1}) (the SubRL authors' code) "
           "instead of the marginal gains F(B_{H-1}) - F(B_h); it maximises E sum_h F(B_h), not E F(B_{H-1})",
           _MUT + "cumulative_credit"),
    Mutant("immediate_credit", "step h credited with its own marginal gain only (myopic)",
           _MUT + "immediate_credit"),
    Mutant("step_size_too_small", "step size divided by 100", _MUT + "step_size_too_small"),
    Mutant("gradient_descent", "the sign of the update flipped", _MUT + "gradient_descent"),
    Mutant("uniform_no_learning", "never learns: the uniformly random policy", _MUT + "uniform_no_learning"),
    Mutant("step_size_too_large", "batch sum instead of batch mean in the update (step 64 x too large)",
           _MUT + "step_size_too_large"),
    Mutant("no_minus_pi", "softmax score without its -pi term: the update is adv e_a (biased)", _MUT + "no_minus_pi"),
    Mutant("episode_return_credit", "every step credited with the episode's F(B_{H-1}), not the return-to-go",
           _MUT + "episode_return_credit",
           legitimate="F(B_h) is fixed before a_h, so adding it to the credit of step h leaves the gradient "
                      "estimate unbiased (more variance); the learner reaches every claim's threshold"),
    Mutant("scalar_baseline", "one scalar baseline over all steps instead of one per step",
           _MUT + "scalar_baseline",
           legitimate="any baseline that does not depend on a_h keeps the estimator unbiased; a scalar one only "
                      "reduces variance less, and the learner reaches every claim's threshold"),
    Mutant("no_baseline", "REINFORCE without the per-step batch-mean baseline", _MUT + "no_baseline",
           legitimate="the baseline only reduces variance (the estimator stays unbiased); without it the "
                      "learner still reaches every claim's threshold (see the mutation report)"),
]
