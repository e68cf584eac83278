"""Per-claim figures of a check report: what was measured, the bound or threshold the rule uses, the negative
control and the verdict, in one picture with a caption that states the rule and the measured numbers.

The drawing functions fill a given :class:`matplotlib.figure.Figure` and never touch the pyplot state or the
backend: :meth:`proofs_checks.framework.CheckReport.figure` hands them a pyplot figure (shown inline in Jupyter),
:meth:`~proofs_checks.framework.CheckReport.save` a bare ``Figure`` written straight to PNG.

Conventions (the same in every figure):

* the claim is drawn last, on top: blue, filled circles, solid line; the control first, underneath: red, hollow
  squares, dashed line, so a claim point on top of a control point stays visible;
* a value that is ``+inf`` (never reached within the budget, e.g. a policy that never became optimal) is drawn as a
  triangle on the top edge of the axes and counted in the legend; ``-inf`` and ``NaN`` (did not finish) on the
  bottom edge; nothing is dropped silently;
* an instance index (a variable whose name contains ``#``) is a category: linear axis, integer ticks;
* the title gives the verdict, the caption the claim, the rule (what exactly was tested, with its tolerance or
  level) and the measured numbers of claim and control.
"""
from __future__ import annotations

import re
import textwrap
import warnings

import numpy as np

from .model import verdict_qualifier
from .rules import (AllOf, BoundHolds, BoundHoldsEach, MeanBound, RankCorrelationAbove, RatioNonIncreasing,
                    SlopeCI)
from .stats import fit_loglog_slope

CLAIM = dict(color="C0", marker="o", ls="-", lw=2.0, ms=6, mfc="C0", zorder=4)
CONTROL = dict(color="C3", marker="s", ls="--", lw=1.4, ms=8, mfc="none", mew=1.4, zorder=3)
STATUS_COLOR = {"pass": "#1a7f37", "fail": "#cf222e", "deviation": "#bc4c00", "broken": "#8250df"}
STATUS_TEXT = {
    "pass": "PASS: the rule holds for the claim and rejects the negative control",
    "fail": "FAIL: the rule rejects the claim",
    "deviation": "DEVIATION (documented, measured): the rule rejects the claim; the control is rejected too",
    "broken": "BROKEN: the negative control passes the rule too, so the check cannot discriminate",
}
WIDTH_IN = 9.0
PANEL_IN = 3.6
CAPTION_PT = 8.0
WRAP = 128


# ------------------------------------------------------------------------------------------ helpers


def _rule_kind(rule) -> str:
    if isinstance(rule, RankCorrelationAbove):
        return "rank"
    if isinstance(rule, BoundHoldsEach):
        return "each"
    if isinstance(rule, SlopeCI) or (isinstance(rule, AllOf) and any(isinstance(r, SlopeCI) for r in rule.rules)):
        return "slope"
    if isinstance(rule, RatioNonIncreasing):
        return "ratio"
    # a rule on every seed (alone or in an AllOf) is decided by the worst seed
    every = [r for r in _parts(rule) if isinstance(r, BoundHolds) and r.prob is None]
    if every:
        return "worst-upper" if every[0].kind == "upper" else "worst-lower"
    if isinstance(rule, BoundHolds):
        return "prob"
    return "values"


def _categorical(m) -> bool:
    """An instance number (``suite MDP #``, ``instance (1 itb, 2 probe, ...)``) is a category, not a magnitude."""
    return "#" in m.variable or bool(re.match(r"\s*(instance|index)\b", m.variable, re.IGNORECASE))


def _bound(m):
    if m.bound_values is None:
        return None
    return m.bound_values if m.bound_values.ndim == 1 else m.bound_values.mean(axis=1)


