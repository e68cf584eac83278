"""Mutants of tabular RCSL for the ``"return_conditioned"`` protocol (see :mod:`proofs_checks.rcsl_bellman`):
``factory(data, seed) -> policy(h, s, g)``, optional ``policy.target`` and ``policy.next_target(g, r)``."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from rltheory.algorithms.rcsl import behaviour_cloning as _bc
from rltheory.algorithms.rcsl import rcsl_tabular
from rltheory.algorithms.rcsl.learners import TabularRCSL

from ..framework import Mutant


class _Wrapped:
    def __init__(self, pol, **attrs):
        self._pol = pol
        for k, v in attrs.items():
            setattr(self, k, v)

    def __call__(self, h, s, g):
        return self._pol(h, s, g)


def _relabelled(data, rtg):
    """A view of ``data`` whose return-to-go labels are ``rtg`` (N, H)."""
    return SimpleNamespace(S=data.S, A=data.A, H=data.H, N=data.N, states=data.states, actions=data.actions,
                           rtg=rtg, returns=data.returns)


def rtg_not_decremented(data, seed):
    """Executes with the target never decremented: ``g_{h+1} = g_h``."""
    return _Wrapped(rcsl_tabular(data), next_target=lambda g, r: g)


def rtg_sign(data, seed):
    """Executes with ``g_{h+1} = g_h + r_h``."""
    return _Wrapped(rcsl_tabular(data), next_target=lambda g, r: g + r)


def episode_return_labels(data, seed):
    """Trained on the episode return ``G_i`` at every step instead of the return-to-go ``g_{i,h}``."""
    return TabularRCSL(_relabelled(data, np.repeat(data.returns[:, None], data.H, axis=1)))


def rtg_off_by_one(data, seed):
    """Trained on ``g_{i,h+1}`` (the return-to-go after step ``h``'s reward; 0 at the last step)."""
    rtg = np.concatenate([data.rtg[:, 1:], np.zeros((data.N, 1))], axis=1)
    return TabularRCSL(_relabelled(data, rtg))


def mean_return_target(data, seed):
    """Conditioned on the dataset's mean return instead of its best."""
    return _Wrapped(rcsl_tabular(data), target=float(data.returns.mean()))


def behaviour_cloning(data, seed):
    """The return input dropped (``pi(a | s, h)``)."""
    return _bc(data)


class _Mode(TabularRCSL):
    """The most frequent action of the empirical ``pi(a | s, h, g)``, deterministically (ties: smallest)."""

    def __call__(self, h, s, g):
        p = super().__call__(h, s, g)
        out = np.zeros(self.A)
        out[int(np.argmax(p))] = 1.0
        return out


def mode_policy(data, seed):
    """RCSL that acts with the mode of its conditional instead of sampling from it."""
    return _Mode(data)


_MUT = __name__ + ":"
MODE_POLICY_REASON = (
    "legitimate: in a deterministic MDP every action recorded at (h, s) with return-to-go g reaches g, so the "
    "mode of pi(a | s, h, g) reaches it as surely as a sample does (the check's MDPs are deterministic); "
    "measured: it passes both claims (numbers in the report of `rltheory check rcsl_bellman --mutants`)")

MUTANTS = [
    Mutant("rtg_not_decremented", "the target is never decremented at execution (g_{h+1} = g_h)",
           _MUT + "rtg_not_decremented"),
    Mutant("rtg_sign", "the target incremented at execution (g_{h+1} = g_h + r_h)", _MUT + "rtg_sign"),
    Mutant("episode_return_labels", "trained on the episode return at every step instead of the "
           "return-to-go", _MUT + "episode_return_labels"),
    Mutant("rtg_off_by_one", "trained on g_{h+1} (the return-to-go after the step's reward)",
           _MUT + "rtg_off_by_one"),
    Mutant("mean_return_target", "conditioned on the dataset's mean return instead of its best",
           _MUT + "mean_return_target"),
    Mutant("behaviour_cloning", "the return input dropped: pi(a | s, h)", _MUT + "behaviour_cloning"),
    Mutant("mode_policy", "acts with the mode of pi(a | s, h, g) instead of sampling it", _MUT + "mode_policy",
           legitimate=MODE_POLICY_REASON),
]
