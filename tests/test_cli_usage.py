"""`rltheory check` given a broken learner, bad input or a closed stdout: a readable line and an exit status, never a
traceback (a user-experience review of the command line). Fast: the smallest check, tiny learners, no pool unless
the pool is what is tested."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "100",
       "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}


def test_a_script_without_main_guard_gets_a_clear_line(tmp_path):
    """A script that runs a sweep at its top level: the spawned workers re-run it on import; each stops with
    one line that names the guard, and the parent's error says the same."""
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.join(ROOT, 'tests')!r})
        from proofs_checks import RunContext
        import _sweep_targets
        RunContext(executor="local", n_workers=2).sweep(_sweep_targets.noisy, {{"a": [1, 2], "b": [0]}}, "t")
    """))
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=ENV, text=True, capture_output=True,
                       timeout=300)
    assert p.returncode == 1
    assert 'rltheory: a worker process re-ran the script that runs the check: put the check\'s run under ' \
           '`if __name__ == "__main__":`' in p.stderr
    assert "bootstrapping phase" not in p.stderr  # multiprocessing's own traceback is not reached
    assert p.stderr.strip().splitlines()[-1].count('if __name__ == "__main__":') == 1
