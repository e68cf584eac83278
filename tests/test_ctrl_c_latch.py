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


def _console(status_code: str, *, swallow_in_exec: bool = False, exec_at_exit: bool = False):
    """Run ``console_main`` in a fresh interpreter with ``main`` replaced by a stub returning ``status_code``
    (after, optionally, a KeyboardInterrupt raised and caught inside ``exec`` of a string, which CPython 3.11
    remembers as unhandled)."""
    code = textwrap.dedent(f"""
        import sys
        import rltheory.cli as c

        def stub(argv=None):
            if {exec_at_exit!r}:  # an exit handler running exec'd code (CPython 3.11 then forgets a KI)
                import atexit, collections
                atexit.register(lambda: collections.namedtuple("P", "x y"))
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
@pytest.mark.parametrize("swallow_in_exec, exec_at_exit", [(False, False), (True, False), (True, True)])
def test_the_console_entry_ends_by_sigint_after_ctrl_c(swallow_in_exec, exec_at_exit):
    """Status 130 from the command (it caught Ctrl-C and cleaned up): the process is killed by SIGINT, with no
    traceback, whether or not a KeyboardInterrupt passed through exec'd code first (which alone, on CPython
    3.11, turns a later ``sys.exit(130)`` into a death by SIGINT in a ``-m`` run, and not in a ``-c`` run), and
    whether or not an exit handler of what the command imported runs exec'd code."""
    r = _console("130", swallow_in_exec=swallow_in_exec, exec_at_exit=exec_at_exit)
    assert r.returncode == -signal.SIGINT, (r.returncode, r.stderr)
    assert "stub ran" in r.stdout
    assert r.stderr == "", r.stderr


@pytest.mark.parametrize("status", [0, 1, 2, 143])
def test_the_console_entry_passes_other_statuses_through(status):
    r = _console(str(status))
    assert r.returncode == status, r.stderr
    assert r.stderr == ""


def test_every_way_to_start_the_command_line_uses_the_console_entry():
    """``python -m rltheory``, ``python -m proofs_checks.cli`` and the script (declared and, when this checkout
    is installed, as installed: an install older than the change needs ``pip install -e .`` again) go through
    ``console_main``."""
    import importlib.metadata
    import tomllib

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as fh:
        scripts = tomllib.load(fh)["project"]["scripts"]
    assert scripts["rltheory"] == "rltheory.cli:console_main"
    for module in ("rltheory/__main__.py", "proofs_checks/cli.py"):
        with open(os.path.join(ROOT, module)) as fh:
            assert "sys.exit(console_main())" in fh.read(), module
    installed = [ep for ep in importlib.metadata.entry_points(group="console_scripts") if ep.name == "rltheory"]
    assert [ep.value for ep in installed] in ([], ["rltheory.cli:console_main"]), \
        "the installed rltheory script predates console_main: run pip install -e . again"


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


def test_a_nested_latch_or_one_in_another_thread_keeps_the_outer_request(default_sigint):
    import threading

    with latch_ctrl_c():
        _swallow_a_ctrl_c()
        with latch_ctrl_c():
            pass
        t = threading.Thread(target=lambda: latch_ctrl_c().__enter__())
        t.start()
        t.join()
        with pytest.raises(KeyboardInterrupt):
            stop_if_interrupted()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_handler_installed_inside_the_latch_is_kept(default_sigint):
    def mine(signum, frame):
        pass

    with latch_ctrl_c():
        signal.signal(signal.SIGINT, mine)
    assert signal.getsignal(signal.SIGINT) is mine


def test_stop_if_interrupted_never_raises_in_another_thread(default_sigint):
    import threading

    raised = []

    def probe():
        try:
            stop_if_interrupted()
        except KeyboardInterrupt:
            raised.append(True)

    with latch_ctrl_c():
        _swallow_a_ctrl_c()
        t = threading.Thread(target=probe)
        t.start()
        t.join()
        assert raised == []
        with pytest.raises(KeyboardInterrupt):
            stop_if_interrupted()


def test_ctrl_c_during_solve_is_an_interrupt_not_a_traceback(monkeypatch, capsys):
    from rltheory import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_solve", interrupted)
    assert cli.main(["solve"]) == cli.EXIT_INTERRUPTED
    assert "rltheory solve: interrupted" in capsys.readouterr().err


