"""Constructors: valid, documented shapes, reproducible, parameters validated; loaders against real data."""
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mdps
from rltheory.solvers import solve

BRIDGE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "bridge")


@given(st.integers(1, 40), st.integers(1, 5), st.data(), st.integers(0, 2**32 - 1), st.booleans())
def test_garnet_branching_and_reproducible(S, A, data, seed, sparse):
    b = data.draw(st.integers(1, S))
    m = mdps.garnet(S, A, b, seed=seed, sparse=sparse)
    assert m.is_sparse == sparse and (m.S, m.A) == (S, A)
    assert np.all((m.P > 0).sum(-1) == b)
    m2 = mdps.garnet(S, A, b, seed=seed, sparse=sparse)
    assert np.array_equal(m.P, m2.P) and np.array_equal(m.R, m2.R)
    if S * A * b > 8:
        m3 = mdps.garnet(S, A, b, seed=seed + 1, sparse=sparse)
        assert not (np.array_equal(m.P, m3.P) and np.array_equal(m.R, m3.R))


def test_garnet_large_sparse_is_fast_enough():
    m = mdps.garnet(100_000, 4, 8, seed=0)
    assert m.is_sparse and m.max_successors == 8


@given(st.integers(1, 8), st.integers(1, 4), st.integers(1, 12), st.integers(0, 2**32 - 1), st.booleans())
def test_random_mdp_any_trajectory_returns_at_most_one(S, A, H, seed, hom):
    m = mdps.random_mdp(S, A, horizon=H, seed=seed, time_homogeneous=hom)
    # the largest return of any trajectory, ignoring P, is sum_h max R_h <= 1
    R3 = np.broadcast_to(m.R3(), (H, S, A))
    assert R3.max(axis=(1, 2)).sum() <= 1.0 + 1e-12
    assert R3.min() >= 0
    md = mdps.random_mdp(S, A, gamma=0.9, seed=seed)
    assert md.R.max() <= 0.1 + 1e-12


@pytest.mark.parametrize("S", [2, 6, 12])
def test_riverswim_structure(S):
    m = mdps.riverswim(S, horizon=30)
    assert np.all(m.P[:, 0].argmax(-1) == np.maximum(np.arange(S) - 1, 0))
    r = solve(m)
    assert r.policy[0, 0] == 1  # swim right from the start: the far reward beats the small one
    n = mdps.riverswim(S, horizon=30, normalize=True)
    assert n.R.max() * 30 == pytest.approx(1.0)
    with pytest.raises(ValueError, match="normalize"):
        mdps.riverswim(S, gamma=0.9, normalize=True)


def test_chain_and_gridworld():
    c = mdps.chain(5, horizon=10)
    assert solve(c).V[0, 0] == 6.0  # 4 moves, then reward at steps 4..9
    grid = "S.#\n..G\n.T."
    g = mdps.gridworld(grid, slip=0.3, gamma=0.9)
    lay = mdps.gridworld_layout(grid)
    assert g.S == 8 and lay.cells[lay.goals[0]] == (1, 2)
    gi = lay.goals[0]
    assert np.all(g.P[gi, :, gi] == 1.0) and np.all(g.R[gi] == 1.0)
    start = lay.starts[0]
    # 'right' from the start (0, 0) reaches (0, 1) w.p. 0.7; slips of 0.1 each: up and left hit the border (stay),
    # down reaches (1, 0). From (0, 1), 'right' hits the wall at (0, 2) and stays w.p. 0.7 + 0.1 (up, border).
    assert g.P[start, 1, lay.index[(0, 1)]] == pytest.approx(0.7)
    assert g.P[start, 1, start] == pytest.approx(0.2)
    assert g.P[start, 1, lay.index[(1, 0)]] == pytest.approx(0.1)
    assert g.P[lay.index[(0, 1)], 1, lay.index[(0, 1)]] == pytest.approx(0.8)


@pytest.mark.parametrize("call, exc, text", [
    (lambda: mdps.garnet(0, 2, 1, seed=0), ValueError, "S"),
    (lambda: mdps.garnet(5, 2, 6, seed=0), ValueError, "branching"),
    (lambda: mdps.garnet(5, 2, 2, seed=-1), ValueError, "seed"),
    (lambda: mdps.garnet(5, 2, 2, seed="0"), TypeError, "seed"),
    (lambda: mdps.garnet(5, 2, 2, seed=0, reward="x"), ValueError, "reward"),
    (lambda: mdps.riverswim(1), ValueError, "S"),
    (lambda: mdps.riverswim(5, p_right=0.7, p_stay=0.6), ValueError, "p_right"),
    (lambda: mdps.chain(4, slip=1.5), ValueError, "slip"),
    (lambda: mdps.gridworld("S.\n..."), ValueError, "rectangular"),
    (lambda: mdps.gridworld("..\n.."), ValueError, "start"),
    (lambda: mdps.gridworld("S.x"), ValueError, "characters"),
    (lambda: mdps.gridworld(3), TypeError, "ascii_map"),
    (lambda: mdps.random_mdp(3, 2, seed=0, horizon=4, reward_sparsity=1.0), ValueError, "reward_sparsity"),
    (lambda: mdps.riverswim(4, horizon=3, gamma=0.9), ValueError, "either"),
    (lambda: mdps.bandit_mdp(1, 0.1, horizon=3), ValueError, "A"),
    (lambda: mdps.bandit_mdp(3, 0.7, horizon=3), ValueError, "gap"),
])
def test_bad_parameters(call, exc, text):
    with pytest.raises(exc, match=text):
        call()


def test_bandit_family_gap():
    m = mdps.bandit_mdp(4, 0.1, horizon=11, best_action=2)
    r = solve(m)
    assert r.policy[0, 0] == 2
    assert r.V[0, 0] == pytest.approx(10 * 0.6)
    assert mdps.k_dependent_gap(400, 4, c=0.5) == pytest.approx(0.05)


@pytest.mark.skipif(not os.path.isdir(BRIDGE), reason="shared BRIDGE data not present")
def test_bridge_loader_on_real_files():
    files = sorted(f for f in os.listdir(BRIDGE) if f.endswith(".npz"))
    assert files
    raw = np.load(os.path.join(BRIDGE, "MiniGrid-KeyCorridorS3R1-v0.npz"))
    m = mdps.load_bridge(os.path.join(BRIDGE, "MiniGrid-KeyCorridorS3R1-v0.npz"), horizon=100)
    S = raw["transitions"].shape[0]
    assert m.S == S + 1 and m.is_sparse and m.max_successors == 1
    term = raw["transitions"] < 0
    assert np.all(m.P_csr[np.flatnonzero(term.ravel())].indices == S)
    assert solve(m).V[0, 0] > 0  # the key-corridor task is solvable within its horizon
    for f in files:
        mdps.load_bridge(os.path.join(BRIDGE, f), horizon=50)


def test_from_gymnasium_frozenlake():
    gym = pytest.importorskip("gymnasium")
    env = gym.make("FrozenLake-v1", is_slippery=True)
    m = mdps.from_gymnasium(env, gamma=0.99)
    assert m.S == 17 and m.A == 4
    # the terminal (goal/hole) transitions go to the absorbing state 16; value of the start is the success prob.
    V = solve(m).V
    assert 0.5 < V[0] < 1.0
