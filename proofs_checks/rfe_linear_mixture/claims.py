"""Horizon-free reward-free exploration for linear mixture MDPs (Zhang, Zhang & Gu, ICML 2023).

The measurements and claims of the check: ``CHECK`` lists the claims, each with its rule and negative control
(``rltheory list``); the sweep sizes, instance parameters and thresholds are in
:mod:`proofs_checks.rfe_linear_mixture.settings`, the bounds in
:mod:`proofs_checks.rfe_linear_mixture.bounds`, the mutants in :mod:`proofs_checks.rfe_linear_mixture.mutants`. What
the claims mean, where the measurements deviate from the paper and why the check is built this way:
``proofs_checks/rfe_linear_mixture/FINDINGS.md``.
"""
from __future__ import annotations

import weakref

import numpy as np

import mdps
from mdps.linear_mixture import hard_rfe_test_rewards, lock_linear_mixture_rfe, lock_rfe_test_rewards
from rltheory.algorithms.reward_free import hf_ucrl_rfe, mass_projection, ucrl_rfe
from rltheory.algorithms.reward_free.hf_ucrl_rfe import HFUCRLRFELearner
from rltheory.algorithms.reward_free.protocol import PROTOCOL, run_reward_free
from rltheory.solvers.linear_mixture import solve_linear_mixture

from .bounds import BOUNDS, RFE_LM_ERROR_LOWER, RFE_LM_LOWER, RFE_LM_UPPER, UCRL_RFE_UPPER
from ..framework import AllOf, BoundHolds, Check, Claim, Measurement, MeanBound, RunContext, SlopeCI, rows_to_matrix
from ..learners import resolve_learner
from .._settings import sizes
from .mutants import MUTANTS
from .settings import (C_BETA, C_BETA_DIR, C_BETA_H, D_FIXED, D_RATE_K, D_SEEDS, FIXED_GAP_K, H_FIXED, H_GRID,
                       H_SLOPE, HARD_INSTANCE0, HARD_SEEDS, HCMP_CONC, HCMP_INSTANCE0, HCMP_SIZE, K_DIR, K_H,
                       KEPS_TOL, LOCK_D, LOCK_GAP, LOCK_H, LOCK_INSTANCE0, LOCK_K, LOCK_LENGTHS, LOCK_RATIO,
                       M_ORDERS, MISSPEC_RHO, MODEL_GAP, MODEL_H, MODEL_SEEDS, MODEL_SLOPE_TOL, RAND_CONC,
                       RAND_INSTANCE0, RAND_K_LO, RAND_K_MID, RAND_SIZE, RATE_TOL, SIZES)


def reference_learner(phi, H, K, B, seed):
    """The reference learner of the reward-free protocol (:mod:`rltheory.algorithms.reward_free.protocol`):
    HF-UCRL-RFE++ (R1 oracle) at the check's ``c_beta = C_BETA`` and ``M = M_ORDERS``. Driven by the protocol it
    reproduces the fast path (:func:`hf_ucrl_rfe`) bit for bit; the check itself runs the fast path when no learner
    is given."""
    return HFUCRLRFELearner(phi, H, K, B, seed, c_beta=C_BETA, M=M_ORDERS)


class UniformExplorer(HFUCRLRFELearner):
    """The non-learning baseline of the exploration claims: the reference's regression, HOME weights and planner,
    but every exploration action uniformly random (the pseudo-values are still computed: they are the regression
    targets)."""

    def explore_policy(self):
        super().explore_policy()
        return np.full((self.H, self.S, self.A), 1.0 / self.A)


def uniform_baseline(phi, H, K, B, seed):
    """Factory of :class:`UniformExplorer` at the reference's settings."""
    return UniformExplorer(phi, H, K, B, seed, c_beta=C_BETA, M=M_ORDERS)


def _resolve(spec):
    """The factory named by a learner spec."""
    return resolve_learner(spec)


def _learner(ctx) -> str | None:
    return ctx.learner


#: rows of the sweeps of each live run context: ``id(ctx) -> (weak reference to ctx, {sweep key: rows})``
_ROWS: dict = {}


def _rows(ctx, fn, grid, name, seeds):
    """``ctx.sweep``, computed once per run context: the claims and controls that share a sweep (same name, grid
    and seeds) get the rows of the first call. With a store ``ctx.sweep`` would read them back; without one (a
    notebook, a test runner) it would compute them again."""
    key = (name, repr(sorted(grid.items())), tuple(seeds))
    ref, memo = _ROWS.get(id(ctx), (None, None))
    if ref is None or ref() is not ctx:
        memo = {}
        _ROWS[id(ctx)] = (weakref.ref(ctx, lambda _, k=id(ctx): _ROWS.pop(k, None)), memo)
    if key not in memo:
        memo[key] = ctx.sweep(fn, grid, name=name, seeds=seeds)
    return memo[key]


