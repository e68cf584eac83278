"""SubPO and baselines for submodular-reward MDPs, with exact evaluation of the learned policies.

SubPO (Prajapat et al., ICLR 2024, Sec. 4): policy gradient in which the non-additive objective
``F(visited)`` is credited step by step through its marginal gains
``r_h = F(s_{h+1} | B_h) = F(B_h u {s_{h+1}}) - F(B_h)`` (``B_h = {s_0..s_h}``), so that the return-to-go from
step ``h`` is ``F(B_{H-1}) - F(B_h)``; REINFORCE estimator
``grad J = E[sum_h grad log pi(a_h | x_h) (F(B_{H-1}) - F(B_h) - b_h)]`` with a per-step batch-mean baseline
``b_h``. We implement the marginal-gain (difference) form, which is the one the paper's gradient states; the
authors' public code keeps the difference form commented out and uses ``F(B_{h+1})``.

Policies are tabular softmax ``pi(a | h, x) propto exp(theta[h, x, a])`` over a context ``x``:

* ``features="history"``: ``x = (s_h, B_h)`` (current state and visited-set bitmask) — non-Markovian,
  expressive enough to represent the optimal history-dependent policy (the visited set is a sufficient
  statistic of the history for ``F``);
* ``features="markov"``: ``x = s_h`` (a Markov policy on (h, s)).

``natural=True`` replaces the vanilla gradient step by the tabular natural policy gradient step
``theta[h, x, a] += lr * (Qhat_h(x, a) - Vhat_h(x))`` (Kakade 2001; for softmax tabular policies the NPG
direction is the advantage, Agarwal, Kakade, Lee & Mahajan 2021, Lemma 15), with the advantage estimated
from the batch at the visited ``(h, x, a)``.

The modular baseline (:func:`modular_pg`) runs the same learner on the additive surrogate
``r_h = F({s_{h+1}})`` with a Markov policy: ordinary RL that ignores diminishing returns. The greedy
baseline (:func:`greedy_policy_value`) picks at ``(h, s, B)`` the action with the largest expected one-step
marginal gain. All values reported are exact (forward pass over the law of ``(s, B)``), not Monte Carlo.

The training loop (sampling, credit assignment, update) is one Numba kernel; sampling uses Numba's
internal generator seeded with ``np.random.seed(seed)`` inside the kernel, so a run is reproducible
bit for bit for a given seed on one machine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..._sampling import cumulative, cumulative_rows, sample
from ..._validation import check_int, check_real, check_seed
from ...models.submodular import SubmodularMDP
from ...solvers.submodular import context_policy_value, dp_arrays
from ..result import LearnerResult

__all__ = ["SubPOResult", "subpo", "modular_pg", "greedy_policy_value", "evaluate_context_policy",
           "coverage_probabilities"]

_FEATURES = {"markov": 0, "history": 1}


@njit(cache=True)
def _softmax_row(theta_row, out):
    m = theta_row.max()
    z = 0.0
    for a in range(theta_row.shape[0]):
        out[a] = np.exp(theta_row[a] - m)
        z += out[a]
    for a in range(theta_row.shape[0]):
        out[a] /= z


@njit(cache=True)
def _train(P4, table, mu0, H, S, A, hist, modular, natural, n_iters, batch, lr, eval_every, seed, theta, curve):
    np.random.seed(seed)
    nm = table.shape[0]
    hp = P4.shape[0]
    cdf = cumulative_rows(P4)
    cmu = cumulative(mu0)
    fmax = table[nm - 1] if table[nm - 1] > 0 else 1.0
    singleton = np.empty(S)
    for s in range(S):
        singleton[s] = table[1 << s]
    X = theta.shape[1]
    xs = np.empty((batch, H), dtype=np.int64)
    acts = np.empty((batch, H), dtype=np.int64)
    rtg = np.empty((batch, H))
    pa = np.empty(A)
    probs = np.empty((H, X, A))
    grad = np.zeros_like(theta)
    qsum = np.zeros_like(theta)
    qcnt = np.zeros_like(theta)
    n_eval = 0
    for it in range(n_iters):
        for b in range(batch):
            s = sample(cmu, np.random.random())
            B = 1 << s
            gains = np.zeros(H)
            for h in range(H):
                x = s * nm + B if hist else s
                xs[b, h] = x
                if h == H - 1:
                    acts[b, h] = 0
                    break
                _softmax_row(theta[h, x], pa)
                c = 0.0
                u = np.random.random()
                a = A - 1
                for k in range(A):
                    c += pa[k]
                    if u < c:
                        a = k
                        break
                acts[b, h] = a
                t = sample(cdf[h if hp > 1 else 0, s, a], np.random.random())
                nb = B | (1 << t)
                if modular:
                    gains[h] = singleton[t] / fmax
                else:
                    gains[h] = (table[nb] - table[B]) / fmax
                s = t
                B = nb
            acc = 0.0
            for h in range(H - 2, -1, -1):
                acc += gains[h]
                rtg[b, h] = acc
        grad[:, :, :] = 0.0
        if natural:
            qsum[:, :, :] = 0.0
            qcnt[:, :, :] = 0.0
        for h in range(H - 1):
            base = 0.0
            for b in range(batch):
                base += rtg[b, h]
            base /= batch
            for b in range(batch):
                x = xs[b, h]
                a = acts[b, h]
                if natural:
                    qsum[h, x, a] += rtg[b, h]
                    qcnt[h, x, a] += 1.0
                else:
                    _softmax_row(theta[h, x], pa)
                    adv = rtg[b, h] - base
                    for k in range(A):
                        grad[h, x, k] -= adv * pa[k]
                    grad[h, x, a] += adv
        if natural:
            for h in range(H - 1):
                for x in range(X):
                    n = 0.0
                    v = 0.0
                    for a in range(A):
                        n += qcnt[h, x, a]
                        v += qsum[h, x, a]
                    if n == 0.0:
                        continue
                    v /= n
                    for a in range(A):
                        if qcnt[h, x, a] > 0:
                            theta[h, x, a] += lr * (qsum[h, x, a] / qcnt[h, x, a] - v)
        else:
            for h in range(H - 1):
                for x in range(X):
                    for a in range(A):
                        theta[h, x, a] += lr * grad[h, x, a] / batch
        if eval_every > 0 and ((it + 1) % eval_every == 0 or it == n_iters - 1):
            for h in range(H):
                for x in range(X):
                    _softmax_row(theta[h, x], probs[h, x])
            curve[n_eval, 0] = it + 1
            curve[n_eval, 1] = context_policy_value(P4, table, H, S, A, probs, hist, mu0)
            n_eval += 1
    return n_eval


@dataclass(frozen=True)
class SubPOResult(LearnerResult):
    """``value``: exact ``J`` of the final policy; ``curve``: (iterations, exact J) pairs; ``probs[h, x, a]``.
    ``method`` (``"subpo"`` or ``"modular_pg"``), ``episodes`` (``n_iters * batch``) and ``seed``: see
    :class:`~rltheory.algorithms.result.LearnerResult`."""

    value: float
    curve: np.ndarray
    probs: np.ndarray
    features: str
    natural: bool
    modular: bool


def _run(smdp, *, n_iters, batch, lr, features, natural, modular, seed, eval_every):
    P4, table = dp_arrays(smdp)
    if features not in _FEATURES:
        raise ValueError(f"features: expected one of {tuple(_FEATURES)}, got {features!r}")
    n_iters, batch = check_int("n_iters", n_iters, low=1), check_int("batch", batch, low=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    seed = check_seed("seed", seed)
    S, A, H = smdp.S, smdp.A, smdp.horizon
    hist = features == "history"
    X = S * table.size if hist else S
    theta = np.zeros((H, X, A))
    n_evals = (n_iters // eval_every + 1) if eval_every > 0 else 0
    curve = np.zeros((max(n_evals, 1), 2))
    k = _train(P4, table, np.ascontiguousarray(smdp.mdp.mu0), H, S, A, hist, modular, natural, int(n_iters),
               int(batch), float(lr), int(eval_every), int(seed), theta, curve)
    probs = np.exp(theta - theta.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    value = float(context_policy_value(P4, table, H, S, A, probs, hist, np.ascontiguousarray(smdp.mdp.mu0)))
    return SubPOResult(value, curve[:k].copy(), probs, features, bool(natural), bool(modular),
                       method="modular_pg" if modular else "subpo", episodes=int(n_iters) * int(batch), seed=int(seed))


def subpo(smdp: SubmodularMDP, *, n_iters: int = 300, batch: int = 64, lr: float = 2.0, features: str = "history",
          natural: bool = False, seed: int = 0, eval_every: int = 0) -> SubPOResult:
    """Submodular policy optimisation (marginal-gain REINFORCE, or its natural-gradient variant).

    Parameters
    ----------
    smdp : SubmodularMDP
        At most ``MAX_DP_STATES`` states (exact evaluation).
    n_iters : int
        Gradient steps.
    batch : int
        Episodes per step.
    lr : float
        Step size.
    features : {"history", "markov"}
        Policy context: ``(s, B)`` or ``s``.
    natural : bool
        Natural-gradient variant.
    seed : int
    eval_every : int
        Exact evaluation every that many steps (0: final only).

    Returns
    -------
    SubPOResult
    """
    return _run(smdp, n_iters=n_iters, batch=batch, lr=lr, features=features, natural=natural, modular=False,
                seed=seed, eval_every=eval_every)


def modular_pg(smdp: SubmodularMDP, *, n_iters: int = 300, batch: int = 64, lr: float = 2.0, seed: int = 0,
               eval_every: int = 0) -> SubPOResult:
    """Policy gradient on the additive surrogate ``r_h = F({s_{h+1}})`` with a Markov policy (modular baseline).

    Parameters
    ----------
    smdp : SubmodularMDP
        At most ``MAX_DP_STATES`` states (exact evaluation).
    n_iters, batch : int
    lr : float
    seed : int
    eval_every : int
        As in :func:`subpo`.

    Returns
    -------
    SubPOResult
    """
    return _run(smdp, n_iters=n_iters, batch=batch, lr=lr, features="markov", natural=False, modular=True,
                seed=seed, eval_every=eval_every)


def evaluate_context_policy(smdp: SubmodularMDP, probs, *, features: str = "history") -> float:
    """Exact ``J`` of a stochastic policy ``probs[h, x, a]`` with contexts as in :func:`subpo`.

    Parameters
    ----------
    smdp : SubmodularMDP
        At most ``MAX_DP_STATES`` states (exact evaluation).
    probs : array_like, shape (H, X, A)
        Action probabilities per context.
    features : {"history", "markov"}

    Returns
    -------
    float
    """
    P4, table = dp_arrays(smdp)
    hist = features == "history"
    X = smdp.S * table.size if hist else smdp.S
    probs = np.ascontiguousarray(probs, dtype=np.float64)
    if probs.shape != (smdp.horizon, X, smdp.A):
        raise ValueError(f"probs: expected shape {(smdp.horizon, X, smdp.A)}, got {probs.shape}")
    return float(context_policy_value(P4, table, smdp.horizon, smdp.S, smdp.A, probs, hist,
                                      np.ascontiguousarray(smdp.mdp.mu0)))


def greedy_policy_value(smdp: SubmodularMDP) -> tuple[float, np.ndarray]:
    """The greedy marginal-gain policy ``a = argmax_a E_{s'~P(s,a)}[F(s' | B)]`` at every ``(h, s, B)`` and its
    exact value. Returns ``(value, probs)`` with ``probs`` a one-hot history-context policy.

    Parameters
    ----------
    smdp : SubmodularMDP
        At most ``MAX_DP_STATES`` states (exact evaluation).

    Returns
    -------
    value : float
    probs : ndarray, shape (H, S 2^S, A)
    """
    P4, table = dp_arrays(smdp)
    S, A, H = smdp.S, smdp.A, smdp.horizon
    nm = table.size
    B = np.arange(nm)
    probs = np.zeros((H, S * nm, A))
    for h in range(H):
        Ph = P4[h if P4.shape[0] > 1 else 0]
        gain_t = table[B[:, None] | (1 << np.arange(S))[None, :]] - table[B][:, None]  # (nm, S)
        exp_gain = np.einsum("sat,mt->sma", Ph, gain_t)  # (S, nm, A)
        best = exp_gain.argmax(axis=-1)
        probs[h].reshape(S, nm, A)[np.arange(S)[:, None], B[None, :], best] = 1.0
    value = evaluate_context_policy(smdp, probs, features="history")
    return value, probs


def coverage_probabilities(smdp: SubmodularMDP, probs, *, features: str = "history") -> np.ndarray:
    """Exact probability that each state is visited during an episode under a context policy ``probs[h, x, a]``
    (forward pass over the law of ``(s, B)``; for pictures of what a policy covers).

    Parameters
    ----------
    smdp : SubmodularMDP
        At most ``MAX_DP_STATES`` states (exact evaluation).
    probs : array_like, shape (H, X, A)
    features : {"history", "markov"}

    Returns
    -------
    ndarray, shape (S,)
    """
    P4, table = dp_arrays(smdp)
    S, A, H = smdp.S, smdp.A, smdp.horizon
    nm = table.size
    hist = features == "history"
    dist = np.zeros((S, nm))
    mu0 = smdp.mdp.mu0
    for s in range(S):
        dist[s, 1 << s] = mu0[s]
    for h in range(H - 1):
        Ph = P4[h if P4.shape[0] > 1 else 0]
        new = np.zeros_like(dist)
        for s in range(S):
            for B in np.flatnonzero(dist[s]):
                x = s * nm + B if hist else s
                nxt = (probs[h, x] @ Ph[s]) * dist[s, B]
                for t in np.flatnonzero(nxt):
                    new[t, B | (1 << t)] += nxt[t]
        dist = new
    final = dist.sum(axis=0)  # law of the visited set
    bits = (np.arange(nm)[:, None] >> np.arange(S)[None, :]) & 1
    return final @ bits
