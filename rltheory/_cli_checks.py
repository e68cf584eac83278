"""The check-running verbs of the CLI (``list``, ``check``, ``bounds``), kept apart from argument parsing."""
from __future__ import annotations

import json
import os
import sys
import time

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _registry():
    import proofs_checks

    return proofs_checks.registry()


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
    from rltheory import bounds

    # checks register their bounds on import; load them so the list is complete
    _registry()
    for b in sorted(bounds.all_bounds(), key=lambda b: b.name):
        exps = _format_exponents(b.exponents())
        print(f"{b.name} ({b.kind}): {b.expr}")
        print(f"    leading exponents: {exps or '-'}    source: {b.source}")
    return EXIT_OK


def cmd_check(args) -> int:
    from proofs_checks import RunContext, format_table, markdown_table

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
    reports = []
    for name in names:
        ctx_kw = dict(quick=args.quick, seed=args.seed, out_dir=out, executor=args.scheduler,
                      n_workers=args.workers, progress=not args.no_progress)
        if args.seeds is not None:
            ctx_kw["seeds"] = args.seeds
        ctx = RunContext(**ctx_kw)
        t0 = time.perf_counter()
        print(f"== {name} ({'quick' if args.quick else 'full'} size) ...", flush=True)
        report = reg[name].run(ctx)
        report.save(out)
        reports.append(report)
        ndev = sum(r.status == "deviation" for r in report.results)
        verdict = ("PASS" if report.passed else "FAIL") + (f" ({ndev} documented deviation(s))" if ndev else "")
        print(f"   {name}: {verdict} in {time.perf_counter() - t0:.1f} s", flush=True)
    print()
    print(format_table(reports))
    devs = [(rep.name, r.claim.name, r.claim.deviation) for rep in reports for r in rep.results
            if r.status == "deviation"]
    if devs:
        print("\nDocumented deviations (measured; the theorem's prediction is not reproduced, the control is rejected):")
        for check, claim, text in devs:
            print(f"  {check}/{claim}: {text}")
    summary = {r.name: r.passed for r in reports}
    with open(os.path.join(out, "summary.md"), "w") as fh:
        fh.write(f"# rltheory check ({'quick' if args.quick else 'full'} size)\n\n")
        fh.write(markdown_table(reports))
        if devs:
            fh.write("\n## Documented deviations\n\n")
            for check, claim, text in devs:
                fh.write(f"- `{check}/{claim}`: {text}\n")
    with open(os.path.join(out, "index.json"), "w") as fh:
        json.dump({"checks": summary, "quick": bool(args.quick)}, fh, indent=2)
    print(f"\nreports, figures and summary.md in {out}")
    return EXIT_OK if all(summary.values()) else EXIT_FAIL
