"""Sweeps: same rows whatever the executor, resume after SIGKILL without loss or duplication, clear errors."""
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

import _sweep_targets as T
from rltheory.experiments import CellError, load_rows, run_sweep

HERE = os.path.dirname(os.path.abspath(__file__))
GRID = {"a": [1, 2, 3], "b": [0.5, -1.0]}


def test_serial_and_local_pool_identical():
    s = run_sweep(T.noisy, GRID, 4, executor="serial", progress=False)
    p = run_sweep(T.noisy, GRID, 4, executor="local", n_workers=2, progress=False)
    assert s == p
    assert len(s) == 3 * 2 * 4
    # grid order (keys in the given order), then seeds
    assert [(r["params"]["a"], r["params"]["b"], r["seed"]) for r in s][:5] == [
        (1, 0.5, 0), (1, 0.5, 1), (1, 0.5, 2), (1, 0.5, 3), (1, -1.0, 0)]
    assert isinstance(s[0]["result"]["vec"], list) and isinstance(s[0]["result"]["n"], int)


def test_dask_local_cluster_matches_bit_for_bit(monkeypatch):
    """A real LocalCluster: scheduler and a worker process talking TCP on loopback."""
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setenv("PYTHONPATH", HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        d = run_sweep(T.noisy, GRID, 3, executor=client, progress=False)
        d2 = run_sweep(T.noisy, GRID, 3, executor=cluster.scheduler_address, progress=False)
    s = run_sweep(T.noisy, GRID, 3, executor="serial", progress=False)
    assert d == s and d2 == s


def test_db_roundtrip_and_resume_skips_finished(tmp_path):
    db = tmp_path / "s.sqlite"
    log = str(tmp_path / "calls.log")
    first = run_sweep(T.slow_logged, {"a": [1, 2], "log": [log], "delay": [0.0]}, 3, db=db, executor="serial",
                      progress=False, name="logged")
    again = run_sweep(T.slow_logged, {"a": [1, 2], "log": [log], "delay": [0.0]}, 3, db=db, executor="serial",
                      progress=False, name="logged")
    assert first == again
    with open(log) as fh:
        assert len(fh.readlines()) == 6  # the second run computed nothing
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT COUNT(*) FROM cells").fetchone()[0] == 6
    assert len(load_rows(db, "logged")) == 6


def test_same_name_other_function_is_refused(tmp_path):
    db = tmp_path / "s.sqlite"
    run_sweep(T.failing, {"a": [0]}, 1, db=db, executor="serial", progress=False, name="x")
    with pytest.raises(ValueError, match="was run with function"):
        run_sweep(T.other, {"a": [0]}, 1, db=db, executor="serial", progress=False, name="x")


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_failing_cell_names_params_and_keeps_finished(tmp_path, executor):
    db = tmp_path / "f.sqlite"
    with pytest.raises(CellError, match=r"'a': 2.*seed=1"):
        run_sweep(T.failing, {"a": [1, 2]}, 2, db=db, executor=executor, n_workers=2, progress=False, name="f")
    stored = {(r["params"]["a"], r["seed"]) for r in load_rows(db, "f")}
    assert (2, 1) not in stored and (1, 0) in stored


@pytest.mark.parametrize("kw, exc, msg", [
    ({"grid": []}, TypeError, "grid"),
    ({"grid": {"a": []}}, ValueError, "grid"),
    ({"grid": {"seed": [1]}}, ValueError, "reserved"),
    ({"seeds": 0}, ValueError, "seeds"),
    ({"seeds": [1, 1]}, ValueError, "seeds"),
    ({"seeds": ["x"]}, TypeError, "seeds"),
    ({"executor": "gpu"}, ValueError, "executor"),
    ({"n_workers": 0}, ValueError, "n_workers"),
])
def test_bad_arguments(kw, exc, msg):
    args = {"grid": {"a": [1]}, "seeds": 1, "executor": "serial"}
    args.update(kw)
    with pytest.raises(exc, match=msg):
        run_sweep(T.other, args["grid"], args["seeds"], executor=args["executor"],
                  n_workers=args.get("n_workers"), progress=False)


def test_sigkill_mid_sweep_resumes_without_loss_or_duplicates(tmp_path):
    db = str(tmp_path / "k.sqlite")
    log = str(tmp_path / "calls.log")
    grid = {"a": [0, 1, 2, 3], "log": [log], "delay": [0.2]}
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {HERE!r})
        import _sweep_targets as T
        from rltheory.experiments import run_sweep
        run_sweep(T.slow_logged, {grid!r}, 6, db={db!r}, executor="local", n_workers=2, progress=False, name="k")
    """)
    proc = subprocess.Popen([sys.executable, "-c", code])
    n_before = 0
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            time.sleep(0.05)
            if os.path.exists(db):
                try:
                    n_before = sqlite3.connect(db, timeout=5).execute("SELECT COUNT(*) FROM cells").fetchone()[0]
                except sqlite3.OperationalError:
                    continue
                if n_before >= 5:
                    break
        assert proc.poll() is None, "the sweep finished before it could be killed; make cells slower"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    con = sqlite3.connect(db)
    finished_before = {(p, s) for p, s in con.execute("SELECT params, seed FROM cells")}
    con.close()
    assert 5 <= len(finished_before) < 24
    with open(log) as fh:
        calls_before = len(fh.readlines())
    rows = run_sweep(T.slow_logged, grid, 6, db=db, executor="local", n_workers=2, progress=False, name="k")
    assert len(rows) == 24
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM cells").fetchone()[0] == 24
    assert con.execute("SELECT COUNT(*) FROM (SELECT DISTINCT params, seed FROM cells)").fetchone()[0] == 24
    con.close()
    with open(log) as fh:
        calls = [tuple(map(int, ln.strip().split(","))) for ln in fh.readlines()]
    resumed = calls[calls_before:]
    import json
    done_cells = {(json.loads(p)["a"], s) for p, s in finished_before}
    assert not done_cells & set(resumed), "a cell finished before the kill was recomputed"
    serial = run_sweep(T.slow_logged, {**grid, "delay": [0.2]}, 6, executor="serial", progress=False)
    assert [r["result"] for r in rows] == [r["result"] for r in serial]
