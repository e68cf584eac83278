"""The documented cluster path, run the way a user runs it: a ``dask scheduler`` and two ``dask worker`` processes
started from the command line on 127.0.0.1 (random free ports), then ``run_sweep(executor="tcp://...")`` and
``rltheory check NAME --scheduler tcp://...`` pointed at the address (no default client anywhere). Results must equal
the serial ones, also when a worker is killed (SIGKILL) in the middle of the run."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import _sweep_targets as T
from _isolated import kill_group
from rltheory.experiments import load_rows, run_sweep

distributed = pytest.importorskip("dask.distributed")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, HERE, os.environ.get("PYTHONPATH", "")]),
       "MPLBACKEND": "Agg"}
CHECK = "proof_steps"  # the cheapest check (a few seconds quick); its sweeps run on the cluster


class Cluster:
    """A scheduler and ``n`` workers, each its own process group (a worker = a nanny and its worker process)."""

    def __init__(self, tmp_path, n_workers=2):
        self.tmp = tmp_path
        self.procs = []
        sched_file = tmp_path / "scheduler.json"
        self.scheduler = self._start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(sched_file)], "scheduler")
        deadline = time.monotonic() + 60
        while not sched_file.exists() or not sched_file.read_text().strip():
            assert self.scheduler.poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start in 60 s"
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written in one go, but let it be flushed
        self.address = json.loads(sched_file.read_text())["address"]
        assert self.address.startswith("tcp://127.0.0.1:")
        self.workers = [self._start(["worker", self.address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                     "--host", "127.0.0.1", "--death-timeout", "60", "--name", f"w{i}"], f"worker{i}")
                        for i in range(n_workers)]
        with distributed.Client(self.address, timeout=60, set_as_default=False) as c:
            c.wait_for_workers(n_workers, timeout=120)

    def _start(self, args, log):
        fh = open(self.tmp / f"{log}.log", "w")
        p = subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=self.tmp, env=ENV, stdout=fh,
                             stderr=subprocess.STDOUT, start_new_session=True)
        fh.close()
        self.procs.append(p)
        return p

    def kill_worker(self, i):
        os.killpg(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait(timeout=10)

    def close(self):
        for p in reversed(self.procs):
            kill_group(p)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


def _kill_when_busy(cluster, log, worker):
    """Kill ``worker`` (SIGKILL to its process group) as soon as the log shows it started a cell; returns the
    thread and a dict receiving the cell it was computing."""
    seen = {}

    def watch():
        pgid = cluster.workers[worker].pid
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            lines = log.read_text().splitlines() if log.exists() else []
            for line in lines:
                pid, a, seed = (int(v) for v in line.split(","))
                try:
                    mine = os.getpgid(pid) == pgid
                except ProcessLookupError:
                    mine = False
                if mine:
                    cluster.kill_worker(worker)
                    seen["cell"] = (a, seed)
                    return
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t, seen


@pytest.mark.slow
def test_run_sweep_on_an_address_with_a_worker_killed_mid_run(cluster, tmp_path):
    grid = {"a": [1, 2, 3]}
    serial = run_sweep(T.noisy, {**grid, "b": [0.5]}, 3, executor="serial", progress=False)
    by_address = run_sweep(T.noisy, {**grid, "b": [0.5]}, 3, executor=cluster.address, progress=False,
                           db=tmp_path / "d.sqlite")
    assert by_address == serial
    assert load_rows(tmp_path / "d.sqlite", "_sweep_targets.noisy") == serial

    log = tmp_path / "cells.log"
    slow = {**grid, "log": [str(log)], "delay": [1.0]}
    watcher, seen = _kill_when_busy(cluster, log, worker=0)
    rows = run_sweep(T.slow_pid, slow, 4, executor=cluster.address, progress=False, db=tmp_path / "k.sqlite")
    watcher.join(timeout=5)
    assert "cell" in seen, "worker 0 never started a cell"
    expected = run_sweep(T.slow_pid, {**slow, "log": [str(tmp_path / "serial.log")], "delay": [0.0]}, 4,
                         executor="serial", progress=False)
    assert [r["result"] for r in rows] == [r["result"] for r in expected]
    calls = [tuple(int(v) for v in line.split(",")[1:]) for line in log.read_text().splitlines()]
    # the cell the killed worker was computing was computed again on the other worker
    assert calls.count(seen["cell"]) >= 2
    assert set(calls) == {(a, s) for a in grid["a"] for s in range(4)}


def _cli(args, cwd):
    return subprocess.Popen([sys.executable, "-m", "rltheory.cli", *args], cwd=cwd, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _claims(out):
    rep = json.loads((out / f"{CHECK}.json").read_text())
    return [(c["name"], c["status"], c["measurement"], c["control"]) for c in rep["claims"]]


@pytest.mark.slow
def test_cli_scheduler_address_matches_serial_even_when_a_worker_dies(cluster, tmp_path):
    common = ["check", CHECK, "--quick", "--seeds", "3", "--no-progress"]
    serial = _cli(common + ["--scheduler", "serial", "--out", str(tmp_path / "serial")], tmp_path)
    text, _ = serial.communicate(timeout=600)
    assert serial.returncode == 0, text

    p = _cli(common + ["--scheduler", cluster.address, "--out", str(tmp_path / "dask")], tmp_path)
    text, _ = p.communicate(timeout=600)
    assert p.returncode == 0, text
    assert "No clients found" not in text
    assert _claims(tmp_path / "dask") == _claims(tmp_path / "serial")

    # again in a fresh directory, killing worker 0 as soon as the first cell is stored
    out = tmp_path / "dask_kill"
    p = _cli(common + ["--scheduler", cluster.address, "--out", str(out)], tmp_path)
    db = out / "sweeps.sqlite"
    deadline = time.monotonic() + 300
    killed_while_running = False
    while time.monotonic() < deadline and p.poll() is None:
        if db.exists() and _stored(db) > 0:
            cluster.kill_worker(0)
            killed_while_running = p.poll() is None
            break
        time.sleep(0.05)
    text, _ = p.communicate(timeout=600)
    assert killed_while_running, "the CLI finished before a worker could be killed"
    assert p.returncode == 0, text
    assert _claims(out) == _claims(tmp_path / "serial")


def _stored(db):
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0
