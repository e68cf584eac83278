"""Per-claim figures and verdict texts: what the figure and the table show is what the rule tested."""
import matplotlib
import numpy as np
import pytest

from proofs_checks import BoundHolds, Check, Claim, Measurement, RunContext, SlopeCI
from proofs_checks.framework import AllOf, BoundHoldsEach, RankCorrelationAbove, markdown_table

X = np.arange(1.0, 7.0)


def _report(rule, claim_y, control_y, *, variable="suite MDP #", bound=None, meta=None, statement="s"):
    bound = np.full(len(X), 100.0) if bound is None else bound

    def meas(y):
        return lambda ctx: Measurement(variable, X, y, "episodes", bound_values=bound, meta=dict(meta or {}))

    claim = Claim("c", statement, "src", rule, meas(claim_y), meas(control_y), control_description="broken variant")
    return Check("toy", "toy", "src", [claim]).run(RunContext(quick=True))


def _legend_texts(fig):
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_figure_leaves_the_backend_alone_and_draws_non_finite_values(tmp_path):
    backend = matplotlib.get_backend()
    y = np.full((len(X), 8), 10.0)
    y[4, :3] = np.inf          # three runs never succeeded at one instance
    y[5, :] = np.inf           # and every run at another
    ctl = np.full((len(X), 8), 500.0)
    rep = _report(BoundHolds(kind="upper", prob=0.5), y, ctl)
    fig = rep.figure(rep.results[0])
    assert matplotlib.get_backend() == backend
    texts = " ".join(_legend_texts(fig)).replace("\n", " ")
    assert "11 of 48 runs +inf" in texts                       # counted, not silently dropped
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"                         # instance numbers are categories
    top = [ln for ln in ax.get_lines() if ln.get_marker() == "^"]
    assert top and sorted(np.round(np.concatenate([ln.get_xdata() for ln in top])).tolist()) == [5.0, 6.0]
    assert "PASS" in fig._suptitle.get_text()
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "not rejected" in caption and "Control (rejected)" in caption
    paths = rep.save(str(tmp_path))
    assert open(paths["figures"][0], "rb").read(4) == b"\x89PNG"
    matplotlib.pyplot.close("all")


def test_claim_is_drawn_above_its_control():
    y = np.tile(np.geomspace(10, 1000, len(X))[:, None], (1, 4))
    rep = _report(SlopeCI(1.0, tol=2.0), y, y * 2, variable="K", bound=None)
    fig = rep.figure(rep.results[0])
    lines = {ln.get_label().split(":")[0]: ln for ln in fig.axes[0].get_lines() if "(mean over seeds" in ln.get_label()}
    assert lines["claim"].get_zorder() > lines["control"].get_zorder()
    assert lines["claim"].get_marker() != lines["control"].get_marker()
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"
    labels = " ".join(_legend_texts(fig))
    assert "predicted slope 1" in labels and "claim fit: slope" in labels
    matplotlib.pyplot.close("all")


def test_rank_figure_shows_rho_of_claim_and_control():
    rng = np.random.default_rng(0)
    n = 12
    x = np.arange(1.0, n + 1)
    pred = np.geomspace(10, 1e5, n)
    y = np.tile(pred[:, None], (1, 4)) * np.exp(rng.normal(0, 0.1, (n, 4)))
    agg = y.mean(axis=1)
    agg[-1] = np.inf

    def meas(p):
        return lambda ctx: Measurement("suite MDP #", x, y, "episodes", bound_values=p,
                                       meta={"aggregate": agg.tolist(), "comparator": pred[::-1].tolist(),
                                             "candidate": "bound", "comparator_name": "A^T"})

    claim = Claim("r", "s", "src", RankCorrelationAbove(min_rho=0.3, require_better=True), meas(pred),
                  meas(pred[rng.permutation(n)]), control_description="permuted")
    rep = Check("toy", "toy", "src", [claim]).run(RunContext(quick=True))
    fig = rep.figure(rep.results[0])
    texts = " ".join(_legend_texts(fig)).replace("\n", " ")
    assert "claim: bound, rho 1.00" in texts and "control: bound, rho" in texts
    assert "1 of 12 instances never reached" in texts and "comparator A^T: rho" in texts
    assert len(fig.axes) == 2
    matplotlib.pyplot.close("all")


