"""The episodic tabular learner protocol, its harness, and plain-Python learners that follow it.

Protocol (``"episodic_tabular"``)
---------------------------------
``factory(S, A, H, K, seed) -> learner``: ``S`` states, ``A`` actions, horizon ``H``, ``K`` episodes to come,
``seed`` for the learner's own randomness. Then, for each of the ``K`` episodes:

* ``learner.policy()`` returns the policy for the next episode: an ``(H, S)`` integer array of actions, or an
  ``(H, S, A)`` array of action probabilities (each row non-negative, summing to 1);
* the harness runs that policy for one episode of the true MDP and calls
  ``learner.update(states, actions, rewards)`` with the visited states ``(H + 1,)`` (``states[0]`` drawn from
  the initial distribution), the actions ``(H,)`` and the rewards ``(H,)``, which lie in [0, 1].

The harness (:func:`run_episodic`) records the exact pseudo-regret ``V*_0(mu0) - V^{pi_k}_0(mu0)`` of each
deployed policy ``pi_k`` (exact policy evaluation on the true model), so the only randomness in it is the
learner's. Episodes are sampled in Numba from Numba's generator seeded with ``seed``, drawing exactly as the
whole-loop UCBVI kernel does (initial state, then one draw per step; one more per step for a randomised
policy's action): a learner that plans like that kernel reproduces its trajectories.

A factory that is a :class:`UCBVIVariant` is recognised by the harness, which then runs the Numba whole-loop
kernel :func:`~rltheory.algorithms.tabular.ucbvi.ucbvi` with the variant's options instead of calling it
episode by episode (the fast path of the reference and of its mutants); called as a factory it returns the
equivalent plain-Python :class:`UCBVILearner`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..._sampling import cumulative, cumulative_rows
from ..._validation import check_int, check_probability, check_seed, check_type
from ...models.tabular import TabularMDP
from ...solvers.api import solve
from ..result import LearnerResult, learner_name
from ._kernels import play_episode, policy_value, randomised_policy_value, seed_numba
from .ucbvi import BONUSES, ucbvi

__all__ = ["EpisodicRun", "UCBVIVariant", "UCBVILearner", "UniformLearner", "run_episodic", "ucbvi_learner",
           "policy_regret", "ExploreThenCommit", "UCBVI_REFERENCE", "REGRET_TOL"]

#: an episode's pseudo-regret below ``-REGRET_TOL`` violates an invariant (V* is the optimum)
REGRET_TOL = 1e-9


# ------------------------------------------------------------------------------------------- harness


@dataclass(frozen=True)
class EpisodicRun(LearnerResult):
    """Per-episode pseudo-regret of a learner's deployed policies (``regret[k]`` for episode ``k``), its
    cumulative sum, ``v_star``, and ``raw_min_regret``: the smallest per-episode pseudo-regret before the
    rounding below 0 is cleared (an invariant: it must be ``>= -REGRET_TOL``). ``method`` (the factory's name,
    ``"ucbvi"`` on the fast path), ``episodes`` and ``seed``: see :class:`~rltheory.algorithms.result.LearnerResult`.
    """

    regret: np.ndarray
    cumulative_regret: np.ndarray
    v_star: float
    raw_min_regret: float
    fast_path: bool


@dataclass(frozen=True)
class UCBVIVariant:
    """UCBVI with the given options, as a learner factory: the harness runs the Numba whole-loop kernel with these
    options (fast path); called as ``factory(S, A, H, K, seed)`` it returns the plain-Python
    :class:`UCBVILearner` with the same options. The non-default options are realistic bugs, for mutation
    analysis (see :func:`~rltheory.algorithms.tabular.ucbvi.ucbvi`); ``explore_fraction`` ends exploration after
    that fraction of the ``K`` episodes."""

    bonus: str = "bernstein"
    bonus_scale: float = 1.0
    delta: float = 0.1
    var_decay: str = "sqrt"
    optimistic_unvisited: bool = True
    count_offset: float = 0.0
    explore_fraction: float | None = None
    skip_first_step: bool = False
    cap_next_step: bool = False

    def __post_init__(self):
        if self.bonus not in BONUSES:
            raise ValueError(f"bonus: expected one of {tuple(BONUSES)}, got {self.bonus!r}")
        if self.explore_fraction is not None:
            check_probability("explore_fraction", self.explore_fraction)

    def explore_episodes(self, K: int):
        """Episode from which exploration stops for ``K`` episodes.

        Parameters
        ----------
        K : int

        Returns
        -------
        int or None
            ``int(explore_fraction K)``, None without ``explore_fraction``.
        """
        return None if self.explore_fraction is None else int(self.explore_fraction * K)

    def kernel_options(self, K: int) -> dict:
        """Keyword options of :func:`~rltheory.algorithms.tabular.ucbvi.ucbvi` for this variant.

        Parameters
        ----------
        K : int

        Returns
        -------
        dict
        """
        d = asdict(self)
        d.pop("explore_fraction")
        d["explore_episodes"] = self.explore_episodes(K)
        return d

    def __call__(self, S, A, H, K, seed):
        return UCBVILearner(S, A, H, K, seed, **{k: v for k, v in asdict(self).items()})


def _check_policy(pol, H, S, A):
    """``(pi, pr, randomised)`` from a learner's policy, or ``ValueError`` / ``TypeError`` naming it."""
    if not isinstance(pol, np.ndarray):
        raise TypeError(f"policy: learner.policy() must return a NumPy array, got {type(pol).__name__}")
    if pol.shape == (H, S):
        if not np.issubdtype(pol.dtype, np.integer):
            raise TypeError(f"policy: an (H, S) policy must be an integer array, got dtype {pol.dtype}")
        if pol.size and (pol.min() < 0 or pol.max() >= A):
            raise ValueError(f"policy: actions must lie in [0, {A}), got [{pol.min()}, {pol.max()}]")
        return np.ascontiguousarray(pol, dtype=np.int64), np.zeros((1, 1, 1)), False
    if pol.shape == (H, S, A):
        pr = np.ascontiguousarray(pol, dtype=np.float64)
        if not np.all(np.isfinite(pr)) or pr.min() < 0 or np.abs(pr.sum(axis=2) - 1.0).max() > 1e-9:
            raise ValueError("policy: an (H, S, A) policy must hold probabilities: finite, >= 0, rows summing to 1")
        return np.zeros((1, 1), dtype=np.int64), pr, True
    raise ValueError(f"policy: expected shape (H, S) = {(H, S)} or (H, S, A) = {(H, S, A)}, got {pol.shape}")


