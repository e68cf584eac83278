"""``error_bound`` against exact rational references (issue #15 item 6), and the solver's stopping contract
(items 7, 8; #16 item 8).

The reference ``V*`` is computed in exact rational arithmetic (``fractions.Fraction``) from the float64 arrays the
model stores: policy iteration with exact linear solves until no action improves in exact arithmetic
(discounted), or backward induction (finite horizon). Every comparison ``|V - V*| <= error_bound`` is exact.
"""
import warnings
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rltheory import ConvergenceWarning, TabularMDP
from rltheory.solvers import certificate, solve

SCALES = (1e-6, 1.0, 1e6)
GAMMAS = (0.0, 0.3, 0.9, 0.99, 0.995, 0.999)


def _fr(x):
    return Fraction(float(x))


def _exact_solve(A_rows, b):
    """Gaussian elimination over the rationals: solve ``A x = b``."""
    n = len(b)
    M = [list(row) + [b[i]] for i, row in enumerate(A_rows)]
    for c in range(n):
        p = next(r for r in range(c, n) if M[r][c] != 0)
        M[c], M[p] = M[p], M[c]
        piv = M[c][c]
        M[c] = [v / piv for v in M[c]]
        for r in range(n):
            if r != c and M[r][c] != 0:
                f = M[r][c]
                M[r] = [vr - f * vc for vr, vc in zip(M[r], M[c])]
    return [M[i][n] for i in range(n)]


def exact_discounted_v_star(mdp: TabularMDP, pi0=None):
    """Exact ``V*`` of the stored floats (policy iteration in rationals)."""
    S, A = mdp.S, mdp.A
    P = mdp.P
    g = _fr(mdp.gamma)
    Pf = [[[_fr(P[s, a, t]) for t in range(S)] for a in range(A)] for s in range(S)]
    Rf = [[_fr(mdp.R[s, a]) for a in range(A)] for s in range(S)]
    pi = list(np.zeros(S, dtype=int) if pi0 is None else pi0)
    for _ in range(100):
        rows = [[(1 if s == t else 0) - g * Pf[s][pi[s]][t] for t in range(S)] for s in range(S)]
        V = _exact_solve(rows, [Rf[s][pi[s]] for s in range(S)])
        changed = False
        for s in range(S):
            q = [Rf[s][a] + g * sum(Pf[s][a][t] * V[t] for t in range(S)) for a in range(A)]
            best = max(range(A), key=lambda a: q[a])
            if q[best] > q[pi[s]]:
                pi[s] = best
                changed = True
        if not changed:
            return V
    raise AssertionError("exact policy iteration did not terminate")


def exact_finite_v_star(mdp: TabularMDP):
    S, A, H = mdp.S, mdp.A, mdp.horizon
    P4, R3 = mdp.P4(), mdp.R3()
    V = [[Fraction(0)] * S]
    for h in range(H - 1, -1, -1):
        Ph = P4[h if P4.shape[0] > 1 else 0]
        Rh = R3[h if R3.shape[0] > 1 else 0]
        Vn = V[0]
        V.insert(0, [max(_fr(Rh[s, a]) + sum(_fr(Ph[s, a, t]) * Vn[t] for t in range(S)) for a in range(A))
                     for s in range(S)])
    return V


def _max_err(V, V_star):
    return max(abs(_fr(v) - vs) for v, vs in zip(np.ravel(V), np.ravel(V_star)))


@st.composite
def mdps(draw, finite=False):
    S = draw(st.integers(1, 5))
    A = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from(SCALES))
    offset = draw(st.sampled_from((0.0, 0.0, 1.0)))  # rewards in [0, s] or [s, 2s]: large |V| with a small span
    kind = draw(st.sampled_from(("dirichlet", "sparse_rows", "deterministic")))
    H = draw(st.integers(1, 6)) if finite else None
    lead = (H, S, A) if finite and draw(st.booleans()) else (S, A)
    if kind == "deterministic":
        P = np.zeros(lead + (S,))
        idx = rng.integers(0, S, size=lead)
        np.put_along_axis(P, idx[..., None], 1.0, axis=-1)
    else:
        P = rng.dirichlet(np.full(S, 0.3), size=lead)
        if kind == "sparse_rows":
            P = np.where(P < 0.1, 0.0, P)
            P[..., 0] += 1e-3
            P /= P.sum(axis=-1, keepdims=True)
    R = scale * (offset + rng.random(lead))
    if draw(st.booleans()):
        P = sp.csr_matrix(P.reshape(-1, S))
    if finite:
        return TabularMDP(P, R, horizon=H)
    return TabularMDP(P, R, gamma=draw(st.sampled_from(GAMMAS) | st.floats(0.0, 0.999)))


