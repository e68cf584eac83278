"""Edges of model construction (issue #15 items 1-5, #16 item 8): ambiguous nested lists, absurd sizes, integral-float
horizons, blame for a transposed R, memory sharing, the LP method's failures and console output, and the compiled
max-plus DPs of LinearMixtureMDP / LatentMDP against NumPy references."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import rltheory
from rltheory import TabularMDP
from rltheory.models.latent import LatentMDP
from rltheory.models.linear_mixture import LinearMixtureMDP, max_total_reward
from rltheory.solvers import solve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(rltheory.__file__)))


def _run_isolated(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_rectangular_nested_list_is_a_dense_kernel_even_when_shaped_like_a_successor_list():
    # H == S and A == 2: P[0][0] is a pair of 1-D lists, as in a successor list (issue #15 item 3)
    rng = np.random.default_rng(0)
    S = H = 3
    P = rng.dirichlet(np.ones(S), size=(H, S, 2))
    R = rng.random((S, 2))
    from_list = TabularMDP(P.tolist(), R, horizon=H)
    from_array = TabularMDP(P, R, horizon=H)
    assert not from_list.is_sparse and np.array_equal(from_list.P, from_array.P)
    assert np.array_equal(solve(from_list).V, solve(from_array).V)
    # a genuine successor list (ragged) is still one
    succ = [[([0, 1], [0.5, 0.5]), ([2], [1.0])], [([1], [1.0])] * 2, [([0, 2], [0.25, 0.75]), ([2], [1.0])]]
    m = TabularMDP(succ, R, gamma=0.9)
    assert m.is_sparse and m.P[2, 0, 2] == 0.75


def test_horizon_accepts_integral_floats_only():
    P, R = np.full((2, 2, 2), 0.5), np.zeros((2, 2))
    assert TabularMDP(P, R, horizon=5.0).horizon == 5
    assert TabularMDP(P, R, horizon=np.float64(2.0)).horizon == 2
    for bad in (5.5, float("inf"), float("nan"), 0.0, -3.0):
        with pytest.raises(ValueError, match=r"^horizon: "):
            TabularMDP(P, R, horizon=bad)
    for bad in ("5", True):
        with pytest.raises(TypeError, match=r"^horizon: "):
            TabularMDP(P, R, horizon=bad)


def test_gamma_one_suggests_a_horizon():
    with pytest.raises(ValueError, match=r"^gamma: .*horizon=H"):
        TabularMDP(np.full((2, 1, 2), 0.5), np.zeros((2, 1)), gamma=1.0)


@pytest.mark.parametrize("sparse", [False, True])
def test_transposed_rewards_are_blamed_not_the_kernel(sparse):
    S, A = 4, 2
    P = np.full((S, A, S), 1.0 / S)
    Pin = sp.csr_matrix(P.reshape(S * A, S)) if sparse else P
    with pytest.raises(ValueError, match=r"^R: expected shape \(S, A\) = \(4, 2\).*got \(2, 4\).*transposed"):
        TabularMDP(Pin, np.zeros((A, S)), gamma=0.9)


def test_absurd_sizes_are_refused_before_allocating():
    P, R = np.full((2, 2, 2), 0.5), np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"^horizon: H=1000000000000 .* GiB"):
        TabularMDP(P, R, horizon=10**12)
    with pytest.raises(ValueError, match=r"^horizon: "):
        TabularMDP(sp.csr_matrix(P.reshape(4, 2)), R, horizon=10**13)
    S = 10**6  # a broadcast (strided, zero-byte) kernel whose float64 copy would need ~15 TiB
    with pytest.raises(ValueError, match=r"^P: an array of shape \(1000000, 2, 1000000\)"):
        TabularMDP(np.broadcast_to(np.float32(1e-6), (S, 2, S)), np.zeros((S, 2)), gamma=0.5)
    with pytest.raises(ValueError, match=r"^R: an array of shape"):
        TabularMDP(P, np.broadcast_to(0.0, (10**11, 2)), gamma=0.5)
    phi = np.zeros((2, 1, 2, 1))
    phi[:, :, 0, 0] = 1.0
    with pytest.raises(ValueError, match=r"^horizon: "):
        LinearMixtureMDP(phi, np.ones(1), np.zeros((2, 1)), horizon=10**12)
    with pytest.raises(ValueError, match=r"^horizon: "):
        LatentMDP(np.full((1, 2, 1, 2), 0.5), np.zeros((1, 2, 1)), [1.0], [1.0, 0.0], horizon=10**12)


def test_dense_float64_kernel_is_shared_read_only_unless_copied():
    P = np.full((3, 2, 3), 1.0 / 3)
    m = TabularMDP(P, np.zeros((3, 2)), gamma=0.5)
    assert np.shares_memory(m.P, P) and not m.P.flags.writeable and not P.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        P *= 2.0  # the caller's array is frozen: an in-place change cannot reach the validated model
    P = np.full((3, 2, 3), 1.0 / 3)
    c = TabularMDP(P, np.zeros((3, 2)), gamma=0.5, copy=True)
    assert not np.shares_memory(c.P, P) and np.array_equal(c.P, P)
    f = TabularMDP(P[:, :, ::-1], np.zeros((3, 2)), gamma=0.5)
    assert not np.shares_memory(f.P, P)  # non-contiguous input: converted, hence copied
    with pytest.raises(TypeError, match=r"^copy: "):
        TabularMDP(P, np.zeros((3, 2)), gamma=0.5, copy="yes")


def test_canonical_csr_arrays_are_shared_read_only_unless_copied():
    M = sp.csr_matrix(np.full((6, 3), 1.0 / 3))  # S = 3, A = 2: float64 data, int32 indices, canonical
    m = TabularMDP(M, np.zeros((3, 2)), gamma=0.5)
    ip, ix, d = m.csr_arrays
    assert np.shares_memory(d, M.data) and np.shares_memory(ix, M.indices) and not d.flags.writeable
    assert ip.dtype == np.int64 and np.array_equal(ip, M.indptr)
    assert not M.data.flags.writeable and not M.indices.flags.writeable
    M = sp.csr_matrix(np.full((6, 3), 1.0 / 3))
    c = TabularMDP(M, np.zeros((3, 2)), gamma=0.5, copy=True)
    assert not np.shares_memory(c.csr_arrays[2], M.data) and np.array_equal(c.csr_arrays[2], M.data)
    M64 = M.copy()
    M64.indices = M64.indices.astype(np.int64)  # not the stored index dtype: validated while copied to int32
    ix64 = TabularMDP(M64, np.zeros((3, 2)), gamma=0.5).csr_arrays[1]
    assert ix64.dtype == np.int32 and not np.shares_memory(ix64, M64.indices)


def _dyadic_kernel(S: int, A: int) -> np.ndarray:
    """A kernel whose rows (1/4, 3/4 on two states) sum to exactly 1 in every float dtype."""
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            P[s, a, s], P[s, a, (s + a + 1) % S] = 0.25, 0.75
    return P


def _never_verified(m: TabularMDP) -> None:
    """Every hand-out of ``m``'s kernel works without the O(nnz) check of the caller's memory."""
    import pickle
    from unittest import mock

    with mock.patch.object(TabularMDP, "_verify_shared", side_effect=AssertionError("verified a private kernel")):
        m.csr_arrays, m.P, m.P_csr, m.max_successors, m.with_mu0(1), pickle.loads(pickle.dumps(m))
        solve(m)


@pytest.mark.parametrize("fmt", ["coo", "csc", "bsr", "dia", "lil", "dok"])
@pytest.mark.parametrize("copy", [False, True])
def test_a_kernel_converted_from_another_sparse_format_is_private(fmt, copy):
    """A non-CSR matrix is converted to a CSR matrix of ours: nothing of the caller's is kept, so the model does
    not share memory, freezes none of the caller's arrays and never verifies its kernel; the converted arrays
    are kept as they are (validated in place, not copied a second time)."""
    from unittest import mock

    from rltheory.models import tabular

    S, A = 4, 3
    P = _dyadic_kernel(S, A)
    M = sp.csr_matrix(P.reshape(S * A, S)).asformat(fmt)
    with mock.patch.object(tabular._V, "csr_check_copy", side_effect=AssertionError("copied twice")):
        m = TabularMDP(M, np.zeros((S, A)), gamma=0.5, copy=copy)
    assert m.is_sparse and not m.shares_memory and np.array_equal(m.P, P)
    for a in (getattr(M, "data", None), getattr(M, "indices", None), getattr(M, "offsets", None)):
        assert not isinstance(a, np.ndarray) or a.flags.writeable
    _never_verified(m)


@pytest.mark.parametrize("copy", [False, True])
def test_shares_memory_exactly_when_a_callers_dense_array_is_kept(copy):
    S, A = 4, 3
    P = _dyadic_kernel(S, A)
    m = TabularMDP(P, np.zeros((S, A)), gamma=0.5, copy=copy)
    assert m.shares_memory is (not copy) and np.shares_memory(m.P, P) is (not copy)
    for other in (P.astype(np.float32), P.astype(np.float16), P.tolist(), tuple(P.tolist()), np.asfortranarray(P)):
        m = TabularMDP(other, np.zeros((S, A)), gamma=0.5, copy=copy)
        assert not m.shares_memory and np.array_equal(m.P, P)
        _never_verified(m)
        if isinstance(other, np.ndarray):
            assert other.flags.writeable


@pytest.mark.parametrize("copy", [False, True])
def test_a_callers_csr_kernel_is_shared_and_verified_unless_copied(copy):
    from unittest import mock

    S, A = 4, 3
    M = sp.csr_matrix(_dyadic_kernel(S, A).reshape(S * A, S))
    m = TabularMDP(M, np.zeros((S, A)), gamma=0.5, copy=copy)
    assert m.shares_memory is (not copy) and M.data.flags.writeable is copy
    if copy:
        _never_verified(m)
        return
    with mock.patch.object(TabularMDP, "_verify_shared", autospec=True) as verify:
        m.csr_arrays
    assert verify.call_count == 1
    # float32 data is converted (ours, left writable), the int32 indices are still the caller's
    M32 = sp.csr_matrix(_dyadic_kernel(S, A).reshape(S * A, S).astype(np.float32))
    m32 = TabularMDP(M32, np.zeros((S, A)), gamma=0.5)
    assert m32.shares_memory and M32.data.flags.writeable and not M32.indices.flags.writeable


@pytest.mark.parametrize("sparse", [False, True])
def test_derived_models_share_memory_exactly_when_their_origin_does(sparse):
    """A model derived from another (new rewards or mu0, unpickled, copied, converted) keeps the caller's memory
    only when its origin does: a private kernel stays private and unverified."""
    import copy
    import pickle

    S, A = 4, 3
    P = _dyadic_kernel(S, A)
    given = sp.csr_matrix(P.reshape(S * A, S)) if sparse else P
    shared = TabularMDP(given, np.zeros((S, A)), gamma=0.5)
    private = TabularMDP(given, np.zeros((S, A)), gamma=0.5, copy=True)
    assert shared.shares_memory and not private.shares_memory
    assert shared.with_rewards(np.ones((S, A))).shares_memory and shared.with_mu0(1).shares_memory
    assert copy.copy(shared) is shared
    for m in (shared, private):
        for d in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m), m.to_dense() if sparse else m.to_sparse()):
            assert not d.shares_memory and np.array_equal(d.P, P)
            _never_verified(d)
    for d in (private.with_rewards(np.ones((S, A))), private.with_mu0(1)):
        assert not d.shares_memory and np.array_equal(d.P, P)
        _never_verified(d)


def test_in_place_changes_after_sharing_raise_and_leave_the_model_intact():
    rng = np.random.default_rng(3)
    S, A = 6, 2
    dense = rng.dirichlet(np.ones(S), size=S * A)
    dense[dense < 0.1] = 0.0
    dense /= dense.sum(axis=1, keepdims=True)
    M = sp.csr_matrix(dense)
    M.data[0] = 0.0  # an explicit zero that eliminate_zeros would compact away (moving every later entry)
    M.data[1] += dense[0, M.indices[0]]
    before = M.toarray()
    m = TabularMDP(M, np.zeros((S, A)), gamma=0.9)
    V = solve(m).V
    for op in (M.eliminate_zeros, lambda: M.__imul__(0.5), lambda: M.indices.__setitem__(0, S + 5)):
        with pytest.raises(ValueError, match="read-only"):
            op()
    assert np.array_equal(M.toarray(), before) and np.array_equal(solve(m).V, V)
    # a view of an array NumPy owns: the whole chain is frozen, so the base cannot be written either
    base = np.full(S * A * S, 1.0 / S)
    d = TabularMDP(base.reshape(S, A, S), np.zeros((S, A)), gamma=0.9)
    assert np.shares_memory(d.P, base) and not base.flags.writeable
    # memory NumPy does not own could be written by its owner: copied, and the owner stays writable
    buf = bytearray(base.tobytes())
    b = TabularMDP(np.frombuffer(buf).reshape(S, A, S), np.zeros((S, A)), gamma=0.9)
    buf[:8] = np.float64(5.0).tobytes()
    assert np.array_equal(b.P, base.reshape(S, A, S))


def _stochastic(rng, S, A):
    return rng.dirichlet(np.ones(S), size=(S, A))


def test_a_failed_construction_leaves_the_callers_arrays_writable():
    rng = np.random.default_rng(4)
    P = _stochastic(rng, 4, 2)
    M = sp.csr_matrix(P.reshape(8, 4))
    for bad in ({"mu0": [2.0, -1.0, 0.0, 0.0]}, {"name": 3}):
        with pytest.raises((TypeError, ValueError)):
            TabularMDP(P, np.zeros((4, 2)), gamma=0.9, **bad)
        with pytest.raises((TypeError, ValueError)):
            TabularMDP(M, np.zeros((4, 2)), gamma=0.9, **bad)
    assert P.flags.writeable and M.data.flags.writeable and M.indices.flags.writeable


def test_only_whole_plain_numpy_buffers_are_shared():
    rng = np.random.default_rng(5)
    S, A = 4, 2
    stack = np.empty((3, S, A, S))
    models = []
    for k in range(3):  # filling one slice per model: the other slices stay writable
        stack[k] = _stochastic(rng, S, A)
        models.append(TabularMDP(stack[k], np.zeros((S, A)), gamma=0.9))
    assert stack.flags.writeable and not any(np.shares_memory(m.P, stack) for m in models)

    class Sub(np.ndarray):
        pass

    owner = _stochastic(rng, S, A)
    m = TabularMDP(owner.view(Sub), np.zeros((S, A)), gamma=0.9)
    owner[0, 0, :] = 0.0  # a subclass view is copied, so its owner stays writable and the model its own
    assert owner.flags.writeable and np.allclose(m.P.sum(axis=-1), 1.0)


_REVIVE = """
import numpy as np, scipy.sparse as sp
from rltheory import TabularMDP
from rltheory.solvers import solve
rng = np.random.default_rng(6)
S, A, k = 50, 3, 4
flat = np.concatenate([np.sort(rng.choice(S, k, replace=False)) for _ in range(S * A)]).astype(np.int32)
view = flat.reshape(S * A, k)  # a view taken before construction stays writable
w = rng.dirichlet(np.ones(k), size=S * A).ravel()
M = sp.csr_matrix((w, flat, np.arange(0, S * A * k + 1, k)), shape=(S * A, S))
m = TabularMDP(M, np.zeros((S, A)), gamma=0.9)
solve(m)
{write}
try:
    solve(m)
