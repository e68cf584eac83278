"""Latent MDPs: model validation, exact belief-DP vs brute force, evaluation, learners, constructors, check."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rltheory import LatentMDP
from rltheory.solvers import solve
from rltheory.solvers.lmdp import (
    evaluate_plan,
    plan_alpha,
    return_moments,
    solve_lmdp,
)
from rltheory.testing import brute_force_value, evaluate_history_policy


def random_lmdp(M, S, A, H, seed, Gamma=None, reward_levels=3, shared_rewards=False):
    rng = np.random.default_rng(seed)
    G = S if Gamma is None else Gamma
    P = np.zeros((M, S, A, S))
    for m in range(M):
        for s in range(S):
            for a in range(A):
                k = int(rng.integers(1, G + 1))
                sup = rng.choice(S, k, replace=False)
                P[m, s, a, sup] = rng.dirichlet(np.ones(k))
    R = rng.integers(0, reward_levels, (1 if shared_rewards else M, S, A)) / (reward_levels - 1) / H
    R = np.repeat(R, M, 0) if shared_rewards else R
    return LatentMDP(P, R, rng.dirichlet(np.ones(M)), rng.dirichlet(np.ones(S), size=M), horizon=H)


def expectimax_history(lmdp):
    """Reference V*: max over history-dependent policies by recursion over raw histories (no belief merging);
    joint weights w_m nu_m(s_1) prod P_m are carried unnormalised, one entry per context."""
    M, S, A, H = lmdp.M, lmdp.S, lmdp.A, lmdp.horizon
    P, R = lmdp.P, lmdp.R

    def rec(h, s, wts):
        best = -np.inf
        for a in range(A):
            tot = float(wts @ R[:, s, a])
            if h < H - 1:
                obs = {}
                for m in range(M):
                    if wts[m] <= 0:
                        continue
                    for sp in np.flatnonzero(P[m, s, a] > 0):
                        key = (float(R[m, s, a]), int(sp))
                        obs.setdefault(key, np.zeros(M))[m] = wts[m] * P[m, s, a, sp]
                tot += sum(rec(h + 1, sp, w2) for (_, sp), w2 in obs.items())
            best = max(best, tot)
        return best

    return sum(rec(0, s, lmdp.weights * lmdp.mu0[:, s]) for s in range(S) if lmdp.mu0[:, s].max() > 0)


# ------------------------------------------------------------------------------------------------ model


def test_validation_names_fields():
    P = np.zeros((2, 2, 1, 2))
    P[..., 0] = 1.0
    R = np.zeros((2, 2, 1))
    LatentMDP(P, R, [0.5, 0.5], [1.0, 0.0], horizon=2)
    bad = P.copy()
    bad[1, 0, 0, 0] = 0.5
    with pytest.raises(ValueError, match=r"m=1, s=0, a=0"):
        LatentMDP(bad, R, [0.5, 0.5], [1.0, 0.0], horizon=2)
    with pytest.raises(ValueError, match="weights"):
        LatentMDP(P, R, [1.0, 0.0], [1.0, 0.0], horizon=2)
    with pytest.raises(ValueError, match=r"R: reward at \(m=0, s=1, a=0\)"):
        R2 = R.copy()
        R2[0, 1, 0] = 1.5
        LatentMDP(P, R2, [0.5, 0.5], [1.0, 0.0], horizon=2)
    with pytest.raises(ValueError, match="mu0"):
        LatentMDP(P, R, [0.5, 0.5], [[1.0, 0.0], [0.5, 0.4]], horizon=2)
    assert LatentMDP(P, R, [0.5, 0.5], [1.0, 0.0], horizon=2.0).horizon == 2  # integral floats are accepted
    with pytest.raises(ValueError, match="horizon: must be a whole number"):
        LatentMDP(P, R, [0.5, 0.5], [1.0, 0.0], horizon=2.5)
    with pytest.raises(TypeError, match="horizon"):
        LatentMDP(P, R, [0.5, 0.5], [1.0, 0.0], horizon="2")
    L = LatentMDP(P, R, [0.5, 0.5], [1.0, 0.0], horizon=2)
    assert L.Gamma == 1 and L.context(1).S == 2
    with pytest.raises(AttributeError):
        L._H = 3


def test_simulator_reveals_context_and_follows_model():
    L = random_lmdp(2, 3, 2, 4, 0)
    ctx = [L.simulate(lambda h, s, a, r: h % 2, seed=i).context for i in range(400)]
    assert abs(np.mean(ctx) - L.weights[1]) < 0.1
    ep = L.simulate(lambda h, s, a, r: 0, seed=3)
    assert ep.states.shape == (5,) and np.allclose(ep.rewards, L.R[ep.context, ep.states[:-1], 0])


# ----------------------------------------------------------------------------------------------- solver


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.integers(0, 2**32 - 1))
def test_belief_dp_matches_brute_force_over_all_policies(M, S, A, H, seed):
    L = random_lmdp(M, S, A, H, seed)
    assert solve_lmdp(L).value == pytest.approx(brute_force_value(L), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.booleans())
def test_belief_dp_matches_history_expectimax_and_evaluation(M, S, A, H, seed, shared):
    L = random_lmdp(M, S, A, H, seed, shared_rewards=shared)
    plan = solve_lmdp(L)
    assert plan.value == pytest.approx(expectimax_history(L), abs=1e-10)
    v, vm, off = evaluate_plan(L, plan)
    assert v == pytest.approx(plan.value, abs=1e-10) and np.all(off == 0)
    assert v == pytest.approx(float(L.weights @ vm), abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_single_context_equals_tabular_solver(S, A, H, seed):
    L = random_lmdp(1, S, A, H, seed)
    mdp = L.context(0)
    assert solve_lmdp(L).value == pytest.approx(float(mdp.mu0 @ solve(mdp).V[0]), abs=1e-10)


def test_history_policy_evaluation_and_alpha_vectors():
    L = random_lmdp(2, 3, 2, 3, 7)
    plan = solve_lmdp(L)
    # the plan as a history-dependent callable: replay beliefs through the node graph
    def pol(h, states, actions, rewards):
        i = plan.root[states[0]]
        for t in range(h):
            a = plan.policy[i]
            e0, e1 = plan.edge_ptr[i * L.A + a], plan.edge_ptr[i * L.A + a + 1]
            i = next(plan.edge_child[e] for e in range(e0, e1)
                     if plan.edge_sp[e] == states[t + 1] and plan.edge_r[e] == rewards[t])
        return int(plan.policy[i])
    v, alpha = evaluate_history_policy(L, pol)
    assert v == pytest.approx(plan.value, abs=1e-12)
    assert np.allclose(alpha, plan_alpha(L, plan))
    # a fixed open-loop policy is worse or equal
    v0, _ = evaluate_history_policy(L, lambda h, s, a, r: 0)
    assert v0 <= plan.value + 1e-12


def test_max_nodes_guard_raises_instead_of_hanging():
    L = random_lmdp(4, 5, 3, 10, 1, Gamma=3, shared_rewards=True)
    with pytest.raises(ValueError, match="max_nodes"):
        solve_lmdp(L, max_nodes=200)


def test_variance_candidates_vanish_on_deterministic_lmdp():
    L = random_lmdp(3, 4, 2, 5, 2, Gamma=1)
    mom = return_moments(L, solve_lmdp(L))
    assert mom["var_within"] == pytest.approx(0.0, abs=1e-12)
    L2 = random_lmdp(3, 4, 2, 5, 2)
    mom2 = return_moments(L2, solve_lmdp(L2))
    assert mom2["var_total"] >= mom2["var_within"] - 1e-12


# ------------------------------------------------------------------------------------------ constructors

import mdps  # noqa: E402
from proofs_checks.lmdp_regret.bounds import LMDP_REGRET_LOWER, LMDP_REGRET_LUCRL, LMDP_REGRET_UPPER  # noqa: E402
from rltheory.algorithms.lmdp import lmdp_hindsight  # noqa: E402
from rltheory.algorithms.lmdp.analysis import lmdp_regret, transition_degree, var_star  # noqa: E402
from rltheory.solvers.lmdp import plan_lmdp  # noqa: E402


@pytest.mark.parametrize("M,leaves,A", [(1, 1, 2), (2, 2, 3), (3, 4, 2)])
def test_identify_then_bandit_structure(M, leaves, A):
    L = mdps.lmdp_identify_then_bandit(M, leaves, A, horizon=12, gap=0.2, v=0.8, safe=0.3, seed=1)
    assert L.Gamma == 2 and L.max_return == pytest.approx(0.8)
    plan = solve_lmdp(L)
    # after identification every belief is one-hot
    sl = slice(plan.layer_ptr[-2], None)
    late = plan.node_b[sl][plan.node_s[sl] != L.S - 1]  # the safe exit (last state) never identifies the context
    assert np.all(np.isclose(late.max(axis=1), 1.0))
    assert plan.value == pytest.approx(0.8 * (0.5 + 0.2) * 1.0)
    with pytest.raises(ValueError, match="n_leaves"):
        mdps.lmdp_identify_then_bandit(2, 3, 2, horizon=12, gap=0.1)
    with pytest.raises(ValueError, match="horizon"):
        mdps.lmdp_identify_then_bandit(4, 4, 2, horizon=4, gap=0.1)


def test_other_families():
    P = mdps.lmdp_probe(3, 5, 2, horizon=6, eta=0.1, seed=0)
    assert P.Gamma == 2 and P.max_return <= 1 + 1e-12
    plan = solve_lmdp(P)
    assert plan.beliefs_per_step().max() > 1  # genuinely partially observable
    D = mdps.lmdp_deterministic(3, 4, 2, horizon=5, seed=0)
    assert D.Gamma == 1 and var_star(D) == pytest.approx(0.0, abs=1e-12)
    for G in (1, 2, 4):
        assert transition_degree(mdps.random_lmdp(2, 5, 2, horizon=3, Gamma=G, seed=G)) == G
    C = mdps.lmdp_horizon_chain(2, 4, horizon=16, gap=0.2)
    assert solve_lmdp(C).value == pytest.approx(0.5) and C.max_return <= 1 + 1e-12
    assert mdps.lmdp_k_dependent_gap(10**6, 2, 2, 2) < mdps.lmdp_k_dependent_gap(10**3, 2, 2, 2) <= 0.25


def test_var_star_candidates_differ_by_context_randomness():
    # two deterministic contexts with different returns: within-context variance 0, total variance > 0
    L = mdps.lmdp_deterministic(2, 3, 2, horizon=4, seed=5)
    assert var_star(L, candidate="within") == pytest.approx(0.0, abs=1e-12)
    assert var_star(L, candidate="total") >= 0.0
    itb = mdps.lmdp_identify_then_bandit(2, 1, 2, horizon=8, gap=0.0, v=1.0)
    assert var_star(itb, candidate="within") == pytest.approx(0.25)  # Bernoulli(1/2) outcome of value 1
    with pytest.raises(ValueError, match="candidate"):
        var_star(itb, candidate="other")


# ------------------------------------------------------------------------------------------- learners


@pytest.mark.parametrize("solver", ["value", "model", "hoeffding", "none"])
def test_learner_runs_reproducibly_and_regret_is_exact(solver):
    L = mdps.lmdp_identify_then_bandit(2, 2, 2, horizon=8, gap=0.1, safe=0.25, seed=0)
    a = lmdp_hindsight(L, 600, seed=3, solver=solver, c1=0.5, c2=0.05, Gamma=2)
    b = lmdp_hindsight(L, 600, seed=3, solver=solver, c1=0.5, c2=0.05, Gamma=2)
    assert np.array_equal(a.returns, b.returns) and np.array_equal(a.regret, b.regret)
    assert np.all(a.regret >= 0) and a.regret.shape == (600,)
    assert a.epoch_start[0] == 0 and np.all(np.diff(a.epoch_start) > 0)
    # each epoch's regret equals V* minus the exact value of its policy
    for e, k in enumerate(a.epoch_start):
        assert a.regret[k] == pytest.approx(max(a.v_star - a.epoch_true_value[e], 0.0))
    # mean realised return tracks the exact policy values (law of large numbers, loose)
    assert abs(a.returns.mean() - (a.v_star - a.regret.mean())) < 0.1


def test_learner_sqrtK_vs_greedy_linear():
    L = mdps.lmdp_identify_then_bandit(2, 2, 2, horizon=8, gap=0.2, safe=0.25, seed=0)
    opt = lmdp_hindsight(L, 4000, seed=0, c1=0.5, c2=0.05, Gamma=2)
    greedy = lmdp_hindsight(L, 4000, seed=0, solver="none")
    assert opt.cumulative_regret[-1] < 0.25 * greedy.cumulative_regret[-1]
    assert greedy.regret[-1] > 0.1  # stuck on the safe exit


def test_learner_input_validation():
    L = mdps.lmdp_deterministic(2, 3, 2, horizon=3)
    with pytest.raises(ValueError, match="solver"):
        lmdp_hindsight(L, 10, seed=0, solver="ucb")
    with pytest.raises(ValueError, match="K"):
        lmdp_hindsight(L, 0, seed=0)
    with pytest.raises(ValueError, match="seed"):
        lmdp_hindsight(L, 10, seed=-1)
    with pytest.raises(TypeError, match="lmdp"):
        lmdp_hindsight(L.context(0), 10, seed=0)


def test_optimistic_plan_dominates_exact_and_regret_helper():
    L = mdps.lmdp_probe(2, 4, 2, horizon=5, eta=0.1, seed=0)
    exact = solve_lmdp(L)
    belief = L.weights[:, None] * L.mu0
    counts = np.full((L.M, L.S, L.A), 50.0)
    opt = plan_lmdp(L.P, L.R, belief, L.horizon, counts=counts, backup="bernstein", c1=1.0, c2=1.0, iota=2.0,
                    Gamma=2, vmax=np.minimum(1.0, L.horizon - np.arange(L.horizon + 1.0)))
    assert opt.value >= exact.value - 1e-12
    mo = plan_lmdp(L.P, L.R, belief, L.horizon, counts=counts, backup="model", c1=1.0, c2=1.0, iota=2.0, Gamma=2,
                   vmax=np.minimum(1.0, L.horizon - np.arange(L.horizon + 1.0)))
    assert mo.value >= exact.value - 1e-12
    reg = lmdp_regret(L, [exact, opt])
    assert reg[0] == pytest.approx(0.0, abs=1e-12) and reg[1] >= -1e-12


def test_bounds_have_their_exponents():
    up, lo = LMDP_REGRET_UPPER, LMDP_REGRET_LOWER
    for v in ("Var", "M", "S", "A", "K"):
        assert up.exponent(v) == 0.5 and lo.exponent(v) == 0.5
    assert up.exponent("Gamma") == 0.5 and up.exponent("H") == 0  # horizon-free up to the log factor
    assert LMDP_REGRET_LUCRL.exponent("H") == 0.5


def test_check_is_discovered_and_controls_are_wired():
    from proofs_checks import registry

    chk = registry()["lmdp_regret"]
    assert {c.name for c in chk.claims} >= {"sqrtK_upper", "deterministic_flat", "horizon_free", "optimism"}


def _plan_as_callable(plan, A):
    """The plan as a history-dependent policy: walk the node graph, fall back to the Markov policy off the plan."""
    def pol(h, states, actions, rewards):
        i = plan.root[states[0]]
        for t in range(h):
            if i < 0:
                break
            a = plan.policy[i]
            e0, e1 = plan.edge_ptr[i * A + a], plan.edge_ptr[i * A + a + 1]
            i = next((plan.edge_child[e] for e in range(e0, e1)
                      if plan.edge_sp[e] == states[t + 1] and plan.edge_r[e] == rewards[t]), -1)
        return int(plan.policy[i]) if i >= 0 else int(plan.fallback[h, states[-1]])
    return pol


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(2, 4), st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.sampled_from(["bernstein", "model", "hoeffding", "none"]))
def test_partial_model_plan_evaluation_is_exact_off_plan_too(M, S, A, H, seed, backup):
    L = random_lmdp(M, S, A, H, seed)
    rng = np.random.default_rng(seed)
    known = rng.random((M, S, A)) < 0.6
    counts = np.where(known, rng.integers(1, 20, (M, S, A)), 0).astype(float)
    Phat = np.where(known[..., None], L.P, 0.0)
    Phat[..., 0] += np.where(known, 0.0, 1.0)  # arbitrary rows where unknown (ignored by the planner)
    belief = rng.dirichlet(np.ones(M))[:, None] * rng.dirichlet(np.ones(S), size=M)
    belief[:, 0] = 0.0  # initial state 0 off the plan
    plan = plan_lmdp(Phat, L.R, belief, H, known=known, counts=counts, backup=backup, c1=0.5, c2=0.1, iota=3.0,
                     vmax=np.minimum(1.0, (H - np.arange(H + 1.0)) * max(L.R.max(), 1e-9)))
    v, vm, off = evaluate_plan(L, plan)
    v_ref, _ = evaluate_history_policy(L, _plan_as_callable(plan, L.A))
    assert v == pytest.approx(v_ref, abs=1e-10)
    assert np.all((off >= -1e-12) & (off <= 1 + 1e-12))


def test_itb_coef_differencing_and_dimension_claims_wired():
    from proofs_checks.lmdp_regret import claims as lr
    from proofs_checks import registry

    a = lr.itb_coef(2, 2, 4, 100, "k_dependent", seed=3)
    b = lr.itb_coef(2, 2, 4, 100, "k_dependent", seed=3)
    assert a == b  # same seed: same instances, same learner randomness
    # the fit R(k) = coef sqrt(k) + burn_in over k = 100, 200, 400, 800 reproduces the end points' runs
    ks = 100 * np.array([1, 2, 4, 8])
    regs = []
    for k in ks:
        L = mdps.lmdp_identify_then_bandit(2, 2, 4, horizon=8, gap=mdps.lmdp_k_dependent_gap(int(k), 2, 2, 4, c=0.5),
                                           safe=0.25, seed=3)
        regs.append(lmdp_hindsight(L, int(k), seed=3, c1=lr.C1, c2=lr.C2, Gamma=2).cumulative_regret[-1])
    assert (a["regret_K"], a["regret_8K"]) == pytest.approx((regs[0], regs[-1]))
    fit = np.polyfit(np.sqrt(ks), regs, 1)
    assert (a["coef"], a["burn_in"]) == pytest.approx(tuple(fit))
    assert a["coef_norm"] == pytest.approx(a["coef"] / (1 - 1 / 4))
    assert a["S"] == L.S
    # an exact a sqrt(k) + g curve is recovered by the same fit (the burn-in constant is free)
    assert np.polyfit(np.sqrt(ks), 3.0 * np.sqrt(ks) + 7.0, 1) == pytest.approx([3.0, 7.0])
    with pytest.raises(ValueError, match="gap"):
        lr.itb_coef(2, 2, 2, 100, 0.7, seed=0)
    names = {c.name for c in registry()["lmdp_regret"].claims}
    assert {"sqrtM", "sqrtS", "sqrtA"} <= names


def test_uniform_arm_coefficient_and_lower_bound():
    from proofs_checks.lmdp_regret import claims as lr

    # V* = 1/2 + gap (the basis of the uniform-arm policy's per-episode regret gap (1 - 1/A))
    L = mdps.lmdp_identify_then_bandit(2, 2, 4, horizon=8, gap=0.3, safe=0.25, seed=0)
    assert solve_lmdp(L).value == pytest.approx(0.8)
    # uniform-arm policy: coefficient exactly c (1 - 1/A) sqrt(M L A) when the cap does not bind
    for M, L, A in ((1, 2, 2), (2, 4, 2), (2, 2, 8)):
        u = lr.uniform_arm_coef(M, L, A, 1000, c=2.0, cap=0.5)
        assert u["coef"] == pytest.approx(2.0 * (1 - 1 / A) * np.sqrt(M * L * A))
        assert u["coef_norm"] == pytest.approx(2.0 * np.sqrt(M * L * A))
    # the lower bound is about c (1 - 1/A - c) sqrt(M L A K), vacuous at c = 0.5, A = 2
    for K in (2000, 32000):
        lb = lr.itb_lower_bound(K, 2, 2, 2, 0.25 * np.sqrt(8 / K))
        assert lb == pytest.approx(0.25 * 0.25 * np.sqrt(8 * K), rel=0.02)
        assert lr.itb_lower_bound(K, 2, 2, 2, 0.5 * np.sqrt(8 / K)) < 0.05 * lb  # binomial spread only
    # and below the uniform-arm policy's exact regret (a lower bound for every policy)
    assert lr.itb_lower_bound(4000, 2, 2, 4, 0.25 * np.sqrt(16 / 4000)) < 4000 * 0.25 * np.sqrt(16 / 4000) * 0.75
    # itb_coef's rho: total regret / the uniform-arm policy's, on the c = 2 family
    r = lr.itb_coef(2, 2, 2, 100, "k_dependent", seed=1, c=2.0, cap=0.5)
    ks = 100 * np.array([1, 2, 4, 8])
    gaps = [min(0.5, 2.0 * np.sqrt(8 / k)) for k in ks]
    assert r["gap_max"] == pytest.approx(max(gaps))
    assert r["rho"] > 0
    with pytest.raises(ValueError, match="cap"):
        mdps.lmdp_k_dependent_gap(1000, 2, 2, 2, c=2.0, cap=0.7)


# ------------------------------------------------------------------------------------ learner protocol

import functools  # noqa: E402

from rltheory.algorithms.lmdp import HindsightLearner, markov_policy_value, run_lmdp_learner  # noqa: E402

_FIELDS = ("regret", "cumulative_regret", "returns", "contexts", "epoch_start", "epoch_value", "epoch_true_value",
           "epoch_off_plan", "epoch_nodes")


@pytest.mark.parametrize("solver", ["value", "model", "hoeffding", "none"])
def test_protocol_reproduces_the_fast_path_bit_for_bit(solver):
    L = mdps.lmdp_identify_then_bandit(2, 2, 2, horizon=8, gap=0.2, safe=0.25, seed=1)
    a = lmdp_hindsight(L, 700, seed=3, solver=solver, c1=0.5, c2=0.05, Gamma=2)
    b = run_lmdp_learner(L, functools.partial(HindsightLearner, solver=solver, c1=0.5, c2=0.05), 700, seed=3, Gamma=2)
    for f in _FIELDS:
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert b.v_star == a.v_star and b.solver == "protocol"


def _backward_value(L, probs):
    """Independent reference: backward recursion V_h = sum_a pi(a|h,s) (R + P V_{h+1}) per context."""
    tot = np.zeros(L.M)
    for m in range(L.M):
        V = np.zeros(L.S)
        for h in range(L.horizon - 1, -1, -1):
            V = np.einsum("sa,sa->s", probs[h], L.R[m] + L.P[m] @ V)
        tot[m] = L.mu0[m] @ V
    return float(L.weights @ tot), tot


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_markov_policy_value_is_exact(M, S, A, H, seed):
    L = random_lmdp(M, S, A, H, seed)
    rng = np.random.default_rng(seed)
    det = rng.integers(0, A, (H, S))
    v, vm = markov_policy_value(L, det)
    v_hist, _ = evaluate_history_policy(L, lambda h, st_, ac, rw: int(det[h, st_[-1]]))
    assert v == pytest.approx(v_hist, abs=1e-12) and v == pytest.approx(float(L.weights @ vm), abs=1e-12)
    probs = rng.dirichlet(np.ones(A), size=(H, S))
    v2, vm2 = markov_policy_value(L, probs)
    ref, ref_m = _backward_value(L, probs)
    assert v2 == pytest.approx(ref, abs=1e-12) and np.allclose(vm2, ref_m, atol=1e-12)


class _FixedPolicy:
    """A non-learning protocol learner that records what update() receives."""

    seen = []

    def __init__(self, M, S, A, H, K, seed, rewards, Gamma):
        self.pi = np.full((H, S, A), 1.0 / A)
        self.shape = (M, S, A, H, K, seed, rewards.shape, Gamma)

    def policy(self):
        return self.pi

    def update(self, states, actions, rewards, context):
        _FixedPolicy.seen.append((states.shape, actions.shape, rewards.shape, type(context), context))


def test_harness_markov_learner_exact_regret_and_episode_format():
    L = mdps.lmdp_probe(2, 4, 2, horizon=5, eta=0.1, seed=0)
    _FixedPolicy.seen = []
    res = run_lmdp_learner(L, _FixedPolicy, 3000, seed=2, Gamma=2)
    v, _ = markov_policy_value(L, np.full((5, 4, 2), 0.5))
    vs = solve_lmdp(L).value
    assert res.epoch_start.tolist() == [0] and np.all(res.regret == max(vs - v, 0.0))
    assert np.isnan(res.epoch_value[0]) and res.epoch_true_value[0] == pytest.approx(v)
    assert abs(res.returns.mean() - v) < 0.02  # realised returns follow the true LMDP
    assert len(_FixedPolicy.seen) == 3000
    assert _FixedPolicy.seen[0][:4] == ((6,), (5,), (5,), int)
    ctx = np.array([c[4] for c in _FixedPolicy.seen])
    assert np.array_equal(ctx, res.contexts) and abs(ctx.mean() - L.weights[1]) < 0.05


class _BadLearner:
    out = None

    def __init__(self, *args):
        pass

    def policy(self):
        return _BadLearner.out

    def update(self, *args):
        pass


def test_harness_validates_learners():
    L = mdps.lmdp_deterministic(2, 3, 2, horizon=3)
    for out, err, msg in [("x", TypeError, "policy"), (np.zeros((3, 3), dtype=float), TypeError, "policy"),
                          (np.full((3, 3), 5), ValueError, "policy"),
                          (np.zeros((2, 3), dtype=int), ValueError, "policy"),
                          (np.full((3, 3, 2), 0.7), ValueError, "policy")]:
        _BadLearner.out = out
        with pytest.raises(err, match=msg):
            run_lmdp_learner(L, _BadLearner, 5, seed=0)
    with pytest.raises(TypeError, match="factory"):
        run_lmdp_learner(L, "not callable", 5, seed=0)
    with pytest.raises(TypeError, match="factory"):
        run_lmdp_learner(L, lambda *a: object(), 5, seed=0)
    with pytest.raises(ValueError, match="K"):
        run_lmdp_learner(L, _FixedPolicy, 0, seed=0)
    with pytest.raises(TypeError, match="lmdp"):
        run_lmdp_learner(L.context(0), _FixedPolicy, 5, seed=0)
    with pytest.raises(ValueError, match="rewards"):
        HindsightLearner(2, 3, 2, 3, 10, 0, np.zeros((2, 3, 3)), 2)


def test_invariant_value_above_v_star_is_reported():
    from proofs_checks import Measurement
    from proofs_checks.lmdp_regret import claims as lr

    L = mdps.lmdp_identify_then_bandit(2, 2, 2, horizon=8, gap=0.2, safe=0.25, seed=0)
    vs = solve_lmdp(L).value
    # a wrong (too small) V*: the harness does not clip the recorded exact values, the check flags them
    res = run_lmdp_learner(L, lr.reference_learner, 50, seed=0, Gamma=2, v_star=vs - 0.3)
    assert lr._excess(res) > 0.1
    m = Measurement("K", [1.0], [[1.0]], "regret")
    lr._require_values(m, [{"result": {"value_excess": lr._excess(res)}}])
    assert m.invariant_violations and "exceeds V*" in m.invariant_violations[0]
    ok = Measurement("K", [1.0], [[1.0]], "regret")
    lr._require_values(ok, [{"result": {"value_excess": lr._excess(run_lmdp_learner(L, lr.reference_learner, 50,
                                                                                      seed=0, Gamma=2))}}])
    assert not ok.invariant_violations


def test_check_learner_claims_protocol_and_mutants():
    from proofs_checks.lmdp_regret import claims as lr
    from proofs_checks import registry
    from proofs_checks.learners import resolve_learner

    chk = registry()["lmdp_regret"]
    assert chk.protocol == "lmdp_hindsight"
    assert {c.name for c in chk.learner_claims} == {"optimism", "sqrtK_upper", "deterministic_flat", "horizon_free",
                                                    "sqrtK_tight", "sqrtM", "sqrtS", "sqrtA"}
    assert len([m for m in chk.mutants if not m.legitimate]) >= 5
    # the reference grids (and so their stored sweep cells) are unchanged; a learner replaces the solver
    assert lr._grid({"K": [1], "solver": ["value"]}, None) == {"K": [1], "solver": ["value"]}
    assert lr._grid({"K": [1], "solver": ["value"]}, "a.b:c") == {"K": [1], "learner": ["a.b:c"]}
    ref = "proofs_checks.lmdp_regret:reference_learner"
    # the reference through the protocol reproduces the built-in cells exactly
    assert lr.itb_regret(600, 0.2, seed=1) == lr.itb_regret(600, 0.2, seed=1, learner=ref)
    assert lr.optimism_ratio(2, 400, seed=1) == lr.optimism_ratio(2, 400, seed=1, learner=ref)
    # every mutant is a protocol factory whose episodes differ from the reference's
    base = lr.itb_regret(400, 0.2, seed=0, learner=ref)
    L = mdps.lmdp_identify_then_bandit(2, 2, 2, horizon=8, gap=0.2, safe=0.25, seed=0)
    base_run = run_lmdp_learner(L, lr.reference_learner, 400, seed=0, Gamma=2)
    for mu in chk.mutants:
        res = run_lmdp_learner(L, resolve_learner(mu.learner), 400, seed=0, Gamma=2)
        assert not np.array_equal(res.returns, base_run.returns) or \
            not np.array_equal(res.epoch_value, base_run.epoch_value, equal_nan=True), mu.name
    assert base["value_excess"] <= lr.VALUE_TOL


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_empirical_model_rows_are_distributions(M, S, A, seed):
    """The learner's planning model: every visited pair's empirical row is a probability distribution (sums to 1,
    the defect of ``count_off_by_one``, which divides by ``N + 1``), unvisited rows are 0, and the prior sums to 1."""
    from rltheory.algorithms.lmdp.hindsight import empirical_model

    rng = np.random.default_rng(seed)
    Nsas = rng.integers(0, 4, size=(M, S, A, S)).astype(float) * (rng.random((M, S, A, 1)) < 0.7)
    N = Nsas.sum(axis=3)
    nc = rng.integers(0, 5, size=M).astype(float)
    ninit = rng.multinomial(1, np.ones(S) / S, size=M).astype(float) * nc[:, None]
    known, Phat, prior = empirical_model(N, Nsas, nc, ninit)
    np.testing.assert_array_equal(known, N > 0)
    np.testing.assert_allclose(Phat.sum(axis=3)[known], 1.0, rtol=0, atol=1e-12)
    assert not Phat[~known].any()
    assert abs(prior.sum() - 1.0) <= 1e-12


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 10), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_empirical_model_matches_its_vectorised_definition(M, S, A, seed):
    """The element-wise kernel behind ``empirical_model`` gives bit for bit the arrays of the definition written with
    NumPy's vectorised operations (``where(N > 0, Nsas / max(N, 1), 0)``, ``(n_m + 1) / (n + M)`` times
    ``ninit / max(n_m, 1)`` or ``1 / S``), so the learner plans on the same model."""
    from rltheory.algorithms.lmdp.hindsight import empirical_model

    rng = np.random.default_rng(seed)
    Nsas = rng.integers(0, 40, size=(M, S, A, S)).astype(float) * (rng.random((M, S, A, 1)) < 0.7)
    N = Nsas.sum(axis=3)
    ninit = rng.integers(0, 20, size=(M, S)).astype(float) * (rng.random((M, 1)) < 0.8)
    nc = ninit.sum(axis=1)
    known_ref = N > 0
    Phat_ref = np.where(known_ref[..., None], Nsas / np.maximum(N, 1.0)[..., None], 0.0)
    nuhat = np.where(nc[:, None] > 0, ninit / np.maximum(nc, 1.0)[:, None], 1.0 / S)
    prior_ref = ((nc + 1.0) / (nc.sum() + M))[:, None] * nuhat
    known, Phat, prior = empirical_model(N, Nsas, nc, ninit)
    np.testing.assert_array_equal(known, known_ref)
    np.testing.assert_array_equal(Phat, Phat_ref)
    np.testing.assert_array_equal(prior, prior_ref)


# ------------------------------------------------------------------- no Python loop over H (issue #15 item 4)

from rltheory._validation import check_int  # noqa: E402
from rltheory.algorithms.lmdp._kernels import episode_return  # noqa: E402
from rltheory.models.latent import LMDPEpisode  # noqa: E402
from rltheory.solvers.lmdp import _QSCALE, distinct_rows_per_layer, plan_lmdp  # noqa: E402


def _simulate_tuples(L, policy, seed):
    """The former LatentMDP.simulate, kept as the reference of the draws: tuples of the whole history at every
    step and one Generator.choice per successor."""
    rng = np.random.default_rng(seed)
    m = int(rng.choice(L.M, p=L.weights))
    s = int(rng.choice(L.S, p=L.mu0[m]))
    states, actions, rewards = [s], [], []
    for h in range(L.horizon):
        a = check_int(f"policy: action at h={h}", policy(h, tuple(states), tuple(actions), tuple(rewards)),
                      low=0, high=L.A - 1)
        actions.append(a)
        rewards.append(float(L.R[m, s, a]))
        s = int(rng.choice(L.S, p=L.P[m, s, a]))
        states.append(s)
    return LMDPEpisode(m, states, actions, rewards)


def _history_policy(A, rng=None):
    def pol(h, s, a, r):  # reads the whole history; with rng, also draws from the episode's own generator
        x = int(round(sum(r) * 7)) + int(s[-1]) + len(a) + (int(a[-1]) if len(a) else 0) + 3 * int(sum(s))
        if rng is not None:
            x += int(rng.random() < 0.5)
        return np.int64(x % A) if h % 3 == 0 else x % A
    return pol


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 12), st.integers(0, 10**6))
def test_simulate_draws_match_the_tuple_reference(M, S, A, H, seed):
    L = random_lmdp(M, S, A, H, seed % 1000)
    for k in range(3):
        a = _simulate_tuples(L, _history_policy(A), seed + k)
        b = L.simulate(_history_policy(A), seed=seed + k)
        assert a.context == b.context
        for f in ("states", "actions", "rewards"):
            x, y = getattr(a, f), getattr(b, f)
            assert x.dtype == y.dtype and np.array_equal(x, y), f
    # a Generator shared with a randomised policy: the policy's draws and the successors interleave as before
    g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
    a = _simulate_tuples(L, _history_policy(A, g1), g1)
    b = L.simulate(_history_policy(A, g2), seed=g2)
    assert a.context == b.context and np.array_equal(a.states, b.states) and np.array_equal(a.actions, b.actions)
    assert g1.random() == g2.random()


def test_simulate_hands_the_policy_views_not_per_step_copies():
    # O(H) per episode: the histories are read-only views of the episode's arrays, never rebuilt per step
    L = random_lmdp(2, 3, 2, 9, 4)
    seen = []

    def pol(h, s, a, r):
        seen.append((s, a, r))
        return h % 2

    ep = L.simulate(pol, seed=1)
    assert len(seen) == 9
    for h, (s, a, r) in enumerate(seen):
        for view, full, n in ((s, ep.states, h + 1), (a, ep.actions, h), (r, ep.rewards, h)):
            assert type(view) is np.ndarray and not view.flags.writeable and view.shape == (n,)
            assert np.shares_memory(view, full) or n == 0
            assert np.array_equal(view, full[:n])  # what the policy saw at step h is unchanged afterwards
    assert s.dtype == np.int64 and a.dtype == np.int64 and r.dtype == np.float64


def test_simulate_checks_the_policy_actions():
    L = random_lmdp(2, 2, 2, 3, 0)
    with pytest.raises(ValueError, match=r"^policy: action at h=0"):
        L.simulate(lambda h, s, a, r: 2, seed=0)
    with pytest.raises(ValueError, match=r"^policy: action at h=1"):
        L.simulate(lambda h, s, a, r: -1 if h else 0, seed=0)
    with pytest.raises(TypeError, match=r"^policy: action at h=0"):
        L.simulate(lambda h, s, a, r: True, seed=0)
    with pytest.raises(TypeError, match=r"^policy: action at h=0"):
        L.simulate(lambda h, s, a, r: "0", seed=0)
    ep = L.simulate(lambda h, s, a, r: 1.0 if h else np.int32(1), seed=0)
    assert ep.actions.tolist() == [1, 1, 1]


def _beliefs_per_step_loop(plan):
    """The former BeliefPlan.beliefs_per_step: np.unique per layer."""
    out = np.empty(plan.H, dtype=np.int64)
    for h in range(plan.H):
        b = plan.node_b[plan.layer_ptr[h]:plan.layer_ptr[h + 1]]
        out[h] = np.unique(np.round(b * _QSCALE), axis=0).shape[0] if b.size else 0
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(1, 5), st.integers(0, 10**6))
def test_beliefs_per_step_matches_per_layer_unique(M, S, A, H, seed):
    plan = solve_lmdp(random_lmdp(M, S, A, H, seed % 1000, reward_levels=2))
    got = plan.beliefs_per_step()
    assert got.dtype == np.int64 and np.array_equal(got, _beliefs_per_step_loop(plan))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=6), st.integers(1, 3), st.integers(0, 10**6))
def test_distinct_rows_per_layer_compares_like_unique(sizes, M, seed):
    # signed zeros compare equal, NaN rows equal nothing, empty layers count 0 -- as np.unique(axis=0) per layer
    rng = np.random.default_rng(seed)
    lp = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    q = rng.integers(-1, 2, (int(lp[-1]), M)).astype(np.float64)
    q[rng.random(q.shape) < 0.2] = -0.0
    q[rng.random(q.shape) < 0.05] = np.nan
    ref = [np.unique(q[lp[h]:lp[h + 1]], axis=0).shape[0] if sizes[h] else 0 for h in range(len(sizes))]
    assert distinct_rows_per_layer(q, lp).tolist() == ref


def test_default_vmax_is_the_former_list_bit_for_bit():
    L = random_lmdp(2, 3, 2, 6, 7)
    known = np.ones((2, 3, 2), dtype=bool)
    known[0, 1, 1] = False
    kw = dict(known=known, counts=np.full((2, 3, 2), 3.0), backup="bernstein")
    prior = L.weights[:, None] * L.mu0
    vmax = np.array([(L.horizon - h) * L.R.max() for h in range(L.horizon + 1)], dtype=np.float64)
    a = plan_lmdp(L.P, L.R, prior, L.horizon, **kw)
    b = plan_lmdp(L.P, L.R, prior, L.horizon, vmax=vmax, **kw)
    assert a.value == b.value and np.array_equal(a.alpha, b.alpha) and np.array_equal(a.Q, b.Q)
    assert np.array_equal(a.fallback, b.fallback)


def test_plan_lmdp_rejects_empty_dimensions_by_name():
    with pytest.raises(ValueError, match=r"^P: need M, S, A >= 1"):
        plan_lmdp(np.zeros((1, 1, 0, 1)), np.zeros((1, 1, 0)), np.ones((1, 1)), 2)


def test_episode_return_adds_left_to_right():
    r = np.random.default_rng(0).random(1001) * 1e-3
    g = 0.0
    for x in r:
        g += x
    assert episode_return(r) == g and episode_return(np.empty(0)) == 0.0
