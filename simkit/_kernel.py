"""The compiled monthly loop (numba), with exact binomial samplers.

This is the only copy of the month-by-month model (``simulate_block``);
``_engine.run_block`` prepares its inputs and turns its totals into metrics. It takes 8
draws at a time, then months, then motions and segments, keeping the draws' state in
registers instead of sweeping (draw x segment) arrays through memory once per operation.
Each of the 8 draws is one lane of an LLVM vector (:mod:`simkit._lanes`): revenue, costs,
cash and churn's branch-free inversion and BTRD's first test run in the lanes, each lane
computing exactly what its draw computes alone (``tests/one_draw_kernel.py`` is the loop
one draw at a time, and the tests hold the two equal bit for bit). What a lane does on its
own (a motion's wins, a table lookup each; an inversion past its branch-free steps; a
rejected BTRD proposal; a stage switch) it does with the scalar code below, so there is
one copy of each sampler.

Binomial variates are exact (no normal or Poisson approximation):

* ``n p < 22``: inversion by sequential search from ``(1 - p)^n`` (about ``n p + 1``
  steps, one uniform), its first steps without a branch;
* otherwise BTRD, Hörmann's transformed rejection with decomposition (W. Hörmann, "The
  generation of binomial random variates", J. Statist. Comput. Simul. 46, 1993):
  1.5-1.9 uniforms per variate whatever ``n``; the 30-50% of variates its first test does
  not settle (fewer as ``n p`` grows) are decided exactly by tabulated log-factorials below
  32,768 trials, by Hörmann's recursion and Stirling series above;
* one ``(n, p)`` drawn many times (a motion's wins, month after month): inversion through
  a table of the pmf from 3 sd below the mode to 3 above, from the mode's exact value
  (Loader's saddle-point form), with a guide table (Chen and Asau, 1974); the 0.3% of
  uniforms past it walk the tails from its ends. Built when the months left will use it
  at least once per 6 entries;
* ``p > 1/2`` by symmetry, ``n - Binomial(n, 1 - p)``.

Uniforms come from per-(draw, stream) SFC64 generators kept inline (:mod:`simkit._random`).
A sampler takes its stream as a tuple of four integers and returns it advanced with the
variate: no array is handed to the inlined samplers, so numba keeps no reference counts
in the month loop (they cost more than a table lookup).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import _numba_cache
from ._lanes import (
    LANES,
    bits,
    lane,
    lowest_bit,
    select,
    splat,
    uniforms,
    vabs,
    vcopysign,
    vexp,
    vfloor,
    vgather,
    vload,
    vlog,
    vsqrt,
    vstore,
    with_lane,
)
from ._random import STATE_WORDS, load, seed_stream, uniform

_numba_cache.register()  # before any function here is decorated

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
    # Four terms: the error at k = 10 is below 4e-13 (three left 3e-11, too coarse for the
    # tables' exact pmf at the mode, log_pmf).
    return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - inverse2 / 1680.0) * inverse2) * inverse2) * inverse


# 1 / k for the samplers' recursions: a multiplication instead of a division per step.
_RECIPROCALS = np.array([0.0] + [1.0 / k for k in range(1, 1025)])

# log(k!) for k below 2**15 (256 kB): BTRD's exact test for up to 32,767 trials in one log
# and four lookups, where the recursion or the Stirling series takes up to 15 steps or four
# logs. Each value is within a few ulps of log(k!) (Python's math.lgamma; below 2e-10
# absolute), so the test decides with an error below 1e-9 of the probability it compares.
_LOG_FACTORIALS = np.array([math.lgamma(k + 1.0) for k in range(1 << 15)])


# Inversion below this expected count n q, BTRD from it: up to here the branch-free search
# costs less than BTRD's variate (20-33 ns against 38-43 ns, measured at n p from 8 to 60).
_INVERSION_BELOW = 22.0


@njit(cache=True, inline="always")
def _search_on(u, f, k, n, ratio):
    """The inversion's sequential search from k, with f = f(k) and u what is left of the
    uniform: (k, spent). Not spent when round-off leaves u unspent past n (or 256 steps
    on): the caller draws a fresh uniform."""
    while u > f:
        u -= f
        k += 1
        if k > n or k > 256:
            return k, False
        f *= (n - k + 1) * _RECIPROCALS[k] * ratio
    return k, True


@njit(cache=True, inline="always")
def _branch_free_steps(mean):
    """How many of the inversion's comparisons to make without a branch, by n p: rarely
    fewer than the search needs (more change nothing: see ``_inversion``)."""
    if mean < 4.5:
        return 4 if mean < 1.5 else 8
    return 16 if mean < 10.0 else (24 if mean < 16.0 else 32)


@njit(cache=True, inline="always")
def _inversion(stream, n, p, start, ratio):
    """Inversion given start = (1 - p)^n and ratio = p / (1 - p); (variate, stream).

    The sequential search compares u - f(0) - ... - f(k - 1) with f(k) for k = 0, 1, ...
    and stops at the first k where it is not larger. Its first ``steps`` comparisons (4 to
    32, by n p: rarely fewer than the search needs) are made without a branch, adding up
    the comparisons that hold: once one fails, u is spent and the later ones fail too
    (f(k) >= 0), so the sum is the k the search stops at, compared on the same numbers. A
    branch-free search costs a few cycles a step where the exit of a searching loop is a
    mispredicted branch (about half of an inversion's time); the loop takes over only past
    ``steps``."""
    steps = _branch_free_steps(n * p)
    while True:
        u, stream = uniform(stream)
        f = start
        k = 0
        for i in range(steps):
            k += u > f
            u -= f
            f *= (n - i) * _RECIPROCALS[i + 1] * ratio
        if k < steps:
            if k <= n:
                return k, stream
            continue  # float round-off left u unspent past n (probability ~1e-16): draw again
        k, spent = _search_on(u, f, k, n, ratio)
        if spent:
            return k, stream


@njit(cache=True, inline="always")
def _btrd(stream, n, p, spq, r, log_r):
    """BTRD given sqrt(n p (1 - p)), r = p / (1 - p) and log(r); (variate, stream). Only the
    first test's set-up is computed up front, without a division on the way to it: 50-70%
    of variates are accepted there at n p >= 22 (more as n p grows), and the rest of the
    set-up would cost more than the variate itself. log(r) depends on p alone: the callers keep it with p."""
    v, stream = uniform(stream)
    return _btrd_from(stream, n, p, spq, r, log_r, v)


@njit(cache=True, inline="always")
def _btrd_hat(n, p, spq):
    """BTRD's hat for n trials at p, for one draw or 8 lanes: (b, a, c, 0.92 b - 4.2)."""
    b = 1.15 + 2.53 * spq
    return b, -0.0873 + 0.0248 * b + 0.01 * p, n * p + 0.5, 0.92 * b - 4.2


@njit(cache=True, inline="always")
def _btrd_squeeze(b, vr_b, spq):
    """BTRD's set-up past its first test, for one draw or 8 lanes: (vr, alpha)."""
    inverse_b = 1.0 / b
    return vr_b * inverse_b, (2.83 + 5.1 * inverse_b) * spq


@njit(cache=True, inline="always")
def _btrd_from(stream, n, p, spq, r, log_r, v):
    """BTRD (``_btrd``) whose first uniform ``v`` was drawn already (by 8 lanes at once)."""
    # vr = 0.92 - 4.2 / b; v <= 0.86 vr and u = v / vr - 0.43, rearranged so the only
    # division on the way is the one that scales u.
    b, a, c, vr_b = _btrd_hat(n, p, spq)
    scale = b / vr_b
    ready = False
    tabulated = n < _LOG_FACTORIALS.size
    m = 0
    vr = npq = nr = alpha = log_mode = 0.0
    fresh = False
    while True:
        if fresh:
            v, stream = uniform(stream)
        fresh = True
        if v * b <= 0.86 * vr_b:
            u = v * scale - 0.43
            return int(math.floor((2.0 * a / (0.5 - abs(u)) + b) * u + c)), stream
        if not ready:
            vr, alpha = _btrd_squeeze(b, vr_b, spq)
            npq = spq * spq
            m = int((n + 1) * p)
            nr = (n + 1) * r
            if tabulated:
                log_mode = _LOG_FACTORIALS[m] + _LOG_FACTORIALS[n - m]
            ready = True
        if v >= vr:
            u, stream = uniform(stream)
            u -= 0.5
        else:
            u = v * scale - 0.93
            u = math.copysign(0.5, u) - u
            v, stream = uniform(stream)
            v *= vr
        us = 0.5 - abs(u)
        k = int(math.floor((2.0 * a / us + b) * u + c))
        if k < 0 or k > n:
            continue
        us2 = us * us
        v = v * alpha * us2 / (a + b * us2)  # v alpha / (a / us^2 + b), one division
        if tabulated:
            # v <= f(k) / f(m) = m! (n - m)! / (k! (n - k)!) r^(k - m), in logs.
            if math.log(v) <= log_mode - _LOG_FACTORIALS[k] - _LOG_FACTORIALS[n - k] + (k - m) * log_r:
                return k, stream
            continue
        km = abs(k - m)
        if km <= 15:
            # f(k) / f(m) by the recursion f(i) / f(i - 1) = (n + 1) r / i - r.
            # 1 / i from a table where it has one: a multiplication, not a division, a step.
            f = 1.0
            if m < k:
                for i in range(m + 1, k + 1):
                    f *= (nr * _RECIPROCALS[i] if i < _RECIPROCALS.size else nr / i) - r
            elif m > k:
                for i in range(k + 1, m + 1):
                    v *= (nr * _RECIPROCALS[i] if i < _RECIPROCALS.size else nr / i) - r
            if v <= f:
                return k, stream
            continue
        v = math.log(v)
        km = float(km)  # km * km overflows int64 once n p (1 - p) passes about 1e12
        rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5)
        t = -km * km / (2.0 * npq)
        if v < t - rho:
            return k, stream
        if v > t + rho:
            continue
        nm = n - m + 1
        h = (m + 0.5) * math.log((m + 1) / (r * nm)) + _stirling_tail(m) + _stirling_tail(n - m)
        nk = n - k + 1
        if v <= h + (n + 1) * math.log(nm / nk) + (k + 0.5) * math.log(nk * r / (k + 1)) \
                - _stirling_tail(k) - _stirling_tail(n - k):
            return k, stream


