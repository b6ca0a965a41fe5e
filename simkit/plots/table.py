"""Unit-economics table page: per segment, the median and the 90% range of each metric."""

from __future__ import annotations

import numpy as np

from . import _style as st

__all__ = ["unit_economics_table", "table_cells", "TABLE_METRICS"]

#: (variable, column header)
TABLE_METRICS = (
    ("cac", "CAC"),
    ("ltv", "LTV"),
    ("ltv_cac", "LTV:CAC"),
    ("payback_months", "CAC payback"),
    ("nrr", "NRR"),
    ("cs_cost_share", "CS cost\n/ revenue"),
)


def _format(metric: str, value: float, currency: str, window) -> str:
    if metric in ("cac", "ltv"):
        if metric == "cac" and np.isinf(value):
            return "no wins"
        return st.money_short(value, currency)
    if metric == "ltv_cac":
        return st.ratio(value)
    if metric == "payback_months":
        return "never" if not np.isfinite(value) else st.months(value)
    return st.share(value)


def _ends(bands) -> tuple[float, float, float]:
    qs = sorted(float(q) for q in bands["quantile"].values)
    median = min(qs, key=lambda q: abs(q - 0.5))
    return qs[0], median, qs[-1]


def table_cells(bands) -> dict[tuple[str, str], tuple[str, str]]:
    """(segment, metric) -> (median text, "low – high" text), as the table writes them."""
    currency = bands.attrs.get("currency", "USD")
    window = bands.attrs.get("ltv_window_months")
    low, mid, high = _ends(bands)
    cells = {}
    for seg in bands["segment"].values:
        for metric, _ in TABLE_METRICS:
            if metric not in bands:
                continue
            band = bands[metric].sel(segment=seg)
            values = [float(band.sel(quantile=q)) for q in (low, mid, high)]
            texts = [_format(metric, v, currency, window) for v in values]
            if texts[0] == texts[2]:
                # p_low = p_high: at least that share of futures has exactly this value.
                spread = f"in ≥{(high - low) * 100:.0f}% of futures"
            else:
                spread = f"{texts[0]} – {texts[2]}"
            cells[(str(seg), metric)] = (texts[1], spread)
    return cells


def _finding(bands) -> str:
    low, mid, high = _ends(bands)
    segments = [str(s) for s in bands["segment"].values]
    ratios = {s: float(bands["ltv_cac"].sel(segment=s, quantile=mid)) for s in segments}
    best = max(segments, key=lambda s: ratios[s])
    payback = float(bands["payback_months"].sel(segment=best, quantile=mid))
    paid = f"payback {st.months(payback)}" if np.isfinite(payback) else "no payback in the window"
    if len(segments) == 1:
        return f"{st.label(best)}: median LTV:CAC {st.ratio(ratios[best])}, {paid}"
    worst = min(segments, key=lambda s: ratios[s])
    if np.isinf(float(bands["cac"].sel(segment=worst, quantile=mid))):
        return (f"{st.label(best)} leads on unit economics (median LTV:CAC {st.ratio(ratios[best])}, {paid}); "
                f"{st.label(worst)} wins no customers in the median future")
    return (f"{st.label(best)} leads on unit economics (median LTV:CAC {st.ratio(ratios[best])}, {paid}); "
            f"{st.label(worst)} trails ({st.ratio(ratios[worst])})")


def unit_economics_table(bands, *, ax=None):
    """A table of CAC, LTV, LTV:CAC, payback, NRR and CS cost share per segment.

    Each cell gives the median future in bold and the range from the lowest to the
    highest quantile in ``bands`` (p5 - p95 by default) beneath it.

    Parameters
    ----------
    bands : xarray.Dataset
        From :func:`simkit.bands`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    attrs = bands.attrs
    segments = [str(s) for s in bands["segment"].values]
    colours = st.segment_colors(segments)
    cells = table_cells(bands)
    metrics = [(m, h) for m, h in TABLE_METRICS if m in bands]
    low, _, high = _ends(bands)
    finding = _finding(bands)
    with st.style():
        own = ax is None
        if own:
            fig = st.new_figure()
            ax = fig.add_subplot()
        ax.set_axis_off()
        n_rows, n_cols = len(segments), len(metrics)
        label_width = 1.5
        ax.set_xlim(0, label_width + n_cols)
        ax.set_ylim(0, n_rows + 0.9)
        big = 22 if n_rows <= 4 else 17
        small = 12 if n_rows <= 4 else 10
        header_y = n_rows + 0.45
        for j, (_, header) in enumerate(metrics):
            ax.text(label_width + j + 0.5, header_y, header, ha="center", va="center", fontsize=15,
                    fontweight="bold", color="#333333")
        ax.plot([0, label_width + n_cols], [n_rows, n_rows], color="#333333", linewidth=1.5)
        for i, seg in enumerate(segments):
            y = n_rows - 1 - i
            if i % 2 == 0:
                ax.fill_between([0, label_width + n_cols], y, y + 1, color="#f4f4f4", linewidth=0, zorder=0)
            ax.text(0.08, y + 0.5, st.label(seg), ha="left", va="center", fontsize=17, fontweight="bold",
                    color=st.shade(colours[seg], 0.25))
            for j, (metric, _) in enumerate(metrics):
                median, spread = cells[(seg, metric)]
                x = label_width + j + 0.5
                ax.text(x, y + 0.6, median, ha="center", va="center", fontsize=big, fontweight="bold",
                        color="#111111", gid="table-median")
                ax.text(x, y + 0.25, spread, ha="center", va="center", fontsize=small, color="#555555",
                        gid="table-range")
        if not own:
            st.axes_title(ax, finding)
            return ax
        window = attrs.get("ltv_window_months")
        subtitle = (f"Unit economics per segment: median future (bold) and the range holding "
                    f"{(high - low) * 100:.0f}% of {st.plural_futures(attrs)} (p{low * 100:.0f}–p{high * 100:.0f})")
        caption = ("How to read: CAC = acquisition spend per customer won; LTV = gross margin less cost to serve "
                   f"over {window or 'the'} months at realised churn; payback 'never' = not repaid within that "
                   "window; NRR = revenue kept and grown over 12 months; CS cost as a share of revenue.")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig
