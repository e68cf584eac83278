"""Mutants of the ``lmdp_regret`` check: realistic bugs of the hindsight-LMDP learner, written to the
``lmdp_hindsight`` protocol (:mod:`rltheory.algorithms.lmdp.protocol`).

Each factory has the protocol's signature ``(M, S, A, H, K, seed, rewards, Gamma)`` and changes one thing of the
check's reference learner (:func:`proofs_checks.lmdp_regret.reference_learner`: value-optimistic,
``c1 = 0.5``, ``c2 = 0.05``). Which claim kills each one is measured by ``rltheory check lmdp_regret --mutants``
(and the slow test ``tests/test_mutants.py``); the catalogue ``MUTANTS`` at the end says
why each is a bug.
"""
from __future__ import annotations

import numpy as np

from rltheory.algorithms.lmdp.hindsight import SOLVERS
from rltheory.algorithms.lmdp.protocol import HindsightLearner
from rltheory.solvers.lmdp import plan_lmdp

from ..framework import Mutant
from .settings import C1, C2



def _learner(M, S, A, H, K, seed, rewards, Gamma, cls=HindsightLearner, **kw):
    opts = {"solver": "value", "c1": C1, "c2": C2, **kw}
    return cls(M, S, A, H, K, seed, rewards, Gamma, **opts)


def no_variance(M, S, A, H, K, seed, rewards, Gamma):
    """The variance term of the bonus dropped: ``c2 Gamma iota / N`` only (``c1 = 0``)."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, c1=0.0)


def bonus_tiny(M, S, A, H, K, seed, rewards, Gamma):
    """Both bonus scales x0.01 (a units slip)."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, c1=C1 * 0.01, c2=C2 * 0.01)


def bonus_huge(M, S, A, H, K, seed, rewards, Gamma):
    """Both bonus scales x100."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, c1=C1 * 100, c2=C2 * 100)


def bonus_off(M, S, A, H, K, seed, rewards, Gamma):
    """No bonus (``c1 = c2 = 0``), unvisited pairs still optimistic: stops exploring after one visit."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, c1=0.0, c2=0.0)


def hoeffding(M, S, A, H, K, seed, rewards, Gamma):
    """Hoeffding bonus ``c1 sqrt(S iota / N)`` per step (value range 1 per step, H-scaled over an episode)
    instead of the variance-aware one, at the same scale ``c1 = 0.5``."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, solver="hoeffding")


def hoeffding_small(M, S, A, H, K, seed, rewards, Gamma):
    """The Hoeffding bonus at a 10x smaller scale (``c1 = 0.05``): small enough to learn at small H, its
    per-step bonuses still add up over H."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, solver="hoeffding", c1=C1 * 0.1)


class _OffByOneCounts(HindsightLearner):
    """``Phat = N(s, a, s') / (N(s, a) + 1)`` (the "+1 to avoid dividing by zero" slip): rows sum to
    ``N / (N + 1)``, so the planner loses probability mass (and value) on rarely visited pairs."""

    def planning_model(self):
        known, _, belief, counts = super().planning_model()
        Phat = np.where(known[..., None], self.Nsas / (self.N + 1.0)[..., None], 0.0)
        return known, Phat, belief, counts


def count_off_by_one(M, S, A, H, K, seed, rewards, Gamma):
    """Empirical transitions divided by ``N + 1`` instead of ``N``."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, cls=_OffByOneCounts)


class _TransitionShift(HindsightLearner):
    """Counts the step ``(s_{h+1}, a_h) -> s_{h+2}`` instead of ``(s_h, a_h) -> s_{h+1}`` (an off-by-one in the
    episode index; the last step becomes a self-loop of ``s_H``, and ``s_2`` is counted as the initial state)."""

    def update(self, states, actions, rewards, context):
        states = np.asarray(states, dtype=np.int64)
        super().update(np.append(states[1:], states[-1]), actions, rewards, context)


def transition_shift(M, S, A, H, K, seed, rewards, Gamma):
    """Off-by-one in the episode index of the counts (action ``a_h`` paired with state ``s_{h+1}``)."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, cls=_TransitionShift)


