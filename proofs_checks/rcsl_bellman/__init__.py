"""RCSL vs Bellman completeness (Zhou, Zhu, Zhou, Cui, Gupta & Du, ICLR 2024; Zanette, ICML 2023).

The check of one paper (``CHECK``, registered in the entry-point group ``rltheory.checks``); DESIGN.md lists
the parts of a wing. ``reference_rcsl`` is the learner spec ``proofs_checks.rcsl_bellman:reference_rcsl``.
"""
from .claims import CHECK, reference_rcsl

__all__ = ["CHECK", "reference_rcsl"]
