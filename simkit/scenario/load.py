"""Read a scenario file (TOML) into a validated :class:`~simkit.scenario.model.Scenario`.

Validation collects every problem in the file before it reports, and each problem names
the dotted path of the field, the value found and what was expected. Unknown keys are
errors with a did-you-mean suggestion: a misspelt ``anual_churn`` silently ignored would
let a board see numbers built on a default the analyst never chose.
"""

from __future__ import annotations

import contextvars
import difflib
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Problem, ScenarioError
from . import defaults
from .distributions import (
    _Z80,
    _Z90,
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
from .model import (
    THRESHOLD_METRICS,
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

__all__ = ["load", "from_dict", "validate_file", "DOMAINS"]

# Anything larger is a typo (an extra zero or three), not a plan.
_HUGE_MONEY = 1e13
_HUGE_COUNT = 1e9
# Below this a beta shape parameter is a point mass in all but name, and its quantiles
# (scipy's betaincinv) stop being accurate; products like mean x concentration can even
# underflow to 0, which gives NaN draws.
_MIN_BETA_SHAPE = 1e-6
# The smallest uniform simkit's sampler feeds an inverse CDF (simkit.sample).
_SMALLEST_UNIFORM = 2.0**-54
# A scenario is a few kilobytes; anything this large is the wrong file.
_MAX_FILE_BYTES = 16 * 1024 * 1024

#: Valid range of each kind of field: (low, high, low is open, what to tell the analyst).
DOMAINS: Mapping[str, tuple[float, float, bool, str]] = {
    "fraction": (0.0, 1.0, False, "a fraction between 0 and 1 (e.g. 0.07 for 7%)"),
    "positive_fraction": (0.0, 1.0, True, "a fraction above 0 and at most 1 (e.g. 0.8 for 80%)"),
    "money": (0.0, _HUGE_MONEY, False, "an amount of money, 0 or more"),
    "positive_money": (0.0, _HUGE_MONEY, True, "an amount of money above 0"),
    "count": (0.0, _HUGE_COUNT, False, "a count, 0 or more"),
    "months": (0.0, 120.0, False, "a number of months between 0 and 120"),
    "growth_rate": (-1.0, 100.0, True, "a growth rate above -1 (e.g. 0.15 for 15% a year)"),
    "multiplier": (0.0, 1000.0, False, "a multiplier, 0 or more (1 means no change)"),
}

_DISTRIBUTION_KINDS = ("beta", "lognormal", "pert", "triangular", "normal", "uniform", "range")


def _number_text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        digits = str(abs(value))
        return f"{'-' if value < 0 else ''}{digits[:6]}... (a number with {len(digits)} digits)"
    if isinstance(value, str):
        return repr(value) if len(value) < 60 else repr(value[:57] + "...")
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _to_float(value: int | float) -> float:
    """``float(value)``, with integers too large for a float becoming +-inf (not OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


# Name comparisons the did-you-mean suggestions of one scenario may make. difflib costs
# 10-50 microseconds a comparison; a generated file with thousands of names and a
# systematic typo would otherwise take minutes to validate (3,000 motions naming a missing
# segment: 9 million comparisons). Later typos are still reported, without a suggestion.
_SUGGEST_BUDGET = 20_000
_suggestions_left: contextvars.ContextVar[int | None] = contextvars.ContextVar("simkit_suggestions_left",
                                                                              default=None)


def _suggest(word: str, options) -> str:
    word, options = str(word), [str(o) for o in options]
    if len(word) > 200:
        return ""  # nobody mistypes 200 characters; and difflib is quadratic in length
    left = _suggestions_left.get()
    if left is not None:
        if left < len(options):
            return ""
        _suggestions_left.set(left - len(options))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _listing(names, limit: int = 20) -> str:
    """``a, b, c`` for a message; the first ``limit`` names of a long list and how many more."""
    names = [_shown_key(n) for n in names]
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])}, ... ({len(names) - limit:,} more)"


class _Reader:
    """Walks the raw TOML tables, turning values into typed objects and collecting problems."""

    def __init__(self):
        self.problems: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        # Keys come from the file: a control character or a megabyte-long key must not
        # garble the terminal report, nor forge lines in it.
        if len(path) > 80:
            path = ".".join(_shown_key(part) for part in path.split("."))
        self.problems.append(Problem(_printable(path), message))

    # -- structure ------------------------------------------------------------------------
    def table(self, node: Any, path: str, allowed: tuple[str, ...] | None = None) -> dict:
        """A table (dict); unknown keys reported. Returns {} when the node is not a table."""
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            self.error(path, f"got {_number_text(node)}; expected a table of settings")
            return {}
        if allowed is not None:
            for key in node:
                if key not in allowed:
                    where = f"{path}.{_shown_key(key)}" if path else _shown_key(key)
                    self.error(
                        where,
                        f"unknown setting{_suggest(key, allowed)}; "
                        f"allowed here: {', '.join(allowed)}",
                    )
        return dict(node)

    def named_tables(self, node: Any, path: str) -> dict[str, dict]:
        tables = self.table(node, path)
        result = {}
        for name, value in tables.items():
            if not _is_identifier(name):
                self.error(
                    f"{path}.{_shown_key(name)}",
                    "names must be letters, digits and underscores, starting with a letter "
                    "(e.g. mid_market)",
                )
                continue
            if not isinstance(value, Mapping):
                self.error(f"{path}.{name}", f"got {_number_text(value)}; expected a table")
                continue
            result[name] = value
        return result

    def text(self, node: Any, path: str, default: str | None = None, required=False):
        if node is None:
            if required:
                self.error(path, "is required (text)")
            return default
        if not isinstance(node, str):
            self.error(path, f"got {_number_text(node)}; expected text in quotes")
            return default
        bad = next((c for c in node if _is_forbidden_char(c)), None)
        if bad is not None:
            # A NUL cannot be stored in results.nc (HDF5 strings end at NUL), and escape
            # sequences would garble (or forge) terminal output.
            self.error(path, f"contains the control character U+{ord(bad):04X}; expected printable text "
                       "(tabs and line breaks are fine)")
            return default
        return node

    def integer(self, node: Any, path: str, default: int, low: int, high: int) -> int:
        if node is None:
            return default
        if isinstance(node, bool) or not isinstance(node, int | float):
            self.error(path, f"got {_number_text(node)}; expected a whole number from {low:,} to {high:,}")
            return default
        if isinstance(node, float) and (not math.isfinite(node) or node != int(node)):
            self.error(path, f"got {node!r}; expected a whole number from {low:,} to {high:,}")
            return default
        if not low <= node <= high:
            shown = (f"{int(node):,}" if abs(node) < 10**20 else
                     repr(node) if isinstance(node, float) else _number_text(node))
            self.error(path, f"got {shown}; expected a whole number from {low:,} to {high:,}")
            return default
        return int(node)

    def number(self, node: Any, path: str, domain: str) -> float | None:
        """A plain finite number inside ``domain``; None (and a problem) otherwise."""
        low, high, open_low, expected = DOMAINS[domain]
        if isinstance(node, bool) or not isinstance(node, int | float):
            self.error(path, f"got {_number_text(node)}; expected {expected}")
            return None
        value = _to_float(node)
        if isinstance(node, float) and not math.isfinite(value):
            self.error(path, f"got {node!r}; expected {expected} (NaN and infinity are not allowed)")
            return None
        if value < low or (open_low and value == low) or value > high:
            self.error(path, f"got {_number_text(node)}; expected {expected}{_range_hint(domain, value)}")
            return None
        return value

    def raw_number(self, node: Any, path: str, what: str, positive=False) -> float | None:
        """A finite number without a domain (distribution parameters)."""
        if isinstance(node, bool) or not isinstance(node, int | float):
            self.error(path, f"got {_number_text(node)}; expected {what}")
            return None
        if isinstance(node, float) and not math.isfinite(node):
            self.error(path, f"got {node!r}; expected {what} (NaN and infinity are not allowed)")
            return None
        if abs(_to_float(node)) > _HUGE_MONEY:
            self.error(path, f"got {_number_text(node)}; expected {what} (this is implausibly large)")
            return None
        if positive and node <= 0:
            self.error(path, f"got {node!r}; expected {what} above 0")
            return None
        return float(node)

    # -- uncertain numbers ----------------------------------------------------------------
    def uncertain(self, node: Any, path: str, domain: str, default: float | None = None,
                  required: bool = False) -> Distribution | None:
        if node is None:
            if required:
                self.error(path, f"is required: {DOMAINS[domain][3]}, or a distribution")
                return None
            return None if default is None else Fixed(float(default))
        if isinstance(node, Mapping):
            return self.distribution(node, path, domain)
        if isinstance(node, list):
            self.error(path, f"got a list; expected {DOMAINS[domain][3]}, or a distribution "
                       "such as {{ range = [low, high] }}")
            return None
        value = self.number(node, path, domain)
        return None if value is None else Fixed(value)

    def distribution(self, node: Mapping, path: str, domain: str) -> Distribution | None:
        kinds = [k for k in node if k in _DISTRIBUTION_KINDS]
        unknown = [k for k in node if k not in _DISTRIBUTION_KINDS]
        for key in unknown:
            self.error(f"{path}.{key}", "unknown distribution" + _suggest(key, _DISTRIBUTION_KINDS)
                       + f"; expected one of: {', '.join(_DISTRIBUTION_KINDS)}")
        if unknown:
            return None
        if len(kinds) != 1:
            self.error(path, "expected exactly one distribution, e.g. "
                       "{ beta = { mean = 0.1, concentration = 100 } }")
            return None
        kind = kinds[0]
        params = node[kind]
        sub = f"{path}.{kind}"
        before = len(self.problems)
        dist = getattr(self, f"_dist_{kind}")(params, sub, domain)
        if dist is None or len(self.problems) > before:
            return None
        return self._check_support(dist, path, domain)

    def _params(self, params: Any, path: str, names: tuple[str, ...], required: tuple[str, ...]):
        table = self.table(params, path, names)
        if not isinstance(params, Mapping):
            return None
        missing = [n for n in required if n not in table]
        if missing:
            self.error(path, f"missing {', '.join(missing)}")
            return None
        return table

    def _dist_beta(self, params, path, domain):
        table = self._params(params, path, ("mean", "concentration", "alpha", "beta"), ())
        if table is None:
            return None
        if {"mean", "concentration"} <= table.keys() and not {"alpha", "beta"} & table.keys():
            mean = self.raw_number(table["mean"], f"{path}.mean", "a mean strictly between 0 and 1")
            conc = self.raw_number(table["concentration"], f"{path}.concentration",
                                   "a concentration (alpha + beta)", positive=True)
            if mean is not None and not 0 < mean < 1:
                self.error(f"{path}.mean", f"got {mean!r}; expected a mean strictly between 0 and 1")
                return None
            if mean is None or conc is None:
                return None
            dist = Beta.from_mean(mean, conc, source=f"beta(mean {mean:g}, concentration {conc:g})")
            return self._beta_shape_ok(dist, path, "mean x concentration", "(1 - mean) x concentration")
        if {"alpha", "beta"} <= table.keys() and not {"mean", "concentration"} & table.keys():
            a = self.raw_number(table["alpha"], f"{path}.alpha", "alpha", positive=True)
            b = self.raw_number(table["beta"], f"{path}.beta", "beta", positive=True)
            if a is None or b is None:
                return None
            return self._beta_shape_ok(Beta(a, b, source=f"beta(alpha {a:g}, beta {b:g})"), path, "alpha", "beta")
        self.error(path, "expected either mean and concentration, or alpha and beta")
        return None

    def _beta_shape_ok(self, dist: Beta, path: str, a_name: str, b_name: str) -> Beta | None:
        """Refuse shape parameters so small that the beta cannot be sampled (a product that
        underflows to 0 gives NaN draws; below about 1e-6 the quantiles lose all accuracy)."""
        for name, value in ((a_name, dist.alpha), (b_name, dist.beta)):
            if not value >= _MIN_BETA_SHAPE:
                self.error(path, f"{name} is {value:.3g}; a beta needs both shape parameters of at least "
                           f"{_MIN_BETA_SHAPE:g} (this one is a point mass at 0 or 1: write the number instead)")
                return None
        return dist

    def _dist_lognormal(self, params, path, domain):
        table = self._params(params, path, ("median", "sigma", "p10", "p90"), ())
        if table is None:
            return None
        if {"median", "sigma"} <= table.keys() and not {"p10", "p90"} & table.keys():
            median = self.raw_number(table["median"], f"{path}.median", "a median", positive=True)
            sigma = self.raw_number(table["sigma"], f"{path}.sigma", "a sigma (spread of the log)",
                                    positive=True)
            if sigma is not None and sigma > 5:
                self.error(f"{path}.sigma", f"got {sigma!r}; expected a sigma of at most 5")
                return None
            if median is None or sigma is None:
                return None
            return LogNormal.from_median(median, sigma, source=f"lognormal(median {median:g}, sigma {sigma:g})")
        if {"p10", "p90"} <= table.keys() and not {"median", "sigma"} & table.keys():
            p10 = self.raw_number(table["p10"], f"{path}.p10", "a 10th percentile", positive=True)
            p90 = self.raw_number(table["p90"], f"{path}.p90", "a 90th percentile", positive=True)
            if p10 is None or p90 is None:
                return None
            if not p10 < p90:
                self.error(path, f"p10 ({p10:g}) must be below p90 ({p90:g})")
                return None
            dist = LogNormal.from_quantiles(p10, p90, _Z80, source=f"lognormal(p10 {p10:g}, p90 {p90:g})")
            if dist.sigma > 5:
                self.error(path, f"p10 {p10:g} and p90 {p90:g} are too far apart: they imply a sigma of "
                           f"{dist.sigma:.3g}; expected at most 5 (p90 / p10 at most about 370,000)")
                return None
            return dist
        self.error(path, "expected either median and sigma, or p10 and p90")
        return None

    def _three_points(self, params, path, extra=()):
        table = self._params(params, path, ("min", "mode", "max", *extra), ("min", "mode", "max"))
        if table is None:
            return None
        low = self.raw_number(table["min"], f"{path}.min", "a minimum")
        mode = self.raw_number(table["mode"], f"{path}.mode", "a most likely value")
        high = self.raw_number(table["max"], f"{path}.max", "a maximum")
        if None in (low, mode, high):
            return None
        if not (low <= mode <= high and low < high):
            self.error(path, f"expected min <= mode <= max with min < max; got min {low:g}, "
                       f"mode {mode:g}, max {high:g}")
            return None
        return table, low, mode, high

    def _dist_pert(self, params, path, domain):
        got = self._three_points(params, path, extra=("shape",))
        if got is None:
            return None
        table, low, mode, high = got
        shape = 4.0
        if "shape" in table:
            shape = self.raw_number(table["shape"], f"{path}.shape", "a shape (4 is standard PERT)", positive=True)
            if shape is None:
                return None
        return Pert(low, mode, high, shape, source=f"pert(min {low:g}, mode {mode:g}, max {high:g})")

    def _dist_triangular(self, params, path, domain):
        got = self._three_points(params, path)
        if got is None:
            return None
        _, low, mode, high = got
        return Triangular(low, mode, high, source=f"triangular(min {low:g}, mode {mode:g}, max {high:g})")

    def _dist_uniform(self, params, path, domain):
        table = self._params(params, path, ("min", "max"), ("min", "max"))
        if table is None:
            return None
        low = self.raw_number(table["min"], f"{path}.min", "a minimum")
        high = self.raw_number(table["max"], f"{path}.max", "a maximum")
        if low is None or high is None:
            return None
        if not low < high:
            self.error(path, f"min ({low:g}) must be below max ({high:g})")
            return None
        return Uniform(low, high, source=f"uniform(min {low:g}, max {high:g})")

    def _dist_normal(self, params, path, domain):
        table = self._params(params, path, ("mean", "sd", "min", "max"), ("mean", "sd"))
        if table is None:
            return None
        mean = self.raw_number(table["mean"], f"{path}.mean", "a mean")
        sd = self.raw_number(table["sd"], f"{path}.sd", "a standard deviation", positive=True)
        dlow, dhigh, _, _ = DOMAINS[domain]
        low = self.raw_number(table["min"], f"{path}.min", "a lower bound") if "min" in table else dlow
        high = self.raw_number(table["max"], f"{path}.max", "an upper bound") if "max" in table else dhigh
        if None in (mean, sd, low, high):
            return None
        low, high = max(low, dlow), min(high, dhigh)
        if not low < high:
            self.error(path, f"the bounds leave nothing: min {low:g} is not below max {high:g}")
            return None
        dist = Normal(mean, sd, low, high, source=f"normal(mean {mean:g}, sd {sd:g})")
        lo, hi = dist._cdf_bounds
        if hi - lo < 1e-6:
            self.error(path, f"mean {mean:g} with sd {sd:g} puts almost no probability inside "
                       f"[{low:g}, {high:g}]; {DOMAINS[domain][3]} was expected")
            return None
        return dist

    def _dist_range(self, params, path, domain):
        if not (isinstance(params, list) and len(params) == 2):
            self.error(path, f"got {_number_text(params)}; expected [low, high], a 90% range "
                       "(5% chance below low, 5% above high)")
            return None
        low = self.raw_number(params[0], f"{path}[0]", "a low value")
        high = self.raw_number(params[1], f"{path}[1]", "a high value")
        if low is None or high is None:
            return None
        if not low < high:
            self.error(path, f"low ({low:g}) must be below high ({high:g})")
            return None
        dlow, dhigh, open_low, expected = DOMAINS[domain]
        source = f"range [{low:g}, {high:g}]"
        if low < dlow or (open_low and low == dlow) or high > dhigh:
            self.error(path, f"got [{low:g}, {high:g}]; both ends must be {expected}")
            return None
        if domain in ("fraction", "positive_fraction"):
            if not (0 < low and high < 1):
                self.error(path, f"got [{low:g}, {high:g}]; a range on a rate needs 0 < low < high < 1")
                return None
            return LogitNormal.from_quantiles(low, high, _Z90, source=source)
        if dlow >= 0 and low > 0 and dhigh >= _HUGE_COUNT:
            return LogNormal.from_quantiles(low, high, _Z90, source=source)
        # Anything else (a growth rate, a number of months, a multiplier, or a range that
        # starts at 0) is a normal with the same 5% / 95% points, truncated to the field's
        # valid range: a lognormal has no upper limit, which months and multipliers have.
        mean, sd = 0.5 * (low + high), (high - low) / (2 * _Z90)
        return Normal(mean, sd, dlow, dhigh, source=source)

    def _check_support(self, dist: Distribution, path: str, domain: str) -> Distribution | None:
        dlow, dhigh, open_low, expected = DOMAINS[domain]
        slow, shigh = dist.support
        if isinstance(dist, LogNormal) and dhigh < _HUGE_COUNT:
            self.error(path, f"a lognormal has no upper limit, but this field must be {expected}; "
                       "use beta, pert, triangular, uniform or range")
            return None
        if domain == "positive_money":
            # The engine divides by these (leads = spend / cost per lead): a draw that
            # rounds to 0 would divide by zero. Check the smallest value the sampler can
            # produce (uniforms start at 2**-54), not only the distribution's support.
            smallest = float(dist.ppf(np.array([_SMALLEST_UNIFORM]))[0])
            if not smallest > 0:
                self.error(path, f"{dist.describe()} can take the value 0 (its lowest draws round to 0); "
                           f"expected {expected}")
                return None
        if isinstance(dist, LogNormal):
            if dist.quantile(0.999) > dhigh:
                self.error(path, f"{dist.describe()} reaches implausibly large values; expected {expected}")
                return None
            return dist
        if slow < dlow or shigh > dhigh or (open_low and slow == dlow and not isinstance(dist, Normal | Beta)):
            self.error(path, f"{dist.describe()} can take values outside the valid range; expected {expected}")
            return None
        return dist


def _range_hint(domain: str, value: float | None = None) -> str:
    """A hint on why a number is out of range; only the one that fits the side it is on."""
    above = value is None or value > DOMAINS[domain][1]
    if domain in ("fraction", "positive_fraction") and above:
        return " (rates are written as fractions: 7% is 0.07)"
    if domain in ("money", "positive_money") and above:
        return " (values above 10 trillion are taken to be a typo)"
    if domain == "count" and above:
        return " (values above 1 billion are taken to be a typo)"
    return ""


def _is_forbidden_char(c: str) -> bool:
    """Control characters other than tab and line breaks, and lone surrogates."""
    code = ord(c)
    return (code < 32 and c not in "\t\n\r") or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def _printable(text: str) -> str:
    """``text`` with non-printable characters escaped (``\\x00``, ``\\u202e``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _shown_key(key: Any) -> str:
    """A key as it appears in a dotted path: printable, and shortened when absurdly long."""
    text = str(key)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text):,} characters)"


