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

from ..._validation import check_int, check_real, check_seed, check_type
from ...models.tabular import TabularMDP
from ...solvers.api import solve
from ..result import LearnerResult
from ._kernels import ucbvi_loop

__all__ = ["UCBVIResult", "ucbvi", "BONUSES", "OPTIMAL_TOL"]

BONUSES = {"none": 0, "hoeffding": 1, "bernstein": 2}
TIE_BREAKS = ("first", "random")
#: Pseudo-regret at or below which an episode's policy counts as optimal (as in ``QLearningResult.first_optimal``).
OPTIMAL_TOL = 1e-4


@dataclass(frozen=True)
class UCBVIResult(LearnerResult):
    """Per-episode pseudo-regret and realised return; ``cumulative_regret[k]`` = regret of episodes 0..k. With
    ``stop_at_optimal`` the arrays end at the first optimal episode. ``method``, ``episodes`` and ``seed``: see
    :class:`~rltheory.algorithms.result.LearnerResult`."""

    regret: np.ndarray
    cumulative_regret: np.ndarray
    returns: np.ndarray
    v_star: float
    bonus: str
    bonus_scale: float
    delta: float
    tie_break: str = "first"
    stopped_at_optimal: bool = False
    #: the smallest per-episode pseudo-regret before rounding below 0 is cleared (an invariant: >= -1e-9)
    raw_min_regret: float = float("nan")
    #: mutation options that were not at their defaults (empty for the algorithm itself)
    mutation: tuple = ()

    def first_optimal(self, tol: float = OPTIMAL_TOL) -> float:
        """Episodes until an episode's (executed) policy was first optimal within ``tol`` (1-based), ``inf`` if
        never. After ``stop_at_optimal`` only ``tol >= OPTIMAL_TOL`` is answerable.

        Parameters
        ----------
        tol : float
            Tolerance on the per-episode pseudo-regret.

        Returns
        -------
        float
            The 1-based first episode with ``regret <= tol``, or ``inf``.
        """
        if self.stopped_at_optimal and tol < OPTIMAL_TOL:
            raise ValueError(f"tol: the run stopped at pseudo-regret <= {OPTIMAL_TOL:g}; got tol={tol!r}")
        hit = np.flatnonzero(self.regret <= tol)
        return float(hit[0] + 1) if hit.size else float("inf")


