"""Submodular-reward MDPs (Prajapat, Mutny, Zeilinger & Krause, ICLR 2024): coverage, informative path
planning, the bandit-like family under which SubPO's constant factor is stated, and a deceptive family on which
greedy marginal gains have no constant-factor guarantee.
"""
from __future__ import annotations

import numpy as np

from rltheory import TabularMDP
from rltheory._validation import as_generator, check_int, check_probability, check_real
from rltheory.models.submodular import Coverage, GPVarianceReduction, LogDet, SubmodularMDP

from .gridworld import ACTIONS, gridworld_layout

__all__ = ["choice_coverage", "lure_coverage", "tight_coverage", "coverage_gridworld", "informative_path",
           "deceptive_chain", "memory_hub"]


def _random_coverage(rng, n, n_cells, p):
    C = rng.random((n, n_cells)) < p
    C[np.arange(n), rng.integers(0, n_cells, size=n)] = True  # every element covers something
    return C


def choice_coverage(n: int, *, horizon: int, seed, n_cells: int = 24, p: float = 0.2) -> SubmodularMDP:
    """The bandit-like family: from any state, action ``a`` moves to state ``a`` deterministically, so a policy
    chooses which ``H - 1`` further states to visit after the (uniform random) start; ``F`` is a random
    weighted coverage (element ``v`` covers each of ``n_cells`` cells w.p. ``p``, cell weights ~ U[0, 1]).
    SubRL here is cardinality-constrained monotone submodular maximisation, where the greedy marginal-gain
    choice is a ``(1 - 1/e)``-approximation (Nemhauser, Wolsey & Fisher 1978) — the regime in which the paper
    states SubPO's constant factor.

    Parameters
    ----------
    n : int
        Number of elements (states), in ``[2, 16]``.
    horizon : int
        Finite horizon ``H``.
    seed : int or numpy.random.Generator
        Seed of the coverage and the weights.
    n_cells : int
        Number of cells.
    p : float
        Probability that an element covers a cell.

    Returns
    -------
    SubmodularMDP
        Dynamics and coverage function.
    """
    n = check_int("n", n, low=2, high=16)
    H = check_int("horizon", horizon, low=1)
    n_cells = check_int("n_cells", n_cells, low=1)
    p = check_probability("p", p)
    rng = as_generator("seed", seed)
    P = np.zeros((n, n, n))
    P[:, np.arange(n), np.arange(n)] = 1.0
    mdp = TabularMDP(P, np.zeros((n, n)), horizon=H, mu0=np.full(n, 1.0 / n), name=f"choice_coverage(n={n})")
    return SubmodularMDP(mdp, Coverage(_random_coverage(rng, n, n_cells, p), rng.random(n_cells)))


def lure_coverage(n: int, *, horizon: int, lure: float = 2.0, copies: int = 1) -> SubmodularMDP:
    """The bandit-like dynamics of :func:`choice_coverage` with disjoint coverage: elements ``0 .. copies - 1``
    all cover one shared cell worth ``lure`` (the lure and its redundant copies), every other element covers its
    own cell worth 1. Start at element 0. Revisiting the lure (or visiting a copy) adds nothing, so the optimum
    visits ``min(H - 1, n - copies)`` distinct unit elements (value ``lure + min(H - 1, n - copies)``), while a
    learner that credits every visit with the singleton value ``F({s})`` (the modular surrogate) keeps returning
    to the lure. With many copies a uniformly random policy wastes most of its moves on them: its value is
    ``lure + (n - copies)(1 - (1 - 1/n)^(H - 1))``, below ``(1 - 1/e) OPT`` for e.g. ``n = 10, copies = 6,
    lure = 1.5`` and ``H = 4 .. 7``.

    Parameters
    ----------
    n : int
        Number of elements, in ``[2, 16]``.
    horizon : int
        Finite horizon ``H``.
    lure : float
        Weight of the shared cell.
    copies : int
        Number of elements covering it, in ``[1, n - 1]``.

    Returns
    -------
    SubmodularMDP
        Dynamics and coverage function.
    """
    n = check_int("n", n, low=2, high=16)
    H = check_int("horizon", horizon, low=1)
    copies = check_int("copies", copies, low=1, high=n - 1)
    P = np.zeros((n, n, n))
    P[:, np.arange(n), np.arange(n)] = 1.0
    C = np.zeros((n, n - copies + 1), dtype=bool)
    C[:copies, 0] = True
    C[np.arange(copies, n), 1 + np.arange(n - copies)] = True
    w = np.ones(n - copies + 1)
    w[0] = float(lure)
    name = f"lure_coverage(n={n})" if copies == 1 else f"lure_coverage(n={n}, copies={copies})"
    mdp = TabularMDP(P, np.zeros((n, n)), horizon=H, mu0=0, name=name)
    return SubmodularMDP(mdp, Coverage(C, w))


