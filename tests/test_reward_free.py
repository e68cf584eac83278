"""Reward-free learners on linear mixture MDPs: kernels vs NumPy references, reproducibility, sanity, errors."""
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdps
from mdps.linear_mixture import hard_rfe_test_rewards, riverswim_test_rewards
from rltheory import LinearMixtureMDP
from rltheory.algorithms.reward_free import hf_beta, hf_ucrl_rfe, rf_express, ucrl_rfe, ucrl_rfe_beta
from rltheory.algorithms.reward_free._common import qnorm, sherman_morrison, vertex_table
from rltheory.algorithms.reward_free.hf_ucrl_rfe import _home, _uncertainty
from rltheory.solvers.linear_mixture import linear_mixture_value, solve_linear_mixture, suboptimality


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_sherman_morrison_matches_inverse(d, n, seed):
    rng = np.random.default_rng(seed)
    Sig = np.eye(d) * rng.uniform(0.5, 2)
    Sinv = np.linalg.inv(Sig)
    for _ in range(n):
        x = rng.normal(size=d)
        w = rng.uniform(0.1, 10)
        Sig += w * np.outer(x, x)
        sherman_morrison(Sinv, x, w)
    np.testing.assert_allclose(Sinv, np.linalg.inv(Sig), rtol=1e-7, atol=1e-9)
    x = rng.normal(size=d)
    assert abs(qnorm(Sinv, x) - math.sqrt(x @ np.linalg.solve(Sig, x))) < 1e-8


def _home_ref(phis, th, Sinv, SinvF, beta, alpha, gamma):
    M = phis.shape[0]
    out = np.empty(M)
    nrm = lambda A, x: math.sqrt(max(x @ A @ x, 0.0))  # noqa: E731
    for m in range(M - 1):
        vbar = np.clip(phis[m + 1] @ th[m + 1], 0, 1) - np.clip(phis[m] @ th[m], 0, 1) ** 2
        E = min(1.0, 2 * beta * nrm(SinvF[m], phis[m])) + min(1.0, beta * nrm(SinvF[m + 1], phis[m + 1]))
        out[m] = max(gamma ** 2 * nrm(Sinv[m], phis[m]), vbar + E, alpha ** 2)
    out[M - 1] = max(gamma ** 2 * nrm(Sinv[M - 1], phis[M - 1]), 1.0, alpha ** 2)
    return out


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_home_matches_reference(d, M, seed):
    rng = np.random.default_rng(seed)
    phis = rng.normal(size=(M, d)) * 0.3
    th = rng.normal(size=(M, d))
    mats = []
    for _ in range(2):
        G = rng.normal(size=(M, d, d))
        mats.append(np.einsum("mij,mkj->mik", G, G) + np.eye(d))
    beta, alpha, gamma = rng.uniform(0, 5), rng.uniform(0.05, 1), rng.uniform(0.3, 1)
    out = np.empty(M)
    _home(phis, th, mats[0], mats[1], beta, alpha, gamma, out)
    np.testing.assert_allclose(out, _home_ref(phis, th, mats[0], mats[1], beta, alpha, gamma), rtol=1e-12)
    assert np.all(out >= alpha ** 2) and out[-1] >= 1.0


def test_uncertainty_is_the_vertex_maximum():
    m = mdps.random_linear_mixture(4, 2, 3, 5, seed=1)
    verts, psiv = vertex_table(m)
    Sinv = np.linalg.inv(np.eye(3) * 2.0 + np.diag([5.0, 1.0, 0.1]))
    u = np.empty((4, 2))
    vs = np.empty((4, 2), dtype=np.int64)
    _uncertainty(psiv, Sinv, 0.7, u, vs)
    # brute force over the cube corners with the model's oracle
    for s in range(4):
        for a in range(2):
            vals = [math.sqrt(m.psi(v)[s, a] @ Sinv @ m.psi(v)[s, a]) for v in verts]
            assert abs(u[s, a] - min(1.0, 0.7 * max(vals))) < 1e-12
            assert abs(vals[vs[s, a]] - max(vals)) < 1e-12


