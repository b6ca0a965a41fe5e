"""Small summaries the board charts need beyond :mod:`simkit.summarize`.

Each one turns a per-draw "month something happened" (CAC paid back, cash ran out, stage
reached) into the share of simulated futures in which it had happened by month ``m``:
a curve a board member reads as "by month 18, 76% of futures have paid back".

Pure numpy / xarray: nothing here plots, formats or imports matplotlib. Every function
takes the results Dataset from :func:`simkit.simulate` and returns a labelled Dataset
with the Monte Carlo standard error next to each probability.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cumulative_share", "payback_probability", "cash_out_probability", "stage_probability"]


def cumulative_share(event_month: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Share of draws whose event happened at or before each month.

    Parameters
    ----------
    event_month : numpy.ndarray
        Month of the event per draw along the **first** axis; ``NaN`` or ``+inf`` means
        "never" (counts as not happened at any month).
    months : numpy.ndarray
        1-d months to evaluate at.

    Returns
    -------
    numpy.ndarray
        Shape ``event_month.shape[1:] + months.shape``: ``P(event_month <= m)``.
    """
    values = np.asarray(event_month, dtype=float)
    n = values.shape[0]
    if n == 0:
        return np.full(values.shape[1:] + np.shape(months), np.nan)
    ordered = np.sort(np.where(np.isnan(values), np.inf, values), axis=0)
    moved = np.moveaxis(ordered, 0, -1)  # (..., draw)
    flat = moved.reshape(-1, n)
    counts = np.stack([np.searchsorted(row, months, side="right") for row in flat])
    return (counts / n).reshape(moved.shape[:-1] + np.shape(months))


def _std_error(p: np.ndarray, n: int) -> np.ndarray:
    return np.sqrt(p * (1.0 - p) / n)


def _attrs(ds) -> dict:
    out = dict(ds.attrs)
    out["draws"] = int(ds.sizes["draw"])
    return out


def payback_probability(ds, *, months=None):
    """Probability that a segment's CAC is paid back by month ``m`` after the win.

    Parameters
    ----------
    ds : xarray.Dataset
        Results from :func:`simkit.simulate` (needs ``payback_months``).
    months : array_like of int, optional
        Months since the win; default ``0 .. ltv_window_months``.

    Returns
    -------
    xarray.Dataset
        ``probability`` and ``std_error`` over (``segment``, ``months_since_win``);
        ``never`` (segment): share of futures not paid back within the LTV window
        (``payback_months`` NaN); ``threshold`` (segment): the segment's payback
        threshold in months (NaN if it has none).
    """
    import xarray as xr

    window = int(ds.attrs.get("ltv_window_months", np.nanmax(ds["payback_months"].values, initial=0)))
    grid = np.arange(window + 1) if months is None else np.asarray(months, dtype=float)
    values = ds["payback_months"].transpose("draw", "segment").values
    n = values.shape[0]
    p = cumulative_share(values, grid)  # (segment, month)
    never = np.isnan(values).mean(axis=0) if n else np.full(values.shape[1], np.nan)
    threshold = _threshold(ds, "payback_months_max")
    return xr.Dataset(
        {
            "probability": (("segment", "months_since_win"), p,
                            {"units": "probability", "description": "share of futures whose CAC is paid back "
                             "by this many months after the win"}),
            "std_error": (("segment", "months_since_win"), _std_error(p, n),
                          {"units": "probability", "description": "Monte Carlo standard error"}),
            "never": (("segment",), never, {"units": "probability", "description": "share of futures not paid "
                                            "back within the LTV window"}),
            "threshold": (("segment",), threshold, {"units": "months", "description": "payback threshold "
                                                    "(payback_months_max); NaN when not checked"}),
        },
        coords={"segment": ds["segment"].values, "months_since_win": grid},
        attrs=_attrs(ds),
    )


def _threshold(ds, key: str) -> np.ndarray:
    if "threshold_value" in ds and key in list(ds["threshold"].values):
        return ds["threshold_value"].sel(threshold=key).transpose("segment").values.astype(float)
    return np.full(ds.sizes["segment"], np.nan)


