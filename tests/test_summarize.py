"""Tests of the summaries: bands (quantiles), threshold probabilities, variance split."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from simkit import bands, simulate, threshold_probabilities, variance_split
from simkit.summarize import DEFAULT_QUANTILES

Z = 4.0

SUMMARY = {
    "scenario": {"horizon_months": 12, "draws": 3_000, "seed": 21},
    "segments": {
        "smb": {"acv": {"lognormal": {"median": 2_400, "sigma": 0.3}}, "gross_margin": 0.8,
                "annual_churn": {"beta": {"mean": 0.22, "concentration": 30}}, "starting_customers": 100},
        "mid_market": {"acv": 20_000, "gross_margin": 0.75, "touch_model": "low_touch",
                       "annual_churn": {"beta": {"mean": 0.12, "concentration": 40}}, "starting_customers": 20},
        "custom": {"acv": 5_000, "gross_margin": 0.7, "annual_churn": 0.1, "starting_customers": 10},
    },
    "motions": {"self_serve": {"segment": "smb", "cost_per_lead": {"lognormal": {"p10": 45, "p90": 110}},
                               "conversion": {"beta": {"mean": 0.12, "concentration": 60}}}},
    "allocation": {"budget_per_month": {"self_serve": 10_000}, "csms": {"mid_market": 1}},
}


@pytest.fixture(scope="module")
def summary_ds(make_scenario):
    return simulate(make_scenario(SUMMARY))


# ---------------------------------------------------------------------------------------
# bands
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("quantiles", [DEFAULT_QUANTILES, (0.0, 0.01, 0.333, 0.5, 0.9, 1.0)])
def test_bands_equal_numpy_quantiles_on_finite_data(summary_ds, quantiles):
    names = ["ltv", "nrr", "annual_churn", "customers", "mrr", "cash", "total_arr", "input_acv"]
    result = bands(summary_ds, quantiles, variables=names)
    for name in names:
        values = summary_ds[name].transpose("draw", ...).values
        assert np.all(np.isfinite(values)), name
        expected = np.quantile(values, quantiles, axis=0, method="linear")
        got = result[name].transpose("quantile", *[d for d in summary_ds[name].dims if d != "draw"]).values
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, err_msg=name)


def test_bands_dims_coords_and_attrs(summary_ds):
    result = bands(summary_ds)
    np.testing.assert_array_equal(result["quantile"], DEFAULT_QUANTILES)
    assert "draw" not in result.dims
    assert result["ltv"].dims == ("quantile", "segment")
    assert result["customers"].dims == ("quantile", "segment", "month")
    assert result["cash"].dims == ("quantile", "month")
    assert result["stage_reached_month"].dims == ("quantile", "stage_name")
    assert list(result["segment"].values) == list(summary_ds["segment"].values)
    np.testing.assert_array_equal(result["month"], summary_ds["month"])
    assert "threshold_value" not in result  # no draw dimension: nothing to summarise
    assert result["ltv"].attrs["units"] == summary_ds["ltv"].attrs["units"]
    assert result.attrs["scenario_name"] == summary_ds.attrs["scenario_name"]
    assert set(result.data_vars) == {n for n, v in summary_ds.data_vars.items() if "draw" in v.dims}
    with pytest.raises(ValueError):
        bands(summary_ds, (0.5, 1.5))


def reference_quantile(values, q):
    """numpy's 'linear' rule written out, with +inf neighbours giving +inf (never NaN)."""
    ordered = np.sort(values)
    position = q * (len(ordered) - 1)
    low = int(np.floor(position))
    high = min(low + 1, len(ordered) - 1)
    weight = position - low
    if weight == 0:
        return ordered[low]
    if np.isinf(ordered[high]) or np.isinf(ordered[low]):
        return ordered[high]
    return ordered[low] + weight * (ordered[high] - ordered[low])


def test_bands_rank_never_paid_back_as_infinite():
    rng = np.random.default_rng(0)
    n, never = 101, 31
    payback = np.concatenate([rng.permutation(np.arange(1.0, n - never + 1)), np.full(never, np.nan)])
    payback = rng.permutation(payback)
    cac = np.where(np.isnan(payback), np.inf, payback * 100)  # CAC inf: not NaN-means-never, inf itself
    ltv = np.where(np.isnan(payback), np.nan, payback)  # NaN elsewhere keeps its usual meaning
    ds = xr.Dataset({"payback_months": (("draw",), payback), "cac": (("draw",), cac),
                     "stage_reached_month": (("draw",), payback), "ltv": (("draw",), ltv)})
    # 0.8333 and 0.9999 fall between two "never"s (inf - inf must not become NaN)
    q = np.array([0.0, 0.3, 0.5, 0.6899, 0.69, 0.6901, 0.695, 0.7, 0.8333, 0.95, 0.9999, 1.0])
    result = bands(ds, q)
    finite_positions = n - never - 1  # index of the last finite value once NaN sorts as inf
    for name in ("payback_months", "stage_reached_month", "cac"):
        got = result[name].values
        values = np.where(np.isnan(ds[name].values), np.inf, ds[name].values)
        expected = np.array([reference_quantile(values, x) for x in q])
        np.testing.assert_array_equal(got, expected)
        # above the share of futures that are "never", the band is never
        assert np.all(np.isinf(got) == (q * (n - 1) > finite_positions)), name
        assert not np.isnan(got).any()
    assert result["payback_months"].sel(quantile=0.69).item() == 70.0
    assert np.isnan(result["ltv"].sel(quantile=0.95).item())  # plain NaN is not ranked as never


