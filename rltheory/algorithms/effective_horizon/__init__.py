"""Algorithms of the effective-horizon papers (Laidlaw et al. 2023, 2024): GORP and SQIRL."""
from .gorp import GORPResult, gorp, gorp_sample_complexity
from .sqirl import LinearRegressor, SQIRLResult, sqirl, sqirl_sample_complexity

__all__ = ["GORPResult", "gorp", "gorp_sample_complexity", "LinearRegressor", "SQIRLResult", "sqirl",
           "sqirl_sample_complexity"]
