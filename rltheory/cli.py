"""Command line: ``rltheory list``, ``rltheory check``, ``rltheory solve``, ``rltheory bounds``.

``rltheory check --all --quick`` is the main job: it runs every executable bound check of
``proofs_checks`` at its quick size, prints a table (claim, measured, predicted, status), writes the
JSON reports, one PNG figure per claim and a Markdown summary to ``--out``, and exits non-zero when a
claim fails or a negative control passes (a check that cannot fail is reported as broken).

``rltheory`` never imports ``mdps`` or ``proofs_checks`` (dependencies point ``proofs_checks -> mdps ->
rltheory``), not even here: the verbs ``list``, ``check`` and ``bounds`` are looked up in the entry-point group
``rltheory.commands`` and the instances of the ``solve`` demo in ``rltheory.mdps`` (see :mod:`rltheory.plugins`;
this project's ``pyproject.toml`` registers both).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from . import _exit
from .plugins import COMMANDS_GROUP, MDPS_GROUP, load_one

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C: the shell's 128 + SIGINT


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 with usage; keep that, add a hint
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(try '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


#: largest base seed: the seeds of a run, ``seed, seed + 1, ...``, seed NumPy's and Numba's generators (< 2**32)
MAX_BASE_SEED = 2**32 - 1


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32 - 1], got {text!r}") from None
    if not 0 <= v <= MAX_BASE_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32 - 1], got {v}")
    return v


def _seconds(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return v


def _scheduler(text: str) -> str:
    if text in ("local", "serial") or text.startswith("tcp://"):
        return text
    raise argparse.ArgumentTypeError(f"expected 'local', 'serial' or a Dask address tcp://host:port, got {text!r}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rltheory`` command (subcommands ``list``, ``check``, ``solve``, ``bounds``).

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    p = _Parser(prog="rltheory", description="RL theory on the test bench.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("list", help="list the bound checks, their claims and sources")

    c = sub.add_parser("check", help="run bound checks and report measured vs predicted")
    c.add_argument("names", nargs="*", metavar="NAME", help="checks to run (see 'rltheory list')")
    c.add_argument("--all", action="store_true", help="run every check")
    c.add_argument("--quick", action="store_true",
                   help="small sizes for a first look (wall time per check printed at the end)")
    c.add_argument("--out", default=None, metavar="DIR",
                   help="write <check>.json, figures (PNG) and summary.md here (default: rltheory-out)")
    c.add_argument("--seeds", type=_positive_int, default=None, metavar="N", help="number of seeds per cell")
    c.add_argument("--seed", type=_seed, default=0, metavar="S",
                   help="base seed in [0, 2**32 - 1] (default 0); the run's seeds are S, S + 1, ...")
    c.add_argument("--scheduler", type=_scheduler, default="local", metavar="ADDR",
                   help="'local' process pool (default), 'serial', or a Dask scheduler tcp://host:port")
    c.add_argument("--connect-timeout", type=_seconds, default=10.0, metavar="SEC",
                   help="seconds to wait for a Dask --scheduler to answer before giving up (default 10)")
    c.add_argument("--workers", type=_positive_int, default=None, metavar="N", help="local pool size (default: all cores)")
    c.add_argument("--no-progress", action="store_true", help="no progress bars")
    c.add_argument("--learner", default=None, metavar="PKG.MOD:FACTORY",
                   help="run the checks' learner claims for this learner (an importable factory following the "
                        "check's protocol, see the README) instead of the built-in reference; reports are "
                        "written as <check>@<learner>.*")
    c.add_argument("--mutants", action="store_true",
                   help="mutation analysis: run each mutant of the check's catalogue through its learner claims "
                        "and print the mutation score (exit 1 unless every mutant is killed)")

    s = sub.add_parser("solve", help="solve a few classic MDPs exactly and print their optimal values")
    s.add_argument("--method", default="auto", help="solver method (default auto)")

    sub.add_parser("bounds", help="list the registered symbolic bounds with their leading exponents")
    return p


#: the ``solve`` demo: (constructor registered in the entry-point group ``rltheory.mdps``, args, keyword args)
DEMO_INSTANCES = (
    ("riverswim", (6,), {"horizon": 20}),
    ("riverswim", (6,), {"gamma": 0.95}),
    ("chain", (10,), {"horizon": 15}),
    ("garnet", (50, 4, 5), {"seed": 0, "gamma": 0.9}),
    ("gridworld", ("S..#\n.#.G\n...T",), {"slip": 0.1, "gamma": 0.95}),
)


def _cmd_solve(args) -> int:
    from rltheory.solvers import solve

    try:
        instances = [load_one(MDPS_GROUP, name)(*a, **kw) for name, a, kw in DEMO_INSTANCES]
    except LookupError as exc:
        print(f"rltheory solve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{'instance':<44} {'S':>5} {'A':>3} {'H/gamma':>8} {'method':>18} {'V*(mu0)':>12} {'bound':>9} {'ms':>8}")
    for mdp in instances:
        t = time.perf_counter()
        try:
            res = solve(mdp, method=args.method)
        except (ValueError, TypeError) as exc:
            print(f"{str(mdp.name):<44} error: {exc}")
            return EXIT_USAGE
        ms = 1e3 * (time.perf_counter() - t)
        v0 = float(mdp.mu0 @ res.value)
        hg = f"H={mdp.horizon}" if mdp.finite_horizon else f"{mdp.gamma:g}"
        print(f"{str(mdp.name)[:44]:<44} {mdp.S:>5} {mdp.A:>3} {hg:>8} {res.method:>18} {v0:>12.6f} "
              f"{res.error_bound:>9.1e} {ms:>8.2f}")
    return EXIT_OK


def main(argv=None) -> int:
    """Entry point of the ``rltheory`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (``EXIT_OK`` = 0 on success, ``EXIT_USAGE`` for a usage error, otherwise that of the subcommand).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "check":
        if not args.names and not args.all:
            parser.exit(EXIT_USAGE, "rltheory check: name at least one check or pass --all (see 'rltheory list')\n")
        if args.names and args.all:
            parser.exit(EXIT_USAGE, "rltheory check: give check names or --all, not both\n")
        if args.learner is not None and args.mutants:
            parser.exit(EXIT_USAGE, "rltheory check: --learner and --mutants exclude each other\n")
        if args.seeds is not None and args.seed + args.seeds - 1 > MAX_BASE_SEED:
            parser.exit(EXIT_USAGE, f"rltheory check: --seed {args.seed} with --seeds {args.seeds} runs seeds above "
                                    "2**32 - 1\n")
        if args.out is None:
            args.out = os.path.join(os.getcwd(), "rltheory-out")
    try:
        if args.command == "solve":
            return _cmd_solve(args)
        try:
            verb = load_one(COMMANDS_GROUP, args.command)
        except LookupError as exc:
            print(f"rltheory {args.command}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        stdout, sys.stdout = sys.stdout, _ClosedPipeSafe(sys.stdout)
        try:
            return verb(args)
        finally:
            sys.stdout = stdout
    except KeyboardInterrupt as exc:  # Ctrl-C outside the verb's own handling (e.g. while the checks are imported)
        print(f"\nrltheory {args.command}: interrupted", file=sys.stderr)
        return getattr(exc, "exit_status", EXIT_INTERRUPTED)  # a verb's SIGTERM-as-interrupt carries 143


class _ClosedPipeSafe:
    """``sys.stdout`` that stops printing once its reader has gone (``rltheory list | head``): the first
    ``BrokenPipeError`` points the file descriptor at ``os.devnull`` (so that no flush at exit fails either, as
    the Python documentation's note on SIGPIPE recommends) and later output is dropped; the command itself goes
    on, so ``check`` still writes its reports and summary, and exits with its usual status."""

    def __init__(self, stream):
        self._stream = stream
        self.closed_pipe = False

    def _lost(self):
        self.closed_pipe = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError):  # no file descriptor (captured output): nothing to flush
            pass

    def write(self, text):
        if not self.closed_pipe:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._lost()
        return len(text)

    def flush(self):
        if not self.closed_pipe:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._lost()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def console_main() -> int:
    """Entry point of the installed ``rltheory`` script, of ``python -m rltheory`` and of
    ``python -m proofs_checks.cli``: :func:`main`, and the process ends with its status, except after Ctrl-C.

    After Ctrl-C (status ``EXIT_INTERRUPTED``: the run already stopped and cleaned up) the process ends the way a
    program killed by SIGINT does, on POSIX: once the interpreter has run its exit handlers (the worker pool's,
    multiprocessing's, ``weakref.finalize``'s), the last of them (:mod:`rltheory._exit`) sends the process SIGINT
    at its default action. A shell reports status 130 either way, but only a death by SIGINT tells a shell loop
    (``for s in 1 2 3; do rltheory check ...; done``) that the user pressed Ctrl-C, so the loop stops as well. It
    also makes the outcome deterministic on CPython 3.11, which ends a ``-m`` run this way by itself whenever the
    Ctrl-C happened to land in code run by ``exec`` of a string (Numba's compiler, ``dataclasses``), even though
    the command caught it.

    Returns
    -------
    int
        The exit status of :func:`main`; for ``EXIT_INTERRUPTED`` on POSIX, the SIGINT follows at the
        interpreter's exit.
    """
    _exit.END_BY_SIGINT = False  # an earlier call in the same process decided nothing for this one
    status = main()
    experiments = sys.modules.get("rltheory.experiments")
    if experiments is not None:
        try:  # the idle worker pool now: at interpreter exit, joining its threads, a Ctrl-C prints a traceback
            experiments.shutdown_workers(kill=status >= 128)  # after a signal: kill, do not wait
        except KeyboardInterrupt:
            status = EXIT_INTERRUPTED
    if status == EXIT_INTERRUPTED and os.name == "posix":
        _exit.END_BY_SIGINT = True
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console_main())