def _sweep(ctx, fn, grid, name, seeds, learner):
    """:func:`_rows` with the learner spec as a grid parameter (a cell key of its own) when one is given."""
    if learner is not None:
        grid = {**grid, "learner": [learner]}
        name = f"{name}@{learner}"
    return _rows(ctx, fn, grid, name, seeds)


def _violations(rows) -> list:
    out = []
    for r in rows:
        for v in r["result"].get("violations", []):
            out.append(f"{v} (params {r['params']}, seed {r['seed']})")
    return out


def _with_violations(m: Measurement, rows) -> Measurement:
    m.invariant_violations.extend(_violations(rows))
    return m


def _protocol_result(learner, m, K, seed, test_rewards) -> dict:
    o = run_reward_free(_resolve(learner), m, int(K), int(seed), test_rewards)
    return {"eps": o["eps"], "certificate": o["certificate"], "violations": o["violations"]}


def hard_run(K, d, H, family, seed, learner=None):
    """One HF-UCRL-RFE++ run on the lower-bound instance; ``family`` is ``"theorem"`` (gap from K), ``"fixed"`` (gap
    of K = 1600), ``"total"`` (total gap (d-1) Delta held at Delta_K). ``eps_per_step`` is the error
    in per-step units (rewards 1 per step at x3, Cor. 2.6.10): ``H`` times the normalised one. With ``learner`` (a
    spec of the reward-free protocol) that learner runs instead, through :func:`run_reward_free`; ``cert`` is then
    its optional certificate (NaN without one)."""
    K, d, H = int(K), int(d), int(H)
    if family == "theorem":
        m = mdps.hard_linear_mixture_rfe(d, H, K=K, seed=HARD_INSTANCE0 + seed)
    elif family == "fixed":
        m = mdps.hard_linear_mixture_rfe(d, H, gap=mdps.hard_rfe_gap(FIXED_GAP_K), seed=HARD_INSTANCE0 + seed)
    elif family == "total":
        m = mdps.hard_linear_mixture_rfe(d, H, gap=mdps.hard_rfe_gap(K) / (d - 1), seed=HARD_INSTANCE0 + seed)
    else:
        raise ValueError(f"family: unknown {family!r}")
    if learner is not None:
        o = _protocol_result(learner, m, K, seed, hard_rfe_test_rewards(m))
        cert = o["certificate"]
        return {"eps": o["eps"], "eps_per_step": o["eps"] * H, "cert": float("nan") if cert is None else cert / 4.0,
                "violations": o["violations"]}
    r = hf_ucrl_rfe(m, K, seed=seed, c_beta=C_BETA, M=M_ORDERS, test_rewards=hard_rfe_test_rewards(m),
                    certificate_scales=(0.0, 1.0))
    err = float(r.eps_hat[-1])
    scales = list(r.extra["certificate_scales"])
    cert = float(r.certificate[-1])
    bad = [] if np.isfinite(cert) and cert >= 0 else [f"certificate: {cert!r} is not a finite non-negative number"]
    return {"eps": err, "eps_per_step": err * H, "cert": cert,
            "cert_zero_radius": float(r.extra["certificates"][-1, scales.index(0.0)]),
            "coverage": float(r.extra["coverage"].max()), "c_beta": r.c_beta, "violations": bad}


_WARM = []


def _warm():
    """Compile (or load) the Numba kernels of every sweep once in this process before the sweeps start their workers,
    so that a cold cache is compiled once instead of once per worker (each signature a sweep uses: the fast path,
    the protocol with both policy forms, UCRL-RFE, the evaluation at an estimated theta)."""
    if not _WARM:
        hard_run(2, 2, 2, "theorem", 0)
        m = mdps.hard_linear_mixture_rfe(2, 2, K=2, seed=0)
        run_reward_free(uniform_baseline, m, 2, 0, [m.R])  # the protocol's kernels (deterministic policies: above)
        run_reward_free(reference_learner, m, 2, 0, [m.R])
        r = ucrl_rfe(m, 2, seed=0, test_rewards=[m.R])
        evaluation_errors(m, [r.extra["theta_plan"][-1]], [m.R])
        _WARM.append(True)


def model_error_run(K_max, n_points, explore, seed):
    """Uniform model error ``max_{s,a} ||P_hat(.|s,a) - P(.|s,a)||_1`` of the planning estimate at ``n_points``
    geometric checkpoints of one run of ``K_max`` episodes on a fixed instance of the lower-bound family (gap 0.02,
    d = 4, H = 10), exploration with or without the uncertainty pseudo-reward."""
    m = mdps.hard_linear_mixture_rfe(D_FIXED, MODEL_H, gap=MODEL_GAP, seed=HARD_INSTANCE0 + seed)
    ks = np.unique(np.geomspace(K_max / 2 ** (n_points - 1), K_max, n_points).astype(int))
    r = hf_ucrl_rfe(m, int(K_max), seed=seed, c_beta=C_BETA, M=M_ORDERS, explore=explore, test_rewards=[m.R],
                    checkpoints=ks)
    P_hat = np.einsum("satd,cd->csat", m.phi, r.extra["theta_plan"])
    err = np.abs(P_hat - m.P[None]).sum(-1).max(axis=(1, 2))
    return {"K": ks.tolist(), "model_error": err.tolist()}


