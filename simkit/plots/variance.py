"""Variance split: how much of each band's width is unknown rates vs deal-by-deal luck."""

from __future__ import annotations

import numpy as np

from . import _style as st

__all__ = ["variance_chart", "METRIC_NAMES"]

METRIC_NAMES = {"ltv_cac": "LTV:CAC", "cac": "CAC", "ltv": "LTV", "payback_months": "CAC payback",
                "arr": "ARR at horizon", "nrr": "NRR", "grr": "GRR", "cs_cost_share": "CS cost share"}

PARAMETER_TEXT = "Not knowing the rates (parameter uncertainty)"
PROCESS_TEXT = "Luck of individual deals and churn (process noise)"


def _finding(variance) -> str:
    share = variance["parameter_share"].transpose("metric", "segment").values
    metrics = [str(m) for m in variance["metric"].values]
    segments = [str(s) for s in variance["segment"].values]
    known = ~np.isnan(share)
    if not known.any():
        return "Too few wins to split the uncertainty into its sources"
    param_major = int((share[known] >= 0.5).sum())
    total = int(known.sum())
    i, j = np.unravel_index(np.nanargmin(np.where(known, share, np.inf)), share.shape)
    least = 1 - share[i, j]
    where = f"{st.label(segments[j])} {METRIC_NAMES.get(metrics[i], metrics[i])}"
    if param_major == total:
        return (f"Not knowing the true rates drives most of the spread in every segment and metric "
                f"({param_major} of {total})")
    if param_major == 0:
        return "Deal-by-deal luck, not unknown rates, drives most of the spread everywhere"
    return (f"Unknown rates drive most of the spread in {param_major} of {total} cases; "
            f"{where} is mostly deal-by-deal luck ({st.percent(least)})")


def variance_chart(variance, *, ax=None, metric=None):
    """Stacked horizontal bars per segment and metric: parameter uncertainty vs process noise.

    Parameters
    ----------
    variance : xarray.Dataset
        From :func:`simkit.variance_split` (``parameter_share``, ``process_share``,
        ``parameter_share_std_error`` over metric x segment). Its ``attrs`` feed the
        footnote (add ``draws``, ``seed_entropy``, ``simkit_version`` from the results).
    ax : matplotlib Axes, optional
        Draw one metric (``metric``, default the first) into it and return it.

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    attrs = variance.attrs
    metrics = [str(m) for m in variance["metric"].values]
    segments = [str(s) for s in variance["segment"].values]
    colours = st.segment_colors(segments)
    finding = _finding(variance)
    with st.style():
        if ax is not None:
            chosen = metric or metrics[0]
            _panel(ax, variance, chosen, segments, colours, show_labels=True)
            st.axes_title(ax, f"{METRIC_NAMES.get(chosen, chosen)}: share of the spread from unknown rates")
            return ax
        fig = st.new_figure()
        n = len(metrics)
        cols = n if n <= 4 else -(-n // 2)
        rows = -(-n // cols)
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
        for k, m in enumerate(metrics):
            _panel(axes[k], variance, m, segments, colours, show_labels=(k % cols == 0))
            axes[k].set_title(METRIC_NAMES.get(m, m), fontsize=15)
        for extra in axes[n:]:
            extra.set_visible(False)
        subtitle = ("Where the width of each band comes from, per segment: better data narrows the solid part; "
                    "only more deals narrow the light part")
        caption = ("How to read: a bar that is mostly solid means the range is wide because the inputs are "
                   "uncertain; mostly light means the segment has too few deals for the average to settle. "
                   "Whiskers: bootstrap error of the split.")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs), legend=_legend_handles())
        return fig


def _legend_handles():
    from matplotlib.patches import Patch

    return [Patch(facecolor="#555555", label=PARAMETER_TEXT), Patch(facecolor=st.tint("#555555", 0.25),
                                                                    label=PROCESS_TEXT)]


def _panel(ax, variance, metric, segments, colours, show_labels: bool) -> None:
    y = np.arange(len(segments))[::-1]  # first segment on top
    for yi, seg in zip(y, segments):
        cell = variance.sel(metric=metric, segment=seg)
        share = float(cell["parameter_share"])
        if np.isnan(share):
            ax.barh(yi, 1.0, color=st.NA_COLOR, height=0.62)
            ax.text(0.5, yi, "n/a: too few wins", ha="center", va="center", fontsize=12, color="#777777",
                    gid="variance-label")
            continue
        colour = colours[seg]
        ax.barh(yi, share, color=colour, height=0.62)
        ax.barh(yi, 1 - share, left=share, color=st.tint(colour, 0.25), height=0.62)
        error = float(cell["parameter_share_std_error"]) if "parameter_share_std_error" in cell else np.nan
        if np.isfinite(error) and error > 0:
            ax.errorbar(share, yi, xerr=error, color="#222222", capsize=4, linewidth=1.4, zorder=4)
        if share >= 0.2:
            ax.text(share / 2, yi, st.percent(share), ha="center", va="center", fontsize=14, fontweight="bold",
                    color=st.ink(colour), gid="variance-label")
        else:
            ax.text(1 - 0.02, yi, f"{st.percent(share)} rates", ha="right", va="center", fontsize=12,
                    color=st.shade(colour, 0.3), gid="variance-label")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(segments) - 0.4)
    ax.xaxis.set_major_formatter(st.percent_formatter())
    ax.set_xticks([0, 0.5, 1])
    ax.axvline(0.5, color="#999999", linewidth=1, linestyle=(0, (2, 3)), zorder=3)
    ax.grid(False)
    bottom_up = list(reversed(segments))  # tick labels pair with ascending positions
    ax.set_yticks(np.arange(len(segments)), [st.label(s) for s in bottom_up] if show_labels else [])
    ax.tick_params(axis="y", length=0)
    if show_labels:
        for tick, seg in zip(ax.get_yticklabels(), bottom_up):
            tick.set_color(st.shade(colours[seg], 0.25))
            tick.set_fontweight("bold")
