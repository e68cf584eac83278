"""A model's private arrays cannot be made writable through NumPy (review of the sealing of ``_sealed``): walking
``.base`` from any array a model hands out and calling ``setflags(write=True)`` on each ndarray met raises NumPy's
"cannot set WRITEABLE flag" error, for every kind of model, derived and unpickled ones included; the caller's own
arrays of a shared model stay covered by ``_verify_shared``."""
from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

import mdps
import rltheory
from rltheory import TabularMDP
from rltheory.models import tabular as T
from rltheory.solvers import solve

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(rltheory.__file__)))
REFUSED = "cannot set WRITEABLE flag to True of this array"
S, A, H = 4, 2, 3


def _kernel(shape, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.random(shape)
    return P / P.sum(-1, keepdims=True)


def _chain(a) -> list[np.ndarray]:
    """``a`` and every ndarray reached from it through ``.base``."""
    out = []
    x = a
    while isinstance(x, np.ndarray):
        out.append(x)
        x = x.base
    return out


def _kept_arrays(m) -> list[np.ndarray]:
    """The arrays a model keeps (its kernel, rewards and initial distribution)."""
    kept = [m._R, m._mu0]
    kept += [m._P] if m._P is not None else list(m._sp)
    return kept


def _handed_out(m) -> dict[str, np.ndarray]:
    M = m.P_csr
    arrays = {"P": m.P, "P4()": m.P4(), "R": m.R, "R3()": m.R3(), "reward_at(0)": m.reward_at(0), "mu0": m.mu0,
              "P_csr.data": M.data, "P_csr.indices": M.indices, "P_csr.indptr": M.indptr}
    arrays.update({f"csr_arrays[{i}]": x for i, x in enumerate(m.csr_arrays)})
    return arrays


def _assert_sealed(name: str, a: np.ndarray, callers=(), kept=None) -> None:
    """Every ndarray of ``a``'s chain refuses to become writable, except the caller's own (``callers``); an array
    built afresh on each call (``kept`` given: it shares no memory with what the model keeps) is the caller's."""
    if kept is not None and not any(np.shares_memory(a, k) for k in kept):
        return
    for x in _chain(a):
        if any(np.shares_memory(x, c) for c in callers):
            continue
        with pytest.raises(ValueError, match=REFUSED):
            x.setflags(write=True)
        assert not x.flags.writeable, name


def _models():
    """(label, model, caller's arrays the model keeps) for every kind of TabularMDP."""
    P = _kernel((S, A, S))
    R = np.random.default_rng(1).random((S, A))
    Ph = _kernel((H, S, A, S), 2)
    Rh = np.random.default_rng(3).random((H, S, A))
    M = sp.csr_matrix(P.reshape(S * A, S))
    succ = [[(np.flatnonzero(P[s, a]), P[s, a][P[s, a] > 0]) for a in range(A)] for s in range(S)]
    dense_shared = np.array(P)
    csr_shared = M.copy()
    big = _kernel((200, 4, 200), 4)  # 1.28 MB: sealed without a copy
    out = [
        ("dense shared", TabularMDP(dense_shared, R, gamma=0.9), [dense_shared]),
        ("dense copy", TabularMDP(P, R, gamma=0.9, copy=True), []),
        ("dense copy large", TabularMDP(big, np.zeros((200, 4)), gamma=0.9, copy=True), []),
        ("nested list", TabularMDP(P.tolist(), R.tolist(), gamma=0.9, mu0=2), []),
        ("CSR shared", TabularMDP(csr_shared, R, gamma=0.9), [csr_shared.data, csr_shared.indices]),
        ("CSR copy", TabularMDP(M, R, gamma=0.9, copy=True), []),
        ("COO converted", TabularMDP(sp.coo_matrix(P.reshape(S * A, S)), R, gamma=0.9), []),
        ("successor list", TabularMDP(succ, R, gamma=0.9, mu0=np.full(S, 1 / S)), []),
        ("finite horizon inhomogeneous", TabularMDP(Ph, Rh, horizon=H, copy=True), []),
        ("finite horizon sparse", TabularMDP(sp.csr_matrix(Ph.reshape(-1, S)), Rh, horizon=H, copy=True), []),
    ]
    derived = []
    for label, m, callers in out:
        derived.append((label + " with_rewards", m.with_rewards(np.ones(m.R.shape)), callers))
        derived.append((label + " with_mu0", m.with_mu0(1), callers))
        other = m.to_dense() if m.is_sparse else m.to_sparse()
        derived.append((label + " converted", other, []))
        derived.append((label + " unpickled", pickle.loads(pickle.dumps(m)), []))
        derived.append((label + " unpickled protocol 2", pickle.loads(pickle.dumps(m, protocol=2)), []))
        derived.append((label + " deepcopy", copy.deepcopy(m), []))
    return out + derived


MODELS = _models()


@pytest.mark.parametrize("label, m, callers", MODELS, ids=[c[0] for c in MODELS])
def test_no_private_array_of_a_model_can_be_made_writable(label, m, callers):
    kept = _kept_arrays(m)
    for a in kept:
        if not any(np.shares_memory(a, c) for c in callers):
            assert T._is_sealed(a) and a.flags.aligned, label  # aligned: the compiled kernels' array type
    for name, a in _handed_out(m).items():
        _assert_sealed(f"{label}: {name}", a, callers, kept)
    assert m.shares_memory is bool(callers)


@pytest.mark.parametrize("label, m, callers", [c for c in MODELS if c[2]], ids=[c[0] for c in MODELS if c[2]])
def test_the_callers_arrays_of_a_shared_model_are_still_verified(label, m, callers):
    # the caller's memory is frozen and checked again on every hand-out (unchanged): made writable, it is refused
    solve(m)
    root = _chain(callers[0])[-1]
    root.setflags(write=True)
    try:
        with pytest.raises(ValueError, match=r"^P: "):
            solve(m)
    finally:
        root.setflags(write=False)


def test_large_private_arrays_are_sealed_without_a_copy():
    P = _kernel((200, 4, 200))
    assert P.nbytes >= T._SEAL_COPY_MAX_BYTES
    m = TabularMDP(P, np.zeros((200, 4)), gamma=0.9, copy=True)
    assert any(isinstance(x.base, T._SealedOwner) for x in _chain(m.P))
    assert not np.shares_memory(m.P, P) and np.array_equal(m.P, P)
    small = TabularMDP(P[:2, :, :2] / P[:2, :, :2].sum(-1, keepdims=True), np.zeros((2, 4)), gamma=0.9, copy=True)
    assert isinstance(_chain(small.P)[-1].base, bytes)


@pytest.mark.parametrize("rewards", ["float64", "int64"])  # the deferred float64 copy and the converting one
def test_large_rewards_and_converted_csr_arrays_are_sealed(rewards):
    n, k = 2000, 70  # R and the kernel's data and pointers past the copy threshold
    rows = np.arange(n * k)
    P = sp.coo_matrix((np.ones(n * k), (rows, rows % n)), shape=(n * k, n))
    R = np.ones((n, k), dtype=rewards)
    m = TabularMDP(P, R, gamma=0.5, mu0=np.full(n, 1 / n))
    assert m.R.nbytes >= T._SEAL_COPY_MAX_BYTES and m.csr_arrays[2].nbytes >= T._SEAL_COPY_MAX_BYTES
    for name, a in [("R", m.R), ("mu0", m.mu0), *zip(("indptr", "indices", "data"), m.csr_arrays)]:
        assert T._is_sealed(a), name
        _assert_sealed(name, a)
    assert np.allclose(solve(m).V, 2.0)


@pytest.mark.parametrize("shape", [(S, A, S), (200, 4, 200)])  # sealed by a copy into bytes / by the owner object
def test_derived_models_keep_the_parents_sealed_arrays_without_a_copy(shape):
    P = _kernel(shape)
    R = np.zeros(shape[:2])
    m = TabularMDP(P, R, gamma=0.9, copy=True)
    for d in (m.with_rewards(np.ones(R.shape)), m.with_mu0(1), m.with_rewards(R).with_mu0(0)):
        assert np.shares_memory(d.P, m.P) and not d.shares_memory
    c = TabularMDP(sp.coo_matrix(P.reshape(-1, shape[0])), R, gamma=0.9)  # converted: private
    for d in (c.with_rewards(np.ones(R.shape)), c.with_mu0(1)):
        _, ix, dt = d.csr_arrays
        assert np.shares_memory(ix, c.csr_arrays[1]) and np.shares_memory(dt, c.csr_arrays[2])
        assert not d.shares_memory
    # a nested list is read into an array of the model's own, sealed: no caller's memory
    n = TabularMDP(_kernel((S, A, S)).tolist(), np.zeros((S, A)), gamma=0.9)
    assert not n.shares_memory and T._is_sealed(n._P)


def test_another_models_large_arrays_passed_by_the_caller_are_kept_as_ours():
    """``TabularMDP(other.P, ...)``: the large kernel of another model, sealed by an owner object of the module,
    cannot be written by anyone, so it is kept without a copy, and it is not the caller's memory (nothing to freeze
    or verify)."""
    shape = (200, 4, 200)
    P = _kernel(shape)
    R = np.zeros(shape[:2])
    m = TabularMDP(P, R, gamma=0.9, copy=True)
    m2 = TabularMDP(m.P, R, gamma=0.9)
    assert np.shares_memory(m2.P, m.P) and not m2.shares_memory and T._is_sealed(m2._P)
    c = TabularMDP(sp.coo_matrix(P.reshape(-1, shape[0])), R, gamma=0.9)
    c2 = TabularMDP(c.P_csr, R, gamma=0.9)
    for x, y in zip(c2.csr_arrays[1:], c.csr_arrays[1:]):  # kept when sealed by an owner, copied when over bytes
        assert np.shares_memory(x, y) is (x.nbytes >= T._SEAL_COPY_MAX_BYTES)
    assert c.csr_arrays[2].nbytes >= T._SEAL_COPY_MAX_BYTES  # (the data: kept)
    assert not c2.shares_memory
    for a in c2.csr_arrays:
        _assert_sealed("csr", a)
    assert np.array_equal(solve(c2).V, solve(c).V) and np.array_equal(solve(m2).V, solve(m).V)


def test_another_models_small_arrays_passed_by_the_caller_are_copied():
    """A small private array lies over ``bytes``, which the caller's arrays can too, with a writable alias
    (``_is_owner_sealed``): passed by the caller it is copied (a small copy), and the copy is the model's own."""
    P = _kernel((S, A, S))
    R = np.zeros((S, A))
    m = TabularMDP(P, R, gamma=0.9, copy=True)
    m2 = TabularMDP(m.P, R, gamma=0.9)
    assert not np.shares_memory(m2.P, m.P) and not m2.shares_memory and T._is_sealed(m2._P)
    c = TabularMDP(sp.coo_matrix(P.reshape(-1, S)), R, gamma=0.9)
    c2 = TabularMDP(c.P_csr, R, gamma=0.9)
    assert not any(np.shares_memory(x, y) for x, y in zip(c2.csr_arrays, c.csr_arrays)) and not c2.shares_memory
    assert np.array_equal(solve(c2).V, solve(c).V) and np.array_equal(solve(m2).V, solve(m).V)


def test_linear_mixture_to_tabular_keeps_its_sealed_kernel():
    lm = mdps.random_linear_mixture(5, 3, 2, 4, seed=0)
    t = lm.to_tabular()
    assert np.shares_memory(t.P, lm.P) and not t.shares_memory
    assert np.array_equal(solve(t).V, solve(lm.to_tabular(np.asarray(lm.R))).V)


def _lm_and_latent_models():
    return [("random_linear_mixture", mdps.random_linear_mixture(5, 3, 2, 4, seed=0)),
            ("linear_mixture_riverswim", mdps.linear_mixture_riverswim(4, 5)),
            ("random_lmdp", mdps.random_lmdp(2, 4, 2, horizon=3, Gamma=2, seed=0)),
            ("lmdp_probe", mdps.lmdp_probe(2, 4, 2, horizon=3))]


@pytest.mark.parametrize("label, m", _lm_and_latent_models(), ids=[c[0] for c in _lm_and_latent_models()])
def test_latent_and_linear_mixture_arrays_are_sealed(label, m):
    names = [n for n in ("P", "R", "mu0", "weights", "phi", "theta") if hasattr(type(m), n)]
    assert {"P", "R", "mu0"} <= set(names)
    for n in names:
        a = getattr(m, n)
        assert isinstance(a, np.ndarray), n
        for x in _chain(a):
            with pytest.raises(ValueError, match=REFUSED):
                x.setflags(write=True)
    u = pickle.loads(pickle.dumps(m))
    for n in names:
        assert np.array_equal(getattr(u, n), getattr(m, n)) and T._is_sealed(getattr(u, n))


# The reviewer's routes: every ndarray reached through .base is made writable if NumPy allows it, then the
# memory is overwritten (out-of-range CSR indices, a row summing to 2, NaN rewards, a negative mu0) and the model
# solved. Run in a fresh interpreter, since the out-of-range indices crashed it before.
_ROUTES = r"""
import numpy as np, scipy.sparse as sp
from rltheory import TabularMDP
from rltheory.solvers import solve, occupancy

S, A = 4, 2
rng = np.random.default_rng(0)
P = rng.random((S, A, S)); P /= P.sum(-1, keepdims=True)
R = rng.random((S, A))

def writable_chain(a):
    out, x = [], a
    while isinstance(x, np.ndarray):
        try:
            x.setflags(write=True)
            out.append(x)
        except ValueError as exc:
            assert "cannot set WRITEABLE flag" in str(exc), exc
        x = x.base
    return out

def attack(label, m, field, value):
    ref = solve(m, method="vi").V.copy()
    opened = []
    for a in field(m):
        opened += writable_chain(a)
    for x in opened:
        x[...] = value
    try:
        V = solve(m, method="vi").V
    except ValueError as exc:
        assert str(exc).startswith("P:"), exc
        print(label, "refused", flush=True)
        return
    assert np.array_equal(V, ref), (label, V, ref)
    print(label, "unchanged", len(opened), flush=True)

Pd = P.reshape(S * A, S)
models = {
    "coo": lambda: TabularMDP(sp.coo_matrix(Pd), R, gamma=0.9),
    "csr shared": lambda: TabularMDP(sp.csr_matrix(Pd), R, gamma=0.9),
    "csr copy": lambda: TabularMDP(sp.csr_matrix(Pd), R, gamma=0.9, copy=True),
    "dense copy": lambda: TabularMDP(P, R, gamma=0.9, copy=True),
    "dense copy with_rewards": lambda: TabularMDP(P, R, gamma=0.9, copy=True).with_rewards(R),
}
for name, make in models.items():
    m = make()
    if m.is_sparse:
        attack(name + " indices", m, lambda m: [m.csr_arrays[1]], 2**30)
        attack(name + " indptr", make(), lambda m: [m.csr_arrays[0]], 10**7)
        attack(name + " data", make(), lambda m: [m.csr_arrays[2]], 2.0)
    else:
        attack(name + " P", m, lambda m: [m.P], 2.0)
    attack(name + " R", make(), lambda m: [m.R], np.nan)
    mm = make()
    opened = writable_chain(mm.mu0)
    for x in opened:
        x[...] = -5.0
    assert mm.mu0.min() >= 0, name
    occupancy(mm, np.zeros(S, dtype=np.int64))
print("ROUTES-DONE", flush=True)
"""


def test_the_reviewers_routes_no_longer_reach_private_memory():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_ROUTES)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ROUTES-DONE"), (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")


