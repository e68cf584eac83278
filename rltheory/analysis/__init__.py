"""Exact analyses of MDPs (effective horizon, ...)."""
from .effective_horizon import analyze, epw, min_k, simple_effective_horizon
from .gorp_tight_bound import tight_gorp_bound

__all__ = ["analyze", "epw", "min_k", "simple_effective_horizon", "tight_gorp_bound"]
