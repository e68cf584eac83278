"""Function classes over state-action features and their realizability / Bellman-completeness measures.

Definitions (Zhou et al., ICLR 2024, Sec. 2-3; Zanette, ICML 2023, Sec. 2; standard):

* Bellman optimality operator, finite horizon: ``(T_h f)(s, a) = R_h(s, a) + sum_{s'} P_h(s'|s, a) max_{a'} f(s', a')``;
  discounted: ``(T f)(s, a) = R(s, a) + gamma sum_{s'} P(s'|s, a) max_{a'} f(s', a')``; for a policy ``pi`` the
  max is replaced by the ``pi`` average (``T^pi``).
* Realizability of a class ``F``: ``Q* in F``; error ``inf_{g in F} ||g - Q*||_mu``.
* Bellman completeness: ``T f in F`` for every ``f in F``; inherent Bellman error
  ``sup_{f in F} inf_{g in F} ||g - T f||_mu``.
* For the linear class ``{Phi w}`` and weights ``mu`` the best fit of a target ``y`` is the weighted
  least-squares projection ``Pi y = Phi (Phi^T D Phi)^+ Phi^T D y`` (``D = diag(mu)``), and
  ``||(I - Pi) T f||_mu`` is the exact completeness residual of ``f``. For ``T^pi`` and ``f = Phi w``,
  ``T^pi f = r + gamma P^pi Phi w`` is affine in ``w``, so the inherent Bellman error over ``||w||_2 <= B`` is at
  most ``||(I - Pi) r||_mu + B ||D^{1/2} (I - Pi) gamma P^pi Phi||_2`` (the second term is zero iff
  ``span(Phi)`` is invariant under ``P^pi`` on the support of ``mu``).
* Two-layer ReLU MLP of width ``k``: ``f(x) = v^T relu(W x + b) + c`` (one output per head), trained by
  full-batch Adam in NumPy (no deep-learning framework). Its empirical completeness error for a given ``f`` is
  the smallest weighted RMSE of width-``k`` fits to ``T f`` over a few restarts.
* Exact width lower bound in one dimension: a width-``k`` two-layer ReLU network restricted to a line is piecewise
  linear with at most ``k`` breakpoints; points ``(x_i, y_i)`` on a grid with ``m`` non-zero discrete second
  differences need at least ``ceil(m / 2)`` breakpoints (one breakpoint between two grid points changes at most
  the two second differences next to it), so at least ``ceil(m / 2)`` hidden units.
"""
from __future__ import annotations

import numpy as np

from ..._validation import check_int

__all__ = ["tabular_features", "weighted_projection", "projection_residual", "realizability_error",
           "linear_inherent_bellman_error", "MLP", "fit_mlp_regression", "fit_mlp_classifier",
           "mlp_completeness_error", "relu_width_lower_bound_1d", "second_difference_count", "bellman_backup_q",
           "completeness_residual", "relu_interpolant_1d", "bellman_misalignment"]


def tabular_features(S: int, A: int) -> np.ndarray:
    """One-hot features of (s, a): shape ``(S, A, S*A)`` — the tabular class, complete for every MDP.

    Parameters
    ----------
    S, A : int

    Returns
    -------
    ndarray, shape (S, A, S A)
    """
    return np.eye(S * A).reshape(S, A, S * A)


def _flat(Phi):
    Phi = np.asarray(Phi, dtype=np.float64)
    if Phi.ndim == 3:
        return Phi.reshape(-1, Phi.shape[-1])
    if Phi.ndim != 2:
        raise ValueError(f"Phi: expected shape (S, A, d) or (n, d), got {Phi.shape}")
    return Phi


def weighted_projection(Phi, y, mu):
    """Weighted least squares ``w = argmin sum_i mu_i (Phi_i w - y_i)^2`` (minimum-norm solution).

    Returns ``(w, fitted)``; ``Phi`` is ``(n, d)`` or ``(S, A, d)`` (flattened row ``s*A + a``), ``y``, ``mu``
    of the matching flat length ``n`` (``mu >= 0``).

    Parameters
    ----------
    Phi : array_like, shape (n, d) or (S, A, d)
    y : array_like, shape (n,)
    mu : array_like, shape (n,)
        Non-negative weights.

    Returns
    -------
    w : ndarray, shape (d,)
    fitted : ndarray, shape (n,)
    """
    X = _flat(Phi)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    if y.shape[0] != X.shape[0] or mu.shape[0] != X.shape[0]:
        raise ValueError(f"y, mu: expected length {X.shape[0]}, got {y.shape[0]} and {mu.shape[0]}")
    if np.any(mu < 0):
        raise ValueError(f"mu: negative weight at index {int(np.argmin(mu))}")
    sw = np.sqrt(mu)
    w, *_ = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)
    return w, X @ w