def test_quantile_kernel_equals_a_full_sort_with_nan_infinities_and_ties():
    # The kernel partitions at the order statistics it needs; the reference sorts everything.
    # NaN must rank last, as in a sort, and +/-inf and repeated values must not shift a rank.
    from simkit.summarize import _quantile_kernel

    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(1, 2_000))
        values = rng.standard_normal((2, 3, n))
        if trial % 3 == 0:
            values = np.round(values)  # ties
        mark = rng.random(values.shape)
        values[mark < 0.1 * (trial % 4)] = np.nan
        values[mark > 1 - 0.05 * (trial % 5)] = np.inf
        values[(mark > 0.5) & (mark < 0.5 + 0.03 * (trial % 3))] = -np.inf
        q = np.sort(np.concatenate([rng.random(int(rng.integers(1, 7))), [0.0, 1.0][: trial % 3]]))
        got = _quantile_kernel(values, q)
        assert got.shape == (2, 3, len(q))
        for i in range(2):
            for j in range(3):
                expected = [reference_quantile(values[i, j], x) for x in q]
                np.testing.assert_array_equal(got[i, j], expected, err_msg=f"trial {trial}")


# ---------------------------------------------------------------------------------------
# threshold probabilities
# ---------------------------------------------------------------------------------------
def test_threshold_probabilities_equal_direct_counts(summary_ds):
    ds = summary_ds
    result = threshold_probabilities(ds)
    n = ds.sizes["draw"]
    assert list(result["threshold"].values) == [*ds["threshold"].values, "all"]
    interior = 0
    for segment in ds["segment"].values:
        clears_all = np.ones(n, dtype=bool)
        checked = 0
        for key in ds["threshold"].values:
            bound = float(ds["threshold_value"].sel(segment=segment, threshold=key))
            got = float(result["probability"].sel(segment=segment, threshold=key))
            if np.isnan(bound):
                assert np.isnan(got)
                continue
            metric = str(ds["threshold_metric"].sel(threshold=key).values)
            values = ds[metric].sel(segment=segment).values
            comparison = str(ds["threshold_comparison"].sel(threshold=key).values)
            clears = np.zeros(n, dtype=bool)
            ok = ~np.isnan(values)  # a payback that never happens fails
            clears[ok] = values[ok] >= bound if comparison == ">=" else values[ok] <= bound
            assert got == clears.sum() / n, (segment, key)
            se = float(result["std_error"].sel(segment=segment, threshold=key))
            assert se == pytest.approx(np.sqrt(got * (1 - got) / n), rel=1e-12, abs=1e-15)
            clears_all &= clears
            checked += 1
            interior += 0 < got < 1
        joint = float(result["probability"].sel(segment=segment, threshold="all"))
        if checked:
            assert joint == clears_all.sum() / n
        else:
            assert np.isnan(joint)
    assert interior >= 3  # the comparison is not a trivial 0 or 1 everywhere


def test_threshold_probabilities_are_the_mean_of_the_draw_by_draw_clearance(summary_ds):
    # Two paths through the same thresholds: counts per threshold, and the draw-by-draw
    # array that stress tests and plan comparisons pair.
    from simkit.summarize import threshold_clearance

    cleared = threshold_clearance(summary_ds)
    probability = threshold_probabilities(summary_ds)["probability"]
    expected = cleared.mean("draw", skipna=False).rename("probability").assign_attrs(probability.attrs)
    xr.testing.assert_identical(probability, expected)
    assert np.isfinite(probability.values).sum() >= 6


def test_threshold_probabilities_nan_and_no_wins(summary_ds):
    result = threshold_probabilities(summary_ds)
    p = result["probability"]
    # smb defaults have no expansion threshold; "custom" has no benchmark: nothing checked
    assert np.isnan(p.sel(segment="smb", threshold="annual_expansion_min"))
    assert np.all(np.isnan(p.sel(segment="custom")))
    assert np.all(np.isnan(result["std_error"].sel(segment="custom")))
    # mid_market has no motion: CAC is inf in every draw and fails cac_max ...
    assert np.all(np.isinf(summary_ds["cac"].sel(segment="mid_market")))
    assert p.sel(segment="mid_market", threshold="cac_max") == 0.0
    assert p.sel(segment="mid_market", threshold="ltv_cac_min") == 0.0
    assert p.sel(segment="mid_market", threshold="all") == 0.0
    # ... while its churn threshold is a genuine probability
    assert 0 < p.sel(segment="mid_market", threshold="annual_churn_max") < 1
    np.testing.assert_array_equal(result["threshold_value"].sel(threshold="all"), np.nan)
    assert result.attrs["draws"] == summary_ds.sizes["draw"]


