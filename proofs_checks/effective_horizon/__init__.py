"""The effective horizon bounds GORP's sample complexity (Laidlaw, Russell & Dragan, NeurIPS 2023, Thm 5.4).

The check of one paper (``CHECK``, registered in the entry-point group ``rltheory.checks``); DESIGN.md lists
the parts of a wing. ``reference_gorp`` is the learner spec ``proofs_checks.effective_horizon:reference_gorp``.
"""
from .claims import CHECK, reference_gorp

__all__ = ["CHECK", "reference_gorp"]
