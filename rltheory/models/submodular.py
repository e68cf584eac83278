"""Set-function rewards over visited states, and the submodular-reward MDP (Prajapat et al., ICLR 2024).

A :class:`SetFunction` ``F: 2^V -> R`` over a ground set ``V = {0..n-1}`` (states, or state-action
pairs) is evaluated on sets represented as boolean masks of length ``n``. SubRL maximises
``J(pi) = E_{tau ~ pi}[F(visited(tau))]`` (Prajapat, Mutny, Zeilinger & Krause 2024, Sec. 2), where
``visited(tau)`` is the set of states of the trajectory ``s_0..s_{H-1}``; the marginal gain
``F(v | B) = F(B u {v}) - F(B)`` is the per-step reward that SubPO uses.

Provided functions (all normalised, ``F(empty) = 0``, monotone and submodular):

* :class:`Modular`: ``F(B) = sum_{v in B} w_v``, ``w >= 0`` (ordinary additive RL on first visits);
* :class:`Coverage` / weighted coverage: element ``v`` covers a set of cells ``C_v`` with cell weights
  ``c``; ``F(B) = sum_{cells in union_{v in B} C_v} c_cell``;
* :class:`FacilityLocation`: ``F(B) = sum_j max_{v in B} M[j, v]`` with ``M >= 0`` (empty max = 0);
* :class:`LogDet`: Bayesian experiment design, ``F(B) = log det(I + sigma^-2 K_BB)`` for a PSD kernel ``K``;
* :class:`GPVarianceReduction`: informative path planning, ``F(B) = sum_j (k(j,j) - k_{j|B})`` the total
  posterior-variance reduction at target points after noisy observations at ``B`` (Krause & Guestrin 2007).
  (Variance reduction is submodular under the conditions of Das & Kempe 2008; for general kernels it need
  not be — :func:`check_submodular` tells.)

Every function also exposes :meth:`SetFunction.table` for small ground sets (``n <= 20``): ``F`` on all
``2^n`` masks as a float64 array indexed by the bitmask, which the Numba bitmask DP consumes.
"""
from __future__ import annotations

import numpy as np

from .._validation import as_generator, check_int, check_real
from .tabular import TabularMDP

__all__ = [
    "SetFunction",
    "Modular",
    "Coverage",
    "FacilityLocation",
    "LogDet",
    "GPVarianceReduction",
    "TableFunction",
    "SubmodularMDP",
    "check_submodular",
    "MAX_TABLE_ELEMENTS",
]

#: Largest ground set for which :meth:`SetFunction.table` tabulates all subsets (2^20 floats = 8 MB).
MAX_TABLE_ELEMENTS = 20


def _as_mask(B, n: int) -> np.ndarray:
    B = np.asarray(B)
    if B.dtype == bool:
        if B.shape != (n,):
            raise ValueError(f"set mask: expected shape ({n},), got {B.shape}")
        return B
    idx = B.astype(np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"set: element out of range [0, {n})")
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    return m


class SetFunction:
    """Base class: ``n`` elements, ``value(mask)`` for a boolean mask of shape (n,)."""

    n: int

    def value(self, B) -> float:
        """``F(B)``.

        Parameters
        ----------
        B : numpy.ndarray of bool
            The set as a mask of length ``n``.

        Returns
        -------
        float
            ``F(B)``.
        """
        raise NotImplementedError

    def __call__(self, B) -> float:
        return float(self.value(_as_mask(B, self.n)))

    def gain(self, v: int, B) -> float:
        """Marginal gain ``F(v | B) = F(B u {v}) - F(B)``.

        Parameters
        ----------
        v : int
            An element.
        B : array_like of bool or iterable of int
            A set, as a mask of length ``n`` or as elements.

        Returns
        -------
        float
            ``F(v | B)``.
        """
        m = _as_mask(B, self.n)
        if m[v]:
            return 0.0
        m2 = m.copy()
        m2[v] = True
        return float(self.value(m2) - self.value(m))

    def table(self) -> np.ndarray:
        """``F`` on every subset, indexed by bitmask (bit ``v`` set iff ``v`` in the set).

        Returns
        -------
        numpy.ndarray
            Shape ``(2^n,)``.
        """
        n = self.n
        if n > MAX_TABLE_ELEMENTS:
            raise ValueError(f"table: ground set of {n} elements exceeds MAX_TABLE_ELEMENTS={MAX_TABLE_ELEMENTS}")
        masks = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
        return np.array([self.value(m) for m in masks], dtype=np.float64)


