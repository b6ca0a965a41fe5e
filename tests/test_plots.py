"""Charts: every plot returns a Figure (or draws into a given Axes), and every number it
writes equals the number in the summary it was given."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import simkit  # noqa: E402
from simkit import plots  # noqa: E402
from simkit.plots import _style as st  # noqa: E402
from simkit.plots.table import TABLE_METRICS, table_cells  # noqa: E402
from simkit.plots.thresholds import cell_texts, heatmap_columns  # noqa: E402
from simkit.report import summaries  # noqa: E402
from simkit.scenario import from_dict  # noqa: E402

#: Three segments with thresholds, a stage boundary crossed mid-run and cash that runs out
#: in some futures but not all: every chart has something to say.
SCENARIO = {
    "scenario": {"name": "plots_test", "description": "Three segments, one stage change.",
                 "horizon_months": 24, "seed": 11},
    "company": {"starting_cash": 5_000_000, "fixed_opex_per_month": 650_000},
    "segments": {
        "smb": {"acv": {"lognormal": {"median": 2_400, "sigma": 0.2}}, "gross_margin": 0.8,
                "annual_churn": {"beta": {"mean": 0.22, "concentration": 100}},
                "annual_expansion": {"range": [0.0, 0.1]}, "starting_customers": 900},
        "mid_market": {"acv": {"lognormal": {"median": 22_000, "sigma": 0.25}}, "gross_margin": 0.75,
                       "annual_churn": {"beta": {"mean": 0.13, "concentration": 80}},
                       "annual_expansion": {"range": [0.05, 0.2]}, "starting_customers": 180,
                       "touch_model": "low_touch"},
        "enterprise": {"acv": {"lognormal": {"median": 150_000, "sigma": 0.3}}, "gross_margin": 0.8,
                       "annual_churn": {"range": [0.05, 0.12]}, "annual_expansion": {"range": [0.08, 0.25]},
                       "touch_model": "high_touch"},
    },
    "motions": {
        "self_serve": {"segment": "smb", "cost_per_lead": 100,
                       "conversion": {"pert": {"min": 0.04, "mode": 0.08, "max": 0.12}}},
        "sales_assisted": {"segment": "mid_market", "cost_per_lead": 500,
                           "conversion": {"pert": {"min": 0.15, "mode": 0.25, "max": 0.35}},
                           "sales_cost_per_won": 3_000, "sales_cycle_months": 2},
        "field_sales": {"segment": "enterprise", "cost_per_lead": 10_000,
                        "conversion": {"pert": {"min": 0.1, "mode": 0.2, "max": 0.3}},
                        "sales_cost_per_won": 40_000, "sales_cycle_months": 6},
    },
    "allocation": {"budget_per_month": {"self_serve": 60_000, "sales_assisted": 150_000, "field_sales": 0},
                   "csms": {"mid_market": 4}},
    "stages": {"scaling": {"allocation": {"budget_per_month": {"field_sales": 250_000},
                                          "csms": {"enterprise": 4, "mid_market": 6}}}},
}


@pytest.fixture(scope="module")
def scenario():
    return from_dict(SCENARIO)


@pytest.fixture(scope="module")
def results(scenario):
    return simkit.simulate(scenario, draws=1500, seed=5)


@pytest.fixture(scope="module")
def summary(results, scenario):
    return {
        "bands": simkit.bands(results),
        "probabilities": simkit.threshold_probabilities(results),
        "variance": simkit.variance_split(scenario, outer_draws=60, replicates=4, bootstrap=20),
        "payback": summaries.payback_probability(results),
        "cash_out": summaries.cash_out_probability(results),
        "stages": summaries.stage_probability(results),
    }


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _texts(fig_or_ax, gid=None):
    artists = fig_or_ax.findobj(matplotlib.text.Text)
    return [t for t in artists if gid is None or t.get_gid() == gid]


CHARTS = {
    "arr_fan": lambda s, r: plots.arr_fan(s["bands"]),
    "cash": lambda s, r: plots.cash_chart(s["bands"], s["cash_out"]),
    "thresholds": lambda s, r: plots.threshold_heatmap(s["probabilities"]),
    "ltv_cac": lambda s, r: plots.ltv_cac_distribution(r, s["probabilities"]),
    "payback": lambda s, r: plots.payback_chart(s["payback"], s["probabilities"]),
    "unit_economics": lambda s, r: plots.unit_economics_table(s["bands"]),
    "stages": lambda s, r: plots.stage_timeline(s["stages"]),
    "variance": lambda s, r: plots.variance_chart(s["variance"]),
}

CHARTS_IN_AX = {
    "arr_fan": lambda s, r, ax: plots.arr_fan(s["bands"], ax=ax),
    "cash": lambda s, r, ax: plots.cash_chart(s["bands"], s["cash_out"], ax=ax),
    "thresholds": lambda s, r, ax: plots.threshold_heatmap(s["probabilities"], ax=ax),
    "ltv_cac": lambda s, r, ax: plots.ltv_cac_distribution(r, s["probabilities"], ax=ax, segment="enterprise"),
    "payback": lambda s, r, ax: plots.payback_chart(s["payback"], s["probabilities"], ax=ax),
    "unit_economics": lambda s, r, ax: plots.unit_economics_table(s["bands"], ax=ax),
    "stages": lambda s, r, ax: plots.stage_timeline(s["stages"], ax=ax),
    "variance": lambda s, r, ax: plots.variance_chart(s["variance"], ax=ax, metric="ltv_cac"),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_returns_a_16_by_9_figure_with_finding_and_footnote(name, summary, results):
    fig = CHARTS[name](summary, results)
    assert isinstance(fig, Figure)
    width, height = fig.get_size_inches()
    assert width / height == pytest.approx(16 / 9, rel=0.01)
    title = fig.get_label()
    assert title and len(title) > 20  # a sentence, not a label
    texts = [t.get_text() for t in _texts(fig)]
    footnote = next(t for t in texts if t.startswith("Scenario: plots_test"))
    if name == "variance":  # its own sample; the report adds the results' provenance
        assert "60 parameter draws × 4 process replicates" in footnote
    else:
        assert f"{results.sizes['draw']:,} draws" in footnote
        assert f"simkit {simkit.__version__}" in footnote
        assert "seed 5" in footnote
    fig.canvas.draw()  # lays out and renders without error


@pytest.mark.parametrize("name", sorted(CHARTS_IN_AX))
def test_chart_draws_into_a_given_axes(name, summary, results):
    fig, ax = plt.subplots(figsize=(8, 5))
    out = CHARTS_IN_AX[name](summary, results, ax)
    assert out is ax
    assert isinstance(out, Axes)
    assert len(fig.axes) == 1  # nothing else added to the caller's figure
    assert ax.get_title(loc="left")


def test_import_simkit_does_not_import_matplotlib():
    code = ("import sys, simkit, simkit.report, simkit.report.summaries, simkit.plots; "
            "simkit.bands; simkit.report.payback_probability; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- numbers on charts equal the summaries ---------------------------------------------------

def test_heatmap_cells_equal_threshold_probabilities(summary):
    tp = summary["probabilities"]
    fig = plots.threshold_heatmap(tp)
    segments = [str(s) for s in tp["segment"].values]
    columns = heatmap_columns(tp)
    n = len(segments)
    written = {}
    for t in _texts(fig, "cell"):
        x, y = t.get_position()
        written[(segments[n - 1 - int(y)], columns[int(x)])] = t.get_text()
    assert len(written) == n * len(columns)
    for (segment, key), text in written.items():
        p = float(tp["probability"].sel(segment=segment, threshold=key))
        assert text == ("n/a" if np.isnan(p) else st.percent(p))
        assert text == cell_texts(tp, segment, key)[0]
    errors = {t.get_text() for t in _texts(fig, "cell-error")}
    for segment in segments:
        for key in columns:
            p, se = (float(tp[v].sel(segment=segment, threshold=key)) for v in ("probability", "std_error"))
            if 0 < p < 1:
                assert st.plus_minus(se) in errors
    # Columns nobody checks are left out; the joint column is last.
    assert columns[-1] == "all"
    assert "grr_min" not in columns
    assert fig.get_label().count("%") >= 1


def test_heatmap_formats_probability_like_a_board_reads_it():
    assert st.percent(0.87) == "87%"
    assert st.percent(0.004) == "<1%"
    assert st.percent(0.996) == ">99%"
    assert st.percent(1.0) == "100%"
    assert st.percent(0.0) == "0%"
    assert st.percent(float("nan")) == "n/a"
    assert st.plus_minus(0.0123) == "±1%"
    assert st.plus_minus(0.004) == "±0.4%"
    assert st.plus_minus(0.0) == ""


def test_ltv_cac_annotation_and_title_equal_threshold_probabilities(summary, results):
    tp = summary["probabilities"]
    fig = plots.ltv_cac_distribution(results, tp)
    annotations = [t.get_text() for t in _texts(fig, "probability")]
    segments = [str(s) for s in results["segment"].values]
    assert len(annotations) == len(segments)
    for segment, text in zip(segments, annotations):
        cell = tp.sel(segment=segment, threshold="ltv_cac_min")
        p, se, value = float(cell["probability"]), float(cell["std_error"]), float(cell["threshold_value"])
        expected = f"P(≥ {st.number(value)}) = {st.percent(p)}"
        pm = st.plus_minus(se)
        assert text == (f"{expected} {pm}" if pm else expected)
        # Independently: the share of draws at or above the threshold.
        direct = float((results["ltv_cac"].sel(segment=segment).values >= value).mean())
        assert st.percent(direct) in text
    title = fig.get_label()
    probabilities = {s: float(tp["probability"].sel(segment=s, threshold="ltv_cac_min")) for s in segments}
    weakest = min(probabilities, key=probabilities.get)
    assert title.startswith(st.label(weakest))
    for segment, p in probabilities.items():
        assert st.percent(p) in title


def test_ltv_cac_histogram_shows_every_draw(results, summary):
    fig = plots.ltv_cac_distribution(results, summary["probabilities"])
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        heights = sum(p.get_height() for p in ax.patches)
        assert heights == pytest.approx(1.0)  # shares of futures add to one: nothing dropped


def test_payback_chart_marks_target_month_with_probability(summary):
    tp = summary["probabilities"]
    fig = plots.payback_chart(summary["payback"], tp)
    texts = {t.get_text() for t in _texts(fig)}
    for segment in tp["segment"].values:
        cell = tp.sel(segment=segment, threshold="payback_months_max")
        target = float(cell["threshold_value"])
        assert f"{st.percent(float(cell['probability']))} by {st.months(target)}" in texts
    title = fig.get_label()
    probabilities = [float(tp["probability"].sel(segment=s, threshold="payback_months_max"))
                     for s in tp["segment"].values]
    assert st.percent(min(probabilities)) in title


def test_payback_curve_at_target_equals_threshold_probability(summary):
    payback, tp = summary["payback"], summary["probabilities"]
    for segment in tp["segment"].values:
        target = float(payback["threshold"].sel(segment=segment))
        curve = float(payback["probability"].sel(segment=segment, months_since_win=target))
        assert curve == pytest.approx(float(tp["probability"].sel(segment=segment, threshold="payback_months_max")))


def test_cash_title_equals_share_of_draws_that_ran_out(summary, results):
    fig = plots.cash_chart(summary["bands"], summary["cash_out"])
    direct = float(np.isfinite(results["runway_months"].values).mean())
    assert 0 < direct < 1, "the test scenario should run out of cash in some futures only"
    horizon = results.sizes["month"]
    assert fig.get_label().startswith(f"Cash runs out within {horizon} months in {st.percent(direct)} of futures")


def test_arr_fan_title_and_panels_use_bands(summary):
    bands = summary["bands"]
    fig = plots.arr_fan(bands)
    final = bands["total_arr"].isel(month=-1)
    title = fig.get_label()
    for q in (0.05, 0.5, 0.95):
        assert st.money_short(float(final.sel(quantile=q))) in title
    titles = {ax.get_title(loc="left") for ax in fig.axes}
    for segment in bands["segment"].values:
        median = float(bands["arr"].sel(segment=segment, quantile=0.5).isel(month=-1))
        assert f"{st.label(segment)}: {st.money_short(median)}" in titles
    # Stage boundaries inside the plotted range are marked.
    labels = " ".join(t.get_text() for t in _texts(fig))
    assert "Scaling\n$10M" in labels
    # Bands are drawn darker toward the centre: outer band lighter than inner band.
    main = fig.axes[0]
    fills = [c for c in main.collections]
    lightness = [sum(c.get_facecolor()[0][:3]) for c in fills]
    assert lightness == sorted(lightness, reverse=True)


def test_month_path_charts_say_which_futures_they_show(scenario, results):
    """A large run keeps month paths for its first draws only: the fan and cash charts say
    how many futures they show, and the cash chart that its run-out share counts them all."""
    thinned = simkit.simulate(scenario, draws=1500, seed=5, keep_paths=400)
    bands = simkit.bands(thinned)
    fan_words = " ".join(t.get_text() for t in _texts(plots.arr_fan(bands)))
    assert "the first 400 of 1,500 simulated futures" in fan_words
    cash_words = " ".join(t.get_text() for t in _texts(plots.cash_chart(bands, summaries.cash_out_probability(thinned))))
    assert "the first 400 of 1,500 simulated futures" in cash_words
    assert "share of all 1,500 simulated futures" in cash_words
    # every draw kept its paths: the plain wording
    full_words = " ".join(t.get_text() for t in _texts(plots.arr_fan(simkit.bands(results))))
    assert "across 1,500 simulated futures" in full_words and "first" not in full_words


def test_unit_economics_table_cells_equal_bands(summary):
    bands = summary["bands"]
    fig = plots.unit_economics_table(bands)
    medians = [t.get_text() for t in _texts(fig, "table-median")]
    ranges = [t.get_text() for t in _texts(fig, "table-range")]
    cells = table_cells(bands)
    segments = [str(s) for s in bands["segment"].values]
    assert medians == [cells[(s, m)][0] for s in segments for m, _ in TABLE_METRICS]
    assert ranges == [cells[(s, m)][1] for s in segments for m, _ in TABLE_METRICS]
    smb_cac = bands["cac"].sel(segment="smb")
    assert cells[("smb", "cac")] == (st.money_short(float(smb_cac.sel(quantile=0.5))),
                                     f"{st.money_short(float(smb_cac.sel(quantile=0.05)))} – "
                                     f"{st.money_short(float(smb_cac.sel(quantile=0.95)))}")
    assert cells[("enterprise", "ltv_cac")][0] == st.ratio(float(bands["ltv_cac"].sel(segment="enterprise",
                                                                                       quantile=0.5)))


def test_stage_timeline_title_equals_share_reaching_the_stage(summary, results):
    fig = plots.stage_timeline(summary["stages"])
    reached = results["stage_reached_month"].sel(stage_name="scaling").values
    direct = float(np.isfinite(reached).mean())
    assert f"Reaches Scaling ($10M ARR) within {results.sizes['month']} months in {st.percent(direct)}" \
        in fig.get_label()


def test_variance_chart_labels_equal_parameter_shares(summary):
    variance = summary["variance"]
    fig = plots.variance_chart(variance)
    written = [t.get_text() for t in _texts(fig, "variance-label")]
    expected = []
    for metric in variance["metric"].values:
        for segment in variance["segment"].values:
            share = float(variance["parameter_share"].sel(metric=metric, segment=segment))
            if np.isnan(share):
                expected.append("n/a: too few wins")
            elif share >= 0.2:
                expected.append(st.percent(share))
            else:
                expected.append(f"{st.percent(share)} rates")
    assert written == expected


# --- style -----------------------------------------------------------------------------------

def test_one_colour_per_segment_on_every_chart(summary, results):
    expected = [to_hex(c) for c in matplotlib.color_sequences["petroff10"][:3]]
    assert list(st.segment_colors(results["segment"].values).values()) == expected
    payback = plots.payback_chart(summary["payback"], summary["probabilities"])
    lines = [to_hex(line.get_color()) for line in payback.axes[0].get_lines() if line.get_label() in
             {st.label(s) for s in results["segment"].values}]
    assert lines == expected
    ltv = plots.ltv_cac_distribution(results, summary["probabilities"])
    for ax, colour in zip(ltv.axes[:3], expected):  # bars that clear the target: the segment's colour
        assert colour in {to_hex(p.get_facecolor()) for p in ax.patches}


def test_style_file_is_packaged_and_board_ready():
    import matplotlib.pyplot as plt

    with plots.style():
        assert plt.rcParams["axes.spines.top"] is False
        assert plt.rcParams["axes.spines.right"] is False
        assert plt.rcParams["font.size"] >= 14
        assert plt.rcParams["svg.hashsalt"] == "simkit"
        assert plt.rcParams["text.parse_math"] is False  # "$" is money
        assert tuple(plt.rcParams["figure.figsize"]) == pytest.approx((13.333, 7.5))
    assert plt.rcParams["axes.spines.top"] is True  # never applied globally


def test_money_ticks_are_board_money():
    formatter = plots.money_formatter()
    assert formatter(10_000_000, 0) == "$10M"
    assert formatter(2_500_000, 0) == "$2.5M"
    assert formatter(250_000, 0) == "$250K"
    assert formatter(-4_640_000, 0) == "-$4.6M"
    assert formatter(0, 0) == "$0"


def test_labels_read_like_words():
    assert st.label("mid_market") == "Mid-market"
    assert st.label("smb") == "SMB"
    assert st.label("emea_enterprise") == "EMEA enterprise"
    assert st.threshold_label("ltv_cac", ">=", 3.0) == "LTV:CAC ≥ 3"
    assert st.threshold_label("payback_months", "<=", 12.0) == "Payback ≤ 12\u00a0mo"
    assert st.threshold_label("cac", "<=", 500.0) == "CAC ≤ $500"
    assert st.threshold_label("annual_churn", "<=", 0.25) == "Churn ≤ 25%/yr"


def test_charts_cope_with_a_segment_that_never_wins(make_scenario):
    scenario = make_scenario({
        "segments": {"enterprise": {"acv": 150_000, "gross_margin": 0.8, "annual_churn": 0.08,
                                    "starting_customers": 3}},
    })
    results = simkit.simulate(scenario, draws=200, seed=1)
    tp = simkit.threshold_probabilities(results)
    bands = simkit.bands(results)
    fig = plots.ltv_cac_distribution(results, tp)
    assert any("no customer won" in t.get_text() for t in _texts(fig))
    cells = table_cells(bands)
    assert cells[("enterprise", "cac")][0] == "no wins"
    assert cells[("enterprise", "payback_months")][0] == "never"
    plots.payback_chart(summaries.payback_probability(results), tp).canvas.draw()
    plots.threshold_heatmap(tp).canvas.draw()
