"""Shared fixtures: small scenarios built from nested dicts (``simkit.scenario.from_dict``)."""

from __future__ import annotations

import copy

import pytest

from simkit.scenario import from_dict

#: A minimal valid scenario: one SMB segment won by one self-serve motion, fixed inputs.
BASE = {
    "scenario": {"name": "test", "horizon_months": 12, "draws": 1000, "seed": 7},
    "company": {"starting_cash": 1_000_000, "fixed_opex_per_month": 10_000},
    "segments": {
        "smb": {"acv": 2_400, "gross_margin": 0.8, "annual_churn": 0.2, "starting_customers": 100},
    },
    "motions": {"self_serve": {"segment": "smb", "cost_per_lead": 100, "conversion": 0.1}},
    "allocation": {"budget_per_month": {"self_serve": 10_000}},
}

DELETE = object()  # an override value that removes the key


def merge(base: dict, overrides: dict) -> dict:
    """Deep-merge ``overrides`` into a copy of ``base``; a value of DELETE removes the key,
    a value that is not a dict replaces the base value (dicts merge key by key)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def scenario_dict(overrides: dict | None = None, *, base: dict | None = None) -> dict:
    return merge(BASE if base is None else base, overrides or {})


def make(overrides: dict | None = None, *, base: dict | None = None):
    """A Scenario: BASE (or ``base``) with ``overrides`` deep-merged in."""
    return from_dict(scenario_dict(overrides, base=base))


make.DELETE = DELETE
make.dict = scenario_dict


@pytest.fixture(scope="session")
def make_scenario():
    """``make_scenario(overrides, base=None)`` -> Scenario (see :func:`make`).

    ``make_scenario.DELETE`` as an override value removes a key; ``make_scenario.dict``
    returns the merged dict instead of the Scenario.
    """
    return make
