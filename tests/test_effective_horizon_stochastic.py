"""Stochastic effective-horizon analyses, the extended suite, SQIRL, Q-learning and sample-complexity helpers."""
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdps
from mdps.eh_suite import KEY_DOOR_ROOMS, eh_suite, key_door, random_deterministic, sticky_actions, stochastic_suite
from proofs_checks.framework import FractionAtLeast, Measurement, RankCorrelationAbove
from rltheory.algorithms.effective_horizon import LinearRegressor, sqirl, sqirl_sample_complexity
from rltheory.algorithms.tabular import geometric_checkpoints, qlearning
from rltheory.algorithms.effective_horizon.analysis import epw, min_k, simple_effective_horizon
from rltheory.algorithms.effective_horizon.sample_complexity import (doubling_search, empirical_sample_complexity,
                                                 first_success_quantile)
from rltheory.algorithms.effective_horizon.stochastic_analysis import qvi_iterates, stochastic_analysis
from rltheory.solvers import evaluate, solve

BRIDGE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "bridge")
KEYCORRIDOR = os.path.join(BRIDGE, "MiniGrid-KeyCorridorS3R1-v0.npz")
# Published by Laidlaw et al. for MiniGrid-KeyCorridorS3R1-v0 (also in test_effective_horizon.py)
PUBLISHED_M = [6667295335345, 1392035355359, 278809136916, 54268730212, 10344878490, 3881656204, 719169930,
               131899527, 23989567, 4332647, 1555678, 277857, 49406, 17501, 3089, 1]


@settings(max_examples=25, deadline=None)
@given(S=st.integers(2, 12), A=st.integers(2, 4), T=st.integers(2, 9), seed=st.integers(0, 2**31))
def test_stochastic_analysis_equals_deterministic_on_deterministic_mdps(S, A, T, seed):
    m = random_deterministic(S, A, horizon=T, seed=seed, reward_density=0.4)
    a = stochastic_analysis(m, k_max=T)
    e = simple_effective_horizon(m)
    assert (a.min_k, a.epw) == (min_k(m), epw(m))
    assert a.ks == e.ks and a.ms == e.ms and a.value == pytest.approx(e.value)
    assert a.optimal_return == pytest.approx(solve(m).V[0, 0])
    assert a.worst_return <= a.random_return + 1e-12 <= a.optimal_return + 2e-12
    # greedy on Q^k is optimal from k = min_k on
    assert all(J == pytest.approx(a.optimal_return, abs=1e-9) for J in a.greedy_returns[a.min_k - 1:])


@pytest.mark.skipif(not os.path.exists(KEYCORRIDOR), reason="shared BRIDGE data not present")
def test_stochastic_analysis_reproduces_published_keycorridor_numbers():
    m = mdps.load_bridge(KEYCORRIDOR, horizon=100)
    a = stochastic_analysis(m, k_max=16)
    assert (a.min_k, a.epw, a.value, a.ms) == (1, 15, 16.0, PUBLISHED_M)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), T=st.integers(2, 6))
def test_qvi_iterates_reach_q_star_and_start_at_random_q(seed, T):
    m = mdps.garnet(6, 3, 2, horizon=T, seed=seed)
    Qs = qvi_iterates(m, T + 1)
    Qr = evaluate_q_random(m)
    np.testing.assert_allclose(Qs[0], Qr, atol=1e-12)
    np.testing.assert_allclose(Qs[-1], solve(m).Q, atol=1e-10)  # T backups from Q^1 give Q*


def evaluate_q_random(m):
    pol = np.full((m.horizon, m.S, m.A), 1.0 / m.A)
    V = evaluate(m, pol)
    return np.stack([m.R + m.P4()[0] @ V[h + 1] for h in range(m.horizon)])


def test_stochastic_min_k_on_sticky_chain_is_larger_than_greedy_can_fix():
    a = stochastic_analysis(sticky_actions(mdps.distractor_chain(9, horizon=18)), k_max=3)
    assert a.min_k > 3 and a.greedy_returns[0] < a.optimal_return - 1


def test_sticky_actions_model():
    base = mdps.distractor_chain(4, horizon=8)
    same = sticky_actions(base, p=0.0)
    assert solve(same).V[0] @ same.mu0 == pytest.approx(solve(base).V[0] @ base.mu0)
    st_ = sticky_actions(base, p=0.25)
    assert st_.S == base.S * (base.A + 1)
    assert solve(st_).V[0] @ st_.mu0 <= solve(base).V[0] @ base.mu0 + 1e-12
    with pytest.raises(ValueError, match="p"):
        sticky_actions(base, p=1.0)


