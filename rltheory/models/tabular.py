"""Validated, immutable tabular MDPs.

A :class:`TabularMDP` is either

* **finite-horizon** (``horizon=H``): the value of a Markov policy ``pi`` is
  ``V_h(s) = E[sum_{t=h}^{H-1} r_t(s_t, a_t) | s_h = s]`` with ``V_H = 0``; transitions and rewards may
  be time-homogeneous (``P[s, a, s']``, ``R[s, a]``) or time-inhomogeneous (``P[h, s, a, s']``, ``R[h, s, a]``);
* **discounted** (``gamma`` in ``[0, 1)``): ``V(s) = E[sum_t gamma^t r(s_t, a_t) | s_0 = s]``.

Transitions are stored either dense or as CSR rows over the flattened index ``(h*S + s)*A + a``
(``hp*S*A`` rows of length ``S``, ``hp`` = 1 for time-homogeneous kernels, ``H`` otherwise).
Validation happens once, at construction; every array handed out is a fresh read-only view (so that changing its
``dtype``, ``shape`` or data pointer changes nothing the model keeps), and a model's private arrays cannot be made
writable through NumPy's own operations (:func:`_sealed`). A kernel kept without a copy (``copy=False``) is checked
again, cheaply, each time it is handed to a solver (see ``TabularMDP``'s ``copy``).
"""
from __future__ import annotations

import functools
import itertools
import numbers
import operator
import os
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from .._validation import _masked_entries, check_int, check_real, check_type, narrow_to_float64, show_number, unmasked
from . import _validate as _V

__all__ = ["TabularMDP", "ROW_SUM_ATOL"]

#: Tolerance on ``|sum_{s'} P(s'|s,a) - 1|`` accepted at construction.
ROW_SUM_ATOL = 1e-9

# dtype objects compared against on the construction path (a comparison with a dtype object is cheaper than one
# with a scalar type, which NumPy converts first; the outcome is the same)
_F64, _I32, _I64 = np.dtype(np.float64), np.dtype(np.int32), np.dtype(np.int64)


def readonly(a: np.ndarray) -> np.ndarray:
    """A read-only C-contiguous view of ``a`` (the flag of ``a`` itself is not changed).

    Parameters
    ----------
    a : ndarray

    Returns
    -------
    ndarray
        A view with ``flags.writeable = False`` (a C-contiguous copy first when ``a`` is not C-contiguous).
    """
    v = np.ascontiguousarray(a).view()
    v.setflags(write=False)
    return v


#: Private arrays smaller than this many bytes are sealed by copying them into an immutable ``bytes`` object (one
#: copy, the cheapest route for small arrays); larger ones are wrapped without a copy (:class:`_SealedOwner`),
#: since a copy into ``bytes`` of a large array is several times slower than NumPy's own copy.
_SEAL_COPY_MAX_BYTES = 1 << 20


class _SealedOwner:
    """The owner NumPy sees for a large private array sealed without a copy (:func:`_sealed`): it exposes the
    array's memory through ``__array_interface__`` flagged read-only and no buffer protocol, so an array built on
    it can never be made writable. ``_a`` keeps the wrapped array, and so its memory, alive.

    ``__array_interface__`` is a read-only property that builds a new dict on each read from the pieces kept in
    slots (an owner is reachable through the ``.base`` of every array over it: a dict kept on it could be edited to
    flag the memory writable, and every later ``np.asarray`` of the owner would then write the model's array)."""

    __slots__ = ("_a", "_shape", "_typestr", "_strides", "_address")

    def __init__(self, a: np.ndarray):
        self._a = a
        iface = a.__array_interface__  # a fresh dict on each read: nothing of it is kept
        self._shape = tuple(iface["shape"])
        self._typestr = str(iface["typestr"])
        self._strides = None if iface.get("strides") is None else tuple(iface["strides"])
        self._address = int(iface["data"][0])

    @property
    def __array_interface__(self) -> dict:
        return {"shape": self._shape, "typestr": self._typestr, "strides": self._strides,
                "data": (self._address, True), "version": 3}


def _chain_end(a, *, readonly: bool):
    """What the chain of ``.base`` arrays of ``a`` ends in: the first object of it that is not a plain ``ndarray``
    (``None`` when the last array owns its memory); ``None`` as well when ``readonly`` and an array of the chain is
    writable."""
    x = a
    while type(x) is np.ndarray:
        if readonly and x.flags.writeable:
            return None
        x = x.base
    return x


def _over_immutable_memory(a) -> bool:
    """Whether ``a`` is a plain ``ndarray`` whose chain of ``.base`` arrays (all plain ndarrays) ends in an
    immutable ``bytes`` object or in a :class:`_SealedOwner`: an array :func:`_sealed` returned, a view of one, or
    an array NumPy unpickled over the pickle's own bytes. Such an array is sealed once every array of that chain is
    marked read-only (NumPy never lets an array over such an end become writable again); until then it may be
    writable (NumPy unpickles a large array writable over its ``bytes``)."""
    return type(_chain_end(a, readonly=False)) in (bytes, _SealedOwner)


def _is_sealed(a) -> bool:
    """Whether ``a`` is sealed: :func:`_over_immutable_memory`, with every array of its chain read-only. Said of an
    array built by this module; an array a caller passes may satisfy it and still have a writable alias (NumPy
    builds writable arrays over ``bytes``): see :func:`_is_owner_sealed`."""
    return type(_chain_end(a, readonly=True)) in (bytes, _SealedOwner)


def _is_owner_sealed(a) -> bool:
    """Whether an array a caller passed can be trusted as sealed: every array of its chain of ``.base`` arrays is a
    read-only plain ``ndarray`` and the chain ends in a :class:`_SealedOwner` (an object only this module creates,
    whose memory NumPy never exposes writable). A chain ending in ``bytes`` is not enough: NumPy unpickles large
    arrays writable over the pickle's ``bytes`` (protocols 2 to 4) and ``ndarray.__setstate__`` can put a second
    array over the same ``bytes``, so a writable alias of such an array may exist; it is copied instead (an array
    of a model's own over ``bytes`` is below ``_SEAL_COPY_MAX_BYTES``, so that copy is small)."""
    return type(_chain_end(a, readonly=True)) is _SealedOwner


def _into_bytes(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``a`` over a new immutable ``bytes`` object of its own, sealed (one copy: the
    route of :func:`_sealed` for small arrays)."""
    b = np.frombuffer(a.tobytes(), a.dtype)
    return b if a.ndim == 1 else b.reshape(a.shape)


def _sealed(a: np.ndarray) -> np.ndarray:
    """``a``, an array of the model's own, in a read-only form that NumPy's own operations cannot make writable.

    NumPy lets a read-only view be made writable again (``setflags(write=True)``) while the array it views is
    writable, and lets an array that owns its memory be made writable again at any time; so neither a read-only
    view (:func:`readonly`) nor marking the whole chain of ``.base`` arrays read-only keeps anyone from rewriting
    a validated model through the arrays it hands out (``P``, ``csr_arrays``, ``R``, ``mu0``): with an
    out-of-range next-state index written into a CSR kernel that way, the compiled solvers would read out of
    bounds. NumPy only refuses when the memory at the end of the chain is not an array and offers no writable
    buffer, and two such ends are used:

    * below ``_SEAL_COPY_MAX_BYTES``, a copy of ``a`` into an immutable ``bytes`` object, viewed by
      ``np.frombuffer`` (one copy, the cheapest route for small arrays);
    * from there on, no copy: ``a`` is wrapped in a :class:`_SealedOwner` whose ``__array_interface__`` exposes
      ``a``'s memory as read-only (a copy into ``bytes`` is much slower than NumPy's own copy for large arrays).

    What remains are deliberate raw-pointer routes, as with ``ctypes``: reaching a private attribute (the owner's
    ``_a``), the garbage collector's introspection, or building an object of one's own that exposes the data
    pointer flagged writable (``d = dict(x.__array_interface__)`` with ``d["data"] = (address, False)``, then
    ``np.asarray`` of it), which writes any array's memory, sealed or not. Never used on a caller's array: those
    are frozen only once the whole model is validated (:func:`_freeze_shared`) and checked again on every hand-out
    (:meth:`TabularMDP._verify_shared`).

    Parameters
    ----------
    a : ndarray
        An array no caller holds.

    Returns
    -------
    ndarray
        A new view of ``a`` when it lies over immutable memory already (:func:`_over_immutable_memory`: a view
        of another model's private array, or an unpickled array, is kept without a copy, its chain marked
        read-only; never ``a`` itself, whose holder can reset its dtype, shape or data), else a sealed array of the
        same values, dtype and shape, C-contiguous when ``a`` is small.
    """
    if _over_immutable_memory(a):  # another model's private array, a view of one, or an unpickled array
        x = a
        while type(x) is np.ndarray:
            if x.flags.writeable:  # (setflags costs more than reading the flag)
                x.setflags(write=False)
            x = x.base
        return a.view()  # (a new object: whoever holds ``a`` can reset its dtype, shape or data)
    if a.nbytes < _SEAL_COPY_MAX_BYTES:
        return _into_bytes(a)
    return np.asarray(_SealedOwner(a))


_ONE_BYTES = np.float64(1.0).tobytes()


def _point_mass(k: int, S: int) -> np.ndarray:
    """The distribution on ``S`` states concentrated on state ``k``, sealed (:func:`_sealed`): its bytes are
    written straight into an immutable ``bytes`` object (float64 zero is all zero bytes), without the array
    that :func:`_sealed` would copy."""
    return np.frombuffer(bytes(8 * k) + _ONE_BYTES + bytes(8 * (S - 1 - k)), _F64)


@functools.cache
def _memory_bytes() -> int:
    """This machine's physical memory in bytes (a generous constant where the OS does not say); read once."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 1 << 46


def _gib(nbytes: float) -> str:
    try:
        return f"{nbytes / 2**30:.3g} GiB"
    except OverflowError:  # a byte count beyond the float64 range (absurd horizons)
        return f"{show_number(int(nbytes) >> 30)} GiB"


def _check_float64_size(n_elements: int, shape, field: str) -> None:
    """Refuse, before allocating, a float64 array of ``n_elements`` that cannot fit in this machine's memory."""
    need = 8 * int(n_elements)
    if need > _memory_bytes():
        raise ValueError(f"{field}: an array of shape {tuple(shape)} needs {_gib(need)} as float64, more than this "
                         f"machine's {_gib(_memory_bytes())} of memory")


def check_solution_size(H: int, S: int, A: int, *, field: str = "horizon") -> None:
    """Refuse a finite horizon whose solution arrays cannot be allocated.

    Solving with horizon ``H`` returns ``V`` (H+1, S), ``Q`` (H, S, A) and a policy (H, S), i.e.
    ``8 ((H+1) S + H S A + H S)`` bytes; a horizon for which that exceeds this machine's physical memory is
    rejected with a ``ValueError`` naming ``field`` instead of failing later inside NumPy.

    Parameters
    ----------
    H, S, A : int
        Horizon and sizes.
    field : str
        Name of the argument in the error message.

    Raises
    ------
    ValueError
        The arrays need more bytes than the machine's physical memory.
    """
    need = 8 * ((H + 1) * S + H * S * A + H * S)
    if need > _memory_bytes():
        raise ValueError(f"{field}: H={show_number(H)} with S={S}, A={A} needs {_gib(need)} for the solution arrays "
                         f"(V (H+1, S), Q (H, S, A), policy (H, S)), more than this machine's "
                         f"{_gib(_memory_bytes())} of memory")