def run_episodic(mdp: TabularMDP, factory, K: int, *, seed: int) -> EpisodicRun:
    """Run a learner of the episodic tabular protocol for ``K`` episodes of ``mdp`` and measure its regret.

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon ``H``, rewards in [0, 1].
    factory : callable
        ``factory(S, A, H, K, seed) -> learner`` (see the module docstring); a :class:`UCBVIVariant` runs the
        Numba whole-loop UCBVI instead.
    K : int
        Number of episodes.
    seed : int
        Seeds the episodes (Numba's generator) and is passed to the factory.

    Returns
    -------
    EpisodicRun
        ``regret[k] = V*_0(mu0) - V^{pi_k}_0(mu0)``, the exact pseudo-regret of the policy deployed in episode
        ``k``, and its cumulative sum ``sum_{j <= k} regret[j]``.
    """
    check_type("mdp", mdp, TabularMDP)
    if not mdp.finite_horizon:
        raise ValueError("mdp: the episodic protocol needs a finite horizon")
    K = check_int("K", K, low=1)
    seed = check_seed("seed", seed, high=2**32 - 1)
    if not callable(factory):
        raise TypeError(f"factory: expected a callable factory(S, A, H, K, seed), got {type(factory).__name__}")
    K, seed = int(K), int(seed)
    if isinstance(factory, UCBVIVariant):
        res = ucbvi(mdp, K, seed=seed, **factory.kernel_options(K))
        return EpisodicRun(res.regret, res.cumulative_regret, res.v_star, res.raw_min_regret, True, method="ucbvi",
                           episodes=res.episodes, seed=seed)
    R3 = np.ascontiguousarray(mdp.R3())
    if R3.min() < 0 or R3.max() > 1:
        raise ValueError("mdp: the episodic protocol promises rewards in [0, 1]")
    P4 = np.ascontiguousarray(mdp.P4())
    mu0 = np.ascontiguousarray(mdp.mu0)
    S, A, H = mdp.S, mdp.A, mdp.horizon
    v_star = float(mu0 @ solve(mdp).V[0])
    cdf = cumulative_rows(P4)
    cmu = cumulative(mu0)
    V = np.empty((H + 1, S))
    regret = np.empty(K)
    learner = factory(S, A, H, K, seed)
    seed_numba(seed)
    for k in range(K):
        pi, pr, randomised = _check_policy(learner.policy(), H, S, A)
        v = randomised_policy_value(P4, R3, pr, mu0, H, V) if randomised else policy_value(P4, R3, pi, mu0, H, S, V)
        regret[k] = v_star - v
        states = np.empty(H + 1, dtype=np.int64)
        actions = np.empty(H, dtype=np.int64)
        rewards = np.empty(H)
        play_episode(cdf, cmu, R3, pi, pr, randomised, H, states, actions, rewards)
        learner.update(states, actions, rewards)
    raw_min = float(regret.min())
    np.maximum(regret, 0.0, out=regret)
    return EpisodicRun(regret, np.cumsum(regret), v_star, raw_min, False, method=learner_name(factory), episodes=K,
                       seed=seed)


