"""Analysis pages: what drives each outcome, what breaks it, and which plan wins.

* :func:`tornado`: per segment, the inputs that move LTV:CAC (or another output) most,
  from :func:`simkit.sensitivity` (Spearman rank correlation, signed);
* :func:`arr_drivers`: which inputs drive company ARR, month by month;
* :func:`stress_impact`: P(threshold) under each stress against the baseline, from
  :func:`simkit.stress` (common random numbers, paired errors);
* :func:`plan_comparison`: P(plan B beats plan A) and the paired differences, from
  :func:`simkit.compare`;
* :func:`frontier_chart`: P(threshold) over a grid of two shocks, from
  :func:`simkit.frontier`, with the target-probability boundary drawn;
* :func:`analysis_figures`: all of the above that the given results allow, as
  ``(name, Figure)`` pairs for ``write_board_pack(..., extra_figures=...)``.

Like every simkit chart, each takes the analysis Dataset as it is returned, never
recomputes a statistic, titles itself with the finding and returns a Figure (or draws its
main panel into a given ``ax``).
"""

from __future__ import annotations

import math

import numpy as np

from . import _style as st
from .variance import METRIC_NAMES

__all__ = [
    "analysis_figures",
    "arr_drivers",
    "frontier_chart",
    "input_label",
    "relative_label",
    "plan_comparison",
    "stress_impact",
    "stress_label",
    "tornado",
]

# --- words -----------------------------------------------------------------------------------

_FIELD_LABELS = {
    "acv": "ACV",
    "starting_acv": "starting ACV",
    "gross_margin": "gross margin",
    "annual_churn": "annual churn",
    "monthly_churn": "monthly churn",
    "annual_expansion": "annual expansion",
    "monthly_expansion": "monthly expansion",
    "cost_to_serve_per_year": "cost to serve",
    "starting_customers": "starting customers",
    "cost_per_lead": "cost per lead",
    "conversion": "conversion",
    "sales_cost_per_won": "sales cost per deal",
    "sales_cycle_months": "sales cycle",
    "cost_per_head_per_year": "cost per head",
    "accounts_per_csm": "accounts per CSM",
    "csm_cost_per_year": "CSM cost",
    "tooling_cost_per_account_per_year": "tooling cost per account",
    "uncovered_churn_multiplier": "churn multiplier when uncovered",
    "starting_cash": "starting cash",
    "fixed_opex_per_month": "fixed opex",
    "budget_per_month": "budget",
    "headcount": "headcount",
    "csms": "CSMs",
}
_OWNER_KIND = {"segments": "segment", "motions": "motion", "touch_models": "touch model"}


def _field(name: str) -> str:
    return _FIELD_LABELS.get(name, name.replace("_", " "))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _owner(kind: str, name: str) -> str | None:
    """The owner's label, or None for a wildcard (every owner of that kind)."""
    return None if "*" in name else st.label(name)


def input_label(path) -> str:
    """A dotted input path as a board member reads it.

    ``segments.enterprise.annual_churn`` -> "Enterprise annual churn";
    ``motions.field_sales.conversion`` -> "Field sales conversion";
    ``stages.scaling.allocation.budget_per_month.field_sales`` -> "Field sales budget
    (Scaling stage)"; ``segments.*.annual_churn`` -> "Annual churn (every segment)".
    """
    path = str(path)
    parts = path.split(".")
    suffix = ""
    if parts[0] == "stages" and len(parts) >= 5 and parts[2] == "allocation":
        stage = "every stage" if "*" in parts[1] else f"{st.label(parts[1])} stage"
        suffix = f" ({stage})"
        parts = parts[2:]
    if parts[0] == "allocation" and len(parts) == 3:
        owner = _owner("allocation", parts[2])
        field = _field(parts[1])
        if owner is None:
            return _capital(field) + f" (every {'segment' if parts[1] == 'csms' else 'motion'})" + suffix
        return f"{owner} {field}{suffix}"
    if parts[0] in _OWNER_KIND and len(parts) == 3:
        owner = _owner(parts[0], parts[1])
        field = _field(parts[2])
        if owner is None:
            return _capital(field) + f" (every {_OWNER_KIND[parts[0]]})"
        if owner.lower().endswith(" sales") and field.startswith("sales "):
            field = field[len("sales "):]  # "Field sales cycle", not "Field sales sales cycle"
        return f"{owner} {field}"
    if parts[0] == "company" and len(parts) == 2:
        return _capital(_field(parts[1]))
    return _capital(" ".join(_field(p) if "*" not in p else "every" for p in parts[-2:])) + suffix


_STRESS_LABELS = {
    "baseline": "Baseline",
    "churn_x1.5": "Churn ×1.5",
    "conversion_x0.7": "Conversion ×0.7",
    "expansion_x0.5": "Expansion ×0.5",
    "acv_x0.8": "ACV ×0.8",
    "sales_cycle_plus3": "Sales cycle +3 mo",
    "budget_x0.75": "Budget ×0.75",
    "bad_year": "Bad year",
}


def stress_label(name) -> str:
    """Short label of a stress: built-in names as "Churn ×1.5", others as written."""
    name = str(name)
    if name in _STRESS_LABELS:
        return _STRESS_LABELS[name]
    return _capital(st.label(name).replace(" x", " ×"))


def _signed(value: float, digits: int = 2) -> str:
    """"+0.55" / "−0.62" (a real minus sign)."""
    if math.isnan(value):
        return "n/a"
    if round(value, digits) == 0:
        return f"{0:.{digits}f}"
    text = f"{value:+.{digits}f}"
    return text.replace("-", "−")


def _signed_money(value: float, currency: str) -> str:
    if math.isnan(value):
        return "n/a"
    if value == 0:
        return st.money_short(0.0, currency)
    text = st.money_short(abs(value), currency)
    return ("+" if value > 0 else "−") + text


def _metric_name(output: str) -> str:
    return METRIC_NAMES.get(output, output.replace("_", " "))


