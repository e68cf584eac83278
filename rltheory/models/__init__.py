"""Validated, immutable problem descriptions."""
from .tabular import ROW_SUM_ATOL, TabularMDP

__all__ = ["TabularMDP", "ROW_SUM_ATOL"]
from .latent import LatentMDP, LMDPEpisode  # noqa: E402
__all__ += ["LatentMDP", "LMDPEpisode"]
