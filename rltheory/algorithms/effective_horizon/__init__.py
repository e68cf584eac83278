"""The effective-horizon papers (Laidlaw, Russell & Dragan, NeurIPS 2023; Laidlaw, Zhu, Russell & Dragan, ICLR 2024).

Algorithms GORP (:mod:`.gorp`) and SQIRL (:mod:`.sqirl`); exact analyses of deterministic MDPs (:mod:`.analysis`)
and their stochastic reconstruction (:mod:`.stochastic_analysis`); the Appendix C bound (:mod:`.gorp_tight_bound`);
empirical sample complexities (:mod:`.sample_complexity`, searches in :mod:`.search`).
"""
from .analysis import analyze, epw, min_k, simple_effective_horizon
from .gorp import GORPResult, gorp, gorp_sample_complexity
from .gorp_tight_bound import tight_gorp_bound
from .sqirl import LinearRegressor, SQIRLResult, sqirl, sqirl_sample_complexity

__all__ = ["GORPResult", "gorp", "gorp_sample_complexity", "LinearRegressor", "SQIRLResult", "sqirl",
           "sqirl_sample_complexity", "analyze", "epw", "min_k", "simple_effective_horizon", "tight_gorp_bound"]
