"""Hard instances for tabular regret.

:func:`bandit_mdp` is the building block of the minimax lower-bound constructions (Jaksch, Ortner & Auer
2010, Sec. 6; Azar, Osband & Munos 2017, Sec. 5; Domingues et al. 2021): from the start state every action
leads to a rewarding absorbing state ``g`` w.p. ``1/2``, except one action, which does so w.p.
``1/2 + gap``; otherwise to a zero-reward absorbing state ``b``. One episode is a Bernoulli bandit pull whose
value gap is ``gap * (H - 1)``. With the K-dependent gap of :func:`k_dependent_gap`,
``gap_K = c sqrt(A / K)``, telling the best action apart takes order ``1/gap_K^2 = K/(c^2 A)`` pulls per
action, so every algorithm suffers regret of order ``K gap_K H = c H sqrt(A K)``: the sqrt(K) rate of the
lower bound, realised on a concrete family.
"""
from __future__ import annotations


import numpy as np

from rltheory import TabularMDP
from rltheory._validation import check_int, check_real

__all__ = ["bandit_mdp", "k_dependent_gap"]


def k_dependent_gap(K: int, A: int, *, c: float = 0.5) -> float:
    """``min(1/4, c sqrt(A / K))``: the gap of the K-dependent hard family.

    Parameters
    ----------
    K : int
        Number of episodes.
    A : int
        Number of actions.
    c : float
        Positive constant.

    Returns
    -------
    float
        The gap ``min(1/4, c sqrt(A / K))``.
    """
    K = check_int("K", K, low=1)
    A = check_int("A", A, low=1)
    check_real("c", c, low=0.0, low_open=True)
    return float(min(0.25, c * np.sqrt(A / K)))


def bandit_mdp(A: int, gap: float, *, horizon: int, best_action: int = 0, reward: float = 1.0) -> TabularMDP:
    """Three states: start 0, rewarding absorbing ``g`` = 1 (``reward`` per step, any action), zero-reward absorbing
    ``b`` = 2. From 0, action ``a`` goes to ``g`` w.p. ``1/2 + gap`` if ``a == best_action`` else ``1/2``.
    ``V*_0 = (H - 1) (1/2 + gap) reward``; every other action loses ``gap (H - 1) reward``.

    Parameters
    ----------
    A : int
        Number of actions, at least 2.
    gap : float
        Advantage in ``[0, 1/2]`` of the best action's success probability.
    horizon : int
        Finite horizon ``H``, at least 2.
    best_action : int
        The best action, in ``[0, A)``.
    reward : float
        Positive reward per step in the good state.

    Returns
    -------
    TabularMDP
        The three-state MDP, starting in state 0.
    """
    A = check_int("A", A, low=2)
    H = check_int("horizon", horizon, low=2)
    best = check_int("best_action", best_action, low=0, high=A - 1)
    check_real("gap", gap, low=0.0, high=0.5)
    check_real("reward", reward, low=0.0, low_open=True)
    P = np.zeros((3, A, 3))
    P[0, :, 1] = 0.5
    P[0, :, 2] = 0.5
    P[0, best, 1] += gap
    P[0, best, 2] -= gap
    P[1, :, 1] = 1.0
    P[2, :, 2] = 1.0
    R = np.zeros((3, A))
    R[1, :] = reward
    return TabularMDP(P, R, horizon=H, name=f"bandit_mdp(A={A}, gap={gap:.4g}, H={H})")
