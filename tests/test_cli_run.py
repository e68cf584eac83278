"""`rltheory check` as a user meets it: what it prints (wall times, a table that fits 100 columns, one line per
sweep in a log) and how it stops (Ctrl-C or SIGTERM: at once, workers included, finished cells kept for a rerun)."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from _isolated import kill_group

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "100",
       "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}


def _cli(args, cwd, **kw):
    return subprocess.Popen([sys.executable, "-m", "rltheory.cli", *args], cwd=cwd, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_check_prints_wall_times_and_a_table_that_fits_100_columns(tmp_path):
    out = tmp_path / "out"
    p = _cli(["check", "proof_steps", "--quick", "--seeds", "2", "--scheduler", "serial", "--out", str(out)],
             tmp_path)
    stdout, stderr = p.communicate(timeout=600)
    assert p.returncode == 0, stdout + stderr
    lines = stdout.splitlines()
    # the last line names the output directory: its length is the path's (pytest-of-<user>/pytest-<n>/...)
    assert lines[-1] == f"reports, figures and summary.md in {out}"
    assert max(len(line) for line in lines[:-1]) <= 100, [line for line in lines if len(line) > 100]
    i = lines.index("wall time per check:")
    name, sec, unit = lines[i + 1].split()
    total = lines[i + 2].split()
    assert name == "proof_steps" and unit == "s" and float(sec) > 0
    assert total[0] == "total" and float(total[1]) >= float(sec)
    index = json.loads((out / "index.json").read_text())
    assert index["seconds"]["proof_steps"] == pytest.approx(float(sec), abs=0.05)
    # stderr is not a terminal here: no bar, one line per sweep
    sweeps = [ln for ln in stderr.splitlines() if ln.startswith("sweep proof_steps.")]
    assert sweeps and all(" cells, " in ln and ln.endswith(" s") or ln.endswith("were stored)") for ln in sweeps)
    assert "\r" not in stderr
    # the table has every claim, and summary.md every rule message in full
    summary = (out / "summary.md").read_text()
    rep = json.loads((out / "proof_steps.json").read_text())
    for claim in rep["claims"]:
        assert f"  {claim['name']}" in stdout
        assert claim["result"]["message"] in summary and claim["control_result"]["message"] in summary


def _stored(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _group_gone(pgid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("signum, to_group", [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "sigterm"])
def test_interrupted_check_stops_at_once_and_a_rerun_resumes(tmp_path, signum, to_group):
    """Ctrl-C (SIGINT to the terminal's process group) or SIGTERM (to the CLI only) while the local pool computes:
    the CLI ends by SIGINT (a shell's status 130) or exits 143 (SIGTERM) within 10 s, no worker survives, the
    finished cells stay in sweeps.sqlite and the same command run again reuses them and passes."""
    out = tmp_path / "out"
    args = ["check", "tabular_regret", "--quick", "--seeds", "4", "--workers", "2", "--out", str(out)]
    p = _cli(args, tmp_path, start_new_session=True)
    db = out / "sweeps.sqlite"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and p.poll() is None and _stored(db) == 0:
            time.sleep(0.05)
        assert p.poll() is None, p.communicate()
        t0 = time.monotonic()
        if to_group:
            os.killpg(p.pid, signum)
        else:
            os.kill(p.pid, signum)
        stdout, stderr = p.communicate(timeout=10)
        # Ctrl-C: the process ends killed by SIGINT (a shell reports 130); SIGTERM: exit status 143
        assert p.returncode == (-signum if signum == signal.SIGINT else 128 + signum), stdout + stderr
        assert _group_gone(p.pid, 10 - (time.monotonic() - t0)), "pool workers outlived the interrupted CLI"
        assert "interrupted" in stderr and "run the same command again to resume" in stderr
        assert "Traceback" not in stderr, stderr
    finally:
        kill_group(p)
    kept = _stored(db)
    assert kept > 0
    again = _cli(args, tmp_path)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stdout + stderr
    assert "were stored)" in stderr  # the rerun started from the kept cells
    assert "wall time per check:" in stdout


def _sems_of_tree(pid):
    """POSIX semaphores (``/dev/shm/sem.*``) mapped by process ``pid`` and its descendants."""
    import psutil

    found = set()
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return found
    for proc in procs:
        try:
            with open(f"/proc/{proc.pid}/maps") as fh:
                found.update(line.split()[-1] for line in fh if "/dev/shm/sem." in line)
        except OSError:
            pass
    return found


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="POSIX semaphores are files in /dev/shm on Linux only")
@pytest.mark.parametrize("delay", [1.0, 2.0, 3.0, 4.0, 6.0])
def test_an_early_ctrl_c_leaves_nothing_behind(tmp_path, delay):
    """Ctrl-C in the first seconds of a first run (the checks being imported, the pool starting, the first-run
    compile step): the process ends killed by SIGINT (a shell's status 130), no traceback (from the CLI or from a
    pool worker still starting up), and no POSIX semaphore of the run's pool queues left in /dev/shm (nor one the
    resource tracker had to reclaim)."""
    pytest.importorskip("psutil")
    env = {**ENV, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}  # a first run: the compile step runs
    p = subprocess.Popen([sys.executable, "-m", "rltheory.cli", "check", "tabular_regret", "--quick", "--seed", "5",
                          "--out", str(tmp_path / "out")], cwd=tmp_path, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                         # a shell's background job may have SIGINT ignored, which a child would inherit
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    sems = set()
    try:
        t_end = time.monotonic() + delay
        while time.monotonic() < t_end and p.poll() is None:
            sems |= _sems_of_tree(p.pid)
            time.sleep(0.02)
        assert p.poll() is None, p.communicate()
        os.killpg(p.pid, signal.SIGINT)
        stdout, stderr = p.communicate(timeout=30)
    finally:
        kill_group(p)
    assert p.returncode == -signal.SIGINT, stdout + stderr  # killed by SIGINT after its cleanup: a shell's 130
    assert "interrupted" in stderr and "Traceback" not in stderr, stderr
    assert "leaked semaphore" not in stderr, stderr
    assert not [s for s in sems if os.path.exists(s)], (sems, stderr)
