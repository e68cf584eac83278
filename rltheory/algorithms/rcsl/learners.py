"""Offline learners: fitted Q-iteration (DP), return-conditioned supervised learning (RCSL) and model-based
RCSL (MBRCSL), after Zhou, Zhu, Zhou, Cui, Gupta & Du, ICLR 2024.

* **FQI** (finite horizon, per-step classes ``F_h``): ``Qhat_H = 0``;
  ``Qhat_h = argmin_{f in F} sum_i (f(s_{i,h}, a_{i,h}) - r_{i,h} - max_{a'} Qhat_{h+1}(s_{i,h+1}, a'))^2``;
  output the greedy policy. Needs Bellman completeness of ``F`` to be consistent (paper Sec. 3.1).
* **RCSL** (paper Sec. 2, Markovian RCSL): ``pihat(a | s, h, g) = argmax_{pi in Pi} sum_{i,h} log pi(a_{i,h} | s_{i,h}, h, g_{i,h})``
  with ``g_{i,h}`` the return-to-go; at test time condition on ``g_0`` = the dataset's best return and update
  ``g_{h+1} = g_h - r_h``. Tabular class: the empirical conditional action frequencies; an unseen ``(h, s, g)``
  falls back to the nearest seen ``g`` at ``(h, s)`` (our reconstruction of out-of-distribution conditioning) and
  an unseen ``(h, s)`` to the uniform action. MLP class: softmax over logits of a width-``k`` MLP on
  ``[phi(s), h / H, g / g_scale]``.
* **MBRCSL** (paper Sec. 4, Alg. 1): fit a dynamics model ``Phat(s'|s, a)``, ``Rhat(s, a)`` (time-homogeneous,
  counts; unseen pairs: stay in place with reward 0 — our reconstruction) and a stationary behaviour policy
  ``pihat_b(a|s)`` (counts over all steps), roll ``pihat_b`` out in the model, keep the synthetic trajectories
  whose return is among the top ``keep_frac`` (and at least the dataset's best return when ``keep_above_data``),
  and train RCSL on them; condition on the best kept return.

Return-conditioned policies are not Markov in ``s`` alone; :func:`evaluate_return_conditioned` evaluates them
exactly by a forward pass over the joint distribution of ``(s_h, g_h)`` (rewards are deterministic given
``(h, s, a)`` in a TabularMDP, so ``g`` evolves deterministically along each branch).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._validation import check_real
from ...models.tabular import TabularMDP
from ...solvers.api import as_stochastic_policy, evaluate, policy_value, solve
from .data import OfflineDataset, collect
from .function_classes import fit_mlp_classifier, fit_mlp_regression, softmax

__all__ = ["TabularClass", "LinearClass", "MLPClass", "FQIResult", "fqi", "linear_fqi_population", "expected_td",
           "TabularRCSL", "MLPRCSL", "rcsl_tabular", "rcsl_mlp", "behaviour_cloning", "evaluate_return_conditioned",
           "MBRCSLResult", "mbrcsl", "rcsl_return"]

_GDEC = 9  # decimals used to key returns-to-go


# ------------------------------------------------------------------------------------- classes for FQI


def _pair_sums(S, A, s, a, y):
    """Per-pair sums of the values ``y`` and the number of samples of each pair.

    Parameters
    ----------
    S, A : int
        Shape of the tables.
    s, a : ndarray of int, shape (n,)
        The pair of each sample.
    y : ndarray, shape (n,)
        The value of each sample.

    Returns
    -------
    tot, cnt : ndarray, shape (S, A)
        ``tot[s, a] = sum{y_i : (s_i, a_i) = (s, a)}`` and the number of such ``i``.
    """
    tot = np.zeros((S, A))
    cnt = np.zeros((S, A))
    np.add.at(tot, (s, a), y)
    np.add.at(cnt, (s, a), 1.0)
    return tot, cnt


class _FQIClass:
    """Base of the function classes of :func:`fqi`: ``fit`` maps one step's data to the fitted function on every
    pair. The subclasses inherit the documentation of ``fit``; each states its own fit in its class docstring."""

    name = ""

    def fit(self, S, A, s, a, y, seed=0):
        """Fit the class to the targets ``y`` at the pairs ``(s_i, a_i)`` of one step.

        Parameters
        ----------
        S, A : int
            Sizes.
        s, a : ndarray of int, shape (n,)
            State-action pairs of the data.
        y : ndarray, shape (n,)
            Targets.
        seed : int
            Seed (unused by deterministic classes).

        Returns
        -------
        ndarray, shape (S, A)
            The fitted function on every pair.
        """
        raise NotImplementedError


class TabularClass(_FQIClass):
    """Per-(s, a) empirical mean of the targets, ``f(s, a) = mean{y_i : (s_i, a_i) = (s, a)}``; unseen pairs get
    ``default``."""

    name = "tabular"

    def __init__(self, default: float = 0.0):
        self.default = float(default)

    def fit(self, S, A, s, a, y, seed=0):
        tot, cnt = _pair_sums(S, A, s, a, y)
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), self.default)


class LinearClass(_FQIClass):
    """``f(s, a) = Phi[s, a] . w`` fitted by (ridge-regularised, ``ridge`` tiny) least squares:
    ``w = (X^T X + ridge n I)^{-1} X^T y``, ``X = Phi[s, a]``."""

    name = "linear"

    def __init__(self, Phi, ridge: float = 1e-10):
        Phi = np.asarray(Phi, dtype=np.float64)
        if Phi.ndim != 3:
            raise ValueError(f"Phi: expected shape (S, A, d), got {Phi.shape}")
        self.Phi = Phi
        self.ridge = float(ridge)

    def fit(self, S, A, s, a, y, seed=0):
        if self.Phi.shape[:2] != (S, A):
            raise ValueError(f"Phi: leading shape {self.Phi.shape[:2]} does not match (S, A) = {(S, A)}")
        X = self.Phi[s, a]
        d = X.shape[1]
        w = np.linalg.solve(X.T @ X + self.ridge * len(y) * np.eye(d), X.T @ y)
        return self.Phi @ w


class MLPClass(_FQIClass):
    """Two-layer ReLU MLP of width ``width`` on features ``Phi[s, a]`` (full-batch Adam, ``steps`` steps), fitted
    to the mean squared error (:func:`.function_classes.fit_mlp_regression`)."""

    name = "mlp"

    def __init__(self, Phi, width: int, steps: int = 1500, lr: float = 0.01, restarts: int = 1):
        self.Phi = np.asarray(Phi, dtype=np.float64)
        self.width, self.steps, self.lr, self.restarts = int(width), int(steps), float(lr), int(restarts)

    def fit(self, S, A, s, a, y, seed=0):
        net, _ = fit_mlp_regression(self.Phi[s, a], y, self.width, seed=seed, steps=self.steps, lr=self.lr,
                                    restarts=self.restarts)
        return net(self.Phi.reshape(S * A, -1)).reshape(S, A)


@dataclass
class FQIResult:
    """Output of :func:`fqi`, a planner: the field names of :class:`rltheory.solvers.SolveResult` where they apply
    (no ``error_bound``: a fitted value carries no certificate).

    Attributes
    ----------
    V : ndarray, shape (H + 1, S)
        Fitted greedy values ``max_a Q_h(s, a)``, with ``V_H = 0``.
    Q : ndarray, shape (H, S, A)
        Fitted action values.
    policy : ndarray of int, shape (H, S)
        Greedy policy.
    policy_value : float
        Exact ``V^policy_0(mu0)`` on the true MDP (NaN when none was given).
    fit_rmse : ndarray, shape (H,)
        RMSE of ``Qhat_h`` against the per-pair mean targets ``T Qhat_{h+1}``: the empirical completeness residual of
        the class along the iterates (0 for a complete class).
    nit : int
        Backward fitting steps, ``H``.
    converged : bool
        Always True (a fixed number of backward steps).
    method : str
        ``"fqi"``.
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    policy_value: float
    fit_rmse: np.ndarray
    nit: int
    converged: bool = True
    method: str = "fqi"

    @property
    def value(self) -> np.ndarray:
        """Fitted values at the first step, ``V[0]`` (as :attr:`rltheory.solvers.SolveResult.value`)."""
        return self.V[0]


