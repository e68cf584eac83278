"""Exact planning and evaluation for :class:`~rltheory.models.TabularMDP` (Python API).

Shapes returned (finite horizon ``H`` / discounted):

========================  ===========================  ==================
quantity                   finite horizon               discounted
========================  ===========================  ==================
``V``                      ``(H+1, S)``, ``V[H] = 0``    ``(S,)``
``Q``                      ``(H, S, A)``                ``(S, A)``
deterministic policy       ``(H, S)`` int64             ``(S,)`` int64
stochastic policy          ``(H, S, A)`` or ``(S, A)``  ``(S, A)``
occupancy                  ``(H, S, A)``, each h sums 1 ``(S, A)``, sums 1
========================  ===========================  ==================

The hot loops are the Numba kernels of :mod:`rltheory.solvers._kernels`.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .._validation import check_int, check_real, unmasked
from ..models.tabular import TabularMDP
from . import _kernels as K
from ._bellman import (
    SolveResult,
    _as_values,
    _big,
    _big_dense,
    _certify_discounted,
    _check_mdp,
    _contraction_bound,
    _discount_rho,
    _rho_contract,
    _row_len,
    _row_sum_range,
    bellman_backup,
    bellman_residual,
    certificate,
)
from .lp import solve_lp

__all__ = [
    "ConvergenceWarning",
    "SolveResult",
    "solve",
    "evaluate",
    "evaluate_vq",
    "q_values",
    "occupancy",
    "gaps",
    "next_value_variance",
    "bellman_backup",
    "bellman_residual",
    "certificate",
    "policy_value",
    "as_stochastic_policy",
    "METHODS",
]

#: Largest S for which sparse policy iteration may fall back to an exact sparse LU solve when GMRES stalls
#: (LU fill-in on well-mixing kernels: about 3 minutes at S = 1e4, unfinished after 10 minutes at 1e5).
MAX_SPARSE_LU_STATES = 5_000

#: Methods accepted by :func:`solve` (case-insensitive; see ``METHOD_ALIASES`` for the long names).
METHODS = ("auto", "backward_induction", "vi", "pi", "mpi", "lp")
#: Other names :func:`solve` accepts for its methods (case-insensitive).
METHOD_ALIASES = {
    "bi": "backward_induction",
    "value_iteration": "vi",
    "policy_iteration": "pi",
    "modified_policy_iteration": "mpi",
    "linear_programming": "lp",
}
_ALIASES = METHOD_ALIASES  # older name

_U = K.UNIT_ROUNDOFF

#: Largest ``max_iter`` / ``mpi_sweeps`` handed to the compiled kernels (int64): a larger ``max_iter`` is clamped to
#: it (a limit no solve reaches), a larger ``mpi_sweeps`` is refused (it is a count, not a limit: MPI runs that many
#: evaluation sweeps unless its evaluation ends early).
MAX_COUNT = 2**63 - 1



class ConvergenceWarning(UserWarning):
    """A solver stopped before its stopping rule was met (``max_iter`` reached, or the bounds stopped improving
    above ``tol``: a ``tol`` below what float64 can certify, or iterates that contract too slowly for float64 to
    show progress), or its bound is not finite: the result is still returned, with ``converged=False`` and a true
    ``error_bound``."""


# ------------------------------------------------------------------------------- policies


def as_stochastic_policy(mdp: TabularMDP, policy, field_name: str = "policy") -> np.ndarray:
    """Validate ``policy`` and return it as an ``(hpi, S, A)`` (finite horizon) or ``(S, A)`` float array.

    Deterministic policies must have an integer dtype: ``(S,)`` or ``(H, S)`` action indices.
    Stochastic policies are float arrays ``(S, A)`` or ``(H, S, A)`` whose rows are distributions.

    Parameters
    ----------
    mdp : TabularMDP
        The MDP the policy acts in.
    policy : array_like
        Action indices (integer dtype) or action distributions (float dtype).
    field_name : str
        Name of the argument in error messages.

    Returns
    -------
    numpy.ndarray
        ``pi(a|s)`` (discounted, shape ``(S, A)``) or ``pi_h(a|s)`` (finite horizon, shape ``(hpi, S, A)`` with
        ``hpi`` 1 for a stationary policy or ``H``).
    """
    S, A, H = mdp.S, mdp.A, mdp.horizon
    arr = np.asarray(unmasked(field_name, policy))
    if arr.dtype == object or arr.dtype.kind not in "iuf" or arr.dtype.kind == "b":
        raise TypeError(f"{field_name}: expected an integer (deterministic) or float (stochastic) array, got dtype={arr.dtype}")
    if arr.dtype.kind in "iu":
        if arr.shape == (S,):
            lead = None
        elif H is not None and arr.shape == (H, S):
            lead = H
        else:
            exp = f"({S},) or ({H}, {S})" if H is not None else f"({S},)"
            raise ValueError(f"{field_name}: deterministic policy must have shape {exp}, got {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= A):
            bad = tuple(int(i) for i in np.argwhere((arr < 0) | (arr >= A))[0])
            raise ValueError(f"{field_name}: action {int(arr[bad])} at index {bad} out of range [0, {A})")
        out = np.zeros(arr.shape + (A,))
        np.put_along_axis(out, arr[..., None].astype(np.int64), 1.0, axis=-1)
    else:
        out = arr.astype(np.float64, copy=True)
        if out.shape == (S, A):
            lead = None
        elif H is not None and out.shape == (H, S, A):
            lead = H
        else:
            exp = f"({S}, {A}) or ({H}, {S}, {A})" if H is not None else f"({S}, {A})"
            raise ValueError(
                f"{field_name}: stochastic policy must have shape {exp}, got {out.shape} "
                "(deterministic policies need an integer dtype)"
            )
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{field_name}: non-finite probability")
        if out.min() < 0:
            bad = tuple(int(i) for i in np.argwhere(out < 0)[0])
            raise ValueError(f"{field_name}: negative probability at index {bad}")
        sums = out.sum(axis=-1)
        if np.any(np.abs(sums - 1.0) > 1e-9):
            bad = tuple(int(i) for i in np.argwhere(np.abs(sums - 1.0) > 1e-9)[0])
            raise ValueError(f"{field_name}: action probabilities at {bad} sum to {float(sums[bad])!r}, not 1")
    if H is not None and lead is None:
        out = out[None]
    return np.ascontiguousarray(out)


# ---------------------------------------------------------------------------------- solve


def _canonical_method(method) -> str:
    if not isinstance(method, str):
        raise TypeError(f"method: expected a str, got {type(method).__name__}")
    key = method.strip().lower()
    m = METHOD_ALIASES.get(key, key)
    if m not in METHODS:
        raise ValueError(f"method: unknown method {method!r}; choose one of {METHODS} "
                         f"(case-insensitive; aliases: {', '.join(METHOD_ALIASES)})")
    return m


#: Default relative tolerance of VI/MPI: ``tol = DEFAULT_RTOL * span(R)`` (see :func:`solve`).
DEFAULT_RTOL = 1e-10


def _noise(n: int) -> float:
    """Span of ``T V - V``, relative to ``max|V|``, at which VI/MPI iterates are at float64 resolution: the
    rounding of one backup over ``n`` entries per row is ~``sqrt(n) u`` of ``max|V|`` for typical summation
    orders (a statistical estimate, not a bound: it only decides when to stop; ``error_bound`` is rigorous)."""
    return 2.0 * (math.sqrt(n) + 4.0) * _U


def _tolerance(mdp: TabularMDP, tol, n: int, rmax: float, span: float, ru: float = 1.0):
    """``(tol used, float64 floor)`` for VI/MPI; ``rmax``, ``span``: ``max|R|`` and ``max R - min R``
    (``K.reward_stats``, computed once by the caller).

    The floor ``(8 (sqrt(n) + 4) u max|R| + 32 (n + 4) eta) / (1 - gamma)^2`` is about what float64 can certify:
    values are as large as ``max|R| / (1 - gamma)``, a computed Bellman backup of them carries ``~sqrt(n) u`` of that
    as rounding, and the residual bound divides by ``1 - gamma`` once more; ``eta`` (``K.UNDERFLOW_UNIT``) covers
    the absolute underflow terms of the bounds when rewards lie near the subnormal range. ``ru``: the bound on the
    row sums the iterations use (:func:`~rltheory.solvers._bellman._row_sum_range`); unless it is 1 (stochastic
    rows), ``1 - gamma ru`` replaces ``1 - gamma``."""
    g = mdp.gamma
    c = 1.0 - g if ru == 1.0 else 1.0 - g * ru
    floor = (8.0 * (math.sqrt(n) + 4.0) * _U * rmax + 32.0 * (n + 4.0) * K.UNDERFLOW_UNIT) / c ** 2
    if tol is None:
        scale = span if span > 0.0 else (rmax if rmax > 0.0 else 1.0)
        return max(DEFAULT_RTOL * scale, floor), floor
    return float(tol), floor


def solve(mdp: TabularMDP, *, method: str = "auto", tol: float | None = None, max_iter: int = 1_000_000,
          mpi_sweeps: int = 20, lp_solver: str | None = None) -> SolveResult:
    """Optimal values, action values and a greedy deterministic policy, with a certified error bound.

    Parameters
    ----------
    mdp : TabularMDP
    method : str
        Keyword-only, like every option below. ``"backward_induction"`` (alias ``"bi"``; finite horizon; exact up to rounding), ``"vi"``
        (``"value_iteration"``), ``"pi"`` (``"policy_iteration"``, Howard), ``"mpi"``
        (``"modified_policy_iteration"``, at most ``mpi_sweeps`` evaluation sweeps per greedy step: on a dense
        kernel ending early at tight bounds, see :func:`rltheory.solvers._kernels.solve_dense_mpi_certified`; on a
        sparse one ending early only once the sweeps reach the float64 rounding floor (the span of ``T_pi V - V`` at
        the noise floor, or kept by rounding from shrinking for about ``1 / (1 - gamma)`` sweeps), see
        :func:`rltheory.solvers._kernels.evaluate_policy_sparse`), ``"lp"``
        (``"linear_programming"``: the occupancy-measure linear program via cvxpy, an independent cross-check
        accurate to the LP solver's tolerance, see :func:`rltheory.solvers.lp.solve_lp`), or ``"auto"``.
        Case-insensitive. ``auto``: backward induction for a finite horizon; for discounted MDPs the rule measured
        by ``python -m benchmarks.run --sections convergence`` (``method_choice`` in the JSON of
        ``benchmarks/results``), see ``AUTO_RULE``. When that VI or MPI run ends above ``tol`` for any reason (its
        bounds stopped improving, ``gamma`` near 1 on slowly mixing transitions or row sums away from 1; or it ran
        out of steps), ``auto`` also runs policy iteration, holds it to the same ``tol`` (``converged`` only if its
        stable policy certifies ``error_bound <= tol``) and returns the converged result, else the one with the
        smaller ``error_bound``; ``extra["auto"]`` records what was tried, including a policy iteration that
        failed (its error is not raised). If even the worst case of VI, a bound shrinking only by ``gamma`` per
        greedy step from about ``gamma span(R) / (2 (1 - gamma))``, would need more than ``AUTO_CONTINUE_FACTOR``
        grants of ``max(AUTO_STEP_BUDGET, S)`` greedy steps (or ``max_iter``, if fewer) to reach ``tol``, VI/MPI
        first run for one grant (the dense MPI: at most ``ceil(S^2 / (A AUTO_DENSE_PI_DIVISOR))`` steps, a share of
        what policy iteration costs on a slowly mixing dense kernel); when they end there (not stalled), they
        continue the same run for up to ``AUTO_CONTINUE_FACTOR`` grants in all (the dense MPI: within that share)
        if the worst case reaches ``tol`` within ``max_iter`` or else the contraction they showed in the grant
        projects it within ``max_iter``; policy iteration is tried only if they still end above ``tol`` (and if it
        does not converge either, VI/MPI then run on to ``max_iter``). A run cut at its grant and continued is the
        uncut run, bit for bit, so whenever VI/MPI certify ``tol`` within grant and continuation (or no grant
        applies) ``auto`` returns what their own ``method`` returns. The constants are measured by the
        ``slow_mixing`` section of ``python -m benchmarks.run``. VI/PI/MPI are for discounted MDPs.
    tol : float, optional
        VI/MPI stop once the certified bound on ``||V - V*||_inf`` is ``<= tol``. Default: ``1e-10 * span(R)``
        (relative to the reward scale), raised to the float64 floor ``8 (sqrt(n) + 4) u max|R| / (1 - gamma)^2``
        (``u = 2^-53``, ``n`` = entries per transition row), an estimate of what float64 can certify for
        well-mixing transitions. An explicit ``tol`` is used as given. If float64 cannot certify the tolerance, the
        iteration stops once the bounds stop improving (``PATIENCE`` sweeps without progress) and the result has
        ``converged=False`` with a :class:`ConvergenceWarning`: an explicit ``tol`` below float64 resolution, or,
        with ``gamma`` near 1 on slowly mixing or nearly deterministic transitions (where rounding accumulates over
        about ``1 / (1 - gamma)`` sweeps and progress per sweep is below it), even the default; ``"pi"`` solves
        those.
    max_iter : int
        Largest number of sweeps (VI), greedy steps (MPI) or improvement steps (PI), ``>= 1``; reaching it gives
        ``converged=False`` and a :class:`ConvergenceWarning`. Counts above ``2**63 - 1`` (:data:`MAX_COUNT`, the
        kernels count in int64) mean "no limit" and are clamped to it.
    mpi_sweeps : int
        Largest number of evaluation sweeps per greedy step of ``"mpi"``, in ``[0, 2**63 - 1]``. Dense kernels
        stop evaluating once the bounds on the policy's value are within the tolerance (or stop contracting
        fast), sparse kernels once the sweeps reach the float64 rounding floor (further sweeps would change
        nothing beyond rounding), so ``2**63 - 1`` means "evaluate each policy to float64 accuracy" (on a slowly
        mixing chain that takes on the order of ``1 / (1 - gamma)`` sweeps per policy); a larger count is refused.
    lp_solver : str, optional
        A cvxpy solver name for ``method="lp"`` (case-insensitive; default: HiGHS, else Clarabel); ignored by the
        other methods, but its type is checked for every method.

    Returns
    -------
    SolveResult
        ``V``, ``Q``, ``policy``, ``error_bound`` (a bound on ``||V - V*||_inf`` for the returned float64 V,
        rounding included; see :class:`SolveResult`), ``converged``, ``nit``.

    Raises
    ------
    TypeError
        An argument of the wrong type (``"<field>: ..."``): a non-str ``method`` or ``lp_solver``, a bool, array or
        non-number ``tol``, ``max_iter``, ``mpi_sweeps``.
    RuntimeError
        ``method="lp"`` only: the LP solver failed (see :func:`rltheory.solvers.lp.solve_lp`).
    ValueError
        An argument of the right type but a wrong value (``"<field>: ..."``): an unknown ``method`` or one that does
        not fit the MDP, a ``tol`` that is not a positive finite number (ints beyond the float64 range included),
        ``max_iter < 1``, ``mpi_sweeps`` outside ``[0, 2**63 - 1]``, a non-whole float count, an ``lp_solver``
        that is not installed.
        ``gamma``: when ``gamma * max row sum of P`` is not certainly below 1 (gamma within ~1e-9 of 1 with row sums
        slightly above 1): the Bellman operator is then not a contraction in float64 terms and no bound exists.
        ``R``: when the values would leave the float64 range (``max|R| / (1 - gamma rho)`` above
        :data:`VALUE_LIMIT`, ``rho`` bounding the row sums of P, or an infinite backward-induction value), so that no
        bound could be certified.
    """
    if type(mdp) is TabularMDP and mdp._H is not None and tol is None and lp_solver is None \
            and type(method) is str and (method == "auto" or method == "backward_induction") \
            and type(max_iter) is int and max_iter == _MAX_ITER_DEFAULT \
            and type(mpi_sweeps) is int and mpi_sweeps == _MPI_SWEEPS_DEFAULT:
        # the hot call of online learners (optimistic planning every episode): defaults, exact backward
        # induction, no argument to validate (measured: 9.0 -> ~7.5 us at S=20, A=4, H=20). Every test is on
        # an exact type first, so that an array argument never reaches a comparison (it is validated below).
        return _solve_finite(mdp)
    mdp = _check_mdp(mdp)
    m = _canonical_method(method)
    if tol is not None:
        tol = check_real("tol", tol, low=0.0, low_open=True)
    max_iter = min(check_int("max_iter", max_iter, low=1), MAX_COUNT)
    mpi_sweeps = check_int("mpi_sweeps", mpi_sweeps, low=0, high=MAX_COUNT)
    if lp_solver is not None and not isinstance(lp_solver, str):
        raise TypeError(f"lp_solver: expected a str (a cvxpy solver name) or None, got {type(lp_solver).__name__}")
    auto = m == "auto"
    if auto:
        m = "backward_induction" if mdp.finite_horizon else _auto_method(mdp)
    if m == "lp":
        if not mdp.finite_horizon and mdp.gamma > 0.0:
            _discounted_limits(mdp)  # the refusals of every discounted method (gamma rho >= 1, values beyond float64)
        res = solve_lp(mdp, solver=lp_solver)
        if not (math.isfinite(res.error_bound) and np.isfinite(res.V).all()):
            warnings.warn(f"V: the lp {'values' if not np.isfinite(res.V).all() else 'error bound'} left the "
                          "float64 range; no finite error bound can be certified", ConvergenceWarning, stacklevel=2)
            res = SolveResult(res.V, res.Q, res.policy, math.inf, res.nit, "lp", {**res.extra, "converged": False},
                              converged=False)
        return res
    if mdp.finite_horizon:
        if m != "backward_induction":
            raise ValueError(
                f"method: {m!r} is for discounted MDPs; a finite-horizon MDP is solved exactly by "
                "'backward_induction' (or cross-checked with 'lp')"
            )
        return _solve_finite(mdp)
    if m == "backward_induction":
        raise ValueError("method: 'backward_induction' needs a finite horizon; use 'vi', 'pi', 'mpi' or 'lp'")
    if not auto or m == "pi":
        return _solve_discounted(mdp, m, tol, int(max_iter), int(mpi_sweeps))
    return _solve_auto(mdp, m, tol, int(max_iter), int(mpi_sweeps))


#: ``solve``'s own count defaults: a call that keeps them (and ``tol``, ``lp_solver`` at None) has no argument to
#: validate (the finite-horizon fast path).
_MAX_ITER_DEFAULT = solve.__kwdefaults__["max_iter"]
_MPI_SWEEPS_DEFAULT = solve.__kwdefaults__["mpi_sweeps"]

# ``method="auto"`` for discounted MDPs, a rule measured by the ``convergence`` section of ``python -m benchmarks.run``:
# it times VI, MPI (``mpi_sweeps`` = 20) and PI to the same certified accuracy (``error_bound <= 1e-8``) on dense
# Garnets, sparse Garnets and RiverSwim chains, and records per instance the fastest method and how far ``auto`` is
# from it (``method_choice`` in the JSON; the target there requires ``auto`` within 1.5x of the fastest on every
# instance); the ``e2e`` section times construction + ``auto`` against QuantEcon. The rule: MPI for a dense kernel
# of at least ``AUTO_MPI_MIN_DENSE`` entries, VI otherwise. Why: a dense greedy sweep reads the whole (S*A, S)
# kernel and is memory bound at these sizes, while the dense MPI evaluates each policy on its own rows (1/A of the
# kernel) until the value bounds are tight and lets its last greedy sweep certify the result, so on the
# well-mixing Garnets it needs about two greedy sweeps where VI needs several plus a verification sweep; on a
# slow-mixing chain (RiverSwim stored dense, full profile) its evaluation stops after a few sweeps
# (``EVAL_MIN_CONTRACTION`` in ``_kernels``) and it stays close to VI. Below that size (RiverSwim S = 100, dense)
# the Python loop that drives MPI costs more than the greedy sweeps it saves; on sparse kernels VI and the sparse
# MPI (fixed ``mpi_sweeps``) are within noise of each other; PI (a linear solve per step) is the slowest
# everywhere. Re-run that section when the kernels change.
#: ``method="auto"`` for discounted MDPs below ``AUTO_MPI_MIN_DENSE`` and for sparse ones (see the comment above).
AUTO_RULE = "vi"
#: Entries ``S * A * S`` of a dense kernel from which ``method="auto"`` uses MPI (see the comment above).
AUTO_MPI_MIN_DENSE = 2**16


#: Fewest greedy steps ``method="auto"`` grants VI/MPI before it also tries policy iteration, when even the
#: worst-case projection (:func:`_worst_case_steps`) exceeds ``AUTO_CONTINUE_FACTOR`` grants (or ``max_iter``); the
#: grant is ``max(AUTO_STEP_BUDGET, S)`` (a dense PI step costs about ``S / A`` greedy sweeps, a sparse one a few
#: hundred sparse matrix-vector products), for the dense MPI at most its share of policy iteration's cost
#: (``AUTO_DENSE_PI_DIVISOR``). The ``slow_mixing`` section of ``python -m benchmarks.run`` measures these costs.
AUTO_STEP_BUDGET = 1000
#: When VI/MPI end at that grant (not stalled) and either the worst-case projection is within ``max_iter`` or the
#: contraction they showed projects ``tol`` within ``max_iter``, ``auto`` first continues them to at most this many
#: grants, and tries policy iteration only if they still end above ``tol`` (then, if policy iteration fails too, to
#: ``max_iter``). The projection, from the first greedy step to the grant, can be far too optimistic (a slow ring:
#: most of the early decrease is transient) or far too pessimistic (a chain whose bounds shrink only by ``gamma``
#: per step until the values have crossed it, then drop to ``tol`` at once), so the cap bounds what a wrong
#: projection costs before policy iteration.
AUTO_CONTINUE_FACTOR = 8
#: The dense MPI of ``auto`` gets at most ``ceil(S * S / (A * AUTO_DENSE_PI_DIVISOR))`` greedy steps in all (grant
#: and continuation) before policy iteration, when that is fewer than the above: a share of what policy iteration
#: costs on a slowly mixing dense chain, counted in MPI greedy steps (on the order of ``S`` improvement steps, each a
#: dense LU solve of a fraction of ``S / A`` greedy sweeps, against a greedy step plus its evaluation sweeps), so
#: that on a chain where VI's bounds shrink only by ``gamma`` per step (a periodic ring) ``auto`` stays within a
#: small factor of policy iteration while chains that MPI certifies in a few multiples of ``S`` steps keep MPI
#: (measured by the ``slow_mixing`` section of ``python -m benchmarks.run``).
AUTO_DENSE_PI_DIVISOR = 40


def _auto_cuts(S: int, worst: float, max_iter: int) -> bool:
    """Whether ``auto`` cuts VI/MPI at a grant on a model of ``S`` states: VI's worst-case projection ``worst``
    (:func:`_worst_case_steps`) exceeds ``AUTO_CONTINUE_FACTOR`` grants of ``max(AUTO_STEP_BUDGET, S)`` greedy
    steps, or ``max_iter`` if that is fewer; otherwise VI/MPI run uncut."""
    return worst > min(max_iter, AUTO_CONTINUE_FACTOR * max(AUTO_STEP_BUDGET, S))


def _auto_allowance(mdp: TabularMDP, m: str) -> tuple[int, int, bool]:
    """``(grant, cap, limited)`` of ``auto``'s fallback for its choice ``m``, in greedy steps before ``max_iter``:
    the grant, the most steps grant and continuation may take together, and whether the dense MPI's share of
    policy iteration's cost (``AUTO_DENSE_PI_DIVISOR``) set them."""
    grant = max(AUTO_STEP_BUDGET, mdp.S)
    cap = AUTO_CONTINUE_FACTOR * grant
    if m == "mpi" and not mdp.is_sparse:
        share = max(1, -(-mdp.S * mdp.S // (mdp.A * AUTO_DENSE_PI_DIVISOR)))
        if share < cap:
            return min(grant, share), share, True
    return grant, cap, False


def _worst_case_steps(gamma: float, scale: float, tol: float) -> float:
    """Greedy steps after which VI's MacQueen-Porteus half-width is ``<= tol`` in exact arithmetic when it shrinks
    only by ``gamma`` per step (the worst case for stochastic rows) from its first value, about
    ``gamma scale / (2 (1 - gamma))`` with ``scale = span(R)`` (from the start ``V0 = min R / (1 - gamma)``)."""
    if not (0.0 < gamma < 1.0 and scale > 0.0 and tol > 0.0):
        return 1.0
    log_w = math.log(gamma) + math.log(scale) - math.log(2.0) - math.log1p(-gamma)
    return max(1.0, (log_w - math.log(tol)) / -math.log(gamma))


def _first_sentence(e: BaseException) -> str:
    text = str(e)
    cut = text.find(". Use ")
    return f"{type(e).__name__}: {text if cut < 0 else text[:cut]}"


def _solve_auto(mdp: TabularMDP, m: str, tol, max_iter: int, mpi_sweeps: int) -> SolveResult:
    """``solve(method="auto")`` for a discounted ``mdp`` whose measured choice is ``m`` (VI or MPI); the rule is
    documented in :func:`solve`."""
    r_max, r_span = K.reward_stats(mdp.R)
    scale = r_span if r_span > 0.0 else (r_max if r_max > 0.0 else 1.0)
    worst = _worst_case_steps(mdp.gamma, scale, DEFAULT_RTOL * scale if tol is None else tol)
    grant, allowance, limited = _auto_allowance(mdp, m)
    budget = max_iter
    if _auto_cuts(mdp.S, worst, max_iter):
        budget = min(max_iter, grant)
    # where the grant stopped, to continue from there; the bound after the first greedy step (one verification
    # sweep more) only when the continuation needs the projection from it
    trace = {}
    res = _solve_discounted(mdp, m, tol, budget, mpi_sweeps, quiet=True, pi_hint=False,
                            trace=trace if budget < max_iter else None, first_bound=worst > max_iter)
    if res.converged:
        return res
    tol_used = res.extra.get("tol", tol)
    if res.extra.get("stalled"):
        why = "stalled"
    elif res.nit >= max_iter:
        why = "reached max_iter"
    elif res.nit >= budget:
        why = "reached its step budget"
    else:
        why = "ended without a finite bound"
    note = f"{m} {why} at error_bound {res.error_bound:.3g} after {res.nit} iterations"
    cands = [res]
    state = trace.get("state")
    cont = budget < max_iter and not res.extra.get("stalled") and state is not None
    if cont:
        # VI/MPI was stopped at its grant, not stalled: continue it (from where it stopped) first, for at most
        # AUTO_CONTINUE_FACTOR grants in all (the dense MPI: its share of policy iteration's cost), if even the
        # worst case reaches tol within max_iter or else the contraction it showed does (the projection can be far
        # too optimistic or too pessimistic)
        cap = min(max_iter, allowance)
        # decided once, used twice
        cont = worst <= max_iter or _grant_projects_tol(res, tol_used, max_iter, trace.get("first_bound"))
        if cont and not (limited and cap <= res.nit):
            trace = {}
            more = _solve_discounted(mdp, m, tol, cap, mpi_sweeps, quiet=True, pi_hint=False, resume=state,
                                     trace=trace)
            note += f"; {m} continued to error_bound {more.error_bound:.3g} after {more.nit} iterations"
            if more.converged:
                more.extra["auto"] = note
                return more
            cands.insert(0, more)
            state = trace.get("state")
            cont = more.nit < max_iter and state is not None
    try:
        pi_res = _solve_discounted(mdp, "pi", tol, max_iter, mpi_sweeps, quiet=True)
    except (ValueError, ArithmeticError, RuntimeError, MemoryError) as e:  # e.g. sparse PI cannot evaluate a policy
        pi_res = None
        note += f"; the policy iteration fallback failed ({_first_sentence(e)})"
    else:
        _pi_to_tol(pi_res, tol_used, tol is None)
        note += f"; pi certified {pi_res.error_bound:.3g} ({pi_res.nit} improvement steps)"
        cands.append(pi_res)
    if cont and (pi_res is None or not pi_res.converged):
        more = _solve_discounted(mdp, m, tol, max_iter, mpi_sweeps, quiet=True, pi_hint=False, resume=state)
        note += f"; {m} continued to error_bound {more.error_bound:.3g} after {more.nit} iterations"
        cands.insert(0, more)
    best = min(cands, key=lambda r: (not r.converged, r.error_bound))
    best.extra["auto"] = note
    if not best.converged:
        base = best.extra.get("warning")
        if best is res and res.nit >= budget and budget < max_iter and not res.extra.get("stalled"):
            base = (f"max_iter: auto stopped {m} at its grant of {budget} greedy steps with error_bound "
                    f"{res.error_bound:.3g} > tol {tol_used:.3g}, "
                    + ("its share of policy iteration's cost" if limited else
                       f"the contraction it showed too slow to reach tol within max_iter = {max_iter}"))
        msg = f"{base} (auto: {note})" if base else f"auto: {note}"
        best.extra["warning"] = msg
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return best


def _grant_projects_tol(res: SolveResult, tol_used, max_iter: int, first_bound) -> bool:
    """Whether VI/MPI, stopped by ``auto`` at its grant, would reach ``tol_used`` within ``max_iter`` greedy steps at
    the contraction it showed: a log-linear projection from its bound after the first greedy step to its bound at
    the grant.

    Parameters
    ----------
    res : SolveResult
        The run stopped at the grant (``nit`` greedy steps, ``error_bound``).
    tol_used : float or None
        The tolerance the run was held to.
    max_iter : int
        The greedy steps allowed in all.
    first_bound : float or None
        The ``error_bound`` the same run had after its first greedy step (``trace["first_bound"]`` of
        :func:`_solve_discounted`; the bound of the run with ``max_iter=1``).

    Returns
    -------
    bool
        False also when the bounds did not decrease or are not finite.
    """
    if tol_used is None or first_bound is None or res.nit <= 1 or not 0.0 < res.error_bound < math.inf:
        return False
    b1 = first_bound
    if not res.error_bound < b1 < math.inf:
        return False
    rate = (math.log(res.error_bound) - math.log(b1)) / (res.nit - 1)  # observed log-contraction per step
    return res.nit + (math.log(tol_used) - math.log(res.error_bound)) / rate <= max_iter


def _pi_to_tol(res: SolveResult, tol_used, default_tol: bool):
    """Hold a policy-iteration result run by ``auto`` to the ``tol`` of VI/MPI: ``converged`` means a stable policy
    certified to ``error_bound <= tol``, with the same ``extra`` keys (``stalled``: stable, but above ``tol``)."""
    stable = res.converged
    conv = bool(stable and tol_used is not None and res.error_bound <= tol_used)
    res.extra["tol"] = tol_used
    res.extra["stalled"] = bool(stable and not conv)
    if stable and not conv:
        field, which = ("V", "default tol") if default_tol else ("tol", "tol")
        res.extra["warning"] = (f"{field}: policy iteration reached a stable policy after {res.nit} steps but "
                                f"certifies error_bound {res.error_bound:.3g}, above the {which} {tol_used:.3g}: "
                                "float64 cannot certify it for this MDP")
    res.converged = conv
    res.extra["converged"] = conv


def _auto_method(mdp: TabularMDP) -> str:
    if not mdp.is_sparse and mdp.S * mdp.A * mdp.S >= AUTO_MPI_MIN_DENSE:
        return "mpi"
    return AUTO_RULE


def _solve_finite(mdp: TabularMDP) -> SolveResult:
    S, A, H = mdp._S, mdp._A, mdp._H
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    pi = np.empty((H, S), dtype=np.int64)
    R3 = mdp.R3()
    if mdp._sp is not None:
        ip, ix, dt = mdp.csr_arrays
        K.backward_induction_sparse(ip, ix, dt, R3, H, S, A, V, Q, pi)
        n = K.max_row_len(ip)
    else:
        K.backward_induction_dense(mdp.P4(), R3, H, V, Q, pi)
        n = S
    bound = K.backward_induction_rounding_bound(V, R3, n, _rho_contract(n))
    if not bound < math.inf:  # an infinite or NaN value: the sums over the horizon left the float64 range
        raise ValueError(f"R: the optimal values overflow float64 over the horizon (max|R| = "
                         f"{float(np.abs(R3).max()):.3g}, H = {H}): no error bound can be certified; rescale the "
                         "rewards")
    return SolveResult(V, Q, pi, float(bound), H, "backward_induction", {}, converged=True)  # nit: H steps


#: Largest ``max|R| / (1 - gamma rho)`` a discounted solve accepts (``rho`` bounds the row sums of P, which may
#: exceed 1 by ``ROW_SUM_ATOL``): a sixteenth of the largest float64, so that the values
#: (``|V*| <= max|R| / (1 - gamma rho)``), the Bellman backups and the few multiples of ``max|V|`` inside the
#: error bounds stay finite.
VALUE_LIMIT = float(np.finfo(np.float64).max) / 16.0


def _discounted_limits(mdp: TabularMDP):
    """``(n, rho, max|R|, span(R))`` of a discounted ``mdp`` (``n`` entries per row, ``rho`` a rigorous bound on
    the row sums of P), after the refusals every discounted method shares: a ``ValueError`` naming ``gamma`` when
    ``gamma rho`` is not certainly below 1, and one naming ``R`` when ``max|R| / (1 - gamma rho)`` (which bounds
    ``|V*|``) exceeds :data:`VALUE_LIMIT`."""
    g = mdp.gamma
    n = _row_len(mdp)
    rho = _discount_rho(mdp, n)
    if not math.isfinite(_contraction_bound(1.0, g, rho)):
        raise ValueError(f"gamma: {g!r} times the largest row sum of P ({rho!r}) is not certainly below 1: the "
                         "Bellman operator is not a contraction in float64 and no error bound can be certified; "
                         "use a smaller gamma or a finite horizon")
    r_max, r_span = K.reward_stats(mdp.R)
    # |V*| <= max|R| / (1 - gamma rho), rho bounding the exact row sums (which may exceed 1 by ROW_SUM_ATOL)
    if not _contraction_bound(r_max, g, rho) <= VALUE_LIMIT:
        raise ValueError(f"R: max|R| / (1 - gamma rho) = {r_max:.3g} / {1.0 - g * rho:.3g} (rho = {rho!r}, the largest "
                         f"row sum of P) is beyond {VALUE_LIMIT:.3g}: the values and their error bound cannot be "
                         "represented in float64; rescale the rewards")
    return n, rho, r_max, r_span


def _solve_discounted(mdp: TabularMDP, m: str, tol, max_iter: int, mpi_sweeps: int,
                      quiet: bool = False, pi_hint: bool = True, *, resume=None, trace=None,
                      first_bound: bool = True) -> SolveResult:
    """``solve`` for a discounted ``mdp`` with the canonical method ``m``.

    Parameters
    ----------
    mdp : TabularMDP
        A validated discounted MDP.
    m : str
        ``"vi"``, ``"mpi"`` or ``"pi"``.
    tol, max_iter, mpi_sweeps
        As for :func:`solve` (validated; ``max_iter`` counts the greedy steps of a resumed run too).
    quiet : bool
        Keep a :class:`ConvergenceWarning` in ``extra["warning"]`` instead of issuing it (for ``auto``, which may
        still recover); ``extra["stalled"]`` tells (VI/MPI) whether the iteration stopped above ``tol`` before
        ``max_iter`` (its bounds stopped improving).
    pi_hint : bool
        Whether a stall warning suggests ``method='pi'`` (not when ``auto`` runs policy iteration itself).
    resume : rltheory.solvers._kernels.RoundsState, optional
        VI/MPI only: continue the run that left this state in its ``trace`` (same ``mdp``, ``m``, ``tol``,
        ``mpi_sweeps``, a smaller ``max_iter``) instead of starting afresh; the result, ``nit`` included, is that
        of one uninterrupted run with this ``max_iter``.
    trace : dict, optional
        VI/MPI only: receives ``"state"`` (what ``resume`` takes, or None when the run ended by its stopping rule)
        and, for a fresh run with ``first_bound``, ``"first_bound"`` (the ``error_bound`` the run would have had
        with ``max_iter=1``).
    first_bound : bool
        With ``trace``: whether to record ``"first_bound"`` (one verification sweep more; the run is the same).

    Returns
    -------
    SolveResult
    """
    S, A, g = mdp.S, mdp.A, mdp.gamma
    R = mdp.R
    if g == 0.0:  # V = max_a R exactly (no arithmetic): the bound is 0
        Q = R.copy()
        V = Q.max(axis=1)
        pi = Q.argmax(axis=1).astype(np.int64)
        return SolveResult(V, Q, pi, 0.0, 1, m, {"converged": True}, converged=True)
    n, rho, r_max, r_span = _discounted_limits(mdp)
    extra = {}
    msg = None
    if m == "pi":
        pi0 = R.argmax(axis=1).astype(np.int64)
        if mdp.is_sparse:
            V, _, pi, it, converged = _policy_iteration_sparse(mdp, pi0, max_iter)
        else:
            V, _, pi, it, converged = K.policy_iteration_dense_stable(np.ascontiguousarray(mdp.P), R, g, pi0,
                                                                      max_iter)
        V = np.asarray(V)
        Q, bound = _certify_discounted(mdp, V, rho)
        if not converged:
            msg = (f"max_iter: policy iteration stopped after {it} improvement steps without a stable policy "
                   f"(error_bound {bound:.3g})")
    else:
        rl, ru = _row_sum_range(mdp, n, rho)
        tol_used, floor = _tolerance(mdp, tol, n, r_max, r_span, ru)
        mm = -1 if m == "vi" else mpi_sweeps
        patience = K.PATIENCE if m == "vi" else K.PATIENCE_MPI
        noise = _noise(n)
        cont = {k: v for k, v in (("resume", resume), ("trace", trace)) if v is not None}  # else as before
        if trace is not None:
            cont["first_bound"] = first_bound
        if not mdp.is_sparse and m == "mpi":  # evaluation to the bounds, greedy steps that certify (see _kernels)
            V, Q, pi, bound, it, stalled = K.solve_dense_mpi_certified(mdp.P.reshape(S * A, S), R, g, tol_used,
                                                                       max_iter, mpi_sweeps, rho, patience, noise,
                                                                       _big_dense(S, A), rl, ru, **cont)
        elif not mdp.is_sparse and m == "vi" and _big_dense(S, A):  # threads, entered from Python (see _kernels)
            V, Q, pi, bound, it, stalled = K.solve_dense_certified_par(mdp.P.reshape(S * A, S), R, g, tol_used,
                                                                       max_iter, rho, patience, noise, rl, ru, **cont)
        elif not mdp.is_sparse:
            V, Q, pi, bound, it, stalled = K.solve_dense_certified(mdp.P.reshape(S * A, S), R, g, tol_used, max_iter,
                                                                   mm, rho, patience, noise, rl, ru, **cont)
        else:
            ip, ix, dt = mdp.csr_arrays
            if not _big(ip):
                V, Q, pi, bound, it, stalled = K.solve_sparse_certified(ip, ix, dt, R, g, tol_used, max_iter, mm, rho,
                                                                        patience, noise, rl, ru, **cont)
            else:  # thread-parallel kernels are entered from Python only (see _kernels)
                V, Q, pi, bound, it, stalled = K.solve_sparse_certified_par(ip, ix, dt, R, g, tol_used, max_iter, mm,
                                                                            rho, patience, noise, rl, ru, **cont)
        converged = bound <= tol_used
        extra["tol"] = tol_used
        # stopped above tol before max_iter: the bounds stopped improving (the kernels' flag misses the rounds that
        # met the MacQueen-Porteus rule but whose certificate stayed above tol)
        extra["stalled"] = bool(not converged and it < max_iter)
        if not converged:
            if it >= max_iter:
                msg = f"max_iter: stopped after {it} iterations with error_bound {bound:.3g} > tol {tol_used:.3g}"
            elif tol is None:
                msg = (f"V: the bounds stopped improving after {it} iterations at error_bound {bound:.3g}, above the "
                       f"default tol {tol_used:.3g} (the float64 floor estimated for well-mixing transitions is "
                       f"{floor:.3g}): with gamma = {g!r} the {m} iterates of this MDP contract too slowly for "
                       "progress to show above float64 rounding"
                       + ("; method='pi' evaluates each policy exactly" if pi_hint else ""))
            else:
                msg = (f"tol: {tol_used:.3g} cannot be certified in float64 for this MDP (the bounds stopped "
                       f"improving at error_bound {bound:.3g} after {it} iterations; the float64 floor estimate is "
                       f"{floor:.3g}); pass a larger tol or leave it at its default")
    if not (math.isfinite(bound) and bound >= 0.0 and np.isfinite(V).all()):
        # never certify a NaN or infinite value or bound (see VALUE_LIMIT)
        what = "values" if not np.isfinite(V).all() else "error bound"
        msg = (f"V: the {m} {what} left the float64 range; no finite error bound can be certified"
               + (f" ({msg})" if msg else ""))
        bound, converged = math.inf, False
    if msg is not None:
        if quiet:
            extra["warning"] = msg
        else:
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    extra["converged"] = bool(converged)
    return SolveResult(V, Q, np.asarray(pi, dtype=np.int64), float(bound), int(it), m, extra, converged=converged)


def _policy_iteration_sparse(mdp: TabularMDP, pi0: np.ndarray, max_iter: int):
    S, A, g = mdp.S, mdp.A, mdp.gamma
    M = mdp.P_csr
    R = mdp.R
    ip, ix, dt = mdp.csr_arrays
    pi = pi0.copy()
    Q = np.empty((S, A))
    eye = sp.identity(S, format="csc")
    it = 0
    V = np.zeros(S)
    krylov = True  # once GMRES stalls on this MDP, later policies go straight to the exact LU
    stable = False
    while it < max_iter:
        rows = np.arange(S) * A + pi
        Ppi = M[rows]
        V, krylov = _solve_policy_system((eye - g * Ppi).tocsr(), R[np.arange(S), pi], V if it else None, krylov)
        K.bellman_q_sparse(ip, ix, dt, R, V, g, Q)
        it += 1
        scale = float(np.abs(V).max())  # relative: an absolute floor froze PI at tiny reward scales
        if K.improve(Q, pi, 1e-12 * scale) == 0:
            stable = True
            break
    return V, Q, pi, it, stable


def _banded(Amat, max_entries: float = 5e7) -> bool:
    """Whether LU fill-in is bounded cheaply: bandwidth * S <= ``max_entries`` (e.g. chains)."""
    C = Amat.tocoo()
    bw = int(np.abs(C.row.astype(np.int64) - C.col.astype(np.int64)).max()) if C.nnz else 0
    return (2 * bw + 1) * Amat.shape[0] <= max_entries


def _solve_policy_system(Amat, b, x0=None, krylov: bool = True, rtol: float = 1e-14):
    """Solve ``(I - gamma P_pi) V = r_pi`` for sparse PI; returns ``(V, krylov_worked)``.

    GMRES first (restart 20, at most 400 matrix-vector products): exact sparse LU fills in badly on
    well-mixing random kernels (Garnet, S = 1e4: about 3 minutes per solve), where ``I - gamma P_pi`` is
    well conditioned and GMRES converges in a few dozen steps. Its answer is accepted only at relative residual
    ``||b - A V||_inf <= 1e-12 max(2^k, ||V||)`` (``2^k``: the scale below); otherwise (slow-mixing chains,
    where LU is cheap) the exact LU is used, up to ``MAX_SPARSE_LU_STATES`` states or for any banded matrix (fill-in
    stays inside the band), and beyond that a ``ValueError`` names 'mpi'.
    ``solve`` certifies the final policy from its Bellman residual in every case (``error_bound``).

    The system is solved for ``V / 2^k`` with ``2^k`` the power of two just above ``max|b|`` (exact scaling, but for
    entries below ``2^-1022`` of ``2^k``, far under the rounding of V):
    GMRES forms inner products of its Krylov vectors, which overflow (and then divide ``inf`` by ``inf``) when the
    rewards are near the top of the float64 range, although ``V`` itself is representable."""
    bmax = float(np.abs(b).max()) if b.size else 0.0
    k = math.frexp(bmax)[1] if 0.0 < bmax < math.inf else 0
    b = np.ldexp(b, -k)
    if x0 is not None:
        x0 = np.ldexp(x0, -k)
    if krylov:
        scale = max(1.0, float(np.abs(b).max()))
        x, _info = spla.gmres(Amat, b, x0=x0, rtol=rtol, atol=0.0, restart=20, maxiter=20)
        res = float(np.abs(b - Amat @ x).max()) if np.all(np.isfinite(x)) else np.inf
        if res <= 1e-12 * max(scale, float(np.abs(x).max())):
            return np.ldexp(x, k), True
        if Amat.shape[0] > MAX_SPARSE_LU_STATES and not _banded(Amat):
            raise ValueError(f"method: sparse policy iteration could not evaluate a policy (GMRES stalled at relative "
                             f"residual {res / scale:.1e}) and an exact sparse LU is not attempted above S = "
                             f"{MAX_SPARSE_LU_STATES} (fill-in: minutes to hours). Use 'mpi' or 'vi' (certified to "
                             "`tol`)")
    return np.ldexp(spla.spsolve(Amat.tocsc(), b), k), False


# ------------------------------------------------------------------------------ evaluation


def _policy_matrix(mdp: TabularMDP, pol2: np.ndarray) -> sp.csr_matrix:
    """``P_pi[s, s'] = sum_a pi(a|s) P(s'|s,a)`` as CSR (discounted, time-homogeneous)."""
    S, A = mdp.S, mdp.A
    W = sp.csr_matrix((pol2.ravel(), np.arange(S * A), np.arange(0, S * A + 1, A)), shape=(S, S * A))
    return (W @ mdp.P_csr).tocsr()


def _policy_solve(mdp: TabularMDP, Ppi: sp.csr_matrix, b: np.ndarray, transpose: bool = False) -> np.ndarray:
    """``x`` of shape ``(S,)`` solving ``(I - gamma P_pi) x = b`` (``transpose``: ``(I - gamma P_pi)^T x = b``) by a
    direct solve: sparse LU for a sparse MDP, dense LU otherwise (the evaluation and the occupancy measure of a
    policy, :func:`_policy_matrix`)."""
    S, g = mdp.S, mdp.gamma
    if mdp.is_sparse:
        x = spla.spsolve((sp.identity(S, format="csc") - g * (Ppi.T if transpose else Ppi)).tocsc(), b)
    else:
        x = np.linalg.solve(np.eye(S) - g * (Ppi.toarray().T if transpose else Ppi.toarray()), b)
    return np.asarray(x, dtype=np.float64).reshape(S)


def evaluate(mdp: TabularMDP, policy) -> np.ndarray:
    """Value ``V^pi`` of a Markov policy (deterministic int array or stochastic float array), by a direct method.

    Finite horizon: backward recursion ``V_h = sum_a pi_h(a|.) (R_h + P_h V_{h+1})``, shape (H+1, S).
    Discounted: the linear system ``(I - gamma P_pi) V = r_pi`` solved by LU (sparse LU for a sparse MDP),
    shape (S,). No iteration is stopped early, but the result is a float64 computation without a certificate:
    the condition number of ``I - gamma P_pi`` in the max norm is at most ``(1 + gamma) / (1 - gamma)``, so the
    rounding error of the solve can reach about that factor times the float64 unit roundoff, relative to
    ``max |V^pi|`` (it matters for ``gamma`` near 1). A certified value comes from :func:`solve` and its
    ``error_bound`` (for the optimal value).

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    policy : array_like
        A Markov policy, see :func:`as_stochastic_policy`.

    Returns
    -------
    numpy.ndarray
        ``V^pi``, shape ``(H+1, S)`` (with ``V_H = 0``) or ``(S,)``.
    """
    return evaluate_vq(mdp, policy)[0]


def q_values(mdp: TabularMDP, policy=None) -> np.ndarray:
    """``Q^pi`` of a Markov policy, or ``Q*`` when ``policy`` is None.

    ``Q^pi(s,a) = R(s,a) + gamma sum_{s'} P(s'|s,a) V^pi(s')`` (finite horizon: per step h, with V_{h+1}).

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    policy : array_like, optional
        A Markov policy (default: ``None``, the optimal ``Q*``).

    Returns
    -------
    numpy.ndarray
        ``Q``, shape ``(S, A)`` or ``(H, S, A)``.
    """
    if policy is None:
        return solve(mdp).Q
    return evaluate_vq(mdp, policy)[1]


def evaluate_vq(mdp: TabularMDP, policy):
    """``V^pi`` and ``Q^pi`` of a Markov policy from one exact evaluation.

    Finite horizon: backward induction ``Q_h = R_h + P_h V_{h+1}``, ``V_h(s) = sum_a pi_h(a|s) Q_h(s, a)``,
    ``V_H = 0``. Discounted: ``V^pi = (I - gamma P_pi)^{-1} r_pi`` by a direct (sparse) solve, then
    ``Q^pi = R + gamma P V^pi``.

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    policy : array_like
        A Markov policy, see :func:`as_stochastic_policy`.

    Returns
    -------
    V : numpy.ndarray
        ``V^pi``, shape ``(H+1, S)`` or ``(S,)``.
    Q : numpy.ndarray
        ``Q^pi``, shape ``(H, S, A)`` or ``(S, A)``.
    """
    mdp = _check_mdp(mdp)
    pol = as_stochastic_policy(mdp, policy)
    S, A = mdp.S, mdp.A
    if mdp.finite_horizon:
        H = mdp.horizon
        V = np.zeros((H + 1, S))
        Q = np.empty((H, S, A))
        if mdp.is_sparse:
            ip, ix, dt = mdp.csr_arrays
            K.evaluate_finite_sparse(ip, ix, dt, mdp.R3(), H, S, A, pol, V, Q)
        else:
            K.evaluate_finite_dense(mdp.P4(), mdp.R3(), H, pol, V, Q)
        return V, Q
    rpi = (pol * mdp.R).sum(axis=1)
    V = _policy_solve(mdp, _policy_matrix(mdp, pol), rpi)
    return V, bellman_backup(mdp, V)


def policy_value(mdp: TabularMDP, policy) -> float:
    """Expected return from the initial distribution: ``sum_s mu0(s) V^pi(s)`` (``V^pi_0`` for finite horizon).

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    policy : array_like
        A Markov policy, see :func:`as_stochastic_policy`.

    Returns
    -------
    float
        ``<mu0, V^pi>`` (``<mu0, V^pi_0>`` for a finite horizon).
    """
    V = evaluate(mdp, policy)
    return float(mdp.mu0 @ (V[0] if V.ndim == 2 else V))


def occupancy(mdp: TabularMDP, policy, *, mu0=None) -> np.ndarray:
    """State-action occupancy measure of a Markov policy from ``mu0`` (default ``mdp.mu0``).

    Finite horizon: ``d_h(s,a) = Pr^pi(s_h = s, a_h = a)``, shape (H, S, A), each ``d_h`` a distribution,
    and ``sum_h <d_h, R_h> = <mu0, V^pi_0>``.
    Discounted: the normalised discounted occupancy
    ``d(s,a) = (1-gamma) sum_t gamma^t Pr^pi(s_t = s, a_t = a)``, shape (S, A), a distribution, solving
    ``d_S^T (I - gamma P_pi) = (1-gamma) mu0^T``; ``<d, R> = (1-gamma) <mu0, V^pi>``.

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    policy : array_like
        A Markov policy, see :func:`as_stochastic_policy`.
    mu0 : array_like or int, optional
        Initial distribution or initial state (keyword-only; default ``mdp.mu0``).

    Returns
    -------
    numpy.ndarray
        ``d_h(s, a)`` of shape ``(H, S, A)``, or ``d(s, a)`` of shape ``(S, A)``.
    """
    mdp = _check_mdp(mdp)
    pol = as_stochastic_policy(mdp, policy)
    start = mdp.mu0 if mu0 is None else mdp.with_mu0(mu0).mu0
    S, A = mdp.S, mdp.A
    if mdp.finite_horizon:
        H = mdp.horizon
        d = np.zeros((H, S, A))
        if mdp.is_sparse:
            ip, ix, dt = mdp.csr_arrays
            K.occupancy_finite_sparse(ip, ix, dt, H, S, A, pol, start, d)
        else:
            K.occupancy_finite_dense(mdp.P4(), H, pol, start, d)
        return d
    dS = np.clip(_policy_solve(mdp, _policy_matrix(mdp, pol), (1.0 - mdp.gamma) * start, transpose=True), 0.0, None)
    return dS[:, None] * pol


# ------------------------------------------------------------------------ derived quantities


def gaps(mdp: TabularMDP, result: SolveResult | None = None) -> np.ndarray:
    """Value gaps ``Delta(s,a) = V*(s) - Q*(s,a) >= 0`` (finite horizon: ``Delta_h(s,a) = V*_h(s) - Q*_h(s,a)``).

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    result : SolveResult, optional
        A solution of ``mdp`` to reuse (default: solved here). Only its ``Q`` is read, so it must come from
        :func:`solve` on this very MDP: its shape is checked, its values cannot be.

    Returns
    -------
    numpy.ndarray
        ``Delta``, shape ``(S, A)`` or ``(H, S, A)``, non-negative.

    Raises
    ------
    TypeError
        ``mdp`` is not a :class:`TabularMDP`, or ``result`` not a :class:`SolveResult`.
    ValueError
        ``result.Q`` does not have the shape of ``mdp``'s action values (a result of another MDP).
    """
    mdp = _check_mdp(mdp)
    if result is None:
        return _gaps_of(solve(mdp).Q)
    if not isinstance(result, SolveResult):
        raise TypeError(f"result: expected a SolveResult (from solve), got {type(result).__name__}")
    want = (mdp.S, mdp.A) if mdp.horizon is None else (mdp.horizon, mdp.S, mdp.A)
    Q = np.asarray(result.Q)
    if Q.shape != want:
        kind = "discounted" if mdp.horizon is None else f"horizon-{mdp.horizon}"
        raise ValueError(f"result: Q has shape {Q.shape}, but this {kind} MDP's action values have shape {want} "
                         "(a result of another MDP?)")
    return _gaps_of(Q)


def _gaps_of(Q: np.ndarray) -> np.ndarray:
    """``max_a Q - Q`` along the last axis."""
    # max_a Q* equals V* up to the certificate and makes every gap exactly >= 0 with a zero per row.
    return Q.max(axis=-1, keepdims=True) - Q


def next_value_variance(mdp: TabularMDP, V) -> np.ndarray:
    """``Var_{s' ~ P(.|s,a)} V(s')`` for every (s, a) (and step h).

    ``V`` of shape (S,) gives an (S, A) array (for time-inhomogeneous finite-horizon kernels, (H, S, A) with
    the same V at every step); ``V`` of shape (H+1, S) (finite horizon) gives ``Var_{s'~P_h} V_{h+1}(s')``,
    shape (H, S, A). Two-pass formula ``sum_{s'} P(s') (V(s') - PV)^2`` over the next states of positive
    probability, on ``V`` shifted by its midrange (``(min V + max V) / 2``, per row of ``V``), exact up to
    rounding: a constant ``V`` gives exactly 0, for dense and sparse kernels alike.

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    V : array_like
        Values, shape ``(S,)`` or ``(H+1, S)``.

    Returns
    -------
    numpy.ndarray
        The variances, shape ``(S, A)`` or ``(H, S, A)``.

    Raises
    ------
    TypeError
        ``mdp`` is not a :class:`TabularMDP`, or ``V`` is not a real array.
    ValueError
        ``V`` has the wrong shape or a non-finite entry.
    """
    mdp = _check_mdp(mdp)
    V = _as_values(V)
    S, A, H = mdp.S, mdp.A, mdp.horizon
    if V.ndim == 1:
        if V.shape != (S,):
            raise ValueError(f"V: expected shape ({S},), got {V.shape}")
        Vh = V[None]
        ho = mdp.P_csr.shape[0] // (S * A)
    elif H is not None and V.shape == (H + 1, S):
        Vh = V
        ho = H
    else:
        raise ValueError(f"V: expected shape ({S},) or (H+1, S), got {V.shape}")
    bad = ~np.isfinite(V)
    if bad.any():  # the kernels would return NaN, and the dense and sparse ones not the same entries
        at = tuple(int(j) for j in np.unravel_index(int(np.flatnonzero(bad.reshape(-1))[0]), V.shape))
        raise ValueError(f"V: non-finite value {float(V[at])!r} at index {at}")
    # centred first (a variance does not change under a shift): each row of Vh moved by its midrange, so that a
    # constant V is exactly 0 for both kernels and no |V| near the float64 limit overflows in V - PV; the dense
    # and sparse kernels then compute the same sums (up to the order of summation)
    lo, hi = Vh.min(axis=1, keepdims=True), Vh.max(axis=1, keepdims=True)
    Vh = Vh - (lo * 0.5 + hi * 0.5)
    out = np.empty((ho, S, A))
    if mdp.is_sparse:
        ip, ix, dt = mdp.csr_arrays
        K.next_value_variance_sparse(ip, ix, dt, S, A, Vh, out)
    else:
        K.next_value_variance_dense(mdp.P4(), Vh, out)
    if V.ndim == 1 and ho == 1:
        return out[0]
    return out
