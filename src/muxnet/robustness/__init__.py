"""Robustness to common corruptions (ImageNet-C, Hendrycks & Dietterich 2019): corruptions, CE/mCE, the benchmark."""

from .corruption_benchmark import RobustnessConfig, evaluate_models, format_table, run_robustness
from .corruptions import BENCHMARK_CORRUPTIONS, CORRUPTIONS, EXTRA_CORRUPTIONS, SEVERITIES, corrupt
from .metrics import (
    ReferenceErrors,
    alexnet_reference,
    corruption_error,
    load_reference,
    relative_corruption_error,
    summarize,
)

__all__ = ["BENCHMARK_CORRUPTIONS", "CORRUPTIONS", "EXTRA_CORRUPTIONS", "ReferenceErrors", "RobustnessConfig",
           "SEVERITIES", "alexnet_reference", "corrupt", "corruption_error", "evaluate_models", "format_table",
           "load_reference", "relative_corruption_error", "run_robustness", "summarize"]
