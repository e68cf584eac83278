"""Symbolic bounds: a theorem's bound as a sympy expression with its assumptions and source.

A :class:`Bound` keeps the expression the checks evaluate. Õ/Ω statements hide constants; such a bound
carries an explicit symbolic constant ``C`` (substituted when evaluated, default 1) and
:meth:`Bound.exponents` reads the predicted scaling exponent of each variable off the leading term,
reporting logarithmic factors separately. Example::

    >>> from rltheory.bounds import Bound, sym
    >>> d, eps, delta = sym("d"), sym("eps"), sym("delta")
    >>> b = Bound("demo", d**2 / eps**2 * sp.log(1 / delta), kind="upper", source="...")
    >>> b.exponents()  # {d: 2, eps: -2}
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

__all__ = ["sym", "SYMBOLS", "Bound", "register", "get", "all_bounds", "leading_exponents"]

_NAMES = ("S", "A", "H", "K", "T", "d", "M", "eps", "delta", "Gamma", "Var", "C", "gamma", "k", "n", "L",
          "lam", "m", "N")
#: The shared positive real symbols, by name.
SYMBOLS: dict[str, sp.Symbol] = {n: sp.Symbol(n, positive=True, real=True) for n in _NAMES}


def sym(name: str) -> sp.Symbol:
    """The shared positive symbol called ``name`` (created on first use).

    Parameters
    ----------
    name : str
        A Python identifier.

    Returns
    -------
    sympy.Symbol
        The positive symbol.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name: expected an identifier, got {name!r}")
    if name not in SYMBOLS:
        SYMBOLS[name] = sp.Symbol(name, positive=True, real=True)
    return SYMBOLS[name]


def _split_logs(term: sp.Expr):
    """Split a product into (polynomial part, [log factors])."""
    poly, logs = sp.Integer(1), []
    for f in sp.Mul.make_args(term):
        base, ex = f.as_base_exp()
        if isinstance(base, sp.log) or (f.has(sp.log) and not f.is_Pow):
            logs.append(f)
        elif f.is_Pow and base.has(sp.log):
            logs.append(f)
        else:
            poly *= f
    return poly, logs


def _degree(poly: sp.Expr, v: sp.Symbol) -> sp.Expr:
    """Exponent of ``v`` in a monomial-like expression (``sqrt(v**3 * w)`` -> 3/2)."""
    e = sp.powsimp(sp.expand_power_base(poly, force=True), force=True)
    deg = sp.Integer(0)
    for f in sp.Mul.make_args(e):
        base, ex = f.as_base_exp()
        if ex.has(v):  # v in an exponent (A**k): exponential growth in v
            return sp.oo
        if base == v:
            deg += ex
        elif base.has(v):
            # e.g. (1 + v)**2: growth exponent as v -> oo
            inner = sp.limit(sp.log(base) / sp.log(v), v, sp.oo)
            deg += ex * inner
    return sp.nsimplify(deg)


def _num(e) -> float:
    """Order key for exponents: numbers as floats; oo (exponential) and symbolic exponents (A**k in A) as +inf."""
    if e == sp.oo or not e.is_number:
        return math.inf
    return float(e)


def _exp_json(e):
    return float(e) if e.is_number and e.is_finite else str(e)


