"""Parameter grid x seeds sweeps on a local process pool or a Dask cluster, resumable through SQLite.

A *cell* is ``(params, seed)``: one combination of the grid's values and one seed. The sweep calls
``fn(**params, seed=seed)`` once per cell; ``fn`` returns a dict that is converted to JSON in the worker
(NumPy scalars -> int/float/bool, arrays -> nested lists, tuples -> lists; floats round-trip exactly, see
:mod:`rltheory.experiments.store`). Rows come back as ``{"params": {...}, "seed": int, "result": {...}}``
in the order of ``itertools.product`` over the grid's values (keys in the order given), seeds innermost,
whatever the executor and whatever order the cells finished in.

Reproducibility: the seed is the cell's only source of randomness (``fn`` should build
``numpy.random.default_rng(seed)``), so a cell gives the same bits in process, in a pool or on Dask.

Storage and resume: with ``db`` (a file path) the parent process, and only it, inserts each finished cell as
its own committed transaction, keyed by ``(name, canonical JSON of params, seed)`` under a UNIQUE
constraint (``INSERT OR IGNORE``: two concurrent runs of the same sweep never duplicate a row; the first
writer wins). Killing the sweep at any moment (SIGKILL included) loses only the cells in flight; run again
with the same ``db`` and ``name``, it computes only the cells not stored yet, then reads every row back
from the file. Changing the grid is allowed: cells already stored for matching ``(params, seed)`` are
reused, so a grid can be extended without recomputation.

Namespaces: ``name`` (default: ``fn``'s ``module.qualname``) is the sweep's namespace in the file. The
first run binds the name to the function's qualified name (stored with its SHA-256); running another
function under the same name in the same file raises ``ValueError``. The store cannot see a change of
``fn``'s *code* under the same name: use a new name (or a new file) when the function's meaning changes.
"""
from __future__ import annotations

import contextlib
import contextvars
import importlib.util
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Callable

import numpy as np

from .._validation import check_seed
from . import _executors
from ._executors import CellError
from ._stop import stop_if_interrupted
from .store import SweepStore, canonical_params, code_hash, fn_identity, loads, to_jsonable

__all__ = ["run_sweep", "Sweep", "load_rows", "CellError"]


