"""Extreme but valid scenarios run cleanly: no crash, no overflow, no warning.

Every case runs with ``warnings.simplefilter("error")``, so a numpy RuntimeWarning
(overflow, invalid value, division by zero) or a library warning fails the test, through
``simulate``, ``bands``, ``threshold_probabilities`` and ``simkit run --no-pack`` (and the
board pack for a small case). ``test_engine.py::test_degenerate_inputs_run_cleanly``
checks the per-case semantics of single degenerate inputs; here the extremes are combined
(a $10B budget for 240 months with conversion 1 and no churn), sized up (50 segments, 240
months) and pushed through the summaries and the command line.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simkit.cli import main
from simkit.scenario import from_dict
from simkit.simulation import simulate
from simkit.summarize import bands, threshold_probabilities

DRAWS = 300
TEN_BILLION = 10_000_000_000

# Three segments: one won by self-serve, one by field sales with a lag and CSMs, and one
# with no motion at all (only its starting customers).
BASE = {
    "scenario": {"name": "extreme", "horizon_months": 24, "draws": DRAWS, "seed": 11},
    "company": {"starting_cash": 2_000_000, "fixed_opex_per_month": 50_000},
    "segments": {
        "smb": {"acv": 2_400, "gross_margin": 0.7, "annual_churn": 0.2, "starting_customers": 300},
        "enterprise": {"acv": 150_000, "gross_margin": 0.8, "annual_churn": 0.08, "starting_customers": 20,
                       "annual_expansion": 0.15, "touch_model": "high_touch"},
        "legacy": {"acv": 30_000, "gross_margin": 0.75, "annual_churn": 0.1, "starting_customers": 40,
                   "touch_model": "low_touch"},
    },
    "motions": {
        "self_serve": {"segment": "smb", "cost_per_lead": 80, "conversion": 0.08},
        "field_sales": {"segment": "enterprise", "cost_per_lead": 9_000, "conversion": 0.2,
                        "sales_cost_per_won": 30_000, "sales_cycle_months": 6},
    },
    "allocation": {"budget_per_month": {"self_serve": 30_000, "field_sales": 60_000},
                   "csms": {"enterprise": 2, "legacy": 1}},
}


def scenario_data(case: str) -> dict:
    data = copy.deepcopy(BASE)
    seg, mot, alloc = data["segments"], data["motions"], data["allocation"]
    if case == "horizon_1":
        data["scenario"]["horizon_months"] = 1
    elif case == "horizon_240":
        data["scenario"].update(horizon_months=240, ltv_window_months=600)
    elif case == "fifty_segments":
        data["segments"] = {f"s{i:02d}": {"acv": 1_000 * (i + 1), "gross_margin": 0.5 + i / 200,
                                          "annual_churn": (i % 11) / 10, "starting_customers": 10 * (i % 7),
                                          "touch_model": ("tech_touch", "low_touch", "high_touch", "scale")[i % 4]}
                            for i in range(50)}
        data["motions"] = {f"m{i:02d}": {"segment": f"s{i:02d}", "cost_per_lead": 20 + 10 * i,
                                         "conversion": (i % 5) / 4, "sales_cycle_months": i % 4}
                           for i in range(0, 50, 2)}  # odd segments have no motion
        data["allocation"] = {"budget_per_month": {f"m{i:02d}": 5_000 * (i % 3) for i in range(0, 50, 2)},
                              "csms": {f"s{i:02d}": i % 3 for i in range(50)}}
    elif case == "zero_leads":
        alloc["budget_per_month"] = {"self_serve": 0, "field_sales": 0}
    elif case == "conversion_0":
        for m in mot.values():
            m["conversion"] = 0
    elif case == "conversion_1":
        for m in mot.values():
            m["conversion"] = 1
    elif case == "churn_0":
        for s in seg.values():
            s["annual_churn"] = 0
    elif case == "churn_100":
        for s in seg.values():
            s["annual_churn"] = 1
    elif case == "monthly_churn_100":
        for s in seg.values():
            del s["annual_churn"]
            s["monthly_churn"] = 1
    elif case == "zero_starting_customers":
        for s in seg.values():
            s["starting_customers"] = 0
    elif case == "nothing_at_all":
        for s in seg.values():
            s["starting_customers"] = 0
        data["allocation"] = {}
        data["company"] = {}
    elif case == "budget_1":
        alloc["budget_per_month"] = {"self_serve": 1, "field_sales": 1}
    elif case == "budget_10B":
        alloc["budget_per_month"] = {"self_serve": TEN_BILLION, "field_sales": TEN_BILLION}
    elif case == "everything_at_its_largest":
        # The largest magnitudes together: $10B a month each for 240 months, every lead
        # converting, nobody churning, 100% expansion a year, a billion starting customers.
        data["scenario"].update(horizon_months=240, ltv_window_months=600)
        alloc["budget_per_month"] = {"self_serve": TEN_BILLION, "field_sales": TEN_BILLION}
        for m in mot.values():
            m["conversion"] = 1
        for s in seg.values():
            s.update(annual_churn=0, annual_expansion=1.0, starting_customers=1_000_000_000)
        data["company"] = {"starting_cash": 10**13, "fixed_opex_per_month": 10**13}
    elif case == "uncertain_at_the_edges":
        # Uncertain inputs whose draws reach the ends of their ranges.
        seg["smb"]["annual_churn"] = {"beta": {"mean": 0.999, "concentration": 2}}
        seg["enterprise"]["annual_churn"] = {"beta": {"mean": 0.001, "concentration": 2}}
        seg["smb"]["acv"] = {"lognormal": {"median": 2_400, "sigma": 5}}
        seg["enterprise"]["annual_expansion"] = {"normal": {"mean": -0.9, "sd": 0.5}}
        mot["self_serve"]["conversion"] = {"beta": {"alpha": 0.01, "beta": 5}}
        mot["field_sales"]["sales_cycle_months"] = {"uniform": {"min": 0, "max": 120}}
        seg["legacy"]["starting_customers"] = {"pert": {"min": 0, "mode": 0, "max": 1_000_000_000}}
    elif case == "denormal_acv":
        seg["legacy"]["acv"] = 5e-324  # "above 0": valid, if absurd
    elif case == "leads_beyond_int64":
        # $10 trillion a month at a millionth of a dollar a lead: 1e19 leads, more than
        # a 64-bit integer holds (both inputs are inside their documented ranges).
        alloc["budget_per_month"] = {"self_serve": 10**13, "field_sales": 60_000}
        mot["self_serve"]["cost_per_lead"] = 1e-6
    else:
        raise KeyError(case)
    return data


CASES = ["horizon_1", "horizon_240", "fifty_segments", "zero_leads", "conversion_0", "conversion_1", "churn_0",
         "churn_100", "monthly_churn_100", "zero_starting_customers", "nothing_at_all", "budget_1", "budget_10B",
         "everything_at_its_largest", "uncertain_at_the_edges"]

# Variables in which NaN has a meaning ("never"): payback not reached, stage not reached.
NAN_MEANS_NEVER = {"payback_months", "stage_reached_month", "threshold_value"}  # threshold: not checked


def check_dataset(ds: xr.Dataset) -> None:
    """What every result must satisfy, however extreme the scenario."""
    for name, var in ds.data_vars.items():
        if name.startswith("input_"):
            continue  # NaN marks a segment that does not have the field (e.g. no expansion)
        values = np.asarray(var.values, dtype=float)
        if name not in NAN_MEANS_NEVER:
            assert not np.isnan(values).any(), f"{name} has NaN"
        if name not in ("cac", "runway_months", "cs_cost_share", "payback_months", "stage_reached_month"):
            assert not np.isinf(values).any(), f"{name} overflowed to inf"
    customers, won, churned = ds["customers"], ds["won"], ds["churned"]
    assert (customers >= 0).all() and (won >= 0).all() and (churned >= 0).all()
    start = customers.isel(month=0) + churned.isel(month=0) - won.isel(month=0)
    conserved = start + won.cumsum("month") - churned.cumsum("month")
    # exact with whole counts; with expectations (fractional counts) up to float rounding
    scale = max(1.0, float(np.abs(conserved).max()))
    np.testing.assert_allclose(customers, conserved, rtol=1e-12, atol=1e-12 * scale * customers.sizes["month"])
    no_wins = ds["customers_won"] == 0
    # inf also when expected wins are so tiny (~1e-300, process noise off) that spend / wins
    # exceeds the largest float: the honest floating-point answer, and no warning is raised.
    overflow = ds["customers_won"] < 1e-290
    assert bool((np.isinf(ds["cac"]) == (no_wins | (overflow & np.isinf(ds["cac"])))).all()), \
        "CAC must be inf exactly when nothing was won (or spend / wins overflows)"
    assert bool((~np.isinf(ds["cac"]) | no_wins | overflow).all())
    assert bool((ds["ltv_cac"].where(no_wins) == 0).where(no_wins, True).all())


def check_summaries(ds: xr.Dataset) -> None:
    band = bands(ds)
    probabilities = threshold_probabilities(ds)
    for name, var in band.data_vars.items():
        if name.startswith("input_"):
            continue
        values = np.asarray(var.values, dtype=float)
        assert not np.isnan(values).any(), f"band of {name} has NaN"
    p = probabilities["probability"].values
    checked = ~np.isnan(p)
    assert np.all((p[checked] >= 0) & (p[checked] <= 1))
    se = probabilities["std_error"].values[checked]
    assert np.all(np.isfinite(se)) and np.all(se >= 0)


# Engine bugs found by these cases, in files this suite's author may not edit (the engine
# is being optimised): reported with the exact scenario; strict, so each starts failing as
# a reminder to remove its mark once fixed.
PARAMETERS = [pytest.param(case, noise, id=f"{case}-{'noise' if noise else 'expectation'}")
              for case in [*CASES, "denormal_acv", "leads_beyond_int64"] for noise in (True, False)]


@pytest.mark.parametrize("case, noise", PARAMETERS)
def test_extreme_scenario_simulates_and_summarizes_without_warnings(case, noise):
    scenario = from_dict(scenario_data(case))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = simulate(scenario, draws=DRAWS if case != "fifty_segments" else 200, seed=5, process_noise=noise)
        check_dataset(ds)
        check_summaries(ds)
    months = scenario.horizon_months
    assert ds.sizes["month"] == months
    if case == "fifty_segments":
        assert ds.sizes["segment"] == 50
        without_motion = [f"s{i:02d}" for i in range(1, 50, 2)]
        assert bool(np.isinf(ds["cac"].sel(segment=without_motion)).all())
    if case in ("zero_leads", "conversion_0", "nothing_at_all", "budget_1"):
        assert bool((ds["won"].sel(segment="enterprise") == 0).all()) or case == "budget_1"
    if case == "budget_10B" and noise:
        # 125 million leads a month at 8%: 10 million wins, every month, every draw
        assert ds["won"].sel(segment="smb").min() > 9.9e6
    if case == "everything_at_its_largest":
        # conversion 1, no churn: customers = start + every lead ever bought, exactly
        leads = TEN_BILLION / 80
        expected = 1_000_000_000 + leads * months
        np.testing.assert_array_equal(ds["customers"].sel(segment="smb").isel(month=-1), expected)
        assert np.isfinite(ds["total_arr"]).all() and float(ds["total_arr"].max()) > 1e18
    if case in ("churn_100", "monthly_churn_100"):
        assert bool((ds["customers"] == 0).all())
    if case == "leads_beyond_int64":
        # 1e19 leads a month (more than int64 holds) at 8%: 8e17 wins a month, give or
        # take a binomial's 0.9 billion (sd), which is 1e-9 of it
        np.testing.assert_allclose(ds["won"].sel(segment="smb").values, 0.08 * 1e19, rtol=1e-8)


# -- simkit run, in-process, warnings as errors ------------------------------------------------
def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def write_scenario(data: dict, path: Path) -> Path:
    lines = []
    for table, body in data.items():
        if table in ("segments", "motions"):
            for name, fields in body.items():
                lines.append(f"[{table}.{name}]")
                lines += [f"{k} = {toml_value(v)}" for k, v in fields.items()]
        else:
            lines.append(f"[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in body.items()]
    path.write_text("\n".join(lines) + "\n")
    assert from_dict(data) is not None
    return path


def run_cli(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("error")
        code = main(list(map(str, args)))
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("case", ["horizon_1", "horizon_240", "fifty_segments", "nothing_at_all", "budget_10B",
                                  "everything_at_its_largest", "uncertain_at_the_edges"])
def test_simkit_run_no_pack_on_extreme_scenarios(tmp_path, case):
    path = write_scenario(scenario_data(case), tmp_path / f"{case}.toml")
    out = tmp_path / "out"
    code, text = run_cli("run", path, "--no-pack", "--draws", 200, "--out", out)
    assert code == 0, text
    assert "Traceback" not in text and "Warning" not in text, text
    assert "200 simulated futures" in text
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        assert ds.sizes["draw"] == 200
        check_dataset(ds.load())
    rows = (out / "summary.csv").read_text().splitlines()
    assert rows[0] == "scenario,segment,metric,quantile,threshold,value" and len(rows) > 1
    assert not any(",nan" in row.lower() for row in rows if ",payback_months," not in row), "NaN in summary.csv"


def test_simkit_run_with_the_pack_on_a_small_extreme_scenario(tmp_path):
    # A segment that never wins (CAC inf, LTV:CAC 0, payback never), one with a $10B
    # budget, one with no motion; the whole board pack, warnings as errors.
    data = scenario_data("budget_10B")
    data["motions"]["field_sales"]["conversion"] = 0
    data["scenario"]["horizon_months"] = 12
    path = write_scenario(data, tmp_path / "pack.toml")
    out = tmp_path / "out"
    code, text = run_cli("run", path, "--draws", 300, "--out", out)
    assert code == 0, text
    assert "Traceback" not in text
    for name in ("results.nc", "summary.csv", "board_pack.pdf", "report.html"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert len(list((out / "charts").glob("*.png"))) >= 5
    assert not list(out.rglob(".*.tmp")), "temporary files left behind"


def test_board_pack_of_a_one_month_horizon_has_no_warnings(tmp_path):
    # Found here: the fan charts set identical x limits on a 1-month horizon (a
    # matplotlib UserWarning); fixed in simkit/plots/fan.py.
    path = write_scenario(scenario_data("horizon_1"), tmp_path / "h1.toml")
    code, text = run_cli("run", path, "--draws", 100, "--out", tmp_path / "out")
    assert code == 0, text
