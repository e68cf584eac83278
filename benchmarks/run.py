"""Run the benchmark suite: ``python -m benchmarks.run [--quick | --tiny] [--out DIR] [--sections ...]``.

Sections (issue 4):

* ``dense``  - Garnet, A=8, gamma=0.99, S in {100, 500, 2000}: one Bellman optimality sweep (with the
  BLAS matvec ``P.reshape(S*A, S) @ V`` as the bandwidth reference), value iteration, policy iteration;
* ``sparse`` - Garnet, A=4, branching 5-10, S in {10^3, 10^4, 10^5}: sweep (scipy.sparse CSR reference;
  dense tools get the dense form where it fits in ``DENSE_LIMIT_BYTES``), modified policy iteration;
* ``finite`` - finite-horizon backward induction, (S, A, H) = (20, 4, 20) and (100, 5, 50): calls/s;
* ``ucbvi``  - K episodes of UCBVI-CH on RiverSwim S=20, H=20: episodes/s;
* ``convergence`` - time to a solution certified to eps = 1e-8 (``error_bound <= eps``) by VI, PI, MPI and
  ``solve(method="auto")`` on the dense and sparse Garnets above and on RiverSwim chains (sparse, and dense at
  S = 1000 in the full profile, without PI there), with QuantEcon's PI/MPI as the competitors
  (QuantEcon's sparse PI, an exact sparse LU per step, only up to ``SPARSE_LU_MAX`` states: 157 s per solve at
  S = 1e4 here); the target checks that ``auto`` is within 1.5x of the fastest certified method on every instance;
* ``slow_mixing`` - the same timing (VI, MPI, PI, ``auto`` to ``error_bound <= 1e-8``) at ``gamma`` in
  ``SLOW_GAMMAS`` on slowly mixing chains (RiverSwim, deterministic and noisy rings, a RiverSwim with rows summing
  just below 1; dense for small S, CSR for large S), where ``auto`` takes its fallback (a grant of greedy steps,
  continuation, policy iteration); per instance the fastest certified method, auto's pick and note, the constant of
  the rule it exercises and the costs those constants assume (JSON key ``slow_mixing``; a target per instance);
* ``e2e`` - time to a solution certified to eps = 1e-8, end to end: model construction from the raw arrays plus
  ``solve(method="auto")``, against QuantEcon's ``DiscreteDP`` construction plus its best method (PI or MPI),
  dense Garnets A=8 at gamma 0.95 and 0.99 and sparse Garnets A=4 at gamma 0.99, once with one-thread BLAS and
  once with the default threads (set at run time through OpenBLAS, see :func:`blas_threads`; issue #15, item 10);
* ``construction`` - building a validated ``TabularMDP`` from raw arrays against one NumPy reduction over the same
  data and QuantEcon's ``DiscreteDP`` (:mod:`benchmarks.construction`; JSON key ``construction``; issue #15,
  item 9 asks for at most 2 reductions; a target per case, dense and sparse);
* ``memory`` - peak resident memory of a sparse solve, each in a fresh process
  (:mod:`benchmarks.memory_probe`), as a multiple of the model's own bytes (not timed; JSON key ``memory``).

Each operation is timed for every available tool in one process, interleaved, best of N after a
warm-up (see :mod:`benchmarks.timing`). Output: a table on stdout and ``<out>/bench-<profile>.json``.
The column ``x best comp`` is (time of the fastest competitor) / (time of this row): above 1 means
faster than every competitor. "GB/s" counts the bytes of transition data the tool reads per call.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import rltheory
from rltheory.solvers import _kernels as K
from rltheory.solvers import bellman_backup, solve

from .competitors import available_tools, mdptoolbox_ops, numpy_ops, quantecon_ops, scipy_ops
from .instances import garnet, riverswim
from rltheory.solvers import FiniteHorizonPlanner
from .timing import interleaved_best
from .ucbvi_numpy import rltheory_ucbvi, ucbvi_numpy

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Dense transition arrays larger than this are not built for the dense-only tools on sparse instances.
DENSE_LIMIT_BYTES = 256 * 2**20

PROFILES = {
    "full": dict(dense_S=(100, 500, 2000), sparse_S=(1_000, 10_000, 100_000),
                 finite=((20, 4, 20), (100, 5, 50)), ucbvi_K=10_000, rounds=7, min_time=0.05, max_total=20.0,
                 tol=1e-6, switch_pause=0.15, memory=((100_000, "mpi"), (100_000, "vi"), (100_000, "pi")),
                 chain_S=(100, 1_000, 10_000), dense_chain_S=(1_000,), e2e_gammas=(0.95, 0.99),
                 slow=(("riverswim", "dense", 200), ("ring", "dense", 200), ("riverswim", "sparse", 1_000),
                       ("ring", "sparse", 1_000), ("noisy ring", "sparse", 1_000), ("leaky riverswim", "sparse", 1_000),
                       ("riverswim", "sparse", 10_000), ("noisy ring", "sparse", 10_000)),
                 slow_skip=20.0),
    "quick": dict(dense_S=(100, 500), sparse_S=(1_000, 10_000), finite=((20, 4, 20), (100, 5, 50)),
                  ucbvi_K=1_000, rounds=5, min_time=0.02, max_total=3.0, tol=1e-6, switch_pause=0.15,
                  memory=((10_000, "mpi"), (10_000, "vi")), chain_S=(100, 1_000), e2e_gammas=(0.95, 0.99),
                  slow=(("riverswim", "dense", 200), ("ring", "dense", 200), ("riverswim", "sparse", 1_000),
                        ("ring", "sparse", 1_000), ("noisy ring", "sparse", 1_000),
                        ("leaky riverswim", "sparse", 1_000)),
                  slow_skip=2.0),
    "tiny": dict(dense_S=(30,), sparse_S=(300,), finite=((20, 4, 20),), ucbvi_K=20, rounds=1,
                 min_time=0.0002, max_total=0.2, tol=1e-4, switch_pause=0.0, memory=((300, "mpi"),),
                 chain_S=(30,), e2e_gammas=(0.95,),
                 slow=(("riverswim", "dense", 20), ("ring", "dense", 20), ("ring", "sparse", 40)), slow_skip=0.3),
}
SECTIONS = ("dense", "sparse", "finite", "ucbvi", "convergence", "slow_mixing", "e2e", "construction", "memory")
#: The certified accuracy of the ``convergence`` section (issue 4, item 4).
EPS_CERT = 1e-8
#: Discount factors of the ``slow_mixing`` section: at ``EPS_CERT`` on its instances (rewards scaled by
#: ``1 - gamma``) the worst-case projection of VI exceeds ``auto``'s continuation allowance at both, but stays below
#: the default ``max_iter`` at the first (VI/MPI continue past their grant unconditionally) and exceeds it at the
#: second (they continue only if the contraction they showed projects ``tol`` within ``max_iter``); ``fallback`` and
#: ``beyond_max_iter`` record both per instance.
SLOW_GAMMAS = (0.9999, 0.99999)
#: How far below 1 the rows of the ``leaky riverswim`` instances sum (within ``ROW_SUM_ATOL`` of the model).
LEAK = 5e-10
#: Competitors' sparse PI (exact sparse LU per step) is timed only up to this many states.
SPARSE_LU_MAX = 5_000
COMPETITORS = ("numpy", "scipy", "quantecon", "pymdptoolbox")


class Bench:
    def __init__(self, profile: str, tools: dict, seed: int, generator: str):
        self.cfg = PROFILES[profile]
        self.profile = profile
        self.tools = tools
        self.seed = seed
        self.generator = generator
        self.rows: list[dict] = []
        self.targets: list[dict] = []
        self.instances: dict[str, str] = {}
        self.notes: list[str] = []
        self.mem_rows: list[dict] = []
        self.choice: list[dict] = []
        self.e2e_rows: list[dict] = []
        self.construction_rows: list[dict] = []
        self.slow_rows: list[dict] = []
        #: ``{"tool:variant": output}`` of the checked (untimed) first call of the last :meth:`measure`
        self.last_outputs: dict = {}

    def has(self, tool):
        return self.tools.get(tool, {}).get("available", False)

    # --------------------------------------------------------------------------- measuring
    def measure(self, section, case, op, cands, ref_V, bytes_per_call=None, max_total=None):
        """cands: list of (tool, variant, fn, extract, iters_fn, note, bytes override or None); ``max_total``
        overrides the profile's time cap per candidate."""
        fns = {f"{t}:{v}": fn for (t, v, fn, *_r) in cands}
        outs = {}
        kept = []
        for cand in cands:  # one checked call each (also a warm-up); a failing competitor is noted, not fatal
            t, v, fn, extract, iters_fn = cand[:5]
            try:
                out = fn()
            except Exception as exc:
                if t == "rltheory":
                    raise
                self.notes.append(f"{t}:{v} failed on {section} {case} {op}: {type(exc).__name__}: {exc}"[:300])
                continue
            outs[f"{t}:{v}"] = (out, extract, iters_fn)
            kept.append(cand)
        cands = kept
        fns = {f"{t}:{v}": fn for (t, v, fn, *_r) in cands}
        times = interleaved_best(fns, rounds=self.cfg["rounds"], min_time=self.cfg["min_time"],
                                 max_total=self.cfg["max_total"] if max_total is None else max_total,
                                 switch_pause=self.cfg["switch_pause"])
        new = []
        for (t, v, fn, extract, iters_fn, note, nbytes) in cands:
            key = f"{t}:{v}"
            out, ex, itf = outs[key]
            sec = times[key]["seconds"]
            it = int(itf(out)) if itf is not None else None
            diff = None
            if ex is not None and ref_V is not None:
                diff = float(np.max(np.abs(np.asarray(ex(out), dtype=np.float64).ravel() - ref_V.ravel())))
            b = nbytes if nbytes is not None else bytes_per_call
            if b is not None and it is not None and op in ("vi",):
                b = b * it
            row = dict(section=section, case=case, op=op, tool=t, variant=v, seconds=sec, per_second=1.0 / sec,
                       gbps=(b / sec / 1e9) if b else None, iterations=it, max_abs_diff_V=diff,
                       rltheory=(t == "rltheory"), reference=(v == "matvec"), note=note,
                       number=times[key]["number"], rounds=times[key]["rounds"])
            new.append(row)
        # A competitor whose answer is off by more than `accuracy` did not solve the same problem: it is
        # reported but not eligible as "best competitor".
        acc = self.accuracy(op)
        for r in new:
            r["inaccurate"] = bool(acc is not None and r["max_abs_diff_V"] is not None and r["max_abs_diff_V"] > acc)
            if r["inaccurate"]:
                r["note"] = (r["note"] + "; " if r["note"] else "") + f"INACCURATE (|dV| > {acc:g}), not ranked"
        comp = [r["seconds"] for r in new if not r["rltheory"] and not r["reference"] and not r["inaccurate"]]
        best = min(comp) if comp else None
        for r in new:
            r["x_best_competitor"] = (best / r["seconds"]) if best else None
        self.rows.extend(new)
        self.last_outputs = {k: v[0] for k, v in outs.items()}
        return {f"{r['tool']}:{r['variant']}": r for r in new}

    def accuracy(self, op):
        """Largest |V - V_ref| accepted from a tool for ``op``: rounding for sweeps and exact methods,
        10 * tol for iterative solvers stopped at tolerance ``tol``."""
        return {"sweep": 1e-9, "pi": 1e-8, "bi": 1e-9, "eps-solve": 10 * EPS_CERT}.get(op, 10 * self.cfg["tol"] if op in ("vi", "mpi") else None)

    def target(self, name, value, required, detail):
        self.targets.append(dict(target=name, measured=value, required=required,
                                 met=(value is not None and value >= required), detail=detail))

    # ------------------------------------------------------------------------------ dense
    def dense(self):
        A, g, tol = 8, 0.99, self.cfg["tol"]
        for S in self.cfg["dense_S"]:
            mdp, gen = garnet(S, A, S, seed=self.seed + S, gamma=g, sparse=False, generator=self.generator)
            self.instances[f"dense S={S}"] = f"{mdp!r} via {gen}"
            P, R = mdp.P, mdp.R
            P2 = P.reshape(S * A, S)
            nbytes = P.nbytes
            V = np.random.default_rng(self.seed).random(S) / (1 - g)
            Q, Vn, pi = np.empty((S, A)), np.empty(S), np.zeros(S, dtype=np.int64)
            ref_sweep = (R + g * (P2 @ V).reshape(S, A)).max(axis=1)
            case = f"S={S} A={A}"
            c = [("rltheory", "kernel bellman_sweep_dense", lambda: K.bellman_sweep_dense(P2, R, V, g, Q, Vn, pi),
                  lambda o: Vn, None, "fused Q, max, argmax, sup-diff", None),
                 ("rltheory", "api bellman_backup", lambda: bellman_backup(mdp, V), lambda o: o.max(axis=1), None,
                  "returns Q only", None),
                 ("numpy", "matvec", *numpy_ops.matvec(P2, V), None, "BLAS P2 @ V only (bandwidth reference)", None),
                 ("numpy", "matvec+max", *numpy_ops.sweep(P2, R, V, g), None, "", None)]
            qe_ddp = mt_P = None
            if self.has("quantecon"):
                qe_ddp = quantecon_ops.build_dense(P, R, g)
                c.append(("quantecon", "bellman_operator", *quantecon_ops.sweep(qe_ddp, V), None, "", None))
            if self.has("pymdptoolbox"):
                mt_P = mdptoolbox_ops.transitions_dense(P)
                c.append(("pymdptoolbox", "_bellmanOperator", *mdptoolbox_ops.sweep(mt_P, R, V, g), None,
                          "P as (A,S,S)", None))
            res = self.measure("dense", case, "sweep", c, ref_sweep, nbytes)
            k, mv = res["rltheory:kernel bellman_sweep_dense"], res["numpy:matvec"]
            self.target(f"dense sweep S={S}: throughput / BLAS matvec", mv["seconds"] / k["seconds"], 0.9,
                        f"kernel {k['gbps']:.1f} GB/s vs matvec {mv['gbps']:.1f} GB/s")
            # ---- policy iteration (exact): reference V*
            ref = solve(mdp, method="pi")
            Vstar = np.asarray(ref.V)
            c = [("rltheory", "solve(pi)", lambda: solve(mdp, method="pi"), lambda o: o.V, lambda o: o.iterations, "",
                  None),
                 ("numpy", "PI loop", *numpy_ops.pi(P, R, g), lambda o: o[1], "LU solve per step", None)]
            if qe_ddp is not None:
                c.append(("quantecon", "solve(policy_iteration)", *quantecon_ops.solve(qe_ddp, "policy_iteration"),
                          lambda o: o.num_iter, "", None))
            if mt_P is not None:
                c.append(("pymdptoolbox", "PolicyIteration", *mdptoolbox_ops.solver("PolicyIteration", mt_P, R,
                                                                                    discount=g),
                          lambda o: o.iter, "construct (validates P) + run", None))
            self.measure("dense", case, "pi", c, Vstar)
            # ---- value iteration, certified stop gamma ||V'-V||/(1-gamma) <= tol
            V0 = np.full(S, R.min() / (1 - g))
            c = [("rltheory", "solve(vi)", lambda: solve(mdp, method="vi", tol=tol), lambda o: o.V,
                  lambda o: o.iterations,
                  f"certified sup-norm stop, tol={tol:g}", None),
                 ("rltheory", "kernel value_iteration_dense",
                  lambda: K.value_iteration_dense(P2, R, g, V0, tol, 10**6), lambda o: o[0], lambda o: o[4],
                  "", None),
                 ("numpy", "VI loop", *numpy_ops.vi(P2, R, g, tol), lambda o: o[1], "same stopping rule", None)]
            if qe_ddp is not None:
                c.append(("quantecon", "solve(value_iteration)",
                          *quantecon_ops.solve(qe_ddp, "value_iteration", epsilon=2 * tol, max_iter=10**6),
                          lambda o: o.num_iter, "epsilon=2*tol: same sup-norm threshold", None))
            if mt_P is not None:
                c.append(("pymdptoolbox", "ValueIteration",
                          *mdptoolbox_ops.solver("ValueIteration", mt_P, R, discount=g, epsilon=2 * tol,
                                                 max_iter=10**6),
                          lambda o: o.iter, "span stop + iteration cap (epsilon-optimal policy, not V)", None))
            self.measure("dense", case, "vi", c, Vstar, nbytes)

    # ----------------------------------------------------------------------------- sparse
    def sparse(self):
        A, g, tol, m = 4, 0.99, self.cfg["tol"], 20
        for S in self.cfg["sparse_S"]:
            mdp, gen = garnet(S, A, (5, 10), seed=self.seed + S, gamma=g, sparse=True, generator=self.generator)
            self.instances[f"sparse S={S}"] = f"{mdp!r} via {gen}, nnz={mdp.P_csr.nnz}"
            ip, ix, dt = mdp.csr_arrays
            M = mdp.P_csr
            M32 = M.copy()  # scipy's own choice of index dtype (int32 here)
            M32.indices = M32.indices.astype(np.int32)
            M32.indptr = M32.indptr.astype(np.int32)
            R = mdp.R
            nb_rlt = ip.nbytes + ix.nbytes + dt.nbytes
            nb_sp = M32.indptr.nbytes + M32.indices.nbytes + M32.data.nbytes
            V = np.random.default_rng(self.seed).random(S) / (1 - g)
            Q, Vn, pi = np.empty((S, A)), np.empty(S), np.zeros(S, dtype=np.int64)
            ref_sweep = (R + g * (M @ V).reshape(S, A)).max(axis=1)
            case = f"S={S} A={A} nnz={M.nnz}"
            c = [("rltheory", "kernel bellman_sweep_sparse_par",
                  lambda: K.bellman_sweep_sparse_par(ip, ix, dt, R, V, g, Q, Vn, pi), lambda o: Vn, None,
                  "fused, 2 threads", nb_rlt),
                 ("rltheory", "kernel bellman_sweep_sparse",
                  lambda: K.bellman_sweep_sparse(ip, ix, dt, R, V, g, Q, Vn, pi), lambda o: Vn, None, "fused, serial",
                  nb_rlt),
                 ("rltheory", "api bellman_backup", lambda: bellman_backup(mdp, V), lambda o: o.max(axis=1), None,
                  "Q only (serial bellman_q_sparse)", nb_rlt),
                 ("scipy", "matvec", *scipy_ops.matvec(M32, V), None, "CSR @ V only", nb_sp),
                 ("scipy", "matvec+max", *scipy_ops.sweep(M32, R, V, g), None, "", nb_sp)]
            dense_fits = S * A * S * 8 <= DENSE_LIMIT_BYTES
            if dense_fits:
                Pd2 = M.toarray()
                c.append(("numpy", "dense matvec+max", *numpy_ops.sweep(Pd2, R, V, g), None, "dense form",
                          Pd2.nbytes))
            qe_ddp = mt_P = None
            if self.has("quantecon"):
                qe_ddp = quantecon_ops.build_sparse(M32, R, g)
                c.append(("quantecon", "bellman_operator", *quantecon_ops.sweep(qe_ddp, V), None,
                          "state-action-pair form, CSR", nb_sp))
            if self.has("pymdptoolbox") and S * S * 8 > DENSE_LIMIT_BYTES:
                # mdptoolbox.util.isStochastic computes `M.sum(axis=1) - ones(S)` on a CSR matrix: an (S, 1)
                # np.matrix minus an (S,) array broadcasts to a dense (S, S) array in every constructor
                self.notes.append(f"pymdptoolbox skipped on sparse S={S}: its input check (util.isStochastic) "
                                  f"materialises a dense S x S array per action ({S * S * 8 / 2**30:.1f} GiB)")
            elif self.has("pymdptoolbox"):
                mt_P = mdptoolbox_ops.transitions_sparse(M32, S, A)
                c.append(("pymdptoolbox", "_bellmanOperator", *mdptoolbox_ops.sweep(mt_P, R, V, g), None,
                          "A CSR matrices", nb_sp))
            res = self.measure("sparse", case, "sweep", c, ref_sweep)
            sc = res["scipy:matvec+max"]["seconds"]
            for v in ("kernel bellman_sweep_sparse_par", "kernel bellman_sweep_sparse"):
                self.target(f"sparse sweep S={S}: speed-up over scipy matvec+max ({v.split()[-1]})",
                            sc / res[f"rltheory:{v}"]["seconds"], 2.0, f"nnz={M.nnz}")
            # ---- modified policy iteration
            ref = solve(mdp, method="mpi", tol=tol * 1e-3, mpi_sweeps=m)
            Vstar = np.asarray(ref.V)
            V0 = np.full(S, R.min() / (1 - g))
            c = [("rltheory", "solve(mpi)", lambda: solve(mdp, method="mpi", tol=tol, mpi_sweeps=m), lambda o: o.V,
                  lambda o: o.iterations, f"serial kernels, tol={tol:g}", None),
                 ("rltheory", "kernel modified_policy_iteration_sparse_par",
                  lambda: K.modified_policy_iteration_sparse_par(ip, ix, dt, R, g, V0, m, tol, 10**6),
                  lambda o: o[0], lambda o: o[4], "2 threads", None)]
            if qe_ddp is not None:
                c.append(("quantecon", "solve(modified_policy_iteration)",
                          *quantecon_ops.solve(qe_ddp, "modified_policy_iteration", epsilon=2 * tol, k=m),
                          lambda o: o.num_iter, "span stop, epsilon=2*tol", None))
            if mt_P is not None:
                c.append(("pymdptoolbox", "PolicyIterationModified",
                          *mdptoolbox_ops.solver("PolicyIterationModified", mt_P, R, discount=g, epsilon=2 * tol),
                          lambda o: o.iter, "construct + run", None))
            self.measure("sparse", case, "mpi", c, Vstar)

    # ----------------------------------------------------------------------------- finite
    def finite(self):
        for (S, A, H) in self.cfg["finite"]:
            mdp, gen = garnet(S, A, S, seed=self.seed + S, gamma=0.5, generator=self.generator)
            P, R = mdp.P, mdp.R
            from rltheory.models import TabularMDP

            mdp = TabularMDP(P, R, horizon=H, name=f"garnet({S},{A})-H{H}")
            self.instances[f"finite S={S} A={A} H={H}"] = f"{mdp!r} (dynamics via {gen})"
            P4, R3 = mdp.P4(), mdp.R3()
            Vb, Qb, pib = np.zeros((H + 1, S)), np.empty((H, S, A)), np.empty((H, S), dtype=np.int64)
            ws = FiniteHorizonPlanner(mdp)
            ref = np.asarray(solve(mdp).V[0])
            case = f"S={S} A={A} H={H}"
            c = [("rltheory", "solve()", lambda: solve(mdp), lambda o: o.V[0], None, "public API", None),
                 ("rltheory", "kernel backward_induction_dense",
                  lambda: K.backward_induction_dense(P4, R3, H, Vb, Qb, pib), lambda o: Vb[0], None,
                  "preallocated outputs", None),
                 ("rltheory", "FiniteHorizonPlanner.plan()", ws.plan, lambda o: o[0][0], None,
                  "rltheory.solvers.FiniteHorizonPlanner (reused buffers)", None),
                 ("numpy", "loop", *numpy_ops.backward_induction(P, R, H), None, "one matvec per step", None)]
            if self.has("pymdptoolbox"):
                c.append(("pymdptoolbox", "FiniteHorizon",
                          *mdptoolbox_ops.solver("FiniteHorizon", mdptoolbox_ops.transitions_dense(P), R, discount=1,
                                                 N=H), None, "construct + run", None))
            res = self.measure("finite", case, "bi", c, ref, H * P.nbytes)
            if (S, A, H) == (20, 4, 20):
                for v in ("kernel backward_induction_dense", "solve()", "FiniteHorizonPlanner.plan()"):
                    r = res[f"rltheory:{v}"]
                    self.target(f"finite S=20 A=4 H=20 ({v}): speed-up over NumPy loop",
                                res["numpy:loop"]["seconds"] / r["seconds"], 10.0, f"{r['seconds'] * 1e6:.2f} us/call")
                    if "pymdptoolbox:FiniteHorizon" in res:
                        self.target(f"finite S=20 A=4 H=20 ({v}): speed-up over pymdptoolbox",
                                    res["pymdptoolbox:FiniteHorizon"]["seconds"] / r["seconds"], 30.0, "")

    # ------------------------------------------------------------------------------ ucbvi
    def ucbvi(self):
        S, H, Kep = 20, 20, self.cfg["ucbvi_K"]
        mdp, gen = riverswim(S, H)
        self.instances["ucbvi"] = f"{mdp!r} via {gen}"
        case = f"RiverSwim S={S} H={H} K={Kep}"
        c = [("numpy", "UCBVI-CH loop", lambda: ucbvi_numpy(mdp.P, mdp.R, H, Kep, seed=self.seed), None, None,
              "benchmarks/ucbvi_numpy.py", None)]
        run, note = rltheory_ucbvi()
        if run is not None:
            c.insert(0, ("rltheory", "ucbvi", lambda: run(mdp, Kep, self.seed), None, None, note, None))
        else:
            self.notes.append(f"ucbvi: {note}; only the NumPy baseline is timed")
        saved = self.cfg["max_total"]
        res = self.measure("ucbvi", case, "episodes", c, None)
        for r in res.values():  # report episodes per second
            r["per_second"] = Kep / r["seconds"]
        self.cfg["max_total"] = saved

    # ------------------------------------------------------------------------ convergence
    def convergence(self):
        """Time to an eps-certified solution: which method should ``solve(method="auto")`` pick?"""
        eps, g = EPS_CERT, 0.99
        cases = ([("dense", S, 8) for S in self.cfg["dense_S"]] + [("sparse", S, 4) for S in self.cfg["sparse_S"]]
                 + [("chain", S, 2) for S in self.cfg["chain_S"]]
                 + [("dense chain", S, 2) for S in self.cfg.get("dense_chain_S", ())])
        for kind, S, A in cases:
            if kind == "chain":  # slow mixing: RiverSwim, sparse CSR storage from 1000 states
                mdp, gen = _sparse_chain(S, g)
                sparse = mdp.is_sparse
            elif kind == "dense chain":  # the same chain stored dense: auto's MPI rule on a slow-mixing kernel
                from rltheory import TabularMDP

                chain, gen = _sparse_chain(S, g)
                mdp = TabularMDP(chain.P_csr.toarray().reshape(S, A, S), np.array(chain.R), gamma=g,
                                 name=f"riverswim({S}) dense")
                sparse = False
            else:
                sparse = kind == "sparse"
                branch = (5, 10) if sparse else S
                mdp, gen = garnet(S, A, branch, seed=self.seed + S, gamma=g, sparse=sparse, generator=self.generator)
            case = f"{kind} S={S} A={A}"
            self.instances[f"convergence {case}"] = f"{mdp!r} via {gen}"
            # PI on the dense chain is a dense LU per improvement step, hundreds of steps (tens of seconds per
            # solve): left out there, the reference is then a VI solve certified 100x tighter
            slow_pi = kind == "dense chain"
            methods = ["vi", "mpi"] if slow_pi else ["vi", "mpi", "pi"]
            ref = solve(mdp, method="vi" if slow_pi else "pi", tol=eps * 1e-2)
            c = [("rltheory", f"solve({m})", (lambda m=m: solve(mdp, method=m, tol=eps)), lambda o: o.V,
                  lambda o: o.iterations, "", None) for m in methods]
            c.append(("rltheory", "solve(auto)", lambda: solve(mdp, tol=eps), lambda o: o.V, lambda o: o.iterations,
                      "default method", None))
            if self.has("quantecon"):
                ddp = (quantecon_ops.build_sparse(mdp.P_csr, mdp.R, g) if sparse
                       else quantecon_ops.build_dense(mdp.P, mdp.R, g))
                if (not sparse or S <= SPARSE_LU_MAX) and not slow_pi:
                    c.append(("quantecon", "solve(policy_iteration)", *quantecon_ops.solve(ddp, "policy_iteration"),
                              lambda o: o.num_iter, "", None))
                c.append(("quantecon", "solve(modified_policy_iteration)",
                          *quantecon_ops.solve(ddp, "modified_policy_iteration", epsilon=2 * eps, k=20),
                          lambda o: o.num_iter, "span stop, epsilon=2*eps", None))
            elif not sparse and not slow_pi:
                c.append(("numpy", "PI loop", *numpy_ops.pi(mdp.P, mdp.R, g), lambda o: o[1], "LU solve per step",
                          None))
            res = self.measure("convergence", case, "eps-solve", c, np.asarray(ref.V))
            for m in methods + ["auto"]:  # the certificate each method returned (must be <= eps)
                r = res[f"rltheory:solve({m})"]
                out = self.last_outputs[f"rltheory:solve({m})"]
                r["error_bound"] = float(out.error_bound)
                r["certified"] = bool(out.error_bound <= eps)
                r["note"] = (r["note"] + "; " if r["note"] else "") + f"error_bound={out.error_bound:.1e}" + (
                    f" (auto = {out.method})" if m == "auto" else "")
            best_m = min(methods, key=lambda m: res[f"rltheory:solve({m})"]["seconds"])
            auto = res["rltheory:solve(auto)"]
            ratio = res[f"rltheory:solve({best_m})"]["seconds"] / auto["seconds"]
            self.choice.append(dict(case=case, fastest=best_m, auto=self.last_outputs["rltheory:solve(auto)"].method,
                                    seconds={m: res[f"rltheory:solve({m})"]["seconds"] for m in methods},
                                    auto_vs_fastest=1.0 / ratio))
            self.target(f"convergence {case}: fastest method time / auto time", ratio, 1 / 1.5,
                        f"fastest: {best_m}; auto picks {self.choice[-1]['auto']}; all certified: "
                        f"{all(res[f'rltheory:solve({m})']['certified'] for m in methods + ['auto'])}")

    # ------------------------------------------------------------------------ slow_mixing
    def slow_mixing(self):
        """Time to an eps-certified solution at ``gamma`` near 1 on slowly mixing chains, where ``auto`` may take
        its fallback (a grant of greedy steps, continuation, policy iteration): is each of its constants right?"""
        from rltheory.solvers import api

        eps, max_iter = EPS_CERT, 1_000_000  # solve()'s default max_iter, which the fallback is measured against
        limit = self.cfg["slow_skip"]
        with warnings.catch_warnings():  # uncertified VI/MPI/PI runs are recorded in the JSON, not warned about
            warnings.simplefilter("ignore", api.ConvergenceWarning)
            for (kind, storage, S), g in ((c, g) for c in self.cfg["slow"] for g in SLOW_GAMMAS):
                self._slow_case(api, kind, storage, S, g, eps, max_iter, limit)

    def _slow_case(self, api, kind, storage, S, g, eps, max_iter, limit):
        """One instance of :meth:`slow_mixing`: time VI, MPI, PI and auto, and record what auto did."""
        mdp, gen = _slow_instance(kind, storage, S, g)
        case = f"{kind} {storage} S={S} A={mdp.A} gamma={g}"
        self.instances[f"slow_mixing {case}"] = f"{mdp!r} via {gen}"
        r_max, r_span = K.reward_stats(np.asarray(mdp.R))
        worst = api._worst_case_steps(g, r_span if r_span > 0 else (r_max if r_max > 0 else 1.0), eps)
        fallback = api._auto_cuts(S, worst, max_iter)
        grant, cap, limited = api._auto_allowance(mdp, api._auto_method(mdp))
        grant, cap = (min(max_iter, grant), min(max_iter, cap)) if fallback else (max_iter, None)
        # one greedy sweep: VI for `probe_n` steps, timed like every other call
        probe_n = min(grant, 1000)
        # leave out a method that cannot run here at all (sparse PI raises when GMRES stalls above the size of an
        # exact LU), with its reason
        skipped = {}
        for m in ("vi", "mpi", "pi"):  # compile / first touch, kept out of the probes below
            try:
                solve(mdp, method=m, tol=eps, max_iter=2)
            except (ValueError, ArithmeticError) as exc:
                skipped[m] = f"{m} left out: it raised {type(exc).__name__}: {str(exc).split('. ')[0]}"
        sweep = interleaved_best({"vi": lambda: solve(mdp, method="vi", tol=eps, max_iter=probe_n)},
                                 rounds=self.cfg["rounds"], min_time=self.cfg["min_time"],
                                 max_total=self.cfg["max_total"], switch_pause=0.0)["vi"]["seconds"]
        nit_probe = solve(mdp, method="vi", tol=eps, max_iter=probe_n).nit
        sweep /= max(nit_probe, 1)
        # leave out a method whose one call would take longer than `slow_skip` seconds (each is run at least three
        # times): it runs with 4x more steps per probe (greedy steps for VI/MPI, improvement steps for PI; a PI step
        # costs unevenly, so it is not projected from a few) until it ends or the next probe would pass the limit
        for m in [m for m in ("vi", "mpi", "pi") if m not in skipped]:
            n = 16 if m == "pi" else (grant if fallback else 1000)
            while True:
                t0 = time.perf_counter()
                r = solve(mdp, method=m, tol=eps, max_iter=n)
                t = time.perf_counter() - t0
                if r.converged or r.extra.get("stalled") or r.nit < n:
                    break
                if n >= max_iter:
                    if t > limit:
                        skipped[m] = f"{m} left out: {t:.3g} s per call to max_iter, not certified"
                    break
                if 4 * t > limit:
                    skipped[m] = (f"{m} left out: not certified after {r.nit} steps ({t:.3g} s), over {limit:g} s "
                                  "per call at 4x as many")
                    break
                n = min(max_iter, 4 * n)
        methods = [m for m in ("vi", "mpi", "pi") if m not in skipped]
        c = [("rltheory", f"solve({m})", (lambda m=m: solve(mdp, method=m, tol=eps)), lambda o: o.V,
              lambda o: o.iterations, "", None) for m in methods]
        c.append(("rltheory", "solve(auto)", lambda: solve(mdp, tol=eps), lambda o: o.V, lambda o: o.iterations,
                  "default method", None))
        # calls of up to seconds each: fewer rounds than the profile's cap would give (a round is at least one call)
        res = self.measure("slow_mixing", case, "eps-solve", c, None, max_total=min(self.cfg["max_total"], 1.0))
        outs = {m: self.last_outputs[f"rltheory:solve({m})"] for m in methods + ["auto"]}
        per = {}
        for m, out in outs.items():
            r = res[f"rltheory:solve({m})"]
            r["error_bound"] = float(out.error_bound)
            r["certified"] = bool(out.error_bound <= eps)
            r["note"] = f"error_bound={out.error_bound:.1e}" + (f" (auto = {out.method})" if m == "auto" else "")
            per[m] = dict(seconds=r["seconds"], iterations=int(out.nit), error_bound=float(out.error_bound),
                          certified=r["certified"], stalled=bool(out.extra.get("stalled", False)))
        # certified answers must agree within their bounds (a wrong certificate would show here)
        cert = [m for m in per if per[m]["certified"]]
        agree = all(float(np.max(np.abs(np.asarray(outs[a].V) - np.asarray(outs[b].V))))
                    <= per[a]["error_bound"] + per[b]["error_bound"] + 1e-12 for a in cert for b in cert)
        ranked = [m for m in methods if per[m]["certified"]]
        fastest = min(ranked, key=lambda m: per[m]["seconds"]) if ranked else None
        auto_out = outs["auto"]
        note = auto_out.extra.get("auto", "")
        entry = dict(case=case, kind=kind, storage=storage, S=S, A=mdp.A, gamma=g, worst_case_steps=worst,
                     fallback=fallback, beyond_max_iter=worst > max_iter, grant=grant if fallback else None,
                     dense_pi_share=bool(fallback and limited),
                     continue_cap=cap,
                     off_sum=_off_sum(mdp), methods=per, skipped=skipped, fastest=fastest,
                     auto=auto_out.method, auto_note=note,
                     auto_vs_fastest=(per["auto"]["seconds"] / per[fastest]["seconds"]) if fastest else None,
                     all_certified=all(p["certified"] for p in per.values()), certified_agree=agree,
                     sweep_seconds=sweep)
        entry["exercises"] = _exercised(entry)
        vi = per.get("vi")
        entry["vi_steps_over_grant"] = (vi["iterations"] / grant if fallback and vi and vi["certified"]
                                        else None)
        pi = per.get("pi")
        if pi is not None:
            entry["pi_step_sweeps"] = pi["seconds"] / max(pi["iterations"], 1) / sweep
            entry["pi_solve_sweeps"] = pi["seconds"] / sweep
            entry["pi_step_assumed_sweeps"] = S / mdp.A if storage == "dense" else None
        self.slow_rows.append(entry)
        for why in skipped.values():
            self.notes.append(f"slow_mixing {case}: {why}")
        if fastest is not None:
            self.target(f"slow_mixing {case}: fastest method time / auto time", 1.0 / entry["auto_vs_fastest"],
                        1 / 1.5, f"fastest: {fastest}; auto -> {auto_out.method}; exercises: "
                        f"{entry['exercises']}; all certified: {entry['all_certified']}")

    # -------------------------------------------------------------------------------- e2e
    def e2e(self):
        """Construct + solve to an eps-certified answer, rltheory vs QuantEcon's best method, one process."""
        from rltheory import TabularMDP

        eps = EPS_CERT
        cases = ([("dense", S, 8, g) for S in self.cfg["dense_S"] for g in self.cfg["e2e_gammas"]]
                 + [("sparse", S, 4, 0.99) for S in self.cfg["sparse_S"]])
        if not self.has("quantecon"):
            self.notes.append("e2e skipped: QuantEcon is not installed")
            return
        from quantecon.markov import DiscreteDP

        insts = []
        for kind, S, A, g in cases:
            sparse = kind == "sparse"
            mdp, gen = garnet(S, A, (5, 10) if sparse else S, seed=self.seed + S, gamma=g, sparse=sparse,
                              generator=self.generator)
            R = np.array(mdp.R)
            raw = mdp.P_csr.copy() if sparse else np.array(mdp.P)  # what a user holds before building a model
            insts.append((kind, S, A, g, raw, R, np.asarray(solve(mdp, method="pi").V)))
            self.instances[f"e2e {kind} S={S} gamma={g}"] = f"{mdp!r} via {gen}"
            del mdp
        for threads in (1, None):
            with blas_threads(threads) as got:
                label = "1-thread BLAS" if threads == 1 else f"default BLAS threads ({got})"
                for kind, S, A, g, raw, R, refV in insts:
                    case = f"{kind} S={S} A={A} g={g} {label}"
                    c = [("rltheory", "TabularMDP + solve(auto)",
                          (lambda raw=raw, R=R, g=g: solve(TabularMDP(raw, R, gamma=g), tol=eps)),
                          lambda o: o.V, lambda o: o.nit, "construction validates every entry", None)]
                    if kind == "dense":
                        def qe(method, raw=raw, R=R, g=g, **kw):
                            return DiscreteDP(R, raw, g).solve(method, **kw)
                    else:
                        def qe(method, raw=raw, R=R, g=g, S=S, A=A, **kw):
                            s_idx = np.repeat(np.arange(S), A)
                            a_idx = np.tile(np.arange(A), S)
                            return DiscreteDP(R.reshape(S * A), raw, g, s_idx, a_idx).solve(method, **kw)
                    if kind == "dense" or S <= SPARSE_LU_MAX:
                        c.append(("quantecon", "DiscreteDP + policy_iteration", lambda qe=qe: qe("policy_iteration"),
                                  lambda o: o.v, lambda o: o.num_iter, "no validation", None))
                    c.append(("quantecon", "DiscreteDP + modified_policy_iteration",
                              lambda qe=qe: qe("modified_policy_iteration", epsilon=2 * eps, k=20),
                              lambda o: o.v, lambda o: o.num_iter, "no validation; span stop, epsilon=2*eps", None))
                    res = self.measure("e2e", case, "eps-solve", c, refV)
                    mine = res["rltheory:TabularMDP + solve(auto)"]
                    out = self.last_outputs["rltheory:TabularMDP + solve(auto)"]
                    mine["error_bound"] = float(out.error_bound)
                    mine["certified"] = bool(out.error_bound <= eps)
                    mine["note"] += f"; auto = {out.method}; error_bound={out.error_bound:.1e}"
                    ratio = mine["x_best_competitor"]
                    best = min((r for r in res.values() if not r["rltheory"] and not r["inaccurate"]),
                               key=lambda r: r["seconds"], default=None)
                    self.e2e_rows.append(dict(case=case, kind=kind, S=S, A=A, gamma=g, blas_threads=got,
                                              rltheory_seconds=mine["seconds"], method=out.method,
                                              quantecon_best=None if best is None else best["variant"],
                                              quantecon_seconds=None if best is None else best["seconds"],
                                              ratio=ratio))
                    self.target(f"e2e {case}: QuantEcon's best (construct + solve) time / rltheory's", ratio, 1.0,
                                f"rltheory {_fmt_t(mine['seconds'])} ({out.method}), QuantEcon "
                                + ("-" if best is None else f"{best['variant']} {_fmt_t(best['seconds'])}"))

    # ----------------------------------------------------------------------- construction
    def construction(self):
        """Validated construction vs one reduction over the data and QuantEcon's ``DiscreteDP``
        (:func:`benchmarks.construction.construction_rows`, cases of the same profile)."""
        from . import construction as C

        self.construction_rows = C.construction_rows(C.PROFILES[self.profile], rounds=max(2, self.cfg["rounds"]))
        for r in self.construction_rows:
            red = "P.sum()" if r["kind"] == "dense" else "P.data.sum()"
            self.target(f"construction {r['case']}: 2 / (construction time / one {red})",
                        2.0 / r["x_reduction"], 1.0,
                        f"construct {_fmt_t(r['seconds']['rltheory'])}, {red} {_fmt_t(r['seconds']['reduction'])}"
                        + (f", QuantEcon DiscreteDP {_fmt_t(r['seconds']['quantecon'])}"
                           if "quantecon" in r["seconds"] else ""))

    # ----------------------------------------------------------------------------- memory
    def memory(self):
        """Peak RSS of sparse solves, each in a fresh interpreter (``python -m benchmarks.memory_probe``)."""
        import subprocess

        root = Path(__file__).resolve().parents[1]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in [env.get("PYTHONPATH")] if p])
        for S, method in self.cfg["memory"]:
            cmd = [sys.executable, "-m", "benchmarks.memory_probe", str(S), method]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, cwd=root)
            except subprocess.TimeoutExpired:
                self.notes.append(f"memory probe S={S} {method}: timed out after 900 s")
                continue
            if out.returncode != 0:
                self.notes.append(f"memory probe S={S} {method} failed (exit {out.returncode}): "
                                  f"{out.stderr.strip()[-300:]}")
                continue
            rec = json.loads(out.stdout.strip().splitlines()[-1])
            self.mem_rows.append(rec)
            if method in ("mpi", "vi"):
                self.target(f"memory sparse S={S} {method}: 2 / (peak RSS over baseline / model bytes)",
                            2.0 / max(rec["total_over_model"], 1e-12), 1.0,
                            f"model {rec['model_bytes'] / 2**20:.1f} MiB, peak-baseline "
                            f"{(rec['peak'] - rec['baseline']) / 2**20:.1f} MiB "
                            f"({rec['total_over_model']:.2f}x), solve alone +{rec['extra_over_model']:.2f}x")


