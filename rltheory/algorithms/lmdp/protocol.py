"""The ``lmdp_hindsight`` learner protocol: run any LMDP learner (context revealed in hindsight) against a true
latent MDP and compute its exact pseudo-regret.

Protocol (what :func:`run_lmdp_learner` asks of a learner)::

    learner = factory(M, S, A, H, K, seed, rewards, Gamma)   # positional arguments, in this order
    for k in range(K):
        pi = learner.policy()                                # the policy of episode k
        ... the harness plays one episode of the true LMDP with pi ...
        learner.update(states, actions, rewards, context)    # context revealed at the episode's end

* ``M, S, A, H`` — contexts, states, actions, horizon (the learner knows the sizes, not the model); ``K`` the
  number of episodes; ``seed`` an int for the learner's own randomness.
* ``rewards`` — the ``(M, S, A)`` table of deterministic rewards ``R_m(s, a)``, known to the learner (as for the
  built-in learner: rewards are observed in-episode and take part in the belief update; the transitions, the mixing
  weights ``w`` and the initial distributions ``nu_m`` are unknown). Every return lies in ``[0, 1]``.
* ``Gamma`` — an upper bound on the transition degree ``max |supp P_m(.|s, a)|`` told to the learner.
* ``policy()`` returns one of

  - a :class:`rltheory.solvers.lmdp.BeliefPlan` with the LMDP's ``(M, S, A, H)``: a deterministic history-dependent
    policy on the reachable beliefs of the learner's own planning model (build it with
    :func:`rltheory.solvers.lmdp.plan_lmdp`); off its graph the plan acts with ``plan.fallback``;
  - an ``(H, S)`` int array ``a = pi[h, s]`` (Markov, deterministic) or an ``(H, S, A)`` array of action
    probabilities (Markov, randomised; each row sums to 1).

  Return the *same object* while the policy does not change: the harness evaluates a policy exactly each time
  a new object is returned (for arrays it also compares the contents with the last one).
* ``update(states, actions, rewards, context)`` receives the episode: ``states (H+1,)`` int (``states[H]`` is the
  state after the last action), ``actions (H,)`` int, ``rewards (H,)`` float, ``context`` int in ``[0, M)``. The
  arrays are fresh copies.
* Optional ``planning_value()`` -> float: the learner's optimistic estimate of ``V*`` behind its current policy
  (for a :class:`BeliefPlan` without this method, ``plan.value`` is used). Only the optimism claims read it.

The harness samples episodes from the true LMDP with Numba's global RNG seeded with ``seed`` (context, initial
state, then one successor per step; a randomised Markov policy draws its action before the successor), so the
learner should use its own generator. Regret is the exact pseudo-regret ``V* - V^{pi_k}`` of each deployed policy
(belief-DP ``V*``; :func:`rltheory.solvers.lmdp.evaluate_plan` or an exact forward pass per context for Markov
policies), recorded like the built-in learner's: ``max(V* - V^{pi_k}, 0)``, with the unclipped values kept in
``epoch_true_value`` so that a value above ``V*`` (a wrong ``V*`` or evaluation) is visible as an invariant
violation.

:class:`HindsightLearner` is the built-in learner of :func:`rltheory.algorithms.lmdp.lmdp_hindsight` written to
this protocol: run through :func:`run_lmdp_learner` it reproduces the Numba fast path bit for bit (same kernels,
same draws).
"""
from __future__ import annotations

import numpy as np

from ..._sampling import cumulative
from ..._validation import check_int, check_real, check_seed, check_type
from ...models.latent import LatentMDP
from ...solvers.lmdp import DEFAULT_MAX_NODES, BeliefPlan, evaluate_plan, solve_lmdp
from ..result import learner_name
from ._kernels import count_episode, episode_return, markov_value, play_markov, play_plan, seed_numba
from .hindsight import SOLVERS, LMDPLearnResult, empirical_model, plan_epoch

__all__ = ["HindsightLearner", "run_lmdp_learner", "markov_policy_value"]


