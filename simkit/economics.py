"""Closed-form unit economics of a SaaS segment: no randomness, no simulation.

This module is the deterministic view of the numbers the Monte Carlo engine simulates
(definitions in the project's domain notes, "Conventions for numbers"):

* **rate conversions** between the annual rates practitioners quote and the monthly rates
  the model steps with;
* **CAC, LTV and payback** of one newly won customer, survival-weighted, over a finite
  lifetime window, in closed form and vectorized so the engine and the reports can apply
  them to whole arrays of parameter draws;
* **napkin math** exactly as the source articles do it (revenue, not margin; no churn;
  expansion applied once), and the articles' **worked examples** with the CAC they state
  shown beside the CAC their own inputs imply;
* **customer-success economics**: CS cost per account, its share of revenue, the accounts
  a CSM must cover to stay within budget, CSM head count, and whether a touch model fits;
* the six-factor **post-sale decision matrix** and the default **health thresholds**;
* :func:`scenario_economics`, the whole table at expected (mean) inputs of a scenario,
  and the terminal formatting a CFO reads (:func:`format_money`, :func:`format_economics`).

Conventions: money in the scenario's currency; time step one month; a customer won in month
0 pays for month 0 and churns at the end of each month with probability ``c``. Functions
taking numbers accept floats or numpy arrays (broadcast together) and return a float for
scalar inputs, an array otherwise. Impossible divisions (no wins, zero revenue) give
``inf`` or ``NaN`` as documented, never a crash and never a numpy warning, because a
simulation of 20,000 draws must report the odd bad draw, not stop on it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # economics sits below the scenario layer only for type hints
    from simkit.scenario.model import Scenario

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DECISION_FACTORS",
    "DecisionMatrixResult",
    "SegmentEconomics",
    "TouchModelFit",
    "WorkedExample",
    "annual_churn",
    "annual_expansion",
    "cac",
    "compounding_value",
    "cs_budget_per_account",
    "cs_cost_per_account",
    "cs_cost_share",
    "csms_needed",
    "decision_matrix",
    "format_economics",
    "format_money",
    "format_worked_examples",
    "lifetime_value",
    "ltv_cac_ratio",
    "monthly_churn",
    "monthly_expansion",
    "napkin_ltv",
    "napkin_payback_months",
    "payback_months",
    "scenario_economics",
    "touch_model_fit",
    "touch_model_for_total",
    "touch_model_mix",
    "worked_examples",
]

# Relative slack when comparing a cumulative sum with a target: an exact tie on paper
# (CAC $1,000 paid back by $200 a month) must land on month 5, not month 6 because the
# floating-point sum came out a hair short.
_RELATIVE_TOLERANCE = 1e-12
# Months per step of the payback search: about 1 MB of work per 2,000 accounts.
_PAYBACK_BLOCK_MONTHS = 60


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def _as_float_array(value) -> np.ndarray:
    return np.asarray(value, dtype=float)


def _result(value: np.ndarray):
    """A Python float for scalar inputs, the array otherwise."""
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value


def _check_range(name: str, values: np.ndarray, low: float, high: float,
                 low_inclusive: bool = True) -> None:
    # NaN compares false both ways, so a NaN draw passes through and shows up as NaN.
    too_low = values < low if low_inclusive else values <= low
    if np.any(too_low) or np.any(values > high):
        bad = values[too_low | (values > high)] if values.ndim else values
        shown = float(np.ravel(bad)[0])
        bound = "[" if low_inclusive else "("
        raise ValueError(f"{name} must be in {bound}{low:g}, {high:g}], got {shown:g}")


def _check_window(window_months: np.ndarray, allow_infinite: bool) -> None:
    finite = np.isfinite(window_months)
    if not allow_infinite and not np.all(finite):
        raise ValueError("window_months must be a finite number of months here, got inf")
    whole = np.where(finite, window_months == np.floor(window_months), window_months > 0)
    if np.any(window_months < 1) or not np.all(whole) or np.any(np.isnan(window_months)):
        bad = float(np.ravel(window_months[~whole | (window_months < 1) | np.isnan(window_months)])[0])
        raise ValueError(f"window_months must be a whole number of months >= 1, got {bad:g}")


def _checked_rates(monthly_churn, monthly_expansion, window_months, allow_infinite: bool):
    """Churn, expansion and window as float arrays, each checked for its valid range."""
    churn = _as_float_array(monthly_churn)
    growth = _as_float_array(monthly_expansion)
    window = _as_float_array(window_months)
    _check_range("monthly churn", churn, 0.0, 1.0)
    _check_range("monthly expansion", growth, -1.0, math.inf, low_inclusive=False)
    _check_window(window, allow_infinite=allow_infinite)
    return churn, growth, window


def _geometric_sum(log_ratio: np.ndarray, months: np.ndarray) -> np.ndarray:
    """sum_{k=0}^{months-1} ratio**k, given log(ratio); ``months`` may be inf.

    Written with expm1 so that a ratio within 1e-12 of one keeps full precision (the naive
    (1 - r**H) / (1 - r) cancels catastrophically there), and with the ratio == 1 case
    (log_ratio == 0) taken exactly as ``months``.
    """
    with np.errstate(all="ignore"):
        # ratio < 1 and months = inf: expm1(-inf) = -1 gives 1 / (1 - ratio) as it should.
        value = np.expm1(months * log_ratio) / np.expm1(log_ratio)
    return np.where(log_ratio == 0.0, months, value)


def _times_sum(coefficient: np.ndarray, series_sum: np.ndarray) -> np.ndarray:
    # Zero per month over an infinite window is zero, not 0 * inf = NaN.
    with np.errstate(invalid="ignore"):
        return np.where(coefficient == 0.0, 0.0, coefficient * series_sum)


# ---------------------------------------------------------------------------------------
# 1. rate conversions
# ---------------------------------------------------------------------------------------
def monthly_churn(annual):
    """Monthly logo churn equivalent to an annual churn rate.

    Parameters
    ----------
    annual : float or array_like
        Share of customers lost over a year, in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        ``1 - (1 - annual) ** (1/12)``: losing this share every month loses ``annual``
        over twelve months.

    Raises
    ------
    ValueError
        If a rate lies outside [0, 1].
    """
    annual = _as_float_array(annual)
    _check_range("annual churn", annual, 0.0, 1.0)
    # -expm1(log1p(-a)/12) equals 1 - (1-a)^(1/12) without losing digits for small rates;
    # a = 1 gives log(0) = -inf and so a monthly rate of exactly 1.
    with np.errstate(divide="ignore"):
        return _result(-np.expm1(np.log1p(-annual) / 12.0))


def annual_churn(monthly):
    """Annual logo churn equivalent to a monthly churn rate (inverse of :func:`monthly_churn`).

    Parameters
    ----------
    monthly : float or array_like
        Share of customers lost each month, in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        ``1 - (1 - monthly) ** 12``.
    """
    monthly = _as_float_array(monthly)
    _check_range("monthly churn", monthly, 0.0, 1.0)
    with np.errstate(divide="ignore"):  # monthly = 1 gives log(0) = -inf, i.e. all gone
        return _result(-np.expm1(12.0 * np.log1p(-monthly)))


def monthly_expansion(annual):
    """Monthly expansion of surviving revenue equivalent to an annual rate.

    Parameters
    ----------
    annual : float or array_like
        Growth of a surviving customer's revenue over a year (0.2 = +20%); greater than -1.

    Returns
    -------
    float or numpy.ndarray
        ``(1 + annual) ** (1/12) - 1``.
    """
    annual = _as_float_array(annual)
    _check_range("annual expansion", annual, -1.0, math.inf, low_inclusive=False)
    return _result(np.expm1(np.log1p(annual) / 12.0))


def annual_expansion(monthly):
    """Annual expansion equivalent to a monthly rate (inverse of :func:`monthly_expansion`).

    Parameters
    ----------
    monthly : float or array_like
        Monthly growth of a surviving customer's revenue; greater than -1.

    Returns
    -------
    float or numpy.ndarray
        ``(1 + monthly) ** 12 - 1``.
    """
    monthly = _as_float_array(monthly)
    _check_range("monthly expansion", monthly, -1.0, math.inf, low_inclusive=False)
    return _result(np.expm1(12.0 * np.log1p(monthly)))


# ---------------------------------------------------------------------------------------
# 2-4. CAC, LTV, payback
# ---------------------------------------------------------------------------------------
def cac(cost_per_lead, conversion, sales_cost_per_won=0.0):
    """Customer acquisition cost: what one won customer costs, in expectation.

    Parameters
    ----------
    cost_per_lead : float or array_like
        Marketing spend per lead (signup, PQL, outbound target).
    conversion : float or array_like
        Share of leads that become paying customers, in [0, 1].
    sales_cost_per_won : float or array_like, default 0
        Sales cost attached to each won deal.

    Returns
    -------
    float or numpy.ndarray
        ``cost_per_lead / conversion + sales_cost_per_won``; ``+inf`` where conversion is
        0 (money spent, no customer won), without a numpy warning.
    """
    cost_per_lead = _as_float_array(cost_per_lead)
    conversion = _as_float_array(conversion)
    _check_range("conversion", conversion, 0.0, 1.0)
    cost_per_lead, conversion, sales = np.broadcast_arrays(
        cost_per_lead, conversion, _as_float_array(sales_cost_per_won))
    per_won = np.divide(cost_per_lead, conversion, out=np.full(conversion.shape, np.inf),
                        where=conversion > 0)
    return _result(per_won + sales)


def ltv_cac_ratio(ltv, cac):
    """LTV divided by CAC, with the no-wins convention.

    Parameters
    ----------
    ltv : float or array_like
        Lifetime value of one customer.
    cac : float or array_like
        Cost of winning one customer; ``inf`` when none was won.

    Returns
    -------
    float or numpy.ndarray
        ``ltv / cac``; 0 where CAC is ``inf`` (no wins means the money bought nothing);
        ``±inf`` where CAC is 0 and LTV is not (0 where both are 0).
    """
    ltv, cac = np.broadcast_arrays(_as_float_array(ltv), _as_float_array(cac))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ltv / cac
    ratio = np.where(np.isinf(cac) & np.isfinite(ltv), 0.0, ratio)
    ratio = np.where((cac == 0) & (ltv == 0), 0.0, ratio)
    return _result(ratio)


def lifetime_value(acv, gross_margin, monthly_churn, monthly_expansion=0.0,
                   window_months=60, serve_cost_per_month=0.0):
    """Expected contribution of one newly won customer over a lifetime window.

    .. math::

        \\mathrm{LTV} = \\sum_{k=0}^{H-1} (1-c)^k
            \\left[\\tfrac{ACV}{12}\\, GM\\, (1+g)^k - s\\right]

    evaluated in closed form (two geometric series), so it is exact for any window and
    costs the same for 12 months or 600.

    Parameters
    ----------
    acv : float or array_like
        Annual contract value at win.
    gross_margin : float or array_like
        Gross margin on revenue (0.8 = 80%).
    monthly_churn : float or array_like
        Probability of churning at the end of each month, in [0, 1].
    monthly_expansion : float or array_like, default 0
        Monthly growth of a surviving customer's revenue (> -1).
    window_months : int, float or array_like, default 60
        Months counted (H), a whole number >= 1, or ``numpy.inf`` for the whole lifetime.
    serve_cost_per_month : float or array_like, default 0
        Cost of serving the account each month it is active (support, CS), charged on
        top of what gross margin already covers.

    Returns
    -------
    float or numpy.ndarray
        The survival-weighted sum. With no expansion, no serve cost and an infinite
        window it equals ``(acv / 12) * gross_margin / monthly_churn``; it is ``inf``
        when the series does not converge (no churn, infinite window, positive
        contribution).
    """
    churn, growth, window = _checked_rates(monthly_churn, monthly_expansion, window_months, allow_infinite=True)
    monthly_margin = _as_float_array(acv) / 12.0 * _as_float_array(gross_margin)
    serve = _as_float_array(serve_cost_per_month)
    monthly_margin, serve, churn, growth, window = np.broadcast_arrays(
        monthly_margin, serve, churn, growth, window)

    with np.errstate(divide="ignore"):  # churn = 1 gives log(0) = -inf: only month 0 counts
        log_survival = np.log1p(-churn)
    log_revenue_ratio = log_survival + np.log1p(growth)
    revenue = _times_sum(monthly_margin, _geometric_sum(log_revenue_ratio, window))
    cost = _times_sum(serve, _geometric_sum(log_survival, window))
    with np.errstate(invalid="ignore"):
        value = revenue - cost

    # Both series diverge only with no churn and an infinite window. Then the revenue
    # series wins if it grows (expansion > 0); with flat revenue the sign of the monthly
    # contribution decides.
    both_infinite = np.isinf(revenue) & np.isinf(cost)
    if np.any(both_infinite):
        flat = np.sign(monthly_margin - serve) * np.inf
        with np.errstate(invalid="ignore"):  # sign 0 * inf: contribution exactly zero
            flat = np.where(monthly_margin == serve, 0.0, flat)
        limit = np.where(log_revenue_ratio > 0, np.sign(monthly_margin) * np.inf, flat)
        value = np.where(both_infinite, limit, value)
    return _result(value)


def payback_months(cac, acv, gross_margin, monthly_churn, monthly_expansion=0.0,
                   window_months=60, serve_cost_per_month=0.0):
    """Months of payment until a new customer's cumulative contribution reaches its CAC.

    The answer is the smallest whole ``n >= 1`` with

    .. math::

        \\sum_{k=0}^{n-1} (1-c)^k \\left[\\tfrac{ACV}{12}\\, GM\\, (1+g)^k - s\\right]
            \\ge \\mathrm{CAC}

    (same survival-weighted contribution as :func:`lifetime_value`), compared with a
    relative tolerance of 1e-12 so that exact ties on paper land on the tie month.

    Parameters
    ----------
    cac : float or array_like
        Cost of winning the customer; ``inf`` when none was won.
    acv, gross_margin, monthly_churn, monthly_expansion, serve_cost_per_month
        As in :func:`lifetime_value`.
    window_months : int or array_like, default 60
        Lifetime window H: a payback later than month H does not count. Must be finite;
        the work grows with the window (one vectorized step per 60 months).

    Returns
    -------
    float or numpy.ndarray
        Whole months as floats; ``NaN`` when CAC is not reached within the window or CAC
        is ``inf``; ``0`` when CAC is 0 (nothing to pay back).

    Raises
    ------
    ValueError
        If CAC is negative, a rate is out of range or the window is not a finite whole
        number of months.
    """
    cac_values = _as_float_array(cac)
    if np.any(cac_values < 0):
        raise ValueError(f"cac must be >= 0, got {float(np.ravel(cac_values[cac_values < 0])[0]):g}")
    churn, growth, window = _checked_rates(monthly_churn, monthly_expansion, window_months, allow_infinite=False)
    monthly_margin = _as_float_array(acv) / 12.0 * _as_float_array(gross_margin)
    arrays = np.broadcast_arrays(cac_values, monthly_margin, _as_float_array(serve_cost_per_month),
                                 churn, growth, window)
    shape = arrays[0].shape
    target, margin, serve, churn, growth, window = (a.ravel() for a in arrays)

    months = np.full(target.shape, np.nan)
    months[target == 0] = 0.0
    # Only positive, finite targets can be reached; the rest are settled already.
    pending = np.flatnonzero((target > 0) & np.isfinite(target))
    cumulative = np.zeros(pending.size)
    first = 0
    # Months are taken in blocks: a (pending x block) cumulative sum is fast, and memory
    # stays bounded whatever the window; accounts that paid back or ran out of window
    # drop out between blocks, so the work shrinks as the answer fills in.
    with np.errstate(over="ignore", invalid="ignore"):
        while pending.size:
            pending_window = window[pending]
            last = min(first + _PAYBACK_BLOCK_MONTHS, int(pending_window.max()))
            if last <= first:
                break
            month = np.arange(first, last, dtype=float)
            contribution = ((1.0 - churn[pending, None]) ** month
                            * (margin[pending, None] * (1.0 + growth[pending, None]) ** month
                               - serve[pending, None]))
            # Carried total as the first column: numpy's cumsum adds left to right, so the
            # sums are the same month-by-month running total a loop would give.
            running = np.cumsum(np.column_stack([cumulative, contribution]), axis=1)[:, 1:]
            reached = (running >= (target[pending] * (1.0 - _RELATIVE_TOLERANCE))[:, None]) & (
                month[None, :] < pending_window[:, None])
            hit = reached.any(axis=1)
            months[pending[hit]] = first + 1 + reached[hit].argmax(axis=1)
            keep = ~hit & (pending_window > last)
            pending, cumulative = pending[keep], running[keep, -1]
            first = last
    return _result(months.reshape(shape))


# ---------------------------------------------------------------------------------------
# 5. napkin math and the articles' worked examples
# ---------------------------------------------------------------------------------------
def napkin_payback_months(cac, acv):
    """Payback as the source articles compute it: CAC over monthly revenue.

    No gross margin, no churn, no rounding up to whole months.

    Parameters
    ----------
    cac : float or array_like
        Cost of winning one customer.
    acv : float or array_like
        Annual contract value.

    Returns
    -------
    float or numpy.ndarray
        ``cac / (acv / 12)``; ``inf`` where ACV is 0 and CAC positive, 0 where both are 0.
    """
    cac, monthly_revenue = np.broadcast_arrays(_as_float_array(cac), _as_float_array(acv) / 12.0)
    months = np.divide(cac, monthly_revenue, out=np.where(cac == 0, 0.0, np.inf),
                       where=monthly_revenue != 0)
    return _result(months)


def napkin_ltv(acv, lifetime_years, nrr=None, annual_expansion=None):
    """Lifetime value as the source articles compute it: revenue x lifetime x uplift.

    Parameters
    ----------
    acv : float or array_like
        Annual contract value.
    lifetime_years : float or array_like
        Expected customer lifetime in years (``1 / annual churn`` when derived).
    nrr : float or array_like, optional
        Net revenue retention (1.1 = 110%); the uplift factor itself.
    annual_expansion : float or array_like, optional
        Annual expansion (0.2 = +20%); the uplift factor is ``1 + annual_expansion``.

    Returns
    -------
    float or numpy.ndarray
        ``acv * lifetime_years * uplift``, the uplift applied **once**, not compounded,
        because that is what the articles do; uplift 1 when neither is given.

    Raises
    ------
    ValueError
        If both ``nrr`` and ``annual_expansion`` are given (they describe the same thing).
    """
    if nrr is not None and annual_expansion is not None:
        raise ValueError("give nrr or annual_expansion, not both: they describe the same uplift")
    if nrr is not None:
        uplift = _as_float_array(nrr)
    elif annual_expansion is not None:
        uplift = 1.0 + _as_float_array(annual_expansion)
    else:
        uplift = _as_float_array(1.0)
    return _result(_as_float_array(acv) * _as_float_array(lifetime_years) * uplift)


def compounding_value(initial_acv, nrr, years):
    """Revenue from one deal over whole years when it grows by NRR each year.

    Parameters
    ----------
    initial_acv : float or array_like
        First-year contract value.
    nrr : float or array_like
        Net revenue retention per year (1.2 = 120%).
    years : int or array_like
        Whole years counted (>= 0).

    Returns
    -------
    float or numpy.ndarray
        ``sum_{k=0}^{years-1} initial_acv * nrr**k``. The articles' example, $500K at 120%
        for 5 years, is 500,000 x 7.4416 = $3,720,800, which they round to "$3.72M".
    """
    years = _as_float_array(years)
    if np.any(years < 0) or np.any(years != np.floor(years)):
        raise ValueError("years must be a whole number >= 0")
    nrr = _as_float_array(nrr)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(nrr == 1.0, years, (nrr ** years - 1.0) / (nrr - 1.0))
    return _result(_as_float_array(initial_acv) * factor)


@dataclass(frozen=True)
class WorkedExample:
    """One row of the articles' worked-example table, stated and recomputed side by side.

    The articles state a CAC that, for mid-market and enterprise, does not follow from
    their own inputs. Both are kept: ``stated_cac`` is the article's figure and
    ``computed_cac`` is ``cost_per_lead / conversion + sales_cost_per_won``; the payback
    and LTV:CAC are given on each, so the discrepancy is shown, never silently fixed.

    Attributes
    ----------
    segment : str
        ``"smb"``, ``"mid_market"`` or ``"enterprise"``.
    cost_per_lead, conversion, sales_cost_per_won, acv, lifetime_years : float
        The article's inputs.
    nrr, annual_expansion : float or None
        The uplift the article applies once to LTV (at most one is set).
    stated_cac, computed_cac : float
        CAC as printed in the article and as implied by its inputs.
    payback_months_stated_cac, payback_months_computed_cac : float
        Napkin payback, ``CAC / (ACV / 12)``, on each CAC.
    napkin_ltv : float
        ``ACV x lifetime x uplift``.
    ltv_cac_stated, ltv_cac_computed : float
        Napkin LTV over each CAC.
    """

    segment: str
    cost_per_lead: float
    conversion: float
    sales_cost_per_won: float
    acv: float
    lifetime_years: float
    nrr: float | None
    annual_expansion: float | None
    stated_cac: float
    computed_cac: float
    payback_months_stated_cac: float
    payback_months_computed_cac: float
    napkin_ltv: float
    ltv_cac_stated: float
    ltv_cac_computed: float


def _worked_example(segment, cost_per_lead, conversion, sales_cost_per_won, acv,
                    lifetime_years, stated_cac, nrr=None, annual_expansion=None) -> WorkedExample:
    computed = cac(cost_per_lead, conversion, sales_cost_per_won)
    value = napkin_ltv(acv, lifetime_years, nrr=nrr, annual_expansion=annual_expansion)
    return WorkedExample(
        segment=segment,
        cost_per_lead=cost_per_lead,
        conversion=conversion,
        sales_cost_per_won=sales_cost_per_won,
        acv=acv,
        lifetime_years=lifetime_years,
        nrr=nrr,
        annual_expansion=annual_expansion,
        stated_cac=stated_cac,
        computed_cac=computed,
        payback_months_stated_cac=napkin_payback_months(stated_cac, acv),
        payback_months_computed_cac=napkin_payback_months(computed, acv),
        napkin_ltv=value,
        ltv_cac_stated=value / stated_cac,
        ltv_cac_computed=value / computed,
    )


def worked_examples() -> tuple[WorkedExample, ...]:
    """The three worked examples of the source articles, recomputed.

    Returns
    -------
    tuple of WorkedExample
        SMB (self-serve), mid-market (sales-assisted, NRR 110%) and enterprise (field
        sales, expansion 20%/yr), in that order. Expected napkin results: payback 5 / 2.4
        / 3 months and LTV $6,000 / $88,000 / $1.2M on the stated CAC of $1,000 / $4,000 /
        $50,000, i.e. LTV:CAC 6 / 22 / 24; the inputs imply CAC $1,000 / $4,666.67 /
        $90,000 instead.
    """
    return (
        _worked_example("smb", cost_per_lead=100.0, conversion=0.10, sales_cost_per_won=0.0,
                        acv=2_400.0, lifetime_years=2.5, stated_cac=1_000.0),
        _worked_example("mid_market", cost_per_lead=500.0, conversion=0.30,
                        sales_cost_per_won=3_000.0, acv=20_000.0, lifetime_years=4.0,
                        stated_cac=4_000.0, nrr=1.10),
        _worked_example("enterprise", cost_per_lead=10_000.0, conversion=0.20,
                        sales_cost_per_won=40_000.0, acv=200_000.0, lifetime_years=5.0,
                        stated_cac=50_000.0, annual_expansion=0.20),
    )


# ---------------------------------------------------------------------------------------
# 6-7. customer-success economics
# ---------------------------------------------------------------------------------------
# CS cost should be 5-15% of customer revenue (articles' rule of thumb); 10% is the budget
# they work their examples with, 15% the most a touch model may cost and still "work".
_CS_TARGET_SHARE = 0.10
_CS_MAX_SHARE = 0.15
# Beyond 1:200 a CSM no longer manages accounts (the "scale" tier is 1:200+); a segment
# that needs more accounts per CSM than this to stay on budget is tech-touch only.
_SCALE_ACCOUNTS_PER_CSM = 200.0


def _no_csm(accounts_per_csm: np.ndarray) -> np.ndarray:
    # 0 is how a scenario says "no CSMs" (tech touch); inf means the same thing.
    return (accounts_per_csm == 0) | np.isinf(accounts_per_csm)


def cs_cost_per_account(csm_cost_per_year, accounts_per_csm, tooling_per_account=0.0):
    """Yearly customer-success cost of one account.

    Parameters
    ----------
    csm_cost_per_year : float or array_like
        Loaded yearly cost of one CSM.
    accounts_per_csm : float or array_like
        Accounts one CSM covers; 0 (or inf) means no CSMs, tech touch only.
    tooling_per_account : float or array_like, default 0
        Yearly CS tooling / automation cost per account.

    Returns
    -------
    float or numpy.ndarray
        ``csm_cost_per_year / accounts_per_csm + tooling_per_account``; just the tooling
        when there are no CSMs.
    """
    csm_cost, ratio, tooling = np.broadcast_arrays(
        _as_float_array(csm_cost_per_year), _as_float_array(accounts_per_csm),
        _as_float_array(tooling_per_account))
    if np.any(ratio < 0):
        raise ValueError("accounts_per_csm must be >= 0 (0 means no CSMs)")
    csm_share = np.divide(csm_cost, ratio, out=np.zeros(ratio.shape), where=~_no_csm(ratio))
    return _result(csm_share + tooling)


def cs_cost_share(cs_cost_per_account, acv):
    """Customer-success cost as a fraction of the account's revenue.

    Parameters
    ----------
    cs_cost_per_account : float or array_like
        Yearly CS cost of one account.
    acv : float or array_like
        Annual contract value of that account.

    Returns
    -------
    float or numpy.ndarray
        ``cs_cost_per_account / acv`` (0.10 = 10% of revenue); ``inf`` where ACV is 0 and
        the cost positive, 0 where both are 0.
    """
    cost, acv = np.broadcast_arrays(_as_float_array(cs_cost_per_account), _as_float_array(acv))
    share = np.divide(cost, acv, out=np.where(cost == 0, 0.0, np.inf), where=acv != 0)
    return _result(share)


def cs_budget_per_account(acv, share=_CS_TARGET_SHARE):
    """Yearly CS budget one account can carry: a share of its revenue.

    The articles compute "CS at 10% of revenue" on ACV (enterprise $120K -> $12K,
    mid-market $25K -> $2.5K, SMB $3K -> $300) even though they quote gross margin
    beside it, so the budget is taken on ACV, not on ACV x margin.

    Parameters
    ----------
    acv : float or array_like
        Annual contract value.
    share : float or array_like, default 0.10
        Share of revenue allowed for customer success (rule of thumb 5-15%).

    Returns
    -------
    float or numpy.ndarray
        ``share * acv``.
    """
    return _result(_as_float_array(share) * _as_float_array(acv))


def csms_needed(accounts, accounts_per_csm):
    """Customer success managers needed to cover a number of accounts at a ratio.

    Parameters
    ----------
    accounts : float or array_like
        Accounts to cover.
    accounts_per_csm : float or array_like
        Accounts one CSM covers; 0 or inf means the model uses no CSMs.

    Returns
    -------
    int or numpy.ndarray of int
        ``ceil(accounts / accounts_per_csm)``; 0 for no accounts or no-CSM models. A
        quotient within 1e-12 (relative) above a whole number is taken as that number, so
        30 accounts at 0.1-account precision never asks for a 301st CSM.
    """
    accounts, ratio = np.broadcast_arrays(_as_float_array(accounts), _as_float_array(accounts_per_csm))
    if np.any(accounts < 0) or np.any(ratio < 0):
        raise ValueError("accounts and accounts_per_csm must be >= 0")
    quotient = np.divide(accounts, ratio, out=np.zeros(ratio.shape), where=~_no_csm(ratio))
    count = np.ceil(quotient * (1.0 - _RELATIVE_TOLERANCE)).astype(np.int64)
    return int(count) if count.ndim == 0 else count


def _touch_tier(accounts_per_csm: float) -> str:
    """Touch model a CSM ratio belongs to (domain table: 1:8-30, 1:40-100, 1:200+, 1:500+)."""
    if accounts_per_csm == 0 or math.isinf(accounts_per_csm) or accounts_per_csm >= 500:
        return "tech-touch"
    if accounts_per_csm <= 30:
        return "high-touch"
    if accounts_per_csm <= 100:
        return "low-touch"
    return "scale"


@dataclass(frozen=True)
class TouchModelFit:
    """Whether a CS model pays for itself in a segment, with the numbers behind the verdict.

    Attributes
    ----------
    acv, gross_margin : float
        The segment's contract value and margin.
    gross_profit_per_account : float
        ``acv * gross_margin``, shown beside the budget (the budget is on revenue).
    cs_budget_per_account : float
        ``target_share * acv``, what CS may cost (10% of revenue by default).
    cs_cost_per_account : float
        What the model actually costs per account per year.
    cs_cost_share : float
        ``cs_cost_per_account / acv``.
    accounts_per_csm : float
        The model's ratio (0 = no CSMs).
    accounts_per_csm_needed : float
        Accounts a CSM must cover for the cost to equal the budget (``inf`` when tooling
        alone exceeds it; 0 when there are no CSMs).
    tier : str
        Touch model the ratio belongs to: high-touch, low-touch, scale or tech-touch.
    verdict : str
        ``"works"``, ``"too costly"`` or ``"tech-touch only"``.
    reason : str
        One sentence a CFO can read.
    """

    acv: float
    gross_margin: float
    gross_profit_per_account: float
    cs_budget_per_account: float
    cs_cost_per_account: float
    cs_cost_share: float
    accounts_per_csm: float
    accounts_per_csm_needed: float
    tier: str
    verdict: str
    reason: str

    @property
    def works(self) -> bool:
        return self.verdict == "works"


def touch_model_fit(acv, gross_margin, csm_cost_per_year, accounts_per_csm,
                    tooling_per_account=0.0, target_share=_CS_TARGET_SHARE,
                    max_share=_CS_MAX_SHARE,
                    scale_accounts_per_csm=_SCALE_ACCOUNTS_PER_CSM) -> TouchModelFit:
    """Check a touch model against the 5-15%-of-revenue rule of thumb.

    Rule (chosen so that the articles' three examples come out as they say):

    * **works** when CS costs at most ``max_share`` (15%) of ACV, the top of the 5-15%
      band: enterprise $150K CSM / 12 accounts = $12.5K = 10.4% of $120K; mid-market
      $120K / 50 = $2.4K = 9.6% of $25K;
    * otherwise **tech-touch only** when a CSM would have to cover more than
      ``scale_accounts_per_csm`` (200, where the scale tier starts) accounts to fit the
      ``target_share`` (10%) budget, i.e. no CSM ratio works (SMB: $300 a year per
      account means a $100K CSM needs 334 accounts);
    * otherwise **too costly**: a CSM ratio exists that fits, the current one is not it.

    Parameters
    ----------
    acv, gross_margin : float
        Annual contract value and gross margin of the segment.
    csm_cost_per_year : float
        Loaded yearly cost of one CSM.
    accounts_per_csm : float
        Accounts per CSM in the model; 0 (or inf) means no CSMs.
    tooling_per_account : float, default 0
        Yearly tooling cost per account, counted in the CS cost.
    target_share, max_share : float, default 0.10 and 0.15
        Budget share of revenue and the most CS may cost while the model still works.
    scale_accounts_per_csm : float, default 200
        Largest book of accounts a CSM can still manage.

    Returns
    -------
    TouchModelFit
    """
    acv, gross_margin = float(acv), float(gross_margin)
    csm_cost, ratio, tooling = float(csm_cost_per_year), float(accounts_per_csm), float(tooling_per_account)
    cost = cs_cost_per_account(csm_cost, ratio, tooling)
    share = cs_cost_share(cost, acv)
    budget = cs_budget_per_account(acv, target_share)
    no_csm = ratio == 0 or math.isinf(ratio)
    room_for_csm = budget - tooling
    if no_csm:
        needed = 0.0
    elif room_for_csm <= 0:
        needed = math.inf
    else:
        needed = csm_cost / room_for_csm
    tier = _touch_tier(ratio)

    def percent(x: float) -> str:
        return "n/a" if math.isinf(x) else f"{x:.1%}"

    if share <= max_share:
        verdict = "works"
        reason = (f"{tier}: CS costs {format_money(cost)} per account, {percent(share)} of ACV "
                  f"(budget {format_money(budget)} at {target_share:.0%}, limit {max_share:.0%})")
    elif no_csm or needed > scale_accounts_per_csm:
        verdict = "tech-touch only"
        if no_csm:
            reason = (f"even without CSMs, CS costs {format_money(cost)} per account, "
                      f"{percent(share)} of ACV, over the {max_share:.0%} limit")
        else:
            wanted = ("tooling alone exceeds it" if math.isinf(needed)
                      else f"a CSM would have to cover {math.ceil(needed - 1e-9):,} accounts")
            reason = (f"on a {format_money(budget)} budget per account ({target_share:.0%} of ACV) "
                      f"{wanted}, beyond the 1:{scale_accounts_per_csm:g} scale tier; "
                      f"no CSM ratio works")
    else:
        verdict = "too costly"
        reason = (f"{tier} at 1:{ratio:g} costs {format_money(cost)} per account, {percent(share)} "
                  f"of ACV; 1:{math.ceil(needed - 1e-9):,} or more would fit the "
                  f"{format_money(budget)} budget")
    return TouchModelFit(
        acv=acv,
        gross_margin=gross_margin,
        gross_profit_per_account=acv * gross_margin,
        cs_budget_per_account=budget,
        cs_cost_per_account=cost,
        cs_cost_share=share,
        accounts_per_csm=ratio,
        accounts_per_csm_needed=needed,
        tier=tier,
        verdict=verdict,
        reason=reason,
    )


# ---------------------------------------------------------------------------------------
# 8. post-sale decision matrix
# ---------------------------------------------------------------------------------------
#: The six factors of the post-sale decision matrix, each scored 1 (argues for automation)
#: to 5 (argues for a dedicated human): ACV, product complexity, customer segment, gross
#: margin, competitive pressure, and growth stage (the CSM ratio the stage needs).
DECISION_FACTORS: tuple[str, ...] = ("acv", "complexity", "segment", "gross_margin",
                                     "competition", "stage")

# The articles' zones overlap at their edges (high 20-30, low 12-20, tech 6-12); an edge
# total goes to the more human model, because under-serving an account loses it while
# over-serving only costs margin that the score says is there.
_HIGH_TOUCH_FROM = 20
_LOW_TOUCH_FROM = 12


@dataclass(frozen=True)
class DecisionMatrixResult:
    """Outcome of the post-sale decision matrix.

    Attributes
    ----------
    scores : Mapping[str, int]
        Score per factor, in :data:`DECISION_FACTORS` order.
    total : int
        Sum of the six scores, 6-30.
    model : str
        ``"high-touch"`` (20-30), ``"low-touch"`` (12-19) or ``"tech-touch"`` (6-11).
    """

    scores: Mapping[str, int]
    total: int
    model: str


def _score(factor: str, value) -> int:
    whole = (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or (
        isinstance(value, numbers.Real) and not isinstance(value, bool)
        and math.isfinite(value) and float(value).is_integer())
    if not whole or not 1 <= value <= 5:
        raise ValueError(f"decision matrix score for {factor!r} must be a whole number "
                         f"from 1 to 5, got {value!r}")
    return int(value)


def touch_model_for_total(total: int) -> str:
    """Touch model a decision-matrix total points to.

    Parameters
    ----------
    total : int
        Sum of six 1-5 scores (6-30).

    Returns
    -------
    str
        ``"high-touch"`` for 20 and above, ``"low-touch"`` for 12-19, ``"tech-touch"`` for
        6-11 (the articles' overlapping edges 12 and 20 go to the more human model).
    """
    if isinstance(total, bool) or not isinstance(total, numbers.Real) or not 6 <= total <= 30:
        raise ValueError(f"decision matrix total must be from 6 to 30, got {total!r}")
    if total >= _HIGH_TOUCH_FROM:
        return "high-touch"
    if total >= _LOW_TOUCH_FROM:
        return "low-touch"
    return "tech-touch"


def decision_matrix(*, acv, complexity, segment, gross_margin, competition,
                    stage) -> DecisionMatrixResult:
    """Score the six post-sale factors and name the touch model they point to.

    Each score is a whole number from 1 to 5, where 5 argues for a dedicated human
    (large ACV, complex product, enterprise buyer, high margin to spend, strong
    competitors circling, a stage that needs close CSM coverage) and 1 for automation.

    Parameters
    ----------
    acv, complexity, segment, gross_margin, competition, stage : int
        The six scores (keyword-only, so they cannot be swapped by position).

    Returns
    -------
    DecisionMatrixResult

    Raises
    ------
    ValueError
        Naming the factor and the value, if a score is not a whole number from 1 to 5.
    """
    given = dict(acv=acv, complexity=complexity, segment=segment, gross_margin=gross_margin,
                 competition=competition, stage=stage)
    scores = {factor: _score(factor, given[factor]) for factor in DECISION_FACTORS}
    total = sum(scores.values())
    return DecisionMatrixResult(MappingProxyType(scores), total, touch_model_for_total(total))


def touch_model_mix(totals: Iterable[int]) -> str:
    """One touch model for a customer base, or ``"hybrid"`` when it spans several zones.

    Parameters
    ----------
    totals : iterable of int
        Decision-matrix totals of the customers (or tiers) in the base.

    Returns
    -------
    str
        The single model all totals point to, or ``"hybrid"`` (tier the base and apply a
        model per tier) when they fall in more than one zone.
    """
    models = {touch_model_for_total(total) for total in totals}
    if not models:
        raise ValueError("touch_model_mix needs at least one decision-matrix total")
    return models.pop() if len(models) == 1 else "hybrid"


# ---------------------------------------------------------------------------------------
# 9. default health thresholds
# ---------------------------------------------------------------------------------------
#: Default health thresholds of the three default segments (keys as in
#: ``simkit.scenario.model.THRESHOLD_METRICS``). Reports give the probability of clearing
#: each, never a bare pass/fail. Read-only; a scenario overrides them per segment.
DEFAULT_THRESHOLDS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "smb": MappingProxyType({
        "ltv_cac_min": 5.0,
        "payback_months_max": 12.0,
        "annual_churn_max": 0.25,
        "cac_max": 500.0,
        "cs_cost_per_account_max": 200.0,
    }),
    "mid_market": MappingProxyType({
        "ltv_cac_min": 4.0,
        "payback_months_max": 18.0,
        "annual_churn_max": 0.15,
        "cac_max": 5_000.0,
    }),
    "enterprise": MappingProxyType({
        "ltv_cac_min": 3.0,
        "payback_months_max": 36.0,
        "annual_churn_max": 0.10,
        "cac_max": 100_000.0,
        "annual_expansion_min": 0.15,
    }),
})


# ---------------------------------------------------------------------------------------
# 10. a scenario at expected inputs, and terminal formatting
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SegmentEconomics:
    """Closed-form economics of one segment at the scenario's expected (mean) inputs.

    Attributes
    ----------
    segment : str
        Segment name.
    motions : tuple of str
        Motions that win customers for it (empty: no wins, CAC ``inf``).
    acv, gross_margin, annual_churn, annual_expansion : float
        Expected inputs, rates converted to annual.
    cac : float
        Cost to win one customer (``inf`` with no motion or no conversion).
    ltv : float
        Survival-weighted contribution over the scenario's LTV window, net of cost to serve
        and the touch model's CS cost.
    ltv_cac : float
        ``ltv / cac``; 0 with no wins.
    payback_months : float
        Whole months to earn back CAC; ``NaN`` if not within the window.
    napkin_payback_months, napkin_ltv : float
        The articles' arithmetic on the same inputs (lifetime = 1 / annual churn).
    cs_cost_per_account, cs_cost_share : float
        Touch-model CS cost per account per year and its share of ACV.
    touch_model : str
        Name of the segment's touch model.
    touch_model_fit : TouchModelFit
        Whether that model pays for itself here.
    window_months : int
        LTV window used.
    """

    segment: str
    motions: tuple[str, ...]
    acv: float
    gross_margin: float
    annual_churn: float
    annual_expansion: float
    cac: float
    ltv: float
    ltv_cac: float
    payback_months: float
    napkin_payback_months: float
    napkin_ltv: float
    cs_cost_per_account: float
    cs_cost_share: float
    touch_model: str
    touch_model_fit: TouchModelFit
    window_months: int


def _mean(distribution, default: float = 0.0) -> float:
    return default if distribution is None else float(distribution.mean())


def _segment_cac(scenario: "Scenario", motion_names: Sequence[str]) -> float:
    """CAC of a segment won by several motions, at mean inputs.

    With a monthly budget for every motion, CAC is total spend over total expected wins
    (wins = budget / cost per lead x conversion; spend = budget + wins x sales cost per won
    deal), so a motion that gets more money counts for more. Without budgets for all of
    them, the plain average of the motions' CACs.
    """
    if not motion_names:
        return math.inf
    motions = [scenario.motions[name] for name in motion_names]
    budgets = scenario.allocation.budget_per_month
    if all(name in budgets for name in motion_names):
        spend = wins = 0.0
        for name, motion in zip(motion_names, motions):
            budget = _mean(budgets[name])
            cost_per_lead = _mean(motion.cost_per_lead)
            won = 0.0 if cost_per_lead <= 0 else budget / cost_per_lead * _mean(motion.conversion)
            spend += budget + won * _mean(motion.sales_cost_per_won)
            wins += won
        if wins > 0:
            return spend / wins
        if spend > 0:
            return math.inf  # money spent, nothing won
        # No money given to any motion: nothing to weight by, fall back to the average.
    costs = [cac(_mean(m.cost_per_lead), _mean(m.conversion), _mean(m.sales_cost_per_won))
             for m in motions]
    return float(np.mean(costs))


def scenario_economics(scenario: "Scenario") -> list[SegmentEconomics]:
    """Closed-form economics of every segment of a scenario at expected inputs.

    Every uncertain input is replaced by its mean; nothing is sampled. This is the
    "spreadsheet" view the Monte Carlo bands are read against.

    Parameters
    ----------
    scenario : simkit.scenario.model.Scenario
        A validated scenario.

    Returns
    -------
    list of SegmentEconomics
        One row per segment, in the scenario's order.

    Notes
    -----
    * CAC: see the weighting rule of multi-motion segments in ``_segment_cac``; only the
      scenario's top-level allocation is used (not a later stage's).
    * Serve cost per month = (cost to serve per year + touch-model CS cost per account per
      year) / 12, where CS cost per account = CSM cost / accounts per CSM + tooling
      (no CSM part when accounts per CSM is 0).
    * Napkin LTV uses lifetime = 1 / annual churn years and annual expansion applied once;
      napkin payback uses the computed CAC.

    Raises
    ------
    ValueError
        If a segment names a touch model the scenario does not define.
    """
    window = int(scenario.ltv_window_months)
    rows = []
    for name, segment in scenario.segments.items():
        if segment.annual_churn is not None:
            churn_per_year = _mean(segment.annual_churn)
            churn_per_month = monthly_churn(churn_per_year)
        else:
            churn_per_month = _mean(segment.monthly_churn)
            churn_per_year = annual_churn(churn_per_month)
        if segment.annual_expansion is not None:
            expansion_per_year = _mean(segment.annual_expansion)
            expansion_per_month = monthly_expansion(expansion_per_year)
        elif segment.monthly_expansion is not None:
            expansion_per_month = _mean(segment.monthly_expansion)
            expansion_per_year = annual_expansion(expansion_per_month)
        else:
            expansion_per_year = expansion_per_month = 0.0

        if segment.touch_model not in scenario.touch_models:
            raise ValueError(f"segment {name!r} uses touch model {segment.touch_model!r}, "
                             f"which the scenario does not define "
                             f"(defined: {', '.join(scenario.touch_models) or 'none'})")
        touch = scenario.touch_models[segment.touch_model]
        acv_value = _mean(segment.acv)
        margin = _mean(segment.gross_margin)
        fit = touch_model_fit(acv_value, margin, _mean(touch.csm_cost_per_year),
                              _mean(touch.accounts_per_csm),
                              _mean(touch.tooling_cost_per_account_per_year))
        serve_per_month = (_mean(segment.cost_to_serve_per_year) + fit.cs_cost_per_account) / 12.0

        motion_names = tuple(m for m, motion in scenario.motions.items() if motion.segment == name)
        segment_cac = _segment_cac(scenario, motion_names)
        value = lifetime_value(acv_value, margin, churn_per_month, expansion_per_month,
                               window, serve_per_month)
        payback = payback_months(segment_cac, acv_value, margin, churn_per_month,
                                 expansion_per_month, window, serve_per_month)
        lifetime_years = math.inf if churn_per_year == 0 else 1.0 / churn_per_year
        rows.append(SegmentEconomics(
            segment=name,
            motions=motion_names,
            acv=acv_value,
            gross_margin=margin,
            annual_churn=churn_per_year,
            annual_expansion=expansion_per_year,
            cac=segment_cac,
            ltv=value,
            ltv_cac=ltv_cac_ratio(value, segment_cac),
            payback_months=payback,
            napkin_payback_months=napkin_payback_months(segment_cac, acv_value),
            napkin_ltv=napkin_ltv(acv_value, lifetime_years, annual_expansion=expansion_per_year),
            cs_cost_per_account=fit.cs_cost_per_account,
            cs_cost_share=fit.cs_cost_share,
            touch_model=segment.touch_model,
            touch_model_fit=fit,
            window_months=window,
        ))
    return rows


_CURRENCY_SYMBOLS = {"USD": "$"}


def format_money(amount, currency: str = "USD", infinite: str = "n/a (no wins)") -> str:
    """Money as a CFO reads it: $950, $1.2K, $3.4M, $1.20B.

    Parameters
    ----------
    amount : float
        The amount.
    currency : str, default "USD"
        ISO code; USD prints as ``$``, any other code as a prefix (``EUR 1.2K``).
    infinite : str, default "n/a (no wins)"
        Text for an infinite amount: an infinite cost means nothing was won.

    Returns
    -------
    str
        Under a thousand to the unit with thousands separators; thousands and millions
        with one decimal; billions with two. ``"n/a"`` for NaN.
    """
    amount = float(amount)
    if math.isnan(amount):
        return "n/a"
    if math.isinf(amount):
        return infinite if amount > 0 else f"-{infinite}"
    prefix = _CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    sign = "-" if amount < 0 and round(abs(amount)) != 0 else ""
    size = abs(amount)
    # Decide the unit on the rounded figure, so 999,960 prints as $1.0M, not $1000.0K.
    if round(size) < 1_000:
        body = f"{size:,.0f}"
    elif round(size / 1e3, 1) < 1_000:
        body = f"{size / 1e3:.1f}K"
    elif round(size / 1e6, 1) < 1_000:
        body = f"{size / 1e6:.1f}M"
    else:
        body = f"{size / 1e9:,.2f}B"
    return f"{sign}{prefix}{body}"


def _format_ratio(ratio: float, cac_value: float) -> str:
    if math.isinf(cac_value):
        return "0 (no wins)"
    if math.isnan(ratio):
        return "n/a"
    if math.isinf(ratio):
        return "unbounded"
    return f"{ratio:.1f}:1"


def _format_months(months: float, window: int | None = None) -> str:
    if math.isnan(months):
        return f"not in {window} mo" if window else "never"
    if math.isinf(months):
        return "never"
    return f"{months:.0f} mo" if float(months).is_integer() else f"{months:.1f} mo"


def _format_share(share: float) -> str:
    return "n/a" if not math.isfinite(share) else f"{share:.1%}"


def _table(row_labels: Sequence[str], column_names: Sequence[str],
           cells: Sequence[Sequence[str]]) -> str:
    label_width = max(len(label) for label in row_labels)
    widths = [max(len(name), *(len(row[i]) for row in cells)) for i, name in enumerate(column_names)]

    def line(label, values):
        padded = (value.rjust(width) for value, width in zip(values, widths))
        return "  ".join([label.ljust(label_width), *padded]).rstrip()

    rule = "-" * (label_width + sum(width + 2 for width in widths))
    body = (line(label, row) for label, row in zip(row_labels, cells))
    return "\n".join([line("", column_names), rule, *body])


def format_economics(rows: Sequence[SegmentEconomics], currency: str = "USD") -> str:
    """A fixed-width terminal table of :func:`scenario_economics` rows.

    One column per segment, one line per metric (segments are few, metrics many), then
    one line per segment explaining its touch-model verdict.

    Parameters
    ----------
    rows : sequence of SegmentEconomics
    currency : str, default "USD"

    Returns
    -------
    str
    """
    if not rows:
        return "(no segments)"

    def money(x):
        return format_money(x, currency)

    lines = [
        ("ACV (annual contract value)", [money(r.acv) for r in rows]),
        ("Gross margin", [_format_share(r.gross_margin) for r in rows]),
        ("Annual logo churn", [_format_share(r.annual_churn) for r in rows]),
        ("Annual expansion", [_format_share(r.annual_expansion) for r in rows]),
        ("CAC (cost to win a customer)", [money(r.cac) for r in rows]),
        ("LTV (margin less serve cost)", [money(r.ltv) for r in rows]),
        ("LTV:CAC", [_format_ratio(r.ltv_cac, r.cac) for r in rows]),
        ("Payback", [_format_months(r.payback_months, r.window_months) for r in rows]),
        ("Napkin payback (CAC/MRR)", [_format_months(r.napkin_payback_months) for r in rows]),
        ("Napkin LTV (ACV x lifetime)", [money(r.napkin_ltv) for r in rows]),
        ("CS cost per account / year", [money(r.cs_cost_per_account) for r in rows]),
        ("CS cost, share of ACV", [_format_share(r.cs_cost_share) for r in rows]),
        ("Touch model", [r.touch_model for r in rows]),
        ("Touch model fit", [r.touch_model_fit.verdict for r in rows]),
    ]
    table = _table([label for label, _ in lines], [r.segment for r in rows],
                   [cells for _, cells in lines])
    window = rows[0].window_months
    notes = [f"At expected inputs; LTV and payback over a {window}-month window, "
             f"survival-weighted, on gross margin."]
    notes += [f"  {r.segment}: {r.touch_model_fit.reason}" for r in rows]
    return table + "\n\n" + "\n".join(notes)


def format_worked_examples(currency: str = "USD") -> str:
    """The articles' worked examples as a terminal table, stated and computed CAC side by side.

    Returns
    -------
    str
    """
    examples = worked_examples()

    prefix = _CURRENCY_SYMBOLS.get(currency, f"{currency} ")

    def money(x):
        # To the unit, not $4.7K: the point of this table is the gap between two CACs.
        return f"{prefix}{x:,.0f}"

    def uplift(e: WorkedExample) -> str:
        if e.nrr is not None:
            return f"NRR {e.nrr:.0%}"
        if e.annual_expansion is not None:
            return f"+{e.annual_expansion:.0%}/yr"
        return "none"

    lines = [
        ("Cost per lead", [money(e.cost_per_lead) for e in examples]),
        ("Conversion lead -> won", [f"{e.conversion:.0%}" for e in examples]),
        ("Sales cost per won deal", [money(e.sales_cost_per_won) for e in examples]),
        ("ACV", [money(e.acv) for e in examples]),
        ("Lifetime", [f"{e.lifetime_years:g} yr" for e in examples]),
        ("Uplift (applied once)", [uplift(e) for e in examples]),
        ("CAC as stated in article", [money(e.stated_cac) for e in examples]),
        ("CAC from article's inputs", [money(e.computed_cac) for e in examples]),
        ("Napkin payback, stated CAC", [_format_months(e.payback_months_stated_cac) for e in examples]),
        ("Napkin payback, computed CAC", [_format_months(e.payback_months_computed_cac) for e in examples]),
        ("Napkin LTV", [money(e.napkin_ltv) for e in examples]),
        ("LTV:CAC, stated CAC", [_format_ratio(e.ltv_cac_stated, e.stated_cac) for e in examples]),
        ("LTV:CAC, computed CAC", [_format_ratio(e.ltv_cac_computed, e.computed_cac) for e in examples]),
    ]
    table = _table([label for label, _ in lines], [e.segment for e in examples],
                   [cells for _, cells in lines])
    note = ("Napkin math as the articles do it: payback = CAC / (ACV / 12) on revenue, LTV = ACV x "
            "lifetime x uplift. The mid-market and enterprise CAC they state does not follow from "
            "their inputs (cost per lead / conversion + sales cost per deal); both are shown.")
    return table + "\n\n" + note
