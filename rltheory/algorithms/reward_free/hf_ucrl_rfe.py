"""HF-UCRL-RFE++ (Zhang, Zhang & Gu, ICML 2023; dissertation Alg. 4 with the HOME estimator, Alg. 5).

Horizon-free reward-free exploration for linear mixture MDPs with total reward in [0, 1]. The whole exploration
loop runs in Numba on plain arrays.

Exploration (episode ``k``; frozen statistics are those at the end of episode ``k-1``)
-----------------------------------------------------------------------------------
The paper's line 5 is a joint argmax over policies, ``theta`` in the intersection of all past ellipsoids and rewards in
the class R; it assumes an oracle. Two oracles, the choice recorded as ``result.oracle``: ``oracle="exact"`` solves
the maximisation by certified branch and bound on tiny instances (:mod:`.exact_oracle`, which states the feasible
set it uses); the default ``oracle="R1"`` is the **"rectangular" relaxation** of the paper note (§I.3, our
reconstruction):

* uncertainty (eq. 2.6.1 with the reward maximisation replaced by a per-(s,a) maximum over ``V in {0,1}^S``, exact by
  vertex enumeration since a convex quadratic is maximised at a vertex of the cube)::

      u(s,a) = min{1, beta_k max_{V in {0,1}^S} ||psi_V(s,a)||_{(S~_{k,0})^{-1}}}

* trajectory uncertainty (eq. 2.6.2 with the theta-maximisation replaced by the per-(s,a) ellipsoid maximum
  ``psi^T theta <= psi^T theta^_{k,0} + beta_k ||psi||``)::

      V^_h(s) = max_a min{1, u(s,a) + 3 beta_k ||psi_{V^_{h+1}}(s,a)||_{(S^_{k,0})^{-1}} + psi_{V^_{h+1}}(s,a)^T theta^_{k,0}}

  clipped below at 0; the explorer follows its greedy policy. ``V^_0(s_1)`` is meant as an optimistic upper bound of
  the paper's ``V^_{k,1}(s_1)``, so that the certificate ``V* - V^{pi_r} <= 4 V^_{k,1}`` (Lemma 2.8.7) carries over.
  Caveat: ``V -> ||psi_V||`` is not monotone, so a step-by-step induction does not prove the domination; the tests
  check it at feasible points (theta* in the ellipsoid, all policies, random rewards) and the check measures the
  certificate directly.
* regression targets: the hat series regresses ``V^_{h+1}(s_{h+1})^{2^m}`` on ``psi_{(V^_{h+1})^{2^m}}``; the tilde
  series regresses ``V(s_{h+1})`` on ``psi_V`` for the vertex ``V`` attaining ``u(s_h, a_h)`` (R1; as a 0/1 function all
  its moments coincide, which makes HOME trivial for that series, as the note says).
* HOME (Alg. 5): ``sigma_m^2 = max{gamma^2 ||phi_m||_{S_m^{-1}}, Vbar_m + E_m, alpha^2}`` for ``m < M-1`` with the
  plug-in variance ``Vbar_m = [phi_{m+1}^T theta_{m+1}]_{[0,1]} - [phi_m^T theta_m]_{[0,1]}^2`` and the error bar
  ``E_m = [2 beta ||phi_m||_{S°_m^{-1}}]_{[0,1]} + [beta ||phi_{m+1}||_{S°_{m+1}^{-1}}]_{[0,1]}``, and
  ``sigma_{M-1}^2 = max{gamma^2 ||phi||, 1, alpha^2}``; weighted ridge regression (eq. 2.6.3) with rank-one
  Sherman–Morrison updates of the inverse Gram matrices inside an episode (re-inverted exactly at its end).

Parameters (Thm 2.6.3): ``alpha = H^{-1/2}``, ``gamma = d^{-1/4}``, ``lambda = d / B^2``,
``beta_k = 12 sqrt(d eta_k tau_k) + 30 tau_k / gamma^2 + sqrt(lambda) B`` with
``eta_k = log(1 + k H / (alpha^2 d lambda))``, ``tau_k = log(32 (log(gamma^2/alpha) + 1) k^2 H^2 / delta)``
(``log(gamma^2/alpha)`` floored at 0: it is negative for ``H < d``, note §I.2.4). Every radius is multiplied by the
global factor ``c_beta`` (the note's advice: the theorem's ``beta_K ~ 10^3-10^4`` makes exploration uniform); the
paper's ``M = ceil(log2(7 K H))`` moment orders are truncated to ``M`` (default 4, note §I.3).

Planning (Phase II, any reward r with total in [0, 1])
-----------------------------------------------------
The paper plans with the optimistic ``theta_K`` of the last exploration step, which R1 never forms. We plan with the
precision-weighted combination of the two order-0 estimates
``theta_plan = (S^_0 + S~_0)^{-1} (S^_0 theta^_0 + S~_0 theta~_0)`` (the least-squares centre of the two ellipsoids;
our choice), projected (default, ``project=True``) onto the affine set of parameters whose mixture rows sum to 1 in
the metric of the summed Gram ``S^_0 + S~_0`` (:func:`._common.mass_projection`; the note's suggestion §I.3,
"project onto the valid-kernel set", with the row-sum equalities only, non-negativity not imposed), by backward
induction through the summation oracle with values clipped to [0, 1]. Why the projection (measured on random
instances, S = 5, A = 2, d = 3, H = 10, c_beta = 0.003): without it the value error of the planning model falls like
K^-0.22 to K^-0.28 over K = 800-12800 (64 seeds, two base seeds), because an error ``delta`` in the total mass of a
row compounds over the H steps (about ``H delta``); with it, like K^-0.51 to K^-0.58 (check ``rfe_linear_mixture``,
claim ``keps_random``).

Controls (used by the checks): ``explore="off"`` switches the uncertainty pseudo-reward off (all pseudo-values vanish,
the explorer repeats the first action); ``radius_h_power=p`` multiplies every radius by ``H^p`` (a horizon-scaled bonus,
as in UCRL-RFE's ``beta ~ H sqrt(d)``).

Also recorded: ``coverage`` — per episode ``k``, ``max_{X,m} ||theta* - theta^X_{k+1,m}||_{S°^X_{k+1,m}} / beta_k`` with the
unscaled ``beta_k`` (``theta*`` lies in all ellipsoids of radius ``c beta_k`` iff this is ``<= c``; Lemma 2.8.6 says
``<= 1`` with probability ``>= 1 - 2 M delta``), and ``coverage_raw``, the same norm before dividing by ``beta_k``;
with the R1 oracle, ``tied_fraction`` — per episode, the fraction of its H steps at which every action had the same
pseudo-value up to 1e-12 (saturated at 1, or all 0 with ``explore="off"``), so that the explorer's choice was not
directed by uncertainty (it then takes the first maximiser, action 0 unless rounding separates the values).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.linalg import blas as _blas
from scipy.linalg import lapack as _lapack

from ..._backup import greedy_max, lm_backward, mixture_q, psi_oracle
from ..._sampling import cumulative, cumulative_rows, sample
from ..._validation import check_int, check_real, check_type
from ...models.linear_mixture import LinearMixtureMDP
from ...models.tabular import readonly
from ...solvers.linear_mixture import solve_linear_mixture
from ._common import (RFEResult, check_common, mass_projection, max_vertex_norm, planning_errors, qnorm,
                      sherman_morrison, vertex_table, with_common_parameters)
from .exact_oracle import ORACLE_EXACT, check_exact_size, exact_oracle

__all__ = ["hf_ucrl_rfe", "hf_beta", "HFUCRLRFELearner", "ORACLE_R1", "ORACLE_EXACT"]

ORACLE_R1 = "R1 rectangular relaxation (note §I.3): per-(s,a) vertex max for u, ellipsoid max for theta"
PLANNING = ("theta_plan = precision-weighted centre of the order-0 hat/tilde ellipsoids, projected onto the rows-sum-"
            "to-1 constraint in the metric of their summed Gram; values clipped to [0,1]")
PLANNING_CENTRE = "theta_plan = precision-weighted centre of the order-0 hat/tilde ellipsoids; values clipped to [0,1]"


@njit(cache=True)
def _beta_k(k, d, H, B, lam, alpha, gamma, delta):
    eta = np.log(1.0 + k * H / (alpha * alpha * d * lam))
    ll = np.log(gamma * gamma / alpha)
    if ll < 0.0:
        ll = 0.0
    tau = np.log(32.0 * (ll + 1.0) * k * k * H * H / delta)
    return 12.0 * np.sqrt(d * eta * tau) + 30.0 * tau / (gamma * gamma) + np.sqrt(lam) * B


def hf_beta(k, d, H, B, delta):
    """The theorem's ``beta_k`` (Thm 2.6.3), unscaled.

    Parameters
    ----------
    k : int
        Episode index.
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
    lam = d / B ** 2
    return float(_beta_k(float(k), float(d), float(H), float(B), lam, H ** -0.5, d ** -0.25, float(delta)))


