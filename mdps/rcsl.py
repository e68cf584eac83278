"""Instances for RCSL vs Bellman completeness (Zhou, Zhu, Zhou, Cui, Gupta & Du, ICLR 2024) and the classic
off-policy divergence controls.

* :func:`separating_family` — our reconstruction of the paper's separating environment (Sec. 3.1: Bellman
  completeness of a two-layer MLP needs width linear in ``|S|``, RCSL constant width). We could not retrieve the
  paper's exact construction; ours has the stated properties and they are verified in the tests and the
  ``rcsl_bellman`` check.
* :func:`tsitsiklis_van_roy` — the two-state example (Tsitsiklis & Van Roy 1996): linear FQI/TD diverges off-policy.
* :func:`bairds_star` — Baird's star (Baird 1995; Sutton & Barto 2018, Sec. 11.2): off-policy semi-gradient TD
  diverges although its 8 features span every value function of the 7 states (the class *is* complete).
* :func:`stitching_gridworld` + :func:`stitching_behaviours` — the authors' Point-Maze stitching task (repository
  ``mbrcsl``, ``envs/pointmaze/config/maze_default.json``) as a tabular gridworld.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rltheory import TabularMDP
from rltheory._validation import as_generator, check_int, check_probability

from .gridworld import gridworld, gridworld_layout

__all__ = ["separating_family", "separating_features", "separating_witness", "realizable_scramble", "LinearExample",
           "tsitsiklis_van_roy", "bairds_star", "STITCH_MAP", "stitching_gridworld", "stitching_behaviours"]


def separating_family(n: int, *, seed=0, horizon: int = 2) -> TabularMDP:
    """Separating family of size ``n = |S|`` (our reconstruction of Zhou et al. 2024, Sec. 3.1, Thm. 1).

    States ``s = 0..n-1`` carry the scalar feature ``x_s = s / (n - 1)``; two actions. Every action moves
    deterministically to ``sigma(s)``, a uniformly random permutation drawn from ``seed`` (a "scrambling"
    transition). Rewards ``R(s, 0) = x_s / 2`` and ``R(s, 1) = 1`` (action 1 strictly best); horizon ``H`` (default 2), uniform initial state.

    * ``Q*_h(x, a) = a + (1 - a) x / 2 + (H - 1 - h)``: on inputs ``(x, a)`` a two-layer ReLU MLP of width 2
      realizes it (``relu(x - a) / 2 + relu(a)`` plus a bias) — realizability at constant width.
    * The optimal (return-conditioned) policy is "take ``a = 1``" — constant width for RCSL.
    * Bellman completeness fails at width ``o(n)``: the width-1 function ``f(x, a) = relu(x - a)`` has
      ``max_a f(s', a) = x_{s'}``, so ``(T f)(s, 0) = x_s / 2 + x_{sigma(s)}`` zig-zags in ``x`` with about ``n``
      kinks; by :func:`rltheory.algorithms.rcsl.relu_width_lower_bound_1d` any two-layer ReLU MLP equal to ``T f``
      needs width ``>= ceil(m / 2)``, ``m`` the number of kinks (about ``n / 2`` for a random ``sigma``).

    Parameters
    ----------
    n : int
        Number of states, at least 3.
    seed : int or numpy.random.Generator
        Seed of the permutation ``sigma``.
    horizon : int
        Finite horizon ``H``.

    Returns
    -------
    TabularMDP
        The finite-horizon MDP.
    """
    n = check_int("n", n, low=3)
    H = check_int("horizon", horizon, low=1)
    rng = as_generator("seed", seed)
    sigma = rng.permutation(n)
    P = np.zeros((n, 2, n))
    P[np.arange(n), :, sigma] = 1.0
    x = np.arange(n) / (n - 1)
    R = np.stack([0.5 * x, np.ones(n)], axis=1)
    return TabularMDP(P, R, horizon=H, mu0=np.full(n, 1.0 / n), name=f"separating(n={n})")


def separating_features(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(state_features (n, 1) = x_s, sa_features (n, 2, 2) = [x_s, a])`` — the MLP inputs of the family.

    Parameters
    ----------
    n : int
        Number of states, at least 3.

    Returns
    -------
    state_features : numpy.ndarray
        Shape ``(n, 1)``, ``x_s``.
    sa_features : numpy.ndarray
        Shape ``(n, 2, 2)``, ``[x_s, a]``.
    """
    n = check_int("n", n, low=3)
    x = np.arange(n) / (n - 1)
    sa = np.zeros((n, 2, 2))
    sa[:, :, 0] = x[:, None]
    sa[:, 1, 1] = 1.0
    return x[:, None], sa


