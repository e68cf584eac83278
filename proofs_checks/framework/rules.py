"""Pass rules: each turns a :class:`~proofs_checks.framework.Measurement` into a :class:`RuleResult`."""
from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import numpy as np
from scipy import stats

from .model import Measurement, _jsonable
from .stats import _spearman, fit_loglog_slope

__all__ = ["RuleResult", "Rule", "BoundHolds", "BoundHoldsEach", "SlopeCI", "RatioNonIncreasing", "FractionAtLeast",
           "MeanBound", "AllOf", "RankCorrelationAbove", "SuccessNotBelowReference"]


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
    """The verdict of a rule on a measurement: ``passed``, the statistics it computed and a message."""
    passed: bool
    stats: dict
    message: str

    def to_dict(self):
        """The verdict as JSON-ready data.

        Returns
        -------
        dict
            ``passed``, ``stats`` and ``message``.
        """
        return _jsonable({"passed": self.passed, "stats": self.stats, "message": self.message})


class Rule:
    """A pass rule: decides from a :class:`Measurement` whether the claim it belongs to holds.

    Subclasses are dataclasses holding the rule's parameters (level, tolerance, predicted exponent, ...) and
    implement :meth:`evaluate` and :meth:`describe`.
    """
    def evaluate(self, m: Measurement) -> RuleResult:  # pragma: no cover - interface
        """Apply the rule to a measurement.

        Parameters
        ----------
        m : Measurement
            The measured ``y[i, j]`` at ``x[i]`` for seed ``j``, with the bound values when the rule needs them.

        Returns
        -------
        RuleResult
            Whether the rule passes, the statistics it computed and a message stating the decision.
        """
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        """What the rule tests: the hypothesis, level and tolerance, in one sentence.

        Returns
        -------
        str
            The description (the "tested (rule)" column of the summary).
        """
        raise NotImplementedError


@dataclass(kw_only=True)
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
        side = "upper bound: largest" if self.kind == "upper" else "lower bound: smallest"
        worst_txt = f"{side} measured/bound = {float(ratio):.3g} at {m.variable}={m.x[worst[0]]:g}"
        msg = f"{k}/{n} hold; {worst_txt}"
        if self.prob is None:
            msg += "; holds everywhere" if passed else f"; violated on {n - k} of {n}"
        else:
            msg = (f"{k}/{n} = {k / n:.3f} hold ({self.level:g} CI [{lo:.3f}, {hi:.3f}]); 'holds w.p. >= "
                   f"{self.prob:g}' " + (f"not rejected (upper limit {hi:.3f} >= {self.prob:g})" if passed else
                                          f"rejected (upper limit {hi:.3f} < {self.prob:g})")
                   + f"; {worst_txt}")
        return RuleResult(bool(passed), {"holding": k, "total": n, "fraction": k / n, "ci": [lo, hi],
                                         "worst_ratio": float(ratio)}, msg)


@dataclass(kw_only=True)
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
class SuccessNotBelowReference(Rule):
    """Per instance x, the learner's success fraction against a reference's measured on independent seeds:
    ``y[i, j]`` is 1 where the learner's run ``j`` succeeded (0, or NaN: failed), ``bound_values[i, j]`` the same for
    the reference's run ``j`` (shape like ``y``). Passes unless, at some x, a one-sided Fisher exact test (learner's
    success odds below the reference's) rejects "the learner succeeds at least as often as the reference" at
    ``level``, Bonferroni-corrected over the instances. For conformance with a reference implementation where the
    theorem's own guarantee is too weak to separate realistic bugs: the reference's success rate is the yardstick,
    measured, not assumed."""

    level: float = 0.99

    def describe(self):
        return (f"hypothesis P(learner succeeds) >= P(reference succeeds) at every x not rejected at {self.level:g}: "
                f"one-sided Fisher exact test per x on independent seeds (Bonferroni over x)")

    def evaluate(self, m: Measurement) -> RuleResult:
        if m.bound_values is None or m.bound_values.shape != m.y.shape:
            raise ValueError("SuccessNotBelowReference needs Measurement.bound_values shaped like y (the "
                             "reference's 0/1 outcomes)")
        ok = np.nan_to_num(m.y, nan=0.0) > 0.5
        ref = np.nan_to_num(m.bound_values, nan=0.0) > 0.5
        n, n_ref = ok.shape[1], ref.shape[1]
        k, k_ref = ok.sum(axis=1), ref.sum(axis=1)
        pvals = np.array([float(stats.fisher_exact([[a, n - a], [b, n_ref - b]], alternative="less").pvalue)
                          for a, b in zip(k, k_ref)])
        alpha = (1 - self.level) / max(len(m.x), 1)
        worst = int(np.argmin(pvals))
        passed = bool(np.all(pvals >= alpha))
        frac, frac_ref = k / max(n, 1), k_ref / max(n_ref, 1)
        where = (f"at {m.variable}={m.x[worst]:g}: {int(k[worst])}/{n} vs reference {int(k_ref[worst])}/{n_ref}, "
                 f"p = {pvals[worst]:.2g}")
        return RuleResult(passed, {"fractions": frac.tolist(), "reference_fractions": frac_ref.tolist(),
                                   "p_values": pvals.tolist(), "min_p_value": float(pvals[worst]),
                                   "alpha_per_x": alpha, "nan": int(np.isnan(m.y).sum())},
                          ("no instance significantly below the reference" if passed else
                           "significantly below the reference") + f" (level {self.level:g}, Bonferroni; lowest "
                          + where + (f" >= {alpha:.2g})" if passed else f" < {alpha:.2g})"))