def fqi(data: OfflineDataset, fclass, *, mdp: TabularMDP | None = None, seed: int = 0) -> FQIResult:
    """Finite-horizon fitted Q-iteration on ``data`` with the class ``fclass`` (same class at every step,
    fitted separately per step). With ``mdp`` the greedy policy is evaluated exactly.

    ``Qhat_h = fit(r_h + max_a Qhat_{h+1}(s_{h+1}, a))`` backwards from ``Qhat_H = 0``.

    Parameters
    ----------
    data : OfflineDataset
    fclass : TabularClass, LinearClass or MLPClass
        Any object with ``fit(S, A, s, a, y, seed)``.
    mdp : TabularMDP, optional
        True MDP for the exact value.
    seed : int

    Returns
    -------
    FQIResult
    """
    S, A, H = data.S, data.A, data.H
    Q = np.zeros((H + 1, S, A))
    nxt = data.next_states()
    rmse = np.zeros(H)
    for h in range(H - 1, -1, -1):
        s, a = data.states[:, h], data.actions[:, h]
        y = data.rewards[:, h] + Q[h + 1].max(axis=1)[nxt[:, h]]
        Q[h] = fclass.fit(S, A, s, a, y, seed=seed * 1000 + h)
        # residual against the conditional mean of the targets (sampling noise removed): per-pair mean target
        tot, cnt = _pair_sums(S, A, s, a, y)
        seen = cnt > 0
        rmse[h] = np.sqrt(np.sum(cnt[seen] * (Q[h][seen] - tot[seen] / cnt[seen]) ** 2) / cnt.sum())
    pol = Q[:H].argmax(axis=2).astype(np.int64)
    val = policy_value(mdp, pol) if mdp is not None else float("nan")
    V = np.zeros((H + 1, S))
    V[:H] = Q[:H].max(axis=2)
    return FQIResult(V, Q[:H], pol, val, rmse, H)