@contextlib.contextmanager
def blas_threads(n: int | None):
    """Set the thread count of every OpenBLAS loaded in this process (NumPy's and SciPy's, which Numba's
    ``np.dot`` uses) to ``n`` for the ``with`` block (``None``: leave it); yields the count in effect (or None
    if no OpenBLAS was found), and restores the previous counts afterwards."""
    import ctypes

    libs = []
    with open("/proc/self/maps") if os.path.exists("/proc/self/maps") else contextlib.nullcontext(None) as fh:
        paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and ln.rstrip().endswith(".so")}
                       if fh else set())
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for sset, sget in (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
                           ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
                           ("openblas_set_num_threads", "openblas_get_num_threads")):
            if hasattr(lib, sset) and hasattr(lib, sget):
                libs.append((getattr(lib, sset), getattr(lib, sget)))
                break
    before = [int(get()) for _set, get in libs]
    try:
        if n is not None:
            for set_, _get in libs:
                set_(int(n))
        yield (int(libs[0][1]()) if libs else None)
    finally:
        for (set_, _get), k in zip(libs, before):
            set_(k)


def _sparse_chain(S: int, gamma: float):
    """RiverSwim with ``S`` states, discounted: ``mdps.riverswim`` below 1000 states, else the same chain built
    directly as CSR (no dense (S, A, S) array; tests/test_benchmarks_smoke.py checks the two agree)."""
    import scipy.sparse as sps

    from mdps import riverswim as _rs
    from rltheory.models import TabularMDP

    if S < 1000:
        return _rs(S, gamma=gamma), "mdps.riverswim"
    small = _rs(3, gamma=gamma)  # read the chain's probabilities and rewards off a 3-state instance
    Ps, Rs = np.asarray(small.P), np.asarray(small.R)
    rows, cols, vals = [], [], []
    for s in range(S):
        src = 0 if s == 0 else (2 if s == S - 1 else 1)  # left end / interior / right end
        for a in range(2):
            for d in (-1, 0, 1):
                p = Ps[src, a, src + d] if 0 <= src + d < 3 else 0.0
                if p > 0:
                    rows.append(2 * s + a)
                    cols.append(s + d)
                    vals.append(p)
    P = sps.csr_matrix((vals, (rows, cols)), shape=(2 * S, S))
    R = np.zeros((S, 2))
    R[0], R[S - 1] = Rs[0], Rs[2]
    return TabularMDP(P, R, gamma=gamma, name=f"riverswim({S}) CSR"), "riverswim CSR (benchmarks.run)"


