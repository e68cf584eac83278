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
    Mutant("no_baseline", "REINFORCE without the per-step batch-mean baseline", _MUT + "no_baseline",
           legitimate="the baseline only reduces variance (the estimator stays unbiased); without it the "
                      "learner still reaches every claim's threshold (see the mutation report)"),
]
