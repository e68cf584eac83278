"""Peak memory of one sparse solve, measured in a fresh process: ``python -m benchmarks.memory_probe S METHOD``.

Prints one JSON line: the model's own bytes (CSR arrays + rewards + initial distribution), the resident set
before the model is built (``baseline``), before the solve, and the peak resident set during it.
``extra_over_model`` = (peak - before) / model is what the solve added; ``total_over_model`` =
(peak - baseline) / model counts the model itself, its construction leftovers and the solve together (the
issue's "peak within 2x the model" reads as ``total_over_model <= 2``, since the model is 1x). The peak is reset just before the solve by writing
``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0), so what model construction allocated does not count;
``VmHWM`` then holds the solve's peak. Numba is compiled on a tiny instance first.
"""
from __future__ import annotations

import json
import sys


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _trim():
    """``malloc_trim(0)`` (glibc) where available; a no-op elsewhere."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def main(S: int, method: str, seed: int = 0) -> dict:
    import numpy as np

    from rltheory.solvers import solve

    from .instances import garnet

    solve(garnet(300, 4, (5, 10), seed=1, gamma=0.99, sparse=True)[0], method=method)  # compile
    import gc

    gc.collect()
    _trim()
    baseline = _status("VmRSS")  # interpreter + libraries + compiled kernels, no model yet
    mdp = garnet(S, 4, (5, 10), seed=seed, gamma=0.99, sparse=True)[0]
    ip, ix, dt = mdp.csr_arrays
    model = ip.nbytes + ix.nbytes + dt.nbytes + np.asarray(mdp.R).nbytes + mdp.mu0.nbytes
    gc.collect()
    _trim()  # give the heap that model construction freed back to the OS, so VmRSS counts live memory only
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    before = _status("VmRSS")
    res = solve(mdp, method=method, tol=1e-8)
    peak = _status("VmHWM")
    return dict(S=S, method=method, nnz=int(dt.size), model_bytes=int(model), rss_before=before, peak=peak,
                extra_peak=peak - before, extra_over_model=(peak - before) / model, peak_reset=reset,
                baseline=baseline, total_over_model=(peak - baseline) / model,
                iterations=int(res.iterations), error_bound=float(res.error_bound))


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), sys.argv[2])))
