"""Experiment sweeps: grid x seeds of a picklable function, run in process, on a spawn-started process
pool or on a Dask cluster, stored cell by cell in an SQLite file (WAL) and resumable after a crash.
See :mod:`rltheory.experiments.sweep` (behaviour) and :mod:`rltheory.experiments.store` (encoding, schema)."""
from ._executors import CellError, MissingMainGuardError, shutdown_workers
from ._stop import latch_ctrl_c, stop_if_interrupted
from .store import canonical_params, to_jsonable
from .sweep import Sweep, load_rows, run_sweep

__all__ = ["run_sweep", "Sweep", "load_rows", "CellError", "MissingMainGuardError", "canonical_params",
           "to_jsonable",
           "shutdown_workers", "latch_ctrl_c", "stop_if_interrupted"]
