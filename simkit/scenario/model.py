"""The typed, immutable Scenario that everything downstream of ``load`` works with.

The attribute names mirror the keys of the scenario file, so the dotted path an analyst
reads in an error message (``segments.smb.annual_churn``) is also the path that
:meth:`Scenario.inputs`, correlations and stress shocks use.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .distributions import Distribution

__all__ = [
    "Allocation",
    "Company",
    "Correlation",
    "Motion",
    "Scenario",
    "Segment",
    "Shock",
    "Stage",
    "Stress",
    "TouchModel",
    "FrozenMap",
    "THRESHOLD_METRICS",
]

class FrozenMap(Mapping):
    """A read-only, picklable, hashable mapping (``MappingProxyType`` cannot be pickled,
    and scenarios travel to worker processes)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping | None = None):
        object.__setattr__(self, "_data", dict(data or {}))

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(tuple(self._data.items()))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self):
        return (FrozenMap, (self._data,))


def _frozen(mapping: Mapping | None) -> Mapping:
    return mapping if isinstance(mapping, FrozenMap) else FrozenMap(mapping)


#: Threshold key -> (metric it is checked on, comparison). ``>=`` means "at least".
THRESHOLD_METRICS: Mapping[str, tuple[str, str]] = FrozenMap(
    {
        "ltv_cac_min": ("ltv_cac", ">="),
        "payback_months_max": ("payback_months", "<="),
        "cac_max": ("cac", "<="),
        "annual_churn_max": ("annual_churn", "<="),
        "annual_expansion_min": ("annual_expansion", ">="),
        "nrr_min": ("nrr", ">="),
        "grr_min": ("grr", ">="),
        "cs_cost_share_max": ("cs_cost_share", "<="),
        "cs_cost_per_account_max": ("cs_cost_per_account", "<="),
    }
)



@dataclass(frozen=True)
class Segment:
    """A group of customers with its own economics (free-form name)."""

    name: str
    acv: Distribution
    gross_margin: Distribution
    annual_churn: Distribution | None = None
    monthly_churn: Distribution | None = None
    annual_expansion: Distribution | None = None
    monthly_expansion: Distribution | None = None
    cost_to_serve_per_year: Distribution | None = None
    touch_model: str = "tech_touch"
    starting_customers: Distribution | None = None
    starting_acv: Distribution | None = None
    benchmark: str | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "thresholds", _frozen(self.thresholds))

    @property
    def churn_field(self) -> str:
        return "annual_churn" if self.annual_churn is not None else "monthly_churn"

    @property
    def expansion_field(self) -> str | None:
        if self.annual_expansion is not None:
            return "annual_expansion"
        if self.monthly_expansion is not None:
            return "monthly_expansion"
        return None


@dataclass(frozen=True)
class Motion:
    """A way of winning customers for one segment (self-serve, sales-assisted, field ...)."""

    name: str
    segment: str
    kind: str
    cost_per_lead: Distribution
    conversion: Distribution
    sales_cost_per_won: Distribution
    sales_cycle_months: Distribution
    cost_per_head_per_year: Distribution


@dataclass(frozen=True)
class TouchModel:
    """How accounts are kept after the sale: CSM ratio, its cost, and what happens uncovered."""

    name: str
    accounts_per_csm: Distribution
    csm_cost_per_year: Distribution
    tooling_cost_per_account_per_year: Distribution
    uncovered_churn_multiplier: Distribution


@dataclass(frozen=True)
class Allocation:
    """Money and people given to motions and segments; a stage's allocation overrides entries."""

    budget_per_month: Mapping[str, Distribution] = field(default_factory=dict)
    headcount: Mapping[str, Distribution] = field(default_factory=dict)
    csms: Mapping[str, Distribution] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("budget_per_month", "headcount", "csms"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))


@dataclass(frozen=True)
class Stage:
    """A company stage, entered the month after a draw's total ARR first reaches ``arr_from``."""

    name: str
    arr_from: float
    allocation: Allocation | None = None


@dataclass(frozen=True)
class Company:
    stage: str | None
    starting_cash: Distribution
    fixed_opex_per_month: Distribution