def tight_coverage(k: int, *, eps: float = 1e-3) -> SubmodularMDP:
    """The classical coverage instance on which greedy is tight: it gets ``1 - (1 - 1/k)^k`` of the optimum
    (the construction behind the tightness of Nemhauser, Wolsey & Fisher 1978; written out here for the
    bandit-like dynamics of :func:`choice_coverage`, ours).

    Cells ``(i, j)``, ``i < k`` rows, ``j < k`` columns, weight ``(1/k^2)(1 - 1/k)^i``, plus one remainder cell per
    column, weight ``(1/k)(1 - 1/k)^k``: every column weighs ``1/k``, the total is 1. Elements: ``0`` = home
    (covers nothing, the start), ``1 + i`` = the *greedy* set ``G_i`` (row ``i`` and a private cell worth
    ``eps (1/k)(1 - 1/k)^i``, which breaks the ties in its favour), ``1 + k + j`` = the *optimal* set ``O_j``
    (column ``j``, remainder included). Horizon ``k + 1`` (``k`` moves). Greedy picks ``G_0, ..., G_{k-1}``
    (value ``(1 - (1 - 1/k)^k)(1 + eps)``), the optimum picks every ``O_j`` (value 1).

    Parameters
    ----------
    k : int
        Number of rows and columns, in ``[2, 6]``.
    eps : float
        Tie-breaking weight of the greedy sets' private cells.

    Returns
    -------
    SubmodularMDP
        Dynamics and coverage function.
    """
    k = check_int("k", k, low=2, high=7)
    check_real("eps", eps, low=0.0, high=0.1, low_open=True, high_open=True)
    n = 2 * k + 1
    q = (1.0 - 1.0 / k) ** np.arange(k + 1)
    cells = k * k + k + k  # grid, remainder row, private cells of the greedy sets
    C = np.zeros((n, cells), dtype=bool)
    w = np.zeros(cells)
    for i in range(k):
        row = i * k + np.arange(k)
        w[row] = q[i] / k ** 2
        C[1 + i, row] = True
        C[1 + i, k * k + k + i] = True
        w[k * k + k + i] = eps * q[i] / k
    w[k * k: k * k + k] = q[k] / k
    for j in range(k):
        C[1 + k + j, np.r_[np.arange(k) * k + j, k * k + j]] = True
    P = np.zeros((n, n, n))
    P[:, np.arange(n), np.arange(n)] = 1.0
    mdp = TabularMDP(P, np.zeros((n, n)), horizon=k + 1, mu0=0, name=f"tight_coverage(k={k})")
    return SubmodularMDP(mdp, Coverage(C, w))


