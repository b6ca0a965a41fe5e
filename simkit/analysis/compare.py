"""Plan comparison on paired draws: P(plan B beats plan A), and by how much.

All plans run with one seed. Inputs that the plans share (same dotted path) draw the same
uniforms in the same draw, and process noise follows the same block streams, so the
difference between two plans in draw ``i`` is the plans', not luck's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._version import __version__
from ..scenario.model import Scenario
from ..simulation import simulate
from .stress import reuse
from ..summarize import DEFAULT_QUANTILES, _quantile_kernel

__all__ = ["compare", "COMPANY_MEASURES", "SEGMENT_MEASURES"]

#: measure -> True when higher is better.
COMPANY_MEASURES = {"total_arr_final": True, "cash_low": True, "cash_final": True}
SEGMENT_MEASURES = {"ltv_cac": True, "payback_months": False, "arr_final": True, "cac": False}


def _beats(b: np.ndarray, a: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """1 when b is better than a, 0.5 on a tie, 0 when worse (per draw)."""
    if not higher_is_better:
        a, b = b, a
    with np.errstate(invalid="ignore"):
        return np.where(b > a, 1.0, np.where(b == a, 0.5, 0.0))


def _never_as_inf(values: np.ndarray, measure: str) -> np.ndarray:
    return np.where(np.isnan(values), np.inf, values) if measure == "payback_months" else values


def compare(scenarios: Sequence[Scenario], *, draws: int | None = None, seed=None, workers: int = 1,
            quantiles=DEFAULT_QUANTILES, reference_results=None):
    """Compare plans draw by draw against the first one.

    Parameters
    ----------
    scenarios : sequence of Scenario
        The first is the reference (plan A); each other plan is compared with it.
    draws, seed, workers
        As in :func:`simkit.simulate`; default the first scenario's draws and seed.
    reference_results : xarray.Dataset, optional
        Results of the first scenario already simulated with these draws and seed, used
        instead of simulating it again.

    Returns
    -------
    xarray.Dataset
        Over ``plan``: ``p_better_company`` (plan, company_measure) and
        ``p_better_segment`` (plan, segment, segment_measure) = P(plan beats the reference,
        ties counted half) with ``*_std_error``; ``difference_company`` and
        ``difference_segment`` = quantiles of (plan - reference) draw by draw; and
        ``value_company`` / ``value_segment`` = each plan's own bands. A payback that never
        happens counts as infinitely long. Segments a plan lacks are NaN.
    """
    import xarray as xr

    if len(scenarios) < 2:
        raise ValueError("compare needs at least two scenarios")
    reference = scenarios[0]
    draws = reference.draws if draws is None else draws
    seed = reference.seed if seed is None else seed
    q = np.asarray(quantiles, dtype=float)
    names = _unique_names([s.name for s in scenarios])
    segments = list(dict.fromkeys(seg for s in scenarios for seg in s.segment_names))
    results = [reuse(reference_results, s, draws, seed) if i == 0 and reference_results is not None
               else simulate(s, draws=draws, seed=seed, workers=workers, keep_paths=False)
               for i, s in enumerate(scenarios)]

    def segment_values(ds, measure, segment):
        if segment not in ds["segment"].values:
            return np.full(draws, np.nan)
        return _never_as_inf(ds[measure].sel(segment=segment).values.astype(float), measure)

    n_plans, company, per_segment = len(scenarios), list(COMPANY_MEASURES), list(SEGMENT_MEASURES)
    p_company = np.full((n_plans, len(company)), np.nan)
    diff_company = np.full((n_plans, len(company), len(q)), np.nan)
    value_company = np.full((n_plans, len(company), len(q)), np.nan)
    p_segment = np.full((n_plans, len(segments), len(per_segment)), np.nan)
    diff_segment = np.full((n_plans, len(segments), len(per_segment), len(q)), np.nan)
    value_segment = np.full((n_plans, len(segments), len(per_segment), len(q)), np.nan)
    for i, ds in enumerate(results):
        for j, measure in enumerate(company):
            a, b = results[0][measure].values, ds[measure].values
            value_company[i, j] = _quantile_kernel(b, q)
            p_company[i, j] = _beats(b, a, COMPANY_MEASURES[measure]).mean()
            with np.errstate(invalid="ignore"):
                diff_company[i, j] = _quantile_kernel(b - a, q)
        for k, segment in enumerate(segments):
            for j, measure in enumerate(per_segment):
                a, b = segment_values(results[0], measure, segment), segment_values(ds, measure, segment)
                if np.isnan(b).all():
                    continue
                value_segment[i, k, j] = _quantile_kernel(b, q)
                if np.isnan(a).all():
                    continue
                p_segment[i, k, j] = _beats(b, a, SEGMENT_MEASURES[measure]).mean()
                with np.errstate(invalid="ignore"):
                    difference = b - a
                # inf - inf (never paid back in both) is no difference.
                difference = np.where(np.isinf(a) & np.isinf(b) & (a == b), 0.0, difference)
                diff_segment[i, k, j] = _quantile_kernel(difference, q)

    def se(p):
        return np.sqrt(p * (1 - p) / draws)

    better = {"units": "probability", "description": "P(plan beats the reference plan), paired draws, ties half"}
    difference_attrs = {"description": "quantiles of (plan - reference), draw by draw"}
    return xr.Dataset(
        {
            "p_better_company": (("plan", "company_measure"), p_company, better),
            "p_better_company_std_error": (("plan", "company_measure"), se(p_company)),
            "difference_company": (("plan", "company_measure", "quantile"), diff_company, difference_attrs),
            "value_company": (("plan", "company_measure", "quantile"), value_company),
            "p_better_segment": (("plan", "segment", "segment_measure"), p_segment, better),
            "p_better_segment_std_error": (("plan", "segment", "segment_measure"), se(p_segment)),
            "difference_segment": (("plan", "segment", "segment_measure", "quantile"), diff_segment, difference_attrs),
            "value_segment": (("plan", "segment", "segment_measure", "quantile"), value_segment),
        },
        coords={"plan": names, "company_measure": company, "segment_measure": per_segment, "segment": segments,
                "quantile": q,
                "higher_is_better_company": ("company_measure", [COMPANY_MEASURES[m] for m in company]),
                "higher_is_better_segment": ("segment_measure", [SEGMENT_MEASURES[m] for m in per_segment])},
        attrs={"reference_plan": names[0], "draws": draws, "seed": str(seed), "currency": reference.currency,
               "simkit_version": __version__,
               "method": "paired draws: one seed, per-input streams keyed by dotted path"},
    )


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name} ({count + 1})")
    return result
