"""Mutation analysis: run a check's realistic learner bugs (:class:`~proofs_checks.framework.Mutant`) through it."""
from __future__ import annotations

import time
from dataclasses import KW_ONLY, dataclass, replace
from typing import TYPE_CHECKING, Sequence

from .claims import Mutant
from .model import _jsonable
from .runner import RunContext

if TYPE_CHECKING:
    from .claims import Check
    from .report import CheckReport

__all__ = ["MutantResult", "MutationReport", "run_mutants"]


@dataclass
class MutantResult:
    """One mutant run through its check: ``outcome`` is ``"killed"`` (a claim failed), ``"survived"`` (every
    learner claim passed), ``"legitimate"`` (a legitimate variant that passed) or ``"legitimate-failed"``."""

    mutant: Mutant
    outcome: str
    killed_by: str
    message: str
    seconds: float
    _: KW_ONLY
    report: "CheckReport | None" = None

    def to_dict(self):
        """The outcome and the status of every claim run, as JSON-ready data.

        Returns
        -------
        dict
            Plain types only.
        """
        return _jsonable({"name": self.mutant.name, "description": self.mutant.description,
                          "learner": self.mutant.learner, "legitimate": self.mutant.legitimate,
                          "outcome": self.outcome, "killed_by": self.killed_by, "message": self.message,
                          "seconds": self.seconds,
                          "claims": {r.claim.name: r.status for r in self.report.results} if self.report else {}})


@dataclass
class MutationReport:
    """Mutation analysis of one check: every mutant's outcome and the mutation score (killed / non-legitimate)."""

    check: str
    results: list
    _: KW_ONLY
    quick: bool = True

    @property
    def n_mutants(self) -> int:
        """Number of non-legitimate mutants."""
        return sum(not r.mutant.legitimate for r in self.results)

    @property
    def n_killed(self) -> int:
        """Number of mutants whose run failed a claim."""
        return sum(r.outcome == "killed" for r in self.results)

    @property
    def score(self) -> float:
        """Killed / non-legitimate mutants (NaN without any)."""
        return self.n_killed / self.n_mutants if self.n_mutants else float("nan")

    @property
    def passed(self) -> bool:
        """Every non-legitimate mutant killed and every legitimate variant passing."""
        return all(r.outcome in ("killed", "legitimate") for r in self.results)

    def to_dict(self):
        """The score and every mutant's outcome as JSON-ready data.

        Returns
        -------
        dict
            Plain types only.
        """
        return _jsonable({"check": self.check, "quick": self.quick, "score": self.score,
                          "killed": self.n_killed, "mutants": self.n_mutants, "passed": self.passed,
                          "results": [r.to_dict() for r in self.results]})

    def format(self, *, width: int | None = None) -> str:
        """A plain-text table at most ``width`` columns wide: one row per mutant (outcome, seconds) with the claim
        that killed it and the evidence wrapped underneath, then the mutation score. Names are never cut: a mutant
        name too long for its column gets a line of its own, like the claims of :func:`format_table`.

        Parameters
        ----------
        width : int, optional
            Largest line width (at least 60); default the terminal's width, at most 100.

        Returns
        -------
        str
            The table.
        """
        import shutil
        import textwrap

        if width is None:
            width = min(shutil.get_terminal_size((100, 24)).columns, 100)
        if isinstance(width, bool) or not isinstance(width, int):
            raise TypeError(f"width: expected an int, got {type(width).__name__}")
        width = max(width, 60)
        rows = [(r.mutant.name, r.outcome.upper(), f"{r.seconds:.1f}",
                 (f"killed by {r.killed_by}: " if r.killed_by else "") + r.message) for r in self.results]
        out_w = max([len("outcome")] + [len(r[1]) for r in rows])
        sec_w = max([len("seconds")] + [len(r[2]) for r in rows])
        name_w = min(max([len("mutant")] + [len(r[0]) for r in rows]), width - out_w - sec_w - 4)
        rule = "-" * min(width, name_w + out_w + sec_w + 4)
        out = [f"{'mutant':<{name_w}}  {'outcome':<{out_w}}  {'seconds':>{sec_w}}", rule]
        for name, outcome, sec, text in rows:
            if len(name) > name_w:  # a name too long for its column gets a line of its own
                out.append(name)
                name = ""
            out.append(f"{name:<{name_w}}  {outcome:<{out_w}}  {sec:>{sec_w}}")
            out += textwrap.wrap(text, width, initial_indent="    ", subsequent_indent="    ",
                                 break_long_words=False, break_on_hyphens=False)
        out.append(rule)
        out += textwrap.wrap(f"mutation score of {self.check}: {self.n_killed}/{self.n_mutants} killed"
                             + (f" = {self.score:.2f}" if self.n_mutants else "")
                             + (f"; {len(self.results) - self.n_mutants} legitimate variant(s)"
                                if len(self.results) > self.n_mutants else ""), width,
                             break_long_words=False, break_on_hyphens=False)
        return "\n".join(out)


def run_mutants(check: "Check", ctx: RunContext | None = None, *, mutants: Sequence[str] | None = None) -> MutationReport:
    """Run every mutant of ``check`` (or those named in ``mutants``) through its learner claims.

    Each mutant runs as ``check.run(replace(ctx, learner=mutant.learner), stop_on_fail=True)``; the negative
    controls (the reference's) are computed once and shared. A non-legitimate mutant is *killed* when a claim's
    status is ``"fail"`` (its measurement is rejected or violates an invariant), else it *survived*.

    Parameters
    ----------
    check : Check
        A check with ``mutants`` and learner claims.
    ctx : RunContext, optional
        Size, seeds and output directory (``ctx.learner`` is ignored).
    mutants : sequence of str, optional
        Names of the mutants to run (default: all).

    Returns
    -------
    MutationReport
        Outcome per mutant and the mutation score ``killed / non-legitimate``.
    """
    ctx = RunContext() if ctx is None else ctx
    chosen = check.mutants if mutants is None else [m for m in check.mutants if m.name in set(mutants)]
    if mutants is not None and len(chosen) != len(set(mutants)):
        known = [m.name for m in check.mutants]
        raise ValueError(f"mutants: unknown mutant(s) {sorted(set(mutants) - set(known))}; known: {known}")
    cache: dict = {}
    results = []
    for mu in chosen:
        t0 = time.perf_counter()
        rep = check.run(replace(ctx, learner=mu.learner), stop_on_fail=True, control_cache=cache)
        bad = [r for r in rep.results if r.status == "fail"]
        if bad:
            outcome, by, msg = "killed", bad[0].claim.name, bad[0].result.message
        else:
            outcome, by = "survived", ""
            msg = "; ".join(f"{r.claim.name}: {r.status} ({r.result.message})" for r in rep.results)
        if mu.legitimate:
            outcome = "legitimate-failed" if bad else "legitimate"
        results.append(MutantResult(mu, outcome, by, msg, time.perf_counter() - t0, report=rep))
    return MutationReport(check.name, results, quick=ctx.quick)
