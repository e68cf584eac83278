"""Executable statements of the lemmas that the covered regret and sample-complexity proofs lean on.

Each function computes both sides of a lemma exactly on a concrete instance, so that tests (hypothesis)
and the ``proof_steps`` check can compare them. Finite-horizon MDPs, Markov policies, deterministic
mean rewards ``R_h(s, a)`` throughout (the return's randomness comes from the transitions and the policy).

* :func:`return_variance` / :func:`total_variance_decomposition`: law of total variance for returns
  (e.g. Azar, Munos & Kappen 2013, Lemma 4; Azar et al. 2017, Eq. (9); Zhang, Ji & Du 2021, Sec. 4):
  ``Var^pi[sum_h r_h] = E^pi[ sum_h Var_{s'~P_h(s_h,a_h)} V^pi_{h+1}(s') + sum_h Var_{a~pi_h(s_h)} Q^pi_h(s_h, a) ]``.
* :func:`elliptical_potential`: Abbasi-Yadkori, Pal & Szepesvari (2011), Lemma 11:
  ``sum_k min(1, ||x_k||^2_{Sigma_{k-1}^{-1}}) <= 2 d log(1 + K L^2 / (d lambda))`` for
  ``Sigma_k = lambda I + sum_{j<=k} x_j x_j^T`` and ``||x_k|| <= L``.
* :func:`performance_difference`: Kakade & Langford (2002), Lemma 6.1 (finite-horizon form):
  ``V^{pi'}_0(mu0) - V^pi_0(mu0) = sum_h E_{(s,a) ~ d^{pi'}_h}[Q^pi_h(s,a) - V^pi_h(s)]``.
* :func:`simulation_lemma`: (e.g. Kearns & Singh 2002; Agarwal et al., RL: Theory and Algorithms, Lemma 2.2
  in finite-horizon form): for two models M, M' with the same rewards,
  ``V^pi_{M',0}(mu0) - V^pi_{M,0}(mu0) = sum_h E_{(s,a) ~ d^pi_{M',h}}[(P'_h - P_h)(.|s,a) . V^pi_{M,h+1}]``.
"""
from __future__ import annotations

import numpy as np

from ._validation import check_real
from .models.tabular import TabularMDP
from .solvers.api import as_stochastic_policy, evaluate_vq, next_value_variance, occupancy

__all__ = [
    "return_variance",
    "total_variance_decomposition",
    "elliptical_potential",
    "elliptical_potential_bound",
    "performance_difference",
    "simulation_lemma",
]


def _require_finite(mdp: TabularMDP, who: str) -> None:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    if not mdp.finite_horizon:
        raise ValueError(f"{who}: needs a finite-horizon MDP (horizon=H)")


def return_variance(mdp: TabularMDP, policy) -> float:
    """``Var^pi[G]`` of the return ``G = sum_{h<H} R_h(s_h, a_h)`` from ``mu0``, by the exact second-moment recursion

    ``M_h(s) = sum_a pi_h(a|s) [R_h(s,a)^2 + 2 R_h(s,a) (P_h V_{h+1})(s,a) + (P_h M_{h+1})(s,a)]``, ``M_H = 0``,
    then ``Var = <mu0, M_0> - <mu0, V_0>^2`` (the initial state is random too).

    Parameters
    ----------
    mdp : TabularMDP
        A finite-horizon MDP.
    policy : array_like
        A Markov policy.

    Returns
    -------
    float
        ``Var^pi[G]``.
    """
    _require_finite(mdp, "return_variance")
    pol = as_stochastic_policy(mdp, policy)
    V, _ = evaluate_vq(mdp, pol if pol.shape[0] > 1 else pol[0])
    H, S = mdp.horizon, mdp.S
    P4 = mdp.P4()
    R3 = mdp.R3()
    M = np.zeros(S)
    for h in range(H - 1, -1, -1):
        Ph = P4[h if P4.shape[0] > 1 else 0]
        Rh = R3[h if R3.shape[0] > 1 else 0]
        ph = pol[h if pol.shape[0] > 1 else 0]
        PV = Ph @ V[h + 1]
        PM = Ph @ M
        M = (ph * (Rh ** 2 + 2.0 * Rh * PV + PM)).sum(axis=1)
    mean = float(mdp.mu0 @ V[0])
    return float(mdp.mu0 @ M - mean ** 2)


def total_variance_decomposition(mdp: TabularMDP, policy) -> dict:
    """Both sides of the law of total variance for returns.

    Returns ``{"variance": Var^pi[G], "transition_term": E sum_h Var_{P_h} V_{h+1},
    "policy_term": E sum_h Var_{pi_h} Q_h, "initial_term": Var_{s_0 ~ mu0} V_0(s_0), "rhs": sum of the three}``;
    the lemma states ``variance == rhs``. The expectations are exact, through the occupancy measure ``d^pi_h``.

    Parameters
    ----------
    mdp : TabularMDP
        A finite-horizon MDP.
    policy : array_like
        A Markov policy.

    Returns
    -------
    dict
        The terms listed above.
    """
    _require_finite(mdp, "total_variance_decomposition")
    pol = as_stochastic_policy(mdp, policy)
    pol_arg = pol if pol.shape[0] > 1 else pol[0]
    V, Q = evaluate_vq(mdp, pol_arg)
    d = occupancy(mdp, pol_arg)  # (H, S, A)
    var_next = next_value_variance(mdp, V)  # (H, S, A)
    transition_term = float((d * var_next).sum())
    H = mdp.horizon
    pol_h = np.broadcast_to(pol, (H,) + pol.shape[1:])
    meanQ = (pol_h * Q).sum(axis=-1, keepdims=True)
    var_a = (pol_h * (Q - meanQ) ** 2).sum(axis=-1)  # (H, S)
    policy_term = float((d.sum(axis=-1) * var_a).sum())
    m0 = float(mdp.mu0 @ V[0])
    initial_term = float(mdp.mu0 @ (V[0] - m0) ** 2)
    variance = return_variance(mdp, pol_arg)
    rhs = transition_term + policy_term + initial_term
    return {
        "variance": variance,
        "transition_term": transition_term,
        "policy_term": policy_term,
        "initial_term": initial_term,
        "rhs": rhs,
    }