@njit(cache=True, inline="always")
def _rate_terms(p):
    """The p-only set-up: 1.0 if sampling 1 - p by symmetry, q = min(p, 1 - p), log(1 - q),
    q / (1 - q), q (1 - q), log(q / (1 - q))."""
    flip = p > 0.5
    q = 1.0 - p if flip else p
    if 0.0 < q:
        ratio = q / (1.0 - q)
        return (1.0 if flip else 0.0), q, math.log1p(-q), ratio, q * (1.0 - q), math.log(ratio)
    return (1.0 if flip else 0.0), q, 0.0, 0.0, 0.0, 0.0


@njit(cache=True, inline="always")
def _binomial_with(stream, n, p, flip, q, log_one_minus_q, ratio, q_one_minus_q, log_ratio):
    """Binomial(n, p) given p's set-up (``_rate_terms``): inversion when n q < 22, else BTRD;
    (variate, stream)."""
    if n <= 0 or p <= 0.0:
        k = 0
    elif p >= 1.0:
        k = n
    else:
        if n * q < _INVERSION_BELOW:
            k, stream = _inversion(stream, n, q, math.exp(n * log_one_minus_q), ratio)
        else:
            k, stream = _btrd(stream, n, q, math.sqrt(n * q_one_minus_q), ratio, log_ratio)
        if flip == 1.0:
            k = n - k
    return k, stream


@njit(cache=True, inline="always")
def binomial(stream, n, p):
    """One exact Binomial(n, p) variate (n >= 0 integer, 0 <= p <= 1) and the stream after it."""
    flip, q, log_one_minus_q, ratio, q_one_minus_q, log_ratio = _rate_terms(p)
    return _binomial_with(stream, n, p, flip, q, log_one_minus_q, ratio, q_one_minus_q, log_ratio)


# The part of a binomial's set-up that depends on p alone, kept while p does not change (a
# segment's churn is usually the same month after month within a draw, its customer count
# never is): p, then ``_rate_terms(p)``.
_RATE_SETUP_SIZE = 7


@njit(cache=True, inline="always")
def prepare_rate(p, setup):
    setup[0] = p
    setup[1], setup[2], setup[3], setup[4], setup[5], setup[6] = _rate_terms(p)


@njit(cache=True, inline="always")
def binomial_at_rate(stream, n, setups, row):
    """Binomial(n, p) for the p that row ``row`` of ``setups`` was prepared for (see
    ``prepare_rate``); (variate, stream)."""
    return _binomial_with(stream, n, setups[row, 0], setups[row, 1], setups[row, 2], setups[row, 3],
                          setups[row, 4], setups[row, 5], setups[row, 6])


# A prepared binomial: the set-up for one (n, p), reused while they do not change (a
# motion's leads and conversion are the same month after month within a draw). Slots: n, p,
# 1 if sampling 1 - p by symmetry, the method (-1 degenerate, 0 inversion, 1 BTRD, 2 table),
# the method's two numbers (table: first k, entries; inversion: (1 - q)^n, q / (1 - q);
# BTRD: sqrt(n q (1 - q)), q / (1 - q)), then q = min(p, 1 - p) and log(q / (1 - q)); a
# table's last four: the probability it holds, entries / that probability (a guide bin per
# entry), and the pmf at its first and last k (where its tails start).
_SETUP_SIZE = 12

# A table holds the pmf from 3 standard deviations below the mode to 3 above (at most this
# many entries): 99.7% of the probability, found by one lookup. The 0.3% outside is found
# by walking the tails from the table's ends, a hundred steps or so: too rare to measure
# in the average lookup (5-6 ns with or without the walk), where building the 7 sd more
# that a table cut at 1e-20 of the mode's probability held (3 to 3.5 times the entries)
# was a fifth of the reference model's kernel.
TABLE_CAPACITY = 512
# The kernel's tables are rows of this many slots: rows a whole 4 KiB apart would fall on the
# same sets of the L1 cache, and 24 tables' busy entries would evict one another. The slots
# past the capacity also hold the sentinels its lanes' search reads ahead to.
_TABLE_ROW = TABLE_CAPACITY + 8
_SEARCH_AHEAD = 3
_TABLE_SDS = 3.0
# The tail walks stop where the pmf falls below 1e-20 of its value at the table's end they
# start from: the probability beyond, summed, is below 1e-18, under the resolution of a
# 53-bit uniform.
_TABLE_CUT = 1e-20
# An entry costs about a sixth of what a table lookup saves over BTRD or inversion, so a
# table is built only when it will serve at least one variate per 6 entries.
_TABLE_ENTRIES_PER_USE = 6.0


@njit(cache=True, inline="always")
def _deviance_term(x, mean):
    """x log(x / mean) + mean - x without cancellation near x = mean (Loader's bd0)."""
    if abs(x - mean) < 0.1 * (x + mean):
        v = (x - mean) / (x + mean)
        total = (x - mean) * v
        term = 2.0 * x * v
        v2 = v * v
        for j in range(1, 1000):
            term *= v2
            following = total + term / (2 * j + 1)
            if following == total:
                break
            total = following
        return total
    return x * math.log(x / mean) + mean - x


