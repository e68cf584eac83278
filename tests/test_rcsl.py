"""RCSL vs Bellman completeness: datasets, function classes and their measures, FQI / RCSL / MBRCSL, instances."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdps
from proofs_checks import RunContext, get
from proofs_checks.framework import _serial_runner
from rltheory import TabularMDP
from rltheory.algorithms.rcsl import (MLP, bellman_backup_q, bellman_misalignment, completeness_residual, LinearClass, MLPClass, TabularClass, behaviour_cloning, collect, concat,
                                      coverage, evaluate_return_conditioned, expected_td, fqi, linear_fqi_population,
                                      linear_inherent_bellman_error, mbrcsl, near_optimal_dataset, projection_residual,
                                      rcsl_mlp, rcsl_return, rcsl_tabular, realizability_error,
                                      relu_interpolant_1d, relu_width_lower_bound_1d, return_distribution, second_difference_count,
                                      stitching_dataset, suboptimal_dataset, tabular_features, weighted_projection)
from rltheory.solvers import occupancy, policy_value, solve
from rltheory.testing import policies, tabular_mdps


@st.composite
def deterministic_mdps(draw, max_states=5, max_actions=3, max_horizon=4):
    S = draw(st.integers(1, max_states))
    A = draw(st.integers(1, max_actions))
    H = draw(st.integers(1, max_horizon))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, (S, A))] = 1.0
    R = rng.integers(0, 4, (S, A)) / 4.0
    return TabularMDP(P, R, horizon=H, mu0=int(rng.integers(0, S)))


# ------------------------------------------------------------------------------------------------ data


def test_collect_shapes_reproducible_and_consistent():
    m = mdps.riverswim(5, horizon=7)
    d1 = suboptimal_dataset(m, 50, seed=3)
    d2 = suboptimal_dataset(m, 50, seed=3)
    assert d1.states.shape == d1.actions.shape == d1.rewards.shape == (50, 7)
    assert d1.states.dtype == np.int64 and d1.rewards.dtype == np.float64
    assert np.array_equal(d1.states, d2.states) and np.array_equal(d1.actions, d2.actions)
    assert not np.array_equal(d1.states, suboptimal_dataset(m, 50, seed=4).states)
    assert np.allclose(d1.rtg[:, 0], d1.returns)
    assert np.allclose(d1.rewards, m.R[d1.states, d1.actions])
    # every transition has positive probability
    nxt = d1.next_states()
    assert np.all(m.P[d1.states, d1.actions, nxt] > 0)


def test_dataset_errors_name_the_field():
    m = mdps.riverswim(4, horizon=5)
    with pytest.raises(ValueError, match="n:"):
        collect(m, np.zeros(4, np.int64), 0, seed=0)
    with pytest.raises(ValueError, match="finite-horizon"):
        collect(mdps.riverswim(4, gamma=0.9), np.zeros(4, np.int64), 5, seed=0)
    with pytest.raises(ValueError, match="policy"):
        collect(m, np.full(4, 7, np.int64), 5, seed=0)
    d = collect(m, np.zeros(4, np.int64), 3, seed=0)
    with pytest.raises(ValueError, match="actions"):
        type(d)(d.states, d.actions + 5, d.rewards, d.last_states, d.source, d.S, d.A)
    with pytest.raises(ValueError, match=r"datasets\[1\]"):
        concat(d, collect(mdps.riverswim(5, horizon=5), np.zeros(5, np.int64), 3, seed=0))


def test_coverage_statistics():
    m = mdps.riverswim(4, horizon=6)
    d = near_optimal_dataset(m, 400, eps=0.5, seed=1)
    c = coverage(m, d)
    assert np.allclose(c["counts"].sum(axis=(1, 2)), 400)
    assert 1.0 <= c["concentrability"] < np.inf
    assert c["best_return"] >= c["mean_return"]
    opt_only = near_optimal_dataset(m, 100, eps=0.0, seed=1)
    c2 = coverage(m, opt_only)
    assert c2["frac_pairs"] < c["frac_pairs"]


@settings(max_examples=30, deadline=None)
@given(tabular_mdps(discounted=False, max_states=5, max_actions=3, max_horizon=4).flatmap(
    lambda m: st.tuples(st.just(m), policies(m))))
def test_return_distribution_matches_policy_value(mp):
    m, pol = mp
    dist = return_distribution(m, pol)
    assert abs(sum(dist.values()) - 1.0) < 1e-9
    assert abs(sum(g * p for g, p in dist.items()) - policy_value(m, pol)) < 1e-7


def test_stitching_dataset_has_no_optimal_trajectory():
    m = mdps.stitching_gridworld(horizon=8)
    d = stitching_dataset(m, mdps.stitching_behaviours(), 250, seed=0)
    assert d.N == 1000 and set(np.unique(d.source)) == {0, 1, 2, 3}
    v_star = float(m.mu0 @ solve(m).V[0])
    assert v_star == 5.0 and d.returns.max() == 3.0
    assert coverage(m, d)["frac_optimal"] == 0.0


# ------------------------------------------------------------------------------------- function classes


def test_weighted_projection_normal_equations():
    rng = np.random.default_rng(0)
    X, y, mu = rng.normal(size=(20, 3)), rng.normal(size=20), rng.random(20)
    w, fit = weighted_projection(X, y, mu)
    assert np.allclose(X.T @ (mu * (y - fit)), 0.0, atol=1e-10)
    assert projection_residual(X, X @ w, mu) < 1e-10


def test_tabular_class_is_complete_and_realizable():
    m = mdps.random_mdp(4, 3, gamma=0.9, seed=2)
    Phi = tabular_features(4, 3)
    mu = np.random.default_rng(0).random((4, 3))
    pol = np.full((4, 3), 1 / 3)
    res = linear_inherent_bellman_error(Phi, m.P, m.R, mu, 0.9, pol)
    assert res["operator_residual"] < 1e-10 and res["reward_residual"] < 1e-10
    assert realizability_error(Phi, solve(m).Q, mu) < 1e-10


def test_tsitsiklis_van_roy_exact_growth_and_residual():
    for g in (0.8, 0.9, 0.99):
        ex = mdps.tsitsiklis_van_roy(gamma=g)
        out = linear_fqi_population(ex.mdp, ex.Phi, ex.mu, iters=10, w0=np.array([1.0]))
        assert np.allclose(out["w"][1:, 0] / out["w"][:-1, 0], 1.2 * g)
        res = linear_inherent_bellman_error(ex.Phi, ex.mdp.P, ex.mdp.R, ex.mu, g, ex.policy)
        # residual of gamma P Phi = gamma * (2, 2) off span (1, 2) under uniform weights: gamma * sqrt(0.5 * 0.32 + 0.5 * 0.08)
        assert res["operator_residual"] == pytest.approx(g * np.sqrt(0.5 * 0.8**2 + 0.5 * 0.4**2))
        assert realizability_error(ex.Phi, np.zeros(2), ex.mu.reshape(-1)) == 0.0


def test_completeness_residual_for_given_f():
    ex = mdps.tsitsiklis_van_roy(gamma=0.9)
    f = ex.Phi[..., 0] * 3.0  # w = 3
    # T f = 0.9 * 2 * 3 on both states; its projection residual on span(1, 2) under uniform weights
    y = np.full(2, 5.4)
    c = (y @ np.array([1.0, 2.0])) / 5.0
    expect = np.sqrt(0.5 * (y[0] - c) ** 2 + 0.5 * (y[1] - 2 * c) ** 2)
    assert completeness_residual(ex.mdp, ex.Phi, f, ex.mu) == pytest.approx(expect)
    assert completeness_residual(ex.mdp, tabular_features(2, 1), f, ex.mu) < 1e-12
    m = mdps.separating_family(8, seed=0)
    assert np.allclose(bellman_backup_q(m, np.zeros((8, 2)), h=1), m.R)
    assert np.allclose(bellman_backup_q(m, solve(m).Q[1], h=0), solve(m).Q[0])
    with pytest.raises(ValueError, match="f:"):
        bellman_backup_q(m, np.zeros(3))


def test_misalignment_angles():
    ex = mdps.tsitsiklis_van_roy(gamma=0.9)
    ang = bellman_misalignment(ex.Phi, ex.mdp.P, ex.mu, ex.policy)
    # span(1, 2) vs its image span(1, 1) under uniform weights: cos = 3 / sqrt(10)
    assert np.sin(ang[0]) == pytest.approx(np.sqrt(1 - 0.9))
    b = mdps.bairds_star(gamma=0.99)
    assert np.all(bellman_misalignment(b.Phi, b.mdp.P, b.mu, b.policy) < 1e-7)
    m = mdps.random_mdp(3, 2, gamma=0.9, seed=0)
    assert np.all(bellman_misalignment(tabular_features(3, 2), m.P, np.ones((3, 2)), np.full((3, 2), 0.5)) < 1e-7)


def test_baird_complete_but_td_diverges():
    ex = mdps.bairds_star(gamma=0.99)
    res = linear_inherent_bellman_error(ex.Phi, ex.mdp.P, ex.mdp.R, ex.mu, 0.99, ex.policy)
    assert res["operator_residual"] < 1e-9
    w0 = np.array([1, 1, 1, 1, 1, 1, 10, 1.0])
    assert expected_td(ex.mdp, ex.Phi, ex.mu, ex.policy, alpha=0.01, iters=1000, w0=w0)["norms"][-1] > 30
    w = linear_fqi_population(ex.mdp, ex.Phi, ex.mu, iters=1500, w0=w0, policy=ex.policy)["w"][-1]
    assert np.abs(ex.Phi[:, 1] @ w).max() < 1e-2


def test_mlp_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    net = MLP(3, 5, 2, seed=0)
    X = rng.normal(size=(7, 3))
    T = rng.normal(size=(7, 2))
    loss = lambda: 0.5 * np.sum((net(X) - T) ** 2)  # noqa: E731
    g = net._grads(X, net(X) - T)
    for p, gp in zip(net.params(), g):
        idx = tuple(rng.integers(0, s) for s in p.shape)
        old = p[idx]
        p[idx] = old + 1e-6
        up = loss()
        p[idx] = old - 1e-6
        dn = loss()
        p[idx] = old
        assert (up - dn) / 2e-6 == pytest.approx(gp[idx], rel=1e-4, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1), st.integers(5, 60))
def test_width_lower_bound_never_exceeds_true_width(k, seed, n):
    net = MLP(1, k, 1, seed=seed, scale=3.0)
    y = net(np.linspace(0, 1, n)[:, None])[:, 0]
    assert relu_width_lower_bound_1d(y, tol=1e-7) <= k


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 40), st.integers(0, 2**32 - 1))
def test_explicit_interpolant_is_exact_and_within_factor_two(n, seed):
    y = np.random.default_rng(seed).normal(size=n)
    net = relu_interpolant_1d(y)
    assert np.allclose(net(np.linspace(0, 1, n)[:, None])[:, 0], y, atol=1e-8)
    assert relu_width_lower_bound_1d(y) <= net.width <= 2 * relu_width_lower_bound_1d(y) + 2


def test_separating_family_realizable_but_not_complete():
    for n in (8, 33):
        m = mdps.separating_family(n, seed=5)
        xs, sa = mdps.separating_features(n)
        x, a = sa[..., 0], sa[..., 1]
        Q = solve(m).Q
        # explicit width-2 network relu(x - a)/2 + relu(a) + (H - 1 - h)
        for h in range(m.horizon):
            assert np.allclose(Q[h], 0.5 * np.maximum(x - a, 0) + np.maximum(a, 0) + (m.horizon - 1 - h))
            assert max(relu_width_lower_bound_1d(Q[h][:, b]) for b in range(2)) == 1
        f = mdps.separating_witness(n)
        assert np.allclose(f, np.maximum(x - a, 0))
        sig = m.P[:, 0].argmax(axis=1)
        Tf = m.R + f.max(axis=1)[sig][:, None]
        assert second_difference_count(Tf[:, 0]) >= n // 2
        assert relu_width_lower_bound_1d(Tf[:, 0]) >= n // 4


# ---------------------------------------------------------------------------------------------- learners


def test_fqi_tabular_full_coverage_is_optimal_and_linear_tabular_agree():
    m = mdps.random_mdp(4, 2, horizon=4, seed=1)
    d = suboptimal_dataset(m, 3000, seed=0)
    v_star = float(m.mu0 @ solve(m).V[0])
    r1 = fqi(d, TabularClass(), mdp=m)
    r2 = fqi(d, LinearClass(tabular_features(4, 2)), mdp=m)
    assert np.allclose(r1.Q, r2.Q, atol=1e-6)
    assert r1.policy_value == pytest.approx(v_star, abs=0.05)
    assert np.array_equal(r1.value, r1.Q[0].max(axis=1)) and r1.nit == 4 and r1.method == "fqi"
    assert np.allclose(r1.fit_rmse, 0.0) and np.allclose(r2.fit_rmse, 0.0, atol=1e-6)
    # a one-feature linear class is not complete: positive residual along the iterates
    r3 = fqi(d, LinearClass(np.ones((4, 2, 1))), mdp=m)
    assert r3.fit_rmse.max() > 1e-3


def test_fqi_mlp_runs_on_separating_family():
    m = mdps.separating_family(8, seed=0)
    _, sa = mdps.separating_features(8)
    d = suboptimal_dataset(m, 200, seed=1)
    r = fqi(d, MLPClass(sa, 4, steps=600), mdp=m)
    assert r.Q.shape == (2, 8, 2) and 0 < r.policy_value <= float(m.mu0 @ solve(m).V[0]) + 1e-9


@settings(max_examples=30, deadline=None)
@given(deterministic_mdps(), st.integers(0, 1000))
def test_rcsl_tabular_attains_best_dataset_return_in_deterministic_mdps(m, seed):
    d = suboptimal_dataset(m, 30, seed=seed)
    pol = rcsl_tabular(d)
    assert rcsl_return(m, d, pol) == pytest.approx(d.returns.max(), abs=1e-9)


@settings(max_examples=20, deadline=None)
@given(tabular_mdps(discounted=False, max_states=4, max_actions=3, max_horizon=4).flatmap(
    lambda m: st.tuples(st.just(m), policies(m, deterministic=False))))
def test_return_conditioned_evaluation_of_markov_policy(mp):
    m, pol = mp
    P = np.broadcast_to(pol, (m.horizon, m.S, m.A)) if pol.ndim == 2 else pol
    assert evaluate_return_conditioned(m, lambda h, s, g: P[h, s], 0.37) == pytest.approx(policy_value(m, pol))


def test_behaviour_cloning_matches_empirical_occupancy():
    m = mdps.riverswim(3, horizon=3)
    d = suboptimal_dataset(m, 4000, seed=0)
    bc = behaviour_cloning(d)
    assert np.allclose(bc(0, 0, 123.0), 0.5, atol=0.05)


def test_rcsl_mlp_conditioning_matters():
    m = mdps.separating_family(16, seed=0)
    xs, _ = mdps.separating_features(16)
    d = suboptimal_dataset(m, 400, seed=1)
    v_star = float(m.mu0 @ solve(m).V[0])
    assert rcsl_return(m, d, rcsl_mlp(d, 4, xs, seed=0)) / v_star > 0.95
    assert rcsl_return(m, d, rcsl_mlp(d, 4, xs, seed=0, cond=False)) / v_star < 0.8


def test_mbrcsl_stitches_where_rcsl_cannot():
    m = mdps.stitching_gridworld(horizon=8)
    d = stitching_dataset(m, mdps.stitching_behaviours(), 250, seed=1)
    assert rcsl_return(m, d, rcsl_tabular(d)) == pytest.approx(3.0)
    r = mbrcsl(d, n_rollouts=1000, seed=2)
    assert r.target == 5.0
    assert evaluate_return_conditioned(m, r.policy, r.target) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="keep_frac"):
        mbrcsl(d, keep_frac=0.0)


def test_constructors_validate():
    with pytest.raises(ValueError, match="n:"):
        mdps.separating_family(2)
    with pytest.raises(ValueError, match="gamma"):
        mdps.tsitsiklis_van_roy(gamma=1.0)
    with pytest.raises(ValueError, match="horizon"):
        mdps.stitching_gridworld(horizon=2)
    assert all(np.allclose(b.sum(axis=1), 1) for b in mdps.stitching_behaviours(eps=0.5))


@pytest.mark.slow
def test_check_quick_passes_with_controls_failing():
    rep = get("rcsl_bellman").run(RunContext(quick=True, seeds=3, runner=_serial_runner))
    assert [r.status for r in rep.results] == ["pass"] * len(rep.results)


# ------------------------------------------------------------------- stationary FQI vs width (issue #7)

from rltheory.algorithms.rcsl import (behaviour_occupancy, knot_hidden_width, knots_complete,  # noqa: E402
                                      normalized_return, relu_knot_features, safe_width, skewed_weights,
                                      smallest_passing_width, stationary_fqi_linear, stationary_fqi_mlp, width_scan)


@pytest.mark.parametrize("n,seed", [(3, 0), (8, 1), (17, 2)])
def test_realizable_scramble_has_linear_qstar_and_permutation_dynamics(n, seed):
    m = mdps.realizable_scramble(n, gamma=0.8, seed=seed)
    x = np.arange(n) / (n - 1)
    assert m.discounted and m.gamma == 0.8
    np.testing.assert_allclose(m.P.sum(axis=0), 1.0)  # every action is a permutation: columns sum to one
    np.testing.assert_allclose(solve(m).Q, np.stack([1 - x, x], axis=1), atol=1e-9)
    # Q* in the knot class at width 0 (realizable), but T f of the width-0 function f = 0 is not (for n >= 4)
    Phi0 = relu_knot_features(x, 0)
    mu = np.full((n, 2), 0.5 / n)
    assert realizability_error(Phi0, solve(m).Q.reshape(-1), mu.reshape(-1)) < 1e-9
    if n >= 8:
        assert completeness_residual(m, Phi0, np.zeros((n, 2)), mu) > 1e-3


def test_realizable_scramble_rejects_bad_input():
    with pytest.raises(ValueError, match="gamma"):
        mdps.realizable_scramble(5, gamma=1.0)
    with pytest.raises((ValueError, TypeError), match="n"):
        mdps.realizable_scramble(2)


@given(st.integers(3, 20), st.integers(0, 25))
@settings(max_examples=30, deadline=None)
def test_relu_knot_features_span_and_completeness(n, w):
    x = np.arange(n) / (n - 1)
    Phi = relu_knot_features(x, w)
    assert Phi.shape == (n, 2, 2 * (2 + w))
    X = Phi.reshape(2 * n, -1)
    rank = np.linalg.matrix_rank(X)
    # complete (spans all of R^{2n}) exactly when every interior grid point is a knot
    assert (rank == 2 * n) == knots_complete(n, w)
    if w == n - 2:
        assert knots_complete(n, w)  # knots on every interior grid point
    assert knot_hidden_width(w) == 2 * (1 + w) + 1
    # gating: the a-head features vanish on the other action
    assert np.all(Phi[:, 0, 2 + w:] == 0) and np.all(Phi[:, 1, :2 + w] == 0)


def test_relu_knot_features_bad_input():
    with pytest.raises(ValueError, match="width"):
        relu_knot_features(np.linspace(0, 1, 4), -1)
    with pytest.raises(ValueError, match="x"):
        relu_knot_features(np.array([0.0, 0.5, 0.4]), 1)


def test_stationary_fqi_complete_class_is_value_iteration():
    # knots on every interior grid point: the class is complete, FQI = value iteration, converges to Q*
    n = 10
    m = mdps.realizable_scramble(n, gamma=0.9, seed=3)
    x = np.arange(n) / (n - 1)
    w = n - 2
    assert knots_complete(n, w)
    mu = skewed_weights(n, 2, seed=0)
    f = stationary_fqi_linear(m, relu_knot_features(x, w), mu, iters=400)
    np.testing.assert_allclose(f, solve(m).Q, atol=1e-6)
    assert normalized_return(m, f) == pytest.approx(1.0)


def test_normalized_return_extremes_and_nan():
    m = mdps.realizable_scramble(9, gamma=0.9, seed=0)
    Q = solve(m).Q
    assert normalized_return(m, Q) == pytest.approx(1.0)
    assert 0.0 <= normalized_return(m, -Q) < 0.5  # greedy on -Q*: a bad policy
    Qmin = -solve(m.with_rewards(-m.R)).Q  # action values of the worst policy's control problem
    assert normalized_return(m, -Qmin) == pytest.approx(0.0, abs=1e-9)
    assert normalized_return(m, np.full_like(Q, np.nan)) == 0.0
    with pytest.raises(ValueError, match="f"):
        normalized_return(m, Q[:, :1])


def test_width_summaries():
    sc = np.array([[0.2, 0.99, 0.99], [0.99, 0.5, 0.99], [0.99, 0.99, 0.1]])
    widths = [1, 2, 4]
    np.testing.assert_array_equal(smallest_passing_width(sc, widths), [2, 1, 1])
    np.testing.assert_array_equal(safe_width(sc, widths), [2, 4, np.inf])
    with pytest.raises(ValueError, match="scores"):
        safe_width(sc[:2], widths)


def test_behaviour_occupancy_is_a_distribution_and_matches_rollout_law():
    m = mdps.realizable_scramble(6, gamma=0.7, seed=1)
    beta = np.full((6, 2), 0.5)
    mu = behaviour_occupancy(m, beta)
    assert mu.sum() == pytest.approx(1.0) and np.all(mu >= 0)
    np.testing.assert_allclose(mu, occupancy(m, beta), atol=1e-10)
    with pytest.raises(ValueError, match="beta"):
        behaviour_occupancy(m, np.ones((6, 2)))


def test_width_scan_narrow_realizable_fqi_is_near_optimal():
    # the measured fact behind issue #7: with Q* realizable at width 0, stationary FQI is optimal at constant width
    # (uniform weights), for every |S| tried here, although the class is far from complete
    for n in (8, 24):
        m = mdps.realizable_scramble(n, gamma=0.9, seed=n)
        sc = width_scan(m, np.arange(n) / (n - 1), [0, 1, 2], np.full((n, 2), 0.5 / n))
        assert np.all(sc >= 0.95)


def test_stationary_fqi_mlp_runs_and_validates():
    n = 8
    m = mdps.realizable_scramble(n, gamma=0.9, seed=0)
    X = mdps.separating_features(n)[1]
    f = stationary_fqi_mlp(m, X, 4, np.full((n, 2), 0.5 / n), iters=10, steps=50, seed=0)
    assert f.shape == (n, 2) and np.all(np.isfinite(f))
    with pytest.raises(ValueError, match="mu"):
        stationary_fqi_mlp(m, X, 4, -np.ones((n, 2)), iters=1)
    with pytest.raises(ValueError, match="method"):
        width_scan(m, np.arange(n) / (n - 1), [1], np.full((n, 2), 0.5 / n), method="nope")


def test_fqi_width_run_reports_failure_fractions():
    from proofs_checks.rcsl_bellman.claims import fqi_width_run
    r = fqi_width_run(8, "uniform", 0)
    assert r["fail_upper"] == r["fail_lower"] == r["complete_fails"] == 0.0   # uniform weights: exact at every width
    assert r["smallest"] == knot_hidden_width(0) == 3 and r["safe"] == 3
    s = fqi_width_run(16, "skewed", 3)                    # skewed weights: some incomplete classes fail
    assert s["fail_upper"] > 0 and s["complete_fails"] == 0.0
    assert s["smallest"] <= s["safe"] <= knot_hidden_width(14)
