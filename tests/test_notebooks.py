"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel (quick mode: RLTHEORY_QUICK=1) and
shows its figures: every cell that draws a figure has an image/png output, and the cells that loop over a check's
claims run every claim of the check and show one figure per claim.

The kernel is started without MPLBACKEND, so matplotlib uses Jupyter's inline backend exactly as a user's
notebook does (forcing Agg here once hid that no figure was ever displayed)."""
import os
import pathlib
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
DRAWS = re.compile(r"plt\.(show|subplots|figure|plot)\(|\.figure\(")


def _pngs(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", [])
               if o.get("output_type") in ("display_data", "execute_result"))


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif o.get("output_type") == "error":
            out.append("\n".join(o.get("traceback", [])))
    return "".join(out)


def _claims_run(cell, source: str):
    """``(claims the cell shows, every claim of the check)`` for a cell that runs a check
    (``get("name").run(...)``), or None."""
    m = re.search(r"get\(\"(\w+)\"\)", source)
    if m is None or ".figure(" not in source:
        return None
    from proofs_checks import get

    names = [c.name for c in get(m.group(1)).claims]
    # the cell prints the claims it ran (markdown table rows "| check | claim | ...")
    shown = [n for n in names if any(f"| {n} |" in o.get("data", {}).get("text/markdown", "")
                                     for o in cell.get("outputs", []))]
    return shown, names


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_figures(path, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("RLTHEORY_QUICK", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # let the kernel pick Jupyter's inline backend
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, "\n".join("\n".join(o.get("traceback", [])) for o in errors)
    drawing = [c for c in code if DRAWS.search(c.source)]
    assert drawing, f"{path.name}: no cell draws a figure"
    for i, c in enumerate(drawing):
        assert _pngs(c) >= 1, f"{path.name}: figure cell #{i} shows no image:\n{c.source[:300]}"
        run = _claims_run(c, c.source)
        if run is not None:
            claims, every = run
            assert claims, f"{path.name}: check cell shows no claim table"
            # quick mode is smaller, not partial: the check cell runs every claim
            assert claims == every, f"{path.name}: quick mode skips {sorted(set(every) - set(claims))}"
            assert _pngs(c) == len(claims), f"{path.name}: {len(claims)} claims run, {_pngs(c)} figures shown"
    for c in code:
        assert "KeyboardInterrupt" not in _text(c)
    # the kernel and its pool workers write to this process's stderr: nothing may crash at shutdown
    assert "KeyboardInterrupt" not in capfd.readouterr().err


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no notebook"


def test_notebook_figure_cells_are_recognised():
    """The figure-cell detector of the notebook test sees every plotting cell of every notebook."""
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.cell_type == "code" and ("plt." in c.source or ".figure(" in c.source):
                assert DRAWS.search(c.source), f"{path.name}: cell draws but is not recognised:\n{c.source[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_ends_with_its_check(path):
    """README: each notebook ends with the check itself, one figure per claim, honouring RLTHEORY_QUICK."""
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    runs = [s for s in code if re.search(r"get\(\"\w+\"\)", s) and ".run(" in s]
    assert runs, f"{path.name}: no cell runs a check"
    assert all("quick=QUICK" in s for s in runs), f"{path.name}: the check cell ignores RLTHEORY_QUICK"
    assert any("report.figure(" in s for s in code), f"{path.name}: the check's claims are not drawn"
    assert any('os.environ.get("RLTHEORY_QUICK"' in s for s in code)
