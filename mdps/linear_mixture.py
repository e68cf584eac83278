"""Linear mixture MDP constructors (Zhang, Zhang & Gu, ICML 2023): the lower-bound instance, random mixtures
of kernels and a RiverSwim whose horizon matters.

All return a :class:`rltheory.LinearMixtureMDP` with the paper's normalisation: total reward of any trajectory
in [0, 1] and ``||psi_V(s,a)||_2 <= 1`` for every ``V: S -> [0, 1]``.
"""
from __future__ import annotations

import math

import numpy as np

from rltheory._validation import as_generator, check_int, check_probability
from rltheory.models.linear_mixture import LinearMixtureMDP

__all__ = ["hard_linear_mixture_rfe", "hard_rfe_gap", "hard_rfe_test_rewards", "hypercube_actions",
           "lock_linear_mixture_rfe", "lock_rfe_test_rewards", "random_linear_mixture", "linear_mixture_riverswim",
           "riverswim_test_rewards"]

X1, X2, X3 = 0, 1, 2


def hypercube_actions(d: int) -> np.ndarray:
    """The action set ``{-1, +1}^(d-1)`` as an ``(2^(d-1), d-1)`` float array; action ``j`` has ``a_i = +1`` iff bit
    ``i`` of ``j`` is set.

    Parameters
    ----------
    d : int
        Feature dimension, at least 2.

    Returns
    -------
    numpy.ndarray
        Shape ``(2^(d-1), d-1)``, entries in ``{-1, +1}``.
    """
    d = check_int("d", d, low=2)
    j = np.arange(2 ** (d - 1))[:, None]
    return np.where((j >> np.arange(d - 1)) & 1, 1.0, -1.0)


def hard_rfe_gap(K: int, *, delta0: float = 1.0 / 6.0) -> float:
    """The K-dependent gap of the lower bound, ``Delta = sqrt(delta0 / K) / (4 sqrt 2)`` (§2.8.4).

    Parameters
    ----------
    K : int
        Number of episodes.
    delta0 : float
        Base probability of the instance.

    Returns
    -------
    float
        ``Delta = sqrt(delta0 / K) / (4 sqrt 2)``.
    """
    K = check_int("K", K, low=1)
    return math.sqrt(delta0 / K) / (4.0 * math.sqrt(2.0))


