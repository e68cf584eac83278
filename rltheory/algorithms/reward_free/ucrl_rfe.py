"""UCRL-RFE (Zhang, Zhou & Gu, NeurIPS 2021; dissertation Alg. 1-2): Hoeffding-style reward-free exploration for
linear mixture MDPs, the baseline HF-UCRL-RFE++ improves on. Exploration loop in Numba.

It works on the per-step scale ``r_h in [0, 1]``, values in ``[0, H]``. With ``Sigma_k``, ``theta_k`` the (unweighted)
ridge statistics frozen at the start of episode ``k``:

* exploration reward (proof's version of eq. 2.4.2, eq. 2.8.18; the printed square root is dropped as the note
  advises): ``r^k_h(s,a) = min{1, 2 beta ||psi_{u_h}(s,a)||_{Sigma_k^{-1}} / H}`` with
  ``u_h = argmax_{f: S -> [0, H-h-1]} ||psi_f(s,a)||_{Sigma_k^{-1}}`` (eq. 2.4.3), exact by vertex enumeration of
  ``{0, H-h-1}^S`` (convex objective; our reading, note §I.3);
* PLAN (Alg. 2): ``Q_h = clip_[0,H](r_h + <psi_{V_{h+1}}, theta_k> + beta ||psi_{V_{h+1}}||_{Sigma_k^{-1}})``, greedy policy;
* regression: ``Sigma += psi_u psi_u^T``, ``b += psi_u u_h(s_{h+1})`` at each visited ``(s_h, a_h)``, ``theta = Sigma^{-1} b``
  once per episode; ``lambda = B^{-2}``, ``beta = H sqrt(d log(3 (1 + K H^3 B^2) / delta)) + 1`` times ``c_beta``.

Planning phase for a reward with total in [0, 1]: PLAN on ``H r`` (per-step scale) with the final statistics and
the same bonus; the suboptimality is reported on the normalised scale.

Where its H-dependence comes from (measured, see the check ``rfe_linear_mixture``): ``beta`` grows like ``H``, but
the regression features ``psi_u`` have the value range ``H - h - 1`` too, so ``Sigma`` grows like ``H^2`` per
sample and a single step's bonus ``beta ||psi_V||_{Sigma^{-1}}`` is H-free relative to the value range. PLAN adds
such a bonus at each of the H steps, so the optimism of the planned policy, relative to a total reward of 1,
grows like ``H c_beta``; the planning error grows with H once this optimism exceeds the estimation error (at
``c_beta >= 0.03`` on our instances, not at the ``c_beta = 0.003`` used for the other claims). The regression
itself is H-free (more transitions per episode for larger H). ``certificate`` is the normalised exploration
value ``V^{K+1}_0(s_1; r^{K+1}) / H`` (the quantity Thm 2.4.3 bounds the planning error with, up to a factor 2).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..._backup import greedy_max, mixture_q, psi_oracle
from ..._sampling import cumulative, cumulative_rows, sample
from ..._validation import check_type
from ...models.linear_mixture import LinearMixtureMDP
from ._common import (RFEResult, check_common, max_vertex_norm, planning_errors, qnorm, vertex_table,
                      with_common_parameters)

__all__ = ["ucrl_rfe", "ucrl_rfe_beta"]


def ucrl_rfe_beta(K, d, H, B, delta):
    """``beta = H sqrt(d log(3 (1 + K H^3 B^2) / delta)) + 1`` (Thm 2.4.3), unscaled.

    Parameters
    ----------
    K : int
        Episodes.
    d : int
        Dimension.
    H : int
        Horizon.
    B : float
        Bound on ``||theta*||``.
    delta : float
        Confidence parameter.

    Returns
    -------
    float
    """
    return H * math.sqrt(d * math.log(3.0 * (1.0 + K * H ** 3 * B ** 2) / delta)) + 1.0


@njit(cache=True)
def _explore_reward(psiv, Sinv, beta, H, r, best_vertex):
    """r[h, s, a] = min{1, 2 beta (H-h-1) max_v ||psi_v(s,a)|| / H} and the maximising vertex (step-independent)."""
    S, A = psiv.shape[1], psiv.shape[2]
    for s in range(S):
        for a in range(A):
            best, bv = max_vertex_norm(Sinv, psiv, s, a)
            best_vertex[s, a] = bv
            for h in range(H):
                x = 2.0 * beta * (H - h - 1) * best / H
                r[h, s, a] = 1.0 if x > 1.0 else x


@njit(cache=True)
def _plan(phi, R3, theta, Sinv, beta, H, V, pi, ps):
    """Optimistic planning of UCRL-RFE: ``Q_h = clip_[0, H](r_h + beta ||psi_{V_{h+1}}||_{Sinv} + <psi, theta>)``,
    ``V_h = max_a Q_h`` (first argmax), through the shared greedy step of :mod:`rltheory._backup`."""
    S, A, _, d = phi.shape
    hr = R3.shape[0]
    base = np.empty((S, A))
    Qh = np.empty((S, A))
    for s in range(S):
        V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        psi_oracle(phi, V[h + 1], ps)
        Rh = R3[h if hr > 1 else 0]
        for s in range(S):
            for a in range(A):
                base[s, a] = Rh[s, a] + beta * qnorm(Sinv, ps[s, a])
        mixture_q(base, ps, theta, True, 0.0, float(H), Qh)
        greedy_max(Qh, -1.0, V[h], pi[h])


@njit(cache=True)
def _copy2(src, dst):
    """``dst[:, :] = src`` as an element loop (a broadcasting setitem would compile Numba's shape-error message
    formatting into the kernel)."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


