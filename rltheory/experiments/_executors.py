"""Where cells run: in process, on a spawn-started process pool, or on a Dask cluster.

Every executor is a generator ``execute(fn, todo)`` over ``todo = [(params, seed, key), ...]`` that yields
``((params, seed, key), (result_json, elapsed))`` as cells finish, in completion order. On the first
failing cell it stops starting new cells, still yields the cells that finish meanwhile (so the caller can
store them), then raises :class:`CellError`.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import sysconfig
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .._validation import check_int
from .store import dumps

DASK_SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "ucx://", "inproc://")


class CellError(RuntimeError):
    """A cell's function call raised; ``.params``, ``.seed`` name the cell, ``__cause__`` is the error.

    Any exception of the cell's function counts, ``SystemExit`` included (a function calling ``sys.exit`` fails
    its cell, on every executor). ``KeyboardInterrupt`` in the calling process is the user stopping the sweep
    (Ctrl-C) and propagates as such, also when the function raises it itself in a serial sweep; pool workers
    ignore Ctrl-C, so a ``KeyboardInterrupt`` that reaches the parent from a pool worker was raised by the
    function and fails its cell.

    When a pool worker process died and which cell ended it cannot be told (it died of the signal by which the
    pool stops its other workers, or between cells), ``.params`` and ``.seed`` are ``None`` and ``.candidates``
    lists the ``(params, seed)`` of the cells that were running when the pool broke (empty when none was);
    otherwise ``.candidates`` is ``((params, seed),)``."""

    def __init__(self, params, seed, exc, n_other_failures: int = 0, *, candidates=None):
        self.params, self.seed = params, seed
        self.candidates = tuple(candidates) if candidates is not None else ((params, seed),)
        more = f" ({n_other_failures} other cell(s) in flight failed too)" if n_other_failures else ""
        if candidates is None:
            what = f"fn failed on cell params={params!r} seed={seed}"
        elif self.candidates:
            cells = "; ".join(f"params={p!r} seed={sd}" for p, sd in self.candidates)
            what = f"a worker process died while running one of these cells, which may have ended it: {cells}"
        else:
            what = "a worker process died while it ran no cell"
        super().__init__(f"{what}: {exc!r}{more}; the cells finished before it are stored when a db is given "
                         "(rerun to resume)")

    def __reduce__(self):
        # travels (a sweep run inside a Dask task or a pool of the caller's) with its message, cell and
        # candidates; like any pickled exception it leaves its ``__cause__`` behind
        return _rebuild_cell_error, (type(self), str(self), self.params, self.seed, self.candidates)


def _rebuild_cell_error(cls, message, params, seed, candidates):
    err = RuntimeError.__new__(cls)
    RuntimeError.__init__(err, message)
    err.params, err.seed, err.candidates = params, seed, tuple(candidates)
    return err


#: exit status of a spawned worker that stopped because it was re-running the script that started the sweep
#: (no ``if __name__ == "__main__":`` guard), see :func:`refuse_in_spawning_worker`
UNGUARDED_SCRIPT_EXIT = 86

MAIN_GUARD_HINT = ("put the code that runs the sweep (or the check) under `if __name__ == \"__main__\":` "
                   "(worker processes import the script)")


class MissingMainGuardError(RuntimeError):
    """The script that started a process-pool sweep runs it at its top level, without an
    ``if __name__ == "__main__":`` guard: the spawned workers, which import the script, re-ran it and stopped."""


def refuse_in_spawning_worker(what: str = "sweep") -> None:
    """Stop a spawned pool worker that is re-running the user's script (it calls this while the script is being
    imported, before it serves any cell): one line on stderr, then exit status :data:`UNGUARDED_SCRIPT_EXIT`.
    The parent raises :class:`MissingMainGuardError` for a worker that ended with this status *before* it
    finished starting (:func:`_start_worker` never recorded it, see :func:`_diagnose_broken_pool`), so a cell
    that exits with the same status is reported as a failed cell, not as a missing guard."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        print(f"rltheory: a worker process re-ran the script that runs the {what}: {MAIN_GUARD_HINT}",
              file=sys.stderr, flush=True)
        raise SystemExit(UNGUARDED_SCRIPT_EXIT)


