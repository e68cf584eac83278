"""The four bounds on the probability that GORP picks an action sequence: exact binomial, Berry-Esseen,
Bernstein and Bennett (package docstring), and the linear programme over those bounds."""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ...._backup import box_simplex_max
from ._constants import RESOLUTION
from ._special import binom_cdf, binom_quantile, norm_cdf, norm_quantile

@njit(cache=True, error_model="numpy")
def be_beta(v, r, m):
    if v == 0.0:
        return 0.0
    s3 = v ** 1.5
    return min(0.33554 * (r + 0.415 * s3), 0.3328 * (r + 0.429 * s3)) / (s3 * math.sqrt(m))


@njit(cache=True, error_model="numpy")
def binom_window(m, p, lo_x, hi_x, tab):
    """``tab[i] = P(X <= lo_x + i)`` for X ~ Binomial(m, p), 0 < p < 1: one incomplete-beta value, then the pmf
    recurrence ``pmf(x+1) = pmf(x) (m-x)/(x+1) p/(1-p)``."""
    c = binom_cdf(m, p, lo_x)
    x = lo_x
    lpmf = (math.lgamma(m + 1.0) - math.lgamma(x + 1.0) - math.lgamma(m - x + 1.0) + x * math.log(p)
            + (m - x) * math.log1p(-p))
    pmf = math.exp(lpmf)
    ratio = p / (1.0 - p)
    tab[0] = c
    for i in range(1, hi_x - lo_x + 1):
        x = lo_x + i - 1
        pmf *= (m - x) / (x + 1.0) * ratio
        c += pmf
        tab[i] = min(c, 1.0)


@njit(cache=True, error_model="numpy")
def binom_cdf_cached(m, p, x, lo_x, hi_x, tab):
    if x >= lo_x and x <= hi_x:
        return tab[x - lo_x]
    return binom_cdf(m, p, x)


@njit(cache=True, error_model="numpy")
def binomial_bounds(q, m, lo, up):
    n = q.shape[0]
    nq = int(round(1.0 / RESOLUTION)) + 1
    quant = np.empty(nq, dtype=np.int64)
    lo[:] = 0.0
    up[:] = 0.0
    # per action: success probability and a tabulated CDF window of +-40 standard deviations
    ps = np.empty(n)
    wlo = np.zeros(n, dtype=np.int64)
    whi = np.full(n, -1, dtype=np.int64)
    width = 0
    for a in range(n):
        p = min(1.0, max(0.0, q[a]))
        ps[a] = p
        if 0.0 < p < 1.0:
            sd = math.sqrt(m * p * (1.0 - p))
            wlo[a] = max(0, int(math.floor(m * p - 40.0 * sd)) - 10)
            whi[a] = min(m, int(math.ceil(m * p + 40.0 * sd)) + 10)
            if whi[a] - wlo[a] + 1 > 40000:  # too wide to tabulate: exact evaluations instead
                whi[a] = wlo[a] - 1
            width = max(width, whi[a] - wlo[a] + 1)
    tabs = np.zeros((n, max(width, 1)))
    for a in range(n):
        if whi[a] >= wlo[a]:
            binom_window(m, ps[a], wlo[a], whi[a], tabs[a])
    for a in range(n):
        p = ps[a]
        mean = p * m
        sd = math.sqrt(m * p * (1.0 - p))
        for i in range(nq):
            lev = i / 100.0
            if m >= 30:
                x = norm_quantile(mean, sd, lev)
                quant[i] = int(math.floor(max(0.0, min(float(m), x))))
            else:
                quant[i] = binom_quantile(m, p, lev)
        i = 0
        while i < nq - 1:
            ql = 0
            qh = 0
            first = True
            while (first or ql == qh) and i < nq - 1:
                first = False
                ql = quant[i]
                qh = quant[i + 1]
                i += 1
            mass = (binom_cdf_cached(m, p, qh, wlo[a], whi[a], tabs[a])
                    - binom_cdf_cached(m, p, ql, wlo[a], whi[a], tabs[a]))
            pl = mass
            pu = mass
            for b in range(n):
                if b != a:
                    pl *= binom_cdf_cached(m, ps[b], ql, wlo[b], whi[b], tabs[b])
                    pu *= binom_cdf_cached(m, ps[b], qh, wlo[b], whi[b], tabs[b])
            lo[a] += pl
            up[a] += pu


@njit(cache=True, error_model="numpy")
def bernstein_tail(mf, b, v, t):
    """Bernstein: P(mean of m - mu >= t) <= exp(-m t^2 / (2 (v + b t / 3))) (authors: ``bernstein_tail_bound``)."""
    if t <= 0.0:
        return 1.0
    if math.isinf(t):
        return 0.0
    return math.exp(-t * t * mf / 2.0 / (v + b * t / 3.0))


