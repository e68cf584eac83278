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
        assert r["x_fixed"] == r["seconds"]["fixed"] / r["seconds"]["reduction"]
        if r["kind"] == "sparse":
            assert r["x_row_sum_pass"] == r["seconds"]["row_sum_pass"] / r["seconds"]["reduction"]
        else:
            assert r["x_row_sum_pass"] is None


def test_row_sum_pass_counts_rows_off_one():
    """The floor kernel adds each row left to right and counts the rows off 1 by more than atol (empty rows
    included), so that it does the same work as the check's row sums and cannot be a no-op."""
    import numpy as np

    indptr = np.array([0, 2, 2, 5, 6], dtype=np.int32)
    data = np.array([0.25, 0.75, 0.5, 0.5, 1e-3, 1.0])
    assert construction._row_sum_pass(indptr, data, 1e-9) == 2  # the empty row and the one summing to 1.001
    assert construction._row_sum_pass(indptr, data, 1e-2) == 1


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


def test_smallest_models_are_valid_and_tiny():
    """The per-call reference builds a two-state model of each kind: valid input, so the timed call is a full,
    successful construction (not an early error)."""
    from rltheory.models import TabularMDP

    for kind in ("dense", "sparse"):
        P, R = construction._smallest(kind)
        m = TabularMDP(P, R, gamma=0.5)
        assert (m.S, m.A, m.is_sparse) == (2, 1, kind == "sparse")
