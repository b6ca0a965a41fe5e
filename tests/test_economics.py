"""Tests of the closed-form economics: the articles' numbers, and closed forms vs loops."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from simkit import economics as econ
from simkit.scenario.distributions import Fixed
from simkit.scenario.model import Allocation, Company, Motion, Scenario, Segment, TouchModel

EXACT = dict(rel=1e-12)


# -- brute-force references: the definitions, written as plain loops -------------------
def ltv_by_loop(acv, gross_margin, churn, growth, window, serve):
    return sum((1 - churn) ** k * (acv / 12 * gross_margin * (1 + growth) ** k - serve)
               for k in range(window))


def payback_by_loop(cac, acv, gross_margin, churn, growth, window, serve):
    if cac == 0:
        return 0.0
    cumulative = 0.0
    for k in range(window):
        cumulative += (1 - churn) ** k * (acv / 12 * gross_margin * (1 + growth) ** k - serve)
        if cumulative >= cac * (1 - 1e-12):
            return float(k + 1)
    return math.nan


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# -- rate conversions --------------------------------------------------------------------
def test_rate_conversions_match_the_domain_formulas():
    assert econ.monthly_churn(0.25) == pytest.approx(1 - 0.75 ** (1 / 12), **EXACT)
    assert econ.monthly_expansion(0.20) == pytest.approx(1.2 ** (1 / 12) - 1, **EXACT)
    assert econ.annual_churn(0.02) == pytest.approx(1 - 0.98**12, **EXACT)
    assert econ.annual_expansion(0.01) == pytest.approx(1.01**12 - 1, **EXACT)


def test_rate_conversions_round_trip(no_warnings):
    rng = np.random.default_rng(20240601)
    churn = np.concatenate([[0.0, 1.0, 1e-9], rng.uniform(0, 0.99, 200)])
    np.testing.assert_allclose(econ.annual_churn(econ.monthly_churn(churn)), churn, rtol=1e-12, atol=1e-15)
    expansion = np.concatenate([[0.0, -0.5, 1e-9], rng.uniform(-0.5, 2.0, 200)])
    np.testing.assert_allclose(econ.annual_expansion(econ.monthly_expansion(expansion)), expansion,
                               rtol=1e-12, atol=1e-15)
    assert isinstance(econ.monthly_churn(0.1), float)
    assert econ.monthly_churn(np.array([0.1, 0.2])).shape == (2,)


@pytest.mark.parametrize("call", [lambda: econ.monthly_churn(1.2), lambda: econ.monthly_churn(-0.1),
                                  lambda: econ.monthly_expansion(-1.0), lambda: econ.annual_churn([0.1, 2])])
def test_impossible_rates_are_refused(call):
    with pytest.raises(ValueError):
        call()


# -- CAC ------------------------------------------------------------------------------------
def test_cac_from_inputs():
    assert econ.cac(100, 0.10) == pytest.approx(1_000, **EXACT)
    assert econ.cac(500, 0.30, 3_000) == pytest.approx(4_666.666666666667, **EXACT)
    assert econ.cac(10_000, 0.20, 40_000) == pytest.approx(90_000, **EXACT)


def test_cac_with_no_conversion_is_infinite_without_warnings(no_warnings):
    assert econ.cac(100, 0.0) == math.inf
    assert econ.cac(0, 0.0, 50) == math.inf
    result = econ.cac(np.array([100.0, 100.0]), np.array([0.0, 0.5]), 10)
    assert result[0] == math.inf and result[1] == pytest.approx(210, **EXACT)


def test_ltv_cac_ratio_with_no_wins_is_zero(no_warnings):
    assert econ.ltv_cac_ratio(5_000, math.inf) == 0.0
    assert econ.ltv_cac_ratio(5_000, 1_000) == 5.0
    assert econ.ltv_cac_ratio(5_000, 0.0) == math.inf
    assert econ.ltv_cac_ratio(0.0, 0.0) == 0.0


# -- LTV ------------------------------------------------------------------------------------
def random_parameters(rng, size):
    return dict(
        acv=rng.lognormal(math.log(20_000), 1.0, size),
        gross_margin=rng.uniform(0.5, 0.9, size),
        churn=rng.uniform(0.001, 0.06, size),
        growth=rng.uniform(-0.01, 0.03, size),
        window=rng.integers(1, 121, size),
        serve=rng.uniform(0, 0.3, size),  # as a share of the month's margin, scaled below
    )


def test_ltv_closed_form_matches_the_loop():
    rng = np.random.default_rng(7)
    p = random_parameters(rng, 300)
    serve = p["serve"] * p["acv"] / 12 * p["gross_margin"]
    closed = econ.lifetime_value(p["acv"], p["gross_margin"], p["churn"], p["growth"], p["window"], serve)
    loop = [ltv_by_loop(*args) for args in zip(p["acv"], p["gross_margin"], p["churn"], p["growth"],
                                               p["window"], serve)]
    np.testing.assert_allclose(closed, loop, rtol=1e-10)
    # Scalar calls give the same numbers as the vectorized one.
    assert econ.lifetime_value(p["acv"][3], p["gross_margin"][3], p["churn"][3], p["growth"][3],
                               int(p["window"][3]), serve[3]) == pytest.approx(closed[3], **EXACT)


def test_ltv_infinite_window_is_monthly_margin_over_churn(no_warnings):
    assert econ.lifetime_value(24_000, 0.8, 0.02, window_months=np.inf) == pytest.approx(
        24_000 / 12 * 0.8 / 0.02, **EXACT)
    churn = np.array([0.005, 0.01, 0.05, 1.0])
    np.testing.assert_allclose(econ.lifetime_value(12_000, 0.7, churn, window_months=np.inf),
                               1_000 * 0.7 / churn, rtol=1e-12)
    # A finite window falls short of the limit by the survivors' share at its end.
    assert econ.lifetime_value(24_000, 0.8, 0.02, window_months=300) == pytest.approx(
        24_000 / 12 * 0.8 / 0.02 * (1 - 0.98**300), **EXACT)


def test_ltv_when_the_ratio_is_exactly_one(no_warnings):
    # No churn, no expansion: every month counts in full.
    assert econ.lifetime_value(2_400, 0.5, 0.0, 0.0, 36, 10) == pytest.approx(36 * (100 - 10), **EXACT)
    # Churn exactly offset by expansion: (1 - 0.5) * (1 + 1) = 1 for revenue.
    assert econ.lifetime_value(1_200, 1.0, 0.5, 1.0, 10) == pytest.approx(
        ltv_by_loop(1_200, 1.0, 0.5, 1.0, 10, 0.0), **EXACT)
    # Within 1e-13 of one the closed form keeps full precision (naive form loses ~4 digits).
    churn = 1e-13
    assert econ.lifetime_value(1_200, 1.0, churn, 0.0, 600) == pytest.approx(
        ltv_by_loop(1_200, 1.0, churn, 0.0, 600, 0.0), rel=1e-13)


def test_ltv_edge_cases_do_not_warn(no_warnings):
    assert econ.lifetime_value(1_200, 1.0, 1.0, 0.0, 60) == pytest.approx(100, **EXACT)  # month 0 only
    assert econ.lifetime_value(1_200, 1.0, 0.0, 0.0, np.inf) == math.inf
    assert econ.lifetime_value(1_200, 1.0, 0.0, 0.0, np.inf, serve_cost_per_month=150) == -math.inf
    assert econ.lifetime_value(1_200, 1.0, 0.0, 0.01, np.inf, serve_cost_per_month=150) == math.inf
    assert econ.lifetime_value(0.0, 1.0, 0.0, 0.0, np.inf) == 0.0


@pytest.mark.parametrize("window", [0, 2.5, -1, math.nan])
def test_ltv_refuses_bad_windows(window):
    with pytest.raises(ValueError, match="window_months"):
        econ.lifetime_value(1_200, 1.0, 0.01, window_months=window)


# -- payback ----------------------------------------------------------------------------------
def test_payback_exact_tie_lands_on_the_tie_month():
    # CAC $1,000, $200 a month, no churn: paid back after 5 months of payment, not 6.
    assert econ.payback_months(1_000, 2_400, 1.0, 0.0) == 5.0
    # A tie the floating-point sum misses by an ulp: ten times 0.01 adds up to 0.09999999999999999.
    assert econ.payback_months(0.1, 0.12, 1.0, 0.0) == 10.0


def test_payback_matches_the_loop_on_random_parameters():
    rng = np.random.default_rng(11)
    p = random_parameters(rng, 400)
    serve = p["serve"] * p["acv"] / 12 * p["gross_margin"]
    full = econ.lifetime_value(p["acv"], p["gross_margin"], p["churn"], p["growth"], p["window"], serve)
    cac = full * rng.uniform(0.02, 1.3, full.shape)  # about a quarter are never paid back
    vectorized = econ.payback_months(cac, p["acv"], p["gross_margin"], p["churn"], p["growth"],
                                     p["window"], serve)
    loop = [payback_by_loop(*args) for args in zip(cac, p["acv"], p["gross_margin"], p["churn"],
                                                   p["growth"], p["window"], serve)]
    np.testing.assert_array_equal(vectorized, loop)
    assert 0.1 < np.isnan(vectorized).mean() < 0.5  # both outcomes really exercised


def test_payback_not_reached_within_window_is_nan(no_warnings):
    assert math.isnan(econ.payback_months(10_000, 1_200, 1.0, 0.05, window_months=60))
    assert math.isnan(econ.payback_months(math.inf, 1_200, 1.0, 0.0))
    # Reached at month 100 with a 120-month window, not with a 60-month one.
    assert econ.payback_months(10_000, 1_200, 1.0, 0.0, window_months=120) == 100.0
    assert math.isnan(econ.payback_months(10_000, 1_200, 1.0, 0.0, window_months=60))


def test_payback_with_zero_cac_is_zero_months_and_negative_is_refused():
    assert econ.payback_months(0.0, 1_200, 1.0, 0.02) == 0.0
    with pytest.raises(ValueError, match="cac"):
        econ.payback_months(-1.0, 1_200, 1.0, 0.02)
    with pytest.raises(ValueError, match="window_months"):
        econ.payback_months(100.0, 1_200, 1.0, 0.02, window_months=np.inf)


def test_payback_broadcasts():
    months = econ.payback_months(np.array([[100.0], [1_000.0]]), 2_400, 1.0, np.array([0.0, 0.5]),
                                 window_months=24)
    assert months.shape == (2, 2)
    assert months[0, 0] == 1.0 and months[1, 0] == 5.0
    assert months[0, 1] == 1.0 and math.isnan(months[1, 1])  # 200 + 100 + 50 + ... < 400


# -- napkin math and the articles' worked examples ------------------------------------------
def test_napkin_formulas():
    assert econ.napkin_payback_months(1_000, 2_400) == pytest.approx(5, **EXACT)
    assert econ.napkin_ltv(20_000, 4, nrr=1.10) == pytest.approx(88_000, **EXACT)
    assert econ.napkin_ltv(200_000, 5, annual_expansion=0.20) == pytest.approx(1_200_000, **EXACT)
    assert econ.napkin_ltv(2_400, 2.5) == pytest.approx(6_000, **EXACT)
    with pytest.raises(ValueError):
        econ.napkin_ltv(1, 1, nrr=1.1, annual_expansion=0.1)


def test_compounding_value_of_the_articles_example():
    value = econ.compounding_value(500_000, 1.2, 5)
    assert value == pytest.approx(500_000 * (1 + 1.2 + 1.2**2 + 1.2**3 + 1.2**4), **EXACT)
    assert value == pytest.approx(3_720_800, **EXACT)  # the articles round this to "$3.72M"
    assert econ.compounding_value(100, 1.0, 3) == 300
    assert econ.compounding_value(100, 1.2, 0) == 0


EXPECTED_EXAMPLES = {
    # segment: (computed CAC, stated CAC, payback on stated, payback on computed, LTV,
    #           LTV:CAC on stated, LTV:CAC on computed)
    "smb": (1_000, 1_000, 5, 5, 6_000, 6, 6),
    "mid_market": (14_000 / 3, 4_000, 2.4, 2.8, 88_000, 22, 88_000 / (14_000 / 3)),
    "enterprise": (90_000, 50_000, 3, 5.4, 1_200_000, 24, 1_200_000 / 90_000),
}


def test_worked_examples_reproduce_the_articles_exactly():
    examples = econ.worked_examples()
    assert [e.segment for e in examples] == ["smb", "mid_market", "enterprise"]
    for example in examples:
        expected = EXPECTED_EXAMPLES[example.segment]
        actual = (example.computed_cac, example.stated_cac, example.payback_months_stated_cac,
                  example.payback_months_computed_cac, example.napkin_ltv, example.ltv_cac_stated,
                  example.ltv_cac_computed)
        assert actual == pytest.approx(expected, **EXACT), example.segment


def test_worked_examples_table_shows_both_cacs():
    text = econ.format_worked_examples()
    assert "$4,000" in text and "$4,667" in text
    assert "$50,000" in text and "$90,000" in text
    assert "22.0:1" in text and "24.0:1" in text


# -- customer success ----------------------------------------------------------------------------
def test_cs_arithmetic():
    assert econ.cs_cost_per_account(150_000, 12) == pytest.approx(12_500, **EXACT)
    assert econ.cs_cost_per_account(150_000, 0, 300) == 300  # no CSMs: tooling only
    assert econ.cs_cost_share(12_500, 120_000) == pytest.approx(12_500 / 120_000, **EXACT)
    assert econ.cs_budget_per_account(120_000) == pytest.approx(12_000, **EXACT)
    assert econ.cs_budget_per_account(25_000) == pytest.approx(2_500, **EXACT)
    assert econ.cs_budget_per_account(3_000) == pytest.approx(300, **EXACT)


def test_cs_worked_examples():
    enterprise = econ.touch_model_fit(120_000, 0.80, 150_000, 12)
    assert enterprise.gross_profit_per_account == pytest.approx(96_000, **EXACT)
    assert enterprise.cs_budget_per_account == pytest.approx(12_000, **EXACT)
    assert enterprise.cs_cost_per_account == pytest.approx(12_500, **EXACT)
    assert enterprise.verdict == "works" and enterprise.tier == "high-touch"

    mid_market = econ.touch_model_fit(25_000, 0.70, 120_000, 50)
    assert mid_market.gross_profit_per_account == pytest.approx(17_500, **EXACT)
    assert mid_market.cs_budget_per_account == pytest.approx(2_500, **EXACT)
    assert mid_market.cs_cost_per_account == pytest.approx(2_400, **EXACT)
    assert mid_market.verdict == "works" and mid_market.tier == "low-touch"

    smb = econ.touch_model_fit(3_000, 0.65, 100_000, 200)
    assert smb.gross_profit_per_account == pytest.approx(1_950, **EXACT)
    assert smb.cs_budget_per_account == pytest.approx(300, **EXACT)
    assert smb.accounts_per_csm_needed == pytest.approx(100_000 / 300, **EXACT)
    assert smb.verdict == "tech-touch only" and not smb.works


def test_touch_model_fit_too_costly_and_no_csm():
    # High-touch on a mid-market account: a ratio exists (1:48) that would work.
    costly = econ.touch_model_fit(25_000, 0.70, 120_000, 12)
    assert costly.verdict == "too costly" and "48" in costly.reason
    # Tech touch with cheap tooling fits SMB.
    assert econ.touch_model_fit(3_000, 0.65, 100_000, 0, tooling_per_account=150).verdict == "works"


def test_csms_needed_example_allocation():
    assert econ.csms_needed(60, 15) == 4
    assert econ.csms_needed(150, 37.5) == 4
    assert econ.csms_needed(400, 200) == 2
    assert econ.csms_needed(61, 15) == 5
    assert econ.csms_needed(0, 15) == 0
    assert econ.csms_needed(500, 0) == 0 and econ.csms_needed(500, math.inf) == 0
    assert econ.csms_needed(3, 0.1) == 30  # 3 / 0.1 = 30.000000000000004 in floating point
    np.testing.assert_array_equal(econ.csms_needed([60, 150, 400], [15, 37.5, 200]), [4, 4, 2])


# -- decision matrix ----------------------------------------------------------------------------
def scores(total_of_six):
    """Six scores 1-5 adding up to the total."""
    values, rest = [], total_of_six
    for remaining in range(6, 0, -1):
        value = min(5, rest - (remaining - 1))
        values.append(value)
        rest -= value
    return dict(zip(econ.DECISION_FACTORS, values))


@pytest.mark.parametrize("total, model", [(6, "tech-touch"), (11, "tech-touch"), (12, "low-touch"),
                                          (19, "low-touch"), (20, "high-touch"), (30, "high-touch")])
def test_decision_matrix_zones(total, model):
    result = econ.decision_matrix(**scores(total))
    assert result.total == total and result.model == model
    assert dict(result.scores) == scores(total)


@pytest.mark.parametrize("bad", [0, 6, 2.5, "3", None, True, math.nan])
def test_decision_matrix_refuses_bad_scores(bad):
    given = scores(18) | {"gross_margin": bad}
    with pytest.raises(ValueError, match="gross_margin") as error:
        econ.decision_matrix(**given)
    assert repr(bad) in str(error.value)


def test_touch_model_mix():
    assert econ.touch_model_mix([25, 28, 21]) == "high-touch"
    assert econ.touch_model_mix([25, 15, 8]) == "hybrid"
    assert econ.touch_model_mix([12, 19]) == "low-touch"
    with pytest.raises(ValueError):
        econ.touch_model_mix([])


# -- thresholds ------------------------------------------------------------------------------------
def test_default_thresholds():
    t = econ.DEFAULT_THRESHOLDS
    assert [t[s]["ltv_cac_min"] for s in ("smb", "mid_market", "enterprise")] == [5, 4, 3]
    assert [t[s]["payback_months_max"] for s in ("smb", "mid_market", "enterprise")] == [12, 18, 36]
    assert [t[s]["annual_churn_max"] for s in ("smb", "mid_market", "enterprise")] == [0.25, 0.15, 0.10]
    assert [t[s]["cac_max"] for s in ("smb", "mid_market", "enterprise")] == [500, 5_000, 100_000]
    assert t["smb"]["cs_cost_per_account_max"] == 200
    assert t["enterprise"]["annual_expansion_min"] == 0.15
    with pytest.raises(TypeError):
        t["smb"]["cac_max"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        t["new"] = {}  # type: ignore[index]


def test_thresholds_use_known_metric_keys():
    from simkit.scenario.model import THRESHOLD_METRICS

    for values in econ.DEFAULT_THRESHOLDS.values():
        assert set(values) <= set(THRESHOLD_METRICS)


# -- money formatting -----------------------------------------------------------------------------
@pytest.mark.parametrize("amount, text", [
    (950, "$950"), (0, "$0"), (1_234, "$1.2K"), (999.6, "$1.0K"), (12_500, "$12.5K"),
    (999_960, "$1.0M"), (3_400_000, "$3.4M"), (1_200_000_000, "$1.20B"), (-1_500, "-$1.5K"),
    (math.inf, "n/a (no wins)"), (math.nan, "n/a"),
])
def test_format_money(amount, text):
    assert econ.format_money(amount) == text


def test_format_money_other_currency():
    assert econ.format_money(1_500, "EUR") == "EUR 1.5K"


# -- a scenario at expected inputs -----------------------------------------------------------------
def F(value):
    return Fixed(value)


def build_scenario(window=60):
    segments = {
        "smb": Segment("smb", acv=F(2_400), gross_margin=F(0.8), monthly_churn=F(0.03),
                       cost_to_serve_per_year=F(120), touch_model="tech_touch"),
        "enterprise": Segment("enterprise", acv=F(120_000), gross_margin=F(0.8), annual_churn=F(0.08),
                              annual_expansion=F(0.15), touch_model="high_touch"),
        "partners": Segment("partners", acv=F(10_000), gross_margin=F(0.7), annual_churn=F(0.1),
                            monthly_expansion=F(0.01), touch_model="tech_touch"),
    }

    def motion(name, segment, cost_per_lead, conversion, sales_cost):
        return Motion(name, segment, "custom", F(cost_per_lead), F(conversion), F(sales_cost),
                      sales_cycle_months=F(0), cost_per_head_per_year=F(0))

    motions = {
        "self_serve": motion("self_serve", "smb", 50, 0.10, 0),
        "field": motion("field", "enterprise", 10_000, 0.20, 40_000),
        "events": motion("events", "enterprise", 5_000, 0.05, 20_000),
    }
    touch_models = {
        "tech_touch": TouchModel("tech_touch", F(0), F(0), F(60), F(1)),
        "high_touch": TouchModel("high_touch", F(12), F(150_000), F(500), F(1.5)),
    }
    allocation = Allocation(budget_per_month={"self_serve": F(20_000), "field": F(300_000),
                                              "events": F(100_000)})
    return Scenario(name="test", description="", currency="USD", horizon_months=36, draws=100, seed=1,
                    ltv_window_months=window, company=Company(None, F(1e6), F(1e5)),
                    segments=segments, motions=motions, touch_models=touch_models,
                    allocation=allocation, stages={})


def test_scenario_economics_at_expected_inputs(no_warnings):
    rows = {row.segment: row for row in econ.scenario_economics(build_scenario())}
    assert list(rows) == ["smb", "enterprise", "partners"]

    smb = rows["smb"]
    assert smb.cac == pytest.approx(500, **EXACT)
    serve = (120 + 60) / 12
    assert smb.ltv == pytest.approx(ltv_by_loop(2_400, 0.8, 0.03, 0.0, 60, serve), rel=1e-12)
    assert smb.payback_months == payback_by_loop(500, 2_400, 0.8, 0.03, 0.0, 60, serve)
    assert smb.annual_churn == pytest.approx(1 - 0.97**12, **EXACT)
    assert smb.napkin_payback_months == pytest.approx(2.5, **EXACT)
    assert smb.napkin_ltv == pytest.approx(2_400 / smb.annual_churn, **EXACT)
    assert smb.cs_cost_per_account == 60 and smb.touch_model_fit.verdict == "works"

    # Two motions, weighted by the wins their budgets buy:
    # field: 300K / 10K * 0.2 = 6 wins; events: 100K / 5K * 0.05 = 1 win.
    enterprise = rows["enterprise"]
    spend = 300_000 + 6 * 40_000 + 100_000 + 1 * 20_000
    assert enterprise.cac == pytest.approx(spend / 7, **EXACT)
    assert enterprise.motions == ("field", "events")
    assert enterprise.cs_cost_per_account == pytest.approx(150_000 / 12 + 500, **EXACT)
    expected_ltv = ltv_by_loop(120_000, 0.8, econ.monthly_churn(0.08), econ.monthly_expansion(0.15), 60,
                               (150_000 / 12 + 500) / 12)
    assert enterprise.ltv == pytest.approx(expected_ltv, rel=1e-12)
    assert enterprise.ltv_cac == pytest.approx(expected_ltv / (spend / 7), rel=1e-12)
    assert enterprise.napkin_ltv == pytest.approx(120_000 / 0.08 * 1.15, **EXACT)
    assert enterprise.touch_model_fit.verdict == "works"

    # No motion wins partners: CAC inf, LTV:CAC 0, payback never.
    partners = rows["partners"]
    assert partners.cac == math.inf and partners.ltv_cac == 0.0
    assert math.isnan(partners.payback_months) and partners.napkin_payback_months == math.inf
    assert partners.annual_expansion == pytest.approx(1.01**12 - 1, **EXACT)
    assert partners.ltv > 0


def test_scenario_economics_without_budgets_averages_motion_cacs():
    scenario = build_scenario()
    scenario = dataclasses.replace(scenario, allocation=Allocation())
    enterprise = next(r for r in econ.scenario_economics(scenario) if r.segment == "enterprise")
    assert enterprise.cac == pytest.approx((90_000 + 120_000) / 2, **EXACT)


def test_scenario_with_unknown_touch_model_is_refused():
    scenario = build_scenario()
    segments = dict(scenario.segments)
    segments["smb"] = Segment("smb", acv=F(2_400), gross_margin=F(0.8), annual_churn=F(0.2),
                              touch_model="white_glove")
    with pytest.raises(ValueError, match="white_glove"):
        econ.scenario_economics(dataclasses.replace(scenario, segments=segments))


def test_format_economics_reads_like_a_table():
    rows = econ.scenario_economics(build_scenario())
    text = econ.format_economics(rows)
    lines = text.splitlines()
    assert "smb" in lines[0] and "enterprise" in lines[0] and "partners" in lines[0]
    assert "n/a (no wins)" in text and "0 (no wins)" in text
    assert "$500" in text  # smb CAC
    assert "enterprise: high-touch" in text  # the fit explained per segment
    assert econ.format_economics([]) == "(no segments)"


def test_public_api_is_declared():
    for name in econ.__all__:
        assert getattr(econ, name) is not None
        obj = getattr(econ, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__doc__ and "Returns" in obj.__doc__, name
