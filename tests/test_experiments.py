"""Sweeps: same rows whatever the executor, resume after SIGKILL without loss, recomputation or duplicates,
exact float round trip through the store, clear errors."""
import collections
import io
import json
import math
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import _sweep_targets as T
from _isolated import kill_group
from rltheory.experiments import CellError, Sweep, load_rows, run_sweep, shutdown_workers
from rltheory.experiments.store import dumps, loads

HERE = os.path.dirname(os.path.abspath(__file__))
GRID = {"a": [1, 2, 3], "b": [0.5, -1.0]}


def _bits(x):
    return struct.pack("<d", x)


def _count(db, name=None):
    con = sqlite3.connect(db)
    try:
        where, args = ("WHERE name = ?", (name,)) if name else ("", ())
        n = con.execute(f"SELECT COUNT(*) FROM cells {where}", args).fetchone()[0]
        distinct = con.execute(f"SELECT COUNT(*) FROM (SELECT DISTINCT name, params, seed FROM cells {where})",
                               args).fetchone()[0]
        return n, distinct
    finally:
        con.close()


def _expected_noisy(a, b, seed):
    """Independent reference for T.noisy, computed here without the sweep machinery."""
    x = np.random.default_rng(seed).normal(size=5)
    return {"value": float(a * x.sum() + b), "vec": [float(v) for v in x], "n": int(a), "f64": float(x[0] / 3.0)}


# ------------------------------------------------------------------ executors agree, order is the grid's


def test_serial_and_local_pool_identical_and_ordered():
    s = run_sweep(T.noisy, GRID, 4, executor="serial", progress=False)
    p = run_sweep(T.noisy, GRID, 4, executor="local", n_workers=2, progress=False)
    assert s == p
    order = [(a, b, seed) for a in GRID["a"] for b in GRID["b"] for seed in range(4)]
    assert [(r["params"]["a"], r["params"]["b"], r["seed"]) for r in p] == order
    for r in p:
        want = _expected_noisy(r["params"]["a"], r["params"]["b"], r["seed"])
        assert r["result"] == want
        assert [_bits(v) for v in r["result"]["vec"]] == [_bits(v) for v in want["vec"]]
        assert type(r["result"]["n"]) is int
    # key order of the grid decides the row order
    q = run_sweep(T.noisy, {"b": GRID["b"], "a": GRID["a"]}, [3, 1], executor="serial", progress=False)
    assert [(r["params"]["b"], r["params"]["a"], r["seed"]) for r in q] == \
        [(b, a, seed) for b in GRID["b"] for a in GRID["a"] for seed in (3, 1)]