def _n_seeds(ctx: RunContext, n: dict) -> list:
    """``max(per_seed x ctx.seeds, min)`` seeds for the counts ``n = {"per_seed": ..., "min": ...}``."""
    return ctx.seed_list(max(n["per_seed"] * ctx.seeds, n["min"]))


def _sized_seeds(ctx: RunContext, key: str) -> list:
    """:func:`_n_seeds` for the counts ``settings.SIZES[...][key]`` of the run's size."""
    return _n_seeds(ctx, sizes(SIZES, ctx)[key])


def _model_measure(ctx: RunContext, explore: str) -> Measurement:
    _warm()
    size = sizes(SIZES, ctx)
    rows = _rows(ctx, model_error_run, {"K_max": [size["model_K_max"]], "n_points": [size["model_points"]],
                                        "explore": ["on", "off"]}, "rfe_linear_mixture.model", _n_seeds(ctx, MODEL_SEEDS))
    rows = [r for r in rows if r["params"]["explore"] == explore]
    x = np.asarray(rows[0]["result"]["K"], dtype=float)
    y = np.array([r["result"]["model_error"] for r in rows]).T
    return Measurement("K", x, y, "max_{s,a} ||P_hat - P||_1", meta={"explore": explore, "gap": MODEL_GAP,
                                                                     "c_beta": C_BETA, "curve": "checkpoints of one run"})


def one_state_rewards(mdp):
    """Test rewards ``1/H`` per step at one state, one reward per state (total <= 1)."""
    out = []
    for j in range(mdp.S):
        R = np.zeros((mdp.S, mdp.A))
        R[j] = 1.0 / mdp.horizon
        out.append(R)
    return out


def evaluation_errors(mdp, thetas, rewards, env=None):
    """For each parameter in ``thetas``: ``max_r max_{pi in {pi_r, pi*_r}} |V^pi(s_1; theta, r) - V^pi(s_1; env, r)|``,
    the value error of the planning model (``mdp`` with ``theta``) on the planned and the optimal policy of every test
    reward, against the environment ``env`` (default: ``mdp`` with its own ``theta*``). The planning error is at most
    twice it (V* - V^{pi_r} <= |error on pi*_r| + |error on pi_r|, as pi_r is greedy in the model). The optimal
    policies and their true values are computed once for all ``thetas``."""
    env = mdp if env is None else env
    optimal = [solve_linear_mixture(env, R).policy for R in rewards]
    optimal_values = [env.evaluate(pol, R) for pol, R in zip(optimal, rewards)]
    out = []
    for theta in thetas:
        worst = 0.0
        for R, opt, v_opt in zip(rewards, optimal, optimal_values):
            pol = solve_linear_mixture(mdp, R, theta=theta, clip=True).policy
            worst = max(worst, abs(mdp.evaluate(pol, R, theta=theta) - env.evaluate(pol, R)))
            worst = max(worst, abs(mdp.evaluate(opt, R, theta=theta) - v_opt))
        out.append(worst)
    return out


def evaluation_error(mdp, theta, rewards, env=None):
    """:func:`evaluation_errors` for one parameter."""
    return evaluation_errors(mdp, [theta], rewards, env)[0]


def random_eval_run(K_max, rho, seed):
    """Value error of the planning model (:func:`evaluation_errors`, one-state test rewards) at the checkpoints
    ``25 * 2^(j/2) <= K_max`` of one HF-UCRL-RFE++ run on a random linear mixture MDP
    (:func:`mdps.random_linear_mixture`, S = 5, A = 2, d = 3, H = 10, Dirichlet(0.3) kernels, instance
    ``60_000 + seed``). ``rho > 0``: the episodes come from the misspecified environment of
    :func:`mdps.misspecified_linear_mixture` (a fraction ``rho`` of each row moved outside the model's span), and the
    error is measured against it."""
    model, env = mdps.misspecified_linear_mixture(**RAND_SIZE, rho=rho, seed=RAND_INSTANCE0 + seed,
                                                  concentration=RAND_CONC)
    ks = np.unique((25 * 2 ** (np.arange(0, 2 * np.log2(K_max / 25) + 1e-9) / 2)).round().astype(int))
    tr = one_state_rewards(model)
    r = hf_ucrl_rfe(model, int(K_max), seed=seed, c_beta=C_BETA, M=M_ORDERS, test_rewards=tr[:1], checkpoints=ks,
                    environment=env if rho > 0 else None)
    errors = evaluation_errors(model, [*r.extra["theta_plan"], *r.extra["theta_centre"]], tr, env)
    return {"K": ks.tolist(), "eval_error": errors[:ks.size], "eval_error_centre": errors[ks.size:],
            "tied_fraction": float(r.extra["tied_fraction"].mean())}