def _pi_matrix(mdp, policy):
    if policy is None:
        return None
    return as_stochastic_policy(mdp, policy)


def linear_fqi_population(mdp: TabularMDP, Phi, mu, *, iters: int = 50, w0=None, policy=None) -> dict:
    """Population linear FQI on a discounted MDP: ``w_{k+1} = argmin_w ||Phi w - T f_k||_mu`` with
    ``f_k = Phi w_k`` (``T`` the optimality operator, or ``T^pi`` for ``policy``), exact weighted least squares.

    Returns ``w`` (iters+1, d) and ``norms``. On the two-state example of Tsitsiklis & Van Roy (1996) with uniform
    ``mu``, ``w_{k+1} = (6 gamma / 5) w_k``: divergence for ``gamma > 5/6``.

    Parameters
    ----------
    mdp : TabularMDP
        Discounted.
    Phi : array_like, shape (S, A, d)
        Features.
    mu : array_like, shape (S, A)
        Data distribution.
    iters : int
    w0 : array_like, shape (d,), optional
    policy : array_like, optional
        Evaluate this policy instead of the greedy backup.

    Returns
    -------
    dict
        ``w`` (iterates) and ``norms``.
    """
    if not mdp.discounted:
        raise ValueError("mdp: linear_fqi_population is for discounted MDPs")
    Phi = np.asarray(Phi, dtype=np.float64)
    S, A = mdp.S, mdp.A
    X = Phi.reshape(S * A, -1)
    mu = np.asarray(mu, dtype=np.float64).reshape(-1)
    sw = np.sqrt(mu)
    pinv = np.linalg.pinv(X * sw[:, None])
    P = mdp.P.reshape(S * A, S)
    R = mdp.R.reshape(-1)
    pol = _pi_matrix(mdp, policy)
    w = np.ones(X.shape[1]) if w0 is None else np.asarray(w0, dtype=np.float64).copy()
    ws = [w.copy()]
    for _ in range(int(iters)):
        f = (X @ w).reshape(S, A)
        v = f.max(axis=1) if pol is None else (pol * f).sum(axis=1)
        y = R + mdp.gamma * P @ v
        w = pinv @ (y * sw)
        ws.append(w.copy())
    ws = np.array(ws)
    return {"w": ws, "norms": np.linalg.norm(ws, axis=1)}


