"""`rltheory check` given a broken learner, bad input or a closed stdout: a readable line and an exit status, never a
traceback (a user-experience review of the command line). Fast: the smallest check, tiny learners, no pool unless
the pool is what is tested."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "100",
       "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}

# -P: no working directory on sys.path, as when the `rltheory` console script runs
CLI = [sys.executable, "-P", "-m", "rltheory.cli"]

LEARNERS = '''
import numpy as np

def raises(X, *, lam):
    raise KeyError("oops in update")

def wrong_shape(X, *, lam):
    return np.zeros((2, len(X)))

def correct(X, *, lam):
    from rltheory.lemmas import elliptical_potential
    return elliptical_potential(X, lam=lam)

def exits(X, *, lam):
    raise SystemExit("the learner called sys.exit")

class TwoArgError(Exception):
    def __init__(self, a, b):
        super().__init__(a)

def two_arg_error(X, *, lam):
    raise TwoArgError("cannot be unpickled", 2)

def infinite(X, *, lam):
    return np.full(len(X), np.inf)
'''


def _run(args, cwd, timeout=300, **kw):
    return subprocess.run([*CLI, *args], cwd=cwd, env=ENV, text=True, capture_output=True, timeout=timeout, **kw)


@pytest.fixture
def learners(tmp_path):
    (tmp_path / "mylearners.py").write_text(LEARNERS)
    return tmp_path


def test_a_learner_that_raises_fails_the_check_in_one_line(learners):
    """The learner under test raising in its cells is the learner's failure: one readable line naming the
    exception and its message, FAIL (exit 1), summary and index written, the traceback in a log file only.
    The learner's module is found in the working directory although the console script does not put it on
    sys.path."""
    out = learners / "out"
    p = _run(["check", "proof_steps", "--quick", "--seeds", "2", "--scheduler", "serial", "--no-progress",
              "--learner", "mylearners:raises", "--out", str(out)], learners)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    assert "proof_steps: FAIL (learner error)" in p.stdout
    assert "KeyError: 'oops in update'" in p.stdout
    assert max(len(line) for line in p.stdout.splitlines() if str(out) not in line) <= 100
    tag = "mylearners.raises"
    assert "KeyError: 'oops in update'" in (out / f"summary@{tag}.md").read_text()
    index = json.loads((out / f"index@{tag}.json").read_text())
    # the key of a learner run, as for a learner run that raised nothing: "<check>@<learner tag>"
    assert index["checks"] == {f"proof_steps@{tag}": False} and "oops" in index["learner_errors"]["proof_steps"]
    assert "Traceback" in (out / f"proof_steps@{tag}.error.log").read_text()


def test_a_learner_breaking_the_protocol_on_the_pool_fails_the_check_in_one_line(learners):
    """The same on the local process pool (the exception comes back from a worker)."""
    p = _run(["check", "proof_steps", "--quick", "--seeds", "2", "--workers", "2", "--no-progress",
              "--learner", "mylearners:wrong_shape", "--out", str(learners / "out")], learners)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    assert "FAIL (learner error)" in p.stdout and "Learner errors:" in p.stdout


def test_a_learner_calling_sys_exit_is_a_learner_error_also_serially(learners):
    """``SystemExit`` from the learner is the learner's failure on the serial scheduler as on the pool: a FAIL
    line, the summary and index written, not the CLI exiting with the learner's message."""
    out = learners / "out"
    p = _run(["check", "proof_steps", "--quick", "--seeds", "2", "--scheduler", "serial", "--no-progress",
              "--learner", "mylearners:exits", "--out", str(out)], learners)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "proof_steps: FAIL (learner error)" in p.stdout
    assert "SystemExit: the learner called sys.exit" in p.stdout
    assert (out / "index@mylearners.exits.json").exists()


def test_a_learner_exception_that_cannot_be_unpickled_is_named_on_the_pool(learners):
    """On the pool, the console line names the learner's own exception, not a broken pool."""
    p = _run(["check", "proof_steps", "--quick", "--seeds", "2", "--workers", "2", "--no-progress",
              "--learner", "mylearners:two_arg_error", "--out", str(learners / "out")], learners)
    assert p.returncode == 1, p.stdout + p.stderr
    text = " ".join(p.stdout.split())
    assert "proof_steps: TwoArgError: cannot be unpickled" in text, p.stdout
    assert "BrokenProcessPool" not in p.stdout + p.stderr


