"""Tighter GORP sample-complexity bounds from the random policy's return distribution (Laidlaw, Russell & Dragan,
NeurIPS 2023, Appendix C).

The simple bound (:func:`rltheory.analysis.effective_horizon.simple_effective_horizon`, Thm 5.4) sizes the number
``m`` of rollouts per action sequence with one Bernstein-type inequality per state. Appendix C instead bounds the
probability that GORP (lookahead ``k``, ``m`` rollouts per sequence; :func:`rltheory.algorithms.effective_horizon.gorp`)
ends with a sub-optimal policy, recursively over the states an optimal policy can visit, and searches the
smallest ``m`` for which that probability is at most 1/2. This module is our own implementation of that
computation; the definitions were read from the authors' Julia code (``EffectiveHorizon.jl``,
``gorp_bounds.jl`` and ``compute_gorp_bounds.jl``; ``distributional_value_iteration.jl`` for the return
distribution). Deterministic, time-homogeneous finite-horizon MDPs only; time steps ``t = 0..T-1``.

**Failure recursion** (authors: ``compute_failure_prob``). Let ``O`` be the pairs ``(t, s)`` reached from the
start by actions with ``Q*_t(s,a) >= V*_t(s) - precision``. Backwards in ``t``, for ``(t, s)`` in ``O``:
``f(a) = 1`` for a sub-optimal ``a``, ``0`` for an optimal ``a`` at ``t = T-1``, else ``F_{t+1}(s')``. GORP at
``(t, s)`` picks the sequence ``a_{1:k}`` with the highest mean of ``m`` returns; each return is the rewards of
the sequence plus a uniformly random continuation, with mean ``Q^rand`` of the sequence and the variance / third
absolute central moment of the random return from the state the sequence leads to (sequences running past the
horizon just sum their rewards; authors: ``get_k_step_qs``). With ``p_j`` the probability that sequence ``j`` is
picked and ``l_j <= p_j <= u_j`` bounds on it,
``F_t(s) = max { sum_j p_j f(first action of j) : l <= p <= u, sum_j p_j = 1 }`` — a small linear programme
(the "optimisation per k"; authors: ``max_failure_prob`` with SCIP; here solved exactly by filling the slack
``1 - sum l`` into the largest ``f`` first). As in the authors' code, the programme is solved only when
``sum u f - sum l f > 0.01``; otherwise ``min(sum_j u_j f_j, max_a f(a))`` is used. Before that, if
``sum u < 1`` the deficit is added to every ``u_j`` (capped at 1). ``F_t(s)`` is the smallest value over the
applicable bounds on ``p``:

* **binomial** (authors: ``compute_binomial_action_prob_bounds``; only when every reward is 0 or the largest
  optimal value, ``k = 1`` and ``m <= 10^6``): returns are then 0 or 1 after dividing by that value, so the
  number of successes of action ``a`` is Binomial(m, Q^rand(a)). Its support is cut at the quantiles
  ``0, 0.01, ..., 1`` (normal approximation ``floor(clip(m p + sqrt(m p (1-p)) z_q, 0, m))`` for ``m >= 30``,
  exact binomial quantiles with Boost's outward rounding below); for each cell ``(lo, hi]``,
  ``P(lo < X_a <= hi) prod_b P(X_b <= lo)`` and ``... prod_b P(X_b <= hi)`` bound the probability that ``a``
  wins from below and above. Cumulative probabilities are exact (regularised incomplete beta).
* **Berry-Esseen** (authors: ``compute_berry_esseen_action_prob_bounds``; needs the return moments and at most
  100 sequences): the mean of ``m`` returns has a CDF within
  ``beta = min(0.33554 (rho + 0.415 s^3), 0.3328 (rho + 0.429 s^3)) / (s^3 sqrt m)`` of the normal one
  (Shevtsova's constants; ``s^2`` variance, ``rho`` third absolute central moment); the sequence's mass between
  its ``q - 0.01`` and ``q`` quantiles (``q = 0.01..1``) is paired with the other sequences' normal CDFs
  shifted by their ``beta``.
* **Bernstein** (authors: ``compute_bernstein_action_prob_bounds``; at most 100 sequences): the same
  quantile scheme with Bernstein's tail ``exp(-m t^2 / (2 (v + b t / 3)))``, ``v = (Q* - Q^rand)(Q^rand - Q^worst)``
  (Bhatia-Davis) and ``b = Q* - Q^worst`` of each sequence.
* **Bennett** (authors: ``compute_bennett_action_prob_bounds``; always): with the threshold halfway between the
  highest ``Q^rand`` and the highest one below it by more than ``precision``,
  ``u_j = 1 - (1 - B_j)(1 - prod_{max} B_max)``, ``B`` Bennett tails ``exp(-m v / b^2 h(b t / v))``,
  ``h(u) = (1+u) log(1+u) - u``; ``l_j = 0``. (The authors' variance proxy for the maximal sequences is
  ``(Q^rand - Q^worst)(Q* - Q^worst)``, for the others ``(Q^rand - Q^worst)(Q* - Q^rand)``; kept as is.)

Two shortcuts of ours, both conservative: a state whose actions' ``f`` differ by at most ``SKIP_TOL = 1e-12`` gets
``max_a f(a)`` without the schemes, and the schemes stop once one reaches ``min_a f(a)`` (no scheme can go lower);
the result differs from the authors' by at most ``T * 1e-12``. Binomial CDFs are tabulated over +-40 standard
deviations by the pmf recurrence from one incomplete-beta value (exact evaluations outside).

**Search over m** (authors: ``compute_gorp_bounds.jl``): if ``F_0(s_0) <= 1/2`` at ``m = 10^100``, shrink
``[m_min, m_max] = [0, 10^100]`` by ``m_mid = floor(sqrt(m_max (m_min + 1)))`` (with the 256-bit rounding of the
authors' big-float arithmetic) while ``m_max > m_min + 1`` and ``(m_max - m_min) / m_max > 0.01``; ``m_k = m_max``.
Reported per k: ``H_k = k + log_A m_k``, the authors' sample complexity ``T^2 A^k m_k`` (time steps: ``T`` decisions,
``A^k m_k`` rollouts each, ``T`` steps per rollout) and the episode budget ``T A^k m_k`` (what
:func:`~rltheory.algorithms.effective_horizon.gorp` counts). The tight effective horizon is ``min_k H_k`` (not
capped at ``T``). ``k`` runs to ``floor(log_A 1000)`` unless ``k_max`` is given (the authors' default).

**Units** (authors: ``compute_gorp_bounds.jl``, ``MDPForAnalysis``). Rewards are multiplied by
``round(1 / r_min)`` when the smallest positive reward ``r_min`` is below 1, and, when every reward is 0 or the
largest optimal value ``V_max`` (over pairs reachable from the start), divided by ``V_max``; ``precision`` applies
in those units. The return moments are computed in the same units (our choice, so that the Berry-Esseen bound is
valid); the authors computed them once from the raw rewards, which differs when a scale factor is not 1 —
``authors_moment_units=True`` reproduces that (on the published MiniGrid/Freeway/Maze files it changes nothing
we could measure, see the tests).

**Return distribution** (authors: ``distributional_value_iteration``): exact distribution of the random
policy's return from each ``(t, s)``, atoms closer than ``precision`` merged (we keep the probability-weighted
mean of merged atoms, so the mean is exact; the authors keep the last inserted value). If a layer needs more than
``max_atoms`` atoms the Berry-Esseen bound is skipped for the MDP (reported in ``moments``).

Numerical functions: the normal quantile is Wichura's AS 241, the normal CDF ``erfc(-z/sqrt 2)/2``; a normal of
zero variance is the point mass (CDF 1 at its mean, quantiles ``+-inf`` at 0 and 1). The Julia code uses
``erfcinv`` for the quantile, so the two differ in the last bits; the search decisions at 1/2 are not affected
on the published files (tests).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from numba import njit

from ..models.tabular import TabularMDP
from ..solvers._kernels import box_simplex_max
from . import stochastic_horizon as _sh
from .effective_horizon import PRECISION, deterministic_arrays

__all__ = ["TightGORPBound", "ReturnMoments", "return_moments", "gorp_failure_probability", "tight_gorp_bound"]

RESOLUTION = 0.01          # quantile grid of the binomial / Berry-Esseen / Bernstein schemes
LP_SLACK = 0.01            # solve the linear programme only when the cheap bounds differ by more
BINOMIAL_M_MAX = 1_000_000  # the exact-binomial scheme is used up to this m
MAX_SEQS_QUANTILE = 100     # Berry-Esseen and Bernstein only for at most this many action sequences
M_START = 10**100
#: states whose actions' failure bounds differ by at most this get the largest of them (saves the schemes)
SKIP_TOL = 1e-12
_INV_SQRT2 = 0.7071067811865476

# method codes
_BINOMIAL, _BERRY_ESSEEN, _BERNSTEIN, _BENNETT = 0, 1, 2, 3
METHODS = ("binomial", "berry_esseen", "bernstein", "bennett")


# ------------------------------------------------------------------------------------------- special functions

@njit(cache=True, error_model="numpy")
def _ndtri(p):
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
def _norm_quantile(mu, sd, p):
    """Quantile of N(mu, sd^2); for sd = 0 the point mass at mu (with +-inf at p = 1, 0)."""
    z = _ndtri(p)
    if sd == 0.0 and math.isinf(z):
        return mu + z
    return mu + sd * z


@njit(cache=True, error_model="numpy")
def _norm_cdf(mu, sd, x):
    """CDF of N(mu, sd^2) at x; for sd = 0 the point mass (value 1 at x = mu)."""
    if sd == 0.0:
        if x >= mu:
            return 1.0
        return 0.0
    z = (x - mu) / sd
    return math.erfc(-z * _INV_SQRT2) / 2.0


@njit(cache=True, error_model="numpy")
def _betacf(a, b, x):
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
def _betainc(a, b, x):
    """Regularised incomplete beta I_x(a, b) for a, b > 0, 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, 1.0 - x) / b


