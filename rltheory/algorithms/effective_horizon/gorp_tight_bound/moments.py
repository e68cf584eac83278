"""Exact return distribution of the uniformly random policy on a deterministic MDP (distributional value
iteration, atoms within ``precision`` merged) and its variance / third absolute central moment."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ....models.tabular import TabularMDP
from ..analysis import PRECISION, deterministic_arrays

@njit(cache=True, error_model="numpy")
def moments_kernel(nxt, R, T, tol, max_atoms):
    """Variance and third absolute central moment of the uniformly random policy's return from each ``(t, s)``.

    Exact distributional value iteration ``Z_t(s) = R(s, a) + Z_{t+1}(nxt(s, a))``, ``a`` uniform, atoms closer than
    ``tol`` merged (probability-weighted mean kept).

    Parameters
    ----------
    nxt : ndarray of int, shape (S, A)
        Successors.
    R : ndarray, shape (S, A)
        Rewards.
    T : int
        Horizon.
    tol : float
        Merge distance of atoms.
    max_atoms : int
        Largest number of atoms of a layer.

    Returns
    -------
    var, rho : ndarray, shape (T + 1, S)
        Variance and third absolute central moment (row ``T`` zero).
    ok : bool
        False (and both arrays zero) when a layer needed more than ``max_atoms`` atoms.
    """
    S, A = nxt.shape
    var = np.zeros((T + 1, S))
    rho = np.zeros((T + 1, S))
    ptr = np.arange(S + 1)
    vals = np.zeros(S)
    probs = np.ones(S)
    for t in range(T - 1, -1, -1):
        total = 0
        for s in range(S):
            for a in range(A):
                n = nxt[s, a]
                total += ptr[n + 1] - ptr[n]
        if total > max_atoms:
            return var, rho, False
        nptr = np.zeros(S + 1, dtype=np.int64)
        nvals = np.empty(total)
        nprobs = np.empty(total)
        pos = 0
        for s in range(S):
            cnt = 0
            for a in range(A):
                cnt += ptr[nxt[s, a] + 1] - ptr[nxt[s, a]]
            v = np.empty(cnt)
            w = np.empty(cnt)
            c = 0
            for a in range(A):
                n = nxt[s, a]
                for j in range(ptr[n], ptr[n + 1]):
                    v[c] = vals[j] + R[s, a]
                    w[c] = probs[j] / A
                    c += 1
            order = np.argsort(v, kind="mergesort")
            start = pos
            i = 0
            while i < cnt:
                v0 = v[order[i]]
                sw = 0.0
                swv = 0.0
                while i < cnt and v[order[i]] - v0 < tol:
                    sw += w[order[i]]
                    swv += w[order[i]] * v[order[i]]
                    i += 1
                nvals[pos] = swv / sw
                nprobs[pos] = sw
                pos += 1
            mean = 0.0
            for j in range(start, pos):
                mean += nprobs[j] * nvals[j]
            v2 = 0.0
            v3 = 0.0
            for j in range(start, pos):
                d = abs(nvals[j] - mean)
                v2 += nprobs[j] * d * d
                v3 += nprobs[j] * d * d * d
            var[t, s] = v2
            rho[t, s] = v3
            nptr[s + 1] = pos
        ptr = nptr
        vals = nvals[:pos].copy()
        probs = nprobs[:pos].copy()
    return var, rho, True


@dataclass(frozen=True)
class ReturnMoments:
    """``var[t, s]``, ``rho[t, s]`` (t = 0..T, row T zero) of the random policy's return from (t, s); ``ok`` is
    False (and both arrays zero) when the distribution needed more than ``max_atoms`` atoms."""

    var: np.ndarray
    rho: np.ndarray
    ok: bool


def return_moments(mdp: TabularMDP, *, precision: float = PRECISION, max_atoms: int = 2_000_000) -> ReturnMoments:
    """Variance and third absolute central moment of the random policy's return from every ``(t, s)``.

    Parameters
    ----------
    mdp : TabularMDP
        Deterministic, time-homogeneous, finite horizon.
    precision : float
        Merge distance of atoms.
    max_atoms : int
        Largest number of atoms of a layer.

    Returns
    -------
    ReturnMoments
        ``var``, ``rho`` of shape ``(T + 1, S)`` and ``ok``.
    """
    nxt, R, T = deterministic_arrays(mdp)
    return ReturnMoments(*moments_kernel(nxt, R, T, float(precision), int(max_atoms)))
