"""Submodular RL (Prajapat, Mutny, Zeilinger & Krause, ICLR 2024): approximation and hardness checks.

The measurements and claims of the check: ``CHECK`` lists the claims, each with its rule and negative control
(``rltheory list``); the sweep sizes are in :mod:`proofs_checks.submodular_rl.settings`, the bounds in
:mod:`proofs_checks.submodular_rl.bounds`, the mutants in :mod:`proofs_checks.submodular_rl.mutants`. What the
claims mean, where the measurements deviate from the paper and why the check is built this way:
``proofs_checks/submodular_rl/FINDINGS.md``.
"""
from __future__ import annotations

import numpy as np

from mdps.submodular import choice_coverage, coverage_gridworld, deceptive_chain, lure_coverage, memory_hub
from mdps.submodular import tight_coverage
from mdps.submodular import orienteering_instance, orienteering_lure, orienteering_subrl, random_group_orienteering
from rltheory.algorithms.submodular import evaluate_context_policy, greedy_policy_value, modular_pg, subpo
from rltheory.solvers.submodular import best_markov, dp_arrays, exact_optimum, markov_value

from .._set_function import run_set_function_learner
from .._settings import sizes
from .mutants import MUTANTS
from .settings import GRID, LURE, NEAR_OPT, SIZES
from .bounds import BOUNDS, SUBPO_BANDIT_FACTOR
from ..framework import BoundHolds, Check, Claim, Measurement, RunContext, SlopeCI, rows_to_matrix

FACTOR = 1.0 - np.exp(-1.0)
def greedy_ratio_choice(H, seed):
    sm = choice_coverage(8, horizon=int(H), seed=seed)
    return {"ratio": greedy_policy_value(sm)[0] / exact_optimum(sm).value}


def uniform_value(sm) -> float:
    """Exact value of the uniformly random (Markov) policy."""
    H = sm.horizon
    return evaluate_context_policy(sm, np.full((H, sm.S, sm.A), 1.0 / sm.A), features="markov")


def greedy_ratio_tight(k, seed):
    """greedy / OPT and uniform / OPT on the tight coverage instance (deterministic: ``seed`` is unused)."""
    sm = tight_coverage(int(k))
    opt = exact_optimum(sm).value
    return {"ratio": greedy_policy_value(sm)[0] / opt, "uniform": uniform_value(sm) / opt}


def greedy_ratio_deceptive(n, seed):
    sm = deceptive_chain(int(n))
    return {"ratio": greedy_policy_value(sm)[0] / exact_optimum(sm).value}


def _learner_value(sm, learner, seed, n_iters=300):
    """Exact value of what ``learner`` learns on ``sm``: ``"subpo"`` / ``"subpo_markov"`` (the built-in fast path,
    history / Markov features), ``"modular"``, ``"uniform"`` (no learning), ``"greedy"`` (marginal-gain greedy), or
    a ``"set_function"`` learner spec run through :func:`proofs_checks._set_function.run_set_function_learner`."""
    if learner == "subpo":
        return subpo(sm, seed=seed, n_iters=n_iters, batch=64).value
    if learner == "subpo_markov":
        return subpo(sm, seed=seed, n_iters=n_iters, batch=64, features="markov").value
    if learner == "modular":
        return modular_pg(sm, seed=seed, n_iters=n_iters, batch=64).value
    if learner == "uniform":
        return uniform_value(sm)
    if learner == "greedy":
        return greedy_policy_value(sm)[0]
    return run_set_function_learner(sm, learner, n_iters=n_iters, batch=64, seed=seed)


def learner_ratio_lure(H, learner, seed, n_iters=300):
    """Learner / OPT on ``lure_coverage(**LURE)`` (``learner`` as in :func:`_learner_value`)."""
    sm = lure_coverage(LURE["n"], horizon=int(H), lure=LURE["lure"], copies=LURE["copies"])
    return {"ratio": _learner_value(sm, learner, seed, n_iters) / exact_optimum(sm).value}


def learner_ratio_memory(n, learner, seed):
    """Learner / OPT on :func:`mdps.submodular.memory_hub` ``(n)`` (stochastic first move: the optimum needs
    memory); also the best Markov value / OPT (exact enumeration for n = 2, coordinate ascent above)."""
    sm = memory_hub(int(n))
    opt = exact_optimum(sm).value
    return {"ratio": _learner_value(sm, learner, seed) / opt, "markov": best_markov(sm)[0] / opt}