def test_dask_local_cluster_bit_for_bit_errors_and_resume(monkeypatch, tmp_path):
    """A real LocalCluster (scheduler + one worker process, TCP on loopback), by Client and by address."""
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setenv("PYTHONPATH", HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    db = tmp_path / "d.sqlite"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  protocol="tcp", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        d = run_sweep(T.noisy, GRID, 3, executor=client, progress=False, db=db)
        d2 = run_sweep(T.noisy, GRID, 3, executor=cluster.scheduler_address, progress=False)
        with pytest.raises(CellError, match=r"'a': 2.*seed=1.*boom"):
            run_sweep(T.failing, {"a": [1, 2]}, 2, executor=client, db=db, name="f", progress=False)
        assert client.status == "running"  # a user's client is left open
    s = run_sweep(T.noisy, GRID, 3, executor="serial", progress=False)
    assert d == s and d2 == s
    stored = {(r["params"]["a"], r["seed"]) for r in load_rows(db, "f")}
    assert (2, 1) not in stored and {(1, 0), (1, 1)} <= stored
    # everything stored: no scheduler is contacted (nothing listens on port 1)
    again = run_sweep(T.noisy, GRID, 3, executor="tcp://127.0.0.1:1", db=db, progress=False)
    assert again == s


def test_warm_workers_are_reused_but_never_run_stale_code(tmp_path, monkeypatch):
    """Consecutive local sweeps share worker processes; editing a module the sweep uses starts new ones."""
    pids = [{r["result"]["pid"] for r in run_sweep(T.worker_pid, {"a": [0, 1, 2]}, 2, executor="local",
                                                   n_workers=2, progress=False)} for _ in range(2)]
    assert os.getpid() not in pids[0] and len(pids[0] | pids[1]) <= 2
    mod = tmp_path / "edited_target.py"
    mod.write_text("def f(a, seed):\n    return {'version': 1}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import edited_target

    first = run_sweep(edited_target.f, {"a": [0, 1]}, 2, executor="local", n_workers=2, progress=False)
    mtime = mod.stat().st_mtime_ns
    mod.write_text("def f(a, seed):\n    return {'version': 2}\n")
    os.utime(mod, ns=(mtime + 10**9, mtime + 10**9))
    import importlib

    importlib.reload(edited_target)
    second = run_sweep(edited_target.f, {"a": [0, 1]}, 2, executor="local", n_workers=2, progress=False)
    assert {r["result"]["version"] for r in first} == {1}
    assert {r["result"]["version"] for r in second} == {2}
    shutdown_workers()
    monkeypatch.delitem(sys.modules, "edited_target")


def test_progress_bar_on_a_terminal(monkeypatch, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    outputs = []
    for progress in (True, True, False):
        term = Terminal()
        monkeypatch.setattr(sys, "stderr", term)
        rows = run_sweep(T.other, {"a": [1, 2, 3]}, 2, db=tmp_path / "p.sqlite", executor="serial",
                         progress=progress, name="bar")
        assert len(rows) == 6
        outputs.append(term.getvalue())
    assert "bar:" in outputs[0] and "0/6" in outputs[0] and "cell/s" in outputs[0]
    assert "6/6" in outputs[1]  # resumed: the bar starts at the stored cells
    assert outputs[2] == ""
    # the bar is erased at the end and one summary line per sweep stays
    assert outputs[0].endswith("\n") and outputs[0].splitlines()[-1].startswith("sweep bar: 6/6 cells, ")
    assert "sweep bar: 6/6 cells, " in outputs[1] and outputs[1].endswith(" s (6 were stored)\n")


def test_progress_without_a_terminal_is_one_line_per_sweep(monkeypatch, tmp_path):
    err = io.StringIO()  # a pipe or a CI log: no bar, one line when the sweep ends
    monkeypatch.setattr(sys, "stderr", err)
    run_sweep(T.other, {"a": [1, 2, 3]}, 2, db=tmp_path / "p.sqlite", executor="serial", name="log1")
    run_sweep(T.other, {"a": [1, 2, 3, 4]}, 2, db=tmp_path / "p.sqlite", executor="serial", name="log1")
    lines = err.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("sweep log1: 6/6 cells, ") and lines[0].endswith(" s")
    assert lines[1].startswith("sweep log1: 8/8 cells, ") and lines[1].endswith(" s (6 were stored)")
    err.seek(0)
    err.truncate(0)
    with pytest.raises(CellError):
        run_sweep(T.failing, {"a": [1, 2]}, 2, executor="serial", name="log2")
    assert err.getvalue().startswith("sweep log2: stopped at 3/4 cells, ")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_progress_none_reports_only_on_a_terminal(monkeypatch, tmp_path, tty):
    """``progress=None`` (the default of RunContext) shows progress on a terminal and stays quiet in a pipe."""
    from proofs_checks import RunContext

    err = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    run_sweep(T.other, {"a": [1, 2]}, 2, executor="serial", progress=None, name="auto")
    assert ("sweep auto: 4/4 cells, " in err.getvalue()) == tty
    err.seek(0)
    err.truncate(0)
    assert RunContext().progress is None
    RunContext(executor="serial", seeds=2).sweep(T.other, {"a": [1, 2]}, "ctx")
    assert ("sweep ctx[quick]: 4/4 cells, " in err.getvalue()) == tty
    with pytest.raises(TypeError, match="^progress: "):
        run_sweep(T.other, {"a": [1]}, 1, executor="serial", progress="yes")
    with pytest.raises(TypeError, match="^progress: "):
        RunContext(progress="yes")


def test_a_reused_sweep_is_reported_once_per_scope(monkeypatch, tmp_path):
    """Inside ``report_each_once`` a stored sweep read again without computing anything prints no second line; one
    that computes new cells still does; outside the scope every call reports (a resumed run's line)."""
    from rltheory.experiments.sweep import report_each_once

    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    db = tmp_path / "once.sqlite"
    with report_each_once():
        for _ in range(3):
            run_sweep(T.other, {"a": [1, 2]}, 2, db=db, executor="serial", name="s")
        with report_each_once():  # nested: the same scope
            run_sweep(T.other, {"a": [1, 2]}, 2, db=db, executor="serial", name="s")
        run_sweep(T.other, {"a": [1, 2]}, 2, db=tmp_path / "other.sqlite", executor="serial", name="s")
        run_sweep(T.other, {"a": [1, 2, 3]}, 2, db=db, executor="serial", name="s")
        run_sweep(T.other, {"a": [1]}, 2, executor="serial", name="s")  # no db: computed again, reported
    lines = err.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == ["sweep s: 4/4 cells", "sweep s: 4/4 cells",
                                                      "sweep s: 6/6 cells", "sweep s: 2/2 cells"], lines
    assert lines[2].endswith(" s (4 were stored)")
    err.seek(0)
    err.truncate(0)
    run_sweep(T.other, {"a": [1, 2]}, 2, db=db, executor="serial", name="s")
    assert err.getvalue().startswith("sweep s: 4/4 cells, ") and err.getvalue().endswith("(4 were stored)\n")


def test_label_names_the_sweep_on_screen_but_not_in_the_store(monkeypatch, tmp_path):
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    db = tmp_path / "l.sqlite"
    run_sweep(T.other, {"a": [1, 2]}, 2, db=db, executor="serial", name="s", label="s (control)")
    assert err.getvalue().splitlines()[-1].startswith("sweep s (control): 4/4 cells, ")
    assert "\rs (control):" in err.getvalue()  # the bar too
    assert len(load_rows(db, "s")) == 4
    with pytest.raises(TypeError, match="^label: "):
        run_sweep(T.other, {"a": [1]}, 1, executor="serial", label=3)


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r"rltheory\[dask\]"):
        run_sweep(T.other, {"a": [1]}, 1, executor="tcp://127.0.0.1:1", progress=False)


# ------------------------------------------------------------------ store: resume, namespaces, round trip


def test_db_roundtrip_and_resume_skips_finished(tmp_path):
    db = tmp_path / "sub" / "s.sqlite"
    log = str(tmp_path / "calls.log")
    grid = {"a": [1, 2], "log": [log], "delay": [0.0]}
    first = run_sweep(T.slow_logged, grid, 3, db=db, executor="serial", progress=False, name="logged")
    again = run_sweep(T.slow_logged, grid, 3, db=db, executor="local", n_workers=2, progress=False,
                      name="logged")
    assert first == again
    with open(log) as fh:
        assert len(fh.readlines()) == 6  # the second run computed nothing
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert _count(db) == (6, 6)
    loaded = load_rows(db, "logged")
    assert [(r["params"], r["seed"], r["result"]) for r in loaded] == \
        [(r["params"], r["seed"], r["result"]) for r in first]


@settings(max_examples=25)
@given(sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3), n_seeds=st.integers(1, 3),
       data=st.data())
def test_partial_runs_then_full_run_compute_each_cell_once(sizes, n_seeds, data):
    """Any sequence of runs on sub-grids, then the full grid: each cell computed exactly once overall,
    rows in grid order and equal to an in-memory run."""
    grid = {f"k{i}": list(range(10 * i, 10 * i + n)) for i, n in enumerate(sizes)}
    seeds = list(range(n_seeds))
    with tempfile.TemporaryDirectory() as tmp:
        db, log = os.path.join(tmp, "p.sqlite"), os.path.join(tmp, "log")
        full = {**grid, "log": [log]}
        for _ in range(data.draw(st.integers(0, 3), label="partial runs")):
            sub = {k: data.draw(st.lists(st.sampled_from(v), min_size=1, unique=True), label=k)
                   for k, v in grid.items()}
            sub_seeds = data.draw(st.lists(st.sampled_from(seeds), min_size=1, unique=True), label="seeds")
            run_sweep(T.counted, {**sub, "log": [log]}, sub_seeds, db=db, executor="serial", progress=False,
                      name="p")
        rows = run_sweep(T.counted, full, seeds, db=db, executor="serial", progress=False, name="p")
        with open(log) as fh:
            calls = collections.Counter(fh.read().splitlines())
        memory = run_sweep(T.counted, {**grid, "log": [os.path.join(tmp, "log2")]}, seeds,
                           executor="serial", progress=False)
    n_cells = len(seeds) * math.prod(sizes)
    assert len(calls) == n_cells and set(calls.values()) == {1}
    assert [(r["params"], r["seed"]) for r in rows] == Sweep(T.counted, full, seeds).cells()
    assert [r["result"]["u"] for r in rows] == [r["result"]["u"] for r in memory]


def test_racing_runs_never_duplicate(tmp_path):
    db = tmp_path / "race.sqlite"
    log = str(tmp_path / "log")
    grid = {"a": list(range(6)), "log": [log], "delay": [0.005]}
    out = [None, None]

    def go(i):
        out[i] = run_sweep(T.slow_logged, grid, 4, db=db, executor="serial", progress=False, name="race")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out[0] == out[1] and len(out[0]) == 24
    assert _count(db) == (24, 24)


def test_namespaces_and_function_mismatch(tmp_path):
    db = tmp_path / "s.sqlite"
    a = run_sweep(T.failing, {"a": [0]}, 2, db=db, executor="serial", progress=False, name="x")
    with pytest.raises(ValueError, match="was run with function"):
        run_sweep(T.other, {"a": [0]}, 2, db=db, executor="serial", progress=False, name="x")
    b = run_sweep(T.other, {"a": [0]}, 2, db=db, executor="serial", progress=False, name="y")
    assert [r["result"] for r in load_rows(db, "x")] == [r["result"] for r in a] == [{"value": 0}, {"value": 1}]
    assert [r["result"] for r in load_rows(db, "y")] == [r["result"] for r in b] == [{"value": 0}] * 2
    # default names are the functions' qualified names, so two functions never share a namespace
    run_sweep(T.failing, {"a": [0]}, 1, db=db, executor="serial", progress=False)
    run_sweep(T.other, {"a": [0]}, 1, db=db, executor="serial", progress=False)
    assert load_rows(db, "_sweep_targets.other")[0]["result"] == {"value": 0}
    # a callable instance is identified by its class, stable across instances
    run_sweep(T.Scaled(), {"a": [1]}, 1, db=db, executor="serial", progress=False, name="z")
    assert run_sweep(T.Scaled(), {"a": [1]}, 1, db=db, executor="local", progress=False, name="z") == \
        [{"params": {"a": 1}, "seed": 0, "result": {"value": 2}}]
    with pytest.raises(ValueError, match="no sweep 'nope'"):
        load_rows(db, "nope")
    with pytest.raises(FileNotFoundError):
        load_rows(tmp_path / "absent.sqlite", "x")
    assert not (tmp_path / "absent.sqlite").exists()


def test_load_rows_returns_json_params_in_last_grid_order(tmp_path):
    db = tmp_path / "s.sqlite"
    run_sweep(T.other, {"a": [3, 1, 2]}, [5, 4], db=db, executor="serial", progress=False, name="o")
    run_sweep(T.other, {"a": [2, 1]}, [4], db=db, executor="serial", progress=False, name="o")
    got = [(r["params"]["a"], r["seed"]) for r in load_rows(db, "o")]
    rest = sorted({(3, 5), (3, 4), (1, 5), (2, 5)}, key=lambda c: (json.dumps({"a": c[0]}), c[1]))
    assert got == [(2, 4), (1, 4)] + rest
    rows = run_sweep(T.echo, {"x": [(0.1, 2.0)]}, 1, db=db, executor="serial", progress=False, name="t")
    assert rows[0]["params"] == {"x": (0.1, 2.0)}  # as given
    assert load_rows(db, "t")[0]["params"] == {"x": [0.1, 2.0]}  # JSON form


finite = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)


