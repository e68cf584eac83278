"""Tighter GORP bounds of Laidlaw et al. 2023, Appendix C: the authors' published numbers, and properties."""
import itertools
import os
import shutil
import subprocess

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import mdps
from mdps.eh_suite import random_deterministic
from rltheory import TabularMDP
from rltheory.algorithms.effective_horizon import gorp
from rltheory.algorithms.effective_horizon.gorp_tight_bound import gorp_failure_probability, return_moments, tight_gorp_bound
from rltheory.algorithms.effective_horizon.gorp_tight_bound._special import binom_cdf, binom_quantile

BRIDGE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "bridge")
KEYCORRIDOR = os.path.join(BRIDGE, "MiniGrid-KeyCorridorS3R1-v0.npz")
# Read-only mirror of the authors' repository (a bare git directory); absent in CI.
MIRROR = "/work/.mirror/cassidylaidlaw+effective-horizon/repo"


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(KEYCORRIDOR), reason="shared BRIDGE data not present")
def test_reproduces_published_keycorridor_tight_bound():
    # consolidated_gorp_bounds.json of MiniGrid-KeyCorridorS3R1-v0 (horizon 100, k = 1 only):
    # sample_complexity 14640000 = T^2 A m with A = 6, m = 244; effective_horizon 4.068028002475996815...
    b = tight_gorp_bound(mdps.load_bridge(KEYCORRIDOR, horizon=100), ks=[1])
    assert b.binomial and b.moments
    assert b.ms == [244]
    assert b.sample_complexities == [14640000] and b.sample_complexity == 14640000
    assert b.episodes == [100 * 6 * 244]
    assert b.value == pytest.approx(4.068028002475996815, abs=1e-13)


def _mirror_mdp(tmp_path, name):
    """Extract data/mdps/<name>/consolidated.npz from the mirror (following the repository's symlinks)."""
    path = f"data/mdps/{name}/consolidated.npz"
    for _ in range(3):
        mode = subprocess.run(["git", "-C", MIRROR, "ls-tree", "HEAD", path], capture_output=True, text=True,
                              check=True).stdout.split()
        blob = subprocess.run(["git", "-C", MIRROR, "show", f"HEAD:{path}"], capture_output=True, check=True).stdout
        if mode and mode[0] == "120000":  # a symlink: its blob is the relative target
            path = os.path.normpath(os.path.join(os.path.dirname(path), blob.decode()))
            continue
        out = tmp_path / f"{name}.npz"
        out.write_bytes(blob)
        return str(out)
    raise RuntimeError(f"could not resolve {name} in the mirror")


needs_mirror = pytest.mark.skipif(not (os.path.isdir(MIRROR) and shutil.which("git")),
                                  reason="mirror of the authors' repository not present")


@needs_mirror
def test_reproduces_published_freeway_and_maze_tight_bounds(tmp_path):
    # consolidated_gorp_bounds.json: freeway_10_fs30 (T = 10, A = 3) k=1: 11100, H 4.2867991282182728;
    # k=2: 54900, H 5.7418786468855934. maze_easy_l0_30_fs1 (T = 30, A = 9) k=1: 16200, H 1.3154648767857287.
    fw = mdps.load_bridge(_mirror_mdp(tmp_path, "freeway_10_fs30"), horizon=10)
    b = tight_gorp_bound(fw, ks=[1, 2])
    assert b.sample_complexities == [11100, 54900] and b.ms == [37, 61]
    assert b.effective_horizons == pytest.approx([4.2867991282182728, 5.7418786468855934], abs=1e-13)
    # without the return moments (no Berry-Esseen scheme) k = 2 is looser: the published figure needs them
    assert tight_gorp_bound(fw, ks=[2], moments=False).ms == [67]
    mz = mdps.load_bridge(_mirror_mdp(tmp_path, "maze_easy_l0_30_fs1"), horizon=30)
    b = tight_gorp_bound(mz, ks=[1])
    assert b.binomial and b.sample_complexities == [16200] and b.ms == [2]
    assert b.value == pytest.approx(1.3154648767857287, abs=1e-13)
    # maze rewards are 10: the authors' raw-unit moments give the same result
    assert tight_gorp_bound(mz, ks=[1], authors_moment_units=True).ms == [2]