def elliptical_potential(X, *, lam: float = 1.0) -> np.ndarray:
    """Running sum ``sum_{k'<=k} min(1, ||x_k'||^2_{Sigma_{k'-1}^{-1}})`` for the rows ``x_k`` of ``X`` (K, d),
    with ``Sigma_0 = lam I`` and Sherman-Morrison updates of ``Sigma^{-1}``. Returns shape (K,).

    Parameters
    ----------
    X : array_like
        Finite features, shape ``(K, d)``.
    lam : float
        Positive regularisation.

    Returns
    -------
    numpy.ndarray
        The running sums, shape ``(K,)``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X: expected shape (K, d), got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X: non-finite entry")
    lam = check_real("lam", lam, low=0.0, low_open=True)
    K, d = X.shape
    Sinv = np.eye(d) / lam
    out = np.empty(K)
    total = 0.0
    for k in range(K):
        x = X[k]
        Sx = Sinv @ x
        q = float(x @ Sx)
        total += min(1.0, q)
        out[k] = total
        Sinv -= np.outer(Sx, Sx) / (1.0 + q)
    return out


def elliptical_potential_bound(K, d, *, lam: float = 1.0, L: float = 1.0):
    """``2 d log(1 + K L^2 / (d lam))`` (Abbasi-Yadkori et al. 2011, Lemma 11).

    Parameters
    ----------
    K : int
        Number of rows.
    d : int
        Dimension.
    lam : float
        Regularisation.
    L : float
        Bound on the row norms.

    Returns
    -------
    float
        The bound on the last running sum of :func:`elliptical_potential`.
    """
    K = np.asarray(K, dtype=np.float64)
    return 2.0 * d * np.log1p(K * L * L / (d * lam))


def performance_difference(mdp: TabularMDP, pi_new, pi_old) -> dict:
    """Both sides of the performance-difference lemma: ``lhs = V^{new}_0(mu0) - V^{old}_0(mu0)`` and
    ``rhs = sum_h sum_{s,a} d^{new}_h(s,a) (Q^{old}_h(s,a) - V^{old}_h(s))``.

    Parameters
    ----------
    mdp : TabularMDP
        A finite-horizon MDP.
    pi_new, pi_old : array_like
        Markov policies.

    Returns
    -------
    dict
        ``{"lhs": float, "rhs": float}``; the lemma states ``lhs == rhs``.
    """
    _require_finite(mdp, "performance_difference")
    Vn, _ = evaluate_vq(mdp, pi_new)
    Vo, Qo = evaluate_vq(mdp, pi_old)
    d_new = occupancy(mdp, pi_new)
    adv = Qo - Vo[:-1, :, None]
    lhs = float(mdp.mu0 @ (Vn[0] - Vo[0]))
    rhs = float((d_new * adv).sum())
    return {"lhs": lhs, "rhs": rhs}


def simulation_lemma(mdp: TabularMDP, other: TabularMDP, policy) -> dict:
    """Both sides of the simulation lemma for one policy in two models with the same S, A, H, rewards and mu0:
    ``lhs = V^pi_{other,0}(mu0) - V^pi_{mdp,0}(mu0)`` and
    ``rhs = sum_h sum_{s,a} d^pi_{other,h}(s,a) sum_{s'} (P^{other}_h - P_h)(s'|s,a) V^pi_{mdp,h+1}(s')``.

    Parameters
    ----------
    mdp, other : TabularMDP
        Finite-horizon MDPs differing only in their transitions.
    policy : array_like
        A Markov policy.

    Returns
    -------
    dict
        ``{"lhs": float, "rhs": float}``; the lemma states ``lhs == rhs``.
    """
    _require_finite(mdp, "simulation_lemma")
    _require_finite(other, "simulation_lemma")
    if (mdp.S, mdp.A, mdp.horizon) != (other.S, other.A, other.horizon):
        raise ValueError("other: must have the same S, A and horizon as mdp")
    if not np.array_equal(np.broadcast_to(mdp.R3(), (mdp.horizon, mdp.S, mdp.A)),
                          np.broadcast_to(other.R3(), (other.horizon, other.S, other.A))):
        raise ValueError("other: must have the same rewards as mdp (the lemma here isolates the transition error)")
    if not np.array_equal(mdp.mu0, other.mu0):
        raise ValueError("other: must have the same mu0 as mdp")
    V, _ = evaluate_vq(mdp, policy)
    Vo, _ = evaluate_vq(other, policy)
    d = occupancy(other, policy)
    H = mdp.horizon
    P = np.broadcast_to(mdp.P4(), (H,) + mdp.P4().shape[1:])
    Po = np.broadcast_to(other.P4(), (H,) + other.P4().shape[1:])
    diff = np.einsum("hsat,ht->hsa", Po - P, V[1:])
    return {"lhs": float(mdp.mu0 @ (Vo[0] - V[0])), "rhs": float((d * diff).sum())}
