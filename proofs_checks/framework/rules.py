"""The proof-check framework: measurements, pass rules, claims with negative controls, reports.

A :class:`Check` is one theorem (or a set of lemmas) of one paper. Each :class:`Claim` has

* ``measure(ctx) -> Measurement``: run the algorithm on concrete instances (a grid of a variable x seeds);
* ``rule``: a pass rule (:class:`BoundHolds`, :class:`SlopeCI`, :class:`RatioNonIncreasing`);
* ``negative_control(ctx) -> Measurement``: the same measurement on a deliberately broken variant (bonus
  removed, wrong exponent, ...) that the same rule **must reject**.

Status of a claim: ``"pass"`` (measurement passes, control rejected), ``"fail"`` (measurement rejected),
``"deviation"`` (measurement rejected, control rejected, and the claim documents this as a measured finding against
the theorem — ``Claim.deviation`` says what and by how much; it does not fail the check) or ``"broken"`` (the
control passes too: the check cannot discriminate, so it proves nothing). A check passes
only when every claim passes or shows exactly its documented deviation. A measurement that violates one of its
invariants (``Measurement.invariant_violations``: a regret below ``-tol``, a value above ``V*``, a probability
outside [0, 1], ...) fails its claim whatever the rule says.

Learners under test: a claim with ``uses_learner=True`` measures the learner named by ``RunContext.learner`` (an
import spec, see :mod:`proofs_checks.learners`; ``None`` = the built-in reference implementation) through the
check's ``protocol``; its negative control always runs the reference. ``Check.mutants`` lists realistic bugs of
the learner (:class:`Mutant`); :func:`run_mutants` runs each through the check and reports which claims kill it.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Sequence

import numpy as np
from scipy import stats

__all__ = [
    "Measurement",
    "RuleResult",
    "BoundHolds",
    "SlopeCI",
    "RatioNonIncreasing",
    "FractionAtLeast",
    "RankCorrelationAbove",
    "MeanBound",
    "AllOf",
    "Claim",
    "ClaimResult",
    "Check",
    "CheckReport",
    "RunContext",
    "Mutant",
    "MutantResult",
    "MutationReport",
    "run_mutants",
    "format_table",
    "fit_loglog_slope",
]


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else str(v)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if x is None or isinstance(x, (str, int, bool)):
        return x
    return str(x)


# ----------------------------------------------------------------------------------- measurement


@dataclass
class Measurement:
    """``y[i, j]``: the measured quantity at ``x[i]`` for seed ``j``; ``bound_values``: the bound at ``x``
    (shape ``(len(x),)`` or like ``y``), when the rule compares with it."""

    variable: str
    x: np.ndarray
    y: np.ndarray
    quantity: str
    bound_values: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    #: messages of violated invariants (regret < -tol, value > V* + certified error, fraction of OPT > 1,
    #: probability outside [0, 1], ...); any entry fails the claim with "invariant violated: ...".
    invariant_violations: list = field(default_factory=list)

    def __post_init__(self):
        if not isinstance(self.invariant_violations, list) or \
                not all(isinstance(v, str) for v in self.invariant_violations):
            raise TypeError("invariant_violations: expected a list of str messages")
        self.x = np.asarray(self.x, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.float64)
        if self.y.ndim == 1:
            self.y = self.y[:, None]
        if self.x.ndim != 1 or self.y.ndim != 2 or self.y.shape[0] != self.x.shape[0]:
            raise ValueError(f"Measurement: x must be 1-D and y (len(x), n_seeds); got {self.x.shape}, {self.y.shape}")
        if self.bound_values is not None:
            b = np.asarray(self.bound_values, dtype=np.float64)
            if b.shape not in (self.x.shape, self.y.shape):
                raise ValueError(f"Measurement: bound_values must have shape {self.x.shape} or {self.y.shape}")
            self.bound_values = b

    @property
    def mean(self) -> np.ndarray:
        return self.y.mean(axis=1)

    def ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Student-t confidence interval of the mean over seeds, per x (NaN where a seed is not finite)."""
        n = self.y.shape[1]
        m = self.mean
        if n < 2:
            return m.copy(), m.copy()
        with np.errstate(invalid="ignore"):  # inf - inf in the spread of a row with a +inf seed: NaN, on purpose
            se = self.y.std(axis=1, ddof=1) / np.sqrt(n)
        q = stats.t.ppf(0.5 + level / 2, n - 1)
        return m - q * se, m + q * se

    def to_dict(self) -> dict:
        lo, hi = self.ci()
        return _jsonable({"variable": self.variable, "quantity": self.quantity, "x": self.x, "y": self.y,
                          "mean": self.mean, "ci95": [lo, hi], "bound_values": self.bound_values,
                          "meta": self.meta, "invariant_violations": self.invariant_violations})

    def require(self, ok, message: str) -> bool:
        """Record ``message`` as a violated invariant unless ``ok`` (a bool or a boolean array, all true);
        returns whether the invariant holds."""
        good = bool(np.all(ok))
        if not good:
            self.invariant_violations.append(str(message))
        return good


def fit_loglog_slope(x, ymean) -> tuple[float, float]:
    """OLS fit ``log y = a + b log x``; returns ``(b, a)``. Non-positive means are an error."""
    x = np.asarray(x, dtype=np.float64)
    ymean = np.asarray(ymean, dtype=np.float64)
    if np.any(ymean <= 0) or np.any(x <= 0):
        raise ValueError("log-log fit needs positive x and mean y")
    b, a = np.polyfit(np.log(x), np.log(ymean), 1)
    return float(b), float(a)


# ------------------------------------------------------------------------------------ pass rules


def _bound_per_x(m: Measurement, who: str) -> np.ndarray:
    """The bound at each x (averaged over seeds when it is given per seed); ``who`` names the rule needing it."""
    if m.bound_values is None:
        raise ValueError(f"{who} needs Measurement.bound_values")
    return m.bound_values if m.bound_values.ndim == 1 else m.bound_values.mean(axis=1)