def test_threshold_overrides_are_used(make_scenario):
    sc = make_scenario({**SUMMARY, "segments": {**SUMMARY["segments"], "smb": {
        **SUMMARY["segments"]["smb"], "thresholds": {"ltv_cac_min": 1.0, "annual_expansion_min": 0.0}}}})
    ds = simulate(sc, draws=500, seed=1)
    result = threshold_probabilities(ds)
    assert float(result["threshold_value"].sel(segment="smb", threshold="ltv_cac_min")) == 1.0
    assert float(result["probability"].sel(segment="smb", threshold="annual_expansion_min")) == 1.0  # 0 >= 0
    expected = float((ds["ltv_cac"].sel(segment="smb") >= 1.0).mean())
    assert float(result["probability"].sel(segment="smb", threshold="ltv_cac_min")) == expected


# ---------------------------------------------------------------------------------------
# variance split
# ---------------------------------------------------------------------------------------
METRICS = ("ltv", "cac", "arr", "ltv_cac")


def _check_shares(split):
    share, process = split["parameter_share"].values, split["process_share"].values
    finite = ~np.isnan(share)
    assert finite.all()
    assert np.all((share >= 0) & (share <= 1)) and np.all((process >= 0) & (process <= 1))
    np.testing.assert_allclose(share + process, 1.0, rtol=0, atol=1e-15)
    assert np.all(split["parameter_share_std_error"].values >= 0)
    assert np.all(split["total_variance"].values > 0)


def test_variance_split_fixed_inputs_is_all_process_noise(make_scenario):
    sc = make_scenario({"segments": {"smb": {"starting_customers": 200}}})
    assert not sc.uncertain_inputs()
    split = variance_split(sc, metrics=METRICS, seed=3)
    _check_shares(split)
    share, se = split["parameter_share"].values, split["parameter_share_std_error"].values
    assert np.all(share <= Z * se + 1e-12), (share, se)
    assert np.all(share < 0.05)


def test_variance_split_huge_segment_is_all_parameter_uncertainty(make_scenario):
    """A million customers make process noise negligible: LTV's spread is the churn's."""
    sc = make_scenario({"segments": {"smb": {"starting_customers": 1_000_000,
                                             "annual_churn": {"beta": {"mean": 0.2, "concentration": 50}}}},
                        "allocation": {"budget_per_month": {"self_serve": 1_000_000}}})
    split = variance_split(sc, metrics=METRICS, seed=3)
    _check_shares(split)
    for metric in ("ltv", "arr"):
        share = float(split["parameter_share"].sel(metric=metric, segment="smb"))
        se = float(split["parameter_share_std_error"].sel(metric=metric, segment="smb"))
        # the true share is 1 - O(1 / (c N H)), not exactly 1
        assert share > 0.999 and se < 0.001, (metric, share, se)
    # LTV:CAC carries CAC's process noise (about 1,000 wins a month: ~1% spread)
    assert float(split["parameter_share"].sel(metric="ltv_cac", segment="smb")) > 0.99
    # CAC has fixed inputs here: its (small) spread is the luck of the deals
    assert float(split["parameter_share"].sel(metric="cac", segment="smb")) < 0.05


def test_variance_split_mixed_scenario(make_scenario):
    split = variance_split(make_scenario(SUMMARY), metrics=("ltv", "arr"), outer_draws=200, replicates=4,
                           bootstrap=50)
    assert split["parameter_share"].dims == ("metric", "segment")
    assert list(split["segment"].values) == ["smb", "mid_market", "custom"]
    share = split["parameter_share"]
    assert 0 < float(share.sel(metric="ltv", segment="smb")) < 1
    # "custom" has fixed inputs: its LTV varies only with the realised churn of 10 accounts
    custom = float(share.sel(metric="ltv", segment="custom"))
    assert custom <= Z * float(split["parameter_share_std_error"].sel(metric="ltv", segment="custom")) + 1e-12


def test_variance_split_of_results_equals_split_of_scenario(make_scenario):
    sc = make_scenario({"segments": {"smb": {"annual_churn": {"beta": {"mean": 0.2, "concentration": 50}}}}})
    ds = simulate(sc, draws=100)
    options = dict(metrics=("ltv", "arr"), outer_draws=100, replicates=4, bootstrap=20)
    xr.testing.assert_identical(variance_split(ds, **options), variance_split(sc, **options))


def test_variance_split_of_results_keeps_the_segment_order(summary_ds):
    split = variance_split(summary_ds, metrics=("ltv",), outer_draws=50, replicates=3, bootstrap=10)
    assert list(split["segment"].values) == list(summary_ds["segment"].values)


def test_variance_split_constant_metric_gives_nan_without_warnings(make_scenario):
    sc = make_scenario({"motions": {"self_serve": {"conversion": 1.0}}, "segments": {"smb": {"annual_churn": 0.0}}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split = variance_split(sc, metrics=("cac", "ltv"), outer_draws=50, replicates=3, bootstrap=20)
    assert np.all(np.isnan(split["parameter_share"])) and np.all(split["total_variance"] == 0)
    assert np.all(np.isnan(split["parameter_share_std_error"]))