def coverage_gridworld(ascii_map: str, *, horizon: int, radius: int = 1, slip: float = 0.0, cell_weights=None,
                       seed=None) -> SubmodularMDP:
    """Coverage on a gridworld (biodiversity-monitoring style): the agent moves (up, right, down, left, stay) on
    the non-wall cells of ``ascii_map`` ('#' walls, 'S' start); visiting a cell covers every cell within
    Chebyshev distance ``radius``; ``F`` = total weight covered (weights: ``cell_weights`` (n_cells,), else
    ~ U[0, 1] from ``seed``, else 1). With ``slip`` the move goes elsewhere uniformly at random.

    Parameters
    ----------
    ascii_map : str
        The map.
    horizon : int
        Finite horizon ``H``.
    radius : int
        Chebyshev radius covered by a visit, at least 0.
    slip : float
        Probability of a uniformly random other move.
    cell_weights : array_like, optional
        Weights of the cells.
    seed : int or numpy.random.Generator, optional
        Seed of random weights when ``cell_weights`` is not given.

    Returns
    -------
    SubmodularMDP
        Dynamics and coverage function.
    """
    lay = gridworld_layout(ascii_map)
    H = check_int("horizon", horizon, low=1)
    radius = check_int("radius", radius, low=0)
    slip = check_probability("slip", slip)
    S = len(lay.cells)
    if S > 16:
        raise ValueError(f"ascii_map: {S} free cells; the exact bitmask DP supports at most 16")
    moves = list(ACTIONS) + [(0, 0)]
    P = np.zeros((S, 5, S))
    for i, (r, c) in enumerate(lay.cells):
        dest = [lay.index.get((r + dr, c + dc), i) for dr, dc in moves]
        for a in range(5):
            P[i, a, dest[a]] += 1.0 - slip
            for b in range(5):
                if b != a:
                    P[i, a, dest[b]] += slip / 4.0
    cells = np.array(lay.cells)
    C = (np.abs(cells[:, None, :] - cells[None, :, :]).max(-1) <= radius)
    if cell_weights is not None:
        w = np.asarray(cell_weights, dtype=np.float64)
    elif seed is not None:
        w = as_generator("seed", seed).random(S)
    else:
        w = np.ones(S)
    mu0 = np.zeros(S)
    mu0[list(lay.starts)] = 1.0 / len(lay.starts)
    mdp = TabularMDP(P, np.zeros((S, 5)), horizon=H, mu0=mu0, name=f"coverage_gridworld({lay.rows}x{lay.cols})")
    return SubmodularMDP(mdp, Coverage(C, w))