def _slow_instance(kind: str, storage: str, S: int, gamma: float):
    """An instance of the ``slow_mixing`` section: ``(mdp, description)``.

    ``kind`` is ``"riverswim"`` (:func:`_sparse_chain`), ``"leaky riverswim"`` (the same with every transition
    probability scaled so that the rows sum to ``1 - LEAK``, within the construction tolerance but far enough from 1
    that the solvers take their path for row sums away from 1, whose stall window is ``PATIENCE_OFF_SUM``),
    ``"ring"`` (a deterministic cycle of ``S`` states, action 0 steps right, action 1 left; periodic, so the span of
    VI's bounds shrinks only by ``gamma`` per sweep) or ``"noisy ring"`` (the ring where each move succeeds with
    probability 0.9 and the agent stays otherwise; aperiodic). ``storage`` is ``"dense"`` or ``"sparse"`` (CSR).
    Rewards are scaled by ``1 - gamma`` so that the values lie in ``[0, 1]``: with rewards of order 1 they are of
    order ``1 / (1 - gamma)`` and float64 cannot certify ``EPS_CERT`` at the section's discounts.
    """
    import scipy.sparse as sps

    from rltheory.models import TabularMDP

    if kind in ("riverswim", "leaky riverswim"):
        chain, gen = _sparse_chain(S, gamma)
        P = chain.P_csr if chain.is_sparse else sps.csr_matrix(np.asarray(chain.P).reshape(S * 2, S))
        R = np.asarray(chain.R, dtype=np.float64)
        if kind == "leaky riverswim":
            P = P * (1.0 - LEAK)
    elif kind in ("ring", "noisy ring"):
        p = 1.0 if kind == "ring" else 0.9
        rows, cols, vals = [], [], []
        for s in range(S):
            for a, d in ((0, 1), (1, -1)):
                rows.append(2 * s + a), cols.append((s + d) % S), vals.append(p)
                if p < 1.0:
                    rows.append(2 * s + a), cols.append(s), vals.append(1.0 - p)
        P = sps.csr_matrix((vals, (rows, cols)), shape=(2 * S, S))
        R = np.zeros((S, 2))
        R[S - 1, 0], R[0, 1] = 1.0, 0.5
        gen = f"{kind} (benchmarks.run)"
    else:
        raise ValueError(f"kind: unknown slow-mixing instance {kind!r}")
    P = P if storage == "sparse" else P.toarray().reshape(S, 2, S)
    mdp = TabularMDP(P, R * (1.0 - gamma), gamma=gamma, name=f"{kind}({S}) {storage}")
    return mdp, f"{gen}, rewards x (1 - gamma), {storage}"


