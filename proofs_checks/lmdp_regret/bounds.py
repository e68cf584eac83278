"""Bounds of Zhou, Wang & Du, *Horizon-Free and Variance-Dependent RL for Latent MDPs*, ICML 2023 (abstract; the
theorem's lower-order terms were not retrieved and are omitted — the checks fit them as free constants).

* ``lmdp_regret_upper`` — ``Regret(K) = O~(sqrt(Var* M Gamma S A K))`` with probability ``1 - delta``, total reward
  per episode at most 1, context revealed in hindsight; the logarithmic factor ``iota = 2 ln(2 M S A H K / delta)``
  (paper Sec. 3) is kept under the root, which is where the ``H`` dependence goes (horizon-free up to logs).
* ``lmdp_regret_lower`` — ``Omega(sqrt(Var* M S A K))`` for ``Gamma = 2`` (worst case over variance-bounded LMDPs).
* ``lmdp_regret_lucrl`` — the rescaled L-UCRL bound of Kwon et al. (NeurIPS 2021) quoted by the paper's footnote:
  ``O~(sqrt(M S^2 A H K))`` for total reward at most 1.
"""
from __future__ import annotations

import sympy as _sp

from rltheory.bounds.core import Bound, sym

_V, _M, _G, _S, _A, _K, _H, _C, _d = (sym(n) for n in ("Var", "M", "Gamma", "S", "A", "K", "H", "C", "delta"))
_iota = 2 * _sp.log(2 * _M * _S * _A * _H * _K / _d)

LMDP_REGRET_UPPER = Bound(
    "lmdp_regret_upper",
    _C * _sp.sqrt(_V * _M * _G * _S * _A * _K * _iota),
    kind="upper",
    source="Zhou, Wang & Du 2023, Horizon-Free and Variance-Dependent RL for LMDPs, main theorem (abstract)",
    assumptions=("LMDP with context in hindsight", "total reward per episode <= 1, deterministic rewards",
                 "probability >= 1 - delta",
                 "Var* as defined in the paper (not retrieved; see rltheory.algorithms.lmdp.analysis)"),
    notes="lower-order terms (poly(M, S, A, Gamma) log terms) not retrieved; omitted",
)
LMDP_REGRET_LOWER = Bound(
    "lmdp_regret_lower",
    _C * _sp.sqrt(_V * _M * _S * _A * _K),
    kind="lower",
    source="Zhou, Wang & Du 2023, lower bound (abstract): Omega(sqrt(Var* M S A K)) with Gamma = 2",
    assumptions=("Gamma = 2", "variance-bounded LMDPs", "K large enough (condition not retrieved)"),
)
LMDP_REGRET_LUCRL = Bound(
    "lmdp_regret_lucrl",
    _C * _sp.sqrt(_M * _S ** 2 * _A * _H * _K * _iota),
    kind="upper",
    source="Kwon, Efroni, Caramanis & Mannor 2021 (L-UCRL), rescaled to total reward <= 1 as quoted by Zhou et al.",
    assumptions=("LMDP with context in hindsight", "total reward per episode <= 1"),
)

BOUNDS = (LMDP_REGRET_UPPER, LMDP_REGRET_LOWER, LMDP_REGRET_LUCRL)