@given(st.lists(finite, min_size=1, max_size=8))
def test_floats_round_trip_bit_for_bit(xs):
    """Python floats, float64 arrays and NumPy scalars all come back with the same 64 bits."""
    back = loads(dumps(T.echo(xs, 0)))
    for key in ("list", "array", "scalars"):
        assert [_bits(v) for v in back[key]] == [_bits(v) for v in xs]
        assert all(type(v) is float for v in back[key])


def test_floats_round_trip_through_sqlite(tmp_path):
    xs = np.random.default_rng(7).standard_normal(50) * np.logspace(-300, 300, 50)
    xs = list(xs) + [5e-324, -0.0, 2.0**-1074 * 3, 1.7976931348623157e308, 1 / 3]
    rows = run_sweep(T.echo, {"x": [xs]}, 1, db=tmp_path / "f.sqlite", executor="serial", progress=False)
    for key in ("list", "array", "scalars"):
        assert [_bits(v) for v in rows[0]["result"][key]] == [_bits(float(v)) for v in xs]


def test_special_values_identical_with_and_without_db(tmp_path):
    mem = run_sweep(T.special, {}, 1, executor="serial", progress=False)
    disk = run_sweep(T.special, {}, 1, db=tmp_path / "n.sqlite", executor="serial", progress=False)
    for rows in (mem, disk):
        r = rows[0]["result"]
        assert math.isnan(r["nan"]) and r["inf"] == math.inf and r["ninf"] == -math.inf
        assert _bits(r["negzero"]) == _bits(-0.0) and r["tiny"] == 5e-324
        assert r["f32"] == float(np.float32(0.1)) and r["bool"] is True and r["tuple"] == [1, 2.5]
    assert repr(mem) == repr(disk)
    # an empty grid is one cell per seed
    assert Sweep(T.special, {}, 3).cells() == [({}, 0), ({}, 1), ({}, 2)]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_failing_cell_names_params_and_keeps_finished(tmp_path, executor):
    db = tmp_path / "f.sqlite"
    with pytest.raises(CellError, match=r"'a': 2.*seed=1.*boom") as info:
        run_sweep(T.failing, {"a": [1, 2, 3]}, 2, db=db, executor=executor, n_workers=2, progress=False, name="f")
    assert info.value.params == {"a": 2} and info.value.seed == 1
    stored = {(r["params"]["a"], r["seed"]) for r in load_rows(db, "f")}
    assert (2, 1) not in stored and {(1, 0), (1, 1), (2, 0)} <= stored
    assert _count(db) == (len(stored), len(stored))


