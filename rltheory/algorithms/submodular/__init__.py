"""Submodular RL (Prajapat, Mutny, Zeilinger & Krause, ICLR 2024): SubPO and baselines."""
from .subpo import SubPOResult, greedy_policy_value, modular_pg, subpo

__all__ = ["SubPOResult", "subpo", "modular_pg", "greedy_policy_value"]