def expected_td(mdp: TabularMDP, Phi, mu, policy, *, alpha: float = 0.01, iters: int = 1000, w0=None) -> dict:
    """Expected (full-gradient-free, semi-gradient) off-policy linear TD(0):
    ``w <- w + alpha Phi^T D (r + gamma P^pi Phi w - Phi w)``, ``D = diag(mu)`` (Sutton & Barto, Sec. 11.2 for
    Baird's counterexample).

    Parameters
    ----------
    mdp : TabularMDP
        Discounted.
    Phi : array_like, shape (S, A, d)
    mu : array_like, shape (S, A)
        Data distribution.
    policy : array_like
        Target policy.
    alpha : float
        Step size.
    iters : int
    w0 : array_like, shape (d,), optional

    Returns
    -------
    dict
        ``w`` (final) and ``norms`` per iteration.
    """
    Phi = np.asarray(Phi, dtype=np.float64)
    S, A = mdp.S, mdp.A
    X = Phi.reshape(S * A, -1)
    D = np.asarray(mu, dtype=np.float64).reshape(-1)
    pol = as_stochastic_policy(mdp, policy)
    P = mdp.P.reshape(S * A, S)
    R = mdp.R.reshape(-1)
    w = np.ones(X.shape[1]) if w0 is None else np.asarray(w0, dtype=np.float64).copy()
    norms = [np.linalg.norm(w)]
    for _ in range(int(iters)):
        f = (X @ w).reshape(S, A)
        v = (pol * f).sum(axis=1)
        delta = R + mdp.gamma * P @ v - X @ w
        w = w + alpha * X.T @ (D * delta)
        norms.append(np.linalg.norm(w))
    return {"w": w, "norms": np.array(norms)}


# ----------------------------------------------------------------------------------------------- RCSL


def _gkey(g):
    return round(float(g), _GDEC)


class TabularRCSL:
    """Empirical ``pi(a | s, h, g)`` (``cond=True``) or ``pi(a | s, h)`` (``cond=False``, behaviour cloning)."""

    def __init__(self, data: OfflineDataset, cond: bool = True):
        self.S, self.A, self.H, self.cond = data.S, data.A, data.H, bool(cond)
        self.table: dict = {}
        self.gs: dict = {}
        rtg = data.rtg
        for i in range(data.N):
            for h in range(data.H):
                s, a = int(data.states[i, h]), int(data.actions[i, h])
                g = _gkey(rtg[i, h]) if self.cond else 0.0
                c = self.table.setdefault((h, s, g), np.zeros(self.A))
                c[a] += 1.0
                self.gs.setdefault((h, s), set()).add(g)
        self.gs = {k: np.array(sorted(v)) for k, v in self.gs.items()}

    def __call__(self, h, s, g):
        gk = _gkey(g) if self.cond else 0.0
        c = self.table.get((h, s, gk))
        if c is None:
            seen = self.gs.get((h, s))
            if seen is None:
                return np.full(self.A, 1.0 / self.A)
            gk = float(seen[np.argmin(np.abs(seen - gk))])
            c = self.table[(h, s, gk)]
        return c / c.sum()


