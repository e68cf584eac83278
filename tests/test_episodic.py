"""The episodic tabular learner protocol: harness, plain-Python UCBVI, mutation options of the Numba UCBVI, and
the tabular_regret check run through --learner (slow tier)."""
import json

import numpy as np
import pytest

import mdps
from rltheory.algorithms.tabular import ucbvi
from rltheory.algorithms.tabular.episodic import (ExploreThenCommit, UCBVI_REFERENCE, UCBVILearner, UCBVIVariant,
                                                  UniformLearner, policy_regret, run_episodic, ucbvi_learner)


@pytest.mark.parametrize("mdp", [mdps.riverswim(6, horizon=20), mdps.bandit_mdp(4, 0.1, horizon=10, best_action=2)],
                         ids=["riverswim", "bandit"])
def test_python_ucbvi_reproduces_the_numba_reference(mdp):
    for seed in (0, 3):
        fast = run_episodic(mdp, UCBVI_REFERENCE, 400, seed=seed)
        slow = run_episodic(mdp, ucbvi_learner, 400, seed=seed)
        assert fast.fast_path and not slow.fast_path
        np.testing.assert_allclose(slow.regret, fast.regret, rtol=0, atol=1e-9)
        assert fast.raw_min_regret >= -1e-9 and slow.raw_min_regret >= -1e-9


def test_variant_options_match_between_kernel_and_python_learner():
    mdp = mdps.riverswim(4, horizon=8)
    for v in (UCBVIVariant(var_decay="linear"), UCBVIVariant(count_offset=1.0), UCBVIVariant(bonus_scale=0.01),
              UCBVIVariant(optimistic_unvisited=False, bonus="hoeffding"), UCBVIVariant(explore_fraction=0.25),
              UCBVIVariant(skip_first_step=True), UCBVIVariant(cap_next_step=True)):
        fast = run_episodic(mdp, v, 200, seed=1)
        py = run_episodic(mdp, lambda *a, v=v: v(*a), 200, seed=1)  # the same options episode by episode
        np.testing.assert_allclose(py.regret, fast.regret, rtol=0, atol=1e-9)


def test_mutation_options_change_the_run_and_defaults_do_not():
    mdp = mdps.riverswim(6, horizon=20)
    base = ucbvi(mdp, 3000, seed=0, bonus="bernstein")
    same = ucbvi(mdp, 3000, seed=0, bonus="bernstein", var_decay="sqrt", optimistic_unvisited=True,
                 count_offset=0.0, explore_episodes=None)
    assert np.array_equal(base.regret, same.regret) and base.mutation == ()
    stop = ucbvi(mdp, 3000, seed=0, bonus="bernstein", explore_episodes=10)
    assert stop.mutation == (("explore_episodes", 10),)
    assert np.all(stop.regret[10:] == stop.regret[-1]) and stop.regret[-1] > 1  # greedy from episode 10: stuck
    for kw, field in [({"var_decay": "cube"}, "var_decay"), ({"count_offset": -1}, "count_offset"),
                      ({"explore_episodes": -2}, "explore_episodes")]:
        with pytest.raises(ValueError, match=f"^{field}"):
            ucbvi(mdp, 10, seed=0, **kw)
    with pytest.raises(TypeError, match="^optimistic_unvisited"):
        ucbvi(mdp, 10, seed=0, optimistic_unvisited=1)
    with pytest.raises(TypeError, match="^cap_next_step"):
        ucbvi(mdp, 10, seed=0, cap_next_step=1)


def test_cap_next_step_clips_the_last_step_at_zero():
    # chain(2): the reward is taken at the last state by action 1; clipped at Vmax_{h+1}, the last step's
    # visited pairs all sit at Vmax_H = 0 and the first argmax (action 0) forfeits that reward in every episode
    mdp = mdps.chain(2, horizon=4)
    ref = ucbvi(mdp, 2000, seed=0, bonus="bernstein")
    same = ucbvi(mdp, 2000, seed=0, bonus="bernstein", cap_next_step=False)
    assert np.array_equal(ref.regret, same.regret) and same.mutation == ()
    assert np.all(ref.regret[-500:] <= 1e-9) or (ref.regret[-500:] > 1e-9).mean() < 0.01
    cap = ucbvi(mdp, 2000, seed=0, bonus="bernstein", cap_next_step=True)
    assert cap.mutation == (("cap_next_step", True),)
    assert np.all(cap.regret[-500:] >= 1.0 - 1e-9)


