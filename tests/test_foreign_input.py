"""Input that must not be misread silently: masked arrays (NumPy drops the mask), a result of another MDP."""
import numpy as np
import pytest

from rltheory import TabularMDP
from rltheory.solvers import evaluate, gaps, next_value_variance, occupancy, solve


def _mdp(horizon=None):
    rng = np.random.default_rng(0)
    P = rng.random((3, 2, 3))
    P /= P.sum(-1, keepdims=True)
    R = rng.random((3, 2))
    return (TabularMDP(P, R, gamma=0.9) if horizon is None else TabularMDP(P, R, horizon=horizon)), P, R


def _masked(a, at):
    m = np.zeros(np.shape(a), bool)
    m[at] = True
    return np.ma.MaskedArray(np.asarray(a, float), mask=m)


@pytest.mark.parametrize("field", ["P", "R", "mu0"])
def test_masked_entry_is_refused_naming_the_field(field):
    _, P, R = _mdp()
    kw = dict(P=P, R=R, mu0=np.full(3, 1 / 3))
    kw[field] = _masked(kw[field], (0,) * np.ndim(kw[field]))
    with pytest.raises(ValueError, match=rf"^{field}: 1 masked entry \(first at index \(0"):
        TabularMDP(kw["P"], kw["R"], gamma=0.9, mu0=kw["mu0"])


def test_masked_reward_was_not_silently_used():
    _, P, R = _mdp()
    R2 = R.copy()
    R2[0, 1] = 1e9
    with pytest.raises(ValueError, match="^R: "):
        TabularMDP(P, _masked(R2, (0, 1)), gamma=0.9)


@pytest.mark.parametrize("copy", [False, True])
def test_masked_array_without_masked_entries_is_its_data(copy):
    mdp, P, R = _mdp()
    Pm = np.ma.MaskedArray(P.copy(), mask=np.zeros(P.shape, bool))
    m2 = TabularMDP(Pm, np.ma.MaskedArray(R), gamma=0.9, copy=copy)
    assert np.array_equal(solve(m2).V, solve(mdp).V)


def test_masked_policy_and_values_are_refused():
    mdp, _, _ = _mdp()
    with pytest.raises(ValueError, match=r"^policy: 1 masked entry"):
        evaluate(mdp, _masked(np.zeros(3, int), (2,)).astype(int))
    with pytest.raises(ValueError, match=r"^policy: 1 masked entry"):
        occupancy(mdp, _masked(np.zeros(3, int), (1,)).astype(int))
    with pytest.raises(ValueError, match=r"^V: 1 masked entry"):
        next_value_variance(mdp, _masked(np.arange(3.0), (1,)))
    ok = np.ma.MaskedArray(np.zeros(3, int))
    assert np.array_equal(evaluate(mdp, ok), evaluate(mdp, np.zeros(3, int)))


def test_gaps_refuses_a_result_of_another_mdp():
    disc, _, _ = _mdp()
    fin, _, _ = _mdp(horizon=4)
    with pytest.raises(ValueError, match=r"^result: Q has shape \(4, 3, 2\)"):
        gaps(disc, solve(fin))
    with pytest.raises(ValueError, match=r"^result: Q has shape \(3, 2\)"):
        gaps(fin, solve(disc))
    with pytest.raises(TypeError, match="^result: expected a SolveResult"):
        gaps(disc, 3)
    with pytest.raises(TypeError, match="^mdp: "):
        gaps("mdp")
    assert np.array_equal(gaps(disc, solve(disc)), gaps(disc))
    assert gaps(fin).shape == (4, 3, 2)


# ---- masked arrays nested in lists: NumPy's asarray drops their masks too ---------------------------------------
def _rows(a):
    """``a`` (a masked array) as a list of its rows, each still a masked array."""
    return [a[i] for i in range(a.shape[0])]


