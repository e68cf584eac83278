"""RCSL vs Bellman completeness (Zhou, Zhu, Zhou, Cui, Gupta & Du, ICLR 2024; Zanette, ICML 2023):
offline datasets, function classes with realizability / completeness measures, FQI, RCSL and MBRCSL."""
from .data import (OfflineDataset, collect, concat, coverage, epsilon_greedy, near_optimal_dataset, return_distribution,
                   stitching_dataset, suboptimal_dataset)
from .function_classes import (MLP, bellman_backup_q, bellman_misalignment, completeness_residual, fit_mlp_classifier, fit_mlp_regression, linear_inherent_bellman_error,
                               mlp_completeness_error, projection_residual, realizability_error,
                               relu_interpolant_1d, relu_width_lower_bound_1d, second_difference_count, tabular_features,
                               weighted_projection)
from .learners import (FQIResult, LinearClass, MBRCSLResult, MLPClass, MLPRCSL, TabularClass, TabularRCSL,
                       behaviour_cloning, evaluate_return_conditioned, expected_td, fqi, linear_fqi_population,
                       mbrcsl, rcsl_mlp, rcsl_return, rcsl_tabular)

__all__ = ["OfflineDataset", "return_distribution", "collect", "concat", "coverage", "epsilon_greedy", "near_optimal_dataset",
           "stitching_dataset", "suboptimal_dataset", "MLP", "bellman_backup_q", "bellman_misalignment", "completeness_residual", "fit_mlp_classifier", "fit_mlp_regression",
           "linear_inherent_bellman_error", "mlp_completeness_error", "projection_residual", "realizability_error",
           "relu_interpolant_1d", "relu_width_lower_bound_1d", "second_difference_count", "tabular_features", "weighted_projection",
           "FQIResult", "LinearClass", "MBRCSLResult", "MLPClass", "MLPRCSL", "TabularClass", "TabularRCSL",
           "behaviour_cloning", "evaluate_return_conditioned", "expected_td", "fqi", "linear_fqi_population",
           "mbrcsl", "rcsl_mlp", "rcsl_return", "rcsl_tabular"]
from .fqi_width import (behaviour_occupancy, knot_hidden_width, knots_complete, width_scan, normalized_return, relu_knot_features,  # noqa: E402
                        safe_width, skewed_weights, smallest_passing_width, stationary_fqi_linear,
                        stationary_fqi_mlp)
__all__ += ["behaviour_occupancy", "knot_hidden_width", "width_scan", "knots_complete", "normalized_return", "relu_knot_features", "safe_width",
            "skewed_weights", "smallest_passing_width", "stationary_fqi_linear", "stationary_fqi_mlp"]
