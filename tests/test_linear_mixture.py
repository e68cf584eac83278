"""Linear mixture MDPs: validation, summation oracle, planning vs the tabular solver, constructors."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdps
from rltheory import LinearMixtureMDP, TabularMDP
from rltheory.solvers import evaluate, solve
from rltheory.solvers.linear_mixture import linear_mixture_value, solve_linear_mixture, suboptimality


def _random_parts(S, A, d, H, seed):
    rng = np.random.default_rng(seed)
    Ps = rng.dirichlet(np.ones(S), size=(d, S, A))
    w = rng.dirichlet(np.ones(d))
    phi = np.moveaxis(Ps, 0, -1) / np.sqrt(d)
    theta = w * np.sqrt(d)
    R = rng.random((H, S, A)) / H
    return phi, theta, R


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 3), st.integers(1, 4), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_to_tabular_planning_agrees_with_direct_planning(S, A, d, H, seed):
    phi, theta, R = _random_parts(S, A, d, H, seed)
    m = LinearMixtureMDP(phi, theta, R, horizon=H)
    tab = m.to_tabular()
    assert isinstance(tab, TabularMDP)
    np.testing.assert_allclose(tab.P, np.einsum("satd,d->sat", phi, theta), atol=1e-12)
    direct = solve_linear_mixture(m)
    ref = solve(tab)
    np.testing.assert_allclose(direct.V, ref.V, atol=1e-10)
    np.testing.assert_allclose(direct.Q, ref.Q, atol=1e-10)
    # evaluation of the direct greedy policy agrees with the tabular evaluator, and it is optimal there
    v_tab = float(tab.mu0 @ evaluate(tab, direct.policy)[0])
    assert abs(m.evaluate(direct.policy) - v_tab) < 1e-10
    assert abs(v_tab - float(tab.mu0 @ ref.V[0])) < 1e-10
    assert suboptimality(m, direct.policy) < 1e-10


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_psi_is_the_summation_oracle(S, A, d, seed):
    phi, theta, R = _random_parts(S, A, d, 2, seed)
    m = LinearMixtureMDP(phi, theta, R, horizon=2)
    V = np.random.default_rng(seed).random(S)
    ps = m.psi(V)
    assert ps.shape == (S, A, d)
    np.testing.assert_allclose(ps, np.einsum("satd,t->sad", phi, V), atol=1e-12)
    np.testing.assert_allclose(ps @ theta, m.P @ V, atol=1e-12)  # [P V](s,a) = <psi_V, theta*>
    assert m.feature_norm_bound() <= 1.0 + 1e-12


def test_bad_kernel_names_the_pair():
    phi, theta, R = _random_parts(3, 2, 2, 3, 0)
    phi = phi.copy()
    phi[1, 0, 2, :] += 0.3  # row (s=1, a=0) no longer sums to 1
    with pytest.raises(ValueError, match=r"s=1, a=0.*sums to"):
        LinearMixtureMDP(phi, theta, R, horizon=3)
    phi2, theta2, _ = _random_parts(3, 2, 2, 3, 1)
    phi2 = phi2.copy()
    phi2[2, 1, 0, :] -= 1.0
    phi2[2, 1, 1, :] += 1.0  # still sums to 1, but negative at s'=0
    with pytest.raises(ValueError, match=r"s=2, a=1.*negative"):
        LinearMixtureMDP(phi2, theta2, R, horizon=3)


def test_field_errors():
    phi, theta, R = _random_parts(3, 2, 2, 3, 0)
    with pytest.raises(ValueError, match="phi: expected shape"):
        LinearMixtureMDP(phi[0], theta, R, horizon=3)
    with pytest.raises(ValueError, match="phi: axes 0 and 2"):
        LinearMixtureMDP(phi[:, :, :2], theta, R, horizon=3)
    with pytest.raises(ValueError, match="theta: expected shape"):
        LinearMixtureMDP(phi, np.ones(3), R, horizon=3)
    bad = phi.copy()
    bad[0, 1, 2, 1] = np.nan
    with pytest.raises(ValueError, match=r"phi: non-finite value nan at index \(0, 1, 2, 1\)"):
        LinearMixtureMDP(bad, theta, R, horizon=3)
    with pytest.raises(ValueError, match="theta: non-finite"):
        LinearMixtureMDP(phi, np.array([np.inf, 0.0]), R, horizon=3)
    with pytest.raises(TypeError, match="phi: expected a real numeric array"):
        LinearMixtureMDP(np.zeros((3, 2, 3, 2), dtype=bool), theta, R, horizon=3)
    with pytest.raises(TypeError, match="phi: "):
        LinearMixtureMDP([[1, 2], [3]], theta, R, horizon=3)
    with pytest.raises(ValueError, match="rewards: expected shape"):
        LinearMixtureMDP(phi, theta, np.zeros((2, 2)), horizon=3)
    with pytest.raises(ValueError, match="rewards: negative"):
        LinearMixtureMDP(phi, theta, -R, horizon=3)
    with pytest.raises(ValueError, match="rewards: a trajectory from s=.*total reward"):
        LinearMixtureMDP(phi, theta, np.full((3, 2), 0.5), horizon=3)
    LinearMixtureMDP(phi, theta, np.full((3, 2), 0.5), horizon=3, reward_scale="per_step")  # r_h in [0,1] is fine there
    with pytest.raises(ValueError, match="rewards: per-step reward"):
        LinearMixtureMDP(phi, theta, np.full((3, 2), 1.5), horizon=3, reward_scale="per_step")
    assert LinearMixtureMDP(phi, theta, R, horizon=3.0).horizon == 3  # integral floats are accepted
    with pytest.raises(ValueError, match="horizon: must be a whole number"):
        LinearMixtureMDP(phi, theta, R, horizon=3.5)
    with pytest.raises(TypeError, match="horizon: expected an int"):
        LinearMixtureMDP(phi, theta, R, horizon="3")
    with pytest.raises(ValueError, match=r"mu0: must be in \[0, 2\], got 5"):
        LinearMixtureMDP(phi, theta, R, horizon=3, mu0=5)
    with pytest.raises(ValueError, match="mu0: sums to"):
        LinearMixtureMDP(phi, theta, R, horizon=3, mu0=np.array([0.5, 0.2, 0.2]))
    m = LinearMixtureMDP(phi, theta, R, horizon=3)
    with pytest.raises(ValueError, match=r"V: expected shape \(3,\)"):
        m.psi(np.zeros(4))
    with pytest.raises(AttributeError, match="immutable"):
        m.foo = 1
    assert not m.phi.flags.writeable and not m.theta.flags.writeable


def test_total_reward_uses_reachability():
    # reward 1 at an unreachable state is fine: no trajectory from the start collects more than 1
    m = mdps.hard_linear_mixture_rfe(3, 5, K=200, seed=0)
    R = np.zeros((3, m.A))
    R[2] = 1.0 / 5
    R[0] = 0.19  # x1 is only visited at step 0: total <= 0.19 + 4/5 < 1
    m.with_rewards(R)
    R[0] = 0.5
    with pytest.raises(ValueError, match="total reward"):
        m.with_rewards(R)


def test_pickle_roundtrip_and_clip_planning():
    phi, theta, R = _random_parts(4, 2, 3, 4, 3)
    m = LinearMixtureMDP(phi, theta, R, horizon=4, mu0=2, name="x")
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.phi, m.phi)
    assert m2.name == "x" and m2.mu0[2] == 1.0
    a, b = solve_linear_mixture(m), solve_linear_mixture(m, clip=True)  # values in [0, 1] already: clip is a no-op
    np.testing.assert_allclose(a.V, b.V)


# ------------------------------------------------------------------------------------------ constructors


@pytest.mark.parametrize("d", [2, 3, 5])
def test_hard_instance_structure(d):
    K, H = 400, 10
    m = mdps.hard_linear_mixture_rfe(d, H, K=K, seed=d)
    assert (m.S, m.A, m.d) == (3, 2 ** (d - 1), d)
    Delta = mdps.hard_rfe_gap(K)
    acts = mdps.linear_mixture.hypercube_actions(d)
    mu = m.theta[1:] * np.sqrt(((d - 1) * Delta) / ((d - 1) * (1 + (d - 1) * Delta)))
    assert np.allclose(np.abs(mu), Delta)
    np.testing.assert_allclose(m.P[0, :, 2], 1 / 6 + acts @ mu, atol=1e-12)
    assert m.feature_norm_bound() <= 1 + 1e-12
    assert abs(m.B - (1 + (d - 1) * Delta)) < 1e-9
    # the optimal action is sign(mu); each wrong coordinate costs 2 Delta (H-1)/H
    best = solve_linear_mixture(m).policy[0, 0]
    assert np.array_equal(acts[best], np.sign(mu))
    for j in range(m.A):
        pol = np.zeros((H, 3), dtype=np.int64)
        pol[0, 0] = j
        wrong = int((acts[j] != np.sign(mu)).sum())
        assert abs(suboptimality(m, pol) - 2 * Delta * (H - 1) / H * wrong) < 1e-12


def test_hard_instance_errors():
    with pytest.raises(ValueError, match="must be < delta0"):
        mdps.hard_linear_mixture_rfe(8, 10, K=2)
    with pytest.raises(ValueError, match="give one of them"):
        mdps.hard_linear_mixture_rfe(3, 10, K=100, gap=0.01)
    with pytest.raises(ValueError, match="K: give K"):
        mdps.hard_linear_mixture_rfe(3, 10)


def test_random_and_riverswim_constructors():
    m = mdps.random_linear_mixture(5, 3, 4, 8, seed=0)
    m2 = mdps.random_linear_mixture(5, 3, 4, 8, seed=0)
    np.testing.assert_array_equal(m.phi, m2.phi)
    assert m.feature_norm_bound() <= 1 + 1e-12 and m.B <= 2 + 1e-12
    r = mdps.linear_mixture_riverswim(6, 30, p=0.7)
    assert r.d == 2 and r.feature_norm_bound() <= 1 + 1e-12
    # the far-right reward is worth more with a longer horizon (more steps there), less with a short one
    vals = [linear_mixture_value(mdps.linear_mixture_riverswim(6, H)) for H in (5, 20, 80)]
    assert vals[0] == 0.0 and vals[0] < vals[1] < vals[2] < 1
