"""The month loop one draw at a time: the oracle the kernel is tested against.

This is ``simulate_block`` as simkit ran it before its kernel took 8 draws at once
(``simkit._kernel``, git cf9ba6c), kept here, outside the package, only to check that the
kernel gives every draw exactly what this plain loop gives it (tests/test_lanes.py). Same
arguments and outputs as ``simkit._kernel.simulate_block``; the samplers are the kernel's
own.
"""

import numpy as np
from numba import njit

from simkit._kernel import (
    _BEYOND,
    _FRACTION,
    _FRACTION_WINS,
    _LEADS,
    _MOST_TRIALS,
    _MOTION_SLOTS,
    _RATE_SETUP_SIZE,
    _SETUP_SIZE,
    _SPEND,
    TABLE_CAPACITY,
    _binomial_beyond_int64,
    _churn_at,
    _set_motions,
    binomial_at_rate,
    prepare_rate,
    table_variate,
    untabled_binomial,
)
from simkit._random import STATE_WORDS, load, seed_stream, store, uniform


@njit(cache=True)
def simulate_block(noise, key, first_draw, streams, horizon, keep_paths,
                   acv, starting_acv, margin, churn, expansion, account_cost, csm_cost, accounts_per_csm,
                   uncovered_multiplier, start_customers,
                   cost_per_lead, conversion, sales_cost, lag, motion_segment,
                   spend_by_stage, csms_by_stage, stage_floors, starting_stage, fixed_opex, starting_cash,
                   totals, company, stage_reached, segment_paths, company_paths):
    """The monthly model for one block of draws; fills the preallocated outputs.

    ``totals`` (draw, segment, 7): CAC spend, CAC wins, customer-months at risk, churned,
    revenue, CS cost, revenue of the last month. ``company`` (draw, 3): runway, lowest
    cash, final cash. ``segment_paths`` (8, draw, segment, month) and ``company_paths``
    (3, draw, month) are written only when ``keep_paths``. See ``_engine`` for the order of
    events.

    Process noise (when ``noise``): draw ``d`` of the block is draw ``first_draw + d`` of
    the run, and its motion ``j`` draws leads and wins from stream ``streams[j]`` and its
    segment ``s`` draws churn from stream ``streams[n_motions + s]``, each stream seeded
    from (``key``, draw, stream id) by :func:`simkit._random.seed_stream`.
    """
    n_draws, n_segments = acv.shape
    n_motions = cost_per_lead.shape[1]
    n_stages = stage_floors.shape[0]
    max_lag = 0
    for d in range(n_draws):
        for j in range(n_motions):
            max_lag = max(max_lag, lag[d, j])
    arrivals = np.zeros((n_segments, horizon + max_lag + 1))
    closing = np.zeros((n_segments, horizon + max_lag + 1))
    active = np.zeros(n_segments)
    mrr = np.zeros(n_segments)
    marketing = np.zeros(n_segments)
    # The draw's running totals live in a small local array and are copied out once.
    running = np.zeros((n_segments, 7))
    motions = np.zeros((n_motions, _MOTION_SLOTS))
    won_setup = np.zeros((n_motions, _SETUP_SIZE))
    won_cdf = np.zeros((n_motions, TABLE_CAPACITY))
    won_guide = np.zeros((n_motions, TABLE_CAPACITY), dtype=np.int64)
    churn_setup = np.zeros((n_segments, _RATE_SETUP_SIZE))
    covered_churn = np.zeros(n_segments)
    state = np.zeros((n_motions + n_segments, STATE_WORDS), dtype=np.uint64)

    for d in range(n_draws):
        running[:, :] = 0.0
        won_setup[:, 0] = -1.0  # nothing prepared for this draw yet
        if noise:
            for i in range(n_motions + n_segments):
                seed_stream(state[i], key, first_draw + d, streams[i])
        starting_arr = 0.0
        for s in range(n_segments):
            # A segment without a capacity limit is fully covered every month: its churn,
            # and the sampler's set-up for it, are the draw's.
            covered_churn[s] = _churn_at(churn[d, s], 1.0, uncovered_multiplier[d, s])
            if noise:
                prepare_rate(covered_churn[s], churn_setup[s])
            active[s] = np.floor(start_customers[d, s] + 0.5) if noise else start_customers[d, s]
            mrr[s] = active[s] * starting_acv[d, s] / 12.0
            starting_arr += 12.0 * mrr[s]
        stage = starting_stage
        for k in range(n_stages):
            if starting_arr >= stage_floors[k] and k > stage:
                stage = k
        for k in range(n_stages):
            stage_reached[d, k] = 0.0 if k <= stage else np.nan
        _set_motions(motions, won_setup, won_cdf, won_guide, d, stage, horizon, noise,
                     spend_by_stage, cost_per_lead, conversion)
        cash = starting_cash[d]
        cash_low = cash
        runway = np.inf

        for t in range(horizon):
            for s in range(n_segments):
                marketing[s] = 0.0
            for j in range(n_motions):
                s = motion_segment[j]
                spend = motions[j, _SPEND]
                if noise:
                    stream = load(state, j)
                    extra = 0.0
                    if motions[j, _BEYOND] > 0.0:
                        extra, stream = _binomial_beyond_int64(stream, motions[j, _BEYOND], conversion[d, j])
                    # Table or not is decided here, not in a function taking the arrays
                    # (untabled_binomial says why); binomial_stream repeats these steps.
                    if won_setup[j, 3] == 2.0:
                        whole_won, stream = table_variate(stream, won_cdf, won_guide, j, won_setup)
                    else:
                        whole_won, stream = untabled_binomial(stream, np.int64(won_setup[j, 0]), won_setup[j, 3],
                                                              won_setup[j, 4], won_setup[j, 5], won_setup[j, 6],
                                                              won_setup[j, 7])
                    if won_setup[j, 2] == 1.0:  # drawn for 1 - p
                        whole_won = np.int64(won_setup[j, 0]) - whole_won
                    won = float(whole_won)
                    if motions[j, _FRACTION] > 0.0:
                        u, stream = uniform(stream)
                        if u < motions[j, _FRACTION_WINS]:
                            won += 1.0
                    won += extra
                    store(state, j, stream)
                else:
                    won = motions[j, _LEADS] * conversion[d, j]
                lands = t + lag[d, j]
                arrivals[s, lands] += won
                closing[s, lands] += won * sales_cost[d, j]
                marketing[s] += spend
                if lands < horizon:
                    running[s, 0] += spend + sales_cost[d, j] * won
                    running[s, 1] += won

            month_revenue = 0.0
            for s in range(n_segments):
                landed = arrivals[s, t]
                acquisition = marketing[s] + closing[s, t]
                # Emptied as read (and past the horizon at the draw's end) for the next draw.
                arrivals[s, t] = 0.0
                closing[s, t] = 0.0
                active[s] += landed
                mrr[s] += landed * acv[d, s] / 12.0
                csms = csms_by_stage[d, stage, s]
                cs_cost = csms * csm_cost[d, s] + active[s] * account_cost[d, s]
                coverage = 1.0
                monthly_churn = covered_churn[s]
                if accounts_per_csm[d, s] > 0.0:  # a CS capacity limit: churn follows this month's coverage
                    if active[s] > 0.0:
                        coverage = min(1.0, csms * accounts_per_csm[d, s] / active[s])
                    monthly_churn = _churn_at(churn[d, s], coverage, uncovered_multiplier[d, s])
                    if noise and churn_setup[s, 0] != monthly_churn:
                        prepare_rate(monthly_churn, churn_setup[s])
                if noise:
                    stream = load(state, n_motions + s)
                    if active[s] <= _MOST_TRIALS:
                        churned_count, stream = binomial_at_rate(stream, np.int64(active[s]), churn_setup, s)
                        churned = float(churned_count)
                    else:
                        churned, stream = _binomial_beyond_int64(stream, active[s], monthly_churn)
                    store(state, n_motions + s, stream)
                else:
                    churned = active[s] * monthly_churn
                revenue = mrr[s]
                running[s, 2] += active[s]
                running[s, 3] += churned
                running[s, 4] += revenue
                running[s, 5] += cs_cost
                running[s, 6] = revenue
                kept = (active[s] - churned) / active[s] if active[s] > 0.0 else 0.0
                cash += margin[d, s] * revenue - acquisition - cs_cost
                month_revenue += revenue
                if keep_paths:
                    segment_paths[0, d, s, t] = active[s] - churned
                    segment_paths[1, d, s, t] = landed
                    segment_paths[2, d, s, t] = churned
                    segment_paths[3, d, s, t] = revenue
                    segment_paths[4, d, s, t] = 12.0 * revenue
                    segment_paths[5, d, s, t] = acquisition
                    segment_paths[6, d, s, t] = cs_cost
                    segment_paths[7, d, s, t] = coverage
                active[s] -= churned
                mrr[s] = mrr[s] * kept * (1.0 + expansion[d, s])

            cash -= fixed_opex[d]
            if cash < 0.0 and runway == np.inf:
                runway = float(t)
            cash_low = min(cash_low, cash)
            total_arr = 12.0 * month_revenue
            if keep_paths:
                company_paths[0, d, t] = cash
                company_paths[1, d, t] = total_arr
                company_paths[2, d, t] = stage
            reached = stage
            for k in range(stage + 1, n_stages):
                if total_arr >= stage_floors[k]:
                    reached = k
            if reached > stage:
                for k in range(stage + 1, reached + 1):
                    stage_reached[d, k] = float(t)
                stage = reached
                if t + 1 < horizon:
                    _set_motions(motions, won_setup, won_cdf, won_guide, d, stage, horizon - t - 1, noise,
                                 spend_by_stage, cost_per_lead, conversion)
        arrivals[:, horizon:] = 0.0
        closing[:, horizon:] = 0.0
        totals[d, :, :] = running
        company[d, 0] = runway
        company[d, 1] = cash_low
        company[d, 2] = cash