def _holding(m: Measurement, kind: str, who: str) -> np.ndarray:
    """Boolean array like ``m.y``: measured <= bound (``kind="upper"``) or >= bound (``"lower"``)."""
    if m.bound_values is None:
        raise ValueError(f"{who} needs Measurement.bound_values")
    b = np.broadcast_to(m.bound_values if m.bound_values.ndim == 2 else m.bound_values[:, None], m.y.shape)
    return (m.y <= b) if kind == "upper" else (m.y >= b)


@dataclass
class RuleResult:
    passed: bool
    stats: dict
    message: str

    def to_dict(self):
        return _jsonable({"passed": self.passed, "stats": self.stats, "message": self.message})


class Rule:
    def evaluate(self, m: Measurement) -> RuleResult:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class BoundHolds(Rule):
    """Measured <= bound (``kind="upper"``) or >= bound (``"lower"``) at every x and seed; or, with ``prob``,
    the holding fraction's Clopper-Pearson interval at ``level`` must reach ``prob`` (the data do not reject
    "holds with probability >= prob")."""

    kind: str = "upper"
    prob: float | None = None
    level: float = 0.95
    rtol: float = 0.0

    def describe(self):
        rel = "<=" if self.kind == "upper" else ">="
        tol = f" (relative slack {self.rtol:g})" if self.rtol else ""
        if self.prob is None:
            return f"measured {rel} bound{tol} at every x and on every seed"
        return (f"hypothesis P(measured {rel} bound{tol}) >= {self.prob:g} not rejected: two-sided {self.level:g} "
                f"Clopper-Pearson upper limit of the holding fraction (all x and seeds pooled) >= {self.prob:g}")

    def evaluate(self, m: Measurement) -> RuleResult:
        if m.bound_values is None:
            raise ValueError("BoundHolds needs Measurement.bound_values")
        b = np.broadcast_to(m.bound_values if m.bound_values.ndim == 2 else m.bound_values[:, None], m.y.shape)
        slack = np.abs(b) * self.rtol
        ok = (m.y <= b + slack) if self.kind == "upper" else (m.y >= b - slack)
        n, k = ok.size, int(ok.sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(b == 0, np.where(m.y == 0, 1.0, np.sign(m.y) * np.inf), m.y / b)  # y = b = 0 holds exactly
        ratio = np.max(r) if self.kind == "upper" else np.min(r)
        if self.prob is None:
            passed = k == n
            lo = hi = k / n
        else:
            a = 1 - self.level
            lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
            hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
            passed = hi >= self.prob
        worst = np.unravel_index(int(np.argmax(m.y - b) if self.kind == "upper" else np.argmin(m.y - b)), m.y.shape)
        msg = f"{k}/{n} hold; worst measured/bound = {float(ratio):.3g} at {m.variable}={m.x[worst[0]]:g}"
        if self.prob is None:
            msg += "; holds everywhere" if passed else f"; violated on {n - k} of {n}"
        else:
            msg = (f"{k}/{n} = {k / n:.3f} hold ({self.level:g} CI [{lo:.3f}, {hi:.3f}]); 'holds w.p. >= "
                   f"{self.prob:g}' " + (f"not rejected (upper limit {hi:.3f} >= {self.prob:g})" if passed else
                                          f"rejected (upper limit {hi:.3f} < {self.prob:g})")
                   + f"; worst measured/bound = {float(ratio):.3g} at {m.variable}={m.x[worst[0]]:g}")
        return RuleResult(bool(passed), {"holding": k, "total": n, "fraction": k / n, "ci": [lo, hi],
                                         "worst_ratio": float(ratio)}, msg)


@dataclass
class BoundHoldsEach(Rule):
    """Per instance x, the fraction of seeds with measured <= bound (``kind="upper"``; ``>=`` for ``"lower"``);
    passes unless the data reject "holds w.p. >= ``prob``" at some x: every one-sided Clopper-Pearson upper limit
    at ``level`` (Bonferroni-corrected over the instances) must reach ``prob``. For probabilistic guarantees that
    hold per instance (a bound on the failure probability of a randomised algorithm). A NaN measurement (a seed that
    did not finish) counts as not holding, as in the other rules: it is never dropped."""

    prob: float = 0.5
    kind: str = "upper"
    level: float = 0.99

    def describe(self):
        rel = "<=" if self.kind == "upper" else ">="
        return (f"hypothesis P(measured {rel} bound) >= {self.prob:g} at every x not rejected at {self.level:g}: "
                f"one-sided Clopper-Pearson upper limit of each x's holding fraction (Bonferroni over x) "
                f">= {self.prob:g}")

    def evaluate(self, m: Measurement) -> RuleResult:
        ok = _holding(m, self.kind, "BoundHoldsEach")  # False where y is NaN
        k = ok.sum(axis=1)
        n = m.y.shape[1]
        conf = 1 - (1 - self.level) / max(len(m.x), 1)
        upper = np.array([1.0 if ki == n else float(stats.beta.ppf(conf, ki + 1, n - ki)) for ki in k])
        frac = k / max(n, 1)
        worst = int(np.argmin(upper))
        passed = bool(np.all(upper >= self.prob))
        return RuleResult(passed, {"fractions": frac.tolist(), "upper_limits": upper.tolist(),
                                   "min_fraction": float(frac.min()), "min_upper_limit": float(upper[worst]),
                                   "nan": int(np.isnan(m.y).sum())},
                          f"lowest holding fraction {frac.min():.3f} ({int(k.min())}/{n}); "
                          + (f"'P >= {self.prob:g}' not rejected at {self.level:g} (lowest upper limit "
                             f"{upper[worst]:.3f} >= {self.prob:g}" if passed else
                             f"'P >= {self.prob:g}' rejected at {self.level:g} (upper limit {upper[worst]:.3f} "
                             f"< {self.prob:g}") + f" at {m.variable}={m.x[worst]:g})")


@dataclass
class SlopeCI(Rule):
    """Log-log slope of the mean (over seeds) against x, with a bootstrap percentile CI over seeds.

    ``mode="contains"``: the CI widened by ``tol`` contains ``predicted``; ``"below"``: CI upper <=
    ``predicted + tol``; ``"above"``: CI lower >= ``predicted - tol``. A non-finite measurement (a seed that did
    not finish or never reached its target) or a non-positive mean fails the rule (no slope), never a dropped seed.
    ``x_min`` / ``x_max`` restrict the fit to ``x_min <= x <= x_max`` (a window fixed with the claim; fewer than 3
    points in it is an error), so that ``AllOf`` of slopes on adjacent windows tests for curvature."""

    predicted: float
    mode: str = "contains"
    level: float = 0.95
    n_boot: int = 2000
    seed: int = 0
    tol: float = 0.0
    x_min: float | None = None
    x_max: float | None = None

    def __post_init__(self):
        if self.mode not in ("contains", "below", "above"):
            raise ValueError(f"mode: expected 'contains', 'below' or 'above', got {self.mode!r}")

    def describe(self):
        ci = f"{self.level:.0%} bootstrap CI"
        op = {"contains": f"{ci} contains {self.predicted:g}",
              "below": f"{ci} upper limit <= {self.predicted:g}",
              "above": f"{ci} lower limit >= {self.predicted:g}"}[self.mode]
        if self.tol:
            op = {"contains": f"{ci} within {self.tol:g} of {self.predicted:g} (tolerance {self.tol:g})",
                  "below": f"{ci} upper limit <= {self.predicted:g} + tolerance {self.tol:g}",
                  "above": f"{ci} lower limit >= {self.predicted:g} - tolerance {self.tol:g}"}[self.mode]
        win = "" if self.x_min is None and self.x_max is None else \
            f" on x in [{'-inf' if self.x_min is None else f'{self.x_min:g}'}, " \
            f"{'inf' if self.x_max is None else f'{self.x_max:g}'}]"
        return f"log-log slope{win}: {op}"

    def _decision(self, lo: float, hi: float, passed: bool) -> str:
        """How the CI ``[lo, hi]`` relates to the prediction, in words (what exactly decided the verdict)."""
        p, t = self.predicted, self.tol
        if self.mode == "contains":
            if lo - 1e-12 <= p <= hi + 1e-12:  # a miss by rounding error is no miss
                return f"CI contains {p:g}"
            miss = lo - p if lo > p else p - hi
            return (f"CI misses {p:g} by {miss:.3g}, " + ("within" if passed else "beyond") + f" tolerance {t:g}")
        if self.mode == "below":
            return f"upper limit {hi:.3f} " + ("<=" if passed else ">") + f" {p:g}" + (f" + {t:g}" if t else "")
        return f"lower limit {lo:.3f} " + (">=" if passed else "<") + f" {p:g}" + (f" - {t:g}" if t else "")

    def _window(self, m: Measurement) -> Measurement:
        if self.x_min is None and self.x_max is None:
            return m
        keep = np.ones(m.x.shape, dtype=bool)
        if self.x_min is not None:
            keep &= m.x >= self.x_min
        if self.x_max is not None:
            keep &= m.x <= self.x_max
        if keep.sum() < 3:
            raise ValueError(f"SlopeCI: fewer than 3 points of {m.variable} in [{self.x_min}, {self.x_max}] "
                             f"(x = {m.x.tolist()})")
        return Measurement(m.variable, m.x[keep], m.y[keep], m.quantity)

    def evaluate(self, m: Measurement) -> RuleResult:
        m = self._window(m)
        bad = int((~np.isfinite(m.y)).sum())
        if bad or np.any(m.mean <= 0):
            # a seed that did not finish (NaN) or never reached the target (inf), or a non-positive mean, has no
            # log-log slope: the claim is not confirmed (dropping such seeds would bias the CI)
            why = f"{bad} non-finite measurement(s)" if bad else "non-positive mean"
            return RuleResult(False, {"slope": float("nan"), "ci": [float("nan")] * 2, "predicted": self.predicted,
                                      "mode": self.mode, "tol": self.tol, "non_finite": bad},
                              f"no slope: {why} of {m.y.size}; not confirmed")
        slope, _ = fit_loglog_slope(m.x, m.mean)
        rng = np.random.default_rng(self.seed)
        n = m.y.shape[1]
        lx = np.log(m.x)
        lxc = lx - lx.mean()
        boots = np.empty(self.n_boot)
        for i in range(self.n_boot):
            idx = rng.integers(0, n, size=n)
            ym = m.y[:, idx].mean(axis=1)
            if np.any(ym <= 0):
                boots[i] = np.nan
                continue
            ly = np.log(ym)
            boots[i] = (lxc @ (ly - ly.mean())) / (lxc @ lxc)
        boots = boots[np.isfinite(boots)]
        a = (1 - self.level) / 2
        lo, hi = (float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))) if boots.size else (slope, slope)
        if self.mode == "contains":
            passed = lo - self.tol <= self.predicted <= hi + self.tol
        elif self.mode == "below":
            passed = hi <= self.predicted + self.tol
        else:
            passed = lo >= self.predicted - self.tol
        msg = f"slope {slope:.3f} [{lo:.3f}, {hi:.3f}] vs predicted {self.predicted:g}: {self._decision(lo, hi, passed)}"
        return RuleResult(bool(passed), {"slope": slope, "ci": [lo, hi], "predicted": self.predicted,
                                         "mode": self.mode, "tol": self.tol}, msg)


