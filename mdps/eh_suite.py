"""A small suite of deterministic finite-horizon MDPs for effective-horizon experiments (Laidlaw et al. 2023):
random sparse-reward MDPs, chains with a distracting immediate reward, and deterministic gridworlds."""
from __future__ import annotations

import numpy as np

from rltheory import TabularMDP

from .classic import as_generator, check_int
from .gridworld import gridworld

__all__ = ["random_deterministic", "distractor_chain", "eh_suite"]


def random_deterministic(S: int, A: int, *, horizon: int, seed, reward_density: float = 0.2) -> TabularMDP:
    """Deterministic MDP: uniform random successor for each (s, a); a ``reward_density`` fraction of the pairs pay
    U[0, 1]. Start in state 0."""
    S, A = check_int(S, "S"), check_int(A, "A")
    if not 0 < reward_density <= 1:
        raise ValueError(f"reward_density: must lie in (0, 1], got {reward_density!r}")
    rng = as_generator(seed)
    nxt = rng.integers(0, S, size=(S, A))
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    R = rng.random((S, A)) * (rng.random((S, A)) < reward_density)
    return TabularMDP(P, R, horizon=check_int(horizon, "horizon"), name=f"random_deterministic(S={S}, A={A})")


def distractor_chain(length: int, *, horizon: int, distractor: float = 0.1, A: int = 2) -> TabularMDP:
    """A chain 0..length-1: action 1 advances (reward 1 at the end, then absorbing with reward 1 per step), every
    other action pays ``distractor`` immediately and returns to the start."""
    n = check_int(length, "length", 2)
    A = check_int(A, "A", 2)
    P = np.zeros((n, A, n))
    R = np.zeros((n, A))
    for s in range(n):
        P[s, 1, min(s + 1, n - 1)] = 1.0
        for a in range(A):
            if a != 1:
                P[s, a, 0] = 1.0
                R[s, a] = distractor
    R[n - 1, 1] = 1.0
    return TabularMDP(P, R, horizon=check_int(horizon, "horizon"), name=f"distractor_chain({n})")


def eh_suite(quick: bool = True, seed: int = 0) -> list:
    """The suite: ``[(name, TabularMDP), ...]`` of deterministic MDPs small enough for exact GORP sweeps."""
    rng = np.random.default_rng(seed)
    out = []
    n_random = 6 if quick else 16
    for i in range(n_random):
        S = int(rng.integers(5, 16))
        A = int(rng.integers(2, 4))
        T = int(rng.integers(5, 11))
        out.append((f"random{i}", random_deterministic(S, A, horizon=T, seed=int(rng.integers(2**31)))))
    for n in ((3, 5) if quick else (3, 5, 7, 9)):
        out.append((f"chain{n}", distractor_chain(n, horizon=2 * n)))
    maps = ["S..\n.#.\n..G", "S.#.\n....\n#..G"] if quick else ["S..\n.#.\n..G", "S.#.\n....\n#..G", "S...#\n.##..\n....G"]
    for i, mp in enumerate(maps):
        g = gridworld(mp, slip=0.0, horizon=8, step_reward=0.0, trap_reward=0.0)
        R = np.clip(g.R, 0, None) / 8.0
        out.append((f"grid{i}", TabularMDP(g.P, R, horizon=8, mu0=g.mu0, name=g.name)))
    return out
