"""Shared look of every simkit chart: style file, colours, labels, number formats, frame.

One colour per segment, by the segment's position in the scenario, on every chart; money
as $K / $M (built on :func:`simkit.economics.format_money`); probabilities as whole
percentages with their Monte Carlo error; a finding as the title, what is shown as the
subtitle, how to read it as the caption and where the numbers came from as the footnote.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import re
import textwrap
from importlib import resources

from ..economics import format_money

#: Petroff (2021) ten colours: colour-blind-safe; matplotlib's ``petroff10`` sequence.
PETROFF10 = ("#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
             "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd")
#: Okabe-Ito, the fallback for matplotlib versions without petroff10.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: The company as a whole (total ARR, cash): a near-black blue, never a segment colour.
COMPANY_COLOR = "#1b2a41"
TEXT_COLOR = "#222222"
MUTED_COLOR = "#666666"
NA_COLOR = "#e6e6e6"
FAIL_COLOR = "#bd1f01"

TITLE_SIZE = 21
SUBTITLE_SIZE = 15
CAPTION_SIZE = 12
FOOTNOTE_SIZE = 10

_ACRONYMS = {"smb": "SMB", "emea": "EMEA", "apac": "APAC", "na": "NA", "latam": "LATAM", "us": "US",
             "uk": "UK", "eu": "EU", "plg": "PLG", "abm": "ABM", "cs": "CS", "arr": "ARR", "ipo": "IPO",
             "pmf": "PMF", "csm": "CSM", "gtm": "GTM"}
_SPECIAL = {"mid_market": "Mid-market", "pre_pmf": "Pre-PMF"}


def style_path() -> str:
    """Path of the packaged ``simkit.mplstyle``."""
    return str(resources.files("simkit.plots").joinpath("simkit.mplstyle"))


@contextlib.contextmanager
def style():
    """``plt.style.context`` with the simkit board style (and a fixed SVG hash salt)."""
    import matplotlib.pyplot as plt

    with plt.style.context(style_path()):
        with plt.rc_context({"svg.hashsalt": "simkit"}):
            yield


def palette() -> tuple[str, ...]:
    """The categorical colours: matplotlib's petroff10 if it has it, else Okabe-Ito."""
    import matplotlib
    from matplotlib import colors

    sequences = getattr(matplotlib, "color_sequences", {})
    if "petroff10" in sequences:
        return tuple(colors.to_hex(c) for c in sequences["petroff10"])
    return OKABE_ITO


def segment_colors(segments) -> dict[str, str]:
    """Segment name -> colour, by position in the scenario's segment order (wraps after 10)."""
    colours = palette()
    return {str(s): colours[i % len(colours)] for i, s in enumerate(segments)}


def tint(color, amount: float) -> tuple[float, float, float]:
    """``color`` mixed with white: 1 = the colour, 0 = white (opaque, unlike alpha)."""
    from matplotlib import colors

    r, g, b = colors.to_rgb(color)
    return (1 - amount * (1 - r), 1 - amount * (1 - g), 1 - amount * (1 - b))


def shade(color, amount: float) -> tuple[float, float, float]:
    """``color`` mixed with black: 0 = the colour, 1 = black."""
    from matplotlib import colors

    r, g, b = colors.to_rgb(color)
    return (r * (1 - amount), g * (1 - amount), b * (1 - amount))


def label(name) -> str:
    """A segment or stage identifier as a person writes it: ``mid_market`` -> "Mid-market"."""
    name = str(name)
    if name in _SPECIAL:
        return _SPECIAL[name]
    words = name.replace("-", "_").split("_")
    out = [_ACRONYMS.get(w.lower(), w) for w in words if w]
    if out and out[0] == words[0]:
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


# --- numbers -------------------------------------------------------------------------------

def money_short(amount, currency: str = "USD") -> str:
    """Money for titles, ticks and ranges: format_money with two or three significant
    figures: $10M rather than $10.0M, $78M rather than $78.1M, but $4.3M and $950."""
    text = format_money(amount, currency, infinite="∞")
    match = re.search(r"(\d+)\.(\d)([KM])$", text)
    if match and (len(match.group(1)) >= 2 or match.group(2) == "0"):
        text = text[: match.start()] + f"{round(float(match.group(1) + '.' + match.group(2))):d}{match.group(3)}"
    return text


def money_formatter(currency: str = "USD"):
    """A matplotlib tick formatter built on format_money ($250K, $1.5M, $10M)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: "$0" if value == 0 and currency == "USD"
                         else money_short(value, currency))


def percent_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: f"{value * 100:.0f}%")


def percent(p) -> str:
    """A probability as a board reads it: "87%", "<1%" / ">99%" when rounding would lie."""
    p = float(p)
    if math.isnan(p):
        return "n/a"
    if p <= 0:
        return "0%"
    if p >= 1:
        return "100%"
    if p < 0.005:
        return "<1%"
    if p >= 0.995:
        return ">99%"
    return f"{p * 100:.0f}%"


def plus_minus(std_error) -> str:
    """A Monte Carlo standard error: "±1%", "±0.4%"; "" when it is zero or unknown."""
    se = float(std_error)
    if math.isnan(se) or se <= 0:
        return ""
    if se * 100 < 0.95:
        return f"±{max(se * 100, 0.1):.1f}%"
    return f"±{se * 100:.0f}%"


def probability_text(p, std_error) -> str:
    """"87% ±1%" (or just "100%" when every future agrees)."""
    pm = plus_minus(std_error)
    return f"{percent(p)} {pm}".strip()


def ratio(value) -> str:
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞"
    return f"{value:.1f}×" if value < 100 else f"{value:,.0f}×"


def months(value, window=None) -> str:
    """Whole months; "never" (beyond the window) for +inf / NaN meaning not reached."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return f"not within {int(window)} mo" if window else "never"
    return f"{value:.0f}\u00a0mo"