@dataclass
class RatioNonIncreasing(Rule):
    """The ratio mean(measured) / bound is non-increasing in x, up to a relative tolerance ``tol`` per step."""

    tol: float = 0.05

    def describe(self):
        return f"measured/bound non-increasing in x (tol {self.tol:g})"

    def evaluate(self, m: Measurement) -> RuleResult:
        b = _bound_per_x(m, "RatioNonIncreasing")
        r = m.mean / b
        rises = r[1:] / r[:-1] - 1.0
        worst = float(rises.max()) if rises.size else 0.0
        passed = worst <= self.tol
        return RuleResult(bool(passed), {"ratios": r.tolist(), "largest_rise": worst},
                          f"largest relative rise of measured/bound {worst:.3g} "
                          + ("<=" if passed else ">") + f" tolerance {self.tol:g}")


@dataclass
class FractionAtLeast(Rule):
    """The fraction of measurements ``y <= bound`` (``kind="upper"``; ``>=`` for ``"lower"``) over all x and seeds
    is at least ``fraction``, *confirmed*: the one-sided Clopper-Pearson lower limit at ``level`` must reach it
    (unlike ``BoundHolds(prob=...)``, which passes unless the data reject the fraction)."""

    fraction: float = 0.5
    kind: str = "upper"
    level: float = 0.95

    def describe(self):
        rel = "<=" if self.kind == "upper" else ">="
        return (f"fraction with measured {rel} bound >= {self.fraction:g}, confirmed: one-sided {self.level:g} "
                f"Clopper-Pearson lower limit >= {self.fraction:g}")

    def evaluate(self, m: Measurement) -> RuleResult:
        ok = _holding(m, self.kind, "FractionAtLeast")
        n, k = ok.size, int(ok.sum())
        lo = 0.0 if k == 0 else float(stats.beta.ppf(1 - self.level, k, n - k + 1))
        passed = lo >= self.fraction
        return RuleResult(bool(passed), {"holding": k, "total": n, "fraction": k / n, "lower_limit": lo},
                          f"{k}/{n} = {k / n:.3f} hold; one-sided {self.level:g} lower limit {lo:.3f} "
                          + (f">= {self.fraction:g}: confirmed" if passed else f"< {self.fraction:g}: not confirmed"))


