"""Prototype of a low-overhead planning path for tiny finite-horizon MDPs (proposal for ``rltheory.solvers``).

``solve(mdp)`` re-validates its arguments, allocates V, Q and pi, freezes them and builds a
``SolveResult`` on every call: a few microseconds, comparable to the whole backward induction at
S=20, A=4, H=20. An inner loop that replans thousands of times on the same shapes can instead bind the
arrays once and call the kernel directly. The outputs are overwritten by the next call.
"""
from __future__ import annotations

import numpy as np

from rltheory.models import TabularMDP
from rltheory.solvers import _kernels as K

__all__ = ["FiniteHorizonWorkspace"]


class FiniteHorizonWorkspace:
    """Reusable buffers for repeated exact backward induction on one finite-horizon (dense) MDP.

    ``ws.solve()`` returns ``(V, Q, pi)`` with shapes (H+1, S), (H, S, A), (H, S): views of the
    workspace, valid until the next call (copy them to keep them).
    """

    __slots__ = ("P4", "R3", "H", "V", "Q", "pi", "_kern")

    def __init__(self, mdp: TabularMDP):
        if not isinstance(mdp, TabularMDP) or not mdp.finite_horizon or mdp.is_sparse:
            raise TypeError("mdp: expected a dense finite-horizon TabularMDP")
        S, A, H = mdp.S, mdp.A, mdp.horizon
        self.P4, self.R3, self.H = mdp.P4(), mdp.R3(), H
        self.V = np.zeros((H + 1, S))
        self.Q = np.empty((H, S, A))
        self.pi = np.empty((H, S), dtype=np.int64)
        self._kern = K.backward_induction_dense

    def solve(self):
        self._kern(self.P4, self.R3, self.H, self.V, self.Q, self.pi)
        return self.V, self.Q, self.pi
