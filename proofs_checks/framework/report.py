"""Reports of a check run: :class:`CheckReport` (JSON, figures, Markdown) and the summary tables."""
from __future__ import annotations

import dataclasses
import json
import os
import pickle
import tempfile
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING

from .model import _jsonable, verdict_qualifier

if TYPE_CHECKING:
    from .claims import Check, ClaimResult

__all__ = ["CheckReport", "markdown_table", "format_table"]


@dataclass
class CheckReport:
    """The outcome of one run of a check: a :class:`ClaimResult` per claim run, and how it was run.

    Parameters
    ----------
    check : Check
        The check run.
    results : list of ClaimResult
        One per claim run.
    quick : bool
        Whether the quick size was run.
    seeds : int
        Number of seeds.
    learner : str, optional
        The learner under test (``None``: the reference).
    """
    check: Check
    results: list
    _: KW_ONLY
    quick: bool = True
    seeds: int = 0
    learner: str | None = None  # the learner under test (None: the reference)

    @property
    def name(self) -> str:
        """The check's name; for a learner run ``<check>@<learner tag>``, so that its files and rows never
        replace the reference run's."""
        if self.learner is None:
            return self.check.name
        from ..learners import spec_tag

        return f"{self.check.name}@{spec_tag(self.learner)}"

    @property
    def passed(self) -> bool:
        """Every claim passes, or fails exactly as its documented ``deviation`` says (control still rejected)."""
        return all(r.status in ("pass", "deviation") for r in self.results)

    def to_dict(self) -> dict:
        """The check, its run settings and every claim's results as JSON-ready data (the ``<check>.json`` file).

        Returns
        -------
        dict
            Plain types only.
        """
        return _jsonable({"check": self.check.name, "title": self.check.title, "source": self.check.source,
                          "quick": self.quick, "seeds": self.seeds, "passed": self.passed,
                          "learner": self.learner, "protocol": self.check.protocol,
                          "claims": [r.to_dict() for r in self.results]})

    def figure(self, result: ClaimResult):
        """The figure of one claim (a pyplot figure, so that Jupyter shows it inline): the measurement, the bound
        or threshold of the rule, the negative control, the verdict, and a caption stating the rule and the
        measured numbers (see :mod:`proofs_checks.framework.figures`). The matplotlib backend is left as it is.

        Parameters
        ----------
        result : ClaimResult
            One of ``self.results``.

        Returns
        -------
        matplotlib.figure.Figure
            The pyplot figure.
        """
        import matplotlib.pyplot as plt

        from . import figures as _figures

        return _figures.draw(plt.figure(figsize=_figures.figure_size(self, result)), self, result)

    def save(self, out_dir: str, *, executor: str = "serial", n_workers: int | None = None) -> dict:
        """Write ``<check>.json``, ``<check>__<claim>.png`` per claim and ``<check>.md``; returns the paths.

        The figures are drawn on bare :class:`matplotlib.figure.Figure` objects (no pyplot, no backend switch, no
        window opened on a desktop). With ``executor="local"`` they are drawn on the process pool of the sweeps
        (:func:`rltheory.experiments.run_sweep`), one figure per cell, from a copy of the report whose claims
        carry no code; a report that cannot be copied that way is drawn in this process. The files are the same
        either way.

        Parameters
        ----------
        out_dir : str
            Output directory (created if missing).
        executor : str
            ``"local"`` draws the figures on the local process pool; anything else (``"serial"``, a Dask
            address) draws them in this process.
        n_workers : int, optional
            Workers of the local pool (default: all available cores).

        Returns
        -------
        dict
            ``{"json": path, "figures": [paths], "markdown": path}``.
        """
        os.makedirs(out_dir, exist_ok=True)
        paths = {"json": os.path.join(out_dir, f"{self.name}.json"), "figures": [],
                 "markdown": os.path.join(out_dir, f"{self.name}.md")}
        with open(paths["json"], "w") as fh:
            json.dump(self.to_dict(), fh, indent=1)
        figs = [_figure_path(out_dir, self, r) for r in self.results]
        blob = self._drawable_pickle() if executor == "local" and len(self.results) > 1 else None
        if blob is None:
            for r, p in zip(self.results, figs):
                _save_figure(self, r, p)
        else:
            from rltheory.experiments import run_sweep

            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "report.pickle")
                with open(path, "wb") as fh:
                    fh.write(blob)
                run_sweep(_draw_cell, {"blob": [path], "index": list(range(len(figs))), "out_dir": [out_dir]},
                          [0], executor="local", n_workers=n_workers, progress=False, name="figures")
        paths["figures"] = figs
        with open(paths["markdown"], "w") as fh:
            fh.write(markdown_table([self]))
        return paths

    def _drawable_pickle(self) -> bytes | None:
        """This report pickled with its claims' ``measure`` / ``negative_control`` replaced by a stub (drawing
        needs the data, not the code); ``None`` when something else in it cannot be pickled."""
        def stub(claim):
            return dataclasses.replace(claim, measure=_not_runnable, negative_control=_not_runnable)

        try:
            claims = {id(c): stub(c) for c in self.check.claims}
            results = [dataclasses.replace(r, claim=claims.get(id(r.claim)) or stub(r.claim)) for r in self.results]
            check = dataclasses.replace(self.check, claims=list(claims.values()))
            return pickle.dumps(dataclasses.replace(self, check=check, results=results))
        except Exception:  # an unpicklable rule or bound: draw in this process
            return None


