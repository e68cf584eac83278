"""The in-place CSR check (``rltheory.models._validate.csr_check_shared``): one thread and several agree.

:func:`csr_check_shared` runs :func:`_csr_check_shared_serial` on small kernels and splits the rows over Numba
threads (:func:`_csr_check_shared_par`) on large ones. Both are compared here, for several splits, with a plain
Python reading of the rule they implement (every pointer non-decreasing and within the stored entries, every
column in ``[0, S)`` and strictly increasing along its row, no negative entry, every row sum - taken in storage
order, as both kernels and the copying pass take it - within ``atol`` of 1) on random CSR arrays carrying one
structural or value defect each. The kernels read raw pointers, so the cases run in a subprocess: a crash (an
out-of-bounds read) fails the test instead of killing pytest.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _isolated import run_cases_in_subprocess

ATOL = 1e-9
DEFECTS = ["none", "nan", "inf", "neg", "sum_over", "sum_at_tol", "idx_high", "idx_neg", "unsorted", "dup",
           "indptr_decrease", "indptr_negative", "indptr_past_end", "indptr_huge", "empty_rows"]
_CASES = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@st.composite
def cases(draw):
    return dict(n=draw(st.integers(1, 40)), S=draw(st.integers(1, 6)), defect=draw(st.sampled_from(DEFECTS)),
                idx64=draw(st.booleans()), seed=draw(st.integers(0, 2**32 - 1)), parts=draw(st.integers(1, 9)))


def build(case):
    """Raw ``(indptr, indices, data)`` of ``n`` rows over ``S`` columns with the drawn defect, cut as the caller
    (``TabularMDP._set_csr``) cuts them: ``data`` holds the usable entries only."""
    rng = np.random.default_rng(case["seed"])
    n, S, defect = case["n"], case["S"], case["defect"]
    rows_ix, rows_dt = [], []
    for _ in range(n):
        k = 0 if defect == "empty_rows" and rng.random() < 0.3 else int(rng.integers(1, S + 1))
        cols = np.sort(rng.choice(S, size=k, replace=False))
        w = rng.dirichlet(np.ones(k)) if k else np.zeros(0)
        rows_ix.append(list(cols))
        rows_dt.append(list(w))
    r = int(rng.integers(n))
    if not rows_ix[r]:
        rows_ix[r], rows_dt[r] = [int(rng.integers(S))], [1.0]
    i = int(rng.integers(len(rows_ix[r])))
    if defect in ("nan", "inf", "neg"):
        rows_dt[r][i] = {"nan": np.nan, "inf": np.inf, "neg": -0.25}[defect]
    elif defect == "sum_over":
        rows_dt[r][i] += 3 * ATOL
    elif defect == "sum_at_tol":  # within a few ulps of the tolerance: decided by the exact float sum
        rows_dt[r][i] += ATOL * (1.0 + float(rng.integers(-4, 5)) * 2.0**-50)
    elif defect == "idx_high":
        rows_ix[r][i] = S + int(rng.integers(0, 3))
    elif defect == "idx_neg":
        rows_ix[r][i] = -1 - int(rng.integers(0, 3))
    elif defect == "unsorted" and len(rows_ix[r]) > 1:
        rows_ix[r], rows_dt[r] = rows_ix[r][::-1], rows_dt[r][::-1]
    elif defect == "dup":
        rows_ix[r] = rows_ix[r] + [rows_ix[r][i]]
        rows_dt[r] = [x / 2.0 if t == i else x for t, x in enumerate(rows_dt[r])] + [rows_dt[r][i] / 2.0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum([len(x) for x in rows_ix], out=indptr[1:])
    indices = np.array([j for x in rows_ix for j in x], dtype=np.int64 if case["idx64"] else np.int32)
    data = np.array([v for x in rows_dt for v in x], dtype=np.float64)
    q = int(rng.integers(1, n + 1))
    if defect == "indptr_decrease":
        indptr[q] = indptr[q - 1] - 1 - int(rng.integers(0, 3))
    elif defect == "indptr_negative":
        indptr[q] = -1 - int(rng.integers(0, 5))
    elif defect == "indptr_past_end":
        indptr[q:] += 1 + int(rng.integers(0, 3))
    elif defect == "indptr_huge":
        indptr[q] = np.iinfo(np.int64).max - int(rng.integers(0, 3))
    if not case["idx64"] and defect != "indptr_huge":
        indptr = indptr.astype(np.int32)
    stored = min(indices.shape[0], data.shape[0])
    nnz = stored if int(indptr[-1]) > stored else max(int(indptr[-1]), 0)
    return indptr, indices, data[:nnz]


def reference(indptr, indices, data, S, atol):
    """The rule of the in-place check, read entry by entry in plain Python."""
    k = 0
    for r in range(indptr.shape[0] - 1):
        hi = int(indptr[r + 1])
        if hi < k or hi > data.shape[0]:
            return False
        tot = 0.0
        for t in range(k, hi):
            j = int(indices[t])
            if j < 0 or j >= S or data[t] < 0.0 or (t > k and j <= int(indices[t - 1])):
                return False
            tot += float(data[t])
        if not abs(tot - 1.0) <= atol:
            return False
        k = hi
    return True


def check_case(case):
    from rltheory.models import _validate as V

    indptr, indices, data = build(case)
    want = reference(indptr, indices, data, case["S"], ATOL)
    args = (indptr, indices, data, case["S"], ATOL)
    # an accepted kernel's pointers are copied into the int64 array the model then keeps
    out = np.full(indptr.shape[0], -7, dtype=np.int64)
    assert (V._csr_check_shared_serial(*args, V.NO_REWARDS, V.NO_REWARDS, out) == V.SHARED_OK) is want, case
    assert not want or np.array_equal(out, indptr), case
    out = np.full(indptr.shape[0], -7, dtype=np.int64)
    assert bool(V._csr_check_shared_par(*args, case["parts"], out)) is want, case
    assert not want or np.array_equal(out, indptr), case
    assert bool(V._csr_check_shared_par(*args, case["parts"], V.NO_POINTERS)) is want, case
    assert (V.csr_check_shared(*args) == V.SHARED_OK) is want, case


def test_serial_and_threaded_checks_match_the_rule_in_subprocess():
    run_cases_in_subprocess("test_csr_check", "m.cases()", "check_case", "_CASES", 400, timeout=600)


def test_large_kernel_takes_the_threaded_path_and_names_nothing_new():
    """From ``CSR_PARALLEL_MIN_NNZ`` entries the dispatcher uses the threads (when Numba has more than one): a
    valid kernel is kept shared and a defect deep inside (in the last range of rows) is still found and named by
    the copying pass."""
    import scipy.sparse as sp

    from rltheory import TabularMDP
    from rltheory.models import _validate as V

    rng = np.random.default_rng(7)
    S, A, k = 6000, 4, 10
    n = S * A
    assert n * k >= V.CSR_PARALLEL_MIN_NNZ
    cols = np.sort((rng.integers(S, size=(n, 1)) + 7 * np.arange(k)) % S, axis=1)  # k distinct columns per row
    w = rng.dirichlet(np.ones(k), size=n)
    M = sp.csr_matrix((w.ravel(), cols.ravel().astype(np.int32), np.arange(0, n * k + 1, k)), shape=(n, S))
    m = TabularMDP(M, np.zeros((S, A)), gamma=0.5)
    assert np.shares_memory(m.csr_arrays[2], M.data)
    bad = M.copy()
    bad.data[(n - 3) * k + 1] = -0.1  # row n - 3 = (s, a) = (S - 1, A - 3)
    try:
        TabularMDP(bad, np.zeros((S, A)), gamma=0.5)
    except ValueError as exc:
        assert f"s={S - 1}, a={A - 3}" in str(exc), exc
    else:
        raise AssertionError("a negative entry was accepted")


@settings(_CASES, max_examples=40)
@given(cases())
def test_build_draws_the_defect_it_names(case):
    """The generator is honest: a drawn defect other than the ones that may not apply makes the rule reject."""
    indptr, indices, data = build(case)
    ok = reference(indptr, indices, data, case["S"], ATOL)
    if case["defect"] in ("nan", "inf", "neg", "sum_over", "idx_high", "idx_neg", "dup", "indptr_decrease",
                          "indptr_negative", "indptr_past_end", "indptr_huge"):
        assert not ok, case
    elif case["defect"] == "none":
        assert ok, case


# -------------------------------------------------------------------------------- dense and CSR: one verdict per row
# The dense check sums rows reassociated (vectorised) and the CSR checks in storage order; at the tolerance edge the
# two sums can fall on either side of ``1 +- atol``. Both decide on the storage-order sum (the dense check re-sums
# the rows whose fast sum is within a rounding margin of the edge), so a kernel gets one verdict in every form.


def _sum_in_order(row) -> float:
    tot = 0.0
    for x in row:
        tot += float(x)
    return tot


@st.composite
def edge_rows(draw):
    """A positive row of ``n`` entries whose storage-order sum is ``1``, ``1 - atol`` or ``1 + atol`` give or take
    a few ulps (entries nudged by a few ulps each)."""
    n = draw(st.one_of(st.integers(1, 70), st.sampled_from([127, 128, 129, 1000, 4099])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    side = draw(st.sampled_from([-1.0, 1.0, 0.0]))
    x = rng.dirichlet(np.ones(n))
    x *= (1.0 + side * ATOL) / _sum_in_order(x)
    for _ in range(draw(st.integers(0, 4))):
        j = int(rng.integers(n))
        x[j] += float(draw(st.integers(-6, 6))) * np.spacing(x[j])
    return x


def _verdict(build_model):
    try:
        build_model()
    except ValueError as exc:
        return str(exc)
    return None


@settings(_CASES, max_examples=300)
@given(edge_rows(), st.integers(1, 3))
def test_dense_and_csr_construction_agree_at_the_tolerance_edge(row, A):
    import scipy.sparse as sp

    from rltheory import TabularMDP

    S = row.size
    P = np.zeros((S, A, S))
    P[..., 0] = 1.0
    P[S // 2, A - 1] = row
    R = np.zeros((S, A))
    dense = _verdict(lambda: TabularMDP(P, R, gamma=0.5, copy=True))
    csr = _verdict(lambda: TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), R, gamma=0.5))
    want_ok = abs(_sum_in_order(row) - 1.0) <= ATOL
    assert (dense is None) is want_ok and dense == csr, (dense, csr)


_EDGE_ROW = np.array([float.fromhex(h) for h in [
    "0x1.ac85133ca75c7p-22", "0x1.228014fdeae56p-6", "0x1.01fad734b75c4p-4", "0x1.f5f57f1f7a296p-4",
    "0x1.697ffeb3e5a99p-3", "0x1.26c3986ad9a72p-2", "0x1.0b8e586b0bd77p-2", "0x1.232778d065d42p-4"]])


def test_a_row_the_reassociated_sum_accepts_is_rejected_as_in_csr_with_its_deviation():
    """This row sums to ``1 + 1.0000000827e-09`` left to right but within ``1e-9`` of 1 reassociated: it was
    accepted dense and rejected as CSR (``m.to_sparse()`` failed on an accepted model). The message shows the
    deviation, as ``1.000000001`` alone would look within the tolerance."""
    import pickle

    import scipy.sparse as sp

    from rltheory import TabularMDP

    assert _sum_in_order(_EDGE_ROW) - 1.0 > ATOL
    P = np.tile(_EDGE_ROW, (8, 1)).reshape(8, 1, 8)
    msg = ("P: transition row (s=0, a=0) sums to 1.000000001 (1 + 1.0000000827e-09), not 1 (tolerance 1e-09)")
    for form in (P, P.tolist(), sp.csr_matrix(P.reshape(8, 8))):
        assert _verdict(lambda: TabularMDP(form, np.zeros((8, 1)), gamma=0.5)) == msg
    ok = P * (1.0 - ATOL)  # well inside: accepted in every form, and through to_sparse and pickling
    m = TabularMDP(ok, np.zeros((8, 1)), gamma=0.5, copy=True)
    assert m.to_sparse().to_dense().P.tolist() == m.P.tolist()
    assert pickle.loads(pickle.dumps(m)).P.tolist() == m.P.tolist()


def test_the_rounding_margin_bounds_the_gap_between_the_two_sums():
    """The margin of ``dense_first_bad_row`` covers the largest gap seen between NumPy's pairwise sum (another
    reassociated order) and the storage-order sum on long near-stochastic rows."""
    from rltheory.models import _validate as V

    rng = np.random.default_rng(3)
    for n in (2, 17, 1000, 100_000):
        for _ in range(20):
            x = rng.dirichlet(np.full(n, 0.3))
            fast, seq = float(x.sum()), _sum_in_order(x)
            assert abs(fast - seq) <= V.REASSOC_MARGIN_FACTOR * n * (fast + 1.0) / 2
