"""Bounds of the tabular-regret check as sympy :class:`~rltheory.bounds.core.Bound` objects, imported by
:mod:`proofs_checks.tabular_regret.claims`.

* ``tabular_regret_ucbvi`` -- Azar, Osband & Munos (ICML 2017), Theorem 1 (UCBVI-CH): with probability at
  least 1 - delta, ``Regret(K) <= C H sqrt(S A T) L`` for ``T = K H`` steps, per-step rewards in [0, 1],
  time-homogeneous transitions, ``L = log(5 S A T / delta)``, and ``T >= H S^3 A`` (the lower-order term
  ``H^2 S^2 A L^2`` is dropped here; the theorem's constants are 20 and 250).
* ``tabular_regret_lower`` -- minimax lower bound ``Omega(sqrt(H^2 S A K)) = Omega(H sqrt(S A K))``
  for time-homogeneous finite-horizon MDPs with rewards in [0, 1] (Jaksch, Ortner & Auer 2010, Thm 5 in
  the average-reward setting; Domingues, Menard, Kaufmann & Valko, ALT 2021, Thm 9 for episodic MDPs:
  ``Omega(sqrt(H^3 S A K))`` for time-inhomogeneous transitions).
"""
import sympy as _sp

from rltheory.bounds.core import Bound, sym

_S, _A, _H, _K, _C, _delta = (sym(n) for n in ("S", "A", "H", "K", "C", "delta"))

TABULAR_REGRET_UCBVI = Bound(
    "tabular_regret_ucbvi",
    _C * _H * _sp.sqrt(_S * _A * _K * _H) * _sp.log(5 * _S * _A * _K * _H / _delta),
    kind="upper",
    source="Azar, Osband & Munos 2017, Minimax Regret Bounds for RL, Theorem 1 (UCBVI-CH)",
    assumptions=("finite horizon H, time-homogeneous P", "per-step rewards in [0, 1], known",
                 "T = K H >= H S^3 A", "probability >= 1 - delta"),
    notes="regret over K episodes; the theorem's constant is C = 20 and it adds 250 H^2 S^2 A L^2",
)
TABULAR_REGRET_LOWER = Bound(
    "tabular_regret_lower",
    _C * _H * _sp.sqrt(_S * _A * _K),
    kind="lower",
    source="Jaksch, Ortner & Auer 2010, Thm 5; Domingues et al. 2021, Episodic RL lower bounds, Thm 9",
    assumptions=("finite horizon H, time-homogeneous P", "per-step rewards in [0, 1]", "K >= S A"),
    notes="any algorithm, worst case over MDPs with S states and A actions",
)

BOUNDS = (TABULAR_REGRET_UCBVI, TABULAR_REGRET_LOWER)
