"""How wide must the Q-class be for *stationary* fitted Q-iteration to return a near-optimal policy?

Zhou et al. (ICLR 2024, Sec. 3) separate RCSL from dynamic programming by *representation*: on their environment a
two-layer MLP must have width linear in ``|S|`` to be Bellman complete, while constant width realizes the
return-conditioned policy. Completeness is a sufficient condition for FQI; this module measures what FQI's *return*
actually needs, in the setting where completeness can bite (issue #7):

* **Stationary (discounted) FQI in one class** (Munos & Szepesvari 2008): ``f_0 = 0``,
  ``f_{k+1} = argmin_{f in F} ||f - T f_k||_mu``, ``(T f)(s, a) = R(s, a) + gamma sum_{s'} P(s'|s, a) max_{a'} f(s', a')``.
  Unlike finite-horizon FQI with per-step classes (targets ``T Q*_{h+1} = Q*_h``, realizable whenever ``Q*`` is), the
  intermediate targets ``T f_k`` with ``f_k != Q*`` must be fitted inside the same class.
* **Two classes of two-layer ReLU networks on** ``(x_s, a)``:

  - :func:`relu_knot_features`: first layer frozen at ``width`` uniform knots per action head (plus the units of an
    explicit network for ``Q*``), output layer fitted by exact weighted least squares — FQI is then exact population
    linear FQI (:func:`stationary_fqi_linear`). The class contains ``Q*`` at every width (realizable) and is complete
    on the state grid iff the knots hit every interior grid point (``width = |S| - 2``): the width axis goes from
    "realizable only" to "complete".
  - a fully trained MLP (:func:`stationary_fqi_mlp`, full-batch Adam, warm-started across iterations).
* Score of the greedy policy ``pi_f``: the normalised return
  ``(J(pi_f) - J_min) / (J* - J_min)`` with ``J(pi) = mu0 . V^pi`` and ``J_min`` the value of the *worst* policy
  (the MDP solved with ``-R``), so that 1 = optimal and 0 = worst; near-optimal means ``>= 0.95``.

Everything here is our construction (the paper's exact environment could not be retrieved; see
:func:`mdps.realizable_scramble`).
"""
from __future__ import annotations

import numpy as np

from ..._validation import check_int, check_real
from ...models.tabular import TabularMDP
from ...solvers.api import evaluate, solve
from .function_classes import MLP
from .learners import linear_fqi_population

__all__ = ["relu_knot_features", "knots_complete", "knot_hidden_width", "width_scan", "stationary_fqi_linear", "stationary_fqi_mlp",
           "normalized_return", "smallest_passing_width", "safe_width", "behaviour_occupancy", "skewed_weights"]


def _check_x(x):
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size < 2:
        raise ValueError("x: need at least two states")
    if np.any(np.diff(x) <= 0):
        raise ValueError(f"x: must be strictly increasing (index {int(np.argmin(np.diff(x)))})")
    return x


def relu_knot_features(x, width: int, *, n_actions: int = 2, extra_knots=()) -> np.ndarray:
    """Features ``(S, A, A * (2 + width + len(extra_knots)))`` of a two-layer ReLU network on ``(x, a)`` with frozen
    first layer: for each action head ``a`` the units ``1``, ``x``, ``relu(x - t_j)`` (``t_j = j / (width + 1)``,
    ``j = 1..width``) and ``relu(x - t)`` for ``t`` in ``extra_knots``, gated by the action (for ``x`` in [0, 1]
    and integer ``a`` the gate is itself a ReLU, ``relu(x - t - 2 |a - a_head|)``; the per-head constants need the
    output bias plus ``A - 1`` units ``relu(1 - 2 |a - a_head|)``), so the hidden width of the network is
    ``A (1 + width + len(extra_knots)) + A - 1`` (:func:`knot_hidden_width`).

    Any ``Q`` that is linear in ``x`` per action lies in the span at every ``width``; on the grid ``x_i = i / (S-1)``
    the span is all of ``R^{S x A}`` (a complete class) iff every interior grid point is a knot
    (:func:`knots_complete`).

    Parameters
    ----------
    x : array_like, shape (S,)
        State features in [0, 1].
    width : int
        Number of uniform knots.
    n_actions : int
    extra_knots : sequence of float

    Returns
    -------
    ndarray, shape (S, A, A (2 + width + len(extra_knots)))
    """
    x = _check_x(x)
    width = check_int("width", width, low=0)
    n_actions = check_int("n_actions", n_actions, low=1)
    knots = np.concatenate([np.arange(1, width + 1) / (width + 1), np.asarray(extra_knots, dtype=np.float64)])
    B = np.column_stack([np.ones_like(x), x] + [np.maximum(x - t, 0.0) for t in knots])
    S, d = B.shape
    Phi = np.zeros((S, n_actions, n_actions * d))
    for a in range(n_actions):
        Phi[:, a, a * d:(a + 1) * d] = B
    return Phi


