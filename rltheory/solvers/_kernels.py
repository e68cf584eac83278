"""Numba kernels for exact tabular planning and evaluation.

Every function here takes plain NumPy arrays only (no Python objects) and is compiled with
``@njit(cache=True)``. Conventions shared by all kernels:

* dense kernels read ``P`` as ``(hp, S, A, S)`` (finite horizon, ``hp`` in {1, H}) or ``(S, A, S)``
  (discounted); sparse kernels read CSR arrays ``indptr, indices, data`` whose row
  ``(h*S + s)*A + a`` holds ``P_h(.|s, a)``;
* rewards are ``(hr, S, A)`` with ``hr`` in {1, H} (finite horizon) or ``(S, A)`` (discounted);
* stochastic policies are ``(hpi, S, A)`` with ``hpi`` in {1, H} (finite horizon) or ``(S, A)``;
* greedy ties go to the smallest action index.

The tests keep a plain-NumPy reference for each kernel and compare the two on random MDPs.
"""
from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import njit, prange, uint64
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

#: LLVM flags for the reduction loops: reassociation lets the dot products vectorise (SIMD
#: accumulators) and ``contract`` allows fused multiply-adds. Results differ from a strict left-to-right
#: sum only by rounding (the same latitude BLAS takes); no ``nnan``/``ninf`` flags, so comparisons,
#: ties (smallest action) and non-finite values behave exactly as without fastmath.
_FM = {"reassoc", "contract"}
#: The CSR row loops (gathers ``V[indices[k]]``) stay strict: with reassociation LLVM vectorises them into
#: AVX-512 gathers, which measured 2x *slower* than scalar loads on this project's CI CPU (AMD Zen 5: S = 1e5
#: Garnet row loop 9.2 ms with, 4.9 ms without; scipy's CSR matvec 3.2 ms). Strict order also makes sparse
#: results independent of the CPU's vector width.
_FM_GATHER = False

# --------------------------------------------------------------------------------------- helpers


@njit(cache=True)
def _argmax_row(q):
    best = 0
    bv = q[0]
    for a in range(1, q.shape[0]):
        if q[a] > bv:
            bv = q[a]
            best = a
    return best, bv


@njit(cache=True)
def _copy(dst, src):
    """``dst[:] = src`` for 1-d arrays, as a loop (slice assignment costs seconds of first compilation)."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@njit(cache=True)
def _fill(dst, value):
    """``dst[:] = value`` for a 1-d array, as a loop (see :func:`_copy`)."""
    for i in range(dst.shape[0]):
        dst[i] = value


@njit(cache=True, fastmath=_FM)
def _dot4(r0, r1, r2, r3, x):
    """``(r0 . x, r1 . x, r2 . x, r3 . x)`` in one pass over ``x``: four independent accumulators keep more loads
    in flight than one row at a time."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    for t in range(x.shape[0]):
        v = x[t]
        a0 += r0[t] * v
        a1 += r1[t] * v
        a2 += r2[t] * v
        a3 += r3[t] * v
    return a0, a1, a2, a3


@njit(cache=True, fastmath=_FM)
def _dot1(r, x):
    acc = 0.0
    for t in range(x.shape[0]):
        acc += r[t] * x[t]
    return acc


@njit(cache=True)
def _matvec(M, x, out):
    """``out = M @ x`` for a C-contiguous (rows, n) array, four rows at a time on the calling thread.

    Used instead of BLAS (``np.dot``) by the iteration and certification sweeps: a multithreaded BLAS matvec
    must wake its worker threads on every call, and on a machine whose cores are busy with other processes
    each call then waits a scheduler time slice for a descheduled worker, far longer than a mid-sized sweep
    (``benchmarks/run.py``, section ``e2e`` with default BLAS threads). One thread streaming the rows reaches
    the memory bandwidth of the dense sweeps (section ``dense``: the sweep against the BLAS matvec)."""
    m = M.shape[0]
    r = 0
    while r + 3 < m:
        out[r], out[r + 1], out[r + 2], out[r + 3] = _dot4(M[r], M[r + 1], M[r + 2], M[r + 3], x)
        r += 4
    while r < m:
        out[r] = _dot1(M[r], x)
        r += 1


@njit(cache=True)
def _row_dot(indptr, r, indices, data, V):
    """``sum_k data[k] V[indices[k]]`` over the CSR row ``r``, left to right (the one summation order of every
    sparse kernel). The entries are addressed with unsigned integers: with signed ones each access carries a
    negative-index test (NumPy wrap-around), which made the row loops about twice slower."""
    acc = 0.0
    k = uint64(indptr[r])
    end = uint64(indptr[r + 1])
    while k < end:
        acc += data[k] * V[uint64(indices[k])]
        k += uint64(1)
    return acc


@njit(cache=True)
def greedy(Q, V, pi):
    """``pi[s] = argmax_a Q[s, a]``, ``V[s] = max_a Q[s, a]`` for ``Q`` of shape (S, A)."""
    for s in range(Q.shape[0]):
        b, v = _argmax_row(Q[s])
        pi[s] = b
        V[s] = v


# ------------------------------------------------------------------------------ finite horizon


@njit(cache=True, fastmath=_FM)
def backward_induction_dense(P, R, H, V, Q, pi):
    """Optimal finite-horizon values (Bellman 1957; Puterman 1994, Sec. 4.5).

    ``Q_h(s,a) = R_h(s,a) + sum_{s'} P_h(s'|s,a) V_{h+1}(s')``, ``V_h = max_a Q_h``, ``V_H = 0``.
    ``V`` (H+1, S) must be zero on its last row; ``Q`` (H, S, A); ``pi`` (H, S) int64.
    """
    hp = P.shape[0]
    hr = R.shape[0]
    S = P.shape[1]
    A = P.shape[2]
    for h in range(H - 1, -1, -1):
        Ph = P[h if hp > 1 else 0]
        Rh = R[h if hr > 1 else 0]
        Vn = V[h + 1]
        for s in range(S):
            for a in range(A):
                acc = 0.0
                row = Ph[s, a]
                for t in range(S):
                    acc += row[t] * Vn[t]
                Q[h, s, a] = Rh[s, a] + acc
            b, v = _argmax_row(Q[h, s])
            pi[h, s] = b
            V[h, s] = v


@njit(cache=True, fastmath=_FM_GATHER)
def backward_induction_sparse(indptr, indices, data, R, H, S, A, V, Q, pi):
    """Sparse (CSR) version of :func:`backward_induction_dense`."""
    hp = (indptr.shape[0] - 1) // (S * A)
    hr = R.shape[0]
    for h in range(H - 1, -1, -1):
        base = (h if hp > 1 else 0) * S * A
        Rh = R[h if hr > 1 else 0]
        Vn = V[h + 1]
        for s in range(S):
            for a in range(A):
                r = base + s * A + a
                acc = _row_dot(indptr, r, indices, data, Vn)
                Q[h, s, a] = Rh[s, a] + acc
            b, v = _argmax_row(Q[h, s])
            pi[h, s] = b
            V[h, s] = v


@njit(cache=True, fastmath=_FM)
def evaluate_finite_dense(P, R, H, pol, V, Q):
    """Finite-horizon evaluation of a Markov policy ``pol`` (hpi, S, A):
    ``Q^pi_h = R_h + P_h V^pi_{h+1}``, ``V^pi_h(s) = sum_a pi_h(a|s) Q^pi_h(s, a)``."""
    hp = P.shape[0]
    hr = R.shape[0]
    hq = pol.shape[0]
    S = P.shape[1]
    A = P.shape[2]
    for h in range(H - 1, -1, -1):
        Ph = P[h if hp > 1 else 0]
        Rh = R[h if hr > 1 else 0]
        ph = pol[h if hq > 1 else 0]
        Vn = V[h + 1]
        for s in range(S):
            v = 0.0
            for a in range(A):
                acc = 0.0
                row = Ph[s, a]
                for t in range(S):
                    acc += row[t] * Vn[t]
                q = Rh[s, a] + acc
                Q[h, s, a] = q
                v += ph[s, a] * q
            V[h, s] = v


@njit(cache=True, fastmath=_FM_GATHER)
def evaluate_finite_sparse(indptr, indices, data, R, H, S, A, pol, V, Q):
    """Sparse (CSR) version of :func:`evaluate_finite_dense`."""
    hp = (indptr.shape[0] - 1) // (S * A)
    hr = R.shape[0]
    hq = pol.shape[0]
    for h in range(H - 1, -1, -1):
        base = (h if hp > 1 else 0) * S * A
        Rh = R[h if hr > 1 else 0]
        ph = pol[h if hq > 1 else 0]
        Vn = V[h + 1]
        for s in range(S):
            v = 0.0
            for a in range(A):
                r = base + s * A + a
                acc = _row_dot(indptr, r, indices, data, Vn)
                q = Rh[s, a] + acc
                Q[h, s, a] = q
                v += ph[s, a] * q
            V[h, s] = v


@njit(cache=True)
def occupancy_finite_dense(P, H, pol, mu0, d):
    """State-action occupancy ``d_h(s,a) = Pr^pi(s_h = s, a_h = a)`` (H, S, A), forward recursion
    ``d_0(s,a) = mu0(s) pi_0(a|s)``, ``d_{h+1}(s',a') = pi_{h+1}(a'|s') sum_{s,a} d_h(s,a) P_h(s'|s,a)``."""
    hp = P.shape[0]
    hq = pol.shape[0]
    S = P.shape[1]
    A = P.shape[2]
    rho = np.empty(S)
    nxt = np.empty(S)
    _copy(rho, mu0)
    for h in range(H):
        Ph = P[h if hp > 1 else 0]
        ph = pol[h if hq > 1 else 0]
        _fill(nxt, 0.0)
        for s in range(S):
            for a in range(A):
                w = rho[s] * ph[s, a]
                d[h, s, a] = w
                if w != 0.0:
                    row = Ph[s, a]
                    for t in range(S):
                        nxt[t] += w * row[t]
        _copy(rho, nxt)


@njit(cache=True)
def occupancy_finite_sparse(indptr, indices, data, H, S, A, pol, mu0, d):
    """Sparse (CSR) version of :func:`occupancy_finite_dense`."""
    hp = (indptr.shape[0] - 1) // (S * A)
    hq = pol.shape[0]
    rho = np.empty(S)
    nxt = np.empty(S)
    _copy(rho, mu0)
    for h in range(H):
        base = (h if hp > 1 else 0) * S * A
        ph = pol[h if hq > 1 else 0]
        _fill(nxt, 0.0)
        for s in range(S):
            for a in range(A):
                w = rho[s] * ph[s, a]
                d[h, s, a] = w
                if w != 0.0:
                    r = base + s * A + a
                    for k in range(indptr[r], indptr[r + 1]):
                        nxt[uint64(indices[k])] += w * data[k]
        _copy(rho, nxt)


@njit(cache=True, fastmath=_FM)
def next_value_variance_dense(P, V, out):
    """``out[h, s, a] = Var_{s' ~ P_h(.|s,a)} V[h+1](s')`` (two-pass, numerically stable).
    ``P`` (hp, S, A, S); ``V`` (hv, S) with hv = 1 (same V for all h) or H+1; ``out`` (ho, S, A). Next states of
    probability zero are left out of the second pass, as the sparse kernel never sees them (``0 * dv * dv`` is NaN
    once ``dv * dv`` overflows)."""
    hp = P.shape[0]
    hv = V.shape[0]
    S = P.shape[1]
    A = P.shape[2]
    for h in range(out.shape[0]):
        Ph = P[h if hp > 1 else 0]
        Vn = V[h + 1 if hv > 1 else 0]
        for s in range(S):
            for a in range(A):
                row = Ph[s, a]
                m = 0.0
                for t in range(S):
                    m += row[t] * Vn[t]
                v = 0.0
                for t in range(S):
                    p = row[t]
                    if p != 0.0:
                        dv = Vn[t] - m
                        v += p * dv * dv
                out[h, s, a] = v


@njit(cache=True, fastmath=_FM_GATHER)
def next_value_variance_sparse(indptr, indices, data, S, A, V, out):
    """Sparse (CSR) version of :func:`next_value_variance_dense` (stored zeros left out of the second pass)."""
    hp = (indptr.shape[0] - 1) // (S * A)
    hv = V.shape[0]
    for h in range(out.shape[0]):
        base = (h if hp > 1 else 0) * S * A
        Vn = V[h + 1 if hv > 1 else 0]
        for s in range(S):
            for a in range(A):
                r = base + s * A + a
                m = _row_dot(indptr, r, indices, data, Vn)
                v = 0.0
                for k in range(indptr[r], indptr[r + 1]):
                    p = data[k]
                    if p != 0.0:  # a stored zero: left out, as in the dense kernel
                        dv = Vn[uint64(indices[k])] - m
                        v += p * dv * dv
                out[h, s, a] = v


# ---------------------------------------------------------------------------------- discounted