_SET = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SET
@given(mdps(), st.sampled_from(("vi", "mpi", "pi")))
def test_discounted_error_bound_is_true_rounding_included(mdp, method):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the default tol is always reachable
        res = solve(mdp, method=method)
    assert res.converged
    V_star = exact_discounted_v_star(mdp, res.policy)
    err = _max_err(res.V, V_star)
    assert err <= _fr(res.error_bound), (float(err), res.error_bound)
    # the bound is not vacuous: within the tolerance (VI/MPI) and near float resolution (PI)
    vmax = float(np.abs(mdp.R).max()) / (1.0 - mdp.gamma)
    assert res.error_bound <= max(res.extra.get("tol", 0.0), 1e3 * 2**-53 * vmax / (1.0 - mdp.gamma) * mdp.S)
    # certificate() of the returned V is the same kind of bound, and also true
    assert err <= _fr(certificate(mdp, res.V))


@_SET
@given(mdps(finite=True))
def test_backward_induction_error_bound_is_true(mdp):
    res = solve(mdp)
    V_star = exact_finite_v_star(mdp)
    err = _max_err(res.V, V_star)
    assert err <= _fr(res.error_bound), (float(err), res.error_bound)
    assert err <= _fr(certificate(mdp, res.V))
    vmax = float(np.abs(mdp.R).max()) * mdp.horizon
    assert res.error_bound <= 1e-12 * max(vmax, 1e-300) * mdp.horizon


@_SET
@given(mdps(), st.data())
def test_certificate_of_a_perturbed_v_is_true(mdp, data):
    """``certificate`` bounds the error of any V, also far from V* (the LP's answer is certified this way)."""
    V_star = exact_discounted_v_star(mdp)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    size = data.draw(st.sampled_from((0.0, 1e-15, 1e-9, 1e-3)))
    V = np.array([float(v) for v in V_star]) * (1.0 + size * rng.standard_normal(mdp.S))
    assert _max_err(V, V_star) <= _fr(certificate(mdp, V))


def test_gamma_near_one_is_honest():
    """Issue #15: gamma = 1 - 1e-12 gave error_bound 0 with true errors of 3e6-1e7."""
    rng = np.random.default_rng(3)
    S, A = 4, 2
    P = rng.dirichlet(np.ones(S), size=(S, A))
    mdp = TabularMDP(P, rng.random((S, A)), gamma=1.0 - 1e-12)
    V_star = exact_discounted_v_star(mdp)
    for m in ("vi", "mpi", "pi"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                res = solve(mdp, method=m, max_iter=20_000)
            except ValueError as exc:  # allowed: a refusal naming gamma
                assert str(exc).startswith("gamma:")
                continue
        assert _max_err(res.V, V_star) <= _fr(res.error_bound)


def test_gamma_with_row_sums_above_one_is_refused():
    """gamma * (row sum) >= 1 within the accepted row-sum tolerance: no contraction, so no bound exists."""
    P = np.array([[[1.0 + 5e-10]]])
    mdp = TabularMDP(P, np.array([[1.0]]), gamma=1.0 - 1e-10)
    with pytest.raises(ValueError, match="^gamma:"):
        solve(mdp, method="vi")


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("sparse", [False, True])
def test_default_tol_is_reachable_at_every_reward_scale(scale, sparse):
    """Item 7: VI/MPI stop in a few sweeps at rewards ~1e6 (the absolute 1e-10 ran all 1e6 sweeps)."""
    rng = np.random.default_rng(0)
    S, A = 60, 4
    P = rng.dirichlet(np.full(S, 0.2), size=(S, A))
    if sparse:
        P = sp.csr_matrix(P.reshape(S * A, S))
    mdp = TabularMDP(P, scale * (1.0 + rng.random((S, A))), gamma=0.99)
    ref = solve(mdp, method="pi")
    for m in ("vi", "mpi"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            res = solve(mdp, method=m, max_iter=5000)
        assert res.converged and res.nit < 5000
        assert res.error_bound <= res.extra["tol"]
        # the tolerance follows the reward scale: same relative accuracy at every scale
        assert res.extra["tol"] <= 1e-6 * scale
        assert np.abs(res.V - ref.V).max() <= res.error_bound + ref.error_bound


def test_max_iter_gives_convergence_warning_and_fields():
    rng = np.random.default_rng(1)
    S, A = 30, 3
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.random((S, A)), gamma=0.99)
    with pytest.warns(ConvergenceWarning, match="^max_iter:"):
        res = solve(mdp, method="vi", max_iter=2)
    assert res.converged is False and res.nit == 2
    assert issubclass(ConvergenceWarning, UserWarning)
    V_star = solve(mdp, method="pi")
    assert np.abs(res.V - V_star.V).max() <= res.error_bound + V_star.error_bound  # still a true bound
    ok = solve(mdp, method="vi")
    assert ok.converged is True and ok.nit == ok.iterations > 2


def test_unreachable_tol_stops_at_the_float_floor_with_a_warning():
    rng = np.random.default_rng(2)
    S, A = 40, 3
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), 1e6 * rng.random((S, A)), gamma=0.999)
    with pytest.warns(ConvergenceWarning, match="^tol:"):
        res = solve(mdp, method="vi", tol=1e-12)
    assert not res.converged and res.nit < 10_000


