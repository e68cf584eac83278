"""Value arrays V handed to the public solver functions: shape and finiteness are checked."""
import numpy as np
import pytest

from rltheory import TabularMDP
from rltheory.solvers import next_value_variance


def _models():
    P = np.array([[[0.5, 0.5], [1.0, 0.0]], [[0.25, 0.75], [0.0, 1.0]]])
    R = np.zeros((2, 2))
    disc = TabularMDP(P, R, gamma=0.5)
    fin = TabularMDP(P, R, horizon=3)
    return {"dense": disc, "sparse": disc.to_sparse(), "finite": fin, "finite_sparse": fin.to_sparse()}


@pytest.mark.parametrize("kind", ["dense", "sparse", "finite", "finite_sparse"])
@pytest.mark.parametrize("bad, text", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_next_value_variance_refuses_non_finite_values(kind, bad, text):
    # it returned NaN (dense and sparse kernels not even in the same entries) instead of refusing V
    m = _models()[kind]
    V = np.array([bad, 1.0])
    with pytest.raises(ValueError, match=rf"^V: non-finite value {text} at index \(0,\)$"):
        next_value_variance(m, V)
    if m.finite_horizon:
        VH = np.zeros((m.horizon + 1, m.S))
        VH[2, 1] = bad
        with pytest.raises(ValueError, match=rf"^V: non-finite value {text} at index \(2, 1\)$"):
            next_value_variance(m, VH)


@pytest.mark.parametrize("V", [[1.0, 2.0, 3.0], [[1.0, 2.0]], 1.0])
def test_next_value_variance_refuses_wrong_shapes(V):
    for m in _models().values():
        with pytest.raises(ValueError, match=r"^V: expected shape"):
            next_value_variance(m, V)


def test_next_value_variance_dense_and_sparse_agree():
    ms = _models()
    V = np.array([0.0, 2.0])
    expect = np.array([[1.0, 0.0], [0.75, 0.0]])  # Var of V under (0.5, 0.5), (1, 0), (0.25, 0.75), (0, 1)
    assert np.allclose(next_value_variance(ms["dense"], V), expect)
    assert np.array_equal(next_value_variance(ms["dense"], V), next_value_variance(ms["sparse"], V))
    VH = np.array([[0.0, 0.0], [0.0, 2.0], [0.0, 2.0], [0.0, 0.0]])
    assert np.array_equal(next_value_variance(ms["finite"], VH), next_value_variance(ms["finite_sparse"], VH))
