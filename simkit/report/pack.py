"""The board pack: a multi-page PDF, PNG + SVG charts and a self-contained HTML page.

Same inputs, same bytes: the PDF carries no creation or modification date, the SVG no
date and a fixed hash salt, the PNGs only matplotlib's fixed metadata. Every file is
written to a temporary file in its folder and moved into place (``os.replace``), so a
reader never sees half a pack file.
"""

from __future__ import annotations

import base64
import html
import io
import os
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["write_board_pack", "render_board_pack", "headlines", "PNG_DPI"]

PNG_DPI = 150

#: Attributes every chart's footnote needs, copied onto summaries that lack them.
_PROVENANCE = ("scenario_name", "scenario_description", "draws", "seed_entropy", "simkit_version", "currency",
               "horizon_months", "ltv_window_months")


# --- headline numbers ------------------------------------------------------------------------

def headlines(bands, probabilities, cash_out=None, stages=None) -> list[str]:
    """Three to five sentences for the cover, each a number a board member can repeat.

    Parameters
    ----------
    bands, probabilities : xarray.Dataset
        From :func:`simkit.bands` and :func:`simkit.threshold_probabilities`.
    cash_out, stages : xarray.Dataset, optional
        From :mod:`simkit.report.summaries`.
    """
    from ..plots import _style as st
    from ..plots.cash import cash_finding
    from ..plots.stages import stage_finding

    attrs = bands.attrs
    currency = attrs.get("currency", "USD")
    out = []
    if "total_arr" in bands:
        final = bands["total_arr"].isel(month=-1)
        qs = sorted(float(q) for q in bands["quantile"].values)
        horizon = int(bands.sizes["month"])
        median = st.money_short(float(final.sel(quantile=0.5, method="nearest")), currency)
        low = st.money_short(float(final.sel(quantile=qs[0])), currency)
        high = st.money_short(float(final.sel(quantile=qs[-1])), currency)
        out.append(f"Company ARR after {horizon} months: {median} median "
                   f"({(qs[-1] - qs[0]) * 100:.0f}% range {low}–{high})")
    if cash_out is not None:
        out.append(cash_finding(cash_out))
    out.extend(_threshold_headlines(probabilities, st))
    if stages is not None:
        text = stage_finding(stages)
        if not text.startswith("The company starts"):
            out.append(text)
    return out[:5]


def _threshold_headlines(probabilities, st) -> list[str]:
    keys = list(probabilities["threshold"].values)
    segments = [str(s) for s in probabilities["segment"].values]
    lines = []
    if "ltv_cac_min" in keys:
        parts = []
        for seg in segments:
            cell = probabilities.sel(segment=seg, threshold="ltv_cac_min")
            p = float(cell["probability"])
            if np.isnan(p):
                continue
            parts.append((p, f"{st.label(seg)} {st.probability_text(p, float(cell['std_error']))} "
                             f"(≥ {st.number(float(cell['threshold_value']))})"))
        if len(parts) > 4:
            parts.sort()
            parts = [parts[0], parts[-1]]
        if parts:
            lines.append("LTV:CAC at or above target in: " + ", ".join(t for _, t in parts))
    if "all" in keys:
        parts = []
        for seg in segments:
            p = float(probabilities["probability"].sel(segment=seg, threshold="all"))
            if not np.isnan(p):
                parts.append((p, f"{st.label(seg)} {st.percent(p)}"))
        if len(parts) > 4:
            parts.sort()
            parts = [parts[0], parts[-1]]
        if parts:
            lines.append("Every health threshold cleared at once in: " + ", ".join(t for _, t in parts)
                         + " of futures")
    return lines


# --- writing files ---------------------------------------------------------------------------

def _atomic_write(path: Path, data: bytes) -> Path:
    """Write bytes through simkit's one atomic writer (temporary file, fsync, rename)."""
    from ..run import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda temporary: temporary.write_bytes(data))


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._")
    return slug or "figure"


def _render(fig, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        fig.savefig(buffer, format="png", dpi=PNG_DPI)
    else:
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


# Pages a forked helper process renders to PNG and SVG while this process draws the PDF:
# (name, builder) pairs, set just before the fork and read in the child (the builders are
# closures over the results, which a fork shares and pickling would copy).
_HELPER_PAGES: list = []

# The share of pages the helper takes: it renders PNG and SVG (about 0.55 of a page's
# time), this process the PDF of every page (0.45) and the PNG and SVG of the rest
# (measured on the eight standard charts; the split that ends both sides together).
_HELPER_SHARE = 0.75


def _chart_files(fig) -> tuple[bytes, bytes, str]:
    """A laid-out page as a chart: (PNG, SVG, alt text)."""
    return _render(fig, "png"), _render(fig, "svg"), fig.get_label()


def _raster_and_vector(build) -> tuple[bytes, bytes, str]:
    """Build one page, freeze its layout and render it as a chart."""
    import matplotlib.pyplot as plt

    from ..plots import _style as st

    fig = build()
    try:
        st.freeze_layout(fig)
        return _chart_files(fig)
    finally:
        plt.close(fig)


def _helper_render(indices) -> list[tuple[bytes, bytes, str]]:
    from ..plots import _style as st

    with st.style(), st.detached():
        return [_raster_and_vector(_HELPER_PAGES[i][1]) for i in indices]


def _start_helper(pages, workers: int):
    """Fork one helper that renders the PNG and SVG of the first pages; (pool, future,
    their indices), or Nones when there is no second process to use."""
    import multiprocessing

    if workers < 2 or len(pages) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None, None, range(0)
    from concurrent.futures import ProcessPoolExecutor

    from .._children import end_with_parent

    global _HELPER_PAGES
    indices = range(int(round(_HELPER_SHARE * len(pages))))
    _HELPER_PAGES = list(pages)
    try:
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                   initializer=end_with_parent, initargs=(os.getpid(),))
        future = pool.submit(_helper_render, indices)  # forks now: the child sees _HELPER_PAGES
    finally:
        _HELPER_PAGES = []
    return pool, future, indices


def _with_provenance(summary, results):
    missing = {k: results.attrs[k] for k in _PROVENANCE if k in results.attrs and k not in summary.attrs}
    return summary.assign_attrs(missing) if missing else summary


def _in_results_order(summary, results):
    """The summary's segments in the results' order, so each segment keeps its colour.

    (A scenario rebuilt from ``scenario_json`` lists segments alphabetically.)
    """
    if "segment" not in summary.dims or "segment" not in results.coords:
        return summary
    order = [s for s in results["segment"].values if s in set(summary["segment"].values)]
    rest = [s for s in summary["segment"].values if s not in set(order)]
    return summary.sel(segment=order + rest)


def _variance(results):
    import simkit

    seed = results.attrs.get("seed_entropy")
    try:
        seed = int(seed) if seed is not None else None
    except (TypeError, ValueError):
        seed = None
    try:
        return simkit.variance_split(results, seed=seed)
    except ValueError as error:  # results without their scenario: no variance page
        warnings.warn(f"variance split skipped: {error}", stacklevel=3)
        return None


def _charts(results, bands, probabilities, variance) -> list[tuple[str, Callable]]:
    """(name, builder) for every chart the inputs allow, in page order."""
    from .. import plots
    from . import summaries

    charts: list[tuple[str, Callable]] = []
    if "total_arr" in bands:
        charts.append(("arr_fan", lambda: plots.arr_fan(bands)))
    if "cash" in bands:
        cash_out = summaries.cash_out_probability(results)
        charts.append(("cash", lambda: plots.cash_chart(bands, cash_out)))
    from ..plots.thresholds import heatmap_columns

    if heatmap_columns(probabilities):
        charts.append(("thresholds", lambda: plots.threshold_heatmap(probabilities)))
    charts.append(("ltv_cac", lambda: plots.ltv_cac_distribution(results, probabilities)))
    payback = summaries.payback_probability(results)
    charts.append(("payback", lambda: plots.payback_chart(payback, probabilities)))
    charts.append(("unit_economics", lambda: plots.unit_economics_table(bands)))
    stages = summaries.stage_probability(results)
    if not bool(stages["at_start"].all()):  # a company already in its top stage has no timeline
        charts.append(("stages", lambda: plots.stage_timeline(stages)))
    if variance is not None:
        charts.append(("variance_split", lambda: plots.variance_chart(variance)))
    return charts


