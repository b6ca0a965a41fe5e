"""Sensitivity: which uncertain inputs drive each key output.

Method: Spearman rank correlation between every sampled input and every output, across
the draws of one simulation. It needs no extra runs, is invariant to monotone transforms
(dollars or log-dollars give the same answer) and reads directly as a tornado: the bar is
how strongly, and in which direction, an input moves the output. Its standard error is
about ``(1 - rho^2) / sqrt(n - 1)`` (with n in the thousands, the bars are tight).
Process noise is in the outputs but not among the inputs, so a segment whose bars are all
short is one driven by luck, not by what we do not know.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sensitivity", "SEGMENT_OUTPUTS", "COMPANY_OUTPUTS"]

SEGMENT_OUTPUTS = ("ltv_cac", "cac", "payback_months", "arr_final")
COMPANY_OUTPUTS = ("total_arr_final", "cash_low")


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share a rank); NaN ranks as +inf."""
    from scipy.stats import rankdata

    values = np.where(np.isnan(values), np.inf, values)
    return rankdata(values, axis=-1)


def _rank_correlation(input_ranks: np.ndarray, output_ranks: np.ndarray) -> np.ndarray:
    """Pearson correlation of ranks: inputs (k, n) x outputs (..., n) -> (k, ...)."""
    a = input_ranks - input_ranks.mean(axis=-1, keepdims=True)
    b = output_ranks - output_ranks.mean(axis=-1, keepdims=True)
    numerator = np.tensordot(a, b, axes=([-1], [-1]))
    norm_a = np.sqrt((a * a).sum(axis=-1))
    norm_b = np.sqrt((b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        # An output that never varies (or an input fixed in practice) correlates with nothing.
        return numerator / np.multiply.outer(norm_a, norm_b)


def sensitivity(ds, *, months=None):
    """Rank correlation of every uncertain input with each key output.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simkit.simulate` (uses the ``sampled`` inputs).
    months : sequence of int, optional
        Months at which to rank the inputs' effect on company ARR (default every 6th
        month and the last; needs the paths, i.e. ``keep_paths=True``).

    Returns
    -------
    xarray.Dataset
        ``segment_effect`` (input, segment, output), ``company_effect`` (input,
        company_output) and, with paths, ``arr_effect_over_time`` (input, month): Spearman
        rank correlations in [-1, 1]; ``std_error`` of a rank correlation of that size.
    """
    import xarray as xr

    inputs = [str(i) for i in ds["input"].values]
    if not inputs:
        raise ValueError("this scenario has no uncertain inputs: every number is fixed, so nothing drives "
                         "the spread but process noise")
    n = ds.sizes["draw"]
    input_ranks = _ranks(ds["sampled"].transpose("input", "draw").values)
    segment_out = np.stack([ds[o].transpose("segment", "draw").values.astype(float) for o in SEGMENT_OUTPUTS])
    segment_effect = _rank_correlation(input_ranks, _ranks(segment_out))  # (input, output, segment)
    company_out = np.stack([ds[o].values.astype(float) for o in COMPANY_OUTPUTS])
    company_effect = _rank_correlation(input_ranks, _ranks(company_out))
    data = {
        "segment_effect": (("input", "segment", "output"), np.transpose(segment_effect, (0, 2, 1)),
                           {"units": "rank correlation", "description": "Spearman correlation of input and output"}),
        "company_effect": (("input", "company_output"), company_effect,
                           {"units": "rank correlation", "description": "Spearman correlation of input and output"}),
    }
    coords = {"input": inputs, "segment": list(ds["segment"].values), "output": list(SEGMENT_OUTPUTS),
              "company_output": list(COMPANY_OUTPUTS)}
    if "total_arr" in ds:
        horizon = ds.sizes["month"]
        chosen = sorted(set(months if months is not None else [*range(5, horizon, 6), horizon - 1]))
        arr = ds["total_arr"].transpose("month", "draw").values[chosen]
        data["arr_effect_over_time"] = (("input", "month"), _rank_correlation(input_ranks, _ranks(arr)),
                                        {"units": "rank correlation",
                                         "description": "Spearman correlation of input and company ARR by month"})
        coords["month"] = chosen
    result = xr.Dataset(data, coords=coords)
    result["std_error"] = (1 - result["segment_effect"] ** 2) / np.sqrt(n - 1)
    result["std_error"].attrs["description"] = "approximate standard error of each segment_effect"
    result.attrs.update(method="Spearman rank correlation across draws", draws=n,
                        scenario_name=ds.attrs.get("scenario_name", ""))
    return result
