"""Parameter grid x seeds sweeps: local process pool or Dask cluster, resumable via an SQLite store.

A cell is ``(params, seed)``; ``fn(**params, seed=seed)`` must be a picklable (module-level) function returning
a JSON-serialisable dict (NumPy scalars and arrays are converted to floats/ints/lists). Finished cells are
written, one committed row each, by the parent process into an SQLite file in WAL mode, keyed by
``(sweep, params, seed)`` under a UNIQUE constraint. A sweep that is killed at any point (SIGKILL, power loss)
loses at most the cells in flight; started again with the same ``db``, it recomputes only the missing cells.
Results do not depend on the executor: each cell sees only its own seed.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import sqlite3
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable, Sequence

import numpy as np

__all__ = ["run_sweep", "Sweep", "load_rows", "to_jsonable", "canonical_params"]


def to_jsonable(x):
    """Convert NumPy scalars/arrays (and tuples) to plain JSON types; floats round-trip exactly through JSON."""
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (np.floating, float)):
        v = float(x)
        if not math.isfinite(v):
            return {"__float__": repr(v)}
        return v
    if x is None or isinstance(x, (bool, int, str)):
        return x
    raise TypeError(f"result: value of type {type(x).__name__} is not JSON-serialisable")


def _from_json(x):
    if isinstance(x, dict):
        if set(x) == {"__float__"}:
            return float(x["__float__"])
        return {k: _from_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_from_json(v) for v in x]
    return x


def canonical_params(params: dict) -> str:
    return json.dumps(to_jsonable(params), sort_keys=True, separators=(",", ":"))


def _fn_id(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


class _Store:
    def __init__(self, path):
        self.path = os.fspath(path)
        d = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(d, exist_ok=True)
        self.con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("CREATE TABLE IF NOT EXISTS sweeps (name TEXT PRIMARY KEY, fn TEXT NOT NULL)")
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS cells (name TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, "
            "result TEXT NOT NULL, finished REAL NOT NULL, UNIQUE(name, params, seed))")

    def bind(self, name: str, fn_id: str):
        row = self.con.execute("SELECT fn FROM sweeps WHERE name = ?", (name,)).fetchone()
        if row is None:
            self.con.execute("INSERT OR IGNORE INTO sweeps (name, fn) VALUES (?, ?)", (name, fn_id))
        elif row[0] != fn_id:
            raise ValueError(f"db: sweep {name!r} in {self.path} was run with function {row[0]!r}, not {fn_id!r}; "
                             "use another name or another db")

    def done(self, name: str) -> set:
        return {(p, s) for p, s in self.con.execute("SELECT params, seed FROM cells WHERE name = ?", (name,))}

    def put(self, name: str, params_key: str, seed: int, result: dict):
        self.con.execute("INSERT OR IGNORE INTO cells (name, params, seed, result, finished) VALUES (?, ?, ?, ?, ?)",
                         (name, params_key, int(seed), json.dumps(result), time.time()))

    def rows(self, name: str) -> dict:
        return {(p, s): _from_json(json.loads(r)) for p, s, r in
                self.con.execute("SELECT params, seed, result FROM cells WHERE name = ?", (name,))}

    def close(self):
        self.con.close()


def _call(fn, params, seed):
    return to_jsonable(fn(**params, seed=seed))


class Sweep:
    """A grid (dict of name -> non-empty list, in the given key order) x seeds of ``fn``."""

    def __init__(self, fn: Callable, grid: dict, seeds, name: str | None = None):
        if not callable(fn):
            raise TypeError("fn: expected a callable")
        if not isinstance(grid, dict):
            raise TypeError(f"grid: expected a dict of lists, got {type(grid).__name__}")
        for k, v in grid.items():
            if not isinstance(k, str):
                raise TypeError(f"grid: keys must be str, got {k!r}")
            if k == "seed":
                raise ValueError("grid: 'seed' is reserved (pass seeds separately)")
            if not isinstance(v, (list, tuple)) or len(v) == 0:
                raise ValueError(f"grid: value for {k!r} must be a non-empty list")
        if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
            if seeds < 1:
                raise ValueError(f"seeds: need at least one seed, got {seeds}")
            seeds = list(range(int(seeds)))
        try:
            seeds = [int(s) for s in seeds]
        except Exception as exc:
            raise TypeError(f"seeds: expected an int or a sequence of ints, got {seeds!r}") from exc
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"seeds: expected distinct non-negative ints, got {seeds}")
        self.fn, self.grid, self.seeds = fn, dict(grid), seeds
        self.name = name or _fn_id(fn)

    def cells(self) -> list:
        keys = list(self.grid)
        out = []
        for combo in itertools.product(*[self.grid[k] for k in keys]):
            params = dict(zip(keys, combo))
            for s in self.seeds:
                out.append((params, s))
        return out

    def run(self, *, db=None, executor="local", n_workers=None, progress=True) -> list:
        cells = self.cells()
        keys = [canonical_params(p) for p, _ in cells]
        store = _Store(db) if db is not None else None
        results: dict = {}
        try:
            if store is not None:
                store.bind(self.name, _fn_id(self.fn))
                results = store.rows(self.name)
            todo = [(p, s, k) for (p, s), k in zip(cells, keys) if (k, s) not in results]
            bar = _progress(len(cells), len(cells) - len(todo), progress, self.name)
            try:
                for (p, s, k), res in _execute(self.fn, todo, executor, n_workers):
                    results[(k, s)] = res
                    if store is not None:
                        store.put(self.name, k, s, res)
                    if bar is not None:
                        bar.update(1)
            finally:
                if bar is not None:
                    bar.close()
        finally:
            if store is not None:
                store.close()
        return [{"params": p, "seed": s, "result": results[(k, s)]} for (p, s), k in zip(cells, keys)]


def _progress(total, done, enabled, name):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, initial=done, desc=name[:40], disable=not sys.stderr.isatty(), leave=False)


class CellError(RuntimeError):
    pass


def _execute(fn, todo, executor, n_workers):
    """Yield ``((params, seed, key), result)`` as cells finish."""
    if not todo:
        return
    if executor == "serial":
        for p, s, k in todo:
            try:
                yield (p, s, k), _call(fn, p, s)
            except Exception as exc:
                raise CellError(f"cell params={p} seed={s} failed: {exc!r}") from exc
        return
    if executor == "local":
        workers = n_workers or os.cpu_count() or 1
        if workers == 1 or len(todo) == 1:
            yield from _execute(fn, todo, "serial", None)
            return
        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            futs = {pool.submit(_call, fn, p, s): (p, s, k) for p, s, k in todo}
            pending = set(futs)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    cell = futs[f]
                    exc = f.exception()
                    if exc is not None:
                        for g in pending:
                            g.cancel()
                        raise CellError(f"cell params={cell[0]} seed={cell[1]} failed: {exc!r}") from exc
                    yield cell, f.result()
        return
    client, own = _dask_client(executor)
    try:
        from dask.distributed import as_completed

        futs = {}
        for p, s, k in todo:
            f = client.submit(_call, fn, p, s, pure=False)
            futs[f] = (p, s, k)
        for f in as_completed(list(futs)):
            cell = futs[f]
            if f.status == "error":
                raise CellError(f"cell params={cell[0]} seed={cell[1]} failed: {f.exception()!r}")
            yield cell, f.result()
    finally:
        if own:
            client.close()


def _dask_client(executor):
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise ImportError("executor: a Dask scheduler needs dask.distributed; install the extra `rltheory[dask]`") from exc
    if isinstance(executor, Client):
        return executor, False
    if isinstance(executor, str) and executor.startswith("tcp://"):
        return Client(executor, timeout=30), True
    raise ValueError(f"executor: expected 'local', 'serial', a 'tcp://host:port' address or a dask Client, "
                     f"got {executor!r}")


def run_sweep(fn: Callable, grid: dict, seeds: Sequence[int] | int, *, db=None, executor="local",
              n_workers: int | None = None, progress: bool = True, name: str | None = None) -> list:
    """Run ``fn(**params, seed=seed)`` on every cell of ``grid`` x ``seeds`` and return the rows
    ``{"params", "seed", "result"}`` in grid order (keys in the given order, then seeds), whatever the
    executor: ``"serial"``, ``"local"`` (process pool, ``n_workers`` or all cores), a Dask address
    ``"tcp://host:port"`` or a ``dask.distributed.Client``. With ``db`` (an SQLite path) finished cells are
    stored as they finish and skipped when the sweep is run again (resume). ``name`` (default: the
    function's qualified name) namespaces the sweep in the db; reusing a name with another function is an
    error."""
    if not (executor in ("local", "serial") or (isinstance(executor, str) and executor.startswith("tcp://"))
            or type(executor).__name__ == "Client"):
        raise ValueError(f"executor: expected 'local', 'serial', a 'tcp://host:port' address or a dask Client, "
                         f"got {executor!r}")
    if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
        raise ValueError(f"n_workers: expected a positive int, got {n_workers!r}")
    return Sweep(fn, grid, seeds, name=name).run(db=db, executor=executor, n_workers=n_workers, progress=progress)


def load_rows(db, name: str) -> list:
    """The stored rows of sweep ``name`` (params decoded), in no particular order."""
    store = _Store(db)
    try:
        return [{"params": json.loads(p), "seed": s, "result": r} for (p, s), r in store.rows(name).items()]
    finally:
        store.close()
