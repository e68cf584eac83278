"""The reward-free learner protocol (``Check.protocol = "reward_free"``) and the harness that runs a learner on a
linear mixture MDP and measures its exact planning gaps.

Protocol
--------
A learner is made by a factory called with keywords::

    learner = factory(phi=phi, H=H, K=K, B=B, seed=seed)

``phi`` ``(S, A, S, d)`` (read-only) is the known basis of the linear mixture (``P(s'|s,a) = <phi(s'|s,a),
theta*>``; ``S, A, d`` are its shape), ``H`` the horizon, ``K`` the number of exploration episodes, ``B`` a known bound
on ``||theta*||_2``, ``seed`` the learner's own seed. ``theta*``, ``P`` and every reward stay hidden. Then, for each of
the ``K`` exploration episodes,

* ``learner.explore_policy()`` returns the policy for the next episode: an ``(H, S)`` integer array (deterministic
  Markov) or an ``(H, S, A)`` array of action probabilities;
* the harness plays one episode of the true MDP with it and calls ``learner.update(states, actions)`` with
  ``states (H+1,)`` and ``actions (H,)`` (int64; no rewards: reward-free).

After the ``K`` episodes the learner may offer ``learner.certificate()`` (optional): a number it certifies as an
upper bound on every planning gap below (HF-UCRL-RFE++: ``4 V^_1(s_1)``, Lemma 2.8.7). Then, for each test reward ``r`` ((S, A) or (H, S, A), total reward of every trajectory in
[0, 1], the paper's normalisation), ``learner.plan(r)`` returns a policy in one of the two forms above. The harness
measures the exact gap ``V*_0(s_1; r) - V^{plan(r)}_0(s_1; r)`` by backward induction in the true model.

Episodes are drawn from ``numpy.random.RandomState(seed)``: per episode one uniform for the initial state, then
per step one for the action (only for a probability policy) and one for the next state, by inverse CDF. This is the
stream and the order of the Numba loops of :func:`.hf_ucrl_rfe`, so a deterministic learner that makes the same
choices sees the very same episodes.

Invariants checked (a violation is reported, never silently dropped): a certificate is finite and >= 0; probabilities in [0, 1] summing to 1 over
actions, finite; ``V^{plan(r)} <= V*(r) + 1e-9`` (a larger value means that ``V*`` is not optimal: a broken
evaluation, never a good learner).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..._sampling import cumulative, cumulative_rows, sample
from ...models.linear_mixture import LinearMixtureMDP
from ...solvers.linear_mixture import linear_mixture_value

__all__ = ["PROTOCOL", "run_reward_free", "evaluate_policy", "check_policy", "VALUE_TOL", "PROB_TOL"]

PROTOCOL = "reward_free"
#: An evaluated value above ``V* + VALUE_TOL`` is an invariant violation.
VALUE_TOL = 1e-9
#: Probability rows must lie in ``[-PROB_TOL, 1 + PROB_TOL]`` and sum to 1 within ``PROB_TOL``.
PROB_TOL = 1e-9


@njit(cache=True)
def _rollout(cdf, cmu, pol, probs, use_probs, unif, states, actions):
    """One episode: ``states[0] ~ mu0`` from ``unif[0]``; per step the action (``pol[h, s]``, or drawn from
    ``probs[h, s]`` with the next uniform) and the next state from the next uniform."""
    H = actions.shape[0]
    A = probs.shape[2]
    j = 0
    s = sample(cmu, unif[j])
    j += 1
    states[0] = s
    for h in range(H):
        if use_probs:
            x = unif[j]
            j += 1
            c = 0.0
            a = A - 1
            for b in range(A):
                c += probs[h, s, b]
                if x < c:
                    a = b
                    break
        else:
            a = pol[h, s]
        t = sample(cdf[s, a], unif[j])
        j += 1
        actions[h] = a
        states[h + 1] = t
        s = t


def check_policy(pol, H: int, S: int, A: int, who: str):
    """Validate a policy returned by a learner: ``("int", (H, S) int64 array)`` or ``("probs", (H, S, A) float
    array)`` plus a list of invariant violations (probabilities outside [0, 1] or not summing to 1, NaN).

    Raises
    ------
    TypeError
        ``pol`` is not an array of numbers.
    ValueError
        Wrong shape, or an action index outside ``[0, A)`` (messages start with ``who``).

    Parameters
    ----------
    pol : object
        The learner's policy.
    H, S, A : int
        Horizon and sizes.
    who : str
        Name used in messages.

    Returns
    -------
    kind : {"int", "probs"}
    arr : ndarray
        ``(H, S)`` int64 actions or ``(H, S, A)`` float probabilities.
    bad : list of str
        Invariant violations.
    """
    arr = np.asarray(pol)
    if arr.dtype.kind in "iu":
        if arr.shape != (H, S):
            raise ValueError(f"{who}: expected an (H, S) = ({H}, {S}) int policy, got shape {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= A):
            raise ValueError(f"{who}: action out of range [0, {A})")
        return "int", np.ascontiguousarray(arr, dtype=np.int64), []
    if arr.dtype.kind != "f":
        raise TypeError(f"{who}: expected an int (H, S) or float (H, S, A) array, got dtype {arr.dtype}")
    if arr.shape != (H, S, A):
        raise ValueError(f"{who}: expected (H, S, A) = ({H}, {S}, {A}) probabilities, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    bad = []
    if not np.all(np.isfinite(arr)):
        bad.append(f"{who}: non-finite action probability")
    elif arr.min() < -PROB_TOL or arr.max() > 1 + PROB_TOL:
        bad.append(f"{who}: action probability outside [0, 1] ({arr.min():.3g} .. {arr.max():.3g})")
    elif np.abs(arr.sum(axis=2) - 1.0).max() > PROB_TOL:
        bad.append(f"{who}: action probabilities sum to {arr.sum(axis=2).min():.6g} .. {arr.sum(axis=2).max():.6g}")
    return "probs", arr, bad


def evaluate_policy(mdp: LinearMixtureMDP, kind: str, pol: np.ndarray, reward) -> float:
    """``mu0 @ V^pi_0`` of a checked policy (:func:`check_policy`) for ``reward`` in the true model (exact).

    ``V_h = sum_a pi_h(a|s) (r_h(s, a) + P V_{h+1})`` backwards from ``V_H = 0`` for probabilities; the model's
    oracle evaluation (:meth:`LinearMixtureMDP.evaluate`) for int actions.

    Parameters
    ----------
    mdp : LinearMixtureMDP
    kind : {"int", "probs"}
        From :func:`check_policy`.
    pol : ndarray
        ``(H, S)`` int or ``(H, S, A)`` float.
    reward : array_like
        Reward (validated).

    Returns
    -------
    float
    """
    if kind == "int":
        return mdp.evaluate(pol, reward)
    R = np.asarray(mdp.with_rewards(reward).R, dtype=np.float64)
    R3 = R if R.ndim == 3 else R[None]
    V = np.zeros(mdp.S)
    for h in range(mdp.horizon - 1, -1, -1):
        Q = R3[h if R3.shape[0] > 1 else 0] + mdp.P @ V
        V = (pol[h] * Q).sum(axis=1)
    return float(mdp.mu0 @ V)


def run_reward_free(factory, mdp: LinearMixtureMDP, K: int, seed: int, test_rewards, *,
                    learner_seed: int | None = None) -> dict:
    """Run one learner of the reward-free protocol for ``K`` exploration episodes of ``mdp``, then measure the
    exact planning gap of ``learner.plan(r)`` for every test reward.

    Parameters
    ----------
    factory : callable
        ``factory(phi=, H=, K=, B=, seed=) -> learner`` (module docstring).
    mdp : LinearMixtureMDP
        The true MDP (its ``phi``, horizon and ``max(1, ||theta*||)`` are given to the factory).
    K : int
        Exploration episodes.
    seed : int
        Seed of the episode stream (``RandomState(seed)``); also the learner's seed unless ``learner_seed``.
    test_rewards : list of arrays
        Rewards (S, A) or (H, S, A), each validated with the MDP's normalisation.

    Returns
    -------
    dict
        ``gaps`` (list, ``max(V* - V^pi, 0)`` per reward, as :meth:`LinearMixtureMDP.suboptimality`),
        ``eps = max(gaps)``, ``raw_gaps`` (unclipped), ``certificate`` (the learner's ``certificate()`` after
        exploration, or None if it has none) and ``violations`` (list of invariant messages).
    """
    if not isinstance(mdp, LinearMixtureMDP):
        raise TypeError(f"mdp: expected a LinearMixtureMDP, got {type(mdp).__name__}")
    K, seed = int(K), int(seed)
    S, A, H = mdp.S, mdp.A, mdp.horizon
    rewards = [np.asarray(mdp.with_rewards(r).R, dtype=np.float64) for r in test_rewards]
    phi = np.array(mdp.phi)
    phi.setflags(write=False)
    learner = factory(phi=phi, H=H, K=K, B=max(1.0, mdp.B), seed=seed if learner_seed is None else learner_seed)
    rs = np.random.RandomState(seed)
    cdf = cumulative_rows(np.ascontiguousarray(mdp.P).reshape((1, S, A, S)))[0]
    cmu = cumulative(np.ascontiguousarray(mdp.mu0))
    dummy_pol = np.zeros((H, S), dtype=np.int64)
    dummy_probs = np.zeros((H, S, A))
    violations = []
    for _ in range(K):
        kind, pol, bad = check_policy(learner.explore_policy(), H, S, A, "explore_policy")
        if bad:
            violations.extend(bad)
            pol = np.full((H, S, A), 1.0 / A)  # keep running on a valid policy; the run is already failed
        states = np.empty(H + 1, dtype=np.int64)
        actions = np.empty(H, dtype=np.int64)
        if kind == "int":
            _rollout(cdf, cmu, pol, dummy_probs, False, rs.random_sample(H + 1), states, actions)
        else:
            _rollout(cdf, cmu, dummy_pol, pol, True, rs.random_sample(2 * H + 1), states, actions)
        learner.update(states, actions)
    cert = None
    if callable(getattr(learner, "certificate", None)):
        cert = float(learner.certificate())
        if not (np.isfinite(cert) and cert >= 0):
            violations.append(f"certificate: {cert!r} is not a finite non-negative number")
    gaps, raw = [], []
    for R in rewards:
        kind, pol, bad = check_policy(learner.plan(R.copy()), H, S, A, "plan")
        violations.extend(bad)
        v_star = linear_mixture_value(mdp, R)
        v_pi = evaluate_policy(mdp, kind, pol, R) if not bad else float("nan")
        raw.append(v_star - v_pi)
        gaps.append(max(v_star - v_pi, 0.0) if not bad else float("nan"))
        if v_pi > v_star + VALUE_TOL:
            violations.append(f"plan: V^pi = {v_pi:.12g} > V* = {v_star:.12g} + {VALUE_TOL:g}")
    return {"gaps": gaps, "eps": float(np.max(gaps)), "raw_gaps": raw, "certificate": cert, "violations": violations}
