"""Sweep settings of the RCSL-versus-Bellman-completeness check, as data: the quick / full grids.

``max_seeds`` caps the run's seeds of the learner measurements (the expensive ones) at the quick size;
``None`` runs all of them.
"""

SIZES = {
    "quick": {
        "max_seeds": 4,
        "width_ns": [16, 32, 64, 128],  # separating_family sizes of the completeness-width claims
        "rcsl_width_ns": [8, 16, 32, 64],  # sizes of the RCSL constant-width claim
        "coverage_M": 40,  # evaluation episodes per RCSL policy in the coverage claim
        "target_Ss": [6, 8, 12],  # random deterministic MDP sizes of the target-return claim
    },
    "full": {
        "max_seeds": None,
        "width_ns": [16, 32, 64, 128, 256],
        "rcsl_width_ns": [8, 16, 32, 64, 128],
        "coverage_M": 200,
        "target_Ss": [6, 8, 12, 16],
    },
}
#: dataset sizes N of the coverage claim (both sizes)
COVERAGE_NS = [32, 64, 128, 256]
#: discount factors of the Tsitsiklis & Van Roy example and of Baird's counterexample
TVR_GAMMAS = [0.85, 0.9, 0.95, 0.99]
BAIRD_GAMMAS = [0.95, 0.99]
#: feature widths of the FQI-with-an-incomplete-class claim; it runs at least 16 seeds
FQI_WIDTH_NS = [8, 16, 32, 64]
FQI_MIN_SEEDS = 16
#: horizons of the stitching claim
STITCH_HS = [8, 10, 12]

#: RCSL claims: the return reached must be >= RCSL_RATIO x V*
RCSL_RATIO = 0.95
#: discount of the stationary FQI claims (Tsitsiklis-Van Roy, Baird, the width sweep)
FQI_GAMMA = 0.9
#: a greedy FQI policy counts as near-optimal from this normalised return on
FQI_NEAR_OPT = 0.95
#: fqi_incomplete_fails: the fraction of seeds whose greedy policy is not near-optimal must be >= this
FQI_FAIL_RATE = 0.05
#: confidence parameter of the coverage bound
DELTA = 1e-3
#: |J(g) - g| allowed: RCSL keys returns-to-go to 9 decimals (H rounding errors <= 5e-10 each)
TARGET_TOL = 1e-7
