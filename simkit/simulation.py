"""Run a scenario: cut draws into fixed blocks, simulate them (optionally in processes) and
assemble one labelled :class:`xarray.Dataset`.

Block ``k`` always covers the same draws and always uses the random streams derived from
``SeedSequence(seed)`` and ``k``; how blocks are grouped into chunks, and which process
computes which chunk, cannot change a single bit of the result.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from . import _engine
from ._version import __version__
from .sample import sample_inputs
from .scenario.model import THRESHOLD_METRICS, Scenario

__all__ = ["simulate", "BLOCK_DRAWS", "seed_sequence"]

#: Draws per block: the unit that owns a random stream. Changing it changes results, so it
#: is recorded in every Dataset's attributes.
BLOCK_DRAWS = 8192

_PROCESS_NOISE = 2  # spawn-key tag of a block's process-noise stream (0, 1: parameters)


def seed_sequence(seed) -> np.random.SeedSequence:
    """A SeedSequence from an int, a SeedSequence, a Generator or None (fresh entropy)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        # Derive, do not share: the Generator's own stream stays the caller's.
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    return np.random.SeedSequence(seed)


def _blocks(draws: int) -> list[tuple[int, int, int]]:
    """(block number, first draw, size) covering ``draws``."""
    return [(k, start, min(BLOCK_DRAWS, draws - start)) for k, start in enumerate(range(0, draws, BLOCK_DRAWS))]


def _noise_stream(root: np.random.SeedSequence, block: int) -> np.random.Generator:
    child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, block, _PROCESS_NOISE))
    return np.random.Generator(np.random.PCG64(child))


def _run_blocks(scenario: Scenario, root: np.random.SeedSequence, blocks, noise: bool, keep_paths: bool):
    plan = _engine.Plan.from_scenario(scenario)
    uncertain = list(scenario.uncertain_inputs())
    results = []
    for k, _, size in blocks:
        values = sample_inputs(scenario, size, root, k)
        out = _engine.run_block(plan, values, _noise_stream(root, k) if noise else None, keep_paths)
        out["_inputs"] = {p: values[p] for p in _friendly_paths(scenario)}
        out["_sampled"] = np.stack([values[p] for p in uncertain], axis=1) if uncertain else np.zeros((size, 0))
        results.append(out)
    return results


def _chunk_worker(args):
    scenario, root, blocks, noise, keep_paths = args
    return _run_blocks(scenario, root, blocks, noise, keep_paths)