def _random_det(S, A, T, seed, density=0.4):
    return random_deterministic(S, A, horizon=T, seed=seed, reward_density=density)


@settings(max_examples=15, deadline=None)
@given(st.integers(2, 5), st.integers(2, 3), st.integers(1, 4), st.integers(0, 2**31))
def test_return_moments_match_enumeration(S, A, T, seed):
    m = _random_det(S, A, T, seed)
    mom = return_moments(m, precision=1e-12)
    nxt = m.P.argmax(-1)
    for t in range(T):
        for s in range(S):
            rets = []
            for seq in itertools.product(range(A), repeat=T - t):
                x, g = s, 0.0
                for a in seq:
                    g += m.R[x, a]
                    x = nxt[x, a]
                rets.append(g)
            rets = np.array(rets)
            d = rets - rets.mean()
            assert mom.var[t, s] == pytest.approx(np.mean(d**2), abs=1e-12)
            assert mom.rho[t, s] == pytest.approx(np.mean(np.abs(d) ** 3), abs=1e-12)
    assert np.all(mom.var[T] == 0) and mom.ok


def test_full_lookahead_needs_one_rollout():
    # with k = T GORP compares whole plans, whose returns are deterministic: m = 1 suffices, H_T = T
    m = _random_det(5, 2, 4, seed=1, density=1.0)
    b = tight_gorp_bound(m, ks=[4])
    assert b.ms == [1] and b.effective_horizons == [4.0] and b.failure_probs[0] == 0.0


@pytest.mark.parametrize("seed", [0, 3])
def test_failure_bound_dominates_gorp_failure_rate(seed):
    # the bound on P(GORP(k, m) fails) must exceed GORP's observed failure rate (400 runs, 3-sigma slack)
    mdp = _random_det(6, 2, 5, seed=seed)
    for m in (1, 2, 4):
        bound = gorp_failure_probability(mdp, 1, m)
        runs = 400
        fails = sum(not gorp(mdp, 1, m, seed=s).optimal for s in range(runs))
        rate = fails / runs
        assert rate <= bound + 3 * np.sqrt(max(bound * (1 - bound), 1e-4) / runs)


def test_binomial_helpers_match_scipy():
    for n, p in [(1, 0.3), (7, 0.5), (29, 0.01), (400, 0.37), (10**5, 0.999)]:
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            assert binom_cdf(n, p, k) == pytest.approx(scipy.stats.binom.cdf(k, n, p), rel=1e-8, abs=1e-300)
    cdf = scipy.stats.binom(12, 0.3).cdf
    for q in np.linspace(0.01, 0.99, 99):
        x = binom_quantile(12, 0.3, float(q))
        if q <= cdf(0):
            assert x == 0
        elif q <= 0.5:  # Boost rounds lower quantiles down ...
            assert cdf(x) <= q < cdf(x + 1) + 1e-15
        else:  # ... and upper quantiles up
            assert cdf(x) >= q > (cdf(x - 1) if x else -1)


def test_bad_input_is_refused():
    m = _random_det(4, 2, 3, seed=0)
    with pytest.raises(ValueError, match="deterministic"):
        tight_gorp_bound(mdps.riverswim(4, horizon=5))
    with pytest.raises(ValueError, match="k_max"):
        tight_gorp_bound(m, k_max=0)
    with pytest.raises(ValueError, match="target"):
        tight_gorp_bound(m, target=1.0)
    with pytest.raises(ValueError, match="methods"):
        tight_gorp_bound(m, methods=("hoeffding",))
    with pytest.raises(ValueError, match="m"):
        gorp_failure_probability(m, 1, 0)
    with pytest.raises(ValueError, match="precision"):
        tight_gorp_bound(m, precision=-1.0)
    with pytest.raises(TypeError):
        tight_gorp_bound("not an mdp")
    one = TabularMDP(np.ones((2, 1, 2)) / 2 * 0 + np.array([[[1.0, 0.0]], [[0.0, 1.0]]]), np.zeros((2, 1)), horizon=2)
    with pytest.raises(ValueError, match="two actions"):
        tight_gorp_bound(one)


