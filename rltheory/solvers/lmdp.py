"""Exact planning and evaluation for latent MDPs (LMDPs) over reachable beliefs (alpha vectors).

Zhou, Wang & Du (ICML 2023), Sec. 3: the value of a history-dependent policy ``pi`` is
``V^pi = sum_m w_m sum_s nu_m(s) alpha^pi_{m,1}(s)`` with the alpha vector (one entry per context)

    alpha^pi_{m,h}(tau) = R_m(s_h, a) + sum_{s'} P_m(s'|s_h, a) alpha^pi_{m,h+1}(tau o (a, r, s')),  a = pi(tau).

The optimal action at a history ``tau_h`` depends on ``tau_h`` only through ``(h, s_h, b_h)`` with the belief
``b_h(m) ∝ w_m nu_m(s_1) prod_{t<h} [R_m(s_t, a_t) = r_t] P_m(s_{t+1}|s_t, a_t)`` (the rewards are deterministic and
observed, so they take part in the update). :func:`plan_lmdp` enumerates the reachable ``(h, s, b)`` nodes forward
(beliefs normalised and merged when equal after rounding to ``2^-40``), then runs backward induction on the node
graph: for each node and action it computes the alpha vector entry of every context with positive belief, and picks
``argmax_a sum_m b(m) alpha_m(a)``. With the true model and no bonus this is exact: ``plan.value == V*`` (the
number of reachable beliefs is finite, at most ``(A * Gamma * #reward values)^(H-1) * S`` per step; the
``max_nodes`` guard raises a :class:`ValueError` before memory runs out).

The same kernel serves the optimistic learners of :mod:`rltheory.algorithms.lmdp`: a *planning model* may mark pairs
``(m, s, a)`` as unknown (never visited in context ``m``); such a context gets ``alpha = vmax_h`` there and keeps its
belief mass multiplied by ``1/S`` on every observed successor (an uninformative likelihood — our reconstruction;
the paper's treatment of unvisited pairs was not retrieved). Observations that no known context can produce lead
*off the plan*; the plan then acts with a Markov fallback policy ``fallback[h, s]`` for the rest of the episode
(our reconstruction, exact to evaluate). Bonus kinds of the backup (see :data:`BACKUPS`):

* ``"none"`` — ``alpha = R + P alpha'`` (exact planning);
* ``"bernstein"`` — value-optimistic, ``+ c1 sqrt(Gamma V(P, alpha') iota / N) + c2 Gamma iota / N`` (note §II.2,
  our reconstruction of the paper's bonus; ``V(x, y) = x^T y^2 - (x^T y)^2`` as in the paper's Sec. 3);
* ``"model"`` — model-optimistic: ``max_{p in C} p^T alpha'`` over ``|p(s') - P(s')| <= c1 sqrt(2 P(s') iota / N)
  + c2 iota / N`` plus an unseen-successor outcome worth ``vmax_{h+1}`` with mass at most ``c2 Gamma iota / N``
  (greedy LP as in UCRL2's extended value iteration; our reconstruction);
* ``"hoeffding"`` — ``+ c1 sqrt(S iota / N)`` per step (value range 1 per step, no variance: an L-UCRL-like
  baseline whose sum of bonuses over an episode scales with ``H``; Kwon et al. 2021's exact bonus was not
  retrieved).

Optimistic backups are truncated at ``vmax_h`` (the truncation of the paper's analysis keeps alpha in ``[0, 1]``).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..models.latent import LatentMDP
from ._kernels import box_simplex_max

__all__ = ["BeliefPlan", "BACKUPS", "plan_lmdp", "solve_lmdp", "evaluate_plan", "plan_alpha", "return_moments",
           "evaluate_history_policy", "brute_force_value", "DEFAULT_MAX_NODES"]

BACKUPS = {"none": 0, "bernstein": 1, "model": 2, "hoeffding": 3}
DEFAULT_MAX_NODES = 500_000
_QSCALE = float(2 ** 40)


# ---------------------------------------------------------------------------------------------- kernels


@njit(cache=True)
def _hash(s, q, M, mask):
    h = np.uint64(1469598103934665603) ^ np.uint64(s + 1)
    for m in range(M):
        h = (h ^ np.uint64(q[m] & 0x7FFFFFFFFFFFFFFF)) * np.uint64(1099511628211)
        h = h ^ (h >> np.uint64(29))
    return np.int64(h & np.uint64(mask))


@njit(cache=True)
def _insert(s, bvec, M, table, mask, node_s, node_b, node_q, n, qbuf):
    """Find or insert node (s, b); returns (index, new_count). ``n`` = current node count."""
    for m in range(M):
        qbuf[m] = np.int64(np.round(bvec[m] * 1099511627776.0))
    slot = _hash(s, qbuf, M, mask)
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
def _forward(Pp, R, known, prior, H, wild, max_nodes, max_edges):
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
        j, n, slot = _insert(s, bvec, M, table, mask, node_s, node_b, node_q, n, qbuf)
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
                        j, n, slot = _insert(sp, bvec, M, table, mask, node_s, node_b, node_q, n, qbuf)
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
def _lp_max(vals, phat, nout, N, iota, c1, c2, vvirt, Gam, order, lo, up):
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
def _backward(Pp, R, known, N, H, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, n,
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
                        nout = 0
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
                            v = r + _lp_max(vals, phat, nout, cnt, iota, c1, c2, vmax[h + 1], Gam, order, lo, up)
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
def _fallback_q(Pp, R, known, N, V, m, s, a, vmax_h, kind, c1, c2, iota, Gam):
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
def _markov_fallback(Pp, R, known, N, wts, H, kind, c1, c2, iota, Gam, vmax):
    """Per-context (context-known) optimistic Markov DP; fallback[h, s] = argmax_a sum_m wts_m Q_m[h, s, a]."""
    M, S, A, _ = Pp.shape
    V = np.zeros((M, S))
    Vn = np.zeros((M, S))
    fb = np.zeros((H, S), dtype=np.int64)
    for h in range(H - 1, -1, -1):
        for s in range(S):
            best = -np.inf
            ba = 0
            for a in range(A):
                tot = 0.0
                for m in range(M):
                    tot += wts[m] * _fallback_q(Pp, R, known, N, V, m, s, a, vmax[h], kind, c1, c2, iota, Gam)
                if tot > best + 1e-12:
                    best = tot
                    ba = a
            fb[h, s] = ba
        # per-context values of the chosen fallback action
        for s in range(S):
            a = fb[h, s]
            for m in range(M):
                Vn[m, s] = _fallback_q(Pp, R, known, N, V, m, s, a, vmax[h], kind, c1, c2, iota, Gam)
        for m in range(M):
            for s in range(S):
                V[m, s] = Vn[m, s]
    return fb


@njit(cache=True)
def _evaluate_plan(P, R, w, nu, H, layer_ptr, node_s, edge_ptr, edge_child, edge_sp, edge_r, pol, root, fb, n):
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
def _moments(P, R, H, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, pol, n):
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


@dataclass(frozen=True)
class BeliefPlan:
    """A deterministic history-dependent LMDP policy on the reachable belief graph of a planning model.

    ``layer_ptr[h]:layer_ptr[h+1]`` are the nodes of step ``h``; node ``i`` has state ``node_s[i]``, normalised
    belief ``node_b[i]`` (over contexts, under the planning model), action ``policy[i]``, alpha vector ``alpha[i]``
    and belief-weighted action values ``Q[i]``. Edges of ``(i, a)`` are ``edge_ptr[i*A + a]:edge_ptr[i*A + a + 1]``
    with next state ``edge_sp``, observed reward ``edge_r`` and child node ``edge_child``. ``root[s]`` is the node
    of initial state ``s`` (-1: off the plan). ``value = sum_{m,s} prior[m,s] alpha[root[s], m]`` is the planning
    value (``V*`` for :func:`solve_lmdp`). ``fallback[h, s]`` acts off the plan."""

    H: int
    M: int
    S: int
    A: int
    layer_ptr: np.ndarray
    node_s: np.ndarray
    node_b: np.ndarray
    edge_ptr: np.ndarray
    edge_child: np.ndarray
    edge_sp: np.ndarray
    edge_r: np.ndarray
    policy: np.ndarray
    alpha: np.ndarray
    Q: np.ndarray
    root: np.ndarray
    prior: np.ndarray
    fallback: np.ndarray
    value: float

    @property
    def n_nodes(self) -> int:
        return int(self.node_s.shape[0])

    @property
    def nodes_per_step(self) -> np.ndarray:
        """Number of reachable (s, belief) nodes at each step h = 0..H-1."""
        return np.diff(self.layer_ptr)

    def beliefs_per_step(self) -> np.ndarray:
        """Number of distinct reachable beliefs (ignoring the state) at each step."""
        out = np.empty(self.H, dtype=np.int64)
        for h in range(self.H):
            b = self.node_b[self.layer_ptr[h]:self.layer_ptr[h + 1]]
            out[h] = np.unique(np.round(b * _QSCALE), axis=0).shape[0] if b.size else 0
        return out

    def root_alpha(self) -> np.ndarray:
        """``alpha[m, s]`` at the root node of each initial state (``nan`` where off the plan)."""
        out = np.full((self.M, self.S), np.nan)
        for s in range(self.S):
            if self.root[s] >= 0:
                out[:, s] = self.alpha[self.root[s]]
        return out


def _int(x, name, lo=1):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
        raise ValueError(f"{name}: expected an int >= {lo}, got {x!r}")
    return int(x)


def plan_lmdp(P, R, prior, horizon, *, known=None, counts=None, backup="none", c1=1.0, c2=1.0, iota=1.0,
              Gamma=None, vmax=None, fallback_weights=None, max_nodes=DEFAULT_MAX_NODES,
              max_edges=None) -> BeliefPlan:
    """Belief-DP on a planning model given as arrays (see the module docstring).

    ``P (M,S,A,S)``, ``R (M,S,A)``, ``prior (M,S)`` = unnormalised initial weights ``w_m nu_m(s)``; ``known (M,S,A)``
    bool (default all), ``counts (M,S,A)`` the visit counts ``N`` in the bonuses; ``vmax (H+1,)`` the truncation
    levels (default ``(H - h) max R``; the learners pass ``min(1, (H - h) max R)``). ``fallback_weights`` (default
    the prior's context marginals) weight the per-context Markov DP that gives the off-plan fallback policy; that DP
    uses the Bernstein-form bonus for every optimistic backup (our reconstruction).

    Raises ``ValueError`` mentioning ``max_nodes`` when the reachable belief graph has more nodes than allowed."""
    P = np.ascontiguousarray(P, dtype=np.float64)
    R = np.ascontiguousarray(R, dtype=np.float64)
    prior = np.ascontiguousarray(prior, dtype=np.float64)
    H = _int(horizon, "horizon")
    if P.ndim != 4 or P.shape[1] != P.shape[3]:
        raise ValueError(f"P: expected shape (M, S, A, S), got {P.shape}")
    M, S, A, _ = P.shape
    if R.shape != (M, S, A):
        raise ValueError(f"R: expected shape {(M, S, A)}, got {R.shape}")
    if prior.shape != (M, S) or np.any(prior < 0) or prior.sum() <= 0:
        raise ValueError(f"prior: expected non-negative weights of shape {(M, S)} with positive total")
    if backup not in BACKUPS:
        raise ValueError(f"backup: expected one of {tuple(BACKUPS)}, got {backup!r}")
    max_nodes = _int(max_nodes, "max_nodes")
    max_edges = int(max_edges) if max_edges is not None else max(4 * max_nodes, 1024)
    known = np.ones((M, S, A), dtype=np.bool_) if known is None else np.ascontiguousarray(known, dtype=np.bool_)
    counts = np.zeros((M, S, A)) if counts is None else np.ascontiguousarray(counts, dtype=np.float64)
    for nm, arr in (("known", known), ("counts", counts)):
        if arr.shape != (M, S, A):
            raise ValueError(f"{nm}: expected shape {(M, S, A)}, got {arr.shape}")
    if vmax is None:
        vmax = np.array([(H - h) * R.max() for h in range(H + 1)], dtype=np.float64)
    vmax = np.ascontiguousarray(vmax, dtype=np.float64)
    if vmax.shape != (H + 1,):
        raise ValueError(f"vmax: expected shape ({H + 1},), got {vmax.shape}")
    Gam = float(S if Gamma is None else Gamma)
    cap = min(max_nodes, 4096)
    while True:  # grow the buffers geometrically: allocation, not the DP, dominates small plans
        cap_e = min(max_edges, 4 * cap) if cap < max_nodes else max_edges
        status, n, ne, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, root = _forward(
            P, R, known, prior, H, 1.0 / S, cap, cap_e)
        if status == 0 or (cap >= max_nodes and cap_e >= max_edges):
            break
        cap = min(max_nodes, cap * 8)
    if status == 1:
        raise ValueError(f"LMDP belief graph exceeds max_nodes={max_nodes} reachable (h, s, belief) nodes "
                         f"(reached {n} before step {int(np.searchsorted(layer_ptr[1:], 0))}); raise max_nodes or use "
                         f"a smaller instance")
    if status == 2:
        raise ValueError(f"LMDP belief graph exceeds max_edges={max_edges} observation edges (max_nodes={max_nodes}); "
                         f"raise max_nodes / max_edges or use a smaller instance")
    node_s, node_b = node_s[:n].copy(), node_b[:n].copy()
    edge_ptr = edge_ptr[: n * A + 1].copy()
    edge_child, edge_sp, edge_r = edge_child[:ne].copy(), edge_sp[:ne].copy(), edge_r[:ne].copy()
    kind = BACKUPS[backup]
    alpha, Q, pol = _backward(P, R, known, counts, H, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp,
                              edge_r, n, kind, float(c1), float(c2), float(iota), Gam, vmax)
    fw = prior.sum(axis=1) if fallback_weights is None else np.asarray(fallback_weights, dtype=np.float64)
    fb = _markov_fallback(P, R, known, counts, fw, H, kind, float(c1), float(c2), float(iota), Gam, vmax)
    value = 0.0
    for s in range(S):
        if root[s] >= 0:
            value += float(prior[:, s] @ alpha[root[s]])
    return BeliefPlan(H, M, S, A, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, pol, alpha, Q,
                      root, prior, fb, value)


def _check_lmdp(lmdp):
    if not isinstance(lmdp, LatentMDP):
        raise TypeError(f"lmdp: expected a LatentMDP, got {type(lmdp).__name__}")
    return lmdp


def solve_lmdp(lmdp: LatentMDP, *, max_nodes: int = DEFAULT_MAX_NODES) -> BeliefPlan:
    """Optimal history-dependent policy of ``lmdp`` and ``V* = plan.value`` by exact belief-DP (no bonus)."""
    _check_lmdp(lmdp)
    prior = lmdp.weights[:, None] * lmdp.nu
    return plan_lmdp(lmdp.P, lmdp.R, prior, lmdp.horizon, backup="none", max_nodes=max_nodes)


def evaluate_plan(lmdp: LatentMDP, plan: BeliefPlan) -> tuple[float, np.ndarray, np.ndarray]:
    """Exact value of a :class:`BeliefPlan` (built on any planning model) in the true ``lmdp``.

    Returns ``(V, V_m, off_m)``: the value, the value per context ``E_m[sum_h r_h]`` and, per context, the
    probability of leaving the plan (after which the plan's Markov fallback acts)."""
    _check_lmdp(lmdp)
    if (plan.M, plan.S, plan.A, plan.H) != (lmdp.M, lmdp.S, lmdp.A, lmdp.horizon):
        raise ValueError("plan: (M, S, A, H) of the plan and the LMDP differ")
    return _evaluate_plan(lmdp.P, lmdp.R, lmdp.weights, lmdp.nu, lmdp.horizon, plan.layer_ptr, plan.node_s,
                          plan.edge_ptr, plan.edge_child, plan.edge_sp, plan.edge_r, plan.policy, plan.root,
                          plan.fallback, plan.n_nodes)


def plan_alpha(lmdp: LatentMDP, plan: BeliefPlan) -> np.ndarray:
    """Per-context alpha vectors at the start, ``alpha^pi_{m,1}(s)`` of shape ``(M, S)``, of a plan in the true
    ``lmdp`` (exact; each context evaluated with the initial distribution concentrated on ``s``)."""
    _check_lmdp(lmdp)
    out = np.zeros((lmdp.M, lmdp.S))
    for s in range(lmdp.S):
        nu = np.zeros((lmdp.M, lmdp.S))
        nu[:, s] = 1.0
        _, vm, _ = _evaluate_plan(lmdp.P, lmdp.R, lmdp.weights, nu, lmdp.horizon, plan.layer_ptr, plan.node_s,
                                  plan.edge_ptr, plan.edge_child, plan.edge_sp, plan.edge_r, plan.policy, plan.root,
                                  plan.fallback, plan.n_nodes)
        out[:, s] = vm
    return out


def return_moments(lmdp: LatentMDP, plan: BeliefPlan) -> dict:
    """Variance quantities of a plan built on the true model (e.g. :func:`solve_lmdp`), exact.

    ``var_within`` (candidate A of the note, our reconstruction of Var*):
    ``sum_m w_m E_{s_1 ~ nu_m}[Var^pi_m(sum_h r_h | s_1)]`` — zero on deterministic LMDPs;
    ``var_total`` (candidate B): ``Var(sum_h r_h)`` under the mixture (includes context and initial-state
    randomness); also ``mean`` (= V^pi) and per-context ``alpha`` / ``second`` moments at the roots."""
    _check_lmdp(lmdp)
    if np.any(plan.root[lmdp.nu.sum(axis=0) > 0] < 0):
        raise ValueError("plan: some initial state is off the plan; return_moments needs a plan on the true model")
    a1, a2 = _moments(lmdp.P, lmdp.R, lmdp.horizon, plan.layer_ptr, plan.node_s, plan.node_b, plan.edge_ptr,
                      plan.edge_child, plan.edge_sp, plan.edge_r, plan.policy, plan.n_nodes)
    w, nu = lmdp.weights, lmdp.nu
    mean = second = within = 0.0
    for m in range(lmdp.M):
        for s in range(lmdp.S):
            if nu[m, s] <= 0:
                continue
            x, y = a1[plan.root[s], m], a2[plan.root[s], m]
            mean += w[m] * nu[m, s] * x
            second += w[m] * nu[m, s] * y
            within += w[m] * nu[m, s] * max(y - x * x, 0.0)
    return {"mean": mean, "var_within": within, "var_total": max(second - mean * mean, 0.0)}


# ------------------------------------------------------------------- arbitrary history-dependent policies


def evaluate_history_policy(lmdp: LatentMDP, policy, *, max_histories: int = 200_000) -> tuple[float, np.ndarray]:
    """Exact value of any deterministic history-dependent ``policy(h, states, actions, rewards) -> action`` by
    enumerating histories (exponential in H; raises ``ValueError`` past ``max_histories`` history nodes).

    Returns ``(V, alpha)`` with ``alpha[m, s] = alpha^pi_{m,1}(s)`` (Zhou, Wang & Du 2023, Sec. 3)."""
    _check_lmdp(lmdp)
    M, S, H = lmdp.M, lmdp.S, lmdp.horizon
    P, R = lmdp.P, lmdp.R
    count = [0]
    cache = {}

    def act(h, states, actions, rewards):
        key = (states, actions, rewards)
        if key not in cache:
            count[0] += 1
            if count[0] > max_histories:
                raise ValueError(f"evaluate_history_policy: more than max_histories={max_histories} histories")
            a = policy(h, states, actions, rewards)
            if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= a < lmdp.A:
                raise ValueError(f"policy: returned {a!r} at h={h}, expected an int in [0, {lmdp.A})")
            cache[key] = int(a)
        return cache[key]

    def alpha_m(m, h, states, actions, rewards):
        s = states[-1]
        a = act(h, states, actions, rewards)
        r = float(R[m, s, a])
        if h == H - 1:
            return r
        tot = r
        for sp in np.flatnonzero(P[m, s, a] > 0):
            tot += P[m, s, a, sp] * alpha_m(m, h + 1, states + (int(sp),), actions + (a,), rewards + (r,))
        return tot

    alpha = np.zeros((M, S))
    for m in range(M):
        for s in range(S):
            alpha[m, s] = alpha_m(m, 0, (s,), (), ())
    return float((lmdp.weights[:, None] * lmdp.nu * alpha).sum()), alpha


def brute_force_value(lmdp: LatentMDP, *, max_policies: int = 2_000_000) -> float:
    """``V*`` by enumerating every deterministic history-dependent policy (tiny instances only).

    Histories are the observable ``(states, actions, rewards)`` prefixes reachable under some context; a policy is
    one action per history; the number of policies is ``A^#histories`` (``ValueError`` past ``max_policies``)."""
    _check_lmdp(lmdp)
    M, S, A, H = lmdp.M, lmdp.S, lmdp.A, lmdp.horizon
    P, R = lmdp.P, lmdp.R
    hist = []  # all observable histories (any action sequence) with positive probability under some context
    frontier = [((s,), (), ()) for s in range(S) if lmdp.nu[:, s].max() > 0]
    for h in range(H):
        hist.extend(frontier)
        if h == H - 1:
            break
        nxt = set()
        for states, actions, rewards in frontier:
            s = states[-1]
            for a in range(A):
                for m in range(M):
                    # history reachable under context m? (check likelihood > 0)
                    lik = lmdp.nu[m, states[0]]
                    for t in range(len(actions)):
                        lik *= (R[m, states[t], actions[t]] == rewards[t]) * P[m, states[t], actions[t], states[t + 1]]
                    if lik <= 0:
                        continue
                    r = float(R[m, s, a])
                    for sp in np.flatnonzero(P[m, s, a] > 0):
                        nxt.add((states + (int(sp),), actions + (a,), rewards + (r,)))
        frontier = sorted(nxt)
    if A ** len(hist) > max_policies:
        raise ValueError(f"brute_force_value: {A}^{len(hist)} policies exceed max_policies={max_policies}")
    index = {k: i for i, k in enumerate(hist)}
    best = -np.inf
    for choice in itertools.product(range(A), repeat=len(hist)):
        v, _ = evaluate_history_policy(lmdp, lambda h, st, ac, rw: choice[index[(st, ac, rw)]])
        best = max(best, v)
    return float(best)
