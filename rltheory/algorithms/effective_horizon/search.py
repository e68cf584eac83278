"""Searches that turn per-seed runs into a sample complexity (Laidlaw et al. 2023, Sec. 6).

:func:`doubling_search` serves the algorithms with a sample-size parameter (GORP's and SQIRL's ``m``),
:func:`first_success_quantile` the online learners; :mod:`.sample_complexity` runs either kind by name. This
module imports no learner, so the learners may use it.
"""
from __future__ import annotations

import math

import numpy as np

from ..._validation import check_real

__all__ = ["doubling_search", "first_success_quantile"]


def _check_success(success):
    check_real("success", success, low=0.0, high=1.0, low_open=True)


def doubling_search(run, seeds, *, success: float = 0.5, m_max: int = 2**16):
    """Smallest ``m`` in ``1, 2, 4, ..., m_max`` at which at least a ``success`` fraction of the runs is optimal.

    ``m* = min { m = 2^j <= m_max : |{seeds s : run(m, s) optimal}| / |seeds| >= success }``.

    Parameters
    ----------
    run : callable
        ``run(m, seed) -> (optimal: bool, episodes: int)``.
    seeds : iterable of int
        Seeds of the runs at each ``m``.
    success : float
        Required fraction of optimal runs, in (0, 1] (1/2: the median).
    m_max : int
        Largest ``m`` tried.

    Returns
    -------
    m : int or None
        ``m*``, or None when no ``m <= m_max`` qualifies.
    episodes : int or None
        Episodes used by the first seed's run at ``m*`` (the sample complexity), or None.
    """
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


def first_success_quantile(first, *, success: float = 0.5) -> float:
    """Sample complexity of an online learner from its per-seed first-success episode counts.

    The smallest ``n`` with ``|{seeds : first <= n}| >= success * |seeds|``, i.e. the ``ceil(success * n_seeds)``-th
    smallest count (the median for ``success = 1/2``).

    Parameters
    ----------
    first : array_like of float
        Per seed, the episode at which the learner's policy was first optimal (``inf`` if never).
    success : float
        Required fraction of seeds, in (0, 1].

    Returns
    -------
    float
        That count, ``inf`` when fewer seeds ever succeeded.
    """
    _check_success(success)
    f = np.sort(np.asarray(first, dtype=np.float64))
    if f.size == 0 or np.any(np.isnan(f)):
        raise ValueError("first: need a non-empty array without NaN")
    need = math.ceil(success * f.size - 1e-12)
    return float(f[need - 1])
