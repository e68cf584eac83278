"""Regret minimisation in latent MDPs with context in hindsight (Zhou, Wang & Du, ICML 2023): the model-based
framework with a value-optimistic or model-optimistic solver, and an L-UCRL-like Hoeffding baseline."""
from .hindsight import SOLVERS, LMDPLearnResult, lmdp_hindsight

__all__ = ["SOLVERS", "LMDPLearnResult", "lmdp_hindsight"]
