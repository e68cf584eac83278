"""Numba kernels that validate transition kernels in one pass over their arrays.

Each kernel reads every entry once and allocates nothing of the input's size: it returns the first offending
row (``-1`` when every row is a probability distribution) and the caller (``tabular.py``) re-examines that one
row in NumPy to word the error. A row ``r`` is a flat index ``(h*S + s)*A + a``.

A row is accepted when it has no negative entry and ``|sum_j P[r, j] - 1| <= atol``, the sum taken in storage
order of the canonical form (columns increasing, a repeated column summed first, as in a dense row): one rule for
every input form, so that a kernel accepted dense is accepted as CSR, COO or successor list in any entry order, and
the reverse. The comparison is written ``not (|sum - 1| <= atol)`` so that
a NaN or infinite entry (whose sum is NaN or infinite) also fails it. The dense check sums with reassociated
(vectorised) additions and falls back to the storage-order sum from the first row whose fast sum lies within
a rounding margin of the tolerance on (:func:`dense_first_bad_row`, :data:`REASSOC_MARGIN_FACTOR`).
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange, uint64

from .._threads import core_free

#: Codes returned by :func:`csr_check_copy` (the first structural or value defect found in a row).
CSR_OK = 0
CSR_INDPTR_DECREASES = 1  # indptr[r + 1] < indptr[r]
CSR_INDPTR_PAST_END = 2  # indptr[r + 1] > nnz (the stored entries)
CSR_INDEX_OUT_OF_RANGE = 3  # a column index outside [0, S)
CSR_BAD_VALUES = 4  # a negative entry, or a sum != 1 within atol (NaN / inf included)


#: ``c`` in the margin ``c * n * (tot + 1)`` within which :func:`dense_first_bad_row` re-sums a row of ``n``
#: entries in storage order (``tot``: its reassociated sum).
#:
#: Any order of summing ``k + 1`` floats (a tree of ``k`` rounded additions, the vectorised reassociated sum
#: included) errs by at most ``gamma_k`` times the sum of their magnitudes, ``gamma_k = k u / (1 - k u)`` with
#: ``u = 2**-53`` the unit roundoff (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., section
#: 4.2). For a non-negative row of exact sum ``s``, the reassociated and the storage-order sums therefore differ by
#: at most ``2 gamma_{n-1} s = 2 (n - 1) u s (1 + O(n u))``. The deviation ``tot - 1`` is exact
#: in the range where the test matters (Sterbenz), unless the compiler, free to reassociate, folds the ``- 1`` into
#: the sum, which adds at most ``gamma_n (s + 1)``. Both together stay below ``gamma_n (3 s + 1)``, and the margin
#: ``2 eps n (tot + 1) = 4 u n (tot + 1)`` (``eps = 2**-52``) exceeds that, with ``s <= tot / (1 - gamma_{n-1})``
#: and the rounding of the margin and comparisons themselves (a few ``u`` relative) included, whenever
#: ``n u <= 1/16`` (any row up to ``2**49`` entries). So a row whose fast deviation exceeds ``atol + margin`` is
#: rejected and one below ``atol - margin`` accepted exactly as the storage-order sum would decide; only the rows in
#: between (deviations within about ``8 n u`` of ``atol``) are summed again.
REASSOC_MARGIN_FACTOR = 2.0 * 2.0**-52


@njit(cache=True)
def row_sum_in_order(row):
    """``row[0] + row[1] + ...`` added left to right (no reassociation): the sum every row check decides on.

    Called from Python or from kernels compiled without ``fastmath`` only: Numba compiles a function called from a
    ``fastmath`` kernel with that kernel's flags, and then reuses that compilation for its other callers."""
    tot = 0.0
    for j in range(row.shape[0]):
        tot += row[j]
    return tot


@njit(cache=True, fastmath={"reassoc"})
def _dense_scan(flat, atol, start):
    """First row ``r >= start`` of ``flat`` that the reassociated sum does not accept outright, as ``(r, rejected)``:
    ``rejected`` when it has a negative entry or its sum is beyond the margin (:data:`REASSOC_MARGIN_FACTOR`),
    else its sum is on the tolerance edge and must be summed again in storage order; ``(-1, False)`` when none."""
    n, S = flat.shape
    c = REASSOC_MARGIN_FACTOR * S
    for r in range(start, n):
        tot = 0.0
        neg = 0
        for j in range(S):
            x = flat[r, j]
            tot += x
            neg += x < 0.0
        if neg > 0:
            return r, True
        dev = abs(tot - 1.0)
        band = c * (tot + 1.0)
        if dev <= atol - band:
            continue
        return r, not (dev <= atol + band)  # (NaN included)
    return -1, False


@njit(cache=True)
def _dense_scan_in_order(flat, atol, start):
    """First row ``r >= start`` of ``flat`` with a negative entry or a storage-order sum (as
    :func:`row_sum_in_order` adds it) off 1 by more than ``atol``, or -1. Compiled without ``fastmath`` and only
    called from Python (see :func:`row_sum_in_order`)."""
    n, S = flat.shape
    for r in range(start, n):
        tot = 0.0
        neg = 0
        for j in range(S):
            x = flat[r, j]
            tot += x
            neg += x < 0.0
        if neg > 0 or not (abs(tot - 1.0) <= atol):
            return r
    return -1


def dense_first_bad_row(flat, atol) -> int:
    """First row of ``flat`` (n, S) that is not a probability vector within ``atol``, or -1.

    A row passes when it has no negative entry and its storage-order sum (:func:`row_sum_in_order`, as the CSR
    checks add its entries) is within ``atol`` of 1. The rows are summed reassociated (vectorised, in
    :func:`_dense_scan`) until a row's deviation from 1 falls within the rounding margin of
    :data:`REASSOC_MARGIN_FACTOR` of ``atol``, where the two sums could decide differently: from that row on, the
    rows are summed in storage order (:func:`_dense_scan_in_order`, one more compiled call), which decides. A kernel
    without such a row costs one vectorised pass; one with many costs at most one more, scalar, pass."""
    r, rejected = _dense_scan(flat, atol, 0)
    if r < 0 or rejected:
        return int(r)
    return int(_dense_scan_in_order(flat, atol, r))


@njit(cache=True)
def _row_values_bad(data, lo, hi, atol):
    tot = 0.0
    neg = False
    for k in range(lo, hi):
        x = data[k]
        tot += x
        if x < 0.0:
            neg = True
    return neg or not (abs(tot - 1.0) <= atol)


@njit(cache=True)
def csr_check_copy(indptr, indices, data, S, atol, out_indices, out_data):
    """Validate CSR arrays while copying them into ``out_indices`` (int32 or int64) and ``out_data`` (float64).

    ``indptr`` has ``n + 1`` entries with ``indptr[0] == 0`` (checked by the caller) and ``nnz`` is
    ``out_data.shape[0]`` (``<= len(indices), len(data)``, also checked by the caller). Rows are scanned in order
    and the scan stops at the first row with a defect: decreasing or out-of-range pointers, a column index outside
    ``[0, S)`` (every index is checked before it is used, so nothing is read or written out of bounds), or, while
    every row so far is in canonical form (strictly increasing columns), values that are not a probability vector
    within ``atol`` (a negative entry, or a storage-order sum off 1 by more than ``atol``). From the first row with
    an unsorted or repeated column on, the values are copied but not judged: the caller judges every row on the
    canonical form (sorted, duplicates summed, :func:`csr_first_bad_values`), so that a kernel's verdict does not
    depend on the order its entries were listed in and equals that of its dense form, whose columns are in order.
    Returns ``(row, code, canonical)``: the first bad row and its defect code (``-1, CSR_OK`` when none) and whether
    the column indices were strictly increasing in every row scanned (scipy's canonical format).
    """
    n = indptr.shape[0] - 1
    nnz = out_data.shape[0]
    canonical = True
    for r in range(n):
        lo = indptr[r]
        hi = indptr[r + 1]
        if hi < lo:
            return r, CSR_INDPTR_DECREASES, canonical
        if hi > nnz:
            return r, CSR_INDPTR_PAST_END, canonical
        prev = -1
        n_bad = 0
        n_desc = 0
        n_neg = 0
        tot = 0.0
        for k in range(lo, hi):  # branch-free: the indices are only stored here, never used to address memory
            j = np.int64(indices[k])
            n_bad += (j < 0) | (j >= S)
            n_desc += j <= prev
            prev = j
            x = np.float64(data[k])
            out_indices[k] = j
            out_data[k] = x
            tot += x
            n_neg += x < 0.0
        if n_bad:
            return r, CSR_INDEX_OUT_OF_RANGE, canonical
        if n_desc:
            canonical = False
        if canonical and (n_neg > 0 or not (abs(tot - 1.0) <= atol)):
            return r, CSR_BAD_VALUES, canonical
    return -1, CSR_OK, canonical


