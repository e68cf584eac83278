"""Submodular-reward MDPs (Prajapat, Mutny, Zeilinger & Krause, ICLR 2024): coverage, informative path
planning, the bandit-like family under which SubPO's constant factor is stated, and a deceptive family on which
greedy marginal gains have no constant-factor guarantee.
"""
from __future__ import annotations

import numpy as np

from rltheory import TabularMDP
from rltheory.models.submodular import Coverage, GPVarianceReduction, LogDet, SubmodularMDP

from .classic import as_generator, check_int, check_prob
from .gridworld import ACTIONS, gridworld_layout

__all__ = ["choice_coverage", "lure_coverage", "coverage_gridworld", "informative_path", "deceptive_chain",
           "memory_hub"]


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
    states SubPO's constant factor."""
    n = check_int(n, "n", 2, 16)
    H = check_int(horizon, "horizon", 1)
    n_cells = check_int(n_cells, "n_cells")
    p = check_prob(p, "p")
    rng = as_generator(seed)
    P = np.zeros((n, n, n))
    P[:, np.arange(n), np.arange(n)] = 1.0
    mdp = TabularMDP(P, np.zeros((n, n)), horizon=H, mu0=np.full(n, 1.0 / n), name=f"choice_coverage(n={n})")
    return SubmodularMDP(mdp, Coverage(_random_coverage(rng, n, n_cells, p), rng.random(n_cells)))


def lure_coverage(n: int, *, horizon: int, lure: float = 2.0) -> SubmodularMDP:
    """The bandit-like dynamics of :func:`choice_coverage` with disjoint coverage: element 0 (the lure) is worth
    ``lure``, every other element 1, each covering its own cell. Revisiting the lure adds nothing, so the
    optimum visits ``H`` distinct elements (value ``lure + H - 1`` from state 0), while a learner that credits
    every visit with the singleton value ``F({s})`` (the modular surrogate) keeps returning to the lure."""
    n = check_int(n, "n", 2, 16)
    H = check_int(horizon, "horizon", 1)
    P = np.zeros((n, n, n))
    P[:, np.arange(n), np.arange(n)] = 1.0
    w = np.ones(n)
    w[0] = float(lure)
    mdp = TabularMDP(P, np.zeros((n, n)), horizon=H, mu0=0, name=f"lure_coverage(n={n})")
    return SubmodularMDP(mdp, Coverage(np.eye(n, dtype=bool), w))


def coverage_gridworld(ascii_map: str, *, horizon: int, radius: int = 1, slip: float = 0.0, cell_weights=None,
                       seed=None) -> SubmodularMDP:
    """Coverage on a gridworld (biodiversity-monitoring style): the agent moves (up, right, down, left, stay) on
    the non-wall cells of ``ascii_map`` ('#' walls, 'S' start); visiting a cell covers every cell within
    Chebyshev distance ``radius``; ``F`` = total weight covered (weights: ``cell_weights`` (n_cells,), else
    ~ U[0, 1] from ``seed``, else 1). With ``slip`` the move goes elsewhere uniformly at random."""
    lay = gridworld_layout(ascii_map)
    H = check_int(horizon, "horizon", 1)
    radius = check_int(radius, "radius", 0)
    slip = check_prob(slip, "slip")
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
        w = as_generator(seed).random(S)
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
    construction and refused with the violated inequality when it is not."""
    rows = check_int(rows, "rows")
    cols = check_int(cols, "cols")
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
    end: value 1; the optimum walks the path: value ``n - 1``."""
    n = check_int(n, "n", 2, 13)
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
    ``(h, s)`` cannot, so its best value is strictly smaller (``n = 2``: 1.5 vs 2)."""
    n = check_int(n, "n", 2, 8)
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
