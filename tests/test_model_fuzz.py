"""Fuzzer of malformed (and valid) TabularMDP inputs.

Every drawn case is judged twice: by :class:`rltheory.TabularMDP` and by an independent reference interpreter
written here in plain NumPy (it reads dense arrays, nested lists, raw CSR arrays and successor lists itself,
bounds-checking every index). The test asserts one of two outcomes:

* the reference finds the input malformed: construction raises ``ValueError`` or ``TypeError`` whose message
  starts with the field the reference blames (``P``, ``R``, ``horizon``, ``gamma``) and, for a defect in a
  transition row, contains that first bad row's ``(h,) s, a`` label;
* the reference finds it valid: construction succeeds, the stored kernel equals the reference's dense kernel,
  and ``solve`` matches a dense reference solve (backward induction / exact policy iteration in NumPy).

Forms: dense arrays, nested lists, CSR matrices (corrupted pointers, out-of-range or negative indices, duplicates,
unsorted rows, trailing empty rows) and successor lists; discounted, finite-horizon and time-inhomogeneous.
Sparse and successor-list cases (where a kernel could read out of bounds) run in a subprocess, so that a
segfault fails the test instead of killing pytest. ``@pytest.mark.slow`` variants draw many more examples.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rltheory import TabularMDP
from rltheory.solvers import solve

from _isolated import run_cases_in_subprocess

ATOL = 1e-9  # the documented row-sum tolerance
VALUE_DEFECTS = ["none", "nan", "inf", "neg", "row_sum", "R_transposed", "R_nan", "R_lead", "gamma_1", "horizon_float",
                 "horizon_frac", "mu0_dist", "mu0_state", "mu0_neg", "mu0_sum", "mu0_len", "mu0_bad_state"]
DEFECTS = {
    "dense": VALUE_DEFECTS + ["P_shape"],
    "list": VALUE_DEFECTS + ["P_shape"],
    "csr": VALUE_DEFECTS + ["idx_high", "idx_neg", "indptr_decrease", "indptr_short", "indptr_past_end",
                            "trailing_empty", "dup", "unsorted", "dup_neg_ok", "float32_data"],
    "succ": VALUE_DEFECTS + ["idx_high", "idx_neg", "empty_last", "dup"],
}


@st.composite
def specs(draw, forms):
    form = draw(st.sampled_from(forms))
    timing = draw(st.sampled_from(["discounted", "finite", "inhom"] if form != "succ" else ["discounted", "finite"]))
    return dict(form=form, timing=timing, S=draw(st.integers(1, 5)), A=draw(st.integers(1, 3)),
                H=draw(st.integers(1, 4)), defect=draw(st.sampled_from(DEFECTS[form])),
                seed=draw(st.integers(0, 2**32 - 1)), gamma=draw(st.sampled_from([0.0, 0.5, 0.9])))


# ----------------------------------------------------------------------------------------- building inputs
def build(spec):
    """``(P, R, kwargs)`` for ``TabularMDP(P, R, **kwargs)`` from a drawn spec."""
    rng = np.random.default_rng(spec["seed"])
    S, A, H, form, defect = spec["S"], spec["A"], spec["H"], spec["form"], spec["defect"]
    hp = H if spec["timing"] == "inhom" else 1
    n = hp * S * A
    flat = np.zeros((n, S))
    for r in range(n):
        k = int(rng.integers(1, S + 1))
        supp = rng.choice(S, size=k, replace=False)
        flat[r, supp] = rng.dirichlet(np.ones(k))
    R = rng.random((S, A))
    if spec["timing"] == "inhom" and rng.random() < 0.5:
        R = rng.random((H, S, A))
    kwargs = {"gamma": spec["gamma"]} if spec["timing"] == "discounted" else {"horizon": H}
    r, j = int(rng.integers(n)), int(rng.integers(S))
    if defect in ("nan", "inf", "neg", "row_sum"):
        flat[r, j] = {"nan": np.nan, "inf": np.inf, "neg": -0.5, "row_sum": flat[r, j] + 0.25}[defect]
    elif defect == "R_transposed":
        R = rng.random((S, A)).T
    elif defect == "R_nan":
        R[(0,) * R.ndim] = np.nan
    elif defect == "gamma_1" and "gamma" in kwargs:
        kwargs["gamma"] = 1.0
    elif defect == "horizon_float" and "horizon" in kwargs:
        kwargs["horizon"] = float(H)
    elif defect == "horizon_frac" and "horizon" in kwargs:
        kwargs["horizon"] = H + 0.5
    elif defect == "trailing_empty":
        flat[-1] = 0.0
    elif defect == "R_lead":
        R = rng.random((H + 1, S, A))
    elif defect.startswith("mu0"):
        mu = rng.dirichlet(np.ones(S))
        kwargs["mu0"] = {"mu0_dist": mu, "mu0_state": int(rng.integers(S)), "mu0_neg": mu - 2.0 * (np.arange(S) == 0),
                         "mu0_sum": mu * 1.5, "mu0_len": np.ones(S + 1) / (S + 1), "mu0_bad_state": S}[defect]
    lead = (hp, S, A) if hp > 1 else (S, A)
    if form in ("dense", "list"):
        P = flat.reshape(lead + (S,))
        if defect == "P_shape":
            P = np.concatenate([P, P[..., :1]], axis=-1)
        return (P.tolist() if form == "list" else P), R, kwargs
    if form == "succ":
        succ = []
        for s in range(S):
            row = []
            for a in range(A):
                x = flat[s * A + a]
                nz = np.flatnonzero(x != 0)
                row.append([nz.tolist(), x[nz].tolist()])
            succ.append(row)
        s, a = divmod(r, A)
        nxt, prob = succ[s][a]
        if defect == "idx_high":
            nxt[int(rng.integers(len(nxt)))] = S + int(rng.integers(0, 1000))
        elif defect == "idx_neg":
            nxt[int(rng.integers(len(nxt)))] = -1 - int(rng.integers(0, 1000))
        elif defect == "empty_last":
            succ[-1][-1] = [[], []]
        elif defect == "dup":
            nxt.append(nxt[0])
            prob[0] /= 2.0
            prob.append(prob[0])
        return [[tuple(p) for p in row] for row in succ], R, kwargs
    # CSR: raw arrays, then the structural defects scipy does not check
    M = sp.csr_matrix(flat)
    indptr, indices, data = M.indptr.copy(), M.indices.copy(), M.data.copy()
    lo, hi = int(indptr[r]), int(indptr[r + 1])
    if defect in ("dup", "unsorted", "dup_neg_ok") and hi > lo:
        ix, dt = list(indices[lo:hi]), list(data[lo:hi])
        if defect == "dup":
            ix, dt = ix + [ix[0]], [dt[0] / 2.0] + dt[1:] + [dt[0] / 2.0]
        elif defect == "dup_neg_ok":
            ix, dt = ix + [ix[0]], [dt[0] + 0.3] + dt[1:] + [-0.3]
        else:
            ix, dt = ix[::-1], dt[::-1]
        indices = np.concatenate([indices[:lo], ix, indices[hi:]]).astype(np.int32)
        data = np.concatenate([data[:lo], dt, data[hi:]])
        indptr[r + 1:] += len(ix) - (hi - lo)
    M = sp.csr_matrix((data, indices, indptr), shape=(n, S))
    if defect == "float32_data":  # rows then sum to 1 only to float32 rounding
        M = M.astype(np.float32)
    nnz = M.indptr[-1]
    k = int(rng.integers(nnz)) if nnz else 0
    if defect == "idx_high" and nnz:
        M.indices[k] = S + int(rng.integers(0, 1000))
    elif defect == "idx_neg" and nnz:
        M.indices[k] = -1 - int(rng.integers(0, 1000))
    elif defect == "indptr_decrease":
        i = int(rng.integers(1, n + 1))
        M.indptr[i] = M.indptr[i - 1] - 1 - int(rng.integers(0, 3))
    elif defect == "indptr_short":
        M.indptr = M.indptr[:-1 - int(rng.integers(0, n))]
    elif defect == "indptr_past_end":
        M.indptr[int(rng.integers(1, n + 1)):] += 1 + int(rng.integers(0, 5))
    return M, R, kwargs


# ------------------------------------------------------------------------------------ reference interpreter
def _label(r, hp, S, A):
    h, rem = divmod(r, S * A)
    s, a = divmod(rem, A)
    return f"(h={h}, s={s}, a={a})" if hp > 1 else f"(s={s}, a={a})"


def _row_ok(vals):
    return bool(np.all(np.isfinite(vals)) and vals.min() >= 0 and abs(vals.sum() - 1.0) <= ATOL)


def _successor_list(P):
    """The documented rule for nested sequences: a successor list when ``P[0][0]`` is a tuple of two 1-D
    sequences (the fuzzer's successor lists always are); any other nested list it draws is a dense kernel."""
    return isinstance(P, list) and isinstance(P[0][0], tuple) and len(P[0][0]) == 2


def reference(P, R, kwargs):
    """``("invalid", field, row_label_or_None)`` or ``("valid", P4 (hp, S, A, S), R3, H_or_None, gamma)``."""
    if "gamma" in kwargs:
        g, H = kwargs["gamma"], None
        if not 0.0 <= g < 1.0:
            return "invalid", "gamma", None
    else:
        g, h = None, kwargs["horizon"]
        if float(h) != int(h) or h < 1:
            return "invalid", "horizon", None
        H = int(h)
    R = np.asarray(R, dtype=float)
    if not np.all(np.isfinite(R)):
        return "invalid", "R", None
    if isinstance(P, sp.csr_matrix):
        rows, S = P.shape
        if R.shape[-2] != S:
            return "invalid", "R", None
        A = R.shape[-1]
        if rows == S * A:
            hp = 1
        elif H is not None and rows == H * S * A:
            hp = H
        else:
            return "invalid", "P", None
        indptr, indices, data = (np.asarray(x) for x in (P.indptr, P.indices, P.data))
        if len(indptr) != rows + 1:
            return "invalid", "P", _label(len(indptr) - 1, hp, S, A) if len(indptr) <= rows else None
        if indptr[0] != 0:
            return "invalid", "P", _label(0, hp, S, A)
        stored = min(len(indices), len(data))
        limit = stored if indptr[-1] > stored else max(int(indptr[-1]), 0)
        out = np.zeros((rows, S))
        for r in range(rows):
            lo, hi = int(indptr[r]), int(indptr[r + 1])
            if hi < lo or hi > limit:
                return "invalid", "P", _label(r, hp, S, A)
            for k in range(lo, hi):
                if not 0 <= int(indices[k]) < S:
                    return "invalid", "P", _label(r, hp, S, A)
                out[r, int(indices[k])] += float(data[k])
            if hi == lo or not _row_ok(out[r][np.unique(indices[lo:hi])]):
                return "invalid", "P", _label(r, hp, S, A)
        P4 = out.reshape(hp, S, A, S)
    elif _successor_list(P):
        S, A = len(P), len(P[0])
        if R.shape[-2:] != (S, A):
            return "invalid", "R", None
        hp = 1
        out = np.zeros((S * A, S))
        for s in range(S):
            for a in range(A):
                nxt, prob = P[s][a]
                for t, p in zip(nxt, prob):
                    if not 0 <= t < S:
                        return "invalid", "P", _label(s * A + a, 1, S, A)
                    out[s * A + a, t] += p
                if not nxt or not _row_ok(out[s * A + a][np.unique(nxt)]):
                    return "invalid", "P", _label(s * A + a, 1, S, A)
        P4 = out.reshape(1, S, A, S)
    else:
        arr = np.asarray(P, dtype=float)
        if arr.shape[-3] != arr.shape[-1]:
            return "invalid", "P", None
        S, A = arr.shape[-3:-1]
        if R.shape[-2:] != (S, A):
            return "invalid", "R", None
        hp = 1 if arr.ndim == 3 else arr.shape[0]
        flat = arr.reshape(-1, S)
        for r in range(flat.shape[0]):
            if not _row_ok(flat[r]):
                return "invalid", "P", _label(r, hp, S, A)
        P4 = flat.reshape(hp, S, A, S)
    if R.ndim == 3 and (H is None or R.shape[0] != H):
        return "invalid", "R", None
    mu = kwargs.get("mu0")
    if mu is not None:
        if isinstance(mu, int):
            if not 0 <= mu < S:
                return "invalid", "mu0", None
        else:
            mu = np.asarray(mu, dtype=float)
            if mu.shape != (S,) or mu.min() < 0 or abs(mu.sum() - 1.0) > ATOL:
                return "invalid", "mu0", None
    return "valid", P4, (R if R.ndim == 3 else R[None]), H, g


def reference_solve(P4, R3, H, g):
    hp, S, A, _ = P4.shape
    if H is not None:
        V = np.zeros(S)
        for h in range(H - 1, -1, -1):
            V = (R3[h if R3.shape[0] > 1 else 0] + P4[h if hp > 1 else 0] @ V).max(axis=1)
        return V
    P, R = P4[0], R3[0]
    pi = np.zeros(S, dtype=int)
    for _ in range(1000):  # Howard's policy iteration, exact linear solves
        Ppi, Rpi = P[np.arange(S), pi], R[np.arange(S), pi]
        V = np.linalg.solve(np.eye(S) - g * Ppi, Rpi)
        Q = R + g * P @ V
        new = np.where(Q.max(axis=1) > Q[np.arange(S), pi] + 1e-12, Q.argmax(axis=1), pi)
        if np.array_equal(new, pi):
            return V
        pi = new
    raise AssertionError("reference policy iteration did not stop")


def check_case(spec):
    P, R, kwargs = build(spec)
    ref = reference(P, R, kwargs)
    if ref[0] == "invalid":
        _, field, label = ref
        with pytest.raises((ValueError, TypeError)) as info:
            TabularMDP(P, R, **kwargs)
        msg = str(info.value)
        assert msg.startswith(field), (spec, msg)
        if label is not None:
            assert label in msg, (spec, label, msg)
        return
    _, P4, R3, H, g = ref
    mdp = TabularMDP(P, R, **kwargs)
    assert np.allclose(mdp.P4(), P4, rtol=0, atol=1e-12), spec
    Vref = reference_solve(P4, R3, H, g)
    V = solve(mdp).V
    V0 = V[0] if H is not None else V
    scale = 1.0 + float(np.abs(R3).max()) * (H if H is not None else 1.0 / (1.0 - g))
    assert np.max(np.abs(V0 - Vref)) <= 1e-8 * scale, (spec, V0, Vref)


_FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


# ------------------------------------------------------------------------------------------- the tests
@settings(_FUZZ, max_examples=150)
@given(specs(["dense", "list"]))
def test_fuzz_dense_and_list_models(spec):
    check_case(spec)


@pytest.mark.slow
@settings(_FUZZ, max_examples=3000)
@given(specs(["dense", "list"]))
def test_fuzz_dense_and_list_models_thorough(spec):
    check_case(spec)


def _fuzz_in_subprocess(n_examples: int, timeout: float):
    """Run the sparse / successor-list fuzzer in a fresh interpreter: a crash is a failed test."""
    run_cases_in_subprocess("test_model_fuzz", 'm.specs(["csr", "succ"])', "check_case", "_FUZZ", n_examples, timeout)


def test_fuzz_sparse_and_successor_models_in_subprocess():
    _fuzz_in_subprocess(300, timeout=600)


@pytest.mark.slow
def test_fuzz_sparse_and_successor_models_in_subprocess_thorough():
    _fuzz_in_subprocess(5000, timeout=3000)
