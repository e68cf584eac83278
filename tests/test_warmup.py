"""The first-run kernel warm-up of ``rltheory check`` (proofs_checks._warmup)."""
import numpy as np
from numba import njit

from proofs_checks import _warmup
from proofs_checks._kernel_signatures import SIGNATURES
from proofs_checks.cli import _registry


@njit(cache=False)
def _twice(x):
    return 2.0 * x


def test_signature_table_resolves():
    # every entry must name a Numba dispatcher and a tuple of Numba types, or the warm-up silently does nothing
    assert set(SIGNATURES) <= set(_registry())
    ns = _warmup._types_namespace()
    for name, rows in SIGNATURES.items():
        assert rows, name
        for module, qualname, sig, cost in rows:
            assert _warmup._resolve(module, qualname) is not None, (name, module, qualname)
            argtypes = eval(sig, {"__builtins__": {}}, ns)
            assert isinstance(argtypes, tuple) and all(hasattr(t, "key") for t in argtypes), (name, sig)
            assert cost >= 0.0


def test_deal_balances_and_keeps_every_entry():
    rng = np.random.default_rng(3)
    entries = [["m", f"f{i}", "()", float(c)] for i, c in enumerate(rng.uniform(0.1, 5.0, 23))]
    for n in (1, 2, 3, 5):
        bins = _warmup.deal(entries, n)
        assert sorted(e[1] for b in bins for e in b) == sorted(e[1] for e in entries)
        loads = [sum(e[3] for e in b) for b in bins]
        # greedy list scheduling: the last entry added to the fullest bin went to the then cheapest bin
        assert max(loads) - min(loads) <= max(e[3] for e in entries) + 1e-12
    assert _warmup.deal(entries[:1], 4) == [entries[:1]]


def test_compile_kernels_compiles_and_skips_stale_entries():
    mod = __name__
    good = [mod, "_twice", "(float64,)", 0.1]
    stale = [[mod, "_missing", "(float64,)", 0.1], [mod, "_twice", "(no_such_type,)", 0.1],
             ["no_such_module_xyz", "f", "(float64,)", 0.1], [mod, "test_warm_kernels_needs_two_workers", "()", 0.1]]
    out = _warmup.compile_kernels([good, *stale])
    assert out == {"compiled": 1, "skipped": len(stale)}
    assert any(sig == (_warmup._types_namespace()["float64"],) for sig in _twice.signatures)


def test_warm_kernels_needs_two_workers():
    # one worker computes every cell in process: nothing to share, so no warm-up
    assert _warmup.warm_kernels(sorted(SIGNATURES), n_workers=1) == 0


def test_no_warm_up_without_the_jit(monkeypatch):
    from numba import config

    from proofs_checks import _warmup

    monkeypatch.setattr(config, "DISABLE_JIT", True)
    assert _warmup.warm_kernels(["tabular_regret"], 2) == 0


def test_recorder_sees_a_kernel_called_from_python_after_compiling_as_a_callee(tmp_path):
    # episode_return was compiled inside play_episodes before the LMDP protocol called it from Python, so its
    # compile event came at depth 1 and the table missed it; the recorder must log what Python calls, however
    # the code was compiled first, and only that (run in a child: the recorder patches Numba for the process)
    import json
    import os
    import subprocess
    import sys
    import textwrap

    log = tmp_path / "kernels.jsonl"
    code = textwrap.dedent("""
        import sys
        from proofs_checks._record_kernels import install_recorder
        install_recorder(sys.argv[1])
        from numba import njit

        @njit(cache=False)
        def inner(x):
            return x + 1.0

        @njit(cache=False)
        def only_inner(x):
            return 2.0 * x

        @njit(cache=False)
        def outer(x):
            return inner(x) + only_inner(x)

        assert outer(1.0) == 4.0
        assert inner(2.0) == 3.0 and inner(2.0) == 3.0  # the second call is served by the dispatch table
        assert inner.signatures == only_inner.signatures == outer.signatures
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    run = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert rows == [["__main__", "outer", "(float64,)"], ["__main__", "inner", "(float64,)"]]

