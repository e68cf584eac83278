"""Sweep settings of the reward-free linear-mixture check, as data: the quick / full grids and seed counts.

Seed counts are ``max(per_seed x the run's seeds, min)``: the H-comparison claims need more seeds than the run's
default to resolve their slopes. Instance parameters and the learner's confidence scale stay next to the claims
they define (:mod:`proofs_checks.rfe_linear_mixture.claims`).
"""

SIZES = {
    "quick": {
        "model_K_max": 6400,  # exploration-identifies-theta: largest K and number of checkpoints
        "model_points": 4,
        "keps_K_max": 12800,  # K(eps) on random instances: largest K
        "keps_seeds": {"per_seed": 4, "min": 32},
        "hcmp_seeds": {"per_seed": 2, "min": 16},  # UCRL-RFE vs HF-UCRL-RFE++ against H
        "hval_seeds": {"per_seed": 2, "min": 16},  # value errors against H
        "Ks": [100, 200, 400, 800, 1600],  # K grid of the lower-bound rate claims
        "ds": [2, 3, 4, 5, 6],  # d grid of the d-rate claim
        "h_Hs": [10, 20, 40, 80],  # H grid and K of the horizon-free claim on the lower-bound family
        "h_K": 400,
    },
    "full": {
        "model_K_max": 25600,
        "model_points": 6,
        "keps_K_max": 25600,
        "keps_seeds": {"per_seed": 16, "min": 128},
        "hcmp_seeds": {"per_seed": 4, "min": 32},
        "hval_seeds": {"per_seed": 4, "min": 32},
        "Ks": [100, 200, 400, 800, 1600, 3200, 6400],
        "ds": [2, 3, 4, 5, 6, 7],
        "h_Hs": [10, 20, 40, 80, 160],
        "h_K": 800,
    },
}