def test_uniform_regret_is_exact_and_matches_policy_regret():
    mdp = mdps.bandit_mdp(4, 0.1, horizon=10, best_action=1)
    run = run_episodic(mdp, UniformLearner, 50, seed=0)
    per = policy_regret(mdp, np.full((10, 3, 4), 0.25))
    assert per == pytest.approx(0.75 * 0.1 * 9, abs=1e-12)
    np.testing.assert_allclose(run.regret, per, atol=1e-12)
    assert policy_regret(mdp, np.ones((10, 3), dtype=np.int64)) == pytest.approx(0.0, abs=1e-12)


class _BadShape:
    def __init__(self, S, A, H, K, seed):
        self.S, self.A, self.H = S, A, H

    def policy(self):
        return np.zeros((self.H + 1, self.S), dtype=np.int64)

    def update(self, *a):
        pass


class _BadProbs(_BadShape):
    def policy(self):
        return np.full((self.H, self.S, self.A), 0.4)


class _BadAction(_BadShape):
    def policy(self):
        return np.full((self.H, self.S), self.A, dtype=np.int64)


class _FloatActions(_BadShape):
    def policy(self):
        return np.zeros((self.H, self.S))


class _Recorder(_BadShape):
    seen = []

    def policy(self):
        return np.ones((self.H, self.S), dtype=np.int64)

    def update(self, states, actions, rewards):
        _Recorder.seen.append((states.copy(), actions.copy(), rewards.copy()))


def test_harness_validates_policies_and_feeds_episodes():
    mdp = mdps.riverswim(4, horizon=5)
    with pytest.raises(ValueError, match="^policy: expected shape"):
        run_episodic(mdp, _BadShape, 3, seed=0)
    with pytest.raises(ValueError, match="^policy: an \\(H, S, A\\)"):
        run_episodic(mdp, _BadProbs, 3, seed=0)
    with pytest.raises(ValueError, match="^policy: actions"):
        run_episodic(mdp, _BadAction, 3, seed=0)
    with pytest.raises(TypeError, match="^policy: an \\(H, S\\) policy"):
        run_episodic(mdp, _FloatActions, 3, seed=0)
    with pytest.raises(ValueError, match="^K:"):
        run_episodic(mdp, _Recorder, 0, seed=0)
    with pytest.raises(TypeError, match="^mdp:"):
        run_episodic("mdp", _Recorder, 3, seed=0)
    with pytest.raises(ValueError, match="^mdp: the episodic"):
        run_episodic(mdps.riverswim(4, gamma=0.9), _Recorder, 3, seed=0)
    _Recorder.seen.clear()
    run_episodic(mdp, _Recorder, 4, seed=0)
    assert len(_Recorder.seen) == 4
    for states, actions, rewards in _Recorder.seen:
        assert states.shape == (6,) and actions.shape == (5,) and rewards.shape == (5,)
        assert states[0] == 0 and np.all(actions == 1) and np.all((rewards >= 0) & (rewards <= 1))
        assert np.all(np.abs(np.diff(states)) <= 1)  # RiverSwim moves one state at a time


def test_explore_then_commit_commits():
    mdp = mdps.bandit_mdp(4, 0.1, horizon=10, best_action=3)
    run = run_episodic(mdp, ExploreThenCommit, 320, seed=0)
    assert np.all(run.regret[10:] == run.regret[-1])  # committed after K/32 = 10 episodes: constant regret
    assert isinstance(ExploreThenCommit(3, 4, 10, 320, 0).policy(), np.ndarray)
    assert isinstance(UCBVIVariant()(3, 4, 10, 100, 0), UCBVILearner)


@pytest.mark.slow
def test_check_through_learner_cli(tmp_path, capsys):
    """A correct UCBVI written in the protocol passes ``--learner``; a learner that stops exploring fails; the
    reference's files are not overwritten by the learner runs."""
    from rltheory.cli import main

    out = str(tmp_path)
    good = "rltheory.algorithms.tabular.episodic:ucbvi_learner"
    assert main(["check", "tabular_regret", "--quick", "--seeds", "4", "--learner", good, "--out", out,
                 "--no-progress"]) == 0
    rep = json.load(open(tmp_path / "tabular_regret@rltheory.algorithms.tabular.episodic.ucbvi_learner.json"))
    from proofs_checks import get

    n_learner_claims = sum(c.uses_learner for c in get("tabular_regret").claims)
    assert rep["learner"] == good and rep["passed"] and len(rep["claims"]) == n_learner_claims >= 5
    bad = "rltheory.algorithms.tabular.episodic:ExploreThenCommit"
    assert main(["check", "tabular_regret", "--quick", "--seeds", "4", "--learner", bad, "--out", out,
                 "--no-progress"]) == 1
    assert not (tmp_path / "tabular_regret.json").exists()
