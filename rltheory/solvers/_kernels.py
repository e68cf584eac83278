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

import numpy as np
from numba import njit

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
def greedy(Q, V, pi):
    """``pi[s] = argmax_a Q[s, a]``, ``V[s] = max_a Q[s, a]`` for ``Q`` of shape (S, A)."""
    for s in range(Q.shape[0]):
        b, v = _argmax_row(Q[s])
        pi[s] = b
        V[s] = v


# ------------------------------------------------------------------------------ finite horizon


@njit(cache=True)
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


@njit(cache=True)
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
                acc = 0.0
                for k in range(indptr[r], indptr[r + 1]):
                    acc += data[k] * Vn[indices[k]]
                Q[h, s, a] = Rh[s, a] + acc
            b, v = _argmax_row(Q[h, s])
            pi[h, s] = b
            V[h, s] = v


@njit(cache=True)
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


@njit(cache=True)
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
                acc = 0.0
                for k in range(indptr[r], indptr[r + 1]):
                    acc += data[k] * Vn[indices[k]]
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
    rho = mu0.copy()
    nxt = np.zeros(S)
    for h in range(H):
        Ph = P[h if hp > 1 else 0]
        ph = pol[h if hq > 1 else 0]
        nxt[:] = 0.0
        for s in range(S):
            for a in range(A):
                w = rho[s] * ph[s, a]
                d[h, s, a] = w
                if w != 0.0:
                    row = Ph[s, a]
                    for t in range(S):
                        nxt[t] += w * row[t]
        rho[:] = nxt


@njit(cache=True)
def occupancy_finite_sparse(indptr, indices, data, H, S, A, pol, mu0, d):
    """Sparse (CSR) version of :func:`occupancy_finite_dense`."""
    hp = (indptr.shape[0] - 1) // (S * A)
    hq = pol.shape[0]
    rho = mu0.copy()
    nxt = np.zeros(S)
    for h in range(H):
        base = (h if hp > 1 else 0) * S * A
        ph = pol[h if hq > 1 else 0]
        nxt[:] = 0.0
        for s in range(S):
            for a in range(A):
                w = rho[s] * ph[s, a]
                d[h, s, a] = w
                if w != 0.0:
                    r = base + s * A + a
                    for k in range(indptr[r], indptr[r + 1]):
                        nxt[indices[k]] += w * data[k]
        rho[:] = nxt


@njit(cache=True)
def next_value_variance_dense(P, V, out):
    """``out[h, s, a] = Var_{s' ~ P_h(.|s,a)} V[h+1](s')`` (two-pass, numerically stable).
    ``P`` (hp, S, A, S); ``V`` (hv, S) with hv = 1 (same V for all h) or H+1; ``out`` (ho, S, A)."""
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
                    dv = Vn[t] - m
                    v += row[t] * dv * dv
                out[h, s, a] = v


@njit(cache=True)
def next_value_variance_sparse(indptr, indices, data, S, A, V, out):
    """Sparse (CSR) version of :func:`next_value_variance_dense`."""
    hp = (indptr.shape[0] - 1) // (S * A)
    hv = V.shape[0]
    for h in range(out.shape[0]):
        base = (h if hp > 1 else 0) * S * A
        Vn = V[h + 1 if hv > 1 else 0]
        for s in range(S):
            for a in range(A):
                r = base + s * A + a
                m = 0.0
                for k in range(indptr[r], indptr[r + 1]):
                    m += data[k] * Vn[indices[k]]
                v = 0.0
                for k in range(indptr[r], indptr[r + 1]):
                    dv = Vn[indices[k]] - m
                    v += data[k] * dv * dv
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


@njit(cache=True)
def bellman_q_sparse(indptr, indices, data, R, V, gamma, Q):
    """Sparse (CSR, S*A rows) version of :func:`bellman_q_dense`."""
    S = R.shape[0]
    A = R.shape[1]
    for s in range(S):
        for a in range(A):
            r = s * A + a
            acc = 0.0
            for k in range(indptr[r], indptr[r + 1]):
                acc += data[k] * V[indices[k]]
            Q[s, a] = R[s, a] + gamma * acc


@njit(cache=True)
def _sup_diff(x, y):
    m = 0.0
    for i in range(x.shape[0]):
        d = abs(x[i] - y[i])
        if d > m:
            m = d
    return m


@njit(cache=True)
def value_iteration_dense(P2, R, gamma, V0, tol, max_iter):
    """Value iteration ``V_{n+1} = T V_n`` (Puterman 1994, Sec. 6.3) with the certified stopping rule
    ``gamma/(1-gamma) * ||V_{n+1} - V_n|| <= tol``, which gives ``||V_{n+1} - V*|| <= tol``
    (Puterman Thm 6.3.1). Returns ``(V, Q, pi, last_diff, iterations)``."""
    S = R.shape[0]
    A = R.shape[1]
    V = V0.copy()
    Vn = np.empty(S)
    Q = np.empty((S, A))
    pi = np.zeros(S, dtype=np.int64)
    diff = np.inf
    it = 0
    while it < max_iter:
        bellman_q_dense(P2, R, V, gamma, Q)
        greedy(Q, Vn, pi)
        diff = _sup_diff(Vn, V)
        V[:] = Vn
        it += 1
        if gamma * diff <= tol * (1.0 - gamma):
            break
    return V, Q, pi, diff, it


