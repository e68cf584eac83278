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

from dataclasses import dataclass

import numpy as np

from .._validation import check_int
from ..models.latent import LatentMDP
from ..models.tabular import readonly
from ._lmdp_kernels import backward, evaluate_plan_kernel, forward, markov_fallback, moments_kernel

__all__ = ["BeliefPlan", "BACKUPS", "plan_lmdp", "solve_lmdp", "evaluate_plan", "plan_alpha", "return_moments",
           "DEFAULT_MAX_NODES"]

BACKUPS = {"none": 0, "bernstein": 1, "model": 2, "hoeffding": 3}
DEFAULT_MAX_NODES = 500_000
_QSCALE = float(2 ** 40)


@dataclass(frozen=True)
class BeliefPlan:
    """A deterministic history-dependent LMDP policy on the reachable belief graph of a planning model.

    ``layer_ptr[h]:layer_ptr[h+1]`` are the nodes of step ``h``; node ``i`` has state ``node_s[i]``, normalised
    belief ``node_b[i]`` (over contexts, under the planning model), action ``policy[i]``, alpha vector ``alpha[i]``
    and belief-weighted action values ``Q[i]``. Edges of ``(i, a)`` are ``edge_ptr[i*A + a]:edge_ptr[i*A + a + 1]``
    with next state ``edge_sp``, observed reward ``edge_r`` and child node ``edge_child``. ``root[s]`` is the node
    of initial state ``s`` (-1: off the plan). ``value = sum_{m,s} prior[m,s] alpha[root[s], m]`` is the planning
    value (``V*`` for :func:`solve_lmdp`). ``fallback[h, s]`` acts off the plan.

    The fields shared with :class:`~rltheory.solvers.SolveResult` are ``value``, ``policy``, ``error_bound`` (NaN:
    no rounding bound is computed), ``converged`` (always True: one backward pass), ``nit`` (1) and ``method``
    (``"belief_dp"``)."""

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
    error_bound: float = float("nan")
    converged: bool = True
    nit: int = 1
    method: str = "belief_dp"

    @property
    def n_nodes(self) -> int:
        """Number of reachable ``(h, s, belief)`` nodes."""
        return int(self.node_s.shape[0])

    @property
    def nodes_per_step(self) -> np.ndarray:
        """Number of reachable (s, belief) nodes at each step h = 0..H-1."""
        return np.diff(self.layer_ptr)

    def beliefs_per_step(self) -> np.ndarray:
        """Number of distinct reachable beliefs (ignoring the state) at each step.

        Returns
        -------
        ndarray of int, shape (H,)
            Beliefs compared after rounding to ``2^-40``.
        """
        return distinct_rows_per_layer(np.round(self.node_b[: self.layer_ptr[self.H]] * _QSCALE), self.layer_ptr)

    def root_alpha(self) -> np.ndarray:
        """``alpha[m, s]`` at the root node of each initial state.

        Returns
        -------
        ndarray, shape (M, S)
            ``nan`` where the initial state is off the plan.
        """
        out = np.full((self.M, self.S), np.nan)
        for s in range(self.S):
            if self.root[s] >= 0:
                out[:, s] = self.alpha[self.root[s]]
        return out


def distinct_rows_per_layer(q, layer_ptr) -> np.ndarray:
    """Number of distinct rows of ``q`` within each layer ``layer_ptr[h]:layer_ptr[h + 1]``, all layers at once.

    Rows compare as ``np.unique(q[layer], axis=0)`` compares them (element-wise ``==``: ``-0.0`` equals ``0.0``, a
    row holding NaN equals no row): one lexicographic sort by (layer, columns), then a count of the sorted rows that
    differ from their predecessor.

    Parameters
    ----------
    q : ndarray, shape (n, M)
        Rows of all layers, ``n = layer_ptr[-1]``.
    layer_ptr : ndarray of int, shape (H + 1,)
        Layer boundaries (non-decreasing, ``layer_ptr[0] = 0``).

    Returns
    -------
    ndarray of int64, shape (H,)
    """
    H = layer_ptr.shape[0] - 1
    n = q.shape[0]
    if n == 0:
        return np.zeros(H, dtype=np.int64)
    layer = np.repeat(np.arange(H, dtype=np.int64), np.diff(layer_ptr))
    order = np.lexsort(tuple(q[:, j] for j in range(q.shape[1] - 1, -1, -1)) + (layer,))
    qs, ls = q[order], layer[order]
    new = np.ones(n, dtype=np.bool_)
    new[1:] = (ls[1:] != ls[:-1]) | np.any(qs[1:] != qs[:-1], axis=1)
    return np.bincount(ls[new], minlength=H).astype(np.int64, copy=False)