def test_per_instance_fraction_panel_and_verdict_text():
    y = np.full((len(X), 16), 10.0)
    y[2, :10] = 1000.0         # 6/16 hold at one instance: "P >= 1/2" is not rejected at 0.99
    rep = _report(BoundHoldsEach(prob=0.5, kind="upper", level=0.99), y, np.full((len(X), 16), 1000.0))
    res = rep.results[0]
    assert res.status == "pass"
    assert "0.375" in res.result.message and "not rejected at 0.99" in res.result.message
    assert "not rejected at 0.99" in res.claim.rule.describe()
    fig = rep.figure(res)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylim()[1] <= 1.1
    assert any("threshold 0.5" in t for t in _legend_texts(fig))
    md = markdown_table([rep])
    assert "tested (rule)" in md and "not rejected at 0.99" in md and "rejected:" in md
    assert "**pass** (not rejected)" in md
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize("y, phrase", [
    (np.geomspace(1, 64, 6) ** 1.05, "within tolerance 0.1"),     # CI excludes 1 but lies within 0.1 of it
    (np.geomspace(1, 64, 6) ** 1.0, "CI contains 1"),
    (np.geomspace(1, 64, 6) ** 1.5, "beyond tolerance 0.1"),
])
def test_slope_message_says_how_the_prediction_was_met(y, phrase):
    x = np.geomspace(1, 64, 6)
    yy = y[:, None] * np.exp(np.random.default_rng(1).normal(0, 0.01, (6, 4)))
    r = SlopeCI(1.0, tol=0.1).evaluate(Measurement("S", x, yy, "width"))
    assert phrase in r.message
    assert "tolerance 0.1" in SlopeCI(1.0, tol=0.1).describe()


def test_invariant_violation_is_the_verdict_of_the_figure():
    def bad(ctx):
        return Measurement("K", X, np.tile(X[:, None], (1, 3)), "regret", bound_values=np.full(len(X), 100.0),
                           invariant_violations=["regret < 0 at K=1"])

    def ctl(ctx):
        return Measurement("K", X, np.full((len(X), 3), 1e3), "regret", bound_values=np.full(len(X), 100.0))

    claim = Claim("c", "s", "src", BoundHolds(kind="upper"), bad, ctl, control_description="c")
    rep = Check("toy", "toy", "src", [claim]).run(RunContext(quick=True))
    fig = rep.figure(rep.results[0])
    caption = " ".join(t.get_text() for t in fig.texts).replace("\n", " ")
    assert "FAIL" in fig._suptitle.get_text() and "invariant" in caption and "regret < 0 at K=1" in caption
    matplotlib.pyplot.close("all")


def test_limit_is_not_called_a_prediction_and_windows_are_labelled():
    x = np.geomspace(100, 6400, 7)
    y = (x[:, None] ** -0.5) * np.exp(np.random.default_rng(2).normal(0, 0.02, (7, 4)))
    m = Measurement("K", x, y, "error")
    below = SlopeCI(0.25, mode="below").evaluate(m).message
    assert "allowed at most 0.25" in below and "predicted" not in below
    assert "allowed at least -1" in SlopeCI(-1.0, mode="above").evaluate(m).message
    assert "vs predicted -0.5" in SlopeCI(-0.5, tol=0.1).evaluate(m).message
    both = AllOf((SlopeCI(-0.5, tol=0.1, x_max=800), SlopeCI(-0.5, tol=0.1, x_min=800))).evaluate(m).message
    assert "slope on K in [-inf, 800]" in both and "slope on K in [800, inf]" in both


@pytest.mark.parametrize("kind, side", [("upper", "upper bound: largest measured/bound"),
                                        ("lower", "lower bound: smallest measured/bound")])
def test_bound_message_names_the_side(kind, side):
    m = Measurement("K", X, np.tile(X[:, None], (1, 3)), "regret", bound_values=np.full(len(X), 100.0 if kind ==
                                                                                             "upper" else 0.5))
    assert side in BoundHolds(kind=kind).evaluate(m).message


def test_markdown_table_escapes_pipes():
    y = np.tile(X[:, None], (1, 3))
    rep = _report(BoundHolds(), y, y * 1000)
    rep.results[0].result.message = "width 4 at |S| = 8"  # as the rcsl_bellman messages have it
    md = markdown_table([rep])
    assert "width 4 at \\|S\\| = 8" in md
    row = md.splitlines()[2]
    assert "/S/" not in md
    # every cell separator is an unescaped pipe: the row still has the header's 7 separators
    assert len([i for i, ch in enumerate(row) if ch == "|" and row[i - 1] != "\\"]) == 7


def test_band_reaching_zero_is_clipped_on_a_log_axis():
    import matplotlib.pyplot as plt
    from proofs_checks.framework.figures import _clip_log_bands, _series, CONTROL
    x = np.array([1.0, 2, 4, 8, 16])
    y = np.array([[1.0, 1, 1, 1000]] * 5) * x[:, None]  # one seed far above the others: the t band reaches 0
    fig, ax = plt.subplots()
    _series(ax, Measurement("K", x, y, "regret"), CONTROL, "control", "values")
    ax.set_yscale("log")
    _clip_log_bands(ax)
    lows = np.concatenate([p.vertices[:, 1] for c in ax.collections for p in c.get_paths()])
    assert lows.min() > 0
    assert any("drawn down to mean / 10" in ln.get_label() for ln in ax.get_lines())
    plt.close(fig)


