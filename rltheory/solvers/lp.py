"""Occupancy-measure linear programs (cvxpy): an independent cross-check of the dynamic-programming solvers.

Discounted (Puterman 1994, Sec. 6.9; the dual LP of Manne 1960): with a strictly positive weighting
``rho`` over states (uniform here, so that every state's value is identified),

    max_{d >= 0}  sum_{s,a} d(s,a) R(s,a)
    s.t.          sum_a d(s',a) - gamma sum_{s,a} P(s'|s,a) d(s,a) = (1-gamma) rho(s')   for all s'.

Its dual is ``min (1-gamma) <rho, V>`` s.t. ``V(s) >= R(s,a) + gamma P V(s,a)``, whose solution is ``V*``:
we read ``V*`` off the multipliers of the flow constraints.

Finite horizon (e.g. Altman 1999; Neu & Pike-Burke 2020, Sec. 2): variables ``d_h(s,a) >= 0``,

    max  sum_h <d_h, R_h>
    s.t. sum_a d_0(s,a) = rho(s),   sum_a d_{h+1}(s',a) = sum_{s,a} P_h(s'|s,a) d_h(s,a),

and the multiplier of the step-h constraint is ``V*_h``.

The sign convention of cvxpy's dual variables is fixed by checking strong duality,
``<rho, y_0> = optimal value``, so the extraction does not depend on solver conventions.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading

import numpy as np
import scipy.sparse as sp

from ..models.tabular import TabularMDP
from ._bellman import SolveResult, bellman_backup, certificate

_PREFERRED = ("HIGHS", "CLARABEL")


def _pick_solver(solver) -> str:
    import cvxpy as cp

    installed = cp.installed_solvers()
    if solver is not None:
        if not isinstance(solver, str):
            raise TypeError(f"lp_solver: expected a str (a cvxpy solver name) or None, got {type(solver).__name__}")
        if solver.upper() not in installed:
            raise ValueError(f"lp_solver: {solver!r} is not installed; available: {installed}")
        return solver.upper()
    for s in _PREFERRED:
        if s in installed:
            return s
    raise RuntimeError(f"lp_solver: no LP solver among {_PREFERRED} is installed (cvxpy has {installed})")


#: File descriptor 1 is process-wide: concurrent captures (threads) would restore each other's temporary files.
_FD1_LOCK = threading.Lock()


@contextlib.contextmanager
def _captured_stdout():
    """Send file descriptor 1 to a temporary file for the duration (C-level writes included: HiGHS prints its
    banner from C++ when its first solver object is created, past Python's ``sys.stdout``). Yields a callable
    returning what was written. A no-op capture if the descriptor cannot be duplicated. Captures are serialised
    by a lock (LP solves in several threads run one at a time)."""
    with _FD1_LOCK:
        yield from _captured_stdout_unlocked()


def _captured_stdout_unlocked():
    try:
        sys.stdout.flush()
    except Exception:  # pragma: no cover - exotic stdout replacements
        pass
    try:
        saved = os.dup(1)
    except OSError:  # pragma: no cover - no descriptor 1 (embedded interpreters)
        yield lambda: ""
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield lambda: (tmp.seek(0), tmp.read().decode("utf-8", "replace"))[1]
        finally:
            try:
                sys.stdout.flush()
            except Exception:  # pragma: no cover
                pass
            os.dup2(saved, 1)
            os.close(saved)


#: Statuses a solver may report for the occupancy LP although it is always feasible (every policy's occupancy
#: measure satisfies the constraints) and bounded (the objective is at most ``max|R|`` per step).
_IMPOSSIBLE = ("infeasible", "unbounded", "infeasible_inaccurate", "unbounded_inaccurate")


def _lp_error(name: str, what: str, rmax: float, log: str = "") -> RuntimeError:
    """The one error of a failed LP solve: ``"method: 'lp' failed: the LP solver <name> <what> ..."``, with the
    reward scale, the tail of the solver's captured log, and what to do instead."""
    tail = " ".join(log.strip().splitlines()[-3:])
    return RuntimeError(
        f"method: 'lp' failed: the LP solver {name} {what} (max|R| = {rmax:.3g}"
        + (f"; solver log: {tail}" if tail else "") + "). Badly scaled rewards (the LP solvers work to a "
        "fixed absolute tolerance) are the usual cause; method='pi' solves exactly, lp_solver= picks another "
        "LP solver")


def _run(prob, name: str, rmax: float) -> None:
    """``prob.solve(solver=name)`` with the solver's console output captured (file descriptor 1, C-level writes
    included). Every failure of the backend -- a ``cvxpy`` ``SolverError``, any other exception raised while
    solving or unpacking the solution (cvxpy raises a plain ``ValueError`` when HiGHS returns no solution), a
    status other than optimal -- becomes a ``RuntimeError`` that starts with ``method: 'lp' failed: the LP solver
    <name>`` and says why; ``rmax`` (``max|R|``) is quoted in it."""
    import cvxpy as cp

    with _captured_stdout() as out:
        try:
            prob.solve(solver=name)
            err = None
        except MemoryError:
            raise
        except Exception as exc:  # noqa: BLE001 - every backend failure is reported as one error
            err = exc
        log = out()
    if err is not None:
        if isinstance(err, cp.error.SolverError):
            why = f"gave up on this MDP ({err})"
        else:  # first line only: cvxpy's text of an unpacking failure goes on to dump the solver's whole state
            first = (str(err).splitlines() or [""])[0]
            why = f"failed on this MDP ({type(err).__name__}: {first[:120]})"
        raise _lp_error(name, why, rmax, log) from err
    if prob.status in _IMPOSSIBLE:
        raise _lp_error(name, f"reported status {prob.status!r}, but the occupancy LP of every MDP is feasible and "
                        "bounded: the solver failed numerically at this reward scale", rmax, log)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise _lp_error(name, f"returned status {prob.status!r}", rmax, log)
    if prob.value is None or not np.isfinite(prob.value):
        raise _lp_error(name, f"returned status {prob.status!r} without a finite optimal value", rmax, log)


def _duals(name: str, rmax: float, S: int, constraints) -> list[np.ndarray]:
    """The multipliers of ``constraints`` as float64 ``(S,)`` arrays; a ``RuntimeError`` (see :func:`_run`) when
    the solver returned none or non-finite ones."""
    out = []
    for c in constraints:
        y = c.dual_value
        y = None if y is None else np.asarray(y, dtype=np.float64).reshape(-1)
        if y is None or y.shape != (S,) or not np.all(np.isfinite(y)):
            raise _lp_error(name, "returned no finite multipliers for the flow constraints (the values are read "
                            "off them)", rmax)
        out.append(y)
    return out


def _primal(name: str, rmax: float, x, shape) -> np.ndarray:
    """The occupancy ``x.value`` reshaped and clipped at 0; a ``RuntimeError`` (see :func:`_run`) when missing."""
    v = x.value
    if v is None or not np.all(np.isfinite(v)):
        raise _lp_error(name, "returned no finite occupancy measure", rmax)
    return np.clip(np.asarray(v, dtype=np.float64).reshape(shape), 0.0, None)


def _aggregation(S: int, A: int) -> sp.csr_matrix:
    """E with ``E[s, s*A + a] = 1``: sums a flat (S*A,) vector over actions."""
    return sp.csr_matrix((np.ones(S * A), np.arange(S * A), np.arange(0, S * A + 1, A)), shape=(S, S * A))


def solve_lp(mdp: TabularMDP, solver: str | None = None):
    """Solve ``mdp`` by the occupancy-measure LP; returns a :class:`~rltheory.solvers.SolveResult`.

    ``extra["occupancy"]`` holds the optimal occupancy under uniform ``rho`` and ``extra["solver"]`` the LP
    solver used. The solver's console output (HiGHS prints a banner from C++) is captured, never printed.
    ``error_bound`` is the Bellman-residual certificate of the extracted ``V``
    (:func:`rltheory.solvers.certificate`), so it reflects the LP solver's actual accuracy.

    The LP over occupancy measures ``d`` with uniform ``rho`` is the one in the module docstring; ``V*`` is read off
    the multipliers of its flow constraints.

    Parameters
    ----------
    mdp : TabularMDP
        The MDP.
    solver : str, optional
        A cvxpy solver name (default: the first installed preferred solver).

    Returns
    -------
    SolveResult
        ``V``, ``Q``, ``policy``, ``error_bound``, ``converged``, ``nit`` and ``extra``.

    Raises
    ------
    TypeError
        ``lp_solver: ...``: ``solver`` is not a str.
    ValueError
        ``lp_solver: ...``: ``solver`` is not installed.
    RuntimeError
        ``lp_solver: ...`` when no preferred solver is installed; ``method: 'lp' failed: the LP solver <NAME> ...``
        for every failure of the backend: a solver error, any exception while solving or unpacking the solution
        (HiGHS returns none at huge reward scales), a status other than optimal (``infeasible`` or ``unbounded``
        are said to be numerical failures at the reward scale, since this LP is always feasible and bounded), or
        missing or non-finite multipliers. The message quotes ``max|R|`` and the tail of the solver's log.
    """
    import cvxpy as cp

    name = _pick_solver(solver)
    S, A = mdp.S, mdp.A
    rmax = float(np.abs(mdp.R).max()) if mdp.R.size else 0.0
    E = _aggregation(S, A)
    M = mdp.P_csr  # (hp*S*A, S)
    rho = np.full(S, 1.0 / S)
    if mdp.discounted:
        g = mdp.gamma
        d = cp.Variable(S * A, nonneg=True)
        Aeq = (E - g * M.T).tocsr()
        flow = Aeq @ d == (1.0 - g) * rho
        prob = cp.Problem(cp.Maximize(mdp.R.ravel() @ d), [flow])
        _run(prob, name, rmax)
        y = _duals(name, rmax, S, [flow])[0]
        if abs((1.0 - g) * rho @ y - prob.value) > abs((1.0 - g) * rho @ (-y) - prob.value):
            y = -y
        V = y
        Q = bellman_backup(mdp, V)
        occ = _primal(name, rmax, d, (S, A))
        pi = Q.argmax(axis=1).astype(np.int64)
    else:
        H = mdp.horizon
        hp = M.shape[0] // (S * A)
        ds = [cp.Variable(S * A, nonneg=True) for _ in range(H)]
        cons = [E @ ds[0] == rho]
        for h in range(H - 1):
            Mh = M[(h if hp > 1 else 0) * S * A:((h if hp > 1 else 0) + 1) * S * A]
            cons.append(E @ ds[h + 1] == Mh.T @ ds[h])
        R3 = mdp.R3()
        obj = sum(R3[h if R3.shape[0] > 1 else 0].ravel() @ ds[h] for h in range(H))
        prob = cp.Problem(cp.Maximize(obj), cons)
        _run(prob, name, rmax)
        ys = _duals(name, rmax, S, cons)
        sign = 1.0 if abs(rho @ ys[0] - prob.value) <= abs(-rho @ ys[0] - prob.value) else -1.0
        V = np.zeros((H + 1, S))
        for h in range(H):
            V[h] = sign * ys[h]
        Q = bellman_backup(mdp, V)
        occ = np.stack([_primal(name, rmax, x, (S, A)) for x in ds])
        pi = Q.argmax(axis=-1).astype(np.int64)
    bound = certificate(mdp, V)
    return SolveResult(V, Q, pi, error_bound=float(bound), iterations=1, method="lp",
                       extra={"solver": name, "status": prob.status, "objective": float(prob.value),
                              "occupancy": occ})