@dataclass(frozen=True)
class Correlation:
    """Rank (Spearman) correlation between two uncertain inputs, by dotted path."""

    inputs: tuple[str, str]
    rank_correlation: float


@dataclass(frozen=True)
class Shock:
    """Change an input (dotted path, ``*`` wildcards allowed): scale, shift or set it."""

    input: str
    operation: str  # "scale" | "shift" | "set"
    value: float | Distribution

    def matches(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path, self.input)


@dataclass(frozen=True)
class Stress:
    name: str
    description: str
    shocks: tuple[Shock, ...]


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Build it with :func:`simkit.load` (from a file) or
    :func:`simkit.scenario.from_dict`; never mutate it (use :meth:`with_inputs`)."""

    name: str
    description: str
    currency: str
    horizon_months: int
    draws: int
    seed: int
    ltv_window_months: int
    company: Company
    segments: Mapping[str, Segment]
    motions: Mapping[str, Motion]
    touch_models: Mapping[str, TouchModel]
    allocation: Allocation
    stages: Mapping[str, Stage]
    correlations: tuple[Correlation, ...] = ()
    stresses: Mapping[str, Stress] = field(default_factory=dict)
    source_file: str | None = field(default=None, compare=False)
    content_hash: str = field(default="", compare=False)
    #: The file's tables as JSON, so saved results can rebuild the scenario they came from.
    source_json: str = field(default="", compare=False, repr=False)

    def __post_init__(self):
        for name in ("segments", "motions", "touch_models", "stages", "stresses"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    # -- the input registry -------------------------------------------------------------
    def inputs(self) -> dict[str, Distribution]:
        """Every numeric input by dotted path, in a fixed order (the sampling order)."""
        return dict(self._registry)

    @functools.cached_property
    def _registry(self) -> dict[str, Distribution]:
        # Walked once: sampling asks for it every block of draws (a hundred times at a
        # million draws), and a scenario never changes.
        return dict(_walk(self, ""))

    def uncertain_inputs(self) -> dict[str, Distribution]:
        return {p: d for p, d in self.inputs().items() if not d.is_fixed}

    def match_inputs(self, pattern: str) -> list[str]:
        """Dotted paths of the inputs a (wildcard) pattern names."""
        return [p for p in self.inputs() if fnmatch.fnmatchcase(p, pattern)]

    def with_inputs(self, changes: Mapping[str, Callable[[Distribution], Distribution] | Distribution]):
        """A copy with some inputs replaced (a Distribution) or transformed (a function)."""
        result = self
        for path, change in changes.items():
            result = _replace(result, path.split("."), change, path)
        # The source tables no longer describe the changed scenario.
        return dataclasses.replace(result, source_json="") if changes else result

    @property
    def segment_names(self) -> tuple[str, ...]:
        return tuple(self.segments)

    @property
    def motion_names(self) -> tuple[str, ...]:
        return tuple(self.motions)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(self.stages)


# Fields that are structure, not numbers: never part of the input registry.
_SKIP = {"source_file", "content_hash", "correlations", "stresses", "thresholds"}


def _walk(obj, prefix: str) -> Iterator[tuple[str, Distribution]]:
    if isinstance(obj, Distribution):
        yield prefix, obj
    elif dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name in _SKIP:
                continue
            yield from _walk(getattr(obj, f.name), f"{prefix}.{f.name}" if prefix else f.name)
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _walk(value, f"{prefix}.{key}" if prefix else key)


def _replace(obj, parts: list[str], change, full_path: str):
    if not parts:
        if not isinstance(obj, Distribution):
            raise KeyError(f"{full_path} is not a numeric input")
        return change(obj) if callable(change) and not isinstance(change, Distribution) else change
    head, rest = parts[0], parts[1:]
    if isinstance(obj, Mapping):
        if head not in obj:
            raise KeyError(f"{full_path}: no input named {head!r}")
        new = dict(obj)
        new[head] = _replace(obj[head], rest, change, full_path)
        return FrozenMap(new)
    if dataclasses.is_dataclass(obj) and head in {f.name for f in dataclasses.fields(obj)}:
        return dataclasses.replace(obj, **{head: _replace(getattr(obj, head), rest, change, full_path)})
    raise KeyError(f"{full_path}: no input named {head!r}")
