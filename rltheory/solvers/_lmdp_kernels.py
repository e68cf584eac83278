"""Numba kernels of the LMDP belief-DP (private to :mod:`rltheory.solvers`; the API is :mod:`rltheory.solvers.lmdp`).

Forward enumeration of the reachable ``(h, s, belief)`` nodes, backward induction over the node graph with the
backups of :data:`rltheory.solvers.lmdp.BACKUPS`, the Markov fallback DP, exact evaluation of a plan in a true
model and the first two return moments; definitions in the docstring of :mod:`rltheory.solvers.lmdp`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .._backup import box_simplex_max


@njit(cache=True)
def belief_hash(s, q, M, mask):
    h = np.uint64(1469598103934665603) ^ np.uint64(s + 1)
    for m in range(M):
        h = (h ^ np.uint64(q[m] & 0x7FFFFFFFFFFFFFFF)) * np.uint64(1099511628211)
        h = h ^ (h >> np.uint64(29))
    return np.int64(h & np.uint64(mask))


@njit(cache=True)
def insert_node(s, bvec, M, table, mask, node_s, node_b, node_q, n, qbuf):
    """Find or insert node (s, b); returns (index, new_count). ``n`` = current node count."""
    for m in range(M):
        qbuf[m] = np.int64(np.round(bvec[m] * 1099511627776.0))
    slot = belief_hash(s, qbuf, M, mask)
    while True:
        j = table[slot]
        if j < 0:
            table[slot] = n
            node_s[n] = s
            for m in range(M):
                node_b[n, m] = bvec[m]
                node_q[n, m] = qbuf[m]
            return n, n + 1, slot
        if node_s[j] == s:
            same = True
            for m in range(M):
                if node_q[j, m] != qbuf[m]:
                    same = False
                    break
            if same:
                return j, n, slot
        slot = (slot + 1) & mask


@njit(cache=True)
def forward(Pp, R, known, prior, H, wild, max_nodes, max_edges):
    """Enumerate reachable (h, s, b) nodes and the observation edges between them.

    Returns (status, n_nodes, n_edges, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, root).
    status 0 = ok, 1 = too many nodes, 2 = too many edges."""
    M, S, A, _ = Pp.shape
    node_s = np.empty(max_nodes, dtype=np.int64)
    node_b = np.empty((max_nodes, M))
    node_q = np.empty((max_nodes, M), dtype=np.int64)
    edge_ptr = np.zeros(max_nodes * A + 1, dtype=np.int64)
    edge_child = np.empty(max_edges, dtype=np.int64)
    edge_sp = np.empty(max_edges, dtype=np.int64)
    edge_r = np.empty(max_edges)
    layer_ptr = np.zeros(H + 1, dtype=np.int64)
    root = np.full(S, -1, dtype=np.int64)
    tsize = 1
    while tsize < 2 * max_nodes:
        tsize *= 2
    table = np.full(tsize, -1, dtype=np.int64)
    mask = tsize - 1
    qbuf = np.empty(M, dtype=np.int64)
    bvec = np.empty(M)
    used = np.empty(max_nodes, dtype=np.int64)
    n = 0
    ne = 0
    # layer 0
    for s in range(S):
        tot = 0.0
        for m in range(M):
            tot += prior[m, s]
        if tot <= 0.0:
            continue
        if n >= max_nodes:
            return 1, n, ne, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, root
        for m in range(M):
            bvec[m] = prior[m, s] / tot
        j, n, slot = insert_node(s, bvec, M, table, mask, node_s, node_b, node_q, n, qbuf)
        root[s] = j
        used[j] = slot
    for t in range(n):
        table[used[t]] = -1
    layer_ptr[0] = 0
    layer_ptr[1] = n
    for h in range(H - 1):
        lo = layer_ptr[h]
        hi = layer_ptr[h + 1]
        nused = 0
        for i in range(lo, hi):
            s = node_s[i]
            for a in range(A):
                edge_ptr[i * A + a] = ne
                for rep in range(M):
                    if node_b[i, rep] <= 0.0:
                        continue
                    r = R[rep, s, a]
                    dup = False
                    for m2 in range(rep):
                        if node_b[i, m2] > 0.0 and R[m2, s, a] == r:
                            dup = True
                            break
                    if dup:
                        continue
                    for sp in range(S):
                        anyknown = False
                        tot = 0.0
                        for m in range(M):
                            bvec[m] = 0.0
                            if node_b[i, m] > 0.0 and R[m, s, a] == r:
                                if known[m, s, a]:
                                    lik = Pp[m, s, a, sp]
                                    if lik > 0.0:
                                        anyknown = True
                                else:
                                    lik = wild
                                bvec[m] = node_b[i, m] * lik
                                tot += bvec[m]
                        if not anyknown:
                            continue
                        for m in range(M):
                            bvec[m] /= tot
                        if n >= max_nodes:
                            return 1, n, ne, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, root
                        if ne >= max_edges:
                            return 2, n, ne, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, root
                        n_before = n
                        j, n, slot = insert_node(sp, bvec, M, table, mask, node_s, node_b, node_q, n, qbuf)
                        if n > n_before:
                            used[nused] = slot
                            nused += 1
                        edge_child[ne] = j
                        edge_sp[ne] = sp
                        edge_r[ne] = r
                        ne += 1
        # clear the hash table for the next layer (slots recorded at insertion)
        for u in range(nused):
            table[used[u]] = -1
        layer_ptr[h + 2] = n
    if H == 1:
        layer_ptr[1] = n
    # nodes of the last layer have no edges
    for i in range(layer_ptr[H - 1], n):
        for a in range(A):
            edge_ptr[i * A + a] = ne
    edge_ptr[n * A] = ne
    return 0, n, ne, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, root


@njit(cache=True)
def lp_max(vals, phat, nout, N, iota, c1, c2, vvirt, Gam, order, lo, up):
    """max p^T v over the model-optimistic confidence set (greedy; outcome nout is the virtual unseen successor)."""
    rem = 1.0
    for j in range(nout):
        rad = c1 * np.sqrt(2.0 * phat[j] * iota / N) + c2 * iota / N
        lo[j] = max(0.0, phat[j] - rad)
        up[j] = min(1.0, phat[j] + rad)
        rem -= lo[j]
    lo[nout] = 0.0
    up[nout] = min(1.0, c2 * Gam * iota / N)
    vals[nout] = vvirt
    k = nout + 1
    for j in range(k):
        order[j] = j
    # insertion sort by value descending
    for j in range(1, k):
        x = order[j]
        t = j - 1
        while t >= 0 and vals[order[t]] < vals[x]:
            order[t + 1] = order[t]
            t -= 1
        order[t + 1] = x
    return box_simplex_max(vals, lo, up, order, k, rem)


@njit(cache=True)
def backward(Pp, R, known, N, H, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, n,
              kind, c1, c2, iota, Gam, vmax):
    """Backward induction on the node graph; returns (alpha (n, M), Q (n, A), policy (n,))."""
    M, S, A, _ = Pp.shape
    alpha = np.zeros((n, M))
    Q = np.zeros((n, A))
    pol = np.zeros(n, dtype=np.int64)
    am = np.empty((A, M))
    vals = np.empty(S + 1)
    phat = np.empty(S + 1)
    order = np.empty(S + 1, dtype=np.int64)
    lo = np.empty(S + 1)
    up = np.empty(S + 1)
    for h in range(H - 1, -1, -1):
        for i in range(layer_ptr[h], layer_ptr[h + 1]):
            s = node_s[i]
            best = -np.inf
            ba = 0
            for a in range(A):
                e0 = edge_ptr[i * A + a]
                e1 = edge_ptr[i * A + a + 1]
                q = 0.0
                for m in range(M):
                    am[a, m] = 0.0
                    if node_b[i, m] <= 0.0:
                        continue
                    r = R[m, s, a]
                    if not known[m, s, a]:
                        v = vmax[h]
                    else:
                        mean = 0.0
                        m2 = 0.0
                        nout = np.int64(0)  # not the literal 0: lp_max would also be compiled for Literal[int](0)
                        for e in range(e0, e1):
                            if edge_r[e] != r:
                                continue
                            p = Pp[m, s, a, edge_sp[e]]
                            if p <= 0.0:
                                continue
                            x = alpha[edge_child[e], m]
                            mean += p * x
                            m2 += p * x * x
                            vals[nout] = x
                            phat[nout] = p
                            nout += 1
                        cnt = N[m, s, a]
                        if kind == 0 or cnt <= 0.0:
                            v = r + mean
                        elif kind == 1:
                            var = m2 - mean * mean
                            if var < 0.0:
                                var = 0.0
                            v = r + mean + c1 * np.sqrt(Gam * var * iota / cnt) + c2 * Gam * iota / cnt
                        elif kind == 2:
                            v = r + lp_max(vals, phat, nout, cnt, iota, c1, c2, vmax[h + 1], Gam, order, lo, up)
                        else:
                            v = r + mean + c1 * np.sqrt(S * iota / cnt)
                        if kind > 0 and v > vmax[h]:
                            v = vmax[h]
                    am[a, m] = v
                    q += node_b[i, m] * v
                Q[i, a] = q
                if q > best + 1e-12:
                    best = q
                    ba = a
            pol[i] = ba
            for m in range(M):
                alpha[i, m] = am[ba, m]
    return alpha, Q, pol


@njit(cache=True)
def fallback_q(Pp, R, known, N, V, m, s, a, vmax_h, kind, c1, c2, iota, Gam):
    """Context-m optimistic backup of the Markov fallback: ``vmax_h`` for an unvisited pair, else
    ``R + P V`` plus the Bernstein bonus (``kind > 0``), capped at ``vmax_h``."""
    if not known[m, s, a]:
        return vmax_h
    mean = 0.0
    m2 = 0.0
    for t in range(Pp.shape[3]):
        p = Pp[m, s, a, t]
        mean += p * V[m, t]
        m2 += p * V[m, t] * V[m, t]
    v = R[m, s, a] + mean
    cnt = N[m, s, a]
    if kind > 0 and cnt > 0.0:
        var = max(m2 - mean * mean, 0.0)
        v += c1 * np.sqrt(Gam * var * iota / cnt) + c2 * Gam * iota / cnt
        if v > vmax_h:
            v = vmax_h
    return v


@njit(cache=True)
def markov_fallback(Pp, R, known, N, wts, H, kind, c1, c2, iota, Gam, vmax):
    """Per-context (context-known) optimistic Markov DP; fallback[h, s] = argmax_a sum_m wts_m Q_m[h, s, a].

    Each step's ``Q_m[h, s, a]`` is computed once and serves both the argmax and the next values
    ``V_m[h, s] = Q_m[h, s, fallback[h, s]]``."""
    M, S, A, _ = Pp.shape
    V = np.zeros((M, S))
    Q = np.empty((M, S, A))
    fb = np.zeros((H, S), dtype=np.int64)
    for h in range(H - 1, -1, -1):
        for s in range(S):
            best = -np.inf
            ba = 0
            for a in range(A):
                tot = 0.0
                for m in range(M):
                    q = fallback_q(Pp, R, known, N, V, m, s, a, vmax[h], kind, c1, c2, iota, Gam)
                    Q[m, s, a] = q
                    tot += wts[m] * q
                if tot > best + 1e-12:
                    best = tot
                    ba = a
            fb[h, s] = ba
        # per-context values of the chosen fallback action
        for s in range(S):
            a = fb[h, s]
            for m in range(M):
                V[m, s] = Q[m, s, a]
    return fb


@njit(cache=True)
def evaluate_plan_kernel(P, R, w, nu, H, layer_ptr, node_s, edge_ptr, edge_child, edge_sp, edge_r, pol, root, fb, n):
    """Exact value of a plan in the true LMDP (P, R, w, nu): forward pass over (context, node) and, off the plan,
    over (context, h, s) with the fallback policy. Returns (value, per-context value (M,), off-plan mass (M,))."""
    M, S, A, _ = P.shape
    vm = np.zeros(M)
    offm = np.zeros(M)
    mass = np.zeros(n)
    off = np.zeros(S)
    offn = np.zeros(S)
    for m in range(M):
        for i in range(n):
            mass[i] = 0.0
        for s in range(S):
            off[s] = 0.0
            if nu[m, s] > 0.0:
                if root[s] >= 0:
                    mass[root[s]] += nu[m, s]
                else:
                    off[s] += nu[m, s]
                    offm[m] += nu[m, s]
        for h in range(H):
            for s in range(S):
                offn[s] = 0.0
            for i in range(layer_ptr[h], layer_ptr[h + 1]):
                x = mass[i]
                if x <= 0.0:
                    continue
                s = node_s[i]
                a = pol[i]
                r = R[m, s, a]
                vm[m] += x * r
                if h == H - 1:
                    continue
                e0 = edge_ptr[i * A + a]
                e1 = edge_ptr[i * A + a + 1]
                for sp in range(S):
                    p = P[m, s, a, sp]
                    if p <= 0.0:
                        continue
                    child = -1
                    for e in range(e0, e1):
                        if edge_sp[e] == sp and edge_r[e] == r:
                            child = edge_child[e]
                            break
                    if child >= 0:
                        mass[child] += x * p
                    else:
                        offn[sp] += x * p
                        offm[m] += x * p
            for s in range(S):
                x = off[s]
                if x <= 0.0:
                    continue
                a = fb[h, s]
                vm[m] += x * R[m, s, a]
                if h == H - 1:
                    continue
                for sp in range(S):
                    offn[sp] += x * P[m, s, a, sp]
            for s in range(S):
                off[s] = offn[s]
    v = 0.0
    for m in range(M):
        v += w[m] * vm[m]
    return v, vm, offm


@njit(cache=True)
def moments_kernel(P, R, H, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, pol, n):
    """First and second moments of the return-to-go per (node, context) for a plan built on the true model."""
    M, S, A, _ = P.shape
    a1 = np.zeros((n, M))
    a2 = np.zeros((n, M))
    for h in range(H - 1, -1, -1):
        for i in range(layer_ptr[h], layer_ptr[h + 1]):
            s = node_s[i]
            a = pol[i]
            e0 = edge_ptr[i * A + a]
            e1 = edge_ptr[i * A + a + 1]
            for m in range(M):
                if node_b[i, m] <= 0.0:
                    continue
                r = R[m, s, a]
                f = 0.0
                g = 0.0
                for e in range(e0, e1):
                    if edge_r[e] != r:
                        continue
                    p = P[m, s, a, edge_sp[e]]
                    if p <= 0.0:
                        continue
                    c = edge_child[e]
                    f += p * a1[c, m]
                    g += p * a2[c, m]
                a1[i, m] = r + f
                a2[i, m] = r * r + 2.0 * r * f + g
    return a1, a2


# ---------------------------------------------------------------------------------------------- Python API