except ValueError as exc:
    print("REFUSED", str(exc)[:3])
"""


@pytest.mark.parametrize("write", [
    "view[:, -1] = 2**30",
    "root = M.indices\nwhile root.base is not None: root = root.base\nroot.flags.writeable = True\nroot[:] = 2**30",
    "root = M.data\nwhile root.base is not None: root = root.base\nroot.flags.writeable = True",
])
def test_a_shared_kernel_changed_behind_the_models_back_is_refused_not_read(write):
    code = _REVIVE.format(write=write.replace("\\n", "\n"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "REFUSED P:"


def test_a_dense_owner_made_writable_again_is_refused():
    rng = np.random.default_rng(7)
    P = _stochastic(rng, 5, 2)
    m = TabularMDP(P, np.zeros((5, 2)), gamma=0.9)
    P.flags.writeable = True  # NumPy allows this on the array that owns the memory
    with pytest.raises(ValueError, match=r"^P: .*copy=True"):
        solve(m)


def test_a_resized_owner_is_refused_or_still_read_in_place():
    """Growing the array that owns a shared kernel's memory and shrinking it back restores its size; when the memory
    moved meanwhile, the model's views would read freed memory, so the kernel is refused; when it did not move, the
    model still reads the validated numbers."""
    rng = np.random.default_rng(9)
    P = _stochastic(rng, 64, 4)  # 128 KiB: large enough for the allocator to move it on growth
    before = P.copy()
    m = TabularMDP(P, np.zeros((64, 4)), gamma=0.9)
    addr = P.__array_interface__["data"][0]
    P.resize(P.size * 64, refcheck=False)  # NumPy resizes a read-only owner
    P.resize(before.shape, refcheck=False)
    if P.__array_interface__["data"][0] != addr:
        with pytest.raises(ValueError, match=r"^P: .*resized"):
            solve(m)
    else:
        assert np.array_equal(m.P, before)


@pytest.mark.parametrize("defect", ["none", "R_ndim", "copy_type", "idx_high", "indptr_short", "neg", "R_vs_P",
                                    "dense_P"])
def test_a_non_finite_reward_is_named_before_any_later_defect(defect):
    """A float64 R is checked for finiteness in the CSR check's compiled call (after P's Python-level checks); its
    error must still come first, as when it is checked on entry."""
    rng = np.random.default_rng(3)
    S, A = 6, 2
    M = sp.csr_matrix(rng.dirichlet(np.ones(S), size=S * A))
    R = rng.random((S, A))
    R[4, 1] = np.inf
    kw = {"gamma": 0.9}
    P = M
    if defect == "R_ndim":
        R = R.reshape(-1)
    elif defect == "copy_type":
        kw["copy"] = "no"
    elif defect == "idx_high":
        P.indices[3] = S
    elif defect == "indptr_short":
        P = M.copy()
        P.indptr = M.indptr[:-1].copy()
    elif defect == "neg":
        P.data[0] = -0.5
    elif defect == "R_vs_P":
        R = np.concatenate([R, R], axis=1)
    elif defect == "dense_P":
        P = M.toarray().reshape(S, A, S)[:, :, :-1]
    assert R.dtype == np.float64 and R.flags.c_contiguous and R.flags.writeable
    where = "(9,)" if defect == "R_ndim" else "(4, 1)"
    with pytest.raises(ValueError, match="^" + re.escape(f"R: non-finite value inf at index {where}")):
        TabularMDP(P, R, **kw)


def test_rewards_checked_with_a_shared_kernel_are_copied():
    rng = np.random.default_rng(4)
    S, A = 7, 3
    M = sp.csr_matrix(rng.dirichlet(np.ones(S), size=S * A))
    R = rng.random((S, A))
    m = TabularMDP(M, R, gamma=0.5)
    assert m.shares_memory and not np.shares_memory(m.R, R) and np.array_equal(m.R, R)
    assert R.flags.writeable and not m.R.flags.writeable
    R[0, 0] = 7.0
    assert m.R[0, 0] != 7.0


def test_threaded_check_checks_and_copies_the_rewards(monkeypatch):
    """The threaded route of ``csr_check_shared`` checks the rewards apart from the rows: same answers."""
    from rltheory.models import _validate as V

    rng = np.random.default_rng(5)
    S, A = 5, 2
    M = sp.csr_matrix(rng.dirichlet(np.ones(S), size=S * A))
    monkeypatch.setattr(V, "csr_check_threads", lambda nnz: 2)
    R = rng.random(S * A)
    out = np.empty_like(R)
    assert V.csr_check_shared(M.indptr, M.indices, M.data, S, 1e-9, R, out) == V.SHARED_OK
    assert np.array_equal(out, R)
    R[6] = np.nan
    assert V.csr_check_shared(M.indptr, M.indices, M.data, S, 1e-9, R, out) == 6
    R[6] = 0.0
    M.data[0] += 0.5
    assert V.csr_check_shared(M.indptr, M.indices, M.data, S, 1e-9, R, out) == V.SHARED_REJECTED


def test_non_canonical_csr_is_stored_as_scipy_canonicalises_it():
    rng = np.random.default_rng(1)
    S, A = 5, 3
    dense = rng.dirichlet(np.ones(S), size=S * A)
    M = sp.csr_matrix(dense)
    # reverse every row and split its first entry in two (duplicates, unsorted): the same kernel
    ix, dt, ptr = [], [], [0]
    for r in range(S * A):
        cols, vals = M.indices[M.indptr[r]:M.indptr[r + 1]][::-1], M.data[M.indptr[r]:M.indptr[r + 1]][::-1]
        ix += [cols[0]] + list(cols)
        dt += [vals[0] / 2] + [vals[0] / 2] + list(vals[1:])
        ptr.append(len(ix))
    raw = sp.csr_matrix((np.array(dt), np.array(ix), np.array(ptr)), shape=(S * A, S))
    ref = raw.copy()
    ref.sum_duplicates()
    ref.sort_indices()
    m = TabularMDP(raw, rng.random((S, A)), gamma=0.9)
    ip, ixs, d = m.csr_arrays
    assert np.array_equal(ip, ref.indptr) and np.array_equal(ixs, ref.indices) and np.array_equal(d, ref.data)


def test_unusual_sparse_dtypes():
    S, A = 3, 1
    M = sp.csr_matrix(np.full((S * A, S), 1.0 / S))
    for dtype in (np.float32, np.int8, np.uint16):  # exact 0/1 kernels in other dtypes
        m = TabularMDP(sp.csr_matrix(np.eye(S)).astype(dtype), np.zeros((S, A)), gamma=0.5)
        assert m.P.dtype == np.float64 and np.array_equal(m.P[:, 0], np.eye(S))
    with pytest.raises(TypeError, match=r"^P: "):
        TabularMDP(M.astype(bool), np.zeros((S, A)), gamma=0.5)


def test_corrupt_csc_coo_and_uint64_indices_are_refused_cleanly():
    out = _run_isolated("""
        import numpy as np, scipy.sparse as sp
        from rltheory import TabularMDP
        S, A = 4, 2
        base = sp.csr_matrix(np.full((S * A, S), 1.0 / S))
        cases = []
        C = base.copy().tocsc(); C.indices[3] = 50; cases.append(C)
        C = base.copy().tocsc(); C.indptr[2] = 1; cases.append(C)
        C = base.copy().tocsc(); C.indptr[-1] = 10**6; cases.append(C)
        C = base.copy().tocoo(); C.col[5] = -2; cases.append(C)
        C = base.copy().tocoo(); C.row[5] = 99; cases.append(C)
        C = base.copy(); C.indices = C.indices.astype(np.uint64); C.indices[1] = np.uint64(2**63 + 5); cases.append(C)
        for C in cases:
            try:
                TabularMDP(C, np.zeros((S, A)), gamma=0.5)
                print("ACCEPTED")
            except ValueError as e:
                print(str(e).split(":")[0])
    """)
    assert out.returncode == 0, out
    # (the uint64 index wraps negative when cast to int64: still out of range, not a crash)
    assert out.stdout.split() == ["P"] * 6, out


def test_lp_solver_failure_is_a_clear_error(monkeypatch):
    import cvxpy as cp

    def fail(self, *args, **kwargs):
        raise cp.error.SolverError("Solver 'HIGHS' failed.")

    monkeypatch.setattr(cp.Problem, "solve", fail)
    m = TabularMDP(np.full((2, 2, 2), 0.5), np.ones((2, 2)) * 1e6, gamma=0.9)
    with pytest.raises(RuntimeError, match=r"^method: 'lp' failed: the LP solver \w+ gave up .*method='pi'"):
        solve(m, method="lp")


def test_lp_method_prints_nothing():
    # HiGHS prints its banner from C++ when the first solver object of a process is made: a fresh process
    out = _run_isolated("""
        import numpy as np
        from rltheory import TabularMDP
        from rltheory.solvers import solve
        rng = np.random.default_rng(0)
        m = TabularMDP(rng.dirichlet(np.ones(4), size=(4, 2)), rng.random((4, 2)), gamma=0.9)
        f = TabularMDP(rng.dirichlet(np.ones(4), size=(3, 4, 2)), rng.random((4, 2)), horizon=3)
        r1, r2 = solve(m, method="lp"), solve(f, method="lp")
        assert np.abs(r1.V - solve(m, method="pi").V).max() < 1e-6 and np.abs(r2.V - solve(f).V).max() < 1e-6
        print("END")
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "END\n", out.stdout