def horizon_arg(horizon, *, field: str = "horizon") -> int:
    """``horizon`` as an int ``>= 1``: ints and integral floats (``5.0``) are accepted, ``bool`` and non-numbers
    raise ``TypeError``, ``5.5``, NaN, infinities and values below 1 raise ``ValueError``.

    Parameters
    ----------
    horizon : int or float
        The horizon.
    field : str
        Name of the argument in error messages.

    Returns
    -------
    int
        The horizon (the rule of :func:`rltheory._validation.check_int` with ``low=1``).
    """
    return check_int(field, horizon, low=1)


def _gamma_arg(gamma) -> float:
    """``gamma`` as a float in ``[0, 1)`` (:func:`rltheory._validation.check_real`), with a hint for ``gamma = 1``;
    ``-0.0`` is stored as ``+0.0`` (``x + 0.0`` maps ``-0.0`` to ``+0.0`` and leaves every other float as it is)."""
    if type(gamma) is float and 0.0 <= gamma < 1.0:  # the common case, without the general checks (NaN fails here)
        return gamma + 0.0
    g = check_real("gamma", gamma)  # a finite real number (its own errors otherwise)
    try:  # checked as rounded to float64: the message says when a value just below 1 rounds to 1.0
        return check_real("gamma", gamma, low=0, high=1, high_open=True) + 0.0
    except ValueError as exc:
        if g < 1.0:
            raise
        raise ValueError(f"{exc}; an undiscounted (gamma = 1) problem needs a finite horizon: pass horizon=H "
                         "instead of gamma") from None


def _numeric_array(x, field: str) -> np.ndarray:
    """``np.asarray(x)`` after rejecting sparse, object, bool and complex input (TypeError naming ``field``)."""
    if isinstance(x, (sp.spmatrix, sp.sparray)):
        raise TypeError(f"{field}: sparse input is only accepted for P, got {type(x).__name__}")
    x = unmasked(field, x)
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise TypeError(f"{field}: cannot convert {type(x).__name__} to an array ({exc})") from exc
    if arr.dtype == object:
        raise TypeError(f"{field}: expected a numeric array, got dtype=object (ragged or non-numeric input)")
    if arr.dtype.kind == "b":
        raise TypeError(f"{field}: expected a real numeric array, got dtype=bool")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{field}: expected a real numeric array, got dtype={arr.dtype}")
    if arr.dtype.itemsize > 8 and arr.dtype.kind == "f":  # longdouble: a finite entry beyond float64 is named
        _check_float64_size(arr.size, arr.shape, field)
        arr = narrow_to_float64(field, arr)
    return arr


#: Arrays with fewer entries than this are checked for finiteness by NumPy, larger ones by a compiled pass.
_SMALL = 1 << 16


def as_float_array(x, field: str) -> np.ndarray:
    """A private float64 copy of ``x``, checked to be finite (errors name ``field``).

    Parameters
    ----------
    x : array_like
        Numeric input (bool and object arrays are refused).
    field : str
        Name used in error messages (``"<field>: ..."``).

    Returns
    -------
    ndarray
        A fresh float64 array.

    Raises
    ------
    TypeError, ValueError
        For a non-numeric input, a size too large for memory, or a non-finite entry.
    """
    return _checked_float_copy(x, field, False)


def _checked_float_copy(x, field: str, seal: bool) -> np.ndarray:
    """:func:`as_float_array`; with ``seal``, the copy is sealed (:func:`_private_float64`)."""
    arr = _numeric_array(x, field)
    _check_float64_size(arr.size, arr.shape, field)
    arr = _private_float64(arr) if seal else np.array(arr, dtype=np.float64, order="C", copy=True)
    flat = arr.reshape(-1)
    if flat.size < _SMALL:  # NumPy: no kernel to compile for the small arrays of a first call
        i = -1 if np.isfinite(flat).all() else int(np.flatnonzero(~np.isfinite(flat))[0])
    else:  # one pass without a boolean temporary of the array's size
        i = int(_V.first_nonfinite(flat))
    if i >= 0:
        raise _nonfinite_error(arr, i, field)
    return arr


def _private_float64(arr: np.ndarray) -> np.ndarray:
    """A private C-contiguous float64 copy of the numeric array ``arr``, sealed (:func:`_sealed`); a small one is
    copied straight into ``bytes`` (the only copy), a large one copied by NumPy and wrapped."""
    if 8 * arr.size < _SEAL_COPY_MAX_BYTES:
        return _into_bytes(arr if arr.dtype == _F64 else arr.astype(_F64))
    return np.asarray(_SealedOwner(np.array(arr, dtype=np.float64, order="C", copy=True)))


def _float_copy(x, field: str) -> np.ndarray:
    """:func:`as_float_array` without the finiteness check (for input whose values are judged later)."""
    arr = _numeric_array(x, field)
    _check_float64_size(arr.size, arr.shape, field)
    return np.array(arr, dtype=np.float64, order="C", copy=True)


def _nonfinite_error(arr: np.ndarray, i: int, field: str) -> ValueError:
    """The error for the non-finite entry at flat index ``i`` of ``arr``."""
    bad = tuple(int(j) for j in np.unravel_index(i, arr.shape))
    return ValueError(f"{field}: non-finite value {float(arr[bad])!r} at index {bad}")


def _swapped_hint(P, R, finite: bool = False) -> str:
    """A hint for ``TabularMDP(R, P, ...)`` (QuantEcon's ``DiscreteDP(R, Q, beta)`` order): ``P`` an ``(S, A)``
    array and ``R`` an ``(S, A, S)`` array whose rows sum to 1; ``""`` otherwise. ``finite``: the call passed
    ``horizon`` (the hint shows it instead of ``gamma``)."""
    try:
        if isinstance(P, (np.ndarray, list, tuple)) and np.shape(P) == R.shape[:2] and R.shape[2] == R.shape[0] \
                and np.allclose(R.sum(axis=2), 1.0, atol=1e-9):
            kw = "horizon" if finite else "gamma"
            return ("; P and R look swapped: R has rows summing to 1 and P the (S, A) shape of a reward. "
                    f"TabularMDP takes P first: TabularMDP(P, R, {kw}=...) (QuantEcon's DiscreteDP takes R, Q, beta)")
    except Exception:  # only a hint
        pass
    return ""


def _deferred_rewards(R) -> bool:
    """Whether ``R`` can be copied and checked for finiteness later, inside the compiled call that validates a
    shared CSR kernel (:meth:`TabularMDP._set_csr`): a writable C-contiguous float64 ``ndarray`` that fits in memory
    (the layout and type that kernel call is compiled for). Any other ``R`` is converted and checked at once."""
    if type(R) is np.ndarray and R.dtype == _F64 and (flags := R.flags).c_contiguous and flags.writeable:
        if R.nbytes > _memory_bytes():  # a view of a mapped file can be larger than memory
            _check_float64_size(R.size, R.shape, "R")
        return True
    return False


def _numpy_owned_chain(a: np.ndarray, *, prefix: bool = False) -> list[np.ndarray] | None:
    """``a`` and every array it is a view of, when the model may keep ``a`` without a copy: every array of the
    chain is a plain ``ndarray``, the last one owns its memory (no ``bytearray``, ``mmap`` or foreign buffer that
    could write it unseen), and ``a`` spans all of that memory, so that freezing it cannot lock the rest of a
    caller's buffer (a slice of a larger buffer is copied). With ``prefix``, ``a`` may also be the leading part of
    its buffer: scipy leaves the ``data`` and ``indices`` of a matrix as such views of its own over-allocated
    arrays (after ``sum_duplicates`` or ``prune``). ``None`` otherwise."""
    if type(a) is not np.ndarray:
        return None
    chain = [a]
    root, base = a, a.base
    while base is not None:  # a subclass or a foreign object (bytes, mmap, ...) anywhere in the chain: None
        if type(base) is not np.ndarray:
            return None
        chain.append(base)
        root, base = base, base.base
    if not root.flags.owndata:
        return None
    if a.nbytes == root.nbytes:
        return chain
    starts_it = _address(a) == _address(root)
    return chain if prefix and starts_it and a.flags.c_contiguous else None


def _address(a: np.ndarray) -> int:
    """Address of the first byte of ``a``'s data."""
    return a.__array_interface__["data"][0]


def _freeze_shared(chain: list[np.ndarray], kept: np.ndarray) -> tuple:
    """Mark every array of ``chain`` (see :func:`_numpy_owned_chain`) read-only, so that the memory a model keeps
    without a copy can no longer be written through the caller's arrays: an in-place change afterwards (``P *= 2``,
    ``M.eliminate_zeros()``) raises NumPy's read-only error instead of changing the validated model. ``kept`` is
    the model's own C-contiguous view of ``chain[0]``: it starts where the memory of the chain's root starts (the
    chain's first array spans that memory or is its leading part), and a view's address never changes, so the root
    has been moved (resized) exactly when its address differs from ``kept``'s. Returns ``(root, nbytes, address)``
    for :meth:`TabularMDP._verify_shared`: the root, its size and ``kept``'s address, read once here (reading an
    address goes through ``__array_interface__``, which builds a dict: it is kept off every hand-out's path). The
    model holds ``kept`` itself, so that memory stays referenced while the record lives."""
    for x in chain:
        x.setflags(write=False)
    root = chain[-1]
    return root, root.nbytes, _address(kept)


def _as_float64_shared(x, field: str, copy: bool, owned: bool = False) -> tuple[np.ndarray, list[np.ndarray] | None]:
    """``x`` as a C-contiguous float64 array, without a copy when it already is one whose memory NumPy owns
    (unless ``copy``), together with the chain of arrays to freeze once it is validated (``None`` for a copy,
    which is sealed: :func:`_private_float64`).
    With ``owned``, ``x`` is an array of ours, also kept when it lies over immutable memory
    (:func:`_over_immutable_memory`: another model's private kernel, an unpickled one), with ``None`` for its chain
    (nothing of it is the caller's: :func:`_sealed` seals it). An ``x`` sealed by an owner of this module
    (:func:`_is_owner_sealed`: another model's large ``P`` passed by the caller) is kept the same way whoever
    passes it: no one can write it any more; one over ``bytes`` may have a writable alias and is copied. Entries
    are not inspected here (the fused validation pass does that)."""
    x = unmasked(field, x)
    if not copy and isinstance(x, np.ndarray) and x.dtype == np.float64 and x.flags.c_contiguous:
        if (owned and _over_immutable_memory(x)) or _is_owner_sealed(x):  # nobody can write it: kept as ours
            return x, None  # (the model keeps a new view of it: _sealed)
        chain = _numpy_owned_chain(x)
        if chain is not None:
            return x, chain
    arr = _numeric_array(x, field)
    _check_float64_size(arr.size, arr.shape, field)
    return _private_float64(arr), None


def _row_label(h: int | None, s: int, a: int) -> str:
    return f"(h={h}, s={s}, a={a})" if h is not None else f"(s={s}, a={a})"


def _flat_row_label(r: int, hp: int, S: int, A: int) -> str:
    """Label of flat CSR row ``r = (h*S + s)*A + a`` (h shown only for time-dependent kernels)."""
    h, rem = divmod(int(r), S * A)
    s, a = divmod(rem, A)
    return _row_label(h if hp > 1 else None, s, a)


