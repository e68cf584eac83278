"""Learners under test and mutation analysis: the plumbing on tiny fake checks (fast), and every registered
check's mutant catalogue (slow tier): each non-legitimate mutant must be killed, each legitimate variant pass."""
import json
import os

import numpy as np
import pytest

import proofs_checks
from proofs_checks import (BoundHolds, Check, Claim, Measurement, Mutant, RunContext, learner_spec, resolve_learner,
                           run_mutants)
from proofs_checks.framework import _serial_runner, format_table
from proofs_checks.learners import spec_tag

# ------------------------------------------------------------------ fake learners and a fake check


def good_learner(x):
    """Reference-like: error 1/x."""
    return 1.0 / x


def bad_learner(x):
    """Mutant: constant error."""
    return 0.5


def negative_learner(x):
    """Mutant that breaks an invariant (negative error) while the rule (y <= bound) passes."""
    return -1.0


class CallableFactory:
    def __call__(self, x):
        return 1.0 / x


FACTORY_INSTANCE = CallableFactory()
CALLS = []


def _fake_measure(ctx, learner=None):
    spec = ctx.learner if learner is None else learner
    f = good_learner if spec is None else resolve_learner(spec)
    CALLS.append(spec)
    x = np.array([2.0, 4.0, 8.0])
    y = np.array([[f(v)] * 2 for v in x])
    m = Measurement("x", x, y, "error", bound_values=1.2 / x)
    m.require(m.y >= 0, f"error >= 0 (min {m.y.min():g})")
    return m


def _fake_check(protocol="fake"):
    return Check(
        name="fake", title="fake", source="test", protocol=protocol,
        claims=[
            Claim("reference_only", "no learner", "t", BoundHolds(), measure=_fake_measure,
                  negative_control=lambda ctx: _fake_measure(ctx, learner_spec(bad_learner)),
                  control_description="constant"),
            Claim("learns", "error <= 1.2/x", "t", BoundHolds(), measure=_fake_measure,
                  negative_control=lambda ctx: _fake_measure(ctx, learner_spec(bad_learner)),
                  control_description="constant", uses_learner=True),
        ],
        mutants=[Mutant("constant", "never learns", learner_spec(bad_learner)),
                 Mutant("negative", "negative error", learner_spec(negative_learner)),
                 Mutant("same", "a legitimate copy", learner_spec(good_learner), legitimate="identical")])


# ------------------------------------------------------------------------------------- fast tests


def test_learner_spec_and_resolve():
    spec = learner_spec(good_learner)
    assert spec.endswith(":good_learner") and resolve_learner(spec) is good_learner
    assert learner_spec(spec) == spec
    assert learner_spec(CallableFactory) .endswith(":CallableFactory")
    assert learner_spec(FACTORY_INSTANCE).endswith(":FACTORY_INSTANCE")
    assert learner_spec("proofs_checks.learners:resolve_learner") == "proofs_checks.learners:resolve_learner"
    assert spec_tag("a.b:c.d") == "a.b.c.d"
    assert resolve_learner("proofs_checks.learners:resolve_learner") is resolve_learner
    from proofs_checks.tabular_regret import mutants as mt

    assert learner_spec(mt.bonus_x0_01) == "proofs_checks.tabular_regret.mutants:bonus_x0_01"


def test_learner_spec_rejects():
    def local(x):
        return x

    with pytest.raises(ValueError, match="^learner:.*lambda"):
        learner_spec(lambda x: x)
    with pytest.raises(ValueError, match="^learner:.*local"):
        learner_spec(local)
    with pytest.raises(TypeError, match="^learner:"):
        learner_spec(3)
    with pytest.raises(TypeError, match="^learner:"):
        resolve_learner(3)
    with pytest.raises(ValueError, match="^learner:.*package.module:qualname"):
        learner_spec("no_colon")
    with pytest.raises(ValueError, match="^learner: could not import no_such_module_xyz: ModuleNotFoundError"):
        learner_spec("no_such_module_xyz:f")
    with pytest.raises(TypeError, match="^learner: 'os:sep' names an object of type str, not a callable"):
        learner_spec("os:sep")
    with pytest.raises(ValueError, match="^learner:.*no attribute"):
        learner_spec("proofs_checks.learners:nope")
    with pytest.raises(ValueError, match="^learner:"):
        RunContext(learner="bad spec")
    assert RunContext(learner=good_learner).learner == learner_spec(good_learner)