def _max_return_reference(P, R3, H):
    W = np.zeros(P.shape[0])
    for h in range(H - 1, -1, -1):
        nxt = np.where(P > 0, W[None, None, :], -np.inf).max(axis=2)
        W = (R3[h if R3.shape[0] > 1 else 0] + nxt).max(axis=1)
    return W


def test_compiled_max_plus_dps_match_numpy():
    rng = np.random.default_rng(3)
    for _ in range(40):
        S, A, H, M = (int(rng.integers(1, n)) for n in (6, 4, 7, 3))
        P = rng.dirichlet(np.full(S, 0.3), size=(M, S, A))
        P[P < 0.1] = 0.0
        P /= P.sum(axis=-1, keepdims=True)
        R3 = rng.random((int(rng.choice([1, H])), S, A))
        assert np.array_equal(max_total_reward(P[0], R3, H), _max_return_reference(P[0], R3, H))
        R = rng.random((M, S, A))
        mu0 = rng.dirichlet(np.ones(S), size=M)
        L = LatentMDP(P, R, np.full(M, 1.0 / M), mu0, horizon=H)
        ref = max(float(_max_return_reference(P[m], R[m][None], H)[mu0[m] > 0].max()) for m in range(M))
        assert L.max_return == ref


def test_a_finite_horizon_planner_keeps_its_own_indices_of_a_shared_kernel():
    from rltheory.solvers.workspace import FiniteHorizonPlanner

    rng = np.random.default_rng(8)
    S, A, H = 5, 2, 4
    M = sp.csr_matrix(rng.dirichlet(np.ones(S), size=S * A))
    m = TabularMDP(M, rng.random((S, A)), horizon=H)
    assert m.shares_memory and not TabularMDP(M, np.zeros((S, A)), horizon=H, copy=True).shares_memory
    planner = FiniteHorizonPlanner(m)
    planner.plan()
    Q = planner.Q.copy()
    owner = M.indices
    while owner.base is not None:
        owner = owner.base
    owner.flags.writeable = True
    owner[0] = S  # out of range, then hidden again
    owner.flags.writeable = False
    planner.plan()
    assert np.array_equal(planner.Q, Q)
    with pytest.raises(ValueError, match=r"^P: "):
        solve(m)


