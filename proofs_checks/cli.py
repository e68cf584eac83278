"""The check-running verbs of the ``rltheory`` command line: ``list``, ``check`` and ``bounds``.

``rltheory.cli`` parses the arguments and calls these verbs through the entry-point group
``rltheory.commands`` (this package registers them in ``pyproject.toml``), so that ``rltheory`` never imports
``proofs_checks``. The verbs find the checks through the entry-point group ``rltheory.checks``: this project's
wings and any third-party package's checks alike.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time

from rltheory.plugins import CHECKS_GROUP, load_group

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # a run stopped by Ctrl-C (the shell's code for SIGINT, 128 + 2)
EXIT_TERMINATED = 143  # a run stopped by SIGTERM (128 + 15)


def _registry() -> dict:
    """``{check name: Check}`` of every check registered in the entry-point group ``rltheory.checks``."""
    found = {}
    for ep_name, check in load_group(CHECKS_GROUP).items():
        name = getattr(check, "name", None)
        if name in found:
            raise ValueError(f"name: two registered checks are called {name!r} (entry point {ep_name!r})")
        found[name] = check
    return found


def cmd_list(args) -> int:
    reg = _registry()
    if not reg:
        print("no checks registered")
        return EXIT_OK
    for name, check in sorted(reg.items()):
        print(f"{name}: {check.title}")
        print(f"    source: {check.source}")
        for claim in check.claims:
            print(f"    - {claim.name}: {claim.statement}")
            print(f"      negative control: {claim.control_description}")
    return EXIT_OK


def _format_exponents(exps: dict) -> str:
    """``A^1/2, K^1/2`` for polynomial growth; a variable that sits in an exponent (sympy's infinite degree,
    e.g. ``A**k`` in ``k``) is listed as ``exponential in k`` instead of ``k^oo``."""
    import sympy as sp

    poly, expo = [], []
    for k, v in sorted(exps.items(), key=lambda kv: str(kv[0])):
        if v in (sp.oo, -sp.oo, sp.zoo):
            expo.append(str(k))
        else:
            poly.append(f"{k}^{v}")
    return ", ".join(poly + ([f"exponential in {', '.join(expo)}"] if expo else []))


def cmd_bounds(args) -> int:
    """Print the bounds of every registered check (``Check.bounds``), each once, sorted by name."""
    found = {}
    for check in _registry().values():
        for b in getattr(check, "bounds", ()):
            found.setdefault(b.name, b)
    for b in sorted(found.values(), key=lambda b: b.name):
        exps = _format_exponents(b.exponents())
        print(f"{b.name} ({b.kind}): {b.expr}")
        print(f"    leading exponents: {exps or '-'}    source: {b.source}")
    return EXIT_OK


def cmd_check(args) -> int:
    from . import RunContext, format_table, markdown_table
    from .framework.runner import SeedRangeError

    reg = _registry()
    names = sorted(reg) if args.all else list(dict.fromkeys(args.names))
    unknown = [n for n in names if n not in reg]
    if unknown:
        print(f"rltheory check: unknown check(s): {', '.join(unknown)}; known: {', '.join(sorted(reg)) or 'none'}",
              file=sys.stderr)
        return EXIT_USAGE
    out = os.path.abspath(args.out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        print(f"rltheory check: cannot create --out {out!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    learner = getattr(args, "learner", None)
    if learner is not None:
        from .learners import learner_spec

        _cwd_on_path()
        try:
            learner = learner_spec(learner)
        except (TypeError, ValueError) as exc:
            print(f"rltheory check: --learner: {exc}", file=sys.stderr)
            return EXIT_USAGE
        without = [n for n in names if not reg[n].learner_claims]
        if without:
            with_l = sorted(n for n, c in reg.items() if c.learner_claims)
            print(f"rltheory check: --learner: no learner claims in {', '.join(without)}; checks with learner "
                  f"claims: {', '.join(with_l) or 'none'}", file=sys.stderr)
            return EXIT_USAGE
    if isinstance(args.scheduler, str) and args.scheduler.startswith("tcp://"):
        problem = _scheduler_problem(args.scheduler, getattr(args, "connect_timeout", 10.0))
        if problem:
            print(f"rltheory check: scheduler: could not connect to {args.scheduler}: {problem}", file=sys.stderr)
            return EXIT_USAGE
    ctx_kw = dict(quick=args.quick, seed=args.seed, out_dir=out, executor=args.scheduler,
                  n_workers=args.workers, progress=not args.no_progress)
    if args.seeds is not None:
        ctx_kw["seeds"] = args.seeds
    problem = _seed_problem(RunContext(**ctx_kw), args.seeds is not None)
    if problem:
        print(f"rltheory check: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "mutants", False):
        with _stoppable():
            return _cmd_mutants(reg, names, ctx_kw, out)
    reports, seconds, learner_errors = [], {}, {}
    t_all = time.perf_counter()
    from rltheory.experiments import shutdown_workers, stop_if_interrupted

    with _stoppable():  # SIGTERM and a swallowed Ctrl-C stop the run as Ctrl-C does
        try:
            if learner is None and args.scheduler == "local":
                from ._warmup import warm_kernels

                try:
                    warm_kernels(names, args.workers)
                except Exception as exc:  # only a speed-up: the checks compile what they call anyway
                    print(f"   (the first-run compile step failed and is skipped: {type(exc).__name__}: {exc})",
                          flush=True)
            for name in names:
                ctx = RunContext(**ctx_kw, learner=learner)
                t0 = time.perf_counter()
                who = "" if learner is None else f", learner {learner}, protocol {reg[name].protocol}"
                print(f"== {name} ({'quick' if args.quick else 'full'} size{who}) ...", flush=True)
                try:
                    report = reg[name].run(ctx)
                except SeedRangeError as exc:  # a claim that runs more seeds than --seeds (or its default)
                    print(f"rltheory check: {name}: --seed {args.seed}: {exc}", file=sys.stderr)
                    return EXIT_USAGE
                except Exception as exc:
                    text = _learner_failure(exc, reg[name], learner, out) if learner is not None else None
                    if text is None:
                        raise
                    seconds[name] = time.perf_counter() - t0
                    learner_errors[name] = text
                    print(f"   {name}: FAIL (learner error) in {seconds[name]:.1f} s", flush=True)
                    continue
                report.save(out, executor=args.scheduler, n_workers=args.workers)
                reports.append(report)
                ndev = sum(r.status == "deviation" for r in report.results)
                verdict = ("PASS" if report.passed else "FAIL") + (f" ({ndev} documented deviation(s))" if ndev else "")
                seconds[name] = time.perf_counter() - t0
                print(f"   {name}: {verdict} in {seconds[name]:.1f} s", flush=True)
                stop_if_interrupted()
        except KeyboardInterrupt as exc:
            with _signal_handler(signal.SIGINT, signal.SIG_IGN):  # a second Ctrl-C would cut the cleanup short
                try:  # now, not at exit: the pool's workers and the semaphores of its queues
                    shutdown_workers(kill=True)
                except Exception:  # pragma: no cover - cleanup is best effort; the interpreter's exit does the rest
                    pass
                db = os.path.join(out, "sweeps.sqlite")
                n = _stored_cells(db)
                if n:
                    print(f"\nrltheory check: interrupted; the {n} finished sweep cell(s) are kept in {db}: run the "
                          "same command again to resume", file=sys.stderr)
                else:
                    print("\nrltheory check: interrupted before any sweep cell was stored", file=sys.stderr)
                _print_times(seconds, time.perf_counter() - t_all)
            return EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED
    total = time.perf_counter() - t_all
    width = _text_width()
    if reports:
        print()
        print(format_table(reports))
    devs = [(rep.name, r.claim.name, r.claim.deviation) for rep in reports for r in rep.results
            if r.status == "deviation"]
    if devs:
        print()
        print(_wrap("Documented deviations (measured; the theorem's prediction is not reproduced, the control is "
                    "rejected):", width, indent=""))
        for check, claim, text in devs:
            print(_wrap(f"{check}/{claim}: {text}", width))
    if learner_errors:
        print()
        print(_wrap(f"Learner errors: the learner {learner} raised or broke its protocol (see the README), so "
                    "these checks judged no claim (FAIL):", width, indent=""))
        for check, text in learner_errors.items():
            print(_wrap(f"{check}: {text}", width))
    summary = {r.name: r.passed for r in reports}
    tag = ""
    if learner is not None:
        from .learners import spec_tag

        tag = f"@{spec_tag(learner)}"
    # the same key as a report of this learner run (CheckReport.name): "<check>@<learner tag>"
    summary.update({f"{name}{tag}": False for name in learner_errors})
    with open(os.path.join(out, f"summary{tag}.md"), "w") as fh:
        fh.write(f"# rltheory check ({'quick' if args.quick else 'full'} size"
                 f"{'' if learner is None else f', learner {learner}'})\n\n")
        if reports:
            fh.write(markdown_table(reports))
        if devs:
            fh.write("\n## Documented deviations\n\n")
            for check, claim, text in devs:
                fh.write(f"- `{check}/{claim}`: {text}\n")
        if learner_errors:
            fh.write("\n## Learner errors (FAIL: no claim judged)\n\n")
            for check, text in learner_errors.items():
                fh.write(f"- `{check}`: {text}\n")
    with open(os.path.join(out, f"index{tag}.json"), "w") as fh:
        json.dump({"checks": summary, "quick": bool(args.quick), "learner": learner, "seconds": seconds,
                   "total_seconds": total, **({"learner_errors": learner_errors} if learner_errors else {})},
                  fh, indent=2)
    _print_times(seconds, total)
    print(f"\nreports, figures and summary.md in {out}")
    return EXIT_OK if all(summary.values()) else EXIT_FAIL


def _seed_problem(ctx, given: bool) -> str | None:
    """Why the seeds of the run, ``--seed`` and ``--seeds`` (or the run's default seed count), cannot be used,
    or ``None``: its last seed must not pass 2**32 - 1 (Numba's ``np.random.seed`` wraps larger seeds to 0, 1,
    ... without a word, so they would silently repeat seeds)."""
    from .framework.runner import SeedRangeError

    try:
        ctx.seed_list()
    except SeedRangeError:
        what = f"--seeds {ctx.seeds}" if given else f"the default {ctx.seeds} seeds"
        return (f"--seed {ctx.seed} with {what} runs seeds above 2**32 - 1 (use --seed <= "
                f"{2**32 - ctx.seeds})")
    return None


def _print_times(seconds, total):
    """Per-check wall time (its sweeps, rules and report files) and the run's total."""
    if not seconds:
        return
    w = max(len(n) for n in [*seconds, "total"])
    print("\nwall time per check:")
    for name, sec in seconds.items():
        print(f"  {name:<{w}}  {sec:8.1f} s")
    print(f"  {'total':<{w}}  {total:8.1f} s", flush=True)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that it stops a run the same way; the exit status tells them apart."""

    exit_status = EXIT_TERMINATED


def _raise_interrupt(signum, frame):
    raise _Terminated(f"signal {signum}")


def _stored_cells(db: str) -> int:
    """Number of sweep cells stored in ``db`` (0 when the file is missing or unreadable). Opened read-write (the
    file exists): as the last connection, a read-only one could not checkpoint and leaves ``-wal`` and ``-shm``
    files beside the database."""
    if not os.path.exists(db):
        return 0
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db}?mode=rw", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM cells").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _text_width() -> int:
    """Width of the free text under the table: the terminal's (at least 60), 100 when stdout is not a terminal."""
    import shutil

    try:
        tty = sys.stdout.isatty()
    except (AttributeError, ValueError):
        tty = False
    return max(shutil.get_terminal_size((100, 24)).columns, 60) if tty else 100


def _wrap(text: str, width: int, indent: str = "  ") -> str:
    """``text`` wrapped to ``width`` columns (words are never cut): a list item under ``indent`` with its
    continuation lines indented further, or a plain paragraph for ``indent=""``."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent and indent + "  ",
                                   break_long_words=False, break_on_hyphens=False))


def _cwd_on_path() -> None:
    """Put the working directory on ``sys.path`` (first, as ``python -m`` does), so that ``--learner
    mymodule:factory`` finds ``./mymodule.py``; the spawned pool workers inherit ``sys.path``."""
    cwd = os.getcwd()
    if not any(os.path.abspath(p or os.curdir) == cwd for p in sys.path):
        sys.path.insert(0, cwd)


def _scheduler_problem(address: str, timeout: float) -> str | None:
    """Why the Dask scheduler at ``address`` (``tcp://host:port``) cannot be used, or ``None``, found within about
    ``timeout`` seconds: a TCP connection first (a refused port answers at once), then Dask's handshake and an
    ``identity`` request, whose answer must come from a scheduler. The probe opens no ``Client``: a client that
    cannot finish connecting waits far past its ``timeout`` on some services, and one left half built prints a
    traceback at exit; the probe's own comm is closed whatever happens, and the whole attempt runs in a daemon
    thread that is given up after the deadline."""
    import socket

    host, _, port = address[len("tcp://"):].rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port)
    except ValueError:
        return f"expected tcp://host:port, got {address!r}"
    try:
        socket.create_connection((host or "127.0.0.1", port), timeout=timeout).close()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        from distributed.comm import connect
    except ImportError:
        return "dask.distributed is not installed (pip install rltheory[dask])"
    import asyncio

    async def identity():
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    outcome = {}

    def attempt():
        try:
            outcome["answer"] = asyncio.run(asyncio.wait_for(identity(), timeout))
        except BaseException as exc:  # noqa: BLE001 - reported below, in words
            outcome["error"] = exc

    worker = threading.Thread(target=attempt, name="rltheory-scheduler-probe", daemon=True)
    worker.start()
    worker.join(timeout + 1.0)
    late = f"the port accepts connections but did not answer as a Dask scheduler within {timeout:g} s"
    if worker.is_alive():
        return late
    exc = outcome.get("error")
    if exc is not None:
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or "timed out" in str(exc).lower():
            return late
        if isinstance(exc, MemoryError):  # a garbage frame length: the reply is not in Dask's wire format
            return "the port answered, but not as a Dask scheduler (its reply is not Dask's wire format)"
        return (f"the port answered, but not as a Dask scheduler (its reply could not be read: "
                f"{type(exc).__name__}: {_first_line(exc)})")
    answer = outcome.get("answer")
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        kind = answer.get("type") if isinstance(answer, dict) else type(answer).__name__
        return f"the port answered, but not as a Dask scheduler (it says it is a {kind})"
    return None


def _first_line(exc: BaseException, limit: int = 120) -> str:
    text = str(exc).strip().splitlines()
    text = text[0] if text else ""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _learner_failure(exc: BaseException, check, learner: str, out: str) -> str | None:
    """The one-line account of a learner run that raised (a sweep cell of the learner failed), with the full
    traceback written to ``<out>/<check>@<learner>.error.log``; ``None`` when ``exc`` is not a failed cell."""
    import traceback

    from rltheory.experiments import CellError
    from rltheory.experiments._executors import RemoteCellFailure

    from .learners import spec_tag

    if not isinstance(exc, CellError):
        return None
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    log = os.path.join(out, f"{check.name}@{spec_tag(learner)}.error.log")
    try:
        with open(log, "w") as fh:
            fh.write("".join(traceback.format_exception(exc)))
            if isinstance(cause, RemoteCellFailure) and cause.traceback_text:
                fh.write("\nThe learner's own exception, as formatted in the worker process:\n\n")
                fh.write(cause.traceback_text)
        where = f"; traceback in {log}"
    except OSError:
        where = ""
    def cell(params, seed):
        return ", ".join(f"{k}={v}" for k, v in params.items() if v != learner) + f", seed {seed}"

    if exc.params is not None:
        which = "cell " + cell(exc.params, exc.seed)
    elif exc.candidates:  # a worker died and which cell ended it cannot be told
        which = "one of the cells " + "; ".join(cell(p, s) for p, s in exc.candidates)
    else:
        which = "no cell was running"
    if isinstance(cause, RemoteCellFailure):  # the learner's exception could not be unpickled: its name as text
        what = f"{cause.type_name}: {cause.message}"
    else:
        what = f"{type(cause).__name__}: {cause}"
    return f"{what} (protocol {check.protocol}; {which}{where})"


@contextlib.contextmanager
def _stoppable():
    """Scope of a run: SIGTERM (``timeout``, a CI runner, ``kill``) raises ``KeyboardInterrupt`` so that it stops
    the run like Ctrl-C does (the sweep in flight kills its pool workers, the cells finished so far stay in
    ``sweeps.sqlite`` and a rerun resumes from them), and a Ctrl-C that some code swallowed still stops it
    (:func:`rltheory.experiments.latch_ctrl_c`)."""
    from rltheory.experiments import latch_ctrl_c

    with _signal_handler(signal.SIGTERM, _raise_interrupt), latch_ctrl_c():
        yield


@contextlib.contextmanager
def _signal_handler(signum, handler):
    """``handler`` for ``signum`` inside, the previous one back after; nothing off the main thread, where
    signal handlers cannot be set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, previous)


def _cmd_mutants(reg, names, ctx_kw, out) -> int:
    """``rltheory check NAME --mutants``: every mutant of each check through its learner claims; prints the
    mutation report and writes ``<out>/<check>.mutants.json``; exit 1 unless every non-legitimate mutant is
    killed and every legitimate variant passes."""
    from . import RunContext, run_mutants
    from .framework.runner import SeedRangeError

    without = [n for n in names if not reg[n].mutants]
    if without:
        print(f"rltheory check: --mutants: no mutant catalogue in {', '.join(without)}", file=sys.stderr)
        return EXIT_USAGE
    ok = True
    for name in names:
        t0 = time.perf_counter()
        print(f"== mutants of {name} ({len(reg[name].mutants)}, {'quick' if ctx_kw['quick'] else 'full'} size) ...",
              flush=True)
        try:
            rep = run_mutants(reg[name], RunContext(**ctx_kw))
        except SeedRangeError as exc:  # a claim that runs more seeds than --seeds (or its default)
            print(f"rltheory check: {name}: --seed {ctx_kw['seed']}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(rep.format(width=_text_width()))
        print(f"   {name}: mutation analysis {'PASS' if rep.passed else 'FAIL'} in {time.perf_counter() - t0:.1f} s\n",
              flush=True)
        with open(os.path.join(out, f"{name}.mutants.json"), "w") as fh:
            json.dump(rep.to_dict(), fh, indent=1)
        ok &= rep.passed
    return EXIT_OK if ok else EXIT_FAIL


if __name__ == "__main__":  # ``python -m proofs_checks.cli``: the same command line as ``rltheory`` (which parses)
    from rltheory.cli import console_main

    sys.exit(console_main())
