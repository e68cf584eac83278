"""Exact solvers for tabular MDPs: planning, policy evaluation, occupancy measures, LP cross-check.

Python API over the Numba kernels of :mod:`rltheory.solvers._kernels`; see :mod:`rltheory.solvers.api`.
"""
from .api import (
    METHOD_ALIASES,
    METHODS,
    ConvergenceWarning,
    SolveResult,
    as_stochastic_policy,
    bellman_backup,
    bellman_residual,
    certificate,
    evaluate,
    evaluate_vq,
    gaps,
    next_value_variance,
    occupancy,
    policy_value,
    q_values,
    solve,
)
from .workspace import FiniteHorizonPlanner

__all__ = [
    "ConvergenceWarning",
    "FiniteHorizonPlanner",
    "METHOD_ALIASES",
    "METHODS",
    "SolveResult",
    "as_stochastic_policy",
    "bellman_backup",
    "bellman_residual",
    "certificate",
    "evaluate",
    "evaluate_vq",
    "gaps",
    "next_value_variance",
    "occupancy",
    "policy_value",
    "q_values",
    "solve",
]