# ---------------------------------------------------------------- second review: views, bytes-ended arrays, owner
def _stored(m) -> list[np.ndarray]:
    """Every array object a model keeps (latent and linear-mixture models included)."""
    names = ("_P", "_R", "_mu0", "_w", "_phi", "_theta")
    out = [getattr(m, n) for n in names if getattr(m, n, None) is not None]
    return out + (list(m._sp) if getattr(m, "_sp", None) is not None else [])


def _handed_out_any(m) -> dict[str, np.ndarray]:
    if isinstance(m, TabularMDP):
        return _handed_out(m)
    out = {n: getattr(m, n) for n in ("P", "R", "mu0", "weights", "phi", "theta") if hasattr(type(m), n)}
    if hasattr(m, "R3"):
        out.update({"R3()": m.R3(), "rewards3()": m.rewards3(), "theta_arg()": m.theta_arg()})
    return out


_ALL_MODELS = [(label, m) for label, m, _ in MODELS] + _lm_and_latent_models()


@pytest.mark.parametrize("label, m", _ALL_MODELS, ids=[c[0] for c in _ALL_MODELS])
def test_every_accessor_hands_out_a_fresh_view_not_a_stored_array(label, m):
    """NumPy lets anyone change an array's dtype, shape, strides or data without it being writable: an accessor
    handing out a stored array let ``m.R.dtype = np.int64`` change the model. Every hand-out is a new object, and
    changing its dtype and shape changes nothing the model keeps."""
    stored = {id(a) for a in _stored(m)}
    before = [(a.dtype, a.shape, a.strides, a.tobytes()) for a in _stored(m)]
    for name, a in _handed_out_any(m).items():
        assert id(a) not in stored, f"{label}: {name}"
        if any(np.shares_memory(a, k) for k in _stored(m)):  # (else built afresh: the caller's)
            assert not a.flags.writeable, f"{label}: {name}"
        if a.dtype.itemsize == 8 and a.ndim == 1 and a.size:
            a.dtype = np.int64 if a.dtype == np.float64 else np.float64
        if a.size:
            a.shape = (a.size,) if a.flags.c_contiguous else a.shape
    assert [(a.dtype, a.shape, a.strides, a.tobytes()) for a in _stored(m)] == before, label


