"""Shocks: every operation on every distribution family acts as the table in
``simkit/scenario/shocks.py`` says, results stay inside the field's valid range, a neutral
shock changes nothing bit for bit, wildcards reach the right inputs, and the standard
suite is what the docs list."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simkit
from simkit.scenario.distributions import Beta, Fixed, LogitNormal, LogNormal, Normal, Pert, Triangular, Uniform
from simkit.scenario.model import Shock, Stress
from simkit.scenario.shocks import SUITES, apply_shock, apply_stress, shock_distribution, standard_suite

CHURN = "segments.smb.annual_churn"
ACV = "segments.smb.acv"
EXPANSION = "segments.smb.annual_expansion"
CYCLE = "motions.self_serve.sales_cycle_months"
LEAD = "motions.self_serve.cost_per_lead"
MARGIN = "segments.smb.gross_margin"


def shocked(dist, operation, value, path):
    return shock_distribution(dist, operation, value, path)


# --- each family, each operation ---------------------------------------------------------------

def test_fixed_scale_and_shift():
    assert shocked(Fixed(0.2), "scale", 1.5, CHURN).value == pytest.approx(0.3)
    assert shocked(Fixed(0.2), "shift", 0.05, CHURN).value == pytest.approx(0.25)
    assert shocked(Fixed(2400.0), "scale", 0.8, ACV).value == pytest.approx(1920.0)
    assert shocked(Fixed(3.0), "shift", 3, CYCLE).value == 6.0


def test_beta_scale_keeps_concentration():
    dist = Beta.from_mean(0.2, 150)
    out = shocked(dist, "scale", 1.5, CHURN)
    assert isinstance(out, Beta)
    assert out.mean() == pytest.approx(0.3, rel=1e-12)
    assert out.alpha + out.beta == pytest.approx(150, rel=1e-12)


def test_beta_shift_moves_the_mean_and_keeps_concentration():
    out = shocked(Beta.from_mean(0.2, 80), "shift", -0.05, CHURN)
    assert isinstance(out, Beta)
    assert out.mean() == pytest.approx(0.15, rel=1e-12)
    assert out.alpha + out.beta == pytest.approx(80, rel=1e-12)


def test_beta_scaled_past_one_is_capped_inside_zero_one():
    out = shocked(Beta.from_mean(0.6, 50), "scale", 2.0, CHURN)
    assert isinstance(out, Beta)
    assert 0.999 < out.mean() < 1.0
    assert out.alpha + out.beta == pytest.approx(50)
    draws = out.ppf(np.linspace(0.001, 0.999, 300))
    assert np.all(np.isfinite(draws)) and np.all((draws >= 0) & (draws <= 1))


def test_lognormal_scale_and_shift_move_the_median_keep_sigma():
    dist = LogNormal.from_median(2400.0, 0.25)
    scaled = shocked(dist, "scale", 0.8, ACV)
    assert isinstance(scaled, LogNormal)
    assert math.exp(scaled.mu) == pytest.approx(1920.0, rel=1e-12)
    assert scaled.sigma == dist.sigma
    shifted = shocked(dist, "shift", 600, ACV)
    assert math.exp(shifted.mu) == pytest.approx(3000.0, rel=1e-12)
    assert shifted.sigma == dist.sigma
    # Scaled by 0: the median is floored above 0, never 0 (log of 0) or negative.
    zero = shocked(dist, "scale", 0.0, ACV)
    assert math.isfinite(zero.mu) and math.exp(zero.mu) > 0


def test_range_on_a_rate_scales_the_median_keeps_the_logit_spread():
    dist = LogitNormal.from_quantiles(0.06, 0.12, 1.6448536269514722)
    out = shocked(dist, "scale", 0.5, "motions.self_serve.conversion")
    assert isinstance(out, LogitNormal)
    from scipy.special import expit

    assert expit(out.mu) == pytest.approx(0.5 * expit(dist.mu), rel=1e-12)
    assert out.sigma == dist.sigma
    capped = shocked(dist, "scale", 100.0, "motions.self_serve.conversion")
    assert 0.999 < expit(capped.mu) < 1.0


@pytest.mark.parametrize("cls", [Pert, Triangular])
def test_pert_and_triangular_move_every_point(cls):
    dist = cls(0.1, 0.2, 0.3)
    out = shocked(dist, "scale", 1.5, CHURN)
    assert isinstance(out, cls)
    assert (out.low, out.mode, out.high) == pytest.approx((0.15, 0.3, 0.45))
    out = shocked(dist, "shift", 0.1, CHURN)
    assert (out.low, out.mode, out.high) == pytest.approx((0.2, 0.3, 0.4))


def test_pert_keeps_its_shape_and_is_capped_at_one():
    dist = Pert(0.4, 0.6, 0.8, shape=6.0)
    out = shocked(dist, "scale", 1.5, CHURN)
    assert isinstance(out, Pert)
    assert out.shape == 6.0
    assert (out.low, out.mode, out.high) == pytest.approx((0.6, 0.9, 1.0))
    # Every point past the cap: a certain 100%, not an invalid PERT.
    gone = shocked(dist, "scale", 3.0, CHURN)
    assert isinstance(gone, Fixed) and gone.value == 1.0


def test_uniform_moves_both_ends():
    out = shocked(Uniform(1000.0, 3000.0), "scale", 0.5, ACV)
    assert isinstance(out, Uniform) and (out.low, out.high) == (500.0, 1500.0)
    out = shocked(Uniform(1000.0, 3000.0), "shift", -500, ACV)
    assert (out.low, out.high) == (500.0, 2500.0)


def test_normal_scale_moves_mean_and_sd_shift_only_the_mean():
    dist = Normal(0.10, 0.04, -1.0, 100.0)
    scaled = shocked(dist, "scale", 0.5, EXPANSION)
    assert isinstance(scaled, Normal)
    assert (scaled.loc, scaled.scale) == pytest.approx((0.05, 0.02))
    assert (scaled.low, scaled.high) == (dist.low, dist.high)  # still cut to the field's range
    shifted = shocked(dist, "shift", -0.05, EXPANSION)
    assert (shifted.loc, shifted.scale) == pytest.approx((0.05, 0.04))
    assert shocked(dist, "scale", 0.0, EXPANSION) == Fixed(0.0)


def test_set_replaces_with_a_number_or_a_distribution():
    assert shocked(Beta.from_mean(0.2, 100), "set", 0.1, CHURN) == Fixed(0.1)
    replacement = Pert(0.1, 0.2, 0.4)
    assert shocked(Fixed(0.2), "set", replacement, CHURN) is replacement


def test_unknown_operation_is_refused():
    with pytest.raises(ValueError, match="scale, shift or set"):
        shocked(Fixed(1.0), "multiply", 2.0, ACV)


# --- valid ranges ------------------------------------------------------------------------------

@pytest.mark.parametrize("dist", [Fixed(0.6), Pert(0.4, 0.6, 0.8), Triangular(0.4, 0.6, 0.8), Uniform(0.5, 0.7),
                                  Beta.from_mean(0.6, 40), LogitNormal(0.4, 0.3)])
def test_rates_stay_inside_zero_one(dist):
    for operation, value in (("scale", 2.5), ("shift", 0.9), ("shift", -0.9), ("scale", 0.0)):
        out = shocked(dist, operation, value, CHURN)
        low, high = out.support
        assert 0.0 <= low <= high <= 1.0, (operation, value, out)
        draws = out.ppf(np.linspace(0.0005, 0.9995, 257))
        assert np.all((draws >= 0) & (draws <= 1)), (operation, value, out)


@pytest.mark.parametrize("dist", [Fixed(100.0), Pert(50.0, 100.0, 200.0), Uniform(50.0, 150.0), LogNormal(4.6, 0.3)])
def test_amounts_that_must_stay_positive_do(dist):
    """A cost per lead scaled by 0 (or shifted far below 0) stays above 0: the field
    excludes 0 and the engine divides by it."""
    for operation, value in (("scale", 0.0), ("shift", -1e6), ("scale", -1.0)):
        out = shocked(dist, operation, value, LEAD)
        draws = out.ppf(np.linspace(0.0005, 0.9995, 257))
        assert np.all(draws > 0), (operation, value, out)


def test_money_that_may_be_zero_is_floored_at_zero():
    assert shocked(Fixed(50_000.0), "shift", -80_000, "allocation.budget_per_month.self_serve") == Fixed(0.0)


def test_a_cost_per_lead_scaled_to_zero_simulates(make_scenario):
    """Regression: x0 on a fixed cost per lead used to give Fixed(0) and a
    ZeroDivisionError in the engine (reverse_stress tries x0 when direction is auto)."""
    scenario = apply_shock(make_scenario(), Shock(LEAD, "scale", 0.0))
    ds = simkit.simulate(scenario, draws=20)
    assert np.isfinite(ds["customers_won"].values).all()


def test_open_lower_bounds_of_margin_and_expansion():
    assert shocked(Fixed(0.7), "shift", -1.0, MARGIN).value > 0
    assert shocked(Fixed(0.05), "shift", -3.0, EXPANSION).value > -1


# --- a neutral shock changes nothing -------------------------------------------------------------

@pytest.mark.parametrize("dist", [Fixed(0.2), Beta.from_mean(0.2, 100), LogNormal(7.8, 0.2), LogitNormal(-1.0, 0.3),
                                  Pert(0.1, 0.2, 0.3), Triangular(0.1, 0.2, 0.3), Uniform(0.1, 0.3),
                                  Normal(0.05, 0.02, -1.0, 100.0)])
def test_neutral_shocks_return_the_same_distribution(dist):
    assert shocked(dist, "scale", 1.0, CHURN) is dist
    assert shocked(dist, "shift", 0.0, CHURN) is dist
    assert shocked(dist, "shift", 0, CHURN) is dist


UNCERTAIN = {
    "segments": {"smb": {"acv": {"lognormal": {"median": 2_400, "sigma": 0.2}},
                         "annual_churn": {"beta": {"mean": 0.2, "concentration": 100}},
                         "annual_expansion": {"normal": {"mean": 0.05, "sd": 0.02}},
                         "gross_margin": {"pert": {"min": 0.7, "mode": 0.8, "max": 0.85}}}},
    "motions": {"self_serve": {"conversion": {"range": [0.06, 0.12]},
                               "cost_per_lead": {"uniform": {"min": 80, "max": 120}}}},
}


def _data_equal(a, b) -> bool:
    assert set(a.data_vars) == set(b.data_vars)
    return all(np.array_equal(a[v].values, b[v].values, equal_nan=True) for v in a.data_vars)


def test_neutral_shocks_on_every_input_leave_results_identical_bit_for_bit(make_scenario):
    scenario = make_scenario(UNCERTAIN)
    base = simkit.simulate(scenario, draws=300, keep_paths=True)
    for operation, value in (("scale", 1.0), ("shift", 0.0)):
        same = apply_shock(scenario, Shock("*", operation, value))
        assert same.inputs() == scenario.inputs()
        assert _data_equal(base, simkit.simulate(same, draws=300, keep_paths=True))
    # ... and a real shock does change them (the comparison can fail).
    harsher = apply_shock(scenario, Shock(CHURN, "scale", 1.2))
    assert not _data_equal(base, simkit.simulate(harsher, draws=300, keep_paths=True))


def test_a_shock_changes_only_the_inputs_it_matches(make_scenario):
    scenario = make_scenario(UNCERTAIN)
    out = apply_shock(scenario, Shock(CHURN, "scale", 1.5))
    before, after = scenario.inputs(), out.inputs()
    changed = {p for p in before if before[p] != after[p]}
    assert changed == {CHURN}


# --- wildcards ---------------------------------------------------------------------------------

THREE = {
    "segments": {"mid_market": {"acv": 20_000, "gross_margin": 0.75, "annual_churn": 0.12},
                 "enterprise": {"acv": 150_000, "gross_margin": 0.8, "annual_churn": 0.08,
                                "annual_expansion": 0.15}},
    "motions": {"sales_assisted": {"segment": "mid_market", "cost_per_lead": 500, "conversion": 0.25},
                "field_sales": {"segment": "enterprise", "cost_per_lead": 10_000, "conversion": 0.2,
                                "sales_cycle_months": 6}},
    "allocation": {"budget_per_month": {"sales_assisted": 50_000}},
    "stages": {"scaling": {"arr_from": 5_000_000,
                           "allocation": {"budget_per_month": {"field_sales": 100_000}}}},
}


def test_wildcards_match_the_right_paths(make_scenario):
    scenario = make_scenario(THREE)
    assert scenario.match_inputs("segments.*.annual_churn") == [
        "segments.smb.annual_churn", "segments.mid_market.annual_churn", "segments.enterprise.annual_churn"]
    assert scenario.match_inputs("motions.*.conversion") == [
        "motions.self_serve.conversion", "motions.sales_assisted.conversion", "motions.field_sales.conversion"]
    assert scenario.match_inputs("allocation.budget_per_month.*") == [
        "allocation.budget_per_month.self_serve", "allocation.budget_per_month.sales_assisted"]
    assert scenario.match_inputs("*budget_per_month.*") == [
        "allocation.budget_per_month.self_serve", "allocation.budget_per_month.sales_assisted",
        "stages.scaling.allocation.budget_per_month.field_sales"]
    assert scenario.match_inputs("segments.?nterprise.acv") == ["segments.enterprise.acv"]
    assert scenario.match_inputs("segments.*.monthly_churn") == []


def test_a_wildcard_shock_changes_every_match_and_nothing_else(make_scenario):
    scenario = make_scenario(THREE)
    out = apply_shock(scenario, Shock("segments.*.annual_churn", "scale", 1.5))
    before, after = scenario.inputs(), out.inputs()
    for path in before:
        if path.endswith(".annual_churn"):
            assert after[path].value == pytest.approx(before[path].value * 1.5)
        else:
            assert after[path] == before[path], path


def test_a_shock_matching_nothing_is_an_error(make_scenario):
    with pytest.raises(KeyError, match="matches no input"):
        apply_shock(make_scenario(), Shock("segments.*.monthly_churn", "scale", 1.5))


def test_apply_stress_skips_shocks_that_match_nothing(make_scenario):
    scenario = make_scenario(THREE)
    stress = Stress("mixed", "", (Shock("segments.*.monthly_churn", "scale", 2.0),
                                  Shock("segments.*.annual_churn", "scale", 1.5),
                                  Shock("motions.nothing_here.conversion", "scale", 0.1)))
    out = apply_stress(scenario, stress)
    assert out.name == f"{scenario.name} [mixed]"
    before, after = scenario.inputs(), out.inputs()
    assert {p for p in before if before[p] != after[p]} == set(scenario.match_inputs("segments.*.annual_churn"))
    nothing = apply_stress(scenario, Stress("none", "", (Shock("segments.*.monthly_churn", "scale", 2.0),)))
    assert nothing is scenario


def test_apply_stress_applies_shocks_in_order(make_scenario):
    scenario = make_scenario()
    stress = Stress("two", "", (Shock(CHURN, "scale", 2.0), Shock(CHURN, "shift", 0.1)))
    assert apply_stress(scenario, stress).inputs()[CHURN].value == pytest.approx(0.2 * 2 + 0.1)


# --- the standard suite ------------------------------------------------------------------------

def test_standard_suite_has_the_seven_documented_stresses():
    suite = standard_suite()
    assert list(suite) == ["churn_x1.5", "conversion_x0.7", "expansion_x0.5", "acv_x0.8", "sales_cycle_plus3",
                           "budget_x0.75", "bad_year"]
    assert SUITES["standard"] is standard_suite
    for name, stress in suite.items():
        assert stress.name == name and stress.description and stress.shocks
        assert all(s.operation in ("scale", "shift") for s in stress.shocks)
    ops = {(s.input, s.operation, s.value) for s in suite["bad_year"].shocks}
    assert ("segments.*.annual_churn", "scale", 1.3) in ops
    assert ("motions.*.conversion", "scale", 0.8) in ops
    assert ("motions.*.sales_cycle_months", "shift", 3.0) in {
        (s.input, s.operation, s.value) for s in suite["sales_cycle_plus3"].shocks}


def test_every_standard_stress_applies_to_a_minimal_scenario(make_scenario):
    scenario = make_scenario(THREE)
    for stress in standard_suite().values():
        out = apply_stress(scenario, stress)
        assert out is not scenario, stress.name  # each one changes something here
        before, after = scenario.inputs(), out.inputs()
        assert any(before[p] != after[p] for p in before), stress.name