def test_infinite_running_sums_are_judged_without_numpy_warnings(learners, monkeypatch):
    """A learner returning inf: the check computes its rows (NaN increments) without NumPy warnings."""
    import warnings

    from proofs_checks.proof_steps.claims import elliptical_sum

    monkeypatch.syspath_prepend(str(learners))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = elliptical_sum(5, 0, fn="mylearners:infinite")
    assert row["sum"] == float("inf") and row["step_gap"] != row["step_gap"]  # NaN: fails the rule


@pytest.mark.parametrize("source, spec, text", [
    ("raise RuntimeError('boom at import')\n", "broken_import:f",
     "learner: could not import broken_import: RuntimeError: boom at import"),
    ("def f(:\n", "broken_syntax:f", "learner: could not import broken_syntax: SyntaxError"),
    (None, "os:sep", "learner: 'os:sep' names an object of type str, not a callable factory"),
    (None, "no_such_module_q:f", "learner: could not import no_such_module_q: ModuleNotFoundError"),
])
def test_a_learner_spec_that_cannot_be_used_is_a_usage_error(tmp_path, source, spec, text):
    if source is not None:
        (tmp_path / f"{spec.split(':')[0]}.py").write_text(source)
    p = _run(["check", "proof_steps", "--quick", "--learner", spec, "--out", str(tmp_path / "out")], tmp_path)
    assert p.returncode == 2, p.stdout + p.stderr
    assert text in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999999", "4294967296", "x"])
def test_seed_out_of_range_is_an_argparse_error(tmp_path, seed):
    p = _run(["check", "proof_steps", "--quick", "--seed", seed], tmp_path)
    assert p.returncode == 2 and "argument --seed: expected an integer in [0, 2**32 - 1]" in p.stderr
    assert "Traceback" not in p.stderr


def test_a_base_seed_too_large_for_the_default_seed_count_is_a_usage_error(tmp_path):
    """Without --seeds the run's default seed count applies: seeds past 2**32 - 1 would silently repeat
    seed 0, 1, ... (Numba wraps them)."""
    p = _run(["check", "proof_steps", "--quick", "--seed", "4294967295", "--out", str(tmp_path / "out")], tmp_path)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.startswith("rltheory check: --seed 4294967295 with the default 8 seeds runs seeds above "
                               "2**32 - 1 (use --seed <= 4294967288)")
    assert len(p.stderr.splitlines()) == 1, p.stderr


def test_seeds_past_2_32_are_refused_by_the_run_context():
    from proofs_checks import RunContext

    assert RunContext(seed=2**32 - 2, seeds=2).seed_list() == [2**32 - 2, 2**32 - 1]
    with pytest.raises(ValueError, match=r"^seed: 2 seeds from 4294967295 go past 2\*\*32 - 1"):
        RunContext(seed=2**32 - 1, seeds=2).seed_list()
    with pytest.raises(ValueError, match=r"^seed: 32 seeds"):
        RunContext(seed=2**32 - 8, seeds=1).seed_list(32)