def _keps_measure(ctx: RunContext, rho: float) -> Measurement:
    _warm()
    K_max = sizes(SIZES, ctx)["keps_K_max"]
    rows = _rows(ctx, random_eval_run, {"K_max": [K_max], "rho": [0.0, MISSPEC_RHO]}, "rfe_linear_mixture.keps",
                 _sized_seeds(ctx, "keps_seeds"))
    rows = [r for r in rows if r["params"]["rho"] == rho]
    x = np.asarray(rows[0]["result"]["K"], dtype=float)
    y = np.array([r["result"]["eval_error"] for r in rows]).T
    centre = np.array([r["result"]["eval_error_centre"] for r in rows]).T.mean(axis=1)
    return Measurement("K", x, y, "value error of the planning model, max_r max_{pi_r, pi*_r} |V^pi_plan - V^pi|",
                       meta={"instance": "random_linear_mixture(S=5, A=2, d=3, H=10, concentration=0.3), "
                                         f"instances {RAND_INSTANCE0}+seed", "misspecification rho": rho,
                             "c_beta": C_BETA, "K_max": K_max, "window": [RAND_K_LO, RAND_K_MID, K_max],
                             "mean error without the row-sum projection": centre,
                             "mean tied fraction": float(np.mean([r["result"]["tied_fraction"] for r in rows]))})


def h_compare_run(H, seed):
    """UCRL-RFE (with and without its planning bonus) at ``c_beta = 0.1`` after K = 30 episodes on a random linear
    mixture MDP (S = 5, A = 2, d = 3, Dirichlet(0.2) kernels; the kernels depend on the seed only, so the instance is
    the same for every H); planning error over the one-state test rewards (total 1). Also HF-UCRL-RFE++'s error and
    the fraction of its exploration steps at which all actions tied (the saturated regime of this setting)."""
    m = mdps.random_linear_mixture(**HCMP_SIZE, horizon=int(H), seed=HCMP_INSTANCE0 + seed, concentration=HCMP_CONC)
    tr = one_state_rewards(m)
    u = ucrl_rfe(m, K_H, seed=seed, c_beta=C_BETA_H, test_rewards=tr)
    u0 = ucrl_rfe(m, K_H, seed=seed, c_beta=C_BETA_H, test_rewards=tr, plan_bonus=False)
    hf = hf_ucrl_rfe(m, K_H, seed=seed, c_beta=C_BETA_H, M=M_ORDERS, test_rewards=tr)
    return {"ucrl": u.final_error, "ucrl_nobonus": u0.final_error, "hf": hf.final_error,
            "ucrl_cert": float(u.certificate[-1]), "hf_cert": float(hf.certificate[-1]),
            "hf_tied": float(hf.extra["tied_fraction"].mean())}


def _hcmp_measure(ctx: RunContext, learner: str) -> Measurement:
    _warm()
    rows = _rows(ctx, h_compare_run, {"H": list(H_GRID)}, "rfe_linear_mixture.Hcmp", _sized_seeds(ctx, "hcmp_seeds"))
    x, y = rows_to_matrix(rows, "H", learner)
    _, c = rows_to_matrix(rows, "H", "hf_cert" if learner.startswith("hf") else "ucrl_cert")
    return Measurement("H", x, y, f"planning error after K = {K_H} (total reward <= 1), {learner}",
                       meta={"learner": learner, "c_beta": C_BETA_H, "mean certificate per H": c.mean(axis=1),
                             "instance": "random_linear_mixture(S=5, A=2, d=3, concentration=0.2)"})


def h_value_run(H, seed):
    """HF-UCRL-RFE++ (exploration on and off) and UCRL-RFE at ``c_beta = 0.0003`` after K = 400 episodes on the
    instances of :func:`h_compare_run`: value error of each learner's planning model (:func:`evaluation_errors`; no
    planning bonus involved), with and without the row-sum projection; HF-UCRL-RFE++'s tied fraction; its certificate
    at its own radius and at a horizon-scaled radius (times sqrt(H), a separate run)."""
    m = mdps.random_linear_mixture(**HCMP_SIZE, horizon=int(H), seed=HCMP_INSTANCE0 + seed, concentration=HCMP_CONC)
    tr = one_state_rewards(m)
    kw = dict(seed=seed, c_beta=C_BETA_DIR, M=M_ORDERS, test_rewards=tr[:1])
    hf = hf_ucrl_rfe(m, K_DIR, **kw)
    off = hf_ucrl_rfe(m, K_DIR, explore="off", **kw)
    scaled = hf_ucrl_rfe(m, K_DIR, radius_h_power=0.5, **kw)
    th_u = ucrl_rfe(m, K_DIR, seed=seed, c_beta=C_BETA_DIR, test_rewards=tr[:1]).extra["theta_plan"][-1]
    keys = ("hf", "hf_centre", "hf_off", "hf_off_centre", "ucrl", "ucrl_projected")
    thetas = (hf.extra["theta_plan"][-1], hf.extra["theta_centre"][-1], off.extra["theta_plan"][-1],
              off.extra["theta_centre"][-1], th_u, mass_projection(m.phi, th_u))
    return {**dict(zip(keys, evaluation_errors(m, thetas, tr))),
            "hf_tied": float(hf.extra["tied_fraction"].mean()),
            "hf_cert": float(hf.certificate[-1]),
            "hf_cert_radius_sqrtH": float(scaled.certificate[-1])}


