"""Horizon-free reward-free exploration for linear mixture MDPs (Zhang, Zhang & Gu, ICML 2023).

The check of one paper (``CHECK``, registered in the entry-point group ``rltheory.checks``); DESIGN.md lists
the parts of a wing. ``reference_learner`` is the learner spec ``proofs_checks.rfe_linear_mixture:reference_learner``.
"""
from .claims import CHECK, reference_learner

__all__ = ["CHECK", "reference_learner"]
