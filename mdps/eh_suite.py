"""A suite of finite-horizon MDPs for effective-horizon experiments (Laidlaw et al. 2023, 2024): random
sparse-reward MDPs, chains with a distracting immediate reward, gridworlds, MiniGrid-like key-and-door rooms,
and their sticky-action (stochastic) variants."""
from __future__ import annotations

import numpy as np

from rltheory import TabularMDP
from rltheory._validation import as_generator, check_int, check_seed

from .gridworld import gridworld

__all__ = ["random_deterministic", "distractor_chain", "key_door", "sticky_actions", "eh_suite", "stochastic_suite",
           "eh_suite_fixed_horizon", "FAMILY_HORIZONS"]


def random_deterministic(S: int, A: int, *, horizon: int, seed, reward_density: float = 0.2) -> TabularMDP:
    """Deterministic MDP: uniform random successor for each (s, a); a ``reward_density`` fraction of the pairs pay
    U[0, 1]. Start in state 0.

    Parameters
    ----------
    S, A : int
        Numbers of states and actions.
    horizon : int
        Finite horizon ``H``.
    seed : int or numpy.random.Generator
        Seed of the successors and rewards.
    reward_density : float
        Fraction of the pairs ``(s, a)`` with a non-zero reward.

    Returns
    -------
    TabularMDP
        The deterministic MDP.
    """
    S, A = check_int("S", S, low=1), check_int("A", A, low=1)
    if not 0 < reward_density <= 1:
        raise ValueError(f"reward_density: must lie in (0, 1], got {reward_density!r}")
    rng = as_generator("seed", seed)
    nxt = rng.integers(0, S, size=(S, A))
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    R = rng.random((S, A)) * (rng.random((S, A)) < reward_density)
    return TabularMDP(P, R, horizon=check_int("horizon", horizon, low=1), name=f"random_deterministic(S={S}, A={A})")


def distractor_chain(length: int, *, horizon: int, distractor: float = 0.1, A: int = 2) -> TabularMDP:
    """A chain 0..length-1: action 1 advances (reward 1 at the end, then absorbing with reward 1 per step), every
    other action pays ``distractor`` immediately and returns to the start.

    Parameters
    ----------
    length : int
        Number of chain states, at least 2.
    horizon : int
        Finite horizon ``H``.
    distractor : float
        Immediate reward of every action other than 1.
    A : int
        Number of actions, at least 2.

    Returns
    -------
    TabularMDP
        The deterministic chain, starting in state 0.
    """
    n = check_int("length", length, low=2)
    A = check_int("A", A, low=2)
    P = np.zeros((n, A, n))
    R = np.zeros((n, A))
    for s in range(n):
        P[s, 1, min(s + 1, n - 1)] = 1.0
        for a in range(A):
            if a != 1:
                P[s, a, 0] = 1.0
                R[s, a] = distractor
    R[n - 1, 1] = 1.0
    return TabularMDP(P, R, horizon=check_int("horizon", horizon, low=1), name=f"distractor_chain({n})")


_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left


def key_door(ascii_map: str, *, horizon: int) -> TabularMDP:
    """A MiniGrid-like room (after MiniGrid's DoorKey tasks): ``S`` start, ``G`` goal, ``#`` wall, ``K`` key,
    ``D`` a locked door, ``.`` floor. Actions: 0-3 move (up, right, down, left; blocked moves stay),
    4 pick up (takes the key when standing on ``K``; otherwise does nothing). The door can be entered only while
    holding the key. Entering ``G`` pays 1 and ends the episode (an absorbing zero-reward state).
    State ``2 * cell + has_key``, plus the absorbing state last. Deterministic.

    Parameters
    ----------
    ascii_map : str
        The room, rows separated by newlines, with exactly one ``S``, ``K``, ``D`` and ``G``.
    horizon : int
        Finite horizon ``H``.

    Returns
    -------
    TabularMDP
        The deterministic room, five actions.
    """
    rows = [r for r in ascii_map.strip().splitlines()]
    if not rows or any(len(r) != len(rows[0]) for r in rows):
        raise ValueError("ascii_map: rows must be non-empty and of equal length")
    bad = set("".join(rows)) - set("SGK D.#") - {" "}
    if bad:
        raise ValueError(f"ascii_map: unknown cell characters {sorted(bad)}")
    for ch in "SGK":
        if "".join(rows).count(ch) != 1:
            raise ValueError(f"ascii_map: needs exactly one {ch!r}")
    H, W = len(rows), len(rows[0])
    cell = lambda r, c: r * W + c  # noqa: E731
    find = lambda ch: next((r, c) for r in range(H) for c in range(W) if rows[r][c] == ch)  # noqa: E731
    S = 2 * H * W + 1
    end = S - 1
    A = 5
    P = np.zeros((S, A, S))
    R = np.zeros((S, A))
    kr, kc = find("K")
    for r in range(H):
        for c in range(W):
            for key in (0, 1):
                s = 2 * cell(r, c) + key
                if rows[r][c] in "#G":
                    P[s, :, end] = 1.0  # never reached (walls) or left at once (goal): keep rows valid
                    continue
                for a, (dr, dc) in enumerate(_MOVES):
                    nr, nc = r + dr, c + dc
                    if not (0 <= nr < H and 0 <= nc < W) or rows[nr][nc] == "#" or (rows[nr][nc] == "D" and not key):
                        nr, nc = r, c
                    if rows[nr][nc] == "G":
                        P[s, a, end] = 1.0
                        R[s, a] = 1.0
                    else:
                        P[s, a, 2 * cell(nr, nc) + key] = 1.0
                P[s, 4, 2 * cell(r, c) + (1 if (r, c) == (kr, kc) else key)] = 1.0
    P[end, :, end] = 1.0
    mu0 = np.zeros(S)
    sr, sc = find("S")
    mu0[2 * cell(sr, sc)] = 1.0
    return TabularMDP(P, R, horizon=check_int("horizon", horizon, low=1), mu0=mu0, name=f"key_door({H}x{W})")


