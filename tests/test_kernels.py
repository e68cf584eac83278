"""Every Numba kernel equals a plain-NumPy reference implementation kept here."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rltheory.solvers import _kernels as K


@st.composite
def arrays(draw, inhom=None):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    S, A, H = draw(st.integers(1, 7)), draw(st.integers(1, 4)), draw(st.integers(1, 6))
    inh = draw(st.booleans()) if inhom is None else inhom
    hp = H if inh else 1
    P = rng.dirichlet(np.full(S, 0.5), size=(hp, S, A))
    P[rng.random(P.shape) < 0.3] = 0.0  # sparse supports
    P[..., 0] += 1e-3
    P /= P.sum(-1, keepdims=True)
    R = rng.normal(size=(H if draw(st.booleans()) else 1, S, A))
    pol = rng.dirichlet(np.ones(A), size=(H if draw(st.booleans()) else 1, S))
    gamma = float(draw(st.floats(0.0, 0.95)))
    return P, R, pol, H, gamma, rng


def csr(P):
    hp, S, A, _ = P.shape
    flat = P.reshape(hp * S * A, S)
    indptr, indices, data = [0], [], []
    for row in flat:
        nz = np.flatnonzero(row)
        indices.extend(nz)
        data.extend(row[nz])
        indptr.append(len(indices))
    return np.array(indptr, np.int64), np.array(indices, np.int64), np.array(data, np.float64)


def ref_backward(P, R, H, pol=None):
    S, A = P.shape[1:3]
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    pi = np.zeros((H, S), np.int64)
    for h in reversed(range(H)):
        Q[h] = R[min(h, len(R) - 1)] + P[min(h, len(P) - 1)] @ V[h + 1]
        if pol is None:
            pi[h] = Q[h].argmax(1)
            V[h] = Q[h].max(1)
        else:
            V[h] = (pol[min(h, len(pol) - 1)] * Q[h]).sum(1)
    return V, Q, pi


def close(a, b):
    return np.allclose(a, b, rtol=1e-12, atol=1e-12)


@given(arrays())
def test_backward_induction_and_evaluation(arr):
    P, R, pol, H, _, _ = arr
    S, A = P.shape[1:3]
    Vr, Qr, pir = ref_backward(P, R, H)
    for sparse in (False, True):
        V, Q, pi = np.zeros((H + 1, S)), np.empty((H, S, A)), np.empty((H, S), np.int64)
        if sparse:
            K.backward_induction_sparse(*csr(P), R, H, S, A, V, Q, pi)
        else:
            K.backward_induction_dense(P, R, H, V, Q, pi)
        assert close(V, Vr) and close(Q, Qr)
        assert np.all(np.take_along_axis(Qr, pi[..., None], -1)[..., 0] >= Qr.max(-1) - 1e-12)
    Ve, Qe, _ = ref_backward(P, R, H, pol)
    for sparse in (False, True):
        V, Q = np.zeros((H + 1, S)), np.empty((H, S, A))
        if sparse:
            K.evaluate_finite_sparse(*csr(P), R, H, S, A, pol, V, Q)
        else:
            K.evaluate_finite_dense(P, R, H, pol, V, Q)
        assert close(V, Ve) and close(Q, Qe)


@given(arrays())
def test_occupancy_and_variance(arr):
    P, R, pol, H, _, rng = arr
    S, A = P.shape[1:3]
    mu0 = rng.dirichlet(np.ones(S))
    ref = np.zeros((H, S, A))
    rho = mu0.copy()
    for h in range(H):
        ref[h] = rho[:, None] * pol[min(h, len(pol) - 1)]
        rho = np.einsum("sa,sat->t", ref[h], P[min(h, len(P) - 1)])
    for sparse in (False, True):
        d = np.zeros((H, S, A))
        if sparse:
            K.occupancy_finite_sparse(*csr(P), H, S, A, pol, mu0, d)
        else:
            K.occupancy_finite_dense(P, H, pol, mu0, d)
        assert close(d, ref)
    V = rng.normal(size=(H + 1, S))
    vref = np.stack([(P[min(h, len(P) - 1)] * V[h + 1] ** 2).sum(-1) - (P[min(h, len(P) - 1)] @ V[h + 1]) ** 2
                     for h in range(H)])
    for sparse in (False, True):
        out = np.empty((H, S, A))
        if sparse:
            K.next_value_variance_sparse(*csr(P), S, A, V, out)
        else:
            K.next_value_variance_dense(P, V, out)
        assert np.allclose(out, vref, atol=1e-10)


@given(arrays(inhom=False))
def test_discounted_kernels(arr):
    P4, R, pol, _, gamma, rng = arr
    P = P4[0]
    R = R[0]
    S, A = R.shape
    P2 = P.reshape(S * A, S)
    ip, ix, dt = csr(P4)
    V = rng.normal(size=S)
    Qref = R + gamma * P @ V
    Q = np.empty((S, A))
    K.bellman_q_dense(P2, R, V, gamma, Q)
    assert close(Q, Qref)
    K.bellman_q_sparse(ip, ix, dt, R, V, gamma, Q)
    assert close(Q, Qref)
    K.bellman_q_sparse_par(ip, ix, dt, R, V, gamma, Q)  # thread-parallel twin used for large MDPs
    assert close(Q, Qref)
    Vg, pig = np.empty(S), np.empty(S, np.int64)
    K.greedy(Qref, Vg, pig)
    assert np.array_equal(pig, Qref.argmax(1)) and np.array_equal(Vg, Qref.max(1))
    # exact V* by enumerating deterministic policies (small S, A) as the reference for VI / PI / MPI
    import itertools
    if A ** S <= 512:
        best = np.full(S, -np.inf)
        for acts in itertools.product(range(A), repeat=S):
            a = np.array(acts)
            Vp = np.linalg.solve(np.eye(S) - gamma * P[np.arange(S), a], R[np.arange(S), a])
            best = np.maximum(best, Vp)
        Vpi, _, _, _ = K.policy_iteration_dense(P, R, gamma, np.zeros(S, np.int64), 1000)
        assert np.allclose(Vpi, best, atol=1e-9)
        V0 = np.full(S, R.min() / (1 - gamma))
        for Vk, Qk, pik, diff, it in (K.value_iteration_dense(P2, R, gamma, V0, 1e-10, 10**6),
                                      K.value_iteration_sparse(ip, ix, dt, R, gamma, V0, 1e-10, 10**6),
                                      K.modified_policy_iteration_dense(P2, R, gamma, V0, 5, 1e-10, 10**6),
                                      K.modified_policy_iteration_sparse(ip, ix, dt, R, gamma, V0, 5, 1e-10, 10**6),
                                      K.value_iteration_sparse_par(ip, ix, dt, R, gamma, V0, 1e-10, 10**6),
                                      K.modified_policy_iteration_sparse_par(ip, ix, dt, R, gamma, V0, 5, 1e-10,
                                                                             10**6),
                                      K.value_iteration_dense_par(P2, R, gamma, V0, 1e-10, 10**6)):
            assert np.abs(Vk - best).max() <= 1e-10 + 1e-12
    # partial evaluation = m applications of T_pi
    pi = rng.integers(0, A, size=S)
    Vd, Vs, Vr = V.copy(), V.copy(), V.copy()
    for _ in range(3):
        Vr = R[np.arange(S), pi] + gamma * P[np.arange(S), pi] @ Vr
    K.partial_evaluation_dense(P2, R, gamma, pi, Vd, 3)
    K.partial_evaluation_sparse(ip, ix, dt, R, gamma, pi, Vs, 3)
    assert close(Vd, Vr) and close(Vs, Vr)
    # improve keeps ties and switches only on strict gains
    pi2 = Qref.argmin(1).astype(np.int64)
    changed = K.improve(Qref, pi2, 0.0)
    assert changed == int((Qref.max(1) > Qref[np.arange(S), Qref.argmin(1)]).sum())
    assert np.allclose(Qref[np.arange(S), pi2], Qref.max(1))


@given(st.integers(1, 45), st.integers(1, 6), st.sampled_from([0.5, 0.95, 0.999]), st.integers(0, 2**31 - 1))
def test_parallel_dense_solve_is_the_serial_one_bit_for_bit(S, A, gamma, seed):
    """The thread-parallel dense value iteration (used from PARALLEL_MIN_DENSE entries on, while a core is free)
    returns exactly the serial kernel's V, Q, policy, error bound and iteration count: solve() must not depend on
    the machine's load. Odd S and A exercise blocks that do not start on a four-row boundary of the state grid."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    R = rng.normal(size=(S, A)) * 10.0 ** rng.integers(-3, 4)
    P2 = P.reshape(S * A, S)
    rho = K.max_row_sum(P2)
    serial = K.solve_dense_certified(P2, R, gamma, 1e-8, 10**6, -1, rho, K.PATIENCE, 1e-12)
    par = K.solve_dense_certified_par(P2, R, gamma, 1e-8, 10**6, rho, K.PATIENCE, 1e-12)
    for a, b in zip(serial, par):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def _ref_policy_evaluation(P, R, gamma, pi, V, tol, m):
    """NumPy reference of ``evaluate_policy_dense``: sweeps of T_pi with its two stopping rules, then the shift to
    the midpoint of the MacQueen-Porteus bounds."""
    S = R.shape[0]
    Ppi, rpi = P[np.arange(S), pi], R[np.arange(S), pi]
    V = V.copy()
    k, prev, lo, hi = 0, np.inf, 0.0, 0.0
    while k < m:
        Vn = rpi + gamma * Ppi @ V
        lo, hi = (Vn - V).min(), (Vn - V).max()
        V = Vn
        k += 1
        if gamma * (hi - lo) <= tol * (1 - gamma) or hi - lo > K.EVAL_MIN_CONTRACTION * prev:
            break
        prev = hi - lo
    if k:
        V = V + gamma * 0.5 * (lo + hi) / (1 - gamma)
    return V, k


