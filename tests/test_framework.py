"""Bounds (sympy) and the proof-check framework: rules pass on good data and fail on bad, statuses, reports."""
import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from proofs_checks import BoundHolds, Check, Claim, Measurement, RatioNonIncreasing, RunContext, SlopeCI, get, registry
from proofs_checks.framework import _serial_runner, format_table, rows_to_matrix
from proofs_checks.tabular_regret.bounds import TABULAR_REGRET_UCBVI
from rltheory.bounds import Bound, get as get_bound, leading_exponents, register, sym

d, eps, delta, K, H, S, A = (sym(n) for n in ("d", "eps", "delta", "K", "H", "S", "A"))


@pytest.mark.parametrize("expr, expected, logs", [
    (d ** 2 / eps ** 2 * sp.log(1 / delta), {d: 2, eps: -2}, 1),
    (sp.sqrt(H ** 3 * S * A * K) * sp.log(S * A * K / delta), {H: sp.Rational(3, 2), K: sp.Rational(1, 2)}, 1),
    (H ** 2 * S + sp.sqrt(K) * H, {H: 2, K: sp.Rational(1, 2), S: 1}, 0),
    ((1 + K) ** 2 * d, {K: 2, d: 1}, 0),
])
def test_leading_exponents(expr, expected, logs):
    exps, lg = leading_exponents(expr)
    for v, e in expected.items():
        assert exps[v] == e
    assert len(lg) == logs


def test_bound_evaluate_grid_latex_and_altered_copy():
    b = TABULAR_REGRET_UCBVI
    v = b.evaluate(S=5, A=2, H=10, K=np.array([100.0, 400.0]), delta=0.1)
    L = np.log(5 * 5 * 2 * 10 * np.array([100, 400]) / 0.1)
    assert np.allclose(v, 10 ** 1.5 * np.sqrt(5 * 2 * np.array([100, 400])) * L)
    assert b.grid(K=[1, 2, 3], S=[2, 4], A=2, H=3, delta=0.1).shape == (3, 2)
    assert "sqrt" in b.latex()
    assert b.with_exponent("K", 1).exponent("K") == 1.0
    json.dumps(b.to_dict())
    with pytest.raises(ValueError, match="missing"):
        b.evaluate(S=1)
    with pytest.raises(KeyError, match="unknown bound"):
        get_bound("nope")
    named = register(Bound("test_framework_registered", K), replace=True)
    assert get_bound("test_framework_registered") is named
    with pytest.raises(ValueError, match="already registered"):
        register(Bound("test_framework_registered", K ** 2))


def _meas(x, y, bound=None):
    return Measurement("x", np.asarray(x, float), np.asarray(y, float), "y", bound_values=bound)


@given(st.floats(-1.5, 2.0), st.integers(0, 2**32 - 1))
def test_slope_rule_recovers_known_slopes(slope, seed):
    rng = np.random.default_rng(seed)
    x = np.geomspace(10, 1e4, 6)
    y = 3 * x[:, None] ** slope * np.exp(rng.normal(0, 0.05, size=(6, 10)))
    m = _meas(x, y)
    assert SlopeCI(slope, tol=0.02).evaluate(m).passed
    assert not SlopeCI(slope + 0.3).evaluate(m).passed
    assert SlopeCI(slope + 0.3, mode="below").evaluate(m).passed
    assert not SlopeCI(slope - 0.3, mode="below").evaluate(m).passed
    assert SlopeCI(slope - 0.3, mode="above").evaluate(m).passed


def test_bound_holds_every_seed_and_with_probability():
    x = np.arange(1, 6)
    y = np.tile(x[:, None] * 1.0, (1, 20))
    assert BoundHolds().evaluate(_meas(x, y, x * 1.01)).passed
    y2 = y.copy()
    y2[2, 3] = 100
    assert not BoundHolds().evaluate(_meas(x, y2, x * 1.01)).passed
    # 1 violation in 100: consistent with "holds w.p. >= 0.95", not with ">= 0.999"
    assert BoundHolds(prob=0.95).evaluate(_meas(x, y2, x * 1.01)).passed
    y3 = y.copy()
    y3[:, :10] = 100  # half violate
    assert not BoundHolds(prob=0.95).evaluate(_meas(x, y3, x * 1.01)).passed
    assert BoundHolds(kind="lower").evaluate(_meas(x, y, x * 0.5)).passed


