"""Test helpers for users' own tests: hypothesis strategies for tabular MDPs (:mod:`.strategies`) and brute-force
oracles that share no code with the solvers they check (:mod:`.lmdp_oracles`).

Example::

    from hypothesis import given
    from rltheory.testing import tabular_mdps
    from rltheory.solvers import solve

    @given(tabular_mdps(max_states=6, discounted=True))
    def test_my_planner(mdp):
        assert abs(my_planner(mdp) - solve(mdp).V).max() < 1e-8
"""
from .lmdp_oracles import brute_force_value, evaluate_history_policy
from .strategies import malformed_mdp_inputs, policies, reward_arrays, tabular_mdps, transition_kernels

__all__ = ["tabular_mdps", "policies", "reward_arrays", "malformed_mdp_inputs", "transition_kernels",
           "evaluate_history_policy", "brute_force_value"]
