"""Sweep settings of the LMDP-regret check, as data: instance parameters and the quick / full grids.

The seeds come from the run (``rltheory check --seeds``); the dimension claims run at least ``DIM_SEEDS``.
"""

#: bonus scales of the reference learner (value-optimistic solver)
C1, C2 = 0.5, 0.05
#: the transition degree Gamma told to every learner
GAMMA = 2
#: identify-then-bandit instance of the K-rate claims: contexts, leaves (decision states), actions, horizon
M_, LEAVES, A_, H_ = 2, 2, 2, 8
#: horizon_free / deterministic_flat: mean regret <= MARGIN x the non-learning (uniform) policy's
MARGIN = 0.5
#: sqrtK_upper: mean regret <= (1 - ITB_EPS) x the uniform-arm policy's, as the dimension claims
ITB_EPS = 0.1
#: certified error of V* and of the exact policy values (rounding of the belief DP)
VALUE_TOL = 1e-9
#: confidence parameter delta at which the upper bound's logarithmic factor iota is evaluated
BOUND_DELTA = 0.1
#: gap constant of the lower-bound family: maximises c (1 - 1/A - c) at A = 2
TIGHT_C = 0.25
#: dimension claims: gap constant (at c = 0.5 our learner did worse than the uniform-arm policy: learning must pay)
DIM_C = 2.0
#: dimension claims: gap cap; the grids keep c sqrt(M L A / K) <= 0.36 (quick) / 0.25 (full), so it never binds
DIM_CAP = 0.5
#: dimension claims: the learner's mean coefficient must be <= (1 - DIM_EPS) x the uniform-arm policy's
DIM_EPS = 0.1
#: horizon-free claim: arm gap of the horizon chain and the fixed number of episodes
HORIZON_GAP = 0.2
HORIZON_K = 4000
#: dimension claims: the parameters held fixed while one of M, leaves, A varies
DIM_BASE = {"M": 2, "leaves": 2, "A": 2}
#: dimension claims: at least this many seeds (a slope CI narrow enough to confirm the rate)
DIM_SEEDS = 32

SIZES = {
    "quick": {
        "Ks": [2000, 4000, 8000, 16000, 32000],  # K grid of the sqrt(K) upper-rate claims
        "det_Ks": [1000, 2000, 4000, 8000, 16000],  # K grid of the deterministic_flat claim
        "horizon_Hs": [8, 16, 32, 64],  # horizons of the horizon-free claim
        "optimism_K": 4000,  # episodes of the optimism claim on kinds 1-3
        "optimism_noisy_K": 40000,  # episodes on the one-leaf noisy bandit (kind 4)
        "dim_Ms": [1, 2, 4, 8],  # grids of the dimension claims
        "dim_leaves": [1, 2, 4, 8],
        "dim_As": [2, 4, 8],
        "dim_K": 1000,  # smallest K of the dimension fits (K, 2K, 4K, 8K)
    },
    "full": {
        "Ks": [2000, 4000, 8000, 16000, 32000, 64000, 128000],
        "det_Ks": [1000, 2000, 4000, 8000, 16000, 32000, 64000],
        "horizon_Hs": [8, 16, 32, 64, 128],
        "optimism_K": 20000,
        "optimism_noisy_K": 80000,
        "dim_Ms": [1, 2, 4, 8, 16],
        "dim_leaves": [1, 2, 4, 8, 16],
        "dim_As": [2, 4, 8, 16],
        "dim_K": 4000,
    },
}
