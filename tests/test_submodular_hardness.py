"""Submodular orienteering -> SubRL reduction (the hardness construction): value preservation against brute force,
validation, and the greedy lure family."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdps.submodular import (
    orienteering_instance,
    orienteering_lure,
    orienteering_subrl,
    random_group_orienteering,
)
from rltheory.algorithms.submodular import greedy_policy_value
from rltheory.solvers.submodular import exact_optimum


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8), st.integers(0, 5), st.integers(0, 2**32 - 1), st.integers(1, 3), st.booleans())
def test_reduction_preserves_the_optimum(n, budget, seed, degree, undirected):
    inst = random_group_orienteering(n, budget=budget, seed=seed, degree=degree,
                                     group_size=min(2, n), undirected=undirected)
    sm = orienteering_subrl(inst)
    assert sm.horizon == budget + 1 and sm.S == n
    assert np.all(sm.mdp.P4().max(-1) == 1.0)  # deterministic
    sop, walk = inst.brute_force()
    assert len(walk) - 1 <= budget and all(b in inst.succ[a] for a, b in zip(walk[:-1], walk[1:]))
    assert exact_optimum(sm).value == pytest.approx(sop, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.integers(3, 8), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_optimum_monotone_in_budget(n, budget, seed):
    # the reduction with one move less (H = budget) is the SOP with budget - 1, never worth more
    inst = random_group_orienteering(n, budget=budget, seed=seed)
    short = orienteering_instance(list(inst.succ), inst.covers, inst.weights, root=0, budget=budget - 1)
    assert exact_optimum(orienteering_subrl(short)).value == pytest.approx(short.brute_force()[0], abs=1e-12)
    assert short.brute_force()[0] <= inst.brute_force()[0] + 1e-12


def test_hand_instance():
    # path 0 -> 1 -> 2 plus 0 -> 3; groups {1, 3} (w 1), {2} (w 5); budget 2: best walk 0, 1, 2 -> 6
    C = np.zeros((4, 2), dtype=bool)
    C[[1, 3], 0] = True
    C[2, 1] = True
    inst = orienteering_instance([[1, 3], [2], [], []], C, [1.0, 5.0], root=0, budget=2)
    assert inst.brute_force() == (6.0, [0, 1, 2])
    assert exact_optimum(orienteering_subrl(inst)).value == 6.0
    inst1 = orienteering_instance([[1, 3], [2], [], []], C, [1.0, 5.0], root=0, budget=1)
    assert exact_optimum(orienteering_subrl(inst1)).value == 1.0


@pytest.mark.parametrize("k", [2, 3, 4, 5])
@pytest.mark.parametrize("seed", [None, 0, 1])
def test_lure_family_greedy_ratio(k, seed):
    inst = orienteering_lure(k, seed=seed)
    sm = orienteering_subrl(inst)
    opt = exact_optimum(sm).value
    w_t = inst.weights[:k]
    assert opt == pytest.approx(w_t.sum()) == pytest.approx(inst.brute_force()[0])
    g, _ = greedy_policy_value(sm)
    assert g == pytest.approx(1 + k * 0.01)
    assert g / opt <= 2.0 / k


def test_validation_errors():
    C = np.ones((2, 1), dtype=bool)
    with pytest.raises(ValueError, match=r"succ\[1\]"):
        orienteering_instance([[1], [5]], C, budget=1)
    with pytest.raises(TypeError, match="covers"):
        orienteering_instance([[1], [0]], np.ones((3, 1), dtype=bool), budget=1)
    with pytest.raises(ValueError, match="weights"):
        orienteering_instance([[1], [0]], C, [-1.0], budget=1)
    with pytest.raises(ValueError, match="root"):
        orienteering_instance([[1], [0]], C, root=2, budget=1)
    with pytest.raises(ValueError, match="eps"):
        orienteering_lure(4, eps=0.5)
    with pytest.raises(TypeError, match="inst"):
        orienteering_subrl("not an instance")
