"""The measured data of a claim: :class:`Measurement` (a grid of a variable x seeds), and JSON conversion."""
from __future__ import annotations

import math
from dataclasses import KW_ONLY, dataclass, field

import numpy as np
from scipy import stats

__all__ = ["Measurement"]


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else str(v)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if x is None or isinstance(x, (str, int, bool)):
        return x
    return str(x)


@dataclass
class Measurement:
    """``y[i, j]``: the measured quantity at ``x[i]`` for seed ``j``; ``bound_values``: the bound at ``x``
    (shape ``(len(x),)`` or like ``y``), when the rule compares with it."""

    variable: str
    x: np.ndarray
    y: np.ndarray
    quantity: str
    _: KW_ONLY
    bound_values: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    #: messages of violated invariants (regret < -tol, value > V* + certified error, fraction of OPT > 1,
    #: probability outside [0, 1], ...); any entry fails the claim with "invariant violated: ...".
    invariant_violations: list = field(default_factory=list)

    def __post_init__(self):
        if not isinstance(self.invariant_violations, list) or \
                not all(isinstance(v, str) for v in self.invariant_violations):
            raise TypeError("invariant_violations: expected a list of str messages")
        self.x = np.asarray(self.x, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.float64)
        if self.y.ndim == 1:
            self.y = self.y[:, None]
        if self.x.ndim != 1 or self.y.ndim != 2 or self.y.shape[0] != self.x.shape[0]:
            raise ValueError(f"Measurement: x must be 1-D and y (len(x), n_seeds); got {self.x.shape}, {self.y.shape}")
        if self.bound_values is not None:
            b = np.asarray(self.bound_values, dtype=np.float64)
            if b.shape not in (self.x.shape, self.y.shape):
                raise ValueError(f"Measurement: bound_values must have shape {self.x.shape} or {self.y.shape}")
            self.bound_values = b

    @property
    def mean(self) -> np.ndarray:
        """Mean over seeds at each x, shape ``(len(x),)``."""
        return self.y.mean(axis=1)

    def ci(self, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Student-t confidence interval of the mean over seeds, per x (NaN where a seed is not finite).

        Parameters
        ----------
        level : float
            Confidence level in ``(0, 1)``.

        Returns
        -------
        lo, hi : numpy.ndarray
            Lower and upper limits per x: ``mean -/+ t_{(1+level)/2, n-1} s / sqrt(n)`` with ``s`` the sample standard
            deviation over the ``n`` seeds (the mean itself when ``n < 2``).
        """
        n = self.y.shape[1]
        m = self.mean
        if n < 2:
            return m.copy(), m.copy()
        with np.errstate(invalid="ignore"):  # inf - inf in the spread of a row with a +inf seed: NaN, on purpose
            se = self.y.std(axis=1, ddof=1) / np.sqrt(n)
        q = stats.t.ppf(0.5 + level / 2, n - 1)
        return m - q * se, m + q * se

    def to_dict(self) -> dict:
        """The measurement with its mean and 95% confidence interval as JSON-ready data.

        Returns
        -------
        dict
            Plain types only (non-finite floats as strings).
        """
        lo, hi = self.ci()
        return _jsonable({"variable": self.variable, "quantity": self.quantity, "x": self.x, "y": self.y,
                          "mean": self.mean, "ci95": [lo, hi], "bound_values": self.bound_values,
                          "meta": self.meta, "invariant_violations": self.invariant_violations})

    def require(self, ok, message: str) -> bool:
        """Record ``message`` as a violated invariant unless ``ok`` (a bool or a boolean array, all true);
        returns whether the invariant holds.

        Parameters
        ----------
        ok : bool or array_like of bool
            The invariant's truth value(s).
        message : str
            What is violated, recorded in ``invariant_violations``.

        Returns
        -------
        bool
            Whether the invariant holds.
        """
        good = bool(np.all(ok))
        if not good:
            self.invariant_violations.append(str(message))
        return good


def verdict_qualifier(r) -> str:
    """What a pass rests on when it is weaker than 'confirmed': a hypothesis the data did not reject, or a
    prediction met only within the rule's tolerance (the rule messages say which and by how much).

    Parameters
    ----------
    r : ClaimResult
        A claim's result (its ``status`` and its rule's ``result.message`` are read).

    Returns
    -------
    str
        ``" (not rejected)"``, ``" (within tolerance)"``, both joined by "and", or ``""`` (not a pass, or a
        confirmed pass).
    """
    if r.status != "pass":
        return ""
    msg = r.result.message
    quals = [q for q in ("not rejected", "within tolerance") if q in msg]
    return f" ({' and '.join(quals)})" if quals else ""