def knots_complete(n: int, width: int) -> bool:
    """True iff one action head of :func:`relu_knot_features` spans all functions on the grid ``i / (n - 1)``
    (matrix rank ``n``): then the class is complete for every MDP on that grid (e.g. when every interior grid point
    is a knot, ``width = n - 2``).

    Parameters
    ----------
    n : int
        Grid size.
    width : int
        Number of uniform knots.

    Returns
    -------
    bool
    """
    n = check_int("n", n, low=2)
    B = relu_knot_features(np.arange(n) / (n - 1), int(width), n_actions=1)[:, 0, :]
    return bool(np.linalg.matrix_rank(B) == n)


def stationary_fqi_linear(mdp: TabularMDP, Phi, mu, *, iters: int = 200) -> np.ndarray:
    """Population stationary FQI in ``span(Phi)`` from ``f_0 = 0`` (exact weighted least squares per iteration,
    :func:`rltheory.algorithms.rcsl.linear_fqi_population`); returns the final ``f`` of shape ``(S, A)``.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted.
    Phi : array_like, shape (S, A, k)
    mu : array_like, shape (S, A)
        Data weights.
    iters : int

    Returns
    -------
    ndarray, shape (S, A)
        The last iterate ``f``.
    """
    Phi = np.asarray(Phi, dtype=np.float64)
    if Phi.ndim != 3 or Phi.shape[:2] != (mdp.S, mdp.A):
        raise ValueError(f"Phi: expected shape ({mdp.S}, {mdp.A}, d), got {Phi.shape}")
    out = linear_fqi_population(mdp, Phi, mu, iters=int(iters), w0=np.zeros(Phi.shape[-1]))
    w = out["w"][-1]
    if not np.all(np.isfinite(w)):
        return np.full((mdp.S, mdp.A), np.nan)
    return (Phi.reshape(mdp.S * mdp.A, -1) @ w).reshape(mdp.S, mdp.A)


def stationary_fqi_mlp(mdp: TabularMDP, X, width: int, mu, *, iters: int = 60, steps: int = 150, lr: float = 0.01,
                       seed=0) -> np.ndarray:
    """Stationary FQI with a trained two-layer ReLU MLP (inputs ``X`` of shape ``(S, A, d)``, one output):
    ``f_{k+1}`` = ``steps`` full-batch Adam steps on ``sum mu (f - T f_k)^2`` from the weights of ``f_k`` (warm start,
    as in neural FQI). Returns the final ``f`` ``(S, A)``. Training is an upper estimate of the projection.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted.
    X : array_like, shape (S, A, d)
    width : int
        Hidden width.
    mu : array_like, shape (S, A)
    iters : int
        FQI iterations.
    steps : int
        Adam steps per iteration.
    lr : float
    seed : int

    Returns
    -------
    ndarray, shape (S, A)
    """
    if not mdp.discounted:
        raise ValueError("mdp: stationary FQI needs a discounted MDP")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 3 or X.shape[:2] != (mdp.S, mdp.A):
        raise ValueError(f"X: expected shape ({mdp.S}, {mdp.A}, d), got {X.shape}")
    S, A = mdp.S, mdp.A
    Xf = X.reshape(S * A, -1)
    w = np.asarray(mu, dtype=np.float64).reshape(-1)
    if w.shape[0] != S * A or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("mu: expected non-negative weights of shape (S, A) with positive sum")
    w = w / w.sum()
    P = mdp.P.reshape(S * A, S)
    R = mdp.R.reshape(-1)
    net = MLP(Xf.shape[1], int(width), 1, seed=seed)
    f = np.zeros((S, A))
    for _ in range(int(iters)):
        y = (R + mdp.gamma * (P @ f.max(axis=1)))[:, None]

        def lg(out, y=y):
            r = out - y
            return float(np.sum(w[:, None] * r * r)), 2.0 * w[:, None] * r

        net.train(Xf, lg, steps=int(steps), lr=float(lr))
        f = net(Xf).reshape(S, A)
        if not np.all(np.isfinite(f)):
            return np.full((S, A), np.nan)
    return f


