"""Scalar options of the algorithms and the LMDP / linear-mixture models go through rltheory._validation: a wrong
type raises TypeError, a wrong value ValueError, and the message starts with the field's name."""
import numpy as np
import pytest

from mdps.eh_suite import distractor_chain
from mdps.lmdp import lmdp_probe
from mdps.submodular import memory_hub
from rltheory.algorithms.effective_horizon import LinearRegressor
from rltheory.algorithms.effective_horizon.search import first_success_quantile
from rltheory.algorithms.lmdp import lmdp_hindsight
from rltheory.algorithms.rcsl import skewed_weights
from rltheory.algorithms.submodular import subpo
from rltheory.algorithms.tabular import qlearning, ucbvi
from rltheory.algorithms.tabular.episodic import UCBVIVariant
from rltheory.models.latent import LatentMDP
from rltheory.models.linear_mixture import LinearMixtureMDP

CHAIN = distractor_chain(3, horizon=4)
PROBE = lmdp_probe(2, 3, 2, horizon=3)

CASES = [
    (lambda **kw: qlearning(CHAIN, 4, seed=0, **kw), "epsilon", "0.1", 1.5),
    (lambda **kw: qlearning(CHAIN, 4, seed=0, **kw), "q_init", None, float("inf")),
    (lambda **kw: ucbvi(CHAIN, 4, seed=0, **kw), "delta", True, 1.0),
    (lambda **kw: ucbvi(CHAIN, 4, seed=0, **kw), "bonus_scale", "1", -1.0),
    (lambda **kw: lmdp_hindsight(PROBE, 2, seed=0, **kw), "c1", "1", -0.5),
    (lambda **kw: lmdp_hindsight(PROBE, 2, seed=0, **kw), "delta", None, 0.0),
    (lambda **kw: subpo(memory_hub(), n_iters=1, batch=1, **kw), "lr", "2", 0.0),
    (lambda **kw: first_success_quantile([1.0, 2.0], **kw), "success", "half", 0.0),
    (lambda **kw: skewed_weights(2, 2, **kw), "concentration", None, 0.0),
    (lambda **kw: LinearRegressor(np.ones((2, 2, 1)), **kw), "ridge", "0", -1.0),
    (lambda **kw: UCBVIVariant(**kw), "explore_fraction", "0.5", 2.0),
]


@pytest.mark.parametrize("call, field, bad_type, bad_value", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_wrong_type_and_wrong_value(call, field, bad_type, bad_value):
    if bad_type is not None:
        with pytest.raises(TypeError, match=rf"^{field}: "):
            call(**{field: bad_type})
    with pytest.raises(ValueError, match=rf"^{field}: "):
        call(**{field: bad_value})


def test_model_names_and_initial_distributions():
    P = np.full((1, 2, 1, 2), 0.5)
    with pytest.raises(TypeError, match="^name: "):
        LatentMDP(P, np.zeros((1, 2, 1)), [1.0], [1.0, 0.0], horizon=2, name=3)
    with pytest.raises(TypeError, match="^lmdp: expected a LatentMDP"):
        lmdp_hindsight(CHAIN, 2, seed=0)
    phi = np.zeros((2, 1, 2, 1))
    phi[:, :, 0, 0] = 1.0
    with pytest.raises(TypeError, match="^name: "):
        LinearMixtureMDP(phi, np.ones(1), np.zeros((2, 1)), horizon=2, name=3)
    with pytest.raises(ValueError, match="^mu0: "):
        LinearMixtureMDP(phi, np.ones(1), np.zeros((2, 1)), horizon=2, mu0=2)
    m = LinearMixtureMDP(phi, np.ones(1), np.zeros((2, 1)), horizon=2, mu0=1)
    assert m.mu0.tolist() == [0.0, 1.0]
