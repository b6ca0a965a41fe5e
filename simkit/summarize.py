"""Summaries of simulated results: bands, threshold probabilities and the variance split.

Numpy kernels do the arithmetic; thin wrappers label the results as xarray Datasets
(the arviz-stats split). Nothing here plots or prints.
"""

from __future__ import annotations

import json

import numpy as np

from ._version import __version__

__all__ = ["bands", "threshold_clearance", "threshold_probabilities", "variance_split", "DEFAULT_QUANTILES", "KEY_METRICS"]

DEFAULT_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

#: Metrics per (draw, segment) that the summaries and reports lead with.
KEY_METRICS = ("ltv_cac", "cac", "ltv", "payback_months", "nrr", "grr", "cs_cost_share")

# Variables whose NaN means "never" (not paid back, stage not reached): ranked as +inf so
# that a p95 of "never" shows as never instead of vanishing from the band.
_NAN_MEANS_NEVER = ("payback_months", "stage_reached_month")


def _quantile_kernel(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """Quantiles along the last axis, numpy's 'linear' rule, safe with +inf.

    ``np.quantile`` interpolates inf - inf into NaN; here a quantile that falls between a
    finite value and +inf, or between two infinities, is read as the upper neighbour once
    the interpolation weight is positive. The quantile axis is last in the result.
    """
    n = values.shape[-1]
    position = quantiles * (n - 1)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, n - 1)
    weight = position - low
    # Only the order statistics at ``low`` and ``high`` are needed: a partition puts each
    # of them where a full sort would (NaN last, as in a sort), at a third of the cost of
    # sorting a million draws.
    ordered = np.partition(values, np.union1d(low, high), axis=-1)
    # Indexing, not np.take(axis=-1), which copies the whole array to gather a few values.
    lower = ordered[..., low]
    upper = ordered[..., high]
    with np.errstate(invalid="ignore"):
        result = lower + weight * (upper - lower)
    infinite = np.isinf(upper) | np.isinf(lower)
    result = np.where(infinite, np.where(weight > 0, upper, lower), result)
    return np.where(weight == 0, lower, result)


def bands(ds, quantiles=DEFAULT_QUANTILES, *, dim: str = "draw", variables=None):
    """Quantiles across draws of every simulated metric and path.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simkit.simulate`.
    quantiles : sequence of float, default (0.05, 0.25, 0.5, 0.75, 0.95)
    dim : str, default "draw"
        The dimension to reduce.
    variables : sequence of str, optional
        Which variables; default every variable that has ``dim`` (inputs included).

    Returns
    -------
    xarray.Dataset
        Same variables with ``dim`` replaced by ``quantile``. ``payback_months`` and
        ``stage_reached_month`` rank "never" (NaN) as +inf, so a band whose upper end is
        ``inf`` means "not within the window in that share of futures". Month paths kept
        for the first draws only (dimension ``path_draw``) are reduced over those.
    """
    import xarray as xr

    q = np.asarray(quantiles, dtype=float)
    if q.ndim != 1 or np.any((q < 0) | (q > 1)):
        raise ValueError(f"quantiles must be a list of numbers between 0 and 1, got {quantiles!r}")
    # Month paths of a large run are kept for the first draws only, on "path_draw".
    dims = (dim, "path_draw") if dim == "draw" else (dim,)
    names = variables or [n for n, v in ds.data_vars.items() if any(d in v.dims for d in dims)]
    out = {}
    for name in names:
        da = ds[name]
        values = da.astype(float, copy=False)  # partitioned below into a new array anyway
        if name in _NAN_MEANS_NEVER:
            values = values.fillna(np.inf)
        reduce = next(d for d in dims if d in da.dims)
        result = xr.apply_ufunc(
            _quantile_kernel, values, kwargs={"quantiles": q}, input_core_dims=[[reduce]],
            output_core_dims=[["quantile"]], dask="forbidden",
        )
        out[name] = result.transpose("quantile", ...).assign_attrs(da.attrs)
    result = xr.Dataset(out).assign_coords(quantile=q)
    result.attrs.update(ds.attrs)
    result.attrs["summary"] = f"quantiles across {ds.sizes.get(dim, 0)} {dim}s"
    return result


def _clearances(ds, dim: str):
    """``(segment index, threshold index, whether each draw clears it)`` for every threshold
    a segment has, then ``(segment index, len(thresholds), clears them all)``."""
    keys = [str(k) for k in ds["threshold"].values]
    for i, segment in enumerate(ds["segment"].values):
        clears_all = None
        for j, key in enumerate(keys):
            value = float(ds["threshold_value"].sel(segment=segment, threshold=key))
            if np.isnan(value):
                continue
            metric = str(ds["threshold_metric"].sel(threshold=key).values)
            comparison = str(ds["threshold_comparison"].sel(threshold=key).values)
            clears = _clears(ds[metric].sel(segment=segment).transpose(dim).values, comparison, value)
            yield i, j, clears
            clears_all = clears.copy() if clears_all is None else clears_all & clears
        if clears_all is not None:
            yield i, len(keys), clears_all


def _threshold_coords(ds) -> dict:
    """Coordinates over (segment, threshold), the last threshold being ``all``."""
    return {
        "segment": list(ds["segment"].values),
        "threshold": [str(k) for k in ds["threshold"].values] + ["all"],
        "threshold_metric": ("threshold", [str(v) for v in ds["threshold_metric"].values] + ["all"]),
        "threshold_comparison": ("threshold", [str(v) for v in ds["threshold_comparison"].values] + ["all"]),
    }


def threshold_clearance(ds, *, dim: str = "draw"):
    """Whether each draw clears each threshold: 1.0 yes, 0.0 no, NaN not checked.

    Returns
    -------
    xarray.DataArray
        Over (``segment``, ``threshold``, ``dim``); the last threshold, ``all``, is 1 when
        the draw clears every threshold its segment has. Stress tests and plan comparisons
        pair these draw by draw.
    """
    import xarray as xr

    cleared = np.full((ds.sizes["segment"], ds.sizes["threshold"] + 1, ds.sizes[dim]), np.nan)
    for i, j, clears in _clearances(ds, dim):
        cleared[i, j] = clears
    return xr.DataArray(cleared, dims=("segment", "threshold", dim), coords=_threshold_coords(ds), name="clears")


def threshold_probabilities(ds, *, dim: str = "draw"):
    """Probability that each segment clears each of its health thresholds.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`simkit.simulate` (it carries ``threshold_value`` per segment).
    dim : str, default "draw"

    Returns
    -------
    xarray.Dataset
        ``probability`` and ``std_error`` (the Monte Carlo standard error,
        ``sqrt(p (1 - p) / n)``) over (``segment``, ``threshold``), where the last
        threshold, ``all``, is the joint probability of clearing every threshold the
        segment has; ``threshold_value``, ``threshold_metric`` and ``threshold_comparison``
        say what was checked. NaN where a segment has no such threshold. A payback that
        never happens fails a payback threshold; a CAC of inf (no wins) fails a CAC threshold.
    """
    import xarray as xr

    n = ds.sizes[dim]
    # Counted threshold by threshold: the draw-by-draw array of threshold_clearance would
    # be segments x thresholds x draws of float64 (170 MB at a million draws) to average.
    counts = np.full((ds.sizes["segment"], ds.sizes["threshold"] + 1), np.nan)
    for i, j, clears in _clearances(ds, dim):
        counts[i, j] = np.count_nonzero(clears)
    probability = xr.DataArray(counts / n, dims=("segment", "threshold"), coords=_threshold_coords(ds))
    std_error = np.sqrt(probability * (1.0 - probability) / n)
    values = np.concatenate([ds["threshold_value"].values, np.full((ds.sizes["segment"], 1), np.nan)], axis=1)
    result = xr.Dataset(
        {
            "probability": probability.assign_attrs(
                units="probability", description="share of simulated futures that clear the threshold"),
            "std_error": std_error.assign_attrs(
                units="probability", description="Monte Carlo standard error of the probability"),
            "threshold_value": (("segment", "threshold"), values, ds["threshold_value"].attrs),
        }
    )
    result.attrs.update(ds.attrs)
    result.attrs["draws"] = n
    return result


def _clears(values: np.ndarray, comparison: str, bound: float) -> np.ndarray:
    # NaN (never paid back) compares False both ways: it fails the threshold, as it should.
    with np.errstate(invalid="ignore"):
        return values >= bound if comparison == ">=" else values <= bound


