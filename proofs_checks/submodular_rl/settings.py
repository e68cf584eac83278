"""Sweep settings of the submodular-RL check, as data: instances and the quick / full grids.

Every value is exact (bitmask DP, forward passes), so most greedy measurements run one seed; the learners'
measurements use the run's seeds.
"""

#: the lure-coverage family of the SubPO claims: leaves, copies of the lure, lure weight
LURE = {"n": 10, "copies": 6, "lure": 1.5}
#: the gridworld map of the SubPO-versus-modular comparison
GRID = "S...\n.#..\n...."

SIZES = {
    "quick": {
        "greedy_tight_ks": [3, 4, 5],  # tight_coverage(k)
        "greedy_deceptive_ns": [2, 4, 8],  # deceptive_chain(n)
        "lure_Hs": [4, 5, 6],  # lure_coverage horizons
        "delayed_Hs": [4, 5, 6],  # delayed_chain horizons
        "grid_Hs": [4, 6],  # gridworld horizons of SubPO vs modular
        "sop_lure_ks": [2, 3, 4, 5],  # the SOP reduction's lure sizes
    },
    "full": {
        "greedy_tight_ks": [3, 4, 5, 6],
        "greedy_deceptive_ns": [2, 4, 8, 12],
        "lure_Hs": [4, 5, 6, 7],
        "delayed_Hs": [4, 5, 6, 7, 8],
        "grid_Hs": [4, 6, 8],
        "sop_lure_ks": [2, 3, 4, 5, 6],
    },
}

#: SubPO claims: the value reached must be >= NEAR_OPT x OPT on every seed
NEAR_OPT = 0.9
