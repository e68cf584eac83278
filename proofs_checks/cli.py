"""The check-running verbs of the ``rltheory`` command line: ``list``, ``check`` and ``bounds``.

``rltheory.cli`` parses the arguments and calls these verbs through the entry-point group
``rltheory.commands`` (this package registers them in ``pyproject.toml``), so that ``rltheory`` never imports
``proofs_checks``. The verbs find the checks through the entry-point group ``rltheory.checks``: this project's
wings and any third-party package's checks alike.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

from rltheory.plugins import CHECKS_GROUP, load_group

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # a run stopped by Ctrl-C or SIGTERM (the shell's code for SIGINT)


def _registry() -> dict:
    """``{check name: Check}`` of every check registered in the entry-point group ``rltheory.checks``."""
    found = {}
    for ep_name, check in load_group(CHECKS_GROUP).items():
        name = getattr(check, "name", None)
        if name in found:
            raise ValueError(f"name: two registered checks are called {name!r} (entry point {ep_name!r})")
        found[name] = check
    return found


def cmd_list(args) -> int:
    reg = _registry()
    if not reg:
        print("no checks registered")
        return EXIT_OK
    for name, check in sorted(reg.items()):
        print(f"{name}: {check.title}")
        print(f"    source: {check.source}")
        for claim in check.claims:
            print(f"    - {claim.name}: {claim.statement}")
            print(f"      negative control: {claim.control_description}")
    return EXIT_OK


def _format_exponents(exps: dict) -> str:
    """``A^1/2, K^1/2`` for polynomial growth; a variable that sits in an exponent (sympy's infinite degree,
    e.g. ``A**k`` in ``k``) is listed as ``exponential in k`` instead of ``k^oo``."""
    import sympy as sp

    poly, expo = [], []
    for k, v in sorted(exps.items(), key=lambda kv: str(kv[0])):
        if v in (sp.oo, -sp.oo, sp.zoo):
            expo.append(str(k))
        else:
            poly.append(f"{k}^{v}")
    return ", ".join(poly + ([f"exponential in {', '.join(expo)}"] if expo else []))


def cmd_bounds(args) -> int:
    """Print the bounds of every registered check (``Check.bounds``), each once, sorted by name."""
    found = {}
    for check in _registry().values():
        for b in getattr(check, "bounds", ()):
            found.setdefault(b.name, b)
    for b in sorted(found.values(), key=lambda b: b.name):
        exps = _format_exponents(b.exponents())
        print(f"{b.name} ({b.kind}): {b.expr}")
        print(f"    leading exponents: {exps or '-'}    source: {b.source}")
    return EXIT_OK


def cmd_check(args) -> int:
    from . import RunContext, format_table, markdown_table

    reg = _registry()
    names = sorted(reg) if args.all else list(dict.fromkeys(args.names))
    unknown = [n for n in names if n not in reg]
    if unknown:
        print(f"rltheory check: unknown check(s): {', '.join(unknown)}; known: {', '.join(sorted(reg)) or 'none'}",
              file=sys.stderr)
        return EXIT_USAGE
    out = os.path.abspath(args.out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        print(f"rltheory check: cannot create --out {out!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    learner = getattr(args, "learner", None)
    if learner is not None:
        from .learners import learner_spec

        try:
            learner = learner_spec(learner)
        except (TypeError, ValueError) as exc:
            print(f"rltheory check: --learner: {exc}", file=sys.stderr)
            return EXIT_USAGE
        without = [n for n in names if not reg[n].learner_claims]
        if without:
            with_l = sorted(n for n, c in reg.items() if c.learner_claims)
            print(f"rltheory check: --learner: no learner claims in {', '.join(without)}; checks with learner "
                  f"claims: {', '.join(with_l) or 'none'}", file=sys.stderr)
            return EXIT_USAGE
    ctx_kw = dict(quick=args.quick, seed=args.seed, out_dir=out, executor=args.scheduler,
                  n_workers=args.workers, progress=not args.no_progress)
    if args.seeds is not None:
        ctx_kw["seeds"] = args.seeds
    if getattr(args, "mutants", False):
        return _cmd_mutants(reg, names, ctx_kw, out)
    reports, seconds = [], {}
    t_all = time.perf_counter()
    previous_sigterm = _sigterm_interrupts()
    try:
        if learner is None and args.scheduler == "local":
            from ._warmup import warm_kernels

            try:
                warm_kernels(names, args.workers)
            except Exception as exc:  # only a speed-up: the checks compile what they call anyway
                print(f"   (the first-run compile step failed and is skipped: {type(exc).__name__}: {exc})",
                      flush=True)
        for name in names:
            ctx = RunContext(**ctx_kw, learner=learner)
            t0 = time.perf_counter()
            who = "" if learner is None else f", learner {learner}, protocol {reg[name].protocol}"
            print(f"== {name} ({'quick' if args.quick else 'full'} size{who}) ...", flush=True)
            report = reg[name].run(ctx)
            report.save(out, executor=args.scheduler, n_workers=args.workers)
            reports.append(report)
            ndev = sum(r.status == "deviation" for r in report.results)
            verdict = ("PASS" if report.passed else "FAIL") + (f" ({ndev} documented deviation(s))" if ndev else "")
            seconds[name] = time.perf_counter() - t0
            print(f"   {name}: {verdict} in {seconds[name]:.1f} s", flush=True)
    except KeyboardInterrupt:
        print(f"\nrltheory check: interrupted; the finished sweep cells are kept in "
              f"{os.path.join(out, 'sweeps.sqlite')}: run the same command again to resume", file=sys.stderr)
        _print_times(seconds, time.perf_counter() - t_all)
        return EXIT_INTERRUPTED
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)
    total = time.perf_counter() - t_all
    print()
    print(format_table(reports))
    devs = [(rep.name, r.claim.name, r.claim.deviation) for rep in reports for r in rep.results
            if r.status == "deviation"]
    if devs:
        print("\nDocumented deviations (measured; the theorem's prediction is not reproduced, the control is rejected):")
        for check, claim, text in devs:
            print(f"  {check}/{claim}: {text}")
    summary = {r.name: r.passed for r in reports}
    tag = ""
    if learner is not None:
        from .learners import spec_tag

        tag = f"@{spec_tag(learner)}"
    with open(os.path.join(out, f"summary{tag}.md"), "w") as fh:
        fh.write(f"# rltheory check ({'quick' if args.quick else 'full'} size"
                 f"{'' if learner is None else f', learner {learner}'})\n\n")
        fh.write(markdown_table(reports))
        if devs:
            fh.write("\n## Documented deviations\n\n")
            for check, claim, text in devs:
                fh.write(f"- `{check}/{claim}`: {text}\n")
    with open(os.path.join(out, f"index{tag}.json"), "w") as fh:
        json.dump({"checks": summary, "quick": bool(args.quick), "learner": learner, "seconds": seconds,
                   "total_seconds": total}, fh, indent=2)
    _print_times(seconds, total)
    print(f"\nreports, figures and summary.md in {out}")
    return EXIT_OK if all(summary.values()) else EXIT_FAIL


def _print_times(seconds, total):
    """Per-check wall time (its sweeps, rules and report files) and the run's total."""
    if not seconds:
        return
    w = max(len(n) for n in [*seconds, "total"])
    print("\nwall time per check:")
    for name, sec in seconds.items():
        print(f"  {name:<{w}}  {sec:8.1f} s")
    print(f"  {'total':<{w}}  {total:8.1f} s", flush=True)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _sigterm_interrupts():
    """Turn SIGTERM (``timeout``, a CI runner, ``kill``) into ``KeyboardInterrupt`` while the checks run, so that
    it stops the run like Ctrl-C does: the sweep in flight kills its pool workers, the cells finished so far stay
    in ``sweeps.sqlite`` and a rerun resumes from them. Returns the previous handler (``None`` off the main
    thread, where signal handlers cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def _cmd_mutants(reg, names, ctx_kw, out) -> int:
    """``rltheory check NAME --mutants``: every mutant of each check through its learner claims; prints the
    mutation report and writes ``<out>/<check>.mutants.json``; exit 1 unless every non-legitimate mutant is
    killed and every legitimate variant passes."""
    from . import RunContext, run_mutants

    without = [n for n in names if not reg[n].mutants]
    if without:
        print(f"rltheory check: --mutants: no mutant catalogue in {', '.join(without)}", file=sys.stderr)
        return EXIT_USAGE
    ok = True
    for name in names:
        t0 = time.perf_counter()
        print(f"== mutants of {name} ({len(reg[name].mutants)}, {'quick' if ctx_kw['quick'] else 'full'} size) ...",
              flush=True)
        rep = run_mutants(reg[name], RunContext(**ctx_kw))
        print(rep.format())
        print(f"   {name}: mutation analysis {'PASS' if rep.passed else 'FAIL'} in {time.perf_counter() - t0:.1f} s\n",
              flush=True)
        with open(os.path.join(out, f"{name}.mutants.json"), "w") as fh:
            json.dump(rep.to_dict(), fh, indent=1)
        ok &= rep.passed
    return EXIT_OK if ok else EXIT_FAIL
