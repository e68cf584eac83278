"""Bounds of the RCSL-versus-Bellman-completeness check (Zhou et al. 2024; Tsitsiklis & Van Roy 1997), as sympy
:class:`~rltheory.bounds.core.Bound` objects imported by :mod:`proofs_checks.rcsl_bellman.claims`.
"""
from rltheory.bounds.core import Bound, sym

_S, _N, _p, _Vr, _g, _C = (sym(n) for n in ("S", "N", "p", "V_range", "gamma", "C"))

RCSL_COVERAGE_DETERMINISTIC = Bound(
    "rcsl_coverage_deterministic", _Vr * (1 - _p) ** _N, kind="upper",
    source="Zhou et al. 2024, Sec. 3 (RCSL under realizability + coverage); our reconstruction for tabular RCSL "
           "in a deterministic MDP",
    assumptions=("deterministic transitions and rewards", "tabular (realizable) return-conditioned class",
                 "N i.i.d. behaviour trajectories, an optimal one with probability p"),
    notes="V_range = V* - min return; expected suboptimality of RCSL conditioned on the best dataset return")
BELLMAN_COMPLETENESS_MLP_WIDTH = Bound(
    "bellman_completeness_mlp_width", _C * _S, kind="lower",
    source="Zhou et al. 2024, Sec. 3.1 (two-layer MLP: width linear in |S| for Bellman completeness); "
           "our reconstruction (separating_family): C ~ 1/2",
    assumptions=("two-layer ReLU MLP on scalar state feature and action", "scrambling deterministic transition"),
)
TVR_FQI_GROWTH = Bound(
    "tvr_fqi_growth", 6 * _g / 5, kind="lower",
    source="Tsitsiklis & Van Roy 1997, Sec. IX: linear FQI factor per iteration on the two-state example",
    assumptions=("uniform state weights", "features 1 and 2, both states move to state 2, zero reward"),
    notes="exact growth factor of |w_k|; divergence iff gamma > 5/6")

BOUNDS = (RCSL_COVERAGE_DETERMINISTIC, BELLMAN_COMPLETENESS_MLP_WIDTH, TVR_FQI_GROWTH)
