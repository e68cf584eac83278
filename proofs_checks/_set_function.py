"""The ``"set_function"`` learner protocol (SubPO-style learners of submodular-reward MDPs) and its harness.

Protocol
--------
``factory(S, A, H, seed) -> learner``, a module-level callable named by a learner spec. The harness runs
``n_iters`` iterations; each samples ``batch`` episodes from the true SubMDP and then calls ``update`` once:

* ``learner.act(h, states, visited) -> probs``: the action distribution at step ``h`` (``0 <= h < H - 1``) for
  each context ``i``: ``states[i]`` the current state, ``visited[i]`` the bitmask of the states visited so far
  (``s_0 .. s_h``, the current state included; bit ``s`` is ``1 << s``). ``probs`` has shape ``(len(states), A)``,
  non-negative rows summing to 1. A learner that ignores ``visited`` is a Markov policy.
* ``learner.update(states, actions, values)``: one batch, ``states`` ``(batch, H)`` int, ``actions``
  ``(batch, H - 1)`` int, ``values`` ``(batch, H)`` with ``values[b, h] = F(B_h) / F(V)``, the normalised
  value of the visited set after step ``h`` (so ``values[b, H - 1]`` is the episode's normalised return and
  ``values[b, h + 1] - values[b, h]`` the marginal gain of ``s_{h+1}``). The learner never sees ``F`` itself.

After training the harness asks ``act`` for every context ``(h, s, B)`` and evaluates the resulting
history-context policy exactly (forward pass over the law of ``(s, B)``): the measured value is that policy's
``J = E[F(B_{H-1})]``, not a Monte-Carlo estimate.

:class:`SubPOLearner` is the reference implementation of the protocol (marginal-gain REINFORCE with history
features and a per-step batch-mean baseline, the same update as :func:`rltheory.algorithms.submodular.subpo`);
the check itself runs the built-in Numba whole-loop SubPO when no learner is given.
"""
from __future__ import annotations

import numpy as np

from rltheory.solvers.submodular import context_policy_value as _eval_context_policy, dp_arrays as _prepare

__all__ = ["SubPOLearner", "subpo_learner", "run_set_function_learner"]