def _not_runnable(ctx):
    """Stands in for the code of a claim copied for drawing: such a copy is never run."""
    raise RuntimeError("this claim is a copy made to draw its figure; run the check's own claim")


def _figure_path(out_dir: str, report: CheckReport, res) -> str:
    return os.path.join(out_dir, f"{report.name}__{res.claim.name}.png")


def _save_figure(report: CheckReport, res, path: str) -> None:
    from matplotlib.figure import Figure

    from . import figures as _figures

    fig = _figures.draw(Figure(figsize=_figures.figure_size(report, res)), report, res)
    fig.savefig(path, dpi=100)


def _draw_cell(blob: str, index: int, out_dir: str, seed: int) -> dict:
    """One sweep cell of :meth:`CheckReport.save`: draw figure ``index`` of the pickled report ``blob``.

    Parameters
    ----------
    blob : str
        Path of the pickled report (:meth:`CheckReport._drawable_pickle`).
    index : int
        Index of the claim result to draw.
    out_dir : str
        Output directory.
    seed : int
        Unused (the figure is deterministic); required by the sweep's cell signature.

    Returns
    -------
    dict
        ``{"path": path}`` of the PNG written.
    """
    with open(blob, "rb") as fh:
        report = pickle.load(fh)
    res = report.results[index]
    path = _figure_path(out_dir, report, res)
    _save_figure(report, res, path)
    return {"path": path}


def _rows(reports):
    for rep in reports:
        for r in rep.results:
            yield (rep.name, r.claim.name, r.result.message, r.control_result.message, r.status)


def _md_cell(value) -> str:
    """One Markdown table cell: a ``|`` (as in ``|S|``) escaped as ``\\|`` (GitHub Markdown shows it as ``|``) so
    it neither ends the cell nor changes the text; a newline becomes a space."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(reports) -> str:
    """One row per claim: the rule (what exactly was tested: hypothesis, level, tolerance), the measured numbers
    with the decision they led to, the negative control's numbers, and the status.

    Parameters
    ----------
    reports : iterable of CheckReport
        The reports to list.

    Returns
    -------
    str
        The Markdown table, newline-terminated.
    """
    lines = ["| check | claim | tested (rule) | measured: decision | negative control (must be rejected) | status |",
             "| --- | --- | --- | --- | --- | --- |"]
    for rep in reports:
        for r in rep.results:
            ctl = ("rejected" if not r.control_result.passed else "NOT rejected") + f": {r.control_result.message}"
            cells = (rep.name, r.claim.name, r.claim.rule.describe(), r.result.message, ctl)
            lines.append("| " + " | ".join(_md_cell(c) for c in cells)
                         + f" | **{r.status}**{verdict_qualifier(r)} |")
    return "\n".join(lines) + "\n"


def format_table(reports, *, width: int | None = None) -> str:
    """Plain-text table for the terminal, at most ``width`` columns wide: one row per claim (check, claim, status),
    its rule's message and its negative control's message wrapped underneath, never cut (summary.md has the same
    messages as a Markdown table). ``width`` defaults to the terminal's width, at most 100 (60 at least).

    Parameters
    ----------
    reports : iterable of CheckReport
        The reports to list.
    width : int, optional
        Largest line width.

    Returns
    -------
    str
        The table.
    """
    import shutil
    import textwrap

    if width is None:
        width = min(max(shutil.get_terminal_size((100, 24)).columns, 60), 100)
    rows = list(_rows(reports))
    status_w = max([len("status")] + [len(r[4]) for r in rows])
    name_w = min(max([len("check / claim")] + [len(r[0]) for r in rows] + [2 + len(r[1]) for r in rows]),
                 max(width // 3, 16))
    text_w = max(width - name_w - status_w - 4, 20)
    pad = " " * (name_w + status_w + 4)

    def wrap(label, text):
        return textwrap.wrap(f"{label}{text}", text_w, subsequent_indent=" " * len(label),
                             break_long_words=False, break_on_hyphens=False) or [label]

    out = [f"{'check / claim':<{name_w}}  {'status':<{status_w}}  measured: decision; control",
           "-" * min(width, name_w + status_w + 4 + text_w)]
    current = None
    for check, claim, measured, control, status in rows:
        if check != current:
            out.append(check)
            current = check
        lines = wrap("", measured) + wrap("control: ", control)
        name = f"  {claim}"
        if len(name) > name_w:  # a name too long for its column gets a line of its own
            out.append(name)
            name = ""
        out.append(f"{name:<{name_w}}  {status.upper():<{status_w}}  {lines[0]}")
        out.extend(pad + line for line in lines[1:])
    out.append("-" * min(width, name_w + status_w + 4 + text_w))
    out += textwrap.wrap("control: the claim's negative control (a deliberately broken variant), which the same "
                         "rule must reject; details per claim in summary.md and <check>.json", width)
    return "\n".join(out)
