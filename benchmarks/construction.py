"""Construction cost of a validated model: ``python -m benchmarks.construction [--quick | --tiny] [--out DIR]``.

Times ``TabularMDP(P, R, gamma=...)`` (full validation: finiteness, sign and row sums of every entry, plus the
CSR structure and the range of every next-state index for sparse kernels) against one NumPy reduction over the
same array (``P.sum()`` dense, ``M.data.sum()`` sparse: the memory-speed floor of any pass over the data), for
sparse kernels also against scipy's row sums ``M.sum(axis=1)`` (``x_row_sums``: the segmented reduction that any
check of the row sums performs, which a reduction over ``M.data`` does not), against the row-sum part of the
check alone (``x_row_sum_pass``: :func:`_row_sum_pass`, every row added in storage order and compared with 1, no
structure, sign or range check, no copy: what any validation deciding on storage-order sums pays at least),
against the construction of a two-state model of the same kind (``x_fixed``: what one call of the constructor costs
whatever the size, argument checks and the compiled call's dispatch; the part of ``x_reduction`` that is not
spent on the entries) and,
when QuantEcon is installed, against building its ``DiscreteDP`` (which validates much less). The figure of merit
is ``x_reduction`` = construction time / reduction time (issue #15 item 9 asks for <= 2; a sparse kernel's
validation also reads the int32 column indices and row pointers that the reduction over ``P.data`` skips).
Large sparse kernels may be validated on the Numba threads (from ``CSR_PARALLEL_MIN_NNZ`` stored entries, when other
processes leave a core idle: :func:`rltheory.models._validate.csr_check_threads`) while the reference reduction runs
on one thread, so every row also reports the number of threads the check actually used in the timed calls
(``threads``: 1 for dense kernels and for the serial check; ``threads_seen`` counts the calls per thread count when
that is observed) and the ratio with Numba held to one thread (``x_reduction_1thread``). Times are interleaved
best-of-N (:mod:`benchmarks.timing`). Kept apart from :mod:`benchmarks.run` so that it can be wired in
there as one more section (``construction_rows``).
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, uint64

from rltheory.models import TabularMDP
from rltheory.models import _validate
from rltheory.models.tabular import ROW_SUM_ATOL

from .instances import garnet_local
from .timing import interleaved_best

__all__ = ["construction_rows", "PROFILES", "main"]

#: (kind, S, A, successors per row; None = dense full support)
PROFILES = {
    "full": [("dense", 500, 8, None), ("dense", 2000, 8, None), ("sparse", 1_000, 8, 10), ("sparse", 10_000, 8, 10),
             ("sparse", 100_000, 8, 10)],
    "quick": [("dense", 500, 8, None), ("dense", 2000, 8, None), ("sparse", 1_000, 8, 10), ("sparse", 10_000, 8, 10)],
    "tiny": [("dense", 50, 4, None), ("sparse", 200, 4, 5)],
}


def _smallest(kind: str):
    """A two-state, one-action kernel of the given kind (dense array or scipy CSR) and its rewards: what a
    construction costs apart from its entries."""
    P = np.array([[[0.5, 0.5]], [[0.0, 1.0]]])
    return (P if kind == "dense" else sp.csr_matrix(P.reshape(2, 2))), np.zeros((2, 1))


def _instance(kind: str, S: int, A: int, k, seed: int = 0):
    """A seeded Garnet's kernel in the form the user would pass (dense array or scipy CSR) and its rewards."""
    mdp = garnet_local(S, A, S if k is None else k, seed=seed, sparse=kind == "sparse")
    P = np.array(mdp.P) if kind == "dense" else sp.csr_matrix(mdp.P_csr, copy=True)
    return P, np.array(mdp.R)


@njit(cache=True)
def _row_sum_pass(indptr, data, atol):
    """Number of rows of the CSR arrays whose entries, added left to right, are off 1 by more than ``atol``.

    The row-sum part of the model's sparse check on its own (the same additions, in the same order, on unsigned
    indices as there), without the structure, sign and range checks and the copies: a floor for any check that
    decides on storage-order sums. ``indptr`` is assumed valid (a benchmark instance)."""
    n_off = 0
    k = uint64(indptr[0])
    for r in range(indptr.shape[0] - 1):
        hi = uint64(indptr[r + 1])
        tot = 0.0
        while k < hi:
            tot += data[k]
            k += uint64(1)
        n_off += not (abs(tot - 1.0) <= atol)
    return n_off


#: True while a candidate runs with Numba held to one thread: the thread counter skips its calls without asking
#: Numba (``get_num_threads`` takes locks, a cost that would be timed with every construction it counts).
_HELD = [False]


def _on_one_thread(fn):
    """``fn`` run with Numba held to one thread (restored afterwards)."""
    def run():
        n = numba.get_num_threads()
        numba.set_num_threads(1)
        _HELD[0] = True
        try:
            return fn()
        finally:
            _HELD[0] = False
            numba.set_num_threads(n)
    return run


@contextlib.contextmanager
def _observed_check_threads(seen: collections.Counter, nnz: int):
    """Count, in ``seen``, the thread counts the CSR check picks while the block runs (only for kernels large
    enough to be split at all: below ``CSR_PARALLEL_MIN_NNZ`` entries the check is always serial and is left
    untouched, so that the instrumentation costs nothing where it would show)."""
    if nnz < _validate.CSR_PARALLEL_MIN_NNZ:
        yield
        return
    pick = _validate.csr_check_threads

    def counted(n_entries):
        n = pick(n_entries)
        if not _HELD[0]:  # the default-threads candidate, not the one held to one thread
            seen[n] += 1
        return n

    _validate.csr_check_threads = counted
    try:
        yield
    finally:
        _validate.csr_check_threads = pick


