"""Independent validation of the optimum the checks measure against (a hard invariant of every measurement).

A measured value is judged against ``V*`` from the shared solver (:func:`rltheory.solvers.solve`). If that solver
returned a sub-optimal "optimum", every success judged against it would be overstated and every value above it
unnoticed; so the checks validate it here with plain NumPy (no solver kernel): the Bellman optimality residual of
the returned ``V`` (finite horizon: ``||V_h - max_a (R_h + P_h V_{h+1})||_inf`` summed over ``h``, which bounds
``||V_0 - V*_0||_inf``) and the exact value of the returned greedy policy, which must attain ``V``.
"""
from __future__ import annotations

import numpy as np

from rltheory.solvers import solve

__all__ = ["certified_optimum", "V_STAR_TOL"]

#: tolerance on the certificate and on value comparisons (values are O(H) sums of O(1) rewards)
V_STAR_TOL = 1e-8


def _numpy_policy_value(P4, R3, H, pol, mu0) -> float:
    S = R3.shape[1]
    V = np.zeros(S)
    for h in range(H - 1, -1, -1):
        Ph = P4[h if P4.shape[0] > 1 else 0]
        Rh = R3[h if R3.shape[0] > 1 else 0]
        a = pol[h]
        V = Rh[np.arange(S), a] + Ph[np.arange(S), a] @ V
    return float(mu0 @ V)


def certified_optimum(mdp) -> tuple[float, float, list[str]]:
    """``V*(mu0)`` of a finite-horizon MDP from the shared solver, with an independent certificate.

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.

    Returns
    -------
    v_star : float
        ``sum_s mu0(s) V_0(s)`` of the solver's ``V``.
    error : float
        Certified bound on ``|v_star - V*(mu0)|``: the summed Bellman optimality residual
        ``sum_h max_s |V_h(s) - max_a (R_h(s, a) + sum_{s'} P_h(s'|s, a) V_{h+1}(s'))|`` (each backup is
        non-expansive), plus the gap between ``v_star`` and the exact value of the solver's greedy policy.
    problems : list of str
        Messages for the measurement's ``invariant_violations`` when ``error > V_STAR_TOL``.
    """
    res = solve(mdp)
    H = mdp.horizon
    P4 = np.asarray(mdp.P4(), dtype=np.float64)
    R3 = np.asarray(mdp.R3(), dtype=np.float64)
    V = np.asarray(res.V, dtype=np.float64)
    resid = 0.0
    for h in range(H):
        Ph = P4[h if P4.shape[0] > 1 else 0]
        Rh = R3[h if R3.shape[0] > 1 else 0]
        resid += float(np.abs(V[h] - (Rh + Ph @ V[h + 1]).max(axis=1)).max())
    mu0 = np.asarray(mdp.mu0, dtype=np.float64)
    v_star = float(mu0 @ V[0])
    vpol = _numpy_policy_value(P4, R3, H, np.asarray(res.policy, dtype=np.int64), mu0)
    err = resid + abs(v_star - vpol)
    problems = []
    if resid > V_STAR_TOL:
        problems.append(f"V* from the solver is not a Bellman optimality fixed point (residual {resid:.3g})")
    if abs(v_star - vpol) > V_STAR_TOL:
        problems.append(f"the solver's greedy policy gets {vpol:.6g}, not its V* {v_star:.6g}")
    return v_star, err, problems
