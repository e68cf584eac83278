"""UCBVI, the tabular_regret check and the CLI end to end."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mdps
from proofs_checks import RunContext, get
from proofs_checks.framework import _serial_runner
from rltheory.algorithms.tabular import ucbvi
from rltheory.algorithms.tabular._kernels import ucbvi_plan
from rltheory.solvers import evaluate, solve


def test_ucbvi_reproducible_and_regret_well_formed():
    m = mdps.riverswim(5, horizon=10)
    a = ucbvi(m, 3000, seed=3, bonus="bernstein")
    b = ucbvi(m, 3000, seed=3, bonus="bernstein")
    c = ucbvi(m, 3000, seed=4, bonus="bernstein")
    assert np.array_equal(a.regret, b.regret) and np.array_equal(a.returns, b.returns)
    assert not np.array_equal(a.returns, c.returns)
    assert a.regret.min() >= 0 and np.all(np.diff(a.cumulative_regret) >= 0)
    assert a.v_star == pytest.approx(float(m.mu0 @ solve(m).V[0]))


@pytest.mark.parametrize("bonus", ["hoeffding", "bernstein"])
def test_ucbvi_learns_an_easy_mdp(bonus):
    m = mdps.random_mdp(4, 2, horizon=5, seed=1)
    r = ucbvi(m, 6000, seed=0, bonus=bonus, bonus_scale=0.02 if bonus == "hoeffding" else 1.0)
    assert r.regret[-500:].mean() < 0.02 * r.v_star
    assert r.regret[:200].mean() > r.regret[-500:].mean()


def test_no_bonus_gets_stuck_on_riverswim():
    m = mdps.riverswim(6, horizon=20)
    r = ucbvi(m, 2000, seed=0, bonus="none")
    assert r.regret[-1000:].min() > 0.5 * r.v_star  # never learns to swim right


def test_planning_step_matches_numpy_reference():
    rng = np.random.default_rng(0)
    S, A, H = 4, 3, 5
    R3 = rng.random((1, S, A))
    Nsas = rng.integers(0, 4, size=(1, S, A, S)).astype(float)
    Nsas[0, 0, 0] = 0
    Nsa = Nsas.sum(-1)
    Vmax = np.array([(H - h) * R3.max() for h in range(H + 1)])
    L = 2.0
    Q, V, pi = np.empty((H, S, A)), np.empty((H + 1, S)), np.empty((H, S), np.int64)
    ucbvi_plan(R3, Nsa, Nsas, Vmax, H, S, A, 1, 0.1, L, Q, V, pi)
    Vr = np.zeros((H + 1, S))
    for h in reversed(range(H)):
        with np.errstate(invalid="ignore", divide="ignore"):
            Ph = Nsas[0] / Nsa[0][..., None]
            q = R3[0] + np.nan_to_num(Ph) @ Vr[h + 1] + 0.1 * 7 * Vmax[0] * L / np.sqrt(Nsa[0])
        q = np.where(Nsa[0] == 0, Vmax[h], np.minimum(q, Vmax[h]))
        assert np.allclose(Q[h], q)
        Vr[h] = q.max(1)
    assert np.allclose(V, Vr)


def test_ucbvi_rejects_bad_input():
    m = mdps.riverswim(4, horizon=5)
    for kw, text in [({"K": 0}, "K"), ({"bonus": "ucb"}, "bonus"), ({"bonus_scale": -1.0}, "bonus_scale"),
                     ({"delta": 1.5}, "delta"), ({"seed": -1}, "seed")]:
        args = {"K": 10, "seed": 0, **kw}
        with pytest.raises(ValueError, match=text):
            ucbvi(m, **args)
    with pytest.raises(ValueError, match="finite-horizon"):
        ucbvi(mdps.riverswim(4, gamma=0.9), 10, seed=0)


def test_tabular_regret_check_quick_passes_and_controls_fail():
    rep = get("tabular_regret").run(RunContext(quick=True, seeds=6, runner=_serial_runner))
    assert [r.status for r in rep.results] == ["pass"] * 5
    up, tight, cons, lock, exact = rep.results
    assert up.result.stats["sublinear"] and up.result.stats["beats_uniform"] and up.result.stats["bound"]["holding"] == 30
    assert up.control_result.stats["mean_local_slope"] > 0.9 and not up.control_result.stats["beats_uniform"]
    slope, margin = tight.result.stats["parts"]
    assert slope["ci"][1] <= 0.6 and margin["holding"] == margin["total"]
    cslope, cmargin = tight.control_result.stats["parts"]
    assert cslope["slope"] == pytest.approx(0.5) and cmargin["holding"] == 0  # uniform: rate right, no learning
    assert cons.result.stats["holding"] == 12 and cons.control_result.stats["holding"] < 12
    # no_lock runs its grid of K: no reference run locked at any K, the control rejected at every K
    assert lock.measurement.x.tolist() == [32000.0, 64000.0]
    assert lock.result.stats["holding"] == 2 * 16 * 6
    assert lock.measurement.meta["locked runs per K (share > bound)"] == [0, 0]
    assert all(n > 0 for n in lock.control.meta["locked runs per K (share > bound)"])
    assert exact.result.stats["holding"] == 6 and exact.control_result.stats["holding"] == 0
    for r in rep.results:
        assert r.measurement.invariant_violations == []


def test_late_share_tells_a_locked_run_from_a_learning_one():
    from proofs_checks.tabular_regret.claims import NO_BONUS_SPEC, REFERENCE, late_share

    cap_next_step = "proofs_checks.tabular_regret.mutants:cap_next_step"

    assert late_share("chain", 2000, REFERENCE, 0)["late_share"] < 0.01
    assert late_share("chain", 2000, NO_BONUS_SPEC, 0)["late_share"] == 1.0  # greedy never leaves the start
    assert late_share("chain", 2000, cap_next_step, 0)["late_share"] == 1.0  # last step's reward forfeited
    ref = late_share("minimax", 4000, REFERENCE, 1)
    assert 0.0 < ref["late_share"] < 0.99 and ref["raw_min"] >= -1e-9


def _run_cli(args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "rltheory.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_upper_rule_marks_the_failing_parts():
    """A FAIL message says which limit is broken, not only the limit next to the value."""
    from proofs_checks import Measurement
    from proofs_checks.tabular_regret.claims import UpperWithTeeth

    x = np.array([1000.0, 2000.0])
    linear = np.outer(x, [1.0, 1.1, 0.9]) / 10
    m = Measurement("K", x, linear, "regret", bound_values=x * 10, meta={"baseline": x / 10})
    r = UpperWithTeeth().evaluate(m)
    assert not r.passed
    assert r.message.count("> 0.5: FAILED") == 2 and "(<= 0.5)" not in r.message
    slow = np.outer(x ** 0.3, [1.0, 1.1, 0.9])
    ok = UpperWithTeeth().evaluate(Measurement("K", x, slow, "regret", bound_values=x * 10,
                                               meta={"baseline": x}))
    assert ok.passed and ok.message.count("(<= 0.5)") == 2 and "FAILED" not in ok.message


@pytest.mark.slow
def test_cli_end_to_end(tmp_path):
    out = tmp_path / "out"
    p = _run_cli(["check", "--all", "--quick", "--out", str(out), "--seeds", "4", "--no-progress"], tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "tabular_regret" in p.stdout and "PASS" in p.stdout
    from proofs_checks import registry

    assert json.loads((out / "index.json").read_text())["checks"] == {name: True for name in registry()}
    assert (out / "summary.md").exists() and (out / "tabular_regret__sqrtK_upper.png").exists()
    rep = json.loads((out / "tabular_regret.json").read_text())
    assert rep["claims"][0]["control_result"]["passed"] is False
    # a rerun resumes from the sweep store (same numbers)
    p2 = _run_cli(["check", "tabular_regret", "--quick", "--out", str(out), "--seeds", "4", "--no-progress"], tmp_path)
    assert p2.returncode == 0
    assert json.loads((out / "tabular_regret.json").read_text())["claims"][0]["result"] == rep["claims"][0]["result"]


@pytest.mark.parametrize("args, code, text", [
    (["check", "nope"], 2, "unknown check"),
    (["check"], 2, "--all"),
    (["check", "--all", "proof_steps"], 2, "not both"),
    (["check", "--all", "--seeds", "0"], 2, "positive integer"),
    (["check", "--all", "--scheduler", "udp://x"], 2, "Dask address"),
    (["frobnicate"], 2, "invalid choice"),
])
def test_cli_errors(tmp_path, args, code, text):
    p = _run_cli(args, tmp_path)
    assert p.returncode == code
    assert text in p.stderr + p.stdout


def test_cli_list_bounds_solve(tmp_path):
    p = _run_cli(["list"], tmp_path)
    assert p.returncode == 0 and "sqrtK_upper" in p.stdout and "negative control" in p.stdout
    p = _run_cli(["bounds"], tmp_path)
    assert p.returncode == 0 and "K^1/2" in p.stdout
    assert "^oo" not in p.stdout                                         # sympy's infinity is not for users
    assert "exponential in k" in p.stdout                                # GORP's T A^k m: exponential in k
    p = _run_cli(["solve"], tmp_path)
    assert p.returncode == 0 and "riverswim" in p.stdout
