"""The board pack (PDF, PNG, SVG, HTML) and the summaries behind its charts."""

from __future__ import annotations

import multiprocessing
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import simkit  # noqa: E402
from simkit.report import render_board_pack, summaries, write_board_pack  # noqa: E402
from simkit.report.pack import headlines  # noqa: E402
from simkit.scenario import from_dict  # noqa: E402

from test_plots import SCENARIO  # noqa: E402


@pytest.fixture(scope="module")
def results():
    return simkit.simulate(from_dict(SCENARIO), draws=2000, seed=9)


def _extra():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("stress: churn x1.5")
    return fig


@pytest.fixture(scope="module")
def pack(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("pack")
    extra = _extra()
    written = write_board_pack(results, out, extra_figures=[("stress test", extra)])
    return out, written, extra


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))


# --- the pack --------------------------------------------------------------------------------

def test_pack_writes_pdf_png_svg_and_html(pack):
    out, written, _ = pack
    assert written["pdf"] == [out / "board_pack.pdf"]
    assert written["html"] == [out / "report.html"]
    assert len(written["png"]) >= 6 and len(written["svg"]) == len(written["png"])
    for paths in written.values():
        for path in paths:
            assert path.exists() and path.stat().st_size > 0
    names = [p.stem for p in written["png"]]
    assert names[:3] == ["01_arr_fan", "02_cash", "03_thresholds"]
    assert names[-1].endswith("_stress_test")
    assert all(p.parent == out / "charts" for p in written["png"] + written["svg"])
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]  # atomic writes left nothing


