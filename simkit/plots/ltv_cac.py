"""LTV:CAC distribution per segment, its threshold and P(LTV:CAC >= threshold)."""

from __future__ import annotations

import numpy as np

from . import _style as st

__all__ = ["ltv_cac_distribution", "threshold_finding"]

_KEY = "ltv_cac_min"


def _probability(probabilities, segment, key):
    if key not in list(probabilities["threshold"].values):
        return np.nan, np.nan, np.nan
    cell = probabilities.sel(segment=segment, threshold=key)
    return float(cell["probability"]), float(cell["std_error"]), float(cell["threshold_value"])


def threshold_finding(probabilities, key: str, what: str, *, value_only: bool = False) -> str:
    """A title naming the weakest segment on one threshold, e.g.
    "SMB clears LTV:CAC ≥ 5 in only 33% of futures; Mid-market 100%, Enterprise 97%".

    ``what`` is the verb phrase, with ``{label}`` for the threshold label
    (e.g. "clears {label}"); with ``value_only`` the label is just the value ("12 mo").
    """
    currency = probabilities.attrs.get("currency", "USD")
    rows = []
    for seg in probabilities["segment"].values:
        p, _, value = _probability(probabilities, seg, key)
        if not np.isnan(p):
            metric = str(probabilities["threshold_metric"].sel(threshold=key).values)
            comparison = str(probabilities["threshold_comparison"].sel(threshold=key).values)
            lab = (st.threshold_value_text(metric, value, currency) if value_only
                   else st.threshold_label(metric, comparison, value, currency))
            rows.append((p, str(seg), lab))
    if not rows:
        return f"No segment has a {st.threshold_name(key.rsplit('_', 1)[0])} threshold set"
    draws = probabilities.attrs.get("draws")
    none = f"none of the {int(draws):,} simulated futures" if draws else "no simulated future"
    if len(rows) == 1:
        p, seg, lab = rows[0]
        where = none if p <= 0 else f"{st.percent(p)} of simulated futures"
        return f"{st.label(seg)} {what.format(label=lab)} in {where}"
    rows.sort(key=lambda r: r[0])
    p, seg, lab = rows[0]
    if p <= 0:
        return f"{st.label(seg)} {what.format(label=lab)} in {none}; {others_text(rows[1:])}"
    others = others_text(rows[1:])
    if p >= 0.9:
        return (f"Every segment {what.format(label='its target')} in at least {st.percent(p)} of futures "
                f"(lowest: {st.label(seg)})")
    only = "only " if p < 0.5 else ""
    return f"{st.label(seg)} {what.format(label=lab)} in {only}{st.percent(p)} of futures; {others}"


def others_text(rows) -> str:
    return ", ".join(f"{st.label(s)} {st.percent(q)}" for q, s, _ in rows)


def _bins(samples: np.ndarray, threshold: float, count: int = 36) -> tuple[np.ndarray, float]:
    """Bin edges from 0 to an upper display limit, with the threshold on an edge."""
    finite = samples[np.isfinite(samples)]
    top = float(np.percentile(finite, 99)) if finite.size else 1.0
    if not np.isnan(threshold):
        top = max(top, 1.6 * threshold)
    top = max(top, 1e-9)
    width = top / count
    low = min(0.0, float(finite.min()) if finite.size else 0.0)
    if np.isnan(threshold):
        edges = low + width * np.arange(int(np.ceil((top - low) / width)) + 1)
    else:
        below = int(np.ceil((threshold - low) / width))
        above = int(np.ceil((top - threshold) / width))
        edges = threshold + width * np.arange(-below, above + 1)
    return edges, width