def markov_policy_value(lmdp: LatentMDP, policy) -> tuple[float, np.ndarray]:
    """Exact value of a Markov policy in an LMDP.

    Parameters
    ----------
    lmdp : LatentMDP
    policy : array_like
        ``(H, S)`` ints (deterministic, ``a = policy[h, s]``) or ``(H, S, A)`` action probabilities.

    Returns
    -------
    (float, ndarray)
        ``V^pi = sum_m w_m E^pi_m[sum_h R_m(s_h, a_h)]`` and the per-context values ``(M,)``.
    """
    check_type("lmdp", lmdp, LatentMDP)
    _, probs, _ = _markov_arrays(policy, lmdp.horizon, lmdp.S, lmdp.A)
    return markov_value(lmdp.P, lmdp.R, lmdp.weights, lmdp.mu0, lmdp.horizon, probs)


def _markov_arrays(policy, H, S, A):
    """Validate a Markov policy; returns ``(act (H, S) int or None, probs (H, S, A), stochastic)``."""
    arr = np.asarray(policy)
    if arr.shape == (H, S):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"policy: an (H, S) policy must hold ints, got dtype {arr.dtype}")
        if arr.size and (arr.min() < 0 or arr.max() >= A):
            raise ValueError(f"policy: actions must lie in [0, {A}), got values in [{arr.min()}, {arr.max()}]")
        act = np.ascontiguousarray(arr, dtype=np.int64)
        probs = np.zeros((H, S, A))
        np.put_along_axis(probs, act[..., None], 1.0, axis=2)
        return act, probs, False
    if arr.shape == (H, S, A):
        probs = np.ascontiguousarray(arr, dtype=np.float64)
        if not np.all(np.isfinite(probs)) or probs.min() < 0 or not np.allclose(probs.sum(axis=2), 1.0, atol=1e-9):
            raise ValueError("policy: an (H, S, A) policy must hold probabilities whose rows sum to 1")
        return None, probs, True
    raise ValueError(f"policy: expected a BeliefPlan, an (H, S) = {(H, S)} int array or an (H, S, A) = {(H, S, A)} "
                     f"probability array, got shape {arr.shape}")


# ------------------------------------------------------------------------------------------------ harness


