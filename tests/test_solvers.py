"""Properties of the exact solvers over random MDPs (hypothesis), plus closed-form examples."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from rltheory import ConvergenceWarning, TabularMDP
from rltheory.solvers import api
from rltheory.solvers import (
    bellman_backup,
    bellman_residual,
    certificate,
    evaluate,
    gaps,
    next_value_variance,
    occupancy,
    policy_value,
    q_values,
    solve,
)
from rltheory.testing import policies, tabular_mdps


def _scale(x):
    return max(1.0, float(np.abs(x).max()))


@given(tabular_mdps(discounted=True))
def test_discounted_methods_agree_and_certificates_hold(mdp):
    exact = solve(mdp, method="pi")
    Vs = exact.V
    for m in ("vi", "mpi"):
        r = solve(mdp, method=m, tol=1e-10)
        assert np.abs(r.V - Vs).max() <= r.error_bound + 1e-10 * _scale(Vs)
        assert r.error_bound <= 1e-10 + 1e-12
        res = float(bellman_residual(mdp, r.V))
        assert res <= (1 + mdp.gamma) * r.error_bound + 1e-11 * _scale(Vs)
    assert exact.error_bound <= 1e-9 * _scale(Vs)
    # the other storage gives the same answers
    other = mdp.to_dense() if mdp.is_sparse else mdp.to_sparse()
    assert np.abs(solve(other, method="pi").V - Vs).max() <= 1e-10 * _scale(Vs)


@settings(max_examples=15)
@given(tabular_mdps(max_states=5, max_actions=3, max_horizon=5))
def test_lp_agrees_with_dynamic_programming(mdp):
    dp = solve(mdp)
    lp = solve(mdp, method="lp")
    assert np.abs(lp.V - dp.V).max() <= 1e-6 * _scale(dp.V)
    assert lp.error_bound <= 1e-5 * _scale(dp.V)
    occ = lp.extra["occupancy"]
    if mdp.finite_horizon:
        assert np.allclose(occ.sum(axis=(1, 2)), 1.0, atol=1e-6)
    else:
        assert abs(occ.sum() - 1.0) < 1e-6


@given(tabular_mdps())
def test_optimal_policy_evaluates_to_optimal_value(mdp):
    r = solve(mdp)
    V = evaluate(mdp, r.policy)
    assert np.abs(V - r.V).max() <= 1e-9 * _scale(r.V)
    assert certificate(mdp, r.V) <= 1e-9 * _scale(r.V)


@given(tabular_mdps(), st.data())
def test_evaluation_dense_equals_sparse_and_onehot_equals_int(mdp, data):
    pol = data.draw(policies(mdp))
    V = evaluate(mdp, pol)
    other = mdp.to_dense() if mdp.is_sparse else mdp.to_sparse()
    assert np.abs(evaluate(other, pol) - V).max() <= 1e-10 * _scale(V)
    if pol.dtype.kind == "i":
        onehot = np.eye(mdp.A)[pol]
        assert np.abs(evaluate(mdp, onehot) - V).max() <= 1e-12 * _scale(V)
    # V*(s) dominates every policy
    assert np.all(V <= solve(mdp).V + 1e-9 * _scale(V))


@given(tabular_mdps(), st.data())
def test_stochastic_value_is_policy_average_of_q(mdp, data):
    pol = data.draw(policies(mdp, deterministic=False))
    V, Q = evaluate(mdp, pol), q_values(mdp, pol)
    if mdp.finite_horizon:
        p = np.broadcast_to(pol, (mdp.horizon, mdp.S, mdp.A))
        assert np.allclose(V[:-1], (p * Q).sum(-1), atol=1e-12 * _scale(V))
        assert np.all(V[-1] == 0)
    else:
        assert np.allclose(V, (pol * Q).sum(-1), atol=1e-10 * _scale(V))
    assert np.allclose(Q, bellman_backup(mdp, V), atol=1e-10 * _scale(V))


@given(tabular_mdps(), st.integers(0, 2**32 - 1), st.floats(-2.0, 2.0), st.floats(0.1, 5.0))
def test_value_monotone_shift_and_scale_in_rewards(mdp, seed, c, k):
    rng = np.random.default_rng(seed)
    V = solve(mdp).V
    up = solve(mdp.with_rewards(mdp.R + rng.random(mdp.R.shape))).V
    assert np.all(up >= V - 1e-9 * _scale(V))
    shifted = solve(mdp.with_rewards(mdp.R + c)).V
    if mdp.finite_horizon:
        H = mdp.horizon
        expect = V + c * (H - np.arange(H + 1))[:, None]
    else:
        expect = V + c / (1 - mdp.gamma)
    assert np.abs(shifted - expect).max() <= 1e-8 * _scale(expect)
    assert np.abs(solve(mdp.with_rewards(k * mdp.R)).V - k * V).max() <= 1e-8 * _scale(k * V)


@given(tabular_mdps(), st.data())
def test_occupancy_is_distribution_and_reproduces_value(mdp, data):
    pol = data.draw(policies(mdp))
    d = occupancy(mdp, pol)
    V = evaluate(mdp, pol)
    assert d.min() >= -1e-15
    if mdp.finite_horizon:
        assert np.allclose(d.sum(axis=(1, 2)), 1.0, atol=1e-12)
        R = np.broadcast_to(mdp.R3(), d.shape)
        assert abs((d * R).sum() - mdp.mu0 @ V[0]) <= 1e-10 * _scale(V)
    else:
        assert abs(d.sum() - 1.0) < 1e-9
        assert abs((d * mdp.R).sum() - (1 - mdp.gamma) * mdp.mu0 @ V) <= 1e-9 * _scale(V)
    assert abs(policy_value(mdp, pol) - float(mdp.mu0 @ (V[0] if V.ndim == 2 else V))) < 1e-12 * _scale(V)
    other = mdp.to_dense() if mdp.is_sparse else mdp.to_sparse()
    assert np.abs(occupancy(other, pol) - d).max() <= 1e-10


@given(tabular_mdps())
def test_gaps_nonnegative_with_zero_at_greedy_action(mdp):
    r = solve(mdp)
    D = gaps(mdp, r)
    assert D.min() >= 0
    assert np.all(D.min(axis=-1) == 0)
    pol = r.policy
    picked = np.take_along_axis(D, pol[..., None], axis=-1)[..., 0]
    assert np.all(picked <= 1e-9 * _scale(r.V))


@given(tabular_mdps(), st.integers(0, 2**32 - 1))
def test_next_value_variance(mdp, seed):
    rng = np.random.default_rng(seed)
    S = mdp.S
    v = rng.normal(size=S) * 3
    var = next_value_variance(mdp, v)
    P = mdp.P
    ref = (P * v ** 2).sum(-1) - (P @ v) ** 2
    ref = ref if var.shape == ref.shape else np.broadcast_to(ref, var.shape)
    assert np.allclose(var, ref, atol=1e-10 * max(1.0, (v ** 2).max()))
    assert var.min() >= 0
    assert np.abs(next_value_variance(mdp, np.full(S, 2.5))).max() <= 1e-26  # rows sum to 1 up to rounding
    if mdp.finite_horizon:
        Vh = solve(mdp).V
        full = next_value_variance(mdp, Vh)
        assert full.shape == (mdp.horizon, S, mdp.A)
        for h in range(mdp.horizon):
            Ph = P[h] if P.ndim == 4 else P
            exp = (Ph * Vh[h + 1] ** 2).sum(-1) - (Ph @ Vh[h + 1]) ** 2
            assert np.allclose(full[h], exp, atol=1e-10 * _scale(Vh) ** 2)


@settings(max_examples=60)
@given(tabular_mdps(), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 1e16, -1e200, 1e308, -1e308]),
       st.sampled_from([0.0, 1.0, 1e100, 1e200]))
def test_next_value_variance_is_the_same_for_dense_and_sparse_kernels(mdp, seed, offset, spread):
    """Both storages compute the variance the same way (centred V, next states of probability zero left out):
    a constant V, however large, is exactly 0; no NaN; the same overflow to inf; equal finite values up to the
    order of summation."""
    V = offset + spread * np.random.default_rng(seed).uniform(-1, 1, mdp.S)
    a, b = next_value_variance(mdp.to_dense(), V), next_value_variance(mdp.to_sparse(), V)
    assert not np.isnan(a).any() and not np.isnan(b).any()
    if np.ptp(V) == 0:
        assert not a.any() and not b.any()
    assert np.array_equal(np.isinf(a), np.isinf(b))
    fin = np.isfinite(a)
    assert np.allclose(a[fin], b[fin], rtol=1e-9, atol=1e-12 * min(float(np.ptp(V)), 1e150) ** 2)


@given(tabular_mdps(discounted=False, time_homogeneous=True))
def test_identical_layers_equal_homogeneous(mdp):
    H = mdp.horizon
    P4 = np.broadcast_to(mdp.P, (H,) + mdp.P.shape)
    R3 = np.broadcast_to(mdp.R3(), (H, mdp.S, mdp.A))
    inh = TabularMDP(P4, R3, horizon=H, mu0=mdp.mu0)
    assert np.abs(solve(inh).V - solve(mdp).V).max() <= 1e-12 * _scale(solve(mdp).V)


def test_two_state_closed_form():
    # s0: a0 stays (r=1), a1 -> s1 (r=0); s1 absorbing with r=2. gamma=0.9.
    # V*(s1) = 2/(1-0.9) = 20; staying in s0 gives 10; moving gives 0 + 0.9*20 = 18 -> V*(s0) = 18.
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    R = np.array([[1.0, 0.0], [2.0, 2.0]])
    for m in ("vi", "pi", "mpi", "lp"):
        r = solve(TabularMDP(P, R, gamma=0.9), method=m)
        assert np.allclose(r.V, [18.0, 20.0], atol=1e-6), m
        assert r.policy[0] == 1


def test_chain_finite_horizon_closed_form():
    # deterministic chain 0 -> 1 -> 2 (absorbing, reward 1 per step there): with H = 4 from state 0 the agent
    # reaches 2 at step 2 and collects reward at steps 2, 3 -> V_0(0) = 2; V_h(2) = H - h.
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1.0
    R = np.array([[0.0], [0.0], [1.0]])
    r = solve(TabularMDP(P, R, horizon=4))
    assert r.V[0, 0] == 2.0 and list(r.V[:, 2]) == [4.0, 3.0, 2.0, 1.0, 0.0]


@pytest.mark.parametrize("bad, exc", [
    ({"method": "magic"}, ValueError), ({"method": 3}, TypeError), ({"tol": 0.0}, ValueError),
    ({"tol": float("nan")}, ValueError), ({"max_iter": 0}, ValueError), ({"method": "bi"}, ValueError),
])
def test_solve_rejects_bad_arguments(bad, exc):
    m = TabularMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), gamma=0.5)
    with pytest.raises(exc):
        solve(m, **bad)


@pytest.mark.parametrize("pol, exc, text", [
    (np.array([0, 2]), ValueError, "out of range"),
    (np.array([0.0, 1.0]), ValueError, "integer dtype"),
    (np.array([[0.5, 0.6], [1.0, 0.0]]), ValueError, "sum to"),
    (np.array([[1.5, -0.5], [1.0, 0.0]]), ValueError, "negative"),
    (np.array([[np.nan, 1.0], [1.0, 0.0]]), ValueError, "non-finite"),
    (np.array(["a", "b"]), TypeError, "dtype"),
    (np.zeros((3,), dtype=int), ValueError, "shape"),
])
def test_bad_policies_raise(pol, exc, text):
    m = TabularMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), horizon=3)
    with pytest.raises(exc, match=text):
        evaluate(m, pol)
    with pytest.raises(exc, match=text):
        occupancy(m, pol)


def test_finite_horizon_rejects_discounted_methods():
    m = TabularMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), horizon=3)
    with pytest.raises(ValueError, match="backward_induction"):
        solve(m, method="vi")


@given(tabular_mdps(discounted=False), st.integers(0, 2**32 - 1))
def test_finite_horizon_planner_equals_solve(mdp, seed):
    from rltheory.solvers import FiniteHorizonPlanner

    planner = FiniteHorizonPlanner(mdp)
    V, Q, pi = planner.plan()
    r = solve(mdp)
    assert np.array_equal(V, r.V) and np.array_equal(Q, r.Q) and np.array_equal(pi, r.policy)
    R2 = np.random.default_rng(seed).random((mdp.horizon, mdp.S, mdp.A))
    V2, _, _ = planner.plan(R2)
    assert np.array_equal(V2, solve(mdp.with_rewards(R2)).V)
    with pytest.raises(ValueError, match="R: expected shape"):
        planner.plan(np.zeros((mdp.S + 1, mdp.A)))
    with pytest.raises(TypeError, match="float64"):
        planner.plan(np.zeros((mdp.S, mdp.A), dtype=np.float32))
    with pytest.raises(ValueError, match="non-finite"):
        planner.plan(np.full((mdp.S, mdp.A), np.nan))


def test_sparse_policy_iteration_large_uses_krylov_and_agrees_with_mpi():
    import mdps

    m = mdps.garnet(20_001, 2, 3, seed=0, gamma=0.9, sparse=True)
    pi_res = solve(m, method="pi")
    mpi_res = solve(m, method="mpi", tol=1e-10)
    assert pi_res.error_bound <= 1e-9
    assert np.max(np.abs(pi_res.V - mpi_res.V)) <= 1e-8
    assert solve(m).method == "vi"


def test_sparse_policy_iteration_gmres_stall(monkeypatch):
    """A stalled Krylov solve falls back to exact LU on small MDPs and is a clear error on large ones."""
    import mdps
    from rltheory.solvers import api

    def stalled(A, b, **kw):
        return np.zeros_like(b), 1

    small = mdps.garnet(50, 3, 4, seed=1, gamma=0.95, sparse=True)
    ref = solve(small, method="mpi", tol=1e-12)
    monkeypatch.setattr(api.spla, "gmres", stalled)
    assert np.max(np.abs(solve(small, method="pi").V - ref.V)) <= 1e-9
    monkeypatch.setattr(api, "MAX_SPARSE_LU_STATES", 10)
    assert np.max(np.abs(solve(small, method="pi").V - ref.V)) <= 1e-9  # a 50-state matrix counts as banded: LU allowed
    monkeypatch.setattr(api, "_banded", lambda A: False)
    with pytest.raises(ValueError, match="GMRES stalled.*mpi"):
        solve(small, method="pi")


def test_solve_and_occupancy_options_are_keyword_only():
    m = TabularMDP(np.full((2, 1, 2), 0.5), np.zeros((2, 1)), gamma=0.5)
    with pytest.raises(TypeError):
        solve(m, "vi")
    with pytest.raises(TypeError):
        occupancy(m, np.zeros(2, dtype=np.int64), 1)
    assert np.array_equal(occupancy(m, np.zeros(2, dtype=np.int64), mu0=1).sum(axis=1), [0.25, 0.75])


def test_solve_dense_is_the_same_with_and_without_threads(monkeypatch):
    """From PARALLEL_MIN_DENSE entries on solve() runs value iteration with the thread-parallel sweep while a core
    is free; forcing the serial kernel must give the same result bit for bit (and the same certificate)."""
    from rltheory.solvers import api, _kernels as K

    rng = np.random.default_rng(7)
    S, A = 260, 8
    assert S * A * S >= K.PARALLEL_MIN_DENSE
    mdp = TabularMDP(rng.dirichlet(np.full(S, 0.5), size=(S, A)), rng.random((S, A)), gamma=0.99)
    monkeypatch.setattr(api, "_big_dense", lambda S, A: True)
    par = solve(mdp, method="vi")
    monkeypatch.setattr(api, "_big_dense", lambda S, A: False)
    ser = solve(mdp, method="vi")
    assert par.converged and par.error_bound <= 1e-8
    for f in ("V", "Q", "policy"):
        assert np.array_equal(getattr(par, f), getattr(ser, f))
    assert (par.error_bound, par.nit) == (ser.error_bound, ser.nit)


def test_auto_uses_mpi_on_large_dense_kernels_only():
    """``auto`` = MPI from AUTO_MPI_MIN_DENSE dense entries on (the rule measured by benchmarks/run.py), VI below
    and on sparse kernels; every choice certified to tol and equal to policy iteration's answer within the bounds."""
    from rltheory.solvers import api

    rng = np.random.default_rng(5)
    S_big = int(np.ceil(np.sqrt(api.AUTO_MPI_MIN_DENSE / 4)))
    for S, sparse, expected in ((S_big, False, "mpi"), (30, False, "vi"), (S_big, True, "vi")):
        P = rng.dirichlet(np.full(S, 0.3), size=(S, 4))
        R = rng.random((S, 4))
        mdp = TabularMDP(sp.csr_matrix(P.reshape(S * 4, S)) if sparse else P, R, gamma=0.95)
        res = solve(mdp, tol=1e-8)
        assert res.method == expected
        assert res.converged and res.error_bound <= 1e-8
        ref = solve(mdp, method="pi")
        assert np.array_equal(res.policy, ref.policy)
        assert np.abs(res.V - ref.V).max() <= res.error_bound + ref.error_bound


