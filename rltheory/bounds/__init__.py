"""Theorems' bounds as sympy expressions: the machinery (:mod:`rltheory.bounds.core`).

The bounds themselves live with the check of the paper that states them, ``proofs_checks/<check>/bounds.py``,
and reach the CLI through the check's ``bounds`` (``rltheory bounds``); this package ships none of its own.
"""
from .core import SYMBOLS, Bound, all_bounds, get, leading_exponents, register, sym

__all__ = ["SYMBOLS", "Bound", "all_bounds", "get", "leading_exponents", "register", "sym"]