def _is_identifier(name: str) -> bool:
    return isinstance(name, str) and bool(name) and name[0].isalpha() and all(c.isalnum() or c == "_" for c in name) and name.isascii()


# -- sections ------------------------------------------------------------------------------
_SCENARIO_KEYS = ("name", "description", "currency", "horizon_months", "draws", "seed", "ltv_window_months")
_COMPANY_KEYS = ("stage", "starting_cash", "fixed_opex_per_month")
_SEGMENT_KEYS = (
    "acv", "starting_acv", "gross_margin", "annual_churn", "monthly_churn", "annual_expansion",
    "monthly_expansion", "cost_to_serve_per_year", "touch_model", "starting_customers",
    "benchmark", "thresholds",
)
_MOTION_KEYS = (
    "segment", "kind", "cost_per_lead", "conversion", "sales_cost_per_won", "sales_cycle_months",
    "cost_per_head_per_year",
)
_TOUCH_KEYS = ("accounts_per_csm", "csm_cost_per_year", "tooling_cost_per_account_per_year",
               "uncovered_churn_multiplier")
_ALLOCATION_KEYS = ("budget_per_month", "headcount", "csms")
_STAGE_KEYS = ("arr_from", "allocation")
_TOP_KEYS = ("scenario", "company", "segments", "motions", "touch_models", "allocation", "stages",
             "correlations", "stresses")