def hard_linear_mixture_rfe(d: int, horizon: int, *, K: int | None = None, seed=0, gap: float | None = None,
                            delta0: float = 1.0 / 6.0) -> LinearMixtureMDP:
    """Lower-bound instance of Theorem 2.6.8 (dissertation §2.6.2.2 / §2.8.4, after Zhou & Gu 2022a, Thm 5.4).

    States ``x1 = 0`` (start), ``x2 = 1``, ``x3 = 2`` (both absorbing); actions ``a in {-1, +1}^(d-1)``
    (:func:`hypercube_actions`). ``P(x3 | x1, a) = delta0 + <mu, a>``, ``P(x2 | x1, a) = 1 - delta0 - <mu, a>`` with
    ``mu in {-Delta, +Delta}^(d-1)`` drawn uniformly from ``seed`` and ``Delta = sqrt(delta0/K)/(4 sqrt 2)``
    (or ``gap``, a K-independent Delta, for controls). Rewards ``r_h(x3, .) = 1/H`` (total <= (H-1)/H).

    Features (paper): ``phi(x2|x1,a) = (af (1-delta0), -bf a)``, ``phi(x3|x1,a) = (af delta0, bf a)``,
    ``phi(s|s,a) = (af, 0)`` for ``s in {x2, x3}``; ``theta* = (1/af, mu/bf)``. The scales ``af, bf`` are not given
    in the source; ours (derived): ``rho = (d-1) Delta``, ``af^2 = 1/(1+rho)``, ``bf^2 = rho/((d-1)(1+rho))``, so that
    ``||psi_V|| <= 1`` for ``V in [0,1]^S`` and ``||theta*|| = 1 + rho`` (our reconstruction).

    The optimal action is ``sign(mu)``; each wrong coordinate costs ``2 Delta (H-1)/H`` for the reward at x3.

    Parameters
    ----------
    d : int
        Feature dimension, at least 2 (``A = 2^(d-1)`` actions).
    horizon : int
        Finite horizon ``H``, at least 2.
    K : int, optional
        Number of episodes that sets ``Delta = sqrt(delta0 / K) / (4 sqrt 2)``; required unless ``gap`` is given.
    seed : int or numpy.random.Generator
        Seed of the signs of ``mu``.
    gap : float, optional
        A K-independent ``Delta`` instead.
    delta0 : float
        Base probability of reaching ``x3``.

    Returns
    -------
    LinearMixtureMDP
        The three-state instance with ``d`` features.
    """
    d = check_int("d", d, low=2)
    H = check_int("horizon", horizon, low=2)
    if not (0.0 < delta0 < 0.5):
        raise ValueError(f"delta0: must lie in (0, 1/2), got {delta0!r}")
    if gap is None:
        if K is None:
            raise ValueError("K: give K (for the K-dependent gap) or gap")
        Delta = hard_rfe_gap(K, delta0=delta0)
    else:
        if K is not None:
            raise ValueError("K, gap: give one of them, not both")
        Delta = float(gap)
        if not (np.isfinite(Delta) and Delta > 0):
            raise ValueError(f"gap: must be a positive float, got {gap!r}")
    rho = (d - 1) * Delta
    if rho >= delta0:
        raise ValueError(f"K/gap: (d-1) Delta = {rho:.4g} must be < delta0 = {delta0:.4g} so that P is a kernel "
                         "(the paper needs K >= 3 d^2)")
    rng = as_generator("seed", seed)
    mu = np.where(rng.random(d - 1) < 0.5, -Delta, Delta)
    acts = hypercube_actions(d)
    A = acts.shape[0]
    af = math.sqrt(1.0 / (1.0 + rho))
    bf = math.sqrt(rho / ((d - 1) * (1.0 + rho)))
    phi = np.zeros((3, A, 3, d))
    phi[X1, :, X2, 0] = af * (1.0 - delta0)
    phi[X1, :, X2, 1:] = -bf * acts
    phi[X1, :, X3, 0] = af * delta0
    phi[X1, :, X3, 1:] = bf * acts
    for s in (X2, X3):
        phi[s, :, s, 0] = af
    theta = np.concatenate([[1.0 / af], mu / bf])
    R = np.zeros((3, A))
    R[X3, :] = 1.0 / H
    return LinearMixtureMDP(phi, theta, R, horizon=H, mu0=X1, name=f"hard_rfe(d={d}, Delta={Delta:.3g})")


def hard_rfe_test_rewards(mdp: LinearMixtureMDP) -> list:
    """The fixed test set for the hard instance: ``1/H`` per step at x3, and ``1/H`` per step at x2.

    Parameters
    ----------
    mdp : LinearMixtureMDP
        An instance of :func:`hard_linear_mixture_rfe`.

    Returns
    -------
    list of numpy.ndarray
        Reward tables ``(S, A)``, one per test reward.
    """
    H, A = mdp.horizon, mdp.A
    out = []
    for s in (X3, X2):
        R = np.zeros((3, A))
        R[s] = 1.0 / H
        out.append(R)
    return out


