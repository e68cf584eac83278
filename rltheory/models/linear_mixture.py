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

from .._backup import lm_evaluate, psi_oracle
from .._validation import check_int, check_type, unmasked
from ._validate import max_path_return
from .tabular import ROW_SUM_ATOL, TabularMDP, as_float_array, check_solution_size, horizon_arg, _sealed
from .tabular import _rebuild as _rebuild_tabular

__all__ = ["LinearMixtureMDP", "max_total_reward"]

#: Tolerance on the total-reward normalisation (``max over trajectories of sum_h r_h <= 1``).
TOTAL_REWARD_ATOL = 1e-9


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
    mu0 : None, int or array_like (S,)
        Initial-state distribution, or an initial state (default 0).
    reward_scale : {"total", "per_step"}
        ``"total"`` (default): the paper's normalisation, every trajectory's total reward lies in [0, 1];
        ``"per_step"``: ``r_h(s,a) in [0, 1]`` only.
    name : str, optional

    Raises
    ------
    TypeError, ValueError
        Naming the field (``phi``, ``theta``, ``rewards``, ``horizon``, ``mu0``) for shape, dtype and NaN errors, and
        the first ``(s, a)`` whose mixture row ``phi[s, a] @ theta`` is negative or does not sum to 1.
    """

    __slots__ = ("_phi", "_theta", "_R", "_H", "_mu0", "_P", "_scale", "_name", "_frozen")

    def __init__(self, phi, theta, rewards, *, horizon, mu0=None, reward_scale: str = "total",
                 name: str | None = None):
        object.__setattr__(self, "_frozen", False)
        self._H = horizon_arg(horizon)
        ph = as_float_array(phi, "phi")
        if ph.ndim != 4:
            raise ValueError(f"phi: expected shape (S, A, S, d), got {ph.shape}")
        S, A, S2, d = ph.shape
        if S < 1 or A < 1 or d < 1:
            raise ValueError(f"phi: need S, A, d >= 1, got shape {ph.shape}")
        if S2 != S:
            raise ValueError(f"phi: axes 0 and 2 are both states, got {S} and {S2}")
        th = as_float_array(theta, "theta")
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
        self._phi = _sealed(ph)
        self._theta = _sealed(th)
        self._P = _sealed(P)
        self._R = _sealed(R)
        self._scale = reward_scale
        self._mu0 = _sealed(self._parse_mu0(mu0, S))
        if name is not None:
            check_type("name", name, str)
        self._name = name
        object.__setattr__(self, "_frozen", True)

    # ------------------------------------------------------------------ validation helpers
    def _check_rewards(self, rewards, S, A, P, scale, field="rewards"):
        R = as_float_array(rewards, field)
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
    def _parse_mu0(mu0, S):
        if mu0 is None:
            out = np.zeros(S)
            out[0] = 1.0
            return out
        if isinstance(mu0, numbers.Integral) and not isinstance(mu0, bool):
            out = np.zeros(S)
            out[check_int("mu0", mu0, low=0, high=S - 1)] = 1.0
            return out
        m = as_float_array(mu0, "mu0")
        if m.shape != (S,):
            raise ValueError(f"mu0: expected shape ({S},), got {m.shape}")
        if m.min() < 0:
            raise ValueError(f"mu0: negative probability {float(m.min())!r} at state {int(np.argmin(m))}")
        if abs(m.sum() - 1.0) > ROW_SUM_ATOL:
            raise ValueError(f"mu0: sums to {float(m.sum())!r}, not 1")
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
        """Number of states."""
        return self._phi.shape[0]

    @property
    def A(self) -> int:
        """Number of actions."""
        return self._phi.shape[1]

    @property
    def d(self) -> int:
        """Dimension of the mixture parameter."""
        return self._phi.shape[3]

    @property
    def horizon(self) -> int:
        """Episode length ``H`` (also available as ``H``)."""
        return self._H

    H = horizon

    @property
    def phi(self) -> np.ndarray:
        """Basis measures ``(S, A, S, d)`` (read-only)."""
        return self._phi.view()

    @property
    def theta(self) -> np.ndarray:
        """True parameter ``theta*`` ``(d,)`` (read-only)."""
        return self._theta.view()

    @property
    def P(self) -> np.ndarray:
        """The mixture kernel ``P[s, a, s'] = phi[s, a, s'] @ theta`` (read-only)."""
        return self._P.view()

    @property
    def R(self) -> np.ndarray:
        """Mean rewards ``(S, A)`` or ``(H, S, A)`` (read-only)."""
        return self._R.view()

    def R3(self) -> np.ndarray:
        """Rewards with a leading step axis.

        Returns
        -------
        ndarray, shape (1, S, A) or (H, S, A)
            A read-only view.
        """
        return self._R.view() if self._R.ndim == 3 else self._R.reshape((1,) + self._R.shape)

    @property
    def mu0(self) -> np.ndarray:
        """Initial distribution ``(S,)`` (read-only)."""
        return self._mu0.view()

    @property
    def reward_scale(self) -> str:
        """``"total"`` (every trajectory's total reward in [0, 1]) or ``"per_step"``."""
        return self._scale

    @property
    def name(self) -> str | None:
        """Optional display name."""
        return self._name

    @property
    def B(self) -> float:
        """``||theta*||_2`` (the paper's bound B holds for any B >= this)."""
        return float(np.linalg.norm(self._theta))

    def feature_norm_bound(self) -> float:
        """``max_{s,a} max_{V in [0,1]^S} ||psi_V(s,a)||_2`` (the paper assumes it is at most 1).

        A convex function of ``V``, so attained at a vertex of the cube; computed by enumerating the ``2^S`` vertices.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            For ``S > 16``.
        """
        S = self.S
        if S > 16:
            raise ValueError(f"feature_norm_bound: enumerates 2^S vertices, S={S} > 16")
        verts = ((np.arange(2 ** S)[:, None] >> np.arange(S)) & 1).astype(np.float64)
        ps = np.einsum("satd,vt->vsad", self._phi, verts)
        return float(np.sqrt((ps ** 2).sum(-1)).max())

    # ------------------------------------------------ oracle and evaluation (planning: rltheory.solvers.linear_mixture)
    def psi(self, V) -> np.ndarray:
        """Summation oracle ``psi_V(s,a) = sum_{s'} phi(s'|s,a) V(s')``, so that ``[P V](s, a) = <psi_V(s, a), theta*>``.

        Parameters
        ----------
        V : array_like, shape (S,)

        Returns
        -------
        ndarray, shape (S, A, d)
        """
        Varr = as_float_array(V, "V")
        if Varr.shape != (self.S,):
            raise ValueError(f"V: expected shape ({self.S},), got {Varr.shape}")
        out = np.empty((self.S, self.A, self.d))
        psi_oracle(self._phi, Varr, out)
        return out

    def rewards3(self, rewards=None) -> np.ndarray:
        """Rewards as a C-contiguous ``(hr, S, A)`` array, ``hr`` in {1, H}.

        Parameters
        ----------
        rewards : array_like, shape (S, A) or (H, S, A), optional
            Validated with this model's normalisation (``reward_scale``); default the model's rewards.

        Returns
        -------
        ndarray, shape (1, S, A) or (H, S, A)
            A fresh float64 array (or the model's read-only rewards).
        """
        if rewards is None:
            return np.ascontiguousarray(self.R3())
        R = self._check_rewards(rewards, self.S, self.A, self._P, self._scale)
        return np.ascontiguousarray(R if R.ndim == 3 else R[None])

    def theta_arg(self, theta=None) -> np.ndarray:
        """A mixture parameter for the summation oracle: ``theta*`` by default, else ``theta`` as a finite float64
        array of shape ``(d,)`` (not required to give a probability kernel).

        Parameters
        ----------
        theta : array_like, shape (d,), optional

        Returns
        -------
        ndarray, shape (d,)
            C-contiguous float64.

        Raises
        ------
        TypeError, ValueError
            Naming ``theta`` for a non-numeric, non-finite or wrongly shaped input.
        """
        th = self._theta.view() if theta is None else np.ascontiguousarray(as_float_array(theta, "theta"))
        if th.shape != (self.d,):
            raise ValueError(f"theta: expected shape ({self.d},), got {th.shape}")
        return th

    def evaluate(self, policy, rewards=None, theta=None) -> float:
        """Value ``mu0 @ V^pi_0`` of a deterministic Markov policy.

        ``V_h(s) = r_h(s, a) + <psi_{V_{h+1}}(s, a), theta>``, ``a = pi_h(s)``, ``V_H = 0``: in the true model, or with
        ``theta`` through the summation oracle with that parameter (not validated, no clipping).

        Parameters
        ----------
        policy : array_like of int, shape (H, S) or (S,)
        rewards : array_like, shape (S, A) or (H, S, A), optional
            Validated; default the model's.
        theta : array_like, shape (d,), optional
            Default ``theta*``.

        Returns
        -------
        float
        """
        pol = np.asarray(unmasked("policy", policy))  # (NumPy would drop a mask)
        if pol.dtype.kind not in "iu":
            raise TypeError(f"policy: expected an integer array, got dtype={pol.dtype}")
        if pol.shape == (self.S,):
            pol = np.broadcast_to(pol, (self._H, self.S))
        if pol.shape != (self._H, self.S):
            raise ValueError(f"policy: expected shape ({self._H}, {self.S}) or ({self.S},), got {pol.shape}")
        if pol.min() < 0 or pol.max() >= self.A:
            raise ValueError(f"policy: action out of range [0, {self.A})")
        R3 = self.rewards3(rewards)
        th = self.theta_arg(theta)
        V = np.empty((self._H + 1, self.S))
        lm_evaluate(self._phi, th, R3, self._H, np.ascontiguousarray(pol, dtype=np.int64), V)
        return float(self._mu0 @ V[0])

    # ------------------------------------------------------------------ conversions
    def to_tabular(self, rewards=None) -> TabularMDP:
        """The same MDP as a :class:`TabularMDP` with ``P = phi @ theta*`` (dense, time-homogeneous).

        Parameters
        ----------
        rewards : array_like, optional
            Default the model's (validated otherwise).

        Returns
        -------
        TabularMDP
        """
        R = self._R if rewards is None else self._check_rewards(rewards, self.S, self.A, self._P, self._scale)
        # our sealed kernel, kept without a copy (none of it is a caller's memory: shares_memory is False)
        return _rebuild_tabular(self._P, R, {"horizon": self._H}, self._mu0, self._name, True)

    def with_rewards(self, rewards, *, reward_scale: str | None = None) -> "LinearMixtureMDP":
        """The same model with other rewards (validated).

        Parameters
        ----------
        rewards : array_like, shape (S, A) or (H, S, A)
        reward_scale : {"total", "per_step"}, optional
            Default this model's.

        Returns
        -------
        LinearMixtureMDP
        """
        return LinearMixtureMDP(self._phi, self._theta, rewards, horizon=self._H, mu0=self._mu0,
                                reward_scale=self._scale if reward_scale is None else reward_scale, name=self._name)

    def with_horizon(self, horizon: int, rewards) -> "LinearMixtureMDP":
        """The same model with another horizon and rewards valid for it.

        Parameters
        ----------
        horizon : int
        rewards : array_like, shape (S, A) or (horizon, S, A)

        Returns
        -------
        LinearMixtureMDP
        """
        return LinearMixtureMDP(self._phi, self._theta, rewards, horizon=horizon, mu0=self._mu0,
                                reward_scale=self._scale, name=self._name)

    def __repr__(self):
        nm = f"{self._name!r}, " if self._name else ""
        return f"LinearMixtureMDP({nm}S={self.S}, A={self.A}, d={self.d}, H={self._H}, rewards={self._scale})"


def _rebuild(phi, theta, R, H, mu0, scale, name):
    return LinearMixtureMDP(phi, theta, R, horizon=H, mu0=mu0, reward_scale=scale, name=name)