@dataclass
class MeanBound(Rule):
    """The seed mean against the bound at every x, *confirmed*: the one-sided Student-t ``level`` upper limit of
    the mean is ``<= bound`` (``kind="upper"``), or its lower limit is ``>= bound`` (``"lower"``). For bounds on an
    expectation, where single seeds may cross the bound. Non-finite measurements or fewer than 2 seeds fail the rule
    (no confidence limit)."""

    kind: str = "upper"
    level: float = 0.95

    def describe(self):
        rel = "<=" if self.kind == "upper" else ">="
        lim = "upper" if self.kind == "upper" else "lower"
        return (f"mean over seeds {rel} bound at every x, confirmed: one-sided {self.level:g} Student-t {lim} "
                f"limit of the mean {rel} bound")

    def evaluate(self, m: Measurement) -> RuleResult:
        b = _bound_per_x(m, "MeanBound")
        n = m.y.shape[1]
        bad = int((~np.isfinite(m.y)).sum())
        if bad or n < 2:
            why = f"{bad} non-finite measurement(s)" if bad else "fewer than 2 seeds"
            return RuleResult(False, {"holding": 0, "total": int(m.x.size), "non_finite": bad},
                              f"no confidence limit: {why}; not confirmed")
        se = m.y.std(axis=1, ddof=1) / np.sqrt(n)
        q = float(stats.t.ppf(self.level, n - 1))
        lim = m.mean + q * se if self.kind == "upper" else m.mean - q * se
        ok = lim <= b if self.kind == "upper" else lim >= b
        r = lim / b
        i = int(np.argmax(r) if self.kind == "upper" else np.argmin(r))
        msg = (f"{int(ok.sum())}/{ok.size} x confirmed; worst {'upper' if self.kind == 'upper' else 'lower'} limit "
               f"of mean / bound = {float(r[i]):.3g} at {m.variable}={m.x[i]:g}")
        return RuleResult(bool(ok.all()), {"holding": int(ok.sum()), "total": int(ok.size), "limits": lim.tolist(),
                                           "worst_ratio": float(r[i])}, msg)


@dataclass
class AllOf(Rule):
    """Passes when every one of ``rules`` passes on the same measurement (a control is rejected when any rejects)."""

    rules: tuple = ()

    def __post_init__(self):
        if not self.rules:
            raise ValueError("rules: AllOf needs at least one rule")

    def describe(self):
        return " AND ".join(r.describe() for r in self.rules)

    def evaluate(self, m: Measurement) -> RuleResult:
        res = [r.evaluate(m) for r in self.rules]
        return RuleResult(all(r.passed for r in res), {"parts": [r.stats for r in res]},
                          " AND ".join(r.message for r in res))


def _spearman(a, b):
    ra = stats.rankdata(a)
    rb = stats.rankdata(b)
    ra = ra - ra.mean()
    rb = rb - rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / den if den > 0 else float("nan")


