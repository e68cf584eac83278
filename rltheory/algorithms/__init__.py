"""Paper algorithms, one subpackage per line of work (``tabular``, ``submodular``, ...)."""
from .lmdp import lmdp_hindsight  # noqa: E402,F401
from .result import LearnerResult  # noqa: E402,F401