def variance_split(source, *, metrics=("ltv_cac", "cac", "payback_months", "arr"), outer_draws: int = 400,
                   replicates: int = 8, seed=None, bootstrap: int = 200):
    """How much of each metric's spread comes from not knowing the inputs (parameter
    uncertainty) and how much from the luck of individual deals and churn events
    (process noise).

    Method: nested replication. ``outer_draws`` parameter draws are each simulated
    ``replicates`` times with independent process noise. For every metric and segment,
    the within-draw variance W (mean over draws of the replicate variance) estimates
    E[Var(Y | inputs)], the process-noise part; the between-draw variance of replicate
    means, less W / replicates, estimates Var(E[Y | inputs]), the parameter part (law of
    total variance; both estimators unbiased). Shares are B / (B + W) and W / (B + W);
    their standard errors come from a bootstrap over parameter draws.

    Parameters
    ----------
    source : Scenario or xarray.Dataset
        A scenario, or results from :func:`simkit.simulate` (the scenario is rebuilt
        from the ``scenario_json`` attribute).
    metrics : sequence of str
        Per (draw, segment) metrics; ``arr`` means ARR in the last month.
    outer_draws, replicates : int
        Parameter draws and process-noise replicates per draw.
    seed : int, optional
        Default the scenario's seed.
    bootstrap : int
        Bootstrap resamples for the standard errors.

    Returns
    -------
    xarray.Dataset
        ``parameter_share``, ``process_share`` and ``parameter_share_std_error`` over
        (``metric``, ``segment``), plus ``total_variance``. A share is NaN when fewer
        than 10 parameter draws give finite values (e.g. CAC with almost no wins).
    """
    import xarray as xr

    from . import _engine
    from .sample import sample_inputs
    from .scenario.load import from_dict
    from .scenario.model import Scenario
    from .simulation import noise_key, seed_sequence

    if isinstance(source, Scenario):
        scenario = source
    else:
        if seed is None and source.attrs.get("seed_entropy", "").isdigit():
            seed = int(source.attrs["seed_entropy"])  # the seed the results were run with
        text = source.attrs.get("scenario_json", "")
        if not text:
            raise ValueError("these results do not carry their scenario (attribute scenario_json); "
                             "pass the Scenario instead")
        scenario = from_dict(json.loads(text), name=source.attrs.get("scenario_name"))
    root = seed_sequence(scenario.seed if seed is None else seed)
    # A stream family of its own, so the split never reuses the main run's draws.
    split_root = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, 2**31 - 1))
    values = sample_inputs(scenario, outer_draws, split_root, 0)
    tiled = {path: np.repeat(v, replicates) for path, v in values.items()}
    plan = _engine.Plan.from_scenario(scenario)
    # Row i of the tiled block gets the noise of "draw" i under the split's own key: every
    # replicate of every parameter draw has luck of its own.
    out = _engine.run_block(plan, tiled, noise_key(split_root), keep_paths="arr" in metrics)
    segments = list(scenario.segment_names)
    rng = np.random.Generator(np.random.PCG64(split_root.spawn(2)[1]))
    resamples = rng.integers(0, outer_draws, size=(bootstrap, outer_draws))

    shares = np.full((len(metrics), len(segments)), np.nan)
    errors = np.full_like(shares, np.nan)
    totals = np.full_like(shares, np.nan)
    for i, metric in enumerate(metrics):
        data = out["arr"][:, :, -1] if metric == "arr" else out[metric]
        grid = data.reshape(outer_draws, replicates, len(segments))
        for j in range(len(segments)):
            y = grid[:, :, j]
            finite = np.all(np.isfinite(y), axis=1)
            if finite.sum() < 10:
                continue
            share, total = _split(y[finite], replicates)
            shares[i, j], totals[i, j] = share, total
            idx = np.flatnonzero(finite)
            # Resample the finite rows uniformly (r % len(idx) would favour the first ones).
            picks = resamples if len(idx) == outer_draws else rng.integers(0, len(idx), size=(bootstrap, len(idx)))
            boot = np.array([_split(y[idx[r]], replicates)[0] for r in picks])
            usable = ~np.isnan(boot)  # NaN: a resample with no variance at all
            errors[i, j] = np.std(boot[usable], ddof=1) if usable.sum() > 1 else np.nan
    return xr.Dataset(
        {
            "parameter_share": (("metric", "segment"), shares,
                                {"units": "fraction of variance", "description": "share of the variance due to "
                                 "parameter uncertainty (not knowing the true rates)"}),
            "process_share": (("metric", "segment"), 1.0 - shares,
                              {"units": "fraction of variance", "description": "share of the variance due to "
                               "process noise (which customers happen to convert or churn)"}),
            "parameter_share_std_error": (("metric", "segment"), errors,
                                          {"units": "fraction of variance", "description": "bootstrap standard error"}),
            "total_variance": (("metric", "segment"), totals, {"description": "between + within variance"}),
        },
        coords={"metric": list(metrics), "segment": segments},
        attrs={"method": "nested replication (law of total variance)", "outer_draws": outer_draws,
               "replicates": replicates, "scenario_name": scenario.name, "seed_entropy": str(root.entropy),
               "simkit_version": __version__, "draws": outer_draws * replicates},
    )


def _split(y: np.ndarray, replicates: int) -> tuple[float, float]:
    """Parameter share and total variance from a (draws, replicates) grid."""
    within = float(np.mean(np.var(y, axis=1, ddof=1)))
    between = float(np.var(np.mean(y, axis=1), ddof=1)) - within / replicates
    between = max(between, 0.0)
    total = between + within
    if total == 0:
        return np.nan, 0.0
    return between / total, total
