"""Mutants of UCBVI for the ``tabular_regret`` check (protocol ``episodic_tabular``).

The UCBVI mutants are :class:`~rltheory.algorithms.tabular.episodic.UCBVIVariant` objects: options of the Numba
whole-loop kernel that are off in the algorithm (so the reference's results are bit for bit unchanged), run on the
kernel's fast path by the harness. The last two are plain protocol learners run episode by episode.

Known survivor, not in the catalogue (no option of the kernel implements it yet): clipping the optimistic value
of step ``h`` at ``Vmax_{h+1}`` instead of ``Vmax_h`` (an off-by-one in the cap) passed every claim when it was
tried during the catalogue's construction. On RiverSwim and the bandit families the cap rarely binds below V*,
so these instances cannot show it; an instance whose optimal value sits near ``H - h`` would be needed.
"""
from rltheory.algorithms.tabular.episodic import UCBVIVariant

from ..framework import Mutant

#: bonus scaled by 0.01: nearly greedy, locks onto a wrong arm on some runs
bonus_x0_01 = UCBVIVariant(bonus_scale=0.01)
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

_P = "proofs_checks.tabular_regret.mutants"
COUNTS_PLUS_ONE_REASON = (
    "legitimate: N + 1 in the denominators shrinks the empirical next-state value by at most H / (N + 1), which the "
    "bonus term 14 H L / (3 N) (L ~ 20) covers many times over, so the learner stays optimistic and keeps the "
    "theorem's guarantee up to constants; measured: it passes every claim with regrets close to the reference's "
    "(numbers in the report of `rltheory check tabular_regret --mutants`)")
MUTANTS = [
    Mutant("bonus_x0.01", "UCBVI with its bonus scaled by 0.01 (too small)", f"{_P}:bonus_x0_01"),
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
    Mutant("explore_then_commit", "uniform exploration for K/32 episodes, then the empirical optimum forever "
           "(a protocol learner)", "rltheory.algorithms.tabular.episodic:ExploreThenCommit"),
    Mutant("uniform", "never learns: uniformly random actions (a protocol learner)",
           "rltheory.algorithms.tabular.episodic:UniformLearner"),
]