def test_result_must_be_a_jsonable_dict():
    with pytest.raises(CellError, match="must return a dict"):
        run_sweep(T.not_a_dict, {"a": [1]}, 1, executor="serial", progress=False)
    with pytest.raises(CellError, match=r"result\['x'\].*complex"):
        run_sweep(_returns_complex, {}, 1, executor="serial", progress=False)


def _returns_complex(seed):
    return {"x": 1j}


def test_unpicklable_function_is_refused_for_the_pool():
    with pytest.raises(TypeError, match="fn: .*cannot be pickled"):
        run_sweep(lambda a, seed: {"a": a}, {"a": [1, 2]}, 2, executor="local", n_workers=2, progress=False)
    # in process a lambda is fine
    assert run_sweep(lambda a, seed: {"a": a}, {"a": [1]}, 1, executor="serial", progress=False)[0]["result"] == \
        {"a": 1}


@pytest.mark.parametrize("kw, exc, msg", [
    ({"grid": []}, TypeError, "grid"),
    ({"grid": {"a": []}}, ValueError, "grid"),
    ({"grid": {"a": 3}}, TypeError, "grid"),
    ({"grid": {1: [1]}}, TypeError, "grid"),
    ({"grid": {"a": [1, 2, 1]}}, ValueError, "grid: value 1 appears twice"),
    ({"grid": {"a": [object()]}}, TypeError, "grid"),
    ({"grid": {"seed": [1]}}, ValueError, "reserved"),
    ({"seeds": 0}, ValueError, "seeds"),
    ({"seeds": []}, ValueError, "seeds"),
    ({"seeds": [1, 1]}, ValueError, "seeds"),
    ({"seeds": [-1]}, ValueError, "seeds"),
    ({"seeds": ["x"]}, TypeError, "seeds"),
    ({"seeds": [1.5]}, ValueError, "seeds"),
    ({"seeds": "3"}, TypeError, "seeds"),
    ({"seeds": True}, TypeError, "seeds"),
    ({"executor": "gpu"}, ValueError, "executor"),
    ({"executor": 3}, TypeError, "executor"),
    ({"n_workers": 0}, ValueError, "n_workers"),
    ({"n_workers": True}, TypeError, "n_workers"),
    ({"name": ""}, TypeError, "name"),
])
def test_bad_arguments(kw, exc, msg):
    args = {"grid": {"a": [1]}, "seeds": 1, "executor": "serial", "n_workers": None, "name": None}
    args.update(kw)
    with pytest.raises(exc, match=msg):
        run_sweep(T.other, args["grid"], args["seeds"], executor=args["executor"], n_workers=args["n_workers"],
                  progress=False, name=args["name"])