# ------------------------------------------------------------------ every scipy format checked before conversion
_CORRUPT_FORMATS = """
    import numpy as np, scipy.sparse as sp
    from rltheory import TabularMDP
    D = np.eye(3)[[0, 1, 2, 0, 1, 2]]  # a valid (S*A, S) kernel: S = 3, A = 2
    R = np.zeros((3, 2))

    def bsr(**kw):
        return sp.bsr_matrix(D, blocksize=(2, 1), **kw)

    def edit(M, **attrs):
        for k, v in attrs.items():
            if callable(v):
                v(M)
            else:
                setattr(M, k, v)
        return M

    def setitem(name, i, value):
        return lambda M: getattr(M, name).__setitem__(i, value)

    def dok_key(key, value=1.0):
        M = sp.dok_matrix(D)
        dict.__setitem__(M._dict if hasattr(M, "_dict") else M, key, value)
        return M

    lil = lambda: sp.lil_matrix(D)
    cases = {
        "bsr_indptr_past_end": edit(bsr(), f=setitem("indptr", -1, 10**6)),
        "bsr_indptr_negative": edit(bsr(), f=setitem("indptr", 1, -100)),
        "bsr_indptr_decreases": edit(bsr(), f=setitem("indptr", 2, 0)),
        "bsr_indptr_short": edit(bsr(), indptr=bsr().indptr[:-1]),
        "bsr_indptr_start": edit(bsr(), f=setitem("indptr", 0, 1)),
        "bsr_block_col_high": edit(bsr(), f=setitem("indices", 0, 7)),
        "bsr_block_col_negative": edit(bsr(), f=setitem("indices", 0, -1)),
        "bsr_small_blocks": edit(bsr(), data=np.ones((bsr().data.shape[0], 1, 1))),
        "bsr_blocks_not_tiling": edit(bsr(), data=np.ones((bsr().data.shape[0], 4, 1))),
        "bsr_2d_data": edit(bsr(), data=np.ones((bsr().data.shape[0], 2))),
        "bsr_object_data": edit(bsr(), data=bsr().data.astype(object)),
        "bsr_float_indices": edit(bsr(), indices=bsr().indices.astype(float)),
        "bsr_fewer_blocks": edit(bsr(), data=bsr().data[:2]),
        "dia_offsets_short": edit(sp.dia_matrix(D), offsets=sp.dia_matrix(D).offsets[:1]),
        "dia_offsets_long": edit(sp.dia_matrix(D), offsets=np.arange(5)),
        "dia_offsets_2d": edit(sp.dia_matrix(D), offsets=sp.dia_matrix(D).offsets[:, None]),
        "dia_offsets_float": edit(sp.dia_matrix(D), offsets=sp.dia_matrix(D).offsets.astype(float)),
        "dia_offsets_repeat": edit(sp.dia_matrix(D), offsets=np.zeros(2, int)),
        "dia_1d_data": edit(sp.dia_matrix(D), data=np.ones(3)),
        "lil_data_short": edit(lil(), data=lil().data[:2]),
        "lil_rows_short": edit(lil(), rows=lil().rows[:2]),
        "lil_row_lengths_differ": edit(lil(), f=lambda M: M.data[1].append(0.5)),
        "lil_col_high": edit(lil(), f=lambda M: M.rows[1].__setitem__(0, 9)),
        "lil_col_negative": edit(lil(), f=lambda M: M.rows[4].__setitem__(0, -4)),
        "lil_col_float": edit(lil(), f=lambda M: M.rows[1].__setitem__(0, 1.5)),
        "lil_row_not_a_list": edit(lil(), f=lambda M: M.rows.__setitem__(2, 5)),
        "lil_object_values": edit(lil(), f=lambda M: M.data[2].__setitem__(0, "x")),
        "dok_key_out_of_range": dok_key((1, 7)),
        "dok_key_negative": dok_key((-1, 0)),
        "dok_key_float": dok_key((1, 1.5)),
        "dok_key_triple": dok_key((1, 1, 1)),
        "csc_2d_data": edit(sp.csc_matrix(D), data=np.ones((6, 2))),
        "csc_object_data": edit(sp.csc_matrix(D), data=np.ones(6, object)),
        "coo_object_data": edit(sp.coo_matrix(D), data=np.ones(6, object)),
        "coo_2d_data": edit(sp.coo_matrix(D), data=np.ones((6, 2))),
        "coo_three_coords": edit(sp.coo_array(D), coords=sp.coo_array(D).coords + (np.zeros(6, np.int32),)),
        "coo_array_3d": (sp.coo_array(np.full((2, 1, 2), 0.5)), np.zeros((2, 1))),
        "coo_array_1d": (sp.coo_array(np.full(2, 0.5)), np.zeros((2, 1))),
        "csr_array_1d": (sp.csr_array(np.full(2, 0.5)), np.zeros((2, 1))),
    }
    for name, case in cases.items():
        P, RR = case if isinstance(case, tuple) else (case, R)
        try:
            TabularMDP(P, RR, gamma=0.5)
            print(name, "ACCEPTED", flush=True)
        except (ValueError, TypeError) as e:
            print(name, "clean" if str(e).startswith("P: ") else f"unprefixed:{type(e).__name__}:{e}", flush=True)
        except Exception as e:
            print(name, f"other:{type(e).__name__}:{e}", flush=True)
    print("DONE")
"""


def test_corrupt_sparse_matrices_of_every_format_are_refused_cleanly():
    # BSR / DIA / LIL went straight to scipy's conversion (segfault, abort, heap corruption, silent misread);
    # CSC / COO had unprefixed errors; n-D and 1-D sparse arrays failed to unpack their shape
    out = _run_isolated(_CORRUPT_FORMATS)
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0 and lines and lines[-1] == "DONE", (out.returncode, lines[-3:], out.stderr[-3000:])
    bad = [ln for ln in lines[:-1] if not ln.endswith(" clean")]
    assert not bad, bad


def _sparse_forms(M):
    """The same matrix in every scipy format (matrix and array classes), BSR with each block shape that tiles it."""
    rows, cols = M.shape
    forms = {f"{f}_{kind}": getattr(sp, f"{f}_{kind}")(M) for f in ("csc", "coo", "dia", "lil", "dok", "bsr")
             for kind in ("matrix", "array")}
    for br in (b for b in (1, 2, 3) if rows % b == 0):
        for bc in (b for b in (1, 2) if cols % b == 0):
            forms[f"bsr_{br}x{bc}"] = sp.bsr_matrix(M, blocksize=(br, bc))
    return forms


@settings(deadline=None, max_examples=25, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_valid_matrices_of_every_format_give_the_csr_model(data):
    from rltheory.testing import transition_kernels
    S, A = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3))
    P = data.draw(transition_kernels(S, A, max_successors=data.draw(st.integers(1, S))))
    R = np.arange(S * A, dtype=float).reshape(S, A)
    ref = TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), R, gamma=0.9)
    for name, M in _sparse_forms(sp.csr_matrix(P.reshape(S * A, S))).items():
        m = TabularMDP(M, R, gamma=0.9)
        assert m.is_sparse and np.array_equal(m.P, ref.P), name
        assert np.array_equal(solve(m).V, solve(ref).V), name


def test_unusual_but_valid_sparse_structures_are_read_as_scipy_reads_them():
    D = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    R = np.zeros((3, 2))
    ref = TabularMDP(D.reshape(3, 2, 3), R, gamma=0.5)
    # DIA: diagonals lying outside the matrix, unsigned and narrow offsets, explicit zeros as padding
    def with_outside_diagonal(M, dtype, extra):
        E = sp.dia_matrix((np.vstack([M.data, np.ones((1, M.data.shape[1]))]),
                           np.append(M.offsets, 50)), shape=M.shape)
        E.offsets = E.offsets.astype(dtype)  # (scipy stores its own index dtype)
        E.offsets[-1] = extra  # a diagonal beyond the matrix holds no entry
        return E

    M = sp.dia_matrix(D)
    for dtype, extra in ((np.int64, 10**12), (np.int64, -(10**12)), (np.int8, -100)):
        assert np.array_equal(TabularMDP(with_outside_diagonal(M, dtype, extra), R, gamma=0.5).P, ref.P), dtype
    shift = np.eye(3)[[1, 2, 2]]  # offsets 0 and 1 only, so unsigned offsets can hold them
    E = with_outside_diagonal(sp.dia_matrix(shift), np.uint64, 2**63 + 7)
    assert np.array_equal(TabularMDP(E, np.zeros((3, 1)), gamma=0.5).P[:, 0], shift)
    # BSR / CSC / LIL whose arrays hold more stored entries than the pointers use
    B = sp.bsr_matrix(D, blocksize=(2, 1))
    B.data = np.concatenate([B.data, np.full((2, 2, 1), 7.0)])
    B.indices = np.concatenate([B.indices, [0, 0]]).astype(B.indices.dtype)
    assert np.array_equal(TabularMDP(B, R, gamma=0.5).P, ref.P)
    C = sp.csc_matrix(D)
    C.data, C.indices = np.append(C.data, 9.0), np.append(C.indices, 0).astype(C.indices.dtype)
    assert np.array_equal(TabularMDP(C, R, gamma=0.5).P, ref.P)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bsr", "dia"])