def _check_grid(grid) -> dict:
    if not isinstance(grid, dict):
        raise TypeError(f"grid: expected a dict of name -> non-empty list, got {type(grid).__name__}")
    out = {}
    for k, v in grid.items():
        if not isinstance(k, str):
            raise TypeError(f"grid: keys must be str (they become keyword arguments), got {k!r}")
        if k == "seed":
            raise ValueError("grid: the key 'seed' is reserved; pass seeds through the `seeds` argument")
        if isinstance(v, np.ndarray):
            v = list(v)
        if not isinstance(v, (list, tuple, range)):
            raise TypeError(f"grid: value for {k!r} must be a list of values, got {type(v).__name__}")
        v = list(v)
        if not v:
            raise ValueError(f"grid: value for {k!r} is an empty list")
        keys = [canonical_params({k: x}) for x in v]
        if len(set(keys)) != len(keys):
            dup = next(x for i, x in enumerate(v) if keys.index(keys[i]) != i)
            raise ValueError(f"grid: value {dup!r} appears twice for {k!r}")
        out[k] = v
    return out


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, (bool, np.bool_)):
        if seeds < 1:
            raise ValueError(f"seeds: an int n means seeds 0..n-1 and must be >= 1, got {seeds}")
        return list(range(int(seeds)))
    if isinstance(seeds, (str, bytes, dict)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds: expected an int or a sequence of ints, got {type(seeds).__name__}")
    out = [check_seed("seeds", s) for s in seeds]
    if not out:
        raise ValueError("seeds: empty sequence")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds: duplicate entries in {out}")
    return out


class Sweep:
    """The cells of ``grid`` x ``seeds`` for ``fn``; :meth:`run` computes them (see the module docstring).

    ``grid``: dict of keyword name -> non-empty list of JSON-able values (duplicates refused);
    ``seeds``: int n (seeds ``0..n-1``) or a sequence of distinct ints in ``[0, 2**63)``;
    ``name``: namespace in the db (default ``fn``'s ``module.qualname``).
    """

    def __init__(self, fn: Callable, grid: dict, seeds: Sequence[int] | int, *, name: str | None = None):
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"name: expected a non-empty str or None, got {name!r}")
        self.fn = fn
        self.grid = _check_grid(grid)
        self.seeds = _check_seeds(seeds)
        self.name = name if name is not None else fn_identity(fn)

    def __len__(self) -> int:
        n = len(self.seeds)
        for v in self.grid.values():
            n *= len(v)
        return n

    def __repr__(self) -> str:
        return f"Sweep({self.name!r}, {len(self)} cells)"

    def cells(self) -> list[tuple[dict, int]]:
        """``[(params, seed), ...]`` in the sweep's row order: grid product (keys in the given order), then seeds.

        Returns
        -------
        list of (dict, int)
            The cells.
        """
        keys = list(self.grid)
        return [(dict(zip(keys, combo)), s)
                for combo in itertools.product(*(self.grid[k] for k in keys)) for s in self.seeds]

    def run(self, *, db=None, executor="local", n_workers: int | None = None, progress: bool | None = True,
            label: str | None = None) -> list[dict]:
        """Compute the missing cells and return every row; arguments as in :func:`run_sweep`.

        Parameters
        ----------
        db : str or os.PathLike, optional
            SQLite file for resumable results.
        executor : str or dask.distributed.Client
            Where the cells run.
        n_workers : int, optional
            Local worker processes.
        progress : bool or None
            Report progress on stderr; ``None``: only when stderr is a terminal or in a Jupyter kernel.
        label : str, optional
            What the progress output calls the sweep (default ``name``); never stored.

        Returns
        -------
        list of dict
            The rows, as :func:`run_sweep` returns them.
        """
        if label is not None and not isinstance(label, str):
            raise TypeError(f"label: expected a str or None, got {type(label).__name__}")
        if progress is None:
            progress = auto_progress()
        elif not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"progress: expected True, False or None, got {type(progress).__name__}")
        kind, arg = _executors.resolve(executor, n_workers)
        if kind == "local" and arg > 1:
            _executors.refuse_in_spawning_worker()
            _executors.check_picklable(self.fn)
        cells = self.cells()
        keys = [canonical_params(p) for p, _ in cells]
        store = SweepStore(db) if db is not None else None
        try:
            done = set()
            if store is not None:
                store.bind(self.name, fn_identity(self.fn),
                           json.dumps(to_jsonable(self.grid, "grid"), allow_nan=True), json.dumps(self.seeds),
                           code=code_hash(self.fn))
                done = store.done_keys(self.name)
            todo = [(p, s, k) for (p, s), k in zip(cells, keys) if (k, s) not in done]
            texts = {}
            seen = _REPORTED.get()
            if seen is not None and store is not None:
                reported = seen.setdefault((os.path.abspath(os.fspath(db)), self.name), set())
                mine = set(zip(keys, (s for _, s in cells)))
                if not todo and mine <= reported:
                    progress = False  # nothing computed, every cell already reported in this scope: no second line
                reported |= mine
            bar = _Progress(self.name if label is None else label, len(cells), len(cells) - len(todo), progress)
            try:
                for (p, s, k), (text, elapsed) in _executors.execute(kind, arg, self.fn, todo):
                    if store is not None:
                        store.put(self.name, k, s, text, elapsed=elapsed)
                    else:
                        texts[(k, s)] = text
                    bar.update()
                    stop_if_interrupted()  # a Ctrl-C some code swallowed (see _stop)
            finally:
                bar.close()
            if store is not None:
                texts = store.results(self.name)
        finally:
            if store is not None:
                store.close()
        return [{"params": dict(p), "seed": s, "result": loads(texts[(k, s)])} for (p, s), k in zip(cells, keys)]


#: ``{(db file, sweep name): {(params key, seed), ...}}``: the cells reported inside the current
#: :func:`report_each_once` scope (``None`` outside)
_REPORTED: contextvars.ContextVar[dict | None] = contextvars.ContextVar("rltheory_sweeps_reported", default=None)