_TOUCH_DOMAINS = {
    "accounts_per_csm": "count",
    "csm_cost_per_year": "money",
    "tooling_cost_per_account_per_year": "money",
    "uncovered_churn_multiplier": "multiplier",
}


def from_dict(data: Mapping[str, Any], *, file: str | None = None, name: str | None = None) -> Scenario:
    """Validate a scenario given as nested dicts (the parsed TOML) and build a Scenario.

    Parameters
    ----------
    data : mapping
        The scenario's tables, as ``tomllib`` returns them.
    file : str, optional
        File name used in error messages.
    name : str, optional
        Name to use when ``scenario.name`` is absent (``load`` passes the file's stem).

    Raises
    ------
    ScenarioError
        With every problem found, each naming its dotted field path.
    """
    token = _suggestions_left.set(_SUGGEST_BUDGET)
    try:
        return _from_dict(data, file=file, name=name)
    finally:
        _suggestions_left.reset(token)


def _from_dict(data: Mapping[str, Any], *, file: str | None = None, name: str | None = None) -> Scenario:
    """The body of :func:`from_dict`."""
    r = _Reader()
    top = r.table(data, "", _TOP_KEYS)

    meta = r.table(top.get("scenario"), "scenario", _SCENARIO_KEYS)
    scenario_name = r.text(meta.get("name"), "scenario.name", default=name or "scenario")
    description = r.text(meta.get("description"), "scenario.description", default="")
    currency = r.text(meta.get("currency"), "scenario.currency", default="USD")
    if currency is not None and not (len(currency) == 3 and currency.isascii() and currency.isalpha()
                                     and currency.isupper()):
        r.error("scenario.currency",
                f"got {_number_text(currency)}; expected a three-letter currency code such as USD")
    horizon = r.integer(meta.get("horizon_months"), "scenario.horizon_months", defaults.DEFAULT_HORIZON_MONTHS, 1, 600)
    draws = r.integer(meta.get("draws"), "scenario.draws", defaults.DEFAULT_DRAWS, 1, 100_000_000)
    seed = r.integer(meta.get("seed"), "scenario.seed", defaults.DEFAULT_SEED, 0, 2**63 - 1)
    window = r.integer(meta.get("ltv_window_months"), "scenario.ltv_window_months",
                       defaults.DEFAULT_LTV_WINDOW_MONTHS, 1, 600)

    # Touch models: built-ins, overridable key by key, plus the scenario's own.
    touch_raw = r.named_tables(top.get("touch_models"), "touch_models")
    touch_models: dict[str, TouchModel] = {}
    for tname in dict.fromkeys([*defaults.DEFAULT_TOUCH_MODELS, *touch_raw]):
        base = defaults.DEFAULT_TOUCH_MODELS.get(tname, {})
        given = r.table(touch_raw.get(tname), f"touch_models.{tname}", _TOUCH_KEYS)
        fields = {}
        for key, domain in _TOUCH_DOMAINS.items():
            fields[key] = r.uncertain(given.get(key), f"touch_models.{tname}.{key}", domain,
                                      default=base.get(key), required=key not in base and key != "uncovered_churn_multiplier")
        fields["uncovered_churn_multiplier"] = fields["uncovered_churn_multiplier"] or Fixed(1.0)
        if None not in fields.values():
            touch_models[tname] = TouchModel(tname, **fields)

    segments_raw = r.named_tables(top.get("segments"), "segments")
    if not segments_raw and not any(p.path.startswith("segments") for p in r.problems):
        r.error("segments", "at least one segment is required, e.g. [segments.smb]")
    segments: dict[str, Segment] = {}
    for sname, raw in segments_raw.items():
        seg = _segment(r, sname, raw, touch_models)
        if seg is not None:
            segments[sname] = seg

    motions_raw = r.named_tables(top.get("motions"), "motions")
    # Cross-references check against every name the file declares, even one whose own
    # table is broken: that problem is already reported, and "no such segment" on top
    # of it would send the analyst looking for a typo that is not there.
    segment_names = _declared(top.get("segments"), segments_raw)
    motion_names = _declared(top.get("motions"), motions_raw)
    motions: dict[str, Motion] = {}
    for mname, raw in motions_raw.items():
        motion = _motion(r, mname, raw, segment_names)
        if motion is not None:
            motions[mname] = motion

    allocation = _allocation(r, top.get("allocation"), "allocation", motion_names, segment_names, motions)

    company_raw = r.table(top.get("company"), "company", _COMPANY_KEYS)
    stages = _stages(r, top.get("stages"), motion_names, segment_names, motions)
    stage = r.text(company_raw.get("stage"), "company.stage")
    if stage is not None and stage not in stages and not any(
        q.path.startswith(f"stages.{stage}") for q in r.problems
    ):
        r.error("company.stage", f"got {_number_text(stage)}; expected one of: {_listing(stages)}"
                f"{_suggest(stage, stages)}")
    company = Company(
        stage=stage,
        starting_cash=r.uncertain(company_raw.get("starting_cash"), "company.starting_cash", "money", default=0),
        fixed_opex_per_month=r.uncertain(company_raw.get("fixed_opex_per_month"),
                                         "company.fixed_opex_per_month", "money", default=0),
    )

    if not r.problems:
        draft = Scenario(
            name=scenario_name, description=description, currency=currency, horizon_months=horizon,
            draws=draws, seed=seed, ltv_window_months=window, company=company, segments=segments,
            motions=motions, touch_models=touch_models, allocation=allocation, stages=stages,
        )
        correlations = _correlations(r, top.get("correlations"), draft)
        stresses = _stresses(r, top.get("stresses"), draft)
    if r.problems:
        raise ScenarioError(r.problems, file=file)
    return Scenario(
        name=scenario_name, description=description, currency=currency, horizon_months=horizon,
        draws=draws, seed=seed, ltv_window_months=window, company=company, segments=segments,
        motions=motions, touch_models=touch_models, allocation=allocation, stages=stages,
        correlations=correlations, stresses=stresses, source_file=file,
        content_hash=content_hash(data),
        source_json=json.dumps(data, default=str),
    )


