"""The compiled monthly loop (numba), with exact binomial samplers.

This is the only copy of the month-by-month model; ``_engine.run_block`` prepares its
inputs and turns its totals into metrics. It loops over draws, then months, then motions
and segments, keeping a draw's state in registers instead of sweeping (draw x segment)
arrays through memory once per operation.

Binomial variates are exact (no normal or Poisson approximation):

* ``n p < 10``: inversion by sequential search from ``(1 - p)^n`` (about ``n p + 1``
  steps, one uniform);
* otherwise BTRD, Hörmann's transformed rejection with decomposition (W. Hörmann, "The
  generation of binomial random variates", J. Statist. Comput. Simul. 46, 1993):
  about 1.2 uniforms per variate whatever ``n``;
* ``p > 1/2`` by symmetry, ``n - Binomial(n, 1 - p)``.

Uniforms come from the block's ``numpy.random.Generator`` (PCG64) inside compiled code, so
the stream is the same object the rest of simkit seeds and records.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Stirling-series corrections log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2]
# for k = 0..9 (Hörmann's table); larger k use the series.
_STIRLING_TAIL = np.array([
    0.08106146679532726, 0.04134069595540929, 0.02767792568499834, 0.02079067210376509,
    0.01664469118982119, 0.01387612882307075, 0.01189670994589177, 0.01041126526197209,
    0.009255462182712733, 0.008330563433362871,
])


@njit(cache=True, inline="always")
def _stirling_tail(k):
    if k < 10:
        return _STIRLING_TAIL[k]
    inverse = 1.0 / (k + 1.0)
    inverse2 = inverse * inverse
    return (1.0 / 12.0 - (1.0 / 360.0 - inverse2 / 1260.0) * inverse2) * inverse


# 1 / k for the inversion's recursion: a multiplication instead of a division per step.
_RECIPROCALS = np.array([0.0] + [1.0 / k for k in range(1, 257)])


@njit(cache=True, inline="always")
def _inversion(rng, n, start, ratio):
    """Inversion given start = (1 - p)^n and ratio = p / (1 - p)."""
    while True:
        u = rng.random()
        k = 0
        f = start
        while u > f:
            u -= f
            k += 1
            if k > n or k > 256:
                break  # float round-off left u unspent (probability ~1e-16): draw again
            f *= (n - k + 1) * _RECIPROCALS[k] * ratio
        else:
            return k


@njit(cache=True, inline="always")
def _binomial_inversion(rng, n, p):
    return _inversion(rng, n, math.exp(n * math.log1p(-p)), p / (1.0 - p))


@njit(cache=True, inline="always")
def _binomial_btrd(rng, n, p):
    spq = math.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    return _btrd(rng, n, p, spq, b, -0.0873 + 0.0248 * b + 0.01 * p, n * p + 0.5, 0.92 - 4.2 / b)


@njit(cache=True, inline="always")
def _btrd(rng, n, p, spq, b, a, c, vr):
    """BTRD given the set-up of its first test. Only that is computed up front: 86% of
    variates are accepted there, and the rest of the set-up (a logarithm and several
    divisions) would otherwise cost more than the variate itself."""
    npq = spq * spq
    urvr = 0.86 * vr
    ready = False
    m = 0
    r = nr = alpha = 0.0
    while True:
        v = rng.random()
        if v <= urvr:
            u = v / vr - 0.43
            return int(math.floor((2.0 * a / (0.5 - abs(u)) + b) * u + c))
        if not ready:
            m = int((n + 1) * p)
            r = p / (1.0 - p)
            nr = (n + 1) * r
            alpha = (2.83 + 5.1 / b) * spq
            ready = True
        if v >= vr:
            u = rng.random() - 0.5
        else:
            u = v / vr - 0.93
            u = math.copysign(0.5, u) - u
            v = vr * rng.random()
        us = 0.5 - abs(u)
        k = int(math.floor((2.0 * a / us + b) * u + c))
        if k < 0 or k > n:
            continue
        v = v * alpha / (a / (us * us) + b)
        km = abs(k - m)
        if km <= 15:
            # f(k) / f(m) by the recursion f(i) / f(i - 1) = (n + 1) r / i - r.
            f = 1.0
            if m < k:
                for i in range(m + 1, k + 1):
                    f *= nr / i - r
            elif m > k:
                for i in range(k + 1, m + 1):
                    v *= nr / i - r
            if v <= f:
                return k
            continue
        v = math.log(v)
        rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5)
        t = -km * km / (2.0 * npq)
        if v < t - rho:
            return k
        if v > t + rho:
            continue
        nm = n - m + 1
        h = (m + 0.5) * math.log((m + 1) / (r * nm)) + _stirling_tail(m) + _stirling_tail(n - m)
        nk = n - k + 1
        if v <= h + (n + 1) * math.log(nm / nk) + (k + 0.5) * math.log(nk * r / (k + 1)) \
                - _stirling_tail(k) - _stirling_tail(n - k):
            return k


@njit(cache=True, inline="always")
def binomial(rng, n, p):
    """One exact Binomial(n, p) variate (n >= 0 integer, 0 <= p <= 1)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    # By symmetry the samplers only ever see p <= 1/2 (no recursion: numba inlines this).
    flip = p > 0.5
    if flip:
        p = 1.0 - p
    if n * p < 10.0:
        k = _binomial_inversion(rng, n, p)
    else:
        k = _binomial_btrd(rng, n, p)
    return n - k if flip else k


