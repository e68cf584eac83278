"""Sweep settings of the proof-steps check, as data: the instance family of the elliptical potential and the
quick / full grids (a new random instance per seed; the seeds come from the run)."""

#: elliptical potential: dimension d, feature norm bound L, ridge lambda (L^2 / lambda = 1.5 > 1, so that
#: min(1, .) binds at the first visit of each direction)
ELL_D = 5
ELL_L = 1.0
ELL_LAM = ELL_L ** 2 / 1.5

SIZES = {
    "quick": {
        "identity_Hs": [2, 4, 8, 16],  # horizons of the three identities (total variance, PDL, simulation)
        "elliptical_Ks": [5, 20, 80, 320],  # numbers of feature vectors of the elliptical sums
    },
    "full": {
        "identity_Hs": [2, 4, 8, 16, 32, 64],
        "elliptical_Ks": [5, 20, 80, 320, 1280, 5120],
    },
}

#: rounding level for identities between O(H) quantities computed in float64
TOL = 1e-9