def informative_path(rows: int = 3, cols: int = 4, *, horizon: int, lengthscale: float = 1.0,
                     noise: float = 0.1, objective: str = "info_gain") -> SubmodularMDP:
    """Informative path planning: a ``rows x cols`` 4-connected grid (plus 'stay'), start at the corner, a noisy
    measurement at every visited cell under a GP prior with squared-exponential kernel (``lengthscale``).
    ``objective="info_gain"``: ``F(B) = log det(I + K_BB / noise^2)`` (mutual information, always monotone
    submodular; Krause & Guestrin 2005). ``objective="variance"``: total reduction of posterior variance over all
    cells, which is submodular only under conditions on the kernel (Das & Kempe 2008); it is validated at
    construction and refused with the violated inequality when it is not.

    Parameters
    ----------
    rows, cols : int
        Grid size.
    horizon : int
        Finite horizon ``H``.
    lengthscale : float
        Length scale of the squared-exponential kernel.
    noise : float
        Standard deviation of the measurement noise.
    objective : {"info_gain", "variance"}
        The set function.

    Returns
    -------
    SubmodularMDP
        Dynamics and GP objective.
    """
    rows = check_int("rows", rows, low=1)
    cols = check_int("cols", cols, low=1)
    if rows * cols > 16:
        raise ValueError("rows * cols must be at most 16 (exact bitmask DP)")
    if objective not in ("info_gain", "variance"):
        raise ValueError(f"objective: expected 'info_gain' or 'variance', got {objective!r}")
    lines = "\n".join("".join("S" if (r, c) == (0, 0) else "." for c in range(cols)) for r in range(rows))
    base = coverage_gridworld(lines, horizon=horizon, radius=0)
    pts = np.array(gridworld_layout(lines).cells, dtype=np.float64)
    d2 = ((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1)
    Kmat = np.exp(-0.5 * d2 / lengthscale ** 2)
    if objective == "info_gain":
        F = LogDet(Kmat, noise=noise)
    else:
        F = GPVarianceReduction(Kmat, Kmat, np.ones(len(pts)), noise=noise)
    return SubmodularMDP(base.mdp, F)


def deceptive_chain(n: int) -> SubmodularMDP:
    """A family on which greedy marginal gains lose a factor ``~n`` (no constant factor in general): from the
    start ``0``, action 0 enters a dead end ``d`` worth 1 (absorbing), action 1 enters a path ``p_1 .. p_n``
    of states worth 0 at ``p_1`` and ``1`` each afterwards... concretely ``F`` is modular with weight 1 on ``d``,
    0 on ``p_1`` and ``1`` on ``p_2 .. p_n``, horizon ``n + 1``. Greedy (one-step marginal gain) takes the dead
    end: value 1; the optimum walks the path: value ``n - 1``.

    Parameters
    ----------
    n : int
        Length of the path, in ``[2, 13]``.

    Returns
    -------
    SubmodularMDP
        Dynamics and modular ``F``.
    """
    n = check_int("n", n, low=2, high=13)
    S = n + 2  # 0: start, 1: dead end, 2..n+1: path p_1..p_n
    P = np.zeros((S, 2, S))
    P[0, 0, 1] = 1.0
    P[0, 1, 2] = 1.0
    P[1, :, 1] = 1.0
    for k in range(2, S):
        P[k, :, min(k + 1, S - 1)] = 1.0
    w = np.zeros(S)
    w[1] = 1.0
    w[3:] = 1.0
    from rltheory.models.submodular import Modular

    mdp = TabularMDP(P, np.zeros((S, 2)), horizon=n + 1, name=f"deceptive_chain(n={n})")
    return SubmodularMDP(mdp, Modular(w))


def memory_hub(n: int = 2) -> SubmodularMDP:
    """A hub (state 0) with ``n`` leaves; horizon ``2n``. The first move from the hub lands on a uniformly random
    leaf whatever the action (time-dependent dynamics); afterwards action ``i`` from the hub goes to leaf ``i``
    and every action from a leaf returns to the hub. ``F`` counts the distinct leaves visited. A
    history-dependent policy remembers which leaf chance chose and covers all ``n``; a Markov policy on
    ``(h, s)`` cannot, so its best value is strictly smaller (``n = 2``: 1.5 vs 2).

    Parameters
    ----------
    n : int
        Number of leaves, in ``[2, 8]``.

    Returns
    -------
    SubmodularMDP
        Dynamics and leaf-counting ``F``.
    """
    n = check_int("n", n, low=2, high=8)
    S, A, H = n + 1, n, 2 * n
    P = np.zeros((H, S, A, S))
    for h in range(H):
        for a in range(A):
            if h == 0:
                P[h, 0, a, 1:] = 1.0 / n
            else:
                P[h, 0, a, 1 + a] = 1.0
            P[h, 1:, a, 0] = 1.0
    w = np.ones(S)
    w[0] = 0.0
    mdp = TabularMDP(P, np.zeros((S, A)), horizon=H, name=f"memory_hub(n={n})")
    return SubmodularMDP(mdp, Coverage(np.eye(S, dtype=bool), w))


# ---------------------------------------------------------------------------------------------------------------
# Hardness: the submodular orienteering problem (SOP) as a SubMDP
# ---------------------------------------------------------------------------------------------------------------

from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class OrienteeringInstance:
    """A rooted (group-coverage) submodular orienteering instance: a directed graph on ``n`` vertices given by
    successor lists ``succ[v]`` (an undirected edge is two arcs), a root, a budget of ``budget`` arcs, and a
    weighted coverage objective ``f(S) = sum of weights[g] over the groups g hit by S`` where
    ``covers[v, g]`` says vertex ``v`` belongs to group ``g`` (group-Steiner style: a group is hit once any of its
    vertices is visited). Goal: a walk from ``root`` with at most ``budget`` arcs maximising ``f`` of the set of
    vertices it visits (``root`` included)."""

    succ: tuple
    covers: np.ndarray
    weights: np.ndarray
    root: int
    budget: int

    @property
    def n(self) -> int:
        """Number of vertices."""
        return len(self.succ)

    def f(self, vertices) -> float:
        """``f`` of a collection of vertices.

        Parameters
        ----------
        vertices : iterable of int
            Visited vertices (repetitions count once).

        Returns
        -------
        float
            Total weight of the groups that contain a visited vertex.
        """
        idx = np.unique(np.asarray(list(vertices), dtype=np.int64))
        if idx.size == 0:
            return 0.0
        return float(self.weights[self.covers[idx].any(axis=0)].sum())

    def brute_force(self) -> tuple[float, list]:
        """The SOP optimum by enumerating every walk from ``root`` with at most ``budget`` arcs (exponential;
        independent of the bitmask DP, used to test the reduction). Returns ``(value, best walk)``.

        Returns
        -------
        value : float
            The largest ``f`` of the vertex set of a walk.
        walk : list of int
            A walk attaining it.
        """
        best = [-1.0, None]

        def rec(walk):
            val = self.f(walk)
            if val > best[0]:
                best[0], best[1] = val, list(walk)
            if len(walk) - 1 < self.budget:
                for u in self.succ[walk[-1]]:
                    walk.append(u)
                    rec(walk)
                    walk.pop()

        rec([self.root])
        return best[0], best[1]


def _check_instance(succ, covers, weights, root, budget) -> OrienteeringInstance:
    if not isinstance(succ, (list, tuple)) or len(succ) == 0:
        raise TypeError("succ: expected a non-empty list of successor lists, one per vertex")
    n = len(succ)
    norm = []
    for v, row in enumerate(succ):
        r = [int(u) for u in row]
        for u in r:
            if not 0 <= u < n:
                raise ValueError(f"succ[{v}]: successor {u} out of range [0, {n})")
        norm.append(tuple(sorted(set(r))))
    C = np.asarray(covers)
    if C.dtype != bool or C.ndim != 2 or C.shape[0] != n:
        raise TypeError(f"covers: expected a boolean ({n}, n_groups) array, got dtype={C.dtype}, shape={C.shape}")
    w = np.ones(C.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (C.shape[1],):
        raise ValueError(f"weights: expected shape ({C.shape[1]},), got {w.shape}")
    if not np.all(np.isfinite(w)) or (w.size and w.min() < 0):
        raise ValueError("weights: must be finite and non-negative (monotone f)")
    root = int(root)
    if not 0 <= root < n:
        raise ValueError(f"root: {root} out of range [0, {n})")
    budget = check_int("budget", budget, low=0)
    return OrienteeringInstance(tuple(norm), C, w, root, budget)


def orienteering_instance(succ, covers, weights=None, *, root: int = 0, budget: int) -> OrienteeringInstance:
    """Validate and build an :class:`OrienteeringInstance` (``succ``: successor lists; ``covers``: boolean
    (n, n_groups) membership; ``weights``: group weights, default 1).

    Parameters
    ----------
    succ : sequence of sequence of int
        Successor lists of the ``n`` vertices.
    covers : array_like of bool
        Membership ``(n, n_groups)``.
    weights : array_like, optional
        Non-negative group weights (default 1).
    root : int
        Start vertex.
    budget : int
        Largest number of arcs of a walk, at least 0.

    Returns
    -------
    OrienteeringInstance
        The validated instance.
    """
    return _check_instance(succ, covers, weights, root, budget)


def orienteering_subrl(inst: OrienteeringInstance) -> SubmodularMDP:
    """The reduction of submodular orienteering to SubRL (the construction behind the paper's hardness result).

    Prajapat, Mutny, Zeilinger & Krause (ICLR 2024, Sec. 3; proof in the appendix) show that SubRL is hard to
    approximate even with deterministic dynamics, by reducing the submodular orienteering problem (SOP: a walk
    of bounded length in a graph maximising a monotone submodular function of the visited vertices; Chekuri &
    Pal 2005) to SubRL: a SubRL solver with factor alpha gives an SOP solver with factor alpha, so SOP's
    inapproximability carries over: no polynomial algorithm achieves a factor better than
    ``Omega(log^{1-eps} OPT)`` unless ``NP ⊆ ZTIME(n^{polylog n})``. That SOP factor is stated by Chekuri & Pal
    (FOCS 2005, abstract: "hard to approximate to a ratio better than Omega(log^{1-eps} OPT), even in undirected
    graphs", through group Steiner tree, Halperin & Krauthgamer 2003; their SOP also allows stalling). That the
    SubRL paper reduces from SOP with this factor is our reading of it; the details below are our
    reconstruction.

    Construction (ours in detail): states = vertices; action 0 = stay, action ``i >= 1`` = move to the ``i``-th
    successor (sorted), or stay if the vertex has fewer successors, so ``A = 1 + max out-degree``; deterministic
    transitions; start at ``root``; horizon ``H = budget + 1`` (``H`` visited states = ``budget`` moves);
    ``F`` = the instance's weighted group coverage over visited states. Staying never helps or hurts a monotone
    ``F``, so the visited sets of trajectories are exactly the vertex sets of walks with at most ``budget`` arcs,
    and OPT(SubMDP) = OPT(SOP) -- which ``tests/test_submodular_hardness.py`` checks against
    :meth:`OrienteeringInstance.brute_force`. (The end-vertex constraint of the s-t version of SOP is dropped:
    this is the rooted version.)

    Parameters
    ----------
    inst : OrienteeringInstance
        The SOP instance.

    Returns
    -------
    SubmodularMDP
        The deterministic SubMDP with ``OPT(SubMDP) = OPT(SOP)``.
    """
    if not isinstance(inst, OrienteeringInstance):
        raise TypeError(f"inst: expected an OrienteeringInstance, got {type(inst).__name__}")
    n = inst.n
    if n > 16:
        raise ValueError(f"inst: {n} vertices; the exact bitmask DP supports at most 16")
    A = 1 + max(len(s) for s in inst.succ)
    P = np.zeros((n, A, n))
    for v, row in enumerate(inst.succ):
        for a in range(A):
            P[v, a, row[a - 1] if 1 <= a <= len(row) else v] = 1.0
    mdp = TabularMDP(P, np.zeros((n, A)), horizon=inst.budget + 1, mu0=inst.root,
                     name=f"orienteering_subrl(n={n}, budget={inst.budget})")
    return SubmodularMDP(mdp, Coverage(inst.covers, inst.weights))


def random_group_orienteering(n: int = 8, *, budget: int = 4, seed, n_groups: int = 6, degree: int = 2,
                              group_size: int = 2, undirected: bool = False) -> OrienteeringInstance:
    """A random rooted group-orienteering instance: every vertex gets ``degree`` random successors (arcs; with
    ``undirected`` every arc is also added reversed), each of ``n_groups`` groups is a random set of
    ``group_size`` vertices with weight ~ U[0, 1], root 0. For testing the reduction on small instances.

    Parameters
    ----------
    n : int
        Number of vertices, in ``[2, 16]``.
    budget : int
        Largest number of arcs of a walk.
    seed : int or numpy.random.Generator
        Seed of the arcs, groups and weights.
    n_groups : int
        Number of groups.
    degree : int
        Successors per vertex.
    group_size : int
        Vertices per group, in ``[1, n]``.
    undirected : bool
        Also add every arc reversed.

    Returns
    -------
    OrienteeringInstance
        The random instance.
    """
    n = check_int("n", n, low=2, high=16)
    degree = check_int("degree", degree, low=1)
    n_groups = check_int("n_groups", n_groups, low=1)
    group_size = check_int("group_size", group_size, low=1, high=n)
    rng = as_generator("seed", seed)
    succ = [set(rng.choice(n, size=min(degree, n), replace=False).tolist()) for _ in range(n)]
    if undirected:
        for v in range(n):
            for u in list(succ[v]):
                succ[u].add(v)
    C = np.zeros((n, n_groups), dtype=bool)
    for g in range(n_groups):
        C[rng.choice(n, size=group_size, replace=False), g] = True
    return _check_instance([sorted(s) for s in succ], C, rng.random(n_groups), 0, budget)


def orienteering_lure(k: int, *, seed=None, eps: float = 0.01) -> OrienteeringInstance:
    """A scalable undirected SOP instance on which the greedy marginal-gain rule loses a factor ``~k`` (ours).

    Vertices: the root ``r`` (covers nothing); a gate ``g`` (a Steiner vertex: covers nothing) followed by a path
    of ``k`` terminals ``t_1..t_k``, terminal ``t_j`` alone in group ``j`` of weight ``w_j`` (``w_j = 1``, or
    ~ U[0.5, 1.5] from ``seed``); and a lure path ``l_1..l_{k+1}`` hanging off the root, ``l_1`` in a group of
    weight 1 and every further ``l_i`` in its own group of weight ``eps``. Edges are undirected; budget ``k + 1``.
    OPT walks ``r, g, t_1, .., t_k``: ``sum_j w_j``. Greedy marginal gains (strict at every step, so no
    tie-breaking) take ``l_1`` (gain 1 > 0) and then follow the lure path (gain ``eps`` > 0 = going back):
    ``1 + k eps``. Ratio ``(1 + k eps) / sum_j w_j ~ 1/k``: no constant factor for greedy on SOP-reduced SubMDPs,
    consistent with (though far weaker than) the paper's hardness result.

    Parameters
    ----------
    k : int
        Number of terminals, in ``[2, 7]``.
    seed : int or numpy.random.Generator, optional
        Seed of random terminal weights (``None``: all 1).
    eps : float
        Weight of the further lure groups, in ``(0, 0.1)``.

    Returns
    -------
    OrienteeringInstance
        The instance with budget ``k + 1``.
    """
    k = check_int("k", k, low=2, high=6)
    eps = float(eps)
    if not 0.0 < eps < 1.0 / (k + 1):
        raise ValueError(f"eps: expected 0 < eps < 1/(k+1) = {1 / (k + 1):.4g}, got {eps}")
    n = 2 * k + 3  # 0: root, 1: gate, 2..k+1: terminals, k+2..2k+2: lure path
    T = list(range(2, k + 2))
    L = list(range(k + 2, 2 * k + 3))
    edges = [(0, 1), (1, T[0]), (0, L[0])] + list(zip(T[:-1], T[1:])) + list(zip(L[:-1], L[1:]))
    succ = [set() for _ in range(n)]
    for a, b in edges:
        succ[a].add(b)
        succ[b].add(a)
    w_t = np.ones(k) if seed is None else 0.5 + as_generator("seed", seed).random(k)
    C = np.zeros((n, 2 * k + 1), dtype=bool)
    C[T, np.arange(k)] = True
    C[L, np.arange(k, 2 * k + 1)] = True
    w = np.concatenate([w_t, [1.0], np.full(k, eps)])
    return _check_instance([sorted(s) for s in succ], C, w, 0, k + 1)


__all__ += ["OrienteeringInstance", "orienteering_instance", "orienteering_subrl", "random_group_orienteering",
            "orienteering_lure"]