def test_method_names_case_insensitive_and_short_repr():
    rng = np.random.default_rng(4)
    mdp = TabularMDP(rng.dirichlet(np.ones(5), size=(5, 2)), rng.random((5, 2)), gamma=0.9)
    base = solve(mdp, method="vi")
    for name in ("VI", "Value_Iteration", " vi "):
        assert np.array_equal(solve(mdp, method=name).V, base.V)
    assert solve(mdp, method="POLICY_ITERATION").method == "pi"
    with pytest.raises(ValueError, match="^method:"):
        solve(mdp, method="simplex")
    with pytest.raises(TypeError, match="^method:"):
        solve(mdp, method=3)
    text = repr(base)
    assert text.startswith("SolveResult(method='vi'") and "error_bound=" in text and "converged=True" in text
    assert "nit=" in text and len(text) < 200 and "[" not in text


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", ["vi", "mpi", "pi"])
def test_values_beyond_the_float64_range_are_refused(method, sparse):
    """Finite rewards whose values overflow float64 (``max|R| / (1 - gamma)`` past ``VALUE_LIMIT``) cannot be
    certified: ``solve`` refuses them, naming ``R``, instead of returning NaN values with a finite bound."""
    P = np.eye(2)[:, None, :]
    cases = [(np.array([[1e307], [1.0]]), 0.99), (np.array([[1e300], [-1e300]]), 1 - 1e-9)]
    for R, g in cases:
        mdp = TabularMDP(sp.csr_matrix(P.reshape(2, 2)) if sparse else P, R, gamma=g)
        with pytest.raises(ValueError, match=r"^R: "):
            solve(mdp, method=method)
    # just inside the limit the values are finite and certified
    from rltheory.solvers.api import VALUE_LIMIT

    mdp = TabularMDP(P, np.array([[VALUE_LIMIT * 0.5 * 0.01], [1.0]]), gamma=0.99)
    res = solve(mdp, method=method)
    assert np.isfinite(res.V).all() and np.isfinite(res.error_bound) and res.converged


def test_finite_horizon_overflow_is_refused():
    P = np.full((2, 2, 2), 0.5)
    R = np.array([[1e307, -1e307], [1e307, -1e307]])
    with pytest.raises(ValueError, match=r"^R: .*overflow"):
        solve(TabularMDP(P, R, horizon=100))


