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

import warnings

from ...models.tabular import TabularMDP
from ..tabular.qlearning import qlearning
from ..tabular.ucbvi import ucbvi
from .gorp import gorp
from .search import doubling_search, first_success_quantile
from .sqirl import sqirl

__all__ = ["doubling_search", "first_success_quantile", "empirical_sample_complexity", "LEARNERS"]

LEARNERS = ("qlearning", "ucbvi", "gorp", "sqirl")


def empirical_sample_complexity(mdp: TabularMDP, learner: str, *, seeds, success: float = 0.5,
                                K: int = 2**16, k: int = 1, **kwargs) -> dict:
    """Episodes ``learner`` needs on ``mdp`` (module docstring), by name.

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon (deterministic for GORP).
    learner : {"qlearning", "ucbvi", "gorp", "sqirl"}
        One of :data:`LEARNERS`.
    seeds : iterable of int
        Seeds of the runs.
    success : float
        Required fraction of successful seeds, in (0, 1].
    K : int
        Episode budget per seed of the online learners; the largest ``m`` for GORP / SQIRL. (``budget=``, its
        former name, still works for one release with a :class:`DeprecationWarning`.)
    k : int
        Lookahead of GORP / SQIRL.
    **kwargs
        Passed to the learner (e.g. ``epsilon`` for Q-learning, ``bonus`` / ``bonus_scale`` for UCBVI).

    Returns
    -------
    dict
        ``episodes`` and ``timesteps = episodes * T`` (``inf`` when not reached within the budget), plus
        ``per_seed`` (online learners: first-success episodes) or ``m`` (GORP / SQIRL).
    """
    if learner not in LEARNERS:
        raise ValueError(f"learner: expected one of {LEARNERS}, got {learner!r}")
    if "budget" in kwargs:
        warnings.warn("budget: renamed K (empirical_sample_complexity)", DeprecationWarning, stacklevel=2)
        K = kwargs.pop("budget")
    seeds = [int(s) for s in seeds]
    T = mdp.horizon
    if learner in ("qlearning", "ucbvi"):
        if learner == "qlearning":
            kwargs.setdefault("stop_at_optimal", True)
            first = [qlearning(mdp, K, seed=s, **kwargs).first_optimal() for s in seeds]
        else:
            kwargs.setdefault("stop_at_optimal", True)
            first = [ucbvi(mdp, K, seed=s, **kwargs).first_optimal() for s in seeds]
        n = first_success_quantile(first, success=success)
        return {"episodes": n, "timesteps": n * T, "per_seed": first}
    if learner == "gorp":
        def run(m, s):
            r = gorp(mdp, k, m, seed=s)
            return r.optimal, r.episodes
    else:
        def run(m, s):
            r = sqirl(mdp, k, m, seed=s, **kwargs)
            return r.optimal, r.episodes
    m, ep = doubling_search(run, seeds, success=success, m_max=K)
    ep = float("inf") if ep is None else float(ep)
    return {"episodes": ep, "timesteps": ep * T, "m": m}