class TableFunction(SetFunction):
    """A set function given by its table over all ``2^n`` bitmasks (user-supplied ``F``)."""

    def __init__(self, table):
        t = np.asarray(table, dtype=np.float64)
        if t.ndim != 1 or t.size < 1 or (t.size & (t.size - 1)) != 0:
            raise ValueError(f"table: expected a 1-D array of length 2^n, got shape {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError("table: non-finite value")
        self.n = int(t.size).bit_length() - 1
        self._t = t

    def value(self, B) -> float:
        return float(self._t[int(np.dot(B.astype(np.int64), 1 << np.arange(self.n)))])

    def table(self) -> np.ndarray:
        """Returns
        -------
        numpy.ndarray
            Shape ``(2^n,)``, the stored table.
        """
        return self._t.copy()


class Modular(SetFunction):
    """``F(B) = sum_{v in B} w_v`` (the additive special case: SubRL reduces to RL on first visits)."""

    def __init__(self, weights):
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or w.size == 0:
            raise ValueError("weights: expected a non-empty 1-D array")
        if not np.all(np.isfinite(w)) or w.min() < 0:
            raise ValueError("weights: must be finite and non-negative (monotone F)")
        self.w = w
        self.n = w.size

    def value(self, B) -> float:
        return float(self.w[B].sum())


class Coverage(SetFunction):
    """Weighted coverage: element ``v`` covers the cells ``covers[v]`` (a boolean (n, m) matrix);
    ``F(B) = sum_{c covered by B} cell_weights[c]`` (unit weights by default)."""

    def __init__(self, covers, cell_weights=None):
        C = np.asarray(covers)
        if C.ndim != 2 or C.dtype != bool:
            raise TypeError("covers: expected a boolean (n_elements, n_cells) array")
        self.C = C
        self.n = C.shape[0]
        if cell_weights is None:
            cw = np.ones(C.shape[1])
        else:
            cw = np.asarray(cell_weights, dtype=np.float64)
            if cw.shape != (C.shape[1],):
                raise ValueError(f"cell_weights: expected shape ({C.shape[1]},), got {cw.shape}")
            if not np.all(np.isfinite(cw)) or cw.min() < 0:
                raise ValueError("cell_weights: must be finite and non-negative")
        self.cw = cw

    def value(self, B) -> float:
        if not B.any():
            return 0.0
        return float(self.cw[self.C[B].any(axis=0)].sum())


class FacilityLocation(SetFunction):
    """``F(B) = sum_j max_{v in B} M[j, v]`` for a non-negative (n_targets, n) matrix ``M``."""

    def __init__(self, M):
        M = np.asarray(M, dtype=np.float64)
        if M.ndim != 2 or not np.all(np.isfinite(M)) or M.min() < 0:
            raise ValueError("M: expected a finite non-negative (n_targets, n_elements) matrix")
        self.M = M
        self.n = M.shape[1]

    def value(self, B) -> float:
        if not B.any():
            return 0.0
        return float(self.M[:, B].max(axis=1).sum())


def _check_psd(K, field):
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"{field}: expected a square matrix, got shape {K.shape}")
    if not np.all(np.isfinite(K)) or not np.allclose(K, K.T, atol=1e-12):
        raise ValueError(f"{field}: must be finite and symmetric")
    if np.linalg.eigvalsh(K).min() < -1e-9 * max(1.0, np.abs(K).max()):
        raise ValueError(f"{field}: must be positive semi-definite")
    return K


class LogDet(SetFunction):
    """``F(B) = log det(I + K_BB / noise^2)``: information gain of noisy observations at ``B`` under a GP
    prior with kernel ``K`` (Bayesian experiment design; Krause & Guestrin 2005)."""

    def __init__(self, K, *, noise: float = 1.0):
        self.K = _check_psd(K, "K")
        self.noise2 = check_real("noise", noise, low=0.0, low_open=True) ** 2
        self.n = self.K.shape[0]

    def value(self, B) -> float:
        idx = np.flatnonzero(B)
        if idx.size == 0:
            return 0.0
        M = np.eye(idx.size) + self.K[np.ix_(idx, idx)] / self.noise2
        sign, ld = np.linalg.slogdet(M)
        return float(ld)


class GPVarianceReduction(SetFunction):
    """``F(B) = sum_{j in targets} [k(j,j) - Var(f_j | y_B)]``, noisy observations ``y_v = f_v + eps``,
    ``eps ~ N(0, noise^2)``; ``K`` is the joint kernel over elements (first ``n``) and targets (last rows)."""

    def __init__(self, K_elements, K_cross, K_targets_diag, *, noise: float = 0.1):
        self.K = _check_psd(K_elements, "K_elements")
        self.Kc = np.asarray(K_cross, dtype=np.float64)  # (n_targets, n)
        self.kt = np.asarray(K_targets_diag, dtype=np.float64)
        if self.Kc.ndim != 2 or self.Kc.shape[1] != self.K.shape[0]:
            raise ValueError("K_cross: expected shape (n_targets, n_elements)")
        if self.kt.shape != (self.Kc.shape[0],):
            raise ValueError("K_targets_diag: expected shape (n_targets,)")
        self.noise2 = check_real("noise", noise, low=0.0, low_open=True) ** 2
        self.n = self.K.shape[0]

    def value(self, B) -> float:
        idx = np.flatnonzero(B)
        if idx.size == 0:
            return 0.0
        M = self.K[np.ix_(idx, idx)] + self.noise2 * np.eye(idx.size)
        Kc = self.Kc[:, idx]
        red = np.einsum("ij,ij->i", Kc, np.linalg.solve(M, Kc.T).T)
        return float(red.sum())