def test_mean_bound_and_all_of():
    from proofs_checks.framework import AllOf, MeanBound

    rng = np.random.default_rng(0)
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = np.sqrt(x)[:, None] * (1 + 0.05 * rng.standard_normal((4, 16)))
    assert MeanBound(kind="upper").evaluate(_meas(x, y, 1.2 * np.sqrt(x))).passed
    assert not MeanBound(kind="upper").evaluate(_meas(x, y, 0.9 * np.sqrt(x))).passed
    # the mean is above the bound but within the noise: not confirmed
    assert not MeanBound(kind="upper").evaluate(_meas(x, y, 1.001 * np.sqrt(x))).passed
    assert MeanBound(kind="lower").evaluate(_meas(x, y, 0.8 * np.sqrt(x))).passed
    assert not MeanBound(kind="lower").evaluate(_meas(x, y, 1.1 * np.sqrt(x))).passed
    both = AllOf((SlopeCI(0.5, mode="below", tol=0.1), MeanBound(kind="upper")))
    assert both.evaluate(_meas(x, y, 1.2 * np.sqrt(x))).passed
    assert not both.evaluate(_meas(x, y, 0.9 * np.sqrt(x))).passed  # bound part fails
    assert not both.evaluate(_meas(x, y * x[:, None], 100 * x ** 2)).passed  # slope part fails (1.5)
    with pytest.raises(ValueError, match="rules"):
        AllOf(())
    with pytest.raises(ValueError, match="bound_values"):
        MeanBound().evaluate(Measurement("x", x, y, "q"))


def test_ratio_non_increasing():
    x = np.geomspace(1, 100, 5)
    assert RatioNonIncreasing().evaluate(_meas(x, np.sqrt(x)[:, None], x)).passed
    assert not RatioNonIncreasing().evaluate(_meas(x, (x ** 2)[:, None], x)).passed


def _toy_check(control_slope):
    x = np.geomspace(10, 1000, 5)
    rng = np.random.default_rng(0)

    def good(ctx):
        return _meas(x, x[:, None] ** 0.5 * np.exp(rng.normal(0, 0.02, (5, ctx.seeds))))

    def control(ctx):
        return _meas(x, x[:, None] ** control_slope * np.exp(rng.normal(0, 0.02, (5, ctx.seeds))))

    claim = Claim("toy", "y ~ sqrt(x)", "test", SlopeCI(0.5, tol=0.05), good, control,
                  control_description="linear growth")
    return Check("toy", "toy check", "test", [claim])


def test_statuses_reports_and_figures(tmp_path):
    ok = _toy_check(1.0).run(RunContext(seeds=6, runner=_serial_runner))
    assert ok.passed and ok.results[0].status == "pass"
    broken = _toy_check(0.5).run(RunContext(seeds=6, runner=_serial_runner))
    assert not broken.passed and broken.results[0].status == "broken"
    paths = ok.save(str(tmp_path))
    data = json.loads(open(paths["json"]).read())
    assert data["passed"] and data["claims"][0]["status"] == "pass"
    assert all(open(p, "rb").read(4) == b"\x89PNG" for p in paths["figures"])
    assert "| toy |" in open(paths["markdown"]).read()
    assert "BROKEN" in format_table([broken])