@njit(cache=True)
def log_pmf(k, n, q):
    """log P(X = k) for X ~ Binomial(n, q), relative error about 1e-13 whatever n (Loader's
    saddle-point form: C. Loader, "Fast and accurate computation of binomial probabilities",
    2000, as in R's dbinom). ``_stirling_tail(m - 1)`` is Loader's stirlerr(m)."""
    if k == 0:
        return n * math.log1p(-q)
    if k == n:
        return n * math.log(q)
    rest = n - k
    return (_stirling_tail(n - 1) - _stirling_tail(k - 1) - _stirling_tail(rest - 1)
            - _deviance_term(float(k), n * q) - _deviance_term(float(rest), n * (1.0 - q))
            + 0.5 * math.log(n / (2.0 * math.pi * k * rest)))


@njit(cache=True, inline="always")
def _pmf_above(f, k, n, ratio):
    """f(k + 1) from f(k) = P(X = k), by f(k + 1) / f(k) = (n - k) / (k + 1) r."""
    return f * ((n - k) * ratio * (_RECIPROCALS[k + 1] if k + 1 < _RECIPROCALS.size else 1.0 / (k + 1)))


@njit(cache=True, inline="always")
def _pmf_below(f, k, n, ratio):
    """f(k - 1) from f(k) = P(X = k), the same recursion downward."""
    return f * (k / ((n - k + 1) * ratio))


@njit(cache=True)
def _fill_table(n, q, cdf, guide):
    """Tabulate Binomial(n, q), q <= 1/2, from 3 sd below its mode to 3 above, for inversion
    with a guide table: ``cdf[i]`` is P(first k <= X <= first k + i), not normalised.
    Returns (first k, entries, probability held, pmf at the first k, pmf at the last k),
    0 entries when the distribution is too wide for ``cdf``."""
    mode = int((n + 1) * q)
    reach = int(math.ceil(_TABLE_SDS * math.sqrt(n * q * (1.0 - q)))) + 1
    first_k = max(0, mode - reach)
    last_k = min(n, mode + reach)
    entries = last_k - first_k + 1
    if entries >= TABLE_CAPACITY:  # one slot of ``guide`` past the last entry is needed (below)
        return 0, 0, 0.0, 0.0, 0.0
    ratio = q / (1.0 - q)
    # The pmf outward from the mode's exact value by its recursion: down first (kept in
    # ``cdf``), then summed upward, going on up.
    mode_pmf = math.exp(log_pmf(mode, n, q))
    at = mode - first_k
    f = mode_pmf
    cdf[at] = f
    for i in range(at, 0, -1):
        f = _pmf_below(f, first_k + i, n, ratio)
        cdf[i - 1] = f
    first_pmf = f
    total = 0.0
    for i in range(at + 1):
        total += cdf[i]
        cdf[i] = total
    f = mode_pmf
    for k in range(mode, last_k):
        f = _pmf_above(f, k, n, ratio)
        total += f
        cdf[k + 1 - first_k] = total
    last_pmf = f
    # guide[j]: the first entry whose cumulative probability exceeds (j - 1e-6) / scale,
    # never past the entry inversion needs for any u with int(u * scale) = j, whatever the
    # rounding (the search then steps forward); one more, j = entries, for a u past the table.
    scale = entries / total
    j = 0
    for i in range(entries):
        reach_j = cdf[i] * scale + 1e-6
        while j < entries and j < reach_j:
            guide[j] = i
            j += 1
    while j <= entries:
        guide[j] = entries - 1
        j += 1
    cdf[entries] = 2.0  # a sentinel: the search stops here for a u past the table
    # And up to 3 more where the array has room (the kernel's rows do): its lanes compare a
    # guide entry and the 3 after it at once.
    for i in range(entries + 1, min(entries + _SEARCH_AHEAD + 1, cdf.size)):
        cdf[i] = 2.0
    return first_k, entries, total, first_pmf, last_pmf


@njit(cache=True)
def _tail_walk(u, n, q, first_k, last_k, first_pmf, last_pmf):
    """Inversion outside a table, for u on [0, 1 - probability the table holds): the upper
    tail upward from past the table's last k, then the lower tail downward from below its
    first; -1 when float round-off leaves u unspent."""
    ratio = q / (1.0 - q)
    k = last_k
    f = last_pmf
    floor = _TABLE_CUT * f
    while k < n and f >= floor:
        f = _pmf_above(f, k, n, ratio)
        k += 1
        if u < f:
            return k
        u -= f
    k = first_k
    f = first_pmf
    floor = _TABLE_CUT * f
    while k > 0 and f >= floor:
        f = _pmf_below(f, k, n, ratio)
        k -= 1
        if u < f:
            return k
        u -= f
    return -1


@njit(cache=True)
def _table_tails(stream, u, n, q, first_k, last_k, first_pmf, last_pmf):
    """A table's variate when its uniform fell past the table, u = that uniform - the
    probability the table holds; (variate, stream). Out of line: 3 variates in 1,000 come
    here."""
    k = _tail_walk(u, n, q, first_k, last_k, first_pmf, last_pmf)
    if k >= 0:
        return k, stream
    # Float round-off left u unspent: the table and its tails summed to just under 1 (a
    # table of all but 1e-30 of the probability can hold 1 - 1e-16). A fresh variate of the
    # whole distribution then, as inversion draws again, by the samplers that need no table
    # (drawing u again here could loop forever when the tails hold nothing).
    successes, stream = _binomial_beyond_int64(stream, float(n), q)
    return np.int64(successes), stream


@njit(cache=True)
def prepare_binomial(n, p, setup, uses, cdf, guide):
    """Prepare Binomial(n, p) for about ``uses`` variates; ``cdf`` and ``guide`` (both of
    ``TABLE_CAPACITY``) hold a table when one pays for itself. Called once a draw and
    motion, so not inlined: the month loop stays smaller."""
    flip, q, log_one_minus_q, ratio, q_one_minus_q, log_ratio = _rate_terms(p)
    setup[0] = n
    setup[1] = p
    setup[2] = flip
    setup[6] = q
    setup[7] = log_ratio
    if n <= 0 or p <= 0.0 or p >= 1.0:
        setup[3] = -1.0
        return
    spq = math.sqrt(n * q_one_minus_q)
    expected_entries = min(2.0 * (_TABLE_SDS * spq + 2.0) + 1.0, n + 1.0)
    if expected_entries <= _TABLE_ENTRIES_PER_USE * uses and expected_entries < TABLE_CAPACITY:
        first_k, entries, held, first_pmf, last_pmf = _fill_table(n, q, cdf, guide)
        if entries > 0:
            setup[3] = 2.0
            setup[4] = first_k
            setup[5] = entries
            setup[8] = held
            setup[9] = entries / held
            setup[10] = first_pmf
            setup[11] = last_pmf
            return
    if n * q < _INVERSION_BELOW:
        setup[3] = 0.0
        setup[4] = math.exp(n * log_one_minus_q)
    else:
        setup[3] = 1.0
        setup[4] = spq
    setup[5] = ratio


@njit(cache=True)
def untabled_binomial(stream, n, method, first, second, q, log_ratio):
    """A prepared binomial's variate of q = min(p, 1 - p) by the method its set-up chose
    when that was not a table (``prepare_binomial``'s slots 0, 3, 4, 5, 6, 7); (variate,
    stream). Table lookups are left to the caller, with the table's arrays: handed to a
    function that branches like this one, numba would reference-count them on every call.
    Called, not inlined: a motion's wins rarely go without a table, and one copy of BTRD
    fewer in the kernel takes a third off its first compile."""
    if method == 1.0:
        return _btrd(stream, n, q, first, second, log_ratio)
    if method == 0.0:
        return _inversion(stream, n, q, first, second)
    return 0, stream  # degenerate: n <= 0, p = 0 or p = 1 (q = 0, flipped when p = 1)


@njit(cache=True, inline="always")
def table_variate(stream, cdf, guide, row, setups):
    """A variate of the table in row ``row`` of ``cdf`` and ``guide``, prepared with row
    ``row`` of ``setups``; (variate of q = min(p, 1 - p), stream)."""
    u, stream = uniform(stream)
    i = _table_entry(u, cdf, guide, row, setups)
    if i < np.int64(setups[row, 5]):
        return i + np.int64(setups[row, 4]), stream
    return _past_table(stream, u, row, setups)