def test_key_door_needs_the_key_and_the_shortest_horizon():
    for mp, T in KEY_DOOR_ROOMS:
        m = key_door(mp, horizon=T)
        assert solve(m).V[0] @ m.mu0 == pytest.approx(1.0)
    m = key_door("SKD.G", horizon=4)  # right, pick up, right, right, right: 5 steps needed
    assert solve(m).V[0] @ m.mu0 == 0.0
    with pytest.raises(ValueError, match="exactly one 'K'"):
        key_door("S.D.G", horizon=5)
    with pytest.raises(ValueError, match="unknown cell"):
        key_door("SKX.G", horizon=5)


def test_suites_are_valid_and_analysable():
    for name, m in eh_suite(quick=True) + stochastic_suite(quick=True):
        assert m.finite_horizon and m.time_homogeneous, name
        a = stochastic_analysis(m, k_max=2)
        assert 1 <= a.value <= m.horizon
    assert len(eh_suite(quick=False)) == 27 and len(stochastic_suite(quick=False)) == 21


def test_qlearning_reproducible_and_learns_a_small_chain():
    m = mdps.distractor_chain(3, horizon=6)
    r1 = qlearning(m, 4000, seed=3)
    r2 = qlearning(m, 4000, seed=3)
    np.testing.assert_array_equal(r1.values, r2.values)
    firsts = [qlearning(m, 2**14, seed=s).first_optimal() for s in range(4)]
    assert np.isfinite(first_success_quantile(firsts))  # most seeds find the optimum (median ~1.4e3 episodes)
    assert np.all(r1.values <= r1.v_star + 1e-12)
    assert qlearning(m, 50, seed=0, epsilon=0.0).values.shape == geometric_checkpoints(50).shape
    for bad, kw in (("K", dict(K=0)), ("epsilon", dict(K=5, epsilon=1.5)), ("seed", dict(K=5, seed=-1))):
        with pytest.raises(ValueError, match=bad):
            qlearning(m, **{"seed": 0, **kw})


def test_qlearning_stop_at_optimal_keeps_first_optimal():
    """Stopping at the first optimal checkpoint only drops later checkpoints: the episodes before it draw the same
    random numbers, so the checkpoints up to the stop and first_optimal() are those of the full run."""
    m = mdps.distractor_chain(3, horizon=6)
    for s in range(6):
        full = qlearning(m, 2**12, seed=s)
        stop = qlearning(m, 2**12, seed=s, stop_at_optimal=True)
        assert stop.first_optimal() == full.first_optimal()
        done = ~np.isnan(stop.values)
        np.testing.assert_array_equal(stop.values[done], full.values[done])
        if np.isfinite(full.first_optimal()):
            assert stop.checkpoints[done][-1] == full.first_optimal()  # nothing evaluated after the stop
            with pytest.raises(ValueError, match="tol"):
                stop.first_optimal(tol=1e-6)
    with pytest.raises(TypeError, match="stop_at_optimal"):
        qlearning(m, 5, seed=0, stop_at_optimal=1)


def test_geometric_checkpoints():
    c = geometric_checkpoints(1000)
    assert c[0] == 1 and c[-1] == 1000 and np.all(np.diff(c) > 0)


def test_sqirl_tabular_and_linear_one_hot_agree_and_solve_a_1_qvi_solvable_mdp():
    m = [x for n, x in eh_suite(quick=True) if n == "grid0"][0]
    assert min_k(m) == 1
    r = sqirl(m, 1, 256, seed=0)
    assert r.optimal and r.episodes == 256 * m.horizon
    onehot = np.eye(m.S * m.A).reshape(m.S, m.A, m.S * m.A)
    r2 = sqirl(m, 1, 256, seed=0, regressor=LinearRegressor(onehot, ridge=1e-9))
    assert r2.value == pytest.approx(r.value)  # same fit up to ties between unrewarded actions
    m_found, ep = sqirl_sample_complexity(m, 1, seeds=range(4), m_max=2**10)
    assert m_found is not None and ep == m_found * m.horizon
    with pytest.raises(TypeError, match="regressor"):
        sqirl(m, 1, 4, seed=0, regressor="forest")


def test_sqirl_needs_depth_on_a_chain_with_a_distractor():
    m = mdps.distractor_chain(5, horizon=10)
    assert min_k(m) == 3
    assert not sqirl(m, 1, 512, seed=0).optimal  # greedy on the random policy's Q takes the distractor
    assert sqirl(m, 3, 512, seed=0).optimal


