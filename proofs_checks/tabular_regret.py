"""Regret of UCBVI on tabular MDPs: the sqrt(K) rate of Azar, Osband & Munos (2017), Theorem 1/2.

Claims
------
``sqrtK_upper``
    On RiverSwim (S = 6, H = 20, rewards in [0, 1]; exploration-hard: the safe left reward hides the far
    right one), UCBVI's cumulative regret after K episodes grows no faster than sqrt(K): the log-log slope of
    mean regret vs K (checkpoints of one run per seed) has a 95% bootstrap CI below 1/2 (+0.05).
    Negative control: the same learner with the exploration bonus removed locks onto swimming left and
    suffers linear regret (slope ~1), which the rule must reject.
``sqrtK_tight``
    On the K-dependent hard family (:func:`mdps.bandit_mdp` with gap ``0.5 sqrt(A/K)``, a new instance for
    each K, the best action drawn per seed), UCBVI's regret grows like sqrt(K): slope CI contains 1/2
    (+-0.1) — the exponent of the minimax lower bound ``Omega(H sqrt(SAK))`` is attained.
    Negative control: a fixed-gap instance (gap 0.3), where regret is logarithmic in K once the gap is
    resolved; its slope (~0.15 measured) must be rejected, showing the slope test separates the regimes.

Learner: UCBVI with the empirical-Bernstein bonus of :mod:`rltheory.algorithms.tabular.ucbvi` at scale 1
(the theorem's Hoeffding constants, scale 1, do not leave the linear phase within 10^5 episodes on RiverSwim:
measured slope 1.0 at K <= 2*10^4; the check states which it uses).
"""
from __future__ import annotations

import numpy as np

import mdps
from rltheory import bounds
from rltheory.algorithms.tabular import ucbvi

from .framework import Check, Claim, Measurement, RunContext, SlopeCI, rows_to_matrix

BONUS = "bernstein"
BONUS_SCALE = 1.0


def riverswim_curve(K_max, n_points, bonus, seed):
    """Cumulative pseudo-regret of one UCBVI run on RiverSwim(6, H=20) at n_points geometric checkpoints."""
    mdp = mdps.riverswim(6, horizon=20)
    res = ucbvi(mdp, int(K_max), seed=seed, bonus=bonus, bonus_scale=BONUS_SCALE)
    ks = np.unique(np.geomspace(K_max / 2 ** (n_points - 1), K_max, n_points).astype(int))
    return {"K": ks.tolist(), "regret": res.cumulative_regret[ks - 1].tolist()}


def bandit_regret(K, family, A, H, seed):
    """Total pseudo-regret of UCBVI over K episodes of the bandit MDP of the given family."""
    gap = mdps.k_dependent_gap(int(K), A, 0.5) if family == "k_dependent" else float(family)
    mdp = mdps.bandit_mdp(A, gap, horizon=H, best_action=seed % A)
    res = ucbvi(mdp, int(K), seed=seed, bonus=BONUS, bonus_scale=BONUS_SCALE)
    return {"regret": float(res.cumulative_regret[-1]), "gap": gap}


def _curve_measure(ctx: RunContext, bonus: str) -> Measurement:
    K_max = 20000 if ctx.quick else 80000
    rows = ctx.sweep(riverswim_curve, {"K_max": [K_max], "n_points": [5], "bonus": [bonus]},
                     name=f"tabular_regret.riverswim.{bonus}")
    x = np.asarray(rows[0]["result"]["K"], dtype=float)
    y = np.array([r["result"]["regret"] for r in rows]).T  # (n_points, n_seeds)
    b = bounds.get("tabular_regret_ucbvi").evaluate(S=6, A=2, H=20, K=x, delta=0.1)
    return Measurement("K", x, y, "cumulative regret", bound_values=b,
                       meta={"instance": "riverswim(6, H=20)", "bonus": bonus, "bonus_scale": BONUS_SCALE,
                             "bound_constant": "C = 1 (theorem: 20, plus lower-order terms)"})


def _bandit_measure(ctx: RunContext, family) -> Measurement:
    Ks = [4000, 8000, 16000, 32000, 64000] if ctx.quick else [4000, 8000, 16000, 32000, 64000, 128000, 256000]
    A, H = 4, 10
    rows = ctx.sweep(bandit_regret, {"K": Ks, "family": [family], "A": [A], "H": [H]},
                     name=f"tabular_regret.bandit.{family}")
    x, y = rows_to_matrix(rows, "K", "regret")
    b = bounds.get("tabular_regret_lower").evaluate(S=3, A=A, H=H, K=x) * 0.5 / np.sqrt(3)
    return Measurement("K", x, y, "regret after K episodes", bound_values=b,
                       meta={"family": family, "A": A, "H": H, "bonus": BONUS,
                             "reference": "c H sqrt(A K) with c = 1/2: the instance's own scale"})


CHECK = Check(
    name="tabular_regret",
    title="UCBVI regret on tabular MDPs grows as sqrt(K)",
    source="Azar, Osband & Munos 2017, Minimax Regret Bounds for RL, Theorems 1-2; lower bound: Jaksch et al. 2010",
    claims=[
        Claim(
            name="sqrtK_upper",
            statement="regret(K) = O~(sqrt(K)) on an exploration-hard MDP: log-log slope <= 1/2",
            source="Azar et al. 2017, Theorem 1 (UCBVI-CH) / Theorem 2 (UCBVI-BF)",
            rule=SlopeCI(0.5, mode="below", tol=0.05),
            measure=lambda ctx: _curve_measure(ctx, BONUS),
            negative_control=lambda ctx: _curve_measure(ctx, "none"),
            control_description="exploration bonus removed (greedy on the empirical model): linear regret",
            bound=bounds.get("tabular_regret_ucbvi"),
        ),
        Claim(
            name="sqrtK_tight",
            statement="on the K-dependent hard family regret grows like sqrt(K): slope CI contains 1/2",
            source="Azar et al. 2017, Sec. 5 / Jaksch et al. 2010, Thm 5 (lower-bound construction)",
            rule=SlopeCI(0.5, mode="contains", tol=0.1),
            measure=lambda ctx: _bandit_measure(ctx, "k_dependent"),
            negative_control=lambda ctx: _bandit_measure(ctx, 0.3),
            control_description="a fixed-gap instance (gap 0.3): logarithmic regret, slope far below 1/2",
            bound=bounds.get("tabular_regret_lower"),
        ),
    ],
)
