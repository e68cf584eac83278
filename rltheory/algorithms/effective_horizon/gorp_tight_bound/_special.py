"""Special functions in Numba: normal quantile (Wichura AS 241) and CDF, regularised incomplete beta, binomial CDF
and quantile. Private to :mod:`rltheory.algorithms.effective_horizon.gorp_tight_bound`."""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._constants import INV_SQRT2

@njit(cache=True, error_model="numpy")
def ndtri(p):
    """Standard normal quantile (Wichura 1988, AS 241, double precision); +-inf at 1 and 0."""
    if p <= 0.0:
        return -np.inf if p == 0.0 else np.nan
    if p >= 1.0:
        return np.inf if p == 1.0 else np.nan
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
                   + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r
                + 133.14166789178437745) * r + 3.387132872796366608)
        den = (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
                   + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r
                + 42.313330701600911252) * r + 1.0)
        return q * num / den
    r = p if q < 0 else 1.0 - p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r -= 1.6
        num = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
                   + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r
                + 4.6303378461565452959) * r + 1.42343711074968357734)
        den = (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                   + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r
                + 2.05319162663775882187) * r + 1.0)
    else:
        r -= 5.0
        num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
                   + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r
                + 5.4637849111641143699) * r + 6.6579046435011037772)
        den = (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                   + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r
                + 0.59983220655588793769) * r + 1.0)
    x = num / den
    return -x if q < 0 else x


@njit(cache=True, error_model="numpy")
def norm_quantile(mu, sd, p):
    """Quantile of N(mu, sd^2); for sd = 0 the point mass at mu (with +-inf at p = 1, 0)."""
    z = ndtri(p)
    if sd == 0.0 and math.isinf(z):
        return mu + z
    return mu + sd * z


@njit(cache=True, error_model="numpy")
def norm_cdf(mu, sd, x):
    """CDF of N(mu, sd^2) at x; for sd = 0 the point mass (value 1 at x = mu)."""
    if sd == 0.0:
        if x >= mu:
            return 1.0
        return 0.0
    z = (x - mu) / sd
    return math.erfc(-z * INV_SQRT2) / 2.0


@njit(cache=True, error_model="numpy")
def betacf(a, b, x):
    """Continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    h = d
    for i in range(1, 100000):
        m2 = 2.0 * i
        aa = i * (b - i) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        h *= d * c
        aa = -(a + i) * (qab + i) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h


@njit(cache=True, error_model="numpy")
def betainc(a, b, x):
    """Regularised incomplete beta I_x(a, b) for a, b > 0, 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * betacf(a, b, x) / a
    return 1.0 - bt * betacf(b, a, 1.0 - x) / b


@njit(cache=True, error_model="numpy")
def binom_cdf(n, p, k):
    """P(X <= k) for X ~ Binomial(n, p) (authors: ``binomcdf``, Boost)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    return betainc(float(n - k), float(k + 1), 1.0 - p)


@njit(cache=True, error_model="numpy")
def binom_quantile(n, p, q):
    """Binomial quantile with Boost's default outward rounding (authors: ``binominvcdf``): 0 if ``q`` is at most
    P(X = 0); for ``q <= 1/2`` the largest x with CDF(x) <= q, above 1/2 the smallest x with CDF(x) >= q."""
    if p <= 0.0 or q <= 0.0:
        return 0
    if p >= 1.0 or q >= 1.0:
        return n
    if q <= binom_cdf(n, p, 0):
        return 0
    if q <= 0.5:
        x = 0
        while x + 1 <= n and binom_cdf(n, p, x + 1) <= q:
            x += 1
        return x
    x = 0
    while x < n and binom_cdf(n, p, x) < q:
        x += 1
    return x