@njit(cache=True)
def value_iteration_sparse(indptr, indices, data, R, gamma, V0, tol, max_iter):
    """Sparse (CSR) version of :func:`value_iteration_dense`."""
    S = R.shape[0]
    A = R.shape[1]
    V = V0.copy()
    Vn = np.empty(S)
    Q = np.empty((S, A))
    pi = np.zeros(S, dtype=np.int64)
    diff = np.inf
    it = 0
    while it < max_iter:
        bellman_q_sparse(indptr, indices, data, R, V, gamma, Q)
        greedy(Q, Vn, pi)
        diff = _sup_diff(Vn, V)
        V[:] = Vn
        it += 1
        if gamma * diff <= tol * (1.0 - gamma):
            break
    return V, Q, pi, diff, it


@njit(cache=True)
def policy_matrix_dense(P, R, pi):
    """``P_pi[s, s'] = P(s'|s, pi(s))`` and ``r_pi[s] = R[s, pi(s)]`` for a deterministic policy."""
    S = P.shape[0]
    Ppi = np.empty((S, S))
    rpi = np.empty(S)
    for s in range(S):
        Ppi[s, :] = P[s, pi[s]]
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
    many steps; returns ``(V, Q, pi, iterations)``."""
    S = R.shape[0]
    A = R.shape[1]
    P2 = P.reshape(S * A, S)
    pi = pi0.copy()
    Q = np.empty((S, A))
    V = np.zeros(S)
    eye = np.eye(S)
    it = 0
    while it < max_iter:
        Ppi, rpi = policy_matrix_dense(P, R, pi)
        V = np.linalg.solve(eye - gamma * Ppi, rpi)
        bellman_q_dense(P2, R, V, gamma, Q)
        it += 1
        scale = 1.0
        for s in range(S):
            if abs(V[s]) > scale:
                scale = abs(V[s])
        if improve(Q, pi, 1e-12 * scale) == 0:
            break
    return V, Q, pi, it


@njit(cache=True)
def partial_evaluation_dense(P2, R, gamma, pi, V, m):
    """``m`` applications of ``T_pi V = r_pi + gamma P_pi V`` in place (modified policy iteration)."""
    S = R.shape[0]
    A = R.shape[1]
    Vn = np.empty(S)
    for _ in range(m):
        PV = np.dot(P2, V)
        for s in range(S):
            a = pi[s]
            Vn[s] = R[s, a] + gamma * PV[s * A + a]
        V[:] = Vn


@njit(cache=True)
def partial_evaluation_sparse(indptr, indices, data, R, gamma, pi, V, m):
    """Sparse version of :func:`partial_evaluation_dense`."""
    S = R.shape[0]
    A = R.shape[1]
    Vn = np.empty(S)
    for _ in range(m):
        for s in range(S):
            r = s * A + pi[s]
            acc = 0.0
            for k in range(indptr[r], indptr[r + 1]):
                acc += data[k] * V[indices[k]]
            Vn[s] = R[s, pi[s]] + gamma * acc
        V[:] = Vn


@njit(cache=True)
def modified_policy_iteration_dense(P2, R, gamma, V0, m, tol, max_iter):
    """Modified policy iteration (Puterman & Shin 1978; Puterman 1994, Sec. 6.5): greedy step
    ``V' = T V`` then ``m`` partial evaluation sweeps of the greedy policy. Stops with the same
    certificate as value iteration on the greedy step: ``gamma/(1-gamma) ||T V - V|| <= tol`` and
    returns ``T V``. Starting from ``V0`` with ``T V0 >= V0`` (e.g. ``min R/(1-gamma)``) the iterates
    increase monotonically to ``V*``. Returns ``(V, Q, pi, last_diff, iterations)``."""
    S = R.shape[0]
    A = R.shape[1]
    V = V0.copy()
    Vn = np.empty(S)
    Q = np.empty((S, A))
    pi = np.zeros(S, dtype=np.int64)
    diff = np.inf
    it = 0
    while it < max_iter:
        bellman_q_dense(P2, R, V, gamma, Q)
        greedy(Q, Vn, pi)
        diff = _sup_diff(Vn, V)
        V[:] = Vn
        it += 1
        if gamma * diff <= tol * (1.0 - gamma):
            break
        partial_evaluation_dense(P2, R, gamma, pi, V, m)
    return V, Q, pi, diff, it


@njit(cache=True)
def modified_policy_iteration_sparse(indptr, indices, data, R, gamma, V0, m, tol, max_iter):
    """Sparse version of :func:`modified_policy_iteration_dense`."""
    S = R.shape[0]
    A = R.shape[1]
    V = V0.copy()
    Vn = np.empty(S)
    Q = np.empty((S, A))
    pi = np.zeros(S, dtype=np.int64)
    diff = np.inf
    it = 0
    while it < max_iter:
        bellman_q_sparse(indptr, indices, data, R, V, gamma, Q)
        greedy(Q, Vn, pi)
        diff = _sup_diff(Vn, V)
        V[:] = Vn
        it += 1
        if gamma * diff <= tol * (1.0 - gamma):
            break
        partial_evaluation_sparse(indptr, indices, data, R, gamma, pi, V, m)
    return V, Q, pi, diff, it