def normalized_return(mdp: TabularMDP, f) -> float:
    """``(J(greedy f) - J_min) / (J* - J_min)`` (``J = mu0 . V``; ``J_min`` = value of the worst deterministic
    policy). ``nan`` entries in ``f`` (a diverged FQI) score ``0``.

    Parameters
    ----------
    mdp : TabularMDP
    f : array_like, shape (S, A)

    Returns
    -------
    float
        In [0, 1] (1 when ``J* = J_min``).
    """
    f = np.asarray(f, dtype=np.float64)
    if f.shape != (mdp.S, mdp.A):
        raise ValueError(f"f: expected shape ({mdp.S}, {mdp.A}), got {f.shape}")
    if not np.all(np.isfinite(f)):
        return 0.0
    if not mdp.discounted:
        raise ValueError("mdp: normalized_return is for discounted MDPs (greedy stationary policies)")
    Jstar = float(mdp.mu0 @ solve(mdp).V)
    Jmin = -float(mdp.mu0 @ solve(mdp.with_rewards(-mdp.R)).V)
    J = float(mdp.mu0 @ evaluate(mdp, f.argmax(axis=1).astype(np.int64)))
    span = Jstar - Jmin
    return 1.0 if span <= 1e-12 else (J - Jmin) / span


def _passing(scores, widths, thr):
    """``(scores >= thr, widths)`` as arrays, after checking ``scores`` has shape ``(len(widths), seeds)``."""
    sc = np.asarray(scores, dtype=np.float64)
    widths = np.asarray(widths, dtype=np.float64)
    if sc.ndim != 2 or sc.shape[0] != widths.size:
        raise ValueError(f"scores: expected shape ({widths.size}, seeds), got {sc.shape}")
    return sc >= thr, widths


def smallest_passing_width(scores, widths, *, thr: float = 0.95) -> np.ndarray:
    """Per seed (columns of ``scores`` ``(len(widths), seeds)``): the smallest width whose score is ``>= thr``
    (``inf`` if none).

    Parameters
    ----------
    scores : array_like, shape (len(widths), seeds)
        Normalised returns.
    widths : sequence of int
    thr : float
        Passing score.

    Returns
    -------
    ndarray, shape (seeds,)
    """
    ok, widths = _passing(scores, widths, thr)
    out = np.full(ok.shape[1], np.inf)
    for j in range(ok.shape[1]):
        idx = np.flatnonzero(ok[:, j])
        if idx.size:
            out[j] = widths[idx[0]]
    return out


def safe_width(scores, widths, *, thr: float = 0.95) -> np.ndarray:
    """Per seed: the smallest width ``w0`` in ``widths`` such that *every* tested width ``>= w0`` scores ``>= thr``
    (``inf`` if even the largest fails) — "from which width on is FQI reliably near-optimal".

    Parameters
    ----------
    scores : array_like, shape (len(widths), seeds)
        Normalised returns.
    widths : sequence of int
    thr : float
        Passing score.

    Returns
    -------
    ndarray, shape (seeds,)
    """
    ok, widths = _passing(scores, widths, thr)
    out = np.full(ok.shape[1], np.inf)
    for j in range(ok.shape[1]):
        bad = np.flatnonzero(~ok[:, j])
        if bad.size == 0:
            out[j] = widths[0]
        elif bad[-1] + 1 < widths.size:
            out[j] = widths[bad[-1] + 1]
    return out