def test_terminal_table_fits_100_columns_and_keeps_every_number():
    """Long rule messages are wrapped, not cut: every word of every message is in the table, no line is wider than
    the width asked for, and summary.md's Markdown table still has the messages on one row each."""
    import dataclasses
    import re

    from proofs_checks.framework import markdown_table

    ok = _toy_check(1.0).run(RunContext(seeds=6, runner=_serial_runner))
    r = ok.results[0]
    long_msg = ("lowest holding fraction 0.375; lowest upper limit 0.612 (vs 0.5) at instance=11; " * 3).strip()
    long_ctl = "rho 0.123 (lower -0.456) vs comparator 0.789; rho - rho_comparator lower limit -1.234e-05"
    r2 = dataclasses.replace(r, claim=dataclasses.replace(r.claim, name="a_claim_name_of_twenty_nine_c"),
                             result=dataclasses.replace(r.result, message=long_msg),
                             control_result=dataclasses.replace(r.control_result, message=long_ctl))
    rep = dataclasses.replace(ok, check=dataclasses.replace(ok.check, name="rfe_linear_mixture"), results=[r, r2])
    for width in (100, 80, 60):
        table = format_table([rep], width=width)
        assert max(len(line) for line in table.splitlines()) <= width, table
        assert "~" not in table
        words = re.findall(r"\S+", table)
        for msg in (r.result.message, r.control_result.message, long_msg, long_ctl):
            for word in msg.split():
                assert word in words, (word, table)
        assert table.count("PASS") == 2 and "a_claim_name_of_twenty_nine_c" in table
    md = markdown_table([rep])
    assert long_msg in md and long_ctl in md


def test_claim_requires_negative_control():
    with pytest.raises(ValueError, match="negative control"):
        Claim("c", "s", "src", SlopeCI(0.5), lambda ctx: None, None, control_description="x")


def test_registry_and_unknown_names():
    reg = registry()
    assert {"tabular_regret", "proof_steps"} <= set(reg)
    with pytest.raises(KeyError, match="known checks"):
        get("does_not_exist")


def test_proof_steps_check_passes_with_controls_failing():
    rep = get("proof_steps").run(RunContext(quick=True, seeds=4, runner=_serial_runner))
    assert rep.passed
    assert all(not r.control_result.passed for r in rep.results)


def test_slope_rule_fails_on_non_finite_or_non_positive_measurements():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = np.tile(x[:, None], (1, 8))
    assert SlopeCI(1.0, tol=0.05).evaluate(Measurement("x", x, y, "y")).passed
    for bad in (np.nan, np.inf):
        yb = y.copy()
        yb[2, 3] = bad                        # one seed did not finish / never reached its target
        r = SlopeCI(1.0, tol=0.05).evaluate(Measurement("x", x, yb, "y"))
        assert not r.passed and "non-finite" in r.message
    flat = np.full((4, 8), 3.0)
    flat[3, :4] = np.inf                      # "not reached" must not read as "flat"
    assert not SlopeCI(0.5, mode="below").evaluate(Measurement("x", x, flat, "y")).passed
    neg = y.copy()
    neg[0] = -1.0
    assert not SlopeCI(1.0).evaluate(Measurement("x", x, neg, "y")).passed  # a failed claim, not a crash


def test_rank_rule_rejects_nan_and_ranks_infinities_at_the_ends():
    from proofs_checks.framework import RankCorrelationAbove
    x = np.arange(1.0, 11.0)
    y = np.tile((x ** 2)[:, None], (1, 4))
    rule = RankCorrelationAbove(min_rho=0.8, require_better=False)
    assert rule.evaluate(Measurement("i", x, y, "y", bound_values=x)).passed
    yn = y.copy()
    yn[4] = np.nan
    assert not rule.evaluate(Measurement("i", x, yn, "y", bound_values=x)).passed
    yi = y.copy()
    yi[9] = np.inf                             # the hardest instance never reached: still ranked last
    yi[0] = -np.inf                            # and -inf first, not last
    assert rule.evaluate(Measurement("i", x, yi, "y", bound_values=x)).passed
    few = Measurement("i", x[:3], y[:3], "y", bound_values=x[:3])
    assert not rule.evaluate(few).passed       # three instances cannot confirm a correlation