def test_an_interrupt_carrying_its_status_keeps_it(monkeypatch, capsys):
    """SIGTERM raised as an interrupt outside the verb's own handling (e.g. in ``--mutants``) exits 143."""
    from proofs_checks import cli as pcli
    from rltheory import cli

    def verb(args):
        raise pcli._Terminated("signal 15")

    monkeypatch.setattr(cli, "load_one", lambda group, name: verb)
    assert cli.main(["list"]) == 143


def test_mutants_run_with_sigterm_as_an_interrupt(tmp_path, monkeypatch):
    import argparse

    from proofs_checks import cli as pcli

    seen = []

    def fake_mutants(reg, names, ctx_kw, out):
        seen.append(signal.getsignal(signal.SIGTERM))
        return 0

    monkeypatch.setattr(pcli, "_cmd_mutants", fake_mutants)
    args = argparse.Namespace(names=["tabular_regret"], all=False, quick=True, out=str(tmp_path), seeds=None, seed=0,
                              scheduler="serial", workers=None, no_progress=True, learner=None, mutants=True,
                              connect_timeout=10.0)
    before = signal.getsignal(signal.SIGTERM)
    assert pcli.cmd_check(args) == 0
    assert seen == [pcli._raise_interrupt] and signal.getsignal(signal.SIGTERM) is before


def test_a_second_ctrl_c_does_not_cut_the_cleanup_short(tmp_path, monkeypatch, capsys):
    """The cleanup after a Ctrl-C runs to its end (the resume hint printed) even if Ctrl-C comes again."""
    import argparse

    from proofs_checks import cli as pcli

    class Interrupted:
        learner_claims = ()
        mutants = ()

        def run(self, ctx):
            raise KeyboardInterrupt

    def stored(db):
        signal.raise_signal(signal.SIGINT)  # the second Ctrl-C, during the cleanup
        for _ in range(1000):
            pass
        return 3

    monkeypatch.setattr(pcli, "_registry", lambda: {"fake": Interrupted()})
    monkeypatch.setattr(pcli, "_stored_cells", stored)
    args = argparse.Namespace(names=["fake"], all=False, quick=True, out=str(tmp_path), seeds=None, seed=0,
                              scheduler="serial", workers=None, no_progress=True, learner=None, mutants=False,
                              connect_timeout=10.0)
    assert pcli.cmd_check(args) == 130
    assert "the 3 finished sweep cell(s) are kept" in capsys.readouterr().err


@pytest.mark.skipif(not POSIX, reason="death by a signal is POSIX")
def test_every_exit_handler_of_the_package_runs_before_the_sigint(tmp_path):
    """The SIGINT comes last: a ``weakref.finalize`` cleanup (what ``tempfile.TemporaryDirectory`` uses) and
    an exit handler registered while the command ran both do their work first."""
    marker, tmpdir_file = tmp_path / "handler-ran", tmp_path / "tmpdir"
    code = textwrap.dedent(f"""
        import atexit, pathlib, sys, tempfile
        import rltheory.cli as c

        def stub(argv=None):
            d = tempfile.TemporaryDirectory()
            c._keep = d  # cleaned up at exit by weakref.finalize
            pathlib.Path({str(tmpdir_file)!r}).write_text(d.name)
            atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text("ran"))
            return 130

        c.main = stub
        sys.exit(c.console_main())
    """)
    r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == -signal.SIGINT, r.stderr
    assert marker.read_text() == "ran"
    assert not os.path.exists(tmpdir_file.read_text())


@pytest.mark.skipif(not POSIX, reason="death by a signal is POSIX")
def test_a_later_console_main_call_decides_the_ending_anew():
    """console_main called twice in one process (130, then 0): the process ends with the second call's status."""
    code = textwrap.dedent("""
        import sys
        import rltheory.cli as c

        statuses = iter([130, 0])
        c.main = lambda argv=None: next(statuses)
        c.console_main()
        sys.exit(c.console_main())
    """)
    r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_counting_the_stored_cells_leaves_no_wal_files(tmp_path):
    """The interrupted run's count of stored cells (the last connection to the database) removes the WAL and
    shared-memory files, as a finished run does."""
    from proofs_checks.cli import _stored_cells

    db = str(tmp_path / "sweeps.sqlite")
    run_sweep(_cell_that_swallows_ctrl_c, {"i": [0, 2]}, 1, db=db, executor="serial", progress=False, name="w")
    assert _stored_cells(db) == 2
    assert sorted(os.listdir(tmp_path)) == ["sweeps.sqlite"]