def delayed_chain(H: int):
    """A deterministic SubMDP where early coverage is a trap (ours). States: 0 the start, 1 a dead end worth 1
    (absorbing), ``2 .. H - 1`` a path worth 0, ``H`` the goal worth 2 (modular ``F``). From the start and from
    each path state action 0 enters the dead end and action 1 moves on; the goal is reached exactly at the last
    step ``s_{H-1}``. OPT = 2 (walk the path); greedy marginal gains take the dead end (value 1); a learner that
    credits step ``h`` with ``sum_{t >= h} F(B_{t+1})`` prefers the dead end as soon as ``H - 1 - h > 2``
    (it maximises ``sum_h F(B_h)``, not ``F(B_{H-1})``)."""
    from rltheory import TabularMDP
    from rltheory.models.submodular import Modular, SubmodularMDP

    H = int(H)
    S = H + 1
    P = np.zeros((S, 2, S))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1, :, 1] = 1.0
    for k in range(2, S - 1):
        P[k, 0, 1] = P[k, 1, k + 1] = 1.0
    P[S - 1, :, S - 1] = 1.0
    w = np.zeros(S)
    w[1], w[S - 1] = 1.0, 2.0
    return SubmodularMDP(TabularMDP(P, np.zeros((S, 2)), horizon=H, mu0=0, name=f"delayed_chain(H={H})"),
                         Modular(w))


def learner_ratio_delayed(H, learner, seed):
    """Learner / OPT on :func:`delayed_chain` ``(H)``."""
    sm = delayed_chain(int(H))
    return {"ratio": _learner_value(sm, learner, seed) / exact_optimum(sm).value}


def stochastic_fork(A: int = 4, p: float = 0.75):
    """A SubMDP whose step-1 contexts differ in value (ours). From the start every action lands on hub ``L`` with
    probability ``p`` and on hub ``R`` otherwise; from ``L`` action 0 reaches a cell worth 1 and the other
    ``A - 1`` actions a cell worth 0; from ``R`` action 0 reaches a cell worth 5 and the others one worth 4
    (modular ``F``, horizon 3). OPT takes action 0 at both hubs. Every return-to-go at ``L`` lies below the
    step's batch-mean return-to-go (dominated by ``R``), so a softmax step without the ``-pi`` term of
    ``grad log pi = e_a - pi`` settles at ``L`` on a stochastic policy, ``pi(a) propto 1 / (b - Q(a))``
    (see :func:`mean_flow_ratio`), instead of action 0."""
    from rltheory import TabularMDP
    from rltheory.models.submodular import Modular, SubmodularMDP

    S = 7
    P = np.zeros((S, A, S))
    P[0, :, 1], P[0, :, 2] = p, 1.0 - p
    P[1, 0, 3] = P[2, 0, 5] = 1.0
    P[1, 1:, 4] = P[2, 1:, 6] = 1.0
    for s in (3, 4, 5, 6):
        P[s, :, s] = 1.0
    w = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 5.0, 4.0])
    return SubmodularMDP(TabularMDP(P, np.zeros((S, A)), horizon=3, mu0=0, name=f"stochastic_fork(A={A}, p={p})"),
                         Modular(w))


def gamble(q: float, A: int = 4, sure: float = 0.8):
    """A one-decision SubMDP with a random outcome (ours): from the start action 0 reaches a cell worth 1 with
    probability ``q`` (a cell worth 0 otherwise), each of the other ``A - 1`` actions surely reaches a cell worth
    ``sure * q`` (modular ``F``, horizon 2). OPT = ``q`` (take the gamble); committing to the sure thing gets
    ``sure`` OPT. The gradient estimate's sign is unreliable on a batch when ``q`` is small, so a learner whose
    step is too large commits on noise early."""
    from rltheory import TabularMDP
    from rltheory.models.submodular import Modular, SubmodularMDP

    S = 4
    P = np.zeros((S, A, S))
    P[0, 0, 1], P[0, 0, 2] = q, 1.0 - q
    P[0, 1:, 3] = 1.0
    for s in (1, 2, 3):
        P[s, :, s] = 1.0
    w = np.array([0.0, 1.0, 0.0, sure * q])
    return SubmodularMDP(TabularMDP(P, np.zeros((S, A)), horizon=2, mu0=0, name=f"gamble(q={q}, A={A})"),
                         Modular(w))


