"""When the thread-parallel kernels may run: only while the machine leaves a core idle for their threads.

A Numba parallel region ends when its last thread does. On a machine whose cores are all busy, a thread of the
region is often descheduled, and each region then waits for it for a scheduler time slice, which is far longer
than the work the region splits (a sparse Bellman sweep, a CSR check). The serial kernels give the same values, so
the choice is a matter of speed only. GNU OpenMP's dynamic mode makes the same decision from the same load average.
"""
from __future__ import annotations

import os

__all__ = ["core_free"]


def core_free() -> bool:
    """Whether the 1-minute load average leaves a core idle for worker threads.

    Returns
    -------
    bool
        ``load <= n_cpu - 0.5`` (this process's own running thread counts in ``load``); True where the load
        average is unknown (non-POSIX systems).
    """
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return True
    return load <= (os.cpu_count() or 1) - 0.5
