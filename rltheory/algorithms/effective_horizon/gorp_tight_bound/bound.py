"""Python API of the tight GORP bound: unit preparation, the failure probability at one ``(k, m)`` and the search
over ``m`` (package docstring)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ...._validation import check_int, check_real
from ....models.tabular import TabularMDP, readonly
from ..analysis import PRECISION, deterministic_arrays
from .._kernels import csr_arrays, exploration_q
from ._constants import BINOMIAL_M_MAX, METHODS, M_START, SKIP_TOL
from ._recursion import failure_kernel
from .moments import moments_kernel

class _Prepared:
    """Arrays of one MDP in the units of the analysis (module docstring, "Units")."""

    def __init__(self, mdp, precision, moments, authors_moment_units, max_atoms):
        nxt, R, T = deterministic_arrays(mdp)
        check_real("precision", precision, low=0.0, low_open=True)
        if mdp.A < 2:
            raise ValueError(f"mdp: needs at least two actions, got A = {mdp.A}")
        pos = R[R > 0]
        scale = 1.0
        if pos.size and pos.min() < 1.0:
            scale = float(np.round(np.float32(1.0) / np.float32(pos.min())))
        Rs = R * scale
        ip, ix, dt, _, _, mu0 = csr_arrays(mdp)
        if np.count_nonzero(mu0) != 1:
            raise ValueError("mdp: the tight GORP bound needs a deterministic initial state (mu0 a point mass)")
        self.s0 = s0 = int(np.flatnonzero(mu0)[0])
        Qr, Qo, Qw, Vo = exploration_q(ip, ix, dt, readonly(Rs), T)  # read-only R, as from csr_arrays
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
            var, rho, ok = moments_kernel(nxt, Rm, T, self.precision, int(max_atoms))
        else:
            var, rho, ok = np.zeros((T + 1, mdp.S)), np.zeros((T + 1, mdp.S)), False
        self.var, self.rho, self.moments = var, rho, bool(ok)

    def failure(self, k, m, methods):
        F = np.empty((self.T, self.nxt.shape[0]))
        m_int = int(m) if m <= BINOMIAL_M_MAX else -1
        return float(failure_kernel(self.nxt, self.R, self.Qr, self.Qo, self.Qw, self.Vo, self.var, self.rho,
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
    check_int(name, k, low=1)
    if A ** int(k) > 10**5:
        raise ValueError(f"{name}: A^k = {A}^{k} action sequences per state is too many (limit 10^5)")


def gorp_failure_probability(mdp: TabularMDP, k: int, m: int, *, precision: float = PRECISION,
                             moments: bool = True, methods=METHODS) -> float:
    """Upper bound on the probability that GORP(k, m) returns a sub-optimal policy (Appendix C recursion).

    ``F_0(s_0)`` of the package docstring: backwards over the states an optimal policy can visit,
    ``F_t(s) = max { sum_j p_j f(first action of j) : l <= p <= u, sum_j p_j = 1 }`` with the bounds ``l, u`` on the
    probability that action sequence ``j`` is picked from the applicable schemes.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon, deterministic start, ``A >= 2``.
    k : int
        Lookahead, ``A^k <= 10^5``.
    m : int
        Rollouts per action sequence.
    precision : float
        Optimality tolerance (in the analysis units, package docstring).
    moments : bool
        Compute the return moments (enables the Berry-Esseen scheme).
    methods : sequence of str
        Schemes to use, from :data:`METHODS`.

    Returns
    -------
    float
        The bound on the failure probability.
    """
    prep = _Prepared(mdp, precision, moments, False, 2_000_000)
    _check_k(k, prep.A)
    check_int("m", m, low=1)
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
        """The entries of one lookahead.

        Parameters
        ----------
        k : int
            A lookahead that was evaluated.

        Returns
        -------
        dict
            ``k``, ``m``, ``failure_prob``, ``effective_horizon``, ``sample_complexity``, ``episodes``.

        Raises
        ------
        KeyError
            ``k`` was not evaluated.
        """
        i = self.ks.index(k) if k in self.ks else None
        if i is None:
            raise KeyError(f"k = {k} was not evaluated (ks = {self.ks})")
        return {"k": k, "m": self.ms[i], "failure_prob": self.failure_probs[i],
                "effective_horizon": self.effective_horizons[i], "sample_complexity": self.sample_complexities[i],
                "episodes": self.episodes[i]}


def tight_gorp_bound(mdp: TabularMDP, *, k_max: int | None = None, ks=None, precision: float = PRECISION,
                     target: float = 0.5, moments: bool = True, authors_moment_units: bool = False,
                     methods=METHODS, max_atoms: int = 2_000_000) -> TightGORPBound:
    """The tighter effective-horizon / GORP sample-complexity bounds of Laidlaw et al. 2023, Appendix C.

    For each ``k``: the smallest ``m_k`` (geometric bisection over ``[0, 10^100]``, package docstring) with
    ``F_0(s_0) <= target``; ``H_k = k + log_A m_k``, sample complexity ``T^2 A^k m_k``, episodes ``T A^k m_k``.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon, deterministic start, ``A >= 2``.
    k_max : int, optional
        ``k = 1..k_max``; default ``floor(log_A 1000)`` (the authors').
    ks : sequence of int, optional
        Explicit lookaheads (instead of ``k_max``).
    precision : float
        Optimality tolerance (analysis units).
    target : float
        Failure probability to reach, in (0, 1) (1/2 in the paper).
    moments : bool
        Use the Berry-Esseen scheme (needs the return moments).
    authors_moment_units : bool
        Compute the moments from the raw rewards, as the authors' code (package docstring, "Units").
    methods : sequence of str
        Schemes to use, from :data:`METHODS`.
    max_atoms : int
        Atom limit of the return distribution (Berry-Esseen skipped beyond it).

    Returns
    -------
    TightGORPBound
        Per-``k`` entries and their minima.
    """
    check_real("target", target, low=0.0, high=1.0, low_open=True, high_open=True)
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