#: the instances of ``subpo_stochastic_outcomes``, by the x value of the measurement
STOCHASTIC = {1: ("stochastic_fork()", lambda: stochastic_fork()), 2: ("gamble(q=0.2)", lambda: gamble(0.2)),
              3: ("gamble(q=0.1)", lambda: gamble(0.1))}


def learner_ratio_stochastic(inst, learner, seed):
    """Learner / OPT on the instance ``STOCHASTIC[inst]``."""
    sm = STOCHASTIC[int(inst)][1]()
    return {"ratio": _learner_value(sm, learner, seed) / exact_optimum(sm).value}


def mean_flow_ratio(inst, drop_pi, seed, n_iters=3000, lr=2.0):
    """Value / OPT after ``n_iters`` steps of the *expected* SubPO update on ``STOCHASTIC[inst]`` (no sampling:
    occupancies ``d_h(x)``, return-to-go ``Q_h(x, a)`` and the baseline ``b_h = E[G_h]`` are computed exactly
    over the history contexts ``x = (s, B)``, values normalised by ``F(V)`` as the learners see them).

    ``drop_pi=False``: ``theta_h[x] += lr d_h(x) pi(.|x) (Q_h(x, .) - V_h(x))``, the exact policy gradient
    (the batch-mean baseline only adds a zero-mean term). ``drop_pi=True``: the mean of the update
    ``(G_h - b_h) e_{a_h}`` that forgets the ``-pi`` term, ``lr d_h(x) pi(.|x) (Q_h(x, .) - b_h)``: biased
    wherever ``V_h(x) != b_h``. Deterministic (``seed`` is unused)."""
    sm = STOCHASTIC[int(inst)][1]()
    P4, table = dp_arrays(sm)
    S, A, H, nm = sm.S, sm.A, sm.horizon, table.size
    vals = table / (table[nm - 1] if table[nm - 1] > 0 else 1.0)
    Bs = np.arange(nm)
    nxt = Bs[:, None] | (1 << np.arange(S))[None, :]  # (nm, S): B | {t}
    gain = vals[nxt] - vals[Bs][:, None]
    theta = np.zeros((H - 1, S, nm, A))
    mu0 = np.asarray(sm.mdp.mu0, dtype=float)
    for _ in range(int(n_iters) + 1):
        pi = np.exp(theta - theta.max(-1, keepdims=True))
        pi /= pi.sum(-1, keepdims=True)
        d = np.zeros((H, S, nm))
        d[0, np.arange(S), 1 << np.arange(S)] = mu0
        for h in range(H - 1):
            Ph = P4[h if P4.shape[0] > 1 else 0]
            flow = np.einsum("sm,sma,sat->mt", d[h], pi[h], Ph)  # (nm, S): mass moving to t from visited set B
            np.add.at(d[h + 1], (np.broadcast_to(np.arange(S), (nm, S)), nxt), flow)
        V = np.zeros((H, S, nm))
        Q = np.zeros((H - 1, S, nm, A))
        for h in range(H - 2, -1, -1):
            Ph = P4[h if P4.shape[0] > 1 else 0]
            cont = gain + V[h + 1][np.arange(S)[None, :], nxt]  # (nm, S): G after moving to t
            Q[h] = np.einsum("sat,mt->sma", Ph, cont)
            V[h] = (pi[h] * Q[h]).sum(-1)
        b = (d[:-1] * V[:-1]).sum(axis=(1, 2))
        ref = b[:, None, None, None] if drop_pi else V[:-1, :, :, None]
        theta += lr * d[:-1, :, :, None] * pi * (Q - ref)
    J = float((d[0] * V[0]).sum())  # normalised: J(pi) / F(V)
    return {"ratio": J * table[nm - 1] / exact_optimum(sm).value}


def _fraction_of_opt(m: Measurement) -> Measurement:
    """Invariant: no policy exceeds the exact optimum (fraction of OPT <= 1)."""
    m.require(m.y <= 1 + 1e-9, f"fraction of OPT <= 1 (measured max {np.nanmax(m.y):.6g})")
    return m


def subpo_vs_modular_grid(H, seed):
    """SubPO (natural PG, history features) / modular PG on a weighted-coverage gridworld (weights from seed), and
    the reversed ratio (``swapped``) from the same two runs."""
    g = coverage_gridworld(GRID, horizon=int(H), seed=seed)
    s = subpo(g, seed=seed, n_iters=300, batch=64, natural=True, lr=1.0).value
    m = modular_pg(g, seed=seed, n_iters=300, batch=64).value
    return {"ratio": s / m, "swapped": m / s}


