"""Proof steps: the lemmas the covered regret proofs lean on, checked on random instances.

The measurements and claims of the check: ``CHECK`` lists the claims, each with its rule and negative control
(``rltheory list``); the sweep sizes are in :mod:`proofs_checks.proof_steps.settings`, the bounds in
:mod:`proofs_checks.proof_steps.bounds`, the mutants in :mod:`proofs_checks.proof_steps.mutants`. What the claims
mean, where the measurements deviate from the paper and why the check is built this way:
``proofs_checks/proof_steps/FINDINGS.md``.
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

from .._settings import sizes
from .mutants import MUTANTS
from .settings import ELL_D, ELL_L, ELL_LAM, SIZES, TOL
from .bounds import BOUNDS
from ..framework import BoundHolds, Check, Claim, Measurement, RunContext, rows_to_matrix


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


REFERENCE_POTENTIAL = "rltheory.lemmas:elliptical_potential"


def _ell_vectors(K, seed, d=ELL_D, L=ELL_L):
    """The instance of one seed: even seeds cycle through a random orthonormal basis (scaled by ``L``), where the
    determinant step ``det Sigma_K <= (trace Sigma_K / d)^d`` is an equality at multiples of ``d`` (the bound is
    nearly attained); odd seeds draw i.i.d. directions uniform on the sphere of radius ``L``."""
    rng = np.random.default_rng(seed)
    if seed % 2 == 0:
        Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
        return L * Q[:, np.arange(int(K)) % d].T.copy()
    X = rng.normal(size=(int(K), d))
    return L * X / np.linalg.norm(X, axis=1, keepdims=True)


def _potential_fn(spec):
    """The running-sum function under test: ``spec`` names ``fn(X, *, lam) -> (K,)`` running sums of
    ``min(1, ||x_k||^2_{Sigma_{k-1}^{-1}})`` (the ``"elliptical_potential"`` protocol); ``None`` is the reference
    :func:`rltheory.lemmas.elliptical_potential`."""
    if spec is None:
        return elliptical_potential
    from ..learners import resolve_learner

    return resolve_learner(spec)


def elliptical_sum(K, seed, fn=None, broken=""):
    """Both sides of the elliptical potential lemma and of its two proof steps on one instance.

    ``sum`` = ``sum_k min(1, ||x_k||^2_{Sigma_{k-1}^{-1}})`` as computed by the function under test (``fn``, a
    learner spec; ``None`` = the reference), ``bound`` = ``2 d log(1 + K L^2 / (d lambda))``;
    ``logdet`` = ``log det Sigma_K - log det Sigma_0`` computed independently (``slogdet`` of the explicit matrix);
    ``sandwich_violation`` = relative distance of ``sum`` outside ``[logdet, 2 logdet]`` (0 inside), which holds
    exactly because every ``u = ||x_k||^2_{Sigma_{k-1}^{-1}} <= L^2 / lambda <= e - 1`` gives
    ``log(1 + u) <= min(1, u) <= 2 log(1 + u)``; ``step_gap`` = ``max_k |min(1, u_k) - min(1, det Sigma_k /
    det Sigma_{k-1} - 1)|`` (matrix determinant lemma, each increment of the running sum against the independently
    computed determinant ratio). ``broken``: the negative controls' slips in the reference computation,
    ``"off_by_one"`` (``Sigma_k`` in place of ``Sigma_{k-1}``) or ``"ignore_lambda"`` (``Sigma_0 = I``)."""
    X = _ell_vectors(int(K), seed)
    d = X.shape[1]
    if broken == "off_by_one":
        S = ELL_LAM * np.eye(d)
        run = np.empty(len(X))
        tot = 0.0
        for k, x in enumerate(X):
            S += np.outer(x, x)
            tot += min(1.0, float(x @ np.linalg.solve(S, x)))
            run[k] = tot
    elif broken == "ignore_lambda":
        run = elliptical_potential(X, lam=1.0)
    else:
        run = np.asarray(_potential_fn(fn)(X, lam=ELL_LAM), dtype=np.float64)
    if run.shape != (len(X),):
        raise ValueError(f"fn: expected running sums of shape ({len(X)},), got {run.shape}")
    S = ELL_LAM * np.eye(d)
    logdets = np.empty(len(X) + 1)
    logdets[0] = d * np.log(ELL_LAM)
    for k, x in enumerate(X):
        S += np.outer(x, x)
        logdets[k + 1] = np.linalg.slogdet(S)[1]
    ld = float(logdets[-1] - logdets[0])
    # a function under test may return inf or NaN sums: inf - inf is NaN here, and the rules judge the NaN (a
    # failed claim) instead of NumPy warning on stderr
    with np.errstate(invalid="ignore", over="ignore"):
        inc = np.diff(np.concatenate([[0.0], run]))
        det_inc = np.minimum(1.0, np.expm1(np.diff(logdets)))
        total = float(run[-1])
        viol = max(ld - total, total - 2.0 * ld, 0.0) / ld
        step_gap = float(np.max(np.abs(inc - det_inc)))
    return {"sum": total, "bound": float(elliptical_potential_bound(K, d, lam=ELL_LAM, L=ELL_L)), "logdet": ld,
            "sandwich_violation": float(viol), "step_gap": step_gap,
            "inc_min": float(inc.min()), "inc_max": float(inc.max())}


def _identity_claim(name, fn, statement, source, control_desc):
    def measure(ctx: RunContext, broken=False):
        grid = {"H": list(sizes(SIZES, ctx)["identity_Hs"])}
        if broken:
            grid["broken"] = [True]
        rows = ctx.sweep(fn, grid, name=f"proof_steps.{name}{'.control' if broken else ''}")
        x, y = rows_to_matrix(rows, "H", "gap")
        return Measurement("H", x, y, "relative gap |lhs - rhs|", bound_values=np.full(x.shape, TOL),
                           meta={"tolerance": TOL})

    return Claim(name=name, statement=statement, source=source, rule=BoundHolds(kind="upper"),
                 measure=measure, negative_control=lambda ctx: measure(ctx, broken=True),
                 control_description=control_desc)


def _ell_rows(ctx: RunContext, broken: str = ""):
    Ks = list(sizes(SIZES, ctx)["elliptical_Ks"])
    learner = None if broken else ctx.learner
    grid = {"K": Ks, "fn": [learner]}
    if broken:
        grid["broken"] = [broken]
    return ctx.sweep(elliptical_sum, grid, name=f"proof_steps.elliptical{'.' + broken if broken else ''}")


def _ell_meta(rows):
    x, s = rows_to_matrix(rows, "K", "sum")
    _, ld = rows_to_matrix(rows, "K", "logdet")
    _, b = rows_to_matrix(rows, "K", "bound")
    return {"d": ELL_D, "lambda": ELL_LAM, "L": ELL_L, "family": "even seeds: rotated basis cycled; odd: sphere",
            "sum / bound (mean)": (s / b).mean(axis=1).round(4).tolist(),
            "sum / (2 logdet) (mean)": (s / (2 * ld)).mean(axis=1).round(4).tolist()}


def _increments_in_unit_interval(m: Measurement, rows) -> Measurement:
    """Invariant: every term ``min(1, u_k)`` of the running sum lies in ``[0, 1]``."""
    lo = min(r["result"]["inc_min"] for r in rows)
    hi = max(r["result"]["inc_max"] for r in rows)
    m.require(lo >= -TOL and hi <= 1 + TOL, f"terms min(1, u_k) in [0, 1] (measured [{lo:.3g}, {hi:.3g}])")
    return m


def _elliptical_measure(ctx: RunContext, broken=False):
    rows = _ell_rows(ctx)
    x, y = rows_to_matrix(rows, "K", "sum")
    _, bound = rows_to_matrix(rows, "K", "bound")
    if broken:
        # 2 log(1 + K L^2 / lambda): the factor d dropped
        bound = elliptical_potential_bound(x, 1, lam=ELL_LAM, L=ELL_L)
    else:
        bound = bound[:, 0]  # the same at every seed
    return _increments_in_unit_interval(
        Measurement("K", x, y, "sum_k min(1, ||x_k||^2_{Sigma_{k-1}^-1})", bound_values=bound, meta=_ell_meta(rows)),
        rows)


def _sandwich_measure(ctx: RunContext, broken: str = ""):
    rows = _ell_rows(ctx, broken)
    x, y = rows_to_matrix(rows, "K", "sandwich_violation")
    return _increments_in_unit_interval(
        Measurement("K", x, y, "relative distance of the sum outside [logdet, 2 logdet]",
                    bound_values=np.full(x.shape, TOL), meta=_ell_meta(rows)), rows)


def _step_measure(ctx: RunContext, broken: str = ""):
    rows = _ell_rows(ctx, broken)
    x, y = rows_to_matrix(rows, "K", "step_gap")
    return _increments_in_unit_interval(
        Measurement("K", x, y, "max_k |increment_k - min(1, det Sigma_k / det Sigma_{k-1} - 1)|",
                    bound_values=np.full(x.shape, TOL), meta=_ell_meta(rows)), rows)


CHECK = Check(
    name="proof_steps",
    title="Lemmas behind the regret proofs: total variance, performance difference, simulation, elliptical potential",
    source="Azar et al. 2013/2017; Kakade & Langford 2002; Kearns & Singh 2002; Abbasi-Yadkori et al. 2011",
    claims=[
        _identity_claim(
            "total_variance", ltv_gap,
            "Var^pi[sum_h r_h] = E[sum_h Var_{P_h} V_{h+1} + sum_h Var_{pi_h} Q_h] + Var_{mu0} V_0 (law of total variance)",
            "Azar, Munos & Kappen 2013, Lemma 4; Azar et al. 2017, Eq. (9)",
            "drop the policy-randomness term Var_pi Q (valid only for deterministic policies)"),
        _identity_claim(
            "performance_difference", pdl_gap,
            "V^pi'(mu0) - V^pi(mu0) = sum_h E_{d^pi'_h}[Q^pi_h - V^pi_h]",
            "Kakade & Langford 2002, Lemma 6.1",
            "weight the advantages by the old policy's occupancy d^pi instead of d^pi'"),
        _identity_claim(
            "simulation_lemma", sim_gap,
            "V^pi_M'(mu0) - V^pi_M(mu0) = sum_h E_{d^pi_{M',h}}[(P'_h - P_h) V^pi_{M,h+1}]",
            "Kearns & Singh 2002; Agarwal, Jiang, Kakade & Sun, RL: Theory and Algorithms, Lemma 2.2",
            "weight the model difference by the occupancy under the other model"),
        Claim(
            name="elliptical_potential",
            uses_learner=True,
            statement="sum_k min(1, ||x_k||^2_{Sigma_{k-1}^-1}) <= 2 d log(1 + K L^2/(d lambda)), on instances where "
                      "min(1, .) binds (L^2 / lambda = 1.5)",
            source="Abbasi-Yadkori, Pal & Szepesvari 2011, Lemma 11",
            rule=BoundHolds(kind="upper"),
            measure=_elliptical_measure,
            negative_control=lambda ctx: _elliptical_measure(ctx, broken=True),
            control_description="the same sums against the bound with the dimension factor dropped, 2 log(1 + K "
                                "L^2/lambda)",
        ),
        Claim(
            name="elliptical_sandwich",
            uses_learner=True,
            statement="log det(Sigma_K / Sigma_0) <= sum_k min(1, ||x_k||^2_{Sigma_{k-1}^-1}) <= 2 log det(Sigma_K / "
                      "Sigma_0) when L^2 / lambda <= e - 1 (the lemma's first step, two-sided)",
            source="Abbasi-Yadkori, Pal & Szepesvari 2011, proof of Lemma 11 (min(1, u) <= 2 log(1 + u)); the lower "
                   "side log(1 + u) <= min(1, u) for u <= e - 1",
            rule=BoundHolds(kind="upper"),
            measure=_sandwich_measure,
            negative_control=lambda ctx: _sandwich_measure(ctx, "off_by_one"),
            control_description="the norm taken in Sigma_k instead of Sigma_{k-1} (u / (1 + u)), below the floor",
        ),
        Claim(
            name="determinant_step",
            uses_learner=True,
            statement="each term min(1, ||x_k||^2_{Sigma_{k-1}^-1}) = min(1, det Sigma_k / det Sigma_{k-1} - 1) "
                      "(matrix determinant lemma), the determinants computed independently",
            source="Abbasi-Yadkori, Pal & Szepesvari 2011, proof of Lemma 11 (det Sigma_k = det Sigma_{k-1} "
                   "(1 + ||x_k||^2_{Sigma_{k-1}^-1}))",
            rule=BoundHolds(kind="upper"),
            measure=_step_measure,
            negative_control=lambda ctx: _step_measure(ctx, "ignore_lambda"),
            control_description="the regulariser ignored (Sigma_0 = I while lambda = 2/3)",
        ),
    ],
    protocol="elliptical_potential",
    mutants=MUTANTS,
    bounds=BOUNDS,
)