def _exit_codes(procs, timeout: float = 2.0) -> dict:
    """``{pid: exitcode}`` of the processes of a broken pool, read until all have ended or for ``timeout``
    seconds (the pool learns of a death a moment before the process can be reaped, and it stops the others);
    ``None`` for one still running."""
    deadline = time.monotonic() + timeout
    while True:
        codes = {}
        for proc in procs:
            try:
                codes[proc.pid] = proc.exitcode
            except Exception:  # pragma: no cover - a process object in an unexpected state
                codes[proc.pid] = -1
        if all(c is not None for c in codes.values()) or time.monotonic() > deadline:
            return codes
        time.sleep(0.02)


class RemoteCellFailure(RuntimeError):
    """Stands in for an exception of a cell run in a worker process that could not travel back to the parent
    (it cannot be pickled or unpickled, e.g. an ``__init__`` with more required arguments than ``args``).

    ``type_name``, ``message`` and ``traceback_text`` are the original exception's type name (unqualified),
    ``str()`` and formatted traceback (text, made in the worker)."""

    def __init__(self, type_name: str, message: str, traceback_text: str = ""):
        super().__init__(f"{type_name}: {message}")  # repr() and CellError's message stay one line
        self.type_name, self.message, self.traceback_text = type_name, message, traceback_text

    def __reduce__(self):  # travels itself: rebuilt from all three fields, not from ``args``
        return type(self), (self.type_name, self.message, self.traceback_text)

    def __str__(self):
        return (f"{self.type_name}: {self.message} (the exception could not be sent back from the worker "
                "process; it is shown here as text)")


def _travels(exc: BaseException) -> bool:
    """Whether ``exc`` survives the pickle round trip that brings it from a pool worker to the parent."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return False
    return True


def call_cell(fn, params, seed):
    """Run one cell: returns ``(result_json, elapsed_seconds)``."""
    t0 = time.perf_counter()
    out = fn(**params, seed=seed)
    elapsed = time.perf_counter() - t0
    if not isinstance(out, Mapping):
        raise TypeError(f"result: fn must return a dict, got {type(out).__name__}")
    return dumps(out), elapsed


def call_cell_remote(fn, params, seed, token: int = 0):
    """:func:`call_cell` in a pool worker: an exception that could not be unpickled in the parent (which would
    break the whole pool and hide the error) is replaced by a :class:`RemoteCellFailure` carrying its type name,
    message and traceback as text. A nonzero ``token`` (the cell's place in the sweep, plus one) is recorded as
    this worker's running cell while it runs, in a process-pool worker (:func:`_start_worker`): the parent reads
    it when the worker dies."""
    slots = _SLOTS if token else None
    if slots is not None:
        slots[_SLOT + 1] = token
    try:
        return call_cell(fn, params, seed)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        if _travels(exc):
            raise
        import traceback

        text = "".join(traceback.format_exception(exc))
        raise RemoteCellFailure(_type_name(exc), _safe_str(exc), text) from None
    finally:
        if slots is not None:
            slots[_SLOT + 1] = 0


def _type_name(exc: BaseException) -> str:
    """The name an in-process run would print for ``exc``'s type (``type(exc).__name__`` style, unqualified)."""
    return type(exc).__qualname__


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # pragma: no cover - a broken __str__
        return repr(exc.args)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve(executor, n_workers):
    """Validate ``executor`` / ``n_workers``; return ``(kind, arg)`` without connecting to anything."""
    if n_workers is not None:
        n_workers = check_int("n_workers", n_workers, low=1)
    if isinstance(executor, str):
        if executor == "serial":
            return "serial", None
        if executor == "local":
            return "local", int(n_workers or cpu_count())
        if executor.startswith(DASK_SCHEMES):
            return "dask", executor
        raise ValueError(f"executor: expected 'serial', 'local', a Dask scheduler address "
                         f"('tcp://host:port') or a dask.distributed.Client, got {executor!r}")
    client_cls = _dask_client_class(required=False)
    if client_cls is not None and isinstance(executor, client_cls):
        return "dask", executor
    raise TypeError(f"executor: expected a str or a dask.distributed.Client, got {type(executor).__name__}")


def check_picklable(fn):
    """Fail early, naming ``fn``, when a process pool could not import it in its spawned workers."""
    mod = getattr(fn, "__module__", None)
    main = sys.modules.get("__main__")
    if mod == "__main__" and getattr(main, "__file__", None) is None:
        raise TypeError(f"fn: {fn!r} is defined in an interactive session (__main__ has no file), which "
                        "spawned worker processes cannot import; move it to a module, or use "
                        "executor='serial' or a Dask executor")
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"fn: {fn!r} cannot be pickled for a process pool ({exc}); define it at module level "
                        "in an importable module, or use executor='serial'") from exc