@njit(cache=True)
def _ucrl_loop(phi, P, mu0, verts, psiv, H, K, beta, lam, seed, ckpt, out_theta, out_Sinv, out_cert):
    np.random.seed(seed)
    S, A, _, d = phi.shape
    cdf = cumulative_rows(P.reshape((1, S, A, S)))[0]
    cmu = cumulative(mu0)
    Sig = np.zeros((d, d))
    for i in range(d):
        Sig[i, i] = lam
    Sinv = np.empty((d, d))  # C order throughout: one compiled signature of the kernels it is passed to
    _copy2(np.linalg.inv(Sig), Sinv)
    bvec = np.zeros(d)
    th = np.zeros(d)
    r = np.zeros((H, S, A))
    best_vertex = np.zeros((S, A), dtype=np.int64)
    V = np.empty((H + 1, S))
    pi = np.zeros((H, S), dtype=np.int64)
    ps = np.empty((S, A, d))
    ci = 0
    for k in range(1, K + 2):
        _explore_reward(psiv, Sinv, beta, H, r, best_vertex)
        _plan(phi, r, th, Sinv, beta, H, V, pi, ps)
        if ci < ckpt.shape[0] and ckpt[ci] == k - 1:
            for i in range(d):
                out_theta[ci, i] = th[i]
            _copy2(Sinv, out_Sinv[ci])
            out_cert[ci] = (mu0 @ V[0]) / H
            ci += 1
        if k == K + 1:
            break
        s = sample(cmu, np.random.random())
        for h in range(H):
            a = pi[h, s]
            t = sample(cdf[s, a], np.random.random())
            scale = float(H - h - 1)
            v = best_vertex[s, a]
            for i in range(d):
                x = scale * psiv[v, s, a, i]
                bvec[i] += x * scale * verts[v, t]
                for j in range(d):
                    Sig[i, j] += x * scale * psiv[v, s, a, j]
            s = t
        inv = np.linalg.inv(Sig)
        th = inv @ bvec
        _copy2(inv, Sinv)


@with_common_parameters
def ucrl_rfe(mdp: LinearMixtureMDP, K: int, *, seed: int, c_beta: float = 0.02, delta: float = 0.1,
             B: float | None = None, test_rewards=None, checkpoints=None, plan_bonus: bool = True) -> RFEResult:
    """Run UCRL-RFE for ``K`` exploration episodes, then plan for each (normalised) test reward.

    ``plan_bonus=False`` (a control, not the paper's algorithm) plans greedily in the estimated model, without the
    bonus ``beta ||psi_V||`` of PLAN; exploration is unchanged.

    Parameters
    ----------
    {common_parameters}
    B : float, optional
        Bound on ``||theta*||`` (default ``max(1, ||theta*||)``).
    plan_bonus : bool
        Plan with the bonus (the algorithm) or greedily (a control).

    Returns
    -------
    RFEResult
    """
    K, seed, c_beta, delta, rewards, ck = check_common(mdp, K, seed, c_beta, delta, test_rewards, checkpoints)
    check_type("plan_bonus", plan_bonus, bool)
    B = max(1.0, mdp.B) if B is None else float(B)
    H, d = mdp.horizon, mdp.d
    beta = c_beta * ucrl_rfe_beta(K, d, H, B, delta)
    verts, psiv = vertex_table(mdp)
    out_theta = np.zeros((ck.size, d))
    out_Sinv = np.zeros((ck.size, d, d))
    out_cert = np.zeros(ck.size)
    _ucrl_loop(np.ascontiguousarray(mdp.phi), np.ascontiguousarray(mdp.P), np.ascontiguousarray(mdp.mu0), verts,
               psiv, H, K, beta, B ** -2.0, seed, ck, out_theta, out_Sinv, out_cert)
    phi = np.ascontiguousarray(mdp.phi)
    V = np.empty((H + 1, mdp.S))
    ps = np.empty((mdp.S, mdp.A, d))

    def plan_fn(r, th, Si):
        R3 = np.ascontiguousarray((r if r.ndim == 3 else r[None]) * H)
        pi = np.zeros((H, mdp.S), dtype=np.int64)
        _plan(phi, R3, th, Si, beta if plan_bonus else 0.0, H, V, pi, ps)
        return pi

    errors = np.stack([planning_errors(mdp, lambda r, th=th, Si=Si: plan_fn(r, th, Si), rewards)
                       for th, Si in zip(out_theta, out_Sinv)])
    return RFEResult("UCRL-RFE", ck, errors, errors.max(axis=1), out_cert, c_beta, delta, seed,
                     "exact vertex enumeration of {0, H-h-1}^S for eq. 2.4.3",
                     "PLAN (Alg. 2) on H r with the optimistic bonus, final statistics" if plan_bonus else
                     "greedy in the estimated model (PLAN with the bonus removed; control), final statistics",
                     {"theta_plan": out_theta, "beta": beta, "B": B, "plan_bonus": plan_bonus})