def _hval_measure(ctx: RunContext, key: str) -> Measurement:
    _warm()
    rows = _rows(ctx, h_value_run, {"H": list(H_GRID)}, "rfe_linear_mixture.Hval", _sized_seeds(ctx, "hval_seeds"))
    x, y = rows_to_matrix(rows, "H", key)
    meta = {"c_beta": C_BETA_DIR, "K": K_DIR, "instance": "random_linear_mixture(S=5, A=2, d=3, concentration=0.2)"}
    for other in ("hf", "hf_centre", "hf_off", "hf_off_centre", "ucrl", "ucrl_projected", "hf_tied", "hf_cert"):
        meta[f"mean {other} per H"] = rows_to_matrix(rows, "H", other)[1].mean(axis=1)
    return Measurement("H", x, y, f"{key} after K = {K_DIR} (total reward <= 1)", meta=meta)




def _seeds(ctx):
    return _n_seeds(ctx, HARD_SEEDS)


def _Ks(ctx):
    return list(sizes(SIZES, ctx)["Ks"])


def _k_sweep(ctx, family, learner=None):
    """One sweep over K for both families (the claims and controls that share it are then served from the store);
    a learner under test runs the ``"theorem"`` family only (the controls stay the reference's)."""
    _warm()
    fams = ["theorem", "fixed"] if learner is None else ["theorem"]
    rows = _sweep(ctx, hard_run, {"K": _Ks(ctx), "d": [D_FIXED], "H": [H_FIXED], "family": fams},
                  "rfe_linear_mixture.K", _seeds(ctx), learner)
    return [r for r in rows if r["params"]["family"] == family]


def _saturation(x, mean) -> str:
    """How much the mean fell over the last doubling of x (a curve that has stopped falling is reported as
    saturated, not as a rate)."""
    drop = float(mean[-2] / mean[-1]) if mean[-1] > 0 else float("inf")
    state = "saturated (fell by < 10% over the last doubling)" if drop < 1.1 else "still falling"
    return f"mean(x[-2]) / mean(x[-1]) = {drop:.3g}: {state}"


def _rate_measure(ctx: RunContext, family: str, learner=None) -> Measurement:
    rows = _k_sweep(ctx, family, learner)
    x, y = rows_to_matrix(rows, "K", "eps")
    b = RFE_LM_ERROR_LOWER.evaluate(d=D_FIXED, K=x)
    m = Measurement("K", x, y, "planning error max_r V* - V^pi_r", bound_values=b,
                    meta={"instance": f"hard_linear_mixture_rfe(d={D_FIXED}, H={H_FIXED})", "family": family,
                          "c_beta": C_BETA, "M": M_ORDERS, "oracle": "R1", "learner": learner or "reference",
                          "reference": "d/sqrt(K) (C = 1): shape only",
                          "saturation": _saturation(x, y.mean(axis=1))})
    return _with_violations(m, rows)


def _d_measure(ctx: RunContext, family: str, learner=None) -> Measurement:
    ds = list(sizes(SIZES, ctx)["ds"])
    fams = ["theorem", "total"] if learner is None else [family]
    rows = _sweep(ctx, hard_run, {"K": [D_RATE_K], "d": ds, "H": [H_FIXED], "family": fams}, "rfe_linear_mixture.d",
                  _n_seeds(ctx, D_SEEDS), learner)
    rows = [r for r in rows if r["params"]["family"] == family]
    x, y = rows_to_matrix(rows, "d", "eps")
    m = Measurement("d - 1", x - 1, y, f"planning error at K = {D_RATE_K}",
                    meta={"family": family, "c_beta": C_BETA, "learner": learner or "reference"})
    return _with_violations(m, rows)


def _h_measure(ctx: RunContext, family: str, learner=None) -> Measurement:
    Hs, K = list(sizes(SIZES, ctx)["h_Hs"]), sizes(SIZES, ctx)["h_K"]
    rows = _sweep(ctx, hard_run, {"K": [K], "d": [D_FIXED], "H": Hs, "family": ["theorem"]},
                  "rfe_linear_mixture.H", _seeds(ctx), learner)
    x, y = rows_to_matrix(rows, "H", "eps_per_step" if family == "per_step" else "eps")
    unit = "per-step units" if family == "per_step" else "total reward <= 1"
    m = Measurement("H", x, y, f"planning error at K = {K} ({unit})",
                    meta={"family": family, "c_beta": C_BETA, "learner": learner or "reference"})
    return _with_violations(m, rows)