def run_serial(fn, todo):
    for p, s, k in todo:
        try:
            out = call_cell(fn, p, s)
        except (Exception, SystemExit) as exc:  # as on a pool; KeyboardInterrupt stops the sweep
            raise CellError(p, s, exc) from exc
        yield (p, s, k), out


class _WarmPool:
    """One spawn-started pool kept between sweeps of this process, so that consecutive sweeps do not pay
    the start-up of fresh interpreters (importing NumPy/Numba and ``fn``'s module: ~0.5-1 s per sweep).

    The pool is reused only while the worker count, ``sys.path``, the working directory and the newest
    modification time of the loaded non-library modules are unchanged; editing a project module therefore
    starts fresh workers (no stale code). A sweep that finds the pool busy (another thread) uses a private
    pool. :func:`shutdown_workers` stops the idle workers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pool = None
        self.key = None
        self.busy = False

    def acquire(self, workers):
        key = (workers, tuple(sys.path), os.getcwd(), _code_fingerprint())
        with self.lock:
            if self.busy:
                return _new_pool(workers), False
            if self.pool is not None and self.key != key:
                self.pool.shutdown(wait=True)
                self.pool = None
            if self.pool is None:
                self.pool, self.key = _new_pool(workers), key
            self.busy = True
            return self.pool, True

    def release(self, pool, cached, healthy):
        """Give the pool back; an unhealthy pool (a broken pool, an interrupted sweep: Ctrl-C, SIGTERM in the
        CLI, an abandoned generator) is stopped at once: its workers are killed instead of finishing the cells
        they are computing, so an interrupted sweep ends promptly (the finished cells are already stored)."""
        if not healthy:
            _kill_workers(pool)
        if not cached:
            pool.shutdown(wait=healthy, cancel_futures=True)
            return
        with self.lock:
            self.busy = False
            if not healthy and self.pool is pool:
                self.pool = None
                pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self, kill: bool = False):
        """Stop the idle pool; ``kill``: SIGKILL its workers first (they may still be starting up)."""
        with self.lock:
            if self.pool is not None and not self.busy:
                if kill:
                    _kill_workers(self.pool)
                self.pool.shutdown(wait=True, cancel_futures=True)
                self.pool = None


_LIBRARY_PREFIXES = tuple({sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def _code_fingerprint() -> int:
    newest = 0
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        if path and not path.startswith(_LIBRARY_PREFIXES):
            try:
                newest = max(newest, os.stat(path).st_mtime_ns)
            except (OSError, TypeError, ValueError):
                pass
    return newest


def _kill_workers(pool):
    """SIGKILL the worker processes of ``pool`` (they may be inside a long compiled kernel that no Python-level
    signal handler would interrupt)."""
    kill = getattr(pool, "kill_workers", None)  # Python >= 3.14
    if kill is not None:
        try:
            kill()
        except Exception:  # pragma: no cover - pool already shut down
            pass
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.kill()
        except Exception:  # pragma: no cover - already gone
            pass


#: in a process-pool worker: the pool's record of its workers (see :func:`_new_pool`) and this worker's place in it
_SLOTS = None
_SLOT = 0


def _start_worker(slots=None):
    """Pool initializer: :func:`_exit_with_parent`, then the worker records its pid in ``slots`` (a shared
    int64 array ``[pid, running cell token] * max_workers + [overflow count]``, :func:`_new_pool`). A worker
    that ends before it is recorded never finished starting: it stopped while importing the script that
    started the sweep, before it could run any cell."""
    global _SLOTS, _SLOT
    _exit_with_parent()
    if slots is None:  # pragma: no cover - a pool not made by _new_pool
        return
    with slots.get_lock():
        for i in range(0, len(slots) - 1, 2):
            if slots[i] == 0:
                slots[i] = os.getpid()
                _SLOTS, _SLOT = slots, i
                return
        slots[len(slots) - 1] += 1  # no free slot (a pool that started more processes than max_workers)


def _exit_with_parent():
    """In a pool worker (from :func:`_start_worker`): a daemon thread ends this worker as soon as the parent
    process is gone (a SIGKILLed sweep would otherwise leave its workers blocked on the task queue forever, or
    finishing queued cells). Workers ignore SIGINT: a Ctrl-C on a terminal reaches the whole process group, and
    it is the parent that stops the sweep (and kills its workers, see :meth:`_WarmPool.release`) instead of every
    worker printing a ``KeyboardInterrupt`` traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent while it started this process: see _no_sigint
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - not started by multiprocessing
        return

    def watch():
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(3)

    threading.Thread(target=watch, name="rltheory-exit-with-parent", daemon=True).start()


