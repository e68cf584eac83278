"""Tabular baselines: UCBVI (Azar, Osband & Munos 2017)."""
from .ucbvi import BONUSES, UCBVIResult, ucbvi

__all__ = ["BONUSES", "UCBVIResult", "ucbvi"]
