"""Latent MDPs (LMDPs) with context in hindsight.

Setting of Zhou, Wang & Du, *Horizon-Free and Variance-Dependent Reinforcement Learning for Latent Markov
Decision Processes*, ICML 2023, Sec. 3.1 (after Kwon, Efroni, Caramanis & Mannor, NeurIPS 2021): a finite
collection ``{M_1, ..., M_M}`` of MDPs sharing the state set, action set and horizon ``H``. Context ``m`` has its
own initial distribution ``nu_m``, time-homogeneous transition kernel ``P_m(.|s, a)`` and **deterministic**
reward ``R_m(s, a)``; mixing weights ``w_m > 0`` sum to one.

One episode: nature draws ``m ~ w`` and ``s_1 ~ nu_m``; for ``h = 1..H`` the agent sees ``s_h`` (and, after acting,
``r_h = R_m(s_h, a_h)``), moves to ``s_{h+1} ~ P_m(.|s_h, a_h)``; after the episode ``m`` is revealed.
The paper normalises the total reward of an episode to at most 1; :attr:`LatentMDP.max_return` reports the
largest achievable return so that constructors can check it (the class itself accepts any rewards in [0, 1]).

``Gamma = max_{m,s,a} |supp P_m(.|s, a)|`` is :attr:`LatentMDP.Gamma`.
"""
from __future__ import annotations

from bisect import bisect_right

import numpy as np

from .._validation import check_int, check_type
from ._validate import dense_first_bad_row, max_path_return
from .tabular import ROW_SUM_ATOL, TabularMDP, _row_defect, as_float_array, check_solution_size, horizon_arg, _sealed

__all__ = ["LatentMDP", "LMDPEpisode"]


class LMDPEpisode:
    """One simulated episode: ``context`` (revealed at the end), ``states`` (H+1,), ``actions`` (H,),
    ``rewards`` (H,)."""

    __slots__ = ("context", "states", "actions", "rewards")

    def __init__(self, context, states, actions, rewards):
        self.context = int(context)
        self.states = np.asarray(states, dtype=np.int64)
        self.actions = np.asarray(actions, dtype=np.int64)
        self.rewards = np.asarray(rewards, dtype=np.float64)

    @property
    def ret(self) -> float:
        """The episode's return ``sum_h r_h``."""
        return float(self.rewards.sum())

    def __repr__(self):
        return f"LMDPEpisode(context={self.context}, return={self.ret:.4g})"


