"""Tests of the monthly engine through :func:`simkit.simulate`.

Four kinds of check, each able to fail:

* exact invariants that hold draw by draw whatever the randomness (conservation of
  customers, whole-number counts, metrics recomputed from the paths);
* with process noise off and fixed inputs, the simulation equals the closed forms of
  :mod:`simkit.economics` and a plain-Python reimplementation of the monthly step;
* with process noise and uncertain inputs, Monte Carlo means and variances match values
  computed independently (numerical integration, exact binomial moments), within 4 Monte
  Carlo standard errors computed from the theory or the sample, never a hard-coded output;
* determinism (bit-identical Datasets for any workers / chunk size), stage switching,
  degenerate inputs, and the CS-coverage effect under common random numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import integrate, stats

from simkit import economics as econ
from simkit import simulate
from simkit.simulation import BLOCK_DRAWS

from simkit.scenario.defaults import DEFAULT_TOUCH_MODELS

# Built-in tech-touch tooling cost per account per year (no CSM).
TECH_TOOLING = DEFAULT_TOUCH_MODELS["tech_touch"]["tooling_cost_per_account_per_year"]

Z = 4.0  # tolerance in Monte Carlo standard errors


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def reached_stage(floors, total_arr):
    """Index of the highest stage whose floor total_arr reaches (the engine's rule)."""
    return np.searchsorted(floors, total_arr, side="right") - 1


def variance_of_sample_variance(sigma2, mu4, m):
    """Var(s^2) of the unbiased sample variance of m iid values (Cramer 1946)."""
    return mu4 / m - sigma2**2 * (m - 3) / (m * (m - 1))


def mixture_moments(values, pmf):
    mean = np.sum(values * pmf)
    var = np.sum((values - mean) ** 2 * pmf)
    mu4 = np.sum((values - mean) ** 4 * pmf)
    return mean, var, mu4


def won_pmf(leads, conversion):
    """Exact pmf of one month's wins: leads = n + f becomes n + Bernoulli(f), then
    Binomial(leads, conversion)."""
    n = int(np.floor(leads))
    f = leads - n
    k = np.arange(n + 2)
    pmf = (1 - f) * stats.binom.pmf(k, n, conversion) + f * stats.binom.pmf(k, n + 1, conversion)
    return k.astype(float), pmf


def assert_mean_close(sample, expected, se=None, z=Z):
    sample = np.asarray(sample, dtype=float)
    se = sample.std(ddof=1) / np.sqrt(sample.size) if se is None else se
    assert se > 0
    assert abs(sample.mean() - expected) <= z * se, (sample.mean(), expected, se)


# ---------------------------------------------------------------------------------------
# a scenario with everything: two segments, uncertain inputs, a lag, CSMs, stages
# ---------------------------------------------------------------------------------------
INVARIANT = {
    "scenario": {"name": "invariants", "horizon_months": 18, "seed": 5, "draws": 1500},
    "company": {"starting_cash": 600_000, "fixed_opex_per_month": 60_000},
    "segments": {
        "smb": {
            "acv": {"lognormal": {"median": 2_400, "sigma": 0.3}},
            "gross_margin": {"pert": {"min": 0.6, "mode": 0.7, "max": 0.8}},
            "annual_churn": {"beta": {"mean": 0.25, "concentration": 40}},
            "annual_expansion": {"range": [0.0, 0.1]},
            "cost_to_serve_per_year": 100,
            "starting_customers": 150,
        },
        "mid_market": {
            "acv": 20_000,
            "gross_margin": 0.75,
            "annual_churn": {"beta": {"mean": 0.12, "concentration": 50}},
            "touch_model": "low_touch",
            "starting_customers": 25,
        },
    },
    "motions": {
        "self_serve": {"segment": "smb", "cost_per_lead": 80,
                       "conversion": {"beta": {"mean": 0.08, "concentration": 100}}},
        "sales_assisted": {"segment": "mid_market", "cost_per_lead": 500,
                           "conversion": {"pert": {"min": 0.1, "mode": 0.25, "max": 0.4}},
                           "sales_cost_per_won": 3_000, "sales_cycle_months": 2},
    },
    "allocation": {"budget_per_month": {"self_serve": 20_000, "sales_assisted": 10_000},
                   "csms": {"mid_market": 1}},
    "stages": {"early_growth": {"allocation": {"budget_per_month": {"sales_assisted": 25_000}}}},
}


@pytest.fixture(scope="module")
def invariant_scenario(make_scenario):
    return make_scenario(INVARIANT, base={})


@pytest.fixture(scope="module")
def invariant_ds(invariant_scenario):
    return simulate(invariant_scenario)


def test_customers_are_conserved_exactly(invariant_ds):
    ds = invariant_ds
    start = np.rint(ds["input_starting_customers"].values)[:, :, None]
    won, churned, customers = (ds[v].values for v in ("won", "churned", "customers"))
    expected = start + np.cumsum(won, axis=2) - np.cumsum(churned, axis=2)
    assert np.array_equal(customers, expected)
    assert won.sum() > 0 and churned.sum() > 0  # the check is not vacuous


def test_counts_are_whole_nonnegative_and_churn_is_bounded(invariant_ds):
    ds = invariant_ds
    for name in ("won", "churned", "customers", "customers_won"):
        values = ds[name].values
        assert values.dtype == np.float64
        assert np.all(values >= 0), name
        assert np.array_equal(values, np.round(values)), name
    start = np.rint(ds["input_starting_customers"].values)[:, :, None]
    before = np.concatenate([start, ds["customers"].values[:, :, :-1]], axis=2)
    available = before + ds["won"].values  # customers at risk in the month
    assert np.all(ds["churned"].values <= available)


def test_arr_is_twelve_mrr_and_total_arr_sums_segments(invariant_ds):
    ds = invariant_ds
    assert np.array_equal(ds["arr"].values, 12.0 * ds["mrr"].values)
    np.testing.assert_allclose(ds["total_arr"].values, ds["arr"].sum("segment").values, rtol=1e-12)


def test_coverage_is_capacity_over_accounts(invariant_ds):
    ds = invariant_ds
    coverage = ds["coverage"]
    assert np.all((coverage >= 0) & (coverage <= 1))
    # smb is tech touch (no CSM model): always covered.
    assert np.all(coverage.sel(segment="smb") == 1.0)
    # mid_market: 1 CSM x 50 accounts (low_touch default) over the accounts at risk.
    at_risk = (ds["customers"] + ds["churned"]).sel(segment="mid_market").values
    expected = np.where(at_risk > 0, np.minimum(1.0, 50.0 / np.where(at_risk > 0, at_risk, 1.0)), 1.0)
    assert np.array_equal(coverage.sel(segment="mid_market").values, expected)
    assert (expected < 1).any() and (expected == 1).any()  # both regimes occur


def test_cash_moves_by_margin_less_costs(invariant_ds):
    ds = invariant_ds
    margin = ds["input_gross_margin"]
    flow = ((margin * ds["mrr"]).sum("segment") - ds["acquisition_spend"].sum("segment")
            - ds["cs_cost"].sum("segment") - 60_000).values
    cash = ds["cash"].values
    previous = np.concatenate([np.full((cash.shape[0], 1), 600_000.0), cash[:, :-1]], axis=1)
    np.testing.assert_allclose(cash - previous, flow, rtol=1e-9, atol=1e-6 * np.abs(cash).max())
    # runway: first month that ends with negative cash, inf if none
    negative = cash < 0
    expected = np.where(negative.any(axis=1), negative.argmax(axis=1).astype(float), np.inf)
    assert np.array_equal(ds["runway_months"].values, expected)
    assert np.isfinite(expected).any() and np.isinf(expected).any()
    np.testing.assert_array_equal(ds["cash_final"].values, cash[:, -1])
    np.testing.assert_array_equal(ds["cash_low"].values, np.minimum(600_000.0, cash.min(axis=1)))


def test_final_values_are_the_last_month(invariant_ds):
    ds = invariant_ds
    np.testing.assert_array_equal(ds["arr_final"].values, ds["arr"].isel(month=-1).values)
    np.testing.assert_allclose(ds["total_arr_final"].values, ds["total_arr"].isel(month=-1).values, rtol=1e-15)


def test_cs_cost_is_csm_salaries_plus_per_account_cost(invariant_ds):
    ds = invariant_ds
    at_risk = ds["customers"] + ds["churned"]
    # smb: tech touch tooling + cost to serve 100 a year per account, no CSM.
    np.testing.assert_allclose(ds["cs_cost"].sel(segment="smb"), at_risk.sel(segment="smb") * (TECH_TOOLING + 100) / 12,
                               rtol=1e-12)
    # mid_market: 1 CSM at 120,000 a year + low_touch tooling of 200 a year per account.
    np.testing.assert_allclose(ds["cs_cost"].sel(segment="mid_market"),
                               120_000 / 12 + at_risk.sel(segment="mid_market") * 200 / 12, rtol=1e-12)


def test_metrics_recomputed_from_paths(invariant_ds, invariant_scenario):
    """Every per-draw metric follows from the paths of the same draw."""
    ds = invariant_ds
    horizon = ds.sizes["month"]
    at_risk = (ds["customers"] + ds["churned"]).sum("month")
    realised = ds["churned"].sum("month") / at_risk
    serve = ds["cs_cost"].sum("month") / at_risk
    np.testing.assert_allclose(ds["customers_won"], ds["won"].sum("month"), rtol=0)
    np.testing.assert_allclose(ds["annual_churn"], 1 - (1 - realised) ** 12, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ds["grr"], (1 - realised) ** 12, rtol=1e-12)
    np.testing.assert_allclose(ds["cs_cost_per_account"], 12 * serve, rtol=1e-12)
    np.testing.assert_allclose(ds["cs_cost_share"], ds["cs_cost"].sum("month") / ds["mrr"].sum("month"),
                               rtol=1e-12)

    # CAC: marketing of the months whose deals close within the horizon, plus the sales
    # cost of those deals, over the deals. One motion per segment here.
    sales_cost = {"smb": 0.0, "mid_market": 3_000.0}
    lag = {"smb": 0, "mid_market": 2}
    for segment in ("smb", "mid_market"):
        won = ds["won"].sel(segment=segment)
        marketing = ds["acquisition_spend"].sel(segment=segment) - sales_cost[segment] * won
        spend = marketing.isel(month=slice(0, horizon - lag[segment])).sum("month") + sales_cost[segment] * won.sum(
            "month")
        n = won.sum("month")
        expected = np.where(n > 0, spend / np.where(n > 0, n, 1), np.inf)
        np.testing.assert_allclose(ds["cac"].sel(segment=segment), expected, rtol=1e-9)

    window = invariant_scenario.ltv_window_months
    acv = ds["input_acv"].values
    margin = ds["input_gross_margin"].values
    expansion = np.stack([econ.monthly_expansion(ds["input_annual_expansion"].sel(segment="smb").values),
                          np.zeros(ds.sizes["draw"])], axis=1)
    ltv = econ.lifetime_value(acv, margin, realised.values, expansion, window, serve.values)
    np.testing.assert_allclose(ds["ltv"].values, ltv, rtol=1e-9)
    cac = ds["cac"].values
    np.testing.assert_allclose(ds["ltv_cac"].values, np.where(np.isinf(cac), 0.0, ltv / cac), rtol=1e-9)
    payback = econ.payback_months(cac, acv, margin, realised.values, expansion, window, serve.values)
    np.testing.assert_array_equal(ds["payback_months"].values, payback)
    np.testing.assert_allclose(ds["nrr"].values, (1 - realised.values) ** 12 * (1 + expansion) ** 12, rtol=1e-9)


def test_dataset_dims_coords_and_attrs(invariant_ds, invariant_scenario):
    ds = invariant_ds
    sc = invariant_scenario
    assert ds.sizes["draw"] == sc.draws
    np.testing.assert_array_equal(ds["draw"], np.arange(sc.draws))
    assert list(ds["segment"].values) == ["smb", "mid_market"]
    assert list(ds["motion"].values) == ["self_serve", "sales_assisted"]
    assert list(ds["motion_segment"].values) == ["smb", "mid_market"]
    np.testing.assert_array_equal(ds["month"], np.arange(18))
    assert list(ds["stage_name"].values) == list(sc.stage_names)
    for name in ("customers", "won", "churned", "mrr", "arr", "acquisition_spend", "cs_cost", "coverage"):
        assert ds[name].dims == ("draw", "segment", "month"), name
    for name in ("cash", "total_arr", "stage"):
        assert ds[name].dims == ("draw", "month"), name
    for name in ("cac", "ltv", "ltv_cac", "payback_months", "nrr", "grr", "annual_churn", "annual_expansion",
                 "cs_cost_share", "cs_cost_per_account", "customers_won"):
        assert ds[name].dims == ("draw", "segment"), name
    assert ds["arr_final"].dims == ("draw", "segment")
    for name in ("runway_months", "total_arr_final", "cash_low", "cash_final"):
        assert ds[name].dims == ("draw",), name
    assert ds["stage_reached_month"].dims == ("draw", "stage_name")
    assert ds["sampled"].dims == ("draw", "input")
    assert list(ds["input"].values) == list(sc.uncertain_inputs())
    for name, var in ds.data_vars.items():
        assert var.attrs.get("units"), f"{name} has no units"
        assert var.attrs.get("description"), f"{name} has no description"
    for key in ("simkit_version", "scenario_name", "scenario_hash", "seed_entropy", "draws"):
        assert key in ds.attrs, key
    assert ds.attrs["draws"] == sc.draws
    assert ds.attrs["scenario_name"] == "invariants"
    assert ds.attrs["scenario_hash"] == sc.content_hash
    assert ds.attrs["seed_entropy"] == "5"


# ---------------------------------------------------------------------------------------
# process noise off, fixed inputs: the closed forms
# ---------------------------------------------------------------------------------------
FIXED = {
    "scenario": {"horizon_months": 12, "ltv_window_months": 60},
    "company": {"starting_cash": 1_000_000, "fixed_opex_per_month": 10_000},
    "segments": {"smb": {"acv": 2_400, "starting_acv": 1_800, "gross_margin": 0.8, "annual_churn": 0.2,
                         "annual_expansion": 0.1, "cost_to_serve_per_year": 120, "starting_customers": 100}},
    "motions": {"self_serve": {"segment": "smb", "cost_per_lead": 100, "conversion": 0.1,
                               "sales_cost_per_won": 50, "sales_cycle_months": 3}},
    "allocation": {"budget_per_month": {"self_serve": 10_000}},
}


def reference_paths(horizon, start, start_acv, acv, margin, churn, growth, serve_per_year, cash,
                    opex, budget, cost_per_lead, conversion, sales_cost, lag):
    """The monthly step for one segment and one motion, expectations only, in plain Python."""
    pipeline = [0.0] * (horizon + lag + 1)
    active, mrr = float(start), start * start_acv / 12
    out = {k: [] for k in ("customers", "won", "churned", "mrr", "acquisition_spend", "cs_cost", "cash")}
    for t in range(horizon):
        pipeline[t + lag] += budget / cost_per_lead * conversion
        landed = pipeline[t]
        acquisition = budget + landed * sales_cost
        active += landed
        mrr += landed * acv / 12
        cs = active * serve_per_year / 12
        churned = active * churn
        cash += margin * mrr - acquisition - cs - opex
        for key, value in (("won", landed), ("churned", churned), ("mrr", mrr), ("acquisition_spend", acquisition),
                           ("cs_cost", cs), ("cash", cash), ("customers", active - churned)):
            out[key].append(value)
        mrr *= (1 - churn) * (1 + growth)
        active -= churned
    return {k: np.array(v) for k, v in out.items()}


def test_noise_off_paths_match_reference_loop(make_scenario):
    sc = make_scenario(FIXED)
    ds = simulate(sc, draws=3, seed=1, process_noise=False)
    c, g = econ.monthly_churn(0.2), econ.monthly_expansion(0.1)
    ref = reference_paths(12, 100, 1_800, 2_400, 0.8, c, g, TECH_TOOLING + 120, 1_000_000, 10_000, 10_000, 100, 0.1, 50, 3)
    for name, expected in ref.items():
        got = ds[name].values
        got = got[:, 0, :] if got.ndim == 3 else got
        for draw in range(3):
            np.testing.assert_allclose(got[draw], expected, rtol=1e-12, atol=1e-9, err_msg=name)
    assert ref["won"][:3].sum() == 0 and ref["won"][3] > 0  # the lag is exercised


def test_noise_off_unit_economics_equal_closed_forms(make_scenario):
    sc = make_scenario(FIXED)
    ds = simulate(sc, draws=2, seed=1, process_noise=False).isel(draw=0, segment=0)
    c, g = econ.monthly_churn(0.2), econ.monthly_expansion(0.1)
    serve = (TECH_TOOLING + 120) / 12  # tech touch tooling + cost to serve, per month
    cac = econ.cac(100, 0.1, 50)
    assert float(ds["cac"]) == pytest.approx(cac, rel=1e-12)
    # with a 3-month lag only the deals decided in months 0..8 close inside 12 months
    assert float(ds["customers_won"]) == pytest.approx(9 * 100 * 0.1, rel=1e-12)
    ltv = econ.lifetime_value(2_400, 0.8, c, g, 60, serve)
    assert float(ds["ltv"]) == pytest.approx(ltv, rel=1e-10)
    assert float(ds["ltv_cac"]) == pytest.approx(ltv / cac, rel=1e-10)
    assert float(ds["payback_months"]) == econ.payback_months(cac, 2_400, 0.8, c, g, 60, serve)
    assert float(ds["grr"]) == pytest.approx(0.8, rel=1e-10)
    assert float(ds["annual_churn"]) == pytest.approx(0.2, rel=1e-10)
    assert float(ds["nrr"]) == pytest.approx(0.8 * 1.1, rel=1e-10)
    assert float(ds["annual_expansion"]) == pytest.approx(0.1, rel=1e-12)
    assert float(ds["cs_cost_per_account"]) == pytest.approx(TECH_TOOLING + 120, rel=1e-12)


def test_noise_off_lag_beyond_horizon_means_no_cac(make_scenario):
    sc = make_scenario({"scenario": {"horizon_months": 6},
                        "motions": {"self_serve": {"sales_cycle_months": 6}}})
    ds = simulate(sc, draws=2, seed=1, process_noise=False)
    assert np.all(np.isinf(ds["cac"])) and np.all(ds["customers_won"] == 0)
    assert np.all(ds["ltv_cac"] == 0) and np.all(np.isnan(ds["payback_months"]))
    assert np.all(ds["won"] == 0)


def test_noise_off_cohort_decays_geometrically(make_scenario):
    sc = make_scenario({"segments": {"smb": {"starting_customers": 1_000, "annual_expansion": 0.15}},
                        "allocation": make_scenario.DELETE})
    ds = simulate(sc, draws=2, seed=3, process_noise=False).isel(segment=0)
    c, g = econ.monthly_churn(0.2), econ.monthly_expansion(0.15)
    t = np.arange(12)
    np.testing.assert_allclose(ds["customers"].values, np.broadcast_to(1_000 * (1 - c) ** (t + 1), (2, 12)),
                               rtol=1e-12)
    np.testing.assert_allclose(ds["mrr"].values, np.broadcast_to(1_000 * 2_400 / 12 * ((1 - c) * (1 + g)) ** t,
                                                                  (2, 12)), rtol=1e-12)


def test_noise_off_uncovered_churn_uplift(make_scenario):
    """5 high-touch CSMs x 12 accounts cover 60 of 600 accounts: churn on the uncovered 90%
    is doubled (high_touch multiplier 2), so month 0 loses c x (0.1 + 0.9 x 2)."""
    sc = make_scenario({"segments": {"smb": {"starting_customers": 600, "touch_model": "high_touch"}},
                        "allocation": {"budget_per_month": make_scenario.DELETE, "csms": {"smb": 5}}})
    ds = simulate(sc, draws=1, seed=3, process_noise=False).isel(draw=0, segment=0)
    c = econ.monthly_churn(0.2)
    assert float(ds["coverage"][0]) == pytest.approx(0.1, rel=1e-12)
    assert float(ds["churned"][0]) == pytest.approx(600 * c * (0.1 + 0.9 * 2.0), rel=1e-12)
    active = 600.0
    for t in range(12):
        coverage = min(1.0, 60 / active)
        assert float(ds["coverage"][t]) == pytest.approx(coverage, rel=1e-12)
        active -= active * c * (coverage + (1 - coverage) * 2.0)
        assert float(ds["customers"][t]) == pytest.approx(active, rel=1e-12)
    assert float(ds["cs_cost"][0]) == pytest.approx(5 * 150_000 / 12 + 600 * 500 / 12, rel=1e-12)


# ---------------------------------------------------------------------------------------
# process noise and uncertain inputs: Monte Carlo vs independent references
# ---------------------------------------------------------------------------------------
def test_mean_ltv_matches_integral_over_churn_distribution(make_scenario):
    """E[LTV] over Beta-distributed annual churn, by quadrature, vs the mean over draws.

    A million starting customers make realised churn equal the parameter churn up to a
    relative error of order 1/sqrt(c N H) ~ 0.2%, whose effect on the mean (a bias of
    order 1/(c N H) ~ 1e-5 relative) is far below the standard error of ~0.2%.
    """
    mean, concentration = 0.2, 50
    sc = make_scenario({"segments": {"smb": {
        "acv": 12_000, "gross_margin": 0.75, "annual_expansion": 0.05, "starting_customers": 1_000_000,
        "annual_churn": {"beta": {"mean": mean, "concentration": concentration}}}},
        "allocation": make_scenario.DELETE, "motions": make_scenario.DELETE})
    ds = simulate(sc, draws=16_000, seed=2024, keep_paths=False)
    window, serve, g = sc.ltv_window_months, TECH_TOOLING / 12, econ.monthly_expansion(0.05)
    density = stats.beta(mean * concentration, (1 - mean) * concentration)

    def integrand(a):
        return econ.lifetime_value(12_000, 0.75, econ.monthly_churn(a), g, window, serve) * density.pdf(a)

    expected, error = integrate.quad(integrand, 0.0, 1.0, limit=200, epsabs=1e-6)
    ltv = ds["ltv"].values[:, 0]
    assert error < 1e-6 * expected
    assert_mean_close(ltv, expected)
    # and LTV at the mean churn is a different number (Jensen): the test can tell them apart
    at_mean = econ.lifetime_value(12_000, 0.75, econ.monthly_churn(mean), g, window, serve)
    assert abs(ltv.mean() - at_mean) > Z * ltv.std(ddof=1) / np.sqrt(ltv.size)
    # realised annual churn: its mean is the Beta mean
    assert_mean_close(ds["annual_churn"].values[:, 0], mean)


def test_mean_wins_equal_leads_times_mean_conversion(make_scenario):
    conversion = {"beta": {"mean": 0.1, "concentration": 100}}
    sc = make_scenario({"motions": {"self_serve": {"conversion": conversion}}})
    ds = simulate(sc, draws=4_000, seed=99)
    per_draw = ds["won"].isel(segment=0).mean("month").values
    assert_mean_close(per_draw, 10_000 / 100 * 0.1)


@pytest.mark.parametrize("budget", [5_000, 5_050])  # 50 leads, and 50.5 (a Bernoulli half lead)
def test_won_has_the_exact_binomial_distribution(make_scenario, budget):
    """Fixed conversion: every (draw, month) is one iid draw of the exact pmf of wins.

    Mean and variance are compared with the pmf's, the variance within 4 standard
    errors of the sample variance, sqrt(mu4 / m - sigma^4 (m - 3) / (m (m - 1))).
    """
    p = 0.3
    sc = make_scenario({"allocation": {"budget_per_month": {"self_serve": budget}},
                        "motions": {"self_serve": {"conversion": p}}})
    ds = simulate(sc, draws=3_000, seed=17)
    won = ds["won"].isel(segment=0).values.ravel()
    assert np.all(ds["stage"].values == 0)  # same allocation every month: iid draws
    values, pmf = won_pmf(budget / 100, p)
    mean, var, mu4 = mixture_moments(values, pmf)
    m = won.size
    assert_mean_close(won, mean, se=np.sqrt(var / m))
    se_var = np.sqrt(variance_of_sample_variance(var, mu4, m))
    assert abs(won.var(ddof=1) - var) <= Z * se_var, (won.var(ddof=1), var, se_var)
    # the whole distribution: chi-square goodness of fit on the central support
    counts = np.bincount(won.astype(int), minlength=values.size)[: values.size]
    keep = pmf * m >= 5
    observed = np.append(counts[keep], m - counts[keep].sum())
    expected = np.append(pmf[keep] * m, m * (1 - pmf[keep].sum()))
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_cohort_survival_is_binomial_thinning(make_scenario):
    """No acquisition, fixed churn: customers after month t ~ Binomial(N, (1 - c)^(t+1))."""
    n0, draws = 1_000, 4_000
    sc = make_scenario({"segments": {"smb": {"starting_customers": n0, "annual_churn": 0.3}},
                        "allocation": make_scenario.DELETE})
    ds = simulate(sc, draws=draws, seed=4)
    customers = ds["customers"].isel(segment=0).values
    survival = (1 - econ.monthly_churn(0.3)) ** (np.arange(12) + 1)
    for t in range(12):
        p = survival[t]
        assert_mean_close(customers[:, t], n0 * p, se=np.sqrt(n0 * p * (1 - p) / draws))
    # variance at the last month vs the binomial's
    p = survival[-1]
    var = n0 * p * (1 - p)
    mu4 = n0 * p * (1 - p) * (1 + 3 * (n0 - 2) * p * (1 - p))
    se_var = np.sqrt(variance_of_sample_variance(var, mu4, draws))
    assert abs(customers[:, -1].var(ddof=1) - var) <= Z * se_var


def test_too_few_csms_lower_coverage_and_raise_churn(make_scenario):
    """Same seed, same parameter draws: the difference per draw is the CSMs' doing."""
    delete = make_scenario.DELETE

    def scenario(csms):
        return make_scenario({
            "segments": {"smb": delete, "enterprise": {
                "acv": 120_000, "gross_margin": 0.8, "touch_model": "high_touch", "starting_customers": 240,
                "annual_churn": {"beta": {"mean": 0.1, "concentration": 100}}}},
            "motions": delete, "allocation": {"budget_per_month": delete, "csms": {"enterprise": csms}}})
    few = simulate(scenario(4), draws=2_000, seed=8)  # 48 accounts covered of ~200
    enough = simulate(scenario(25), draws=2_000, seed=8)  # 300 covered
    np.testing.assert_array_equal(few["sampled"], enough["sampled"])  # common random numbers
    assert np.all(few["coverage"] < 1) and np.all(enough["coverage"] == 1)
    diff = (few["annual_churn"] - enough["annual_churn"]).values.ravel()
    assert diff.mean() > Z * diff.std(ddof=1) / np.sqrt(diff.size)
    assert np.all(few["customers"].isel(month=-1) <= 240)
    # with full coverage realised churn is an unbiased estimate of the parameter
    sampled = enough["sampled"].sel(input="segments.enterprise.annual_churn").values
    monthly = enough["churned"].sum("month") / (enough["customers"] + enough["churned"]).sum("month")
    assert_mean_close(monthly.values.ravel() - econ.monthly_churn(sampled), 0.0)


# ---------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def determinism_scenario(make_scenario):
    data = make_scenario.dict({"scenario": {"horizon_months": 4}}, base=INVARIANT)
    data["correlations"] = [{"between": ["segments.smb.annual_churn", "motions.self_serve.conversion"],
                             "rank_correlation": -0.5}]
    return make_scenario({}, base=data)


@pytest.fixture(scope="module")
def reference_run(determinism_scenario):
    draws = 2 * BLOCK_DRAWS + 3_616  # three blocks, the last one partial
    return simulate(determinism_scenario, draws=draws, seed=123, chunk_draws=BLOCK_DRAWS)


@pytest.mark.parametrize("options", [
    {"chunk_draws": 3 * BLOCK_DRAWS},
    {"chunk_draws": 100_000},
    {"chunk_draws": BLOCK_DRAWS, "workers": 2},
    {"chunk_draws": 2 * BLOCK_DRAWS, "workers": 2},
], ids=["chunk3blocks", "chunk100k", "workers2", "workers2-chunk2"])
def test_bit_identical_for_any_chunks_and_workers(determinism_scenario, reference_run, options):
    ds = simulate(determinism_scenario, draws=reference_run.sizes["draw"], seed=123, **options)
    xr.testing.assert_identical(ds, reference_run)
    for name in ds.data_vars:  # assert_identical treats NaN == NaN; also demand the same bits
        assert np.array_equal(ds[name].values, reference_run[name].values, equal_nan=True), name


def test_first_block_does_not_depend_on_the_number_of_draws(determinism_scenario, reference_run):
    small = simulate(determinism_scenario, draws=BLOCK_DRAWS, seed=123)
    head = reference_run.isel(draw=slice(0, BLOCK_DRAWS))
    for name, var in small.data_vars.items():
        np.testing.assert_array_equal(var.values, head[name].values, err_msg=name)


def test_seeds_reproduce_and_differ(determinism_scenario):
    sc = determinism_scenario
    run = lambda seed: simulate(sc, draws=500, seed=seed)  # noqa: E731
    a = run(42)
    xr.testing.assert_identical(a, run(42))
    xr.testing.assert_identical(a, run(np.random.SeedSequence(42)))
    b = run(43)
    assert not np.array_equal(a["sampled"].values, b["sampled"].values)
    assert not np.array_equal(a["won"].values, b["won"].values)
    g1 = run(np.random.default_rng(7))
    g2 = run(np.random.default_rng(7))
    xr.testing.assert_identical(g1, g2)
    assert not np.array_equal(g1["sampled"].values, a["sampled"].values)
    # the scenario's own seed is the default
    xr.testing.assert_identical(simulate(sc, draws=500), run(sc.seed))


def test_noise_off_keeps_the_parameter_draws(determinism_scenario):
    """Without process noise, a draw's paths depend on its parameters only."""
    a = simulate(determinism_scenario, draws=300, seed=5, process_noise=False)
    b = simulate(determinism_scenario, draws=300, seed=5, process_noise=True)
    np.testing.assert_array_equal(a["sampled"], b["sampled"])
    assert a.attrs["process_noise"] == 0 and b.attrs["process_noise"] == 1
    assert not np.array_equal(a["won"].values, np.round(a["won"].values))  # expectations, not counts


# ---------------------------------------------------------------------------------------
# stage switching
# ---------------------------------------------------------------------------------------
STAGED = {
    "scenario": {"horizon_months": 24},
    "company": {"starting_cash": 5_000_000, "fixed_opex_per_month": 0},
    "segments": {"smb": {"starting_customers": 380, "annual_churn": 0.2}},
    "motions": {"self_serve": {"conversion": {"beta": {"mean": 0.15, "concentration": 8}}}},
    "allocation": {"budget_per_month": {"self_serve": 5_000}},
    "stages": {"early_growth": {"allocation": {"budget_per_month": {"self_serve": 20_000}}},
               "scaling": {"arr_from": 1_300_000, "allocation": {"budget_per_month": {"self_serve": 40_000}}}},
}


def test_stage_switches_the_month_after_arr_crosses_the_floor(make_scenario):
    sc = make_scenario(STAGED)
    ds = simulate(sc, draws=2_000, seed=31)
    floors = ds["stage_arr_from"].values
    stage = ds["stage"].values.astype(int)
    total_arr = ds["total_arr"].values
    assert np.all(stage[:, 0] == 0)
    assert np.all(np.diff(stage, axis=1) >= 0)  # stages only move up
    expected_next = np.maximum(stage[:, :-1], reached_stage(floors, total_arr[:, :-1]))
    np.testing.assert_array_equal(stage[:, 1:], expected_next)
    # the allocation in effect is the stage's: marketing spend is the stage budget
    budget = np.array([5_000, 20_000, 40_000, 40_000])
    np.testing.assert_array_equal(ds["acquisition_spend"].isel(segment=0).values, budget[stage])
    # draws switch at their own month, and some never do
    reached_growth = (stage >= 1).any(axis=1)
    assert 0.05 < reached_growth.mean() < 0.95
    assert len(np.unique(ds["stage_reached_month"].sel(stage_name="early_growth").values[reached_growth])) > 3
    assert (stage == 2).any()

    # stage_reached_month: first month whose ARR reached the floor (0 for the start stage)
    reached = ds["stage_reached_month"].values
    per_month = reached_stage(floors, total_arr)
    for k in range(len(floors)):
        hit = per_month >= k
        first = np.where(hit.any(axis=1), hit.argmax(axis=1).astype(float), np.nan)
        expected = np.zeros(len(first)) if k == 0 else first
        np.testing.assert_array_equal(reached[:, k], expected)
        # consistent with the path: stage k is in effect from the month after
        in_path = stage >= k
        after = np.where(in_path.any(axis=1), in_path.argmax(axis=1) - 1.0, np.nan)
        known = ~np.isnan(after) & (k > 0)
        np.testing.assert_array_equal(reached[known, k], after[known])


def test_starting_arr_above_a_floor_starts_in_that_stage(make_scenario):
    sc = make_scenario({"segments": {"smb": {"starting_customers": 500}}, "allocation": make_scenario.DELETE,
                        "stages": STAGED["stages"]})  # 500 x 2,400 = 1.2M ARR: early_growth
    ds = simulate(sc, draws=50, seed=1)
    assert np.all(ds["stage"].isel(month=0) == 1)
    assert np.all(ds["stage_reached_month"].sel(stage_name=["pre_pmf", "early_growth"]) == 0)
    assert np.all(ds["stage"] >= 1)  # churn pulls ARR below 1M; the stage stays


def test_company_stage_sets_the_starting_stage(make_scenario):
    sc = make_scenario({"company": {"stage": "scaling"}, "stages": STAGED["stages"]})
    ds = simulate(sc, draws=50, seed=1)
    assert np.all(ds["stage"] == 2)
    np.testing.assert_array_equal(ds["acquisition_spend"].isel(segment=0), 40_000)


# ---------------------------------------------------------------------------------------
# degenerate inputs: no exception, no warning, the documented conventions
# ---------------------------------------------------------------------------------------
def _twenty_segments():
    segments = {f"s{i}": {"acv": 1_000 * (i + 1), "gross_margin": 0.7, "annual_churn": 0.05 * (i % 10),
                          "starting_customers": i} for i in range(20)}
    motions = {f"m{i}": {"segment": f"s{i}", "cost_per_lead": 50 + i, "conversion": 0.01 * (i + 1)}
               for i in range(20)}
    budget = {f"m{i}": 1_000 * i for i in range(20)}
    return {"segments": segments, "motions": motions, "allocation": {"budget_per_month": budget}}


DEGENERATE = {
    "no_budget": {"allocation": "DELETE"},
    "conversion_0": {"motions": {"self_serve": {"conversion": 0.0}}},
    "conversion_1": {"motions": {"self_serve": {"conversion": 1.0, "sales_cost_per_won": 25}}},
    "churn_0": {"segments": {"smb": {"annual_churn": 0.0}}},
    "churn_1": {"segments": {"smb": {"annual_churn": 1.0}}},
    "no_starting_customers": {"segments": {"smb": {"starting_customers": 0}}},
    "nothing_at_all": {"segments": {"smb": {"starting_customers": 0}}, "allocation": "DELETE"},
    "horizon_1": {"scenario": {"horizon_months": 1}},
    "segment_without_motion": {"segments": {"enterprise": {"acv": 100_000, "gross_margin": 0.8,
                                                           "annual_churn": 0.1, "starting_customers": 5,
                                                           "touch_model": "high_touch"}}},
    "budget_1_dollar": {"allocation": {"budget_per_month": {"self_serve": 1}}},
    "budget_10_billion": {"allocation": {"budget_per_month": {"self_serve": 10_000_000_000}}},
    "twenty_segments": "TWENTY",
}


@pytest.mark.parametrize("noise", [True, False], ids=["noise", "expectation"])
@pytest.mark.parametrize("case", list(DEGENERATE))
def test_degenerate_inputs_run_cleanly(make_scenario, case, noise):
    overrides = DEGENERATE[case]
    if overrides == "TWENTY":
        data = make_scenario.dict({"segments": make_scenario.DELETE, "motions": make_scenario.DELETE,
                                   "allocation": make_scenario.DELETE})
        sc = make_scenario(_twenty_segments(), base=data)
    else:
        overrides = {k: (make_scenario.DELETE if v == "DELETE" else v) for k, v in overrides.items()}
        sc = make_scenario(overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = simulate(sc, draws=300, seed=13, process_noise=noise)

    cac, ltv_cac, payback = ds["cac"], ds["ltv_cac"], ds["payback_months"]
    assert not np.isnan(cac).any() and not np.isnan(ds["ltv"]).any() and not np.isnan(ltv_cac).any()
    no_wins = ds["customers_won"] == 0
    assert np.all(np.isinf(cac.where(no_wins, np.inf)))  # no wins -> CAC inf ...
    assert np.all(ltv_cac.where(no_wins, 0.0) == 0)  # ... LTV:CAC 0 ...
    assert np.all(np.isnan(payback.where(no_wins, np.nan)))  # ... and no payback
    assert np.all(ds["customers"] >= 0) and np.all((ds["coverage"] >= 0) & (ds["coverage"] <= 1))

    smb = ds.sel(segment="smb") if "smb" in ds["segment"] else None
    if case in ("no_budget", "conversion_0", "nothing_at_all"):
        assert np.all(np.isinf(smb["cac"])) and np.all(smb["ltv_cac"] == 0)
        assert np.all(np.isnan(smb["payback_months"]))
    if case == "conversion_1":
        # every lead converts: CAC = cost per lead + sales cost, exactly (whole leads)
        np.testing.assert_allclose(smb["cac"], 100 + 25, rtol=1e-12)
    if case == "churn_0":
        assert np.all(smb["churned"] == 0) and np.all(smb["annual_churn"] == 0) and np.all(smb["grr"] == 1)
    if case == "churn_1":
        assert np.all(smb["customers"] == 0) and np.all(smb["annual_churn"] == 1)
        # only the month of winning counts: LTV = one month's margin less serve cost
        np.testing.assert_allclose(smb["ltv"], 2_400 / 12 * 0.8 - TECH_TOOLING / 12, rtol=1e-12)
    if case == "horizon_1":
        assert ds.sizes["month"] == 1
    if case == "segment_without_motion":
        ent = ds.sel(segment="enterprise")
        assert np.all(np.isinf(ent["cac"])) and np.all(ent["ltv_cac"] == 0) and np.all(ent["won"] == 0)
        assert np.all(np.isfinite(ds.sel(segment="smb")["cac"]))
    if case == "budget_1_dollar" and noise:
        # 0.01 leads a month: a lead now and then, a win rarely
        assert (smb["customers_won"] == 0).mean() > 0.5
    if case == "budget_1_dollar" and not noise:
        np.testing.assert_allclose(smb["customers_won"], 12 * 0.01 * 0.1, rtol=1e-12)
        np.testing.assert_allclose(smb["cac"], 100 / 0.1, rtol=1e-12)
    if case == "budget_10_billion":
        won = smb["won"].values
        assert won.min() > 0.99e7 and np.all(np.isfinite(ds["cash"]))
        np.testing.assert_allclose(smb["cac"], 1_000, rtol=1e-3)
    if case == "twenty_segments":
        assert ds.sizes["segment"] == 20
        assert np.all(np.isinf(ds["cac"].sel(segment="s0")))  # budget 0 for m0


def test_simulate_pauses_the_garbage_collector_and_restores_its_state(invariant_scenario):
    import gc

    events = []  # ("progress", collector enabled) and ("collection", generation), in order
    threshold = gc.get_threshold()
    record = lambda phase, info: events.append(("collection", info["generation"])) if phase == "start" else None  # noqa: E731
    gc.callbacks.append(record)
    try:
        gc.set_threshold(1)  # switched on, the collector would run at almost every allocation
        simulate(invariant_scenario, draws=3 * BLOCK_DRAWS, seed=1, chunk_draws=BLOCK_DRAWS,
                 progress=lambda done, total: events.append(("progress", gc.isenabled())))
        assert gc.isenabled()
        gc.disable()
        simulate(invariant_scenario, draws=200, seed=1)
        assert not gc.isenabled()  # a caller's choice is left as it was
    finally:
        gc.enable()
        gc.set_threshold(*threshold)
        gc.callbacks.remove(record)
    progress = [i for i, (kind, _) in enumerate(events) if kind == "progress"]
    assert len(progress) == 3
    assert not any(events[i][1] for i in progress)
    assert not [e for e in events[progress[0]:progress[-1]] if e[0] == "collection"]


def test_a_plan_fixed_in_every_draw_is_worked_out_once_and_equals_the_per_draw_plan(make_scenario):
    from simkit import _engine, sample

    uncertain_budget = {"stages": {"early_growth": {"allocation": {"budget_per_month": {
        "sales_assisted": {"normal": {"mean": 25_000, "sd": 2_000}}}}}}}
    for overrides, repeated in [({}, True), (uncertain_budget, False)]:
        scenario = make_scenario(make_scenario.dict(overrides, base=INVARIANT), base={})
        plan = _engine.Plan.from_scenario(scenario)
        values = sample.sample_inputs(scenario, 500, np.random.SeedSequence(3), 0)
        spend, csms = _engine._allocations(plan, values, 500)
        per_draw_spend, per_draw_csms = _engine._allocations_per_draw(plan, values, 500)
        np.testing.assert_array_equal(spend, per_draw_spend)
        np.testing.assert_array_equal(csms, per_draw_csms)
        assert (spend.strides[0] == 0) == repeated  # one row repeated, or one row a draw
        assert (np.ptp(spend, axis=0).max() > 0) != repeated