def _row_defect(values: np.ndarray, label: str, field: str, atol: float, columns=None, stored=None) -> ValueError:
    """The error for one rejected transition row (its entries ``values``, next states ``columns``). ``stored`` is
    the row's entries in the order the check added them (default ``values``): the sum reported is theirs,
    added in that order (:func:`~rltheory.models._validate.row_sum_in_order`), the sum that decided, with its
    deviation from 1 spelled out (``1.000000001`` alone would look within a ``1e-09`` tolerance)."""
    cols = np.arange(values.size) if columns is None else columns
    if values.size == 0:
        return ValueError(f"{field}: transition row {label} is empty (no next state), so it sums to 0, not 1")
    fin = np.isfinite(values)
    if not fin.all():
        j = int(np.flatnonzero(~fin)[0])
        return ValueError(f"{field}: non-finite value {float(values[j])!r} in transition row {label} "
                          f"at s'={int(cols[j])}")
    if values.min() < 0:
        j = int(np.argmin(values))
        return ValueError(f"{field}: transition row {label} has a negative entry ({float(values[j])!r} "
                          f"at s'={int(cols[j])})")
    tot = float(_V.row_sum_in_order(np.ascontiguousarray(values if stored is None else stored, dtype=np.float64)))
    dev = tot - 1.0  # exact while tot is within [0.5, 2]
    return ValueError(f"{field}: transition row {label} sums to {tot!r} (1 {'-' if dev < 0 else '+'} "
                      f"{abs(dev):.11g}), not 1 (tolerance {atol:g})")


def _index_dtype(S: int):
    """Dtype of the stored next-state indices: int32 while every index fits (as scipy does). A sparse sweep is
    bound by the bytes it streams per transition, 8 of probability plus the index: int32 reads a quarter fewer
    bytes than int64."""
    return _I32 if S <= 2**31 - 1 else _I64


class _Sparse(NamedTuple):
    indptr: np.ndarray  # int64, (hp*S*A + 1,)
    indices: np.ndarray  # int32 (int64 from 2**31 states on): see _index_dtype
    data: np.ndarray  # float64


