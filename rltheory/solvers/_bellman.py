"""Bellman operators, certificates and the result type of the tabular solvers.

The layer under :mod:`rltheory.solvers.api` and :mod:`rltheory.solvers.lp` (both import it; it imports neither):
:class:`SolveResult`, one application of the Bellman operator (:func:`bellman_backup`), its residual, and the
rigorous error bound of a value function (:func:`certificate`). Users import these names from
:mod:`rltheory.solvers`.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .._threads import core_free
from .._validation import narrow_to_float64, unmasked
from ..models.tabular import ROW_SUM_ATOL, TabularMDP
from . import _kernels as K

_U = K.UNIT_ROUNDOFF

class SolveResult:
    """Output of :func:`solve` (fresh arrays, owned by the caller).

    Attributes
    ----------
    V, Q, policy : arrays
        Optimal values, action values and a deterministic greedy policy (ties -> smallest action; PI returns its
        last policy, which keeps its action where another one gains at most ``1e-12 max|V|``).
    error_bound : float
        An upper bound on ``max |V - V*|`` over every entry of the returned float64 ``V``, where ``V*`` is the exact
        optimal value of the MDP as stored (its float64 ``P``, ``R``, ``gamma``), floating-point rounding included.
        Discounted (VI, MPI, PI, LP): ``||T V - V||_inf / (1 - gamma rho)`` rounded upwards, where the Bellman
        residual of the returned V is bounded either from a plain float64 sweep plus an a priori bound on its
        rounding (the shortcut of :func:`rltheory.solvers._kernels.certify_dense`, which the dense MPI applies to
        every greedy sweep: :func:`~rltheory.solvers._kernels.greedy_residual_bound`) or, when that is too loose,
        by evaluating it in compensated arithmetic (error-free transformations); ``rho`` <= ``1 + 1e-9`` bounds the
        row sums of P, and absolute terms cover underflow near the subnormal range.
        Finite horizon (backward induction): an a priori bound on the rounding of every step,
        ``e_h = gamma_{n+1} (max|R_h| + rho ||V_{h+1}||) + rho e_{h+1}`` (``n`` entries per row), maximised over h.
    nit : int
        Iterations of the method: sweeps (VI), greedy steps (MPI), improvement steps (PI), backward steps (backward
        induction: ``H``, one Bellman backup per step of the horizon); 1 for the LP (one solve) and for
        ``gamma = 0`` (``V = max_a R``, no iteration).
    converged : bool
        Whether the stopping rule was met: VI/MPI ``error_bound <= tol``, PI a policy stable under improvement;
        always True for backward induction and a solved LP; False whenever ``error_bound`` is not finite. When
        False, :func:`solve` has emitted a :class:`ConvergenceWarning`.
    method : str
    extra : dict
        Method-specific outputs (e.g. ``"occupancy"`` for the LP, ``"tol"``: the tolerance VI/MPI used).
    """

    __slots__ = ("V", "Q", "policy", "error_bound", "nit", "converged", "method", "extra")

    def __init__(self, V, Q, policy, error_bound, nit=1, method="", extra=None, *, converged=True, iterations=None):
        self.V = V
        self.Q = Q
        self.policy = policy
        self.error_bound = error_bound
        self.nit = int(nit if iterations is None else iterations)
        self.converged = bool(converged)
        self.method = method
        self.extra = {} if extra is None else extra

    @property
    def iterations(self) -> int:
        """Alias of :attr:`nit`."""
        return self.nit

    @property
    def value(self) -> np.ndarray:
        """Values at the first step: ``V[0]`` (finite horizon) or ``V`` (discounted)."""
        return self.V[0] if self.V.ndim == 2 else self.V

    def __repr__(self) -> str:
        return (f"SolveResult(method={self.method!r}, V{tuple(self.V.shape)}, Q{tuple(self.Q.shape)}, "
                f"policy{tuple(self.policy.shape)}, error_bound={self.error_bound:.3g}, converged={self.converged}, "
                f"nit={self.nit})")


def _big(indptr) -> bool:
    """Use the thread-parallel sparse kernels from ``PARALLEL_MIN_NNZ`` stored transitions on, and only while a
    core is free (they give identical results: each row is summed in the same order). Below that size thread
    start-up costs more than it saves; on a busy machine every sweep's parallel region waits for a descheduled
    thread, which made sparse solves an order of magnitude slower than the serial kernels on a shared 2-core
    host."""
    return int(indptr[-1]) >= K.PARALLEL_MIN_NNZ and core_free()


def _big_dense(S: int, A: int) -> bool:
    """Use the thread-parallel dense sweep from ``PARALLEL_MIN_DENSE`` entries of the ``(S*A, S)`` kernel on,
    while a core is free (see :func:`_big`; it gives the serial sweep's values bit for bit)."""
    return S * A * S >= K.PARALLEL_MIN_DENSE and core_free()


def _as_values(V, name: str = "V") -> np.ndarray:
    """``V`` as a C-contiguous float64 array: real (int, unsigned or float) entries, or an object array of real
    numbers; a ``TypeError`` for bool, complex, string and other entries, a ``ValueError`` (never an
    ``OverflowError``) for a ragged nesting or a Python int beyond the float64 range."""
    if type(V) is np.ndarray and V.dtype == np.float64:
        return np.ascontiguousarray(V)
    V = unmasked(name, V)
    try:
        arr = np.asarray(V)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise ValueError(f"{name}: not a rectangular array of numbers ({exc})") from None
    except OverflowError:  # pragma: no cover - numpy keeps huge ints as objects
        raise ValueError(f"{name}: an entry is beyond the float64 range") from None
    if arr.dtype == object:
        flat = arr.ravel()
        for x in flat:
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
                raise TypeError(f"{name}: expected real numbers, got an entry of type {type(x).__name__}")
        try:
            with np.errstate(over="raise"):  # (a longdouble object beyond float64 would become inf)
                return np.ascontiguousarray(arr.astype(np.float64))
        except (OverflowError, FloatingPointError):
            raise ValueError(f"{name}: an entry is beyond the float64 range") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected a real (int or float) array, got dtype={arr.dtype}")
    if not isinstance(V, np.ndarray) and _holds_bool(V):  # NumPy reads [True, 1, 2] as ints, [True, 0.5] as floats
        raise TypeError(f"{name}: expected real numbers, got a bool")
    return np.ascontiguousarray(narrow_to_float64(name, arr), dtype=np.float64)


def _holds_bool(V) -> bool:
    """Whether the nested sequence ``V`` (which NumPy read as a numeric array) holds a bool anywhere, Python's or
    NumPy's, which NumPy's promotion turns into 0 or 1 when it is mixed with numbers."""
    try:
        items = np.asarray(V, dtype=object).reshape(-1)
    except (TypeError, ValueError):  # pragma: no cover - NumPy read it as a numeric array just before
        return False
    return any(t is bool or t is np.bool_ for t in set(map(type, items)))


def _check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    return mdp


# -------------------------------------------------------------------------- Bellman operators


def bellman_backup(mdp: TabularMDP, V, policy=None) -> np.ndarray:
    """One application of the Bellman operator to ``V``, returned as action values.

    Discounted: ``Q(s,a) = R(s,a) + gamma sum_{s'} P(s'|s,a) V(s')`` for ``V`` of shape (S,).
    Finite horizon: ``Q_h = R_h + P_h V_{h+1}`` for ``V`` of shape (H+1, S); returns (H, S, A).
    (``policy`` is accepted for symmetry and ignored: the backup is the same for every policy.)

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    V : array_like
        Values, shape ``(S,)`` (discounted) or ``(H+1, S)`` (finite horizon).
    policy : optional
        Ignored.

    Returns
    -------
    numpy.ndarray
        ``Q`` of shape ``(S, A)`` or ``(H, S, A)``.
    """
    mdp = _check_mdp(mdp)
    V = _as_values(V)
    S, A = mdp.S, mdp.A
    if mdp.finite_horizon:
        H = mdp.horizon
        if V.shape != (H + 1, S):
            raise ValueError(f"V: expected shape {(H + 1, S)}, got {V.shape}")
        Pv = _apply_P_finite(mdp, V[1:])
        return mdp.R3() + Pv
    if V.shape != (S,):
        raise ValueError(f"V: expected shape {(S,)}, got {V.shape}")
    Q = np.empty((S, A))
    if mdp.is_sparse:
        ip, ix, dt = mdp.csr_arrays
        (K.bellman_q_sparse_par if _big(ip) else K.bellman_q_sparse)(ip, ix, dt, mdp.R, V, mdp.gamma, Q)
    else:
        K.bellman_q_dense(mdp.P.reshape(S * A, S), mdp.R, V, mdp.gamma, Q)
    return Q


def _apply_P_finite(mdp: TabularMDP, Vnext: np.ndarray) -> np.ndarray:
    """``out[h, s, a] = sum_{s'} P_h(s'|s,a) Vnext[h](s')`` for ``Vnext`` of shape (H, S)."""
    S, A, H = mdp.S, mdp.A, mdp.horizon
    M = mdp.P_csr
    hp = M.shape[0] // (S * A)
    if hp == 1:
        return np.asarray(M @ Vnext.T).T.reshape(H, S, A)
    out = np.empty((H, S, A))
    for h in range(H):
        out[h] = (M[h * S * A:(h + 1) * S * A] @ Vnext[h]).reshape(S, A)
    return out


def bellman_residual(mdp: TabularMDP, V) -> np.ndarray:
    """Per-step sup-norm Bellman optimality residual ``||V - T V||``: an array (H,) for finite horizon
    (``max_s |V_h(s) - max_a Q_h(s,a)|``), a 0-d array for discounted MDPs.

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    V : array_like
        Values, shape ``(S,)`` or ``(H+1, S)``.

    Returns
    -------
    numpy.ndarray
        ``||V_h - max_a Q_h||_inf`` per step (shape ``(H,)``), or ``||V - T V||_inf`` (0-d).
    """
    V = _as_values(V)
    Q = bellman_backup(mdp, V)
    if mdp.finite_horizon:
        return np.abs(V[:-1] - Q.max(axis=-1)).max(axis=-1)
    return np.asarray(np.abs(V - Q.max(axis=-1)).max())


def certificate(mdp: TabularMDP, V) -> float:
    """A rigorous upper bound on ``||V - V*||_inf`` for any float array ``V``, from its Bellman residual alone.

    Discounted: ``||V - V*|| <= ||V - T V|| / (1 - gamma rho)`` (T is a ``gamma rho``-contraction; ``rho`` bounds
    the row sums of P). Finite horizon: ``e_h <= ||V_h - (T V)_h|| + rho e_{h+1}`` from ``e_H = ||V_H||`` (the
    exact ``V*_H`` is 0, so a ``V`` whose last row is not zero is charged for it, at every step); the bound returned
    is ``max_h e_h`` over ``h = 0..H``. The residuals are evaluated in compensated arithmetic and every step is
    rounded upwards (:func:`rltheory.solvers._kernels.certify_dense`), so the bound holds for the float64 ``V`` as
    given, rounding included. ``inf`` when ``gamma rho`` cannot be shown to be below 1.

    Parameters
    ----------
    mdp : TabularMDP
    V : array_like
        Shape ``(S,)`` (discounted) or ``(H+1, S)`` (finite horizon).

    Returns
    -------
    float
    """
    mdp = _check_mdp(mdp)
    V = _as_values(V)
    S = mdp.S
    if mdp.finite_horizon:
        if V.shape != (mdp.horizon + 1, S):
            raise ValueError(f"V: expected shape {(mdp.horizon + 1, S)}, got {V.shape}")
        return _certify_finite(mdp, V)
    if V.shape != (S,):
        raise ValueError(f"V: expected shape {(S,)}, got {V.shape}")
    if not np.all(np.isfinite(V)):
        return math.inf
    return _certify_discounted(mdp, V, _discount_rho(mdp, _row_len(mdp)))[1]


def _row_len(mdp: TabularMDP) -> int:
    """Entries per transition row that a dot product sums (the ``n`` of the rounding bounds)."""
    return int(K.max_row_len(mdp.csr_arrays[0])) if mdp.is_sparse else mdp.S


def _rho_contract(n: int) -> float:
    """Upper bound on every exact row sum of a validated P (|computed sum - 1| <= ROW_SUM_ATOL at construction)."""
    return (1.0 + ROW_SUM_ATOL) * (1.0 + 2.0 * (n + 1) * _U)


_contraction_bound = K.contraction_bound


def _discount_rho(mdp: TabularMDP, n: int) -> float:
    """``rho`` for the contraction factor ``gamma rho``: the construction contract, or, when that leaves
    ``gamma rho`` near or above 1 (gamma within ~1e-6 of 1), the row sums computed from the data."""
    g = mdp.gamma
    rho = _rho_contract(n)
    if g * (rho - 1.0) > 1e-3 * (1.0 - g):
        sums = np.asarray(mdp.P_csr.sum(axis=1)).ravel()
        rho = min(rho, float(sums.max()) * (1.0 + 2.0 * (n + 1) * _U))
    return rho


#: The discounted iterations take the rows of P as stochastic (the classical MacQueen-Porteus bounds) while
#: ``gamma * max|row sum - 1| <= MP_ROW_RTOL * (1 - gamma)``; beyond, they use bounds for row sums in
#: ``[rl, ru]`` (:func:`rltheory.solvers._kernels._mp_offsets`). Below this ratio the error of the classical
#: extrapolation is a ``MP_ROW_RTOL`` fraction of the step it extrapolates, which the certification rounds absorb.
MP_ROW_RTOL = 1e-6


def _row_sum_range(mdp: TabularMDP, n: int, rho: float):
    """``(rl, ru)`` for the MacQueen-Porteus bounds of the discounted iterations: ``(1.0, 1.0)`` (stochastic rows,
    the classical bounds) when the construction contract ``|row sum - 1| <= ROW_SUM_ATOL`` already makes the
    difference negligible (``MP_ROW_RTOL``), else rigorous bounds on the exact row sums of the stored P (one pass
    over it; ``ru <= rho``), again ``(1.0, 1.0)`` when those are close enough to 1."""
    g = mdp.gamma
    dev = ROW_SUM_ATOL + 2.0 * (n + 2) * _U
    if g * dev <= MP_ROW_RTOL * (1.0 - g):
        return 1.0, 1.0
    if mdp.is_sparse:
        ip, _ix, dt = mdp.csr_arrays
        rl, ru = K.row_sum_range_sparse(ip, dt)
    else:
        rl, ru = K.row_sum_range(mdp.P.reshape(mdp.S * mdp.A, mdp.S))
    ru = min(float(ru), rho)
    rl = float(rl)
    if g * max(ru - 1.0, 1.0 - rl) <= MP_ROW_RTOL * (1.0 - g):
        return 1.0, 1.0
    return rl, ru


def _certify_discounted(mdp: TabularMDP, V: np.ndarray, rho: float):
    """Verification sweep: ``(Q, bound)`` with ``Q`` the backup of ``V`` and ``bound >= ||V - V*||_inf``."""
    S, A, g = mdp.S, mdp.A, mdp.gamma
    Q = np.empty((S, A))
    if mdp.is_sparse:
        ip, ix, dt = mdp.csr_arrays
        resid = (K.certify_sparse_par if _big(ip) else K.certify_sparse)(ip, ix, dt, mdp.R, V, V, g, rho, Q)
    else:
        resid = K.certify_dense(mdp.P.reshape(S * A, S), mdp.R, V, V, g, rho, Q)
    return Q, _contraction_bound(resid, g, rho)


def _certify_finite(mdp: TabularMDP, V: np.ndarray) -> float:
    S, A, H = mdp.S, mdp.A, mdp.horizon
    if not np.all(np.isfinite(V)):
        return math.inf
    n = _row_len(mdp)
    rho = _rho_contract(n)
    R3 = mdp.R3()
    hr = R3.shape[0]
    Q = np.empty((S, A))
    infl = 1.0 + 4.0 * _U
    e = float(np.abs(V[H]).max()) if S else 0.0  # V*_H = 0 exactly: the last row's own error
    best = e
    if mdp.is_sparse:
        ip, ix, dt = mdp.csr_arrays
        hp = (ip.shape[0] - 1) // (S * A)
    else:
        P4 = mdp.P4()
        hp = P4.shape[0]
    for h in range(H - 1, -1, -1):
        hh = h if hp > 1 else 0
        Rh = R3[h if hr > 1 else 0]
        if mdp.is_sparse:
            resid = K.certify_sparse(ip[hh * S * A:(hh + 1) * S * A + 1], ix, dt, Rh, V[h + 1], V[h], 1.0, rho, Q)
        else:
            resid = K.certify_dense(P4[hh].reshape(S * A, S), Rh, V[h + 1], V[h], 1.0, rho, Q)
        e = (resid + rho * e * infl) * infl
        best = max(best, e)
    return best
