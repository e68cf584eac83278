"""MDPs from outside: gymnasium toy-text environments and the BRIDGE dataset's tabular format."""
from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from rltheory import TabularMDP

from .classic import horizon_or_gamma

__all__ = ["from_gymnasium", "load_bridge"]


def from_gymnasium(env, *, horizon=None, gamma=None) -> TabularMDP:
    """Read a toy-text environment's transition table ``env.unwrapped.P[s][a] = [(prob, next, reward, done), ...]``
    (FrozenLake, Taxi, CliffWalking) into a :class:`TabularMDP`.

    Duplicate ``(s, a, s')`` entries are summed; the mean reward is ``R(s, a) = sum prob * reward``. A
    transition with ``done=True`` goes to one extra absorbing zero-reward state (index ``S``), so that the
    episode ends there. The initial distribution is ``env.unwrapped.initial_state_distrib`` when present,
    else state 0. gymnasium is the optional extra ``rltheory[gym]``; this function only reads the table.
    Default: discounted, gamma 0.99.

    Parameters
    ----------
    env : gymnasium.Env
        A toy-text environment whose ``env.unwrapped.P`` holds the transition table.
    horizon : int, optional
        Finite horizon ``H``.
    gamma : float, optional
        Discount factor (default 0.99 when neither is given).

    Returns
    -------
    TabularMDP
        The MDP on the environment's states plus one absorbing state.
    """
    inner = getattr(env, "unwrapped", env)
    table = getattr(inner, "P", None)
    if not isinstance(table, dict) or not table:
        raise TypeError("env: expected a toy-text environment with a transition dict `P` (env.unwrapped.P)")
    S = len(table)
    A = len(table[0])
    rows, cols, vals = [], [], []
    R = np.zeros((S + 1, A))
    for s in range(S):
        if len(table[s]) != A:
            raise ValueError(f"env: state {s} has {len(table[s])} actions, expected {A}")
        for a in range(A):
            for prob, nxt, rew, done in table[s][a]:
                rows.append(s * A + a)
                cols.append(S if done else int(nxt))
                vals.append(float(prob))
                R[s, a] += float(prob) * float(rew)
    for a in range(A):  # the absorbing terminal state
        rows.append(S * A + a)
        cols.append(S)
        vals.append(1.0)
    M = sp.csr_matrix((vals, (rows, cols)), shape=((S + 1) * A, S + 1))
    M.sum_duplicates()
    mu = getattr(inner, "initial_state_distrib", None)
    mu0 = np.zeros(S + 1)
    if mu is not None and np.asarray(mu).shape == (S,):
        mu0[:S] = np.asarray(mu, dtype=np.float64)
        mu0 /= mu0.sum()
    else:
        mu0[0] = 1.0
    kw = horizon_or_gamma(horizon, gamma, default_gamma=0.99)
    name = getattr(getattr(env, "spec", None), "id", None) or type(inner).__name__
    P = M.toarray().reshape(S + 1, A, S + 1) if (S + 1) <= 2000 else M
    return TabularMDP(P, R, mu0=mu0, name=f"gymnasium:{name}", **kw)


def load_bridge(path, *, horizon: int) -> TabularMDP:
    """Load a deterministic MDP in the tabular format of the BRIDGE dataset (Laidlaw, Russell & Dragan 2023):
    an NPZ with ``transitions`` (S, A) int — next state, or -1 for a terminal transition — and ``rewards``
    (S, A) (float32 in the published files, cast to float64 here). The initial state is 0; terminal
    transitions go to one extra absorbing zero-reward state (index S). Returns a sparse finite-horizon MDP.

    Parameters
    ----------
    path : str or os.PathLike
        The NPZ file.
    horizon : int
        Finite horizon ``H`` (BRIDGE gives it with the environment).

    Returns
    -------
    TabularMDP
        The sparse deterministic MDP with ``S + 1`` states.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a path, got {type(path).__name__}")
    with np.load(path) as data:
        if "transitions" not in data or "rewards" not in data:
            raise ValueError(f"path: {path} lacks the 'transitions' and 'rewards' arrays of the BRIDGE format")
        T = np.asarray(data["transitions"])
        Rw = np.asarray(data["rewards"]).astype(np.float64)
    if T.ndim != 2 or T.dtype.kind not in "iu" or Rw.shape != T.shape:
        raise ValueError(f"transitions/rewards: expected equal (S, A) shapes and integer transitions, got "
                         f"{T.shape} {T.dtype} and {Rw.shape}")
    S, A = T.shape
    if T.min() < -1 or T.max() >= S:
        raise ValueError(f"transitions: entries must lie in [-1, {S}), got [{T.min()}, {T.max()}]")
    nxt = np.where(T < 0, S, T).astype(np.int64).ravel()
    nxt = np.concatenate([nxt, np.full(A, S)])
    M = sp.csr_matrix((np.ones(nxt.size), nxt, np.arange(nxt.size + 1)), shape=((S + 1) * A, S + 1))
    R = np.vstack([Rw, np.zeros((1, A))])
    name = os.path.splitext(os.path.basename(os.fspath(path)))[0]
    return TabularMDP(M, R, horizon=horizon, mu0=0, name=f"bridge:{name}")
