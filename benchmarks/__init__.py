"""Speed benchmarks of rltheory's exact solvers against NumPy, QuantEcon and pymdptoolbox.

Run ``python -m benchmarks.run`` (add ``--quick`` for a ~1-minute version) from the repository root.
Every number is measured in the same process, competitors interleaved, best of N after a warm-up
(Numba compilation excluded). Results go to ``benchmarks/results/*.json``.
"""
