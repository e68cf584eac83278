"""Regret of UCBVI on tabular MDPs: the sqrt(K) rate of Azar, Osband & Munos (2017), Theorem 1/2.

The check of one paper (``CHECK``, registered in the entry-point group ``rltheory.checks``); DESIGN.md lists
the parts of a wing. ``NO_BONUS`` is the learner spec ``proofs_checks.tabular_regret:NO_BONUS``.
"""
from .claims import CHECK, NO_BONUS

__all__ = ["CHECK", "NO_BONUS"]
