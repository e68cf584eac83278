"""Tabular Q-learning for finite-horizon MDPs with epsilon-greedy exploration, whole loop in Numba.

A reference learner for the effective-horizon experiments (Laidlaw et al. 2023 compare bounds with the sample
complexity of practical, randomly exploring learners). Update after each transition of episode k
(per-step tables, as in Jin, Allen-Zhu, Bubeck & Jordan, NeurIPS 2018, Alg. 1 without the bonus):

``Q_h(s,a) <- (1 - alpha_n) Q_h(s,a) + alpha_n (r + max_{a'} Q_{h+1}(s', a'))``, ``alpha_n = (H + 1) / (H + n)``,

``n`` the number of visits of ``(h, s, a)`` so far, ``Q_H = 0``, ``Q`` initialised to ``q_init``. Actions are
epsilon-greedy with uniform tie-breaking among argmax actions (so an untouched table explores uniformly).

After the episodes listed in ``checkpoints`` the greedy policy (first argmax) is evaluated exactly on the true
model; :func:`qlearning` returns its value at each checkpoint. ``stop_at_optimal=True`` ends the run at the first
checkpoint whose greedy value is within ``OPTIMAL_TOL`` of ``V*`` (later checkpoints stay NaN): the episodes before
the stop draw the same random numbers, so :meth:`QLearningResult.first_optimal` is the same as without it.
Randomness: Numba's generator seeded with ``np.random.seed(seed)`` inside the kernel (reproducible for a seed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._validation import check_int, check_probability, check_real, check_seed, check_type
from ...models.tabular import TabularMDP
from ...solvers.api import solve
from ..result import LearnerResult
from ._kernels import qlearning_loop
from .ucbvi import OPTIMAL_TOL

__all__ = ["QLearningResult", "qlearning", "geometric_checkpoints"]


def geometric_checkpoints(K: int, *, per_doubling: int = 4) -> np.ndarray:
    """Episode counts 1, 2, ... up to ``K`` (every count up to ``per_doubling``, then ``per_doubling`` per
    doubling, always including ``K``).

    Parameters
    ----------
    K : int
        Last episode count.
    per_doubling : int
        Counts per doubling of the episode count.

    Returns
    -------
    ndarray of int
        Sorted, unique counts in ``[1, K]``.
    """
    K = check_int("K", K, low=1)
    pts = np.unique(np.round(np.logspace(0, np.log2(K), int(np.ceil(np.log2(K) * per_doubling)) + 1, base=2.0)))
    pts = np.unique(np.concatenate([pts, [K]])).astype(np.int64)
    return pts[(pts >= 1) & (pts <= K)]


@dataclass(frozen=True)
class QLearningResult(LearnerResult):
    """Exact value of the greedy policy after ``checkpoints[i]`` episodes: ``values[i]``; ``v_star``.
    ``method``, ``episodes`` (the last checkpoint reached when the run stopped at an optimal one, else ``K``) and
    ``seed``: see :class:`~rltheory.algorithms.result.LearnerResult`."""

    checkpoints: np.ndarray
    values: np.ndarray
    v_star: float
    epsilon: float
    stopped_at_optimal: bool = False

    def first_optimal(self, tol: float = OPTIMAL_TOL) -> float:
        """Episodes until the greedy policy was first optimal (within ``tol``), ``inf`` if never. After
        ``stop_at_optimal`` only ``tol >= OPTIMAL_TOL`` is answerable.

        Parameters
        ----------
        tol : float
            Optimality tolerance on ``V* - V^pi``.

        Returns
        -------
        float
            The first checkpoint with ``values >= v_star - tol``, or ``inf``.
        """
        if self.stopped_at_optimal and tol < OPTIMAL_TOL:
            raise ValueError(f"tol: the run stopped at a greedy value >= V* - {OPTIMAL_TOL:g}; got tol={tol!r}")
        hit = np.flatnonzero(self.values >= self.v_star - tol)
        return float(self.checkpoints[hit[0]]) if hit.size else float("inf")


def qlearning(mdp: TabularMDP, K: int, *, seed: int, epsilon: float = 0.1, q_init: float = 0.0,
              checkpoints=None, stop_at_optimal: bool = False) -> QLearningResult:
    """Run epsilon-greedy tabular Q-learning for ``K`` episodes (module docstring); checkpoints default to
    :func:`geometric_checkpoints`; ``stop_at_optimal``: end at the first optimal checkpoint (module docstring).

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    K : int
        Episodes.
    seed : int
        Seed in ``[0, 2^32)``.
    epsilon : float
        Exploration probability in [0, 1].
    q_init : float
        Initial Q-values.
    checkpoints : sequence of int, optional
        Episode counts at which the greedy policy is evaluated exactly.
    stop_at_optimal : bool
        End the run at the first checkpoint whose greedy value is within ``OPTIMAL_TOL`` of ``V*``.

    Returns
    -------
    QLearningResult
    """
    check_type("mdp", mdp, TabularMDP)
    if not mdp.finite_horizon:
        raise ValueError("mdp: Q-learning here is for finite-horizon MDPs (horizon=H)")
    K = check_int("K", K, low=1)
    epsilon = check_probability("epsilon", epsilon)
    q_init = check_real("q_init", q_init)
    seed = check_seed("seed", seed, high=2**32 - 1)
    check_type("stop_at_optimal", stop_at_optimal, bool)
    cps = geometric_checkpoints(int(K)) if checkpoints is None else np.unique(np.asarray(checkpoints, dtype=np.int64))
    if cps.size == 0 or cps[0] < 1 or cps[-1] > K:
        raise ValueError(f"checkpoints: must be episode counts in [1, K={K}]")
    values = np.full(cps.size, np.nan)
    v_star = float(mdp.mu0 @ solve(mdp).V[0])
    qlearning_loop(np.ascontiguousarray(mdp.P4()), np.ascontiguousarray(mdp.R3()), np.ascontiguousarray(mdp.mu0),
                   mdp.horizon, int(K), float(epsilon), float(q_init), int(seed), cps, values,
                   v_star - OPTIMAL_TOL if stop_at_optimal else np.inf)
    hit = np.flatnonzero(values >= v_star - OPTIMAL_TOL) if stop_at_optimal else np.empty(0, dtype=np.int64)
    episodes = int(cps[hit[0]]) if hit.size else int(K)
    return QLearningResult(cps, values, v_star, float(epsilon), bool(stop_at_optimal), method="qlearning",
                           episodes=episodes, seed=int(seed))