# ------------------------------------------------------------------ adversarial arguments (review h32)

def _small(kind: str) -> TabularMDP:
    """A 3-state, 2-action MDP: discounted / finite horizon, dense / sparse."""
    rng = np.random.default_rng(11)
    P, R = rng.dirichlet(np.ones(3), size=(3, 2)), rng.random((3, 2))
    m = TabularMDP(P, R, gamma=0.9) if kind.startswith("disc") else TabularMDP(P, R, horizon=4)
    return m.to_sparse() if kind.endswith("sparse") else m


_KINDS = ["disc", "disc-sparse", "fin", "fin-sparse"]


@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("field, value", [
    ("tol", np.array([1e-3, 1e-3])), ("tol", np.array(1e-3)), ("max_iter", np.array([5, 5])),
    ("max_iter", np.array(5)), ("mpi_sweeps", np.array([5, 5])), ("method", np.array(["auto", "vi"])),
    ("method", np.array("auto")), ("method", ["auto"]), ("lp_solver", np.array(["HIGHS", "HIGHS"])),
])
def test_array_arguments_are_type_errors_naming_the_field(kind, field, value):
    # the finite-horizon fast path used to compare a tuple holding the arrays: "truth value ... ambiguous"
    with pytest.raises(TypeError, match=rf"^{field}: "):
        solve(_small(kind), **{field: value})


