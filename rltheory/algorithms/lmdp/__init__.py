"""Regret minimisation in latent MDPs with context in hindsight (Zhou, Wang & Du, ICML 2023): the model-based
framework with a value-optimistic or model-optimistic solver, and an L-UCRL-like Hoeffding baseline; the
``lmdp_hindsight`` learner protocol (:mod:`.protocol`) runs any learner against a true LMDP with exact regret."""
from .hindsight import SOLVERS, LMDPLearnResult, lmdp_hindsight
from .protocol import HindsightLearner, markov_policy_value, run_lmdp_learner

__all__ = ["SOLVERS", "LMDPLearnResult", "lmdp_hindsight", "HindsightLearner", "run_lmdp_learner",
           "markov_policy_value"]
