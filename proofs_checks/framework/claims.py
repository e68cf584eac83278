"""Claims and checks: :class:`Claim` (measurement, rule, negative control), :class:`Check`, :class:`Mutant`."""
from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Callable, Sequence

from .model import Measurement, _jsonable
from .report import CheckReport
from .rules import Rule, RuleResult
from .runner import RunContext, each_sweep_reported_once, negative_control_running

__all__ = ["Claim", "ClaimResult", "Check", "Mutant"]


@dataclass
class Claim:
    """One claim of a theorem: a measurement, the pass rule it must satisfy and a negative control it must fail.

    Parameters
    ----------
    name : str
        Identifier, unique within its check.
    statement : str
        The claim in words, with its equation.
    source : str
        Where the claim is stated (paper, theorem, page).
    rule : Rule
        The pass rule.
    measure : callable
        ``measure(ctx) -> Measurement`` on concrete instances.
    negative_control : callable
        ``negative_control(ctx) -> Measurement`` on a deliberately broken variant; mandatory.
    control_description : str
        What the negative control breaks; mandatory.
    bound : rltheory.bounds.Bound, optional
        The symbolic bound the rule compares with.
    deviation : str
        A documented finding that the claim does not hold for the implementation; the claim's status is then
        ``"deviation"`` instead of ``"fail"``.
    uses_learner : bool
        Whether ``measure`` runs ``ctx.learner``.
    """
    name: str
    statement: str
    source: str
    rule: Rule
    measure: Callable[[RunContext], Measurement]
    negative_control: Callable[[RunContext], Measurement] | None
    _: KW_ONLY
    control_description: str = ""
    bound: object = None  # rltheory.bounds.Bound or None
    #: a documented, measured finding that the claim does NOT hold for our implementation (what, how much, why it
    #: is believed to happen). A failing measurement is then reported as "deviation" instead of "fail"; the
    #: negative control must still be rejected, and a passing measurement is reported as "pass" (deviation gone).
    deviation: str = ""
    #: True when ``measure(ctx)`` runs ``ctx.learner`` (the learner under test); the negative control always
    #: runs the check's reference (it tests the rule, not the learner)
    uses_learner: bool = False

    def __post_init__(self):
        if self.negative_control is None or not callable(self.negative_control):
            raise ValueError(f"claim {self.name!r}: a negative control is mandatory (a check must be able to fail)")
        if not callable(self.measure):
            raise TypeError(f"claim {self.name!r}: measure must be callable")
        if not self.control_description:
            raise ValueError(f"claim {self.name!r}: describe the negative control (control_description)")


@dataclass
class ClaimResult:
    """The results of one claim: its measurement and negative control with the rule's verdict on each."""
    claim: Claim
    measurement: Measurement
    result: RuleResult
    control: Measurement
    control_result: RuleResult

    @property
    def status(self) -> str:
        """``"pass"``, ``"fail"``, ``"deviation"`` or ``"broken"`` (see :mod:`proofs_checks.framework`)."""
        if self.measurement.invariant_violations:
            return "fail"
        if not self.result.passed:
            if self.claim.deviation and not self.control_result.passed:
                return "deviation"
            return "fail"
        if self.control_result.passed:
            return "broken"
        return "pass"

    def to_dict(self):
        """The claim, its measurement, rule result, negative control and status as JSON-ready data.

        Returns
        -------
        dict
            Plain types only (non-finite floats as strings).
        """
        c = self.claim
        return _jsonable({
            "name": c.name, "statement": c.statement, "source": c.source, "rule": c.rule.describe(),
            "status": self.status, "uses_learner": c.uses_learner,
            "bound": c.bound.to_dict() if c.bound is not None else None,
            "measurement": self.measurement.to_dict(), "result": self.result.to_dict(),
            "control_description": c.control_description, "deviation": c.deviation, "control": self.control.to_dict(),
            "control_result": self.control_result.to_dict(),
        })


@dataclass
class Mutant:
    """A realistic bug of a check's learner: ``learner`` is the spec of a factory (or of a function variant
    interpreted by the check's protocol) in ``proofs_checks/<check>/mutants.py``. ``legitimate`` non-empty marks
    a legitimate variant that is expected to pass, with the measured reason."""

    name: str
    description: str
    learner: str
    _: KW_ONLY
    legitimate: str = ""

    def __post_init__(self):
        from ..learners import SPEC_PATTERN

        for f in ("name", "description", "learner", "legitimate"):
            if not isinstance(getattr(self, f), str):
                raise TypeError(f"{f}: expected a str, got {type(getattr(self, f)).__name__}")
        if not self.name or not self.description:
            raise ValueError(f"name: a mutant needs a name and a description (got {self.name!r})")
        if not SPEC_PATTERN.match(self.learner):
            raise ValueError(f"learner: expected 'package.module:qualname', got {self.learner!r}")