def history_vs_markov(kind, seed):
    """OPT over history-dependent policies / best Markov value, both exact.

    ``memory``: :func:`mdps.submodular.memory_hub` (2 leaves) — best Markov by exhaustive enumeration.
    ``deterministic``: a deterministic coverage gridworld; there the open-loop plan of the optimal policy is a
    time-indexed Markov policy, and its exactly evaluated value is the best Markov value."""
    if kind == "memory":
        sm = memory_hub(2)
        bm, _, exact = best_markov(sm)
        if not exact:
            raise RuntimeError("memory_hub(2) should be small enough for exhaustive Markov enumeration")
    else:
        sm = coverage_gridworld("S..\n.#.\n...", horizon=5, seed=seed)
        opt = exact_optimum(sm)
        nxt = sm.mdp.P.argmax(-1)
        s, B, plan = 0, 1, np.zeros((sm.horizon, sm.S), dtype=np.int64)
        for h in range(sm.horizon - 1):
            a = int(opt.policy[h, s, B])
            plan[h, s] = a
            s = int(nxt[s, a])
            B |= 1 << s
        bm = markov_value(sm, plan)
    return {"ratio": exact_optimum(sm).value / bm}


def _ratio(ctx, fn, grid, var, name, seeds=None):
    rows = ctx.sweep(fn, grid, name=f"submodular_rl.{name}", seeds=seeds)
    x, y = rows_to_matrix(rows, var, "ratio")
    return x, y


def _greedy_tight(ctx: RunContext):
    rows = ctx.sweep(greedy_ratio_tight, {"k": list(sizes(SIZES, ctx)["greedy_tight_ks"])},
                     name="submodular_rl.greedy_tight", seeds=ctx.seed_list(1))
    x, y = rows_to_matrix(rows, "k", "ratio")
    _, u = rows_to_matrix(rows, "k", "uniform")
    return Measurement("k", x, y, "greedy / OPT", bound_values=np.full(x.shape, FACTOR),
                       meta={"family": "tight_coverage(k) (deterministic: one seed)",
                             "closed form 1 - (1 - 1/k)^k": (1 - (1 - 1 / x) ** x).round(4).tolist(),
                             "uniform random policy / OPT (exact)": u[:, 0].round(4).tolist()})


def _greedy_deceptive(ctx: RunContext):
    x, y = _ratio(ctx, greedy_ratio_deceptive, {"n": list(sizes(SIZES, ctx)["greedy_deceptive_ns"])}, "n",
                  "greedy_deceptive", seeds=ctx.seed_list(1))  # deterministic instance: one seed
    return Measurement("n", x, y, "greedy / OPT", bound_values=np.full(x.shape, FACTOR),
                       meta={"family": "deceptive_chain"})


def _lure(ctx: RunContext, learner):
    Hs = list(sizes(SIZES, ctx)["lure_Hs"])
    if learner == "subpo" and ctx.learner is not None:
        learner = ctx.learner
    x, y = _ratio(ctx, learner_ratio_lure, {"H": Hs, "learner": [learner]}, "H", "lure")
    _, u = _ratio(ctx, learner_ratio_lure, {"H": Hs, "learner": ["uniform"]}, "H", "lure")
    return _fraction_of_opt(Measurement(
        "H", x, y, f"{learner} / OPT", bound_values=np.full(x.shape, FACTOR),
        meta={"family": "lure_coverage(n={n}, copies={copies}, lure={lure})".format(**LURE),
              "episodes": 0 if learner == "uniform" else 300 * 64,
              "uniform random policy / OPT (exact)": u[:, 0].round(4).tolist()}))


def _memory_learner(ctx: RunContext, learner: str | None):
    learner = ctx.learner or "subpo" if learner is None else learner
    rows = ctx.sweep(learner_ratio_memory, {"n": [2, 3], "learner": [learner]}, name="submodular_rl.memory_learner")
    x, y = rows_to_matrix(rows, "n", "ratio")
    _, mk = rows_to_matrix(rows, "n", "markov")
    return _fraction_of_opt(Measurement(
        "leaves n", x, y, f"{learner} / OPT", bound_values=np.full(x.shape, NEAR_OPT),
        meta={"family": "memory_hub(n)", "episodes": 300 * 64,
              "best Markov value / OPT": mk[:, 0].round(4).tolist()}))