def share(value) -> str:
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞"
    return f"{value * 100:.0f}%" if abs(value) >= 0.01 or value == 0 else f"{value * 100:.1f}%"


def number(value) -> str:
    value = float(value)
    if math.isnan(value):
        return "n/a"
    return f"{value:g}"


_THRESHOLD_NAMES = {
    "ltv_cac": "LTV:CAC",
    "payback_months": "Payback",
    "cac": "CAC",
    "annual_churn": "Churn",
    "annual_expansion": "Expansion",
    "nrr": "NRR",
    "grr": "GRR",
    "cs_cost_share": "CS cost",
    "cs_cost_per_account": "CS cost",
}


def threshold_value_text(metric: str, value: float, currency: str = "USD") -> str:
    """The threshold's number in the metric's own units: 3, 12 mo, $500, 25%/yr."""
    if metric == "ltv_cac":
        return number(value)
    if metric == "payback_months":
        return f"{number(value)}\u00a0mo"
    if metric == "cac":
        return money_short(value, currency)
    if metric in ("annual_churn", "annual_expansion"):
        return f"{value * 100:g}%/yr"
    if metric in ("nrr", "grr"):
        return f"{value * 100:g}%"
    if metric == "cs_cost_share":
        return f"{value * 100:g}% of rev."
    if metric == "cs_cost_per_account":
        return f"{money_short(value, currency)}/acct/yr"
    return number(value)


def threshold_name(metric: str) -> str:
    """"LTV:CAC", "Payback", ...; "All thresholds" for the joint column."""
    if metric == "all":
        return "All thresholds"
    return _THRESHOLD_NAMES.get(metric, label(metric))


def threshold_label(metric: str, comparison: str, value: float | None = None, currency: str = "USD") -> str:
    """"LTV:CAC ≥ 3", "Payback ≤ 12 mo", "CAC ≤ $500"; without a value: "LTV:CAC ≥ target"."""
    if metric == "all":
        return "All thresholds"
    sign = "≥" if comparison == ">=" else "≤"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{threshold_name(metric)} {sign} target"
    return f"{threshold_name(metric)} {sign} {threshold_value_text(metric, value, currency)}"


def comparison_sign(comparison: str) -> str:
    return "≥" if comparison == ">=" else "≤"


# --- words ----------------------------------------------------------------------------------

def plural_futures(attrs) -> str:
    draws = attrs.get("draws")
    return f"{int(draws):,} simulated futures" if draws is not None else "the simulated futures"


def path_futures(attrs) -> str:
    """The futures a month-by-month chart shows: every one, or the first ones that kept
    their month paths (a large run keeps paths for its first draws only)."""
    draws, kept = attrs.get("draws"), attrs.get("paths_kept_draws")
    if draws is not None and kept is not None and 0 < int(kept) < int(draws):
        return f"the first {int(kept):,} of {int(draws):,} simulated futures, whose month-by-month paths are kept"
    return plural_futures(attrs)


def footnote(attrs) -> str:
    """Scenario, draws, seed and simkit version: where the numbers came from."""
    parts = []
    if attrs.get("scenario_name"):
        parts.append(f"Scenario: {attrs['scenario_name']}")
    if attrs.get("draws") is not None:
        parts.append(f"{int(attrs['draws']):,} draws")
    if attrs.get("outer_draws") is not None and attrs.get("replicates") is not None:
        parts.append(f"variance split: {int(attrs['outer_draws']):,} parameter draws × "
                     f"{int(attrs['replicates'])} process replicates")
    if attrs.get("seed_entropy") is not None:
        parts.append(f"seed {attrs['seed_entropy']}")
    if attrs.get("horizon_months") is not None:
        parts.append(f"horizon {int(attrs['horizon_months'])} months")
    if attrs.get("simkit_version"):
        parts.append(f"simkit {attrs['simkit_version']}")
    return "  ·  ".join(parts)