@njit(cache=True)
def bellman_q_dense(P2, R, V, gamma, Q):
    """``Q[s,a] = R[s,a] + gamma * sum_{s'} P(s'|s,a) V(s')`` with ``P2`` the (S*A, S) view of P.

    The matrix-vector product goes through BLAS (``np.dot``), the bandwidth limit for dense kernels."""
    S = R.shape[0]
    A = R.shape[1]
    PV = np.dot(P2, V)
    for s in range(S):
        for a in range(A):
            Q[s, a] = R[s, a] + gamma * PV[s * A + a]


@njit(cache=True, fastmath=_FM_GATHER)
def bellman_q_sparse(indptr, indices, data, R, V, gamma, Q):
    """Sparse (CSR, S*A rows) version of :func:`bellman_q_dense`."""
    S = R.shape[0]
    A = R.shape[1]
    for s in range(S):
        for a in range(A):
            r = s * A + a
            acc = _row_dot(indptr, r, indices, data, V)
            Q[s, a] = R[s, a] + gamma * acc


@njit(cache=True)
def _diff_range(Vn, V):
    """``(min, max)`` of ``Vn - V``."""
    lo = np.inf
    hi = -np.inf
    for i in range(V.shape[0]):
        d = Vn[i] - V[i]
        if d < lo:
            lo = d
        if d > hi:
            hi = d
    return lo, hi


@njit(cache=True)
def _shift(V, c):
    for i in range(V.shape[0]):
        V[i] += c


#: Value iteration also stops when the span of ``T V - V`` has not reached a new minimum for this many
#: consecutive sweeps. In exact arithmetic the span shrinks by a factor <= gamma at every VI sweep
#: (T is a span contraction), so a run of ``PATIENCE`` sweeps without a new minimum means the iterates are at the
#: float64 noise floor, where a smaller ``tol`` cannot be reached (it used to run all ``max_iter`` sweeps there).
#: MPI's span is not monotone (it can grow for dozens of greedy steps on slow chains), so MPI uses
#: ``PATIENCE_MPI`` greedy steps; both also stop once ``span <= noise * max|V|`` (``noise`` ~ the relative
#: rounding of one backup, see ``rltheory.solvers.api._noise``).
PATIENCE = 20
PATIENCE_MPI = 1000
#: For row sums away from 1 (:func:`_stop` with ``rl, ru`` not both 1) a span counts as a new minimum only below
#: this fraction of the best so far: there the span of ``T V - V`` tracks its level, which shrinks by about
#: ``gamma`` per greedy step, and with ``gamma`` near 1 would set a new minimum at every step without the bounds
#: improving (sparse MPI then ran to ``max_iter``). The best span itself is never scaled: a step that falls short
#: leaves it as it was, so the threshold stays this fraction of a span actually observed.
OFF_SUM_PROGRESS = 1.0 - 2.0**-10
#: Fewest greedy steps without such progress after which a loop with row sums away from 1 stops (``patience`` if
#: larger). The span then shrinks by about ``gamma`` per step while the values still propagate along slowly mixing
#: chains, so it needs about ``2**-10 / (1 - gamma)`` steps for one clear new minimum: value iteration's ``PATIENCE``
#: would give up at ``gamma`` above ``1 - 2**-10 / PATIENCE`` on chains it solves, this window only above
#: ``1 - 2**-10 / PATIENCE_OFF_SUM``.
PATIENCE_OFF_SUM = 1000


@njit(cache=True)
def _record(diff, best, since):
    """Stagnation counter: ``(new best, sweeps since the best span)`` after a sweep with span ``diff``."""
    if diff < best:
        return diff, 0
    return best, since + 1


@njit(cache=True)
def _mp_offsets(gamma, lo, hi, rl, ru):
    """MacQueen-Porteus offsets ``(c_lo, c_hi)`` with ``T V + c_lo <= V* <= T V + c_hi`` when ``T V - V`` lies in
    ``[lo, hi]`` and every exact row sum of P lies in ``[rl, ru]`` (``gamma ru < 1``).

    From ``T^{k+1} V - T^k V <= gamma P_a (T^k V - T^{k-1} V)`` for the action ``a`` greedy w.r.t. ``T^k V``, and
    ``P_a x <= ru max x`` when ``max x >= 0``, ``<= rl max x`` when ``max x < 0`` (mirrored for the minimum), each
    difference stays below ``f^k(hi)`` with ``f(x) = gamma ru x`` (x >= 0) or ``gamma rl x`` (x < 0); summing the
    geometric series gives ``c_hi = gamma r hi / (1 - gamma r)`` with ``r = ru`` if ``hi >= 0`` else ``rl``, and
    ``c_lo`` the same with ``r = ru`` if ``lo <= 0`` else ``rl``. For ``rl = ru = 1`` these are the classical
    ``gamma/(1-gamma) (lo, hi)`` (Puterman 1994, Thm 6.6.2)."""
    rh = ru if hi >= 0.0 else rl
    rlo = ru if lo <= 0.0 else rl
    return gamma * rlo * lo / (1.0 - gamma * rlo), gamma * rh * hi / (1.0 - gamma * rh)


@njit(cache=True)
def _mp_within(gamma, lo, hi, tol, rl, ru):
    """Whether the MacQueen-Porteus bounds (:func:`_mp_offsets`) are at most ``tol`` wide; for stochastic rows
    (``rl = ru = 1``) the classical test ``gamma (hi - lo) <= tol (1 - gamma)``."""
    if rl == 1.0 and ru == 1.0:
        return gamma * (hi - lo) <= tol * (1.0 - gamma)
    c0, c1 = _mp_offsets(gamma, lo, hi, rl, ru)
    return c1 - c0 <= tol


@njit(cache=True)
def _mp_shift(gamma, lo, hi, rl, ru):
    """Shift from ``T V`` to the midpoint of the MacQueen-Porteus bounds (:func:`_mp_offsets`)."""
    if rl == 1.0 and ru == 1.0:
        return gamma * 0.5 * (lo + hi) / (1.0 - gamma)
    c0, c1 = _mp_offsets(gamma, lo, hi, rl, ru)
    return 0.5 * (c0 + c1)


@njit(cache=True)
def _value_box(R, gamma, rl, ru):
    """``(L, U)`` with ``L <= V^pi(s) <= U`` for every policy (so for ``V*``) when the exact row sums of P lie in
    ``[rl, ru]``: ``L = min R / (1 - gamma r)`` with ``r = rl`` if ``min R >= 0`` else ``ru``, and ``U`` the same
    for ``max R`` with the roles of ``rl``, ``ru`` exchanged."""
    lo = np.inf
    hi = -np.inf
    for v in R.ravel():
        lo = min(lo, v)
        hi = max(hi, v)
    return lo / (1.0 - gamma * (rl if lo >= 0.0 else ru)), hi / (1.0 - gamma * (ru if hi >= 0.0 else rl))


@njit(cache=True)
def _shift_into_box(V, c, R, gamma, rl, ru):
    """``V += c``, then clipped to :func:`_value_box`: with row sums away from 1 the MacQueen-Porteus bounds can be
    far wider than the range of the values (``gamma rl`` and ``gamma ru`` both near 1), and their midpoint, fed back
    into the next iteration (MPI evaluates every policy to such a midpoint), grew without bound; clipping to an
    interval that contains ``V*`` and every ``V^pi`` keeps the iterates in range and never moves them away from
    those values."""
    L, U = _value_box(R, gamma, rl, ru)
    for i in range(V.shape[0]):
        v = V[i] + c
        V[i] = L if v < L else (U if v > U else v)


def _py_shift_into(V, gamma, lo, hi, rl, ru, R):
    """The end of every iteration round: ``V`` moves to the midpoint of the MacQueen-Porteus bounds (for row sums
    away from 1, then into :func:`_value_box`)."""
    if rl == 1.0 and ru == 1.0:
        _shift(V, gamma * 0.5 * (lo + hi) / (1.0 - gamma))
    else:
        _shift_into_box(V, _mp_shift(gamma, lo, hi, rl, ru), R, gamma, rl, ru)


@njit(cache=True)
def _mp_span(gamma, lo, hi, rl, ru):
    """The span ``hi - lo`` that the loops return as their last span; for row sums in ``[rl, ru]`` (not both 1)
    the width of the bounds of :func:`_mp_offsets` times ``(1 - gamma) / gamma``, so that ``gamma span <= 2 tol
    (1 - gamma)`` remains the test of the MacQueen-Porteus rule (:func:`_certified_rounds`)."""
    if rl == 1.0 and ru == 1.0:
        return hi - lo
    c0, c1 = _mp_offsets(gamma, lo, hi, rl, ru)
    return (c1 - c0) * (1.0 - gamma) / gamma


@njit(cache=True)
def _stop(gamma, lo, hi, tol, noise, V, best, since, patience, rl=1.0, ru=1.0):
    """The stopping rule of every value-iteration and MPI loop, after a greedy step whose ``T V - V`` lies in
    ``[lo, hi]`` (``V`` is the new iterate): ``(stop, best, since)``.

    Stop when the MacQueen-Porteus half-width (``gamma/(1-gamma) (hi - lo) / 2`` for stochastic rows; for row
    sums in ``[rl, ru]`` see :func:`_mp_offsets`) is ``<= tol``, when the span is below the float64 noise floor
    ``noise * max|V|``, or when the span has set no new minimum for ``patience`` greedy steps (:func:`_record`,
    ``PATIENCE``; for row sums away from 1 no new minimum ``OFF_SUM_PROGRESS`` below the best for
    ``max(patience, PATIENCE_OFF_SUM)`` steps); ``best`` / ``since`` carry the stagnation counter."""
    diff = hi - lo
    if _mp_within(gamma, lo, hi, 2.0 * tol, rl, ru) or diff <= noise * _max_abs(V):
        return True, best, since
    if rl == 1.0 and ru == 1.0:
        best, since = _record(diff, best, since)
        return since >= patience, best, since
    if diff < best * OFF_SUM_PROGRESS:  # the span can shrink by about gamma per step forever: only a clear
        best, since = diff, 0  # new minimum is progress, and ``best`` only ever holds an observed span
    else:
        since += 1
    return since >= max(patience, PATIENCE_OFF_SUM), best, since


def _sweep(model, R, V, gamma, Q, Vn, pi):
    """Fused Bellman optimality sweep on ``model`` (``(P2,)`` dense or ``(indptr, indices, data)`` CSR): see
    :func:`bellman_sweep_dense`. Compiled through the overload below (jitted code only)."""
    raise NotImplementedError


@overload(_sweep, jit_options={"cache": True})
def _sweep_ol(model, R, V, gamma, Q, Vn, pi):
    if len(model) == 1:
        return lambda model, R, V, gamma, Q, Vn, pi: bellman_sweep_dense(model[0], R, V, gamma, Q, Vn, pi)
    return lambda model, R, V, gamma, Q, Vn, pi: bellman_sweep_sparse(model[0], model[1], model[2], R, V, gamma, Q,
                                                                      Vn, pi)


def _partial(model, R, gamma, pi, V, m, noise, rl, ru):
    """The policy evaluation of MPI on ``model``: ``m`` sweeps of ``T_pi`` (:func:`partial_evaluation_dense`) on a
    dense model, at most ``m`` on a CSR one (:func:`evaluate_policy_sparse`, which ends at the float64 rounding
    floor)."""
    raise NotImplementedError


@overload(_partial, jit_options={"cache": True})
def _partial_ol(model, R, gamma, pi, V, m, noise, rl, ru):
    if len(model) == 1:
        return lambda model, R, gamma, pi, V, m, noise, rl, ru: partial_evaluation_dense(model[0], R, gamma, pi, V, m)
    return lambda model, R, gamma, pi, V, m, noise, rl, ru: evaluate_policy_sparse(model[0], model[1], model[2], R,
                                                                                   gamma, pi, V, m, noise, rl, ru)


@njit(cache=True)
def _iterate(model, R, gamma, V0, m, tol, max_iter, patience, noise, rl=1.0, ru=1.0):
    """Value iteration (``m < 0``) or modified policy iteration with ``m`` evaluation sweeps on ``model``
    (``(P2,)`` dense or ``(indptr, indices, data)`` CSR); the loop behind :func:`value_iteration_dense`,
    :func:`modified_policy_iteration_dense` and their sparse versions (stopping rule: :func:`_stop`). Returns
    ``(V, Q, pi, last_span, iterations)``; see :func:`_iterate_from` for a loop that can be continued."""
    r = _iterate_from(model, R, gamma, V0, m, tol, max_iter, patience, noise, rl, ru,
                      np.zeros(R.shape[0], dtype=np.int64), np.inf, 0, False)
    return r[0], r[1], r[2], r[3], r[4]


