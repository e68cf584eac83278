"""Learners under test, named by import specs ``"package.module:qualname"``.

A check whose claims are about a learner (``Claim.uses_learner``) runs the learner named by
``RunContext.learner``: a spec string, so that it is picklable (sweep cells run in spawned worker processes,
which import the learner themselves) and part of the sweep store's cell key (results of two learners never mix).
``None`` means the check's built-in reference implementation (its Numba fast path). What the named object must
do is the check's *protocol* (``Check.protocol``, documented in the README), e.g. ``"episodic_tabular"``:
``factory(S, A, H, K, seed) -> learner`` with ``learner.policy()`` and ``learner.update(states, actions,
rewards)``.

:func:`learner_spec` turns a factory (or a spec) into its canonical spec; :func:`resolve_learner` imports the
object a spec names.
"""
from __future__ import annotations

import importlib
import inspect
import re
import sys

__all__ = ["learner_spec", "resolve_learner", "spec_tag", "SPEC_PATTERN"]

#: ``package.module:qualname`` with dotted Python identifiers on both sides.
SPEC_PATTERN = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")

_CACHE: dict = {}


def _check_format(spec: str) -> str:
    spec = spec.strip()
    if not SPEC_PATTERN.match(spec):
        raise ValueError(f"learner: expected 'package.module:qualname' (dotted identifiers), got {spec!r}")
    return spec


def resolve_learner(spec: str):
    """Import and return the object named by ``spec`` (cached per process).

    Parameters
    ----------
    spec : str
        ``"package.module:qualname"``; ``qualname`` may be dotted (a class attribute, a nested name).

    Returns
    -------
    object
        ``getattr(importlib.import_module(module), qualname)`` followed along the dots.

    Raises
    ------
    TypeError
        ``spec`` is not a string.
    ValueError
        The spec is malformed, importing its module raises (any exception: a missing module, a syntax error,
        an error of its top-level code) or it names no attribute (the message starts with ``learner:``).
    """
    if not isinstance(spec, str):
        raise TypeError(f"learner: expected a spec string 'package.module:qualname', got {type(spec).__name__}")
    spec = _check_format(spec)
    if spec in _CACHE:
        return _CACHE[spec]
    mod_name, qual = spec.split(":")
    try:
        obj = importlib.import_module(mod_name)
    except Exception as exc:  # ImportError, but also a SyntaxError or any error raised by the module's top level
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name == mod_name.split(".")[0]:
            hint = " (is its directory on sys.path? set PYTHONPATH)"
        raise ValueError(f"learner: could not import {mod_name}: {type(exc).__name__}: {exc}{hint}") from None
    for part in qual.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"learner: module {mod_name!r} has no attribute {qual!r} (spec {spec!r})") from None
    _CACHE[spec] = obj
    return obj


def learner_spec(obj) -> str:
    """The canonical spec ``"package.module:qualname"`` of a learner factory.

    Parameters
    ----------
    obj : str or callable
        A spec string (checked by importing it), or a module-level callable: a function or class (its
        ``__module__`` and ``__qualname__``), or an instance bound to a module-level name (found by identity in
        its class's module, else in the imported modules).

    Returns
    -------
    str
        A spec for which ``resolve_learner(spec) is obj`` (for a string: the stripped string itself).

    Raises
    ------
    TypeError
        ``obj`` is neither a string nor callable, or the string names an object that is not callable.
    ValueError
        The string's module cannot be imported (any error on import), or ``obj`` is a lambda, a local function, defined in ``__main__``, or not reachable by import under its
        name (messages start with ``learner:``).
    """
    if isinstance(obj, str):
        spec = _check_format(obj)
        found = resolve_learner(spec)
        if not callable(found):
            raise TypeError(f"learner: {spec!r} names an object of type {type(found).__name__}, not a callable "
                            "factory")
        return spec
    if not callable(obj):
        raise TypeError(f"learner: expected a spec string or a module-level callable, got {type(obj).__name__}")
    if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj) or inspect.ismethod(obj):
        mod, qual = obj.__module__, obj.__qualname__
    else:  # a callable instance: look it up by identity in its class's module, then in every loaded module
        mod = type(obj).__module__
        names = [k for k, v in vars(importlib.import_module(mod)).items() if v is obj]
        if not names:
            for mname, module in sorted(sys.modules.items()):
                if mname == "__main__" or module is None:
                    continue
                try:
                    names = [k for k, v in vars(module).items() if v is obj]
                except TypeError:
                    continue
                if names:
                    mod = mname
                    break
        if not names:
            raise ValueError(f"learner: the callable instance {obj!r} is not bound to a name of an imported "
                             "module; bind it to a module-level name or pass a spec string")
        qual = sorted(names)[0]
    if not isinstance(mod, str) or not isinstance(qual, str):
        raise ValueError(f"learner: {obj!r} has no module-level name")
    if "<lambda>" in qual or "<locals>" in qual:
        raise ValueError(f"learner: {qual!r} is a lambda or a local function; worker processes cannot import it — "
                         "define the factory at module level")
    if mod == "__main__":
        raise ValueError(f"learner: {qual!r} is defined in __main__; worker processes cannot import it — "
                         "put the factory in an importable module")
    spec = _check_format(f"{mod}:{qual}")
    found = resolve_learner(spec)
    if found is not obj and found != obj:  # a bound classmethod is re-created on each access
        raise ValueError(f"learner: {spec!r} does not resolve to the given object (shadowed or re-bound name)")
    return spec


def spec_tag(spec: str) -> str:
    """A file-name-safe tag for ``spec`` (``:`` becomes ``.``), used to keep a learner's report files apart.

    Parameters
    ----------
    spec : str
        A learner spec ``"package.module:qualname"``.

    Returns
    -------
    str
        The spec with ``:`` replaced by ``.``.
    """
    return _check_format(spec).replace(":", ".")
