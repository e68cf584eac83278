"""Tabular learners: UCBVI (Azar, Osband & Munos 2017) and epsilon-greedy Q-learning."""
from .qlearning import QLearningResult, geometric_checkpoints, qlearning
from .ucbvi import BONUSES, UCBVIResult, ucbvi

__all__ = ["BONUSES", "UCBVIResult", "ucbvi", "QLearningResult", "geometric_checkpoints", "qlearning"]
