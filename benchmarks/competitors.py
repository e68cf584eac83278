"""Adapters that express one benchmark operation in each tool's own API.

Every adapter returns a zero-argument callable (the thing timed) and an ``extract`` function mapping its
output to the value vector (``V`` or ``V_0``), used to check that all tools agree with rltheory.
Reference implementations in plain NumPy / scipy.sparse are written here (not copied from any tool).
"""
from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import scipy.sparse as sp

__all__ = ["available_tools", "numpy_ops", "scipy_ops", "quantecon_ops", "mdptoolbox_ops"]


def available_tools() -> dict[str, dict]:
    """``{tool: {"available": bool, "version": str | None, "note": str}}`` for the optional competitors."""
    out: dict[str, dict] = {}
    try:
        import quantecon
        from quantecon.markov import DiscreteDP  # noqa: F401

        out["quantecon"] = {"available": True, "version": quantecon.__version__, "note": ""}
    except Exception as exc:  # ImportError or a broken install
        out["quantecon"] = {"available": False, "version": None, "note": f"{type(exc).__name__}: {exc}"}
    try:
        import importlib.metadata as md

        import mdptoolbox.mdp  # noqa: F401

        out["pymdptoolbox"] = {"available": True, "version": md.version("pymdptoolbox"), "note": ""}
    except Exception as exc:
        out["pymdptoolbox"] = {"available": False, "version": None, "note": f"{type(exc).__name__}: {exc}"}
    return out


# ----------------------------------------------------------------------------------- NumPy


class numpy_ops:
    """Vectorised NumPy references (one BLAS matvec per sweep, NumPy reductions)."""

    @staticmethod
    def matvec(P2, V):
        return (lambda: P2 @ V), None

    @staticmethod
    def sweep(P2, R, V, gamma):
        """``max_a [R + gamma P V]``: BLAS matvec + NumPy max (no argmax)."""
        S, A = R.shape

        def f():
            return (R + gamma * (P2 @ V).reshape(S, A)).max(axis=1)
        return f, lambda out: out

    @staticmethod
    def vi(P2, R, gamma, tol, max_iter=1_000_000):
        """Value iteration with rltheory's certified rule ``gamma ||V' - V|| / (1-gamma) <= tol``, from
        ``V0 = min R / (1 - gamma)`` (as rltheory)."""
        S, A = R.shape

        def f():
            V = np.full(S, R.min() / (1.0 - gamma))
            for it in range(1, max_iter + 1):
                Vn = (R + gamma * (P2 @ V).reshape(S, A)).max(axis=1)
                d = np.abs(Vn - V).max()
                V = Vn
                if gamma * d <= tol * (1.0 - gamma):
                    break
            return V, it
        return f, lambda out: out[0]

    @staticmethod
    def pi(P, R, gamma, max_iter=10_000):
        """Howard's policy iteration: LU solve of ``(I - gamma P_pi) V = r_pi``, greedy improvement that
        keeps the current action unless another is better by more than ``1e-12 * max(1, |V|)``."""
        S, A = R.shape
        P2 = P.reshape(S * A, S)
        eye = np.eye(S)
        idx = np.arange(S)

        def f():
            pol = R.argmax(axis=1)
            for it in range(1, max_iter + 1):
                V = np.linalg.solve(eye - gamma * P[idx, pol], R[idx, pol])
                Q = R + gamma * (P2 @ V).reshape(S, A)
                cur = Q[idx, pol]
                better = Q.max(axis=1) > cur + 1e-12 * max(1.0, np.abs(V).max())
                if not better.any():
                    break
                pol = np.where(better, Q.argmax(axis=1), pol)
            return V, it
        return f, lambda out: out[0]

    @staticmethod
    def backward_induction(P, R, H):
        """Finite-horizon backward induction, one BLAS matvec per step (time-homogeneous P, R)."""
        S, A = R.shape
        P2 = P.reshape(S * A, S)

        def f():
            V = np.zeros((H + 1, S))
            Q = np.empty((H, S, A))
            pol = np.empty((H, S), dtype=np.int64)
            for h in range(H - 1, -1, -1):
                Q[h] = R + (P2 @ V[h + 1]).reshape(S, A)
                pol[h] = Q[h].argmax(axis=1)
                V[h] = Q[h].max(axis=1)
            return V, Q, pol
        return f, lambda out: out[0][0]