@pytest.mark.parametrize("method", ["vi", "mpi", "pi"])
@pytest.mark.parametrize("scale", [5e-324, 1e-315, 1e-310])
def test_subnormal_rewards_keep_a_true_bound(method, scale):
    """Near the underflow range the rounding errors are absolute (``UNDERFLOW_UNIT`` per product), which a purely
    relative bound misses; the bound must still hold, and the default tolerance must still be reachable."""
    rng = np.random.default_rng(0)
    S, A = 3, 2
    P = rng.dirichlet(np.full(S, 0.7), size=(S, A))
    for R, g in ((scale * rng.random((S, A)), 0.9), (np.full((S, A), scale), 0.3)):
        mdp = TabularMDP(P, R, gamma=g)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            res = solve(mdp, method=method)
        err = _max_err(res.V, exact_discounted_v_star(mdp, res.policy))
        assert err <= _fr(res.error_bound), (float(err), res.error_bound)
        assert res.error_bound < 1e-300


@st.composite
def float_fixed_points(draw):
    """A dense MDP with rewards far from 0 (large ``|V|``, small span) and a ``V`` at the float64 fixed point of the
    fused sweep (value iteration run until it stops changing), or a few ulps away from it: where the residual is
    of the size of the rounding, so a bound that drops (or mis-signs) its rounding term fails."""
    from rltheory.solvers import _kernels as K

    S = draw(st.integers(1, 6))
    A = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    g = draw(st.sampled_from((0.9, 0.99, 0.999, 1 - 1e-6)))
    offset = draw(st.sampled_from((1.0, 1e3, 1e8)))
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    mdp = TabularMDP(P, offset + rng.random((S, A)), gamma=g)
    P2, R = mdp.P.reshape(S * A, S), mdp.R
    V = np.full(S, R.min() / (1.0 - g))
    Vn, Q, pi = np.empty(S), np.empty((S, A)), np.zeros(S, dtype=np.int64)
    for _ in range(20000):
        K.bellman_sweep_dense(P2, R, V, g, Q, Vn, pi)
        if np.array_equal(Vn, V):
            break
        V, Vn = Vn.copy(), V
    for _ in range(draw(st.sampled_from((0, 0, 1, 3)))):
        V = np.nextafter(V, np.where(rng.random(S) < 0.5, np.inf, -np.inf))
    return mdp, V


def _exact_residual(mdp, V):
    S, A = mdp.S, mdp.A
    g = _fr(mdp.gamma)
    Vf = [_fr(v) for v in V]
    return max(abs(max(_fr(mdp.R[s, a]) + g * sum(_fr(mdp.P[s, a, t]) * Vf[t] for t in range(S))
                       for a in range(A)) - Vf[s]) for s in range(S))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(float_fixed_points())
def test_greedy_sweep_residual_bound_is_true_at_float_fixed_points(case):
    """The early certificate of the dense MPI (``greedy_residual_bound``: a plain float64 sweep plus an a-priori
    rounding term) and ``certify_dense`` both bound the exact Bellman residual of the stored floats."""
    from rltheory.solvers import _kernels as K
    from rltheory.solvers._bellman import _discount_rho

    mdp, V = case
    S, A, g = mdp.S, mdp.A, mdp.gamma
    P2, R = mdp.P.reshape(S * A, S), mdp.R
    rho = _discount_rho(mdp, S)
    Vn, Q, pi = np.empty(S), np.empty((S, A)), np.zeros(S, dtype=np.int64)
    K.bellman_sweep_dense(P2, R, V, g, Q, Vn, pi)
    lo, hi = K._diff_range(Vn, V)
    exact = _exact_residual(mdp, V)
    assert exact <= _fr(K.greedy_residual_bound(R, V, lo, hi, g, rho, S))
    assert exact <= _fr(K.certify_dense(P2, R, V, V, g, rho, np.empty((S, A)), 0.0))


# ------------------------------------------------- review h34: certificates and rows not summing to 1


def test_finite_certificate_charges_the_last_row():
    """``V*_H = 0`` exactly: a ``V`` shifted by a constant is consistent with the backward recursion at every step
    but wrong by the shift everywhere, and must not be certified (the recursion used to start from ``e_H = 0``)."""
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0
    R = np.array([[1.0, 0.0], [1.0, 0.0]])
    mdp = TabularMDP(P, R, horizon=2)
    V = solve(mdp).V
    V_star = exact_finite_v_star(mdp)
    for shifted in (V + 5.0, V - 1e-3, np.vstack([V[:-1], V[-1:] + 0.25])):
        err = _max_err(shifted, V_star)
        assert err > 0
        assert err <= _fr(certificate(mdp, shifted))
    assert certificate(mdp, V + 5.0) >= 5.0
    assert certificate(mdp, V) < 1e-12


