"""The monthly model, vectorized over draws: the hot loop of simkit.

One call simulates one block of draws. Arrays are shaped ``(draw, segment)`` or
``(draw, motion)``; the only Python loop is over months. Counts are float64 holding whole
numbers (exact below 2**53), so the same code runs with process noise (binomial counts)
and without it (counts replaced by their expectations, for the variance split and the
closed-form checks).

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

from . import economics

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
        )


def _stack(values: dict[str, np.ndarray], paths: list[str], size: int, default: float = 0.0) -> np.ndarray:
    """Columns of sampled inputs, (draw, len(paths)); a missing path is the default."""
    columns = [values.get(p, np.full(size, default)) if p is not None else np.full(size, default) for p in paths]
    return np.stack(columns, axis=1) if columns else np.zeros((size, 0))


def _allocations(plan: Plan, values: dict[str, np.ndarray], size: int):
    """Per-stage spend (draw, stage, motion) and CSMs (draw, stage, segment), cumulative overrides."""
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


def run_block(plan: Plan, values: dict[str, np.ndarray], rng: np.random.Generator | None,
              keep_paths: bool = True) -> dict[str, np.ndarray]:
    """Simulate one block of draws.

    Parameters
    ----------
    plan : Plan
    values : dict
        Sampled inputs by dotted path (from :func:`simkit.sample.sample_inputs`).
    rng : numpy.random.Generator or None
        Process noise. ``None`` replaces every random count by its expectation.
    keep_paths : bool
        Return the (draw, segment, month) and (draw, month) paths; metrics are always returned.
    """
    noise = rng is not None
    size = len(next(iter(values.values())))
    horizon, n_seg, n_mot = plan.horizon, len(plan.segments), len(plan.motions)
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
    has_csm_model = accounts_per_csm > 0

    motion = lambda field: _stack(values, [f"motions.{m}.{field}" for m in plan.motions], size)  # noqa: E731
    cost_per_lead = motion("cost_per_lead")
    conversion = motion("conversion")
    sales_cost = motion("sales_cost_per_won")
    lag = np.rint(motion("sales_cycle_months")).astype(np.intp)
    spend_by_stage, csms_by_stage = _allocations(plan, values, size)
    fixed_opex = values["company.fixed_opex_per_month"]
    motion_to_segment = np.zeros((n_mot, n_seg))
    motion_to_segment[np.arange(n_mot), plan.motion_segment] = 1.0

    start_customers = col("starting_customers")
    active = np.rint(start_customers) if noise else start_customers.copy()
    mrr = active * starting_acv / 12.0
    cash = values["company.starting_cash"].copy()
    rows = np.arange(size)

    stage = np.full(size, plan.starting_stage, dtype=np.intp)
    stage = np.maximum(stage, np.searchsorted(plan.stage_floors, 12.0 * mrr.sum(axis=1), side="right") - 1)
    stage_reached = np.full((size, len(plan.stages)), np.nan)
    for k in range(len(plan.stages)):
        stage_reached[stage >= k, k] = 0.0

    # Deals in the pipeline: wins decided in month t land in month t + lag.
    max_lag = int(lag.max()) if n_mot else 0
    arrivals = np.zeros((size, n_seg, horizon + max_lag + 1))
    closing_costs = np.zeros_like(arrivals)

    # Totals for the per-draw metrics.
    cac_spend = np.zeros((size, n_seg))
    cac_won = np.zeros((size, n_seg))
    exposure = np.zeros((size, n_seg))  # customer-months at risk of churn
    churned_total = np.zeros((size, n_seg))
    revenue_total = np.zeros((size, n_seg))
    cs_total = np.zeros((size, n_seg))
    runway = np.full(size, np.inf)
    cash_low = cash.copy()
    final_revenue = np.zeros((size, n_seg))

    paths = {}
    if keep_paths:
        for name in SEGMENT_PATHS:
            paths[name] = np.zeros((size, n_seg, horizon))
        paths["cash"] = np.zeros((size, horizon))
        paths["total_arr"] = np.zeros((size, horizon))
        paths["stage"] = np.zeros((size, horizon), dtype=np.int8)

    for t in range(horizon):
        spend = spend_by_stage[rows, stage]  # (draw, motion)
        csms = csms_by_stage[rows, stage]  # (draw, segment)
        leads = spend / cost_per_lead
        if noise:
            whole = np.floor(leads)
            leads = whole + (rng.random(leads.shape) < leads - whole)
            won_now = rng.binomial(leads.astype(np.int64), conversion).astype(float)
        else:
            won_now = leads * conversion
        lands = t + lag
        for j in range(n_mot):
            target = (rows, plan.motion_segment[j], lands[:, j])
            arrivals[target] += won_now[:, j]
            closing_costs[target] += won_now[:, j] * sales_cost[:, j]
        inside = lands < horizon  # deals that close within the horizon count toward CAC
        cac_spend += ((spend + sales_cost * won_now) * inside) @ motion_to_segment
        cac_won += (won_now * inside) @ motion_to_segment

        landed = arrivals[:, :, t]
        # Marketing is paid when the lead is bought, sales cost when the deal closes.
        acquisition = spend @ motion_to_segment + closing_costs[:, :, t]
        active = active + landed
        mrr = mrr + landed * acv / 12.0

        capacity = csms * accounts_per_csm
        with np.errstate(divide="ignore", invalid="ignore"):
            coverage = np.where(has_csm_model & (active > 0), np.minimum(1.0, capacity / active), 1.0)
        cs_cost = csms * csm_cost_month + active * account_cost_month
        monthly_churn = np.minimum(1.0, churn * (coverage + (1.0 - coverage) * uncovered_multiplier))
        if noise:
            churned = rng.binomial(active.astype(np.int64), monthly_churn).astype(float)
        else:
            churned = active * monthly_churn
        revenue = mrr
        exposure += active
        churned_total += churned
        revenue_total += revenue
        cs_total += cs_cost
        with np.errstate(divide="ignore", invalid="ignore"):
            kept = np.where(active > 0, (active - churned) / active, 0.0)
        after_churn = active - churned
        mrr_next = mrr * kept * (1.0 + expansion)

        cash = cash + (margin * revenue).sum(axis=1) - acquisition.sum(axis=1) - cs_cost.sum(axis=1) - fixed_opex
        runway = np.where(np.isinf(runway) & (cash < 0), float(t), runway)
        cash_low = np.minimum(cash_low, cash)
        final_revenue = revenue
        total_arr = 12.0 * revenue.sum(axis=1)
        if keep_paths:
            paths["customers"][:, :, t] = after_churn
            paths["won"][:, :, t] = landed
            paths["churned"][:, :, t] = churned
            paths["mrr"][:, :, t] = revenue
            paths["arr"][:, :, t] = 12.0 * revenue
            paths["acquisition_spend"][:, :, t] = acquisition
            paths["cs_cost"][:, :, t] = cs_cost
            paths["coverage"][:, :, t] = coverage
            paths["cash"][:, t] = cash
            paths["total_arr"][:, t] = total_arr
            paths["stage"][:, t] = stage
        active, mrr = after_churn, mrr_next
        reached = np.searchsorted(plan.stage_floors, total_arr, side="right") - 1
        new_stage = np.maximum(stage, reached)
        for k in range(len(plan.stages)):
            stage_reached[(new_stage >= k) & np.isnan(stage_reached[:, k]), k] = float(t)
        stage = new_stage

    metrics = _metrics(plan, acv, margin, churn, expansion, account_cost_month, csm_cost_month,
                       accounts_per_csm, cac_spend, cac_won, exposure, churned_total, revenue_total, cs_total)
    metrics["runway_months"] = runway
    metrics["cash_low"] = cash_low
    metrics["cash_final"] = cash
    metrics["arr_final"] = 12.0 * final_revenue
    metrics["total_arr_final"] = 12.0 * final_revenue.sum(axis=1)
    metrics["stage_reached_month"] = stage_reached
    metrics.update(paths)
    return metrics


def _metrics(plan, acv, margin, churn, expansion, account_cost_month, csm_cost_month, accounts_per_csm,
             cac_spend, cac_won, exposure, churned_total, revenue_total, cs_total) -> dict[str, np.ndarray]:
    """Per (draw, segment) unit economics from the block's totals (docs/model.md, section 4)."""
    with np.errstate(divide="ignore", invalid="ignore"):
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
    with np.errstate(divide="ignore", invalid="ignore"):
        ltv_cac = np.where(np.isinf(cac), 0.0, ltv / cac)
    payback = economics.payback_months(cac, acv, margin, realised_churn, expansion, plan.ltv_window, serve_cost)
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
