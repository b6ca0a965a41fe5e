"""One block of draws through the monthly model.

``run_block`` turns sampled inputs (arrays shaped ``(draw, segment)`` or
``(draw, motion)``) into the compiled kernel's arguments, runs the kernel
(:mod:`simkit._kernel`, the only copy of the month loop) and turns its totals into the
per-draw metrics with numpy. Counts are float64 holding whole numbers (exact below
2**53), so the same code runs with process noise (binomial counts) and without it (counts
replaced by their expectations, for the variance split and the closed-form checks).

Order of events in month ``t`` (docs/model.md explains why):

1. the allocation of the draw's current stage sets each motion's spend; leads = spend / cost
   per lead (a fractional lead becomes one with probability equal to the fraction);
2. won ~ Binomial(leads, conversion) and lands ``sales_cycle_months`` later;
3. deals landing now join the segment at the draw's ACV and pay for this month;
4. revenue, CS cost (CSMs + per-account tooling and service) and coverage are computed;
5. churned ~ Binomial(active, monthly churn), raised on the uncovered share;
6. survivors' revenue grows by the monthly expansion rate;
7. cash moves by gross-margin revenue minus acquisition, CS and fixed costs; a draw whose
   total ARR reached a stage boundary switches allocation from the next month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _kernel, _random, economics
from ._memory import allocate
from .sample import path_key

# The kernel's key argument when no noise is drawn.
_NO_KEY = np.zeros(_random.KEY_WORDS, dtype=np.uint64)

# Variables kept per (draw, segment, month).
SEGMENT_PATHS = ("customers", "won", "churned", "mrr", "arr", "acquisition_spend", "cs_cost", "coverage")
# Variables kept per (draw, month).
COMPANY_PATHS = ("cash", "total_arr", "stage")


@dataclass(frozen=True)
class Plan:
    """What the engine needs from a Scenario, as names and index arrays (no distributions)."""

    segments: tuple[str, ...]
    motions: tuple[str, ...]
    stages: tuple[str, ...]
    stage_floors: np.ndarray  # ARR at which each stage starts, increasing
    motion_segment: np.ndarray  # (motion,) index of the segment each motion serves
    horizon: int
    ltv_window: int
    starting_stage: int  # from company.stage, or 0
    churn_is_monthly: tuple[bool, ...]
    expansion_is_monthly: tuple[bool, ...]
    touch_model: tuple[str, ...]  # per segment
    has_starting_acv: tuple[bool, ...]
    # Process-noise stream ids: one per motion (leads, wins), then one per segment (churn),
    # from their names, so adding or shocking one leaves the others' luck as it was.
    noise_streams: np.ndarray

    @classmethod
    def from_scenario(cls, scenario) -> "Plan":
        segments = scenario.segment_names
        return cls(
            segments=segments,
            motions=scenario.motion_names,
            stages=scenario.stage_names,
            stage_floors=np.array([s.arr_from for s in scenario.stages.values()], dtype=float),
            motion_segment=np.array([segments.index(m.segment) for m in scenario.motions.values()], dtype=np.intp),
            horizon=scenario.horizon_months,
            ltv_window=scenario.ltv_window_months,
            starting_stage=scenario.stage_names.index(scenario.company.stage) if scenario.company.stage else 0,
            churn_is_monthly=tuple(s.monthly_churn is not None for s in scenario.segments.values()),
            expansion_is_monthly=tuple(s.monthly_expansion is not None for s in scenario.segments.values()),
            touch_model=tuple(s.touch_model for s in scenario.segments.values()),
            has_starting_acv=tuple(s.starting_acv is not None for s in scenario.segments.values()),
            noise_streams=noise_streams(scenario.motion_names, segments),
        )


def _stack(values: dict[str, np.ndarray], paths: list[str], size: int, default: float = 0.0) -> np.ndarray:
    """Columns of sampled inputs, (draw, len(paths)); a missing path is the default."""
    columns = [values.get(p, np.full(size, default)) if p is not None else np.full(size, default) for p in paths]
    return np.stack(columns, axis=1) if columns else np.zeros((size, 0))


class _ReadsRecorded(dict):
    """Sampled inputs that remember which paths were asked for."""

    def __init__(self, *args):
        super().__init__(*args)
        self.read: set[str] = set()

    def __getitem__(self, path):
        self.read.add(path)
        return super().__getitem__(path)

    def get(self, path, default=None):
        self.read.add(path)
        return super().get(path, default)


def _allocations(plan: Plan, values: dict[str, np.ndarray], size: int):
    """Per-stage spend (draw, stage, motion) and CSMs (draw, stage, segment), cumulative overrides.

    Budgets and headcounts are usually plain numbers, the same in every draw: the plan is
    then worked out for one draw and repeated (a read-only view), where working it out
    per draw took 2-3 ms a block. Which inputs it depends on is recorded, not listed, so
    the shortcut cannot miss one.
    """
    first = _ReadsRecorded({path: column[:1] for path, column in values.items()})
    spend, csms = _allocations_per_draw(plan, first, 1)
    if all(np.all(values[path] == values[path][0]) for path in first.read if path in values):
        return np.broadcast_to(spend, (size, *spend.shape[1:])), np.broadcast_to(csms, (size, *csms.shape[1:]))
    return _allocations_per_draw(plan, values, size)


def _allocations_per_draw(plan: Plan, values: dict[str, np.ndarray], size: int):
    n_stages, n_motions, n_segments = len(plan.stages), len(plan.motions), len(plan.segments)
    budget = np.zeros((size, n_stages, n_motions))
    heads = np.zeros((size, n_stages, n_motions))
    csms = np.zeros((size, n_stages, n_segments))
    current_budget = _stack(values, [f"allocation.budget_per_month.{m}" for m in plan.motions], size)
    current_heads = _stack(values, [f"allocation.headcount.{m}" for m in plan.motions], size)
    current_csms = _stack(values, [f"allocation.csms.{s}" for s in plan.segments], size)
    for k, stage in enumerate(plan.stages):
        prefix = f"stages.{stage}.allocation"
        for j, m in enumerate(plan.motions):
            current_budget[:, j] = values.get(f"{prefix}.budget_per_month.{m}", current_budget[:, j])
            current_heads[:, j] = values.get(f"{prefix}.headcount.{m}", current_heads[:, j])
        for j, s in enumerate(plan.segments):
            current_csms[:, j] = values.get(f"{prefix}.csms.{s}", current_csms[:, j])
        budget[:, k] = current_budget
        heads[:, k] = current_heads
        csms[:, k] = current_csms
    cost_per_head = _stack(values, [f"motions.{m}.cost_per_head_per_year" for m in plan.motions], size)
    spend = budget + heads * (cost_per_head[:, None, :] / 12.0)
    return spend, np.rint(csms)


def noise_streams(motions, segments) -> np.ndarray:
    """Stream ids of the motions' and then the segments' process noise (distinct)."""
    ids: list[int] = []
    for name in [f"motions.{m}" for m in motions] + [f"segments.{s}" for s in segments]:
        stream, salt = path_key(name), 0
        while stream in ids:  # a crc32 collision (odds 1 in 4 billion a pair): salt the name
            salt += 1
            stream = path_key(f"{name}#{salt}")
        ids.append(stream)
    return np.array(ids, dtype=np.int64)


def run_block(plan: Plan, values: dict[str, np.ndarray], noise_key: np.ndarray | None,
              keep_paths: bool = True, first_draw: int = 0) -> dict[str, np.ndarray]:
    """Simulate one block of draws.

    Parameters
    ----------
    plan : Plan
    values : dict
        Sampled inputs by dotted path (from :func:`simkit.sample.sample_inputs`).
    noise_key : numpy.ndarray or None
        The run's process-noise key (:func:`simkit.simulation.noise_key`). ``None`` replaces
        every random count by its expectation.
    keep_paths : bool
        Return the (draw, segment, month) and (draw, month) paths; metrics are always returned.
    first_draw : int
        The run's index of the block's first draw: the noise of a draw depends on the key
        and this index only.
    """
    noise = noise_key is not None
    size = len(next(iter(values.values())))
    horizon, n_seg = plan.horizon, len(plan.segments)
    seg = plan.segments
    col = lambda field: _stack(values, [f"segments.{s}.{field}" for s in seg], size)  # noqa: E731

    acv = col("acv")
    starting_acv = np.where(np.array(plan.has_starting_acv), col("starting_acv"), acv)
    margin = col("gross_margin")
    churn_written = _stack(values, [f"segments.{s}.{'monthly' if m else 'annual'}_churn"
                                    for s, m in zip(seg, plan.churn_is_monthly)], size)
    churn = np.where(np.array(plan.churn_is_monthly), churn_written, economics.monthly_churn(churn_written))
    expansion_written = _stack(values, [f"segments.{s}.{'monthly' if m else 'annual'}_expansion"
                                        for s, m in zip(seg, plan.expansion_is_monthly)], size)
    expansion = np.where(np.array(plan.expansion_is_monthly), expansion_written,
                         economics.monthly_expansion(expansion_written))
    serve_per_account = col("cost_to_serve_per_year")
    touch = lambda field: _stack(values, [f"touch_models.{t}.{field}" for t in plan.touch_model], size)  # noqa: E731
    accounts_per_csm = np.rint(touch("accounts_per_csm"))
    csm_cost_month = touch("csm_cost_per_year") / 12.0
    account_cost_month = (touch("tooling_cost_per_account_per_year") + serve_per_account) / 12.0
    uncovered_multiplier = touch("uncovered_churn_multiplier")

    motion = lambda field: _stack(values, [f"motions.{m}.{field}" for m in plan.motions], size)  # noqa: E731
    cost_per_lead = motion("cost_per_lead")
    conversion = motion("conversion")
    sales_cost = motion("sales_cost_per_won")
    lag = np.rint(motion("sales_cycle_months")).astype(np.intp)
    spend_by_stage, csms_by_stage = _allocations(plan, values, size)
    fixed_opex = values["company.fixed_opex_per_month"]

    start_customers = col("starting_customers")
    cash_start = np.ascontiguousarray(values["company.starting_cash"], dtype=float)
    n_stages = len(plan.stages)

    # Every element of these is written by the kernel.
    totals = np.empty((size, n_seg, 7))
    company = np.empty((size, 3))
    stage_reached = np.empty((size, n_stages))
    if keep_paths:
        segment_paths = allocate((len(SEGMENT_PATHS), size, n_seg, horizon), float)
        company_paths = allocate((len(COMPANY_PATHS), size, horizon), float)
    else:
        segment_paths = np.zeros((len(SEGMENT_PATHS), 1, 1, 1))
        company_paths = np.zeros((len(COMPANY_PATHS), 1, 1))
    contiguous = lambda a: np.ascontiguousarray(a, dtype=float)  # noqa: E731
    _kernel.simulate_block(
        noise, noise_key if noise else _NO_KEY, int(first_draw), plan.noise_streams, horizon, keep_paths,
        contiguous(acv), contiguous(starting_acv), contiguous(margin), contiguous(churn), contiguous(expansion),
        contiguous(account_cost_month), contiguous(csm_cost_month), contiguous(accounts_per_csm),
        contiguous(uncovered_multiplier), contiguous(start_customers),
        contiguous(cost_per_lead), contiguous(conversion), contiguous(sales_cost), np.ascontiguousarray(lag, np.int64),
        np.ascontiguousarray(plan.motion_segment, np.int64),
        contiguous(spend_by_stage), contiguous(csms_by_stage), contiguous(plan.stage_floors), int(plan.starting_stage),
        contiguous(fixed_opex), cash_start,
        totals, company, stage_reached, segment_paths, company_paths,
    )
    cac_spend, cac_won, exposure, churned_total, revenue_total, cs_total, final_revenue = np.moveaxis(totals, 2, 0)
    paths = {}
    if keep_paths:
        for i, name in enumerate(SEGMENT_PATHS):
            paths[name] = segment_paths[i]
        paths["cash"], paths["total_arr"] = company_paths[0], company_paths[1]
        paths["stage"] = company_paths[2].astype(np.int8)

    metrics = _metrics(plan, acv, margin, churn, expansion, account_cost_month, csm_cost_month,
                       accounts_per_csm, cac_spend, cac_won, exposure, churned_total, revenue_total, cs_total)
    metrics["runway_months"] = company[:, 0]
    metrics["cash_low"] = company[:, 1]
    metrics["cash_final"] = company[:, 2]
    metrics["arr_final"] = 12.0 * final_revenue
    metrics["total_arr_final"] = 12.0 * final_revenue.sum(axis=1)
    metrics["stage_reached_month"] = stage_reached
    metrics.update(paths)
    return metrics


def _metrics(plan, acv, margin, churn, expansion, account_cost_month, csm_cost_month, accounts_per_csm,
             cac_spend, cac_won, exposure, churned_total, revenue_total, cs_total) -> dict[str, np.ndarray]:
    """Per (draw, segment) unit economics from the block's totals (docs/model.md, section 4)."""
    # Ratios of totals may be inf or NaN by design (no wins, no revenue): answers, not warnings.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # No deal won: CAC is +inf (money spent, nothing to show) and LTV:CAC is 0.
        cac = np.where(cac_won > 0, cac_spend / cac_won, np.inf)
        # Realised monthly churn: what this draw's customers actually did, so a segment
        # with 20 deals carries the luck of those 20 deals. With nobody at risk, the
        # sampled rate is the best estimate there is.
        realised_churn = np.where(exposure > 0, churned_total / exposure, churn)
        expected_csm_cost = np.where(accounts_per_csm > 0, csm_cost_month / accounts_per_csm, 0.0)
        serve_cost = np.where(exposure > 0, cs_total / exposure, account_cost_month + expected_csm_cost)
        cs_cost_share = np.where(revenue_total > 0, cs_total / revenue_total,
                                 np.where(cs_total > 0, np.inf, 0.0))
    realised_churn = np.clip(realised_churn, 0.0, 1.0)
    ltv = economics.lifetime_value(acv, margin, realised_churn, expansion, plan.ltv_window, serve_cost)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ltv_cac = np.where(np.isinf(cac), 0.0, ltv / cac)
    payback = np.empty_like(cac)
    _kernel.payback_months(cac, acv, margin, realised_churn, expansion, int(plan.ltv_window), serve_cost,
                           economics._RELATIVE_TOLERANCE, payback)
    grr = (1.0 - realised_churn) ** 12
    return {
        "cac": cac,
        "ltv": ltv,
        "ltv_cac": ltv_cac,
        "payback_months": payback,
        "nrr": grr * (1.0 + expansion) ** 12,
        "grr": grr,
        "annual_churn": 1.0 - grr,
        "annual_expansion": (1.0 + expansion) ** 12 - 1.0,
        "cs_cost_share": cs_cost_share,
        "cs_cost_per_account": 12.0 * serve_cost,
        "customers_won": cac_won,
    }