@njit(cache=True, inline="always")
def _table_entry(u, cdf, guide, row, setups):
    """The entry of the table in row ``row`` where uniform ``u`` falls: its number of entries
    when u is past the table (u >= the probability it holds), the table's sentinel."""
    return _guided_search(u, cdf, guide, row, min(np.int64(u * setups[row, 9]), np.int64(setups[row, 5])))


@njit(cache=True, inline="always")
def _guided_search(u, cdf, guide, row, bin):
    """``_table_entry`` from the guide's bin for u, min(int(u x entries / probability held),
    entries)."""
    # Two steps are taken without a branch: past its guide bin the search rarely needs
    # more, and a searching loop's exit is a mispredicted branch (the lookup took 11 ns
    # with the loop alone, 6 ns with these steps first).
    i = guide[row, bin]
    i += cdf[row, i] <= u
    i += cdf[row, i] <= u
    while cdf[row, i] <= u:
        i += 1
    return i


@njit(cache=True, inline="always")
def _past_table(stream, u, row, setups):
    """The variate for a uniform ``u`` past the table in row ``row``: a walk of its tails."""
    entries = np.int64(setups[row, 5])
    return _table_tails(stream, u - setups[row, 8], np.int64(setups[row, 0]), setups[row, 6], np.int64(setups[row, 4]),
                        np.int64(setups[row, 4]) + entries - 1, setups[row, 10], setups[row, 11])


# Trials in one binomial: int64 holds 9.2e18. More leads or customers than that (a budget of
# trillions at a millionth of a dollar a lead) are drawn in pieces of this size (a sum of
# binomials with one rate is a binomial). Counts are float64: above 2**53 they are whole
# numbers rounded to double precision.
_MOST_TRIALS = 2.0**62


@njit(cache=True)
def _binomial_beyond_int64(stream, trials, p):
    """Binomial(trials, p) for a float count of trials of any size (a rare path, kept out of
    line so it costs the month loop nothing); (variate, stream). Each piece is prepared
    without a table and drawn by ``untabled_binomial``, the kernel's own copy of the
    samplers, rather than by a copy of its own."""
    setup = np.empty(_SETUP_SIZE)
    no_table = np.empty(0)
    no_guide = np.empty(0, dtype=np.int64)
    successes = 0.0
    while trials > 0.0:
        piece = min(trials, _MOST_TRIALS)
        n = np.int64(piece)
        prepare_binomial(n, p, setup, 0, no_table, no_guide)
        k, stream = untabled_binomial(stream, n, setup[3], setup[4], setup[5], setup[6], setup[7])
        successes += float(n - k if setup[2] == 1.0 else k)
        trials -= piece
    return successes, stream


@njit(cache=True)
def binomial_array(key, n, p, out):
    """Fill ``out`` with Binomial(n[i], p[i]), element i from stream (i, 0) of ``key``
    (a test hook for the samplers)."""
    state = np.zeros((1, STATE_WORDS), dtype=np.uint64)
    for i in range(out.size):
        seed_stream(state[0], key, i, 0)
        out[i], _ = binomial(load(state, 0), n[i], p[i])


@njit(cache=True)
def binomial_stream(key, n, p, uses, out):
    """Fill ``out`` with Binomial(n[i], p) drawn one after another from one stream, through
    the cached set-ups the kernel uses: ``prepare_rate`` when n varies, ``prepare_binomial``
    for ``uses`` variates when it does not (a test hook for the samplers)."""
    state = np.zeros((1, STATE_WORDS), dtype=np.uint64)
    seed_stream(state[0], key, 0, 0)
    stream = load(state, 0)
    rate = np.zeros((1, _RATE_SETUP_SIZE))
    prepare_rate(p, rate[0])
    fixed = np.zeros((1, _SETUP_SIZE))
    fixed[0, 0] = -1.0
    cdf = np.zeros((1, TABLE_CAPACITY))
    guide = np.zeros((1, TABLE_CAPACITY), dtype=np.int64)
    for i in range(out.size):
        if n[i] == n[0]:
            if fixed[0, 0] != n[i]:
                prepare_binomial(n[i], p, fixed[0], uses, cdf[0], guide[0])
            # The kernel's wins, step for step (simulate_block).
            if fixed[0, 3] == 2.0:
                k, stream = table_variate(stream, cdf, guide, 0, fixed)
            else:
                k, stream = untabled_binomial(stream, n[i], fixed[0, 3], fixed[0, 4], fixed[0, 5], fixed[0, 6],
                                              fixed[0, 7])
            out[i] = n[i] - k if fixed[0, 2] == 1.0 else k
        else:
            out[i], stream = binomial_at_rate(stream, n[i], rate, 0)


@njit(cache=True, inline="always")
def _at_most_one(x):
    """min(1.0, x) as Python's min picks, for one draw or 8 lanes."""
    return select(x < 1.0, x, 1.0)


@njit(cache=True, inline="always")
def _churn_at(churn, coverage, uncovered_multiplier):
    """Monthly churn with ``coverage`` of the accounts covered by CSMs, the rest churning
    ``uncovered_multiplier`` times as often (capped at 1); for one draw or 8 lanes."""
    return _at_most_one(churn * (coverage + (1.0 - coverage) * uncovered_multiplier))


# A motion's month at the draw's current stage, the same month after month until the stage
# changes (so worked out then, not every month): spend, leads, the whole leads beyond the
# _MOST_TRIALS drawn as one binomial (whose count is the prepared sampler's n), the
# fractional lead and the probability it is won (fraction x conversion).
_MOTION_SLOTS = 5
_SPEND, _LEADS, _BEYOND, _FRACTION, _FRACTION_WINS = range(_MOTION_SLOTS)


@njit(cache=True)
def _set_motions(motions, won_setup, won_cdf, won_guide, d, stage, months_left, noise,
                 spend_by_stage, cost_per_lead, conversion):
    """Each motion's month at ``stage`` for draw ``d``, and its wins' sampler prepared for
    the ``months_left`` months it may serve (kept when leads and conversion are unchanged)."""
    for j in range(motions.shape[0]):
        spend = spend_by_stage[d, stage, j]
        leads = spend / cost_per_lead[d, j]
        motions[j, _SPEND] = spend
        motions[j, _LEADS] = leads
        if not noise:
            continue
        # A fractional lead is a lead with probability equal to the fraction, so wins are
        # Binomial(whole leads, conversion) plus one more with probability fraction x
        # conversion: the whole-lead count, and with it the prepared sampler, stays the
        # same month after month.
        whole = np.floor(leads)  # a float: math.floor would be an int64
        fraction = leads - whole
        beyond = 0.0
        if whole > _MOST_TRIALS:
            beyond = whole - _MOST_TRIALS
            whole = _MOST_TRIALS
        motions[j, _BEYOND] = beyond
        motions[j, _FRACTION] = fraction
        motions[j, _FRACTION_WINS] = fraction * conversion[d, j]
        if won_setup[j, 0] != whole or won_setup[j, 1] != conversion[d, j]:
            prepare_binomial(np.int64(whole), conversion[d, j], won_setup[j], months_left, won_cdf[j], won_guide[j])


# --- eight draws at once ----------------------------------------------------------------------

@njit(cache=True, inline="always")
def _words(states, row):
    """Stream ``row`` of a (streams, 4, LANES) state array as 4 word vectors."""
    return (vload(states, (row * STATE_WORDS) * LANES), vload(states, (row * STATE_WORDS + 1) * LANES),
            vload(states, (row * STATE_WORDS + 2) * LANES), vload(states, (row * STATE_WORDS + 3) * LANES))


