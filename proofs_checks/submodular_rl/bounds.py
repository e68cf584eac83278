"""Bound of the submodular-RL check (Prajapat et al. 2024) as a sympy :class:`~rltheory.bounds.core.Bound`,
imported by :mod:`proofs_checks.submodular_rl.claims`.
"""
import sympy as _sp

from rltheory.bounds.core import Bound, sym

_OPT = sym("OPT")

SUBPO_BANDIT_FACTOR = Bound(
    "subpo_bandit_factor", (1 - _sp.exp(-1)) * _OPT,
    kind="lower", source="Prajapat et al. 2024, SubPO guarantee for bandit-like SubMDPs; Nemhauser et al. 1978",
    assumptions=("monotone submodular F, F(empty) = 0", "every state reachable in one step (bandit-like SubMDP)"),
)

BOUNDS = (SUBPO_BANDIT_FACTOR,)