def lock_linear_mixture_rfe(d: int, lock: int, horizon: int, *, gap: float, seed=0,
                            delta0: float = 1.0 / 6.0) -> LinearMixtureMDP:
    """The lower-bound instance behind a combination lock (our construction, for exploration tests).

    States ``c_0, ..., c_{L-1}`` (the lock, ``L = lock``; ``c_0`` is the start), then ``x1 = L`` (the hypercube
    bandit of :func:`hard_linear_mixture_rfe`), ``x2 = L+1``, ``x3 = L+2`` (absorbing) and a dead state
    ``z = L+3`` (absorbing); ``S = L + 4``, actions ``{-1, +1}^(d-1)`` (``A = 2^(d-1)``). At ``c_i`` one action
    ``a*_i`` (drawn uniformly from ``seed``) moves on to ``c_{i+1}`` (``c_L = x1``), every other action falls into
    ``z``. These transitions are known through ``phi`` (they use only the first coordinate, ``phi = (af, 0)``,
    ``theta*_0 = 1/af``); the unknown ``mu in {-gap, +gap}^(d-1)`` (drawn from ``seed``) acts only at ``x1``, as in
    the lower-bound instance. ``||psi_V|| <= 1`` for ``V in [0, 1]^S``; reward ``1/H`` per step at ``x3``.

    An explorer that plans through the known lock reaches ``x1`` in every episode; one that picks actions
    uniformly at random reaches it with probability ``A^-L``. ``lock = 0`` is the lower-bound instance plus an
    unreachable dead state.

    Parameters
    ----------
    d : int
        Feature dimension, at least 2.
    lock : int
        Length ``L >= 0`` of the combination lock.
    horizon : int
        Finite horizon ``H``, at least 2.
    gap : float
        The unknown shift ``Delta`` at ``x1``.
    seed : int or numpy.random.Generator
        Seed of the lock's actions and of the signs of ``mu``.
    delta0 : float
        Base probability of reaching ``x3``.

    Returns
    -------
    LinearMixtureMDP
        The instance with ``S = L + 4`` states.
    """
    d = check_int("d", d, low=2)
    L = check_int("lock", lock, low=0)
    H = check_int("horizon", horizon, low=2)
    if H < L + 2:
        raise ValueError(f"horizon: must be >= lock + 2 = {L + 2} so that x3 can be reached and rewarded")
    if not (0.0 < delta0 < 0.5):
        raise ValueError(f"delta0: must lie in (0, 1/2), got {delta0!r}")
    Delta = float(gap)
    if not (np.isfinite(Delta) and Delta > 0):
        raise ValueError(f"gap: must be a positive float, got {gap!r}")
    rho = (d - 1) * Delta
    if rho >= delta0:
        raise ValueError(f"gap: (d-1) gap = {rho:.4g} must be < delta0 = {delta0:.4g} so that P is a kernel")
    rng = as_generator("seed", seed)
    mu = np.where(rng.random(d - 1) < 0.5, -Delta, Delta)
    acts = hypercube_actions(d)
    A = acts.shape[0]
    key = rng.integers(0, A, size=L)
    S = L + 4
    x1, x2, x3, z = L, L + 1, L + 2, L + 3
    af = math.sqrt(1.0 / (1.0 + rho))
    bf = math.sqrt(rho / ((d - 1) * (1.0 + rho)))
    phi = np.zeros((S, A, S, d))
    for i in range(L):
        nxt = i + 1 if i + 1 < L else x1
        phi[i, :, z, 0] = af
        phi[i, key[i], z, 0] = 0.0
        phi[i, key[i], nxt, 0] = af
    phi[x1, :, x2, 0] = af * (1.0 - delta0)
    phi[x1, :, x2, 1:] = -bf * acts
    phi[x1, :, x3, 0] = af * delta0
    phi[x1, :, x3, 1:] = bf * acts
    for s in (x2, x3, z):
        phi[s, :, s, 0] = af
    theta = np.concatenate([[1.0 / af], mu / bf])
    R = np.zeros((S, A))
    R[x3, :] = 1.0 / H
    return LinearMixtureMDP(phi, theta, R, horizon=H, mu0=0, name=f"lock_rfe(d={d}, L={L}, gap={Delta:.3g})")