@njit(cache=True)
def _iterate_from(model, R, gamma, V0, m, tol, max_iter, patience, noise, rl, ru, pi0, best0, since0, resumed):
    """The loop of :func:`_iterate`, resumable.

    Parameters
    ----------
    model, R, gamma, V0, m, tol, max_iter, patience, noise, rl, ru
        As for :func:`_iterate`; ``max_iter`` counts the greedy steps of this call.
    pi0 : numpy.ndarray
        ``(S,)`` int64: with ``resumed``, the greedy policy of the last step before the cut (MPI evaluates it
        first); otherwise ignored.
    best0, since0 : float, int
        The stagnation counter of :func:`_stop` to start from (``inf, 0`` for a fresh loop).
    resumed : bool
        Whether ``V0`` is the raw iterate ``Vraw`` of an earlier call that was cut at its ``max_iter`` (then MPI
        evaluates ``pi0`` from it before the first greedy step, as the uncut loop would have).

    Returns
    -------
    tuple
        ``(V, Q, pi, last_span, iterations, Vraw, best, since, cut)``: the first five as for :func:`_iterate`;
        ``cut`` tells that the loop ended at ``max_iter`` with its stopping rule not met, and then ``Vraw`` (a copy
        of the last iterate before the shift to the midpoint), ``pi``, ``best`` and ``since`` continue it exactly
        (another call with ``resumed=True``); otherwise ``Vraw`` is empty.
    """
    S = R.shape[0]
    A = R.shape[1]
    V = V0.copy()
    Vn = np.empty(S)
    Q = np.empty((S, A))
    pi = pi0.copy()
    diff = np.inf
    best = best0
    since = since0
    it = 0
    lo = hi = 0.0
    stop = False
    if resumed and m >= 0 and max_iter > 0:
        _partial(model, R, gamma, pi, V, m, noise, rl, ru)
    while it < max_iter:
        _sweep(model, R, V, gamma, Q, Vn, pi)
        lo, hi = _diff_range(Vn, V)
        diff = _mp_span(gamma, lo, hi, rl, ru)
        _copy(V, Vn)
        it += 1
        stop, best, since = _stop(gamma, lo, hi, tol, noise, V, best, since, patience, rl, ru)
        if stop or it == max_iter:
            break
        if m >= 0:
            _partial(model, R, gamma, pi, V, m, noise, rl, ru)
    cut = it > 0 and not stop
    Vraw = V.copy() if cut else np.empty(0)
    if it:
        if rl == 1.0 and ru == 1.0:
            _shift(V, _mp_shift(gamma, lo, hi, rl, ru))
        else:
            _shift_into_box(V, _mp_shift(gamma, lo, hi, rl, ru), R, gamma, rl, ru)
    return V, Q, pi, diff, it, Vraw, best, since, cut


@njit(cache=True)
def value_iteration_dense(P2, R, gamma, V0, tol, max_iter, patience=PATIENCE, noise=0.0):
    """Value iteration ``V_{n+1} = T V_n`` (Puterman 1994, Sec. 6.3) with the MacQueen-Porteus stopping rule
    (Puterman Thm 6.6.2): for any ``V``, ``T V + c_lo <= V* <= T V + c_hi`` componentwise with
    ``c_lo = gamma/(1-gamma) min(T V - V)`` and ``c_hi = gamma/(1-gamma) max(T V - V)``. We stop once the
    half-width ``gamma/(1-gamma) span(T V - V) / 2 <= tol`` and return the midpoint ``T V + (c_lo + c_hi)/2``,
    so ``||V - V*|| <= tol`` in exact arithmetic (the rounding of V is certified afterwards by :func:`certify_dense`).
    The span shrinks much faster than the sup-norm when values move together (QuantEcon and Puterman's MPI use
    the same bounds). The loop also ends after ``max_iter`` sweeps, or after ``patience`` sweeps without a new
    minimum of the span (float64 noise floor, see ``PATIENCE``); ``V`` is the midpoint of the last bounds in
    every case. Each sweep is the fused :func:`bellman_sweep_dense`. Returns ``(V, Q, pi, last_span,
    iterations)``; ``Q`` and ``pi`` are those of the last sweep (greedy w.r.t. the previous iterate)."""
    return _iterate((P2,), R, gamma, V0, -1, tol, max_iter, patience, noise)


@njit(cache=True)
def value_iteration_sparse(indptr, indices, data, R, gamma, V0, tol, max_iter, patience=PATIENCE, noise=0.0):
    """Sparse (CSR) version of :func:`value_iteration_dense`."""
    return _iterate((indptr, indices, data), R, gamma, V0, -1, tol, max_iter, patience, noise)


@njit(cache=True)
def policy_matrix_dense(P, R, pi):
    """``P_pi[s, s'] = P(s'|s, pi(s))`` and ``r_pi[s] = R[s, pi(s)]`` for a deterministic policy."""
    S = P.shape[0]
    Ppi = np.empty((S, S))
    rpi = np.empty(S)
    for s in range(S):
        _copy(Ppi[s], P[s, pi[s]])
        rpi[s] = R[s, pi[s]]
    return Ppi, rpi


@njit(cache=True)
def improve(Q, pi, atol):
    """Policy improvement keeping the current action unless another beats it by more than ``atol``
    (prevents cycling among tied actions). Returns the number of states that changed."""
    S = Q.shape[0]
    changed = 0
    for s in range(S):
        b, v = _argmax_row(Q[s])
        if v > Q[s, pi[s]] + atol:
            pi[s] = b
            changed += 1
    return changed


@njit(cache=True)
def policy_iteration_dense(P, R, gamma, pi0, max_iter):
    """Howard's policy iteration (Puterman 1994, Sec. 6.4): exact evaluation
    ``V = (I - gamma P_pi)^{-1} r_pi`` by an LU solve, then greedy improvement. Terminates in finitely
    many steps; returns ``(V, Q, pi, iterations)`` (see :func:`policy_iteration_dense_stable`)."""
    V, Q, pi, it, _stable = policy_iteration_dense_stable(P, R, gamma, pi0, max_iter)
    return V, Q, pi, it


@njit(cache=True)
def policy_iteration_dense_stable(P, R, gamma, pi0, max_iter):
    """:func:`policy_iteration_dense` returning ``(V, Q, pi, iterations, stable)``: ``stable`` is whether the last
    improvement step left the policy unchanged (the stopping rule), which may happen at step ``max_iter`` itself."""
    S = R.shape[0]
    A = R.shape[1]
    P2 = P.reshape(S * A, S)
    pi = pi0.copy()
    Q = np.empty((S, A))
    V = np.zeros(S)
    eye = np.eye(S)
    it = 0
    stable = False
    while it < max_iter:
        Ppi, rpi = policy_matrix_dense(P, R, pi)
        V = np.linalg.solve(eye - gamma * Ppi, rpi)
        bellman_q_dense(P2, R, V, gamma, Q)
        it += 1
        scale = 0.0  # max|V|: the threshold is relative at every reward scale
        for s in range(S):
            if abs(V[s]) > scale:
                scale = abs(V[s])
        if improve(Q, pi, 1e-12 * scale) == 0:
            stable = True
            break
    return V, Q, pi, it, stable


@njit(cache=True)
def partial_evaluation_dense(P2, R, gamma, pi, V, m):
    """``m`` applications of ``T_pi V = r_pi + gamma P_pi V`` in place (modified policy iteration).

    The rows of the policy, ``P_pi`` (S x S, A times smaller than ``P2``), are gathered once and the ``m``
    sweeps are matvecs (:func:`_matvec`) on them: each sweep reads S^2 numbers, not S^2 A. (``solve`` runs the dense
    MPI through :func:`solve_dense_mpi_certified`, which reads the policy's rows in place instead.)"""
    S = R.shape[0]
    A = R.shape[1]
    if m == 0:
        return
    Ppi, rpi = policy_matrix_dense(P2.reshape(S, A, S), R, pi)
    PV = np.empty(S)
    for _ in range(m):
        _matvec(Ppi, V, PV)
        for s in range(S):
            V[s] = rpi[s] + gamma * PV[s]


@njit(cache=True)
def policy_csr(indptr, indices, data, R, pi):
    """The policy's transition rows as their own CSR matrix: ``(indptr, indices, data, r_pi)`` of ``P_pi`` (S x S)
    with ``r_pi(s) = R(s, pi(s))`` as an ``(S, 1)`` array, so the sweep kernels run on it with ``A = 1, pi = 0``.

    Why: the rows ``s A + pi(s)`` of the full CSR are spread over the whole matrix; sweeping them directly was 3x
    slower than sweeping a contiguous copy (S = 1e5, A = 4, 32 successors, 20 sweeps: 0.95 s vs 0.30 s, one thread),
    and the copy costs about one sweep. Extra memory: the policy's share of the model (~1/A of it)."""
    S = R.shape[0]
    A = R.shape[1]
    ip = np.empty(S + 1, dtype=np.int64)
    ip[0] = 0
    for s in range(S):
        r = s * A + pi[s]
        ip[s + 1] = ip[s] + (indptr[r + 1] - indptr[r])
    ix = np.empty(ip[S], dtype=indices.dtype)
    dt = np.empty(ip[S], dtype=data.dtype)
    rpi = np.empty((S, 1))
    for s in range(S):
        r = s * A + pi[s]
        k0 = indptr[r]
        o = ip[s]
        for j in range(indptr[r + 1] - k0):
            ix[o + j] = indices[k0 + j]
            dt[o + j] = data[k0 + j]
        rpi[s, 0] = R[s, pi[s]]
    return ip, ix, dt, rpi


@njit(cache=True)
def _policy_sweeps(indptr, indices, data, R, gamma, pi, V, m):
    """``m`` serial sweeps of ``T_pi`` in place, each one :func:`_policy_rows` over all states."""
    S = R.shape[0]
    Vn = np.empty(S)
    for _ in range(m):
        _policy_rows(0, S, indptr, indices, data, R, gamma, pi, V, Vn)
        _copy(V, Vn)


@njit(cache=True)
def partial_evaluation_sparse(indptr, indices, data, R, gamma, pi, V, m):
    """Sparse version of :func:`partial_evaluation_dense`: for ``m >= 2`` the policy's rows are first copied into a
    contiguous CSR (:func:`policy_csr`) and the sweeps run on it."""
    if m <= 0:
        return
    if m == 1:
        _policy_sweeps(indptr, indices, data, R, gamma, pi, V, 1)
        return
    ip, ix, dt, rpi = policy_csr(indptr, indices, data, R, pi)
    _policy_sweeps(ip, ix, dt, rpi, gamma, np.zeros(R.shape[0], dtype=np.int64), V, m)


@njit(cache=True, fastmath=_FM_GATHER)
def _policy_rows_range(lo, hi, indptr, indices, data, R, gamma, pi, V, Vn):
    """:func:`_policy_rows` (the same values bit for bit) that also returns ``(min, max)`` of ``Vn - V`` and
    ``max |Vn|`` over the states ``lo..hi-1``, read in the same pass."""
    A = R.shape[1]
    dlo = np.inf
    dhi = -np.inf
    vmax = 0.0
    for s in range(lo, hi):
        a = pi[s]
        r = s * A + a
        acc = _row_dot(indptr, r, indices, data, V)
        v = R[s, a] + gamma * acc
        Vn[s] = v
        d = v - V[s]
        if d < dlo:
            dlo = d
        if d > dhi:
            dhi = d
        if abs(v) > vmax:
            vmax = abs(v)
    return dlo, dhi, vmax


@njit(cache=True)
def policy_sweep_sparse(indptr, indices, data, R, gamma, pi, V, Vn):
    """One sweep ``Vn = T_pi V`` of a deterministic policy on a CSR kernel; returns ``(min, max)`` of ``Vn - V``
    and ``max |Vn|``."""
    return _policy_rows_range(0, R.shape[0], indptr, indices, data, R, gamma, pi, V, Vn)


#: Shortest window of the stall test of the sparse policy evaluation (:func:`_evaluation_patience`).
EVAL_PATIENCE = PATIENCE


@njit(cache=True)
def _evaluation_patience(gamma):
    """Sweeps without a new minimum of the span after which the sparse policy evaluation gives up:
    ``max(EVAL_PATIENCE, ceil(1 / (1 - gamma)))``.

    In exact arithmetic ``T_pi V - V`` contracts by ``gamma`` per sweep (its span for stochastic rows, its largest
    entry for any rows), so over ``1 / (1 - gamma)`` sweeps it falls by about a factor ``e``; a run that long
    without a new minimum means rounding, not the contraction, sets the span. A fixed count is not enough: near
    ``gamma = 1`` the span shrinks by less than one ulp of ``V`` per sweep long before the float64 floor, and a
    window of ``PATIENCE`` sweeps cut every evaluation short there (MPI then stalled). A count ``m`` at or below
    this window can therefore only end early at the float64 floor."""
    w = 1.0 / (1.0 - gamma)
    if w >= 2.0**62:
        return np.int64(2**62)
    return max(np.int64(EVAL_PATIENCE), np.int64(np.ceil(w)))


