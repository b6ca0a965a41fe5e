"""CAC payback: the probability that a new customer has paid back its CAC by month m."""

from __future__ import annotations

import numpy as np

from . import _style as st
from .ltv_cac import threshold_finding

__all__ = ["payback_chart"]

_KEY = "payback_months_max"


def payback_chart(payback, probabilities, *, ax=None):
    """P(CAC paid back by month m after the win), one line per segment, target month marked.

    Parameters
    ----------
    payback : xarray.Dataset
        From :func:`simkit.report.summaries.payback_probability`.
    probabilities : xarray.Dataset
        From :func:`simkit.threshold_probabilities`: the percentages written at each
        target month (and in the title) are its ``probability``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    attrs = payback.attrs
    segments = [str(s) for s in payback["segment"].values]
    colours = st.segment_colors(segments)
    has_key = _KEY in list(probabilities["threshold"].values)
    finding = (threshold_finding(probabilities, _KEY, "pays back CAC within {label}", value_only=True)
               if has_key else "CAC payback by segment")
    window = int(attrs.get("ltv_window_months", payback["months_since_win"].values[-1]))
    with st.style():
        own = ax is None
        if own:
            fig = st.new_figure()
            ax = fig.add_subplot()
        x = payback["months_since_win"].values
        settled = 0.0  # layout only: the month after which every curve is flat (within 0.5 points)
        labels = []
        for seg in segments:
            curve = payback["probability"].sel(segment=seg).values
            colour = colours[seg]
            ax.step(x, curve, where="post", color=colour, linewidth=2.8, label=st.label(seg), zorder=3)
            moving = np.flatnonzero(np.abs(curve[-1] - curve) > 0.005)
            if moving.size:
                settled = max(settled, float(x[min(moving[-1] + 1, x.size - 1)]))
            target = float(payback["threshold"].sel(segment=seg))
            if has_key and not np.isnan(target):
                cell = probabilities.sel(segment=seg, threshold=_KEY)
                p = float(cell["probability"])
                ax.axvline(target, color=colour, linewidth=1.4, linestyle=(0, (4, 3)), zorder=2)
                ax.plot([target], [p], marker="o", markersize=9, color=colour, markeredgecolor="white",
                        markeredgewidth=1.5, zorder=4)
                labels.append((target, p, seg, colour))
        targets = [t for t, *_ in labels]
        right = min(float(window), max([settled, *targets, 6.0]) + 4)
        ax.set_xlim(0, right)
        ax.set_ylim(0, 1.06)
        ax.yaxis.set_major_formatter(st.percent_formatter())
        ax.set_xlabel("Months since the customer was won")
        ax.set_ylabel("share of futures paid back")
        _label_targets(ax, labels, right)
        _legend(ax, payback, segments, window)
        if not own:
            st.axes_title(ax, finding)
            return ax
        subtitle = (f"Share of simulated futures in which a new customer's gross margin has repaid its CAC, "
                    f"by months since the win ({st.plural_futures(attrs)})")
        caption = ("How to read: a curve that rises early pays back fast; the dot on each dashed line is the share "
                   f"paid back by that segment's target month. A curve that stays below 100% never pays back "
                   f"within the {window}-month LTV window in the rest of the futures.")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig


def _label_targets(ax, labels, right) -> None:
    """Text next to each target dot; spread vertically when dots are close, and to the
    left of the dot near the right edge."""
    used: list[tuple[float, float]] = []
    for target, p, seg, colour in sorted(labels, key=lambda r: (r[0], r[1])):
        low = p < 0.15  # near the axis: write the label above the dot
        dy = 26 if low else -26
        for t, y in used:
            if abs(t - target) < 3 and abs(y - p) < 0.12:
                dy += 22 if low else -22
        used.append((target, p))
        near_edge = target > 0.75 * right
        ax.annotate(f"{st.percent(p)} by {st.months(target)}", xy=(target, p), xytext=(-7 if near_edge else 7, dy),
                    textcoords="offset points", ha="right" if near_edge else "left", va="center", fontsize=13,
                    fontweight="bold", color=st.shade(colour, 0.25), zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})


def _legend(ax, payback, segments, window) -> None:
    """Segment names, and how often each never pays back within the LTV window."""
    handles, texts = ax.get_legend_handles_labels()
    names = []
    for seg in segments:
        never = float(payback["never"].sel(segment=seg))
        text = st.label(seg)
        if never > 0:
            text += f" (never within {window} mo: {st.percent(never)})"
        names.append(text)
    legend = ax.legend(handles[: len(segments)], names, loc="lower right", fontsize=13, frameon=True,
                       facecolor="white", edgecolor="none", framealpha=0.95)
    legend.set_zorder(6)
