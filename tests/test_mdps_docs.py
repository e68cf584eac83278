"""The ``mdps`` module docstring is true: every exported constructor is listed there with its required
parameters, the defaults it names, and the type it returns."""
import inspect
import re

import numpy as np
import pytest

import mdps
from rltheory import LatentMDP, TabularMDP
from rltheory.models.linear_mixture import LinearMixtureMDP
from rltheory.models.submodular import SubmodularMDP
from mdps.gridworld import GridLayout
from mdps.rcsl import LinearExample
from mdps.submodular import OrienteeringInstance

TYPES = {"TabularMDP": TabularMDP, "LatentMDP": LatentMDP, "LinearMixtureMDP": LinearMixtureMDP,
         "SubmodularMDP": SubmodularMDP, "OrienteeringInstance": OrienteeringInstance, "GridLayout": GridLayout,
         "LinearExample": LinearExample, "float": float, "ndarray": np.ndarray, "tuple": tuple, "list": list}

# a documented line: * ``name(params)`` -> ``Type`` [of ``Item``] / [of two ``Item``]
LINE = re.compile(r"^\* ``((?:\w+\.)?\w+)\((.*?)\)`` -> ``(\w+)``(?: of (?:two )?``\(?(?:name, )?(\w+)\)?``)?", re.M)
DOC = {m.group(1): m.groups()[1:] for m in LINE.finditer(mdps.__doc__)}

# small arguments for each constructor (a new export needs a line in the docstring and one here)
ARGS = {
    "chain": lambda: mdps.chain(3, horizon=2),
    "garnet": lambda: mdps.garnet(3, 2, 2, seed=0, horizon=2),
    "random_mdp": lambda: mdps.random_mdp(3, 2, seed=0, gamma=0.9),
    "riverswim": lambda: mdps.riverswim(),
    "gridworld": lambda: mdps.gridworld("S.G", horizon=3),
    "gridworld_layout": lambda: mdps.gridworld_layout("S.G"),
    "from_gymnasium": None,  # needs gymnasium and an environment
    "load_bridge": None,     # needs a BRIDGE file
    "bandit_mdp": lambda: mdps.bandit_mdp(2, 0.1, horizon=2),
    "k_dependent_gap": lambda: mdps.k_dependent_gap(100, 2),
    "random_deterministic": lambda: mdps.random_deterministic(4, 2, horizon=3, seed=0),
    "distractor_chain": lambda: mdps.distractor_chain(3, horizon=4),
    "key_door": lambda: mdps.key_door("SKD.G", horizon=5),
    "sticky_actions": lambda: mdps.sticky_actions(mdps.distractor_chain(3, horizon=4)),
    "eh_suite.eh_suite": lambda: mdps.eh_suite.eh_suite(quick=True),
    "eh_suite_fixed_horizon": lambda: mdps.eh_suite_fixed_horizon(),
    "stochastic_suite": lambda: mdps.stochastic_suite(quick=True),
    "choice_coverage": lambda: mdps.choice_coverage(2, horizon=2, seed=0),
    "lure_coverage": lambda: mdps.lure_coverage(2, horizon=2),
    "tight_coverage": lambda: mdps.tight_coverage(2),
    "coverage_gridworld": lambda: mdps.coverage_gridworld("S..", horizon=2),
    "informative_path": lambda: mdps.informative_path(2, 2, horizon=2),
    "deceptive_chain": lambda: mdps.deceptive_chain(2),
    "memory_hub": lambda: mdps.memory_hub(),
    "orienteering_instance": lambda: mdps.orienteering_instance([[1], [0]], [[True], [False]], budget=1),
    "random_group_orienteering": lambda: mdps.random_group_orienteering(seed=0),
    "orienteering_lure": lambda: mdps.orienteering_lure(2),
    "orienteering_subrl": lambda: mdps.orienteering_subrl(mdps.orienteering_lure(2)),
    "lmdp_identify_then_bandit": lambda: mdps.lmdp_identify_then_bandit(2, 2, 2, horizon=8, gap=0.1),
    "lmdp_probe": lambda: mdps.lmdp_probe(2, 3, 2, horizon=2),
    "lmdp_deterministic": lambda: mdps.lmdp_deterministic(2, 3, 2, horizon=2),
    "random_lmdp": lambda: mdps.random_lmdp(2, 2, 2, horizon=2, Gamma=2),
    "lmdp_horizon_chain": lambda: mdps.lmdp_horizon_chain(2, 2, horizon=8),
    "lmdp_k_dependent_gap": lambda: mdps.lmdp_k_dependent_gap(100, 2, 2, 2),
    "hard_linear_mixture_rfe": lambda: mdps.hard_linear_mixture_rfe(2, 4, K=100),
    "lock_linear_mixture_rfe": lambda: mdps.lock_linear_mixture_rfe(3, 2, 4, gap=0.05),
    "random_linear_mixture": lambda: mdps.random_linear_mixture(3, 2, 2, 3),
    "misspecified_linear_mixture": lambda: mdps.misspecified_linear_mixture(3, 2, 2, 3, 0.1),
    "linear_mixture_riverswim": lambda: mdps.linear_mixture_riverswim(3, 4),
    "hard_rfe_gap": lambda: mdps.hard_rfe_gap(100),
    "separating_family": lambda: mdps.separating_family(4),
    "realizable_scramble": lambda: mdps.realizable_scramble(4),
    "stitching_gridworld": lambda: mdps.stitching_gridworld(),
    "tsitsiklis_van_roy": lambda: mdps.tsitsiklis_van_roy(),
    "bairds_star": lambda: mdps.bairds_star(),
    "separating_features": lambda: mdps.separating_features(4),
    "separating_witness": lambda: mdps.separating_witness(4),
    "stitching_behaviours": lambda: mdps.stitching_behaviours(),
}


