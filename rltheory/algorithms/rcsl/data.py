"""Offline datasets of finite-horizon trajectories for RCSL / FQI / MBRCSL (Zhou et al., ICLR 2024, Sec. 2-4).

A dataset holds ``N`` trajectories of a finite-horizon :class:`~rltheory.TabularMDP` collected by a
behaviour policy: ``states[i, h]``, ``actions[i, h]``, ``rewards[i, h]`` (shape ``(N, H)``) and the state
reached after the last step ``last_states[i]``. Rewards are the mean rewards ``R_h(s, a)`` (the MDPs of
rltheory have deterministic rewards given ``(h, s, a)``). Returns-to-go
``g_h = sum_{t >= h} r_t`` are what RCSL conditions on (Sec. 2 of the paper: "RTG").

Sampling runs in a Numba kernel seeded with ``np.random.seed(seed)``, so a dataset is reproducible bit for
bit on one machine for a given seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..._sampling import cumulative_rows, sample
from ..._validation import check_int, check_probability, check_type
from ...models.tabular import TabularMDP
from ...solvers.api import as_stochastic_policy, occupancy, solve

__all__ = ["OfflineDataset", "collect", "concat", "coverage", "near_optimal_dataset", "suboptimal_dataset",
           "stitching_dataset", "epsilon_greedy", "return_distribution"]


@dataclass(frozen=True)
class OfflineDataset:
    """``N`` trajectories of length ``H``: int64 ``states``/``actions`` and float64 ``rewards`` of shape
    ``(N, H)``, int64 ``last_states`` (N,), and ``source`` (N,) = index of the behaviour that produced each
    trajectory (0 for a single behaviour)."""

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    last_states: np.ndarray
    source: np.ndarray
    S: int
    A: int

    def __post_init__(self):
        st, ac, rw = self.states, self.actions, self.rewards
        if st.ndim != 2 or ac.shape != st.shape or rw.shape != st.shape:
            raise ValueError(f"states/actions/rewards: expected equal shapes (N, H), got {st.shape}, {ac.shape}, {rw.shape}")
        if self.last_states.shape != (st.shape[0],) or self.source.shape != (st.shape[0],):
            raise ValueError("last_states/source: expected shape (N,)")
        for nm, arr, hi in (("states", st, self.S), ("actions", ac, self.A), ("last_states", self.last_states, self.S)):
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{nm}: expected integer indices, got dtype={arr.dtype}")
            if arr.size and (arr.min() < 0 or arr.max() >= hi):
                bad = tuple(int(i) for i in np.argwhere((arr < 0) | (arr >= hi))[0])
                raise ValueError(f"{nm}: index {int(arr[bad])} at {bad} out of range [0, {hi})")
        if not np.all(np.isfinite(rw)):
            raise ValueError("rewards: non-finite value")

    @property
    def N(self) -> int:
        """Number of trajectories."""
        return int(self.states.shape[0])

    @property
    def H(self) -> int:
        """Trajectory length."""
        return int(self.states.shape[1])

    @property
    def returns(self) -> np.ndarray:
        """Trajectory returns ``G_i = sum_h r_{i,h}``, shape (N,)."""
        return self.rewards.sum(axis=1)

    @property
    def rtg(self) -> np.ndarray:
        """Returns-to-go ``g_{i,h} = sum_{t >= h} r_{i,t}``, shape (N, H)."""
        return np.cumsum(self.rewards[:, ::-1], axis=1)[:, ::-1].copy()

    def next_states(self) -> np.ndarray:
        """``s_{i,h+1}`` for ``h < H`` (the last column is ``last_states``), shape (N, H).

        Returns
        -------
        ndarray of int, shape (N, H)
        """
        return np.concatenate([self.states[:, 1:], self.last_states[:, None]], axis=1)

    def subset(self, idx) -> "OfflineDataset":
        """The trajectories ``idx``.

        Parameters
        ----------
        idx : array_like of int or bool
            Trajectory indices or mask.

        Returns
        -------
        OfflineDataset
        """
        idx = np.asarray(idx)
        return OfflineDataset(self.states[idx], self.actions[idx], self.rewards[idx], self.last_states[idx],
                              self.source[idx], self.S, self.A)


@njit(cache=True)
def _rollouts(P4, R3, pol, mu0, H, N, seed, states, actions, rewards, last):
    np.random.seed(seed)
    cdf = cumulative_rows(P4)
    hp = P4.shape[0]
    hr = R3.shape[0]
    hpi = pol.shape[0]
    S = P4.shape[1]
    A = P4.shape[2]
    c0 = np.cumsum(mu0)
    c0[S - 1] = 1.0 + 1e-12
    for i in range(N):
        s = sample(c0, np.random.random())
        for h in range(H):
            p = pol[h if hpi > 1 else 0, s]
            c = 0.0
            u = np.random.random()
            a = A - 1
            for b in range(A):
                c += p[b]
                if u < c:
                    a = b
                    break
            states[i, h] = s
            actions[i, h] = a
            rewards[i, h] = R3[h if hr > 1 else 0, s, a]
            s = sample(cdf[h if hp > 1 else 0, s, a], np.random.random())
        last[i] = s


def _check_fh(mdp):
    check_type("mdp", mdp, TabularMDP)
    if not mdp.finite_horizon:
        raise ValueError("mdp: offline datasets are defined for finite-horizon MDPs (horizon=H)")


def _check_n(n):
    return check_int("n", n, low=1)


def _seed_int(seed) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**31 - 1))
    return check_int("seed", seed, low=0) % (2**32 - 1)


def collect(mdp: TabularMDP, policy, n: int, *, seed, source: int = 0) -> OfflineDataset:
    """``n`` trajectories of the (Markov, possibly stochastic) behaviour ``policy`` on ``mdp`` from ``mdp.mu0``.

    ``policy``: deterministic int ``(S,)``/``(H, S)`` or stochastic float ``(S, A)``/``(H, S, A)``.

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    policy : array_like
        Behaviour policy.
    n : int
        Number of trajectories.
    seed : int or numpy Generator
    source : int
        Behaviour index stored in ``source``.

    Returns
    -------
    OfflineDataset
    """
    _check_fh(mdp)
    n = _check_n(n)
    pol = as_stochastic_policy(mdp, policy, "policy")
    H = mdp.horizon
    st = np.zeros((n, H), np.int64)
    ac = np.zeros((n, H), np.int64)
    rw = np.zeros((n, H))
    last = np.zeros(n, np.int64)
    _rollouts(np.ascontiguousarray(mdp.P4()), np.ascontiguousarray(mdp.R3()), pol, mdp.mu0, H, n, _seed_int(seed),
              st, ac, rw, last)
    return OfflineDataset(st, ac, rw, last, np.full(n, int(source), np.int64), mdp.S, mdp.A)


def concat(*datasets: OfflineDataset) -> OfflineDataset:
    """Concatenate datasets of the same MDP (same S, A, H).

    Parameters
    ----------
    *datasets : OfflineDataset

    Returns
    -------
    OfflineDataset
    """
    if not datasets:
        raise ValueError("concat: need at least one dataset")
    d0 = datasets[0]
    for j, d in enumerate(datasets):
        if (d.S, d.A, d.H) != (d0.S, d0.A, d0.H):
            raise ValueError(f"datasets[{j}]: (S, A, H) = {(d.S, d.A, d.H)} differs from {(d0.S, d0.A, d0.H)}")
    cat = lambda f: np.concatenate([getattr(d, f) for d in datasets])  # noqa: E731
    return OfflineDataset(cat("states"), cat("actions"), cat("rewards"), cat("last_states"), cat("source"), d0.S, d0.A)


def epsilon_greedy(mdp: TabularMDP, policy, eps: float) -> np.ndarray:
    """``(1 - eps) * policy + eps * uniform`` as an ``(H, S, A)`` stochastic policy.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like
        Deterministic or stochastic Markov policy.
    eps : float
        In [0, 1].

    Returns
    -------
    ndarray, shape (H, S, A)
    """
    eps = check_probability("eps", eps)
    pol = as_stochastic_policy(mdp, policy)
    pol = np.broadcast_to(pol, (mdp.horizon, mdp.S, mdp.A))
    return (1.0 - eps) * pol + eps / mdp.A


def near_optimal_dataset(mdp: TabularMDP, n: int, *, eps: float = 0.1, seed) -> OfflineDataset:
    """Trajectories of the eps-greedy version of an optimal policy (``eps`` = probability of a uniform action).

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    n : int
        Number of trajectories.
    eps : float
        Probability of a uniform action.
    seed : int or numpy Generator

    Returns
    -------
    OfflineDataset
    """
    _check_fh(mdp)
    return collect(mdp, epsilon_greedy(mdp, solve(mdp).policy, eps), n, seed=seed)


def suboptimal_dataset(mdp: TabularMDP, n: int, *, policy=None, eps: float = 1.0, seed) -> OfflineDataset:
    """Trajectories of a sub-optimal behaviour: eps-greedy around ``policy`` (default: the uniform policy).

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    n : int
        Number of trajectories.
    policy : array_like, optional
        Centre of the behaviour (default uniform).
    eps : float
        Probability of a uniform action.
    seed : int or numpy Generator

    Returns
    -------
    OfflineDataset
    """
    _check_fh(mdp)
    if policy is None:
        policy = np.full((mdp.S, mdp.A), 1.0 / mdp.A)
    return collect(mdp, epsilon_greedy(mdp, policy, eps), n, seed=seed)


def stitching_dataset(mdp: TabularMDP, behaviours, n_each, *, seed) -> OfflineDataset:
    """Union of ``n_each`` trajectories of each behaviour policy (``source`` = behaviour index).

    Used with behaviours that are each sub-optimal but whose segments combine into an optimal path (the
    Point-Maze stitching task of Zhou et al. 2024, Sec. 5, in tabular form: :func:`mdps.rcsl.stitching_gridworld`).

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    behaviours : iterable of array_like
        Behaviour policies.
    n_each : int or sequence of int
        Trajectories per behaviour.
    seed : int or numpy Generator
        Spawns one seed per behaviour.

    Returns
    -------
    OfflineDataset
    """
    _check_fh(mdp)
    behaviours = list(behaviours)
    if not behaviours:
        raise ValueError("behaviours: need at least one policy")
    counts = [n_each] * len(behaviours) if np.isscalar(n_each) else list(n_each)
    if len(counts) != len(behaviours):
        raise ValueError(f"n_each: {len(counts)} counts for {len(behaviours)} behaviours")
    ss = np.random.SeedSequence(_seed_int(seed))
    seeds = [int(c.generate_state(1)[0]) for c in ss.spawn(len(behaviours))]
    return concat(*[collect(mdp, b, c, seed=s, source=j) for j, (b, c, s) in enumerate(zip(behaviours, counts, seeds))])


def coverage(mdp: TabularMDP, data: OfflineDataset, policy=None) -> dict:
    """Coverage statistics of ``data`` on ``mdp``.

    * ``counts[h, s, a]`` = ``N_h(s, a)``; ``frac_pairs`` = fraction of (h, s, a) with ``N > 0``;
    * ``concentrability`` = ``max_{h,s,a} d^pi_h(s,a) / mu_h(s,a)`` for ``pi`` (default: an optimal policy),
      ``mu_h`` the empirical step-h distribution (``inf`` when ``pi`` visits an uncovered pair): the single-policy
      coverage coefficient of offline RL;
    * ``best_return`` = max dataset return, ``v_star`` = ``V*_0(mu0)``, ``frac_optimal`` = fraction of
      trajectories whose return is within 1e-9 of ``V*`` (near-optimal coverage, which RCSL needs).

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon, the sizes of ``data``.
    data : OfflineDataset
    policy : array_like, optional
        Comparator policy of the concentrability (default an optimal policy).

    Returns
    -------
    dict
        ``counts``, ``frac_pairs``, ``concentrability``, ``best_return``, ``v_star``, ``frac_optimal``.
    """
    _check_fh(mdp)
    if (data.S, data.A, data.H) != (mdp.S, mdp.A, mdp.horizon):
        raise ValueError(f"data: (S, A, H) = {(data.S, data.A, data.H)} does not match the MDP")
    H, S, A = mdp.horizon, mdp.S, mdp.A
    counts = np.zeros((H, S, A))
    for h in range(H):
        np.add.at(counts[h], (data.states[:, h], data.actions[:, h]), 1.0)
    res = solve(mdp)
    pol = res.policy if policy is None else policy
    d = occupancy(mdp, pol)
    mu = counts / data.N
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(d > 0, d / mu, 0.0)
    v_star = float(mdp.mu0 @ res.V[0])
    G = data.returns
    return {"counts": counts, "frac_pairs": float((counts > 0).mean()), "concentrability": float(ratio.max()),
            "best_return": float(G.max()), "mean_return": float(G.mean()), "v_star": v_star,
            "frac_optimal": float(np.mean(G >= v_star - 1e-9))}


def return_distribution(mdp: TabularMDP, policy) -> dict:
    """Exact law of the trajectory return ``G = sum_h R_h(s_h, a_h)`` under a Markov ``policy`` from ``mdp.mu0``
    (``{G: probability}``, returns rounded to 9 decimals; forward pass over ``(s_h, partial return)``).

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    policy : array_like
        Markov policy.

    Returns
    -------
    dict
        ``{G: P(return = G)}``.
    """
    _check_fh(mdp)
    pol = as_stochastic_policy(mdp, policy)
    P4, R3 = mdp.P4(), mdp.R3()
    dist = {(int(s), 0.0): float(p) for s, p in enumerate(mdp.mu0) if p > 0}
    for h in range(mdp.horizon):
        Ph, Rh, ph = P4[min(h, P4.shape[0] - 1)], R3[min(h, R3.shape[0] - 1)], pol[min(h, pol.shape[0] - 1)]
        new: dict = {}
        for (s, g), p in dist.items():
            for a in np.flatnonzero(ph[s] > 0):
                g2 = round(g + float(Rh[s, a]), 9)
                q = p * ph[s, a]
                for s2 in np.flatnonzero(Ph[s, a] > 0):
                    k = (int(s2), g2)
                    new[k] = new.get(k, 0.0) + q * Ph[s, a, s2]
        dist = new
    out: dict = {}
    for (_, g), p in dist.items():
        out[g] = out.get(g, 0.0) + p
    return dict(sorted(out.items()))