def _declared(node: Any, valid: Mapping) -> dict:
    """The names a section declares (valid or not), as a dict for ordered membership tests."""
    if not isinstance(node, Mapping):
        return dict(valid)
    return {name: None for name in node if isinstance(name, str)}


def _segment(r: _Reader, name: str, raw: Mapping, touch_models) -> Segment | None:
    p = f"segments.{name}"
    t = r.table(raw, p, _SEGMENT_KEYS)
    before = len(r.problems)
    churn = {}
    for key in ("annual_churn", "monthly_churn"):
        if key in t:
            churn[key] = r.uncertain(t[key], f"{p}.{key}", "fraction")
    if not churn:
        r.error(f"{p}.annual_churn", "is required: the share of customers lost per year "
                "(e.g. 0.2 for 20%), or give monthly_churn")
    elif len(churn) == 2:
        r.error(p, "give annual_churn or monthly_churn, not both")
    expansion = {}
    for key in ("annual_expansion", "monthly_expansion"):
        if key in t:
            expansion[key] = r.uncertain(t[key], f"{p}.{key}", "growth_rate")
    if len(expansion) == 2:
        r.error(p, "give annual_expansion or monthly_expansion, not both")
    touch = r.text(t.get("touch_model"), f"{p}.touch_model", default="tech_touch")
    if touch is not None and touch not in touch_models and not any(
        q.path.startswith(f"touch_models.{touch}") for q in r.problems
    ):
        r.error(f"{p}.touch_model", f"got {_number_text(touch)}; expected one of: {_listing(touch_models)}"
                f"{_suggest(touch, touch_models)}")
    benchmark = r.text(t.get("benchmark"), f"{p}.benchmark")
    if benchmark is not None and benchmark not in defaults.DEFAULT_THRESHOLDS:
        r.error(f"{p}.benchmark", f"got {_number_text(benchmark)}; expected one of: "
                f"{', '.join(defaults.DEFAULT_THRESHOLDS)}{_suggest(benchmark, defaults.DEFAULT_THRESHOLDS)}")
        benchmark = None
    base = defaults.DEFAULT_THRESHOLDS.get(benchmark or name, {})
    thresholds = dict(base)
    given = r.table(t.get("thresholds"), f"{p}.thresholds", tuple(THRESHOLD_METRICS))
    for key, value in given.items():
        if key not in THRESHOLD_METRICS:
            continue
        domain = "fraction" if key in ("annual_churn_max", "cs_cost_share_max") else (
            "growth_rate" if key in ("annual_expansion_min",) else
            "multiplier" if key in ("ltv_cac_min", "nrr_min", "grr_min") else
            "months" if key == "payback_months_max" else "money")
        number = r.number(value, f"{p}.thresholds.{key}", domain)
        if number is not None:
            thresholds[key] = number
    fields = dict(
        acv=r.uncertain(t.get("acv"), f"{p}.acv", "positive_money", required=True),
        starting_acv=r.uncertain(t.get("starting_acv"), f"{p}.starting_acv", "positive_money"),
        gross_margin=r.uncertain(t.get("gross_margin"), f"{p}.gross_margin", "positive_fraction", required=True),
        cost_to_serve_per_year=r.uncertain(t.get("cost_to_serve_per_year"), f"{p}.cost_to_serve_per_year",
                                           "money", default=0),
        starting_customers=r.uncertain(t.get("starting_customers"), f"{p}.starting_customers", "count", default=0),
    )
    if len(r.problems) > before:
        return None
    return Segment(name=name, touch_model=touch, benchmark=benchmark, thresholds=thresholds,
                   **churn, **expansion, **fields)