@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("field, value, exc", [
    ("tol", 10**400, ValueError), ("tol", -10**400, ValueError), ("tol", float("nan"), ValueError),
    ("tol", float("inf"), ValueError), ("tol", -1e-3, ValueError), ("tol", 0, ValueError),
    ("tol", True, TypeError), ("tol", np.bool_(True), TypeError), ("tol", "1e-3", TypeError),
    ("tol", np.float64("nan"), ValueError), ("tol", 1 + 0j, TypeError),
    ("max_iter", 0, ValueError), ("max_iter", -(10**30), ValueError), ("max_iter", 1.5, ValueError),
    ("max_iter", float("inf"), ValueError), ("max_iter", np.float64("nan"), ValueError),
    ("max_iter", True, TypeError), ("max_iter", np.bool_(False), TypeError), ("max_iter", None, TypeError),
    ("mpi_sweeps", 10**30, ValueError), ("mpi_sweeps", 2**63, ValueError), ("mpi_sweeps", -1, ValueError),
    ("mpi_sweeps", float("inf"), ValueError), ("mpi_sweeps", True, TypeError), ("mpi_sweeps", "5", TypeError),
    ("lp_solver", 3, TypeError), ("lp_solver", True, TypeError), ("lp_solver", 1.5, TypeError),
    ("lp_solver", "NO_SUCH_SOLVER", ValueError),
    ("method", None, TypeError), ("method", 3, TypeError), ("method", "", ValueError),
])
def test_bad_scalar_arguments_name_their_field(kind, field, value, exc):
    method = "lp" if field == "lp_solver" else ("mpi" if field == "mpi_sweeps" and kind.startswith("disc") else "auto")
    kw = {"method": method, field: value} if field != "method" else {field: value}
    with pytest.raises(exc, match=rf"^{field}: ") as info:
        solve(_small(kind), **kw)
    assert len(str(info.value)) < 400  # huge ints are shown shortened, never with hundreds of digits