def _central(m, kind: str):
    """The per-x line drawn through the seeds: the seed aggregate for rank rules (``meta['aggregate']``), the median
    for per-seed probability rules (one run that never succeeds makes the mean infinite), the worst seed for a
    rule on every seed (what it judges: a mean inside the bound can hide half the seeds outside it), else the
    mean."""
    if kind == "rank" and "aggregate" in m.meta:
        return np.asarray(m.meta["aggregate"], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if kind.startswith("worst-"):  # a rule on every seed is decided by the worst one
            if m.bound_values is not None and m.bound_values.ndim == 2:  # per-seed bounds: worst by y - bound
                gap = m.y - m.bound_values if kind == "worst-upper" else m.bound_values - m.y
                pick = np.argmax(np.where(np.isnan(gap), -np.inf, gap), axis=1)
                return m.y[np.arange(len(m.x)), pick]
            # the worst seed with a value; NaN seeds (no value, counted as not holding) get their edge marker
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an x where every seed is NaN stays NaN
                return np.nanmax(m.y, axis=1) if kind == "worst-upper" else np.nanmin(m.y, axis=1)
        return np.median(m.y, axis=1) if kind in ("each", "prob") else m.y.mean(axis=1)


def _central_name(m, kind: str) -> str:
    if m.y.shape[1] == 1:
        return ""
    if kind == "rank":
        return " (seed aggregate)"
    if kind in ("each", "prob"):
        return " (median over seeds; dots: single seeds)"
    if kind.startswith("worst-"):
        side = "highest" if kind == "worst-upper" else "lowest"
        return f" ({side} seed, which the rule judges; dots: single seeds)"
    if _categorical(m):
        return " (mean over seeds; dots: single seeds)"
    return " (mean over seeds, 95% band; dots: single seeds)"


def _offset(m, who: str) -> np.ndarray:
    """Claim and control side by side at a categorical x (instance index); unchanged on a numeric axis."""
    if not _categorical(m):
        return m.x
    return m.x + (0.18 if who == "control" else -0.18)


def _edge_markers(ax, xs, where: str, style: dict, label: str | None, counts=None):
    """Triangles on the top (``where="top"``) or bottom edge at data x, outside the data limits (never clipped)."""
    if len(xs) == 0:
        return
    tr = ax.get_xaxis_transform()
    yy = 1.0 if where == "top" else 0.0
    ax.plot(xs, np.full(len(xs), yy), ls="none", marker="^" if where == "top" else "v", ms=style["ms"] + 2,
            color=style["color"], mfc=style["mfc"], mew=1.4, transform=tr, clip_on=False,
            zorder=style["zorder"] + 2, label=label)
    if counts is not None:
        for x, c in zip(xs, counts):
            if c > 1:
                ax.annotate(str(c), (x, yy), xycoords=tr, xytext=(0, -8 if where == "top" else 8),
                            textcoords="offset points", fontsize=6.5, color=style["color"], ha="center",
                            va="top" if where == "top" else "bottom")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _series(ax, m, style: dict, name: str, kind: str, y_override=None, seeds: bool = True):
    """One measurement: per-seed points (faint), the central value per x with its 95% band, and edge markers
    for non-finite values (counted in the legend)."""
    who = "control" if style is CONTROL else "claim"
    x = _offset(m, who)
    c = _central(m, kind) if y_override is None else np.asarray(y_override, dtype=np.float64)
    fin = np.isfinite(c)
    line = dict(style)
    if _categorical(m):
        line["ls"] = "none"  # instances are categories: no line between them
    ax.plot(x[fin], c[fin], label=f"{name}: {m.quantity}{_central_name(m, kind)}" if y_override is None else name,
            **line)
    if y_override is None and m.y.shape[1] > 1:
        if seeds:
            xs = np.repeat(x, m.y.shape[1]).reshape(m.y.shape)
            ok = np.isfinite(m.y)
            ax.plot(xs[ok], m.y[ok], ls="none", marker=".", ms=4, color=style["color"], alpha=0.4,
                    zorder=style["zorder"] - 1)
        if kind not in ("rank", "each", "prob", "worst-upper", "worst-lower") and not _categorical(m):
            with np.errstate(invalid="ignore", divide="ignore"):
                lo, hi = m.ci()
            band = np.isfinite(lo) & np.isfinite(hi)
            if band.any():
                coll = ax.fill_between(x, np.where(band, lo, np.nan), np.where(band, hi, np.nan),
                                       color=style["color"], alpha=0.15, lw=0, zorder=1)
                # kept for _clip_log_bands: a lower end <= 0 cannot be drawn on a log axis
                coll._rlt_band = (who, np.asarray(x, dtype=np.float64), np.where(band, lo, np.nan),
                                  np.where(band, hi, np.nan), c, style["color"])
    # non-finite per-x values: +inf on the top edge, -inf / NaN on the bottom edge
    n_x = len(x)
    pinf = np.isposinf(c)
    low = np.isneginf(c) | np.isnan(c)
    if y_override is None and m.y.shape[1] > 1:
        # count the seeds behind each edge marker
        n_seed_inf = np.isposinf(m.y).sum(axis=1)
        n_seed_nan = (np.isnan(m.y) | np.isneginf(m.y)).sum(axis=1)  # the bottom edge: NaN and -inf alike
        tot_inf, tot_nan, n_all = int(n_seed_inf.sum()), int(n_seed_nan.sum()), m.y.size
        # x with some (not all) seeds at +inf keep a finite mean only for rank aggregates; show their count too
        part = (~pinf) & (n_seed_inf > 0)
        if pinf.any() or part.any():
            lab = f"{name}: {tot_inf} of {n_all} runs +inf (never reached): top edge, with their count"
            _edge_markers(ax, x[pinf | part], "top", style, lab, counts=n_seed_inf[pinf | part])
        if low.any() or tot_nan:
            bad = low | (n_seed_nan > 0)
            _edge_markers(ax, x[bad], "bottom", style,
                          f"{name}: {tot_nan} of {n_all} runs NaN/-inf (no value): bottom edge, with their count",
                          counts=np.maximum(n_seed_nan[bad], 1))
    else:
        if pinf.any():
            _edge_markers(ax, x[pinf], "top", style,
                          f"{name}: {int(pinf.sum())} of {n_x} +inf (never reached; top edge)")
        if low.any():
            _edge_markers(ax, x[low], "bottom", style, f"{name}: {int(low.sum())} of {n_x} NaN/-inf (bottom edge)")
    return c


def _draw_bounds(ax, mc, mk, claim_label="bound", xs_claim=None, xs_control=None, axk=None):
    """The bound (or threshold) the rule compares with: black dash-dot for the claim, red dotted for the control
    when it differs (on ``axk`` when the control has its own x axis); one legend entry when both are the same."""
    axk = ax if axk is None else axk
    bc, bk = _bound(mc), _bound(mk)
    xc = mc.x if xs_claim is None else xs_claim
    same = bc is not None and bk is not None and bc.shape == bk.shape and np.allclose(bc, bk, equal_nan=True) \
        and np.array_equal(mc.x, mk.x)
    def span(x, b):  # a bound at a single x: a short horizontal segment around it
        if len(x) != 1:
            return x, b
        x0 = float(x[0])
        wide = np.array([x0 - 0.4, x0 + 0.4]) if _categorical(mc) or x0 <= 0 else np.array([x0 / 1.25, x0 * 1.25])
        return wide, np.repeat(b, 2)

    if bc is not None:
        lab = f"{claim_label} (claim" + (" and control)" if same else ")")
        ax.plot(*span(np.asarray(xc, dtype=np.float64), bc), color="k", ls="-.", lw=1.6, zorder=3.5, label=lab)
    if bk is not None and not same:
        xk = mk.x if xs_control is None else xs_control
        axk.plot(*span(np.asarray(xk, dtype=np.float64), bk), color="C3", ls=":", lw=1.8, zorder=3.5,
                 label=f"{claim_label} (control)")


def _finite_pos(*arrays) -> np.ndarray:
    vals = [np.asarray(a, dtype=np.float64).ravel() for a in arrays if a is not None]
    v = np.concatenate(vals) if vals else np.array([])
    return v[np.isfinite(v)]


def _scale_axes(ax, x, core, force_log: bool, categorical: bool, seeds=()):
    """Axis scales and limits. ``core``: the per-x values and bounds that must be visible (they decide a log y
    axis); ``seeds``: ``(name, style, y)`` of single-seed values, which may widen a log axis by at most two decades
    beyond the core values: values further out (e.g. a numerically zero error of 1e-16) are counted in the legend
    instead of squashing the plot."""
    x = np.asarray(x, dtype=np.float64)
    fy = _finite_pos(*core)
    if categorical:
        ax.set_xticks(x)
        ax.set_xticklabels([f"{v:g}" for v in x], fontsize=8)
        ax.set_xlim(x.min() - 0.6, x.max() + 0.6)
    elif np.all(x > 0) and (force_log or x.max() / x.min() >= 8):
        ax.set_xscale("log")
    pos = fy[fy > 0]
    if fy.size and np.all(fy >= 0) and not np.all(fy > 0) and pos.size and pos.max() / pos.min() >= 100:
        # zeros next to values spanning decades (e.g. a bound of 0 for the control): linear near 0, log above
        ax.set_yscale("symlog", linthresh=float(pos.min()), linscale=1.0)
        top = max(ax.get_ylim()[1], float(pos.max()) * 2.0)
        ax.set_ylim(-0.15 * float(pos.min()), top)  # nothing here is negative
    elif fy.size and np.all(fy > 0) and (force_log or fy.max() / fy.min() >= 30):
        ax.set_yscale("log")
        lo_c, hi_c = fy.min(), fy.max()
        ext = _finite_pos(*[y for _, _, y in seeds])
        ext = ext[ext > 0]
        lo = max(min(lo_c, ext.min()) if ext.size else lo_c, lo_c / 100)
        hi = min(max(hi_c, ext.max()) if ext.size else hi_c, hi_c * 100)
        ax.set_ylim(lo / 1.6, hi * 1.6)
        for name, style, y in seeds:
            y = np.asarray(y, dtype=np.float64)
            fin = y[np.isfinite(y)]
            below, above = int((fin < lo / 1.6).sum()), int((fin > hi * 1.6).sum())
            if below or above:
                txt = " and ".join(t for t in (f"{below} below {lo / 1.6:.2g}" if below else "",
                                               f"{above} above {hi * 1.6:.2g}" if above else "") if t)
                ax.plot([], [], ls="none", marker=".", color=style["color"], gid="note",
                        label=f"{name}: single-seed values off the axis: {txt}")
    if not categorical and len(x) <= 8 and np.all(np.isfinite(x)):
        # ticks at the measured x only (no bare 10^k ticks on short log axes, no overlapping labels)
        ax.set_xticks(x)
        ax.set_xticks([], minor=True)
        ax.set_xticklabels([f"{v:g}" for v in x], fontsize=8)
    ax.tick_params(labelsize=8)


def _plain_log_ticks(axis):
    """On a log axis spanning at most two decades, plain numbers (0.2, 0.5, 1, 2, 5) instead of 2x10^0 labels;
    on one spanning less than a decade also 3 (50, 100, 200, 300), so that at least two labels are in view."""
    from matplotlib.ticker import FuncFormatter

    lo, hi = axis.get_view_interval()
    if lo <= 0 or hi / lo > 100:
        return
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    shown = (2, 3, 5) if hi / lo < 10 else (2, 5)

    def minor(v, _):
        mant = v / 10 ** np.floor(np.log10(v) + 1e-9)
        return f"{v:g}" if any(np.isclose(mant, k) for k in shown) else ""

    axis.set_minor_formatter(FuncFormatter(minor))


def _finish_ticks(ax):
    if ax.get_yscale() == "log":
        _plain_log_ticks(ax.yaxis)
    if ax.get_xscale() == "log" and len(ax.get_xticks(minor=True)):
        _plain_log_ticks(ax.xaxis)


def _drawn(handle) -> bool:
    """A legend handle that shows something: a text-only note (``gid="note"``), a patch or collection, or a line
    with at least one finite point."""
    from matplotlib.lines import Line2D

    if not isinstance(handle, Line2D) or handle.get_gid() == "note":
        return True
    x = np.asarray(handle.get_xdata(), dtype=np.float64)
    y = np.asarray(handle.get_ydata(), dtype=np.float64)
    return bool(x.size and np.any(np.isfinite(x) & np.isfinite(y)))


def tidy_axes(ax, xs=None):
    """Readable axes for a notebook plot: x ticks at the measured values ``xs`` (no overlapping ``2x10^3``
    labels on a short log axis) and plain numbers (0.5, 2, 5) on a log y axis spanning at most two decades.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    xs : sequence of float, optional
        The x values measured; ticks are put there and only there.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    if xs is not None:
        xs = [float(v) for v in xs]
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.set_xticks([], minor=True)
    _finish_ticks(ax)
    return ax


def _clip_log_bands(ax):
    """On a log y axis, a 95% band whose lower end is <= 0 (a mean whose seeds spread over decades) would run
    off the bottom of the axis; draw it down to a tenth of the mean instead, say so in the legend, and mark the
    x where it was clipped with an open downward bracket."""
    if ax.get_yscale() != "log":
        return
    for coll in list(ax.collections):
        info = getattr(coll, "_rlt_band", None)
        if info is None:
            continue
        who, x, lo, hi, c, color = info
        with np.errstate(invalid="ignore"):
            cut = np.isfinite(lo) & (lo <= 0) & np.isfinite(c) & (c > 0)
        if not cut.any():
            continue
        coll.remove()
        floor = np.where(cut, c / 10.0, lo)
        ax.fill_between(x, floor, hi, color=color, alpha=0.15, lw=0, zorder=1)
        ax.plot(x[cut], floor[cut], ls="none", marker="v", ms=5, mfc="none", color=color, alpha=0.6, zorder=1.5,
                label=f"{who}: 95% band reaches 0 at {_plural(int(cut.sum()), 'x')}; drawn down to mean / 10")


def _legend(ax, outside: bool = True, extra=None):
    _clip_log_bands(ax)
    if extra is not None and extra is not ax:
        _clip_log_bands(extra)
    _finish_ticks(ax)
    h, lab = [], []
    pairs = list(zip(*ax.get_legend_handles_labels()))
    if extra is not None and extra is not ax:
        pairs = list(zip(*extra.get_legend_handles_labels())) + pairs
    for handle, text in pairs:
        if _drawn(handle):  # no legend entry for a line with nothing to draw
            h.append(handle)
            lab.append(text)
    if not h:
        return
    if outside:
        ax.legend(h, [textwrap.fill(s, 42) for s in lab], fontsize=7.5, loc="upper left",
                  bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    else:
        ax.legend(h, lab, fontsize=7.5, framealpha=0.85)


def _ylabel(ax, text: str):
    ax.set_ylabel(textwrap.fill(text, 40), fontsize=8.5)


# --------------------------------------------------------------------------------------------- panels


def _parts(rule):

    return list(rule.rules) if isinstance(rule, AllOf) else [rule]


def _mean_limits(ax, res, axk=None):
    """MeanBound (alone or in an AllOf): the one-sided limit of the mean at each x, the number the rule compares."""

    for j, sub in enumerate(_parts(res.claim.rule)):
        if not isinstance(sub, MeanBound):
            continue
        for m, r, style, who, a_ in ((res.control, res.control_result, CONTROL, "control", axk or ax),
                                     (res.measurement, res.result, CLAIM, "claim", ax)):
            st = r.stats["parts"][j] if "parts" in r.stats else r.stats
            lim = st.get("limits")
            if lim is not None:
                a_.plot(_offset(m, who), lim, ls="none", marker="^" if sub.kind == "upper" else "v",
                        color=style["color"], ms=7, zorder=style["zorder"] + 1,
                        label=f"{who}: one-sided {sub.level:g} {'upper' if sub.kind == 'upper' else 'lower'} limit "
                              f"of the mean (compared with the bound)")


def _control_axis(ax, mc, mk):
    """The axes for the control: ``ax`` itself, or a second x axis on top when the control varies another
    variable (e.g. claim over k, control over n): never two variables on one x axis."""
    if mk.variable == mc.variable:
        return ax
    axk = ax.twiny()
    ax.set_zorder(axk.get_zorder() + 1)  # the claim stays on top
    ax.patch.set_visible(False)
    axk.set_xlabel(f"control: {mk.variable}", color=CONTROL["color"], fontsize=9)
    axk.tick_params(axis="x", colors=CONTROL["color"], labelsize=8)
    return axk


def _scale_control_x(axk, ax, mk, force_log: bool):
    if axk is ax:
        return
    x = mk.x
    if _categorical(mk):
        axk.set_xlim(x.min() - 0.6, x.max() + 0.6)
    elif np.all(x > 0) and (force_log or x.max() / x.min() >= 8):
        axk.set_xscale("log")
    if len(x) <= 8 and np.all(np.isfinite(x)):
        axk.set_xticks(x)
        axk.set_xticks([], minor=True)
        axk.set_xticklabels([f"{v:g}" for v in x], fontsize=8)


def _panel_slope(ax, res):
    mc, mk = res.measurement, res.control
    axk = _control_axis(ax, mc, mk)
    _series(axk, mk, CONTROL, "control", "slope")
    _series(ax, mc, CLAIM, "claim", "slope")
    _draw_bounds(ax, mc, mk, "bound", axk=axk)
    parts_c = res.result.stats.get("parts", [res.result.stats])
    parts_k = res.control_result.stats.get("parts", [res.control_result.stats])


    slopes = [(j, sub) for j, sub in enumerate(_parts(res.claim.rule)) if isinstance(sub, SlopeCI)]
    for j, sub in slopes:
        win = "" if sub.x_min is None and sub.x_max is None else \
            f" on [{mc.x.min() if sub.x_min is None else sub.x_min:g}, {mc.x.max() if sub.x_max is None else sub.x_max:g}]"
        for m, st, style, who, a_ in ((mk, parts_k[j], CONTROL, "control", axk), (mc, parts_c[j], CLAIM, "claim", ax)):
            w = sub._window(m)
            mean = w.mean
            if np.all(np.isfinite(mean)) and np.all(mean > 0):
                b, a = fit_loglog_slope(w.x, mean)
                lo, hi = st.get("ci", [np.nan, np.nan])
                a_.plot(w.x, np.exp(a) * w.x ** b, ls=(0, (1, 1.5)), color=style["color"], lw=2.2,
                        zorder=style["zorder"] + 1, alpha=0.9,
                        label=f"{who} fit{win}: slope {b:.2f} [{lo:.2f}, {hi:.2f}]" if b == b else None)
            else:
                ax.plot([], [], ls="none", gid="note", label=f"{who}{win}: no slope (non-finite or non-positive mean)")
        # the predicted slope (the threshold the rule uses) through the claim's geometric centre in the window
        w = sub._window(mc)
        mean = w.mean
        if np.all(np.isfinite(mean)) and np.all(mean > 0):
            lx, ly = np.log(w.x), np.log(mean)
            x0, y0 = lx.mean(), ly.mean()
            t = sub.tol
            edge = {"contains": sub.predicted, "below": sub.predicted + t, "above": sub.predicted - t}[sub.mode]
            what = {"contains": f"predicted slope {sub.predicted:g}" + (f" (CI may miss it by {t:g})" if t else ""),
                    "below": f"largest allowed slope {edge:g}" + (f" ({sub.predicted:g} + tolerance {t:g})" if t else ""),
                    "above": f"smallest allowed slope {edge:g}" + (f" ({sub.predicted:g} - tolerance {t:g})" if t else "")}
            many = len(slopes) > 1
            ax.plot(w.x, np.exp(y0 + edge * (lx - x0)), color="0.35", ls="--", lw=1.3, zorder=2,
                    label=None if many and j != slopes[0][0] else
                    what[sub.mode] + (" in each window" if many else win) + ", through the claim's centre")
        if (sub.x_min is not None or sub.x_max is not None) and j == slopes[0][0]:
            lo_w = mc.x.min() if sub.x_min is None else sub.x_min
            hi_w = mc.x.max() if sub.x_max is None else sub.x_max
            ax.axvspan(lo_w, hi_w, color="0.93", zorder=0, label=f"fit window{win}")
        elif sub.x_min is not None or sub.x_max is not None:
            for edge_x in (sub.x_min, sub.x_max):  # the other windows' edges
                if edge_x is not None:
                    ax.axvline(edge_x, color="0.6", lw=0.8, ls=":", zorder=0)
    _mean_limits(ax, res, axk)
    _scale_axes(ax, mc.x, [_central(mc, "slope"), _central(mk, "slope"), _bound(mc), _bound(mk)], True,
                _categorical(mc),
                seeds=(("control", CONTROL, mk.y), ("claim", CLAIM, mc.y)))
    _scale_control_x(axk, ax, mk, True)
    ax.set_xlabel(mc.variable if axk is ax else f"claim: {mc.variable}")
    _ylabel(ax, mc.quantity)
    _legend(ax, extra=axk)


def _panel_values(ax, res, kind):
    """Measured values of claim and control against their bounds (legend name: ``meta['bound_label']``, default
    "bound")."""
    mc, mk = res.measurement, res.control
    axk = _control_axis(ax, mc, mk)
    _series(axk, mk, CONTROL, "control", kind)
    _series(ax, mc, CLAIM, "claim", kind)
    _draw_bounds(ax, mc, mk, mc.meta.get("bound_label", "bound"), axk=axk)
    _mean_limits(ax, res, axk)
    _scale_axes(ax, mc.x, [_central(mc, kind), _central(mk, kind), _bound(mc), _bound(mk)], False,
                _categorical(mc), seeds=(("control", CONTROL, mk.y), ("claim", CLAIM, mc.y)))
    _scale_control_x(axk, ax, mk, False)
    ax.set_xlabel(mc.variable if axk is ax else f"claim: {mc.variable}")
    _ylabel(ax, mc.quantity)
    _legend(ax, extra=axk)


def _panel_ratio(ax, res):
    mc, mk = res.measurement, res.control
    for m, r, style, who in ((mk, res.control_result, CONTROL, "control"), (mc, res.result, CLAIM, "claim")):
        ratios = np.asarray(r.stats.get("ratios", []), dtype=np.float64)
        if ratios.size == m.x.size:
            rise = r.stats.get("largest_rise", float("nan"))
            _series(ax, m, style, f"{who}: mean / bound (largest step rise {rise:.3g})", "ratio", y_override=ratios)
    ax.plot([], [], ls="none", gid="note", label=f"rule: no step may rise by more than {res.claim.rule.tol:g} (relative)")
    _scale_axes(ax, mc.x, [], False, _categorical(mc))
    ax.set_xlabel(mc.variable)
    _ylabel(ax, f"mean {mc.quantity} / bound")
    _legend(ax)


def _panel_fraction(ax, res):
    """BoundHoldsEach: per x, the fraction of seeds that hold and its one-sided upper limit vs the threshold."""
    mc, mk = res.measurement, res.control
    rule = res.claim.rule
    for m, r, style, who in ((mk, res.control_result, CONTROL, "control"), (mc, res.result, CLAIM, "claim")):
        fr = np.asarray(r.stats["fractions"], dtype=np.float64)
        up = np.asarray(r.stats["upper_limits"], dtype=np.float64)
        off = 0.18 if who == "control" else -0.18
        xx = m.x + (off if _categorical(m) else 0.0)
        st = dict(style)
        st["ls"] = "none"
        ax.plot(xx, fr, label=f"{who}: fraction holding (lowest {fr.min():.3f})", **st)
        ax.vlines(xx, fr, up, color=style["color"], lw=1.2, zorder=style["zorder"])
        ax.plot(xx, up, ls="none", marker="_", ms=10, mew=2, color=style["color"], zorder=style["zorder"],
                label=f"{who}: one-sided {rule.level:g} upper limit (Bonferroni; lowest {up.min():.3f})")
    ax.axhline(rule.prob, color="k", ls="-.", lw=1.6, zorder=5,
               label=f"threshold {rule.prob:g}: fails where an upper limit is below it")
    ax.set_ylim(-0.04, 1.04)
    _scale_axes(ax, mc.x, [], False, _categorical(mc))
    ax.set_xlabel(mc.variable)
    _ylabel(ax, "fraction of seeds with measured " + ("<=" if rule.kind == "upper" else ">=") + " bound")
    _legend(ax)


def _panel_rank(ax, res, which: str):
    """Rank rules: the seed aggregate per instance against the predictor (``which="candidate"``: the bound values
    of claim and control; ``"comparator"``: ``meta['comparator']``), Spearman rho in the legend."""
    mc, mk = res.measurement, res.control
    xs_all, ys_all = [], []
    pairs = ((mk, res.control_result, CONTROL, "control"), (mc, res.result, CLAIM, "claim"))
    if which == "comparator":
        pairs = ((mc, res.result, dict(CLAIM, color="0.35", mfc="0.35", marker="D", ms=5), "claim"),)
    for m, r, style, who in pairs:
        who = who if which == "candidate" else "instances"
        y = _central(m, "rank")
        if which == "candidate":
            px = _bound(m)
            nm = m.meta.get("candidate", "bound")
            rho, lo = r.stats.get("rho", np.nan), r.stats.get("rho_lower", np.nan)
            lab = f"{who}: {nm}, rho {rho:.2f} (lower limit {lo:.2f})"
        else:
            px = np.asarray(m.meta["comparator"], dtype=np.float64)
            nm = m.meta.get("comparator_name", "comparator")
            lab = f"comparator {nm}: rho {r.stats.get('rho_comparator', np.nan):.2f}"
        order = np.argsort(px, kind="stable")
        st = dict(style)
        st["ls"] = "none"
        fin = np.isfinite(y)
        ax.plot(px[fin], y[fin], label=lab, **st)
        _edge_markers(ax, px[np.isposinf(y)], "top", style,
                      f"{who}: {int(np.isposinf(y).sum())} of {len(y)} instances never reached (+inf, top edge)"
                      if np.isposinf(y).any() else None)
        _edge_markers(ax, px[np.isnan(y) | np.isneginf(y)], "bottom", style,
                      f"{who}: {int((np.isnan(y) | np.isneginf(y)).sum())} NaN/-inf (bottom edge)"
                      if (np.isnan(y) | np.isneginf(y)).any() else None)
        xs_all.append(px[order])
        ys_all.append(y)
    fx = _finite_pos(*xs_all)
    if fx.size and np.all(fx > 0) and fx.max() / fx.min() >= 30:
        ax.set_xscale("log")
    fy = _finite_pos(*ys_all)
    if fy.size and np.all(fy > 0) and fy.max() / fy.min() >= 30:
        ax.set_yscale("log")
    rule = res.claim.rule
    if which == "candidate":
        ax.set_xlabel(f"predictor: {mc.meta.get('candidate', 'bound')} (per instance)")
        ax.plot([], [], ls="none", gid="note", label=f"rule: lower limit of rho >= {rule.min_rho:g}")
    else:
        ax.set_xlabel(f"comparator: {mc.meta.get('comparator_name', 'comparator')} (per instance)")
        d = res.result.stats.get("diff_lower", np.nan)
        ax.plot([], [], ls="none", gid="note", label=f"rho - rho_comparator lower limit {d:.2f}" +
                (" (required > 0)" if rule.require_better else " (reported only)"))
    ax.tick_params(labelsize=8)
    _ylabel(ax, mc.quantity + " (seed aggregate)")
    _legend(ax)


# --------------------------------------------------------------------------------------------- layout


def _caption(report, res) -> list[str]:
    c = res.claim
    ctl_verdict = "NOT rejected" if res.control_result.passed else "rejected"
    lines = [
        ("Claim", c.statement + (f"  [{c.source}]" if c.source else "")),
        ("Rule (what was tested)", c.rule.describe()),
        ("Measured (claim)", res.result.message),
        (f"Control ({ctl_verdict})", f"{c.control_description}: {res.control_result.message}"),
    ]
    if c.deviation and res.status == "deviation":
        lines.append(("Documented deviation", c.deviation))
    size = "quick" if report.quick else "full"

    verdict = STATUS_TEXT.get(res.status, res.status.upper())
    qual = verdict_qualifier(res)
    if qual:
        verdict = verdict.replace("PASS:", f"PASS{qual}:", 1)
    if res.measurement.invariant_violations:
        verdict = "FAIL: an invariant of the measurement is violated (see Measured), whatever the rule says"
    who = f"; learner {report.learner}" if getattr(report, "learner", None) else ""
    lines.append(("Verdict", f"{verdict}  ({size} size{who})"))
    out = []
    for head, text in lines:
        out.extend(textwrap.wrap(f"{head}: {text}", WRAP, subsequent_indent="    ", break_on_hyphens=False) or [""])
    return out


def _n_panels(res, kind: str) -> int:
    return 2 if kind == "each" or (kind == "rank" and "comparator" in res.measurement.meta) else 1


def _caption_height(report, res) -> float:
    return len(_caption(report, res)) * CAPTION_PT * 1.3 * 1.2 / 72 + 0.2


def figure_size(report, res) -> tuple[float, float]:
    """``(width, height)`` in inches of the figure of one claim (panels plus its caption).

    Parameters
    ----------
    report : CheckReport
        The report the claim belongs to.
    res : ClaimResult
        The claim's results.

    Returns
    -------
    tuple of float
        Width and height in inches.
    """
    return WIDTH_IN, _n_panels(res, _rule_kind(res.claim.rule)) * PANEL_IN + 0.55 + _caption_height(report, res)


def draw(fig, report, res):
    """Fill ``fig`` (of size :func:`figure_size`) with the figure of one claim; returns ``fig``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        An empty figure of size :func:`figure_size`.
    report : CheckReport
        The report the claim belongs to.
    res : ClaimResult
        The claim's measurement, control and rule results.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig``, filled.
    """
    kind = _rule_kind(res.claim.rule)
    cap = _caption(report, res)
    cap_in = _caption_height(report, res)
    h_tot = fig.get_size_inches()[1]
    n = _n_panels(res, kind)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    if kind == "slope":
        _panel_slope(axes[0], res)
    elif kind == "each":
        _panel_values(axes[0], res, kind)
        _panel_fraction(axes[1], res)
    elif kind == "rank":
        _panel_rank(axes[0], res, "candidate")
        if n == 2:
            _panel_rank(axes[1], res, "comparator")
    elif kind == "ratio":
        _panel_ratio(axes[0], res)
    else:
        _panel_values(axes[0], res, kind)
    status = res.status

    fig.suptitle(f"{report.name} / {res.claim.name}: {status.upper()}{verdict_qualifier(res)}", fontsize=11.5, fontweight="bold",
                 color=STATUS_COLOR.get(status, "k"), x=0.01, ha="left")
    text = fig.text(0.01, (cap_in - 0.08) / h_tot, "\n".join(cap), fontsize=CAPTION_PT, va="top", ha="left",
                    family="DejaVu Sans", linespacing=1.3)
    _layout(fig, axes, text, cap_in)
    return fig


def _layout(fig, axes, text, cap_in: float):
    """tight_layout above the caption; a legend taller than its panel makes the figure taller (never overlaps
    the caption or the panel below)."""
    w = fig.get_size_inches()[0]
    for _ in range(3):
        h_tot = fig.get_size_inches()[1]
        text.set_y((cap_in - 0.08) / h_tot)
        fig.tight_layout(rect=(0.0, cap_in / h_tot, 1.0, 1.0 - 0.2 / h_tot))
        fig.draw_without_rendering()
        need = 0.0
        for ax in axes:
            leg = ax.get_legend()
            if leg is None:
                continue
            lb, ab = leg.get_window_extent(), ax.get_window_extent()
            need = max(need, (ab.y0 - lb.y0) / fig.dpi)  # inches the legend hangs below its panel
        if need <= 0.02:
            return
        fig.set_size_inches(w, h_tot + need * len(axes) + 0.1)