def test_beta_formulas():
    d, H, B, delta, k = 4, 16, 2.0, 0.1, 50
    lam, alpha, gamma = d / B ** 2, H ** -0.5, d ** -0.25
    eta = math.log(1 + k * H / (alpha ** 2 * d * lam))
    tau = math.log(32 * (math.log(gamma ** 2 / alpha) + 1) * k ** 2 * H ** 2 / delta)
    assert abs(hf_beta(k, d, H, B, delta) - (12 * math.sqrt(d * eta * tau) + 30 * tau / gamma ** 2 + math.sqrt(lam) * B)) < 1e-9
    # H < d: log(gamma^2/alpha) < 0 is floored at 0 (note I.2.4)
    assert np.isfinite(hf_beta(10, 8, 2, 1.0, 0.1))
    assert abs(ucrl_rfe_beta(10, 2, 5, 1.0, 0.1) - (5 * math.sqrt(2 * math.log(3 * (1 + 10 * 125) / 0.1)) + 1)) < 1e-12


def test_hf_reproducible_and_seed_dependent():
    m = mdps.random_linear_mixture(4, 2, 3, 6, seed=3, concentration=0.3)
    tr = [m.R, np.eye(4)[:, :1].repeat(2, axis=1) / 6]
    a = hf_ucrl_rfe(m, 40, seed=5, test_rewards=tr, checkpoints=[10, 40])
    b = hf_ucrl_rfe(m, 40, seed=5, test_rewards=tr, checkpoints=[10, 40])
    c = hf_ucrl_rfe(m, 40, seed=6, test_rewards=tr, checkpoints=[10, 40])
    np.testing.assert_array_equal(a.extra["theta_plan"], b.extra["theta_plan"])
    np.testing.assert_array_equal(a.errors, b.errors)
    assert not np.array_equal(a.extra["theta_plan"], c.extra["theta_plan"])
    assert a.oracle.startswith("R1") and a.c_beta == 0.02 and a.extra["M"] == 4
    assert a.errors.shape == (2, 2) and np.all(a.errors >= 0)
    assert np.all((a.certificate >= 0) & (a.certificate <= 1))
    assert a.extra["coverage"].shape == (40,)


def test_hf_learns_theta_and_certificate_holds():
    m = mdps.random_linear_mixture(5, 2, 3, 8, seed=0)
    r = hf_ucrl_rfe(m, 300, seed=0, c_beta=0.003, test_rewards=[m.R], checkpoints=[300])
    assert np.linalg.norm(r.extra["theta_plan"][-1] - m.theta) < 0.1
    assert r.final_error <= 4 * r.certificate[-1]
    assert r.extra["coverage"].max() <= 0.003  # theta* inside every shrunk ellipsoid on this run


def test_hf_certificate_scales_and_controls():
    m = mdps.hard_linear_mixture_rfe(3, 6, K=200, seed=0)
    r = hf_ucrl_rfe(m, 50, seed=0, c_beta=0.003, test_rewards=hard_rfe_test_rewards(m), certificate_scales=(0.0, 0.5))
    cs = r.extra["certificates"][-1]
    assert list(r.extra["certificate_scales"]) == [0.0, 0.5, 1.0]
    assert cs[0] == 0.0 and cs[1] <= cs[2] and cs[2] == r.certificate[-1]
    off = hf_ucrl_rfe(m, 50, seed=0, c_beta=0.003, explore="off", test_rewards=hard_rfe_test_rewards(m))
    assert off.extra["explore"] == "off"


def test_baselines_run_and_reproduce():
    m = mdps.linear_mixture_riverswim(5, 12)
    tr = riverswim_test_rewards(m)
    for f in (ucrl_rfe, rf_express):
        a = f(m, 60, seed=1, test_rewards=tr, checkpoints=[20, 60])
        b = f(m, 60, seed=1, test_rewards=tr, checkpoints=[20, 60])
        np.testing.assert_array_equal(a.errors, b.errors)
        np.testing.assert_array_equal(a.certificate, b.certificate)
        assert np.all(a.errors >= 0) and a.errors.shape == (2, 3)