def _grid(fig, n: int, max_cols: int = 3, **kwargs):
    cols = min(n, max_cols)
    rows = -(-n // cols)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False, **kwargs)).ravel()
    for extra in axes[n:]:
        extra.set_visible(False)
    return axes[:n], cols


# --- tornado ---------------------------------------------------------------------------------

def _tornado_rows(sensitivity, output: str, segment: str, top: int):
    effect = sensitivity["segment_effect"].sel(output=output, segment=segment)
    se = sensitivity["std_error"].sel(output=output, segment=segment)
    inputs = [str(i) for i in effect["input"].values]
    values, errors = effect.values.astype(float), se.values.astype(float)
    known = [k for k in range(len(inputs)) if np.isfinite(values[k])]
    known.sort(key=lambda k: (-abs(values[k]), inputs[k]))
    return [(inputs[k], float(values[k]), float(errors[k])) for k in known[:top]]


def relative_label(path, segment=None) -> str:
    """:func:`input_label` without the segment's name when the input is that segment's own
    (``segments.smb.acv`` in the SMB panel is just "ACV")."""
    path = str(path)
    prefix = f"segments.{segment}."
    if segment is not None and path.startswith(prefix) and path.count(".") == 2:
        return _capital(_field(path[len(prefix):]))
    return input_label(path)


def _in_sentence(text: str) -> str:
    """First letter lower-cased unless the first word is an acronym ("ACV", "SMB")."""
    first = text.split(" ", 1)[0]
    return text if len(first) > 1 and first[1:2].isupper() else text[:1].lower() + text[1:]


def _two_lines(text: str, width: int = 20) -> str:
    """``text`` on one line, or split at the space nearest its middle when longer than ``width``."""
    if len(text) <= width or " " not in text:
        return text
    middle = len(text) / 2
    spaces = [i for i, c in enumerate(text) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - middle))
    return text[:cut] + "\n" + text[cut + 1:]


def _tornado_finding(sensitivity, output: str, segments) -> str:
    name = _metric_name(output)
    tops = []
    for seg in segments:
        rows = _tornado_rows(sensitivity, output, seg, 1)
        if rows:
            tops.append((seg, *rows[0]))
    if not tops:
        return f"{name} does not vary across the simulated futures (e.g. no customer won), so no input drives it"
    firsts = {path for _, path, _, _ in tops}
    if len(tops) > 1 and len(firsts) == 1:
        path = tops[0][1]
        return f"{input_label(path)} moves {name} most in every segment"
    if len(tops) == 1:
        seg, path, rho, _ = tops[0]
        return f"{input_label(path)} moves {st.label(seg)} {name} most (rank correlation {_signed(rho)})"
    shown = sorted(tops, key=lambda r: -abs(r[2]))[:4]
    parts = [f"{st.label(seg)}: {_in_sentence(relative_label(path, seg))} ({_signed(rho)})"
             for seg, path, rho, _ in shown]
    more = "" if len(tops) <= 4 else "; …"
    return f"What moves {name} most. " + "; ".join(parts) + more


def _tornado_panel(ax, rows, colour, limit: float, output: str, show_xlabel: bool, segment=None) -> None:
    from matplotlib.ticker import MultipleLocator

    n = len(rows)
    y = np.arange(n)[::-1]
    for yi, (path, rho, se) in zip(y, rows):
        clear = abs(rho) > 2 * se if np.isfinite(se) else True
        face = colour if clear else st.NA_COLOR
        ax.barh(yi, rho, color=face, height=0.66, zorder=2)
        pad = 0.03 * limit
        ax.text(rho + (pad if rho >= 0 else -pad), yi, _signed(rho), ha="left" if rho >= 0 else "right",
                va="center", fontsize=11, color=st.shade(colour, 0.3) if clear else "#888888",
                gid="tornado-value")
    ax.axvline(0, color="#333333", linewidth=1.2, zorder=3)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-0.6, max(n, 1) - 0.4)
    labels = [_two_lines(relative_label(p, segment)) for p, _, _ in rows]
    ax.set_yticks(y, labels, fontsize=11.5, linespacing=1.0)
    ax.tick_params(axis="y", length=0)
    ax.grid(False)
    ax.grid(True, axis="x", color="#e6e6e6")
    ax.xaxis.set_major_locator(MultipleLocator(0.5))
    ax.xaxis.set_major_formatter(_signed_formatter())
    ax.tick_params(axis="x", labelsize=11)
    if show_xlabel:
        ax.set_xlabel(f"← lower   {_metric_name(output)}   higher →", fontsize=12)
    if not rows:
        ax.text(0.5, 0.5, "does not vary\nacross futures", transform=ax.transAxes, ha="center", va="center",
                fontsize=13, color=st.MUTED_COLOR)


def _signed_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: "0" if abs(v) < 1e-12 else _signed(v).rstrip("0").rstrip("."))


def tornado(sensitivity, *, output: str = "ltv_cac", top: int = 8, ax=None, segment=None):
    """Tornado per segment: the inputs that move ``output`` most, by rank correlation.

    Parameters
    ----------
    sensitivity : xarray.Dataset
        From :func:`simkit.sensitivity` (``segment_effect`` and ``std_error`` over
        input x segment x output).
    output : str, default "ltv_cac"
        One of the ``output`` coordinate: ``ltv_cac``, ``cac``, ``payback_months``,
        ``arr_final``.
    top : int, default 8
        Inputs shown per segment, strongest first.
    ax : matplotlib Axes, optional
        Draw one segment (``segment``, default the first) into it and return it.

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.

    Notes
    -----
    A bar is the Spearman rank correlation between the input and the output across the
    simulated futures: right of zero, futures with more of the input have a higher output.
    Grey bars are within two standard errors of zero (indistinguishable from noise).
    """
    attrs = sensitivity.attrs
    segments = [str(s) for s in sensitivity["segment"].values]
    colours = st.segment_colors(segments)
    rows = {seg: _tornado_rows(sensitivity, output, seg, top) for seg in segments}
    biggest = max([abs(r) for seg in segments for _, r, _ in rows[seg]] or [0.25])
    limit = min(1.25, max(0.5, math.ceil(biggest * 1.45 * 4) / 4))
    finding = _tornado_finding(sensitivity, output, segments)
    with st.style():
        if ax is not None:
            seg = segment or segments[0]
            _tornado_panel(ax, rows[seg], colours[seg], limit, output, True, seg)
            st.axes_title(ax, f"{st.label(seg)}: what moves {_metric_name(output)}")
            return ax
        fig = st.new_figure()
        axes, cols = _grid(fig, len(segments))
        for k, seg in enumerate(segments):
            _tornado_panel(axes[k], rows[seg], colours[seg], limit, output, True, seg)
            axes[k].set_title(st.label(seg), color=st.shade(colours[seg], 0.25), fontsize=15)
        subtitle = (f"Per segment, the {top} uncertain inputs most linked to {_metric_name(output)} across "
                    f"{st.plural_futures(attrs)} (rank correlation)")
        caption = ("How to read: a bar to the right means futures with more of that input have a higher "
                   f"{_metric_name(output)}, to the left a lower one; ±1 would mean the input alone decides the "
                   "order, 0 no link. Grey: within two standard errors of zero. Inputs tied by a correlation "
                   "share credit.")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig


# --- ARR drivers over time ---------------------------------------------------------------------

def _arr_driver_rows(sensitivity, top: int) -> list[str]:
    effect = sensitivity["arr_effect_over_time"].transpose("input", "month")
    values = np.abs(effect.values.astype(float))
    inputs = [str(i) for i in effect["input"].values]
    score = np.where(np.isfinite(values), values, -1).max(axis=1)
    final = np.where(np.isfinite(values[:, -1]), values[:, -1], -1)
    chosen = [k for k in np.argsort(-score, kind="stable")[:top] if score[k] >= 0]
    chosen.sort(key=lambda k: (-final[k], -score[k], inputs[k]))
    return [inputs[k] for k in chosen]


def _leaders(values: np.ndarray, inputs, draws) -> list[int]:
    """Indices of the strongest inputs in one column: the top one and any within two
    standard errors of it (at most three), strongest first."""
    absolute = np.where(np.isfinite(values), np.abs(values), -1)
    order = [int(k) for k in np.argsort(-absolute, kind="stable") if absolute[k] >= 0]
    if not order:
        return []
    best = absolute[order[0]]
    se = (1 - best**2) / math.sqrt(max(int(draws) - 1, 1)) if draws else 0.0
    return [k for k in order if absolute[k] >= best - 2 * se][:3]


def _arr_finding(sensitivity) -> str:
    effect = sensitivity["arr_effect_over_time"].transpose("input", "month")
    values = effect.values.astype(float)
    if not np.isfinite(values).any():
        return "No uncertain input moves company ARR: its spread is deal-by-deal luck"
    inputs = [str(i) for i in effect["input"].values]
    months = [int(m) + 1 for m in effect["month"].values]
    draws = sensitivity.attrs.get("draws")
    first, last = _leaders(values[:, 0], inputs, draws), _leaders(values[:, -1], inputs, draws)

    last = last[:2]
    names = st.join_words([f"{_in_sentence(input_label(inputs[k]))} ({_signed(values[k, -1])})" for k in last])
    ending = f"{_capital(names)} drive{'s' if len(last) == 1 else ''} company ARR most by month {months[-1]}"
    if len(months) == 1:
        return ending
    if first and first[0] in last:
        return ending + (f", as it already did in month {months[0]}" if len(last) == 1 else "")
    return ending + f"; in month {months[0]} it was {_in_sentence(input_label(inputs[first[0]]))}"


def _arr_noise(sensitivity) -> str:
    draws = sensitivity.attrs.get("draws")
    return f"±{2 / math.sqrt(max(int(draws) - 1, 1)):.2f}" if draws else "±0.05"


def arr_drivers(sensitivity, *, top: int = 8, ax=None):
    """Which inputs drive company ARR, month by month (a ranked heatmap).

    Parameters
    ----------
    sensitivity : xarray.Dataset
        From :func:`simkit.sensitivity` on results with paths (``arr_effect_over_time``
        over input x month).
    top : int, default 8
        Inputs shown: the strongest at any month, ordered by their effect at the last one.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.

    Notes
    -----
    Each cell is the rank correlation between the input and company ARR in that month; the
    outlined cell in each column is that month's strongest driver.
    """
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    if "arr_effect_over_time" not in sensitivity:
        raise ValueError("arr_drivers needs arr_effect_over_time: run simkit.sensitivity on results simulated "
                         "with keep_paths=True")
    attrs = sensitivity.attrs
    rows = _arr_driver_rows(sensitivity, top)
    effect = sensitivity["arr_effect_over_time"].sel(input=rows).transpose("input", "month")
    values = effect.values.astype(float)
    months = [int(m) + 1 for m in effect["month"].values]
    finite = np.abs(values[np.isfinite(values)])
    limit = max(0.25, float(finite.max()) if finite.size else 0.25)
    cmap = mpl.colormaps["RdBu"]
    norm = mpl.colors.Normalize(-limit, limit)
    finding = _arr_finding(sensitivity)
    with st.style():
        own = ax is None
        if own:
            fig = st.new_figure()
            ax = fig.add_subplot()
        n_rows, n_cols = len(rows), len(months)
        text_size = 13 if n_cols <= 10 else 11 if n_cols <= 16 else 9
        for j in range(n_cols):
            column = np.where(np.isfinite(values[:, j]), np.abs(values[:, j]), -1)
            best = int(np.argmax(column)) if n_rows else -1
            for i in range(n_rows):
                y = n_rows - 1 - i
                v = values[i, j]
                if not np.isfinite(v):
                    ax.add_patch(Rectangle((j, y), 1, 1, facecolor=st.NA_COLOR, edgecolor="white", linewidth=2))
                    continue
                face = cmap(norm(v))
                ax.add_patch(Rectangle((j, y), 1, 1, facecolor=face, edgecolor="white", linewidth=2))
                ax.text(j + 0.5, y + 0.5, _signed(v), ha="center", va="center", fontsize=text_size,
                        color=st.ink(face), fontweight="bold" if i == best else "normal", gid="driver-cell")
            if best >= 0 and column[best] >= 0:
                ax.add_patch(Rectangle((j + 0.04, n_rows - 1 - best + 0.06), 0.92, 0.88, facecolor="none",
                                       edgecolor="#111111", linewidth=2.4, zorder=4))
        ax.set_xlim(0, n_cols)
        ax.set_ylim(0, n_rows)
        ax.set_xticks(np.arange(n_cols) + 0.5, [str(m) for m in months])
        ax.set_xlabel("Month")
        ax.set_yticks(np.arange(n_rows) + 0.5, [input_label(p) for p in reversed(rows)], fontsize=12.5)
        st.bare_cell_grid(ax)
        if not own:
            st.axes_title(ax, finding)
            return ax
        st.cell_colorbar(fig, ax, norm, cmap, _signed_formatter(), "← lower ARR     higher ARR →")
        subtitle = (f"Rank correlation of each uncertain input with company ARR, month by month, across "
                    f"{st.plural_futures(attrs)}; outlined: the month's strongest driver")
        caption = ("How to read: blue means futures with more of that input have more ARR that month, red less; "
                   "the further from 0, the more that input decides which futures end up ahead. Differences "
                   f"under about {_arr_noise(sensitivity)} are within Monte Carlo noise.")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig


# --- stress impact ---------------------------------------------------------------------------

def _threshold_text(stress, key: str, segment: str, currency: str) -> str:
    if key == "all":
        return "all thresholds"
    metric = str(stress["threshold_metric"].sel(threshold=key).values)
    comparison = str(stress["threshold_comparison"].sel(threshold=key).values)
    value = float(stress["threshold_value"].sel(segment=segment, threshold=key)) if "threshold_value" in stress \
        else float("nan")
    return st.threshold_label(metric, comparison, value, currency)


def _stress_cells(stress, thresholds, segments):
    """(threshold, segment) panels with a probability to show."""
    keys = [str(k) for k in stress["threshold"].values]
    cells = []
    for key in thresholds:
        if key not in keys:
            continue
        for seg in segments:
            p = stress["probability"].sel(threshold=key, segment=seg).values.astype(float)
            if np.isfinite(p).any():
                cells.append((key, seg))
    return cells


def _stress_finding(stress, cells, currency: str) -> str:
    if not cells:
        return "No segment has a health threshold to stress"
    names = [str(s) for s in stress["stress"].values if str(s) != "baseline"]
    if not names:
        return "No stress to show: only the baseline was run"
    target = float(stress.attrs.get("target_probability", 0.5))
    key = cells[0][0]
    worst = None
    for k, seg in cells:
        if k != key:
            continue
        base = float(stress["probability"].sel(stress="baseline", segment=seg, threshold=k))
        for name in names:
            change = float(stress["probability_change"].sel(stress=name, segment=seg, threshold=k))
            if np.isfinite(change) and (worst is None or change < worst[0]):
                p = float(stress["probability"].sel(stress=name, segment=seg, threshold=k))
                worst = (change, name, seg, base, p)
    if worst is None or worst[0] >= 0:
        if not any(float(stress["probability"].sel(stress="baseline", segment=s, threshold=k).fillna(0)) > 0
                   for k, s in cells):
            return "No segment clears these targets in any simulated future, with or without a stress"
        return f"None of the {len(names)} stresses lowers any segment's odds of clearing its targets"
    change, name, seg, base, p = worst
    label = _threshold_text(stress, key, seg, currency)
    head = (f"{stress_label(name)} hurts most: {st.label(seg)} clears {label} in {st.percent(p)} of futures, "
            f"down from {st.percent(base)}")
    breaking = set()
    for k, s in cells:
        if k != key:
            continue
        base_p = float(stress["probability"].sel(stress="baseline", segment=s, threshold=k))
        for name_ in names:
            p_ = float(stress["probability"].sel(stress=name_, segment=s, threshold=k))
            if base_p >= target > p_:
                breaking.add(name_)
    if breaking and len(names) == 1:
        head += f", below the {st.percent(target)} target"
    elif breaking:
        verb = "stress pushes" if len(breaking) == 1 else "stresses push"
        head += f"; {len(breaking)} of {len(names)} {verb} a segment below {st.percent(target)}"
    return head


def _stress_panel(ax, stress, key, seg, colour, names, target, show_labels: bool, currency: str,
                  label_size: float = 12.0) -> None:
    base = float(stress["probability"].sel(stress="baseline", segment=seg, threshold=key))
    n = len(names)
    y = np.arange(n)[::-1]
    ax.axvspan(0, target, color=st.tint(st.FAIL_COLOR, 0.07), linewidth=0, zorder=0)
    ax.axvline(target, color="#777777", linewidth=1.3, linestyle=(0, (4, 3)), zorder=1)
    if np.isfinite(base):
        ax.axvline(base, color=st.shade(colour, 0.2), linewidth=2.2, zorder=2)
        right = base > 0.6
        ax.text(base + (-0.02 if right else 0.02), n - 0.15, f"baseline {st.percent(base)}", ha="right" if right
                else "left", va="center", fontsize=11, color=st.shade(colour, 0.3), fontstyle="italic",
                gid="stress-baseline")
    for yi, name in zip(y, names):
        p = float(stress["probability"].sel(stress=name, segment=seg, threshold=key))
        if not np.isfinite(p):
            continue
        se = float(stress["change_std_error"].sel(stress=name, segment=seg, threshold=key))
        if np.isfinite(base):
            ax.plot([base, p], [yi, yi], color=st.tint(colour, 0.55), linewidth=3, zorder=2,
                    solid_capstyle="butt")
        if np.isfinite(se) and se > 0:
            ax.errorbar(p, yi, xerr=1.96 * se, color="#333333", linewidth=1, capsize=2, zorder=3)
        below = p < target
        ax.plot(p, yi, "o", markersize=10, color=colour if not below else "white",
                markeredgecolor=st.shade(colour, 0.2), markeredgewidth=2, zorder=4)
        left = p > 0.75
        gap = 0.035 + (1.96 * se if np.isfinite(se) else 0.0)  # clear of the dot and its whisker
        ax.text(p + (-gap if left else gap), yi, st.percent(p), ha="right" if left else "left", va="center",
                fontsize=min(11.5, label_size), color=st.TEXT_COLOR, gid="stress-probability", zorder=5)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, n + 0.3)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.xaxis.set_major_formatter(st.percent_formatter())
    ax.tick_params(axis="x", labelsize=11)
    ax.set_yticks(y, [stress_label(s) for s in names] if show_labels else [], fontsize=label_size)
    ax.tick_params(axis="y", length=0)
    ax.grid(False)
    ax.grid(True, axis="x", color="#eeeeee")
    title = f"{st.label(seg)}: {_threshold_text(stress, key, seg, currency)}"
    ax.set_title(title, fontsize=13.5, color=st.shade(colour, 0.25))


