"""Stress tests, reverse stress, frontier, plan comparison and sensitivity on common random
numbers, and the charts built on them (every number a chart writes is the analysis's)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import simkit  # noqa: E402
import xarray as xr  # noqa: E402
from simkit import plots  # noqa: E402
from simkit.plots import _style as st  # noqa: E402
from simkit.plots.analysis import _signed, input_label, relative_label, stress_label  # noqa: E402
from simkit.scenario.model import Shock, Stress  # noqa: E402
from simkit.scenario.shocks import apply_shock  # noqa: E402

#: Two segments, uncertain rates in both, no stages (nothing couples the segments).
TWO = {
    "scenario": {"name": "analysis_test", "horizon_months": 24, "seed": 11},
    "segments": {
        "smb": {"acv": {"lognormal": {"median": 2_400, "sigma": 0.15}}, "gross_margin": 0.8,
                "annual_churn": {"beta": {"mean": 0.2, "concentration": 40}}, "starting_customers": 300},
        "mid_market": {"acv": {"lognormal": {"median": 20_000, "sigma": 0.2}}, "gross_margin": 0.75,
                       "annual_churn": {"beta": {"mean": 0.14, "concentration": 30}}, "starting_customers": 40},
    },
    "motions": {
        "self_serve": {"conversion": {"beta": {"mean": 0.1, "concentration": 300}}},
        "sales_assisted": {"segment": "mid_market", "cost_per_lead": 500,
                           "conversion": {"beta": {"mean": 0.25, "concentration": 100}},
                           "sales_cost_per_won": 12_000, "sales_cycle_months": 2},
    },
    "allocation": {"budget_per_month": {"self_serve": 10_000, "sales_assisted": 40_000}},
}
DRAWS = 800
CHURN = "segments.*.annual_churn"


@pytest.fixture(scope="module")
def scenario(make_scenario):
    return make_scenario(TWO)


def _churn_stresses(multipliers):
    return [Stress(f"churn_x{m:g}", f"churn x{m:g}", (Shock(CHURN, "scale", m),)) for m in multipliers]


@pytest.fixture(scope="module")
def churn_result(scenario):
    return simkit.stress(scenario, suite=None, stresses=_churn_stresses([1.2, 1.5, 2.0]), draws=DRAWS)


# --- stress ------------------------------------------------------------------------------------

def test_harsher_churn_never_raises_p_ltv_cac(churn_result):
    order = ["baseline", "churn_x1.2", "churn_x1.5", "churn_x2"]
    assert list(churn_result["stress"].values) == order
    p = churn_result["probability"].sel(threshold="ltv_cac_min", stress=order)
    for segment in churn_result["segment"].values:
        values = p.sel(segment=segment).values
        assert np.all(np.diff(values) <= 0), (segment, values)
    smb = p.sel(segment="smb").values
    assert smb[0] - smb[-1] > 0.3  # the shock really bites (the check above could fail)
    mid = p.sel(segment="mid_market").values
    assert mid[0] > mid[-1]


def test_paired_change_error_is_smaller_than_unpaired(churn_result):
    n = churn_result.attrs["draws"]
    p0 = churn_result["probability"].sel(stress="baseline")
    compared = 0
    for name in ["churn_x1.2", "churn_x1.5", "churn_x2"]:
        p1 = churn_result["probability"].sel(stress=name)
        paired = churn_result["change_std_error"].sel(stress=name)
        unpaired = np.sqrt(p0 * (1 - p0) / n + p1 * (1 - p1) / n)
        moved = (churn_result["probability_change"].sel(stress=name) != 0) & (p0 > 0) & (p0 < 1)
        assert bool((paired < unpaired).where(moved, True).all()), name
        compared += int(moved.sum())
    assert compared >= 4


def test_baseline_row_is_the_plain_simulation(scenario, churn_result):
    plain = simkit.threshold_probabilities(simkit.simulate(scenario, draws=DRAWS))
    base = churn_result["probability"].sel(stress="baseline")
    np.testing.assert_array_equal(base.transpose("segment", "threshold").values,
                                  plain["probability"].transpose("segment", "threshold").values)
    assert float(abs(churn_result["probability_change"].sel(stress="baseline")).max()) == 0
    expected = (churn_result["probability"] < 0.5).where(churn_result["probability"].notnull())
    np.testing.assert_array_equal(churn_result["below_target"].values, expected.values)


def test_scenario_stresses_join_and_override_the_suite(make_scenario):
    own = make_scenario({**TWO, "stresses": {"bad_year": {"description": "ours", "shocks": [
        {"input": "segments.*.annual_churn", "scale": 1.1}]}}})
    result = simkit.stress(own, draws=200)
    names = list(result["stress"].values)
    assert names[0] == "baseline" and len(names) == 8 and names.count("bad_year") == 1
    assert str(result["stress_description"].sel(stress="bad_year").values) == "ours"


# --- reverse stress ------------------------------------------------------------------------------

def test_reverse_stress_brackets_the_target(scenario):
    target, tolerance = 0.5, 0.02
    found = simkit.reverse_stress(scenario, input="segments.smb.annual_churn", segment="smb", threshold="ltv_cac_min",
                                  target_probability=target, tolerance=tolerance, draws=DRAWS)
    good, bad = found["bracket"]
    at = found["probability_at"]
    assert found["baseline_probability"] == at[1.0] >= target
    assert at[good] >= target > at[bad]
    assert 1.0 <= good < bad and bad - good <= tolerance
    assert found["breaking_shock"] == bad
    # Re-run the two bracket ends from scratch: the search reported real probabilities.
    for size in (good, bad):
        ds = simkit.simulate(apply_shock(scenario, Shock("segments.smb.annual_churn", "scale", size)), draws=DRAWS)
        p = float(simkit.threshold_probabilities(ds)["probability"].sel(segment="smb", threshold="ltv_cac_min"))
        assert p == at[size]


def test_reverse_stress_that_never_breaks_says_so(scenario):
    found = simkit.reverse_stress(scenario, input="segments.mid_market.annual_churn", segment="mid_market",
                                  target_probability=0.01, limit=1.05, draws=200)
    assert math.isnan(found["breaking_shock"])
    assert found["bracket"] == (1.05, 1.05)


# --- frontier ------------------------------------------------------------------------------------

def test_frontier_shape_coords_and_monotone(scenario, churn_result):
    xs, ys = [1.0, 1.3, 1.6], [1.0, 0.8, 0.6]
    result = simkit.frontier(scenario, x=("segments.smb.annual_churn", "scale", xs),
                             y=("motions.self_serve.conversion", "scale", ys), segment="smb", draws=DRAWS)
    grid = result["probability"]
    assert grid.dims == ("y", "x") and grid.shape == (3, 3)
    assert list(result["x"].values) == xs and list(result["y"].values) == ys
    values = grid.values
    assert np.all(np.diff(values, axis=1) <= 0)  # harsher churn along x
    assert np.all(np.diff(values, axis=0) <= 0)  # lower conversion along y
    assert values[0, 0] > values[-1, -1]
    base = float(churn_result["probability"].sel(stress="baseline", segment="smb", threshold="ltv_cac_min"))
    assert values[0, 0] == base
    assert result.attrs["segment"] == "smb" and result.attrs["x_operation"] == "scale"


# --- compare -------------------------------------------------------------------------------------

def test_a_plan_compared_with_itself_ties_everywhere(scenario):
    result = simkit.compare([scenario, scenario], draws=300)
    assert list(result["plan"].values) == ["analysis_test", "analysis_test (2)"]
    assert np.all(result["p_better_company"].values == 0.5)
    segment = result["p_better_segment"].values
    assert np.all(segment[np.isfinite(segment)] == 0.5) and np.isfinite(segment).sum() >= 8
    assert np.all(result["difference_company"].values == 0)
    diff = result["difference_segment"].values
    assert np.all(diff[np.isfinite(diff)] == 0)


def test_more_budget_beats_on_arr(scenario):
    richer = apply_shock(scenario, Shock("allocation.budget_per_month.*", "scale", 1.5))
    result = simkit.compare([scenario, richer], draws=300)
    plan = result["plan"].values[1]
    p_arr = float(result["p_better_company"].sel(plan=plan, company_measure="total_arr_final"))
    assert p_arr > 0.5
    assert float(result["difference_company"].sel(plan=plan, company_measure="total_arr_final", quantile=0.5)) > 0
    # Spending more leaves less cash at the low point in most futures.
    assert float(result["p_better_company"].sel(plan=plan, company_measure="cash_low")) < 0.5
    # The reference against itself: no edge, no difference.
    assert float(result["p_better_company"].sel(plan=result["plan"].values[0], company_measure="cash_low")) == 0.5


# --- sensitivity -------------------------------------------------------------------------------

ONLY_CHURN = {
    "scenario": {"name": "only_churn", "horizon_months": 24, "seed": 5},
    "segments": {
        "smb": {"acv": 2_400, "gross_margin": 0.8, "annual_churn": {"beta": {"mean": 0.2, "concentration": 30}},
                "starting_customers": 500},
        "mid_market": {"acv": {"lognormal": {"median": 20_000, "sigma": 0.3}}, "gross_margin": 0.75,
                       "annual_churn": 0.12, "starting_customers": 30},
    },
    "motions": {"sales_assisted": {"segment": "mid_market", "cost_per_lead": 500, "conversion": 0.25}},
    "allocation": {"budget_per_month": {"sales_assisted": 20_000}},
}


def test_sensitivity_finds_churn_and_ignores_an_unrelated_input(make_scenario):
    n = 2000
    ds = simkit.simulate(make_scenario(ONLY_CHURN), draws=n)
    result = simkit.sensitivity(ds)
    assert set(result["input"].values) == {"segments.smb.annual_churn", "segments.mid_market.acv"}
    effect = result["segment_effect"].sel(segment="smb", output="ltv_cac")
    assert float(effect.sel(input="segments.smb.annual_churn")) < -0.7
    assert abs(float(effect.sel(input="segments.mid_market.acv"))) < 4 / math.sqrt(n)
    # Mid-market ACV does move mid-market's LTV:CAC; SMB churn does not.
    mid = result["segment_effect"].sel(segment="mid_market", output="ltv_cac")
    assert float(mid.sel(input="segments.mid_market.acv")) > 0.7
    assert abs(float(mid.sel(input="segments.smb.annual_churn"))) < 4 / math.sqrt(n)
    assert result["arr_effect_over_time"].dims == ("input", "month")
    assert list(result["month"].values) == [5, 11, 17, 23]


def test_sensitivity_without_uncertain_inputs_explains(make_scenario):
    with pytest.raises(ValueError, match="no uncertain inputs"):
        simkit.sensitivity(simkit.simulate(make_scenario(), draws=50))


# --- charts ---------------------------------------------------------------------------------------

def _texts(fig, gid):
    return [t.get_text() for t in fig.findobj(Text) if t.get_gid() == gid]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_input_labels_read_like_words():
    assert input_label("segments.enterprise.annual_churn") == "Enterprise annual churn"
    assert input_label("segments.mid_market.acv") == "Mid-market ACV"
    assert input_label("motions.field_sales.conversion") == "Field sales conversion"
    assert input_label("motions.field_sales.sales_cycle_months") == "Field sales cycle"
    assert input_label("allocation.budget_per_month.self_serve") == "Self serve budget"
    assert input_label("stages.scaling.allocation.csms.enterprise") == "Enterprise CSMs (Scaling stage)"
    assert input_label("company.starting_cash") == "Starting cash"
    assert input_label("touch_models.high_touch.csm_cost_per_year") == "High touch CSM cost"
    assert input_label("segments.*.annual_churn") == "Annual churn (every segment)"
    assert relative_label("segments.smb.acv", "smb") == "ACV"
    assert relative_label("segments.smb.acv", "mid_market") == "SMB ACV"
    assert stress_label("churn_x1.5") == "Churn ×1.5" and stress_label("budget_cut") == "Budget cut"


def test_tornado_writes_the_strongest_correlations(scenario):
    result = simkit.sensitivity(simkit.simulate(scenario, draws=DRAWS))
    fig = plots.tornado(result, top=3)
    assert isinstance(fig, Figure)
    written = _texts(fig, "tornado-value")
    expected = []
    for segment in result["segment"].values:
        effect = result["segment_effect"].sel(segment=segment, output="ltv_cac").to_series().dropna()
        top = effect.reindex(effect.abs().sort_values(ascending=False).index)[:3]
        expected += [_signed(v) for v in top.values]
    assert written == expected
    assert "LTV:CAC" in fig.get_label()
    ax = plt.figure().add_subplot()
    assert plots.tornado(result, ax=ax, segment="mid_market") is ax


def test_arr_drivers_cells_are_the_correlations(scenario):
    result = simkit.sensitivity(simkit.simulate(scenario, draws=DRAWS))
    fig = plots.arr_drivers(result, top=4)
    cells = _texts(fig, "driver-cell")
    assert len(cells) == 4 * result.sizes["month"]
    values = {_signed(v) for v in result["arr_effect_over_time"].values.ravel()}
    assert set(cells) <= values
    assert "company ARR" in fig.get_label()


def test_stress_impact_shows_each_stress_probability(churn_result):
    fig = plots.stress_impact(churn_result)
    assert isinstance(fig, Figure)
    written = _texts(fig, "stress-probability")
    expected = []
    # Here no future clears every threshold at once: that row is left out and said in words.
    assert float(churn_result["probability"].sel(threshold="all").max()) == 0
    assert any("Not shown: all thresholds at once" in t.get_text() for t in fig.findobj(Text))
    for key in ("ltv_cac_min",):
        for segment in churn_result["segment"].values:
            for name in ["churn_x1.2", "churn_x1.5", "churn_x2"]:
                expected.append(st.percent(float(churn_result["probability"].sel(
                    stress=name, segment=segment, threshold=key))))
    assert written == expected
    assert fig.get_label().startswith("Churn ×2 hurts most: SMB")
    ax = plt.figure().add_subplot()
    assert plots.stress_impact(churn_result, ax=ax, segment="smb", threshold="ltv_cac_min") is ax


def test_plan_comparison_writes_p_better(scenario):
    richer = apply_shock(scenario, Shock("allocation.budget_per_month.*", "scale", 1.5))
    result = simkit.compare([scenario, richer], draws=300)
    fig = plots.plan_comparison(result)
    plan = result["plan"].values[1]
    company = [st.probability_text(float(result["p_better_company"].sel(plan=plan, company_measure=m)),
                                   float(result["p_better_company_std_error"].sel(plan=plan, company_measure=m)))
               for m in result["company_measure"].values]
    assert _texts(fig, "p-better")[:3] == company
    assert "more ARR" in fig.get_label()
    medians = _texts(fig, "difference-median")
    assert len(medians) == 2 and medians[0].startswith("median +")


def test_frontier_chart_cells_and_boundary(scenario):
    result = simkit.frontier(scenario, x=("segments.smb.annual_churn", "scale", [1.0, 1.5, 2.0]),
                             y=("motions.self_serve.conversion", "scale", [1.0, 0.7]), segment="smb", draws=300)
    fig = plots.frontier_chart(result, target=0.5, threshold_value=5)
    cells = _texts(fig, "frontier-cell")
    assert cells == [st.percent(p) for p in result["probability"].values.ravel()]
    grid = result["probability"].values
    holding = int((grid >= 0.5).sum())
    assert f"{holding} of 6" in fig.get_label() or holding in (0, 6)


def test_analysis_figures_names(scenario, churn_result):
    ds = simkit.simulate(scenario, draws=300)
    pages = plots.analysis_figures(stress=churn_result, sensitivity=simkit.sensitivity(ds), provenance=ds.attrs)
    assert [name for name, _ in pages] == ["stress_impact", "drivers_ltv_cac", "drivers_arr_over_time"]
    assert all(isinstance(fig, Figure) for _, fig in pages)
    footnotes = [t.get_text() for t in pages[0][1].findobj(Text) if "seed 11" in t.get_text()]
    assert footnotes, "provenance (seed) reaches the stress page's footnote"


def test_axes_helpers_return_axes(churn_result):
    fig, ax = plt.subplots()
    assert isinstance(plots.stress_impact(churn_result, ax=ax), Axes)


def test_a_shock_to_one_segment_leaves_another_segments_futures_alone(scenario):
    # Process noise is keyed by (draw, segment or motion): the shocked segment's luck may
    # change, no other's does (this scenario has no stage or cash feedback between them).
    base = simkit.simulate(scenario, draws=200)
    shocked = simkit.simulate(apply_shock(scenario, Shock("segments.mid_market.annual_churn", "scale", 1.5)),
                              draws=200)
    np.testing.assert_array_equal(base["ltv_cac"].sel(segment="smb").values,
                                  shocked["ltv_cac"].sel(segment="smb").values)


def test_a_churn_shock_leaves_the_same_segments_wins_alone(scenario):
    """Wins come from the motion's stream, churn from the segment's: a churn shock moves
    churn only, deal for deal the same wins."""
    base = simkit.simulate(scenario, draws=200)
    shocked = simkit.simulate(apply_shock(scenario, Shock("segments.mid_market.annual_churn", "scale", 1.5)),
                              draws=200)
    np.testing.assert_array_equal(base["won"].sel(segment="mid_market").values,
                                  shocked["won"].sel(segment="mid_market").values)
    assert (shocked["churned"].sel(segment="mid_market").sum() > base["churned"].sel(segment="mid_market").sum())


def test_an_added_segment_leaves_the_other_segments_futures_alone(make_scenario):
    """Plan comparison: adding a segment and its motion changes nobody else's luck or
    parameters (draws are keyed by name, not by position)."""
    import copy

    three = copy.deepcopy(TWO)
    three["segments"] = {"enterprise": {"acv": {"lognormal": {"median": 150_000, "sigma": 0.3}},
                                        "gross_margin": 0.8, "annual_churn": {"range": [0.05, 0.12]}},
                         **three["segments"]}  # first in the file: positions shift
    three["motions"]["field_sales"] = {"segment": "enterprise", "cost_per_lead": 10_000,
                                       "conversion": {"beta": {"mean": 0.2, "concentration": 50}}}
    three["allocation"]["budget_per_month"]["field_sales"] = 100_000
    base = simkit.simulate(make_scenario(TWO), draws=300)
    grown = simkit.simulate(make_scenario(three), draws=300)
    for segment in ("smb", "mid_market"):
        for name in ("ltv_cac", "arr_final", "customers_won"):
            np.testing.assert_array_equal(base[name].sel(segment=segment).values,
                                          grown[name].sel(segment=segment).values, err_msg=f"{segment} {name}")


def test_stress_and_compare_reuse_a_given_baseline_run_exactly():
    from simkit.scenario import load

    scenario = load("scenarios/pre_pmf_smb.toml")
    baseline = simkit.simulate(scenario, draws=300, seed=4)
    fresh = simkit.stress(scenario, suite=None, draws=300, seed=4)
    reused = simkit.stress(scenario, suite=None, draws=300, seed=4, baseline=baseline)
    xr.testing.assert_identical(fresh, reused)
    plans = [scenario, scenario]
    xr.testing.assert_identical(simkit.compare(plans, draws=300, seed=4),
                                simkit.compare(plans, draws=300, seed=4, reference_results=baseline))
    with pytest.raises(ValueError, match="not this scenario's run"):
        simkit.stress(scenario, suite=None, draws=300, seed=5, baseline=baseline)
