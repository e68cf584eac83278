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