@pytest.mark.parametrize("kind", ["disc", "disc-sparse"])
@pytest.mark.parametrize("method", ["vi", "mpi", "pi"])
@pytest.mark.parametrize("max_iter", [10**30, 2**63, 1e300, np.uint64(2**64 - 1)])
def test_huge_max_iter_is_clamped_to_int64(kind, method, max_iter):
    m = _small(kind)
    ref = solve(m, method=method)
    r = solve(m, method=method, max_iter=max_iter)
    assert r.converged and np.array_equal(r.V, ref.V) and r.error_bound == ref.error_bound


@pytest.mark.parametrize("kind", _KINDS)
def test_numpy_scalar_arguments_are_accepted(kind):
    m = _small(kind)
    method = np.str_("MPI") if kind.startswith("disc") else np.str_("bi")
    r = solve(m, method=method, tol=np.float32(1e-6), max_iter=np.int64(10_000), mpi_sweeps=np.uint8(5))
    assert r.converged and r.error_bound <= 1e-6
    assert solve(m, max_iter=1_000_000.0, mpi_sweeps=20.0).converged  # whole floats (from a config file)


@pytest.mark.parametrize("func", [certificate, bellman_backup, bellman_residual, next_value_variance])
@pytest.mark.parametrize("kind", ["disc", "fin-sparse"])
@pytest.mark.parametrize("V, exc", [
    (np.zeros(3, dtype=complex), TypeError), (np.array(["a", "b", "c"]), TypeError),
    (np.zeros(3, dtype=bool), TypeError), ([0, 1, 10**400], ValueError), ([0, None, 1], TypeError),
    ([[0.0, 1.0], [2.0]], ValueError), (None, TypeError),
    ([True, 1, 2], TypeError), ([0.5, np.True_, 2.0], TypeError),  # bools are never numbers (NumPy promotes them)
])
def test_bad_value_arrays_name_V(func, kind, V, exc):
    m = _small(kind)
    if m.finite_horizon and isinstance(V, np.ndarray):
        V = np.stack([V] * (m.horizon + 1))
    elif m.finite_horizon and isinstance(V, list) and not isinstance(V[0], list):
        V = [V] * (m.horizon + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way
        with pytest.raises(exc, match=r"^V: "):
            func(m, V)


def test_value_arrays_of_python_ints_are_accepted():
    m = _small("disc")
    V = solve(m, method="pi").V
    assert certificate(m, np.round(V).astype(object)) == certificate(m, np.round(V))
    assert np.array_equal(bellman_backup(m, [0, 1, 2**70]), bellman_backup(m, np.array([0.0, 1.0, 2.0**70])))


def test_huge_ints_in_messages_are_shortened():
    from rltheory._validation import check_int, check_real, show_number

    assert show_number(10**400) == "1.00e+400" and show_number(-(10**18) + 1) == "-1.00e+18"
    assert show_number(123) == "123" and show_number(1.5) == "1.5" and show_number(10**5000) == "1.00e+5000"
    with pytest.raises(ValueError, match=r"^x: must be a finite number, got 1\.00e\+400, which is beyond the "
                                         r"float64 range \(it rounds to inf in float64\)$"):
        check_real("x", 10**400)
    with pytest.raises(ValueError, match=r"^x: must be <= 5, got 1\.00e\+30$"):
        check_int("x", 10**30, high=5)
    assert check_real("x", 10**400, finite=False) == float("inf")


# ---------------------------------------------------------------------------- LP backend failures

def _lp_mdp(scale: float = 1.0, finite: bool = False) -> TabularMDP:
    P = np.full((2, 1, 2), 0.5)
    R = np.ones((2, 1)) * scale
    return TabularMDP(P, R, horizon=3) if finite else TabularMDP(P, R, gamma=0.9)


@pytest.mark.parametrize("finite", [False, True])
@pytest.mark.parametrize("raised", [ValueError("Cannot unpack invalid solution: Solution(status=UNKNOWN ...)\nmore"),
                                    KeyError("x"), ZeroDivisionError(), AttributeError("no attribute")])
def test_any_exception_of_the_lp_backend_is_a_clean_runtime_error(monkeypatch, finite, raised):
    import cvxpy as cp

    def fail(self, *args, **kwargs):
        raise raised

    monkeypatch.setattr(cp.Problem, "solve", fail)
    with pytest.raises(RuntimeError, match=rf"^method: 'lp' failed: the LP solver \w+ failed on this MDP "
                                           rf"\({type(raised).__name__}: .*max\|R\| = 1e\+100.*method='pi'") as info:
        solve(_lp_mdp(1e100, finite), method="lp")
    assert "more" not in str(info.value)  # only the first line of the backend's text


@pytest.mark.parametrize("status, text", [
    ("unbounded", "reported status 'unbounded', but the occupancy LP of every MDP is feasible and bounded: the "
                  "solver failed numerically at this reward scale"),
    ("infeasible", "reported status 'infeasible', but .* failed numerically at this reward scale"),
    ("infeasible_inaccurate", "reported status .* failed numerically"),
    ("user_limit", "returned status 'user_limit'"),
    ("solver_error", "returned status 'solver_error'"),
    ("optimal", "returned status 'optimal' without a finite optimal value"),
])
def test_lp_statuses_other_than_optimal_are_explained(monkeypatch, status, text):
    import cvxpy as cp

    def fake(self, *args, **kwargs):
        self._status = status
        self._value = None

    monkeypatch.setattr(cp.Problem, "solve", fake)
    with pytest.raises(RuntimeError, match=rf"^method: 'lp' failed: the LP solver \w+ {text}"):
        solve(_lp_mdp(1e100), method="lp")


@pytest.mark.parametrize("finite", [False, True])
def test_lp_optimal_without_multipliers_is_a_clean_error(monkeypatch, finite):
    import cvxpy as cp

    def fake(self, *args, **kwargs):  # "optimal" but nothing unpacked
        self._status = "optimal"
        self._value = 1.0

    monkeypatch.setattr(cp.Problem, "solve", fake)
    with pytest.raises(RuntimeError, match=r"^method: 'lp' failed: the LP solver \w+ returned no finite multipliers"):
        solve(_lp_mdp(1.0, finite), method="lp")


def test_lp_at_huge_reward_scales_fails_cleanly_and_prints_nothing():
    # a fresh process: HiGHS prints its banner from C++ (file descriptor 1) when its first solver object is made
    import os
    import subprocess
    import sys
    import textwrap

    import rltheory

    code = textwrap.dedent("""
        import numpy as np
        from rltheory import TabularMDP
        from rltheory.solvers import solve
        P = np.full((2, 1, 2), 0.5)
        R = np.ones((2, 1)) * 1e100
        for solver in (None, "CLARABEL"):
            for m in (TabularMDP(P, R, gamma=0.9), TabularMDP(P, R, horizon=3)):
                try:
                    r = solve(m, method="lp", lp_solver=solver)
                    assert np.isfinite(r.error_bound), r
                except RuntimeError as e:
                    msg = str(e)
                    assert msg.startswith("method: 'lp' failed: the LP solver "), msg
                    assert "max|R| = 1e+100" in msg, msg
                    if "status 'unbounded'" in msg or "status 'infeasible'" in msg:
                        assert "failed numerically at this reward scale" in msg, msg
        import sys
        sys.stderr.write("END\\n")
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(rltheory.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0 and out.stderr.rstrip().endswith("END"), out.stderr
    assert out.stdout == "", out.stdout


# ----------------------------------------------------------------- rewards near the float64 limit

@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("scale", [1e300, -1e300, 1e-300])
def test_huge_rewards_solve_and_evaluate_without_numpy_warnings(sparse, scale):
    # sparse PI's GMRES formed inner products of ~1e301 vectors: "overflow encountered in dot", then inf / inf
    rng = np.random.default_rng(5)
    S, A = 6, 2
    m = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.random((S, A)) * scale, gamma=0.9)
    m = m.to_sparse() if sparse else m
    ref = solve(TabularMDP(m.P_csr.toarray().reshape(S, A, S), m.R, gamma=0.9), method="pi")
    pol = ref.policy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("pi", "vi", "mpi"):
            r = solve(m, method=method)
            assert r.converged and np.isfinite(r.error_bound) and np.all(np.isfinite(r.V))
            assert np.abs(r.V - ref.V).max() <= r.error_bound + ref.error_bound
        V = evaluate(m, pol)
        assert np.all(np.isfinite(V)) and np.abs(V - ref.V).max() <= 1e-10 * np.abs(ref.V).max() + ref.error_bound
        assert np.all(np.isfinite(q_values(m, pol))) and np.all(np.isfinite(occupancy(m, pol)))
        assert np.isfinite(certificate(m, V))


def test_sparse_mpi_with_unbounded_sweeps_terminates():
    """mpi_sweeps = 2**63 - 1 on a CSR kernel ran that many evaluation sweeps per greedy step (forever); the
    evaluation now ends at the float64 floor, as the dense one ends at its bounds. Serial and multithreaded kernels,
    in a subprocess so that a regression fails by its timeout instead of hanging the suite."""
    import os
    import subprocess
    import sys
    import textwrap

    import rltheory

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(os.path.abspath(rltheory.__file__)))
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {here!r})
        import numpy as np
        import mdps
        from rltheory.solvers import api, solve

        for big in (False, True):
            api._big = lambda ip, big=big: big
            t0 = None
            for seed, gamma in ((0, 0.9), (1, 0.99)):
                m = mdps.garnet(80, 3, 4, seed=seed, gamma=gamma, sparse=True)
                t = time.perf_counter()
                if t0 is None:  # the first call compiles or loads the kernels
                    solve(m, method="mpi", mpi_sweeps=2**63 - 1)
                    t0 = t = time.perf_counter()
                r = solve(m, method="mpi", mpi_sweeps=2**63 - 1)
                t = time.perf_counter() - t
                ref = solve(m, method="pi")
                assert r.converged and r.error_bound <= r.extra["tol"], r
                assert np.abs(r.V - ref.V).max() <= r.error_bound + ref.error_bound
                assert np.array_equal(r.policy, ref.policy)
                # a wall-clock guard against runaway sweep counts only (the loop that never ended is caught by the
                # subprocess timeout): loose enough for the threaded kernels on a loaded 2-core machine, where each
                # parallel region can wait a scheduler time slice, and still far below the seconds that ~1e7 sweeps
                # per greedy step of this 80-state model would take
                assert t < 10.0, t
        print("DONE", flush=True)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("sparse MPI with mpi_sweeps = 2**63 - 1 did not finish")
    assert proc.returncode == 0 and proc.stdout.strip().endswith("DONE"), proc.stderr[-3000:]


def _off_sum_chain(S=50, g=0.9995, off=-9.9e-10):
    """A slowly mixing two-action chain (left; mostly stay, sometimes right) whose first row sums to ``1 + off``."""
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] += 1.0
        P[s, 1, min(s + 1, S - 1)] += 0.35
        P[s, 1, s] += 0.6
        P[s, 1, max(s - 1, 0)] += 0.05
    P[0, 0, 0] += off
    R = np.zeros((S, 2))
    R[0, 0] = 0.005
    R[S - 1, 1] = 1.0
    return P, R, g


@pytest.mark.parametrize("sparse", [False, True])
def test_vi_converges_on_a_slow_chain_with_one_row_off_by_1e9(sparse):
    """One row summing to ``1 - 9.9e-10`` at ``gamma = 0.9995``: the off-sum stall counter stored the scaled best
    span after every step without progress, so its threshold shrank each step and VI gave up after a few dozen
    sweeps with a bound of several hundred. The same chain with stochastic rows converges in about as many sweeps."""
    P, R, g = _off_sum_chain()
    m = TabularMDP(sp.csr_matrix(P.reshape(-1, P.shape[0])) if sparse else P, R, gamma=g)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m, method="vi")
    assert r.converged and r.error_bound <= r.extra["tol"] and not r.extra["stalled"]
    P1, R1, _ = _off_sum_chain(off=0.0)
    ref = solve(TabularMDP(P1, R1, gamma=g), method="vi")
    assert r.nit <= 2 * ref.nit
    assert np.abs(r.V - ref.V).max() <= r.error_bound + ref.error_bound + 1e-9 * np.abs(ref.V).max()


# ------------------------------------------------------------------ method="auto" falling back to policy iteration

def _long_cycle(S=6000):
    """One random cycle through ``S`` states, rows summing to ``1 - 9e-10``, ``gamma = 1 - 1e-9``: VI stalls, and
    sparse PI cannot evaluate a policy (GMRES stalls on the cycle; no LU above ``MAX_SPARSE_LU_STATES``)."""
    rng = np.random.default_rng(1)
    perm = rng.permutation(S)
    nxt = np.empty(S, dtype=np.int64)
    nxt[perm] = np.roll(perm, -1)
    P = sp.csr_matrix((np.full(S, 1 - 9e-10), (np.arange(S), nxt)), shape=(S, S))
    return TabularMDP(P, rng.random((S, 1)), gamma=1 - 1e-9)


def test_auto_returns_the_flagged_vi_result_when_policy_iteration_fails():
    """auto used to raise the ValueError of its policy-iteration fallback although VI had a (flagged) result."""
    m = _long_cycle()
    with pytest.raises(ValueError, match="^method: sparse policy iteration could not evaluate") as info:
        solve(m, method="pi")
    assert "'auto'" not in str(info.value)
    with pytest.warns(ConvergenceWarning) as rec:
        vi = solve(m, method="vi")
    with pytest.warns(ConvergenceWarning) as rec:
        r = solve(m)
    assert r.method == "vi" and not r.converged and r.extra["stalled"]
    assert r.error_bound == vi.error_bound and np.array_equal(r.V, vi.V)
    assert "policy iteration fallback failed" in r.extra["auto"] and "GMRES stalled" in r.extra["auto"]
    msgs = [str(w.message) for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert len(msgs) == 1 and "method='pi'" not in msgs[0] and "auto: " in msgs[0]


def test_auto_uses_policy_iteration_when_vi_cannot_reach_tol_in_max_iter():
    """A deterministic 2-cycle at gamma = 1 - 1e-6: the span contracts by exactly gamma per sweep (never stalls), so
    auto ran all 10**6 VI sweeps and returned converged=False with a bound near 2e5; PI certifies ~1e-5 at once."""
    m = TabularMDP(np.array([[[0.0, 1.0]], [[1.0, 0.0]]]), np.array([[1.0], [0.0]]), gamma=1 - 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m)
    assert r.method == "pi" and r.converged and r.error_bound <= r.extra["tol"] and r.error_bound < 1e-4
    assert "budget" in r.extra["auto"]
    assert r.extra["stalled"] is False
    # VI ending at an explicit max_iter (no stall) also sends auto to PI
    rng = np.random.default_rng(3)
    m = TabularMDP(rng.dirichlet(np.ones(5), size=(5, 2)), rng.random((5, 2)), gamma=0.99)
    with pytest.warns(ConvergenceWarning, match="^max_iter: "):
        assert not solve(m, method="vi", max_iter=3).converged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m, max_iter=3)
    assert r.method == "pi" and r.converged and "reached max_iter" in r.extra["auto"]


def test_auto_grant_continues_vi_before_policy_iteration(monkeypatch):
    """Above the worst-case projection auto grants VI ``AUTO_STEP_BUDGET`` sweeps; when VI ends there and its
    observed contraction reaches ``tol`` within ``max_iter``, VI continues and auto returns what explicit VI returns.
    Policy iteration used to run first (and VI continued only if it failed): up to ~50x the time of explicit VI on
    chains that need just over the grant."""
    S = 3
    P = np.tile(0.995 * np.eye(S)[:, None, :] + 0.005 / S, (1, 2, 1))
    R = np.array([[1.0, 0.0], [0.0, 0.5], [0.2, 0.3]])
    m = TabularMDP(P, R, gamma=1 - 1e-6)
    vi = solve(m, method="vi")
    assert vi.converged and vi.nit > api.AUTO_STEP_BUDGET
    calls = []

    def boom(*args, **kwargs):
        calls.append(1)
        raise ValueError("method: no policy iteration today")

    orig = api._solve_discounted
    monkeypatch.setattr(api, "_solve_discounted",
                        lambda mdp, m, *a, **k: boom() if m == "pi" else orig(mdp, m, *a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m)
    assert not calls
    assert r.method == "vi" and r.converged and r.nit == vi.nit and np.array_equal(r.V, vi.V)
    assert r.error_bound == vi.error_bound
    assert "continued" in r.extra["auto"] and "pi certified" not in r.extra["auto"]
    assert "fallback" not in r.extra["auto"]


def test_auto_runs_policy_iteration_when_vi_continued_fails(monkeypatch):
    """If VI continued from its grant still ends above tol, auto tries policy iteration and returns the better."""
    S = 3
    P = np.tile(0.995 * np.eye(S)[:, None, :] + 0.005 / S, (1, 2, 1))
    R = np.array([[1.0, 0.0], [0.0, 0.5], [0.2, 0.3]])
    m = TabularMDP(P, R, gamma=1 - 1e-6)

    # a continuation short of tol: projected to reach it, but granted no more steps than the grant itself
    monkeypatch.setattr(api, "_grant_projects_tol", lambda *args: True)
    monkeypatch.setattr(api, "AUTO_CONTINUE_FACTOR", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m)
    assert r.method == "pi" and r.converged
    assert "continued" in r.extra["auto"] and "pi certified" in r.extra["auto"]


def test_auto_holds_policy_iteration_to_tol():
    """With tol = 1e-30 auto returned PI's result as converged with error_bound ~6e-15 > tol, no warning, and
    without extra['tol'] / extra['stalled']."""
    rng = np.random.default_rng(0)
    m = TabularMDP(rng.dirichlet(np.ones(5), size=(5, 2)), rng.random((5, 2)), gamma=0.9)
    with pytest.warns(ConvergenceWarning, match="tol"):
        r = solve(m, tol=1e-30)
    assert not r.converged and r.error_bound > 1e-30
    assert r.extra["tol"] == 1e-30 and r.extra["stalled"] is True and r.extra["converged"] is False
    # a tol PI meets: converged, the same keys
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok = solve(m, tol=1e-9)
    assert ok.converged and ok.error_bound <= ok.extra["tol"] == 1e-9 and ok.extra["stalled"] is False


def _case_1080():
    """The reviewer's fuzz case 1080: sparse rows summing to 1 + d (|d| <= 9.9e-10), constant rewards,
    gamma = 1 - 1e-9 (the draws replay its generator)."""
    rng = np.random.default_rng(1080)
    S = int(rng.choice([1, 2, 3, 5, 8, 12, 20]))
    A = int(rng.choice([1, 2, 3, 4]))
    rng.choice(5)  # the kind of kernel (sparse rows)
    P = rng.dirichlet(np.full(S, 0.3), size=(S, A))
    P = np.where(P < 0.1, 0.0, P)
    P[..., 0] += 1e-3
    P /= P.sum(axis=-1, keepdims=True)
    rng.choice(5)  # the row perturbation (mixed)
    for s in range(S):
        for a in range(A):
            t = int(np.argmax(P[s, a]))
            P[s, a, t] = max(P[s, a, t] + rng.choice([9.9e-10, -9.9e-10, 0.0, 5e-10]), 0.0)
    return TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), np.full((S, A), 0.7e-6), gamma=0.999999999)


def test_stalled_flag_agrees_with_the_warning():
    """Sparse MPI stopped early with a 'bounds stopped improving' warning but reported extra['stalled'] = False
    (its last round had met the MacQueen-Porteus rule, the certificate had not)."""
    m = _case_1080()
    with pytest.warns(ConvergenceWarning, match="stopped improving"):
        r = solve(m, method="mpi")
    assert not r.converged and r.nit < 10**6 and r.extra["stalled"] is True
    with pytest.warns(ConvergenceWarning, match="^max_iter: "):
        r = solve(m, method="mpi", max_iter=3)
    assert r.extra["stalled"] is False


def test_auto_keeping_vi_does_not_advise_pi(monkeypatch):
    """When PI certified worse and auto kept VI, the warning still advised method='pi'."""
    m = _case_1080()
    orig = api._solve_discounted

    def worse_pi(mdp, meth, *a, **k):
        res = orig(mdp, meth, *a, **k)
        if meth == "pi":
            res.error_bound = 1e300
        return res

    monkeypatch.setattr(api, "_solve_discounted", worse_pi)
    with pytest.warns(ConvergenceWarning) as rec:
        r = solve(m)
    assert r.method == "vi" and not r.converged
    msgs = [str(w.message) for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert len(msgs) == 1 and "method='pi'" not in msgs[0] and "pi certified 1e+300" in msgs[0]


def _csr_ring(S, gamma):
    """A deterministic ring stored as CSR: action 0 steps right, action 1 left; reward 1 for stepping right from the
    last state and 0.5 for stepping left from state 0 (a slow chain near gamma = 1)."""
    P = np.zeros((S * 2, S))
    for s in range(S):
        P[2 * s, (s + 1) % S] = 1.0
        P[2 * s + 1, (s - 1) % S] = 1.0
    R = np.zeros((S, 2))
    R[S - 1, 0], R[0, 1] = 1.0, 0.5
    return TabularMDP(sp.csr_matrix(P), R, gamma=gamma)


@pytest.mark.parametrize("sweeps, nit", [(100, 255), (1000, 26), (100000, 11), (2**63 - 1, None)])
def test_sparse_mpi_large_sweeps_converge_on_a_slow_ring(sweeps, nit):
    """A deterministic ring at gamma = 0.999 stored as CSR: sparse MPI's evaluation gave up after 20 sweeps without
    a new minimum of the span, far above the float64 floor, and large mpi_sweeps no longer converged. They take
    their old step counts again, and an unbounded count converges like policy iteration."""
    m = _csr_ring(20, 0.999)
    r = solve(m, method="mpi", mpi_sweeps=sweeps)
    ref = solve(m, method="pi")
    assert r.converged and r.error_bound <= r.extra["tol"]
    assert r.nit == nit if nit is not None else r.nit <= 2 * ref.nit
    assert np.array_equal(r.policy, ref.policy)
    assert np.abs(r.V - ref.V).max() <= r.error_bound + ref.error_bound


def test_auto_continuation_is_capped_before_policy_iteration():
    """A slow deterministic ring at gamma = 0.99999: VI's contraction over its grant projects tol well within
    max_iter, but the early decrease was transient and VI never gets there; auto continues VI for at most
    AUTO_CONTINUE_FACTOR grants, then policy iteration certifies the values."""
    m = _csr_ring(50, 0.99999)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m)
    assert r.method == "pi" and r.converged and r.error_bound <= r.extra["tol"]
    note = r.extra["auto"]
    assert f"after {api.AUTO_CONTINUE_FACTOR * api.AUTO_STEP_BUDGET} iterations" in note and "pi certified" in note


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("scale", [1e-200, 1e-6, 1.0, 1e6])
def test_policy_iteration_improves_at_every_reward_scale(sparse, scale):
    """PI's improvement threshold is relative to max|V|: with tiny rewards an absolute floor kept the myopic
    first policy (stay-or-leave: leaving pays 1 once, staying 0.9 forever; optimal is to stay at gamma 0.9)."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = 1.0  # leave to the absorbing state
    P[0, 1, 0] = 1.0  # stay
    P[1, :, 1] = 1.0
    R = np.array([[1.0, 0.9], [0.0, 0.0]]) * scale
    m = TabularMDP(sp.csr_matrix(P.reshape(4, 2)) if sparse else P, R, gamma=0.9)
    res = solve(m, method="pi")
    assert res.converged and res.policy[0] == 1
    assert res.error_bound <= 1e-12 * 9.0 * scale  # (V* = 0.9 scale / 0.1 up to the rounding of its inputs)
    assert abs(res.V[0] - 9.0 * scale) <= 1e-14 * 9.0 * scale


def _slow_chain(S, sparse, gamma=0.99999, ring=False):
    """A lazy random walk on a path (stay 0.5, else one step left or right, held at the ends; ``ring``: around a
    cycle) whose reward sits at the right end: slowly mixing, so that at ``gamma = 0.99999`` auto grants VI its
    step budget first."""
    P = np.zeros((S * 2, S))
    for s in range(S):
        P[2 * s, s] += 0.5
        P[2 * s, (s + 1) % S if ring else min(s + 1, S - 1)] += 0.5
        P[2 * s + 1, s] += 0.5
        P[2 * s + 1, (s - 1) % S if ring else max(s - 1, 0)] += 0.5
    R = np.zeros((S, 2))
    R[S - 1, 0], R[0, 1] = 1.0, 0.01
    return TabularMDP(sp.csr_matrix(P) if sparse else P.reshape(S, 2, S), R, gamma=gamma)


@pytest.mark.parametrize("make", [lambda: _slow_chain(40, False), lambda: _slow_chain(40, True),
                                  lambda: _slow_chain(30, True, ring=True)])
def test_auto_resumes_vi_after_its_grant(make, monkeypatch):
    """When VI continues past its grant, auto used to restart it from V0 (repeating the grant's greedy steps) and
    to run a one-step solve for the projection. It now continues the same iteration: the result is bit for bit
    that of one uninterrupted VI run (``nit`` included, the total over grant and continuation), certified against
    policy iteration, and the greedy steps actually swept add up to that ``nit`` (restarting, they added
    up to ``nit`` + the grant + 1)."""
    m = make()
    monkeypatch.setattr(api, "AUTO_STEP_BUDGET", 50)  # small models: a grant of 50 steps, then the continuation
    vi = solve(m, method="vi")
    assert vi.converged and vi.nit > max(50, m.S)
    ref = solve(m, method="pi")
    assert ref.converged
    steps = []  # greedy steps each VI run swept itself (a resumed run reports its total)
    orig = api._solve_discounted

    def counting(mdp, meth, *a, **k):
        res = orig(mdp, meth, *a, **k)
        if meth == "vi":
            steps.append(res.nit - (k["resume"].it if k.get("resume") is not None else 0))
        return res

    monkeypatch.setattr(api, "_solve_discounted", counting)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m)
    assert r.method == "vi" and r.converged and "continued" in r.extra["auto"]
    assert r.nit == vi.nit and np.array_equal(r.V, vi.V) and r.error_bound == vi.error_bound
    assert np.array_equal(r.policy, vi.policy)
    assert np.abs(r.V - ref.V).max() <= r.error_bound + ref.error_bound
    assert sum(steps) == vi.nit  # no greedy step is repeated, and no separate one-step solve runs


@pytest.mark.parametrize("meth", ["vi", "mpi"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("cut", [1, 2, 0.5])
def test_resumed_vi_mpi_equal_one_uninterrupted_run(meth, sparse, cut):
    """A VI/MPI run cut at ``max_iter = cut`` and resumed from its trace state is the uninterrupted run, bit for bit
    (V, policy, bound, nit: the stall counters, the MPI policy and the rounds carry over); the fresh run's
    first-step bound is that of a one-step solve."""
    m = _slow_chain(12, sparse, gamma=0.9999)
    full = api._solve_discounted(m, meth, None, 10**6, 20, quiet=True)
    cut = cut if cut >= 1 else int(cut * full.nit)  # 0.5: halfway
    assert full.nit > cut
    one = api._solve_discounted(m, meth, None, 1, 20, quiet=True)
    trace = {}
    part = api._solve_discounted(m, meth, None, cut, 20, quiet=True, trace=trace)
    assert part.nit == cut and trace["state"] is not None and trace["first_bound"] == one.error_bound
    more = api._solve_discounted(m, meth, None, 10**6, 20, quiet=True, resume=trace["state"])
    assert full.converged and more.nit == full.nit and more.error_bound == full.error_bound
    assert np.array_equal(more.V, full.V) and np.array_equal(more.policy, full.policy)


def _ring(S, gamma, dense):
    """The deterministic ring of ``_csr_ring`` with rewards scaled by ``1 - gamma`` (values in [0, 1]), stored dense
    (an (S, 2, S) array) or as CSR: periodic, so VI's bounds shrink only by ``gamma`` per greedy step."""
    m = _csr_ring(S, gamma)
    P = m.P_csr.toarray().reshape(S, 2, S) if dense else m.P_csr
    return TabularMDP(P, np.asarray(m.R) * (1.0 - gamma), gamma=gamma)


def _count_greedy_steps(monkeypatch):
    """Record the greedy steps each VI/MPI run of ``auto`` sweeps itself (a resumed run reports its total)."""
    steps = []
    orig = api._solve_discounted

    def counting(mdp, meth, *a, **k):
        res = orig(mdp, meth, *a, **k)
        if meth != "pi":
            steps.append(res.nit - (k["resume"].it if k.get("resume") is not None else 0))
        return res

    monkeypatch.setattr(api, "_solve_discounted", counting)
    return steps


@pytest.mark.parametrize("gamma", [0.9999, 0.99999])
def test_auto_dense_mpi_turns_to_policy_iteration_on_a_ring(gamma, monkeypatch):
    """A dense deterministic ring of 200 states (MPI by AUTO_MPI_MIN_DENSE): at gamma = 0.9999 the worst-case
    projection of VI stays within max_iter, so auto ran MPI uncut for tens of thousands of greedy steps (about 55x
    the time of policy iteration); at 0.99999 it granted MPI 1000 greedy steps and continued it to 8 grants before
    policy iteration. Now MPI gets at most its share of policy iteration's cost, counted in greedy steps."""
    S = 200
    m = _ring(S, gamma, dense=True)
    assert api._auto_method(m) == "mpi"
    steps = _count_greedy_steps(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m, tol=1e-8)
    assert r.method == "pi" and r.converged and r.error_bound <= 1e-8
    share = -(-S * S // (2 * api.AUTO_DENSE_PI_DIVISOR))
    assert share < api.AUTO_STEP_BUDGET
    assert sum(steps) == share, steps  # one MPI run, cut at its share, no continuation
    note = r.extra["auto"]
    assert f"mpi reached its step budget at error_bound" in note and f"after {share} iterations" in note
    assert "continued" not in note and "pi certified" in note
    ref = solve(m, method="pi", tol=1e-8)
    assert np.array_equal(r.V, ref.V) and np.array_equal(r.policy, ref.policy) and r.nit == ref.nit


def test_auto_grants_vi_when_the_worst_case_exceeds_the_grant(monkeypatch):
    """A sparse deterministic ring at gamma = 0.9999: VI's worst-case projection (about 3e5 greedy steps) exceeds
    AUTO_CONTINUE_FACTOR grants but not max_iter, so auto ran VI uncut to the worst case (several times the cost of
    policy iteration). Now the grant applies: VI continues to AUTO_CONTINUE_FACTOR grants, then policy iteration."""
    m = _ring(300, 0.9999, dense=False)
    worst = api._worst_case_steps(m.gamma, float(np.ptp(m.R)), api.DEFAULT_RTOL * float(np.ptp(m.R)))
    grant = max(api.AUTO_STEP_BUDGET, m.S)
    assert api.AUTO_CONTINUE_FACTOR * grant < worst <= 10**6
    steps = _count_greedy_steps(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m)
    assert r.method == "pi" and r.converged and r.error_bound <= r.extra["tol"]
    assert sum(steps) == api.AUTO_CONTINUE_FACTOR * grant, steps  # the grant, then its continuation (resumed)
    assert f"after {api.AUTO_CONTINUE_FACTOR * grant} iterations" in r.extra["auto"]


@pytest.mark.parametrize("make", [lambda: _slow_chain(40, True, gamma=0.999), lambda: _slow_chain(40, False, 0.999),
                                  lambda: _garnet_like(300, 2, 0.999)])
def test_auto_grant_below_max_iter_keeps_what_vi_mpi_return(make, monkeypatch):
    """Where the worst case exceeds the grant but VI/MPI certify within grant and continuation, auto returns
    exactly what their own method returns (the cut run is continued, not restarted), and never runs policy
    iteration."""
    monkeypatch.setattr(api, "AUTO_STEP_BUDGET", 50)
    m = make()
    meth = api._auto_method(m)
    own = solve(m, method=meth)
    assert own.converged
    orig = api._solve_discounted
    monkeypatch.setattr(api, "_solve_discounted",
                        lambda mdp, mm, *a, **k: pytest.fail("policy iteration ran") if mm == "pi"
                        else orig(mdp, mm, *a, **k))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = solve(m)
    assert r.method == meth and r.converged and r.nit == own.nit and r.error_bound == own.error_bound
    assert np.array_equal(r.V, own.V) and np.array_equal(r.policy, own.policy)


def _garnet_like(S, A, gamma, seed=5):
    """A dense random kernel with full support (MPI by AUTO_MPI_MIN_DENSE at S = 300, A = 2)."""
    rng = np.random.default_rng(seed)
    return TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.random((S, A)), gamma=gamma)


@pytest.mark.parametrize("meth", ["vi", "mpi"])
@pytest.mark.parametrize("sparse", [False, True])
def test_trace_without_first_bound_is_the_same_run(meth, sparse):
    """``first_bound=False`` skips the verification sweep of the first greedy step (auto's cut below max_iter does
    not need it): the trace has no ``"first_bound"``, and the cut and resumed run is still the uncut run, bit for
    bit."""
    m = _slow_chain(12, sparse, gamma=0.9999)
    full = api._solve_discounted(m, meth, None, 10**6, 20, quiet=True)
    trace = {}
    cut = api._solve_discounted(m, meth, None, full.nit // 2, 20, quiet=True, trace=trace, first_bound=False)
    assert "first_bound" not in trace and trace["state"] is not None and not cut.converged
    more = api._solve_discounted(m, meth, None, 10**6, 20, quiet=True, resume=trace["state"])
    assert more.nit == full.nit and more.error_bound == full.error_bound
    assert np.array_equal(more.V, full.V) and np.array_equal(more.policy, full.policy)


@pytest.mark.parametrize("sparse", [False, True])
def test_backward_induction_counts_its_steps_in_nit(sparse):
    """``nit`` of backward induction is the number of backward steps, H (as scipy users read "iterations")."""
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(3, 2))
    mdp = TabularMDP(P=sp.csr_matrix(P.reshape(6, 3)) if sparse else P, R=rng.random((3, 2)), horizon=7)
    res = solve(mdp)
    assert res.method == "backward_induction" and res.nit == res.iterations == 7
    assert "nit=7" in repr(res)