class TabularMDP:
    """A finite MDP with exact, validated transition and reward arrays.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix or sequence
        Transition kernel. Dense: shape ``(S, A, S)`` (time-homogeneous) or ``(H, S, A, S)``
        (finite horizon only). Sparse: a 2-D scipy sparse matrix or array of any format (its structure is checked
        before it is converted to CSR) of shape ``(S*A, S)`` (or ``(H*S*A, S)``) whose row ``(h*S + s)*A + a``
        is ``P_h(.|s, a)``; or a per-(s, a) successor list ``succ[s][a] = (next_states, probs)``.
        A list or tuple is read by one rule: it is a successor list when ``P[0][0]`` is a *tuple* of two
        sequences, whatever its shape; otherwise, when NumPy reads it as a rectangular numeric array, it is that
        dense array whatever its shape (one not shaped like a kernel is refused as a dense kernel); otherwise
        (ragged) it is a successor list when ``P[0][0]`` is a pair of 1-D sequences written as a list, and is
        refused if not. A successor list whose pairs all have the same length (a deterministic one, for instance)
        is rectangular, so its pairs must be tuples (and a dense kernel is written as lists or an array).
    R : array_like
        Mean rewards ``R[s, a]`` or ``R[h, s, a]`` (finite horizon only).
    horizon : int, optional
        Episode length ``H >= 1`` (an integral float such as ``5.0`` is accepted). Exactly one of ``horizon``
        and ``gamma`` is given.
    gamma : float, optional
        Discount factor in ``[0, 1)``.
    mu0 : array_like or int, optional
        Initial-state distribution of shape ``(S,)`` or a single state index (default: state 0).
    name : str, optional
        Label used in reprs and reports.
    copy : bool, default False
        A dense ``P`` that already is a C-contiguous float64 array is used without a copy (as ``np.asarray``
        does, and as validating it at memory speed requires); so are the ``data`` and ``indices`` arrays of a CSR
        ``P`` that already are C-contiguous float64 and int32 (int64 from ``2**31`` states on) and canonical
        (sorted, no duplicate column; the row pointers are always copied, as int64). This needs a plain
        ``ndarray`` spanning memory that NumPy owns (for CSR arrays, possibly its leading part); a subclass, a
        slice of a larger buffer, ``np.frombuffer`` or ``np.memmap`` input is copied. Another model's large
        arrays (``other.P``, ``other.P_csr``), which nothing can make writable, are kept without a copy and
        without being counted as the caller's (``shares_memory`` stays False); its small ones lie over ``bytes``,
        as arrays NumPy unpickles or builds with ``np.frombuffer`` do (which may have a writable alias), and are
        copied (a small copy). Once the whole model is
        validated, the shared arrays and the arrays they are views of are marked read-only: an in-place change
        through them afterwards (``P *= 2``, ``M.eliminate_zeros()``) raises NumPy's "read-only" error instead of
        changing the validated model; a failed construction leaves them writable. Two routes stay open and are
        refused when the kernel is next used (``P``, ``P_csr``, ``csr_arrays``, every method built on them,
        hence every solver, and ``FiniteHorizonPlanner.plan``) with a ``ValueError`` naming ``P``: making the
        owning array writable again or resizing it, and, for CSR, writing an out-of-range next-state index through
        a view taken before construction. Other writes that bypass the
        freeze (through such an earlier view, a ``memoryview``, or an owner made writable and read-only again)
        are not detected, whatever they write: the model then describes the new numbers, even when they are no
        longer probabilities, and certificates such as ``error_bound`` no longer refer to a validated model
        (a ``FiniteHorizonPlanner`` keeps its own copy of a shared kernel's indices). ``copy=True``
        keeps private copies and leaves the caller's arrays writable (the choice for a buffer refilled in
        place to build one model after another). Every other input (``R``, ``mu0``, successor lists, nested
        lists, other dtypes, layouts or non-canonical CSR) is always copied, and a sparse matrix in another scipy
        format is converted to a CSR matrix of the model's own; none of the caller's arrays is then kept, frozen
        or checked again (``shares_memory`` is False).

    Raises
    ------
    TypeError, ValueError
        On a wrong type, shape, dtype, non-finite value, out-of-range value, or a transition row that is
        negative or does not sum to 1 within ``1e-9``; the message starts with the field and, for ``P``, names
        the first offending ``(h,) s, a`` (its sum, negative entry, out-of-range next state, or the corrupt CSR
        pointer). Sizes whose arrays (including a finite-horizon solution's ``V``, ``Q`` and policy) cannot fit
        in this machine's memory are refused with a ``ValueError`` naming ``horizon``, ``P`` or ``R``.

    Notes
    -----
    Validation reads every entry of ``P`` once, in one compiled pass (finiteness, sign, row sums, and for
    sparse kernels the CSR structure, the range of every next-state index and the canonical order), and
    allocates nothing of ``P``'s size for a shared kernel.
    """

    __slots__ = ("_S", "_A", "_H", "_gamma", "_P", "_sp", "_R", "_mu0", "_name", "_hp", "_shared")

    def __init__(self, P, R, *, horizon=None, gamma=None, mu0=None, name: str | None = None, copy: bool = False):
        self._build(P, R, horizon, gamma, mu0, name, copy)

    def _build(self, P, R, horizon, gamma, mu0, name, copy, owned: bool = False):
        """The construction of ``__init__``; with ``owned``, ``P`` is a kernel of ours (another model's private
        arrays, or arrays no caller holds): kept without a copy when it can be, and never counted as the caller's
        memory (not frozen, not verified on hand-out, ``shares_memory`` False)."""
        # attributes are set with _set (object.__setattr__): this class's __setattr__ refuses every assignment
        # ---- horizon / gamma ------------------------------------------------------------
        if (horizon is None) == (gamma is None):
            raise ValueError("horizon: exactly one of `horizon` (finite-horizon MDP) and `gamma` (discounted MDP) "
                             "must be given")
        if horizon is not None:
            _set(self, "_H", horizon_arg(horizon))
            _set(self, "_gamma", None)
        else:
            _set(self, "_H", None)
            _set(self, "_gamma", _gamma_arg(gamma))
        # ---- rewards (shape checked against P's S, A below) -----------------------------------
        # A float64 R is copied and checked for finiteness together with a shared CSR kernel when there is one
        # (one compiled call); its error still comes first: any later error is preceded by that check.
        deferred = _deferred_rewards(R)
        Rarr = R if deferred else _checked_float_copy(R, "R", True)
        try:
            if Rarr.ndim not in (2, 3):
                raise ValueError(f"R: expected shape (S, A) or (H, S, A), got {Rarr.shape}")
            if Rarr.ndim == 3:
                if self._H is None:
                    raise ValueError("R: a time-dependent reward (H, S, A) needs a finite horizon"
                                     + _swapped_hint(P, Rarr))
                if Rarr.shape[0] != self._H:
                    raise ValueError(f"R: leading dimension {Rarr.shape[0]} differs from horizon {self._H}"
                                     + _swapped_hint(P, Rarr, True))
            if copy is not False and copy is not True:  # (the common case skips the call)
                check_type("copy", copy, (bool, np.bool_), "a bool")
            # ---- transitions ----------------------------------------------------------------
            _set(self, "_P", None)
            _set(self, "_sp", None)
            # (chain, kept) for the caller's arrays kept without a copy: frozen once all is validated
            _set(self, "_shared", [])
            R_checked = None
            if isinstance(P, (sp.spmatrix, sp.sparray)):
                R_checked = self._init_sparse_matrix(P, Rarr, bool(copy), deferred, owned)
            elif isinstance(P, (list, tuple)):
                self._init_nested(P, Rarr)
            else:
                self._init_dense(P, Rarr, bool(copy), owned)
            if deferred:
                Rarr = _checked_float_copy(R, "R", True) if R_checked is None else _sealed(R_checked)
        except Exception:
            if deferred:
                as_float_array(R, "R")  # raises R's own error (a non-finite entry) when it has one
            raise
        _set(self, "_R", Rarr)  # our own copy, sealed
        # ---- initial distribution -------------------------------------------------------
        _set(self, "_mu0", self._parse_mu0(mu0))  # always a new array of ours, sealed
        if name is not None:
            check_type("name", name, str)
        _set(self, "_name", name)
        _set(self, "_shared", tuple(_freeze_shared(chain, kept) for chain, kept in self._shared))

    # ------------------------------------------------------------------ construction helpers
    def _set_sizes(self, S: int, A: int, Rarr: np.ndarray, source):
        """Fix ``S, A`` (read off ``P``), check ``R`` against them and the horizon's solution size; ``source()``
        describes where ``S, A`` come from (formatted only for an error message)."""
        if Rarr.shape[-2:] != (S, A):
            hint = " (R is indexed R[s, a]: is it transposed?)" if Rarr.shape[-2:] == (A, S) else ""
            lead = f"({self._H}, S, A) or " if self._H is not None else ""
            raise ValueError(f"R: expected shape {lead}(S, A) = {(S, A)} to match {source()}, got {Rarr.shape}{hint}")
        if S < 1 or A < 1:
            raise ValueError(f"P: need at least one state and one action, got S={S}, A={A}")
        _set(self, "_S", int(S))
        _set(self, "_A", int(A))
        if self._H is not None:
            check_solution_size(self._H, self._S, self._A)

    def _init_dense(self, P, Rarr, copy, owned=False):
        """Read a dense ``P``; with ``owned``, ``P`` is an array of ours (read from a nested list, or another
        model's private kernel): kept without a copy when it can be, never counted as the caller's memory."""
        Parr, chain = _as_float64_shared(P, "P", copy, owned)
        if Parr.ndim == 3:
            hp = 1
        elif Parr.ndim == 4:
            if self._H is None:
                raise ValueError("P: a time-dependent kernel (H, S, A, S) needs a finite horizon")
            if Parr.shape[0] != self._H:
                raise ValueError(f"P: leading dimension {Parr.shape[0]} differs from horizon {self._H}")
            hp = self._H
        else:  # (with horizon = S, an (S, A, S) kernel passed as R reads as a time-dependent reward)
            raise ValueError(f"P: expected shape (S, A, S) or (H, S, A, S), got {Parr.shape}"
                             + (_swapped_hint(Parr, Rarr, self._H is not None) if Rarr.ndim == 3 else ""))
        S, A, S2 = Parr.shape[-3:]
        if S != S2:
            raise ValueError(f"P: shape {Parr.shape} is not (S, A, S) or (H, S, A, S): its state axes have "
                             f"{S} and {S2} entries")
        self._set_sizes(S, A, Rarr, lambda: f"P's shape {Parr.shape}")
        flat = Parr.reshape(hp * S * A, S)
        r = int(_V.dense_first_bad_row(flat, ROW_SUM_ATOL)) if flat.size else -1
        if r >= 0:
            raise _row_defect(flat[r], _flat_row_label(r, hp, S, A), "P", ROW_SUM_ATOL)
        x = Parr if hp > 1 else Parr.reshape(S, A, S)
        if chain is not None and not owned:  # the caller's array: frozen once the whole model is validated
            kept = readonly(x)
            self._shared.append((chain, kept))
        elif Parr is not P:  # our copy (_as_float64_shared), sealed already: so is any view of it
            kept = x
        else:
            kept = _sealed(x)
        _set(self, "_hp", hp)
        _set(self, "_P", kept)

    def _init_nested(self, P, Rarr):
        """Read a list or tuple ``P``: a successor list when ``P[0][0]`` is a tuple ``(next_states, probs)``, else
        the dense kernel NumPy reads it as; a nested sequence NumPy cannot read as a rectangular numeric array is
        a successor list when ``P[0][0]`` is a pair of 1-D sequences, and refused otherwise."""
        if _tuple_successor_list(P):
            self._init_successor_list(P, Rarr)  # (refuses a masked entry naming its (s, a))
            return
        if _masked_entries(P) is not None:  # NumPy would drop the masks of masked arrays inside the list
            if _looks_like_successor_list(P):
                with warnings.catch_warnings():  # (NumPy warns about reading np.ma.masked as NaN)
                    warnings.simplefilter("ignore")
                    ragged = _rectangular_numeric(P) is None
                if ragged:  # read as a successor list below: its error names the (s, a) of the masked entry
                    self._init_successor_list(P, Rarr)
            unmasked("P", P)  # raises
        arr = _rectangular_numeric(P)
        if arr is None:
            if _looks_like_successor_list(P):
                self._init_successor_list(P, Rarr)
            else:
                self._init_dense(P, Rarr, False)  # refuses it, saying why NumPy could not read it
            return
        try:
            self._init_dense(arr, Rarr, False, owned=True)
        except ValueError as exc:
            if not (str(exc).startswith("P:") and _looks_like_successor_list(P)):
                raise
            raise ValueError(f"{exc} (a nested list that NumPy reads as a rectangular numeric array is a dense "
                             "kernel; write the entries of a successor list as tuples (next_states, probs))") from None

    def _init_sparse_matrix(self, P, Rarr, copy, deferred=False, owned=False):
        """Read a scipy sparse ``P``; with ``deferred``, ``Rarr`` is the caller's unchecked float64 rewards, and
        their checked copy is returned when the CSR check took them along (else None). With ``owned``, ``P``'s
        arrays are ours (see :meth:`_build`)."""
        shape = tuple(P.shape)
        if len(shape) != 2:
            raise ValueError(f"P: a sparse kernel must be a 2-D matrix of shape (S*A, S) (or (H*S*A, S)), got a "
                             f"{len(shape)}-D {type(P).__name__} of shape {shape}")
        rows, cols = int(shape[0]), int(shape[1])
        S = cols
        if Rarr.shape[-2] != S:
            A_guess = rows // S if S and rows % S == 0 else None
            if A_guess and self._H is not None and self._H > 1 and rows % (self._H * S) == 0:
                A_guess = None  # (S*A, S) or (H*S*A', S): A is not determined by P alone
            hint = (" (R is indexed R[s, a]: is it transposed?)"
                    if A_guess is not None and Rarr.shape[-2:] == (A_guess, S) else "")
            want = f"(S, A) = ({S}, {A_guess})" if A_guess else f"(S, A) with S = {S}"
            raise ValueError(f"R: expected shape {want} to match the sparse P of shape {(rows, cols)} (S = its number "
                             f"of columns), got {Rarr.shape}{hint}")
        A = Rarr.shape[-1]
        if rows == S * A:
            hp = 1
        elif self._H is not None and rows == self._H * S * A:
            hp = self._H
        else:
            raise ValueError(f"P: sparse kernel must have S*A={S * A} rows (or H*S*A), got {rows}")
        self._set_sizes(S, A, Rarr, lambda: f"the sparse P of shape {(rows, cols)}")
        fmt = getattr(P, "format", None)
        if fmt == "csr":  # the caller's arrays may be kept (copy=False)
            return self._set_csr(P.indptr, P.indices, P.data, hp, share=not copy, owned=owned,
                                 R=Rarr if deferred else None)
        # a converted matrix is ours whatever `copy` says: kept as it is, but none of it is the caller's memory
        M = _to_csr(P, fmt, rows, cols, hp, S, A)
        return self._set_csr(M.indptr, M.indices, M.data, hp, owned=True, R=Rarr if deferred else None)

    def _init_successor_list(self, succ, Rarr):
        S = len(succ)
        try:
            A = len(succ[0])
        except TypeError as exc:
            raise TypeError("P: a successor list needs succ[s][a] = (next_states, probs)") from exc
        self._set_sizes(S, A, Rarr, lambda: f"the successor list of {S} states x {A} actions")
        indptr = [0]
        indices: list[np.ndarray] = []
        data: list[np.ndarray] = []
        for s in range(S):
            row = succ[s]
            try:
                n_row = len(row)
            except TypeError as exc:
                raise TypeError(f"P: successor list entry for s={s} must be a sequence of A={A} pairs "
                                f"(next_states, probs), got {type(row).__name__}") from exc
            if n_row != A:
                raise ValueError(f"P: successor list for s={s} has {n_row} actions, expected A={A}")
            for a in range(A):
                try:
                    nxt, prob = row[a]
                except (TypeError, ValueError) as exc:
                    raise TypeError(f"P: successor entry (s={s}, a={a}) must be a pair (next_states, probs)") from exc
                raw = nxt = unmasked(f"P: (s={s}, a={a}) next states", nxt)
                try:
                    nxt = np.asarray(raw)
                except (ValueError, TypeError, OverflowError) as exc:
                    raise TypeError(f"P: next states of (s={s}, a={a}) must be a 1-D sequence of integers") from exc
                # finiteness is judged with the rest of the row by _set_csr, in the words of the dense and CSR paths
                prob = _float_copy(prob, f"P: (s={s}, a={a}) probabilities")
                if nxt.size == 0 and nxt.ndim == 1:
                    nxt = nxt.astype(np.int64)
                # a mix of integer kinds NumPy promoted to float64, or ints beyond 64 bits: read exactly
                exact = _exact_next_states(raw) if nxt.dtype.kind in "fO" and nxt.ndim == 1 else None
                if exact is None and nxt.dtype.kind not in "iu":
                    raise TypeError(f"P: next states of (s={s}, a={a}) must be integers, got dtype={nxt.dtype}")
                if exact is not None:
                    nxt = exact
                elif (nxt.ndim == 1 and isinstance(raw, (list, tuple))
                      and any(isinstance(x, (bool, np.bool_)) for x in raw)):  # NumPy reads (True, 0) as ints
                    raise TypeError(f"P: next states of (s={s}, a={a}) must be integers, got a bool")
                if nxt.ndim != 1 or prob.ndim != 1 or nxt.shape != prob.shape:
                    raise ValueError(f"P: (s={s}, a={a}) next_states and probs must be 1-D of equal length")
                if nxt.size and (nxt.min() < 0 or nxt.max() >= S):
                    raise ValueError(f"P: next state out of range [0, {S}) for (s={s}, a={a})")
                indices.append(nxt.astype(np.int64))
                data.append(prob)
                indptr.append(indptr[-1] + nxt.size)
        self._set_csr(np.asarray(indptr, dtype=np.int64),
                      np.concatenate(indices) if indices else np.zeros(0, np.int64),
                      np.concatenate(data) if data else np.zeros(0), 1)

    def _set_csr(self, indptr, indices, data, hp, share: bool = False, R=None, owned: bool = False):
        """Validate raw CSR arrays (structure, index range, values) in one pass and keep them in scipy's canonical
        form (sorted, duplicates summed). With ``share``, arrays that already are canonical, C-contiguous, float64
        (``data``) and of the stored index dtype (``indices``, :func:`_index_dtype`), in memory NumPy owns, are
        validated in place and kept as they are (then frozen read-only, :func:`_freeze_shared`; only the row pointers
        are copied, as int64); anything else is validated while being copied. With ``owned``, the arrays are ours
        (converted from another format, or another model's private kernel): kept as they are on the same
        conditions, but neither frozen nor recorded as the caller's memory; so is an array converted here to
        float64 or int64 (``shares_memory`` counts only what the caller still holds).

        ``R``, when given, is the caller's unchecked rewards (see :func:`_deferred_rewards`): the in-place check
        copies them and checks their finiteness first, in the same compiled call, raising R's error before any of
        ``P``'s; the checked copy is returned (None when that check did not run: the caller checks ``R`` then)."""
        S, A = self._S, self._A
        nrows = hp * S * A
        indptr, indices, data = np.asarray(indptr), np.asarray(indices), np.asarray(data)
        if data.dtype.kind not in "iuf":
            raise TypeError(f"P: expected a real numeric sparse matrix, got dtype={data.dtype}")
        for nm, arr in (("indptr", indptr), ("indices", indices)):
            if arr.dtype.kind not in "iu" or arr.ndim != 1:
                raise TypeError(f"P: CSR {nm} must be a 1-D integer array, got dtype={arr.dtype}, ndim={arr.ndim}")
        if data.ndim != 1:
            raise ValueError(f"P: CSR data must be 1-D, got ndim={data.ndim}")
        # whether data, indices are arrays of ours rather than the caller's (an array sealed by an owner of this
        # module, such as another model's large P_csr.data, is nobody's to write: kept as ours; one over bytes may
        # have a writable alias, so it is the caller's, hence copied: _is_owner_sealed)
        ours = [owned or _is_owner_sealed(data), owned or _is_owner_sealed(indices)]
        if ours[0] != ours[1]:  # one kept as ours: a read-only array over bytes beside it (another model's small
            # indices beside its large data) is copied at once into bytes of our own, so that the other is kept
            if not ours[0] and _is_sealed(data):
                data, ours[0] = _into_bytes(data), True
            elif not ours[1] and _is_sealed(indices):
                indices, ours[1] = _into_bytes(indices), True
        if data.dtype != _F64:  # e.g. float16/int8: one kernel specialisation for the rare dtypes
            data = narrow_to_float64("P", data, _data_entry).astype(np.float64)
            ours[0] = True
        if indices.dtype not in (_I32, _I64):
            indices = indices.astype(np.int64)  # uint64 beyond int64 wraps negative: rejected as out of range
            ours[1] = True
        if indptr.shape[0] != nrows + 1:
            first = _flat_row_label(max(indptr.shape[0] - 1, 0), hp, S, A) if indptr.shape[0] <= nrows else None
            where = f"; rows from {first} on have no end pointer" if first else ""
            raise ValueError(f"P: CSR indptr has {indptr.shape[0]} entries, expected rows + 1 = {nrows + 1}{where}")
        if indptr[0] != 0:
            raise ValueError(f"P: CSR row {_flat_row_label(0, hp, S, A)} is corrupt: indptr[0] = {int(indptr[0])}, "
                             "must be 0")
        stored = min(indices.shape[0], data.shape[0])
        # rows may use entries [0, indptr[-1]) (scipy's nnz), and never past the stored ones
        last = int(indptr[-1])
        nnz = stored if last > stored else max(last, 0)
        # the chains of the caller's arrays to freeze (None for an array of ours)
        chains = tuple(None if mine else _numpy_owned_chain(x, prefix=True)
                       for x, mine in zip((data, indices), ours))
        keepable = all(mine or chain is not None for mine, chain in zip(ours, chains)) and (share or all(ours))
        R_out = None
        if (keepable and data.dtype == _F64 and indices.dtype == _index_dtype(S)
                and data.flags.c_contiguous and indices.flags.c_contiguous and indptr.dtype in (_I32, _I64)):
            data_k, indices_k = data[:nnz], indices[:nnz]  # new views: marking them read-only leaves the caller's
            ptr = np.empty(indptr.shape[0], dtype=np.int64)  # our int64 copy of the pointers, filled by the check
            if R is None:
                code = _V.csr_check_shared(indptr, indices, data_k, S, ROW_SUM_ATOL, indptr_out=ptr)
            else:
                R_out = np.empty(R.size)
                code = _V.csr_check_shared(indptr, indices, data_k, S, ROW_SUM_ATOL, R.reshape(-1), R_out, ptr)
                R_out = R_out.reshape(R.shape)  # a view of our own array
                if code >= 0:
                    raise _nonfinite_error(R_out, code, "R")
            if code == _V.SHARED_OK:
                self._shared.extend((chain, kept) for chain, kept in zip(chains, (data_k, indices_k))
                                    if chain is not None)
                _set(self, "_hp", hp)
                # ours (the pointers' copy, converted arrays) are sealed now; the caller's arrays are frozen once
                # the whole model is validated (_freeze_shared), their views read-only now
                data_k = data_k if chains[0] is not None else _sealed(data_k)
                indices_k = indices_k if chains[1] is not None else _sealed(indices_k)
                for a in (indices_k, data_k):
                    a.setflags(write=False)
                _set(self, "_sp", _Sparse(_sealed(ptr), indices_k, data_k))
                return R_out
            # a defect or a non-canonical row: the copying pass below finds and names it (or canonicalises)
        indptr = indptr.astype(np.int64)
        out_ix = np.empty(nnz, dtype=_index_dtype(S))
        out_dt = np.empty(nnz, dtype=np.float64)
        r, code, canonical = _V.csr_check_copy(indptr, indices, data, S, ROW_SUM_ATOL, out_ix, out_dt)
        if code == _V.CSR_BAD_VALUES:
            lo, hi = int(indptr[r]), int(indptr[r + 1])
            cols, inv = np.unique(out_ix[lo:hi], return_inverse=True)
            vals = np.zeros(cols.size)
            np.add.at(vals, inv, out_dt[lo:hi])
            raise _row_defect(vals, _flat_row_label(r, hp, S, A), "P", ROW_SUM_ATOL, cols, stored=out_dt[lo:hi])
        if code != _V.CSR_OK and not canonical and r > 0:
            # rows before r with unsorted or repeated columns were copied but not judged: an earlier bad row among
            # them (judged on its canonical form) comes first
            k = int(indptr[r])
            M = sp.csr_matrix((out_dt[:k], out_ix[:k], indptr[:r + 1]), shape=(r, S))
            M.sum_duplicates()
            M.sort_indices()
            ip0 = np.asarray(M.indptr, dtype=np.int64)
            dt0 = np.asarray(M.data, dtype=np.float64)
            r0 = int(_V.csr_first_bad_values(ip0, dt0, ROW_SUM_ATOL))
            if r0 >= 0:
                lo, hi = int(ip0[r0]), int(ip0[r0 + 1])
                raise _row_defect(dt0[lo:hi], _flat_row_label(r0, hp, S, A), "P", ROW_SUM_ATOL, M.indices[lo:hi])
        if code != _V.CSR_OK:
            lo, hi = int(indptr[r]), int(indptr[r + 1])
            label = _flat_row_label(r, hp, S, A)
            if code == _V.CSR_INDPTR_DECREASES:
                raise ValueError(f"P: CSR row {label} is corrupt: indptr[{r + 1}] = {hi} < indptr[{r}] = {lo} "
                                 "(indptr must be non-decreasing)")
            if code == _V.CSR_INDPTR_PAST_END:
                raise ValueError(f"P: CSR row {label} is corrupt: indptr[{r + 1}] = {hi} points past the {nnz} "
                                 f"usable entries (indptr[-1] = {int(indptr[-1])}, {stored} stored)")
            cols = np.asarray(indices[lo:hi])
            j = int(cols[(cols < 0) | (cols >= S)][0])
            raise ValueError(f"P: transition row {label} has next-state index {j} outside [0, {S})")
        if not canonical:
            M = sp.csr_matrix((out_dt, out_ix, indptr), shape=(nrows, S))
            M.sum_duplicates()
            M.sort_indices()
            indptr = np.asarray(M.indptr, dtype=np.int64)
            out_ix = np.asarray(M.indices, dtype=_index_dtype(S))
            out_dt = np.asarray(M.data, dtype=np.float64)
            r = int(_V.csr_first_bad_values(indptr, out_dt, ROW_SUM_ATOL))
            if r >= 0:
                lo, hi = int(indptr[r]), int(indptr[r + 1])
                raise _row_defect(out_dt[lo:hi], _flat_row_label(r, hp, S, A), "P", ROW_SUM_ATOL, out_ix[lo:hi])
        _set(self, "_hp", hp)
        _set(self, "_sp", _Sparse(_sealed(indptr), _sealed(out_ix), _sealed(out_dt)))
        return R_out

    def _parse_mu0(self, mu0) -> np.ndarray:
        """``mu0`` as a new float64 array of shape ``(S,)``, checked and sealed (:func:`_sealed`)."""
        S = self._S
        if mu0 is None:
            return _point_mass(0, S)
        if isinstance(mu0, numbers.Integral) and not isinstance(mu0, (bool, np.bool_)):
            if not 0 <= mu0 < S:
                raise ValueError(f"mu0: initial state {mu0} out of range [0, {S})")
            return _point_mass(int(mu0), S)
        m = _checked_float_copy(mu0, "mu0", True)
        if m.shape != (S,):
            raise ValueError(f"mu0: expected shape ({S},), got {m.shape}")
        if m.min() < 0:
            raise ValueError(f"mu0: negative probability {float(m.min())!r} at state {int(np.argmin(m))}")
        if abs(m.sum() - 1.0) > ROW_SUM_ATOL:
            raise ValueError(f"mu0: sums to {float(m.sum())!r}, not 1")
        return m

    # ------------------------------------------------------------------ immutability
    def __setattr__(self, key, value):
        raise AttributeError("TabularMDP is immutable; use .with_rewards(...) or build a new one")

    def _timing_kwargs(self) -> dict:
        """``{"horizon": H}`` or ``{"gamma": gamma}``, to rebuild an MDP of the same kind."""
        return {"horizon": self._H} if self._H is not None else {"gamma": self._gamma}

    def _derive(self, P, R, mu0) -> "TabularMDP":
        """A model of the same kind over ``P`` (this model's kernel, as handed out by ``P`` or ``P_csr``), ``R``
        and ``mu0``: it keeps the caller's memory exactly when this model does (and then verifies it in turn)."""
        kw = self._timing_kwargs()
        if self._shared:
            return TabularMDP(P, R, mu0=mu0, name=self._name, **kw)
        return _rebuild(P, R, kw, mu0, self._name, True)

    def __reduce__(self):
        P = self.P if self._P is not None else self.P_csr
        kw = self._timing_kwargs()
        # unpickled arrays are the new model's own (copy.copy returns the model itself: __copy__)
        return (_rebuild, (P, self._R, kw, self._mu0, self._name, True))

    def __copy__(self) -> "TabularMDP":
        return self  # immutable

    def __deepcopy__(self, memo) -> "TabularMDP":
        P = self.P if self._P is not None else self.P_csr
        memo[id(self)] = m = TabularMDP(P, self._R, mu0=self._mu0, name=self._name, copy=True,
                                        **self._timing_kwargs())
        return m

    # ------------------------------------------------------------------ properties
    @property
    def S(self) -> int:
        """Number of states."""
        return self._S

    @property
    def A(self) -> int:
        """Number of actions."""
        return self._A

    @property
    def horizon(self) -> int | None:
        """Episode length ``H`` (None for discounted MDPs)."""
        return self._H

    H = horizon

    @property
    def gamma(self) -> float | None:
        """Discount factor (None for finite-horizon MDPs)."""
        return self._gamma

    @property
    def finite_horizon(self) -> bool:
        """Whether the MDP has a finite horizon ``H``."""
        return self._H is not None

    @property
    def discounted(self) -> bool:
        """Whether the MDP is discounted (``gamma`` given)."""
        return self._gamma is not None

    @property
    def is_sparse(self) -> bool:
        """Whether the kernel is stored as CSR."""
        return self._sp is not None

    @property
    def time_homogeneous(self) -> bool:
        """True when neither P nor R depend on the step h."""
        return self._hp == 1 and self._R.ndim == 2

    @property
    def name(self) -> str | None:
        """Optional display name."""
        return self._name

    @property
    def mu0(self) -> np.ndarray:
        """Initial-state distribution, shape ``(S,)`` (a fresh read-only view)."""
        return self._mu0.view()

    @property
    def R(self) -> np.ndarray:
        """Mean rewards as given: ``(S, A)`` or ``(H, S, A)`` (a fresh read-only view)."""
        return self._R.view()

    @property
    def P(self) -> np.ndarray:
        """Dense transition kernel ``(S, A, S)`` or ``(H, S, A, S)`` (a fresh read-only view; built from CSR if
        sparse)."""
        if self._P is not None:
            return self._dense().view()
        S, A, hp = self._S, self._A, self._hp
        dense = self.P_csr.toarray()
        return _sealed(dense.reshape((hp, S, A, S)) if hp > 1 else dense.reshape(S, A, S))

    @property
    def P_csr(self) -> sp.csr_matrix:
        """The kernel as a CSR matrix of shape ``(hp*S*A, S)``, row ``(h*S + s)*A + a``."""
        if self._sp is not None:
            if self._shared:
                self._verify_shared()
            s_ = self._sp  # fresh views: the matrix's arrays are not the ones kept
            return sp.csr_matrix((s_.data.view(), s_.indices.view(), s_.indptr.view()),
                                 shape=(self._hp * self._S * self._A, self._S))
        return sp.csr_matrix(self._dense().reshape(-1, self._S))

    @property
    def shares_memory(self) -> bool:
        """Whether the kernel is kept in the caller's (frozen) arrays rather than in a private copy (``copy``): True
        exactly when some array the caller passed (or that an MDP this one derives from kept) is kept; a kernel
        converted from another dtype, layout, nested list or scipy format is private."""
        return bool(self._shared)

    @property
    def csr_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(indptr, indices, data)`` of the CSR kernel, for kernels: int64 row pointers, next-state indices as
        int32 (int64 from ``2**31`` states on; int64 for a dense kernel's CSR view), float64 probabilities; fresh
        read-only views (changing their ``dtype`` or ``shape`` changes nothing the model keeps)."""
        if self._sp is None:
            M = self.P_csr
            return (np.asarray(M.indptr, np.int64), np.asarray(M.indices, np.int64), np.asarray(M.data, np.float64))
        if self._shared:
            self._verify_shared()
        s_ = self._sp
        return s_.indptr.view(), s_.indices.view(), s_.data.view()

    def _dense(self) -> np.ndarray:
        """The dense kernel as kept (``(S, A, S)`` or ``(H, S, A, S)``), verified first when it is the caller's
        memory (:meth:`_verify_shared`, constant time for a dense kernel): every read of ``_P`` goes through here."""
        if self._shared:
            self._verify_shared()
        return self._P

    def _verify_roots(self) -> None:
        """The constant-time part of :meth:`_verify_shared`: every frozen root is still read-only, of its size at
        construction and at the address of the model's view of it. Enough for a holder of a private copy of the
        indices (``FiniteHorizonPlanner``) or of a dense kernel's view: the memory such a view reads is then still
        allocated and unchanged through the owner.

        Raises
        ------
        ValueError
            Naming ``P``, when a root was made writable again or resized.
        """
        for root, nbytes, address in self._shared:
            if root.flags.writeable or root.nbytes != nbytes or (nbytes and _address(root) != address):
                raise ValueError("P: the caller's array this model keeps without a copy was made writable again or "
                                 "resized after construction, so its entries may no longer be the validated ones; "
                                 "build the model with copy=True to keep a private copy")

    def _verify_shared(self) -> None:
        """Refuse to hand out a kernel kept without a copy whose memory may have changed since validation.

        The caller's arrays were frozen at construction, but NumPy lets the array that owns the memory be made
        writable again or be resized, and a writable view taken before construction stays writable. So: every
        frozen root must still be read-only, of the same size and at the address of the model's view of it (see
        :func:`_freeze_shared`), and a shared CSR kernel's next-state indices must still lie in ``[0, S)`` (one pass
        over them, as unsigned integers, so that negative indices count as out of range; this is what keeps
        compiled kernels from reading out of bounds).

        The first check is constant time (:meth:`_verify_roots`; all a dense kernel needs); the second reads the
        indices once. Every hand-out of the kept arrays (``P``, ``P_csr``, ``csr_arrays`` and what is built on
        them: ``max_successors``, ``with_rewards``, ``with_mu0``, ``to_sparse``, ``P4``, pickling) calls this first.

        Raises
        ------
        ValueError
            Naming ``P``, when either condition fails.
        """
        self._verify_roots()
        if self._sp is not None and self._sp.indices.size:
            ix = self._sp.indices
            top = int(ix.view(np.uint32 if ix.dtype == np.int32 else np.uint64).max())
            if top >= self._S:
                raise ValueError(f"P: a next-state index of the shared CSR kernel was changed after construction "
                                 f"to a value outside [0, {self._S}) (through a view of the caller's indices taken "
                                 "before construction); build the model with copy=True")

    @property
    def max_successors(self) -> int:
        """Largest number of next states with positive probability over all (h, s, a) (Gamma in the LMDP paper)."""
        if self._sp is not None:
            indptr, _, data = self.csr_arrays
            counts = np.add.reduceat((data > 0).astype(np.int64), indptr[:-1]) if data.size else np.zeros(1, np.int64)
            return int(counts.max())
        return int((self._dense() > 0).reshape(-1, self._S).sum(axis=1).max())

    # -- uniform views for kernels --------------------------------------------------------
    def P4(self) -> np.ndarray:
        """Dense kernel with a leading step axis: ``(hp, S, A, S)``, ``hp`` in {1, H}.

        Returns
        -------
        numpy.ndarray
            The kernel, shape ``(hp, S, A, S)`` (a fresh read-only view; built from CSR for a sparse MDP).
        """
        P = self._dense() if self._P is not None else self.P
        return P.view() if P.ndim == 4 else P.reshape((1,) + P.shape)  # a fresh view either way

    def R3(self) -> np.ndarray:
        """Rewards with a leading step axis: ``(hr, S, A)``, ``hr`` in {1, H}.

        Returns
        -------
        numpy.ndarray
            The rewards, shape ``(hr, S, A)`` (a fresh read-only view).
        """
        R = self._R
        return R.view() if R.ndim == 3 else R.reshape((1,) + R.shape)  # (reshape: a new view)

    def reward_at(self, h: int) -> np.ndarray:
        """The reward table of step ``h``.

        Parameters
        ----------
        h : int
            Step, ``0 <= h < H`` (ignored for time-homogeneous rewards).

        Returns
        -------
        numpy.ndarray
            ``R_h``, shape ``(S, A)`` (a read-only view).
        """
        return self._R[h] if self._R.ndim == 3 else self._R.view()

    # ------------------------------------------------------------------ derived MDPs
    def with_rewards(self, R) -> "TabularMDP":
        """Same dynamics, horizon/discount and mu0, new rewards (validated).

        Parameters
        ----------
        R : array_like
            Rewards ``(S, A)`` or ``(H, S, A)``.

        Returns
        -------
        TabularMDP
            The new MDP.
        """
        return self._derive(self._dense() if self._P is not None else self.P_csr, R, self._mu0)

    def with_mu0(self, mu0) -> "TabularMDP":
        """Same dynamics, rewards and horizon/discount, new initial distribution (validated).

        Parameters
        ----------
        mu0 : int or array_like
            An initial state or a distribution over the ``S`` states.

        Returns
        -------
        TabularMDP
            The new MDP.
        """
        return self._derive(self._dense() if self._P is not None else self.P_csr, self._R, mu0)

    def to_sparse(self) -> "TabularMDP":
        """The same MDP with a CSR kernel (``self`` when already sparse).

        Returns
        -------
        TabularMDP
            Sparse copy.
        """
        if self.is_sparse:
            return self
        return _rebuild(self.P_csr, self._R, self._timing_kwargs(), self._mu0, self._name, True)  # a new CSR

    def to_dense(self) -> "TabularMDP":
        """The same MDP with a dense kernel (``self`` when already dense).

        Returns
        -------
        TabularMDP
            Dense copy.
        """
        if not self.is_sparse:
            return self
        return _rebuild(self.P, self._R, self._timing_kwargs(), self._mu0, self._name, True)  # a new array

    def __repr__(self) -> str:
        kind = f"H={self._H}" if self._H is not None else f"gamma={self._gamma}"
        form = "sparse" if self.is_sparse else "dense"
        hom = "homogeneous" if self.time_homogeneous else "inhomogeneous"
        nm = f"{self._name!r}, " if self._name else ""
        return f"TabularMDP({nm}S={self._S}, A={self._A}, {kind}, {form}, {hom})"


_set = object.__setattr__  # how TabularMDP's construction sets its attributes (its own __setattr__ refuses)


def _rebuild(P, R, kw, mu0, name, owned=False):
    """A :class:`TabularMDP`; with ``owned``, over a kernel ``P`` of ours (see :meth:`TabularMDP._build`).
    (Pickles written before ``owned`` existed pass five arguments.)"""
    m = TabularMDP.__new__(TabularMDP)
    m._build(P, R, kw.get("horizon"), kw.get("gamma"), mu0, name, False, owned)
    return m


def _tuple_successor_list(P) -> bool:
    """Whether ``P[0][0]`` is a tuple ``(next_states, probs)`` of two sequences (neither a scalar): what marks a
    nested sequence as a successor list whatever its shape (see the ``P`` parameter of :class:`TabularMDP`)."""
    try:
        first = P[0][0]
        return (isinstance(first, tuple) and len(first) == 2
                and not any(np.isscalar(x) or (isinstance(x, np.ndarray) and x.ndim == 0) for x in first))
    except Exception:
        return False


def _looks_like_successor_list(P) -> bool:
    """Whether ``P[0][0]`` is a pair ``(next_states, probs)`` of 1-D sequences, as a tuple or as a list."""
    try:
        first = P[0][0]
        return len(first) == 2 and np.ndim(first[0]) == 1 and np.ndim(first[1]) == 1
    except Exception:
        return False


def _rectangular_numeric(P) -> np.ndarray | None:
    """``np.asarray(P)`` when NumPy reads the nested sequence ``P`` as a rectangular real numeric array (integer or
    float); None when it is ragged or holds anything else."""
    try:
        arr = np.asarray(P)
    except (ValueError, TypeError):
        return None
    return arr if arr.dtype.kind in "iuf" else None


# ------------------------------------------------------------------ scipy formats other than CSR
# scipy's conversions to CSR trust a matrix's arrays (compiled loops that write out of bounds when the structure is
# corrupt), so every format is checked here first and then converted by code that cannot leave the checked arrays.

def _sparse_values(data, fmt: str, ndim: int) -> np.ndarray:
    """The ``data`` array of a ``fmt`` matrix, checked to be real numeric with ``ndim`` axes, as float64."""
    data = np.asarray(data)
    if data.dtype.kind not in "iuf":
        raise TypeError(f"P: expected a real numeric sparse matrix, got dtype={data.dtype}")
    if data.ndim != ndim:
        raise ValueError(f"P: {fmt} data must be {ndim}-D, got shape {data.shape}")
    data = narrow_to_float64("P", data, _data_entry if ndim == 1 else None)  # (longdouble)
    return np.asarray(data, dtype=np.float64)  # also native byte order


def _data_entry(i: int) -> str:
    """Where entry ``i`` of a sparse matrix's ``data`` is, for :func:`~rltheory._validation.narrow_to_float64`."""
    return f"stored at data[{i}]"