@dataclass
class RankCorrelationAbove(Rule):
    """Spearman correlation across x (the instances) between ``bound_values`` (the candidate predictor) and the
    seed-aggregated measurement (``meta["aggregate"]`` per x if given, else the mean over seeds; ``inf`` = not
    reached, ranked last) is high, and higher than that of ``meta["comparator"]`` (another predictor per x).
    Bootstrap over instances (paired): passes when the one-sided ``level`` lower limit of ``rho`` reaches
    ``min_rho`` and, with ``require_better``, that of ``rho - rho_comparator`` exceeds 0 (the comparison is
    reported either way when a comparator is given). NaN anywhere, or fewer than ``min_instances`` instances,
    is a failure (not confirmed), never a silently smaller sample."""

    min_rho: float = 0.3
    require_better: bool = True
    min_instances: int = 5
    level: float = 0.95
    n_boot: int = 2000
    seed: int = 0

    def describe(self):
        better = (" and rho - rho(comparator, measured) > 0" if self.require_better else
                  "; the comparison with the comparator is reported, not required")
        return (f"Spearman rho(bound, measured) >= {self.min_rho:g}{better}, confirmed: one-sided {self.level:g} "
                f"bootstrap lower limits over instances")

    def evaluate(self, m: Measurement) -> RuleResult:
        if m.bound_values is None or (self.require_better and "comparator" not in m.meta):
            raise ValueError("RankCorrelationAbove needs bound_values (and meta['comparator'] with require_better)")
        y = np.asarray(m.meta.get("aggregate", np.mean(m.y, axis=1)), dtype=np.float64)
        cand = np.asarray(_bound_per_x(m, "RankCorrelationAbove"), dtype=np.float64)
        comp = np.asarray(m.meta.get("comparator", cand), dtype=np.float64)
        n_nan = int(np.isnan(y).sum() + np.isnan(cand).sum() + np.isnan(comp).sum())
        if n_nan or y.size < self.min_instances:
            why = f"{n_nan} NaN value(s)" if n_nan else f"{y.size} instances < {self.min_instances}"
            return RuleResult(False, {"rho": float("nan"), "rho_comparator": float("nan"), "rho_lower": float("nan"),
                                      "diff_lower": float("nan"), "n": int(y.size)}, f"no correlation: {why}; not confirmed")
        if np.any(np.isfinite(y)):
            fin = y[np.isfinite(y)]
            lo_v, hi_v = float(fin.min()), float(fin.max())
        else:
            lo_v, hi_v = 0.0, 1.0
        span = hi_v - lo_v + 1.0
        # +inf = not reached within the budget: ranked above every reached value; -inf below every one
        y = np.where(np.isposinf(y), hi_v + span, np.where(np.isneginf(y), lo_v - span, y))
        rho, rho_c = _spearman(cand, y), _spearman(comp, y)
        rng = np.random.default_rng(self.seed)
        n = y.size
        boots = np.full((self.n_boot, 2), np.nan)
        for i in range(self.n_boot):
            idx = rng.integers(0, n, size=n)
            a = _spearman(cand[idx], y[idx])
            boots[i] = a, a - _spearman(comp[idx], y[idx])
        q = 1 - self.level
        lo_rho = float(np.nanquantile(boots[:, 0], q))
        lo_diff = float(np.nanquantile(boots[:, 1], q))
        passed = lo_rho >= self.min_rho and (lo_diff > 0 or not self.require_better)
        return RuleResult(bool(passed), {"rho": rho, "rho_comparator": rho_c, "rho_lower": lo_rho,
                                         "diff_lower": lo_diff, "n": int(n)},
                          f"rho {rho:.3f}, lower limit {lo_rho:.3f} " + (">=" if lo_rho >= self.min_rho else "<")
                          + f" {self.min_rho:g}" + (
                              "" if "comparator" not in m.meta else
                              f"; comparator rho {rho_c:.3f}, rho - rho_comparator lower limit {lo_diff:.3f}"
                              + ((" > 0" if lo_diff > 0 else " <= 0") if self.require_better
                                 else " (reported, not required)"))
                          + ("; confirmed" if passed else "; not confirmed"))


# ---------------------------------------------------------------------------------------- context


def _serial_runner(fn, grid, seeds, **_):
    import itertools

    keys = list(grid)
    rows = []
    for combo in itertools.product(*[grid[k] for k in keys]):
        params = dict(zip(keys, combo))
        for s in seeds:
            rows.append({"params": params, "seed": int(s), "result": fn(**params, seed=int(s))})
    return rows


@dataclass
class RunContext:
    """How a check runs: size (``quick``), number of seeds, base seed, output dir, executor.

    ``sweep(fn, grid, name)`` runs the picklable ``fn(**params, seed=seed)`` over the grid x seeds through
    :func:`rltheory.experiments.run_sweep` (local process pool, or a Dask cluster for ``executor="tcp://..."``),
    storing rows in ``<out_dir>/sweeps.sqlite`` so an interrupted check resumes where it stopped.
    ``runner`` replaces that function (tests inject a serial runner)."""

    quick: bool = True
    seeds: int = 8
    seed: int = 0
    out_dir: str | None = None
    executor: str = "local"
    n_workers: int | None = None
    progress: bool = False
    runner: Callable | None = None
    resume: bool = True
    #: the learner under test, an import spec ``"package.module:qualname"`` (a module-level callable is turned
    #: into its spec); ``None`` = the check's built-in reference implementation
    learner: str | None = None

    def __post_init__(self):
        if self.learner is not None:
            from ..learners import learner_spec

            self.learner = learner_spec(self.learner)

    def seed_list(self, n: int | None = None) -> list[int]:
        return [self.seed + i for i in range(self.seeds if n is None else n)]

    def sweep(self, fn, grid: dict, name: str, seeds: Sequence[int] | None = None) -> list[dict]:
        seeds = self.seed_list() if seeds is None else list(seeds)
        if self.runner is not None:
            return self.runner(fn, grid, seeds, name=name)
        try:
            from rltheory.experiments import run_sweep
        except ImportError:  # pragma: no cover - experiments package missing
            return _serial_runner(fn, grid, seeds)
        db = None
        if self.out_dir is not None and self.resume:
            os.makedirs(self.out_dir, exist_ok=True)
            db = os.path.join(self.out_dir, "sweeps.sqlite")
        size = "quick" if self.quick else "full"
        return run_sweep(fn, grid, seeds, db=db, executor=self.executor, n_workers=self.n_workers,
                         progress=self.progress, name=f"{name}[{size}]")


