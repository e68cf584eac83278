"""Mutant catalogues: realistic bugs of the algorithms under test, one module per check (``<check>.py``).

Each mutant is a learner factory or a function variant following its check's protocol (``Check.protocol``);
the check lists them in ``Check.mutants`` and a mutation run requires each non-legitimate one to fail the check.
"""