#: documented as ``module.function``: constructors kept in their submodule (whose name they share)
DOTTED = sorted(n for n in DOC if "." in n)


def _constructor(name):
    """``mdps.<name>`` for an export, ``mdps.<module>.<function>`` for a dotted name."""
    obj = mdps
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def test_every_export_is_documented_and_sampled():
    assert set(mdps.__all__) == set(DOC) - set(DOTTED), "mdps.__all__ and the docstring's list differ"
    assert set(mdps.__all__) | set(DOTTED) == set(ARGS)


def test_submodules_are_not_hidden_by_their_functions():
    import importlib
    import types

    for name in DOTTED:
        module = name.split(".")[0]
        assert isinstance(getattr(mdps, module), types.ModuleType), f"mdps.{module} is not the submodule"
        assert importlib.import_module(f"mdps.{module}") is getattr(mdps, module)


@pytest.mark.parametrize("name", sorted(mdps.__all__) + DOTTED)
def test_documented_signature_matches(name):
    """Every documented parameter exists; those written without a default are required, those with one are
    optional (and the default shown is the function's, when it is a plain literal); every required parameter is
    documented, positional or keyword-only as written (``*``)."""
    sig = inspect.signature(_constructor(name))
    params = sig.parameters
    doc = [p.strip() for p in DOC[name][0].split(",") if p.strip()]
    kw_only = False
    seen = set()
    for p in doc:
        if p == "*":
            kw_only = True
            continue
        if p == "...":
            continue
        pname, _, default = p.partition("=")
        assert pname in params, f"{name}: documents {pname!r}, not a parameter"
        par = params[pname]
        seen.add(pname)
        assert (par.kind is inspect.Parameter.KEYWORD_ONLY) == kw_only, f"{name}: {pname} keyword-only?"
        if default:
            assert par.default is not inspect.Parameter.empty, f"{name}: {pname} documented with a default"
            try:
                value = eval(default)  # noqa: S307 - literals from our own docstring
            except NameError:
                continue
            assert par.default == pytest.approx(value) if isinstance(value, float) else par.default == value
        else:
            assert par.default is inspect.Parameter.empty, f"{name}: {pname} has a default, documented without"
    required = {n for n, p in params.items() if p.default is inspect.Parameter.empty}
    assert required <= seen, f"{name}: required {sorted(required - seen)} not documented"
    assert ("..." in doc) == any(n not in seen for n in params), f"{name}: '...' iff parameters are left out"


@pytest.mark.parametrize("name", sorted(n for n in list(mdps.__all__) + DOTTED if ARGS.get(n)))
def test_returns_what_the_docstring_says(name):
    _, ret, item = DOC[name]
    out = ARGS[name]()
    assert isinstance(out, TYPES[ret]), f"{name}: returns {type(out).__name__}, documented {ret}"
    if item:
        parts = [x[1] for x in out] if ret == "list" and isinstance(out[0], tuple) else list(out)
        assert parts and all(isinstance(x, TYPES[item]) for x in parts), f"{name}: items are not {item}"
