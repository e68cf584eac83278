"""Linear mixture MDPs (Zhang, Zhang & Gu, ICML 2023, Def. 2.3.1 of the dissertation chapter that presents it).

A linear mixture MDP has a time-homogeneous kernel that is a known linear combination of basis measures::

    P(s'|s,a) = sum_i phi_i(s'|s,a) theta*_i = <phi(s'|s,a), theta*>,    phi(s'|s,a) in R^d.

The basis measures ``phi_i`` may be signed; only the mixture ``P`` has to be a probability kernel. The
*summation oracle* of the paper is ``psi_V(s,a) = sum_{s'} phi(s'|s,a) V(s') in R^d``, so that
``[P V](s,a) = <psi_V(s,a), theta*>``.

Rewards follow the paper's horizon-free normalisation (Assumption 2.6.1): every trajectory collects a total
reward in ``[0, 1]`` (``reward_scale="total"``, the default). ``reward_scale="per_step"`` accepts the classic
``r_h in [0, 1]`` instead (total at most ``H``, Cor. 2.6.6).

Finite horizon ``H``; ``V_h(s) = E[sum_{t=h}^{H-1} r_t(s_t,a_t) | s_h = s]`` with ``V_H = 0`` (0-based steps, as
:class:`~rltheory.models.TabularMDP`). The paper's steps ``1..H`` are our ``0..H-1``.
"""
from __future__ import annotations

import numbers

import numpy as np
from numba import njit

from ._validate import max_path_return
from .tabular import ROW_SUM_ATOL, TabularMDP, _as_float_array, _readonly, check_solution_size, horizon_arg

__all__ = ["LinearMixtureMDP", "PlanResult", "max_total_reward"]

#: Tolerance on the total-reward normalisation (``max over trajectories of sum_h r_h <= 1``).
TOTAL_REWARD_ATOL = 1e-9


@njit(cache=True)
def _psi(phi, V, out):
    """out[s, a, i] = sum_t phi[s, a, t, i] V[t]  (the summation oracle)."""
    S, A, S2, d = phi.shape
    for s in range(S):
        for a in range(A):
            for i in range(d):
                out[s, a, i] = 0.0
            for t in range(S2):
                v = V[t]
                if v != 0.0:
                    for i in range(d):
                        out[s, a, i] += phi[s, a, t, i] * v


@njit(cache=True)
def _lm_backward(phi, theta, R3, H, clip, V, Q, pi):
    """Backward induction through the summation oracle:
    ``Q_h(s,a) = r_h(s,a) + <psi_{V_{h+1}}(s,a), theta>`` (clipped to [0, 1] when ``clip``), ``V_h = max_a Q_h``."""
    S, A, _, d = phi.shape
    hr = R3.shape[0]
    ps = np.empty((S, A, d))
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        _psi(phi, V[h + 1], ps)
        Rh = R3[h if hr > 1 else 0]
        for s in range(S):
            best = -np.inf
            ba = 0
            for a in range(A):
                q = Rh[s, a]
                for i in range(d):
                    q += ps[s, a, i] * theta[i]
                if clip:
                    if q > 1.0:
                        q = 1.0
                    elif q < 0.0:
                        q = 0.0
                Q[h, s, a] = q
                if q > best:
                    best = q
                    ba = a
            V[h, s] = best
            pi[h, s] = ba


@njit(cache=True)
def _lm_evaluate(phi, theta, R3, H, pi, V):
    """Value of the deterministic Markov policy ``pi[h, s]`` through the summation oracle."""
    S, A, _, d = phi.shape
    hr = R3.shape[0]
    ps = np.empty((S, A, d))
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        _psi(phi, V[h + 1], ps)
        Rh = R3[h if hr > 1 else 0]
        for s in range(S):
            a = pi[h, s]
            q = Rh[s, a]
            for i in range(d):
                q += ps[s, a, i] * theta[i]
            V[h, s] = q


def max_total_reward(P: np.ndarray, R3: np.ndarray, H: int, atol: float = 0.0) -> np.ndarray:
    """Largest total reward of any feasible trajectory from each start state.

    Parameters
    ----------
    P : ndarray, shape (S, A, S)
        Transition kernel; ``s'`` is feasible from ``(s, a)`` when ``P[s, a, s'] > atol``.
    R3 : ndarray, shape (hr, S, A)
        Rewards, ``hr`` in {1, H} (time-homogeneous or step-dependent).
    H : int
        Horizon.
    atol : float
        Support threshold.

    Returns
    -------
    ndarray, shape (S,)
        ``W_0`` of the max-plus backward induction
        ``W_h(s) = max_a [r_h(s,a) + max_{s': P(s'|s,a) > atol} W_{h+1}(s')]``, ``W_H = 0``
        (one compiled pass per step, no Python loop over ``H``).
    """
    W = np.empty(P.shape[0])
    max_path_return(np.ascontiguousarray(P > atol), np.ascontiguousarray(R3, dtype=np.float64), int(H), W)
    return W