# A prepared binomial: the set-up for one (n, p), reused while they do not change (a
# motion's leads and conversion are the same month after month within a draw).
_SETUP_SIZE = 9


@njit(cache=True, inline="always")
def prepare_binomial(n, p, setup):
    setup[0] = n
    setup[1] = p
    flip = p > 0.5
    q = 1.0 - p if flip else p
    setup[2] = 1.0 if flip else 0.0
    setup[8] = q
    if n <= 0 or p <= 0.0 or p >= 1.0:
        setup[3] = -1.0
    elif n * q < 10.0:
        setup[3] = 0.0
        setup[4] = math.exp(n * math.log1p(-q))
        setup[5] = q / (1.0 - q)
    else:
        setup[3] = 1.0
        spq = math.sqrt(n * q * (1.0 - q))
        b = 1.15 + 2.53 * spq
        setup[4] = spq
        setup[5] = b
        setup[6] = -0.0873 + 0.0248 * b + 0.01 * q
        setup[7] = 0.92 - 4.2 / b


@njit(cache=True, inline="always")
def prepared_binomial(rng, setup):
    """One Binomial variate for the (n, p) that ``setup`` was prepared for."""
    n = np.int64(setup[0])
    method = setup[3]
    if method < 0.0:
        return 0 if (n <= 0 or setup[1] <= 0.0) else n
    if method == 0.0:
        k = _inversion(rng, n, setup[4], setup[5])
    else:
        q = setup[8]
        k = _btrd(rng, n, q, setup[4], setup[5], setup[6], n * q + 0.5, setup[7])
    return n - k if setup[2] == 1.0 else k


@njit(cache=True)
def binomial_array(rng, n, p, out):
    """Fill ``out`` with Binomial(n[i], p[i]) (a test hook for the samplers)."""
    for i in range(out.size):
        out[i] = binomial(rng, n[i], p[i])


@njit(cache=True)
def simulate_block(rng, noise, horizon, keep_paths,
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
    events; the process-noise stream is consumed draw by draw, month by month, motions
    then segments.
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
    won_setup = np.zeros((n_motions, _SETUP_SIZE))

    for d in range(n_draws):
        arrivals[:, :] = 0.0
        closing[:, :] = 0.0
        running[:, :] = 0.0
        won_setup[:, 0] = -1.0  # nothing prepared for this draw yet
        starting_arr = 0.0
        for s in range(n_segments):
            active[s] = math.floor(start_customers[d, s] + 0.5) if noise else start_customers[d, s]
            mrr[s] = active[s] * starting_acv[d, s] / 12.0
            starting_arr += 12.0 * mrr[s]
        stage = starting_stage
        for k in range(n_stages):
            if starting_arr >= stage_floors[k] and k > stage:
                stage = k
        for k in range(n_stages):
            stage_reached[d, k] = 0.0 if k <= stage else np.nan
        cash = starting_cash[d]
        cash_low = cash
        runway = np.inf

        for t in range(horizon):
            for s in range(n_segments):
                marketing[s] = 0.0
            for j in range(n_motions):
                s = motion_segment[j]
                spend = spend_by_stage[d, stage, j]
                leads = spend / cost_per_lead[d, j]
                if noise:
                    whole = math.floor(leads)
                    if leads - whole > 0.0 and rng.random() < leads - whole:
                        whole += 1.0
                    # int64 holds up to 9.2e18 leads; beyond that (a budget of trillions at a
                    # millionth of a dollar a lead) the count is capped, not wrapped around.
                    whole = min(whole, 4.0e18)
                    if won_setup[j, 0] != whole or won_setup[j, 1] != conversion[d, j]:
                        prepare_binomial(np.int64(whole), conversion[d, j], won_setup[j])
                    won = float(prepared_binomial(rng, won_setup[j]))
                else:
                    won = leads * conversion[d, j]
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
                active[s] += landed
                mrr[s] += landed * acv[d, s] / 12.0
                csms = csms_by_stage[d, stage, s]
                coverage = 1.0
                if accounts_per_csm[d, s] > 0.0 and active[s] > 0.0:
                    coverage = min(1.0, csms * accounts_per_csm[d, s] / active[s])
                cs_cost = csms * csm_cost[d, s] + active[s] * account_cost[d, s]
                monthly_churn = min(1.0, churn[d, s] * (coverage + (1.0 - coverage) * uncovered_multiplier[d, s]))
                if noise:
                    churned = float(binomial(rng, np.int64(active[s]), monthly_churn))
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
        totals[d, :, :] = running
        company[d, 0] = runway
        company[d, 1] = cash_low
        company[d, 2] = cash


@njit(cache=True)
def payback_months(cac, acv, margin, churn, expansion, window, serve, tolerance, out):
    """The engine's payback: :func:`simkit.economics.payback_months` per (draw, segment),
    stopping at the payback month instead of sweeping the whole window (tests check the
    two agree)."""
    n_draws, n_segments = cac.shape
    for d in range(n_draws):
        for s in range(n_segments):
            target = cac[d, s]
            if target == 0.0:
                out[d, s] = 0.0
                continue
            out[d, s] = np.nan
            if not (target > 0.0 and target < np.inf):
                continue
            threshold = target * (1.0 - tolerance)
            monthly_margin = acv[d, s] / 12.0 * margin[d, s]
            survival = 1.0 - churn[d, s]
            growth = 1.0 + expansion[d, s]
            cumulative = 0.0
            for month in range(window):
                cumulative += survival ** month * (monthly_margin * growth ** month - serve[d, s])
                if cumulative >= threshold:
                    out[d, s] = month + 1.0
                    break
