"""Mutant catalogues: realistic bugs of each check's learner, one module per check (``<check>.py``, ``MUTANTS``).

Each mutant is a learner factory (or a variant the check's protocol interprets) named by an import spec in a
:class:`~proofs_checks.framework.Mutant`; ``rltheory check NAME --mutants`` runs them through the check's learner
claims, and ``tests/test_mutants.py`` (slow tier) requires every non-legitimate one to be killed.
"""