class _no_sigint:
    """Block SIGINT in the calling thread while it starts pool workers (``ProcessPoolExecutor.submit`` spawns
    them): a spawned worker inherits the mask, so a Ctrl-C during its start-up (a second or more of imports,
    before :func:`_exit_with_parent` makes it ignore SIGINT) does not print a ``KeyboardInterrupt`` traceback per
    worker. A Ctrl-C meanwhile reaches the parent as soon as the block is lifted."""

    def __enter__(self):
        self.old = None
        if hasattr(signal, "pthread_sigmask"):
            self.old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def __exit__(self, *exc):
        if self.old is not None and signal.SIGINT not in self.old:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


#: BLAS / OpenMP thread counts of the pool workers unless the user set them: one process per core already uses
#: every core, and a multi-threaded BLAS in each worker oversubscribes the machine (measured on the shared 2-core
#: machine: one rcsl_bellman width-scan cell, dominated by small SVDs, 5.0 s with the default OpenBLAS threads,
#: 0.47 s with one).
_WORKER_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _new_pool(workers):
    for var in _WORKER_THREAD_VARS:  # spawned workers read these at their numpy import
        os.environ.setdefault(var, "1")
    ctx = multiprocessing.get_context("spawn")
    slots = ctx.Array("q", 2 * workers + 1)  # see _start_worker
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker, initargs=(slots,))
    pool._rltheory_slots = slots
    return pool


def _worker_record(pool) -> tuple[dict, bool]:
    """``({pid: running cell token}, complete)`` of the workers of ``pool`` that finished starting
    (:func:`_start_worker`); ``complete`` is False when some started worker may be missing from it."""
    slots = getattr(pool, "_rltheory_slots", None)
    if slots is None:  # pragma: no cover - a pool not made by _new_pool
        return {}, False
    with slots.get_lock():
        values = list(slots)
    started = {values[i]: values[i + 1] for i in range(0, len(values) - 1, 2) if values[i]}
    return started, values[-1] == 0