def _silent_or_http_server(http: bool):
    """A TCP server in a thread that accepts every connection and never answers (or answers HTTP)."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)
            if http:
                try:
                    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi" * 50)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return srv, held


@pytest.mark.parametrize("http", [False, True], ids=["silent", "http"])
def test_a_port_that_is_no_dask_scheduler_is_a_usage_error_within_the_timeout(tmp_path, http):
    import time

    srv, held = _silent_or_http_server(http)
    address = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    try:
        t0 = time.monotonic()
        p = _run(["check", "proof_steps", "--quick", "--scheduler", address, "--connect-timeout", "2",
                  "--out", str(tmp_path / "out")], tmp_path, timeout=60)
        elapsed = time.monotonic() - t0
    finally:
        srv.close()
        for conn in held:
            conn.close()
    assert p.returncode == 2, p.stdout + p.stderr
    assert len(p.stderr.splitlines()) == 1 and "Traceback" not in p.stderr, p.stderr  # nothing at exit either
    assert p.stderr.startswith(f"rltheory check: scheduler: could not connect to {address}: ")
    if http:
        assert "answered, but not as a Dask scheduler" in p.stderr and "MemoryError" not in p.stderr
    else:
        assert "did not answer as a Dask scheduler within 2 s" in p.stderr
    assert elapsed < 20, elapsed  # the timeout plus the interpreter's start-up, not distributed's 60 s


def test_a_real_scheduler_passes_the_probe():
    distributed = pytest.importorskip("dask.distributed")
    from proofs_checks.cli import _scheduler_problem

    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None) as c:
        assert _scheduler_problem(c.scheduler_address, 5.0) is None


def test_unreachable_scheduler_is_one_line(tmp_path):
    p = _run(["check", "proof_steps", "--quick", "--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "2",
              "--out", str(tmp_path / "out")], tmp_path, timeout=60)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.startswith("rltheory check: scheduler: could not connect to tcp://127.0.0.1:1: ")
    assert len(p.stderr.splitlines()) == 1, p.stderr


def _closed_stdout():
    r, w = os.pipe()
    os.close(r)  # nobody reads: the first write fails with EPIPE (BrokenPipeError, Python ignores SIGPIPE)
    return w


@pytest.mark.parametrize("args", [["list"], ["check", "proof_steps", "--quick", "--seeds", "2", "--scheduler",
                                             "serial", "--no-progress", "--out", "out"]], ids=["list", "check"])
def test_a_closed_stdout_stops_the_printing_not_the_run(tmp_path, args):
    w = _closed_stdout()
    try:
        p = subprocess.run([*CLI, *args], cwd=tmp_path, env=ENV, stdout=w, stderr=subprocess.PIPE, text=True,
                           timeout=300)
    finally:
        os.close(w)
    assert p.returncode == 0, p.stderr
    assert "BrokenPipe" not in p.stderr and "Traceback" not in p.stderr, p.stderr
    if args[0] == "check":
        assert (tmp_path / "out" / "summary.md").exists() and (tmp_path / "out" / "index.json").exists()


def test_sigterm_exits_143(tmp_path):
    """SIGTERM stops a run like Ctrl-C, with the shell's status for it: 128 + 15."""
    p = subprocess.Popen([*CLI, "check", "proof_steps", "--quick", "--scheduler", "serial", "--no-progress",
                          "--out", str(tmp_path / "out")], cwd=tmp_path, env=ENV, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert p.stdout.readline().startswith("== proof_steps")
        p.send_signal(signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 143, stdout + stderr
    assert "interrupted" in stderr and "Traceback" not in stderr


# ------------------------------------------------------------------------ in process, on a fake check


def _fake_check(run_error=None, deviation=""):
    from proofs_checks import BoundHolds, Check, Claim, Measurement

    def measure(ctx):
        if run_error is not None:
            raise run_error
        return Measurement("x", [1.0, 2.0], [[2.0], [2.0]], "q", bound_values=[1.0, 1.0])

    claim = Claim("c", "the claim", "src", BoundHolds(), measure, measure, control_description="control",
                  deviation=deviation)
    return Check("fake", "a fake check", "src", [claim])


def _args(out, **kw):
    import argparse

    d = dict(names=["fake"], all=False, quick=True, out=str(out), seeds=None, seed=0, scheduler="serial",
             workers=None, no_progress=True, learner=None, mutants=False, connect_timeout=10.0)
    d.update(kw)
    return argparse.Namespace(**d)


@pytest.mark.parametrize("exc, code", [(KeyboardInterrupt(), 130), ("term", 143)])
def test_interrupt_before_any_cell_says_nothing_is_kept(tmp_path, monkeypatch, capsys, exc, code):
    from proofs_checks import cli

    if exc == "term":
        exc = cli._Terminated("signal 15")
    monkeypatch.setattr(cli, "_registry", lambda: {"fake": _fake_check(exc)})
    assert cli.cmd_check(_args(tmp_path / "out")) == code
    err = capsys.readouterr().err
    assert "interrupted before any sweep cell was stored" in err and "kept in" not in err


def test_a_claim_running_more_seeds_past_2_32_is_a_usage_error(tmp_path, monkeypatch, capsys):
    """A claim that runs more seeds than --seeds (e.g. at least 32) and would go past 2**32 - 1 stops the run
    with one line and exit 2, not a traceback from the cell."""
    from proofs_checks import BoundHolds, Check, Claim, Measurement
    from proofs_checks import cli

    def measure(ctx):
        ctx.seed_list(32)
        return Measurement("x", [1.0, 2.0], [[2.0], [2.0]], "q", bound_values=[1.0, 1.0])

    check = Check("fake", "a fake check", "src", [Claim("c", "the claim", "src", BoundHolds(), measure, measure,
                                                        control_description="control")])
    monkeypatch.setattr(cli, "_registry", lambda: {"fake": check})
    assert cli.cmd_check(_args(tmp_path / "out", seed=2**32 - 10, seeds=2)) == 2
    err = capsys.readouterr().err
    assert err.startswith("rltheory check: fake: --seed 4294967286: seed: 32 seeds from 4294967286 go past")
    assert len(err.splitlines()) == 1


def test_documented_deviations_are_wrapped(tmp_path, monkeypatch, capsys):
    from proofs_checks import cli

    text = "a long documented deviation " * 20
    monkeypatch.setattr(cli, "_registry", lambda: {"fake": _fake_check(deviation=text)})
    cli.cmd_check(_args(tmp_path / "out"))
    stdout = capsys.readouterr().out
    assert "Documented deviations" in stdout
    # every line but the one naming the output directory (a path is never cut; pytest's tmp_path grows)
    assert max(len(line) for line in stdout.splitlines() if str(tmp_path) not in line) <= 100
    assert " ".join(stdout.split()).count(" ".join(text.split())) == 1


UNGUARDED = {
    "sweep": """
        import sys
        sys.path.insert(0, {tests!r})
        from proofs_checks import RunContext
        import _sweep_targets
        RunContext(executor="local", n_workers=2).sweep(_sweep_targets.noisy, {{"a": [1, 2], "b": [0]}}, "t")
    """,
    # the README's Python route with a learner under test, the guard left out: the parent's error must name the
    # guard, not blame the learner's cell
    "learner": """
        from proofs_checks import RunContext
        from proofs_checks.proof_steps import CHECK
        CHECK.run(RunContext(learner="mylearners:correct", seeds=2, executor="local", n_workers=2))
    """,
}


@pytest.mark.parametrize("kind", sorted(UNGUARDED))
def test_a_script_without_main_guard_gets_a_clear_line(learners, kind):
    """A script that runs a sweep (or a check with a learner) at its top level: the spawned workers re-run it on
    import; each stops with one line that names the guard, and the parent raises one error that says the same
    (a MissingMainGuardError, not a failed cell, a broken pool or the learner's fault)."""
    script = learners / "unguarded.py"
    script.write_text(textwrap.dedent(UNGUARDED[kind].format(tests=os.path.join(ROOT, "tests"))))
    p = subprocess.run([sys.executable, str(script)], cwd=learners, env=ENV, text=True, capture_output=True,
                       timeout=300)
    assert p.returncode == 1
    assert 'rltheory: a worker process re-ran the script that runs the check: put the code that runs the sweep ' \
           '(or the check) under `if __name__ == "__main__":`' in p.stderr
    assert "bootstrapping phase" not in p.stderr  # multiprocessing's own traceback is not reached
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("rltheory.experiments._executors.MissingMainGuardError: ") and \
        last.count('if __name__ == "__main__":') == 1, p.stderr
    for text in ("BrokenProcessPool", "CellError", "fn failed on cell", "'learner': 'mylearners"):
        assert text not in p.stderr, p.stderr
    assert p.stderr.count("Traceback") == 1, p.stderr

def test_readme_python_route_states_its_size_and_prints_the_table():
    """The README's Python example says which size it runs (the routes' defaults differ) and prints the report's
    table and verdict, not a bare bool."""
    import re

    text = open(os.path.join(ROOT, "README.md")).read()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "RunContext(" in b]
    assert len(blocks) == 1
    block = blocks[0]
    compile(block, "README.md", "exec")
    assert re.search(r"RunContext\([^)]*\bquick=True", block)
    assert "print(format_table([report]))" in block
    assert "print(report.passed)" not in block


def test_a_learner_failure_without_a_known_cell_is_reported(tmp_path):
    """A pool worker died and which cell ended it cannot be told (CellError.params is None): the one-line account
    lists the cells that were running instead of failing on the missing params."""
    import types

    from proofs_checks.cli import _learner_failure
    from rltheory.experiments import CellError

    check = types.SimpleNamespace(name="chk", protocol="p1")

    def failure(params, seed, **kw):
        cause = RuntimeError("pool broke")
        exc = CellError(params, seed, cause, **kw)
        exc.__cause__ = cause  # (as `raise ... from cause` leaves it)
        return _learner_failure(exc, check, "m:c", str(tmp_path))

    line = failure(None, None, candidates=[({"learner": "m:c", "a": 1}, 0), ({"learner": "m:c", "a": 2}, 1)])
    assert "RuntimeError: pool broke (protocol p1; one of the cells a=1, seed 0; a=2, seed 1; traceback in" in line
    assert "(protocol p1; no cell was running; traceback in" in failure(None, None, candidates=())
    assert "(protocol p1; cell a=3, seed 2; traceback in" in failure({"learner": "m:c", "a": 3}, 2)


@pytest.mark.parametrize("module", ["rltheory", "rltheory.cli", "proofs_checks.cli"])
def test_python_dash_m_runs_the_command_line(module):
    # without the console script on PATH: `python -m rltheory list` must list the checks (proofs_checks.cli used to
    # exit 0 without doing anything)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", module, "list"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "tabular_regret" in out.stdout
