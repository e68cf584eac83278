"""Smoke run of the benchmark suite at tiny sizes, so that it cannot rot.

Checks the structure of the JSON it writes and that every tool rltheory is compared with computes the
same answer (within the accuracy of the case). Timings are never asserted.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import construction
from benchmarks import run as bench
from benchmarks.instances import garnet_local, riverswim_local
from benchmarks.ucbvi_numpy import ucbvi_numpy

ROW_KEYS = {"section", "case", "op", "tool", "variant", "seconds", "per_second", "gbps", "iterations",
            "max_abs_diff_V", "rltheory", "reference", "note", "x_best_competitor", "inaccurate"}


@pytest.fixture(scope="module")
def tiny_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    result = bench.main(["--tiny", "--out", str(out), "--generator", "local"])
    return result, out / "bench-tiny.json"


def test_json_structure(tiny_result):
    result, path = tiny_result
    data = json.loads(path.read_text())
    assert set(data) == {"meta", "rows", "targets", "notes", "memory", "method_choice", "e2e", "construction",
                         "slow_mixing"}
    assert data["meta"]["profile"] == "tiny"
    assert {"numpy", "scipy", "numba"} <= set(data["meta"]["versions"])
    assert {r["section"] for r in data["rows"]} == set(bench.SECTIONS) - {"memory", "construction"}
    # construction: one row per case of the profile, with the reduction it is measured against
    assert [r["case"] for r in data["construction"]] == [
        f"{k} S={S} A={A}" + (f" k={n}" if n else "") for k, S, A, n in construction.PROFILES["tiny"]]
    assert all(r["seconds"]["reduction"] > 0 for r in data["construction"])
    # memory: one fresh-process probe per configured case, peak measured after the model was built
    assert len(data["memory"]) == len(bench.PROFILES["tiny"]["memory"])
    for m in data["memory"]:
        assert m["peak_reset"] in (True, False) and m["model_bytes"] > 0
        assert m["peak"] >= m["rss_before"] > 0 and m["total_over_model"] > 0
        assert m["error_bound"] <= 1e-8
    # convergence: every rltheory method certified its answer to EPS_CERT; the choice summary is complete
    conv = [r for r in data["rows"] if r["section"] == "convergence" and r["rltheory"]]
    assert conv and all(r["certified"] and r["error_bound"] <= bench.EPS_CERT for r in conv)
    assert {c["case"] for c in data["method_choice"]} == {r["case"] for r in conv}
    # slow_mixing: one entry per instance and discount; auto certifies each (its fallback included), certified
    # answers agree within their bounds, and the fallback is on at both discounts, VI's worst case beyond max_iter
    # only at the second
    slow = data["slow_mixing"]
    assert [(e["kind"], e["storage"], e["S"], e["gamma"]) for e in slow] == [
        (*c, g) for c in bench.PROFILES["tiny"]["slow"] for g in bench.SLOW_GAMMAS]
    for e in slow:
        assert e["methods"]["auto"]["certified"] and e["certified_agree"] and e["exercises"], e
        assert e["fallback"] and e["beyond_max_iter"] == (e["gamma"] == bench.SLOW_GAMMAS[1]), e
        assert set(e["methods"]) | set(e["skipped"]) == {"vi", "mpi", "pi", "auto"}
        assert e["fastest"] is None or e["methods"][e["fastest"]]["certified"]
    # e2e: construct + solve, rltheory against QuantEcon, once per BLAS thread setting, certified
    e2e = [r for r in data["rows"] if r["section"] == "e2e" and r["rltheory"]]
    assert e2e and all(r["certified"] for r in e2e)
    assert len(data["e2e"]) == len(e2e) and {e["blas_threads"] for e in data["e2e"]} >= {1}
    for r in data["rows"]:
        assert ROW_KEYS <= set(r), r
        assert r["seconds"] > 0 and np.isfinite(r["seconds"])
    # every timed operation (except the learning loop) has an rltheory row and a competitor row
    # (slow_mixing times rltheory's own methods against each other, without a competitor)
    ops = {(r["section"], r["case"], r["op"]) for r in data["rows"] if r["section"] not in ("ucbvi", "slow_mixing")}
    for key in ops:
        group = [r for r in data["rows"] if (r["section"], r["case"], r["op"]) == key]
        assert any(r["rltheory"] for r in group), key
        assert any(not r["rltheory"] and not r["reference"] for r in group), key
    for t in data["targets"]:
        assert set(t) == {"target", "measured", "required", "met", "detail"}
        assert t["met"] == (t["measured"] >= t["required"])
    # optional competitors are either timed or explained
    for tool, info in data["meta"]["competitors"].items():
        timed = any(r["tool"] == tool for r in data["rows"])
        assert timed == info["available"] or any(tool in n for n in data["notes"])


def test_tools_agree_with_rltheory(tiny_result):
    result, _ = tiny_result
    for r in result["rows"]:
        if r["max_abs_diff_V"] is None:
            continue
        if r["rltheory"] or r["tool"] in ("numpy", "scipy", "quantecon"):
            # exact ops agree to rounding, tolerance-stopped ones to their certified accuracy
            assert not r["inaccurate"], r
    # pymdptoolbox may stop VI/MPI early (its rule targets an epsilon-optimal policy), but its exact
    # operations must agree
    for r in result["rows"]:
        if r["tool"] == "pymdptoolbox" and r["op"] in ("sweep", "pi", "bi"):
            assert not r["inaccurate"], r


def test_garnet_local_is_valid_and_seeded():
    a = garnet_local(40, 3, (2, 5), seed=7, sparse=True)
    b = garnet_local(40, 3, (2, 5), seed=7, sparse=True)
    assert np.array_equal(a.P_csr.toarray(), b.P_csr.toarray()) and np.array_equal(a.R, b.R)
    counts = np.diff(a.P_csr.indptr)
    assert counts.min() >= 2 and counts.max() <= 5
    assert np.allclose(a.P_csr.sum(axis=1), 1.0)
    full = garnet_local(10, 2, 10, seed=1)
    assert (full.P > 0).all()


def test_ucbvi_numpy_seeded_and_bounded():
    mdp = riverswim_local(5, horizon=6)
    r1 = ucbvi_numpy(mdp.P, mdp.R, 6, 30, seed=3)
    r2 = ucbvi_numpy(mdp.P, mdp.R, 6, 30, seed=3)
    assert np.array_equal(r1, r2)
    assert r1.shape == (30,) and (r1 >= 0).all() and (r1 <= 6 * mdp.R.max()).all()


def test_sparse_chain_matches_mdps_riverswim():
    import mdps

    ref = mdps.riverswim(1200, gamma=0.99)
    m, _ = bench._sparse_chain(1200, 0.99)
    assert m.is_sparse
    assert np.array_equal(m.P_csr.toarray().reshape(1200, 2, 1200), np.asarray(ref.P))
    assert np.array_equal(np.asarray(m.R), np.asarray(ref.R))


def test_readme_table_is_generated_from_the_json(tiny_result):
    from benchmarks.readme_table import table

    result, _ = tiny_result
    text = table(result)
    e2e = result["e2e"]
    assert text.startswith("| case |") and "construct + solve" in text
    # every e2e ratio of the run appears in the table, as printed
    for e in e2e:
        assert f"{e['ratio']:.2f}x" in text
    # and so does every construction ratio (time / one NumPy reduction), dense and sparse
    assert result["construction"]
    for c in result["construction"]:
        assert f"{c['x_reduction']:.2f}" in text and f"{c['x_reduction_1thread']:.2f}" in text
        if c["kind"] == "sparse":  # and the context ratio to scipy's row sums
            assert c["x_row_sums"] == c["seconds"]["rltheory"] / c["seconds"]["row_sums"]
            assert f"{c['x_row_sums']:.2f}" in text
    # the slow-mixing instances with a certified fastest method are summarised in one row, its worst ratio as printed
    slow = [e for e in result["slow_mixing"] if e["auto_vs_fastest"] is not None]
    assert slow and f"{max(e['auto_vs_fastest'] for e in slow):.2f}x" in text and "slowly mixing" in text


def test_readme_table_is_the_committed_full_run():
    """The README's performance table is exactly what ``benchmarks.readme_table`` prints from the committed
    ``benchmarks/results/bench-full.json`` (regenerate both together; no number is typed in by hand)."""
    import json
    from pathlib import Path

    from benchmarks.readme_table import table

    root = Path(__file__).resolve().parents[1]
    data = json.loads((root / "benchmarks" / "results" / "bench-full.json").read_text())
    assert table(data).strip() in (root / "README.md").read_text()


def test_slow_mixing_leaves_out_a_method_that_raises(tmp_path, monkeypatch):
    """A method that cannot run on an instance (sparse PI raises when GMRES stalls above the size of an exact LU,
    as on the full profile's 1e4-state chains) is recorded as left out with its reason; the section, and the run
    that writes the JSON after it, go on (it ended the whole run before)."""
    import json as _json

    real = bench.solve

    def no_pi(mdp, *, method="auto", **kw):
        if method == "pi":
            raise ValueError("method: sparse policy iteration could not evaluate a policy. Use 'vi'")
        return real(mdp, method=method, **kw)

    monkeypatch.setattr(bench, "solve", no_pi)
    bench.main(["--tiny", "--sections", "slow_mixing", "--out", str(tmp_path)])
    slow = _json.loads((tmp_path / "bench-tiny.json").read_text())["slow_mixing"]
    assert slow and all("pi" in e["skipped"] and "raised ValueError" in e["skipped"]["pi"] for e in slow)
    assert all(e["methods"]["auto"]["certified"] for e in slow)
