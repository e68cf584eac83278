"""How a check runs: :class:`RunContext` (size, seeds, executor, resumable sweeps) and sweep-row helpers."""
from __future__ import annotations

import contextlib
import contextvars
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["RunContext", "rows_to_matrix", "SeedRangeError", "MAX_SEED"]

#: largest seed a run may use: NumPy's and Numba's legacy ``np.random.seed`` take 32-bit seeds (Numba wraps a
#: larger one silently, so seed ``2**32`` would repeat seed 0)
MAX_SEED = 2**32 - 1


class SeedRangeError(ValueError):
    """The seeds a run asks for, ``seed, ..., seed + n - 1``, go past :data:`MAX_SEED`."""


def _serial_runner(fn, grid, seeds, **_):
    import itertools

    keys = list(grid)
    rows = []
    for combo in itertools.product(*[grid[k] for k in keys]):
        params = dict(zip(keys, combo))
        for s in seeds:
            rows.append({"params": params, "seed": int(s), "result": fn(**params, seed=int(s))})
    return rows


@dataclass(kw_only=True)
class RunContext:
    """How a check runs: size (``quick``), number of seeds, base seed, output dir, executor.

    ``sweep(fn, grid, name)`` runs the picklable ``fn(**params, seed=seed)`` over the grid x seeds through
    :func:`rltheory.experiments.run_sweep` (local process pool, or a Dask cluster for ``executor="tcp://..."``),
    storing rows in ``<out_dir>/sweeps.sqlite`` so an interrupted check resumes where it stopped.
    ``runner`` replaces that function (tests inject a serial runner).

    The size defaults differ between routes: ``RunContext`` runs the quick size unless ``quick=False``, the
    command line runs the full size unless ``--quick``, and the notebooks the full size unless
    ``RLTHEORY_QUICK=1``. ``progress`` reports each sweep on stderr (a bar on a terminal, a line when it ends);
    the default ``None`` does so only when stderr is a terminal or in a Jupyter kernel, so that pipes, logs and
    test runs stay quiet."""

    quick: bool = True
    seeds: int = 8
    seed: int = 0
    out_dir: str | None = None
    executor: str = "local"
    n_workers: int | None = None
    progress: bool | None = None
    runner: Callable | None = None
    resume: bool = True
    #: the learner under test, an import spec ``"package.module:qualname"`` (a module-level callable is turned
    #: into its spec); ``None`` = the check's built-in reference implementation
    learner: str | None = None

    def __post_init__(self):
        if self.progress is not None and not isinstance(self.progress, (bool, np.bool_)):
            raise TypeError(f"progress: expected True, False or None, got {type(self.progress).__name__}")
        if self.learner is not None:
            from ..learners import learner_spec

            self.learner = learner_spec(self.learner)

    def seed_list(self, n: int | None = None) -> list[int]:
        """The seeds of a run: ``seed, seed + 1, ...``.

        Parameters
        ----------
        n : int, optional
            Number of seeds (default ``self.seeds``).

        Returns
        -------
        list of int
            The seeds.

        Raises
        ------
        SeedRangeError
            A ``ValueError``: the last seed, ``seed + n - 1``, is above :data:`MAX_SEED` (``2**32 - 1``).
        """
        n = self.seeds if n is None else n
        if self.seed + n - 1 > MAX_SEED:
            raise SeedRangeError(f"seed: {n} seeds from {self.seed} go past 2**32 - 1 (the largest seed, "
                                 f"{self.seed + n - 1}, would repeat seed {(self.seed + n - 1) % 2**32}); the base "
                                 f"seed can be at most {MAX_SEED - n + 1} for {n} seeds")
        return [self.seed + i for i in range(n)]

    def sweep(self, fn, grid: dict, name: str, *, seeds: Sequence[int] | None = None) -> list[dict]:
        """Run ``fn(**params, seed=s)`` over ``grid`` x ``seeds``.

        Parameters
        ----------
        fn : callable
            A picklable function returning a dict.
        grid : dict
            ``{parameter: list of values}``.
        name : str
            Sweep name (suffixed with the run size) under which rows are stored.
        seeds : sequence of int, optional
            Seeds (default :meth:`seed_list`).

        Returns
        -------
        list of dict
            Rows ``{"params": ..., "seed": ..., "result": ...}``.
        """
        seeds = self.seed_list() if seeds is None else list(seeds)
        _not_in_a_spawning_worker()
        if self.runner is not None:
            return self.runner(fn, grid, seeds, name=name)
        try:
            from rltheory.experiments import run_sweep
        except ImportError:  # pragma: no cover - experiments package missing
            return _serial_runner(fn, grid, seeds)
        db = None
        if self.out_dir is not None and self.resume:
            os.makedirs(self.out_dir, exist_ok=True)
            db = os.path.join(self.out_dir, "sweeps.sqlite")
        size = "quick" if self.quick else "full"
        stored = f"{name}[{size}]"
        # a negative control, or a learner under test, often stores its cells under the reference's sweep name
        # (another grid value): the progress output says which run it is, the stored name stays the same (so an
        # existing sweeps.sqlite still resumes)
        if _IN_CONTROL.get():
            label = stored if "control" in name.split(".") else f"{stored} (control)"
        elif self.learner is not None:  # a learner under test (or a mutant): say which
            label = f"{stored} (learner {self.learner.rpartition(':')[2]})"
        else:
            label = stored
        return run_sweep(fn, grid, seeds, db=db, executor=self.executor, n_workers=self.n_workers,
                         progress=self.progress, name=stored, label=label)