class _PessimisticUnvisited(HindsightLearner):
    """Unvisited pairs valued 0 instead of ``vmax_h`` (the bonuses of visited pairs kept)."""

    def make_plan(self):
        known, Phat, belief, counts = self.planning_model()
        return plan_lmdp(Phat, self.R, belief, self.H, known=known, counts=counts, backup=SOLVERS[self.solver],
                         c1=self.c1, c2=self.c2, iota=self.iota, Gamma=self.Gamma, vmax=np.zeros(self.H + 1),
                         max_nodes=self.max_nodes)


def unvisited_pessimistic(M, S, A, H, K, seed, rewards, Gamma):
    """Unvisited ``(m, s, a)`` worth 0 in planning (not optimistic), bonuses kept."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, cls=_PessimisticUnvisited)


class _ContextIgnored(HindsightLearner):
    """Every episode is stored under context 0: the revealed context is dropped."""

    def update(self, states, actions, rewards, context):
        super().update(states, actions, rewards, 0)


def context_ignored(M, S, A, H, K, seed, rewards, Gamma):
    """``update`` ignores the revealed context (all data pooled into one context's counts)."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, cls=_ContextIgnored)


class _MarkovOnly(HindsightLearner):
    """Plans on beliefs but acts with the plan's Markov fallback ``fallback[h, s]`` (the belief-weighted
    optimistic per-context DP): the in-episode history is never used."""

    def policy(self):
        return super().policy().fallback


def history_ignored(M, S, A, H, K, seed, rewards, Gamma):
    """Acts with a Markov policy ``(H, S)`` (no in-episode belief update), reports the belief plan's value."""
    return _learner(M, S, A, H, K, seed, rewards, Gamma, cls=_MarkovOnly)


class _Uniform:
    """Never learns: the uniform random Markov policy."""

    def __init__(self, M, S, A, H, K, seed, rewards, Gamma):
        self.pi = np.full((H, S, A), 1.0 / A)

    def policy(self):
        return self.pi

    def update(self, states, actions, rewards, context):
        pass


def uniform(M, S, A, H, K, seed, rewards, Gamma):
    """Uniform random actions, no learning (reports no planning value)."""
    return _Uniform(M, S, A, H, K, seed, rewards, Gamma)


_MUT = __name__ + ":"

#: realistic bugs of the learner; each must make a learner claim fail
MUTANTS = [
    Mutant("no_variance", "bonus without its variance term: c2 Gamma iota / N only (c1 = 0)", _MUT + "no_variance"),
    Mutant("bonus_x0.01", "both bonus scales x0.01", _MUT + "bonus_tiny"),
    Mutant("bonus_x100", "both bonus scales x100 (saturated at vmax: every action ties)", _MUT + "bonus_huge"),
    Mutant("bonus_off", "no bonus, unvisited pairs still optimistic: stops exploring after one visit",
           _MUT + "bonus_off"),
    Mutant("hoeffding", "per-step Hoeffding bonus c1 sqrt(S iota / N) (H-scaled) instead of the variance-aware one, "
           "same scale c1 = 0.5", _MUT + "hoeffding"),
    Mutant("hoeffding_x0.1", "the Hoeffding bonus at a 10x smaller scale (c1 = 0.05): learns at small H, grows with H",
           _MUT + "hoeffding_small"),
    Mutant("transition_shift", "off-by-one in the episode index of the counts: a_h paired with s_{h+1} "
           "(s_{h+1}, a_h) -> s_{h+2}", _MUT + "transition_shift"),
    Mutant("count_off_by_one", "Phat = N(s, a, s') / (N(s, a) + 1): rows sum to N / (N + 1), a pessimistic shift of "
           "at most vmax / (N + 1) per backup (below the c2 Gamma iota / N bonus term, so optimism survives; the M "
           "sweep, where counts per context are smallest, shows its regret growing faster in M than the bound's "
           "sqrt(Var* M S iota))", _MUT + "count_off_by_one"),
    Mutant("unvisited_pessimistic", "unvisited pairs worth 0 in planning (not optimistic), bonuses kept",
           _MUT + "unvisited_pessimistic"),
    Mutant("context_ignored", "update() drops the revealed context: every episode counted under context 0",
           _MUT + "context_ignored"),
    Mutant("history_ignored", "acts with the plan's Markov fallback fallback[h, s]: no in-episode belief",
           _MUT + "history_ignored"),
    Mutant("uniform", "uniform random actions, no learning", _MUT + "uniform"),
]
