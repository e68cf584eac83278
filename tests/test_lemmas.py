"""The proof-step lemmas hold exactly on random instances, and fail when a hypothesis is broken."""
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from rltheory import TabularMDP
from rltheory.lemmas import (
    elliptical_potential,
    elliptical_potential_bound,
    performance_difference,
    return_variance,
    simulation_lemma,
    total_variance_decomposition,
)


@st.composite
def finite_instance(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    S = draw(st.integers(1, 6))
    A = draw(st.integers(1, 4))
    H = draw(st.integers(1, 6))
    inhom = draw(st.booleans())
    rng = np.random.default_rng(seed)
    alpha = draw(st.sampled_from([0.1, 1.0]))
    shape = (H, S, A) if inhom else (S, A)
    P = rng.dirichlet(np.full(S, alpha), size=shape)
    R = rng.random(shape)
    mu0 = rng.dirichlet(np.ones(S))
    mdp = TabularMDP(P, R, horizon=H, mu0=mu0)
    pol = rng.dirichlet(np.ones(A), size=(H, S))
    det = rng.integers(0, A, size=(H, S))
    return mdp, pol, det, rng


@settings(max_examples=60, deadline=None)
@given(finite_instance())
def test_law_of_total_variance_exact(inst):
    mdp, pol, det, _ = inst
    for p in (pol, det):
        out = total_variance_decomposition(mdp, p)
        scale = max(1.0, out["variance"])
        assert abs(out["variance"] - out["rhs"]) <= 1e-10 * scale
        assert out["variance"] >= -1e-12
        assert min(out["transition_term"], out["policy_term"], out["initial_term"]) >= -1e-12


def test_return_variance_matches_monte_carlo():
    rng = np.random.default_rng(7)
    S, A, H = 4, 2, 5
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.random((S, A))
    mdp = TabularMDP(P, R, horizon=H)
    pol = rng.dirichlet(np.ones(A), size=(H, S))
    n = 40000
    G = np.zeros(n)
    s = np.zeros(n, dtype=np.int64)
    for h in range(H):
        a = (rng.random(n)[:, None] > np.cumsum(pol[h, s], axis=1)).sum(axis=1)
        G += R[s, a]
        s = (rng.random(n)[:, None] > np.cumsum(P[s, a], axis=1)).sum(axis=1)
    exact = return_variance(mdp, pol)
    # standard error of the sample variance ~ sqrt((m4 - var^2)/n); 5 sigma
    m4 = np.mean((G - G.mean()) ** 4)
    se = np.sqrt(max(m4 - np.var(G) ** 2, 0) / n)
    assert abs(np.var(G) - exact) <= 5 * se + 1e-12


def test_law_of_total_variance_is_not_vacuous():
    """Dropping the policy-randomness term breaks the identity when the policy is stochastic."""
    rng = np.random.default_rng(3)
    mdp = TabularMDP(rng.dirichlet(np.ones(3), size=(3, 2)), rng.random((3, 2)), horizon=4)
    out = total_variance_decomposition(mdp, np.full((4, 3, 2), 0.5))
    assert out["policy_term"] > 1e-3
    assert abs(out["variance"] - (out["rhs"] - out["policy_term"])) > 1e-3


@settings(max_examples=60, deadline=None)
@given(finite_instance())
def test_performance_difference_exact(inst):
    mdp, pol, det, _ = inst
    out = performance_difference(mdp, det, pol)
    assert abs(out["lhs"] - out["rhs"]) <= 1e-10 * max(1.0, abs(out["lhs"]))


@settings(max_examples=60, deadline=None)
@given(finite_instance())
def test_simulation_lemma_exact(inst):
    mdp, pol, _, rng = inst
    H, S, A = mdp.horizon, mdp.S, mdp.A
    other = TabularMDP(rng.dirichlet(np.ones(S), size=(H, S, A)), np.broadcast_to(mdp.R3(), (H, S, A)),
                       horizon=H, mu0=mdp.mu0)
    base = TabularMDP(np.broadcast_to(mdp.P4(), (H, S, A, S)), np.broadcast_to(mdp.R3(), (H, S, A)),
                      horizon=H, mu0=mdp.mu0)
    out = simulation_lemma(base, other, pol)
    assert abs(out["lhs"] - out["rhs"]) <= 1e-10 * max(1.0, abs(out["lhs"]))


def test_performance_difference_needs_the_new_policys_occupancy():
    """Weighting by the old policy's occupancy (a common slip) gives zero, not the difference."""
    from rltheory.solvers import evaluate, occupancy

    rng = np.random.default_rng(11)
    mdp = TabularMDP(rng.dirichlet(np.ones(4), size=(4, 3)), rng.random((4, 3)), horizon=5)
    new, old = rng.integers(0, 3, size=(5, 4)), rng.integers(0, 3, size=(5, 4))
    Vo = evaluate(mdp, old)
    from rltheory.solvers import q_values

    adv = q_values(mdp, old) - Vo[:-1, :, None]
    wrong = float((occupancy(mdp, old) * adv).sum())
    right = performance_difference(mdp, new, old)
    assert abs(wrong) < 1e-12
    assert abs(right["lhs"]) > 1e-3 and abs(right["lhs"] - wrong) > 1e-3


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 400), st.sampled_from([0.1, 1.0, 10.0]), st.integers(0, 2**32 - 1))
def test_elliptical_potential_bound_holds(d, K, lam, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(K, d))
    X /= np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
    X *= rng.random((K, 1))  # ||x|| <= 1
    total = elliptical_potential(X, lam=lam)[-1]
    assert total <= elliptical_potential_bound(K, d, lam=lam, L=1.0) + 1e-9


