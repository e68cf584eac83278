"""Smoke run of benchmarks/construction.py at tiny sizes, so that it cannot rot (timings are never asserted)."""
import json

from benchmarks import construction


def test_construction_benchmark_tiny(tmp_path):
    rows = construction.main(["--tiny", "--out", str(tmp_path)])
    data = json.loads((tmp_path / "construction-tiny.json").read_text())
    assert data["profile"] == "tiny" and len(data["rows"]) == len(construction.PROFILES["tiny"]) == len(rows)
    for r in data["rows"]:
        assert {"rltheory", "reduction"} <= set(r["seconds"]) and r["P_bytes"] > 0
        assert r["x_reduction"] == r["seconds"]["rltheory"] / r["seconds"]["reduction"]
        # tiny kernels are below the threaded check's size: the reported path is the serial one
        assert r["threads"] == 1 and r["threads_seen"] == {}


def test_thread_counter_counts_only_the_default_threads_candidate(monkeypatch):
    """The counter records the thread count the check picks in the default-threads candidate and skips the calls
    of the candidate held to one thread (which the check would run serially anyway)."""
    import collections

    from rltheory.models import _validate

    monkeypatch.setattr(_validate, "csr_check_threads", lambda nnz: 2)
    seen = collections.Counter()
    with construction._observed_check_threads(seen, _validate.CSR_PARALLEL_MIN_NNZ):
        _validate.csr_check_threads(1)
        construction._on_one_thread(lambda: _validate.csr_check_threads(1))()
        _validate.csr_check_threads(1)
    assert seen == {2: 2}
    assert _validate.csr_check_threads(1) == 2  # the counter is removed on exit (the monkeypatched picker is back)
