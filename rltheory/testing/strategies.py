"""Hypothesis strategies for valid (and deliberately invalid) tabular MDPs, for users' own property tests.

Example::

    from hypothesis import given
    from rltheory.testing import tabular_mdps, policies
    from rltheory.solvers import solve, evaluate

    @given(tabular_mdps(max_states=6, discounted=True))
    def test_my_planner(mdp):
        assert abs(my_planner(mdp) - solve(mdp).V).max() < 1e-8

Random arrays are built from a drawn 32-bit seed (so hypothesis shrinks towards small seeds and sizes) and
include rows with zeros (sparse supports), degenerate sizes (S = 1, A = 1, H = 1) and gamma = 0.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from ..models.tabular import TabularMDP

__all__ = ["tabular_mdps", "policies", "reward_arrays", "malformed_mdp_inputs", "transition_kernels"]


def _kernel(rng, shape_lead, S, max_successors):
    """Rows that are distributions over S states, with at most ``max_successors`` non-zeros."""
    k = S if max_successors is None else max(1, min(S, max_successors))
    n = int(np.prod(shape_lead)) if shape_lead else 1
    P = np.zeros((n, S))
    for i in range(n):
        m = int(rng.integers(1, k + 1))
        support = rng.choice(S, size=m, replace=False)
        w = rng.dirichlet(np.full(m, float(rng.choice([0.3, 1.0, 5.0]))))
        P[i, support] = w
    P /= P.sum(axis=1, keepdims=True)
    return P.reshape(tuple(shape_lead) + (S,))


@st.composite
def transition_kernels(draw, S, A, *, H=None, max_successors=None):
    """Valid transition kernels as dense arrays.

    Each row ``P(.|s, a)`` is a Dirichlet draw (concentration 0.3, 1 or 5, so some rows are nearly
    deterministic) on a random support of ``m`` states, ``1 <= m <= max_successors``; every row is a
    probability vector, ``P[..., s'] >= 0`` and ``sum_{s'} P[..., s'] = 1`` (renormalised, to rounding).

    Parameters
    ----------
    draw
        Supplied by hypothesis (``st.composite``); call as ``transition_kernels(S, A, ...)``.
    S, A : int
        Numbers of states and actions.
    H : int, optional
        With a horizon, a time-inhomogeneous kernel ``(H, S, A, S)``; without, ``(S, A, S)``.
    max_successors : int, optional
        Cap on the support size of every row (default: ``S``, full support allowed).

    Returns
    -------
    SearchStrategy of ndarray
        float64 arrays of shape ``(S, A, S)`` or ``(H, S, A, S)``, drawn from a 32-bit seed (hypothesis
        shrinks towards small seeds).
    """
    seed = draw(st.integers(0, 2**32 - 1))
    lead = (S, A) if H is None else (H, S, A)
    return _kernel(np.random.default_rng(seed), lead, S, max_successors)


@st.composite
def tabular_mdps(draw, *, min_states=1, max_states=8, min_actions=1, max_actions=4, horizon=None, discounted=None,
                 sparse=None, time_homogeneous=None, max_successors=None, gamma=None, max_horizon=8,
                 reward_range=(0.0, 1.0)):
    """Valid :class:`TabularMDP` instances.

    Rows of ``P`` are drawn as in :func:`transition_kernels`; rewards are uniform on ``reward_range``.

    Parameters
    ----------
    draw
        Supplied by hypothesis (``st.composite``).
    min_states, max_states : int
        Range of ``S``.
    min_actions, max_actions : int
        Range of ``A``.
    horizon : None, int or SearchStrategy
        None: drawn in ``[1, max_horizon]`` when finite-horizon.
    discounted : None or bool
        None: either kind.
    sparse, time_homogeneous : None or bool
        None: either.
    max_successors : int, optional
        Cap on the support of every row.
    gamma : None or SearchStrategy
        None: drawn from ``{0} u [0, 0.99]``.
    max_horizon : int
        Largest drawn horizon.
    reward_range : tuple of float
        ``(low, high)`` of the rewards.

    Returns
    -------
    SearchStrategy of TabularMDP
    """
    S = draw(st.integers(min_states, max_states))
    A = draw(st.integers(min_actions, max_actions))
    disc = draw(st.booleans()) if discounted is None else discounted
    sparse_ = draw(st.booleans()) if sparse is None else sparse
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lo, hi = reward_range
    mu_kind = draw(st.sampled_from(["default", "random"]))
    mu0 = None if mu_kind == "default" else rng.dirichlet(np.ones(S))
    if disc:
        g = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.99))) if gamma is None else draw(gamma)
        P = _kernel(rng, (S, A), S, max_successors)
        R = lo + (hi - lo) * rng.random((S, A))
        if sparse_:
            P = sp.csr_matrix(P.reshape(S * A, S))
        return TabularMDP(P, R, gamma=g, mu0=mu0)
    if horizon is None:
        H = draw(st.integers(1, max_horizon))
    elif isinstance(horizon, int):
        H = horizon
    else:
        H = draw(horizon)
    hom = draw(st.booleans()) if time_homogeneous is None else time_homogeneous
    lead = (S, A) if hom else (H, S, A)
    P = _kernel(rng, lead, S, max_successors)
    R = lo + (hi - lo) * rng.random(lead if draw(st.booleans()) or not hom else (S, A))
    if sparse_:
        P = sp.csr_matrix(P.reshape(-1, S))
    return TabularMDP(P, R, horizon=H, mu0=mu0)


@st.composite
def policies(draw, mdp: TabularMDP, *, deterministic=None, time_dependent=None):
    """A Markov policy for ``mdp``: int actions (deterministic) or action distributions (stochastic).

    Parameters
    ----------
    draw
        Supplied by hypothesis (``st.composite``).
    mdp : TabularMDP
    deterministic : None or bool
        None: either kind.
    time_dependent : None or bool
        None: either (finite-horizon models only).

    Returns
    -------
    SearchStrategy of ndarray
        Shape ``(S,)`` / ``(H, S)`` of ints, or ``(S, A)`` / ``(H, S, A)`` of Dirichlet(1/2) rows.
    """
    det = draw(st.booleans()) if deterministic is None else deterministic
    td = (draw(st.booleans()) if time_dependent is None else time_dependent) and mdp.finite_horizon
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lead = (mdp.horizon, mdp.S) if td else (mdp.S,)
    if det:
        return rng.integers(0, mdp.A, size=lead).astype(np.int64)
    return rng.dirichlet(np.full(mdp.A, 0.5), size=lead)


@st.composite
def reward_arrays(draw, mdp: TabularMDP, *, low=-1.0, high=1.0):
    """Reward arrays for an existing MDP, e.g. for ``mdp.with_rewards(...)``.

    Entries are uniform on ``[low, high)``: ``R = low + (high - low) U`` with ``U ~ Uniform[0, 1)`` i.i.d.

    Parameters
    ----------
    draw
        Supplied by hypothesis (``st.composite``); call as ``reward_arrays(mdp, low, high)``.
    mdp : TabularMDP
        The model whose reward shape is reproduced (``(S, A)`` or ``(H, S, A)``, as ``mdp.R``).
    low, high : float
        Range of the entries.

    Returns
    -------
    SearchStrategy of ndarray
        float64 arrays of shape ``mdp.R.shape``, drawn from a 32-bit seed.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return low + (high - low) * rng.random(mdp.R.shape)


def _csr_with(P, field, k, value):
    """``P`` as a CSR matrix with ``indices`` or ``indptr`` entry ``k`` overwritten (scipy does not check)."""
    M = sp.csr_matrix(P.reshape(-1, P.shape[-1]))
    getattr(M, field)[k] = value
    return M


def malformed_mdp_inputs():
    """A strategy of invalid constructor inputs and the error they must raise.

    Returns
    -------
    SearchStrategy of tuple
        ``(kwargs, exception_type, substring)``: ``TabularMDP(**kwargs)`` must raise ``exception_type`` with
        ``substring`` in its message.
    """
    S, A, H = 3, 2, 4
    good_P = np.full((S, A, S), 1.0 / S)
    good_R = np.zeros((S, A))

    def P_with(idx, value):
        P = good_P.copy()
        P[idx] = value
        return P

    bad_row = good_P.copy()
    bad_row[1, 0] = [0.5, 0.5, 0.2]
    inhom = np.full((H, S, A, S), 1.0 / S)
    inhom_bad = inhom.copy()
    inhom_bad[2, 2, 1] = [0.9, 0.0, 0.0]
    cases = [
        (dict(P=good_P, R=good_R), ValueError, "exactly one of"),
        (dict(P=good_P, R=good_R, horizon=H, gamma=0.9), ValueError, "exactly one of"),
        (dict(P=good_P, R=good_R, horizon=0), ValueError, "horizon"),
        (dict(P=good_P, R=good_R, horizon=2.5), ValueError, "horizon: must be a whole number"),
        (dict(P=good_P, R=good_R, horizon="4"), TypeError, "horizon"),
        (dict(P=good_P, R=good_R, horizon=10**15), ValueError, "horizon: H="),
        (dict(P=good_P, R=good_R, gamma=1.0), ValueError, "pass horizon=H"),
        (dict(P=good_P, R=good_R, gamma=-0.1), ValueError, "gamma"),
        (dict(P=good_P, R=good_R, gamma=float("nan")), ValueError, "gamma"),
        (dict(P=good_P, R=good_R, gamma="0.9"), TypeError, "gamma"),
        (dict(P=good_P[:, :, :2], R=good_R, gamma=0.9), ValueError, "P: shape"),
        (dict(P=good_P, R=np.zeros((S, A + 1)), gamma=0.9), ValueError, "R: expected shape"),
        (dict(P=good_P, R=good_R.T, gamma=0.9), ValueError, "is it transposed?"),
        (dict(P=good_P, R=np.zeros(S), gamma=0.9), ValueError, "R: expected shape"),
        (dict(P=good_P.astype(object), R=good_R, gamma=0.9), TypeError, "P"),
        (dict(P=good_P > 0, R=good_R, gamma=0.9), TypeError, "P"),
        (dict(P=good_P.astype(complex), R=good_R, gamma=0.9), TypeError, "P"),
        (dict(P=good_P, R=np.full((S, A), "x"), gamma=0.9), TypeError, "R"),
        (dict(P=P_with((0, 1, 2), np.nan), R=good_R, gamma=0.9), ValueError, "P: non-finite"),
        (dict(P=good_P, R=np.where(np.eye(S, A) > 0, np.inf, 0.0), gamma=0.9), ValueError, "R: non-finite"),
        (dict(P=P_with((2, 1), [1.2, -0.2, 0.0]), R=good_R, gamma=0.9), ValueError, "(s=2, a=1) has a negative"),
        (dict(P=bad_row, R=good_R, gamma=0.9), ValueError, "(s=1, a=0) sums to 1.2"),
        (dict(P=inhom_bad, R=good_R, horizon=H), ValueError, "(h=2, s=2, a=1) sums to 0.9"),
        (dict(P=inhom, R=good_R, gamma=0.9), ValueError, "needs a finite horizon"),
        (dict(P=good_P, R=np.zeros((H, S, A)), gamma=0.9), ValueError, "needs a finite horizon"),
        (dict(P=inhom[:2], R=good_R, horizon=H), ValueError, "differs from horizon"),
        (dict(P=good_P, R=good_R, gamma=0.9, mu0=np.array([0.5, 0.6, -0.1])), ValueError, "mu0: negative"),
        (dict(P=good_P, R=good_R, gamma=0.9, mu0=np.array([0.5, 0.6, 0.1])), ValueError, "mu0: sums to"),
        (dict(P=good_P, R=good_R, gamma=0.9, mu0=np.ones(S + 1) / (S + 1)), ValueError, "mu0: expected shape"),
        (dict(P=good_P, R=good_R, gamma=0.9, mu0=S), ValueError, "mu0: initial state"),
        (dict(P=good_P, R=good_R, gamma=0.9, mu0=[np.nan, 0.5, 0.5]), ValueError, "mu0: non-finite"),
        (dict(P=sp.csr_matrix(np.ones((S * A, S + 1)) / (S + 1)), R=good_R, gamma=0.9), ValueError, "columns"),
        (dict(P=sp.csr_matrix(np.ones((S * A + 1, S)) / S), R=good_R, gamma=0.9), ValueError, "rows"),
        (dict(P=sp.csr_matrix(bad_row.reshape(S * A, S)), R=good_R, gamma=0.9), ValueError, "(s=1, a=0) sums to 1.2"),
        (dict(P=good_P, R=good_R, gamma=0.9, name=3), TypeError, "name"),
        (dict(P=_csr_with(good_P, "indices", 3, S), R=good_R, gamma=0.9), ValueError, "next-state index 3 outside"),
        (dict(P=_csr_with(good_P, "indices", 3, -1), R=good_R, gamma=0.9), ValueError, "next-state index -1 outside"),
        (dict(P=_csr_with(good_P, "indptr", 2, 1), R=good_R, gamma=0.9), ValueError, "indptr must be non-decreasing"),
        (dict(P=sp.csr_matrix(np.vstack([good_P.reshape(S * A, S)[:-1], np.zeros((1, S))])), R=good_R, gamma=0.9),
         ValueError, "(s=2, a=1) is empty"),
        (dict(P=[[([0], [1.0])] * A] * (S - 1) + [[([0], [1.0]), ([], [])]], R=good_R, gamma=0.9), ValueError,
         "(s=2, a=1) is empty"),
    ]
    return st.sampled_from(cases)