class MLPRCSL:
    """Softmax policy with MLP logits on ``[phi(s), h / H, g / g_scale]`` (``cond=False`` drops ``g``)."""

    def __init__(self, net, state_features, H, g_scale, cond=True):
        self.net, self.phi, self.H, self.g_scale, self.cond = net, np.asarray(state_features, float), H, g_scale, cond

    def inputs(self, h, s, g):
        """Network inputs ``[phi(s), h / H, g / g_scale]`` (without ``g`` when ``cond=False``).

        Parameters
        ----------
        h, s : int or array_like of int
        g : float or array_like
            Return-to-go targets.

        Returns
        -------
        ndarray, shape (n, k)
        """
        h = np.atleast_1d(h).astype(float)
        s = np.atleast_1d(s)
        cols = [self.phi[s], (h / self.H)[:, None]]
        if self.cond:
            cols.append((np.atleast_1d(g).astype(float) / self.g_scale)[:, None])
        return np.concatenate(cols, axis=1)

    def __call__(self, h, s, g):
        return softmax(self.net(self.inputs(h, s, g)))[0]


def rcsl_tabular(data: OfflineDataset) -> TabularRCSL:
    """Tabular Markovian RCSL (maximum likelihood = empirical conditional frequencies).

    Parameters
    ----------
    data : OfflineDataset

    Returns
    -------
    TabularRCSL
    """
    return TabularRCSL(data, cond=True)


def behaviour_cloning(data: OfflineDataset) -> TabularRCSL:
    """Tabular ``pi(a | s, h)``: RCSL with the return input dropped (a class that cannot realize the
    return-conditioned behaviour policy).

    Parameters
    ----------
    data : OfflineDataset

    Returns
    -------
    TabularRCSL
    """
    return TabularRCSL(data, cond=False)


def rcsl_mlp(data: OfflineDataset, width: int, state_features, *, cond: bool = True, seed: int = 0,
             steps: int = 800, lr: float = 0.03) -> MLPRCSL:
    """Markovian RCSL with a width-``width`` MLP policy trained by maximum likelihood (cross-entropy).

    Parameters
    ----------
    data : OfflineDataset
    width : int
        Hidden width.
    state_features : array_like, shape (S, k)
    cond : bool
        Condition on the return-to-go.
    seed : int
    steps : int
        Adam steps.
    lr : float

    Returns
    -------
    MLPRCSL
    """
    N, H = data.N, data.H
    g_scale = max(1e-12, float(np.abs(data.returns).max()))
    pol = MLPRCSL(None, state_features, H, g_scale, cond)
    hh = np.tile(np.arange(H), N)
    X = pol.inputs(hh, data.states.reshape(-1), data.rtg.reshape(-1))
    net, _ = fit_mlp_classifier(X, data.actions.reshape(-1), data.A, width, seed=seed, steps=steps, lr=lr)
    pol.net = net
    return pol


def evaluate_return_conditioned(mdp: TabularMDP, act, g0: float, update=None) -> float:
    """Exact expected return of the return-conditioned policy ``act(h, s, g) -> probs (A,)`` started with
    return-to-go target ``g0`` from ``mdp.mu0`` (forward pass over the joint law of ``(s_h, g_h)``).
    ``update(g, r) -> g'`` is the execution-time update of the target (default ``g - r``, RCSL's).

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    act : callable
        ``act(h, s, g) -> probs (A,)``.
    g0 : float
        Initial target.
    update : callable, optional
        ``update(g, r) -> g'``.

    Returns
    -------
    float
    """
    if update is not None and not callable(update):
        raise TypeError(f"update: expected a callable (g, r) -> g', got {type(update).__name__}")
    if not mdp.finite_horizon:
        raise ValueError("mdp: return-conditioned evaluation needs a finite horizon")
    P4, R3 = mdp.P4(), mdp.R3()
    H = mdp.horizon
    dist = {(int(s), _gkey(g0)): float(p) for s, p in enumerate(mdp.mu0) if p > 0}
    total = 0.0
    for h in range(H):
        Ph = P4[h if P4.shape[0] > 1 else 0]
        Rh = R3[h if R3.shape[0] > 1 else 0]
        new: dict = {}
        for (s, g), p in dist.items():
            pa = act(h, s, g)
            for a in np.flatnonzero(pa > 0):
                q = p * pa[a]
                r = Rh[s, a]
                total += q * r
                g2 = _gkey(g - r if update is None else update(g, r))
                for s2 in np.flatnonzero(Ph[s, a] > 0):
                    k = (int(s2), g2)
                    new[k] = new.get(k, 0.0) + q * Ph[s, a, s2]
        dist = new
    return float(total)