@dataclass
class SlopeCI(Rule):
    """Log-log slope of the mean (over seeds) against x, with a bootstrap percentile CI over seeds.

    ``mode="contains"``: the CI widened by ``tol`` contains ``predicted``; ``"below"``: CI upper <=
    ``predicted + tol``; ``"above"``: CI lower >= ``predicted - tol``. A non-finite measurement (a seed that did
    not finish or never reached its target) or a non-positive mean fails the rule (no slope), never a dropped seed.
    ``x_min`` / ``x_max`` restrict the fit to ``x_min <= x <= x_max`` (a window fixed with the claim; fewer than 3
    points in it is an error), so that ``AllOf`` of slopes on adjacent windows tests for curvature."""

    predicted: float
    _: KW_ONLY
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
        op = {"contains": f"{ci} contains the predicted {self.predicted:g}",
              "below": f"{ci} upper end <= {self.predicted:g} (a limit: allowed at most)",
              "above": f"{ci} lower end >= {self.predicted:g} (a limit: allowed at least)"}[self.mode]
        if self.tol:
            op = {"contains": f"{ci} within {self.tol:g} of the predicted {self.predicted:g} (tolerance {self.tol:g})",
                  "below": f"{ci} upper end <= {self.predicted:g} + tolerance {self.tol:g} (a limit: allowed at most)",
                  "above": f"{ci} lower end >= {self.predicted:g} - tolerance {self.tol:g} (a limit: allowed at "
                           f"least)"}[self.mode]
        win = "" if self.x_min is None and self.x_max is None else \
            f" on x in [{'-inf' if self.x_min is None else f'{self.x_min:g}'}, " \
            f"{'inf' if self.x_max is None else f'{self.x_max:g}'}]"
        return f"log-log slope{win}: {op}"

    def _against(self) -> str:
        """What the slope is compared with: a prediction (``contains``) or a limit (``below`` / ``above``)."""
        p, t = self.predicted, self.tol
        if self.mode == "contains":
            return f"vs predicted {p:g}"
        if self.mode == "below":
            return f", allowed at most {p + t:g}" + (f" ({p:g} + tolerance {t:g})" if t else "")
        return f", allowed at least {p - t:g}" + (f" ({p:g} - tolerance {t:g})" if t else "")

    def _where(self, m: Measurement) -> str:
        """The fit window as a label (`` on K in [800, 3200]``), empty when the fit uses every x."""
        if self.x_min is None and self.x_max is None:
            return ""
        lo = "-inf" if self.x_min is None else f"{self.x_min:g}"
        hi = "inf" if self.x_max is None else f"{self.x_max:g}"
        return f" on {m.variable} in [{lo}, {hi}]"

    def _decision(self, lo: float, hi: float, passed: bool) -> str:
        """How the CI ``[lo, hi]`` relates to the prediction, in words (what exactly decided the verdict)."""
        p, t = self.predicted, self.tol
        if self.mode == "contains":
            if lo - 1e-12 <= p <= hi + 1e-12:  # a miss by rounding error is no miss
                return f"CI contains {p:g}"
            miss = lo - p if lo > p else p - hi
            return (f"CI misses {p:g} by {miss:.3g}, " + ("within" if passed else "beyond") + f" tolerance {t:g}")
        if self.mode == "below":
            return f"CI upper end {hi:.3f} " + ("<=" if passed else ">") + f" {p + t:g}"
        return f"CI lower end {lo:.3f} " + (">=" if passed else "<") + f" {p - t:g}"

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
                              f"no slope{self._where(m)}: {why} of {m.y.size}; not confirmed")
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
        msg = (f"slope{self._where(m)} {slope:.3f} [{lo:.3f}, {hi:.3f}]{'' if self.mode != 'contains' else ' '}"
               f"{self._against()}: "
               f"{self._decision(lo, hi, passed)}")
        return RuleResult(bool(passed), {"slope": slope, "ci": [lo, hi], "predicted": self.predicted,
                                         "mode": self.mode, "tol": self.tol}, msg)


@dataclass(kw_only=True)
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


@dataclass(kw_only=True)
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


@dataclass(kw_only=True)
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


@dataclass(kw_only=True)
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