@njit(cache=True)
def _evaluation_floor(gamma, lo, hi, noise, vmax, best, since, rl, ru):
    """Stopping rule of the sparse policy evaluation after a sweep with ``T_pi V - V`` in ``[lo, hi]`` and
    ``max |T_pi V| = vmax``: ``(stop, best, since)``. Stop once the span (row sums away from 1: the width of the
    MacQueen-Porteus bounds in the same units, :func:`_mp_span`) is at the float64 noise floor
    ``noise * vmax`` (the test of :func:`_stop`), or has set no new minimum (row sums away from 1: none
    ``OFF_SUM_PROGRESS`` below the best span observed) for :func:`_evaluation_patience` sweeps, which in exact
    arithmetic would have shrunk it by about a factor ``e``."""
    diff = _mp_span(gamma, lo, hi, rl, ru)
    if diff <= noise * vmax:
        return True, best, since
    if rl == 1.0 and ru == 1.0:
        best, since = _record(diff, best, since)
    elif diff < best * OFF_SUM_PROGRESS:
        best, since = diff, 0
    else:
        since += 1
    return since >= _evaluation_patience(gamma), best, since


@njit(cache=True)
def _evaluation_sweeps(indptr, indices, data, R, gamma, pi, V, m, noise, rl, ru):
    """The sweeps of :func:`evaluate_policy_sparse`, in place: ``(sweeps, lo, hi, stopped early)`` with
    ``[lo, hi]`` the range of the last ``T_pi V - V``."""
    S = R.shape[0]
    Vn = np.empty(S)
    best = np.inf
    since = 0
    k = 0
    lo = hi = 0.0
    early = False
    while k < m:
        lo, hi, vmax = _policy_rows_range(0, S, indptr, indices, data, R, gamma, pi, V, Vn)
        _copy(V, Vn)
        k += 1
        if k == m:
            break
        early, best, since = _evaluation_floor(gamma, lo, hi, noise, vmax, best, since, rl, ru)
        if early:
            break
    return k, lo, hi, early


@njit(cache=True)
def evaluate_policy_sparse(indptr, indices, data, R, gamma, pi, V, m, noise, rl=1.0, ru=1.0):
    """At most ``m`` sweeps of ``T_pi`` on ``V`` in place (:func:`partial_evaluation_sparse`), fewer once the
    sweeps are at the float64 rounding floor (:func:`_evaluation_floor`): their span is at the noise floor, or
    rounding has kept it from setting a new minimum for :func:`_evaluation_patience` sweeps (about
    ``1 / (1 - gamma)``, over which the exact span would have shrunk by a factor ``e``). ``V`` then moves to the
    midpoint of the MacQueen-Porteus bounds on ``V^pi`` (as in :func:`evaluate_policy_dense`; row sums in
    ``[rl, ru]``: :func:`_mp_offsets`). Returns the number of sweeps.

    Why: with a huge ``m`` (``mpi_sweeps`` up to ``2**63 - 1``) the exact count ran forever. The rule is the one of
    the dense evaluation with the float64 floor in place of the solve's tolerance: a sweep count that does not
    reach the floor runs exactly as before (bit for bit; ``m`` at most :func:`_evaluation_patience` can only stop
    at the noise floor), and one that stops there returns ``V^pi`` up to rounding, where the remaining sweeps would
    only have moved ``V`` by a nearly constant amount (MPI's greedy policies and stopping rule do not depend on a
    constant added to ``V`` when the rows are stochastic). The floor, not the tolerance, keeps every
    ``mpi_sweeps`` that does not hit it on exactly its old iterates. Cost: an unbounded ``m`` evaluates each policy
    in about ``log(span / floor) / (1 - gamma)`` sweeps on a chain that mixes no faster than ``gamma`` contracts."""
    if m <= 0:
        return 0
    if m >= 2:
        ip, ix, dt, rpi = policy_csr(indptr, indices, data, R, pi)
        k, lo, hi, early = _evaluation_sweeps(ip, ix, dt, rpi, gamma, np.zeros(R.shape[0], dtype=np.int64), V, m,
                                              noise, rl, ru)
    else:
        k, lo, hi, early = _evaluation_sweeps(indptr, indices, data, R, gamma, pi, V, m, noise, rl, ru)
    if early:
        if rl == 1.0 and ru == 1.0:
            _shift(V, _mp_shift(gamma, lo, hi, rl, ru))
        else:
            _shift_into_box(V, _mp_shift(gamma, lo, hi, rl, ru), R, gamma, rl, ru)
    return k


@njit(cache=True)
def modified_policy_iteration_dense(P2, R, gamma, V0, m, tol, max_iter, patience=PATIENCE, noise=0.0):
    """Modified policy iteration (Puterman & Shin 1978; Puterman 1994, Sec. 6.5): greedy step
    ``V' = T V`` then ``m`` partial evaluation sweeps of the greedy policy. Stops with the same
    MacQueen-Porteus rule as :func:`value_iteration_dense` on the greedy step (valid for any ``V``) and
    returns the midpoint of the bounds. Starting from ``V0`` with ``T V0 >= V0`` (e.g. ``min R/(1-gamma)``) the iterates
    increase monotonically to ``V*``. Returns ``(V, Q, pi, last_diff, iterations)``."""
    return _iterate((P2,), R, gamma, V0, m, tol, max_iter, patience, noise)


@njit(cache=True)
def modified_policy_iteration_sparse(indptr, indices, data, R, gamma, V0, m, tol, max_iter, patience=PATIENCE,
                                     noise=0.0):
    """Sparse version of :func:`modified_policy_iteration_dense`; the evaluation runs at most ``m`` sweeps, fewer
    once they reach the float64 rounding floor (``noise``, :func:`evaluate_policy_sparse`)."""
    return _iterate((indptr, indices, data), R, gamma, V0, m, tol, max_iter, patience, noise)


# ----------------------------------------------------------------- fused and parallel sweeps
#
# One Bellman optimality sweep ``Q = R + gamma P V``, ``V'(s) = max_a Q(s, a)``, ``pi(s) = argmax_a``
# (smallest action on ties), returning ``||V' - V||_inf``: the whole per-iteration work of value
# iteration in one call. Dense sweeps stream P on one thread (:func:`_matvec`, at the memory-bandwidth
# limit; not BLAS, whose threads wait on busy cores); sparse sweeps are bandwidth/latency bound gathers, so the
# ``_par`` variants split the states into blocks over Numba threads (``parallel=True``). Parallel
# kernels pay a thread start-up of a few microseconds per call: use them from ~2*10^4 stored
# transitions on (see ``PARALLEL_MIN_NNZ``).

#: Number of stored transitions (nnz of the CSR kernel) from which the ``_par`` sparse kernels beat the
#: serial ones on a 2-core machine (measured by ``benchmarks/run.py``, section ``sparse``).
PARALLEL_MIN_NNZ = 20_000


@njit(cache=True)
def _greedy_block(Qf, Rf, gamma, A, lo, hi, V, Vn, pi):
    """On states ``lo..hi-1`` of the flat Q holding ``(P V)(s, a)``: ``Q <- R + gamma Q`` in place, then the
    greedy step ``Vn = max_a Q``, ``pi = argmax_a Q``; returns the block's ``max |Vn - V|``."""
    diff = 0.0
    for s in range(lo, hi):
        base = s * A
        best = 0
        bv = Rf[base] + gamma * Qf[base]
        Qf[base] = bv
        for a in range(1, A):
            q = Rf[base + a] + gamma * Qf[base + a]
            Qf[base + a] = q
            if q > bv:
                bv = q
                best = a
        Vn[s] = bv
        pi[s] = best
        d = abs(bv - V[s])
        if d > diff:
            diff = d
    return diff


@njit(cache=True)
def bellman_sweep_dense(P2, R, V, gamma, Q, Vn, pi):
    """Fused Bellman optimality sweep on the (S*A, S) view ``P2``: fills ``Q``, ``Vn = max_a Q``,
    ``pi = argmax_a Q`` and returns ``||Vn - V||_inf`` (value iteration, Puterman 1994, Sec. 6.3)."""
    S = R.shape[0]
    A = R.shape[1]
    Qf = Q.reshape(S * A)
    _matvec(P2, V, Qf)  # straight into Q: no temporary
    return _greedy_block(Qf, R.reshape(S * A), gamma, A, 0, S, V, Vn, pi)


#: Number of entries of a dense (S*A, S) kernel from which :func:`bellman_sweep_dense_par` beats the serial
#: sweep on a 2-core machine (``benchmarks/run.py``, section ``e2e``: S = 500 and 2000 with A = 8 use it, S = 100
#: does not).
PARALLEL_MIN_DENSE = 500_000


@njit(cache=True)
def _blocks_max(bd):
    """``max(0, max_b bd[b])`` over the per-block ``max |Vn - V|`` of a multithreaded sweep (NaN entries are passed
    over, as by the serial sweep's running maximum)."""
    diff = 0.0
    for b in range(bd.shape[0]):
        if bd[b] > diff:
            diff = bd[b]
    return diff