def _motion(r: _Reader, name: str, raw: Mapping, segments_raw) -> Motion | None:
    p = f"motions.{name}"
    t = r.table(raw, p, _MOTION_KEYS)
    before = len(r.problems)
    segment = r.text(t.get("segment"), f"{p}.segment", required=True)
    if segment is not None and segment not in segments_raw:
        r.error(f"{p}.segment", f"got {_number_text(segment)}; no such segment. Segments: "
                f"{_listing(segments_raw) or '(none)'}{_suggest(segment, segments_raw)}")
    kind = r.text(t.get("kind"), f"{p}.kind", default=name if name in defaults.MOTION_KINDS else "custom")
    fields = dict(
        cost_per_lead=r.uncertain(t.get("cost_per_lead"), f"{p}.cost_per_lead", "positive_money", required=True),
        conversion=r.uncertain(t.get("conversion"), f"{p}.conversion", "fraction", required=True),
        sales_cost_per_won=r.uncertain(t.get("sales_cost_per_won"), f"{p}.sales_cost_per_won", "money", default=0),
        sales_cycle_months=r.uncertain(t.get("sales_cycle_months"), f"{p}.sales_cycle_months", "months", default=0),
        cost_per_head_per_year=r.uncertain(t.get("cost_per_head_per_year"), f"{p}.cost_per_head_per_year",
                                           "money", default=0),
    )
    if len(r.problems) > before:
        return None
    return Motion(name=name, segment=segment, kind=kind, **fields)