def sticky_actions(mdp: TabularMDP, *, p: float = 0.25) -> TabularMDP:
    """The sticky-action variant used by Laidlaw et al. (ICLR 2024): at every step after the first, with
    probability ``p`` the previous action is executed instead of the chosen one. State ``s * (A + 1) + prev``
    (``prev = A``: no previous action yet); expected reward ``(1 - p) R(s, a) + p R(s, prev)``.

    Parameters
    ----------
    mdp : TabularMDP
        A finite-horizon, time-homogeneous MDP with ``S`` states and ``A`` actions.
    p : float
        Probability that the previous action is repeated.

    Returns
    -------
    TabularMDP
        The MDP on ``S (A + 1)`` states ``(s, prev)``, same horizon.
    """
    if not isinstance(mdp, TabularMDP) or not mdp.finite_horizon or not mdp.time_homogeneous:
        raise ValueError("mdp: expected a time-homogeneous finite-horizon TabularMDP")
    if not (0.0 <= float(p) < 1.0):
        raise ValueError(f"p: must lie in [0, 1), got {p!r}")
    P0 = mdp.P4()[0]
    R0 = mdp.R3()[0]
    S, A = mdp.S, mdp.A
    n = S * (A + 1)
    P = np.zeros((n, A, n))
    R = np.zeros((n, A))
    for s in range(S):
        for prev in range(A + 1):
            x = s * (A + 1) + prev
            for a in range(A):
                outcomes = ((1.0, a),) if prev == A else ((1.0 - p, a), (p, prev))
                for q, b in outcomes:
                    P[x, a, np.arange(S) * (A + 1) + b] += q * P0[s, b]
                    R[x, a] += q * R0[s, b]
    mu0 = np.zeros(n)
    mu0[np.arange(S) * (A + 1) + A] = mdp.mu0
    return TabularMDP(P, R, horizon=mdp.horizon, mu0=mu0, name=f"sticky({mdp.name}, p={p:g})")


#: Key-and-door rooms and their horizons (the shortest solution, or two steps more).
KEY_DOOR_ROOMS = (("SKD.G", 5), ("SK.\n#D#\n..G", 5), ("SKD.G", 7), ("SK#G\n..D.", 6))


def eh_suite(*, quick: bool = True, seed: int = 0) -> list:
    """The deterministic suite: ``[(name, TabularMDP), ...]`` small enough for exact GORP sweeps — random
    sparse-reward MDPs, distractor chains, gridworlds and key-and-door rooms (horizon = shortest solution, or
    a little more).

    Parameters
    ----------
    quick : bool
        Fewer random MDPs (the quick size of the checks).
    seed : int
        Seed of the random members.

    Returns
    -------
    list of (str, TabularMDP)
        The named deterministic MDPs.
    """
    rng = np.random.default_rng(check_seed("seed", seed))
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
    rooms = KEY_DOOR_ROOMS[:2] if quick else KEY_DOOR_ROOMS
    for i, (mp, T) in enumerate(rooms):
        out.append((f"keydoor{i}", key_door(mp, horizon=T)))
    return out


