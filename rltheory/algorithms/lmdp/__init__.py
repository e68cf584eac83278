"""Regret minimisation in latent MDPs with context in hindsight (Zhou, Wang & Du, ICML 2023): the model-based
framework with a value-optimistic or model-optimistic solver, and an L-UCRL-like Hoeffding baseline; the
``lmdp_hindsight`` learner protocol (:mod:`.protocol`) runs any learner against a true LMDP with exact regret;
problem quantities (``Gamma``, ``Var*`` candidates, regret of a plan sequence) in :mod:`.analysis`."""
from .analysis import VAR_CANDIDATES, lmdp_regret, transition_degree, var_star
from .hindsight import SOLVERS, LMDPLearnResult, lmdp_hindsight
from .protocol import HindsightLearner, markov_policy_value, run_lmdp_learner

__all__ = ["SOLVERS", "LMDPLearnResult", "lmdp_hindsight", "HindsightLearner", "run_lmdp_learner",
           "markov_policy_value", "VAR_CANDIDATES", "lmdp_regret", "transition_degree", "var_star"]
