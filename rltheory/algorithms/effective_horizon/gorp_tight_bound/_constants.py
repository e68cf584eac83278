"""Constants of the tight GORP bound: quantile grid, scheme limits and method codes (see the package docstring)."""
from __future__ import annotations

RESOLUTION = 0.01          # quantile grid of the binomial / Berry-Esseen / Bernstein schemes
LP_SLACK = 0.01            # solve the linear programme only when the cheap bounds differ by more
BINOMIAL_M_MAX = 1_000_000  # the exact-binomial scheme is used up to this m
MAX_SEQS_QUANTILE = 100     # Berry-Esseen and Bernstein only for at most this many action sequences
M_START = 10**100
#: states whose actions' failure bounds differ by at most this get the largest of them (saves the schemes)
SKIP_TOL = 1e-12
INV_SQRT2 = 0.7071067811865476

# method codes
BINOMIAL, BERRY_ESSEEN, BERNSTEIN, BENNETT = 0, 1, 2, 3
METHODS = ("binomial", "berry_esseen", "bernstein", "bennett")