@njit(cache=True, inline="always")
def _store_words(states, row, a, b, c, counter):
    vstore(states, (row * STATE_WORDS) * LANES, a)
    vstore(states, (row * STATE_WORDS + 1) * LANES, b)
    vstore(states, (row * STATE_WORDS + 2) * LANES, c)
    vstore(states, (row * STATE_WORDS + 3) * LANES, counter)


@njit(cache=True, inline="always")
def _lane_stream(states, row, g):
    """Lane ``g`` of stream ``row`` of a (streams, 4, LANES) state array, as a tuple."""
    at = row * STATE_WORDS * LANES + g
    return states[at], states[at + LANES], states[at + 2 * LANES], states[at + 3 * LANES]


@njit(cache=True, inline="always")
def _set_lane_stream(states, row, g, stream):
    at = row * STATE_WORDS * LANES + g
    states[at], states[at + LANES], states[at + 2 * LANES], states[at + 3 * LANES] = stream


@njit(cache=True, inline="always")
def _stream_of(a, b, c, counter, g):
    return lane(a, g), lane(b, g), lane(c, g), lane(counter, g)


@njit(cache=True, inline="always")
def _uniforms_where(mask, a, b, c, counter):
    """A uniform in every lane, the streams advanced only where ``mask`` holds:
    (uniforms, a, b, c, counter)."""
    u, next_a, next_b, next_c, next_counter = uniforms(a, b, c, counter)
    return (u, select(mask, next_a, a), select(mask, next_b, b), select(mask, next_c, c),
            select(mask, next_counter, counter))


@njit(cache=True, inline="always")
def _with_stream(a, b, c, counter, g, stream):
    """The 4 word vectors with lane ``g`` replaced by ``stream``."""
    return (with_lane(a, g, stream[0]), with_lane(b, g, stream[1]), with_lane(c, g, stream[2]),
            with_lane(counter, g, stream[3]))


@njit(cache=True, inline="always")
def _churn_lanes(customers, p, flip, q, log_one_minus_q, ratio, q_one_minus_q, log_ratio, a, b, c, counter):
    """Binomial(customers, p) in 8 lanes, each as ``_binomial_with`` (or, past int64,
    ``_binomial_beyond_int64``) draws it alone from its own stream: (churned, a, b, c,
    counter). Inversion's branch-free steps and BTRD's first test run in the lanes; a lane
    that needs more is finished alone by the same code the scalar samplers run."""
    churned = splat(0.0)
    drawing = (customers > 0.0) & (p > 0.0) & (p < 1.0) & (customers <= _MOST_TRIALS)
    expected = customers * q
    inverting = bits(drawing & (expected < _INVERSION_BELOW))
    rejecting = bits(drawing & (expected >= _INVERSION_BELOW))
    if inverting:
        largest = 0.0
        todo = inverting
        while todo:
            largest = max(largest, lane(expected, lowest_bit(todo)))
            todo &= todo - 1
        # For the largest n q: more branch-free steps than a lane needs change nothing
        # (the comparisons after the stopping one all fail).
        steps = _branch_free_steps(largest)
        inverts = drawing & (expected < _INVERSION_BELOW)
        u, a, b, c, counter = _uniforms_where(inverts, a, b, c, counter)
        f = vexp(customers * log_one_minus_q)
        k = splat(0.0)
        for i in range(steps):
            k = k + select(u > f, 1.0, 0.0)
            u = u - f
            f = f * ((customers - float(i)) * _RECIPROCALS[i + 1] * ratio)
        churned = select(inverts, k, churned)
        unfinished = inverting & bits((k >= float(steps)) | (k > customers))
        while unfinished:
            g = lowest_bit(unfinished)
            unfinished &= unfinished - 1
            n = np.int64(lane(customers, g))
            stream = _stream_of(a, b, c, counter, g)
            done = False
            kg = np.int64(lane(k, g))
            if kg <= n:
                kg, done = _search_on(lane(u, g), lane(f, g), kg, n, lane(ratio, g))
            if not done:  # round-off left u unspent: _inversion draws again
                kg, stream = _inversion_alone(stream, n, lane(q, g), math.exp(n * lane(log_one_minus_q, g)),
                                              lane(ratio, g))
            churned = with_lane(churned, g, float(kg))
            a, b, c, counter = _with_stream(a, b, c, counter, g, stream)
    if rejecting:
        rejects = drawing & (expected >= _INVERSION_BELOW)
        v, a, b, c, counter = _uniforms_where(rejects, a, b, c, counter)
        # _btrd_from's first test, in the lanes.
        spq = vsqrt(customers * q_one_minus_q)
        scale_b, shape_a, centre, vr_b = _btrd_hat(customers, q, spq)
        w = v * (scale_b / vr_b) - 0.43
        proposal = vfloor((2.0 * shape_a / (0.5 - vabs(w)) + scale_b) * w + centre)
        accepted = v * scale_b <= 0.86 * vr_b
        churned = select(rejects & accepted, proposal, churned)
        # The proposals the first test leaves: _btrd_from's next step, in the lanes, where
        # the log-factorials are tabulated. Both of its branches draw one more uniform.
        again = rejects & ~accepted & (customers < float(_LOG_FACTORIALS.size))
        unfinished = rejecting & ~bits(accepted) & ~bits(again)  # from the first proposal, alone
        retry = 0  # lanes whose second proposal failed: from a fresh uniform, alone
        second = bits(again)
        if second:
            u, a, b, c, counter = _uniforms_where(again, a, b, c, counter)
            vr, alpha = _btrd_squeeze(scale_b, vr_b, spq)
            mode = vfloor((customers + 1.0) * q)
            high = v >= vr
            low = v * (scale_b / vr_b) - 0.93
            low = vcopysign(splat(0.5), low) - low
            w = select(high, u - 0.5, low)
            us = 0.5 - vabs(w)
            k = vfloor((2.0 * shape_a / us + scale_b) * w + centre)
            us2 = us * us
            test = select(high, v, u * vr) * alpha * us2 / (shape_a + scale_b * us2)
            inside = again & (k >= 0.0) & (k <= customers)
            # _btrd_from's test on tabulated log-factorials, the same sums in the same order;
            # lanes outside look up entry 0.
            trials, top, at = select(inside, customers, 0.0), select(inside, mode, 0.0), select(inside, k, 0.0)
            log_mode = vgather(_LOG_FACTORIALS, top) + vgather(_LOG_FACTORIALS, trials - top)
            bound = (log_mode - vgather(_LOG_FACTORIALS, at) - vgather(_LOG_FACTORIALS, trials - at)
                     + (at - top) * log_ratio)
            accepted = inside & (vlog(test) <= bound)
            churned = select(accepted, k, churned)
            retry = second & ~bits(accepted)
        unfinished |= retry
        while unfinished:
            g = lowest_bit(unfinished)
            unfinished &= unfinished - 1
            n = np.int64(lane(customers, g))
            stream = _stream_of(a, b, c, counter, g)
            first = lane(v, g)
            if retry & (np.int64(1) << g):
                first, stream = uniform(stream)
            kg, stream = _btrd_alone(stream, n, lane(q, g), lane(spq, g), lane(ratio, g), lane(log_ratio, g), first)
            churned = with_lane(churned, g, float(kg))
            a, b, c, counter = _with_stream(a, b, c, counter, g, stream)
    churned = select(drawing & (flip == 1.0), customers - churned, churned)
    churned = select((customers > 0.0) & (p >= 1.0) & (customers <= _MOST_TRIALS), customers, churned)
    beyond = bits(customers > _MOST_TRIALS)
    while beyond:
        g = lowest_bit(beyond)
        beyond &= beyond - 1
        stream = _stream_of(a, b, c, counter, g)
        count, stream = _binomial_beyond_int64(stream, lane(customers, g), lane(p, g))
        churned = with_lane(churned, g, count)
        a, b, c, counter = _with_stream(a, b, c, counter, g, stream)
    return churned, a, b, c, counter


