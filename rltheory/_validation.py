"""Argument validation shared by the whole package: one rule per kind of argument.

Every function takes the argument's name first and raises

* :class:`TypeError` when the value has the wrong type (a ``str`` for an int, ``True`` for a count, ...),
* :class:`ValueError` when it has the right type but a wrong value (a negative count, a probability above 1,
  a non-integral float for an int, NaN),

with a message that always starts with ``"<name>: "``. Integers follow the rule of a finite horizon: Python and
NumPy ints are accepted, and so are floats that hold a whole number (``5.0``, e.g. read from a JSON or YAML
configuration); ``bool`` is never a number here. The fused validation kernels of the tabular models live in
:mod:`rltheory.models._validate`; this module is for scalar arguments.
"""
from __future__ import annotations

import decimal
import math
import numbers

import numpy as np

__all__ = ["check_int", "check_real", "check_probability", "check_seed", "as_generator", "check_type",
           "show_number", "narrow_to_float64", "unmasked", "MAX_SEED"]

#: largest seed accepted (the largest SQLite INTEGER, so that a seed can key a stored sweep row)
MAX_SEED = 2**63 - 1


def _type_name(value) -> str:
    return type(value).__name__


def show_number(value) -> str:
    """``repr(value)`` for an error message, with integers of more than 15 digits shortened to three significant
    digits (``1e+300`` instead of 301 digits; Python refuses to print ints beyond 4300 digits at all).

    Parameters
    ----------
    value : object
        The number (any other object is shown by its ``repr``).

    Returns
    -------
    str
        The text to show.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        v = int(value)
        if abs(v) >= 10**15:
            return f"{decimal.Decimal(v):.3g}"  # exact decimal rounding, no float overflow
        return str(v)
    if isinstance(value, numbers.Rational) and not isinstance(value, (bool, np.bool_)):
        try:  # a Fraction: its parts shortened like integers
            num, den = int(value.numerator), int(value.denominator)
        except (TypeError, ValueError, AttributeError):
            return repr(value)
        return show_number(num) if den == 1 else f"{show_number(num)}/{show_number(den)}"
    return repr(value)


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """Validate an integer argument and return it as a Python ``int``.

    Parameters
    ----------
    name : str
        The argument's name, first word of every error message.
    value : int, numpy integer or float holding a whole number
        The value to check; ``bool`` is rejected. A ``Fraction`` or a float wider than float64 (``longdouble``)
        is judged and converted exactly, not through its float64 rounding.
    low, high : int, optional
        Inclusive bounds ``low <= value <= high`` (``None``: unbounded on that side).

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    TypeError
        ``value`` is a bool or not a real number.
    ValueError
        ``value`` is a float that is not a whole number (NaN and infinities included), or lies outside
        ``[low, high]``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected an int, got {_type_name(value)}")
    if not isinstance(value, numbers.Integral):
        # read exactly where float64 could round a non-whole value to a whole one (or change a whole one)
        if isinstance(value, numbers.Rational):  # e.g. Fraction(10**400, 1); whole only with denominator 1
            if value.denominator != 1:
                raise ValueError(f"{name}: must be a whole number, got {_show_digits(value)}")
            value = int(value.numerator)
        elif isinstance(value, np.floating) and value.dtype.itemsize > 8:  # longdouble: more digits than float64
            if not (np.isfinite(value) and value.is_integer()):
                raise ValueError(f"{name}: must be a whole number, got {show_number(value)}")
            value = int(value)
        else:
            try:
                v = float(value)
            except OverflowError:  # a Fraction beyond the float64 range
                v = math.nan
            if not math.isfinite(v) or not v.is_integer():
                raise ValueError(f"{name}: must be a whole number, got {show_number(value)}")
            value = int(v)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}: must be {_range_text(low, high)}, got {show_number(value)}")
    return value