@_SET
@given(mdps(finite=True), st.sampled_from((1.0, -3e-3, 7e5)))
def test_finite_certificate_of_any_shift_is_true(mdp, shift):
    V = solve(mdp).V + shift
    assert _max_err(V, exact_finite_v_star(mdp)) <= _fr(certificate(mdp, V))


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", ["vi", "mpi", "pi"])
def test_value_limit_uses_the_row_sums(method, sparse):
    """``|V*|`` reaches ``max|R| / (1 - gamma rho)`` with ``rho`` the largest row sum (up to 1 + 1e-9): the refusal
    must use it (PI used to return ``error_bound=inf`` with ``converged=True`` and no warning)."""
    P = np.array([[[1 + 9e-10]]])
    mdp = TabularMDP(sp.csr_matrix(P.reshape(1, 1)) if sparse else P, np.array([[1e298]]), gamma=1 - 1e-9)
    with pytest.raises(ValueError, match=r"^R: "):
        solve(mdp, method=method)


@pytest.mark.parametrize("method", ["vi", "mpi", "pi"])
def test_an_infinite_bound_is_never_converged(method, monkeypatch):
    """Whatever produced it, a non-finite bound gives ``converged=False`` and a ConvergenceWarning."""
    from rltheory.solvers import _kernels as K
    from rltheory.solvers import api

    rng = np.random.default_rng(3)
    mdp = TabularMDP(rng.dirichlet(np.ones(4), size=(4, 2)), rng.random((4, 2)), gamma=0.9)
    if method == "pi":
        real = api._certify_discounted
        monkeypatch.setattr(api, "_certify_discounted", lambda m, V, rho: (real(m, V, rho)[0], np.inf))
    else:
        name = "solve_dense_mpi_certified" if method == "mpi" else "solve_dense_certified"
        real = getattr(K, name)
        monkeypatch.setattr(K, name, lambda *a: real(*a)[:3] + (np.inf,) + real(*a)[4:])
    with pytest.warns(ConvergenceWarning, match="^V: "):
        res = solve(mdp, method=method)
    assert res.converged is False and res.error_bound == np.inf and res.extra["converged"] is False


@pytest.mark.parametrize("sparse", [False, True])
def test_pi_stable_at_the_last_allowed_step_is_converged(sparse):
    """``converged`` means the stopping rule was met, also when that happens at step ``max_iter`` itself."""
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0
    R = np.array([[1.0, 0.0], [1.0, 0.0]])
    mdp = TabularMDP(sp.csr_matrix(P.reshape(4, 2)) if sparse else P, R, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = solve(mdp, method="pi", max_iter=1)
    assert res.converged is True and res.nit == 1 and res.error_bound < 1e-12
    # a policy still changing at the last step is not converged
    rng = np.random.default_rng(5)
    S, A = 8, 3
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.random((S, A)), gamma=0.95)
    full = solve(mdp, method="pi")
    assert full.nit >= 2
    with pytest.warns(ConvergenceWarning, match="^max_iter:"):
        res = solve(mdp, method="pi", max_iter=full.nit - 1)
    assert res.converged is False
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert solve(mdp, method="pi", max_iter=full.nit).converged


def _exact_v_star_any_rows(mdp):
    """Exact ``V*`` as the componentwise maximum of ``V^pi`` over all deterministic policies (tiny MDPs)."""
    import itertools

    S, A = mdp.S, mdp.A
    g = _fr(mdp.gamma)
    P = mdp.P
    best = None
    for pi in itertools.product(range(A), repeat=S):
        rows = [[(1 if s == t else 0) - g * _fr(P[s, pi[s], t]) for t in range(S)] for s in range(S)]
        V = _exact_solve(rows, [_fr(mdp.R[s, pi[s]]) for s in range(S)])
        best = V if best is None else [max(a, b) for a, b in zip(best, V)]
    return best


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", ["vi", "mpi"])
@pytest.mark.parametrize("g", [1 - 1e-12, 1 - 1e-9, 0.9999])
def test_rows_summing_below_one_near_gamma_one(method, g, sparse):
    """Rows may sum to 1 +- 1e-9. With ``gamma`` within ~1e-9 of 1 the classical MacQueen-Porteus extrapolation
    ``gamma/(1-gamma) (T V - V)`` is off by orders of magnitude: VI returned -7.3e20 (V* = 1.1e9), MPI 5e29."""
    P = np.array([[[1 - 9e-10]]])
    mdp = TabularMDP(sp.csr_matrix(P.reshape(1, 1)) if sparse else P, np.array([[1.0]]), gamma=g)
    v_star = _exact_v_star_any_rows(mdp)
    res = solve(mdp, method=method)
    err = _max_err(res.V, v_star)
    assert err <= _fr(res.error_bound)
    assert err <= 1e-6 * abs(v_star[0])
    assert res.converged