def lock_rfe_test_rewards(mdp: LinearMixtureMDP) -> list:
    """Test set for :func:`lock_linear_mixture_rfe`: ``1/H`` per step at ``x3``, and at ``x2`` (``x2, x3`` are the
    states ``S-3``, ``S-2``), and the step-restricted reward 1 at ``x3`` at the last step ``H-1`` only (a planner
    whose horizon is off by one sees nothing of it).

    Parameters
    ----------
    mdp : LinearMixtureMDP
        An instance of :func:`lock_linear_mixture_rfe`.

    Returns
    -------
    list of numpy.ndarray
        The test reward tables.
    """
    S, H, A = mdp.S, mdp.horizon, mdp.A
    out = []
    for s in (S - 2, S - 3):
        R = np.zeros((S, A))
        R[s] = 1.0 / H
        out.append(R)
    R = np.zeros((H, S, A))
    R[H - 1, S - 2] = 1.0
    out.append(R)
    return out


def random_linear_mixture(S: int, A: int, d: int, horizon: int, *, seed=0, reward_density: float = 0.5,
                          concentration: float = 1.0) -> LinearMixtureMDP:
    """A random linear mixture MDP (note §I.6, family F2): ``d`` kernels ``P_i(.|s,a) ~ Dirichlet(concentration 1_S)``,
    weights ``w ~ Dirichlet(1_d)``; ``phi_i = P_i / sqrt d`` and ``theta* = sqrt(d) w`` so ``P = sum_i w_i P_i``,
    ``||psi_V|| <= 1`` for ``V in [0,1]^S`` and ``||theta*|| <= sqrt d``. Rewards: ``U(0, 1)/H`` on a random
    ``reward_density`` fraction of the pairs (total reward <= 1).

    Parameters
    ----------
    S, A, d : int
        Numbers of states, actions and features.
    horizon : int
        Finite horizon ``H``.
    seed : int or numpy.random.Generator
        Seed of the kernels, weights and rewards.
    reward_density : float
        Fraction of the pairs with a non-zero reward.
    concentration : float
        Dirichlet concentration of the kernels.

    Returns
    -------
    LinearMixtureMDP
        The random instance.
    """
    S, A, d, H = check_int("S", S, low=1), check_int("A", A, low=1), check_int("d", d, low=1), check_int("horizon", horizon, low=1)
    if not (0 < reward_density <= 1):
        raise ValueError(f"reward_density: must lie in (0, 1], got {reward_density!r}")
    rng = as_generator("seed", seed)
    Ps = rng.dirichlet(np.full(S, float(concentration)), size=(d, S, A))  # (d, S, A, S)
    w = rng.dirichlet(np.ones(d))
    phi = np.moveaxis(Ps, 0, -1) / math.sqrt(d)
    theta = w * math.sqrt(d)
    R = rng.random((S, A)) * (rng.random((S, A)) < reward_density) / H
    return LinearMixtureMDP(phi, theta, R, horizon=H, mu0=0, name=f"random_lm(S={S}, A={A}, d={d})")