def test_non_native_byte_order_is_converted(fmt):
    S, A = 4, 2
    P = np.random.default_rng(1).dirichlet(np.ones(S), size=S * A)
    P[P < 0.2] = 0.0
    P /= P.sum(axis=1, keepdims=True)
    R = np.ones((S, A))
    M = getattr(sp, f"{fmt}_matrix")(P)
    for name in ("indptr", "indices", "row", "col", "offsets", "data"):
        if name in ("row", "col") and fmt != "coo":
            continue
        arr = getattr(M, name, None)
        if isinstance(arr, np.ndarray):
            setattr(M, name, arr.astype(arr.dtype.newbyteorder(">" if np.little_endian else "<")))
    m = TabularMDP(M, R, gamma=0.5)
    assert np.allclose(m.P.reshape(S * A, S), P, rtol=0, atol=1e-15)
    assert np.array_equal(m.P, TabularMDP(sp.csr_matrix(P), R, gamma=0.5).P)


# ------------------------------------------------------------------ nested sequences: the documented rule
def _swap_kernel():
    """A rectangular (2, 2, 2, 2) nested list that also reads as a successor list (next states [0, 1], probs
    [1, 0]) and as a valid dense kernel (H=2, S=2, A=2)."""
    Pi = np.zeros((2, 2, 2, 2), int)
    Pi[..., 0, :] = [0, 1]
    Pi[..., 1, :] = [1, 0]
    return Pi


@pytest.mark.parametrize("dtype", [int, float])
def test_a_rectangular_numeric_nested_list_is_a_dense_kernel_under_any_horizon(dtype):
    Pi = _swap_kernel().astype(dtype)
    R = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"^P: leading dimension 2 differs from horizon 3 .*tuples"):
        TabularMDP(Pi.tolist(), R, horizon=3)
    with pytest.raises(ValueError, match=r"^P: a time-dependent kernel \(H, S, A, S\) needs a finite horizon"):
        TabularMDP(Pi.tolist(), R, gamma=0.5)
    m = TabularMDP(Pi.tolist(), R, horizon=2)
    assert not m.is_sparse and not m.shares_memory and np.array_equal(m.P, Pi)


def test_tuple_pairs_mark_a_successor_list_whatever_its_shape():
    R = np.zeros((2, 2))
    # the same numbers as _swap_kernel, its pairs written as tuples: a successor list, under any timing
    succ = [[tuple(pair) for pair in row] for row in _swap_kernel().tolist()]
    for kw in ({"horizon": 3}, {"horizon": 2}, {"gamma": 0.5}):
        m = TabularMDP(succ, R, **kw)
        assert m.is_sparse and np.array_equal(m.P, np.broadcast_to([1.0, 0.0], (2, 2, 2))), kw
    # a deterministic successor list is always rectangular: tuples keep it one, lists make it a (refused) array
    det = [[([1], [1.0]), ([0], [1.0])], [([0], [1.0]), ([1], [1.0])]]
    assert TabularMDP(det, R, gamma=0.5).P[0, 0, 1] == 1.0
    with pytest.raises(ValueError, match=r"^P: .*write the entries of a successor list as tuples"):
        TabularMDP([[list(p) for p in row] for row in det], R, gamma=0.5)
    # a ragged successor list is one with list pairs too
    ragged = [[[[0, 1], [0.5, 0.5]], [[1], [1.0]]], [[[0], [1.0]], [[1], [1.0]]]]
    assert TabularMDP(ragged, R, gamma=0.5).P[0, 0, 1] == 0.5
    # a dense kernel written as nested tuples: P[0][0] is a tuple of numbers, not of two sequences
    P = np.full((2, 2, 2), 0.5)
    m = TabularMDP(tuple(tuple(tuple(r) for r in x) for x in P), R, gamma=0.5)
    assert not m.is_sparse and np.array_equal(m.P, P)


def test_successor_list_errors_start_with_the_field_then_the_pair():
    R = np.zeros((2, 1))
    with pytest.raises(TypeError, match=r"^P: successor list entry for s=1 .*got int"):
        TabularMDP([[([0], [1.0])], 5], R, gamma=0.5)
    with pytest.raises(ValueError, match=r"^P: non-finite value nan in transition row \(s=1, a=0\) at s'=1$"):
        TabularMDP([[([0], [1.0])], [([1], [np.nan])]], R, gamma=0.5)
    with pytest.raises(TypeError, match=r"^P: \(s=0, a=0\) probabilities: "):
        TabularMDP([[([0], ["x"])], [([1], [1.0])]], R, gamma=0.5)
    with pytest.raises(TypeError, match=r"^P: next states of \(s=0, a=0\)"):
        TabularMDP([[([[0], [0, 1]], [1.0])], [([1], [1.0])]], R, gamma=0.5)


# ---------------------------------------------------------------------------------------------- every route verifies
# Each public route that reads a kernel kept without a copy (the dense ``_P`` or the shared CSR arrays), and the
# view a FiniteHorizonPlanner keeps, must check the caller's owning array first: after it was resized (its memory
# freed and moved) reading the kept views would read freed memory (a segfault on large kernels), and after it was
# made writable again the entries may no longer be the validated ones.

_ROUTES = ["P_csr", "csr_arrays", "max_successors", "with_rewards", "with_mu0", "to_sparse", "to_dense", "solve_lp",
           "evaluate", "occupancy", "occupancy_finite", "planner"]

_ROUTE_SCRIPT = """
import sys, numpy as np, scipy.sparse as sp
from rltheory import TabularMDP
from rltheory.solvers import FiniteHorizonPlanner, evaluate, occupancy, solve
kind, change = sys.argv[1], sys.argv[2]
S, A = 256, 8  # 4 MiB: a resize moves the memory and unmaps the old block
rng = np.random.default_rng(0)
D = rng.dirichlet(np.ones(S), size=(S, A))
if kind == "dense":
    P = D
    root = P
else:
    P = sp.csr_matrix(D.reshape(S * A, S))
    root = P.data
    while root.base is not None:
        root = root.base
m = TabularMDP(P, np.zeros((S, A)), gamma=0.5)
mf = TabularMDP(P, np.zeros((S, A)), horizon=3)
assert m.shares_memory and mf.shares_memory
planner = FiniteHorizonPlanner(mf)
planner.plan()
pol = np.zeros(S, dtype=int)
routes = {
    "P_csr": lambda: m.P_csr, "csr_arrays": lambda: m.csr_arrays, "max_successors": lambda: m.max_successors,
    "with_rewards": lambda: m.with_rewards(np.ones((S, A))), "with_mu0": lambda: m.with_mu0(1),
    "to_sparse": lambda: m.to_sparse().P_csr, "to_dense": lambda: m.to_dense().P_csr,
    "solve_lp": lambda: solve(m, method="lp"), "evaluate": lambda: evaluate(m, pol),
    "occupancy": lambda: occupancy(m, pol), "occupancy_finite": lambda: occupancy(mf, pol),
    "planner": lambda: planner.plan(),
}
addr = root.__array_interface__["data"][0]
if change == "resize":
    n = root.size
    root.resize(n * 16, refcheck=False)
    root.resize(n, refcheck=False)
    print("MOVED" if root.__array_interface__["data"][0] != addr else "STAYED", flush=True)
else:
    root.setflags(write=True)
    root[:] = -root  # every entry negative
    print("MOVED", flush=True)
for name, call in routes.items():
    print(name, end=" ", flush=True)  # the last name printed is the route that crashed, if one does
    try:
        call()
    except ValueError as exc:
        print("REFUSED" if str(exc).startswith("P: ") else "OTHER " + str(exc)[:80], flush=True)
    else:
        print("READ", flush=True)
"""


def _route_outcomes(kind: str, change: str) -> tuple[bool, dict]:
    out = _run_isolated(_ROUTE_SCRIPT.replace("sys.argv[1], sys.argv[2]", f"{kind!r}, {change!r}"), timeout=600)
    assert out.returncode == 0, f"crashed ({out.returncode}) after: {out.stdout[-300:]}\n{out.stderr[-2000:]}"
    lines = out.stdout.split()
    moved = lines[0] == "MOVED"
    outcomes = dict(zip(lines[1::2], lines[2::2]))
    assert set(outcomes) == set(_ROUTES), out.stdout
    return moved, outcomes


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_every_route_refuses_a_shared_kernel_whose_owner_was_resized(kind):
    """``P.resize`` on the owner (NumPy allows it on a read-only array) frees the memory the model's views read:
    each route refuses with ``P: ...`` instead of reading it (which segfaulted on the dense routes and the
    planner); should the allocator grow the block in place, nothing is freed and every route reads as before."""
    moved, outcomes = _route_outcomes(kind, "resize")
    want = "REFUSED" if moved else "READ"
    assert outcomes == dict.fromkeys(_ROUTES, want)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_every_route_refuses_a_shared_kernel_whose_owner_was_made_writable(kind):
    """An owner made writable again and then written (here: negative entries) is refused by every route, as by
    ``m.P``, instead of letting e.g. ``occupancy`` return a result computed from the negative rows."""
    _, outcomes = _route_outcomes(kind, "writable")
    assert outcomes == dict.fromkeys(_ROUTES, "REFUSED")


