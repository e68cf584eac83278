"""Maintenance tool: write :data:`proofs_checks._kernel_signatures.SIGNATURES`, the plan of the first-run warm-up
(:mod:`proofs_checks._warmup`).

``python -m proofs_checks._record_kernels [CHECK ...]`` runs each check (default: all) at its quick size with an
empty Numba cache while every process records the kernels it calls from Python (:func:`install_recorder`), then
compiles the union once more in a single fresh process to give each kernel a compile cost (thread CPU seconds, so
that a loaded machine does not distort the weights by which the warm-up balances the workers). Rerun it after changing
which kernels a check calls or their argument types; a stale table only costs compile time, never results.
Only the plain run is recorded, the one the warm-up serves: runs with ``--learner`` or ``--mutants`` (the
learner protocol's kernels, e.g. the LMDP protocol's ``play_plan`` and ``episode_return``) skip the warm-up.
"""
from __future__ import annotations

import json
import os
import pprint
import subprocess
import sys
import tempfile

#: Environment variable naming the file to which :func:`install_recorder` appends the kernels called from Python.
RECORD_ENV = "RLTHEORY_RECORD_KERNELS"


def install_recorder(path: str) -> None:
    """Append ``[module, qualname, repr(argument types)]`` to ``path`` (JSON lines) for every kernel this process
    calls from Python (not only as the callee of another kernel), each time such a call finds no compiled code in
    the kernel's dispatch table.

    A kernel compiled first as the callee of another one (``episode_return`` inside ``play_episodes``) would
    answer a later call from Python from its table without compiling again, and go unrecorded (a compile event
    at depth 0 misses it). So, in this process only, code compiled as a callee is kept from the dispatch table
    used by calls from Python (kernels still call it): the first such call then goes through
    ``Dispatcher.compile``, is recorded there, and puts the code in the table.

    Parameters
    ----------
    path : str
        The log file.
    """
    import threading

    from numba.core import sigutils
    from numba.core.dispatcher import Dispatcher

    state = threading.local()  # depth: Dispatcher.compile calls under way in this thread
    withheld: set = set()  # (dispatcher id, argument types) compiled as a callee and not yet in the table
    compile_, add_overload = Dispatcher.compile, Dispatcher.add_overload

    def compile(self, sig):
        depth = getattr(state, "depth", 0)
        if depth == 0:  # not inside another compilation: a call from Python that missed the dispatch table
            args = tuple(sigutils.normalize_signature(sig)[0])
            fn = getattr(self, "py_func", None)
            if fn is not None:
                with open(path, "a") as fh:
                    fh.write(json.dumps([fn.__module__, fn.__qualname__, repr(args)]) + "\n")
            if (id(self), args) in withheld and args in self.overloads:
                withheld.discard((id(self), args))
                add_overload(self, self.overloads[args])
        state.depth = depth + 1
        try:
            return compile_(self, sig)
        finally:
            state.depth = depth

    def add_overload_(self, cres):
        if getattr(state, "depth", 0) > 1:  # compiled as a callee: kept for kernels, out of Python's table
            args = tuple(cres.signature.args)
            self.overloads[args] = cres
            withheld.add((id(self), args))
        else:
            add_overload(self, cres)

    Dispatcher.compile = compile
    Dispatcher.add_overload = add_overload_


def compile_costs(entries) -> list[float]:
    """Thread CPU seconds to compile each ``(module, qualname, argument types)`` of ``entries`` in turn, in this
    process (callees shared with an earlier entry are counted with that entry).

    Parameters
    ----------
    entries : list of list
        Kernels and argument-type reprs.

    Returns
    -------
    list of float
        One cost per entry.
    """
    import time

    from ._warmup import compile_kernels

    costs = []
    for m, q, sig in entries:
        t0 = time.thread_time()
        compile_kernels([[m, q, sig, 0.0]])
        costs.append(round(time.thread_time() - t0, 2))
    return costs


def _check_names():
    from .cli import _registry

    return sorted(_registry())


def write_table(table, out_path: str) -> None:
    """Write ``table`` (``{check: rows}``) as the Python module ``out_path`` defining ``SIGNATURES``.

    Parameters
    ----------
    table : dict
        ``{check: [[module, qualname, argument types, cost], ...]}``.
    out_path : str
        The file.
    """
    with open(out_path, "w") as fh:
        fh.write('"""Kernels each check calls from Python: ``[module, qualname, repr of the argument types, compile\n'
                 'cost]`` (thread CPU seconds on the machine that recorded them, a relative weight only): the plan of\n'
                 ':func:`proofs_checks._warmup.warm_kernels`. Generated by\n'
                 '``python -m proofs_checks._record_kernels``; do not edit by hand."""\n\n')
        fh.write("SIGNATURES = {\n")
        for name in sorted(table):
            fh.write(f"    {name!r}: [\n")
            for row in table[name]:
                text = pprint.pformat(row, width=110).replace("\n", "\n        ")
                fh.write(f"        {text},\n")
            fh.write("    ],\n")
        fh.write("}\n")


def record(names, out_path: str) -> dict:
    """Record the kernels of the checks ``names`` and write the table to ``out_path``.

    Parameters
    ----------
    names : list of str
        Checks to record.
    out_path : str
        Python file to write (``SIGNATURES = {...}``).

    Returns
    -------
    dict
        ``{check: [[module, qualname, argument types, cost], ...]}``.
    """
    from ._warmup import _resolve

    found = {}
    with tempfile.TemporaryDirectory(prefix="rltheory-record-") as tmp:
        for name in names:
            log = os.path.join(tmp, f"{name}.jsonl")
            env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(tmp, f"cache-{name}"), **{RECORD_ENV: log})
            # one worker: no warm-up, whose compiles of the current table would be recorded as called kernels
            subprocess.run([sys.executable, "-m", "rltheory.cli", "check", name, "--quick", "--no-progress",
                            "--workers", "1", "--out", os.path.join(tmp, "out")],
                           env=env, check=False, stdout=subprocess.DEVNULL)
            rows = set()
            if os.path.exists(log):
                with open(log) as fh:
                    rows = {tuple(json.loads(line)) for line in fh}
            found[name] = sorted(r for r in rows if "<locals>" not in r[1] and _resolve(r[0], r[1]) is not None)
        union = sorted({r for rows in found.values() for r in rows})
        job = os.path.join(tmp, "union.json")
        with open(job, "w") as fh:
            json.dump([list(r) for r in union], fh)
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(tmp, "cache-costs"))
        subprocess.run([sys.executable, "-m", "proofs_checks._record_kernels", "--costs", job], env=env, check=True)
        with open(job) as fh:
            cost = {tuple(r[:3]): r[3] for r in json.load(fh)}
    table = {name: [[*r, cost[r]] for r in rows] for name, rows in found.items() if rows}
    write_table(table, out_path)
    return table


def main(argv) -> None:
    if argv[:1] == ["--costs"]:  # the second phase of record(), in a fresh process
        with open(argv[1]) as fh:
            entries = json.load(fh)
        costs = compile_costs(entries)
        with open(argv[1], "w") as fh:
            json.dump([[*e, c] for e, c in zip(entries, costs)], fh)
        return
    record(argv or _check_names(), os.path.join(os.path.dirname(__file__), "_kernel_signatures.py"))


if __name__ == "__main__":  # pragma: no cover - maintenance tool
    main(sys.argv[1:])
