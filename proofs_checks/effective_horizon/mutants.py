"""Mutants of GORP for the ``"gorp"`` protocol (see :mod:`proofs_checks.effective_horizon`):
``fn(nxt, R, T, k, m, seed) -> (actions (T,), episodes)`` on a deterministic MDP given by its successor array
``nxt`` (S, A) and rewards ``R`` (S, A), start state 0.

One Numba kernel with a switch per slip, written after GORP (Laidlaw et al. 2023, Alg. 1): for each step, for each
action sequence of length ``min(k, T - t)``, ``m`` rollouts (committed prefix, the sequence, then uniformly
random actions), commit the first action of the best mean.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..framework import Mutant

_M_QUARTER, _K_MINUS_ONE, _NO_TAIL, _TAIL_SHORT, _LAST_FIXED, _MAX_NOT_MEAN, _DISCOUNTED, _TAIL_EXTRA = range(1, 9)
#: the discount factor the ``discounted_0_9`` slip applies inside the rollouts (the task is undiscounted)
_SLIP_GAMMA = 0.9


@njit(cache=True)
def _gorp_variant(nxt, R, T, k, m, seed, actions, slip):
    np.random.seed(seed)
    S, A = nxt.shape
    if slip == _M_QUARTER:
        m = max(1, m // 4)
    if slip == _K_MINUS_ONE:
        k = max(1, k - 1)
    s = 0
    episodes = 0
    seq = np.zeros(k, dtype=np.int64)
    for t in range(T):
        kk = min(k, T - t)
        n_seq = A ** kk
        best = -np.inf
        best_first = 0
        end = T - 1 if slip == _TAIL_SHORT else T
        tail_start = t + kk - 1 if slip == _TAIL_EXTRA else t + kk
        for j in range(n_seq):
            x = j
            for i in range(kk - 1, -1, -1):
                seq[i] = x % A
                x //= A
            total = 0.0
            top = -np.inf
            for _ in range(m):
                st = s
                g = 0.0
                w = 1.0
                for i in range(kk):
                    g += w * R[st, seq[i]]
                    st = nxt[st, seq[i]]
                    if slip == _DISCOUNTED:
                        w *= _SLIP_GAMMA
                if slip != _NO_TAIL:
                    for _u in range(tail_start, end):
                        a = np.random.randint(0, A)
                        g += w * R[st, a]
                        st = nxt[st, a]
                        if slip == _DISCOUNTED:
                            w *= _SLIP_GAMMA
                total += g
                top = max(top, g)
            episodes += m
            mean = top if slip == _MAX_NOT_MEAN else total / m
            if mean > best:
                best = mean
                best_first = seq[0]
        if slip == _LAST_FIXED and t == T - 1:
            best_first = 0  # rollouts spent, result ignored
        actions[t] = best_first
        s = nxt[s, best_first]
    return episodes


def _run(nxt, R, T, k, m, seed, slip):
    actions = np.zeros(int(T), dtype=np.int64)
    ep = _gorp_variant(np.ascontiguousarray(nxt, dtype=np.int64), np.ascontiguousarray(R, dtype=np.float64),
                       int(T), int(k), int(m), int(seed), actions, slip)
    return actions, int(ep)


def m_quarter(nxt, R, T, k, m, seed):
    """``m / 4`` rollouts per action sequence (episodes reported honestly)."""
    return _run(nxt, R, T, k, m, seed, _M_QUARTER)


def k_minus_one(nxt, R, T, k, m, seed):
    """Lookahead ``k - 1`` instead of ``k`` (at least 1)."""
    return _run(nxt, R, T, k, m, seed, _K_MINUS_ONE)


def no_random_tail(nxt, R, T, k, m, seed):
    """Rollouts stop after the action sequence: greedy on the k-step return, no random policy's Q."""
    return _run(nxt, R, T, k, m, seed, _NO_TAIL)


def tail_one_short(nxt, R, T, k, m, seed):
    """The random tail of each rollout ends one step early (off-by-one in the horizon)."""
    return _run(nxt, R, T, k, m, seed, _TAIL_SHORT)


def last_action_fixed(nxt, R, T, k, m, seed):
    """A slightly sub-optimal planner: the last step's rollouts are run but action 0 is committed."""
    return _run(nxt, R, T, k, m, seed, _LAST_FIXED)


def max_not_mean(nxt, R, T, k, m, seed):
    """Each action sequence scored by its best rollout instead of the mean of its ``m`` rollouts."""
    return _run(nxt, R, T, k, m, seed, _MAX_NOT_MEAN)


def discounted_0_9(nxt, R, T, k, m, seed):
    """Rollout returns discounted with ``gamma = 0.9`` although the task is undiscounted."""
    return _run(nxt, R, T, k, m, seed, _DISCOUNTED)


def tail_one_extra(nxt, R, T, k, m, seed):
    """The random tail starts one step early: each rollout runs one step past the horizon (off-by-one)."""
    return _run(nxt, R, T, k, m, seed, _TAIL_EXTRA)


def other_random_stream(nxt, R, T, k, m, seed):
    """Correct GORP on another random stream (seed ``2^32 - 1 - seed``): a legitimate variant."""
    return _run(nxt, R, T, k, m, 2**32 - 1 - int(seed), 0)


_MUT = __name__ + ":"

MUTANTS = [
    Mutant("m_quarter", "m / 4 rollouts per action sequence", _MUT + "m_quarter"),
    Mutant("k_minus_one", "lookahead k - 1 instead of k", _MUT + "k_minus_one"),
    Mutant("no_random_tail", "rollouts stop after the action sequence (no random policy's Q)",
           _MUT + "no_random_tail"),
    Mutant("tail_one_short", "the random tail ends one step early (horizon off by one)",
           _MUT + "tail_one_short"),
    Mutant("last_action_fixed", "slightly sub-optimal planner: the last step's rollouts are ignored (action 0)",
           _MUT + "last_action_fixed"),
    Mutant("max_not_mean", "each action sequence scored by its best rollout, not the mean of its m rollouts",
           _MUT + "max_not_mean"),
    Mutant("discounted_0_9", "rollout returns discounted with gamma = 0.9 in the undiscounted task",
           _MUT + "discounted_0_9"),
    Mutant("tail_one_extra", "the random tail starts one step early (rollouts run one step past T)",
           _MUT + "tail_one_extra"),
    Mutant("other_random_stream", "correct GORP, rollouts drawn from another random stream (seed 2^32 - 1 - seed)",
           _MUT + "other_random_stream",
           legitimate="the same algorithm on other random numbers: its success rate is the reference's, so only "
                      "sampling noise separates them and the claims' levels bound that"),
]