def simulate(
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed=None,
    workers: int = 1,
    process_noise: bool = True,
    keep_paths: bool = True,
    chunk_draws: int | None = None,
    progress: Callable[[int, int], None] | None = None,
):
    """Simulate a scenario into an :class:`xarray.Dataset`.

    Parameters
    ----------
    scenario : Scenario
        From :func:`simkit.load`.
    draws : int, optional
        Simulated futures; default the scenario's ``scenario.draws``.
    seed : int, SeedSequence or Generator, optional
        Default the scenario's ``scenario.seed``. The same seed gives the same Dataset,
        bit for bit, whatever ``workers`` and ``chunk_draws``.
    workers : int, default 1
        Processes on this machine.
    process_noise : bool, default True
        ``False`` replaces every random count (leads, wins, churn) by its expectation,
        keeping parameter uncertainty only (used by the variance split).
    keep_paths : bool, default True
        Keep the month-by-month paths (draw, segment, month). ``False`` keeps per-draw
        metrics only, for very large runs.
    chunk_draws : int, optional
        Draws per unit of work handed to a process (rounded up to whole blocks of
        ``BLOCK_DRAWS``); affects speed and memory, never the result.
    progress : callable, optional
        Called as ``progress(draws_done, draws_total)`` after each chunk.

    Returns
    -------
    xarray.Dataset
        Dims ``draw``, ``segment``, ``motion``, ``month``, ``stage_name``, ``threshold``,
        ``input``; units and descriptions in each variable's ``attrs``; provenance in the
        Dataset's ``attrs``. See ``docs/model.md`` for every variable.
    """
    draws = scenario.draws if draws is None else int(draws)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    root = seed_sequence(scenario.seed if seed is None else seed)
    blocks = _blocks(draws)
    per_chunk = max(1, -(-(chunk_draws or BLOCK_DRAWS * 4) // BLOCK_DRAWS))
    chunks = [blocks[i : i + per_chunk] for i in range(0, len(blocks), per_chunk)]
    workers = max(1, min(int(workers), len(chunks)))

    results: list[dict] = []
    done = 0
    if workers == 1:
        for chunk in chunks:
            results.extend(_run_blocks(scenario, root, chunk, process_noise, keep_paths))
            done += sum(size for _, _, size in chunk)
            if progress:
                progress(done, draws)
    else:
        context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            jobs = [(scenario, root, chunk, process_noise, keep_paths) for chunk in chunks]
            # map() returns in submission order, so blocks are assembled in block order.
            for chunk, out in zip(chunks, pool.map(_chunk_worker, jobs)):
                results.extend(out)
                done += sum(size for _, _, size in chunk)
                if progress:
                    progress(done, draws)
    return _assemble(scenario, results, root, draws, process_noise, keep_paths)


_SEGMENT_INPUT_FIELDS = ("acv", "gross_margin", "annual_churn", "monthly_churn", "annual_expansion",
                         "monthly_expansion", "cost_to_serve_per_year", "starting_customers")
_MOTION_INPUT_FIELDS = ("cost_per_lead", "conversion", "sales_cost_per_won", "sales_cycle_months")


def _friendly_paths(scenario: Scenario) -> list[str]:
    inputs = scenario.inputs()
    wanted = [f"segments.{s}.{f}" for s in scenario.segments for f in _SEGMENT_INPUT_FIELDS]
    wanted += [f"motions.{m}.{f}" for m in scenario.motions for f in _MOTION_INPUT_FIELDS]
    return [p for p in wanted if p in inputs]


# name: (units, description)
_METRIC_ATTRS = {
    "cac": ("USD per customer", "customer acquisition cost: acquisition spend on deals that close within the "
            "horizon / customers won; inf when none was won"),
    "ltv": ("USD per customer", "lifetime value: expected survival-weighted gross-margin contribution of a new "
            "customer, less customer-success cost, over the LTV window, at this draw's realised churn"),
    "ltv_cac": ("ratio", "LTV divided by CAC; 0 when no customer was won"),
    "payback_months": ("months", "CAC payback: first month in which a new customer's cumulative survival-"
                       "weighted contribution reaches CAC; NaN when not within the LTV window"),
    "nrr": ("fraction per year", "net revenue retention over 12 months at realised churn and sampled expansion"),
    "grr": ("fraction per year", "gross revenue retention over 12 months at realised churn"),
    "annual_churn": ("fraction per year", "realised annual logo churn: 1 - (1 - churned / customer-months)^12"),
    "annual_expansion": ("fraction per year", "annual expansion of surviving revenue (sampled)"),
    "cs_cost_share": ("fraction of revenue", "customer-success and service cost / revenue over the horizon"),
    "cs_cost_per_account": ("USD per account per year", "customer-success and service cost per account-year"),
    "customers_won": ("customers", "customers won by deals that close within the horizon"),
    "customers": ("customers", "active customers at the end of the month (after churn)"),
    "won": ("customers", "new customers whose deal closed in the month"),
    "churned": ("customers", "customers lost at the end of the month"),
    "mrr": ("USD per month", "monthly recurring revenue billed in the month"),
    "arr": ("USD per year", "annual recurring revenue run-rate: 12 x MRR of the month"),
    "acquisition_spend": ("USD per month", "marketing spend plus sales cost of deals closing in the month"),
    "cs_cost": ("USD per month", "CSM salaries plus per-account tooling and service cost"),
    "coverage": ("fraction", "share of accounts the segment's CSMs can cover (1 without a CSM model)"),
    "cash": ("USD", "cash at the end of the month"),
    "total_arr": ("USD per year", "company ARR: sum over segments"),
    "stage": ("stage index", "company stage in effect during the month (index into the stage_name coordinate)"),
    "arr_final": ("USD per year", "segment ARR in the last month of the horizon"),
    "total_arr_final": ("USD per year", "company ARR in the last month of the horizon"),
    "cash_low": ("USD", "lowest cash over the horizon (starting cash included)"),
    "cash_final": ("USD", "cash at the end of the horizon"),
    "runway_months": ("months", "first month that ends with negative cash; inf when cash never runs out"),
    "stage_reached_month": ("month", "month whose ARR first reached the stage (0 for the starting stage and "
                            "below); NaN when not reached within the horizon"),
}


def _assemble(scenario: Scenario, results: list[dict], root, draws: int, process_noise: bool, keep_paths: bool):
    import xarray as xr

    def cat(name):
        return np.concatenate([r[name] for r in results], axis=0)

    segments = list(scenario.segment_names)
    coords = {
        "draw": np.arange(draws),
        "segment": segments,
        "motion": list(scenario.motion_names),
        "month": np.arange(scenario.horizon_months),
        "stage_name": list(scenario.stage_names),
        "stage_arr_from": ("stage_name", np.array([s.arr_from for s in scenario.stages.values()])),
        "motion_segment": ("motion", [m.segment for m in scenario.motions.values()]),
    }
    data = {}
    for name in ("cac", "ltv", "ltv_cac", "payback_months", "nrr", "grr", "annual_churn", "annual_expansion",
                 "cs_cost_share", "cs_cost_per_account", "customers_won"):
        data[name] = (("draw", "segment"), cat(name))
    data["runway_months"] = (("draw",), cat("runway_months"))
    data["arr_final"] = (("draw", "segment"), cat("arr_final"))
    for name in ("total_arr_final", "cash_low", "cash_final"):
        data[name] = (("draw",), cat(name))
    data["stage_reached_month"] = (("draw", "stage_name"), cat("stage_reached_month"))
    if keep_paths:
        for name in _engine.SEGMENT_PATHS:
            data[name] = (("draw", "segment", "month"), cat(name))
        for name in _engine.COMPANY_PATHS:
            data[name] = (("draw", "month"), cat(name))

    # Sampled inputs, in the shape an analyst thinks of them.
    inputs = {k: np.concatenate([r["_inputs"][k] for r in results]) for k in results[0]["_inputs"]}
    for field in _SEGMENT_INPUT_FIELDS:
        columns = [inputs.get(f"segments.{s}.{field}") for s in segments]
        if any(c is not None for c in columns):
            stacked = np.stack([c if c is not None else np.full(draws, np.nan) for c in columns], axis=1)
            data[f"input_{field}"] = (("draw", "segment"), stacked, {"description": f"sampled segments.*.{field}"})
    for field in _MOTION_INPUT_FIELDS:
        columns = [inputs[f"motions.{m}.{field}"] for m in scenario.motions]
        if columns:
            data[f"input_{field}"] = (("draw", "motion"), np.stack(columns, axis=1),
                                      {"description": f"sampled motions.*.{field}"})
    uncertain = list(scenario.uncertain_inputs())
    coords["input"] = uncertain
    data["sampled"] = (("draw", "input"), np.concatenate([r["_sampled"] for r in results], axis=0),
                       {"description": "every uncertain input as sampled, by dotted path"})

    # Thresholds travel with the results, so summaries need nothing but the Dataset.
    keys = list(THRESHOLD_METRICS)
    table = np.full((len(segments), len(keys)), np.nan)
    for i, seg in enumerate(scenario.segments.values()):
        for j, key in enumerate(keys):
            if key in seg.thresholds:
                table[i, j] = seg.thresholds[key]
    coords["threshold"] = keys
    coords["threshold_metric"] = ("threshold", [THRESHOLD_METRICS[k][0] for k in keys])
    coords["threshold_comparison"] = ("threshold", [THRESHOLD_METRICS[k][1] for k in keys])
    data["threshold_value"] = (("segment", "threshold"), table,
                               {"description": "health threshold per segment (NaN: not checked)"})

    ds = xr.Dataset({k: v for k, v in data.items()}, coords=coords)
    for name, (units, description) in _METRIC_ATTRS.items():
        if name in ds:
            ds[name].attrs.update(units=units, description=description)
    for name in ds.data_vars:
        if name.startswith("input_"):
            ds[name].attrs.setdefault("units", "as written in the scenario (rates annual unless monthly_*)")
    ds["sampled"].attrs["units"] = "as written in the scenario"
    ds["threshold_value"].attrs["units"] = "units of the metric named by threshold_metric"
    if "stage" in ds:
        # CF-style flags, so a reader of results.nc sees stage names, not bare integers.
        ds["stage"].attrs.update(flag_values=np.arange(len(scenario.stages), dtype=np.int8),
                                 flag_meanings=" ".join(scenario.stage_names))
    # "months", not "months since ...": CF readers would decode the latter as calendar time.
    ds.month.attrs.update(units="months", description="month index from the start; 0 is the first simulated month")
    ds.attrs.update(_provenance(scenario, root, draws, process_noise, keep_paths))
    return ds


def _provenance(scenario: Scenario, root, draws: int, process_noise: bool, keep_paths: bool) -> dict:
    import scipy
    import xarray

    return {
        "title": f"simkit results: {scenario.name}",
        "scenario_name": scenario.name,
        "scenario_description": scenario.description,
        "scenario_hash": scenario.content_hash,
        "scenario_json": scenario_json(scenario),
        "currency": scenario.currency,
        "horizon_months": scenario.horizon_months,
        "ltv_window_months": scenario.ltv_window_months,
        "draws": draws,
        "seed_entropy": str(root.entropy),
        "seed_spawn_key": json.dumps(list(root.spawn_key)),
        "block_draws": BLOCK_DRAWS,
        "process_noise": int(process_noise),
        "paths_kept": int(keep_paths),
        "simkit_version": __version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "xarray_version": xarray.__version__,
        "python_version": sys.version.split()[0],
        "platform": f"{sys.platform}-{os.uname().machine if hasattr(os, 'uname') else ''}",
    }


def scenario_json(scenario: Scenario) -> str:
    """The scenario's source tables as JSON, when it was loaded from a file or dict."""
    return scenario.source_json
