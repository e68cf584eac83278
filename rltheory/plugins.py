"""Entry-point groups through which packages plug into ``rltheory`` without ``rltheory`` importing them.

``rltheory`` is the bottom layer: it never imports ``mdps`` or ``proofs_checks``. Anything the command line
needs from the layers above (checks, the verbs that run them, demo instances) is registered by the distribution
that ships it, in its ``pyproject.toml``::

    [project.entry-points."rltheory.checks"]
    tabular_regret = "proofs_checks.tabular_regret:CHECK"

A third-party package registers its own checks the same way. Entry points are read from the installed
distributions' metadata, so a new line takes effect after ``pip install -e .``.
"""
from __future__ import annotations

from importlib.metadata import entry_points

#: a check object (``proofs_checks.framework.Check`` or anything with ``name``, ``claims``, ``run``)
CHECKS_GROUP = "rltheory.checks"
#: the CLI verbs that run checks (``list``, ``check``, ``bounds``): callables ``verb(args) -> exit code``
COMMANDS_GROUP = "rltheory.commands"
#: MDP constructors the CLI's ``solve`` demo builds its instances with (``riverswim``, ``chain``, ...)
MDPS_GROUP = "rltheory.mdps"


def load_group(group: str) -> dict:
    """Load every entry point of ``group``.

    Parameters
    ----------
    group : str
        Entry-point group name, e.g. :data:`CHECKS_GROUP`.

    Returns
    -------
    dict
        ``{entry-point name: loaded object}``, sorted by name.

    Raises
    ------
    TypeError
        If ``group`` is not a string.
    ValueError
        If two installed distributions register the same name in ``group`` with different targets.
    """
    if not isinstance(group, str):
        raise TypeError(f"group: expected a string, got {type(group).__name__}")
    targets: dict = {}
    for ep in entry_points(group=group):
        if ep.name in targets and targets[ep.name].value != ep.value:
            raise ValueError(f"group: {group!r} registers {ep.name!r} twice ({targets[ep.name].value} and {ep.value})")
        targets[ep.name] = ep
    return {name: targets[name].load() for name in sorted(targets)}


def load_one(group: str, name: str):
    """Load the entry point ``name`` of ``group``.

    Parameters
    ----------
    group : str
        Entry-point group name.
    name : str
        Entry-point name within the group.

    Returns
    -------
    object
        The loaded object.

    Raises
    ------
    LookupError
        If no installed distribution registers ``name`` in ``group``.
    """
    for ep in entry_points(group=group, name=name):
        return ep.load()
    raise LookupError(f"name: nothing registered as {name!r} in the entry-point group {group!r} "
                      f"(is the package that provides it installed? pip install -e .)")