def _off_sum(mdp) -> bool:
    """Whether the rows of ``mdp``'s kernel sum to 1 only within the construction tolerance (not to rounding)."""
    sums = np.asarray(mdp.P_csr.sum(axis=1)).ravel() if mdp.is_sparse else np.asarray(mdp.P).sum(axis=2).ravel()
    return bool(np.max(np.abs(sums - 1.0)) > 1e-12)


def _exercised(entry: dict) -> str:
    """Which part of ``auto``'s rule a ``slow_mixing`` instance exercised, read off its ``extra["auto"]`` note."""
    note, parts = entry["auto_note"], []
    if not entry["fallback"]:
        parts.append("no fallback (VI's worst-case projection within the continuation allowance)")
    else:
        parts.append("AUTO_STEP_BUDGET" + ("" if note else " (certified within the grant)"))
        if entry.get("dense_pi_share"):
            parts.append("AUTO_DENSE_PI_DIVISOR (the dense MPI's share of policy iteration's cost)")
    if "continued" in note:
        parts.append("AUTO_CONTINUE_FACTOR" + (" (continued to tol)" if entry["auto"] != "pi" else ""))
    if "stalled" in note:
        parts.append("stall" + (" (PATIENCE_OFF_SUM)" if entry["off_sum"] else " (PATIENCE)"))
    elif entry["off_sum"]:
        parts.append("rows off 1 (PATIENCE_OFF_SUM window, no stall)")
    if "pi certified" in note or "policy iteration fallback" in note:
        parts.append("policy iteration last resort" + (" (returned)" if entry["auto"] == "pi" else " (not used)"))
    return "; ".join(parts)


