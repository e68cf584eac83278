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
