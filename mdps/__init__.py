"""Importable MDP constructors: classic instances and the hard instances of the papers rltheory covers.

Every constructor validates its parameters (a bad one raises ``TypeError`` or ``ValueError`` naming it). They do
not share one signature: some take ``horizon=`` or ``gamma=`` as keywords (with the default given below), some
take ``horizon`` positionally, some fix the horizon themselves; and they return different types. The list below
gives each one's signature (required parameters without a default) and what it returns. ``seed`` is an int in
``[0, 2**63 - 1]`` or a ``numpy.random.Generator`` (whose stream then advances), except for the three suites
(``eh_suite``, ``eh_suite_fixed_horizon``, ``stochastic_suite``), which take an int; it is required where it
has no default.

Classic and tabular instances

* ``chain(S, *, horizon=None, gamma=None, ...)`` -> ``TabularMDP``
* ``garnet(S, A, branching, *, seed, horizon=None, gamma=None, ...)`` -> ``TabularMDP``
* ``random_mdp(S, A, *, seed, horizon=None, gamma=None, ...)`` -> ``TabularMDP``
* ``riverswim(S=6, *, horizon=None, gamma=None, ...)`` -> ``TabularMDP``
* ``gridworld(ascii_map, *, horizon=None, gamma=None, ...)`` -> ``TabularMDP``
* ``gridworld_layout(ascii_map)`` -> ``GridLayout`` (the cells and moves of a map, no MDP)
* ``from_gymnasium(env, *, horizon=None, gamma=None)`` -> ``TabularMDP``
* ``load_bridge(path, *, horizon)`` -> ``TabularMDP``
* ``bandit_mdp(A, gap, *, horizon, ...)`` -> ``TabularMDP``
* ``k_dependent_gap(K, A, *, c=0.5)`` -> ``float`` (the gap of the K-dependent lower-bound family)

Effective-horizon suite (Laidlaw et al. 2023)

* ``random_deterministic(S, A, *, horizon, seed, ...)`` -> ``TabularMDP``
* ``distractor_chain(length, *, horizon, ...)`` -> ``TabularMDP``
* ``key_door(ascii_map, *, horizon)`` -> ``TabularMDP``
* ``sticky_actions(mdp, *, p=0.25)`` -> ``TabularMDP``
* ``eh_suite.eh_suite(*, quick=True, seed=0)`` -> ``list`` of ``(name, TabularMDP)`` (from the submodule
  ``mdps.eh_suite``, which the package does not hide behind the function)
* ``eh_suite_fixed_horizon(*, seed=0)`` -> ``list`` of ``(name, TabularMDP)``
* ``stochastic_suite(*, quick=True, seed=0, p=0.25)`` -> ``list`` of ``(name, TabularMDP)``

Submodular coverage and the orienteering reduction (Prajapat et al. 2024)

* ``choice_coverage(n, *, horizon, seed, ...)`` -> ``SubmodularMDP``
* ``lure_coverage(n, *, horizon, ...)`` -> ``SubmodularMDP``
* ``tight_coverage(k, *, eps=0.001)`` -> ``SubmodularMDP``
* ``coverage_gridworld(ascii_map, *, horizon, seed=None, ...)`` -> ``SubmodularMDP``
* ``informative_path(rows=3, cols=4, *, horizon, ...)`` -> ``SubmodularMDP``
* ``deceptive_chain(n)`` -> ``SubmodularMDP``
* ``memory_hub(n=2)`` -> ``SubmodularMDP``
* ``orienteering_instance(succ, covers, weights=None, *, root=0, budget)`` -> ``OrienteeringInstance``
* ``random_group_orienteering(n=8, *, budget=4, seed, ...)`` -> ``OrienteeringInstance``
* ``orienteering_lure(k, *, seed=None, eps=0.01)`` -> ``OrienteeringInstance``
* ``orienteering_subrl(inst)`` -> ``SubmodularMDP``

Latent MDPs (Zhou et al. 2023)

* ``lmdp_identify_then_bandit(M, n_leaves, A, *, horizon, gap, seed=0, ...)`` -> ``LatentMDP``
* ``lmdp_probe(M, S, A, *, horizon, seed=0, ...)`` -> ``LatentMDP``
* ``lmdp_deterministic(M, S, A, *, horizon, seed=0)`` -> ``LatentMDP``
* ``random_lmdp(M, S, A, *, horizon, Gamma, seed=0)`` -> ``LatentMDP``
* ``lmdp_horizon_chain(M, n_chain, *, horizon, seed=0, ...)`` -> ``LatentMDP``
* ``lmdp_k_dependent_gap(K, M, n_leaves, A, *, c=0.5, cap=0.25)`` -> ``float``

Linear mixture MDPs (Zhang et al. 2023); ``horizon`` is positional here

* ``hard_linear_mixture_rfe(d, horizon, *, K=None, seed=0, gap=None, ...)`` -> ``LinearMixtureMDP``
* ``lock_linear_mixture_rfe(d, lock, horizon, *, gap, seed=0, ...)`` -> ``LinearMixtureMDP``
* ``random_linear_mixture(S, A, d, horizon, *, seed=0, ...)`` -> ``LinearMixtureMDP``
* ``misspecified_linear_mixture(S, A, d, horizon, rho, *, seed=0, ...)`` -> ``tuple`` of two ``LinearMixtureMDP``
  (the model class's MDP and the misspecified one)
* ``linear_mixture_riverswim(S, horizon, *, p=0.7)`` -> ``LinearMixtureMDP``
* ``hard_rfe_gap(K, *, delta0=1/6)`` -> ``float``

RCSL and Bellman completeness (Zhou et al. 2024; Tsitsiklis & Van Roy 1997; Baird 1995)

* ``separating_family(n, *, seed=0, horizon=2)`` -> ``TabularMDP``
* ``realizable_scramble(n, *, gamma=0.9, seed=0)`` -> ``TabularMDP``
* ``stitching_gridworld(*, horizon=8, slip=0.0)`` -> ``TabularMDP``
* ``tsitsiklis_van_roy(*, gamma=0.9)`` -> ``LinearExample`` (``mdp``, features ``Phi``, data weights ``mu``,
  ``policy``)
* ``bairds_star(*, gamma=0.99)`` -> ``LinearExample``
* ``separating_features(n)`` -> ``tuple`` of two ``ndarray`` (state and state-action features)
* ``separating_witness(n)`` -> ``ndarray``
* ``stitching_behaviours(*, eps=0.3)`` -> ``list`` of ``ndarray`` (behaviour policies)

``...`` stands for further keyword parameters with defaults; each constructor's docstring lists them.
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
# the suite function eh_suite stays in its module: exported here under the same name it would hide the submodule
# (``import mdps.eh_suite as m`` would give the function, and ``mdps.eh_suite.stochastic_suite`` would fail)
from .eh_suite import (distractor_chain, eh_suite_fixed_horizon, key_door,  # noqa: E402
                       random_deterministic, sticky_actions, stochastic_suite)
__all__ += ["distractor_chain", "eh_suite_fixed_horizon", "key_door", "random_deterministic",
            "sticky_actions", "stochastic_suite"]
from .submodular import (choice_coverage, coverage_gridworld, deceptive_chain, informative_path,  # noqa: E402
                         lure_coverage, memory_hub, orienteering_instance, orienteering_lure, orienteering_subrl,
                         random_group_orienteering, tight_coverage)
__all__ += ["choice_coverage", "coverage_gridworld", "deceptive_chain", "informative_path", "lure_coverage",
            "memory_hub", "orienteering_instance", "orienteering_lure", "orienteering_subrl",
            "random_group_orienteering", "tight_coverage"]
