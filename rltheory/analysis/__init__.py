"""Exact analyses of MDPs (effective horizon, ...)."""
from .effective_horizon import analyze, epw, min_k, simple_effective_horizon

__all__ = ["analyze", "epw", "min_k", "simple_effective_horizon"]
