"""Algorithms of the effective-horizon papers (Laidlaw et al. 2023, 2024)."""
from .gorp import GORPResult, gorp, gorp_sample_complexity

__all__ = ["GORPResult", "gorp", "gorp_sample_complexity"]