def _slow_constants(rows: list[dict]) -> list[str]:
    """What the ``slow_mixing`` instances say about each constant of ``auto``'s fallback (lines for the summary)."""
    out = []
    fb = [e for e in rows if e["fallback"]]
    for e in fb:
        if e.get("pi_solve_sweeps") is not None:
            out.append(f"AUTO_STEP_BUDGET: {e['case']}: a PI solve costs {e['pi_solve_sweeps']:.0f} greedy sweeps "
                       f"= {e['pi_solve_sweeps'] / e['grant']:.2f} grants of {e['grant']}; a PI step "
                       f"{e['pi_step_sweeps']:.0f} sweeps"
                       + (f" (comment assumes S / A = {e['pi_step_assumed_sweeps']:.0f})"
                          if e["pi_step_assumed_sweeps"] else ""))
    for e in fb:
        vi = e["methods"].get("vi")
        if vi is not None and vi["certified"]:
            out.append(f"AUTO_CONTINUE_FACTOR: {e['case']}: VI certified after {vi['iterations']} steps = "
                       f"{vi['iterations'] / e['grant']:.2f} grants (cap {e['continue_cap'] // e['grant']})")
        elif "continued" in e["auto_note"] and e["auto"] == "pi":
            pi = e["methods"].get("pi")
            out.append(f"AUTO_CONTINUE_FACTOR: {e['case']}: the continuation to {e['continue_cap']} steps did not "
                       f"certify; it cost about {e['continue_cap'] * e['sweep_seconds']:.3g} s"
                       + (f" against {pi['seconds']:.3g} s for PI alone" if pi else ""))
    for e in rows:
        if e["off_sum"]:
            st = {m: p["stalled"] for m, p in e["methods"].items()}
            out.append(f"PATIENCE_OFF_SUM: {e['case']}: rows off 1; stalled: "
                       + ", ".join(f"{m} {'yes' if v else 'no'}" for m, v in st.items()))
    return out