def behaviour_occupancy(mdp: TabularMDP, beta) -> np.ndarray:
    """Normalised discounted state-action occupancy ``(S, A)`` of the stationary behaviour ``beta`` ``(S, A)`` from
    ``mu0``: ``d = (1 - gamma) mu0^T (I - gamma P^beta)^{-1}``, ``mu(s, a) = d(s) beta(a|s)``.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted.
    beta : array_like, shape (S, A)
        Stationary behaviour.

    Returns
    -------
    ndarray, shape (S, A)
        Sums to 1.
    """
    if not mdp.discounted:
        raise ValueError("mdp: behaviour_occupancy needs a discounted MDP")
    beta = np.asarray(beta, dtype=np.float64)
    if beta.shape != (mdp.S, mdp.A) or np.any(beta < 0) or not np.allclose(beta.sum(axis=1), 1.0):
        raise ValueError(f"beta: expected a stochastic matrix of shape ({mdp.S}, {mdp.A})")
    Pb = np.einsum("sa,sat->st", beta, mdp.P)
    d = np.linalg.solve((np.eye(mdp.S) - mdp.gamma * Pb).T, mdp.mu0) * (1.0 - mdp.gamma)
    return d[:, None] * beta


def skewed_weights(S: int, A: int, *, concentration: float = 0.3, floor: float = 1e-4, seed=0) -> np.ndarray:
    """Full-coverage but strongly non-uniform data weights: ``Dirichlet(concentration)`` over the ``S A`` pairs plus
    ``floor / (S A)`` — a floor *relative* to the mean weight ``1 / (S A)``, so the skew does not change with the size —
    normalised to sum 1 (our choice of an adversarial-looking off-policy distribution).

    Parameters
    ----------
    S, A : int
    concentration : float
        Dirichlet concentration.
    floor : float
        Added to every pair before normalising.
    seed : int

    Returns
    -------
    ndarray, shape (S, A)
        Sums to 1.
    """
    concentration = check_real("concentration", concentration, low=0.0, low_open=True)
    floor = check_real("floor", floor, low=0.0)
    rng = np.random.default_rng(seed)
    mu = rng.dirichlet(np.full(S * A, float(concentration))).reshape(S, A) + float(floor) / (S * A)
    return mu / mu.sum()


def knot_hidden_width(width: int, *, n_actions: int = 2, n_extra: int = 0) -> int:
    """Hidden width of the network behind :func:`relu_knot_features`: ``A (1 + width + n_extra) + A - 1``.

    Parameters
    ----------
    width : int
    n_actions : int
    n_extra : int

    Returns
    -------
    int
    """
    return int(n_actions * (1 + int(width) + int(n_extra)) + n_actions - 1)


def width_scan(mdp: TabularMDP, x, widths, mu, *, method: str = "knots", seed=0, iters: int | None = None,
               **mlp_kw) -> np.ndarray:
    """Normalised return of stationary FQI's greedy policy for each width in ``widths`` on one instance.

    ``method="knots"``: exact projection onto :func:`relu_knot_features` (``iters`` default 200);
    ``method="mlp"``: trained MLP on ``(x, a)`` (:func:`stationary_fqi_mlp`, ``iters`` default 60, ``mlp_kw`` passed
    on). Returns an array of shape ``(len(widths),)``.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted.
    x : array_like, shape (S,)
    widths : sequence of int
    mu : array_like, shape (S, A)
    method : {"knots", "mlp"}
    seed : int
    iters : int, optional
    **mlp_kw
        Passed to :func:`stationary_fqi_mlp`.

    Returns
    -------
    ndarray, shape (len(widths),)
    """
    x = _check_x(x)
    if x.size != mdp.S:
        raise ValueError(f"x: expected {mdp.S} state features, got {x.size}")
    out = np.empty(len(widths))
    if method == "knots":
        for i, w in enumerate(widths):
            f = stationary_fqi_linear(mdp, relu_knot_features(x, int(w), n_actions=mdp.A), mu,
                                      iters=200 if iters is None else iters)
            out[i] = normalized_return(mdp, f)
    elif method == "mlp":
        X = np.zeros((mdp.S, mdp.A, 2))
        X[:, :, 0] = x[:, None]
        X[:, :, 1] = np.arange(mdp.A)[None, :]
        for i, w in enumerate(widths):
            f = stationary_fqi_mlp(mdp, X, int(w), mu, iters=60 if iters is None else iters, seed=seed, **mlp_kw)
            out[i] = normalized_return(mdp, f)
    else:
        raise ValueError(f"method: expected 'knots' or 'mlp', got {method!r}")
    return out
