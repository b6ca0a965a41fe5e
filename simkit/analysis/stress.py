"""Stress tests with common random numbers, reverse stress tests and two-input frontiers.

Every run here uses the baseline's seed and blocks, and inputs keep their own random
streams keyed by path, so draw ``i`` of a stressed run is draw ``i`` of the baseline with
the shock applied: the difference is the shock's, not noise. Probability changes are
reported with the standard error of the *paired* difference, which is far smaller than
that of two independent runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .._version import __version__
from ..scenario.model import Scenario, Shock, Stress
from ..scenario.shocks import SUITES, apply_shock, apply_stress
from ..simulation import simulate
from ..summarize import DEFAULT_QUANTILES, KEY_METRICS, _quantile_kernel, threshold_clearance

__all__ = ["stress", "reverse_stress", "frontier", "resolve_stresses"]

_COMPANY_METRICS = ("total_arr_final", "cash_low", "runway_months")


def resolve_stresses(scenario: Scenario, suite: str | None = "standard",
                     stresses: Mapping[str, Stress] | Sequence[Stress] | None = None) -> dict[str, Stress]:
    """The stresses to run: a built-in suite, then the scenario's own ``[stresses]``,
    then any given explicitly (later names replace earlier ones)."""
    result: dict[str, Stress] = {}
    if suite:
        if suite not in SUITES:
            raise ValueError(f"unknown stress suite {suite!r}; available: {', '.join(SUITES)}")
        result.update(SUITES[suite]())
    result.update(scenario.stresses)
    if stresses is not None:
        items = stresses.values() if isinstance(stresses, Mapping) else stresses
        result.update({s.name: s for s in items})
    return result


def stress(scenario: Scenario, *, suite: str | None = "standard", stresses=None, draws: int | None = None,
           seed=None, workers: int = 1, target_probability: float = 0.5, quantiles=DEFAULT_QUANTILES,
           baseline=None):
    """Run the baseline and every stress with common random numbers.

    Parameters
    ----------
    scenario : Scenario
    suite : str or None, default "standard"
        Built-in stresses (churn x1.5, conversion x0.7, expansion x0.5, ACV x0.8, sales
        cycle +3 months, budget x0.75 and a correlated bad year); ``None`` for none.
    stresses : mapping or sequence of Stress, optional
        More stresses; the scenario's own ``[stresses]`` are always included.
    draws, seed, workers
        As in :func:`simkit.simulate`; every run shares them.
    target_probability : float, default 0.5
        A threshold whose probability falls below this under a stress is flagged.
    baseline : xarray.Dataset, optional
        Results of ``scenario`` already simulated with these draws and seed (e.g. by
        ``simkit stress`` for the board pack), used instead of simulating it again.

    Returns
    -------
    xarray.Dataset
        Over ``stress`` (``baseline`` first): ``probability`` and ``std_error``
        (stress, segment, threshold); ``probability_change`` and its paired
        ``change_std_error``; ``below_target`` (stress, segment, threshold);
        per-segment metric bands (stress, segment, quantile) for the key metrics and
        company bands (stress, quantile) for ARR at horizon, lowest cash and runway.
    """
    import xarray as xr

    chosen = resolve_stresses(scenario, suite, stresses)
    runs = {"baseline": scenario}
    descriptions = {"baseline": "the scenario as written"}
    for name, item in chosen.items():
        runs[name] = apply_stress(scenario, item)
        descriptions[name] = item.description or ", ".join(
            f"{s.input} {s.operation} {s.value if not hasattr(s.value, 'describe') else s.value.describe()}"
            for s in item.shocks)
    q = np.asarray(quantiles, dtype=float)
    cleared, metric_bands, company_bands = {}, {}, {}
    run_seed = scenario.seed if seed is None else seed
    for name, variant in runs.items():
        if name == "baseline" and baseline is not None:
            ds = reuse(baseline, scenario, draws, run_seed)
        else:
            ds = simulate(variant, draws=draws, seed=run_seed, workers=workers, keep_paths=False)
        cleared[name] = threshold_clearance(ds)
        metric_bands[name] = {m: _band(ds[m].transpose("segment", "draw").values, m, q) for m in KEY_METRICS}
        company_bands[name] = {m: _band(ds[m].values, m, q) for m in _COMPANY_METRICS}
        threshold_values = ds["threshold_value"]
    names = list(runs)
    stacked = xr.concat([cleared[n] for n in names], dim="stress").assign_coords(stress=names)
    n = stacked.sizes["draw"]
    probability = stacked.mean("draw", skipna=False)
    difference = stacked - stacked.sel(stress="baseline")
    change = difference.mean("draw", skipna=False)
    change_se = difference.std("draw", ddof=1, skipna=False) / np.sqrt(n)
    data = {
        "probability": probability.assign_attrs(units="probability",
                                                description="share of futures that clear the threshold"),
        "std_error": np.sqrt(probability * (1 - probability) / n).assign_attrs(
            units="probability", description="Monte Carlo standard error of the probability"),
        "probability_change": change.assign_attrs(
            units="probability", description="probability under the stress minus the baseline's (paired draws)"),
        "change_std_error": change_se.assign_attrs(
            units="probability", description="standard error of the paired change (common random numbers)"),
        "below_target": (probability < target_probability).where(probability.notnull()).assign_attrs(
            description=f"1 when the probability is below {target_probability:g}"),
    }
    for metric in KEY_METRICS:
        data[metric] = (("stress", "segment", "quantile"), np.stack([metric_bands[n][metric] for n in names]))
    for metric in _COMPANY_METRICS:
        data[metric] = (("stress", "quantile"), np.stack([company_bands[n][metric] for n in names]))
    result = xr.Dataset(data, coords={"quantile": q, "stress_description": ("stress", [descriptions[n] for n in names])})
    result["threshold_value"] = threshold_values
    result.attrs.update(scenario_name=scenario.name, draws=n, target_probability=target_probability,
                        seed=str(scenario.seed if seed is None else seed), currency=scenario.currency,
                        simkit_version=__version__,
                        method="common random numbers: same seed, blocks and per-input streams")
    return result


def reuse(results, scenario: Scenario, draws, seed):
    """Results given by the caller, checked to be the run that would be simulated here."""
    from ..simulation import seed_sequence

    expected_draws = scenario.draws if draws is None else draws
    same = (results.attrs.get("scenario_hash") == scenario.content_hash
            and int(results.attrs.get("draws", -1)) == expected_draws
            and results.attrs.get("seed_entropy") == str(seed_sequence(seed).entropy))
    if not same:
        raise ValueError("the results given are not this scenario's run with these draws and seed")
    return results


def _band(values: np.ndarray, metric: str, q: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if metric == "payback_months":
        values = np.where(np.isnan(values), np.inf, values)
    return _quantile_kernel(values, q)


def _clearance_probability(scenario: Scenario, segment: str, threshold: str, draws, seed, workers) -> tuple[float, float]:
    ds = simulate(scenario, draws=draws, seed=seed, workers=workers, keep_paths=False)
    cleared = threshold_clearance(ds).sel(segment=segment, threshold=threshold).values
    if np.isnan(cleared).all():
        raise ValueError(f"segment {segment!r} has no threshold {threshold!r}")
    p = float(cleared.mean())
    return p, float(np.sqrt(p * (1 - p) / cleared.size))


def reverse_stress(scenario: Scenario, *, input: str, segment: str, threshold: str = "ltv_cac_min",
                   target_probability: float = 0.5, operation: str = "scale", direction: str = "auto",
                   limit: float | None = None, tolerance: float = 0.01, draws: int | None = None, seed=None,
                   workers: int = 1) -> dict:
    """The smallest shock at which a segment stops clearing a threshold with the target probability.

    Bisection on the shock's size (a multiplier for ``scale``, an amount for ``shift``)
    between no shock and ``limit``; every evaluation uses the same seed, so the probability
    is a deterministic, nearly monotone function of the shock.

    Parameters
    ----------
    input : str
        Dotted input path, wildcards allowed (``segments.enterprise.annual_churn``).
    segment, threshold : str
        What must hold, e.g. ``"enterprise"`` and ``"ltv_cac_min"`` (or ``"all"``).
    target_probability : float, default 0.5
    operation : {"scale", "shift"}
    direction : {"auto", "up", "down"}
        Which way hurts; ``auto`` tries both ends and picks the one that lowers the
        probability.
    limit : float, optional
        The furthest shock to try (default x3 / x0 for scale, +/-12 for shift).
    tolerance : float, default 0.01
        Width of the final bracket on the shock.

    Returns
    -------
    dict
        ``breaking_shock`` (the smallest tried shock below the target; NaN when even the
        limit keeps the segment above it, 1 or 0 when the baseline is already below),
        ``bracket`` (last shock above and first below), ``probability_at`` (shock ->
        probability, every evaluation), and the inputs.
    """
    if not scenario.match_inputs(input):
        raise KeyError(f"{input!r} matches no input of scenario {scenario.name!r}")
    seed = scenario.seed if seed is None else seed
    neutral = 1.0 if operation == "scale" else 0.0
    evaluated: dict[float, float] = {}

    def probability(size: float) -> float:
        if size not in evaluated:
            shocked = apply_shock(scenario, Shock(input, operation, size))
            evaluated[size] = _clearance_probability(shocked, segment, threshold, draws, seed, workers)[0]
        return evaluated[size]

    ends = {"up": 3.0 if operation == "scale" else 12.0, "down": 0.0 if operation == "scale" else -12.0}
    if direction == "auto":
        if limit is not None:
            far = limit
        else:
            far = min(ends.values(), key=probability)
    else:
        far = limit if limit is not None else ends[direction]
    base = probability(neutral)
    result = {"input": input, "segment": segment, "threshold": threshold, "operation": operation,
              "target_probability": target_probability, "baseline_probability": base}
    if base < target_probability:
        result.update(breaking_shock=neutral, bracket=(neutral, neutral))
    elif probability(far) >= target_probability:
        result.update(breaking_shock=float("nan"), bracket=(far, far))
    else:
        good, bad = neutral, far
        while abs(bad - good) > tolerance:
            middle = 0.5 * (good + bad)
            if probability(middle) >= target_probability:
                good = middle
            else:
                bad = middle
        result.update(breaking_shock=bad, bracket=(good, bad))
    result["probability_at"] = dict(sorted(evaluated.items()))
    return result


def frontier(scenario: Scenario, *, x: tuple[str, str, Sequence[float]], y: tuple[str, str, Sequence[float]],
             segment: str, threshold: str = "ltv_cac_min", draws: int | None = None, seed=None, workers: int = 1):
    """Probability of clearing a threshold over a grid of two shocks (e.g. enterprise
    conversion x sales-cycle length): the expansion plan's safe region.

    Parameters
    ----------
    x, y : (input pattern, operation, values)
        E.g. ``("motions.field_sales.conversion", "scale", [0.5, 0.75, 1.0])`` and
        ``("motions.field_sales.sales_cycle_months", "shift", [0, 3, 6])``.

    Returns
    -------
    xarray.Dataset
        ``probability`` over (``y``, ``x``) with the shock sizes as coordinates.
    """
    import xarray as xr

    seed = scenario.seed if seed is None else seed
    xs, ys = list(x[2]), list(y[2])
    grid = np.full((len(ys), len(xs)), np.nan)
    for i, y_value in enumerate(ys):
        shifted = apply_shock(scenario, Shock(y[0], y[1], y_value))
        for j, x_value in enumerate(xs):
            variant = apply_shock(shifted, Shock(x[0], x[1], x_value))
            grid[i, j] = _clearance_probability(variant, segment, threshold, draws, seed, workers)[0]
    return xr.Dataset(
        {"probability": (("y", "x"), grid, {"units": "probability",
                                            "description": f"P({segment} clears {threshold})"})},
        coords={"x": xs, "y": ys},
        attrs={"x_input": x[0], "x_operation": x[1], "y_input": y[0], "y_operation": y[1], "segment": segment,
               "threshold": threshold, "threshold_value": float(scenario.segments[segment].thresholds.get(
                   threshold, np.nan)) if threshold != "all" else np.nan,
               "scenario_name": scenario.name, "seed": str(seed), "simkit_version": __version__},
    )
