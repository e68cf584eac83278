"""When the thread-parallel kernels may run: only while the machine leaves a core idle for their threads.

A Numba parallel region ends when its last thread does. On a machine whose cores are all busy, a thread of the
region is often descheduled, and each region then waits for it for a scheduler time slice, which is far longer
than the work the region splits (a sparse Bellman sweep, a CSR check). The serial kernels give the same values, so
the choice is a matter of speed only.

What counts is the load of *other* processes: this process's own threads (its BLAS threads, its previous parallel
regions) must not switch its threads off. Where Linux's ``/proc`` is readable, the decision is taken from the CPU
time the whole machine and this process spent since the previous sample (``/proc/stat`` minus
``os.times()``); otherwise, and for the first call, from the 1-minute load average (which does count this process,
as GNU OpenMP's dynamic mode does).
"""
from __future__ import annotations

import os
import time

__all__ = ["core_free"]

#: Shortest interval between two samples of the CPU counters (clock ticks are 10 ms on most kernels).
_MIN_INTERVAL = 0.1
#: Longest interval a sample stays representative; older ones are replaced before they are used.
_MAX_INTERVAL = 10.0

_last: dict = {"t": None, "busy": 0.0, "own": 0.0, "free": True}


def _machine_busy_seconds() -> float | None:
    """CPU seconds all cores spent outside idle and I/O wait since boot (``/proc/stat``), or None."""
    try:
        with open("/proc/stat", "rb") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if len(fields) < 5 or fields[0] != b"cpu":
        return None
    ticks = [int(x) for x in fields[1:9]]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _loadavg_free(n_cpu: int) -> bool:
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return True
    return load <= n_cpu - 0.5


def core_free() -> bool:
    """Whether the other processes on this machine leave a core idle for this process's worker threads.

    Returns
    -------
    bool
        ``others <= n_cpu - 1.5``, where ``others`` is the average number of cores busy with other processes
        since the previous sample (at least ``0.1`` s ago, at most ``10`` s): machine busy time from
        ``/proc/stat`` minus this process's CPU time, over the wall time. Without ``/proc``, or with no recent
        sample, the 1-minute load average decides (``load <= n_cpu - 0.5``); True where neither is known.
    """
    now = time.monotonic()
    last = _last
    if last["t"] is not None and now - last["t"] < _MIN_INTERVAL:
        return last["free"]
    n_cpu = os.cpu_count() or 1  # not before the early return: glibc reads it from a file on every call
    busy = _machine_busy_seconds()
    t_own = os.times()
    own = t_own[0] + t_own[1]
    if busy is None:
        free = _loadavg_free(n_cpu)
    elif last["t"] is None or now - last["t"] > _MAX_INTERVAL:
        free = _loadavg_free(n_cpu)
    else:
        others = max(0.0, (busy - last["busy"]) - (own - last["own"])) / (now - last["t"])
        free = others <= n_cpu - 1.5
    last.update(t=now, busy=busy if busy is not None else 0.0, own=own, free=free)
    return free