def test_changing_the_dtype_of_handed_out_rewards_does_not_change_the_values():
    P, R = _kernel((S, A, S)), np.random.default_rng(1).random((S, A))
    for m in (TabularMDP(P, R, gamma=0.9, copy=True), TabularMDP(np.array(P), R, gamma=0.9)):
        V = solve(m).V.copy()
        for a in (m.R, m.mu0, m.P, m.reward_at(0), m.R3()):
            a.dtype = np.int64
        assert np.array_equal(solve(m).V, V)


_DTYPE_ROUTE = r"""
import numpy as np, scipy.sparse as sp
from rltheory import TabularMDP
from rltheory.solvers import solve
rng = np.random.default_rng(0)
S, A = 50, 3
P = rng.random((S, A, S)); P /= P.sum(-1, keepdims=True); R = rng.random((S, A))
for label, m in [("private", TabularMDP(sp.csr_matrix(P.reshape(-1, S)), R, gamma=0.9, copy=True)),
                 ("shared", TabularMDP(sp.csr_matrix(P.reshape(-1, S)), R, gamma=0.9))]:
    ref = solve(m, method="vi").V.copy()
    m.csr_arrays[1].dtype = np.int64          # pairs of int32 indices read as int64: out of bounds before
    assert np.array_equal(solve(m, method="vi").V, ref), label
    m.P_csr.indices.dtype = np.int64
    m.csr_arrays[0].dtype = np.int32
    m.csr_arrays[2].shape = (2, -1)
    assert np.array_equal(solve(m, method="vi").V, ref), label
    print(label, "unchanged", flush=True)
print("DTYPE-DONE", flush=True)
"""


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=600, env=env)


