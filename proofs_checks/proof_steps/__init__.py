"""Proof steps: the lemmas the covered regret proofs lean on, checked on random instances.

The check of one paper (``CHECK``, registered in the entry-point group ``rltheory.checks``); DESIGN.md lists
the parts of a wing.
"""
from .claims import CHECK

__all__ = ["CHECK"]