def _allocation(r: _Reader, node, path, motions_raw, segments_raw, motions) -> Allocation:
    t = r.table(node, path, _ALLOCATION_KEYS)
    parts = {}
    for key, names, domain, what in (
        ("budget_per_month", motions_raw, "money", "motion"),
        ("headcount", motions_raw, "count", "motion"),
        ("csms", segments_raw, "count", "segment"),
    ):
        entries = r.table(t.get(key), f"{path}.{key}")
        parsed = {}
        for entry, value in entries.items():
            where = f"{path}.{key}.{entry}"
            if entry not in names:
                r.error(where, f"no {what} named {_number_text(_shown_key(entry))}{_suggest(entry, names)}; "
                        f"{what}s: {_listing(names) or '(none)'}")
                continue
            dist = r.uncertain(value, where, domain)
            if dist is not None:
                parsed[entry] = dist
            if key == "headcount" and entry in motions and motions[entry].cost_per_head_per_year == Fixed(0.0):
                r.error(where, f"headcount needs motions.{entry}.cost_per_head_per_year (the loaded cost "
                        "of one person a year)")
        parts[key] = parsed
    return Allocation(**parts)


def _stages(r: _Reader, node, motions_raw, segments_raw, motions) -> dict[str, Stage]:
    given = r.named_tables(node, "stages")
    names = list(dict.fromkeys([*defaults.DEFAULT_STAGES, *given]))
    stages: dict[str, Stage] = {}
    previous: tuple[str, float] | None = None
    for sname in names:
        p = f"stages.{sname}"
        t = r.table(given.get(sname), p, _STAGE_KEYS)
        default = defaults.DEFAULT_STAGES.get(sname)
        if "arr_from" in t:
            arr_from = r.number(t["arr_from"], f"{p}.arr_from", "money")
        elif default is None:
            r.error(f"{p}.arr_from", "is required for a stage simkit does not know: the ARR at which "
                    "a company enters it")
            arr_from = None
        else:
            arr_from = default
        if arr_from is None:
            continue
        if previous is not None and not arr_from > previous[1]:
            r.error(f"{p}.arr_from", f"got {arr_from:,.0f}; stage boundaries must increase: it must be "
                    f"above stages.{previous[0]}.arr_from ({previous[1]:,.0f})")
        previous = (sname, arr_from)
        allocation = None
        if "allocation" in t:
            allocation = _allocation(r, t["allocation"], f"{p}.allocation", motions_raw, segments_raw, motions)
        stages[sname] = Stage(sname, arr_from, allocation)
    first = next(iter(stages.values()), None)
    if first is not None and first.arr_from != 0:
        r.error(f"stages.{first.name}.arr_from", "the first stage must start at 0 ARR")
    return stages