@njit(cache=True, error_model="numpy")
def bernstein_radius(mf, b, v, delta):
    """The deviation at which the Bernstein tail equals ``delta`` (authors: ``inv_bernstein_tail_bound``)."""
    if b == 0.0 or v == 0.0:
        return 0.0
    L = -math.log(delta) if delta > 0.0 else np.inf
    return (1.0 / 3.0) * (b * L / mf + math.sqrt(18.0 * v / mf * L + (b * b) * (L * L) / (mf * mf)))


@njit(cache=True, error_model="numpy")
def quantile_scheme(berry_esseen, q, qo, qw, var, rho, mf, lo, up):
    """Bounds on P(sequence j has the highest mean of m returns) by slicing each sequence's distribution at its
    quantiles 0.01, ..., 1 and bounding the others' CDFs at the slice edges: Berry-Esseen (normal CDF +- beta;
    authors: ``compute_berry_esseen_action_prob_bounds``) or Bernstein (authors:
    ``compute_bernstein_action_prob_bounds``)."""
    n = q.shape[0]
    nlev = int(round(1.0 / RESOLUTION))
    lo[:] = 0.0
    up[:] = 0.0
    a1 = np.empty(n)  # Berry-Esseen: standard deviation of the mean; Bernstein: variance proxy
    a2 = np.empty(n)  # Berry-Esseen: beta;                            Bernstein: range
    for j in range(n):
        if berry_esseen:
            a1[j] = math.sqrt(var[j] / mf)
            a2[j] = be_beta(var[j], rho[j], mf)
        else:
            a1[j] = (qo[j] - q[j]) * (q[j] - qw[j])
            a2[j] = qo[j] - qw[j]
    for j in range(n):
        for i in range(1, nlev + 1):
            lev = i / 100.0
            if berry_esseen:
                x_hi = norm_quantile(q[j], a1[j], min(1.0, lev + a2[j]))
                x_lo = norm_quantile(q[j], a1[j], max(0.0, lev - RESOLUTION - a2[j]))
            else:
                x_hi = q[j] + bernstein_radius(mf, a2[j], a1[j], 1.0 - lev)
                x_lo = q[j] - bernstein_radius(mf, a2[j], a1[j], lev - RESOLUTION)
            pl = RESOLUTION
            pu = RESOLUTION
            for o in range(n):
                if o == j:
                    continue
                if berry_esseen:
                    pu *= min(1.0, norm_cdf(q[o], a1[o], x_hi) + a2[o])
                    pl *= max(0.0, norm_cdf(q[o], a1[o], x_lo - 1e-8) - a2[o])
                else:
                    pu *= bernstein_tail(mf, a2[o], a1[o], q[o] - x_hi)
                    pl *= 1.0 - bernstein_tail(mf, a2[o], a1[o], x_lo - q[o])
            lo[j] += pl
            up[j] += pu


@njit(cache=True, error_model="numpy")
def bennett_tail(mf, b, v, t):
    if t <= 0.0:
        return 1.0
    if v == 0.0:
        return 0.0
    u = b * t / v
    h = (1.0 + u) * math.log1p(u) - u
    return math.exp(-mf * v / (b * b) * h)


@njit(cache=True, error_model="numpy")
def bennett_bounds(q, qo, qw, mf, prec, lo, up):
    n = q.shape[0]
    qmax = q.max()
    second = -np.inf
    for j in range(n):
        if q[j] < qmax - prec and q[j] > second:
            second = q[j]
    lo[:] = 0.0
    if second == -np.inf:
        up[:] = 1.0
        return
    thr = (qmax + second) / 2.0
    all_below = 1.0
    for j in range(n):
        if q[j] == qmax:
            all_below *= bennett_tail(mf, qo[j] - qw[j], (q[j] - qw[j]) * (qo[j] - qw[j]), q[j] - thr)
    for j in range(n):
        above = bennett_tail(mf, qo[j] - qw[j], (q[j] - qw[j]) * (qo[j] - q[j]), thr - q[j])
        up[j] = 1.0 - (1.0 - above) * (1.0 - all_below)


@njit(cache=True, error_model="numpy")
def worst_case_mix(c, lo, up):
    """max sum_j p_j c_j subject to lo <= p <= up, sum p = 1 (the authors' ``max_failure_prob``); if the
    constraints are infeasible (sum lo > 1), the trivially valid ``max_j c_j``."""
    slack = 1.0 - lo.sum()
    if slack < -1e-12:
        return c.max()
    return box_simplex_max(c, lo, up, np.argsort(-c, kind="mergesort"), c.shape[0], slack)
