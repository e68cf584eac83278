"""The proof-check framework: measurements, pass rules, claims with negative controls, reports.

A :class:`Check` is one theorem (or a set of lemmas) of one paper. Each :class:`Claim` has

* ``measure(ctx) -> Measurement``: run the algorithm on concrete instances (a grid of a variable x seeds);
* ``rule``: a pass rule (:class:`BoundHolds`, :class:`SlopeCI`, :class:`RatioNonIncreasing`);
* ``negative_control(ctx) -> Measurement``: the same measurement on a deliberately broken variant (bonus
  removed, wrong exponent, ...) that the same rule **must reject**.

Status of a claim: ``"pass"`` (measurement passes, control rejected), ``"fail"`` (measurement rejected),
``"deviation"`` (measurement rejected, control rejected, and the claim documents this as a measured finding against
the theorem — ``Claim.deviation`` says what and by how much; it does not fail the check) or ``"broken"`` (the
control passes too: the check cannot discriminate, so it proves nothing). A check passes
only when every claim passes or shows exactly its documented deviation. A measurement that violates one of its
invariants (``Measurement.invariant_violations``: a regret below ``-tol``, a value above ``V*``, a probability
outside [0, 1], ...) fails its claim whatever the rule says.

Learners under test: a claim with ``uses_learner=True`` measures the learner named by ``RunContext.learner`` (an
import spec, see :mod:`proofs_checks.learners`; ``None`` = the built-in reference implementation) through the
check's ``protocol``; its negative control always runs the reference. ``Check.mutants`` lists realistic bugs of
the learner (:class:`Mutant`); :func:`run_mutants` runs each through the check and reports which claims kill it.

The package is split along its seams: :mod:`~proofs_checks.framework.model` (the measured data),
:mod:`~proofs_checks.framework.stats` (the statistics the rules share), :mod:`~proofs_checks.framework.rules`
(the pass rules), :mod:`~proofs_checks.framework.runner` (how a check runs its sweeps),
:mod:`~proofs_checks.framework.claims` (claims, checks, mutants), :mod:`~proofs_checks.framework.mutation`
(mutation analysis) and :mod:`~proofs_checks.framework.report` (reports and tables). Every name is re-exported
here.
"""
from __future__ import annotations

from .claims import Check, Claim, ClaimResult, Mutant, _invariant_failed
from .model import Measurement, _jsonable, verdict_qualifier
from .mutation import MutantResult, MutationReport, run_mutants
from .report import CheckReport, _rows, format_table, markdown_table
from .rules import (
    AllOf,
    BoundHolds,
    BoundHoldsEach,
    FractionAtLeast,
    MeanBound,
    RankCorrelationAbove,
    RatioNonIncreasing,
    Rule,
    RuleResult,
    SlopeCI,
    SuccessNotBelowReference,
    _bound_per_x,
    _holding,
)
from .runner import RunContext, _serial_runner, rows_to_matrix
from .stats import _spearman, fit_loglog_slope

__all__ = [
    "Measurement",
    "verdict_qualifier",
    "RuleResult",
    "BoundHolds",
    "SlopeCI",
    "RatioNonIncreasing",
    "FractionAtLeast",
    "RankCorrelationAbove",
    "SuccessNotBelowReference",
    "MeanBound",
    "AllOf",
    "Claim",
    "ClaimResult",
    "Check",
    "CheckReport",
    "RunContext",
    "Mutant",
    "MutantResult",
    "MutationReport",
    "run_mutants",
    "format_table",
    "fit_loglog_slope",
]
