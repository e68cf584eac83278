"""Mutants of SubPO for the ``"set_function"`` protocol (:mod:`proofs_checks._set_function`).

Each factory ``(S, A, H, seed) -> learner`` is the reference :class:`~proofs_checks._set_function.SubPOLearner`
with one realistic slip.
"""
from __future__ import annotations

import numpy as np

from .._set_function import SubPOLearner


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