def test_changing_the_dtype_of_handed_out_csr_arrays_cannot_crash_a_solver():
    proc = _run(_DTYPE_ROUTE)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("DTYPE-DONE"), (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")


def test_a_read_only_unpickled_kernel_with_a_writable_alias_is_copied():
    """NumPy unpickles a large array writable over the pickle's bytes (protocols 2 to 4): a view taken before it
    is marked read-only stays writable, so a chain ending in bytes is not trusted for a caller's array."""
    P = _kernel((200, 4, 200))
    R = np.random.default_rng(1).random((200, 4))
    P2 = pickle.loads(pickle.dumps(P, protocol=4))
    w = P2.view()
    P2.setflags(write=False)
    m = TabularMDP(P2, R, gamma=0.9)
    assert not np.shares_memory(m.P, w) and T._is_sealed(m._P)
    V = solve(m).V.copy()
    if w.flags.writeable:  # (NumPy versions that unpickle it read-only leave nothing to write)
        w[0, 0, :] = 0.0
        w[0, 0, 1] = 5.0
    assert np.array_equal(solve(m).V, V)


_UNPICKLED_CSR = r"""
import pickle
import numpy as np, scipy.sparse as sp
from rltheory import TabularMDP
from rltheory.solvers import solve
rng = np.random.default_rng(0)
S, A = 200, 4
P = rng.random((S, A, S)); P /= P.sum(-1, keepdims=True); R = rng.random((S, A))
M = sp.csr_matrix(P.reshape(S * A, S))
ix = pickle.loads(pickle.dumps(M.indices.astype(np.int32), protocol=4))
wix = ix.view(); ix.setflags(write=False)
dt = pickle.loads(pickle.dumps(M.data, protocol=4)); dt.setflags(write=False)
m = TabularMDP(sp.csr_matrix((dt, ix, M.indptr), shape=M.shape), R, gamma=0.9)
ref = solve(m, method="vi").V.copy()
if wix.flags.writeable:
    wix[:] = 2**30  # out of bounds for a solver that reads these indices
assert np.array_equal(solve(m, method="vi").V, ref)
assert not np.shares_memory(m.csr_arrays[1], wix)
print("CSR-DONE", flush=True)
"""


def test_a_read_only_unpickled_csr_kernel_with_a_writable_alias_is_copied():
    proc = _run(_UNPICKLED_CSR)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("CSR-DONE"), (
        f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")


def test_a_misaligned_read_only_array_over_bytes_is_copied_aligned():
    P = _kernel((S, A, S))
    R = np.zeros((S, A))
    Pm = np.frombuffer(b"\0" + P.tobytes(), offset=1).reshape(P.shape)
    assert not Pm.flags.aligned and not Pm.flags.writeable
    m = TabularMDP(Pm, R, gamma=0.9)
    assert not np.shares_memory(m.P, Pm) and m._P.flags.aligned and T._is_sealed(m._P)
    Mm = sp.csr_matrix(P.reshape(-1, S))
    dm = np.frombuffer(b"\0" + Mm.data.tobytes(), offset=1)
    c = TabularMDP(sp.csr_matrix((dm, Mm.indices, Mm.indptr), shape=Mm.shape), R, gamma=0.9)
    assert all(a.flags.aligned for a in c._sp) and not np.shares_memory(c.csr_arrays[2], dm)
    assert np.array_equal(solve(c).V, solve(TabularMDP(P, R, gamma=0.9)).V)


def test_the_owners_array_interface_cannot_be_edited_to_expose_the_memory_writable():
    m = TabularMDP(_kernel((200, 4, 200)), np.zeros((200, 4)), gamma=0.9, copy=True)
    V = solve(m).V.copy()
    x = m.P
    while isinstance(x, np.ndarray):
        x = x.base
    assert type(x) is T._SealedOwner
    iface = x.__array_interface__
    assert iface is not x.__array_interface__  # a new dict on each read
    iface["data"] = (iface["data"][0], False)
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(x)[0, 0, 0] = 5.0
    with pytest.raises(AttributeError):
        x.__array_interface__ = iface
    assert x.__array_interface__["data"][1] is True and np.asarray(x).flags.writeable is False
    assert np.array_equal(np.asarray(x), m.P) and np.array_equal(solve(m).V, V)


@pytest.mark.parametrize("build", ["P", "P4", "with_rewards"])
def test_a_model_never_keeps_the_array_object_a_caller_holds(build):
    """A time-dependent kernel of another model (owner-sealed, kept without a copy) was kept as the very object the
    caller passed: resetting its dtype or data (``__setstate__`` needs no write permission) then changed the new
    model, and a shorter buffer made the kernels read past it. The model keeps a view of its own."""
    rng = np.random.default_rng(3)
    H, S_, A_ = 4, 64, 8  # 1 MiB: sealed by the owner object, so kept without a copy
    P = rng.random((H, S_, A_, S_))
    P /= P.sum(-1, keepdims=True)
    R = rng.random((H, S_, A_))
    m = TabularMDP(P, R, horizon=H, copy=True)
    held = m.P if build == "P" else m.P4()
    m2 = TabularMDP(held, R, horizon=H) if build != "with_rewards" else m.with_rewards(R)
    if build == "with_rewards":
        held = m._P  # the parent's stored array: the derived model must not be that object either
    assert m2._P is not held and np.shares_memory(m2._P, held)
    V0 = solve(m2).V.copy()
    if build != "with_rewards":
        held.dtype = np.int64
        held.__setstate__((1, (1, 1, 1, 1), np.dtype(float), False, np.ones(1).tobytes()))
        assert np.array_equal(solve(m2).V, V0)