def policy_regret(mdp: TabularMDP, policy) -> float:
    """Exact per-episode pseudo-regret ``V*_0(mu0) - V^pi_0(mu0)`` of a fixed policy.

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    policy : ndarray
        ``(H, S)`` actions or ``(H, S, A)`` probabilities (e.g. the uniform policy of a non-learning baseline).

    Returns
    -------
    float
        The regret of one episode; ``K`` times it is the regret of ``K`` episodes of that policy.
    """
    if not isinstance(mdp, TabularMDP) or not mdp.finite_horizon:
        raise TypeError("mdp: expected a finite-horizon TabularMDP")
    H, S, A = mdp.horizon, mdp.S, mdp.A
    pi, pr, randomised = _check_policy(np.asarray(policy), H, S, A)
    P4, R3, mu0 = (np.ascontiguousarray(x) for x in (mdp.P4(), mdp.R3(), mdp.mu0))
    V = np.empty((H + 1, S))
    v = randomised_policy_value(P4, R3, pr, mu0, H, V) if randomised else policy_value(P4, R3, pi, mu0, H, S, V)
    return float(mu0 @ solve(mdp).V[0]) - v


# ---------------------------------------------------------------------------------- learners (Python)


class UCBVILearner:
    """UCBVI in the episodic tabular protocol, in plain NumPy: a reference-quality learner for ``--learner``.

    Time-homogeneous empirical model (counts pooled over steps, as in Azar et al. 2017), empirical mean rewards,
    optimistic backward induction ``Q_h = min(H - h, r + Phat V_{h+1} + b)`` with unvisited pairs at ``H - h``,
    greedy (first argmax) policy. Bonuses as in :mod:`~rltheory.algorithms.tabular.ucbvi` with value range ``H``
    (rewards in [0, 1]) and ``L = log(5 S A K H / delta)``: ``"bernstein"``
    ``b = c (sqrt(8 L Var_{Phat}(V_{h+1}) / N) + 14 H L / (3 N))``, ``"hoeffding"`` ``b = 7 c H L / sqrt(N)``.
    The remaining options are the mutation options of :class:`UCBVIVariant`.

    Deliberately not built on the Numba kernels: ``Phat @ V`` sums in NumPy's (BLAS) order, so this learner is an
    independent implementation of the same algorithm whose values agree with the kernel's up to rounding only.
    """

    def __init__(self, S, A, H, K, seed, bonus="bernstein", bonus_scale=1.0, delta=0.1, var_decay="sqrt",
                 optimistic_unvisited=True, count_offset=0.0, explore_fraction=None, skip_first_step=False,
                 cap_next_step=False):
        self.S, self.A, self.H, self.K = int(S), int(A), int(H), int(K)
        self.kind = BONUSES[bonus]
        self.scale = float(bonus_scale)
        self.L = float(np.log(5.0 * S * A * K * H / delta))
        self.var_linear = var_decay == "linear"
        self.optimistic = bool(optimistic_unvisited)
        self.n_off = float(count_offset)
        self.explore_until = None if explore_fraction is None else int(explore_fraction * K)
        self.N = np.zeros((S, A))
        self.Nsas = np.zeros((S, A, S))
        self.Rsum = np.zeros((S, A))
        self.episode = 0
        self.vmax = (self.H - np.arange(self.H + 1)).astype(np.float64)
        self.h_stop = 1 if skip_first_step else 0
        self.cap_shift = 1 if cap_next_step else 0

    def policy(self) -> np.ndarray:
        """Optimistic backward induction on the empirical model (class docstring); greedy first argmax.

        Returns
        -------
        ndarray of int, shape (H, S)
        """
        H, S, A = self.H, self.S, self.A
        kind = self.kind if (self.explore_until is None or self.episode < self.explore_until) else 0
        visited = self.N > 0
        n = np.where(visited, self.N + self.n_off, 1.0)
        P = self.Nsas / n[:, :, None]
        r = np.where(visited, self.Rsum / np.where(visited, self.N, 1.0), 0.0)
        unvisited_q = None if (kind > 0 and self.optimistic) else r
        pi = np.zeros((H, S), dtype=np.int64)
        V = np.zeros(S)
        for h in range(H - 1, self.h_stop - 1, -1):
            m = P @ V
            q = r + m
            if kind == 1:
                q = q + self.scale * 7.0 * H * self.L / np.sqrt(n)
            elif kind == 2:
                var = np.maximum(P @ (V * V) - m * m, 0.0)
                vt = np.sqrt(8.0 * self.L * var) / n if self.var_linear else np.sqrt(8.0 * self.L * var / n)
                q = q + self.scale * (vt + 14.0 * H * self.L / (3.0 * n))
            cap = self.vmax[h]
            if kind > 0:
                q = np.minimum(q, self.vmax[h + self.cap_shift])
            q = np.where(visited, q, cap if unvisited_q is None else unvisited_q)
            pi[h] = np.argmax(q, axis=1)
            V = q[np.arange(S), pi[h]]
        return pi

    def update(self, states, actions, rewards) -> None:
        """Add one episode to the counts.

        Parameters
        ----------
        states : ndarray of int, shape (H + 1,)
        actions : ndarray of int, shape (H,)
        rewards : ndarray, shape (H,)
        """
        s, a = states[:-1], actions
        np.add.at(self.N, (s, a), 1.0)
        np.add.at(self.Nsas, (s, a, states[1:]), 1.0)
        np.add.at(self.Rsum, (s, a), rewards)
        self.episode += 1


