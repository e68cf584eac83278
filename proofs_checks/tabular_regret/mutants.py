"""Mutants of UCBVI for the ``tabular_regret`` check (protocol ``episodic_tabular``).

The UCBVI mutants are :class:`~rltheory.algorithms.tabular.episodic.UCBVIVariant` objects: options of the Numba
whole-loop kernel that are off in the algorithm (so the reference's results are bit for bit unchanged), run on the
kernel's fast path by the harness. The last two are plain protocol learners run episode by episode.

The under-exploring mutants (``bonus_x0.1``, ``bonus_no_log``, ``stops_half``) have a *lower* mean regret than the
reference on every instance of the check: its bonus is conservative, and trusting the estimates early usually
pays. What breaks is the per-run guarantee: on a minority of runs they commit to a wrong arm for good. Only the
per-run claim ``no_lock`` (many runs on the minimax family) shows that; the mean-based claims cannot, and must not
kill them for regret that grows more slowly than sqrt(K) (see FINDINGS.md).
"""
from rltheory.algorithms.tabular.episodic import UCBVIVariant

from ..framework import Mutant

#: bonus scaled by 0.01: nearly greedy, locks onto a wrong arm on some runs
bonus_x0_01 = UCBVIVariant(bonus_scale=0.01)
#: bonus scaled by 0.1: under-explores, commits to a wrong arm on some runs
bonus_x0_1 = UCBVIVariant(bonus_scale=0.1)
#: the bonus without its log factor: L is about 20 at the check's sizes, so the leading (variance) term shrinks
#: by 1/sqrt(L) ~ 0.22; the whole bonus is scaled by that factor
bonus_no_log = UCBVIVariant(bonus_scale=0.22)
#: bonus scaled by 100: explores far too long (still linear at the check's K)
bonus_x100 = UCBVIVariant(bonus_scale=100.0)
#: the Bernstein variance term decays as 1/N instead of 1/sqrt(N): the confidence width is too narrow
variance_1_over_n = UCBVIVariant(var_decay="linear")
#: off by one in the counts: N + 1 in the empirical transition (and the bonus), a sub-stochastic model
counts_plus_one = UCBVIVariant(count_offset=1.0)
#: off by one in the horizon loop: backward induction over range(H - 1, 0, -1), step 0 never planned
horizon_loop_off_by_one = UCBVIVariant(skip_first_step=True)
#: unvisited pairs valued by their reward instead of optimistically (Vmax_h)
non_optimistic_unvisited = UCBVIVariant(optimistic_unvisited=False)
#: stops exploring after K/32 episodes: bonus and optimism switched off, greedy on the empirical model
stops_exploring = UCBVIVariant(explore_fraction=1 / 32)
#: stops exploring after K/2 episodes: greedy on the empirical model for the second half
stops_half = UCBVIVariant(explore_fraction=0.5)
#: off by one in the optimism cap: Q_h of a visited pair clipped at Vmax_{h+1} instead of Vmax_h (the last step's
#: visited pairs are all clipped to 0, so the last step's reward is never sought)
cap_next_step = UCBVIVariant(cap_next_step=True)

_P = "proofs_checks.tabular_regret.mutants"
COUNTS_PLUS_ONE_REASON = (
    "legitimate: N + 1 in the denominators shrinks the empirical next-state value by at most H / (N + 1), which the "
    "bonus term 14 H L / (3 N) (L ~ 20) covers many times over, so the learner stays optimistic and keeps the "
    "theorem's guarantee up to constants; measured: it passes every claim with regrets close to the reference's "
    "(numbers in the report of `rltheory check tabular_regret --mutants`)")
MUTANTS = [
    Mutant("bonus_x0.01", "UCBVI with its bonus scaled by 0.01 (too small)", f"{_P}:bonus_x0_01"),
    Mutant("bonus_x0.1", "UCBVI with its bonus scaled by 0.1 (too small)", f"{_P}:bonus_x0_1"),
    Mutant("bonus_no_log", "UCBVI whose bonus lacks the log factor L (scaled by 1/sqrt(L) ~ 0.22)",
           f"{_P}:bonus_no_log"),
    Mutant("bonus_x100", "UCBVI with its bonus scaled by 100 (too large)", f"{_P}:bonus_x100"),
    Mutant("variance_1/n", "Bernstein variance term decaying as 1/N instead of 1/sqrt(N)", f"{_P}:variance_1_over_n"),
    Mutant("counts_plus_one", "off-by-one: N + 1 instead of N in the empirical model and the bonus",
           f"{_P}:counts_plus_one", legitimate=COUNTS_PLUS_ONE_REASON),
    Mutant("horizon_loop_off_by_one", "off-by-one in the horizon: the backward induction stops before step 0, "
           "whose policy is never planned", f"{_P}:horizon_loop_off_by_one"),
    Mutant("non_optimistic_unvisited", "unvisited pairs valued by their reward, not optimistically",
           f"{_P}:non_optimistic_unvisited"),
    Mutant("stops_exploring", "UCBVI that stops exploring after K/32 episodes (greedy afterwards)",
           f"{_P}:stops_exploring"),
    Mutant("stops_half", "UCBVI that stops exploring after K/2 episodes (greedy afterwards)", f"{_P}:stops_half"),
    Mutant("cap_next_step", "off-by-one in the optimism cap: Q_h clipped at Vmax_{h+1} instead of Vmax_h",
           f"{_P}:cap_next_step"),
    Mutant("explore_then_commit", "uniform exploration for K/32 episodes, then the empirical optimum forever "
           "(a protocol learner)", "rltheory.algorithms.tabular.episodic:ExploreThenCommit"),
    Mutant("uniform", "never learns: uniformly random actions (a protocol learner)",
           "rltheory.algorithms.tabular.episodic:UniformLearner"),
]
