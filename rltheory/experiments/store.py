"""JSON conversion of cell results and the SQLite store of finished sweep cells.

Encoding
--------
A cell result is a dict converted by :func:`to_jsonable`: NumPy scalars become ``int``/``float``/``bool``,
arrays become nested lists (``ndarray.tolist()``), tuples become lists, mapping keys must be ``str``
(``int``/NumPy integer keys are turned into their decimal string, as ``json`` would). Every float is a
Python ``float`` (IEEE binary64) and is written with ``repr``, the shortest string that parses back to the
same double, so ``json.loads(json.dumps(x)) == x`` bit for bit, ``-0.0`` and subnormals included. NumPy
``float32``/``float16`` values are widened exactly to float64; ``longdouble`` is rounded to float64 (the
only lossy case). Non-finite floats are written as the tokens ``NaN``, ``Infinity``, ``-Infinity`` which
Python's :mod:`json` reads back (they are not strict JSON, so SQLite's own ``json_*`` functions reject
such rows). Sets, complex numbers, bytes and arbitrary objects raise ``TypeError`` naming the path inside
the result.

Schema
------
``sweeps(name PRIMARY KEY, fn, fn_hash, code_hash, grid, seeds, created, updated)``: one row per sweep name;
``fn`` is the function's qualified name and ``fn_hash`` the first 16 hex digits of its SHA-256; ``code_hash``
hashes the function's source (:func:`code_hash`): when a sweep is resumed with different code, its stored cells
were computed by other code and are discarded (with a warning) instead of being mixed with new ones — edits
to *other* functions it calls are not detected. ``grid``/``seeds`` are those of the most recent run (they only
fix the order of :func:`load_rows`).
``cells(name, params, seed, result, finished, elapsed, UNIQUE(name, params, seed))``: one row per finished
cell; ``params`` is the canonical JSON of the cell's parameters (:func:`canonical_params`), ``result`` its
JSON text, ``finished`` a Unix time and ``elapsed`` the seconds the call took in the worker.
The file is in WAL mode and every insert is its own transaction (autocommit), with
``synchronous=NORMAL``: a committed cell survives the death of the writing process (SIGKILL included);
a power failure can lose the last few commits, never corrupt the file.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import marshal
import os
import sqlite3
import time
import warnings
from collections.abc import Mapping

import numpy as np

__all__ = ["to_jsonable", "dumps", "loads", "canonical_params", "fn_identity", "fn_hash", "code_hash", "SweepStore"]


def to_jsonable(x, _path: str = "result"):
    """Return ``x`` with NumPy scalars/arrays, tuples and non-``str`` integer keys turned into plain JSON
    types (see the module docstring); raise ``TypeError`` naming the offending path otherwise.

    Parameters
    ----------
    x : object
        A result.
    _path : str
        Where ``x`` sits in the result, for error messages.

    Returns
    -------
    object
        ``x`` in plain JSON types.
    """
    if x is None or isinstance(x, (bool, np.bool_)):
        return None if x is None else bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x)
    if isinstance(x, str):
        return str(x)
    if isinstance(x, Mapping):
        out = {}
        for k, v in x.items():
            if isinstance(k, (bool, np.bool_)) or not isinstance(k, (str, int, np.integer)):
                raise TypeError(f"{_path}: key {k!r} of type {type(k).__name__} is not a str")
            ks = str(k) if isinstance(k, str) else str(int(k))
            if ks in out:
                raise TypeError(f"{_path}: keys {k!r} and {ks!r} collide once converted to str")
            out[ks] = to_jsonable(v, f"{_path}[{ks!r}]")
        return out
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf" and x.dtype != object:
            raise TypeError(f"{_path}: array of dtype {x.dtype} is not JSON-serialisable")
        return to_jsonable(x.tolist(), _path)
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v, f"{_path}[{i}]") for i, v in enumerate(x)]
    raise TypeError(f"{_path}: value of type {type(x).__name__} is not JSON-serialisable")


def dumps(result) -> str:
    """JSON text of ``to_jsonable(result)`` (floats exact; non-finite as ``NaN``/``Infinity``).

    Parameters
    ----------
    result : dict
        A cell's result.

    Returns
    -------
    str
        The JSON text.
    """
    return json.dumps(to_jsonable(result), allow_nan=True, separators=(",", ":"))


def loads(text: str):
    """The inverse of :func:`dumps`.

    Parameters
    ----------
    text : str
        JSON text.

    Returns
    -------
    object
        The decoded result.
    """
    return json.loads(text)


def canonical_params(params: Mapping) -> str:
    """Canonical JSON of a cell's parameters: keys sorted, no spaces; the cell's key in the store.
    ``1`` and ``1.0`` give different keys; a tuple and the equal list give the same key.

    Parameters
    ----------
    params : mapping
        The cell's parameters.

    Returns
    -------
    str
        The canonical JSON.
    """
    return json.dumps(to_jsonable(params, "grid"), sort_keys=True, separators=(",", ":"), allow_nan=True)


def fn_identity(fn) -> str:
    """``module.qualname`` of ``fn``; for a ``functools.partial`` that of the wrapped function, for a
    callable instance that of its class (bound arguments are not part of the identity).

    Parameters
    ----------
    fn : callable
        A function, ``functools.partial`` or callable instance.

    Returns
    -------
    str
        ``module.qualname``.
    """
    func = getattr(fn, "func", None)
    if func is not None and type(fn).__name__ == "partial":
        return f"functools.partial({fn_identity(func)})"
    qual = getattr(fn, "__qualname__", None)
    if qual is None:
        fn = type(fn)
        qual = fn.__qualname__
    return f"{getattr(fn, '__module__', None) or '?'}.{qual}"


def code_hash(fn) -> str | None:
    """First 16 hex digits of the SHA-256 of ``fn``'s source (of the wrapped function for a ``functools.partial``,
    of the class for a callable instance); its bytecode and constants when the source is unavailable; ``None`` if
    neither can be read (then code changes go undetected).

    Parameters
    ----------
    fn : callable
        The sweep's function.

    Returns
    -------
    str or None
        The hash, or ``None``.
    """
    func = getattr(fn, "func", None)
    if func is not None and type(fn).__name__ == "partial":
        fn = func
    target = fn if (inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isclass(fn)) else type(fn)
    try:
        text = inspect.getsource(target).encode("utf-8")
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is None:
            return None
        try:
            text = marshal.dumps(code)
        except ValueError:
            return None
    return hashlib.sha256(text).hexdigest()[:16]


def fn_hash(identity: str) -> str:
    """A short stable hash of a function identity.

    Parameters
    ----------
    identity : str
        :func:`fn_identity` of a function.

    Returns
    -------
    str
        The first 16 hex digits of its SHA-256.
    """
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


_SWEEP_COLUMNS = {"fn": "TEXT", "fn_hash": "TEXT", "code_hash": "TEXT", "grid": "TEXT", "seeds": "TEXT", "created": "REAL",
                  "updated": "REAL"}
_CELL_COLUMNS = {"finished": "REAL", "elapsed": "REAL"}


class SweepStore:
    """An open SQLite sweep file (see the module docstring for the schema). Writes are autocommitted."""

    def __init__(self, path, *, create: bool = True):
        self.path = os.fspath(path)
        if not create and not os.path.exists(self.path):
            raise FileNotFoundError(f"db: no sweep database at {self.path}")
        parent = os.path.dirname(os.path.abspath(self.path))
        if create:
            os.makedirs(parent, exist_ok=True)
        self.con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        try:
            mode = self._journal_mode_wal(deadline=time.monotonic() + 60.0)
            if mode.lower() != "wal":
                raise ValueError(f"db: could not switch {self.path} to WAL mode (got {mode!r})")
            self.con.execute("PRAGMA synchronous=NORMAL")
            self.con.execute("CREATE TABLE IF NOT EXISTS sweeps (name TEXT PRIMARY KEY, fn TEXT NOT NULL)")
            self.con.execute("CREATE TABLE IF NOT EXISTS cells (name TEXT NOT NULL, params TEXT NOT NULL, "
                             "seed INTEGER NOT NULL, result TEXT NOT NULL, UNIQUE(name, params, seed))")
            self._ensure_columns("sweeps", _SWEEP_COLUMNS)
            self._ensure_columns("cells", _CELL_COLUMNS)
        except BaseException:
            self.con.close()
            raise

    def _journal_mode_wal(self, deadline: float) -> str:
        """Switch the file to WAL mode and return the mode it is in. Two processes or threads opening a new file at
        once can both try the switch, and SQLite then answers "database is locked" at once, without waiting for its
        busy timeout (the switch needs an exclusive lock): retry with a short sleep until ``deadline``."""
        delay = 0.001
        while True:
            try:
                return self.con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(2.0 * delay, 0.1)

    def _ensure_columns(self, table, columns):
        have = {row[1] for row in self.con.execute(f"PRAGMA table_info({table})")}
        for col, typ in columns.items():
            if col not in have:
                try:
                    self.con.execute(f"ALTER TABLE {table} ADD COLUMN {col} {typ}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise

    # -- context manager
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the database connection."""
        self.con.close()

    # -- sweeps
    def names(self) -> list[str]:
        """The names of the stored sweeps.

        Returns
        -------
        list of str
            Sorted.
        """
        return [r[0] for r in self.con.execute("SELECT name FROM sweeps ORDER BY name")]

    def bind(self, name: str, identity: str, grid_json: str, seeds_json: str, code: str | None = None):
        """Register ``name`` for the function ``identity`` or check that it was registered for it. ``code``
        (:func:`code_hash` of the function) differing from the stored one discards the sweep's stored cells.

        Parameters
        ----------
        name : str
            The sweep's namespace.
        identity : str
            :func:`fn_identity` of the function.
        grid_json, seeds_json : str
            JSON of the grid and the seeds of this run.
        code : str, optional
            :func:`code_hash` of the function.
        """
        h = fn_hash(identity)
        now = time.time()
        self.con.execute("INSERT OR IGNORE INTO sweeps (name, fn, fn_hash, code_hash, grid, seeds, created, updated) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (name, identity, h, code, grid_json, seeds_json, now, now))
        fn, stored_hash, stored_code = self.con.execute(
            "SELECT fn, fn_hash, code_hash FROM sweeps WHERE name = ?", (name,)).fetchone()
        if stored_hash is None:  # file written before fn_hash existed
            stored_hash = fn_hash(fn)
        if stored_hash != h:
            raise ValueError(f"db: sweep {name!r} in {self.path} was run with function {fn!r}, not {identity!r}; "
                             "give this sweep another name or use another db")
        if code is not None and stored_code is not None and stored_code != code:
            n = self.con.execute("SELECT COUNT(*) FROM cells WHERE name = ?", (name,)).fetchone()[0]
            self.con.execute("DELETE FROM cells WHERE name = ?", (name,))
            warnings.warn(f"db: the code of sweep {name!r} ({identity}) changed since {self.path} stored it: "
                          f"{n} stored cell(s) discarded and recomputed", RuntimeWarning, stacklevel=3)
        self.con.execute("UPDATE sweeps SET grid = ?, seeds = ?, updated = ?, fn_hash = ?, "
                         "code_hash = COALESCE(?, code_hash) WHERE name = ?",
                         (grid_json, seeds_json, now, h, code, name))

    def sweep_info(self, name: str) -> dict | None:
        """The registration of a sweep.

        Parameters
        ----------
        name : str
            The sweep's namespace.

        Returns
        -------
        dict or None
            ``{"fn", "fn_hash", "grid", "seeds"}`` (grid and seeds decoded), or ``None`` for an unknown sweep.
        """
        row = self.con.execute("SELECT fn, fn_hash, grid, seeds FROM sweeps WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        return {"fn": row[0], "fn_hash": row[1], "grid": None if row[2] is None else json.loads(row[2]),
                "seeds": None if row[3] is None else json.loads(row[3])}

    # -- cells
    def done_keys(self, name: str) -> set:
        """The finished cells of a sweep.

        Parameters
        ----------
        name : str
            The sweep's namespace.

        Returns
        -------
        set of (str, int)
            ``(params_key, seed)`` of every stored cell.
        """
        return set(self.con.execute("SELECT params, seed FROM cells WHERE name = ?", (name,)))

    def put(self, name: str, params_key: str, seed: int, result_json: str, *, elapsed: float | None = None) -> bool:
        """Insert one finished cell (its own committed transaction); False if it was already there.

        Parameters
        ----------
        name : str
            The sweep's namespace.
        params_key : str
            :func:`canonical_params` of the cell.
        seed : int
            The cell's seed.
        result_json : str
            :func:`dumps` of the result.
        elapsed : float, optional
            Seconds the cell took.

        Returns
        -------
        bool
            Whether the cell was inserted.
        """
        cur = self.con.execute("INSERT OR IGNORE INTO cells (name, params, seed, result, finished, elapsed) "
                               "VALUES (?, ?, ?, ?, ?, ?)",
                               (name, params_key, int(seed), result_json, time.time(), elapsed))
        return cur.rowcount == 1

    def results(self, name: str) -> dict:
        """``{(params_key, seed): result_json}`` for every stored cell of ``name``.

        Parameters
        ----------
        name : str
            The sweep's namespace.

        Returns
        -------
        dict
            ``{(params_key, seed): result_json}``.
        """
        return {(p, s): r for p, s, r in
                self.con.execute("SELECT params, seed, result FROM cells WHERE name = ?", (name,))}