def stress_impact(stress, *, thresholds=("ltv_cac_min", "all"), ax=None, segment=None, threshold=None):
    """P(segment clears a threshold) under each stress, against the baseline (dot plot).

    Parameters
    ----------
    stress : xarray.Dataset
        From :func:`simkit.stress` (``probability``, ``probability_change``,
        ``change_std_error`` over stress x segment x threshold; ``baseline`` first).
    thresholds : sequence of str, default ("ltv_cac_min", "all")
        Threshold keys to show, one row of panels each (segments are the columns).
    ax : matplotlib Axes, optional
        Draw one panel (``segment`` and ``threshold``, default the first available) into it.

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.

    Notes
    -----
    The solid vertical line is the baseline's probability, the dashed one the target
    probability (``attrs["target_probability"]``, shaded below). A dot is the probability
    under one stress; hollow when it falls below the target. Whiskers: 95% interval of
    the paired change (common random numbers), usually narrower than the dot.
    """
    attrs = stress.attrs
    currency = attrs.get("currency", "USD")
    target = float(attrs.get("target_probability", 0.5))
    segments = [str(s) for s in stress["segment"].values]
    colours = st.segment_colors(segments)
    names = [str(s) for s in stress["stress"].values if str(s) != "baseline"]
    cells = _stress_cells(stress, [str(t) for t in thresholds], segments)
    # A row of panels in which no future clears the threshold under any stress says one
    # thing, which the caption says instead.
    never = [k for k in dict.fromkeys(k for k, _ in cells)
             if not (stress["probability"].sel(threshold=k).fillna(0).values > 0).any()]
    if len(never) < len({k for k, _ in cells}):
        cells = [c for c in cells if c[0] not in never]
    else:
        never = []
    finding = _stress_finding(stress, cells, currency)
    with st.style():
        if ax is not None:
            chosen = [c for c in cells if (segment is None or c[1] == segment)
                      and (threshold is None or c[0] == threshold)]
            if not chosen:
                raise ValueError(f"nothing to draw for segment {segment!r} and threshold {threshold!r}")
            key, seg = chosen[0]
            _stress_panel(ax, stress, key, seg, colours[seg], names, target, True, currency)
            return ax
        fig = st.new_figure()
        keys = list(dict.fromkeys(k for k, _ in cells))
        shown_segments = [s for s in segments if any(c[1] == s for c in cells)]
        if not cells:
            ax = fig.add_subplot()
            ax.axis("off")
            ax.text(0.5, 0.5, "no segment has these thresholds", ha="center", va="center", fontsize=16,
                    color=st.MUTED_COLOR)
        else:
            # Segments across, thresholds down; a single segment puts its thresholds side by side.
            if len(shown_segments) == 1:
                places = {(key, shown_segments[0]): (0, c) for c, key in enumerate(keys)}
            else:
                cols = min(len(shown_segments), 4)
                per_key = -(-len(shown_segments) // cols)
                places = {(key, seg): (r * per_key + c // cols, c % cols)
                          for r, key in enumerate(keys) for c, seg in enumerate(shown_segments)}
            panel_rows = 1 + max(r for r, _ in places.values())
            panel_cols = 1 + max(c for _, c in places.values())
            axes = np.atleast_1d(fig.subplots(panel_rows, panel_cols, squeeze=False))
            row_points = (4.4 * 72 / panel_rows - 40) / (len(names) + 1)
            label_size = float(np.clip(0.8 * row_points, 8.5, 12.5))
            used = set()
            for (key, seg), (row, col) in places.items():
                if (key, seg) not in cells:
                    continue
                used.add((row, col))
                _stress_panel(axes[row, col], stress, key, seg, colours[seg], names, target, col == 0, currency,
                              label_size)
            for row in range(panel_rows):
                for col in range(panel_cols):
                    if (row, col) not in used:
                        axes[row, col].set_visible(False)
        subtitle = (f"Share of the same {int(attrs.get('draws', 0)):,} futures clearing the target: baseline vs "
                    "each stress (common random numbers)")
        caption = (f"How to read: the solid line is the plan as written, each dot the same futures under one stress; "
                   f"hollow dots fall below the {st.percent(target)} target (dashed line, shaded zone). Whiskers: "
                   "95% interval of the paired change.")
        if never:
            shown = st.join_words(["all thresholds at once" if k == "all" else st.threshold_label(
                str(stress["threshold_metric"].sel(threshold=k).values),
                str(stress["threshold_comparison"].sel(threshold=k).values)) for k in never])
            caption += f" Not shown: {shown}, cleared in no future under any stress."
        legend = _stress_legend(target)
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs), legend=legend)
        return fig


def _stress_legend(target: float):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    return [Line2D([], [], color="#444444", linewidth=2.2, label="baseline"),
            Line2D([], [], marker="o", color="#444444", linestyle="none", markersize=9, label="under the stress"),
            Line2D([], [], marker="o", color="white", markeredgecolor="#444444", markeredgewidth=2,
                   linestyle="none", markersize=9, label=f"below the {st.percent(target)} target"),
            Patch(facecolor=st.tint(st.FAIL_COLOR, 0.1), label="below target zone")]


# --- plan comparison -----------------------------------------------------------------------

_COMPANY_NAMES = {"total_arr_final": "ARR at horizon", "cash_low": "Lowest cash", "cash_final": "Cash at horizon"}
_SEGMENT_NAMES = {"ltv_cac": "LTV:CAC", "payback_months": "payback", "arr_final": "ARR at horizon", "cac": "CAC"}


def _plan_rows(compare, plan):
    """(label, probability, std error, colour) for the P(better) bars."""
    rows = []
    for measure in compare["company_measure"].values:
        p = float(compare["p_better_company"].sel(plan=plan, company_measure=measure))
        se = float(compare["p_better_company_std_error"].sel(plan=plan, company_measure=measure))
        rows.append((f"Company {_COMPANY_NAMES.get(str(measure), str(measure)).lower().replace('arr', 'ARR')}",
                     p, se, None))
    segments = [str(s) for s in compare["segment"].values]
    for seg in segments:
        for measure in ("ltv_cac",):
            if measure not in compare["segment_measure"].values:
                continue
            p = float(compare["p_better_segment"].sel(plan=plan, segment=seg, segment_measure=measure))
            if not np.isfinite(p):
                continue
            se = float(compare["p_better_segment_std_error"].sel(plan=plan, segment=seg, segment_measure=measure))
            rows.append((f"{st.label(seg)} {_SEGMENT_NAMES[measure]}", p, se, seg))
    return rows