def test_mean_rule_needs_a_confirmed_mean_at_every_x():
    from proofs_checks.framework import MeanBound
    x = np.array([8.0, 16.0, 32.0])
    y = np.array([[0.3, 0.2, 0.4, 0.3], [0.5, 0.6, 0.4, 0.5], [0.7, 0.6, 0.8, 0.7]])
    at = lambda yy, b: Measurement("n", x, yy, "rate", bound_values=np.full(3, b))  # noqa: E731
    assert MeanBound(kind="lower").evaluate(at(y, 0.1)).passed
    assert not MeanBound(kind="lower").evaluate(at(y, 0.35)).passed     # x = 8 falls short
    noisy = y.copy()
    noisy[0] = [0.0, 0.0, 0.0, 0.9]                               # mean 0.225 but too noisy to confirm 0.1
    assert not MeanBound(kind="lower").evaluate(at(noisy, 0.1)).passed
    nan = y.copy()
    nan[1, 2] = np.nan
    assert not MeanBound(kind="lower").evaluate(at(nan, 0.1)).passed
    assert not MeanBound(kind="lower").evaluate(Measurement("n", x, np.ones((3, 1)), "rate",
                                                       bound_values=np.zeros(3))).passed  # one seed: no limit


def test_documented_deviation_is_reported_but_needs_a_rejected_control():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    grow = lambda ctx: Measurement("x", x, np.tile(x[:, None], (1, 4)), "y")            # noqa: E731
    flat = lambda ctx: Measurement("x", x, np.ones((4, 4)), "y")                         # noqa: E731
    rule = SlopeCI(0.5, mode="below", tol=0.1)
    dev = Claim("d", "slope <= 1/2", "src", rule, grow, flat, control_description="flat", deviation="measured slope 1")
    rep = Check("t", "t", "s", [dev]).run(RunContext(quick=True))
    assert rep.results[0].status == "fail" and not rep.passed        # the "broken" variant satisfies the claim
    dev = Claim("d", "slope <= 1/2", "src", rule, grow, lambda ctx: Measurement("x", x, np.tile(x[:, None] ** 2, (1, 4)), "y"),
                control_description="steeper", deviation="measured slope 1")
    rep = Check("t", "t", "s", [dev]).run(RunContext(quick=True))
    assert rep.results[0].status == "deviation" and rep.passed
    assert rep.to_dict()["claims"][0]["deviation"] == "measured slope 1"
    gone = Claim("g", "slope <= 1/2", "src", rule, flat, grow, control_description="growing",
                 deviation="measured slope 1")
    assert Check("t", "t", "s", [gone]).run(RunContext(quick=True)).results[0].status == "pass"
    plain = Claim("p", "slope <= 1/2", "src", rule, grow, lambda ctx: Measurement("x", x, np.tile(x[:, None] ** 2, (1, 4)), "y"),
                  control_description="steeper")
    assert Check("t", "t", "s", [plain]).run(RunContext(quick=True)).results[0].status == "fail"


def test_slope_ci_window_and_curvature():
    from proofs_checks.framework import AllOf

    x = np.array([1.0, 2, 4, 8, 16, 32, 64])
    # slope -1 up to x = 8, then -0.25: a bent curve
    y = np.where(x <= 8, x ** -1.0, 8 ** -1.0 * (x / 8) ** -0.25)
    m = Measurement("x", x, np.stack([y * f for f in (0.98, 1.0, 1.02)], axis=1), "y")
    lo, hi = SlopeCI(-1.0, tol=0.02, x_max=8), SlopeCI(-0.25, tol=0.02, x_min=8)
    assert lo.evaluate(m).passed and hi.evaluate(m).passed
    assert not SlopeCI(-1.0, tol=0.02, x_min=8).evaluate(m).passed
    assert not AllOf((SlopeCI(-1.0, tol=0.1, x_max=8), SlopeCI(-1.0, tol=0.1, x_min=8))).evaluate(m).passed
    assert "on x in [8, inf]" in hi.describe()
    with pytest.raises(ValueError, match="fewer than 3 points"):
        SlopeCI(-1.0, x_min=20, x_max=40).evaluate(m)