def test_mutant_and_check_validation():
    with pytest.raises(ValueError, match="^learner:"):
        Mutant("m", "d", "not a spec")
    with pytest.raises(TypeError, match="^name:"):
        Mutant(1, "d", "a:b")
    with pytest.raises(ValueError, match="^protocol:"):
        _fake_check(protocol="")
    with pytest.raises(ValueError, match="duplicate mutant"):
        c = _fake_check()
        Check("x", "x", "x", c.claims, protocol="p", mutants=[c.mutants[0], c.mutants[0]])


def test_learner_run_selects_learner_claims_controls_run_reference(tmp_path):
    check = _fake_check()
    CALLS.clear()
    rep = check.run(RunContext(learner=bad_learner, runner=_serial_runner))
    assert [r.claim.name for r in rep.results] == ["learns"]
    assert CALLS == [learner_spec(bad_learner), learner_spec(bad_learner)]  # measure, then the control's own
    assert rep.results[0].status == "fail" and not rep.passed
    assert rep.name == f"fake@{spec_tag(learner_spec(bad_learner))}"
    paths = rep.save(str(tmp_path))
    ref = check.run(RunContext())
    assert ref.passed and [r.status for r in ref.results] == ["pass", "pass"]
    ref_paths = ref.save(str(tmp_path))
    assert paths["json"] != ref_paths["json"] and os.path.exists(paths["json"]) and os.path.exists(ref_paths["json"])
    assert json.load(open(paths["json"]))["learner"] == learner_spec(bad_learner)
    no_learner = Check("plain", "p", "s", [check.claims[0]])
    with pytest.raises(ValueError, match="^learner:.*no .*claim"):
        no_learner.run(RunContext(learner=good_learner))


def test_invariant_violation_fails_claim_whatever_the_rule():
    check = _fake_check()
    rep = check.run(RunContext(learner=negative_learner))
    r = rep.results[0]
    assert r.measurement.invariant_violations and r.status == "fail"
    assert r.result.message.startswith("invariant violated: error >= 0")
    assert r.result.stats["rule_passed"] is True  # the rule alone would have passed
    assert "invariant violated" in format_table([rep])
    assert rep.to_dict()["claims"][0]["measurement"]["invariant_violations"]
    with pytest.raises(TypeError, match="^invariant_violations"):
        Measurement("x", [1.0], [1.0], "y", invariant_violations="oops")


def test_stop_on_fail_stops_at_first_failing_claim():
    check = _fake_check()
    rep = check.run(RunContext(), stop_on_fail=True)
    assert len(rep.results) == 2  # both pass: nothing stops
    bad_first = Check("f2", "t", "s", [check.claims[1], check.claims[1].__class__(
        **{**check.claims[1].__dict__, "name": "again"})], protocol="fake")
    rep = bad_first.run(RunContext(learner=bad_learner), stop_on_fail=True)
    assert [r.status for r in rep.results] == ["fail"]
    rep = bad_first.run(RunContext(learner=bad_learner))
    assert [r.status for r in rep.results] == ["fail", "fail"]


