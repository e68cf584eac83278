"""Ctrl-C (SIGINT to the terminal's process group) and SIGTERM (what `timeout` and CI runners send) end a test run
within 10 s, with nothing left behind: not the Jupyter kernel nbclient started (in a session of its own), not the
kernel's pool workers, not the pool workers of the pytest process. The run under test is a real ``python -m pytest``
on :func:`test_interrupt_target` below (this directory's conftest.py installs the handlers)."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import _sweep_targets as T

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET_ENV = "RLTHEORY_INTERRUPT_TARGET"


@pytest.mark.skipif(not os.environ.get(TARGET_ENV), reason="only run by test_signal_ends_the_run_within_10_s")
def test_interrupt_target():
    """Runs forever on purpose: a 2-worker pool sweep of 600-s cells in this process and a notebook kernel that
    runs its own 2-worker pool sweep of 600-s cells. ``$RLTHEORY_INTERRUPT_TARGET`` is a directory for logs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from rltheory.experiments import run_sweep

    d = os.environ[TARGET_ENV]
    grid = {"a": [0, 1], "delay": [600.0]}
    threading.Thread(target=run_sweep, daemon=True,
                     args=(T.slow_pid, {**grid, "log": [os.path.join(d, "pytest_pool.log")]}, 1),
                     kwargs=dict(executor="local", n_workers=2, progress=False)).start()
    cell = (f"import sys; sys.path.insert(0, {HERE!r})\n"
            "import _sweep_targets as T\n"
            "from rltheory.experiments import run_sweep\n"
            f"run_sweep(T.slow_pid, {{'a': [0, 1], 'delay': [600.0], 'log': [{os.path.join(d, 'kernel_pool.log')!r}]}},"
            " 1, executor='local', n_workers=2, progress=False)\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    nbclient.NotebookClient(nb, timeout=1200, kernel_name="python3").execute()


def _lines(path):
    try:
        with open(path) as fh:
            return fh.read().splitlines()
    except FileNotFoundError:
        return []


def _alive(pid):
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("signum, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "sigterm"])
def test_signal_ends_the_run_within_10_s(tmp_path, signum, to_group):
    psutil = pytest.importorskip("psutil")
    pytest.importorskip("nbclient")
    env = {**os.environ, TARGET_ENV: str(tmp_path), "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([os.path.dirname(HERE), HERE, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             f"{__file__}::test_interrupt_target"], cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tree = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if len(_lines(tmp_path / "pytest_pool.log")) >= 2 and len(_lines(tmp_path / "kernel_pool.log")) >= 2:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[0]
        assert len(_lines(tmp_path / "kernel_pool.log")) >= 2, "the kernel's pool never started its cells"
        tree = psutil.Process(proc.pid).children(recursive=True)
        workers = {int(line.split(",")[0]) for name in ("pytest_pool.log", "kernel_pool.log")
                   for line in _lines(tmp_path / name)}
        assert workers <= {p.pid for p in tree}
        # the kernel is in a session of its own: a Ctrl-C on the terminal does not reach it
        assert any(os.getsid(p.pid) != os.getsid(proc.pid) for p in tree)
        t0 = time.monotonic()
        if to_group:
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        out, _ = proc.communicate(timeout=10)
        elapsed = time.monotonic() - t0
        print(f"{signal.Signals(signum).name}: the run ended {elapsed:.1f} s after the signal, exit code "
              f"{proc.returncode}")
        assert elapsed < 10
        while time.monotonic() - t0 < 10 and any(_alive(p.pid) for p in tree):
            time.sleep(0.05)
        left = [p.pid for p in tree if _alive(p.pid)]
        assert not left, f"processes left behind: {left}\n{out}"
        assert proc.returncode != 0  # an interrupted run is not a success
        assert "interrupted" in out.lower() or "KeyboardInterrupt" in out, out
    finally:  # whatever happened, leave nothing running
        for p in [*tree, psutil.Process(proc.pid)] if proc.poll() is None else tree:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        proc.wait(timeout=10)
