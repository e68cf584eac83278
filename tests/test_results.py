"""One result shape: every learner's result is a LearnerResult (method, episodes, seed); the FQI planner uses the
SolveResult field names."""
import dataclasses

import numpy as np
import pytest

from mdps.eh_suite import distractor_chain
from mdps.lmdp import lmdp_probe
from mdps.submodular import memory_hub
from rltheory.algorithms import LearnerResult
from rltheory.algorithms.effective_horizon import gorp, sqirl
from rltheory.algorithms.lmdp import lmdp_hindsight
from rltheory.algorithms.lmdp.protocol import HindsightLearner, run_lmdp_learner
from rltheory.algorithms.submodular import modular_pg, subpo
from rltheory.algorithms.tabular import qlearning, ucbvi
from rltheory.algorithms.tabular.episodic import UniformLearner, run_episodic


@pytest.fixture(scope="module")
def chain():
    return distractor_chain(3, horizon=4)


def _common(res, method, episodes, seed):
    assert isinstance(res, LearnerResult)
    assert (res.method, res.episodes, res.seed) == (method, episodes, seed)


def test_tabular_learners_share_the_base(chain):
    r = ucbvi(chain, 40, seed=3)
    _common(r, "ucbvi", 40, 3)
    stopped = ucbvi(chain, 4000, seed=3, stop_at_optimal=True, tie_break="random")
    _common(stopped, "ucbvi", len(stopped.regret), 3)  # the arrays end at the stopping episode
    q = qlearning(chain, 64, seed=1)
    _common(q, "qlearning", 64, 1)
    qs = qlearning(chain, 2**14, seed=1, stop_at_optimal=True)
    assert np.isfinite(qs.first_optimal())
    _common(qs, "qlearning", int(qs.first_optimal()), 1)  # stopped at its first optimal checkpoint
    e = run_episodic(chain, UniformLearner, 12, seed=5)
    _common(e, "UniformLearner", 12, 5)


def test_effective_horizon_submodular_and_lmdp_learners_share_the_base(chain):
    g = gorp(chain, 1, 2, seed=0)
    assert g.method == "gorp" and g.seed == 0 and isinstance(g, LearnerResult)
    _common(sqirl(chain, 1, 4, seed=2), "sqirl", 4 * chain.horizon, 2)  # m episodes per step
    sm = memory_hub()
    _common(subpo(sm, n_iters=5, batch=4, seed=2), "subpo", 20, 2)
    _common(modular_pg(sm, n_iters=3, batch=4, seed=1), "modular_pg", 12, 1)
    L = lmdp_probe(2, 3, 2, horizon=3)
    _common(lmdp_hindsight(L, 10, seed=4), "lmdp_hindsight", 10, 4)
    _common(run_lmdp_learner(L, HindsightLearner, 10, seed=4), "HindsightLearner", 10, 4)


def test_base_fields_are_keyword_only():
    assert all(f.kw_only for f in dataclasses.fields(LearnerResult))
    with pytest.raises(TypeError):
        LearnerResult("ucbvi", 1, 0)