def _correlations(r: _Reader, node, draft: Scenario) -> tuple[Correlation, ...]:
    if node is None:
        return ()
    if not isinstance(node, list):
        r.error("correlations", "expected a list of [[correlations]] tables")
        return ()
    inputs = draft.inputs()
    result = []
    for i, raw in enumerate(node):
        p = f"correlations[{i}]"
        t = r.table(raw, p, ("between", "rank_correlation"))
        if not isinstance(raw, Mapping):
            continue
        between = t.get("between")
        rho = t.get("rank_correlation")
        ok = True
        if not (isinstance(between, list) and len(between) == 2 and all(isinstance(b, str) for b in between)):
            r.error(f"{p}.between", "expected two input paths, e.g. "
                    '["segments.smb.annual_churn", "motions.self_serve.conversion"]')
            ok = False
        else:
            for b in between:
                if b not in inputs:
                    r.error(f"{p}.between", f"no input named {_number_text(b)}{_suggest(b, inputs)}")
                    ok = False
                elif inputs[b].is_fixed:
                    r.error(f"{p}.between", f"{b} is a fixed number; only uncertain inputs "
                            "(distributions) can be correlated")
                    ok = False
            if ok and between[0] == between[1]:
                r.error(f"{p}.between", "an input cannot be correlated with itself")
                ok = False
        if rho is None:
            r.error(f"{p}.rank_correlation", "is required: a number between -1 and 1")
            ok = False
        else:
            value = r.raw_number(rho, f"{p}.rank_correlation", "a number between -1 and 1")
            if value is not None and not -1 < value < 1:
                r.error(f"{p}.rank_correlation", f"got {value!r}; expected a number strictly between -1 and 1")
                value = None
            ok = ok and value is not None
        if ok:
            pair = tuple(between)
            if any(set(c.inputs) == set(pair) for c in result):
                r.error(f"{p}.between", f"the pair {pair[0]} / {pair[1]} is correlated twice")
                continue
            result.append(Correlation(pair, float(rho)))
    if result and not r.problems:
        from ..sample import correlation_matrix  # the sampler owns the copula maths

        names, matrix = correlation_matrix(result)
        smallest = float(np.linalg.eigvalsh(matrix).min())
        if smallest < -1e-10:
            r.error("correlations", "these correlations contradict each other (the matrix is not positive "
                    f"semi-definite; smallest eigenvalue {smallest:.3g}); loosen one of them")
    return tuple(result)


