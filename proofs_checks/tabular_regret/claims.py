"""Regret of UCBVI on tabular MDPs: the sqrt(K) rate of Azar, Osband & Munos (2017), Theorem 1/2.

The measurements and claims of the check: ``CHECK`` lists the claims, each with its rule and negative control
(``rltheory list``); the sweep sizes are in :mod:`proofs_checks.tabular_regret.settings`, the bounds in
:mod:`proofs_checks.tabular_regret.bounds`, the mutants in :mod:`proofs_checks.tabular_regret.mutants`. What the
claims mean, where the measurements deviate from the paper and why the check is built this way:
``proofs_checks/tabular_regret/FINDINGS.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

import mdps
from rltheory.algorithms.tabular.episodic import (REGRET_TOL, UCBVIVariant, policy_regret, run_episodic)
from rltheory.algorithms.tabular.ucbvi import OPTIMAL_TOL

from .bounds import BOUNDS, TABULAR_REGRET_LOWER, TABULAR_REGRET_UCBVI
from ..framework import (AllOf, BoundHolds, Check, Claim, MeanBound, Measurement, Rule, RuleResult, RunContext,
                        SlopeCI, rows_to_matrix)
from .._settings import sizes
from ..learners import resolve_learner
from .mutants import MUTANTS
from .settings import (BANDIT_A, BANDIT_H, CONSISTENT_GAP, CONSISTENT_SLOPE, EXACT_H, EXACT_S, LATE_FRACTION,
                       LOCK_A, LOCK_C, LOCK_H, LOCK_RUNS_PER_SEED, LOCKED_SHARE, RIVER_H, RIVER_S, SATURATED_SLOPE,
                       SIZES, TIGHT_C, TIGHT_MARGIN, TIGHT_SLOPE_TOL, UPPER_LOCAL_SLOPE, UPPER_MARGIN)

REFERENCE = "rltheory.algorithms.tabular.episodic:UCBVI_REFERENCE"
#: the negative control of sqrtK_upper and consistent: UCBVI without its bonus (greedy, not optimistic)
NO_BONUS = UCBVIVariant(bonus="none")
NO_BONUS_SPEC = "proofs_checks.tabular_regret:NO_BONUS"


def _run(mdp, learner, K, seed):
    res = run_episodic(mdp, resolve_learner(learner), int(K), seed=int(seed))
    return res


def riverswim_curve(K_max, n_points, learner, seed):
    """Cumulative pseudo-regret of one run of ``learner`` on RiverSwim(6, H=20) at ``n_points`` geometric
    checkpoints, the smallest per-episode pseudo-regret (invariant) and the uniform policy's per-episode regret."""
    mdp = mdps.riverswim(RIVER_S, horizon=RIVER_H)
    res = _run(mdp, learner, K_max, seed)
    # rounded, not truncated: geomspace gives 2499.9999..., and the K axis should read 2500
    ks = np.unique(np.rint(np.geomspace(K_max / 2 ** (n_points - 1), K_max, n_points)).astype(int))
    unif = policy_regret(mdp, np.full((mdp.horizon, mdp.S, mdp.A), 1.0 / mdp.A))
    return {"K": ks.tolist(), "regret": res.cumulative_regret[ks - 1].tolist(), "raw_min": res.raw_min_regret,
            "uniform_per_episode": unif}