def _index_array(x, fmt: str, name: str) -> np.ndarray:
    """An index array of a ``fmt`` matrix, checked to be 1-D integer, as native int32 or int64 (other integer
    types, and non-native byte order, become int64; a uint64 beyond int64 wraps negative and is out of range)."""
    x = np.asarray(x)
    if x.dtype.kind not in "iu" or x.ndim != 1:
        raise TypeError(f"P: {fmt} {name} must be a 1-D integer array, got dtype={x.dtype}, ndim={x.ndim}")
    return x if x.dtype in (_I32, _I64) else x.astype(np.int64)


def _compressed_pointers(indptr: np.ndarray, indices: np.ndarray, n_major: int, n_minor: int, n_stored: int,
                         fmt: str, slot: str, minor: str, unit: str = "entries") -> int:
    """Check a compressed structure (CSC columns, BSR block rows) before it is read: ``n_major + 1`` pointers from
    0, non-decreasing, within the ``n_stored`` entries, minor indices in ``[0, n_minor)``. ``slot`` names a major
    slot (``"column s'={}"``), ``minor`` its indices and ``unit`` the stored items, in messages. Returns the number
    of items used."""
    if indptr.shape[0] != n_major + 1:
        raise ValueError(f"P: {fmt} indptr has {indptr.shape[0]} entries, expected {n_major} + 1 = {n_major + 1}")
    if indptr[0] != 0:
        raise ValueError(f"P: {fmt} {slot.format(0)} is corrupt: indptr[0] = {int(indptr[0])}, must be 0")
    j, code = _V.compressed_structure_bad(indptr.astype(np.int64), indices, n_minor, n_stored)
    if code == _V.CSR_INDEX_OUT_OF_RANGE:
        lo, hi = int(indptr[j]), int(indptr[j + 1])
        ix = indices[lo:hi]
        i = int(ix[(ix < 0) | (ix >= n_minor)][0])
        raise ValueError(f"P: {fmt} {slot.format(j)} has {minor} {i} outside [0, {n_minor})")
    if code != _V.CSR_OK:
        raise ValueError(f"P: {fmt} {slot.format(j)} is corrupt: indptr[{j}] = {int(indptr[j])}, indptr[{j + 1}] = "
                         f"{int(indptr[j + 1])} (non-decreasing, within the {n_stored} stored {unit})")
    return int(indptr[-1])