def misspecified_linear_mixture(S: int, A: int, d: int, horizon: int, rho: float, *, seed=0,
                                concentration: float = 1.0) -> tuple[LinearMixtureMDP, LinearMixtureMDP]:
    """A misspecified pair ``(model, environment)``: ``model`` is :func:`random_linear_mixture` with the same
    arguments; the environment moves a fraction ``rho`` of every transition row to one more random kernel
    ``Q(.|s,a) ~ Dirichlet(concentration 1_S)`` outside the model's span: ``P_env = (1 - rho) P + rho Q``. A learner
    that is given ``model.phi`` but samples from ``environment`` cannot reach zero error: its estimate converges to a
    projection, not to ``P_env`` (the linear mixture assumption of the reward-free theorems fails). Stored as a
    linear mixture with ``d + 1`` features ``(phi, Q / sqrt d)`` and weights ``((1 - rho) theta*, rho sqrt d)``.

    Parameters
    ----------
    S, A, d : int
        Numbers of states, actions and features.
    horizon : int
        Finite horizon ``H``.
    rho : float
        Fraction in ``[0, 1]`` of each row moved outside the model's span.
    seed : int or numpy.random.Generator
        Seed, shared with :func:`random_linear_mixture`.
    concentration : float
        Dirichlet concentration of the kernels.

    Returns
    -------
    model, environment : LinearMixtureMDP
        The well-specified model and the misspecified environment.
    """
    check_probability("rho", rho)
    model = random_linear_mixture(S, A, d, horizon, seed=seed, concentration=concentration)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng([int(seed), 1])
    Q = rng.dirichlet(np.full(model.S, float(concentration)), size=(model.S, model.A))
    phi = np.concatenate([model.phi, Q[..., None] / math.sqrt(model.d)], axis=-1)
    theta = np.concatenate([(1.0 - rho) * model.theta, [rho * math.sqrt(model.d)]])
    env = LinearMixtureMDP(phi, theta, model.R, horizon=model.horizon, mu0=model.mu0,
                           name=f"misspecified_lm(S={model.S}, A={model.A}, d={model.d}, rho={rho:g})")
    return model, env


def linear_mixture_riverswim(S: int, horizon: int, *, p: float = 0.7) -> LinearMixtureMDP:
    """A linear-mixture RiverSwim (note §I.6, family F3, our construction): a chain of ``S`` states, actions
    ``0 = left`` and ``1 = right``, ``d = 2`` basis kernels "drift right" (``s -> min(s+1, S-1)``) and
    "drift left" (``s -> max(s-1, 0)``) for the action right, both "drift left" for the action left.
    ``theta* = sqrt(2) (p, 1-p)``, ``phi = kernel / sqrt 2``: swimming right succeeds with probability ``p``.
    Reward ``1/H`` per step at the far-right state ``S-1`` (total <= 1). Reaching it takes about
    ``(S-1)/(2p-1)`` steps, so short horizons see little and long ones must learn more of the chain.

    Parameters
    ----------
    S : int
        Number of states, at least 2.
    horizon : int
        Finite horizon ``H``.
    p : float
        Success probability of swimming right.

    Returns
    -------
    LinearMixtureMDP
        The chain with ``d = 2`` features.
    """
    S, H = check_int("S", S, low=2), check_int("horizon", horizon, low=1)
    if not (0.5 < p <= 1.0):
        raise ValueError(f"p: must lie in (1/2, 1], got {p!r}")
    phi = np.zeros((S, 2, S, 2))
    c = 1.0 / math.sqrt(2.0)
    for s in range(S):
        r, l_ = min(s + 1, S - 1), max(s - 1, 0)
        phi[s, 1, r, 0] += c
        phi[s, 1, l_, 1] += c
        phi[s, 0, l_, 0] += c
        phi[s, 0, l_, 1] += c
    theta = math.sqrt(2.0) * np.array([p, 1.0 - p])
    R = np.zeros((S, 2))
    R[S - 1, :] = 1.0 / H
    return LinearMixtureMDP(phi, theta, R, horizon=H, mu0=0, name=f"lm_riverswim(S={S}, p={p:g})")


def riverswim_test_rewards(mdp: LinearMixtureMDP) -> list:
    """Test set for :func:`linear_mixture_riverswim`: ``1/H`` per step at the far-right state, at the middle
    state, and at state 0.

    Parameters
    ----------
    mdp : LinearMixtureMDP
        An instance of :func:`linear_mixture_riverswim`.

    Returns
    -------
    list of numpy.ndarray
        The three test reward tables.
    """
    S, H = mdp.S, mdp.horizon
    out = []
    for s in (S - 1, S // 2, 0):
        R = np.zeros((S, mdp.A))
        R[s] = 1.0 / H
        out.append(R)
    return out