def bandit_regret(K, family, A, H, learner, seed):
    """Total pseudo-regret of ``learner`` over K episodes of the bandit MDP of the given family (``"k_dependent"``:
    gap ``TIGHT_C sqrt(A/K)``, else the fixed gap), its value at K/2, and the uniform policy's exact regret."""
    gap = mdps.k_dependent_gap(int(K), A, c=TIGHT_C) if family == "k_dependent" else float(family)
    mdp = mdps.bandit_mdp(A, gap, horizon=H, best_action=seed % A)
    res = _run(mdp, learner, K, seed)
    unif = policy_regret(mdp, np.full((H, mdp.S, A), 1.0 / A))
    return {"regret": float(res.cumulative_regret[-1]), "half": float(res.cumulative_regret[int(K) // 2 - 1]),
            "gap": gap, "raw_min": res.raw_min_regret, "uniform": unif * int(K)}


def late_share(family, K, learner, seed):
    """Share of the last ``LATE_FRACTION`` of ``K`` episodes in which ``learner`` deployed a suboptimal policy
    (pseudo-regret above ``OPTIMAL_TOL``), on the minimax bandit family (``"minimax"``: gap ``LOCK_C sqrt(A/K)``,
    the best arm drawn per seed) or the deterministic chain (``"chain"``)."""
    if family == "minimax":
        mdp = mdps.bandit_mdp(LOCK_A, mdps.k_dependent_gap(int(K), LOCK_A, c=LOCK_C), horizon=LOCK_H,
                              best_action=seed % LOCK_A)
    else:
        mdp = mdps.chain(EXACT_S, horizon=EXACT_H)
    res = _run(mdp, learner, K, seed)
    late = res.regret[-max(1, int(LATE_FRACTION * int(K))):]
    return {"late_share": float(np.mean(late > OPTIMAL_TOL)), "regret": float(res.cumulative_regret[-1]),
            "raw_min": res.raw_min_regret}


def _learner(ctx: RunContext) -> str:
    return REFERENCE if ctx.learner is None else ctx.learner


def _regret_invariant(m: Measurement, raw_min) -> None:
    lo = float(np.min(raw_min))
    m.require(lo >= -REGRET_TOL, f"pseudo-regret >= -{REGRET_TOL:g} in every episode (smallest {lo:.3g})")


@dataclass
class UpperWithTeeth(Rule):
    """``sqrtK_upper``'s rule: bound with its constant on every seed, every seed's local slope over the last
    doubling <= ``local_slope`` (saturation reported as such), and the mean's one-sided ``level`` upper limit at
    the largest x <= ``margin`` x ``meta["baseline"]`` (the non-learning policy's exact regret there)."""

    local_slope: float = UPPER_LOCAL_SLOPE
    margin: float = UPPER_MARGIN
    saturated: float = SATURATED_SLOPE
    level: float = 0.95

    def describe(self):
        return (f"regret <= bound (C = 1) on every seed AND local slope over the last doubling <= "
                f"{self.local_slope:g} on every seed (mean < {self.saturated:g}: saturated, no rate) AND mean regret "
                f"at the largest K <= {self.margin:g} x uniform policy's (one-sided {self.level:g} t limit)")

    def evaluate(self, m: Measurement) -> RuleResult:
        b = BoundHolds().evaluate(m)
        if not np.all(np.isfinite(m.y)) or np.any(m.y[-2] <= 0):
            return RuleResult(False, {"bound": b.stats}, "no local slope: non-finite or zero regret; not confirmed")
        ratio_x = m.x[-1] / m.x[-2]
        local = np.log(m.y[-1] / m.y[-2]) / np.log(ratio_x)
        mean_local = float(np.log(m.mean[-1] / m.mean[-2]) / np.log(ratio_x))
        n = m.y.shape[1]
        up = float(m.mean[-1] + stats.t.ppf(self.level, n - 1) * m.y[-1].std(ddof=1) / np.sqrt(n)) if n > 1 \
            else float(m.mean[-1])
        base = float(m.meta["baseline"][-1])
        sub_ok = bool(np.all(local <= self.local_slope))
        margin_ok = up <= self.margin * base
        sat = mean_local < self.saturated
        rate = (f"saturated (learning finished before K={m.x[-2]:g}: mean local slope {mean_local:.3f}; no rate "
                f"measured)" if sat else f"mean local slope {mean_local:.3f}")
        msg = (f"bound (C=1): {b.message}; {rate}, largest seed {float(local.max()):.3f} "
               f"{_limit(sub_ok, self.local_slope)}; mean regret upper limit / uniform = {up / base:.3f} "
               f"{_limit(margin_ok, self.margin)}")
        return RuleResult(bool(b.passed and sub_ok and margin_ok),
                          {"bound": b.stats, "local_slopes": local.tolist(), "mean_local_slope": mean_local,
                           "saturated": bool(sat), "upper_limit_over_uniform": up / base, "sublinear": sub_ok,
                           "beats_uniform": bool(margin_ok)}, msg)


def _limit(ok: bool, limit: float) -> str:
    """``(<= limit)`` after a value that meets its upper limit, ``> limit: FAILED`` after one that breaks it."""
    return f"(<= {limit:g})" if ok else f"> {limit:g}: FAILED"


def _curve_measure(ctx: RunContext, learner: str) -> Measurement:
    size = sizes(SIZES, ctx)
    rows = ctx.sweep(riverswim_curve, {"K_max": [size["riverswim_K_max"]], "n_points": [size["riverswim_points"]],
                                       "learner": [learner]},
                     name="tabular_regret.riverswim")
    x = np.asarray(rows[0]["result"]["K"], dtype=float)
    y = np.array([r["result"]["regret"] for r in rows]).T  # (n_points, n_seeds)
    b = TABULAR_REGRET_UCBVI.evaluate(S=RIVER_S, A=2, H=RIVER_H, K=x, delta=0.1)
    unif = rows[0]["result"]["uniform_per_episode"] * x
    m = Measurement("K", x, y, "cumulative regret", bound_values=b,
                    meta={"instance": f"riverswim({RIVER_S}, H={RIVER_H})", "learner": learner,
                          "bound_constant": "C = 1 (theorem: 20, plus lower-order terms)",
                          "baseline": unif, "baseline_policy": "uniformly random (exact regret)",
                          "mean / uniform": (y.mean(axis=1) / unif).round(4).tolist()})
    _regret_invariant(m, [r["result"]["raw_min"] for r in rows])
    return m


def _bandit_measure(ctx: RunContext, learner: str) -> Measurement:
    Ks = _bandit_Ks(ctx)
    rows = ctx.sweep(bandit_regret, {"K": Ks, "family": ["k_dependent"], "A": [BANDIT_A], "H": [BANDIT_H],
                                     "learner": [learner]}, name="tabular_regret.bandit")
    x, y = rows_to_matrix(rows, "K", "regret")
    _, u = rows_to_matrix(rows, "K", "uniform")
    unif = u[:, 0]
    lower = TABULAR_REGRET_LOWER.evaluate(S=3, A=BANDIT_A, H=BANDIT_H, K=x)
    m = Measurement("K", x, y, "regret after K episodes", bound_values=TIGHT_MARGIN * unif,
                    meta={"family": f"gap {TIGHT_C:g} sqrt(A/K)", "A": BANDIT_A, "H": BANDIT_H, "learner": learner,
                          "bound": f"{TIGHT_MARGIN:g} x the uniform policy's exact regret",
                          "uniform regret (exact)": unif.round(3).tolist(),
                          "mean / uniform": (y.mean(axis=1) / unif).round(4).tolist(),
                          "minimax lower bound H sqrt(SAK) (reference)": lower.round(1).tolist()})
    _regret_invariant(m, [r["result"]["raw_min"] for r in rows])
    return m


def _consistent_measure(ctx: RunContext, learner: str) -> Measurement:
    K = sizes(SIZES, ctx)["consistent_K"]
    seeds = ctx.seed_list(2 * ctx.seeds)
    rows = ctx.sweep(bandit_regret, {"K": [K], "family": [CONSISTENT_GAP], "A": [BANDIT_A], "H": [BANDIT_H],
                                     "learner": [learner]}, name="tabular_regret.consistent", seeds=seeds)
    reg = np.array([r["result"]["regret"] for r in rows])
    half = np.array([r["result"]["half"] for r in rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        local = np.where(half > 0, np.log2(reg / np.where(half > 0, half, 1.0)), 0.0)
    m = Measurement("K", [float(K)], local[None, :], "local log-log slope of regret over [K/2, K]",
                    bound_values=np.array([CONSISTENT_SLOPE]),
                    meta={"gap": CONSISTENT_GAP, "A": BANDIT_A, "H": BANDIT_H, "learner": learner,
                          "regret": reg.round(2).tolist(), "locked seeds (slope > 0.9)": int((local > 0.9).sum())})
    _regret_invariant(m, [r["result"]["raw_min"] for r in rows])
    return m


def _lock_measure(ctx: RunContext, learner: str, family: str,
                  runs_per_seed: int = LOCK_RUNS_PER_SEED) -> Measurement:
    """Late suboptimal share of every run (``late_share``): on the minimax family at every K of its grid,
    ``runs_per_seed`` x the run's seeds per K (its negative control, which locks on about half the runs, needs
    fewer); on the chain at one K, one run per seed. One row of the measurement per K."""
    size = sizes(SIZES, ctx)
    if family == "minimax":
        Ks, seeds, inst = list(size["lock_Ks"]), ctx.seed_list(runs_per_seed * ctx.seeds), \
            f"bandit_mdp(A={LOCK_A}, H={LOCK_H}, gap {LOCK_C:g} sqrt(A/K)), best arm = seed mod A"
    else:
        Ks, seeds, inst = [size["exact_K"]], ctx.seed_list(), f"chain({EXACT_S}, H={EXACT_H}), deterministic"
    rows = ctx.sweep(late_share, {"family": [family], "K": Ks, "learner": [learner]},
                     name=f"tabular_regret.lock_{family}", seeds=seeds)
    x, share = rows_to_matrix(rows, "K", "late_share")  # (n_K, n_runs)
    _, regret = rows_to_matrix(rows, "K", "regret")
    m = Measurement("K", x, share, f"share of the last {LATE_FRACTION:g} K episodes with a suboptimal policy",
                    bound_values=np.full(len(x), LOCKED_SHARE),
                    meta={"instance": inst, "learner": learner, "runs per K": share.shape[1],
                          "locked runs per K (share > bound)": (share > LOCKED_SHARE).sum(axis=1).tolist(),
                          "largest shares per K": np.sort(share, axis=1)[:, -4:].round(4).tolist(),
                          "mean regret per K": regret.mean(axis=1).round(2).tolist()})
    _regret_invariant(m, [r["result"]["raw_min"] for r in rows])
    return m


def _bandit_Ks(ctx: RunContext) -> list:
    return list(sizes(SIZES, ctx)["bandit_Ks"])


def _uniform_bandit(ctx: RunContext) -> Measurement:
    """The uniformly random policy on the K-dependent family: its pseudo-regret does not depend on the sampled
    episodes (the policy never changes), so it is exact, ``K`` times one episode's, the same on every seed."""
    x = np.asarray(_bandit_Ks(ctx), dtype=float)
    unif = np.array([K * policy_regret(mdps.bandit_mdp(BANDIT_A, mdps.k_dependent_gap(int(K), BANDIT_A, c=TIGHT_C),
                                                       horizon=BANDIT_H),
                                       np.full((BANDIT_H, 3, BANDIT_A), 1.0 / BANDIT_A)) for K in x])
    y = np.repeat(unif[:, None], ctx.seeds, axis=1)
    return Measurement("K", x, y, "regret after K episodes", bound_values=TIGHT_MARGIN * unif,
                       meta={"learner": "uniform policy (exact regret)", "uniform regret (exact)": unif.tolist()})


CHECK = Check(
    name="tabular_regret",
    title="UCBVI regret on tabular MDPs grows as sqrt(K)",
    source="Azar, Osband & Munos 2017, Minimax Regret Bounds for RL, Theorems 1-2; lower bound: Jaksch et al. 2010",
    protocol="episodic_tabular",
    mutants=MUTANTS,
    bounds=BOUNDS,
    claims=[
        Claim(
            name="sqrtK_upper",
            statement="regret(K) <= C H sqrt(SAKH) L (C = 1) on an exploration-hard MDP, sublinear on every run, "
                      "and at most half the regret of not learning",
            source="Azar et al. 2017, Theorem 1 (UCBVI-CH) / Theorem 2 (UCBVI-BF)",
            rule=UpperWithTeeth(),
            measure=lambda ctx: _curve_measure(ctx, _learner(ctx)),
            negative_control=lambda ctx: _curve_measure(ctx, NO_BONUS_SPEC),
            control_description="exploration bonus removed (greedy on the empirical model): linear regret",
            bound=TABULAR_REGRET_UCBVI,
            uses_learner=True,
        ),
        Claim(
            name="sqrtK_tight",
            statement="on the K-dependent family (gap 4 sqrt(A/K)) regret grows no faster than sqrt(K) and stays "
                      "below 0.85 x the regret of not learning",
            source="Azar et al. 2017, Sec. 5 / Jaksch et al. 2010, Thm 5 (lower-bound construction)",
            rule=AllOf((SlopeCI(0.5, mode="below", tol=TIGHT_SLOPE_TOL), MeanBound(kind="upper"))),
            measure=lambda ctx: _bandit_measure(ctx, _learner(ctx)),
            negative_control=_uniform_bandit,
            control_description="the uniformly random policy (exact slope 1/2, no learning): fails the margin",
            bound=TABULAR_REGRET_LOWER,
            uses_learner=True,
        ),
        Claim(
            name="consistent",
            statement="on a fixed-gap bandit MDP every run keeps learning: local slope over the last doubling "
                      "<= 0.8 on every seed (no run locked onto a wrong arm)",
            source="Azar et al. 2017, Theorem 1 (regret bound with probability >= 1 - delta, per run)",
            rule=BoundHolds(kind="upper"),
            measure=lambda ctx: _consistent_measure(ctx, _learner(ctx)),
            negative_control=lambda ctx: _consistent_measure(ctx, NO_BONUS_SPEC),
            control_description="bonus removed (greedy): some seeds lock onto a wrong arm (local slope 1)",
            uses_learner=True,
        ),
        Claim(
            name="no_lock",
            statement="on the minimax bandit family at its own scale (A = 2, H = 3, gap sqrt(A/K)) no run locks, "
                      "at any K of a grid: on every one of 16 x seeds runs per K the optimal policy is deployed in "
                      ">= 1% of the last K/4 episodes",
            source="Azar et al. 2017, Theorems 1-2 (per run, with probability >= 1 - delta; the finite K is our "
                   "requirement, measured on UCBVI-BF); Jaksch et al. 2010, Thm 5 (the family)",
            rule=BoundHolds(kind="upper"),
            measure=lambda ctx: _lock_measure(ctx, _learner(ctx), "minimax"),
            negative_control=lambda ctx: _lock_measure(ctx, NO_BONUS_SPEC, "minimax", runs_per_seed=2),
            control_description="bonus removed (greedy): at every K about half the runs commit to the wrong arm "
                                "for good",
            uses_learner=True,
        ),
        Claim(
            name="deterministic_exact",
            statement="on a deterministic chain (S = 4, H = 8, reward at the far end) every run has learned: "
                      "the optimal policy is deployed in >= 1% of the last K/4 episodes",
            source="Azar et al. 2017, Theorem 2 (UCBVI-BF: regret sublinear on every MDP, per run); the finite K "
                   "is our requirement, measured on UCBVI-BF (UCBVI-CH with the paper's constants has not learned "
                   "by then)",
            rule=BoundHolds(kind="upper"),
            measure=lambda ctx: _lock_measure(ctx, _learner(ctx), "chain"),
            negative_control=lambda ctx: _lock_measure(ctx, NO_BONUS_SPEC, "chain"),
            control_description="bonus removed (greedy, unvisited pairs not optimistic): never leaves the start",
            uses_learner=True,
        ),
    ],
)
