"""Empirical sample complexity of a learner on an MDP (the measurement of Laidlaw et al. 2023, Sec. 6).

Two estimators, both returning episodes (multiply by the horizon for the papers' timesteps):

* :func:`doubling_search` for algorithms with a sample-size parameter (GORP's and SQIRL's ``m``): the smallest
  ``m`` in 1, 2, 4, ... for which the returned policy is optimal on at least a ``success`` fraction of the
  seeds; the sample complexity is the episodes one run uses at that ``m``.
* :func:`first_success_quantile` for online learners (Q-learning, UCBVI): per seed, the number of episodes
  until the learner's policy was first optimal (``inf`` if never within the budget); the sample complexity is
  the smallest ``n`` for which at least a ``success`` fraction of the seeds succeeded within ``n`` episodes
  (``success = 1/2``: the median, as in the BRIDGE tables).

:func:`empirical_sample_complexity` runs either kind by name.
"""
from __future__ import annotations

import math

import numpy as np

from ..models.tabular import TabularMDP

__all__ = ["doubling_search", "first_success_quantile", "empirical_sample_complexity", "LEARNERS"]

LEARNERS = ("qlearning", "ucbvi", "gorp", "sqirl")


def _check_success(success):
    if not (0.0 < float(success) <= 1.0):
        raise ValueError(f"success: must lie in (0, 1], got {success!r}")


def doubling_search(run, seeds, *, success: float = 0.5, m_max: int = 2**16):
    """``run(m, seed) -> (optimal: bool, episodes: int)``. Returns ``(m, episodes)`` for the smallest ``m`` in
    1, 2, 4, ..., ``m_max`` whose success fraction over ``seeds`` reaches ``success``, else ``(None, None)``."""
    _check_success(success)
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds: need at least one seed")
    m = 1
    while m <= m_max:
        runs = [run(m, s) for s in seeds]
        if np.mean([ok for ok, _ in runs]) >= success:
            return m, int(runs[0][1])
        m *= 2
    return None, None


def first_success_quantile(first, success: float = 0.5) -> float:
    """Smallest ``n`` such that at least a ``success`` fraction of the per-seed first-success episode counts
    ``first`` are ``<= n`` (``inf`` when fewer seeds ever succeeded)."""
    _check_success(success)
    f = np.sort(np.asarray(first, dtype=np.float64))
    if f.size == 0 or np.any(np.isnan(f)):
        raise ValueError("first: need a non-empty array without NaN")
    need = math.ceil(success * f.size - 1e-12)
    return float(f[need - 1])


def empirical_sample_complexity(mdp: TabularMDP, learner: str, *, seeds, success: float = 0.5,
                                budget: int = 2**16, k: int = 1, **kwargs) -> dict:
    """Episodes ``learner`` needs on ``mdp`` (module docstring). ``budget``: episodes per seed for the online
    learners, the largest ``m`` for GORP/SQIRL; ``k``: lookahead of GORP/SQIRL; ``kwargs`` go to the learner
    (e.g. ``epsilon`` for Q-learning, ``bonus``/``bonus_scale`` for UCBVI). Returns ``{"episodes", "timesteps",
    "per_seed" (online learners), "m" (GORP/SQIRL)}``; ``inf`` when not reached within the budget."""
    if learner not in LEARNERS:
        raise ValueError(f"learner: expected one of {LEARNERS}, got {learner!r}")
    seeds = [int(s) for s in seeds]
    T = mdp.horizon
    if learner in ("qlearning", "ucbvi"):
        if learner == "qlearning":
            from ..algorithms.tabular.qlearning import qlearning

            kwargs.setdefault("stop_at_optimal", True)
            first = [qlearning(mdp, budget, seed=s, **kwargs).first_optimal() for s in seeds]
        else:
            from ..algorithms.tabular.ucbvi import ucbvi

            kwargs.setdefault("stop_at_optimal", True)
            first = [ucbvi(mdp, budget, seed=s, **kwargs).first_optimal() for s in seeds]
        n = first_success_quantile(first, success)
        return {"episodes": n, "timesteps": n * T, "per_seed": first}
    if learner == "gorp":
        from ..algorithms.effective_horizon.gorp import gorp

        def run(m, s):
            r = gorp(mdp, k, m, seed=s)
            return r.optimal, r.episodes
    else:
        from ..algorithms.effective_horizon.sqirl import sqirl

        def run(m, s):
            r = sqirl(mdp, k, m, seed=s, **kwargs)
            return r.optimal, r.episodes
    m, ep = doubling_search(run, seeds, success=success, m_max=budget)
    ep = float("inf") if ep is None else float(ep)
    return {"episodes": ep, "timesteps": ep * T, "m": m}