@njit(cache=True)
def _first_nonfinite_from(flat, n_bad):
    """Index of the first NaN or infinite entry of ``flat`` when a counting pass found ``n_bad`` of them, else -1
    (``x - x == 0`` holds exactly for finite ``x``)."""
    if n_bad == 0:
        return -1
    for i in range(flat.shape[0]):
        x = flat[i]
        if not (x - x == 0.0):
            return i
    return -1


@njit(cache=True)
def first_nonfinite(flat):
    """Index of the first NaN or infinite entry of the 1-D float64 array ``flat``, or -1 (one pass, no temporary)."""
    bad = 0
    for i in range(flat.shape[0]):
        x = flat[i]
        bad += not (x - x == 0.0)
    return _first_nonfinite_from(flat, bad)


@njit(cache=True)
def _copy_first_nonfinite(src, dst):
    """Copy the 1-D float64 array ``src`` into ``dst`` (in the same pass as :func:`first_nonfinite`) and return
    the index of its first NaN or infinite entry, or -1."""
    bad = 0
    for i in range(src.shape[0]):
        x = src[i]
        dst[i] = x
        bad += not (x - x == 0.0)
    return _first_nonfinite_from(dst, bad)


#: Rows per block of :func:`csr_check_shared`: a block's entries (about 10 per row on typical kernels) stay in the
#: L1 cache between its two passes, so a kernel larger than the caches is read from memory once.
CSR_BLOCK_ROWS = 256


@njit(cache=True)
def _csr_rows_ok(indptr, indices, data, S, atol, r0, r1):
    """The check of :func:`csr_check_shared` on rows ``r0 .. r1 - 1`` (True when they all pass).

    The start pointer ``indptr[r0]`` is checked here (within ``[0, nnz]``), so a range can be checked without the
    rows before it; every later pointer is checked against its predecessor and ``nnz`` before the entries it
    delimits are read. Entry ``indptr[r0] - 1`` (the last entry of an earlier row, when there is one) is read as
    the predecessor of the range's first entry, exactly as in a scan from row 0."""
    nnz = uint64(data.shape[0])
    Su = uint64(S)
    k_s = np.int64(indptr[r0])
    if k_s < 0 or uint64(k_s) > nnz:
        return False
    k = uint64(k_s)
    for b0 in range(r0, r1, CSR_BLOCK_ROWS):
        b1 = min(b0 + CSR_BLOCK_ROWS, r1)
        k0 = k
        bad = False
        n_start = 0  # rows starting with a column <= the previous entry's (a descent across a row boundary)
        for r in range(b0, b1):
            hi_s = np.int64(indptr[r + 1])
            hi = uint64(hi_s)
            if hi_s < 0 or hi < k or hi > nnz:
                return False
            if k < hi and k > uint64(0):
                n_start += np.int64(indices[k]) <= np.int64(indices[k - uint64(1)])
            tot = 0.0
            while k < hi:
                tot += data[k]
                k += uint64(1)
            bad |= not (abs(tot - 1.0) <= atol)
        if bad:
            return False
        n_desc = 0
        n_bad = 0
        first = k0
        if k0 == uint64(0) and k > uint64(0):
            n_bad += (uint64(indices[0]) >= Su) | (data[0] < 0.0)
            first = uint64(1)
        for i in range(first, k):
            j = np.int64(indices[i])
            n_desc += j <= np.int64(indices[i - uint64(1)])
            n_bad += (uint64(j) >= Su) | (data[i] < 0.0)
        if n_bad or n_desc != n_start:
            return False
    return True