def rows_to_matrix(rows, variable: str, key: str, x_values=None):
    """Arrange sweep rows into ``(x, y[len(x), n_seeds])`` for ``params[variable]`` and ``result[key]``."""
    xs = sorted({r["params"][variable] for r in rows}) if x_values is None else list(x_values)
    seeds = sorted({r["seed"] for r in rows})
    y = np.full((len(xs), len(seeds)), np.nan)
    xi = {x: i for i, x in enumerate(xs)}
    si = {s: j for j, s in enumerate(seeds)}
    for r in rows:
        if r["params"][variable] in xi:
            y[xi[r["params"][variable]], si[r["seed"]]] = r["result"][key]
    return np.asarray(xs, dtype=np.float64), y


# ------------------------------------------------------------------------------------- claim / check


@dataclass
class Claim:
    name: str
    statement: str
    source: str
    rule: Rule
    measure: Callable[[RunContext], Measurement]
    negative_control: Callable[[RunContext], Measurement] | None
    control_description: str = ""
    bound: object = None  # rltheory.bounds.Bound or None
    #: a documented, measured finding that the claim does NOT hold for our implementation (what, how much, why it
    #: is believed to happen). A failing measurement is then reported as "deviation" instead of "fail"; the
    #: negative control must still be rejected, and a passing measurement is reported as "pass" (deviation gone).
    deviation: str = ""
    #: True when ``measure(ctx)`` runs ``ctx.learner`` (the learner under test); the negative control always
    #: runs the check's reference (it tests the rule, not the learner)
    uses_learner: bool = False

    def __post_init__(self):
        if self.negative_control is None or not callable(self.negative_control):
            raise ValueError(f"claim {self.name!r}: a negative control is mandatory (a check must be able to fail)")
        if not callable(self.measure):
            raise TypeError(f"claim {self.name!r}: measure must be callable")
        if not self.control_description:
            raise ValueError(f"claim {self.name!r}: describe the negative control (control_description)")


@dataclass
class ClaimResult:
    claim: Claim
    measurement: Measurement
    result: RuleResult
    control: Measurement
    control_result: RuleResult

    @property
    def status(self) -> str:
        if self.measurement.invariant_violations:
            return "fail"
        if not self.result.passed:
            if self.claim.deviation and not self.control_result.passed:
                return "deviation"
            return "fail"
        if self.control_result.passed:
            return "broken"
        return "pass"

    def to_dict(self):
        c = self.claim
        return _jsonable({
            "name": c.name, "statement": c.statement, "source": c.source, "rule": c.rule.describe(),
            "status": self.status, "uses_learner": c.uses_learner,
            "bound": c.bound.to_dict() if c.bound is not None else None,
            "measurement": self.measurement.to_dict(), "result": self.result.to_dict(),
            "control_description": c.control_description, "deviation": c.deviation, "control": self.control.to_dict(),
            "control_result": self.control_result.to_dict(),
        })


@dataclass
class Mutant:
    """A realistic bug of a check's learner: ``learner`` is the spec of a factory (or of a function variant
    interpreted by the check's protocol) in ``proofs_checks/mutants/<check>.py``. ``legitimate`` non-empty marks
    a legitimate variant that is expected to pass, with the measured reason."""

    name: str
    description: str
    learner: str
    legitimate: str = ""

    def __post_init__(self):
        from ..learners import SPEC_PATTERN

        for f in ("name", "description", "learner", "legitimate"):
            if not isinstance(getattr(self, f), str):
                raise TypeError(f"{f}: expected a str, got {type(getattr(self, f)).__name__}")
        if not self.name or not self.description:
            raise ValueError(f"name: a mutant needs a name and a description (got {self.name!r})")
        if not SPEC_PATTERN.match(self.learner):
            raise ValueError(f"learner: expected 'package.module:qualname', got {self.learner!r}")


def _invariant_failed(r: RuleResult, m: Measurement) -> RuleResult:
    """The rule result of a measurement with violated invariants: failed, saying which."""
    if not m.invariant_violations:
        return r
    st = dict(r.stats)
    st["rule_passed"] = r.passed
    st["invariant_violations"] = list(m.invariant_violations)
    return RuleResult(False, st, "invariant violated: " + "; ".join(m.invariant_violations) + f" (rule: {r.message})")


@dataclass
class Check:
    name: str
    title: str
    source: str
    claims: list
    #: name of the learner protocol of the claims with ``uses_learner`` (documented in the README):
    #: "episodic_tabular", "lmdp_hindsight", "reward_free", "set_function" or a check-specific one
    protocol: str = ""
    #: realistic bugs of the learner, each run through the learner claims by :func:`run_mutants`
    mutants: list = field(default_factory=list)

    def __post_init__(self):
        names = [c.name for c in self.claims]
        if len(set(names)) != len(names):
            raise ValueError(f"check {self.name!r}: duplicate claim names {names}")
        if not self.claims:
            raise ValueError(f"check {self.name!r}: no claims")
        mnames = [m.name for m in self.mutants]
        if len(set(mnames)) != len(mnames):
            raise ValueError(f"check {self.name!r}: duplicate mutant names {mnames}")
        if not all(isinstance(m, Mutant) for m in self.mutants):
            raise TypeError(f"mutants: check {self.name!r} expects a list of Mutant")
        if any(c.uses_learner for c in self.claims) and not self.protocol:
            raise ValueError(f"protocol: check {self.name!r} has learner claims but names no protocol")

    @property
    def learner_claims(self) -> list:
        return [c for c in self.claims if c.uses_learner]

    def run(self, ctx: RunContext | None = None, claims: Sequence[str] | None = None, *,
            stop_on_fail: bool = False, control_cache: dict | None = None) -> "CheckReport":
        """Run the claims (all, or those named in ``claims``); with ``ctx.learner`` set only the claims with
        ``uses_learner`` (``ValueError`` if there are none). ``stop_on_fail`` stops after the first claim whose
        status is not pass/deviation. Negative controls run with ``learner=None`` (the reference); a dict
        ``control_cache`` keeps their results across runs (mutation analysis)."""
        ctx = RunContext() if ctx is None else ctx
        chosen = self.claims if claims is None else [c for c in self.claims if c.name in set(claims)]
        if ctx.learner is not None:
            chosen = [c for c in chosen if c.uses_learner]
            if not chosen:
                raise ValueError(f"learner: check {self.name!r} has no (selected) claim that runs a learner")
        ref_ctx = replace(ctx, learner=None) if ctx.learner is not None else ctx
        results = []
        for c in chosen:
            m = c.measure(ctx)
            r = _invariant_failed(c.rule.evaluate(m), m)
            key = (self.name, c.name, ref_ctx.quick, ref_ctx.seeds, ref_ctx.seed)
            if control_cache is not None and key in control_cache:
                cm, cr = control_cache[key]
            else:
                cm = c.negative_control(ref_ctx)
                cr = _invariant_failed(c.rule.evaluate(cm), cm)
                if control_cache is not None:
                    control_cache[key] = (cm, cr)
            res = ClaimResult(c, m, r, cm, cr)
            results.append(res)
            if stop_on_fail and res.status not in ("pass", "deviation"):
                break
        return CheckReport(self, results, quick=ctx.quick, seeds=ctx.seeds, learner=ctx.learner)


