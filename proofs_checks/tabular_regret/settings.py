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
#: ``no_lock``: the minimax bandit family at the construction's own scale: actions, horizon, gap constant
#: (gap ``LOCK_C sqrt(A/K)``, not identifiable within K episodes: optimism must keep every arm in play)
LOCK_A, LOCK_H, LOCK_C = 2, 3, 1.0
#: ``no_lock``: runs per seed of the run at each K of its grid (the lock of an under-exploring learner is a per-run
#: tail event)
LOCK_RUNS_PER_SEED = 16
#: ``deterministic_exact``: the deterministic chain (states, horizon); its reward is taken at the far end
EXACT_S, EXACT_H = 4, 8
#: both per-run claims look at the last LATE_FRACTION of the K episodes ...
LATE_FRACTION = 0.25
#: ... and call a run locked when a suboptimal policy was deployed in more than this share of them
LOCKED_SHARE = 0.99

SIZES = {
    "quick": {
        "riverswim_K_max": 20000,  # episodes of one RiverSwim run per seed
        "riverswim_points": 5,  # geometric checkpoints of its regret curve
        "bandit_Ks": [8000, 16000, 32000, 64000],  # K grid of the K-dependent family
        "consistent_K": 16000,  # episodes of the fixed-gap runs
        "lock_Ks": [32000, 64000],  # K grid of no_lock: every run at every K
        "exact_K": 4000,  # episodes of each deterministic_exact run
    },
    "full": {
        "riverswim_K_max": 80000,
        "riverswim_points": 5,
        "bandit_Ks": [8000, 16000, 32000, 64000, 128000, 256000],
        "consistent_K": 64000,
        "lock_Ks": [32000, 64000, 128000],
        "exact_K": 16000,
    },
}

#: sqrtK_tight: the learner's mean regret must be <= TIGHT_MARGIN x the uniform policy's
TIGHT_MARGIN = 0.85
#: sqrtK_tight: upper limit of the slope CI <= 1/2 + this (the rate is an upper bound; see FINDINGS.md)
TIGHT_SLOPE_TOL = 0.1
#: sqrtK_upper: mean regret <= UPPER_MARGIN x the uniform policy's
UPPER_MARGIN = 0.5
#: sqrtK_upper: predicted local log-log slope of regret in K
UPPER_LOCAL_SLOPE = 0.5
#: a curve whose mean local slope is below this is reported as saturated (learning finished before the window)
SATURATED_SLOPE = 0.15
#: consistent: on every seed the local slope over the last doubling of K must be <= this
CONSISTENT_SLOPE = 0.8
