"""Exact exploration oracle of HF-UCRL-RFE++ for tiny instances (Alg. 4 line 5), by certified branch and bound.

The paper's line 5 maximises the trajectory uncertainty jointly over a deterministic Markov policy, a parameter in
the confidence set and a reward in the class R (dissertation eqs. 2.6.1-2.6.2; 0-based steps ``h = 0..H-1``)::

    V_h(s)   = [r_h(s, pi_h(s)) + psi_{V_{h+1}}(s, pi_h(s))^T theta]_[0,1],                      V_H = 0
    u_h(s,a) = min{1, beta ||psi_{V_{h+1}}(s,a)||_{(S~)^{-1}}}
    V^_h(s)  = [u_h(s,pi_h(s)) + 2 beta ||psi_{V^_{h+1}}(s,pi_h(s))||_{(S^)^{-1}} + psi_{V^_{h+1}}(s,pi_h(s))^T theta]_[0,1]
    value    = mu0 . V^_0,   maximised over pi, theta, r.

What we solve exactly, and the choices that are ours (reconstruction, recorded as ``ORACLE_EXACT``):

* ``theta`` ranges over the frozen order-0 hat ellipsoid ``{||theta - theta^_0||_{S^_0} <= beta}``. The paper's U_k
  intersects it with the other 2M - 1 current ellipsoids and with all past ones, so our feasible set is a superset
  (our value is an upper bound of the paper's at the same statistics). It is the same set R1 relaxes, so the
  comparison with R1 isolates R1's two relaxations (per-(s,a) reward maximum, per-(s,a) ellipsoid maximum).
* R is the set of rewards ``r_h(s,a) >= 0`` with ``sum_h max_{s,a} r_h(s,a) <= 1`` (total <= 1 along every state
  sequence: the learner does not know which transitions are impossible). Only ``r_h(s, pi_h(s))`` for ``h >= 1``
  enters the value (``V_0`` feeds no uncertainty), so ``r_0 = 0`` loses nothing.
* Values are clipped to [0, 1] on both sides (the paper writes ``min{1, .}``; a ``theta`` in the ellipsoid need not
  be a valid kernel, and R1's vertex maximum presumes ``V in [0, 1]^S``).

Method: every policy (``A^(S H)`` of them) is a branch and bound over the box ``w in [-1, 1]^d`` (``theta = theta^ +
beta G w`` with ``G G^T = (S^)^{-1}``, feasible iff ``||w|| <= 1``) times ``r in [0, 1]^(S (H-1))``. The upper bound of
a box propagates intervals through the recursion: bilinear terms by interval products, ``||psi_V||_M`` over a box of
``V`` by the maximum over the box's ``2^S`` vertices (a convex function) and below by the triangle inequality
around the centre. The lower bound is the exact value at a feasible point of the box. A box is discarded when its
upper bound is within ``tol`` of the incumbent. The result carries a certified interval ``[lower, upper]``
(``upper - lower <= tol`` unless the box budget ran out: ``certified`` is then False and ``upper`` is the largest
upper bound of a box left open, still a valid bound).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..._backup import psi_oracle
from ...models.linear_mixture import LinearMixtureMDP
from ._common import qnorm

__all__ = ["ORACLE_EXACT", "MAX_EXACT_POLICIES", "MAX_EXACT_DIMS", "exact_oracle", "ExactOracleResult",
           "pseudo_values"]

ORACLE_EXACT = ("exact: certified branch and bound over (pi, theta in the order-0 hat ellipsoid, r with "
                "sum_h max r_h <= 1) of eqs. 2.6.1-2.6.2")
#: Largest number of deterministic Markov policies ``A^(S H)`` the exact oracle enumerates.
MAX_EXACT_POLICIES = 256
#: Largest number of continuous variables ``d + S (H - 1)`` of one branch and bound.
MAX_EXACT_DIMS = 8


@njit(cache=True)
def pseudo_values(phi, pi, theta, rr, Sinv_hat, Sinv_til, beta, H, V, Vh):
    """Point evaluation of the recursion in the module docstring: ``V`` (pseudo-values, rows ``1..H``; row 0 is
    left at 0) and ``V^`` (trajectory uncertainty, rows ``0..H``). ``rr[h, s] = r_h(s, pi_h(s))``.

    An evaluation of the fixed policy ``pi`` (no maximum over actions), so it does not use the greedy step of
    :mod:`rltheory._backup`; only the summation oracle is shared.

    Parameters
    ----------
    phi : ndarray, shape (S, A, S, d)
    pi : ndarray of int, shape (H, S)
    theta : ndarray, shape (d,)
    rr : ndarray, shape (H, S)
    Sinv_hat, Sinv_til : ndarray, shape (d, d)
    beta : float
    H : int
    V, Vh : ndarray, shape (H + 1, S)
        Outputs.
    """
    S, A, _, d = phi.shape
    ps = np.empty((S, A, d))
    for s in range(S):
        V[H, s] = 0.0
        Vh[H, s] = 0.0
        V[0, s] = 0.0
    u = np.zeros((H, S))
    for h in range(H - 1, -1, -1):
        psi_oracle(phi, V[h + 1], ps)
        for s in range(S):
            a = pi[h, s]
            x = beta * qnorm(Sinv_til, ps[s, a])
            u[h, s] = 1.0 if x > 1.0 else x
            if h >= 1:
                q = rr[h, s]
                for i in range(d):
                    q += ps[s, a, i] * theta[i]
                V[h, s] = 0.0 if q < 0.0 else (1.0 if q > 1.0 else q)
    for h in range(H - 1, -1, -1):
        psi_oracle(phi, Vh[h + 1], ps)
        for s in range(S):
            a = pi[h, s]
            q = u[h, s] + 2.0 * beta * qnorm(Sinv_hat, ps[s, a])
            for i in range(d):
                q += ps[s, a, i] * theta[i]
            Vh[h, s] = 0.0 if q < 0.0 else (1.0 if q > 1.0 else q)


@njit(cache=True)
def _imul(a, b, c, e):
    """Interval product [a, b] x [c, e]."""
    p1, p2, p3, p4 = a * c, a * e, b * c, b * e
    return min(min(p1, p2), min(p3, p4)), max(max(p1, p2), max(p3, p4))


@njit(cache=True)
def _norm_box(phi, M, s, a, lo, hi):
    """Bounds of ``||psi_V(s,a)||_M`` over ``V in [lo, hi]`` (vertex maximum; triangle inequality below)."""
    S, _, _, d = phi.shape
    x = np.empty(d)
    c = np.empty(d)
    best = 0.0
    dev = 0.0
    for v in range(1 << S):
        for i in range(d):
            x[i] = 0.0
            c[i] = 0.0
        for t in range(S):
            up = (v >> t) & 1
            val = hi[t] if up else lo[t]
            half = 0.5 * (hi[t] - lo[t]) * (1.0 if up else -1.0)
            for i in range(d):
                x[i] += phi[s, a, t, i] * val
                c[i] += phi[s, a, t, i] * half
        q = qnorm(M, x)
        if q > best:
            best = q
        q = qnorm(M, c)
        if q > dev:
            dev = q
    for i in range(d):
        x[i] = 0.0
    for t in range(S):
        mid = 0.5 * (lo[t] + hi[t])
        for i in range(d):
            x[i] += phi[s, a, t, i] * mid
    low = qnorm(M, x) - dev
    return (low if low > 0.0 else 0.0), best


@njit(cache=True)
def _clip_iv(lo, hi):
    lo = 0.0 if lo < 0.0 else (1.0 if lo > 1.0 else lo)
    hi = 0.0 if hi < 0.0 else (1.0 if hi > 1.0 else hi)
    return lo, hi


@njit(cache=True)
def _bilinear_iv(c0, cg, zlo, zhi, s, a, Vlo, Vhi):
    """Interval of ``psi_V(s,a)^T theta = sum_t V(t) phi(t|s,a)^T theta`` for ``V in [Vlo, Vhi]`` and ``w`` in the
    box, where ``phi(t|s,a)^T theta = c0[s,a,t] + cg[s,a,t] . w``."""
    S, d = c0.shape[2], cg.shape[3]
    lo = 0.0
    hi = 0.0
    for t in range(S):
        a0 = c0[s, a, t]
        b0 = c0[s, a, t]
        for j in range(d):
            g = cg[s, a, t, j]
            if g >= 0.0:
                a0 += g * zlo[j]
                b0 += g * zhi[j]
            else:
                a0 += g * zhi[j]
                b0 += g * zlo[j]
        p, q = _imul(Vlo[t], Vhi[t], a0, b0)
        lo += p
        hi += q
    return lo, hi


@njit(cache=True)
def _box_upper(phi, mu0, pi, c0, cg, zlo, zhi, Sinv_hat, Sinv_til, beta, H):
    """Upper bound of mu0 . V^_0 over the box ``[zlo, zhi]`` (w then r_1..r_{H-1}) for policy ``pi``."""
    S, A, _, d = phi.shape
    Vl = np.zeros((H + 1, S))
    Vu = np.zeros((H + 1, S))
    cl = np.empty(S)
    cu = np.empty(S)
    ul = np.zeros((H, S))
    uu = np.zeros((H, S))
    for h in range(H - 1, -1, -1):
        for s in range(S):
            a = pi[h, s]
            nl, nu = _norm_box(phi, Sinv_til, s, a, Vl[h + 1], Vu[h + 1])
            x, y = beta * nl, beta * nu
            ul[h, s] = 1.0 if x > 1.0 else x
            uu[h, s] = 1.0 if y > 1.0 else y
            if h >= 1:
                k = d + (h - 1) * S + s
                p, q = _bilinear_iv(c0, cg, zlo, zhi, s, a, Vl[h + 1], Vu[h + 1])
                Vl[h, s], Vu[h, s] = _clip_iv(zlo[k] + p, zhi[k] + q)
    Wl = np.zeros((H + 1, S))
    Wu = np.zeros((H + 1, S))
    for h in range(H - 1, -1, -1):
        for s in range(S):
            a = pi[h, s]
            nl, nu = _norm_box(phi, Sinv_hat, s, a, Wl[h + 1], Wu[h + 1])
            p, q = _bilinear_iv(c0, cg, zlo, zhi, s, a, Wl[h + 1], Wu[h + 1])
            Wl[h, s], Wu[h, s] = _clip_iv(ul[h, s] + 2.0 * beta * nl + p, uu[h, s] + 2.0 * beta * nu + q)
    return mu0 @ Wu[0]


@njit(cache=True)
def _feasible_point(zlo, zhi, d, S, H, z):
    """A feasible point of the box (centre, else the point nearest the constraint set); False if none exists."""
    nw = 0.0
    nc = 0.0
    for j in range(d):
        m = 0.5 * (zlo[j] + zhi[j])
        nc += m * m
        c = zlo[j] if zlo[j] > 0.0 else (zhi[j] if zhi[j] < 0.0 else 0.0)
        nw += c * c
        z[j] = m
    if nw > 1.0 + 1e-12:
        return False
    if nc > 1.0:
        for j in range(d):
            z[j] = zlo[j] if zlo[j] > 0.0 else (zhi[j] if zhi[j] < 0.0 else 0.0)
    tot_lo = 0.0
    tot_c = 0.0
    for h in range(1, H):
        ml = 0.0
        mc = 0.0
        for s in range(S):
            k = d + (h - 1) * S + s
            if zlo[k] > ml:
                ml = zlo[k]
            c = 0.5 * (zlo[k] + zhi[k])
            if c > mc:
                mc = c
        tot_lo += ml
        tot_c += mc
    if tot_lo > 1.0 + 1e-12:
        return False
    for k in range(d, zlo.shape[0]):
        z[k] = 0.5 * (zlo[k] + zhi[k]) if tot_c <= 1.0 else zlo[k]
    return True


@njit(cache=True)
def _point_value(phi, mu0, pi, theta_hat, G, beta, z, Sinv_hat, Sinv_til, H, theta, rr, V, Vh):
    S, A, _, d = phi.shape
    for i in range(d):
        acc = theta_hat[i]
        for j in range(d):
            acc += beta * G[i, j] * z[j]
        theta[i] = acc
    for h in range(H):
        for s in range(S):
            rr[h, s] = 0.0 if h == 0 else z[d + (h - 1) * S + s]
    pseudo_values(phi, pi, theta, rr, Sinv_hat, Sinv_til, beta, H, V, Vh)
    return mu0 @ Vh[0]


@njit(cache=True)
def _heap_push(key, idx, n, k, i):
    """Max-heap on ``key`` of the box indices ``idx[:n]``; push box ``i`` with key ``k``; returns the new size."""
    key[i] = k
    j = n
    idx[j] = i
    while j > 0:
        par = (j - 1) // 2
        if key[idx[par]] >= key[idx[j]]:
            break
        idx[par], idx[j] = idx[j], idx[par]
        j = par
    return n + 1


@njit(cache=True)
def _heap_pop(key, idx, n):
    """Remove the top of the heap (size ``n``); returns ``(box index, new size)``."""
    top = idx[0]
    n -= 1
    idx[0] = idx[n]
    j = 0
    while True:
        l_ = 2 * j + 1
        r = l_ + 1
        b = j
        if l_ < n and key[idx[l_]] > key[idx[b]]:
            b = l_
        if r < n and key[idx[r]] > key[idx[b]]:
            b = r
        if b == j:
            break
        idx[b], idx[j] = idx[j], idx[b]
        j = b
    return top, n


@njit(cache=True)
def _bnb(phi, mu0, pols, theta_hat, G, Sinv_hat, Sinv_til, beta, H, tol, max_boxes, best_z, stats):
    """Best-first branch and bound over all (policy, box) pairs; returns the index of the best policy.
    ``stats``: lower (incumbent), upper (largest upper bound of a box left open), boxes split."""
    S, A, _, d = phi.shape
    n = d + S * (H - 1)
    n_pol = pols.shape[0]
    c0 = np.empty((S, A, S))
    cg = np.empty((S, A, S, d))
    for s in range(S):
        for a in range(A):
            for t in range(S):
                acc = 0.0
                for i in range(d):
                    acc += phi[s, a, t, i] * theta_hat[i]
                c0[s, a, t] = acc
                for j in range(d):
                    acc = 0.0
                    for i in range(d):
                        acc += phi[s, a, t, i] * G[i, j]
                    cg[s, a, t, j] = beta * acc
    cap = n_pol + 2 * max_boxes + 2
    blo = np.empty((cap, n))
    bhi = np.empty((cap, n))
    bpol = np.empty(cap, dtype=np.int64)
    key = np.empty(cap)
    heap = np.empty(cap, dtype=np.int64)
    hn = 0
    nb = 0
    for p in range(n_pol):
        for j in range(n):
            blo[nb, j] = -1.0 if j < d else 0.0
            bhi[nb, j] = 1.0
        bpol[nb] = p
        ub = _box_upper(phi, mu0, pols[p], c0, cg, blo[nb], bhi[nb], Sinv_hat, Sinv_til, beta, H)
        hn = _heap_push(key, heap, hn, ub, nb)
        nb += 1
    z = np.empty(n)
    theta = np.empty(d)
    rr = np.zeros((H, S))
    V = np.zeros((H + 1, S))
    Vh = np.zeros((H + 1, S))
    best = -1.0
    best_p = 0
    boxes = 0
    while hn > 0:
        b = heap[0]
        if key[b] <= best + tol or boxes >= max_boxes:
            break
        b, hn = _heap_pop(key, heap, hn)
        p = bpol[b]
        lo = blo[b]
        hi = bhi[b]
        boxes += 1
        if not _feasible_point(lo, hi, d, S, H, z):
            continue
        val = _point_value(phi, mu0, pols[p], theta_hat, G, beta, z, Sinv_hat, Sinv_til, H, theta, rr, V, Vh)
        if val > best:
            best = val
            best_p = p
            best_z[:] = z
        k = 0
        wmax = -1.0
        for j in range(n):
            w = hi[j] - lo[j]
            if w > wmax:
                wmax = w
                k = j
        mid = 0.5 * (lo[k] + hi[k])
        for c in range(2):
            blo[nb] = lo
            bhi[nb] = hi
            if c == 0:
                bhi[nb, k] = mid
            else:
                blo[nb, k] = mid
            if _feasible_point(blo[nb], bhi[nb], d, S, H, z):
                ub = _box_upper(phi, mu0, pols[p], c0, cg, blo[nb], bhi[nb], Sinv_hat, Sinv_til, beta, H)
                if ub > best + tol:
                    bpol[nb] = p
                    hn = _heap_push(key, heap, hn, ub, nb)
                    nb += 1
    upper = best + tol  # boxes dropped as within tol of an incumbent
    for i in range(hn):
        if key[heap[i]] > upper:
            upper = key[heap[i]]
    stats[0] = best
    stats[1] = upper
    stats[2] = boxes
    return best_p


class ExactOracleResult:
    """Certified maximum of the trajectory uncertainty: ``lower <= max <= upper``; the maximiser ``policy (H, S)``,
    ``theta (d,)``, ``reward (H, S)`` (``r_h(s, pi_h(s))``) and its pseudo-values ``V`` and uncertainty ``V_hat``
    ``(H+1, S)``; ``boxes`` explored; ``certified``: ``upper - lower <= tol``."""

    __slots__ = ("lower", "upper", "policy", "theta", "reward", "V", "V_hat", "boxes", "certified")

    def __init__(self, **kw):
        for k, v in kw.items():
            setattr(self, k, v)

    def __repr__(self):
        return f"ExactOracleResult(lower={self.lower:.6g}, upper={self.upper:.6g}, boxes={self.boxes})"


def _policies(S, A, H):
    n = A ** (S * H)
    idx = np.arange(n)[:, None] // (A ** np.arange(S * H))[None, :] % A
    return np.ascontiguousarray(idx.reshape(n, H, S).astype(np.int64))


def check_exact_size(mdp: LinearMixtureMDP):
    """Refuse models too large for the exact oracle.

    Parameters
    ----------
    mdp : LinearMixtureMDP
        The model the exact oracle would enumerate.

    Raises
    ------
    ValueError
        Unless ``A^(S H) <= MAX_EXACT_POLICIES`` and ``d + S (H-1) <= MAX_EXACT_DIMS``.
    """
    S, A, H, d = mdp.S, mdp.A, mdp.horizon, mdp.d
    n_pol = A ** (S * H)
    if n_pol > MAX_EXACT_POLICIES or d + S * (H - 1) > MAX_EXACT_DIMS:
        raise ValueError(f"mdp: the exact oracle enumerates A^(S H) = {n_pol} policies (limit {MAX_EXACT_POLICIES}) "
                         f"and branches over d + S (H-1) = {d + S * (H - 1)} variables (limit {MAX_EXACT_DIMS}); "
                         f"S={S}, A={A}, H={H}, d={d} is too large: use oracle='R1'")


def exact_oracle(mdp: LinearMixtureMDP, theta_hat, Sinv_hat, Sinv_til, beta: float, *, tol: float = 1e-3,
                 max_boxes: int = 200_000) -> ExactOracleResult:
    """Maximise the trajectory uncertainty ``mu0 . V^_0`` over (policy, theta, reward) exactly (module docstring).

    ``theta_hat``, ``Sinv_hat``: centre and inverse Gram matrix of the hat order-0 ellipsoid (radius ``beta``);
    ``Sinv_til``: inverse Gram matrix of the tilde order-0 series (the uncertainty norm).

    Parameters
    ----------
    mdp : LinearMixtureMDP
        Within :data:`MAX_EXACT_POLICIES` policies and :data:`MAX_EXACT_DIMS` variables.
    theta_hat : array_like, shape (d,)
    Sinv_hat, Sinv_til : array_like, shape (d, d)
    beta : float
        Radius of the ellipsoid.
    tol : float
        Absolute certification tolerance.
    max_boxes : int
        Largest number of boxes explored.

    Returns
    -------
    ExactOracleResult
        ``lower <= max <= upper`` and the maximiser.
    """
    check_exact_size(mdp)
    d, S, H = mdp.d, mdp.S, mdp.horizon
    th = np.ascontiguousarray(theta_hat, dtype=np.float64)
    Sh = np.ascontiguousarray(Sinv_hat, dtype=np.float64)
    St = np.ascontiguousarray(Sinv_til, dtype=np.float64)
    if th.shape != (d,) or Sh.shape != (d, d) or St.shape != (d, d):
        raise ValueError(f"theta_hat, Sinv_hat, Sinv_til: expected shapes ({d},), ({d}, {d}), ({d}, {d})")
    if not (np.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta: must be a non-negative float, got {beta!r}")
    G = np.linalg.cholesky(0.5 * (Sh + Sh.T))
    phi = np.ascontiguousarray(mdp.phi)
    mu0 = np.ascontiguousarray(mdp.mu0)
    pols = _policies(S, mdp.A, H)
    z = np.zeros(d + S * (H - 1))
    stats = np.zeros(3)
    p = _bnb(phi, mu0, pols, th, G, Sh, St, float(beta), H, float(tol), int(max_boxes), z, stats)
    theta = np.empty(d)
    rr = np.zeros((H, S))
    V = np.zeros((H + 1, S))
    Vh = np.zeros((H + 1, S))
    val = _point_value(phi, mu0, pols[p], th, G, float(beta), z, Sh, St, H, theta, rr, V, Vh)
    lower = float(max(stats[0], val))
    upper = float(min(max(stats[1], lower), 1.0))  # values are clipped to [0, 1]
    return ExactOracleResult(lower=lower, upper=upper, policy=pols[p].copy(), theta=theta, reward=rr, V=V, V_hat=Vh,
                             boxes=int(stats[2]), certified=bool(stats[2] < max_boxes))