def separating_witness(n: int) -> np.ndarray:
    """The width-1 witness ``f(s, a) = relu(x_s - a)`` (shape (n, 2)) whose backup needs width ~ n.

    Parameters
    ----------
    n : int
        Number of states, at least 3.

    Returns
    -------
    numpy.ndarray
        ``f(s, a) = relu(x_s - a)``, shape ``(n, 2)``.
    """
    x = separating_features(n)[0][:, 0]
    return np.stack([x, np.maximum(x - 1.0, 0.0)], axis=1)


def realizable_scramble(n: int, *, gamma: float = 0.9, seed=0) -> TabularMDP:
    """Discounted companion of :func:`separating_family` for *stationary* FQI (our construction; the paper's exact
    environment could not be retrieved, issue #7).

    States ``s = 0..n-1`` with feature ``x_s = s / (n - 1)``, two actions; action ``a`` moves deterministically to
    ``sigma_a(s)`` (two independent uniformly random permutations drawn from ``seed``). The reward is chosen so that
    the optimal action values are linear in ``x`` per action:

    ``Q*(s, 0) = 1 - x_s``, ``Q*(s, 1) = x_s``, ``V*(s) = max(x_s, 1 - x_s)``,
    ``R(s, a) = Q*(s, a) - gamma V*(sigma_a(s))``

    (Bellman's equation then holds by construction). Properties:

    * ``Q*`` is realizable at constant width (``1 - x - a + 2 relu(x + a - 1)`` on inputs ``(x, a)``, width 3) and the
      optimal policy is a threshold at ``x = 1/2`` (constant width for any policy class);
    * the class is far from complete: for ``f != Q*``, ``T f - Q* = gamma (V_f - V*) o sigma_a`` is a scrambled
      function of ``x`` with about ``n`` kinks, so containing ``T f`` needs width ~ ``n`` (the same argument as for
      :func:`separating_family`), and the FQI iterates ``T^k 0`` are not realizable below that width;
    * uniform initial distribution.

    Parameters
    ----------
    n : int
        Number of states, at least 3.
    gamma : float
        Discount factor in ``[0, 1]``.
    seed : int or numpy.random.Generator
        Seed of the two permutations.

    Returns
    -------
    TabularMDP
        The discounted MDP.
    """
    n = check_int("n", n, low=3)
    g = check_probability("gamma", gamma)
    if g >= 1.0:
        raise ValueError("gamma: must be < 1")
    rng = as_generator("seed", seed)
    sig = np.stack([rng.permutation(n), rng.permutation(n)], axis=1)
    x = np.arange(n) / (n - 1)
    Q = np.stack([1.0 - x, x], axis=1)
    V = Q.max(axis=1)
    R = Q - g * V[sig]
    P = np.zeros((n, 2, n))
    for a in range(2):
        P[np.arange(n), a, sig[:, a]] = 1.0
    return TabularMDP(P, R, gamma=g, mu0=np.full(n, 1.0 / n), name=f"realizable-scramble(n={n})")


@dataclass(frozen=True)
class LinearExample:
    """A discounted MDP with linear features ``Phi (S, A, d)``, data weights ``mu (S, A)`` and target ``policy``."""

    mdp: TabularMDP
    Phi: np.ndarray
    mu: np.ndarray
    policy: np.ndarray


def tsitsiklis_van_roy(*, gamma: float = 0.9) -> LinearExample:
    """Two states, one action, both move to state 1 (the paper's "state 2"), zero reward; ``phi(0) = 1``,
    ``phi(1) = 2``; uniform ``mu``. Linear FQI: ``w_{k+1} = (6 gamma / 5) w_k`` (diverges for ``gamma > 5/6``)
    while ``V = 0`` is realizable (``w = 0``); the class is not complete (``P span(phi)`` is not in ``span(phi)``).
    Tsitsiklis & Van Roy, IEEE TAC 1997, Sec. IX (the two-state example).

    Parameters
    ----------
    gamma : float
        Discount factor in ``[0, 1]``.

    Returns
    -------
    LinearExample
        The MDP, its features and the data distribution.
    """
    g = check_probability("gamma", gamma)
    if g >= 1.0:
        raise ValueError("gamma: must be < 1")
    P = np.zeros((2, 1, 2))
    P[:, 0, 1] = 1.0
    mdp = TabularMDP(P, np.zeros((2, 1)), gamma=g, mu0=np.array([0.5, 0.5]), name="tsitsiklis-van-roy")
    Phi = np.array([[[1.0]], [[2.0]]])
    return LinearExample(mdp, Phi, np.full((2, 1), 0.5), np.ones((2, 1)))


