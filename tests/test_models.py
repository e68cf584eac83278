"""TabularMDP: validation errors name the field and the (h,) s, a; immutability; dense/sparse/pickle round trips."""
import pickle
import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from rltheory import TabularMDP
from rltheory.testing import malformed_mdp_inputs, tabular_mdps


@given(malformed_mdp_inputs())
def test_malformed_inputs_raise_documented_errors(case):
    kwargs, exc, text = case
    with pytest.raises(exc) as info:
        TabularMDP(**kwargs)
    assert text in str(info.value)


@given(st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**32 - 1), st.sampled_from(["nan", "neg", "big"]),
       st.booleans())
def test_corrupted_entry_is_reported_at_its_row(S, A, seed, kind, inhom):
    rng = np.random.default_rng(seed)
    H = 3
    shape = (H, S, A, S) if inhom else (S, A, S)
    P = rng.dirichlet(np.ones(S), size=shape[:-1])
    idx = tuple(int(rng.integers(0, n)) for n in shape)
    P[idx] = {"nan": np.nan, "neg": -0.5, "big": P[idx] + 0.25}[kind]
    with pytest.raises(ValueError) as info:
        TabularMDP(P, np.zeros((S, A)), horizon=H)
    msg = str(info.value)
    assert msg.startswith("P")
    if kind != "nan":
        row = f"(h={idx[0]}, s={idx[1]}, a={idx[2]})" if inhom else f"(s={idx[0]}, a={idx[1]})"
        assert row in msg


@given(tabular_mdps())
def test_valid_mdps_are_immutable_and_round_trip(mdp):
    with pytest.raises(AttributeError):
        mdp.gamma = 0.5
    with pytest.raises(ValueError):
        mdp.R[...] = 1.0
    with pytest.raises(ValueError):
        mdp.mu0[0] = 1.0
    if not mdp.is_sparse:
        with pytest.raises(ValueError):
            mdp.P[...] = 0.0
    clone = pickle.loads(pickle.dumps(mdp))
    assert np.array_equal(clone.P, mdp.P) and np.array_equal(clone.R, mdp.R) and clone.is_sparse == mdp.is_sparse
    assert np.array_equal(mdp.to_sparse().P, mdp.P)
    assert np.array_equal(mdp.to_dense().P, mdp.P)
    assert np.allclose(mdp.P.sum(axis=-1), 1.0, atol=1e-12)
    assert abs(mdp.mu0.sum() - 1.0) < 1e-12
    assert 1 <= mdp.max_successors <= mdp.S


def test_successor_list_equals_dense():
    succ = [[([0, 1], [0.25, 0.75]), ([2], [1.0])], [([1], [1.0]), ([0, 2], [0.5, 0.5])], [([2], [1.0])] * 2]
    m = TabularMDP(succ, np.ones((3, 2)), gamma=0.5)
    assert m.is_sparse and m.max_successors == 2
    assert np.array_equal(m.P[0, 0], [0.25, 0.75, 0.0]) and np.array_equal(m.P[1, 1], [0.5, 0.0, 0.5])
    with pytest.raises(ValueError, match=r"next state out of range"):
        TabularMDP([[([3], [1.0])]] * 3, np.ones((3, 1)), gamma=0.5)


def test_with_rewards_validates_and_keeps_dynamics():
    m = TabularMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), horizon=3, mu0=1)
    m2 = m.with_rewards(np.ones((3, 2, 2)))
    assert m2.horizon == 3 and not m2.time_homogeneous and m2.mu0[1] == 1.0
    with pytest.raises(ValueError, match="R"):
        m.with_rewards(np.ones((4, 2, 2)))
    assert repr(m).startswith("TabularMDP(S=2, A=2, H=3")


def test_sparse_inhomogeneous_rows_checked_per_step():
    H, S, A = 2, 2, 1
    M = sp.csr_matrix(np.array([[1.0, 0.0], [0.5, 0.5], [0.3, 0.3], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"\(h=1, s=0, a=0\) sums to 0.6"):
        TabularMDP(M, np.zeros((S, A)), horizon=H)


@pytest.mark.parametrize("gamma", [-0.0, np.float64(-0.0), np.float32(-0.0), 0.0, 0])
def test_negative_zero_gamma_is_stored_as_positive_zero(gamma):
    import math

    m = TabularMDP(np.full((2, 1, 2), 0.5), np.ones((2, 1)), gamma=gamma)
    assert m.gamma == 0.0 and math.copysign(1.0, m.gamma) == 1.0 and type(m.gamma) is float
    assert "gamma=0.0," in repr(m) and "-0.0" not in repr(m)


@pytest.mark.parametrize("horizon, shown", [(1e300, "1.00e+300"), (10**300, "1.00e+300"), (2**62, "4.61e+18"),
                                            (10**5000, "1.00e+5000")], ids=["1e300", "10**300", "2**62", "10**5000"])
def test_absurd_horizons_are_refused_with_a_short_message(horizon, shown):
    with pytest.raises(ValueError, match=rf"^horizon: H={re.escape(shown)} with S=2") as info:
        TabularMDP(np.full((2, 1, 2), 0.5), np.ones((2, 1)), horizon=horizon)
    assert len(str(info.value)) < 300
