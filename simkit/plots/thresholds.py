"""Health-threshold heatmap: segment x threshold, the probability written in every cell."""

from __future__ import annotations

import numpy as np

from . import _style as st

__all__ = ["threshold_heatmap", "cell_texts", "heatmap_columns"]

CMAP = "cividis"  # sequential, perceptually uniform, readable with colour-vision deficiency


def heatmap_columns(probabilities) -> list[str]:
    """Thresholds shown: those at least one segment checks, then the joint "all"."""
    keys = [str(k) for k in probabilities["threshold"].values]
    prob = probabilities["probability"].transpose("segment", "threshold").values
    shown = [k for j, k in enumerate(keys) if k != "all" and not np.all(np.isnan(prob[:, j]))]
    if "all" in keys and shown:
        shown.append("all")
    return shown


def _column_header(probabilities, key: str, currency: str) -> tuple[str, bool]:
    """Header text and whether each cell must name its own target (targets differ)."""
    if key == "all":
        return "All\nthresholds", False
    metric = str(probabilities["threshold_metric"].sel(threshold=key).values)
    comparison = str(probabilities["threshold_comparison"].sel(threshold=key).values)
    values = probabilities["threshold_value"].sel(threshold=key).values.astype(float)
    values = np.unique(values[~np.isnan(values)])
    name = st.threshold_name(metric)
    if metric == "cs_cost_per_account":
        name = "CS cost\n/ account"
    elif metric == "cs_cost_share":
        name = "CS cost\n/ revenue"
    if values.size == 1:
        return f"{name}\n{st.comparison_sign(comparison)} {_short_value(metric, values[0], currency)}", False
    return f"{name}\n{st.comparison_sign(comparison)} target", True


def _short_value(metric: str, value: float, currency: str) -> str:
    text = st.threshold_value_text(metric, value, currency)
    return text.replace("/acct/yr", "/yr").replace(" of rev.", "")


def cell_texts(probabilities, segment, key) -> tuple[str, str]:
    """(probability, "±error") written in one cell, exactly as the chart writes them."""
    cell = probabilities.sel(segment=segment, threshold=key)
    p, se = float(cell["probability"]), float(cell["std_error"])
    if np.isnan(p):
        return "n/a", ""
    if p <= 0 or p >= 1:
        draws = probabilities.attrs.get("draws")
        return st.percent(p), (f"{'all' if p >= 1 else '0 of'} {int(draws):,}" if draws else "")
    return st.percent(p), st.plus_minus(se)


def _finding(probabilities, columns) -> str:
    if "all" not in columns:
        return "No segment has health thresholds to check"
    segs = [str(s) for s in probabilities["segment"].values]
    joint = {s: float(probabilities["probability"].sel(segment=s, threshold="all")) for s in segs}
    joint = {s: p for s, p in joint.items() if not np.isnan(p)}
    if not joint:
        return "No segment has health thresholds to check"
    ordered = sorted(joint, key=lambda s: joint[s], reverse=True)
    best = ordered[0]
    if len(ordered) == 1:
        return f"{st.label(best)} clears all its health thresholds together in {st.percent(joint[best])} of futures"
    worst = ordered[-1]
    if joint[best] < 0.5:
        return (f"No segment clears all its health thresholds in most futures: best {st.label(best)} "
                f"{st.percent(joint[best])}, worst {st.label(worst)} {st.percent(joint[worst])}")
    return (f"{st.label(best)} clears all its health thresholds in {st.percent(joint[best])} of futures; "
            f"{st.label(worst)} in {st.percent(joint[worst])}")