def _panel(ax, samples, segment, color, probabilities, currency, show_ylabel=True):
    p, se, threshold = _probability(probabilities, segment, _KEY)
    samples = np.asarray(samples, dtype=float)
    n = samples.size
    edges, width = _bins(samples, threshold)
    # Everything beyond the last edge is counted in the last bin and labelled so: no
    # future is dropped from the picture.
    shown = np.clip(np.where(np.isnan(samples), edges[0], samples), edges[0], edges[-1])
    counts, _ = np.histogram(shown, bins=edges)
    heights = counts / n if n else counts.astype(float)
    lefts = edges[:-1]
    passing = lefts >= threshold if not np.isnan(threshold) else np.ones(lefts.size, bool)
    ax.bar(lefts[passing], heights[passing], width=width, align="edge", color=color, linewidth=0)
    ax.bar(lefts[~passing], heights[~passing], width=width, align="edge", color=st.tint(color, 0.35),
           linewidth=0)
    beyond = np.isfinite(samples) & (samples > edges[-1])
    if beyond.any():
        ax.text(0.97, 0.62, f"last bar includes\nall above {edges[-2]:.3g}", transform=ax.transAxes, ha="right",
                va="top", fontsize=11, color=st.MUTED_COLOR)
    if n and np.all(samples == 0):
        ax.text(0.5, 0.45, "no customer won\nin any future", transform=ax.transAxes, ha="center", va="center",
                fontsize=13, color=st.MUTED_COLOR)
    ax.set_xlim(edges[0], edges[-1])
    top = max(heights.max() if heights.size else 0, 1e-3) * 1.45
    ax.set_ylim(0, top)
    ax.set_yticks([t for t in ax.get_yticks() if -1e-9 <= t <= min(top, 1.0) + 1e-9])
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(st.percent_formatter())
    ax.set_xlabel("LTV:CAC")
    if show_ylabel:
        ax.set_ylabel("share of futures")
    if np.isnan(threshold):
        ax.text(0.98, 0.95, "no LTV:CAC threshold set", transform=ax.transAxes, ha="right", va="top",
                fontsize=13, color=st.MUTED_COLOR)
        return None
    ax.axvline(threshold, color=st.TEXT_COLOR, linewidth=1.6, linestyle=(0, (4, 3)), zorder=3)
    text = f"P(≥ {st.number(threshold)}) = {st.percent(p)}"
    pm = st.plus_minus(se)
    # On the side of the axes away from the target line, so the two never collide.
    left_side = (threshold - edges[0]) > 0.5 * (edges[-1] - edges[0])
    annotation = ax.text(0.03 if left_side else 0.97, 0.97, text + (f" {pm}" if pm else ""),
                         transform=ax.transAxes, ha="left" if left_side else "right", va="top", fontsize=15,
                         fontweight="bold", color=st.shade(color, 0.3), gid="probability")
    return annotation


def ltv_cac_distribution(results, probabilities, *, ax=None, segment=None):
    """Histogram of LTV:CAC across simulated futures, per segment, with its threshold.

    Parameters
    ----------
    results : xarray.Dataset
        The simulated draws (``ltv_cac`` over draw x segment) from :func:`simkit.simulate`.
    probabilities : xarray.Dataset
        From :func:`simkit.threshold_probabilities`; the annotated P(LTV:CAC >= target)
        is its ``probability`` (never recomputed here).
    ax : matplotlib Axes, optional
        Draw one segment (``segment``, default the first) into it and return it.
    segment : str, optional
        Which segment to draw when ``ax`` is given.

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    attrs = results.attrs
    currency = attrs.get("currency", "USD")
    segments = [str(s) for s in results["segment"].values]
    colours = st.segment_colors(segments)
    data = results["ltv_cac"].transpose("draw", "segment")
    with st.style():
        if ax is not None:
            seg = segment or segments[0]
            _panel(ax, data.sel(segment=seg).values, seg, colours[seg], probabilities, currency)
            p, _, value = _probability(probabilities, seg, _KEY)
            title = (f"{st.label(seg)} clears LTV:CAC ≥ {st.number(value)} in {st.percent(p)} of futures"
                     if not np.isnan(p) else f"{st.label(seg)}: LTV:CAC")
            st.axes_title(ax, title)
            return ax
        fig = st.new_figure()
        n = len(segments)
        rows = 1 if n <= 3 else 2 if n <= 8 else -(-n // 4)
        cols = -(-n // rows)
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
        for i, seg in enumerate(segments):
            _panel(axes[i], data.sel(segment=seg).values, seg, colours[seg], probabilities, currency,
                   show_ylabel=(i % cols == 0))
            axes[i].set_title(st.label(seg), color=st.shade(colours[seg], 0.25))
        for extra in axes[n:]:
            extra.set_visible(False)
        finding = threshold_finding(probabilities, _KEY, "clears {label}")
        subtitle = (f"Lifetime value / acquisition cost per segment across {st.plural_futures(attrs)}; "
                    f"dark bars clear the target, light bars fall short")
        caption = ("How to read: each bar is the share of futures with that LTV:CAC; the dashed line is the "
                   "segment's target and P is the share of futures at or above it (± Monte Carlo error).")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig
