"""Validated, immutable tabular MDPs.

A :class:`TabularMDP` is either

* **finite-horizon** (``horizon=H``): the value of a Markov policy ``pi`` is
  ``V_h(s) = E[sum_{t=h}^{H-1} r_t(s_t, a_t) | s_h = s]`` with ``V_H = 0``; transitions and rewards may
  be time-homogeneous (``P[s, a, s']``, ``R[s, a]``) or time-inhomogeneous (``P[h, s, a, s']``, ``R[h, s, a]``);
* **discounted** (``gamma`` in ``[0, 1)``): ``V(s) = E[sum_t gamma^t r(s_t, a_t) | s_0 = s]``.

Transitions are stored either dense or as CSR rows over the flattened index ``(h*S + s)*A + a``
(``hp*S*A`` rows of length ``S``, ``hp`` = 1 for time-homogeneous kernels, ``H`` otherwise).
Validation happens once, at construction; every array handed out is read-only.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["TabularMDP", "ROW_SUM_ATOL"]

#: Tolerance on ``|sum_{s'} P(s'|s,a) - 1|`` accepted at construction.
ROW_SUM_ATOL = 1e-9


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def _as_float_array(x, field: str) -> np.ndarray:
    if isinstance(x, (sp.spmatrix, sp.sparray)):
        raise TypeError(f"{field}: sparse input is only accepted for P, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{field}: cannot convert {type(x).__name__} to an array ({exc})") from exc
    if arr.dtype == object:
        raise TypeError(f"{field}: expected a numeric array, got dtype=object (ragged or non-numeric input)")
    if arr.dtype.kind == "b":
        raise TypeError(f"{field}: expected a real numeric array, got dtype=bool")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{field}: expected a real numeric array, got dtype={arr.dtype}")
    arr = arr.astype(np.float64, copy=True)
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{field}: non-finite value {float(arr[bad])!r} at index {bad}")
    return arr


def _row_label(h: int | None, s: int, a: int) -> str:
    return f"(h={h}, s={s}, a={a})" if h is not None else f"(s={s}, a={a})"


def _flat_row_label(r: int, hp: int, S: int, A: int) -> str:
    """Label of flat CSR row ``r = (h*S + s)*A + a`` (h shown only for time-dependent kernels)."""
    h, rem = divmod(int(r), S * A)
    s, a = divmod(rem, A)
    return _row_label(h if hp > 1 else None, s, a)


def _check_rows(flat_rows_sum: np.ndarray, min_entries: np.ndarray, hp: int, S: int, A: int, field: str, atol: float):
    """Raise naming the first (h,) s, a whose row is negative or does not sum to one."""
    neg = np.flatnonzero(min_entries < 0.0)
    if neg.size:
        r = int(neg[0])
        raise ValueError(
            f"{field}: transition row {_flat_row_label(r, hp, S, A)} has a negative entry "
            f"({float(min_entries[r])!r})"
        )
    bad = np.flatnonzero(np.abs(flat_rows_sum - 1.0) > atol)
    if bad.size:
        r = int(bad[0])
        raise ValueError(
            f"{field}: transition row {_flat_row_label(r, hp, S, A)} sums to "
            f"{float(flat_rows_sum[r])!r}, not 1 (tolerance {atol:g})"
        )


@dataclass(frozen=True)
class _Sparse:
    indptr: np.ndarray  # int64, (hp*S*A + 1,)
    indices: np.ndarray  # int64
    data: np.ndarray  # float64


class TabularMDP:
    """A finite MDP with exact, validated transition and reward arrays.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix or sequence
        Transition kernel. Dense: shape ``(S, A, S)`` (time-homogeneous) or ``(H, S, A, S)``
        (finite horizon only). Sparse: a CSR-convertible matrix of shape ``(S*A, S)`` (or
        ``(H*S*A, S)``) whose row ``(h*S + s)*A + a`` is ``P_h(.|s, a)``; or a per-(s, a) successor
        list ``succ[s][a] = (next_states, probs)``.
    R : array_like
        Mean rewards ``R[s, a]`` or ``R[h, s, a]`` (finite horizon only).
    horizon : int, optional
        Episode length ``H >= 1``. Exactly one of ``horizon`` and ``gamma`` is given.
    gamma : float, optional
        Discount factor in ``[0, 1)``.
    mu0 : array_like or int, optional
        Initial-state distribution of shape ``(S,)`` or a single state index (default: state 0).
    name : str, optional
        Label used in reprs and reports.

    Raises
    ------
    TypeError, ValueError
        On a wrong type, shape, dtype, non-finite value, out-of-range value, or a transition row that is
        negative or does not sum to 1 within ``1e-9``; the message names the field and, for ``P``, the
        first offending ``(h,) s, a`` and its sum.
    """

    __slots__ = ("_S", "_A", "_H", "_gamma", "_P", "_sp", "_R", "_mu0", "_name", "_hp", "_frozen")

    def __init__(self, P, R, *, horizon=None, gamma=None, mu0=None, name: str | None = None):
        object.__setattr__(self, "_frozen", False)
        # ---- horizon / gamma ------------------------------------------------------------
        if (horizon is None) == (gamma is None):
            raise ValueError("exactly one of `horizon` (finite-horizon MDP) and `gamma` (discounted MDP) must be given")
        if horizon is not None:
            if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral):
                raise TypeError(f"horizon: expected an int, got {type(horizon).__name__}")
            if horizon < 1:
                raise ValueError(f"horizon: must be >= 1, got {horizon}")
            self._H = int(horizon)
            self._gamma = None
        else:
            if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
                raise TypeError(f"gamma: expected a float, got {type(gamma).__name__}")
            g = float(gamma)
            if not np.isfinite(g) or not (0.0 <= g < 1.0):
                raise ValueError(f"gamma: must lie in [0, 1), got {gamma!r}")
            self._H = None
            self._gamma = g
        # ---- rewards --------------------------------------------------------------------
        Rarr = _as_float_array(R, "R")
        if Rarr.ndim not in (2, 3):
            raise ValueError(f"R: expected shape (S, A) or (H, S, A), got {Rarr.shape}")
        if Rarr.ndim == 3:
            if self._H is None:
                raise ValueError("R: a time-dependent reward (H, S, A) needs a finite horizon")
            if Rarr.shape[0] != self._H:
                raise ValueError(f"R: leading dimension {Rarr.shape[0]} differs from horizon {self._H}")
        S, A = Rarr.shape[-2:]
        if S < 1 or A < 1:
            raise ValueError(f"R: need at least one state and one action, got shape {Rarr.shape}")
        self._S, self._A = int(S), int(A)
        # ---- transitions ----------------------------------------------------------------
        self._P = None
        self._sp = None
        if isinstance(P, (sp.spmatrix, sp.sparray)):
            self._init_sparse_matrix(P)
        elif isinstance(P, (list, tuple)) and len(P) == S and _looks_like_successor_list(P):
            self._init_successor_list(P)
        else:
            self._init_dense(P)
        self._R = _readonly(Rarr)
        # ---- initial distribution -------------------------------------------------------
        self._mu0 = _readonly(self._parse_mu0(mu0))
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name: expected a str, got {type(name).__name__}")
        self._name = name
        object.__setattr__(self, "_frozen", True)

    # ------------------------------------------------------------------ construction helpers
    def _init_dense(self, P):
        S, A = self._S, self._A
        Parr = _as_float_array(P, "P")
        if Parr.ndim == 3:
            hp = 1
        elif Parr.ndim == 4:
            if self._H is None:
                raise ValueError("P: a time-dependent kernel (H, S, A, S) needs a finite horizon")
            if Parr.shape[0] != self._H:
                raise ValueError(f"P: leading dimension {Parr.shape[0]} differs from horizon {self._H}")
            hp = self._H
        else:
            raise ValueError(f"P: expected shape (S, A, S) or (H, S, A, S), got {Parr.shape}")
        if Parr.shape[-3:] != (S, A, S):
            raise ValueError(f"P: shape {Parr.shape} does not match (S, A, S) = {(S, A, S)} implied by R")
        flat = Parr.reshape(hp * S * A, S)
        _check_rows(flat.sum(axis=1), flat.min(axis=1), hp, S, A, "P", ROW_SUM_ATOL)
        self._hp = hp
        self._P = _readonly(Parr if hp > 1 else Parr.reshape(S, A, S))

    def _init_sparse_matrix(self, P):
        S, A = self._S, self._A
        M = sp.csr_matrix(P)
        if M.dtype.kind not in "iuf" or M.dtype.kind == "b":
            raise TypeError(f"P: expected a real numeric sparse matrix, got dtype={M.dtype}")
        rows, cols = M.shape
        if cols != S:
            raise ValueError(f"P: sparse kernel has {cols} columns, expected S={S}")
        if rows == S * A:
            hp = 1
        elif self._H is not None and rows == self._H * S * A:
            hp = self._H
        else:
            raise ValueError(f"P: sparse kernel must have S*A={S * A} rows (or H*S*A), got {rows}")
        M = M.astype(np.float64)
        M.sum_duplicates()
        M.sort_indices()
        data = np.asarray(M.data, dtype=np.float64)
        if not np.all(np.isfinite(data)):
            r = int(np.searchsorted(M.indptr, int(np.flatnonzero(~np.isfinite(data))[0]), side="right") - 1)
            raise ValueError(f"P: non-finite entry in transition row {_flat_row_label(r, hp, S, A)}")
        self._set_csr(M.indptr, M.indices, data, hp)

    def _init_successor_list(self, succ):
        S, A = self._S, self._A
        indptr = [0]
        indices: list[np.ndarray] = []
        data: list[np.ndarray] = []
        for s in range(S):
            row = succ[s]
            if len(row) != A:
                raise ValueError(f"P: successor list for s={s} has {len(row)} actions, expected A={A}")
            for a in range(A):
                try:
                    nxt, prob = row[a]
                except (TypeError, ValueError) as exc:
                    raise TypeError(f"P: successor entry (s={s}, a={a}) must be a pair (next_states, probs)") from exc
                nxt = np.asarray(nxt)
                prob = _as_float_array(prob, f"P[(s={s}, a={a})] probabilities")
                if nxt.dtype.kind not in "iu":
                    raise TypeError(f"P: next states of (s={s}, a={a}) must be integers, got dtype={nxt.dtype}")
                if nxt.ndim != 1 or prob.ndim != 1 or nxt.shape != prob.shape:
                    raise ValueError(f"P: (s={s}, a={a}) next_states and probs must be 1-D of equal length")
                if nxt.size and (nxt.min() < 0 or nxt.max() >= S):
                    raise ValueError(f"P: next state out of range [0, {S}) for (s={s}, a={a})")
                indices.append(nxt.astype(np.int64))
                data.append(prob)
                indptr.append(indptr[-1] + nxt.size)
        M = sp.csr_matrix(
            (np.concatenate(data) if data else np.zeros(0), np.concatenate(indices) if indices else np.zeros(0, np.int64),
             np.asarray(indptr, dtype=np.int64)),
            shape=(S * A, S),
        )
        M.sum_duplicates()
        M.sort_indices()
        self._set_csr(M.indptr, M.indices, np.asarray(M.data, dtype=np.float64), 1)

    def _set_csr(self, indptr, indices, data, hp):
        S, A = self._S, self._A
        indptr = np.asarray(indptr, dtype=np.int64)
        indices = np.asarray(indices, dtype=np.int64)
        nrows = hp * S * A
        sums = np.add.reduceat(data, indptr[:-1]) if data.size else np.zeros(nrows)
        # reduceat returns data[indptr[i]] for empty rows; fix them to 0
        empty = indptr[1:] == indptr[:-1]
        sums = np.where(empty, 0.0, sums)
        mins = np.full(nrows, np.inf)
        if data.size:
            m = np.minimum.reduceat(data, indptr[:-1])
            mins = np.where(empty, np.inf, m)
        _check_rows(sums, mins, hp, S, A, "P", ROW_SUM_ATOL)
        self._hp = hp
        self._sp = _Sparse(_readonly(indptr), _readonly(indices), _readonly(data))

    def _parse_mu0(self, mu0) -> np.ndarray:
        S = self._S
        if mu0 is None:
            out = np.zeros(S)
            out[0] = 1.0
            return out
        if isinstance(mu0, numbers.Integral) and not isinstance(mu0, bool):
            if not 0 <= mu0 < S:
                raise ValueError(f"mu0: initial state {mu0} out of range [0, {S})")
            out = np.zeros(S)
            out[int(mu0)] = 1.0
            return out
        m = _as_float_array(mu0, "mu0")
        if m.shape != (S,):
            raise ValueError(f"mu0: expected shape ({S},), got {m.shape}")
        if m.min() < 0:
            raise ValueError(f"mu0: negative probability {float(m.min())!r} at state {int(np.argmin(m))}")
        if abs(m.sum() - 1.0) > ROW_SUM_ATOL:
            raise ValueError(f"mu0: sums to {float(m.sum())!r}, not 1")
        return m

    # ------------------------------------------------------------------ immutability
    def __setattr__(self, key, value):
        if getattr(self, "_frozen", False):
            raise AttributeError("TabularMDP is immutable; use .with_rewards(...) or build a new one")
        object.__setattr__(self, key, value)

    def _timing_kwargs(self) -> dict:
        """``{"horizon": H}`` or ``{"gamma": gamma}``, to rebuild an MDP of the same kind."""
        return {"horizon": self._H} if self._H is not None else {"gamma": self._gamma}

    def __reduce__(self):
        P = self.P if self._P is not None else self.P_csr
        kw = self._timing_kwargs()
        return (_rebuild, (P, self._R, kw, self._mu0, self._name))

    # ------------------------------------------------------------------ properties
    @property
    def S(self) -> int:
        """Number of states."""
        return self._S

    @property
    def A(self) -> int:
        """Number of actions."""
        return self._A

    @property
    def horizon(self) -> int | None:
        """Episode length ``H`` (None for discounted MDPs)."""
        return self._H

    H = horizon

    @property
    def gamma(self) -> float | None:
        """Discount factor (None for finite-horizon MDPs)."""
        return self._gamma

    @property
    def finite_horizon(self) -> bool:
        return self._H is not None

    @property
    def discounted(self) -> bool:
        return self._gamma is not None

    @property
    def is_sparse(self) -> bool:
        return self._sp is not None

    @property
    def time_homogeneous(self) -> bool:
        """True when neither P nor R depend on the step h."""
        return self._hp == 1 and self._R.ndim == 2

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def mu0(self) -> np.ndarray:
        """Initial-state distribution, shape ``(S,)`` (read-only)."""
        return self._mu0

    @property
    def R(self) -> np.ndarray:
        """Mean rewards as given: ``(S, A)`` or ``(H, S, A)`` (read-only)."""
        return self._R

    @property
    def P(self) -> np.ndarray:
        """Dense transition kernel ``(S, A, S)`` or ``(H, S, A, S)`` (read-only; built from CSR if sparse)."""
        if self._P is not None:
            return self._P
        S, A, hp = self._S, self._A, self._hp
        dense = self.P_csr.toarray()
        return _readonly(dense.reshape((hp, S, A, S)) if hp > 1 else dense.reshape(S, A, S))

    @property
    def P_csr(self) -> sp.csr_matrix:
        """The kernel as a CSR matrix of shape ``(hp*S*A, S)``, row ``(h*S + s)*A + a``."""
        if self._sp is not None:
            s_ = self._sp
            return sp.csr_matrix((s_.data, s_.indices, s_.indptr), shape=(self._hp * self._S * self._A, self._S))
        return sp.csr_matrix(self._P.reshape(-1, self._S))

    @property
    def csr_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(indptr, indices, data)`` of the CSR kernel (int64, int64, float64), for kernels."""
        if self._sp is None:
            M = self.P_csr
            return (np.asarray(M.indptr, np.int64), np.asarray(M.indices, np.int64), np.asarray(M.data, np.float64))
        return self._sp.indptr, self._sp.indices, self._sp.data

    @property
    def max_successors(self) -> int:
        """Largest number of next states with positive probability over all (h, s, a) (Gamma in the LMDP paper)."""
        if self._sp is not None:
            indptr, _, data = self.csr_arrays
            counts = np.add.reduceat((data > 0).astype(np.int64), indptr[:-1]) if data.size else np.zeros(1, np.int64)
            return int(counts.max())
        return int((self._P > 0).reshape(-1, self._S).sum(axis=1).max())

    # -- uniform views for kernels --------------------------------------------------------
    def P4(self) -> np.ndarray:
        """Dense kernel with a leading step axis: ``(hp, S, A, S)``, ``hp`` in {1, H}."""
        P = self.P
        return P if P.ndim == 4 else P.reshape((1,) + P.shape)

    def R3(self) -> np.ndarray:
        """Rewards with a leading step axis: ``(hr, S, A)``, ``hr`` in {1, H}."""
        R = self._R
        return R if R.ndim == 3 else R.reshape((1,) + R.shape)

    def reward_at(self, h: int) -> np.ndarray:
        return self._R[h] if self._R.ndim == 3 else self._R

    # ------------------------------------------------------------------ derived MDPs
    def with_rewards(self, R) -> "TabularMDP":
        """Same dynamics, horizon/discount and mu0, new rewards (validated)."""
        P = self._P if self._P is not None else self.P_csr
        kw = self._timing_kwargs()
        return TabularMDP(P, R, mu0=self._mu0, name=self._name, **kw)

    def with_mu0(self, mu0) -> "TabularMDP":
        P = self._P if self._P is not None else self.P_csr
        kw = self._timing_kwargs()
        return TabularMDP(P, self._R, mu0=mu0, name=self._name, **kw)

    def to_sparse(self) -> "TabularMDP":
        if self.is_sparse:
            return self
        kw = self._timing_kwargs()
        return TabularMDP(self.P_csr, self._R, mu0=self._mu0, name=self._name, **kw)

    def to_dense(self) -> "TabularMDP":
        if not self.is_sparse:
            return self
        kw = self._timing_kwargs()
        return TabularMDP(self.P, self._R, mu0=self._mu0, name=self._name, **kw)

    def __repr__(self) -> str:
        kind = f"H={self._H}" if self._H is not None else f"gamma={self._gamma}"
        form = "sparse" if self.is_sparse else "dense"
        hom = "homogeneous" if self.time_homogeneous else "inhomogeneous"
        nm = f"{self._name!r}, " if self._name else ""
        return f"TabularMDP({nm}S={self._S}, A={self._A}, {kind}, {form}, {hom})"


def _rebuild(P, R, kw, mu0, name):
    return TabularMDP(P, R, mu0=mu0, name=name, **kw)


def _looks_like_successor_list(P) -> bool:
    """A per-(s, a) successor list: ``P[s][a] == (next_states, probs)``."""
    try:
        first = P[0][0]
        return len(first) == 2 and np.ndim(first[0]) == 1 and np.ndim(first[1]) == 1
    except Exception:
        return False