def _cert_measure(ctx: RunContext, key: str, learner=None) -> Measurement:
    rows = _k_sweep(ctx, "theorem", learner)
    x, y = rows_to_matrix(rows, "K", "eps")
    _, c = rows_to_matrix(rows, "K", key)
    meta = {"certificate": key, "c_beta": C_BETA, "learner": learner or "reference",
            "certificate formula": "4 V^_1(s_1) (Lemma 2.8.7), R1 upper bound"}
    if learner is not None and np.all(np.isnan(c)):
        # the protocol's certificate() is optional: a learner that certifies nothing has nothing to violate here
        meta["certificate"] = "none offered by the learner: nothing to check (every other claim still applies)"
        c = np.full(c.shape, np.inf)
    m = Measurement("K", x, y, "planning error vs 4 x certificate", bound_values=4.0 * c, meta=meta)
    return _with_violations(m, rows)


def lock_run(L, seed, learner=None, explorer="reference"):
    """Planning error after ``LOCK_K`` episodes on :func:`mdps.lock_linear_mixture_rfe` (``d = 3``, lock length
    ``L``, instance ``LOCK_INSTANCE0 + seed``; test rewards at x3 and at x2): the reference (fast path), the learner
    ``learner`` (protocol) or, with ``explorer="uniform"``, the uniform-exploration baseline (:func:`uniform_baseline`,
    protocol). Also the fraction of episodes that reached the bandit state (reference only)."""
    m = lock_linear_mixture_rfe(LOCK_D, int(L), LOCK_H, gap=LOCK_GAP, seed=LOCK_INSTANCE0 + seed)
    tr = lock_rfe_test_rewards(m)
    if explorer == "uniform":
        o = run_reward_free(uniform_baseline, m, LOCK_K, seed, tr)
        return {"eps": o["eps"], "violations": o["violations"]}
    if learner is not None:
        return _protocol_result(learner, m, LOCK_K, seed, tr)
    r = hf_ucrl_rfe(m, LOCK_K, seed=seed, c_beta=C_BETA, M=M_ORDERS, test_rewards=tr)
    return {"eps": r.final_error}


def _lock_measure(ctx: RunContext, learner=None, explorer="reference") -> Measurement:
    _warm()
    seeds = _seeds(ctx)
    grid = {"L": list(LOCK_LENGTHS)}
    base = _rows(ctx, lock_run, {**grid, "explorer": ["uniform"]}, "rfe_linear_mixture.lock_uniform", seeds)
    xb, yb = rows_to_matrix(base, "L", "eps")
    if explorer == "uniform":
        rows, x, y = base, xb, yb
    else:
        rows = _sweep(ctx, lock_run, grid, "rfe_linear_mixture.lock", seeds, learner)
        x, y = rows_to_matrix(rows, "L", "eps")
    ub = yb.mean(axis=1)
    no_info = LOCK_GAP * (LOCK_D - 1) * (LOCK_H - xb - 1) / LOCK_H
    m = Measurement("L", x, y, f"planning error after K = {LOCK_K} behind a lock of length L",
                    bound_values=LOCK_RATIO * ub,
                    meta={"learner": "uniform exploration (baseline)" if explorer == "uniform" else (learner or "reference"),
                          "instance": f"lock_linear_mixture_rfe(d={LOCK_D}, L, H={LOCK_H}, gap={LOCK_GAP}), "
                                      f"instances {LOCK_INSTANCE0:_}+seed", "c_beta": C_BETA,
                          "uniform exploration mean error per L": ub,
                          "mean error / uniform's per L": y.mean(axis=1) / np.where(ub > 0, ub, np.nan),
                          "expected error of a random bandit action per L (no information)": no_info,
                          "bound": f"{LOCK_RATIO:g} x uniform exploration's mean error (same instances, seeds)"})
    return _with_violations(m, rows)


def _coverage_measure(ctx: RunContext, radius: float) -> Measurement:
    rows = _k_sweep(ctx, "theorem")
    x, y = rows_to_matrix(rows, "K", "coverage")
    return Measurement("K", x, y, "max_k,m,X ||theta* - theta_hat||_Sigma / beta_k", bound_values=np.full(x.shape, radius),
                       meta={"c_beta": C_BETA, "radius (multiple of beta_k)": radius})