@given(st.integers(1, 45), st.integers(1, 6), st.sampled_from([0.5, 0.95, 0.999]), st.integers(0, 2**31 - 1),
       st.integers(0, 8))
def test_policy_sweeps_and_evaluation_match_numpy(S, A, gamma, seed, m):
    """The dense MPI's policy sweeps read the policy's rows in place; they equal T_pi, and the multithreaded twins
    equal the serial kernels bit for bit (blocks start on four-state boundaries)."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    R = rng.normal(size=(S, A))
    P2 = P.reshape(S * A, S)
    pi = rng.integers(0, A, size=S)
    V = rng.normal(size=S)
    ref = R[np.arange(S), pi] + gamma * P[np.arange(S), pi] @ V
    Vn, Vp = np.empty(S), np.empty(S)
    lo, hi = K.policy_sweep_dense(P2, R, gamma, pi, V, Vn)
    assert np.allclose(Vn, ref, rtol=1e-12, atol=1e-12)
    assert lo == (Vn - V).min() and hi == (Vn - V).max()
    assert K.policy_sweep_dense_par(P2, R, gamma, pi, V, Vp) == (lo, hi) and np.array_equal(Vp, Vn)
    tol = 10.0 ** rng.integers(-12, 0)
    Vs, Vq = V.copy(), V.copy()
    k = K.evaluate_policy_dense(P2, R, gamma, pi, Vs, tol, m)
    Vr, kr = _ref_policy_evaluation(P, R, gamma, pi, V, tol, m)
    assert k == kr and np.allclose(Vs, Vr, rtol=1e-10, atol=1e-10)
    assert K.evaluate_policy_dense(P2, R, gamma, pi, Vq, tol, m, True) == k and np.array_equal(Vq, Vs)
    assert np.array_equal(K.myopic_policy(R), R.argmax(1))


@given(st.integers(1, 45), st.integers(1, 6), st.sampled_from([0.5, 0.95, 0.999]), st.integers(0, 2**31 - 1),
       st.sampled_from([0, 1, 5, 20]))
def test_parallel_dense_mpi_is_the_serial_one_bit_for_bit(S, A, gamma, seed, m):
    """Like the value iteration above: the dense MPI with the multithreaded sweeps returns the serial run's V, Q,
    policy, error bound, greedy steps and stall flag exactly."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    R = rng.normal(size=(S, A)) * 10.0 ** rng.integers(-3, 4)
    P2 = P.reshape(S * A, S)
    rho = K.max_row_sum(P2)
    serial = K.solve_dense_mpi_certified(P2, R, gamma, 1e-8, 10**6, m, rho, K.PATIENCE_MPI, 1e-12)
    par = K.solve_dense_mpi_certified(P2, R, gamma, 1e-8, 10**6, m, rho, K.PATIENCE_MPI, 1e-12, True)
    for a, b in zip(serial, par):
        assert np.array_equal(np.asarray(a), np.asarray(b))


