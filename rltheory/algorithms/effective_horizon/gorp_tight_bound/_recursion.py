"""The failure recursion of Appendix C: bound ``F_t(s)`` backwards over the states an optimal policy can visit."""
from __future__ import annotations

import numpy as np
from numba import njit

from ._constants import BINOMIAL_M_MAX, LP_SLACK, MAX_SEQS_QUANTILE
from ._schemes import bennett_bounds, binomial_bounds, quantile_scheme, worst_case_mix

@njit(cache=True, error_model="numpy")
def k_step(nxt, R, Qr, Qo, Qw, mvar, mrho, T, t, s, k, q, qo, qw, var, rho, path_r):
    """Per action sequence (lexicographic, first action most significant) from (t, s): Q^rand, Q*, Q^worst of the
    sequence followed by the respective policy, and the moments of the random return after it (authors:
    ``get_k_step_qs``; rewards are added innermost first, as there)."""
    S, A = nxt.shape
    n = A ** k
    for j in range(n):
        st = s
        tt = t
        depth = 0
        x = j
        div = A ** (k - 1)
        base_r = 0.0
        base_o = 0.0
        base_w = 0.0
        bv = 0.0
        brho = 0.0
        for i in range(k):
            a = x // div
            x = x % div
            div = div // A if div > 1 else 1
            if tt >= T:
                break
            if i == k - 1:
                base_r = Qr[tt, st, a]
                base_o = Qo[tt, st, a]
                base_w = Qw[tt, st, a]
                bv = mvar[tt + 1, nxt[st, a]]
                brho = mrho[tt + 1, nxt[st, a]]
                break
            path_r[depth] = R[st, a]
            depth += 1
            st = nxt[st, a]
            tt += 1
        for i in range(depth - 1, -1, -1):
            base_r += path_r[i]
            base_o += path_r[i]
            base_w += path_r[i]
        q[j] = base_r
        qo[j] = base_o
        qw[j] = base_w
        var[j] = bv
        rho[j] = brho


@njit(cache=True, error_model="numpy")
def failure_kernel(nxt, R, Qr, Qo, Qw, Vo, mvar, mrho, use_moments, binomial, T, s0, k, m_int, mf, prec, methods,
                    skip_tol, out_F):
    S, A = nxt.shape
    reach = np.zeros((T, S), dtype=np.bool_)
    reach[0, s0] = True
    for t in range(T - 1):
        for s in range(S):
            if reach[t, s]:
                for a in range(A):
                    if Qo[t, s, a] >= Vo[t, s] - prec:
                        reach[t + 1, nxt[s, a]] = True
    n = A ** k
    q = np.empty(n)
    qo = np.empty(n)
    qw = np.empty(n)
    var = np.empty(n)
    rho = np.empty(n)
    lo = np.empty(n)
    up = np.empty(n)
    c = np.empty(n)
    fa = np.empty(A)
    path_r = np.empty(max(k, 1))
    out_F[:, :] = np.nan
    for t in range(T - 1, -1, -1):
        for s in range(S):
            if not reach[t, s]:
                continue
            for a in range(A):
                if Qo[t, s, a] < Vo[t, s] - prec:
                    fa[a] = 1.0
                elif t == T - 1:
                    fa[a] = 0.0
                else:
                    fa[a] = out_F[t + 1, nxt[s, a]]
            fmax = 0.0
            fmin = 1.0
            for a in range(A):
                fmax = max(fmax, fa[a])
                fmin = min(fmin, fa[a])
            if fmax - fmin <= skip_tol:  # whatever GORP picks, its failure lies in [fmin, fmax]
                out_F[t, s] = fmax
                continue
            span = A ** (k - 1)
            for j in range(n):
                c[j] = fa[j // span]
            k_step(nxt, R, Qr, Qo, Qw, mvar, mrho, T, t, s, k, q, qo, qw, var, rho, path_r)
            best = 1.0
            for meth in (3, 2, 1, 0):  # cheapest first; the minimum does not depend on the order
                if not methods[meth] or best <= fmin + skip_tol:  # no scheme can go below min_a f(a)
                    continue
                if meth == 0:
                    if not (binomial and k == 1 and m_int > 0 and m_int <= BINOMIAL_M_MAX):
                        continue
                    binomial_bounds(q, m_int, lo, up)
                elif meth == 1 or meth == 2:
                    if n > MAX_SEQS_QUANTILE or (meth == 1 and not use_moments):
                        continue
                    # a run-time flag, not the literals True / False: one compiled scheme serves both methods
                    quantile_scheme(meth == 1, q, qo, qw, var, rho, mf, lo, up)
                else:
                    bennett_bounds(q, qo, qw, mf, prec, lo, up)
                deficit = 1.0 - up.sum()
                if deficit > 0.0:
                    for j in range(n):
                        up[j] = min(1.0, up[j] + deficit)
                f_lo = 0.0
                f_up = 0.0
                for j in range(n):
                    f_lo += lo[j] * c[j]
                    f_up += up[j] * c[j]
                f_up = min(f_up, fmax)
                if f_up - f_lo > LP_SLACK:
                    f = worst_case_mix(c, lo, up)
                else:
                    f = f_up
                if f < best:
                    best = f
            out_F[t, s] = best
    return out_F[0, s0]
