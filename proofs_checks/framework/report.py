"""Reports of a check run: :class:`CheckReport` (JSON, figures, Markdown) and the summary tables."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .model import _jsonable

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
        measured numbers (see :mod:`proofs_checks.figures`). The matplotlib backend is left as it is.

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

        from .. import figures as _figures

        return _figures.draw(plt.figure(figsize=_figures.figure_size(self, result)), self, result)

    def save(self, out_dir: str) -> dict:
        """Write ``<check>.json``, ``<check>__<claim>.png`` per claim and ``<check>.md``; returns the paths.

        The figures are drawn on bare :class:`matplotlib.figure.Figure` objects (no pyplot, no backend switch, no
        window opened on a desktop).

        Parameters
        ----------
        out_dir : str
            Output directory (created if missing).

        Returns
        -------
        dict
            ``{"json": path, "figures": [paths], "markdown": path}``.
        """
        from matplotlib.figure import Figure

        from .. import figures as _figures

        os.makedirs(out_dir, exist_ok=True)
        paths = {"json": os.path.join(out_dir, f"{self.name}.json"), "figures": [],
                 "markdown": os.path.join(out_dir, f"{self.name}.md")}
        with open(paths["json"], "w") as fh:
            json.dump(self.to_dict(), fh, indent=1)
        for r in self.results:
            fig = _figures.draw(Figure(figsize=_figures.figure_size(self, r)), self, r)
            p = os.path.join(out_dir, f"{self.name}__{r.claim.name}.png")
            fig.savefig(p, dpi=100)
            paths["figures"].append(p)
        with open(paths["markdown"], "w") as fh:
            fh.write(markdown_table([self]))
        return paths


def _rows(reports):
    for rep in reports:
        for r in rep.results:
            yield (rep.name, r.claim.name, r.result.message, r.control_result.message, r.status)


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
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells)
                         + f" | **{r.status}**{_verdict_qualifier(r)} |")
    return "\n".join(lines) + "\n"


def _verdict_qualifier(r) -> str:
    """What a pass rests on when it is weaker than 'confirmed': a hypothesis the data did not reject, or a
    prediction met only within the rule's tolerance (the rule messages say which and by how much)."""
    if r.status != "pass":
        return ""
    msg = r.result.message
    quals = [q for q in ("not rejected", "within tolerance") if q in msg]
    return f" ({' and '.join(quals)})" if quals else ""


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

    out = [f"{'check / claim':<{name_w}}  {'status':<{status_w}}  measured vs predicted; control",
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
