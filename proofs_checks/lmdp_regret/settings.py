"""Sweep settings of the LMDP-regret check, as data: instance parameters and the quick / full grids.

The seeds come from the run (``rltheory check --seeds``); the dimension claims run at least ``DIM_SEEDS``.
"""

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