def rcsl_return(mdp: TabularMDP, data: OfflineDataset, policy) -> float:
    """Exact return of an RCSL policy conditioned on the dataset's best return.

    Parameters
    ----------
    mdp : TabularMDP
    data : OfflineDataset
    policy : callable
        ``policy(h, s, g) -> probs (A,)``.

    Returns
    -------
    float
    """
    return evaluate_return_conditioned(mdp, policy, float(data.returns.max()))


# --------------------------------------------------------------------------------------------- MBRCSL


@dataclass
class MBRCSLResult:
    """Output of :func:`mbrcsl`.

    Attributes
    ----------
    policy : TabularRCSL
        RCSL policy fitted on the kept synthetic trajectories.
    target : float
        Best kept synthetic return (the conditioning target).
    synthetic : OfflineDataset
        The kept synthetic trajectories.
    model : TabularMDP
        The empirical dynamics model.
    """

    policy: TabularRCSL
    target: float  # best kept synthetic return (the conditioning target)
    synthetic: OfflineDataset  # kept synthetic trajectories
    model: TabularMDP


def mbrcsl(data: OfflineDataset, *, n_rollouts: int = 2000, keep_frac: float = 0.1, seed: int = 0) -> MBRCSLResult:
    """MBRCSL (Zhou et al. 2024, Alg. 1) with tabular dynamics / behaviour / output-policy classes.

    Fit tabular dynamics and behaviour on ``data``, roll out ``n_rollouts`` synthetic trajectories in the model,
    keep the top ``keep_frac`` by return and fit tabular RCSL on them.

    Parameters
    ----------
    data : OfflineDataset
    n_rollouts : int
    keep_frac : float
        In (0, 1].
    seed : int

    Returns
    -------
    MBRCSLResult
    """
    S, A, H = data.S, data.A, data.H
    keep_frac = check_real("keep_frac", keep_frac, low=0.0, high=1.0, low_open=True)
    s = data.states.reshape(-1)
    a = data.actions.reshape(-1)
    s2 = data.next_states().reshape(-1)
    cnt = np.zeros((S, A, S))
    np.add.at(cnt, (s, a, s2), 1.0)
    rsum = np.zeros((S, A))
    np.add.at(rsum, (s, a), data.rewards.reshape(-1))
    nsa = cnt.sum(axis=2)
    P = np.where(nsa[..., None] > 0, cnt / np.maximum(nsa, 1)[..., None], 0.0)
    unseen = nsa == 0
    for si, ai in zip(*np.nonzero(unseen)):
        P[si, ai, si] = 1.0
    R = np.where(nsa > 0, rsum / np.maximum(nsa, 1), 0.0)
    ns = nsa.sum(axis=1)
    pib = np.where(ns[:, None] > 0, nsa / np.maximum(ns, 1)[:, None], 1.0 / A)
    mu0 = np.bincount(data.states[:, 0], minlength=S).astype(float)
    model = TabularMDP(P, R, horizon=H, mu0=mu0 / mu0.sum(), name="mbrcsl-model")
    syn = collect(model, pib, int(n_rollouts), seed=seed)
    G = syn.returns
    thr = np.quantile(G, 1.0 - keep_frac)
    kept = syn.subset(np.flatnonzero(G >= thr - 1e-12))
    pol = rcsl_tabular(kept)
    return MBRCSLResult(pol, float(kept.returns.max()), kept, model)