# ------------------------------------------------------------------ SIGKILL mid-sweep


def _children(pid):
    """Child pids of ``pid`` (Linux /proc; empty elsewhere)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigkill_mid_sweep_resumes_without_loss_recomputation_or_duplicates(tmp_path):
    db = str(tmp_path / "k.sqlite")
    log = str(tmp_path / "calls.log")
    grid = {"a": [0, 1, 2, 3], "log": [log], "delay": [0.15]}
    n_cells = 4 * 6
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {HERE!r})
        import _sweep_targets as T
        from rltheory.experiments import run_sweep
        if __name__ == "__main__":
            run_sweep(T.slow_logged, {grid!r}, 6, db={db!r}, executor="local", n_workers=2, progress=False,
                      name="k")
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    n_before = 0
    deadline = time.time() + 60
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
            if os.path.exists(db):
                try:
                    n_before = _count(db)[0]
                except sqlite3.OperationalError:
                    continue
                if n_before >= 4:
                    break
        assert proc.poll() is None, "the sweep finished (or died) before it could be killed"
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        # the pool's workers notice their parent is gone and exit (no orphan keeps computing)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.02)
        assert not [w for w in workers if _alive(w)], "orphaned pool workers survived the parent"
    finally:
        try:  # the orphaned pool workers, so that nothing writes to the log behind our back
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if proc.poll() is None:
            proc.kill()
    time.sleep(0.05)
    con = sqlite3.connect(db)
    finished_before = {(json.loads(p)["a"], s) for p, s in con.execute("SELECT params, seed FROM cells")}
    con.close()
    assert 4 <= len(finished_before) < n_cells
    with open(log) as fh:
        calls_before = len(fh.readlines())

    rows = run_sweep(T.slow_logged, grid, 6, db=db, executor="local", n_workers=2, progress=False, name="k")
    assert len(rows) == n_cells
    assert _count(db) == (n_cells, n_cells)
    with open(log) as fh:
        calls = [tuple(map(int, ln.split(","))) for ln in fh.read().splitlines()]
    resumed = collections.Counter(calls[calls_before:])
    assert not finished_before & set(resumed), "a cell finished before the kill was recomputed"
    assert set(resumed) == {(a, s) for a in grid["a"] for s in range(6)} - finished_before
    assert set(resumed.values()) == {1}
    serial = run_sweep(T.slow_logged, {**grid, "log": [str(tmp_path / "serial.log")], "delay": [0.0]}, 6,
                       executor="serial", progress=False)
    assert [(r["params"]["a"], r["seed"], r["result"]) for r in rows] == \
        [(r["params"]["a"], r["seed"], r["result"]) for r in serial]


def _group_gone(pgid, timeout):
    """Wait until no process of process group ``pgid`` is left; True when none is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_stops_a_pool_sweep_at_once_and_keeps_finished_cells(tmp_path):
    """Ctrl-C on a terminal (SIGINT to the whole process group) while two pool workers are in 60-s cells: the
    sweep raises KeyboardInterrupt in the parent within seconds, its workers are killed (none prints a traceback
    of its own), and the cells finished before stay stored."""
    db = str(tmp_path / "i.sqlite")
    log = tmp_path / "calls.log"
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {HERE!r})
        import _sweep_targets as T
        from rltheory.experiments import run_sweep
        if __name__ == "__main__":
            try:
                run_sweep(T.slow_pid, {{"delay": [0.05, 60.0], "a": [0, 1], "log": [{str(log)!r}]}}, 2, db={db!r},
                          executor="local", n_workers=2, progress=False, name="i")
            except KeyboardInterrupt:
                sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            lines = log.read_text().splitlines() if log.exists() else []
            if len(lines) >= 6:  # the 4 short cells and two 60-s cells started
                break
            time.sleep(0.05)
        assert proc.poll() is None and len(lines) >= 6, "the sweep did not reach its long cells"
        time.sleep(0.3)
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        stopped = time.monotonic() - t0
        assert proc.returncode == 130, err
        assert _group_gone(proc.pid, 10 - stopped), "pool workers survived the interrupted sweep"
        assert "KeyboardInterrupt" not in err, err
    finally:
        kill_group(proc)
    rows = load_rows(db, "i")
    assert {(r["params"]["a"], r["params"]["delay"], r["seed"]) for r in rows} == \
        {(a, 0.05, s) for a in (0, 1) for s in (0, 1)}