def bairds_star(*, gamma: float = 0.99) -> LinearExample:
    """Baird's star: 7 states, actions 0 = "dashed" (to one of states 0..5 uniformly), 1 = "solid" (to state 6),
    zero reward. Features (8): ``phi(i) = 2 e_i + e_7`` for ``i < 6``, ``phi(6) = e_6 + 2 e_7`` (same for both
    actions); target policy = solid; ``mu(s, a) = pi(a|s) / 7`` (uniform states from the behaviour's stationary
    law). Sutton & Barto (2018), Example 11.1.

    Parameters
    ----------
    gamma : float
        Discount factor in ``[0, 1]``.

    Returns
    -------
    LinearExample
        The MDP, its features, the target policy and the data distribution.
    """
    g = check_probability("gamma", gamma)
    if g >= 1.0:
        raise ValueError("gamma: must be < 1")
    P = np.zeros((7, 2, 7))
    P[:, 0, :6] = 1.0 / 6.0
    P[:, 1, 6] = 1.0
    mdp = TabularMDP(P, np.zeros((7, 2)), gamma=g, mu0=np.full(7, 1.0 / 7), name="bairds-star")
    phi = np.zeros((7, 8))
    for i in range(6):
        phi[i, i] = 2.0
        phi[i, 7] = 1.0
    phi[6, 6] = 1.0
    phi[6, 7] = 2.0
    Phi = np.repeat(phi[:, None, :], 2, axis=1)
    pol = np.zeros((7, 2))
    pol[:, 1] = 1.0
    return LinearExample(mdp, Phi, pol / 7.0, pol)


#: The stitching map (authors' Point-Maze layout): start (1,2), goal (2,4).
STITCH_MAP = "######\n#.S###\n#...G#\n######"
_UP, _RIGHT, _DOWN, _LEFT = 0, 1, 2, 3


def stitching_gridworld(*, horizon: int = 8, slip: float = 0.0) -> TabularMDP:
    """Tabular version of the authors' Point-Maze stitching task (Zhou et al. 2024, Sec. 5.1; map from the
    ``mbrcsl`` repository): states ``0=(1,1), 1=(1,2)=start, 2=(2,1), 3=(2,2), 4=(2,3), 5=(2,4)=goal``, actions up,
    right, down, left (walls: stay), reward 1 per step spent in the absorbing goal. The shortest path
    start -> (2,2) -> (2,3) -> goal takes 3 moves (optimal return ``H - 3``).

    Parameters
    ----------
    horizon : int
        Finite horizon ``H``, at least 4.
    slip : float
        Probability of a uniformly random other move.

    Returns
    -------
    TabularMDP
        The six-state gridworld.
    """
    H = check_int("horizon", horizon, low=4)
    return gridworld(STITCH_MAP, slip=slip, goal_reward=1.0, trap_reward=0.0, step_reward=0.0, horizon=H)


def stitching_behaviours(*, eps: float = 0.3) -> list[np.ndarray]:
    """The four behaviours of the dataset, as stationary ``(6, 4)`` policies (authors' task, our reconstruction of
    the tabular details):

    0. start -> down to (2,2), then bump into the wall below (stays): return 0;
    1. start -> down to (2,2), then up and down between start and (2,2): return 0;
    2. start -> left (1,1) -> down (2,1) -> right (2,2) -> right (2,3) -> right goal: 5 moves, return ``H - 5``;
    3. behaviour 2 with probability ``eps`` of a uniform action everywhere except at the start (so no single
       trajectory takes the shortcut start -> (2,2) -> goal).

    No dataset trajectory is the shortest path; stitching the start -> (2,2) segment of 0/1 with the (2,2) -> goal
    segment of 2/3 is.

    Parameters
    ----------
    eps : float
        Probability in ``[0, 1]`` of a uniform action in behaviour 3.

    Returns
    -------
    list of numpy.ndarray
        Four stationary policies of shape ``(6, 4)``, rows summing to 1.
    """
    eps = check_probability("eps", eps)
    lay = gridworld_layout(STITCH_MAP)
    S, A = len(lay.cells), 4
    idx = lay.index

    def det(moves):
        p = np.full((S, A), 1.0 / A)
        for cell, a in moves.items():
            p[idx[cell]] = np.eye(A)[a]
        return p

    b0 = det({(1, 2): _DOWN, (2, 2): _DOWN})
    b1 = det({(1, 2): _DOWN, (2, 2): _UP})
    route = {(1, 2): _LEFT, (1, 1): _DOWN, (2, 1): _RIGHT, (2, 2): _RIGHT, (2, 3): _RIGHT}
    b2 = det(route)
    b3 = (1.0 - eps) * b2 + eps / A
    b3[idx[(1, 2)]] = b2[idx[(1, 2)]]
    return [b0, b1, b2, b3]