def _range_text(low, high, lo_bracket: str = "[", hi_bracket: str = "]") -> str:
    """``">= low"``, ``"< high"``, ``"in [low, high)"``, ... for the bounds that are given."""
    if high is None:
        return f"{'>=' if lo_bracket == '[' else '>'} {low}"
    if low is None:
        return f"{'<=' if hi_bracket == ']' else '<'} {high}"
    return f"in {lo_bracket}{low}, {high}{hi_bracket}"


def check_real(name: str, value, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """Validate a real-valued argument and return it as a Python ``float``.

    Parameters
    ----------
    name : str
        The argument's name, first word of every error message.
    value : int, float or numpy scalar
        The value to check; ``bool`` is rejected. It is converted to float64 first and checked as converted: an
        int beyond the float64 range counts as an infinity of its sign (so it is rejected with ``finite``, or when
        it lies outside the interval), and a value that rounds onto or past a bound (a longdouble just below 1
        for ``high=1, high_open=True``, a tiny Fraction for ``low=0, low_open=True``) is rejected, the message
        saying what it rounds to.
    low, high : float, optional
        Bounds of the admitted interval (``None``: unbounded on that side).
    low_open, high_open : bool
        Whether the bound is excluded (``low < value`` instead of ``low <= value``).
    finite : bool
        Whether NaN and infinities are rejected (NaN always is).

    Returns
    -------
    float
        ``value`` as a Python float.

    Raises
    ------
    TypeError
        ``value`` is a bool or not a real number.
    ValueError
        ``value`` is NaN, infinite (with ``finite``) or outside the interval.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {_type_name(value)}")
    try:
        v = float(value)
    except OverflowError:  # an int beyond the float64 range
        v = math.inf if value > 0 else -math.inf
    if math.isnan(v) or (finite and not math.isfinite(v)):
        note = _rounding_note(value, v) if not math.isnan(v) and _exactly_finite(value) else ""
        raise ValueError(f"{name}: must be a finite number, got {show_number(value)}{note}")
    if _outside(v, low, high, low_open, high_open):
        try:  # the value itself, compared exactly (int, Fraction, longdouble with a float bound)
            exact_inside = not _outside(value, low, high, low_open, high_open)
        except Exception:  # a Real type that will not compare with a float: no claim about it
            exact_inside = False
        note = _rounding_note(value, v) if exact_inside else ""
        shown = _show_digits(value) if note else show_number(value)
        raise ValueError(f"{name}: must be {_range_text(low, high, '(' if low_open else '[', ')' if high_open else ']')}"
                         f", got {shown}{note}")
    return v


def _outside(x, low, high, low_open: bool, high_open: bool) -> bool:
    """Whether ``x`` lies outside the interval (``None``: unbounded on that side)."""
    below = low is not None and bool(x <= low if low_open else x < low)
    above = high is not None and bool(x >= high if high_open else x > high)
    return below or above


def _exactly_finite(value) -> bool:
    """Whether ``value`` is a finite number before its conversion to float64 (every int and Fraction is; a NumPy
    float wider than float64 may be finite where its float64 rounding is not). False when that cannot be told."""
    if isinstance(value, numbers.Rational):
        return True
    if isinstance(value, np.floating):
        return bool(np.isfinite(value))
    return False


def _show_digits(value) -> str:
    """``value`` for a message that says what it rounds to: an int or Fraction in all its digits while they are
    few (:func:`show_number` keeps three of them, which would hide the difference that rounding removed)."""
    if isinstance(value, numbers.Rational) and not isinstance(value, (bool, np.bool_)):
        try:
            num, den = int(value.numerator), int(value.denominator)
        except (TypeError, ValueError, AttributeError):
            return show_number(value)
        if abs(num) < 10**40 and den < 10**40:
            return str(num) if den == 1 else f"{num}/{den}"
    return show_number(value)


def _rounding_note(value, v: float) -> str:
    """The end of a message for a ``value`` whose float64 rounding ``v`` fails a check the value itself passes:
    the check is made in float64 (every computation of the package is), so the message says what it saw."""
    if math.isinf(v):
        return f", which is beyond the float64 range (it rounds to {v!r} in float64)"
    if v == 0.0:
        return f", which underflows: it rounds to {v!r} in float64"
    return f", which rounds to {v!r} in float64"


def check_probability(name: str, value) -> float:
    """Validate a probability: a real number in ``[0, 1]``.

    Parameters
    ----------
    name : str
        The argument's name, first word of every error message.
    value : float
        The value to check.

    Returns
    -------
    float
        ``value`` as a Python float.

    Raises
    ------
    TypeError
        ``value`` is a bool or not a real number.
    ValueError
        ``value`` is NaN or outside ``[0, 1]``.
    """
    return check_real(name, value, low=0.0, high=1.0)


def check_seed(name: str, value, *, high: int = MAX_SEED) -> int:
    """Validate a random seed: an integer in ``[0, high]``.

    Parameters
    ----------
    name : str
        The argument's name, first word of every error message.
    value : int
        The seed.
    high : int
        Largest admitted seed: :data:`MAX_SEED` by default, ``2**32 - 1`` for a seed handed to
        ``np.random.seed`` inside a Numba kernel.

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    TypeError
        ``value`` is not an int (see :func:`check_int`).
    ValueError
        ``value`` is negative or above ``high``.
    """
    seed = check_int(name, value, low=0)
    if seed > high:
        raise ValueError(f"{name}: must be <= {'2**63 - 1' if high == MAX_SEED else high}, got {seed}")
    return seed


def as_generator(name: str, seed) -> np.random.Generator:
    """A NumPy random generator from a seed, or the generator itself.

    Parameters
    ----------
    name : str
        The argument's name, first word of every error message.
    seed : int or numpy.random.Generator
        A seed accepted by :func:`check_seed`, or a generator (returned as it is, so the caller's stream advances).

    Returns
    -------
    numpy.random.Generator
        ``seed`` itself, or ``numpy.random.default_rng(seed)``.

    Raises
    ------
    TypeError
        ``seed`` is neither an int nor a generator.
    ValueError
        ``seed`` is a negative or too large int.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Real):
        raise TypeError(f"{name}: expected a non-negative int or a numpy Generator, got {_type_name(seed)}")
    return np.random.default_rng(check_seed(name, seed))


def check_type(name: str, value, types, what: str | None = None):
    """Check ``isinstance(value, types)``.

    Parameters
    ----------
    name : str
        The argument's name, first word of the error message.
    value : object
        The value to check.
    types : type or tuple of types
        The admitted types.
    what : str, optional
        How the message names the expected type (default: the type's name with an article).

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    TypeError
        ``value`` is not an instance of ``types``.
    """
    if not isinstance(value, types):
        if what is None:
            t = types if isinstance(types, type) else types[0]
            what = ("an " if t.__name__[0].lower() in "aeiou" else "a ") + t.__name__
        raise TypeError(f"{name}: expected {what}, got {_type_name(value)}")
    return value


def narrow_to_float64(name: str, arr: np.ndarray, where=None) -> np.ndarray:
    """``arr`` as float64 when it is an array of a float type wider than float64 (``longdouble`` where it is
    wider), refusing a finite entry beyond the float64 range instead of letting NumPy's cast turn it into an
    infinity (with a ``RuntimeWarning``) for a later check to call non-finite; any other array is returned as it
    is. Entries too small for float64 round to zero or a subnormal, as NumPy's cast rounds them, silently.

    Parameters
    ----------
    name : str
        The argument's name, first word of the error message.
    arr : ndarray
        The array.
    where : callable, optional
        ``where(i)`` describes the entry at flat index ``i`` in the message (default: ``"at index (i, j, ...)"``).

    Returns
    -------
    ndarray
        ``arr`` itself, or a new float64 array of its shape.

    Raises
    ------
    ValueError
        A finite entry's magnitude is beyond the float64 range.
    """
    if arr.dtype.kind != "f" or arr.dtype.itemsize <= 8:
        return arr
    with np.errstate(over="ignore", under="ignore"):
        out = arr.astype(np.float64)
    over = np.isinf(out) & np.isfinite(arr)
    if over.any():
        i = int(np.flatnonzero(over.reshape(-1))[0])
        at = where(i) if where is not None else f"at index {tuple(int(j) for j in np.unravel_index(i, arr.shape))}"
        raise ValueError(f"{name}: value {show_number(arr.reshape(-1)[i])} {at} is beyond the float64 range")
    return out


#: deepest nesting of lists scanned for masked arrays (NumPy's limit on the number of dimensions)
_MAX_NESTING = 64
_SEQUENCES = (list, tuple)


def _masked_entries(value, depth: int = 0, seen: dict | None = None) -> tuple[int, tuple[int, ...]] | None:
    """``(count, first index)`` of the masked entries of ``value``: a masked array, or a list or tuple holding
    masked arrays at any depth (the index then starts with the positions in the lists); ``None`` when there is
    none. Plain ndarrays and scalars end the scan (they hold no mask), so a nested list of numbers costs one
    C-level pass over each innermost list. ``seen`` maps the lists already scanned to their answer: a list
    repeated inside another (``[row] * A``) is scanned once, and a list that holds itself ends the walk."""
    if isinstance(value, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(value)
        if not mask.any():
            return None
        first = np.unravel_index(int(np.flatnonzero(mask.reshape(-1))[0]), mask.shape)
        return int(mask.sum()), tuple(int(i) for i in first)
    if not isinstance(value, _SEQUENCES):
        return None
    if seen is None:
        seen = {}
    key = id(value)  # (every list scanned stays alive meanwhile: it is inside `value`)
    if key in seen:
        return seen[key]
    seen[key] = None  # a list inside itself: NumPy refuses it anyway
    answer = None
    kinds = set(map(type, value))  # one C-level pass; a list of numbers ends here
    if any(issubclass(k, _SEQUENCES) or issubclass(k, np.ma.MaskedArray) for k in kinds):
        count, first = 0, None
        for i, x in enumerate(value):  # in index order: the first masked entry found is the first in C order
            if isinstance(x, np.ma.MaskedArray) or (isinstance(x, _SEQUENCES) and depth < _MAX_NESTING):
                found = _masked_entries(x, depth + 1, seen)
                if found is not None:
                    count += found[0]
                    if first is None:
                        first = (i,) + found[1]
        if first is not None:
            answer = (count, first)
    seen[key] = answer
    return answer


def unmasked(name: str, value):
    """``value`` itself, or the data of a NumPy masked array none of whose entries is masked; a list or tuple is
    scanned for masked arrays nested in it (at any depth up to NumPy's limit on dimensions).

    NumPy's ``asarray`` drops a mask without a word, also the masks of masked arrays inside a list, so a masked
    entry would silently be used as a real number (a hidden reward, a hidden transition probability); a masked
    entry is refused instead. A plain ``ndarray`` returns at once; in a nested list, only the lists are walked
    (the scan stops at plain ndarrays and scalars).

    Parameters
    ----------
    name : str
        The argument's name, the first word of the error message.
    value : object
        The argument.

    Returns
    -------
    object
        ``value``, or ``np.ma.getdata(value)`` for a masked array without a masked entry (a list holding masked
        arrays without masked entries is returned as it is: NumPy reads their data).

    Raises
    ------
    ValueError
        ``value`` is a masked array with a masked entry, or a list or tuple holding one (or ``np.ma.masked``);
        the message names the count and the first index (counting the list positions first).
    """
    if type(value) is np.ndarray:  # the common case
        return value
    if not isinstance(value, (np.ma.MaskedArray, list, tuple)):
        return value
    found = _masked_entries(value)
    if found is not None:
        n, first = found
        raise ValueError(f"{name}: {n} masked entr{'y' if n == 1 else 'ies'} (first at index {first}); a mask "
                         "would be ignored, so fill them first (np.ma.filled)")
    return np.ma.getdata(value) if isinstance(value, np.ma.MaskedArray) else value
