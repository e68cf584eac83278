import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

settings.register_profile("ci", deadline=None, max_examples=60, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ----------------------------------------------------------------------------------------------------------------
# Stopping the run: Ctrl-C (SIGINT) or SIGTERM (`timeout`, a CI runner) ends the whole run within seconds.
# Without this, an interrupt only failed the running test (nbclient turns it into a test error) and the suite went
# on; Jupyter kernels run in a session of their own (Ctrl-C on the terminal never reaches them) and a pool worker
# inside a compiled kernel does not see a Python-level interrupt. So the first signal kills every descendant process
# (the process tree is read before anything is killed, so that a kernel's own pool workers are found too), asks
# pytest to stop after the current test and raises KeyboardInterrupt; pytest prints its summary and the process
# exits right after it. If the run is still alive 4 s after the signal it exits anyway (a C-level faulthandler
# timer backs this up 3 s later, should the main thread be stuck in native code). A second signal exits at once.

import faulthandler  # noqa: E402

import pytest  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402

_STOP = {"signal": None, "session": None}
_GRACE = 4.0


def _descendants(pid):
    """PIDs of every process below ``pid`` (children first-level to leaves), read once."""
    try:
        import psutil

        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except Exception:
        pass
    children = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _is_resource_tracker(pid):
    """multiprocessing's resource tracker ends by itself when its owner does; killing it first only makes the
    owner start a new one at exit (slow, and noisy warnings)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"multiprocessing.resource_tracker" in fh.read()
    except OSError:
        return False


def _kill_descendants():
    for _ in range(3):  # a process may have started a child between the listing and the kill
        pids = [pid for pid in _descendants(os.getpid()) if not _is_resource_tracker(pid)]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _hard_exit(code):
    _kill_descendants()
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def _on_stop_signal(signum, frame):
    code = 128 + signum
    if _STOP["signal"] is not None:
        _hard_exit(code)
    _STOP["signal"] = signum
    _kill_descendants()
    session = _STOP["session"]
    if session is not None:
        session.shouldstop = f"interrupted by signal {signal.Signals(signum).name}"
    timer = threading.Timer(_GRACE, _hard_exit, args=(code,))
    timer.daemon = True
    timer.start()
    try:
        faulthandler.dump_traceback_later(_GRACE + 3, exit=True, file=sys.__stderr__)
    except Exception:  # pragma: no cover - no usable stderr file descriptor
        pass
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}: stopping the test run")


def _keep_stop_handlers(loop_cls):
    """nbclient (and any asyncio code) calls ``loop.add_signal_handler(SIGINT/SIGTERM, ...)`` while it runs a
    notebook, which replaces these handlers (its own one only shuts the kernel down, so the test fails and the run
    goes on) and, on removal, leaves Python's default SIGINT handler and no SIGTERM handler for the rest of the run.
    In the test process these two signals belong to the handlers above: the loop's requests for them are ignored."""
    add, remove = loop_cls.add_signal_handler, loop_cls.remove_signal_handler

    def add_signal_handler(self, sig, callback, *args):
        if sig in (signal.SIGINT, signal.SIGTERM) and signal.getsignal(sig) is _on_stop_signal:
            return None
        return add(self, sig, callback, *args)

    def remove_signal_handler(self, sig):
        if sig in (signal.SIGINT, signal.SIGTERM) and signal.getsignal(sig) is _on_stop_signal:
            return False
        return remove(self, sig)

    loop_cls.add_signal_handler = add_signal_handler
    loop_cls.remove_signal_handler = remove_signal_handler


def pytest_configure(config):
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_stop_signal)
        signal.signal(signal.SIGTERM, _on_stop_signal)
        if hasattr(signal, "SIGKILL"):  # POSIX event loops
            import asyncio.unix_events

            _keep_stop_handlers(asyncio.unix_events._UnixSelectorEventLoop)


def pytest_sessionstart(session):
    _STOP["session"] = session


def pytest_sessionfinish(session, exitstatus):
    _STOP["exitstatus"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _STOP["signal"] is not None:
        # interrupted, and pytest has printed its summary: nothing the run started survives it, and the process
        # ends now instead of spending seconds in atexit handlers and interpreter teardown (broken pools' threads,
        # garbage collection), where no Python-level timer can run
        _hard_exit(_STOP.get("exitstatus") or 128 + _STOP["signal"])