def _diagnose_broken_pool(pool, todo, exc):
    """The error to raise for the :class:`BrokenProcessPool` ``exc`` of ``pool`` running the cells ``todo``.

    * a worker ended with :data:`UNGUARDED_SCRIPT_EXIT` before it finished starting: :class:`MissingMainGuardError`;
    * a worker ended otherwise before it finished starting (importing the script failed in it): the
      :class:`BrokenProcessPool`, saying so (no cell ran there);
    * the workers that ended by themselves (not by the signal with which the pool then stops the others) were
      running cells: :class:`CellError` naming the first of those cells in sweep order;
    * such a worker ran no cell: :class:`CellError` naming no cell (``candidates`` empty);
    * no worker ended by itself (one ended by that same signal): :class:`CellError` naming no cell, with the cells
      that were running when the pool broke as its ``candidates``: one of them ended its worker, or none did."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    codes = _exit_codes(procs)
    started, complete = _worker_record(pool)
    stopped = -signal.SIGTERM  # how the pool ends its other workers once one has died
    if complete:
        unstarted = {pid: c for pid, c in codes.items() if c not in (None, stopped) and pid not in started}
        if UNGUARDED_SCRIPT_EXIT in unstarted.values():
            return MissingMainGuardError(
                "the pool's worker processes could not start: the script that started the sweep runs it at its "
                f"top level, and each worker, importing the script, ran it again; {MAIN_GUARD_HINT}")
        if unstarted:
            broken = BrokenProcessPool(
                f"{exc}; a worker process stopped while starting, before it ran any cell (exit status "
                f"{_show_exit(next(iter(unstarted.values())))}): importing the script that started the sweep, or "
                "the module of fn, failed in it (code at the script's top level runs again in every worker: put "
                "it under `if __name__ == \"__main__\":`)")
            broken.__cause__ = exc
            return broken

    def cell_of(token):
        return todo[token - 1] if 0 < token <= len(todo) else None

    order = {id(cell): i for i, cell in enumerate(todo)}
    died = {pid: c for pid, c in codes.items() if c not in (None, stopped)}  # by themselves, not by the pool
    if died:
        cells = sorted(((cell, pid) for pid in died if (cell := cell_of(started.get(pid, 0))) is not None),
                       key=lambda cp: order[id(cp[0])])
        if cells:  # the cell that was running on a worker that died by itself ended it
            (cell, pid), n_other = cells[0], len(cells) - 1
            broken = BrokenProcessPool(
                f"{exc}; the worker process running this cell died (exit status {_show_exit(died[pid])}): the "
                "cell ended its process (os._exit, a signal), crashed it, or ran out of memory")
            broken.__cause__ = exc
            return _caused(CellError(cell[0], cell[1], broken, n_other), broken)
        broken = BrokenProcessPool(
            f"{exc}; a worker process died between cells (exit status "
            f"{', '.join(_show_exit(c) for c in died.values())}): while it received a cell or sent a result back")
        broken.__cause__ = exc
        return _caused(CellError(None, None, broken, candidates=()), broken)
    running = sorted((cell for cell in map(cell_of, started.values()) if cell is not None),
                     key=lambda cell: order[id(cell)])
    broken = BrokenProcessPool(
        f"{exc}; a worker process died of the signal by which the pool stops its other workers "
        f"({_show_exit(stopped)}), so which cell ended it cannot be told: one of the cells running then may have "
        "ended its process (os._exit, a signal), crashed it or run out of memory")
    broken.__cause__ = exc
    return _caused(CellError(None, None, broken, candidates=[(cell[0], cell[1]) for cell in running]), broken)


def _caused(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


def _show_exit(code) -> str:
    """An exit status as text: ``3``, or ``-9 (SIGKILL)`` for a signal."""
    if isinstance(code, int) and code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


_WARM = _WarmPool()


def shutdown_workers(kill: bool = False):
    """Stop the idle worker processes kept by ``executor="local"`` between sweeps (they are also stopped
    at interpreter exit), and release the pool's queues and their POSIX semaphores.

    Parameters
    ----------
    kill : bool
        SIGKILL the workers instead of letting them finish (what an interrupted run wants: a worker may still
        be importing its modules).
    """
    _WARM.shutdown(kill=kill)
    import gc

    gc.collect()  # the queues' semaphores are unlinked when their objects are collected


def run_pool(fn, todo, n_workers):
    """Process pool started with 'spawn' (no fork of a threaded parent; the same on every OS), kept warm
    between sweeps (:class:`_WarmPool`). At most ``2 * n_workers`` cells are submitted ahead, so a failure
    leaves little to cancel."""
    workers = min(n_workers, len(todo))
    if workers <= 1:
        yield from run_serial(fn, todo)
        return
    pool, cached = _WARM.acquire(n_workers)
    healthy = False
    pending = {}
    try:
        order = {id(cell): i for i, cell in enumerate(todo)}
        queue = iter(todo)
        failures = []

        def fill():
            while len(pending) < 2 * workers:
                cell = next(queue, None)
                if cell is None:
                    return
                with _no_sigint():
                    future = pool.submit(call_cell_remote, fn, cell[0], cell[1], order[id(cell)] + 1)
                pending[future] = cell

        fill()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for f in finished:
                cell = pending.pop(f)
                if f.cancelled():
                    continue
                exc = f.exception()
                if isinstance(exc, BrokenProcessPool):  # every unfinished cell gets it: find the one at fault
                    error = _diagnose_broken_pool(pool, todo, exc)
                    raise error from error.__cause__  # (None for a missing guard: no traceback of the pool)
                if exc is not None:
                    failures.append((cell, exc))
                else:
                    yield cell, f.result()
            if failures:
                for f in list(pending):
                    if f.cancel():
                        pending.pop(f)
            else:
                fill()
        healthy = True
        if failures:  # the first failed cell in sweep order, not in completion order: the same on a rerun
            (p, s, _), exc = min(failures, key=lambda f: order[id(f[0])])
            raise CellError(p, s, exc, len(failures) - 1) from exc
    finally:
        for f in pending:
            f.cancel()
        _WARM.release(pool, cached, healthy)


def _dask_client_class(required: bool):
    try:
        from dask.distributed import Client
    except ImportError as exc:
        if required:
            raise ImportError("executor: running on a Dask cluster needs dask.distributed; install the optional "
                              "dependency with `pip install rltheory[dask]`") from exc
        return None
    return Client


def run_dask(fn, todo, target):
    """Submit every cell to a Dask cluster (``target``: an address, connected here and closed at the end,
    or a ``Client``, left open). Workers need ``rltheory`` and the module of ``fn`` importable."""
    client_cls = _dask_client_class(required=True)
    from dask.distributed import as_completed

    own = not isinstance(target, client_cls)
    client = client_cls(target, timeout=30, set_as_default=False) if own else target
    futures = {}
    try:
        for cell in todo:
            futures[client.submit(call_cell_remote, fn, cell[0], cell[1], pure=False)] = cell
        failures = []
        seen = set()
        # as_completed must be told the client's event loop: without it, it looks for the *default* client,
        # which a client opened here with set_as_default=False is not ("ValueError: No clients found")
        for f in as_completed(list(futures), loop=client.loop):
            seen.add(f.key)
            cell = futures[f]
            if f.status == "error":
                failures.append((cell, f.exception()))
                rest = [g for g in futures if g.key not in seen]
                # cells already computed are kept; the others are cancelled
                for g in rest:
                    if g.status == "finished":
                        seen.add(g.key)
                        yield futures[g], g.result()
                client.cancel([g for g in rest if g.status not in ("finished", "error")])
                for g in rest:
                    if g.status == "error":
                        failures.append((futures[g], g.exception()))
                break
            if f.status == "cancelled":
                continue
            yield cell, f.result()
        if failures:  # the first failed cell in sweep order, as on the local pool
            order = {id(cell): i for i, cell in enumerate(todo)}
            (p, s, _), exc = min(failures, key=lambda f: order[id(f[0])])
            raise CellError(p, s, exc, len(failures) - 1) from exc
    finally:
        if futures:
            try:
                client.cancel([g for g in futures if g.status == "pending"])
            except Exception:  # pragma: no cover - client already closed
                pass
        if own:
            client.close()


def execute(kind, arg, fn, todo):
    if not todo:
        return iter(())
    if kind == "serial":
        return run_serial(fn, todo)
    if kind == "local":
        return run_pool(fn, todo, arg)
    return run_dask(fn, todo, arg)
