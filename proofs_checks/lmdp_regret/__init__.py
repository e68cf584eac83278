"""Latent MDPs with context in hindsight (Zhou, Wang & Du, ICML 2023): regret of the model-based framework.

The check of one paper (``CHECK``, registered in the entry-point group ``rltheory.checks``); DESIGN.md lists
the parts of a wing. ``reference_learner`` is the learner spec ``proofs_checks.lmdp_regret:reference_learner``.
"""
from .claims import CHECK, reference_learner

__all__ = ["CHECK", "reference_learner"]