def run_lmdp_learner(lmdp: LatentMDP, factory, K: int, *, seed: int, Gamma: int | None = None,
                     v_star: float | None = None, max_nodes: int = DEFAULT_MAX_NODES) -> LMDPLearnResult:
    """Run a learner of the ``lmdp_hindsight`` protocol (module docstring) for ``K`` episodes of ``lmdp``.

    Parameters
    ----------
    lmdp : LatentMDP
        The true LMDP (the harness samples from it and evaluates every policy in it exactly).
    factory : callable
        ``factory(M, S, A, H, K, seed, rewards, Gamma) -> learner``.
    K : int
        Number of episodes.
    seed : int
        Seeds Numba's RNG (episodes) and is passed to the factory.
    Gamma : int, optional
        Transition degree told to the learner (default: the true ``lmdp.Gamma``).
    v_star : float, optional
        ``V*`` of ``lmdp`` (default: :func:`rltheory.solvers.lmdp.solve_lmdp`).
    max_nodes : int
        Belief-graph guard of the ``V*`` computation.

    Returns
    -------
    LMDPLearnResult
        Per episode ``regret[k] = max(V* - V^{pi_k}, 0)``, its cumulative sum, the realised returns and contexts;
        per policy change ("epoch") its first episode, the learner's planning value (``nan`` when it reports none),
        the exact value ``V^{pi}`` (unclipped), the off-plan probability and the plan size (0 for Markov
        policies). ``solver`` is ``"protocol"``; ``c1``, ``c2``, ``iota`` are ``nan``.
    """
    check_type("lmdp", lmdp, LatentMDP)
    if not callable(factory):
        raise TypeError(f"factory: expected a callable, got {type(factory).__name__}")
    K = check_int("K", K, low=1)
    seed = check_seed("seed", seed, high=2**32 - 1)
    M, S, A, H = lmdp.M, lmdp.S, lmdp.A, lmdp.horizon
    Gam = lmdp.Gamma if Gamma is None else check_int("Gamma", Gamma, low=1)
    if v_star is None:
        v_star = solve_lmdp(lmdp, max_nodes=max_nodes).value
    R = np.ascontiguousarray(lmdp.R)
    Pcdf = np.cumsum(lmdp.P, axis=3)
    Pcdf[..., -1] = 1.0 + 1e-12
    wcdf = cumulative(np.ascontiguousarray(lmdp.weights))
    mu0cdf = np.cumsum(lmdp.mu0, axis=1)
    mu0cdf[:, -1] = 1.0 + 1e-12
    np.random.seed(seed)
    seed_numba(seed)
    learner = factory(M, S, A, H, K, seed, R.copy(), Gam)
    for meth in ("policy", "update"):
        if not callable(getattr(learner, meth, None)):
            raise TypeError(f"factory: the learner has no {meth}() method (type {type(learner).__name__})")
    regret = np.empty(K)
    returns = np.empty(K)
    contexts = np.empty(K, dtype=np.int64)
    starts, vals, tvals, offs, nodes = [], [], [], [], []
    last, last_copy, reg = None, None, 0.0
    play = None
    for k in range(K):
        pol = learner.policy()
        new = pol is not last or (last_copy is not None and not np.array_equal(np.asarray(pol), last_copy))
        if new:
            if isinstance(pol, BeliefPlan):
                tv, _, off = evaluate_plan(lmdp, pol)
                off = float(lmdp.weights @ off)
                n_nodes = pol.n_nodes
                last_copy = None
                play = (True, pol.edge_ptr, pol.edge_child, pol.edge_sp, pol.edge_r, pol.policy, pol.root,
                        np.ascontiguousarray(pol.fallback, dtype=np.int64))
            elif isinstance(pol, np.ndarray) or isinstance(pol, (list, tuple)):
                act, probs, stochastic = _markov_arrays(pol, H, S, A)
                tv, _ = markov_value(lmdp.P, R, lmdp.weights, lmdp.mu0, H, probs)
                off, n_nodes = 0.0, 0
                last_copy = np.array(pol, copy=True)
                pcdf = np.cumsum(probs, axis=2)
                pcdf[..., -1] = 1.0 + 1e-12
                play = (False, np.zeros((H, S), dtype=np.int64) if act is None else act, pcdf, stochastic)
            else:
                raise TypeError(f"policy: expected a BeliefPlan or a Markov policy array, got {type(pol).__name__}")
            pv = getattr(learner, "planning_value", None)
            pv = float(pv()) if callable(pv) else (float(pol.value) if isinstance(pol, BeliefPlan) else np.nan)
            starts.append(k)
            vals.append(pv)
            tvals.append(float(tv))
            offs.append(off)
            nodes.append(n_nodes)
            reg = max(v_star - tv, 0.0)
            last = pol
        states = np.empty(H + 1, dtype=np.int64)
        actions = np.empty(H, dtype=np.int64)
        rewards = np.empty(H)
        if play[0]:
            m = play_plan(Pcdf, R, wcdf, mu0cdf, H, *play[1:], states, actions, rewards)
        else:
            m = play_markov(Pcdf, R, wcdf, mu0cdf, H, *play[1:], states, actions, rewards)
        regret[k] = reg
        returns[k] = episode_return(rewards)
        contexts[k] = m
        learner.update(states, actions, rewards, int(m))
    return LMDPLearnResult(regret, np.cumsum(regret), returns, contexts, float(v_star), np.asarray(starts),
                           np.asarray(vals), np.asarray(tvals), np.asarray(offs), np.asarray(nodes), "protocol",
                           float("nan"), float("nan"), float("nan"), method=learner_name(factory), episodes=K,
                           seed=seed)


# ------------------------------------------------------------------------------------- reference learner