def projection_residual(Phi, y, mu) -> float:
    """``||(I - Pi_Phi^mu) y||_mu`` — the distance of ``y`` to ``span(Phi)`` in the ``mu``-weighted L2 norm.

    Parameters
    ----------
    Phi : array_like, shape (n, d) or (S, A, d)
    y : array_like, shape (n,)
    mu : array_like, shape (n,)

    Returns
    -------
    float
    """
    _, fit = weighted_projection(Phi, y, mu)
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    r = np.asarray(y, dtype=np.float64).reshape(-1) - fit
    return float(np.sqrt(np.sum(mu * r * r)))


def realizability_error(Phi, Qstar, mu) -> float:
    """``inf_w ||Phi w - Q*||_mu`` (0 iff ``Q*`` is realizable on the support of ``mu``).

    Parameters
    ----------
    Phi : array_like, shape (S, A, d)
    Qstar : array_like, shape (S, A)
    mu : array_like, shape (S, A)

    Returns
    -------
    float
    """
    return projection_residual(Phi, Qstar, mu)


def linear_inherent_bellman_error(Phi, P, R, mu, gamma: float, policy) -> dict:
    """Exact completeness measures of the linear class ``{Phi w}`` for the discounted policy operator ``T^pi``.

    ``Phi`` ``(S, A, d)``, ``P`` ``(S, A, S)``, ``R`` ``(S, A)``, ``mu`` ``(S, A)``, ``policy`` ``(S, A)``.
    Returns ``reward_residual = ||(I - Pi) r||_mu`` and ``operator_residual = ||D^{1/2} (I - Pi) gamma P^pi Phi||_2``
    (the largest residual of ``T^pi Phi w - r`` over unit ``w``): their sum bounds the inherent Bellman error over
    ``||w|| <= 1``, and ``operator_residual = 0`` iff ``span(Phi)`` is ``P^pi``-invariant on ``supp(mu)``.

    Parameters
    ----------
    Phi : array_like, shape (S, A, d)
    P : array_like, shape (S, A, S)
    R : array_like, shape (S, A)
    mu : array_like, shape (S, A)
    gamma : float
    policy : array_like, shape (S, A)

    Returns
    -------
    dict
        ``reward_residual`` and ``operator_residual``.
    """
    Phi = np.asarray(Phi, dtype=np.float64)
    S, A, d = Phi.shape
    X = Phi.reshape(S * A, d)
    pol = np.asarray(policy, dtype=np.float64)
    M = np.asarray(P, dtype=np.float64).reshape(S * A, S) @ np.einsum("sa,sad->sd", pol, Phi)  # (SA, d): P^pi Phi
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    sw = np.sqrt(mu)
    Xw = X * sw[:, None]
    proj = Xw @ np.linalg.pinv(Xw)  # orthogonal projector in the weighted coordinates
    Res = (np.eye(S * A) - proj) @ (gamma * M * sw[:, None])
    rr = (np.eye(S * A) - proj) @ (np.asarray(R, dtype=np.float64).reshape(-1) * sw)
    return {"reward_residual": float(np.linalg.norm(rr)), "operator_residual": float(np.linalg.norm(Res, 2))}


# ------------------------------------------------------------------------------------------ MLP


