"""The proof-check framework: measurements, pass rules, claims with negative controls, reports.

A :class:`Check` is one theorem (or a set of lemmas) of one paper; each of its :class:`Claim` objects pairs a
measurement with a pass rule and a negative control that the same rule must reject. The package is split along
its seams; this module re-exports every name importable from the former single module, so
``from proofs_checks.framework import X`` keeps working.
"""
from __future__ import annotations

from .rules import (
    AllOf,
    BoundHolds,
    BoundHoldsEach,
    Check,
    CheckReport,
    Claim,
    ClaimResult,
    FractionAtLeast,
    MeanBound,
    Measurement,
    Mutant,
    MutantResult,
    MutationReport,
    RankCorrelationAbove,
    RatioNonIncreasing,
    Rule,
    RuleResult,
    RunContext,
    SlopeCI,
    _bound_per_x,
    _holding,
    _invariant_failed,
    _jsonable,
    _rows,
    _serial_runner,
    _spearman,
    _verdict_qualifier,
    fit_loglog_slope,
    format_table,
    markdown_table,
    rows_to_matrix,
    run_mutants,
)

__all__ = [
    "Measurement",
    "RuleResult",
    "BoundHolds",
    "SlopeCI",
    "RatioNonIncreasing",
    "FractionAtLeast",
    "RankCorrelationAbove",
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