@st.composite
def off_sum_mdps(draw):
    """Tiny MDPs whose rows sum to ``1 + d`` with ``|d| <= 9e-10`` (accepted by the model), ``gamma`` near 1."""
    S = draw(st.integers(1, 3))
    A = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    P = rng.dirichlet(np.ones(S), size=(S, A))
    d = rng.choice([0.0, 1e-10, -1e-10, 9e-10, -9e-10], size=(S, A))
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, size=(S, A))] += d
    P = np.maximum(P, 0.0)
    R = draw(st.sampled_from((1.0, 1e6))) * rng.uniform(-1.0, 1.0, (S, A))
    g = draw(st.sampled_from((0.999, 0.9999, 1 - 1e-9, 1 - 1e-12)))
    return TabularMDP(sp.csr_matrix(P.reshape(S * A, S)) if draw(st.booleans()) else P, R, gamma=g)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(off_sum_mdps(), st.sampled_from(("vi", "mpi", "pi")))
def test_off_sum_rows_keep_finite_values_within_the_bound(mdp, method):
    """Never NaN or out-of-range values (a multi-state case returned ``[nan, nan, nan]``); the bound holds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            res = solve(mdp, method=method, max_iter=20_000)
        except ValueError as e:  # gamma * (largest row sum) not certainly below 1: refused, by contract
            assert str(e).startswith("gamma: ")
            return
    assert np.isfinite(res.V).all() and np.isfinite(res.error_bound)
    v_star = _exact_v_star_any_rows(mdp)
    err = _max_err(res.V, v_star)
    assert err <= _fr(res.error_bound)
    # never further from V* than the a priori range of the values: |V*| <= max|R| / (1 - gamma max row sum)
    g = _fr(mdp.gamma)
    rho = max(sum(_fr(x) for x in row) for row in mdp.P.reshape(mdp.S * mdp.A, mdp.S))
    assert err <= 2 * _fr(float(np.abs(mdp.R).max())) / (1 - g * rho)


def test_stochastic_rows_keep_the_classical_bounds():
    """The rho-aware bounds are only used where they matter: Garnet-like kernels (rows normalised in float64) keep
    the classical MacQueen-Porteus path, and with it their results bit for bit."""
    from rltheory.solvers._bellman import _discount_rho, _row_len, _row_sum_range

    rng = np.random.default_rng(7)
    S, A = 50, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))
    for g in (0.5, 0.99, 0.9999, 1 - 1e-6):
        for mdp in (TabularMDP(P, rng.random((S, A)), gamma=g),
                    TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), rng.random((S, A)), gamma=g)):
            n = _row_len(mdp)
            assert _row_sum_range(mdp, n, _discount_rho(mdp, n)) == (1.0, 1.0)
    off = P.copy()
    off[:, :, 0] += 5e-10
    mdp = TabularMDP(off, rng.random((S, A)), gamma=1 - 1e-9)
    n = _row_len(mdp)
    rl, ru = _row_sum_range(mdp, n, _discount_rho(mdp, n))
    sums = [sum(_fr(x) for x in row) for row in off.reshape(S * A, S)]
    assert _fr(rl) <= min(sums) and max(sums) <= _fr(ru) and ru > 1.0


def test_row_sum_range_kernels_bracket_the_exact_sums():
    from rltheory.solvers import _kernels as K

    rng = np.random.default_rng(11)
    for n in (1, 7, 300):
        P2 = rng.dirichlet(np.full(n, 0.3), size=40) * (1 + rng.uniform(-1e-9, 1e-9, size=(40, 1)))
        sums = [sum(_fr(x) for x in row) for row in P2]
        for lo, hi in (K.row_sum_range(P2), K.row_sum_range_sparse(*(lambda M: (M.indptr, M.data))(sp.csr_matrix(P2)))):
            assert _fr(lo) <= min(sums) and max(sums) <= _fr(hi)


def test_stall_warning_names_its_cause():
    """With the default tol, a stall is not the user's tol: the warning says what happened (it used to say "tol:
    ... pass a larger tol or leave it at its default" although tol was the default)."""
    nxt = np.array([[1, 2], [0, 5], [3, 0], [4, 4], [1, 2], [0, 3]])  # deterministic, gamma near 1: no mixing
    S, A = nxt.shape
    P = np.zeros((S, A, S))
    np.put_along_axis(P, nxt[..., None], 1.0, axis=-1)
    mdp = TabularMDP(P, 1e-6 * np.random.default_rng(4).random((S, A)), gamma=1 - 1e-9)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = solve(mdp, method="vi")
    msgs = [str(w.message) for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert not res.converged and len(msgs) == 1
    assert msgs[0].startswith("V: the bounds stopped improving") and "leave it at its default" not in msgs[0]
    assert "method='pi'" in msgs[0]
    assert _max_err(res.V, _exact_v_star_any_rows(mdp)) <= _fr(res.error_bound)
    # an explicit tol below float64 resolution is named (test_unreachable_tol_stops_at_the_float_floor_with_a_warning)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("method", ["vi", "mpi"])
def test_mixed_row_sums_at_gamma_near_one_stay_finite(method, sparse):
    """Rows summing to 1 - 9e-10, 1 - 9e-10 and 1 - 1e-10 at gamma = 1 - 1e-12: MPI returned ``[nan, nan, nan]``
    (its evaluation midpoints grew without bound). The MacQueen-Porteus bounds cannot close here (only ~1e10
    sweeps would), so the result is not converged, but finite, within its bound and within the values' range."""
    P = np.array([[[0.6929299414963568, 0.113237969390902, 0.19383208821274112]],
                  [[0.14690966842805248, 0.7481641919210056, 0.10492613875094198]],
                  [[0.12348207642786503, 0.4158479017813856, 0.4606700216907495]]])
    R = np.array([[-883373.9477834202], [137186.60755414638], [-220293.75540820803]])
    mdp = TabularMDP(sp.csr_matrix(P.reshape(3, 3)) if sparse else P, R, gamma=0.999999999999)
    with pytest.warns(ConvergenceWarning):
        res = solve(mdp, method=method)
    assert np.isfinite(res.V).all() and np.isfinite(res.error_bound) and not res.converged
    v_star = _exact_v_star_any_rows(mdp)
    err = _max_err(res.V, v_star)
    assert err <= _fr(res.error_bound)
    assert err <= 2 * _fr(float(np.abs(R).max())) / (1 - _fr(mdp.gamma) * (1 - Fraction(1, 10**10)))


# ------------------------------------------------------------------ second review of the solver changes
@pytest.mark.parametrize("P, R, g, field", [
    (np.array([[[1.0 + 5e-10]]]), np.array([[1e-100]]), 1 - 1e-12, "gamma"),  # gamma rho > 1: V* infinite
    (np.array([[[1.0]]]), np.array([[-1e300]]), 1 - 1e-9, "R"),  # |V*| = 1e309, beyond float64
])
def test_lp_shares_the_refusals_of_every_discounted_method(P, R, g, field):
    """``method="lp"`` used to skip them and report ``converged=True`` with ``error_bound=inf``."""
    m = TabularMDP(P, R, gamma=g)
    for method in ("lp", "vi", "pi"):
        with pytest.raises(ValueError, match=rf"^{field}: "):
            solve(m, method=method)


def test_lp_result_with_a_finite_bound_is_converged():
    m = TabularMDP(np.array([[[0.5, 0.5]], [[0.2, 0.8]]]), np.array([[1.0], [0.0]]), gamma=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m, method="lp")
    assert r.converged and np.isfinite(r.error_bound)


def _garnet(seed):
    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(2, 40)), int(rng.integers(1, 5))
    b = int(rng.integers(1, S + 1))
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            idx = rng.choice(S, b, replace=False)
            P[s, a, idx] = rng.random(b)
    P /= P.sum(-1, keepdims=True)
    R = rng.standard_normal((S, A)) * 10.0 ** rng.integers(-3, 4)
    g = float(rng.choice([0.9, 0.95, 0.99, 0.999, 0.9999, 0.99999, 0.999999]))
    return P, R, g