@njit(cache=True)
def _dense_blocks(S):
    """Number of state blocks the multithreaded dense sweeps split ``S`` states into (at most 64)."""
    return max(1, min(S // 4, 64))


@njit(cache=True)
def _dense_block(b, nb, S):
    """States ``lo..hi-1`` of block ``b`` of ``nb`` (:func:`_dense_blocks`): every block but the first starts at a
    multiple of four, so each row is summed by the same four-row loop (:func:`_dot4`) as in a serial sweep, and the
    multithreaded sweeps give the serial values bit for bit."""
    lo = (b * S // nb) // 4 * 4
    hi = S if b == nb - 1 else ((b + 1) * S // nb) // 4 * 4
    return lo, hi


@njit(cache=True, parallel=True)
def bellman_sweep_dense_par(P2, R, V, gamma, Q, Vn, pi):
    """Multithreaded :func:`bellman_sweep_dense`: the states are split into blocks over Numba threads, each block
    streaming its own rows of ``P2`` with :func:`_matvec`. Same values as the serial sweep, bit for bit: every
    block starts at a multiple of four rows, so each row is summed by the same four-row loop in the same order."""
    S = R.shape[0]
    A = R.shape[1]
    Rf = R.reshape(S * A)
    Qf = Q.reshape(S * A)
    nb = _dense_blocks(S)
    bd = np.zeros(nb)
    for b in prange(nb):
        lo, hi = _dense_block(b, nb, S)
        _matvec(P2[lo * A:hi * A], V, Qf[lo * A:hi * A])
        bd[b] = _greedy_block(Qf, Rf, gamma, A, lo, hi, V, Vn, pi)
    return _blocks_max(bd)


@njit(cache=True, fastmath=_FM_GATHER)
def _sparse_block(lo, hi, indptr, indices, data, Rf, V, gamma, Qf, A, Vn, pi):
    # rows first (one streaming pass over the CSR arrays), then the greedy step on the cached block
    for r in range(lo * A, hi * A):
        acc = _row_dot(indptr, r, indices, data, V)
        Qf[r] = acc
    return _greedy_block(Qf, Rf, gamma, A, lo, hi, V, Vn, pi)


@njit(cache=True)
def bellman_sweep_sparse(indptr, indices, data, R, V, gamma, Q, Vn, pi):
    """Sparse (CSR, S*A rows) version of :func:`bellman_sweep_dense` (serial)."""
    S = R.shape[0]
    A = R.shape[1]
    return _sparse_block(0, S, indptr, indices, data, R.reshape(S * A), V, gamma, Q.reshape(S * A), A, Vn, pi)


@njit(cache=True, parallel=True)
def bellman_sweep_sparse_par(indptr, indices, data, R, V, gamma, Q, Vn, pi):
    """Multithreaded :func:`bellman_sweep_sparse`: states split into contiguous blocks over threads.
    Same values as the serial kernel (each row's sum is computed by one thread in the same order)."""
    S = R.shape[0]
    A = R.shape[1]
    Rf = R.reshape(S * A)
    Qf = Q.reshape(S * A)
    nb = min(S, 256)
    bd = np.zeros(nb)
    for b in prange(nb):
        lo = b * S // nb
        hi = (b + 1) * S // nb
        bd[b] = _sparse_block(lo, hi, indptr, indices, data, Rf, V, gamma, Qf, A, Vn, pi)
    return _blocks_max(bd)


@njit(cache=True, fastmath=_FM_GATHER)
def _sparse_rows(lo, hi, indptr, indices, data, Rf, V, gamma, Qf):
    for r in range(lo, hi):
        acc = _row_dot(indptr, r, indices, data, V)
        Qf[r] = Rf[r] + gamma * acc


@njit(cache=True, parallel=True)
def bellman_q_sparse_par(indptr, indices, data, R, V, gamma, Q):
    """Multithreaded :func:`bellman_q_sparse` (same result: one thread per row, same summation order)."""
    S = R.shape[0]
    A = R.shape[1]
    n = S * A
    Rf = R.reshape(n)
    Qf = Q.reshape(n)
    nb = min(n, 256)
    for b in prange(nb):
        _sparse_rows(b * n // nb, (b + 1) * n // nb, indptr, indices, data, Rf, V, gamma, Qf)


# The drivers below (``*_sparse_par``) are plain Python loops around the multithreaded kernels, on purpose:
# a cached @njit function that *calls* a parallel=True function was loaded from Numba's cache as a segfault
# here (numba 0.68, reproducible until the cache files were deleted), so the parallel kernels are only ever
# entered from Python. One Python call per sweep costs a few microseconds; these drivers are used only from
# PARALLEL_MIN_NNZ stored transitions, where a sweep takes tens of microseconds or more.


def _iterate_sparse_par(indptr, indices, data, R, gamma, V0, m, tol, max_iter, patience, noise):
    """:func:`_iterate` on a CSR model with the multithreaded sweeps (Python loop, see above): same iterates,
    stopping rule (:func:`_stop`) and returns."""
    return _iterate_par(bellman_sweep_sparse_par, evaluate_policy_sparse_par, (indptr, indices, data), R, gamma,
                        V0, m, tol, max_iter, patience, noise)[:5]


def value_iteration_dense_par(P2, R, gamma, V0, tol, max_iter, patience=None, noise=0.0):
    """:func:`value_iteration_dense` with the multithreaded fused sweep :func:`bellman_sweep_dense_par` (Python
    loop, see above); same iterates, stopping rule and returns."""
    return _iterate_par(bellman_sweep_dense_par, None, (P2,), R, gamma, V0, -1, tol, max_iter,
                        PATIENCE if patience is None else patience, noise)[:5]


def _iterate_par(sweep, partial, model, R, gamma, V0, m, tol, max_iter, patience, noise, rl=1.0, ru=1.0,
                 pi0=None, best0=np.inf, since0=0, resumed=False):
    """The loop of :func:`_iterate_from` around a multithreaded ``sweep(*model, R, V, gamma, Q, Vn, pi)`` and, for
    ``m >= 0``, ``partial(*model, R, gamma, pi, V, m, noise, rl, ru)``: the same arguments (``pi0`` may be None on
    a fresh loop), continuation and returns ``(V, Q, pi, last_span, iterations, Vraw, best, since, cut)``."""
    S, A = R.shape
    Q = np.empty((S, A))
    V = np.array(V0, dtype=np.float64)
    pi = np.zeros(S, dtype=np.int64) if pi0 is None else pi0.copy()
    best, since = best0, since0
    if resumed and m >= 0 and max_iter > 0:
        partial(*model, R, gamma, pi, V, m, noise, rl, ru)
    Vn = np.empty(S)
    diff = np.inf
    it = 0
    lo = hi = 0.0
    stop = False
    while it < max_iter:
        sweep(*model, R, V, gamma, Q, Vn, pi)
        lo, hi = _diff_range(Vn, V)
        diff = hi - lo if rl == 1.0 and ru == 1.0 else _mp_span(gamma, lo, hi, rl, ru)
        V, Vn = Vn, V
        it += 1
        stop, best, since = _stop(gamma, lo, hi, tol, noise, V, best, since, patience, rl, ru)
        if stop or it == max_iter:
            break
        if m >= 0:
            partial(*model, R, gamma, pi, V, m, noise, rl, ru)
    cut = it > 0 and not stop
    Vraw = V.copy() if cut else np.empty(0)
    if it:
        _py_shift_into(V, gamma, lo, hi, rl, ru, R)
    return V, Q, pi, diff, it, Vraw, best, since, cut


def value_iteration_sparse_par(indptr, indices, data, R, gamma, V0, tol, max_iter, patience=None, noise=0.0):
    """:func:`value_iteration_sparse` with the multithreaded fused sweep; same stopping rule and returns."""
    return _iterate_sparse_par(indptr, indices, data, R, gamma, V0, -1, tol, max_iter,
                               PATIENCE if patience is None else patience, noise)


@njit(cache=True, fastmath=_FM_GATHER)
def _policy_rows(lo, hi, indptr, indices, data, R, gamma, pi, V, Vn):
    A = R.shape[1]
    for s in range(lo, hi):
        a = pi[s]
        r = s * A + a
        acc = _row_dot(indptr, r, indices, data, V)
        Vn[s] = R[s, a] + gamma * acc


@njit(cache=True, parallel=True)
def _policy_sweep_par(indptr, indices, data, R, gamma, pi, V, Vn):
    S = R.shape[0]
    nb = min(S, 256)
    for b in prange(nb):
        _policy_rows(b * S // nb, (b + 1) * S // nb, indptr, indices, data, R, gamma, pi, V, Vn)


def partial_evaluation_sparse_par(indptr, indices, data, R, gamma, pi, V, m):
    """Multithreaded :func:`partial_evaluation_sparse` (same result): ``m`` sweeps of ``T_pi``, in place (on a
    contiguous copy of the policy's rows when ``m >= 2``, see :func:`policy_csr`)."""
    if m >= 2:
        indptr, indices, data, R = policy_csr(indptr, indices, data, R, pi)
        pi = np.zeros(R.shape[0], dtype=np.int64)
    Vn = np.empty(R.shape[0])
    cur = V
    for _ in range(m):
        _policy_sweep_par(indptr, indices, data, R, gamma, pi, cur, Vn)
        cur, Vn = Vn, cur
    if cur is not V:
        V[:] = cur


@njit(cache=True, parallel=True)
def _policy_sweep_range_par(indptr, indices, data, R, gamma, pi, V, Vn):
    S = R.shape[0]
    nb = min(S, 256)
    out = np.empty((nb, 3))
    for b in prange(nb):
        d0, d1, vm = _policy_rows_range(b * S // nb, (b + 1) * S // nb, indptr, indices, data, R, gamma, pi, V, Vn)
        out[b, 0] = d0
        out[b, 1] = d1
        out[b, 2] = vm
    return out


def evaluate_policy_sparse_par(indptr, indices, data, R, gamma, pi, V, m, noise, rl=1.0, ru=1.0):
    """Multithreaded :func:`evaluate_policy_sparse` (same sweeps, stopping rule and values; a Python loop, see
    :func:`_iterate_sparse_par`)."""
    S = R.shape[0]
    if m <= 0:
        return 0
    Rf = R
    if m >= 2:
        indptr, indices, data, R = policy_csr(indptr, indices, data, R, pi)
        pi = np.zeros(S, dtype=np.int64)
    Vn = np.empty(S)
    cur = V
    best = np.inf
    since = 0
    k = 0
    lo = hi = 0.0
    early = False
    while k < m:
        out = _policy_sweep_range_par(indptr, indices, data, R, gamma, pi, cur, Vn)
        lo, hi, vmax = float(out[:, 0].min()), float(out[:, 1].max()), float(out[:, 2].max())
        cur, Vn = Vn, cur
        k += 1
        if k == m:
            break
        early, best, since = _evaluation_floor(gamma, lo, hi, noise, vmax, best, since, rl, ru)
        if early:
            break
    if early:
        _py_shift_into(cur, gamma, lo, hi, rl, ru, Rf)
    if cur is not V:
        V[:] = cur
    return k


def modified_policy_iteration_sparse_par(indptr, indices, data, R, gamma, V0, m, tol, max_iter, patience=None,
                                         noise=0.0):
    """:func:`modified_policy_iteration_sparse` with multithreaded sweeps; same iterates and returns."""
    return _iterate_sparse_par(indptr, indices, data, R, gamma, V0, m, tol, max_iter,
                               PATIENCE if patience is None else patience, noise)



# ------------------------------------------------------------ dense MPI with evaluation bounds
#
# Modified policy iteration on a dense kernel, organised around memory traffic. A greedy step reads the whole
# (S*A, S) kernel; a sweep of the policy's own rows reads ``1/A`` of it. So the greedy steps are what to save:
# each policy is evaluated until the MacQueen-Porteus bounds of its value are tight (or ``m`` sweeps), the
# evaluation ends at the midpoint of those bounds, and every greedy step doubles as the certificate of the
# iterate it was applied to (:func:`greedy_residual_bound`), so that the solve needs no separate verification
# sweep when that certificate already meets the tolerance. The policy's rows are read in place: a copy of
# ``P_pi`` would read and write as many bytes as a few of the sweeps it serves.


@njit(cache=True)
def _policy_matvec(P2, A, pi, lo, hi, x, out):
    """``out[s] = sum_t P2[s A + pi(s), t] x[t]`` for ``s`` in ``lo..hi-1``, four states at a time (the rows of
    the policy, read where they are; the dot products of :func:`_matvec`)."""
    s = lo
    while s + 3 < hi:
        out[s], out[s + 1], out[s + 2], out[s + 3] = _dot4(P2[s * A + pi[s]], P2[(s + 1) * A + pi[s + 1]],
                                                           P2[(s + 2) * A + pi[s + 2]], P2[(s + 3) * A + pi[s + 3]], x)
        s += 4
    while s < hi:
        out[s] = _dot1(P2[s * A + pi[s]], x)
        s += 1


@njit(cache=True)
def _policy_block(P2, R, gamma, pi, lo, hi, V, Vn):
    """``Vn = T_pi V = r_pi + gamma P_pi V`` on states ``lo..hi-1``; returns the block's ``(min, max)`` of
    ``Vn - V``."""
    A = R.shape[1]
    _policy_matvec(P2, A, pi, lo, hi, V, Vn)
    dlo = np.inf
    dhi = -np.inf
    for s in range(lo, hi):
        v = R[s, pi[s]] + gamma * Vn[s]
        d = v - V[s]
        if d < dlo:
            dlo = d
        if d > dhi:
            dhi = d
        Vn[s] = v
    return dlo, dhi


@njit(cache=True)
def policy_sweep_dense(P2, R, gamma, pi, V, Vn):
    """One sweep ``Vn = T_pi V`` of a deterministic policy on the (S*A, S) view ``P2``; returns
    ``(min, max)`` of ``Vn - V``."""
    return _policy_block(P2, R, gamma, pi, 0, R.shape[0], V, Vn)


@njit(cache=True, parallel=True)
def policy_sweep_dense_par(P2, R, gamma, pi, V, Vn):
    """Multithreaded :func:`policy_sweep_dense` (states in blocks over threads, every row summed by the same
    four-state loop in the same order as the serial sweep: same values bit for bit)."""
    S = R.shape[0]
    nb = _dense_blocks(S)
    out = np.empty((nb, 2))
    for b in prange(nb):
        lo, hi = _dense_block(b, nb, S)
        d0, d1 = _policy_block(P2, R, gamma, pi, lo, hi, V, Vn)
        out[b, 0] = d0
        out[b, 1] = d1
    dlo = np.inf
    dhi = -np.inf
    for b in range(nb):
        dlo = min(dlo, out[b, 0])
        dhi = max(dhi, out[b, 1])
    return dlo, dhi


#: The policy evaluation of :func:`solve_dense_mpi_certified` also stops after a sweep that shrinks the span of
#: ``T_pi V - V`` by less than this factor (``prev`` in :func:`_evaluation_done`): on slow-mixing kernels the
#: evaluation sweeps then contract no faster than greedy sweeps, and the policy, not its value, is what improves
#: slowly (measured by ``benchmarks/run.py``, section ``convergence``, on the RiverSwim chains).
EVAL_MIN_CONTRACTION = 0.5


def _evaluation_done(gamma, lo, hi, tol, prev, rl=1.0, ru=1.0):
    """Stopping rule of the policy evaluation after a sweep with ``T_pi V - V`` in ``[lo, hi]``: the
    MacQueen-Porteus bounds of ``V^pi`` are ``gamma/(1-gamma) (hi - lo)`` wide (row sums in ``[rl, ru]``:
    :func:`_mp_offsets`), stop once that is ``<= tol``; or the span ``hi - lo`` is above ``EVAL_MIN_CONTRACTION``
    times the previous sweep's ``prev``."""
    if rl == 1.0 and ru == 1.0:
        within = gamma * (hi - lo) <= tol * (1.0 - gamma)
    else:
        within = _mp_within(gamma, lo, hi, tol, rl, ru)
    return within or hi - lo > EVAL_MIN_CONTRACTION * prev


def evaluate_policy_dense(P2, R, gamma, pi, V, tol, m, parallel=False, rl=1.0, ru=1.0):
    """At most ``m`` sweeps of ``T_pi`` on ``V`` in place, fewer once the MacQueen-Porteus bounds on ``V^pi``
    are at most ``tol`` wide or a sweep contracts them too little (:func:`_evaluation_done`); ``V`` then moves to
    the midpoint of the last bounds: with ``T_pi V - V`` in ``[lo, hi]`` (``V`` the last sweep's input)
    ``T_pi V + gamma/(1-gamma) lo <= V^pi <= T_pi V + gamma/(1-gamma) hi`` (Puterman 1994, Thm 6.6.2 applied to
    the single policy ``pi``; exact row sums in ``[rl, ru]``: :func:`_mp_offsets`). Returns the number of sweeps.

    A Python loop around :func:`policy_sweep_dense` (``parallel``: :func:`policy_sweep_dense_par`, same values;
    parallel kernels are entered from Python only, see :func:`_iterate_sparse_par`): the solver uses it on large
    kernels, where a sweep costs far more than the call."""
    sweep = policy_sweep_dense_par if parallel else policy_sweep_dense
    Vn = np.empty(R.shape[0])
    cur = V
    k = 0
    lo = hi = 0.0
    prev = np.inf
    while k < m:
        lo, hi = sweep(P2, R, gamma, pi, cur, Vn)
        cur, Vn = Vn, cur
        k += 1
        if _evaluation_done(gamma, lo, hi, tol, prev, rl, ru):
            break
        prev = hi - lo
    if k:
        _py_shift_into(cur, gamma, lo, hi, rl, ru, R)
    if cur is not V:
        _copy(V, cur)
    return k


@njit(cache=True)
def myopic_policy(R):
    """``argmax_a R(s, a)`` (smallest action on ties): the greedy policy of a constant value function."""
    S = R.shape[0]
    pi = np.empty(S, dtype=np.int64)
    for s in range(S):
        pi[s] = _argmax_row(R[s])[0]
    return pi

# ------------------------------------------------------------- certificates, rounding included
#
# ``error_bound`` must hold for the float64 V a solver returns, not for an exact-arithmetic iterate. The
# discounted solvers therefore end with one *verification sweep*: the Bellman residual ``d = T V - V`` of the
# returned V is evaluated with error-free transformations (TwoSum, and TwoProduct through a fused multiply-add:
# Ogita, Rump & Oishi 2005, "Accurate sum and dot product", Algorithm Dot2), so its computed value is within
# ``4u|d|`` plus an absolute term of order ``n^2 u^2 ||V||`` of the exact residual of the stored floats, and
# ``||V - V*|| <= ||d|| / (1 - gamma rho)`` (``rho`` = the largest row sum of P, >= 1 - 1e-9) is then rounded
# upwards. These kernels are compiled without fastmath: reassociation would destroy the error-free
# transformations.

#: Unit roundoff of float64.
UNIT_ROUNDOFF = 2.0 ** -53
#: Smallest positive (subnormal) float64, ``eta = 2^-1074``. With gradual underflow a rounded product or quotient
#: is ``x (1 + delta) + e`` with ``|delta| <= u`` and ``|e| <= eta / 2`` (sums and differences are exact when they
#: underflow; Higham 2002, Sec. 2.1): the relative terms below miss ``e`` when rewards lie near the underflow range,
#: so each bound also carries a few ``eta`` per product it covers.
UNDERFLOW_UNIT = 2.0 ** -1074


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` with a single rounding (LLVM's ``llvm.fma.f64``: the CPU's FMA instruction, or libm's
    correctly rounded ``fma`` where the CPU lacks one)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(d, [d, d, d]), "llvm.fma.f64")
        return builder.call(fn, args)

    return sig, codegen


@njit(cache=True)
def _two_sum(a, b):
    """Knuth's TwoSum: ``s = fl(a + b)`` and ``e`` with ``s + e = a + b`` exactly."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True)
def _dot2_dense(row, V):
    """Compensated ``sum_t row[t] V[t]`` (two interleaved lanes): ``(s, c, rowsum)`` with
    ``|s + c - exact| <= 1.1 (n+2)^2 u^2 sum_t |row[t] V[t]|`` and ``rowsum = fl(sum_t row[t])``."""
    n = row.shape[0]
    s0 = 0.0
    s1 = 0.0
    c = 0.0
    rs = 0.0
    j = 0
    while j + 1 < n:
        p0 = row[j]
        p1 = row[j + 1]
        x0 = p0 * V[j]
        y0 = _fma(p0, V[j], -x0)
        x1 = p1 * V[j + 1]
        y1 = _fma(p1, V[j + 1], -x1)
        t0 = s0 + x0
        b0 = t0 - s0
        e0 = (s0 - (t0 - b0)) + (x0 - b0)
        s0 = t0
        t1 = s1 + x1
        b1 = t1 - s1
        e1 = (s1 - (t1 - b1)) + (x1 - b1)
        s1 = t1
        c += (e0 + y0) + (e1 + y1)
        rs += p0 + p1
        j += 2
    if j < n:
        p0 = row[j]
        x0 = p0 * V[j]
        y0 = _fma(p0, V[j], -x0)
        s0, e0 = _two_sum(s0, x0)
        c += e0 + y0
        rs += p0
    s, e = _two_sum(s0, s1)
    return s, c + e, rs


@njit(cache=True)
def _dot2_sparse(lo, hi, indices, data, V):
    """:func:`_dot2_dense` over the CSR entries ``lo..hi-1`` (one lane)."""
    s = 0.0
    c = 0.0
    rs = 0.0
    k = uint64(lo)
    end = uint64(hi)
    while k < end:  # unsigned addressing, as in _row_dot
        p = data[k]
        v = V[uint64(indices[k])]
        x = p * v
        y = _fma(p, v, -x)
        t = s + x
        b = t - s
        e = (s - (t - b)) + (x - b)
        s = t
        c += e + y
        rs += p
        k += uint64(1)
    return s, c, rs


@njit(cache=True)
def _finish_backup(sh, c, r, gamma, vs):
    """From the compensated dot ``sh + c``: ``q = fl(r + gamma (sh + c))`` and ``d = fl(q_exact - vs)``, both
    evaluated in double-double (TwoSum / FMA); ``d`` is within ``u |d|`` plus ``O(u^2)`` terms of
    ``r + gamma (sh + c) - vs``."""
    g1 = gamma * sh
    g2 = _fma(gamma, sh, -g1)
    t1, e1 = _two_sum(r, g1)
    lo = e1 + (g2 + gamma * c)
    t2, e2 = _two_sum(t1, -vs)
    return t1 + lo, t2 + (e2 + lo)


@njit(cache=True)
def _max_abs(x):
    """``max |x|`` over all entries; ``inf`` when one is NaN (so that a bound built on it certifies nothing)."""
    m = 0.0
    for v in x.ravel():
        a = abs(v)
        if not a <= m:
            m = a if a > m else np.inf
    return m


@njit(cache=True)
def _residual_tail(n, Rmax, Vmax, rho_hi, resid):
    """Upper bound on ``||T V - V||_inf`` from the kernels' running maximum ``resid`` (see :func:`certify_dense`)."""
    u = UNIT_ROUNDOFF
    delta = 8.0 * (n + 4.0) ** 2 * u * u * (Rmax + 2.0 * rho_hi * Vmax + 2.0 * Vmax)
    return resid * (1.0 + 4.0 * u) + delta + 8.0 * (n + 4.0) * UNDERFLOW_UNIT


@njit(cache=True)
def _backup_error2(n, Rmax, Vbmax, gamma, rho_hi):
    """Twice ``eps = gamma_{n+3} (max|R| + gamma rho_hi max|Vb|) + 2 (n + 3) eta`` (inflated by ``4u``): ``eps``
    bounds ``|fl(R + gamma P Vb) - (R + gamma P Vb)|`` entrywise for any summation order (Higham 2002, Sec. 3.1),
    the absolute term covering the underflow of the ``n + 1`` products (:data:`UNDERFLOW_UNIT`)."""
    u = UNIT_ROUNDOFF
    g = (n + 3) * u / (1.0 - (n + 3) * u)
    return 2.0 * g * (Rmax + gamma * rho_hi * Vbmax) * (1.0 + 4.0 * u) + 4.0 * (n + 3) * UNDERFLOW_UNIT


@njit(cache=True)
def _loose_residual(rp, eps2):
    """Upper bound on ``||T V - V||_inf`` from ``rp = max_s |max_a Q^(s, .) - V(s)|`` (computed in float64 from
    ``Q^ = fl(R + gamma P V)``) and :func:`_backup_error2`: ``(rp + eps2 / 2) (1 + 4u)``."""
    return (rp + 0.5 * eps2) * (1.0 + 4.0 * UNIT_ROUNDOFF)


@njit(cache=True)
def greedy_residual_bound(R, V, lo, hi, gamma, rho_hi, n):
    """The shortcut bound of :func:`certify_dense` for ``V`` from a fused greedy sweep of ``V``
    (:func:`bellman_sweep_dense` or its multithreaded twin, ``n`` entries per row), whose ``Vn - V`` lies in
    ``[lo, hi]``: the sweep computes ``Vn(s) = max_a Q^(s, a)`` with ``Q^ = fl(R + gamma P V)`` and ``lo``, ``hi``
    from ``fl(Vn - V)``, exactly the quantities of the shortcut, so the same bound on ``||T V - V||_inf``
    holds (rounding included) without a separate verification sweep."""
    return _loose_residual(max(-lo, hi), _backup_error2(n, _max_abs(R), _max_abs(V), gamma, rho_hi))


@njit(cache=True)
def certify_dense(P2, R, Vb, Vc, gamma, rho_hi, Q, target=0.0):
    """Rigorous upper bound on ``||T V - V||_inf`` for float64 arrays, rounding included; fills ``Q``.

    ``(T V)(s) = max_a q(s,a)``, ``q(s,a) = R(s,a) + gamma sum_t P2[s A + a, t] Vb(t)``, compared with ``Vc(s)``
    (discounted: ``Vb = Vc = V``; finite horizon, step h: ``Vb = V_{h+1}``, ``Vc = V_h``, ``gamma = 1``);
    ``rho_hi >= max_{s,a} sum_t P2[s A + a, t]`` (exact row sums) is the caller's.

    1. ``Q^ = fl(R + gamma P2 Vb)`` by one matvec (:func:`_matvec`); whatever the summation order,
       ``|Q^ - q| <= eps = gamma_{n+3} (max|R| + gamma rho_hi max|Vb|)`` (Higham 2002, Sec. 3.1).
    2. Only actions with ``Q^(s,a) >= max_a Q^(s,.) - 2 eps`` can attain ``max_a q(s,a)``; for those (usually one
       per state) ``d(s,a) = q(s,a) - Vc(s)`` is recomputed with error-free transformations (:func:`_dot2_dense`,
       :func:`_finish_backup`): its computed value ``d^`` satisfies ``|d^ - d| <= 4u|d^| + delta`` with
       ``delta = 8 (n+4)^2 u^2 (max|R| + 2 rho_hi max|Vb| + 2 max|Vc|)``, which dominates the Dot2 bound
       ``1.1 (n+2)^2 u^2 sum|p v|`` (Ogita, Rump & Oishi 2005) and the O(u^2) double-double steps, and ``Q`` gets
       the accurately rounded ``q``.
    3. ``max`` is monotone: ``|(T V - V)(s)| <= max(max_a (d^ + 4u|d^|), -max_a (d^ - 4u|d^|)) + delta``.

    Shortcut: if ``target > 0`` and the bound of step 1 alone, ``|max_a Q^(s,.) - Vc(s)| + eps``, already gives
    :func:`contraction_bound` ``<= target``, that (looser, equally rigorous) bound is returned and step 2 is
    skipped. Returns the bound's maximum over s, rounded upwards."""
    S = R.shape[0]
    A = R.shape[1]
    n = P2.shape[1]
    u = UNIT_ROUNDOFF
    u4 = 4.0 * u
    Vbmax = _max_abs(Vb)
    Vmax = max(Vbmax, _max_abs(Vc))
    Rmax = _max_abs(R)
    Qf = Q.reshape(S * A)
    _matvec(P2, Vb, Qf)
    Rf = R.reshape(S * A)
    for k in range(S * A):
        Qf[k] = Rf[k] + gamma * Qf[k]
    eps2 = _backup_error2(n, Rmax, Vbmax, gamma, rho_hi)
    if target > 0.0:
        rp = 0.0
        for s in range(S):
            m = Q[s, 0]
            for a in range(1, A):
                if Q[s, a] > m:
                    m = Q[s, a]
            rp = max(rp, abs(m - Vc[s]))
        rp = _loose_residual(rp, eps2)
        if contraction_bound(rp, gamma, rho_hi) <= target:
            return rp
    resid = 0.0
    for s in range(S):
        m = Q[s, 0]
        for a in range(1, A):
            if Q[s, a] > m:
                m = Q[s, a]
        cut = m - eps2 * (1.0 + u4) - u4 * abs(m)
        dhi = -np.inf
        dlo = -np.inf
        for a in range(A):
            if Q[s, a] >= cut:
                sh, c, _rs = _dot2_dense(P2[s * A + a], Vb)
                q, d = _finish_backup(sh, c, R[s, a], gamma, Vc[s])
                Q[s, a] = q
                ad = u4 * abs(d)
                dhi = max(dhi, d + ad)
                dlo = max(dlo, d - ad)
        resid = max(resid, max(dhi, -dlo))
    return _residual_tail(n, Rmax, Vmax, rho_hi, resid)


@njit(cache=True)
def max_row_sum(P2):
    """Upper bound on the largest exact row sum of the non-negative (rows, n) array ``P2``."""
    n = P2.shape[1]
    rho = 0.0
    for r in range(P2.shape[0]):
        rs = 0.0
        for t in range(n):
            rs += P2[r, t]
        rho = max(rho, rs)
    return rho * (1.0 + 2.0 * (n + 1) * UNIT_ROUNDOFF)


@njit(cache=True)
def row_sum_range(P2):
    """``(lo, hi)`` bounding every exact row sum of the non-negative (rows, n) array ``P2`` from below and above
    (the computed sums widened by their rounding bound ``2 (n + 1) u``)."""
    n = P2.shape[1]
    lo = np.inf
    hi = 0.0
    for r in range(P2.shape[0]):
        rs = 0.0
        for t in range(n):
            rs += P2[r, t]
        lo = min(lo, rs)
        hi = max(hi, rs)
    w = 2.0 * (n + 1) * UNIT_ROUNDOFF
    return lo * (1.0 - w), hi * (1.0 + w)


@njit(cache=True)
def row_sum_range_sparse(indptr, data):
    """:func:`row_sum_range` of a CSR matrix (``n``: its longest row)."""
    lo = np.inf
    hi = 0.0
    n = 0
    for r in range(indptr.shape[0] - 1):
        rs = 0.0
        for k in range(indptr[r], indptr[r + 1]):
            rs += data[k]
        n = max(n, indptr[r + 1] - indptr[r])
        lo = min(lo, rs)
        hi = max(hi, rs)
    w = 2.0 * (n + 1) * UNIT_ROUNDOFF
    return lo * (1.0 - w), hi * (1.0 + w)


@njit(cache=True)
def _certify_sparse_block(lo, hi, indptr, indices, data, R, Vb, Vc, gamma, Q):
    A = R.shape[1]
    u4 = 4.0 * UNIT_ROUNDOFF
    resid = 0.0
    nmax = 0
    for s in range(lo, hi):
        dhi = -np.inf
        dlo = -np.inf
        for a in range(A):
            r = s * A + a
            sh, c, _rs = _dot2_sparse(indptr[r], indptr[r + 1], indices, data, Vb)
            nmax = max(nmax, indptr[r + 1] - indptr[r])
            q, d = _finish_backup(sh, c, R[s, a], gamma, Vc[s])
            Q[s, a] = q
            ad = u4 * abs(d)
            dhi = max(dhi, d + ad)
            dlo = max(dlo, d - ad)
        resid = max(resid, max(dhi, -dlo))
    return resid, nmax


@njit(cache=True)
def certify_sparse(indptr, indices, data, R, Vb, Vc, gamma, rho_hi, Q):
    """Sparse (CSR, S*A rows) version of :func:`certify_dense`: every row is evaluated with error-free
    transformations (a gather-bound sweep costs about the same either way); ``n`` = the longest row's length."""
    resid, nmax = _certify_sparse_block(0, R.shape[0], indptr, indices, data, R, Vb, Vc, gamma, Q)
    return _residual_tail(nmax, _max_abs(R), max(_max_abs(Vb), _max_abs(Vc)), rho_hi, resid)


@njit(cache=True, parallel=True)
def _certify_sparse_par_blocks(indptr, indices, data, R, Vb, Vc, gamma, Q, out):
    S = R.shape[0]
    nb = out.shape[0]
    for b in prange(nb):
        r, n = _certify_sparse_block(b * S // nb, (b + 1) * S // nb, indptr, indices, data, R, Vb, Vc, gamma, Q)
        out[b, 0] = r
        out[b, 1] = n


def certify_sparse_par(indptr, indices, data, R, Vb, Vc, gamma, rho_hi, Q):
    """Multithreaded :func:`certify_sparse` (same bound: the block maxima are combined exactly)."""
    out = np.zeros((min(R.shape[0], 256), 2))
    _certify_sparse_par_blocks(indptr, indices, data, R, Vb, Vc, gamma, Q, out)
    return _residual_tail(int(out[:, 1].max()), _max_abs(R), max(_max_abs(Vb), _max_abs(Vc)), rho_hi,
                          float(out[:, 0].max()))


@njit(cache=True)
def backward_induction_rounding_bound(V, R, n, rho_hi):
    """A priori bound on ``max_h ||V_h - V*_h||_inf`` for the float64 ``V`` (H+1, S) computed by
    :func:`backward_induction_dense` / :func:`backward_induction_sparse` (any summation order, FMA or not).

    Each ``Q_h(s,a) = fl(R_h(s,a) + sum_t P_h(t|s,a) V_{h+1}(t))`` is an (n+1)-term sum of products, so
    ``|Q^ - Q| <= gamma_{n+1} (|R_h| + sum_t P |V_{h+1}|) <= gamma_{n+1} (max|R_h| + rho_hi ||V_{h+1}||)`` =: eps_h
    (Higham 2002, Sec. 3.1; ``n`` = entries per row), ``V_h = max_a Q^_h`` exactly, and ``T_h`` is
    ``rho_hi``-Lipschitz, so ``e_h = ||V_h - V*_h|| <= eps_h + rho_hi e_{h+1}`` with ``e_H = 0``.
    Every product and sum below is inflated by ``4u`` and carries the underflow terms of :data:`UNDERFLOW_UNIT`,
    so that the returned float is an upper bound (``inf`` when ``V`` holds a NaN or an infinite entry)."""
    u = UNIT_ROUNDOFF
    H = V.shape[0] - 1
    hr = R.shape[0]
    infl = 1.0 + 4.0 * u
    gn = (n + 1) * u / (1.0 - (n + 1) * u) * infl
    rmax0 = _max_abs(R[0])
    e = 0.0
    best = 0.0
    for h in range(H - 1, -1, -1):
        rmax = _max_abs(R[h]) if hr > 1 else rmax0
        eps = gn * (rmax + rho_hi * _max_abs(V[h + 1]) * infl) * infl + 2.0 * (n + 2) * UNDERFLOW_UNIT
        e = (eps + rho_hi * e * infl) * infl + 2.0 * UNDERFLOW_UNIT
        if e > best:
            best = e
    return best


@njit(cache=True)
def max_row_len(indptr):
    """Largest number of stored entries in a CSR row."""
    n = 0
    for r in range(indptr.shape[0] - 1):
        k = indptr[r + 1] - indptr[r]
        if k > n:
            n = k
    return n


@njit(cache=True)
def contraction_bound(resid, gamma, rho_hi):
    """``resid / (1 - gamma rho_hi)`` rounded upwards (each of the four roundings inflated by 2u); ``inf`` when
    ``gamma rho_hi`` is not certainly below 1, or ``resid`` is not a non-negative number; plus ``4 eta`` for the
    underflow of the three roundings (:data:`UNDERFLOW_UNIT`). ``resid`` bounds ``||T V - V||_inf``, ``rho_hi`` the
    row sums."""
    u2 = 2.0 * UNIT_ROUNDOFF
    x = gamma * rho_hi * (1.0 + u2)
    den = (1.0 - x) * (1.0 - u2)
    if not (den > 0.0 and resid >= 0.0):  # a NaN (or negative) residual certifies nothing
        return np.inf
    return resid * (1.0 + u2) / den * (1.0 + u2) + 4.0 * UNDERFLOW_UNIT


@njit(cache=True)
def _argmax_rows(Q):
    pi = np.empty(Q.shape[0], dtype=np.int64)
    for s in range(Q.shape[0]):
        pi[s] = _argmax_row(Q[s])[0]
    return pi


def solve_dense_certified(P2, R, gamma, tol, max_iter, m, rho_hi, patience, noise, rl=1.0, ru=1.0, resume=None,
                          trace=None, first_bound=True):
    """The whole certified discounted solve on a dense (S*A, S) kernel: value iteration (``m < 0``,
    :func:`value_iteration_dense`) or MPI with ``m`` sweeps (:func:`modified_policy_iteration_dense`) from
    ``V0 = min R / (1 - gamma)``, then the verification sweep :func:`certify_dense` of the returned V. If rounding
    leaves the certificate above ``tol`` although the MacQueen-Porteus rule was met, the iteration resumes with a
    4x smaller inner tolerance (at most twice more). ``patience`` / ``noise``: see the iteration kernels (the
    float64 noise floor: stop once the span is below ``noise * max|V|``, or has set no new minimum for
    ``patience`` greedy steps). Returns ``(V, Q, pi, error_bound, iterations, stalled)``; ``stalled``: stopped at
    the noise floor before the rule was met. ``rl``, ``ru``: bounds on the exact row sums of P for the
    MacQueen-Porteus bounds (:func:`_mp_offsets`); ``1, 1`` (the default) takes the rows as stochastic.
    ``resume``: None, or the :class:`RoundsState` that ``trace["state"]`` received from an earlier call on the same
    model, ``tol``, ``m``, ``patience`` and ``noise`` with a smaller ``max_iter``: the iteration then continues
    where that call stopped, exactly as one call with this ``max_iter`` would have run (the same iterates, rounds
    and result, bit for bit), and the returned iteration count is the total of both. ``trace``: None, or a dict
    that receives ``"state"`` (a :class:`RoundsState` when the call stopped at ``max_iter`` and an uncut one would
    have gone on, else None) and, on a fresh call with ``first_bound`` true (the default), ``"first_bound"``: the
    certified bound of the call with ``max_iter = 1`` (the midpoint after the first greedy step), obtained without
    a second solve (it costs one verification sweep; without it the run is the same).

    The at most three rounds are a Python loop (:func:`_certified_rounds`) around the compiled iteration and
    verification kernels: a jitted driver would make Numba optimise the whole call tree once more, which costs
    compilation time in every process that starts with an empty cache.
    """
    return _certified_rounds(_round_iterate(_iterate_from, (P2,), R, gamma, m, patience, noise, rl, ru),
                             lambda V, Q: certify_dense(P2, R, V, V, gamma, rho_hi, Q, tol), R, gamma, tol, max_iter,
                             rho_hi, rl, ru, resume, trace, first_bound)


def _round_iterate(loop, model, R, gamma, m, patience, noise, rl=1.0, ru=1.0):
    """``iterate(V, ktol, left, carry) -> (V, diff, iterations, certified, carry)`` of :func:`_certified_rounds` by
    ``loop``, the serial kernel :func:`_iterate_from` or a multithreaded :func:`_iterate_par` (with its sweeps bound),
    on ``model`` (``(P2,)`` dense or ``(indptr, indices, data)`` CSR); ``carry`` is ``(Vraw, pi, best, since)``."""
    fresh = np.zeros(R.shape[0], dtype=np.int64)

    def iterate(V, ktol, left, carry):
        if carry is None:
            r = loop(model, R, gamma, V, m, ktol, left, patience, noise, rl, ru, fresh, np.inf, 0, False)
        else:
            r = loop(model, R, gamma, carry[0], m, ktol, left, patience, noise, rl, ru, carry[1], carry[2], carry[3],
                     True)
        V, _q, pi, diff, k, Vraw, best, since, cut = r
        return V, diff, k, None, ((Vraw, pi, best, since) if cut else None)

    return iterate


#: Most iteration rounds of :func:`_certified_rounds`: at most three that end with the MacQueen-Porteus rule met
#: (each with a 4x smaller inner tolerance), and rounds that end stalled (``PATIENCE``) continue from their
#: midpoint while the certified bound at least halves from round to round.
MAX_ROUNDS = 64


class RoundsState:
    """Where :func:`_certified_rounds` stopped at ``max_iter`` while an uncut run would have gone on: enough to
    continue it exactly (see the ``resume`` argument of :func:`solve_dense_certified`). Treated as immutable.

    Attributes
    ----------
    V : numpy.ndarray or None
        The start of the next round (its midpoint), when the cut fell between two rounds; else None.
    carry : tuple or None
        ``(Vraw, pi, best, since)`` of a round cut in the middle (see :func:`_iterate_from`); else None.
    it : int
        Greedy steps so far.
    round : int
        Index of the round to run (or continue) next.
    ktol, prev, refined, best
        The loop state of :func:`_certified_rounds`: inner tolerance, last certified bound of a finished round,
        number of refinements, ``(V, Q, bound)`` of the best finished round (or None).
    policy : numpy.ndarray or None
        Dense MPI only: the policy it evaluates next (the ``next_policy`` of :func:`_certified_rounds`).
    """

    __slots__ = ("V", "carry", "it", "round", "ktol", "prev", "refined", "best", "policy")

    def __init__(self, V, carry, it, round_, ktol, prev, refined, best, policy=None):
        self.V, self.carry, self.it, self.round = V, carry, it, round_
        self.ktol, self.prev, self.refined, self.best, self.policy = ktol, prev, refined, best, policy


#: Most rounds of :func:`_certified_rounds` that end with the MacQueen-Porteus rule met: the first, then at most
#: two more with a 4x smaller inner tolerance each.
MAX_REFINED = 3


def _next_round(met, bound, prev, ktol, refined):
    """What an uncut :func:`_certified_rounds` does after a round that ended by its stopping rule above ``tol``:
    ``(ktol, refined)`` of the next round, or None when the rounds end there. ``met``: the round met the
    MacQueen-Porteus rule (then rounding kept the certificate above ``tol``: a 4x smaller inner tolerance, at most
    ``MAX_REFINED`` rounds of that kind), else it stalled (then another round from its midpoint while the certified
    ``bound`` at least halves from ``prev``, that of the previous round). The one decision of both the loop and
    the state of a run cut between two rounds."""
    if not met:
        return (ktol, refined) if bound < 0.5 * prev else None
    if refined + 1 == MAX_REFINED:
        return None
    return ktol / 4.0, refined + 1


def _certified_rounds(iterate, certify, R, gamma, tol, max_iter, rho_hi, rl=1.0, ru=1.0, resume=None, trace=None,
                      first_bound=True, next_policy=None):
    """The certification rounds of :func:`solve_dense_certified` and its sparse / multithreaded versions, as a
    Python loop (the thread-parallel kernels are entered from Python only, see :func:`_iterate_sparse_par`):
    ``iterate(V, ktol, left, carry) -> (V, diff, iterations, certified, carry)`` runs the iteration from ``V`` (or
    continues the round that an earlier call cut at its step limit, when ``carry`` is not None) and returns the
    ``carry`` to continue it when it is cut at ``left`` steps itself; ``certify(V, Q)``
    fills ``Q`` with the backup of ``V`` and returns the bound on its residual. ``certified`` is None, or
    ``(Q, bound)`` when the iteration's last greedy sweep has already certified the returned ``V`` to ``tol``
    (:func:`solve_dense_mpi_certified`): the verification sweep is then skipped. A round that stalls (span of
    ``T V - V`` without a new minimum for ``patience`` greedy steps) is followed by another from its midpoint while
    the certified bound keeps halving (``MAX_ROUNDS``): when the row sums of P are not exactly 1 the span tracks
    the level of ``T V - V``, which shrinks only by ``gamma`` per sweep and can dip and stall the counter, and each
    midpoint removes most of that level (:func:`_next_round` decides). The round with the smallest certified bound
    is returned (a later round can end above an earlier one). The start is the constant
    ``V0 = min R / (1 - gamma)`` (row sums in ``[rl, ru]``, not both 1: ``min R / (1 - gamma r)`` with ``r = rl``
    for ``min R >= 0``, else ``ru``), so that ``T V0 >= V0``. ``resume``, ``trace``, ``first_bound``: see
    :func:`solve_dense_certified`; the bound after the first greedy step costs one verification sweep more (the
    first round runs one step, its midpoint is certified, and the round continues from its raw iterate).
    ``next_policy``: None, or a function of no arguments returning (a copy of) what the iteration carries from one
    round to the next besides ``V`` (the dense MPI: the policy it evaluates next), kept in a cut run's state as
    :attr:`RoundsState.policy`."""
    S = R.shape[0]
    A = R.shape[1]
    if resume is None:
        if rl == 1.0 and ru == 1.0:
            V = np.full(S, R.min() / (1.0 - gamma))
        else:
            r0 = R.min()
            V = np.full(S, r0 / (1.0 - gamma * (rl if r0 >= 0.0 else ru)))
        it, first_round, ktol, prev, refined, best, carry = 0, 0, tol, np.inf, 0, None, None
    else:
        V, carry, it, first_round = resume.V, resume.carry, resume.it, resume.round
        ktol, prev, refined, best = resume.ktol, resume.prev, resume.refined, resume.best
    want_first = trace is not None and resume is None and first_bound
    if trace is not None:
        trace["state"] = None
    Q = np.empty((S, A))
    bound = np.inf
    stalled = False
    for rnd in range(first_round, MAX_ROUNDS):
        left = max_iter - it
        if want_first and it == 0 and left > 1:
            V, diff, k, certified, carry = iterate(V, ktol, 1, None)
            if certified is None and carry is not None:  # the round goes on: certify its first midpoint aside
                trace["first_bound"] = contraction_bound(certify(V, np.empty((S, A))), gamma, rho_hi)
                V, diff, k2, certified, carry = iterate(V, ktol, left - 1, carry)
                k += k2
        else:
            V, diff, k, certified, carry = iterate(V, ktol, left, carry)
        it += k
        if certified is not None:
            Q, bound = certified
            if want_first and it == 1:
                trace["first_bound"] = bound
            return V, Q, _argmax_rows(Q), bound, it, False
        bound = contraction_bound(certify(V, Q), gamma, rho_hi)
        if want_first and it == 1:
            trace["first_bound"] = bound
        if carry is not None and trace is not None:  # cut in the middle of the round (it == max_iter)
            trace["state"] = RoundsState(None, carry, it, rnd, ktol, prev, refined, best,
                                         None if next_policy is None else next_policy())
        if best is None or bound < best[2]:
            best = (V.copy(), Q.copy(), bound)
        met = gamma * diff <= 2.0 * ktol * (1.0 - gamma)
        stalled = not met and k < left
        if bound <= tol:
            break
        # the round ended by its stopping rule (stalled or met), or was cut at max_iter
        nxt = _next_round(met, bound, prev, ktol, refined)
        if it >= max_iter:
            if carry is None and trace is not None and nxt is not None and rnd + 1 < MAX_ROUNDS:
                # cut between rounds: the next round is the one an uncut run would start
                trace["state"] = RoundsState(V.copy(), None, it, rnd + 1, nxt[0], bound, nxt[1], best,
                                             None if next_policy is None else next_policy())
            break
        if nxt is None:  # stalled without halving the bound (the float64 floor), or refined MAX_REFINED times
            break
        ktol, refined = nxt
        prev = bound
        carry = None
    if best is not None and best[2] < bound:  # a later round certified less than an earlier one: keep the earlier
        V, Q, bound = best
    return V, Q, _argmax_rows(Q), bound, it, stalled


def solve_dense_certified_par(P2, R, gamma, tol, max_iter, rho_hi, patience, noise, rl=1.0, ru=1.0, resume=None,
                              trace=None, first_bound=True):
    """:func:`solve_dense_certified` for value iteration with the multithreaded sweep. Same iterates, stopping
    rounds, certificate and returns as the serial call with ``m = -1``; ``resume``, ``trace``, ``first_bound`` as
    there."""
    iterate = _round_iterate(functools.partial(_iterate_par, bellman_sweep_dense_par, None), (P2,), R, gamma, -1,
                             patience, noise, rl, ru)
    return _certified_rounds(iterate, lambda V, Q: certify_dense(P2, R, V, V, gamma, rho_hi, Q, tol), R, gamma, tol,
                             max_iter, rho_hi, rl, ru, resume, trace, first_bound)


def solve_dense_mpi_certified(P2, R, gamma, tol, max_iter, m, rho_hi, patience, noise, parallel=False, rl=1.0,
                              ru=1.0, resume=None, trace=None, first_bound=True):
    """Modified policy iteration on a dense (S*A, S) kernel, certified: the returned ``V`` has
    ``||V - V*||_inf <= error_bound`` (rounding included), as from :func:`solve_dense_certified`.

    From the myopic policy (:func:`myopic_policy`) and ``V0 = min R / (1 - gamma)``, every greedy step is

    1. evaluate the current policy: at most ``m`` sweeps of ``T_pi``, fewer once the MacQueen-Porteus bounds on
       ``V^pi`` are at most the inner tolerance wide or stop contracting fast (``EVAL_MIN_CONTRACTION``), ending
       at their midpoint (:func:`evaluate_policy_dense`);
    2. one fused greedy sweep of the result ``V`` (:func:`bellman_sweep_dense`), which gives the next policy and
       ``T V``, and certifies ``V`` itself (:func:`greedy_residual_bound`, the shortcut bound of
       :func:`certify_dense`): if ``||V - V*|| <= tol`` follows, ``V`` is returned with ``Q = fl(R + gamma P V)``
       and no verification sweep;
    3. otherwise ``V <- T V`` and the stopping rule of :func:`_iterate` (MacQueen-Porteus on the greedy step,
       float64 noise floor, ``patience`` greedy steps) decides whether to end the round at the midpoint of the
       greedy bounds, which :func:`certify_dense` then certifies as in :func:`_certified_rounds`.

    Sweeps of ``T_pi`` read ``1/A`` of the kernel (the policy's rows, in place), greedy sweeps all of it, so
    evaluating each policy to its bounds costs a fraction of a greedy step and saves greedy steps on well-mixing
    kernels; on slow-mixing ones the evaluation stops after a few sweeps and the method is close to value
    iteration. ``parallel``: the multithreaded sweeps (same values). ``rl``, ``ru``: see
    :func:`solve_dense_certified`; ``resume``, ``trace``, ``first_bound`` as there (the state also carries the
    policy to evaluate next).
    Returns ``(V, Q, pi, error_bound, greedy steps, stalled)``."""
    sweep = bellman_sweep_dense_par if parallel else bellman_sweep_dense
    S, A = R.shape
    n = P2.shape[1]
    Q = np.empty((S, A))
    # the policy evaluated next, carried from round to round (and from a cut call to its continuation)
    policy = [myopic_policy(R) if resume is None else resume.policy.copy()]

    def iterate(V, ktol, left, carry):
        if carry is None:
            V = V.copy()
            pi = policy[0]
            best = np.inf
            since = 0
        else:
            V = carry[0].copy()
            pi = carry[1].copy()
            best, since = carry[2], carry[3]
        Vn = np.empty(S)
        pin = np.empty(S, dtype=np.int64)
        it = 0
        lo = hi = 0.0
        stop = False
        while it < left:
            evaluate_policy_dense(P2, R, gamma, pi, V, ktol, m, parallel, rl, ru)
            sweep(P2, R, V, gamma, Q, Vn, pin)
            it += 1
            lo, hi = _diff_range(Vn, V)
            bound = contraction_bound(greedy_residual_bound(R, V, lo, hi, gamma, rho_hi, n), gamma, rho_hi)
            if bound <= tol:
                return V, hi - lo, it, (Q, bound), None
            V, Vn = Vn, V
            pi, pin = pin, pi
            stop, best, since = _stop(gamma, lo, hi, ktol, noise, V, best, since, patience, rl, ru)
            if stop:
                break
        policy[0] = pi
        out = (V.copy(), pi.copy(), best, since) if it and not stop else None
        if it:
            _py_shift_into(V, gamma, lo, hi, rl, ru, R)
        return V, hi - lo if rl == 1.0 and ru == 1.0 else _mp_span(gamma, lo, hi, rl, ru), it, None, out

    return _certified_rounds(iterate, lambda V, Qc: certify_dense(P2, R, V, V, gamma, rho_hi, Qc, tol), R, gamma,
                             tol, max_iter, rho_hi, rl, ru, resume, trace, first_bound, lambda: policy[0].copy())


def solve_sparse_certified_par(indptr, indices, data, R, gamma, tol, max_iter, m, rho_hi, patience, noise, rl=1.0,
                               ru=1.0, resume=None, trace=None, first_bound=True):
    """:func:`solve_sparse_certified` with the multithreaded sweeps and verification (value iteration for
    ``m < 0``, MPI with ``m`` sweeps otherwise); same returns, ``resume``, ``trace`` and ``first_bound``."""
    iterate = _round_iterate(functools.partial(_iterate_par, bellman_sweep_sparse_par, evaluate_policy_sparse_par),
                             (indptr, indices, data), R, gamma, m, patience, noise, rl, ru)
    return _certified_rounds(iterate, lambda V, Q: certify_sparse_par(indptr, indices, data, R, V, V, gamma, rho_hi,
                                                                      Q), R, gamma, tol, max_iter, rho_hi, rl, ru,
                             resume, trace, first_bound)


def solve_sparse_certified(indptr, indices, data, R, gamma, tol, max_iter, m, rho_hi, patience, noise, rl=1.0,
                           ru=1.0, resume=None, trace=None, first_bound=True):
    """Serial-kernel (CSR) version of :func:`solve_dense_certified` (verification: :func:`certify_sparse`), with
    the same ``resume``, ``trace`` and ``first_bound``."""
    return _certified_rounds(_round_iterate(_iterate_from, (indptr, indices, data), R, gamma, m, patience, noise,
                                            rl, ru),
                             lambda V, Q: certify_sparse(indptr, indices, data, R, V, V, gamma, rho_hi, Q), R, gamma,
                             tol, max_iter, rho_hi, rl, ru, resume, trace, first_bound)


@njit(cache=True)
def reward_stats(R):
    """``(max |R|, max R - min R)`` in one pass."""
    lo = np.inf
    hi = -np.inf
    m = 0.0
    for v in R.ravel():
        lo = min(lo, v)
        hi = max(hi, v)
        m = max(m, abs(v))
    return m, hi - lo