def construction_rows(cases, *, rounds: int = 5, gamma: float = 0.95) -> list[dict]:
    """One row per case: seconds of construction (with Numba's threads, ``rltheory``, and on one thread,
    ``rltheory_1thread``), of the reference reduction and (if installed) QuantEcon's ``DiscreteDP``;
    ``x_reduction`` is construction / reduction, ``x_reduction_1thread`` the same on one thread, ``x_row_sum_pass``
    the row-sum pass alone / reduction (sparse kernels; :func:`_row_sum_pass`), ``x_fixed`` the construction of a
    two-state model of the same kind / reduction (:func:`_smallest`), ``threads`` the
    number of threads the first one's check used (the largest seen, ``threads_seen`` = calls per thread count when
    the kernel is large enough for the check to be split)."""
    rows = []
    for kind, S, A, k in cases:
        P, R = _instance(kind, S, A, k)
        P2, R2 = _smallest(kind)
        fns = {"rltheory": lambda: TabularMDP(P, R, gamma=gamma)}
        fns["rltheory_1thread"] = _on_one_thread(fns["rltheory"])
        fns["fixed"] = lambda: TabularMDP(P2, R2, gamma=gamma)
        if kind == "dense":
            fns["reduction"] = lambda: P.sum()
        else:
            fns["reduction"] = lambda: P.data.sum()
            fns["row_sums"] = lambda: P.sum(axis=1)
            fns["row_sum_pass"] = lambda: _row_sum_pass(P.indptr, P.data, ROW_SUM_ATOL)
            if _row_sum_pass(P.indptr, P.data, ROW_SUM_ATOL):
                raise RuntimeError(f"benchmark instance {kind} S={S}: a row is off 1 (the instance is broken)")
        try:
            from quantecon.markov import DiscreteDP

            if kind == "dense":
                fns["quantecon"] = lambda: DiscreteDP(R, P, gamma)
            else:
                s_idx = np.repeat(np.arange(S), A)
                a_idx = np.tile(np.arange(A), S)
                Rf = R.reshape(S * A)
                fns["quantecon"] = lambda: DiscreteDP(Rf, P, gamma, s_idx, a_idx)
        except ImportError:
            pass
        seen: collections.Counter = collections.Counter()
        with _observed_check_threads(seen, P.nnz if kind == "sparse" else 0):
            t = interleaved_best(fns, rounds=rounds)
        sec = {name: v["seconds"] for name, v in t.items()}
        nbytes = P.nbytes if kind == "dense" else P.data.nbytes + P.indices.nbytes + P.indptr.nbytes
        rows.append({"case": f"{kind} S={S} A={A}" + (f" k={k}" if k else ""), "kind": kind, "S": S, "A": A,
                     "successors": k, "P_bytes": int(nbytes), "seconds": sec,
                     "threads": max(seen) if seen else 1, "threads_seen": {str(n): c for n, c in sorted(seen.items())},
                     "x_reduction": sec["rltheory"] / sec["reduction"],
                     "x_reduction_1thread": sec["rltheory_1thread"] / sec["reduction"],
                     "x_quantecon": (sec["rltheory"] / sec["quantecon"]) if "quantecon" in sec else None,
                     "x_row_sums": (sec["rltheory"] / sec["row_sums"]) if "row_sums" in sec else None,
                     "x_row_sum_pass": (sec["row_sum_pass"] / sec["reduction"]) if "row_sum_pass" in sec else None,
                     "x_fixed": sec["fixed"] / sec["reduction"]})
    return rows


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.construction", description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true")
    g.add_argument("--tiny", action="store_true")
    ap.add_argument("--out", default=None, help="directory for construction-<profile>.json")
    args = ap.parse_args(argv)
    profile = "tiny" if args.tiny else "quick" if args.quick else "full"
    rows = construction_rows(PROFILES[profile], rounds=2 if args.tiny else 5)
    print(f"Numba threads: {numba.get_num_threads()}; 'thr' = threads the check used in the timed calls "
          "(construct, x reduction); construct-1t, x 1t: Numba held to one thread; sums x: the storage-order "
          "row sums alone / reduction; fixed x: a two-state model's construction / reduction")
    print(f"{'case':<28}{'construct':>12}{'thr':>5}{'reduction':>12}{'x reduction':>13}{'construct-1t':>14}"
          f"{'x 1t':>7}{'quantecon':>12}{'sums x':>8}{'fixed x':>9}")
    for r in rows:
        s = r["seconds"]
        qe = f"{s['quantecon'] * 1e3:10.2f}ms" if "quantecon" in s else f"{'-':>12}"
        thr = "/".join(r["threads_seen"]) if len(r["threads_seen"]) > 1 else str(r["threads"])
        print(f"{r['case']:<28}{s['rltheory'] * 1e3:10.2f}ms{thr:>5}{s['reduction'] * 1e3:10.2f}ms"
              f"{r['x_reduction']:13.2f}{s['rltheory_1thread'] * 1e3:12.2f}ms{r['x_reduction_1thread']:7.2f}{qe}"
              + (f"{r['x_row_sum_pass']:8.2f}" if r["x_row_sum_pass"] is not None else f"{'-':>8}")
              + f"{r['x_fixed']:9.2f}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, f"construction-{profile}.json"), "w") as fh:
            json.dump({"profile": profile, "rows": rows}, fh, indent=1)
    return rows


if __name__ == "__main__":
    main()
