"""The effective horizon bounds GORP's sample complexity (Laidlaw, Russell & Dragan, NeurIPS 2023, Thm 5.4).

Claim ``gorp_within_bound``: on every MDP of the built-in deterministic suite (:func:`mdps.eh_suite.eh_suite`),
GORP with lookahead ``k`` needs no more episodes than ``T A^k m_k`` — the budget of Theorem 5.4 with the
exact ``m_k`` of the simple effective-horizon bound — to return an optimal policy in at least half of the runs
(8 runs per m, m doubled from 1). ``k`` is the one minimising ``T A^k m_k`` among ``A^k <= 256``.
Negative control: the same measurements against the bound with the exponent forced to 0 (``k = 0, m = 1``:
"T episodes suffice"), which GORP exceeds on the suite.

Not yet covered (see the notes): the rank-correlation claims against reference learners and the SQIRL bounds.
"""
from __future__ import annotations

import numpy as np

from mdps.eh_suite import eh_suite
from rltheory import bounds
from rltheory.algorithms.effective_horizon import gorp_sample_complexity
from rltheory.analysis.effective_horizon import simple_effective_horizon

from .framework import BoundHolds, Check, Claim, Measurement, RunContext, rows_to_matrix

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
    ],
)
