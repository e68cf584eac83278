"""Tighter GORP sample-complexity bounds from the random policy's return distribution (Laidlaw, Russell & Dragan,
NeurIPS 2023, Appendix C).

The simple bound (:func:`rltheory.algorithms.effective_horizon.analysis.simple_effective_horizon`, Thm 5.4) sizes the number
``m`` of rollouts per action sequence with one Bernstein-type inequality per state. Appendix C instead bounds the
probability that GORP (lookahead ``k``, ``m`` rollouts per sequence; :func:`rltheory.algorithms.effective_horizon.gorp`)
ends with a sub-optimal policy, recursively over the states an optimal policy can visit, and searches the
smallest ``m`` for which that probability is at most 1/2. This module is our own implementation of that
computation; the definitions were read from the authors' Julia code (``EffectiveHorizon.jl``,
``gorp_bounds.jl`` and ``compute_gorp_bounds.jl``; ``distributional_value_iteration.jl`` for the return
distribution). Deterministic, time-homogeneous finite-horizon MDPs only; time steps ``t = 0..T-1``.

**Failure recursion** (authors: ``compute_failure_prob``). Let ``O`` be the pairs ``(t, s)`` reached from the
start by actions with ``Q*_t(s,a) >= V*_t(s) - precision``. Backwards in ``t``, for ``(t, s)`` in ``O``:
``f(a) = 1`` for a sub-optimal ``a``, ``0`` for an optimal ``a`` at ``t = T-1``, else ``F_{t+1}(s')``. GORP at
``(t, s)`` picks the sequence ``a_{1:k}`` with the highest mean of ``m`` returns; each return is the rewards of
the sequence plus a uniformly random continuation, with mean ``Q^rand`` of the sequence and the variance / third
absolute central moment of the random return from the state the sequence leads to (sequences running past the
horizon just sum their rewards; authors: ``get_k_step_qs``). With ``p_j`` the probability that sequence ``j`` is
picked and ``l_j <= p_j <= u_j`` bounds on it,
``F_t(s) = max { sum_j p_j f(first action of j) : l <= p <= u, sum_j p_j = 1 }`` — a small linear programme
(the "optimisation per k"; authors: ``max_failure_prob`` with SCIP; here solved exactly by filling the slack
``1 - sum l`` into the largest ``f`` first). As in the authors' code, the programme is solved only when
``sum u f - sum l f > 0.01``; otherwise ``min(sum_j u_j f_j, max_a f(a))`` is used. Before that, if
``sum u < 1`` the deficit is added to every ``u_j`` (capped at 1). ``F_t(s)`` is the smallest value over the
applicable bounds on ``p``:

* **binomial** (authors: ``compute_binomial_action_prob_bounds``; only when every reward is 0 or the largest
  optimal value, ``k = 1`` and ``m <= 10^6``): returns are then 0 or 1 after dividing by that value, so the
  number of successes of action ``a`` is Binomial(m, Q^rand(a)). Its support is cut at the quantiles
  ``0, 0.01, ..., 1`` (normal approximation ``floor(clip(m p + sqrt(m p (1-p)) z_q, 0, m))`` for ``m >= 30``,
  exact binomial quantiles with Boost's outward rounding below); for each cell ``(lo, hi]``,
  ``P(lo < X_a <= hi) prod_b P(X_b <= lo)`` and ``... prod_b P(X_b <= hi)`` bound the probability that ``a``
  wins from below and above. Cumulative probabilities are exact (regularised incomplete beta).
* **Berry-Esseen** (authors: ``compute_berry_esseen_action_prob_bounds``; needs the return moments and at most
  100 sequences): the mean of ``m`` returns has a CDF within
  ``beta = min(0.33554 (rho + 0.415 s^3), 0.3328 (rho + 0.429 s^3)) / (s^3 sqrt m)`` of the normal one
  (Shevtsova's constants; ``s^2`` variance, ``rho`` third absolute central moment); the sequence's mass between
  its ``q - 0.01`` and ``q`` quantiles (``q = 0.01..1``) is paired with the other sequences' normal CDFs
  shifted by their ``beta``.
* **Bernstein** (authors: ``compute_bernstein_action_prob_bounds``; at most 100 sequences): the same
  quantile scheme with Bernstein's tail ``exp(-m t^2 / (2 (v + b t / 3)))``, ``v = (Q* - Q^rand)(Q^rand - Q^worst)``
  (Bhatia-Davis) and ``b = Q* - Q^worst`` of each sequence.
* **Bennett** (authors: ``compute_bennett_action_prob_bounds``; always): with the threshold halfway between the
  highest ``Q^rand`` and the highest one below it by more than ``precision``,
  ``u_j = 1 - (1 - B_j)(1 - prod_{max} B_max)``, ``B`` Bennett tails ``exp(-m v / b^2 h(b t / v))``,
  ``h(u) = (1+u) log(1+u) - u``; ``l_j = 0``. (The authors' variance proxy for the maximal sequences is
  ``(Q^rand - Q^worst)(Q* - Q^worst)``, for the others ``(Q^rand - Q^worst)(Q* - Q^rand)``; kept as is.)

Two shortcuts of ours, both conservative: a state whose actions' ``f`` differ by at most ``SKIP_TOL = 1e-12`` gets
``max_a f(a)`` without the schemes, and the schemes stop once one reaches ``min_a f(a)`` (no scheme can go lower);
the result differs from the authors' by at most ``T * 1e-12``. Binomial CDFs are tabulated over +-40 standard
deviations by the pmf recurrence from one incomplete-beta value (exact evaluations outside).

**Search over m** (authors: ``compute_gorp_bounds.jl``): if ``F_0(s_0) <= 1/2`` at ``m = 10^100``, shrink
``[m_min, m_max] = [0, 10^100]`` by ``m_mid = floor(sqrt(m_max (m_min + 1)))`` (with the 256-bit rounding of the
authors' big-float arithmetic) while ``m_max > m_min + 1`` and ``(m_max - m_min) / m_max > 0.01``; ``m_k = m_max``.
Reported per k: ``H_k = k + log_A m_k``, the authors' sample complexity ``T^2 A^k m_k`` (time steps: ``T`` decisions,
``A^k m_k`` rollouts each, ``T`` steps per rollout) and the episode budget ``T A^k m_k`` (what
:func:`~rltheory.algorithms.effective_horizon.gorp` counts). The tight effective horizon is ``min_k H_k`` (not
capped at ``T``). ``k`` runs to ``floor(log_A 1000)`` unless ``k_max`` is given (the authors' default).

**Units** (authors: ``compute_gorp_bounds.jl``, ``MDPForAnalysis``). Rewards are multiplied by
``round(1 / r_min)`` when the smallest positive reward ``r_min`` is below 1, and, when every reward is 0 or the
largest optimal value ``V_max`` (over pairs reachable from the start), divided by ``V_max``; ``precision`` applies
in those units. The return moments are computed in the same units (our choice, so that the Berry-Esseen bound is
valid); the authors computed them once from the raw rewards, which differs when a scale factor is not 1 —
``authors_moment_units=True`` reproduces that (on the published MiniGrid/Freeway/Maze files it changes nothing
we could measure, see the tests).

**Return distribution** (authors: ``distributional_value_iteration``): exact distribution of the random
policy's return from each ``(t, s)``, atoms closer than ``precision`` merged (we keep the probability-weighted
mean of merged atoms, so the mean is exact; the authors keep the last inserted value). If a layer needs more than
``max_atoms`` atoms the Berry-Esseen bound is skipped for the MDP (reported in ``moments``).

Numerical functions: the normal quantile is Wichura's AS 241, the normal CDF ``erfc(-z/sqrt 2)/2``; a normal of
zero variance is the point mass (CDF 1 at its mean, quantiles ``+-inf`` at 0 and 1). The Julia code uses
``erfcinv`` for the quantile, so the two differ in the last bits; the search decisions at 1/2 are not affected
on the published files (tests).
"""
from ._constants import METHODS
from .bound import TightGORPBound, gorp_failure_probability, tight_gorp_bound
from .moments import ReturnMoments, return_moments

__all__ = ["TightGORPBound", "ReturnMoments", "return_moments", "gorp_failure_probability", "tight_gorp_bound", "METHODS"]