class MLP:
    """Two-layer ReLU network ``f(x) = relu(x W1 + b1) W2 + b2``: ``x`` ``(n, d_in)``, output ``(n, d_out)``."""

    def __init__(self, d_in: int, width: int, d_out: int = 1, *, seed=0, scale: float = 1.0):
        d_in, width, d_out = (check_int(nm, v, low=1)
                              for nm, v in (("d_in", d_in), ("width", width), ("d_out", d_out)))
        rng = np.random.default_rng(seed)
        self.W1 = rng.normal(0.0, scale * np.sqrt(2.0 / d_in), (d_in, width))
        self.b1 = rng.normal(0.0, 0.1 * scale, width)
        self.W2 = rng.normal(0.0, scale * np.sqrt(1.0 / width), (width, d_out))
        self.b2 = np.zeros(d_out)

    @property
    def width(self) -> int:
        """Hidden width."""
        return int(self.W1.shape[1])

    def params(self):
        """The parameter arrays ``[W1, b1, W2, b2]`` (views, updated in place by :meth:`train`).

        Returns
        -------
        list of ndarray
        """
        return [self.W1, self.b1, self.W2, self.b2]

    def __call__(self, X):
        return np.maximum(np.asarray(X, dtype=np.float64) @ self.W1 + self.b1, 0.0) @ self.W2 + self.b2

    def _grads(self, X, dout):
        Z = X @ self.W1 + self.b1
        Hh = np.maximum(Z, 0.0)
        gW2 = Hh.T @ dout
        gb2 = dout.sum(axis=0)
        dH = (dout @ self.W2.T) * (Z > 0)
        return [X.T @ dH, dH.sum(axis=0), gW2, gb2]

    def train(self, X, loss_grad, *, steps: int, lr: float, l2: float = 0.0):
        """Full-batch Adam on ``loss_grad(out) -> (loss, dloss/dout)``.

        Parameters
        ----------
        X : array_like, shape (n, d_in)
        loss_grad : callable
            ``loss_grad(out) -> (loss, dloss/dout)``.
        steps : int
        lr : float
        l2 : float
            Weight decay.

        Returns
        -------
        float
            The last loss.
        """
        X = np.asarray(X, dtype=np.float64)
        ps = self.params()
        m = [np.zeros_like(p) for p in ps]
        v = [np.zeros_like(p) for p in ps]
        b1, b2, eps = 0.9, 0.999, 1e-8
        loss = np.inf
        for t in range(1, steps + 1):
            out = self(X)
            loss, dout = loss_grad(out)
            gs = self._grads(X, dout)
            if l2:
                gs[0] = gs[0] + l2 * self.W1
                gs[2] = gs[2] + l2 * self.W2
            for p, g, mi, vi in zip(ps, gs, m, v):
                mi *= b1
                mi += (1 - b1) * g
                vi *= b2
                vi += (1 - b2) * g * g
                p -= lr * (mi / (1 - b1**t)) / (np.sqrt(vi / (1 - b2**t)) + eps)
        return float(loss)