def _fmt_t(s):
    return f"{s * 1e6:.2f} us" if s < 1e-3 else (f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s")


def _opt(x, fmt):
    return "-" if x is None else format(x, fmt)


def format_table(rows) -> str:
    hdr = (f"{'section':7} {'case':30} {'op':8} {'tool:variant':48} {'time':>10} {'per s':>10} {'GB/s':>6} "
           f"{'iters':>6} {'|dV|':>8} {'x best comp':>11}")
    lines = [hdr, "-" * len(hdr)]
    for r in rows:
        tv = (("*" if r.get("inaccurate") else "") + r["tool"] + ":" + r["variant"])[:48]
        lines.append(
            f"{r['section']:7} {r['case'][:30]:30} {r['op']:8} {tv:48} {_fmt_t(r['seconds']):>10} "
            f"{r['per_second']:>10.4g} {_opt(r['gbps'], '.1f'):>6} {_opt(r['iterations'], 'd'):>6} "
            f"{_opt(r['max_abs_diff_V'], '.1e'):>8} {_opt(r['x_best_competitor'], '.2f'):>11}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds (about a minute)")
    g.add_argument("--tiny", action="store_true", help="smoke-test sizes (seconds; numbers not meaningful)")
    ap.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    ap.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for the JSON results")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generator", choices=("auto", "local", "mdps"), default="auto",
                    help="Garnet generator: mdps.garnet if importable (auto), or the local one")
    ap.add_argument("--no-competitor", nargs="*", default=[], choices=("quantecon", "pymdptoolbox"),
                    help="skip these optional competitors")
    args = ap.parse_args(argv)
    profile = "quick" if args.quick else ("tiny" if args.tiny else "full")
    tools = available_tools()
    for t in args.no_competitor:
        tools[t] = {"available": False, "version": tools[t].get("version"), "note": "disabled by --no-competitor"}
    load_start = os.getloadavg()
    b = Bench(profile, tools, args.seed, args.generator)
    for t, info in tools.items():
        if not info["available"]:
            b.notes.append(f"{t} skipped: {info['note']}")
    for sec in args.sections:
        getattr(b, sec)()
    import numba
    import scipy

    meta = dict(profile=profile, date=_dt.datetime.now().isoformat(timespec="seconds"), python=sys.version.split()[0],
                platform=platform.platform(), cpu_count=os.cpu_count(), numba_threads=numba.config.NUMBA_NUM_THREADS,
                versions=dict(rltheory=getattr(rltheory, "__version__", None), numpy=np.__version__,
                              scipy=scipy.__version__, numba=numba.__version__,
                              **{t: i["version"] for t, i in tools.items()}),
                competitors=tools, instances=b.instances, seed=args.seed, config=b.cfg,
                timing="interleaved best-of-N per call after warm-up; compile excluded",
                load_average=dict(start=list(load_start), end=list(os.getloadavg())))
    result = dict(meta=meta, rows=b.rows, targets=b.targets, notes=b.notes, memory=b.mem_rows,
                  method_choice=b.choice, e2e=b.e2e_rows, construction=b.construction_rows,
                  slow_mixing=b.slow_rows)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench-{profile}.json"
    path.write_text(json.dumps(result, indent=1, default=float))
    print(format_table(b.rows))
    print()
    for tg in b.targets:
        print(f"[{'MET' if tg['met'] else 'NOT MET':7}] {tg['target']}: {tg['measured']:.2f} (need >= {tg['required']}) "
              f"{tg['detail']}")
    if any(r.get("inaccurate") for r in b.rows):
        print("* = answer off by more than the accuracy of the case (see JSON notes): shown, not ranked")
    for m in b.mem_rows:
        print(f"memory: sparse S={m['S']} {m['method']}: model {m['model_bytes'] / 2**20:.1f} MiB, "
              f"peak over baseline {m['total_over_model']:.2f}x the model, solve alone +{m['extra_over_model']:.2f}x")
    for ch in b.choice:
        print(f"method choice {ch['case']}: fastest {ch['fastest']}, auto -> {ch['auto']} "
              f"({ch['auto_vs_fastest']:.2f}x the fastest time)")
    for e in b.e2e_rows:
        print(f"e2e {e['case']}: rltheory {_fmt_t(e['rltheory_seconds'])} ({e['method']}), QuantEcon best "
              f"{e['quantecon_best']} {_fmt_t(e['quantecon_seconds']) if e['quantecon_seconds'] else '-'}: "
              f"{_opt(e['ratio'], '.2f')}x")
    for e in b.slow_rows:
        sec = ", ".join(f"{m} {_fmt_t(p['seconds'])}{'' if p['certified'] else ' (not certified)'}"
                        for m, p in e["methods"].items())
        print(f"slow_mixing {e['case']}: {sec}; fastest {e['fastest']}, auto -> {e['auto']} "
              f"({_opt(e['auto_vs_fastest'], '.2f')}x the fastest); exercises: {e['exercises']}")
        vi = e["methods"].get("vi")
        print(f"    grant {e['grant']}, cap {e['continue_cap']}; VI steps to tol "
              f"{vi['iterations'] if vi and vi['certified'] else '-'}; greedy sweep {_fmt_t(e['sweep_seconds'])}; "
              f"PI step = {_opt(e.get('pi_step_sweeps'), '.0f')} sweeps (assumed "
              f"{_opt(e.get('pi_step_assumed_sweeps'), '.0f')}), PI solve = {_opt(e.get('pi_solve_sweeps'), '.0f')} "
              f"sweeps" + (f"; auto: {e['auto_note']}" if e["auto_note"] else ""))
    for line in _slow_constants(b.slow_rows):
        print("slow_mixing constants:", line)
    for r in b.construction_rows:
        sec = r["seconds"]
        print(f"construction {r['case']}: {_fmt_t(sec['rltheory'])} = {r['x_reduction']:.2f}x one reduction"
              + (f", {r['x_quantecon']:.2f}x QuantEcon's DiscreteDP" if r["x_quantecon"] is not None else ""))
    for n in b.notes:
        print("note:", n)
    print(f"\nwritten {path}")
    return result


if __name__ == "__main__":
    main()