CHECK = Check(
    name="rfe_linear_mixture",
    title="Horizon-free reward-free exploration for linear mixture MDPs (HF-UCRL-RFE++)",
    source="Zhang, Zhang & Gu, ICML 2023 (arXiv 2303.10165); presented in W. Zhang's UCLA dissertation (2024), ch. 2",
    claims=[
        Claim(
            uses_learner=True,
            name="exploration_beats_uniform",
            statement=f"behind a combination lock of length L in {list(LOCK_LENGTHS)} (S = L + 4 states, d = {LOCK_D}, "
                      f"A = {2 ** (LOCK_D - 1)}, H = {LOCK_H}, gap {LOCK_GAP}) the planning error after K = {LOCK_K} "
                      f"episodes is at most {LOCK_RATIO:g} x that of uniform exploration (same estimator and planner, "
                      "same instances and episode streams): one-sided 95% upper limit of the mean at every L",
            source="Thm 2.6.3 (K(eps) = O~(d^2 eps^-2), independent of |S| and |A|); Alg. 4 line 5 (exploration "
                   "maximises the uncertainty accumulated along the trajectory)",
            rule=MeanBound(kind="upper"),
            measure=lambda ctx: _lock_measure(ctx, _learner(ctx)),
            negative_control=lambda ctx: _lock_measure(ctx, None, "uniform"),
            control_description="uniform exploration (the non-learning baseline: uniformly random actions, the "
                                "reference's regression and planner) cannot beat itself by half",
        ),
        Claim(
            uses_learner=True,
            name="certificate",
            statement="eps_hat <= 4 V^_1(s_1) on every run (the algorithm certifies its own planning error)",
            source="Lemma 2.8.7 (with theta* in the confidence sets, Lemma 2.8.6)",
            rule=BoundHolds(kind="upper"),
            measure=lambda ctx: _cert_measure(ctx, "cert", _learner(ctx)),
            negative_control=lambda ctx: _cert_measure(ctx, "cert_zero_radius"),
            control_description="plug-in certificate: confidence radius set to 0 (trusts the estimate)",
        ),
        Claim(
            uses_learner=True,
            name="lower_bound_rate",
            statement="on the lower-bound family the planning error shrinks like d/sqrt(K): slope CI contains -1/2",
            source="Thm 2.6.3 (upper, O~(d/sqrt K + d^2/K)) and Thm 2.6.8 (lower, Omega(d^2 eps^-2))",
            rule=SlopeCI(-0.5, mode="contains", tol=RATE_TOL),
            measure=lambda ctx: _rate_measure(ctx, "theorem", _learner(ctx)),
            negative_control=lambda ctx: _rate_measure(ctx, "fixed"),
            control_description="fixed gap (the family's gap at K = 1600): the error cannot follow 1/sqrt(K)",
            bound=RFE_LM_ERROR_LOWER,
        ),
        Claim(
            uses_learner=True,
            name="d_rate",
            statement="on the lower-bound family at K = 400 the error grows like d: slope in d - 1 contains 1",
            source="Thm 2.6.8 (Omega(d^2 eps^-2), i.e. error Omega(d/sqrt K)); Thm 2.6.3 (matching upper bound)",
            rule=SlopeCI(1.0, mode="contains", tol=RATE_TOL),
            measure=lambda ctx: _d_measure(ctx, "theorem", _learner(ctx)),
            negative_control=lambda ctx: _d_measure(ctx, "total"),
            control_description="total gap (d-1) Delta held fixed: the error grows more slowly than d",
            bound=RFE_LM_LOWER,
        ),
        Claim(
            name="keps_random",
            statement="on random linear mixture MDPs the value error of the planning model falls like K^-1/2 "
                      "(K(eps) ~ eps^-2) on the window K in [800, K_max] fixed in advance and on both its halves: "
                      "slope CIs on [800, K_max], [800, 3200] and [3200, K_max] each contain -1/2 (+-0.1)",
            source="Thm 2.6.3 / Cor. 2.6.4: K(eps) = O~(d^2 eps^-2), i.e. error O~(d/sqrt K)",
            rule=AllOf((SlopeCI(-0.5, mode="contains", tol=KEPS_TOL, x_min=RAND_K_LO),
                        SlopeCI(-0.5, mode="contains", tol=KEPS_TOL, x_min=RAND_K_LO, x_max=RAND_K_MID),
                        SlopeCI(-0.5, mode="contains", tol=KEPS_TOL, x_min=RAND_K_MID))),
            measure=lambda ctx: _keps_measure(ctx, 0.0),
            negative_control=lambda ctx: _keps_measure(ctx, MISSPEC_RHO),
            control_description=f"a misspecified environment (rho = {MISSPEC_RHO:g} of every row outside the model's "
                                "span, mdps.misspecified_linear_mixture): the same learner, simulated with common random "
                                "numbers, cannot reach zero error (its error floors near 0.0018)",
            bound=RFE_LM_UPPER,
        ),
        Claim(
            uses_learner=True,
            name="horizon_free",
            statement="with total reward <= 1 the error at fixed K does not grow with H: slope in H below 0.25",
            source="Thm 2.6.3 / Cor. 2.6.4: K(eps) = O~(d^2 eps^-2), polylog in H",
            rule=SlopeCI(H_SLOPE, mode="below"),
            measure=lambda ctx: _h_measure(ctx, "theorem", _learner(ctx)),
            negative_control=lambda ctx: _h_measure(ctx, "per_step"),
            control_description="per-step rewards (Cor. 2.6.10 scale): error in per-step units grows like H",
            bound=RFE_LM_UPPER,
        ),
        Claim(
            name="ucrl_rfe_grows_with_H",
            statement="UCRL-RFE's planning error (total reward <= 1, fixed K) grows with H: slope CI in H above 0.25",
            source="UCRL-RFE, Thm 2.4.3: O~(H^5 d^2 eps^-2) for per-step rewards, i.e. H^3 d^2 eps^-2 at total 1 "
                   "(S1 Table 2.1, the comparison HF-UCRL-RFE++ improves on)",
            rule=SlopeCI(H_SLOPE, mode="above"),
            measure=lambda ctx: _hcmp_measure(ctx, "ucrl"),
            negative_control=lambda ctx: _hcmp_measure(ctx, "ucrl_nobonus"),
            control_description="the same UCRL-RFE runs planned without PLAN's bonus (greedy in the estimated model): "
                                "the growth must vanish",
            bound=UCRL_RFE_UPPER,
        ),
        Claim(
            name="exploration_horizon_free",
            statement="with uncertainty-directed exploration (c_beta = 0.0003, K = 400) the value error of "
                      "HF-UCRL-RFE++'s estimate (the unprojected centre) does not grow with H: slope CI in H below 0.25",
            source="Thm 2.6.3 / Cor. 2.6.4 (K(eps) polylog in H); exploration by the uncertainty pseudo-reward, Alg. 4",
            rule=SlopeCI(H_SLOPE, mode="below"),
            measure=lambda ctx: _hval_measure(ctx, "hf_centre"),
            negative_control=lambda ctx: _hval_measure(ctx, "hf_off_centre"),
            control_description="the same learner with the uncertainty pseudo-reward switched off (explore='off', the "
                                "explorer repeats one action; same instances, common random numbers): its error grows "
                                "with H",
            bound=RFE_LM_UPPER,
        ),
        Claim(
            name="ucrl_value_error_grows_with_H",
            statement="in the same runs UCRL-RFE's estimate (as published: unweighted ridge, no projection) has a value "
                      "error that grows with H: slope CI in H above 0.25",
            source="UCRL-RFE, Thm 2.4.3 (polynomial in H); the comparison HF-UCRL-RFE++ improves on",
            rule=SlopeCI(H_SLOPE, mode="above"),
            measure=lambda ctx: _hval_measure(ctx, "ucrl"),
            negative_control=lambda ctx: _hval_measure(ctx, "ucrl_projected"),
            control_description="the same UCRL-RFE estimates projected onto the rows-sum-to-1 constraint: the growth "
                                "is the row-mass error compounding over the H steps and vanishes",
        ),
        Claim(
            name="certificate_horizon_free",
            statement="HF-UCRL-RFE++'s certificate V^_1(s_1) (its error bound is 4 times it) at fixed K does not grow "
                      "with H: slope CI in H below 0.25",
            source="Thm 2.6.3 / Lemma 2.8.9 (the summed V^ is polylog in H)",
            rule=SlopeCI(H_SLOPE, mode="below"),
            measure=lambda ctx: _hval_measure(ctx, "hf_cert"),
            negative_control=lambda ctx: _hval_measure(ctx, "hf_cert_radius_sqrtH"),
            control_description="a horizon-scaled radius (c_beta beta_k sqrt(H), radius_h_power = 0.5; separate runs)",
            deviation="under the R1 relaxation the certificate grows like sqrt(H) (and falls like 1/sqrt(K)); slope "
                      "and CI in the report, the mechanism (0/1 vertex targets) in FINDINGS.md",
        ),
        Claim(
            name="exploration_identifies_theta",
            statement="uncertainty-driven exploration identifies theta* in every direction: the uniform model error "
                      "max_{s,a} ||P_hat - P||_1 decreases in K (slope CI below -1/2 + 0.3)",
            source="Alg. 4 line 5 with the uncertainty pseudo-reward (eq. 2.6.1); confidence sets of Lemma 2.8.6",
            rule=SlopeCI(-0.5, mode="below", tol=MODEL_SLOPE_TOL),
            measure=lambda ctx: _model_measure(ctx, "on"),
            negative_control=lambda ctx: _model_measure(ctx, "off"),
            control_description="uncertainty pseudo-reward switched off: the explorer repeats one action and never "
                                "learns the other sign coordinates",
        ),
        Claim(
            name="confidence_coverage",
            statement="theta* lies in every HOME ellipsoid (both series, all orders, all episodes) at radius c_beta beta_k",
            source="Lemma 2.8.6 (proved for c_beta = 1)",
            rule=BoundHolds(kind="upper"),
            measure=lambda ctx: _coverage_measure(ctx, C_BETA),
            negative_control=lambda ctx: _coverage_measure(ctx, C_BETA / H_FIXED),
            control_description="horizon-scaled radius c_beta beta_k / H (the 1/H reward rescaling applied to the "
                                "radius)",
        ),
    ],
    protocol=PROTOCOL,
    mutants=MUTANTS,
    bounds=BOUNDS,
)