def _plan_finding(compare, plan, currency: str) -> str:
    reference = str(compare.attrs.get("reference_plan", compare["plan"].values[0]))
    a, b = st.label(reference), st.label(plan)

    def get(measure):
        p = float(compare["p_better_company"].sel(plan=plan, company_measure=measure))
        d = float(compare["difference_company"].sel(plan=plan, company_measure=measure)
                  .sel(quantile=0.5, method="nearest"))
        return p, d

    p_arr, d_arr = get("total_arr_final")
    p_cash, d_cash = get("cash_low")
    if p_arr == 0.5 and d_arr == 0 and p_cash == 0.5 and d_cash == 0:
        return f"{b} and {a} give the same ARR and cash in every future"
    arr_word = "more" if p_arr >= 0.5 else "less"
    arr_share = p_arr if p_arr >= 0.5 else 1 - p_arr
    head = (f"{b}: {arr_word} ARR than {a} in {st.percent(arr_share)} of futures "
            f"(median {_signed_money(d_arr, currency)})")
    if d_cash == 0 and p_cash == 0.5:
        return head + ", same lowest cash"
    cash_word = "higher" if p_cash >= 0.5 else "lower"
    cash_share = p_cash if p_cash >= 0.5 else 1 - p_cash
    joiner = "," if (p_arr >= 0.5) == (p_cash >= 0.5) else ", but"
    return (head + f"{joiner} {cash_word} lowest cash in {st.percent(cash_share)} "
            f"(median {_signed_money(d_cash, currency)})")


