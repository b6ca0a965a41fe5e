"""``simkit stress`` and ``simkit compare`` end to end: terminal output, exit codes, the
saved results and a board pack that carries the analysis pages."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from simkit.cli import main
from simkit.errors import SimkitError
from simkit.run import run_stress

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "scaling_add_enterprise.toml"
BASELINE = ROOT / "scenarios" / "scaling_baseline.toml"

STANDARD = ["arr_fan", "cash", "thresholds", "ltv_cac", "payback", "unit_economics", "stages", "variance_split"]


def _pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


def _charts(folder: Path) -> list[str]:
    return [re.sub(r"^\d\d_", "", p.stem) for p in sorted((folder / "charts").glob("*.png"))]


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="h5netcdf", decode_times=False) as ds:
        return ds.load()


def test_stress_command_writes_stress_results_and_the_pages(tmp_path, capsys):
    out = tmp_path / "stress"
    code = main(["stress", str(EXAMPLE), "--draws", "300", "--out", str(out),
                 "--reverse", "smb:segments.smb.annual_churn"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "stress test on 300 paired draws" in printed
    assert "enterprise: P(clears threshold) under each stress" in printed
    assert re.search(r"bad_year\s+\d\.\d\d", printed)  # probabilities, per stress
    assert "reverse stress: smb / ltv_cac_min" in printed

    stress = _open(out / "stress.nc")
    assert list(stress["stress"].values)[0] == "baseline" and stress.sizes["stress"] == 9
    results = _open(out / "results.nc")
    assert results.sizes["draw"] == 300
    assert (out / "summary.csv").is_file() and (out / "report.html").is_file()
    # The pack's baseline is the stress test's baseline: same futures, same probabilities.
    from simkit import threshold_probabilities

    np.testing.assert_array_equal(
        stress["probability"].sel(stress="baseline").transpose("segment", "threshold").values,
        threshold_probabilities(results)["probability"].transpose("segment", "threshold").values)

    assert _charts(out) == [*STANDARD, "stress_impact", "drivers_ltv_cac", "drivers_arr_over_time"]
    assert _pdf_pages(out / "board_pack.pdf") == 1 + len(STANDARD) + 3
    assert "hurts most" in (out / "report.html").read_text()  # the stress page's finding, as alt text


def test_compare_command_writes_the_comparison_page(tmp_path, capsys):
    out = tmp_path / "compare"
    code = main(["compare", str(BASELINE), str(EXAMPLE), "--draws", "300", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "2 plans on 300 paired draws" in printed
    assert re.search(r"scaling_add_enterprise\s+company\s+total_arr_final\s+\d\.\d\d", printed)

    compared = _open(out / "compare.nc")
    assert list(compared["plan"].values) == ["scaling_baseline", "scaling_add_enterprise"]
    results = _open(out / "results.nc")
    assert results.attrs["scenario_name"] == "scaling_baseline"  # the pack is the reference plan's
    charts = _charts(out)
    assert charts[-1] == "plan_comparison" and charts.count("plan_comparison") == 1
    assert _pdf_pages(out / "board_pack.pdf") == 1 + len(charts)
    assert "more ARR than Scaling baseline" in (out / "report.html").read_text()


SMALL = """\
[scenario]
name = "small"
horizon_months = 12
seed = 3

[company]
starting_cash = 1_000_000
fixed_opex_per_month = 10_000

[segments.smb]
acv = 2_400
gross_margin = 0.8
annual_churn = { beta = { mean = 0.2, concentration = 50 } }
starting_customers = 100

[motions.self_serve]
segment = "smb"
cost_per_lead = 100
conversion = { beta = { mean = 0.1, concentration = 200 } }
sales_cycle_months = 1

[allocation]
budget_per_month = { self_serve = 10_000 }

[stresses.churn_up]
shocks = [{ input = "segments.*.annual_churn", scale = 1.5 }]
"""


def test_stress_with_a_frontier_page(tmp_path, capsys):
    """The default frontier (``SEGMENT`` alone): the segment's motion's conversion x0.5..1
    against its sales cycle +0..6 months."""
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL)
    out = tmp_path / "frontier"
    assert run_stress(scenario, suite=None, draws=200, out=out, frontier="smb") == 0
    printed = capsys.readouterr().out
    assert "frontier: smb / ltv_cac_min holds P >= 0.5 in" in printed
    grid = _open(out / "frontier.nc")["probability"]
    assert grid.dims == ("y", "x") and grid.shape == (4, 5)
    assert list(grid["x"].values) == [0.5, 0.625, 0.75, 0.875, 1.0]
    assert list(grid["y"].values) == [0.0, 2.0, 4.0, 6.0]
    assert float(grid.sel(x=0.5).max()) < float(grid.sel(x=1.0, y=0.0))  # the harsher corner is worse
    charts = _charts(out)
    assert charts[-4:] == ["stress_impact", "drivers_ltv_cac", "drivers_arr_over_time", "frontier"]
    assert _pdf_pages(out / "board_pack.pdf") == 1 + len(charts)


@pytest.mark.parametrize("spec, message", [
    ("nowhere", "no segment 'nowhere'"),
    ("enterprise:motions.field_sales.conversion", "expected SEGMENT"),
    ("enterprise:motions.field_sales.conversion:motions.field_sales.sales_cycle_months+1",
     "needs INPUT"),
    ("enterprise:motions.nope.conversion*1,2:motions.field_sales.sales_cycle_months+0,3", "matches no input"),
    ("enterprise:motions.field_sales.conversion*a,b:motions.field_sales.sales_cycle_months+0,3",
     "not a list of numbers"),
])
def test_bad_frontier_specs_are_explained_before_any_work(tmp_path, spec, message):
    with pytest.raises(SimkitError, match=re.escape(message)):
        run_stress(EXAMPLE, draws=50, out=tmp_path / "x", frontier=spec)
    assert not (tmp_path / "x").exists()


def test_report_command_rerenders_the_run_pack_byte_for_byte(tmp_path, capsys):
    """``simkit run --workers 2`` then ``simkit report --workers 2`` on its results.nc:
    the same charts, PDF and HTML (the pack is a function of results.nc alone)."""
    first = tmp_path / "run"
    assert main(["run", str(EXAMPLE), "--draws", "300", "--workers", "2", "--out", str(first)]) == 0
    again = tmp_path / "again"
    assert main(["report", str(first / "results.nc"), "--workers", "2", "--out", str(again)]) == 0
    capsys.readouterr()
    assert _charts(again) == STANDARD
    files = ["board_pack.pdf", "report.html", *(f"charts/{p.name}" for p in sorted((first / "charts").iterdir()))]
    assert len(files) == 2 + 2 * len(STANDARD)
    for name in files:
        assert (again / name).read_bytes() == (first / name).read_bytes(), name


def test_commands_default_to_the_cores_this_process_may_use(monkeypatch):
    """Results do not depend on the number of processes, so the command uses what it has
    (its CPU affinity, which container limits set); an explicit --workers wins."""
    from simkit import cli

    monkeypatch.setattr(cli.os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    parser = cli.build_parser()
    for command in (["run", "s.toml"], ["stress", "s.toml"], ["compare", "a.toml", "b.toml"], ["batch", "s"],
                    ["report", "results.nc"]):
        assert parser.parse_args(command).workers == 3, command
    assert parser.parse_args(["run", "s.toml", "--workers", "1"]).workers == 1
    monkeypatch.delattr(cli.os, "sched_getaffinity")
    monkeypatch.setattr(cli.os, "cpu_count", lambda: None)
    assert cli.build_parser().parse_args(["run", "s.toml"]).workers == 1  # nothing known: one process
