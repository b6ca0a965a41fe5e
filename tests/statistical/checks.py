"""The statistical validation checks: simulated values against closed forms and
independent implementations, each with its Monte Carlo standard error.

Every check function returns a list of :class:`Check` rows. The tests
(``test_statistical.py``) assert that every row passes; the report
(``python -m tests.statistical.report``) runs the very same functions and writes the rows
into ``docs/validation.md``, so the document shows the numbers the tests saw.

Two kinds of row:

* **Monte Carlo** rows compare a simulated mean (or variance, ratio, correlation) with its
  exact expectation. The tolerance is ``Z = 4`` standard errors of the simulated estimate;
  the standard error comes from the theory where it is known exactly (binomial counts)
  and from the sample otherwise (sample standard deviation over sqrt(draws), the delta
  method for ratios, Fisher's z for rank correlations).
* **Exact** rows compare numbers that must agree to rounding (a closed form recomputed by
  an independent plain-Python loop, the articles' worked examples, a direct count); the
  tolerance is a relative 1e-9.

Seeds are fixed, so every run of a row gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from simkit import economics as econ
from simkit.scenario import from_dict
from simkit.scenario.defaults import DEFAULT_TOUCH_MODELS
from simkit.simulation import simulate
from simkit.summarize import DEFAULT_QUANTILES, bands, threshold_probabilities

Z = 4.0  # tolerance in Monte Carlo standard errors
EXACT = 1e-9  # relative tolerance of exact rows
TECH_TOOLING = DEFAULT_TOUCH_MODELS["tech_touch"]["tooling_cost_per_account_per_year"]


@dataclass(frozen=True)
class Check:
    """One row of the validation table."""

    id: str
    title: str
    reference: str  # the closed form or independent implementation compared against
    expected: float
    simulated: float
    std_error: float | None  # Monte Carlo standard error; None for an exact row
    tolerance: float  # largest |simulated - expected| that passes
    detail: str = ""
    #: set when the comparison is made on another scale (Spearman's rho on Fisher's z)
    verdict: bool | None = None

    @property
    def difference(self) -> float:
        return abs(self.simulated - self.expected)

    @property
    def passed(self) -> bool:
        if self.verdict is not None:
            return self.verdict
        return bool(self.difference <= self.tolerance)

    @property
    def z(self) -> float | None:
        """|difference| in standard errors (Monte Carlo rows)."""
        if self.std_error is None:
            return None
        return self.difference / self.std_error if self.std_error > 0 else (0.0 if self.difference == 0 else math.inf)


def mc(id, title, reference, expected, simulated, std_error, detail="") -> Check:
    return Check(id, title, reference, float(expected), float(simulated), float(std_error), Z * float(std_error),
                 detail)


def exact(id, title, reference, expected, simulated, detail="", relative=EXACT) -> Check:
    expected, simulated = float(expected), float(simulated)
    return Check(id, title, reference, expected, simulated, None, relative * max(1.0, abs(expected)), detail)


def sample_se(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1) / math.sqrt(values.size))


def ratio_se(numerators, denominators) -> tuple[float, float]:
    """Ratio of totals sum(x) / sum(y) over draws and its delta-method standard error."""
    x, y = np.asarray(numerators, dtype=float), np.asarray(denominators, dtype=float)
    r = x.sum() / y.sum()
    residual = x - r * y
    return float(r), float(math.sqrt(residual.var(ddof=1) / x.size) / y.mean())


def variance_se(sigma2: float, mu4: float, m: int) -> float:
    """Standard error of the unbiased sample variance of m iid values (Cramer 1946)."""
    return math.sqrt(mu4 / m - sigma2**2 * (m - 3) / (m * (m - 1)))


def scenario(segment: dict | None = None, motion: dict | None = None, budget: float | None = 10_000,
             horizon: int = 12, **extra):
    """One segment ("s", tech touch, fixed inputs) and at most one motion ("m")."""
    data = {
        "scenario": {"name": "validation", "horizon_months": horizon, "draws": 1_000, "seed": 1},
        "company": {"starting_cash": 10_000_000, "fixed_opex_per_month": 20_000},
        "segments": {"s": {"acv": 2_400, "gross_margin": 0.8, "annual_churn": 0.2, **(segment or {})}},
    }
    if motion is not None:
        data["motions"] = {"m": {"segment": "s", "cost_per_lead": 100, "conversion": 0.1, **motion}}
        data["allocation"] = {"budget_per_month": {"m": budget}}
    for key, value in extra.items():
        data[key] = value
    return from_dict(data)


# =========================================================================================
# 1. wins: binomial counts
# =========================================================================================
def check_binomial_wins() -> list[Check]:
    """Fixed budget 5,000 at 100 a lead: 50 whole leads a month, conversion 0.3; every
    (draw, month) is one Binomial(50, 0.3) variate."""
    n, p, draws, months = 50, 0.3, 4_000, 12
    ds = simulate(scenario(motion={"conversion": p}, budget=n * 100, horizon=months), draws=draws, seed=101)
    won = ds["won"].values.ravel()
    m = won.size
    mean, var = n * p, n * p * (1 - p)
    mu4 = var * (1 + 3 * (n - 2) * p * (1 - p))
    return [
        mc("wins-mean", "Won deals per month: mean", "Binomial(n, p) mean n p (n = 50 leads, p = 0.3)",
           mean, won.mean(), math.sqrt(var / m), f"{m:,} (draw, month) values; SE = sqrt(n p (1-p) / m)"),
        mc("wins-variance", "Won deals per month: variance", "Binomial variance n p (1 - p)",
           var, won.var(ddof=1), variance_se(var, mu4, m),
           "SE of the sample variance from the binomial's 4th central moment n p q (1 + 3 (n - 2) p q)"),
    ]


def check_fractional_leads() -> list[Check]:
    """50.5 leads a month: a whole lead plus a Bernoulli(0.5) one, so E[leads] stays exact."""
    leads, p, draws, months = 50.5, 0.3, 4_000, 12
    ds = simulate(scenario(motion={"conversion": p}, budget=leads * 100, horizon=months), draws=draws, seed=102)
    won = ds["won"].values.ravel()
    fraction = leads - math.floor(leads)
    var = leads * p * (1 - p) + p**2 * fraction * (1 - fraction)  # E[Var | N] + Var(E | N)
    return [mc("wins-fractional-leads", "Fractional leads: wins per month", "E[won] = (spend / cost per lead) p, "
               "leads rounded by Bernoulli(fraction)", leads * p, won.mean(), math.sqrt(var / won.size),
               "variance by the law of total variance: 50.5 p q + p^2 f (1 - f)")]


def check_no_churn_arr() -> list[Check]:
    """No churn, no starting customers: ARR at the horizon = ACV x Binomial(H n, p)."""
    n, p, acv, horizon, draws = 100, 0.1, 2_400, 24, 4_000
    ds = simulate(scenario({"annual_churn": 0, "acv": acv}, motion={"conversion": p}, budget=n * 100,
                           horizon=horizon), draws=draws, seed=103)
    arr = ds["arr_final"].values[:, 0]
    trials = horizon * n
    return [mc("arr-no-churn", "ARR at horizon, no churn", "H x leads x conversion x ACV = 24 x 100 x 0.1 x 2,400",
               trials * p * acv, arr.mean(), acv * math.sqrt(trials * p * (1 - p) / draws),
               "arr_final = ACV x Binomial(H n, p) exactly; SE from the binomial")]


# =========================================================================================
# 2. churn: survival and churn counts
# =========================================================================================
def check_cohort_survival() -> list[Check]:
    """A cohort of 1,000, no acquisition: customers after month t ~ Binomial(N, (1-c)^(t+1))."""
    n0, annual, draws, horizon = 1_000, 0.3, 4_000, 24
    ds = simulate(scenario({"annual_churn": annual, "starting_customers": n0}, horizon=horizon), draws=draws,
                  seed=104)
    c = 1 - (1 - annual) ** (1 / 12)  # monthly churn (DOMAIN.md section 7), computed here independently
    rows = []
    for t in (0, 11, 23):
        survival = (1 - c) ** (t + 1)
        customers = ds["customers"].values[:, 0, t]
        rows.append(mc(f"survival-month-{t}", f"Cohort survivors after month {t}",
                       f"N (1 - c)^(t+1), c = 1 - (1 - {annual})^(1/12)", n0 * survival, customers.mean(),
                       math.sqrt(n0 * survival * (1 - survival) / draws), "survivors ~ Binomial(N, (1 - c)^(t+1))"))
    # churned in month t: each customer independently churns in month t with prob (1-c)^t c
    t = 5
    share = (1 - c) ** t * c
    churned = ds["churned"].values[:, 0, t]
    rows.append(mc("churned-month-5", "Churned in month 5", "N (1 - c)^t c", n0 * share, churned.mean(),
                   math.sqrt(n0 * share * (1 - share) / draws), "churned(t) ~ Binomial(N, (1 - c)^t c)"))
    # annual churn realised over two years equals the written annual rate: 1 - (1 - c)^12
    total_churned = ds["churned"].values[:, 0, :].sum(axis=1)
    exposure = (ds["customers"] + ds["churned"]).values[:, 0, :].sum(axis=1)
    rate, se = ratio_se(total_churned, exposure)
    grr, grr_se = (1 - rate) ** 12, 12 * (1 - rate) ** 11 * se
    rows.append(mc("grr-pooled", "GRR from realised churn", "GRR = 1 - annual churn = 0.7", 1 - annual, grr, grr_se,
                   "pooled churned / customer-months over draws; delta-method SE"))
    return rows


def check_retention_metrics() -> list[Check]:
    """NRR and GRR: per-draw identities and their expectation against the closed forms."""
    annual, expansion, n0, draws = 0.15, 0.10, 2_000, 2_000
    ds = simulate(scenario({"annual_churn": annual, "annual_expansion": expansion, "starting_customers": n0},
                           horizon=24), draws=draws, seed=105)
    churned = ds["churned"].values[:, 0, :].sum(axis=1)
    exposure = (ds["customers"] + ds["churned"]).values[:, 0, :].sum(axis=1)
    realised = churned / exposure
    g = (1 + expansion) ** (1 / 12) - 1
    grr_loop = (1 - realised) ** 12
    nrr_loop = grr_loop * (1 + g) ** 12
    rate, se = ratio_se(churned, exposure)
    nrr_pooled = (1 - rate) ** 12 * (1 + expansion)
    nrr_se = 12 * (1 - rate) ** 11 * se * (1 + expansion)
    return [
        exact("grr-identity", "GRR metric = (1 - realised monthly churn)^12", "recomputed from the churn and exposure "
              "paths, every draw", grr_loop.mean(), ds["grr"].values[:, 0].mean(),
              f"max |difference| over draws {np.abs(ds['grr'].values[:, 0] - grr_loop).max():.1e}"),
        exact("nrr-identity", "NRR metric = GRR x (1 + monthly expansion)^12", "recomputed, every draw",
              nrr_loop.mean(), ds["nrr"].values[:, 0].mean(),
              f"max |difference| over draws {np.abs(ds['nrr'].values[:, 0] - nrr_loop).max():.1e}"),
        mc("nrr-closed-form", "NRR in expectation", "(1 - annual churn)(1 + annual expansion) = 0.85 x 1.10",
           (1 - annual) * (1 + expansion), nrr_pooled, nrr_se, "pooled realised churn; delta-method SE"),
    ]


def check_uncovered_churn() -> list[Check]:
    """High touch, 240 accounts, 10 CSMs x 12 accounts: half covered, uncovered churn x2."""
    n0, csms, annual, draws = 240, 10, 0.1, 6_000
    tm = DEFAULT_TOUCH_MODELS["high_touch"]
    sc = scenario({"annual_churn": annual, "starting_customers": n0, "touch_model": "high_touch", "acv": 120_000},
                  horizon=1, allocation={"csms": {"s": csms}})
    ds = simulate(sc, draws=draws, seed=106)
    coverage = csms * tm["accounts_per_csm"] / n0
    c = 1 - (1 - annual) ** (1 / 12)
    q = c * (coverage + (1 - coverage) * tm["uncovered_churn_multiplier"])
    churned = ds["churned"].values[:, 0, 0]
    return [
        exact("coverage", "CSM coverage", "csms x accounts per CSM / accounts = 10 x 12 / 240", coverage,
              float(ds["coverage"].values[:, 0, 0].mean())),
        mc("uncovered-churn", "Churned in month 0, half uncovered", "N c (coverage + (1 - coverage) x multiplier) "
           "= 240 c x 1.5", n0 * q, churned.mean(), math.sqrt(n0 * q * (1 - q) / draws),
           "churned ~ Binomial(N, q)"),
    ]


# =========================================================================================
# 3. revenue and LTV
# =========================================================================================
def _geometric(ratio: float, months: int) -> float:
    total, term = 0.0, 1.0
    for _ in range(months):  # a plain loop: independent of economics' closed form
        total += term
        term *= ratio
    return total


def check_cohort_revenue_ltv() -> list[Check]:
    """Expected gross-margin revenue of a customer over H months (DOMAIN.md section 7):
    (ACV/12) GM sum_{k<H} ((1-c)(1+g))^k; simulated as a cohort of 500 customers."""
    n0, acv, gm, annual, expansion, horizon, draws = 500, 12_000, 0.8, 0.2, 0.15, 36, 3_000
    ds = simulate(scenario({"acv": acv, "gross_margin": gm, "annual_churn": annual, "annual_expansion": expansion,
                            "starting_customers": n0}, horizon=horizon), draws=draws, seed=107)
    c = 1 - (1 - annual) ** (1 / 12)
    g = (1 + expansion) ** (1 / 12) - 1
    per_customer = acv / 12 * gm * _geometric((1 - c) * (1 + g), horizon)
    revenue = gm * ds["mrr"].values[:, 0, :].sum(axis=1) / n0
    rows = [mc("ltv-cohort", "Gross-margin revenue per customer over 36 months",
               "(ACV/12) GM sum_{k<H} ((1-c)(1+g))^k (plain loop)", per_customer, revenue.mean(), sample_se(revenue),
               "cohort of 500 starting customers, no acquisition; SE from the sample")]
    # the closed form in economics agrees with the loop
    rows.append(exact("ltv-closed-form", "economics.lifetime_value vs the loop", "same sum, closed form (two "
                      "geometric series)", per_customer, econ.lifetime_value(acv, gm, c, g, horizon)))
    # infinite window, no expansion: (ACV/12) GM / c
    rows.append(exact("ltv-infinite", "LTV, infinite window, no expansion", "(ACV/12) GM / c",
                      acv / 12 * gm / c, econ.lifetime_value(acv, gm, c, 0.0, math.inf)))
    # the per-draw LTV metric is the series at the draw's realised churn and serve cost
    window = int(ds.attrs["ltv_window_months"])
    churned = ds["churned"].values[:, 0, :].sum(axis=1)
    exposure = (ds["customers"] + ds["churned"]).values[:, 0, :].sum(axis=1)
    realised = churned / exposure
    serve = ds["cs_cost"].values[:, 0, :].sum(axis=1) / exposure
    loop = np.array([sum((1 - r) ** k * (acv / 12 * gm * (1 + g) ** k - s) for k in range(window))
                     for r, s in zip(realised[:200], serve[:200])])
    metric = ds["ltv"].values[:200, 0]
    worst = float(np.max(np.abs(metric - loop) / np.abs(loop)))
    rows.append(exact("ltv-metric", "LTV metric = series at realised churn, less serve cost",
                      "sum_{k<W} (1-c^)^k (ACV/12 GM (1+g)^k - s^), plain loop, 200 draws", loop.mean(),
                      metric.mean(), f"largest relative difference of a draw {worst:.1e}"))
    return rows


# =========================================================================================
# 4. CAC and payback
# =========================================================================================
def check_cac() -> list[Check]:
    """100 leads a month at 100 each, conversion 0.1, 250 sales cost per deal, 12 months."""
    n, p, cost_per_lead, sales, horizon, draws = 100, 0.1, 100, 250, 12, 4_000
    sc = scenario(motion={"conversion": p, "sales_cost_per_won": sales, "cost_per_lead": cost_per_lead},
                  budget=n * cost_per_lead, horizon=horizon)
    ds = simulate(sc, draws=draws, seed=108)
    cac = ds["cac"].values[:, 0]
    won = ds["customers_won"].values[:, 0]
    # exact E[CAC] = H B E[1/W] + s with W ~ Binomial(H n, p) (P(W = 0) ~ 1e-55)
    trials = horizon * n
    w = np.arange(1, trials + 1)
    inverse = float(np.sum(stats.binom.pmf(w, trials, p) / w))
    expected = horizon * n * cost_per_lead * inverse + sales
    spend = cac * won
    pooled, pooled_se = ratio_se(spend, won)
    off = simulate(sc, draws=50, seed=108, process_noise=False)
    return [
        mc("cac-mean", "CAC: mean over draws", "H x budget x E[1/W] + sales cost, W ~ Binomial(H n, p), E[1/W] "
           "summed over the exact pmf", expected, cac.mean(), sample_se(cac),
           "not cost per lead / conversion + sales cost: E[1/W] > 1/E[W] (Jensen)"),
        mc("cac-pooled", "CAC: total spend / total wins", "cost per lead / conversion + sales cost per won = "
           "100 / 0.1 + 250", econ.cac(cost_per_lead, p, sales), pooled, pooled_se, "ratio of totals over draws; "
           "delta-method SE"),
        exact("cac-expectation", "CAC with counts at their expectations", "economics.cac = 1,250",
              econ.cac(cost_per_lead, p, sales), float(off["cac"].values[:, 0].max()), "process_noise=False"),
    ]


def check_lag() -> list[Check]:
    """A 3-month sales cycle: nothing lands before month 3; then n p a month."""
    n, p, lag, horizon, draws = 100, 0.2, 3, 12, 3_000
    ds = simulate(scenario(motion={"conversion": p, "sales_cycle_months": lag}, budget=n * 100, horizon=horizon),
                  draws=draws, seed=109)
    won = ds["won"].values[:, 0, :]
    later = won[:, lag:].ravel()
    return [
        exact("lag-nothing-early", "Deals landing before the sales cycle ends", "0 in months 0-2", 0.0,
              float(won[:, :lag].max())),
        mc("lag-wins", "Deals landing per month after the cycle", "n p = 100 x 0.2", n * p, later.mean(),
           math.sqrt(n * p * (1 - p) / later.size)),
        mc("lag-cac-wins", "Deals counted in CAC (close within the horizon)", "(H - L) n p = 9 x 20",
           (horizon - lag) * n * p, ds["customers_won"].values[:, 0].mean(),
           math.sqrt((horizon - lag) * n * p * (1 - p) / draws)),
    ]


def check_noise_off_closed_forms() -> list[Check]:
    """Counts at their expectations, fixed inputs: the engine equals economics exactly."""
    acv, gm, annual, expansion, cts, cost_per_lead, p, sales = 24_000, 0.72, 0.12, 0.08, 600, 400, 0.25, 2_000
    sc = scenario({"acv": acv, "gross_margin": gm, "annual_churn": annual, "annual_expansion": expansion,
                   "cost_to_serve_per_year": cts, "starting_customers": 50},
                  motion={"cost_per_lead": cost_per_lead, "conversion": p, "sales_cost_per_won": sales},
                  budget=40_000, horizon=36)
    ds = simulate(sc, draws=20, seed=110, process_noise=False)
    c = econ.monthly_churn(annual)
    g = econ.monthly_expansion(expansion)
    serve = (TECH_TOOLING + cts) / 12
    cac = econ.cac(cost_per_lead, p, sales)
    window = int(ds.attrs["ltv_window_months"])
    ltv = econ.lifetime_value(acv, gm, c, g, window, serve)
    return [
        exact("noise-off-ltv", "LTV, counts at expectations", "economics.lifetime_value(ACV, GM, c, g, W, serve)", ltv,
              float(ds["ltv"].values[:, 0].max())),
        exact("noise-off-payback", "Payback, counts at expectations", "economics.payback_months(CAC, ...)",
              econ.payback_months(cac, acv, gm, c, g, window, serve), float(ds["payback_months"].values[:, 0].max())),
        exact("noise-off-ltv-cac", "LTV:CAC, counts at expectations", "LTV / (cost per lead / conversion + sales "
              "cost)", ltv / cac, float(ds["ltv_cac"].values[:, 0].max())),
    ]


# =========================================================================================
# 5. the whole month: an independent expected-value recursion
# =========================================================================================
def _expected_path(n0, acv, gm, annual, expansion, leads, p, sales, budget, tooling, opex, cash0, horizon):
    """E[customers], E[total ARR], E[cash] month by month, by the model's recursion in
    expectation (docs/model.md section 2), written out independently of the engine."""
    c = 1 - (1 - annual) ** (1 / 12)
    g = (1 + expansion) ** (1 / 12) - 1
    customers, mrr, cash = float(n0), n0 * acv / 12, float(cash0)
    path = []
    for _ in range(horizon):
        won = leads * p
        active = customers + won
        mrr += won * acv / 12
        cash += gm * mrr - (budget + sales * won) - active * tooling / 12 - opex
        arr = 12 * mrr
        customers = active * (1 - c)
        mrr *= (1 - c) * (1 + g)
        path.append((customers, arr, cash))
    return path


def check_expected_month_recursion() -> list[Check]:
    """With tech touch (coverage 1), whole leads and no lag, every path is linear in the
    binomial counts, so its expectation follows the recursion at expected counts."""
    n0, acv, gm, annual, expansion, p, sales, budget, opex, cash0, horizon, draws = (
        300, 3_000, 0.75, 0.25, 0.05, 0.12, 150, 8_000, 20_000, 10_000_000, 24, 4_000)
    leads = budget / 100
    sc = scenario({"acv": acv, "gross_margin": gm, "annual_churn": annual, "annual_expansion": expansion,
                   "starting_customers": n0}, motion={"conversion": p, "sales_cost_per_won": sales}, budget=budget,
                  horizon=horizon)
    ds = simulate(sc, draws=draws, seed=111)
    path = _expected_path(n0, acv, gm, annual, expansion, leads, p, sales, budget, TECH_TOOLING, opex, cash0, horizon)
    customers, arr, cash = path[-1]
    sim_customers = ds["customers"].values[:, 0, -1]
    sim_arr = ds["total_arr"].values[:, -1]
    sim_cash = ds["cash_final"].values
    off = simulate(sc, draws=10, seed=111, process_noise=False)
    worst = max(abs(off["cash"].values[0, t] - path[t][2]) / abs(path[t][2]) for t in range(horizon))
    return [
        mc("recursion-customers", "Customers at the horizon", "expected-value recursion (plain Python)", customers,
           sim_customers.mean(), sample_se(sim_customers)),
        mc("recursion-arr", "Total ARR at the horizon", "expected-value recursion", arr, sim_arr.mean(),
           sample_se(sim_arr)),
        mc("recursion-cash", "Cash at the horizon", "expected-value recursion", cash, sim_cash.mean(),
           sample_se(sim_cash)),
        exact("recursion-noise-off", "Cash path, counts at expectations", "expected-value recursion, every month",
              cash, float(off["cash"].values[0, -1]), f"largest relative difference over months {worst:.1e}"),
    ]


# =========================================================================================
# 6. parameter uncertainty: marginals and the copula
# =========================================================================================
def check_correlated_inputs() -> list[Check]:
    """Two beta inputs tied by a rank correlation of -0.5 (Gaussian copula), and one
    independent lognormal."""
    rho, draws = -0.5, 20_000
    churn = {"beta": {"mean": 0.2, "concentration": 50}}
    conversion = {"beta": {"mean": 0.1, "concentration": 80}}
    sc = scenario({"annual_churn": churn, "acv": {"lognormal": {"median": 2_400, "sigma": 0.3}}},
                  motion={"conversion": conversion}, horizon=1,
                  correlations=[{"between": ["segments.s.annual_churn", "motions.m.conversion"],
                                 "rank_correlation": rho}])
    ds = simulate(sc, draws=draws, seed=112, keep_paths=False)
    sampled = ds["sampled"]
    a = sampled.sel(input="segments.s.annual_churn").values
    b = sampled.sel(input="motions.m.conversion").values
    acv = sampled.sel(input="segments.s.acv").values
    se_z = math.sqrt(1.06 / (draws - 3))  # Fieller, Hartley & Pearson (1957) for Spearman's rho

    def spearman_row(id, title, x, y, target):
        r = float(stats.spearmanr(x, y).statistic)
        # Compared on Fisher's z scale, where the SE is known and symmetric; the SE shown
        # is the same one carried back to the rho scale, (1 - rho^2) x SE(z).
        z_gap = abs(math.atanh(r) - math.atanh(target))
        se_rho = se_z * (1 - target**2)
        return Check(id, title, "scipy.stats.spearmanr vs the rho written; SE(z) = sqrt(1.06 / (n - 3)) (Fieller, "
                     "Hartley & Pearson 1957)", target, r, se_rho, Z * se_rho,
                     f"|z(r) - z(rho)| = {z_gap / se_z:.2f} SE on Fisher's z scale", verdict=bool(z_gap <= Z * se_z))

    m, k = 0.2, 50
    beta_sd = math.sqrt(m * (1 - m) / (k + 1))
    mu, sigma = math.log(2_400), 0.3
    return [
        spearman_row("copula-rank-correlation", "Rank correlation of correlated inputs", a, b, rho),
        spearman_row("independent-inputs", "Rank correlation of independent inputs", a, acv, 0.0),
        mc("copula-marginal-mean", "Marginal mean under the copula", "Beta(mean 0.2, concentration 50) mean",
           m, a.mean(), beta_sd / math.sqrt(draws), "SE from the Beta's sd: sqrt(m (1 - m) / (k + 1))"),
        mc("lognormal-mean", "Lognormal input mean", "exp(mu + sigma^2 / 2)", math.exp(mu + sigma**2 / 2),
           acv.mean(), math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2) / draws)),
    ]


# =========================================================================================
# 7. summaries: threshold probabilities and bands against direct computations
# =========================================================================================
def _example_run():
    from pathlib import Path

    from simkit.scenario import load

    root = Path(__file__).resolve().parents[2]
    return simulate(load(root / "scenarios" / "early_growth_mid_market.toml"), draws=3_000, seed=113)


def check_threshold_probabilities() -> list[Check]:
    """The example early_growth_mid_market (3,000 draws): every threshold probability and
    its standard error against a direct count over the draws."""
    ds = _example_run()
    probabilities = threshold_probabilities(ds)
    worst_p = worst_se = 0.0
    count = 0
    for segment in ds["segment"].values:
        for key in ds["threshold"].values:
            bound = float(ds["threshold_value"].sel(segment=segment, threshold=key))
            if math.isnan(bound):
                continue
            metric = str(ds["threshold_metric"].sel(threshold=key).values)
            values = ds[metric].sel(segment=segment).values
            with np.errstate(invalid="ignore"):  # NaN payback never clears; inf CAC never clears a maximum
                clears = values >= bound if str(ds["threshold_comparison"].sel(threshold=key).values) == ">=" \
                    else values <= bound
            direct = float(np.mean(clears & ~np.isnan(values)))
            got = probabilities.sel(segment=segment, threshold=key)
            worst_p = max(worst_p, abs(float(got["probability"]) - direct))
            worst_se = max(worst_se, abs(float(got["std_error"]) - math.sqrt(direct * (1 - direct) / values.size)))
            count += 1
    return [
        exact("threshold-count", "Threshold probabilities", f"direct count of draws clearing each threshold "
              f"({count} segment thresholds)", 0.0, worst_p, "value shown: largest |difference|"),
        exact("threshold-se", "Their standard errors", "sqrt(p (1 - p) / n)", 0.0, worst_se,
              "value shown: largest |difference|"),
    ]


def check_bands() -> list[Check]:
    """The same run: bands against numpy.quantile, and the "never" rule for payback."""
    ds = _example_run()
    band = bands(ds)
    q = np.asarray(DEFAULT_QUANTILES)
    worst = 0.0
    names = ["ltv", "ltv_cac", "arr_final", "cash_final", "total_arr_final", "customers", "cash"]
    for name in names:
        values = ds[name].values
        if not np.all(np.isfinite(values)):
            continue
        reference = np.moveaxis(np.quantile(values, q, axis=0, method="linear"), 0, 0)
        got = band[name].transpose("quantile", ...).values
        scale = np.maximum(1.0, np.abs(reference))
        worst = max(worst, float(np.max(np.abs(got - reference) / scale)))
    # payback: NaN means "never" and ranks as +inf (docs/model.md section 5)
    payback = np.sort(np.where(np.isnan(ds["payback_months"].values), np.inf, ds["payback_months"].values), axis=0)
    n = payback.shape[0]
    payback_worst = 0.0
    for i, quantile in enumerate(q):
        position = quantile * (n - 1)
        low, high = int(math.floor(position)), min(int(math.floor(position)) + 1, n - 1)
        weight = position - low
        for s in range(payback.shape[1]):
            a, b = payback[low, s], payback[high, s]
            want = a if weight == 0 else (b if (math.isinf(a) or math.isinf(b)) else a + weight * (b - a))
            got = float(band["payback_months"].values[i, s])
            if not (want == got or (math.isinf(want) and math.isinf(got))):
                payback_worst = max(payback_worst, abs(got - want) if math.isfinite(got - want) else math.inf)
    return [
        exact("bands-numpy", "Bands (p5 ... p95)", f"numpy.quantile(method='linear') on {', '.join(names)}", 0.0,
              worst, "value shown: largest relative difference"),
        exact("bands-never", "Payback bands with 'never'", "NaN ranked +inf, a quantile touching +inf is +inf "
              "(written out per quantile)", 0.0, payback_worst, "value shown: largest |difference|"),
    ]


# =========================================================================================
# 8. the articles' worked examples (economics)
# =========================================================================================
def check_worked_examples() -> list[Check]:
    """The articles' worked examples (DOMAIN.md section 5) through simkit.economics, and the
    annual-to-monthly rate conversions."""
    smb, mid, ent = econ.worked_examples()
    stated = "DOMAIN.md section 5 (the articles)"
    return [
        exact("article-smb-cac", "SMB CAC", f"{stated}: $100 / 10%", 1_000, smb.computed_cac),
        exact("article-smb-payback", "SMB payback (napkin)", f"{stated}: CAC / (ACV / 12) = 5 months", 5,
              smb.payback_months_computed_cac),
        exact("article-smb-ltv", "SMB LTV (napkin)", f"{stated}: $2,400 x 2.5 yr", 6_000, smb.napkin_ltv),
        exact("article-smb-ltv-cac", "SMB LTV:CAC", f"{stated}: 6:1", 6, smb.ltv_cac_computed),
        exact("article-mid-cac", "Mid-market CAC from its inputs", "$500 / 30% + $3,000 (the article states $4,000)",
              500 / 0.3 + 3_000, mid.computed_cac),
        exact("article-mid-payback", "Mid-market payback at the stated CAC", f"{stated}: 2.4 months", 2.4,
              mid.payback_months_stated_cac),
        exact("article-mid-ltv", "Mid-market LTV (napkin)", f"{stated}: $20,000 x 4 yr x 110% NRR", 88_000,
              mid.napkin_ltv),
        exact("article-mid-ltv-cac", "Mid-market LTV:CAC at the stated CAC", f"{stated}: 22:1", 22,
              mid.ltv_cac_stated),
        exact("article-ent-cac", "Enterprise CAC from its inputs", "$10,000 / 20% + $40,000 (the article states "
              "$50,000)", 90_000, ent.computed_cac),
        exact("article-ent-payback", "Enterprise payback at the stated CAC", f"{stated}: 3 months", 3,
              ent.payback_months_stated_cac),
        exact("article-ent-ltv", "Enterprise LTV (napkin)", f"{stated}: $200,000 x 5 yr x 1.2", 1_200_000,
              ent.napkin_ltv),
        exact("article-ent-ltv-cac", "Enterprise LTV:CAC at the stated CAC", f"{stated}: 24:1", 24,
              ent.ltv_cac_stated),
        exact("article-compounding", "$500K at 120% NRR for 5 years", "500K x (1 + 1.2 + 1.2^2 + 1.2^3 + 1.2^4)",
              500_000 * sum(1.2**k for k in range(5)), econ.compounding_value(500_000, 1.2, 5)),
        exact("monthly-churn", "20% a year as monthly churn", "1 - (1 - 0.2)^(1/12) (DOMAIN.md section 7)",
              1 - 0.8 ** (1 / 12), econ.monthly_churn(0.2)),
        exact("monthly-expansion", "10% a year as monthly expansion", "(1 + 0.1)^(1/12) - 1",
              1.1 ** (1 / 12) - 1, econ.monthly_expansion(0.1)),
    ]


#: Every check, in the order of the report.
CHECKS: list[Callable[[], list[Check]]] = [
    check_binomial_wins,
    check_fractional_leads,
    check_no_churn_arr,
    check_cohort_survival,
    check_retention_metrics,
    check_uncovered_churn,
    check_cohort_revenue_ltv,
    check_cac,
    check_lag,
    check_noise_off_closed_forms,
    check_expected_month_recursion,
    check_correlated_inputs,
    check_threshold_probabilities,
    check_bands,
    check_worked_examples,
]
