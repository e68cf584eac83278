"""The effective horizon bounds GORP's sample complexity (Laidlaw, Russell & Dragan, NeurIPS 2023, Thm 5.4).

Claim ``gorp_within_bound``: on every MDP of the built-in deterministic suite (:func:`mdps.eh_suite.eh_suite`),
GORP with lookahead ``k`` needs no more episodes than ``T A^k m_k`` — the budget of Theorem 5.4 with the
exact ``m_k`` of the simple effective-horizon bound — to return an optimal policy in at least half of the runs
(8 runs per m, m doubled from 1). ``k`` is the one minimising ``T A^k m_k`` among ``A^k <= 256``.
Negative control: the same measurements against the bound with the exponent forced to 0 (``k = 0, m = 1``:
"T episodes suffice"), which GORP exceeds on the suite.

Claim ``k_qvi_common`` (the papers' observation that a few QVI steps from the random policy's Q suffice): on
the deterministic suite and the stochastic suite (:func:`mdps.eh_suite.stochastic_suite`, sticky actions with
p = 0.25 as in the ICLR 2024 paper), the fraction of MDPs with ``min_k <= 2`` is at least 1/2, confirmed by a
one-sided 95% Clopper-Pearson lower limit. Negative control: the same count for the effective planning window
(greedy on immediate rewards plus at most one QVI step, i.e. without the random policy's Q), which must fall
short.

Claim ``rank_correlation``: across the full deterministic suite (27 MDPs, whatever ``--quick``), the Spearman
correlation between the effective-horizon bound ``T A^{H_bar}`` and the sample complexity of epsilon-greedy
Q-learning (median over at least 16 seeds of the episodes until its greedy policy is first optimal; budget
2^17) is at least 0.3 (one-sided 95% bootstrap lower limit over MDPs). Negative control: the same bound values
assigned to the wrong MDPs (a fixed random permutation). The comparison with the horizon-only bound ``A^T``
(the papers' headline) is measured and reported with a paired-bootstrap limit, but does not gate the claim:
on this suite the difference is positive (about +0.15 with 32 seeds) yet its one-sided 95% lower limit is
slightly negative (-0.02 to -0.05 over three seed sets; also with 59 MDPs), so we cannot confirm it here.

Not covered: the ICLR 2024 paper's exact stochastic effective horizon (ours is a reconstruction, see
:mod:`rltheory.analysis.stochastic_horizon`), SQIRL's bound, and the Berry-Esseen bounds of Appendix C.
"""
from __future__ import annotations

import numpy as np

from mdps.eh_suite import eh_suite, stochastic_suite
from rltheory import bounds
from rltheory.algorithms.effective_horizon import gorp_sample_complexity
from rltheory.algorithms.tabular.qlearning import qlearning
from rltheory.analysis.effective_horizon import epw, min_k, simple_effective_horizon
from rltheory.analysis.sample_complexity import first_success_quantile
from rltheory.analysis.stochastic_horizon import stochastic_analysis

from .framework import (BoundHolds, Check, Claim, FractionAtLeast, Measurement, RankCorrelationAbove, RunContext,
                        rows_to_matrix)

QLEARNING_BUDGET = 2**17
QLEARNING_EPSILON = 0.1

_T, _A, _k, _m = (bounds.sym(n) for n in ("T", "A", "k", "m"))
bounds.register(bounds.Bound(
    "gorp_sample_complexity", _T * _A ** _k * _m, kind="upper",
    source="Laidlaw, Russell & Dragan 2023, Bridging RL Theory and Practice with the Effective Horizon, Thm 5.4",
    assumptions=("deterministic MDP", "m = m_k of the simple effective-horizon bound", "success probability >= 1/2"),
    notes="T A^k m_k = T A^{H_k}: exponential in the effective horizon, not in T",
))


def gorp_vs_bound(index, quick, seed):
    """GORP's measured episodes and the Theorem 5.4 budget on suite MDP number ``index``."""
    name, mdp = eh_suite(quick=bool(quick))[int(index)]
    eh = simple_effective_horizon(mdp)
    T, A = mdp.horizon, mdp.A
    cands = sorted((T * A ** k * m, k, m) for k, m in zip(eh.ks, eh.ms) if A ** k <= 256)
    if not cands:
        return {"name": name, "episodes": float("nan"), "bound": float("nan"), "T": T}
    budget, k, m_k = cands[0]
    m_found, episodes = gorp_sample_complexity(mdp, k, seeds=range(seed, seed + 8), m_max=min(m_k, 2 ** 14))
    if m_found is None:  # GORP did not succeed within the theorem's m: the claim is violated here
        m_found, episodes = 2 * m_k, float(T * A ** k * 2 * m_k)
    return {"name": name, "episodes": float(episodes), "bound": float(budget), "T": T, "k": k, "m_k": int(m_k),
            "m_found": int(m_found), "effective_horizon": eh.value}


def _measure(ctx: RunContext, control: bool) -> Measurement:
    n = len(eh_suite(quick=ctx.quick))
    rows = ctx.sweep(gorp_vs_bound, {"index": list(range(n)), "quick": [bool(ctx.quick)]},
                     name="effective_horizon.gorp", seeds=[ctx.seed])
    x, y = rows_to_matrix(rows, "index", "episodes")
    res = {r["params"]["index"]: r["result"] for r in rows}
    bound = np.array([res[int(i)]["T"] if control else res[int(i)]["bound"] for i in x])
    return Measurement("suite MDP #", x + 1, y, "GORP episodes to succeed w.p. >= 1/2", bound_values=bound,
                       meta={"mdps": [res[int(i)]["name"] for i in x],
                             "effective_horizon": [res[int(i)].get("effective_horizon") for i in x],
                             "k": [res[int(i)].get("k") for i in x], "m_k": [res[int(i)].get("m_k") for i in x],
                             "m_found": [res[int(i)].get("m_found") for i in x]})