class UniformLearner:
    """Never learns: every action uniformly at random, as an (H, S, A) probability policy."""

    def __init__(self, S, A, H, K, seed):
        self.pr = np.full((H, S, A), 1.0 / A)

    def policy(self):
        """The uniform policy.

        Returns
        -------
        ndarray, shape (H, S, A)
        """
        return self.pr

    def update(self, states, actions, rewards):
        """Ignore the episode.

        Parameters
        ----------
        states, actions, rewards : ndarray
            Ignored.
        """
        pass


def ucbvi_learner(S, A, H, K, seed):
    """Factory of the plain-Python :class:`UCBVILearner` with the Bernstein bonus at scale 1 (the reference's
    settings), for ``rltheory check tabular_regret --learner rltheory.algorithms.tabular.episodic:ucbvi_learner``.

    Parameters
    ----------
    S, A, H, K, seed : int
        As in the protocol.

    Returns
    -------
    UCBVILearner
    """
    return UCBVILearner(S, A, H, K, seed)


class ExploreThenCommit:
    """Stops exploring: uniformly random actions for the first ``ceil(fraction K)`` episodes, then the optimal
    policy of the empirical model (mean rewards, pooled transition counts), computed once and never revised. A
    realistic learner that fails the ``tabular_regret`` checks (its regret is linear once it commits wrongly)."""

    def __init__(self, S, A, H, K, seed, fraction=1 / 32):
        self.S, self.A, self.H = S, A, H
        self.explore = max(1, int(np.ceil(fraction * K)))
        self.N = np.zeros((S, A))
        self.Nsas = np.zeros((S, A, S))
        self.Rsum = np.zeros((S, A))
        self.episode = 0
        self.committed = None
        self.uniform = np.full((H, S, A), 1.0 / A)

    def policy(self):
        """Uniform while exploring, then the empirical model's optimal policy (computed once).

        Returns
        -------
        ndarray
            ``(H, S, A)`` uniform probabilities, then the committed ``(H, S)`` actions.
        """
        if self.episode < self.explore:
            return self.uniform
        if self.committed is None:
            n = np.maximum(self.N, 1.0)
            P = self.Nsas / n[:, :, None]
            r = self.Rsum / n
            pi = np.empty((self.H, self.S), dtype=np.int64)
            V = np.zeros(self.S)
            for h in range(self.H - 1, -1, -1):
                q = r + P @ V
                pi[h] = np.argmax(q, axis=1)
                V = q.max(axis=1)
            self.committed = pi
        return self.committed

    def update(self, states, actions, rewards):
        """Add one exploration episode to the counts (nothing after committing).

        Parameters
        ----------
        states : ndarray of int, shape (H + 1,)
        actions : ndarray of int, shape (H,)
        rewards : ndarray, shape (H,)
        """
        if self.committed is None:
            np.add.at(self.N, (states[:-1], actions), 1.0)
            np.add.at(self.Nsas, (states[:-1], actions, states[1:]), 1.0)
            np.add.at(self.Rsum, (states[:-1], actions), rewards)
        self.episode += 1


#: the reference of the ``tabular_regret`` check: UCBVI, Bernstein bonus at scale 1, on the Numba fast path
UCBVI_REFERENCE = UCBVIVariant()
