"""Shared pieces of the reward-free learners: argument checks, vertex tables, the planning-phase evaluation."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..._validation import check_int, check_real, check_seed
from ...models.linear_mixture import LinearMixtureMDP
from ...solvers.linear_mixture import suboptimality

#: Largest S for which the vertex enumeration of ``{0, 1}^S`` is attempted (R1 relaxation, note §I.3).
MAX_VERTEX_STATES = 12

#: numpydoc entries of the arguments :func:`check_common` validates, in its order; a learner's docstring takes
#: them through :func:`with_common_parameters`
COMMON_PARAMETERS = f"""\
mdp : LinearMixtureMDP
    The model (S <= {MAX_VERTEX_STATES} for the vertex tables).
K : int
    Exploration episodes.
seed : int
    Seed in ``[0, 2^32)``.
c_beta : float
    Scale of the confidence radius (1 = the theorem's).
delta : float
    Confidence parameter in (0, 1).
test_rewards : list of array_like, optional
    Rewards of the planning phase (validated; default the model's own).
checkpoints : sequence of int, optional
    Episode counts at which the planning phase runs (default ``[K]``)."""

_COMMON_MARKER = "{common_parameters}"


def with_common_parameters(fn):
    """Decorator: put :data:`COMMON_PARAMETERS` in place of the line ``{common_parameters}`` of ``fn``'s docstring,
    at that line's indentation, so that the learners validated by :func:`check_common` document its arguments
    with one text.

    Parameters
    ----------
    fn : callable
        A function whose docstring has the marker line (a docstring stripped by ``python -OO`` is left alone).

    Returns
    -------
    callable
        ``fn`` itself, its docstring filled in.

    Raises
    ------
    ValueError
        The docstring has no marker line.
    """
    doc = fn.__doc__
    if doc is None:
        return fn
    lines = doc.split("\n")
    at = [i for i, line in enumerate(lines) if line.strip() == _COMMON_MARKER]
    if not at:
        raise ValueError(f"fn: the docstring of {fn.__qualname__} has no line {_COMMON_MARKER}")
    for i in reversed(at):
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines[i:i + 1] = [indent + entry for entry in COMMON_PARAMETERS.split("\n")]
    fn.__doc__ = "\n".join(lines)
    return fn


@with_common_parameters
def check_common(mdp, K, seed, c_beta, delta, test_rewards, checkpoints):
    """Validate the arguments the reward-free learners share.

    Parameters
    ----------
    {common_parameters}

    Returns
    -------
    K, seed : int
    c_beta, delta : float
    rewards : list of ndarray
        The test rewards, validated by the model (default ``[mdp.R]``).
    ck : ndarray of int64
        The sorted distinct checkpoints.

    Raises
    ------
    TypeError
        ``mdp`` is not a :class:`LinearMixtureMDP` (the other arguments as their checks say).
    ValueError
        A value out of range, the message starting with the argument's name.
    """
    if not isinstance(mdp, LinearMixtureMDP):
        raise TypeError(f"mdp: expected a LinearMixtureMDP, got {type(mdp).__name__}")
    K = check_int("K", K, low=1)
    seed = check_seed("seed", seed, high=2**32 - 1)
    c_beta = check_real("c_beta", c_beta, low=0.0)
    if not (0 < delta < 1):
        raise ValueError(f"delta: must lie in (0, 1), got {delta!r}")
    if mdp.S > MAX_VERTEX_STATES:
        raise ValueError(f"mdp: the R1 relaxation enumerates 2^S vertices; S={mdp.S} > {MAX_VERTEX_STATES}")
    if test_rewards is None:
        test_rewards = [mdp.R]
    rewards = [np.asarray(mdp.with_rewards(r).R, dtype=np.float64) for r in test_rewards]  # validated
    if checkpoints is None:
        checkpoints = [int(K)]
    ck = np.unique(np.asarray(checkpoints, dtype=np.int64))
    if ck.size == 0 or ck.min() < 1 or ck.max() > K:
        raise ValueError(f"checkpoints: episode counts must lie in [1, K={K}], got {checkpoints!r}")
    return int(K), int(seed), float(c_beta), float(delta), rewards, ck


def vertex_table(mdp):
    """Vertices ``{0,1}^S`` ``(2^S, S)`` and their oracle features ``psi_v(s,a)`` ``(2^S, S, A, d)``, for a
    :class:`LinearMixtureMDP` or its basis ``phi (S, A, S, d)`` alone."""
    phi = mdp.phi if isinstance(mdp, LinearMixtureMDP) else np.asarray(mdp, dtype=np.float64)
    S = phi.shape[0]
    verts = ((np.arange(2 ** S)[:, None] >> np.arange(S)) & 1).astype(np.float64)
    psiv = np.ascontiguousarray(np.einsum("satd,vt->vsad", phi, verts))
    return verts, psiv


@njit(cache=True)
def qnorm(M, x):
    """``sqrt(x^T M x)`` (0 for tiny negative rounding)."""
    d = x.shape[0]
    acc = 0.0
    for i in range(d):
        t = 0.0
        for j in range(d):
            t += M[i, j] * x[j]
        acc += x[i] * t
    return np.sqrt(acc) if acc > 0.0 else 0.0


@njit(cache=True)
def max_vertex_norm(M, psiv, s, a):
    """``max_v ||psi_v(s, a)||_M`` over the vertex table ``psiv[v, s, a, :]`` and the first maximising ``v``."""
    best = -1.0
    bv = 0
    for v in range(psiv.shape[0]):
        q = qnorm(M, psiv[v, s, a])
        if q > best:
            best = q
            bv = v
    return best, bv


@njit(cache=True)
def sherman_morrison(Sinv, x, w):
    """In place: ``Sinv <- (Sinv^{-1} + w x x^T)^{-1}``."""
    d = x.shape[0]
    u = np.empty(d)
    den = 1.0 / w
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += Sinv[i, j] * x[j]
        u[i] = acc
        den += x[i] * acc
    for i in range(d):
        for j in range(d):
            Sinv[i, j] -= u[i] * u[j] / den


def mass_projection(phi: np.ndarray, theta: np.ndarray, gram: np.ndarray | None = None, rtol: float = 1e-10):
    """Project ``theta`` onto the affine set ``{t : sum_{s'} phi(s'|s,a)^T t = 1 for every (s, a)}`` of parameters
    whose mixture rows sum to 1 (``theta*`` lies in it), in the metric ``||.||_gram`` (Euclidean if ``gram`` is None):

        t = theta - G^{-1} V (V^T G^{-1} V)^{-1} (V^T theta - g),

    where ``C = U diag(sv) V^T`` (rank ``r``, singular values above ``rtol`` times the largest) is the SVD of the
    ``(S A, d)`` row-sum matrix ``C[(s,a)] = sum_{s'} phi(s'|s,a)`` and ``g = diag(sv)^{-1} U^T 1`` (the constraint
    ``C t = 1`` restricted to the row space of ``C``; it is consistent because ``theta*`` satisfies it).
    Non-negativity of the rows is not imposed. On the families in :mod:`mdps` (random, lower-bound, RiverSwim) ``C``
    has rank 1 and the constraint is one equality on ``theta``."""
    phi = np.asarray(phi, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    d = phi.shape[-1]
    C = phi.sum(axis=2).reshape(-1, d)
    U, sv, Vt = np.linalg.svd(C, full_matrices=False)
    r = int(np.sum(sv > rtol * sv[0])) if sv.size and sv[0] > 0 else 0
    if r == 0:
        return theta.copy()
    V = Vt[:r].T
    g = (U[:, :r].T @ np.ones(C.shape[0])) / sv[:r]
    Ginv_V = V if gram is None else np.linalg.solve(gram, V)
    lam = np.linalg.solve(V.T @ Ginv_V, V.T @ theta - g)
    return theta - Ginv_V @ lam


def planning_errors(mdp: LinearMixtureMDP, plan_fn, rewards):
    """``[V*(r) - V^{pi_r}(r) for r in rewards]`` with ``pi_r = plan_fn(r)`` (exact, in the true model)."""
    out = np.empty(len(rewards))
    for i, r in enumerate(rewards):
        pol = plan_fn(r)
        out[i] = suboptimality(mdp, pol, r)
    return out


@dataclass(frozen=True)
class RFEResult:
    """Outcome of a reward-free run.

    ``checkpoints``: episode counts ``k`` at which the planning phase was run on the data of the first ``k``
    episodes; ``errors[i, j]``: exact suboptimality ``V*_0(r_j) - V^{pi_{r_j}}_0(r_j)`` of the planned policy for test
    reward ``j`` at checkpoint ``i``; ``eps_hat[i] = max_j errors[i, j]``; ``certificate[i]``: the algorithm's own
    upper bound on the planning error at checkpoint ``i`` (NaN when the algorithm has none)."""

    algorithm: str
    checkpoints: np.ndarray
    errors: np.ndarray
    eps_hat: np.ndarray
    certificate: np.ndarray
    c_beta: float
    delta: float
    seed: int
    oracle: str
    planning: str
    extra: dict = field(default_factory=dict)

    @property
    def final_error(self) -> float:
        return float(self.eps_hat[-1])
