"""Submodular RL (Prajapat, Mutny, Zeilinger & Krause, ICLR 2024): SubPO and baselines."""
from .subpo import SubPOResult, coverage_probabilities, evaluate_context_policy, greedy_policy_value, modular_pg, subpo

__all__ = ["SubPOResult", "subpo", "modular_pg", "greedy_policy_value", "evaluate_context_policy",
           "coverage_probabilities"]
