"""Fan charts (Bank of England style): quantile bands over months, darker toward the centre."""

from __future__ import annotations

import numpy as np

from . import _style as st

__all__ = ["arr_fan", "draw_fan", "band_legend_handles"]

HOW_TO_READ = ("How to read: the light band holds 90% of simulated futures, the darker band the middle 50%, "
               "the line is the median future.")


def _pairs(quantiles) -> tuple[list[tuple[float, float]], float | None]:
    qs = sorted(float(q) for q in np.asarray(quantiles))
    pairs = []
    i, j = 0, len(qs) - 1
    while i < j:
        pairs.append((qs[i], qs[j]))
        i, j = i + 1, j - 1
    median = next((q for q in qs if abs(q - 0.5) < 1e-9), None)
    return pairs, median


def _tints(count: int) -> list[float]:
    return list(np.linspace(0.28, 0.62, count)) if count > 1 else [0.45] * count


def draw_fan(ax, band, color, *, x=None, median_label: str | None = None):
    """Draw one fan from a DataArray (quantile, month): nested bands, then the median line.

    Outer bands are the lightest; colours are opaque tints (no alpha), so overlapping
    output formats render identically.
    """
    x = display_months(band["month"].values) if x is None else x
    pairs, median = _pairs(band["quantile"].values)
    for (lo, hi), amount in zip(pairs, _tints(len(pairs))):
        ax.fill_between(x, band.sel(quantile=lo).values, band.sel(quantile=hi).values,
                        color=st.tint(color, amount), linewidth=0, zorder=1)
    if median is not None:
        ax.plot(x, band.sel(quantile=median).values, color=st.shade(color, 0.15), linewidth=2.6, zorder=3,
                label=median_label)