class HindsightLearner:
    """The built-in learner of :func:`rltheory.algorithms.lmdp.lmdp_hindsight` (empirical initial belief) written
    to the ``lmdp_hindsight`` protocol (module docstring).

    Counts per revealed context; a new planning epoch after every episode in which some ``N_m(s, a)`` reached a
    power of two; planning by :func:`rltheory.solvers.lmdp.plan_lmdp` on the empirical model with the backup
    of ``solver`` (``"value"``: ``+ c1 sqrt(Gamma V(Phat, alpha') iota / N) + c2 Gamma iota / N``; ``"model"``,
    ``"hoeffding"``, ``"none"`` as in :mod:`rltheory.algorithms.lmdp.hindsight`), truncated at
    ``vmax_h = min(1, (H - h) max R)``, ``iota = 2 ln(2 M S A H K / delta)``.

    Parameters
    ----------
    M, S, A, H, K, seed, rewards, Gamma
        As in the protocol (``seed`` is unused: the learner is deterministic given its data).
    solver : str
        ``"value"``, ``"model"``, ``"hoeffding"`` or ``"none"``.
    c1, c2 : float
        Bonus scales.
    delta : float
        Confidence parameter in ``iota``.
    max_nodes : int
        Belief-graph guard of the planner.

    Subclasses change one step through the hooks :meth:`planning_model` (the model the planner sees) and
    :meth:`make_plan` (the planner call); the mutants of the ``lmdp_regret`` check do.
    """

    def __init__(self, M, S, A, H, K, seed, rewards, Gamma=None, *, solver="value", c1=1.0, c2=1.0, delta=0.1,
                 max_nodes=DEFAULT_MAX_NODES):
        M, S, A, H, K = (check_int(n, x, low=1) for x, n in ((M, "M"), (S, "S"), (A, "A"), (H, "H"), (K, "K")))
        R = np.ascontiguousarray(rewards, dtype=np.float64)
        if R.shape != (M, S, A):
            raise ValueError(f"rewards: expected shape {(M, S, A)}, got {R.shape}")
        if solver not in SOLVERS:
            raise ValueError(f"solver: expected one of {tuple(SOLVERS)}, got {solver!r}")
        c1, c2 = check_real("c1", c1, low=0.0), check_real("c2", c2, low=0.0)
        delta = check_real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
        self.M, self.S, self.A, self.H, self.K = M, S, A, H, K
        self.R = R
        self.Gamma = S if Gamma is None else check_int("Gamma", Gamma, low=1)
        self.solver = solver
        self.c1, self.c2 = float(c1), float(c2)
        self.iota = 2.0 * np.log(2.0 * M * S * A * H * K / delta)
        self.vmax = np.minimum(1.0, (H - np.arange(H + 1)) * R.max())
        self.max_nodes = max_nodes
        self.N = np.zeros((M, S, A))
        self.Nsas = np.zeros((M, S, A, S))
        self.nc = np.zeros(M)
        self.ninit = np.zeros((M, S))
        self._plan = None
        self._replan = True

    def planning_model(self):
        """The model handed to the planner: the empirical model of the counts (:func:`.hindsight.empirical_model`).

        Returns
        -------
        tuple
            ``(known, Phat, belief, counts)`` of shapes ``(M, S, A)``, ``(M, S, A, S)``, ``(M, S)``, ``(M, S, A)``.
        """
        known, Phat, belief = empirical_model(self.N, self.Nsas, self.nc, self.ninit)
        return known, Phat, belief, self.N

    def make_plan(self) -> BeliefPlan:
        """Plan on :meth:`planning_model` with the learner's backup (:func:`.hindsight.plan_epoch`).

        Unvisited pairs are worth ``vmax_h`` (0 for ``solver="none"``).

        Returns
        -------
        BeliefPlan
        """
        known, Phat, belief, counts = self.planning_model()
        return plan_epoch(Phat, self.R, belief, known, counts, solver=self.solver, c1=self.c1, c2=self.c2,
                          iota=self.iota, Gamma=self.Gamma, vmax=self.vmax, max_nodes=self.max_nodes)

    def policy(self) -> BeliefPlan:
        """The plan of the current epoch (re-planned after an episode with a doubling event).

        Returns
        -------
        BeliefPlan
        """
        if self._replan:
            self._plan = self.make_plan()
            self._replan = False
        return self._plan

    def planning_value(self) -> float:
        """Planning value of the current plan, ``sum_{m,s} belief[m, s] alpha[root[s], m]``.

        Returns
        -------
        float
        """
        return float(self._plan.value)

    def update(self, states, actions, rewards, context) -> None:
        """Add one episode (context revealed in hindsight) to the counts; a doubling of some ``N_m(s, a)`` ends the epoch.

        Parameters
        ----------
        states : array_like of int, shape (H + 1,)
        actions : array_like of int, shape (H,)
        rewards : array_like, shape (H,)
            Unused (rewards are known).
        context : int
            The episode's context ``m``.
        """
        states = np.ascontiguousarray(states, dtype=np.int64)
        actions = np.ascontiguousarray(actions, dtype=np.int64)
        if self._count(int(context), states, actions):
            self._replan = True

    def _count(self, m, states, actions) -> bool:
        return bool(count_episode(self.N, self.Nsas, self.nc, self.ninit, m, states, actions))