def threshold_heatmap(probabilities, *, ax=None, colorbar: bool = True):
    """Heatmap of P(segment clears threshold), the percentage and its MC error in each cell.

    Parameters
    ----------
    probabilities : xarray.Dataset
        From :func:`simkit.threshold_probabilities`.
    ax : matplotlib Axes, optional
    colorbar : bool, default True

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.

    Notes
    -----
    Columns that no segment checks are left out; a cell whose segment does not check that
    threshold is grey and reads "n/a". Each cell's texts are :func:`cell_texts`.
    """
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    attrs = probabilities.attrs
    currency = attrs.get("currency", "USD")
    segments = [str(s) for s in probabilities["segment"].values]
    columns = heatmap_columns(probabilities)
    finding = _finding(probabilities, columns)
    cmap = mpl.colormaps[CMAP]
    norm = mpl.colors.Normalize(0, 1)
    colours = st.segment_colors(segments)
    with st.style():
        own = ax is None
        if own:
            fig = st.new_figure()
            ax = fig.add_subplot()
        n_rows, n_cols = len(segments), len(columns)
        big = 20 if n_cols <= 6 else 18 if n_cols <= 8 else 15
        small = 12 if n_cols <= 6 else 11 if n_cols <= 8 else 9
        headers = []
        for j, key in enumerate(columns):
            header, per_cell = _column_header(probabilities, key, currency)
            headers.append(header)
            for i, seg in enumerate(segments):
                cell = probabilities.sel(segment=seg, threshold=key)
                p = float(cell["probability"])
                y = n_rows - 1 - i
                if np.isnan(p):
                    ax.add_patch(Rectangle((j, y), 1, 1, facecolor=st.NA_COLOR, edgecolor="white", linewidth=3))
                    ax.text(j + 0.5, y + 0.5, "n/a", ha="center", va="center", fontsize=small + 1,
                            color="#888888", gid="cell")
                    continue
                face = cmap(norm(p))
                ax.add_patch(Rectangle((j, y), 1, 1, facecolor=face, edgecolor="white", linewidth=3))
                ink = "white" if _luminance(face) < 0.5 else "#111111"
                main, error = cell_texts(probabilities, seg, key)
                ax.text(j + 0.5, y + 0.62, main, ha="center", va="center", fontsize=big, fontweight="bold",
                        color=ink, gid="cell")
                if per_cell:
                    metric = str(probabilities["threshold_metric"].sel(threshold=key).values)
                    comparison = str(probabilities["threshold_comparison"].sel(threshold=key).values)
                    value = float(cell["threshold_value"])
                    target = f"target {st.comparison_sign(comparison)} {_short_value(metric, value, currency)}"
                    ax.text(j + 0.5, y + 0.36, target, ha="center", va="center", fontsize=small, color=ink,
                            gid="cell-target")
                if error:
                    ax.text(j + 0.5, y + (0.15 if per_cell else 0.3), error, ha="center", va="center",
                            fontsize=small - 1, color=ink, gid="cell-error")
        if "all" in columns:
            ax.axvline(columns.index("all"), color="#333333", linewidth=2.5)
        ax.set_xlim(0, n_cols)
        ax.set_ylim(0, n_rows)
        ax.set_xticks(np.arange(n_cols) + 0.5, headers, fontsize=min(small + 1, 13))
        ax.xaxis.tick_top()
        ax.tick_params(axis="x", length=0, pad=6)
        ax.set_yticks(np.arange(n_rows) + 0.5, [st.label(s) for s in reversed(segments)], fontsize=15)
        for tick, seg in zip(ax.get_yticklabels(), reversed(segments)):
            tick.set_color(st.shade(colours[seg], 0.25))
            tick.set_fontweight("bold")
        st.bare_cell_grid(ax)
        if colorbar and own:
            st.cell_colorbar(fig, ax, norm, cmap, st.percent_formatter(), "share of futures clearing")
        if not own:
            st.axes_title(ax, finding)
            return ax
        subtitle = (f"Probability that each segment clears each health threshold, across "
                    f"{st.plural_futures(attrs)}; last column: all of the segment's thresholds at once")
        caption = ("How to read: 87% means the segment clears that threshold in 87 of every 100 simulated futures; "
                   "± is the Monte Carlo error of that estimate. Grey n/a: the segment does not check it.")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig


def _luminance(rgba) -> float:
    r, g, b = rgba[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
