"""Submodular RL (Prajapat, Mutny, Zeilinger & Krause, ICLR 2024): approximation and hardness checks.

The check of one paper (``CHECK``, registered in the entry-point group ``rltheory.checks``); DESIGN.md lists
the parts of a wing.
"""
from .claims import CHECK

__all__ = ["CHECK"]
