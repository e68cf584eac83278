"""Submodular RL: set-function checks, exact bitmask DP vs brute force, SubPO and baselines."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdps.submodular import (
    choice_coverage,
    coverage_gridworld,
    deceptive_chain,
    informative_path,
    lure_coverage,
    memory_hub,
    tight_coverage,
)
from rltheory import TabularMDP
from rltheory.algorithms.submodular import greedy_policy_value, modular_pg, subpo
from rltheory.models.submodular import (
    Coverage,
    FacilityLocation,
    LogDet,
    Modular,
    SubmodularMDP,
    TableFunction,
    check_submodular,
)
from rltheory.solvers import solve
from rltheory.solvers.submodular import best_markov, exact_optimum, markov_value


@given(st.integers(1, 7), st.integers(0, 2**32 - 1), st.sampled_from(["mod", "cov", "fac", "logdet"]))
def test_provided_functions_are_normalised_monotone_submodular(n, seed, kind):
    rng = np.random.default_rng(seed)
    if kind == "mod":
        F = Modular(rng.random(n))
    elif kind == "cov":
        F = Coverage(rng.random((n, 5)) < 0.4, rng.random(5))
    elif kind == "fac":
        F = FacilityLocation(rng.random((4, n)))
    else:
        X = rng.normal(size=(n, 2))
        F = LogDet(np.exp(-((X[:, None] - X[None]) ** 2).sum(-1)), noise=0.5)
    check_submodular(F)  # exhaustive for n <= 10


@given(st.integers(2, 5), st.integers(0, 2**32 - 1))
def test_checker_rejects_supermodular_and_non_normalised(n, seed):
    rng = np.random.default_rng(seed)
    w = rng.random(n) + 0.1
    masks = ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)
    with pytest.raises(ValueError, match="not submodular"):
        check_submodular(TableFunction((masks @ w) ** 2))  # strictly supermodular
    with pytest.raises(ValueError, match="not normalised"):
        check_submodular(TableFunction(masks @ w + 1.0))
    with pytest.raises(ValueError, match="not monotone"):
        check_submodular(TableFunction(-(masks @ w)))


def _brute_force_history_opt(smdp):
    """Max over all deterministic history-dependent policies, by enumerating decision trees (tiny instances)."""
    P = smdp.mdp.P
    T = smdp.F.table()
    H, S, A = smdp.horizon, smdp.S, smdp.A

    def value(h, s, B):
        if h == H - 1:
            return T[B]
        best = -np.inf
        for a in range(A):  # a history-dependent policy picks a per history; the max over them decomposes
            v = sum(P[s, a, t] * value(h + 1, t, B | (1 << t)) for t in range(S) if P[s, a, t] > 0)
            best = max(best, v)
        return best

    return sum(smdp.mdp.mu0[s] * value(0, s, 1 << s) for s in range(S) if smdp.mdp.mu0[s] > 0)


def _brute_force_markov(smdp):
    H, S, A = smdp.horizon, smdp.S, smdp.A
    best = -np.inf
    for acts in itertools.product(range(A), repeat=H * S):
        best = max(best, markov_value(smdp, np.array(acts).reshape(H, S)))
    return best


@settings(max_examples=25)
@given(st.integers(1, 4), st.integers(1, 2), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_exact_dp_equals_brute_force_and_bounds_markov(S, A, H, seed):
    rng = np.random.default_rng(seed)
    mdp = TabularMDP(rng.dirichlet(np.full(S, 0.5), size=(S, A)), np.zeros((S, A)), horizon=H,
                     mu0=rng.dirichlet(np.ones(S)))
    sm = SubmodularMDP(mdp, Coverage(rng.random((S, 4)) < 0.5, rng.random(4)))
    opt = exact_optimum(sm).value
    assert opt == pytest.approx(_brute_force_history_opt(sm), abs=1e-12)
    bm, _, exact = best_markov(sm)
    assert exact and bm <= opt + 1e-12
    if A ** (H * S) <= 4096:
        assert bm == pytest.approx(_brute_force_markov(sm), abs=1e-12)


@given(st.integers(1, 5), st.integers(1, 3), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_modular_F_on_distinct_visits_vs_tabular(S, A, H, seed):
    """With a deterministic chain that never revisits, modular SubRL equals ordinary RL with state rewards."""
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    P[np.arange(S), :, np.minimum(np.arange(S) + 1, S - 1)] = 1.0
    w = rng.random(S)
    Hc = min(H, S)
    sm = SubmodularMDP(TabularMDP(P, np.zeros((S, A)), horizon=Hc), Modular(w))
    R = np.repeat(w[:, None], A, axis=1)
    assert exact_optimum(sm).value == pytest.approx(solve(TabularMDP(P, R, horizon=Hc)).V[0, 0])


def test_history_beats_markov_on_coverage_gridworld():
    # a corridor with a branch: coming back through the same cell requires remembering where one has been
    sm = coverage_gridworld("S..\n.#.\n...", horizon=7, radius=0)
    opt = exact_optimum(sm).value
    bm, _, _ = best_markov(sm)
    assert opt >= bm
    sub = subpo(sm, seed=0, n_iters=300)
    mod = modular_pg(sm, seed=0, n_iters=300)
    assert sub.value > mod.value


def test_subpo_reproducible_and_learning_curve():
    sm = choice_coverage(6, horizon=4, seed=1)
    a = subpo(sm, seed=5, n_iters=100, eval_every=25)
    b = subpo(sm, seed=5, n_iters=100, eval_every=25)
    assert np.array_equal(a.curve, b.curve) and a.value == b.value
    assert a.curve[-1, 1] > a.curve[0, 1] - 1e-9
    assert a.value <= exact_optimum(sm).value + 1e-9
    nat = subpo(sm, seed=5, n_iters=100, natural=True, lr=1.0)
    assert nat.value / exact_optimum(sm).value > 0.8


def test_constructors_and_hardness_family():
    for n in (2, 5, 9):
        sm = deceptive_chain(n)
        assert exact_optimum(sm).value == n - 1 and greedy_policy_value(sm)[0] == 1.0
    sm = lure_coverage(5, horizon=3)
    assert exact_optimum(sm).value == pytest.approx(2.0 + 2)
    ip = informative_path(2, 3, horizon=4)
    assert exact_optimum(ip).value > 0
    with pytest.raises(ValueError, match="not submodular"):
        informative_path(2, 3, horizon=4, objective="variance")  # variance reduction fails here: refused
    with pytest.raises(ValueError, match="16"):
        coverage_gridworld("S" + "." * 16, horizon=3)


def test_bad_inputs():
    sm = choice_coverage(4, horizon=3, seed=0)
    with pytest.raises(ValueError, match="features"):
        subpo(sm, features="x")
    with pytest.raises(ValueError, match="lr"):
        subpo(sm, lr=-1.0)
    with pytest.raises(ValueError, match="ground set"):
        SubmodularMDP(sm.mdp, Modular(np.ones(5)))
    with pytest.raises(ValueError, match="finite-horizon"):
        SubmodularMDP(TabularMDP(np.full((2, 1, 2), 0.5), np.zeros((2, 1)), gamma=0.5), Modular(np.ones(2)))
    with pytest.raises(ValueError, match="not submodular"):
        SubmodularMDP(sm.mdp, TableFunction(np.arange(16.0) ** 2 / 10))
    with pytest.raises(TypeError, match="integer"):
        markov_value(sm, np.zeros((3, 4)))


def test_coverage_probabilities_consistent_with_value():
    from rltheory.algorithms.submodular import coverage_probabilities

    sm = coverage_gridworld("S..\n.#.\n...", horizon=5, radius=0, cell_weights=np.ones(8))
    r = subpo(sm, seed=0, n_iters=50)
    p = coverage_probabilities(sm, r.probs, features=r.features)
    # modular-weight coverage with radius 0: J = expected number of distinct cells visited = sum of probabilities
    assert p.sum() == pytest.approx(r.value)
    assert p[0] == pytest.approx(1.0)


def test_memory_hub_needs_history():
    sm = memory_hub(2)
    bm, _, exact = best_markov(sm)
    assert exact and bm == pytest.approx(1.5) and exact_optimum(sm).value == pytest.approx(2.0)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_tight_coverage_greedy_is_tight_and_random_play_is_worse(k):
    from rltheory.algorithms.submodular import evaluate_context_policy

    sm = tight_coverage(k)
    opt = exact_optimum(sm).value
    assert opt == pytest.approx(1.0)
    closed = 1 - (1 - 1 / k) ** k
    # greedy picks every greedy set G_i: the closed form, up to the eps tie-breaking cells
    assert greedy_policy_value(sm)[0] == pytest.approx(closed * (1 + 1e-3), rel=1e-9)
    u = evaluate_context_policy(sm, np.full((sm.horizon, sm.S, sm.A), 1 / sm.A), features="markov")
    assert u < 0.58 < 1 - np.exp(-1)


@pytest.mark.parametrize("H", [2, 4, 5, 7])
def test_lure_coverage_copies_uniform_value_closed_form(H):
    from rltheory.algorithms.submodular import evaluate_context_policy

    n, c, lure = 10, 6, 1.5
    sm = lure_coverage(n, horizon=H, lure=lure, copies=c)
    assert exact_optimum(sm).value == pytest.approx(lure + min(H - 1, n - c))
    u = evaluate_context_policy(sm, np.full((H, sm.S, sm.A), 1 / sm.A), features="markov")
    assert u == pytest.approx(lure + (n - c) * (1 - (1 - 1 / n) ** (H - 1)))
    # copies = 1 is the original lure family
    assert exact_optimum(lure_coverage(5, horizon=3, copies=1)).value == pytest.approx(4.0)
    with pytest.raises(ValueError, match="copies"):
        lure_coverage(5, horizon=3, copies=5)
    with pytest.raises(ValueError, match="eps"):
        tight_coverage(3, eps=0.5)
    with pytest.raises(ValueError, match="k"):
        tight_coverage(1)
