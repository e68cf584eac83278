"""The gate of the thread-parallel kernels counts other processes' load, not this process's own threads."""
from __future__ import annotations

import os

import pytest

from rltheory import _threads


@pytest.fixture
def clock(monkeypatch):
    """A fake machine: wall clock, machine busy seconds and this process's CPU seconds, all set by the test."""
    state = {"t": 100.0, "busy": 0.0, "own": 0.0}
    monkeypatch.setattr(_threads.time, "monotonic", lambda: state["t"])
    monkeypatch.setattr(_threads, "_machine_busy_seconds", lambda: state["busy"])
    monkeypatch.setattr(_threads.os, "times", lambda: os.times_result((state["own"], 0.0, 0.0, 0.0, 0.0)))
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    monkeypatch.setattr(_threads, "_last", {"t": None, "busy": 0.0, "own": 0.0, "free": True})
    return state


def _advance(state, dt, others_cores, own_cores):
    state["t"] += dt
    state["own"] += own_cores * dt
    state["busy"] += (others_cores + own_cores) * dt


def test_own_threads_do_not_close_the_gate(clock):
    assert _threads.core_free()  # first call: the load average (0.2) decides
    _advance(clock, 1.0, others_cores=0.0, own_cores=2.0)  # this process kept both cores busy itself
    assert _threads.core_free()


def test_another_busy_process_closes_it_and_its_end_reopens_it(clock):
    _threads.core_free()
    _advance(clock, 1.0, others_cores=1.0, own_cores=1.0)
    assert not _threads.core_free()
    _advance(clock, 0.05, others_cores=0.0, own_cores=1.0)  # too soon to sample again: the decision stands
    assert not _threads.core_free()
    _advance(clock, 1.0, others_cores=0.2, own_cores=1.0)
    assert _threads.core_free()


def test_a_stale_sample_falls_back_to_the_load_average(clock, monkeypatch):
    _threads.core_free()
    _advance(clock, 60.0, others_cores=0.0, own_cores=0.0)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    assert not _threads.core_free()
