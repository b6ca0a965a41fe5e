"""simkit: Monte Carlo toolkit for SaaS segment economics.

The pipeline reads like the data flow::

    scenario = simkit.load("scenarios/scaling_add_enterprise.toml")   # validate
    results = simkit.simulate(scenario, draws=20_000, seed=7)          # xarray.Dataset
    simkit.bands(results)                                              # quantiles
    simkit.threshold_probabilities(results)                            # P(threshold)

Heavy modules (xarray, matplotlib) are imported on first use, so ``import simkit`` and the
command line start fast.
"""

from importlib import import_module

from ._version import __version__

__all__ = [
    "__version__",
    "ScenarioError",
    "SimkitError",
    "bands",
    "load",
    "simulate",
    "threshold_probabilities",
    "variance_split",
    "economics",
    "stress",
    "reverse_stress",
    "frontier",
    "compare",
    "sensitivity",
]

_LAZY = {
    "load": ("simkit.scenario.load", "load"),
    "ScenarioError": ("simkit.errors", "ScenarioError"),
    "SimkitError": ("simkit.errors", "SimkitError"),
    "simulate": ("simkit.simulation", "simulate"),
    "bands": ("simkit.summarize", "bands"),
    "threshold_probabilities": ("simkit.summarize", "threshold_probabilities"),
    "variance_split": ("simkit.summarize", "variance_split"),
    "economics": ("simkit.economics", None),
    "stress": ("simkit.analysis.stress", "stress"),
    "reverse_stress": ("simkit.analysis.stress", "reverse_stress"),
    "frontier": ("simkit.analysis.stress", "frontier"),
    "compare": ("simkit.analysis.compare", "compare"),
    "sensitivity": ("simkit.analysis.sensitivity", "sensitivity"),
}


def __getattr__(name: str):
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'simkit' has no attribute {name!r}") from None
    module = import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