def qvi_depths(index, quick, seed):
    """min_k and epw of MDP ``index`` of the deterministic suite followed by the stochastic suite."""
    det = eh_suite(quick=bool(quick))
    if index < len(det):
        name, mdp = det[index]
        return {"name": name, "min_k": min_k(mdp), "epw": epw(mdp), "stochastic": False}
    name, mdp = stochastic_suite(quick=bool(quick))[index - len(det)]
    a = stochastic_analysis(mdp, k_max=1)
    return {"name": name, "min_k": a.min_k, "epw": a.epw, "stochastic": True}


def _qvi_measure(ctx: RunContext, key: str) -> Measurement:
    n = len(eh_suite(quick=ctx.quick)) + len(stochastic_suite(quick=ctx.quick))
    rows = ctx.sweep(qvi_depths, {"index": list(range(n)), "quick": [bool(ctx.quick)]},
                     name="effective_horizon.qvi", seeds=[ctx.seed])
    x, y = rows_to_matrix(rows, "index", key)
    res = {r["params"]["index"]: r["result"] for r in rows}
    y = np.where(y < 0, np.inf, y)  # -1: not solvable within T + 1 steps
    return Measurement("suite MDP #", x + 1, y, f"{key} (QVI steps + 1 needed)", bound_values=np.full(len(x), 2.0),
                       meta={"mdps": [res[int(i)]["name"] for i in x]})


def qlearning_first_optimal(index, seed):
    """Episodes until epsilon-greedy Q-learning's greedy policy is first optimal on full-suite MDP ``index``."""
    name, mdp = eh_suite(quick=False)[int(index)]
    res = qlearning(mdp, QLEARNING_BUDGET, seed=int(seed), epsilon=QLEARNING_EPSILON)
    eh = simple_effective_horizon(mdp)
    T, A = mdp.horizon, mdp.A
    return {"name": name, "episodes": res.first_optimal(), "eh_bound": float(T * float(A) ** eh.value),
            "horizon_bound": float(float(A) ** T), "effective_horizon": eh.value, "T": T, "S": mdp.S, "A": A}


def _corr_measure(ctx: RunContext, shuffle: bool) -> Measurement:
    n = len(eh_suite(quick=False))
    rows = ctx.sweep(qlearning_first_optimal, {"index": list(range(n))}, name="effective_horizon.qlearning",
                     seeds=ctx.seed_list(max(ctx.seeds, 16)))
    x, y = rows_to_matrix(rows, "index", "episodes")
    res = {r["params"]["index"]: r["result"] for r in rows}
    agg = np.array([first_success_quantile(y[i]) for i in range(len(x))])
    eh_b = np.array([res[int(i)]["eh_bound"] for i in x])
    hz_b = np.array([res[int(i)]["horizon_bound"] for i in x])
    cand = eh_b[np.random.default_rng(12345).permutation(len(eh_b))] if shuffle else eh_b
    return Measurement("suite MDP #", x + 1, y, "Q-learning episodes to a first optimal greedy policy",
                       bound_values=cand,
                       meta={"aggregate": agg.tolist(), "comparator": hz_b.tolist(), "comparator_name": "A^T",
                             "candidate": "T A^H_bar" + (" (permuted)" if shuffle else ""),
                             "mdps": [res[int(i)]["name"] for i in x],
                             "effective_horizon": [res[int(i)]["effective_horizon"] for i in x],
                             "epsilon": QLEARNING_EPSILON, "budget": QLEARNING_BUDGET})


CHECK = Check(
    name="effective_horizon",
    title="GORP's sample complexity is bounded by the effective horizon",
    source="Laidlaw, Russell & Dragan, NeurIPS 2023 (arXiv 2304.09853)",
    claims=[
        Claim("gorp_within_bound", "GORP succeeds within T A^k m_k episodes on every suite MDP",
              "Laidlaw et al. 2023, Theorem 5.4", BoundHolds("upper"),
              lambda ctx: _measure(ctx, False), lambda ctx: _measure(ctx, True),
              "the bound with the exponent forced to 0 (k = 0, m = 1: T episodes)",
              bound=bounds.get("gorp_sample_complexity")),
        Claim("k_qvi_common", "at least half of the suite MDPs (deterministic and sticky-action) have min_k <= 2",
              "Laidlaw et al. 2023, Sec. 5 (k-QVI-solvability); Laidlaw et al. 2024, Sec. 3",
              FractionAtLeast(0.5, "upper"), lambda ctx: _qvi_measure(ctx, "min_k"),
              lambda ctx: _qvi_measure(ctx, "epw"),
              "the effective planning window (QVI started from immediate rewards, not from Q of the random policy)"),
        Claim("rank_correlation", "the effective-horizon bound T A^H_bar rank-correlates with Q-learning's sample "
              "complexity (rho >= 0.3); the comparison with A^T is reported",
              "Laidlaw et al. 2023, Sec. 6 (bounds vs PPO/DQN sample complexity on BRIDGE)",
              RankCorrelationAbove(0.3, require_better=False), lambda ctx: _corr_measure(ctx, False),
              lambda ctx: _corr_measure(ctx, True),
              "the same bound values assigned to the wrong MDPs (fixed random permutation)"),
    ],
)
