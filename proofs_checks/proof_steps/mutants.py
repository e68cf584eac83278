"""Mutants of the elliptical potential computation (protocol ``"elliptical_potential"``).

Each function has the reference's signature, ``fn(X, *, lam) -> (K,)`` running sums of
``min(1, ||x_k||^2_{Sigma_{k-1}^{-1}})`` with ``Sigma_0 = lam I`` and ``Sigma_k = Sigma_{k-1} + x_k x_k^T``
(:func:`rltheory.lemmas.elliptical_potential`), and one realistic slip.
"""
from __future__ import annotations

import numpy as np

from ..framework import Mutant


def _running(X, lam, *, after_update=False, lam0=None, clip=True, squared=True, euclid_denominator=False):
    X = np.asarray(X, dtype=np.float64)
    K, d = X.shape
    Sinv = np.eye(d) / (lam if lam0 is None else lam0)
    out = np.empty(K)
    total = 0.0
    for k in range(K):
        x = X[k]
        Sx = Sinv @ x
        q = float(x @ Sx)
        if after_update:  # the norm in the matrix that already contains x_k
            Sinv = Sinv - np.outer(Sx, Sx) / (1.0 + q)
            Sx = Sinv @ x
            q = float(x @ Sx)
        v = q if squared else np.sqrt(q)
        total += min(1.0, v) if clip else v
        out[k] = total
        if not after_update:
            Sinv = Sinv - np.outer(Sx, Sx) / (1.0 + (float(x @ x) if euclid_denominator else q))
    return out


def off_by_one(X, *, lam=1.0):
    """The norm in ``Sigma_k`` (updated with ``x_k`` first) instead of ``Sigma_{k-1}``: ``u / (1 + u)``."""
    return _running(X, lam, after_update=True)


def ignore_lambda(X, *, lam=1.0):
    """The regulariser ignored: ``Sigma_0 = I`` whatever ``lam``."""
    return _running(X, lam, lam0=1.0)


def lambda_squared(X, *, lam=1.0):
    """``Sigma_0 = lam^2 I`` (a ridge penalty written as ``lam^2 ||theta||^2``)."""
    return _running(X, lam, lam0=lam * lam)


def no_clip(X, *, lam=1.0):
    """The ``min(1, .)`` dropped: the plain sum of ``||x_k||^2_{Sigma_{k-1}^{-1}}``."""
    return _running(X, lam, clip=False)


def norm_not_squared(X, *, lam=1.0):
    """``min(1, ||x_k||_{Sigma_{k-1}^{-1}})``: the norm instead of its square."""
    return _running(X, lam, squared=False)


def sherman_morrison_euclidean(X, *, lam=1.0):
    """The rank-one inverse update divided by ``1 + ||x_k||^2`` (Euclidean) instead of ``1 + ||x_k||^2_{Sigma^-1}``."""
    return _running(X, lam, euclid_denominator=True)


_MUT = __name__ + ":"

MUTANTS = [
    Mutant("off_by_one", "the norm taken in Sigma_k (x_k already added) instead of Sigma_{k-1}",
           _MUT + "off_by_one"),
    Mutant("ignore_lambda", "Sigma_0 = I whatever lambda",
           _MUT + "ignore_lambda"),
    Mutant("lambda_squared", "Sigma_0 = lambda^2 I (ridge penalty written lambda^2 ||theta||^2)",
           _MUT + "lambda_squared"),
    Mutant("no_clip", "min(1, .) dropped: the plain sum of the squared norms",
           _MUT + "no_clip"),
    Mutant("norm_not_squared", "min(1, ||x_k||) instead of min(1, ||x_k||^2)",
           _MUT + "norm_not_squared"),
    Mutant("sherman_morrison_euclidean",
           "rank-one inverse update divided by 1 + ||x_k||^2 instead of 1 + ||x_k||^2_{Sigma^-1}",
           _MUT + "sherman_morrison_euclidean"),
]