@given(st.integers(0, 2**32 - 1), st.sampled_from([0.5, 0.9, 0.99]))
def test_sparse_policy_evaluation_ends_at_the_float64_floor(seed, gamma):
    """Sparse MPI's evaluation (``evaluate_policy_sparse`` and its multithreaded twin): a sweep count that stops
    short of the float64 floor runs exactly that many sweeps (bit for bit the old ``partial_evaluation_sparse``),
    and an unbounded one stops at the floor with ``V`` at ``V^pi`` up to rounding."""
    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(2, 9)), int(rng.integers(1, 4))
    P = rng.dirichlet(np.full(S, 0.5), size=(1, S, A))
    ip, ix, dt = csr(P)
    R = rng.normal(size=(S, A))
    pi = rng.integers(0, A, size=S)
    V0 = rng.normal(size=S) * 10
    noise = 2.0 * (np.sqrt(S) + 4.0) * 2.0**-53
    for m in (1, 3):
        Vo, Vn, Vp = V0.copy(), V0.copy(), V0.copy()
        K.partial_evaluation_sparse(ip, ix, dt, R, gamma, pi, Vo, m)
        assert K.evaluate_policy_sparse(ip, ix, dt, R, gamma, pi, Vn, m, noise) == m
        assert K.evaluate_policy_sparse_par(ip, ix, dt, R, gamma, pi, Vp, m, noise) == m
        assert np.array_equal(Vo, Vn) and np.array_equal(Vo, Vp)
    Vpi = np.linalg.solve(np.eye(S) - gamma * P[0, np.arange(S), pi], R[np.arange(S), pi])
    Vn, Vp = V0.copy(), V0.copy()
    k = K.evaluate_policy_sparse(ip, ix, dt, R, gamma, pi, Vn, 2**63 - 1, noise)
    assert K.evaluate_policy_sparse_par(ip, ix, dt, R, gamma, pi, Vp, 2**63 - 1, noise) == k
    assert np.array_equal(Vn, Vp)
    assert k < 10_000
    assert np.abs(Vn - Vpi).max() <= 1e-12 * max(1.0, np.abs(Vpi).max()) / (1.0 - gamma)