def test_sample_complexity_helpers():
    assert first_success_quantile([5, 1, np.inf, 3]) == 3.0
    assert first_success_quantile([5, 1, np.inf, 3], success=1.0) == np.inf
    with pytest.raises(ValueError):
        first_success_quantile([1.0], success=0)
    assert doubling_search(lambda m, s: (m >= 8, 10 * m), seeds=[0, 1]) == (8, 80)
    assert doubling_search(lambda m, s: (False, m), seeds=[0], m_max=4) == (None, None)
    m = mdps.distractor_chain(3, horizon=6)
    res = empirical_sample_complexity(m, "qlearning", seeds=range(4), K=2**12)
    assert np.isfinite(res["episodes"]) and res["timesteps"] == res["episodes"] * 6
    res = empirical_sample_complexity(m, "gorp", seeds=range(4), K=2**8, k=1)
    assert res["m"] >= 1
    with pytest.warns(DeprecationWarning, match="budget"):  # the former name, kept for one release
        assert empirical_sample_complexity(m, "gorp", seeds=range(4), budget=2**8, k=1) == res
    with pytest.raises(ValueError, match="learner"):
        empirical_sample_complexity(m, "ppo", seeds=[0])


def test_fraction_and_rank_correlation_rules_can_fail():
    x = np.arange(1, 21, dtype=float)
    meas = Measurement("i", x, (x <= 15).astype(float)[:, None], "q", bound_values=np.full(20, 0.5))
    assert FractionAtLeast(fraction=0.5, kind="lower").evaluate(meas).passed  # 15/20 >= 0.5 with lower limit 0.54
    assert not FractionAtLeast(fraction=0.7, kind="lower").evaluate(meas).passed
    rng = np.random.default_rng(0)
    y = x + rng.normal(0, 1, 20)
    good = Measurement("i", x, y[:, None], "q", bound_values=x, meta={"comparator": rng.permutation(x).tolist()})
    assert RankCorrelationAbove(min_rho=0.5).evaluate(good).passed
    bad = Measurement("i", x, y[:, None], "q", bound_values=rng.permutation(x), meta={"comparator": x.tolist()})
    assert not RankCorrelationAbove(min_rho=0.5).evaluate(bad).passed
    inf = Measurement("i", x, np.where(x > 18, np.inf, x)[:, None], "q", bound_values=x, meta={"comparator": x.tolist()})
    r = RankCorrelationAbove(min_rho=0.5, require_better=False).evaluate(inf)
    assert r.passed and r.stats["rho"] == pytest.approx(1.0, abs=1e-3)  # the two inf tie


def test_ucbvi_random_ties_and_stop_at_first_optimal():
    from rltheory.algorithms.tabular.ucbvi import OPTIMAL_TOL, ucbvi

    m = key_door(*KEY_DOOR_ROOMS[0][:1], horizon=KEY_DOOR_ROOMS[0][1])
    # first-argmax tie-breaking: a deterministic MDP with one start state gives the same run for every seed
    a, b = (ucbvi(m, 400, seed=s, bonus="bernstein") for s in (0, 1))
    assert np.array_equal(a.regret, b.regret)
    runs = [ucbvi(m, 2**12, seed=s, bonus="bernstein", tie_break="random") for s in range(4)]
    firsts = [r.first_optimal() for r in runs]
    assert len(set(firsts)) > 1 and all(np.isfinite(firsts))
    for s, r in enumerate(runs):  # stopping early changes nothing before the stop
        st_ = ucbvi(m, 2**12, seed=s, bonus="bernstein", tie_break="random", stop_at_optimal=True)
        assert st_.regret.size == st_.first_optimal() == r.first_optimal()
        assert np.array_equal(st_.regret, r.regret[:st_.regret.size]) and st_.regret[-1] <= OPTIMAL_TOL
        with pytest.raises(ValueError, match="tol"):
            st_.first_optimal(tol=0.0)
    with pytest.raises(ValueError, match="tie_break"):
        ucbvi(m, 10, seed=0, tie_break="last")
    res = empirical_sample_complexity(m, "ucbvi", seeds=range(4), K=2**12, bonus="bernstein", tie_break="random")
    assert res["episodes"] == first_success_quantile(firsts)


def test_fixed_horizon_suite_sets_horizons_by_family():
    from mdps.eh_suite import FAMILY_HORIZONS, eh_suite_fixed_horizon

    fixed = eh_suite_fixed_horizon()
    full = dict(eh_suite(quick=False))
    assert len(fixed) == 31 and len({n for n, _ in fixed}) == 31
    for name, m in fixed:
        fam = next(f for f in FAMILY_HORIZONS if name.startswith(f))
        assert m.horizon == FAMILY_HORIZONS[fam]
        if not name.startswith("random"):
            assert float(m.mu0 @ solve(m).V[0]) > 0  # the goal is reachable within the family horizon
        else:  # same instance as in the full suite, only the horizon differs
            assert np.array_equal(m.P4()[0], full[name].P4()[0]) and np.array_equal(m.R3()[0], full[name].R3()[0])
