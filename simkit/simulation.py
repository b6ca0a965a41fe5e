"""Run a scenario: cut draws into fixed blocks, simulate them (optionally in processes) and
assemble one labelled :class:`xarray.Dataset`.

Block ``k`` always covers the same draws and always uses the random streams derived from
``SeedSequence(seed)`` and ``k``; how blocks are grouped into chunks, and which process
computes which chunk, cannot change a single bit of the result.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from . import _engine, _random
from ._children import end_with_parent
from ._memory import allocate
from ._version import __version__
from .errors import SimkitError
from .sample import sample_inputs
from .scenario.model import THRESHOLD_METRICS, Scenario

__all__ = ["simulate", "BLOCK_DRAWS", "seed_sequence"]

#: Draws per block: the unit that owns the parameter streams (process noise is keyed per
#: draw). Changing it changes results, so it is recorded in every Dataset's attributes.
BLOCK_DRAWS = 8192

# Spawn key of the process-noise key: the parameter streams' keys start with a block number
# (0, 1, 2, ...), which never reaches this.
_PROCESS_NOISE = 2**32 + 2


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


def noise_key(root: np.random.SeedSequence) -> np.ndarray:
    """The run's process-noise key: every draw's noise is a function of it and the draw's
    index (:mod:`simkit._random`), whatever block the draw falls in."""
    return _random.key_words(np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, _PROCESS_NOISE)))


def _run_blocks(scenario: Scenario, root: np.random.SeedSequence, blocks, noise: bool, path_draws: int):
    """Simulate whole blocks; paths are kept only for draws below ``path_draws``."""
    plan = _engine.Plan.from_scenario(scenario)
    uncertain = list(scenario.uncertain_inputs())
    key = noise_key(root) if noise else None
    results = []
    for k, start, size in blocks:
        values = sample_inputs(scenario, size, root, k)
        out = _engine.run_block(plan, values, key, start < path_draws, first_draw=start)
        # The uncertain inputs, once: the input_* variables are assembled from them.
        out["_sampled"] = np.stack([values[p] for p in uncertain], axis=1) if uncertain else np.zeros((size, 0))
        results.append((start, size, out))
    return results


def _chunk_worker(args):
    scenario, root, blocks, noise, path_draws = args
    return _run_blocks(scenario, root, blocks, noise, path_draws)


# Whole-run output arrays in memory shared with forked workers, which write their blocks
# into them directly: set in the parent just before the pool forks, read in the children.
_SHARED_COLLECTOR: "_Collector | None" = None


def _shared_chunk_worker(args):
    for start, size, out in _chunk_worker(args):
        _SHARED_COLLECTOR.add(start, size, out)
    return sum(size for _, _, size in args[2])


class _Collector:
    """Final arrays allocated once and filled block by block, so a run never holds its
    results twice (a list of blocks plus their concatenation)."""

    def __init__(self, draws: int, path_draws: int, shared: bool = False):
        self.draws, self.path_draws, self.shared = draws, path_draws, shared
        self.arrays: dict[str, np.ndarray] = {}

    def _total(self, name: str) -> int:
        is_path = name in _engine.SEGMENT_PATHS or name in _engine.COMPANY_PATHS
        return self.path_draws if is_path else self.draws

    def allocate_like(self, out: dict) -> None:
        """Allocate every array up front from one block's output (forked workers need
        them to exist before they start)."""
        for name, values in out.items():
            if name not in self.arrays:
                self.arrays[name] = allocate((self._total(name), *values.shape[1:]), values.dtype, self.shared)

    def add(self, start: int, size: int, out: dict) -> None:
        for name, values in out.items():
            total = self._total(name)
            if start >= total:
                continue
            if name not in self.arrays:
                if self.shared:  # an array made here would stay in this worker process
                    raise RuntimeError(f"simkit bug: block output {name!r} has no shared array")
                self.arrays[name] = allocate((total, *values.shape[1:]), values.dtype)
            stop = min(start + size, total)
            self.arrays[name][start:stop] = values[: stop - start]


def path_draws_for(scenario: Scenario, draws: int, keep_paths) -> int:
    """How many draws keep their month-by-month paths: all (True), none (False), the first
    N (an int), or by default as many as fit in about 80 MB (at least 500)."""
    if keep_paths is True:
        return draws
    if keep_paths is False:
        return 0
    if keep_paths is None:
        per_draw = scenario.horizon_months * (len(_engine.SEGMENT_PATHS) * len(scenario.segments)
                                              + len(_engine.COMPANY_PATHS))
        return min(draws, max(_MIN_PATH_DRAWS, _PATH_VALUES_BUDGET // per_draw))
    if int(keep_paths) < 0:
        raise ValueError(f"keep_paths must be True, False, None or a number of draws >= 0, got {keep_paths!r}")
    return min(draws, int(keep_paths))


# Month-by-month values kept by default: 10 million (80 MB of float64, 6,000 draws of the
# benchmark's 3 segments over 60 months), but never paths of fewer than 500 draws (a fan
# chart needs that many; 50 segments x 240 months: 390 MB).
_PATH_VALUES_BUDGET = 10_000_000
_MIN_PATH_DRAWS = 500


def simulate(
    scenario: Scenario,
    *,
    draws: int | None = None,
    seed=None,
    workers: int = 1,
    process_noise: bool = True,
    keep_paths: bool | int | None = None,
    chunk_draws: int | None = None,
    scheduler: str | None = None,
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
        bit for bit, whatever ``workers``, ``chunk_draws`` and ``scheduler``.
    workers : int, default 1
        Processes on this machine (or workers of a ``scheduler="local"`` cluster).
    process_noise : bool, default True
        ``False`` replaces every random count (leads, wins, churn) by its expectation,
        keeping parameter uncertainty only (used by the variance split).
    keep_paths : bool, int or None, default None
        Which draws keep their month-by-month paths (customers, ARR, cash ...): ``True``
        all, ``False`` none, an int the first that many. ``None`` keeps all draws when
        they fit in about 80 MB and otherwise the first ones that do (at least 500):
        plenty for fan charts, while per-draw metrics are kept for every draw. When
        fewer than all draws keep paths, path variables use the dimension ``path_draw``
        instead of ``draw``; the ``paths_kept_draws`` attribute says how many.
    chunk_draws : int, optional
        Draws per unit of work handed to a process (rounded up to whole blocks of
        ``BLOCK_DRAWS``); affects speed and memory, never the result.
    scheduler : str, optional
        Run the blocks on a dask.distributed cluster: a scheduler address
        (``"tcp://host:8786"``) or ``"local"`` for a LocalCluster of ``workers``
        processes. Needs ``pip install simkit[distributed]``.
    progress : callable, optional
        Called as ``progress(draws_done, draws_total)`` after each chunk.

    Returns
    -------
    xarray.Dataset
        Dims ``draw``, ``segment``, ``motion``, ``month``, ``stage_name``, ``threshold``,
        ``input``; units and descriptions in each variable's ``attrs``; provenance in the
        Dataset's ``attrs``. See ``docs/model.md`` for every variable.
    """
    with _garbage_collection_paused():
        return _simulate(scenario, draws, seed, workers, process_noise, keep_paths, chunk_draws, scheduler, progress)


