"""Sweep settings of the effective-horizon check, as data: learners' budgets, run counts and the suite size.

The MDP suites themselves are built in :mod:`mdps.eh_suite`; ``eh_suite_quick`` picks their small (``True``) or
full version at each run size. The rank-correlation claims use the full deterministic suite at both sizes.
"""

#: episodes of Q-learning and UCBVI in the rank-correlation claims (the run stops at the first optimal policy)
QLEARNING_BUDGET = 2**17
QLEARNING_EPSILON = 0.1
#: GORP runs per suite MDP at the Appendix C m
TIGHT_RUNS = 64
#: the reference GORP's seeds in ``gorp_matches_reference`` are the run's seeds plus this (mod 2^32): disjoint
#: from the learner's, so the reference is compared with an independent sample of itself
REFERENCE_SEED_SHIFT = 2**31
#: UCBVI's setting in the rank-correlation claim: the tabular_regret check's
UCBVI_BONUS, UCBVI_BONUS_SCALE, UCBVI_DELTA = "bernstein", 1.0, 0.1
#: the rank-correlation claims run at least this many seeds
RANK_MIN_SEEDS = 16

SIZES = {
    "quick": {"eh_suite_quick": True},
    "full": {"eh_suite_quick": False},
}