def test_ucrl_plan_bonus_switch():
    m = mdps.random_linear_mixture(4, 2, 3, 20, seed=1, concentration=0.2)
    tr = riverswim_test_rewards(mdps.linear_mixture_riverswim(4, 20))
    a = ucrl_rfe(m, 10, seed=0, c_beta=0.3, test_rewards=tr)
    b = ucrl_rfe(m, 10, seed=0, c_beta=0.3, test_rewards=tr, plan_bonus=False)
    np.testing.assert_array_equal(a.extra["theta_plan"], b.extra["theta_plan"])  # same exploration
    assert a.extra["plan_bonus"] and not b.extra["plan_bonus"] and "control" in b.planning
    for j, r in enumerate(tr):  # without the bonus, PLAN (on H r, clipped to [0, H]) is greedy in the estimated model
        pol = solve_linear_mixture(m, r, theta=b.extra["theta_plan"][-1], clip=True).policy
        assert abs(suboptimality(m, pol, r) - b.errors[-1, j]) < 1e-9
    with pytest.raises(TypeError, match="plan_bonus"):
        ucrl_rfe(m, 5, seed=0, plan_bonus=1)


def test_rf_express_learns_the_tabular_model():
    m = mdps.random_linear_mixture(3, 2, 2, 5, seed=2)
    r = rf_express(m, 3000, seed=0, c_beta=0.001, test_rewards=[m.R], checkpoints=[30, 3000])
    assert r.eps_hat[-1] <= r.eps_hat[0] + 1e-12 and r.eps_hat[-1] < 0.02
    assert r.extra["visits"].min() > 0


def test_argument_errors():
    m = mdps.random_linear_mixture(3, 2, 2, 4, seed=0)
    with pytest.raises(TypeError, match="mdp: expected a LinearMixtureMDP"):
        hf_ucrl_rfe(m.to_tabular(), 10, seed=0)
    with pytest.raises(ValueError, match="K: must be >= 1"):
        hf_ucrl_rfe(m, 0, seed=0)
    with pytest.raises(TypeError, match="K: expected an int"):
        hf_ucrl_rfe(m, "10", seed=0)
    with pytest.raises(TypeError, match="seed: expected an int"):
        ucrl_rfe(m, 10, seed=True)
    with pytest.raises(TypeError, match="project: expected a bool"):
        hf_ucrl_rfe(m, 10, seed=0, project=1)
    with pytest.raises(ValueError, match="seed"):
        ucrl_rfe(m, 10, seed=-1)
    with pytest.raises(ValueError, match="c_beta"):
        rf_express(m, 10, seed=0, c_beta=-1.0)
    with pytest.raises(ValueError, match="checkpoints"):
        hf_ucrl_rfe(m, 10, seed=0, checkpoints=[11])
    with pytest.raises(ValueError, match="rewards: a trajectory"):
        hf_ucrl_rfe(m, 10, seed=0, test_rewards=[np.ones((3, 2))])
    with pytest.raises(ValueError, match="explore"):
        hf_ucrl_rfe(m, 10, seed=0, explore="maybe")
    big = mdps.linear_mixture_riverswim(13, 4)
    with pytest.raises(ValueError, match="2\\^S vertices"):
        hf_ucrl_rfe(big, 10, seed=0)
    per = m.with_rewards(np.full((3, 2), 0.9), reward_scale="per_step")
    with pytest.raises(ValueError, match="total-reward normalisation"):
        hf_ucrl_rfe(per, 10, seed=0)


def test_check_module_is_discoverable():
    from proofs_checks.rfe_linear_mixture import CHECK

    assert CHECK.name == "rfe_linear_mixture"
    assert {c.name for c in CHECK.claims} == {"exploration_beats_uniform", "lower_bound_rate", "d_rate",
                                              "horizon_free", "certificate",
                                              "confidence_coverage", "exploration_identifies_theta", "keps_random",
                                              "ucrl_rfe_grows_with_H", "exploration_horizon_free",
                                              "ucrl_value_error_grows_with_H", "certificate_horizon_free"}
    assert all(c.negative_control is not None and c.control_description for c in CHECK.claims)
    assert {c.name for c in CHECK.learner_claims} == {"exploration_beats_uniform", "certificate", "lower_bound_rate",
                                                      "d_rate", "horizon_free"}