def _nested_cases():
    from rltheory.models.latent import LatentMDP
    from rltheory.models.linear_mixture import LinearMixtureMDP

    mdp, P, R = _mdp(horizon=3)
    Pl, Rl = np.stack([P, P]), np.stack([R, R])
    phi = np.stack([P, P], axis=-1) / 1.0
    theta = np.array([0.5, 0.5])
    lmm = LinearMixtureMDP(phi, theta, R / 10, horizon=3)
    succ_tuples = [[(np.arange(3), P[s, a]) for a in range(2)] for s in range(3)]
    succ_lists = [[[[0, 2], [0.5, 0.5]] if s + a else [[1], [1.0]] for a in range(2)] for s in range(3)]
    pol = np.zeros((3, 3), int)

    def succ_states(form):
        succ = [list(row) for row in (succ_tuples if form is tuple else succ_lists)]
        nxt, prob = succ[1][1]
        succ[1][1] = form([np.ma.MaskedArray(nxt, mask=[i == 1 for i in range(len(nxt))]), prob])
        return succ

    return {
        # (what, call, field, first index)
        "P list of masked rows, horizon": (lambda: TabularMDP(_rows(_masked(P, (1, 0, 2))), R, horizon=3),
                                           "P", "(1, 0, 2)"),
        "P list of masked rows, gamma": (lambda: TabularMDP(_rows(_masked(P, (2, 1, 0))), R, gamma=0.9),
                                         "P", "(2, 1, 0)"),
        "P list of lists of masked rows": (lambda: TabularMDP([_rows(r) for r in _rows(_masked(P, (0, 1, 1)))],
                                                              R, gamma=0.9), "P", "(0, 1, 1)"),
        "P tuple of masked rows": (lambda: TabularMDP(tuple(_rows(_masked(P, (1, 1, 1)))), R, gamma=0.9),
                                   "P", "(1, 1, 1)"),
        "R list of masked rows": (lambda: TabularMDP(P, _rows(_masked(R, (2, 1))), horizon=3), "R", "(2, 1)"),
        "R list holding np.ma.masked": (lambda: TabularMDP(P, [[0.0, 1.0], [0.5, np.ma.masked], [0.0, 0.0]],
                                                           gamma=0.9), "R", "(1, 1)"),
        "R (H, S, A) list of masked": (lambda: TabularMDP(P, _rows(_masked(np.stack([R] * 3), (1, 2, 0))),
                                                          horizon=3), "R", "(1, 2, 0)"),
        "mu0 list": (lambda: TabularMDP(P, R, gamma=0.9, mu0=[0.5, np.ma.masked, 0.5]), "mu0", "(1,)"),
        "with_rewards list": (lambda: mdp.with_rewards(_rows(_masked(R, (0, 0)))), "R", "(0, 0)"),
        "successor tuples, masked next states": (lambda: TabularMDP(succ_states(tuple), R, gamma=0.9),
                                                 "P: (s=1, a=1) next states", "(1,)"),
        "successor lists, masked next states": (lambda: TabularMDP(succ_states(list), R, gamma=0.9),
                                                "P: (s=1, a=1) next states", "(1,)"),
        "successor tuples, masked probabilities in a list": (
            lambda: TabularMDP([[(np.arange(3), [P[s, a, 0], np.ma.masked, P[s, a, 2]]) for a in range(2)]
                                for s in range(3)], R, gamma=0.9), "P: (s=0, a=0) probabilities", "(1,)"),
        "LatentMDP P list": (lambda: LatentMDP(_rows(_masked(Pl, (1, 0, 1, 2))), Rl, [0.5, 0.5], [1.0, 0, 0],
                                               horizon=3), "P", "(1, 0, 1, 2)"),
        "LatentMDP R list": (lambda: LatentMDP(Pl, _rows(_masked(Rl, (0, 2, 1))), [0.5, 0.5], [1.0, 0, 0],
                                               horizon=3), "R", "(0, 2, 1)"),
        "LatentMDP weights list": (lambda: LatentMDP(Pl, Rl, [0.5, np.ma.masked], [1.0, 0, 0], horizon=3),
                                   "weights", "(1,)"),
        "LinearMixtureMDP phi list": (lambda: LinearMixtureMDP(_rows(_masked(phi, (2, 1, 0, 1))), theta, R / 10,
                                                               horizon=3), "phi", "(2, 1, 0, 1)"),
        "LinearMixtureMDP theta list": (lambda: LinearMixtureMDP(phi, [0.5, np.ma.masked], R / 10, horizon=3),
                                        "theta", "(1,)"),
        "LinearMixtureMDP evaluate policy": (lambda: lmm.evaluate(_masked(pol, (0, 2)).astype(int)),
                                             "policy", "(0, 2)"),
        "evaluate policy list": (lambda: evaluate(mdp, _rows(_masked(pol, (2, 0)).astype(int))),
                                 "policy", "(2, 0)"),
        "next_value_variance V list": (lambda: next_value_variance(mdp, _rows(_masked(np.zeros((4, 3)), (3, 1)))),
                                       "V", "(3, 1)"),
    }


_NESTED = _nested_cases()


@pytest.mark.parametrize("case", sorted(_NESTED))
def test_masked_array_nested_in_a_list_is_refused(case):
    import re
    import warnings

    call, field, first = _NESTED[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (not "converting a masked element to nan")
        with pytest.raises(ValueError, match="^" + re.escape(f"{field}: 1 masked entry (first at index {first})")):
            call()


def test_list_of_masked_arrays_without_masked_entries_is_read():
    mdp, P, R = _mdp(horizon=3)
    m2 = TabularMDP(_rows(np.ma.MaskedArray(P)), _rows(np.ma.MaskedArray(R)), horizon=3)
    assert np.array_equal(m2.P, mdp.P) and np.array_equal(m2.R, mdp.R)
    row = [0.5, 0.5, 0.0]  # a list repeated inside another is read as usual
    m3 = TabularMDP([[row] * 2] * 3, R, horizon=3)
    assert np.array_equal(m3.P, np.array([[row] * 2] * 3))


def test_masked_scan_counts_and_orders_like_the_whole_array():
    from hypothesis import given, settings, strategies as st
    from hypothesis.extra import numpy as hnp

    from rltheory._validation import unmasked

    def split(a, depth):
        """``a`` (masked) as nested lists ``depth`` levels deep, masked arrays below."""
        if depth == 0 or a.ndim == 0:
            return a
        return [split(a[i], depth - 1) for i in range(a.shape[0])]

    @settings(max_examples=80, deadline=None)
    @given(mask=hnp.arrays(bool, hnp.array_shapes(min_dims=1, max_dims=4, max_side=3)), data=st.data())
    def check(mask, data):
        depth = data.draw(st.integers(0, mask.ndim))
        value = split(np.ma.MaskedArray(np.zeros(mask.shape), mask=mask), depth)
        if not mask.any():
            unmasked("X", value)
            return
        first = tuple(int(i) for i in np.argwhere(mask)[0])
        n = int(mask.sum())
        with pytest.raises(ValueError) as info:
            unmasked("X", value)
        assert str(info.value).startswith(f"X: {n} masked entr{'y' if n == 1 else 'ies'} (first at index {first})")

    check()


def test_masked_scan_ends_at_a_list_holding_itself():
    from rltheory._validation import unmasked

    loop = [1.0]
    loop.append(loop)
    assert unmasked("X", loop) is loop  # (NumPy refuses it later)
    wide = [[0.0]]
    for _ in range(70):  # [x, x] seventy deep: each distinct list is scanned once
        wide = [wide, wide]
    assert unmasked("X", wide) is wide
