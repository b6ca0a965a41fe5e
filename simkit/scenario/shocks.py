"""Shocks: change scenario inputs by dotted path (wildcards allowed) by scaling, shifting
or setting them, and the built-in stress suites.

How an operation acts on an uncertain input (its distribution keeps its family):

=============  =====================================================  ===========================
distribution   scale by f                                             shift by d
=============  =====================================================  ===========================
fixed          value x f                                              value + d
beta           mean x f, concentration kept                           mean + d, concentration kept
lognormal      median x f, sigma kept                                 median + d, sigma kept
range (rate)   median x f, spread on the logit scale kept             median + d, spread kept
pert, tri,     every point (min, mode, max) x f                       every point + d
uniform
normal         mean x f and sd x f                                    mean + d
=============  =====================================================  ===========================

Results are kept inside the field's valid range: a rate scaled past 100% is capped (a
beta's mean just below 1, a PERT's points at 1), an amount scaled below 0 floored at 0,
and a field that must stay above its lower bound (a cost per lead, an ACV, a gross margin,
an expansion rate above -100%) is kept just above it.
``set`` replaces the input with the given number or distribution.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from scipy import special

from .distributions import Beta, Distribution, Fixed, LogitNormal, LogNormal, Normal, Pert, Triangular, Uniform
from .load import DOMAINS, _domain_of
from .model import Scenario, Shock, Stress

__all__ = ["apply_shock", "apply_stress", "shock_distribution", "standard_suite", "SUITES"]

# Keep capped rates strictly inside (0, 1), where beta and logit are defined.
_RATE_EDGE = 1e-9
# How far inside an open lower bound a result is kept (a cost per lead or ACV scaled by 0,
# a gross margin shifted below 0): the field excludes the bound itself, and the engine
# divides by some of these fields.
_OPEN_EDGE = 1e-9


def _bounds(path: str) -> tuple[float, float]:
    low, high, open_low, _ = DOMAINS[_domain_of(path)]
    if open_low:
        low += _OPEN_EDGE * max(1.0, abs(low))
    return low, high


def shock_distribution(dist: Distribution, operation: str, value, path: str) -> Distribution:
    """The distribution of the input at ``path`` after one shock (see the module table)."""
    if operation == "set":
        return value if isinstance(value, Distribution) else Fixed(float(value))
    if operation not in ("scale", "shift"):
        raise ValueError(f"unknown shock operation {operation!r}; expected scale, shift or set")
    low, high = _bounds(path)
    value = float(value)
    if operation == "scale" and value == 1.0 or operation == "shift" and value == 0.0:
        return dist  # no change, bit for bit
    move = (lambda x: x * value) if operation == "scale" else (lambda x: x + value)
    clip = lambda x: min(max(x, low), high)  # noqa: E731
    source = f"{dist.describe()} {'x' if operation == 'scale' else '+'} {value:g}"
    if isinstance(dist, Fixed):
        return Fixed(clip(move(dist.value)), source=source)
    if isinstance(dist, Beta):
        concentration = dist.alpha + dist.beta
        mean = min(max(move(dist.mean()), _RATE_EDGE), 1.0 - _RATE_EDGE)
        return Beta.from_mean(mean, concentration, source=source)
    if isinstance(dist, LogNormal):
        median = max(move(math.exp(dist.mu)), low, 1e-12)
        return LogNormal(math.log(median), dist.sigma, source=source)
    if isinstance(dist, LogitNormal):
        median = min(max(move(float(special.expit(dist.mu))), _RATE_EDGE), 1.0 - _RATE_EDGE)
        return LogitNormal(float(special.logit(median)), dist.sigma, source=source)
    if isinstance(dist, Pert | Triangular):
        points = sorted(clip(move(x)) for x in (dist.low, dist.mode, dist.high))
        if points[0] == points[2]:
            return Fixed(points[0], source=source)
        if isinstance(dist, Pert):
            return Pert(points[0], points[1], points[2], dist.shape, source=source)
        return Triangular(points[0], points[1], points[2], source=source)
    if isinstance(dist, Uniform):
        points = sorted(clip(move(x)) for x in (dist.low, dist.high))
        return Fixed(points[0], source=source) if points[0] == points[1] else Uniform(*points, source=source)
    if isinstance(dist, Normal):
        scale = dist.scale * abs(value) if operation == "scale" else dist.scale
        if scale == 0:
            return Fixed(clip(move(dist.loc)), source=source)
        return Normal(move(dist.loc), scale, dist.low, dist.high, source=source)
    raise TypeError(f"cannot shock a {type(dist).__name__}")


def apply_shock(scenario: Scenario, shock: Shock) -> Scenario:
    """A copy of ``scenario`` with one shock applied to every input its pattern matches."""
    paths = scenario.match_inputs(shock.input)
    if not paths:
        raise KeyError(f"shock input {shock.input!r} matches no input of scenario {scenario.name!r}")
    changes = {p: (lambda d, p=p: shock_distribution(d, shock.operation, shock.value, p)) for p in paths}
    return scenario.with_inputs(changes)


def apply_stress(scenario: Scenario, stress: Stress) -> Scenario:
    """A copy of ``scenario`` with every shock of ``stress`` applied, in order.

    A shock whose pattern matches nothing in this scenario (e.g. ``monthly_churn`` in a
    file that writes annual churn) is skipped: suites are written for any scenario.
    """
    result = scenario
    for shock in stress.shocks:
        if result.match_inputs(shock.input):
            result = apply_shock(result, shock)
    if result is not scenario:
        result = dataclasses.replace(result, name=f"{scenario.name} [{stress.name}]")
    return result


def _stress(name: str, description: str, shocks: Iterable[tuple[str, str, float]]) -> Stress:
    return Stress(name, description, tuple(Shock(p, op, v) for p, op, v in shocks))


_CHURN = ("segments.*.annual_churn", "segments.*.monthly_churn")
_EXPANSION = ("segments.*.annual_expansion", "segments.*.monthly_expansion")
_BUDGETS = ("allocation.budget_per_month.*", "stages.*.allocation.budget_per_month.*")


def standard_suite() -> dict[str, Stress]:
    """The built-in stresses: what a board asks "and if it goes wrong?" about."""
    return {
        "churn_x1.5": _stress("churn_x1.5", "Logo churn 50% higher in every segment",
                              [(p, "scale", 1.5) for p in _CHURN]),
        "conversion_x0.7": _stress("conversion_x0.7", "Lead-to-won conversion 30% lower in every motion",
                                   [("motions.*.conversion", "scale", 0.7)]),
        "expansion_x0.5": _stress("expansion_x0.5", "Expansion of surviving revenue halved",
                                  [(p, "scale", 0.5) for p in _EXPANSION]),
        "acv_x0.8": _stress("acv_x0.8", "Deal sizes (ACV) 20% smaller",
                            [("segments.*.acv", "scale", 0.8), ("segments.*.starting_acv", "scale", 0.8)]),
        "sales_cycle_plus3": _stress("sales_cycle_plus3", "Sales cycles 3 months longer",
                                     [("motions.*.sales_cycle_months", "shift", 3.0)]),
        "budget_x0.75": _stress("budget_x0.75", "Acquisition budgets cut by a quarter",
                                [(p, "scale", 0.75) for p in _BUDGETS]),
        "bad_year": _stress("bad_year", "A bad year: churn up 30%, conversion down 20% and expansion down 40%, "
                            "together", [*((p, "scale", 1.3) for p in _CHURN), ("motions.*.conversion", "scale", 0.8),
                                         *((p, "scale", 0.6) for p in _EXPANSION)]),
    }


SUITES = {"standard": standard_suite}
