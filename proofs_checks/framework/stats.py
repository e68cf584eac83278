"""Statistics shared by the pass rules: the log-log slope fit and Spearman's rank correlation."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["fit_loglog_slope"]


def fit_loglog_slope(x, ymean) -> tuple[float, float]:
    """OLS fit ``log y = a + b log x``; returns ``(b, a)``. Non-positive means are an error.

    Parameters
    ----------
    x : array_like
        Positive x values.
    ymean : array_like
        Positive mean y values.

    Returns
    -------
    b : float
        The slope: the fitted exponent of ``y ~ e^a x^b``.
    a : float
        The intercept.
    """
    x = np.asarray(x, dtype=np.float64)
    ymean = np.asarray(ymean, dtype=np.float64)
    if np.any(ymean <= 0) or np.any(x <= 0):
        raise ValueError("log-log fit needs positive x and mean y")
    b, a = np.polyfit(np.log(x), np.log(ymean), 1)
    return float(b), float(a)


def _spearman(a, b):
    ra = stats.rankdata(a)
    rb = stats.rankdata(b)
    ra = ra - ra.mean()
    rb = rb - rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / den if den > 0 else float("nan")
