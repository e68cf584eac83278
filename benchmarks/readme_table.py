"""Print the README's performance table from a benchmark JSON: ``python -m benchmarks.readme_table [PATH]``.

Every number in the table is read from the JSON (``benchmarks/results/bench-full.json`` by default), so the README
cites one run; nothing is typed in by hand.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .run import RESULTS_DIR


def _t(data, prefix):
    return [t for t in data["targets"] if t["target"].startswith(prefix)]


def _join(vals, fmt="{:.2f}x"):
    return " / ".join(fmt.format(v) for v in vals)


def table(data: dict) -> str:
    rows = []
    meta = data["meta"]
    e2e = data.get("e2e", [])
    for kind, gammas in (("dense", sorted({e["gamma"] for e in e2e if e["kind"] == "dense"})),
                         ("sparse", sorted({e["gamma"] for e in e2e if e["kind"] == "sparse"}))):
        for g in gammas:
            for thr in sorted({e["blas_threads"] for e in e2e}, key=lambda x: (x is None, x)):
                sel = sorted((e for e in e2e if e["kind"] == kind and e["gamma"] == g and e["blas_threads"] == thr),
                             key=lambda e: e["S"])
                if not sel:
                    continue
                sizes = " / ".join(f"{e['S']:g}" for e in sel)
                ratios = " / ".join("-" if e["ratio"] is None else f"{e['ratio']:.2f}x" for e in sel)
                best = sorted({e["quantecon_best"].split("+ ")[-1] for e in sel if e["quantecon_best"]})
                blas = "one-thread BLAS" if thr == 1 else f"default BLAS threads ({thr})"
                rows.append((f"construct + solve to a 1e-8 certificate, {kind} Garnet S = {sizes}, γ = {g}, {blas}",
                             f"{ratios} QuantEcon's best construct + solve ({', '.join(best)}); "
                             f"rltheory method: {', '.join(sorted({e['method'] for e in sel}))}"))
    dense = _t(data, "dense sweep")
    if dense:
        rows.append(("dense Bellman sweep, S = " + " / ".join(t["target"].split("S=")[1].split(":")[0] for t in dense),
                     _join([t["measured"] for t in dense]) + " the throughput of the BLAS matvec alone"))
    par = [t for t in _t(data, "sparse sweep") if "_par)" in t["target"]]
    if par:
        rows.append(("sparse sweep, S = " + " / ".join(t["target"].split("S=")[1].split(":")[0] for t in par),
                     _join([t["measured"] for t in par]) + " faster than `scipy.sparse` matvec + max"))
    fin = _t(data, "finite S=20 A=4 H=20 (solve())")
    if fin:
        rows.append(("backward induction S = 20, A = 4, H = 20, `solve()`",
                     " and ".join(f"{t['measured']:.1f}x {t['target'].split('over ')[-1]}" for t in fin)))
    ch = data.get("method_choice", [])
    if ch:
        worst = max(c["auto_vs_fastest"] for c in ch)
        nfast = sum(c["fastest"] == c["auto"] or c["auto_vs_fastest"] <= 1.05 for c in ch)
        rows.append((f"`solve(method=\"auto\")` vs the fastest of VI / PI / MPI, {len(ch)} instances",
                     f"within {worst:.2f}x of the fastest everywhere; picks the fastest method, or is within 5% of it, "
                     f"on {nfast}"))
    slow = [e for e in data.get("slow_mixing", []) if e["auto_vs_fastest"] is not None]
    if slow:
        worst = max(slow, key=lambda e: e["auto_vs_fastest"])
        ok = sum(e["auto_vs_fastest"] <= 1.5 for e in slow)
        gammas = " / ".join(f"{g:g}" for g in sorted({e["gamma"] for e in slow}))
        rows.append((f"`solve(method=\"auto\")` vs the fastest of VI / PI / MPI at γ = {gammas}, slowly mixing "
                     f"chains, {len(slow)} instances",
                     f"within 1.5x of the fastest on {ok}; at most {worst['auto_vs_fastest']:.2f}x "
                     f"({worst['case']}, fastest {worst['fastest']}, auto -> {worst['auto']})"))
    con = data.get("construction", [])
    for kind in ("dense", "sparse"):
        sel = sorted((c for c in con if c["kind"] == kind), key=lambda c: c["S"])
        if sel:
            ref = "`P.sum()`" if kind == "dense" else "`P.data.sum()` (CSR values only)"
            rows.append((f"validated construction `TabularMDP(P, R)`, {kind} Garnet S = "
                         + " / ".join(f"{c['S']:g}" for c in sel) + f", A = {sel[0]['A']}",
                         _join([c["x_reduction"] for c in sel], "{:.2f}") + " (Numba's default threads), "
                         + _join([c["x_reduction_1thread"] for c in sel], "{:.2f}")
                         + f" (one thread) = its time / the time of one NumPy reduction {ref} (lower is faster)"
                         + ("" if kind == "dense" or any(c.get("x_row_sums") is None for c in sel) else
                            "; " + _join([c["x_row_sums"] for c in sel], "{:.2f}")
                            + " (default threads) = its time / the time of scipy's row sums `P.sum(axis=1)`")
                         + ("" if kind == "dense" or any(c.get("x_row_sum_pass") is None for c in sel) else
                            "; " + _join([c["x_row_sum_pass"] for c in sel], "{:.2f}")
                            + " = the storage-order row sums alone (no other check, one thread) / the same "
                              "reduction")
                         + ("" if any(c.get("x_fixed") is None for c in sel) else
                            "; " + _join([c["x_fixed"] for c in sel], "{:.2f}")
                            + " = the construction of a two-state model (the per-call cost) / the same reduction")))
    for m in data.get("memory", []):
        rows.append((f"peak memory of a sparse solve, S = {m['S']:g} ({m['method']}; fresh process)",
                     f"{m['total_over_model']:.2f}x the model's own bytes"))
    lines = ["| case | rltheory vs reference |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows]
    load = meta.get("load_average")
    foot = (f"\nRun: `{meta['profile']}` profile, {meta['date']}, {meta['cpu_count']} CPUs"
            + (f", load average {load['start'][0]:.1f} at the start and {load['end'][0]:.1f} at the end"
               if load else "") + ".")
    return "\n".join(lines) + "\n" + foot


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else RESULTS_DIR / "bench-full.json"
    print(table(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