#: True while :meth:`Check.run <proofs_checks.framework.Check.run>` computes a negative control
_IN_CONTROL: contextvars.ContextVar[bool] = contextvars.ContextVar("proofs_checks_in_control", default=False)


def each_sweep_reported_once():
    """A scope in which a stored sweep read again (every cell already stored) prints no second progress line
    (:func:`rltheory.experiments.sweep.report_each_once`; no scope without the experiments package).

    Returns
    -------
    contextlib.AbstractContextManager
        The scope, to be entered with ``with``.
    """
    try:
        from rltheory.experiments.sweep import report_each_once
    except ImportError:  # pragma: no cover - experiments package missing: the serial runner reports nothing
        return contextlib.nullcontext()
    return report_each_once()


@contextlib.contextmanager
def negative_control_running():
    """Mark the sweeps run inside as a negative control's: their progress output is labelled ``(control)``.

    Yields
    ------
    None
        Control returns to the ``with`` block.
    """
    token = _IN_CONTROL.set(True)
    try:
        yield
    finally:
        _IN_CONTROL.reset(token)


def _not_in_a_spawning_worker() -> None:
    """Stop, with one clear line, a pool worker that is re-running the user's script: spawned workers import
    the script that started them, and a check run at its top level (no ``if __name__ == "__main__":`` guard)
    would start a pool of its own there, which multiprocessing refuses with a long traceback per worker. The
    worker exits with the message; the sweep in the parent raises
    :class:`~rltheory.experiments.MissingMainGuardError`, which says the same (and blames no cell or learner)."""
    from rltheory.experiments._executors import refuse_in_spawning_worker

    refuse_in_spawning_worker("check")


def rows_to_matrix(rows, variable: str, key: str, *, x_values=None):
    """Arrange sweep rows into ``(x, y[len(x), n_seeds])`` for ``params[variable]`` and ``result[key]``.

    Parameters
    ----------
    rows : list of dict
        Sweep rows.
    variable : str
        The grid parameter that becomes x.
    key : str
        The result entry that becomes y.
    x_values : sequence, optional
        The x values to keep, in order (default: all, sorted).

    Returns
    -------
    x : numpy.ndarray
        Shape ``(n_x,)``.
    y : numpy.ndarray
        Shape ``(n_x, n_seeds)``; NaN where a cell is missing.
    """
    xs = sorted({r["params"][variable] for r in rows}) if x_values is None else list(x_values)
    seeds = sorted({r["seed"] for r in rows})
    y = np.full((len(xs), len(seeds)), np.nan)
    xi = {x: i for i, x in enumerate(xs)}
    si = {s: j for j, s in enumerate(seeds)}
    for r in rows:
        if r["params"][variable] in xi:
            y[xi[r["params"][variable]], si[r["seed"]]] = r["result"][key]
    return np.asarray(xs, dtype=np.float64), y