def test_pdf_has_cover_and_one_page_per_chart_and_no_dates(pack):
    out, written, _ = pack
    pdf = (out / "board_pack.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = _pages(pdf)
    assert pages >= 6
    assert pages == len(written["png"]) + 1  # cover + every chart, extras included
    assert b"/CreationDate" not in pdf and b"/ModDate" not in pdf


def test_png_is_about_150_dpi_16_by_9(pack):
    _, written, _ = pack
    png = written["png"][0].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == pytest.approx(13.333 * 150, abs=2) and height == pytest.approx(7.5 * 150, abs=2)


def test_html_is_self_contained(pack):
    out, written, _ = pack
    html = (out / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == len(written["png"])
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(href|src)="(?!data:)', html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert "<style>" in html
    assert "plots_test" in html


def test_extra_figures_are_added_and_closed(pack):
    _, written, extra = pack
    assert any(p.name.endswith("_stress_test.png") for p in written["png"])
    assert not plt.fignum_exists(extra.number)


def test_cover_headlines_state_numbers_from_the_summaries(results):
    bands = simkit.bands(results)
    tp = simkit.threshold_probabilities(results)
    cash = summaries.cash_out_probability(results)
    lines = headlines(bands, tp, cash, summaries.stage_probability(results))
    assert 3 <= len(lines) <= 5
    from simkit.plots import _style as st

    median = float(bands["total_arr"].isel(month=-1).sel(quantile=0.5))
    assert st.money_short(median) in lines[0]
    assert st.percent(float(np.isfinite(results["runway_months"]).mean())) in lines[1]
    p = float(tp["probability"].sel(segment="enterprise", threshold="ltv_cac_min"))
    assert f"Enterprise {st.percent(p)}" in lines[2]


def test_same_inputs_same_bytes_also_from_results_file(pack, results, tmp_path):
    """The pack rendered again from results.nc is byte-identical: PDF, SVG, PNG and HTML."""
    out, written, _ = pack
    path = tmp_path / "results.nc"
    results.to_netcdf(path, engine="h5netcdf")
    again = render_board_pack(path, tmp_path / "again", extra_figures=[("stress test", _extra())])
    for kind in ("pdf", "svg", "png", "html"):
        assert [p.name for p in again[kind]] == [p.name for p in written[kind]]
        for first, second in zip(written[kind], again[kind]):
            assert first.read_bytes() == second.read_bytes(), first.name


def _same_files(first: dict, second: dict) -> None:
    for kind in ("pdf", "svg", "png", "html"):
        assert [p.name for p in second[kind]] == [p.name for p in first[kind]]
        for one, other in zip(first[kind], second[kind]):
            assert one.read_bytes() == other.read_bytes(), one.name


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the helper needs fork")
def test_two_processes_write_the_same_pack_byte_for_byte(pack, results, tmp_path, monkeypatch):
    """workers=2: a forked helper renders most PNGs and SVGs, extra pages included."""
    from simkit.report import pack as pack_module

    out, written, _ = pack
    started = []
    start = pack_module._start_helper

    def recorded(pages, workers):
        pool, helper, helped = start(pages, workers)
        started.append((helper, list(helped), len(pages)))
        return pool, helper, helped

    monkeypatch.setattr(pack_module, "_start_helper", recorded)
    again = write_board_pack(results, tmp_path, extra_figures=[("stress test", _extra())], workers=2)
    _same_files(written, again)
    helper, helped, pages = started[0]
    assert helper is not None and helped == list(range(round(0.75 * pages)))
    assert pages == len(written["png"])  # the cover has no PNG


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the helper needs fork")
def test_a_failing_helper_costs_time_not_files(pack, results, tmp_path, monkeypatch):
    """The helper's pages are rendered here when it fails; the pack is the same."""
    from simkit.report import pack as pack_module

    def broken(indices):
        raise OSError("helper lost")

    monkeypatch.setattr(pack_module, "_helper_render", broken)  # the fork inherits the patch
    out, written, _ = pack
    again = write_board_pack(results, tmp_path, extra_figures=[("stress test", _extra())], workers=2)
    _same_files(written, again)


def test_one_worker_or_one_page_starts_no_helper():
    from simkit.report import pack as pack_module

    assert pack_module._start_helper([("a", None), ("b", None)], 1) == (None, None, range(0))
    assert pack_module._start_helper([("a", None)], 2) == (None, None, range(0))


def test_pack_without_paths_still_writes(results, tmp_path):
    small = simkit.simulate(from_dict(SCENARIO), draws=300, seed=2, keep_paths=False)
    written = write_board_pack(small, tmp_path, variance=simkit.variance_split(
        from_dict(SCENARIO), outer_draws=40, replicates=4, bootstrap=10))
    names = [p.stem for p in written["png"]]
    assert not any("arr_fan" in n or "cash" in n for n in names)  # no monthly paths to draw
    assert _pages((tmp_path / "board_pack.pdf").read_bytes()) == len(names) + 1


def test_variance_page_is_skipped_with_a_warning_when_results_lack_their_scenario(results):
    from simkit.report.pack import _variance

    assert _variance(results) is not None  # rebuilt from scenario_json
    bare = results.copy()
    bare.attrs = {k: v for k, v in results.attrs.items() if k != "scenario_json"}
    with pytest.warns(UserWarning, match="variance split skipped"):
        assert _variance(bare) is None


# --- summaries behind the charts -------------------------------------------------------------

def test_cumulative_share_counts_never_as_not_yet():
    months = np.array([0, 1, 2, 3])
    values = np.array([[0.0, np.nan], [2.0, 1.0], [np.inf, 1.0], [3.0, np.nan]])
    p = summaries.cumulative_share(values, months)
    assert p.shape == (2, 4)
    np.testing.assert_allclose(p[0], [0.25, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(p[1], [0.0, 0.5, 0.5, 0.5])


def test_payback_probability_matches_direct_counts(results):
    out = summaries.payback_probability(results)
    n = results.sizes["draw"]
    assert out["months_since_win"].values[-1] == results.attrs["ltv_window_months"]
    for segment in results["segment"].values:
        values = results["payback_months"].sel(segment=segment).values
        for m in (0, 3, 6, 12, 18, 36, 60):
            direct = np.count_nonzero(values <= m) / n  # NaN compares False: never paid back
            assert float(out["probability"].sel(segment=segment, months_since_win=m)) == pytest.approx(direct)
            se = float(out["std_error"].sel(segment=segment, months_since_win=m))
            assert se == pytest.approx(np.sqrt(direct * (1 - direct) / n))
        assert float(out["never"].sel(segment=segment)) == pytest.approx(np.isnan(values).mean())
        target = results["threshold_value"].sel(segment=segment, threshold="payback_months_max")
        assert float(out["threshold"].sel(segment=segment)) == float(target)


def test_cash_out_probability_matches_direct_counts(results):
    out = summaries.cash_out_probability(results)
    runway = results["runway_months"].values
    cash = results["cash"].values
    for m in range(results.sizes["month"]):
        direct = np.count_nonzero(runway <= m) / runway.size
        assert float(out["probability"].sel(month=m)) == pytest.approx(direct)
        # The same thing from the cash paths: some month up to m ended below zero.
        assert direct == pytest.approx((cash[:, : m + 1] < 0).any(axis=1).mean())
    assert float(out["by_horizon"]) == pytest.approx(np.isfinite(runway).mean())
    assert 0 < float(out["by_horizon"]) < 1
    assert np.all(np.diff(out["probability"].values) >= 0)


def test_stage_probability_matches_direct_counts(results):
    out = summaries.stage_probability(results)
    reached = results["stage_reached_month"]
    for stage in results["stage_name"].values:
        values = reached.sel(stage_name=stage).values
        for m in range(results.sizes["month"]):
            direct = np.count_nonzero(values <= m) / values.size
            assert float(out["probability"].sel(stage_name=stage, month=m)) == pytest.approx(direct)
        assert float(out["by_horizon"].sel(stage_name=stage)) == pytest.approx(np.isfinite(values).mean())
        assert bool(out["at_start"].sel(stage_name=stage)) == bool(np.all(values == 0))
        median = float(out["median_month"].sel(stage_name=stage))
        if np.isfinite(median):
            assert np.count_nonzero(values <= median) / values.size >= 0.5
            assert np.count_nonzero(values <= median - 1) / values.size < 0.5
    assert list(out["stage_arr_from"].values) == list(results["stage_arr_from"].values)