# The scalar samplers a lane needs when it leaves the lanes, called rather than inlined:
# copies of them in the kernel would add seconds to its first compile and nothing to its
# speed (a call costs a few ns; these take tens).
@njit(cache=True)
def _btrd_alone(stream, n, p, spq, r, log_r, v):
    return _btrd_from(stream, n, p, spq, r, log_r, v)


@njit(cache=True)
def _inversion_alone(stream, n, p, start, ratio):
    return _inversion(stream, n, p, start, ratio)


@njit(cache=True)
def _table_variate_alone(stream, cdf, guide, row, setups):
    return table_variate(stream, cdf, guide, row, setups)


@njit(cache=True, inline="always")
def _prepare_lane_rate(p, rate, lane_rates, s, g):
    """``prepare_rate`` for segment ``s`` of lane ``g``: its terms into ``lane_rates``
    ([segment, term, lane]), through the scratch ``rate``."""
    prepare_rate(p, rate)
    for term in range(_RATE_SETUP_SIZE):
        lane_rates[(s * _RATE_SETUP_SIZE + term) * LANES + g] = rate[term]


@njit(cache=True, inline="always")
def _rate_term(lane_rates, s, term):
    """Term ``term`` of segment ``s``'s prepared rate (``prepare_rate``'s slots), 8 lanes."""
    return vload(lane_rates, (s * _RATE_SETUP_SIZE + term) * LANES)


# [motion, term, lane]: what the month loop needs of a motion's prepared wins in every lane
# (``prepare_binomial``'s slots 4, 5, 9, 0 and 2 when a table serves them alone), and
# whether a fractional lead may add a win.
_WIN_TERMS = 6
_FIRST_K, _ENTRIES, _BIN_SCALE, _TRIALS, _FLIPPED, _FRACTIONAL = range(_WIN_TERMS)


@njit(cache=True, inline="always")
def _win_term(lane_wins, j, term):
    """Term ``term`` of motion ``j``'s wins (``_WIN_TERMS``), 8 lanes."""
    return vload(lane_wins, (j * _WIN_TERMS + term) * LANES)


@njit(cache=True, inline="always")
def _set_stage_lane(marketing, csms_now, lane_spend, lane_tabled, lane_wins, motions, won_setup, motion_segment,
                    csms_by_stage, d, stage, g):
    """Lane ``g``'s spend per motion, whether its wins come from a table alone and their
    terms ([motion, lane] and [motion, term, lane]), and its marketing spend and CSMs per
    segment ([segment, lane]) at ``stage``, the marketing summed over motions in the order
    the month loop would add them. After ``_set_motions`` for the lane (``motions`` and
    ``won_setup`` its rows)."""
    n_segments = csms_by_stage.shape[2]
    for s in range(n_segments):
        marketing[s * LANES + g] = 0.0
        csms_now[s * LANES + g] = csms_by_stage[d, stage, s]
    for j in range(motions.shape[0]):
        lane_spend[j * LANES + g] = motions[j, _SPEND]
        tabled = won_setup[j, 3] == 2.0 and motions[j, _BEYOND] == 0.0
        lane_tabled[j * LANES + g] = 1.0 if tabled else 0.0
        at = j * _WIN_TERMS * LANES + g
        lane_wins[at + _FIRST_K * LANES] = won_setup[j, 4] if tabled else 0.0
        lane_wins[at + _ENTRIES * LANES] = won_setup[j, 5] if tabled else 0.0
        lane_wins[at + _BIN_SCALE * LANES] = won_setup[j, 9] if tabled else 0.0
        lane_wins[at + _TRIALS * LANES] = won_setup[j, 0]
        lane_wins[at + _FLIPPED * LANES] = won_setup[j, 2]
        lane_wins[at + _FRACTIONAL * LANES] = 1.0 if motions[j, _FRACTION] > 0.0 else 0.0
        marketing[motion_segment[j] * LANES + g] += motions[j, _SPEND]


@njit(cache=True, inline="always")
def _lowest_floor_above(stage_floors, stage):
    """The lowest ARR floor of the stages after ``stage`` (infinity past the last): a draw
    moves up exactly when its ARR reaches it."""
    lowest = np.inf
    for k in range(stage + 1, stage_floors.shape[0]):
        lowest = min(lowest, stage_floors[k])
    return lowest