@dataclass
class MutantResult:
    """One mutant run through its check: ``outcome`` is ``"killed"`` (a claim failed), ``"survived"`` (every
    learner claim passed), ``"legitimate"`` (a legitimate variant that passed) or ``"legitimate-failed"``."""

    mutant: Mutant
    outcome: str
    killed_by: str
    message: str
    seconds: float
    report: "CheckReport | None" = None

    def to_dict(self):
        return _jsonable({"name": self.mutant.name, "description": self.mutant.description,
                          "learner": self.mutant.learner, "legitimate": self.mutant.legitimate,
                          "outcome": self.outcome, "killed_by": self.killed_by, "message": self.message,
                          "seconds": self.seconds,
                          "claims": {r.claim.name: r.status for r in self.report.results} if self.report else {}})


@dataclass
class MutationReport:
    """Mutation analysis of one check: every mutant's outcome and the mutation score (killed / non-legitimate)."""

    check: str
    results: list
    quick: bool = True

    @property
    def n_mutants(self) -> int:
        return sum(not r.mutant.legitimate for r in self.results)

    @property
    def n_killed(self) -> int:
        return sum(r.outcome == "killed" for r in self.results)

    @property
    def score(self) -> float:
        """Killed / non-legitimate mutants (NaN without any)."""
        return self.n_killed / self.n_mutants if self.n_mutants else float("nan")

    @property
    def passed(self) -> bool:
        """Every non-legitimate mutant killed and every legitimate variant passing."""
        return all(r.outcome in ("killed", "legitimate") for r in self.results)

    def to_dict(self):
        return _jsonable({"check": self.check, "quick": self.quick, "score": self.score,
                          "killed": self.n_killed, "mutants": self.n_mutants, "passed": self.passed,
                          "results": [r.to_dict() for r in self.results]})

    def format(self) -> str:
        rows = [("mutant", "outcome", "killed by", "seconds", "evidence")]
        rows += [(r.mutant.name, r.outcome.upper(), r.killed_by or "-", f"{r.seconds:.1f}", r.message)
                 for r in self.results]
        widths = [min(max(len(str(row[i])) for row in rows), w) for i, w in enumerate((34, 17, 16, 7, 90))]
        out = []
        for i, row in enumerate(rows):
            out.append("  ".join((c if len(c) <= w else c[: w - 1] + "~").ljust(w) for c, w in zip(row, widths)))
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        out.append(f"mutation score of {self.check}: {self.n_killed}/{self.n_mutants} killed"
                   + (f" = {self.score:.2f}" if self.n_mutants else "")
                   + (f"; {len(self.results) - self.n_mutants} legitimate variant(s)"
                      if len(self.results) > self.n_mutants else ""))
        return "\n".join(out)


def run_mutants(check: "Check", ctx: RunContext | None = None, mutants: Sequence[str] | None = None) -> MutationReport:
    """Run every mutant of ``check`` (or those named in ``mutants``) through its learner claims.

    Each mutant runs as ``check.run(replace(ctx, learner=mutant.learner), stop_on_fail=True)``; the negative
    controls (the reference's) are computed once and shared. A non-legitimate mutant is *killed* when a claim's
    status is ``"fail"`` (its measurement is rejected or violates an invariant), else it *survived*.

    Parameters
    ----------
    check : Check
        A check with ``mutants`` and learner claims.
    ctx : RunContext, optional
        Size, seeds and output directory (``ctx.learner`` is ignored).
    mutants : sequence of str, optional
        Names of the mutants to run (default: all).

    Returns
    -------
    MutationReport
        Outcome per mutant and the mutation score ``killed / non-legitimate``.
    """
    ctx = RunContext() if ctx is None else ctx
    chosen = check.mutants if mutants is None else [m for m in check.mutants if m.name in set(mutants)]
    if mutants is not None and len(chosen) != len(set(mutants)):
        known = [m.name for m in check.mutants]
        raise ValueError(f"mutants: unknown mutant(s) {sorted(set(mutants) - set(known))}; known: {known}")
    cache: dict = {}
    results = []
    for mu in chosen:
        t0 = time.perf_counter()
        rep = check.run(replace(ctx, learner=mu.learner), stop_on_fail=True, control_cache=cache)
        bad = [r for r in rep.results if r.status == "fail"]
        if bad:
            outcome, by, msg = "killed", bad[0].claim.name, bad[0].result.message
        else:
            outcome, by = "survived", ""
            msg = "; ".join(f"{r.claim.name}: {r.status} ({r.result.message})" for r in rep.results)
        if mu.legitimate:
            outcome = "legitimate-failed" if bad else "legitimate"
        results.append(MutantResult(mu, outcome, by, msg, time.perf_counter() - t0, rep))
    return MutationReport(check.name, results, quick=ctx.quick)