@njit(cache=True)
def _clip01(x):
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


@njit(cache=True)
def _uncertainty(psiv, SinvF, beta, u, best_vertex):
    """u(s,a) = min{1, beta max_v ||psi_v(s,a)||_{SinvF}} and its maximising vertex."""
    S, A = psiv.shape[1], psiv.shape[2]
    for s in range(S):
        for a in range(A):
            best, bv = max_vertex_norm(SinvF, psiv, s, a)
            x = beta * best
            u[s, a] = 1.0 if x > 1.0 else x
            best_vertex[s, a] = bv


@njit(cache=True)
def _explore_dp_ties(phi, u, use_u, theta_hat, SinvF_hat, bonus, H, Vh, pi, ps, tie):
    """V^_h(s) = max_a clip01(u + bonus ||psi_{V^_{h+1}}|| + psi^T theta_hat) (R1 form of eq. 2.6.2), its greedy
    policy, and ``tie[h, s]``: every action's pseudo-value equals the first one's up to 1e-12 (the greedy choice is
    then arbitrary: saturated at 1, or all 0 with the uncertainty switched off). The greedy step is the shared one
    of :mod:`rltheory._backup`."""
    S, A, _, d = phi.shape
    base = np.empty((S, A))
    Qh = np.empty((S, A))
    for s in range(S):
        Vh[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        psi_oracle(phi, Vh[h + 1], ps)
        for s in range(S):
            for a in range(A):
                q = bonus * qnorm(SinvF_hat, ps[s, a])
                if use_u:
                    q += u[s, a]
                base[s, a] = q
        mixture_q(base, ps, theta_hat, np.bool_(True), 0.0, 1.0, Qh)  # run-time True: the clip=bool signature
        greedy_max(Qh, -1.0, Vh[h], pi[h])
        for s in range(S):
            first = Qh[s, 0]
            tied = True
            for a in range(1, A):
                if abs(Qh[s, a] - first) > 1e-12:
                    tied = False
            tie[h, s] = tied


@njit(cache=True)
def _explore_dp(phi, u, use_u, theta_hat, SinvF_hat, bonus, H, Vh, pi, ps):
    """:func:`_explore_dp_ties` without the tie flags."""
    _explore_dp_ties(phi, u, use_u, theta_hat, SinvF_hat, bonus, H, Vh, pi, ps, np.empty((H, phi.shape[0]), np.bool_))


@njit(cache=True)
def _dot(x, y):
    """``x @ y`` as a plain loop (no BLAS call: these vectors have d <= 8 entries)."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    return acc


@njit(cache=True)
def _home(phis, th, Sinv, SinvF, beta, alpha, gamma, sig2):
    """HOME (Alg. 5): variance weights sigma_m^2 for one series at one step."""
    M = phis.shape[0]
    for m in range(M - 1):
        pm = _clip01(_dot(phis[m], th[m]))
        pm1 = _clip01(_dot(phis[m + 1], th[m + 1]))
        vbar = pm1 - pm * pm
        e1 = 2.0 * beta * qnorm(SinvF[m], phis[m])
        e2 = beta * qnorm(SinvF[m + 1], phis[m + 1])
        E = (1.0 if e1 > 1.0 else e1) + (1.0 if e2 > 1.0 else e2)
        s2 = gamma * gamma * qnorm(Sinv[m], phis[m])
        if vbar + E > s2:
            s2 = vbar + E
        if alpha * alpha > s2:
            s2 = alpha * alpha
        sig2[m] = s2
    s2 = gamma * gamma * qnorm(Sinv[M - 1], phis[M - 1])
    if s2 < 1.0:
        s2 = 1.0
    if alpha * alpha > s2:
        s2 = alpha * alpha
    sig2[M - 1] = s2


@njit(cache=True)
def _update_step(phis, ys, th, Sig, Sinv, SinvF, bvec, beta, alpha, gamma, sig2):
    """One step of both HOME series (hat X = 0, tilde X = 1): weights from HOME, then the weighted rank-one
    update of ``Sigma``, ``b`` and (Sherman-Morrison) ``Sigma^{-1}`` for every order m."""
    M, d = phis.shape[1], phis.shape[2]
    for X in range(2):
        _home(phis[X], th[X], Sinv[X], SinvF[X], beta, alpha, gamma, sig2)
        for m in range(M):
            w = 1.0 / sig2[m]
            x = phis[X, m]
            for i in range(d):
                bvec[X, m, i] += w * x[i] * ys[X, m]
                for j in range(d):
                    Sig[X, m, i, j] += w * x[i] * x[j]
            sherman_morrison(Sinv[X, m], x, w)


@njit(cache=True)
def _episode_update(phi, verts, psiv, Vh, best_vertex, states, actions, th, Sig, Sinv, SinvF, bvec, beta, alpha, gamma,
                    phis, ys, sig2, f):
    """Both HOME series along one episode ``states (H+1,)``, ``actions (H,)`` explored with the pseudo-values ``Vh``
    and the uncertainty vertices ``best_vertex`` of that episode: at step ``h`` the hat series regresses
    ``V^_{h+1}(s_{h+1})^{2^m}`` on ``psi_{(V^_{h+1})^{2^m}}(s_h, a_h)`` and the tilde series the vertex
    ``V(s_{h+1})`` on ``psi_V(s_h, a_h)`` (``V`` = the vertex attaining ``u(s_h, a_h)``), each weighted by HOME
    (:func:`_update_step`). ``phis``, ``ys``, ``sig2``, ``f`` are work buffers ``(2, M, d)``, ``(2, M)``, ``(M,)``,
    ``(S,)``."""
    S, d = phi.shape[0], phi.shape[3]
    M = phis.shape[1]
    for h in range(actions.shape[0]):
        s = states[h]
        a = actions[h]
        t = states[h + 1]
        for m in range(M):
            p = 2.0 ** m
            for j in range(S):
                f[j] = Vh[h + 1, j] ** p
            for i in range(d):
                acc = 0.0
                for j in range(S):
                    acc += phi[s, a, j, i] * f[j]
                phis[0, m, i] = acc
                phis[1, m, i] = psiv[best_vertex[s, a], s, a, i]
            ys[0, m] = f[t]
            ys[1, m] = verts[best_vertex[s, a], t]
        _update_step(phis, ys, th, Sig, Sinv, SinvF, bvec, beta, alpha, gamma, sig2)


def plan_centre(gram0, theta0):
    """The planning centre of the frozen order-0 statistics of the two HOME series.

    .. math:: \\theta_{plan} = (\\hat S_0 + \\tilde S_0)^{-1} (\\hat S_0 \\hat\\theta_0 + \\tilde S_0 \\tilde\\theta_0)

    computed with the BLAS ``dgemv`` and LAPACK ``dgesv`` calls that ``A @ x`` and ``np.linalg.solve`` make inside a
    Numba kernel (SciPy's BLAS / LAPACK, the ones Numba links), so the result is the same bits as in a kernel;
    done in Python because it is needed only at checkpoints, while compiling ``np.linalg.solve`` into a kernel is
    slow.

    Parameters
    ----------
    gram0 : ndarray, shape (2, d, d)
        Frozen Gram matrices ``S^_0``, ``S~_0`` (hat and tilde series, order 0).
    theta0 : ndarray, shape (2, d)
        Their estimates ``theta^_0``, ``theta~_0``.

    Returns
    -------
    theta : ndarray, shape (d,)
        The centre.
    gram : ndarray, shape (d, d)
        Its Gram matrix ``S^_0 + S~_0``.
    """
    gram = gram0[0] + gram0[1]
    rhs = (_blas.dgemv(1.0, gram0[0].T, theta0[0], trans=1)
           + _blas.dgemv(1.0, gram0[1].T, theta0[1], trans=1))  # C-ordered matrix: dgemv('T') on its Fortran view
    _, _, theta, info = _lapack.dgesv(np.asfortranarray(gram), rhs)
    if info != 0:
        raise np.linalg.LinAlgError("gram0: the summed Gram matrix is singular")
    return theta, gram


@njit(cache=True)
def _copy_frozen0(SigF, th, out_gram0, out_theta0):
    """``out_gram0[X] = SigF[X, 0]``, ``out_theta0[X] = th[X, 0]`` for both series (element loops: no
    broadcasting setitem to compile)."""
    for X in range(2):
        for i in range(th.shape[2]):
            out_theta0[X, i] = th[X, 0, i]
            for j in range(th.shape[2]):
                out_gram0[X, i, j] = SigF[X, 0, i, j]


@njit(cache=True)
def _freeze(Sig, Sinv, SigF, SinvF, bvec, th, theta_star):
    """End of an episode: re-invert exactly, freeze the Gram matrices, new estimates; returns
    ``max_{X,m} ||theta* - theta^X_m||_{S°^X_m}``. The copies are element loops (a broadcasting setitem would compile
    Numba's shape-error message formatting into the kernel)."""
    worst_raw = 0.0
    d = Sig.shape[2]
    for X in range(Sig.shape[0]):
        for m in range(Sig.shape[1]):
            inv = np.linalg.inv(Sig[X, m])
            for i in range(d):
                for j in range(d):
                    Sinv[X, m, i, j] = inv[i, j]
                    SigF[X, m, i, j] = Sig[X, m, i, j]
                    SinvF[X, m, i, j] = inv[i, j]
            est = Sinv[X, m] @ bvec[X, m]
            for i in range(d):
                th[X, m, i] = est[i]
            raw = qnorm(SigF[X, m], theta_star - th[X, m])
            if raw > worst_raw:
                worst_raw = raw
    return worst_raw


@njit(cache=True)
def _hf_loop(phi, P, mu0, verts, psiv, theta_star, H, K, M, c_beta, rad_mult, delta, B, lam, alpha, gamma,
             use_u, cert_scales, seed, ckpt, out_gram0, out_theta0, out_cert, coverage, coverage_raw, sum_cert, tied):
    np.random.seed(seed)
    S, A, _, d = phi.shape
    cdf = cumulative_rows(P.reshape((1, S, A, S)))[0]
    cmu = cumulative(mu0)
    # series X in {0: hat, 1: tilde}, orders m
    Sig = np.zeros((2, M, d, d))
    Sinv = np.zeros((2, M, d, d))
    for X in range(2):
        for m in range(M):
            for i in range(d):
                Sig[X, m, i, i] = lam
                Sinv[X, m, i, i] = 1.0 / lam
    SigF = Sig.copy()
    SinvF = Sinv.copy()
    bvec = np.zeros((2, M, d))
    th = np.zeros((2, M, d))
    u = np.zeros((S, A))
    u2 = np.zeros((S, A))
    best_vertex = np.zeros((S, A), dtype=np.int64)
    vdummy = np.zeros((S, A), dtype=np.int64)
    Vh = np.empty((H + 1, S))
    Vh2 = np.empty((H + 1, S))
    pi = np.zeros((H, S), dtype=np.int64)
    pi2 = np.zeros((H, S), dtype=np.int64)
    ps = np.empty((S, A, d))
    phis = np.empty((2, M, d))
    ys = np.empty((2, M))
    sig2 = np.empty(M)
    f = np.empty(S)
    tie = np.zeros((H, S), dtype=np.bool_)
    states = np.zeros(H + 1, dtype=np.int64)
    actions = np.zeros(H, dtype=np.int64)
    ci = 0
    n_ck = ckpt.shape[0]
    on = np.bool_(True)  # a run-time True: the literal would compile the callees once more for Literal[bool](True)
    for k in range(1, K + 2):
        beta = c_beta * rad_mult * _beta_k(float(k), float(d), float(H), B, lam, alpha, gamma, delta)
        # certificate / checkpoint for the data of the first k-1 episodes (uncertainty always on)
        _uncertainty(psiv, SinvF[1, 0], beta, u, best_vertex)
        _explore_dp_ties(phi, u, on, th[0, 0], SinvF[0, 0], 3.0 * beta, H, Vh, pi, ps, tie)
        cert = mu0 @ Vh[0]
        if k >= 2:
            sum_cert[k - 2] = cert
        if ci < n_ck and ckpt[ci] == k - 1:
            _copy_frozen0(SigF, th, out_gram0[ci], out_theta0[ci])
            for j in range(cert_scales.shape[0]):
                c = cert_scales[j]
                if c == 1.0:
                    out_cert[ci, j] = cert
                else:
                    _uncertainty(psiv, SinvF[1, 0], c * beta, u2, vdummy)
                    _explore_dp(phi, u2, on, th[0, 0], SinvF[0, 0], 3.0 * c * beta, H, Vh2, pi2, ps)
                    out_cert[ci, j] = mu0 @ Vh2[0]
            ci += 1
        if k == K + 1:
            break
        if not use_u:  # use_u (False) rather than the literal: the signature the learner's Python calls compile
            _explore_dp_ties(phi, u, use_u, th[0, 0], SinvF[0, 0], 3.0 * beta, H, Vh, pi, ps, tie)
        # ---- roll out one episode, then update both HOME series along it
        s = sample(cmu, np.random.random())
        states[0] = s
        for h in range(H):
            a = pi[h, s]
            if tie[h, s]:
                tied[k - 1] += 1.0 / H
            t = sample(cdf[s, a], np.random.random())
            actions[h] = a
            states[h + 1] = t
            s = t
        _episode_update(phi, verts, psiv, Vh, best_vertex, states, actions, th, Sig, Sinv, SinvF, bvec, beta, alpha, gamma,
                        phis, ys, sig2, f)
        # ---- end of episode: freeze, re-invert exactly, new estimates, coverage of theta*
        b_unscaled = _beta_k(float(k), float(d), float(H), B, lam, alpha, gamma, delta)
        worst_raw = _freeze(Sig, Sinv, SigF, SinvF, bvec, th, theta_star)
        coverage[k - 1] = worst_raw / b_unscaled
        coverage_raw[k - 1] = worst_raw


def _hf_exact_loop(mdp, K, M, c_beta, rad_mult, delta, B, lam, alpha, gamma, seed, ck, tol, max_boxes,
                   out_theta, out_gram, out_cert, coverage, coverage_raw, sum_cert, gaps):
    """The exploration loop with the exact oracle (Python loop around the Numba kernels; tiny instances only).

    Each episode: ``(pi_k, theta_k, r_k) = argmax V^_{k,0}(s_1)`` by :func:`exact_oracle` on the frozen statistics;
    the explorer follows ``pi_k``; the hat series regresses ``V^_{k,h+1}(s_{h+1})^{2^m}`` and the tilde series the
    pseudo-value ``V_{h+1}(s_{h+1}; theta_k, pi_k, r_k)^{2^m}`` of the maximising reward (Alg. 4 lines 6-15)."""
    rng = np.random.default_rng(seed)
    phi, P, mu0 = np.ascontiguousarray(mdp.phi), mdp.P, mdp.mu0
    S, A, H, d = mdp.S, mdp.A, mdp.horizon, mdp.d
    theta_star = np.ascontiguousarray(mdp.theta)
    Sig = np.zeros((2, M, d, d))
    Sig[:, :] = lam * np.eye(d)
    Sinv = np.linalg.inv(Sig)
    SigF, SinvF = Sig.copy(), Sinv.copy()
    bvec = np.zeros((2, M, d))
    th = np.zeros((2, M, d))
    phis = np.empty((2, M, d))
    ys = np.empty((2, M))
    sig2 = np.empty(M)
    powers = 2.0 ** np.arange(M)
    ci = 0
    for k in range(1, K + 2):
        beta = c_beta * rad_mult * hf_beta(k, d, H, B, delta)
        res = exact_oracle(mdp, th[0, 0], SinvF[0, 0], SinvF[1, 0], beta, tol=tol, max_boxes=max_boxes)
        if k >= 2:
            sum_cert[k - 2] = res.upper
            gaps[k - 2] = res.upper - res.lower
        if ci < ck.size and ck[ci] == k - 1:
            Ssum = SigF[0, 0] + SigF[1, 0]
            out_theta[ci] = np.linalg.solve(Ssum, SigF[0, 0] @ th[0, 0] + SigF[1, 0] @ th[1, 0])
            out_gram[ci] = Ssum
            out_cert[ci, 0] = res.upper
            ci += 1
        if k == K + 1:
            break
        s = int(rng.choice(S, p=mu0))
        for h in range(H):
            a = int(res.policy[h, s])
            t = int(rng.choice(S, p=P[s, a]))
            for X, Vrow in ((0, res.V_hat[h + 1]), (1, res.V[h + 1])):
                f = Vrow[None, :] ** powers[:, None]  # (M, S)
                phis[X] = f @ phi[s, a]
                ys[X] = f[:, t]
            _update_step(phis, ys, th, Sig, Sinv, SinvF, bvec, beta, alpha, gamma, sig2)
            s = t
        worst_raw = _freeze(Sig, Sinv, SigF, SinvF, bvec, th, theta_star)
        coverage[k - 1] = worst_raw / hf_beta(k, d, H, B, delta)
        coverage_raw[k - 1] = worst_raw


@with_common_parameters
def hf_ucrl_rfe(mdp: LinearMixtureMDP, K: int, *, seed: int, c_beta: float = 0.02, delta: float = 0.1,
                M: int = 4, B: float | None = None, test_rewards=None, checkpoints=None, explore: str = "on",
                radius_h_power: float = 0.0, certificate_scales=(1.0,), oracle: str = "R1",
                oracle_tol: float = 1e-3, oracle_max_boxes: int = 200_000,
                environment: LinearMixtureMDP | None = None, project: bool = True) -> RFEResult:
    """Run HF-UCRL-RFE++ (R1 oracle) for ``K`` exploration episodes, then plan for each test reward.

    ``test_rewards``: list of reward arrays (validated with the model's total-reward normalisation; default: the
    model's own reward); ``checkpoints``: episode counts at which to run the planning phase (default ``[K]``);
    ``B``: the known bound on ``||theta*||`` (default: ``max(1, ||theta*||)``); ``certificate_scales``: radius multipliers at which
    the certificate ``V^_0(s_1)`` is also reported at each checkpoint (``extra["certificates"]``, one column per scale;
    exploration unchanged; 1 = the algorithm's own certificate, other values are for negative controls).
    ``oracle``: ``"R1"`` (the relaxation, any size with S <= 12) or ``"exact"`` (certified branch and bound of
    :mod:`.exact_oracle`, absolute tolerance ``oracle_tol``, at most ``oracle_max_boxes`` boxes per call; refused with a
    ValueError above ``A^(S H) = 256`` policies or ``d + S (H-1) = 8`` variables; ``explore="on"`` and the default
    ``certificate_scales`` only). The choice is recorded in ``result.oracle``; with ``"exact"`` the certificate is
    the oracle's certified upper bound and ``extra["oracle_gap"]`` holds ``upper - lower`` per episode.
    ``environment``: the MDP the episodes are sampled from (default: ``mdp`` itself). A different one, with the same
    S, A, horizon and initial distribution but a kernel outside the span of ``mdp.phi``, simulates a misspecified
    model (R1 oracle only); the learner still sees only ``mdp.phi``, ``coverage`` is measured against ``mdp.theta``
    and ``errors`` are suboptimalities in ``environment``.
    ``project``: plan with the centre projected onto the rows-sum-to-1 constraint (default) or with the centre itself
    (``extra["theta_centre"]`` always holds the centre). See the module docstring for the rest.

    Parameters
    ----------
    {common_parameters}
    M : int
        Moment orders of the HOME estimators (the paper's ``ceil(log2(7 K H))`` truncated).
    B : float, optional
        Bound on ``||theta*||``.
    explore : {"on", "off"}
        ``"off"`` switches the uncertainty pseudo-reward off (a control; module docstring).
    radius_h_power : float
        Exponent of an ``H``-dependent radius multiplier (0: the algorithm).
    certificate_scales : sequence of float
        Radius multipliers of the reported certificates.
    oracle : {"R1", "exact"}
    oracle_tol : float
    oracle_max_boxes : int
    environment : LinearMixtureMDP, optional
        MDP the episodes are sampled from (default ``mdp``).
    project : bool
        Project the planning parameter onto the rows-sum-to-1 set.

    Returns
    -------
    RFEResult
    """
    check_type("project", project, bool)
    K, seed, c_beta, delta, rewards, ck = check_common(mdp, K, seed, c_beta, delta, test_rewards, checkpoints)
    if mdp.reward_scale != "total":
        raise ValueError("mdp: HF-UCRL-RFE++ assumes the total-reward normalisation (run it on r/H, Cor. 2.6.6)")
    M = check_int("M", M, low=1)
    if explore not in ("on", "off"):
        raise ValueError(f"explore: expected 'on' or 'off', got {explore!r}")
    if oracle not in ("R1", "exact"):
        raise ValueError(f"oracle: expected 'R1' or 'exact', got {oracle!r}")
    if oracle == "exact":
        check_exact_size(mdp)
        if explore != "on" or tuple(np.ravel(certificate_scales)) not in ((), (1.0,)):
            raise ValueError("oracle: 'exact' supports only explore='on' and certificate_scales=(1.0,)")
        if not (oracle_tol > 0 and isinstance(oracle_max_boxes, int) and oracle_max_boxes >= 1):
            raise ValueError(f"oracle_tol, oracle_max_boxes: need tol > 0 and a positive int, got "
                             f"{oracle_tol!r}, {oracle_max_boxes!r}")
    env = mdp if environment is None else environment
    if environment is not None:
        if not isinstance(environment, LinearMixtureMDP):
            raise TypeError(f"environment: expected a LinearMixtureMDP, got {type(environment).__name__}")
        if (env.S, env.A, env.horizon) != (mdp.S, mdp.A, mdp.horizon) or not np.array_equal(env.mu0, mdp.mu0):
            raise ValueError(f"environment: needs the model's S, A, horizon and initial distribution; got "
                             f"S={env.S}, A={env.A}, horizon={env.horizon} for S={mdp.S}, A={mdp.A}, H={mdp.horizon}")
        if oracle == "exact":
            raise ValueError("environment: only the R1 oracle samples from a separate environment")
    B = max(1.0, mdp.B) if B is None else float(B)
    if not (B > 0 and math.isfinite(B)):
        raise ValueError(f"B: must be a positive float, got {B!r}")
    H, d = mdp.horizon, mdp.d
    lam, alpha, gamma = d / B ** 2, H ** -0.5, d ** -0.25
    verts, psiv = vertex_table(mdp)
    out_theta = np.zeros((ck.size, d))
    out_gram = np.zeros((ck.size, d, d))
    scales = np.unique(np.concatenate([[1.0], np.asarray(certificate_scales, dtype=np.float64).ravel()]))
    if scales.min() < 0 or not np.all(np.isfinite(scales)):
        raise ValueError(f"certificate_scales: must be non-negative floats, got {certificate_scales!r}")
    out_cert = np.zeros((ck.size, scales.size))
    coverage = np.zeros(K)
    coverage_raw = np.zeros(K)
    sum_cert = np.zeros(K)
    tied = np.zeros(K)
    extra = {}
    if oracle == "exact":
        gaps = np.zeros(K)
        _hf_exact_loop(mdp, K, int(M), c_beta, float(H) ** float(radius_h_power), delta, B, lam, alpha, gamma, seed,
                       ck, float(oracle_tol), int(oracle_max_boxes), out_theta, out_gram, out_cert, coverage,
                       coverage_raw, sum_cert, gaps)
        extra = {"oracle_gap": gaps, "oracle_tol": float(oracle_tol)}
    else:
        gram0 = np.zeros((ck.size, 2, d, d))
        theta0 = np.zeros((ck.size, 2, d))
        _hf_loop(np.ascontiguousarray(mdp.phi), np.ascontiguousarray(env.P), np.ascontiguousarray(mdp.mu0), verts,
                 psiv, np.ascontiguousarray(mdp.theta), H, K, int(M), c_beta, float(H) ** float(radius_h_power), delta,
                 B, lam, alpha, gamma, explore == "on", scales, seed, ck, gram0, theta0, out_cert, coverage,
                 coverage_raw, sum_cert, tied)
        for ci in range(ck.size):
            out_theta[ci], out_gram[ci] = plan_centre(gram0[ci], theta0[ci])
        extra = {"tied_fraction": tied}
    theta_centre = out_theta
    if project:
        out_theta = np.stack([mass_projection(mdp.phi, th, G) for th, G in zip(theta_centre, out_gram)])
    errors = np.stack([planning_errors(env, lambda r, th=th: solve_linear_mixture(mdp, r, theta=th, clip=True).policy, rewards)
                       for th in out_theta])
    one = int(np.flatnonzero(scales == 1.0)[0])
    return RFEResult("HF-UCRL-RFE++", ck, errors, errors.max(axis=1), out_cert[:, one].copy(), c_beta, delta, seed,
                     ORACLE_EXACT if oracle == "exact" else ORACLE_R1, PLANNING if project else PLANNING_CENTRE,
                     {"theta_plan": out_theta, "theta_centre": theta_centre, "coverage": coverage, "coverage_raw": coverage_raw, "lambda": lam, "certificate_trace": sum_cert, "M": int(M),
                      "M_paper": int(math.ceil(math.log2(7 * K * H))), "B": B,
                      "beta_K": hf_beta(K, d, H, B, delta), "explore": explore, "radius_h_power": radius_h_power,
                      "certificate_scales": scales, "certificates": out_cert, "oracle_name": oracle, **extra})


class HFUCRLRFELearner:
    """HF-UCRL-RFE++ (R1 oracle) as a learner of the reward-free protocol (:mod:`.protocol`): the same kernels as
    :func:`hf_ucrl_rfe`, one episode at a time. Driven by :func:`.protocol.run_reward_free` it reproduces
    :func:`hf_ucrl_rfe`'s planned policies bit for bit (same episodes: the harness draws them from the same
    Mersenne-Twister stream as the Numba loop).

    Parameters
    ----------
    phi : array_like, shape (S, A, S, d)
        The known basis measures (``theta*`` is never given).
    H, K : int
        Horizon and number of exploration episodes.
    B : float
        Known bound on ``||theta*||_2`` (``lambda = d / B^2``; ``B`` enters ``beta_k``).
    seed : int
        Unused (the learner is deterministic given the episodes); accepted by the protocol.
    c_beta, delta, M, explore, radius_h_power, project
        As in :func:`hf_ucrl_rfe`.

    Notes
    -----
    ``explore_policy()`` at episode ``k``: ``beta = c_beta H^p beta_k``, the R1 uncertainty ``u`` on the frozen tilde
    Gram matrix and the greedy policy of the trajectory-uncertainty DP (module docstring); ``update(states,
    actions)``: both HOME series along the episode with that episode's pseudo-values, then the end-of-episode freeze;
    ``plan(reward)``: backward induction (values clipped to [0, 1]) in the model ``phi theta_plan`` with the
    projected precision-weighted centre of the two order-0 ellipsoids.
    """

    def __init__(self, phi, H, K, B, seed, *, c_beta: float = 0.02, delta: float = 0.1, M: int = 4,
                 explore: str = "on", radius_h_power: float = 0.0, project: bool = True):
        ph = np.asarray(phi, dtype=np.float64)
        if ph.ndim != 4 or ph.shape[0] != ph.shape[2]:
            raise ValueError(f"phi: expected shape (S, A, S, d), got {ph.shape}")
        H, K, M = (check_int(name, v, low=1) for name, v in (("H", H), ("K", K), ("M", M)))
        check_real("B", B, low=0.0, low_open=True)
        if not (math.isfinite(c_beta) and c_beta >= 0):
            raise ValueError(f"c_beta: must be a non-negative float, got {c_beta!r}")
        if explore not in ("on", "off"):
            raise ValueError(f"explore: expected 'on' or 'off', got {explore!r}")
        self.phi = np.ascontiguousarray(ph)
        self.S, self.A, _, self.d = ph.shape
        self.H, self.K, self.M = int(H), int(K), int(M)
        self.B, self.c_beta, self.delta = float(B), float(c_beta), float(delta)
        self.use_u, self.project = explore == "on", bool(project)
        self.rad_mult = float(self.H) ** float(radius_h_power)
        S, A, d, M = self.S, self.A, self.d, self.M
        self.lam, self.alpha, self.gamma = d / self.B ** 2, self.H ** -0.5, d ** -0.25
        self.verts, self.psiv = vertex_table(self.phi)
        self.Sig = np.zeros((2, M, d, d))
        self.Sig[:, :] = self.lam * np.eye(d)
        self.Sinv = np.zeros((2, M, d, d))
        self.Sinv[:, :] = (1.0 / self.lam) * np.eye(d)
        self.SigF, self.SinvF = self.Sig.copy(), self.Sinv.copy()
        self.bvec = np.zeros((2, M, d))
        self.th = np.zeros((2, M, d))
        self.u = np.zeros((S, A))
        self.best_vertex = np.zeros((S, A), dtype=np.int64)
        self.Vh = np.empty((self.H + 1, S))
        self.pi = np.zeros((self.H, S), dtype=np.int64)
        self.ps = np.empty((S, A, d))
        self.tie = np.zeros((self.H, S), dtype=np.bool_)
        self._bufs = (np.empty((2, M, d)), np.empty((2, M)), np.empty(M), np.empty(S))
        self._zero = np.zeros(d)
        self._zero.setflags(write=False)  # read-only like the fast path's theta*: one compiled _freeze
        self.k = 1
        self._beta = None
        self._s1 = 0

    def beta(self) -> float:
        """The scaled radius of the current episode ``k``.

        Returns
        -------
        float
        """
        return self.c_beta * self.rad_mult * float(_beta_k(float(self.k), float(self.d), float(self.H), self.B,
                                                             self.lam, self.alpha, self.gamma, self.delta))

    def explore_policy(self) -> np.ndarray:
        """Greedy policy ``(H, S)`` of the R1 trajectory uncertainty for the next episode.

        Returns
        -------
        ndarray of int, shape (H, S)
        """
        beta = self.beta()
        _uncertainty(self.psiv, self.SinvF[1, 0], beta, self.u, self.best_vertex)
        _explore_dp_ties(self.phi, self.u, True, self.th[0, 0], self.SinvF[0, 0], 3.0 * beta, self.H, self.Vh,
                         self.pi, self.ps, self.tie)
        if not self.use_u:
            _explore_dp_ties(self.phi, self.u, False, self.th[0, 0], self.SinvF[0, 0], 3.0 * beta, self.H, self.Vh,
                             self.pi, self.ps, self.tie)
        self._beta = beta
        return self.pi.copy()

    def _update_series(self, states, actions, beta):
        """Both HOME series along the episode (the override point of the mutants)."""
        phis, ys, sig2, f = self._bufs
        _episode_update(self.phi, self.verts, self.psiv, self.Vh, self.best_vertex, states, actions, self.th, self.Sig,
                        self.Sinv, self.SinvF, self.bvec, beta, self.alpha, self.gamma, phis, ys, sig2, f)

    def update(self, states, actions) -> None:
        """Learn from the episode just played with :meth:`explore_policy`'s policy (``states (H+1,)``,
        ``actions (H,)``, no rewards).

        Parameters
        ----------
        states : array_like of int, shape (H + 1,)
        actions : array_like of int, shape (H,)
        """
        if self._beta is None:
            raise ValueError("update: call explore_policy() before each episode")
        states = np.ascontiguousarray(states, dtype=np.int64)
        actions = np.ascontiguousarray(actions, dtype=np.int64)
        self._s1 = int(states[0])
        self._update_series(states, actions, self._beta)
        _freeze(self.Sig, self.Sinv, self.SigF, self.SinvF, self.bvec, self.th, self._zero)
        self.k += 1
        self._beta = None

    def planning_theta(self) -> np.ndarray:
        """``theta_plan``: the precision-weighted centre, projected onto the rows-sum-to-1 set when ``project``.

        Returns
        -------
        ndarray, shape (d,)
        """
        theta, gram = plan_centre(self.SigF[:, 0], self.th[:, 0])
        return mass_projection(self.phi, theta, gram) if self.project else theta

    def plan(self, reward) -> np.ndarray:
        """Greedy deterministic policy ``(H, S)`` for ``reward`` ((S, A) or (H, S, A), total <= 1) in the model
        ``phi theta_plan``, values clipped to [0, 1].

        Parameters
        ----------
        reward : array_like, shape (S, A) or (H, S, A)

        Returns
        -------
        ndarray of int, shape (H, S)
        """
        R = np.asarray(reward, dtype=np.float64)
        R3 = np.ascontiguousarray(R if R.ndim == 3 else R[None])
        V = np.empty((self.H + 1, self.S))
        Q = np.empty((self.H, self.S, self.A))
        pi = np.zeros((self.H, self.S), dtype=np.int64)
        lm_backward(self.phi, readonly(self.planning_theta()), R3, self.H, True, V, Q, pi)
        return pi

    def certificate(self) -> float:
        """``4 V^_0(s_1)`` with the current statistics (Lemma 2.8.7: after exploration it bounds the planning error
        ``V*(r) - V^{plan(r)}(r)`` of every reward with total in [0, 1] when ``theta*`` lies in the confidence
        sets; R1's ``V^`` is meant as an upper bound of the paper's). ``s_1``: the initial state of the episodes
        seen (the paper's fixed start), state 0 before any.

        Returns
        -------
        float
        """
        beta = self.beta()
        u = np.zeros((self.S, self.A))
        best_vertex = np.zeros((self.S, self.A), dtype=np.int64)
        Vh = np.empty((self.H + 1, self.S))
        pi = np.zeros((self.H, self.S), dtype=np.int64)
        _uncertainty(self.psiv, self.SinvF[1, 0], beta, u, best_vertex)
        _explore_dp(self.phi, u, True, self.th[0, 0], self.SinvF[0, 0], 3.0 * beta, self.H, Vh, pi, self.ps)
        return 4.0 * float(Vh[0, self._s1])