@njit(cache=True, error_model="numpy")
def simulate_block(noise, key, first_draw, streams, horizon, keep_paths,
                   acv, starting_acv, margin, churn, expansion, account_cost, csm_cost, accounts_per_csm,
                   uncovered_multiplier, start_customers,
                   cost_per_lead, conversion, sales_cost, lag, motion_segment,
                   spend_by_stage, csms_by_stage, stage_floors, starting_stage, fixed_opex, starting_cash,
                   totals, company, stage_reached, segment_paths, company_paths):
    """The monthly model for one block of draws, 8 at a time; fills the preallocated outputs.

    ``totals`` (draw, segment, 7): CAC spend, CAC wins, customer-months at risk, churned,
    revenue, CS cost, revenue of the last month. ``company`` (draw, 3): runway, lowest
    cash, final cash. ``segment_paths`` (8, draw, segment, month) and ``company_paths``
    (3, draw, month) are written only when ``keep_paths``. See ``_engine`` for the order of
    events.

    Process noise (when ``noise``): draw ``d`` of the block is draw ``first_draw + d`` of
    the run, and its motion ``j`` draws leads and wins from stream ``streams[j]`` and its
    segment ``s`` draws churn from stream ``streams[n_motions + s]``, each stream seeded
    from (``key``, draw, stream id) by :func:`simkit._random.seed_stream`. A draw's result
    depends on its inputs and index only, not on the draws sharing its group of 8: each
    lane computes what ``tests/one_draw_kernel.py`` computes for its draw alone.
    """
    n_draws, n_segments = acv.shape
    n_motions = cost_per_lead.shape[1]
    n_stages = stage_floors.shape[0]
    max_lag = 0
    for d in range(n_draws):
        for j in range(n_motions):
            max_lag = max(max_lag, lag[d, j])
    width = horizon + max_lag + 1
    # [month, segment, lane]: deals landing in a month and their sales cost
    arrivals = np.zeros(width * n_segments * LANES)
    closing = np.zeros(width * n_segments * LANES)
    motions = np.zeros((LANES, n_motions, _MOTION_SLOTS))
    won_setup = np.zeros((LANES * n_motions, _SETUP_SIZE))
    won_cdf = np.zeros((LANES * n_motions, _TABLE_ROW))
    won_guide = np.zeros((LANES * n_motions, _TABLE_ROW), dtype=np.int64)
    cdf_flat, guide_flat = won_cdf.reshape(won_cdf.size), won_guide.reshape(won_guide.size)
    row_starts = np.zeros(n_motions * LANES)  # [motion, lane]: where the lane's table starts in them
    for j in range(n_motions):
        for g in range(LANES):
            row_starts[j * LANES + g] = (g * n_motions + j) * _TABLE_ROW
    win_states = np.zeros(n_motions * STATE_WORDS * LANES, dtype=np.uint64)  # [motion, word, lane]
    churn_state = np.zeros(n_segments * STATE_WORDS * LANES, dtype=np.uint64)  # [segment, word, lane]
    seeded = np.zeros(STATE_WORDS, dtype=np.uint64)
    rate = np.zeros(_RATE_SETUP_SIZE)
    # [segment, lane]: each vector quantity's 8 lanes side by side
    size = n_segments * LANES
    active, mrr, covered = np.zeros(size), np.zeros(size), np.zeros(size)
    # [segment, term, lane]: churn's prepared rate, as prepare_rate leaves it
    lane_rates = np.zeros(n_segments * _RATE_SETUP_SIZE * LANES)
    lane_acv, lane_margin, lane_expansion = np.zeros(size), np.zeros(size), np.zeros(size)
    lane_account_cost, lane_csm_cost, lane_limit = np.zeros(size), np.zeros(size), np.zeros(size)
    lane_multiplier, lane_churn = np.zeros(size), np.zeros(size)
    marketing, csms_now = np.zeros(size), np.zeros(size)  # the stage's, per lane
    # [motion, lane]: the stage's spend, the sales cost of a deal; the largest sales cycle
    lane_spend, lane_sales_cost = np.zeros(n_motions * LANES), np.zeros(n_motions * LANES)
    group_lag = np.zeros(n_motions, dtype=np.int64)
    won_now, uniform_now = np.zeros(LANES), np.zeros(LANES)
    lane_tabled = np.zeros(n_motions * LANES)  # [motion, lane]: 1 if the wins come from a table alone
    lane_wins = np.zeros(n_motions * _WIN_TERMS * LANES)
    found_now, whole_now, extra_now = np.zeros(LANES), np.zeros(LANES), np.zeros(LANES)
    running = np.zeros(n_segments * 7 * LANES)  # [segment, total, lane]
    lane_cash, lane_opex = np.zeros(LANES), np.zeros(LANES)
    stage = np.zeros(LANES, dtype=np.int64)
    next_floor = np.zeros(LANES)  # the lowest ARR floor of a stage above each lane's
    draw_of = np.zeros(LANES, dtype=np.int64)

    for first in range(0, n_draws, LANES):
        real = min(LANES, n_draws - first)
        running[:] = 0.0
        group_lag[:] = 0
        for g in range(LANES):
            # Lanes past the block's end repeat its last draw; their results are not kept.
            d = first + min(g, real - 1)
            draw_of[g] = d
            if noise:
                for j in range(n_motions):
                    seed_stream(seeded, key, first_draw + d, streams[j])
                    _set_lane_stream(win_states, j, g, (seeded[0], seeded[1], seeded[2], seeded[3]))
                for s in range(n_segments):
                    seed_stream(seeded, key, first_draw + d, streams[n_motions + s])
                    _set_lane_stream(churn_state, s, g, (seeded[0], seeded[1], seeded[2], seeded[3]))
            starting_arr = 0.0
            for s in range(n_segments):
                at = s * LANES + g
                covered[at] = _churn_at(churn[d, s], 1.0, uncovered_multiplier[d, s])
                if noise:
                    _prepare_lane_rate(covered[at], rate, lane_rates, s, g)
                active[at] = np.floor(start_customers[d, s] + 0.5) if noise else start_customers[d, s]
                mrr[at] = active[at] * starting_acv[d, s] / 12.0
                starting_arr += 12.0 * mrr[at]
                lane_acv[at], lane_margin[at], lane_expansion[at] = acv[d, s], margin[d, s], expansion[d, s]
                lane_account_cost[at], lane_csm_cost[at] = account_cost[d, s], csm_cost[d, s]
                lane_limit[at], lane_multiplier[at] = accounts_per_csm[d, s], uncovered_multiplier[d, s]
                lane_churn[at] = churn[d, s]
            reached = starting_stage
            for k in range(n_stages):
                if starting_arr >= stage_floors[k] and k > reached:
                    reached = k
            stage[g] = reached
            next_floor[g] = _lowest_floor_above(stage_floors, reached)
            if g < real:
                for k in range(n_stages):
                    stage_reached[d, k] = 0.0 if k <= reached else np.nan
            rows = slice(g * n_motions, (g + 1) * n_motions)
            won_setup[rows, 0] = -1.0  # nothing prepared for this draw yet
            _set_motions(motions[g], won_setup[rows], won_cdf[rows], won_guide[rows], d, reached, horizon, noise,
                         spend_by_stage, cost_per_lead, conversion)
            _set_stage_lane(marketing, csms_now, lane_spend, lane_tabled, lane_wins, motions[g], won_setup[rows],
                            motion_segment, csms_by_stage, d, reached, g)
            lane_cash[g] = starting_cash[d]
            lane_opex[g] = fixed_opex[d]
            for j in range(n_motions):
                lane_sales_cost[j * LANES + g] = sales_cost[d, j]
                group_lag[j] = max(group_lag[j], lag[d, j])
        cash = vload(lane_cash, 0)
        cash_low = cash
        runway = splat(np.inf)

        for t in range(horizon):
            for j in range(n_motions):
                s = motion_segment[j]
                at = j * LANES
                if noise:
                    # One uniform in every lane whose wins come from a table (most), drawn
                    # together, and its guide bin; each lane then searches its own table, all
                    # 8 at once (below). A lane past its table, and a lane whose wins need
                    # more than a table, draw alone from their own streams.
                    tabled = vload(lane_tabled, at) == 1.0
                    a, b, c, counter = _words(win_states, j)
                    u, a, b, c, counter = _uniforms_where(tabled, a, b, c, counter)
                    _store_words(win_states, j, a, b, c, counter)
                    entries = _win_term(lane_wins, j, _ENTRIES)
                    bins = vfloor(u * _win_term(lane_wins, j, _BIN_SCALE))
                    vstore(uniform_now, 0, u)
                    # _guided_search in the lanes, its loads lane by lane (gathers). From the
                    # guide's entry the search compares the entries one after another and stops
                    # at the first above u; as a table's cdf never decreases (its sentinels
                    # included), the number of the next 3 at or below u is how far it goes
                    # within them: one round of independent loads, not a chain of dependent
                    # ones. The other lanes search for -1, which stops at once in their rows.
                    wanted = select(tabled, u, -1.0)
                    rows = vload(row_starts, at)
                    start = vgather(guide_flat, rows + select(bins < entries, bins, entries))
                    from_entry = rows + start
                    ahead = ((select(vgather(cdf_flat, from_entry) <= wanted, 1.0, 0.0)
                              + select(vgather(cdf_flat, from_entry + 1.0) <= wanted, 1.0, 0.0))
                             + select(vgather(cdf_flat, from_entry + 2.0) <= wanted, 1.0, 0.0))
                    found = start + ahead
                    further = bits((ahead == 3.0) & (vgather(cdf_flat, from_entry + 3.0) <= wanted))
                    if further:
                        vstore(found_now, 0, found)
                        while further:
                            g = lowest_bit(further)
                            further &= further - 1
                            row, i = g * n_motions + j, np.int64(found_now[g])
                            while won_cdf[row, i] <= uniform_now[g]:
                                i += 1
                            found_now[g] = i
                        found = vload(found_now, 0)
                    vstore(whole_now, 0, found + _win_term(lane_wins, j, _FIRST_K))
                    alone = bits(~tabled | (found >= entries))
                    extra_wins = False
                    while alone:
                        g = lowest_bit(alone)
                        alone &= alone - 1
                        d = draw_of[g]
                        row = g * n_motions + j
                        stream = _lane_stream(win_states, j, g)
                        if lane_tabled[at + g] == 1.0:
                            whole_won, stream = _past_table(stream, uniform_now[g], row, won_setup)
                        else:
                            extra = 0.0
                            if motions[g, j, _BEYOND] > 0.0:
                                extra, stream = _binomial_beyond_int64(stream, motions[g, j, _BEYOND], conversion[d, j])
                                extra_wins = True
                            extra_now[g] = extra
                            if won_setup[row, 3] == 2.0:
                                whole_won, stream = _table_variate_alone(stream, won_cdf, won_guide, row, won_setup)
                            else:
                                whole_won, stream = untabled_binomial(
                                    stream, np.int64(won_setup[row, 0]), won_setup[row, 3], won_setup[row, 4],
                                    won_setup[row, 5], won_setup[row, 6], won_setup[row, 7])
                            if won_setup[row, 2] == 1.0:  # drawn for 1 - p; in int64, exact beyond 2^53
                                whole_won = np.int64(won_setup[row, 0]) - whole_won
                        _set_lane_stream(win_states, j, g, stream)
                        whole_now[g] = float(whole_won)
                    whole = vload(whole_now, 0)
                    # A table's count is below 2^53, so its flip is exact in doubles too.
                    won = select(tabled & (_win_term(lane_wins, j, _FLIPPED) == 1.0),
                                 _win_term(lane_wins, j, _TRIALS) - whole, whole)
                    fractional = bits(_win_term(lane_wins, j, _FRACTIONAL) == 1.0)
                    if fractional:
                        vstore(won_now, 0, won)
                        while fractional:
                            g = lowest_bit(fractional)
                            fractional &= fractional - 1
                            stream = _lane_stream(win_states, j, g)
                            fraction_u, stream = uniform(stream)
                            _set_lane_stream(win_states, j, g, stream)
                            if fraction_u < motions[g, j, _FRACTION_WINS]:
                                won_now[g] += 1.0
                        won = vload(won_now, 0)
                    if extra_wins:
                        won = won + vload(extra_now, 0)
                        extra_now[:] = 0.0
                    vstore(won_now, 0, won)
                else:
                    for g in range(LANES):
                        won_now[g] = motions[g, j, _LEADS] * conversion[draw_of[g], j]
                won = vload(won_now, 0)
                spend, cost = vload(lane_spend, at), vload(lane_sales_cost, at)
                if group_lag[j] == 0:  # every lane's deals land this month
                    month_at = (t * n_segments + s) * LANES
                    vstore(arrivals, month_at, vload(arrivals, month_at) + won)
                    vstore(closing, month_at, vload(closing, month_at) + won * cost)
                    total = (s * 7) * LANES
                    vstore(running, total, vload(running, total) + (spend + cost * won))
                    vstore(running, total + LANES, vload(running, total + LANES) + won)
                else:
                    for g in range(LANES):
                        d = draw_of[g]
                        lands = t + lag[d, j]
                        arrivals[(lands * n_segments + s) * LANES + g] += won_now[g]
                        closing[(lands * n_segments + s) * LANES + g] += won_now[g] * sales_cost[d, j]
                        if lands < horizon:  # spend and wins on deals that close within the horizon
                            running[(s * 7) * LANES + g] += motions[g, j, _SPEND] + sales_cost[d, j] * won_now[g]
                            running[(s * 7 + 1) * LANES + g] += won_now[g]

            month_revenue = splat(0.0)
            for s in range(n_segments):
                at = s * LANES
                month_at = (t * n_segments + s) * LANES
                landed = vload(arrivals, month_at)
                acquisition = vload(marketing, at) + vload(closing, month_at)
                # Emptied as read (and past the horizon at the block's end) for the next draws.
                vstore(arrivals, month_at, splat(0.0))
                vstore(closing, month_at, splat(0.0))
                customers = vload(active, at) + landed
                monthly = vload(mrr, at) + landed * vload(lane_acv, at) / 12.0
                csms = vload(csms_now, at)
                cs_cost = csms * vload(lane_csm_cost, at) + customers * vload(lane_account_cost, at)
                coverage = splat(1.0)
                monthly_churn = vload(covered, at)
                limit = vload(lane_limit, at)
                limited = limit > 0.0
                if bits(limited):
                    coverage = select(limited & (customers > 0.0), _at_most_one(csms * limit / customers), 1.0)
                    own = _churn_at(vload(lane_churn, at), coverage, vload(lane_multiplier, at))
                    monthly_churn = select(limited, own, monthly_churn)
                    if noise:
                        changed = bits(limited & (_rate_term(lane_rates, s, 0) != monthly_churn))
                        while changed:
                            g = lowest_bit(changed)
                            changed &= changed - 1
                            _prepare_lane_rate(lane(monthly_churn, g), rate, lane_rates, s, g)
                if noise:
                    a, b, c, counter = _words(churn_state, s)
                    churned, a, b, c, counter = _churn_lanes(
                        customers, _rate_term(lane_rates, s, 0), _rate_term(lane_rates, s, 1),
                        _rate_term(lane_rates, s, 2), _rate_term(lane_rates, s, 3), _rate_term(lane_rates, s, 4),
                        _rate_term(lane_rates, s, 5), _rate_term(lane_rates, s, 6), a, b, c, counter)
                    vstore(churn_state, (s * STATE_WORDS) * LANES, a)
                    vstore(churn_state, (s * STATE_WORDS + 1) * LANES, b)
                    vstore(churn_state, (s * STATE_WORDS + 2) * LANES, c)
                    vstore(churn_state, (s * STATE_WORDS + 3) * LANES, counter)
                else:
                    churned = customers * monthly_churn
                revenue = monthly
                total = (s * 7) * LANES
                vstore(running, total + 2 * LANES, vload(running, total + 2 * LANES) + customers)
                vstore(running, total + 3 * LANES, vload(running, total + 3 * LANES) + churned)
                vstore(running, total + 4 * LANES, vload(running, total + 4 * LANES) + revenue)
                vstore(running, total + 5 * LANES, vload(running, total + 5 * LANES) + cs_cost)
                vstore(running, total + 6 * LANES, revenue)
                kept = select(customers > 0.0, (customers - churned) / customers, 0.0)
                cash = cash + (vload(lane_margin, at) * revenue - acquisition - cs_cost)
                month_revenue = month_revenue + revenue
                survivors = customers - churned
                if keep_paths:
                    for g in range(real):
                        d = first + g
                        segment_paths[0, d, s, t] = lane(survivors, g)
                        segment_paths[1, d, s, t] = lane(landed, g)
                        segment_paths[2, d, s, t] = lane(churned, g)
                        segment_paths[3, d, s, t] = lane(revenue, g)
                        segment_paths[4, d, s, t] = 12.0 * lane(revenue, g)
                        segment_paths[5, d, s, t] = lane(acquisition, g)
                        segment_paths[6, d, s, t] = lane(cs_cost, g)
                        segment_paths[7, d, s, t] = lane(coverage, g)
                vstore(active, at, survivors)
                vstore(mrr, at, monthly * kept * (1.0 + vload(lane_expansion, at)))

            cash = cash - vload(lane_opex, 0)
            runway = select((cash < 0.0) & (runway == np.inf), float(t), runway)
            cash_low = select(cash < cash_low, cash, cash_low)  # min(cash_low, cash)
            total_arr = 12.0 * month_revenue
            if keep_paths:
                for g in range(real):
                    d = first + g
                    company_paths[0, d, t] = lane(cash, g)
                    company_paths[1, d, t] = lane(total_arr, g)
                    company_paths[2, d, t] = stage[g]
            if n_stages > 1:
                # Only a lane whose ARR reached a higher stage's floor moves (rarely: a few
                # months of a draw's horizon).
                moving = bits(total_arr >= vload(next_floor, 0))
                while moving:
                    g = lowest_bit(moving)
                    moving &= moving - 1
                    now = stage[g]
                    arr = lane(total_arr, g)
                    reached = now
                    for k in range(now + 1, n_stages):
                        if arr >= stage_floors[k]:
                            reached = k
                    if reached > now:
                        if g < real:
                            for k in range(now + 1, reached + 1):
                                stage_reached[draw_of[g], k] = float(t)
                        stage[g] = reached
                        if t + 1 < horizon:
                            rows = slice(g * n_motions, (g + 1) * n_motions)
                            _set_motions(motions[g], won_setup[rows], won_cdf[rows], won_guide[rows], draw_of[g],
                                         reached, horizon - t - 1, noise, spend_by_stage, cost_per_lead, conversion)
                            _set_stage_lane(marketing, csms_now, lane_spend, lane_tabled, lane_wins, motions[g],
                                            won_setup[rows], motion_segment, csms_by_stage, draw_of[g], reached, g)
                        next_floor[g] = _lowest_floor_above(stage_floors, reached)
        arrivals[horizon * n_segments * LANES:] = 0.0
        closing[horizon * n_segments * LANES:] = 0.0
        for g in range(real):
            d = first + g
            for s in range(n_segments):
                for column in range(7):
                    totals[d, s, column] = running[(s * 7 + column) * LANES + g]
            company[d, 0] = lane(runway, g)
            company[d, 1] = lane(cash_low, g)
            company[d, 2] = lane(cash, g)


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