def write_board_pack(results, out_dir, *, bands=None, probabilities=None, variance=None,
                     extra_figures: Sequence = (), workers: int = 1) -> dict[str, list[Path]]:
    """Write the board pack for one simulated scenario.

    Parameters
    ----------
    results : xarray.Dataset
        From :func:`simkit.simulate` (or ``results.nc``).
    out_dir : str or Path
        Folder; created if needed. Receives ``board_pack.pdf``, ``report.html`` and
        ``charts/NN_name.png`` / ``.svg``.
    bands, probabilities, variance : xarray.Dataset, optional
        Precomputed :func:`simkit.bands`, :func:`simkit.threshold_probabilities` and
        :func:`simkit.variance_split`; computed from ``results`` when missing (the
        variance split rebuilds the scenario from the results' attributes and uses the
        results' seed; the page is skipped, with a warning, if it cannot).
    extra_figures : sequence of (name, matplotlib Figure)
        Pages that later analyses (stress, compare, sensitivity) add after the standard
        charts. They are closed once written.
    workers : int, default 1
        Processes to render with. With 2 or more (where processes can be forked), a
        second process renders the PNG and SVG of most pages while this one writes the
        PDF: the same files, byte for byte, in about two thirds of the time.

    Returns
    -------
    dict
        ``{"pdf": [path], "png": [paths], "svg": [paths], "html": [path]}``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    import simkit

    from .. import plots
    from ..plots import _style as st
    from . import summaries

    out = Path(out_dir)
    charts_dir = out / "charts"
    bands = simkit.bands(results) if bands is None else bands
    probabilities = simkit.threshold_probabilities(results) if probabilities is None else probabilities
    bands = _with_provenance(bands, results)
    probabilities = _with_provenance(probabilities, results)
    if variance is None:
        variance = _variance(results)
    if variance is not None:
        variance = _with_provenance(_in_results_order(variance, results), results)

    cash_out = summaries.cash_out_probability(results) if "runway_months" in results else None
    stages = summaries.stage_probability(results) if "stage_reached_month" in results else None
    lines = headlines(bands, probabilities, cash_out, stages)

    pages: list[tuple[str, Callable]] = [("cover", lambda: plots.cover_page(results.attrs, lines))]
    pages += _charts(results, bands, probabilities, variance)
    extras = [(_slug(name), (lambda f=fig: f)) for name, fig in extra_figures]

    written: dict[str, list[Path]] = {"pdf": [], "png": [], "svg": [], "html": []}
    charted = pages[1:] + extras  # every page but the cover also gets a PNG and an SVG
    rendered: dict[int, tuple[bytes, bytes, str]] = {}

    def stem(index: int) -> str:
        return f"{index + 1:02d}_{charted[index][0]}"

    def keep(index: int, files: tuple[bytes, bytes, str]) -> None:
        _atomic_write(charts_dir / f"{stem(index)}.png", files[0])
        _atomic_write(charts_dir / f"{stem(index)}.svg", files[1])
        rendered[index] = files

    pdf_buffer = io.BytesIO()
    metadata = {"Title": f"simkit board pack: {results.attrs.get('scenario_name', '')}",
                "Creator": f"simkit {results.attrs.get('simkit_version', simkit.__version__)}",
                "CreationDate": None, "ModDate": None}
    # Detached: every chart is an Agg-canvas Figure pyplot never sees (no display, no GUI
    # backend, the caller's backend untouched).
    with st.style(), st.detached(), PdfPages(pdf_buffer, metadata=metadata) as pdf:
        pool, helper, helped = _start_helper(charted, workers)
        try:
            for index, (name, build) in enumerate(pages[:1] + charted, start=-1):
                fig = build()
                try:
                    st.freeze_layout(fig)
                    pdf.savefig(fig)
                    if index >= 0 and index not in helped:
                        keep(index, _chart_files(fig))
                finally:
                    plt.close(fig)
            if helper is not None:
                try:
                    from_helper = helper.result()
                except Exception:  # the helper died or failed: render its pages here
                    from_helper = [_raster_and_vector(charted[i][1]) for i in helped]
                for index, files in zip(helped, from_helper):
                    keep(index, files)
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
    figures_html = []
    for index, (name, _) in enumerate(charted):
        written["png"].append(charts_dir / f"{stem(index)}.png")
        written["svg"].append(charts_dir / f"{stem(index)}.svg")
        png, _, label = rendered[index]
        figures_html.append((stem(index), label or name.replace("_", " "), png))
    written["pdf"].append(_atomic_write(out / "board_pack.pdf", pdf_buffer.getvalue()))
    page = _html(results.attrs, lines, figures_html)
    written["html"].append(_atomic_write(out / "report.html", page.encode("utf-8")))
    return written


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;max-width:1100px;
margin:0 auto;padding:24px;line-height:1.45;background:#fff}
header{border-bottom:4px solid #1b2a41;margin-bottom:20px}
h1{font-size:30px;margin:0 0 6px}
.description{color:#555;font-size:17px;margin:0 0 14px}
.headlines{background:#f4f6f9;border-left:6px solid #3f90da;padding:12px 20px;margin:0 0 28px}
.headlines h2{font-size:15px;text-transform:uppercase;letter-spacing:.05em;color:#555;margin:4px 0 8px}
.headlines li{font-size:18px;margin:6px 0}
figure{margin:0 0 36px}
figure img{width:100%;height:auto;border:1px solid #e3e3e3}
figcaption{font-size:13px;color:#666;margin-top:4px}
footer{font-size:12px;color:#888;border-top:1px solid #ddd;padding-top:10px}
"""