def test_bound_holds_zero_bound_ratio():
    m = Measurement("x", [1.0, 2.0], [[0.0, 0.1], [0.0, 0.0]], "y", bound_values=[0.0, 0.0])
    r = BoundHolds(kind="upper").evaluate(m)
    assert not r.passed and np.isinf(r.stats.get("worst_ratio", np.inf))


def test_success_not_below_reference_fisher_rule():
    from proofs_checks.framework import SuccessNotBelowReference

    x = np.array([1.0, 2.0])
    ref = np.ones((2, 64))
    same = Measurement("suite MDP #", x, ref.copy(), "optimal", bound_values=ref)
    res = SuccessNotBelowReference(level=0.99).evaluate(same)
    assert res.passed and res.stats["min_p_value"] == 1.0
    worse = ref.copy()
    worse[1, :12] = np.nan  # NaN counts as a failure: 52/64 vs 64/64, one-sided p ~ 1.4e-4 < 0.01 / 2
    res = SuccessNotBelowReference(level=0.99).evaluate(Measurement("suite MDP #", x, worse, "optimal",
                                                                    bound_values=ref))
    assert not res.passed and "suite MDP #=2" in res.message and "52/64 vs reference 64/64" in res.message
    better = np.zeros((2, 64))  # a learner above the reference is never rejected (one-sided)
    assert SuccessNotBelowReference().evaluate(Measurement("x", x, ref, "optimal", bound_values=better)).passed
    with pytest.raises(ValueError, match="bound_values shaped like y"):
        SuccessNotBelowReference().evaluate(Measurement("x", x, ref, "optimal", bound_values=np.ones(2)))


def _shared_value(a, kind, seed):
    return {"y": float(a) * (1.0 if kind == "ref" else 100.0)}


def _shared_sweep_check():
    """Two claims that read the same stored sweep, and controls stored under that sweep's name too (another
    grid value), as rcsl_bellman's target and coverage claims do."""
    def rows(ctx, kind):
        rows = ctx.sweep(_shared_value, {"a": [1, 2], "kind": [kind]}, name="toy.shared")
        x, y = rows_to_matrix(rows, "a", "y")
        return Measurement("a", x, y, "y", bound_values=np.full(x.shape, 10.0))

    claims = [Claim(name, "y <= 10", "test", BoundHolds(kind="upper"), lambda ctx: rows(ctx, "ref"),
                    lambda ctx: rows(ctx, "broken"), control_description="y scaled by 100")
              for name in ("first", "second")]
    return Check("toy", "toy check", "test", claims)


def test_progress_lines_name_controls_and_show_a_shared_sweep_once(tmp_path, monkeypatch):
    """A sweep read by several claims is reported once per check run; a control stored under its claim's sweep
    name is labelled ``(control)`` on screen while its cells keep their stored name (a rerun resumes from them)."""
    import dataclasses
    import io
    import sys

    from rltheory.experiments import load_rows

    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    ctx = RunContext(seeds=2, executor="serial", out_dir=str(tmp_path), progress=True)
    assert _shared_sweep_check().run(ctx).passed
    lines = err.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["sweep toy.shared[quick]", "sweep toy.shared[quick] (control)"]
    assert not any("were stored" in line for line in lines), lines
    assert len(load_rows(tmp_path / "sweeps.sqlite", "toy.shared[quick]")) == 8  # both kinds, one stored name
    err.seek(0)
    err.truncate(0)
    assert _shared_sweep_check().run(ctx).passed  # a rerun: everything stored, each sweep said once
    lines = err.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["sweep toy.shared[quick]", "sweep toy.shared[quick] (control)"]
    assert all(line.endswith("(4 were stored)") for line in lines), lines
    # a learner under test (a mutant) stores under the reference's name too: its line names the learner
    err.seek(0)
    err.truncate(0)
    learner_ctx = dataclasses.replace(ctx, learner="_sweep_targets:other")
    learner_ctx.sweep(_shared_value, {"a": [1, 2], "kind": ["other"]}, name="toy.shared")
    assert err.getvalue().startswith("sweep toy.shared[quick] (learner other): 4/4 cells, ")