def _from_triplets(row: np.ndarray, col: np.ndarray, val: np.ndarray, rows: int, cols: int) -> sp.csr_matrix:
    """CSR from entries whose coordinates are known to lie in range (duplicates are summed, as scipy does)."""
    return sp.csr_matrix((val, (row, col)), shape=(rows, cols))


def _coo_to_csr(M, rows: int, cols: int, hp: int, S: int, A: int) -> sp.csr_matrix:
    coords = getattr(M, "coords", None)
    if coords is None:
        coords = (M.row, M.col)
    try:
        n_coords = len(coords)
    except TypeError as exc:
        raise TypeError(f"P: COO coords must be a pair (row, col) of arrays, got {type(coords).__name__}") from exc
    if n_coords != 2:
        raise ValueError(f"P: a 2-D COO matrix needs 2 coordinate arrays (row, col), got {n_coords}")
    data = _sparse_values(M.data, "COO", 1)
    r_, c_ = _index_array(coords[0], "COO", "row"), _index_array(coords[1], "COO", "col")
    n_data = data.shape[0]
    if r_.shape != (n_data,) or c_.shape != (n_data,):
        raise ValueError(f"P: COO row, col and data have different lengths ({r_.shape[0]}, {c_.shape[0]}, {n_data})")
    badr = np.flatnonzero((r_ < 0) | (r_ >= rows))
    if badr.size:
        k = int(badr[0])
        raise ValueError(f"P: COO entry {k} has row index {int(r_[k])} outside [0, {rows})")
    badc = np.flatnonzero((c_ < 0) | (c_ >= cols))
    if badc.size:
        k = int(badc[0])
        raise ValueError(f"P: transition row {_flat_row_label(int(r_[k]), hp, S, A)} has next-state index "
                         f"{int(c_[k])} outside [0, {S})")
    return _from_triplets(r_, c_, data, rows, cols)


