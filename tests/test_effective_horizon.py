"""Effective-horizon analyses: the authors' published numbers for a real BRIDGE MDP, and properties."""
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mdps
from rltheory import TabularMDP
from rltheory.algorithms.effective_horizon.analysis import epw, exploration_values, min_k, simple_effective_horizon
from rltheory.solvers import evaluate, solve

BRIDGE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "bridge")
KEYCORRIDOR = os.path.join(BRIDGE, "MiniGrid-KeyCorridorS3R1-v0.npz")

# Published by Laidlaw et al. for MiniGrid-KeyCorridorS3R1-v0 (horizon 100): min_k, epw, simple effective
# horizon and, for k = 1..16, the largest m of the simple bound.
PUBLISHED_M = [6667295335345, 1392035355359, 278809136916, 54268730212, 10344878490, 3881656204, 719169930,
               131899527, 23989567, 4332647, 1555678, 277857, 49406, 17501, 3089, 1]


@pytest.mark.skipif(not os.path.exists(KEYCORRIDOR), reason="shared BRIDGE data not present")
def test_reproduces_published_keycorridor_numbers():
    m = mdps.load_bridge(KEYCORRIDOR, horizon=100)
    assert min_k(m) == 1
    assert epw(m) == 15
    eh = simple_effective_horizon(m)
    assert eh.ks == list(range(1, 17))
    assert eh.ms == PUBLISHED_M
    assert eh.value == 16.0


def _random_deterministic(S, A, T, seed, sparse_rewards=True):
    rng = np.random.default_rng(seed)
    nxt = rng.integers(0, S, size=(S, A))
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    R = rng.random((S, A)) * (rng.random((S, A)) < (0.3 if sparse_rewards else 1.0))
    return TabularMDP(P, R, horizon=T)


@given(st.integers(1, 8), st.integers(2, 3), st.integers(1, 8), st.integers(0, 2**32 - 1))
def test_values_and_min_k_properties(S, A, T, seed):
    m = _random_deterministic(S, A, T, seed)
    ev = exploration_values(m)
    V_star = solve(m).V[:-1]
    assert np.allclose(ev.Q_opt.max(-1), V_star)
    unif = np.full((S, A), 1.0 / A)
    Vr = evaluate(m, unif)[:-1]
    # the random policy's Q: R + V^rand (clamping only absorbs rounding)
    assert np.allclose(ev.Q_rand[:-1], m.R + Vr[1:][:, m.P.argmax(-1)], atol=1e-12)
    k = min_k(m)
    assert 1 <= k <= T
    assert 1 <= epw(m) <= T
    eh = simple_effective_horizon(m)
    assert eh.value <= T
    if eh.ks:
        assert min(eh.ks) >= k  # a k that gives a finite bound also makes greedy-on-Q^k optimal


def test_negative_control_k0_greedy_on_rewards_fails_on_a_lure():
    # a chain where the immediate reward lures: epw must exceed 1 while min_k can be 1
    S, T = 6, 8
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, 0] = 1.0  # action 0: small reward, back to start
        P[s, 1, min(s + 1, S - 1)] = 1.0
    R = np.zeros((S, 2))
    R[:, 0] = 0.1
    R[S - 1, 1] = 1.0
    m = TabularMDP(P, R, horizon=T)
    assert epw(m) > 1
    with pytest.raises(ValueError, match="deterministic"):
        min_k(mdps.riverswim(4, horizon=5))


def test_gorp_reproducible_counts_and_exact_with_full_lookahead():
    from rltheory.algorithms.effective_horizon import gorp

    m = _random_deterministic(7, 2, 5, seed=3, sparse_rewards=False)
    a = gorp(m, 2, 4, seed=1)
    b = gorp(m, 2, 4, seed=1)
    assert np.array_equal(a.actions, b.actions) and a.episodes == b.episodes
    # episodes = m * sum_t A^min(k, T - t)
    assert a.episodes == 4 * sum(2 ** min(2, 5 - t) for t in range(5))
    # with k = T the lookahead enumerates whole plans: GORP is exact whatever m
    full = gorp(m, 5, 1, seed=0)
    assert full.optimal and full.value == pytest.approx(solve(m).V[0, 0])
    with pytest.raises(ValueError, match="k"):
        gorp(m, 0, 1, seed=0)


@pytest.mark.slow
def test_effective_horizon_check_quick():
    from proofs_checks import RunContext, get
    from proofs_checks.framework import _serial_runner

    cache = {}

    def runner(fn, grid, seeds, name):  # claims and their controls share sweeps, as with the CLI's sqlite store
        key = (name, repr(grid), tuple(seeds))
        if key not in cache:
            cache[key] = _serial_runner(fn, grid, seeds)
        return cache[key]

    rep = get("effective_horizon").run(RunContext(quick=True, seeds=1, runner=runner))
    assert rep.passed
    r = rep.results[0]
    assert r.result.stats["worst_ratio"] <= 1.0 and not r.control_result.passed
    tight = {x.claim.name: x for x in rep.results}["gorp_within_tight_bound"]
    assert tight.result.passed and not tight.control_result.passed
    meta = tight.measurement.meta
    # the Appendix C m is smaller than the simple bound's at the same k on every suite MDP
    assert all(r > 1 for r in meta["simple_over_tight"])
    assert all(ht < hs for ht, hs in zip(meta["H_tight"], meta["H_simple_k"]))
    by_name = {x.claim.name: x for x in rep.results}
    conf = by_name["gorp_matches_reference"]  # the reference against an independent sample of itself
    assert conf.result.passed and not conf.control_result.passed
    assert conf.result.stats["min_p_value"] >= conf.result.stats["alpha_per_x"]
    assert {"rank_correlation", "rank_correlation_ucbvi", "headline_fixed_horizon"} <= set(by_name)
    assert all(x.status == "pass" for x in rep.results)
    head = by_name["headline_fixed_horizon"]  # the papers' headline gates on the fixed-horizon suite
    assert head.result.stats["diff_lower"] > 0 and head.control_result.stats["diff_lower"] < 0
