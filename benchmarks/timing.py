"""Interleaved best-of-N timing.

Each candidate is warmed up (so Numba compilation and first-touch costs are excluded), then the
candidates are timed in rounds; in every round each one runs ``number`` back-to-back calls (chosen so a
measurement lasts at least ``min_time`` seconds) and the order of the candidates rotates from round to
round, so a slow phase of a shared machine hits all of them alike. Before each timed batch one untimed
call absorbs the cost of switching candidates: NumPy and SciPy (hence Numba's ``np.dot``) link two
different OpenBLAS builds whose worker threads busy-wait after a call, so the first call after a
switch between them runs on a contended core (a 2x slowdown at S=2000 on 2 cores) - an artefact of
alternating libraries that a program calling only one of them never pays. OpenBLAS workers spin for
about 2^28 cycles (~0.1 s) before sleeping, so candidates timed call by call (the ones large enough to
use threaded BLAS) are also preceded by a ``switch_pause`` sleep. The figure kept is the best
per-call time over the rounds (calls >= ``PER_CALL_MIN`` are timed singly, shorter ones as batch means):
the least disturbed estimate of the cost of one call.
"""
from __future__ import annotations

import gc
import time
from typing import Callable

__all__ = ["interleaved_best", "PER_CALL_MIN"]

#: Calls at least this long (seconds) are timed one by one (best single call); shorter ones in batches.
PER_CALL_MIN = 1e-4


def interleaved_best(fns: dict[str, Callable[[], object]], *, rounds: int = 5, min_time: float = 0.02,
                     max_total: float = 60.0, switch_pause: float = 0.15) -> dict[str, dict]:
    """Time zero-argument callables; returns ``{name: {"seconds": best per call, "number": n, "rounds": r}}``.

    ``max_total`` caps the time spent per candidate: slow candidates get fewer rounds (at least one
    after the warm-up) rather than stalling the run.
    """
    names = list(fns)
    number: dict[str, int] = {}
    budget_rounds: dict[str, int] = {}
    for name in names:  # warm-up: compile, allocate, fill caches; also sizes `number`
        fn = fns[name]
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        once = t1 - t0
        if once < min_time:
            fn()  # a second warm call for fast functions (first may include lazy init)
            once = max(time.perf_counter() - t1, 1e-9)
        number[name] = max(1, int(min_time / once))
        budget_rounds[name] = max(1, min(rounds, int(max_total / max(once * number[name], 1e-9))))
    # settle call only where it is cheap (fast candidates); slow ones amortise the switch themselves
    settle = {name: min_time / number[name] < 0.1 for name in names}
    per_call = {name: min_time / number[name] >= PER_CALL_MIN for name in names}
    best = {name: float("inf") for name in names}
    done = {name: 0 for name in names}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for r in range(max(budget_rounds.values())):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                if done[name] >= budget_rounds[name]:
                    continue
                fn, n = fns[name], number[name]
                if per_call[name] and switch_pause > 0:
                    time.sleep(switch_pause)  # let the previous library's BLAS threads stop spinning
                if settle[name]:
                    fn()  # untimed: absorbs the switch from the previous candidate (see module docstring)
                if per_call[name]:  # calls long enough to time one by one: best single call
                    for _ in range(n):
                        t0 = time.perf_counter()
                        fn()
                        dt = time.perf_counter() - t0
                        if dt < best[name]:
                            best[name] = dt
                else:  # short calls: mean of a batch (timer resolution), best batch
                    t0 = time.perf_counter()
                    for _ in range(n):
                        fn()
                    dt = (time.perf_counter() - t0) / n
                    best[name] = min(best[name], dt)
                done[name] += 1
    finally:
        if gc_was:
            gc.enable()
    return {name: {"seconds": best[name], "number": number[name], "rounds": done[name]} for name in names}
