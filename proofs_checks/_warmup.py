"""Compile the checks' Numba kernels once, split over the pool workers, before the checks run.

With an empty Numba cache (the first run after an install) every process that calls a kernel compiles it: the
two pool workers of a sweep compile the same kernels side by side, and the main process compiles those of
the sweeps it runs itself. :func:`warm_kernels` instead compiles each kernel of the selected checks once, the
kernels being dealt to the workers in balanced disjoint sets (longest first, each to the least loaded worker);
Numba's on-disk cache then serves them to every process. The compiled code is the same whichever process
compiles it, so results do not change.

The kernels and argument types come from :data:`proofs_checks._kernel_signatures.SIGNATURES`, a table written by
``python -m proofs_checks._record_kernels`` (it runs each check at its quick size with an empty cache and records
the kernels called from Python). The table is a hint: an entry that no longer resolves (a renamed kernel, changed
argument types) is skipped, and whatever it missed is compiled on first call as before.
"""
from __future__ import annotations

import importlib
import os


def _types_namespace() -> dict:
    from numba.core import types

    return {k: getattr(types, k) for k in dir(types) if not k.startswith("_")}


def _resolve(module: str, qualname: str):
    """The Numba dispatcher ``module.qualname``, or ``None`` when it does not resolve to one."""
    from numba.core.dispatcher import Dispatcher

    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, Dispatcher) else None


def compile_kernels(entries, seed=0) -> dict:
    """Compile (or load from the cache) each ``(module, qualname, argument types, cost)`` of ``entries``.

    Parameters
    ----------
    entries : list of list
        Rows of :data:`~proofs_checks._kernel_signatures.SIGNATURES`; the argument types are the ``repr`` of a
        tuple of Numba types.
    seed : int
        Unused (the sweep protocol passes one).

    Returns
    -------
    dict
        ``{"compiled": number of entries compiled or loaded, "skipped": entries that did not resolve}``.
    """
    ns = _types_namespace()
    done = skipped = 0
    for module, qualname, sig, _cost in entries:
        try:
            disp = _resolve(module, qualname)
            argtypes = eval(sig, {"__builtins__": {}}, ns)  # a repr of Numba types, from our own table
            if disp is None or not isinstance(argtypes, tuple):
                raise TypeError(sig)
            disp.compile(argtypes)
        except Exception:  # a stale entry costs only the compilation it would have saved
            skipped += 1
            continue
        done += 1
    return {"compiled": done, "skipped": skipped}


def _is_cached(module: str, qualname: str) -> bool:
    """Whether Numba's cache holds an index for the kernel (any signature); ``False`` when unknown."""
    disp = _resolve(module, qualname)
    try:
        return os.path.exists(disp._cache._cache_file._index_path)
    except AttributeError:  # not a cached dispatcher, or Numba's internals changed
        return False


def deal(entries, n_bins: int) -> list[list]:
    """Split ``entries`` into at most ``n_bins`` non-empty lists of nearly equal total cost (the last field):
    longest first, each to the currently cheapest list.

    Parameters
    ----------
    entries : list of list
        ``(module, qualname, argument types, cost)`` rows.
    n_bins : int
        Number of lists (workers).

    Returns
    -------
    list of list
        The non-empty lists.
    """
    bins = [[] for _ in range(n_bins)]
    load = [0.0] * n_bins
    for e in sorted(entries, key=lambda e: (-e[3], e[0], e[1], e[2])):
        i = load.index(min(load))
        bins[i].append(list(e))
        load[i] += e[3]
    return [b for b in bins if b]


def warm_kernels(names, n_workers: int | None = None) -> int:
    """Compile the kernels of the checks ``names`` on the local process pool before they run.

    Nothing happens when fewer than two workers would run, or when Numba's cache already holds every kernel.

    Parameters
    ----------
    names : iterable of str
        Check names (keys of :data:`~proofs_checks._kernel_signatures.SIGNATURES`; others are ignored).
    n_workers : int, optional
        Pool size (default: the usable cores).

    Returns
    -------
    int
        Number of kernels handed to the workers (0 when nothing was to do).
    """
    from rltheory.experiments import run_sweep

    from ._kernel_signatures import SIGNATURES

    if n_workers is None:
        try:
            n_workers = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            n_workers = os.cpu_count() or 1
    from numba import config

    if n_workers < 2 or config.DISABLE_JIT:
        return 0
    seen = {}
    for name in names:
        for e in SIGNATURES.get(name, ()):
            seen.setdefault((e[0], e[1], e[2]), e)
    entries = list(seen.values())
    if not entries or all(_is_cached(e[0], e[1]) for e in entries):
        return 0
    print(f"   compiling {len(entries)} Numba kernels once for this cache (first run) ...", flush=True)
    run_sweep(compile_kernels, {"entries": deal(entries, n_workers)}, [0], executor="local", n_workers=n_workers,
              progress=False, name="proofs_checks.warmup")
    return len(entries)