def cash_out_probability(ds):
    """Probability that cash has run out (a month ended below zero) by month ``m``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results from :func:`simkit.simulate` (needs ``runway_months``).

    Returns
    -------
    xarray.Dataset
        ``probability`` and ``std_error`` over ``month`` (``P(runway_months <= m)``,
        the same month index as the cash paths), and scalars ``by_horizon`` /
        ``by_horizon_std_error``: the probability of running out at all within the
        horizon.
    """
    import xarray as xr

    horizon = int(ds.attrs.get("horizon_months", ds.sizes.get("month", 0)))
    grid = ds["month"].values if "month" in ds.coords else np.arange(horizon)
    runway = ds["runway_months"].transpose("draw").values
    n = runway.shape[0]
    p = cumulative_share(runway, grid)
    ever = float(np.isfinite(runway).mean()) if n else np.nan
    return xr.Dataset(
        {
            "probability": (("month",), p, {"units": "probability",
                                            "description": "share of futures whose cash went below zero by the "
                                            "end of this month"}),
            "std_error": (("month",), _std_error(p, n), {"units": "probability",
                                                        "description": "Monte Carlo standard error"}),
            "by_horizon": ((), ever, {"units": "probability",
                                     "description": "share of futures that run out of cash within the horizon"}),
            "by_horizon_std_error": ((), float(_std_error(np.asarray(ever), n)), {"units": "probability"}),
        },
        coords={"month": grid},
        attrs=_attrs(ds),
    )


def stage_probability(ds):
    """Probability that the company has reached each stage by month ``m``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results from :func:`simkit.simulate` (needs ``stage_reached_month``).

    Returns
    -------
    xarray.Dataset
        ``probability`` and ``std_error`` over (``stage_name``, ``month``);
        ``by_horizon`` (stage_name): reached within the horizon; ``at_start``
        (stage_name): reached at month 0 in every future (the starting stage and those
        below it); ``median_month`` (stage_name): the month by which half of the futures
        have reached it (``inf`` when fewer than half ever do). Coordinate
        ``stage_arr_from`` carries each stage's ARR floor.
    """
    import xarray as xr

    horizon = int(ds.attrs.get("horizon_months", ds.sizes.get("month", 0)))
    grid = ds["month"].values if "month" in ds.coords else np.arange(horizon)
    reached = ds["stage_reached_month"].transpose("draw", "stage_name").values
    n = reached.shape[0]
    p = cumulative_share(reached, grid)  # (stage, month)
    by_horizon = np.isfinite(reached).mean(axis=0) if n else np.full(reached.shape[1], np.nan)
    at_start = (reached == 0).all(axis=0) if n else np.zeros(reached.shape[1], dtype=bool)
    median = np.full(reached.shape[1], np.inf)
    for k in range(reached.shape[1]):
        hit = np.flatnonzero(p[k] >= 0.5)
        if hit.size:
            median[k] = grid[hit[0]]
    return xr.Dataset(
        {
            "probability": (("stage_name", "month"), p,
                            {"units": "probability", "description": "share of futures that have reached the stage "
                             "by the end of this month"}),
            "std_error": (("stage_name", "month"), _std_error(p, n),
                          {"units": "probability", "description": "Monte Carlo standard error"}),
            "by_horizon": (("stage_name",), by_horizon,
                           {"units": "probability", "description": "share of futures reaching it within the horizon"}),
            "at_start": (("stage_name",), at_start, {"description": "reached at month 0 in every future"}),
            "median_month": (("stage_name",), median.astype(float),
                             {"units": "month", "description": "first month by which half of the futures reached "
                              "the stage; inf when fewer than half do within the horizon"}),
        },
        coords={"stage_name": ds["stage_name"].values, "month": grid,
                "stage_arr_from": ("stage_name", ds["stage_arr_from"].values)},
        attrs=_attrs(ds),
    )
