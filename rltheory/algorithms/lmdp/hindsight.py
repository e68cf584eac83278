"""Model-based regret minimisation for LMDPs with context in hindsight (Zhou, Wang & Du, ICML 2023, abstract and
Sec. 4 as far as retrieved; the details below are **our reconstruction** — see the LMDP paper note
§II.2 — because the paper's algorithm section, exact bonuses and update schedule could not be read).

Framework (one instantiation per ``solver``)::

    counts per context (the context is revealed at the end of each episode): N_m(s,a), N_m(s,a,s'), nu-counts, w-counts
    for k = 1..K:
        if some N_m(s,a) reached a power of two during the last episode (doubling epochs) or k = 1:
            Phat_m = N_m(s,a,.)/N_m(s,a); what_m, nuhat_m empirical (or the true ones with initial_belief="true")
            pi = SOLVER(Phat, R, belief, N)      # history-dependent policy on the planning model's beliefs
        play pi for one episode, updating the planning belief on the fly; observe m_k; update the counts of m_k

SOLVER is the belief-DP of :func:`rltheory.solvers.lmdp.plan_lmdp` with an optimistic backup:

* ``"value"`` — value-optimistic: ``alpha_m = min(vmax_h, R + Phat alpha' + c1 sqrt(Gamma V(Phat, alpha') iota / N)
  + c2 Gamma iota / N)`` (the variance of the next alpha vector: where the paper's Var* enters);
* ``"model"`` — model-optimistic: ``alpha_m = min(vmax_h, R + max_{p in C_m(s,a)} p^T alpha')`` over an L1-type
  Bernstein polytope around ``Phat`` plus an unseen-successor outcome (greedy LP);
* ``"hoeffding"`` — L-UCRL-like baseline (Kwon et al., NeurIPS 2021, context in hindsight; their bonus was not
  retrieved): ``+ c1 sqrt(S iota / N)`` per step, no variance, so the bonuses of an episode add up to order
  ``H sqrt(S iota / N)`` — not horizon-free;
* ``"none"`` — negative control: greedy on the empirical model, unvisited pairs worth 0 (not optimistic).

``iota = 2 ln(2 M S A H K / delta)`` (paper, Sec. 3); ``Gamma`` defaults to ``S`` (the learner does not know the
true degree unless told). Rewards ``R_m`` are given to the learner (deterministic rewards; whether the paper
assumes them known was not verified). ``vmax_h = min(1, (H - h) max R)``: the truncation at 1 of the paper's
total-reward normalisation.

Regret is the exact pseudo-regret ``V* - V^{pi_k}`` of each episode's policy (both by exact belief-DP /
forward evaluation in the true LMDP), so its only randomness is the learner's. The episode loop runs in Numba;
planning happens only at the start of doubling epochs (``O(M S A log(K H))`` calls).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._sampling import cumulative
from ..._validation import check_int, check_real, check_seed, check_type
from ...models.latent import LatentMDP
from ...models.tabular import readonly
from ...solvers.lmdp import BACKUPS, DEFAULT_MAX_NODES, BeliefPlan, evaluate_plan, plan_arrays, plan_lmdp, solve_lmdp
from ..result import LearnerResult
from ._kernels import empirical_model_kernel, play_episodes, seed_numba

__all__ = ["SOLVERS", "LMDPLearnResult", "lmdp_hindsight", "empirical_model", "plan_epoch"]

SOLVERS = {"value": "bernstein", "model": "model", "hoeffding": "hoeffding", "none": "none"}


def empirical_model(N, Nsas, nc, ninit):
    """The learner's planning model from its counts.

    ``known = N > 0``; ``Phat_m(s'|s, a) = N_m(s, a, s') / N_m(s, a)`` on known pairs (0 elsewhere); initial belief
    ``what_m nuhat_m(s)`` with ``what = (n_m + 1) / (n + M)`` (add-one) and ``nuhat_m`` the empirical initial distribution
    of context ``m`` (uniform before its first episode).

    Parameters
    ----------
    N : ndarray, shape (M, S, A)
        Visit counts per context.
    Nsas : ndarray, shape (M, S, A, S)
        Transition counts.
    nc : ndarray, shape (M,)
        Episodes per context.
    ninit : ndarray, shape (M, S)
        Initial-state counts per context.

    Returns
    -------
    known : ndarray of bool, shape (M, S, A)
    Phat : ndarray, shape (M, S, A, S)
    belief : ndarray, shape (M, S)
        Unnormalised initial belief ``what_m nuhat_m(s)``.
    """
    f64 = np.float64
    return empirical_model_kernel(np.ascontiguousarray(N, f64), np.ascontiguousarray(Nsas, f64),
                                  np.ascontiguousarray(nc, f64), np.ascontiguousarray(ninit, f64))


def plan_epoch(Phat, R, belief, known, counts, *, solver: str, c1: float, c2: float, iota: float, Gamma: int,
               vmax: np.ndarray, max_nodes: int) -> BeliefPlan:
    """The plan of one epoch: belief-DP on the planning model with the backup of ``solver``.

    Optimistic solvers value unknown pairs at ``vmax_h`` and truncate at it; ``solver="none"`` values them at 0
    (``vmax`` replaced by zeros), so that it plans on the empirical model alone.

    Parameters
    ----------
    Phat : ndarray, shape (M, S, A, S)
        Planning transitions.
    R : ndarray, shape (M, S, A)
        Rewards (known to the learner).
    belief : ndarray, shape (M, S)
        Unnormalised initial belief ``w_m nu_m(s)``.
    known : ndarray of bool, shape (M, S, A)
        Pairs visited in each context.
    counts : ndarray, shape (M, S, A)
        Visit counts ``N`` in the bonuses.
    solver : {"value", "model", "hoeffding", "none"}
        Key of :data:`SOLVERS`.
    c1, c2 : float
        Bonus scales.
    iota : float
        Log term ``2 ln(2 M S A H K / delta)``.
    Gamma : int
        Transition degree used in the bonuses.
    vmax : ndarray, shape (H + 1,)
        Truncation levels ``min(1, (H - h) max R)``.
    max_nodes : int
        Belief-graph guard of :func:`rltheory.solvers.lmdp.plan_lmdp`.

    Returns
    -------
    BeliefPlan
        The plan of :func:`rltheory.solvers.lmdp.plan_lmdp` with ``backup=SOLVERS[solver]``.
    """
    H = vmax.shape[0] - 1
    vm = vmax if solver != "none" else np.zeros(H + 1)  # 'none': unvisited pairs worth 0
    return plan_lmdp(Phat, R, belief, H, known=known, counts=counts, backup=SOLVERS[solver], c1=c1, c2=c2, iota=iota,
                     Gamma=Gamma, vmax=vm, max_nodes=max_nodes)


@dataclass(frozen=True)
class LMDPLearnResult(LearnerResult):
    """Per-episode pseudo-regret, realised return and context; per-epoch planning values.

    ``epoch_start[e]`` is the first episode of epoch ``e``; ``epoch_value[e]`` the planner's (optimistic) value,
    ``epoch_true_value[e]`` the exact value of its policy in the true LMDP, ``epoch_off_plan[e]`` the probability
    that an episode leaves the plan (fallback policy used); ``epoch_nodes[e]`` the belief-graph size. ``method``
    (``"lmdp_hindsight"``, or the factory's name for :func:`run_lmdp_learner`), ``episodes`` and ``seed``: see
    :class:`~rltheory.algorithms.result.LearnerResult`."""

    regret: np.ndarray
    cumulative_regret: np.ndarray
    returns: np.ndarray
    contexts: np.ndarray
    v_star: float
    epoch_start: np.ndarray
    epoch_value: np.ndarray
    epoch_true_value: np.ndarray
    epoch_off_plan: np.ndarray
    epoch_nodes: np.ndarray
    solver: str
    c1: float
    c2: float
    iota: float


def lmdp_hindsight(lmdp: LatentMDP, K: int, *, seed: int, solver: str = "value", c1: float = 1.0,
                   c2: float = 1.0, delta: float = 0.1, Gamma: int | None = None, initial_belief: str = "empirical",
                   max_nodes: int = DEFAULT_MAX_NODES, v_star: float | None = None) -> LMDPLearnResult:
    """Run the hindsight-LMDP learner for ``K`` episodes (module docstring) and measure its exact regret.

    Epochs end at a doubling of some count ``N_m(s, a)``; each epoch's plan (:func:`plan_epoch`) is evaluated exactly in
    the true LMDP, ``regret_k = V* - V^{pi_k}``.

    Parameters
    ----------
    lmdp : LatentMDP
        The true LMDP.
    K : int
        Episodes.
    seed : int
        Seed in ``[0, 2^32)`` of the episodes.
    solver : {"value", "model", "hoeffding", "none"}
        Backup of the planner (:data:`SOLVERS`).
    c1, c2 : float
        Bonus scales, ``>= 0``.
    delta : float
        Confidence parameter in ``iota = 2 ln(2 M S A H K / delta)``.
    Gamma : int, optional
        Transition degree used in the bonuses (default ``S``).
    initial_belief : {"empirical", "true"}
        ``"empirical"`` plans from the estimated ``w`` and ``nu``; ``"true"`` gives the learner the true ones (only
        transitions are learned).
    max_nodes : int
        Belief-graph guard of the planner.
    v_star : float, optional
        ``V*`` if known (default: :func:`rltheory.solvers.lmdp.solve_lmdp`).

    Returns
    -------
    LMDPLearnResult
    """
    check_type("lmdp", lmdp, LatentMDP)
    K = check_int("K", K, low=1)
    if solver not in SOLVERS:
        raise ValueError(f"solver: expected one of {tuple(SOLVERS)}, got {solver!r}")
    c1, c2 = check_real("c1", c1, low=0.0), check_real("c2", c2, low=0.0)
    delta = check_real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    if initial_belief not in ("empirical", "true"):
        raise ValueError(f"initial_belief: expected 'empirical' or 'true', got {initial_belief!r}")
    seed = check_seed("seed", seed, high=2**32 - 1)
    M, S, A, H = lmdp.M, lmdp.S, lmdp.A, lmdp.horizon
    K = int(K)
    if v_star is None:
        v_star = solve_lmdp(lmdp, max_nodes=max_nodes).value
    R = np.ascontiguousarray(lmdp.R)
    Pcdf = np.cumsum(lmdp.P, axis=3)
    Pcdf[..., -1] = 1.0 + 1e-12
    wcdf = cumulative(np.ascontiguousarray(lmdp.weights))
    mu0cdf = np.cumsum(lmdp.mu0, axis=1)
    mu0cdf[:, -1] = 1.0 + 1e-12
    iota = 2.0 * np.log(2.0 * M * S * A * H * K / delta)
    Gam = S if Gamma is None else int(Gamma)
    vmax = np.minimum(1.0, (H - np.arange(H + 1)) * R.max())
    N = np.zeros((M, S, A))
    Nsas = np.zeros((M, S, A, S))
    nc = np.zeros(M)
    ninit = np.zeros((M, S))
    returns = np.empty(K)
    contexts = np.empty(K, dtype=np.int64)
    regret = np.empty(K)
    starts, vals, tvals, offs, nodes = [], [], [], [], []
    # plan_epoch's arguments, checked and converted once: each epoch calls the planner's unchecked entry point
    # (the same kernels on the same arrays, so the same plans)
    R64 = np.ascontiguousarray(R, dtype=np.float64)
    vm = np.ascontiguousarray(vmax if solver != "none" else np.zeros(H + 1), dtype=np.float64)
    nodes_max = check_int("max_nodes", max_nodes, low=1)
    plan_args = (BACKUPS[SOLVERS[solver]], float(c1), float(c2), float(iota), float(Gam), vm)
    np.random.seed(int(seed))
    seed_numba(int(seed))
    k = 0
    while k < K:
        known, Phat, pr = empirical_model(N, Nsas, nc, ninit)
        if initial_belief == "true":
            pr = lmdp.weights[:, None] * lmdp.mu0
        pr = np.ascontiguousarray(pr, dtype=np.float64)
        plan = plan_arrays(readonly(Phat), R64, pr, H, known, N, *plan_args, pr.sum(axis=1), nodes_max,
                           max(4 * nodes_max, 1024))
        tv, _, off = evaluate_plan(lmdp, plan)
        starts.append(k)
        vals.append(plan.value)
        tvals.append(tv)
        offs.append(float(lmdp.weights @ off))
        nodes.append(plan.n_nodes)
        k1 = play_episodes(Pcdf, R, wcdf, mu0cdf, H, k, K, plan.edge_ptr, plan.edge_child, plan.edge_sp,
                       plan.edge_r, plan.policy, plan.root, plan.fallback, N, Nsas, nc, ninit, returns, contexts)
        if tv > v_star + 1e-9 * max(1.0, abs(v_star)):
            raise ValueError(f"v_star: the deployed policy's exact value {tv!r} exceeds v_star = {v_star!r}; "
                             "v_star must be the optimal value of this LMDP (solve_lmdp(lmdp).value)")
        regret[k:k1] = max(v_star - tv, 0.0)  # clips only rounding below 1e-9
        k = k1
    return LMDPLearnResult(regret, np.cumsum(regret), returns, contexts, float(v_star), np.asarray(starts),
                           np.asarray(vals), np.asarray(tvals), np.asarray(offs), np.asarray(nodes), solver,
                           float(c1), float(c2), float(iota), method="lmdp_hindsight", episodes=K, seed=int(seed))
