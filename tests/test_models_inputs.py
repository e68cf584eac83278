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


_WIDE = np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp  # longdouble reaches beyond float64 here
wide_only = pytest.mark.skipif(not _WIDE, reason="longdouble is float64 on this platform")
_BIG = np.longdouble(10) ** 400 if _WIDE else None  # finite in longdouble, beyond float64
_BEYOND = r"is beyond the float64 range$"


def _wide_kernel():
    P = np.full((2, 1, 2), 0.5, dtype=np.longdouble)
    P[1, 0, 1] = _BIG
    return P


def _lil_wide():
    L = sp.lil_matrix((2, 2))
    L.rows[0], L.data[0] = [0, 1], [0.5, 0.5]
    L.rows[1], L.data[1] = [1], [_BIG]
    return L


def _dok_wide():
    D = sp.dok_matrix((2, 2))
    D.update({(0, 0): np.longdouble(0.5), (0, 1): np.longdouble(0.5), (1, 1): _BIG})
    return D


@wide_only
@pytest.mark.parametrize("case, pattern", [
    (lambda: dict(P=np.full((2, 1, 2), 0.5), R=np.where(np.eye(2, 1) > 0, _BIG, np.longdouble(0))),
     rf"^R: value np\.longdouble\('1e\+400'\) at index \(0, 0\) {_BEYOND}"),
    (lambda: dict(P=np.full((2, 1, 2), 0.5), R=_R.astype(np.longdouble) - _BIG),
     rf"^R: value np\.longdouble\('-1e\+400'\) at index \(0, 0\) {_BEYOND}"),
    (lambda: dict(P=_wide_kernel(), R=_R), rf"^P: value np\.longdouble\('1e\+400'\) at index \(1, 0, 1\) {_BEYOND}"),
    (lambda: dict(P=np.full((2, 1, 2), 0.5), R=_R, mu0=np.array([_BIG, 0])), rf"^mu0: .* at index \(0,\) {_BEYOND}"),
    (lambda: dict(P=_succ((0, 1), np.array([0.5, _BIG])), R=_R), rf"^P: \(s=0, a=0\) probabilities: .*{_BEYOND}"),
    (lambda: dict(P=sp.csr_matrix(_wide_kernel().reshape(2, 2)), R=_R), rf"^P: .* stored at data\[3\] {_BEYOND}"),
    (lambda: dict(P=sp.coo_matrix(_wide_kernel().reshape(2, 2)), R=_R), rf"^P: .* stored at data\[3\] {_BEYOND}"),
    (lambda: dict(P=sp.csc_matrix(_wide_kernel().reshape(2, 2)), R=_R), rf"^P: .* stored at data\[3\] {_BEYOND}"),
    (lambda: dict(P=sp.bsr_matrix(_wide_kernel().reshape(2, 2)), R=_R), rf"^P: .*{_BEYOND}"),
    (lambda: dict(P=sp.dia_matrix(_wide_kernel().reshape(2, 2)), R=_R), rf"^P: .*{_BEYOND}"),
    (lambda: dict(P=_lil_wide(), R=_R), r"^P: LIL row 1 holds a value beyond the float64 range"),
    (lambda: dict(P=_dok_wide(), R=_R), rf"^P: .* stored at data\[2\] {_BEYOND}"),
])
def test_wide_floats_beyond_float64_are_named_without_warnings(case, pattern):
    # NumPy's cast turned such an entry into inf (with a RuntimeWarning), then called "non-finite" by our check
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=pattern):
            TabularMDP(gamma=0.5, **case())


@wide_only
def test_wide_floats_in_range_are_read_and_values_too():
    from rltheory.solvers import bellman_backup

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = np.full((2, 1, 2), 0.5, dtype=np.longdouble)
        m = TabularMDP(P, _R.astype(np.longdouble) + np.longdouble(1) / 3, gamma=0.5)
        assert m.P.dtype == np.float64 and m.R[0, 0] == 1 / 3
        assert np.array_equal(TabularMDP(sp.csr_matrix(P.reshape(2, 2)), _R, gamma=0.5).P, m.P)
        with pytest.raises(ValueError, match=rf"^V: value np\.longdouble\('1e\+400'\) at index \(1,\) {_BEYOND}"):
            bellman_backup(m, np.array([0, _BIG]))
        with pytest.raises(ValueError, match=r"^V: an entry is beyond the float64 range"):
            bellman_backup(m, np.array([0, _BIG], dtype=object))
        with pytest.raises(ValueError, match=r"^R: non-finite value inf at index \(0, 0\)$"):  # a true infinity
            TabularMDP(P, np.full((2, 1), np.inf, dtype=np.longdouble), gamma=0.5)


def _dok_with(key, value):
    D = sp.dok_matrix(np.array([[0.5, 0.5], [0.0, 1.0]]))
    store = D._dict if hasattr(D, "_dict") else D  # (scipy's DOK is a dict, or holds one)
    dict.__delitem__(store, (1, 1))
    dict.__setitem__(store, key, value)
    return D