def plan_lmdp(P, R, prior, horizon, *, known=None, counts=None, backup="none", c1=1.0, c2=1.0, iota=1.0,
              Gamma=None, vmax=None, fallback_weights=None, max_nodes=DEFAULT_MAX_NODES,
              max_edges=None) -> BeliefPlan:
    """Belief-DP on a planning model given as arrays (module docstring).

    ``alpha_{m,h}(node) = R_m(s, a) + [bonus] + sum_{s'} P_m(s'|s, a) alpha_{m,h+1}(child)`` (truncated at ``vmax_h``
    for optimistic backups), ``a = argmax_a sum_m b(m) alpha_m(a)`` at each node.

    Parameters
    ----------
    P : array_like, shape (M, S, A, S)
        Planning transitions.
    R : array_like, shape (M, S, A)
        Rewards.
    prior : array_like, shape (M, S)
        Unnormalised initial weights ``w_m nu_m(s)``.
    horizon : int
        ``H >= 1``.
    known : array_like of bool, shape (M, S, A), optional
        Pairs known in each context (default all).
    counts : array_like, shape (M, S, A), optional
        Visit counts ``N`` of the bonuses (default 0).
    backup : {"none", "bernstein", "model", "hoeffding"}
        Bonus kind (:data:`BACKUPS`).
    c1, c2, iota : float
        Bonus constants.
    Gamma : float, optional
        Transition degree of the bonuses (default ``S``).
    vmax : array_like, shape (H + 1,), optional
        Truncation levels (default ``(H - h) max R``).
    fallback_weights : array_like, shape (M,), optional
        Context weights of the off-plan Markov DP (default the prior's marginals); it uses the Bernstein-form bonus
        for every optimistic backup (our reconstruction).
    max_nodes : int
        Largest number of reachable nodes.
    max_edges : int, optional
        Largest number of observation edges (default ``max(4 max_nodes, 1024)``).

    Returns
    -------
    BeliefPlan

    Raises
    ------
    ValueError
        Naming ``max_nodes`` / ``max_edges`` when the reachable belief graph is larger, or the malformed argument.
    """
    P = readonly(np.ascontiguousarray(P, dtype=np.float64))  # as a model's own P: one signature per kernel
    R = np.ascontiguousarray(R, dtype=np.float64)
    prior = np.ascontiguousarray(prior, dtype=np.float64)
    H = check_int("horizon", horizon, low=1)
    if P.ndim != 4 or P.shape[1] != P.shape[3]:
        raise ValueError(f"P: expected shape (M, S, A, S), got {P.shape}")
    M, S, A, _ = P.shape
    if M < 1 or S < 1 or A < 1:
        raise ValueError(f"P: need M, S, A >= 1, got shape {P.shape}")
    if R.shape != (M, S, A):
        raise ValueError(f"R: expected shape {(M, S, A)}, got {R.shape}")
    if prior.shape != (M, S) or np.any(prior < 0) or prior.sum() <= 0:
        raise ValueError(f"prior: expected non-negative weights of shape {(M, S)} with positive total")
    if backup not in BACKUPS:
        raise ValueError(f"backup: expected one of {tuple(BACKUPS)}, got {backup!r}")
    max_nodes = check_int("max_nodes", max_nodes, low=1)
    max_edges = int(max_edges) if max_edges is not None else max(4 * max_nodes, 1024)
    known = np.ones((M, S, A), dtype=np.bool_) if known is None else np.ascontiguousarray(known, dtype=np.bool_)
    counts = np.zeros((M, S, A)) if counts is None else np.ascontiguousarray(counts, dtype=np.float64)
    for nm, arr in (("known", known), ("counts", counts)):
        if arr.shape != (M, S, A):
            raise ValueError(f"{nm}: expected shape {(M, S, A)}, got {arr.shape}")
    if vmax is None:
        vmax = (H - np.arange(H + 1, dtype=np.int64)) * R.max()  # float(H - h) * max R, as a scalar product
    vmax = np.ascontiguousarray(vmax, dtype=np.float64)
    if vmax.shape != (H + 1,):
        raise ValueError(f"vmax: expected shape ({H + 1},), got {vmax.shape}")
    Gam = float(S if Gamma is None else Gamma)
    fw = prior.sum(axis=1) if fallback_weights is None else np.asarray(fallback_weights, dtype=np.float64)
    return plan_arrays(P, R, prior, H, known, counts, BACKUPS[backup], float(c1), float(c2), float(iota), Gam, vmax,
                       fw, max_nodes, max_edges)


