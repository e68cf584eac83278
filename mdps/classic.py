"""Classic tabular MDPs: Garnet, RiverSwim, chain, random MDPs with normalised returns."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from rltheory import TabularMDP
from rltheory._validation import as_generator, check_int, check_probability, check_real

__all__ = ["garnet", "riverswim", "chain", "random_mdp", "horizon_or_gamma"]


def horizon_or_gamma(horizon, gamma, *, default_horizon=None, default_gamma=None) -> dict:
    """Keyword arguments for TabularMDP: the given one, else the constructor's default.

    Parameters
    ----------
    horizon : int or None
        The caller's ``horizon`` argument.
    gamma : float or None
        The caller's ``gamma`` argument.
    default_horizon : int, optional
        Horizon used when both are ``None``.
    default_gamma : float, optional
        Discount used when both are ``None`` and ``default_horizon`` is ``None``.

    Returns
    -------
    dict
        ``{"horizon": H}`` or ``{"gamma": g}``, ready for ``TabularMDP(P, R, **kw)``.

    Raises
    ------
    ValueError
        Both ``horizon`` and ``gamma`` are given.
    """
    if horizon is not None and gamma is not None:
        raise ValueError("give either `horizon` or `gamma`, not both")
    if horizon is None and gamma is None:
        if default_horizon is not None:
            return {"horizon": default_horizon}
        return {"gamma": default_gamma}
    return {"horizon": horizon} if horizon is not None else {"gamma": gamma}


def garnet(S: int, A: int, branching: int, *, seed, horizon=None, gamma=None, sparse=None,
           reward: str = "uniform") -> TabularMDP:
    """Garnet MDP (Archibald, McKinnon & Thomas 1995; Bhatnagar, Sutton, Ghavamzadeh & Lee 2009).

    Every (s, a) moves to ``branching`` distinct next states drawn uniformly without replacement, with
    probabilities given by the gaps of ``branching - 1`` sorted uniforms on [0, 1] (a uniform random point of
    the simplex). Rewards ``R(s, a) ~ U[0, 1]`` (``reward="uniform"``) or ``R(s) ~ U[0, 1]`` shared by all
    actions (``reward="state"``). Default: discounted, ``gamma = 0.9``. ``sparse=None`` builds a CSR kernel
    when ``S >= 1000`` and a dense one otherwise.

    Parameters
    ----------
    S, A : int
        Numbers of states and actions, at least 1.
    branching : int
        Successors per ``(s, a)``, in ``[1, S]``.
    seed : int or numpy.random.Generator
        Seed of the random tables (a generator is used as it is).
    horizon : int, optional
        Finite horizon ``H``.
    gamma : float, optional
        Discount factor (default 0.9 when neither is given).
    sparse : bool, optional
        Store the kernel as CSR (``True``) or dense (``False``); ``None`` chooses CSR for ``S >= 1000``.
    reward : {"uniform", "state"}
        ``R(s, a) ~ U[0, 1]`` independently, or ``R(s)`` shared by the actions of a state.

    Returns
    -------
    TabularMDP
        The Garnet MDP, starting in state 0.
    """
    S = check_int("S", S, low=1)
    A = check_int("A", A, low=1)
    b = check_int("branching", branching, low=1, high=S)
    if reward not in ("uniform", "state"):
        raise ValueError(f"reward: expected 'uniform' or 'state', got {reward!r}")
    if sparse is not None and not isinstance(sparse, bool):
        raise TypeError(f"sparse: expected None or bool, got {sparse!r}")
    rng = as_generator("seed", seed)
    n = S * A
    # b distinct successors per row: the first b of a random permutation, by argpartition of uniforms
    if b == S:
        succ = np.tile(np.arange(S), (n, 1))
    elif b <= 32 and S > 4 * b:
        succ = rng.integers(0, S, size=(n, b))
        # redraw rows with duplicates until every row has distinct entries
        while True:
            srt = np.sort(succ, axis=1)
            dup = np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))
            if dup.size == 0:
                break
            succ[dup] = rng.integers(0, S, size=(dup.size, b))
    else:
        succ = np.argpartition(rng.random((n, S)), b - 1, axis=1)[:, :b]
    cuts = np.sort(rng.random((n, b - 1)), axis=1)
    probs = np.diff(np.concatenate([np.zeros((n, 1)), cuts, np.ones((n, 1))], axis=1), axis=1)
    if reward == "uniform":
        R = rng.random((S, A))
    else:
        R = np.repeat(rng.random(S)[:, None], A, axis=1)
    use_sparse = S >= 1000 if sparse is None else sparse
    M = sp.csr_matrix((probs.ravel(), succ.ravel(), np.arange(0, n * b + 1, b)), shape=(n, S))
    M.sum_duplicates()
    P = M if use_sparse else M.toarray().reshape(S, A, S)
    kw = horizon_or_gamma(horizon, gamma, default_gamma=0.9)
    return TabularMDP(P, R, name=f"garnet(S={S}, A={A}, b={b})", **kw)


def riverswim(S: int = 6, *, horizon=None, gamma=None, p_right: float = 0.35, p_stay: float = 0.6,
              small_reward: float = 5.0 / 1000.0, large_reward: float = 1.0, normalize: bool = False) -> TabularMDP:
    """RiverSwim (Strehl & Littman 2008), in the form of Osband, Russo & Van Roy (2013), App. of "(More) efficient RL
    via posterior sampling": a chain of ``S`` states, action 0 = swim left (always succeeds), action 1 = swim
    right against the current: moves right w.p. ``p_right``, stays w.p. ``p_stay``, drifts left w.p.
    ``1 - p_right - p_stay`` (0.05); at the ends the blocked move stays. Rewards: ``small_reward`` (5/1000) for
    swimming left at state 0, ``large_reward`` (1) for swimming right at state S-1. Start in state 0.

    ``normalize=True`` (finite horizon only) divides rewards by ``H * max r`` so that any trajectory's total
    reward is at most 1 (the horizon-free convention). Default: finite horizon ``H = 20``.

    Parameters
    ----------
    S : int
        Number of states, at least 2.
    horizon : int, optional
        Finite horizon ``H`` (default 20 when neither is given).
    gamma : float, optional
        Discount factor, for a discounted MDP instead.
    p_right, p_stay : float
        Probabilities that swimming right moves right or stays; ``p_right + p_stay <= 1``.
    small_reward, large_reward : float
        Non-negative rewards at the left and right ends.
    normalize : bool
        Divide the rewards by ``H max r`` (finite horizon only).

    Returns
    -------
    TabularMDP
        RiverSwim with two actions, starting in state 0.
    """
    S = check_int("S", S, low=2)
    pr = check_probability("p_right", p_right)
    ps = check_probability("p_stay", p_stay)
    if pr + ps > 1.0 + 1e-12:
        raise ValueError(f"p_right + p_stay must be <= 1, got {pr + ps}")
    pl = max(0.0, 1.0 - pr - ps)
    for nm, v in (("small_reward", small_reward), ("large_reward", large_reward)):
        check_real(nm, v, low=0.0)
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == 0:
            P[s, 1, 0] += ps + pl
            P[s, 1, 1] += pr
        elif s == S - 1:
            P[s, 1, s] += ps + pr
            P[s, 1, s - 1] += pl
        else:
            P[s, 1, s + 1] += pr
            P[s, 1, s] += ps
            P[s, 1, s - 1] += pl
    R = np.zeros((S, 2))
    R[0, 0] = small_reward
    R[S - 1, 1] = large_reward
    kw = horizon_or_gamma(horizon, gamma, default_horizon=20)
    if normalize:
        if "horizon" not in kw:
            raise ValueError("normalize: needs a finite horizon")
        R = R / (kw["horizon"] * max(R.max(), 1e-300))
    return TabularMDP(P, R, name=f"riverswim(S={S})", **kw)


def chain(S: int, *, horizon=None, gamma=None, slip: float = 0.0, reward: float = 1.0,
          distractor: float = 0.0) -> TabularMDP:
    """The exploration-hard chain (e.g. Osband, Van Roy & Wen 2016, "deep sea"-like; Jaksch et al. 2010):
    states 0..S-1, start at 0; action 1 moves right, action 0 moves left (both stay at the borders). With
    probability ``slip`` the other move happens instead. Reward ``reward`` for taking action 1 at S-1, and an
    optional small ``distractor`` reward for taking action 0 at state 0. Default: finite horizon ``H = 2S``.

    Parameters
    ----------
    S : int
        Number of states, at least 2.
    horizon : int, optional
        Finite horizon ``H`` (default ``2 S`` when neither ``horizon`` nor ``gamma`` is given).
    gamma : float, optional
        Discount factor in ``[0, 1)``, for a discounted chain instead.
    slip : float
        Probability in ``[0, 1]`` that the opposite move happens.
    reward : float
        Reward of action 1 at state ``S - 1``.
    distractor : float
        Reward of action 0 at state 0.

    Returns
    -------
    TabularMDP
        The chain, two actions, starting in state 0.
    """
    S = check_int("S", S, low=2)
    slip = check_probability("slip", slip)
    for nm, v in (("reward", reward), ("distractor", distractor)):
        check_real(nm, v)
    P = np.zeros((S, 2, S))
    for s in range(S):
        left, right = max(s - 1, 0), min(s + 1, S - 1)
        P[s, 0, left] += 1 - slip
        P[s, 0, right] += slip
        P[s, 1, right] += 1 - slip
        P[s, 1, left] += slip
    R = np.zeros((S, 2))
    R[S - 1, 1] = reward
    R[0, 0] = distractor
    kw = horizon_or_gamma(horizon, gamma, default_horizon=2 * S)
    return TabularMDP(P, R, name=f"chain(S={S}, slip={slip:g})", **kw)


def random_mdp(S: int, A: int, *, seed, horizon=None, gamma=None, alpha: float = 1.0,
               reward_sparsity: float | None = None, time_homogeneous: bool = True) -> TabularMDP:
    """Random MDP with Dirichlet(``alpha``) transition rows and rewards normalised so that **any trajectory's total
    reward is at most 1** (the horizon-free convention): per-step rewards in ``[0, 1/H]`` for finite horizon
    ``H``, in ``[0, 1 - gamma]`` for discounted MDPs (so that the discounted return is at most 1).
    ``reward_sparsity`` in [0, 1): that fraction of (s, a) pairs gets reward 0. Default: ``H = 10``.

    Parameters
    ----------
    S, A : int
        Numbers of states and actions, at least 1.
    seed : int or numpy.random.Generator
        Seed of the random tables.
    horizon : int, optional
        Finite horizon ``H`` (default 10 when neither is given).
    gamma : float, optional
        Discount factor, for a discounted MDP instead.
    alpha : float
        Concentration of the Dirichlet transition rows, positive.
    reward_sparsity : float, optional
        Fraction in ``[0, 1)`` of the pairs ``(s, a)`` whose reward is set to 0.
    time_homogeneous : bool
        ``False`` draws one kernel and one reward table per step ``h`` (finite horizon only).

    Returns
    -------
    TabularMDP
        The random MDP, starting in state 0.
    """
    S = check_int("S", S, low=1)
    A = check_int("A", A, low=1)
    check_real("alpha", alpha, low=0.0, low_open=True)
    rng = as_generator("seed", seed)
    kw = horizon_or_gamma(horizon, gamma, default_horizon=10)
    if not time_homogeneous and "horizon" not in kw:
        raise ValueError("time_homogeneous=False needs a finite horizon")
    lead = () if time_homogeneous else (kw["horizon"],)
    P = rng.dirichlet(np.full(S, float(alpha)), size=lead + (S, A))
    scale = 1.0 / kw["horizon"] if "horizon" in kw else 1.0 - kw["gamma"]
    R = rng.random(lead + (S, A)) * scale
    if reward_sparsity is not None:
        check_real("reward_sparsity", reward_sparsity, low=0.0, high=1.0, high_open=True)
        R = R * (rng.random(R.shape) >= reward_sparsity)
    return TabularMDP(P, R, name=f"random_mdp(S={S}, A={A})", **kw)
