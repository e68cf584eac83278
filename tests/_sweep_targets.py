"""Module-level (hence picklable, importable by spawned workers) functions for tests/test_experiments.py."""
import os
import time

import numpy as np


def noisy(a, b, seed):
    """Seeded floats with full 53-bit mantissas, a NumPy array and a NumPy integer."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=5)
    return {"value": float(a * x.sum() + b), "vec": x, "n": np.int64(a), "f64": np.float64(x[0] / 3.0)}


def slow_logged(a, seed, log, delay=0.15):
    """Appends ``a,seed`` to ``log`` on every call (one line per call), then sleeps ``delay`` seconds."""
    with open(log, "a") as fh:
        fh.write(f"{a},{seed}\n")
    time.sleep(delay)
    rng = np.random.default_rng(seed)
    return {"value": float(rng.random() + a)}


def counted(seed, log, **params):
    """Logs the canonical cell on every call; result depends on params and seed only."""
    with open(log, "a") as fh:
        fh.write(repr((sorted(params.items()), seed)) + "\n")
    rng = np.random.default_rng([seed] + [int(v) for _, v in sorted(params.items())])
    return {"u": rng.random(), "params": params}


def echo(x, seed):
    """Returns the floats it is given in several NumPy/Python forms."""
    arr = np.asarray(x, dtype=np.float64)
    return {"list": list(x), "array": arr, "scalars": [np.float64(v) for v in arr], "seed": np.int32(seed)}


def special(seed):
    return {"nan": float("nan"), "inf": np.inf, "ninf": -np.inf, "negzero": np.float64(-0.0),
            "tiny": 5e-324, "f32": np.float32(0.1), "bool": np.bool_(True), "tuple": (1, 2.5)}


def failing(a, seed):
    if a == 2 and seed == 1:
        raise RuntimeError("boom")
    return {"value": a + seed}


def not_a_dict(a, seed):
    return [a, seed]


def other(a, seed):
    return {"value": -a}


class Scaled:
    """A callable instance (its identity is its class)."""

    def __call__(self, a, seed):
        return {"value": 2 * a + seed}


def worker_pid(a, seed):
    return {"pid": os.getpid()}


def slow_pid(a, seed, log, delay=1.0):
    """Appends ``pid,a,seed`` to ``log`` when the cell starts, sleeps ``delay`` seconds; the result depends on
    ``(a, seed)`` only (not on the process that computed it)."""
    with open(log, "a") as fh:
        fh.write(f"{os.getpid()},{a},{seed}\n")
    time.sleep(delay)
    return {"value": float(np.random.default_rng(seed).random() + a)}


class TwoArgError(Exception):
    """An exception that pickles but cannot be unpickled (``__init__`` takes two arguments, ``args`` has one)."""

    def __init__(self, a, b):
        super().__init__(a)
        self.b = b


def raises_two_arg(a, seed):
    raise TwoArgError(f"two-arg failure at a={a}", 2)


def fails_later_cells_first(a, seed):
    """Every cell fails; the first cell in sweep order fails last (after the others have failed)."""
    time.sleep(1.0 if a == 0 else 0.0)
    raise ValueError(f"failed at a={a}")


def exits(a, seed):
    raise SystemExit(f"fn called sys.exit at a={a}")


def interrupts(a, seed):
    raise KeyboardInterrupt


def dies(a, seed):
    os._exit(3)


def ends_worker_at(a, seed, at, how, delay=0.3):
    """Cell ``a == at`` ends its worker process (``how``: ``"os._exit(N)"`` for that exit status, ``"sys.exit(N)"``
    raises SystemExit, ``"SIGTERM"`` sends the signal the pool stops its workers with); every other cell sleeps
    ``delay`` seconds first, so that several cells are running when the worker dies."""
    import signal
    import sys

    if a != at:
        time.sleep(delay)
        return {"a": a}
    if how == "SIGTERM":
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
    kind, code = how.rstrip(")").split("(")
    (os._exit if kind == "os._exit" else sys.exit)(int(code))