def _delayed_learner(ctx: RunContext, learner: str | None):
    learner = ctx.learner or "subpo" if learner is None else learner
    Hs = list(sizes(SIZES, ctx)["delayed_Hs"])
    rows = ctx.sweep(learner_ratio_delayed, {"H": Hs, "learner": [learner]}, name="submodular_rl.delayed")
    x, y = rows_to_matrix(rows, "H", "ratio")
    return _fraction_of_opt(Measurement("H", x, y, f"{learner} / OPT", bound_values=np.full(x.shape, NEAR_OPT),
                                        meta={"family": "delayed_chain(H)", "episodes": 300 * 64}))


def _stochastic_learner(ctx: RunContext, learner: str | None):
    learner = ctx.learner or "subpo" if learner is None else learner
    rows = ctx.sweep(learner_ratio_stochastic, {"inst": list(STOCHASTIC), "learner": [learner]},
                     name="submodular_rl.stochastic")
    x, y = rows_to_matrix(rows, "inst", "ratio")
    flow = ctx.sweep(mean_flow_ratio, {"inst": [1], "drop_pi": [False]}, name="submodular_rl.stochastic_flow",
                     seeds=ctx.seed_list(1))  # deterministic: one seed
    return _fraction_of_opt(Measurement(
        "instance", x, y, f"{learner} / OPT", bound_values=np.full(x.shape, NEAR_OPT),
        meta={"instances": {k: v[0] for k, v in STOCHASTIC.items()}, "episodes": 300 * 64,
              "expected (exact-gradient) flow / OPT on stochastic_fork": round(float(flow[0]["result"]["ratio"]), 4),
              "sure thing / OPT on the gambles": 0.8}))


def _stochastic_biased_flow(ctx: RunContext):
    rows = ctx.sweep(mean_flow_ratio, {"inst": list(STOCHASTIC), "drop_pi": [True]},
                     name="submodular_rl.stochastic_flow", seeds=ctx.seed_list(1))  # deterministic: one seed
    x, y = rows_to_matrix(rows, "inst", "ratio")
    return Measurement("instance", x, y, "no-(-pi) expected flow / OPT", bound_values=np.full(x.shape, NEAR_OPT),
                       meta={"instances": {k: v[0] for k, v in STOCHASTIC.items()}, "flow steps": 3000})


def _deceptive_slope(ctx: RunContext):
    x, y = _ratio(ctx, greedy_ratio_deceptive, {"n": [2, 4, 8, 12]}, "n", "greedy_deceptive_slope",
                  seeds=ctx.seed_list(1))  # deterministic instance: one seed
    # (n - 1) is the natural variable of the construction: ratio = 1/(n-1)
    return Measurement("n - 1", x - 1, y, "greedy / OPT", meta={"family": "deceptive_chain"})


def _choice_slope(ctx: RunContext):
    x, y = _ratio(ctx, greedy_ratio_choice, {"H": [2, 3, 4, 5]}, "H", "greedy_choice")
    return Measurement("H", x, y, "greedy / OPT", meta={"family": "choice_coverage(8)"})


def _grid_measure(ctx: RunContext, swap: bool):
    rows = ctx.sweep(subpo_vs_modular_grid, {"H": list(sizes(SIZES, ctx)["grid_Hs"])}, name="submodular_rl.grid")
    x, y = rows_to_matrix(rows, "H", "swapped" if swap else "ratio")
    q = "modular / SubPO" if swap else "SubPO / modular"
    return Measurement("H", x, y, q, bound_values=np.ones(x.shape), meta={"map": GRID, "episodes": 300 * 64})


def _memory_measure(ctx: RunContext, kind: str):
    rows = ctx.sweep(history_vs_markov, {"kind": [kind]}, name=f"submodular_rl.memory.{kind}",
                     seeds=ctx.seed_list(1 if kind == "memory" else min(ctx.seeds, 4)))
    y = np.array([[r["result"]["ratio"] for r in rows]])
    return Measurement("instance", np.array([2.0]), y, "OPT(history) / best Markov",
                       bound_values=np.array([1.0 + 1e-6]), meta={"kind": kind})