@pytest.mark.parametrize("seed, tol", [(16, 9.03e-9)])
def test_restarted_rounds_return_the_best_certified_round(seed, tol):
    """A later certification round can end above an earlier one; the smallest certified bound is returned. On this
    Garnet (from the review) MPI returned 3.63e-8 where the first round had certified 2.19e-8. The property checked:
    the bound never exceeds that of a run capped at the first round's greedy steps."""
    P, R, g = _garnet(seed)
    m = TabularMDP(P, R, gamma=g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        full = solve(m, method="mpi", tol=tol)
        first = solve(m, method="mpi", tol=tol, max_iter=max(1, full.nit - 1))
    assert full.error_bound <= first.error_bound or full.converged


def test_sparse_mpi_stops_when_off_sum_rows_stall():
    """Rows summing to 1 - 6e-11 at gamma = 1 - 1e-9: the span of T V - V shrinks by ~gamma per step and used to set
    a new minimum at every step, so sparse MPI ran to max_iter (it never returned with max_iter = 2**63 - 1)."""
    p = 0.9999999999406008
    P = np.array([[0, 0, p], [0, 0, p], [0, 1, 0]], float)
    R = np.array([[0.79], [2.5], [-4.2]])
    m = TabularMDP(sp.csr_matrix(P), R, gamma=1 - 1e-9)
    with pytest.warns(ConvergenceWarning):
        r = solve(m, method="mpi", max_iter=10**6)
    assert not r.converged and r.nit < 10**5 and np.isfinite(r.error_bound)


@pytest.mark.parametrize("sparse", [False, True])
def test_auto_recovers_with_policy_iteration_when_vi_stalls(sparse):
    """gamma = 1 - 1e-9 with rows summing to 1 - 6e-11: VI's bounds stop improving at ~3.6e9, which V = 0 would
    beat; auto then also runs PI and returns its far smaller certified bound, without a warning."""
    p = 0.9999999999406008
    P = np.array([[0, 0, p], [0, 0, p], [0, 1, 0]], float)
    R = np.array([[0.79], [2.5], [-4.2]])
    m = TabularMDP(sp.csr_matrix(P) if sparse else P.reshape(3, 1, 3), R, gamma=1 - 1e-9)
    with pytest.warns(ConvergenceWarning):
        vi = solve(m, method="vi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m)
    assert r.method == "pi" and r.converged and r.error_bound < 1e-3 * vi.error_bound
    # VI either stalls or, at this gamma, uses up the steps auto grants it before trying PI
    assert ("stalled" in r.extra["auto"] or "budget" in r.extra["auto"]) and "pi certified" in r.extra["auto"]
    # the answer is right: within its bound of V* (exact, in rationals, for this one-action chain)
    Pq = [[Fraction(x) for x in row] for row in P]
    g = Fraction(1 - 1e-9)
    # V = R + g P V for the only policy: solve the 3x3 system by Cramer's rule in rationals
    M = [[(1 if i == j else 0) - g * Pq[i][j] for j in range(3)] for i in range(3)]
    b = [Fraction(float(R[i, 0])) for i in range(3)]

    def det(a):
        return (a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]))
    d = det(M)
    for i in range(3):
        Mi = [[b[r] if c == i else M[r][c] for c in range(3)] for r in range(3)]
        assert abs(Fraction(float(r.V[i])) - det(Mi) / d) <= Fraction(r.error_bound)


def test_auto_keeps_vi_when_it_converges():
    m = TabularMDP(np.array([[[0.5, 0.5]], [[0.2, 0.8]]]), np.array([[1.0], [0.0]]), gamma=0.9)
    r = solve(m)
    assert r.converged and "auto" not in r.extra and r.extra["stalled"] is False