@njit(cache=True, error_model="numpy")
def _binom_cdf(n, p, k):
    """P(X <= k) for X ~ Binomial(n, p) (authors: ``binomcdf``, Boost)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    return _betainc(float(n - k), float(k + 1), 1.0 - p)


@njit(cache=True, error_model="numpy")
def _binom_quantile(n, p, q):
    """Binomial quantile with Boost's default outward rounding (authors: ``binominvcdf``): 0 if ``q`` is at most
    P(X = 0); for ``q <= 1/2`` the largest x with CDF(x) <= q, above 1/2 the smallest x with CDF(x) >= q."""
    if p <= 0.0 or q <= 0.0:
        return 0
    if p >= 1.0 or q >= 1.0:
        return n
    if q <= _binom_cdf(n, p, 0):
        return 0
    if q <= 0.5:
        x = 0
        while x + 1 <= n and _binom_cdf(n, p, x + 1) <= q:
            x += 1
        return x
    x = 0
    while x < n and _binom_cdf(n, p, x) < q:
        x += 1
    return x


# ------------------------------------------------------------------------------------------- return moments

@njit(cache=True, error_model="numpy")
def _moments_kernel(nxt, R, T, tol, max_atoms):
    """Variance and third absolute central moment of the uniformly random policy's return from each (t, s),
    t = 0..T (row T: zero). Returns (var, rho, ok); ok is False if a layer needs more than max_atoms atoms."""
    S, A = nxt.shape
    var = np.zeros((T + 1, S))
    rho = np.zeros((T + 1, S))
    ptr = np.arange(S + 1)
    vals = np.zeros(S)
    probs = np.ones(S)
    for t in range(T - 1, -1, -1):
        total = 0
        for s in range(S):
            for a in range(A):
                n = nxt[s, a]
                total += ptr[n + 1] - ptr[n]
        if total > max_atoms:
            return var, rho, False
        nptr = np.zeros(S + 1, dtype=np.int64)
        nvals = np.empty(total)
        nprobs = np.empty(total)
        pos = 0
        for s in range(S):
            cnt = 0
            for a in range(A):
                cnt += ptr[nxt[s, a] + 1] - ptr[nxt[s, a]]
            v = np.empty(cnt)
            w = np.empty(cnt)
            c = 0
            for a in range(A):
                n = nxt[s, a]
                for j in range(ptr[n], ptr[n + 1]):
                    v[c] = vals[j] + R[s, a]
                    w[c] = probs[j] / A
                    c += 1
            order = np.argsort(v, kind="mergesort")
            start = pos
            i = 0
            while i < cnt:
                v0 = v[order[i]]
                sw = 0.0
                swv = 0.0
                while i < cnt and v[order[i]] - v0 < tol:
                    sw += w[order[i]]
                    swv += w[order[i]] * v[order[i]]
                    i += 1
                nvals[pos] = swv / sw
                nprobs[pos] = sw
                pos += 1
            mean = 0.0
            for j in range(start, pos):
                mean += nprobs[j] * nvals[j]
            v2 = 0.0
            v3 = 0.0
            for j in range(start, pos):
                d = abs(nvals[j] - mean)
                v2 += nprobs[j] * d * d
                v3 += nprobs[j] * d * d * d
            var[t, s] = v2
            rho[t, s] = v3
            nptr[s + 1] = pos
        ptr = nptr
        vals = nvals[:pos].copy()
        probs = nprobs[:pos].copy()
    return var, rho, True


@dataclass(frozen=True)
class ReturnMoments:
    """``var[t, s]``, ``rho[t, s]`` (t = 0..T, row T zero) of the random policy's return from (t, s); ``ok`` is
    False (and both arrays zero) when the distribution needed more than ``max_atoms`` atoms."""

    var: np.ndarray
    rho: np.ndarray
    ok: bool


def return_moments(mdp: TabularMDP, *, precision: float = PRECISION, max_atoms: int = 2_000_000) -> ReturnMoments:
    """Variance and third absolute central moment of the return of the uniformly random policy from every
    (t, s) of a deterministic MDP, by exact distributional value iteration (atoms within ``precision`` merged)."""
    nxt, R, T = deterministic_arrays(mdp)
    return ReturnMoments(*_moments_kernel(nxt, R, T, float(precision), int(max_atoms)))


# ------------------------------------------------------------------------------------------- P(sequence picked)

@njit(cache=True, error_model="numpy")
def _be_beta(v, r, m):
    if v == 0.0:
        return 0.0
    s3 = v ** 1.5
    return min(0.33554 * (r + 0.415 * s3), 0.3328 * (r + 0.429 * s3)) / (s3 * math.sqrt(m))


@njit(cache=True, error_model="numpy")
def _binom_window(m, p, lo_x, hi_x, tab):
    """``tab[i] = P(X <= lo_x + i)`` for X ~ Binomial(m, p), 0 < p < 1: one incomplete-beta value, then the pmf
    recurrence ``pmf(x+1) = pmf(x) (m-x)/(x+1) p/(1-p)``."""
    c = _binom_cdf(m, p, lo_x)
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
def _binom_cdf_cached(m, p, x, lo_x, hi_x, tab):
    if x >= lo_x and x <= hi_x:
        return tab[x - lo_x]
    return _binom_cdf(m, p, x)


@njit(cache=True, error_model="numpy")
def _binomial_bounds(q, m, lo, up):
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
            _binom_window(m, ps[a], wlo[a], whi[a], tabs[a])
    for a in range(n):
        p = ps[a]
        mean = p * m
        sd = math.sqrt(m * p * (1.0 - p))
        for i in range(nq):
            lev = i / 100.0
            if m >= 30:
                x = _norm_quantile(mean, sd, lev)
                quant[i] = int(math.floor(max(0.0, min(float(m), x))))
            else:
                quant[i] = _binom_quantile(m, p, lev)
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
            mass = (_binom_cdf_cached(m, p, qh, wlo[a], whi[a], tabs[a])
                    - _binom_cdf_cached(m, p, ql, wlo[a], whi[a], tabs[a]))
            pl = mass
            pu = mass
            for b in range(n):
                if b != a:
                    pl *= _binom_cdf_cached(m, ps[b], ql, wlo[b], whi[b], tabs[b])
                    pu *= _binom_cdf_cached(m, ps[b], qh, wlo[b], whi[b], tabs[b])
            lo[a] += pl
            up[a] += pu


@njit(cache=True, error_model="numpy")
def _bernstein_tail(mf, b, v, t):
    """Bernstein: P(mean of m - mu >= t) <= exp(-m t^2 / (2 (v + b t / 3))) (authors: ``bernstein_tail_bound``)."""
    if t <= 0.0:
        return 1.0
    if math.isinf(t):
        return 0.0
    return math.exp(-t * t * mf / 2.0 / (v + b * t / 3.0))


@njit(cache=True, error_model="numpy")
def _bernstein_radius(mf, b, v, delta):
    """The deviation at which the Bernstein tail equals ``delta`` (authors: ``inv_bernstein_tail_bound``)."""
    if b == 0.0 or v == 0.0:
        return 0.0
    L = -math.log(delta) if delta > 0.0 else np.inf
    return (1.0 / 3.0) * (b * L / mf + math.sqrt(18.0 * v / mf * L + (b * b) * (L * L) / (mf * mf)))


@njit(cache=True, error_model="numpy")
def _quantile_scheme(berry_esseen, q, qo, qw, var, rho, mf, lo, up):
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
            a2[j] = _be_beta(var[j], rho[j], mf)
        else:
            a1[j] = (qo[j] - q[j]) * (q[j] - qw[j])
            a2[j] = qo[j] - qw[j]
    for j in range(n):
        for i in range(1, nlev + 1):
            lev = i / 100.0
            if berry_esseen:
                x_hi = _norm_quantile(q[j], a1[j], min(1.0, lev + a2[j]))
                x_lo = _norm_quantile(q[j], a1[j], max(0.0, lev - RESOLUTION - a2[j]))
            else:
                x_hi = q[j] + _bernstein_radius(mf, a2[j], a1[j], 1.0 - lev)
                x_lo = q[j] - _bernstein_radius(mf, a2[j], a1[j], lev - RESOLUTION)
            pl = RESOLUTION
            pu = RESOLUTION
            for o in range(n):
                if o == j:
                    continue
                if berry_esseen:
                    pu *= min(1.0, _norm_cdf(q[o], a1[o], x_hi) + a2[o])
                    pl *= max(0.0, _norm_cdf(q[o], a1[o], x_lo - 1e-8) - a2[o])
                else:
                    pu *= _bernstein_tail(mf, a2[o], a1[o], q[o] - x_hi)
                    pl *= 1.0 - _bernstein_tail(mf, a2[o], a1[o], x_lo - q[o])
            lo[j] += pl
            up[j] += pu


@njit(cache=True, error_model="numpy")
def _bennett_tail(mf, b, v, t):
    if t <= 0.0:
        return 1.0
    if v == 0.0:
        return 0.0
    u = b * t / v
    h = (1.0 + u) * math.log1p(u) - u
    return math.exp(-mf * v / (b * b) * h)


@njit(cache=True, error_model="numpy")
def _bennett_bounds(q, qo, qw, mf, prec, lo, up):
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
            all_below *= _bennett_tail(mf, qo[j] - qw[j], (q[j] - qw[j]) * (qo[j] - qw[j]), q[j] - thr)
    for j in range(n):
        above = _bennett_tail(mf, qo[j] - qw[j], (q[j] - qw[j]) * (qo[j] - q[j]), thr - q[j])
        up[j] = 1.0 - (1.0 - above) * (1.0 - all_below)


@njit(cache=True, error_model="numpy")
def _worst_case_mix(c, lo, up):
    """max sum_j p_j c_j subject to lo <= p <= up, sum p = 1 (the authors' ``max_failure_prob``); if the
    constraints are infeasible (sum lo > 1), the trivially valid ``max_j c_j``."""
    slack = 1.0 - lo.sum()
    if slack < -1e-12:
        return c.max()
    return box_simplex_max(c, lo, up, np.argsort(-c, kind="mergesort"), c.shape[0], slack)


# ------------------------------------------------------------------------------------------- failure recursion

@njit(cache=True, error_model="numpy")
def _k_step(nxt, R, Qr, Qo, Qw, mvar, mrho, T, t, s, k, q, qo, qw, var, rho, path_r):
    """Per action sequence (lexicographic, first action most significant) from (t, s): Q^rand, Q*, Q^worst of the
    sequence followed by the respective policy, and the moments of the random return after it (authors:
    ``get_k_step_qs``; rewards are added innermost first, as there)."""
    S, A = nxt.shape
    n = A ** k
    for j in range(n):
        st = s
        tt = t
        depth = 0
        x = j
        div = A ** (k - 1)
        base_r = 0.0
        base_o = 0.0
        base_w = 0.0
        bv = 0.0
        brho = 0.0
        for i in range(k):
            a = x // div
            x = x % div
            div = div // A if div > 1 else 1
            if tt >= T:
                break
            if i == k - 1:
                base_r = Qr[tt, st, a]
                base_o = Qo[tt, st, a]
                base_w = Qw[tt, st, a]
                bv = mvar[tt + 1, nxt[st, a]]
                brho = mrho[tt + 1, nxt[st, a]]
                break
            path_r[depth] = R[st, a]
            depth += 1
            st = nxt[st, a]
            tt += 1
        for i in range(depth - 1, -1, -1):
            base_r += path_r[i]
            base_o += path_r[i]
            base_w += path_r[i]
        q[j] = base_r
        qo[j] = base_o
        qw[j] = base_w
        var[j] = bv
        rho[j] = brho


@njit(cache=True, error_model="numpy")
def _failure_kernel(nxt, R, Qr, Qo, Qw, Vo, mvar, mrho, use_moments, binomial, T, s0, k, m_int, mf, prec, methods,
                    skip_tol, out_F):
    S, A = nxt.shape
    reach = np.zeros((T, S), dtype=np.bool_)
    reach[0, s0] = True
    for t in range(T - 1):
        for s in range(S):
            if reach[t, s]:
                for a in range(A):
                    if Qo[t, s, a] >= Vo[t, s] - prec:
                        reach[t + 1, nxt[s, a]] = True
    n = A ** k
    q = np.empty(n)
    qo = np.empty(n)
    qw = np.empty(n)
    var = np.empty(n)
    rho = np.empty(n)
    lo = np.empty(n)
    up = np.empty(n)
    c = np.empty(n)
    fa = np.empty(A)
    path_r = np.empty(max(k, 1))
    out_F[:, :] = np.nan
    for t in range(T - 1, -1, -1):
        for s in range(S):
            if not reach[t, s]:
                continue
            for a in range(A):
                if Qo[t, s, a] < Vo[t, s] - prec:
                    fa[a] = 1.0
                elif t == T - 1:
                    fa[a] = 0.0
                else:
                    fa[a] = out_F[t + 1, nxt[s, a]]
            fmax = 0.0
            fmin = 1.0
            for a in range(A):
                fmax = max(fmax, fa[a])
                fmin = min(fmin, fa[a])
            if fmax - fmin <= skip_tol:  # whatever GORP picks, its failure lies in [fmin, fmax]
                out_F[t, s] = fmax
                continue
            span = A ** (k - 1)
            for j in range(n):
                c[j] = fa[j // span]
            _k_step(nxt, R, Qr, Qo, Qw, mvar, mrho, T, t, s, k, q, qo, qw, var, rho, path_r)
            best = 1.0
            for meth in (3, 2, 1, 0):  # cheapest first; the minimum does not depend on the order
                if not methods[meth] or best <= fmin + skip_tol:  # no scheme can go below min_a f(a)
                    continue
                if meth == 0:
                    if not (binomial and k == 1 and m_int > 0 and m_int <= BINOMIAL_M_MAX):
                        continue
                    _binomial_bounds(q, m_int, lo, up)
                elif meth == 1:
                    if not (use_moments and n <= MAX_SEQS_QUANTILE):
                        continue
                    _quantile_scheme(True, q, qo, qw, var, rho, mf, lo, up)
                elif meth == 2:
                    if n > MAX_SEQS_QUANTILE:
                        continue
                    _quantile_scheme(False, q, qo, qw, var, rho, mf, lo, up)
                else:
                    _bennett_bounds(q, qo, qw, mf, prec, lo, up)
                deficit = 1.0 - up.sum()
                if deficit > 0.0:
                    for j in range(n):
                        up[j] = min(1.0, up[j] + deficit)
                f_lo = 0.0
                f_up = 0.0
                for j in range(n):
                    f_lo += lo[j] * c[j]
                    f_up += up[j] * c[j]
                f_up = min(f_up, fmax)
                if f_up - f_lo > LP_SLACK:
                    f = _worst_case_mix(c, lo, up)
                else:
                    f = f_up
                if f < best:
                    best = f
            out_F[t, s] = best
    return out_F[0, s0]


# ------------------------------------------------------------------------------------------- Python API

class _Prepared:
    """Arrays of one MDP in the units of the analysis (module docstring, "Units")."""

    def __init__(self, mdp, precision, moments, authors_moment_units, max_atoms):
        nxt, R, T = deterministic_arrays(mdp)
        if not (isinstance(precision, (int, float)) and not isinstance(precision, bool) and precision > 0
                and math.isfinite(precision)):
            raise ValueError(f"precision: must be a positive finite float, got {precision!r}")
        if mdp.A < 2:
            raise ValueError(f"mdp: needs at least two actions, got A = {mdp.A}")
        pos = R[R > 0]
        scale = 1.0
        if pos.size and pos.min() < 1.0:
            scale = float(np.round(np.float32(1.0) / np.float32(pos.min())))
        Rs = R * scale
        ip, ix, dt, _, _, mu0 = _sh._arrays(mdp)
        if np.count_nonzero(mu0) != 1:
            raise ValueError("mdp: the tight GORP bound needs a deterministic initial state (mu0 a point mass)")
        self.s0 = s0 = int(np.flatnonzero(mu0)[0])
        Qr, Qo, Qw, Vo = _sh._values_stoch(ip, ix, dt, Rs, T)
        Vo = Vo[:T].copy()
        vis = np.zeros((T, mdp.S), dtype=bool)
        vis[0, s0] = True
        for t in range(T - 1):
            vis[t + 1, np.unique(nxt[vis[t]])] = True
        vmax = float(Vo[vis].max())
        self.binomial = bool(vmax > 0 and np.all((Rs == vmax) | (Rs == 0)))
        if self.binomial:
            Qr, Qo, Qw, Vo = Qr / vmax, Qo / vmax, Qw / vmax, Vo / vmax
            Rs = Rs / vmax
        self.nxt, self.R, self.T, self.A = nxt, Rs, T, mdp.A
        self.Qr, self.Qo, self.Qw, self.Vo = Qr, Qo, Qw, Vo
        self.precision = float(precision)
        self.scale = scale * (1.0 / vmax if self.binomial else 1.0)
        if moments:
            Rm = R if authors_moment_units else Rs
            var, rho, ok = _moments_kernel(nxt, Rm, T, self.precision, int(max_atoms))
        else:
            var, rho, ok = np.zeros((T + 1, mdp.S)), np.zeros((T + 1, mdp.S)), False
        self.var, self.rho, self.moments = var, rho, bool(ok)

    def failure(self, k, m, methods):
        F = np.empty((self.T, self.nxt.shape[0]))
        m_int = int(m) if m <= BINOMIAL_M_MAX else -1
        return float(_failure_kernel(self.nxt, self.R, self.Qr, self.Qo, self.Qw, self.Vo, self.var, self.rho,
                                     self.moments, self.binomial, self.T, self.s0, int(k), m_int, float(m), self.precision,
                                     methods, SKIP_TOL, F))


def _methods_mask(methods):
    if isinstance(methods, str) or not all(isinstance(x, str) for x in methods):
        raise TypeError(f"methods: expected a sequence of names from {METHODS}, got {methods!r}")
    bad = set(methods) - set(METHODS)
    if bad or not methods:
        raise ValueError(f"methods: unknown or empty {sorted(bad)}; choose from {METHODS}")
    return np.array([name in methods for name in METHODS], dtype=np.bool_)


def _check_k(k, A, name="k"):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name}: must be a positive int, got {k!r}")
    if A ** int(k) > 10**5:
        raise ValueError(f"{name}: A^k = {A}^{k} action sequences per state is too many (limit 10^5)")


def gorp_failure_probability(mdp: TabularMDP, k: int, m: int, *, precision: float = PRECISION,
                             moments: bool = True, methods=METHODS) -> float:
    """Upper bound (Appendix C recursion, module docstring) on the probability that GORP with lookahead ``k`` and
    ``m`` rollouts per action sequence returns a sub-optimal policy on the deterministic ``mdp``."""
    prep = _Prepared(mdp, precision, moments, False, 2_000_000)
    _check_k(k, prep.A)
    if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
        raise ValueError(f"m: must be a positive int, got {m!r}")
    return prep.failure(int(k), int(m), _methods_mask(methods))


def _round_bits(n: int, bits: int = 256) -> int:
    """``n`` rounded to ``bits`` significant bits, ties to even (the authors' BigFloat conversion)."""
    extra = n.bit_length() - bits
    if extra <= 0:
        return n
    q, r = divmod(n, 1 << extra)
    half = 1 << (extra - 1)
    if r > half or (r == half and q & 1):
        q += 1
    return q << extra


def _geometric_midpoint(m_max: int, m_min: int) -> int:
    """floor(sqrt(m_max (m_min + 1))) as the authors' 256-bit big floats compute it."""
    return math.isqrt(_round_bits(m_max * (m_min + 1)))


@dataclass(frozen=True)
class TightGORPBound:
    """Appendix C bounds per k (``None`` / ``inf`` where the failure bound never reaches ``target``):
    ``ms`` (rollouts per sequence), ``effective_horizons`` ``H_k = k + log_A m_k``, ``sample_complexities``
    ``T^2 A^k m_k`` (the authors' time-step count), ``episodes`` ``T A^k m_k``; ``value`` and ``sample_complexity``
    are the minima over k. ``binomial``: the 0/1-return scheme applied; ``moments``: the Berry-Esseen scheme
    had the return moments."""

    horizon: int
    A: int
    ks: list = field(default_factory=list)
    ms: list = field(default_factory=list)
    failure_probs: list = field(default_factory=list)
    effective_horizons: list = field(default_factory=list)
    sample_complexities: list = field(default_factory=list)
    episodes: list = field(default_factory=list)
    value: float = math.inf
    sample_complexity: float = math.inf
    binomial: bool = False
    moments: bool = False

    def for_k(self, k: int) -> dict:
        """The entries of one k as a dict (KeyError if k was not evaluated)."""
        i = self.ks.index(k) if k in self.ks else None
        if i is None:
            raise KeyError(f"k = {k} was not evaluated (ks = {self.ks})")
        return {"k": k, "m": self.ms[i], "failure_prob": self.failure_probs[i],
                "effective_horizon": self.effective_horizons[i], "sample_complexity": self.sample_complexities[i],
                "episodes": self.episodes[i]}


def tight_gorp_bound(mdp: TabularMDP, *, k_max: int | None = None, ks=None, precision: float = PRECISION,
                     target: float = 0.5, moments: bool = True, authors_moment_units: bool = False,
                     methods=METHODS, max_atoms: int = 2_000_000) -> TightGORPBound:
    """The tighter effective-horizon / GORP sample-complexity bounds of Laidlaw et al. 2023, Appendix C, for a
    deterministic time-homogeneous finite-horizon MDP with a deterministic start (see the module docstring).

    ``ks`` (explicit lookaheads) or ``k_max`` (``k = 1..k_max``; default ``floor(log_A 1000)``, the authors');
    ``target``: the failure probability to reach (1/2 in the paper); ``moments=False`` drops the Berry-Esseen
    scheme (as the authors' code without ``--use_value_dists``); ``methods`` restricts the schemes."""
    if not (isinstance(target, (int, float)) and not isinstance(target, bool) and 0 < target < 1):
        raise ValueError(f"target: must lie in (0, 1), got {target!r}")
    prep = _Prepared(mdp, precision, moments, authors_moment_units, max_atoms)
    A, T = prep.A, prep.T
    mask = _methods_mask(methods)
    if ks is None:
        if k_max is None:
            k_max = max(1, int(math.floor(math.log(1000) / math.log(A) + 1e-12)))
        _check_k(k_max, A, "k_max")
        ks = list(range(1, int(k_max) + 1))
    else:
        ks = list(ks)
        if not ks:
            raise ValueError("ks: need at least one k")
        for k in ks:
            _check_k(k, A, "ks")
    out = TightGORPBound(T, A, binomial=prep.binomial, moments=prep.moments)
    for k in ks:
        k = int(k)
        m_max, m_min = M_START, 0
        fp = prep.failure(k, m_max, mask)
        if fp <= target:
            while m_max > m_min + 1 and Fraction(m_max - m_min, m_max) > Fraction(1e-2):
                mid = _geometric_midpoint(m_max, m_min)
                f_mid = prep.failure(k, mid, mask)
                if f_mid <= target:
                    m_max, fp = mid, f_mid
                else:
                    m_min = mid
            m = int(m_max)
            H = k + math.log(m) / math.log(A)
            sc, ep = T * T * A ** k * m, T * A ** k * m
        else:
            m, H, sc, ep = None, math.inf, math.inf, math.inf
        out.ks.append(k)
        out.ms.append(m)
        out.failure_probs.append(float(fp))
        out.effective_horizons.append(H)
        out.sample_complexities.append(sc)
        out.episodes.append(ep)
    object.__setattr__(out, "value", min(out.effective_horizons))
    object.__setattr__(out, "sample_complexity", min(out.sample_complexities))
    return out
