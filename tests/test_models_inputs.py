"""How TabularMDP reads unusual but valid (or almost valid) inputs: integer kinds, wide floats, bools."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from rltheory import TabularMDP

_R = np.zeros((2, 1))


def _succ(nxt, probs=(0.5, 0.5)):
    return [[(nxt, probs)], [((0, 1), (0.5, 0.5))]]


@pytest.mark.parametrize("nxt", [(np.uint64(1), np.int64(0)), [np.uint64(1), np.int64(0)],
                                 (np.uint64(1), 0), (np.uint8(1), np.int64(0), np.uint64(1))])
def test_successor_list_reads_mixed_integer_kinds_exactly(nxt):
    # NumPy promotes uint64 with int64 (or a Python int) to float64; the input is integers all the same
    probs = (0.5, 0.5) if len(nxt) == 2 else (0.25, 0.5, 0.25)
    m = TabularMDP(_succ(nxt, probs), _R, gamma=0.5)
    expect = np.zeros(2)
    np.add.at(expect, [int(x) for x in nxt], probs)
    assert np.array_equal(m.P_csr.toarray()[0], expect)
    assert m.P_csr.indices.dtype == np.int32


@pytest.mark.parametrize("nxt", [(np.uint64(2**64 - 1), np.int64(0)), (np.uint64(1), np.int64(-1)), (0, 2**70),
                                 (np.uint64(2), np.int64(0))])
def test_successor_list_mixed_kinds_out_of_range(nxt):
    with pytest.raises(ValueError, match=r"^P: next state out of range \[0, 2\) for \(s=0, a=0\)$"):
        TabularMDP(_succ(nxt), _R, gamma=0.5)


@pytest.mark.parametrize("nxt, what", [((1, 0.0), "dtype=float64"), ((np.uint64(1), 0.0), "dtype=float64"),
                                       ((True, 0), "a bool"), ((np.True_, np.int64(0)), "a bool"),
                                       ((True, False), "dtype=bool"), ((np.uint64(1), True), "a bool"),
                                       (("1", 0), "dtype=<U")])
def test_successor_list_non_integers_are_refused(nxt, what):
    with pytest.raises(TypeError, match=rf"^P: next states of \(s=0, a=0\) must be integers, got {what}"):
        TabularMDP(_succ(nxt), _R, gamma=0.5)