def _csc_to_csr(M, rows: int, cols: int) -> sp.csr_matrix:
    data = _sparse_values(M.data, "CSC", 1)
    indptr, indices = _index_array(M.indptr, "CSC", "indptr"), _index_array(M.indices, "CSC", "indices")
    stored = min(indices.shape[0], data.shape[0])
    nnz = _compressed_pointers(indptr, indices, cols, rows, stored, "CSC", "column s'={}", "row index")
    # scipy's transposition reads exactly the checked entries [0, nnz) of these native arrays
    return sp.csc_matrix((data[:nnz], indices[:nnz], indptr), shape=(rows, cols)).tocsr()


def _bsr_to_csr(M, rows: int, cols: int) -> sp.csr_matrix:
    """A BSR matrix as CSR, its structure checked first (block shape tiling the matrix, pointers, block column
    indices; errors name ``P``).

    Parameters
    ----------
    M : scipy.sparse BSR matrix or array
        The kernel; its ``data``, ``indptr`` and ``indices`` are read.
    rows, cols : int
        Its shape.

    Returns
    -------
    scipy.sparse.csr_matrix
        The entries of the blocks the pointers use, in canonical CSR form (sorted, duplicates summed; stored zeros
        kept).

    Raises
    ------
    TypeError, ValueError
        For data that is not real numeric and 3-D, blocks that do not tile the matrix, or a corrupt block structure
        (pointers, block column indices), which scipy's compiled conversion could misread or write out of bounds
        with; the message starts with ``"P: "``.
    """
    data = _sparse_values(M.data, "BSR", 3)
    R_, C_ = data.shape[1:]
    if R_ < 1 or C_ < 1 or rows % R_ or cols % C_:
        raise ValueError(f"P: BSR blocks of shape {(R_, C_)} (the shape of its data's last two axes) do not tile the "
                         f"matrix's shape {(rows, cols)}")
    indptr, indices = _index_array(M.indptr, "BSR", "indptr"), _index_array(M.indices, "BSR", "indices")
    n_brow, n_bcol = rows // R_, cols // C_
    stored = min(indices.shape[0], data.shape[0])
    nb = _compressed_pointers(indptr, indices, n_brow, n_bcol, stored, "BSR", "block row {}",
                              "block column index", "blocks")
    # scipy's expansion reads exactly the checked blocks [0, nb) of these native arrays; it lays each row out as
    # COO-to-CSR lays out the blocks' entries (blocks in stored order, then columns within a block), so the same
    # canonicalisation gives the arrays of _from_triplets on them
    out = sp.bsr_matrix((data[:nb], indices[:nb], indptr), shape=(rows, cols)).tocsr()
    out.sum_duplicates()
    return out


def _dia_to_csr(M, rows: int, cols: int) -> sp.csr_matrix:
    data = _sparse_values(M.data, "DIA", 2)
    offsets = np.asarray(M.offsets)
    if offsets.dtype.kind not in "iu" or offsets.ndim != 1:
        raise TypeError(f"P: DIA offsets must be a 1-D integer array, got dtype={offsets.dtype}, ndim={offsets.ndim}")
    if offsets.shape[0] != data.shape[0]:
        raise ValueError(f"P: DIA offsets has length {offsets.shape[0]}, but its data holds {data.shape[0]} "
                         "diagonals")
    offs = [int(o) for o in offsets]  # Python ints: no wrap-around, whatever the dtype
    seen: set[int] = set()
    for o in offs:
        if o in seen:
            raise ValueError(f"P: DIA offsets list diagonal {o} more than once")
        seen.add(o)
    L = min(data.shape[1], cols)  # data[k, j] is the entry (j - offsets[k], j)
    row, col, val = [], [], []
    for k, o in enumerate(offs):
        j0, j1 = max(o, 0), min(rows + o, L)
        if j1 > j0:
            j = np.arange(j0, j1, dtype=np.int64)
            v = data[k, j0:j1]
            keep = v != 0  # scipy's conversion drops the zeros (the padding of a DIA matrix)
            row.append(j[keep] - o)
            col.append(j[keep])
            val.append(v[keep])
    if not row:
        return sp.csr_matrix((rows, cols))
    return _from_triplets(np.concatenate(row), np.concatenate(col), np.concatenate(val), rows, cols)


def _exact_ints(values, n: int, limit: int, what: str) -> np.ndarray | None:
    """The ``n`` integers of the iterable ``values`` (Python or NumPy integers of any mix of kinds, which NumPy
    would promote to float64) as an int64 array, each read exactly with ``operator.index``. ``None`` when one is
    not an integer (a float, a string, ...); a ``ValueError`` naming ``P`` and ``what`` for one outside
    ``[0, limit)``."""
    def exact(x):
        v = operator.index(x)
        if not 0 <= v < limit:
            raise IndexError(v)
        return v
    try:
        return np.fromiter((exact(x) for x in values), dtype=np.int64, count=n)
    except IndexError as exc:
        raise ValueError(f"P: {what} {show_number(exc.args[0])} outside [0, {limit})") from None
    except (TypeError, ValueError):
        return None


def _exact_next_states(raw) -> np.ndarray | None:
    """The next states ``raw`` of a successor list entry whose elements are all integers (Python or NumPy, not
    bool), read exactly (NumPy promotes a mix of int64 and uint64 to float64, and ints beyond 64 bits to objects):
    an object array of Python ints, range-checked by the caller. ``None`` when an element is anything else."""
    try:
        items = np.array(raw, dtype=object)
    except Exception:
        return None
    if items.ndim != 1 or not all(isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
                                  for x in items):
        return None
    out = np.empty(items.size, dtype=object)
    out[:] = [operator.index(x) for x in items]
    return out


def _lil_lists(x, name: str, rows: int) -> np.ndarray:
    """The ``rows`` or ``data`` array of a LIL matrix, checked to be a NumPy object array (not a subclass, whose
    own indexing could answer differently from what it stores) of one entry per row."""
    if type(x) is not np.ndarray or x.dtype != object:
        got = f"a {x.dtype} array" if type(x) is np.ndarray else type(x).__name__
        raise TypeError(f"P: LIL {name} must be an object array of {rows} lists (one per row), got {got}")
    if x.shape != (rows,):
        raise ValueError(f"P: LIL {name} must be an object array of {rows} lists (one per row), got shape {x.shape}")
    return x


def _lil_to_csr(M, rows: int, cols: int) -> sp.csr_matrix:
    """A LIL matrix as CSR.

    Every row must hold two plain lists (scipy's own; a list subclass can answer ``len`` and iteration differently
    from what it stores, and scipy and this reader could then disagree on the matrix); column indices must be
    integers (Python or NumPy, not bool) and values real numbers (Python or NumPy ints and floats, not bool), so
    that NumPy's promotion of a mixed list (``[True, 0]`` to int, ``[0.5, True]`` to float) accepts none of them.

    Parameters
    ----------
    M : scipy.sparse LIL matrix or array
        The kernel; only its ``rows`` and ``data`` attributes are read.
    rows, cols : int
        Its shape.

    Returns
    -------
    scipy.sparse.csr_matrix
        The same entries in canonical CSR form (duplicates summed, as scipy's own conversion does).

    Raises
    ------
    TypeError, ValueError
        For anything but the matrix described above; the message starts with ``"P: LIL"``.

    Notes
    -----
    :func:`_lil_fast` reads an ordinary matrix (plain lists of exactly-typed numbers, indices in range) in passes
    that run no Python code per entry; anything it does not vouch for is read again by :func:`_lil_exact`, entry
    by entry, which gives every error. Both give the same arrays for a matrix the fast reader accepts.
    """
    lil_rows, lil_data = _lil_lists(M.rows, "rows", rows), _lil_lists(M.data, "data", rows)
    fast = _lil_fast(lil_rows, lil_data, rows, cols)
    return fast if fast is not None else _lil_exact(lil_rows, lil_data, rows, cols)