@contextlib.contextmanager
def _garbage_collection_paused():
    """Python's cyclic garbage collector off for the duration, as :mod:`timeit` does.

    A run allocates a few dicts and arrays a block, which is enough to trigger full
    collections, and each walks every object numba, scipy and xarray created: 0.1-0.2 s a
    run at a million draws. The run makes no reference cycles of its own; its garbage is
    freed by reference counting as usual, and the collector is switched back on after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _simulate(scenario, draws, seed, workers, process_noise, keep_paths, chunk_draws, scheduler, progress):
    draws = scenario.draws if draws is None else int(draws)
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    root = seed_sequence(scenario.seed if seed is None else seed)
    path_draws = path_draws_for(scenario, draws, keep_paths)
    blocks = _blocks(draws)
    parallel = workers > 1 or scheduler is not None
    # Several processes: one block per task, so the work spreads evenly.
    default_chunk = BLOCK_DRAWS if parallel else BLOCK_DRAWS * 4
    per_chunk = max(1, -(-(chunk_draws or default_chunk) // BLOCK_DRAWS))
    chunks = [blocks[i : i + per_chunk] for i in range(0, len(blocks), per_chunk)]
    workers = max(1, int(workers))
    jobs = [(scenario, root, chunk, process_noise, path_draws) for chunk in chunks]

    collector = _Collector(draws, path_draws)
    done = 0

    def collect(chunk_result):
        nonlocal done
        for start, size, out in chunk_result:
            collector.add(start, size, out)
            done += size
        if progress:
            progress(done, draws)

    if scheduler is not None:
        _run_on_dask(scheduler, workers, jobs, collect)
    elif workers == 1 or len(chunks) == 1:
        for job in jobs:
            collect(_chunk_worker(job))
    else:
        # Compile (or load) the kernel once here, so forked workers inherit it; its output
        # gives the shapes of the arrays the workers will fill.
        probe = _run_blocks(scenario, root, [(0, 0, 1)], process_noise, min(path_draws, 1))
        can_fork = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if can_fork else "spawn")
        global _SHARED_COLLECTOR
        if can_fork:
            # Workers write straight into shared output: nothing is pickled back or copied.
            collector = _Collector(draws, path_draws, shared=True)
            collector.allocate_like(probe[0][2])
            _SHARED_COLLECTOR = collector
        try:
            with ProcessPoolExecutor(max_workers=min(workers, len(chunks)), mp_context=context,
                                     initializer=end_with_parent, initargs=(os.getpid(),)) as pool:
                if can_fork:
                    sizes = pool.map(_shared_chunk_worker, jobs)  # the workers start now
                    import xarray  # noqa: F401  (for _assemble, loaded while the workers compute)

                    for size in sizes:
                        done += size
                        if progress:
                            progress(done, draws)
                else:
                    # map() yields in submission order: blocks are assembled in block order.
                    for chunk_result in pool.map(_chunk_worker, jobs):
                        collect(chunk_result)
        finally:
            _SHARED_COLLECTOR = None
    return _assemble(scenario, collector, root, draws, process_noise, path_draws)


# How long to wait for a remote scheduler to answer.
_CONNECT_TIMEOUT = "20s"


def _run_on_dask(scheduler: str, workers: int, jobs, collect) -> None:
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SimkitError("scheduler needs dask.distributed: pip install 'simkit[distributed]'") from None
    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=_CONNECT_TIMEOUT)
        except OSError as exc:
            raise SimkitError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
    try:
        futures = client.map(_chunk_worker, jobs, pure=False)
        # Results are collected in block order, whichever worker finishes first.
        for future in futures:
            collect(future.result())
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


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


def _assemble(scenario: Scenario, collector: _Collector, root, draws: int, process_noise: bool, path_draws: int):
    import xarray as xr

    def cat(name):
        return collector.arrays[name]

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
    if path_draws:
        path_dim = "draw" if path_draws == draws else "path_draw"
        if path_dim == "path_draw":
            coords["path_draw"] = np.arange(path_draws)
        for name in _engine.SEGMENT_PATHS:
            data[name] = ((path_dim, "segment", "month"), cat(name))
        for name in _engine.COMPANY_PATHS:
            data[name] = ((path_dim, "month"), cat(name))

    # Sampled inputs, in the shape an analyst thinks of them: uncertain ones from the
    # sampled values, fixed ones repeated.
    uncertain = list(scenario.uncertain_inputs())
    sampled = cat("_sampled")
    column_of = {path: i for i, path in enumerate(uncertain)}
    friendly = set(_friendly_paths(scenario))
    fixed = sample_inputs(scenario, 1, root, 0)  # fixed inputs consume no randomness

    def stack(paths):
        if not any(path in column_of for path in paths):
            # Nothing uncertain: one row, broadcast over the draws (a read-only view that
            # takes no memory; saved files hold every draw as usual).
            row = np.array([fixed[path][0] if path in friendly else np.nan for path in paths])
            return np.broadcast_to(row, (draws, len(paths)))
        out = allocate((draws, len(paths)), float)
        for j, path in enumerate(paths):
            if path not in friendly:
                out[:, j] = np.nan  # a segment without the field (e.g. no expansion)
            elif path in column_of:
                out[:, j] = sampled[:, column_of[path]]
            else:
                out[:, j] = fixed[path][0]
        return out

    for field in _SEGMENT_INPUT_FIELDS:
        paths = [f"segments.{s}.{field}" for s in segments]
        if any(p in friendly for p in paths):
            data[f"input_{field}"] = (("draw", "segment"), stack(paths),
                                      {"description": f"sampled segments.*.{field}"})
    for field in _MOTION_INPUT_FIELDS:
        paths = [f"motions.{m}.{field}" for m in scenario.motions]
        if paths:
            data[f"input_{field}"] = (("draw", "motion"), stack(paths),
                                      {"description": f"sampled motions.*.{field}"})
    coords["input"] = uncertain
    data["sampled"] = (("draw", "input"), sampled,
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
    ds.attrs.update(_provenance(scenario, root, draws, process_noise, path_draws))
    return ds


def _provenance(scenario: Scenario, root, draws: int, process_noise: bool, path_draws: int) -> dict:
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
        "paths_kept": int(path_draws > 0),
        "paths_kept_draws": path_draws,
        "simkit_version": __version__,
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "xarray_version": xarray.__version__,
        "numba_version": _numba_version(),
        "python_version": sys.version.split()[0],
        "platform": f"{sys.platform}-{os.uname().machine if hasattr(os, 'uname') else ''}",
    }


def _numba_version() -> str:
    import numba

    return numba.__version__


def scenario_json(scenario: Scenario) -> str:
    """The scenario's source tables as JSON, when it was loaded from a file or dict."""
    return scenario.source_json