class PlanResult:
    """Optimal (or evaluated) values ``V (H+1, S)``, ``Q (H, S, A)``, greedy deterministic ``policy (H, S)`` and
    ``value = mu0 @ V[0]``."""

    __slots__ = ("V", "Q", "policy", "value")

    def __init__(self, V, Q, policy, value):
        self.V, self.Q, self.policy, self.value = V, Q, policy, float(value)

    def __repr__(self):
        return f"PlanResult(value={self.value:.6g})"


class LinearMixtureMDP:
    """A finite-horizon linear mixture MDP ``P(s'|s,a) = <phi(s'|s,a), theta>`` with validated, read-only arrays.

    Parameters
    ----------
    phi : array_like, shape (S, A, S, d)
        Basis measures ``phi[s, a, s', i] = phi_i(s'|s,a)`` (dense, float64).
    theta : array_like, shape (d,)
        The true mixture parameter ``theta*``.
    rewards : array_like, shape (S, A) or (H, S, A)
        Mean rewards (time-homogeneous or step-dependent).
    horizon : int
        Episode length ``H >= 1`` (an integral float such as ``5.0`` is accepted).
    init : None, int or array_like (S,)
        Initial state (default 0) or initial distribution.
    reward_scale : {"total", "per_step"}
        ``"total"`` (default): the paper's normalisation, every trajectory's total reward lies in [0, 1];
        ``"per_step"``: ``r_h(s,a) in [0, 1]`` only.
    name : str, optional

    Raises
    ------
    TypeError, ValueError
        Naming the field (``phi``, ``theta``, ``rewards``, ``horizon``, ``init``) for shape, dtype and NaN errors, and
        the first ``(s, a)`` whose mixture row ``phi[s, a] @ theta`` is negative or does not sum to 1.
    """

    __slots__ = ("_phi", "_theta", "_R", "_H", "_mu0", "_P", "_scale", "_name", "_frozen")

    def __init__(self, phi, theta, rewards, horizon, init=None, *, reward_scale: str = "total", name: str | None = None):
        object.__setattr__(self, "_frozen", False)
        self._H = horizon_arg(horizon)
        ph = _as_float_array(phi, "phi")
        if ph.ndim != 4:
            raise ValueError(f"phi: expected shape (S, A, S, d), got {ph.shape}")
        S, A, S2, d = ph.shape
        if S < 1 or A < 1 or d < 1:
            raise ValueError(f"phi: need S, A, d >= 1, got shape {ph.shape}")
        if S2 != S:
            raise ValueError(f"phi: axes 0 and 2 are both states, got {S} and {S2}")
        th = _as_float_array(theta, "theta")
        if th.shape != (d,):
            raise ValueError(f"theta: expected shape ({d},) to match phi's last axis, got {th.shape}")
        check_solution_size(self._H, S, A)
        P = np.einsum("satd,d->sat", ph, th)
        flat = P.reshape(S * A, S)
        mins = flat.min(axis=1)
        neg = np.flatnonzero(mins < -ROW_SUM_ATOL)
        if neg.size:
            s, a = divmod(int(neg[0]), A)
            t = int(np.argmin(P[s, a]))
            raise ValueError(f"phi, theta: the mixture P(.|s={s}, a={a}) = phi[s, a] @ theta has a negative entry "
                             f"{float(P[s, a, t])!r} at s'={t}")
        sums = flat.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_ATOL)
        if bad.size:
            s, a = divmod(int(bad[0]), A)
            raise ValueError(f"phi, theta: the mixture P(.|s={s}, a={a}) = phi[s, a] @ theta sums to "
                             f"{float(sums[bad[0]])!r}, not 1 (tolerance {ROW_SUM_ATOL:g})")
        P = np.clip(P, 0.0, None)
        P /= P.sum(axis=2, keepdims=True)
        if reward_scale not in ("total", "per_step"):
            raise ValueError(f"reward_scale: expected 'total' or 'per_step', got {reward_scale!r}")
        R = self._check_rewards(rewards, S, A, P, reward_scale)
        self._phi = _readonly(ph)
        self._theta = _readonly(th)
        self._P = _readonly(P)
        self._R = _readonly(R)
        self._scale = reward_scale
        self._mu0 = _readonly(self._parse_init(init, S))
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a str, got {type(name).__name__}")
        self._name = name
        object.__setattr__(self, "_frozen", True)

    # ------------------------------------------------------------------ validation helpers
    def _check_rewards(self, rewards, S, A, P, scale, field="rewards"):
        R = _as_float_array(rewards, field)
        if R.shape not in ((S, A), (self._H, S, A)):
            raise ValueError(f"{field}: expected shape ({S}, {A}) or ({self._H}, {S}, {A}), got {R.shape}")
        if R.min() < 0:
            idx = tuple(int(i) for i in np.argwhere(R < 0)[0])
            raise ValueError(f"{field}: negative reward {float(R[idx])!r} at index {idx}")
        if scale == "per_step":
            if R.max() > 1.0:
                idx = tuple(int(i) for i in np.argwhere(R > 1.0)[0])
                raise ValueError(f"{field}: per-step reward {float(R[idx])!r} > 1 at index {idx}")
        else:
            R3 = R if R.ndim == 3 else R[None]
            W = max_total_reward(P, R3, self._H)
            if W.max() > 1.0 + TOTAL_REWARD_ATOL:
                s = int(np.argmax(W))
                raise ValueError(f"{field}: a trajectory from s={s} collects total reward {float(W[s])!r} > 1 "
                                 "(the paper's normalisation, Assumption 2.6.1; use reward_scale='per_step' for r_h in [0, 1])")
        return R

    @staticmethod
    def _parse_init(init, S):
        if init is None:
            out = np.zeros(S)
            out[0] = 1.0
            return out
        if isinstance(init, numbers.Integral) and not isinstance(init, bool):
            if not 0 <= init < S:
                raise ValueError(f"init: initial state {init} out of range [0, {S})")
            out = np.zeros(S)
            out[int(init)] = 1.0
            return out
        m = _as_float_array(init, "init")
        if m.shape != (S,):
            raise ValueError(f"init: expected shape ({S},), got {m.shape}")
        if m.min() < 0:
            raise ValueError(f"init: negative probability {float(m.min())!r} at state {int(np.argmin(m))}")
        if abs(m.sum() - 1.0) > ROW_SUM_ATOL:
            raise ValueError(f"init: sums to {float(m.sum())!r}, not 1")
        return m

    def __setattr__(self, key, value):
        if getattr(self, "_frozen", False):
            raise AttributeError("LinearMixtureMDP is immutable; use .with_rewards(...) or build a new one")
        object.__setattr__(self, key, value)

    def __reduce__(self):
        return (_rebuild, (self._phi, self._theta, self._R, self._H, self._mu0, self._scale, self._name))

    # ------------------------------------------------------------------ properties
    @property
    def S(self) -> int:
        return self._phi.shape[0]

    @property
    def A(self) -> int:
        return self._phi.shape[1]

    @property
    def d(self) -> int:
        return self._phi.shape[3]

    @property
    def horizon(self) -> int:
        return self._H

    H = horizon

    @property
    def phi(self) -> np.ndarray:
        """Basis measures ``(S, A, S, d)`` (read-only)."""
        return self._phi

    @property
    def theta(self) -> np.ndarray:
        """True parameter ``theta*`` ``(d,)`` (read-only)."""
        return self._theta

    @property
    def P(self) -> np.ndarray:
        """The mixture kernel ``P[s, a, s'] = phi[s, a, s'] @ theta`` (read-only)."""
        return self._P

    @property
    def R(self) -> np.ndarray:
        return self._R

    def R3(self) -> np.ndarray:
        return self._R if self._R.ndim == 3 else self._R.reshape((1,) + self._R.shape)

    @property
    def mu0(self) -> np.ndarray:
        return self._mu0

    @property
    def reward_scale(self) -> str:
        return self._scale

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def B(self) -> float:
        """``||theta*||_2`` (the paper's bound B holds for any B >= this)."""
        return float(np.linalg.norm(self._theta))

    def feature_norm_bound(self) -> float:
        """``max_{s,a} max_{V in [0,1]^S} ||psi_V(s,a)||_2``: a convex function of V, so attained at a vertex
        of the cube; computed by enumerating the ``2^S`` vertices (S <= 16). The paper assumes it is <= 1."""
        S = self.S
        if S > 16:
            raise ValueError(f"feature_norm_bound: enumerates 2^S vertices, S={S} > 16")
        verts = ((np.arange(2 ** S)[:, None] >> np.arange(S)) & 1).astype(np.float64)
        ps = np.einsum("satd,vt->vsad", self._phi, verts)
        return float(np.sqrt((ps ** 2).sum(-1)).max())

    # ------------------------------------------------------------------ oracle and planning
    def psi(self, V) -> np.ndarray:
        """Summation oracle ``psi_V(s,a) = sum_{s'} phi(s'|s,a) V(s')``, shape ``(S, A, d)``; ``V`` has shape ``(S,)``."""
        Varr = _as_float_array(V, "V")
        if Varr.shape != (self.S,):
            raise ValueError(f"V: expected shape ({self.S},), got {Varr.shape}")
        out = np.empty((self.S, self.A, self.d))
        _psi(self._phi, Varr, out)
        return out

    def _rewards3(self, rewards):
        if rewards is None:
            return np.ascontiguousarray(self.R3())
        R = self._check_rewards(rewards, self.S, self.A, self._P, self._scale)
        return np.ascontiguousarray(R if R.ndim == 3 else R[None])

    def plan(self, rewards=None, theta=None, *, clip: bool = False) -> PlanResult:
        """Exact backward induction through the summation oracle,
        ``V_h(s) = max_a r_h(s,a) + <psi_{V_{h+1}}(s,a), theta>`` (paper §2.6, Phase II with ``theta = theta*``).

        ``rewards`` (validated with this model's normalisation) defaults to the model's; ``theta`` defaults to
        ``theta*`` (another theta, e.g. an estimate, is not validated; use ``clip=True`` for the paper's
        ``min{1, .}`` clipping, here to [0, 1])."""
        R3 = self._rewards3(rewards)
        th = self._theta if theta is None else _as_float_array(theta, "theta")
        if th.shape != (self.d,):
            raise ValueError(f"theta: expected shape ({self.d},), got {th.shape}")
        H, S, A = self._H, self.S, self.A
        V = np.empty((H + 1, S))
        Q = np.empty((H, S, A))
        pi = np.zeros((H, S), dtype=np.int64)
        _lm_backward(self._phi, np.ascontiguousarray(th), R3, H, bool(clip), V, Q, pi)
        return PlanResult(V, Q, pi, self._mu0 @ V[0])

    def evaluate(self, policy, rewards=None, theta=None) -> float:
        """``mu0 @ V^pi_0`` for a deterministic Markov policy ``(H, S)`` or ``(S,)`` (int) in the true model, or, with
        ``theta``, through the summation oracle with that parameter (not validated, no clipping; as :meth:`plan`)."""
        pol = np.asarray(policy)
        if pol.dtype.kind not in "iu":
            raise TypeError(f"policy: expected an integer array, got dtype={pol.dtype}")
        if pol.shape == (self.S,):
            pol = np.broadcast_to(pol, (self._H, self.S))
        if pol.shape != (self._H, self.S):
            raise ValueError(f"policy: expected shape ({self._H}, {self.S}) or ({self.S},), got {pol.shape}")
        if pol.min() < 0 or pol.max() >= self.A:
            raise ValueError(f"policy: action out of range [0, {self.A})")
        R3 = self._rewards3(rewards)
        th = self._theta if theta is None else np.ascontiguousarray(_as_float_array(theta, "theta"))
        if th.shape != (self.d,):
            raise ValueError(f"theta: expected shape ({self.d},), got {th.shape}")
        V = np.empty((self._H + 1, self.S))
        _lm_evaluate(self._phi, th, R3, self._H, np.ascontiguousarray(pol, dtype=np.int64), V)
        return float(self._mu0 @ V[0])

    def suboptimality(self, policy, rewards=None) -> float:
        """``V*_0(mu0; r) - V^pi_0(mu0; r)`` in the true model (exact)."""
        return max(self.plan(rewards).value - self.evaluate(policy, rewards), 0.0)

    # ------------------------------------------------------------------ conversions
    def to_tabular(self, rewards=None) -> TabularMDP:
        """The same MDP as a :class:`TabularMDP` with ``P = phi @ theta*`` (dense, time-homogeneous P)."""
        R = self._R if rewards is None else self._check_rewards(rewards, self.S, self.A, self._P, self._scale)
        return TabularMDP(self._P, R, horizon=self._H, mu0=self._mu0, name=self._name)

    def with_rewards(self, rewards, *, reward_scale: str | None = None) -> "LinearMixtureMDP":
        return LinearMixtureMDP(self._phi, self._theta, rewards, self._H, self._mu0,
                                reward_scale=self._scale if reward_scale is None else reward_scale, name=self._name)

    def with_horizon(self, horizon: int, rewards) -> "LinearMixtureMDP":
        return LinearMixtureMDP(self._phi, self._theta, rewards, horizon, self._mu0, reward_scale=self._scale,
                                name=self._name)

    def __repr__(self):
        nm = f"{self._name!r}, " if self._name else ""
        return f"LinearMixtureMDP({nm}S={self.S}, A={self.A}, d={self.d}, H={self._H}, rewards={self._scale})"


def _rebuild(phi, theta, R, H, mu0, scale, name):
    return LinearMixtureMDP(phi, theta, R, H, mu0, reward_scale=scale, name=name)