class SubPOLearner:
    """Reference ``"set_function"`` learner: SubPO (Prajapat et al. 2024, Sec. 4) in NumPy.

    Tabular softmax ``pi(a | h, x) propto exp(theta[h, x, a])`` over ``x = (s_h, B_h)`` (``history=True``) or
    ``x = s_h``. Update per batch of ``n`` episodes, with the return-to-go of step ``h`` the sum of the marginal
    gains after it, ``G_h = F(B_{H-1}) - F(B_h)`` (normalised), and the batch-mean baseline ``b_h``:

    ``theta[h, x_h, .] += lr / n * (G_h - b_h) (e_{a_h} - pi(. | h, x_h))`` (the softmax REINFORCE step).

    Parameters
    ----------
    S, A, H : int
        States, actions, horizon.
    seed : int
        Unused (the updates are deterministic given the data); kept for the protocol.
    lr : float
        Step size (2.0, as the built-in SubPO).
    history : bool
        History features ``(s, B)`` (True) or Markov ``s``.
    credit : {"marginal", "cumulative", "immediate"}
        ``"marginal"``: ``G_h = F(B_{H-1}) - F(B_h)``; ``"cumulative"``: ``G_h = sum_{t >= h} F(B_{t+1})`` (the
        SubRL authors' code); ``"immediate"``: ``G_h = F(B_{h+1}) - F(B_h)`` only.
    baseline : bool
        Subtract the per-step batch-mean baseline.
    sign : float
        +1 for ascent (a mutant flips it).
    """

    def __init__(self, S, A, H, seed=0, *, lr=2.0, history=True, credit="marginal", baseline=True, sign=1.0):
        self.S, self.A, self.H = int(S), int(A), int(H)
        self.nm = 1 << self.S
        self.history = bool(history)
        self.lr, self.credit, self.baseline, self.sign = float(lr), credit, bool(baseline), float(sign)
        X = self.S * self.nm if self.history else self.S
        self.theta = np.zeros((self.H, X, self.A))

    def _ctx(self, states, visited):
        states = np.asarray(states, dtype=np.int64)
        return states * self.nm + np.asarray(visited, dtype=np.int64) if self.history else states

    def act(self, h, states, visited):
        t = self.theta[int(h), self._ctx(states, visited)]
        e = np.exp(t - t.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def _returns(self, values):
        gains = np.diff(values, axis=1)  # (n, H - 1): marginal gain of s_{h+1}
        if self.credit == "marginal":
            return np.cumsum(gains[:, ::-1], axis=1)[:, ::-1]
        if self.credit == "cumulative":
            return np.cumsum(values[:, :0:-1], axis=1)[:, ::-1]
        if self.credit == "immediate":
            return gains
        raise ValueError(f"credit: expected 'marginal', 'cumulative' or 'immediate', got {self.credit!r}")

    def update(self, states, actions, values):
        states = np.asarray(states, dtype=np.int64)
        actions = np.asarray(actions, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64)
        n = states.shape[0]
        adv = self._advantages(self._returns(values))
        masks = np.bitwise_or.accumulate(np.left_shift(1, states), axis=1)
        for h in range(self.H - 1):
            x = self._ctx(states[:, h], masks[:, h])
            p = self.act(h, states[:, h], masks[:, h])
            np.add.at(self.theta[h], x, self.sign * self.lr / n * self._score_terms(adv[:, h], p, actions[:, h]))

    def _advantages(self, G):
        """``G_h - b_h`` with the per-step batch-mean baseline ``b_h`` (or ``G`` itself without a baseline)."""
        return G - G.mean(axis=0, keepdims=True) if self.baseline else G

    def _score_terms(self, adv, p, actions):
        """Per-episode terms ``adv (e_a - pi(.|x))`` of the softmax REINFORCE step, shape ``(n, A)``."""
        g = -adv[:, None] * p
        g[np.arange(len(actions)), actions] += adv
        return g


def subpo_learner(S, A, H, seed):
    """Factory of the reference learner (:class:`SubPOLearner` with its defaults)."""
    return SubPOLearner(S, A, H, seed)


def _check_probs(p, n, A):
    p = np.asarray(p, dtype=np.float64)
    if p.shape != (n, A):
        raise ValueError(f"learner: act returned shape {p.shape}, expected {(n, A)}")
    if not np.all(np.isfinite(p)) or p.min() < -1e-12 or np.abs(p.sum(axis=1) - 1).max() > 1e-6:
        raise ValueError("learner: act must return probability rows (non-negative, summing to 1)")
    p = np.clip(p, 0.0, None)
    return p / p.sum(axis=1, keepdims=True)


def run_set_function_learner(smdp, spec, *, n_iters=300, batch=64, seed=0) -> float:
    """Train the ``"set_function"`` learner named by ``spec`` on ``smdp`` and return the exact value of its final
    policy.

    Parameters
    ----------
    smdp : SubmodularMDP
    spec : str
        Learner spec (``"package.module:factory"``), resolved by :func:`proofs_checks.learners.resolve_learner`.
    n_iters, batch : int
        Iterations and episodes per iteration (``n_iters * batch`` episodes in all).
    seed : int
        Seeds the episode sampling and the factory.

    Returns
    -------
    float
        ``J(pi) = E[F(B_{H-1})]`` of the final policy, exact.
    """
    from .learners import resolve_learner

    P4, table = _prepare(smdp)
    S, A, H = smdp.S, smdp.A, smdp.horizon
    nm = table.size
    fmax = table[nm - 1] if table[nm - 1] > 0 else 1.0
    mu0 = np.ascontiguousarray(smdp.mdp.mu0)
    learner = resolve_learner(spec)(S, A, H, int(seed))
    rng = np.random.default_rng(int(seed))
    cP = np.cumsum(P4, axis=-1)
    cmu = np.cumsum(mu0)
    for _ in range(int(n_iters)):
        s = np.minimum(np.searchsorted(cmu, rng.random(batch), side="right"), S - 1)
        B = np.left_shift(1, s)
        states = np.empty((batch, H), dtype=np.int64)
        acts = np.empty((batch, H - 1), dtype=np.int64)
        vals = np.empty((batch, H))
        states[:, 0], vals[:, 0] = s, table[B] / fmax
        for h in range(H - 1):
            p = _check_probs(learner.act(h, s, B), batch, A)
            a = np.minimum((np.cumsum(p, axis=1) <= rng.random(batch)[:, None]).sum(axis=1), A - 1)
            c = cP[h if cP.shape[0] > 1 else 0, s, a]  # (batch, S)
            t = np.minimum((c <= rng.random(batch)[:, None]).sum(axis=1), S - 1)
            s, B = t, B | np.left_shift(1, t)
            states[:, h + 1], acts[:, h], vals[:, h + 1] = s, a, table[B] / fmax
        learner.update(states, acts, vals)
    ss = np.repeat(np.arange(S), nm)
    bb = np.tile(np.arange(nm), S)
    probs = np.full((H, S * nm, A), 1.0 / A)
    for h in range(H - 1):
        probs[h] = _check_probs(learner.act(h, ss, bb), S * nm, A)
    return float(_eval_context_policy(P4, table, H, S, A, probs, True, mu0))