def test_bound_holds_each_rule():
    from proofs_checks.framework import BoundHoldsEach, Measurement

    rule = BoundHoldsEach(prob=0.5, kind="upper", level=0.99)
    y = np.where(np.arange(64)[None, :] < np.array([[64], [22]]), 1.0, np.inf)  # 64/64 and 22/64 within bound
    res = rule.evaluate(Measurement("x", [1, 2], y, "q", bound_values=np.array([1.0, 1.0])))
    assert res.passed  # 22/64 does not reject p >= 1/2 at 99% (Bonferroni over 2)
    y[1, :] = np.where(np.arange(64) < 10, 1.0, np.inf)  # 10/64 does
    res = rule.evaluate(Measurement("x", [1, 2], y, "q", bound_values=np.array([1.0, 1.0])))
    assert not res.passed and res.stats["min_fraction"] == pytest.approx(10 / 64)
    # a seed that did not finish (NaN) is not dropped: 22 holding and 42 NaN is 22/64, not 22/22
    y[1, :] = np.where(np.arange(64) < 22, 1.0, np.nan)
    res = rule.evaluate(Measurement("x", [1, 2], y, "q", bound_values=np.array([1.0, 1.0])))
    assert res.stats["min_fraction"] == pytest.approx(22 / 64) and res.stats["nan"] == 42
    y[1, :] = np.where(np.arange(64) < 10, 1.0, np.nan)
    assert not rule.evaluate(Measurement("x", [1, 2], y, "q", bound_values=np.array([1.0, 1.0]))).passed


def _exact_gorp1_failure(mdp, m):
    """Exact P(GORP(k=1, m) ends sub-optimal) on a deterministic MDP with 0/1 returns: action a's m rollouts sum
    to Binomial(m, Q^rand(a)); ties go to the first action, as in :func:`gorp`."""
    from rltheory.algorithms.effective_horizon.analysis import exploration_values

    ev = exploration_values(mdp)
    T, S, A = ev.Q_rand.shape
    nxt = mdp.P.argmax(-1)
    opt = ev.Q_opt >= ev.V_opt[..., None] - 1e-4
    F = np.zeros((T + 1, S))
    xs = np.arange(m + 1)
    for t in range(T - 1, -1, -1):
        for s in range(S):
            pmf = np.array([scipy.stats.binom.pmf(xs, m, min(max(q, 0.0), 1.0)) for q in ev.Q_rand[t, s]])
            cdf = np.cumsum(pmf, axis=1)
            cdf_lt = np.hstack([np.zeros((A, 1)), cdf[:, :-1]])
            pick = [np.sum(pmf[a] * np.prod([cdf_lt[b] if b < a else cdf[b] for b in range(A) if b != a], axis=0))
                    for a in range(A)]
            f = np.where(opt[t, s], F[t + 1, nxt[s]] if t < T - 1 else 0.0, 1.0)
            F[t, s] = np.dot(pick, f)
    return F[0, int(np.flatnonzero(mdp.mu0)[0])]


def test_binomial_scheme_matches_exact_failure_on_key_door():
    # 0/1 returns, k = 1: the binomial scheme bounds GORP's exact failure probability, and is nearly exact
    from mdps.eh_suite import eh_suite

    mdp = dict(eh_suite(quick=True))["keydoor0"]
    b = tight_gorp_bound(mdp, ks=[1])
    assert b.binomial and b.ms == [451]
    for m in (30, 100, 451, 512):
        exact = _exact_gorp1_failure(mdp, m)
        bound = gorp_failure_probability(mdp, 1, m)
        assert exact - 1e-9 <= bound <= exact + 1e-3
    assert _exact_gorp1_failure(mdp, 451) <= 0.5 < _exact_gorp1_failure(mdp, 440)