class LatentMDP:
    """``M`` finite-horizon tabular MDPs on shared ``S``, ``A``, ``H`` with mixing weights.

    Parameters
    ----------
    P : array_like, shape ``(M, S, A, S)``
        ``P[m, s, a, s'] = P_m(s'|s, a)``.
    R : array_like, shape ``(M, S, A)``
        Deterministic rewards ``R_m(s, a)`` in ``[0, 1]``.
    weights : array_like, shape ``(M,)``
        Mixing weights, each ``> 0``, summing to 1.
    mu0 : array_like, shape ``(M, S)`` or ``(S,)``
        Initial-state distribution ``nu_m`` of each context (a single ``(S,)`` vector is shared by all contexts).
    horizon : int
        ``H >= 1`` (an integral float such as ``5.0`` is accepted).

    Raises
    ------
    TypeError, ValueError
        Naming the field and, for transitions, the first bad ``(m, s, a)``.
    """

    __slots__ = ("_P", "_R", "_w", "_mu0", "_H", "_name", "_frozen")

    def __init__(self, P, R, weights, mu0, *, horizon, name: str | None = None):
        object.__setattr__(self, "_frozen", False)
        horizon = horizon_arg(horizon)
        Parr = as_float_array(P, "P")
        if Parr.ndim != 4 or Parr.shape[1] != Parr.shape[3]:
            raise ValueError(f"P: expected shape (M, S, A, S), got {Parr.shape}")
        M, S, A, _ = Parr.shape
        if M < 1 or S < 1 or A < 1:
            raise ValueError(f"P: need M, S, A >= 1, got shape {Parr.shape}")
        check_solution_size(horizon, M * S, A)
        r = int(dense_first_bad_row(Parr.reshape(M * S * A, S), ROW_SUM_ATOL))
        if r >= 0:
            m, rem = divmod(r, S * A)
            s, a = divmod(rem, A)
            row = Parr[m, s, a]
            if row.min() < 0:
                raise ValueError(f"P: transition row (m={m}, s={s}, a={a}) has a negative entry "
                                 f"({float(row.min())!r})")
            raise _row_defect(row, f"(m={m}, s={s}, a={a})", "P", ROW_SUM_ATOL)
        Rarr = as_float_array(R, "R")
        if Rarr.shape != (M, S, A):
            raise ValueError(f"R: expected shape (M, S, A) = {(M, S, A)}, got {Rarr.shape}")
        badr = np.argwhere((Rarr < 0) | (Rarr > 1))
        if badr.size:
            m, s, a = (int(x) for x in badr[0])
            raise ValueError(f"R: reward at (m={m}, s={s}, a={a}) is {float(Rarr[m, s, a])!r}, outside [0, 1]")
        w = as_float_array(weights, "weights")
        if w.shape != (M,):
            raise ValueError(f"weights: expected shape ({M},), got {w.shape}")
        if np.any(w <= 0):
            m = int(np.flatnonzero(w <= 0)[0])
            raise ValueError(f"weights: w[{m}] = {float(w[m])!r}, every mixing weight must be > 0")
        if abs(w.sum() - 1.0) > ROW_SUM_ATOL:
            raise ValueError(f"weights: sum to {float(w.sum())!r}, not 1")
        nuarr = as_float_array(mu0, "mu0")
        if nuarr.shape == (S,):
            nuarr = np.repeat(nuarr[None], M, axis=0)
        if nuarr.shape != (M, S):
            raise ValueError(f"mu0: expected shape (M, S) = {(M, S)} or ({S},), got {nuarr.shape}")
        if np.any(nuarr < 0):
            m, s = (int(x) for x in np.argwhere(nuarr < 0)[0])
            raise ValueError(f"mu0: negative probability {float(nuarr[m, s])!r} at (m={m}, s={s})")
        ns = nuarr.sum(axis=1)
        if np.any(np.abs(ns - 1.0) > ROW_SUM_ATOL):
            m = int(np.flatnonzero(np.abs(ns - 1.0) > ROW_SUM_ATOL)[0])
            raise ValueError(f"mu0: initial distribution of context m={m} sums to {float(ns[m])!r}, not 1")
        if name is not None:
            check_type("name", name, str)
        self._P = _sealed(Parr)
        self._R = _sealed(Rarr)
        self._w = _sealed(w)
        self._mu0 = _sealed(nuarr)
        self._H = int(horizon)
        self._name = name
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, key, value):
        if getattr(self, "_frozen", False):
            raise AttributeError("LatentMDP is immutable; build a new one")
        object.__setattr__(self, key, value)

    def __reduce__(self):
        return (_rebuild, (self._P, self._R, self._w, self._mu0, self._H, self._name))

    # ------------------------------------------------------------------ properties
    @property
    def M(self) -> int:
        """Number of contexts."""
        return self._P.shape[0]

    @property
    def S(self) -> int:
        """Number of states."""
        return self._P.shape[1]

    @property
    def A(self) -> int:
        """Number of actions."""
        return self._P.shape[2]

    @property
    def horizon(self) -> int:
        """Episode length ``H`` (also available as ``H``)."""
        return self._H

    H = horizon

    @property
    def P(self) -> np.ndarray:
        """``(M, S, A, S)`` read-only."""
        return self._P.view()

    @property
    def R(self) -> np.ndarray:
        """``(M, S, A)`` read-only."""
        return self._R.view()

    @property
    def weights(self) -> np.ndarray:
        """Context weights ``w (M,)`` (read-only; also available as ``w``)."""
        return self._w.view()

    w = weights

    @property
    def mu0(self) -> np.ndarray:
        """Initial-state distributions ``nu_m``, ``(M, S)`` read-only (also available as ``nu``)."""
        return self._mu0.view()

    nu = mu0

    @property
    def name(self) -> str | None:
        """Optional display name."""
        return self._name

    @property
    def Gamma(self) -> int:
        """``max_{m,s,a} |supp P_m(.|s,a)|`` (Zhou, Wang & Du 2023, Sec. 3.1)."""
        return int((self._P > 0).sum(axis=3).max())

    @property
    def max_return(self) -> float:
        """Largest return of any trajectory (``<= 1`` in the paper's normalisation); exact DP over (m, h, s)
        ignoring probabilities (max over reachable paths)."""
        best = 0.0
        W = np.empty(self.S)
        for m in range(self.M):
            max_path_return(np.ascontiguousarray(self._P[m] > 0), self._R[m][None], self._H, W)
            best = max(best, float(W[self._mu0[m] > 0].max()))
        return best

    def context(self, m: int) -> TabularMDP:
        """Context ``m`` as a finite-horizon :class:`TabularMDP` (its own ``nu_m`` as ``mu0``).

        Parameters
        ----------
        m : int
            Context index in ``[0, M)``.

        Returns
        -------
        TabularMDP
        """
        m = check_int("m", m, low=0, high=self.M - 1)
        nm = f"{self._name}[m={m}]" if self._name else f"context {m}"
        return TabularMDP(self._P[m], self._R[m], horizon=self._H, mu0=self._mu0[m], name=nm)

    def __repr__(self):
        nm = f"{self._name!r}, " if self._name else ""
        return f"LatentMDP({nm}M={self.M}, S={self.S}, A={self.A}, H={self._H}, Gamma={self.Gamma})"

    # ------------------------------------------------------------------ simulator
    def simulate(self, policy, *, seed) -> LMDPEpisode:
        """One episode under a history-dependent policy; the context is revealed only in the record (hindsight).

        The context ``m ~ w``, ``s_0 ~ nu_m``, then ``a_h = policy(h, states, actions, rewards)`` (it sees ``s_0..s_h``,
        the past actions and rewards, never the context), ``r_h = R_m(s_h, a_h)``, ``s_{h+1} ~ P_m(.|s_h, a_h)``.

        The histories handed to the policy are read-only NumPy views of the episode's own arrays (``states[:h+1]``,
        ``actions[:h]``, ``rewards[:h]``), so a step costs the same at every ``h``; the entries a view shows never
        change afterwards. Every draw is ``Generator.choice``'s (one uniform per draw, inverse CDF
        ``cumsum(p) / sum`` searched from the right), taken in the same order: context, initial state, then one
        successor per step after the policy has acted. The CDF of each visited ``(s, a)`` row is built once per
        episode.

        Parameters
        ----------
        policy : callable
            ``policy(h, states, actions, rewards) -> action``; ``states`` int64 of shape ``(h + 1,)``, ``actions``
            int64 of shape ``(h,)``, ``rewards`` float64 of shape ``(h,)``.
        seed : int or numpy Generator seed
            Seed of ``numpy.random.default_rng`` (a ``Generator`` is used as is).

        Returns
        -------
        LMDPEpisode
        """
        rng = np.random.default_rng(seed)
        m = int(rng.choice(self.M, p=self._w))
        s = int(rng.choice(self.S, p=self._mu0[m]))
        H, A = self._H, self.A
        states = np.empty(H + 1, dtype=np.int64)
        actions = np.empty(H, dtype=np.int64)
        rewards = np.empty(H, dtype=np.float64)
        states[0] = s
        views = []
        for arr in (states, actions, rewards):
            v = arr.view()
            v.flags.writeable = False
            views.append(v)
        sv, av, rv = views
        Pm = self._P[m]
        Rm = self._R[m].tolist()  # Python floats: the same values as float(self._R[m, s, a])
        cdfs = {}  # (s, a) -> CDF row as a list, built as Generator.choice builds it
        uniform = rng.random
        for h in range(H):
            a = policy(h, sv[: h + 1], av[:h], rv[:h])
            if type(a) is not int or not 0 <= a < A:
                a = check_int(f"policy: action at h={h}", a, low=0, high=A - 1)
            actions[h] = a
            rewards[h] = Rm[s][a]
            key = s * A + a
            cdf = cdfs.get(key)
            if cdf is None:
                c = Pm[s, a].cumsum()
                c /= c[-1]
                cdf = cdfs[key] = c.tolist()
            s = bisect_right(cdf, uniform())
            states[h + 1] = s
        return LMDPEpisode(m, states, actions, rewards)


def _rebuild(P, R, w, mu0, H, name):
    return LatentMDP(P, R, w, mu0, horizon=H, name=name)
