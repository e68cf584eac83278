"""Inverse-CDF sampling helpers shared by the Numba learning loops (plain arrays only)."""
import numpy as np
from numba import njit


@njit(cache=True)
def cumulative_rows(P4):
    """Cumulative sums along the last axis of a (hp, S, A, S) kernel; the last entry of every row is set just
    above 1 so that a uniform draw in [0, 1) always lands in a bucket despite rounding."""
    cdf = np.empty_like(P4)
    hp, S, A, n = P4.shape
    for k in range(hp):
        for s in range(S):
            for a in range(A):
                c = 0.0
                for t in range(n):
                    c += P4[k, s, a, t]
                    cdf[k, s, a, t] = c
                cdf[k, s, a, n - 1] = 1.0 + 1e-12
    return cdf


@njit(cache=True)
def cumulative(p):
    c = np.cumsum(p)
    c[c.shape[0] - 1] = 1.0 + 1e-12
    return c


@njit(cache=True)
def sample(cdf_row, u):
    """Smallest index i with u < cdf_row[i]."""
    n = cdf_row.shape[0]
    for i in range(n):
        if u < cdf_row[i]:
            return i
    return n - 1
