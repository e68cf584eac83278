"""Sweep settings of the reward-free linear-mixture check, as data: the learner's confidence scale, the instance
families and their parameters, the rules' thresholds and the quick / full grids and seed counts.

Seed counts are ``max(per_seed x the run's seeds, min)``: the H-comparison claims need more seeds than the run's
default to resolve their slopes. Instance seeds are an offset plus the run's seed, one offset per family, so that the
families never share an instance.
"""

#: HF-UCRL-RFE++ as the check runs it: global scale ``c_beta`` of every confidence radius and the number of HOME
#: moment orders (the paper's ``ceil(log2(7 K H))`` truncated)
C_BETA = 0.003
M_ORDERS = 4

#: lower-bound family (:func:`mdps.hard_linear_mixture_rfe`): dimension and horizon of the K-rate, certificate and
#: coverage claims, instance seed offset
D_FIXED, H_FIXED = 4, 5
HARD_INSTANCE0 = 10_000
#: the fixed-gap control uses the family's gap at this K
FIXED_GAP_K = 1600
#: episodes of the d-rate claim
D_RATE_K = 400

#: exploration-identifies-theta: a fixed instance of the lower-bound family (gap, d = D_FIXED, horizon)
MODEL_GAP, MODEL_H = 0.02, 10

#: K(eps) on random instances (:func:`mdps.misspecified_linear_mixture`): sizes, Dirichlet concentration,
#: instance seed offset (held out: the rule was fixed on instances 20_000+, 40_000+ and 50_000+ before any run on
#: these)
RAND_SIZE = dict(S=5, A=2, d=3, horizon=10)
RAND_CONC = 0.3
RAND_INSTANCE0 = 60_000
#: checkpoints 25 * 2^(j/2); the claim's window is K in [RAND_K_LO, K_max], tested as two halves split at RAND_K_MID
RAND_K_LO, RAND_K_MID = 800, 3200
#: the control's misspecification: fraction of every row moved outside the model's span
MISSPEC_RHO = 0.005

#: H comparisons (:func:`mdps.random_linear_mixture`): S, A, d, Dirichlet concentration, instance seed offset (the
#: kernels depend on the seed only, so the instance is the same for every H) and the horizons
HCMP_SIZE = dict(S=5, A=2, d=3)
HCMP_CONC = 0.2
HCMP_INSTANCE0 = 30_000
H_GRID = (10, 20, 40, 80, 160)
#: UCRL-RFE against HF-UCRL-RFE++ in the saturated regime: c_beta and episodes
C_BETA_H, K_H = 0.1, 30
#: the directed regime: c_beta small enough that R1's pseudo-values do not saturate at H = 160, and episodes
C_BETA_DIR, K_DIR = 0.0003, 400

#: lock family of the exploration claim (:func:`mdps.linear_mixture.lock_linear_mixture_rfe`): d (A = 2^(d-1)
#: actions), horizon, gap, episodes, lock lengths, instance seed offset
LOCK_D, LOCK_H, LOCK_GAP, LOCK_K = 3, 10, 0.04, 400
LOCK_LENGTHS = (3, 4)
LOCK_INSTANCE0 = 70_000
#: the learner's mean error must be at most this fraction of the uniform explorer's
LOCK_RATIO = 0.5

#: rules: tolerance of the slope CIs of the lower-bound rates (K and d), of K(eps) on random instances, the largest
#: slope in H of a horizon-free quantity (and the smallest of one that grows), the slack of the model-error slope
RATE_TOL = 0.15
KEPS_TOL = 0.1
H_SLOPE = 0.25
MODEL_SLOPE_TOL = 0.3

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

#: seed counts common to both sizes: the lower-bound sweeps over K and H and the lock, the d sweep, the model error
HARD_SEEDS = {"per_seed": 4, "min": 32}
D_SEEDS = {"per_seed": 8, "min": 64}
MODEL_SEEDS = {"per_seed": 2, "min": 16}
