"""Hypothesis cases run in a fresh interpreter, so that a crash (an out-of-bounds read in a kernel) fails the test
instead of killing pytest."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import rltheory


def run_cases_in_subprocess(module: str, strategy: str, check: str, settings_name: str, n_examples: int,
                            timeout: float) -> None:
    """Run ``module.check(case)`` on ``n_examples`` cases drawn from the expression ``strategy`` (evaluated with
    the test module bound to ``m``) under the module's settings object ``settings_name``; asserts that the
    interpreter finished them all, and names the last cases it printed when it did not."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(os.path.abspath(rltheory.__file__)))
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {here!r})
        from hypothesis import given, settings
        import {module} as m

        @settings(m.{settings_name}, max_examples={n_examples})
        @given({strategy})
        def run(case):
            print(case, flush=True)  # the last line printed names the case that crashed, if one does
            m.{check}(case)

        run()
        print("CASES-DONE", flush=True)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env)
    last = proc.stdout.strip().splitlines()[-3:]
    assert proc.returncode == 0 and last and last[-1] == "CASES-DONE", (
        f"subprocess exited with {proc.returncode}; last cases: {last}\nstderr:\n{proc.stderr[-4000:]}")


def kill_group(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGKILL the process group that ``proc`` leads (started with ``start_new_session=True``), if it still
    exists, and reap ``proc``: the cleanup after a test of interrupts or pool workers, whatever it asserted."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=timeout)
