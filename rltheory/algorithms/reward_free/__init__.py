"""Reward-free exploration: HF-UCRL-RFE++ (Zhang, Zhang & Gu, ICML 2023) for linear mixture MDPs and its
baselines UCRL-RFE (Zhang, Zhou & Gu, NeurIPS 2021) and tabular RF-Express (Menard et al., ICML 2021)."""
from ._common import RFEResult, mass_projection
from .exact_oracle import ExactOracleResult, exact_oracle
from .hf_ucrl_rfe import ORACLE_EXACT, ORACLE_R1, HFUCRLRFELearner, hf_beta, hf_ucrl_rfe
from .protocol import PROTOCOL, run_reward_free
from .rf_express import rf_express
from .ucrl_rfe import ucrl_rfe, ucrl_rfe_beta

__all__ = ["RFEResult", "ORACLE_R1", "ORACLE_EXACT", "ExactOracleResult", "HFUCRLRFELearner", "PROTOCOL",
           "exact_oracle", "hf_beta", "hf_ucrl_rfe", "mass_projection", "rf_express", "run_reward_free", "ucrl_rfe",
           "ucrl_rfe_beta"]