def join_words(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --- frame ----------------------------------------------------------------------------------

def wrap(text: str, fontsize: float, width_in: float = 12.4, bold: bool = False) -> list[str]:
    """Lines of ``text`` that fit ``width_in`` inches at ``fontsize`` points (DejaVu Sans)."""
    if not text:
        return []
    chars = max(20, int(width_in * 72 / ((0.62 if bold else 0.56) * fontsize)))
    return textwrap.wrap(text, chars, break_on_hyphens=False) or [text]


_DETACHED = contextvars.ContextVar("simkit_detached_figures", default=False)


@contextlib.contextmanager
def detached():
    """Inside, charts are plain Agg figures that pyplot never sees: no GUI backend, no
    display, nothing for pyplot to keep alive (the report renders this way)."""
    token = _DETACHED.set(True)
    try:
        yield
    finally:
        _DETACHED.reset(token)


def new_figure(layout: str | None = "constrained", **kwargs):
    """A 16:9 figure (constrained layout by default); call :func:`frame` once drawn.

    A pyplot figure, so it shows in notebooks and GUIs; inside :func:`detached`, an
    Agg-canvas Figure that pyplot does not manage.
    """
    if _DETACHED.get():
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(layout=layout, **kwargs)
        FigureCanvasAgg(fig)
        return fig
    import matplotlib.pyplot as plt

    return plt.figure(layout=layout, **kwargs)


def frame(fig, title: str, subtitle: str = "", caption: str = "", note: str = "", legend=None) -> None:
    """Finding as the title, then subtitle; caption and footnote at the bottom.

    Reserves room for them in the constrained layout (rect), so nothing overlaps.
    ``legend``: handles for one figure-wide legend row under the subtitle.
    """
    fig.set_label(title)  # the finding travels with the figure (alt text in the HTML report)
    width_in, height_in = fig.get_size_inches()
    usable = width_in - 0.7
    lines_title = wrap(title, TITLE_SIZE, usable, bold=True)
    lines_sub = wrap(subtitle, SUBTITLE_SIZE, usable)
    lines_cap = wrap(caption, CAPTION_SIZE, usable)
    pt = 1 / 72 / height_in  # one point as a fraction of the figure height
    y = 1 - 18 * pt
    for line in lines_title:
        fig.text(0.025, y, line, fontsize=TITLE_SIZE, fontweight="bold", color=TEXT_COLOR, va="top", ha="left")
        y -= TITLE_SIZE * 1.3 * pt
    y -= 4 * pt
    for line in lines_sub:
        fig.text(0.025, y, line, fontsize=SUBTITLE_SIZE, color=MUTED_COLOR, va="top", ha="left")
        y -= SUBTITLE_SIZE * 1.3 * pt
    if legend:
        y -= 4 * pt
        box = fig.legend(handles=legend, loc="upper left", bbox_to_anchor=(0.02, y), ncol=len(legend),
                         frameon=False, fontsize=13, handlelength=1.6, borderaxespad=0, columnspacing=2.0)
        box.set_in_layout(False)
        y -= 28 * pt
    top = y - 10 * pt
    yb = 10 * pt
    if note:
        fig.text(0.025, yb, note, fontsize=FOOTNOTE_SIZE, color="#888888", va="bottom", ha="left")
        yb += FOOTNOTE_SIZE * 1.6 * pt
    for line in reversed(lines_cap):
        fig.text(0.025, yb, line, fontsize=CAPTION_SIZE, color="#444444", va="bottom", ha="left",
                 fontstyle="italic")
        yb += CAPTION_SIZE * 1.3 * pt
    bottom = yb + 6 * pt
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0.012, bottom, 0.976, top - bottom), h_pad=0.1, w_pad=0.1)


def freeze_layout(fig, decimals: int = 6) -> None:
    """Run the layout engine once, round every Axes position and switch the engine off.

    Constrained layout's solver can differ in the last bit of a float from one run to the
    next (its internal ordering follows memory addresses); SVG clip-path ids hash those
    floats. Rounded, frozen positions make every later save byte-identical, and faster.
    """
    if fig.get_layout_engine() is None:
        return
    fig.draw_without_rendering()
    positions = [(ax, ax.get_position().bounds) for ax in fig.axes]
    fig.set_layout_engine("none")
    for ax, bounds in positions:
        ax.set_position([round(float(v), decimals) for v in bounds])


def axes_title(ax, title: str, **kwargs) -> None:
    """A finding as an Axes title (when the chart is drawn into someone else's Axes)."""
    size = kwargs.pop("fontsize", 14)
    try:
        width_in = ax.get_position().width * ax.figure.get_size_inches()[0]
    except Exception:  # pragma: no cover - an Axes without a figure size
        width_in = 6.0
    ax.set_title("\n".join(wrap(title, size, max(width_in, 3.0), bold=True)), fontsize=size, loc="left",
                 **kwargs)


def ink(color) -> str:
    """White or near-black text, whichever reads on ``color``."""
    from matplotlib import colors

    r, g, b = colors.to_rgb(color)
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.55 else "#111111"


def bare_cell_grid(ax) -> None:
    """A heatmap's axes: no ticks marks, grid or frame; the cells carry the reading."""
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)


def cell_colorbar(fig, ax, norm, cmap, formatter, label: str):
    """The slim, frameless colour bar every heatmap page uses."""
    import matplotlib as mpl

    bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.025, pad=0.02)
    bar.outline.set_visible(False)
    bar.ax.yaxis.set_major_formatter(formatter)
    bar.ax.tick_params(labelsize=11)
    bar.set_label(label, fontsize=12)
    return bar