@contextlib.contextmanager
def report_each_once():
    """A scope in which each stored sweep reports its progress once: a sweep that finds every cell already stored
    (nothing to compute), all of them reported earlier in the scope under the same ``db`` and ``name``, prints no
    second line. A check whose claims read the same sweep several times (a measurement and its control over the
    same rows) thus shows it once; another grid stored under the same name is still reported. Nested scopes
    share the outermost one; outside any scope each call reports.

    Yields
    ------
    None
        Control returns to the ``with`` block.
    """
    if _REPORTED.get() is not None:
        yield
        return
    token = _REPORTED.set({})
    try:
        yield
    finally:
        _REPORTED.reset(token)


def auto_progress() -> bool:
    """Whether to show progress when the caller did not say: stderr is a terminal, or the code runs in a Jupyter
    kernel (as tqdm users expect); not in a pipe, a log file or a test run that captures stderr.

    Returns
    -------
    bool
        Whether to report progress.
    """
    try:
        tty = bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # no stderr, or a closed one
        tty = False
    return tty or _in_ipykernel()


def _in_ipykernel() -> bool:
    ipy = sys.modules.get("IPython")
    if ipy is None:
        return False
    try:
        shell = ipy.get_ipython()
    except Exception:  # pragma: no cover
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


class _Progress:
    """Progress of one sweep on stderr, when ``enabled``.

    On a terminal: a live tqdm bar (cells done / total, elapsed time, rate and ETA; redrawn every second by a
    ticker thread, so that elapsed time and ETA move while long cells run), erased when the sweep ends and
    replaced by the summary line. In a Jupyter kernel: a tqdm bar (widget when ipywidgets is installed).
    Otherwise (a pipe, a CI log): the summary line only, one per sweep:
    ``sweep NAME: 24/24 cells, 12.3 s (4 were stored)``.
    """

    def __init__(self, name, total, initial, enabled):
        self.name, self.total, self.initial, self.done = name, total, initial, initial
        self.enabled = bool(enabled)
        self.t0 = time.perf_counter()
        self.bar = None
        self.line = False
        self._stop = None
        if not self.enabled:
            return
        notebook = _in_ipykernel()
        tty = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.line = not notebook
        if not (notebook or tty):
            return
        try:
            if notebook and importlib.util.find_spec("ipywidgets") is not None:
                from tqdm.notebook import tqdm
            else:
                from tqdm.std import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return
        self.bar = tqdm(total=total, initial=initial, desc=_short(name, 48), unit="cell", leave=False,
                        file=sys.stderr, dynamic_ncols=True)
        if tty and not notebook and initial < total:
            self._stop = threading.Event()
            threading.Thread(target=self._tick, name="rltheory-progress", daemon=True).start()

    def _tick(self):
        while not self._stop.wait(1.0):
            try:
                self.bar.refresh()
            except Exception:  # pragma: no cover - the bar was closed meanwhile
                return

    def update(self):
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self._stop is not None:
            self._stop.set()
        if self.bar is not None:
            self.bar.close()
        if self.line:
            state = "" if self.done == self.total else "stopped at "
            stored = f" ({self.initial} were stored)" if self.initial else ""
            print(f"sweep {self.name}: {state}{self.done}/{self.total} cells, {time.perf_counter() - self.t0:.1f} s"
                  f"{stored}", file=sys.stderr, flush=True)


def _short(text, n):
    """``text`` cut in the middle to at most ``n`` characters (both ends of a sweep name say what it is)."""
    if len(text) <= n:
        return text
    head = (n - 3) // 2
    return text[:head] + "..." + text[len(text) - (n - 3 - head):]