def plan_arrays(P, R, prior, H, known, counts, kind, c1, c2, iota, Gam, vmax, fw, max_nodes, max_edges) -> BeliefPlan:
    """:func:`plan_lmdp` on arguments it has already checked and converted (no checks here): for a learner that
    plans once per epoch on arrays it builds itself.

    Parameters
    ----------
    P : ndarray, shape (M, S, A, S)
        Planning transitions, read-only C-contiguous float64.
    R : ndarray, shape (M, S, A)
        Rewards, C-contiguous float64.
    prior : ndarray, shape (M, S)
        Unnormalised initial weights, C-contiguous float64.
    H : int
        Horizon.
    known : ndarray of bool, shape (M, S, A)
        C-contiguous.
    counts : ndarray, shape (M, S, A)
        C-contiguous float64.
    kind : int
        ``BACKUPS[backup]``.
    c1, c2, iota, Gam : float
        Bonus constants and transition degree.
    vmax : ndarray, shape (H + 1,)
        C-contiguous float64.
    fw : ndarray, shape (M,)
        Fallback context weights.
    max_nodes, max_edges : int
        Graph guards.

    Returns
    -------
    BeliefPlan
    """
    M, S, A, _ = P.shape
    cap = min(max_nodes, 4096)
    while True:  # grow the buffers geometrically: allocation, not the DP, dominates small plans
        cap_e = min(max_edges, 4 * cap) if cap < max_nodes else max_edges
        status, n, ne, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp, edge_r, root = forward(
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
    alpha, Q, pol = backward(P, R, known, counts, H, layer_ptr, node_s, node_b, edge_ptr, edge_child, edge_sp,
                              edge_r, n, kind, c1, c2, iota, Gam, vmax)
    fb = markov_fallback(P, R, known, counts, fw, H, kind, c1, c2, iota, Gam, vmax)
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
    """Optimal history-dependent policy of ``lmdp`` and ``V* = plan.value`` by exact belief-DP (no bonus).

    Parameters
    ----------
    lmdp : LatentMDP
    max_nodes : int
        Largest number of reachable nodes.

    Returns
    -------
    BeliefPlan
    """
    _check_lmdp(lmdp)
    belief = lmdp.weights[:, None] * lmdp.mu0
    return plan_lmdp(lmdp.P, lmdp.R, belief, lmdp.horizon, backup="none", max_nodes=max_nodes)


def evaluate_plan(lmdp: LatentMDP, plan: BeliefPlan) -> tuple[float, np.ndarray, np.ndarray]:
    """Exact value of a :class:`BeliefPlan` (built on any planning model) in the true ``lmdp``.

    Parameters
    ----------
    lmdp : LatentMDP
        The true model; ``(M, S, A, H)`` must match the plan's.
    plan : BeliefPlan

    Returns
    -------
    V : float
        ``sum_m w_m E_m[sum_h r_h]``.
    V_m : ndarray, shape (M,)
        Value per context.
    off_m : ndarray, shape (M,)
        Probability per context of leaving the plan (the plan's Markov fallback acts after that).
    """
    _check_lmdp(lmdp)
    if (plan.M, plan.S, plan.A, plan.H) != (lmdp.M, lmdp.S, lmdp.A, lmdp.horizon):
        raise ValueError("plan: (M, S, A, H) of the plan and the LMDP differ")
    return evaluate_plan_kernel(lmdp.P, lmdp.R, lmdp.weights, lmdp.mu0, lmdp.horizon, plan.layer_ptr, plan.node_s,
                          plan.edge_ptr, plan.edge_child, plan.edge_sp, plan.edge_r, plan.policy, plan.root,
                          plan.fallback, plan.n_nodes)


def plan_alpha(lmdp: LatentMDP, plan: BeliefPlan) -> np.ndarray:
    """Per-context alpha vectors at the start, ``alpha^pi_{m,1}(s)``, of a plan in the true ``lmdp`` (exact).

    Each context is evaluated with the initial distribution concentrated on ``s``.

    Parameters
    ----------
    lmdp : LatentMDP
    plan : BeliefPlan

    Returns
    -------
    ndarray, shape (M, S)
    """
    _check_lmdp(lmdp)
    out = np.zeros((lmdp.M, lmdp.S))
    for s in range(lmdp.S):
        nu = np.zeros((lmdp.M, lmdp.S))
        nu[:, s] = 1.0
        _, vm, _ = evaluate_plan_kernel(lmdp.P, lmdp.R, lmdp.weights, nu, lmdp.horizon, plan.layer_ptr, plan.node_s,
                                  plan.edge_ptr, plan.edge_child, plan.edge_sp, plan.edge_r, plan.policy, plan.root,
                                  plan.fallback, plan.n_nodes)
        out[:, s] = vm
    return out


def return_moments(lmdp: LatentMDP, plan: BeliefPlan) -> dict:
    """Variance quantities of a plan built on the true model (e.g. :func:`solve_lmdp`), exact.

    ``var_within`` (candidate A, our reconstruction of ``Var*``): ``sum_m w_m E_{s_1 ~ nu_m}[Var^pi_m(sum_h r_h | s_1)]``
    — zero on deterministic LMDPs; ``var_total`` (candidate B): ``Var(sum_h r_h)`` under the mixture.

    Parameters
    ----------
    lmdp : LatentMDP
    plan : BeliefPlan
        Every initial state must be on the plan.

    Returns
    -------
    dict
        ``mean`` (``V^pi``), ``var_within``, ``var_total``.
    """
    _check_lmdp(lmdp)
    if np.any(plan.root[lmdp.mu0.sum(axis=0) > 0] < 0):
        raise ValueError("plan: some initial state is off the plan; return_moments needs a plan on the true model")
    a1, a2 = moments_kernel(lmdp.P, lmdp.R, lmdp.horizon, plan.layer_ptr, plan.node_s, plan.node_b, plan.edge_ptr,
                      plan.edge_child, plan.edge_sp, plan.edge_r, plan.policy, plan.n_nodes)
    w, mu0 = lmdp.weights, lmdp.mu0
    mean = second = within = 0.0
    for m in range(lmdp.M):
        for s in range(lmdp.S):
            if mu0[m, s] <= 0:
                continue
            x, y = a1[plan.root[s], m], a2[plan.root[s], m]
            mean += w[m] * mu0[m, s] * x
            second += w[m] * mu0[m, s] * y
            within += w[m] * mu0[m, s] * max(y - x * x, 0.0)
    return {"mean": mean, "var_within": within, "var_total": max(second - mean * mean, 0.0)}