def sop_reduction_agreement(budget, seed):
    """min(a/b, b/a) for a = OPT of the reduced SubMDP, b = brute-force SOP OPT; also for the reduction one move
    short (``ratio_short``). Random rooted group-orienteering instances on 8 vertices (undirected on even seeds)."""
    inst = random_group_orienteering(8, budget=int(budget), seed=seed, degree=2, undirected=seed % 2 == 0)
    sop = inst.brute_force()[0]
    sub = exact_optimum(orienteering_subrl(inst)).value
    short_inst = orienteering_instance(list(inst.succ), inst.covers, inst.weights, root=inst.root,
                                       budget=int(budget) - 1)
    short = exact_optimum(orienteering_subrl(short_inst)).value
    return {"ratio": _agreement(sub, sop), "ratio_short": _agreement(short, sop)}


def _agreement(a: float, b: float) -> float:
    """min(a/b, b/a) for non-negative values: 1 when both are 0 (an instance where no group is reachable), 0 when
    exactly one is."""
    if a == 0.0 and b == 0.0:
        return 1.0
    if a == 0.0 or b == 0.0:
        return 0.0
    return min(a / b, b / a)


def greedy_ratio_sop_lure(k, seed):
    sm = orienteering_subrl(orienteering_lure(int(k), seed=seed))
    return {"ratio": greedy_policy_value(sm)[0] / exact_optimum(sm).value}


def _sop_reduction(ctx: RunContext, key: str):
    rows = ctx.sweep(sop_reduction_agreement, {"budget": [2, 3, 4, 5]}, name="submodular_rl.sop_reduction")
    x, y = rows_to_matrix(rows, "budget", key)
    return Measurement("budget", x, y, "min(OPT_SubMDP/OPT_SOP, inverse)", bound_values=np.ones(x.shape),
                       meta={"family": "random_group_orienteering(8)", "short": key == "ratio_short"})


def _sop_lure_slope(ctx: RunContext):
    x, y = _ratio(ctx, greedy_ratio_sop_lure, {"k": list(sizes(SIZES, ctx)["sop_lure_ks"])}, "k",
                  "sop_lure")
    return Measurement("k", x, y, "greedy / OPT", meta={"family": "orienteering_lure (SOP -> SubRL)"})