def run_sweep(fn: Callable, grid: dict, seeds: Sequence[int] | int, *, db: str | os.PathLike | None = None,
              executor="local", n_workers: int | None = None, progress: bool | None = True,
              name: str | None = None, label: str | None = None) -> list[dict]:
    """Run ``fn(**params, seed=seed)`` on every cell of ``grid`` x ``seeds``; return the rows
    ``{"params": params, "seed": seed, "result": dict}`` in grid order (keys as given, seeds innermost).

    Parameters
    ----------
    fn : module-level callable returning a JSON-serialisable dict (NumPy scalars/arrays allowed, converted
        to floats/ints/lists; floats round-trip bit for bit). For ``executor="local"`` it must be importable
        by spawned processes (not a lambda, not defined in a notebook cell).
    grid : dict name -> non-empty list of JSON-able values (the ``params`` passed to ``fn``; ``"seed"`` is
        reserved). Rows carry the values as given; :func:`load_rows` returns their JSON form.
    seeds : int n (seeds ``0..n-1``) or a sequence of distinct non-negative ints.
    db : path of an SQLite file; finished cells are committed one by one as they finish and skipped when the
        sweep runs again (resume). ``None`` keeps results in memory only.
    executor : ``"serial"`` (in process), ``"local"`` (process pool started with 'spawn', ``n_workers`` or all
        available cores, kept warm for the next sweep until a loaded project module changes, see
        :func:`shutdown_workers`; one worker or one missing cell runs in process), a Dask scheduler address
        ``"tcp://host:port"`` (a client is connected when there are cells to compute, closed at the end; needs
        the extra ``rltheory[dask]``) or a ``dask.distributed.Client`` (left open). ``n_workers`` only
        applies to ``"local"``.
    progress : report progress on stderr: a live tqdm bar (cells done / total, ETA) on a terminal or in a
        Jupyter kernel; on a terminal and elsewhere (a pipe, a CI log) one line per finished sweep. ``None``:
        report only when stderr is a terminal or in a Jupyter kernel (:func:`auto_progress`).
    name : the sweep's namespace in ``db`` (default ``fn``'s ``module.qualname``); reusing a name with
        another function in the same file raises ``ValueError``.
    label : what the progress bar and line call the sweep (default ``name``); display only, never stored, so
        two runs stored under one name (a claim and its control) can be told apart on screen.

    Raises
    ------
    CellError (a ``RuntimeError``) naming the params and seed of the first cell that raised, after the cells
    finished so far are stored (a cell that ended its pool worker counts; when which cell did cannot be told,
    ``params`` and ``seed`` are ``None`` and ``candidates`` lists the cells that were running);
    ``BrokenProcessPool`` when a pool worker stopped while starting, before it ran any cell; MissingMainGuardError (a ``RuntimeError``) when the script that called it runs
    it at its top level, so that the spawned workers, importing the script, ran it again; ``TypeError``/``ValueError`` naming the argument for bad input.

    Returns
    -------
    list of dict
        ``{"params", "seed", "result"}`` per cell, in grid order.
    """
    return Sweep(fn, grid, seeds, name=name).run(db=db, executor=executor, n_workers=n_workers, progress=progress,
                                                 label=label)


def load_rows(db: str | os.PathLike, name: str) -> list[dict]:
    """Every stored row of sweep ``name`` in ``db``: ``{"params", "seed", "result"}`` with ``params`` decoded
    from JSON (tuples come back as lists). Rows of the most recent run's grid x seeds come first in its
    order, then any other stored cells sorted by (canonical params, seed). The file is not created.

    Parameters
    ----------
    db : str or os.PathLike
        The SQLite file.
    name : str
        The sweep's namespace.

    Returns
    -------
    list of dict
        The rows.
    """
    with SweepStore(db, create=False) as store:
        info = store.sweep_info(name)
        if info is None:
            raise ValueError(f"name: no sweep {name!r} in {os.fspath(db)}; stored sweeps: {store.names()}")
        texts = store.results(name)
    order = []
    if info["grid"] is not None and info["seeds"] is not None:
        keys = list(info["grid"])
        for combo in itertools.product(*(info["grid"][k] for k in keys)):
            pk = canonical_params(dict(zip(keys, combo)))
            order.extend((pk, s) for s in info["seeds"])
    rank = {cell: i for i, cell in enumerate(order)}
    cells = sorted(texts, key=lambda c: (0, rank[c], "", 0) if c in rank else (1, 0, c[0], c[1]))
    return [{"params": json.loads(p), "seed": s, "result": loads(texts[(p, s)])} for p, s in cells]
