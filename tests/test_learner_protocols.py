"""The learner protocols and invariants of the proof_steps, submodular_rl, rcsl_bellman and effective_horizon
checks (fast: single instances; the mutant catalogues run in tests/test_mutants.py, slow tier)."""
import numpy as np
import pytest

import mdps
from mdps.eh_suite import random_deterministic
from mdps.submodular import memory_hub
from proofs_checks import _invariants
from proofs_checks._invariants import certified_optimum
from proofs_checks._set_function import run_set_function_learner
from proofs_checks.effective_horizon.claims import _gorp_plan_value, gorp_episodes
from proofs_checks.proof_steps.claims import elliptical_sum
from proofs_checks.rcsl_bellman.claims import rcsl_target_run
from rltheory.solvers import solve
from rltheory.solvers.api import SolveResult


def test_certified_optimum_accepts_the_solver_and_flags_a_suboptimal_one(monkeypatch):
    mdp = random_deterministic(6, 3, horizon=5, seed=1, reward_density=0.5)
    v_star, err, problems = certified_optimum(mdp)
    assert problems == [] and err <= 1e-9
    assert v_star == pytest.approx(float(mdp.mu0 @ solve(mdp).V[0]))

    def slightly_suboptimal(m):
        r = solve(m)
        Q = r.Q.copy()
        h, s = 0, int(np.argmax(m.mu0))
        Q[h, s, r.policy[h, s]] -= 1.0  # forget the best first action
        pol = r.policy.copy()
        pol[h, s] = int(np.argmax(Q[h, s]))
        V = r.V.copy()
        V[h, s] = Q[h, s].max()
        return SolveResult(V, Q, pol, 0.0, 1, "backward_induction")

    monkeypatch.setattr(_invariants, "solve", slightly_suboptimal)
    vbad, err, problems = certified_optimum(mdp)
    assert vbad < v_star - 1e-9  # the first action matters on this instance
    assert problems and err > 1e-9


def test_elliptical_reference_is_exact_and_off_by_one_is_not():
    ref = elliptical_sum(20, 0)
    assert ref["step_gap"] < 1e-12 and ref["sandwich_violation"] == 0.0 and ref["sum"] <= ref["bound"]
    bad = elliptical_sum(20, 0, fn="proofs_checks.proof_steps.mutants:off_by_one")
    assert bad["step_gap"] > 0.1 and bad["sandwich_violation"] > 0.1


def test_set_function_harness_runs_the_reference_and_rejects_bad_probabilities():
    sm = memory_hub(2)
    v = run_set_function_learner(sm, "proofs_checks._set_function:subpo_learner", n_iters=40, batch=32, seed=0)
    assert 0.0 < v <= 2.0 + 1e-9
    with pytest.raises(ValueError, match="^learner"):
        run_set_function_learner(sm, "tests.test_learner_protocols:_bad_learner", n_iters=1, batch=4, seed=0)


class _Bad:
    def act(self, h, states, visited):
        return np.ones((len(states), 2))

    def update(self, *args):
        pass


def _bad_learner(S, A, H, seed):
    return _Bad()


def test_rcsl_reference_hits_every_target_and_no_decrement_misses():
    assert rcsl_target_run(6, "rcsl", 0)["gap"] < 1e-7
    assert rcsl_target_run(6, "proofs_checks.rcsl_bellman.mutants:rtg_not_decremented", 0)["gap"] > 0.05


def test_gorp_protocol_counts_episodes_like_the_builtin():
    _, mdp = mdps.eh_suite.eh_suite(quick=True)[0]
    v_ref, ep_ref = _gorp_plan_value(mdp, None, 1, 4, 0)
    assert ep_ref == gorp_episodes(mdp.horizon, mdp.A, 1, 4)
    from proofs_checks.effective_horizon.mutants import m_quarter

    _, ep = _gorp_plan_value(mdp, m_quarter, 1, 4, 0)
    assert ep == gorp_episodes(mdp.horizon, mdp.A, 1, 1)


def test_stochastic_fork_separates_the_exact_and_the_no_minus_pi_flow():
    # the instance of subpo_stochastic_outcomes that detects a biased score: the expected update without the -pi
    # term settles at a stochastic policy below the threshold, the exact policy-gradient flow reaches it
    from proofs_checks.submodular_rl.claims import mean_flow_ratio
    from proofs_checks.submodular_rl.settings import NEAR_OPT

    exact = mean_flow_ratio(1, False, 0, n_iters=1500)["ratio"]
    biased = mean_flow_ratio(1, True, 0, n_iters=1500)["ratio"]
    assert NEAR_OPT < exact <= 1.0 + 1e-9
    assert biased < NEAR_OPT - 0.05


def test_set_function_unbiased_variants_match_the_reference_on_one_context():
    # a single context per step (baseline = V(x)): scalar baseline and episode credit change nothing in the mean;
    # here (one decision, the gamble) they coincide with the reference step for step
    from proofs_checks.submodular_rl.claims import gamble
    from proofs_checks.submodular_rl.mutants import episode_return_credit, scalar_baseline  # noqa: F401

    sm = gamble(0.2)
    ref = run_set_function_learner(sm, "proofs_checks._set_function:subpo_learner", n_iters=30, batch=32, seed=1)
    for spec in ("proofs_checks.submodular_rl.mutants:episode_return_credit",
                 "proofs_checks.submodular_rl.mutants:scalar_baseline"):
        assert run_set_function_learner(sm, spec, n_iters=30, batch=32, seed=1) == pytest.approx(ref, rel=1e-12)


def _float_plan_gorp(nxt, R, T, k, m, seed):
    return np.zeros(T), m * sum(nxt.shape[1] ** min(k, T - t) for t in range(T))


def test_gorp_protocol_names_the_dtype_of_a_float_plan():
    _, mdp = mdps.eh_suite.eh_suite(quick=True)[0]
    with pytest.raises(TypeError, match=r"^learner: expected a plan of integer actions, got dtype float64"):
        _gorp_plan_value(mdp, _float_plan_gorp, 1, 1, 0)


def test_gorp_new_mutants_differ_from_the_reference_on_one_run():
    from proofs_checks.effective_horizon.claims import reference_gorp
    from proofs_checks.effective_horizon.mutants import discounted_0_9, max_not_mean, other_random_stream, \
        tail_one_extra

    _, mdp = mdps.eh_suite.eh_suite(quick=True)[3]
    from rltheory.algorithms.effective_horizon.analysis import deterministic_arrays

    nxt, R, T = deterministic_arrays(mdp)
    ref_plans = [tuple(reference_gorp(nxt, R, T, 1, 8, s)[0]) for s in range(8)]
    for fn in (max_not_mean, discounted_0_9, tail_one_extra, other_random_stream):
        plans = [fn(nxt, R, T, 1, 8, s) for s in range(8)]
        assert all(ep == gorp_episodes(T, mdp.A, 1, 8) for _, ep in plans)  # honest accounting: not what kills them
        assert [tuple(p) for p, _ in plans] != ref_plans
