"""Problem quantities of latent MDPs (Zhou, Wang & Du, ICML 2023): the transition degree ``Gamma``, two candidate
definitions of ``Var*`` and the regret of a sequence of policies.

``Var*`` — the paper calls it "a variance quantity describing the determinism of the LMDP"; its exact definition was
**not retrieved**. We compute both candidates of the LMDP paper note (§II.3), **our
reconstruction**:

* ``"within"`` (candidate A): ``Var_A^pi = sum_m w_m E_{s_1 ~ nu_m}[Var^pi_m(sum_h r_h | s_1)]``, equal by the law of
  total variance to ``sum_m w_m E^pi_m[sum_h V(P_m(.|s_h,a_h), alpha^pi_{m,h+1})]`` — the total variance of the
  alpha vectors within each context; zero on deterministic LMDPs;
* ``"total"`` (candidate B): ``Var^pi(sum_h r_h)`` under the mixture (adds the randomness of the context and of the
  initial state).

Both are evaluated at an optimal policy ``pi*`` (the belief-DP plan); where the paper's definition would take a
maximum over policies, :func:`var_star` accepts further plans built on the true model and returns the maximum.
"""
from __future__ import annotations

import numpy as np

from ..._validation import check_type
from ...models.latent import LatentMDP
from ...solvers.lmdp import BeliefPlan, evaluate_plan, return_moments, solve_lmdp

__all__ = ["transition_degree", "var_star", "lmdp_regret", "VAR_CANDIDATES"]

VAR_CANDIDATES = {"within": "var_within", "total": "var_total"}


def transition_degree(lmdp: LatentMDP) -> int:
    """The transition degree ``Gamma = max_{m,s,a} |supp P_m(.|s,a)|`` (paper Sec. 3.1).

    Parameters
    ----------
    lmdp : LatentMDP

    Returns
    -------
    int
    """
    check_type("lmdp", lmdp, LatentMDP)
    return lmdp.Gamma


def var_star(lmdp: LatentMDP, *, candidate: str = "within", plans=(), max_nodes: int | None = None) -> float:
    """``Var*`` under candidate definition ``"within"`` (A) or ``"total"`` (B) — our reconstruction (module docstring).

    Evaluated at ``pi*`` and, if given, the maximum over further ``plans`` built on the true model.

    Parameters
    ----------
    lmdp : LatentMDP
    candidate : {"within", "total"}
        Key of :data:`VAR_CANDIDATES`.
    plans : sequence of BeliefPlan
        Further plans on the true model.
    max_nodes : int, optional
        Belief-graph guard of :func:`~rltheory.solvers.lmdp.solve_lmdp`.

    Returns
    -------
    float
    """
    if candidate not in VAR_CANDIDATES:
        raise ValueError(f"candidate: expected one of {tuple(VAR_CANDIDATES)}, got {candidate!r}")
    kw = {} if max_nodes is None else {"max_nodes": max_nodes}
    key = VAR_CANDIDATES[candidate]
    out = return_moments(lmdp, solve_lmdp(lmdp, **kw))[key]
    for p in plans:
        if not isinstance(p, BeliefPlan):
            raise TypeError(f"plans: expected BeliefPlan entries, got {type(p).__name__}")
        out = max(out, return_moments(lmdp, p)[key])
    return float(out)


def lmdp_regret(lmdp: LatentMDP, plans, *, v_star: float | None = None) -> np.ndarray:
    """Per-episode pseudo-regret ``V* - V^{pi_k}`` of a sequence of plans (exact; its sum is ``Regret(K)``).

    Parameters
    ----------
    lmdp : LatentMDP
    plans : iterable of BeliefPlan
    v_star : float, optional
        ``V*`` if known (default from :func:`~rltheory.solvers.lmdp.solve_lmdp`).

    Returns
    -------
    ndarray, shape (K,)
    """
    vs = solve_lmdp(lmdp).value if v_star is None else float(v_star)
    return np.array([vs - evaluate_plan(lmdp, p)[0] for p in plans], dtype=np.float64)