def fit_mlp_regression(X, y, width: int, *, weights=None, seed=0, steps: int = 2000, lr: float = 0.01,
                       restarts: int = 1) -> tuple[MLP, float]:
    """Weighted least-squares fit of ``y`` (``(n,)`` or ``(n, k)``) by a width-``width`` MLP; best of ``restarts``.
    Returns the network and its weighted RMSE.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,) or (n, k)
    width : int
    weights : array_like, shape (n,), optional
    seed : int
    steps : int
    lr : float
    restarts : int

    Returns
    -------
    net : MLP
    rmse : float
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    Y = y[:, None] if y.ndim == 1 else y
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()

    def lg(out):
        r = out - Y
        return float(np.sum(w[:, None] * r * r)), 2.0 * w[:, None] * r

    best, best_err = None, np.inf
    for j in range(restarts):
        net = MLP(X.shape[1], width, Y.shape[1], seed=np.random.SeedSequence([int(seed), j]).generate_state(1)[0])
        net.b2[:] = np.sum(w[:, None] * Y, axis=0)
        net.train(X, lg, steps=steps, lr=lr)
        r = net(X) - Y
        err = float(np.sqrt(np.sum(w[:, None] * r * r)))
        if err < best_err:
            best, best_err = net, err
    return best, best_err


def fit_mlp_classifier(X, labels, n_classes: int, width: int, *, seed=0, steps: int = 1000, lr: float = 0.02,
                       weights=None) -> tuple[MLP, float]:
    """Maximum-likelihood (cross-entropy) fit of a softmax policy ``pi(a | x)`` with MLP logits; returns the
    network and the mean negative log-likelihood.

    Parameters
    ----------
    X : array_like, shape (n, d)
    labels : array_like of int, shape (n,)
    n_classes : int
    width : int
    seed : int
    steps : int
    lr : float
    weights : array_like, shape (n,), optional

    Returns
    -------
    net : MLP
    nll : float
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    Y = np.zeros((X.shape[0], n_classes))
    Y[np.arange(X.shape[0]), labels] = 1.0
    w = np.ones(X.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()

    def lg(out):
        z = out - out.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nll = -float(np.sum(w * np.log(np.maximum((p * Y).sum(axis=1), 1e-300))))
        return nll, w[:, None] * (p - Y)

    net = MLP(X.shape[1], width, n_classes, seed=seed)
    nll = net.train(X, lg, steps=steps, lr=lr)
    return net, nll


def softmax(z):
    """Row-wise softmax ``p_i = exp(z_i - max_j z_j) / sum_k exp(z_k - max_j z_j)`` (shifted for stability).

    Parameters
    ----------
    z : numpy.ndarray
        Logits; the softmax is taken over the last axis.

    Returns
    -------
    numpy.ndarray
        Probabilities of the same shape, summing to 1 over the last axis.
    """
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def mlp_completeness_error(X, target, width: int, *, weights=None, seed=0, steps: int = 3000, restarts: int = 3,
                           lr: float = 0.01) -> float:
    """Empirical completeness error of the width-``width`` MLP class at one ``f``: the best weighted RMSE
    (over ``restarts``) of a trained fit to ``target = T f`` on the inputs ``X`` (an upper estimate of
    ``inf_g ||g - T f||_mu``; training may not find the global minimum).

    Parameters
    ----------
    X : array_like, shape (n, d)
    target : array_like, shape (n,)
        ``T f`` on the inputs.
    width : int
    weights : array_like, optional
    seed : int
    steps : int
    restarts : int
    lr : float

    Returns
    -------
    float
    """
    return fit_mlp_regression(X, target, width, weights=weights, seed=seed, steps=steps, lr=lr, restarts=restarts)[1]


def second_difference_count(y, *, tol: float = 1e-9) -> int:
    """Number of non-zero discrete second differences of ``y`` on a uniform grid (kinks of its interpolant).

    Parameters
    ----------
    y : array_like, shape (n,)
    tol : float
        Relative threshold.

    Returns
    -------
    int
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.size < 3:
        return 0
    d2 = y[2:] - 2 * y[1:-1] + y[:-2]
    return int(np.sum(np.abs(d2) > tol * max(1.0, float(np.abs(y).max()))))


def relu_width_lower_bound_1d(y, *, tol: float = 1e-9) -> int:
    """``max(1, ceil(m / 2))``, ``m`` = :func:`second_difference_count`: fewer hidden units cannot interpolate
    ``y`` on a uniform grid of a line (and a non-constant function on ``x >= 0`` needs one unit).

    Parameters
    ----------
    y : array_like, shape (n,)
    tol : float

    Returns
    -------
    int
    """
    m = second_difference_count(y, tol=tol)
    y = np.asarray(y, dtype=np.float64)
    nonconst = bool(np.ptp(y) > tol)
    return max(int(nonconst), (m + 1) // 2)


def bellman_backup_q(mdp, f, *, h: int | None = None, policy=None) -> np.ndarray:
    """``(T f)(s, a)`` for ``f`` of shape ``(S, A)``: finite horizon ``R_h + P_h max_{a'} f`` (step ``h``, default 0),
    discounted ``R + gamma P max_{a'} f``; with ``policy`` ``(S, A)`` the max is the policy average (``T^pi``).

    Parameters
    ----------
    mdp : TabularMDP
    f : array_like, shape (S, A)
    h : int, optional
        Step (finite horizon).
    policy : array_like, shape (S, A), optional

    Returns
    -------
    ndarray, shape (S, A)
    """
    f = np.asarray(f, dtype=np.float64)
    if f.shape != (mdp.S, mdp.A):
        raise ValueError(f"f: expected shape ({mdp.S}, {mdp.A}), got {f.shape}")
    v = f.max(axis=1) if policy is None else (np.asarray(policy, dtype=np.float64) * f).sum(axis=1)
    if mdp.finite_horizon:
        k = 0 if h is None else int(h)
        if not 0 <= k < mdp.horizon:
            raise ValueError(f"h: must lie in [0, {mdp.horizon}), got {h}")
        P4, R3 = mdp.P4(), mdp.R3()
        return R3[min(k, R3.shape[0] - 1)] + P4[min(k, P4.shape[0] - 1)] @ v
    return mdp.R + mdp.gamma * (mdp.P @ v)


def completeness_residual(mdp, Phi, f, mu, *, h: int | None = None, policy=None) -> float:
    """``||(I - Pi_Phi^mu) T f||_mu`` for a given ``f`` (``(S, A)``): the exact distance of its Bellman backup to the
    linear class ``span(Phi)`` (``Phi`` ``(S, A, d)``, ``mu`` ``(S, A)``). Zero for every ``f`` iff the class is
    complete on ``supp(mu)``.

    Parameters
    ----------
    mdp : TabularMDP
    Phi : array_like, shape (S, A, d)
    f : array_like, shape (S, A)
    mu : array_like, shape (S, A)
    h : int, optional
    policy : array_like, shape (S, A), optional

    Returns
    -------
    float
    """
    return projection_residual(Phi, bellman_backup_q(mdp, f, h=h, policy=policy).reshape(-1),
                               np.asarray(mu, dtype=np.float64).reshape(-1))


def relu_interpolant_1d(y, x=None, *, tol: float = 1e-9) -> MLP:
    """Explicit two-layer ReLU network (input ``x``, one output) interpolating ``y`` on the grid ``x`` (default
    ``linspace(0, 1, n)``): one unit ``relu(x - x_0)`` for the first slope plus one unit ``relu(x - x_i)`` per
    non-zero second difference, so ``width = m + 1`` — the constructive upper bound matching
    :func:`relu_width_lower_bound_1d` up to a factor 2.

    Parameters
    ----------
    y : array_like, shape (n,)
    x : array_like, shape (n,), optional
        Increasing grid (default uniform on [0, 1]).
    tol : float

    Returns
    -------
    MLP
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = y.size
    if n < 2:
        raise ValueError("y: need at least two grid points")
    x = np.linspace(0.0, 1.0, n) if x is None else np.asarray(x, dtype=np.float64).reshape(-1)
    slopes = np.diff(y) / np.diff(x)
    knots, weights = [x[0]], [slopes[0]]
    scale = max(1.0, float(np.abs(y).max()))
    for i in range(1, n - 1):
        dz = slopes[i] - slopes[i - 1]
        if abs(dz) > tol * scale:
            knots.append(x[i])
            weights.append(dz)
    net = MLP(1, len(knots), 1, seed=0)
    net.W1[:] = 1.0
    net.b1[:] = -np.asarray(knots)
    net.W2[:, 0] = weights
    net.b2[:] = y[0]
    return net


def bellman_misalignment(Phi, P, mu, policy) -> np.ndarray:
    """Principal angles (radians, descending) between ``span(Phi)`` and its Bellman image ``span(P^pi Phi)`` in the
    ``mu``-weighted inner product (``Phi`` ``(S, A, d)``, ``P`` ``(S, A, S)``, ``mu`` ``(S, A)``, ``policy`` ``(S, A)``).

    Our reconstruction of Zanette's (ICML 2023) third factor, "misalignment between the class and its Bellman
    image", for linear classes: all angles are zero iff the image lies in the class (completeness of ``T^pi`` up to
    the reward on ``supp(mu)``); ``sin`` of the largest angle is the worst relative residual
    ``||(I - Pi) P^pi Phi w||_mu / ||P^pi Phi w||_mu``.

    Parameters
    ----------
    Phi : array_like, shape (S, A, d)
    P : array_like, shape (S, A, S)
    mu : array_like, shape (S, A)
    policy : array_like, shape (S, A)

    Returns
    -------
    ndarray
        Principal angles, descending.
    """
    Phi = np.asarray(Phi, dtype=np.float64)
    S, A, d = Phi.shape
    sw = np.sqrt(np.asarray(mu, dtype=np.float64).reshape(-1))
    X = Phi.reshape(S * A, d) * sw[:, None]
    M = (np.asarray(P, dtype=np.float64).reshape(S * A, S) @ np.einsum("sa,sad->sd", np.asarray(policy, float), Phi))
    M = M * sw[:, None]

    def basis(Z):
        U, sv, _ = np.linalg.svd(Z, full_matrices=False)
        return U[:, sv > 1e-12 * max(1.0, sv.max(initial=0.0))]

    B1, B2 = basis(X), basis(M)
    if B2.shape[1] == 0:
        return np.zeros(0)
    # angle of each image direction to the class: singular values of (I - B1 B1^T) B2
    R = B2 - B1 @ (B1.T @ B2)
    s = np.clip(np.linalg.svd(R, compute_uv=False), 0.0, 1.0)
    return np.sort(np.arcsin(s))[::-1]