def test_elliptical_potential_bound_is_nearly_tight_and_d_matters():
    """Orthonormal directions cycled: the sum grows like d log K; a bound without the factor d fails."""
    d, K = 8, 4000
    X = np.tile(np.eye(d), (K // d, 1))
    total = elliptical_potential(X, lam=1.0)[-1]
    assert total <= elliptical_potential_bound(K, d)
    assert total > 2.0 * np.log1p(K / 1.0)  # the 'd dropped' bound 2 log(1 + K/lam) is violated
    assert total > 0.3 * elliptical_potential_bound(K, d)


def test_elliptical_potential_symbolic_steps():
    """The two algebraic steps of the proof, checked with sympy.

    (i) matrix determinant lemma det(S + x x^T) = det(S) (1 + x^T S^{-1} x) for a generic symmetric 3x3 S;
    (ii) min(1, u) <= 2 log(1 + u) for u >= 0: on [0, 1] f(u) = 2 log(1+u) - u has f(0) = 0 and f' >= 0;
    on u >= 1, 2 log 2 >= 1.
    """
    a, b, c, e, f, g, x1, x2, x3 = sp.symbols("a b c e f g x1 x2 x3", real=True)
    Sm = sp.Matrix([[a, b, c], [b, e, f], [c, f, g]])
    x = sp.Matrix([x1, x2, x3])
    lhs = (Sm + x * x.T).det()
    rhs = Sm.det() * (1 + (x.T * Sm.inv() * x)[0])
    assert sp.simplify(sp.together(lhs - rhs)) == 0
    u = sp.symbols("u", nonnegative=True)
    fu = 2 * sp.log(1 + u) - u
    assert fu.subs(u, 0) == 0
    dfu = sp.diff(fu, u)
    assert sp.simplify(dfu - (1 - u) / (1 + u)) == 0  # >= 0 on [0, 1]
    assert sp.N(2 * sp.log(2)) >= 1


def test_total_variance_symbolic_two_step():
    """Law of total variance on a symbolic two-step chain: one random transition with probability p."""
    p, r0, r1a, r1b = sp.symbols("p r0 r1a r1b", real=True)
    # step 0: reward r0, then s1 = a w.p. p (reward r1a) or b w.p. 1-p (reward r1b)
    EG = r0 + p * r1a + (1 - p) * r1b
    EG2 = p * (r0 + r1a) ** 2 + (1 - p) * (r0 + r1b) ** 2
    var = EG2 - EG ** 2
    V1 = {"a": r1a, "b": r1b}
    meanV1 = p * V1["a"] + (1 - p) * V1["b"]
    var_next = p * (V1["a"] - meanV1) ** 2 + (1 - p) * (V1["b"] - meanV1) ** 2
    assert sp.expand(var - var_next) == 0


@pytest.mark.parametrize("bad", [np.zeros(3), np.full((2, 2), np.nan)])
def test_elliptical_potential_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="X"):
        elliptical_potential(bad)
