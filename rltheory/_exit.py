"""The last exit handler of a command-line run: after Ctrl-C, end the process by SIGINT.

Imported first by the package, so that :func:`_end_by_sigint_if_requested` is registered before the exit
handlers of everything the package imports (Numba's, llvmlite's, ``weakref.finalize``'s, multiprocessing's)
and, exit handlers running in reverse order of registration, runs after all of them (not after those of
modules imported before ``rltheory``: ``python -m proofs_checks.cli`` imports ``logging`` first, whose
handler only flushes logging handlers, which this project does not use). It does nothing unless
:func:`rltheory.cli.console_main` asked for it (see there why).
"""
import atexit
import os
import signal
import sys

#: set by :func:`rltheory.cli.console_main` when the command was stopped by Ctrl-C
END_BY_SIGINT = False


def _end_by_sigint_if_requested():
    if not END_BY_SIGINT:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # pragma: no cover - a closed stream: nothing left to write
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    os.kill(os.getpid(), signal.SIGINT)  # delivered before kill returns; if not, the exit status stays 130


atexit.register(_end_by_sigint_if_requested)
