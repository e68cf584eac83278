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

    def format(self) -> str:
        """A plain-text table: one row per mutant (outcome, killing claim, evidence) and the mutation score.

        Returns
        -------
        str
            The table.
        """
        rows = [("mutant", "outcome", "killed by", "seconds", "evidence")]
        rows += [(r.mutant.name, r.outcome.upper(), r.killed_by or "-", f"{r.seconds:.1f}", r.message)
                 for r in self.results]
        widths = [min(max(len(str(row[i])) for row in rows), w) for i, w in enumerate((34, 17, 16, 7, 90))]
        out = []
        for i, row in enumerate(rows):
            out.append("  ".join((c if len(c) <= w else c[: w - 1] + "~").ljust(w) for c, w in zip(row, widths)))
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        out.append(f"mutation score of {self.check}: {self.n_killed}/{self.n_mutants} killed"
                   + (f" = {self.score:.2f}" if self.n_mutants else "")
                   + (f"; {len(self.results) - self.n_mutants} legitimate variant(s)"
                      if len(self.results) > self.n_mutants else ""))
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