#: Returned by :func:`csr_check_shared` (non-negative values are indices of a non-finite reward).
SHARED_OK = -1  # every row passes, in canonical form
SHARED_REJECTED = -2  # a defect or a non-canonical row somewhere: the copying pass decides and names it


@njit(cache=True)
def _copy_pointers(indptr, indptr_out):
    """Copy ``indptr`` into the int64 ``indptr_out`` when it has the same length (else leave it: no copy asked)."""
    if indptr_out.shape[0] == indptr.shape[0]:
        for r in range(indptr.shape[0]):
            indptr_out[r] = indptr[r]


@njit(cache=True)
def _csr_check_shared_serial(indptr, indices, data, S, atol, R, R_out, indptr_out):
    """:func:`csr_check_shared` on one thread (rewards first, then every row, then the copy of the pointers)."""
    i = _copy_first_nonfinite(R, R_out)
    if i >= 0:
        return i
    if not _csr_rows_ok(indptr, indices, data, S, atol, 0, indptr.shape[0] - 1):
        return SHARED_REJECTED
    _copy_pointers(indptr, indptr_out)
    return SHARED_OK


@njit(cache=True, parallel=True)
def _csr_check_shared_par(indptr, indices, data, S, atol, n_parts, indptr_out):
    """The rows of :func:`csr_check_shared` split into ``n_parts`` contiguous ranges checked on Numba threads;
    True when every range passes (the same rows and entries are judged as on one thread, so the same verdict),
    after which the pointers are copied as on one thread."""
    n = indptr.shape[0] - 1
    ok = np.empty(n_parts, dtype=np.bool_)
    for p in prange(n_parts):
        ok[p] = _csr_rows_ok(indptr, indices, data, S, atol, p * n // n_parts, (p + 1) * n // n_parts)
    for p in range(n_parts):
        if not ok[p]:
            return False
    _copy_pointers(indptr, indptr_out)
    return True


#: Stored entries from which :func:`csr_check_shared` splits the rows over the Numba threads. A threaded check ends
#: when its last thread does, so on a machine whose cores are all busy it waits for a thread to be scheduled (a
#: scheduler time slice, far longer than the check of a small kernel): the split is only taken while other
#: processes leave a core idle (:func:`csr_check_threads`). Below this size the serial check is short enough that
#: waking the worker threads would take most of what they save.
#: ``numba.set_num_threads(1)`` (or ``NUMBA_NUM_THREADS=1``) keeps every check on the calling thread.
CSR_PARALLEL_MIN_NNZ = 50_000

#: The reward arguments of :func:`csr_check_shared` when there are no rewards to check.
NO_REWARDS = np.zeros(0)
#: The ``indptr_out`` argument of :func:`csr_check_shared` when no int64 copy of the row pointers is wanted.
NO_POINTERS = np.zeros(0, dtype=np.int64)


def csr_check_threads(nnz: int) -> int:
    """Number of Numba threads :func:`csr_check_shared` would split a kernel of ``nnz`` stored entries over now
    (1: the serial kernel): all of them from ``CSR_PARALLEL_MIN_NNZ`` entries when there are several and other
    processes leave a core idle (:func:`rltheory._threads.core_free`)."""
    if nnz < CSR_PARALLEL_MIN_NNZ or not core_free():  # (core_free is the cheaper call: first)
        return 1
    return get_num_threads()


def csr_check_shared(indptr, indices, data, S, atol, R=NO_REWARDS, R_out=NO_REWARDS, indptr_out=NO_POINTERS):
    """Validate CSR arrays in place (their entries and column indices are not copied), together with the rewards
    ``R`` (copied into ``R_out``); when every row passes, the row pointers are copied into the int64
    ``indptr_out`` (of ``indptr``'s length; :data:`NO_POINTERS` for no copy) in the same compiled call.

    The fast path of :func:`csr_check_copy` for arrays the model may keep as they are: ``indices`` int32 or
    int64, ``data`` float64, ``indptr`` with ``n + 1`` entries and ``indptr[0] == 0`` (checked by the caller);
    ``nnz`` = ``data.shape[0] <= indices.shape[0]``. ``R`` and ``R_out`` are 1-D float64 arrays of one length (the
    flattened rewards and their copy; :data:`NO_REWARDS` for none): they are checked first, in the same compiled
    call, so that a small model costs one call. The rows are scanned in blocks of ``CSR_BLOCK_ROWS``; per block one
    pass over its row pointers (non-decreasing, within ``nnz``) and row sums, then one branch-free pass over its
    entries (column range, sign, strictly increasing columns within each row; the boundary pairs between rows are
    counted in the first pass and discounted) that the compiler vectorises. From ``CSR_PARALLEL_MIN_NNZ`` stored
    entries, when Numba has more than one thread and other processes leave a core idle (:func:`csr_check_threads`),
    contiguous ranges of rows are checked on the threads (:func:`_csr_check_shared_par`); the verdict does not
    depend on the split.

    Returns
    -------
    int
        The index (into ``R``) of the first NaN or infinite reward, when there is one (the rows are then not
        checked); else :data:`SHARED_OK` when every row is a probability vector within ``atol`` stored in
        canonical form (sorted, no duplicate column), or :data:`SHARED_REJECTED` at the first block with any
        defect or duplicate, after which the caller runs :func:`csr_check_copy`, which finds and names the first
        bad row. Every pointer is checked before the entries it delimits are read, so nothing is read out of
        bounds. Each row is summed in storage order (the order of :func:`csr_check_copy`, so both accept the
        same rows), on unsigned indices (no wrap-around test per access).
    """
    n_threads = csr_check_threads(data.shape[0])
    if n_threads == 1:
        return _csr_check_shared_serial(indptr, indices, data, S, atol, R, R_out, indptr_out)
    i = _copy_first_nonfinite(R, R_out)
    if i >= 0:
        return i
    return (SHARED_OK if _csr_check_shared_par(indptr, indices, data, S, atol, n_threads, indptr_out)
            else SHARED_REJECTED)


@njit(cache=True)
def csr_first_bad_values(indptr, data, atol):
    """First row of a structurally valid CSR kernel that is not a probability vector within ``atol``, or -1."""
    n = indptr.shape[0] - 1
    for r in range(n):
        if _row_values_bad(data, indptr[r], indptr[r + 1], atol):
            return r
    return -1


@njit(cache=True)
def compressed_structure_bad(indptr, indices, n_minor, nnz):
    """First major slot of a compressed (CSR/CSC) structure whose pointers decrease, run past ``nnz`` or whose
    minor indices leave ``[0, n_minor)``; returns ``(slot, code)``, ``(-1, CSR_OK)`` when sound."""
    n = indptr.shape[0] - 1
    for r in range(n):
        lo = indptr[r]
        hi = indptr[r + 1]
        if hi < lo:
            return r, CSR_INDPTR_DECREASES
        if hi > nnz:
            return r, CSR_INDPTR_PAST_END
        for k in range(lo, hi):
            j = indices[k]
            if j < 0 or j >= n_minor:
                return r, CSR_INDEX_OUT_OF_RANGE
    return -1, CSR_OK


@njit(cache=True)
def max_path_return(support, R3, H, W_out):
    """Largest total reward of any feasible trajectory from each start state (max-plus backward induction):
    ``W_h(s) = max_a [r_h(s,a) + max_{s': support[s,a,s']} W_{h+1}(s')]``, ``W_H = 0``; writes ``W_0`` to ``W_out``.

    ``support`` (S, A, S) is boolean; ``R3`` is (hr, S, A) with ``hr`` in {1, H}. A pair with an empty support
    contributes ``-inf``."""
    S, A, _ = support.shape
    hr = R3.shape[0]
    W = np.zeros(S)
    Wn = np.empty(S)
    for h in range(H - 1, -1, -1):
        Rh = R3[h if hr > 1 else 0]
        for s in range(S):
            best = -np.inf
            for a in range(A):
                nxt = -np.inf
                for t in range(S):
                    if support[s, a, t] and W[t] > nxt:
                        nxt = W[t]
                q = Rh[s, a] + nxt
                if q > best:
                    best = q
            Wn[s] = best
        W, Wn = Wn, W
    for s in range(S):
        W_out[s] = W[s]
