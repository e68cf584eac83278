"""The package map of DESIGN.md: import contracts (lint-imports) and the check registrations in pyproject.toml."""
import importlib
import os
import subprocess
import sys
import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
from pathlib import Path

import proofs_checks

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def test_import_contracts_hold():
    """layers proofs_checks -> mdps -> rltheory, wings independent of each other, no import cycles."""
    exe = Path(sys.executable).parent / "lint-imports"
    assert exe.exists(), f"lint-imports not installed next to {sys.executable} (pip install -e '.[dev]')"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([str(exe), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "BROKEN" not in res.stdout


def test_every_wing_is_registered_once_and_resolves_to_its_check():
    entries = _pyproject()["project"]["entry-points"]["rltheory.checks"]
    wings = proofs_checks.registry()
    assert sorted(entries) == sorted(wings)
    for name, target in entries.items():
        module, attr = target.split(":")
        check = getattr(importlib.import_module(module), attr)
        assert check is wings[name] and check.name == name


def test_independence_contract_lists_every_wing():
    contracts = _pyproject()["tool"]["importlinter"]["contracts"]
    (indep,) = [c for c in contracts if c["type"] == "independence"]
    assert sorted(indep["modules"]) == sorted(f"proofs_checks.{n}" for n in proofs_checks.registry())


def test_every_wing_has_the_same_parts():
    for name in proofs_checks.registry():
        wing = ROOT / "proofs_checks" / name
        parts = {"__init__.py", "claims.py", "settings.py", "bounds.py", "mutants.py", "FINDINGS.md"}
        assert parts <= {p.name for p in wing.iterdir()}, f"{name}: missing {parts - {p.name for p in wing.iterdir()}}"


def test_check_bounds_are_the_wing_bounds():
    for name, check in proofs_checks.registry().items():
        wing_bounds = importlib.import_module(f"proofs_checks.{name}.bounds").BOUNDS
        assert tuple(check.bounds) == tuple(wing_bounds)
        claimed = {c.bound.name for c in check.claims if c.bound is not None}
        assert claimed <= {b.name for b in check.bounds}, f"{name}: a claim's bound is not in CHECK.bounds"


def test_no_measured_confidence_intervals_in_docstrings():
    """Measured numbers live in the generated results/ files; a docstring that quotes an estimate with its CI
    ("0.485 [0.393, 0.574]") or a "Measured (quick ...)" log has copied them by hand and will go stale."""
    import ast
    import re

    ci = re.compile(r"-?\d+\.\d+ \[-?\d+\.\d+, -?\d+\.\d+\]|\b[Mm]easured \(quick")
    found = []
    for package in ("rltheory", "mdps", "proofs_checks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text())
            kinds = (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)
            nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, kinds)]
            for node in nodes:
                doc = ast.get_docstring(node, clean=False) or ""
                if ci.search(doc):
                    found.append(f"{path.relative_to(ROOT)}:{getattr(node, 'name', '<module>')}")
    assert not found, found


def test_plugins_validate_and_name_what_is_missing():
    from rltheory import plugins

    with pytest.raises(TypeError, match="^group: "):
        plugins.load_group(3)
    with pytest.raises(LookupError, match="nothing registered as 'no_such_check'"):
        plugins.load_one(plugins.CHECKS_GROUP, "no_such_check")
    assert plugins.load_group("rltheory.no_such_group") == {}


def test_installed_entry_points_find_the_wings():
    """What the CLI sees: the installed metadata's rltheory.checks group loads this package's CHECK objects."""
    from rltheory import plugins

    found = plugins.load_group(plugins.CHECKS_GROUP)
    if not found:
        pytest.skip("the installed metadata predates the rltheory.checks entry points: pip install -e .")
    wings = proofs_checks.registry()
    assert {name: found[name] for name in wings} == wings
