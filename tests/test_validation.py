"""Scalar argument checks of :mod:`rltheory._validation` and their messages."""
from fractions import Fraction

import numpy as np
import pytest

from rltheory import TabularMDP
from rltheory._validation import check_real

_P, _R = np.full((2, 1, 2), 0.5), np.zeros((2, 1))
_WIDE = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant  # longdouble wider than float64 here
wide_only = pytest.mark.skipif(not _WIDE, reason="longdouble is float64 on this platform")


@wide_only
def test_gamma_just_below_one_says_it_rounds_to_one():
    g = np.longdouble(1) - np.longdouble(2) ** -60  # in [0, 1), but 1.0 in float64
    with pytest.raises(ValueError, match=r"^gamma: .*rounds to 1\.0 in float64.*horizon=H"):
        TabularMDP(_P, _R, gamma=g)
    with pytest.raises(ValueError, match=r"^gamma: must be in \[0, 1\), got np\.longdouble\('1\.0+9'\); an undisc"):
        TabularMDP(_P, _R, gamma=np.longdouble(1) + np.longdouble(2) ** -60)  # above 1 exactly: no rounding note


def test_gamma_messages_without_rounding_stay_plain():
    for g, text in ((1, "got 1; an undiscounted"), (1.5, "got 1.5; an undiscounted"), (-0.25, "got -0.25$")):
        with pytest.raises(ValueError, match=rf"^gamma: must be in \[0, 1\), {text}"):
            TabularMDP(_P, _R, gamma=g)
    assert TabularMDP(_P, _R, gamma=Fraction(1, 2)).gamma == 0.5


def test_tiny_fraction_says_it_underflows():
    with pytest.raises(ValueError, match=r"^tol: must be > 0\.0, got 1/1\.00e\+400, which underflows: it rounds to "
                                         r"0\.0 in float64$"):
        check_real("tol", Fraction(1, 10**400), low=0.0, low_open=True)
    assert check_real("tol", Fraction(1, 10**400), low=0.0) == 0.0  # 0.0 is admitted: nothing to say
    with pytest.raises(ValueError, match=r"^tol: must be > 0\.0, got -1/1\.00e\+400$"):  # below 0 exactly
        check_real("tol", Fraction(-1, 10**400), low=0.0, low_open=True)


def test_rounding_onto_an_upper_bound_is_named():
    with pytest.raises(ValueError, match=r"^p: must be < 1, got \S+, which rounds to 1\.0 in float64$"):
        check_real("p", Fraction(2**54 - 1, 2**54), high=1, high_open=True)
    with pytest.raises(ValueError, match=r"^n: must be > 9007199254740992\.0, got 9007199254740993, which rounds "
                                         r"to 9007199254740992\.0 in float64$"):
        check_real("n", 2**53 + 1, low=2.0**53, low_open=True)  # above the bound exactly, on it in float64


@wide_only
def test_wide_float_beyond_float64_is_named():
    with pytest.raises(ValueError, match=r"^x: must be a finite number, got np\.longdouble\('1e\+400'\), which is "
                                         r"beyond the float64 range \(it rounds to inf in float64\)$"):
        check_real("x", np.longdouble(10) ** 400)
    with pytest.raises(ValueError, match=r"^x: must be a finite number, got np\.longdouble\('inf'\)$"):
        check_real("x", np.longdouble("inf"))


def test_a_real_type_that_will_not_compare_gets_the_plain_message():
    class Odd(float):
        def __lt__(self, other):
            raise RuntimeError("no")
        __le__ = __gt__ = __ge__ = __lt__

    with pytest.raises(ValueError, match=r"^x: must be >= 0, got -1\.0$"):
        check_real("x", Odd(-1.0), low=0)


def test_check_int_reads_fractions_exactly():
    from rltheory._validation import check_int

    # 2**60 + 1/2 rounds to the whole 2**60 in float64: it was accepted as that
    with pytest.raises(ValueError, match=r"^x: must be a whole number, got 2305843009213693953/2$"):
        check_int("x", Fraction(2**61 + 1, 2))
    with pytest.raises(ValueError, match=r"^x: must be a whole number, got 5/2$"):
        check_int("x", Fraction(5, 2))
    assert check_int("x", Fraction(2**60 + 1, 1)) == 2**60 + 1
    with pytest.raises(ValueError, match=r"^x: must be a whole number, got 1\.00e\+5000/3$"):
        check_int("x", Fraction(10**5000, 3))


@wide_only
def test_check_int_reads_longdouble_exactly():
    from rltheory._validation import check_int

    with pytest.raises(ValueError, match=r"^x: must be a whole number, got np\.longdouble\("):
        check_int("x", np.longdouble(2**60) + np.longdouble(0.5))  # was read as 2**60
    assert check_int("x", np.longdouble(2**60) + 1) == 2**60 + 1  # was read as 2**60
    assert check_int("x", np.longdouble(3)) == 3
    with pytest.raises(ValueError, match=r"^x: must be a whole number, got np\.longdouble\('nan'\)$"):
        check_int("x", np.longdouble("nan"))
    with pytest.raises(ValueError, match=r"^x: must be <= 5, got 1\.00e\+400$"):
        check_int("x", np.longdouble(10) ** 400, high=5)