def test_a_shared_kernel_is_still_read_when_nothing_changed():
    """The checks refuse nothing valid: the routes of a shared kernel match those of its private copy."""
    from rltheory.solvers import FiniteHorizonPlanner
    from rltheory.solvers.api import evaluate, occupancy

    rng = np.random.default_rng(11)
    S, A = 6, 3
    for P in (_stochastic(rng, S, A), sp.csr_matrix(_stochastic(rng, S, A).reshape(S * A, S))):
        R = rng.random((S, A))
        m, c = TabularMDP(P, R, gamma=0.5), TabularMDP(P, R, gamma=0.5, copy=True)
        assert m.shares_memory and not c.shares_memory
        assert (m.P_csr != c.P_csr).nnz == 0 and m.max_successors == c.max_successors
        pol = np.arange(S) % A
        assert np.array_equal(evaluate(m, pol)[0], evaluate(c, pol)[0])
        assert np.array_equal(occupancy(m, pol), occupancy(c, pol))
        assert np.array_equal(m.with_mu0(2).P, c.P) and np.array_equal(m.to_sparse().P, c.P)
        mf = TabularMDP(P, m.R, horizon=4)
        assert np.array_equal(FiniteHorizonPlanner(mf).plan()[0], solve(mf).V)


# ------------------------------------------------------------------ second review: order, keys, huge numbers
def _verdict(make):
    try:
        make()
        return "ok"
    except ValueError as exc:
        return str(exc)


def test_verdict_does_not_depend_on_entry_order_or_duplicates():
    """A row is judged on its canonical form (columns increasing, duplicates summed), as its dense form is: the same
    row listed out of order or with a column split in two gets the same verdict in every input form."""
    R = np.zeros((3, 1))
    a, b, c = 0.3788644226541457, 0.1989690781950476, 0.4221665001508066  # in column order: within 1e-9 of 1
    D = np.zeros((3, 1, 3))
    D[:, 0] = [a, b, c]
    forms = [lambda: TabularMDP(D, R, gamma=0.5),
             lambda: TabularMDP([[((0, 2, 1), (a, c, b))]] * 3, R, gamma=0.5),
             lambda: TabularMDP(sp.csr_matrix((np.tile([a, c, b], 3), np.tile([0, 2, 1], 3), [0, 3, 6, 9]),
                                              shape=(3, 3)), R, gamma=0.5)]
    assert {_verdict(f) for f in forms} == {"ok"}
    a, b1, b2 = 0.3788644226541457, 0.12435567387190474, 0.4967799044739495  # column 1 listed twice
    Dd = np.zeros((3, 1, 3))
    Dd[:, 0] = [a, b1 + b2, 0.0]
    forms = [lambda: TabularMDP(Dd, R, gamma=0.5),
             lambda: TabularMDP([[((0, 1, 1), (a, b1, b2))]] * 3, R, gamma=0.5),
             lambda: TabularMDP(sp.csr_matrix((np.tile([a, b1, b2], 3), np.tile([0, 1, 1], 3), [0, 3, 6, 9]),
                                              shape=(3, 3)), R, gamma=0.5),
             lambda: TabularMDP(sp.csc_matrix(sp.coo_matrix((np.tile([a, b1, b2], 3), (np.repeat([0, 1, 2], 3),
                                                                                       np.tile([0, 1, 1], 3))),
                                                            shape=(3, 3))), R, gamma=0.5)]
    assert {_verdict(f) for f in forms} == {"ok"}


def test_first_bad_row_is_named_when_an_unsorted_row_comes_first():
    # row 0 unsorted and summing to 1.1, row 1 sorted and summing to 0.4: row 0 is the first bad row
    M = sp.csr_matrix((np.array([0.5, 0.6, 0.2, 0.2, 1.0]), np.array([1, 0, 0, 1, 2]), [0, 2, 4, 5]), shape=(3, 3))
    with pytest.raises(ValueError, match=r"^P: transition row \(s=0, a=0\) sums to 1\.1"):
        TabularMDP(M, np.zeros((3, 1)), gamma=0.5)


def test_dense_rows_on_the_tolerance_edge_are_all_judged_in_storage_order():
    """Many rows within the rounding margin of the tolerance: every one judged by its storage-order sum (one more
    compiled pass, not a Python loop per row), the same verdict as CSR."""
    from rltheory.models._validate import dense_first_bad_row, row_sum_in_order
    edge = np.array([0.5, 0.5 + 0.9999983e-9])
    P = np.tile(edge, (2, 3000, 1))
    ok = abs(float(row_sum_in_order(edge)) - 1.0) <= 1e-9
    assert dense_first_bad_row(P.reshape(-1, 2), 1e-9) == (-1 if ok else 0)
    P[1, 2999, 1] += 1e-9  # the last row off the edge
    assert dense_first_bad_row(P.reshape(-1, 2), 1e-9) == (5999 if ok else 0)
    Pc = sp.csr_matrix(P.reshape(-1, 2))
    assert _verdict(lambda: TabularMDP(P, np.zeros((2, 3000)), gamma=0.5)) == \
        _verdict(lambda: TabularMDP(Pc, np.zeros((2, 3000)), gamma=0.5))


def test_dok_and_lil_with_mixed_numpy_integer_indices():
    M = sp.dok_matrix((2, 2))
    M.update({(np.uint64(0), np.uint64(1)): 1.0, (1, 0): 1.0})  # NumPy would promote these keys to float64
    assert np.array_equal(TabularMDP(M, np.zeros((2, 1)), gamma=0.5).P_csr.toarray(), [[0, 1], [1, 0]])
    L = sp.lil_matrix((2, 2))
    L.rows[0], L.data[0] = [np.uint64(1)], [1.0]
    L.rows[1], L.data[1] = [np.int8(0)], [1.0]
    assert np.array_equal(TabularMDP(L, np.zeros((2, 1)), gamma=0.5).P_csr.toarray(), [[0, 1], [1, 0]])
    L.rows[1] = [np.uint64(2**64 - 1)]
    L.rows[0] = [np.int8(1)]
    with pytest.raises(ValueError, match=r"^P: LIL column index 1.84e\+19 outside \[0, 2\)"):
        TabularMDP(L, np.zeros((2, 1)), gamma=0.5)
    L.rows[1] = [1.5]
    with pytest.raises(TypeError, match=r"^P: LIL column indices must be integers"):
        TabularMDP(L, np.zeros((2, 1)), gamma=0.5)


def test_repeated_dia_offsets_are_named():
    n = 20000  # (a quadratic search for the repeat took seconds at this size)
    D = sp.dia_matrix(np.eye(2))
    D.data = np.zeros((n, 0))
    D.offsets = np.r_[np.arange(n - 1), n - 2]
    with pytest.raises(ValueError, match=rf"^P: DIA offsets list diagonal {n - 2} more than once"):
        TabularMDP(D, np.zeros((2, 1)), gamma=0.5)


@pytest.mark.parametrize("kw, field", [(dict(gamma=10**300), "gamma"), (dict(gamma=Fraction(10**5000, 3)), "gamma"),
                                       (dict(horizon=Fraction(10**400, 1)), "horizon"),
                                       (dict(horizon=Fraction(10**5000, 3)), "horizon")])
def test_huge_numbers_are_shortened_in_messages(kw, field):
    with pytest.raises(ValueError, match=rf"^{field}: ") as info:
        TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), **kw)
    assert len(str(info.value)) < 300


class _LyingIter(list):
    def __iter__(self):
        return iter([0, 1, 1])


class _BrokenLen(list):
    def __len__(self):
        raise RuntimeError("len")


class _BrokenIndex:
    def __index__(self):
        raise RuntimeError("index")


class _BrokenGetitem(np.ndarray):
    def __getitem__(self, i):
        raise RuntimeError("getitem")


def _lil_edit(f):
    def make():
        L = sp.lil_matrix((2, 2))
        L[0, 0], L[0, 1], L[1, 1] = 0.5, 0.5, 1.0
        f(L)
        return L
    return make


def _row(name, i, value):
    return _lil_edit(lambda L: getattr(L, name).__setitem__(i, value))


