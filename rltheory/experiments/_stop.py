"""A Ctrl-C that some code swallowed still stops the run.

Python turns SIGINT into a ``KeyboardInterrupt`` raised wherever the main thread happens to be. A few places
swallow it: a ctypes callback (llvmlite's object-cache hook, called while Numba compiles in this process) prints
"Exception ignored" and goes on, as do ``__del__`` methods and weakref callbacks. A Ctrl-C landing there would
be lost and the run would go on to its end. Inside :func:`latch_ctrl_c` the SIGINT handler also records the
request, and :func:`stop_if_interrupted`, called at every finished sweep cell, raises ``KeyboardInterrupt`` again
until the scope ends; the "Exception ignored" report of the swallowed one (a traceback on stderr) is not printed,
since the interrupt is not ignored after all.
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading

_REQUESTED = threading.Event()


def _on_sigint(signum, frame):
    _REQUESTED.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def latch_ctrl_c():
    """Scope in which a Ctrl-C is remembered until the scope ends (see the module's docstring).

    The handler is installed only in the main thread and only over Python's default SIGINT handler: a handler
    of the caller's own (a test runner's, an event loop's) is left alone, and so is an ignored SIGINT. A latch
    inside another (or in another thread) does nothing: the outermost one owns the request, and on exit it puts
    Python's default handler back unless the scope installed a handler of its own meanwhile.

    Yields
    ------
    None
    """
    installed = (threading.current_thread() is threading.main_thread()
                 and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    previous_hook = sys.unraisablehook
    if installed:
        signal.signal(signal.SIGINT, _on_sigint)

        def hook(unraisable):
            if not (_REQUESTED.is_set() and isinstance(unraisable.exc_value, KeyboardInterrupt)):
                previous_hook(unraisable)

        sys.unraisablehook = hook
        _REQUESTED.clear()
    try:
        yield
    finally:
        if installed:
            if signal.getsignal(signal.SIGINT) is _on_sigint:
                signal.signal(signal.SIGINT, signal.default_int_handler)
            if sys.unraisablehook is hook:
                sys.unraisablehook = previous_hook
            _REQUESTED.clear()


def stop_if_interrupted():
    """Raise ``KeyboardInterrupt`` if a Ctrl-C was received inside :func:`latch_ctrl_c` (even if some code
    swallowed the ``KeyboardInterrupt`` it raised at the time); do nothing otherwise, and in any thread but the
    main one (where Python raises ``KeyboardInterrupt`` too).

    Raises
    ------
    KeyboardInterrupt
        A Ctrl-C is pending.
    """
    if _REQUESTED.is_set() and threading.current_thread() is threading.main_thread():
        raise KeyboardInterrupt
