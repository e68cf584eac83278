"""Exact exploration oracle of HF-UCRL-RFE++ (certified branch and bound) and its ordering with the R1 relaxation."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdps
from rltheory.algorithms.reward_free import exact_oracle, hf_ucrl_rfe
from rltheory.algorithms.reward_free._common import vertex_table
from rltheory.algorithms.reward_free.exact_oracle import _box_upper, _policies, pseudo_values
from rltheory.algorithms.reward_free.hf_ucrl_rfe import _explore_dp, _uncertainty


def _instance(S, d, H, seed, n_eff, beta_exp, off):
    """A random tiny linear mixture MDP and random frozen statistics with theta* at a random place around the
    centre (inside or outside the hat ellipsoid)."""
    rng = np.random.default_rng(seed)
    m = mdps.random_linear_mixture(S, 2, d, H, seed=seed, concentration=0.5)
    mats = []
    for _ in range(2):
        G = rng.normal(size=(d, d))
        mats.append(np.linalg.inv(n_eff * (G @ G.T) / d + np.eye(d)))
    beta = 10.0 ** beta_exp
    z = rng.normal(size=d)
    th = m.theta + np.linalg.cholesky(mats[0]) @ z * beta * off / max(np.linalg.norm(z), 1e-9)
    return m, th, mats[0], mats[1], beta, rng


def _r1_value(m, th, Sh, St, beta):
    S, A, d, H = m.S, m.A, m.d, m.horizon
    _, psiv = vertex_table(m)
    u = np.empty((S, A))
    _uncertainty(psiv, St, beta, u, np.empty((S, A), dtype=np.int64))
    V = np.empty((H + 1, S))
    _explore_dp(np.ascontiguousarray(m.phi), u, True, th, Sh, 3 * beta, H, V, np.zeros((H, S), np.int64),
                np.empty((S, A, d)))
    return float(m.mu0 @ V[0])


def _reference_value(m, pi, theta, rr, Sh, St, beta):
    """NumPy transcription of eqs. 2.6.1-2.6.2 (0-based steps, values clipped to [0, 1])."""
    H, S = m.horizon, m.S
    nrm = lambda M, x: math.sqrt(max(x @ M @ x, 0.0))  # noqa: E731
    idx = np.arange(S)
    V = [np.zeros(S) for _ in range(H + 1)]
    for h in range(H - 1, 0, -1):
        V[h] = np.clip(rr[h] + m.psi(V[h + 1])[idx, pi[h]] @ theta, 0, 1)
    Vh = np.zeros(S)
    for h in range(H - 1, -1, -1):
        ps, pu = m.psi(Vh), m.psi(V[h + 1])
        Vh = np.clip([min(1.0, beta * nrm(St, pu[s, pi[h, s]])) + 2 * beta * nrm(Sh, ps[s, pi[h, s]])
                      + ps[s, pi[h, s]] @ theta for s in range(S)], 0, 1)
    return float(m.mu0 @ Vh)


_sizes = st.sampled_from([(2, 1, 2), (2, 2, 2), (2, 1, 3), (2, 2, 3), (3, 1, 2), (3, 2, 2)])


@settings(max_examples=25, deadline=None)
@given(_sizes, st.integers(0, 2**31 - 1), st.floats(0, 3), st.floats(-1.5, 0.3), st.floats(0, 1.5))
def test_exact_oracle_is_certified_and_dominated_by_r1(size, seed, log_n, beta_exp, off):
    S, d, H = size
    m, th, Sh, St, beta, rng = _instance(S, d, H, seed, 10.0 ** log_n, beta_exp, off)
    res = exact_oracle(m, th, Sh, St, beta)
    assert 0.0 <= res.lower <= res.upper <= 1.0
    if res.certified:
        assert res.upper - res.lower <= 1e-3 + 1e-12
    # the reported maximiser is feasible and attains the lower value (NumPy reference)
    assert (res.theta - th) @ np.linalg.solve(Sh, res.theta - th) <= beta ** 2 * (1 + 1e-9)
    assert res.reward.min() >= 0 and res.reward[1:].max(axis=1).sum() <= 1 + 1e-9 and np.all(res.reward[0] == 0)
    assert abs(_reference_value(m, res.policy, res.theta, res.reward, Sh, St, beta) - res.lower) < 1e-9
    # no random feasible point beats the certified upper bound
    L = np.linalg.cholesky(Sh)
    pols = _policies(S, 2, H)
    for _ in range(200):
        w = rng.normal(size=d)
        w *= rng.uniform() ** (1 / d) / np.linalg.norm(w)
        rr = rng.random((H, S))
        rr[0] = 0
        rr[1:] *= rng.uniform() / max(1.0, rr[1:].max(axis=1).sum())
        V, Vh = np.zeros((H + 1, S)), np.zeros((H + 1, S))
        pseudo_values(np.ascontiguousarray(m.phi), pols[rng.integers(len(pols))], th + beta * L @ w, rr, Sh, St,
                      beta, H, V, Vh)
        assert m.mu0 @ Vh[0] <= res.upper + 1e-12
    # the note's claim (§I.3): R1 is an upper bound of the exact value. Asserted as "no certified violation"
    # (R1 >= lower); R1 >= upper held in 1499 of 1500 random draws, the other one undecided within tol (README).
    assert _r1_value(m, th, Sh, St, beta) >= res.lower - 1e-12


@settings(max_examples=20, deadline=None)
@given(_sizes, st.integers(0, 2**31 - 1))
def test_box_upper_bound_is_sound(size, seed):
    """The interval bound of a random box dominates the value at random points of that box."""
    S, d, H = size
    m, th, Sh, St, beta, rng = _instance(S, d, H, seed, 10.0, -0.5, 0.5)
    G = np.linalg.cholesky(Sh)
    phi = np.ascontiguousarray(m.phi)
    c0 = np.einsum("satd,d->sat", phi, th)
    cg = beta * np.einsum("satd,dj->satj", phi, G)
    n = d + S * (H - 1)
    a, b = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    lo[d:], hi[d:] = np.abs(lo[d:]) / (2 * H), np.abs(hi[d:]) / (2 * H) + 1e-3
    lo[d:], hi[d:] = np.minimum(lo[d:], hi[d:]), np.maximum(lo[d:], hi[d:])
    pi = _policies(S, 2, H)[rng.integers(2 ** (S * H))]
    ub = _box_upper(phi, m.mu0, pi, c0, cg, lo, hi, Sh, St, beta, H)
    for _ in range(100):
        z = rng.uniform(lo, hi)
        rr = np.zeros((H, S))
        rr[1:] = z[d:].reshape(H - 1, S)
        V, Vh = np.zeros((H + 1, S)), np.zeros((H + 1, S))
        pseudo_values(phi, pi, th + beta * G @ z[:d], rr, Sh, St, beta, H, V, Vh)
        assert m.mu0 @ Vh[0] <= ub + 1e-12


def test_hf_with_exact_oracle_records_it_and_refuses_large_instances():
    m = mdps.random_linear_mixture(2, 2, 2, 3, seed=1, concentration=0.5)
    r = hf_ucrl_rfe(m, 12, seed=0, c_beta=0.002, oracle="exact", checkpoints=[4, 12])
    assert r.oracle.startswith("exact") and r.extra["oracle_name"] == "exact"
    assert r.extra["oracle_gap"].shape == (12,) and r.extra["oracle_gap"].max() <= 1e-3 + 1e-12
    assert np.all((r.certificate >= 0) & (r.certificate <= 1)) and np.all(r.errors >= 0)
    r1 = hf_ucrl_rfe(m, 12, seed=0, c_beta=0.002, checkpoints=[4, 12])
    assert r1.oracle.startswith("R1") and r1.extra["oracle_name"] == "R1"
    with pytest.raises(ValueError, match="exact oracle enumerates"):
        hf_ucrl_rfe(mdps.random_linear_mixture(3, 2, 2, 4, seed=0), 5, seed=0, oracle="exact")
    with pytest.raises(ValueError, match="oracle: expected"):
        hf_ucrl_rfe(m, 5, seed=0, oracle="greedy")
    with pytest.raises(ValueError, match="explore='on'"):
        hf_ucrl_rfe(m, 5, seed=0, oracle="exact", explore="off")