@pytest.mark.parametrize("make, exc", [
    (_row("rows", 0, _LyingIter([0, 1])), TypeError),  # scipy's conversion raised an unprefixed ValueError
    (_row("data", 0, _LyingIter([0.5, 0.5])), TypeError),
    (_row("rows", 0, _BrokenLen([0, 1])), TypeError),  # the RuntimeError of len() escaped
    (_row("rows", 0, np.array([0, 1])), TypeError),
    (_row("rows", 0, (0, 1)), TypeError),
    (_row("rows", 0, None), TypeError),
    (_row("data", 1, None), TypeError),
    (_row("rows", 0, [0, 1, 1]), ValueError),
    (_row("rows", 0, [0, None]), TypeError),
    (_row("data", 0, [0.5, None]), TypeError),
    (_row("rows", 0, [0, _BrokenIndex()]), TypeError),  # the RuntimeError of __index__ escaped
    (_row("rows", 0, [False, True]), TypeError),  # bool column indices were read as 0 and 1
    (_row("rows", 0, [True, 0]), TypeError),
    (_row("rows", 0, [np.False_, np.True_]), TypeError),
    (_row("data", 1, [True]), TypeError),  # a bool among float values was read as 1.0
    (_row("rows", 0, [np.array(0), np.array(1)]), TypeError),  # 0-d arrays were read as integers
    (_row("rows", 0, [[0], [1]]), TypeError),
    (_row("data", 0, [np.array([0.5]), np.array([0.5])]), TypeError),
    (_row("data", 0, [0.5 + 0j, 0.5]), TypeError),
    (_row("data", 1, [10**400]), ValueError),
    (_row("rows", 0, [0, 2**70]), ValueError),
    (_row("rows", 0, [0, -1]), ValueError),
    (_lil_edit(lambda L: setattr(L, "rows", list(L.rows))), TypeError),
    (_lil_edit(lambda L: setattr(L, "rows", L.rows.view(_BrokenGetitem))), TypeError),  # RuntimeError escaped
    (_lil_edit(lambda L: setattr(L, "data", np.zeros(2))), TypeError),
    (_lil_edit(lambda L: setattr(L, "rows", L.rows[:1])), ValueError),
])
def test_odd_lil_objects_are_refused_naming_P(make, exc):
    with pytest.raises(exc, match=r"^P: LIL "):
        TabularMDP(make(), np.zeros((2, 1)), gamma=0.5)


def test_lil_with_numpy_scalars_is_read_exactly():
    L = sp.lil_matrix((2, 2))
    L.rows[0], L.data[0] = [np.int64(0), 1], [np.float32(0.25), 0.75]
    L.rows[1], L.data[1] = [np.uint8(1)], [1]
    assert np.array_equal(TabularMDP(L, np.zeros((2, 1)), gamma=0.5).P_csr.toarray(), [[0.25, 0.75], [0, 1]])


class _IntSubclass(int):
    pass


class _FloatSubclass(float):
    pass


class _PosingAsInt(type):
    """A metaclass whose classes hash and compare equal to ``int`` (a set of types would merge them with it)."""
    def __eq__(cls, other):
        return other is int or super().__eq__(other)

    def __hash__(cls):
        return hash(int)


class _Sneaky(metaclass=_PosingAsInt):
    def __index__(self):
        return 0

    def __float__(self):
        return 0.5


# column indices: (strategy, ordinary = the fast reader may take it when in range)
_LIL_INDEX_KINDS = [
    (int, True), (np.int8, True), (np.int16, True), (np.int32, True), (np.int64, True), (np.longlong, True),
    (np.uint8, True), (np.uint16, True), (np.uint32, True), (np.uint64, False), (_IntSubclass, False),
    (float, False), (bool, False), (np.bool_, False), (np.array, False), (lambda j: _Sneaky(), False),
]
_LIL_VALUE_KINDS = [
    (float, True), (int, True), (np.float16, True), (np.float32, True), (np.float64, True), (np.longdouble, True),
    (np.int8, True), (np.uint64, True), (np.int64, True), (bool, False), (np.bool_, False), (complex, False),
    (_FloatSubclass, False), (str, False), (lambda x: None, False), (lambda x: _Sneaky(), False),
]


def _lil_outcome(f):
    try:
        M = f()
    except (TypeError, ValueError) as e:
        return type(e).__name__, str(e)
    return ("ok", M.shape, M.indptr.tolist(), M.indices.tolist(), M.data.dtype.str, M.data.tobytes(),
            M.has_canonical_format)


@settings(deadline=None, max_examples=300, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_lil_fast_reader_agrees_with_the_exact_reader(data):
    """The vectorised LIL reader gives the exact reader's arrays bit for bit, or leaves the matrix to it (so errors
    are the exact reader's), on random matrices: mixed Python / NumPy entries, empty rows, unsorted and repeated
    columns (written straight into ``rows`` / ``data``), out-of-range indices, huge numbers and foreign types."""
    from rltheory.models import tabular as T
    rows, cols = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 5))
    level = data.draw(st.integers(0, 2))  # ordinary entries; also uint64 indices and int subclasses; anything
    plain = level < 2
    L = sp.lil_matrix((rows, cols))
    ordinary = True
    for i in range(rows):
        k = data.draw(st.integers(0, 5))
        idx, val = [], []
        for _ in range(k):
            make, ok = data.draw(st.sampled_from(_LIL_INDEX_KINDS[:(9, 11, None)[level]]))
            j = data.draw(st.integers(0, cols - 1) if plain else
                          st.one_of(st.integers(0, cols - 1), st.sampled_from([-1, cols, 2**63, 2**70])))
            try:
                idx.append(make(j))
            except OverflowError:  # (a NumPy type that cannot hold j)
                idx.append(j)
                ok = 0 <= j < 2**63 and make is not _IntSubclass
            ordinary &= ok and 0 <= j < cols
            make, ok = data.draw(st.sampled_from(_LIL_VALUE_KINDS[:9] if plain else _LIL_VALUE_KINDS))
            x = data.draw(st.one_of(st.floats(-2.0, 2.0), st.integers(-3, 2**64 - 1)) if plain else
                          st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3),
                                    st.sampled_from([2**53 + 1, 2**64 - 1, 10**400])))
            try:
                with np.errstate(all="ignore"):
                    val.append(make(x))
            except (OverflowError, ValueError, TypeError):
                val.append(0.5)
                ok = True
            ordinary &= ok and not (type(x) is int and abs(x) > 10**300 and type(val[-1]) is int)
        if not plain and data.draw(st.integers(0, 9)) == 0:
            val = val + [0.5]  # lengths differ
            ordinary = False
        L.rows[i], L.data[i] = idx, val
    with np.errstate(all="ignore"):
        fast = T._lil_fast(L.rows, L.data, rows, cols)
        got = _lil_outcome(lambda: T._lil_to_csr(L, rows, cols))
        want = _lil_outcome(lambda: T._lil_exact(L.rows, L.data, rows, cols))
    event(f"fast reader: {'took it' if fast is not None else 'left it'}; exact reader: {want[0]}")
    assert got == want
    assert (fast is not None) == ordinary, (L.rows, L.data)
    if fast is not None:
        assert _lil_outcome(lambda: fast) == want


def test_an_ordinary_lil_matrix_is_read_without_the_entry_by_entry_reader(monkeypatch):
    from rltheory.models import tabular as T

    def refuse(*args):
        raise AssertionError("the entry-by-entry LIL reader ran")

    monkeypatch.setattr(T, "_lil_exact", refuse)
    S, A = 4, 2
    rng = np.random.default_rng(3)
    P = np.stack([np.bincount(rng.integers(0, S, 8), minlength=S) / 8 for _ in range(S * A)])  # float32-exact
    R = np.ones((S, A))
    built = sp.lil_matrix(P.shape)  # entry by entry (NumPy float values), as a kernel is usually written
    for (i, j), x in np.ndenumerate(P):
        if x:
            built[i, j] = x
    mixed = sp.lil_matrix(P)  # Python ints and floats, made mixed with NumPy scalars
    mixed.rows[0] = [np.int32(j) for j in mixed.rows[0]]
    mixed.data[1] = [np.float32(x) if k % 2 else x for k, x in enumerate(mixed.data[1])]
    mixed.data[2] = [np.float64(x) for x in mixed.data[2]]
    for L in (sp.lil_matrix(P), sp.lil_array(P), built, mixed):
        ref = TabularMDP(sp.csr_matrix(L.toarray()), R, gamma=0.9)
        assert np.array_equal(TabularMDP(L, R, gamma=0.9).P, ref.P)


def test_a_type_posing_as_int_is_not_taken_for_one():
    # a set of types merges _Sneaky with int (equal hash, equal by its metaclass): types are compared by identity
    for rows, data in (([0, _Sneaky()], [0.5, 0.5]), ([_Sneaky(), 1], [0.5, 0.5])):
        L = sp.lil_matrix((2, 2))
        L.rows[0], L.data[0] = rows, data
        L.rows[1], L.data[1] = [1], [1.0]
        with pytest.raises(TypeError, match=r"^P: LIL column indices must be integers; row 0 holds a _Sneaky"):
            TabularMDP(L, np.zeros((2, 1)), gamma=0.5)
    L.rows[0], L.data[0] = [0, 1], [0.5, _Sneaky()]
    with pytest.raises(TypeError, match=r"^P: LIL values must be real numbers; row 0 holds a _Sneaky"):
        TabularMDP(L, np.zeros((2, 1)), gamma=0.5)