CHECK = Check(
    name="submodular_rl",
    title="Submodular RL: (1 - 1/e) under the bandit-like assumption, no constant factor without it",
    source="Prajapat, Mutny, Zeilinger & Krause, Submodular Reinforcement Learning, ICLR 2024",
    claims=[
        Claim("greedy_factor", "greedy marginal gains >= (1 - 1/e) OPT on the tight coverage instances (where "
              "uniformly random play gets < 0.56 OPT)",
              "Nemhauser, Wolsey & Fisher 1978; Prajapat et al. 2024 (the factor SubPO recovers)",
              BoundHolds(kind="lower"), _greedy_tight, _greedy_deceptive,
              control_description="the same greedy policy on the deceptive chain, which violates the bandit-like "
                                  "assumption",
              bound=SUBPO_BANDIT_FACTOR),
        Claim("subpo_needs_history", f"SubPO (history features) reaches >= {NEAR_OPT} OPT on every seed of "
              "memory_hub(n), n = 2, 3, where Markov policies fall short (best Markov value in the meta)",
              "Prajapat et al. 2024, Sec. 3-4 (optimal SubRL policies are non-Markovian; SubPO's policy class "
              "conditions on the history)", BoundHolds(kind="lower"),
              lambda ctx: _memory_learner(ctx, None), lambda ctx: _memory_learner(ctx, "subpo_markov"),
              control_description="the same SubPO with Markov features (x = s): bounded by the best Markov value",
              uses_learner=True),
        Claim("subpo_marginal_credit", f"SubPO reaches >= {NEAR_OPT} OPT on every seed of the delayed chain "
              "(early coverage is a dead end worth half the optimum)",
              "Prajapat et al. 2024, Sec. 4 (the return-to-go of step h is the sum of the marginal gains after it, "
              "F(B_{H-1}) - F(B_h): the policy gradient of E F(B_{H-1}))", BoundHolds(kind="lower"),
              lambda ctx: _delayed_learner(ctx, None), lambda ctx: _delayed_learner(ctx, "greedy"),
              control_description="greedy marginal gains (myopic: takes the dead end, 1/2 OPT)",
              uses_learner=True),
        Claim("subpo_stochastic_outcomes", f"SubPO reaches >= {NEAR_OPT} OPT on every seed of three instances "
              "with random outcomes: a fork whose step-1 contexts differ in value, and two gambles (a rare jackpot "
              "against a sure thing worth 0.8 of it)",
              "Prajapat et al. 2024, Sec. 4 (SubPO is the policy gradient of E F(B_{H-1}); with history features "
              "the SubMDP is an MDP on (h, s, B) with marginal-gain rewards, where softmax policy gradient "
              "converges to the optimum, Agarwal, Kakade, Lee & Mahajan 2021); instances ours",
              BoundHolds(kind="lower"), lambda ctx: _stochastic_learner(ctx, None), _stochastic_biased_flow,
              control_description="the expected update without the -pi term of grad log pi, iterated exactly "
                                  "(no sampling): a biased flow that settles below the threshold on the fork",
              uses_learner=True),
        Claim("subpo_factor", "SubPO >= (1 - 1/e) OPT on every seed of a bandit-like family where uniformly random "
              "play gets only 0.52-0.61 OPT",
              "Prajapat et al. 2024, SubPO guarantee", BoundHolds(kind="lower"),
              lambda ctx: _lure(ctx, "subpo"), lambda ctx: _lure(ctx, "uniform"),
              control_description="the uniformly random policy (exact value) on the same instances: below the factor, "
                                  "so the factor needs learning there",
              bound=SUBPO_BANDIT_FACTOR, uses_learner=True),
        Claim("subpo_factor_vs_modular", "SubPO >= (1 - 1/e) OPT on every seed (same runs as subpo_factor)",
              "Prajapat et al. 2024, SubPO guarantee", BoundHolds(kind="lower"),
              lambda ctx: _lure(ctx, "subpo"), lambda ctx: _lure(ctx, "modular"),
              control_description="policy gradient on the modular surrogate F({s}) per visit (ignores diminishing "
                                  "returns)",
              bound=SUBPO_BANDIT_FACTOR, uses_learner=True),
        Claim("no_constant_factor", "greedy / OPT = 1/(n-1) on the deceptive chain: slope -1, no constant factor",
              "Prajapat et al. 2024 (SubRL is hard to approximate in general); our deceptive construction",
              SlopeCI(-1.0, mode="contains", tol=0.1), _deceptive_slope, _choice_slope,
              control_description="the bandit-like family, where the ratio stays near 1 as H grows"),
        Claim("subpo_beats_modular", "on weighted-coverage gridworlds SubPO >= the modular baseline on every seed",
              "Prajapat et al. 2024, Sec. 6 (coverage experiments)", BoundHolds(kind="lower"),
              lambda ctx: _grid_measure(ctx, False), lambda ctx: _grid_measure(ctx, True),
              control_description="the reversed comparison (modular / SubPO >= 1), which must be rejected"),
        Claim("history_beats_markov", "with stochastic dynamics the optimal policy needs memory: OPT > best Markov",
              "Prajapat et al. 2024, Sec. 3 (optimal SubRL policies are non-Markovian)", BoundHolds(kind="lower"),
              lambda ctx: _memory_measure(ctx, "memory"), lambda ctx: _memory_measure(ctx, "deterministic"),
              control_description="deterministic coverage gridworlds, where a time-indexed Markov plan attains OPT "
                                  "(ratio exactly 1)"),
        Claim("sop_reduction", "the SOP -> SubRL reduction preserves the optimum on every random instance",
              "Prajapat et al. 2024, hardness of SubRL (reduction from submodular orienteering); our reconstruction",
              BoundHolds(kind="lower", rtol=1e-9), lambda ctx: _sop_reduction(ctx, "ratio"),
              lambda ctx: _sop_reduction(ctx, "ratio_short"),
              control_description="the reduction one move short (horizon = budget instead of budget + 1)"),
        Claim("sop_greedy_no_constant", "greedy / OPT ~ 1/k on the SOP-reduced lure family: slope -1",
              "Prajapat et al. 2024 (SubRL inherits SOP's Omega(log^{1-eps} OPT) hardness, Chekuri & Pal 2005); "
              "our lure instance",
              SlopeCI(-1.0, mode="contains", tol=0.1), _sop_lure_slope, _choice_slope,
              control_description="the bandit-like family, where the ratio stays near 1 as H grows"),
    ],
    protocol="set_function",
    mutants=MUTANTS,
    bounds=BOUNDS,
)