@dataclass
class CheckReport:
    check: Check
    results: list
    quick: bool = True
    seeds: int = 0
    learner: str | None = None  # the learner under test (None: the reference)

    @property
    def name(self) -> str:
        """The check's name; for a learner run ``<check>@<learner tag>``, so that its files and rows never
        replace the reference run's."""
        if self.learner is None:
            return self.check.name
        from ..learners import spec_tag

        return f"{self.check.name}@{spec_tag(self.learner)}"

    @property
    def passed(self) -> bool:
        """Every claim passes, or fails exactly as its documented ``deviation`` says (control still rejected)."""
        return all(r.status in ("pass", "deviation") for r in self.results)

    def to_dict(self) -> dict:
        return _jsonable({"check": self.check.name, "title": self.check.title, "source": self.check.source,
                          "quick": self.quick, "seeds": self.seeds, "passed": self.passed,
                          "learner": self.learner, "protocol": self.check.protocol,
                          "claims": [r.to_dict() for r in self.results]})

    def figure(self, result: ClaimResult):
        """The figure of one claim (a pyplot figure, so that Jupyter shows it inline): the measurement, the bound
        or threshold of the rule, the negative control, the verdict, and a caption stating the rule and the
        measured numbers (see :mod:`proofs_checks.figures`). The matplotlib backend is left as it is."""
        import matplotlib.pyplot as plt

        from .. import figures as _figures

        return _figures.draw(plt.figure(figsize=_figures.figure_size(self, result)), self, result)

    def save(self, out_dir: str) -> dict:
        """Write ``<check>.json``, ``<check>__<claim>.png`` per claim and ``<check>.md``; returns the paths.

        The figures are drawn on bare :class:`matplotlib.figure.Figure` objects (no pyplot, no backend switch, no
        window opened on a desktop)."""
        from matplotlib.figure import Figure

        from .. import figures as _figures

        os.makedirs(out_dir, exist_ok=True)
        paths = {"json": os.path.join(out_dir, f"{self.name}.json"), "figures": [],
                 "markdown": os.path.join(out_dir, f"{self.name}.md")}
        with open(paths["json"], "w") as fh:
            json.dump(self.to_dict(), fh, indent=1)
        for r in self.results:
            fig = _figures.draw(Figure(figsize=_figures.figure_size(self, r)), self, r)
            p = os.path.join(out_dir, f"{self.name}__{r.claim.name}.png")
            fig.savefig(p, dpi=100)
            paths["figures"].append(p)
        with open(paths["markdown"], "w") as fh:
            fh.write(markdown_table([self]))
        return paths


def _rows(reports):
    for rep in reports:
        for r in rep.results:
            yield (rep.name, r.claim.name, r.result.message, r.control_result.message, r.status)


def markdown_table(reports) -> str:
    """One row per claim: the rule (what exactly was tested: hypothesis, level, tolerance), the measured numbers
    with the decision they led to, the negative control's numbers, and the status."""
    lines = ["| check | claim | tested (rule) | measured: decision | negative control (must be rejected) | status |",
             "| --- | --- | --- | --- | --- | --- |"]
    for rep in reports:
        for r in rep.results:
            ctl = ("rejected" if not r.control_result.passed else "NOT rejected") + f": {r.control_result.message}"
            cells = (rep.name, r.claim.name, r.claim.rule.describe(), r.result.message, ctl)
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells)
                         + f" | **{r.status}**{_verdict_qualifier(r)} |")
    return "\n".join(lines) + "\n"


def _verdict_qualifier(r) -> str:
    """What a pass rests on when it is weaker than 'confirmed': a hypothesis the data did not reject, or a
    prediction met only within the rule's tolerance (the rule messages say which and by how much)."""
    if r.status != "pass":
        return ""
    msg = r.result.message
    quals = [q for q in ("not rejected", "within tolerance") if q in msg]
    return f" ({' and '.join(quals)})" if quals else ""


def format_table(reports, width: int | None = None) -> str:
    """Plain-text table for the terminal, at most ``width`` columns wide: one row per claim (check, claim, status),
    its rule's message and its negative control's message wrapped underneath, never cut (summary.md has the same
    messages as a Markdown table). ``width`` defaults to the terminal's width, at most 100 (60 at least)."""
    import shutil
    import textwrap

    if width is None:
        width = min(max(shutil.get_terminal_size((100, 24)).columns, 60), 100)
    rows = list(_rows(reports))
    status_w = max([len("status")] + [len(r[4]) for r in rows])
    name_w = min(max([len("check / claim")] + [len(r[0]) for r in rows] + [2 + len(r[1]) for r in rows]),
                 max(width // 3, 16))
    text_w = max(width - name_w - status_w - 4, 20)
    pad = " " * (name_w + status_w + 4)

    def wrap(label, text):
        return textwrap.wrap(f"{label}{text}", text_w, subsequent_indent=" " * len(label),
                             break_long_words=False, break_on_hyphens=False) or [label]

    out = [f"{'check / claim':<{name_w}}  {'status':<{status_w}}  measured vs predicted; control",
           "-" * min(width, name_w + status_w + 4 + text_w)]
    current = None
    for check, claim, measured, control, status in rows:
        if check != current:
            out.append(check)
            current = check
        lines = wrap("", measured) + wrap("control: ", control)
        name = f"  {claim}"
        if len(name) > name_w:  # a name too long for its column gets a line of its own
            out.append(name)
            name = ""
        out.append(f"{name:<{name_w}}  {status.upper():<{status_w}}  {lines[0]}")
        out.extend(pad + line for line in lines[1:])
    out.append("-" * min(width, name_w + status_w + 4 + text_w))
    out += textwrap.wrap("control: the claim's negative control (a deliberately broken variant), which the same "
                         "rule must reject; details per claim in summary.md and <check>.json", width)
    return "\n".join(out)