def _stresses(r: _Reader, node, draft: Scenario) -> dict[str, Stress]:
    tables = r.named_tables(node, "stresses")
    inputs = draft.inputs()
    result = {}
    for sname, raw in tables.items():
        p = f"stresses.{sname}"
        t = r.table(raw, p, ("description", "shocks"))
        description = r.text(t.get("description"), f"{p}.description", default="")
        shocks_raw = t.get("shocks")
        if not isinstance(shocks_raw, list) or not shocks_raw:
            r.error(f"{p}.shocks", "expected a list of shocks, e.g. "
                    '[{ input = "segments.*.annual_churn", scale = 1.5 }]')
            continue
        shocks = []
        for i, shock_raw in enumerate(shocks_raw):
            sp = f"{p}.shocks[{i}]"
            st = r.table(shock_raw, sp, ("input", "scale", "shift", "set"))
            if not isinstance(shock_raw, Mapping):
                continue
            pattern = r.text(st.get("input"), f"{sp}.input", required=True)
            if pattern is not None:
                matched = [q for q in inputs if _fnmatch(q, pattern)]
                if not matched:
                    r.error(f"{sp}.input", f"{_number_text(pattern)} matches no input{_suggest(pattern, inputs)}")
            ops = [k for k in ("scale", "shift", "set") if k in st]
            if len(ops) != 1:
                r.error(sp, "expected exactly one of scale, shift or set")
                continue
            op = ops[0]
            if op == "set":
                value = r.uncertain(st["set"], f"{sp}.set", "money" if pattern is None else _domain_of(pattern))
            else:
                value = r.raw_number(st[op], f"{sp}.{op}", "a number")
                if op == "scale" and value is not None and value < 0:
                    r.error(f"{sp}.scale", f"got {value!r}; expected a multiplier of 0 or more")
                    value = None
            if value is not None and pattern is not None:
                shocks.append(Shock(pattern, op, value))
        result[sname] = Stress(sname, description or "", tuple(shocks))
    return result


def _fnmatch(path: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(path, pattern)


def _domain_of(path: str) -> str:
    """The domain of the field a dotted path ends with (for ``set`` shocks)."""
    field = path.rsplit(".", 1)[-1]
    table = {
        "acv": "positive_money", "starting_acv": "positive_money", "gross_margin": "positive_fraction",
        "annual_churn": "fraction", "monthly_churn": "fraction", "annual_expansion": "growth_rate",
        "monthly_expansion": "growth_rate", "conversion": "fraction", "cost_per_lead": "positive_money",
        "sales_cycle_months": "months", "starting_customers": "count", "accounts_per_csm": "count",
        "uncovered_churn_multiplier": "multiplier",
    }
    if path.startswith(("allocation.", "stages.")) and (".csms." in path or ".headcount." in path):
        return "count"
    return table.get(field, "money")


def content_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 of the scenario's content (comments and layout do not change it)."""
    canonical = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def load(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or path-like
        A TOML scenario file (see ``docs/scenario-format.md``).

    Returns
    -------
    Scenario
        Typed and immutable.

    Raises
    ------
    ScenarioError
        The file is missing, unreadable, not TOML, or has invalid content; the message
        lists every problem with its dotted field path.
    """
    path = Path(path)
    file = str(path)
    try:
        raw = _read_scenario_bytes(path)
    except ScenarioError:
        raise
    except IsADirectoryError:
        raise ScenarioError([Problem("", "is a folder; expected a scenario file (.toml)")], file=file) from None
    except FileNotFoundError:
        raise ScenarioError([Problem("", "no such file")], file=file) from None
    except OSError as exc:
        raise ScenarioError([Problem("", f"cannot be read ({exc.strerror or exc})")], file=file) from None
    except ValueError:  # e.g. a NUL character in the path
        raise ScenarioError([Problem("", "is not a usable file name")], file=file) from None
    try:
        # A byte-order mark (Windows editors add one) is not TOML but means no harm: drop it.
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem("", f"is not a text file (byte {exc.start} is not UTF-8); "
                                         "expected a TOML scenario")], file=file) from None
    if not text.strip():
        raise ScenarioError([Problem("", "is empty; expected a TOML scenario with at least [segments.NAME]")],
                            file=file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([Problem("", f"is not valid TOML: {exc}")], file=file) from None
    except RecursionError:
        raise ScenarioError([Problem("", "is not valid TOML: nested too deeply")], file=file) from None
    except ValueError:
        # tomllib refuses integers of more than 4,300 digits with a plain ValueError.
        raise ScenarioError([Problem("", "is not valid TOML: a number has too many digits")],
                            file=file) from None
    try:
        return from_dict(data, file=file, name=path.stem)
    except RecursionError:
        raise ScenarioError([Problem("", "nested too deeply to be a scenario")], file=file) from None


def _read_scenario_bytes(path: Path) -> bytes:
    """The file's bytes; refuses devices, pipes and sockets (``/dev/zero`` never ends, a FIFO
    blocks) and files too large to be a scenario, before reading them."""
    import stat

    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise ScenarioError([Problem("", "is not a regular file (a device, pipe or socket); expected a "
                                         "scenario file (.toml)")], file=str(path))
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            raw = handle.read(_MAX_FILE_BYTES + 1)
    finally:
        os.close(descriptor)
    if len(raw) > _MAX_FILE_BYTES:
        raise ScenarioError([Problem("", f"is larger than {_MAX_FILE_BYTES // 2**20} MB; a scenario file is a "
                                     "few kilobytes: is this the right file?")], file=str(path))
    return raw


def validate_file(path: str | os.PathLike) -> list[Problem]:
    """All problems of one file (empty when it is valid). Never raises for bad content."""
    try:
        load(path)
    except ScenarioError as exc:
        return exc.problems
    return []