def ucbvi(mdp: TabularMDP, K: int, *, seed: int, bonus: str = "hoeffding", bonus_scale: float = 1.0,
          delta: float = 0.1, tie_break: str = "first", stop_at_optimal: bool = False,
          var_decay: str = "sqrt", optimistic_unvisited: bool = True, count_offset: float = 0.0,
          explore_episodes: int | None = None, skip_first_step: bool = False,
          cap_next_step: bool = False) -> UCBVIResult:
    """Run UCBVI for ``K`` episodes on a finite-horizon MDP (see the module docstring for the bonuses).

    ``var_decay``, ``optimistic_unvisited``, ``count_offset``, ``explore_episodes``, ``skip_first_step`` and
    ``cap_next_step`` exist for mutation analysis (``proofs_checks.tabular_regret.mutants``): realistic bugs of the
    algorithm, off by default (the defaults run the algorithm, bit for bit as without them). ``var_decay="linear"``: the Bernstein variance term decays as
    ``sqrt(8 L Var) / N`` instead of ``sqrt(8 L Var / N)``; ``optimistic_unvisited=False``: unvisited pairs are
    valued by their reward instead of ``Vmax_h``; ``count_offset=c``: ``N + c`` replaces ``N`` in the empirical
    transition probabilities and the bonus; ``explore_episodes=k``: from episode ``k`` on, no bonus and no
    optimism (greedy on the empirical model: stops exploring); ``skip_first_step=True``: the backward induction
    loop stops one step early (``range(H - 1, 0, -1)``), so step 0 keeps its initial policy (action 0) forever;
    ``cap_next_step=True``: the optimistic ``Q_h`` of a visited pair is clipped at ``Vmax_{h+1}`` instead of
    ``Vmax_h`` (an off-by-one in the cap).

    Parameters
    ----------
    mdp : TabularMDP
        Finite horizon.
    K : int
        Episodes.
    seed : int
        Seed in ``[0, 2^32)``.
    bonus : {"none", "hoeffding", "bernstein"}
        Exploration bonus (:data:`BONUSES`).
    bonus_scale : float
        Multiplier of the bonus.
    delta : float
        Confidence parameter in ``L = log(5 S A K H / delta)``.
    tie_break : {"first", "random"}
        Greedy tie-breaking.
    stop_at_optimal : bool
        Stop at the first episode with pseudo-regret at most :data:`OPTIMAL_TOL`.
    var_decay, optimistic_unvisited, count_offset, explore_episodes, skip_first_step, cap_next_step
        Mutation options (above).

    Returns
    -------
    UCBVIResult
        Per-episode pseudo-regret ``V*_0(mu0) - V^{pi_k}_0(mu0)`` (exact) and realised returns.
    """
    check_type("mdp", mdp, TabularMDP)
    if not mdp.finite_horizon:
        raise ValueError("mdp: UCBVI is for finite-horizon MDPs (horizon=H)")
    K = check_int("K", K, low=1)
    if bonus not in BONUSES:
        raise ValueError(f"bonus: expected one of {tuple(BONUSES)}, got {bonus!r}")
    bonus_scale = check_real("bonus_scale", bonus_scale, low=0.0)
    delta = check_real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_seed("seed", seed, high=2**32 - 1)
    if tie_break not in TIE_BREAKS:
        raise ValueError(f"tie_break: expected one of {TIE_BREAKS}, got {tie_break!r}")
    check_type("stop_at_optimal", stop_at_optimal, bool)
    if var_decay not in ("sqrt", "linear"):
        raise ValueError(f"var_decay: expected 'sqrt' or 'linear', got {var_decay!r}")
    check_type("optimistic_unvisited", optimistic_unvisited, bool)
    count_offset = check_real("count_offset", count_offset, low=0.0)
    if explore_episodes is not None:
        explore_episodes = check_int("explore_episodes", explore_episodes, low=0)
    check_type("skip_first_step", skip_first_step, bool)
    check_type("cap_next_step", cap_next_step, bool)
    R3 = np.ascontiguousarray(mdp.R3())
    if R3.min() < 0:
        raise ValueError("mdp: UCBVI's optimism clipping assumes non-negative rewards")
    v_star = float(mdp.mu0 @ solve(mdp).V[0])
    regret = np.empty(int(K))
    returns = np.empty(int(K))
    n = ucbvi_loop(np.ascontiguousarray(mdp.P4()), R3, np.ascontiguousarray(mdp.mu0), mdp.horizon, int(K),
                    BONUSES[bonus], float(bonus_scale), float(delta), v_star, int(seed), regret, returns,
                    tie_break == "random", OPTIMAL_TOL if stop_at_optimal else -1.0,
                    var_decay == "linear", optimistic_unvisited, float(count_offset),
                    -1 if explore_episodes is None else int(explore_episodes), 1 if skip_first_step else 0,
                    1 if cap_next_step else 0)
    regret, returns = regret[:n], returns[:n]
    raw_min = float(regret.min())
    np.maximum(regret, 0.0, out=regret)  # pseudo-regret >= 0; clears -1e-16 rounding
    mutation = tuple((k, v) for k, v, d in (("var_decay", var_decay, "sqrt"),
                                             ("optimistic_unvisited", optimistic_unvisited, True),
                                             ("count_offset", float(count_offset), 0.0),
                                             ("explore_episodes", explore_episodes, None),
                                             ("skip_first_step", skip_first_step, False),
                                             ("cap_next_step", cap_next_step, False)) if v != d)
    return UCBVIResult(regret, np.cumsum(regret), returns, v_star, bonus, float(bonus_scale), float(delta), tie_break,
                       bool(stop_at_optimal), raw_min, mutation, method="ucbvi", episodes=int(n), seed=int(seed))
