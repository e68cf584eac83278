"""Experiment sweeps: grid x seeds, local pool or Dask, resumable SQLite store (:mod:`.sweep`)."""
from .sweep import CellError, Sweep, canonical_params, load_rows, run_sweep, to_jsonable

__all__ = ["CellError", "Sweep", "canonical_params", "load_rows", "run_sweep", "to_jsonable"]
