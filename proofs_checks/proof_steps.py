"""Proof steps: the lemmas the covered regret proofs lean on, checked on random instances.

Each claim measures, on random finite-horizon MDPs (a new instance per seed), how far the two sides of a
lemma are apart (exact computation, :mod:`rltheory.lemmas`), and requires the gap to stay at rounding level
(or, for the elliptical potential lemma, the sum to stay below the bound) on every seed. Each negative
control is the classic slip in the same computation, which must be caught.
"""
from __future__ import annotations

import numpy as np

from rltheory import TabularMDP
from rltheory.lemmas import (
    elliptical_potential,
    elliptical_potential_bound,
    performance_difference,
    simulation_lemma,
    total_variance_decomposition,
)
from rltheory.solvers import evaluate, occupancy, q_values

from .framework import BoundHolds, Check, Claim, Measurement, RunContext, rows_to_matrix

TOL = 1e-9  # rounding level for identities between O(H) quantities computed in float64


def _instance(S, A, H, seed):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.5), size=(H, S, A))
    R = rng.random((H, S, A)) / H
    mdp = TabularMDP(P, R, horizon=H, mu0=rng.dirichlet(np.ones(S)))
    return mdp, rng


def ltv_gap(H, seed, broken=False):
    """|Var[G] - (E sum Var_P V + E sum Var_pi Q + Var_mu0 V_0)| / max(Var, 1e-12); broken: policy term dropped."""
    mdp, rng = _instance(6, 3, int(H), seed)
    pol = rng.dirichlet(np.ones(3), size=(int(H), 6))
    out = total_variance_decomposition(mdp, pol)
    rhs = out["rhs"] - (out["policy_term"] if broken else 0.0)
    return {"gap": abs(out["variance"] - rhs) / max(out["variance"], 1e-12), "variance": out["variance"]}


def pdl_gap(H, seed, broken=False):
    """Performance-difference lemma; broken: advantages weighted by the OLD policy's occupancy."""
    mdp, rng = _instance(6, 3, int(H), seed)
    new = rng.integers(0, 3, size=(int(H), 6))
    old = rng.dirichlet(np.ones(3), size=(int(H), 6))
    if not broken:
        out = performance_difference(mdp, new, old)
        return {"gap": abs(out["lhs"] - out["rhs"]) / max(abs(out["lhs"]), 1e-12)}
    Vo = evaluate(mdp, old)
    adv = q_values(mdp, old) - Vo[:-1, :, None]
    lhs = float(mdp.mu0 @ (evaluate(mdp, new)[0] - Vo[0]))
    rhs = float((occupancy(mdp, old) * adv).sum())
    return {"gap": abs(lhs - rhs) / max(abs(lhs), 1e-12)}


def sim_gap(H, seed, broken=False):
    """Simulation lemma; broken: model differences weighted by the occupancy under the WRONG model."""
    mdp, rng = _instance(6, 3, int(H), seed)
    other = TabularMDP(rng.dirichlet(np.full(6, 0.5), size=(int(H), 6, 3)), mdp.R, horizon=int(H), mu0=mdp.mu0)
    pol = rng.dirichlet(np.ones(3), size=(int(H), 6))
    if not broken:
        out = simulation_lemma(mdp, other, pol)
        return {"gap": abs(out["lhs"] - out["rhs"]) / max(abs(out["lhs"]), 1e-12)}
    out = simulation_lemma(other, mdp, pol)  # roles swapped: occupancy of mdp, values of other
    lhs = -out["lhs"]
    rhs = float((occupancy(mdp, pol) * np.einsum("hsat,ht->hsa", other.P - mdp.P, evaluate(mdp, pol)[1:])).sum())
    return {"gap": abs(lhs - rhs) / max(abs(lhs), 1e-12)}


