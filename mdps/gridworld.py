"""Gridworlds from ASCII maps."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rltheory import TabularMDP
from rltheory._validation import check_probability, check_real

from .classic import horizon_or_gamma

__all__ = ["gridworld", "gridworld_layout", "GridLayout", "ACTIONS"]

#: Action order: up, right, down, left (row/column deltas).
ACTIONS = ((-1, 0), (0, 1), (1, 0), (0, -1))
_ALLOWED = set("#.SGT")


@dataclass(frozen=True)
class GridLayout:
    """``cells[i] = (row, col)`` of state ``i`` (non-wall cells in reading order); ``index[(r, c)] = i``."""

    rows: int
    cols: int
    cells: tuple
    index: dict
    starts: tuple
    goals: tuple
    traps: tuple


def gridworld_layout(ascii_map: str) -> GridLayout:
    """Parse and validate an ASCII map: '#' wall, '.' free, 'S' start, 'G' goal, 'T' trap.

    Parameters
    ----------
    ascii_map : str
        Rows of equal length separated by newlines, with at least one ``S``.

    Returns
    -------
    GridLayout
        The cells, their indices and the start, goal and trap cells.
    """
    if not isinstance(ascii_map, str):
        raise TypeError(f"ascii_map: expected a str, got {type(ascii_map).__name__}")
    lines = [ln.strip() for ln in ascii_map.strip("\n").splitlines() if ln.strip()]
    if not lines:
        raise ValueError("ascii_map: empty map")
    width = len(lines[0])
    for r, ln in enumerate(lines):
        if len(ln) != width:
            raise ValueError(f"ascii_map: row {r} has length {len(ln)}, expected {width} (map must be rectangular)")
        bad = set(ln) - _ALLOWED
        if bad:
            raise ValueError(f"ascii_map: row {r} has characters {sorted(bad)}; allowed: # . S G T")
    cells, starts, goals, traps = [], [], [], []
    for r, ln in enumerate(lines):
        for c, ch in enumerate(ln):
            if ch == "#":
                continue
            i = len(cells)
            cells.append((r, c))
            if ch == "S":
                starts.append(i)
            elif ch == "G":
                goals.append(i)
            elif ch == "T":
                traps.append(i)
    if not starts:
        raise ValueError("ascii_map: needs at least one start cell 'S'")
    return GridLayout(len(lines), width, tuple(cells), {rc: i for i, rc in enumerate(cells)}, tuple(starts),
                      tuple(goals), tuple(traps))


def gridworld(ascii_map: str, *, slip: float = 0.0, goal_reward: float = 1.0, trap_reward: float = -1.0,
              step_reward: float = 0.0, horizon=None, gamma=None) -> TabularMDP:
    """Gridworld MDP from an ASCII map (see :func:`gridworld_layout`; states = non-wall cells in reading order).

    Four actions (up, right, down, left). The intended move happens w.p. ``1 - slip``; otherwise one of the
    three other directions, uniformly. Moving into a wall or off the grid leaves the agent in place. Goal and
    trap cells are absorbing; the reward ``goal_reward`` / ``trap_reward`` is paid for every action taken
    **in** a goal / trap cell (so a discounted agent prefers reaching the goal early), and ``step_reward``
    in every other cell. Several 'S' cells: uniform initial distribution. Default: discounted, gamma 0.95.

    Parameters
    ----------
    ascii_map : str
        The map, see :func:`gridworld_layout`.
    slip : float
        Probability in ``[0, 1]`` that one of the three other directions is taken.
    goal_reward, trap_reward, step_reward : float
        Rewards per action in a goal cell, in a trap cell and elsewhere.
    horizon : int, optional
        Finite horizon ``H``.
    gamma : float, optional
        Discount factor (default 0.95 when neither is given).

    Returns
    -------
    TabularMDP
        The gridworld, four actions.
    """
    lay = gridworld_layout(ascii_map)
    slip = check_probability("slip", slip)
    for nm, v in (("goal_reward", goal_reward), ("trap_reward", trap_reward), ("step_reward", step_reward)):
        check_real(nm, v)
    S = len(lay.cells)
    P = np.zeros((S, 4, S))
    R = np.full((S, 4), float(step_reward))
    absorbing = set(lay.goals) | set(lay.traps)

    def move(i, d):
        r, c = lay.cells[i]
        nr, nc = r + ACTIONS[d][0], c + ACTIONS[d][1]
        return lay.index.get((nr, nc), i)

    for i in range(S):
        if i in absorbing:
            P[i, :, i] = 1.0
            R[i, :] = goal_reward if i in lay.goals else trap_reward
            continue
        for a in range(4):
            P[i, a, move(i, a)] += 1.0 - slip
            for d in range(4):
                if d != a:
                    P[i, a, move(i, d)] += slip / 3.0
    mu0 = np.zeros(S)
    mu0[list(lay.starts)] = 1.0 / len(lay.starts)
    kw = horizon_or_gamma(horizon, gamma, default_gamma=0.95)
    return TabularMDP(P, R, mu0=mu0, name=f"gridworld({lay.rows}x{lay.cols}, slip={slip:g})", **kw)