def _bsr_triplets_reference(B, rows, cols):
    """The BSR conversion by explicit triplets (every stored entry of the used blocks, summed by scipy's COO)."""
    from rltheory.models import tabular as T
    R_, C_ = B.data.shape[1:]
    indptr = B.indptr.astype(np.int64)
    nb = int(indptr[-1])
    brow = np.repeat(np.arange(rows // R_, dtype=np.int64), np.diff(indptr))
    row = brow[:, None, None] * R_ + np.arange(R_, dtype=np.int64)[None, :, None]
    col = B.indices[:nb].astype(np.int64)[:, None, None] * C_ + np.arange(C_, dtype=np.int64)[None, None, :]
    row, col = np.broadcast_arrays(row, col)
    return T._from_triplets(row.reshape(-1), col.reshape(-1), np.asarray(B.data[:nb], np.float64).reshape(-1),
                            rows, cols)


@settings(deadline=None, max_examples=200, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_bsr_conversion_gives_the_triplet_arrays(data):
    """BSR structures scipy accepts unchecked (unsorted and repeated block columns, stored zeros, unused stored
    blocks, narrow or non-native index types) give the arrays of the conversion by explicit triplets, bit for
    bit."""
    from rltheory.models import tabular as T
    R_, C_ = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    n_brow, n_bcol = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    counts = data.draw(st.lists(st.integers(0, 4), min_size=n_brow, max_size=n_brow))
    nb = sum(counts)
    extra = data.draw(st.integers(0, 2))
    indices = data.draw(st.lists(st.integers(0, n_bcol - 1), min_size=nb + extra, max_size=nb + extra))
    values = st.one_of(st.just(0.0), st.floats(-2, 2), st.sampled_from([1e-300, 2.0**-1074, 1e300]))
    blocks = np.array(data.draw(st.lists(values, min_size=(nb + extra) * R_ * C_,
                                         max_size=(nb + extra) * R_ * C_)), dtype=np.float64)
    dtype = data.draw(st.sampled_from([np.int32, np.int64, np.uint8, np.dtype(">i4"), np.dtype("<i8")]))
    rows, cols = n_brow * R_, n_bcol * C_
    B = sp.bsr_matrix((rows, cols), blocksize=(R_, C_))
    B.data = blocks.reshape(nb + extra, R_, C_)
    B.indices = np.array(indices, dtype=dtype)
    B.indptr = np.r_[0, np.cumsum(counts)].astype(dtype)
    got, want = T._bsr_to_csr(B, rows, cols), _bsr_triplets_reference(B, rows, cols)
    assert _lil_outcome(lambda: got) == _lil_outcome(lambda: want)


def test_bsr_is_expanded_by_scipy_after_its_checks(monkeypatch):
    from rltheory.models import tabular as T

    def refuse(*args):
        raise AssertionError("BSR went through explicit triplets")

    monkeypatch.setattr(T, "_from_triplets", refuse)
    D = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    ref = TabularMDP(D.reshape(3, 2, 3), np.zeros((3, 2)), gamma=0.5)
    for blocksize in ((1, 1), (2, 1), (3, 3), (6, 3)):
        B = sp.bsr_matrix(D, blocksize=blocksize)
        assert np.array_equal(TabularMDP(B, np.zeros((3, 2)), gamma=0.5).P, ref.P), blocksize

def _message(make):
    try:
        make()
    except (TypeError, ValueError) as e:
        return f"{type(e).__name__}: {e}"
    return "accepted"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("zeros_stored", [True, False])
def test_a_bad_row_has_one_message_dense_csr_and_successor_list(bad, zeros_stored):
    """A non-finite entry (the successor list named its position in the probs list, in its own words) and an
    all-zero row give the same error from a dense array, a CSR matrix and a successor list storing the same
    entries (stored zeros included: a CSR row or successor pair that stores none is "empty")."""
    S, A = 3, 2
    R = np.zeros((S, A))
    P = np.zeros((S, A, S))
    P[:, :, 0] = 1.0
    for row, where in ((lambda Q: Q[1, 1].__setitem__(2, bad), "at s'=2"), (lambda Q: Q[2, 0].fill(0.0), "sums")):
        Q = P.copy()
        row(Q)
        flat = Q.reshape(S * A, S)
        keep = (np.ones_like(flat, bool) if zeros_stored else flat != 0)
        M = sp.csr_matrix((flat[keep], np.nonzero(keep)[1], np.r_[0, np.cumsum(keep.sum(1))]), shape=flat.shape)
        succ = [[(tuple(int(j) for j in np.flatnonzero(keep[s * A + a]))[::-1],
                  tuple(float(x) for x in flat[s * A + a][keep[s * A + a]])[::-1]) for a in range(A)]
                for s in range(S)]
        got = {name: _message(lambda x=x: TabularMDP(x, R, gamma=0.5))
               for name, x in (("csr", M), ("successor list", succ))}
        if zeros_stored:
            got["dense"] = _message(lambda: TabularMDP(Q, R, gamma=0.5))
        assert len(set(got.values())) == 1, got
        msg = got["csr"]
        assert msg.startswith("ValueError: P: ") and "transition row (s=" in msg, msg
        if where.startswith("at"):
            assert msg.endswith(where), msg


def _handed_out_arrays(m):
    """Every array a model hands out: its kernel (dense or CSR), rewards and initial distribution (and, for the
    linear-mixture and latent models, their features, parameter and weights)."""
    out = {}
    for name in ("P", "R", "mu0", "phi", "theta", "weights", "w"):
        x = getattr(m, name, None)
        if isinstance(x, np.ndarray):
            out[name] = x
    if isinstance(m, TabularMDP) and m.is_sparse:
        out.update(zip(("indptr", "indices", "data"), m.csr_arrays))
    return out


def _tabular_routes():
    import pickle

    P = np.array([[[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], [[0.0, 1.0, 0.0], [0.25, 0.0, 0.75]],
                  [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    R = np.arange(6.0).reshape(3, 2)
    P2 = P.reshape(6, 3)
    succ = [[(np.flatnonzero(P[s, a]), P[s, a][P[s, a] > 0]) for a in range(2)] for s in range(3)]
    yield "dense", lambda: TabularMDP(P.copy(), R.copy(), gamma=0.9)
    yield "dense copy", lambda: TabularMDP(P.copy(), R.copy(), gamma=0.9, copy=True)
    yield "dense float32", lambda: TabularMDP(P.astype(np.float32), R, gamma=0.9)
    yield "nested list", lambda: TabularMDP(P.tolist(), R, gamma=0.9)
    yield "successor list", lambda: TabularMDP(succ, R, gamma=0.9)
    yield "finite horizon", lambda: TabularMDP(P.copy(), R.copy(), horizon=3)
    for fmt in ("csr", "csc", "coo", "lil", "bsr", "dia", "dok"):
        yield fmt, lambda fmt=fmt: TabularMDP(sp.csr_matrix(P2).asformat(fmt), R.copy(), gamma=0.9)
    yield "csr copy", lambda: TabularMDP(sp.csr_matrix(P2), R.copy(), gamma=0.9, copy=True)
    yield "pickled csr", lambda: pickle.loads(pickle.dumps(TabularMDP(sp.csr_matrix(P2), R.copy(), gamma=0.9)))
    yield "pickled dense", lambda: pickle.loads(pickle.dumps(TabularMDP(P.copy(), R.copy(), gamma=0.9)))
    yield "to_sparse", lambda: TabularMDP(P.copy(), R.copy(), gamma=0.9).to_sparse()
    yield "to_dense", lambda: TabularMDP(sp.csr_matrix(P2), R.copy(), gamma=0.9).to_dense()
    yield "with_rewards of a private model", lambda: TabularMDP(P, R, gamma=0.9, copy=True).with_rewards(R + 1)
    yield "with_mu0 of a csc model", lambda: TabularMDP(sp.csc_matrix(P2), R, gamma=0.9).with_mu0(2)


@pytest.mark.parametrize("route, build", list(_tabular_routes()), ids=[r for r, _ in _tabular_routes()])
def test_handed_out_arrays_cannot_be_made_writable(route, build):
    """A model's arrays (its own copies as well as the caller's frozen ones) cannot be made writable through the
    arrays it hands out: ``setflags(write=True)`` on a read-only view of a writable array succeeds in NumPy, and an
    out-of-range next-state index written that way made the compiled solvers read out of bounds (a segfault on
    private CSR kernels: pickled, converted from another scipy format, or built by ``to_sparse``)."""
    m = build()
    arrays = _handed_out_arrays(m)
    assert {"R", "mu0"} <= set(arrays) and ({"indptr", "indices", "data"} <= set(arrays) or "P" in arrays)
    for name, x in arrays.items():
        with pytest.raises(ValueError):
            x.setflags(write=True)
        assert not x.flags.writeable, name
    before = solve(m).V
    for name, x in arrays.items():
        with pytest.raises(ValueError):
            x.reshape(-1)[0] = 7  # a write through a view of what is handed out
    assert np.array_equal(solve(m).V, before)


def test_linear_mixture_and_latent_arrays_cannot_be_made_writable():
    """The same for the models built on tabular kernels: their own copies are sealed, not only viewed read-only."""
    import mdps

    models = [mdps.random_linear_mixture(3, 2, 2, 3, seed=0)]
    S, A, H = 3, 2, 3
    P = np.full((2, S, A, S), 1.0 / S)
    models.append(LatentMDP(P, np.full((2, S, A), 0.5), np.array([0.25, 0.75]), np.full(S, 1.0 / S), horizon=H))
    for m in models:
        arrays = _handed_out_arrays(m)
        assert {"P", "R"} <= set(arrays)
        for name, x in arrays.items():
            with pytest.raises(ValueError):
                x.setflags(write=True)
