"""rltheory: reinforcement-learning theory on the test bench.

Exact MDP models and Numba solvers (:mod:`rltheory.solvers`), symbolic bounds (:mod:`rltheory.bounds`),
resumable experiment sweeps (:mod:`rltheory.experiments`) and paper algorithms
(:mod:`rltheory.algorithms`). Executable bound checks live in the sibling package ``proofs_checks``
and MDP constructors in ``mdps``.
"""
from . import _exit  # noqa: F401 - first: its exit handler must run after those of what follows
from .models import TabularMDP
from .solvers.api import ConvergenceWarning

__version__ = "0.1.0"
__all__ = ["ConvergenceWarning", "TabularMDP", "__version__"]
from .models.latent import LatentMDP  # noqa: E402
__all__ += ["LatentMDP"]
from .models.linear_mixture import LinearMixtureMDP  # noqa: E402
__all__ += ["LinearMixtureMDP"]