def elliptical_sum(K, seed, d=5, lam=1.0):
    """sum_k min(1, ||x_k||^2_{Sigma_{k-1}^-1}) for K random unit vectors in R^d."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(int(K), d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return {"sum": float(elliptical_potential(X, lam)[-1])}


def _identity_claim(name, fn, statement, source, control_desc, quick_H, full_H):
    def measure(ctx: RunContext, broken=False):
        grid = {"H": quick_H if ctx.quick else full_H}
        if broken:
            grid["broken"] = [True]
        rows = ctx.sweep(fn, grid, name=f"proof_steps.{name}{'.control' if broken else ''}")
        x, y = rows_to_matrix(rows, "H", "gap")
        return Measurement("H", x, y, "relative gap |lhs - rhs|", bound_values=np.full(x.shape, TOL),
                           meta={"tolerance": TOL})

    return Claim(name=name, statement=statement, source=source, rule=BoundHolds("upper"),
                 measure=measure, negative_control=lambda ctx: measure(ctx, broken=True),
                 control_description=control_desc)


def _elliptical_measure(ctx: RunContext, broken=False):
    d = 5
    Ks = [50, 200, 800, 3200] if ctx.quick else [50, 200, 800, 3200, 12800]
    rows = ctx.sweep(elliptical_sum, {"K": Ks}, name="proof_steps.elliptical")
    x, y = rows_to_matrix(rows, "K", "sum")
    bound = elliptical_potential_bound(x, d, 1.0, 1.0)
    if broken:
        bound = elliptical_potential_bound(x, 1, 1.0 / d, 1.0) / 1.0  # 2 log(1 + K/lam): the factor d dropped
    return Measurement("K", x, y, "sum_k min(1, ||x_k||^2_{Sigma^-1})", bound_values=bound,
                       meta={"d": d, "lambda": 1.0, "L": 1.0})


CHECK = Check(
    name="proof_steps",
    title="Lemmas behind the regret proofs: total variance, performance difference, simulation, elliptical potential",
    source="Azar et al. 2013/2017; Kakade & Langford 2002; Kearns & Singh 2002; Abbasi-Yadkori et al. 2011",
    claims=[
        _identity_claim(
            "total_variance", ltv_gap,
            "Var^pi[sum_h r_h] = E[sum_h Var_{P_h} V_{h+1} + sum_h Var_{pi_h} Q_h] + Var_{mu0} V_0 (law of total variance)",
            "Azar, Munos & Kappen 2013, Lemma 4; Azar et al. 2017, Eq. (9)",
            "drop the policy-randomness term Var_pi Q (valid only for deterministic policies)",
            [2, 4, 8, 16], [2, 4, 8, 16, 32, 64]),
        _identity_claim(
            "performance_difference", pdl_gap,
            "V^pi'(mu0) - V^pi(mu0) = sum_h E_{d^pi'_h}[Q^pi_h - V^pi_h]",
            "Kakade & Langford 2002, Lemma 6.1",
            "weight the advantages by the old policy's occupancy d^pi instead of d^pi'",
            [2, 4, 8, 16], [2, 4, 8, 16, 32, 64]),
        _identity_claim(
            "simulation_lemma", sim_gap,
            "V^pi_M'(mu0) - V^pi_M(mu0) = sum_h E_{d^pi_{M',h}}[(P'_h - P_h) V^pi_{M,h+1}]",
            "Kearns & Singh 2002; Agarwal, Jiang, Kakade & Sun, RL: Theory and Algorithms, Lemma 2.2",
            "weight the model difference by the occupancy under the other model",
            [2, 4, 8, 16], [2, 4, 8, 16, 32, 64]),
        Claim(
            name="elliptical_potential",
            statement="sum_k min(1, ||x_k||^2_{Sigma_{k-1}^-1}) <= 2 d log(1 + K L^2/(d lambda))",
            source="Abbasi-Yadkori, Pal & Szepesvari 2011, Lemma 11",
            rule=BoundHolds("upper"),
            measure=_elliptical_measure,
            negative_control=lambda ctx: _elliptical_measure(ctx, broken=True),
            control_description="the same sums against the bound with the dimension factor dropped, 2 log(1 + K/lambda)",
        ),
    ],
)