def _p_better_panel(ax, rows, colours, reference_label) -> None:
    n = len(rows)
    y = np.arange(n)[::-1]
    for yi, (text, p, se, seg) in zip(y, rows):
        colour = st.COMPANY_COLOR if seg is None else colours[seg]
        ax.barh(yi, p, color=colour, height=0.62, zorder=2)
        ax.barh(yi, 1 - p, left=p, color=st.tint(colour, 0.18), height=0.62, zorder=2)
        label = st.probability_text(p, se)
        inside = p >= 0.25
        ax.text(p - 0.02 if inside else p + 0.02, yi, label, ha="right" if inside else "left", va="center",
                fontsize=13, fontweight="bold", color=st.ink(colour) if inside else st.TEXT_COLOR,
                gid="p-better", zorder=4)
    ax.axvline(0.5, color="#333333", linewidth=1.3, linestyle=(0, (4, 3)), zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.xaxis.set_major_formatter(st.percent_formatter())
    ax.set_yticks(y, [r[0] for r in rows], fontsize=12.5)
    ax.tick_params(axis="y", length=0)
    ax.grid(False)
    ax.set_xlabel(f"share of futures in which the plan does better than {reference_label}", fontsize=12)


def _difference_panel(ax, compare, plan, measure, currency: str) -> None:
    """One measure: the quantiles of (plan - reference), as nested bars and a median diamond."""
    from .fan import _pairs

    quantiles = [float(q) for q in compare["quantile"].values]
    pairs, median = _pairs(quantiles)
    d = compare["difference_company"].sel(plan=plan, company_measure=measure)
    widths = np.linspace(10, 26, len(pairs)) if pairs else []
    for (lo, hi), w, amount in zip(pairs, widths, np.linspace(0.35, 0.8, len(pairs))):
        ax.plot([float(d.sel(quantile=lo)), float(d.sel(quantile=hi))], [0, 0],
                color=st.tint(st.COMPANY_COLOR, amount), linewidth=w, solid_capstyle="butt", zorder=2)
    ax.axvline(0, color="#333333", linewidth=1.3, zorder=3)
    box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"}
    if median is not None:
        m = float(d.sel(quantile=median))
        ax.plot(m, 0, "D", color="white", markeredgecolor=st.COMPANY_COLOR, markeredgewidth=2, markersize=12,
                zorder=4)
        ax.annotate(f"median {_signed_money(m, currency)}", xy=(m, 0), xytext=(0, 18), textcoords="offset points",
                    ha="center", va="bottom", fontsize=13, fontweight="bold", color=st.COMPANY_COLOR, bbox=box,
                    gid="difference-median", zorder=5)
    if pairs:
        lo, hi = pairs[0]
        for q, align in ((lo, "right"), (hi, "left")):
            value = float(d.sel(quantile=q))
            ax.annotate(f"p{q * 100:g} {_signed_money(value, currency)}", xy=(value, 0),
                        xytext=(-4 if align == "right" else 4, -18), textcoords="offset points", ha=align, va="top",
                        fontsize=11, color=st.MUTED_COLOR, bbox=box, zorder=5)
    ax.set_ylim(-1, 1)
    low, high = ax.get_xlim()
    span = max(high - low, 1.0)
    ax.set_xlim(min(low, 0) - 0.12 * span, max(high, 0) + 0.12 * span)
    ax.xaxis.set_major_formatter(st.money_formatter(currency))
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.grid(False)
    ax.grid(True, axis="x", color="#eeeeee")
    ax.tick_params(axis="x", labelsize=11.5)
    ax.set_title(_COMPANY_NAMES.get(measure, measure) + ": plan minus reference", fontsize=13.5, loc="left")


def plan_comparison(compare, *, plan=None, ax=None):
    """P(plan beats the reference) and the paired differences in ARR and lowest cash.

    Parameters
    ----------
    compare : xarray.Dataset
        From :func:`simkit.compare` (``p_better_company``, ``p_better_segment``,
        ``difference_company`` quantiles over plan).
    plan : str, optional
        The plan to show against the reference (default the second plan).
    ax : matplotlib Axes, optional
        Draw the P(better) bars into it and return it.

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    attrs = compare.attrs
    currency = attrs.get("currency", "USD")
    plans = [str(p) for p in compare["plan"].values]
    reference = str(attrs.get("reference_plan", plans[0]))
    if plan is None:
        others = [p for p in plans if p != reference]
        plan = others[0] if others else plans[0]
    plan = str(plan)
    segments = [str(s) for s in compare["segment"].values]
    colours = st.segment_colors(segments)
    rows = _plan_rows(compare, plan)
    finding = _plan_finding(compare, plan, currency)
    measures = [m for m in ("total_arr_final", "cash_low") if m in compare["company_measure"].values]
    with st.style():
        if ax is not None:
            _p_better_panel(ax, rows, colours, st.label(reference))
            st.axes_title(ax, finding)
            return ax
        fig = st.new_figure()
        outer = fig.add_gridspec(1, 2, width_ratios=[1, 1])
        left = fig.add_subplot(outer[0, 0])
        _p_better_panel(left, rows, colours, st.label(reference))
        left.set_title(f"P({st.label(plan)} does better)", fontsize=15)
        if measures:
            inner = outer[0, 1].subgridspec(len(measures), 1)
            for k, measure in enumerate(measures):
                _difference_panel(fig.add_subplot(inner[k, 0]), compare, plan, measure, currency)
        only = [s for s in segments
                if np.isnan(compare["p_better_segment"].sel(plan=plan, segment=s).values.astype(float)).all()]
        only_text = (f" {st.join_words([st.label(s) for s in only])} exists in only one plan, so it has no "
                     "segment comparison." if only else "")
        subtitle = (f"{st.label(plan)} against {st.label(reference)} on the same {int(attrs.get('draws', 0)):,} "
                    "simulated futures (paired draws: same seed and input streams)")
        caption = ("How to read: left, the share of futures in which the plan does better (ties count half; 50% "
                   "= no edge); right, the plan's result minus the reference's in the same future: dark bar the "
                   "middle 50% of futures, light bar 90% (p5 to p95), diamond the median." + only_text)
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs))
        return fig


# --- frontier ---------------------------------------------------------------------------------

def _shock_text(value: float, operation: str, path: str) -> str:
    if operation == "scale":
        return f"×{value:g}"
    unit = " mo" if path.endswith("_months") else ""
    return f"{value:+g}{unit}".replace("-", "−")


def _axis_text(path: str, operation: str) -> str:
    what = input_label(path)
    if operation == "scale":
        return f"{what}, × plan"
    if operation == "shift":
        return f"{what}, {'months' if path.endswith('_months') else 'amount'} added"
    return what


def _boundary_segments(grid: np.ndarray, target: float):
    """Cell edges between a cell at or above the target and one below it."""
    ok = grid >= target
    lines = []
    n_y, n_x = grid.shape
    for i in range(n_y):
        for j in range(n_x):
            if not np.isfinite(grid[i, j]):
                continue
            if j + 1 < n_x and np.isfinite(grid[i, j + 1]) and ok[i, j] != ok[i, j + 1]:
                lines.append(((j + 1, j + 1), (i, i + 1)))
            if i + 1 < n_y and np.isfinite(grid[i + 1, j]) and ok[i, j] != ok[i + 1, j]:
                lines.append(((j, j + 1), (i + 1, i + 1)))
    return lines


def _frontier_finding(frontier, target: float, label: str) -> str:
    grid = frontier["probability"].transpose("y", "x").values.astype(float)
    attrs = frontier.attrs
    seg = st.label(attrs.get("segment", ""))
    known = np.isfinite(grid)
    total = int(known.sum())
    if not total:
        return f"{seg}: no probability to show"
    holding = int((grid[known] >= target).sum())
    i, j = np.unravel_index(np.nanargmin(np.where(known, grid, np.inf)), grid.shape)
    xs, ys = frontier["x"].values, frontier["y"].values
    x_in, y_in = attrs.get("x_input", "x"), attrs.get("y_input", "y")
    worst = (f"{_short_input(x_in)} {_shock_text(float(xs[j]), attrs.get('x_operation', ''), x_in)}"
             f" and {_short_input(y_in)} {_shock_text(float(ys[i]), attrs.get('y_operation', ''), y_in)}")
    if holding == total:
        return (f"{seg} keeps P({label}) at {st.percent(target)} or more in all {total} combinations tried; "
                f"worst {st.percent(grid[i, j])} at {worst}")
    if holding == 0:
        return f"{seg} clears {label} in fewer than {st.percent(target)} of futures in every combination tried"
    return (f"{seg} keeps P({label}) at {st.percent(target)} or more in {holding} of {total} combinations; "
            f"at {worst} it is {st.percent(grid[i, j])}")


def _short_input(path: str) -> str:
    """The input's field alone, for a sentence ("conversion", "sales cycle", "ACV")."""
    field = _field(str(path).rsplit(".", 1)[-1])
    return field


def frontier_chart(frontier, *, target: float = 0.5, threshold_value=None, ax=None):
    """Heatmap of P(segment clears a threshold) over two shocks, the target boundary drawn.

    Parameters
    ----------
    frontier : xarray.Dataset
        From :func:`simkit.frontier` (``probability`` over y x x; attributes name the
        inputs, operations, segment and threshold).
    target : float, default 0.5
        The probability that must hold; the thick line separates the combinations that
        keep it from those that do not.
    threshold_value : float, optional
        The threshold's value, for the title (else ``attrs["threshold_value"]``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure, or the Axes when ``ax`` is given.
    """
    import matplotlib as mpl
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    attrs = frontier.attrs
    currency = attrs.get("currency", "USD")
    grid = frontier["probability"].transpose("y", "x").values.astype(float)
    xs = [float(v) for v in frontier["x"].values]
    ys = [float(v) for v in frontier["y"].values]
    key = str(attrs.get("threshold", "ltv_cac_min"))
    value = threshold_value if threshold_value is not None else attrs.get("threshold_value")
    metric = str(attrs.get("threshold_metric", key.rsplit("_", 1)[0]))
    comparison = str(attrs.get("threshold_comparison", ">=" if key.endswith("_min") else "<="))
    label = "all its thresholds" if key == "all" else st.threshold_label(
        metric, comparison, None if value is None else float(value), currency)
    finding = _frontier_finding(frontier, target, label)
    cmap = mpl.colormaps["cividis"]
    norm = mpl.colors.Normalize(0, 1)
    x_op, y_op = attrs.get("x_operation", "scale"), attrs.get("y_operation", "scale")
    x_in, y_in = attrs.get("x_input", "x"), attrs.get("y_input", "y")
    neutral = {"scale": 1.0, "shift": 0.0}
    with st.style():
        own = ax is None
        if own:
            fig = st.new_figure()
            ax = fig.add_subplot()
        n_y, n_x = grid.shape
        size = 18 if n_x <= 6 else 14 if n_x <= 9 else 11
        for i in range(n_y):
            for j in range(n_x):
                p = grid[i, j]
                if not np.isfinite(p):
                    ax.add_patch(Rectangle((j, i), 1, 1, facecolor=st.NA_COLOR, edgecolor="white", linewidth=2))
                    continue
                face = cmap(norm(p))
                ax.add_patch(Rectangle((j, i), 1, 1, facecolor=face, edgecolor="white", linewidth=2))
                ax.text(j + 0.5, i + 0.5, st.percent(p), ha="center", va="center", fontsize=size,
                        fontweight="bold", color=st.ink(face), gid="frontier-cell")
        boundary = _boundary_segments(grid, target)
        for xline, yline in boundary:
            ax.plot(xline, yline, color="#e8175d", linewidth=5, solid_capstyle="round", zorder=5)
        if x_op in neutral and y_op in neutral and neutral[x_op] in xs and neutral[y_op] in ys:
            j, i = xs.index(neutral[x_op]), ys.index(neutral[y_op])
            ax.add_patch(Rectangle((j + 0.05, i + 0.05), 0.9, 0.9, facecolor="none", edgecolor="white",
                                   linewidth=2.5, linestyle=(0, (3, 2)), zorder=4))
            ax.text(j + 0.5, i + 0.16, "plan as written", ha="center", va="center", fontsize=10.5,
                    color=st.ink(cmap(norm(grid[i, j]))) if np.isfinite(grid[i, j]) else "#333333", zorder=5)
        ax.set_xlim(0, n_x)
        ax.set_ylim(0, n_y)
        ax.set_xticks(np.arange(n_x) + 0.5, [_shock_text(v, x_op, x_in) for v in xs])
        ax.set_yticks(np.arange(n_y) + 0.5, [_shock_text(v, y_op, y_in) for v in ys])
        ax.set_xlabel(_axis_text(x_in, x_op))
        ax.set_ylabel(_axis_text(y_in, y_op))
        st.bare_cell_grid(ax)
        if not own:
            st.axes_title(ax, finding)
            return ax
        st.cell_colorbar(fig, ax, norm, cmap, st.percent_formatter(), "share of futures clearing")
        legend = [Line2D([], [], color="#e8175d", linewidth=5,
                         label=f"where P crosses {st.percent(target)}")] if boundary else None
        subtitle = (f"Share of futures in which {st.label(attrs.get('segment', ''))} clears {label}, for every "
                    f"combination of the two shocks; every cell uses the same seed and input draws")
        crossing = (f"the thick line separates combinations that keep the odds at or above {st.percent(target)} "
                    "from those that do not" if boundary else
                    f"no combination tried crosses {st.percent(target)}, so there is no boundary to draw")
        caption = (f"How to read: each cell re-runs the plan with both shocks applied; {crossing}. "
                   "The dashed cell is the plan as written.")
        st.frame(fig, finding, subtitle, caption, st.footnote(attrs), legend=legend)
        return fig


# --- pages for the board pack ----------------------------------------------------------------

_PROVENANCE = ("scenario_name", "draws", "seed_entropy", "simkit_version", "currency", "horizon_months")


def _with(summary, provenance):
    if summary is None or not provenance:
        return summary
    missing = {k: provenance[k] for k in _PROVENANCE if k in provenance and k not in summary.attrs}
    return summary.assign_attrs(missing) if missing else summary


def analysis_figures(*, stress=None, sensitivity=None, compare=None, frontier=None, provenance=None,
                     outputs=("ltv_cac",), target: float | None = None, frontier_threshold_value=None):
    """The analysis pages the given results allow, as ``[(name, Figure), ...]``.

    Pass the list to ``simkit.report.write_board_pack(results, out, extra_figures=...)``
    to add them after the standard charts, or show / save the figures yourself::

        import simkit
        from simkit import plots
        from simkit.report import write_board_pack

        results = simkit.simulate(scenario, draws=2_000)
        pages = plots.analysis_figures(stress=simkit.stress(scenario, draws=2_000),
                                       sensitivity=simkit.sensitivity(results), provenance=results.attrs)
        write_board_pack(results, "reports/mine", extra_figures=pages)   # or fig.savefig(...) each

    Parameters
    ----------
    stress, sensitivity, compare, frontier : xarray.Dataset, optional
        From :func:`simkit.stress`, :func:`simkit.sensitivity`, :func:`simkit.compare`
        and :func:`simkit.frontier`.
    provenance : mapping, optional
        Attributes (e.g. the baseline results' ``attrs``) for the footnotes: scenario,
        draws, seed, horizon, simkit version, currency.
    outputs : sequence of str, default ("ltv_cac",)
        One tornado page per segment output.
    target : float, optional
        Target probability for the frontier (default the stress result's, else 0.5).
    frontier_threshold_value : float, optional
        The frontier threshold's value, for its title.
    """
    pages = []
    if stress is not None:
        pages.append(("stress_impact", stress_impact(_with(stress, provenance))))
    if sensitivity is not None:
        sens = _with(sensitivity, provenance)
        for output in outputs:
            pages.append((f"drivers_{output}", tornado(sens, output=output)))
        if "arr_effect_over_time" in sens:
            pages.append(("drivers_arr_over_time", arr_drivers(sens)))
    if frontier is not None:
        if target is None:
            target = float(stress.attrs.get("target_probability", 0.5)) if stress is not None else 0.5
        pages.append(("frontier", frontier_chart(_with(frontier, provenance), target=target,
                                                 threshold_value=frontier_threshold_value)))
    if compare is not None:
        comp = _with(compare, provenance)
        reference = str(comp.attrs.get("reference_plan", comp["plan"].values[0]))
        others = [str(p) for p in comp["plan"].values if str(p) != reference]
        for plan in others:
            name = "plan_comparison" if len(others) == 1 else f"plan_comparison_{plan}"
            pages.append((name, plan_comparison(comp, plan=plan)))
    return pages
