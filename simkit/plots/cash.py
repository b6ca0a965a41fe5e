"""Cash: a fan of month-end cash and the probability of having run out by each month."""

from __future__ import annotations

from . import _style as st
from .fan import HOW_TO_READ, band_legend_handles, display_months, draw_fan, month_axis

__all__ = ["cash_chart", "cash_finding"]


def cash_finding(cash_out) -> str:
    """The title: how often cash runs out within the horizon."""
    horizon = int(cash_out.sizes["month"])
    p = float(cash_out["by_horizon"])
    pm = st.plus_minus(float(cash_out["by_horizon_std_error"]))
    draws = cash_out.attrs.get("draws")
    if p <= 0:
        every = f"all {int(draws):,}" if draws else "all"
        return f"Cash stays above zero for all {horizon} months in {every} simulated futures"
    if p >= 1:
        return f"Cash runs out within {horizon} months in every simulated future"
    return f"Cash runs out within {horizon} months in {st.percent(p)} of futures" + (f" ({pm})" if pm else "")


def cash_chart(bands, cash_out, *, ax=None):
    """Cash fan chart and P(cash has run out by month m).

    Parameters
    ----------
    bands : xarray.Dataset
        From :func:`simkit.bands` (needs ``cash``).
    cash_out : xarray.Dataset
        From :func:`simkit.report.summaries.cash_out_probability`.
    ax : matplotlib Axes, optional
        Draw only the cash fan into it (the probability is in its title) and return it.

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    attrs = bands.attrs
    currency = attrs.get("currency", "USD")
    finding = cash_finding(cash_out)
    with st.style():
        if ax is not None:
            _fan_panel(ax, bands, currency)
            st.axes_title(ax, finding)
            return ax
        fig = st.new_figure()
        left, right = fig.subplots(1, 2, width_ratios=[1.6, 1])
        _fan_panel(left, bands, currency)
        left.set_title("Cash at month end", fontsize=15)
        _probability_panel(right, cash_out)
        if st.path_futures(attrs) == st.plural_futures(attrs):
            subtitle = (f"Company cash at month end (left) and the share of futures that have run out (right); "
                        f"{st.plural_futures(attrs)}")
        else:  # the fan shows the draws that kept month paths; run-outs count every draw
            subtitle = (f"Company cash at month end (left: {st.path_futures(attrs)}) and the share of all "
                        f"{st.plural_futures(attrs)} that have run out (right)")
        caption = (HOW_TO_READ + " Below zero the simulated company keeps spending: that gap is "
                   "funding it would need to raise.")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig


def _fan_panel(ax, bands, currency: str) -> None:
    cash = bands["cash"]
    draw_fan(ax, cash, st.COMPANY_COLOR)
    ax.margins(x=0)
    low, high = ax.get_ylim()
    if low < 0:
        ax.axhspan(low, 0, color=st.tint(st.FAIL_COLOR, 0.08), zorder=0, linewidth=0)
        ax.text(0.99, 0.02, "out of cash", transform=ax.transAxes, ha="right", va="bottom",
                color=st.FAIL_COLOR, fontsize=12)
        ax.set_ylim(low, high)
    ax.axhline(0, color="#333333", linewidth=1.2, zorder=2)
    ax.yaxis.set_major_formatter(st.money_formatter(currency))
    month_axis(ax, cash["month"].values)
    ax.legend(handles=band_legend_handles(bands["quantile"].values), loc="best", fontsize=12)


def _probability_panel(ax, cash_out) -> None:
    p = cash_out["probability"]
    x = display_months(p["month"].values)
    ax.step(x, p.values, where="post", color=st.FAIL_COLOR, linewidth=2.6)
    ax.fill_between(x, 0, p.values, step="post", color=st.tint(st.FAIL_COLOR, 0.15), linewidth=0)
    ax.set_ylim(0, 1.04)
    ax.margins(x=0)
    ax.yaxis.set_major_formatter(st.percent_formatter())
    month_axis(ax, p["month"].values)
    ax.set_title("Share of futures out of cash", fontsize=15)
    end = float(p.values[-1])
    text = st.probability_text(end, float(cash_out["std_error"].values[-1]))
    ax.annotate(f"{text}\nby month {int(x[-1])}", xy=(x[-1], end), xytext=(-8, 10 if end < 0.8 else -40),
                textcoords="offset points", ha="right", va="bottom", fontsize=14, fontweight="bold",
                color=st.FAIL_COLOR)