def leading_exponents(expr: sp.Expr, variables=None) -> tuple[dict, list]:
    """Exponent of each variable in the leading term of ``expr`` and the log factors of that term.

    Sums are resolved per variable: the term with the largest exponent in that variable dominates as the
    variable grows (negative exponents: the term that blows up fastest as it shrinks is reported by its
    most negative exponent when no term grows). Logarithmic factors count as exponent 0 and are listed.

    Parameters
    ----------
    expr : sympy.Expr
        A product or sum of powers and logarithms of positive symbols.
    variables : sequence of sympy.Symbol, optional
        The variables (default: the free symbols of ``expr``).

    Returns
    -------
    exponents : dict
        ``{symbol: exponent}``.
    log_factors : list of sympy.Expr
        The log factors of the leading term.
    """
    expr = sp.sympify(expr)
    if variables is None:
        variables = sorted((s for s in expr.free_symbols if s.name != "C"), key=lambda s: s.name)
    expanded = sp.expand(sp.powsimp(sp.expand_power_base(expr, force=True), force=True), log=False)
    terms = sp.Add.make_args(expanded)
    exps, logs = {}, []
    for v in variables:
        degs = []
        for t in terms:
            poly, lg = _split_logs(t)
            degs.append((_degree(poly, v), lg))
        best = max(degs, key=lambda x: _num(x[0]))
        if _num(best[0]) <= 0 and any(_num(d) < 0 for d, _ in degs):
            best = min(degs, key=lambda x: _num(x[0]))
        exps[v] = best[0]
        for lg in best[1]:
            if lg not in logs:
                logs.append(lg)
    return exps, logs


@dataclass(frozen=True)
class Bound:
    """A theorem's bound.

    name: registry key; expr: sympy expression; kind: ``"upper"`` or ``"lower"``; source: paper and theorem;
    assumptions: the theorem's hypotheses in words; constants: values substituted for symbolic constants
    (default ``C = 1``) when evaluating; notes: free text (e.g. what the Õ hides).
    """

    name: str
    expr: sp.Expr
    kind: str = "upper"
    source: str = ""
    assumptions: tuple = ()
    constants: dict = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name: expected a non-empty str")
        if self.kind not in ("upper", "lower"):
            raise ValueError(f"kind: expected 'upper' or 'lower', got {self.kind!r}")
        object.__setattr__(self, "expr", sp.sympify(self.expr))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))

    @property
    def variables(self) -> list:
        """The free symbols of the expression other than constants, sorted by name."""
        consts = set(self._const_subs())
        return sorted((s for s in self.expr.free_symbols if s not in consts), key=lambda s: s.name)

    def _const_subs(self) -> dict:
        subs = {sym("C"): 1} if sym("C") in self.expr.free_symbols else {}
        for k, v in self.constants.items():
            subs[sym(k) if isinstance(k, str) else k] = v
        return subs

    def evaluate(self, **values):
        """Numerical value; keyword arguments by symbol name, scalars or broadcastable NumPy arrays.

        Parameters
        ----------
        **values : float or numpy.ndarray
            A value for every symbol of :attr:`variables`.

        Returns
        -------
        float or numpy.ndarray
            The bound, broadcast over the arrays given.
        """
        e = self.expr.subs(self._const_subs())
        free = sorted(e.free_symbols, key=lambda s: s.name)
        missing = [s.name for s in free if s.name not in values]
        if missing:
            raise ValueError(f"evaluate: missing values for {missing} (bound {self.name!r})")
        f = sp.lambdify(free, e, modules="numpy")
        args = [np.asarray(values[s.name], dtype=np.float64) for s in free]
        out = f(*args)
        return np.broadcast_to(np.asarray(out, dtype=np.float64), np.broadcast(*args).shape if args else ()).copy() \
            if np.ndim(out) or args else float(out)

    def grid(self, **axes):
        """Evaluate on the mesh of the given 1-D axes (``indexing='ij'``, in keyword order); scalar keywords are
        held fixed.

        Parameters
        ----------
        **axes : float or 1-D array_like
            A value or an axis for every symbol.

        Returns
        -------
        numpy.ndarray
            The bound on the mesh, one dimension per axis.
        """
        names = [n for n in axes if np.ndim(axes[n]) == 1]
        fixed = {n: v for n, v in axes.items() if np.ndim(v) == 0}
        mesh = np.meshgrid(*[np.asarray(axes[n], dtype=np.float64) for n in names], indexing="ij")
        return self.evaluate(**dict(zip(names, mesh)), **fixed)

    def exponents(self, variables=None) -> dict:
        """``{symbol: exponent}`` of the leading term (log factors excluded, see :meth:`log_factors`).

        Parameters
        ----------
        variables : sequence of sympy.Symbol, optional
            The variables (default :attr:`variables`).

        Returns
        -------
        dict
            ``{symbol: exponent}``.
        """
        vs = self.variables if variables is None else [sym(v) if isinstance(v, str) else v for v in variables]
        return leading_exponents(self.expr.subs(self._const_subs()), vs)[0]

    def exponent(self, var) -> float:
        """Exponent of one variable in the leading term.

        Parameters
        ----------
        var : str or sympy.Symbol
            The variable.

        Returns
        -------
        float
            Its exponent (0 for a variable that appears only in log factors).
        """
        v = sym(var) if isinstance(var, str) else var
        return float(self.exponents([v])[v])

    def log_factors(self) -> list:
        """The logarithmic factors of the leading term (constants substituted).

        Returns
        -------
        list of sympy.Expr
            The log factors.
        """
        return leading_exponents(self.expr.subs(self._const_subs()), self.variables)[1]

    def latex(self) -> str:
        """The expression in LaTeX.

        Returns
        -------
        str
            ``sympy.latex`` of the expression.
        """
        return sp.latex(self.expr)

    def with_exponent(self, var, new_exponent, *, name=None) -> "Bound":
        """A deliberately altered copy: the power of ``var`` replaced by ``new_exponent`` (for negative controls).

        Parameters
        ----------
        var : str or sympy.Symbol
            The variable whose power changes.
        new_exponent : float
            Its new exponent.
        name : str, optional
            Name of the copy (default derived from this bound's).

        Returns
        -------
        Bound
            The altered copy (not registered).
        """
        v = sym(var) if isinstance(var, str) else var
        old = self.exponent(v)
        expr = self.expr * v ** (sp.nsimplify(new_exponent) - sp.nsimplify(old))
        return Bound(name or f"{self.name}[{v}^{new_exponent}]", expr, self.kind, self.source + " (altered)",
                     self.assumptions, dict(self.constants), "negative control: exponent altered")

    def to_dict(self) -> dict:
        """The bound as JSON-ready data (name, expression, LaTeX, kind, source, exponents).

        Returns
        -------
        dict
            Plain types only.
        """
        return {
            "name": self.name,
            "expr": str(self.expr),
            "latex": self.latex(),
            "kind": self.kind,
            "source": self.source,
            "assumptions": list(self.assumptions),
            "constants": {str(k): float(v) for k, v in self.constants.items()},
            "exponents": {str(k): _exp_json(v) for k, v in self.exponents().items()},
            "log_factors": [str(x) for x in self.log_factors()],
            "notes": self.notes,
        }


_REGISTRY: dict[str, Bound] = {}


def register(bound: Bound, *, replace: bool = False) -> Bound:
    """Add ``bound`` to the registry (re-registering an equal bound is a no-op).

    Parameters
    ----------
    bound : Bound
        The bound.
    replace : bool
        Replace a different bound of the same name instead of raising ``ValueError``.

    Returns
    -------
    Bound
        ``bound``.
    """
    if not isinstance(bound, Bound):
        raise TypeError(f"bound: expected a Bound, got {type(bound).__name__}")
    old = _REGISTRY.get(bound.name)
    if old is not None and not replace and old != bound:
        raise ValueError(f"bound {bound.name!r} is already registered with a different expression")
    _REGISTRY[bound.name] = bound
    return bound


def get(name: str) -> Bound:
    """The registered bound called ``name``.

    Parameters
    ----------
    name : str
        A registered name.

    Returns
    -------
    Bound
        The bound.

    Raises
    ------
    KeyError
        No bound has that name; the message lists the registered ones.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown bound {name!r}; registered: {sorted(_REGISTRY)}") from None


def all_bounds() -> list:
    """Every registered bound.

    Returns
    -------
    list of Bound
        In registration order.
    """
    return list(_REGISTRY.values())
