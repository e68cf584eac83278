"""RCSL vs Bellman completeness (Zhou, Zhu, Zhou, Cui, Gupta & Du, ICLR 2024; Zanette, ICML 2023).

The measurements and claims of the check: ``CHECK`` lists the claims, each with its rule and negative control
(``rltheory list``); the sweep sizes are in :mod:`proofs_checks.rcsl_bellman.settings`, the bounds in
:mod:`proofs_checks.rcsl_bellman.bounds`, the mutants in :mod:`proofs_checks.rcsl_bellman.mutants`. What the claims
mean, where the measurements deviate from the paper and why the check is built this way:
``proofs_checks/rcsl_bellman/FINDINGS.md``.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

import mdps
from mdps.eh_suite import random_deterministic
from rltheory.algorithms.rcsl import (knot_hidden_width, safe_width, skewed_weights, smallest_passing_width, width_scan,
                                      bellman_backup_q, bellman_misalignment, behaviour_cloning, evaluate_return_conditioned, expected_td,
                                      linear_fqi_population, linear_inherent_bellman_error, mbrcsl, rcsl_mlp,
                                      rcsl_return, rcsl_tabular, relu_interpolant_1d, relu_width_lower_bound_1d, return_distribution,
                                      stitching_dataset, suboptimal_dataset, collect)
from rltheory.solvers import solve

from .._invariants import V_STAR_TOL, certified_optimum
from .._settings import sizes
from .mutants import MUTANTS
from .settings import (BAIRD_GAMMAS, COVERAGE_NS, DELTA, FQI_FAIL_RATE, FQI_GAMMA, FQI_MIN_SEEDS, FQI_NEAR_OPT,
                       FQI_WIDTH_NS, RCSL_RATIO, SIZES, STITCH_HS, TARGET_TOL, TVR_GAMMAS)
from .bounds import BOUNDS, BELLMAN_COMPLETENESS_MLP_WIDTH, RCSL_COVERAGE_DETERMINISTIC, TVR_FQI_GROWTH
from ..framework import BoundHolds, Check, Claim, MeanBound, Measurement, RunContext, SlopeCI, rows_to_matrix


# ------------------------------------------------------------------------------- learners under test


def reference_rcsl(data, seed):
    """The reference ``"return_conditioned"`` learner: tabular Markovian RCSL
    (:func:`rltheory.algorithms.rcsl.rcsl_tabular`, empirical ``pi(a | s, h, g)``, nearest seen ``g`` when unseen)."""
    return rcsl_tabular(data)


def _fit(learner: str, data, seed):
    """``learner``: ``"rcsl"`` (reference), ``"bc"`` (behaviour cloning) or a ``"return_conditioned"`` spec."""
    if learner == "rcsl":
        return rcsl_tabular(data)
    if learner == "bc":
        return behaviour_cloning(data)
    from ..learners import resolve_learner

    pol = resolve_learner(learner)(data, int(seed))
    if not callable(pol):
        raise TypeError(f"learner: the factory must return a callable policy(h, s, g), got {type(pol).__name__}")
    return pol


def _checked(act, A):
    """The policy with its output validated (probabilities over the A actions)."""
    def probs(h, s, g):
        p = np.asarray(act(h, s, g), dtype=np.float64)
        if p.shape != (A,) or not np.all(np.isfinite(p)) or p.min() < 0 or abs(p.sum() - 1) > 1e-6:
            raise ValueError(f"learner: policy(h, s, g) must return {A} probabilities, got {p!r}")
        return p
    return probs


def _execute(mdp, data, pol, g0=None) -> float:
    """Exact return of a learned return-conditioned policy: conditioned on ``g0`` (default: the policy's own
    ``target`` attribute, else the dataset's best return), target updated by its ``next_target(g, r)`` if it has
    one (else ``g - r``)."""
    if g0 is None:
        g0 = float(getattr(pol, "target", data.returns.max()))
    return evaluate_return_conditioned(mdp, _checked(pol, mdp.A), float(g0), getattr(pol, "next_target", None))


# ------------------------------------------------------------------------------------------ sweep functions


def completeness_width(n, target, seed):
    """Exact width lower bound for ``T f`` (witness, ``target='backup'``) or ``Q*_0`` (``'qstar'``)."""
    n = int(n)
    mdp = mdps.separating_family(n, seed=seed)
    f = mdps.separating_witness(n)
    if target == "backup":
        y = bellman_backup_q(mdp, f, h=0)
    else:
        y = solve(mdp).Q[0]
    w = max(relu_width_lower_bound_1d(y[:, a]) for a in range(2))
    # explicit network on (x, a): each slice's interpolant with units gated by the action (relu(x - t - 2a) for
    # a = 0, relu(x - t - 2 + 2a) for a = 1, x in [0, 1]) plus relu(a) for the offset -> a width upper bound
    up = sum(relu_interpolant_1d(y[:, a]).width for a in range(2)) + 1
    return {"width": float(w), "upper": float(up)}


def rcsl_width_run(n, cond, seed):
    n = int(n)
    mdp = mdps.separating_family(n, seed=seed)
    xs, _ = mdps.separating_features(n)
    data = suboptimal_dataset(mdp, 500, seed=seed + 10_000)
    pol = rcsl_mlp(data, 4, xs, cond=bool(cond), seed=seed)
    v_star, err, problems = certified_optimum(mdp)
    return {"ratio": rcsl_return(mdp, data, pol) / v_star, "v_star_error": err, "problems": problems}


def rcsl_coverage_run(N, learner, M, seed):
    """Mean suboptimality over ``M`` datasets of ``N`` uniform-behaviour trajectories on the stitching gridworld
    (``learner`` as in :func:`_fit`); ``min_subopt``: the smallest one (an invariant: >= -certified error)."""
    mdp = mdps.stitching_gridworld(horizon=8)
    uni = np.full((mdp.S, mdp.A), 1.0 / mdp.A)
    v_star, err, problems = certified_optimum(mdp)
    rng = np.random.default_rng(seed)
    sub = []
    for _ in range(int(M)):
        d = collect(mdp, uni, int(N), seed=int(rng.integers(0, 2**31 - 1)))
        sub.append(v_star - _execute(mdp, d, _fit(learner, d, seed)))
    return {"subopt": float(np.mean(sub)), "min_subopt": float(np.min(sub)), "v_star_error": err,
            "problems": problems}


def rcsl_target_run(S, learner, seed):
    """Return-conditioned control in a deterministic MDP: on ``random_deterministic(S, 3, H = 6)`` (half the pairs
    pay U[0, 1]) with ``N = 200`` uniform-behaviour trajectories, the learner is conditioned on five dataset
    returns (the smallest, the largest and three between them); ``gap`` = ``max_g |J(g) - g| / V*``."""
    mdp = random_deterministic(int(S), 3, horizon=6, seed=seed, reward_density=0.5)
    data = collect(mdp, np.full((int(S), 3), 1.0 / 3), 200, seed=int(seed) + 10_000)
    G = np.unique(np.round(data.returns, 9))
    targets = G[np.round(np.linspace(0, len(G) - 1, 5)).astype(int)]
    pol = _fit(learner, data, seed)
    v_star, err, problems = certified_optimum(mdp)
    J = np.array([_execute(mdp, data, pol, g) for g in targets])
    return {"gap": float(np.max(np.abs(J - targets)) / v_star), "max_ratio": float(J.max() / v_star),
            "v_star_error": err, "problems": problems}


def _coverage_bound(N, M):
    mdp = mdps.stitching_gridworld(horizon=8)
    dist = return_distribution(mdp, np.full((mdp.S, mdp.A), 1.0 / mdp.A))
    v_star = float(mdp.mu0 @ solve(mdp).V[0])
    pstar = sum(p for g, p in dist.items() if g >= v_star - 1e-9)
    vr = v_star - min(dist)
    q = RCSL_COVERAGE_DETERMINISTIC.evaluate(V_range=1.0, p=pstar, N=np.asarray(N, float))
    k = stats.binom.ppf(1 - DELTA, int(M), q)
    return vr * k / M, pstar, vr


def tvr_run(gamma, complete, seed):
    ex = mdps.tsitsiklis_van_roy(gamma=float(gamma))
    Phi = np.array([[[1.0, 0.0]], [[0.0, 1.0]]]) if complete else ex.Phi
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=Phi.shape[-1])
    w0 += np.sign(w0) * 0.1
    out = linear_fqi_population(ex.mdp, Phi, ex.mu, iters=500, w0=w0)
    res = linear_inherent_bellman_error(Phi, ex.mdp.P, ex.mdp.R, ex.mu, float(gamma), ex.policy)
    ang = bellman_misalignment(Phi, ex.mdp.P, ex.mu, ex.policy)
    return {"growth": float(out["norms"][-1] / out["norms"][0]), "residual": res["operator_residual"],
            "misalignment": float(ang[0]) if ang.size else 0.0}


def baird_run(gamma, method, seed):
    ex = mdps.bairds_star(gamma=float(gamma))
    rng = np.random.default_rng(seed)
    w0 = np.abs(rng.normal(size=8)) + 0.5
    X = ex.Phi.reshape(-1, 8)
    mu = ex.mu.reshape(-1)
    fnorm = lambda w: float(np.sqrt(np.sum(mu * (X @ w) ** 2)))  # noqa: E731
    if method == "fqi":
        w = linear_fqi_population(ex.mdp, ex.Phi, ex.mu, iters=1000, w0=w0, policy=ex.policy)["w"][-1]
    else:
        w = expected_td(ex.mdp, ex.Phi, ex.mu, ex.policy, alpha=0.01, iters=1000, w0=w0)["w"]
    res = linear_inherent_bellman_error(ex.Phi, ex.mdp.P, ex.mdp.R, ex.mu, float(gamma), ex.policy)
    return {"ratio": fnorm(w) / fnorm(w0), "residual": res["operator_residual"]}


def stitch_run(H, method, seed):
    mdp = mdps.stitching_gridworld(horizon=int(H))
    data = stitching_dataset(mdp, mdps.stitching_behaviours(), 250, seed=seed)
    v_star, err, problems = certified_optimum(mdp)
    if method == "mbrcsl":
        r = mbrcsl(data, n_rollouts=2000, seed=seed)
        v = evaluate_return_conditioned(mdp, r.policy, r.target)
    else:
        v = rcsl_return(mdp, data, rcsl_tabular(data))
    return {"ratio": v / v_star, "best_data": float(data.returns.max()) / v_star, "v_star_error": err,
            "problems": problems}


def fqi_width_run(n, weights, seed):
    """Stationary FQI on ``mdps.realizable_scramble(n)`` for every knot count ``w = 0..n-2`` of the frozen-knot ReLU
    class (realizable at every ``w``, complete at ``w = n - 2``): the fraction of incomplete classes whose greedy
    policy is not near-optimal, over the lower (``w < (n-2)/2``) and upper (``(n-2)/2 <= w < n-2``) halves of the
    knot counts; whether the complete class fails; the smallest and the *safe* hidden width (every larger tested
    knot count near-optimal too)."""
    n = int(n)
    mdp = mdps.realizable_scramble(n, gamma=FQI_GAMMA, seed=seed)
    ws = list(range(n - 1))
    mu = skewed_weights(n, 2, seed=1000 + int(seed)) if weights == "skewed" else np.full((n, 2), 0.5 / n)
    with np.errstate(over="ignore", invalid="ignore"):  # diverging FQI iterates are a measured failure
        sc = width_scan(mdp, np.arange(n) / (n - 1), ws, mu)
    sc = np.where(np.isfinite(sc), sc, -np.inf)
    fail = sc < FQI_NEAR_OPT
    half = int(np.ceil((n - 2) / 2))
    hw = [knot_hidden_width(w) for w in ws]
    return {"fail_upper": float(fail[half:n - 2].mean()), "fail_lower": float(fail[:half].mean()),
            "complete_fails": float(fail[n - 2]),
            "smallest": float(smallest_passing_width(sc[:, None], hw, thr=FQI_NEAR_OPT)[0]),
            "safe": float(safe_width(sc[:, None], hw, thr=FQI_NEAR_OPT)[0])}


# -------------------------------------------------------------------------------------------- measures


def _capped_seeds(ctx: RunContext) -> list:
    """The run's seeds, at most ``max_seeds`` of them at this size (all when it is ``None``)."""
    cap = sizes(SIZES, ctx)["max_seeds"]
    return ctx.seed_list(None if cap is None else min(ctx.seeds, cap))


def _width(ctx: RunContext, target: str):
    ns = list(sizes(SIZES, ctx)["width_ns"])
    rows = ctx.sweep(completeness_width, {"n": ns, "target": [target]}, name=f"rcsl_bellman.width.{target}")
    x, y = rows_to_matrix(rows, "n", "width")
    _, up = rows_to_matrix(rows, "n", "upper")
    return Measurement("|S|", x, y, f"MLP width lower bound for {'T f' if target == 'backup' else 'Q*'}",
                       meta={"family": "separating_family (our reconstruction)", "witness": "relu(x - a)",
                             "explicit_upper_bound_mean": up.mean(axis=1)})


def _value_invariants(m: Measurement, rows, key: str = "ratio", upper: float = 1.0) -> Measurement:
    """Hard invariants of a value measurement: the optimum it is judged against is certified (Bellman residual
    and greedy-policy value, :func:`proofs_checks._invariants.certified_optimum`), and no measured ``key`` exceeds
    ``upper`` (a value above V*, relative) beyond the certified error."""
    probs = sorted({p for r in rows for p in r["result"].get("problems", [])})
    for p in probs:
        m.require(False, p)
    err = max(r["result"].get("v_star_error", 0.0) for r in rows)
    worst = max(r["result"][key] for r in rows)
    m.require(worst <= upper + err + V_STAR_TOL, f"{key} <= {upper:g} + certified error (measured {worst:.6g})")
    return m


def _rcsl_width(ctx: RunContext, cond: bool):
    ns = list(sizes(SIZES, ctx)["rcsl_width_ns"])
    rows = ctx.sweep(rcsl_width_run, {"n": ns, "cond": [cond]}, name=f"rcsl_bellman.rcsl_width.{cond}",
                     seeds=_capped_seeds(ctx))
    x, y = rows_to_matrix(rows, "n", "ratio")
    return _value_invariants(Measurement("|S|", x, y, "J(RCSL) / V*" if cond else "J(RCSL without g) / V*",
                                         bound_values=np.full(x.shape, RCSL_RATIO), meta={"width": 4, "N": 500}), rows)


def _coverage(ctx: RunContext, learner: str | None):
    learner = (ctx.learner or "rcsl") if learner is None else learner
    Ns = list(COVERAGE_NS)
    M = sizes(SIZES, ctx)["coverage_M"]
    rows = ctx.sweep(rcsl_coverage_run, {"N": Ns, "learner": [learner], "M": [M]}, name="rcsl_bellman.coverage",
                     seeds=_capped_seeds(ctx))
    x, y = rows_to_matrix(rows, "N", "subopt")
    b, pstar, vr = _coverage_bound(x, M)
    m = Measurement("N", x, y, f"mean V* - J ({learner})", bound_values=b,
                    meta={"p_star": pstar, "V_range": vr, "M": M, "delta": DELTA})
    for r in rows:
        r["result"]["neg_min_subopt"] = -r["result"]["min_subopt"]
    return _value_invariants(m, rows, "neg_min_subopt", upper=0.0)


def _target(ctx: RunContext, learner: str | None):
    learner = (ctx.learner or "rcsl") if learner is None else learner
    Ss = list(sizes(SIZES, ctx)["target_Ss"])
    rows = ctx.sweep(rcsl_target_run, {"S": Ss, "learner": [learner]}, name="rcsl_bellman.target",
                     seeds=_capped_seeds(ctx))
    x, y = rows_to_matrix(rows, "S", "gap")
    m = Measurement("|S|", x, y, f"max_g |J(g) - g| / V* ({learner})", bound_values=np.full(x.shape, TARGET_TOL),
                    meta={"family": "random_deterministic(S, 3, H=6, reward_density=0.5)", "N": 200,
                          "targets": "5 dataset returns from the smallest to the largest"})
    return _value_invariants(m, rows, "max_ratio")


def _tvr(ctx: RunContext, complete: bool):
    rows = ctx.sweep(tvr_run, {"gamma": list(TVR_GAMMAS), "complete": [complete]},
                     name=f"rcsl_bellman.tvr.{complete}")
    x, y = rows_to_matrix(rows, "gamma", "growth")
    _, r = rows_to_matrix(rows, "gamma", "residual")
    _, ang = rows_to_matrix(rows, "gamma", "misalignment")
    return Measurement("gamma", x, y, "|w_500| / |w_0|", bound_values=np.full(x.shape, 1e3),
                       meta={"completeness_residual": r[:, 0], "misalignment_angle": ang[:, 0], "features": "tabular" if complete else "(1, 2)",
                             "predicted_factor": 1.2 * x})


def _baird(ctx: RunContext, method: str):
    rows = ctx.sweep(baird_run, {"gamma": list(BAIRD_GAMMAS), "method": [method]}, name=f"rcsl_bellman.baird.{method}")
    x, y = rows_to_matrix(rows, "gamma", "ratio")
    _, r = rows_to_matrix(rows, "gamma", "residual")
    return Measurement("gamma", x, y, "||f_K||_mu / ||f_0||_mu", bound_values=np.full(x.shape, 1e-3),
                       meta={"completeness_residual": r[:, 0], "method": method, "K": 1000})


def _fqi_incomplete(ctx: RunContext, weights: str):
    ns = list(FQI_WIDTH_NS)
    rows = ctx.sweep(fqi_width_run, {"n": ns, "weights": [weights]}, name=f"rcsl_bellman.fqi_width.{weights}",
                     seeds=ctx.seed_list(max(ctx.seeds, FQI_MIN_SEEDS)))
    x, y = rows_to_matrix(rows, "n", "fail_upper")
    extra = {k: rows_to_matrix(rows, "n", k)[1] for k in ("fail_lower", "complete_fails", "smallest", "safe")}
    return Measurement("|S|", x, y, f"fraction of near-complete incomplete knot classes failing ({weights} weights)",
                       bound_values=np.full(x.shape, FQI_FAIL_RATE),
                       meta={"family": "realizable_scramble (our construction)", "gamma": FQI_GAMMA,
                             "near_optimal": FQI_NEAR_OPT, "weights": weights,
                             "fail_lower_half_mean": extra["fail_lower"].mean(axis=1),
                             "complete_class_failures": extra["complete_fails"].sum(axis=1),
                             "smallest_hidden_width_mean": extra["smallest"].mean(axis=1),
                             "safe_hidden_width_mean": extra["safe"].mean(axis=1)})


def _stitch(ctx: RunContext, method: str):
    rows = ctx.sweep(stitch_run, {"H": list(STITCH_HS), "method": [method]}, name=f"rcsl_bellman.stitch.{method}",
                     seeds=_capped_seeds(ctx))
    x, y = rows_to_matrix(rows, "H", "ratio")
    return _value_invariants(Measurement("H", x, y, f"J({method}) / V*", bound_values=np.full(x.shape, 0.99),
                                         meta={"behaviours": 4, "per_behaviour": 250}), rows)


CHECK = Check(
    name="rcsl_bellman",
    title="RCSL vs Bellman completeness: width separation, coverage bound, divergence controls, stitching",
    source="Zhou, Zhu, Zhou, Cui, Gupta & Du, Free from Bellman Completeness, ICLR 2024; Zanette, ICML 2023",
    claims=[
        Claim("completeness_width_linear",
              "on the separating family a two-layer MLP containing T f needs width growing linearly in |S|",
              "Zhou et al. 2024, Sec. 3.1, Thm. 1 (our reconstruction of the environment)",
              SlopeCI(1.0, mode="contains", tol=0.1), lambda ctx: _width(ctx, "backup"),
              lambda ctx: _width(ctx, "qstar"),
              control_description="the same width measure for Q* itself (realizable at constant width: slope 0)",
              bound=BELLMAN_COMPLETENESS_MLP_WIDTH),
        Claim("fqi_incomplete_fails",
              f"under skewed off-policy data, realizable but incomplete classes one step from completeness still "
              f"fail (>= {FQI_FAIL_RATE} of the upper-half knot counts) at every |S| (complete-class failures reported)",
              "Zhou et al. 2024, Sec. 3 (DP needs completeness, realizability is not enough); our construction",
              MeanBound(kind="lower"), lambda ctx: _fqi_incomplete(ctx, "skewed"),
              lambda ctx: _fqi_incomplete(ctx, "uniform"),
              control_description="the same classes under uniform data weights (FQI converges to Q* at every width)"),
        Claim("rcsl_constant_width", f"RCSL with a width-4 MLP reaches >= {RCSL_RATIO} V* for every |S|",
              "Zhou et al. 2024, Sec. 3.1 (constant width suffices for RCSL)", BoundHolds(kind="lower"),
              lambda ctx: _rcsl_width(ctx, True), lambda ctx: _rcsl_width(ctx, False),
              control_description="RCSL with the return input dropped: cannot realize pi_beta(a | s, h, g)"),
        Claim("rcsl_hits_target", "in a deterministic MDP, tabular RCSL conditioned on any dataset return g "
              "achieves exactly g (|J(g) - g| <= 1e-7 V*, five targets per dataset)",
              "Brandfonbrener et al. 2022 (RCSL in deterministic environments); Zhou et al. 2024, Sec. 2-3 "
              "(realizable return-conditioned class, the return-to-go decremented at execution)",
              BoundHolds(kind="upper"), lambda ctx: _target(ctx, None), lambda ctx: _target(ctx, "bc"),
              control_description="behaviour cloning (ignores the commanded return)", uses_learner=True),
        Claim("rcsl_coverage_bound", "tabular RCSL suboptimality <= (V* - G_min)(1 - p*)^N (with finite-M slack)",
              "Zhou et al. 2024, Sec. 3 (realizability + coverage); our reconstruction, deterministic tabular case",
              BoundHolds(kind="upper"), lambda ctx: _coverage(ctx, None), lambda ctx: _coverage(ctx, "bc"),
              control_description="behaviour cloning (non-realizable: ignores the return-to-go)",
              bound=RCSL_COVERAGE_DETERMINISTIC, uses_learner=True),
        Claim("fqi_diverges_incomplete", "linear FQI diverges on Tsitsiklis-Van Roy (gamma > 5/6, residual > 0)",
              "Tsitsiklis & Van Roy 1997; Zhou et al. 2024, Sec. 1 (DP needs completeness)", BoundHolds(kind="lower"),
              lambda ctx: _tvr(ctx, False), lambda ctx: _tvr(ctx, True),
              control_description="FQI with tabular features (a complete class) on the same MDP",
              bound=TVR_FQI_GROWTH),
        Claim("fqi_converges_complete", "on Baird's star (complete class) population FQI contracts to Q^pi = 0",
              "Baird 1995; Sutton & Barto 2018, Sec. 11.2; Munos & Szepesvari 2008 (FQI under completeness)",
              BoundHolds(kind="upper"), lambda ctx: _baird(ctx, "fqi"), lambda ctx: _baird(ctx, "td"),
              control_description="expected semi-gradient off-policy TD(0) with the same complete class (diverges)"),
        Claim("mbrcsl_stitches", "MBRCSL >= 0.99 V* on the stitching gridworld where no dataset trajectory is optimal",
              "Zhou et al. 2024, Sec. 4-5 (MBRCSL; Point-Maze stitching task)", BoundHolds(kind="lower"),
              lambda ctx: _stitch(ctx, "mbrcsl"), lambda ctx: _stitch(ctx, "rcsl"),
              control_description="plain RCSL on the same data (cannot stitch)"),
    ],
    protocol="return_conditioned",
    mutants=MUTANTS,
    bounds=BOUNDS,
)
