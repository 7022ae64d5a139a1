"""The built-in studies, in the order they run (importing this module registers them)."""

import importlib

MODULES = (
    "lambda_min_scaling",
    "convergence_rate",
    "wide_layer",
    "explicit_bounds",
    "lambda_min_probability",
    "gd_dynamics",
    "generalization",
)

for _module in MODULES:
    importlib.import_module(f"ntkverify.studies.{_module}")