@pytest.mark.slow
def test_check_quick_passes():
    from proofs_checks.framework import RunContext, _serial_runner
    from proofs_checks.rfe_linear_mixture import CHECK

    ctx = RunContext(quick=True, seeds=8, runner=lambda fn, grid, seeds, **kw: _serial_runner(fn, grid, seeds))
    rep = CHECK.run(ctx)
    assert rep.passed, [(r.claim.name, r.status, r.result.message, r.control_result.message) for r in rep.results]


def _explore_dp_ref(mdp, u, theta, Sinv, bonus):
    H, S = mdp.horizon, mdp.S
    V = np.zeros((H + 1, S))
    pi = np.zeros((H, S), dtype=np.int64)
    for h in range(H - 1, -1, -1):
        ps = mdp.psi(V[h + 1])
        nrm = np.sqrt(np.maximum(np.einsum("sai,ij,saj->sa", ps, Sinv, ps), 0))
        Q = np.clip(u + bonus * nrm + ps @ theta, 0, 1)
        V[h], pi[h] = Q.max(1), Q.argmax(1)
    return V, pi


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_explore_dp_and_ucrl_plan_match_references(S, A, d, H, seed):
    from rltheory.algorithms.reward_free.hf_ucrl_rfe import _explore_dp
    from rltheory.algorithms.reward_free.ucrl_rfe import _plan

    rng = np.random.default_rng(seed)
    Ps = rng.dirichlet(np.ones(S), size=(d, S, A))
    m = LinearMixtureMDP(np.moveaxis(Ps, 0, -1), rng.dirichlet(np.ones(d)), np.zeros((S, A)), horizon=H)
    u = rng.random((S, A)) * 0.3
    theta = rng.normal(size=d)
    G = rng.normal(size=(d, d))
    Sinv = np.linalg.inv(G @ G.T + np.eye(d))
    bonus = rng.uniform(0, 2)
    V = np.empty((H + 1, S))
    pi = np.zeros((H, S), dtype=np.int64)
    _explore_dp(np.ascontiguousarray(m.phi), u, True, theta, Sinv, bonus, H, V, pi, np.empty((S, A, d)))
    Vr, pir = _explore_dp_ref(m, u, theta, Sinv, bonus)
    np.testing.assert_allclose(V, Vr, atol=1e-12)
    # UCRL-RFE's PLAN: Q = clip_[0,H](r + psi^T theta + beta ||psi||)
    R3 = rng.random((H, S, A))
    _plan(np.ascontiguousarray(m.phi), R3, theta, Sinv, bonus, H, V, pi, np.empty((S, A, d)))
    Vq = np.zeros(S)
    for h in range(H - 1, -1, -1):
        ps = m.psi(Vq)
        nrm = np.sqrt(np.maximum(np.einsum("sai,ij,saj->sa", ps, Sinv, ps), 0))
        Vq = np.clip(R3[h] + ps @ theta + bonus * nrm, 0, H).max(1)
        np.testing.assert_allclose(V[h], Vq, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_rf_express_w_matches_reference(S, A, H, seed):
    from rltheory.algorithms.reward_free.rf_express import _w_values

    rng = np.random.default_rng(seed)
    Nsas = rng.integers(0, 4, size=(S, A, S)).astype(float)
    N = Nsas.sum(-1)
    c, logterm = rng.uniform(0, 0.01), 1.3
    W = np.zeros((H, S, A))
    _w_values(N, Nsas, H, c, logterm, S, W, np.zeros((H, S), dtype=np.int64))
    Wn = np.zeros(S)
    for h in range(H - 1, -1, -1):
        beta = logterm + S * np.log(8 * np.e * (N + 1))
        w = c * 15 * H * H * beta / np.maximum(N, 1) + (1 + 1 / H) * (Nsas @ Wn) / np.maximum(N, 1)
        w = np.where(N == 0, H, np.minimum(w, H))
        np.testing.assert_allclose(W[h], w, rtol=1e-12)
        Wn = w.max(1)


def test_r1_upper_bounds_the_papers_trajectory_uncertainty():
    """R1's V^_0(s_1) dominates the paper's V^_{k,1}(s_1; theta, pi, r) (eqs. 2.6.1-2.6.2) at feasible points:
    theta = theta* inside the hat ellipsoid, every deterministic policy, random rewards with total <= 1. (The
    relaxation is not monotone in V in general, so this is checked, not assumed.)"""
    import itertools

    from rltheory.algorithms.reward_free.hf_ucrl_rfe import _explore_dp

    rng = np.random.default_rng(0)
    S, A, d, H = 3, 2, 3, 2
    nrm = lambda M, x: math.sqrt(max(x @ M @ x, 0.0))  # noqa: E731
    for trial in range(4):
        m = mdps.random_linear_mixture(S, A, d, H, seed=trial, concentration=0.5)
        verts, psiv = vertex_table(m)
        mats = []
        for _ in range(2):
            G = rng.normal(size=(d, d))
            mats.append(np.linalg.inv(G @ G.T + 0.3 * np.eye(d)))
        Shi, Sti = mats
        beta = rng.uniform(0.05, 0.5)
        z = rng.normal(size=d)
        z /= math.sqrt(z @ np.linalg.inv(Shi) @ z)
        th_hat = m.theta + rng.uniform(0, 1) * beta * z  # theta* in {||theta - th_hat||_Sigma <= beta}
        u = np.empty((S, A))
        _uncertainty(psiv, Sti, beta, u, np.empty((S, A), dtype=np.int64))
        V = np.empty((H + 1, S))
        _explore_dp(np.ascontiguousarray(m.phi), u, True, th_hat, Shi, 3 * beta, H, V, np.zeros((H, S), np.int64),
                    np.empty((S, A, d)))
        for _ in range(5):
            R = rng.random((H, S, A))
            R /= R.max(axis=(1, 2)).sum() * rng.uniform(1, 3)
            for pol in itertools.product(range(A), repeat=H * S):
                pol = np.array(pol).reshape(H, S)
                Vp, Vh = np.zeros(S), np.zeros(S)
                for h in range(H - 1, -1, -1):
                    psp, psh = m.psi(Vp), m.psi(Vh)
                    a = pol[h]
                    idx = np.arange(S)
                    Vp_new = np.minimum(1, R[h, idx, a] + psp[idx, a] @ m.theta)
                    Vh = np.array([min(1.0, min(1.0, beta * nrm(Sti, psp[s, a[s]])) + 2 * beta * nrm(Shi, psh[s, a[s]])
                                       + psh[s, a[s]] @ m.theta) for s in range(S)])
                    Vp = Vp_new
                assert Vh[0] <= V[0, 0] + 1e-12


def test_evaluation_error():
    from proofs_checks.rfe_linear_mixture.claims import evaluation_error, one_state_rewards

    m = mdps.random_linear_mixture(4, 2, 3, 6, seed=0)
    tr = one_state_rewards(m)
    assert evaluation_error(m, m.theta, tr) < 1e-12
    assert evaluation_error(m, m.theta, tr, env=m) < 1e-12
    th = m.theta + 0.05
    pol = solve_linear_mixture(m, tr[0], theta=th, clip=True).policy
    V = solve_linear_mixture(m, tr[0], theta=th).V
    assert abs(m.evaluate(solve_linear_mixture(m, tr[0], theta=th).policy, tr[0], theta=th) - m.mu0 @ V[0]) < 1e-12
    e = evaluation_error(m, th, tr)
    assert e >= abs(m.evaluate(pol, tr[0], theta=th) - m.evaluate(pol, tr[0])) - 1e-15 and e > 0
    # against a misspecified environment the true parameter of the model is no longer exact
    model, env = mdps.misspecified_linear_mixture(4, 2, 3, 6, 0.2, seed=0)
    assert evaluation_error(model, model.theta, tr, env=env) > 1e-3


def test_mass_projection():
    from rltheory.algorithms.reward_free import mass_projection

    rng = np.random.default_rng(0)
    for m in (mdps.random_linear_mixture(5, 2, 3, 4, seed=1), mdps.hard_linear_mixture_rfe(4, 5, K=100, seed=2),
              mdps.linear_mixture_riverswim(4, 5)):
        assert np.allclose(mass_projection(m.phi, m.theta), m.theta)  # theta* satisfies the constraint
        t = m.theta + rng.normal(scale=0.05, size=m.d)
        L = rng.normal(size=(m.d, m.d))
        G = L @ L.T + np.eye(m.d)
        tp = mass_projection(m.phi, t, G)
        assert np.allclose(np.einsum("satd,d->sa", m.phi, tp), 1.0)  # rows of phi theta sum to 1
        # it is the closest such point in the G-metric: no feasible direction improves it
        C = m.phi.sum(axis=2).reshape(-1, m.d)
        null = np.linalg.svd(C)[2][np.linalg.matrix_rank(C):]
        for z in null:
            assert abs((tp - t) @ G @ z) < 1e-10
        tp1 = mass_projection(m.phi, t)
        assert np.allclose(mass_projection(m.phi, tp1), tp1)  # idempotent


def test_misspecified_environment_and_tied_fraction():
    model, env = mdps.misspecified_linear_mixture(4, 2, 3, 5, 0.0, seed=3)
    assert np.allclose(model.P, env.P)
    model, env = mdps.misspecified_linear_mixture(4, 2, 3, 5, 0.3, seed=3)
    Q = (env.P - 0.7 * model.P) / 0.3
    assert np.allclose(Q.sum(-1), 1.0) and Q.min() >= 0 and not np.allclose(Q, model.P)
    with pytest.raises(ValueError, match="rho"):
        mdps.misspecified_linear_mixture(4, 2, 3, 5, 1.5)
    base = hf_ucrl_rfe(model, 40, seed=1, c_beta=0.01)
    same = hf_ucrl_rfe(model, 40, seed=1, c_beta=0.01, environment=model)
    assert np.array_equal(base.extra["theta_plan"], same.extra["theta_plan"])
    other = hf_ucrl_rfe(model, 40, seed=1, c_beta=0.01, environment=env)
    assert not np.array_equal(base.extra["theta_plan"], other.extra["theta_plan"])
    with pytest.raises(ValueError, match="environment"):
        hf_ucrl_rfe(model, 5, seed=0, environment=mdps.random_linear_mixture(4, 2, 3, 6, seed=0))
    with pytest.raises(TypeError, match="environment"):
        hf_ucrl_rfe(model, 5, seed=0, environment=env.P)
    with pytest.raises(TypeError, match="project"):
        hf_ucrl_rfe(model, 5, seed=0, project=1)
    # explore="off": every pseudo-value is 0, so every step is a tie; a huge radius saturates R1 at 1 (all tie too)
    assert np.all(hf_ucrl_rfe(model, 20, seed=0, explore="off").extra["tied_fraction"] == 1.0)
    assert np.all(hf_ucrl_rfe(model, 20, seed=0, c_beta=10.0).extra["tied_fraction"] == 1.0)
    assert hf_ucrl_rfe(model, 200, seed=0, c_beta=1e-4).extra["tied_fraction"][-50:].mean() < 0.5
    # the unprojected centre is kept, and projection changes only the planning parameter
    r = hf_ucrl_rfe(model, 40, seed=1, c_beta=0.01, project=False)
    assert np.array_equal(r.extra["theta_plan"], base.extra["theta_centre"])
    assert "projected" in base.planning and "projected" not in r.planning


# ----------------------------------------------------------------------------- the reward-free learner protocol


def _capture(factory, store):
    def make(**kw):
        store["learner"] = factory(**kw)
        return store["learner"]
    return make


@pytest.mark.parametrize("kw", [{}, {"explore": "off"}, {"project": False, "radius_h_power": 0.5}, {"M": 2}])
def test_protocol_learner_reproduces_the_fast_path_bit_for_bit(kw):
    from rltheory.algorithms.reward_free import HFUCRLRFELearner, run_reward_free

    for m, K, seed in ((mdps.hard_linear_mixture_rfe(4, 5, K=400, seed=3), 120, 3),
                       (mdps.random_linear_mixture(4, 3, 2, 7, seed=1, concentration=0.5), 80, 7)):
        tr = [m.R, np.ones((m.S, m.A)) / (m.horizon * 2)]
        fast = hf_ucrl_rfe(m, K, seed=seed, c_beta=0.003, test_rewards=tr, **{"M": 4, **kw})
        store = {}
        out = run_reward_free(_capture(lambda **a: HFUCRLRFELearner(**a, c_beta=0.003, **{"M": 4, **kw}), store),
                              m, K, seed, tr)
        assert np.array_equal(store["learner"].planning_theta(), fast.extra["theta_plan"][-1])
        assert np.array_equal(out["gaps"], fast.errors[-1]) and out["violations"] == []
        assert out["certificate"] == 4 * fast.certificate[-1]


class _BadProbs:
    def __init__(self, phi, H, K, B, seed, mode="probs"):
        self.S, self.A, self.H, self.mode = phi.shape[0], phi.shape[1], H, mode

    def explore_policy(self):
        return np.full((self.H, self.S, self.A), 1.0 / self.A)

    def update(self, states, actions):
        assert states.shape == (self.H + 1,) and actions.shape == (self.H,)

    def plan(self, reward):
        if self.mode == "shape":
            return np.zeros((self.S,), dtype=np.int64)
        p = np.zeros((self.H, self.S, self.A))
        p[..., 0] = 1.5
        p[..., 1] = -0.5
        return p

    def certificate(self):
        return float("nan")


def test_run_reward_free_invariants_and_errors():
    from rltheory.algorithms.reward_free import run_reward_free
    from rltheory.algorithms.reward_free.protocol import check_policy, evaluate_policy

    m = mdps.random_linear_mixture(4, 2, 2, 5, seed=2)
    out = run_reward_free(_BadProbs, m, 3, 0, [m.R])
    assert any("outside [0, 1]" in v for v in out["violations"])
    assert any("certificate" in v for v in out["violations"]) and np.isnan(out["eps"])
    with pytest.raises(ValueError, match="plan"):
        run_reward_free(lambda **kw: _BadProbs(**kw, mode="shape"), m, 2, 0, [m.R])
    with pytest.raises(TypeError, match="plan"):
        check_policy(np.array([["a"]]), 5, 4, 2, "plan")
    with pytest.raises(ValueError, match="explore_policy"):
        check_policy(np.full((5, 4), 2), 5, 4, 2, "explore_policy")
    # a one-hot probability policy has the value of the deterministic one
    pol = np.random.default_rng(0).integers(0, 2, size=(5, 4))
    probs = np.eye(2)[pol]
    assert abs(evaluate_policy(m, "probs", probs, m.R) - m.evaluate(pol, m.R)) < 1e-12
    mixed = 0.5 * (np.eye(2)[pol] + np.eye(2)[1 - pol])
    v = [m.evaluate(p, m.R) for p in (pol, 1 - pol)]
    assert min(v) - 1e-12 <= evaluate_policy(m, "probs", mixed, m.R) <= max(v) + 1e-12


def test_lock_family():
    from mdps.linear_mixture import lock_linear_mixture_rfe, lock_rfe_test_rewards

    m = lock_linear_mixture_rfe(3, 3, 10, gap=0.04, seed=5)
    assert (m.S, m.A, m.d) == (7, 4, 3) and m.feature_norm_bound() <= 1 + 1e-12
    key = [int(np.argmax(m.P[i, :, i + 1 if i < 2 else 3])) for i in range(3)]
    for i, k in enumerate(key):  # the key action moves on, every other action falls into the dead state
        assert m.P[i, k, i + 1 if i < 2 else 3] == 1.0 and np.all(m.P[i, np.arange(4) != k, 6] == 1.0)
    # the value of the optimal policy: through the lock, then the best bandit arm, reward from step L + 1 on
    assert abs(linear_mixture_value(m) - (10 - 3 - 1) / 10 * (1 / 6 + 2 * 0.04)) < 1e-12
    assert len(lock_rfe_test_rewards(m)) == 3 and lock_rfe_test_rewards(m)[2].shape == (10, 7, 4)
    with pytest.raises(ValueError, match="horizon"):
        lock_linear_mixture_rfe(3, 9, 10, gap=0.04)
    with pytest.raises(ValueError, match="gap"):
        lock_linear_mixture_rfe(3, 1, 10, gap=0.2)


def test_mutant_catalogue_builds():
    from proofs_checks.rfe_linear_mixture import claims as R
    from proofs_checks.rfe_linear_mixture import mutants as MU

    assert (MU.C_BETA, MU.M_ORDERS) == (R.C_BETA, R.M_ORDERS)
    assert len(MU.MUTANTS) >= 5 and len({x.name for x in MU.MUTANTS}) == len(MU.MUTANTS)
    assert R.CHECK.mutants is MU.MUTANTS and R.CHECK.protocol == "reward_free"
    m = mdps.hard_linear_mixture_rfe(3, 4, K=200, seed=1)
    from rltheory.algorithms.reward_free import run_reward_free

    ref = run_reward_free(R.reference_learner, m, 20, 1, hard_rfe_test_rewards(m))
    fast = hf_ucrl_rfe(m, 20, seed=1, c_beta=R.C_BETA, M=R.M_ORDERS, test_rewards=hard_rfe_test_rewards(m))
    assert np.array_equal(ref["gaps"], fast.errors[-1])
    for entry in MU.MUTANTS:
        out = run_reward_free(R._resolve(entry.learner), m, 20, 1, hard_rfe_test_rewards(m))
        assert out["violations"] == [] and np.isfinite(out["eps"]), entry.name


def test_plan_centre_solves_the_summed_normal_equations():
    from rltheory.algorithms.reward_free.hf_ucrl_rfe import plan_centre

    rng = np.random.default_rng(3)
    for d in (1, 3, 6):
        G = rng.normal(size=(2, d, 2 * d))
        gram0 = G @ np.swapaxes(G, 1, 2) + np.eye(d)
        theta0 = rng.normal(size=(2, d))
        theta, gram = plan_centre(gram0, theta0)
        np.testing.assert_array_equal(gram, gram0[0] + gram0[1])
        np.testing.assert_allclose(gram @ theta, gram0[0] @ theta0[0] + gram0[1] @ theta0[1], rtol=1e-10, atol=1e-12)
    with pytest.raises(np.linalg.LinAlgError, match="gram0"):
        plan_centre(np.zeros((2, 2, 2)), np.zeros((2, 2)))


def test_learners_share_one_text_for_the_common_parameters():
    """The parameters check_common validates are documented once and appear whole in each learner's docstring."""
    from rltheory.algorithms.reward_free._common import COMMON_PARAMETERS, check_common, with_common_parameters

    assert "S <= 12" in COMMON_PARAMETERS
    for fn in (check_common, hf_ucrl_rfe, ucrl_rfe, rf_express):
        doc = inspect.getdoc(fn)
        assert "{common_parameters}" not in doc, fn.__name__
        assert "Parameters\n----------\n" + COMMON_PARAMETERS + "\n" in doc, fn.__name__

    def nested():
        """Summary.

        Parameters
        ----------
            {common_parameters}
        """

    assert "\n            mdp : LinearMixtureMDP\n                The model" in with_common_parameters(nested).__doc__

    def undocumented():
        pass

    assert with_common_parameters(undocumented) is undocumented  # docstrings stripped (python -OO)

    def no_marker():
        """Summary without the marker."""

    with pytest.raises(ValueError, match="^fn: "):
        with_common_parameters(no_marker)
