"""The fields every learner's result has.

A *learner* interacts with an environment for a number of episodes (UCBVI, Q-learning, GORP, SQIRL, SubPO, the
LMDP learners, the episodic protocol runner); its result class derives from :class:`LearnerResult` and adds what
is specific to it (regret curves, checkpoint values, the returned policy, ...). A *planner* computes from a model
or a data set without episodes; its result uses the field names of :class:`rltheory.solvers.SolveResult`
(``V`` / ``value``, ``Q``, ``policy``, ``error_bound``, ``converged``, ``nit``, ``method``) where they apply.

The base fields are keyword-only, so that each subclass keeps its own positional fields first.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LearnerResult", "learner_name"]


@dataclass(frozen=True, kw_only=True)
class LearnerResult:
    """Common part of a learner's result.

    Attributes
    ----------
    method : str
        The learner: the algorithm's function name (``"ucbvi"``, ``"qlearning"``, ``"gorp"``, ...) or, for the
        protocol runners, the name of the learner factory.
    episodes : int
        Episodes the run used (fewer than the budget ``K`` when it stopped early).
    seed : int or None
        The run's seed (``None`` when the caller passed a NumPy generator).
    """

    method: str
    episodes: int
    seed: int | None


def learner_name(factory) -> str:
    """The ``method`` label of a run driven by a learner factory: its qualified name, else its type's name.

    Parameters
    ----------
    factory : callable
        A learner factory (a function, a class, or a callable instance).

    Returns
    -------
    str
        ``factory.__qualname__`` when it has one, otherwise ``type(factory).__name__``.
    """
    name = getattr(factory, "__qualname__", None)
    return name if isinstance(name, str) else type(factory).__name__