def test_resuming_with_changed_code_discards_the_stale_cells(tmp_path, monkeypatch):
    import importlib
    mod = tmp_path / "edited_cell.py"
    mod.write_text("def cell(a, seed):\n    return {'v': a}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    m = importlib.import_module("edited_cell")
    db = tmp_path / "s.sqlite"
    first = run_sweep(m.cell, {"a": [1, 2]}, 2, db=db, executor="serial", progress=False, name="e")
    assert [r["result"]["v"] for r in first] == [1, 1, 2, 2]
    # the same code resumes silently, computing nothing
    assert run_sweep(m.cell, {"a": [1, 2]}, 2, db=db, executor="serial", progress=False, name="e") == first
    mod.write_text("def cell(a, seed):\n    return {'v': 10 * a}\n")   # an edit of the cell function
    m = importlib.reload(m)
    with pytest.warns(RuntimeWarning, match="4 stored cell"):
        again = run_sweep(m.cell, {"a": [1, 2]}, 2, db=db, executor="serial", progress=False, name="e")
    assert [r["result"]["v"] for r in again] == [10, 10, 20, 20]   # never the old code's results
    assert [r["result"]["v"] for r in load_rows(db, "e")] == [10, 10, 20, 20]


def test_concurrent_opens_of_a_new_store_all_succeed(tmp_path):
    """Opening a new sweep file from several threads at once: SQLite answers "database is locked" at once to all
    but one switch to WAL mode (no busy wait there); each open retries instead of failing (it failed in about 8%
    of such races before)."""
    from rltheory.experiments.store import SweepStore

    for trial in range(60):
        path = tmp_path / f"race{trial}.sqlite"
        errors = []

        def opener():
            try:
                SweepStore(path).con.close()
            except Exception as exc:  # pragma: no cover - the failure being tested for
                errors.append(exc)

        threads = [threading.Thread(target=opener) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors


# ------------------------------------------------------------------------ how a failed cell is reported


def test_system_exit_in_a_serial_cell_is_a_cell_error_and_ctrl_c_is_not():
    """``SystemExit`` from ``fn`` fails its cell (as on a pool, whose workers send it back); ``KeyboardInterrupt``
    raised in the calling process stops the sweep as the user's interrupt."""
    with pytest.raises(CellError, match="fn called sys.exit") as info:
        run_sweep(T.exits, {"a": [1]}, 1, executor="serial")
    assert isinstance(info.value.__cause__, SystemExit)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(T.interrupts, {"a": [1]}, 1, executor="serial")


def test_an_exception_that_cannot_be_unpickled_comes_back_as_text():
    """On the pool, an exception the parent cannot unpickle no longer breaks the pool (BrokenProcessPool): its
    type name, message and traceback come back as text."""
    from rltheory.experiments._executors import RemoteCellFailure

    with pytest.raises(CellError) as info:
        run_sweep(T.raises_two_arg, {"a": [1, 2]}, 1, executor="local", n_workers=2)
    cause = info.value.__cause__
    assert isinstance(cause, RemoteCellFailure), repr(cause)
    assert cause.type_name == "TwoArgError" and cause.message == "two-arg failure at a=1"
    assert "raise TwoArgError" in cause.traceback_text


def test_the_failed_cell_named_is_the_first_in_sweep_order():
    """Several cells fail; the one named is the first in the grid's order, not the first to finish."""
    with pytest.raises(CellError) as info:
        run_sweep(T.fails_later_cells_first, {"a": [0, 1]}, 1, executor="local", n_workers=2)
    assert info.value.params == {"a": 0} and "failed at a=0" in str(info.value.__cause__)


def test_a_dead_worker_names_its_cell_and_the_cause_says_it_died():
    """Every cell ends its worker: the error names the first in sweep order, and its ``__cause__`` (what the CLI
    prints) says that the worker running the cell died, with its exit status; no hint about a missing
    ``if __name__ == "__main__":`` guard (that case is told apart: a MissingMainGuardError)."""
    from concurrent.futures.process import BrokenProcessPool

    with pytest.raises(CellError) as info:
        run_sweep(T.dies, {"a": [1, 2]}, 1, executor="local", n_workers=2)
    cause = info.value.__cause__
    assert isinstance(cause, BrokenProcessPool) and "the worker process running this cell died (exit status 3)" \
        in str(cause)
    assert info.value.params == {"a": 1} and info.value.candidates == (({"a": 1}, 0),)
    assert "__main__" not in str(cause)


@pytest.mark.parametrize("how", ["os._exit(86)", "sys.exit(86)"])
def test_a_cell_exiting_with_the_guard_status_is_a_cell_error(how):
    """Exit status 86 is how a worker re-running an unguarded script stops; a cell that exits with it (or raises
    SystemExit(86)) is still a failed cell, not a MissingMainGuardError (the guard is only blamed for a worker
    that stopped before it finished starting)."""
    with pytest.raises(CellError) as info:
        run_sweep(T.ends_worker_at, {"a": [0, 1, 2, 3], "at": [1], "how": [how]}, 1, executor="local",
                  n_workers=2, progress=False)
    assert info.value.params == {"a": 1, "at": 1, "how": how}


@pytest.mark.parametrize("at", [0, 1, 2, 3])
def test_the_cell_that_ended_its_worker_is_named(at):
    """Every cell in flight fails with the broken pool; the error names the cell that was running on the worker
    that died, never another one."""
    with pytest.raises(CellError) as info:
        run_sweep(T.ends_worker_at, {"a": [0, 1, 2, 3, 4, 5], "at": [at], "how": ["os._exit(3)"]}, 1,
                  executor="local", n_workers=2, progress=False)
    assert info.value.params == {"a": at, "at": at, "how": "os._exit(3)"}, str(info.value)
    assert "exit status 3" in str(info.value.__cause__)


def test_a_worker_ended_by_the_pools_own_signal_names_the_running_cells():
    """A worker killed by SIGTERM, the signal with which the pool then stops the others: which cell ended it
    cannot be told, so no single cell is named; the cells running at the time are the candidates."""
    with pytest.raises(CellError) as info:
        run_sweep(T.ends_worker_at, {"a": [0, 1, 2, 3], "at": [1], "how": ["SIGTERM"]}, 1, executor="local",
                  n_workers=2, progress=False)
    err = info.value
    assert err.params is None and err.seed is None
    cell = ({"a": 1, "at": 1, "how": "SIGTERM"}, 0)
    assert cell in err.candidates and len(err.candidates) <= 2, err.candidates
    assert str(err).startswith("a worker process died while running one of these cells, which may have ended it: ")
    assert "params={'a': 1, 'at': 1, 'how': 'SIGTERM'} seed=0" in str(err)


def test_a_worker_that_cannot_start_blames_no_cell(tmp_path):
    """A script whose top-level code fails in the spawned workers (not the sweep itself: no MissingMainGuardError)
    stops them before they run any cell: a BrokenProcessPool that says so, not a CellError naming a cell."""
    script = tmp_path / "fails_in_workers.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
        if __name__ == "__mp_main__":  # top-level code that fails when a spawned worker imports the script
            sys.exit(5)
        from rltheory.experiments import run_sweep
        import _sweep_targets as T
        if __name__ == "__main__":
            try:
                run_sweep(T.worker_pid, {{"a": [1, 2, 3]}}, 1, executor="local", n_workers=2, progress=False)
            except BaseException as exc:
                print(type(exc).__name__, exc)
    """))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, text=True, capture_output=True,
                       timeout=300)
    assert p.stdout.startswith("BrokenProcessPool "), p.stdout + p.stderr
    assert "stopped while starting, before it ran any cell (exit status 5)" in p.stdout


def test_the_stand_in_exception_travels_and_stays_one_line():
    import pickle

    from rltheory.experiments._executors import RemoteCellFailure

    exc = RemoteCellFailure("TwoArgError", "msg", "Traceback (most recent call last):\n  ...\n")
    back = pickle.loads(pickle.dumps(exc))
    assert (back.type_name, back.message, back.traceback_text) == (exc.type_name, exc.message, exc.traceback_text)
    assert "\n" not in repr(back) and str(back).startswith("TwoArgError: msg")


@pytest.mark.parametrize("candidates", [None, (), (({"a": 1}, 2), ({"a": 3}, 4))])
def test_cell_error_survives_pickling(candidates):
    """A CellError travels (a sweep run inside a Dask task or in a pool of the caller's own): message, cell and
    candidates are kept, whichever form it took."""
    import pickle

    err = CellError({"a": 1}, 2, ValueError("boom"), 1, candidates=candidates)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is CellError and str(back) == str(err)
    assert (back.params, back.seed, back.candidates) == (err.params, err.seed, err.candidates)


@pytest.mark.parametrize("fn, executor", [(T.failing, "serial"), (T.dies, "local")], ids=["raises", "worker-dies"])
def test_cell_error_from_a_real_sweep_survives_pickling(fn, executor):
    import pickle

    with pytest.raises(CellError) as info:
        run_sweep(fn, {"a": [1, 2]}, 2, executor=executor, n_workers=2, progress=False)
    back = pickle.loads(pickle.dumps(info.value))
    assert str(back) == str(info.value)
    assert (back.params, back.seed, back.candidates) == (info.value.params, info.value.seed, info.value.candidates)