def _html(attrs, lines, figures) -> str:
    from ..plots import _style as st

    esc = html.escape
    name = str(attrs.get("scenario_name") or "simkit scenario")
    shown = st.label(name) if " " not in name else name
    description = str(attrs.get("scenario_description") or "")
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{esc(name)}: board pack</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<header><h1>{esc(shown)}</h1>"]
    if description:
        parts.append(f'<p class="description">{esc(description)}</p>')
    parts.append("</header>")
    if lines:
        parts.append(f'<section class="headlines"><h2>What {esc(st.plural_futures(attrs))} say</h2><ul>')
        parts += [f"<li>{esc(line)}</li>" for line in lines]
        parts.append("</ul></section>")
    for stem, alt, png in figures:
        data = base64.b64encode(png).decode("ascii")
        parts.append(f'<figure id="{esc(stem)}"><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
                     "</figure>")
    parts.append(f"<footer>{esc(st.footnote(attrs))}. Probabilities are shares of simulated futures, "
                 "not forecasts of one future.</footer>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def render_board_pack(results, out_dir, **kwargs) -> dict[str, list[Path]]:
    """Load ``results.nc`` (or take a Dataset) and write its board pack.

    Parameters
    ----------
    results : str, Path or xarray.Dataset
        A results file written from :func:`simkit.simulate` (read with h5netcdf), or
        the Dataset itself.
    out_dir : str or Path
    **kwargs
        Passed to :func:`write_board_pack`.
    """
    if isinstance(results, (str, os.PathLike)):
        import xarray as xr

        # decode_times=False: simkit results hold no calendar dates, and files written by
        # simkit 0.1.0 before the month units were fixed look like CF time units.
        with xr.open_dataset(results, engine="h5netcdf", decode_times=False, decode_timedelta=False) as opened:
            dataset = opened.load()
        return write_board_pack(dataset, out_dir, **kwargs)
    return write_board_pack(results, out_dir, **kwargs)
