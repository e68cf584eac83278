"""Bounds of the effective-horizon check (Laidlaw, Russell & Dragan 2023) as sympy
:class:`~rltheory.bounds.core.Bound` objects, imported by :mod:`proofs_checks.effective_horizon.claims`.
"""
from rltheory.bounds.core import Bound, sym

_T, _A, _k, _m = (sym(n) for n in ("T", "A", "k", "m"))

GORP_SAMPLE_COMPLEXITY = Bound(
    "gorp_sample_complexity", _T * _A ** _k * _m, kind="upper",
    source="Laidlaw, Russell & Dragan 2023, Bridging RL Theory and Practice with the Effective Horizon, Thm 5.4",
    assumptions=("deterministic MDP", "m = m_k of the simple effective-horizon bound", "success probability >= 1/2"),
    notes="T A^k m_k = T A^{H_k}: exponential in the effective horizon, not in T",
)

GORP_TIGHT_SAMPLE_COMPLEXITY = Bound(
    "gorp_tight_sample_complexity", _T * _A ** _k * _m, kind="upper",
    source="Laidlaw, Russell & Dragan 2023, Bridging RL Theory and Practice with the Effective Horizon, Appendix C",
    assumptions=("deterministic MDP", "m = m_k of the Appendix C failure-probability recursion (numeric)",
                 "success probability >= 1/2"),
    notes="numeric bound: m_k has no closed form; "
          "rltheory.algorithms.effective_horizon.gorp_tight_bound.tight_gorp_bound computes it "
          "(the authors count T^2 A^k m_k time steps)",
)

BOUNDS = (GORP_SAMPLE_COMPLEXITY, GORP_TIGHT_SAMPLE_COMPLEXITY)