#: Horizon per environment family in :func:`eh_suite_fixed_horizon` (fixed before any result on that suite was seen).
FAMILY_HORIZONS = {"random": 10, "chain": 20, "grid": 12, "keydoor": 12}
#: Extra instances of :func:`eh_suite_fixed_horizon` (declared with it, before measuring): rooms whose shortest
#: solutions take 7, 7 and 10 steps, and gridworlds with shortest paths of 6 and 10 steps.
EXTRA_KEY_DOOR_MAPS = ("S.K#G\n...D.", "K.#.\nS.D.\n..#G", "S...\n.##D\nK#.G")
EXTRA_GRID_MAPS = ("S....\n.###.\n....G", "S#...\n.#.#.\n...#G")


def eh_suite_fixed_horizon(*, seed: int = 0) -> list:
    """The deterministic suite with horizons set per environment family, independent of the instance — as in
    BRIDGE, where the horizon comes with the environment (e.g. 100 steps for a MiniGrid task), not with how hard
    the instance is. In :func:`eh_suite` the chains get ``T = 2 n`` and the key-door rooms their shortest solution
    plus 0..2 steps, so the horizon-only bound ``A^T`` partly tracks difficulty by construction there.

    Definition (fixed before measuring anything on it): every instance of ``eh_suite(quick=False, seed=seed)`` (the
    same random transition/reward tables, chain lengths, gridworld and room maps) with the horizon of its family
    from :data:`FAMILY_HORIZONS` (random 10, chains 20, gridworlds 12, key-door rooms 12; gridworld rewards
    divided by 12 instead of 8), plus the rooms :data:`EXTRA_KEY_DOOR_MAPS` and gridworlds
    :data:`EXTRA_GRID_MAPS` at the same family horizons. The room ``SKD.G`` appears twice in :func:`eh_suite`
    (horizons 5 and 7) and once here.

    Parameters
    ----------
    seed : int
        Seed of the random members (as in :func:`eh_suite`).

    Returns
    -------
    list of (str, TabularMDP)
        The named deterministic MDPs with family horizons.
    """
    T = FAMILY_HORIZONS
    out = []
    for name, m in eh_suite(quick=False, seed=seed):
        if name.startswith("random"):
            out.append((name, TabularMDP(m.P4()[0], m.R3()[0], horizon=T["random"], mu0=m.mu0, name=m.name)))
        elif name.startswith("chain"):
            out.append((name, distractor_chain(int(name[5:]), horizon=T["chain"])))
    maps = ["S..\n.#.\n..G", "S.#.\n....\n#..G", "S...#\n.##..\n....G", *EXTRA_GRID_MAPS]
    for i, mp in enumerate(maps):
        g = gridworld(mp, slip=0.0, horizon=T["grid"], step_reward=0.0, trap_reward=0.0)
        out.append((f"grid{i}", TabularMDP(g.P, np.clip(g.R, 0, None) / T["grid"], horizon=T["grid"], mu0=g.mu0,
                                           name=g.name)))
    rooms = list(dict.fromkeys(mp for mp, _ in KEY_DOOR_ROOMS)) + list(EXTRA_KEY_DOOR_MAPS)
    for i, mp in enumerate(rooms):
        out.append((f"keydoor{i}", key_door(mp, horizon=T["keydoor"])))
    return out


def stochastic_suite(*, quick: bool = True, seed: int = 0, p: float = 0.25) -> list:
    """Stochastic MDPs for the ICLR 2024 analyses: the sticky-action (probability ``p``) variants of the
    deterministic suite's chains, gridworlds and rooms, slippery gridworlds, and small random MDPs with
    branching 2 (:func:`mdps.classic.garnet`-style, sparse rewards).

    Parameters
    ----------
    quick : bool
        Quick size (as in :func:`eh_suite`).
    seed : int
        Seed of the random members.
    p : float
        Sticky-action probability.

    Returns
    -------
    list of (str, TabularMDP)
        The named stochastic MDPs.
    """
    from .classic import garnet

    rng = np.random.default_rng(check_seed("seed", seed) + 1)
    out = [(f"sticky-{name}", sticky_actions(m, p=p)) for name, m in eh_suite(quick=quick, seed=seed)
           if not name.startswith("random")]
    for i, mp in enumerate(["S..\n.#.\n..G", "S.#.\n....\n#..G"]):
        g = gridworld(mp, slip=0.1, horizon=8, step_reward=0.0, trap_reward=0.0)
        out.append((f"slippery{i}", TabularMDP(g.P, np.clip(g.R, 0, None) / 8.0, horizon=8, mu0=g.mu0, name=g.name)))
    for i in range(3 if quick else 8):
        g = garnet(int(rng.integers(5, 12)), int(rng.integers(2, 4)), 2, horizon=int(rng.integers(5, 9)),
                   seed=int(rng.integers(2**31)))
        R = np.asarray(g.R) * (rng.random(np.shape(g.R)) < 0.2)
        out.append((f"garnet{i}", g.with_rewards(R)))
    return out
