"""Scenario files: reading, validating and the typed Scenario model."""

from .distributions import (
    Beta,
    Distribution,
    Fixed,
    LogitNormal,
    LogNormal,
    Normal,
    Pert,
    Triangular,
    Uniform,
)
from .load import from_dict, load, validate_file
from .model import (
    Allocation,
    Company,
    Correlation,
    Motion,
    Scenario,
    Segment,
    Shock,
    Stage,
    Stress,
    TouchModel,
)

__all__ = [
    "Allocation", "Beta", "Company", "Correlation", "Distribution", "Fixed", "LogNormal",
    "LogitNormal", "Motion", "Normal", "Pert", "Scenario", "Segment", "Shock", "Stage", "Stress",
    "TouchModel", "Triangular", "Uniform", "from_dict", "load", "validate_file",
]