@pytest.mark.parametrize("key, value, pattern", [
    ((True, 1), 1.0, r"^P: DOK keys must be \(row, col\) pairs of integers, got a bool in the key \(True, 1\)$"),
    ((1, np.True_), 1.0,
     r"^P: DOK keys must be \(row, col\) pairs of integers, got a bool in the key \(1, np\.True_\)$"),
    ((1, 1), True, r"^P: DOK values must be real numbers, got a bool at key \(1, 1\)$"),
    ((1, 1), np.True_, r"^P: DOK values must be real numbers, got a bool at key \(1, 1\)$"),
    ((1, 1), np.array(True), r"^P: DOK values must be real numbers, got a bool at key \(1, 1\)$"),
])
def test_dok_refuses_bools_as_lil_does(key, value, pattern):
    # these were read as 1 (NumPy's promotion of a mixed list), while LIL refused the same entries
    with pytest.raises(TypeError, match=pattern):
        TabularMDP(_dok_with(key, value), _R, gamma=0.5)
    assert np.array_equal(TabularMDP(_dok_with((1, 1), 1.0), _R, gamma=0.5).P_csr.toarray(), [[0.5, 0.5], [0, 1]])


_BOOL_KERNEL = np.array([[True, False], [False, True]])


@pytest.mark.parametrize("make", [lambda: _BOOL_KERNEL.reshape(2, 1, 2)]
                         + [lambda f=f: sp.csr_matrix(_BOOL_KERNEL).asformat(f)
                            for f in ("csr", "coo", "csc", "bsr", "dia", "lil", "dok")]
                         + [lambda: sp.coo_array(_BOOL_KERNEL), lambda: sp.csr_array(_BOOL_KERNEL)])
def test_a_bool_kernel_is_refused_in_every_format(make):
    # the dense path refuses a bool P with a TypeError naming P; every sparse format does the same
    P = make()
    with pytest.raises(TypeError, match=r"^P: .*(bool|dtype=bool)"):
        TabularMDP(P, _R, gamma=0.5)


def test_swapped_p_and_r_get_a_hint():
    """QuantEcon's order, TabularMDP(R, P, gamma): the error says the arguments look swapped."""
    import re

    import numpy as np
    import pytest

    from rltheory import TabularMDP

    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(4), size=(4, 2))
    R = rng.random((4, 2))
    with pytest.raises(ValueError, match=re.escape("R: a time-dependent reward (H, S, A) needs a finite horizon; "
                                                   "P and R look swapped")):
        TabularMDP(R, P, gamma=0.9)
    with pytest.raises(ValueError) as info:  # a genuine (H, S, A) reward without horizon: no hint
        TabularMDP(P, rng.random((3, 4, 2)), gamma=0.9)
    assert "swapped" not in str(info.value)


@pytest.mark.parametrize("horizon", [3, 4, 7])
@pytest.mark.parametrize("as_list", [False, True])
def test_swapped_p_and_r_get_a_hint_with_a_horizon(horizon, as_list):
    """TabularMDP(R, P, horizon=H): with H = S the kernel reads as a time-dependent reward and P's shape is refused,
    otherwise R's leading dimension differs from H; either error says the arguments look swapped, with horizon."""
    import re

    import numpy as np
    import pytest

    from rltheory import TabularMDP

    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(4), size=(4, 2))
    R = rng.random((4, 2))
    R[0, 1] = -np.inf  # (QuantEcon marks an infeasible action so)
    first = "P: expected shape (S, A, S) or (H, S, A, S), got (4, 2)" if horizon == 4 else \
        f"R: leading dimension 4 differs from horizon {horizon}"
    hint = "; P and R look swapped: R has rows summing to 1 and P the (S, A) shape of a reward. TabularMDP takes " \
        "P first: TabularMDP(P, R, horizon=...)"
    with pytest.raises(ValueError, match="^" + re.escape(first + hint)):
        TabularMDP(R.tolist() if as_list else R, P.tolist() if as_list else P, horizon=horizon)


def test_a_wrong_shape_with_a_horizon_gets_no_swap_hint():
    import numpy as np
    import pytest

    from rltheory import TabularMDP

    rng = np.random.default_rng(2)
    P = rng.dirichlet(np.ones(4), size=(4, 2))
    for P_arg, R_arg, horizon in [(P, rng.random((3, 4, 2)), 5),  # a time-dependent reward of the wrong length
                                  (rng.random((4, 2)), rng.random((4, 4, 2)), 4),  # R's rows do not sum to 1
                                  (rng.random((4, 2)), rng.random((4, 2)), 5)]:  # two rewards
        with pytest.raises(ValueError) as info:
            TabularMDP(P_arg, R_arg, horizon=horizon)
        assert "swapped" not in str(info.value), str(info.value)
