"""Importable MDP constructors: classic instances and the hard instances of the papers rltheory covers.

Every constructor validates its parameters, takes ``horizon=`` or ``gamma=`` (with a documented default)
and, when random, a ``seed`` (int or ``numpy.random.Generator``); it returns a :class:`rltheory.TabularMDP`.
"""
from .classic import chain, garnet, random_mdp, riverswim
from .external import from_gymnasium, load_bridge
from .gridworld import gridworld, gridworld_layout
from .hard_tabular import bandit_mdp, k_dependent_gap

__all__ = ["chain", "garnet", "random_mdp", "riverswim", "from_gymnasium", "load_bridge", "gridworld",
           "gridworld_layout", "bandit_mdp", "k_dependent_gap"]
from .lmdp import lmdp_horizon_chain, lmdp_deterministic, lmdp_identify_then_bandit, lmdp_k_dependent_gap, lmdp_probe, random_lmdp  # noqa: E402
__all__ += ["lmdp_horizon_chain", "lmdp_deterministic", "lmdp_identify_then_bandit", "lmdp_k_dependent_gap", "lmdp_probe", "random_lmdp"]
from .rcsl import (bairds_star, separating_family, separating_features, separating_witness, stitching_behaviours,
                   stitching_gridworld, tsitsiklis_van_roy)

__all__ += ["bairds_star", "separating_family", "separating_features", "separating_witness", "stitching_behaviours",
            "stitching_gridworld", "tsitsiklis_van_roy"]
from .rcsl import realizable_scramble  # noqa: E402
__all__ += ["realizable_scramble"]
from .linear_mixture import (hard_linear_mixture_rfe, hard_rfe_gap, linear_mixture_riverswim,  # noqa: E402
                             lock_linear_mixture_rfe, misspecified_linear_mixture, random_linear_mixture)
__all__ += ["hard_linear_mixture_rfe", "hard_rfe_gap", "linear_mixture_riverswim", "lock_linear_mixture_rfe",
            "misspecified_linear_mixture", "random_linear_mixture"]