def check_submodular(F: SetFunction, *, n_samples: int = 200, seed=0, atol: float = 1e-9,
                     exhaustive_limit: int = 10) -> None:
    """Raise ``ValueError`` naming the violated property when ``F`` is not normalised, monotone and submodular.

    Exhaustive for ``n <= exhaustive_limit`` (every pair ``B``, ``B u {u}`` and element ``v``), else on
    ``n_samples`` random chains ``A subset B`` and elements ``v``:
    ``F(empty) = 0``; ``F(v | A) >= 0``; ``F(v | A) >= F(v | B)`` for ``A subset B``, ``v not in B``.

    Parameters
    ----------
    F : SetFunction
        The set function.
    n_samples : int
        Random chains tested when ``n > exhaustive_limit``.
    seed : int or numpy.random.Generator
        Seed of the random chains.
    atol : float
        Tolerance of the inequalities.
    exhaustive_limit : int
        Largest ``n`` tested exhaustively.

    Raises
    ------
    ValueError
        ``F`` violates one of the three properties; the message names it.
    """
    n = F.n
    empty = np.zeros(n, dtype=bool)
    f0 = F.value(empty)
    if abs(f0) > atol:
        raise ValueError(f"F is not normalised: F(empty) = {f0!r}")
    if n <= exhaustive_limit:
        T = F.table()
        for mask in range(2 ** n):
            for v in range(n):
                if mask >> v & 1:
                    continue
                g = T[mask | (1 << v)] - T[mask]
                if g < -atol:
                    raise ValueError(f"F is not monotone: F({v} | {_fmt(mask, n)}) = {float(g)!r} < 0")
                for u in range(n):
                    if u == v or mask >> u & 1:
                        continue
                    big = mask | (1 << u)
                    g2 = T[big | (1 << v)] - T[big]
                    if g2 > g + atol:
                        raise ValueError(
                            f"F is not submodular: F({v} | {_fmt(big, n)}) = {float(g2)!r} > F({v} | {_fmt(mask, n)}) = {float(g)!r}")
        return
    n_samples = check_int("n_samples", n_samples, low=0)
    rng = as_generator("seed", seed)
    for _ in range(n_samples):
        A = rng.random(n) < rng.random()
        B = A | (rng.random(n) < rng.random())
        free = np.flatnonzero(~B)
        if free.size == 0:
            continue
        v = int(rng.choice(free))
        gA, gB = F.gain(v, A), F.gain(v, B)
        if gA < -atol or gB < -atol:
            raise ValueError(f"F is not monotone: negative marginal gain of element {v}")
        if gB > gA + atol:
            raise ValueError(f"F is not submodular: F({v} | B) = {gB!r} > F({v} | A) = {gA!r} with A a subset of B")


def _fmt(mask: int, n: int) -> str:
    return "{" + ", ".join(str(i) for i in range(n) if mask >> i & 1) + "}"


class SubmodularMDP:
    """Tabular dynamics (a finite-horizon :class:`TabularMDP`, whose own rewards are ignored) plus a set
    function ``F`` over its states: ``J(pi) = E[F({s_0, ..., s_{H-1}})]``."""

    def __init__(self, mdp: TabularMDP, F: SetFunction, *, validate: bool = True):
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
        if not mdp.finite_horizon:
            raise ValueError("mdp: submodular RL is stated for finite-horizon MDPs (horizon=H)")
        if not isinstance(F, SetFunction):
            raise TypeError(f"F: expected a SetFunction, got {type(F).__name__}")
        if F.n != mdp.S:
            raise ValueError(f"F: ground set has {F.n} elements, the MDP has S={mdp.S} states")
        if validate:
            check_submodular(F)
        self.mdp = mdp
        self.F = F

    @property
    def S(self):
        """Number of states (the ground set of ``F``)."""
        return self.mdp.S

    @property
    def A(self):
        """Number of actions of the dynamics."""
        return self.mdp.A

    @property
    def horizon(self):
        """The horizon ``H``: a trajectory visits ``H`` states."""
        return self.mdp.horizon
