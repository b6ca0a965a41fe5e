"""Scale-out: processes, a dask LocalCluster and thinned month paths give the same numbers."""

import numpy as np
import pytest
import xarray as xr

from simkit import bands, simulate
from simkit.simulation import BLOCK_DRAWS, path_draws_for


@pytest.fixture(scope="module")
def scenario(request):
    from simkit.scenario import from_dict

    return from_dict({
        "scenario": {"name": "scale", "horizon_months": 6, "seed": 11},
        "segments": {"smb": {"acv": {"lognormal": {"median": 2400, "sigma": 0.3}}, "gross_margin": 0.8,
                             "annual_churn": {"beta": {"mean": 0.2, "concentration": 100}}}},
        "motions": {"self_serve": {"segment": "smb", "cost_per_lead": 100,
                                   "conversion": {"beta": {"mean": 0.1, "concentration": 50}}}},
        "allocation": {"budget_per_month": {"self_serve": 20_000}},
    })


def test_dask_local_cluster_is_bit_identical(scenario):
    pytest.importorskip("distributed")
    draws = 2 * BLOCK_DRAWS + 500
    local = simulate(scenario, draws=draws, seed=5)
    on_cluster = simulate(scenario, draws=draws, seed=5, scheduler="local", workers=2)
    xr.testing.assert_identical(local, on_cluster)


def test_unreachable_scheduler_is_a_clear_error(scenario, monkeypatch):
    pytest.importorskip("distributed")
    from simkit import simulation
    from simkit.errors import SimkitError

    monkeypatch.setattr(simulation, "_CONNECT_TIMEOUT", "1s")
    with pytest.raises(SimkitError, match="cannot reach the dask scheduler"):
        simulate(scenario, draws=10, scheduler="tcp://127.0.0.1:1")


def test_thinned_paths_are_the_first_draws_of_the_full_run(scenario):
    draws = BLOCK_DRAWS + 100
    full = simulate(scenario, draws=draws, seed=3, keep_paths=True)
    thin = simulate(scenario, draws=draws, seed=3, keep_paths=1000)
    assert thin["customers"].dims == ("path_draw", "segment", "month")
    assert thin.attrs["paths_kept_draws"] == 1000
    np.testing.assert_array_equal(thin["customers"].values, full["customers"].values[:1000])
    # Per-draw metrics are kept for every draw, identical to the full run's.
    np.testing.assert_array_equal(thin["ltv_cac"].values, full["ltv_cac"].values)
    none = simulate(scenario, draws=draws, seed=3, keep_paths=False)
    assert "customers" not in none and none.attrs["paths_kept_draws"] == 0
    np.testing.assert_array_equal(none["cash_low"].values, full["cash_low"].values)
    # bands reduce the thinned paths over the draws that kept them.
    b = bands(thin)
    expected = np.quantile(full["total_arr"].values[:1000], 0.5, axis=0)
    np.testing.assert_allclose(b["total_arr"].sel(quantile=0.5).values, expected, rtol=1e-12)


def test_default_paths_fit_the_budget(scenario):
    assert path_draws_for(scenario, 2_000, None) == 2_000
    kept = path_draws_for(scenario, 10_000_000, None)
    assert 500 <= kept < 10_000_000
    assert kept * 6 * (8 + 3) <= 10_000_000  # 6 months, 1 segment: within the 80 MB budget
    assert path_draws_for(scenario, 50, True) == 50 and path_draws_for(scenario, 50, 7) == 7
    with pytest.raises(ValueError):
        path_draws_for(scenario, 50, -1)
