"""Ctrl-C handling that must not depend on where the KeyboardInterrupt lands: the console entry point ends the
process by SIGINT after the run's cleanup (deterministically, whatever CPython's own bookkeeping saw), and a
Ctrl-C whose KeyboardInterrupt some code swallowed still stops a sweep at its next finished cell."""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from rltheory.experiments import latch_ctrl_c, run_sweep, stop_if_interrupted

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
POSIX = os.name == "posix"


def _console(status_code: str, *, swallow_in_exec: bool = False):
    """Run ``console_main`` in a fresh interpreter with ``main`` replaced by a stub returning ``status_code``
    (after, optionally, a KeyboardInterrupt raised and caught inside ``exec`` of a string, which CPython 3.11
    remembers as unhandled)."""
    code = textwrap.dedent(f"""
        import sys
        import rltheory.cli as c

        def stub(argv=None):
            if {swallow_in_exec!r}:
                try:
                    exec("raise KeyboardInterrupt")
                except KeyboardInterrupt:
                    pass
            print("stub ran", flush=True)
            return {status_code}

        c.main = stub
        sys.exit(c.console_main())
    """)
    return subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not POSIX, reason="death by a signal is POSIX")
@pytest.mark.parametrize("swallow_in_exec", [False, True])
def test_the_console_entry_ends_by_sigint_after_ctrl_c(swallow_in_exec):
    """Status 130 from the command (it caught Ctrl-C and cleaned up): the process is killed by SIGINT, with no
    traceback, whether or not a KeyboardInterrupt passed through exec'd code first (which alone, on CPython
    3.11, turns a later ``sys.exit(130)`` into a death by SIGINT in a ``-m`` run, and not in a ``-c`` run)."""
    r = _console("130", swallow_in_exec=swallow_in_exec)
    assert r.returncode == -signal.SIGINT, (r.returncode, r.stderr)
    assert "stub ran" in r.stdout
    assert r.stderr == "", r.stderr


@pytest.mark.parametrize("status", [0, 1, 2, 143])
def test_the_console_entry_passes_other_statuses_through(status):
    r = _console(str(status))
    assert r.returncode == status, r.stderr
    assert r.stderr == ""


def test_python_m_rltheory_uses_the_console_entry():
    """``python -m rltheory`` and the installed script go through ``console_main``."""
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        scripts = tomllib.load(fh)["project"]["scripts"]
    assert scripts["rltheory"] == "rltheory.cli:console_main"
    with open(os.path.join(ROOT, "rltheory", "__main__.py")) as fh:
        assert "console_main()" in fh.read()


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler for the test (the suite's conftest installs its own stop handler, which the
    latch rightly leaves alone)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _swallow_a_ctrl_c():
    try:
        signal.raise_signal(signal.SIGINT)
        for _ in range(1000):  # the handler runs at the next bytecode boundary
            pass
    except KeyboardInterrupt:
        pass


def test_a_swallowed_ctrl_c_is_raised_again_inside_the_latch(default_sigint):
    with latch_ctrl_c():
        _swallow_a_ctrl_c()
        with pytest.raises(KeyboardInterrupt):
            stop_if_interrupted()
        with pytest.raises(KeyboardInterrupt):  # until the scope ends
            stop_if_interrupted()
    stop_if_interrupted()  # the scope ended: nothing pending
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_the_latch_nothing_is_remembered(default_sigint):
    _swallow_a_ctrl_c()
    stop_if_interrupted()


def test_the_latch_leaves_a_foreign_handler_alone():
    seen = []

    def mine(signum, frame):
        seen.append(signum)

    previous = signal.signal(signal.SIGINT, mine)
    try:
        with latch_ctrl_c():
            assert signal.getsignal(signal.SIGINT) is mine
            signal.raise_signal(signal.SIGINT)
            stop_if_interrupted()  # not ours to remember
        assert signal.getsignal(signal.SIGINT) is mine and seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def _cell_that_swallows_ctrl_c(i, seed):
    if i == 1:
        _swallow_a_ctrl_c()
    return {"i": i}


def test_a_sweep_stops_at_the_cell_after_a_swallowed_ctrl_c(tmp_path, default_sigint):
    """In process (``executor="serial"``): the cell that swallowed the Ctrl-C is stored, the sweep stops right
    after it, and the cells after it are not run."""
    db = str(tmp_path / "s.sqlite")
    with latch_ctrl_c():
        with pytest.raises(KeyboardInterrupt):
            run_sweep(_cell_that_swallows_ctrl_c, {"i": [0, 1, 2, 3]}, 1, db=db, executor="serial",
                      progress=False, name="s")
    from rltheory.experiments import load_rows

    assert sorted(r["params"]["i"] for r in load_rows(db, "s")) == [0, 1]


class _SwallowsInDel:
    def __del__(self):
        signal.raise_signal(signal.SIGINT)
        for _ in range(1000):
            pass


def test_the_swallowed_ctrl_c_is_not_reported_as_ignored(default_sigint, capsys):
    """A KeyboardInterrupt raised where Python can only report it as "Exception ignored" (here a ``__del__``;
    in a run, llvmlite's ctypes callback while Numba compiles) is not printed inside the latch: the interrupt is
    raised again at the next checkpoint. The hook is restored when the scope ends."""
    before = sys.unraisablehook
    with latch_ctrl_c():
        _SwallowsInDel()
        with pytest.raises(KeyboardInterrupt):
            stop_if_interrupted()
    assert "Exception ignored" not in capsys.readouterr().err
    assert sys.unraisablehook is before
