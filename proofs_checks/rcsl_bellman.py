"""RCSL vs Bellman completeness (Zhou, Zhu, Zhou, Cui, Gupta & Du, ICLR 2024; Zanette, ICML 2023).

Claims
------
``completeness_width_linear``
    On the separating family (:func:`mdps.separating_family`, our reconstruction of the paper's Sec. 3.1
    environment) the width a two-layer ReLU MLP needs to contain ``T f`` for the width-1 witness ``f`` grows
    linearly in ``|S|``: measured = the exact lower bound ``ceil(m / 2)`` (``m`` = kinks of ``T f`` along the state
    line, :func:`rltheory.algorithms.rcsl.relu_width_lower_bound_1d`); log-log slope in ``n`` contains 1 (tol 0.1).
    An explicit interpolating network (width ``~2n``, in ``meta``) bounds it from above.
    Control: the same measure on ``Q*`` (realizability), which stays at width 1 (slope 0) -> rejected.
(Removed: ``mlp_completeness_error``, "the trained width-8 MLP cannot fit ``T f``" — an independent review measured the
same RMSE (0.22-0.29) for networks wide enough to contain ``T f`` (the explicit interpolant), so a trained fit cannot
tell an incomplete class from a complete one; the exact width law is ``completeness_width_linear``. The trained
fits stay in the notebook as an illustration, labelled as upper estimates.)
``rcsl_constant_width``
    RCSL with a width-4 MLP policy on ``[x_s, h / H, g]`` trained by maximum likelihood on uniform-behaviour data
    reaches ``>= 0.95 V*`` on every ``n`` and seed (constant width suffices). Control: the same MLP without the
    return input (a class that cannot realize the return-conditioned behaviour policy) -> ~0.62 V* -> rejected.
``rcsl_coverage_bound``
    Tabular RCSL in a deterministic MDP (stitching gridworld, uniform behaviour) returns the best dataset return,
    so ``E[V* - J(RCSL)] <= (V* - G_min) (1 - p*)^N`` (``p*`` = behaviour probability of an optimal trajectory;
    our reconstruction of the realizability + coverage bound for the tabular, deterministic case). Measured: mean
    suboptimality over ``M`` datasets; bound: ``(V* - G_min) * Binomial(M, (1-p*)^N)`` upper 0.999 quantile ``/ M``
    (the theorem plus exact finite-M concentration). Control: behaviour cloning (return input dropped).
``rcsl_hits_target`` (learner claim)
    Return-conditioned control in a deterministic MDP (Brandfonbrener et al. 2022): on ``random_deterministic(S, 3,
    H = 6)`` (``S`` = 6, 8, 12; half the pairs pay U[0, 1]) with 200 uniform-behaviour trajectories, tabular RCSL
    conditioned on any dataset return ``g`` (five per dataset, smallest to largest) achieves exactly ``g``:
    ``max_g |J(g) - g| / V* <= 1e-7`` (returns-to-go are keyed to 9 decimals). This needs the return-to-go labels and
    the execution-time decrement ``g_{h+1} = g_h - r_h`` to agree; an RCSL that never decrements (which reaches
    ~V* when conditioned on the best return, so no value claim sees it) misses the commanded returns. Control:
    behaviour cloning.
``fqi_diverges_incomplete``
    Population linear FQI on the Tsitsiklis–Van Roy example diverges (``|w_K| / |w_0| >= 10^3`` after 500
    iterations) for ``gamma`` in (5/6, 1), where the completeness residual ``||(I - Pi) gamma P Phi||_mu > 0`` and the
    misalignment angle between ``span(Phi)`` and ``span(P Phi)`` (0.32 rad) are non-zero (in ``meta``). Control:
    tabular features (a complete class: residual and angle 0) on the same MDP converge -> rejected.
``fqi_converges_complete``
    On Baird's star the 8 features span all 7-state functions (completeness residual 0): population FQI contracts,
    ``||f_K||_mu / ||f_0||_mu <= 10^-3`` (K = 1000). Control: expected off-policy semi-gradient TD(0) with the same
    complete class diverges -> rejected (completeness protects FQI, not semi-gradient TD).
``mbrcsl_stitches``
    On the stitching gridworld (no dataset trajectory is optimal), MBRCSL reaches ``>= 0.99 V*`` on every seed.
    Control: plain RCSL, stuck at the best dataset trajectory (``(H - 5) / (H - 3) V*``) -> rejected.

``fqi_incomplete_fails`` (our test of the proposal "the width FQI needs for near-optimal return grows linearly in
|S|", issue #7 / our notes)
    Finite-horizon FQI with per-step classes and full coverage only needs each ``Q*_h`` realizable (its exact targets
    ``T Q*_{h+1} = Q*_h`` are then realizable), so the test uses stationary (discounted, ``gamma = 0.9``) FQI inside
    one class, where the iterates ``T f_k`` (``f_k != Q*``) must be fitted. Instances :func:`mdps.realizable_scramble`
    (``|S|`` in {8, 16, 32, 64}, >= 16 seeds); classes: frozen-knot two-layer ReLU nets with ``w`` uniform knots per
    action head (:func:`rltheory.algorithms.rcsl.relu_knot_features`; exact projection; realizable at every ``w``,
    complete at ``w = |S| - 2``; the knot sets are not nested); skewed Dirichlet(0.3) data weights with a floor relative
    to the mean (full coverage, off-policy). Measured per seed: the fraction of the upper half of incomplete knot counts
    (``(|S|-2)/2 <= w < |S|-2``) whose greedy policy is below 0.95 normalised return. Claim: at every ``|S|`` the mean
    is >= 0.05, confirmed by a one-sided 95% t lower limit over seeds (quick run, 16 seeds: 0.25, 0.46, 0.67, 0.74 at
    ``|S|`` = 8…64, lower limit at ``|S|`` = 8: 0.104 — the threshold 0.05 was set after this pilot, where 0.1 passed
    by only 0.004 because ``|S|`` = 8 has three upper-half knot counts; lower half 0.13, 0.23, 0.20, 0.16; the complete
    class never failed; some failures are divergent iterates). Control: uniform weights, under which FQI reached ``Q*`` at every width on every seed ->
    rejected. What this shows: realizability + full coverage does not make FQI safe; only the complete class (width
    ~|S|) was safe on every seed. What it does not show: that the smallest sufficient width grows — under uniform
    weights with these permutation dynamics the narrowest realizable class (``Q*``'s own units, hidden width 3) is
    exact at every ``|S|``, a property of the construction; and the "safe width" (largest failing width + 1) grows
    ~linearly (slope 1.22 [1.07, 1.43]) but an independent review showed that statistic also grows linearly for
    width-independent failures (shuffled-width null: slopes 1.13-1.20), so it is reported in ``meta``, not claimed.

Learners under test (protocol ``"return_conditioned"``): ``rcsl_hits_target`` and ``rcsl_coverage_bound`` run
``factory(data, seed) -> policy(h, s, g)`` (optional ``policy.target``, ``policy.next_target(g, r)``), reference
:func:`reference_rcsl`, mutants in :mod:`proofs_checks.mutants.rcsl_bellman`. Invariants of every value
measurement: V* certified independently of the shared solver (:func:`proofs_checks._invariants.certified_optimum`)
and no measured value above V* + the certified error ("invariant violated" otherwise).
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from scipy import stats

import mdps
from mdps.eh_suite import random_deterministic
from rltheory import bounds
from rltheory.algorithms.rcsl import (knot_hidden_width, safe_width, skewed_weights, smallest_passing_width, width_scan,
                                      bellman_backup_q, bellman_misalignment, behaviour_cloning, evaluate_return_conditioned, expected_td,
                                      linear_fqi_population, linear_inherent_bellman_error, mbrcsl, rcsl_mlp,
                                      rcsl_return, rcsl_tabular, relu_interpolant_1d, relu_width_lower_bound_1d, return_distribution,
                                      stitching_dataset, suboptimal_dataset, collect)
from rltheory.solvers import solve

from ._invariants import VSTAR_TOL, certified_optimum
from .mutants.rcsl_bellman import MUTANTS
from .framework import BoundHolds, Check, Claim, MeanBound, Measurement, RunContext, SlopeCI, rows_to_matrix

_S, _N, _p, _Vr, _g, _C = (bounds.sym(n) for n in ("S", "N", "p", "V_range", "gamma", "C"))
bounds.register(bounds.Bound(
    "rcsl_coverage_deterministic", _Vr * (1 - _p) ** _N, kind="upper",
    source="Zhou et al. 2024, Sec. 3 (RCSL under realizability + coverage); our reconstruction for tabular RCSL "
           "in a deterministic MDP",
    assumptions=("deterministic transitions and rewards", "tabular (realizable) return-conditioned class",
                 "N i.i.d. behaviour trajectories, an optimal one with probability p"),
    notes="V_range = V* - min return; expected suboptimality of RCSL conditioned on the best dataset return"))
bounds.register(bounds.Bound(
    "bellman_completeness_mlp_width", _C * _S, kind="lower",
    source="Zhou et al. 2024, Sec. 3.1 (two-layer MLP: width linear in |S| for Bellman completeness); "
           "our reconstruction (separating_family): C ~ 1/2",
    assumptions=("two-layer ReLU MLP on scalar state feature and action", "scrambling deterministic transition"),
))
bounds.register(bounds.Bound(
    "tvr_fqi_growth", 6 * _g / 5, kind="lower",
    source="Tsitsiklis & Van Roy 1997, Sec. IX: linear FQI factor per iteration on the two-state example",
    assumptions=("uniform state weights", "features 1 and 2, both states move to state 2, zero reward"),
    notes="exact growth factor of |w_k|; divergence iff gamma > 5/6"))

RCSL_RATIO = 0.95
FQI_GAMMA = 0.9
FQI_NEAR_OPT = 0.95
FQI_FAIL_RATE = 0.05
DELTA = 1e-3
TARGET_TOL = 1e-7  # |J(g) - g| allowed: RCSL keys returns-to-go to 9 decimals (H rounding errors <= 5e-10 each)


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
    from .learners import resolve_learner

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
    vstar, err, problems = certified_optimum(mdp)
    return {"ratio": rcsl_return(mdp, data, pol) / vstar, "vstar_error": err, "problems": problems}


def rcsl_coverage_run(N, learner, M, seed):
    """Mean suboptimality over ``M`` datasets of ``N`` uniform-behaviour trajectories on the stitching gridworld
    (``learner`` as in :func:`_fit`); ``min_subopt``: the smallest one (an invariant: >= -certified error)."""
    mdp = mdps.stitching_gridworld(horizon=8)
    uni = np.full((mdp.S, mdp.A), 1.0 / mdp.A)
    vstar, err, problems = certified_optimum(mdp)
    rng = np.random.default_rng(seed)
    sub = []
    for _ in range(int(M)):
        d = collect(mdp, uni, int(N), seed=int(rng.integers(0, 2**31 - 1)))
        sub.append(vstar - _execute(mdp, d, _fit(learner, d, seed)))
    return {"subopt": float(np.mean(sub)), "min_subopt": float(np.min(sub)), "vstar_error": err,
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
    vstar, err, problems = certified_optimum(mdp)
    J = np.array([_execute(mdp, data, pol, g) for g in targets])
    return {"gap": float(np.max(np.abs(J - targets)) / vstar), "max_ratio": float(J.max() / vstar),
            "vstar_error": err, "problems": problems}


def _coverage_bound(N, M):
    mdp = mdps.stitching_gridworld(horizon=8)
    dist = return_distribution(mdp, np.full((mdp.S, mdp.A), 1.0 / mdp.A))
    vstar = float(mdp.mu0 @ solve(mdp).V[0])
    pstar = sum(p for g, p in dist.items() if g >= vstar - 1e-9)
    vr = vstar - min(dist)
    q = bounds.get("rcsl_coverage_deterministic").evaluate(V_range=1.0, p=pstar, N=np.asarray(N, float))
    k = stats.binom.ppf(1 - DELTA, int(M), q)
    return vr * k / M, pstar, vr


def tvr_run(gamma, complete, seed):
    ex = mdps.tsitsiklis_van_roy(float(gamma))
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
    ex = mdps.bairds_star(float(gamma))
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
    vstar, err, problems = certified_optimum(mdp)
    if method == "mbrcsl":
        r = mbrcsl(data, n_rollouts=2000, seed=seed)
        v = evaluate_return_conditioned(mdp, r.policy, r.target)
    else:
        v = rcsl_return(mdp, data, rcsl_tabular(data))
    return {"ratio": v / vstar, "best_data": float(data.returns.max()) / vstar, "vstar_error": err,
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
            "smallest": float(smallest_passing_width(sc[:, None], hw, FQI_NEAR_OPT)[0]),
            "safe": float(safe_width(sc[:, None], hw, FQI_NEAR_OPT)[0])}


# -------------------------------------------------------------------------------------------- measures


def _width(ctx: RunContext, target: str):
    ns = [16, 32, 64, 128] if ctx.quick else [16, 32, 64, 128, 256]
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
    err = max(r["result"].get("vstar_error", 0.0) for r in rows)
    worst = max(r["result"][key] for r in rows)
    m.require(worst <= upper + err + VSTAR_TOL, f"{key} <= {upper:g} + certified error (measured {worst:.6g})")
    return m


def _rcsl_width(ctx: RunContext, cond: bool):
    ns = [8, 16, 32, 64] if ctx.quick else [8, 16, 32, 64, 128]
    rows = ctx.sweep(rcsl_width_run, {"n": ns, "cond": [cond]}, name=f"rcsl_bellman.rcsl_width.{cond}",
                     seeds=ctx.seed_list(min(ctx.seeds, 4) if ctx.quick else None))
    x, y = rows_to_matrix(rows, "n", "ratio")
    return _value_invariants(Measurement("|S|", x, y, "J(RCSL) / V*" if cond else "J(RCSL without g) / V*",
                                         bound_values=np.full(x.shape, RCSL_RATIO), meta={"width": 4, "N": 500}), rows)


def _coverage(ctx: RunContext, learner: str | None):
    learner = (ctx.learner or "rcsl") if learner is None else learner
    Ns = [32, 64, 128, 256]
    M = 40 if ctx.quick else 200
    rows = ctx.sweep(rcsl_coverage_run, {"N": Ns, "learner": [learner], "M": [M]}, name="rcsl_bellman.coverage",
                     seeds=ctx.seed_list(min(ctx.seeds, 4) if ctx.quick else None))
    x, y = rows_to_matrix(rows, "N", "subopt")
    b, pstar, vr = _coverage_bound(x, M)
    m = Measurement("N", x, y, f"mean V* - J ({learner})", bound_values=b,
                    meta={"p_star": pstar, "V_range": vr, "M": M, "delta": DELTA})
    for r in rows:
        r["result"]["neg_min_subopt"] = -r["result"]["min_subopt"]
    return _value_invariants(m, rows, "neg_min_subopt", upper=0.0)


def _target(ctx: RunContext, learner: str | None):
    learner = (ctx.learner or "rcsl") if learner is None else learner
    Ss = [6, 8, 12] if ctx.quick else [6, 8, 12, 16]
    rows = ctx.sweep(rcsl_target_run, {"S": Ss, "learner": [learner]}, name="rcsl_bellman.target",
                     seeds=ctx.seed_list(min(ctx.seeds, 4) if ctx.quick else None))
    x, y = rows_to_matrix(rows, "S", "gap")
    m = Measurement("|S|", x, y, f"max_g |J(g) - g| / V* ({learner})", bound_values=np.full(x.shape, TARGET_TOL),
                    meta={"family": "random_deterministic(S, 3, H=6, reward_density=0.5)", "N": 200,
                          "targets": "5 dataset returns from the smallest to the largest"})
    return _value_invariants(m, rows, "max_ratio")


def _tvr(ctx: RunContext, complete: bool):
    rows = ctx.sweep(tvr_run, {"gamma": [0.85, 0.9, 0.95, 0.99], "complete": [complete]},
                     name=f"rcsl_bellman.tvr.{complete}")
    x, y = rows_to_matrix(rows, "gamma", "growth")
    _, r = rows_to_matrix(rows, "gamma", "residual")
    _, ang = rows_to_matrix(rows, "gamma", "misalignment")
    return Measurement("gamma", x, y, "|w_500| / |w_0|", bound_values=np.full(x.shape, 1e3),
                       meta={"completeness_residual": r[:, 0], "misalignment_angle": ang[:, 0], "features": "tabular" if complete else "(1, 2)",
                             "predicted_factor": 1.2 * x})


def _baird(ctx: RunContext, method: str):
    rows = ctx.sweep(baird_run, {"gamma": [0.95, 0.99], "method": [method]}, name=f"rcsl_bellman.baird.{method}")
    x, y = rows_to_matrix(rows, "gamma", "ratio")
    _, r = rows_to_matrix(rows, "gamma", "residual")
    return Measurement("gamma", x, y, "||f_K||_mu / ||f_0||_mu", bound_values=np.full(x.shape, 1e-3),
                       meta={"completeness_residual": r[:, 0], "method": method, "K": 1000})


def _fqi_incomplete(ctx: RunContext, weights: str):
    ns = [8, 16, 32, 64]
    rows = ctx.sweep(fqi_width_run, {"n": ns, "weights": [weights]}, name=f"rcsl_bellman.fqi_width.{weights}",
                     seeds=ctx.seed_list(max(ctx.seeds, 16)))
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
    rows = ctx.sweep(stitch_run, {"H": [8, 10, 12], "method": [method]}, name=f"rcsl_bellman.stitch.{method}",
                     seeds=ctx.seed_list(min(ctx.seeds, 4) if ctx.quick else None))
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
              "the same width measure for Q* itself (realizable at constant width: slope 0)",
              bound=bounds.get("bellman_completeness_mlp_width")),
        Claim("fqi_incomplete_fails",
              f"under skewed off-policy data, realizable but incomplete classes one step from completeness still "
              f"fail (>= {FQI_FAIL_RATE} of the upper-half knot counts) at every |S| (complete-class failures reported)",
              "Zhou et al. 2024, Sec. 3 (DP needs completeness, realizability is not enough); our construction",
              MeanBound("lower"), lambda ctx: _fqi_incomplete(ctx, "skewed"),
              lambda ctx: _fqi_incomplete(ctx, "uniform"),
              "the same classes under uniform data weights (FQI converges to Q* at every width)"),
        Claim("rcsl_constant_width", f"RCSL with a width-4 MLP reaches >= {RCSL_RATIO} V* for every |S|",
              "Zhou et al. 2024, Sec. 3.1 (constant width suffices for RCSL)", BoundHolds("lower"),
              lambda ctx: _rcsl_width(ctx, True), lambda ctx: _rcsl_width(ctx, False),
              "RCSL with the return input dropped: cannot realize pi_beta(a | s, h, g)"),
        Claim("rcsl_hits_target", "in a deterministic MDP, tabular RCSL conditioned on any dataset return g "
              "achieves exactly g (|J(g) - g| <= 1e-7 V*, five targets per dataset)",
              "Brandfonbrener et al. 2022 (RCSL in deterministic environments); Zhou et al. 2024, Sec. 2-3 "
              "(realizable return-conditioned class, the return-to-go decremented at execution)",
              BoundHolds("upper"), lambda ctx: _target(ctx, None), lambda ctx: _target(ctx, "bc"),
              "behaviour cloning (ignores the commanded return)", uses_learner=True),
        Claim("rcsl_coverage_bound", "tabular RCSL suboptimality <= (V* - G_min)(1 - p*)^N (with finite-M slack)",
              "Zhou et al. 2024, Sec. 3 (realizability + coverage); our reconstruction, deterministic tabular case",
              BoundHolds("upper"), lambda ctx: _coverage(ctx, None), lambda ctx: _coverage(ctx, "bc"),
              "behaviour cloning (non-realizable: ignores the return-to-go)",
              bound=bounds.get("rcsl_coverage_deterministic"), uses_learner=True),
        Claim("fqi_diverges_incomplete", "linear FQI diverges on Tsitsiklis-Van Roy (gamma > 5/6, residual > 0)",
              "Tsitsiklis & Van Roy 1997; Zhou et al. 2024, Sec. 1 (DP needs completeness)", BoundHolds("lower"),
              lambda ctx: _tvr(ctx, False), lambda ctx: _tvr(ctx, True),
              "FQI with tabular features (a complete class) on the same MDP",
              bound=bounds.get("tvr_fqi_growth")),
        Claim("fqi_converges_complete", "on Baird's star (complete class) population FQI contracts to Q^pi = 0",
              "Baird 1995; Sutton & Barto 2018, Sec. 11.2; Munos & Szepesvari 2008 (FQI under completeness)",
              BoundHolds("upper"), lambda ctx: _baird(ctx, "fqi"), lambda ctx: _baird(ctx, "td"),
              "expected semi-gradient off-policy TD(0) with the same complete class (diverges)"),
        Claim("mbrcsl_stitches", "MBRCSL >= 0.99 V* on the stitching gridworld where no dataset trajectory is optimal",
              "Zhou et al. 2024, Sec. 4-5 (MBRCSL; Point-Maze stitching task)", BoundHolds("lower"),
              lambda ctx: _stitch(ctx, "mbrcsl"), lambda ctx: _stitch(ctx, "rcsl"),
              "plain RCSL on the same data (cannot stitch)"),
    ],
    protocol="return_conditioned",
    mutants=MUTANTS,
)
