"""Module-level (picklable) functions for the sweep tests."""
import os
import time

import numpy as np


def noisy(a, b, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=5)
    return {"value": float(a * x.sum() + b), "vec": x, "n": np.int64(a)}


def slow_logged(a, seed, log, delay=0.15):
    with open(log, "a") as fh:
        fh.write(f"{a},{seed}\n")
    time.sleep(delay)
    rng = np.random.default_rng(seed)
    return {"value": float(rng.random() + a)}


def failing(a, seed):
    if a == 2 and seed == 1:
        raise RuntimeError("boom")
    return {"value": a + seed}


def other(a, seed):
    return {"value": -a}