def _lil_exact(lil_rows: np.ndarray, lil_data: np.ndarray, rows: int, cols: int) -> sp.csr_matrix:
    """:func:`_lil_to_csr` entry by entry: every row's type and length, every entry's type and then every column
    index's range, raising the first error found (rows in order).

    Parameters
    ----------
    lil_rows, lil_data : numpy.ndarray
        The matrix's ``rows`` and ``data`` (checked by :func:`_lil_lists`).
    rows, cols : int
        The matrix's shape.

    Returns
    -------
    scipy.sparse.csr_matrix
        The matrix in canonical CSR form.
    """
    lengths = np.empty(rows, dtype=np.int64)
    flat_cols: list = []
    flat_vals: list = []
    for i in range(rows):
        ri, di = lil_rows[i], lil_data[i]
        if type(ri) is not list or type(di) is not list:
            raise TypeError(f"P: LIL row {i} must hold a list of column indices and a list of values, got "
                            f"{type(ri).__name__} and {type(di).__name__}")
        if len(ri) != len(di):
            raise ValueError(f"P: LIL row {i} has {len(ri)} column indices but {len(di)} values")
        for j in ri:
            if not isinstance(j, (int, np.integer)) or isinstance(j, bool):
                raise TypeError(f"P: LIL column indices must be integers; row {i} holds a {type(j).__name__}")
        for x in di:
            if not isinstance(x, (int, float, np.integer, np.floating)) or isinstance(x, bool):
                raise TypeError(f"P: LIL values must be real numbers; row {i} holds a {type(x).__name__}")
        lengths[i] = len(ri)
        flat_cols += ri
        flat_vals += di
    nnz = int(lengths.sum())
    col = _exact_ints(flat_cols, nnz, cols, "LIL column index")  # exact for any mix of integer kinds
    if col is None:
        raise TypeError("P: LIL column indices must be integers")
    try:
        with np.errstate(over="raise"):  # a longdouble beyond float64: named below, not cast to inf
            val = np.array(flat_vals, dtype=np.float64) if nnz else np.zeros(0)
    except (OverflowError, FloatingPointError):
        k = next(k for k, x in enumerate(flat_vals) if not _fits_float64(x))
        i = int(np.searchsorted(np.cumsum(lengths), k, side="right"))
        raise ValueError(f"P: LIL row {i} holds a value beyond the float64 range "
                         f"({show_number(flat_vals[k])})") from None
    except Exception as exc:  # a NumPy scalar subclass that will not convert
        raise TypeError(f"P: LIL values must be real numbers ({type(exc).__name__}: {exc})") from None
    return _from_triplets(np.repeat(np.arange(rows, dtype=np.int64), lengths), col, val, rows, cols)


def _lil_index_types() -> tuple:
    """The NumPy integer types whose every value fits int64 (so their conversion to int64 is exact), with
    Python's ``int``; bool is not among them."""
    names = ("byte", "short", "intc", "int_", "long", "longlong", "intp", "int8", "int16", "int32", "int64",
             "ubyte", "ushort", "uintc", "uint8", "uint16", "uint32")
    found = (getattr(np, n, None) for n in names)
    return (int, *dict.fromkeys(t for t in found if isinstance(t, type) and issubclass(t, np.integer)
                                and np.iinfo(t).min >= -(2**63) and np.iinfo(t).max <= 2**63 - 1))


def _lil_value_types() -> tuple:
    """The types :func:`_lil_exact` accepts as values and converts with ``np.array(..., dtype=np.float64)``:
    Python's ``int`` and ``float`` and NumPy's integer and float types (not bool, not complex, not a subclass)."""
    names = ("float16", "float32", "float64", "longdouble", "half", "single", "double", "uint64", "ulong",
             "ulonglong", "uint", "uintp")
    found = (getattr(np, n, None) for n in names)
    return (float, *_LIL_INDEX_TYPES,
            *dict.fromkeys(t for t in found if isinstance(t, type) and issubclass(t, (np.integer, np.floating))))


_LIL_INDEX_TYPES = _lil_index_types()
_LIL_VALUE_TYPES = _lil_value_types()


def _all_of_types(items: list, allowed: tuple) -> bool:
    """Whether the type of every item of ``items`` is (by identity, so not a subclass) one of ``allowed``.

    Parameters
    ----------
    items : list
        The entries (our own list: nothing else can change it meanwhile).
    allowed : tuple of type
        The accepted types.

    Returns
    -------
    bool
        ``True`` for an empty list.

    Notes
    -----
    One pass in C when all items share one type; a mixed list counts each of its types separately. Types are only
    ever compared by identity: a set of them can run a metaclass's ``__hash__`` and ``__eq__``, which could make
    a foreign type look equal to ``int``, so the set only says which types to count.
    """
    if not items:
        return True
    first = type(items[0])
    if not any(first is t for t in allowed):
        return False
    if all(map(operator.is_, map(type, items), itertools.repeat(first))):
        return True
    try:
        kinds = set(map(type, items))
    except Exception:  # a metaclass that will not hash: the exact reader decides
        return False
    counted = 0
    for kind in kinds:
        if not any(kind is t for t in allowed):
            return False
        same = np.fromiter(map(operator.is_, map(type, items), itertools.repeat(kind)), dtype=bool, count=len(items))
        counted += int(np.count_nonzero(same))
    return counted == len(items)


def _lil_fast(lil_rows: np.ndarray, lil_data: np.ndarray, rows: int, cols: int) -> sp.csr_matrix | None:
    """:func:`_lil_to_csr` for an ordinary LIL matrix, in passes that run no Python code per entry; ``None``
    whenever the matrix is anything else, for :func:`_lil_exact` to read (and name its error).

    Parameters
    ----------
    lil_rows, lil_data : numpy.ndarray
        The matrix's ``rows`` and ``data``: object arrays of ``rows`` entries (checked by :func:`_lil_lists`).
    rows, cols : int
        The matrix's shape.

    Returns
    -------
    scipy.sparse.csr_matrix or None
        The matrix, when every row holds two plain lists of equal length, every column index is a Python int or a
        NumPy integer type whose values fit int64, every value is a Python int or float or a NumPy integer or
        float scalar (exact types: no bool, no subclass) that converts to float64, and every column index lies in
        ``[0, cols)``; else ``None``. The entries are read from flat copies of the lists, their types compared by
        identity only; the arrays equal those :func:`_lil_exact` builds.
    """
    is_ = operator.is_
    if not (all(map(is_, map(type, lil_rows), itertools.repeat(list)))
            and all(map(is_, map(type, lil_data), itertools.repeat(list)))):
        return None
    lengths = np.fromiter(map(len, lil_rows), dtype=np.int64, count=rows)
    if not np.array_equal(lengths, np.fromiter(map(len, lil_data), dtype=np.int64, count=rows)):
        return None
    flat_cols = list(itertools.chain.from_iterable(lil_rows))  # our own lists: their entries cannot change now
    flat_vals = list(itertools.chain.from_iterable(lil_data))
    nnz = int(lengths.sum())
    if len(flat_cols) != nnz or len(flat_vals) != nnz:
        return None
    if not (_all_of_types(flat_cols, _LIL_INDEX_TYPES) and _all_of_types(flat_vals, _LIL_VALUE_TYPES)):
        return None
    try:
        col = np.fromiter(flat_cols, dtype=np.int64, count=nnz)  # exact for these types (a Python int beyond
        # int64 overflows); one read of each entry, where np.array reads them twice
        with np.errstate(over="raise"):
            val = np.array(flat_vals, dtype=np.float64)  # the exact reader's own conversion
    except (OverflowError, FloatingPointError):
        return None
    if nnz and (int(col.min()) < 0 or int(col.max()) >= cols):
        return None
    indptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    # the arrays scipy's COO-to-CSR step builds from _lil_exact's triplets (entries bucketed by row, in order),
    # then the same canonicalisation
    M = sp.csr_matrix((val, col, indptr), shape=(rows, cols))
    M.sum_duplicates()
    return M


def _fits_float64(x) -> bool:
    try:
        v = float(x)
    except OverflowError:  # a Python int beyond the float64 range
        return False
    return not (v in (np.inf, -np.inf) and isinstance(x, np.floating) and bool(np.isfinite(x)))  # a longdouble


def _is_bool(x) -> bool:
    """Whether ``x`` is a bool (Python, NumPy, or a NumPy array of bools), which NumPy would read as 0 or 1."""
    return isinstance(x, (bool, np.bool_)) or (isinstance(x, np.ndarray) and x.dtype.kind == "b")


def _dok_to_csr(M, rows: int, cols: int) -> sp.csr_matrix:
    try:
        items = list(M.items())
    except (ValueError, TypeError) as exc:
        raise TypeError(f"P: DOK keys must be (row, col) pairs of integers and its values real numbers "
                        f"({exc})") from exc
    # bools are refused as LIL refuses them (NumPy's promotion would read a mix of them as 0 and 1)
    for key, value in items:
        if isinstance(key, tuple) and any(map(_is_bool, key)):
            shown = ", ".join(repr(x) if isinstance(x, (bool, np.bool_, int, np.integer)) else type(x).__name__
                              for x in key)
            raise TypeError(f"P: DOK keys must be (row, col) pairs of integers, got a bool in the key ({shown})")
        if _is_bool(value):
            plain = isinstance(key, tuple) and all(isinstance(x, (int, np.integer)) for x in key)
            at = f" at key ({', '.join(str(int(x)) for x in key)})" if plain else ""
            raise TypeError(f"P: DOK values must be real numbers, got a bool{at}")
    try:
        keys = np.array([k for k, _ in items]) if items else np.zeros((0, 2), np.int64)
        val = np.array([v for _, v in items]) if items else np.zeros(0)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"P: DOK keys must be (row, col) pairs of integers and its values real numbers "
                        f"({exc})") from exc
    if keys.dtype.kind not in "iu" and keys.shape == (len(items), 2):  # e.g. mixed NumPy int64 / uint64 keys
        flat = _exact_ints((x for k, _ in items for x in k), 2 * len(items), max(rows, cols), "DOK key index")
        keys = None if flat is None else flat.reshape(len(items), 2)
    if keys is None or keys.dtype.kind not in "iu" or keys.shape != (len(items), 2):
        got = "" if keys is None else f", got an array of dtype={keys.dtype}, shape {keys.shape}"
        raise TypeError(f"P: DOK keys must be (row, col) pairs of integers{got}")
    val = _sparse_values(val, "DOK", 1)
    keys = keys.astype(np.int64)  # (uint64 beyond int64 wraps negative: out of range)
    bad = np.flatnonzero((keys[:, 0] < 0) | (keys[:, 0] >= rows) | (keys[:, 1] < 0) | (keys[:, 1] >= cols))
    if bad.size:
        k = tuple(int(x) for x in keys[int(bad[0])])
        raise ValueError(f"P: DOK key {k} lies outside the matrix's shape {(rows, cols)}")
    return _from_triplets(keys[:, 0], keys[:, 1], val, rows, cols)


def _to_csr(P, fmt, rows: int, cols: int, hp: int, S: int, A: int) -> sp.csr_matrix:
    """A non-CSR scipy matrix ``P`` as CSR, its own structure checked before any of it is converted (errors name
    ``P``). An unknown format goes through its own ``tocoo()`` and is then checked as COO."""
    if fmt == "coo":
        return _coo_to_csr(P, rows, cols, hp, S, A)
    if fmt == "csc":
        return _csc_to_csr(P, rows, cols)
    if fmt == "bsr":
        return _bsr_to_csr(P, rows, cols)
    if fmt == "dia":
        return _dia_to_csr(P, rows, cols)
    if fmt == "lil":
        return _lil_to_csr(P, rows, cols)
    if fmt == "dok":
        return _dok_to_csr(P, rows, cols)
    try:
        C = P.tocoo()
    except Exception as exc:
        raise ValueError(f"P: cannot convert the {fmt} sparse matrix to COO ({exc})") from exc
    if tuple(getattr(C, "shape", ())) != (rows, cols):
        raise ValueError(f"P: the {fmt} sparse matrix of shape {(rows, cols)} converted to COO of shape "
                         f"{getattr(C, 'shape', None)}")
    return _coo_to_csr(C, rows, cols, hp, S, A)