def _ring(S):
    """Deterministic 2-action ring (right / left) with rewards 1 and 0.5: a chain that mixes no faster than the
    discount contracts."""
    P = np.zeros((1, S, 2, S))
    for s in range(S):
        P[0, s, 0, (s + 1) % S] = 1.0
        P[0, s, 1, (s - 1) % S] = 1.0
    R = np.zeros((S, 2))
    R[S - 1, 0], R[0, 1] = 1.0, 0.5
    return P, R


@pytest.mark.parametrize("par", [False, True])
def test_sparse_policy_evaluation_near_gamma_one_runs_its_sweeps(par):
    """Near gamma = 1 the span of T_pi V - V shrinks by less than an ulp of V per sweep long above the float64
    floor; the evaluation stopped there after 20 sweeps without a new minimum, so sparse MPI with a large
    mpi_sweeps stalled. Up to ~1 / (1 - gamma) sweeps it now runs every sweep, bit for bit the plain sweeps."""
    S, gamma = 20, 0.999
    P, R = _ring(S)
    ip, ix, dt = csr(P)
    pi = np.array([1] * (S // 2) + [0] * (S - S // 2))
    Vpi = np.linalg.solve(np.eye(S) - gamma * P[0, np.arange(S), pi], R[np.arange(S), pi])
    V0 = Vpi + 1e-10 * np.random.default_rng(0).random(S)
    noise = 2.0 * (1.0 + 4.0) * 2.0**-53
    ev = K.evaluate_policy_sparse_par if par else K.evaluate_policy_sparse
    for m in (100, 1000):
        Vo, Vn = V0.copy(), V0.copy()
        K.partial_evaluation_sparse(ip, ix, dt, R, gamma, pi, Vo, m)
        assert ev(ip, ix, dt, R, gamma, pi, Vn, m, noise) == m
        assert np.array_equal(Vo, Vn)
    Vn = V0.copy()
    assert ev(ip, ix, dt, R, gamma, pi, Vn, 2**63 - 1, noise) < 10**6
    assert np.abs(Vn - Vpi).max() <= 1e-9