class scipy_ops:
    """scipy.sparse CSR references."""

    @staticmethod
    def matvec(M, V):
        return (lambda: M @ V), None

    @staticmethod
    def sweep(M, R, V, gamma):
        """``max_a [R + gamma P V]`` with a scipy.sparse CSR matvec + NumPy max (no argmax)."""
        S, A = R.shape

        def f():
            return (R + gamma * (M @ V).reshape(S, A)).max(axis=1)
        return f, lambda out: out


# ------------------------------------------------------------------------------- QuantEcon


class quantecon_ops:
    """``quantecon.markov.DiscreteDP``: product form ``Q[s, a, s']`` (dense) or state-action-pair form
    with a CSR ``Q`` (sparse). The DiscreteDP object is built once, outside the timed call."""

    @staticmethod
    def build_dense(P, R, gamma):
        from quantecon.markov import DiscreteDP

        return DiscreteDP(np.asarray(R), np.asarray(P), gamma)

    @staticmethod
    def build_sparse(M, R, gamma):
        from quantecon.markov import DiscreteDP

        S, A = R.shape
        s_idx = np.repeat(np.arange(S), A)
        a_idx = np.tile(np.arange(A), S)
        return DiscreteDP(np.asarray(R).reshape(S * A), sp.csr_matrix(M), gamma, s_idx, a_idx)

    @staticmethod
    def sweep(ddp, V):
        """``DiscreteDP.bellman_operator`` (max only, into a preallocated output)."""
        Tv = np.empty_like(V)

        def f():
            return ddp.bellman_operator(V, Tv=Tv)
        return f, lambda out: out

    @staticmethod
    def solve(ddp, method, **kw):
        return (lambda: ddp.solve(method, **kw)), (lambda res: np.asarray(res.v))


# ---------------------------------------------------------------------------- pymdptoolbox


@contextlib.contextmanager
def _quiet():
    # pymdptoolbox prints a convergence warning for discount == 1 (finite horizon) on every construction
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class mdptoolbox_ops:
    """pymdptoolbox (``mdptoolbox.mdp``): transitions as ``(A, S, S)`` (dense) or a list of ``A`` CSR
    matrices (sparse), rewards ``(S, A)``. Solvers are timed construction + ``run()``: the object is
    single-use, and construction includes the toolbox's own validation of P and R."""

    @staticmethod
    def transitions_dense(P):
        return np.ascontiguousarray(np.transpose(np.asarray(P), (1, 0, 2)))

    @staticmethod
    def transitions_sparse(M, S, A):
        M = sp.csr_matrix(M)
        return [sp.csr_matrix(M[a::A]) for a in range(A)]

    @staticmethod
    def sweep(Pt, R, V, gamma):
        """``MDP._bellmanOperator`` (argmax and max) on a constructed ValueIteration object."""
        import mdptoolbox.mdp as mm

        with _quiet():
            obj = mm.ValueIteration(Pt, np.asarray(R), gamma, epsilon=1e-2, max_iter=1)

        def f():
            return obj._bellmanOperator(V)
        return f, lambda out: np.asarray(out[1]).ravel()

    @staticmethod
    def solver(cls_name, Pt, R, **kw):
        import mdptoolbox.mdp as mm

        cls = getattr(mm, cls_name)
        R = np.asarray(R)

        def f():
            with _quiet():
                obj = cls(Pt, R, **kw)
                obj.run()
            return obj

        def extract(obj):
            V = np.asarray(obj.V, dtype=np.float64)
            return V[:, 0] if V.ndim == 2 else V.ravel()
        return f, extract