def test_short_log_axis_gets_enough_labels():
    import matplotlib.pyplot as plt
    from proofs_checks.framework.figures import tidy_axes
    fig, ax = plt.subplots()
    ax.loglog([8, 16, 32, 64], [55, 75, 300, 340], "o-")
    tidy_axes(ax, [8, 16, 32, 64])
    fig.canvas.draw()
    lab = [t.get_text() for t in ax.yaxis.get_ticklabels(which="both") if t.get_text()]
    assert {"100", "200", "300"} <= set(lab)
    plt.close(fig)


@pytest.mark.parametrize("kind", ["upper", "lower"])
def test_a_rule_on_every_seed_draws_the_seed_it_judges(kind):
    """BoundHolds without ``prob`` judges every seed: the line is the worst seed (highest for an upper bound,
    lowest for a lower one), with no mean band. A control that half the seeds violate, whose mean lies inside
    the bound, is drawn outside it."""
    rng = np.random.default_rng(0)
    sign = 1.0 if kind == "upper" else -1.0
    claim = 50.0 + sign * rng.uniform(-20, 20, (len(X), 8))
    control = np.where(np.arange(8) % 2 == 0, 50.0 - sign * 40.0, 50.0 + sign * 60.0) * np.ones((len(X), 1))
    bound = np.full(len(X), 50.0 + sign * 50.0)
    assert np.all(sign * control.mean(axis=1) < sign * bound)  # the mean alone would look within the bound
    rep = _report(BoundHolds(kind=kind), claim, control, variable="K", bound=bound)
    fig = rep.figure(rep.results[0])
    worst = np.max if kind == "upper" else np.min
    side = "highest" if kind == "upper" else "lowest"
    for who, y in (("claim", claim), ("control", control)):
        (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith(f"{who}:")]
        assert f"({side} seed, which the rule judges" in line.get_label()
        np.testing.assert_allclose(line.get_ydata(), worst(y, axis=1))
    assert not fig.axes[0].collections or all(not hasattr(c, "_rlt_band") for c in fig.axes[0].collections)
    matplotlib.pyplot.close("all")


def _line(fig, who):
    """The central line of ``who`` (claim or control) of a rule on every seed."""
    (line,) = [ln for ln in fig.axes[0].get_lines()
               if ln.get_label().startswith(f"{who}:") and "seed, which the rule judges" in ln.get_label()]
    return line


def test_the_worst_seed_line_skips_nan_seeds_and_counts_them():
    """A NaN seed (no value; the rule counts it as not holding) does not hide a violating seed at the same x:
    the line is the worst seed with a value, and the NaN seed gets its counted edge marker."""
    y = np.full((len(X), 8), 50.0)
    y[2, 0], y[2, 1] = np.nan, 180.0
    y[3, 0] = -np.inf
    rep = _report(BoundHolds(kind="upper"), y, y * 3, variable="K")
    fig = rep.figure(rep.results[0])
    line = _line(fig, "claim")
    assert line.get_ydata()[list(line.get_xdata()).index(X[2])] == 180.0
    assert "2 of 48 runs NaN/-inf" in " ".join(_legend_texts(fig)).replace("\n", " ")
    matplotlib.pyplot.close("all")


def test_an_all_of_with_a_rule_on_every_seed_draws_the_worst_seed():
    from proofs_checks.framework import MeanBound

    y = np.full((len(X), 8), 10.0)
    ctl = np.where(np.arange(8) % 2 == 0, 10.0, 110.0) * np.ones((len(X), 1))
    rep = _report(AllOf((BoundHolds(kind="upper"), MeanBound(kind="upper"))), y, ctl, variable="K")
    fig = rep.figure(rep.results[0])
    np.testing.assert_allclose(_line(fig, "control").get_ydata(), 110.0)
    assert "highest seed" in _line(fig, "control").get_label()
    matplotlib.pyplot.close("all")


def test_per_seed_bounds_pick_the_seed_farthest_past_its_own_bound():
    """With a bound per seed, the seed the rule judges worst is the one with the largest measured - bound, not
    the largest measured value."""
    y = np.tile(np.array([15.0, 1.0]), (len(X), 1))       # seed 0 high but within its bound,
    b = np.tile(np.array([20.0, 0.5]), (len(X), 1))       # seed 1 low but past its own
    def meas(values):
        return lambda ctx: Measurement("K", X, values, "q", bound_values=b)
    claim = Claim("c", "s", "src", BoundHolds(kind="upper"), meas(y * 0.01), meas(y),
                  control_description="broken")
    rep = Check("toy", "toy", "src", [claim]).run(RunContext(quick=True))
    fig = rep.figure(rep.results[0])
    np.testing.assert_allclose(_line(fig, "control").get_ydata(), 1.0)
    matplotlib.pyplot.close("all")