def _invariant_failed(r: RuleResult, m: Measurement) -> RuleResult:
    """The rule result of a measurement with violated invariants: failed, saying which."""
    if not m.invariant_violations:
        return r
    st = dict(r.stats)
    st["rule_passed"] = r.passed
    st["invariant_violations"] = list(m.invariant_violations)
    return RuleResult(False, st, "invariant violated: " + "; ".join(m.invariant_violations) + f" (rule: {r.message})")


@dataclass
class Check:
    """One theorem (or a set of lemmas) of one paper: a list of claims, run together.

    Parameters
    ----------
    name : str
        Identifier of the check (``rltheory check NAME``).
    title : str
        Human-readable title.
    source : str
        The paper.
    claims : list of Claim
        The claims, with unique names.
    protocol : str
        Learner protocol of the claims with ``uses_learner``.
    mutants : list of Mutant
        Realistic bugs of the learner, run by :func:`run_mutants`.
    bounds : tuple of rltheory.bounds.core.Bound
        The paper's bounds the check measures against or quotes (the wing's ``bounds.BOUNDS``); ``rltheory
        bounds`` lists them.
    """
    name: str
    title: str
    source: str
    claims: list
    #: name of the learner protocol of the claims with ``uses_learner`` (documented in the README):
    #: "episodic_tabular", "lmdp_hindsight", "reward_free", "set_function" or a check-specific one
    _: KW_ONLY
    protocol: str = ""
    #: realistic bugs of the learner, each run through the learner claims by :func:`run_mutants`
    mutants: list = field(default_factory=list)
    #: the paper's bounds (:class:`rltheory.bounds.core.Bound`); ``rltheory bounds`` lists them
    bounds: tuple = ()

    def __post_init__(self):
        names = [c.name for c in self.claims]
        if len(set(names)) != len(names):
            raise ValueError(f"check {self.name!r}: duplicate claim names {names}")
        if not self.claims:
            raise ValueError(f"check {self.name!r}: no claims")
        mnames = [m.name for m in self.mutants]
        if len(set(mnames)) != len(mnames):
            raise ValueError(f"check {self.name!r}: duplicate mutant names {mnames}")
        if not all(isinstance(m, Mutant) for m in self.mutants):
            raise TypeError(f"mutants: check {self.name!r} expects a list of Mutant")
        if any(c.uses_learner for c in self.claims) and not self.protocol:
            raise ValueError(f"protocol: check {self.name!r} has learner claims but names no protocol")

    @property
    def learner_claims(self) -> list:
        """The claims with ``uses_learner``: those a learner under test runs."""
        return [c for c in self.claims if c.uses_learner]

    def run(self, ctx: RunContext | None = None, claims: Sequence[str] | None = None, *,
            stop_on_fail: bool = False, control_cache: dict | None = None) -> "CheckReport":
        """Run the claims (all, or those named in ``claims``); with ``ctx.learner`` set only the claims with
        ``uses_learner`` (``ValueError`` if there are none). ``stop_on_fail`` stops after the first claim whose
        status is not pass/deviation. Negative controls run with ``learner=None`` (the reference); a dict
        ``control_cache`` keeps their results across runs (mutation analysis).

        Parameters
        ----------
        ctx : RunContext, optional
            Size, seeds, output directory and learner (default ``RunContext()``).
        claims : sequence of str, optional
            Names of the claims to run (default: all).
        stop_on_fail : bool
            Stop after the first claim that neither passes nor shows its documented deviation.
        control_cache : dict, optional
            Negative-control results keyed by ``(check, claim, quick, seeds, seed)``, filled and reused.

        Returns
        -------
        CheckReport
            One :class:`ClaimResult` per claim run.
        """
        ctx = RunContext() if ctx is None else ctx
        chosen = self.claims if claims is None else [c for c in self.claims if c.name in set(claims)]
        if ctx.learner is not None:
            chosen = [c for c in chosen if c.uses_learner]
            if not chosen:
                raise ValueError(f"learner: check {self.name!r} has no (selected) claim that runs a learner")
        ref_ctx = replace(ctx, learner=None) if ctx.learner is not None else ctx
        results = []
        with each_sweep_reported_once():  # a sweep read again by a later claim or control is reported once
            for c in chosen:
                m = c.measure(ctx)
                r = _invariant_failed(c.rule.evaluate(m), m)
                key = (self.name, c.name, ref_ctx.quick, ref_ctx.seeds, ref_ctx.seed)
                if control_cache is not None and key in control_cache:
                    cm, cr = control_cache[key]
                else:
                    with negative_control_running():
                        cm = c.negative_control(ref_ctx)
                    cr = _invariant_failed(c.rule.evaluate(cm), cm)
                    if control_cache is not None:
                        control_cache[key] = (cm, cr)
                res = ClaimResult(c, m, r, cm, cr)
                results.append(res)
                if stop_on_fail and res.status not in ("pass", "deviation"):
                    break
        return CheckReport(self, results, quick=ctx.quick, seeds=ctx.seeds, learner=ctx.learner)
