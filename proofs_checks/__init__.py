"""Executable checks of the theorems rltheory covers: one wing (subpackage) per paper.

Every subpackage ``proofs_checks/<check>/`` exports ``CHECK`` (a :class:`~proofs_checks.framework.Check`) and is
registered in the entry-point group ``rltheory.checks`` of ``pyproject.toml``, through which the command line
finds it. :func:`registry` walks this package's own wings (no installation needed), e.g. for the tests.
"""
from __future__ import annotations

import importlib
import os
import pkgutil

from .framework import (
    BoundHolds,
    BoundHoldsEach,
    Check,
    CheckReport,
    Claim,
    FractionAtLeast,
    MeanBound,
    Measurement,
    Mutant,
    MutationReport,
    RankCorrelationAbove,
    RatioNonIncreasing,
    RunContext,
    SlopeCI,
    format_table,
    markdown_table,
    run_mutants,
)
from .learners import learner_spec, resolve_learner

__all__ = ["BoundHolds", "BoundHoldsEach", "Check", "CheckReport", "Claim", "FractionAtLeast", "Measurement", "RankCorrelationAbove", "RatioNonIncreasing", "RunContext",
           "SlopeCI", "format_table", "markdown_table", "registry", "get", "Mutant", "MutationReport", "run_mutants",
           "learner_spec", "resolve_learner"]

_NOT_CHECKS = {"cli", "figures", "framework", "learners"}


def registry() -> dict:
    """``{name: Check}`` for every check module of this package.

    Returns
    -------
    dict of str to Check
        The checks by name.
    """
    found = {}
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_") or mod.name in _NOT_CHECKS:
            continue
        m = importlib.import_module(f"{__name__}.{mod.name}")
        check = getattr(m, "CHECK", None)
        if check is None and hasattr(m, "make_check"):
            check = m.make_check()
        if isinstance(check, Check):
            found[check.name] = check
    return found


def get(name: str) -> Check:
    """The check named ``name``.

    Parameters
    ----------
    name : str
        A check name (a key of :func:`registry`).

    Returns
    -------
    Check
        The check.

    Raises
    ------
    KeyError
        No check has that name; the message lists the known ones.
    """
    reg = registry()
    if name not in reg:
        raise KeyError(f"unknown check {name!r}; known checks: {', '.join(sorted(reg)) or 'none'}")
    return reg[name]


if os.environ.get("RLTHEORY_RECORD_KERNELS"):  # set by `python -m proofs_checks._record_kernels`
    from ._record_kernels import install_recorder

    install_recorder(os.environ["RLTHEORY_RECORD_KERNELS"])
