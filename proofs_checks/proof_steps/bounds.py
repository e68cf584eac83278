"""Bounds of the proof-steps check: none as a sympy :class:`~rltheory.bounds.core.Bound`.

The lemmas of :mod:`proofs_checks.proof_steps.claims` (simulation lemma, performance difference, elliptical
potential, total variance) are inequalities checked instance by instance; their right-hand sides are computed
in :mod:`rltheory.lemmas`, not rates in a size parameter, so the wing registers no bound.
"""

BOUNDS = ()