def band_legend_handles(quantiles, color=st.COMPANY_COLOR):
    """Legend entries: "90% of futures", "50% of futures", "median"."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    pairs, median = _pairs(quantiles)
    handles = [Patch(color=st.tint(color, a), label=f"{(hi - lo) * 100:.0f}% of futures")
               for (lo, hi), a in zip(pairs, _tints(len(pairs)))]
    if median is not None:
        handles.append(Line2D([], [], color=st.shade(color, 0.15), linewidth=2.6, label="median future"))
    return handles


def display_months(month_values):
    """Charts count months from 1 (the data's month index 0 is "month 1")."""
    return np.asarray(month_values, dtype=float) + 1


def month_axis(ax, month_values, label: str = "Month") -> None:
    """x axis in months counted from 1, ticks every 6 (or 12) months."""
    from matplotlib.ticker import MultipleLocator

    shown = display_months(month_values)
    step = 6 if len(shown) <= 48 else 12
    ax.xaxis.set_major_locator(MultipleLocator(step))
    first, last = float(shown[0]), float(shown[-1])
    # A one-month horizon has a single point: give it a little room instead of a zero-width axis.
    ax.set_xlim(first - 0.5, last + 0.5) if last == first else ax.set_xlim(first, last)
    if label:
        ax.set_xlabel(label)


def _quantile(band, q) -> float:
    return float(band.sel(quantile=q, method="nearest").values)


def arr_summary(band, currency: str) -> tuple[str, str, str]:
    """(median, low, high) of a (quantile,) band at one month, as money text."""
    qs = sorted(float(q) for q in band["quantile"].values)
    return (st.money_short(_quantile(band, 0.5), currency), st.money_short(_quantile(band, qs[0]), currency),
            st.money_short(_quantile(band, qs[-1]), currency))


def _stage_lines(ax, bands, currency: str) -> None:
    if "stage_arr_from" not in bands.coords:
        return
    low, high = ax.get_ylim()
    names = bands["stage_name"].values
    floors = bands["stage_arr_from"].values
    gap = 0.075 * (high - low)  # two-line labels need about this much height
    last = -np.inf
    for name, floor in sorted(zip(names, floors), key=lambda item: item[1]):
        if floor <= 0 or not (low < floor < high):
            continue
        ax.axhline(floor, color="#8a8a8a", linestyle=(0, (5, 4)), linewidth=1.2, zorder=2)
        # Outside the plot, right of the line's end: the label never covers a band; nudged
        # up when two boundaries sit close together.
        at = max(float(floor), last + gap)
        last = at
        ax.annotate(f"{st.label(name)}\n{st.money_short(floor, currency)}", xy=(1.0, at),
                    xycoords=("axes fraction", "data"), xytext=(5, 0), textcoords="offset points",
                    fontsize=10, color="#555555", va="center", ha="left", zorder=4, linespacing=1.1,
                    annotation_clip=False)


def arr_fan(bands, *, ax=None, segments: bool = True):
    """ARR fan chart: company total ARR, and one small fan per segment.

    Parameters
    ----------
    bands : xarray.Dataset
        From :func:`simkit.bands` (needs ``total_arr`` and, for the small multiples,
        ``arr``; its ``quantile`` coordinate decides the bands).
    ax : matplotlib Axes, optional
        Draw only the company fan into this Axes and return it.
    segments : bool, default True
        Add per-segment small multiples (new figure only).

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    attrs = bands.attrs
    currency = attrs.get("currency", "USD")
    total = bands["total_arr"]
    horizon = int(total.sizes["month"])
    final = total.isel(month=-1)
    med, lo, hi = arr_summary(final, currency)
    qs = sorted(float(q) for q in bands["quantile"].values)
    width = f"{(qs[-1] - qs[0]) * 100:.0f}%"
    finding = f"Company ARR after {horizon} months: {med} median ({width} of futures {lo}–{hi})"

    with st.style():
        if ax is not None:
            _company_panel(ax, bands, currency, legend=True)
            st.axes_title(ax, finding)
            return ax
        fig = st.new_figure()
        seg_names = [str(s) for s in bands["segment"].values] if segments and "arr" in bands else []
        if seg_names:
            n = len(seg_names)
            cols = 1 if n <= 4 else 2
            rows = -(-n // cols)
            grid = fig.add_gridspec(rows, 1 + cols, width_ratios=[2.2] + [1] * cols)
            main = fig.add_subplot(grid[:, 0])
            colours = st.segment_colors(bands["segment"].values)
            first = None
            for i, seg in enumerate(seg_names):
                r, c = i % rows, i // rows
                sub = fig.add_subplot(grid[r, 1 + c], sharex=first)
                first = first or sub
                band = bands["arr"].sel(segment=seg)
                draw_fan(sub, band, colours[seg])
                sub.set_ylim(bottom=0)
                sub.yaxis.set_major_formatter(st.money_formatter(currency))
                sub.yaxis.set_major_locator(_few_ticks())
                last_in_column = r == rows - 1 or i + 1 == n
                month_axis(sub, band["month"].values, label="Months" if last_in_column else "")
                if not last_in_column:
                    sub.tick_params(labelbottom=False)
                smed, slo, shi = arr_summary(band.isel(month=-1), currency)
                sub.set_title(f"{st.label(seg)}: {smed}", fontsize=14, color=st.shade(colours[seg], 0.25))
                sub.tick_params(labelsize=11)
        else:
            main = fig.add_subplot()
        _company_panel(main, bands, currency, legend=True)
        main.set_title("Company total ARR", fontsize=15)
        subtitle = (f"Annual recurring revenue run-rate by month, company total and by segment, across "
                    f"{st.path_futures(attrs)}")
        caption = HOW_TO_READ + (" Dashed lines: ARR at which each company stage starts." if
                                 "stage_arr_from" in bands.coords else "")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig


def _few_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=3, min_n_ticks=2)


def _company_panel(ax, bands, currency: str, legend: bool) -> None:
    total = bands["total_arr"]
    draw_fan(ax, total, st.COMPANY_COLOR)
    ax.set_ylim(bottom=0)
    ax.margins(x=0)
    ax.yaxis.set_major_formatter(st.money_formatter(currency))
    month_axis(ax, total["month"].values)
    _stage_lines(ax, bands, currency)
    if legend:
        ax.legend(handles=band_legend_handles(bands["quantile"].values), loc="upper left",
                  bbox_to_anchor=(0.0, 0.93), fontsize=12)
