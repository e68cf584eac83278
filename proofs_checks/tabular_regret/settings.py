"""Sweep settings of the tabular-regret check, as data: instances, grids and the quick / full sizes.

The claims (:mod:`proofs_checks.tabular_regret.claims`) read these values; the seeds come from the run
(``rltheory check --seeds``), the consistency claim runs twice as many.
"""

#: RiverSwim of the ``sqrtK_upper`` claim: states, horizon
RIVER_S, RIVER_H = 6, 20
#: bandit MDPs of ``sqrtK_tight`` and ``consistent``: actions, horizon
BANDIT_A, BANDIT_H = 4, 10
#: gap constant of the K-dependent family (gap ``TIGHT_C sqrt(A/K)``): learning pays off at simulable K
TIGHT_C = 4.0
#: fixed gap of the ``consistent`` claim's bandit MDP
CONSISTENT_GAP = 0.1

SIZES = {
    "quick": {
        "riverswim_K_max": 20000,  # episodes of one RiverSwim run per seed
        "riverswim_points": 5,  # geometric checkpoints of its regret curve
        "bandit_Ks": [8000, 16000, 32000, 64000],  # K grid of the K-dependent family
        "consistent_K": 16000,  # episodes of the fixed-gap runs
    },
    "full": {
        "riverswim_K_max": 80000,
        "riverswim_points": 5,
        "bandit_Ks": [8000, 16000, 32000, 64000, 128000, 256000],
        "consistent_K": 64000,
    },
}

#: sqrtK_tight: the learner's mean regret must be <= TIGHT_MARGIN x the uniform policy's
TIGHT_MARGIN = 0.85
#: sqrtK_upper: mean regret <= UPPER_MARGIN x the uniform policy's
UPPER_MARGIN = 0.5
#: sqrtK_upper: predicted local log-log slope of regret in K
UPPER_LOCAL_SLOPE = 0.5
#: a curve whose mean local slope is below this is reported as saturated (learning finished before the window)
SATURATED_SLOPE = 0.15
#: consistent: on every seed the local slope over the last doubling of K must be <= this
CONSISTENT_SLOPE = 0.8
