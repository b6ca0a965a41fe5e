"""Stage timeline: the probability that the company has reached each stage by month m."""

from __future__ import annotations

import numpy as np

from . import _style as st
from .fan import display_months, month_axis

__all__ = ["stage_timeline", "stage_finding"]


def _stage_name(name, floor, currency) -> str:
    return f"{st.label(name)} ({st.money_short(floor, currency)} ARR)"


def stage_finding(stages) -> str:
    """Title: the next stage's chance and timing (and the furthest one reached at all)."""
    currency = stages.attrs.get("currency", "USD")
    horizon = int(stages.sizes["month"])
    names = [str(s) for s in stages["stage_name"].values]
    ahead = [k for k, s in enumerate(names) if not bool(stages["at_start"].values[k])]
    if not ahead:
        return f"The company starts in its top stage ({st.label(names[-1])})"
    first = ahead[0]
    floor = float(stages["stage_arr_from"].values[first])
    p = float(stages["by_horizon"].values[first])
    median = float(stages["median_month"].values[first])
    name = _stage_name(names[first], floor, currency)
    if p <= 0:
        return f"The company does not reach {name} within {horizon} months in any simulated future"
    text = f"Reaches {name} within {horizon} months in {st.percent(p)} of futures"
    if np.isfinite(median):
        text += f", half of them by month {median + 1:.0f}"
    later = [k for k in ahead[1:] if float(stages["by_horizon"].values[k]) > 0]
    if later:
        k = later[-1]
        text += f"; {st.label(names[k])} in {st.percent(float(stages['by_horizon'].values[k]))}"
    return text


def stage_timeline(stages, *, ax=None):
    """P(company has reached each stage by month m), one step line per stage not already reached.

    Parameters
    ----------
    stages : xarray.Dataset
        From :func:`simkit.report.summaries.stage_probability`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    attrs = stages.attrs
    currency = attrs.get("currency", "USD")
    names = [str(s) for s in stages["stage_name"].values]
    at_start = stages["at_start"].values.astype(bool)
    ahead = [k for k in range(len(names)) if not at_start[k]]
    start = [names[k] for k in range(len(names)) if at_start[k]]
    finding = stage_finding(stages)
    x = display_months(stages["month"].values)
    inks = ("#1b2a41", "#4a6a94", "#7d8fa9", "#2f4f4f")
    dashes = ("-", (0, (6, 3)), (0, (2, 2)), (0, (8, 3, 2, 3)))
    with st.style():
        own = ax is None
        if own:
            fig = st.new_figure()
            ax = fig.add_subplot()
        drawn = [k for k in ahead if float(stages["by_horizon"].values[k]) > 0]
        ends: list[float] = []
        for order, k in enumerate(drawn):
            colour = inks[order % len(inks)]
            curve = stages["probability"].values[k]
            ax.step(x, curve, where="post", color=colour, linewidth=3, linestyle=dashes[order % len(dashes)],
                    zorder=3)
            floor = float(stages["stage_arr_from"].values[k])
            p = float(stages["by_horizon"].values[k])
            text = f"{_stage_name(names[k], floor, currency)}: {st.percent(p)} by month {int(x[-1])}"
            style = {"fontsize": 14, "fontweight": "bold", "color": colour, "zorder": 5,
                     "textcoords": "offset points"}
            # Label placement only: each stage is named where its (rising) line crosses its
            # own height, earlier stages higher, on the side of the line that is empty:
            # above-left of the crossing, or below-right of it near the left edge.
            level = 0.5 if len(drawn) == 1 else 0.7 - 0.4 * order / (len(drawn) - 1)
            crossing = np.flatnonzero(curve >= level)
            if crossing.size:
                at = x[crossing[0]]
                if (at - x[0]) < 0.4 * (x[-1] - x[0]):
                    ax.annotate(text, xy=(at, level), xytext=(10, -4), ha="left", va="top", **style)
                else:
                    ax.annotate(text, xy=(at, level), xytext=(-10, 4), ha="right", va="bottom", **style)
            else:  # never reaches that height: name it at its end, above any other end label
                y = float(curve[-1])
                for other in sorted(ends):
                    if abs(y - other) < 0.07:
                        y = other + 0.07
                ends.append(y)
                ax.annotate(text, xy=(x[-1], y), xytext=(-6, 6), ha="right", va="bottom", **style)
        ax.set_ylim(0, 1.1)
        ax.yaxis.set_major_formatter(st.percent_formatter())
        ax.set_ylabel("share of futures that have reached it")
        month_axis(ax, stages["month"].values)
        if not ahead:
            ax.text(0.5, 0.5, "Already in the top stage at the start", transform=ax.transAxes, ha="center",
                    va="center", fontsize=16, color=st.MUTED_COLOR)
        if not own:
            st.axes_title(ax, finding)
            return ax
        start_text = f" (starting stage: {st.label(start[-1])})" if start else ""
        never = [_stage_name(names[k], float(stages["stage_arr_from"].values[k]), currency)
                 for k in ahead if float(stages["by_horizon"].values[k]) <= 0]
        subtitle = (f"Share of {st.plural_futures(attrs)} in which company ARR has reached each stage's threshold, "
                    f"by month{start_text}")
        caption = ("How to read: a line that rises steeply means the futures agree on timing; one "
                   "that levels off below 100% leaves some futures short of that stage at the horizon. Each draw "
                   "switches to the stage's allocation the month after it crosses."
                   + (f" Not reached in any future: {st.join_words(never)}." if never else ""))
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig
