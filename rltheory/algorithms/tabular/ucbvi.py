"""UCBVI (Azar, Osband & Munos, ICML 2017) for finite-horizon tabular MDPs, whole learning loop in Numba.

Each episode k: optimistic backward induction on the empirical model
``Q_h(s,a) = min(Vmax_h, R_h(s,a) + Phat_h(.|s,a) . V_{h+1} + b_h(s,a))``, ``V_h = max_a Q_h`` (Alg. 1-2 of the
paper, with known mean rewards as there), act greedily for one episode, update the counts. Unvisited pairs
get ``Q = Vmax_h`` (optimistic). ``Vmax_h = sum_{t >= h} max_{s,a} R_t(s,a)`` is the largest return still
possible, so the clipping works for rewards in [0, 1] per step (``Vmax_h = H - h``) and for normalised
rewards alike.

Bonuses (``L = log(5 S A T / delta)``, ``T = K H``, ``N = N_h(s,a)``, ``c`` = ``bonus_scale``):

* ``"hoeffding"`` — UCBVI-CH, Eq. (3) of the paper: ``b = c * 7 * Vmax_0 * L / sqrt(N)`` (``H`` replaced by the
  value range ``Vmax_0``, which is ``H`` for rewards in [0, 1]);
* ``"bernstein"`` — an empirical-Bernstein bonus in the spirit of UCBVI-BF (paper Alg. 4, Eq. (4)):
  ``b = c * (sqrt(8 L Var_{Phat}(V_{h+1}) / N) + 14 Vmax_0 L / (3 N))``; we omit the paper's extra term that
  bounds ``Var_{Phat}(V_{h+1} - V*_{h+1})`` through next-state visit counts (a simplification: this bonus
  alone is not the paper's and carries no proven guarantee);
* ``"none"`` — the negative control: greedy on the empirical model, no bonus, unvisited pairs valued by
  their known reward only (not optimistic). It can lock onto a safe sub-optimal action forever.

The theorem's constants are loose at simulable K, so the checks report the ``bonus_scale`` they use.

Regret is the pseudo-regret ``V*_0(mu0) - V^{pi_k}_0(mu0)`` of each episode's policy, computed exactly
(policy evaluation on the true model), so the only randomness in it is the learner's.

Ties and early stopping (options used by the effective-horizon check, where UCBVI is a reference learner):
``tie_break="random"`` makes each episode's policy pick uniformly among the actions whose optimistic ``Q_h(s,a)``
equals the maximum (unvisited pairs all sit at ``Vmax_h``, so early episodes explore uniformly, like the
tie-breaking of our Q-learning); the default ``"first"`` takes the first argmax, and in a deterministic MDP with
a single start state then every seed gives the same run. ``stop_at_optimal=True`` ends the run after the first
episode whose policy is optimal (pseudo-regret <= ``OPTIMAL_TOL``); :meth:`UCBVIResult.first_optimal` reads
that episode count. Neither option changes the default behaviour.

Randomness: the kernel seeds Numba's internal generator with ``np.random.seed(seed)`` and draws all
initial states and transitions from it, so a run is reproducible bit for bit for a given seed on one
machine (Numba's generator is separate from NumPy's global one).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..._sampling import cumulative, cumulative_rows, sample
from ...models.tabular import TabularMDP
from ...solvers.api import solve

__all__ = ["UCBVIResult", "ucbvi", "BONUSES", "OPTIMAL_TOL"]

BONUSES = {"none": 0, "hoeffding": 1, "bernstein": 2}
TIE_BREAKS = ("first", "random")
#: Pseudo-regret at or below which an episode's policy counts as optimal (as in ``QLearningResult.first_optimal``).
OPTIMAL_TOL = 1e-4


@njit(cache=True)
def _plan(R3, Nsa, Nsas, Vmax, H, S, A, bonus_kind, scale, L, Q, V, pi, var_linear=False, optimistic=True,
          n_off=0.0, h_stop=0):
    """One optimistic backward induction on the empirical model; fills Q (H,S,A), V (H+1,S), pi (H,S).

    The last four arguments are deliberate deviations for mutation analysis (defaults: the algorithm):
    ``var_linear`` makes the Bernstein variance term decay as 1/N instead of 1/sqrt(N), ``optimistic=False``
    values unvisited pairs by their reward alone, ``n_off`` adds an off-by-one to the counts (``N + n_off`` in
    the empirical transition and the bonus), ``h_stop = 1`` ends the backward induction before step 0 (an
    off-by-one in the loop over the horizon: ``Q_0``, ``V_0`` and ``pi_0`` keep their previous values)."""
    hr = R3.shape[0]
    hp = Nsa.shape[0]
    vrange = Vmax[0]
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, h_stop - 1, -1):
        Rh = R3[h if hr > 1 else 0]
        k = h if hp > 1 else 0
        Vn = V[h + 1]
        for s in range(S):
            best = -np.inf
            ba = 0
            for a in range(A):
                n = Nsa[k, s, a]
                if n == 0:
                    q = Vmax[h] if (bonus_kind > 0 and optimistic) else Rh[s, a]
                else:
                    if n_off != 0.0:
                        n = n + n_off
                    m = 0.0
                    m2 = 0.0
                    for t in range(S):
                        c = Nsas[k, s, a, t]
                        if c != 0:
                            p = c / n
                            m += p * Vn[t]
                            m2 += p * Vn[t] * Vn[t]
                    q = Rh[s, a] + m
                    if bonus_kind == 1:
                        q += scale * 7.0 * vrange * L / np.sqrt(n)
                    elif bonus_kind == 2:
                        var = m2 - m * m
                        if var < 0.0:
                            var = 0.0
                        if var_linear:
                            q += scale * (np.sqrt(8.0 * L * var) / n + 14.0 * vrange * L / (3.0 * n))
                        else:
                            q += scale * (np.sqrt(8.0 * L * var / n) + 14.0 * vrange * L / (3.0 * n))
                    if bonus_kind > 0 and q > Vmax[h]:
                        q = Vmax[h]
                Q[h, s, a] = q
                if q > best:
                    best = q
                    ba = a
            V[h, s] = best
            pi[h, s] = ba


@njit(cache=True)
def _policy_value(P4, R3, pi, mu0, H, S, Vbuf):
    hp = P4.shape[0]
    hr = R3.shape[0]
    for s in range(S):
        Vbuf[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        Ph = P4[h if hp > 1 else 0]
        Rh = R3[h if hr > 1 else 0]
        for s in range(S):
            a = pi[h, s]
            acc = 0.0
            row = Ph[s, a]
            for t in range(S):
                acc += row[t] * Vbuf[h + 1, t]
            Vbuf[h, s] = Rh[s, a] + acc
    v = 0.0
    for s in range(S):
        v += mu0[s] * Vbuf[0, s]
    return v


@njit(cache=True)
def _random_ties(Q, pi, H, S, A, ties):
    """Replace ``pi[h, s]`` by a uniformly drawn action among the argmax actions of ``Q[h, s]``."""
    for h in range(H):
        for s in range(S):
            m = Q[h, s, pi[h, s]]
            nt = 0
            for a in range(A):
                if Q[h, s, a] >= m:
                    ties[nt] = a
                    nt += 1
            if nt > 1:
                pi[h, s] = ties[np.random.randint(0, nt)]


@njit(cache=True)
def _ucbvi_loop(P4, R3, mu0, H, K, bonus_kind, scale, delta, v_star, seed, regret, returns, random_ties, stop_tol,
                var_linear=False, optimistic=True, n_off=0.0, explore_episodes=-1, h_stop=0):
    """Fills ``regret``/``returns`` episode by episode; returns the number of episodes run (``K`` unless
    ``stop_tol >= 0`` and an episode's pseudo-regret fell to ``stop_tol`` earlier). ``explore_episodes >= 0``
    switches the bonus off (greedy, no optimism) from that episode on (a mutant that stops exploring)."""
    np.random.seed(seed)
    hp = P4.shape[0]
    S = P4.shape[1]
    A = P4.shape[2]
    cdf = cumulative_rows(P4)
    cmu = cumulative(mu0)
    hr = R3.shape[0]
    Vmax = np.zeros(H + 1)
    for h in range(H - 1, -1, -1):
        Rh = R3[h if hr > 1 else 0]
        Vmax[h] = Vmax[h + 1] + Rh.max()
    Nsa = np.zeros((hp, S, A))
    Nsas = np.zeros((hp, S, A, S))
    Q = np.empty((H, S, A))
    V = np.empty((H + 1, S))
    Vbuf = np.empty((H + 1, S))
    pi = np.zeros((H, S), dtype=np.int64)
    ties = np.empty(A, dtype=np.int64)
    L = np.log(5.0 * S * A * K * H / delta)
    for ep in range(K):
        bk = bonus_kind if (explore_episodes < 0 or ep < explore_episodes) else 0
        _plan(R3, Nsa, Nsas, Vmax, H, S, A, bk, scale, L, Q, V, pi, var_linear, optimistic, n_off, h_stop)
        if random_ties:
            _random_ties(Q, pi, H, S, A, ties)
        regret[ep] = v_star - _policy_value(P4, R3, pi, mu0, H, S, Vbuf)
        s = sample(cmu, np.random.random())
        g = 0.0
        for h in range(H):
            a = pi[h, s]
            g += R3[h if hr > 1 else 0, s, a]
            k = h if hp > 1 else 0
            t = sample(cdf[k, s, a], np.random.random())
            Nsa[k, s, a] += 1.0
            Nsas[k, s, a, t] += 1.0
            s = t
        returns[ep] = g
        if stop_tol >= 0.0 and regret[ep] <= stop_tol:
            return ep + 1
    return K


@dataclass(frozen=True)
class UCBVIResult:
    """Per-episode pseudo-regret and realised return; ``cumulative_regret[k]`` = regret of episodes 0..k. With
    ``stop_at_optimal`` the arrays end at the first optimal episode."""

    regret: np.ndarray
    cumulative_regret: np.ndarray
    returns: np.ndarray
    v_star: float
    bonus: str
    bonus_scale: float
    delta: float
    seed: int
    tie_break: str = "first"
    stopped_at_optimal: bool = False
    #: the smallest per-episode pseudo-regret before rounding below 0 is cleared (an invariant: >= -1e-9)
    raw_min_regret: float = float("nan")
    #: mutation options that were not at their defaults (empty for the algorithm itself)
    mutation: tuple = ()

    def first_optimal(self, tol: float = OPTIMAL_TOL) -> float:
        """Episodes until an episode's (executed) policy was first optimal within ``tol`` (1-based), ``inf`` if
        never. After ``stop_at_optimal`` only ``tol >= OPTIMAL_TOL`` is answerable."""
        if self.stopped_at_optimal and tol < OPTIMAL_TOL:
            raise ValueError(f"tol: the run stopped at pseudo-regret <= {OPTIMAL_TOL:g}; got tol={tol!r}")
        hit = np.flatnonzero(self.regret <= tol)
        return float(hit[0] + 1) if hit.size else float("inf")


def ucbvi(mdp: TabularMDP, K: int, *, seed: int, bonus: str = "hoeffding", bonus_scale: float = 1.0,
          delta: float = 0.1, tie_break: str = "first", stop_at_optimal: bool = False,
          var_decay: str = "sqrt", optimistic_unvisited: bool = True, count_offset: float = 0.0,
          explore_episodes: int | None = None, skip_first_step: bool = False) -> UCBVIResult:
    """Run UCBVI for ``K`` episodes on a finite-horizon MDP (see the module docstring for the bonuses).

    ``var_decay``, ``optimistic_unvisited``, ``count_offset``, ``explore_episodes`` and ``skip_first_step`` exist for mutation
    analysis (``proofs_checks.mutants``): realistic bugs of the algorithm, off by default (the defaults run the
    algorithm, bit for bit as without them). ``var_decay="linear"``: the Bernstein variance term decays as
    ``sqrt(8 L Var) / N`` instead of ``sqrt(8 L Var / N)``; ``optimistic_unvisited=False``: unvisited pairs are
    valued by their reward instead of ``Vmax_h``; ``count_offset=c``: ``N + c`` replaces ``N`` in the empirical
    transition probabilities and the bonus; ``explore_episodes=k``: from episode ``k`` on, no bonus and no
    optimism (greedy on the empirical model: stops exploring); ``skip_first_step=True``: the backward induction
    loop stops one step early (``range(H - 1, 0, -1)``), so step 0 keeps its initial policy (action 0) forever."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not mdp.finite_horizon:
        raise ValueError("mdp: UCBVI is for finite-horizon MDPs (horizon=H)")
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
        raise ValueError(f"K: must be a positive int, got {K!r}")
    if bonus not in BONUSES:
        raise ValueError(f"bonus: expected one of {tuple(BONUSES)}, got {bonus!r}")
    if not (np.isfinite(bonus_scale) and bonus_scale >= 0):
        raise ValueError(f"bonus_scale: must be a non-negative float, got {bonus_scale!r}")
    if not (0 < delta < 1):
        raise ValueError(f"delta: must lie in (0, 1), got {delta!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed: must be an int in [0, 2^32), got {seed!r}")
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break: expected one of {TIE_BREAKS}, got {tie_break!r}")
    if not isinstance(stop_at_optimal, bool):
        raise TypeError(f"stop_at_optimal: expected a bool, got {type(stop_at_optimal).__name__}")
    if var_decay not in ("sqrt", "linear"):
        raise ValueError(f"var_decay: expected 'sqrt' or 'linear', got {var_decay!r}")
    if not isinstance(optimistic_unvisited, bool):
        raise TypeError(f"optimistic_unvisited: expected a bool, got {type(optimistic_unvisited).__name__}")
    if isinstance(count_offset, bool) or not isinstance(count_offset, (int, float, np.integer, np.floating)) \
            or not np.isfinite(count_offset) or count_offset < 0:
        raise ValueError(f"count_offset: must be a finite non-negative number, got {count_offset!r}")
    if explore_episodes is not None and (isinstance(explore_episodes, bool)
                                         or not isinstance(explore_episodes, (int, np.integer)) or explore_episodes < 0):
        raise ValueError(f"explore_episodes: must be None or a non-negative int, got {explore_episodes!r}")
    if not isinstance(skip_first_step, bool):
        raise TypeError(f"skip_first_step: expected a bool, got {type(skip_first_step).__name__}")
    R3 = np.ascontiguousarray(mdp.R3())
    if R3.min() < 0:
        raise ValueError("mdp: UCBVI's optimism clipping assumes non-negative rewards")
    v_star = float(mdp.mu0 @ solve(mdp).V[0])
    regret = np.empty(int(K))
    returns = np.empty(int(K))
    n = _ucbvi_loop(np.ascontiguousarray(mdp.P4()), R3, np.ascontiguousarray(mdp.mu0), mdp.horizon, int(K),
                    BONUSES[bonus], float(bonus_scale), float(delta), v_star, int(seed), regret, returns,
                    tie_break == "random", OPTIMAL_TOL if stop_at_optimal else -1.0,
                    var_decay == "linear", optimistic_unvisited, float(count_offset),
                    -1 if explore_episodes is None else int(explore_episodes), 1 if skip_first_step else 0)
    regret, returns = regret[:n], returns[:n]
    raw_min = float(regret.min())
    np.maximum(regret, 0.0, out=regret)  # pseudo-regret >= 0; clears -1e-16 rounding
    mutation = tuple((k, v) for k, v, d in (("var_decay", var_decay, "sqrt"),
                                             ("optimistic_unvisited", optimistic_unvisited, True),
                                             ("count_offset", float(count_offset), 0.0),
                                             ("explore_episodes", explore_episodes, None),
                                             ("skip_first_step", skip_first_step, False)) if v != d)
    return UCBVIResult(regret, np.cumsum(regret), returns, v_star, bonus, float(bonus_scale), float(delta), int(seed),
                       tie_break, bool(stop_at_optimal), raw_min, mutation)