def test_run_mutants_scores_and_caches_controls():
    check = _fake_check()
    CALLS.clear()
    rep = run_mutants(check, RunContext())
    outcome = {r.mutant.name: (r.outcome, r.killed_by) for r in rep.results}
    assert outcome == {"constant": ("killed", "learns"), "negative": ("killed", "learns"),
                       "same": ("legitimate", "")}
    assert rep.n_killed == 2 and rep.n_mutants == 2 and rep.score == 1.0 and rep.passed
    # three mutant measurements, one control (cached across the mutants)
    assert len(CALLS) == 4
    text = rep.format()
    assert "mutation score of fake: 2/2 killed = 1.00" in text and "1 legitimate variant" in text
    json.dumps(rep.to_dict())
    with pytest.raises(ValueError, match="^mutants: unknown"):
        run_mutants(check, RunContext(), mutants=["nope"])
    surv = Check("s", "t", "s", check.claims, protocol="fake",
                 mutants=[Mutant("copy", "not a bug", learner_spec(good_learner))])
    rep = run_mutants(surv, RunContext())
    assert rep.results[0].outcome == "survived" and rep.score == 0.0 and not rep.passed


def test_cli_learner_and_mutants_usage(tmp_path, capsys):
    from rltheory.cli import main

    assert main(["check", "proof_steps", "--learner", "nope", "--out", str(tmp_path)]) == 2
    assert "--learner" in capsys.readouterr().err
    assert main(["check", "tabular_regret", "--learner", "no_such_mod_q:f", "--out", str(tmp_path)]) == 2
    assert "could not import" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["check", "tabular_regret", "--learner", "a:b", "--mutants"])
    assert e.value.code == 2


# ------------------------------------------------------------------------------ the catalogue (slow)


def _catalogue():
    out = []
    for name, check in sorted(proofs_checks.registry().items()):
        for mu in check.mutants:
            out.append(pytest.param(name, mu.name, id=f"{name}/{mu.name}"))
    return out


@pytest.fixture(scope="module")
def mutant_store(tmp_path_factory):
    """One sweep store for the whole catalogue, so each check's controls are computed once."""
    return str(tmp_path_factory.mktemp("mutants"))


@pytest.mark.slow
@pytest.mark.parametrize("check_name, mutant_name", _catalogue())
def test_mutant_is_killed(check_name, mutant_name, mutant_store):
    check = proofs_checks.get(check_name)
    rep = run_mutants(check, RunContext(quick=True, out_dir=mutant_store, progress=False), mutants=[mutant_name])
    (res,) = rep.results
    if res.mutant.legitimate:
        assert res.outcome == "legitimate", f"legitimate variant {mutant_name} failed: {res.message}"
    else:
        assert res.outcome == "killed", f"mutant {mutant_name} of {check_name} survived: {res.message}"


def test_mutation_table_fits_the_width_and_never_cuts_names():
    """The mutation table wraps to the width asked for (the CLI passes the terminal's, 100 off a terminal): long
    mutant and claim names stay whole, every word of the evidence is there."""
    import re

    from proofs_checks.framework.mutation import MutantResult, MutationReport

    long_mutant = Mutant("sandwich_uses_the_wrong_determinant_ratio", "a bug", learner_spec(bad_learner))
    msg = ("32/32 hold; worst measured/bound = 3.45e+08 at K=5; violated on 32 of 32 seeds and more words " * 2).strip()
    results = [MutantResult(long_mutant, "killed", "elliptical_sandwich_lower_side", msg, 12.3),
               MutantResult(Mutant("copy", "not a bug", learner_spec(good_learner), legitimate="same code"),
                            "legitimate-failed", "", "learns: fail (x)", 0.1)]
    rep = MutationReport("proof_steps", results)
    for width in (154, 100, 80, 60):
        text = rep.format(width=width)
        assert max(map(len, text.splitlines())) <= width, text
        assert "~" not in text
        words = re.findall(r"\S+", text)
        for word in ["sandwich_uses_the_wrong_determinant_ratio", "elliptical_sandwich_lower_side:", "KILLED",
                     "LEGITIMATE-FAILED", "12.3", *msg.split()]:
            assert word in words, (word, text)
        assert "mutation score of proof_steps: 1/1 killed = 1.00; 1 legitimate variant(s)" in " ".join(words)
    with pytest.raises(TypeError, match="^width: "):
        rep.format(width="80")
