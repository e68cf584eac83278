"""A low-overhead planning path for inner loops that replan many times on one MDP.

:func:`rltheory.solvers.solve` validates its arguments, allocates and freezes its outputs and builds a
:class:`~rltheory.solvers.SolveResult` on every call, a few microseconds: as long as the whole backward
induction on a 20-state MDP. :class:`FiniteHorizonPlanner` binds the transition arrays and the output buffers
once; :meth:`FiniteHorizonPlanner.plan` then calls the Numba kernel directly, optionally with new rewards of
the same shape (the optimistic-planning pattern: reward + bonus changes every episode, P does not).
"""
from __future__ import annotations

import numpy as np

from ..models.tabular import TabularMDP
from . import _kernels as K

__all__ = ["FiniteHorizonPlanner"]


class FiniteHorizonPlanner:
    """Reusable buffers for repeated exact backward induction on one finite-horizon MDP (dense or sparse).

    ``plan(R=None)`` returns ``(V, Q, pi)`` of shapes (H+1, S), (H, S, A), (H, S): views of the planner's
    buffers, overwritten by the next call (copy them to keep them). ``R`` replaces the MDP's rewards for
    this call: a float64 array of shape (S, A) or (H, S, A); its shape, dtype and finiteness are checked
    (``check=False`` skips the finiteness scan for the hottest loops)."""

    __slots__ = ("_mdp", "_P", "_csr", "_R3", "_shared", "H", "S", "A", "V", "Q", "pi")

    def __init__(self, mdp: TabularMDP):
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
        if not mdp.finite_horizon:
            raise ValueError("mdp: FiniteHorizonPlanner needs a finite-horizon MDP")
        self._mdp = mdp
        self.S, self.A, self.H = mdp.S, mdp.A, mdp.horizon
        self._csr = mdp.csr_arrays if mdp.is_sparse else None
        if self._csr is not None and mdp.shares_memory:
            # the planner keeps the kernel past this hand-out check: a private copy of the indices, so that no
            # later change of the caller's memory can make plan() read out of bounds
            self._csr = (self._csr[0], self._csr[1].copy(), self._csr[2])
        self._P = None if mdp.is_sparse else mdp.P4()
        # the views above outlive this hand-out check: plan() checks the caller's owning arrays again (constant
        # time: still read-only, same size, same address), so that a resize frees nothing plan() reads
        self._shared = mdp.shares_memory
        self._R3 = mdp.R3()
        self.V = np.zeros((self.H + 1, self.S))
        self.Q = np.empty((self.H, self.S, self.A))
        self.pi = np.empty((self.H, self.S), dtype=np.int64)

    def plan(self, R=None, *, check: bool = True):
        """Backward induction ``Q_h = R_h + P_h V_{h+1}``, ``V_h = max_a Q_h``, ``V_H = 0``, into the planner's arrays.

        Parameters
        ----------
        R : numpy.ndarray, optional
            float64 rewards ``(S, A)`` or ``(H, S, A)`` (default: the MDP's).
        check : bool
            Reject non-finite rewards.

        Returns
        -------
        V : numpy.ndarray
            ``(H+1, S)``, overwritten by the next call.
        Q : numpy.ndarray
            ``(H, S, A)``, overwritten by the next call.
        pi : numpy.ndarray
            Greedy actions ``(H, S)``, overwritten by the next call.

        Raises
        ------
        TypeError
            ``R`` not a float64 array.
        ValueError
            ``R: ...`` for a wrong shape or a non-finite reward; ``P: ...`` when the MDP keeps the caller's
            kernel without a copy and the array owning it was resized or made writable again since construction.
        """
        if R is None:
            R3 = self._R3
        else:
            if not isinstance(R, np.ndarray) or R.dtype != np.float64:
                raise TypeError("R: expected a float64 numpy array")
            if R.shape == (self.S, self.A):
                R3 = R.reshape((1, self.S, self.A))
            elif R.shape == (self.H, self.S, self.A):
                R3 = R
            else:
                raise ValueError(f"R: expected shape {(self.S, self.A)} or {(self.H, self.S, self.A)}, got {R.shape}")
            if check and not np.isfinite(R).all():
                raise ValueError("R: non-finite reward")
        if self._shared:
            self._mdp._verify_roots()  # ValueError "P: ..." when the kernel's owner was resized or made writable
        if self._csr is None:
            K.backward_induction_dense(self._P, R3, self.H, self.V, self.Q, self.pi)
        else:
            ip, ix, dt = self._csr
            K.backward_induction_sparse(ip, ix, dt, R3, self.H, self.S, self.A, self.V, self.Q, self.pi)
        return self.V, self.Q, self.pi
